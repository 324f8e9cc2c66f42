/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench mempool [ROUNDS]: cost of one allocate + touch + deallocate
 * cycle of a 1 MiB memory from the memory pool, for three reuse patterns:
 *
 *   affine-keep   same module each time, 1 MiB kept resident (memset on
 *                 free, no page faults on reuse)
 *   affine-drop   same module, nothing kept (decommit on free, the touched
 *                 pages fault in again)
 *   reset         every free leaves the slot unknown: the next allocation
 *                 decommits the whole 64 MiB slot first
 *
 * Each pattern runs ROUNDS cycles (default 2000) five times; the median
 * ns per cycle is printed, then key=value lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k23mem/mempool.h"

#define BENCH_MIB ((uint64_t)1 << 20)

static double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns per cycle over 5 runs of `rounds` cycles; -1 on error. */
static double bench_pattern(uint64_t keep, bool unknown, long rounds)
{
    k23_mempool_config_t cfg;
    k23_mempool_config_default(&cfg);
    cfg.limits.total_memories = 16;
    cfg.limits.max_memory_size = 64 * BENCH_MIB;
    cfg.limits.memory_reservation = 64 * BENCH_MIB;
    cfg.limits.memory_guard_size = 0;
    cfg.keep_resident = keep;
    k23_mempool_t *p;
    if (k23_mempool_create(&cfg, &p) != K23_OK)
        return -1;
    k23_mempool_request_t r = {.stripe = 0, .has_affinity = true,
                               .module_id = 1, .memory_index = 0,
                               .initial_bytes = BENCH_MIB};
    double runs[5];
    for (int run = 0; run < 5; run++) {
        double t0 = bench_now_ns();
        for (long i = 0; i < rounds; i++) {
            k23_mempool_memory_t m;
            if (k23_mempool_allocate(p, &r, &m) != K23_OK)
                return -1;
            /* Touch one byte per 4 KiB page, as a module's start-up might. */
            for (size_t off = 0; off < m.size; off += 4096)
                ((volatile char *)m.base)[off] = 1;
            if (unknown)
                k23_mempool_deallocate_unknown(p, &m);
            else
                k23_mempool_deallocate(p, &m);
        }
        runs[run] = (bench_now_ns() - t0) / (double)rounds;
    }
    k23_mempool_destroy(p);
    qsort(runs, 5, sizeof(runs[0]), bench_cmp);
    return runs[2];
}

int k23_bench_mempool(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
    if (rounds <= 0) {
        fprintf(stderr, "usage: k23mem-bench mempool [ROUNDS]\n");
        return 2;
    }
    double keep = bench_pattern(BENCH_MIB, false, rounds);
    double drop = bench_pattern(0, false, rounds);
    double reset = bench_pattern(0, true, rounds);
    if (keep < 0 || drop < 0 || reset < 0) {
        fprintf(stderr, "k23mem-bench mempool: pool operation failed\n");
        return 1;
    }
    printf("1 MiB memory, allocate + touch 256 pages + free, median of 5 x "
           "%ld cycles\n", rounds);
    printf("  affine-keep  %10.0f ns/cycle\n", keep);
    printf("  affine-drop  %10.0f ns/cycle\n", drop);
    printf("  reset        %10.0f ns/cycle\n", reset);
    printf("mempool_affine_keep_ns=%.0f\nmempool_affine_drop_ns=%.0f\n"
           "mempool_reset_ns=%.0f\nmempool_drop_over_keep=%.2f\n",
           keep, drop, reset, drop / keep);
    return 0;
}
