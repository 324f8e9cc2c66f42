/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * An object's index from its offset in a slab, with the check that the
 * offset is the start of an object, in one 64x64->128-bit multiply: a
 * free's hit path needs both, and two multiplies (index, then index times
 * stride compared with the offset) cost more than one.
 *
 * The method is Lemire, Kaser and Kurz's ("Faster remainder by direct
 * computation", 2019), with the constant chosen so that one compare also
 * bounds the index. For a stride d take
 *     c = floor(2^64 / d) + 1,    e = c * d - 2^64   (so 1 <= e <= d),
 * and for an offset n = k * d + r (0 <= r < d):
 *     n * c = k * 2^64 + L,       L = k * e + r * c.
 * If L < 2^64, the high half of n * c is k = n / d and the low half is L.
 *   - L < 2^64: r * c <= (d - 1) * c = 2^64 + e - c, so
 *     L <= 2^64 + (k + 1) * e - c, and (k + 1) * e <= (k + 1) * d <= n + d
 *     while c > 2^64 / d; so (n + d) * d <= 2^64 suffices. It holds for
 *     n < 2^32 and d <= 2^31: (n + d) * d < (2^32 + 2^31) * 2^31 < 2^64.
 *   - r = 0 gives L = k * e; r >= 1 gives L >= c.
 * With lim = nobj * e (nobj objects in the slab) the one test L < lim
 * says both "r = 0" and "k < nobj": for r = 0, k * e < nobj * e exactly
 * when k < nobj (e >= 1: this is why c is floor + 1 and not ceil, which
 * gives e = 0 for a power of two d); for r >= 1, L >= c > lim, because
 * lim <= nobj * d <= 2^32 while c > 2^64 / d >= 2^33.
 *
 * Bounds the object caches keep (src/kmem.c, kmem_cache_layout): a slab
 * is a power of two of at most 2^31 bytes (larger is refused), so an
 * offset n and a stride d that fits a slab at least once are below 2^31,
 * and nobj * d is at most the slab's size. tests/test_kmem_div.c checks
 * the result against / and % for every offset of a slab for several
 * strides, and at the extremes of these bounds.
 */
#ifndef K23_KMEM_DIV_H
#define K23_KMEM_DIV_H

#include <stdbool.h>
#include <stdint.h>

/* What an object index needs of a cache's layout. */
typedef struct k23_kmem_div {
    uint64_t mul; /* floor(2^64 / stride) + 1 */
    uint64_t lim; /* objects per slab times (mul * stride - 2^64) */
} k23_kmem_div_t;

/* The constants for a stride d (8 <= d <= 2^31) and nobj objects
 * (nobj * d <= 2^32). */
static inline k23_kmem_div_t k23_kmem_div_make_(uint32_t d, uint32_t nobj)
{
    /* floor(2^64 / d) = floor((2^64 - 1) / d), plus 1 when d divides 2^64 */
    uint64_t q = UINT64_MAX / d + (UINT64_MAX % d == (uint64_t)d - 1);
    k23_kmem_div_t v;
    v.mul = q + 1;
    v.lim = (uint64_t)nobj * (v.mul * d); /* mul * d wraps to e */
    return v;
}

/* The high and low halves of n * mul for n < 2^32 from 32x32->64-bit
 * multiplies: what k23_kmem_div_index_ does where the compiler has no
 * 128-bit integer (32-bit targets). */
static inline uint64_t k23_kmem_div_mul32_(uint32_t n, uint64_t mul,
                                           uint64_t *lo)
{
    uint64_t a = (uint64_t)n * (uint32_t)mul;         /* n * mul_lo */
    uint64_t b = (uint64_t)n * (uint32_t)(mul >> 32); /* n * mul_hi */
    uint64_t mid = b + (a >> 32);                     /* < 2^64 */
    *lo = (mid << 32) | (uint32_t)a;
    return mid >> 32;
}

/* The index of the object at offset n (< 2^32) of a slab; *exact says
 * whether n is the start of one of its objects. */
static inline uint32_t k23_kmem_div_index_(const k23_kmem_div_t *v,
                                           uint32_t n, bool *exact)
{
    uint64_t lo, hi;
#ifdef __SIZEOF_INT128__
    unsigned __int128 p = (unsigned __int128)n * v->mul;
    lo = (uint64_t)p;
    hi = (uint64_t)(p >> 64);
#else
    hi = k23_kmem_div_mul32_(n, v->mul, &lo);
#endif
    *exact = lo < v->lim;
    return (uint32_t)hi;
}

#endif /* K23_KMEM_DIV_H */
