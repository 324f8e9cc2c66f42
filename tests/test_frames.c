/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of the frame allocator (k23mem/frames.h) on the hosted port:
 * "physical memory" is an mmap'd buffer (phys == virt), or, for the tests at
 * address 0 and at the top of the 64-bit space, a buffer reached through
 * the config's phys_to_virt hook.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"
#include "k23mem/frames.h"
#include "one_cpu.h"
#include "k23_port_hosted_test.h"

TestSuite(frames);

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define F4K (UINT64_C(4096))

/* ---- fixtures ---- */

/* An mmap'd buffer aligned to `align`, never touched here. */
static unsigned char *ram_map(uint64_t size, uint64_t align)
{
    size_t total = (size_t)(size + align);
    void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert(p != MAP_FAILED);
    uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    return (unsigned char *)a;
}

/* Each Criterion test runs in its own process and needs one allocator:
 * static storage, as a kernel would use (and nothing for LeakSanitizer). */
static k23_frames_t fa_storage;

static k23_frames_t *fa_new(void)
{
    return &fa_storage;
}

static k23_frames_config_t cfg_4k(unsigned cache)
{
    k23_frames_config_t c;
    cr_assert_eq(k23_frames_config_default(&c, F4K), K23_OK);
    c.cache_frames = cache;
    if (cache != 0 && c.cache_batch > cache)
        c.cache_batch = cache;
    return c;
}

static k23_range_t rg(const void *p, uint64_t off, uint64_t size)
{
    k23_range_t r = {(uint64_t)(uintptr_t)p + off, size};
    return r;
}

static k23_frames_stats_t stats(k23_frames_t *fa)
{
    k23_frames_stats_t s;
    cr_assert_eq(k23_frames_stats(fa, &s), K23_OK);
    return s;
}

static void assert_consistent(k23_frames_t *fa)
{
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    k23_frames_stats_t s = stats(fa);
    cr_assert_eq(s.free_frames + s.cached_frames + s.allocated_frames,
                 s.total_frames);
}

/* One 16 MiB region in a 4 MiB-aligned buffer. */
static k23_frames_t *fa_simple(unsigned cache, unsigned char **ram_out)
{
    unsigned char *ram = ram_map(16 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(cache);
    k23_range_t r = rg(ram, 0, 16 * MiB);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    if (ram_out != NULL)
        *ram_out = ram;
    return fa;
}

/* ---- configuration and building ---- */

Test(frames, config_default_accepts_4k_to_64k_frames_only)
{
    k23_frames_config_t c;
    cr_assert_eq(k23_frames_config_default(&c, 4096), K23_OK);
    cr_assert_eq(c.max_order, 10); /* 4 MiB blocks */
    cr_assert_eq(c.hole_budget, 11 * KiB);
    cr_assert_eq(k23_frames_config_default(&c, 65536), K23_OK);
    cr_assert_eq(c.max_order, 6);
    cr_assert_eq(k23_frames_config_default(&c, 2048), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_config_default(&c, 128 * KiB), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_config_default(&c, 12288), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_config_default(NULL, 4096), K23_ERR_INVAL);
}

Test(frames, init_rejects_invalid_arguments_and_overlaps)
{
    unsigned char *ram = ram_map(4 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(0);
    k23_range_t r[2] = {rg(ram, 0, 2 * MiB), rg(ram, 1 * MiB, 2 * MiB)};
    cr_assert_eq(k23_frames_init(fa, r, 2, &c, NULL, 0, NULL),
                 K23_ERR_OVERLAP);
    cr_assert_eq(k23_frames_init(NULL, r, 1, &c, NULL, 0, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_init(fa, NULL, 1, &c, NULL, 0, NULL),
                 K23_ERR_INVAL);
    k23_range_t wrap = {UINT64_MAX - 10, 100};
    cr_assert_eq(k23_frames_init(fa, &wrap, 1, &c, NULL, 0, NULL),
                 K23_ERR_INVAL);
    k23_frames_config_t bad = c;
    bad.max_order = K23_FRAMES_ORDER_LIMIT;
    cr_assert_eq(k23_frames_init(fa, r, 1, &bad, NULL, 0, NULL),
                 K23_ERR_INVAL);
    bad = c;
    bad.cache_frames = 8;
    bad.cache_batch = 9;
    cr_assert_eq(k23_frames_init(fa, r, 1, &bad, NULL, 0, NULL),
                 K23_ERR_INVAL);
    bad = c;
    bad.frame_size = 3000;
    cr_assert_eq(k23_frames_init(fa, r, 1, &bad, NULL, 0, NULL),
                 K23_ERR_INVAL);
    /* nothing usable at all */
    k23_range_t tiny = rg(ram, 100, 4000);
    size_t nrej = 0;
    k23_range_t rej[1];
    cr_assert_eq(k23_frames_init(fa, &tiny, 1, &c, rej, 1, &nrej),
                 K23_ERR_TOO_SMALL);
    cr_assert_eq(nrej, 1);
    cr_assert_eq(rej[0].base, tiny.base);
}

Test(frames, single_region_is_one_arena_with_bookkeeping_inside)
{
    unsigned char *ram;
    k23_frames_t *fa = fa_simple(0, &ram);
    k23_frames_stats_t s = stats(fa);
    cr_assert_eq(s.narenas, 1);
    uint64_t frames = 16 * MiB / F4K;
    uint64_t bk = (k23_arena_meta_bytes_(frames, 0) + F4K - 1) / F4K;
    cr_assert_eq(s.total_frames, frames - bk);
    cr_assert_eq(s.free_frames, s.total_frames);
    cr_assert_eq(s.allocated_frames, 0);
    cr_assert(s.metadata_bytes <= 16 * frames);
    k23_frames_arena_info_t ai;
    cr_assert_eq(k23_frames_arena_info(fa, 0, &ai), K23_OK);
    cr_assert_eq(ai.range.base, (uint64_t)(uintptr_t)ram);
    cr_assert_eq(ai.range.size, 16 * MiB);
    /* bookkeeping carved from the top of the region */
    cr_assert_eq(ai.bookkeeping.base + ai.bookkeeping.size,
                 (uint64_t)(uintptr_t)ram + 16 * MiB);
    cr_assert_eq(k23_frames_max_alignment(fa), 4 * MiB);
    cr_assert_eq(k23_frames_arena_info(fa, 1, &ai), K23_ERR_INVAL);
    assert_consistent(fa);
}

Test(frames, unaligned_regions_are_aligned_inward)
{
    unsigned char *ram = ram_map(8 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(0);
    k23_range_t r = rg(ram, 100, 4 * MiB - 200);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    k23_frames_arena_info_t ai;
    cr_assert_eq(k23_frames_arena_info(fa, 0, &ai), K23_OK);
    cr_assert_eq(ai.range.base, (uint64_t)(uintptr_t)ram + F4K);
    cr_assert_eq(ai.range.size, 4 * MiB - 2 * F4K);
    assert_consistent(fa);
}

Test(frames, regions_with_holes_merge_and_holes_are_never_handed_out)
{
    unsigned char *ram = ram_map(32 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(8);
    /* given out of order, with a 1 MiB hole and a 3-frame hole */
    k23_range_t r[3] = {rg(ram, 9 * MiB + 3 * F4K, 7 * MiB - 3 * F4K),
                        rg(ram, 0, 8 * MiB), rg(ram, 8 * MiB + 1 * MiB, 0)};
    r[2] = rg(ram, 16 * MiB, 0); /* empty: ignored */
    k23_range_t rr[3] = {r[0], r[1], rg(ram, 8 * MiB + 512 * KiB, 256 * KiB)};
    cr_assert_eq(k23_frames_init(fa, rr, 3, &c, NULL, 0, NULL), K23_OK);
    k23_frames_stats_t s = stats(fa);
    cr_assert_eq(s.narenas, 1);
    cr_assert_eq(s.hole_frames, (512 * KiB + 256 * KiB + 3 * F4K) / F4K);
    /* allocate everything: no frame may be in a hole */
    uint64_t n = 0;
    k23_paddr_t pa;
    uint64_t base = (uint64_t)(uintptr_t)ram;
    while (k23_frames_alloc_one(fa, &pa) == K23_OK) {
        uint64_t off = pa - base;
        bool in_region = off < 8 * MiB ||
                         (off >= 8 * MiB + 512 * KiB &&
                          off < 8 * MiB + 768 * KiB) ||
                         (off >= 9 * MiB + 3 * F4K && off < 16 * MiB);
        cr_assert(in_region, "frame at offset %#llx is in a hole",
                  (unsigned long long)off);
        n++;
    }
    cr_assert_eq(n, s.total_frames);
    assert_consistent(fa);
}

Test(frames, zero_hole_budget_keeps_regions_in_separate_arenas)
{
    unsigned char *ram = ram_map(16 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(0);
    c.hole_budget = 0;
    k23_range_t r[2] = {rg(ram, 0, 4 * MiB), rg(ram, 4 * MiB + F4K, 4 * MiB)};
    cr_assert_eq(k23_frames_init(fa, r, 2, &c, NULL, 0, NULL), K23_OK);
    cr_assert_eq(stats(fa).narenas, 2);
    cr_assert_eq(stats(fa).hole_frames, 0);
    /* touching regions merge without any hole */
    k23_range_t t[2] = {rg(ram, 0, 4 * MiB), rg(ram, 4 * MiB, 4 * MiB)};
    cr_assert_eq(k23_frames_init(fa, t, 2, &c, NULL, 0, NULL), K23_OK);
    cr_assert_eq(stats(fa).narenas, 1);
    assert_consistent(fa);
}

Test(frames, region_too_small_for_bookkeeping_is_reported_not_fatal)
{
    unsigned char *ram = ram_map(64 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(0);
    c.hole_budget = 0;
    /* one frame: its bookkeeping would take the frame itself */
    k23_range_t r[3] = {rg(ram, 32 * MiB, F4K), rg(ram, 0, 4 * MiB),
                        rg(ram, 40 * MiB, 100)};
    k23_range_t rej[4];
    size_t nrej = 99;
    cr_assert_eq(k23_frames_init(fa, r, 3, &c, rej, 4, &nrej), K23_OK);
    cr_assert_eq(nrej, 2);
    /* both reported, in any order */
    cr_assert(rej[0].base != rej[1].base);
    for (int i = 0; i < 2; i++)
        cr_assert(rej[i].base == r[0].base || rej[i].base == r[2].base);
    cr_assert_eq(stats(fa).narenas, 1);
    /* a capacity too small still counts them all */
    cr_assert_eq(k23_frames_init(fa, r, 3, &c, rej, 1, &nrej), K23_OK);
    cr_assert_eq(nrej, 2);
}

Test(frames, one_usable_frame_arena_works)
{
    unsigned char *ram = ram_map(4 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(4);
    k23_range_t r = rg(ram, 3 * F4K, 2 * F4K);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    k23_frames_stats_t s = stats(fa);
    cr_assert_eq(s.total_frames, 1);
    k23_paddr_t pa, pb;
    cr_assert_eq(k23_frames_alloc_one_zeroed(fa, &pa), K23_OK);
    cr_assert_eq(pa, r.base);
    cr_assert_eq(k23_frames_alloc_one(fa, &pb), K23_ERR_NOMEM);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 1, 0, &pb), K23_ERR_NOMEM);
    k23_frames_free_one(fa, pa);
    assert_consistent(fa);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, F4K, 12, &pb), K23_OK);
    cr_assert_eq(pb, pa);
    cr_assert_eq(k23_frames_free_contiguous(fa, pb, F4K), K23_OK);
    k23_frames_drain_all(fa);
    cr_assert_eq(stats(fa).free_frames, 1);
    assert_consistent(fa);
}

Test(frames, huge_region_is_split_at_max_arena_frames)
{
    unsigned char *ram = ram_map(64 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(0);
    c.max_arena_frames = 16 * MiB / F4K;
    k23_range_t r = rg(ram, 0, 40 * MiB);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    cr_assert_eq(stats(fa).narenas, 3);
    k23_frames_arena_info_t a0, a1;
    k23_frames_arena_info(fa, 0, &a0);
    k23_frames_arena_info(fa, 1, &a1);
    cr_assert_eq(a0.range.size, 16 * MiB);
    cr_assert_eq(a1.range.base, a0.range.base + 16 * MiB);
    assert_consistent(fa);
}

/* ---- address 0 and the top of the 64-bit space ---- */

struct xlate {
    uint64_t phys_base;
    unsigned char *buf;
};

static void *xlate_fn(void *ctx, k23_paddr_t pa)
{
    struct xlate *x = ctx;
    return x->buf + (pa - x->phys_base);
}

static void exercise(k23_frames_t *fa, uint64_t lo, uint64_t last)
{
    k23_frames_stats_t s0 = stats(fa);
    k23_paddr_t *v = calloc(s0.total_frames, sizeof(*v));
    uint64_t n = 0;
    while (k23_frames_alloc_one_zeroed(fa, &v[n]) == K23_OK) {
        cr_assert(v[n] >= lo && v[n] + (F4K - 1) <= last);
        n++;
    }
    cr_assert_eq(n, s0.total_frames);
    for (uint64_t i = 0; i < n; i++)
        k23_frames_free_one(fa, v[i]);
    k23_frames_drain_all(fa);
    k23_frames_stats_t s1 = stats(fa);
    cr_assert_arr_eq(s0.free_blocks, s1.free_blocks, sizeof(s0.free_blocks));
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_contiguous_zeroed(fa, 3 * F4K + 1, 14, &pa),
                 K23_OK);
    cr_assert_eq(pa & (16 * KiB - 1), 0);
    cr_assert_eq(k23_frames_free_contiguous(fa, pa, 3 * F4K + 1), K23_OK);
    assert_consistent(fa);
    free(v);
}

Test(frames, region_at_physical_address_zero)
{
    struct xlate x = {0, ram_map(8 * MiB, 4 * MiB)};
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(4);
    c.phys_to_virt = xlate_fn;
    c.phys_to_virt_ctx = &x;
    k23_range_t r = {0, 8 * MiB};
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    k23_frames_arena_info_t ai;
    k23_frames_arena_info(fa, 0, &ai);
    cr_assert_eq(ai.range.base, 0);
    cr_assert_eq(k23_frames_max_alignment(fa), 4 * MiB);
    /* frame 0 is a valid frame: it must be handed out at some point */
    exercise(fa, 0, 8 * MiB - 1);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 4 * MiB, 22, &pa), K23_OK);
    cr_assert_eq(pa, 0);
    cr_assert_eq(k23_frames_free_contiguous(fa, pa, 4 * MiB), K23_OK);
}

Test(frames, region_ending_at_the_top_of_the_address_space)
{
    uint64_t size = 8 * MiB;
    struct xlate x = {UINT64_MAX - size + 1, ram_map(size, 4 * MiB)};
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(4);
    c.phys_to_virt = xlate_fn;
    c.phys_to_virt_ctx = &x;
    /* unaligned start: aligned inward; ends exactly at 2^64 */
    k23_range_t r = {x.phys_base - 100, size + 100};
    x.phys_base -= 0; /* buffer maps [phys_base, 2^64) */
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    k23_frames_arena_info_t ai;
    k23_frames_arena_info(fa, 0, &ai);
    cr_assert_eq(ai.range.base, x.phys_base);
    cr_assert_eq(ai.range.size, size);
    exercise(fa, x.phys_base, UINT64_MAX);
    /* the very last frame can be allocated with a limit at the top */
    k23_frames_req_t req = {F4K, 12, 0, UINT64_MAX};
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc(fa, &req, &pa), K23_OK);
    k23_frames_free_one(fa, pa);
}

/* ---- allocation ---- */

Test(frames, allocating_everything_then_freeing_restores_initial_state)
{
    unsigned char *ram;
    k23_frames_t *fa = fa_simple(16, &ram);
    k23_frames_stats_t s0 = stats(fa);
    k23_paddr_t *v = calloc(s0.total_frames, sizeof(*v));
    uint64_t *sz = calloc(s0.total_frames, sizeof(*sz));
    uint64_t n = 0, frames = 0;
    /* mixed sizes first, then single frames until exhaustion */
    static const uint64_t sizes[] = {3 * F4K, 257 * F4K, 5000, 2 * MiB, 1};
    for (unsigned i = 0; i < 20; i++) {
        uint64_t s = sizes[i % 5];
        if (k23_frames_alloc_contiguous(fa, s, 0, &v[n]) == K23_OK) {
            sz[n++] = s;
            frames += (s + F4K - 1) / F4K;
        }
    }
    while (k23_frames_alloc_one(fa, &v[n]) == K23_OK) {
        sz[n++] = F4K;
        frames++;
    }
    cr_assert_eq(frames, s0.total_frames);
    k23_frames_stats_t s1 = stats(fa);
    cr_assert_eq(s1.allocated_frames, s0.total_frames);
    cr_assert_eq(s1.free_frames + s1.cached_frames, 0);
    assert_consistent(fa);
    for (uint64_t i = n; i-- > 0;) {
        if (sz[i] == F4K && (i & 1))
            k23_frames_free_one(fa, v[i]);
        else
            cr_assert_eq(k23_frames_free_contiguous(fa, v[i], sz[i]), K23_OK);
    }
    k23_frames_drain_all(fa);
    k23_frames_stats_t s2 = stats(fa);
    cr_assert_eq(s2.free_frames, s0.free_frames);
    cr_assert_arr_eq(s2.free_blocks, s0.free_blocks, sizeof(s0.free_blocks));
    assert_consistent(fa);
    free(v);
    free(sz);
}

Test(frames, runs_take_exactly_ceil_size_over_frame_frames)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    uint64_t free0 = stats(fa).free_frames;
    k23_paddr_t a, b, c, d;
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 3 * F4K, 0, &a), K23_OK);
    cr_assert_eq(stats(fa).free_frames, free0 - 3);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 257 * F4K, 0, &b), K23_OK);
    cr_assert_eq(stats(fa).free_frames, free0 - 260);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 5000, 0, &c), K23_OK);
    cr_assert_eq(stats(fa).free_frames, free0 - 262);
    /* alignment far larger than the size */
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 1, 22, &d), K23_OK);
    cr_assert_eq(d & (4 * MiB - 1), 0);
    cr_assert_eq(stats(fa).free_frames, free0 - 263);
    assert_consistent(fa);
    /* the frames right after a 3-frame run are free for others */
    cr_assert_eq(k23_frames_free_contiguous(fa, a, 3 * F4K), K23_OK);
    cr_assert_eq(k23_frames_free_contiguous(fa, b, 257 * F4K), K23_OK);
    cr_assert_eq(k23_frames_free_contiguous(fa, c, 5000), K23_OK);
    cr_assert_eq(k23_frames_free_contiguous(fa, d, 1), K23_OK);
    cr_assert_eq(stats(fa).free_frames, free0);
    assert_consistent(fa);
}

