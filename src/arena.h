/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * One arena's buddy allocator, exact runs and checker, and the few
 * operations over the sorted set of arenas. Private to the frame
 * allocator (src/frames*.c); the public face is k23mem/frames.h. Below it
 * is only the run search (k23mem/bitmap.h).
 *
 * The arena's state (free lists, state bytes, bitmap, counters) is private
 * to arena.c: the files above it go through the functions here.
 *
 * Locking. Each arena points at the lock that guards it (a->lock). Every
 * function states its precondition and asserts it (K23_DEBUG >= 2):
 *   "arena lock"  a->lock is held by the caller (or, during
 *                 k23_frames_init(), the arena is not yet published and
 *                 the lock is held all the same);
 *   "frame owner" no lock: the caller owns the frame (it popped it from a
 *                 cache, or is freeing it), and only flips its state
 *                 between ALLOCATED and CACHED; such flips never touch a
 *                 frame of a free block, so they race with nothing the
 *                 arena lock guards (hence relaxed atomic state bytes);
 *   "none"        reads immutable geometry only.
 */
#ifndef K23MEM_ARENA_H
#define K23MEM_ARENA_H

#include "internal.h"
#include "k23mem/frames.h"

/* Per-frame states. A free block of order o starting at frame h has h in
 * FRAME_FREE_HEAD with order o and its other 2^o - 1 frames in FRAME_FREE.
 * Nothing else is ever FREE or FREE_HEAD. */
enum {
    FRAME_HOLE = 0,      /* not memory: a hole between merged regions */
    FRAME_RESERVED = 1,  /* the arena's own bookkeeping */
    FRAME_FREE = 2,      /* inside a free block, not its head */
    FRAME_FREE_HEAD = 3, /* first frame of a free block; `order` is valid */
    FRAME_ALLOCATED = 4, /* handed out to a caller */
    FRAME_CACHED = 5,    /* sitting in a per-CPU cache */
    FRAME_CHECK_MARK = 6 /* transient, only inside k23_frames_check() */
};

/* 9 bytes per frame, in two arrays: doubly linked free-list links as
 * arena-relative indices (so free frames are never written), and the
 * state bytes: FRAME_* in the low 3 bits, and for FRAME_FREE_HEAD the
 * block's order in the upper 5 (so that the buddy test of a free reads
 * one byte). The states of a run are contiguous, so a 2 MiB block's 512
 * states are checked and set eight at a time. State bytes are accessed
 * with relaxed atomics. */
struct k23_frame_meta {
    uint32_t next;  /* next block on the same free list, or K23_ARENA_NIL */
    uint32_t prev;  /* previous block, or K23_ARENA_NIL */
};

#define FRAME_STATE_MASK 7u
#define FRAME_ORDER_SHIFT 3u

#define K23_ARENA_NIL UINT32_MAX

/* The raw state accessors: for arena.c and for tests that inspect or
 * corrupt an arena on purpose. The files above the arena use the
 * operations further down. Precondition: arena lock, or frame owner for a
 * frame it owns. */
static inline uint8_t k23_arena_state_(const k23_frames_arena_t *a,
                                       uint64_t idx)
{
    return __atomic_load_n(&a->state[idx], __ATOMIC_RELAXED) &
           FRAME_STATE_MASK;
}

/* The order of the free block headed by frame idx (FRAME_FREE_HEAD). */
static inline unsigned k23_arena_order_(const k23_frames_arena_t *a,
                                        uint64_t idx)
{
    return __atomic_load_n(&a->state[idx], __ATOMIC_RELAXED) >>
           FRAME_ORDER_SHIFT;
}

static inline void k23_arena_set_state_(k23_frames_arena_t *a, uint64_t idx,
                                        uint8_t st)
{
    __atomic_store_n(&a->state[idx], st, __ATOMIC_RELAXED);
}

/* The state byte of the head of a free block of order o. */
#define FRAME_HEAD_BYTE(o) ((uint8_t)(FRAME_FREE_HEAD | (o) << FRAME_ORDER_SHIFT))

/* Asserts the "arena lock" precondition (K23_DEBUG >= 2). */
#define K23_ARENA_LOCKED(a)                                                    \
    K23_ASSERT_INTERNAL_FOUND(k23_port_lock_held((a)->lock),                   \
                              (uintptr_t)(a)->lock)

/* Bookkeeping bytes for an arena of @nframes frames (entries + bitmap).
 * Precondition: none (pure). */
uint64_t k23_arena_meta_bytes_(uint64_t nframes);

/* Set up an arena over [base_pfn, base_pfn + nframes) with every frame a
 * hole, guarded by `lock`; `meta` points at k23_arena_meta_bytes_(nframes)
 * writable bytes. Precondition: arena lock (`lock` held). */
