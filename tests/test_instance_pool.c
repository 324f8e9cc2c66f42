/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "k23mem/instance.h"
#include "k23mem/instance_pool.h"
#include "k23mem/port.h"
#include "instance_faulty.h"
#include "panic_capture.h"
#include "wrong_shape_free.h"

TestSuite(instance_pool);

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define WASM_PAGE ((uint64_t)1 << 16)

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

static k23_instance_pool_config_t small_config(void)
{
    k23_instance_pool_config_t c;
    k23_instance_pool_config_default(&c);
    c.total_instances = 4;
    c.total_memories = 6;
    c.total_tables = 6;
    c.max_memories_per_module = 3;
    c.max_tables_per_module = 2;
    c.max_memory_size = 1 * MIB;
    c.memory_reservation = 1 * MIB;
    c.memory_guard_size = 64 * KIB;
    c.table_elements = 1000;
    c.table_element_size = sizeof(void *);
    c.max_instance_size = 4096;
    c.keep_resident = 64 * KIB;
    return c;
}

static k23_memory_desc_t g_mems[3];
static k23_table_desc_t g_tabs[2];

static k23_module_desc_t multi_module(void)
{
    g_mems[0] = (k23_memory_desc_t){.min_bytes = WASM_PAGE,
                                     .max_bytes = 4 * WASM_PAGE,
                                     .has_max = true,
                                     .page_size_log2 = 16};
    g_mems[1] = (k23_memory_desc_t){.min_bytes = 0, .page_size_log2 = 16};
    g_mems[2] = (k23_memory_desc_t){.min_bytes = 100, .max_bytes = 5000,
                                     .has_max = true, .page_size_log2 = 0};
    g_tabs[0] = (k23_table_desc_t){.min_elements = 10, .max_elements = 20,
                                    .has_max = true,
                                    .element_size = sizeof(void *)};
    g_tabs[1] = (k23_table_desc_t){.min_elements = 0,
                                    .element_size = sizeof(void *)};
    k23_module_desc_t m = {.shape = {.size = 256, .align_log2 = 4},
                           .memories = g_mems, .tables = g_tabs,
                           .num_memories = 3, .num_tables = 2};
    return m;
}

struct fixture {
    k23_instance_pool_t *pool;
    k23_instance_allocator_t a;
    size_t reserved_before;
};

static void fx_create(struct fixture *fx, const k23_instance_pool_config_t *c)
{
    fx->reserved_before = k23_port_vm_reserved_bytes();
    cr_assert_eq(k23_instance_pool_create(c, &fx->pool, &fx->a), K23_OK);
}

static void fx_destroy(struct fixture *fx)
{
    cr_assert_eq(k23_instance_pool_check(fx->pool), K23_OK);
    cr_assert_eq(k23_instance_pool_destroy(fx->pool), K23_OK);
    cr_assert_eq(k23_port_vm_reserved_bytes(), fx->reserved_before,
                 "destroy releases everything");
}

