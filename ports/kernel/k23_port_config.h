/*
 * Port configuration for the kernel port: a single-CPU kernel running with
 * interrupts off and no MMU (physical == virtual). Installed as
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
 * A lock for one CPU with interrupts off: nothing can contend, so a lock
 * only records that it is held. Taking a held lock is a bug that would
 * deadlock on a real multi-CPU kernel, and panics here instead. A kernel
 * with several CPUs or interrupts replaces this with a spinlock that also
 * masks interrupts (see docs/porting.md).
 */
typedef struct k23_port_lock {
    volatile uint32_t held; /**< 1 while held, 0 when free */
} k23_port_lock_t;

#endif /* K23_PORT_CONFIG_H */
