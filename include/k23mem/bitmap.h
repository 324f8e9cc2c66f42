/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file bitmap.h
 * Contiguous-run search on libbsd `bitstr_t` bitstrings.
 *
 * Layout is libbsd's: bit `i` lives in byte `i >> 3` under mask
 * `1 << (i & 7)`, so a `bitstr_t *` from `<bsd/sys/bitstring.h>` can be
 * passed as `const unsigned char *` (bitstr_t is unsigned char). Bit
 * counts are `size_t`, not `int` as in libbsd's macros.
 *
 * No function here allocates or locks; callers serialise access.
 *
 * The four searches are also macros of the same names that answer the
 * commonest case inline (a run of up to 8 bits at start itself; len 1:
 * the first free bit of the next 57 to 64) and call the function for the
 * rest, with the same results (docs/bitmap.md, "Inline first look").
 * (k23_bitmap_find_clear)(...) and &k23_bitmap_find_clear name the
 * function itself.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): every function but k23_bitmap_test() reports them as
 * #K23_ERR_INVAL (in the result's `rc` for the k23_bitmap_next_*() pair)
 * and writes no result. k23_bitmap_test() is an inline accessor for the
 * scan loops and checks nothing: it does not know nbits.
 */
#ifndef K23MEM_BITMAP_H
#define K23MEM_BITMAP_H

#include "k23mem/error.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- operations ---- */

/**
 * Find the first run of @p len clear bits at or after @p start whose first
 * index `i` satisfies `(i + align_offset) % (1 << align_log2) == 0`
 * (Linux's bitmap_find_next_zero_area_off convention).
 *
 * @param[in]  bs            bitstring of at least (nbits + 7) / 8 bytes
 * @param[in]  nbits         number of valid bits
 * @param[in]  start         first index considered, < nbits
 * @param[in]  len           run length in bits, 1..nbits
 * @param[in]  align_log2    alignment of the run start, < bits in size_t
 * @param[in]  align_offset  offset added to the index before the alignment test
 * @param[out] out_idx       first bit of the run; untouched on error
 * @retval K23_OK             found
 * @retval K23_ERR_NOT_FOUND  no such run in [start, nbits)
 * @retval K23_ERR_INVAL      NULL pointer, len == 0, len > nbits,
 *                            start >= nbits, or align_log2 too wide
 * @context Any. Takes no lock.
 */
K23_API int k23_bitmap_find_clear(const unsigned char *bs, size_t nbits, size_t start,
                          size_t len, unsigned align_log2, size_t align_offset,
                          size_t *out_idx);

/**
 * As k23_bitmap_find_clear(), for runs of set bits.
 * @param[in]  bs            bitstring
 * @param[in]  nbits         number of valid bits
 * @param[in]  start         first index considered
 * @param[in]  len           run length in bits
 * @param[in]  align_log2    alignment of the run start
 * @param[in]  align_offset  offset added before the alignment test
 * @param[out] out_idx       first bit of the run; untouched on error
 * @retval K23_OK             found
 * @retval K23_ERR_NOT_FOUND  no such run
 * @retval K23_ERR_INVAL      as for k23_bitmap_find_clear()
 * @context Any. Takes no lock.
 */
K23_API int k23_bitmap_find_set(const unsigned char *bs, size_t nbits, size_t start,
                        size_t len, unsigned align_log2, size_t align_offset,
                        size_t *out_idx);

/** Result of k23_bitmap_next_clear() and k23_bitmap_next_set(). */
struct k23_bitmap_hit {
    size_t index; /**< first bit of the run; meaningful only when rc == K23_OK */
    int rc;       /**< K23_OK, K23_ERR_NOT_FOUND or K23_ERR_INVAL */
};

/**
 * As k23_bitmap_find_clear(), with the result returned instead of written
 * through a pointer.
 *
 * Same search, same checks, same result codes; prefer it in a loop whose
 * next search starts from the previous result (a scan): on common ABIs
 * (x86-64, AArch64, RISC-V) the two fields come back in registers, while
 * an out-parameter makes every iteration wait for a store to be forwarded
 * to the next load (measured: about twice the time per search of a len-1
 * scan of a sparse bitstring; docs/bitmap.md).
 *
 * @param[in] bs            bitstring of at least (nbits + 7) / 8 bytes
 * @param[in] nbits         number of valid bits
 * @param[in] start         first index considered, < nbits
 * @param[in] len           run length in bits, 1..nbits
 * @param[in] align_log2    alignment of the run start, < bits in size_t
 * @param[in] align_offset  offset added to the index before the alignment test
 * @return `rc` as the result of k23_bitmap_find_clear() (K23_OK,
 *         K23_ERR_NOT_FOUND, or K23_ERR_INVAL for a NULL bitstring,
 *         len == 0, len > nbits, start >= nbits or align_log2 too wide);
 *         `index` the first bit of the run when `rc` is K23_OK
 * @context Any. Takes no lock.
 */
