/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Contiguous-run search on libbsd bitstrings (see k23mem/bitmap.h).
 *
 * Everything works on 64-bit "blocked" words: bit k of word w is 1 when
 * bit 64w + k may NOT be part of the run (it is set while searching for
 * clear bits, clear while searching for set bits, or it lies at or past
 * nbits). A search for set bits is thus a search for clear bits with the
 * words inverted, and the garbage past nbits in the last byte never shows.
 *
 * Byte order: libbsd keeps bit i in byte i >> 3 under mask 1 << (i & 7).
 * Reading bytes 8w..8w+7 as a little-endian 64-bit word therefore puts bit
 * 64w + k at bit k of the word; big-endian hosts byte-swap each load.
 *
 * Three strategies:
 *
 *  - Short runs (len <= 64) with alignment <= 64 use word-parallel
 *    shifts: with f the free bits of words w and w + 1 seen as one 128-bit
 *    value, m = f & f >> 1 & ... & f >> (len - 1) has bit k set exactly
 *    when a run of len starts at 64w + k. The AND chain is built by
 *    doubling (runs of 1, 2, 4, ... then the remainder), so len = 8 costs
 *    three shift-and steps. Candidates that are misaligned or before start
 *    are masked out and the lowest remaining bit is the answer.
 *    Example, len 3: f = ...0111_0110 gives f & f>>1 = ...0011_0010,
 *    & f>>2 (computed as (f & f>>1) & (f & f>>1)>>1) = ...0001_0000: a
 *    run of 3 starts at bit 4.
 *
 *  - Runs no longer than the alignment (len <= 2^a, a > 6) test whole
 *    windows at consecutive aligned slots: the windows do not overlap, so
 *    a blocked bit anywhere in one rules out that slot only, and the next
 *    candidate is the next slot whatever the data said.
 *
 *  - Everything else (long runs, wide alignment) follows Zircon's
 *    FindFreeContiguous idea: check the candidate window [c, c + len)
 *    from its END backwards; the last blocked bit b found means no run can
 *    start at or before b, so the next candidate is the first free bit after
 *    b, aligned up. A free window is scanned once; a window with a blocker
 *    near its end costs one word and moves len bits on, so long runs are
 *    found (or ruled out) by reading a fraction of the bitstring. Blocked
 *    stretches are skipped four words at a time.
 */
#include "k23mem/bitmap.h"

#include "internal.h"

#define BITMAP_SIZE_BITS (sizeof(size_t) * CHAR_BIT)
#define BITMAP_ONES UINT64_MAX
/* The search is instantiated once per polarity with flip a constant. */
#define BITMAP_INLINE static inline __attribute__((always_inline))

/* Word-parallel strategy limit: runs up to one word, alignment up to one
 * word (2^6 bits), so every candidate lies in word w and the run ends by
 * word w + 1. */
#define BITMAP_SHORT_MAX_LEN 64
#define BITMAP_SHORT_MAX_ALIGN_LOG2 6
/* A first candidate is checked with one 8-byte load from its byte: up to
 * 64 - 7 bits are visible past its bit offset in that byte. */
#define BITMAP_QUICK_MAX_LEN 56

/* Bits k of a word with k % 2^a == 0, for a = 0..6. */
static const uint64_t bitmap_period[BITMAP_SHORT_MAX_ALIGN_LOG2 + 1] = {
    UINT64_C(0xffffffffffffffff), UINT64_C(0x5555555555555555),
    UINT64_C(0x1111111111111111), UINT64_C(0x0101010101010101),
    UINT64_C(0x0001000100010001), UINT64_C(0x0000000100000001),
    UINT64_C(0x0000000000000001),
};

/* ---- word access ---- */

/* An unaligned 64-bit load that may alias the bytes: aligned(1) makes
 * GCC and clang emit a plain load where the target allows it (byte loads
 * elsewhere), never a memcpy call. Assembling the word from eight byte
 * loads instead looked equivalent but GCC re-associates the ORs when four
 * such words are ORed together and then reads 32 single bytes. */
typedef uint64_t __attribute__((may_alias, aligned(1))) bitmap_u64_unaligned;

BITMAP_INLINE uint64_t bitmap_load64(const unsigned char *p)
{
    uint64_t v = *(const bitmap_u64_unaligned *)(const void *)p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v); /* bit i of the word is bit i & 7 of byte i >> 3 */
#endif
    return v;
}

