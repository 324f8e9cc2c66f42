/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Per-CPU caches of single frames: the layer between the public API
 * (frames.c) and the arenas (arena.h). The cache-hit steps are inline
 * here, so the public single-frame functions keep them on their shortest
 * path; everything else is in frames_pcpu.c.
 *
 * Per-CPU caches hold single frames as (arena index, frame index) pairs in
 * a small LIFO array. A frame in a cache is in state CACHED in its arena's
 * metadata, so a double free is caught even when the first free only went
 * to a cache. Caches are bounded: a free into a full cache first drains
 * the oldest `cache_batch` frames back to the arenas, and an allocation
 * that finds the arenas empty drains every cache and retries, so frames
 * freed on one CPU are never stranded there.
 *
 * The hosted port cannot pin a thread to a CPU. Without a CPU-local fast
 * path a cache is therefore always used under its own lock; a caller
 * preempted or migrated inside the section merely uses another CPU's
 * cache, correctly. With one (k23_port_pcpu_fast(): rseq on x86_64 Linux),
 * a cache hit is one k23_port_pcpu_pop() or k23_port_pcpu_push() on the
 * calling CPU's cache, with no lock and no locked instruction; a miss
 * refills or spills through the same hooks plus the arena lock; and every
 * other access to a cache (drain_cpu, stats, check) holds the cache lock
 * and fences the cache (k23_port_pcpu_fence) so that no hook can commit on
 * it meanwhile. The frame state bytes are written outside the hooks: a
 * free writes CACHED before its push, an allocation ALLOCATED after its
 * pop, so a frame in a cache is always CACHED, and a CACHED frame in no
 * cache is one a thread is between those two steps with ("in transit"),
 * counted in the caches' transit counters (see frames_transit_begin) so
 * that the checker can tell it from a lost frame.
 */
#ifndef K23MEM_FRAMES_PCPU_H
#define K23MEM_FRAMES_PCPU_H

#include "arena.h"
#include "frames_internal.h"

/* A cache entry is the frame's physical address with its arena's index
 * in the low bits, which frame alignment (at least 4 KiB) leaves zero. A
 * cache hit then hands out the address with one AND and a free pushes its
 * argument with one OR: on the dependency chain that runs through the
 * cache from one free to the next allocation, nothing waits for arena
 * arithmetic (the state update runs beside it). Never equal to
 * K23_PORT_PCPU_NONE (all-ones), as the index is < 32. */
#define FRAMES_ENTRY_ARENA_MASK ((UINT64_C(1) << FRAMES_MIN_SHIFT) - 1)
_Static_assert(K23_FRAMES_MAX_ARENAS <= FRAMES_ENTRY_ARENA_MASK,
               "arena indices must fit below the smallest frame alignment");

static inline uint64_t frames_entry(const k23_frames_t *fa, unsigned ai,
                                    uint64_t pfn)
{
    return (pfn << fa->frame_shift) | ai;
}

static inline unsigned frames_entry_arena(uint64_t e)
{
    return (unsigned)(e & FRAMES_ENTRY_ARENA_MASK);
}

static inline k23_paddr_t frames_entry_pa(uint64_t e)
{
    return e & ~FRAMES_ENTRY_ARENA_MASK;
}

static inline uint64_t frames_entry_pfn(const k23_frames_t *fa, uint64_t e)
{
    return e >> fa->frame_shift;
}

/* The port's stack hooks find the header at the start of each cache. */
_Static_assert(offsetof(k23_frames_pcpu_t, hdr) == 0,
               "k23_frames_pcpu_t must start with its header");
#define FRAMES_SLOTS_OFF offsetof(k23_frames_pcpu_t, frames)