Test(frames, runs_larger_than_the_largest_block_and_bad_alignment)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_paddr_t pa;
    /* 9 MiB spans three 4 MiB blocks; found through the bitmap */
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 9 * MiB, 21, &pa), K23_OK);
    cr_assert_eq(pa & (2 * MiB - 1), 0);
    assert_consistent(fa);
    cr_assert_eq(k23_frames_free_contiguous(fa, pa, 9 * MiB), K23_OK);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, F4K, 23, &pa),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 0, 0, &pa), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 17 * MiB, 0, &pa),
                 K23_ERR_NOMEM);
    k23_frames_req_t req = {F4K, 0, 0x80, K23_FRAMES_NO_LIMIT};
    cr_assert_eq(k23_frames_alloc(fa, &req, &pa), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_free_contiguous(fa, 0, 0), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_free_contiguous(fa, 12, F4K), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_one(fa, NULL), K23_ERR_INVAL);
    assert_consistent(fa);
}

Test(frames, runs_are_found_across_buddy_blocks_when_fragmented)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_frames_stats_t s0 = stats(fa);
    k23_paddr_t *v = calloc(s0.total_frames, sizeof(*v));
    uint64_t n = 0;
    while (k23_frames_alloc_one(fa, &v[n]) == K23_OK)
        n++;
    /* free frames 4k+1, 4k+2, 4k+3: no free order-2 block anywhere, but
     * 3-frame runs exist straddling order-0 and order-1 blocks */
    for (uint64_t i = 0; i < n; i++)
        if (((v[i] / F4K) & 3) != 0)
            k23_frames_free_one(fa, v[i]);
    cr_assert_eq(stats(fa).free_blocks[2], 0);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 3 * F4K, 0, &pa), K23_OK);
    cr_assert_eq((pa / F4K) & 3, 1);
    assert_consistent(fa);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 4 * F4K, 0, &pa),
                 K23_ERR_NOMEM);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 2 * F4K, 13, &pa), K23_OK);
    cr_assert_eq((pa / F4K) & 3, 2);
    assert_consistent(fa);
    free(v);
}

static void dirty_all(k23_frames_t *fa)
{
    k23_frames_stats_t s = stats(fa);
    k23_paddr_t *v = calloc(s.total_frames, sizeof(*v));
    uint64_t n = 0;
    while (k23_frames_alloc_one(fa, &v[n]) == K23_OK) {
        memset((void *)(uintptr_t)v[n], 0xa5, F4K);
        n++;
    }
    for (uint64_t i = 0; i < n; i++)
        k23_frames_free_one(fa, v[i]);
    k23_frames_drain_all(fa);
    free(v);
}

Test(frames, zeroed_variants_zero_every_byte)
{
    unsigned char *ram = ram_map(4 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(8);
    k23_range_t r = rg(ram, 0, 4 * MiB);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    dirty_all(fa);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_contiguous_zeroed(fa, 37 * F4K - 5, 0, &pa),
                 K23_OK);
    const unsigned char *p = (const unsigned char *)(uintptr_t)pa;
    for (uint64_t i = 0; i < 37 * F4K; i++)
        cr_assert_eq(p[i], 0, "byte %llu not zero", (unsigned long long)i);
    cr_assert_eq(k23_frames_alloc_one_zeroed(fa, &pa), K23_OK);
    p = (const unsigned char *)(uintptr_t)pa;
    for (uint64_t i = 0; i < F4K; i++)
        cr_assert_eq(p[i], 0);
    k23_paddr_t v[5];
    cr_assert_eq(k23_frames_alloc_bulk(fa, 5, K23_FRAMES_ZERO,
                                       K23_FRAMES_NO_LIMIT, v),
                 K23_OK);
    for (int j = 0; j < 5; j++)
        for (uint64_t i = 0; i < F4K; i += 8)
            cr_assert_eq(*(const uint64_t *)(uintptr_t)(v[j] + i), 0);
}

