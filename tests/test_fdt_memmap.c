/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of k23_fdt_memmap(): device-tree sources under tests/fdt compiled by
 * dtc at build time (K23_FDT_DTB_DIR), blobs corrupted in memory, and a
 * model-based randomized test against a byte-bitmap reference, with blobs
 * built by libfdt's sequential-write API.
 */
#include <criterion/criterion.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/fdt_memmap.h"
#include "k23mem/range.h"

#ifndef K23_FDT_DTB_DIR
#error "K23_FDT_DTB_DIR must name the folder of compiled test DTBs"
#endif

TestSuite(fdt_memmap);

/* ---- helpers ---- */

struct blob {
    void *data;
    size_t size;
};

static struct blob load(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.dtb", K23_FDT_DTB_DIR, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s (dtc should have built it)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    struct blob b = {malloc((size_t)n + 8), (size_t)n};
    cr_assert_not_null(b.data);
    cr_assert_eq(fread(b.data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return b;
}

#define CAP 64

struct result {
    k23_fdt_region_t ram[CAP], taken[CAP], dyn[CAP];
    k23_range_t free[CAP];
    k23_fdt_memmap_t map;
    k23_fdt_memmap_diag_t diag;
};

static void result_init(struct result *r)
{
    memset(r, 0, sizeof(*r));
    r->map = (k23_fdt_memmap_t){
        .ram = r->ram,
        .ram_cap = CAP,
        .taken = r->taken,
        .taken_cap = CAP,
        .dynamic = r->dyn,
        .dynamic_cap = CAP,
        .free = r->free,
        .free_cap = CAP,
    };
}

static int run(const struct blob *b, unsigned page_log2,
               const k23_range_t *excl, size_t nexcl, struct result *r)
{
    k23_fdt_memmap_config_t cfg = {
        .page_log2 = page_log2,
        .exclude = excl,
        .nexclude = nexcl,
    };
    result_init(r);
    return k23_fdt_memmap(b->data, b->size, &cfg, &r->map, &r->diag);
}

/* Expected free list as start/end (exclusive) pairs; end 0 means 2^64. */
struct span {
    uint64_t start, end;
};

static void expect_free(const struct result *r, const struct span *want,
                        size_t n, const char *what)
{
    cr_assert_eq(r->map.free_count, n, "%s: %zu free regions, want %zu", what,
                 r->map.free_count, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t size = want[i].end - want[i].start;
        cr_assert_eq(r->free[i].base, want[i].start,
                     "%s: free[%zu] base %#llx want %#llx", what, i,
                     (unsigned long long)r->free[i].base,
                     (unsigned long long)want[i].start);
        cr_assert_eq(
            r->free[i].size, size, "%s: free[%zu] size %#llx want %#llx", what,
            i, (unsigned long long)r->free[i].size, (unsigned long long)size);
    }
}

/* Local versions of range.h's predicates, so that this suite checks the
 * module against its own simple arithmetic. */
static bool contains(k23_range_t r, uint64_t a)
{
    return r.size != 0 && a >= r.base && a - r.base <= r.size - 1;
}

static bool overlaps(k23_range_t a, k23_range_t b)
{
    if (a.size == 0 || b.size == 0)
        return false;
    return a.base <= k23_range_last(b) && b.base <= k23_range_last(a);
}

static bool in_ram(const struct result *r, uint64_t a)
{
    for (size_t i = 0; i < r->map.ram_count; i++)
        if (contains(r->ram[i].range, a))
            return true;
    return false;
}

/* The invariants every successful result has, whatever the input: free
 * regions sorted, apart, non-empty, page-aligned, inside RAM (checked at
 * each end and at every RAM boundary inside) and clear of everything
 * taken out. */
static void check_invariants(const struct result *r, unsigned page_log2)
{
    uint64_t mask = (UINT64_C(1) << page_log2) - 1;
    for (size_t i = 0; i < r->map.free_count; i++) {
        k23_range_t f = r->free[i];
        cr_assert_neq(f.size, 0);
        cr_assert(k23_range_valid(f));
        cr_assert_eq(f.base & mask, 0, "free[%zu] base misaligned", i);
        cr_assert_eq(f.size & mask, 0, "free[%zu] size misaligned", i);
        if (i > 0) {
            uint64_t prev_last = k23_range_last(r->free[i - 1]);
            cr_assert(prev_last != UINT64_MAX && f.base > prev_last + 1,
                      "free[%zu] touches or precedes free[%zu]", i, i - 1);
        }
        cr_assert(in_ram(r, f.base) && in_ram(r, k23_range_last(f)),
                  "free[%zu] ends outside RAM", i);
        for (size_t j = 0; j < r->map.ram_count; j++) {
            k23_range_t m = r->ram[j].range;
            if (contains(f, m.base) && m.base != f.base)
                cr_assert(in_ram(r, m.base - 1), "gap in RAM under free");
            if (contains(f, k23_range_last(m)) &&
                k23_range_last(m) != k23_range_last(f))
                cr_assert(in_ram(r, k23_range_last(m) + 1),
                          "gap in RAM under free");
        }
        for (size_t j = 0; j < r->map.taken_count; j++)
            cr_assert(!overlaps(f, r->taken[j].range),
                      "free[%zu] overlaps taken[%zu] (%s)", i, j,
                      r->taken[j].name);
    }
    for (size_t i = 1; i < r->map.ram_count; i++)
        cr_assert(r->ram[i - 1].range.base <= r->ram[i].range.base);
    for (size_t i = 1; i < r->map.taken_count; i++)
        cr_assert(r->taken[i - 1].range.base <= r->taken[i].range.base);
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- maps of the test sources ---- */

Test(fdt_memmap, basic_tree_gives_ram_taken_dynamic_and_free)
{
    struct blob b = load("basic");
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK, "%s",
                 k23_strerror(run(&b, 12, NULL, 0, &r)));

    static const struct span want[] = {
        {0x40001000, 0x41000000},   {0x41200000, 0x42000000},
        {0x42001000, 0x48000000},   {0x48101000, 0x50000000},
        {0x100000000, 0x100100000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "basic");
    check_invariants(&r, 12);

    cr_assert_eq(r.map.ram_count, 2);
    cr_assert_eq(r.ram[0].range.base, 0x40000000);
    cr_assert_eq(r.ram[0].range.size, 0x10000000);
    cr_assert_eq(r.ram[0].kind, K23_FDT_KIND_RAM);
    cr_assert_str_eq(r.ram[0].name, "memory@40000000");
    cr_assert_eq(r.ram[0].index, 0);
    cr_assert_eq(r.ram[1].range.base, 0x100000000);
    cr_assert_eq(r.ram[1].index, 1);
    cr_assert_eq(r.ram[1].flags, 0);

    cr_assert_eq(r.map.taken_count, 4);
    cr_assert_eq(r.taken[0].kind, K23_FDT_KIND_MEMRESERVE);
    cr_assert_eq(r.taken[0].range.base, 0x40000000);
    cr_assert_eq(r.taken[0].range.size, 0x1000);
    cr_assert_eq(r.taken[0].node, -1);
    cr_assert_str_eq(r.taken[0].name, "/memreserve/");
    cr_assert_eq(r.taken[1].kind, K23_FDT_KIND_RESERVED_MEMORY);
    cr_assert_str_eq(r.taken[1].name, "firmware@41000000");
    cr_assert_eq(r.taken[1].flags, K23_FDT_FLAG_NO_MAP);
    cr_assert_eq(r.taken[1].range.size, 0x200000);
    cr_assert_str_eq(r.taken[2].name, "cma@42000000");
    cr_assert_eq(r.taken[2].flags, K23_FDT_FLAG_REUSABLE);
    cr_assert_eq(r.taken[2].range.size, 0x800, "exact, not page-rounded");
    cr_assert_eq(r.taken[3].kind, K23_FDT_KIND_INITRD);
    cr_assert_eq(r.taken[3].range.base, 0x48000000);
    cr_assert_eq(r.taken[3].range.size, 0x100800);
    cr_assert_str_eq(fdt_get_name(b.data, r.taken[3].node, NULL), "chosen");

    cr_assert_eq(r.map.dynamic_count, 2);
    cr_assert_str_eq(r.dyn[0].name, "dyn-pool");
    cr_assert_eq(r.dyn[0].kind, K23_FDT_KIND_DYNAMIC);
    cr_assert_eq(r.dyn[0].range.size, 0x400000);
    cr_assert_eq(r.dyn[0].align, 0x100000);
    cr_assert_eq(r.dyn[0].flags,
                 K23_FDT_FLAG_HAS_SIZE | K23_FDT_FLAG_HAS_ALIGN);
    cr_assert_str_eq(r.dyn[1].name, "dyn-bare");
    cr_assert_eq(r.dyn[1].flags, 0);
    cr_assert_eq(r.dyn[1].range.size, 0);
    char path[64];
    cr_assert_eq(fdt_get_path(b.data, r.dyn[1].node, path, sizeof(path)), 0);
    cr_assert_str_eq(path, "/reserved-memory/dyn-bare");
    free(b.data);
}

Test(fdt_memmap, caller_exclusions_are_taken_out_with_their_index)
{
    struct blob b = load("basic");
    struct result r;
    const k23_range_t excl[] = {
        {0x40200000, 0x200000}, /* "kernel image" */
        {0x0, 0},               /* empty: ignored */
        {0x4fffff00, 0x200},    /* "DTB", unaligned, crosses RAM's end */
    };
    cr_assert_eq(run(&b, 12, excl, ARRAY_LEN(excl), &r), K23_OK);
    static const struct span want[] = {
        {0x40001000, 0x40200000}, {0x40400000, 0x41000000},
        {0x41200000, 0x42000000}, {0x42001000, 0x48000000},
        {0x48101000, 0x4ffff000}, {0x100000000, 0x100100000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "basic+exclusions");
    check_invariants(&r, 12);
    cr_assert_eq(r.map.taken_count, 6);
    size_t seen = 0;
    for (size_t i = 0; i < r.map.taken_count; i++) {
        if (r.taken[i].kind != K23_FDT_KIND_EXCLUDE)
            continue;
        seen++;
        cr_assert_eq(r.taken[i].node, -1);
        cr_assert_str_eq(r.taken[i].name, "exclude");
        cr_assert_eq(r.taken[i].range.base, excl[r.taken[i].index].base);
    }
    cr_assert_eq(seen, 2);
    free(b.data);
}

Test(fdt_memmap, larger_pages_shrink_free_regions_inward)
{
    struct blob b = load("basic");
    struct result r;
    cr_assert_eq(run(&b, 21, NULL, 0, &r), K23_OK); /* 2 MiB pages */
    static const struct span want[] = {
        {0x40200000, 0x41000000},
        {0x41200000, 0x42000000},
        {0x42200000, 0x48000000},
        {0x48200000, 0x50000000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "basic, 2 MiB pages");
    check_invariants(&r, 21);
    cr_assert_eq(run(&b, 0, NULL, 0, &r), K23_OK); /* byte granularity */
    static const struct span bytes[] = {
        {0x40001000, 0x41000000},   {0x41200000, 0x42000000},
        {0x42000800, 0x48000000},   {0x48100800, 0x50000000},
        {0x100000000, 0x100100000},
    };
    expect_free(&r, bytes, ARRAY_LEN(bytes), "basic, bytes");
    free(b.data);
}

Test(fdt_memmap, one_cell_tree_merges_touching_and_overlapping_ram)
{
    struct blob b = load("cells1");
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK);
    static const struct span want[] = {
        {0x0, 0x280000},
        {0x80000000, 0x88000000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "cells1");
    check_invariants(&r, 12);
    cr_assert_eq(r.map.ram_count, 4, "RAM entries are reported unmerged");
    cr_assert_eq(r.ram[0].range.base, 0);
    cr_assert_eq(r.ram[3].range.base, 0x80000000);
    cr_assert_eq(r.map.taken_count, 1, "empty initrd takes nothing");
    cr_assert_eq(r.taken[0].range.base, 0xfffff000);
    free(b.data);
}

Test(fdt_memmap, absent_cells_use_the_specification_defaults)
{
    struct blob b = load("defaults");
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK);
    static const struct span want[] = {
        {0x0, 0xc0000},
        {0xc2000, 0x100000},
        {0x100000000, 0x100080000},
        {0x100081000, 0x100100000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "defaults");
    check_invariants(&r, 12);
    free(b.data);
}

Test(fdt_memmap, usable_memory_replaces_reg)
{
    struct blob b = load("usable");
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK);
    static const struct span want[] = {
        {0x44000000, 0x45000000},
        {0x46000000, 0x46800000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "usable");
    cr_assert_eq(r.ram[0].flags, K23_FDT_FLAG_USABLE_MEMORY);
    free(b.data);
}

Test(fdt_memmap, ram_at_the_top_of_the_address_space)
{
    struct blob b = load("top");
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK);
    static const struct span want[] = {
        {0xfffffffffff00000, 0xfffffffffffff000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "top");
    cr_assert_eq(k23_range_last(r.ram[0].range), UINT64_MAX);
    /* without the reservation the free region ends at 2^64 */
    const k23_range_t nothing[] = {{0, 0}};
    struct result r2;
    struct blob b2 = b;
    cr_assert_eq(run(&b2, 12, nothing, 1, &r2), K23_OK);
    /* still reserved by /memreserve/: same map */
    expect_free(&r2, want, ARRAY_LEN(want), "top");
    free(b.data);
}

Test(fdt_memmap, reserved_memory_uses_its_own_cells)
{
    struct blob b = load("resv-own-cells");
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK);
    static const struct span want[] = {
        {0x80000000, 0x80100000},
        {0x80102000, 0x90000000},
    };
    expect_free(&r, want, ARRAY_LEN(want), "resv-own-cells");
    cr_assert_eq(r.map.ram_count, 1, "memory node without reg adds nothing");
    cr_assert_eq(r.map.taken_count, 1);
    cr_assert_eq(r.taken[0].range.size, 0x2000);
    cr_assert_eq(r.map.dynamic_count, 1);
    cr_assert_eq(r.dyn[0].range.size, 0x100000);
    cr_assert_eq(r.dyn[0].align, 0x10000);
    free(b.data);
}

Test(fdt_memmap, tree_without_memory_gives_an_empty_map)
{
    struct blob b = load("empty");
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK);
    cr_assert_eq(r.map.ram_count, 0);
    cr_assert_eq(r.map.free_count, 0);
    cr_assert_eq(r.map.taken_count, 0);
    free(b.data);
}

/* ---- malformed sources ---- */

Test(fdt_memmap, every_malformed_source_gives_its_error)
{
    static const struct {
        const char *name;
        int err;
    } cases[] = {
        {"bad-cells3", K23_ERR_FDT_CELLS},
        {"bad-size-cells0", K23_ERR_FDT_CELLS},
        {"bad-cells-len", K23_ERR_FDT_CELLS},
        {"bad-resv-cells", K23_ERR_FDT_CELLS},
        {"bad-reg-len", K23_ERR_FDT_REG},
        {"bad-resv-reg-len", K23_ERR_FDT_REG},
        {"bad-initrd-width", K23_ERR_FDT_REG},
        {"bad-dyn-size", K23_ERR_FDT_REG},
        {"bad-overflow", K23_ERR_FDT_RANGE},
        {"bad-resv-overflow", K23_ERR_FDT_RANGE},
        {"bad-memreserve-overflow", K23_ERR_FDT_RANGE},
        {"bad-initrd-reversed", K23_ERR_FDT_RANGE},
        {"bad-initrd-half", K23_ERR_FDT_RANGE},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct blob b = load(cases[i].name);
        struct result r;
        int err = run(&b, 12, NULL, 0, &r);
        cr_assert_eq(err, cases[i].err, "%s: got %s, want %s", cases[i].name,
                     k23_strerror_name(err), k23_strerror_name(cases[i].err));
        cr_assert_not_null(r.diag.what, "%s: diag names the part",
                           cases[i].name);
        cr_assert_eq(r.map.free_count, 0, "%s: counts untouched",
                     cases[i].name);
        free(b.data);
    }
}

/* ---- corrupt blobs ---- */

static void put_be32(void *blob, size_t off, uint32_t v)
{
    unsigned char *p = (unsigned char *)blob + off;
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

Test(fdt_memmap, wrong_magic_and_version_are_named)
{
    struct blob b = load("basic");
    struct result r;
    put_be32(b.data, 0, 0xd00dfeee);
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_ERR_FDT_MAGIC);
    put_be32(b.data, 0, FDT_MAGIC);
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK);
    /* last_comp_version (offset 24) newer than libfdt knows */
    put_be32(b.data, 24, 0x20);
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_ERR_FDT_VERSION);
    cr_assert_eq(r.diag.libfdt_err, -FDT_ERR_BADVERSION);
    /* version (offset 20) older than any libfdt reads */
    put_be32(b.data, 24, 0x10);
    put_be32(b.data, 20, 0x1);
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_ERR_FDT_VERSION);
    /* versions 2..15 libfdt would read, but we refuse (its
     * fdt_check_full() crashes on some: tests/fuzz/corpus) */
    put_be32(b.data, 20, 0x7);
    put_be32(b.data, 24, 0x0);
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_ERR_FDT_VERSION);
    put_be32(b.data, 20, 0x10);
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_OK, "version 16 is read");
    free(b.data);
}

