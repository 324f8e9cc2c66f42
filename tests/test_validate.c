/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Argument checks of every public function outside frames.h, table-driven
 * (README, "Invalid arguments"): a function that returns an error code
 * reports each bad argument as the documented code and leaves its
 * out-pointers untouched; one that cannot report panics through the port
 * with a message naming the function.
 *
 * The suite is built twice, against the library of this build and
 * against k23mem_debug0_static (K23_DEBUG=0, tests/CMakeLists.txt), so a
 * check that only a debug level keeps fails one of the two ctest entries.
 *
 * Error rows run in the test process. Panic rows each run in a forked
 * child whose stderr is captured: it must die of SIGABRT (the hosted
 * port's panic) and have printed "<function>: invalid argument".
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k23mem/k23mem.h"

#define SENTINEL 0xa5

/* ---- out-pointer bookkeeping ---- */

/* Set by an error row whose out-pointer was written. */
static bool g_touched;

/* Fill an out-variable with the sentinel before the call... */
#define OUT(type, var) \
    type var;          \
    memset(&var, SENTINEL, sizeof var)

/* ...and check it still holds it afterwards. */
static void note_untouched(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != SENTINEL)
            g_touched = true;
}

#define RETURN_UNTOUCHED(call, var)         \
    do {                                    \
        int rc_ = (call);                   \
        note_untouched(&var, sizeof var);   \
        return rc_;                         \
    } while (0)

/* ---- fixtures, made once per process ---- */

static k23_mempool_t *small_mempool(void)
{
    static k23_mempool_t *pool;
    if (pool == NULL) {
        k23_mempool_config_t cfg;
        k23_mempool_config_default(&cfg);
        cfg.limits.memory_reservation = 1 << 16;
        cfg.limits.max_memory_size = 1 << 16;
        cfg.limits.memory_guard_size = 0;
        cfg.limits.guard_before_linear_memory = false;
        cfg.limits.total_memories = 2;
        cr_assert_eq(k23_mempool_create(&cfg, &pool), K23_OK);
    }
    return pool;
}

static k23_instance_pool_config_t small_instance_pool_config(void)
{
    k23_instance_pool_config_t cfg;
    k23_instance_pool_config_default(&cfg);
    cfg.total_instances = 2;
    cfg.total_memories = 1;
    cfg.total_tables = 1;
    cfg.max_memory_size = 1 << 16;
    cfg.memory_reservation = 1 << 16;
    cfg.memory_guard_size = 0;
    cfg.table_elements = 16;
    cfg.max_instance_size = 4096;
    return cfg;
}

static k23_instance_pool_t *small_instance_pool(void)
{
    static k23_instance_pool_t *pool;
    static k23_instance_allocator_t a;
    if (pool == NULL) {
        k23_instance_pool_config_t cfg = small_instance_pool_config();
        cr_assert_eq(k23_instance_pool_create(&cfg, &pool, &a), K23_OK);
    }
    return pool;
}

static const k23_instance_allocator_t *ondemand(void)
{
    static k23_ondemand_t od;
    static k23_instance_allocator_t a;
    if (a.ops == NULL)
        cr_assert_eq(k23_ondemand_init(&od, NULL, &a), K23_OK);
    return &a;
}

/* An allocator with an operation missing. */
static const k23_instance_allocator_t *broken_allocator(void)
{
    static k23_instance_allocator_ops_t ops;
    static k23_instance_allocator_t a;
    ops = *ondemand()->ops;
    ops.deallocate_table = NULL;
    a.ops = &ops;
    a.ctx = ondemand()->ctx;
    return &a;
}

static const k23_module_desc_t *one_memory_module(void)
{
    static const k23_memory_desc_t mem = {.min_bytes = 1 << 16,
                                          .max_bytes = 1 << 16,
                                          .page_size_log2 = 16,
                                          .has_max = true};
    static const k23_module_desc_t m = {
        .shape = {.size = 64, .align_log2 = 3},
        .memories = &mem,
        .num_memories = 1,
    };
    return &m;
}

static const k23_module_desc_t *one_table_module(void)
{
    static const k23_table_desc_t tab = {.min_elements = 1,
                                         .element_size = 8};
    static const k23_module_desc_t m = {
        .shape = {.size = 64, .align_log2 = 3},
        .tables = &tab,
        .num_tables = 1,
    };
    return &m;
}

/* A grow-only memory that cannot grow: init needs one, nothing here
 * allocates. */
static int never_grow(void *ctx, size_t bytes, uintptr_t *old_end)
{
    (void)ctx, (void)bytes, (void)old_end;
    return K23_ERR_NOMEM;
}

static uintptr_t end_at_zero(void *ctx)
{
    (void)ctx;
    return 0;
}

#define MB_SHIFT 16u
#define MB_BASE ((uintptr_t)1 << 30)
#define MB_COUNT 64u

static const k23_mblock_source_t mb_source = {never_grow, end_at_zero, NULL};

static k23_mblock_t *small_mblock(void)
{
    static k23_mblock_t m;
    static unsigned char meta[K23_MBLOCK_META_BYTES(MB_COUNT)];
    if (m.nmblocks == 0)
        cr_assert_eq(k23_mblock_init(&m, MB_SHIFT, MB_BASE, MB_COUNT,
                                     &mb_source, meta, sizeof meta),
                     K23_OK);
    return &m;
}

static k23_slab_layout_t small_layout(void)
{
    k23_slab_limits_t lim = {.memory_reservation = 1 << 16,
                             .max_memory_size = 1 << 16,
                             .total_memories = 4};
    k23_slab_target_t t = {.page_size = 4096, .width = 64};
    k23_slab_layout_t l;
    cr_assert_eq(k23_slab_plan(&lim, &t, &l), K23_OK);
    return l;
}

static const k23_range_t bad_range = {UINT64_MAX, 2}; /* passes 2^64 */
static const k23_range_t good_range = {0x1000, 0x1000};

/* ==== rows that must return an error ==== */

struct err_row {
    const char *what;
    int (*call)(void);
    int want;
};

/* ---- error.h: no invalid argument; nothing to check ---- */

/* ---- range.h ---- */

static int e_align_up_not_pow2(void)
{
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_align_up(5, 3, &o), o);
}
static int e_align_up_zero_align(void)
{
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_align_up(5, 0, &o), o);
}
static int e_align_up_null(void) { return k23_align_up(5, 8, NULL); }
static int e_align_up_overflow(void)
{
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_align_up(UINT64_MAX, 8, &o), o);
}
static int e_align_down_not_pow2(void)
{
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_align_down(5, 6, &o), o);
}
static int e_align_down_null(void) { return k23_align_down(5, 8, NULL); }
static int e_from_bounds_reversed(void)
{
    OUT(k23_range_t, o);
    RETURN_UNTOUCHED(k23_range_from_bounds(5, 4, &o), o);
}
static int e_from_bounds_null(void) { return k23_range_from_bounds(4, 5, NULL); }
static int e_range_end_invalid(void)
{
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_range_end(bad_range, &o), o);
}
static int e_range_end_null(void) { return k23_range_end(good_range, NULL); }
static int e_range_end_top(void)
{
    OUT(uint64_t, o);
    k23_range_t top = {UINT64_MAX, 1};
    RETURN_UNTOUCHED(k23_range_end(top, &o), o);
}
static int e_align_inward_invalid(void)
{
    OUT(k23_range_t, o);
    RETURN_UNTOUCHED(k23_range_align_inward(bad_range, 8, &o), o);
}
static int e_align_inward_not_pow2(void)
{
    OUT(k23_range_t, o);
    RETURN_UNTOUCHED(k23_range_align_inward(good_range, 12, &o), o);
}
static int e_align_inward_null(void)
{
    return k23_range_align_inward(good_range, 8, NULL);
}
static int e_sort_null(void) { return k23_ranges_sort(NULL, 1); }
static int e_sort_invalid(void)
{
    k23_range_t v[2] = {good_range, bad_range};
    return k23_ranges_sort(v, 2);
}
static int e_merge_null_count(void)
{
    k23_range_t v[1] = {good_range};
    return k23_ranges_merge(v, NULL);
}
static int e_merge_null_array(void)
{
    size_t n = 1;
    int rc = k23_ranges_merge(NULL, &n);
    if (n != 1)
        g_touched = true;
    return rc;
}
static int e_merge_invalid(void)
{
    k23_range_t v[2] = {good_range, bad_range};
    size_t n = 2;
    int rc = k23_ranges_merge(v, &n);
    if (n != 2)
        g_touched = true;
    return rc;
}
static int e_check_sorted_null(void) { return k23_ranges_check_sorted(NULL, 1); }
static int e_check_sorted_empty(void)
{
    k23_range_t v[1] = {{5, 0}};
    return k23_ranges_check_sorted(v, 1);
}
static int e_check_sorted_unsorted(void)
{
    k23_range_t v[2] = {{0x2000, 1}, {0x1000, 1}};
    return k23_ranges_check_sorted(v, 2);
}
static int e_check_sorted_invalid(void)
{
    return k23_ranges_check_sorted(&bad_range, 1);
}

typedef k23_range_t range4_t[4];
typedef char permbuf_t[K23_PERM_STR_MAX];

static k23_range_t sub_regions[2] = {{0x1000, 0x1000}, {0x4000, 0x1000}};
static k23_range_t sub_holes[1] = {{0x1800, 0x100}};