Test(frames, physical_limit_is_respected)
{
    unsigned char *ram = ram_map(32 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(8);
    c.hole_budget = 0;
    k23_range_t r[2] = {rg(ram, 0, 8 * MiB), rg(ram, 16 * MiB, 16 * MiB)};
    cr_assert_eq(k23_frames_init(fa, r, 2, &c, NULL, 0, NULL), K23_OK);
    uint64_t base = (uint64_t)(uintptr_t)ram;
    /* limit in the middle of the low arena */
    k23_paddr_t limit = base + 5 * MiB - 1;
    k23_frames_req_t one = {F4K, 0, 0, limit};
    k23_paddr_t pa;
    uint64_t n = 0;
    while (k23_frames_alloc(fa, &one, &pa) == K23_OK) {
        cr_assert(pa + F4K - 1 <= limit);
        n++;
    }
    cr_assert_eq(n, 5 * MiB / F4K);
    assert_consistent(fa);
    /* limit below all memory */
    k23_frames_req_t none = {F4K, 0, 0, base - 1};
    cr_assert_eq(k23_frames_alloc(fa, &none, &pa), K23_ERR_NOMEM);
    /* bulk with a limit: all-or-nothing */
    k23_paddr_t v[8];
    cr_assert_eq(k23_frames_alloc_bulk(fa, 1, 0, limit, v), K23_ERR_NOMEM);
    k23_paddr_t lim2 = base + 5 * MiB + 8 * F4K - 1;
    uint64_t before = stats(fa).free_frames;
    cr_assert_eq(k23_frames_alloc_bulk(fa, 9, 0, lim2, v), K23_ERR_NOMEM);
    cr_assert_eq(stats(fa).free_frames, before);
    cr_assert_eq(k23_frames_alloc_bulk(fa, 8, 0, lim2, v), K23_OK);
    for (int i = 0; i < 8; i++)
        cr_assert(v[i] + F4K - 1 <= lim2);
    /* an aligned run under a limit */
    k23_frames_req_t run = {64 * KiB, 16, 0, base + 8 * MiB - 1};
    cr_assert_eq(k23_frames_alloc(fa, &run, &pa), K23_OK);
    cr_assert(pa + 64 * KiB - 1 <= run.limit && (pa & 0xffff) == 0);
    assert_consistent(fa);
}

Test(frames, bulk_is_all_or_nothing)
{
    unsigned char *ram = ram_map(4 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(8);
    k23_range_t r = rg(ram, 0, 1 * MiB);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    uint64_t total = stats(fa).total_frames;
    k23_paddr_t *v = calloc(total + 1, sizeof(*v));
    /* some frames sit in a cache: bulk must still see them */
    k23_paddr_t one;
    cr_assert_eq(k23_frames_alloc_one(fa, &one), K23_OK);
    k23_frames_free_one(fa, one);
    cr_assert(stats(fa).cached_frames > 0);
    v[0] = 0x1234;
    cr_assert_eq(k23_frames_alloc_bulk(fa, total + 1, 0, K23_FRAMES_NO_LIMIT,
                                       v),
                 K23_ERR_NOMEM);
    cr_assert_eq(v[0], 0x1234);
    cr_assert_eq(stats(fa).allocated_frames, 0);
    cr_assert_eq(k23_frames_alloc_bulk(fa, total, 0, K23_FRAMES_NO_LIMIT, v),
                 K23_OK);
    cr_assert_eq(stats(fa).allocated_frames, total);
    for (uint64_t i = 1; i < total; i++)
        cr_assert_neq(v[i], v[i - 1]);
    cr_assert_eq(k23_frames_alloc_bulk(fa, 0, 0, K23_FRAMES_NO_LIMIT, v),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_free_bulk(fa, total, v), K23_OK);
    k23_frames_drain_all(fa);
    cr_assert_eq(stats(fa).free_frames, total);
    assert_consistent(fa);
    free(v);
}

Test(frames, exhaustion_and_recovery_through_caches)
{
    k23_frames_t *fa = fa_simple(64, NULL);
    uint64_t total = stats(fa).total_frames;
    k23_paddr_t *v = calloc(total, sizeof(*v));
    for (int round = 0; round < 3; round++) {
        uint64_t n = 0;
        while (k23_frames_alloc_one(fa, &v[n]) == K23_OK)
            n++;
        cr_assert_eq(n, total, "round %d: %llu of %llu", round,
                     (unsigned long long)n, (unsigned long long)total);
        k23_paddr_t x;
        cr_assert_eq(k23_frames_alloc_contiguous(fa, 1, 0, &x),
                     K23_ERR_NOMEM);
        for (uint64_t i = 0; i < n; i++)
            k23_frames_free_one(fa, v[i]);
        k23_frames_stats_t s = stats(fa);
        cr_assert(s.cached_frames <= 64 * K23_FRAMES_MAX_CPUS);
        cr_assert_eq(s.free_frames + s.cached_frames, total);
        /* a run of all but one frame needs the cached frames back: the
         * allocator drains every cache and retries */
        cr_assert_eq(k23_frames_alloc_contiguous(fa, (total - 1) * F4K, 0,
                                                 &x),
                     K23_OK);
        cr_assert_eq(stats(fa).cached_frames, 0);
        cr_assert_eq(k23_frames_free_contiguous(fa, x, (total - 1) * F4K),
                     K23_OK);
        assert_consistent(fa);
    }
    free(v);
}

Test(frames, drain_cpu_returns_cached_frames)
{
    k23_frames_t *fa = fa_simple(32, NULL);
    k23_paddr_t v[20];
    for (int i = 0; i < 20; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &v[i]), K23_OK);
    for (int i = 0; i < 20; i++)
        k23_frames_free_one(fa, v[i]);
    cr_assert(stats(fa).cached_frames >= 20);
    for (unsigned cpu = 0; cpu < k23_port_cpu_count(); cpu++)
        k23_frames_drain_cpu(fa, cpu);
    cr_assert_eq(stats(fa).cached_frames, 0);
    cr_assert_eq(stats(fa).free_frames, stats(fa).total_frames);
    assert_consistent(fa);
}

Test(frames, cache_is_bounded)
{
    k23_frames_t *fa = fa_simple(8, NULL);
    k23_paddr_t v[200];
    for (int i = 0; i < 200; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &v[i]), K23_OK);
    for (int i = 0; i < 200; i++) {
        k23_frames_free_one(fa, v[i]);
        cr_assert(stats(fa).cached_frames <= 8 * k23_port_cpu_count());
    }
    assert_consistent(fa);
}

/* ---- bookkeeping never touches free frames ---- */

Test(frames, init_and_allocation_touch_only_bookkeeping)
{
    uint64_t size = 64 * MiB;
    unsigned char *ram = ram_map(size, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(16);
    k23_range_t r[2] = {rg(ram, 0, 30 * MiB), rg(ram, 31 * MiB, 33 * MiB)};
    cr_assert_eq(k23_frames_init(fa, r, 2, &c, NULL, 0, NULL), K23_OK);
    k23_frames_arena_info_t ai;
    cr_assert_eq(k23_frames_arena_info(fa, 0, &ai), K23_OK);
    /* only bookkeeping pages are resident */
    size_t pages = size / F4K;
    unsigned char *vec = malloc(pages);
    cr_assert_eq(mincore(ram, size, vec), 0);
    uint64_t bk0 = (ai.bookkeeping.base - (uint64_t)(uintptr_t)ram) / F4K;
    uint64_t bkn = ai.bookkeeping.size / F4K;
    for (size_t i = 0; i < pages; i++)
        if (i < bk0 || i >= bk0 + bkn)
            cr_assert_eq(vec[i] & 1, 0, "page %zu touched", i);
    /* and with all other memory inaccessible, the allocator still works
     * (nothing is zeroed here) */
    cr_assert_eq(mprotect(ram, bk0 * F4K, PROT_NONE), 0);
    cr_assert_eq(mprotect(ram + (bk0 + bkn) * F4K,
                          size - (bk0 + bkn) * F4K, PROT_NONE),
                 0);
    k23_paddr_t v[300];
    for (int i = 0; i < 300; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &v[i]), K23_OK);
    k23_paddr_t run;
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 257 * F4K, 0, &run), K23_OK);
    for (int i = 0; i < 300; i++)
        k23_frames_free_one(fa, v[i]);
    cr_assert_eq(k23_frames_free_contiguous(fa, run, 257 * F4K), K23_OK);
    k23_frames_drain_all(fa);
    assert_consistent(fa);
    free(vec);
}

/* ---- misuse ---- */

Test(frames, double_free_panics, .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    k23_frames_free_one(fa, pa);
    k23_frames_free_one(fa, pa);
}

Test(frames, double_free_into_a_cache_panics, .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(16, NULL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    k23_frames_free_one(fa, pa);
    k23_frames_free_one(fa, pa);
}

Test(frames, free_of_never_allocated_frame_panics, .signal = SIGABRT)
{
    unsigned char *ram;
    k23_frames_t *fa = fa_simple(16, &ram);
    k23_frames_free_one(fa, (uint64_t)(uintptr_t)ram + 5 * F4K);
}

Test(frames, free_of_unowned_memory_panics, .signal = SIGABRT)
{
    unsigned char *ram;
    k23_frames_t *fa = fa_simple(16, &ram);
    k23_frames_free_one(fa, (uint64_t)(uintptr_t)ram + 64 * MiB);
}

Test(frames, free_of_bookkeeping_panics, .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_frames_arena_info_t ai;
    k23_frames_arena_info(fa, 0, &ai);
    k23_frames_free_contiguous(fa, ai.bookkeeping.base, F4K);
}

Test(frames, free_of_partly_allocated_range_panics, .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 3 * F4K, 0, &pa), K23_OK);
    k23_frames_free_contiguous(fa, pa, 4 * F4K);
}

Test(frames, free_of_unaligned_address_panics, .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    k23_frames_free_one(fa, pa + 8);
}

/* The cache-hit free checks ownership and alignment with one compare of
 * the address rotated by the frame shift: every kind of bad address must
 * still be caught on that path (caches on, one arena). */