Test(fdt_memmap, truncated_blobs_are_refused)
{
    struct blob b = load("basic");
    struct result r;
    size_t full = b.size;
    size_t sizes[] = {0, 3, 4, 27, 39, 40, full / 2, full - 1};
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        b.size = sizes[i];
        int err = run(&b, 12, NULL, 0, &r);
        cr_assert_eq(err, K23_ERR_FDT_TRUNCATED, "size %zu: %s", sizes[i],
                     k23_strerror_name(err));
    }
    /* totalsize (offset 4) pointing past the end */
    b.size = full;
    put_be32(b.data, 4, (uint32_t)full + 64);
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_ERR_FDT_TRUNCATED);
    free(b.data);
}

Test(fdt_memmap, corrupt_structure_block_is_refused)
{
    struct blob b = load("basic");
    struct result r;
    uint32_t off_struct = fdt_off_dt_struct(b.data);
    /* the first token must be FDT_BEGIN_NODE; make it garbage */
    put_be32(b.data, off_struct, 0x77);
    int err = run(&b, 12, NULL, 0, &r);
    cr_assert_eq(err, K23_ERR_FDT_CORRUPT, "%s", k23_strerror_name(err));
    free(b.data);
    /* structure block claimed to run past the blob */
    b = load("basic");
    put_be32(b.data, 36, (uint32_t)b.size);
    err = run(&b, 12, NULL, 0, &r);
    cr_assert(err == K23_ERR_FDT_CORRUPT || err == K23_ERR_FDT_TRUNCATED, "%s",
              k23_strerror_name(err));
    free(b.data);
}

