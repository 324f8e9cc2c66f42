/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * One arena: a binary buddy allocator indexed by absolute frame number,
 * exact-size runs carved out of buddy blocks, and the invariant checker.
 *
 * Why absolute frame numbers: a block of order o starts at a frame number
 * that is a multiple of 2^o, so it is physically aligned to
 * frame_size << o whatever the arena's base. The buddy of the block at
 * frame p is p ^ (1 << o): the order-1 buddy of pfn 8 is
 * 8 ^ (1 << 1) = 10, and that of pfn 10 is 8. An arena starting at an odd
 * frame simply begins with smaller blocks.
 *
 * Why per-frame state instead of walking lists: freeing a block looks at
 * its buddy's entry: "is it the head of a free block of the same order?"
 * is one load. The free lists are doubly linked through the metadata
 * array, so unlinking that buddy is O(1) too. A free of order o therefore
 * costs O(max_order - o) whatever the lists hold. Free frames are never
 * touched: the links live in the metadata, not in the frames.
 *
 * Exact runs: a run of n frames is taken from a block of order
 * max(ceil_log2(n), align) when one is free (O(max_order)), and the
 * 2^k - n frames after it go straight back as smaller blocks. When no such
 * block exists (fragmentation, n not a power of two, a physical limit, or
 * n above the largest block), the free bitmap is searched for n clear bits
 * at the alignment, and the run is carved out of the free blocks covering
 * it, their leftovers going back to the lists.
 */
#include "arena.h"
#include "k23mem/bitmap.h"

/* ---- small helpers ---- */

static inline unsigned arena_ctz64(uint64_t x)
{
    return (unsigned)__builtin_ctzll(x);
}

