/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of the memory pool on the hosted port: slot addresses, guard
 * regions that really fault, resets that really zero, pool full and
 * recovery, validation errors, the slot-reuse policy against a reference
 * model, the protection-key decisions through fake key operations (this
 * machine may have no keys), and concurrent use.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "k23mem/mempool.h"
#include "k23mem/port.h"
#include "panic_capture.h"

TestSuite(mempool);

#define KiB ((size_t)1 << 10)
#define WASM_PAGE (64 * KiB)

/* A small pool: `slots` memories of `max` bytes, guard `guard`. */
static k23_mempool_config_t small_config(uint64_t slots, uint64_t max,
                                         uint64_t guard)
{
    k23_mempool_config_t cfg;
    k23_mempool_config_default(&cfg);
    cfg.limits.total_memories = slots;
    cfg.limits.max_memory_size = max;
    cfg.limits.memory_reservation = max;
    cfg.limits.memory_guard_size = guard;
    cfg.limits.guard_before_linear_memory = false;
    cfg.max_memories_per_module = 3;
    return cfg;
}

static k23_mempool_t *create_ok(const k23_mempool_config_t *cfg)
{
    k23_mempool_t *p = NULL;
    int err = k23_mempool_create(cfg, &p);
    cr_assert_eq(err, K23_OK, "create: %s", k23_strerror_name(err));
    cr_assert_not_null(p);
    cr_assert_eq(k23_mempool_check(p), K23_OK);
    return p;
}

static k23_mempool_request_t req(unsigned stripe, uint64_t initial)
{
    k23_mempool_request_t r = {.stripe = stripe, .initial_bytes = initial};
    return r;
}

static k23_mempool_request_t req_affine(unsigned stripe, uint64_t module,
                                        uint32_t memidx, uint64_t initial)
{
    k23_mempool_request_t r = {.stripe = stripe, .has_affinity = true,
                               .module_id = module, .memory_index = memidx,
                               .initial_bytes = initial};
    return r;
}