/* A property length of 0xfffffff4 (-12 as libfdt's int offsets see it)
 * sends libfdt 1.6.1's fdt_check_full() round the same token forever
 * (found by tests/fuzz, kept in tests/fuzz/corpus). Our own token walk
 * must refuse it first: the timeout turns a hang into a failure. */
Test(fdt_memmap, property_length_running_backwards_is_refused_quickly,
     .timeout = 20)
{
    struct blob b = load("basic");
    struct result r;
    uint32_t off = fdt_off_dt_struct(b.data);
    unsigned char *p = b.data;
    /* find the first FDT_PROP token: after the root's BEGIN_NODE "" */
    uint32_t tok = off + 8;
    cr_assert_eq(fdt32_ld((const fdt32_t *)(p + tok)), FDT_PROP);
    put_be32(b.data, tok + 4, 0xfffffff4u);
    int err = run(&b, 12, NULL, 0, &r);
    cr_assert_eq(err, K23_ERR_FDT_CORRUPT, "%s", k23_strerror_name(err));
    free(b.data);
}

Test(fdt_memmap, misaligned_blob_is_refused)
{
    struct blob b = load("basic");
    unsigned char *buf = malloc(b.size + 8);
    memcpy(buf + 4, b.data, b.size);
    struct blob m = {buf + 4, b.size};
    struct result r;
    cr_assert_eq(run(&m, 12, NULL, 0, &r), K23_ERR_ALIGN);
    free(buf);
    free(b.data);
}