Test(instance_pool, module_gets_zeroed_memories_and_tables_within_limits)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    k23_module_desc_t m = multi_module();
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h), K23_OK);
    cr_assert(all_zero(h.context, 256));
    cr_assert_eq((uintptr_t)h.context % 16, 0);
    k23_memory_t *m0 = &h.memories[0];
    cr_assert_eq(m0->size, WASM_PAGE);
    cr_assert_eq(m0->max_size, 4 * WASM_PAGE);
    cr_assert(all_zero(m0->base, m0->size));
    /* an unbounded memory is bounded by the pool's max memory size */
    cr_assert_eq(h.memories[1].max_size, 1 * MIB);
    cr_assert_eq(h.memories[2].size, 100);
    cr_assert_eq(h.tables[0].size, 10);
    cr_assert_eq(h.tables[1].max_size, 1000);
    uint64_t old;
    cr_assert_eq(k23_memory_grow(m0, 3, &old), K23_OK);
    cr_assert_eq(old, 1);
    cr_assert(all_zero(m0->base, m0->size));
    memset(m0->base, 0x33, m0->size);
    cr_assert_eq(k23_memory_grow(m0, 1, &old), K23_ERR_GROW);
    cr_assert_eq(k23_memory_grow(&h.memories[1], 16, &old), K23_OK);
    cr_assert_eq(k23_memory_grow(&h.memories[1], 1, &old), K23_ERR_GROW);
    cr_assert_eq(k23_table_grow(&h.tables[0], 10, &old), K23_OK);
    cr_assert_eq(k23_table_grow(&h.tables[0], 1, &old), K23_ERR_GROW);
    cr_assert_eq(k23_table_grow(&h.tables[1], 1000, &old), K23_OK);
    cr_assert(all_zero(h.tables[1].elements, 1000 * sizeof(void *)));
    k23_instance_pool_stats_t st;
    k23_instance_pool_stats(fx.pool, &st);
    cr_assert_eq(st.instances, 1);
    cr_assert_eq(st.memories, 3);
    cr_assert_eq(st.tables, 2);
    cr_assert_eq(k23_instance_pool_check(fx.pool), K23_OK);
    cr_assert_eq(k23_instance_pool_destroy(fx.pool), K23_ERR_BUSY);
    k23_instance_deallocate_module(&fx.a, &h);
    k23_instance_pool_stats(fx.pool, &st);
    cr_assert_eq(st.instances + st.memories + st.tables, 0);
    fx_destroy(&fx);
}

/* A wrapper that counts allocations proves validation happens before
 * any of them. */
static void expect_rejected(const k23_instance_allocator_t *a,
                            const k23_module_desc_t *m, int err)
{
    k23_instance_faulty_t f;
    k23_instance_allocator_t w;
    cr_assert_eq(k23_instance_faulty_init(&f, a, 0, K23_TEST_ERR_INJECTED, &w),
                 K23_OK);
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_validate_module(a, m), err);
    cr_assert_eq(k23_instance_allocate_module(&w, m, &h), err);
    cr_assert_eq(f.count, 0, "nothing allocated before validation");
}

Test(instance_pool, modules_over_the_limits_are_rejected_before_allocating)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    k23_memory_desc_t mems[4];
    for (int i = 0; i < 4; i++)
        mems[i] = (k23_memory_desc_t){.min_bytes = WASM_PAGE,
                                       .page_size_log2 = 16};
    k23_table_desc_t tabs[3];
    for (int i = 0; i < 3; i++)
        tabs[i] = (k23_table_desc_t){.min_elements = 1,
                                      .element_size = sizeof(void *)};
    k23_module_desc_t m = {.shape = {.size = 64}, .memories = mems,
                           .tables = tabs, .num_memories = 1,
                           .num_tables = 1};
    cr_assert_eq(k23_instance_validate_module(&fx.a, &m), K23_OK);

    m.num_memories = 4;
    expect_rejected(&fx.a, &m, K23_ERR_POOL_TOO_MANY_MEMORIES);
    m.num_memories = 1;
    m.num_tables = 3;
    expect_rejected(&fx.a, &m, K23_ERR_LIMIT);
    m.num_tables = 1;
    mems[0].min_bytes = 17 * WASM_PAGE;
    expect_rejected(&fx.a, &m, K23_ERR_POOL_MIN_SIZE);
    mems[0].min_bytes = WASM_PAGE;
    mems[0].shared = true;
    mems[0].has_max = true;
    mems[0].max_bytes = WASM_PAGE;
    expect_rejected(&fx.a, &m, K23_ERR_POOL_SHARED);
    mems[0].shared = false;
    tabs[0].min_elements = 1001;
    expect_rejected(&fx.a, &m, K23_ERR_LIMIT);
    tabs[0].min_elements = 1;
    tabs[0].element_size = 16;
    expect_rejected(&fx.a, &m, K23_ERR_LIMIT);
    tabs[0].element_size = sizeof(void *);
    m.shape.size = 4097;
    expect_rejected(&fx.a, &m, K23_ERR_LIMIT);
    m.shape.size = 4096;
    cr_assert_eq(k23_instance_validate_module(&fx.a, &m), K23_OK);
    fx_destroy(&fx);
}

