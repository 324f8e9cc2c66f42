/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Port configuration for the wasm32 port (wasm32-wasi, single-threaded):
 * the types port.h needs from its port. Installed as <k23_port_config.h>
 * with the wasm32 build.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

/** Name of this port, for logs and the demo. */
#define K23_PORT_NAME "wasm32"

/** Cache line size used to keep per-CPU data apart, bytes. */
#define K23_PORT_CACHE_LINE 64

/**
 * wasm32-wasi without the threads proposal runs one thread, so a lock is a
 * flag that catches re-entry: acquiring a held lock can only be a bug (the
 * caller would deadlock on a threaded host), and panics.
 */
typedef struct k23_port_lock {
    int held; /**< 1 while held */
} k23_port_lock_t;

/** Size of a WebAssembly page, bytes: the unit of memory.grow. */
#define K23_WASM32_PAGE_SIZE 65536u

#endif /* K23_PORT_CONFIG_H */
