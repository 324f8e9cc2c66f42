/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * One arena's bitfield allocator, exact runs and checker, and the few
 * operations over the sorted set of arenas. Private to the frame
 * allocator (src/frames*.c); the public face is k23mem/frames.h. Below it
 * is only the run search (k23mem/bitmap.h).
 *
 * The arena's state (two bits per frame, per-chunk counters, chunk
 * bitmaps, hole extents) is private to arena.c: the files above it go
 * through the functions here.
 *
 * Locking. An arena is cut into stripes (whole groups of 64 chunks, at
 * most K23_FRAMES_MAX_STRIPES), each with its own lock and free counter in
 * the bookkeeping; a stripe lock guards the bits, chunk counters and chunk
 * bitmap words of its chunks. a->lock is the allocator's lock. Every
 * function states its precondition and asserts it (K23_DEBUG >= 2):
 *   "arena lock"  a->lock and every stripe lock of the arena are held
 *                 (k23_arena_lock_()); during k23_frames_init() the arena
 *                 is not yet published and they are held all the same;
 *   "stripe lock" the function takes the stripe locks it needs itself,
 *                 one at a time or an ascending set, and the caller holds
 *                 none of the arena's (the miss paths of the caches and
 *                 single frames: no lock shared by all CPUs);
 *   "frame owner" no lock: the caller owns the frame (it popped it from a
 *                 cache, or is freeing it), and only flips its cached bit
 *                 (ALLOCATED <-> CACHED): with the port's fast path by
 *                 the port's flip step on the CPU that owns the chunk
 *                 (see "Owned chunks" below), otherwise with an atomic
 *                 read-modify-write of the word, since other CPUs flip
 *                 neighbouring bits; the busy bits change only under the
 *                 arena lock;
 *   "none"        reads immutable geometry only.
 */
#ifndef K23MEM_ARENA_H
#define K23MEM_ARENA_H

#include "internal.h"
#include "k23mem/frames.h"

/* What a frame is, as computed from its two bits (busy, cached) and, for
 * (1, 1), the hole extents and the bookkeeping range:
 *   FREE      (0, 0)   ALLOCATED (1, 0)   CACHED (1, 1)
 *   HOLE, RESERVED (1, 1) inside a hole extent or the bookkeeping range
 *   INVALID   (0, 1)   never valid (corruption)
 * CHECK_MARK is not stored: k23_arena_check_mark_() turns a CACHED frame
 * into (1, 0) while the checker runs under every lock. */
enum {
    FRAME_HOLE = 0,      /* not memory: a hole between merged regions */
    FRAME_RESERVED = 1,  /* the arena's own bookkeeping */
    FRAME_FREE = 2,      /* free */
    FRAME_INVALID = 3,   /* (0, 1): corrupt */
    FRAME_ALLOCATED = 4, /* handed out to a caller */
    FRAME_CACHED = 5,    /* sitting in a per-CPU cache */
};

/* Frames per chunk: the unit of the free counters and chunk bitmaps
 * (2 MiB with 4 KiB frames), and of the bitfield's alignment: bit 0 of
 * the bitfield is the frame number a->bit_base, a multiple of it. */
#define K23_ARENA_CHUNK_SHIFT 9u
#define K23_ARENA_CHUNK ((uint64_t)1 << K23_ARENA_CHUNK_SHIFT)
#define K23_ARENA_CHUNK_WORDS (K23_ARENA_CHUNK / 64)

/* Spare hole extents an arena with holes gets for k23_frames_add_region()
 * splitting one. */
#define K23_ARENA_HOLE_SLACK 4u

/* One stripe: its lock and its free frames, on a cache line of their
 * own. */
struct k23_frames_stripe {
    k23_port_lock_t lock;
    uint64_t free;
} K23_FRAMES_CACHE_ALIGNED_;

/* Whether every stripe lock of a is held (debug checks). */
bool k23_arena_stripes_held_(const k23_frames_arena_t *a);