static int e_subtract_null_count(void)
{
    OUT(range4_t, out);
    RETURN_UNTOUCHED(k23_ranges_subtract(sub_regions, 2, sub_holes, 1, out,
                                         4, NULL),
                     out);
}
static int e_subtract_null_holes(void)
{
    OUT(range4_t, out);
    OUT(size_t, n);
    int rc = k23_ranges_subtract(sub_regions, 2, NULL, 1, out, 4, &n);
    note_untouched(&out, sizeof out);
    RETURN_UNTOUCHED(rc, n);
}
static int e_subtract_null_out(void)
{
    OUT(size_t, n);
    RETURN_UNTOUCHED(k23_ranges_subtract(sub_regions, 2, sub_holes, 1, NULL,
                                         4, &n),
                     n);
}
static int e_subtract_null_regions(void)
{
    OUT(range4_t, out);
    OUT(size_t, n);
    int rc = k23_ranges_subtract(NULL, 2, sub_holes, 1, out, 4, &n);
    note_untouched(&out, sizeof out);
    RETURN_UNTOUCHED(rc, n);
}
static int e_subtract_invalid_hole(void)
{
    OUT(range4_t, out);
    OUT(size_t, n);
    int rc = k23_ranges_subtract(sub_regions, 2, &bad_range, 1, out, 4, &n);
    note_untouched(&out, sizeof out);
    RETURN_UNTOUCHED(rc, n);
}
/* The output array may not share an element with an input. */
static int e_subtract_out_aliases_regions(void)
{
    k23_range_t buf[4] = {{0x1000, 0x1000}, {0x4000, 0x1000}};
    k23_range_t keep[4];
    memcpy(keep, buf, sizeof buf);
    OUT(size_t, n);
    int rc = k23_ranges_subtract(buf, 2, sub_holes, 1, buf + 1, 3, &n);
    if (memcmp(keep, buf, sizeof buf) != 0)
        g_touched = true;
    RETURN_UNTOUCHED(rc, n);
}
static int e_subtract_out_aliases_holes(void)
{
    k23_range_t buf[4] = {{0x1800, 0x100}};
    k23_range_t keep[4];
    memcpy(keep, buf, sizeof buf);
    OUT(size_t, n);
    int rc = k23_ranges_subtract(sub_regions, 2, buf, 1, buf, 4, &n);
    if (memcmp(keep, buf, sizeof buf) != 0)
        g_touched = true;
    RETURN_UNTOUCHED(rc, n);
}

/* ---- bitmap.h ---- */

static unsigned char bits[16]; /* 128 bits, all clear */

#define FIND_ROW(id, fn, bs, nbits, start, len, al)                  \
    static int id(void)                                              \
    {                                                                \
        OUT(size_t, o);                                              \
        RETURN_UNTOUCHED(fn(bs, nbits, start, len, al, 0, &o), o);   \
    }
FIND_ROW(e_find_clear_null, k23_bitmap_find_clear, NULL, 128, 0, 1, 0)
FIND_ROW(e_find_clear_len0, k23_bitmap_find_clear, bits, 128, 0, 0, 0)
FIND_ROW(e_find_clear_len_big, k23_bitmap_find_clear, bits, 128, 0, 129, 0)
FIND_ROW(e_find_clear_start, k23_bitmap_find_clear, bits, 128, 128, 1, 0)
FIND_ROW(e_find_clear_align, k23_bitmap_find_clear, bits, 128, 0, 1,
         sizeof(size_t) * 8)
FIND_ROW(e_find_clear_nbits0, k23_bitmap_find_clear, bits, 0, 0, 1, 0)
FIND_ROW(e_find_set_null, k23_bitmap_find_set, NULL, 128, 0, 1, 0)
FIND_ROW(e_find_set_len0, k23_bitmap_find_set, bits, 128, 0, 0, 0)
FIND_ROW(e_find_set_start, k23_bitmap_find_set, bits, 128, 200, 1, 0)
FIND_ROW(e_find_set_align, k23_bitmap_find_set, bits, 128, 0, 1, 200)
static int e_find_clear_null_out(void)
{
    return k23_bitmap_find_clear(bits, 128, 0, 1, 0, 0, NULL);
}
static int e_find_set_null_out(void)
{
    return k23_bitmap_find_set(bits, 128, 0, 1, 0, 0, NULL);
}

#define NEXT_ROW(id, fn, bs, nbits, start, len, al)       \
    static int id(void)                                   \
    {                                                     \
        return fn(bs, nbits, start, len, al, 0).rc;       \
    }
NEXT_ROW(e_next_clear_null, k23_bitmap_next_clear, NULL, 128, 0, 1, 0)
NEXT_ROW(e_next_clear_len0, k23_bitmap_next_clear, bits, 128, 0, 0, 0)
NEXT_ROW(e_next_clear_start, k23_bitmap_next_clear, bits, 128, 128, 1, 0)
NEXT_ROW(e_next_clear_align, k23_bitmap_next_clear, bits, 128, 0, 1, 64)
NEXT_ROW(e_next_set_null, k23_bitmap_next_set, NULL, 128, 0, 1, 0)
NEXT_ROW(e_next_set_len_big, k23_bitmap_next_set, bits, 128, 0, 129, 0)
NEXT_ROW(e_next_set_start, k23_bitmap_next_set, bits, 128, 128, 1, 0)

static int e_set_range_null(void) { return k23_bitmap_set_range(NULL, 128, 0, 1); }
static int e_set_range_past(void)
{
    unsigned char b[16] = {0};
    int rc = k23_bitmap_set_range(b, 128, 120, 9);
    static const unsigned char zero[16];
    if (memcmp(b, zero, sizeof b) != 0)
        g_touched = true;
    return rc;
}
static int e_set_range_wrap(void)
{
    unsigned char b[16] = {0};
    return k23_bitmap_set_range(b, 128, SIZE_MAX, 2);
}
static int e_clear_range_null(void) { return k23_bitmap_clear_range(NULL, 128, 0, 1); }
static int e_clear_range_past(void)
{
    unsigned char b[16];
    memset(b, 0xff, sizeof b);
    int rc = k23_bitmap_clear_range(b, 128, 128, 1);
    for (size_t i = 0; i < sizeof b; i++)
        if (b[i] != 0xff)
            g_touched = true;
    return rc;
}
static int e_clear_range_wrap(void)
{
    unsigned char b[16];
    return k23_bitmap_clear_range(b, 128, 1, SIZE_MAX);
}

/* ---- perm.h ---- */

static int e_perm_check_bits(void) { return k23_perm_check(0x10); }
static int e_perm_check_wx(void)
{
    return k23_perm_check(K23_PERM_WRITE | K23_PERM_EXECUTE);
}
static int e_fault_load_store(void)
{
    OUT(k23_perm_t, o);
    RETURN_UNTOUCHED(k23_fault_to_perm(K23_FAULT_LOAD | K23_FAULT_STORE, &o),
                     o);
}
static int e_fault_bits(void)
{
    OUT(k23_perm_t, o);
    RETURN_UNTOUCHED(k23_fault_to_perm(1u << 2, &o), o);
}
static int e_fault_null(void) { return k23_fault_to_perm(K23_FAULT_LOAD, NULL); }
static int e_elf_null(void) { return k23_perm_from_elf(K23_ELF_PF_R, NULL); }
static int e_elf_wx(void)
{
    OUT(k23_perm_t, o);
    RETURN_UNTOUCHED(k23_perm_from_elf(K23_ELF_PF_W | K23_ELF_PF_X, &o), o);
}
static int e_format_bits(void)
{
    OUT(permbuf_t, buf);
    RETURN_UNTOUCHED(k23_perm_format(0x10, buf, sizeof buf), buf);
}
static int e_format_null(void)
{
    return k23_perm_format(K23_PERM_READ, NULL, K23_PERM_STR_MAX);
}
static int e_parse_null_text(void)
{
    OUT(k23_perm_t, o);
    RETURN_UNTOUCHED(k23_perm_parse(NULL, &o), o);
}
static int e_parse_null_out(void) { return k23_perm_parse("READ", NULL); }

/* ---- fdt_memmap.h ---- */

static uint64_t fdt_dummy[8]; /* never read: the arguments fail first */

/* k23_fdt_memmap() with one thing broken by `breakit`; the counts and
 * the diagnostics must stay untouched. */
static int fdt_row(void (*breakit)(k23_fdt_memmap_config_t *,
                                   k23_fdt_memmap_t *, const void **))
{
    k23_fdt_region_t ram[2], taken[2], dyn[2];
    k23_range_t free_[2];
    k23_fdt_memmap_config_t cfg = {.page_log2 = 12};
    k23_fdt_memmap_t map;
    memset(&map, SENTINEL, sizeof map);
    map.ram = ram, map.ram_cap = 2, map.taken = taken, map.taken_cap = 2;
    map.dynamic = dyn, map.dynamic_cap = 2, map.free = free_,
    map.free_cap = 2;
    const void *fdt = fdt_dummy;
    breakit(&cfg, &map, &fdt);
    OUT(k23_fdt_memmap_diag_t, diag);
    int rc = k23_fdt_memmap(fdt, sizeof fdt_dummy, &cfg, &map, &diag);
    note_untouched(&map.ram_count, sizeof map.ram_count);
    note_untouched(&map.taken_count, sizeof map.taken_count);
    note_untouched(&map.dynamic_count, sizeof map.dynamic_count);
    note_untouched(&map.free_count, sizeof map.free_count);
    note_untouched(&diag, sizeof diag);
    return rc;
}
static void fdt_null_blob(k23_fdt_memmap_config_t *c, k23_fdt_memmap_t *m,
                          const void **f)
{
    (void)c, (void)m;
    *f = NULL;
}
static void fdt_page_log2(k23_fdt_memmap_config_t *c, k23_fdt_memmap_t *m,
                          const void **f)
{
    (void)m, (void)f;
    c->page_log2 = K23_FDT_PAGE_LOG2_MAX + 1;
}
static void fdt_exclude_null(k23_fdt_memmap_config_t *c, k23_fdt_memmap_t *m,
                             const void **f)
{
    (void)m, (void)f;
    c->nexclude = 1;
}
static void fdt_exclude_invalid(k23_fdt_memmap_config_t *c,
                                k23_fdt_memmap_t *m, const void **f)
{
    (void)m, (void)f;
    c->exclude = &bad_range;
    c->nexclude = 1;
}
static void fdt_ram_null(k23_fdt_memmap_config_t *c, k23_fdt_memmap_t *m,
                         const void **f)
{
    (void)c, (void)f;
    m->ram = NULL;
}
static void fdt_taken_null(k23_fdt_memmap_config_t *c, k23_fdt_memmap_t *m,
                           const void **f)
{
    (void)c, (void)f;
    m->taken = NULL;
}
static void fdt_dynamic_null(k23_fdt_memmap_config_t *c, k23_fdt_memmap_t *m,
                             const void **f)
{
    (void)c, (void)f;
    m->dynamic = NULL;
}
static void fdt_free_null(k23_fdt_memmap_config_t *c, k23_fdt_memmap_t *m,
                          const void **f)
{
    (void)c, (void)f;
    m->free = NULL;
}
static int e_fdt_null_blob(void) { return fdt_row(fdt_null_blob); }
static int e_fdt_page_log2(void) { return fdt_row(fdt_page_log2); }
static int e_fdt_exclude_null(void) { return fdt_row(fdt_exclude_null); }
static int e_fdt_exclude_invalid(void) { return fdt_row(fdt_exclude_invalid); }
static int e_fdt_ram_null(void) { return fdt_row(fdt_ram_null); }
static int e_fdt_taken_null(void) { return fdt_row(fdt_taken_null); }
static int e_fdt_dynamic_null(void) { return fdt_row(fdt_dynamic_null); }
static int e_fdt_free_null(void) { return fdt_row(fdt_free_null); }
static int e_fdt_null_cfg(void)
{
    k23_fdt_memmap_t map = {0};
    return k23_fdt_memmap(fdt_dummy, sizeof fdt_dummy, NULL, &map, NULL);
}
static int e_fdt_null_map(void)
{
    k23_fdt_memmap_config_t cfg = {.page_log2 = 12};
    return k23_fdt_memmap(fdt_dummy, sizeof fdt_dummy, &cfg, NULL, NULL);
}

