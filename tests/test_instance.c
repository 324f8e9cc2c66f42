/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/instance.h"
#include "k23mem/port.h"
#include "instance_faulty.h"
#include "panic_capture.h"
#include "wrong_shape_free.h"

TestSuite(instance);

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define WASM_PAGE ((uint64_t)1 << 16)

static size_t host_page(void)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    return caps.page_size;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static k23_memory_desc_t wasm_mem(uint64_t min_pages, uint64_t max_pages,
                                  bool has_max, uint64_t guard)
{
    k23_memory_desc_t d = {
        .min_bytes = min_pages * WASM_PAGE,
        .max_bytes = max_pages * WASM_PAGE,
        .offset_guard_bytes = guard,
        .page_size_log2 = K23_INSTANCE_WASM_PAGE_LOG2,
        .has_max = has_max,
    };
    return d;
}

static k23_table_desc_t funcref_table(uint64_t min, uint64_t max,
                                      bool has_max)
{
    k23_table_desc_t t = {.min_elements = min, .max_elements = max,
                          .element_size = sizeof(void *),
                          .has_max = has_max};
    return t;
}

/* ---- descriptors ---- */

Test(instance, descriptor_checks_reject_inconsistent_limits)
{
    k23_memory_desc_t d = wasm_mem(1, 2, true, 0);
    cr_assert_eq(k23_memory_desc_check(&d), K23_OK);
    cr_assert_eq(k23_memory_desc_check(NULL), K23_ERR_INVAL);
    d.min_bytes = 3 * WASM_PAGE; /* min > max */
    cr_assert_eq(k23_memory_desc_check(&d), K23_ERR_INVAL);
    d = wasm_mem(1, 2, true, 0);
    d.min_bytes += 1; /* not a page multiple */
    cr_assert_eq(k23_memory_desc_check(&d), K23_ERR_INVAL);
    d = wasm_mem(1, 2, true, 0);
    d.max_bytes += 4096;
    cr_assert_eq(k23_memory_desc_check(&d), K23_ERR_INVAL);
    d = wasm_mem(1, 0, false, 0);
    d.shared = true; /* shared needs a maximum */
    cr_assert_eq(k23_memory_desc_check(&d), K23_ERR_INVAL);
    d.has_max = true;
    d.max_bytes = WASM_PAGE;
    cr_assert_eq(k23_memory_desc_check(&d), K23_OK);
    d.page_size_log2 = K23_INSTANCE_PAGE_LOG2_MAX + 1;
    cr_assert_eq(k23_memory_desc_check(&d), K23_ERR_INVAL);
    /* 1-byte pages accept any byte count. */
    k23_memory_desc_t b = {.min_bytes = 7, .max_bytes = 13, .has_max = true,
                           .page_size_log2 = 0};
    cr_assert_eq(k23_memory_desc_check(&b), K23_OK);

    k23_table_desc_t t = funcref_table(2, 1, true);
    cr_assert_eq(k23_table_desc_check(&t), K23_ERR_INVAL);
    t = funcref_table(1, 0, false);
    cr_assert_eq(k23_table_desc_check(&t), K23_OK);
    t.element_size = 0;
    cr_assert_eq(k23_table_desc_check(&t), K23_ERR_INVAL);

    k23_module_desc_t m = {.shape = {.size = 64, .align_log2 = 3}};
    cr_assert_eq(k23_module_desc_check(&m), K23_OK);
    m.num_memories = 1; /* count without array */
    cr_assert_eq(k23_module_desc_check(&m), K23_ERR_INVAL);
    m.num_memories = 0;
    m.shape.size = 0;
    cr_assert_eq(k23_module_desc_check(&m), K23_ERR_INVAL);
    m.shape.size = 8;
    m.shape.align_log2 = 13;
    cr_assert_eq(k23_module_desc_check(&m), K23_ERR_INVAL);
}

