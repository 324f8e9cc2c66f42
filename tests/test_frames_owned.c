/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Owned chunks (arena.h, docs/frames.md): with the port's fast path, the
 * cached bits of a chunk are flipped only by the CPU whose cache owns the
 * chunk. Deterministic tests of the paths around that rule: refills claim
 * chunks (whole ones from anyone, partly free ones only from nobody), a
 * free of a frame whose chunk another cache owns (or nobody does) goes to
 * the arena and a second free of it is still caught, the checker finds a
 * cached frame outside its cache's chunks, and a frame taken from a cache
 * is flipped from another CPU by fencing the owner. The thread is pinned
 * so that "this CPU" stays one; the owners other tests need are set by
 * hand on chunks that hold no cached frame, which is when the allocator
 * itself may change them.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

#include "frames_pcpu.h"
#include "k23mem/frames.h"
#include "panic_capture.h"

#define F4K UINT64_C(4096)
#define CHUNK_BYTES (512 * F4K)
#define RAM_SIZE (8 * CHUNK_BYTES)

static k23_frames_t fa;
static unsigned char *ram;
static cpu_set_t old_affinity;
static unsigned here; /* the CPU the test runs on: its cache's index */

static void pin_to(unsigned cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
}

/* An allocator over 8 chunks with this CPU's cache and at least one
 * other; skips where the port has no fast path (nothing is owned then). */
static void setup(void)
{
    cr_assert_eq(sched_getaffinity(0, sizeof(old_affinity), &old_affinity),
                 0);
    int cpu = sched_getcpu();
    cr_assert_geq(cpu, 0);
    here = (unsigned)cpu;
    pin_to(here);
    ram = mmap(NULL, RAM_SIZE + CHUNK_BYTES, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(ram, MAP_FAILED);
    /* chunk aligned, so that chunk i is ram + i * CHUNK_BYTES */
    ram = (unsigned char *)(((uintptr_t)ram + CHUNK_BYTES - 1) &
                            ~(uintptr_t)(CHUNK_BYTES - 1));
    k23_frames_config_t cfg;
    cr_assert_eq(k23_frames_config_default(&cfg, F4K), K23_OK);
    cfg.cache_frames = 16;
    cfg.cache_batch = 8;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM_SIZE};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL), K23_OK);
    if (!fa.pcpu_fast)
        cr_skip_test("no CPU-local fast path here (TSan, K23MEM_NO_RSEQ, "
                     "no rseq): the cached bits flip atomically");
    if (fa.ncaches < 2 || here >= fa.ncaches)
        cr_skip_test("needs this CPU's cache and another one");
}

static void teardown(void)
{
    sched_setaffinity(0, sizeof(old_affinity), &old_affinity);
}

static k23_frames_arena_t *arena(void)
{
    return &fa.arenas[0];
}

static uint64_t chunk_of(k23_paddr_t pa)
{
    return ((pa >> 12) - arena()->bit_base) >> 9;
}

static uint16_t other(void)
{
    return (uint16_t)((here + 1) % fa.ncaches);
}

static k23_frames_stats_t stats(void)
{
    k23_frames_stats_t s;
    cr_assert_eq(k23_frames_stats(&fa, &s), K23_OK);
    return s;
}

TestSuite(frames_owned, .init = setup, .fini = teardown);

