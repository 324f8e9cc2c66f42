/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Port configuration for the kernel port: a kernel with several CPUs and
 * a timer interrupt (physical == virtual until it turns paging on). Installed as
 * <k23_port_config.h> with a kernel build.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#include <stdint.h>

/** Name of this port, for logs and the demo. */
#define K23_PORT_NAME "kernel"

/** Cache line size used to keep per-CPU data apart, bytes (Cortex-A57 and
 *  the QEMU riscv64 virt harts both use 64). */
#define K23_PORT_CACHE_LINE 64

/**
 * A spinlock for a kernel with several CPUs and interrupts: it masks
 * interrupts on the taking CPU for as long as it is held (so an interrupt
 * handler on that CPU can never spin on a lock its own CPU holds) and
 * records its owner (CPU id + 1) so that taking it twice on one CPU panics
 * instead of hanging.
 */
typedef struct k23_port_lock {
    volatile uint32_t locked; /**< 1 while held, 0 when free */
    volatile uint32_t owner;  /**< holder's CPU id + 1, 0 when free */
} k23_port_lock_t;

#endif /* K23_PORT_CONFIG_H */