Test(instance, block_shape_holds_context_then_arrays)
{
    k23_memory_desc_t mems[2] = {wasm_mem(1, 1, true, 0),
                                 wasm_mem(0, 1, true, 0)};
    k23_table_desc_t tabs[3] = {funcref_table(1, 1, true),
                                funcref_table(1, 1, true),
                                funcref_table(1, 1, true)};
    k23_module_desc_t m = {.shape = {.size = 13, .align_log2 = 6},
                           .memories = mems, .tables = tabs,
                           .num_memories = 2, .num_tables = 3};
    k23_instance_shape_t s;
    cr_assert_eq(k23_instance_block_shape(&m, &s), K23_OK);
    cr_assert_eq(s.align_log2, 6);
    cr_assert_geq(s.size, 13 + 2 * sizeof(k23_memory_t) +
                              3 * sizeof(k23_table_t));
    cr_assert_eq(k23_instance_block_shape(&m, NULL), K23_ERR_INVAL);
    m.shape.size = SIZE_MAX - 4;
    cr_assert_eq(k23_instance_block_shape(&m, &s), K23_ERR_OVERFLOW);
}

/* ---- on-demand: memories ---- */

Test(instance, ondemand_memory_reserves_max_plus_guard_and_zeroes_min)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    size_t before = k23_port_vm_reserved_bytes();

    k23_memory_desc_t d = wasm_mem(2, 16, true, 3 * KIB + 1);
    k23_memory_t mem;
    cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem), K23_OK);
    cr_assert(mem.live);
    cr_assert_not_null(k23_memory_base(&mem));
    cr_assert_eq(k23_memory_size(&mem), 2 * WASM_PAGE);
    cr_assert_eq(mem.max_size, 16 * WASM_PAGE);
    cr_assert_eq(mem.capacity, 16 * WASM_PAGE);
    /* guard rounded up to host pages */
    cr_assert_eq(mem.guard_bytes % host_page(), 0);
    cr_assert_geq(mem.guard_bytes, 3 * KIB + 1);
    cr_assert_eq(k23_port_vm_reserved_bytes() - before,
                 mem.capacity + mem.guard_bytes);
    cr_assert(all_zero(mem.base, mem.size));
    memset(mem.base, 0xa5, mem.size); /* read-write */
    cr_assert_eq(k23_memory_check(&mem), K23_OK);

    k23_instance_deallocate_memory(&a, 0, &mem);
    cr_assert(!mem.live);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
}

Test(instance, ondemand_unbounded_memory_reserves_the_bound_2mib_aligned)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    k23_ondemand_config_t cfg = {.memory_bound = 8 * MIB};
    cr_assert_eq(k23_ondemand_init(&od, &cfg, &a), K23_OK);
    k23_memory_desc_t d = wasm_mem(1, 0, false, 64 * KIB);
    k23_memory_t mem;
    cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem), K23_OK);
    cr_assert_eq(mem.capacity, 8 * MIB);
    cr_assert_eq(mem.max_size, 8 * MIB);
    cr_assert_eq((uintptr_t)mem.base % (2 * MIB), 0,
                 "base %p not 2 MiB aligned", (void *)mem.base);
    uint64_t old;
    cr_assert_eq(k23_memory_grow(&mem, 127, &old), K23_OK);
    cr_assert_eq(old, 1);
    cr_assert_eq(mem.size, 8 * MIB);
    cr_assert(all_zero(mem.base, mem.size));
    mem.base[mem.size - 1] = 1;
    cr_assert_eq(k23_memory_grow(&mem, 1, &old), K23_ERR_GROW);
    cr_assert_eq(mem.size, 8 * MIB);
    k23_instance_deallocate_memory(&a, 0, &mem);

    /* minimum above the bound: a limit error, nothing reserved */
    size_t before = k23_port_vm_reserved_bytes();
    d = wasm_mem(129, 0, false, 0);
    cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem),
                 K23_ERR_LIMIT);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
}