Test(frames, free_of_unaligned_address_into_a_cache_panics,
     .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(16, NULL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    k23_frames_free_one(fa, pa + 8);
}

/* free_one of the frame at byte offset off of fa_simple(cache)'s region
 * (off may be negative: below it): each caller expects a panic. */
static void free_one_at(unsigned cache, int64_t off)
{
    unsigned char *ram;
    k23_frames_t *fa = fa_simple(cache, &ram);
    cr_assert_eq(fa->single_fast, cache == 0);
    k23_frames_free_one(fa, (uint64_t)(uintptr_t)ram + (uint64_t)off);
}

Test(frames, free_of_the_frame_below_the_arena_with_caches_panics,
     .signal = SIGABRT)
{
    free_one_at(16, -(int64_t)F4K);
}

Test(frames, free_of_the_frame_past_the_arena_with_caches_panics,
     .signal = SIGABRT)
{
    free_one_at(16, (int64_t)(16 * MiB));
}

Test(frames, free_inside_a_64k_frame_with_caches_panics, .signal = SIGABRT)
{
    unsigned char *ram = ram_map(16 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c;
    cr_assert_eq(k23_frames_config_default(&c, 64 * KiB), K23_OK);
    c.cache_frames = 16;
    c.cache_batch = 8;
    k23_range_t r = rg(ram, 0, 16 * MiB);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    k23_frames_free_one(fa, pa + F4K); /* 4 KiB aligned, not 64 KiB */
}

/* The same with the caches off: single frames free through the arena's
 * one-lock path (k23_arena_free_one_), which must catch each of them. */
Test(frames, free_of_never_allocated_frame_with_caches_off_panics,
     .signal = SIGABRT)
{
    free_one_at(0, (int64_t)(5 * F4K));
}

Test(frames, free_of_the_frame_below_the_arena_with_caches_off_panics,
     .signal = SIGABRT)
{
    free_one_at(0, -(int64_t)F4K);
}

Test(frames, free_of_the_frame_past_the_arena_with_caches_off_panics,
     .signal = SIGABRT)
{
    free_one_at(0, (int64_t)(16 * MiB));
}

Test(frames, free_one_of_a_bookkeeping_frame_with_caches_off_panics,
     .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_frames_arena_info_t ai;
    k23_frames_arena_info(fa, 0, &ai);
    k23_frames_free_one(fa, ai.bookkeeping.base);
}

Test(frames, free_one_of_a_hole_frame_with_caches_off_panics,
     .signal = SIGABRT)
{
    unsigned char *ram = ram_map(16 * MiB, 4 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(0);
    k23_range_t r[2] = {rg(ram, 0, 8 * MiB),
                        rg(ram, 8 * MiB + 3 * F4K, 8 * MiB - 3 * F4K)};
    cr_assert_eq(k23_frames_init(fa, r, 2, &c, NULL, 0, NULL), K23_OK);
    cr_assert_eq(stats(fa).narenas, 1);
    cr_assert(fa->single_fast);
    k23_frames_free_one(fa, (uint64_t)(uintptr_t)ram + 8 * MiB + F4K);
}

static uint64_t free_2m_blocks(k23_frames_t *fa);

/* A chunk whose counter claims a free frame its bits do not have (the
 * only partly free chunk, so the caches-off allocation goes to it):
 * corrupt bookkeeping is a panic, not a frame handed out twice. */
Test(frames, caches_off_allocation_from_a_miscounted_chunk_panics,
     .signal = SIGABRT)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    uint64_t rest = stats(fa).free_frames - free_2m_blocks(fa) * 512;
    k23_paddr_t pa;
    for (uint64_t i = 0; i < rest; i++) /* the partly used chunks, full */
        cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 2 * MiB, 21, &pa), K23_OK);
    k23_frames_arena_t *a = &fa->arenas[0];
    uint64_t c = (pa / F4K - a->bit_base) / 512;
    a->chunk_free[c] = 1;
    a->partial[c / 64] |= UINT64_C(1) << (c % 64);
    k23_frames_alloc_one(fa, &pa);
}

Test(frames, checker_reports_corruption)
{
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    k23_frames_arena_t *a = &fa->arenas[0];
    uint64_t pfn = pa / F4K, w = k23_arena_word_(a, pfn);
    uint64_t m = k23_arena_bit_(pfn);
    /* an allocated frame claimed free in the busy bits */
    a->busy[w] ^= m;
    cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    a->busy[w] ^= m;
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    /* a free frame marked cached: (0, 1) is no state */
    uint64_t fw = w, fm = m << 1;
    cr_assert_eq(a->busy[fw] & fm, 0, "the next frame is free");
    a->cached[fw] ^= fm;
    cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    a->cached[fw] ^= fm;
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    /* an allocated frame marked cached, in no cache */
    a->cached[w] ^= m;
    cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    a->cached[w] ^= m;
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    /* a bookkeeping frame that reads as allocated */
    uint64_t mp = a->meta_pfn;
    a->cached[k23_arena_word_(a, mp)] ^= k23_arena_bit_(mp);
    cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    a->cached[k23_arena_word_(a, mp)] ^= k23_arena_bit_(mp);
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    /* a chunk counter off by one */
    uint64_t c = (pfn - a->bit_base) / K23_FRAMES_CHUNK_FRAMES;
    a->chunk_free[c]++;
    cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    a->chunk_free[c]--;
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    /* a partly used chunk claimed entirely free */
    a->whole[c / 64] ^= UINT64_C(1) << (c % 64);
    cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    a->whole[c / 64] ^= UINT64_C(1) << (c % 64);
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    /* a stripe's free counter off by one */
    a->stripes[a->nstripes - 1].free++;
    cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    a->stripes[a->nstripes - 1].free--;
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    /* padding before the arena's first frame that reads as free */
    if (a->base_pfn != a->bit_base) {
        a->busy[0] ^= 1;
        a->cached[0] ^= 1;
        cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT);
    }
}

