/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file range.h
 * Address arithmetic and address ranges, overflow-checked everywhere.
 *
 * A #k23_range_t is a base and a size. Ranges may start at 0 and may end
 * exactly at the top of the 64-bit space (base + size == 2^64): nothing here
 * computes base + size unchecked. Region lists are arrays of ranges; the
 * list functions sort, merge and subtract in place or into caller arrays,
 * never allocating.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): a function that returns an error code reports a NULL pointer or
 * an out-of-range value as #K23_ERR_INVAL (or the code listed) and leaves
 * its out-pointers untouched; one that returns nothing, a count, a flag or
 * an address panics through k23_port_panic() with a message naming the
 * function and the failed check.
 * An invalid range (one whose last byte would pass 2^64 - 1, see
 * k23_range_valid()) is such an argument. The inline helpers are the
 * exception: k23_is_aligned() and k23_range_valid() accept every value,
 * and k23_range_last() leaves its precondition (a valid, non-empty range)
 * unchecked.
 */
#ifndef K23MEM_RANGE_H
#define K23MEM_RANGE_H

#include "k23mem/error.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- alignment ---- */

/**
 * Round @p x up to a multiple of @p align.
 * @param[in]  x      address or size
 * @param[in]  align  a power of two
 * @param[out] out    the result; untouched on error
 * @retval K23_OK            done
 * @retval K23_ERR_INVAL     @p align is not a power of two, or @p out NULL
 * @retval K23_ERR_OVERFLOW  the result does not fit 64 bits
 * @context Any.
 */
K23_API int k23_align_up(uint64_t x, uint64_t align, uint64_t *out);

/**
 * Round @p x down to a multiple of @p align.
 * @param[in]  x      address or size
 * @param[in]  align  a power of two
 * @param[out] out    the result; untouched on error
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  @p align is not a power of two, or @p out NULL
 * @context Any.
 */
K23_API int k23_align_down(uint64_t x, uint64_t align, uint64_t *out);

/**
 * Whether @p x is a multiple of @p align (a power of two).
 * @param[in] x      value
 * @param[in] align  a power of two; other values give false
 * @return true when aligned
 * @context Any.
 */
static inline bool k23_is_aligned(uint64_t x, uint64_t align)
{
    return align != 0 && (align & (align - 1)) == 0 && (x & (align - 1)) == 0;
}

/* ---- single ranges ---- */

/**
 * Whether @p r satisfies the range invariant: empty, or its last byte is
 * representable (base + size - 1 <= UINT64_MAX).
 * @param[in] r  range
 * @return true when valid
 * @context Any.
 */
static inline bool k23_range_valid(k23_range_t r)
{
    return r.size == 0 || r.size - 1 <= UINT64_MAX - r.base;
}

/**
 * Last address inside a non-empty valid range (inclusive end). Not
 * checked (an inline helper): an empty range gives base - 1, wrapped.
 * @param[in] r  a valid range with size > 0
 * @return base + size - 1
 * @context Any.
 */
static inline uint64_t k23_range_last(k23_range_t r)
{
    return r.base + (r.size - 1);
}

/**
 * Build a range from a start and an exclusive end.
 * @param[in]  start  first address
 * @param[in]  end    one past the last address, >= @p start
 * @param[out] out    the range; untouched on error
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  @p end < @p start, or @p out NULL
 * @context Any.
 */
K23_API int k23_range_from_bounds(uint64_t start, uint64_t end, k23_range_t *out);

/**
 * Exclusive end of a range.
 * @param[in]  r    a valid range
 * @param[out] out  base + size; untouched on error
 * @retval K23_OK            done
 * @retval K23_ERR_OVERFLOW  the range ends at the top: the end is 2^64
 * @retval K23_ERR_INVAL     @p r invalid or @p out NULL
 * @context Any.
 */
K23_API int k23_range_end(k23_range_t r, uint64_t *out);

/**
 * Whether @p addr lies in @p r.
 * @param[in] r     a valid range; an invalid one panics
 * @param[in] addr  address
 * @return true when inside (never for an empty range)
 * @context Any.
 */
K23_API bool k23_range_contains(k23_range_t r, uint64_t addr);