Test(instance_pool, a_full_pool_says_full_and_leaks_nothing)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    k23_module_desc_t m = multi_module();
    m.num_memories = 1; /* 4 instances x 1 memory fit; tables 6 of 2 each */
    k23_instance_handle_t h[5];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h[i]), K23_OK);
    /* tables: 6 slots, 3 x 2 used: the fourth instance runs out of tables
     * after its block and memory were allocated */
    cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h[3]),
                 K23_ERR_FULL);
    k23_instance_pool_stats_t st;
    k23_instance_pool_stats(fx.pool, &st);
    cr_assert_eq(st.instances, 3);
    cr_assert_eq(st.memories, 3);
    cr_assert_eq(st.tables, 6);
    cr_assert_eq(st.total_full, 1);
    /* without tables the fourth fits, and the fifth finds no block */
    m.num_tables = 0;
    cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h[3]), K23_OK);
    cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h[4]),
                 K23_ERR_FULL);
    k23_instance_pool_stats(fx.pool, &st);
    cr_assert_eq(st.instances, 4);
    cr_assert_eq(st.memories, 4);
    cr_assert_eq(k23_instance_pool_check(fx.pool), K23_OK);
    for (int i = 0; i < 4; i++)
        k23_instance_deallocate_module(&fx.a, &h[i]);
    fx_destroy(&fx);
}

Test(instance_pool, freed_slots_are_reused_and_come_back_zeroed)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    k23_module_desc_t m = multi_module();
    k23_instance_handle_t h;
    for (int round = 0; round < 5; round++) {
        cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h), K23_OK);
        void *ctx = h.context;
        uint8_t *mb = h.memories[0].base;
        uint8_t *tb = h.tables[0].elements;
        cr_assert(all_zero(h.context, 256), "round %d", round);
        for (uint32_t i = 0; i < 3; i++)
            cr_assert(all_zero(h.memories[i].base, h.memories[i].size),
                      "round %d memory %u", round, i);
        cr_assert(all_zero(tb, 10 * sizeof(void *)));
        /* dirty everything, grow the first memory past keep_resident */
        uint64_t old;
        cr_assert_eq(k23_memory_grow(&h.memories[0], 3, &old), K23_OK);
        memset(h.context, 0xab, 256);
        for (uint32_t i = 0; i < 3; i++)
            memset(h.memories[i].base, 0xcd, h.memories[i].size);
        memset(tb, 0xef, 10 * sizeof(void *));
        k23_instance_deallocate_module(&fx.a, &h);
        cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h), K23_OK);
        cr_assert_eq(h.context, ctx, "LIFO reuse of the instance slot");
        /* the same slots come back, in whichever order */
        cr_assert_eq(h.memories[0].base, mb);
        cr_assert(h.tables[0].elements == tb || h.tables[1].elements == tb);
        tb = h.tables[0].elements;
        cr_assert(all_zero(h.context, 256));
        cr_assert(all_zero(tb, 10 * sizeof(void *)));
        cr_assert_eq(h.memories[0].size, WASM_PAGE);
        cr_assert_eq(k23_memory_grow(&h.memories[0], 3, &old), K23_OK);
        cr_assert(all_zero(h.memories[0].base, 4 * WASM_PAGE));
        k23_instance_deallocate_module(&fx.a, &h);
    }
    fx_destroy(&fx);
}

#define MULTI_ALLOCS 6

