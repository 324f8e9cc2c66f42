/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * One arena: two bits per frame, counters per chunk, and the run search.
 *
 * State. Bit i of the `busy` bitfield is set when frame bit_base + i is
 * not free; its bit in `cached` is set, with busy, when the frame sits in
 * a per-CPU cache or is not memory at all (a hole, the bookkeeping, the
 * padding before base_pfn and after the end up to whole chunks). Free
 * frames are (0, 0), allocated ones (1, 0). So every check of a free is
 * "busy set, cached clear" on two words, and only a frame that fails it
 * is classified further (cold): (1, 1) inside a hole extent or the
 * bookkeeping range is memory the allocator does not own, otherwise a
 * cached frame. 0.25 bytes per frame, against the 9 of the buddy lists
 * this replaces.
 *
 * Chunks. The bitfields start at bit_base, base_pfn rounded down to 512
 * frames (K23_ARENA_CHUNK), so chunk c is words 8c..8c+7 and starts on an
 * absolute frame number that is a multiple of 512: 2 MiB physically
 * aligned with 4 KiB frames. Each chunk has a 16-bit free counter, and
 * two chunk bitmaps say which chunks are entirely free (`whole`) and
 * which partly (`partial`). A chunk-sized aligned request takes a bit of
 * `whole` and writes eight words; its free checks sixteen and writes
 * eight: no per-frame loop.
 *
 * Anti-fragmentation. Single frames (and cache refills) come from the
 * lowest partly free chunk, and break an entirely free chunk only when no
 * partly free one is left; runs are searched first-fit from the lowest
 * chunk that has a free frame. Allocations thus pack into used chunks and
 * frees that empty a chunk make it whole again, as a buddy allocator's
 * smallest-block-first policy would.
 *
 * Exact runs. Any run of n frames at any power-of-two alignment below a
 * limit is a search for n clear bits in `busy` (k23_bitmap_next_clear());
 * a run of whole chunks at chunk alignment is a search for set bits in
 * `whole` instead.
 */
#include "arena.h"
#include "k23mem/bitmap.h"

#define CHUNK K23_ARENA_CHUNK
#define CHUNK_SHIFT K23_ARENA_CHUNK_SHIFT
#define CHUNK_WORDS K23_ARENA_CHUNK_WORDS

/* ---- small helpers ---- */

static inline unsigned arena_ctz64(uint64_t x)
{
    return (unsigned)__builtin_ctzll(x);
}

/* Bits set in x, without __builtin_popcountll (a libgcc call on targets
 * without a popcount instruction). */
static inline unsigned arena_popcount64(uint64_t x)
{
    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
    x = (x & UINT64_C(0x3333333333333333)) +
        ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (unsigned)((x * UINT64_C(0x0101010101010101)) >> 56);
}

/* Largest order of an aligned block starting at frame q that fits in
 * [q, end), capped at max_order. */
static inline unsigned arena_fit_order(uint64_t q, uint64_t end,
                                       unsigned max_order)
{
    unsigned o = max_order;
    if (q != 0 && arena_ctz64(q) < o)
        o = arena_ctz64(q);
    while ((UINT64_C(1) << o) > end - q)
        o--;
    return o;
}

static inline uint64_t arena_end(const k23_frames_arena_t *a)
{
    return a->base_pfn + a->nframes;
}

static inline uint64_t arena_round8(uint64_t x)
{
    return (x + 7) & ~UINT64_C(7);
}

/* Mask of bits [lo, hi) of a word, 0 <= lo < hi <= 64. */
static inline uint64_t arena_mask(unsigned lo, unsigned hi)
{
    uint64_t m = hi == 64 ? ~UINT64_C(0) : (UINT64_C(1) << hi) - 1;
    return m & ~((UINT64_C(1) << lo) - 1);
}

static inline uint64_t arena_nwords(const k23_frames_arena_t *a)
{
    return a->nchunks * CHUNK_WORDS;
}

static inline uint64_t arena_chunk_words(const k23_frames_arena_t *a)
{
    return (a->nchunks + 63) / 64;
}

/* ---- layout ---- */

static uint64_t arena_nchunks(uint64_t nframes)
{
    return K23_FRAMES_CHUNKS_FOR_(nframes);
}

static uint64_t arena_holes_cap(uint64_t nholes)
{
    return nholes != 0 ? nholes + K23_ARENA_HOLE_SLACK : 0;
}

uint64_t k23_arena_meta_bytes_(uint64_t nframes, uint64_t nholes)
{
    _Static_assert(K23_ARENA_CHUNK == K23_FRAMES_CHUNK_FRAMES,
                   "the public chunk size is the arena's");
    _Static_assert(sizeof(k23_frames_hole_t) == K23_FRAMES_HOLE_BYTES,
                   "the public hole extent size is the arena's");
    _Static_assert(K23_ARENA_HOLE_SLACK == K23_FRAMES_HOLE_SLACK,
                   "the public hole slack is the arena's");
    _Static_assert(sizeof(struct k23_frames_stripe) == K23_FRAMES_STRIPE_BYTES,
                   "the public stripe size is the arena's");
    uint64_t nc = arena_nchunks(nframes);
    return K23_FRAMES_STRIPE_BYTES * K23_FRAMES_STRIPES_FOR_(nframes) +
           2 * 8 * nc * CHUNK_WORDS + 2 * arena_round8(2 * nc) +
           2 * 8 * ((nc + 63) / 64) +
           arena_holes_cap(nholes) * sizeof(k23_frames_hole_t);
}

/* ---- chunk counters and bitmaps ---- */

/* The chunk bitmaps are in the run search's layout too (whole chunks are
 * searched with k23_bitmap_next_set()). */
static inline bool arena_cbit(const uint64_t *bm, uint64_t c)
{
    return (k23_arena_ld_(&bm[c >> 6]) >> (c & 63)) & 1u;
}

static inline void arena_cbit_set(uint64_t *bm, uint64_t c)
{
    k23_arena_st_(&bm[c >> 6],
                  k23_arena_ld_(&bm[c >> 6]) | UINT64_C(1) << (c & 63));
}

static inline void arena_cbit_clear(uint64_t *bm, uint64_t c)
{
    k23_arena_st_(&bm[c >> 6],
                  k23_arena_ld_(&bm[c >> 6]) & ~(UINT64_C(1) << (c & 63)));
}

/* Chunk c now has `now` free frames (it had chunk_free[c]): keep the two
 * chunk bitmaps in step. */
static inline void arena_chunk_set(k23_frames_arena_t *a, uint64_t c,
                                   unsigned now)
{
    unsigned was = a->chunk_free[c];
    a->chunk_free[c] = (uint16_t)now;
    bool was_whole = was == CHUNK, now_whole = now == CHUNK;
    bool was_part = was != 0 && !was_whole, now_part = now != 0 && !now_whole;
    if (was_whole != now_whole) {
        if (now_whole)
            arena_cbit_set(a->whole, c);
        else
            arena_cbit_clear(a->whole, c);
    }
    if (was_part != now_part) {
        if (now_part)
            arena_cbit_set(a->partial, c);
        else
            arena_cbit_clear(a->partial, c);
    }
}

/* Chunk c lost one free frame (it had some): chunk_set's cases for a
 * step of one, without its general compares (the single-frame paths). */
static inline void arena_chunk_took_one(k23_frames_arena_t *a, uint64_t c)
{
    unsigned was = a->chunk_free[c];
    a->chunk_free[c] = (uint16_t)(was - 1u);
    if (was == CHUNK) {
        arena_cbit_clear(a->whole, c);
        arena_cbit_set(a->partial, c); /* CHUNK - 1 > 0 */
    } else if (was == 1u) {
        arena_cbit_clear(a->partial, c);
    }
}

