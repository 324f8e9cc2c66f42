/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The object caches' index arithmetic (src/kmem_div.h): one multiply
 * gives an offset's object index and says whether the offset starts an
 * object of the slab. Checked against / and % for every offset of a slab
 * for several strides, and at the bounds the caches keep (slabs of at
 * most 2^31 bytes), both with the compiler's 128-bit integers (where it
 * has them) and with the 32-bit form 32-bit targets use.
 */
#include <criterion/criterion.h>

#include "kmem_div.h"

TestSuite(kmem_div);

/* One offset: the index must be n / d, and "exact" must say n % d == 0
 * and n / d < nobj. */
static void check_one(const k23_kmem_div_t *v, uint32_t d, uint32_t nobj,
                      uint32_t n)
{
    bool want = n % d == 0 && n / d < nobj;
    bool exact;
    uint32_t idx = k23_kmem_div_index_(v, n, &exact);
    if (idx != n / d || exact != want)
        cr_assert_fail("stride %u, %u objects, offset %u: index %u exact %d, "
                       "want %u %d", d, nobj, n, idx, exact, n / d, want);
    uint64_t lo;
    uint64_t hi = k23_kmem_div_mul32_(n, v->mul, &lo);
    if (hi != n / d || (lo < v->lim) != want)
        cr_assert_fail("32-bit form, stride %u, %u objects, offset %u: "
                       "index %llu exact %d", d, nobj, n,
                       (unsigned long long)hi, lo < v->lim);
}

/* Every offset of a slab of slab_bytes, with as many objects as fit and
 * with fewer (the bound must cut at nobj, not at the slab's end). */
static void check_slab(uint32_t d, uint32_t slab_bytes)
{
    uint32_t fit = slab_bytes / d;
    uint32_t counts[3] = {fit, fit > 1 ? fit - 1 : fit,
                          fit > 2 ? fit / 2 : fit};
    for (int i = 0; i < 3; i++) {
        k23_kmem_div_t v = k23_kmem_div_make_(d, counts[i]);
        for (uint32_t n = 0; n < slab_bytes; n++)
            check_one(&v, d, counts[i], n);
    }
}

Test(kmem_div, every_offset_of_a_slab)
{
    static const uint32_t strides[] = {8,   16,  24,  48,  64,   72,  96,
                                       104, 128, 160, 256, 520, 1024, 4104};
    for (size_t i = 0; i < sizeof(strides) / sizeof(strides[0]); i++)
        check_slab(strides[i], UINT32_C(32) << 10);
    check_slab(64, UINT32_C(1) << 20);
    check_slab(136, UINT32_C(1) << 20);
    check_slab(UINT32_C(1) << 18, UINT32_C(1) << 20);
    check_slab((UINT32_C(1) << 18) + 8, UINT32_C(1) << 20);
}

/* Slabs of 2^31 bytes (the largest the caches make): the offsets next to
 * every multiple near the top, the last 2^16 offsets, and the largest
 * strides. */
Test(kmem_div, the_largest_slabs)
{
    const uint32_t slab = UINT32_C(1) << 31;
    static const uint32_t strides[] = {8,          24,        4096,
                                       65544,      1u << 30,  (1u << 30) + 8,
                                       (1u << 31) - 8};
    for (size_t i = 0; i < sizeof(strides) / sizeof(strides[0]); i++) {
        uint32_t d = strides[i], fit = slab / d;
        uint32_t counts[2] = {fit, fit - 1};
        for (int j = 0; j < 2; j++) {
            k23_kmem_div_t v = k23_kmem_div_make_(d, counts[j]);
            for (uint32_t n = slab - (1u << 16); n < slab; n++)
                check_one(&v, d, counts[j], n);
            for (uint32_t k = fit > 64 ? fit - 64 : 0; k <= fit; k++) {
                uint64_t m = (uint64_t)k * d;
                for (int64_t delta = -1; delta <= 1; delta++) {
                    int64_t n = (int64_t)m + delta;
                    if (n >= 0 && n < (int64_t)slab)
                        check_one(&v, d, counts[j], (uint32_t)n);
                }
            }
        }
    }
}

/* The constant is floor(2^64 / d) + 1 also for powers of two, where
 * ceil(2^64 / d) would leave nothing to bound the index with. */
Test(kmem_div, powers_of_two_keep_a_bound)
{
    for (unsigned s = 3; s <= 31; s++) {
        uint32_t d = UINT32_C(1) << s;
        k23_kmem_div_t v = k23_kmem_div_make_(d, 5);
        cr_assert_eq(v.mul, (UINT64_C(1) << (64 - s)) + 1);
        cr_assert_eq(v.lim, (uint64_t)5 * d);
        if ((uint64_t)d * 5 <= UINT32_MAX) { /* offsets are 32-bit */
            check_one(&v, d, 5, 4 * d);
            check_one(&v, d, 5, 5 * d);
        }
    }
}