/* Smallest k with 2^k >= n, for n >= 1. */
static inline unsigned arena_ceil_log2(uint64_t n)
{
    return n <= 1 ? 0u : 64u - (unsigned)__builtin_clzll(n - 1);
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

/* Layout of the bookkeeping: links, states, free bitmap, each starting
 * 8-byte aligned. */
static uint64_t arena_links_bytes(uint64_t nframes)
{
    return arena_round8(nframes * sizeof(struct k23_frame_meta));
}

uint64_t k23_arena_meta_bytes_(uint64_t nframes)
{
    return arena_links_bytes(nframes) + arena_round8(nframes) +
           arena_round8((nframes + 7) / 8);
}

/* ---- state runs, eight states per word ---- */

/* Eight state bytes read or written as one word. The arrays are 8-byte
 * aligned; a word is only used when all eight frames lie in the run, so
 * no other thread touches any of its bytes (the cache paths flip states
 * of frames in caches, never of a run being allocated or freed). */
typedef uint64_t __attribute__((may_alias)) arena_word_t;

#define ARENA_BYTES8(b) (UINT64_C(0x0101010101010101) * (uint8_t)(b))

/* The whole state byte of frame idx, order bits included. */
static inline uint8_t arena_byte(const k23_frames_arena_t *a, uint64_t idx)
{
    return __atomic_load_n(&a->state[idx], __ATOMIC_RELAXED);
}

/* Index of the first frame of [idx, idx + n) whose state byte is not st
 * (st is never FRAME_FREE_HEAD, so whole bytes compare), or n when all
 * are st. */
static uint64_t arena_first_not(const k23_frames_arena_t *a, uint64_t idx,
                                uint64_t n, uint8_t st)
{
    uint64_t i = 0, w = ARENA_BYTES8(st);
    if (n == 1) /* the single frames of the cache paths */
        return arena_byte(a, idx) != st ? 0 : 1;
    while (i < n && ((idx + i) & 7) != 0) {
        if (arena_byte(a, idx + i) != st)
            return i;
        i++;
    }
    for (; i + 8 <= n; i += 8) {
        const arena_word_t *p = (const arena_word_t *)&a->state[idx + i];
        if (__atomic_load_n(p, __ATOMIC_RELAXED) != w)
            break;
    }
    for (; i < n; i++)
        if (arena_byte(a, idx + i) != st)
            return i;
    return n;
}

/* Set the states of [idx, idx + n) to st. */
static void arena_set_states(k23_frames_arena_t *a, uint64_t idx, uint64_t n,
                             uint8_t st)
{
    uint64_t i = 0, w = ARENA_BYTES8(st);
    if (n == 1) {
        k23_arena_set_state_(a, idx, st);
        return;
    }
    for (; i < n && ((idx + i) & 7) != 0; i++)
        k23_arena_set_state_(a, idx + i, st);
    for (; i + 8 <= n; i += 8)
        __atomic_store_n((arena_word_t *)&a->state[idx + i], w,
                         __ATOMIC_RELAXED);
    for (; i < n; i++)
        k23_arena_set_state_(a, idx + i, st);
}

/* ---- free lists ---- */

static void arena_push(k23_frames_arena_t *a, uint64_t pfn, unsigned o)
{
    uint32_t idx = (uint32_t)(pfn - a->base_pfn);
    struct k23_frame_meta *m = &a->meta[idx];
    uint32_t head = a->free_head[o];
    m->prev = K23_ARENA_NIL;
    m->next = head;
    if (head != K23_ARENA_NIL)
        a->meta[head].prev = idx;
    a->free_head[o] = idx;
    a->free_blocks[o]++;
    a->nonempty |= UINT32_C(1) << o;
    __atomic_store_n(&a->state[idx], FRAME_HEAD_BYTE(o), __ATOMIC_RELAXED);
}

static void arena_unlink(k23_frames_arena_t *a, uint32_t idx, unsigned o)
{
    struct k23_frame_meta *m = &a->meta[idx];
    K23_ASSERT_INTERNAL_FOUND(arena_byte(a, idx) == FRAME_HEAD_BYTE(o),
                              arena_byte(a, idx));
    if (m->prev != K23_ARENA_NIL)
        a->meta[m->prev].next = m->next;
    else
        a->free_head[o] = m->next;
    if (m->next != K23_ARENA_NIL)
        a->meta[m->next].prev = m->prev;
    m->next = m->prev = K23_ARENA_NIL;
    if (--a->free_blocks[o] == 0)
        a->nonempty &= ~(UINT32_C(1) << o);
}

/* Put [pfn, pfn + n), whose frames are FREE (or a stale FREE_HEAD), on
 * the lists as maximal aligned blocks without trying to merge. Only valid
 * when none of those blocks can have a free buddy: the pieces of a split
 * block and the initial free ranges (separated by non-free frames). */
static void arena_put_range(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                            unsigned max_order)
{
    uint64_t end = pfn + n;
    while (pfn < end) {
        unsigned o = arena_fit_order(pfn, end, max_order);
        arena_push(a, pfn, o);
        pfn += UINT64_C(1) << o;
    }
}

/* Insert the free block (pfn, o), merging with free buddies. */
static void arena_free_block(k23_frames_arena_t *a, uint64_t pfn, unsigned o,
                             unsigned max_order)
{
    uint64_t end = arena_end(a);
    while (o < max_order) {
        uint64_t b = pfn ^ (UINT64_C(1) << o);
        if (b < a->base_pfn || b >= end)
            break;
        uint32_t bidx = (uint32_t)(b - a->base_pfn);
        if (arena_byte(a, bidx) != FRAME_HEAD_BYTE(o))
            break;
        arena_unlink(a, bidx, o);
        k23_arena_set_state_(a, bidx, FRAME_FREE);
        if (b < pfn)
            pfn = b;
        o++;
    }
    arena_push(a, pfn, o);
}

/* ---- lifecycle ---- */

void k23_arena_init_(k23_frames_arena_t *a, uint64_t base_pfn,
                     uint64_t nframes, void *meta, k23_port_lock_t *lock)
{
    uint64_t bytes = k23_arena_meta_bytes_(nframes);
    unsigned char *p = meta;
    K23_ASSERT_INTERNAL_FOUND(k23_port_lock_held(lock), (uintptr_t)lock);
    k23_memzero_(a, sizeof(*a));
    a->lock = lock;
    a->base_pfn = base_pfn;
    a->nframes = nframes;
    a->hole_frames = nframes;
    a->meta = meta;
    a->meta_bytes = bytes;
    p += arena_links_bytes(nframes);
    a->state = p;
    p += arena_round8(nframes);
    a->bitmap = p;
    for (unsigned o = 0; o < K23_FRAMES_ORDER_LIMIT; o++)
        a->free_head[o] = K23_ARENA_NIL;
    /* Everything starts as a hole (state 0) and not free (bit set). */
    k23_memzero_(meta, (size_t)bytes);
    k23_bitmap_set_range(a->bitmap, (size_t)nframes, 0, (size_t)nframes);
}

void k23_arena_reserve_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n)
{
    uint64_t idx = pfn - a->base_pfn;
    K23_ARENA_LOCKED(a);
    K23_ASSERT_INTERNAL_FOUND(arena_first_not(a, idx, n, FRAME_HOLE) == n,
                              arena_first_not(a, idx, n, FRAME_HOLE));
    arena_set_states(a, idx, n, FRAME_RESERVED);
    a->hole_frames -= n;
    a->meta_pfn = pfn;
    a->meta_frames = n;
}