/* Trailing zeros of x != 0 as a size_t. GCC 12 sign-extends the int of
 * __builtin_ctzll (movslq) before an add, one more cycle in the chain of
 * a len-1 scan (search, add, next search); on x86-64 rep bsf (tzcnt where
 * the CPU has it) writes the 64-bit register directly. */
BITMAP_INLINE size_t bitmap_ctz(uint64_t x)
{
#if defined(__x86_64__) && defined(__GNUC__)
    uint64_t r;
    __asm__("rep bsfq %1, %0" : "=r"(r) : "rm"(x) : "cc");
    return (size_t)r;
#else
    return (size_t)__builtin_ctzll(x);
#endif
}

/* Blocked bits of the partial last word w (and all-ones past it): only the
 * bytes that exist are read, bits at or past nbits come out blocked. */
__attribute__((noinline)) static uint64_t
bitmap_tail_word(const unsigned char *bs, size_t nbits, size_t w,
                 uint64_t flip)
{
    size_t first = w * 64;
    if (w >= nbits / 64 + (nbits % 64 != 0))
        return BITMAP_ONES;
    size_t valid = nbits - first; /* 1..63 */
    size_t nbytes = (valid + 7) / 8;
    uint64_t v = 0;
    for (size_t i = 0; i < nbytes; i++)
        v |= (uint64_t)bs[first / 8 + i] << (8 * i);
    return (v ^ flip) | (BITMAP_ONES << valid);
}

/* Blocked bits of word w. flip is 0 (search clear bits) or all-ones
 * (search set bits), a constant in each inlined copy; nfull = nbits / 64
 * words are entirely valid and loadable as 8 bytes. */
BITMAP_INLINE uint64_t bitmap_word(const unsigned char *bs, size_t nbits,
                                   size_t nfull, size_t w, uint64_t flip)
{
    if (K23_LIKELY(w < nfull))
        return bitmap_load64(bs + w * 8) ^ flip;
    return bitmap_tail_word(bs, nbits, w, flip);
}

/* First word >= w that is not entirely blocked (w <= nfull on return
 * unless it was greater already); may return nfull for the caller to
 * load the partial word or stop. */
BITMAP_INLINE size_t bitmap_skip_blocked(const unsigned char *bs,
                                         size_t nfull, size_t w,
                                         uint64_t flip)
{
    /* Four words per test: for flip == 0 the AND of four all-ones words is
     * all-ones; for flip == ~0 the OR of four zero words is zero. */
    while (w + 4 <= nfull) {
        const unsigned char *p = bs + w * 8;
        uint64_t a = bitmap_load64(p), b = bitmap_load64(p + 8);
        uint64_t c = bitmap_load64(p + 16), d = bitmap_load64(p + 24);
        bool all_blocked = flip ? ((a | b | c | d) == 0)
                                : ((a & b & c & d) == BITMAP_ONES);
        if (!all_blocked)
            break;
        w += 4;
    }
    while (w < nfull && (bitmap_load64(bs + w * 8) ^ flip) == BITMAP_ONES)
        w++;
    return w;
}

/* ---- the strategies ---- */

/* The loops return the index found or BITMAP_NONE; each outlined loop
 * (BITMAP_OUTLINED below) turns that into the API's result itself, so the
 * dispatcher reaches it by a tail call. No run can start at SIZE_MAX: a
 * start is below nbits <= SIZE_MAX. */
#define BITMAP_NONE SIZE_MAX

/* First index >= x with index == residue (mod mask + 1); false on
 * overflow of size_t. */
BITMAP_INLINE bool bitmap_align_up(size_t x, size_t mask, size_t residue,
                                   size_t *out)
{
    return !k23_add_overflow_(x, (residue - x) & mask, out);
}

/* Runs of len free bits: bit k of the result is set when bits k..k+len-1
 * of the 128-bit value f1:f0 are all set (1 <= len <= 64). Doubling with
 * constant shifts: after the step with shift k, m holds runs of 2k; a last
 * step with shift r = len - 2^floor(log2 len) makes runs of len. The high
 * word m1 undercounts near its top, but only its bits below the shift
 * reach m, and those stay exact because every run counted ends by bit
 * len - 1 of m1, inside the 128 bits. len is the same for every word, so
 * the step tests are perfectly predicted. */
#define BITMAP_RUN_STEP(sh)                                                 \
    do {                                                                    \
        m &= (m >> (sh)) | (m1 << (64 - (sh)));                             \
        m1 &= m1 >> (sh);                                                   \
    } while (0)