/* Chunk c gained one free frame (it had fewer than CHUNK). */
static inline void arena_chunk_freed_one(k23_frames_arena_t *a, uint64_t c)
{
    unsigned now = a->chunk_free[c] + 1u;
    a->chunk_free[c] = (uint16_t)now;
    if (now == CHUNK) {
        arena_cbit_clear(a->partial, c); /* CHUNK > 1: it was partial */
        arena_cbit_set(a->whole, c);
    } else if (now == 1u) {
        arena_cbit_set(a->partial, c);
    }
}

/* The lowest chunk whose bit is set in chunk bitmap bm (bits past
 * nchunks are never set); false when none. A word loop, for the
 * single-frame paths' relaxed look over the whole arena. */
static inline bool arena_first_cbit(const k23_frames_arena_t *a,
                                    const uint64_t *bm, uint64_t *c)
{
    uint64_t nw = (a->nchunks + 63) >> 6, w = 0;
    /* four words per test while four remain (1 GiB of 4 KiB frames is
     * 8 words): the common all-zero stretch costs a quarter of the
     * branches */
    while (nw - w >= 4 &&
           (k23_arena_ld_(&bm[w]) | k23_arena_ld_(&bm[w + 1]) |
            k23_arena_ld_(&bm[w + 2]) | k23_arena_ld_(&bm[w + 3])) == 0)
        w += 4;
    for (; w < nw; w++) {
        uint64_t v = k23_arena_ld_(&bm[w]);
        if (v != 0) {
            *c = (w << 6) + arena_ctz64(v);
            return true;
        }
    }
    return false;
}

/* Lowest set bit of chunk bitmap bm in chunks [from, to); false when
 * none. */
static inline bool arena_cbit_range(const k23_frames_arena_t *a,
                                    const uint64_t *bm, uint64_t from,
                                    uint64_t to, uint64_t *c)
{
    if (to > a->nchunks)
        to = a->nchunks;
    for (uint64_t x = from; x < to;) {
        uint64_t v = k23_arena_ld_(&bm[x >> 6]) &
                     ~((UINT64_C(1) << (x & 63)) - 1);
        if (v != 0) {
            x = (x & ~UINT64_C(63)) + arena_ctz64(v);
            if (x >= to)
                return false;
            *c = x;
            return true;
        }
        x = (x | 63) + 1;
    }
    return false;
}

/* ---- stripes ---- */

static inline uint64_t arena_stripe_chunks(const k23_frames_arena_t *a)
{
    return a->stripe_groups * 64;
}

/* The stripe of chunk c: one 64-chunk group per stripe in arenas up to
 * 64 groups (8 GiB of 4 KiB frames), so usually a shift, no division. */
static inline uint32_t arena_stripe_index(const k23_frames_arena_t *a,
                                          uint64_t c)
{
    uint64_t g = c >> 6;
    return (uint32_t)(a->stripe_groups == 1 ? g : g / a->stripe_groups);
}

static inline struct k23_frames_stripe *arena_stripe(const k23_frames_arena_t *a,
                                                     uint64_t c)
{
    return &a->stripes[arena_stripe_index(a, c)];
}

/* Stripe s's chunks [*from, *to). */
static inline void arena_stripe_span(const k23_frames_arena_t *a, uint32_t s,
                                     uint64_t *from, uint64_t *to)
{
    *from = s * arena_stripe_chunks(a);
    *to = *from + arena_stripe_chunks(a);
    if (*to > a->nchunks)
        *to = a->nchunks;
}

bool k23_arena_stripes_held_(const k23_frames_arena_t *a)
{
    for (uint32_t s = 0; s < a->nstripes; s++)
        if (!k23_port_lock_held(&a->stripes[s].lock))
            return false;
    return true;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_arena_lock_(k23_frames_arena_t *a)
{
    for (uint32_t s = 0; s < a->nstripes; s++)
        k23_port_lock_acquire(&a->stripes[s].lock);
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_arena_unlock_(k23_frames_arena_t *a)
{
    for (uint32_t s = a->nstripes; s-- > 0;)
        k23_port_lock_release(&a->stripes[s].lock);
}

/* Free frames now of chunk c's stripe: add delta (two's complement). */
static inline void arena_free_add(k23_frames_arena_t *a, uint64_t c,
                                  uint64_t delta)
{
    struct k23_frames_stripe *st = arena_stripe(a, c);
    /* relaxed atomic: k23_arena_describe_() reads it without the lock */
    __atomic_store_n(&st->free, st->free + delta, __ATOMIC_RELAXED);
}

uint64_t k23_arena_free_frames_(const k23_frames_arena_t *a)
{
    uint64_t n = 0;
    for (uint32_t s = 0; s < a->nstripes; s++)
        n += __atomic_load_n(&a->stripes[s].free, __ATOMIC_RELAXED);
    return n;
}

/* ---- marking runs ---- */

/* Set (busy) or clear (!busy) the busy bits of [i, i + n) (bit indices),
 * and the cached bits too when `cached`; adjust the chunk counters. The
 * caller checked the bits' current state. */
static void arena_mark(k23_frames_arena_t *a, uint64_t i, uint64_t n,
                       bool busy, bool cached)
{
    uint64_t e = i + n;
    while (i < e) {
        uint64_t c = i >> CHUNK_SHIFT;
        uint64_t ce = (c + 1) << CHUNK_SHIFT;
        uint64_t stop = e < ce ? e : ce;
        uint64_t k = stop - i;
        for (uint64_t j = i; j < stop;) {
            uint64_t w = j >> 6;
            unsigned lo = (unsigned)(j & 63);
            unsigned hi = stop - (w << 6) >= 64 ? 64u
                                                : (unsigned)(stop - (w << 6));
            uint64_t m = arena_mask(lo, hi);
            uint64_t b = k23_arena_ld_(&a->busy[w]);
            k23_arena_st_(&a->busy[w], busy ? b | m : b & ~m);
            if (cached) {
                if (busy)
                    k23_arena_or_(&a->cached[w], m);
                else
                    k23_arena_andnot_(&a->cached[w], m);
            }
            j = (w << 6) + hi;
        }
        unsigned f = a->chunk_free[c];
        arena_chunk_set(a, c, busy ? f - (unsigned)k : f + (unsigned)k);
        arena_free_add(a, c, busy ? 0 - k : k);
        i = stop;
    }
}

/* ---- hole extents ---- */

/* Index of the hole extent containing frame pfn, or -1. */
static int arena_hole_find(const k23_frames_arena_t *a, uint64_t pfn)
{
    uint32_t lo = 0, hi = a->nholes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pfn < a->holes[mid].start)
            hi = mid;
        else if (pfn >= a->holes[mid].end)
            lo = mid + 1;
        else
            return (int)mid;
    }
    return -1;
}

static bool arena_is_reserved(const k23_frames_arena_t *a, uint64_t pfn)
{
    return pfn - a->meta_pfn < a->meta_frames;
}

/* ---- lifecycle ---- */