Test(frames_owned, a_refill_claims_the_chunks_it_caches_from)
{
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    k23_frames_pcpu_t *c = &fa.caches[here];
    cr_assert_gt(c->hdr.count, 0, "the refill cached nothing");
    for (unsigned i = 0; i < c->hdr.count; i++)
        cr_assert_eq(arena()->owner[chunk_of(c->frames[i])], here);
    /* freed here, the frame goes to this CPU's cache */
    unsigned before = c->hdr.count;
    if (arena()->owner[chunk_of(pa)] == here) {
        k23_frames_free_one(&fa, pa);
        cr_assert_eq(c->hdr.count, before + 1);
    } else {
        k23_frames_free_one(&fa, pa);
    }
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

/* A free of a frame whose chunk another cache owns, or none does, goes to
 * the arena: counted free at once, never cached; and freeing it again is
 * still a double free. */
static void free_twice(void *arg)
{
    k23_paddr_t pa = *(k23_paddr_t *)arg;
    k23_frames_free_one(&fa, pa);
    k23_frames_free_one(&fa, pa);
}

static void check_free_goes_to_the_arena(uint16_t owner)
{
    k23_paddr_t pa;
    /* a two-frame run comes from the arena, not from a cache (a one-frame
     * run would be a cache hit) */
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, 2 * F4K, 0, &pa), K23_OK);
    uint64_t c = chunk_of(pa);
    uint16_t was = arena()->owner[c];
    /* the chunk holds no cached frame: owners may change */
    for (unsigned i = 0; i < fa.caches[here].hdr.count; i++)
        cr_assert_neq(chunk_of(fa.caches[here].frames[i]), c);
    arena()->owner[c] = owner;
    k23_frames_stats_t s0 = stats();
    k23_frames_free_one(&fa, pa);
    k23_frames_stats_t s1 = stats();
    cr_assert_eq(s1.free_frames, s0.free_frames + 1);
    cr_assert_eq(s1.cached_frames, s0.cached_frames);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    pa += F4K; /* the run's second frame, still allocated */
    char out[512];
    cr_assert(panic_capture(free_twice, &pa, out, sizeof(out)));
    cr_assert(strstr(out, "not allocated (it is free)") != NULL, "%s", out);
    k23_frames_free_one(&fa, pa);
    cr_assert_eq(stats().cached_frames, s0.cached_frames);
    arena()->owner[c] = was;
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

Test(frames_owned, a_free_of_another_caches_chunk_goes_to_the_arena)
{
    check_free_goes_to_the_arena(other());
    check_free_goes_to_the_arena(K23_ARENA_NO_OWNER);
    cr_assert_eq(stats().free_frames, stats().total_frames);
}