/* ---- slab_layout.h ---- */

static const k23_slab_limits_t lim_ok = {.memory_reservation = 1 << 16,
                                         .max_memory_size = 1 << 16,
                                         .total_memories = 4};

static int e_target_host_null(void) { return k23_slab_target_host(NULL); }

#define CONSTRAINTS_ROW(id, pg, w)                                         \
    static int id(void)                                                    \
    {                                                                      \
        k23_slab_target_t t = {.page_size = (pg), .width = (w)};           \
        OUT(k23_slab_constraints_t, o);                                    \
        RETURN_UNTOUCHED(k23_slab_constraints_new(&lim_ok, &t, &o), o);    \
    }
CONSTRAINTS_ROW(e_constraints_width_small, 4096, K23_SLAB_WIDTH_MIN - 1)
CONSTRAINTS_ROW(e_constraints_width_big, 4096, K23_SLAB_WIDTH_MAX + 1)
CONSTRAINTS_ROW(e_constraints_page_not_pow2, 3000, 64)
CONSTRAINTS_ROW(e_constraints_page_zero, 0, 64)
CONSTRAINTS_ROW(e_constraints_page_over_width, 1u << 17, 16)
static int e_constraints_null_limits(void)
{
    k23_slab_target_t t = {.page_size = 4096, .width = 64};
    OUT(k23_slab_constraints_t, o);
    RETURN_UNTOUCHED(k23_slab_constraints_new(NULL, &t, &o), o);
}
static int e_constraints_null_target(void)
{
    OUT(k23_slab_constraints_t, o);
    RETURN_UNTOUCHED(k23_slab_constraints_new(&lim_ok, NULL, &o), o);
}
static int e_constraints_null_out(void)
{
    k23_slab_target_t t = {.page_size = 4096, .width = 64};
    return k23_slab_constraints_new(&lim_ok, &t, NULL);
}

static k23_slab_constraints_t constraints_ok(void)
{
    k23_slab_target_t t = {.page_size = 4096, .width = 64};
    k23_slab_constraints_t c;
    cr_assert_eq(k23_slab_constraints_new(&lim_ok, &t, &c), K23_OK);
    return c;
}
static int calculate_with(k23_slab_constraints_t c)
{
    OUT(k23_slab_layout_t, o);
    RETURN_UNTOUCHED(k23_slab_calculate(&c, &o), o);
}
static int e_calculate_null(void)
{
    OUT(k23_slab_layout_t, o);
    RETURN_UNTOUCHED(k23_slab_calculate(NULL, &o), o);
}
static int e_calculate_null_out(void)
{
    k23_slab_constraints_t c = constraints_ok();
    return k23_slab_calculate(&c, NULL);
}
static int e_calculate_width(void)
{
    k23_slab_constraints_t c = constraints_ok();
    c.width = 0;
    return calculate_with(c);
}
static int e_calculate_unaligned(void)
{
    k23_slab_constraints_t c = constraints_ok();
    c.guard_bytes = 100;
    return calculate_with(c);
}
static int e_calculate_above_width(void)
{
    k23_slab_constraints_t c = constraints_ok();
    c.width = 16;
    return calculate_with(c); /* 64 KiB does not fit a 16-bit size_t */
}
static int e_plan_null(void)
{
    OUT(k23_slab_layout_t, o);
    RETURN_UNTOUCHED(k23_slab_plan(NULL, NULL, &o), o);
}
static int e_total_null(void)
{
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_slab_layout_total_bytes(NULL, &o), o);
}
static int e_total_null_out(void)
{
    k23_slab_layout_t l = small_layout();
    return k23_slab_layout_total_bytes(&l, NULL);
}
static int e_total_width(void)
{
    k23_slab_layout_t l = small_layout();
    l.width = 99;
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_slab_layout_total_bytes(&l, &o), o);
}
static int e_slot_offset_null(void)
{
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_slab_layout_slot_offset(NULL, 0, &o), o);
}
static int e_slot_offset_null_out(void)
{
    k23_slab_layout_t l = small_layout();
    return k23_slab_layout_slot_offset(&l, 0, NULL);
}
static int e_slot_offset_index(void)
{
    k23_slab_layout_t l = small_layout();
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_slab_layout_slot_offset(&l, l.num_slots, &o), o);
}
static int e_slot_offset_width(void)
{
    k23_slab_layout_t l = small_layout();
    l.width = 0;
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_slab_layout_slot_offset(&l, 1, &o), o);
}
/* An offset past the layout's own width's SIZE_MAX is not an offset. */
static int e_slot_offset_past_width(void)
{
    k23_slab_layout_t l = small_layout();
    l.width = 16;
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_slab_layout_slot_offset(&l, 1, &o), o);
}
static int e_slot_offset_overflow(void)
{
    k23_slab_layout_t l = small_layout();
    l.slot_bytes = UINT64_MAX / 2;
    OUT(uint64_t, o);
    RETURN_UNTOUCHED(k23_slab_layout_slot_offset(&l, 3, &o), o);
}
static int e_layout_check_null_c(void)
{
    k23_slab_layout_t l = small_layout();
    return k23_slab_layout_check(NULL, &l);
}
static int e_layout_check_null_l(void)
{
    k23_slab_constraints_t c = constraints_ok();
    return k23_slab_layout_check(&c, NULL);
}
static int e_error_message_null(void)
{
    return k23_slab_error_message(K23_ERR_SLAB_SLOT_SIZE, NULL, NULL, NULL, 8);
}
static int e_error_message_len0(void)
{
    char buf[1] = {(char)SENTINEL};
    RETURN_UNTOUCHED(k23_slab_error_message(K23_ERR_SLAB_SLOT_SIZE, NULL,
                                            NULL, buf, 0),
                     buf);
}

/* ---- mempool.h ---- */

static int mempool_create_with(k23_mempool_config_t cfg)
{
    OUT(k23_mempool_t *, p);
    RETURN_UNTOUCHED(k23_mempool_create(&cfg, &p), p);
}
static k23_mempool_config_t mempool_cfg(void)
{
    k23_mempool_config_t cfg;
    k23_mempool_config_default(&cfg);
    cfg.limits.memory_reservation = 1 << 16;
    cfg.limits.max_memory_size = 1 << 16;
    cfg.limits.memory_guard_size = 0;
    cfg.limits.total_memories = 1;
    return cfg;
}
static int e_mp_create_null_cfg(void)
{
    OUT(k23_mempool_t *, p);
    RETURN_UNTOUCHED(k23_mempool_create(NULL, &p), p);
}
static int e_mp_create_null_out(void)
{
    k23_mempool_config_t cfg = mempool_cfg();
    return k23_mempool_create(&cfg, NULL);
}
static int e_mp_create_mpk(void)
{
    k23_mempool_config_t cfg = mempool_cfg();
    cfg.mpk = 7;
    return mempool_create_with(cfg);
}
static int e_mp_create_null_op(void)
{
    static const k23_mempool_pkey_ops_t ops = {0};
    k23_mempool_config_t cfg = mempool_cfg();
    cfg.pkey_ops = &ops;
    return mempool_create_with(cfg);
}
static int e_mp_stripe_pkey_null(void)
{
    OUT(unsigned, k);
    RETURN_UNTOUCHED(k23_mempool_stripe_pkey(NULL, 0, &k), k);
}
static int e_mp_stripe_pkey_null_key(void)
{
    return k23_mempool_stripe_pkey(small_mempool(), 0, NULL);
}
static int e_mp_stripe_pkey_range(void)
{
    OUT(unsigned, k);
    k23_mempool_t *p = small_mempool();
    RETURN_UNTOUCHED(k23_mempool_stripe_pkey(p, k23_mempool_num_stripes(p),
                                             &k),
                     k);
}
static int e_mp_validate_null(void)
{
    k23_mempool_memory_desc_t d = {0};
    return k23_mempool_validate_memory(NULL, &d);
}
static int e_mp_validate_null_desc(void)
{
    return k23_mempool_validate_memory(small_mempool(), NULL);
}
static int e_mp_validate_all_null(void)
{
    OUT(size_t, bad);
    RETURN_UNTOUCHED(k23_mempool_validate_memories(NULL, NULL, 0, &bad), bad);
}
static int e_mp_validate_all_null_array(void)
{
    OUT(size_t, bad);
    RETURN_UNTOUCHED(k23_mempool_validate_memories(small_mempool(), NULL, 1,
                                                   &bad),
                     bad);
}
static int e_mp_allocate_null(void)
{
    k23_mempool_request_t req = {0};
    OUT(k23_mempool_memory_t, m);
    RETURN_UNTOUCHED(k23_mempool_allocate(NULL, &req, &m), m);
}
static int e_mp_allocate_null_req(void)
{
    OUT(k23_mempool_memory_t, m);
    RETURN_UNTOUCHED(k23_mempool_allocate(small_mempool(), NULL, &m), m);
}
static int e_mp_allocate_null_out(void)
{
    k23_mempool_request_t req = {0};
    return k23_mempool_allocate(small_mempool(), &req, NULL);
}
static int e_mp_allocate_stripe(void)
{
    k23_mempool_t *p = small_mempool();
    k23_mempool_request_t req = {.stripe = k23_mempool_num_stripes(p)};
    OUT(k23_mempool_memory_t, m);
    RETURN_UNTOUCHED(k23_mempool_allocate(p, &req, &m), m);
}
static int e_mp_grow_null(void)
{
    k23_mempool_memory_t m = {0};
    return k23_mempool_grow(NULL, &m, 0);
}
static int e_mp_grow_null_mem(void)
{
    return k23_mempool_grow(small_mempool(), NULL, 0);
}
/* A grow through a handle after its memory was freed (deallocate clears
 * base): a bad argument, reported, nothing committed. */