/* The /memreserve/ block off its 8-byte boundary: libfdt would read it
 * through misaligned struct pointers (found by tests/fuzz with libfdt
 * instrumented, kept in tests/fuzz/corpus), so it is refused first. */
Test(fdt_memmap, misaligned_memreserve_block_is_refused)
{
    struct blob b = load("basic");
    struct result r;
    put_be32(b.data, 16, fdt_off_mem_rsvmap(b.data) + 4);
    int err = run(&b, 12, NULL, 0, &r);
    cr_assert_eq(err, K23_ERR_FDT_CORRUPT, "%s", k23_strerror_name(err));
    cr_assert_not_null(strstr(r.diag.what, "off_mem_rsvmap"));
    free(b.data);
}

/* basic.dtb with pad bytes inserted in front of the memory reservation
 * block: the header's offsets moved along, otherwise the same blob. The
 * result is 8-byte aligned (over-allocated, freed through *base). */
static struct blob shift_rsvmap(const struct blob *b, uint32_t pad,
                                void **base)
{
    uint32_t at = fdt_off_mem_rsvmap(b->data);
    unsigned char *buf = calloc(1, b->size + pad + 8);
    cr_assert_not_null(buf);
    *base = buf;
    memcpy(buf, b->data, at);
    memcpy(buf + at + pad, (unsigned char *)b->data + at, b->size - at);
    put_be32(buf, 4, fdt_totalsize(b->data) + pad);
    put_be32(buf, 16, at + pad);
    /* offsets 8 (structure) and 12 (strings): moved if after the block */
    for (size_t off = 8; off <= 12; off += 4) {
        uint32_t v = fdt32_ld((const fdt32_t *)(buf + off));
        if (v >= at)
            put_be32(buf, off, v + pad);
    }
    return (struct blob){buf, b->size + pad};
}