Test(frames_owned, the_checker_finds_a_cached_frame_in_a_chunk_no_cache_owns)
{
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    k23_frames_free_one(&fa, pa);
    k23_frames_pcpu_t *c = &fa.caches[here];
    cr_assert_gt(c->hdr.count, 0);
    uint64_t ch = chunk_of(c->frames[c->hdr.count - 1]);
    cr_assert_eq(arena()->owner[ch], here);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    /* another cache's chunk is allowed (see the next test) */
    arena()->owner[ch] = other();
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    arena()->owner[ch] = K23_ARENA_NO_OWNER;
    cr_assert_eq(k23_frames_check(&fa), K23_ERR_CORRUPT);
    arena()->owner[ch] = (uint16_t)fa.ncaches;
    cr_assert_eq(k23_frames_check(&fa), K23_ERR_CORRUPT);
    arena()->owner[ch] = here;
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

/* A thread that moves between the flip of a free (on the owner's CPU)
 * and its push leaves the frame in another CPU's cache. Made here by
 * handing a cached frame's chunk to the other cache: popping it, and
 * draining it, flip it through that owner (fencing it from this CPU). */
static void make_foreign(uint64_t *ch_out)
{
    k23_paddr_t v[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(k23_frames_alloc_one(&fa, &v[i]), K23_OK);
    for (int i = 0; i < 4; i++)
        k23_frames_free_one(&fa, v[i]);
    k23_frames_pcpu_t *c = &fa.caches[here];
    cr_assert_geq(c->hdr.count, 4);
    uint64_t ch = chunk_of(c->frames[c->hdr.count - 1]);
    /* every frame of that chunk in this cache becomes foreign */
    arena()->owner[ch] = other();
    *ch_out = ch;
}

Test(frames_owned, a_foreign_frame_in_a_cache_is_popped_and_drained_by_its_owner)
{
    uint64_t ch;
    make_foreign(&ch);
    k23_frames_pcpu_t *c = &fa.caches[here];
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    /* the top entry is foreign: the hit's flip cannot run here */
    k23_paddr_t top = c->frames[c->hdr.count - 1], pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    cr_assert_eq(pa, top);
    cr_assert_eq(k23_arena_state_(arena(), (pa >> 12) - arena()->base_pfn),
                 FRAME_ALLOCATED);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    k23_frames_stats_t s0 = stats();
    /* freed here, it is not this CPU's to flip: to the arena */
    k23_frames_free_one(&fa, pa);
    cr_assert_eq(stats().free_frames, s0.free_frames + 1);
    cr_assert_eq(stats().cached_frames, s0.cached_frames);
    /* the drain: own frames under the fence, foreign through the owner */
    unsigned foreign = 0;
    for (unsigned i = 0; i < c->hdr.count; i++)
        foreign += chunk_of(c->frames[i]) == ch;
    cr_assert_gt(foreign, 0);
    k23_frames_drain_cpu(&fa, here);
    cr_assert_eq(stats().cached_frames, 0);
    cr_assert_eq(stats().free_frames, stats().total_frames);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

/* Refills use whole chunks whoever owned them and partly free chunks only
 * of their own or of nobody: with every partly free chunk another
 * cache's, a refill breaks a whole chunk and claims it. */
Test(frames_owned, a_refill_leaves_another_caches_partly_free_chunk_alone)
{
    k23_paddr_t run;
    /* the lowest partly free chunk after a 2-frame run (from the arena;
     * nothing is cached yet) */
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, 2 * F4K, 0, &run), K23_OK);
    cr_assert_eq(stats().cached_frames, 0);
    uint64_t part = chunk_of(run);
    arena()->owner[part] = other();
    /* and a whole chunk owned by the other cache too: claimable */
    for (uint64_t c = 0; c < arena()->nchunks; c++)
        if (c != part && arena()->chunk_free[c] == 512)
            arena()->owner[c] = other();
    uint64_t free_in_part = arena()->chunk_free[part];
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    k23_frames_pcpu_t *c = &fa.caches[here];
    cr_assert_gt(c->hdr.count, 0);
    for (unsigned i = 0; i < c->hdr.count; i++) {
        uint64_t ch = chunk_of(c->frames[i]);
        cr_assert_neq(ch, part, "a refill cached a frame of another cache's "
                                "partly free chunk");
        cr_assert_eq(arena()->owner[ch], here);
    }
    cr_assert_eq(arena()->owner[part], other());
    /* the one frame handed out may come from anywhere (this CPU's home
     * part first): only it may have come from the other cache's chunk */
    cr_assert_eq(arena()->chunk_free[part],
                 free_in_part - (chunk_of(pa) == part));
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    k23_frames_free_one(&fa, pa); /* another cache's chunk: to the arena */
    cr_assert_eq(k23_frames_free_contiguous(&fa, run, 2 * F4K), K23_OK);
    k23_frames_drain_all(&fa);
    cr_assert_eq(stats().free_frames, stats().total_frames);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

/* A frame popped on its owner's CPU and flipped after the thread moved:
 * the flip fences the owner and flips from the other CPU. Needs two CPUs
 * the test may use (the move is the path). */
Test(frames_owned, a_frame_taken_after_the_thread_moved_is_flipped_by_fencing)
{
    unsigned to = other();
    if (to >= CPU_SETSIZE || !CPU_ISSET(to, &old_affinity))
        cr_skip_test("CPU %u not available to move to", to);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    k23_frames_free_one(&fa, pa);
    uint64_t e = frames_fast_pop(&fa); /* counted in transit */
    cr_assert_neq(e, K23_PORT_PCPU_NONE);
    uint64_t pfn = frames_entry_pfn(&fa, e);
    cr_assert_eq(k23_arena_owner_(arena(), pfn), here);
    pin_to(to);
    /* on the spot the flip cannot run here */
    uint64_t m = k23_arena_bit_(pfn);
    cr_assert_eq(frames_flip(&fa, arena(), here, pfn, m, m),
                 K23_PORT_FLIP_ELSEWHERE);
    k23_frames_take_slow_(&fa, arena(), pfn, frames_entry_pa(e),
                          K23_PORT_FLIP_ELSEWHERE);
    frames_transit_end(&fa, 1);
    cr_assert_eq(k23_arena_state_(arena(), pfn - arena()->base_pfn),
                 FRAME_ALLOCATED);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    /* and a mismatch found from there is a panic, not a flip */
    cr_assert_eq(k23_frames_flip_anywhere_(&fa, arena(), here, pfn, m, m),
                 K23_PORT_FLIP_MISMATCH);
    pin_to(here);
    k23_frames_free_one(&fa, frames_entry_pa(e));
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}