BITMAP_INLINE uint64_t bitmap_runs(uint64_t f0, uint64_t f1, size_t len)
{
    uint64_t m = f0, m1 = f1;
    size_t k = 1;
    if (len >= 2) {
        BITMAP_RUN_STEP(1);
        k = 2;
        if (len >= 4) {
            BITMAP_RUN_STEP(2);
            k = 4;
            if (len >= 8) {
                BITMAP_RUN_STEP(4);
                k = 8;
                if (len >= 16) {
                    BITMAP_RUN_STEP(8);
                    k = 16;
                    if (len >= 32) {
                        BITMAP_RUN_STEP(16);
                        k = 32;
                        if (len >= 64) {
                            BITMAP_RUN_STEP(32);
                            k = 64;
                        }
                    }
                }
            }
        }
    }
    size_t r = len - k; /* 0 <= r < k <= 32 */
    if (r != 0)
        m &= (m >> r) | (m1 << (64 - r));
    return m;
}

/* len <= 64, align_log2 <= 6, word w has free bits f0 (bits before the
 * start already masked off) and nothing was found before it. Candidates
 * in every word sit at the bits of cand. */
BITMAP_INLINE size_t
bitmap_find_short(const unsigned char *bs, size_t nbits, size_t w,
                  uint64_t f0, size_t len, uint64_t cand, uint64_t flip)
{
    size_t nfull = nbits / 64;
    size_t nwords = nfull + (nbits % 64 != 0);
    for (;;) {
        uint64_t f1 = 0;
        if ((f0 & cand) != 0) {
            uint64_t m = f0;
            if (len > 1) {
                if (w + 1 < nwords)
                    f1 = ~bitmap_word(bs, nbits, nfull, w + 1, flip);
                m = bitmap_runs(f0, f1, len);
            }
            m &= cand;
            if (m != 0)
                return w * 64 + (size_t)__builtin_ctzll(m);
        }
        w++;
        if (f1 == 0) {
            /* word w not loaded yet: skip blocked words on the way */
            w = bitmap_skip_blocked(bs, nfull, w, flip);
            if (w >= nwords)
                return BITMAP_NONE;
            f1 = ~bitmap_word(bs, nbits, nfull, w, flip);
        }
        f0 = f1;
    }
}

/* Last blocked index in [lo, hi), lo < hi <= nbits; false if none. */
BITMAP_INLINE bool bitmap_last_blocked(const unsigned char *bs, size_t nbits,
                                       size_t nfull, size_t lo, size_t hi,
                                       uint64_t flip, size_t *out)
{
    size_t w = (hi - 1) / 64;
    size_t wlo = lo / 64;
    uint64_t x = bitmap_word(bs, nbits, nfull, w, flip) &
                 (BITMAP_ONES >> (63 - (hi - 1) % 64));
    for (;;) {
        if (w == wlo)
            x &= BITMAP_ONES << (lo % 64);
        if (x != 0) {
            *out = w * 64 + 63 - (size_t)__builtin_clzll(x);
            return true;
        }
        if (w == wlo)
            return false;
        w--;
        /* free stretches four words at a time (words w-3..w, all > wlo) */
        while (w >= wlo + 4 && w < nfull) {
            const unsigned char *p = bs + (w - 3) * 8;
            uint64_t a = bitmap_load64(p), b = bitmap_load64(p + 8);
            uint64_t c = bitmap_load64(p + 16), d = bitmap_load64(p + 24);
            bool all_free = flip ? ((a & b & c & d) == BITMAP_ONES)
                                 : ((a | b | c | d) == 0);
            if (!all_free)
                break;
            w -= 4;
        }
        x = bitmap_word(bs, nbits, nfull, w, flip);
    }
}

/* Any len and alignment, Zircon-style: check the window [c, c + len) from
 * its end; with b its last blocked bit, no run starts in [c, b], so the
 * next candidate is b + 1 aligned up. The bits between b and the old
 * window end are known free, so the next backward check stops in the part
 * of the new window not read yet: every word is read at most once, and a
 * window that ends on a blocked bit costs one word and moves len bits. */
