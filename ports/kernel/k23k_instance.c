/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * An instance allocator backed by the frame allocator (k23k_selftest.h),
 * and the self-test that drives it through libk23mem's generic module
 * functions, fault injection included.
 */
#include "k23k_selftest.h"

#include <libfdt.h>

#include "kernel.h"
#include "k23mem/port.h"
#include "../../tests/support/instance_faulty.h" /* test support */

#define FI_PAGE UINT64_C(4096)
#define FI_HUGE_LOG2 21u /* 2 MiB, the seed's alignment */

static uint64_t fi_round(uint64_t v)
{
    return (v + FI_PAGE - 1) & ~(FI_PAGE - 1);
}

/* Alignment for a run of @size bytes: 2 MiB when it is at least that big,
 * capped by what the frame allocator can align to. */
static unsigned fi_align_log2(const k23k_frames_instance_t *fi, uint64_t size)
{
    unsigned max_log2 =
        (unsigned)__builtin_ctzll(k23_frames_max_alignment(fi->fa));
    if (size < (UINT64_C(1) << FI_HUGE_LOG2))
        return 12;
    return FI_HUGE_LOG2 < max_log2 ? FI_HUGE_LOG2 : max_log2;
}

static int fi_take(k23k_frames_instance_t *fi, uint64_t size,
                   unsigned align_log2, void **out)
{
    k23_paddr_t pa;
    int rc = k23_frames_alloc_contiguous_zeroed(fi->fa, size, align_log2, &pa);
    if (rc != K23_OK)
        return rc;
    fi->live_runs++;
    fi->live_bytes += size;
    *out = k23_port_phys_to_virt(pa);
    return K23_OK;
}

static void fi_give(k23k_frames_instance_t *fi, void *p, uint64_t size)
{
    int rc = k23_frames_free_contiguous(fi->fa, k23_port_virt_to_phys(p), size);
    if (rc != K23_OK)
        k23_port_panic(__FILE__, __LINE__, "instance: freeing a run failed");
    fi->live_runs--;
    fi->live_bytes -= size;
}

static int fi_allocate_instance(void *ctx, const k23_instance_shape_t *shape,
                                void **out)
{
    k23k_frames_instance_t *fi = ctx;
    uint64_t size = fi_round(shape->size);
    unsigned align = fi_align_log2(fi, size);
    if (shape->align_log2 > align)
        align = shape->align_log2;
    return fi_take(fi, size, align, out);
}

static void fi_deallocate_instance(void *ctx, void *instance,
                                   const k23_instance_shape_t *shape)
{
    fi_give(ctx, instance, fi_round(shape->size));
}

/* The memory's whole capacity is backed from the start: growing only has
 * to say so. */
static int fi_commit(void *ctx, k23_memory_t *mem, size_t new_committed)
{
    (void)ctx;
    return new_committed <= mem->capacity ? K23_OK : K23_ERR_NOMEM;
}

static int fi_allocate_memory(void *ctx, const k23_memory_desc_t *desc,
                              uint32_t index, k23_memory_t *out)
{
    k23k_frames_instance_t *fi = ctx;
    (void)index;
    uint64_t want = desc->has_max && desc->max_bytes < fi->memory_bound
                        ? desc->max_bytes
                        : fi->memory_bound;
    if (want < desc->min_bytes)
        want = desc->min_bytes;
    uint64_t capacity = fi_round(want);
    uint64_t pmask = (UINT64_C(1) << desc->page_size_log2) - 1;
    void *base = NULL;
    if (capacity != 0) {
        int rc = fi_take(fi, capacity, fi_align_log2(fi, capacity), &base);
        if (rc != K23_OK)
            return rc;
    }
    out->base = base;
    out->size = (size_t)desc->min_bytes;
    out->max_size = (size_t)(want & ~pmask);
    out->capacity = (size_t)capacity;
    out->committed = (size_t)fi_round(desc->min_bytes);
    out->guard_bytes = 0;
    out->page_size_log2 = desc->page_size_log2;
    out->shared = desc->shared;
    out->live = true;
    out->slot = K23_INSTANCE_NO_SLOT;
    out->stripe = 0;
    out->mapping = base;
    out->mapping_size = (size_t)capacity;
    out->commit = fi_commit;
    out->commit_ctx = fi;
    return K23_OK;
}