/* Asserts the "arena lock" precondition (K23_DEBUG >= 2). */
#define K23_ARENA_LOCKED(a)                                                    \
    do {                                                                       \
        K23_ASSERT_INTERNAL_FOUND(k23_port_lock_held((a)->lock),               \
                                  (uintptr_t)(a)->lock);                       \
        K23_ASSERT_INTERNAL_FOUND(k23_arena_stripes_held_(a),                  \
                                  (uintptr_t)(a)->stripes);                    \
    } while (0)

/* Take / release every stripe lock of a, ascending (the caller holds
 * a->lock). Precondition: a->lock. */
void k23_arena_lock_(k23_frames_arena_t *a);
void k23_arena_unlock_(k23_frames_arena_t *a);

/* ---- bit words ----
 *
 * The bitfields are arrays of 64-bit words in the run search's layout
 * (bit i in byte i / 8, k23mem/bitmap.h): on a little-endian host that is
 * bit i % 64 of word i / 64; a big-endian host byte-swaps every value it
 * loads or stores (a swap permutes bits, so AND, OR and NOT commute with
 * it and the atomic read-modify-writes take swapped masks). */
static inline uint64_t k23_arena_swap_(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(v);
#else
    return v;
#endif
}

static inline uint64_t k23_arena_ld_(const uint64_t *p)
{
    return k23_arena_swap_(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline void k23_arena_st_(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, k23_arena_swap_(v), __ATOMIC_RELAXED);
}

/* Atomic OR / AND-NOT of mask m; return the old value. */
static inline uint64_t k23_arena_or_(uint64_t *p, uint64_t m)
{
    return k23_arena_swap_(
        __atomic_fetch_or(p, k23_arena_swap_(m), __ATOMIC_RELAXED));
}

static inline uint64_t k23_arena_andnot_(uint64_t *p, uint64_t m)
{
    return k23_arena_swap_(
        __atomic_fetch_and(p, ~k23_arena_swap_(m), __ATOMIC_RELAXED));
}

/* ---- lifecycle (precondition: arena lock) ---- */

/* Bookkeeping bytes for an arena of @nframes frames with @nholes holes
 * between its pieces (bitfields, counters, chunk bitmaps, hole extents).
 * Precondition: none (pure). */
uint64_t k23_arena_meta_bytes_(uint64_t nframes, uint64_t nholes);

/* Set up an arena over [base_pfn, base_pfn + nframes) with every frame a
 * hole, room for nholes hole extents (plus the slack when nholes != 0),
 * guarded by `lock`; `meta` points at k23_arena_meta_bytes_(nframes,
 * nholes) writable bytes, 8-byte aligned. Precondition: arena lock. */
void k23_arena_init_(k23_frames_arena_t *a, uint64_t base_pfn,
                     uint64_t nframes, uint64_t nholes, void *meta,
                     k23_port_lock_t *lock);

/* Mark [pfn, pfn + n) as the arena's bookkeeping. Precondition: arena
 * lock, during init. */
void k23_arena_reserve_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n);

/* Turn [pfn, pfn + n), not yet memory, into free memory (init).
 * Precondition: arena lock. */
void k23_arena_add_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                         unsigned max_order);

/* After the last k23_arena_add_free_() of init: record what is neither
 * memory nor bookkeeping as hole extents. Precondition: arena lock (init
 * took the stripe locks; the caller releases them with
 * k23_arena_unlock_()). */
void k23_arena_seal_(k23_frames_arena_t *a);

/* ---- the miss paths (precondition: stripe lock) ---- */

/* Up to n single frames in state st, as k23_arena_alloc_singles_(), each
 * stripe under its own lock: the stripes of the home part first (partly
 * free chunks, then whole ones), then the others. With claim a cache
 * index (not K23_ARENA_NO_OWNER), only chunks that cache may own are
 * used (whole ones, and partly free ones it owns or nobody does), and
 * each one used becomes its own (see "Owned chunks"). */
unsigned k23_arena_take_singles_(k23_frames_arena_t *a, unsigned n,
                                 uint8_t st, unsigned home, unsigned homes,
                                 uint16_t claim, uint64_t *pfns);