Test(frames, checker_reports_corrupt_cache_entries)
{
    /* one frame in a cache, then its entry (physical address, arena index
     * in the low bits) damaged in each way the checker must notice */
    k23_frames_t *fa = fa_simple(8, NULL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    k23_frames_free_one(fa, pa);
    k23_frames_pcpu_t *c = NULL;
    for (unsigned i = 0; i < fa->ncaches; i++)
        if (fa->caches[i].hdr.count != 0)
            c = &fa->caches[i];
    cr_assert_not_null(c);
    cr_assert_geq(c->hdr.count, 2, "the refill cached a batch");
    cr_assert_eq(k23_frames_check(fa), K23_OK);
    uint32_t top = c->hdr.count - 1;
    uint64_t good = c->frames[top];
    const k23_frames_arena_t *a = &fa->arenas[0];
    uint64_t bad[] = {
        good | 1,                          /* arena 1 does not exist */
        good | 0x800,                      /* bits below the frame size */
        (a->base_pfn + a->nframes) * F4K,  /* just past the arena */
        (a->base_pfn - 1) * F4K,           /* just before it */
        c->frames[0],                      /* a frame cached twice */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c->frames[top] = bad[i];
        cr_assert_eq(k23_frames_check(fa), K23_ERR_CORRUPT, "case %zu", i);
    }
    c->frames[top] = good;
    cr_assert_eq(k23_frames_check(fa), K23_OK);
}

/* ---- model-based randomized test ---- */

/* The shadow model: for every frame of the buffer, whether the allocator
 * manages it and which live allocation (if any) holds it. Every operation
 * of the API is mixed in; results are checked against the model, failures
 * (NOMEM) are checked to be justified, and the invariant checker runs after
 * every batch. */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MODEL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MODEL_SANITIZED 1
#endif
#endif
#ifndef MODEL_SANITIZED
#define MODEL_SANITIZED 0
#endif

/* Plain builds run a million operations; sanitizer builds and
 * K23_DEBUG >= 3 (a whole-arena walk after every operation) run fewer.
 * K23_FRAMES_MODEL_OPS overrides either. */
static uint64_t model_ops(void)
{
    const char *env = getenv("K23_FRAMES_MODEL_OPS");
    if (env != NULL && *env != '\0')
        return strtoull(env, NULL, 0);
    if (MODEL_SANITIZED || K23_DEBUG >= 3)
        return 30000;
    return 1000000;
}

struct live {
    k23_paddr_t pa;
    uint64_t n;    /* frames */
    uint64_t size; /* bytes as requested */
    uint32_t tag;
};

struct model {
    k23_frames_t *fa;
    unsigned char *ram;
    uint64_t base_pfn, nframes;
    unsigned char *managed; /* per frame of the buffer */
    uint32_t *owner;        /* 0 free, else tag */
    struct live *lv;
    size_t nlive, cap;
    uint64_t allocated;
    uint64_t total;
    uint64_t rng;
    uint32_t next_tag;
};

static uint64_t rnd(struct model *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static uint64_t rnd_below(struct model *m, uint64_t n)
{
    return rnd(m) % n;
}

/* Frames [i, i + n) of the buffer: managed and free in the model. */
static bool model_run_free(const struct model *m, uint64_t i, uint64_t n)
{
    for (uint64_t j = i; j < i + n; j++)
        if (!m->managed[j] || m->owner[j] != 0)
            return false;
    return true;
}

static bool model_has_run(const struct model *m, uint64_t n, unsigned align,
                          uint64_t limit_pfn)
{
    uint64_t a = UINT64_C(1) << align;
    uint64_t run = 0;
    for (uint64_t i = 0; i < m->nframes; i++) {
        uint64_t pfn = m->base_pfn + i;
        if (pfn >= limit_pfn)
            break;
        if (!m->managed[i] || m->owner[i] != 0) {
            run = 0;
            continue;
        }
        run++;
        if (run >= n && ((pfn + 1 - n) & (a - 1)) == 0)
            return true;
    }
    /* an aligned start with n frames after it: checked precisely */
    for (uint64_t i = 0; i + n <= m->nframes; i++) {
        uint64_t pfn = m->base_pfn + i;
        if ((pfn & (a - 1)) != 0 || pfn + n > limit_pfn)
            continue;
        if (model_run_free(m, i, n))
            return true;
    }
    return false;
}

static uint64_t model_free_below(const struct model *m, uint64_t limit_pfn)
{
    uint64_t c = 0;
    for (uint64_t i = 0; i < m->nframes && m->base_pfn + i < limit_pfn; i++)
        c += m->managed[i] && m->owner[i] == 0;
    return c;
}

static void model_take(struct model *m, k23_paddr_t pa, uint64_t n,
                       uint64_t size, bool zeroed)
{
    uint64_t i0 = pa / F4K - m->base_pfn;
    cr_assert(pa % F4K == 0 && pa / F4K >= m->base_pfn &&
              i0 + n <= m->nframes, "allocation outside memory");
    uint32_t tag = ++m->next_tag;
    for (uint64_t j = i0; j < i0 + n; j++) {
        cr_assert(m->managed[j], "frame %#llx not managed",
                  (unsigned long long)((m->base_pfn + j) * F4K));
        cr_assert(m->owner[j] == 0, "frame %#llx handed out twice",
                  (unsigned long long)((m->base_pfn + j) * F4K));
        m->owner[j] = tag;
        uint64_t *w = (uint64_t *)(uintptr_t)((m->base_pfn + j) * F4K);
        if (zeroed) {
            cr_assert(w[0] == 0 && w[F4K / 8 - 1] == 0 && w[17] == 0,
                      "zeroed frame not zero");
        }
        w[0] = tag;
        w[F4K / 8 - 1] = ~(uint64_t)tag;
    }
    if (m->nlive == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 1024;
        m->lv = realloc(m->lv, m->cap * sizeof(*m->lv));
    }
    m->lv[m->nlive++] = (struct live){pa, n, size, tag};
    m->allocated += n;
}

static void model_release(struct model *m, k23_paddr_t pa, uint64_t n,
                          uint32_t tag)
{
    uint64_t i0 = pa / F4K - m->base_pfn;
    for (uint64_t j = i0; j < i0 + n; j++) {
        cr_assert_eq(m->owner[j], tag);
        const uint64_t *w = (const uint64_t *)(uintptr_t)((m->base_pfn + j) *
                                                          F4K);
        cr_assert(w[0] == tag && w[F4K / 8 - 1] == ~(uint64_t)tag,
                  "frame %#llx was overwritten while allocated",
                  (unsigned long long)((m->base_pfn + j) * F4K));
        m->owner[j] = 0;
    }
    m->allocated -= n;
}

static uint64_t model_limit_pfn(k23_paddr_t limit)
{
    return limit / F4K + ((limit % F4K) == F4K - 1);
}

static void model_op(struct model *m)
{
    k23_frames_t *fa = m->fa;
    uint64_t r = rnd_below(m, 100);
    bool want_free = m->allocated * 10 > m->total * 8 ||
                     (m->nlive > 0 && r < 45);
    k23_paddr_t pa;

    if (want_free && m->nlive > 0) {
        size_t k = (size_t)rnd_below(m, m->nlive);
        struct live l = m->lv[k];
        m->lv[k] = m->lv[--m->nlive];
        model_release(m, l.pa, l.n, l.tag);
        uint64_t how = rnd_below(m, 4);
        if (l.n == 1 && how < 2) {
            k23_frames_free_one(fa, l.pa);
        } else if (l.n > 1 && how == 0) {
            /* free a run in two pieces */
            uint64_t cut = 1 + rnd_below(m, l.n - 1);
            cr_assert_eq(k23_frames_free_contiguous(fa, l.pa + cut * F4K,
                                                    (l.n - cut) * F4K),
                         K23_OK);
            cr_assert_eq(k23_frames_free_contiguous(fa, l.pa, cut * F4K - 7),
                         K23_OK);
        } else {
            cr_assert_eq(k23_frames_free_contiguous(fa, l.pa, l.size),
                         K23_OK);
        }
        return;
    }

    r = rnd_below(m, 100);
    if (r < 40) {
        bool zero = rnd_below(m, 4) == 0;
        int rc = zero ? k23_frames_alloc_one_zeroed(fa, &pa)
                      : k23_frames_alloc_one(fa, &pa);
        if (rc == K23_OK)
            model_take(m, pa, 1, F4K, zero);
        else
            cr_assert(rc == K23_ERR_NOMEM &&
                      model_free_below(m, UINT64_MAX) == 0);
    } else if (r < 80) {
        /* sizes: mostly small, sometimes hundreds of frames; not
         * multiples of the frame size */
        uint64_t nf = rnd_below(m, 8) == 0 ? 1 + rnd_below(m, 600)
                                           : 1 + rnd_below(m, 12);
        uint64_t size = nf * F4K - rnd_below(m, F4K);
        unsigned align = (unsigned)rnd_below(m, 23);
        uint32_t flags = rnd_below(m, 8) == 0 ? K23_FRAMES_ZERO : 0;
        k23_paddr_t limit = K23_FRAMES_NO_LIMIT;
        if (rnd_below(m, 4) == 0)
            limit = (m->base_pfn + rnd_below(m, m->nframes + 1)) * F4K +
                    rnd_below(m, F4K) - 1;
        k23_frames_req_t req = {size, align, flags, limit};
        int rc = k23_frames_alloc(fa, &req, &pa);
        unsigned fal = align > 12 ? align - 12 : 0;
        if (rc == K23_OK) {
            cr_assert_eq(pa & ((UINT64_C(1) << align) - 1), 0);
            cr_assert(pa + nf * F4K - 1 <= limit);
            model_take(m, pa, nf, size, flags != 0);
        } else {
            cr_assert_eq(rc, K23_ERR_NOMEM);
            cr_assert(!model_has_run(m, nf, fal, model_limit_pfn(limit)),
                      "NOMEM although a run of %llu frames aligned 2^%u "
                      "exists", (unsigned long long)nf, fal);
        }
    } else if (r < 90) {
        size_t n = 1 + (size_t)rnd_below(m, 64);
        k23_paddr_t v[64];
        k23_paddr_t limit = K23_FRAMES_NO_LIMIT;
        if (rnd_below(m, 3) == 0)
            limit = (m->base_pfn + rnd_below(m, m->nframes + 1)) * F4K - 1;
        int rc = k23_frames_alloc_bulk(fa, n, 0, limit, v);
        if (rc == K23_OK) {
            for (size_t i = 0; i < n; i++) {
                cr_assert(v[i] + F4K - 1 <= limit);
                model_take(m, v[i], 1, F4K, false);
            }
        } else {
            cr_assert_eq(rc, K23_ERR_NOMEM);
            cr_assert(model_free_below(m, model_limit_pfn(limit)) < n);
        }
    } else if (r < 93) {
        k23_frames_drain_cpu(fa, (unsigned)rnd_below(m, 8));
    } else {
        k23_frames_stats_t s = stats(fa);
        cr_assert_eq(s.allocated_frames, m->allocated);
        cr_assert_eq(s.free_frames + s.cached_frames,
                     m->total - m->allocated);
    }
}

/* The model test over three regions: two arenas (a 3-frame hole merged,
 * an 8 MiB one not) with caches of 16 frames, or with the caches off
 * (caches_off); or (one_arena) the two regions around the 3-frame hole
 * alone, one arena with a hole, caches off: the single frames' one-lock
 * path (k23_arena_take_one_) straight from k23_frames_alloc_one. */
static void model_run_with(bool caches_off, bool one_arena, uint64_t ops)
{
    bool caches_off_one_arena = caches_off && one_arena;
    struct model m;
    memset(&m, 0, sizeof(m));
    uint64_t size = 64 * MiB;
    m.ram = ram_map(size, 4 * MiB);
    m.base_pfn = (uint64_t)(uintptr_t)m.ram / F4K;
    m.nframes = size / F4K;
    m.managed = calloc(m.nframes, 1);
    m.owner = calloc(m.nframes, sizeof(*m.owner));
    m.rng = 0x9e3779b97f4a7c15ull;
    m.fa = fa_new();
    k23_frames_config_t c = cfg_4k(caches_off ? 0 : 16);
    if (!caches_off)
        c.cache_batch = 4;
    c.hole_budget = 256; /* the 3-frame hole merges, 8 MiB does not */
    k23_range_t all[3] = {rg(m.ram, 48 * MiB + 5000, 16 * MiB - 5000),
                          rg(m.ram, 0, 20 * MiB),
                          rg(m.ram, 20 * MiB + 3 * F4K, 20 * MiB - 3 * F4K)};
    const k23_range_t *r = caches_off_one_arena ? all + 1 : all;
    int nr = caches_off_one_arena ? 2 : 3;
    cr_assert_eq(k23_frames_init(m.fa, r, (size_t)nr, &c, NULL, 0, NULL),
                 K23_OK);
    cr_assert_eq(stats(m.fa).narenas, caches_off_one_arena ? 1u : 2u);
    cr_assert_eq(m.fa->single_fast, caches_off_one_arena);
    for (int i = 0; i < nr; i++) {
        uint64_t s = (r[i].base + F4K - 1) / F4K - m.base_pfn;
        uint64_t e = (r[i].base + r[i].size) / F4K - m.base_pfn;
        memset(m.managed + s, 1, e - s);
    }
    for (unsigned i = 0; i < stats(m.fa).narenas; i++) {
        k23_frames_arena_info_t ai;
        k23_frames_arena_info(m.fa, i, &ai);
        uint64_t s = ai.bookkeeping.base / F4K - m.base_pfn;
        memset(m.managed + s, 0, ai.bookkeeping.size / F4K);
    }
    for (uint64_t i = 0; i < m.nframes; i++)
        m.total += m.managed[i];
    k23_frames_stats_t s0 = stats(m.fa);
    cr_assert_eq(s0.total_frames, m.total);

    for (uint64_t i = 1; i <= ops; i++) {
        model_op(&m);
        if (i % 1000 == 0)
            cr_assert_eq(k23_frames_check(m.fa), K23_OK, "after op %llu",
                         (unsigned long long)i);
    }
    /* free everything: back to exactly the initial free blocks */
    while (m.nlive > 0) {
        struct live l = m.lv[--m.nlive];
        model_release(&m, l.pa, l.n, l.tag);
        cr_assert_eq(k23_frames_free_contiguous(m.fa, l.pa, l.size), K23_OK);
    }
    k23_frames_drain_all(m.fa);
    k23_frames_stats_t s1 = stats(m.fa);
    cr_assert_eq(s1.free_frames, s0.free_frames);
    cr_assert_arr_eq(s1.free_blocks, s0.free_blocks, sizeof(s0.free_blocks));
    cr_assert_eq(k23_frames_check(m.fa), K23_OK);
    cr_log_info("model: %llu operations", (unsigned long long)ops);
    free(m.managed);
    free(m.owner);
    free(m.lv);
}

Test(frames, model_based_random_operations, .timeout = 600)
{
    model_run_with(false, false, model_ops());
}

Test(frames, model_based_random_operations_caches_off_one_arena,
     .timeout = 600)
{
    model_run_with(true, true, model_ops() / 2);
}

Test(frames, model_based_random_operations_caches_off_two_arenas,
     .timeout = 600)
{
    model_run_with(true, false, model_ops() / 2);
}

/* Frames freed on one CPU are not stranded in its cache: move the thread
 * between CPUs (where the machine has two) and allocate everything. */
Test(frames, frames_freed_on_one_cpu_are_not_stranded)
{
    if (k23_port_cpu_count() < 2)
        cr_skip_test("needs two CPUs");
    cpu_set_t set0, set1, old;
    CPU_ZERO(&set0);
    CPU_SET(0, &set0);
    CPU_ZERO(&set1);
    CPU_SET(1, &set1);
    old = k23_test_all_cpus; /* the program's CPUs (one_cpu.h) */
    if (!CPU_ISSET(0, &old) || !CPU_ISSET(1, &old))
        cr_skip_test("CPUs 0 and 1 not both available");
    k23_frames_t *fa = fa_simple(64, NULL);
    uint64_t total = stats(fa).total_frames;
    k23_paddr_t *v = calloc(total, sizeof(*v));

    cr_assert_eq(sched_setaffinity(0, sizeof(set0), &set0), 0);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &v[i]), K23_OK);
    for (int i = 0; i < 40; i++)
        k23_frames_free_one(fa, v[i]);
    cr_assert_eq(k23_port_hosted_cpu_id_(), 0);
    uint64_t cached0 = fa->caches[0].hdr.count;
    cr_assert(cached0 >= 40, "cpu 0 caches %llu", (unsigned long long)cached0);

    cr_assert_eq(sched_setaffinity(0, sizeof(set1), &set1), 0);
    cr_assert_eq(k23_port_hosted_cpu_id_(), 1);
    uint64_t n = 0;
    while (k23_frames_alloc_one(fa, &v[n]) == K23_OK)
        n++;
    cr_assert_eq(n, total, "%llu of %llu frames", (unsigned long long)n,
                 (unsigned long long)total);
    cr_assert_eq(fa->caches[0].hdr.count, 0);
    for (uint64_t i = 0; i < n; i++)
        k23_frames_free_one(fa, v[i]);
    sched_setaffinity(0, sizeof(old), &old);
    assert_consistent(fa);
    free(v);
}

/* ---- k23_frames_plan() against k23_frames_init() ---- */

#define PLAN_WINDOW (64 * MiB)
#define PLAN_CAP 128

/* A "physical" window of PLAN_WINDOW bytes at phys_base reached through
 * the config hook, so maps may sit at 0 or at the top of the space. */
static k23_frames_config_t plan_cfg(struct xlate *x, uint64_t phys_base)
{
    x->phys_base = phys_base;
    x->buf = ram_map(PLAN_WINDOW, 4 * MiB);
    k23_frames_config_t c = cfg_4k(0);
    c.phys_to_virt = xlate_fn;
    c.phys_to_virt_ctx = x;
    return c;
}