void k23_arena_add_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                         unsigned max_order)
{
    uint64_t idx = pfn - a->base_pfn;
    K23_ARENA_LOCKED(a);
    if (n == 0)
        return;
    K23_ASSERT_INTERNAL_FOUND(arena_first_not(a, idx, n, FRAME_HOLE) == n,
                              arena_first_not(a, idx, n, FRAME_HOLE));
    arena_set_states(a, idx, n, FRAME_FREE);
    k23_bitmap_clear_range(a->bitmap, (size_t)a->nframes, (size_t)idx,
                           (size_t)n);
    a->hole_frames -= n;
    a->usable_frames += n;
    a->free_frames += n;
    arena_put_range(a, pfn, n, max_order);
}

/* ---- allocation ---- */

/* Mark [pfn, pfn + n), already off the lists, as handed out. */
static void arena_take(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                       uint8_t st)
{
    uint64_t idx = pfn - a->base_pfn;
    arena_set_states(a, idx, n, st);
    if (n == 1)
        a->bitmap[idx >> 3] |= (unsigned char)(1u << (idx & 7));
    else
        k23_bitmap_set_range(a->bitmap, (size_t)a->nframes, (size_t)idx,
                             (size_t)n);
    a->free_frames -= n;
}

/* Find the free block containing frame p: its head is p rounded down to
 * 2^o for exactly one o. Returns false if p is not free (corruption). */
static bool arena_find_block(const k23_frames_arena_t *a, uint64_t p,
                             unsigned max_order, uint64_t *head,
                             unsigned *order)
{
    for (unsigned o = 0; o <= max_order; o++) {
        uint64_t h = p & ~((UINT64_C(1) << o) - 1);
        if (h < a->base_pfn)
            break;
        uint32_t idx = (uint32_t)(h - a->base_pfn);
        if (k23_arena_state_(a, idx) == FRAME_FREE_HEAD &&
            k23_arena_order_(a, idx) == o) {
            *head = h;
            *order = o;
            return true;
        }
    }
    return false;
}

/* Take [s, s + n), all free, off the lists: unlink each block covering
 * part of it and put that block's parts outside the run back. */
static void arena_carve(k23_frames_arena_t *a, uint64_t s, uint64_t n,
                        unsigned max_order)
{
    uint64_t e = s + n;
    uint64_t p = s;
    while (p < e) {
        uint64_t h;
        unsigned o;
        if (!arena_find_block(a, p, max_order, &h, &o))
            K23_PANIC_ADDR("k23_frames: free bitmap and buddy lists disagree "
                           "at frame number", p);
        uint64_t be = h + (UINT64_C(1) << o);
        arena_unlink(a, (uint32_t)(h - a->base_pfn), o);
        if (h < s)
            arena_put_range(a, h, s - h, max_order);
        if (be > e)
            arena_put_range(a, e, be - e, max_order);
        p = be;
    }
}