void k23_arena_init_(k23_frames_arena_t *a, uint64_t base_pfn,
                     uint64_t nframes, uint64_t nholes, void *meta,
                     k23_port_lock_t *lock)
{
    uint64_t bytes = k23_arena_meta_bytes_(nframes, nholes);
    unsigned char *p = meta;
    K23_ASSERT_INTERNAL_FOUND(k23_port_lock_held(lock), (uintptr_t)lock);
    k23_memzero_(a, sizeof(*a));
    a->lock = lock;
    a->base_pfn = base_pfn;
    a->nframes = nframes;
    a->hole_frames = nframes;
    a->meta_bytes = bytes;
    a->bit_base = base_pfn & ~(CHUNK - 1);
    a->nchunks = arena_nchunks(nframes);
    uint64_t nw = a->nchunks * CHUNK_WORDS, ncw = arena_chunk_words(a);
    /* Stripes first: the bookkeeping (after the caches, a whole number of
     * cache lines) starts frame aligned, so each stripe has its line. */
    a->nstripes = (uint32_t)K23_FRAMES_STRIPES_FOR_(nframes);
    a->stripe_groups = K23_FRAMES_STRIPE_GROUPS_(nframes);
    a->stripes = (struct k23_frames_stripe *)(void *)p;
    p += (uint64_t)a->nstripes * sizeof(struct k23_frames_stripe);
    k23_memzero_(a->stripes, a->nstripes * sizeof(struct k23_frames_stripe));
    for (uint32_t s = 0; s < a->nstripes; s++)
        k23_port_lock_init(&a->stripes[s].lock);
    k23_arena_lock_(a); /* init holds them; frames.c releases them */
    a->busy = (uint64_t *)(void *)p;
    p += nw * 8;
    a->cached = (uint64_t *)(void *)p;
    p += nw * 8;
    a->chunk_free = (uint16_t *)(void *)p;
    p += arena_round8(2 * a->nchunks);
    a->whole = (uint64_t *)(void *)p;
    p += ncw * 8;
    a->partial = (uint64_t *)(void *)p;
    p += ncw * 8;
    a->owner = (uint16_t *)(void *)p;
    p += arena_round8(2 * a->nchunks);
    a->holes = (k23_frames_hole_t *)(void *)p;
    a->holes_cap = (uint32_t)arena_holes_cap(nholes);
    /* Counters, chunk bitmaps and extents start empty; every frame starts
     * as not memory: busy and cached. */
    k23_memzero_(a->chunk_free,
                 (size_t)((unsigned char *)meta + bytes -
                          (unsigned char *)a->chunk_free));
    for (uint64_t w = 0; w < nw; w++) {
        a->busy[w] = ~UINT64_C(0);
        a->cached[w] = ~UINT64_C(0);
    }
    for (uint64_t c = 0; c < a->nchunks; c++)
        a->owner[c] = K23_ARENA_NO_OWNER;
}

void k23_arena_reserve_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n)
{
    K23_ARENA_LOCKED(a);
    a->hole_frames -= n;
    a->meta_pfn = pfn;
    a->meta_frames = n;
}

void k23_arena_add_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                         unsigned max_order)
{
    (void)max_order;
    K23_ARENA_LOCKED(a);
    if (n == 0)
        return;
    uint64_t i = pfn - a->bit_base;
    /* not memory -> allocated -> free */
    for (uint64_t j = i; j < i + n; j++)
        K23_ASSERT_INTERNAL_FOUND(
            (k23_arena_ld_(&a->cached[j >> 6]) >> (j & 63)) & 1u, j);
    arena_mark(a, i, n, false, true); /* also counts the frames free */
    a->hole_frames -= n;
    a->usable_frames += n;
}

void k23_arena_seal_(k23_frames_arena_t *a)
{
    K23_ARENA_LOCKED(a);
    uint64_t end = arena_end(a);
    uint64_t p = a->base_pfn;
    a->nholes = 0;
    while (p < end) {
        /* the next frame that is not memory nor bookkeeping */
        uint64_t i = p - a->bit_base;
        bool busy = (k23_arena_ld_(&a->busy[i >> 6]) >> (i & 63)) & 1u;
        bool nomem = busy &&
                     ((k23_arena_ld_(&a->cached[i >> 6]) >> (i & 63)) & 1u) &&
                     !arena_is_reserved(a, p);
        if (!nomem) {
            p++;
            continue;
        }
        uint64_t q = p + 1;
        while (q < end && !arena_is_reserved(a, q) &&
               (k23_arena_ld_(&a->busy[(q - a->bit_base) >> 6]) &
                k23_arena_ld_(&a->cached[(q - a->bit_base) >> 6]) &
                k23_arena_bit_(q)))
            q++;
        K23_ASSERT_INTERNAL_FOUND(a->nholes < a->holes_cap, a->nholes);
        a->holes[a->nholes].start = p;
        a->holes[a->nholes].end = q;
        a->nholes++;
        p = q;
    }
}

/* ---- state ---- */

uint8_t k23_arena_state_(const k23_frames_arena_t *a, uint64_t idx)
{
    uint64_t pfn = a->base_pfn + idx, w = k23_arena_word_(a, pfn);
    uint64_t m = k23_arena_bit_(pfn);
    bool busy = (k23_arena_ld_(&a->busy[w]) & m) != 0;
    bool cached = (k23_arena_ld_(&a->cached[w]) & m) != 0;
    if (!busy)
        return cached ? FRAME_INVALID : FRAME_FREE;
    if (!cached)
        return FRAME_ALLOCATED;
    if (arena_is_reserved(a, pfn))
        return FRAME_RESERVED;
    return arena_hole_find(a, pfn) >= 0 ? FRAME_HOLE : FRAME_CACHED;
}

void k23_arena_misuse_(uint8_t st, bool partly, uint64_t addr)
{
    if (st == FRAME_HOLE || st == FRAME_RESERVED)
        K23_PANIC_ADDR("k23_frames: free of memory the allocator does not "
                       "own at", addr);
    if (partly)
        K23_PANIC_ADDR("k23_frames: free of a partly allocated range; "
                       "frame not allocated at", addr);
    /* Say what was found, not a guess at the cause: a free frame may have
     * been freed before or never allocated at all. */
    if (st == FRAME_CACHED)
        K23_PANIC_ADDR("k23_frames: free of a frame that is not allocated "
                       "(it is in a per-CPU cache) at", addr);
    if (st == FRAME_FREE)
        K23_PANIC_ADDR("k23_frames: free of a frame that is not allocated "
                       "(it is free) at", addr);
    K23_PANIC_ADDR("k23_frames: free of a frame that is not allocated at",
                   addr);
}

void k23_arena_misuse_at_(const k23_frames_arena_t *a, uint64_t pfn,
                          k23_paddr_t pa)
{
    k23_arena_misuse_(k23_arena_state_(a, pfn - a->base_pfn), false, pa);
}

/* Whether every frame of bits [i, i + n) is in state expect (ALLOCATED or
 * CACHED, so (1, 0) or (1, 1)); a cached frame's (1, 1) is told from a
 * hole's by the caller when it matters. Word at a time. */
static bool arena_all_in(const k23_frames_arena_t *a, uint64_t i, uint64_t n,
                         bool cached)
{
    uint64_t e = i + n;
    for (uint64_t j = i; j < e;) {
        uint64_t w = j >> 6;
        unsigned lo = (unsigned)(j & 63);
        unsigned hi = e - (w << 6) >= 64 ? 64u : (unsigned)(e - (w << 6));
        uint64_t m = arena_mask(lo, hi);
        if ((k23_arena_ld_(&a->busy[w]) & m) != m)
            return false;
        uint64_t cw = k23_arena_ld_(&a->cached[w]) & m;
        if (cw != (cached ? m : 0))
            return false;
        j = (w << 6) + hi;
    }
    return true;
}

/* Whether [pfn, pfn + n) touches a hole or the bookkeeping. */
static bool arena_touches_foreign(const k23_frames_arena_t *a, uint64_t pfn,
                                  uint64_t n)
{
    if (a->meta_frames != 0 && pfn < a->meta_pfn + a->meta_frames &&
        a->meta_pfn < pfn + n)
        return true;
    /* the first extent ending after pfn */
    uint32_t lo = 0, hi = a->nholes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a->holes[mid].end <= pfn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->nholes && a->holes[lo].start < pfn + n;
}