/* Plan, then build; every planned arena must be built exactly (range,
 * bookkeeping, usable, hole and free frames) and every rejected entry must
 * be a rejected region, in order. Returns init's result. */
static int plan_matches_init(const k23_range_t *r, size_t n,
                             const k23_frames_config_t *c, size_t *narenas,
                             size_t *nrejected)
{
    static k23_frames_arena_plan_t plan[PLAN_CAP];
    static k23_range_t rej[PLAN_CAP];
    size_t np = 0, nrej = 0, na = 0, nr = 0;
    cr_assert_eq(k23_frames_plan(r, n, c, plan, PLAN_CAP, &np), K23_OK);
    int rc = k23_frames_init(fa_new(), r, n, c, rej, PLAN_CAP, &nrej);
    uint64_t fs = c->frame_size, prev_end = 0, prev_start = 0;
    for (size_t i = 0; i < np; i++) {
        const k23_frames_arena_plan_t *e = &plan[i];
        /* address order by start (a region with no whole frame by its own
         * start) */
        uint64_t start = e->frames != 0 ? e->range.base : e->region.base;
        cr_assert(i == 0 || start > prev_start, "entries out of order");
        prev_start = start;
        cr_assert_eq(e->range.size, e->frames * fs);
        cr_assert_eq(e->range.base % fs, 0);
        if (i > 0 && e->frames != 0)
            cr_assert(e->range.base >= prev_end, "entries out of order");
        if (e->frames != 0)
            prev_end = e->range.base + e->range.size; /* 0 at the top */
        if (e->rejected) {
            cr_assert_eq(e->usable_frames, 0);
            cr_assert_eq(e->bookkeeping.size, 0);
            if (rc == K23_OK || rc == K23_ERR_TOO_SMALL) {
                cr_assert(nr < nrej);
                cr_assert_eq(rej[nr].base, e->region.base);
                cr_assert_eq(rej[nr].size, e->region.size);
            }
            nr++;
            continue;
        }
        /* the bookkeeping lies inside the arena and the frames add up */
        cr_assert(e->bookkeeping.size > 0);
        cr_assert(e->bookkeeping.base >= e->range.base);
        cr_assert(e->bookkeeping.base - e->range.base +
                      e->bookkeeping.size <= e->range.size);
        cr_assert_eq(e->usable_frames + e->hole_frames +
                         e->bookkeeping.size / fs, e->frames);
        cr_assert(e->bookkeeping_bytes <= e->bookkeeping.size);
        cr_assert(e->bookkeeping_bytes > e->bookkeeping.size - fs);
        if (rc == K23_OK) {
            k23_frames_arena_info_t ai;
            cr_assert_eq(k23_frames_arena_info(fa_new(), (unsigned)na, &ai),
                         K23_OK);
            cr_assert_eq(ai.range.base, e->range.base);
            cr_assert_eq(ai.range.size, e->range.size);
            cr_assert_eq(ai.bookkeeping.base, e->bookkeeping.base);
            cr_assert_eq(ai.bookkeeping.size, e->bookkeeping.size);
            cr_assert_eq(ai.usable_frames, e->usable_frames);
            cr_assert_eq(ai.hole_frames, e->hole_frames);
            cr_assert_eq(ai.free_frames, e->usable_frames);
        }
        na++;
    }
    if (rc == K23_OK) {
        cr_assert_eq(stats(fa_new()).narenas, na);
        cr_assert_eq(nrej, nr);
        assert_consistent(fa_new());
    } else if (rc == K23_ERR_TOO_SMALL) {
        cr_assert_eq(na, 0);
        cr_assert_eq(nrej, nr);
    } else {
        cr_assert_eq(rc, K23_ERR_LIMIT);
        cr_assert(na > K23_FRAMES_MAX_ARENAS);
    }
    *narenas = na;
    *nrejected = nr;
    return rc;
}

Test(frames, plan_matches_init_with_holes_merged_into_one_arena)
{
    struct xlate x;
    k23_frames_config_t c = plan_cfg(&x, 16 * MiB);
    uint64_t b = x.phys_base;
    /* out of order, unaligned, a 256 KiB and a 3-frame hole */
    k23_range_t r[4] = {{b + 9 * MiB + 3 * F4K - 5, 7 * MiB - 3 * F4K + 5},
                        {b, 8 * MiB},
                        {b + 8 * MiB + 256 * KiB, 512 * KiB},
                        {b + 20 * MiB, 0}};
    size_t na, nr;
    cr_assert_eq(plan_matches_init(r, 4, &c, &na, &nr), K23_OK);
    cr_assert_eq(na, 1);
    cr_assert_eq(nr, 0);
    k23_frames_arena_plan_t p[1];
    size_t np;
    cr_assert_eq(k23_frames_plan(r, 4, &c, p, 1, &np), K23_OK);
    cr_assert_eq(np, 1);
    cr_assert_eq(p[0].range.base, b);
    cr_assert_eq(p[0].range.size, 16 * MiB);
    cr_assert_eq(p[0].hole_frames, (256 * KiB + 256 * KiB + 3 * F4K) / F4K);
    /* the bookkeeping comes from the end of the largest piece */
    cr_assert_eq(p[0].bookkeeping.base + p[0].bookkeeping.size, b + 8 * MiB);
    cr_assert_eq(p[0].bookkeeping_bytes, k23_arena_meta_bytes_(4096, 2));
    cr_assert_eq(p[0].bookkeeping_bytes, K23_FRAMES_META_BYTES_FOR(4096, 2));
}

Test(frames, plan_merges_up_to_the_hole_budget_and_not_beyond)
{
    struct xlate x;
    k23_frames_config_t c = plan_cfg(&x, 0);
    /* a hole of 100 frames costs exactly the budget: its bits and one
     * hole extent (with the slack) */
    c.hole_budget = (100 * K23_FRAMES_META_BITS + 7) / 8 +
                    (1 + K23_FRAMES_HOLE_SLACK) * K23_FRAMES_HOLE_BYTES;
    k23_range_t in[2] = {{0, 1 * MiB}, {1 * MiB + 100 * F4K, 1 * MiB}};
    size_t na, nr;
    cr_assert_eq(plan_matches_init(in, 2, &c, &na, &nr), K23_OK);
    cr_assert_eq(na, 1);
    k23_frames_arena_plan_t p[2];
    size_t np;
    cr_assert_eq(k23_frames_plan(in, 2, &c, p, 2, &np), K23_OK);
    cr_assert_eq(np, 1);
    cr_assert_eq(p[0].hole_frames, 100);
    /* one frame more of hole: two arenas */
    k23_range_t out[2] = {{0, 1 * MiB}, {1 * MiB + 101 * F4K, 1 * MiB}};
    cr_assert_eq(plan_matches_init(out, 2, &c, &na, &nr), K23_OK);
    cr_assert_eq(na, 2);
    cr_assert_eq(k23_frames_plan(out, 2, &c, p, 2, &np), K23_OK);
    cr_assert_eq(np, 2);
    cr_assert_eq(p[0].hole_frames + p[1].hole_frames, 0);
    cr_assert_eq(p[1].range.base, 1 * MiB + 101 * F4K);
}

Test(frames, plan_reports_regions_too_small_for_their_bookkeeping)
{
    struct xlate x;
    k23_frames_config_t c = plan_cfg(&x, 4 * MiB);
    c.hole_budget = 0;
    uint64_t b = x.phys_base;
    k23_range_t r[3] = {{b + 32 * MiB, F4K}, {b, 4 * MiB},
                        {b + 40 * MiB + 8, 100}};
    size_t na, nr;
    cr_assert_eq(plan_matches_init(r, 3, &c, &na, &nr), K23_OK);
    cr_assert_eq(na, 1);
    cr_assert_eq(nr, 2);
    k23_frames_arena_plan_t p[3];
    size_t np;
    cr_assert_eq(k23_frames_plan(r, 3, &c, p, 3, &np), K23_OK);
    cr_assert_eq(np, 3);
    cr_assert(!p[0].rejected);
    /* one frame, whose bookkeeping would need the frame itself */
    cr_assert(p[1].rejected);
    cr_assert_eq(p[1].frames, 1);
    cr_assert_eq(p[1].region.base, b + 32 * MiB);
    cr_assert_eq(p[1].bookkeeping_bytes, k23_arena_meta_bytes_(1, 0));
    /* not even a whole frame */
    cr_assert(p[2].rejected);
    cr_assert_eq(p[2].frames, 0);
    cr_assert_eq(p[2].range.size, 0);
    cr_assert_eq(p[2].region.base, b + 40 * MiB + 8);
    cr_assert_eq(p[2].region.size, 100);
    /* only too-small regions: init fails, the plan still says why */
    cr_assert_eq(plan_matches_init(r, 1, &c, &na, &nr), K23_ERR_TOO_SMALL);
    cr_assert_eq(nr, 1);
}

Test(frames, plan_matches_init_at_address_zero_and_at_the_top)
{
    struct xlate x;
    k23_frames_config_t c = plan_cfg(&x, 0);
    k23_range_t z[2] = {{0, 3 * MiB + 100}, {3 * MiB + 9 * F4K, 5 * MiB}};
    size_t na, nr;
    cr_assert_eq(plan_matches_init(z, 2, &c, &na, &nr), K23_OK);
    cr_assert_eq(na, 1);
    k23_frames_arena_plan_t p[4];
    size_t np;
    cr_assert_eq(k23_frames_plan(z, 2, &c, p, 4, &np), K23_OK);
    cr_assert_eq(p[0].range.base, 0);

    struct xlate t;
    uint64_t top = UINT64_MAX - PLAN_WINDOW + 1;
    k23_frames_config_t ct = plan_cfg(&t, top);
    ct.hole_budget = 0;
    /* the last region ends exactly at 2^64; a partial frame before it */
    k23_range_t r[3] = {{top + 8 * MiB - 100, 100},
                        {top, 8 * MiB - 2 * F4K},
                        {top + 16 * MiB, PLAN_WINDOW - 16 * MiB}};
    cr_assert_eq(plan_matches_init(r, 3, &ct, &na, &nr), K23_OK);
    cr_assert_eq(na, 2);
    cr_assert_eq(nr, 1);
    cr_assert_eq(k23_frames_plan(r, 3, &ct, p, 4, &np), K23_OK);
    cr_assert_eq(np, 3);
    cr_assert(p[1].rejected);
    cr_assert_eq(p[2].range.base, top + 16 * MiB);
    cr_assert_eq(p[2].range.size, PLAN_WINDOW - 16 * MiB);
    cr_assert_eq(p[2].bookkeeping.base + p[2].bookkeeping.size, 0);
}

Test(frames, plan_splits_arenas_larger_than_max_arena_frames)
{
    struct xlate x;
    k23_frames_config_t c = plan_cfg(&x, 0);
    c.max_arena_frames = 2048; /* 8 MiB */
    k23_range_t r = {F4K, 20 * MiB};
    size_t na, nr;
    cr_assert_eq(plan_matches_init(&r, 1, &c, &na, &nr), K23_OK);
    cr_assert_eq(na, 3);
    k23_frames_arena_plan_t p[3];
    size_t np;
    cr_assert_eq(k23_frames_plan(&r, 1, &c, p, 3, &np), K23_OK);
    for (size_t i = 0; i < np; i++)
        cr_assert(p[i].frames <= 2048);
}