BITMAP_INLINE size_t
bitmap_find_long(const unsigned char *bs, size_t nbits, size_t start,
                 size_t len, size_t mask, size_t residue, uint64_t flip)
{
    size_t nfull = nbits / 64;
    size_t last = nbits - len; /* highest start that fits */
    size_t pos = start;
    for (;;) {
        size_t c, b;
        if (!bitmap_align_up(pos, mask, residue, &c) || c > last)
            return BITMAP_NONE;
        /* When the window ends on a blocked bit the next one ends len bits
         * further: start fetching its last word now, so a chain of such
         * jumps is not one cache miss after another. */
        if (len <= last - c)
            __builtin_prefetch(bs + (c + 2 * len - 1) / 64 * 8);
        /* The common case in a full region, tested on its own: the last
         * bit of the window is blocked, so jump past it at once. */
        size_t e = c + len - 1;
        if ((bitmap_word(bs, nbits, nfull, e / 64, flip) >> (e % 64)) & 1) {
            pos = e + 1;
            continue;
        }
        if (!bitmap_last_blocked(bs, nbits, nfull, c, c + len, flip, &b))
            return c;
        pos = b + 1; /* b < c + len <= nbits: no overflow */
    }
}

/* Window [c, c + len) has no blocked bit. Its last word is tested first
 * and alone: in a crowded bitmap it nearly always decides, so that branch
 * is well predicted; the words below it are ORed together (a count fixed
 * by len, so the loop is predicted too) and tested once. */
BITMAP_INLINE bool bitmap_window_free(const unsigned char *bs, size_t nbits,
                                      size_t nfull, size_t c, size_t len,
                                      uint64_t flip)
{
    size_t e = c + len - 1;
    size_t w0 = c / 64, w1 = e / 64;
    uint64_t lo_mask = BITMAP_ONES << (c % 64);
    uint64_t x = bitmap_word(bs, nbits, nfull, w1, flip) &
                 (BITMAP_ONES >> (63 - e % 64));
    if (w0 == w1)
        return (x & lo_mask) == 0;
    if (x != 0)
        return false;
    /* words below w1 lie below nbits / 64: all loadable */
    uint64_t any = (bitmap_load64(bs + w0 * 8) ^ flip) & lo_mask;
    for (size_t w = w0 + 1; w < w1; w++)
        any |= bitmap_load64(bs + w * 8) ^ flip;
    return any == 0;
}

/* len <= 2^a (step = 2^a): windows of consecutive candidates do not
 * overlap, and a blocked bit anywhere in [c, c + len) rules out c and
 * nothing after it, so the next candidate is c + step whatever the
 * bit. Each candidate is thus a fixed set of words tested with one OR,
 * and the next one never waits for the data (the general loop derives it
 * from the last blocked bit: a chain of dependent steps per window). */
BITMAP_INLINE size_t
bitmap_find_slots(const unsigned char *bs, size_t nbits, size_t c,
                  size_t len, size_t step, uint64_t flip)
{
    size_t nfull = nbits / 64;
    size_t last = nbits - len; /* highest start that fits */
    if (c > last)
        return BITMAP_NONE;
    for (;;) {
        if (bitmap_window_free(bs, nbits, nfull, c, len, flip))
            return c;
        if (last - c < step)
            return BITMAP_NONE;
        c += step;
    }
}

/* The slot loop when every window is whole words (c and len multiples of
 * 64, as for 512 frames aligned to 512): no masks, no partial word (the
 * windows end by nbits, so every word is below nbits / 64), nwords words
 * from byte c / 8. As in bitmap_window_free(), the last word is tested
 * first and alone (in a crowded bitmap it decides), then the others are
 * ORed and tested once. (A test per word from the last one down, with an
 * exit at the first blocked word, took 9.1 to 10.3 ns per search against
 * 7.6 to 8.8 ns for this on the 1%-occupied len-512/a512 cases of the
 * peer harness, `taskset -c 1 ./bench_bitmap p01runs/n512`, 2026-12-06.) */
BITMAP_INLINE size_t
bitmap_find_slots_words(const unsigned char *bs, size_t nbits, size_t c,
                        size_t nwords, size_t step, uint64_t flip)
{
    size_t last = nbits - nwords * 64; /* highest start that fits */
    if (c > last)
        return BITMAP_NONE;
    for (;;) {
        const unsigned char *p = bs + c / 8;
        if ((bitmap_load64(p + (nwords - 1) * 8) ^ flip) == 0) {
            uint64_t any = 0;
            for (size_t k = 0; k + 1 < nwords; k++)
                any |= bitmap_load64(p + k * 8) ^ flip;
            if (any == 0)
                return c;
        }
        if (last - c < step)
            return BITMAP_NONE;
        c += step;
    }
}