/* The cold path of a range check that failed: find the first frame not
 * in state expect and panic. */
static K23_NORETURN void arena_range_misuse(const k23_frames_arena_t *a,
                                            uint64_t pfn, uint64_t n,
                                            uint8_t expect,
                                            unsigned frame_shift)
{
    uint64_t idx0 = pfn - a->base_pfn, bad = 0;
    while (bad < n && k23_arena_state_(a, idx0 + bad) == expect)
        bad++;
    if (K23_NEVER(bad == n))
        K23_PANIC_ADDR("k23_frames: range check disagrees at", pfn);
    bool partly = bad != 0;
    for (uint64_t i = bad + 1; i < n && !partly; i++)
        partly = k23_arena_state_(a, idx0 + i) == expect;
    k23_arena_misuse_(k23_arena_state_(a, idx0 + bad), partly,
                      (pfn + bad) << frame_shift);
}

void k23_arena_expect_range_(const k23_frames_arena_t *a, uint64_t pfn,
                             uint64_t n, uint8_t expect, unsigned frame_shift)
{
    K23_ARENA_LOCKED(a);
    bool cached = expect == FRAME_CACHED;
    if (K23_UNLIKELY(!arena_all_in(a, pfn - a->bit_base, n, cached) ||
                     (cached && arena_touches_foreign(a, pfn, n))))
        arena_range_misuse(a, pfn, n, expect, frame_shift);
}

/* ---- allocation ----
 *
 * The searches work on a range of chunks [cfrom, cto): the whole arena
 * under every lock, or one stripe under its lock. */

/* Take the frames of whole chunks [c, c + k). */
static void arena_take_chunks(k23_frames_arena_t *a, uint64_t c, uint64_t k)
{
    for (uint64_t x = c; x < c + k; x++) {
        for (uint64_t w = x * CHUNK_WORDS; w < (x + 1) * CHUNK_WORDS; w++)
            k23_arena_st_(&a->busy[w], ~UINT64_C(0));
        arena_cbit_clear(a->whole, x);
        a->chunk_free[x] = 0;
        arena_free_add(a, x, 0 - CHUNK);
    }
}

/* A run of k whole chunks in [cfrom, cto) whose first frame number is a
 * multiple of 2^align (align >= CHUNK_SHIFT), all below frame
 * limit_pfn. */
static bool arena_alloc_chunks(k23_frames_arena_t *a, uint64_t k,
                               unsigned align, uint64_t limit_pfn,
                               uint64_t cfrom, uint64_t cto,
                               uint64_t *out_pfn)
{
    uint64_t chunk0 = a->bit_base >> CHUNK_SHIFT, c;
    if (limit_pfn - a->bit_base < (cto << CHUNK_SHIFT))
        cto = (limit_pfn - a->bit_base) >> CHUNK_SHIFT;
    if (cfrom >= cto || k > cto - cfrom)
        return false;
    if (k == 1 && align == CHUNK_SHIFT) {
        /* the 2 MiB case: the lowest whole chunk */
        if (!arena_cbit_range(a, a->whole, cfrom, cto, &c))
            return false;
    } else {
        unsigned ca = align - CHUNK_SHIFT;
        size_t off = (size_t)(chunk0 & ((UINT64_C(1) << ca) - 1));
        struct k23_bitmap_hit h = k23_bitmap_next_set(
            (const unsigned char *)a->whole, (size_t)cto, (size_t)cfrom,
            (size_t)k, ca, off);
        if (h.rc != K23_OK)
            return false;
        c = h.index;
    }
    arena_take_chunks(a, c, k);
    *out_pfn = a->bit_base + (c << CHUNK_SHIFT);
    return true;
}

/* The lowest chunk of [cfrom, cto) that has a free frame, or cto. */
static uint64_t arena_first_free_chunk(const k23_frames_arena_t *a,
                                       uint64_t cfrom, uint64_t cto)
{
    uint64_t p, w;
    if (!arena_cbit_range(a, a->partial, cfrom, cto, &p))
        p = cto;
    if (!arena_cbit_range(a, a->whole, cfrom, p, &w))
        w = p;
    return w;
}

/* k23_arena_alloc_() over chunks [cfrom, cto). */
static bool arena_alloc_range(k23_frames_arena_t *a, uint64_t n,
                              unsigned align, uint64_t limit_pfn, uint8_t st,
                              uint64_t cfrom, uint64_t cto, uint64_t *out_pfn)
{
    /* Whole chunks at chunk alignment: the chunk bitmap. A chunk-aligned
     * run of whole chunks is free exactly when its chunks are whole, so
     * nothing else can serve it. */
    if ((n & (CHUNK - 1)) == 0 && align >= CHUNK_SHIFT)
        return arena_alloc_chunks(a, n >> CHUNK_SHIFT, align, limit_pfn,
                                  cfrom, cto, out_pfn);
    /* One chunk's worth at a smaller alignment: a whole chunk fits
     * exactly, so take one when there is one. */
    if (n == CHUNK && arena_alloc_chunks(a, 1, CHUNK_SHIFT, limit_pfn, cfrom,
                                         cto, out_pfn))
        return true;

    /* The run search: n clear busy bits, aligned on absolute frame
     * numbers, below the limit, first fit from the lowest chunk that has
     * a free frame (partly used chunks fill first). */
    uint64_t nbits = cto << CHUNK_SHIFT;
    if (limit_pfn - a->bit_base < nbits)
        nbits = limit_pfn - a->bit_base;
    uint64_t start = arena_first_free_chunk(a, cfrom, cto) << CHUNK_SHIFT;
    if (start >= nbits || n > nbits - start)
        return false;
    size_t off = (size_t)(a->bit_base & ((UINT64_C(1) << align) - 1));
    struct k23_bitmap_hit h =
        k23_bitmap_next_clear((const unsigned char *)a->busy, (size_t)nbits,
                              (size_t)start, (size_t)n, align, off);
    if (h.rc != K23_OK)
        return false;
    arena_mark(a, h.index, n, true, st == FRAME_CACHED);
    *out_pfn = a->bit_base + h.index;
    return true;
}

bool k23_arena_alloc_(k23_frames_arena_t *a, uint64_t n, unsigned align,
                      uint64_t limit_pfn, unsigned max_order, uint8_t st,
                      uint64_t *out_pfn)
{
    (void)max_order;
    K23_ARENA_LOCKED(a);
    if (n > k23_arena_free_frames_(a) || limit_pfn <= a->base_pfn)
        return false;
    if (n == 1 && align == 0 && limit_pfn >= arena_end(a))
        return k23_arena_alloc_singles_(a, 1, st, 0, 1, out_pfn) == 1;
    return arena_alloc_range(a, n, align, limit_pfn, st, 0, a->nchunks,
                             out_pfn);
}

bool k23_arena_alloc_in_stripe_(k23_frames_arena_t *a, uint64_t n,
                                unsigned align, uint64_t limit_pfn,
                                uint8_t st, uint64_t *out_pfn)
{
    if (limit_pfn <= a->base_pfn)
        return false;
    for (uint32_t s = 0; s < a->nstripes; s++) {
        struct k23_frames_stripe *sp = &a->stripes[s];
        uint64_t cfrom, cto;
        arena_stripe_span(a, s, &cfrom, &cto);
        if ((cfrom << CHUNK_SHIFT) >= limit_pfn - a->bit_base)
            break;
        if (__atomic_load_n(&sp->free, __ATOMIC_RELAXED) < n)
            continue; /* a hint: rechecked under the lock */
        k23_port_lock_acquire(&sp->lock);
        bool ok = sp->free >= n &&
                  arena_alloc_range(a, n, align, limit_pfn, st, cfrom, cto,
                                    out_pfn);
        k23_port_lock_release(&sp->lock);
        if (ok)
            return true;
    }
    return false;
}