Test(instance, grow_returns_old_size_and_stops_at_the_maximum)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    k23_memory_desc_t d = wasm_mem(0, 3, true, 0);
    k23_memory_t mem;
    cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem), K23_OK);
    uint64_t old = 77;
    cr_assert_eq(k23_memory_grow(&mem, 0, &old), K23_OK);
    cr_assert_eq(old, 0);
    cr_assert_eq(k23_memory_grow(&mem, 2, &old), K23_OK);
    cr_assert_eq(old, 0);
    memset(mem.base, 0x11, mem.size);
    old = 77;
    cr_assert_eq(k23_memory_grow(&mem, 2, &old), K23_ERR_GROW);
    cr_assert_eq(old, 77, "untouched on error");
    cr_assert_eq(k23_memory_grow(&mem, UINT64_MAX, &old), K23_ERR_GROW);
    cr_assert_eq(mem.size, 2 * WASM_PAGE);
    cr_assert_eq(k23_memory_grow(&mem, 1, &old), K23_OK);
    cr_assert_eq(old, 2);
    cr_assert(all_zero(mem.base + 2 * WASM_PAGE, WASM_PAGE));
    cr_assert_eq(mem.base[0], 0x11);
    cr_assert_eq(k23_memory_grow(&mem, 1, &old), K23_ERR_GROW);
    cr_assert_eq(k23_memory_grow(NULL, 1, &old), K23_ERR_INVAL);
    cr_assert_eq(k23_memory_grow(&mem, 1, NULL), K23_ERR_INVAL);
    k23_instance_deallocate_memory(&a, 0, &mem);
    cr_assert_eq(k23_memory_grow(&mem, 0, &old), K23_ERR_INVAL,
                 "dead memory");
}

Test(instance, one_byte_pages_grow_bytewise_and_new_bytes_are_zero)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    size_t page = host_page();
    k23_memory_desc_t d = {.min_bytes = 10, .max_bytes = 3 * page + 5,
                           .has_max = true, .page_size_log2 = 0};
    k23_memory_t mem;
    cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem), K23_OK);
    cr_assert_eq(mem.size, 10);
    cr_assert_eq(mem.committed, page);
    /* capacity is rounded up to host pages, the maximum is not */
    cr_assert_eq(mem.capacity, 4 * page);
    cr_assert_eq(mem.max_size, 3 * page + 5);
    /* Scribble past the end inside the committed page: the bytes the
     * next grow exposes must still read zero. */
    memset(mem.base, 0xff, page);
    uint64_t old;
    cr_assert_eq(k23_memory_grow(&mem, 7, &old), K23_OK);
    cr_assert_eq(old, 10);
    cr_assert(all_zero(mem.base + 10, 7));
    cr_assert_eq(k23_memory_grow(&mem, page, &old), K23_OK);
    cr_assert_eq(old, 17);
    cr_assert(all_zero(mem.base + 17, page));
    cr_assert_eq(mem.committed, 2 * page);
    cr_assert_eq(k23_memory_check(&mem), K23_OK);
    cr_assert_eq(k23_memory_grow(&mem, 3 * page + 5 - mem.size + 1, &old),
                 K23_ERR_GROW);
    cr_assert_eq(k23_memory_grow(&mem, 3 * page + 5 - mem.size, &old),
                 K23_OK);
    cr_assert_eq(mem.size, 3 * page + 5);
    mem.base[mem.size - 1] = 3;
    k23_instance_deallocate_memory(&a, 0, &mem);
}

Test(instance, empty_memory_without_guard_has_no_mapping)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    size_t before = k23_port_vm_reserved_bytes();
    k23_memory_desc_t d = wasm_mem(0, 0, true, 0);
    k23_memory_t mem;
    cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem), K23_OK);
    cr_assert_null(mem.base);
    cr_assert_eq(mem.size, 0);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
    uint64_t old;
    cr_assert_eq(k23_memory_grow(&mem, 1, &old), K23_ERR_GROW);
    cr_assert_eq(k23_memory_grow(&mem, 0, &old), K23_OK);
    k23_instance_deallocate_memory(&a, 0, &mem);
}

/* Model-based: random grows against a reference size, pattern writes, and
 * a zero check of every newly exposed byte. */
