/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of the frame allocator's planning (src/frames_plan.c and the
 * walk in src/frames.c): touching regions are one run, so a map cut into
 * adjacent descriptors gives exactly what its union gives (issue 14), in
 * either order, and overlaps stay an error.
 *
 * "Physical memory" is a 64 MiB mmap'd window reached through the
 * config's phys_to_virt hook, placed low, at 0 or at the top of the
 * 64-bit space.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "k23mem/frames.h"

TestSuite(frames_plan);

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define WINDOW (64 * MiB)
#define MAXR 24          /* regions of a union map */
#define MAXP (MAXR * 8)  /* pieces after splitting */
#define PLAN_CAP 512
#define MAX_BLOCKS 65536 /* free blocks of a 64 MiB window, at most */

/* ---- fixtures ---- */

struct window {
    uint64_t phys_base;
    unsigned char *buf;
};

static void *window_virt(void *ctx, k23_paddr_t pa)
{
    struct window *w = ctx;
    return w->buf + (pa - w->phys_base);
}

static unsigned char *window_map(void)
{
    void *p = mmap(NULL, (size_t)WINDOW, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert(p != MAP_FAILED);
    return p;
}

static k23_frames_config_t window_cfg(struct window *w, uint64_t frame_size)
{
    k23_frames_config_t c;
    cr_assert_eq(k23_frames_config_default(&c, frame_size), K23_OK);
    c.cache_frames = 0;
    c.phys_to_virt = window_virt;
    c.phys_to_virt_ctx = w;
    return c;
}

/* Each Criterion test runs in its own process: static storage. */
static k23_frames_t fa_storage;

/* Everything init gives, to compare two maps by. */
struct outcome {
    int rc;
    size_t nplan, nrej;
    k23_frames_arena_plan_t plan[PLAN_CAP];
    k23_range_t rej[PLAN_CAP];
    k23_frames_stats_t stats;
    size_t nblocks;
    uint64_t block_pfn[MAX_BLOCKS];
    uint8_t block_order[MAX_BLOCKS];
};

static struct outcome out_union, out_split;

/* Every free block of every arena, in address order: the heads' frame
 * numbers and orders, read from the arenas' metadata. */
static void collect_blocks(const k23_frames_t *fa, struct outcome *o)
{
    o->nblocks = 0;
    for (unsigned i = 0; i < fa->narenas; i++) {
        const k23_frames_arena_t *a = &fa->arenas[i];
        uint64_t cursor = 0, pfn;
        unsigned order;
        while (k23_arena_next_block_(a, fa->cfg.max_order, &cursor, &pfn,
                                     &order)) {
            cr_assert(o->nblocks < MAX_BLOCKS);
            o->block_pfn[o->nblocks] = pfn;
            o->block_order[o->nblocks] = (uint8_t)order;
            o->nblocks++;
        }
    }
}

static void run_map(const k23_range_t *r, size_t n,
                    const k23_frames_config_t *c, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    int rc = k23_frames_plan(r, n, c, o->plan, PLAN_CAP, &o->nplan);
    cr_assert_eq(rc, K23_OK, "k23_frames_plan: %s", k23_strerror_name(rc));
    o->rc = k23_frames_init(&fa_storage, r, n, c, o->rej, PLAN_CAP,
                            &o->nrej);
    if (o->rc != K23_OK)
        return;
    cr_assert_eq(k23_frames_check(&fa_storage), K23_OK);
    cr_assert_eq(k23_frames_stats(&fa_storage, &o->stats), K23_OK);
    collect_blocks(&fa_storage, o);
}

static void assert_same(const struct outcome *a, const struct outcome *b,
                        unsigned seed)
{
    cr_assert_eq(a->rc, b->rc, "seed %u: init %d vs %d", seed, a->rc, b->rc);
    cr_assert_eq(a->nplan, b->nplan, "seed %u: plan length", seed);
    cr_assert(memcmp(a->plan, b->plan, a->nplan * sizeof(a->plan[0])) == 0,
              "seed %u: plans differ", seed);
    cr_assert_eq(a->nrej, b->nrej, "seed %u: rejected count", seed);
    cr_assert(memcmp(a->rej, b->rej, a->nrej * sizeof(a->rej[0])) == 0,
              "seed %u: rejected regions differ", seed);
    if (a->rc != K23_OK)
        return;
    cr_assert(memcmp(&a->stats, &b->stats, sizeof(a->stats)) == 0,
              "seed %u: stats differ", seed);
    cr_assert_eq(a->nblocks, b->nblocks, "seed %u: %zu vs %zu free blocks",
                 seed, a->nblocks, b->nblocks);
    for (size_t i = 0; i < a->nblocks; i++) {
        cr_assert_eq(a->block_pfn[i], b->block_pfn[i],
                     "seed %u: block %zu at %#llx vs %#llx", seed, i,
                     (unsigned long long)a->block_pfn[i],
                     (unsigned long long)b->block_pfn[i]);
        cr_assert_eq(a->block_order[i], b->block_order[i],
                     "seed %u: block %zu order", seed, i);
    }
}

/* ---- the case from the issue ---- */

Test(frames_plan, regions_meeting_at_an_odd_frame_give_the_union_blocks)
{
    struct window w = {128 * MiB, window_map()};
    k23_frames_config_t c = window_cfg(&w, 4096);
    /* two 1 MiB regions meeting at frame 0x8101 (odd) */
    uint64_t base = w.phys_base + 4096;
    k23_range_t two[2] = {{base, MiB}, {base + MiB, MiB}};
    k23_range_t one = {base, 2 * MiB};
    run_map(&one, 1, &c, &out_union);
    cr_assert_eq(out_union.rc, K23_OK);
    run_map(two, 2, &c, &out_split);
    assert_same(&out_union, &out_split, 0);
    /* and in the other order */
    k23_range_t rev[2] = {two[1], two[0]};
    run_map(rev, 2, &c, &out_split);
    assert_same(&out_union, &out_split, 0);
}

Test(frames_plan, pieces_without_a_whole_frame_add_up_to_frames)
{
    struct window w = {128 * MiB, window_map()};
    k23_frames_config_t c = window_cfg(&w, 4096);
    /* 3 MiB cut every 1000 bytes: no piece but the last holds a whole
     * frame, the union is 768 frames */
    static k23_range_t cut[3 * 1049];
    uint64_t at = w.phys_base, end = w.phys_base + 3 * MiB;
    size_t n = 0;
    for (; at < end; at += 1000, n++)
        cut[n] = (k23_range_t){at, end - at < 1000 ? end - at : 1000};
    k23_range_t one = {w.phys_base, 3 * MiB};
    run_map(&one, 1, &c, &out_union);
    run_map(cut, n, &c, &out_split);
    assert_same(&out_union, &out_split, 0);
    cr_assert_eq(out_split.nrej, 0);
}

/* ---- overlaps stay an error, touching is not one ---- */

Test(frames_plan, overlaps_are_refused_in_any_order_touching_is_not)
{
    struct window w = {128 * MiB, window_map()};
    k23_frames_config_t c = window_cfg(&w, 4096);
    uint64_t b = w.phys_base;
    k23_range_t sorted[3] = {{b, MiB}, {b + MiB, MiB}, {b + 2 * MiB - 1, 2}};
    k23_range_t shuffled[3] = {sorted[2], sorted[0], sorted[1]};
    k23_frames_arena_plan_t p[4];
    size_t np = 42, nrej = 42;
    cr_assert_eq(k23_frames_plan(sorted, 3, &c, p, 4, &np), K23_ERR_OVERLAP);
    cr_assert_eq(k23_frames_plan(shuffled, 3, &c, p, 4, &np),
                 K23_ERR_OVERLAP);
    cr_assert_eq(np, 42);
    cr_assert_eq(k23_frames_init(&fa_storage, shuffled, 3, &c, NULL, 0,
                                 &nrej),
                 K23_ERR_OVERLAP);
    cr_assert_eq(nrej, 42);
    /* the same base twice, with an empty region between */
    k23_range_t twice[3] = {{b, MiB}, {b, 0}, {b, 4096}};
    cr_assert_eq(k23_frames_plan(twice, 3, &c, p, 4, &np), K23_ERR_OVERLAP);
    /* touching only: one arena */
    cr_assert_eq(k23_frames_plan(sorted, 2, &c, p, 4, &np), K23_OK);
    cr_assert_eq(np, 1);
    cr_assert_eq(p[0].range.size, 2 * MiB);
}

Test(frames_plan, a_rejected_run_is_reported_as_the_union_of_its_pieces)
{
    struct window w = {128 * MiB, window_map()};
    k23_frames_config_t c = window_cfg(&w, 4096);
    c.hole_budget = 0;
    uint64_t b = w.phys_base;
    /* a big region, then far away 100 bytes cut in two pieces */
    k23_range_t r[3] = {{b, 4 * MiB}, {b + 32 * MiB + 60, 40},
                        {b + 32 * MiB, 60}};
    k23_range_t rej[2];
    size_t nrej = 0;
    cr_assert_eq(k23_frames_init(&fa_storage, r, 3, &c, rej, 2, &nrej),
                 K23_OK);
    cr_assert_eq(nrej, 1);
    cr_assert_eq(rej[0].base, b + 32 * MiB);
    cr_assert_eq(rej[0].size, 100);
}

/* ---- model: a union map against the same map cut at random points ---- */

static uint64_t rnd(uint64_t *s)
{
    /* splitmix64: the same sequence on every host */
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

/* Disjoint, non-touching regions in the window, in address order. The
 * last one may end exactly at the window's end (2^64 at the top). */
static size_t random_union(uint64_t *s, const struct window *w,
                           uint64_t frame_size, k23_range_t *r)
{
    size_t n = 1 + (size_t)rnd_below(s, MAXR);
    uint64_t off = rnd_below(s, 4) * rnd_below(s, 3 * frame_size), k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t size = rnd_below(s, 3) == 0
                            ? 1 + rnd_below(s, 3 * frame_size)
                            : 1 + rnd_below(s, 4 * MiB);
        if (off >= WINDOW || size > WINDOW - off)
            break;
        r[k].base = w->phys_base + off;
        r[k].size = size;
        k++;
        off += size + 1 + rnd_below(s, 64 * frame_size); /* gap >= 1 */
    }
    if (k > 0 && rnd_below(s, 4) == 0) /* run to the window's end */
        r[k - 1].size = WINDOW - (r[k - 1].base - w->phys_base);
    return (size_t)k;
}

/* Cut every region at random byte offsets (some cuts on frame bounds,
 * some empty pieces), then maybe shuffle the pieces. */
static size_t random_split(uint64_t *s, uint64_t frame_size,
                           const k23_range_t *r, size_t n, k23_range_t *p)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t at = r[i].base, left = r[i].size;
        unsigned cuts = (unsigned)rnd_below(s, 6);
        for (unsigned j = 0; j < cuts && left > 1; j++) {
            uint64_t len = 1 + rnd_below(s, left - 1);
            if (rnd_below(s, 2) == 0 && len >= frame_size)
                len -= (at + len) % frame_size; /* cut on a frame bound */
            if (len == 0 || len >= left)
                continue;
            p[k++] = (k23_range_t){at, len};
            if (rnd_below(s, 8) == 0)
                p[k++] = (k23_range_t){at + len, 0};
            at += len;
            left -= len;
        }
        p[k++] = (k23_range_t){at, left};
    }
    if (rnd_below(s, 2) == 0) {
        for (size_t i = k; i > 1; i--) {
            size_t j = (size_t)rnd_below(s, i);
            k23_range_t t = p[i - 1];
            p[i - 1] = p[j];
            p[j] = t;
        }
    }
    return k;
}

