/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* The hosted port's lock under contention: mutual exclusion and owner
 * tracking, run under ThreadSanitizer by scripts/test. */
#include <pthread.h>

#include "k23mem/port.h"
#include "stress.h"

enum { THREADS = 4, ROUNDS = 20000 };

static k23_port_lock_t lock;
static long counter; /* protected by lock: TSan reports any unlocked access */

static void *hammer(void *arg)
{
    (void)arg;
    long not_held = 0;
    for (int i = 0; i < ROUNDS; i++) {
        k23_port_lock_acquire(&lock);
        if (!k23_port_lock_held(&lock))
            not_held++;
        counter = counter + 1;
        k23_port_lock_release(&lock);
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
    STRESS_CHECK(!k23_port_lock_held(&lock), "fresh lock is not held");
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    STRESS_CHECK(counter == (long)THREADS * ROUNDS, "counter %ld", counter);
    return stress_finish("stress_port_hosted");
}