/* Take up to `want` free frames of chunk c (which has some) in state st,
 * lowest first, into pfns; returns how many. */
static unsigned arena_take_from_chunk(k23_frames_arena_t *a, uint64_t c,
                                      unsigned want, uint8_t st,
                                      uint64_t *pfns)
{
    unsigned got = 0;
    for (uint64_t w = c * CHUNK_WORDS;
         w < (c + 1) * CHUNK_WORDS && got < want; w++) {
        uint64_t b = k23_arena_ld_(&a->busy[w]);
        uint64_t freeb = ~b, took = 0;
        while (freeb != 0 && got < want) {
            uint64_t low = freeb & (0 - freeb);
            took |= low;
            freeb ^= low;
            pfns[got++] = a->bit_base + (w << 6) + arena_ctz64(low);
        }
        if (took != 0) {
            k23_arena_st_(&a->busy[w], b | took);
            if (st == FRAME_CACHED)
                k23_arena_or_(&a->cached[w], took);
        }
    }
    arena_chunk_set(a, c, a->chunk_free[c] - got);
    arena_free_add(a, c, 0 - (uint64_t)got);
    return got;
}

/* Whether a take for cache `claim` (K23_ARENA_NO_OWNER: a take that
 * claims nothing) may use chunk c of bitmap bm: any whole chunk (nothing
 * of it is cached, so no CPU flips its cached bits), and a partly free
 * one only when it is unowned or the claimant's own. */
static inline bool arena_claimable(const k23_frames_arena_t *a,
                                   const uint64_t *bm, uint64_t c,
                                   uint16_t claim)
{
    if (claim == K23_ARENA_NO_OWNER || bm == a->whole)
        return true;
    uint16_t o = k23_arena_owner_of_chunk_(a, c);
    return o == claim || o == K23_ARENA_NO_OWNER;
}

/* The lowest chunk of bitmap bm in [from, to) that `claim` may use; false
 * when none. */
static inline bool arena_next_claimable(const k23_frames_arena_t *a,
                                        const uint64_t *bm, uint64_t from,
                                        uint64_t to, uint16_t claim,
                                        uint64_t *c)
{
    while (arena_cbit_range(a, bm, from, to, c)) {
        if (arena_claimable(a, bm, *c, claim))
            return true;
        from = *c + 1;
    }
    return false;
}

/* Single frames from the chunks of bitmap bm (partly or entirely free)
 * in [cfrom, cto), lowest first; each chunk used becomes `claim`'s when
 * that is a cache. */
static unsigned arena_take_kind(k23_frames_arena_t *a, const uint64_t *bm,
                                uint64_t cfrom, uint64_t cto, unsigned n,
                                uint8_t st, uint16_t claim, uint64_t *pfns)
{
    unsigned got = 0;
    uint64_t c;
    while (got < n && arena_next_claimable(a, bm, cfrom, cto, claim, &c)) {
        /* stored only when it changes: the hits of every CPU read the
         * owners' cache lines */
        if (claim != K23_ARENA_NO_OWNER &&
            k23_arena_owner_of_chunk_(a, c) != claim)
            __atomic_store_n(&a->owner[c], claim, __ATOMIC_RELAXED);
        got += arena_take_from_chunk(a, c, n - got, st, pfns + got);
        cfrom = c; /* a chunk that still has frames stays first */
    }
    return got;
}

/* The home part of the arena, chunks [*from, *to). */
static void arena_home(const k23_frames_arena_t *a, unsigned home,
                       unsigned homes, uint64_t *from, uint64_t *to)
{
    *from = 0;
    *to = a->nchunks;
    if (homes > 1) {
        *from = a->nchunks * (home % homes) / homes;
        *to = a->nchunks * (home % homes + 1) / homes;
    }
}

unsigned k23_arena_alloc_singles_(k23_frames_arena_t *a, unsigned n,
                                  uint8_t st, unsigned home, unsigned homes,
                                  uint64_t *pfns)
{
    unsigned got = 0;
    uint64_t from, to;
    K23_ARENA_LOCKED(a);
    arena_home(a, home, homes, &from, &to);
    got += arena_take_kind(a, a->partial, from, to, n - got, st,
                           K23_ARENA_NO_OWNER, pfns + got);
    got += arena_take_kind(a, a->whole, from, to, n - got, st,
                           K23_ARENA_NO_OWNER, pfns + got);
    got += arena_take_kind(a, a->partial, 0, a->nchunks, n - got, st,
                           K23_ARENA_NO_OWNER, pfns + got);
    got += arena_take_kind(a, a->whole, 0, a->nchunks, n - got, st,
                           K23_ARENA_NO_OWNER, pfns + got);
    return got;
}

/* One phase of k23_arena_take_singles_(): chunks of bitmap bm in
 * [from, to), stripe by stripe, each under its lock; a stripe in which a
 * relaxed look finds no such chunk is skipped without it. */
static unsigned arena_take_striped(k23_frames_arena_t *a, const uint64_t *bm,
                                   uint64_t from, uint64_t to, unsigned n,
                                   uint8_t st, uint16_t claim,
                                   uint64_t *pfns)
{
    unsigned got = 0;
    uint64_t spc = arena_stripe_chunks(a), c;
    /* One relaxed look over the whole range finds the next stripe worth
     * locking: a range with no such chunk costs a word loop, not a call
     * per stripe. */
    for (uint64_t x = from;
         got < n && x < to && arena_next_claimable(a, bm, x, to, claim, &c);) {
        uint32_t s = arena_stripe_index(a, c);
        uint64_t e = (s + 1) * spc < to ? (s + 1) * spc : to;
        struct k23_frames_stripe *sp = &a->stripes[s];
        k23_port_lock_acquire(&sp->lock);
        got += arena_take_kind(a, bm, c, e, n - got, st, claim, pfns + got);
        k23_port_lock_release(&sp->lock);
        x = e;
    }
    return got;
}

unsigned k23_arena_take_singles_(k23_frames_arena_t *a, unsigned n,
                                 uint8_t st, unsigned home, unsigned homes,
                                 uint16_t claim, uint64_t *pfns)
{
    unsigned got = 0;
    uint64_t from, to;
    arena_home(a, home, homes, &from, &to);
    got += arena_take_striped(a, a->partial, from, to, n - got, st, claim,
                              pfns + got);
    got += arena_take_striped(a, a->whole, from, to, n - got, st, claim,
                              pfns + got);
    got += arena_take_striped(a, a->partial, 0, a->nchunks, n - got, st,
                              claim, pfns + got);
    got += arena_take_striped(a, a->whole, 0, a->nchunks, n - got, st, claim,
                              pfns + got);
    return got;
}

/* ---- single frames with the caches off ---- */

__attribute__((noinline, cold)) K23_NORETURN static void
arena_bad_chunk_count(const k23_frames_arena_t *a, uint64_t c,
                      unsigned frame_shift)
{
    K23_PANIC_ADDR("k23_frames: corrupt bookkeeping, a chunk counts free "
                   "frames its bits do not have, chunk at",
                   (a->bit_base + (c << CHUNK_SHIFT)) << frame_shift);
}

/* Chunk c's lowest free frame, taken ALLOCATED. Precondition: the lock
 * of sp, c's stripe, and chunk_free[c] != 0 (a chunk whose counter says
 * free frames but whose bits have none is corrupt bookkeeping: panic). */