static int e_mp_grow_freed(void)
{
    k23_mempool_t *p = small_mempool();
    k23_mempool_request_t req = {.initial_bytes = 4096};
    k23_mempool_memory_t m;
    cr_assert_eq(k23_mempool_allocate(p, &req, &m), K23_OK);
    k23_mempool_deallocate(p, &m);
    k23_mempool_memory_t before = m;
    int rc = k23_mempool_grow(p, &m, 8192);
    if (memcmp(&before, &m, sizeof m) != 0)
        g_touched = true;
    return rc;
}
static int e_mp_grow_index(void)
{
    k23_mempool_t *p = small_mempool();
    k23_mempool_memory_t m = {.base = k23_mempool_slab_base(p),
                              .index = 1000,
                              .capacity = 1 << 16};
    return k23_mempool_grow(p, &m, 4096);
}
static int e_mp_grow_shrink(void)
{
    k23_mempool_t *p = small_mempool();
    k23_mempool_request_t req = {.initial_bytes = 8192};
    k23_mempool_memory_t m;
    cr_assert_eq(k23_mempool_allocate(p, &req, &m), K23_OK);
    k23_mempool_memory_t before = m;
    int rc = k23_mempool_grow(p, &m, 4096);
    if (memcmp(&before, &m, sizeof m) != 0)
        g_touched = true;
    k23_mempool_deallocate(p, &m);
    return rc;
}
static int e_mp_check_null(void) { return k23_mempool_check(NULL); }

/* ---- instance.h ---- */

static int e_od_init_null(void)
{
    OUT(k23_instance_allocator_t, a);
    RETURN_UNTOUCHED(k23_ondemand_init(NULL, NULL, &a), a);
}
static int e_od_init_null_out(void)
{
    k23_ondemand_t od;
    return k23_ondemand_init(&od, NULL, NULL);
}
static int mem_desc(k23_memory_desc_t d) { return k23_memory_desc_check(&d); }
static int e_mdesc_null(void) { return k23_memory_desc_check(NULL); }
static int e_mdesc_page(void)
{
    return mem_desc((k23_memory_desc_t){.page_size_log2 = 31});
}
static int e_mdesc_min(void)
{
    return mem_desc((k23_memory_desc_t){.min_bytes = 100,
                                        .page_size_log2 = 16});
}
static int e_mdesc_max(void)
{
    return mem_desc((k23_memory_desc_t){.min_bytes = 2 << 16,
                                        .max_bytes = 1 << 16,
                                        .page_size_log2 = 16,
                                        .has_max = true});
}
static int e_mdesc_shared(void)
{
    return mem_desc((k23_memory_desc_t){.page_size_log2 = 16,
                                        .shared = true});
}
static int e_tdesc_null(void) { return k23_table_desc_check(NULL); }
static int e_tdesc_elem(void)
{
    k23_table_desc_t d = {.min_elements = 1};
    return k23_table_desc_check(&d);
}
static int e_tdesc_max(void)
{
    k23_table_desc_t d = {.min_elements = 2, .max_elements = 1,
                          .element_size = 8, .has_max = true};
    return k23_table_desc_check(&d);
}
static int module_desc(k23_module_desc_t m)
{
    OUT(k23_instance_shape_t, s);
    int rc = k23_instance_block_shape(&m, &s);
    note_untouched(&s, sizeof s);
    if (k23_module_desc_check(&m) != rc)
        g_touched = true; /* both must agree on what is invalid */
    return rc;
}
static int e_module_null(void) { return k23_module_desc_check(NULL); }
static int e_module_size0(void)
{
    return module_desc((k23_module_desc_t){.shape = {0, 3}});
}
static int e_module_align(void)
{
    return module_desc((k23_module_desc_t){.shape = {64, 13}});
}
static int e_module_memories_null(void)
{
    return module_desc((k23_module_desc_t){.shape = {64, 3},
                                           .num_memories = 1});
}
static int e_module_tables_null(void)
{
    return module_desc((k23_module_desc_t){.shape = {64, 3},
                                           .num_tables = 1});
}
static int e_module_bad_memory(void)
{
    static const k23_memory_desc_t bad = {.page_size_log2 = 40};
    return module_desc((k23_module_desc_t){.shape = {64, 3},
                                           .memories = &bad,
                                           .num_memories = 1});
}
static int e_block_shape_null(void)
{
    OUT(k23_instance_shape_t, s);
    RETURN_UNTOUCHED(k23_instance_block_shape(NULL, &s), s);
}
static int e_block_shape_null_out(void)
{
    return k23_instance_block_shape(one_memory_module(), NULL);
}

static const k23_instance_shape_t shape_ok = {64, 3};

static int alloc_instance(const k23_instance_allocator_t *a,
                          const k23_instance_shape_t *s)
{
    OUT(void *, p);
    RETURN_UNTOUCHED(k23_instance_allocate_instance(a, s, &p), p);
}
static int e_ai_null(void) { return alloc_instance(NULL, &shape_ok); }
static int e_ai_no_ops(void)
{
    k23_instance_allocator_t a = {NULL, NULL};
    return alloc_instance(&a, &shape_ok);
}
static int e_ai_broken(void) { return alloc_instance(broken_allocator(), &shape_ok); }
static int e_ai_null_shape(void) { return alloc_instance(ondemand(), NULL); }
static int e_ai_size0(void)
{
    k23_instance_shape_t s = {0, 3};
    return alloc_instance(ondemand(), &s);
}
static int e_ai_align(void)
{
    k23_instance_shape_t s = {64, 13};
    return alloc_instance(ondemand(), &s);
}
static int e_ai_null_out(void)
{
    return k23_instance_allocate_instance(ondemand(), &shape_ok, NULL);
}

static int alloc_memory(const k23_instance_allocator_t *a,
                        const k23_memory_desc_t *d)
{
    OUT(k23_memory_t, m);
    RETURN_UNTOUCHED(k23_instance_allocate_memory(a, d, 0, &m), m);
}
static int e_am_null(void) { return alloc_memory(NULL, one_memory_module()->memories); }
static int e_am_broken(void)
{
    return alloc_memory(broken_allocator(), one_memory_module()->memories);
}
static int e_am_null_desc(void) { return alloc_memory(ondemand(), NULL); }
static int e_am_bad_desc(void)
{
    k23_memory_desc_t d = {.page_size_log2 = 16, .shared = true};
    return alloc_memory(ondemand(), &d);
}
static int e_am_null_out(void)
{
    return k23_instance_allocate_memory(ondemand(),
                                        one_memory_module()->memories, 0,
                                        NULL);
}
static int alloc_table(const k23_instance_allocator_t *a,
                       const k23_table_desc_t *d)
{
    OUT(k23_table_t, t);
    RETURN_UNTOUCHED(k23_instance_allocate_table(a, d, 0, &t), t);
}
static int e_at_null(void) { return alloc_table(NULL, one_table_module()->tables); }
static int e_at_broken(void)
{
    return alloc_table(broken_allocator(), one_table_module()->tables);
}
static int e_at_null_desc(void) { return alloc_table(ondemand(), NULL); }
static int e_at_bad_desc(void)
{
    k23_table_desc_t d = {.min_elements = 1};
    return alloc_table(ondemand(), &d);
}
static int e_at_null_out(void)
{
    return k23_instance_allocate_table(ondemand(), one_table_module()->tables,
                                       0, NULL);
}
static int e_ams_null(void)
{
    k23_memory_t m[1];
    return k23_instance_allocate_memories(NULL, one_memory_module(), m);
}
static int e_ams_null_module(void)
{
    k23_memory_t m[1];
    return k23_instance_allocate_memories(ondemand(), NULL, m);
}
static int e_ams_null_out(void)
{
    return k23_instance_allocate_memories(ondemand(), one_memory_module(),
                                          NULL);
}
static int e_ats_null(void)
{
    k23_table_t t[1];
    return k23_instance_allocate_tables(NULL, one_table_module(), t);
}
static int e_ats_null_module(void)
{
    k23_table_t t[1];
    return k23_instance_allocate_tables(ondemand(), NULL, t);
}
static int e_ats_null_out(void)
{
    return k23_instance_allocate_tables(ondemand(), one_table_module(), NULL);
}
static int e_validate_module_null(void)
{
    return k23_instance_validate_module(NULL, one_memory_module());
}
static int e_validate_module_broken(void)
{
    return k23_instance_validate_module(broken_allocator(),
                                        one_memory_module());
}
static int e_validate_module_null_m(void)
{
    return k23_instance_validate_module(ondemand(), NULL);
}
static int e_amod_null(void)
{
    OUT(k23_instance_handle_t, h);
    RETURN_UNTOUCHED(k23_instance_allocate_module(NULL, one_memory_module(),
                                                  &h),
                     h);
}
static int e_amod_null_m(void)
{
    OUT(k23_instance_handle_t, h);
    RETURN_UNTOUCHED(k23_instance_allocate_module(ondemand(), NULL, &h), h);
}
static int e_amod_bad_m(void)
{
    k23_module_desc_t m = {.shape = {0, 0}};
    OUT(k23_instance_handle_t, h);
    RETURN_UNTOUCHED(k23_instance_allocate_module(ondemand(), &m, &h), h);
}
static int e_amod_null_out(void)
{
    return k23_instance_allocate_module(ondemand(), one_memory_module(),
                                        NULL);
}