static void fi_deallocate_memory(void *ctx, uint32_t index, k23_memory_t *mem)
{
    (void)index;
    if (mem->mapping != NULL)
        fi_give(ctx, mem->mapping, mem->mapping_size);
    mem->live = false;
}

static int fi_allocate_table(void *ctx, const k23_table_desc_t *desc,
                             uint32_t index, k23_table_t *out)
{
    k23k_frames_instance_t *fi = ctx;
    (void)index;
    uint64_t cap = desc->has_max && desc->max_elements < fi->table_bound
                       ? desc->max_elements
                       : fi->table_bound;
    if (cap < desc->min_elements)
        cap = desc->min_elements;
    uint64_t bytes;
    if (__builtin_mul_overflow(cap, (uint64_t)desc->element_size, &bytes))
        return K23_ERR_OVERFLOW;
    bytes = fi_round(bytes);
    void *p = NULL;
    if (bytes != 0) {
        int rc = fi_take(fi, bytes, fi_align_log2(fi, bytes), &p);
        if (rc != K23_OK)
            return rc;
    }
    out->elements = p;
    out->size = desc->min_elements;
    out->max_size = cap;
    out->capacity = cap;
    out->committed = (size_t)fi_round(desc->min_elements * desc->element_size);
    out->element_size = desc->element_size;
    out->live = true;
    out->slot = K23_INSTANCE_NO_SLOT;
    out->mapping = p;
    out->mapping_size = (size_t)bytes;
    return K23_OK;
}

static void fi_deallocate_table(void *ctx, uint32_t index, k23_table_t *table)
{
    (void)index;
    if (table->mapping != NULL)
        fi_give(ctx, table->mapping, table->mapping_size);
    table->live = false;
}

static const k23_instance_allocator_ops_t fi_ops = {
    .allocate_instance = fi_allocate_instance,
    .deallocate_instance = fi_deallocate_instance,
    .allocate_memory = fi_allocate_memory,
    .deallocate_memory = fi_deallocate_memory,
    .allocate_table = fi_allocate_table,
    .deallocate_table = fi_deallocate_table,
    .validate_module = NULL,
};

int k23k_frames_instance_init(k23k_frames_instance_t *fi, k23_frames_t *fa,
                              uint64_t memory_bound, uint64_t table_bound,
                              k23_instance_allocator_t *out)
{
    if (fi == NULL || fa == NULL || out == NULL)
        return K23_ERR_INVAL;
    fi->fa = fa;
    fi->memory_bound = memory_bound;
    fi->table_bound = table_bound;
    fi->live_runs = 0;
    fi->live_bytes = 0;
    out->ops = &fi_ops;
    out->ctx = fi;
    return K23_OK;
}

/* ---- the self-test step ---- */

static void st_check(int rc, const char *what)
{
    if (rc != K23_OK)
        k23k_fail("instance: %s: %s (%d)", what, k23_strerror_name(rc), rc);
}

static bool st_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

static uint64_t st_allocated(k23_frames_t *fa)
{
    k23_frames_stats_t st;
    k23_frames_drain_all(fa);
    st_check(k23_frames_stats(fa, &st), "k23_frames_stats");
    return st.allocated_frames;
}

#define WASM_PAGE (UINT64_C(1) << 16)
#define LIVE 8u