void k23_arena_init_(k23_frames_arena_t *a, uint64_t base_pfn,
                     uint64_t nframes, void *meta, k23_port_lock_t *lock);

/* Mark [pfn, pfn + n) reserved (bookkeeping); they must be holes now.
 * Precondition: arena lock. */
void k23_arena_reserve_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n);

/* Turn [pfn, pfn + n), now holes, into free memory. Precondition: arena
 * lock. */
void k23_arena_add_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                         unsigned max_order);

/* Allocate n frames whose first frame number is a multiple of 2^align
 * and that all lie below frame number limit_pfn (exclusive), leaving them
 * in state `st` (ALLOCATED or CACHED). Returns false when there is none.
 * Precondition: arena lock. */
bool k23_arena_alloc_(k23_frames_arena_t *a, uint64_t n, unsigned align,
                      uint64_t limit_pfn, unsigned max_order, uint8_t st,
                      uint64_t *out_pfn);

/* Up to n single frames (fewer when the arena runs out) in state st,
 * their frame numbers to pfns; returns how many. Takes the smallest free
 * blocks first, as n single allocations would. Precondition: arena lock. */
unsigned k23_arena_alloc_singles_(k23_frames_arena_t *a, unsigned n,
                                  uint8_t st, uint64_t *pfns);

/* Free [pfn, pfn + n), all of which must be in state `expect`; panics
 * naming the first offending address otherwise (frame_shift converts to
 * an address). Coalesces in O(1) per order. Precondition: arena lock. */
void k23_arena_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                     uint8_t expect, unsigned max_order,
                     unsigned frame_shift);

/* Panic as k23_arena_free_() would unless every frame of [pfn, pfn + n)
 * is in state `expect`; changes nothing. Precondition: arena lock. */
void k23_arena_expect_range_(const k23_frames_arena_t *a, uint64_t pfn,
                             uint64_t n, uint8_t expect, unsigned frame_shift);

/* Panic for a frame found in the wrong state when freeing.
 * Precondition: none. */
K23_NORETURN void k23_arena_misuse_(uint8_t st, bool partly, uint64_t addr);

/* Walk the arena; returns K23_OK or K23_ERR_CORRUPT (logged). Counts the
 * frames in CACHED state into *cached. Precondition: arena lock. */
int k23_arena_check_(const k23_frames_arena_t *a, unsigned max_order,
                     unsigned frame_shift, uint64_t *cached);

/* ---- geometry (immutable after init; precondition: none) ---- */

static inline uint64_t k23_arena_base_(const k23_frames_arena_t *a)
{
    return a->base_pfn;
}

/* One past the arena's last frame number. */
static inline uint64_t k23_arena_end_(const k23_frames_arena_t *a)
{
    return a->base_pfn + a->nframes;
}

static inline bool k23_arena_contains_(const k23_frames_arena_t *a,
                                       uint64_t pfn)
{
    return pfn - a->base_pfn < a->nframes;
}

/* Largest order <= max_order of an aligned block that fits in the arena:
 * what alignment a request can ask of it. */
unsigned k23_arena_max_order_(const k23_frames_arena_t *a,
                              unsigned max_order);

/* ---- frames owned by a caller or a cache (precondition: frame owner) ----
 *
 * A frame in a per-CPU cache is CACHED; these flip it without the arena
 * lock. They panic (naming pa) when the frame is not in the state the
 * flip needs, which is how a double free is caught on the cache path. */

/* A frame taken from a cache: CACHED -> ALLOCATED. */
static inline void k23_arena_cache_take_(k23_frames_arena_t *a, uint64_t pfn)
{
    k23_arena_set_state_(a, pfn - a->base_pfn, FRAME_ALLOCATED);
}

/* A frame on its way into a cache: ALLOCATED -> CACHED, after
 * k23_arena_expect_allocated_() checked it. */
static inline void k23_arena_cache_mark_(k23_frames_arena_t *a, uint64_t pfn)
{
    k23_arena_set_state_(a, pfn - a->base_pfn, FRAME_CACHED);
}

/* Panics naming pa unless the frame is ALLOCATED (a free about to go to
 * a cache checks before anything else changes). */
static inline void k23_arena_expect_allocated_(const k23_frames_arena_t *a,
                                               uint64_t pfn, k23_paddr_t pa)
{
    uint8_t st = k23_arena_state_(a, pfn - a->base_pfn);
    if (K23_UNLIKELY(st != FRAME_ALLOCATED))
        k23_arena_misuse_(st, false, pa);
}