bool k23_arena_alloc_(k23_frames_arena_t *a, uint64_t n, unsigned align,
                      uint64_t limit_pfn, unsigned max_order, uint8_t st,
                      uint64_t *out_pfn)
{
    uint64_t end = arena_end(a);
    K23_ARENA_LOCKED(a);
    if (n > a->free_frames || limit_pfn <= a->base_pfn)
        return false;
    unsigned k = arena_ceil_log2(n);
    if (align > k)
        k = align;

    /* Fast path: a whole block of order >= k, when the arena lies entirely
     * under the limit. Blocks of order k are aligned to 2^k >= 2^align. */
    if (k <= max_order && limit_pfn >= end) {
        uint32_t mask = a->nonempty & ~((UINT32_C(1) << k) - 1);
        if (mask != 0) {
            unsigned j = (unsigned)__builtin_ctz(mask);
            uint32_t idx = a->free_head[j];
            uint64_t pfn = a->base_pfn + idx;
            arena_unlink(a, idx, j);
            while (j > k) {
                j--;
                arena_push(a, pfn + (UINT64_C(1) << j), j);
            }
            uint64_t bsize = UINT64_C(1) << k;
            if (n < bsize)
                arena_put_range(a, pfn + n, bsize - n, max_order);
            arena_take(a, pfn, n, st);
            *out_pfn = pfn;
            return true;
        }
    }

    /* Search the free bitmap: exact n, aligned on absolute frame numbers,
     * below the limit. */
    uint64_t nbits = a->nframes;
    if (limit_pfn < end)
        nbits = limit_pfn - a->base_pfn;
    if (n > nbits)
        return false;
    size_t off = (size_t)(a->base_pfn & ((UINT64_C(1) << align) - 1));
    size_t idx;
    if (k23_bitmap_find_clear(a->bitmap, (size_t)nbits, 0, (size_t)n, align,
                              off, &idx) != K23_OK)
        return false;
    uint64_t pfn = a->base_pfn + idx;
    arena_carve(a, pfn, n, max_order);
    arena_take(a, pfn, n, st);
    *out_pfn = pfn;
    return true;
}

/* Single frames in bulk (cache refills): whole free blocks of the
 * smallest order first, as single allocations would take them, so partly
 * used areas are still filled before whole ones are broken; but a block
 * is unlinked once and its frames marked as a run, not one by one. */
unsigned k23_arena_alloc_singles_(k23_frames_arena_t *a, unsigned n,
                                  uint8_t st, uint64_t *pfns)
{
    unsigned got = 0;
    K23_ARENA_LOCKED(a);
    while (got < n && a->nonempty != 0) {
        unsigned j = (unsigned)__builtin_ctz(a->nonempty);
        uint32_t idx = a->free_head[j];
        uint64_t pfn = a->base_pfn + idx;
        arena_unlink(a, idx, j);
        /* keep the lower part that fits, give back the upper halves */
        while ((UINT64_C(1) << j) > n - got) {
            j--;
            arena_push(a, pfn + (UINT64_C(1) << j), j);
        }
        uint64_t bs = UINT64_C(1) << j;
        arena_take(a, pfn, bs, st);
        for (uint64_t i = 0; i < bs; i++)
            pfns[got++] = pfn + i;
    }
    return got;
}

/* ---- free ---- */

void k23_arena_misuse_(uint8_t st, bool partly, uint64_t addr)
{
    st &= FRAME_STATE_MASK; /* a free head's byte also holds its order */
    if (st == FRAME_HOLE || st == FRAME_RESERVED)
        K23_PANIC_ADDR("k23_frames: free of memory the allocator does not "
                       "own at", addr);
    if (partly)
        K23_PANIC_ADDR("k23_frames: free of a partly allocated range; "
                       "frame not allocated at", addr);
    /* Say what was found, not a guess at the cause: a free frame may have
     * been freed before or never allocated at all. */
    if (st == FRAME_CACHED || st == FRAME_CHECK_MARK)
        K23_PANIC_ADDR("k23_frames: free of a frame that is not allocated "
                       "(it is in a per-CPU cache) at", addr);
    if (st == FRAME_FREE || st == FRAME_FREE_HEAD)
        K23_PANIC_ADDR("k23_frames: free of a frame that is not allocated "
                       "(it is free) at", addr);
    K23_PANIC_ADDR("k23_frames: free of a frame that is not allocated at",
                   addr);
}