/* Short runs: the word of start with the bits before start masked off,
 * then the word-parallel loop. */
BITMAP_INLINE size_t
bitmap_short(const unsigned char *bs, size_t nbits, size_t start, size_t len,
             unsigned align_log2, size_t residue, uint64_t flip)
{
    size_t w = start / 64;
    uint64_t f0 = ~bitmap_word(bs, nbits, nbits / 64, w, flip) &
                  (BITMAP_ONES << (start % 64));
    uint64_t cand = bitmap_period[align_log2] << residue;
    return bitmap_find_short(bs, nbits, w, f0, len, cand, flip);
}

/* The arguments the loops trust (checked here only, in every build): bs
 * not NULL, 1 <= len <= nbits, start < nbits, the alignment narrower than
 * size_t. */
BITMAP_INLINE bool bitmap_args_ok(const unsigned char *bs, size_t nbits,
                                  size_t start, size_t len,
                                  unsigned align_log2)
{
    /* len - 1 wraps for len == 0 */
    return bs != NULL && len - 1 < nbits && start < nbits &&
           align_log2 < BITMAP_SIZE_BITS;
}

/* A loop's result as the API returns it. */
BITMAP_INLINE struct k23_bitmap_hit bitmap_result(size_t idx)
{
    struct k23_bitmap_hit h = {idx, K23_OK};
    if (idx == BITMAP_NONE) {
        h.index = 0;
        h.rc = K23_ERR_NOT_FOUND;
    }
    return h;
}

/* Each loop is a function of its own per polarity, reached by a tail call
 * from a dispatcher below (a jump: a search is one call below the entry
 * point). The dispatcher then keeps few values live (two registers saved,
 * where a function holding every loop saved six), and each loop is
 * compiled alone: inlined into one function with the others, GCC 12
 * compiled the word-parallel loop to code that ran the same instruction
 * count 1.1 to 1.7 times slower (len 8 on the 90%-full bitmaps of
 * k23mem-bench runs, three interleaved runs). The window jumps are also
 * inlined into a dispatcher of their own (below); this copy serves runs
 * longer than a wide alignment. */
#define BITMAP_OUTLINED(name, flip)                                          \
    __attribute__((noinline)) static struct k23_bitmap_hit                  \
        bitmap_short_##name(const unsigned char *bs, size_t nbits,          \
                            size_t start, size_t len, unsigned align_log2,  \
                            size_t residue)                                 \
    {                                                                       \
        return bitmap_result(bitmap_short(bs, nbits, start, len,            \
                                          align_log2, residue, (flip)));    \
    }                                                                       \
    __attribute__((noinline)) static struct k23_bitmap_hit                  \
        bitmap_slots_##name(const unsigned char *bs, size_t nbits,          \
                            size_t c, size_t len, size_t step)              \
    {                                                                       \
        return bitmap_result(                                               \
            bitmap_find_slots(bs, nbits, c, len, step, (flip)));            \
    }                                                                       \
    __attribute__((noinline)) static struct k23_bitmap_hit                  \
        bitmap_slots_words_##name(const unsigned char *bs, size_t nbits,    \
                                  size_t c, size_t nwords, size_t step)     \
    {                                                                       \
        return bitmap_result(                                               \
            bitmap_find_slots_words(bs, nbits, c, nwords, step, (flip)));   \
    }                                                                       \
    __attribute__((noinline)) static struct k23_bitmap_hit                  \
        bitmap_long_##name(const unsigned char *bs, size_t nbits,           \
                           size_t start, size_t len, size_t mask,           \
                           size_t residue)                                  \
    {                                                                       \
        return bitmap_result(bitmap_find_long(bs, nbits, start, len, mask,  \
                                              residue, (flip)));            \
    }
BITMAP_OUTLINED(clear, 0)
BITMAP_OUTLINED(set, BITMAP_ONES)

/* Everything but the quickest case, in two steps: bitmap_plan() checks
 * the arguments (here only: the loops trust them) and picks a loop, and
 * the dispatcher of each polarity calls it. The loops: the slot loop when
 * len <= 2^a with a wider than a word (its first window is the first
 * candidate; whole words when it can), else a quick look at the first
 * candidate c (when len <= 56 and c + 64 <= nbits, one unaligned 8-byte
 * load from byte c / 8 shows bits c .. c + 56 at least), then the
 * word-parallel loop for short runs or the window jumps for the rest. */
