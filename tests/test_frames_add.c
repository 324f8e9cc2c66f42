/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23_frames_add_region(): memory given to the allocator after init (a
 * hole inside an arena, as the device tree or a boot carve-out between
 * free regions is) becomes free, coalesces with its free neighbours, and
 * can be handed out; anything else is refused without changing a thing.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "k23mem/frames.h"
#include "one_cpu.h"

#define F4K 4096u
#define SPAN (4u << 20)          /* the "RAM": 4 MiB, 4 MiB aligned */
#define HOLE_OFF (1u << 20)      /* a 64 KiB hole 1 MiB into it */
#define HOLE_SIZE (64u << 10)

static uint64_t ram;

static void map_ram(void)
{
    void *p = mmap(NULL, 2 * SPAN, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    ram = ((uint64_t)(uintptr_t)p + SPAN - 1) & ~(uint64_t)(SPAN - 1);
}

/* The RAM with [HOLE_OFF, +HOLE_SIZE) left out: one arena with a hole. */
static void init_with_hole(k23_frames_t *fa)
{
    k23_range_t r[2] = {{ram, HOLE_OFF},
                        {ram + HOLE_OFF + HOLE_SIZE,
                         SPAN - HOLE_OFF - HOLE_SIZE}};
    cr_assert_eq(k23_frames_init(fa, r, 2, NULL, NULL, 0, NULL), K23_OK);
    k23_frames_stats_t st;
    cr_assert_eq(k23_frames_stats(fa, &st), K23_OK);
    cr_assert_eq(st.narenas, 1, "the regions must share one arena");
    k23_frames_arena_info_t ai;
    cr_assert_eq(k23_frames_arena_info(fa, 0, &ai), K23_OK);
}

static void stats(k23_frames_t *fa, k23_frames_stats_t *st)
{
    k23_frames_drain_all(fa);
    cr_assert_eq(k23_frames_stats(fa, st), K23_OK);
    cr_assert_eq(k23_frames_check(fa), K23_OK);
}

Test(frames_add, hole_becomes_free_and_coalesces)
{
    static k23_frames_t fa, whole;
    map_ram();
    init_with_hole(&fa);
    k23_frames_stats_t before, after, ref;
    stats(&fa, &before);
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF, HOLE_SIZE),
                 K23_OK);
    stats(&fa, &after);
    cr_assert_eq(after.free_frames, before.free_frames + HOLE_SIZE / F4K);
    cr_assert_eq(after.total_frames, before.total_frames + HOLE_SIZE / F4K);

    /* Exactly the free blocks of an allocator that had the whole RAM from
     * the start: the added frames merged with both neighbours. */
    k23_range_t r = {ram, SPAN};
    cr_assert_eq(k23_frames_init(&whole, &r, 1, NULL, NULL, 0, NULL), K23_OK);
    stats(&whole, &ref);
    cr_assert_eq(after.free_frames, ref.free_frames);
    for (unsigned o = 0; o < K23_FRAMES_ORDER_LIMIT; o++)
        cr_assert_eq(after.free_blocks[o], ref.free_blocks[o],
                     "order %u: %llu free blocks, whole-RAM init has %llu", o,
                     (unsigned long long)after.free_blocks[o],
                     (unsigned long long)ref.free_blocks[o]);
}

Test(frames_add, added_frames_are_handed_out)
{
    static k23_frames_t fa;
    map_ram();
    init_with_hole(&fa);
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF, HOLE_SIZE),
                 K23_OK);
    k23_frames_stats_t st;
    stats(&fa, &st);
    uint64_t in_hole = 0, n = 0;
    k23_paddr_t pa;
    while (k23_frames_alloc_one(&fa, &pa) == K23_OK) {
        in_hole += pa >= ram + HOLE_OFF && pa < ram + HOLE_OFF + HOLE_SIZE;
        n++;
    }
    cr_assert_eq(n, st.total_frames);
    cr_assert_eq(in_hole, HOLE_SIZE / F4K);
}