static k23_mempool_memory_t alloc_ok(k23_mempool_t *p,
                                     k23_mempool_request_t r)
{
    k23_mempool_memory_t m;
    int err = k23_mempool_allocate(p, &r, &m);
    cr_assert_eq(err, K23_OK, "allocate: %s", k23_strerror_name(err));
    cr_assert_eq(k23_mempool_check(p), K23_OK);
    return m;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* ---- addresses and layout ---- */

Test(mempool, slots_are_laid_out_back_to_back_from_the_slab)
{
    /* The seed's test_memory_pool: 5 memories of one wasm page. */
    k23_mempool_config_t cfg = small_config(5, WASM_PAGE, 0);
    size_t reserved = k23_port_vm_reserved_bytes();
    k23_mempool_t *p = create_ok(&cfg);
    const k23_slab_layout_t *l = k23_mempool_layout(p);
    cr_assert_eq(l->slot_bytes, WASM_PAGE);
    cr_assert_eq(l->num_slots, 5);
    cr_assert_eq(l->max_memory_bytes, WASM_PAGE);
    cr_assert_eq(k23_mempool_num_stripes(p), 1);
    uintptr_t base = (uintptr_t)k23_mempool_slab_base(p);
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq((uintptr_t)k23_mempool_slot_base(p, i) - base,
                     i * WASM_PAGE);
    /* Cold slots are handed out in order. */
    k23_mempool_memory_t m[5];
    for (size_t i = 0; i < 5; i++) {
        m[i] = alloc_ok(p, req(0, WASM_PAGE));
        cr_assert_eq(m[i].index, i);
        cr_assert_eq(m[i].base, k23_mempool_slot_base(p, i));
        cr_assert_eq(m[i].size, WASM_PAGE);
        cr_assert_eq(m[i].capacity, WASM_PAGE);
        cr_assert_eq(m[i].stripe, 0);
        memset(m[i].base, (int)i + 1, WASM_PAGE); /* all writable */
    }
    cr_assert_eq(k23_mempool_destroy(p), K23_ERR_BUSY);
    for (size_t i = 0; i < 5; i++)
        k23_mempool_deallocate(p, &m[i]);
    cr_assert(k23_mempool_is_empty(p));
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
    cr_assert_eq(k23_port_vm_reserved_bytes(), reserved, "nothing leaked");
}

Test(mempool, a_guard_before_the_slots_shifts_every_base)
{
    k23_mempool_config_t cfg = small_config(4, WASM_PAGE, 2 * WASM_PAGE);
    cfg.limits.guard_before_linear_memory = true;
    k23_mempool_t *p = create_ok(&cfg);
    const k23_slab_layout_t *l = k23_mempool_layout(p);
    cr_assert_eq(l->pre_slab_guard_bytes, 2 * WASM_PAGE);
    cr_assert_eq(l->slot_bytes, 3 * WASM_PAGE);
    uintptr_t base = (uintptr_t)k23_mempool_slab_base(p);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq((uintptr_t)k23_mempool_slot_base(p, i) - base,
                     2 * WASM_PAGE + i * 3 * WASM_PAGE);
    k23_mempool_destroy(p);
}

/* ---- guard regions fault ---- */

/* Sanitizers catch SIGSEGV themselves and exit otherwise: let the kernel's
 * default action kill the test process, which Criterion expects. */
static void default_segv(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
}

static k23_mempool_t *guard_pool(k23_mempool_memory_t *m)
{
    k23_mempool_config_t cfg = small_config(3, 4 * WASM_PAGE, WASM_PAGE);
    cfg.limits.guard_before_linear_memory = true;
    k23_mempool_t *p = create_ok(&cfg);
    *m = alloc_ok(p, req(0, WASM_PAGE));
    ((volatile char *)m->base)[WASM_PAGE - 1] = 1; /* last byte: fine */
    return p;
}

Test(mempool, access_past_the_initial_size_faults, .signal = SIGSEGV)
{
    default_segv();
    k23_mempool_memory_t m;
    guard_pool(&m);
    ((volatile char *)m.base)[WASM_PAGE] = 1;
}

Test(mempool, access_in_the_guard_after_max_memory_faults, .signal = SIGSEGV)
{
    default_segv();
    k23_mempool_memory_t m;
    k23_mempool_t *p = guard_pool(&m);
    cr_assert_eq(k23_mempool_grow(p, &m, 4 * WASM_PAGE), K23_OK);
    ((volatile char *)m.base)[4 * WASM_PAGE - 1] = 1;
    ((volatile char *)m.base)[4 * WASM_PAGE] = 1;
}

Test(mempool, access_in_the_pre_slab_guard_faults, .signal = SIGSEGV)
{
    default_segv();
    k23_mempool_memory_t m;
    guard_pool(&m);
    ((volatile char *)m.base)[-1] = 1;
}

Test(mempool, access_to_a_free_slot_faults, .signal = SIGSEGV)
{
    default_segv();
    k23_mempool_memory_t m;
    k23_mempool_t *p = guard_pool(&m);
    ((volatile char *)k23_mempool_slot_base(p, 1))[0] = 1;
}

Test(mempool, a_freed_memory_without_keep_resident_faults, .signal = SIGSEGV)
{
    default_segv();
    k23_mempool_memory_t m;
    k23_mempool_t *p = guard_pool(&m);
    volatile char *b = m.base;
    k23_mempool_deallocate(p, &m);
    b[0] = 1;
}

/* ---- reset, resident bytes, growth ---- */

Test(mempool, reset_zeroes_kept_bytes_and_releases_the_rest)
{
    size_t keep = 2 * WASM_PAGE;
    k23_mempool_config_t cfg = small_config(2, 8 * WASM_PAGE, 0);
    cfg.keep_resident = keep - 1; /* rounded up to the page */
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req_affine(0, 7, 0, 4 * WASM_PAGE));
    cr_assert(all_zero(m.base, m.size), "fresh memory reads zero");
    memset(m.base, 0xab, m.size);
    void *base = m.base;
    k23_mempool_deallocate(p, &m);
    cr_assert_eq(k23_mempool_unused_warm_slots(p), 1);
    cr_assert_eq(k23_mempool_unused_bytes_resident(p), keep);
    cr_assert(all_zero(base, keep), "kept bytes zeroed on free");

    /* Same module and memory: the same slot again, all zero, including the
     * part that was released and is committed again. */
    m = alloc_ok(p, req_affine(0, 7, 0, 4 * WASM_PAGE));
    cr_assert_eq(m.base, base);
    cr_assert_eq(k23_mempool_unused_warm_slots(p), 0);
    cr_assert_eq(k23_mempool_unused_bytes_resident(p), 0);
    cr_assert(all_zero(m.base, m.size));
    memset(m.base, 0xcd, m.size);
    cr_assert_eq(k23_mempool_grow(p, &m, 8 * WASM_PAGE), K23_OK);
    cr_assert_eq(m.size, 8 * WASM_PAGE);
    cr_assert(all_zero((char *)m.base + 4 * WASM_PAGE, 4 * WASM_PAGE),
              "grown bytes read zero");
    cr_assert_eq(k23_mempool_grow(p, &m, 8 * WASM_PAGE + 1), K23_ERR_LIMIT);
    cr_assert_eq(k23_mempool_grow(p, &m, WASM_PAGE), K23_ERR_INVAL,
                 "no shrinking");
    k23_mempool_deallocate(p, &m);

    /* A smaller memory smaller than what was kept: reuse, still zero. */
    m = alloc_ok(p, req_affine(0, 7, 0, WASM_PAGE));
    cr_assert_eq(m.base, base);
    cr_assert(all_zero(m.base, m.size));
    k23_mempool_deallocate(p, &m);
    k23_mempool_destroy(p);
}

/* keep_resident beyond the max memory means "keep everything"; UINT64_MAX
 * used to fail create with the undocumented K23_ERR_OVERFLOW. */
Test(mempool, keep_resident_above_the_max_memory_keeps_everything)
{
    k23_mempool_config_t cfg = small_config(1, 4 * WASM_PAGE, 0);
    cfg.keep_resident = UINT64_MAX;
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req(0, 4 * WASM_PAGE));
    memset(m.base, 0x77, m.size);
    void *base = m.base;
    k23_mempool_deallocate(p, &m);
    cr_assert_eq(k23_mempool_unused_bytes_resident(p), 4 * WASM_PAGE);
    cr_assert(all_zero(base, 4 * WASM_PAGE), "kept bytes zeroed");
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

Test(mempool, kept_bytes_past_a_smaller_initial_size_fault,
     .signal = SIGSEGV)
{
    default_segv();
    k23_mempool_config_t cfg = small_config(1, 8 * WASM_PAGE, 0);
    cfg.keep_resident = 4 * WASM_PAGE;
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req(0, 4 * WASM_PAGE));
    k23_mempool_deallocate(p, &m);
    m = alloc_ok(p, req(0, WASM_PAGE));
    ((volatile char *)m.base)[WASM_PAGE - 1] = 1;
    ((volatile char *)m.base)[WASM_PAGE] = 1;
}