Test(frames_plan, split_maps_give_the_same_blocks_as_their_union,
     .timeout = 300)
{
    static const uint64_t bases[] = {128 * MiB, 0, 0 - WINDOW};
    static const uint64_t frame_sizes[] = {4096, 16384, 65536};
    static k23_range_t r[MAXR], p[MAXP];
    struct window w = {0, window_map()};
    for (unsigned seed = 1; seed <= 600; seed++) {
        uint64_t s = seed;
        w.phys_base = bases[rnd_below(&s, 3)];
        uint64_t fs = frame_sizes[rnd_below(&s, 3)];
        k23_frames_config_t c = window_cfg(&w, fs);
        c.hole_budget = rnd_below(&s, 64 * 4096);
        if (rnd_below(&s, 2) == 0)
            c.max_arena_frames =
                (UINT64_C(1) << c.max_order) + rnd_below(&s, 2048);
        size_t n = random_union(&s, &w, fs, r);
        size_t np = random_split(&s, fs, r, n, p);
        run_map(r, n, &c, &out_union);
        run_map(p, np, &c, &out_split);
        assert_same(&out_union, &out_split, seed);
    }
}

/* ---- the sort scratch (O(n log n) for unsorted maps) ---- */

static bool bases_ascend(const k23_range_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i].base < v[i - 1].base)
            return false;
    return true;
}