static k23_memory_t live_memory(void)
{
    return (k23_memory_t){.size = 1 << 16, .max_size = 2 << 16,
                          .capacity = 2 << 16, .page_size_log2 = 16,
                          .live = true};
}
static int memory_grow_with(k23_memory_t m)
{
    OUT(uint64_t, old);
    k23_memory_t before = m;
    int rc = k23_memory_grow(&m, 1, &old);
    if (memcmp(&before, &m, sizeof m) != 0)
        g_touched = true;
    RETURN_UNTOUCHED(rc, old);
}
static int e_mgrow_null(void)
{
    OUT(uint64_t, old);
    RETURN_UNTOUCHED(k23_memory_grow(NULL, 1, &old), old);
}
static int e_mgrow_null_old(void)
{
    k23_memory_t m = live_memory();
    return k23_memory_grow(&m, 1, NULL);
}
static int e_mgrow_not_live(void)
{
    k23_memory_t m = live_memory();
    m.live = false;
    return memory_grow_with(m);
}
/* A shift by 200 would be undefined; a size above max_size would let the
 * page count wrap past the maximum. */
static int e_mgrow_page_log2(void)
{
    k23_memory_t m = live_memory();
    m.page_size_log2 = 200;
    return memory_grow_with(m);
}
static int e_mgrow_size_above_max(void)
{
    k23_memory_t m = live_memory();
    m.size = 3 << 16;
    return memory_grow_with(m);
}
static k23_table_t live_table(void)
{
    return (k23_table_t){.size = 1, .max_size = 4, .capacity = 4,
                         .element_size = 8, .live = true};
}
static int table_grow_with(k23_table_t t)
{
    OUT(uint64_t, old);
    k23_table_t before = t;
    int rc = k23_table_grow(&t, 1, &old);
    if (memcmp(&before, &t, sizeof t) != 0)
        g_touched = true;
    RETURN_UNTOUCHED(rc, old);
}
static int e_tgrow_null(void)
{
    OUT(uint64_t, old);
    RETURN_UNTOUCHED(k23_table_grow(NULL, 1, &old), old);
}
static int e_tgrow_null_old(void)
{
    k23_table_t t = live_table();
    return k23_table_grow(&t, 1, NULL);
}
static int e_tgrow_not_live(void)
{
    k23_table_t t = live_table();
    t.live = false;
    return table_grow_with(t);
}
static int e_tgrow_elem0(void)
{
    k23_table_t t = live_table();
    t.element_size = 0;
    return table_grow_with(t);
}
static int e_tgrow_size_above_max(void)
{
    k23_table_t t = live_table();
    t.size = 5;
    return table_grow_with(t);
}
static int e_mcheck_null(void) { return k23_memory_check(NULL); }
/* Reported as corrupt, not computed with a shift by 200 first. */
static int e_mcheck_page_log2(void)
{
    k23_memory_t m = live_memory();
    m.page_size_log2 = 200;
    return k23_memory_check(&m);
}
static int e_tcheck_null(void) { return k23_table_check(NULL); }

/* ---- instance_pool.h ---- */

static int ipool_create_with(k23_instance_pool_config_t cfg)
{
    OUT(k23_instance_pool_t *, p);
    OUT(k23_instance_allocator_t, a);
    int rc = k23_instance_pool_create(&cfg, &p, &a);
    note_untouched(&a, sizeof a);
    RETURN_UNTOUCHED(rc, p);
}
static int e_ip_create_null_cfg(void)
{
    OUT(k23_instance_pool_t *, p);
    OUT(k23_instance_allocator_t, a);
    int rc = k23_instance_pool_create(NULL, &p, &a);
    note_untouched(&a, sizeof a);
    RETURN_UNTOUCHED(rc, p);
}
static int e_ip_create_null_pool(void)
{
    k23_instance_pool_config_t cfg = small_instance_pool_config();
    OUT(k23_instance_allocator_t, a);
    RETURN_UNTOUCHED(k23_instance_pool_create(&cfg, NULL, &a), a);
}
static int e_ip_create_null_out(void)
{
    k23_instance_pool_config_t cfg = small_instance_pool_config();
    OUT(k23_instance_pool_t *, p);
    RETURN_UNTOUCHED(k23_instance_pool_create(&cfg, &p, NULL), p);
}
#define IPOOL_ROW(id, field, value)                                   \
    static int id(void)                                               \
    {                                                                 \
        k23_instance_pool_config_t cfg = small_instance_pool_config(); \
        cfg.field = (value);                                          \
        return ipool_create_with(cfg);                                \
    }
IPOOL_ROW(e_ip_create_instances0, total_instances, 0)
IPOOL_ROW(e_ip_create_instances_max, total_instances, UINT32_MAX)
IPOOL_ROW(e_ip_create_tables_max, total_tables, UINT32_MAX)
IPOOL_ROW(e_ip_create_elem0, table_element_size, 0)
IPOOL_ROW(e_ip_create_inst_size0, max_instance_size, 0)
static int e_ip_check_null(void) { return k23_instance_pool_check(NULL); }

/* ---- megablock.h ---- */

static int mblock_init_with(unsigned shift, uintptr_t base, size_t n,
                            const k23_mblock_source_t *src, size_t meta_bytes)
{
    static unsigned char meta[K23_MBLOCK_META_BYTES(MB_COUNT)];
    memset(meta, SENTINEL, sizeof meta);
    OUT(k23_mblock_t, m);
    int rc = k23_mblock_init(&m, shift, base, n, src, meta, meta_bytes);
    note_untouched(meta, sizeof meta);
    RETURN_UNTOUCHED(rc, m);
}
#define META_ALL K23_MBLOCK_META_BYTES(MB_COUNT)
static int e_mb_init_null(void)
{
    unsigned char meta[META_ALL];
    return k23_mblock_init(NULL, MB_SHIFT, MB_BASE, MB_COUNT, &mb_source,
                           meta, sizeof meta);
}
static int e_mb_init_null_src(void)
{
    return mblock_init_with(MB_SHIFT, MB_BASE, MB_COUNT, NULL, META_ALL);
}
static int e_mb_init_null_meta(void)
{
    OUT(k23_mblock_t, m);
    RETURN_UNTOUCHED(k23_mblock_init(&m, MB_SHIFT, MB_BASE, MB_COUNT,
                                     &mb_source, NULL, META_ALL),
                     m);
}
static int e_mb_init_no_grow(void)
{
    k23_mblock_source_t s = {NULL, end_at_zero, NULL};
    return mblock_init_with(MB_SHIFT, MB_BASE, MB_COUNT, &s, META_ALL);
}
static int e_mb_init_no_end(void)
{
    k23_mblock_source_t s = {never_grow, NULL, NULL};
    return mblock_init_with(MB_SHIFT, MB_BASE, MB_COUNT, &s, META_ALL);
}
static int e_mb_init_shift_small(void)
{
    return mblock_init_with(K23_MBLOCK_MIN_SHIFT - 1, MB_BASE, MB_COUNT,
                            &mb_source, META_ALL);
}
static int e_mb_init_shift_big(void)
{
    return mblock_init_with(sizeof(uintptr_t) * 8, 0, 1, &mb_source,
                            META_ALL);
}
static int e_mb_init_misaligned(void)
{
    return mblock_init_with(MB_SHIFT, MB_BASE + 4096, MB_COUNT, &mb_source,
                            META_ALL);
}
static int e_mb_init_zero(void)
{
    return mblock_init_with(MB_SHIFT, MB_BASE, 0, &mb_source, META_ALL);
}
static int e_mb_init_past_top(void)
{
    uintptr_t base = UINTPTR_MAX - ((uintptr_t)1 << MB_SHIFT) + 1;
    return mblock_init_with(MB_SHIFT, base, 2, &mb_source, META_ALL);
}
static int e_mb_init_meta_small(void)
{
    return mblock_init_with(MB_SHIFT, MB_BASE, MB_COUNT, &mb_source,
                            META_ALL - 1);
}
static int mblock_alloc_with(k23_mblock_t *m, size_t n, unsigned al,
                             uint32_t flags)
{
    OUT(void *, p);
    RETURN_UNTOUCHED(k23_mblock_alloc(m, n, al, flags, &p), p);
}
static int e_mb_alloc_null(void) { return mblock_alloc_with(NULL, 1, 0, 0); }
static int e_mb_alloc_null_out(void)
{
    return k23_mblock_alloc(small_mblock(), 1, 0, 0, NULL);
}
static int e_mb_alloc_n0(void) { return mblock_alloc_with(small_mblock(), 0, 0, 0); }
static int e_mb_alloc_flags(void)
{
    return mblock_alloc_with(small_mblock(), 1, 0, 1u << 1);
}
static int e_mb_alloc_align(void)
{
    return mblock_alloc_with(small_mblock(), 1, sizeof(uintptr_t) * 8, 0);
}
static int e_mb_free_null(void) { return k23_mblock_free(NULL, (void *)MB_BASE, 1); }
static int e_mb_free_n0(void)
{
    return k23_mblock_free(small_mblock(), (void *)MB_BASE, 0);
}
static int e_mb_free_misaligned(void)
{
    return k23_mblock_free(small_mblock(), (void *)(MB_BASE + 4096), 1);
}
static int e_mb_free_below(void)
{
    return k23_mblock_free(small_mblock(), (void *)(MB_BASE / 2), 1);
}
static int e_mb_free_past(void)
{
    return k23_mblock_free(small_mblock(), (void *)MB_BASE, MB_COUNT + 1);
}
static int e_mb_check_null(void) { return k23_mblock_check(NULL); }