Test(instance_pool, failure_at_every_allocation_leaks_nothing)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    size_t reserved = k23_port_vm_reserved_bytes();
    k23_module_desc_t m = multi_module();
    for (uint64_t k = 1; k <= MULTI_ALLOCS + 1; k++) {
        k23_instance_faulty_t f;
        k23_instance_allocator_t w;
        cr_assert_eq(k23_instance_faulty_init(&f, &fx.a, k, K23_TEST_ERR_INJECTED,
                                              &w),
                     K23_OK);
        k23_instance_handle_t h;
        int rc = k23_instance_allocate_module(&w, &m, &h);
        k23_instance_pool_stats_t st;
        k23_instance_pool_stats(fx.pool, &st);
        if (k <= MULTI_ALLOCS) {
            cr_assert_eq(rc, K23_TEST_ERR_INJECTED, "k=%llu",
                         (unsigned long long)k);
            cr_assert_eq(st.instances + st.memories + st.tables, 0,
                         "k=%llu", (unsigned long long)k);
        } else {
            cr_assert_eq(rc, K23_OK);
            cr_assert_eq(st.instances, 1);
            k23_instance_deallocate_module(&w, &h);
        }
        cr_assert_eq(k23_port_vm_reserved_bytes(), reserved);
        cr_assert_eq(k23_instance_pool_check(fx.pool), K23_OK);
    }
    fx_destroy(&fx);
}

Test(instance_pool, create_rejects_bad_configs)
{
    k23_instance_pool_config_t c = small_config();
    k23_instance_pool_t *p;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_instance_pool_create(NULL, &p, &a), K23_ERR_INVAL);
    c.total_instances = 0;
    cr_assert_eq(k23_instance_pool_create(&c, &p, &a), K23_ERR_INVAL);
    c = small_config();
    c.table_elements = UINT64_MAX;
    cr_assert_eq(k23_instance_pool_create(&c, &p, &a), K23_ERR_LIMIT);
    c = small_config();
    c.max_memory_size = 2 * MIB; /* above the reservation */
    cr_assert_lt(k23_instance_pool_create(&c, &p, &a), 0);
    cr_assert_eq(k23_instance_pool_destroy(NULL), K23_OK);
}

/* Failures after something was reserved give everything back: the table
 * slab too large to reserve (2^15 slots of 32 GiB, 1 PiB, more than any
 * 64-bit user address space), then the memory pool refusing its limits
 * after all three slabs were reserved. */
Test(instance_pool, a_create_failing_late_leaks_nothing)
{
    if (sizeof(size_t) < 8)
        cr_skip_test("needs a 64-bit size_t");
    k23_instance_pool_t *p = (k23_instance_pool_t *)0x1;
    k23_instance_allocator_t a = {0};
    size_t before = k23_port_vm_reserved_bytes();
    k23_instance_pool_config_t c = small_config();
    c.total_tables = 1u << 15;
    c.table_elements = UINT64_C(1) << 32;
    c.table_element_size = 8;
    cr_assert_eq(k23_instance_pool_create(&c, &p, &a), K23_ERR_NOMEM);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
    c = small_config();
    c.max_memory_size = 2 * MIB; /* above the reservation */
    cr_assert_eq(k23_instance_pool_create(&c, &p, &a),
                 K23_ERR_SLAB_MAX_OVER_RESERVATION);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
    cr_assert_eq(p, (k23_instance_pool_t *)0x1, "out untouched");
    cr_assert_null(a.ops, "out untouched");
}

Test(instance_pool, pool_without_memories_rejects_modules_with_memories)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    c.total_memories = 0;
    fx_create(&fx, &c);
    k23_module_desc_t m = multi_module();
    cr_assert_eq(k23_instance_validate_module(&fx.a, &m),
                 K23_ERR_POOL_TOO_MANY_MEMORIES);
    m.num_memories = 0;
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_allocate_module(&fx.a, &m, &h), K23_OK);
    k23_instance_deallocate_module(&fx.a, &h);
    fx_destroy(&fx);
}

Test(instance_pool, double_free_of_an_instance_block_panics,
     .signal = SIGABRT)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    k23_instance_shape_t s = {.size = 64};
    void *p;
    cr_assert_eq(k23_instance_allocate_instance(&fx.a, &s, &p), K23_OK);
    k23_instance_deallocate_instance(&fx.a, p, &s);
    k23_instance_deallocate_instance(&fx.a, p, &s);
}