/**
 * Whether every byte of @p inner lies in @p outer. An empty @p inner is
 * contained when its base lies in @p outer or at its exclusive end.
 * @param[in] outer  a valid range; an invalid one panics
 * @param[in] inner  a valid range; an invalid one panics
 * @return true when contained
 * @context Any.
 */
K23_API bool k23_range_contains_range(k23_range_t outer, k23_range_t inner);

/**
 * Whether two ranges share at least one byte (empty ranges share none).
 * @param[in] a  a valid range; an invalid one panics
 * @param[in] b  a valid range; an invalid one panics
 * @return true when they overlap
 * @context Any.
 */
K23_API bool k23_range_overlaps(k23_range_t a, k23_range_t b);

/**
 * Shrink @p r to the largest sub-range whose base and end are multiples of
 * @p align. The result may be empty (size 0), which is not an error.
 * @param[in]  r      a valid range
 * @param[in]  align  a power of two
 * @param[out] out    the aligned range; untouched on error
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  @p r invalid, @p align not a power of two, @p out NULL
 * @context Any.
 */
K23_API int k23_range_align_inward(k23_range_t r, uint64_t align, k23_range_t *out);

/* ---- region lists ---- */

/**
 * Sort ranges by base address, in place (heap sort: no recursion, no
 * allocation, O(n log n)).
 * @param[in,out] v  ranges
 * @param[in]     n  count
 * @retval K23_OK         sorted
 * @retval K23_ERR_INVAL  @p v NULL with n > 0, or a range is invalid
 * @context Any.
 */
K23_API int k23_ranges_sort(k23_range_t *v, size_t n);

/**
 * Sort, then merge overlapping and touching ranges and drop empty ones, in
 * place. On success the list passes k23_ranges_check_sorted().
 *
 * A union that covers all 2^64 addresses has no #k23_range_t (its size
 * does not fit 64 bits), so it is K23_ERR_OVERFLOW, not a wrapped size 0.
 * @param[in,out] v  ranges; on error the same ranges, possibly reordered
 * @param[in,out] n  count in, merged count out; untouched on error
 * @retval K23_OK            done
 * @retval K23_ERR_INVAL     NULL pointer, or a range is invalid
 * @retval K23_ERR_OVERFLOW  the union is the whole 64-bit address space
 * @context Any.
 */
K23_API int k23_ranges_merge(k23_range_t *v, size_t *n);

/**
 * Check that a region list is sorted by base, non-empty ranges only, with
 * no two overlapping.
 * @param[in] v  ranges
 * @param[in] n  count
 * @retval K23_OK           sorted and disjoint
 * @retval K23_ERR_INVAL    NULL, an invalid or empty range, or not sorted
 * @retval K23_ERR_OVERLAP  two ranges overlap
 * @context Any.
 */
K23_API int k23_ranges_check_sorted(const k23_range_t *v, size_t n);

/**
 * Subtract @p holes (any order, may overlap each other or nothing) from a
 * sorted, disjoint list of @p regions, writing what is left, sorted, into
 * @p out.
 * @param[in]  regions   sorted disjoint regions (see k23_ranges_check_sorted())
 * @param[in]  nregions  count
 * @param[in]  holes     ranges to take out; empty ones are ignored
 * @param[in]  nholes    count
 * @param[out] out       result array (may not alias @p regions or @p holes)
 * @param[in]  cap       capacity of @p out
 * @param[out] out_n     number of result ranges; on K23_ERR_NOSPACE the
 *                       number that would be needed
 * @retval K23_OK           done
 * @retval K23_ERR_NOSPACE  @p cap too small (*out_n tells how many needed)
 * @retval K23_ERR_INVAL    NULL pointer (with a non-zero count or
 *                          capacity), invalid range, regions not sorted,
 *                          or @p out sharing an element with @p regions
 *                          or @p holes
 * @retval K23_ERR_OVERLAP  regions overlap each other
 * @context Any.
 */
K23_API int k23_ranges_subtract(const k23_range_t *regions, size_t nregions,
                        const k23_range_t *holes, size_t nholes,
                        k23_range_t *out, size_t cap, size_t *out_n);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_RANGE_H */