#define ROW(fn, want) {#fn, fn, want}
static const struct err_row err_rows[] = {
    /* range.h */
    ROW(e_align_up_not_pow2, K23_ERR_INVAL),
    ROW(e_align_up_zero_align, K23_ERR_INVAL),
    ROW(e_align_up_null, K23_ERR_INVAL),
    ROW(e_align_up_overflow, K23_ERR_OVERFLOW),
    ROW(e_align_down_not_pow2, K23_ERR_INVAL),
    ROW(e_align_down_null, K23_ERR_INVAL),
    ROW(e_from_bounds_reversed, K23_ERR_INVAL),
    ROW(e_from_bounds_null, K23_ERR_INVAL),
    ROW(e_range_end_invalid, K23_ERR_INVAL),
    ROW(e_range_end_null, K23_ERR_INVAL),
    ROW(e_range_end_top, K23_ERR_OVERFLOW),
    ROW(e_align_inward_invalid, K23_ERR_INVAL),
    ROW(e_align_inward_not_pow2, K23_ERR_INVAL),
    ROW(e_align_inward_null, K23_ERR_INVAL),
    ROW(e_sort_null, K23_ERR_INVAL),
    ROW(e_sort_invalid, K23_ERR_INVAL),
    ROW(e_merge_null_count, K23_ERR_INVAL),
    ROW(e_merge_null_array, K23_ERR_INVAL),
    ROW(e_merge_invalid, K23_ERR_INVAL),
    ROW(e_check_sorted_null, K23_ERR_INVAL),
    ROW(e_check_sorted_empty, K23_ERR_INVAL),
    ROW(e_check_sorted_unsorted, K23_ERR_INVAL),
    ROW(e_check_sorted_invalid, K23_ERR_INVAL),
    ROW(e_subtract_null_count, K23_ERR_INVAL),
    ROW(e_subtract_null_holes, K23_ERR_INVAL),
    ROW(e_subtract_null_out, K23_ERR_INVAL),
    ROW(e_subtract_null_regions, K23_ERR_INVAL),
    ROW(e_subtract_invalid_hole, K23_ERR_INVAL),
    ROW(e_subtract_out_aliases_regions, K23_ERR_INVAL),
    ROW(e_subtract_out_aliases_holes, K23_ERR_INVAL),
    /* bitmap.h */
    ROW(e_find_clear_null, K23_ERR_INVAL),
    ROW(e_find_clear_len0, K23_ERR_INVAL),
    ROW(e_find_clear_len_big, K23_ERR_INVAL),
    ROW(e_find_clear_start, K23_ERR_INVAL),
    ROW(e_find_clear_align, K23_ERR_INVAL),
    ROW(e_find_clear_nbits0, K23_ERR_INVAL),
    ROW(e_find_clear_null_out, K23_ERR_INVAL),
    ROW(e_find_set_null, K23_ERR_INVAL),
    ROW(e_find_set_len0, K23_ERR_INVAL),
    ROW(e_find_set_start, K23_ERR_INVAL),
    ROW(e_find_set_align, K23_ERR_INVAL),
    ROW(e_find_set_null_out, K23_ERR_INVAL),
    ROW(e_next_clear_null, K23_ERR_INVAL),
    ROW(e_next_clear_len0, K23_ERR_INVAL),
    ROW(e_next_clear_start, K23_ERR_INVAL),
    ROW(e_next_clear_align, K23_ERR_INVAL),
    ROW(e_next_set_null, K23_ERR_INVAL),
    ROW(e_next_set_len_big, K23_ERR_INVAL),
    ROW(e_next_set_start, K23_ERR_INVAL),
    ROW(e_set_range_null, K23_ERR_INVAL),
    ROW(e_set_range_past, K23_ERR_INVAL),
    ROW(e_set_range_wrap, K23_ERR_INVAL),
    ROW(e_clear_range_null, K23_ERR_INVAL),
    ROW(e_clear_range_past, K23_ERR_INVAL),
    ROW(e_clear_range_wrap, K23_ERR_INVAL),
    /* perm.h */
    ROW(e_perm_check_bits, K23_ERR_INVAL),
    ROW(e_perm_check_wx, K23_ERR_WX),
    ROW(e_fault_load_store, K23_ERR_INVAL),
    ROW(e_fault_bits, K23_ERR_INVAL),
    ROW(e_fault_null, K23_ERR_INVAL),
    ROW(e_elf_null, K23_ERR_INVAL),
    ROW(e_elf_wx, K23_ERR_WX),
    ROW(e_format_bits, K23_ERR_INVAL),
    ROW(e_format_null, K23_ERR_INVAL),
    ROW(e_parse_null_text, K23_ERR_INVAL),
    ROW(e_parse_null_out, K23_ERR_INVAL),
    /* fdt_memmap.h */
    ROW(e_fdt_null_blob, K23_ERR_INVAL),
    ROW(e_fdt_null_cfg, K23_ERR_INVAL),
    ROW(e_fdt_null_map, K23_ERR_INVAL),
    ROW(e_fdt_page_log2, K23_ERR_INVAL),
    ROW(e_fdt_exclude_null, K23_ERR_INVAL),
    ROW(e_fdt_exclude_invalid, K23_ERR_INVAL),
    ROW(e_fdt_ram_null, K23_ERR_INVAL),
    ROW(e_fdt_taken_null, K23_ERR_INVAL),
    ROW(e_fdt_dynamic_null, K23_ERR_INVAL),
    ROW(e_fdt_free_null, K23_ERR_INVAL),
    /* slab_layout.h */
    ROW(e_target_host_null, K23_ERR_INVAL),
    ROW(e_constraints_width_small, K23_ERR_INVAL),
    ROW(e_constraints_width_big, K23_ERR_INVAL),
    ROW(e_constraints_page_not_pow2, K23_ERR_INVAL),
    ROW(e_constraints_page_zero, K23_ERR_INVAL),
    ROW(e_constraints_page_over_width, K23_ERR_INVAL),
    ROW(e_constraints_null_limits, K23_ERR_INVAL),
    ROW(e_constraints_null_target, K23_ERR_INVAL),
    ROW(e_constraints_null_out, K23_ERR_INVAL),
    ROW(e_calculate_null, K23_ERR_INVAL),
    ROW(e_calculate_null_out, K23_ERR_INVAL),
    ROW(e_calculate_width, K23_ERR_INVAL),
    ROW(e_calculate_unaligned, K23_ERR_INVAL),
    ROW(e_calculate_above_width, K23_ERR_INVAL),
    ROW(e_plan_null, K23_ERR_INVAL),
    ROW(e_total_null, K23_ERR_INVAL),
    ROW(e_total_null_out, K23_ERR_INVAL),
    ROW(e_total_width, K23_ERR_INVAL),
    ROW(e_slot_offset_null, K23_ERR_INVAL),
    ROW(e_slot_offset_null_out, K23_ERR_INVAL),
    ROW(e_slot_offset_index, K23_ERR_INVAL),
    ROW(e_slot_offset_width, K23_ERR_INVAL),
    ROW(e_slot_offset_past_width, K23_ERR_INVAL),
    ROW(e_slot_offset_overflow, K23_ERR_INVAL),
    ROW(e_layout_check_null_c, K23_ERR_INVAL),
    ROW(e_layout_check_null_l, K23_ERR_INVAL),
    ROW(e_error_message_null, K23_ERR_INVAL),
    ROW(e_error_message_len0, K23_ERR_INVAL),
    /* mempool.h */
    ROW(e_mp_create_null_cfg, K23_ERR_INVAL),
    ROW(e_mp_create_null_out, K23_ERR_INVAL),
    ROW(e_mp_create_mpk, K23_ERR_INVAL),
    ROW(e_mp_create_null_op, K23_ERR_INVAL),
    ROW(e_mp_stripe_pkey_null, K23_ERR_INVAL),
    ROW(e_mp_stripe_pkey_null_key, K23_ERR_INVAL),
    ROW(e_mp_stripe_pkey_range, K23_ERR_INVAL),
    ROW(e_mp_validate_null, K23_ERR_INVAL),
    ROW(e_mp_validate_null_desc, K23_ERR_INVAL),
    ROW(e_mp_validate_all_null, K23_ERR_INVAL),
    ROW(e_mp_validate_all_null_array, K23_ERR_INVAL),
    ROW(e_mp_allocate_null, K23_ERR_INVAL),
    ROW(e_mp_allocate_null_req, K23_ERR_INVAL),
    ROW(e_mp_allocate_null_out, K23_ERR_INVAL),
    ROW(e_mp_allocate_stripe, K23_ERR_INVAL),
    ROW(e_mp_grow_null, K23_ERR_INVAL),
    ROW(e_mp_grow_null_mem, K23_ERR_INVAL),
    ROW(e_mp_grow_freed, K23_ERR_INVAL),
    ROW(e_mp_grow_index, K23_ERR_INVAL),
    ROW(e_mp_grow_shrink, K23_ERR_INVAL),
    ROW(e_mp_check_null, K23_ERR_INVAL),
    /* instance.h */
    ROW(e_od_init_null, K23_ERR_INVAL),
    ROW(e_od_init_null_out, K23_ERR_INVAL),
    ROW(e_mdesc_null, K23_ERR_INVAL),
    ROW(e_mdesc_page, K23_ERR_INVAL),
    ROW(e_mdesc_min, K23_ERR_INVAL),
    ROW(e_mdesc_max, K23_ERR_INVAL),
    ROW(e_mdesc_shared, K23_ERR_INVAL),
    ROW(e_tdesc_null, K23_ERR_INVAL),
    ROW(e_tdesc_elem, K23_ERR_INVAL),
    ROW(e_tdesc_max, K23_ERR_INVAL),
    ROW(e_module_null, K23_ERR_INVAL),
    ROW(e_module_size0, K23_ERR_INVAL),
    ROW(e_module_align, K23_ERR_INVAL),
    ROW(e_module_memories_null, K23_ERR_INVAL),
    ROW(e_module_tables_null, K23_ERR_INVAL),
    ROW(e_module_bad_memory, K23_ERR_INVAL),
    ROW(e_block_shape_null, K23_ERR_INVAL),
    ROW(e_block_shape_null_out, K23_ERR_INVAL),
    ROW(e_ai_null, K23_ERR_INVAL),
    ROW(e_ai_no_ops, K23_ERR_INVAL),
    ROW(e_ai_broken, K23_ERR_INVAL),
    ROW(e_ai_null_shape, K23_ERR_INVAL),
    ROW(e_ai_size0, K23_ERR_INVAL),
    ROW(e_ai_align, K23_ERR_INVAL),
    ROW(e_ai_null_out, K23_ERR_INVAL),
    ROW(e_am_null, K23_ERR_INVAL),
    ROW(e_am_broken, K23_ERR_INVAL),
    ROW(e_am_null_desc, K23_ERR_INVAL),
    ROW(e_am_bad_desc, K23_ERR_INVAL),
    ROW(e_am_null_out, K23_ERR_INVAL),
    ROW(e_at_null, K23_ERR_INVAL),
    ROW(e_at_broken, K23_ERR_INVAL),
    ROW(e_at_null_desc, K23_ERR_INVAL),
    ROW(e_at_bad_desc, K23_ERR_INVAL),
    ROW(e_at_null_out, K23_ERR_INVAL),
    ROW(e_ams_null, K23_ERR_INVAL),
    ROW(e_ams_null_module, K23_ERR_INVAL),
    ROW(e_ams_null_out, K23_ERR_INVAL),
    ROW(e_ats_null, K23_ERR_INVAL),
    ROW(e_ats_null_module, K23_ERR_INVAL),
    ROW(e_ats_null_out, K23_ERR_INVAL),
    ROW(e_validate_module_null, K23_ERR_INVAL),
    ROW(e_validate_module_broken, K23_ERR_INVAL),
    ROW(e_validate_module_null_m, K23_ERR_INVAL),
    ROW(e_amod_null, K23_ERR_INVAL),
    ROW(e_amod_null_m, K23_ERR_INVAL),
    ROW(e_amod_bad_m, K23_ERR_INVAL),
    ROW(e_amod_null_out, K23_ERR_INVAL),
    ROW(e_mgrow_null, K23_ERR_INVAL),
    ROW(e_mgrow_null_old, K23_ERR_INVAL),
    ROW(e_mgrow_not_live, K23_ERR_INVAL),
    ROW(e_mgrow_page_log2, K23_ERR_INVAL),
    ROW(e_mgrow_size_above_max, K23_ERR_INVAL),
    ROW(e_tgrow_null, K23_ERR_INVAL),
    ROW(e_tgrow_null_old, K23_ERR_INVAL),
    ROW(e_tgrow_not_live, K23_ERR_INVAL),
    ROW(e_tgrow_elem0, K23_ERR_INVAL),
    ROW(e_tgrow_size_above_max, K23_ERR_INVAL),
    ROW(e_mcheck_null, K23_ERR_INVAL),
    ROW(e_mcheck_page_log2, K23_ERR_CORRUPT),
    ROW(e_tcheck_null, K23_ERR_INVAL),
    /* instance_pool.h */
    ROW(e_ip_create_null_cfg, K23_ERR_INVAL),
    ROW(e_ip_create_null_pool, K23_ERR_INVAL),
    ROW(e_ip_create_null_out, K23_ERR_INVAL),
    ROW(e_ip_create_instances0, K23_ERR_INVAL),
    ROW(e_ip_create_instances_max, K23_ERR_INVAL),
    ROW(e_ip_create_tables_max, K23_ERR_INVAL),
    ROW(e_ip_create_elem0, K23_ERR_INVAL),
    ROW(e_ip_create_inst_size0, K23_ERR_INVAL),
    ROW(e_ip_check_null, K23_ERR_INVAL),
    /* megablock.h */
    ROW(e_mb_init_null, K23_ERR_INVAL),
    ROW(e_mb_init_null_src, K23_ERR_INVAL),
    ROW(e_mb_init_null_meta, K23_ERR_INVAL),
    ROW(e_mb_init_no_grow, K23_ERR_INVAL),
    ROW(e_mb_init_no_end, K23_ERR_INVAL),
    ROW(e_mb_init_shift_small, K23_ERR_INVAL),
    ROW(e_mb_init_shift_big, K23_ERR_INVAL),
    ROW(e_mb_init_misaligned, K23_ERR_INVAL),
    ROW(e_mb_init_zero, K23_ERR_INVAL),
    ROW(e_mb_init_past_top, K23_ERR_INVAL),
    ROW(e_mb_init_meta_small, K23_ERR_TOO_SMALL),
    ROW(e_mb_alloc_null, K23_ERR_INVAL),
    ROW(e_mb_alloc_null_out, K23_ERR_INVAL),
    ROW(e_mb_alloc_n0, K23_ERR_INVAL),
    ROW(e_mb_alloc_flags, K23_ERR_INVAL),
    ROW(e_mb_alloc_align, K23_ERR_INVAL),
    ROW(e_mb_free_null, K23_ERR_INVAL),
    ROW(e_mb_free_n0, K23_ERR_INVAL),
    ROW(e_mb_free_misaligned, K23_ERR_INVAL),
    ROW(e_mb_free_below, K23_ERR_INVAL),
    ROW(e_mb_free_past, K23_ERR_INVAL),
    ROW(e_mb_check_null, K23_ERR_INVAL),
};