Test(instance, random_grows_match_a_reference_model)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    srand(1234);
    for (int round = 0; round < 20; round++) {
        unsigned lg = (unsigned)(rand() % 3) * 6; /* 0, 6, 12 */
        uint64_t pg = (uint64_t)1 << lg;
        uint64_t max_pages = 1 + (uint64_t)(rand() % (int)((256 * KIB) / pg));
        uint64_t min_pages = (uint64_t)rand() % (max_pages + 1);
        k23_memory_desc_t d = {.min_bytes = min_pages * pg,
                               .max_bytes = max_pages * pg, .has_max = true,
                               .page_size_log2 = (uint8_t)lg,
                               .offset_guard_bytes = (uint64_t)(rand() % 3) *
                                                     4096};
        k23_memory_t mem;
        cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem), K23_OK);
        uint64_t model = min_pages;
        cr_assert(all_zero(mem.base, mem.size));
        for (int step = 0; step < 30; step++) {
            uint64_t delta = (uint64_t)rand() % (max_pages / 4 + 2);
            uint64_t old;
            int rc = k23_memory_grow(&mem, delta, &old);
            if (model + delta > max_pages) {
                cr_assert_eq(rc, K23_ERR_GROW);
            } else {
                cr_assert_eq(rc, K23_OK);
                cr_assert_eq(old, model);
                cr_assert(all_zero(mem.base + model * pg, delta * pg));
                model += delta;
                /* dirty everything, including the committed tail */
                memset(mem.base, 0x5a, mem.committed);
            }
            cr_assert_eq(mem.size, model * pg);
            cr_assert_eq(k23_memory_check(&mem), K23_OK);
        }
        k23_instance_deallocate_memory(&a, 0, &mem);
    }
    k23_ondemand_stats_t st;
    k23_ondemand_stats(&od, &st);
    cr_assert_eq(st.memories, 0);
    cr_assert_eq(st.reserved_bytes, 0);
}

/* ---- on-demand: tables and instances ---- */

Test(instance, ondemand_table_starts_null_and_grows_to_its_maximum)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    size_t before = k23_port_vm_reserved_bytes();
    k23_table_desc_t d = funcref_table(3, 5000, true);
    k23_table_t t;
    cr_assert_eq(k23_instance_allocate_table(&a, &d, 0, &t), K23_OK);
    cr_assert_eq(t.size, 3);
    cr_assert_eq(t.max_size, 5000);
    cr_assert(all_zero(t.elements, 3 * sizeof(void *)));
    memset(t.elements, 0xee, t.committed);
    uint64_t old;
    cr_assert_eq(k23_table_grow(&t, 4997, &old), K23_OK);
    cr_assert_eq(old, 3);
    cr_assert(all_zero(t.elements + 3 * sizeof(void *),
                       4997 * sizeof(void *)));
    cr_assert_eq(k23_table_grow(&t, 1, &old), K23_ERR_GROW);
    cr_assert_eq(k23_table_check(&t), K23_OK);
    k23_instance_deallocate_table(&a, 0, &t);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);

    /* unbounded: reserves the configured bound */
    k23_ondemand_config_t cfg = {.table_bound = 100};
    cr_assert_eq(k23_ondemand_init(&od, &cfg, &a), K23_OK);
    d = funcref_table(1, 0, false);
    cr_assert_eq(k23_instance_allocate_table(&a, &d, 0, &t), K23_OK);
    cr_assert_eq(t.max_size, 100);
    cr_assert_eq(k23_table_grow(&t, 100, &old), K23_ERR_GROW);
    cr_assert_eq(k23_table_grow(&t, 99, &old), K23_OK);
    k23_instance_deallocate_table(&a, 0, &t);
    d = funcref_table(101, 0, false);
    cr_assert_eq(k23_instance_allocate_table(&a, &d, 0, &t), K23_ERR_LIMIT);
    /* max 0: nothing reserved */
    d = funcref_table(0, 0, true);
    cr_assert_eq(k23_instance_allocate_table(&a, &d, 0, &t), K23_OK);
    cr_assert_null(t.elements);
    k23_instance_deallocate_table(&a, 0, &t);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
}

Test(instance, ondemand_instance_block_is_zeroed_and_aligned)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    k23_instance_shape_t s = {.size = 5000, .align_log2 = 12};
    void *p = NULL;
    cr_assert_eq(k23_instance_allocate_instance(&a, &s, &p), K23_OK);
    cr_assert_eq((uintptr_t)p % 4096, 0);
    cr_assert(all_zero(p, 5000));
    memset(p, 1, 5000);
    k23_instance_deallocate_instance(&a, p, &s);
    s.size = 0;
    cr_assert_eq(k23_instance_allocate_instance(&a, &s, &p), K23_ERR_INVAL);
}

/* ---- modules ---- */

