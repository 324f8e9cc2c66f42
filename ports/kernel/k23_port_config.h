/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Private configuration of the kernel port (a kernel with several CPUs
 * and a timer interrupt): included by the library's sources
 * (src/internal.h) and the port, never installed. The port's spinlock
 * type is private to port.c; the public k23_port_lock_t is opaque storage
 * it fits in.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

/** Name of this port, for logs. */
#define K23_PORT_NAME "kernel"

#endif /* K23_PORT_CONFIG_H */