Test(frames, plan_lists_more_arenas_than_init_can_hold)
{
    struct xlate x;
    k23_frames_config_t c = plan_cfg(&x, 0);
    c.hole_budget = 0;
    k23_range_t r[K23_FRAMES_MAX_ARENAS + 1];
    for (size_t i = 0; i < K23_FRAMES_MAX_ARENAS + 1; i++) {
        r[i].base = i * 4 * F4K;
        r[i].size = 2 * F4K;
    }
    size_t na, nr;
    cr_assert_eq(plan_matches_init(r, K23_FRAMES_MAX_ARENAS + 1, &c, &na,
                                   &nr), K23_ERR_LIMIT);
    cr_assert_eq(na, K23_FRAMES_MAX_ARENAS + 1);
    cr_assert_eq(plan_matches_init(r, K23_FRAMES_MAX_ARENAS, &c, &na, &nr),
                 K23_OK);
}

Test(frames, plan_matches_init_on_random_maps)
{
    struct xlate x;
    k23_frames_config_t c = plan_cfg(&x, 128 * MiB);
    srand(12345);
    for (int iter = 0; iter < 300; iter++) {
        k23_range_t r[24];
        size_t n = 1 + (size_t)rand() % 24;
        uint64_t at = x.phys_base + (uint64_t)(rand() % 8) * 1000;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t gap = (uint64_t)(rand() % 4) == 0
                               ? 0
                               : (uint64_t)rand() % (64 * F4K);
            uint64_t size = (uint64_t)(rand() % 3) == 0
                                ? (uint64_t)rand() % (3 * F4K)
                                : (uint64_t)rand() % (2 * MiB);
            at += gap;
            if (at - x.phys_base + size > PLAN_WINDOW)
                break;
            r[k].base = at;
            r[k].size = size;
            k++;
            at += size;
        }
        /* shuffle */
        for (size_t i = k; i > 1; i--) {
            size_t j = (size_t)rand() % i;
            k23_range_t t = r[i - 1];
            r[i - 1] = r[j];
            r[j] = t;
        }
        c.hole_budget = (uint64_t)rand() % (64 * F4K);
        c.max_arena_frames = rand() % 2 ? (uint64_t)(1024 + rand() % 2048)
                                        : UINT64_C(1) << 31;
        size_t na, nr;
        int rc = plan_matches_init(r, k, &c, &na, &nr);
        cr_assert(rc == K23_OK || rc == K23_ERR_TOO_SMALL ||
                  rc == K23_ERR_LIMIT);
    }
}

Test(frames, plan_reports_the_size_needed_when_out_is_too_small)
{
    k23_frames_config_t c = cfg_4k(0);
    c.hole_budget = 0;
    k23_range_t r[3] = {{0, 1 * MiB}, {2 * MiB, 1 * MiB}, {4 * MiB, 10}};
    k23_frames_arena_plan_t p[3], sentinel;
    memset(p, 0xab, sizeof(p));
    memset(&sentinel, 0xab, sizeof(sentinel));
    size_t np = 0;
    cr_assert_eq(k23_frames_plan(r, 3, &c, NULL, 0, &np), K23_ERR_NOSPACE);
    cr_assert_eq(np, 3);
    np = 0;
    cr_assert_eq(k23_frames_plan(r, 3, &c, p, 2, &np), K23_ERR_NOSPACE);
    cr_assert_eq(np, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(memcmp(&p[i], &sentinel, sizeof(sentinel)), 0);
    cr_assert_eq(k23_frames_plan(r, 3, &c, p, 3, &np), K23_OK);
    cr_assert_eq(np, 3);
    cr_assert(p[2].rejected);
    /* no regions: an empty plan */
    np = 7;
    cr_assert_eq(k23_frames_plan(NULL, 0, &c, NULL, 0, &np), K23_OK);
    cr_assert_eq(np, 0);
    /* NULL configuration: the 4 KiB defaults */
    cr_assert_eq(k23_frames_plan(r, 2, NULL, p, 3, &np), K23_OK);
    cr_assert_eq(np, 1); /* the 1 MiB hole is within 11 KiB of budget */
}

Test(frames, plan_rejects_invalid_arguments)
{
    k23_frames_config_t c = cfg_4k(0);
    k23_range_t r[2] = {{0, 2 * MiB}, {1 * MiB, 2 * MiB}};
    k23_frames_arena_plan_t p[4];
    size_t np = 42;
    cr_assert_eq(k23_frames_plan(r, 1, &c, p, 4, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_plan(r, 1, &c, NULL, 4, &np), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_plan(NULL, 1, &c, p, 4, &np), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_plan(r, 2, &c, p, 4, &np), K23_ERR_OVERLAP);
    k23_range_t wrap = {UINT64_MAX - F4K, 2 * F4K};
    cr_assert_eq(k23_frames_plan(&wrap, 1, &c, p, 4, &np), K23_ERR_INVAL);
    k23_frames_config_t bad = c;
    bad.frame_size = 2048;
    cr_assert_eq(k23_frames_plan(r, 1, &bad, p, 4, &np), K23_ERR_INVAL);
    bad = c;
    bad.max_order = K23_FRAMES_ORDER_LIMIT;
    cr_assert_eq(k23_frames_plan(r, 1, &bad, p, 4, &np), K23_ERR_INVAL);
    cr_assert_eq(np, 42); /* untouched on every error */
}

/* ---- the port's CPU-local fast path (rseq on x86_64 Linux) ---- */

/* Pin the calling thread to the CPU it runs on; false if it cannot. */
static bool pin_here(cpu_set_t *old)
{
    cpu_set_t one;
    int cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof(*old), old) != 0)
        return false;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof(one), &one) == 0;
}

/* With the fast path, a cache hit takes no lock: hold the arena lock and
 * every cache lock (a locked or refilling path would deadlock, and the
 * timeout fail the test) and allocate and free from a warm cache. */
Test(frames, cache_hits_take_no_lock_with_the_fast_path, .timeout = 20)
{
    if (!k23_port_pcpu_fast())
        cr_skip_test("the port has no CPU-local fast path here");
    cpu_set_t old;
    cr_assert(pin_here(&old));
    k23_frames_t *fa = fa_simple(16, NULL);
    cr_assert(fa->pcpu_fast);
    unsigned me = k23_port_hosted_cpu_id_();
    k23_paddr_t v[8];
    for (int i = 0; i < 8; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &v[i]), K23_OK);
    for (int i = 0; i < 8; i++)
        k23_frames_free_one(fa, v[i]);
    cr_assert_geq(fa->caches[me].hdr.count, 8);
    k23_frames_stats_t s0 = stats(fa);

    for (unsigned i = 0; i < fa->ncaches; i++)
        k23_port_lock_acquire(&fa->caches[i].lock);
    k23_port_lock_acquire(&fa->lock);
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 8; i++)
            cr_assert_eq(k23_frames_alloc_one(fa, &v[i]), K23_OK);
        for (int i = 8; i-- > 0;)
            k23_frames_free_one(fa, v[i]);
    }
    k23_port_lock_release(&fa->lock);
    for (unsigned i = fa->ncaches; i-- > 0;)
        k23_port_lock_release(&fa->caches[i].lock);

    k23_frames_stats_t s1 = stats(fa);
    cr_assert_eq(s1.cached_frames, s0.cached_frames);
    cr_assert_eq(s1.free_frames, s0.free_frames);
    assert_consistent(fa);
    sched_setaffinity(0, sizeof(old), &old);
}

/* Misses through the fast path: a full cache spills to the arenas, an
 * empty one refills, a double free of a cached frame is still caught. */
Test(frames, fast_path_spills_refills_and_keeps_counts_exact)
{
    cpu_set_t old;
    cr_assert(pin_here(&old));
    k23_frames_t *fa = fa_simple(8, NULL);
    unsigned me = k23_port_hosted_cpu_id_() % fa->ncaches;
    uint64_t total = stats(fa).total_frames;
    k23_paddr_t v[40];
    for (int i = 0; i < 40; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &v[i]), K23_OK);
    k23_frames_stats_t s = stats(fa);
    cr_assert_eq(s.allocated_frames, 40);
    cr_assert_leq(s.cached_frames, 8);
    for (int i = 0; i < 40; i++)
        k23_frames_free_one(fa, v[i]);
    s = stats(fa);
    cr_assert_eq(s.allocated_frames, 0);
    cr_assert_leq(fa->caches[me].hdr.count, 8);
    cr_assert_eq(s.free_frames + s.cached_frames, total);
    assert_consistent(fa);
    k23_frames_drain_all(fa);
    cr_assert_eq(stats(fa).cached_frames, 0);
    cr_assert_eq(fa->caches[me].hdr.fenced, 0);
    assert_consistent(fa);
    sched_setaffinity(0, sizeof(old), &old);
}

/* ---- anti-fragmentation ---- */

/* Free chunk-aligned 2 MiB blocks, as the statistics count them. */
static uint64_t free_2m_blocks(k23_frames_t *fa)
{
    k23_frames_stats_t s = stats(fa);
    uint64_t n = 0;
    for (unsigned o = 9; o < K23_FRAMES_ORDER_LIMIT; o++)
        n += s.free_blocks[o] << (o - 9);
    return n;
}

Test(frames, single_frames_fill_a_partly_used_chunk_before_breaking_a_whole_one)
{
    /* caches off: every frame comes straight from the arena */
    k23_frames_t *fa = fa_simple(0, NULL);
    k23_paddr_t pa[700], part;
    uint64_t whole0 = free_2m_blocks(fa);
    cr_assert_geq(whole0, 6);
    /* the chunk that holds the bookkeeping is partly used from the start:
     * it goes first */
    uint64_t rest = stats(fa).free_frames - whole0 * 512;
    cr_assert_gt(rest, 0);
    for (uint64_t i = 0; i < rest; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &part), K23_OK);
    cr_assert_eq(free_2m_blocks(fa), whole0);
    for (unsigned i = 0; i < 300; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &pa[i]), K23_OK);
    cr_assert_eq(free_2m_blocks(fa), whole0 - 1, "300 frames, one chunk");
    /* free every other one: the chunk is partly used, with holes */
    for (unsigned i = 0; i < 300; i += 2)
        k23_frames_free_one(fa, pa[i]);
    /* 150 + 212 more fit in that chunk: no other chunk is broken */
    for (unsigned i = 300; i < 300 + 150 + 212; i++)
        cr_assert_eq(k23_frames_alloc_one(fa, &pa[i]), K23_OK);
    cr_assert_eq(free_2m_blocks(fa), whole0 - 1);
    /* the next one breaks a chunk; freeing it makes the chunk whole */
    cr_assert_eq(k23_frames_alloc_one(fa, &pa[699]), K23_OK);
    cr_assert_eq(free_2m_blocks(fa), whole0 - 2);
    k23_frames_free_one(fa, pa[699]);
    cr_assert_eq(free_2m_blocks(fa), whole0 - 1);
    /* small runs go to the partly used chunks too: the frames of pa[1],
     * pa[301] (refilled the place of pa[2]) and pa[3] make a run of 3 */
    k23_paddr_t run;
    cr_assert_eq(pa[301], pa[1] + F4K);
    k23_frames_free_one(fa, pa[1]);
    k23_frames_free_one(fa, pa[301]);
    k23_frames_free_one(fa, pa[3]);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 3 * F4K, 12, &run), K23_OK);
    cr_assert_eq(run, pa[1]);
    cr_assert_eq(free_2m_blocks(fa), whole0 - 1);
    assert_consistent(fa);
}