static uint64_t arena_take_lowest(k23_frames_arena_t *a,
                                  struct k23_frames_stripe *sp, uint64_t c,
                                  unsigned frame_shift)
{
    for (uint64_t w = c * CHUNK_WORDS; w < (c + 1) * CHUNK_WORDS; w++) {
        uint64_t b = k23_arena_ld_(&a->busy[w]);
        if (b != UINT64_MAX) {
            uint64_t low = ~b & (b + 1); /* lowest clear bit */
            k23_arena_st_(&a->busy[w], b | low);
            arena_chunk_took_one(a, c);
            __atomic_store_n(&sp->free, sp->free - 1, __ATOMIC_RELAXED);
            return a->bit_base + (w << 6) + arena_ctz64(low);
        }
    }
    arena_bad_chunk_count(a, c, frame_shift);
}

uint64_t k23_arena_take_one_(k23_frames_arena_t *a, unsigned frame_shift)
{
    /* Where k23_arena_take_singles_() would look first: the lowest partly
     * free chunk, else the lowest whole one, found by a relaxed look and
     * taken from under the chunk's stripe lock if it still has a free
     * frame (a race with other CPUs can only make the choice a worse fit,
     * never wrong; K23_ARENA_NO_FRAME sends the caller to the general
     * path). */
    uint64_t c, pfn = K23_ARENA_NO_FRAME;
    if (!arena_first_cbit(a, a->partial, &c) &&
        !arena_first_cbit(a, a->whole, &c))
        return pfn;
    struct k23_frames_stripe *sp = arena_stripe(a, c);
    K23_LOCK_ACQUIRE_FAST(&sp->lock);
    if (a->chunk_free[c] != 0)
        pfn = arena_take_lowest(a, sp, c, frame_shift);
    K23_LOCK_RELEASE_FAST(&sp->lock);
    return pfn;
}

/* ---- free ---- */

/* Whether every frame of chunks [c, c + k) is allocated (busy, not
 * cached). */
static bool arena_chunks_allocated(const k23_frames_arena_t *a, uint64_t c,
                                   uint64_t k)
{
    uint64_t bad = 0;
    for (uint64_t w = c * CHUNK_WORDS; w < (c + k) * CHUNK_WORDS; w++)
        bad |= ~k23_arena_ld_(&a->busy[w]) | k23_arena_ld_(&a->cached[w]);
    return bad == 0;
}

/* Free chunks [c, c + k), every frame allocated. */
static void arena_free_chunks(k23_frames_arena_t *a, uint64_t c, uint64_t k)
{
    for (uint64_t x = c; x < c + k; x++) {
        for (uint64_t w = x * CHUNK_WORDS; w < (x + 1) * CHUNK_WORDS; w++)
            k23_arena_st_(&a->busy[w], 0);
        arena_chunk_set(a, x, CHUNK);
        arena_free_add(a, x, CHUNK);
    }
}

/* Free the single frame pfn, in state expect, of stripe sp (whose lock
 * is held). */
static inline void arena_free_single(k23_frames_arena_t *a,
                                     struct k23_frames_stripe *sp,
                                     uint64_t pfn, uint8_t expect,
                                     unsigned frame_shift)
{
    uint64_t i = pfn - a->bit_base;
    bool cached = expect == FRAME_CACHED;
    uint64_t w = i >> 6, m = k23_arena_bit_(pfn);
    uint64_t b = k23_arena_ld_(&a->busy[w]);
    uint64_t cw = k23_arena_ld_(&a->cached[w]) & m;
    if (K23_UNLIKELY((b & m) == 0 || cw != (cached ? m : 0) ||
                     (cached && arena_touches_foreign(a, pfn, 1))))
        arena_range_misuse(a, pfn, 1, expect, frame_shift);
    if (cached)
        k23_arena_andnot_(&a->cached[w], m);
    k23_arena_st_(&a->busy[w], b & ~m);
    arena_chunk_freed_one(a, i >> CHUNK_SHIFT);
    /* relaxed atomic: k23_arena_describe_() reads it without the lock */
    __atomic_store_n(&sp->free, sp->free + 1, __ATOMIC_RELAXED);
}

/* k23_arena_free_() with the locks of the stripes of the range held. */
static void arena_free_locked(k23_frames_arena_t *a, uint64_t pfn,
                              uint64_t n, uint8_t expect,
                              unsigned frame_shift)
{
    uint64_t i = pfn - a->bit_base;
    bool cached = expect == FRAME_CACHED;

    if (n == 1) {
        /* single frames (caches off, spills): no run loop */
        arena_free_single(a, arena_stripe(a, i >> CHUNK_SHIFT), pfn, expect,
                          frame_shift);
        return;
    }

    /* Whole chunks (2 MiB runs): sixteen words checked, eight written,
     * per chunk. */
    if (!cached && ((i | n) & (CHUNK - 1)) == 0 &&
        K23_LIKELY(arena_chunks_allocated(a, i >> CHUNK_SHIFT,
                                          n >> CHUNK_SHIFT))) {
        arena_free_chunks(a, i >> CHUNK_SHIFT, n >> CHUNK_SHIFT);
        return;
    }
    /* Check the whole range before changing anything. */
    if (K23_UNLIKELY(!arena_all_in(a, i, n, cached) ||
                     (cached && arena_touches_foreign(a, pfn, n))))
        arena_range_misuse(a, pfn, n, expect, frame_shift);
    arena_mark(a, i, n, false, cached);
}

void k23_arena_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                     uint8_t expect, unsigned max_order,
                     unsigned frame_shift)
{
    (void)max_order;
    K23_ARENA_LOCKED(a);
    arena_free_locked(a, pfn, n, expect, frame_shift);
}

/* The analysis cannot follow a loop over the stripe locks. */
K23_NO_THREAD_SAFETY_ANALYSIS static void
arena_lock_stripes(k23_frames_arena_t *a, uint32_t s0, uint32_t s1)
{
    for (uint32_t s = s0; s <= s1; s++)
        k23_port_lock_acquire(&a->stripes[s].lock);
}

K23_NO_THREAD_SAFETY_ANALYSIS static void
arena_unlock_stripes(k23_frames_arena_t *a, uint32_t s0, uint32_t s1)
{
    for (uint32_t s = s1 + 1; s-- > s0;)
        k23_port_lock_release(&a->stripes[s].lock);
}

void k23_arena_free_run_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                         uint8_t expect, unsigned frame_shift)
{
    uint32_t s0 = arena_stripe_index(a, (pfn - a->bit_base) >> CHUNK_SHIFT);
    uint32_t s1 = arena_stripe_index(a, (pfn + n - 1 - a->bit_base) >>
                                            CHUNK_SHIFT);
    arena_lock_stripes(a, s0, s1);
    arena_free_locked(a, pfn, n, expect, frame_shift);
    arena_unlock_stripes(a, s0, s1);
}

void k23_arena_free_one_(k23_frames_arena_t *a, uint64_t pfn,
                         unsigned frame_shift)
{
    struct k23_frames_stripe *sp =
        arena_stripe(a, (pfn - a->bit_base) >> CHUNK_SHIFT);
    K23_LOCK_ACQUIRE_FAST(&sp->lock);
    arena_free_single(a, sp, pfn, FRAME_ALLOCATED, frame_shift);
    K23_LOCK_RELEASE_FAST(&sp->lock);
}

/* Release the stripe lock *held names (if any) and forget it. */
K23_NO_THREAD_SAFETY_ANALYSIS static void
arena_drop_held(k23_frames_arena_t *a, uint32_t *held)
{
    if (*held != UINT32_MAX)
        k23_port_lock_release(&a->stripes[*held].lock);
    *held = UINT32_MAX;
}

/* The locks are taken and dropped as the stripes change: the analysis
 * cannot follow that. */