static k23_memory_desc_t g_mems[3];
static k23_table_desc_t g_tabs[2];

static k23_module_desc_t multi_module(void)
{
    g_mems[0] = wasm_mem(1, 4, true, 64 * KIB);
    g_mems[1] = wasm_mem(0, 0, false, 0); /* unbounded */
    g_mems[2] = (k23_memory_desc_t){.min_bytes = 100, .max_bytes = 1000,
                                     .has_max = true, .page_size_log2 = 0};
    g_tabs[0] = funcref_table(10, 20, true);
    g_tabs[1] = funcref_table(0, 0, false);
    k23_module_desc_t m = {.shape = {.size = 256, .align_log2 = 4},
                           .memories = g_mems, .tables = g_tabs,
                           .num_memories = 3, .num_tables = 2};
    return m;
}

Test(instance, allocate_module_gives_every_memory_and_table)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    k23_ondemand_config_t cfg = {.memory_bound = 4 * MIB};
    cr_assert_eq(k23_ondemand_init(&od, &cfg, &a), K23_OK);
    size_t before = k23_port_vm_reserved_bytes();
    k23_module_desc_t m = multi_module();
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_allocate_module(&a, &m, &h), K23_OK);
    cr_assert_eq(h.num_memories, 3);
    cr_assert_eq(h.num_tables, 2);
    cr_assert_eq((uintptr_t)h.context % 16, 0);
    cr_assert(all_zero(h.context, 256));
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(h.memories[i].live);
        cr_assert_eq(h.memories[i].size, g_mems[i].min_bytes);
        cr_assert_eq(k23_memory_check(&h.memories[i]), K23_OK);
    }
    cr_assert_eq(h.memories[1].max_size, 4 * MIB);
    cr_assert_eq(h.tables[0].size, 10);
    cr_assert_eq(h.tables[1].max_size, K23_ONDEMAND_TABLE_BOUND_DEFAULT);
    memset(h.context, 0x77, 256); /* does not clobber the arrays */
    cr_assert(h.memories[0].live && h.tables[1].live);
    k23_ondemand_stats_t st;
    k23_ondemand_stats(&od, &st);
    cr_assert_eq(st.instances, 1);
    cr_assert_eq(st.memories, 3);
    cr_assert_eq(st.tables, 2);
    cr_assert_eq(st.reserved_bytes, k23_port_vm_reserved_bytes() - before);
    k23_instance_deallocate_module(&a, &h);
    cr_assert_null(h.context);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
    k23_ondemand_stats(&od, &st);
    cr_assert_eq(st.instances + st.memories + st.tables, 0);
    cr_assert_eq(st.total_allocs, 6);
}

Test(instance, batch_helpers_allocate_and_free_arrays)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    size_t before = k23_port_vm_reserved_bytes();
    k23_module_desc_t m = multi_module();
    k23_memory_t mems[3];
    k23_table_t tabs[2];
    cr_assert_eq(k23_instance_allocate_memories(&a, &m, mems), K23_OK);
    cr_assert_eq(k23_instance_allocate_tables(&a, &m, tabs), K23_OK);
    k23_instance_deallocate_memories(&a, mems, 3);
    k23_instance_deallocate_tables(&a, tabs, 2);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
    cr_assert_eq(k23_instance_allocate_memories(&a, &m, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_instance_allocate_memories(NULL, &m, mems),
                 K23_ERR_INVAL);
    k23_instance_allocator_t broken = {.ops = a.ops, .ctx = a.ctx};
    k23_instance_allocator_ops_t ops = *a.ops;
    ops.deallocate_table = NULL;
    broken.ops = &ops;
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_allocate_module(&broken, &m, &h),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
}

#if K23_DEBUG >= 2
/* An allocator whose memories break their invariant: the on-demand
 * allocator's memory with one byte too many committed. */
static const k23_instance_allocator_t *g_inner;

static int allocate_bad_memory(void *ctx, const k23_memory_desc_t *d,
                               uint32_t index, k23_memory_t *out)
{
    (void)ctx;
    int rc = g_inner->ops->allocate_memory(g_inner->ctx, d, index, out);
    if (rc == K23_OK)
        out->committed += 1;
    return rc;
}