enum bitmap_loop {
    BITMAP_INVALID,   /* K23_ERR_INVAL */
    BITMAP_NONE_LEFT, /* no aligned candidate left: K23_ERR_NOT_FOUND */
    BITMAP_FIRST,     /* the first candidate, c */
    BITMAP_SLOTS_WORDS,
    BITMAP_SLOTS,
    BITMAP_SHORT,
    BITMAP_LONG,
};

struct bitmap_plan {
    size_t mask;    /* 2^a - 1 */
    size_t residue; /* candidates are == residue (mod 2^a) */
    size_t c;       /* first candidate (slots, first) */
};

BITMAP_INLINE enum bitmap_loop
bitmap_plan(const unsigned char *bs, size_t nbits, size_t start, size_t len,
            unsigned align_log2, size_t align_offset, uint64_t flip,
            struct bitmap_plan *p)
{
    if (!bitmap_args_ok(bs, nbits, start, len, align_log2))
        return BITMAP_INVALID;
    p->mask = ((size_t)1 << align_log2) - 1;
    /* index + offset == 0 (mod 2^a)  <=>  index == -offset (mod 2^a) */
    p->residue = (0 - align_offset) & p->mask;
    bool c_ok = bitmap_align_up(start, p->mask, p->residue, &p->c);
    /* Slots: len <= 2^a. With a <= 6 and len <= 64 the word-parallel
     * loop does better (several candidates per word). */
    if (len - 1 <= p->mask && align_log2 > BITMAP_SHORT_MAX_ALIGN_LOG2) {
        if (!c_ok)
            return BITMAP_NONE_LEFT;
        return len % 64 == 0 && p->residue % 64 == 0 ? BITMAP_SLOTS_WORDS
                                                     : BITMAP_SLOTS;
    }
    if (len <= BITMAP_QUICK_MAX_LEN && nbits >= 64 && align_log2 != 0 &&
        c_ok && p->c <= nbits - 64) {
        uint64_t v = (bitmap_load64(bs + p->c / 8) ^ flip) >> (p->c % 8);
        if ((v << (64 - len)) == 0)
            return BITMAP_FIRST;
    }
    if (len <= BITMAP_SHORT_MAX_LEN &&
        align_log2 <= BITMAP_SHORT_MAX_ALIGN_LOG2)
        return BITMAP_SHORT;
    return BITMAP_LONG;
}

/* The dispatchers are written out per polarity, not an inline function
 * called with flip: GCC 12 turns "return loop(...)" into a jump only in
 * the function that holds it; through an inline function it calls the
 * loop and rebuilds the returned struct (padding included) after it.
 * Two per polarity: one for runs longer than a word with an alignment up
 * to a word, which can only be the window jumps, inlined there (outlined,
 * they ran about 7% more instructions per search: callgrind, the
 * 1%-occupied len-4096 searches of k23mem-bench runs), at the price of
 * the six registers they save on entry; one for everything else, where
 * every loop is a tail call and two registers are saved (the window jumps
 * for runs longer than a wide alignment go to their outlined copy). */
#define BITMAP_DISPATCH(name, flip, suffix, long_case)                       \
    __attribute__((noinline)) static struct k23_bitmap_hit                  \
        bitmap_find_##name##suffix(const unsigned char *bs, size_t nbits,   \
                                   size_t start, size_t len,                \
                                   unsigned align_log2,                     \
                                   size_t align_offset)                     \
    {                                                                       \
        struct bitmap_plan p;                                               \
        switch (bitmap_plan(bs, nbits, start, len, align_log2,              \
                            align_offset, (flip), &p)) {                    \
        case BITMAP_INVALID:                                                \
            return (struct k23_bitmap_hit){0, K23_ERR_INVAL};               \
        case BITMAP_NONE_LEFT:                                              \
            return (struct k23_bitmap_hit){0, K23_ERR_NOT_FOUND};           \
        case BITMAP_FIRST:                                                  \
            return (struct k23_bitmap_hit){p.c, K23_OK};                    \
        case BITMAP_SLOTS_WORDS:                                            \
            return bitmap_slots_words_##name(bs, nbits, p.c, len / 64,      \
                                             p.mask + 1);                   \
        case BITMAP_SLOTS:                                                  \
            return bitmap_slots_##name(bs, nbits, p.c, len, p.mask + 1);    \
        case BITMAP_SHORT:                                                  \
            return bitmap_short_##name(bs, nbits, start, len, align_log2,   \
                                       p.residue);                          \
        case BITMAP_LONG:                                                   \
            break;                                                          \
        }                                                                   \
        return long_case;                                                   \
    }