Test(fdt_memmap, misaligned_reservation_block_is_refused)
{
    struct blob b = load("basic");
    struct result good, r;
    cr_assert_eq(run(&b, 12, NULL, 0, &good), K23_OK);
    void *base;
    /* 8 bytes of padding: still aligned, the same map */
    struct blob m = shift_rsvmap(&b, 8, &base);
    cr_assert_eq(run(&m, 12, NULL, 0, &r), K23_OK);
    cr_assert_eq(r.map.free_count, good.map.free_count);
    cr_assert_eq(r.map.taken_count, good.map.taken_count);
    cr_assert_arr_eq(r.free, good.free,
                     good.map.free_count * sizeof(good.free[0]));
    free(base);
    /* 4 bytes: the block is misaligned and the blob refused, by name */
    m = shift_rsvmap(&b, 4, &base);
    int err = run(&m, 12, NULL, 0, &r);
    cr_assert_eq(err, K23_ERR_FDT_CORRUPT, "%s", k23_strerror_name(err));
    cr_assert_not_null(r.diag.what);
    cr_assert_not_null(strstr(r.diag.what, "off_mem_rsvmap"));
    free(base);
    free(b.data);
}

/* Flip bytes all over a good blob: every outcome is an error or a map that
 * keeps the invariants; never a crash. */
Test(fdt_memmap, flipped_bytes_never_crash_or_break_invariants)
{
    struct blob good = load("basic");
    struct blob b = {malloc(good.size), good.size};
    static const unsigned char xors[] = {0x01, 0x80, 0xff, 0x10};
    size_t ok = 0, bad = 0;
    for (size_t i = 0; i < good.size; i++) {
        for (size_t x = 0; x < ARRAY_LEN(xors); x++) {
            memcpy(b.data, good.data, good.size);
            ((unsigned char *)b.data)[i] ^= xors[x];
            struct result r;
            int err = run(&b, 12, NULL, 0, &r);
            if (err == K23_OK) {
                ok++;
                check_invariants(&r, 12);
            } else {
                bad++;
                cr_assert(err < 0 && err != K23_ERR_INVAL, "byte %zu ^ %#x: %d",
                          i, xors[x], err);
            }
        }
    }
    cr_assert(ok > 0 && bad > 0, "both outcomes happen (%zu ok, %zu bad)", ok,
              bad);
    free(b.data);
    free(good.data);
}