K23_NO_THREAD_SAFETY_ANALYSIS void
k23_arena_free_sorted_(k23_frames_arena_t *a, const uint64_t *pfns,
                       unsigned n, uint8_t expect, unsigned frame_shift)
{
    uint32_t held = UINT32_MAX; /* the stripe whose lock is held */
    for (unsigned i = 0; i < n;) {
        unsigned k = 1;
        while (i + k < n && pfns[i + k] == pfns[i] + k)
            k++;
        uint32_t s0 = arena_stripe_index(a, (pfns[i] - a->bit_base) >>
                                                CHUNK_SHIFT);
        uint32_t s1 = arena_stripe_index(a, (pfns[i] + k - 1 - a->bit_base) >>
                                                CHUNK_SHIFT);
        if (s0 != s1) {
            /* a run over a stripe boundary: its stripes, ascending */
            arena_drop_held(a, &held);
            arena_lock_stripes(a, s0, s1);
            arena_free_locked(a, pfns[i], k, expect, frame_shift);
            arena_unlock_stripes(a, s0, s1);
        } else {
            if (held != s0) {
                arena_drop_held(a, &held);
                k23_port_lock_acquire(&a->stripes[s0].lock);
                held = s0;
            }
            arena_free_locked(a, pfns[i], k, expect, frame_shift);
        }
        i += k;
    }
    arena_drop_held(a, &held);
}

/* ---- checker ---- */

static int arena_bad(const char *what, uint64_t pfn, unsigned frame_shift)
{
    char buf[160];
    size_t pos = 0;
    buf[0] = '\0';
    k23_str_append_(buf, sizeof(buf), &pos, "k23_frames check: ");
    k23_str_append_(buf, sizeof(buf), &pos, what);
    k23_str_append_(buf, sizeof(buf), &pos, " at ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, pfn << frame_shift, 16);
    k23_port_log(K23_LOG_ERROR, buf);
    return K23_ERR_CORRUPT;
}

/* The hole extents: sorted, apart, inside the arena, clear of the
 * bookkeeping, every frame (1, 1); their frames to *holes. */
static int arena_check_holes(const k23_frames_arena_t *a,
                             unsigned frame_shift, uint64_t *holes)
{
    uint64_t prev_end = 0;
    if (a->nholes > a->holes_cap)
        return arena_bad("hole extents over their room", a->base_pfn,
                         frame_shift);
    for (uint32_t h = 0; h < a->nholes; h++) {
        uint64_t s = a->holes[h].start, e = a->holes[h].end;
        if (s >= e || s < a->base_pfn || e > arena_end(a) ||
            (h != 0 && s <= prev_end) ||
            (a->meta_frames != 0 && s < a->meta_pfn + a->meta_frames &&
             a->meta_pfn < e))
            return arena_bad("hole extent out of order or range", s,
                             frame_shift);
        if (!arena_all_in(a, s - a->bit_base, e - s, true))
            return arena_bad("hole frame not marked busy and cached", s,
                             frame_shift);
        *holes += e - s;
        prev_end = e;
    }
    return K23_OK;
}

/* Bits [i, i + n) are (1, 1): the padding and the bookkeeping. */
static int arena_check_foreign_bits(const k23_frames_arena_t *a, uint64_t i,
                                    uint64_t n, const char *what,
                                    unsigned frame_shift)
{
    if (n != 0 && !arena_all_in(a, i, n, true))
        return arena_bad(what, a->bit_base + i, frame_shift);
    return K23_OK;
}

/* Each chunk: no (0, 1) frame, its counter equal to its free bits, its
 * chunk bitmap bits agreeing with the counter. Counts free frames and
 * (1, 1) frames. */
static int arena_check_chunks(const k23_frames_arena_t *a,
                              unsigned frame_shift, uint64_t *free,
                              uint64_t *ones)
{
    uint64_t stripe_start0 = 0, *stripe_start = &stripe_start0;
    for (uint64_t c = 0; c < a->nchunks; c++) {
        unsigned nfree = 0;
        uint64_t pfn = a->bit_base + (c << CHUNK_SHIFT);
        for (uint64_t w = c * CHUNK_WORDS; w < (c + 1) * CHUNK_WORDS; w++) {
            uint64_t b = k23_arena_ld_(&a->busy[w]);
            uint64_t cw = k23_arena_ld_(&a->cached[w]);
            if ((cw & ~b) != 0)
                return arena_bad("free frame marked cached",
                                 a->bit_base + (w << 6) +
                                     arena_ctz64(cw & ~b),
                                 frame_shift);
            nfree += arena_popcount64(~b);
            *ones += arena_popcount64(b & cw);
        }
        if (nfree != a->chunk_free[c])
            return arena_bad("chunk free counter wrong", pfn, frame_shift);
        bool whole = arena_cbit(a->whole, c);
        bool part = arena_cbit(a->partial, c);
        if (whole != (nfree == CHUNK) || part != (nfree != 0 && nfree != CHUNK))
            return arena_bad("chunk bitmaps disagree with the counter", pfn,
                             frame_shift);
        *free += nfree;
        if ((c + 1) % arena_stripe_chunks(a) == 0 || c + 1 == a->nchunks) {
            /* the stripe's counter */
            if (*free - *stripe_start != arena_stripe(a, c)->free)
                return arena_bad("stripe free counter wrong", pfn,
                                 frame_shift);
            *stripe_start = *free;
        }
    }
    for (uint64_t w = arena_chunk_words(a) * 64; w-- > a->nchunks;)
        if (arena_cbit(a->whole, w) || arena_cbit(a->partial, w))
            return arena_bad("chunk bitmap bit past the last chunk",
                             a->bit_base, frame_shift);
    return K23_OK;
}

/* The arena's counters against what the walk counted. */
static int arena_check_counters(const k23_frames_arena_t *a,
                                unsigned frame_shift, uint64_t free,
                                uint64_t holes)
{
    uint64_t base = a->base_pfn;
    if (free != k23_arena_free_frames_(a))
        return arena_bad("free frame counter wrong", base, frame_shift);
    if (holes != a->hole_frames)
        return arena_bad("hole counter wrong", base, frame_shift);
    if (a->usable_frames != a->nframes - holes - a->meta_frames)
        return arena_bad("usable frame counter wrong", base, frame_shift);
    return K23_OK;
}

int k23_arena_check_(const k23_frames_arena_t *a, unsigned max_order,
                     unsigned frame_shift, uint64_t *cached)
{
    (void)max_order;
    uint64_t free = 0, ones = 0, holes = 0;
    uint64_t head = a->base_pfn - a->bit_base;
    uint64_t tail = arena_nwords(a) * 64 - head - a->nframes;
    K23_ARENA_LOCKED(a);
    int rc = arena_check_holes(a, frame_shift, &holes);
    if (rc == K23_OK)
        rc = arena_check_foreign_bits(a, 0, head, "padding frame not "
                                      "marked busy and cached", frame_shift);
    if (rc == K23_OK)
        rc = arena_check_foreign_bits(a, head + a->nframes, tail,
                                      "padding frame not marked busy and "
                                      "cached", frame_shift);
    if (rc == K23_OK && a->meta_frames != 0)
        rc = arena_check_foreign_bits(a, a->meta_pfn - a->bit_base,
                                      a->meta_frames, "bookkeeping frame "
                                      "not marked busy and cached",
                                      frame_shift);
    if (rc == K23_OK)
        rc = arena_check_chunks(a, frame_shift, &free, &ones);
    if (rc == K23_OK)
        rc = arena_check_counters(a, frame_shift, free, holes);
    if (rc == K23_OK)
        *cached += ones - head - tail - holes - a->meta_frames;
    return rc;
}

/* ---- geometry, counters, more operations ---- */

unsigned k23_arena_max_order_(const k23_frames_arena_t *a,
                              unsigned max_order)
{
    uint64_t end = arena_end(a);
    for (unsigned o = max_order;; o--) {
        uint64_t bs = UINT64_C(1) << o;
        uint64_t s = (a->base_pfn + bs - 1) & ~(bs - 1);
        if (s >= a->base_pfn && s < end && end - s >= bs)
            return o;
        if (o == 0)
            return 0;
    }
}

uint64_t k23_arena_free_below_(const k23_frames_arena_t *a,
                               uint64_t limit_pfn)
{
    K23_ARENA_LOCKED(a);
    if (limit_pfn <= a->base_pfn)
        return 0;
    if (limit_pfn >= arena_end(a))
        return k23_arena_free_frames_(a);
    uint64_t nbits = limit_pfn - a->bit_base, total = 0;
    uint64_t c = nbits >> CHUNK_SHIFT;
    for (uint64_t x = 0; x < c; x++)
        total += a->chunk_free[x];
    for (uint64_t w = c * CHUNK_WORDS; w < (nbits >> 6); w++)
        total += arena_popcount64(~k23_arena_ld_(&a->busy[w]));
    if ((nbits & 63) != 0)
        total += arena_popcount64(~k23_arena_ld_(&a->busy[nbits >> 6]) &
                                  arena_mask(0, (unsigned)(nbits & 63)));
    return total;
}

bool k23_arena_is_hole_(const k23_frames_arena_t *a, uint64_t pfn,
                        uint64_t n)
{
    K23_ARENA_LOCKED(a);
    int h = arena_hole_find(a, pfn);
    return h >= 0 && n <= a->holes[h].end - pfn;
}

int k23_arena_add_hole_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                        unsigned max_order, unsigned frame_shift)
{
    (void)max_order;
    (void)frame_shift;
    K23_ARENA_LOCKED(a);
    int hi = arena_hole_find(a, pfn);
    if (hi < 0 || n > a->holes[hi].end - pfn)
        return K23_ERR_OVERLAP;
    uint32_t h = (uint32_t)hi;
    k23_frames_hole_t x = a->holes[h];
    bool left = x.start < pfn, right = pfn + n < x.end;
    if (left && right) {
        if (a->nholes == a->holes_cap)
            return K23_ERR_LIMIT;
        for (uint32_t j = a->nholes; j > h + 1; j--)
            a->holes[j] = a->holes[j - 1];
        a->nholes++;
        a->holes[h].end = pfn;
        a->holes[h + 1].start = pfn + n;
        a->holes[h + 1].end = x.end;
    } else if (left) {
        a->holes[h].end = pfn;
    } else if (right) {
        a->holes[h].start = pfn + n;
    } else {
        for (uint32_t j = h; j + 1 < a->nholes; j++)
            a->holes[j] = a->holes[j + 1];
        a->nholes--;
    }
    arena_mark(a, pfn - a->bit_base, n, false, true);
    a->hole_frames -= n;
    a->usable_frames += n;
    return K23_OK;
}