/* The port's CPU-local stack steps, inline where the port has them. */
#ifdef K23_PORT_PCPU_INLINE
#define FRAMES_PCPU_POP k23_port_pcpu_pop_inline
#define FRAMES_PCPU_PUSH k23_port_pcpu_push_inline
#define FRAMES_PCPU_ADD k23_port_pcpu_add_inline
#define FRAMES_PCPU_FLIP k23_port_pcpu_flip_inline
#else
#define FRAMES_PCPU_POP k23_port_pcpu_pop
#define FRAMES_PCPU_PUSH k23_port_pcpu_push
#define FRAMES_PCPU_ADD k23_port_pcpu_add
#define FRAMES_PCPU_FLIP k23_port_pcpu_flip
#endif

/* Pop an entry from the calling CPU's cache (K23_PORT_PCPU_NONE: none;
 * entries never equal it, their arena index being < 2^32 - 1). */
static inline uint64_t frames_fast_pop(k23_frames_t *fa)
{
    return FRAMES_PCPU_POP(fa->caches, sizeof(fa->caches[0]), fa->ncaches,
                           FRAMES_SLOTS_OFF);
}

static inline bool frames_fast_push(k23_frames_t *fa, uint64_t e)
{
    return FRAMES_PCPU_PUSH(fa->caches, sizeof(fa->caches[0]), fa->ncaches,
                            FRAMES_SLOTS_OFF, fa->cfg.cache_frames, e);
}

/*
 * In-transit accounting (fast path only). A frame in state CACHED that is
 * in no cache is one a thread holds between a cache step and the state
 * store that goes with it (or a batch a refill or spill holds). The
 * checker must tell those from lost frames, whatever the scheduling, so
 * every such frame is counted in the `transit` counters of the cache
 * headers before it can be seen in that condition and uncounted only
 * after: a pop counts the frame it takes and a push uncounts the one it
 * gives, in the store that commits the step; a free counts its frame
 * (frames_transit_begin) before writing CACHED, an allocation uncounts
 * (frames_transit_end) after writing ALLOCATED. Each thread's share of
 * the sum is never negative and never below the number of frames it
 * holds CACHED outside the caches. The counters change only in CPU-local
 * steps or under a fence, so the checker, holding every fence, reads a
 * sum that cannot move, and a CACHED frame in no cache beyond that sum is
 * lost for certain.
 */
static inline bool frames_transit_begin(k23_frames_t *fa, unsigned n)
{
    return FRAMES_PCPU_ADD(fa->caches, sizeof(fa->caches[0]), fa->ncaches,
                           (int32_t)n);
}

#define FRAMES_TRANSIT_MASK ((UINT64_C(1) << 48) - 1)

/* A cache header's transit counter (48 bits, see port.h), read while the
 * cache is fenced. */
static inline uint64_t frames_hdr_transit(const k23_port_pcpu_hdr_t *h)
{
    return h->transit_lo | (uint64_t)h->transit_hi << 16;
}

/* The calling CPU's cache is fenced or beyond the caches: uncount under
 * cache 0's lock and fence instead (only the sum matters). */
void k23_frames_transit_end_locked_(k23_frames_t *fa, unsigned n);

/* Uncount n frames; always succeeds. No lock may be held. */
static inline void frames_transit_end(k23_frames_t *fa, unsigned n)
{
    if (K23_UNLIKELY(!FRAMES_PCPU_ADD(fa->caches, sizeof(fa->caches[0]),
                                      fa->ncaches, -(int32_t)n)))
        k23_frames_transit_end_locked_(fa, n);
}

/* pa rotated right by s (0 < s < 64): its frame number when pa is frame
 * aligned, and at least 2^(64 - s), above every frame number, when not. */
static inline uint64_t frames_rotr(k23_paddr_t pa, unsigned s)
{
    return (pa >> s) | (pa << ((64u - s) & 63u));
}

/* ---- owned chunks (arena.h): flips of cached bits on the fast path ---- */

/* The header of cache `owner`'s stack, for the flip step; computed as an
 * address so that an owner that is no cache (corrupt state) yields a
 * pointer the step never reads: it fails on the CPU id first. */