Test(mempool, a_slot_in_unknown_state_is_fully_reset_before_reuse)
{
    k23_mempool_config_t cfg = small_config(1, 4 * WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req_affine(0, 1, 0, 4 * WASM_PAGE));
    memset(m.base, 0x5a, m.size);
    void *base = m.base;
    k23_mempool_stats_t st;
    k23_mempool_stats(p, &st);
    cr_assert_eq(st.total_resets, 0);
    /* Left as is: the contents are still there... */
    k23_mempool_deallocate_unknown(p, &m);
    cr_assert_eq(((volatile unsigned char *)base)[0], 0x5a);
    /* ...until the next user takes the slot, which resets all of it. */
    m = alloc_ok(p, req_affine(0, 1, 0, 4 * WASM_PAGE));
    cr_assert_eq(m.base, base);
    cr_assert(all_zero(m.base, m.size));
    k23_mempool_stats(p, &st);
    cr_assert_eq(st.total_resets, 1);
    k23_mempool_deallocate(p, &m);
    k23_mempool_destroy(p);
}

Test(mempool, an_unknown_slot_reused_smaller_faults_past_its_size,
     .signal = SIGSEGV)
{
    default_segv();
    k23_mempool_config_t cfg = small_config(1, 4 * WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req(0, 4 * WASM_PAGE));
    k23_mempool_deallocate_unknown(p, &m);
    m = alloc_ok(p, req(0, WASM_PAGE));
    ((volatile char *)m.base)[2 * WASM_PAGE] = 1;
}

/* ---- full pool ---- */