/* Bit index of the first free frame at or after bit i (< limit), or
 * limit. */
static uint64_t arena_next_free(const k23_frames_arena_t *a, uint64_t i,
                                uint64_t limit)
{
    while (i < limit) {
        uint64_t f = ~k23_arena_ld_(&a->busy[i >> 6]) &
                     ~((UINT64_C(1) << (i & 63)) - 1);
        if (f != 0)
            return (i & ~UINT64_C(63)) + arena_ctz64(f);
        i = (i | 63) + 1;
    }
    return limit;
}

/* Bit index of the first busy frame at or after bit i (< limit), or
 * limit. */
static uint64_t arena_next_busy(const k23_frames_arena_t *a, uint64_t i,
                                uint64_t limit)
{
    while (i < limit) {
        uint64_t b = k23_arena_ld_(&a->busy[i >> 6]) &
                     ~((UINT64_C(1) << (i & 63)) - 1);
        if (b != 0) {
            uint64_t r = (i & ~UINT64_C(63)) + arena_ctz64(b);
            return r < limit ? r : limit;
        }
        i = (i | 63) + 1;
    }
    return limit;
}

bool k23_arena_next_block_(const k23_frames_arena_t *a, unsigned max_order,
                           uint64_t *cursor, uint64_t *pfn, unsigned *order)
{
    uint64_t limit = arena_end(a) - a->bit_base;
    uint64_t i = *cursor < a->base_pfn - a->bit_base
                     ? a->base_pfn - a->bit_base
                     : *cursor;
    i = arena_next_free(a, i, limit);
    if (i >= limit)
        return false;
    uint64_t e = arena_next_busy(a, i, limit);
    unsigned o = arena_fit_order(a->bit_base + i, a->bit_base + e, max_order);
    *pfn = a->bit_base + i;
    *order = o;
    *cursor = i + (UINT64_C(1) << o);
    return true;
}

void k23_arena_stats_add_(const k23_frames_arena_t *a, unsigned max_order,
                          k23_frames_stats_t *s)
{
    K23_ARENA_LOCKED(a);
    s->total_frames += a->usable_frames;
    s->free_frames += k23_arena_free_frames_(a);
    s->hole_frames += a->hole_frames;
    s->metadata_bytes += a->meta_bytes;
    uint64_t cursor = 0, pfn;
    unsigned o;
    while (k23_arena_next_block_(a, max_order, &cursor, &pfn, &o))
        s->free_blocks[o]++;
}

void k23_arena_describe_(const k23_frames_arena_t *a, unsigned frame_shift,
                         k23_frames_arena_info_t *out)
{
    out->range.base = a->base_pfn << frame_shift;
    out->range.size = a->nframes << frame_shift;
    out->bookkeeping.base = a->meta_pfn << frame_shift;
    out->bookkeeping.size = a->meta_frames << frame_shift;
    out->usable_frames = a->usable_frames;
    out->hole_frames = a->hole_frames;
    out->free_frames = k23_arena_free_frames_(a); /* relaxed loads */
}

bool k23_arena_check_mark_(k23_frames_arena_t *a, uint64_t pfn)
{
    K23_ARENA_LOCKED(a);
    if (k23_arena_state_(a, pfn - a->base_pfn) != FRAME_CACHED)
        return false;
    k23_arena_andnot_(&a->cached[k23_arena_word_(a, pfn)],
                      k23_arena_bit_(pfn));
    return true;
}

void k23_arena_check_unmark_(k23_frames_arena_t *a, uint64_t pfn)
{
    K23_ARENA_LOCKED(a);
    k23_arena_or_(&a->cached[k23_arena_word_(a, pfn)], k23_arena_bit_(pfn));
}

/* ---- the set of arenas ---- */

bool k23_arenas_alloc_(k23_frames_arena_t *v, unsigned n, uint64_t nframes,
                       unsigned align, uint64_t limit_pfn,
                       unsigned max_order, uint8_t st, unsigned *ai,
                       uint64_t *pfn)
{
    for (unsigned i = n; i-- > 0;) {
        if (k23_arena_alloc_(&v[i], nframes, align, limit_pfn, max_order, st,
                             pfn)) {
            *ai = i;
            return true;
        }
    }
    return false;
}

int k23_arenas_check_(const k23_frames_arena_t *v, unsigned n,
                      unsigned max_order, unsigned frame_shift,
                      uint64_t *cached)
{
    for (unsigned i = 0; i < n; i++) {
        if (i + 1 < n && arena_end(&v[i]) > v[i + 1].base_pfn)
            return arena_bad("arenas overlap or are unsorted", v[i].base_pfn,
                             frame_shift);
        int rc = k23_arena_check_(&v[i], max_order, frame_shift, cached);
        if (rc != K23_OK)
            return rc;
    }
    return K23_OK;
}