/* What k23_arena_take_one_() returns when it takes nothing; no frame
 * number (those are below 2^64 >> 12). */
#define K23_ARENA_NO_FRAME UINT64_MAX

/* One frame ALLOCATED, as k23_arena_take_singles_(a, 1, FRAME_ALLOCATED,
 * 0, 0, K23_ARENA_NO_OWNER, pfn) would choose it (the lowest partly free
 * chunk first) when nothing races, with one stripe lock taken once: the
 * caches-off path (straight from k23_frames_alloc_one() with one arena,
 * from the general single-frame path otherwise). Returns its frame
 * number, or K23_ARENA_NO_FRAME when a relaxed look finds no free frame
 * or the chunk it found was emptied before its lock was taken: the
 * caller then takes the general path, which decides. A chunk whose
 * counter and bits disagree panics naming its address (frame_shift makes
 * it one). */
uint64_t k23_arena_take_one_(k23_frames_arena_t *a, unsigned frame_shift);

/* Free one ALLOCATED frame pfn of a (pfn inside the arena's span) under
 * its stripe's lock; misuse (a free, cached, hole or bookkeeping frame)
 * panics naming its address. The caches-off path. */
void k23_arena_free_one_(k23_frames_arena_t *a, uint64_t pfn,
                         unsigned frame_shift);

/* Free the frames pfns[0..n) (ascending frame numbers of a, each in
 * state expect) as runs of consecutive frames, holding one stripe's lock
 * across the runs of that stripe (a batch from a cache takes each lock
 * once, not once per frame); a run over a stripe boundary takes the
 * locks of its stripes, ascending. Misuse panics as k23_arena_free_(). */
void k23_arena_free_sorted_(k23_frames_arena_t *a, const uint64_t *pfns,
                            unsigned n, uint8_t expect, unsigned frame_shift);

/* k23_arena_free_() under the locks of the stripes [pfn, pfn + n)
 * touches (ascending). */
void k23_arena_free_run_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                         uint8_t expect, unsigned frame_shift);

/* k23_arena_alloc_() of a run that fits in one stripe, each stripe under
 * its own lock, lowest first; false when no single stripe has one (a run
 * across stripes needs k23_arena_alloc_() under every lock). */
bool k23_arena_alloc_in_stripe_(k23_frames_arena_t *a, uint64_t n,
                                unsigned align, uint64_t limit_pfn,
                                uint8_t st, uint64_t *out_pfn);

/* ---- allocation and free (precondition: arena lock) ---- */

/* Allocate n frames whose first frame number is a multiple of 2^align
 * and that all lie below frame number limit_pfn (exclusive), leaving them
 * in state `st` (ALLOCATED or CACHED). Returns false when there is none. */
bool k23_arena_alloc_(k23_frames_arena_t *a, uint64_t n, unsigned align,
                      uint64_t limit_pfn, unsigned max_order, uint8_t st,
                      uint64_t *out_pfn);

/* Up to n single frames (fewer when the arena runs out) in state st,
 * their frame numbers to pfns; returns how many. Partly used chunks are
 * filled before a whole one is broken, searching from the start of part
 * `home` of `homes` equal parts of the arena (a CPU's home, so that two
 * CPUs' caches hold frames of different words: the cached bits they flip
 * without the lock then do not share cache lines) and wrapping round. */
unsigned k23_arena_alloc_singles_(k23_frames_arena_t *a, unsigned n,
                                  uint8_t st, unsigned home, unsigned homes,
                                  uint64_t *pfns);

/* Free [pfn, pfn + n), all of which must be in state `expect`; panics
 * naming the first offending address otherwise (frame_shift converts to
 * an address). */
void k23_arena_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                     uint8_t expect, unsigned max_order,
                     unsigned frame_shift);

/* Panic as k23_arena_free_() would unless every frame of [pfn, pfn + n)
 * is in state `expect`; changes nothing. */