Test(mempool, a_full_pool_says_so_and_recovers_after_a_free)
{
    k23_mempool_config_t cfg = small_config(3, WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m[3], extra;
    for (int i = 0; i < 3; i++)
        m[i] = alloc_ok(p, req(0, 0));
    k23_mempool_request_t r = req(0, 0);
    memset(&extra, 0x77, sizeof(extra));
    cr_assert_eq(k23_mempool_allocate(p, &r, &extra), K23_ERR_FULL);
    cr_assert_eq(extra.index, (size_t)0x7777777777777777ull, "untouched");
    cr_assert_eq(k23_mempool_allocate(p, &r, &extra), K23_ERR_FULL);
    cr_assert_eq(k23_mempool_stripe_free_slots(p, 0), 0);
    k23_mempool_deallocate(p, &m[1]);
    cr_assert_eq(k23_mempool_stripe_free_slots(p, 0), 1);
    extra = alloc_ok(p, r);
    cr_assert_eq(extra.index, 1);
    k23_mempool_stats_t st;
    k23_mempool_stats(p, &st);
    cr_assert_eq(st.total_full, 2);
    cr_assert_eq(st.total_allocations, 4);
    cr_assert_eq(st.slots_in_use, 3);
    cr_assert_eq(st.peak_slots_in_use, 3);
    k23_mempool_deallocate(p, &m[0]);
    k23_mempool_deallocate(p, &m[2]);
    k23_mempool_deallocate(p, &extra);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

Test(mempool, a_pool_without_slots_is_always_full)
{
    k23_mempool_config_t cfg = small_config(0, WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_request_t r = req(0, 0);
    k23_mempool_memory_t m;
    cr_assert_eq(k23_mempool_allocate(p, &r, &m), K23_ERR_FULL);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

/* ---- validation ---- */

Test(mempool, validation_rejects_what_the_pool_cannot_hold)
{
    k23_mempool_config_t cfg = small_config(2, 2 * WASM_PAGE, 0);
    cfg.max_memories_per_module = 2;
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_desc_t ok = {.min_bytes = 2 * WASM_PAGE};
    k23_mempool_memory_desc_t big = {.min_bytes = 2 * WASM_PAGE + 1};
    k23_mempool_memory_desc_t shared = {.min_bytes = 0, .shared = true};
    cr_assert_eq(k23_mempool_validate_memory(p, &ok), K23_OK);
    cr_assert_eq(k23_mempool_validate_memory(p, &big), K23_ERR_POOL_MIN_SIZE);
    cr_assert_eq(k23_mempool_validate_memory(p, &shared),
                 K23_ERR_POOL_SHARED);
    cr_assert_eq(k23_mempool_validate_memory(p, NULL), K23_ERR_INVAL);

    k23_mempool_memory_desc_t three[3] = {ok, ok, ok};
    size_t bad = 99;
    cr_assert_eq(k23_mempool_validate_memories(p, three, 3, &bad),
                 K23_ERR_POOL_TOO_MANY_MEMORIES);
    cr_assert_eq(bad, 99);
    cr_assert_eq(k23_mempool_validate_memories(p, three, 2, &bad), K23_OK);
    k23_mempool_memory_desc_t two[2] = {ok, shared};
    cr_assert_eq(k23_mempool_validate_memories(p, two, 2, &bad),
                 K23_ERR_POOL_SHARED);
    cr_assert_eq(bad, 1);
    two[0] = big;
    cr_assert_eq(k23_mempool_validate_memories(p, two, 2, NULL),
                 K23_ERR_POOL_MIN_SIZE);
    cr_assert_eq(k23_mempool_validate_memories(p, NULL, 0, NULL), K23_OK);
    cr_assert_eq(k23_mempool_validate_memories(p, NULL, 1, NULL),
                 K23_ERR_INVAL);

    /* The same limit applies when allocating. */
    k23_mempool_request_t r = req(0, 2 * WASM_PAGE + 1);
    k23_mempool_memory_t m;
    cr_assert_eq(k23_mempool_allocate(p, &r, &m), K23_ERR_POOL_MIN_SIZE);
    r = req(1, 0);
    cr_assert_eq(k23_mempool_allocate(p, &r, &m), K23_ERR_INVAL,
                 "no stripe 1");
    cr_assert_eq(k23_mempool_allocate(p, NULL, &m), K23_ERR_INVAL);
    cr_assert(k23_mempool_is_empty(p));
    k23_mempool_destroy(p);
}

Test(mempool, bad_configurations_are_errors)
{
    k23_mempool_t *p = (k23_mempool_t *)0x1;
    k23_mempool_config_t cfg = small_config(2, 2 * WASM_PAGE, 0);
    cfg.limits.memory_reservation = WASM_PAGE;
    cr_assert_eq(k23_mempool_create(&cfg, &p),
                 K23_ERR_SLAB_MAX_OVER_RESERVATION);
    cr_assert_eq(p, (k23_mempool_t *)0x1, "untouched");
    cfg = small_config(2, 2 * WASM_PAGE, 0);
    cfg.mpk = 7;
    cr_assert_eq(k23_mempool_create(&cfg, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_mempool_create(NULL, &p), K23_ERR_INVAL);
    cfg = small_config((UINT64_C(1) << 30) + 1, 0, 0);
    cr_assert_eq(k23_mempool_create(&cfg, &p), K23_ERR_LIMIT);
    if (sizeof(size_t) == 8) {
        cfg = small_config(UINT64_C(1) << 20, UINT64_C(1) << 46, 0);
        cr_assert_eq(k23_mempool_create(&cfg, &p), K23_ERR_SLAB_TOTAL_SIZE);
    }
    cr_assert_eq(k23_mempool_destroy(NULL), K23_OK);
}

Test(mempool, double_free_panics, .signal = SIGABRT)
{
    k23_mempool_config_t cfg = small_config(2, WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req(0, 0));
    k23_mempool_memory_t copy = m;
    k23_mempool_deallocate(p, &m);
    k23_mempool_deallocate(p, &copy);
}

Test(mempool, freeing_a_foreign_address_panics, .signal = SIGABRT)
{
    k23_mempool_config_t cfg = small_config(2, WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req(0, 0));
    m.base = (char *)m.base + 4096;
    k23_mempool_deallocate(p, &m);
}

/* Stale handles: a copy of a handle kept past its free must not grow the
 * slot (the next tenant could then write past its size without a fault)
 * nor free it again; both panic naming the slot. */
struct stale_op {
    k23_mempool_t *p;
    k23_mempool_memory_t h;
    bool grow;
};

static void stale_op_run(void *arg)
{
    struct stale_op *o = arg;
    if (o->grow)
        (void)k23_mempool_grow(o->p, &o->h, 4 * WASM_PAGE);
    else
        k23_mempool_deallocate(o->p, &o->h);
}

static void expect_stale_panic(struct stale_op *o, const char *what)
{
    char msg[512], want[160];
    cr_assert(panic_capture(stale_op_run, o, msg, sizeof(msg)),
              "%s with a stale handle did not panic; stderr: %s",
              o->grow ? "grow" : "deallocate", msg);
    snprintf(want, sizeof(want), "%s, slot %zu at %#lx",
             what, o->h.index, (unsigned long)(uintptr_t)o->h.base);
    cr_assert(strstr(msg, want) != NULL, "no \"%s\" in: %s", want, msg);
}

Test(mempool, stale_handles_are_refused_with_a_panic_naming_the_slot)
{
    k23_mempool_config_t cfg = small_config(1, 8 * WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req(0, WASM_PAGE));
    struct stale_op o = {p, m, true};
    k23_mempool_deallocate(p, &m);
    expect_stale_panic(&o, "memory not allocated (freed already?)");
    o.grow = false;
    expect_stale_panic(&o, "memory not allocated (freed already?)");

    /* The slot's next tenant: the old handle names the same slot and base
     * but another allocation. */
    k23_mempool_memory_t next = alloc_ok(p, req(0, WASM_PAGE));
    cr_assert_eq(next.base, o.h.base);
    o.grow = true;
    expect_stale_panic(&o, "stale handle (the slot was freed and handed "
                           "out again)");
    o.grow = false;
    expect_stale_panic(&o, "stale handle (the slot was freed and handed "
                           "out again)");
    cr_assert_eq(k23_mempool_check(p), K23_OK);
    k23_mempool_deallocate(p, &next);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

/* Free resets what the pool committed, not what the handle says: a copy
 * of the handle grew the memory, the original (smaller size) frees it, and
 * the next tenant must still read zero everywhere. */
Test(mempool, free_resets_everything_committed_whatever_the_handle_says)
{
    k23_mempool_config_t cfg = small_config(1, 8 * WASM_PAGE, 0);
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m = alloc_ok(p, req(0, WASM_PAGE));
    k23_mempool_memory_t copy = m;
    cr_assert_eq(k23_mempool_grow(p, &copy, 4 * WASM_PAGE), K23_OK);
    memset(copy.base, 0xab, copy.size);
    cr_assert_eq(m.size, WASM_PAGE); /* says less than is committed */
    k23_mempool_deallocate(p, &m);
    cr_assert_eq(k23_mempool_unused_bytes_resident(p), 0);
    k23_mempool_memory_t next = alloc_ok(p, req(0, 4 * WASM_PAGE));
    cr_assert_eq(next.base, copy.base);
    cr_assert(all_zero(next.base, next.size),
              "the previous tenant's bytes are visible");
    /* A handle that grows learns the size a copy committed. */
    k23_mempool_memory_t c2 = next;
    cr_assert_eq(k23_mempool_grow(p, &c2, 6 * WASM_PAGE), K23_OK);
    cr_assert_eq(k23_mempool_grow(p, &next, 5 * WASM_PAGE), K23_OK);
    cr_assert_eq(next.size, 6 * WASM_PAGE);
    k23_mempool_deallocate(p, &next);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

/* ---- slot reuse policy ---- */

Test(mempool, affinity_prefers_the_slot_last_used_by_the_same_memory)
{
    k23_mempool_config_t cfg = small_config(4, WASM_PAGE, 0);
    cfg.max_unused_warm_slots = 10;
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t a = alloc_ok(p, req_affine(0, 100, 0, 0));
    k23_mempool_memory_t b = alloc_ok(p, req_affine(0, 100, 1, 0));
    cr_assert_eq(a.index, 0);
    cr_assert_eq(b.index, 1);
    k23_mempool_deallocate(p, &a);
    k23_mempool_deallocate(p, &b);
    /* Another module: a cold slot, keeping the warm ones affine. */
    k23_mempool_memory_t c = alloc_ok(p, req_affine(0, 200, 0, 0));
    cr_assert_eq(c.index, 2);
    /* Module 100's memory 1 gets slot 1 back, memory 0 slot 0. */
    b = alloc_ok(p, req_affine(0, 100, 1, 0));
    cr_assert_eq(b.index, 1);
    a = alloc_ok(p, req_affine(0, 100, 0, 0));
    cr_assert_eq(a.index, 0);
    k23_mempool_deallocate(p, &a);
    k23_mempool_deallocate(p, &b);
    k23_mempool_deallocate(p, &c);
    k23_mempool_destroy(p);
}

Test(mempool, above_the_warm_limit_warm_slots_are_evicted_oldest_first)
{
    k23_mempool_config_t cfg = small_config(4, WASM_PAGE, 0);
    cfg.max_unused_warm_slots = 0;
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t m[3];
    for (int i = 0; i < 3; i++)
        m[i] = alloc_ok(p, req_affine(0, 1, (uint32_t)i, 0));
    k23_mempool_deallocate(p, &m[2]);
    k23_mempool_deallocate(p, &m[0]);
    k23_mempool_deallocate(p, &m[1]);
    cr_assert_eq(k23_mempool_unused_warm_slots(p), 3);
    /* No affinity: the least recently freed warm slot, not cold slot 3. */
    k23_mempool_memory_t x = alloc_ok(p, req(0, 0));
    cr_assert_eq(x.index, 2);
    k23_mempool_memory_t y = alloc_ok(p, req_affine(0, 9, 0, 0));
    cr_assert_eq(y.index, 0);
    k23_mempool_deallocate(p, &x);
    k23_mempool_deallocate(p, &y);
    k23_mempool_destroy(p);
}

Test(mempool, purging_a_module_clears_its_affinity_and_resident_bytes)
{
    k23_mempool_config_t cfg = small_config(4, 2 * WASM_PAGE, 0);
    cfg.max_unused_warm_slots = 10;
    cfg.keep_resident = WASM_PAGE;
    k23_mempool_t *p = create_ok(&cfg);
    k23_mempool_memory_t a = alloc_ok(p, req_affine(0, 5, 0, 2 * WASM_PAGE));
    k23_mempool_memory_t b = alloc_ok(p, req_affine(0, 5, 2, 2 * WASM_PAGE));
    k23_mempool_memory_t c = alloc_ok(p, req_affine(0, 6, 0, 2 * WASM_PAGE));
    k23_mempool_deallocate(p, &a);
    k23_mempool_deallocate(p, &b);
    k23_mempool_deallocate(p, &c);
    cr_assert_eq(k23_mempool_unused_bytes_resident(p), 3 * WASM_PAGE);
    k23_mempool_purge_module(p, 5);
    cr_assert_eq(k23_mempool_check(p), K23_OK);
    cr_assert_eq(k23_mempool_unused_bytes_resident(p), WASM_PAGE,
                 "module 6 keeps its page");
    cr_assert_eq(k23_mempool_unused_warm_slots(p), 3, "slots stay warm");
    cr_assert(k23_mempool_is_empty(p));
    k23_mempool_stats_t st;
    k23_mempool_stats(p, &st);
    cr_assert_eq(st.peak_slots_in_use, 3, "purging is not allocating");
    /* Module 5 has no affine slot left: a cold slot (3) is taken. */
    a = alloc_ok(p, req_affine(0, 5, 0, WASM_PAGE));
    cr_assert_eq(a.index, 3);
    cr_assert(all_zero(a.base, a.size));
    k23_mempool_memory_t d = alloc_ok(p, req_affine(0, 6, 0, 0));
    cr_assert_eq(d.index, 2, "module 6 still affine");
    k23_mempool_deallocate(p, &a);
    k23_mempool_deallocate(p, &d);
    k23_mempool_destroy(p);
}

/* Reference model of one stripe's slot choice (wasmtime's
 * ModuleAffinityIndexAllocator), by brute force over free timestamps. */
struct model_slot {
    int state; /* 0 cold, 1 used, 2 warm */
    bool aff;
    uint64_t module;
    uint32_t memidx;
    uint64_t freed_at;
};

static int model_pick(struct model_slot *s, int n, unsigned max_warm,
                      bool aff, uint64_t module, uint32_t memidx)
{
    int best = -1, warm = 0, oldest = -1, cold = -1;
    for (int i = 0; i < n; i++) {
        if (s[i].state == 2) {
            warm++;
            if (aff && s[i].aff && s[i].module == module &&
                s[i].memidx == memidx &&
                (best < 0 || s[i].freed_at > s[best].freed_at))
                best = i;
            if (oldest < 0 || s[i].freed_at < s[oldest].freed_at)
                oldest = i;
        } else if (s[i].state == 0 && cold < 0) {
            cold = i;
        }
    }
    if (best < 0)
        best = (unsigned)warm < max_warm ? (cold >= 0 ? cold : oldest)
                                         : (oldest >= 0 ? oldest : cold);
    if (best >= 0) {
        s[best].state = 1;
        s[best].aff = aff;
        s[best].module = module;
        s[best].memidx = memidx;
    }
    return best;
}

Test(mempool, random_operations_match_the_reference_policy)
{
    enum { SLOTS = 12, OPS = 4000 };
    k23_mempool_config_t cfg = small_config(SLOTS, 2 * WASM_PAGE, 0);
    cfg.max_unused_warm_slots = 4;
    cfg.keep_resident = WASM_PAGE;
    cfg.max_memories_per_module = 2;
    k23_mempool_t *p = create_ok(&cfg);
    struct model_slot model[SLOTS];
    memset(model, 0, sizeof(model));
    k23_mempool_memory_t live[SLOTS];
    bool is_live[SLOTS] = {false};
    uint64_t clock = 0, rs = 0x1234567;
    for (int op = 0; op < OPS; op++) {
        rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
        unsigned what = rs % 10;
        if (what < 5) {
            bool aff = (rs >> 8) % 4 != 0;
            uint64_t module = (rs >> 12) % 4;
            uint32_t memidx = (uint32_t)((rs >> 16) % 2);
            uint64_t size = ((rs >> 20) % 3) * WASM_PAGE;
            k23_mempool_request_t r = aff ? req_affine(0, module, memidx, size)
                                          : req(0, size);
            int want = model_pick(model, SLOTS, 4, aff, module, memidx);
            k23_mempool_memory_t m;
            int err = k23_mempool_allocate(p, &r, &m);
            if (want < 0) {
                cr_assert_eq(err, K23_ERR_FULL, "op %d", op);
                continue;
            }
            cr_assert_eq(err, K23_OK, "op %d", op);
            cr_assert_eq(m.index, (size_t)want, "op %d: slot %zu, model %d",
                         op, m.index, want);
            cr_assert(all_zero(m.base, m.size), "op %d: not zero", op);
            memset(m.base, 0xee, m.size);
            live[want] = m;
            is_live[want] = true;
        } else if (what < 9) {
            int i = (int)((rs >> 8) % SLOTS);
            if (!is_live[i])
                continue;
            if (what == 8)
                k23_mempool_deallocate_unknown(p, &live[i]);
            else
                k23_mempool_deallocate(p, &live[i]);
            is_live[i] = false;
            model[i].state = 2;
            model[i].freed_at = ++clock;
        } else {
            uint64_t module = (rs >> 12) % 4;
            k23_mempool_purge_module(p, module);
            /* Purged slots lose their affinity and go to the warm tail, in
             * the order the purge visits them: per memory index, most
             * recently freed first. */
            for (uint32_t mi = 0; mi < 2; mi++) {
                for (;;) {
                    int best = -1;
                    for (int i = 0; i < SLOTS; i++)
                        if (model[i].state == 2 && model[i].aff &&
                            model[i].module == module &&
                            model[i].memidx == mi &&
                            (best < 0 ||
                             model[i].freed_at > model[best].freed_at))
                            best = i;
                    if (best < 0)
                        break;
                    model[best].aff = false;
                    model[best].freed_at = ++clock;
                }
            }
        }
        cr_assert_eq(k23_mempool_check(p), K23_OK, "op %d", op);
    }
    for (int i = 0; i < SLOTS; i++)
        if (is_live[i])
            k23_mempool_deallocate(p, &live[i]);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

/* ---- protection keys, through fake key operations ---- */

struct fake_keys {
    unsigned available;
    unsigned fail_alloc_after; /* alloc fails once this many are out */
    int fail_protect_at;       /* -1: never */
    unsigned allocated, freed, next;
    unsigned nprotect;
    uintptr_t prot_addr[64];
    size_t prot_size[64];
    unsigned prot_key[64];
};

static unsigned fake_available(void *ctx)
{
    return ((struct fake_keys *)ctx)->available;
}

static int fake_alloc(void *ctx, unsigned *key)
{
    struct fake_keys *f = ctx;
    if (f->allocated - f->freed >= f->fail_alloc_after)
        return K23_ERR_NOMEM;
    f->allocated++;
    *key = ++f->next; /* keys 1, 2, ... */
    return K23_OK;
}

static void fake_free(void *ctx, unsigned key)
{
    (void)key;
    ((struct fake_keys *)ctx)->freed++;
}

static int fake_protect(void *ctx, void *addr, size_t size, unsigned key)
{
    struct fake_keys *f = ctx;
    if ((int)f->nprotect == f->fail_protect_at)
        return K23_ERR_OS;
    if (f->nprotect < 64) {
        f->prot_addr[f->nprotect] = (uintptr_t)addr;
        f->prot_size[f->nprotect] = size;
        f->prot_key[f->nprotect] = key;
    }
    f->nprotect++;
    return K23_OK;
}

static k23_mempool_pkey_ops_t fake_ops(struct fake_keys *f)
{
    k23_mempool_pkey_ops_t ops = {fake_available, fake_alloc, fake_free,
                                  fake_protect, f};
    return ops;
}

static struct fake_keys fake(unsigned available)
{
    struct fake_keys f;
    memset(&f, 0, sizeof(f));
    f.available = available;
    f.fail_alloc_after = 1000;
    f.fail_protect_at = -1;
    return f;
}

Test(mempool, with_keys_the_slots_are_striped_round_robin)
{
    /* 64 KiB memories, 128 KiB guard: the 192 KiB faulting region needs 3
     * stripes of 64 KiB slots (without keys, 192 KiB slots). */
    struct fake_keys f = fake(15);
    k23_mempool_pkey_ops_t ops = fake_ops(&f);
    k23_mempool_config_t cfg = small_config(10, WASM_PAGE, 2 * WASM_PAGE);
    cfg.mpk = K23_MEMPOOL_MPK_AUTO;
    cfg.pkey_ops = &ops;
    k23_mempool_t *p = create_ok(&cfg);
    const k23_slab_layout_t *l = k23_mempool_layout(p);
    cr_assert_eq(l->num_stripes, 3);
    cr_assert_eq(l->slot_bytes, WASM_PAGE);
    cr_assert_eq(k23_mempool_num_stripes(p), 3);
    cr_assert_eq(f.allocated, 15, "asked for every key available");
    cr_assert_eq(f.freed, 12, "kept one per stripe");
    cr_assert_eq(f.nprotect, 10, "every slot tagged");
    for (unsigned i = 0; i < 10; i++) {
        cr_assert_eq(f.prot_addr[i], (uintptr_t)k23_mempool_slot_base(p, i));
        cr_assert_eq(f.prot_size[i], WASM_PAGE);
        cr_assert_eq(f.prot_key[i], 1 + i % 3);
    }
    for (unsigned k = 0; k < 3; k++) {
        unsigned key;
        cr_assert_eq(k23_mempool_stripe_pkey(p, k, &key), K23_OK);
        cr_assert_eq(key, 1 + k);
    }
    unsigned key = 99;
    cr_assert_eq(k23_mempool_stripe_pkey(p, 3, &key), K23_ERR_INVAL);
    /* Round-robin stripes for stores. */
    for (unsigned i = 0; i < 7; i++)
        cr_assert_eq(k23_mempool_next_stripe(p), i % 3);
    /* 10 slots over 3 stripes: 4, 3, 3. */
    cr_assert_eq(k23_mempool_stripe_free_slots(p, 0), 4);
    cr_assert_eq(k23_mempool_stripe_free_slots(p, 1), 3);
    cr_assert_eq(k23_mempool_stripe_free_slots(p, 2), 3);
    /* A stripe hands out only its own slots: 1, 4, 7, then full. */
    k23_mempool_memory_t m[3];
    for (unsigned i = 0; i < 3; i++) {
        m[i] = alloc_ok(p, req(1, WASM_PAGE));
        cr_assert_eq(m[i].index, 1 + 3 * i);
        cr_assert_eq(m[i].stripe, 1);
        memset(m[i].base, 1, WASM_PAGE);
    }
    k23_mempool_request_t r = req(1, 0);
    k23_mempool_memory_t extra;
    cr_assert_eq(k23_mempool_allocate(p, &r, &extra), K23_ERR_FULL);
    extra = alloc_ok(p, req(0, 0));
    cr_assert_eq(extra.index, 0);
    for (unsigned i = 0; i < 3; i++)
        k23_mempool_deallocate(p, &m[i]);
    k23_mempool_deallocate(p, &extra);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
    cr_assert_eq(f.freed, 15, "all keys returned");
}

Test(mempool, key_decisions_follow_the_mpk_setting)
{
    k23_mempool_config_t cfg = small_config(10, WASM_PAGE, 2 * WASM_PAGE);
    k23_mempool_t *p = (k23_mempool_t *)0x1;

    /* YES without keys: an error of its own. */
    struct fake_keys f = fake(0);
    k23_mempool_pkey_ops_t ops = fake_ops(&f);
    cfg.pkey_ops = &ops;
    cfg.mpk = K23_MEMPOOL_MPK_YES;
    cr_assert_eq(k23_mempool_create(&cfg, &p), K23_ERR_POOL_NO_MPK);
    cr_assert_eq(p, (k23_mempool_t *)0x1);

    /* AUTO without keys: one stripe, 192 KiB slots. */
    cfg.mpk = K23_MEMPOOL_MPK_AUTO;
    p = create_ok(&cfg);
    cr_assert_eq(k23_mempool_num_stripes(p), 1);
    cr_assert_eq(k23_mempool_layout(p)->slot_bytes, 3 * WASM_PAGE);
    unsigned key;
    cr_assert_eq(k23_mempool_stripe_pkey(p, 0, &key), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_mempool_next_stripe(p), 0);
    cr_assert_eq(k23_mempool_next_stripe(p), 0);
    k23_mempool_destroy(p);

    /* NO with keys: none used, none even allocated. */
    f = fake(15);
    cfg.mpk = K23_MEMPOOL_MPK_NO;
    p = create_ok(&cfg);
    cr_assert_eq(k23_mempool_num_stripes(p), 1);
    cr_assert_eq(f.allocated, 0);
    k23_mempool_destroy(p);

    /* max_pkeys caps the keys; a single key gives no striping. */
    f = fake(15);
    cfg.mpk = K23_MEMPOOL_MPK_YES;
    cfg.max_pkeys = 1;
    p = create_ok(&cfg);
    cr_assert_eq(k23_mempool_num_stripes(p), 1);
    cr_assert_eq(f.allocated, 1);
    cr_assert_eq(f.freed, 1, "an unused key is returned");
    cr_assert_eq(f.nprotect, 0);
    k23_mempool_destroy(p);

    /* Key allocation running out part way: use what was obtained. */
    f = fake(15);
    f.fail_alloc_after = 2;
    cfg.max_pkeys = 16;
    p = create_ok(&cfg);
    cr_assert_eq(k23_mempool_num_stripes(p), 2);
    cr_assert_eq(k23_mempool_layout(p)->slot_bytes, 3 * WASM_PAGE / 2,
                 "192 KiB over 2 stripes");
    k23_mempool_destroy(p);
    cr_assert_eq(f.freed, 2);

    /* YES and no key could be allocated at all. */
    f = fake(15);
    f.fail_alloc_after = 0;
    cr_assert_eq(k23_mempool_create(&cfg, &p), K23_ERR_POOL_NO_MPK);

    /* Tagging fails: nothing leaks, keys go back. */
    f = fake(15);
    f.fail_protect_at = 4;
    size_t reserved = k23_port_vm_reserved_bytes();
    cr_assert_eq(k23_mempool_create(&cfg, &p), K23_ERR_OS);
    cr_assert_eq(f.freed, f.allocated);
    cr_assert_eq(k23_port_vm_reserved_bytes(), reserved);
}

/* A failure after keys and bookkeeping were taken (the slab's
 * reservation: 2^17 slots of 4 GiB, 512 TiB, more than any 64-bit user
 * address space hands out) gives both back. */
Test(mempool, a_slab_that_cannot_be_reserved_leaks_nothing)
{
    if (sizeof(size_t) < 8)
        cr_skip_test("needs a 64-bit size_t");
    struct fake_keys f = fake(15);
    k23_mempool_pkey_ops_t ops = fake_ops(&f);
    k23_mempool_config_t cfg = small_config(UINT64_C(1) << 17,
                                            UINT64_C(4) << 30, 0);
    cfg.mpk = K23_MEMPOOL_MPK_YES;
    cfg.pkey_ops = &ops;
    size_t reserved = k23_port_vm_reserved_bytes();
    k23_mempool_t *p = (k23_mempool_t *)0x1;
    int err = k23_mempool_create(&cfg, &p);
    cr_assert_eq(err, K23_ERR_NOMEM, "create: %s", k23_strerror_name(err));
    cr_assert_eq(p, (k23_mempool_t *)0x1, "out untouched");
    cr_assert_gt(f.allocated, 0, "keys were taken before the slab");
    cr_assert_eq(f.freed, f.allocated, "every key back");
    cr_assert_eq(f.nprotect, 0);
    cr_assert_eq(k23_port_vm_reserved_bytes(), reserved,
                 "bookkeeping released");
}

Test(mempool, the_port_keys_are_used_only_when_the_host_has_them)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    k23_mempool_config_t cfg = small_config(10, WASM_PAGE, 2 * WASM_PAGE);
    cfg.mpk = K23_MEMPOOL_MPK_YES;
    k23_mempool_t *p = NULL;
    int err = k23_mempool_create(&cfg, &p);
    if (caps.pkeys_available == 0) {
        cr_assert_eq(err, K23_ERR_POOL_NO_MPK);
        cfg.mpk = K23_MEMPOOL_MPK_AUTO;
        p = create_ok(&cfg);
        cr_assert_eq(k23_mempool_num_stripes(p), 1);
    } else {
        cr_assert_eq(err, K23_OK);
        cr_assert_eq(k23_mempool_num_stripes(p), 3);
        k23_mempool_memory_t m = alloc_ok(p, req(2, WASM_PAGE));
        memset(m.base, 1, WASM_PAGE); /* the host allows every key */
        k23_mempool_deallocate(p, &m);
    }
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

/* ---- concurrency ---- */

struct thread_arg {
    k23_mempool_t *pool;
    unsigned seed;
    unsigned full;
};

static void *thread_main(void *varg)
{
    struct thread_arg *a = varg;
    uint64_t rs = a->seed;
    k23_mempool_memory_t mine[4];
    int n = 0;
    for (int i = 0; i < 3000; i++) {
        rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
        if (n < 4 && (rs & 1)) {
            unsigned stripe = k23_mempool_next_stripe(a->pool);
            k23_mempool_request_t r = {
                .stripe = stripe, .has_affinity = (rs >> 1) & 1,
                .module_id = (rs >> 2) % 3, .memory_index = 0,
                .initial_bytes = WASM_PAGE};
            int err = k23_mempool_allocate(a->pool, &r, &mine[n]);
            if (err == K23_ERR_FULL) {
                a->full++;
                continue;
            }
            if (err != K23_OK)
                return (void *)1;
            unsigned char *b = mine[n].base;
            if (b[0] != 0 || b[WASM_PAGE - 1] != 0)
                return (void *)2; /* someone else's data */
            b[0] = b[WASM_PAGE - 1] = 0xff;
            n++;
        } else if (n > 0) {
            n--;
            k23_mempool_deallocate(a->pool, &mine[n]);
        } else if ((rs >> 3) % 50 == 0) {
            k23_mempool_purge_module(a->pool, (rs >> 4) % 3);
        }
    }
    while (n > 0)
        k23_mempool_deallocate(a->pool, &mine[--n]);
    return NULL;
}

Test(mempool, threads_share_a_striped_pool_safely)
{
    struct fake_keys f = fake(15);
    k23_mempool_pkey_ops_t ops = fake_ops(&f);
    k23_mempool_config_t cfg = small_config(12, WASM_PAGE, 2 * WASM_PAGE);
    cfg.mpk = K23_MEMPOOL_MPK_AUTO;
    cfg.pkey_ops = &ops;
    cfg.keep_resident = WASM_PAGE;
    cfg.max_unused_warm_slots = 2;
    k23_mempool_t *p = create_ok(&cfg);
    enum { N = 4 };
    pthread_t t[N];
    struct thread_arg args[N];
    for (unsigned i = 0; i < N; i++) {
        args[i] = (struct thread_arg){p, 0x9e37u * (i + 1), 0};
        pthread_create(&t[i], NULL, thread_main, &args[i]);
    }
    for (unsigned i = 0; i < N; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        cr_assert_null(ret, "thread %u failed: %p", i, ret);
    }
    cr_assert(k23_mempool_is_empty(p));
    cr_assert_eq(k23_mempool_check(p), K23_OK);
    k23_mempool_stats_t st;
    k23_mempool_stats(p, &st);
    cr_assert_eq(st.slots_in_use, 0);
    cr_assert_leq(st.peak_slots_in_use, 12);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}

Test(mempool, the_default_configuration_creates_a_pool)
{
    k23_mempool_config_t cfg;
    k23_mempool_config_default(&cfg);
    k23_mempool_t *p = create_ok(&cfg);
    const k23_slab_layout_t *l = k23_mempool_layout(p);
    cr_assert_eq(l->num_slots, sizeof(size_t) >= 8 ? 1000 : 100);
    cr_assert_eq(k23_mempool_num_stripes(p), 1, "keys are off by default");
    k23_mempool_memory_t m = alloc_ok(p, req(0, WASM_PAGE));
    memset(m.base, 1, WASM_PAGE);
    k23_mempool_deallocate(p, &m);
    cr_assert_eq(k23_mempool_destroy(p), K23_OK);
}