/* A table handle whose slot no longer matches its elements: the check
 * panics with the value it found, not only the expression. */
static k23_instance_allocator_t g_tamper_a;

static void free_tampered_table(void *arg)
{
    k23_table_t *t = arg;
    g_tamper_a.ops->deallocate_table(g_tamper_a.ctx, 0, t);
}

Test(instance_pool, table_with_a_wrong_slot_panics_naming_what_it_found)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    k23_table_desc_t d = {.min_elements = 4, .element_size = sizeof(void *)};
    k23_table_t t;
    cr_assert_eq(fx.a.ops->allocate_table(fx.a.ctx, &d, 0, &t), K23_OK);
    cr_assert_eq(t.slot, 0);
    k23_table_t bad = t;
    bad.slot = 5;
    g_tamper_a = fx.a;
    char msg[512];
    cr_assert(panic_capture(free_tampered_table, &bad, msg, sizeof(msg)));
    cr_assert(strstr(msg, "assertion failed: i == t->slot; found t->slot = 0x5") != NULL,
              "panic message: %s", msg);
    fx.a.ops->deallocate_table(fx.a.ctx, 0, &t);
    fx_destroy(&fx);
}

/* Two threads instantiate and tear down concurrently; the totals must
 * stay within the pool and everything must come back. */
struct thread_arg {
    const k23_instance_allocator_t *a;
    int ok, full;
};

static void *churn(void *p)
{
    struct thread_arg *t = p;
    k23_module_desc_t m = multi_module();
    m.num_memories = 1;
    m.num_tables = 1;
    for (int i = 0; i < 300; i++) {
        k23_instance_handle_t h;
        int rc = k23_instance_allocate_module(t->a, &m, &h);
        if (rc == K23_ERR_FULL) {
            t->full++;
            continue;
        }
        if (rc != K23_OK || !all_zero(h.context, 256) ||
            !all_zero(h.memories[0].base, h.memories[0].size))
            return NULL;
        memset(h.context, i, 256);
        memset(h.memories[0].base, i, h.memories[0].size);
        k23_instance_deallocate_module(t->a, &h);
        t->ok++;
    }
    return NULL;
}

Test(instance_pool, concurrent_instantiation_is_safe)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    pthread_t th[2];
    struct thread_arg args[2] = {{.a = &fx.a}, {.a = &fx.a}};
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, churn, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    /* m uses 1 instance, 1 memory, 1 table: 4 instances for 2 threads,
     * never full */
    cr_assert_eq(args[0].ok + args[1].ok, 600);
    k23_instance_pool_stats_t st;
    k23_instance_pool_stats(fx.pool, &st);
    cr_assert_eq(st.instances + st.memories + st.tables, 0);
    cr_assert_leq(st.peak_instances, 2);
    fx_destroy(&fx);
}

/* A smaller shape used to zero only part of the block, so the next
 * instance started with the previous one's bytes; a larger one zeroed past
 * the slot. Both must panic naming the block and both sizes. */
Test(instance_pool, free_with_the_wrong_shape_panics)
{
    struct fixture fx;
    k23_instance_pool_config_t c = small_config();
    fx_create(&fx, &c);
    k23_instance_shape_t s = {.size = 2048};
    void *p;
    cr_assert_eq(k23_instance_allocate_instance(&fx.a, &s, &p), K23_OK);
    memset(p, 0xee, s.size);
    size_t sizes[] = {64, 4096};
    for (size_t k = 0; k < 2; k++) {
        struct wrong_free w = {&fx.a, p, {.size = sizes[k]}};
        expect_shape_panic(&w, 2048);
    }
    /* the right shape zeroes the whole block for the next tenant */
    k23_instance_deallocate_instance(&fx.a, p, &s);
    cr_assert_eq(k23_instance_allocate_instance(&fx.a, &s, &p), K23_OK);
    cr_assert(all_zero(p, s.size));
    k23_instance_deallocate_instance(&fx.a, p, &s);
    fx_destroy(&fx);
}