void k23_arena_expect_range_(const k23_frames_arena_t *a, uint64_t pfn,
                             uint64_t n, uint8_t expect, unsigned frame_shift);

/* Panic for a frame found in the wrong state when freeing.
 * Precondition: none. */
K23_NORETURN void k23_arena_misuse_(uint8_t st, bool partly, uint64_t addr);

/* The state of frame idx (relative to base_pfn), computed from its bits
 * and the extents: for the checks' cold paths and for tests.
 * Precondition: arena lock, or frame owner. */
uint8_t k23_arena_state_(const k23_frames_arena_t *a, uint64_t idx);

/* Walk the arena; returns K23_OK or K23_ERR_CORRUPT (logged). Counts the
 * frames in CACHED state into *cached. */
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
 * A frame in a per-CPU cache is CACHED: busy and cached bits set. These
 * flip its cached bit without the arena lock, atomically (other CPUs flip
 * neighbouring bits of the same word): the locked caches' way; the fast
 * path flips through the chunk's owner instead (frames_pcpu.h). They panic (naming pa) when the
 * frame is not in the state the flip needs, which is how a double free is
 * caught on the cache path. */

/* Owned chunks. With the port's CPU-local fast path, the cached bits of
 * a chunk are written by one CPU at a time: the chunk's owner, a cache
 * index in a->owner[] (K23_ARENA_NO_OWNER: none). The owner flips them
 * with the port's flip step (a plain read-modify-write on that CPU, no
 * locked instruction); anyone else first fences the owner's stack (the
 * cache lock does), which stops its flips. A cache holds only frames of
 * chunks it owns. A chunk is claimed by a refill for its cache: a whole
 * chunk whoever owned it (nothing of it is cached or allocated, so no
 * flip can target it), a partly free one only from nobody. Frees of a
 * frame whose chunk another CPU owns go to the arena, not to a cache.
 * Without the fast path (the cache locks guard the caches) the owners
 * are unused and the bits flip with atomic read-modify-writes.
 * Precondition: none (a relaxed read; a chunk's owner changes only under
 * its stripe lock, while it is whole or from nobody). */
#define K23_ARENA_NO_OWNER ((uint16_t)0xffff)

static inline uint16_t k23_arena_owner_of_chunk_(const k23_frames_arena_t *a,
                                                 uint64_t c)
{
    return __atomic_load_n(&a->owner[c], __ATOMIC_RELAXED);
}

static inline uint16_t k23_arena_owner_(const k23_frames_arena_t *a,
                                        uint64_t pfn)
{
    return k23_arena_owner_of_chunk_(a, (pfn - a->bit_base) >>
                                            K23_ARENA_CHUNK_SHIFT);
}

/* The cold half of the checks below: classify frame pfn and panic. */
K23_NORETURN void k23_arena_misuse_at_(const k23_frames_arena_t *a,
                                       uint64_t pfn, k23_paddr_t pa);

static inline uint64_t k23_arena_word_(const k23_frames_arena_t *a,
                                       uint64_t pfn)
{
    return (pfn - a->bit_base) >> 6;
}

static inline uint64_t k23_arena_bit_(uint64_t pfn)
{
    return (uint64_t)1 << (pfn & 63); /* bit_base is a multiple of 64 */
}

/* The word holding frame pfn's cached bit (for the port's flip step). */
static inline uint64_t *k23_arena_cached_word_(k23_frames_arena_t *a,
                                               uint64_t pfn)
{
    return &a->cached[k23_arena_word_(a, pfn)];
}

/* A frame taken from a cache: CACHED -> ALLOCATED. */
static inline void k23_arena_cache_take_(k23_frames_arena_t *a, uint64_t pfn)
{
    k23_arena_andnot_(&a->cached[k23_arena_word_(a, pfn)],
                      k23_arena_bit_(pfn));
}

/* Panics naming pa unless the frame is ALLOCATED (a free about to go to
 * a cache checks before anything else changes). */
