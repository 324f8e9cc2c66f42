/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Threads sharing one memory pool: allocations, frees and purges from four
 * threads at once, run under ThreadSanitizer by scripts/test. Each thread
 * checks that a slot it gets holds no other thread's data. */
#include <pthread.h>

#include "k23mem/mempool.h"
#include "stress.h"

enum { THREADS = 4, OPS = 3000, PAGE = 65536 };

static void *worker(void *arg)
{
    k23_mempool_t *pool = arg;
    uint64_t rs = (uint64_t)(uintptr_t)&rs | 1; /* per-thread seed */
    k23_mempool_memory_t mine[4];
    int n = 0;
    long dirty = 0, errors = 0;
    for (int i = 0; i < OPS; i++) {
        rs ^= rs << 13;
        rs ^= rs >> 7;
        rs ^= rs << 17;
        if (n < 4 && (rs & 1)) {
            k23_mempool_request_t r = {
                .stripe = k23_mempool_next_stripe(pool),
                .has_affinity = (rs >> 1) & 1,
                .module_id = (rs >> 2) % 3,
                .initial_bytes = PAGE};
            int err = k23_mempool_allocate(pool, &r, &mine[n]);
            if (err == K23_ERR_FULL)
                continue;
            if (err != K23_OK) {
                errors++;
                continue;
            }
            unsigned char *b = mine[n].base;
            if (b[0] != 0 || b[PAGE - 1] != 0)
                dirty++;
            b[0] = b[PAGE - 1] = 0xff;
            n++;
        } else if (n > 0) {
            k23_mempool_deallocate(pool, &mine[--n]);
        } else if ((rs >> 3) % 50 == 0) {
            k23_mempool_purge_module(pool, (rs >> 4) % 3);
        }
    }
    while (n > 0)
        k23_mempool_deallocate(pool, &mine[--n]);
    STRESS_CHECK(errors == 0, "%ld unexpected allocation errors", errors);
    STRESS_CHECK(dirty == 0, "%ld slots held another thread's data", dirty);
    return NULL;
}

int main(void)
{
    k23_mempool_config_t cfg;
    k23_mempool_config_default(&cfg);
    cfg.limits.total_memories = 12;
    cfg.limits.max_memory_size = PAGE;
    cfg.limits.memory_reservation = PAGE;
    cfg.limits.memory_guard_size = 2 * PAGE;
    cfg.limits.guard_before_linear_memory = false;
    cfg.keep_resident = PAGE;
    cfg.max_unused_warm_slots = 2;
    k23_mempool_t *pool = NULL;
    int err = k23_mempool_create(&cfg, &pool);
    STRESS_CHECK(err == K23_OK, "create: %s", k23_strerror(err));
    if (err != K23_OK)
        return stress_finish("stress_mempool");

    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, pool);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    k23_mempool_stats_t st;
    k23_mempool_stats(pool, &st);
    STRESS_CHECK(st.slots_in_use == 0, "%zu slots still in use", st.slots_in_use);
    STRESS_CHECK(k23_mempool_check(pool) == K23_OK, "pool check");
    STRESS_CHECK(k23_mempool_destroy(pool) == K23_OK, "destroy");
    return stress_finish("stress_mempool");
}
