/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* The hosted port's lock under contention: mutual exclusion and owner
 * tracking, run under ThreadSanitizer by scripts/test. Where the port
 * has inline uncontended steps (K23_PORT_LOCK_INLINE), every other
 * thread takes the lock through them, so that they exclude the hooks and
 * each other. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "k23mem/port.h"
#include "k23_port_config.h"
#include "stress.h"

enum { THREADS = 4, ROUNDS = 200000 };

static k23_port_lock_t lock;
static pthread_barrier_t start; /* all threads contend from the start */
static long counter; /* protected by lock: TSan reports any unlocked access */

static void take(bool inline_steps)
{
#ifdef K23_PORT_LOCK_INLINE
    if (inline_steps) {
        k23_port_lock_acquire_inline(&lock);
        return;
    }
#endif
    (void)inline_steps;
    k23_port_lock_acquire(&lock);
}

static void drop(bool inline_steps)
{
#ifdef K23_PORT_LOCK_INLINE
    if (inline_steps) {
        k23_port_lock_release_inline(&lock);
        return;
    }
#endif
    (void)inline_steps;
    k23_port_lock_release(&lock);
}

static void *hammer(void *arg)
{
    bool inline_steps = ((uintptr_t)arg & 1) != 0;
    long not_held = 0;
    pthread_barrier_wait(&start);
    for (int i = 0; i < ROUNDS; i++) {
        take(inline_steps);
        if (!k23_port_lock_held(&lock))
            not_held++;
        counter = counter + 1;
        drop(inline_steps);
        if (k23_port_lock_held(&lock))
            not_held++;
    }
    STRESS_CHECK(not_held == 0, "lock_held wrong %ld times", not_held);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    k23_port_lock_init(&lock);
    pthread_barrier_init(&start, NULL, THREADS);
    STRESS_CHECK(!k23_port_lock_held(&lock), "fresh lock is not held");
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    STRESS_CHECK(counter == (long)THREADS * ROUNDS, "counter %ld", counter);
    return stress_finish("stress_port_hosted");
}