/* The peer harness's churn in small: half the frames live as single
 * frames with random lifetimes, then the free aligned 2 MiB blocks must
 * be nearly all that the free frames could make. */
static void churn_keeps_2m_blocks(unsigned cache)
{
    unsigned char *ram = ram_map(64 * MiB, 2 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(cache);
    k23_range_t r = rg(ram, 0, 64 * MiB);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    uint64_t total = stats(fa).total_frames, live = 0, x = 88172645463325252u;
    k23_paddr_t *v = calloc((size_t)total, sizeof(*v));
    cr_assert_not_null(v);
    for (uint64_t step = 0; step < 4 * total; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (live > 0 && (live >= total / 2 || (x & 1) != 0)) {
            uint64_t k = (x >> 8) % live;
            k23_frames_free_one(fa, v[k]);
            v[k] = v[--live];
        } else {
            cr_assert_eq(k23_frames_alloc_one(fa, &v[live]), K23_OK);
            live++;
        }
    }
    k23_frames_drain_all(fa);
    uint64_t ideal = (total - live) / 512, got = 0;
    k23_paddr_t pa;
    while (k23_frames_alloc_contiguous(fa, 2 * MiB, 21, &pa) == K23_OK)
        got++;
    cr_assert_geq(got * 100, ideal * 95, "%llu of %llu 2 MiB blocks",
                  (unsigned long long)got, (unsigned long long)ideal);
    free(v);
}

Test(frames, churn_keeps_2m_blocks_with_caches_off)
{
    churn_keeps_2m_blocks(0);
}

Test(frames, churn_keeps_2m_blocks_with_caches_on)
{
    churn_keeps_2m_blocks(64);
}

/* ---- whole-chunk frees check every frame too ---- */

#include "panic_capture.h"

static k23_frames_t *chunk_fa;
static k23_paddr_t chunk_pa;

static void free_chunk(void *arg)
{
    (void)arg;
    (void)k23_frames_free_contiguous(chunk_fa, chunk_pa, 2 * MiB);
}

/* A 2 MiB run with frame `k` freed (and, with caches on, cached) first:
 * freeing the whole run must panic naming that frame. */
static void chunk_free_with_a_hole(unsigned cache, unsigned k,
                                   const char *want)
{
    chunk_fa = fa_simple(cache, NULL);
    cr_assert_eq(k23_frames_alloc_contiguous(chunk_fa, 2 * MiB, 21,
                                             &chunk_pa),
                 K23_OK);
    k23_frames_free_one(chunk_fa, chunk_pa + k * F4K);
    char msg[512];
    cr_assert(panic_capture(free_chunk, NULL, msg, sizeof(msg)));
    cr_assert(strstr(msg, want) != NULL, "%s", msg);
    char addr[32];
    snprintf(addr, sizeof(addr), "%llx",
             (unsigned long long)(chunk_pa + k * F4K));
    cr_assert(strstr(msg, addr) != NULL, "%s does not name %s", msg, addr);
    /* and nothing changed */
    assert_consistent(chunk_fa);
}

Test(frames, whole_chunk_free_with_a_free_frame_inside_panics)
{
    chunk_free_with_a_hole(0, 0, "partly allocated");
    chunk_free_with_a_hole(0, 511, "partly allocated");
}

Test(frames, whole_chunk_free_with_a_cached_frame_inside_panics)
{
    chunk_free_with_a_hole(16, 300, "partly allocated");
}

/* ---- stripes: runs and frees across a stripe boundary ---- */

static void free_4m(void *arg)
{
    (void)arg;
    (void)k23_frames_free_contiguous(chunk_fa, chunk_pa, 4 * MiB);
}

Test(frames, runs_across_stripes_are_found_and_freed_under_both_locks)
{
    /* 3 stripes of 64 chunks (128 MiB each with 4 KiB frames), never
     * touched but for the bookkeeping */
    uint64_t size = 384 * MiB;
    unsigned char *ram = ram_map(size, 2 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(0);
    k23_range_t r = rg(ram, 0, size);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    k23_frames_arena_t *a = &fa->arenas[0];
    cr_assert_geq(a->nstripes, 3);
    /* take every whole chunk, then give back the two around the first
     * stripe boundary (chunks 63 and 64) */
    static k23_paddr_t chunk[192];
    unsigned n = 0;
    while (n < 192 &&
           k23_frames_alloc_contiguous(fa, 2 * MiB, 21, &chunk[n]) == K23_OK)
        n++;
    cr_assert_geq(n, 190);
    /* and every frame left (the chunks the bookkeeping and the padding
     * share), so that the boundary is all that is free */
    uint64_t left = stats(fa).free_frames, nl = 0;
    k23_paddr_t *single = calloc((size_t)left + 1, sizeof(*single));
    cr_assert_not_null(single);
    while (k23_frames_alloc_one(fa, &single[nl]) == K23_OK)
        nl++;
    cr_assert_eq(nl, left);
    k23_paddr_t b63 = (uint64_t)(uintptr_t)ram + 63 * 2 * MiB;
    k23_frames_free_contiguous(fa, b63, 2 * MiB);
    k23_frames_free_contiguous(fa, b63 + 2 * MiB, 2 * MiB);
    assert_consistent(fa);
    /* 4 MiB at 4 KiB alignment and 1 MiB + 3 frames straddling the
     * boundary: only the search across stripes can find them */
    k23_paddr_t pa, pb;
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 4 * MiB, 12, &pa), K23_OK);
    cr_assert_eq(pa, b63);
    assert_consistent(fa);
    /* a free across the boundary (both stripes' locks) */
    cr_assert_eq(k23_frames_free_contiguous(fa, pa + MiB, 2 * MiB), K23_OK);
    assert_consistent(fa);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, MiB + 3 * F4K, 12, &pb),
                 K23_OK);
    cr_assert_eq(pb, pa + MiB);
    /* a partly allocated range across the boundary panics (checked in a
     * child) naming its first free frame */
    chunk_fa = fa;
    chunk_pa = pa;
    char msg[512];
    cr_assert(panic_capture(free_4m, NULL, msg, sizeof(msg)));
    cr_assert(strstr(msg, "partly allocated") != NULL, "%s", msg);
    cr_assert_eq(k23_frames_free_contiguous(fa, pa, MiB), K23_OK);
    cr_assert_eq(k23_frames_free_contiguous(fa, pb, MiB + 3 * F4K), K23_OK);
    cr_assert_eq(k23_frames_free_contiguous(fa, pa + 3 * MiB, MiB), K23_OK);
    k23_frames_stats_t s = stats(fa);
    cr_assert_eq(s.allocated_frames, (uint64_t)(n - 2) * 512 + nl);
    assert_consistent(fa);
    for (unsigned i = 0; i < n; i++)
        if (chunk[i] != b63 && chunk[i] != b63 + 2 * MiB)
            k23_frames_free_contiguous(fa, chunk[i], 2 * MiB);
    for (uint64_t i = 0; i < nl; i++)
        k23_frames_free_one(fa, single[i]);
    free(single);
    assert_consistent(fa);
    cr_assert_eq(stats(fa).allocated_frames, 0);
}

/* A cache's frames on both sides of a stripe boundary, drained: the
 * sorted batch has a run over the boundary (freed under both stripes'
 * locks) between lone frames of each stripe (freed under one lock held
 * across them, k23_arena_free_sorted_). */
Test(frames, cache_drain_frees_runs_over_a_stripe_boundary)
{
    uint64_t size = 384 * MiB;
    unsigned char *ram = ram_map(size, 2 * MiB);
    k23_frames_t *fa = fa_new();
    k23_frames_config_t c = cfg_4k(64);
    c.cache_batch = 16;
    k23_range_t r = rg(ram, 0, size);
    cr_assert_eq(k23_frames_init(fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    cr_assert_geq(fa->arenas[0].nstripes, 3);
    /* everything but chunks 63 and 64 (the first stripe boundary) taken */
    static k23_paddr_t chunk[192];
    unsigned n = 0;
    while (n < 192 &&
           k23_frames_alloc_contiguous(fa, 2 * MiB, 21, &chunk[n]) == K23_OK)
        n++;
    k23_paddr_t b63 = (uint64_t)(uintptr_t)ram + 63 * 2 * MiB;
    uint64_t left = stats(fa).free_frames, nl = 0;
    k23_paddr_t *single = calloc((size_t)left + 1, sizeof(*single));
    cr_assert_not_null(single);
    while (k23_frames_alloc_one(fa, &single[nl]) == K23_OK)
        nl++;
    k23_frames_drain_all(fa);
    k23_frames_free_contiguous(fa, b63, 2 * MiB);
    k23_frames_free_contiguous(fa, b63 + 2 * MiB, 2 * MiB);
    /* single frames through the cache until chunk 63 is used up and
     * chunk 64 begun */
    static k23_paddr_t f[1024];
    unsigned nf = 0;
    while (nf < 1024 && k23_frames_alloc_one(fa, &f[nf]) == K23_OK)
        nf++;
    cr_assert_eq(nf, 1024);
    k23_frames_drain_all(fa);
    assert_consistent(fa);
    /* give back frames 504..519 of the pair (8 each side of the
     * boundary), every other one first, then the rest, and two lone
     * frames on each side: the cache holds them out of order */
    k23_paddr_t boundary = b63 + 2 * MiB;
    uint64_t free0 = stats(fa).free_frames;
    int64_t back[20] = {-100, 60, -50, 90};
    unsigned nback = 4;
    for (unsigned pass = 0; pass < 2; pass++)
        for (int i = (int)pass; i < 16; i += 2)
            back[nback++] = i - 8;
    for (unsigned b = 0; b < nback; b++)
        for (unsigned j = 0; j < nf; j++)
            if (f[j] == boundary + (uint64_t)(back[b] * (int64_t)F4K)) {
                k23_frames_free_one(fa, f[j]);
                f[j] = 0;
            }
    cr_assert_gt(stats(fa).cached_frames, 0, "the frees went to the cache");
    k23_frames_drain_all(fa);
    k23_frames_stats_t s = stats(fa);
    cr_assert_eq(s.cached_frames, 0);
    cr_assert_eq(s.free_frames, free0 + 20);
    cr_assert_eq(s.allocated_frames, (uint64_t)(n - 2) * 512 + nl + 1024 - 20);
    assert_consistent(fa);
    /* the 16 frames are one free run over the boundary again */
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_contiguous(fa, 16 * F4K, 12, &pa), K23_OK);
    cr_assert_eq(pa, boundary - 8 * F4K);
    cr_assert_eq(k23_frames_free_contiguous(fa, pa, 16 * F4K), K23_OK);
    for (unsigned j = 0; j < nf; j++)
        if (f[j] != 0)
            k23_frames_free_one(fa, f[j]);
    for (unsigned i = 0; i < n; i++)
        if (chunk[i] != b63 && chunk[i] != b63 + 2 * MiB)
            k23_frames_free_contiguous(fa, chunk[i], 2 * MiB);
    for (uint64_t i = 0; i < nl; i++)
        k23_frames_free_one(fa, single[i]);
    free(single);
    k23_frames_drain_all(fa);
    assert_consistent(fa);
    cr_assert_eq(stats(fa).allocated_frames, 0);
}