K23_API struct k23_bitmap_hit k23_bitmap_next_clear(const unsigned char *bs,
                                            size_t nbits, size_t start,
                                            size_t len, unsigned align_log2,
                                            size_t align_offset);

/**
 * As k23_bitmap_next_clear(), for runs of set bits.
 * @param[in] bs            bitstring
 * @param[in] nbits         number of valid bits
 * @param[in] start         first index considered
 * @param[in] len           run length in bits
 * @param[in] align_log2    alignment of the run start
 * @param[in] align_offset  offset added before the alignment test
 * @return as k23_bitmap_next_clear()
 * @context Any. Takes no lock.
 */
K23_API struct k23_bitmap_hit k23_bitmap_next_set(const unsigned char *bs,
                                          size_t nbits, size_t start,
                                          size_t len, unsigned align_log2,
                                          size_t align_offset);

/**
 * Set bits [start, start + len).
 * @param[in,out] bs     bitstring
 * @param[in]     nbits  number of valid bits
 * @param[in]     start  first bit
 * @param[in]     len    number of bits; 0 does nothing
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  NULL, or the range leaves [0, nbits) or overflows
 * @context Any. Takes no lock.
 */
K23_API int k23_bitmap_set_range(unsigned char *bs, size_t nbits, size_t start,
                         size_t len);

/**
 * Clear bits [start, start + len).
 * @param[in,out] bs     bitstring
 * @param[in]     nbits  number of valid bits
 * @param[in]     start  first bit
 * @param[in]     len    number of bits; 0 does nothing
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  NULL, or the range leaves [0, nbits) or overflows
 * @context Any. Takes no lock.
 */
K23_API int k23_bitmap_clear_range(unsigned char *bs, size_t nbits, size_t start,
                           size_t len);

/**
 * Value of bit @p i (no bounds check: the caller knows i < nbits; nor a
 * NULL check: this is the inline fast path).
 * @param[in] bs  bitstring, not NULL
 * @param[in] i   bit index
 * @return true when set
 * @context Any.
 */
static inline bool k23_bitmap_test(const unsigned char *bs, size_t i)
{
    return (bs[i >> 3] >> (i & 7)) & 1u;
}

/** Bytes needed for a bitstring of @p nbits bits (libbsd's bitstr_size). */
#define K23_BITMAP_BYTES(nbits) (((nbits) + 7) / 8)

/** @cond K23_PRIVATE */
/*
 * Inline first look (docs/bitmap.md). The four searches above are macros
 * that expand to the inline functions below. For a run of len <= 8
 * without alignment, with start + 64 <= nbits, they read the 57 to 64
 * bits from start as one 64-bit word (bytes start / 8 .. start / 8 + 7)
 * and answer in the caller, without a call, when the answer lies there:
 *  - the 8 bits from start are free: the answer is start;
 *  - len 1: the first free bit among those seen.
 * Anything else goes to the exported function of the same name, called as
 * (name)(...). The macros evaluate each argument once, as a call does;
 * (name)(...) or &name is the exported function itself.
 *
 * Only valid arguments can be answered here (bs != NULL, 1 <= len <= 8,
 * start + 64 <= nbits, so len <= nbits, start < nbits and every bit seen
 * lies below nbits, in bytes of the bitstring, and no alignment), and the
 * answer is the full search's. Every other call, invalid ones included,
 * reaches the full checks of the out-of-line search, so results and
 * errors are those of every build.
 *
 * Eight free bits first, not the start bit: in a scan of a sparse
 * bitstring that test is nearly always true, in a half-full one nearly
 * never (1 in 256), so the branch is predicted in both, and when it is
 * true the answer (start) does not wait for the load. A test of the start
 * bit alone would be a coin flip in a half-full bitstring.
 */