static inline const k23_port_pcpu_hdr_t *frames_owner_hdr(const k23_frames_t *fa,
                                                          uint16_t owner)
{
    return (const k23_port_pcpu_hdr_t *)((uintptr_t)fa->caches +
                                         (uintptr_t)owner *
                                             sizeof(fa->caches[0]));
}

/* Flip the bits m of frame pfn's cached word when they read expect, on
 * the owner's CPU (K23_PORT_FLIP_*). */
static inline int frames_flip(k23_frames_t *fa, k23_frames_arena_t *a,
                              uint16_t owner, uint64_t pfn, uint64_t m,
                              uint64_t expect)
{
    return FRAMES_PCPU_FLIP(frames_owner_hdr(fa, owner), owner,
                            k23_arena_cached_word_(a, pfn), m, expect);
}

/* As frames_flip(), from any CPU: when the step cannot run here (the
 * thread is not on the owner's CPU, or the owner's stack is fenced), the
 * owner's stack is fenced under its lock and the bits flipped from here.
 * Returns K23_PORT_FLIP_DONE or K23_PORT_FLIP_MISMATCH; panics on an
 * owner that is no cache. */
int k23_frames_flip_anywhere_(k23_frames_t *fa, k23_frames_arena_t *a,
                              uint16_t owner, uint64_t pfn, uint64_t m,
                              uint64_t expect);

/* The cold end of a cache hit whose flip did not happen on the spot
 * (result r): flip from here, or panic naming pa. */
void k23_frames_take_slow_(k23_frames_t *fa, k23_frames_arena_t *a,
                           uint64_t pfn, k23_paddr_t pa, int r);

/* The cold end of a free whose flip to CACHED did not happen (result r):
 * uncount it; panic naming pa when its bit was set (a double free, or
 * not memory); otherwise its chunk is another cache's, or the calling
 * CPU's cache is fenced: free it straight to arena a. */
void k23_frames_free_unflipped_(k23_frames_t *fa, k23_frames_arena_t *a,
                                k23_paddr_t pa, int r);

/* A frame just popped from a cache: mark it allocated (its chunk's owner
 * flips it: the cache that held it), return its address. */
static inline k23_paddr_t frames_take_popped(k23_frames_t *fa, uint64_t e)
{
    k23_frames_arena_t *a = &fa->arenas[frames_entry_arena(e)];
    uint64_t pfn = frames_entry_pfn(fa, e), m = k23_arena_bit_(pfn);
    int r = frames_flip(fa, a, k23_arena_owner_(a, pfn), pfn, m, m);
    if (K23_UNLIKELY(r != K23_PORT_FLIP_DONE))
        k23_frames_take_slow_(fa, a, pfn, frames_entry_pa(e), r);
    frames_transit_end(fa, 1); /* the pop counted it */
    return frames_entry_pa(e);
}

/* Panic for a free of pa that is misaligned or not the allocator's. */
K23_NORETURN void k23_frames_bad_free_(const k23_frames_t *fa,
                                       k23_paddr_t pa);

/* Arena (and its index) of the frame at pa, or a panic naming pa. */
static inline k23_frames_arena_t *k23_frames_owner_(k23_frames_t *fa,
                                                    k23_paddr_t pa,
                                                    unsigned *ai_out)
{
    int ai = k23_arenas_find_(fa->arenas, fa->narenas, pa >> fa->frame_shift);
    if (K23_UNLIKELY((pa & (fa->cfg.frame_size - 1)) != 0 || ai < 0))
        k23_frames_bad_free_(fa, pa);
    *ai_out = (unsigned)ai;
    return &fa->arenas[ai];
}

/* ---- the rest of the cache layer (frames_pcpu.c) ---- */

/* Take cache i for ordinary loads and stores: its lock, and with the fast
 * path its fence too; unlock undoes both. */