/* The scratch changes the cost, never the result: plans and allocators
 * built through a lent scratch (a separate array, the map itself, or one
 * too small, which falls back to scanning) equal the scanning walk's. */
Test(frames_plan, a_sort_scratch_gives_what_the_scanning_walk_gives,
     .timeout = 300)
{
    static k23_range_t r[MAXR], p[MAXP], q[MAXP], scratch[MAXP];
    struct window w = {128 * MiB, window_map()};
    unsigned sorted_copies = 0;
    for (unsigned seed = 1; seed <= 150; seed++) {
        uint64_t s = seed;
        k23_frames_config_t c = window_cfg(&w, 4096);
        c.hole_budget = rnd_below(&s, 64 * 4096);
        size_t np = random_split(&s, 4096, r, random_union(&s, &w, 4096, r),
                                 p);
        run_map(p, np, &c, &out_union);

        k23_frames_config_t lent = c;
        lent.sort_scratch = scratch;
        lent.sort_scratch_cap = np;
        memset(scratch, 0, sizeof(scratch));
        run_map(p, np, &lent, &out_split);
        assert_same(&out_union, &out_split, seed);
        if (np > 1 && !bases_ascend(p, np)) {
            /* the unsorted map really went through the scratch */
            cr_assert(bases_ascend(scratch, np), "seed %u: scratch unsorted",
                      seed);
            sorted_copies++;
        }

        memcpy(q, p, np * sizeof(q[0]));
        lent.sort_scratch = q; /* the map itself: sorted in place */
        run_map(q, np, &lent, &out_split);
        assert_same(&out_union, &out_split, seed);
        cr_assert(bases_ascend(q, np), "seed %u: map not sorted in place",
                  seed);

        if (np > 1) {
            lent.sort_scratch = scratch;
            lent.sort_scratch_cap = np - 1; /* too small: scanning */
            run_map(p, np, &lent, &out_split);
            assert_same(&out_union, &out_split, seed);
        }
    }
    cr_assert_gt(sorted_copies, 30, "only %u unsorted maps", sorted_copies);
}