/* Bit i of the result is bit i & 7 of byte i >> 3, on any byte order; GCC
 * and clang compile it to one load (and a byte swap on big-endian). */
static inline uint64_t k23_bitmap_load64_(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
           (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* Index of the lowest set bit of x != 0. */
static inline unsigned k23_bitmap_ctz64_(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while ((x & 1u) == 0) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* true and *out_idx set when the answer is found here; flip is 0 for clear
 * runs, all-ones for set runs (the word is inverted) */
static inline bool k23_bitmap_first_look_(const unsigned char *bs,
                                          size_t nbits, size_t start,
                                          size_t len, unsigned align_log2,
                                          uint64_t flip, size_t *out_idx)
{
    if (bs == NULL || len - 1 >= 8 || align_log2 != 0 || nbits < 64 ||
        start > nbits - 64)
        return false;
    unsigned shift = (unsigned)(start & 7);
    uint64_t blocked = k23_bitmap_load64_(bs + (start >> 3)) ^ flip;
    if ((blocked & ((uint64_t)0xff << shift)) == 0) {
        *out_idx = start;
        return true;
    }
    uint64_t free_bits = ~blocked & (~(uint64_t)0 << shift);
    if (len == 1 && free_bits != 0) {
        *out_idx = (start & ~(size_t)7) + k23_bitmap_ctz64_(free_bits);
        return true;
    }
    return false;
}

static inline struct k23_bitmap_hit
k23_bitmap_next_clear_inline_(const unsigned char *bs, size_t nbits,
                              size_t start, size_t len, unsigned align_log2,
                              size_t align_offset)
{
    struct k23_bitmap_hit h = {0, K23_OK};
    if (k23_bitmap_first_look_(bs, nbits, start, len, align_log2, 0,
                               &h.index))
        return h;
    return (k23_bitmap_next_clear)(bs, nbits, start, len, align_log2,
                                   align_offset);
}

static inline struct k23_bitmap_hit
k23_bitmap_next_set_inline_(const unsigned char *bs, size_t nbits,
                            size_t start, size_t len, unsigned align_log2,
                            size_t align_offset)
{
    struct k23_bitmap_hit h = {0, K23_OK};
    if (k23_bitmap_first_look_(bs, nbits, start, len, align_log2,
                               ~(uint64_t)0, &h.index))
        return h;
    return (k23_bitmap_next_set)(bs, nbits, start, len, align_log2,
                                 align_offset);
}

static inline int k23_bitmap_find_clear_inline_(
    const unsigned char *bs, size_t nbits, size_t start, size_t len,
    unsigned align_log2, size_t align_offset, size_t *out_idx)
{
    if (out_idx != NULL && k23_bitmap_first_look_(bs, nbits, start, len,
                                                  align_log2, 0, out_idx))
        return K23_OK;
    return (k23_bitmap_find_clear)(bs, nbits, start, len, align_log2,
                                   align_offset, out_idx);
}

static inline int k23_bitmap_find_set_inline_(
    const unsigned char *bs, size_t nbits, size_t start, size_t len,
    unsigned align_log2, size_t align_offset, size_t *out_idx)
{
    if (out_idx != NULL && k23_bitmap_first_look_(bs, nbits, start, len,
                                                  align_log2, ~(uint64_t)0,
                                                  out_idx))
        return K23_OK;
    return (k23_bitmap_find_set)(bs, nbits, start, len, align_log2,
                                 align_offset, out_idx);
}

#define k23_bitmap_find_clear(bs, nbits, start, len, align_log2, align_offset, \
                              out_idx)                                         \
    k23_bitmap_find_clear_inline_(bs, nbits, start, len, align_log2,           \
                                  align_offset, out_idx)
#define k23_bitmap_find_set(bs, nbits, start, len, align_log2, align_offset,   \
                            out_idx)                                           \
    k23_bitmap_find_set_inline_(bs, nbits, start, len, align_log2,             \
                                align_offset, out_idx)
#define k23_bitmap_next_clear(bs, nbits, start, len, align_log2, align_offset) \
    k23_bitmap_next_clear_inline_(bs, nbits, start, len, align_log2,           \
                                  align_offset)
#define k23_bitmap_next_set(bs, nbits, start, len, align_log2, align_offset)   \
    k23_bitmap_next_set_inline_(bs, nbits, start, len, align_log2,             \
                                align_offset)
/** @endcond */

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_BITMAP_H */