void k23_arena_expect_range_(const k23_frames_arena_t *a, uint64_t pfn,
                             uint64_t n, uint8_t expect, unsigned frame_shift)
{
    uint64_t idx0 = pfn - a->base_pfn;
    K23_ARENA_LOCKED(a);
    uint64_t bad = arena_first_not(a, idx0, n, expect);
    if (bad != n) {
        bool partly = bad != 0;
        for (uint64_t i = bad + 1; i < n && !partly; i++)
            partly = arena_byte(a, idx0 + i) == expect;
        k23_arena_misuse_(k23_arena_state_(a, idx0 + bad), partly,
                          (pfn + bad) << frame_shift);
    }
}

void k23_arena_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                     uint8_t expect, unsigned max_order,
                     unsigned frame_shift)
{
    uint64_t idx0 = pfn - a->base_pfn;
    K23_ARENA_LOCKED(a);

    if (n == 1) {
        /* single frames (caches off, spills): no run loop */
        uint8_t st = arena_byte(a, idx0);
        if (K23_UNLIKELY(st != expect))
            k23_arena_misuse_(st, false, pfn << frame_shift);
        /* FREE first: if it merges into a block it does not head, the
         * push below writes only the new head's byte */
        k23_arena_set_state_(a, idx0, FRAME_FREE);
        arena_free_block(a, pfn, 0, max_order);
        a->bitmap[idx0 >> 3] &= (unsigned char)~(1u << (idx0 & 7));
        a->free_frames++;
        return;
    }

    /* Check the whole range before changing anything. */
    k23_arena_expect_range_(a, pfn, n, expect, frame_shift);

    uint64_t end = pfn + n;
    for (uint64_t q = pfn; q < end;) {
        unsigned o = arena_fit_order(q, end, max_order);
        uint64_t bs = UINT64_C(1) << o;
        arena_set_states(a, q - a->base_pfn, bs, FRAME_FREE);
        arena_free_block(a, q, o, max_order);
        q += bs;
    }
    k23_bitmap_clear_range(a->bitmap, (size_t)a->nframes, (size_t)idx0,
                           (size_t)n);
    a->free_frames += n;
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

/* What the state walk of k23_arena_check_() counts. */
struct arena_tally {
    uint64_t heads[K23_FRAMES_ORDER_LIMIT]; /* free blocks per order */
    uint64_t free, holes, reserved, cached;  /* frames */
};

/* The free block whose head is frame i: its order, alignment, extent,
 * frames and bitmap bits, and that its buddy is not a free block of the
 * same order. Adds it to t; *size is its frames. */
static int arena_check_free_block(const k23_frames_arena_t *a, uint64_t i,
                                  unsigned max_order, unsigned frame_shift,
                                  struct arena_tally *t, uint64_t *size)
{
    uint64_t base = a->base_pfn, pfn = base + i;
    unsigned o = k23_arena_order_(a, i);
    if (o > max_order)
        return arena_bad("free block order too large", pfn, frame_shift);
    uint64_t bs = UINT64_C(1) << o;
    if ((pfn & (bs - 1)) != 0)
        return arena_bad("free block misaligned", pfn, frame_shift);
    if (bs > a->nframes - i)
        return arena_bad("free block past arena end", pfn, frame_shift);
    for (uint64_t j = 0; j < bs; j++) {
        if (j != 0 && arena_byte(a, i + j) != FRAME_FREE)
            return arena_bad("frame inside free block not free", pfn + j,
                             frame_shift);
        if (k23_bitmap_test(a->bitmap, (size_t)(i + j)))
            return arena_bad("free frame marked busy in bitmap", pfn + j,
                             frame_shift);
    }
    if (o < max_order) {
        uint64_t b = pfn ^ bs;
        if (b >= base && b < arena_end(a) &&
            k23_arena_state_(a, b - base) == FRAME_FREE_HEAD &&
            k23_arena_order_(a, b - base) == o)
            return arena_bad("free buddies not coalesced", pfn, frame_shift);
    }
    t->heads[o]++;
    t->free += bs;
    *size = bs;
    return K23_OK;
}

/* A frame outside the free blocks: a known busy state, counted, with its
 * bitmap bit set. */
static int arena_check_busy_frame(const k23_frames_arena_t *a, uint64_t i,
                                  uint8_t st, unsigned frame_shift,
                                  struct arena_tally *t)
{
    uint64_t pfn = a->base_pfn + i;
    switch (st) {
    case FRAME_HOLE:
        t->holes++;
        break;
    case FRAME_RESERVED:
        t->reserved++;
        break;
    case FRAME_ALLOCATED:
        break;
    case FRAME_CACHED:
        t->cached++;
        break;
    case FRAME_FREE:
        return arena_bad("free frame outside any free block", pfn,
                         frame_shift);
    default:
        return arena_bad("frame in unknown state", pfn, frame_shift);
    }
    if (!k23_bitmap_test(a->bitmap, (size_t)i))
        return arena_bad("busy frame marked free in bitmap", pfn,
                         frame_shift);
    return K23_OK;
}

/* Every frame's state byte and bitmap bit, in address order. */
static int arena_check_states(const k23_frames_arena_t *a, unsigned max_order,
                              unsigned frame_shift, struct arena_tally *t)
{
    for (uint64_t i = 0; i < a->nframes;) {
        uint8_t raw = arena_byte(a, i);
        uint8_t st = raw & FRAME_STATE_MASK;
        if (st != FRAME_FREE_HEAD && raw != st)
            return arena_bad("frame in unknown state", a->base_pfn + i,
                             frame_shift);
        uint64_t step = 1;
        int rc = st == FRAME_FREE_HEAD
                     ? arena_check_free_block(a, i, max_order, frame_shift,
                                              t, &step)
                     : arena_check_busy_frame(a, i, st, frame_shift, t);
        if (rc != K23_OK)
            return rc;
        i += step;
    }
    return K23_OK;
}

/* The free list of order o: links in range and consistent both ways,
 * exactly the free heads of that order the walk found, the per-order
 * count and the non-empty mask agreeing. */
static int arena_check_list(const k23_frames_arena_t *a, unsigned o,
                            unsigned frame_shift, const struct arena_tally *t)
{
    uint64_t base = a->base_pfn, count = 0;
    uint32_t prev = K23_ARENA_NIL;
    for (uint32_t idx = a->free_head[o]; idx != K23_ARENA_NIL;
         idx = a->meta[idx].next) {
        if (idx >= a->nframes)
            return arena_bad("free list link out of range", base,
                             frame_shift);
        if (k23_arena_state_(a, idx) != FRAME_FREE_HEAD ||
            k23_arena_order_(a, idx) != o)
            return arena_bad("free list entry is not a free head of "
                             "its order", base + idx, frame_shift);
        if (a->meta[idx].prev != prev)
            return arena_bad("free list back link broken", base + idx,
                             frame_shift);
        prev = idx;
        if (++count > t->heads[o])
            return arena_bad("free list longer than its free blocks",
                             base + idx, frame_shift);
    }
    if (count != t->heads[o] || count != a->free_blocks[o])
        return arena_bad("free block count disagrees with list", base,
                         frame_shift);
    if (((a->nonempty >> o) & 1u) != (count != 0))
        return arena_bad("non-empty list mask wrong", base, frame_shift);
    return K23_OK;
}

/* The arena's counters against what the walk counted. */
static int arena_check_counters(const k23_frames_arena_t *a,
                                unsigned frame_shift,
                                const struct arena_tally *t)
{
    uint64_t base = a->base_pfn;
    if (t->free != a->free_frames)
        return arena_bad("free frame counter wrong", base, frame_shift);
    if (t->holes != a->hole_frames)
        return arena_bad("hole counter wrong", base, frame_shift);
    if (t->reserved != a->meta_frames ||
        a->usable_frames != a->nframes - t->holes - t->reserved)
        return arena_bad("usable frame counter wrong", base, frame_shift);
    return K23_OK;
}

int k23_arena_check_(const k23_frames_arena_t *a, unsigned max_order,
                     unsigned frame_shift, uint64_t *cached)
{
    struct arena_tally t = {{0}, 0, 0, 0, 0};
    K23_ARENA_LOCKED(a);
    int rc = arena_check_states(a, max_order, frame_shift, &t);
    for (unsigned o = 0; rc == K23_OK && o < K23_FRAMES_ORDER_LIMIT; o++)
        rc = arena_check_list(a, o, frame_shift, &t);
    if (rc == K23_OK)
        rc = arena_check_counters(a, frame_shift, &t);
    if (rc == K23_OK)
        *cached += t.cached;
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

/* Bits set in a byte, without __builtin_popcount (which becomes a libgcc
 * call on targets without a popcount instruction). */
static unsigned arena_popcount8(unsigned x)
{
    x = x - ((x >> 1) & 0x55u);
    x = (x & 0x33u) + ((x >> 2) & 0x33u);
    return (x + (x >> 4)) & 0x0fu;
}

uint64_t k23_arena_free_below_(const k23_frames_arena_t *a,
                               uint64_t limit_pfn)
{
    K23_ARENA_LOCKED(a);
    if (limit_pfn <= a->base_pfn)
        return 0;
    if (limit_pfn - a->base_pfn >= a->nframes)
        return a->free_frames;
    uint64_t nbits = limit_pfn - a->base_pfn, busy = 0;
    for (uint64_t j = 0; j < nbits / 8; j++)
        busy += arena_popcount8(a->bitmap[j]);
    for (uint64_t j = nbits & ~UINT64_C(7); j < nbits; j++)
        busy += k23_bitmap_test(a->bitmap, (size_t)j);
    return nbits - busy;
}

bool k23_arena_is_hole_(const k23_frames_arena_t *a, uint64_t pfn,
                        uint64_t n)
{
    K23_ARENA_LOCKED(a);
    return arena_first_not(a, pfn - a->base_pfn, n, FRAME_HOLE) == n;
}

int k23_arena_add_hole_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                        unsigned max_order, unsigned frame_shift)
{
    uint64_t idx = pfn - a->base_pfn;
    K23_ARENA_LOCKED(a);
    if (!k23_arena_is_hole_(a, pfn, n))
        return K23_ERR_OVERLAP;
    /* Hole -> handed out (its busy bit is already set), then the normal
     * free path, which merges buddies. */
    arena_set_states(a, idx, n, FRAME_ALLOCATED);
    a->hole_frames -= n;
    a->usable_frames += n;
    k23_arena_free_(a, pfn, n, FRAME_ALLOCATED, max_order, frame_shift);
    return K23_OK;
}

void k23_arena_stats_add_(const k23_frames_arena_t *a,
                          k23_frames_stats_t *s)
{
    K23_ARENA_LOCKED(a);
    s->total_frames += a->usable_frames;
    s->free_frames += a->free_frames;
    s->hole_frames += a->hole_frames;
    s->metadata_bytes += a->meta_bytes;
    for (unsigned o = 0; o < K23_FRAMES_ORDER_LIMIT; o++)
        s->free_blocks[o] += a->free_blocks[o];
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
    out->free_frames = a->free_frames;
}

bool k23_arena_check_mark_(k23_frames_arena_t *a, uint64_t pfn)
{
    uint64_t idx = pfn - a->base_pfn;
    K23_ARENA_LOCKED(a);
    if (k23_arena_state_(a, idx) != FRAME_CACHED)
        return false;
    k23_arena_set_state_(a, idx, FRAME_CHECK_MARK);
    return true;
}

void k23_arena_check_unmark_(k23_frames_arena_t *a, uint64_t pfn)
{
    uint64_t idx = pfn - a->base_pfn;
    K23_ARENA_LOCKED(a);
    if (k23_arena_state_(a, idx) == FRAME_CHECK_MARK)
        k23_arena_set_state_(a, idx, FRAME_CACHED);
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
