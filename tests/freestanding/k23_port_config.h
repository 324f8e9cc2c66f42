/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Minimal port configuration for the freestanding check: what a bare-metal
 * port would supply, using nothing but the compiler's own headers.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#include <stdatomic.h>

#define K23_PORT_NAME "freestanding-check"
#define K23_PORT_CACHE_LINE 64

typedef struct k23_port_lock {
    atomic_uint locked;
} k23_port_lock_t;

#endif