/* The shortest cache paths of an allocator with one arena address state
 * bytes by frame number alone: k23_arena_origin_(a) is where frame number
 * 0's state byte would be (modulo the address width), so no arena lookup
 * and no subtraction of the base is needed. Valid for frame numbers the
 * caller has checked lie inside a. */
static inline uintptr_t k23_arena_origin_(const k23_frames_arena_t *a)
{
    return (uintptr_t)a->state - (uintptr_t)a->base_pfn;
}

static inline uint8_t *k23_arena_origin_state_(uintptr_t origin,
                                               uint64_t pfn)
{
    return (uint8_t *)(origin + (uintptr_t)pfn);
}

/* k23_arena_cache_take_() through the origin. */
static inline void k23_arena_origin_take_(uintptr_t origin, uint64_t pfn)
{
    __atomic_store_n(k23_arena_origin_state_(origin, pfn), FRAME_ALLOCATED,
                     __ATOMIC_RELAXED);
}

/* k23_arena_expect_allocated_() through the origin. */
static inline void k23_arena_origin_expect_allocated_(uintptr_t origin,
                                                      uint64_t pfn,
                                                      k23_paddr_t pa)
{
    uint8_t st = __atomic_load_n(k23_arena_origin_state_(origin, pfn),
                                 __ATOMIC_RELAXED);
    if (K23_UNLIKELY(st != FRAME_ALLOCATED))
        k23_arena_misuse_(st, false, pa);
}

/* k23_arena_cache_mark_() through the origin. */
static inline void k23_arena_origin_put_(uintptr_t origin, uint64_t pfn)
{
    __atomic_store_n(k23_arena_origin_state_(origin, pfn), FRAME_CACHED,
                     __ATOMIC_RELAXED);
}

/* ---- more operations (precondition: arena lock) ---- */

/* Free frames below frame number limit_pfn (exclusive), counted exactly. */
uint64_t k23_arena_free_below_(const k23_frames_arena_t *a,
                               uint64_t limit_pfn);

/* Whether every frame of [pfn, pfn + n) is a hole. */
bool k23_arena_is_hole_(const k23_frames_arena_t *a, uint64_t pfn,
                        uint64_t n);

/* Turn [pfn, pfn + n), which must all be holes, into free memory that
 * coalesces with its free neighbours. K23_ERR_OVERLAP (nothing changed)
 * when a frame is not a hole. */
int k23_arena_add_hole_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                        unsigned max_order, unsigned frame_shift);

/* Add the arena's counters to a statistics snapshot. */
void k23_arena_stats_add_(const k23_frames_arena_t *a,
                          k23_frames_stats_t *s);

/* What k23_frames_arena_info() reports. Precondition: none (free_frames
 * is a racy hint without the lock). */
void k23_arena_describe_(const k23_frames_arena_t *a, unsigned frame_shift,
                         k23_frames_arena_info_t *out);

/* The checker's marks on frames named by cache entries (every lock held):
 * mark turns a CACHED frame into CHECK_MARK and returns true, or returns
 * false (not CACHED, or named twice); unmark undoes a mark. */
bool k23_arena_check_mark_(k23_frames_arena_t *a, uint64_t pfn);
void k23_arena_check_unmark_(k23_frames_arena_t *a, uint64_t pfn);

/* ---- the set of arenas ---- */

/* Index of the arena holding frame pfn, or -1. Arenas are sorted and
 * immutable after init. Precondition: none. */
static inline int k23_arenas_find_(const k23_frames_arena_t *v, unsigned n,
                                   uint64_t pfn)
{
    if (K23_LIKELY(n == 1))
        return k23_arena_contains_(&v[0], pfn) ? 0 : -1;
    unsigned lo = 0, hi = n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const k23_frames_arena_t *a = &v[mid];
        if (pfn < a->base_pfn)
            hi = mid;
        else if (!k23_arena_contains_(a, pfn))
            lo = mid + 1;
        else
            return (int)mid;
    }
    return -1;
}

/* k23_arena_alloc_() over the arenas v[0..n), highest first (low memory
 * stays free for bounded, DMA-style requests). Precondition: the arena
 * lock of every one of them. */
bool k23_arenas_alloc_(k23_frames_arena_t *v, unsigned n, uint64_t nframes,
                       unsigned align, uint64_t limit_pfn,
                       unsigned max_order, uint8_t st, unsigned *ai,
                       uint64_t *pfn);

/* k23_arena_check_() over v[0..n) plus their order and overlap; the
 * CACHED count goes to *cached. Precondition: every arena lock. */
int k23_arenas_check_(const k23_frames_arena_t *v, unsigned n,
                      unsigned max_order, unsigned frame_shift,
                      uint64_t *cached);

#endif /* K23MEM_ARENA_H */