static inline void k23_arena_expect_allocated_(const k23_frames_arena_t *a,
                                               uint64_t pfn, k23_paddr_t pa)
{
    uint64_t w = k23_arena_word_(a, pfn), m = k23_arena_bit_(pfn);
    if (K23_UNLIKELY((k23_arena_ld_(&a->busy[w]) & m) == 0 ||
                     (k23_arena_ld_(&a->cached[w]) & m) != 0))
        k23_arena_misuse_at_(a, pfn, pa);
}

/* A frame on its way into a cache: ALLOCATED -> CACHED, after
 * k23_arena_expect_allocated_() checked it; a cached bit found set (a
 * second free racing this one) panics. */
static inline void k23_arena_cache_mark_(k23_frames_arena_t *a, uint64_t pfn,
                                         k23_paddr_t pa)
{
    uint64_t m = k23_arena_bit_(pfn);
    if (K23_UNLIKELY(k23_arena_or_(&a->cached[k23_arena_word_(a, pfn)], m) &
                     m))
        k23_arena_misuse_at_(a, pfn, pa);
}

/* The shortest free of an allocator with one arena reads the busy word
 * by frame number alone: k23_arena_origin_(a) is where the busy word of
 * frame number 0 would be (modulo the address width), so no arena lookup
 * and no subtraction of the base is needed. Valid for frame numbers the
 * caller has checked lie inside a. */
static inline uintptr_t k23_arena_origin_(const k23_frames_arena_t *a)
{
    return (uintptr_t)a->busy - (uintptr_t)((a->bit_base >> 6) * 8);
}

/* Whether frame pfn is busy (not free), through the origin. A busy frame
 * owned by the caller stays busy, so the free checks this once, before
 * anything changes. */
static inline bool k23_arena_origin_busy_(uintptr_t origin, uint64_t pfn)
{
    const uint64_t *w = (const uint64_t *)(origin + (uintptr_t)(pfn >> 6) * 8);
    return (k23_arena_ld_(w) & k23_arena_bit_(pfn)) != 0;
}

/* ---- more operations (precondition: arena lock) ---- */

/* Free frames of the arena (the stripes' counters summed). */
uint64_t k23_arena_free_frames_(const k23_frames_arena_t *a);

/* Free frames below frame number limit_pfn (exclusive), counted exactly. */
uint64_t k23_arena_free_below_(const k23_frames_arena_t *a,
                               uint64_t limit_pfn);

/* Whether every frame of [pfn, pfn + n) is a hole. */
bool k23_arena_is_hole_(const k23_frames_arena_t *a, uint64_t pfn,
                        uint64_t n);

/* Turn [pfn, pfn + n), which must all be holes, into free memory.
 * K23_ERR_OVERLAP (nothing changed) when a frame is not a hole,
 * K23_ERR_LIMIT (nothing changed) when the range splits a hole and the
 * arena's hole extents are all in use. */
int k23_arena_add_hole_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                        unsigned max_order, unsigned frame_shift);

/* Add the arena's counters to a statistics snapshot; free_blocks[] gets
 * the buddy decomposition of its maximal free runs. */
void k23_arena_stats_add_(const k23_frames_arena_t *a, unsigned max_order,
                          k23_frames_stats_t *s);

/* The free blocks of the arena, as the stats count them: each maximal
 * run of free frames cut into the largest aligned blocks of order <=
 * max_order, in address order. Start with *cursor = 0; returns false
 * after the last. */
bool k23_arena_next_block_(const k23_frames_arena_t *a, unsigned max_order,
                           uint64_t *cursor, uint64_t *pfn,
                           unsigned *order);

/* What k23_frames_arena_info() reports. Precondition: none (free_frames
 * is a racy hint without the lock). */
void k23_arena_describe_(const k23_frames_arena_t *a, unsigned frame_shift,
                         k23_frames_arena_info_t *out);

/* The checker's marks on frames named by cache entries (every lock held):
 * mark turns a CACHED frame into (1, 0) and returns true, or returns
 * false (not CACHED, or named twice); unmark undoes a mark that
 * succeeded. */
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
