/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Private configuration of the out-of-tree test port
 * (tests/release/dropin.sh): a single-hart riscv64 kernel under QEMU virt.
 * The library's sources include it; the installed headers never do. The
 * lock type is private to port.c.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#define K23_PORT_NAME "dropin"

#endif /* K23_PORT_CONFIG_H */
