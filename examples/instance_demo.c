/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * instance_demo: the two instance allocators side by side. Creates an
 * on-demand and a pooling allocator, instantiates a batch of modules with
 * each (two memories, one table), grows a memory, tears everything down,
 * and prints the address space each one reserved and the time per
 * instantiation.
 */
/* clock_gettime() and CLOCK_MONOTONIC are POSIX, not C11. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "k23mem/instance.h"
#include "k23mem/instance_pool.h"
#include "k23mem/port.h"

#define BATCH 32

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double mib(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static int run(const char *name, const k23_instance_allocator_t *a,
               const k23_module_desc_t *m, size_t base_reserved)
{
    static k23_instance_handle_t h[BATCH];
    uint64_t t0 = now_ns();
    for (int i = 0; i < BATCH; i++) {
        int rc = k23_instance_allocate_module(a, m, &h[i]);
        if (rc != K23_OK) {
            fprintf(stderr, "%s: instance %d: %s\n", name, i,
                    k23_strerror_name(rc));
            return 1;
        }
    }
    uint64_t t1 = now_ns();
    size_t reserved = k23_port_vm_reserved_bytes() - base_reserved;

    /* use the instances: write a byte, grow the first memory by a page */
    for (int i = 0; i < BATCH; i++) {
        k23_memory_t *mem = &h[i].memories[0];
        uint8_t *p = k23_memory_base(mem);
        p[0] = (uint8_t)i;
        uint64_t old;
        int rc = k23_memory_grow(mem, 1, &old);
        if (rc != K23_OK || p[k23_memory_size(mem) - 1] != 0) {
            fprintf(stderr, "%s: grow failed: %s\n", name,
                    k23_strerror_name(rc));
            return 1;
        }
    }
    uint64_t t2 = now_ns();
    for (int i = 0; i < BATCH; i++)
        k23_instance_deallocate_module(a, &h[i]);
    uint64_t t3 = now_ns();

    printf("  %-9s %d instances: %8.1f MiB reserved by the batch, "
           "%7.0f ns per instantiation, %7.0f ns per teardown\n",
           name, BATCH, mib(reserved), (double)(t1 - t0) / BATCH,
           (double)(t3 - t2) / BATCH);
    return 0;
}

int main(void)
{
    k23_memory_desc_t mems[2] = {
        {.min_bytes = 1 << 16, .max_bytes = 16 << 16, .has_max = true,
         .page_size_log2 = K23_INSTANCE_WASM_PAGE_LOG2,
         .offset_guard_bytes = 64 << 10},
        {.min_bytes = 0, .max_bytes = 1 << 16, .has_max = true,
         .page_size_log2 = K23_INSTANCE_WASM_PAGE_LOG2},
    };
    k23_table_desc_t tab = {.min_elements = 16, .max_elements = 64,
                            .has_max = true, .element_size = sizeof(void *)};
    k23_module_desc_t m = {.shape = {.size = 1024, .align_log2 = 6},
                           .memories = mems, .tables = &tab,
                           .num_memories = 2, .num_tables = 1};

    printf("instance_demo: %d modules of 2 memories (64 KiB of max 1 MiB, "
           "0 of max 64 KiB) and 1 table (16 of max 64 elements)\n", BATCH);

    size_t before = k23_port_vm_reserved_bytes();
    k23_ondemand_t od;
    k23_instance_allocator_t ondemand;
    int rc = k23_ondemand_init(&od, NULL, &ondemand);
    if (rc != K23_OK) {
        fprintf(stderr, "ondemand_init: %s\n", k23_strerror(rc));
        return 1;
    }
    if (run("on-demand", &ondemand, &m, before) != 0)
        return 1;

    k23_instance_pool_config_t pc;
    k23_instance_pool_config_default(&pc);
    pc.total_instances = BATCH;
    pc.total_memories = 2 * BATCH;
    pc.total_tables = BATCH;
    pc.max_memories_per_module = 2;
    pc.max_memory_size = 1 << 20;
    pc.memory_reservation = 1 << 20;
    pc.memory_guard_size = 64 << 10;
    pc.table_elements = 64;
    pc.max_instance_size = 4096;
    k23_instance_pool_t *pool;
    k23_instance_allocator_t pooling;
    rc = k23_instance_pool_create(&pc, &pool, &pooling);
    if (rc != K23_OK) {
        fprintf(stderr, "pool_create: %s\n", k23_strerror_name(rc));
        return 1;
    }
    k23_instance_pool_stats_t ps;
    k23_instance_pool_stats(pool, &ps);
    printf("  pooling   reserves %.1f MiB up front for %d instances\n",
           mib(ps.reserved_bytes), BATCH);
    /* first batch touches cold slots, second reuses warm ones */
    if (run("pool/cold", &pooling, &m, k23_port_vm_reserved_bytes()) != 0 ||
        run("pool/warm", &pooling, &m, k23_port_vm_reserved_bytes()) != 0)
        return 1;

    /* the pool validates before allocating: too many memories */
    k23_memory_desc_t three[3] = {mems[0], mems[1], mems[1]};
    k23_module_desc_t big = m;
    big.memories = three;
    big.num_memories = 3;
    k23_instance_handle_t h;
    rc = k23_instance_allocate_module(&pooling, &big, &h);
    printf("  pooling   module with 3 memories: %s (%s)\n",
           k23_strerror_name(rc), k23_strerror(rc));
    rc = k23_instance_pool_destroy(pool);
    printf("  teardown  pool destroyed: %s; address space still reserved: "
           "%zu bytes\n", k23_strerror_name(rc),
           k23_port_vm_reserved_bytes() - before);
    return rc == K23_OK && k23_port_vm_reserved_bytes() == before ? 0 : 1;
}