void k23_frames_cache_lock_(k23_frames_t *fa, unsigned i)
    K23_ACQUIRE(fa->caches[i].lock);
void k23_frames_cache_unlock_(k23_frames_t *fa, unsigned i)
    K23_RELEASE(fa->caches[i].lock);

/* The allocator's lock, then every stripe lock of every arena in address
 * order: what whole-arena operations (runs across stripes, bulk, add,
 * statistics, the checker) hold; and back. */
void k23_frames_arenas_lock_(k23_frames_t *fa) K23_ACQUIRE(fa->lock);
void k23_frames_arenas_unlock_(k23_frames_t *fa) K23_RELEASE(fa->lock);

/* Every cache lock in ascending order, then k23_frames_arenas_lock_();
 * and back. */
void k23_frames_lock_all_(k23_frames_t *fa) K23_ACQUIRE(fa->lock);
void k23_frames_unlock_all_(k23_frames_t *fa) K23_RELEASE(fa->lock);

/* Give every frame in cache i back to the arenas. No lock held. */
void k23_frames_cache_drain_(k23_frames_t *fa, unsigned i);

/* Allocate n frames at the alignment below limit_pfn from the arenas;
 * when they have none, drain every cache and retry once. No lock held. */
bool k23_frames_alloc_global_(k23_frames_t *fa, uint64_t n, unsigned align,
                              uint64_t limit_pfn, k23_paddr_t *pa);

/* Every case of a single-frame allocation but the one-arena fast hit
 * (which k23_frames_alloc_one() inlines): from the calling CPU's cache,
 * refilling it on a miss, else from the arenas. False: no frame left. */
bool k23_frames_cache_alloc_(k23_frames_t *fa, k23_paddr_t *pa);

/* Every case of a single-frame free but the one-arena fast hit. Panics on
 * misuse, naming pa. */
void k23_frames_cache_free_(k23_frames_t *fa, k23_paddr_t pa);

/* A fast hit's push failed for pa (the calling CPU's cache is full or
 * fenced); the frame, in arena 0, is CACHED and counted in transit. */
void k23_frames_cache_spill_(k23_frames_t *fa, k23_paddr_t pa);

/* A fast hit could not count pa in transit: free it to arena 0 directly. */
void k23_frames_free_direct_(k23_frames_t *fa, k23_paddr_t pa);

/* Cache i's statistics, under its lock. */
void k23_frames_cache_stats_(k23_frames_t *fa, unsigned i,
                             k23_frames_cpu_stats_t *out);

/* Frames held by the caches; every lock held. */
uint64_t k23_frames_caches_count_(const k23_frames_t *fa);

/* The checker's part for the caches, every lock (and fence) held: each
 * entry names a distinct CACHED frame, and the CACHED frames in no cache
 * (cached - entries, cached as counted by k23_arenas_check_()) are no more
 * than those in transit. K23_OK or K23_ERR_CORRUPT (logged). */
int k23_frames_caches_check_(k23_frames_t *fa, uint64_t cached);

/* The arena check of the most expensive debug level, after each change
 * under every arena lock (shared by frames.c and frames_pcpu.c), or
 * taking them (no arena or stripe lock held). */
#if K23_DEBUG >= 3
static inline int k23_frames_check_arenas_locked_(const k23_frames_t *fa)
    K23_REQUIRES(fa->lock)
{
    uint64_t cached = 0;
    return k23_arenas_check_(fa->arenas, fa->narenas, fa->cfg.max_order,
                             fa->frame_shift, &cached);
}

static inline int k23_frames_check_arenas_(k23_frames_t *fa)
{
    k23_frames_arenas_lock_(fa);
    int rc = k23_frames_check_arenas_locked_(fa);
    k23_frames_arenas_unlock_(fa);
    return rc;
}
#endif

#endif /* K23MEM_FRAMES_PCPU_H */