void k23k_selftest_instance(k23_frames_t *fa)
{
    static k23k_frames_instance_t fi;
    k23_instance_allocator_t alloc;
    /* 4 MiB per unbounded memory, 64 Ki table elements. */
    st_check(k23k_frames_instance_init(&fi, fa, UINT64_C(4) << 20, 65536,
                                       &alloc),
             "init");

    const k23_memory_desc_t mems[3] = {
        /* 1 page, up to 16 pages (1 MiB) */
        {.min_bytes = WASM_PAGE, .max_bytes = 16 * WASM_PAGE,
         .page_size_log2 = 16, .has_max = true},
        /* no maximum: backed by memory_bound, 2 MiB aligned */
        {.min_bytes = 2 * WASM_PAGE, .page_size_log2 = 16},
        /* 1-byte pages, 3000 bytes */
        {.min_bytes = 3000, .max_bytes = 10000, .page_size_log2 = 0,
         .has_max = true},
    };
    const k23_table_desc_t tabs[2] = {
        {.min_elements = 10, .max_elements = 100, .element_size = 8,
         .has_max = true},
        {.min_elements = 1, .element_size = 16},
    };
    k23_module_desc_t mod = {
        .shape = {.size = 320, .align_log2 = 6},
        .memories = mems, .tables = tabs, .num_memories = 3, .num_tables = 2};
    st_check(k23_module_desc_check(&mod), "k23_module_desc_check");

    uint64_t before = st_allocated(fa);
    uint64_t t0 = k23k_arch_ticks();
    k23_instance_handle_t h;
    st_check(k23_instance_allocate_module(&alloc, &mod, &h),
             "k23_instance_allocate_module");
    if (!st_zero(h.context, mod.shape.size))
        k23k_fail("instance: context block not zeroed");
    if (((uintptr_t)h.context & 63) != 0)
        k23k_fail("instance: context block not 64-byte aligned");
    unsigned huge = (unsigned)__builtin_ctzll(k23_frames_max_alignment(fa));
    if (huge > FI_HUGE_LOG2)
        huge = FI_HUGE_LOG2;
    for (uint32_t i = 0; i < h.num_memories; i++) {
        k23_memory_t *m = &h.memories[i];
        st_check(k23_memory_check(m), "k23_memory_check");
        if (!m->live || m->size != mems[i].min_bytes)
            k23k_fail("instance: memory %u has size %zu", i, m->size);
        if (!st_zero(m->base, m->capacity))
            k23k_fail("instance: memory %u is not zeroed", i);
        if (m->capacity >= (UINT64_C(1) << FI_HUGE_LOG2) &&
            ((uintptr_t)m->base & ((UINT64_C(1) << huge) - 1)) != 0)
            k23k_fail("instance: memory %u at %p not 2^%u aligned", i,
                      (void *)m->base, huge);
        /* Write all of it, grow by one page, the new page reads zero. */
        memset(m->base, 0x77, m->size);
        uint64_t old = 0;
        if (m->size + ((size_t)1 << m->page_size_log2) <= m->max_size) {
            size_t old_size = m->size;
            st_check(k23_memory_grow(m, 1, &old), "k23_memory_grow");
            if (m->size != old_size + ((size_t)1 << m->page_size_log2))
                k23k_fail("instance: memory %u did not grow", i);
            if (!st_zero(m->base + old_size, m->size - old_size))
                k23k_fail("instance: grown part of memory %u not zero", i);
            st_check(k23_memory_check(m), "k23_memory_check after grow");
        }
    }
    for (uint32_t i = 0; i < h.num_tables; i++) {
        k23_table_t *t = &h.tables[i];
        st_check(k23_table_check(t), "k23_table_check");
        if (!st_zero(t->elements, t->size * t->element_size))
            k23k_fail("instance: table %u not null", i);
    }
    /* Table 0 (10 of 100 8-byte elements): one more inside its committed
     * page works. Growing past the committed pages commits through the
     * port's VM hooks (table 1): without paging they are not offered;
     * with paging they serve only reservations of the kernel's address
     * space, and this table is a run of the direct map, so the address
     * space must refuse it rather than map over RAM. */
    k23_table_t *tab0 = &h.tables[0];
    uint64_t old_elems = 0;
    memset(tab0->elements, 0x33, tab0->size * tab0->element_size);
    st_check(k23_table_grow(tab0, 1, &old_elems), "k23_table_grow");
    if (!st_zero(tab0->elements + old_elems * tab0->element_size,
                 tab0->element_size))
        k23k_fail("instance: grown table element not null");
    st_check(k23_table_check(tab0), "k23_table_check after grow");
    /* Table 1 (1 of 65536 16-byte elements): 999 more need 4 pages. */
    k23_table_t *tab1 = &h.tables[1];
    int big = k23_table_grow(tab1, 999, &old_elems);
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    int want = caps.has_vm ? K23_ERR_INVAL : K23_ERR_UNSUPPORTED;
    if (big != want)
        k23k_fail("instance: table growth past its page: %s, expected %s",
                  k23_strerror_name(big), k23_strerror_name(want));
    st_check(k23_table_check(tab1), "k23_table_check after big grow");
    uint64_t during = st_allocated(fa);
    uint64_t runs = fi.live_runs;
    k23_instance_deallocate_module(&alloc, &h);
    if (fi.live_runs != 0 || st_allocated(fa) != before)
        k23k_fail("instance: deallocate_module left %llu runs, %llu frames",
                  (unsigned long long)fi.live_runs,
                  (unsigned long long)(st_allocated(fa) - before));

    /* Roll back: the k-th allocation of the module fails; nothing leaks. */
    unsigned steps = 1 + mod.num_memories + mod.num_tables;
    for (unsigned k = 1; k <= steps; k++) {
        k23_instance_faulty_t f;
        k23_instance_allocator_t faulty;
        st_check(k23_instance_faulty_init(&f, &alloc, k, K23_ERR_NOMEM,
                                          &faulty),
                 "k23_instance_faulty_init");
        k23_instance_handle_t h2;
        int rc = k23_instance_allocate_module(&faulty, &mod, &h2);
        if (rc != K23_ERR_NOMEM)
            k23k_fail("instance: allocation %u of %u was to fail, got %d", k,
                      steps, rc);
        if (fi.live_runs != 0 || st_allocated(fa) != before)
            k23k_fail("instance: failed allocation %u leaked %llu runs", k,
                      (unsigned long long)fi.live_runs);
    }

    /* Several instances alive together (about 5 MiB each, so that the
     * smallest machine, 128 MiB, holds them), freed in another order. */
    static k23_instance_handle_t many[LIVE];
    for (unsigned i = 0; i < LIVE; i++)
        st_check(k23_instance_allocate_module(&alloc, &mod, &many[i]),
                 "k23_instance_allocate_module (several live)");
    for (unsigned i = 0; i < LIVE; i += 2)
        k23_instance_deallocate_module(&alloc, &many[i]);
    for (unsigned i = 1; i < LIVE; i += 2)
        k23_instance_deallocate_module(&alloc, &many[i]);
    if (fi.live_runs != 0 || st_allocated(fa) != before)
        k23k_fail("instance: %u instances leaked %llu runs", LIVE,
                  (unsigned long long)fi.live_runs);
    k23k_printf("instances: a module with 3 memories and 2 tables took %llu "
                "runs (%llu frames), zeroed, 2^%u-aligned memories grow in "
                "place; a table grows in its page (past it: %s); %u injected "
                "failures rolled back; %u live at once; nothing leaked "
                "(%u ms)\n",
                (unsigned long long)runs,
                (unsigned long long)(during - before), huge,
                k23_strerror_name(big), steps, LIVE,
                (unsigned)((k23k_arch_ticks() - t0) * 1000 /
                           k23k_arch_tick_hz()));
}
