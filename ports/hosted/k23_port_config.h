/*
 * Port configuration for the hosted (POSIX) port: the types port.h needs
 * from its port. Installed as <k23_port_config.h> with the hosted build.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#include <stdatomic.h>
#include <stdint.h>

/** Name of this port, for logs and the demo. */
#define K23_PORT_NAME "hosted"

/** Cache line size used to keep per-CPU data apart, bytes. */
#define K23_PORT_CACHE_LINE 64

/**
 * A spinlock that yields to the scheduler when contended. Its one word
 * holds the owner's thread tag (0 when free), so k23_port_lock_held() can
 * answer exactly. Uncontended acquire and release are one compare-and-swap
 * and one release store: per-CPU sections take one on every allocation.
 */
typedef struct k23_port_lock {
    atomic_uintptr_t owner; /**< owner's thread tag, 0 when free */
} k23_port_lock_t;

#endif /* K23_PORT_CONFIG_H */