#define BITMAP_LONG_INLINE(flip)                                             \
    bitmap_result(bitmap_find_long(bs, nbits, start, len, p.mask,           \
                                   p.residue, (flip)))
#define BITMAP_LONG_OUTLINED(name)                                           \
    bitmap_long_##name(bs, nbits, start, len, p.mask, p.residue)
BITMAP_DISPATCH(clear, 0, _, BITMAP_LONG_OUTLINED(clear))
BITMAP_DISPATCH(set, BITMAP_ONES, _, BITMAP_LONG_OUTLINED(set))
BITMAP_DISPATCH(clear, 0, _long_, BITMAP_LONG_INLINE(0))
BITMAP_DISPATCH(set, BITMAP_ONES, _long_, BITMAP_LONG_INLINE(BITMAP_ONES))

/* Which dispatcher: runs longer than a word with an alignment up to a
 * word (the window jumps, nothing else) go to the one with the window
 * jumps inlined; everything else (short runs, wide alignments, invalid
 * arguments, which both refuse) to the one that saves few registers. */
BITMAP_INLINE bool bitmap_narrow_long(size_t len, unsigned align_log2)
{
    return len > BITMAP_SHORT_MAX_LEN &&
           align_log2 <= BITMAP_SHORT_MAX_ALIGN_LOG2;
}

/* The quickest case, kept to a few instructions because most searches in
 * a sparse or short-run bitmap end here: no alignment, len <= 56, and a
 * run within the 57..64 bits seen through one 8-byte load at byte
 * start / 8 (start + 64 <= nbits keeps the load inside the bitstring and
 * implies start < nbits and len <= nbits). The shift brings in zeros from
 * the top, which count as not free, so a run found here lies entirely
 * inside the loaded bits, and the lowest one is the first at or after
 * start. Anything else goes to bitmap_find(), which checks the arguments
 * in full. */
BITMAP_INLINE bool bitmap_quick(const unsigned char *bs, size_t nbits,
                                size_t start, size_t len, unsigned align_log2,
                                size_t *out_idx, uint64_t flip)
{
    /* len 1: the first free bit of the 57..64 seen from start. */
    if (len == 1 && align_log2 == 0 && bs != NULL && nbits >= 64 &&
        start <= nbits - 64) {
        uint64_t x = bitmap_load64(bs + start / 8) ^ flip; /* blocked */
        /* Eight free bits from start answer "start" through a branch,
         * so a scan's next search need not wait for the load: taken
         * nearly always in a sparse bitmap, nearly never in a half-full
         * one (1 in 256), predictable in both. A branch on the start bit
         * alone was a coin flip there, mispredicted every other search. */
        if ((x & (UINT64_C(0xff) << (start % 8))) == 0) {
            *out_idx = start;
            return true;
        }
        /* otherwise no branch on the data: the mask and the base come
         * from start while the load is under way */
        uint64_t f = ~x & (BITMAP_ONES << (start % 8));
        if (f != 0) {
            *out_idx = (start & ~(size_t)7) + bitmap_ctz(f);
            return true;
        }
        return false;
    }
    if (bs != NULL && align_log2 == 0 &&
        len - 1 < BITMAP_QUICK_MAX_LEN && nbits >= 64 &&
        start <= nbits - 64) {
        uint64_t f = ~(bitmap_load64(bs + start / 8) ^ flip) >> (start % 8);
        uint64_t m = bitmap_runs(f, 0, len);
        /* A run right at start is the usual answer in a sparse bitmap;
         * storing start itself (not start + ctz) keeps a caller's scan
         * loop from waiting on the load. */
        if (m & 1) {
            *out_idx = start;
            return true;
        }
        if (m != 0) {
            *out_idx = start + (size_t)__builtin_ctzll(m);
            return true;
        }
    }
    return false;
}

/* The quick path returns its index in a register: building the result
 * through memory (as an out-parameter or a struct both paths write) puts a
 * store-to-load forward on the critical path of a caller's scan loop
 * (pos = hit.index + len), which doubled the time of a len-1 scan. */