static void allocate_through_bad_allocator(void *arg)
{
    const k23_instance_allocator_t *a = arg;
    k23_memory_desc_t d = wasm_mem(1, 1, true, 0);
    k23_memory_t mem;
    (void)k23_instance_allocate_memory(a, &d, 0, &mem);
}
#endif

/* The check after the allocator's hook (K23_DEBUG >= 2) names the code the
 * memory checker returned, not only the failed condition. */
Test(instance, corrupt_memory_from_allocator_panics_naming_the_code)
{
#if K23_DEBUG < 2
    cr_skip("the check is compiled in from K23_DEBUG=2");
#else
    k23_ondemand_t od;
    k23_instance_allocator_t inner;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &inner), K23_OK);
    g_inner = &inner;
    k23_instance_allocator_ops_t ops = *inner.ops;
    ops.allocate_memory = allocate_bad_memory;
    k23_instance_allocator_t bad = {.ops = &ops, .ctx = NULL};
    char msg[512];
    cr_assert(panic_capture(allocate_through_bad_allocator, &bad, msg,
                            sizeof(msg)));
    cr_assert(strstr(msg, "instance: memory commit not size rounded") != NULL,
              "panic message: %s", msg);
    cr_assert(strstr(msg, "assertion failed: k23_memory_check(&mem) == "
                          "K23_OK; found k23_memory_check(&mem) = "
                          "0xfffffffffffffff9") != NULL,
              "panic message: %s", msg);
#endif
}

/* ---- fault injection ---- */

/* Instance block + 3 memories + 2 tables. */
#define MULTI_ALLOCS 6

static void check_every_failure_point(const k23_instance_allocator_t *inner,
                                      size_t (*reserved)(void), int error)
{
    k23_module_desc_t m = multi_module();
    size_t before = reserved();
    for (uint64_t k = 1; k <= MULTI_ALLOCS + 1; k++) {
        k23_instance_faulty_t f;
        k23_instance_allocator_t a;
        cr_assert_eq(k23_instance_faulty_init(&f, inner, k, error, &a),
                     K23_OK);
        k23_instance_handle_t h;
        memset(&h, 0xcd, sizeof h);
        k23_instance_handle_t copy = h;
        int rc = k23_instance_allocate_module(&a, &m, &h);
        if (k <= MULTI_ALLOCS) {
            cr_assert_eq(rc, error, "k=%llu: got %d", (unsigned long long)k,
                         rc);
            cr_assert_eq(f.count, k, "stops at the failure");
            cr_assert_eq(memcmp(&h, &copy, sizeof h), 0,
                         "handle untouched on error");
            cr_assert_eq(reserved(), before, "k=%llu leaked %zu bytes",
                         (unsigned long long)k, reserved() - before);
        } else {
            cr_assert_eq(rc, K23_OK);
            cr_assert_eq(f.count, MULTI_ALLOCS);
            cr_assert_gt(reserved(), before);
            k23_instance_deallocate_module(&a, &h);
            cr_assert_eq(reserved(), before);
        }
    }
}

Test(instance, ondemand_failure_at_every_allocation_leaks_nothing)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    k23_ondemand_config_t cfg = {.memory_bound = 4 * MIB};
    cr_assert_eq(k23_ondemand_init(&od, &cfg, &a), K23_OK);
    check_every_failure_point(&a, k23_port_vm_reserved_bytes,
                              K23_TEST_ERR_INJECTED);
    check_every_failure_point(&a, k23_port_vm_reserved_bytes, K23_ERR_NOMEM);
    check_every_failure_point(&a, k23_port_vm_reserved_bytes, -99);
    k23_ondemand_stats_t st;
    k23_ondemand_stats(&od, &st);
    cr_assert_eq(st.instances + st.memories + st.tables, 0);
    cr_assert_eq(st.reserved_bytes, 0);
}

