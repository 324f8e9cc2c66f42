/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Private configuration of the wasm32 port (wasm32-wasi, single-threaded):
 * included by the library's sources (src/internal.h) and the port, never
 * installed. The lock type is private to port.c.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

/** Name of this port, for logs. */
#define K23_PORT_NAME "wasm32"

/** Size of a WebAssembly page, bytes: the unit of memory.grow. */
#define K23_WASM32_PAGE_SIZE 65536u

#endif /* K23_PORT_CONFIG_H */