/* ---- arguments and capacity ---- */

Test(fdt_memmap, bad_arguments_are_invalid)
{
    struct blob b = load("basic");
    struct result r;
    result_init(&r);
    k23_fdt_memmap_config_t cfg = {.page_log2 = 12};
    cr_assert_eq(k23_fdt_memmap(NULL, b.size, &cfg, &r.map, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, NULL, &r.map, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, NULL, NULL),
                 K23_ERR_INVAL);
    cfg.page_log2 = K23_FDT_PAGE_LOG2_MAX + 1;
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &r.map, NULL),
                 K23_ERR_INVAL);
    cfg.page_log2 = K23_FDT_PAGE_LOG2_MAX;
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &r.map, NULL), K23_OK);
    cfg.page_log2 = 12;
    cfg.nexclude = 1;
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &r.map, NULL),
                 K23_ERR_INVAL);
    const k23_range_t wraps = {UINT64_MAX, 2};
    cfg.exclude = &wraps;
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &r.map, NULL),
                 K23_ERR_INVAL);
    cfg.nexclude = 0;
    r.map.free = NULL;
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &r.map, NULL),
                 K23_ERR_INVAL);
    free(b.data);
}

Test(fdt_memmap, small_arrays_report_how_many_are_needed)
{
    struct blob b = load("basic");
    k23_fdt_memmap_config_t cfg = {.page_log2 = 12};
    k23_fdt_region_t ram[2], taken[4], dyn[2];
    k23_range_t fr[5];
    /* each list one short in turn */
    for (int shrink = 0; shrink < 4; shrink++) {
        k23_fdt_memmap_t m = {
            .ram = ram,
            .ram_cap = 2 - (shrink == 0),
            .taken = taken,
            .taken_cap = 4 - (shrink == 1),
            .dynamic = dyn,
            .dynamic_cap = 2 - (shrink == 2),
            .free = fr,
            .free_cap = 5 - (shrink == 3),
        };
        cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &m, NULL),
                     K23_ERR_NOSPACE, "shrink %d", shrink);
        cr_assert_eq(m.ram_count, 2);
        cr_assert_eq(m.taken_count, 4);
        cr_assert_eq(m.dynamic_count, 2);
        if (shrink >= 2)
            cr_assert_eq(m.free_count, 5, "exact when ram and taken fit");
        else
            cr_assert_geq(m.free_count, 5, "enough when they do not");
    }
    /* all NULL with capacity 0: a counting pass */
    k23_fdt_memmap_t none = {0};
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &none, NULL),
                 K23_ERR_NOSPACE);
    cr_assert_eq(none.ram_count, 2);
    cr_assert_eq(none.taken_count, 4);
    /* exact sizes succeed */
    k23_fdt_memmap_t m = {
        .ram = ram,
        .ram_cap = 2,
        .taken = taken,
        .taken_cap = 4,
        .dynamic = dyn,
        .dynamic_cap = 2,
        .free = fr,
        .free_cap = 5,
    };
    cr_assert_eq(k23_fdt_memmap(b.data, b.size, &cfg, &m, NULL), K23_OK);
    cr_assert_eq(m.free_count, 5);
    free(b.data);
}

Test(fdt_memmap, errors_map_from_libfdt_and_kinds_have_names)
{
    cr_assert_eq(k23_fdt_error(0), K23_OK);
    cr_assert_eq(k23_fdt_error(-FDT_ERR_BADMAGIC), K23_ERR_FDT_MAGIC);
    cr_assert_eq(k23_fdt_error(-FDT_ERR_BADVERSION), K23_ERR_FDT_VERSION);
    cr_assert_eq(k23_fdt_error(-FDT_ERR_TRUNCATED), K23_ERR_FDT_TRUNCATED);
    cr_assert_eq(k23_fdt_error(-FDT_ERR_BADNCELLS), K23_ERR_FDT_CELLS);
    cr_assert_eq(k23_fdt_error(-FDT_ERR_BADVALUE), K23_ERR_FDT_REG);
    cr_assert_eq(k23_fdt_error(-FDT_ERR_BADSTRUCTURE), K23_ERR_FDT_CORRUPT);
    cr_assert_eq(k23_fdt_error(-FDT_ERR_NOTFOUND), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_fdt_error(-12345), K23_ERR_FDT_CORRUPT);
    cr_assert_str_eq(k23_fdt_kind_name(K23_FDT_KIND_RAM), "RAM");
    cr_assert_str_eq(k23_fdt_kind_name(K23_FDT_KIND_DYNAMIC), "dynamic");
    cr_assert_str_eq(k23_fdt_kind_name(0), "unknown");
    for (int e = K23_ERR_FDT_RANGE; e <= K23_ERR_FDT_MAGIC; e++)
        cr_assert_str_neq(k23_strerror(e), "unknown libk23mem error");
}