Test(validate, every_bad_argument_is_reported_and_writes_nothing)
{
    for (size_t i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++) {
        const struct err_row *r = &err_rows[i];
        g_touched = false;
        int rc = r->call();
        cr_expect_eq(rc, r->want, "%s: returned %s, want %s", r->what,
                     k23_strerror_name(rc), k23_strerror_name(r->want));
        cr_expect(!g_touched, "%s: wrote an out-pointer on error", r->what);
    }
}

/* Functions with no invalid argument: every value gives an answer. */
Test(validate, total_functions_accept_every_value)
{
    const int odd[] = {INT32_MIN, -126, -1000, 1, 12345};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        cr_expect_str_eq(k23_strerror(odd[i]), "unknown libk23mem error");
        cr_expect_str_eq(k23_strerror_name(odd[i]), "K23_ERR_UNKNOWN");
    }
    cr_expect_str_eq(k23_fdt_kind_name(0), "unknown");
    cr_expect_str_eq(k23_fdt_kind_name(UINT32_MAX), "unknown");
    cr_expect_eq(k23_fdt_error(INT32_MIN), K23_ERR_FDT_CORRUPT);
    cr_expect_eq(k23_slab_size_max(0), 0);
    cr_expect_eq(k23_slab_size_max(200), UINT64_MAX);
    cr_expect(!k23_is_aligned(8, 0));
    cr_expect(!k23_range_valid(bad_range));
    /* NULL is "nothing to destroy", not an error */
    cr_expect_eq(k23_mempool_destroy(NULL), K23_OK);
    cr_expect_eq(k23_instance_pool_destroy(NULL), K23_OK);
}

/* ==== rows that must panic ==== */

struct panic_row {
    const char *what;
    const char *function; /* the message must name it */
    void (*call)(void);
};

static k23_mempool_stats_t mp_stats;
static k23_instance_pool_stats_t ip_stats;
static k23_mblock_stats_t mb_stats;
static k23_ondemand_stats_t od_stats;

static void p_range_contains(void) { k23_range_contains(bad_range, 0); }
static void p_contains_range_outer(void)
{
    k23_range_contains_range(bad_range, good_range);
}
static void p_contains_range_inner(void)
{
    k23_range_contains_range(good_range, bad_range);
}
static void p_overlaps_a(void) { k23_range_overlaps(bad_range, good_range); }
static void p_overlaps_b(void) { k23_range_overlaps(good_range, bad_range); }

static void p_stripe_slot_null(void)
{
    k23_slab_layout_bytes_to_next_stripe_slot(NULL);
}
static void p_stripe_slot_no_stripes(void)
{
    k23_slab_layout_t l = small_layout();
    l.num_stripes = 0;
    k23_slab_layout_bytes_to_next_stripe_slot(&l);
}
static void p_stripe_slot_width(void)
{
    k23_slab_layout_t l = small_layout();
    l.width = 0;
    k23_slab_layout_bytes_to_next_stripe_slot(&l);
}
static void p_stripe_slot_overflow(void)
{
    k23_slab_layout_t l = small_layout();
    l.slot_bytes = UINT64_MAX / 2;
    l.num_stripes = 3;
    k23_slab_layout_bytes_to_next_stripe_slot(&l);
}
static void p_stripe_slot_past_width(void)
{
    k23_slab_layout_t l = small_layout();
    l.width = 16; /* 64 KiB slots do not fit */
    k23_slab_layout_bytes_to_next_stripe_slot(&l);
}

