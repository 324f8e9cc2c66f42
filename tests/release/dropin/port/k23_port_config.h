/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Configuration of the out-of-tree test port (tests/release/dropin.sh): a
 * single-hart riscv64 kernel under QEMU virt. Only compiler headers: the
 * lock is the port's own small type, not the kernel's.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#include <stdint.h>

#define K23_PORT_NAME "dropin"
#define K23_PORT_CACHE_LINE 64

/** A test-and-set lock; a second acquire by its holder panics. */
typedef struct k23_port_lock {
    volatile uint32_t locked; /**< 1 while held */
} k23_port_lock_t;

#endif /* K23_PORT_CONFIG_H */