/* ---- model-based randomized test ---- */

/* Every address lies in a 64 KiB window at base W; a byte bitmap of the
 * window is the reference. */
#define WIN 65536u

struct model {
    uint64_t win;
    unsigned char ram[WIN], hole[WIN];
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t rnd_below(uint64_t n)
{
    return n == 0 ? 0 : rnd() % n;
}

/* A random range inside the window, often page-ish, sometimes empty. */
static void rnd_range(struct model *m, uint32_t *off, uint32_t *size)
{
    uint32_t o = (uint32_t)rnd_below(WIN);
    if (rnd() & 1)
        o &= ~0xffu;
    uint32_t s = (uint32_t)rnd_below((uint64_t)WIN - o + 1);
    if (rnd() % 4 == 0) {
        uint32_t small = (uint32_t)rnd_below(512);
        s = small <= WIN - o ? small : 0;
    }
    *off = o;
    *size = s;
    (void)m;
}

static void mark(unsigned char *bits, uint32_t off, uint32_t size)
{
    memset(bits + off, 1, size);
}

static void put_reg(void *fdt, const char *name, uint64_t base, uint64_t size)
{
    fdt32_t cells[4] = {
        cpu_to_fdt32((uint32_t)(base >> 32)),
        cpu_to_fdt32((uint32_t)base),
        cpu_to_fdt32((uint32_t)(size >> 32)),
        cpu_to_fdt32((uint32_t)size),
    };
    cr_assert_eq(fdt_property(fdt, name, cells, sizeof(cells)), 0);
}

static void build_random(struct model *m, void *buf, int bufsize,
                         k23_range_t *excl, size_t *nexcl)
{
    memset(m->ram, 0, WIN);
    memset(m->hole, 0, WIN);
    uint32_t o, s;
    cr_assert_eq(fdt_create(buf, bufsize), 0);
    unsigned nrsv = (unsigned)rnd_below(3);
    for (unsigned i = 0; i < nrsv; i++) {
        rnd_range(m, &o, &s);
        cr_assert_eq(fdt_add_reservemap_entry(buf, m->win + o, s), 0);
        mark(m->hole, o, s);
    }
    cr_assert_eq(fdt_finish_reservemap(buf), 0);
    cr_assert_eq(fdt_begin_node(buf, ""), 0);
    cr_assert_eq(fdt_property_u32(buf, "#address-cells", 2), 0);
    cr_assert_eq(fdt_property_u32(buf, "#size-cells", 2), 0);
    unsigned nmem = (unsigned)rnd_below(3);
    for (unsigned n = 0; n < nmem; n++) {
        char name[32];
        snprintf(name, sizeof(name), "memory@%u", n);
        cr_assert_eq(fdt_begin_node(buf, name), 0);
        cr_assert_eq(fdt_property_string(buf, "device_type", "memory"), 0);
        bool disabled = rnd() % 5 == 0;
        if (disabled)
            cr_assert_eq(fdt_property_string(buf, "status", "disabled"), 0);
        unsigned nreg = 1 + (unsigned)rnd_below(3);
        fdt32_t cells[12];
        for (unsigned i = 0; i < nreg; i++) {
            rnd_range(m, &o, &s);
            uint64_t base = m->win + o;
            cells[4 * i + 0] = cpu_to_fdt32((uint32_t)(base >> 32));
            cells[4 * i + 1] = cpu_to_fdt32((uint32_t)base);
            cells[4 * i + 2] = 0;
            cells[4 * i + 3] = cpu_to_fdt32(s);
            if (!disabled)
                mark(m->ram, o, s);
        }
        cr_assert_eq(fdt_property(buf, "reg", cells, nreg * 16), 0);
        cr_assert_eq(fdt_end_node(buf), 0);
    }
    cr_assert_eq(fdt_begin_node(buf, "reserved-memory"), 0);
    cr_assert_eq(fdt_property_u32(buf, "#address-cells", 2), 0);
    cr_assert_eq(fdt_property_u32(buf, "#size-cells", 2), 0);
    unsigned nres = (unsigned)rnd_below(4);
    for (unsigned n = 0; n < nres; n++) {
        char name[32];
        snprintf(name, sizeof(name), "r@%u", n);
        cr_assert_eq(fdt_begin_node(buf, name), 0);
        rnd_range(m, &o, &s);
        bool disabled = rnd() % 4 == 0;
        if (disabled)
            cr_assert_eq(fdt_property_string(buf, "status", "disabled"), 0);
        if (rnd() & 1)
            cr_assert_eq(fdt_property(buf, "no-map", NULL, 0), 0);
        put_reg(buf, "reg", m->win + o, s);
        if (!disabled)
            mark(m->hole, o, s);
        cr_assert_eq(fdt_end_node(buf), 0);
    }
    cr_assert_eq(fdt_end_node(buf), 0);
    cr_assert_eq(fdt_begin_node(buf, "chosen"), 0);
    if (rnd() & 1) {
        rnd_range(m, &o, &s);
        if (s != 0 && m->win + o + s == 0)
            s--; /* an initrd end of 2^64 cannot be written in 64 bits */
        cr_assert_eq(fdt_property_u64(buf, "linux,initrd-start", m->win + o),
                     0);
        cr_assert_eq(fdt_property_u64(buf, "linux,initrd-end", m->win + o + s),
                     0);
        mark(m->hole, o, s);
    }
    cr_assert_eq(fdt_end_node(buf), 0);
    cr_assert_eq(fdt_end_node(buf), 0);
    cr_assert_eq(fdt_finish(buf), 0);
    *nexcl = (size_t)rnd_below(3);
    for (size_t i = 0; i < *nexcl; i++) {
        rnd_range(m, &o, &s);
        excl[i] = (k23_range_t){m->win + o, s};
        mark(m->hole, o, s);
    }
}

/* Reference: a page is free when every byte is RAM and none is a hole;
 * free pages are joined into runs. */
static size_t reference(const struct model *m, unsigned page_log2,
                        struct span *out, size_t cap)
{
    uint32_t page = 1u << page_log2;
    size_t n = 0;
    bool open = false;
    for (uint32_t p = 0; p < WIN; p += page) {
        bool free_page = true;
        for (uint32_t i = p; i < p + page && free_page; i++)
            free_page = m->ram[i] && !m->hole[i];
        if (free_page && !open) {
            cr_assert(n < cap);
            out[n].start = m->win + p;
            open = true;
        }
        if (!free_page && open) {
            out[n++].end = m->win + p;
            open = false;
        }
    }
    if (open)
        out[n++].end = m->win + WIN; /* wraps to 0 for the top window */
    return n;
}

Test(fdt_memmap, random_trees_match_a_byte_bitmap_model)
{
    static struct model m;
    static const uint64_t windows[] = {
        0,
        0x80000000,
        UINT64_C(0xffffffff00000000) + 0x7fff0000,
        UINT64_MAX - WIN + 1,
    };
    static unsigned char buf[16384] __attribute__((aligned(8)));
    rng_state = UINT64_C(0x9e3779b97f4a7c15);
    for (int iter = 0; iter < 3000; iter++) {
        m.win = windows[iter % ARRAY_LEN(windows)];
        k23_range_t excl[4];
        size_t nexcl = 0;
        build_random(&m, buf, sizeof(buf), excl, &nexcl);
        unsigned page_log2 = (unsigned)rnd_below(9);
        struct blob b = {buf, fdt_totalsize(buf)};
        struct result r;
        int err = run(&b, page_log2, excl, nexcl, &r);
        cr_assert_eq(err, K23_OK, "iter %d: %s (%s)", iter, k23_strerror(err),
                     r.diag.what);
        struct span want[CAP];
        size_t n = reference(&m, page_log2, want, CAP);
        char what[64];
        snprintf(what, sizeof(what), "iter %d window %#llx page 2^%u", iter,
                 (unsigned long long)m.win, page_log2);
        expect_free(&r, want, n, what);
        check_invariants(&r, page_log2);
    }
}

Test(fdt_memmap, ram_covering_all_2_64_bytes_cannot_be_described)
{
    static unsigned char buf[4096] __attribute__((aligned(8)));
    cr_assert_eq(fdt_create(buf, sizeof(buf)), 0);
    cr_assert_eq(fdt_finish_reservemap(buf), 0);
    cr_assert_eq(fdt_begin_node(buf, ""), 0);
    cr_assert_eq(fdt_property_u32(buf, "#address-cells", 2), 0);
    cr_assert_eq(fdt_property_u32(buf, "#size-cells", 2), 0);
    cr_assert_eq(fdt_begin_node(buf, "memory@0"), 0);
    cr_assert_eq(fdt_property_string(buf, "device_type", "memory"), 0);
    fdt32_t cells[8] = {
        0,
        0,
        cpu_to_fdt32(0x80000000),
        0,
        cpu_to_fdt32(0x80000000),
        0,
        cpu_to_fdt32(0x80000000),
        0,
    };
    cr_assert_eq(fdt_property(buf, "reg", cells, sizeof(cells)), 0);
    cr_assert_eq(fdt_end_node(buf), 0);
    cr_assert_eq(fdt_end_node(buf), 0);
    cr_assert_eq(fdt_finish(buf), 0);
    struct blob b = {buf, fdt_totalsize(buf)};
    struct result r;
    cr_assert_eq(run(&b, 12, NULL, 0, &r), K23_ERR_FDT_RANGE);
    /* one byte taken out anywhere makes it describable */
    const k23_range_t one = {0x1234, 1};
    cr_assert_eq(run(&b, 12, &one, 1, &r), K23_OK);
    static const struct span want[] = {
        {0, 0x1000},
        {0x2000, 0},
    };
    expect_free(&r, want, ARRAY_LEN(want), "all but one page");
}
