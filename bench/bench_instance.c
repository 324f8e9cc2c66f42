/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench instance [cycles] [rounds]: instantiate and tear down a
 * module with one 64 KiB memory (no declared maximum, 32 MiB offset guard
 * on 64-bit hosts) and one 10-element table, with the on-demand and the
 * pooling allocator. Rounds alternate between the two so that machine
 * noise hits both alike; each round times `cycles` cycles and the median
 * round is reported as ns per cycle.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "k23mem/instance.h"
#include "k23mem/instance_pool.h"
#include "k23mem/port.h"

static uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ns per cycle for one round, or a negative value on error. */
static double bench_round(const k23_instance_allocator_t *a,
                          const k23_module_desc_t *m, unsigned cycles)
{
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < cycles; i++) {
        k23_instance_handle_t h;
        int rc = k23_instance_allocate_module(a, m, &h);
        if (rc != K23_OK) {
            fprintf(stderr, "instance: allocate_module: %s\n",
                    k23_strerror(rc));
            return -1.0;
        }
        k23_instance_deallocate_module(a, &h);
    }
    return (double)(bench_now_ns() - t0) / cycles;
}

int k23_bench_instance(int argc, char **argv)
{
    unsigned cycles = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 2000;
    unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 15;
    if (cycles == 0 || rounds == 0 || rounds > 1000) {
        fprintf(stderr, "usage: k23mem-bench instance [cycles] [rounds]\n");
        return 2;
    }
    const int wide = sizeof(size_t) >= 8;
    k23_memory_desc_t mem = {
        .min_bytes = 64 << 10,
        .page_size_log2 = K23_INSTANCE_WASM_PAGE_LOG2,
        .offset_guard_bytes = wide ? (UINT64_C(32) << 20) : 0,
    };
    k23_table_desc_t tab = {.min_elements = 10, .max_elements = 10,
                            .has_max = true, .element_size = sizeof(void *)};
    k23_module_desc_t m = {.shape = {.size = 512, .align_log2 = 4},
                           .memories = &mem, .tables = &tab,
                           .num_memories = 1, .num_tables = 1};

    k23_ondemand_t od;
    k23_instance_allocator_t ondemand, pooling;
    k23_ondemand_config_t odc = {.memory_bound = wide ? UINT64_C(1) << 32
                                                      : UINT64_C(10) << 20};
    int rc = k23_ondemand_init(&od, &odc, &ondemand);
    if (rc != K23_OK) {
        fprintf(stderr, "instance: ondemand_init: %s\n", k23_strerror(rc));
        return 1;
    }
    k23_instance_pool_config_t pc;
    k23_instance_pool_config_default(&pc);
    pc.total_instances = 16;
    pc.total_memories = 16;
    pc.total_tables = 16;
    pc.table_elements = 10;
    pc.max_instance_size = 4096;
    k23_instance_pool_t *pool;
    rc = k23_instance_pool_create(&pc, &pool, &pooling);
    if (rc != K23_OK) {
        fprintf(stderr, "instance: pool_create: %s\n", k23_strerror(rc));
        return 1;
    }

    double *od_ns = calloc(rounds, sizeof(double));
    double *pl_ns = calloc(rounds, sizeof(double));
    if (od_ns == NULL || pl_ns == NULL)
        return 1;
    /* warm up both (first touches of bookkeeping, page-table setup) */
    if (bench_round(&ondemand, &m, 100) < 0 || bench_round(&pooling, &m, 100) < 0)
        return 1;
    for (unsigned r = 0; r < rounds; r++) {
        od_ns[r] = bench_round(&ondemand, &m, cycles);
        pl_ns[r] = bench_round(&pooling, &m, cycles);
        if (od_ns[r] < 0 || pl_ns[r] < 0)
            return 1;
    }
    qsort(od_ns, rounds, sizeof(double), bench_cmp);
    qsort(pl_ns, rounds, sizeof(double), bench_cmp);
    double od_med = od_ns[rounds / 2], pl_med = pl_ns[rounds / 2];
    k23_instance_pool_stats_t ps;
    k23_instance_pool_stats(pool, &ps);
    printf("instance: module = 1 memory (64 KiB, guard %llu MiB), 1 table "
           "(10 x %zu B), context 512 B\n",
           (unsigned long long)(mem.offset_guard_bytes >> 20),
           sizeof(void *));
    printf("instance: %u rounds x %u cycles, ns per instantiate+teardown "
           "cycle\n", rounds, cycles);
    printf("instance: on-demand  median %.0f ns (min %.0f, max %.0f)\n",
           od_med, od_ns[0], od_ns[rounds - 1]);
    printf("instance: pooling    median %.0f ns (min %.0f, max %.0f)\n",
           pl_med, pl_ns[0], pl_ns[rounds - 1]);
    printf("instance: pool reserves %zu MiB of address space up front\n",
           ps.reserved_bytes >> 20);
    printf("instance.ondemand_ns=%.0f\n", od_med);
    printf("instance.pooling_ns=%.0f\n", pl_med);
    printf("instance.pooling_speedup=%.2f\n", od_med / pl_med);
    free(od_ns);
    free(pl_ns);
    rc = k23_instance_pool_destroy(pool);
    if (rc != K23_OK) {
        fprintf(stderr, "instance: pool_destroy: %s\n", k23_strerror(rc));
        return 1;
    }
    return 0;
}
