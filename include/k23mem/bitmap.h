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

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_BITMAP_H */