struct k23_bitmap_hit (k23_bitmap_next_clear)(const unsigned char *bs,
                                            size_t nbits, size_t start,
                                            size_t len, unsigned align_log2,
                                            size_t align_offset)
{
    size_t idx;
    if (bitmap_quick(bs, nbits, start, len, align_log2, &idx, 0))
        return (struct k23_bitmap_hit){idx, K23_OK};
    if (bitmap_narrow_long(len, align_log2))
        return bitmap_find_clear_long_(bs, nbits, start, len, align_log2,
                                       align_offset);
    return bitmap_find_clear_(bs, nbits, start, len, align_log2,
                              align_offset);
}

struct k23_bitmap_hit (k23_bitmap_next_set)(const unsigned char *bs,
                                          size_t nbits, size_t start,
                                          size_t len, unsigned align_log2,
                                          size_t align_offset)
{
    size_t idx;
    if (bitmap_quick(bs, nbits, start, len, align_log2, &idx, BITMAP_ONES))
        return (struct k23_bitmap_hit){idx, K23_OK};
    if (bitmap_narrow_long(len, align_log2))
        return bitmap_find_set_long_(bs, nbits, start, len, align_log2,
                                     align_offset);
    return bitmap_find_set_(bs, nbits, start, len, align_log2, align_offset);
}

int (k23_bitmap_find_clear)(const unsigned char *bs, size_t nbits, size_t start,
                          size_t len, unsigned align_log2, size_t align_offset,
                          size_t *out_idx)
{
    if (out_idx == NULL)
        return K23_ERR_INVAL;
    struct k23_bitmap_hit h = (k23_bitmap_next_clear)(bs, nbits, start, len,
                                                    align_log2, align_offset);
    if (h.rc == K23_OK)
        *out_idx = h.index;
    return h.rc;
}

int (k23_bitmap_find_set)(const unsigned char *bs, size_t nbits, size_t start,
                        size_t len, unsigned align_log2, size_t align_offset,
                        size_t *out_idx)
{
    if (out_idx == NULL)
        return K23_ERR_INVAL;
    struct k23_bitmap_hit h = (k23_bitmap_next_set)(bs, nbits, start, len,
                                                  align_log2, align_offset);
    if (h.rc == K23_OK)
        *out_idx = h.index;
    return h.rc;
}

/* ---- set and clear ---- */

/* Whole-byte fill. The volatile stores keep GCC from turning the loop into
 * a memset call (the core names no libc function); 8 bytes per store
 * still covers 64 frames per store. */
typedef uint64_t __attribute__((may_alias)) bitmap_u64_alias;

static void bitmap_fill_bytes(unsigned char *p, size_t n, unsigned char v)
{
    uint64_t v64 = UINT64_C(0x0101010101010101) * v;
    while (n != 0 && ((uintptr_t)p & 7) != 0) {
        *(volatile unsigned char *)p++ = v;
        n--;
    }
    for (; n >= 8; n -= 8, p += 8)
        *(volatile bitmap_u64_alias *)(void *)p = v64;
    while (n-- != 0)
        *(volatile unsigned char *)p++ = v;
}

static int bitmap_fill(unsigned char *bs, size_t nbits, size_t start,
                       size_t len, bool set)
{
    size_t end;
    if (bs == NULL || k23_add_overflow_(start, len, &end) || end > nbits)
        return K23_ERR_INVAL;
    if (len == 0)
        return K23_OK;
    size_t first = start / 8, last = (end - 1) / 8;
    /* head and tail masks inside their bytes: bits start%8.. and ..(end-1)%8 */
    unsigned char head = (unsigned char)(0xffu << (start % 8));
    unsigned char tail = (unsigned char)(0xffu >> (7 - (end - 1) % 8));
    if (first == last) {
        unsigned char m = head & tail;
        bs[first] = set ? (unsigned char)(bs[first] | m)
                        : (unsigned char)(bs[first] & ~m);
        return K23_OK;
    }
    bs[first] = set ? (unsigned char)(bs[first] | head)
                    : (unsigned char)(bs[first] & ~head);
    bitmap_fill_bytes(bs + first + 1, last - first - 1, set ? 0xff : 0);
    bs[last] = set ? (unsigned char)(bs[last] | tail)
                   : (unsigned char)(bs[last] & ~tail);
    return K23_OK;
}

int k23_bitmap_set_range(unsigned char *bs, size_t nbits, size_t start,
                         size_t len)
{
    return bitmap_fill(bs, nbits, start, len, true);
}

int k23_bitmap_clear_range(unsigned char *bs, size_t nbits, size_t start,
                           size_t len)
{
    return bitmap_fill(bs, nbits, start, len, false);
}