static void p_mp_config_default(void) { k23_mempool_config_default(NULL); }
static void p_mp_next_stripe(void) { k23_mempool_next_stripe(NULL); }
static void p_mp_deallocate_pool(void)
{
    k23_mempool_memory_t m = {0};
    k23_mempool_deallocate(NULL, &m);
}
static void p_mp_deallocate_mem(void)
{
    k23_mempool_deallocate(small_mempool(), NULL);
}
static void p_mp_deallocate_unknown_pool(void)
{
    k23_mempool_memory_t m = {0};
    k23_mempool_deallocate_unknown(NULL, &m);
}
static void p_mp_deallocate_unknown_mem(void)
{
    k23_mempool_deallocate_unknown(small_mempool(), NULL);
}
static void p_mp_purge(void) { k23_mempool_purge_module(NULL, 1); }
static void p_mp_layout(void) { k23_mempool_layout(NULL); }
static void p_mp_slab_base(void) { k23_mempool_slab_base(NULL); }
static void p_mp_slot_base_null(void) { k23_mempool_slot_base(NULL, 0); }
static void p_mp_slot_base_index(void)
{
    k23_mempool_t *p = small_mempool();
    k23_mempool_slot_base(p, k23_mempool_layout(p)->num_slots);
}
static void p_mp_num_stripes(void) { k23_mempool_num_stripes(NULL); }
static void p_mp_free_slots_null(void) { k23_mempool_stripe_free_slots(NULL, 0); }
/* The example: this used to loop forever at K23_DEBUG=0. */
static void p_mp_free_slots_stripe(void)
{
    k23_mempool_t *p = small_mempool();
    k23_mempool_stripe_free_slots(p, k23_mempool_num_stripes(p));
}
static void p_mp_is_empty(void) { k23_mempool_is_empty(NULL); }
static void p_mp_warm(void) { k23_mempool_unused_warm_slots(NULL); }
static void p_mp_resident(void) { k23_mempool_unused_bytes_resident(NULL); }
static void p_mp_stats_pool(void) { k23_mempool_stats(NULL, &mp_stats); }
static void p_mp_stats_out(void) { k23_mempool_stats(small_mempool(), NULL); }

static void p_od_stats_od(void) { k23_ondemand_stats(NULL, &od_stats); }
static void p_od_stats_out(void)
{
    k23_ondemand_stats(ondemand()->ctx, NULL);
}
static char fake_block[64];
static void p_di_null_a(void)
{
    k23_instance_deallocate_instance(NULL, fake_block, &shape_ok);
}
static void p_di_broken(void)
{
    k23_instance_deallocate_instance(broken_allocator(), fake_block,
                                     &shape_ok);
}
static void p_di_null_instance(void)
{
    k23_instance_deallocate_instance(ondemand(), NULL, &shape_ok);
}
static void p_di_null_shape(void)
{
    k23_instance_deallocate_instance(ondemand(), fake_block, NULL);
}
static void p_di_bad_shape(void)
{
    k23_instance_shape_t s = {0, 3};
    k23_instance_deallocate_instance(ondemand(), fake_block, &s);
}
static void p_dm_null_a(void)
{
    k23_memory_t m = live_memory();
    k23_instance_deallocate_memory(NULL, 0, &m);
}
static void p_dm_null_mem(void)
{
    k23_instance_deallocate_memory(ondemand(), 0, NULL);
}
static void p_dt_null_a(void)
{
    k23_table_t t = live_table();
    k23_instance_deallocate_table(NULL, 0, &t);
}
static void p_dt_broken(void)
{
    k23_table_t t = live_table();
    k23_instance_deallocate_table(broken_allocator(), 0, &t);
}
static void p_dt_null_table(void)
{
    k23_instance_deallocate_table(ondemand(), 0, NULL);
}
static void p_dms_null_a(void)
{
    k23_instance_deallocate_memories(NULL, NULL, 0);
}
static void p_dms_null_array(void)
{
    k23_instance_deallocate_memories(ondemand(), NULL, 1);
}
static void p_dts_null_a(void) { k23_instance_deallocate_tables(NULL, NULL, 0); }
static void p_dts_null_array(void)
{
    k23_instance_deallocate_tables(ondemand(), NULL, 1);
}
static void p_dmod_null_a(void)
{
    k23_instance_handle_t h = {0};
    k23_instance_deallocate_module(NULL, &h);
}
static void p_dmod_null_h(void) { k23_instance_deallocate_module(ondemand(), NULL); }
static void p_memory_base(void) { k23_memory_base(NULL); }
static void p_memory_size(void) { k23_memory_size(NULL); }

static void p_ip_config_default(void) { k23_instance_pool_config_default(NULL); }
static void p_ip_stats_pool(void) { k23_instance_pool_stats(NULL, &ip_stats); }
static void p_ip_stats_out(void)
{
    k23_instance_pool_stats(small_instance_pool(), NULL);
}

static void p_mb_free_all(void) { k23_mblock_free_all(NULL); }
static void p_mb_is_allocated(void)
{
    k23_mblock_is_allocated(NULL, (void *)MB_BASE);
}
static void p_mb_stats_m(void) { k23_mblock_stats(NULL, &mb_stats); }
static void p_mb_stats_out(void) { k23_mblock_stats(small_mblock(), NULL); }

#define PROW(fn, function) {#fn, function, fn}
static const struct panic_row panic_rows[] = {
    PROW(p_range_contains, "k23_range_contains"),
    PROW(p_contains_range_outer, "k23_range_contains_range"),
    PROW(p_contains_range_inner, "k23_range_contains_range"),
    PROW(p_overlaps_a, "k23_range_overlaps"),
    PROW(p_overlaps_b, "k23_range_overlaps"),
    PROW(p_stripe_slot_null, "k23_slab_layout_bytes_to_next_stripe_slot"),
    PROW(p_stripe_slot_no_stripes, "k23_slab_layout_bytes_to_next_stripe_slot"),
    PROW(p_stripe_slot_width, "k23_slab_layout_bytes_to_next_stripe_slot"),
    PROW(p_stripe_slot_overflow, "k23_slab_layout_bytes_to_next_stripe_slot"),
    PROW(p_stripe_slot_past_width, "k23_slab_layout_bytes_to_next_stripe_slot"),
    PROW(p_mp_config_default, "k23_mempool_config_default"),
    PROW(p_mp_next_stripe, "k23_mempool_next_stripe"),
    PROW(p_mp_deallocate_pool, "k23_mempool_deallocate"),
    PROW(p_mp_deallocate_mem, "k23_mempool_deallocate"),
    PROW(p_mp_deallocate_unknown_pool, "k23_mempool_deallocate_unknown"),
    PROW(p_mp_deallocate_unknown_mem, "k23_mempool_deallocate_unknown"),
    PROW(p_mp_purge, "k23_mempool_purge_module"),
    PROW(p_mp_layout, "k23_mempool_layout"),
    PROW(p_mp_slab_base, "k23_mempool_slab_base"),
    PROW(p_mp_slot_base_null, "k23_mempool_slot_base"),
    PROW(p_mp_slot_base_index, "k23_mempool_slot_base"),
    PROW(p_mp_num_stripes, "k23_mempool_num_stripes"),
    PROW(p_mp_free_slots_null, "k23_mempool_stripe_free_slots"),
    PROW(p_mp_free_slots_stripe, "k23_mempool_stripe_free_slots"),
    PROW(p_mp_is_empty, "k23_mempool_is_empty"),
    PROW(p_mp_warm, "k23_mempool_unused_warm_slots"),
    PROW(p_mp_resident, "k23_mempool_unused_bytes_resident"),
    PROW(p_mp_stats_pool, "k23_mempool_stats"),
    PROW(p_mp_stats_out, "k23_mempool_stats"),
    PROW(p_od_stats_od, "k23_ondemand_stats"),
    PROW(p_od_stats_out, "k23_ondemand_stats"),
    PROW(p_di_null_a, "k23_instance_deallocate_instance"),
    PROW(p_di_broken, "k23_instance_deallocate_instance"),
    PROW(p_di_null_instance, "k23_instance_deallocate_instance"),
    PROW(p_di_null_shape, "k23_instance_deallocate_instance"),
    PROW(p_di_bad_shape, "k23_instance_deallocate_instance"),
    PROW(p_dm_null_a, "k23_instance_deallocate_memory"),
    PROW(p_dm_null_mem, "k23_instance_deallocate_memory"),
    PROW(p_dt_null_a, "k23_instance_deallocate_table"),
    PROW(p_dt_broken, "k23_instance_deallocate_table"),
    PROW(p_dt_null_table, "k23_instance_deallocate_table"),
    PROW(p_dms_null_a, "k23_instance_deallocate_memories"),
    PROW(p_dms_null_array, "k23_instance_deallocate_memories"),
    PROW(p_dts_null_a, "k23_instance_deallocate_tables"),
    PROW(p_dts_null_array, "k23_instance_deallocate_tables"),
    PROW(p_dmod_null_a, "k23_instance_deallocate_module"),
    PROW(p_dmod_null_h, "k23_instance_deallocate_module"),
    PROW(p_memory_base, "k23_memory_base"),
    PROW(p_memory_size, "k23_memory_size"),
    PROW(p_ip_config_default, "k23_instance_pool_config_default"),
    PROW(p_ip_stats_pool, "k23_instance_pool_stats"),
    PROW(p_ip_stats_out, "k23_instance_pool_stats"),
    PROW(p_mb_free_all, "k23_mblock_free_all"),
    PROW(p_mb_is_allocated, "k23_mblock_is_allocated"),
    PROW(p_mb_stats_m, "k23_mblock_stats"),
    PROW(p_mb_stats_out, "k23_mblock_stats"),
};

/* Run one row in a child with stderr captured; the child must die of
 * SIGABRT after printing "<function>: invalid argument". A child that
 * returns, crashes another way or hangs (the alarm) fails the row. */
static void expect_panic(const struct panic_row *r)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        signal(SIGABRT, SIG_DFL);
        alarm(10);
        r->call();
        _exit(0);
    }
    close(fds[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof buf - 1 &&
           (got = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
    close(fds[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "%s: did not panic (status %#x, output \"%s\")", r->what,
              status, buf);
    char want[160];
    snprintf(want, sizeof want, "%s: invalid argument", r->function);
    cr_expect(strstr(buf, want) != NULL,
              "%s: message \"%s\" does not contain \"%s\"", r->what, buf,
              want);
}

Test(validate, every_bad_argument_that_cannot_be_reported_panics)
{
    for (size_t i = 0; i < sizeof panic_rows / sizeof panic_rows[0]; i++)
        expect_panic(&panic_rows[i]);
}