Test(frames_plan, a_scratch_without_storage_or_partly_over_the_map_is_refused)
{
    static k23_range_t v[4];
    struct window w = {128 * MiB, window_map()};
    for (unsigned i = 0; i < 4; i++)
        v[i] = (k23_range_t){w.phys_base + (3 - i) * 4 * MiB, 2 * MiB};
    k23_frames_config_t c = window_cfg(&w, 4096);
    k23_frames_arena_plan_t plan[8];
    size_t np = 99, nrej = 99;

    c.sort_scratch_cap = 4; /* no storage */
    cr_assert_eq(k23_frames_plan(v, 4, &c, plan, 8, &np), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_init(&fa_storage, v, 4, &c, NULL, 0, &nrej),
                 K23_ERR_INVAL);
    cr_assert_eq(np, 99);

    c.sort_scratch = v + 1; /* overlaps the map without being it */
    cr_assert_eq(k23_frames_plan(v, 4, &c, plan, 8, &np), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_init(&fa_storage, v, 4, &c, NULL, 0, &nrej),
                 K23_ERR_INVAL);
    cr_assert_eq(v[0].base, w.phys_base + 12 * MiB, "map was written");

    c.sort_scratch = v; /* the map itself is fine */
    cr_assert_eq(k23_frames_plan(v, 4, &c, plan, 8, &np), K23_OK);
    cr_assert_gt(np, 0);
    cr_assert(bases_ascend(v, 4));

    k23_frames_config_t d;
    memset(&d, 0xa5, sizeof(d));
    cr_assert_eq(k23_frames_config_default(&d, 4096), K23_OK);
    cr_assert_null(d.sort_scratch);
    cr_assert_eq(d.sort_scratch_cap, 0);
}