Test(instance, real_failure_part_way_rolls_back)
{
    /* Not injected: the third memory's minimum exceeds the bound, so the
     * on-demand allocator itself fails after two memories succeeded. */
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    k23_ondemand_config_t cfg = {.memory_bound = 1 * MIB};
    cr_assert_eq(k23_ondemand_init(&od, &cfg, &a), K23_OK);
    size_t before = k23_port_vm_reserved_bytes();
    k23_memory_desc_t mems[3] = {wasm_mem(1, 0, false, 0),
                                 wasm_mem(1, 0, false, 0),
                                 wasm_mem(17, 0, false, 0)};
    k23_table_desc_t tab = funcref_table(1, 1, true);
    k23_module_desc_t m = {.shape = {.size = 8}, .memories = mems,
                           .tables = &tab, .num_memories = 3,
                           .num_tables = 1};
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_allocate_module(&a, &m, &h), K23_ERR_LIMIT);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
}

Test(instance, faulty_wrapper_rejects_bad_arguments)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a, w;
    k23_instance_faulty_t f;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    cr_assert_eq(k23_instance_faulty_init(&f, &a, 1, 0, &w), K23_ERR_INVAL);
    cr_assert_eq(k23_instance_faulty_init(&f, NULL, 1, -1, &w),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_instance_faulty_init(NULL, &a, 1, -1, &w),
                 K23_ERR_INVAL);
    /* fail_at 0: never fails */
    cr_assert_eq(k23_instance_faulty_init(&f, &a, 0, -1, &w), K23_OK);
    k23_module_desc_t m = multi_module();
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_allocate_module(&w, &m, &h), K23_OK);
    k23_instance_deallocate_module(&w, &h);
    cr_assert_eq(f.count, MULTI_ALLOCS);
}

/* ---- misuse ---- */

Test(instance, double_free_of_a_memory_panics, .signal = SIGABRT)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    k23_memory_desc_t d = wasm_mem(1, 1, true, 0);
    k23_memory_t mem;
    cr_assert_eq(k23_instance_allocate_memory(&a, &d, 0, &mem), K23_OK);
    k23_instance_deallocate_memory(&a, 0, &mem);
    k23_instance_deallocate_memory(&a, 0, &mem);
}

Test(instance, double_free_of_a_module_panics, .signal = SIGABRT)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    k23_module_desc_t m = multi_module();
    k23_instance_handle_t h;
    cr_assert_eq(k23_instance_allocate_module(&a, &m, &h), K23_OK);
    k23_instance_deallocate_module(&a, &h);
    k23_instance_deallocate_module(&a, &h);
}

/* Freeing an instance block with another shape than it was allocated
 * with: a larger one used to release the live neighbour's pages too, a
 * smaller one to leak pages. Both must panic naming the block and both
 * sizes. */
Test(instance, ondemand_free_with_the_wrong_shape_panics)
{
    k23_ondemand_t od;
    k23_instance_allocator_t a;
    cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    size_t page = host_page();
    k23_instance_shape_t s = {.size = page + 100, .align_log2 = 12};
    void *p, *q;
    cr_assert_eq(k23_instance_allocate_instance(&a, &s, &p), K23_OK);
    cr_assert_eq(k23_instance_allocate_instance(&a, &s, &q), K23_OK);
    memset(q, 0x5a, s.size);
    struct wrong_free w = {&a, p, {.size = 8 * page, .align_log2 = 12}};
    expect_shape_panic(&w, page + 100);
    w.shape.size = 1;
    expect_shape_panic(&w, page + 100);
    w.shape = (k23_instance_shape_t){.size = page + 100, .align_log2 = 4};
    expect_shape_panic(&w, page + 100);
    /* the right shape still frees both */
    k23_instance_deallocate_instance(&a, p, &s);
    cr_assert_eq(((unsigned char *)q)[s.size - 1], 0x5a);
    k23_instance_deallocate_instance(&a, q, &s);
    k23_ondemand_stats_t st;
    k23_ondemand_stats(&od, &st);
    cr_assert_eq(st.instances, 0);
    cr_assert_eq(st.reserved_bytes, 0);
}

Test(instance, instance_error_codes_have_messages)
{
    cr_assert_str_eq(k23_strerror_name(K23_ERR_GROW), "K23_ERR_GROW");
    /* the test wrapper's code is no library code (nor is the retired -30) */
    cr_assert_str_eq(k23_strerror_name(K23_TEST_ERR_INJECTED), "K23_ERR_UNKNOWN");
    cr_assert_str_eq(k23_strerror_name(-30), "K23_ERR_UNKNOWN");
}
