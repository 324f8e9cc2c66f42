/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A deliberate lock-contract violation for tests/thread_safety/check.sh:
 * a helper that requires the lock is called without it, and a lock is
 * left held. The check must reject this file.
 */
#include "k23mem/port.h"

struct counter {
    k23_port_lock_t lock;
    unsigned long n K23_GUARDED_BY(lock);
};

static void counter_bump_locked(struct counter *c) K23_REQUIRES(c->lock)
{
    c->n++;
}

void counter_bump(struct counter *c)
{
    counter_bump_locked(c); /* the lock is not held */
}

void counter_leak(struct counter *c)
{
    k23_port_lock_acquire(&c->lock); /* and never released */
}