Test(frames_add, refused_ranges_change_nothing)
{
    static k23_frames_t fa;
    map_ram();
    init_with_hole(&fa);
    k23_frames_stats_t before, after;
    stats(&fa, &before);
    /* part of it free already, part of it a hole */
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF - F4K,
                                       2 * F4K), K23_ERR_OVERLAP);
    /* free memory */
    cr_assert_eq(k23_frames_add_region(&fa, ram, F4K), K23_ERR_OVERLAP);
    /* outside every arena, and running past the arena's end */
    cr_assert_eq(k23_frames_add_region(&fa, ram + SPAN, F4K),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_frames_add_region(&fa, ram + SPAN - F4K, 2 * F4K),
                 K23_ERR_NOT_FOUND);
    /* arguments */
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF + 1, F4K),
                 K23_ERR_ALIGN);
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF, F4K + 1),
                 K23_ERR_ALIGN);
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF, 0),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_add_region(&fa, UINT64_MAX - F4K + 1, 2 * F4K),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_add_region(NULL, ram + HOLE_OFF, F4K),
                 K23_ERR_INVAL);
    stats(&fa, &after);
    cr_assert_eq(after.free_frames, before.free_frames);
    cr_assert_eq(after.total_frames, before.total_frames);
    /* and the whole hole once; then again is an overlap */
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF, HOLE_SIZE),
                 K23_OK);
    cr_assert_eq(k23_frames_add_region(&fa, ram + HOLE_OFF, F4K),
                 K23_ERR_OVERLAP);
}

/* ---- hole extents: the bitfield arena records holes as extents, and an
 * add in the middle of one cuts it in two, using one of the arena's
 * K23_FRAMES_HOLE_SLACK spare extents ---- */

#include "panic_capture.h"

static k23_frames_t fa_cut;

static void free_hole_frame(void *arg)
{
    k23_frames_free_one(&fa_cut, *(k23_paddr_t *)arg);
}

static void free_run_into_hole(void *arg)
{
    (void)k23_frames_free_contiguous(&fa_cut, *(k23_paddr_t *)arg, 2 * F4K);
}

Test(frames_add, cutting_holes_uses_the_slack_then_fails_cleanly)
{
    map_ram();
    init_with_hole(&fa_cut);
    k23_paddr_t hole = ram + HOLE_OFF;
    /* frames 1, 3, 5, 7 of the 16-frame hole: each cuts an extent */
    for (unsigned i = 0; i < K23_FRAMES_HOLE_SLACK; i++)
        cr_assert_eq(k23_frames_add_region(&fa_cut, hole + (2 * i + 1) * F4K,
                                           F4K),
                     K23_OK, "cut %u", i);
    k23_frames_stats_t before, after;
    stats(&fa_cut, &before);
    /* one more cut needs an extent the arena does not have */
    cr_assert_eq(k23_frames_add_region(&fa_cut, hole + 11 * F4K, F4K),
                 K23_ERR_LIMIT);
    stats(&fa_cut, &after);
    cr_assert_eq(after.free_frames, before.free_frames, "nothing changed");
    cr_assert_eq(after.hole_frames, before.hole_frames);
    /* trimming an extent at its edge needs none */
    cr_assert_eq(k23_frames_add_region(&fa_cut, hole + 8 * F4K, F4K), K23_OK);
    cr_assert_eq(k23_frames_add_region(&fa_cut, hole + 15 * F4K, F4K),
                 K23_OK);
    stats(&fa_cut, &after);
    cr_assert_eq(after.hole_frames, before.hole_frames - 2);
    /* what is still a hole is still not the allocator's to free */
    char msg[512];
    k23_paddr_t left = hole + 2 * F4K;
    cr_assert(panic_capture(free_hole_frame, &left, msg, sizeof(msg)));
    cr_assert(strstr(msg, "does not own") != NULL, "%s", msg);
    k23_paddr_t run = hole + 9 * F4K; /* frame 9 a hole, 10 too */
    cr_assert(panic_capture(free_run_into_hole, &run, msg, sizeof(msg)));
    cr_assert(strstr(msg, "does not own") != NULL, "%s", msg);
}
