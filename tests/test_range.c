/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/range.h"

TestSuite(range);

static k23_range_t R(uint64_t base, uint64_t size)
{
    return (k23_range_t){base, size};
}

Test(range, align_up_and_down_detect_overflow_and_bad_alignment)
{
    uint64_t v = 7;
    cr_assert_eq(k23_align_up(0x1001, 0x1000, &v), K23_OK);
    cr_assert_eq(v, 0x2000);
    cr_assert_eq(k23_align_up(0, 0x1000, &v), K23_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(k23_align_up(UINT64_MAX - 0xfff, 0x1000, &v), K23_OK);
    cr_assert_eq(v, UINT64_MAX - 0xfff);
    v = 7;
    cr_assert_eq(k23_align_up(UINT64_MAX - 0xffe, 0x1000, &v), K23_ERR_OVERFLOW);
    cr_assert_eq(v, 7, "out untouched on error");
    cr_assert_eq(k23_align_up(UINT64_MAX, 2, &v), K23_ERR_OVERFLOW);
    cr_assert_eq(k23_align_up(5, 3, &v), K23_ERR_INVAL);
    cr_assert_eq(k23_align_up(5, 0, &v), K23_ERR_INVAL);
    cr_assert_eq(k23_align_up(5, 4, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_align_up(5, UINT64_C(1) << 63, &v), K23_OK);
    cr_assert_eq(v, UINT64_C(1) << 63);
    cr_assert_eq(k23_align_down(UINT64_MAX, 0x1000, &v), K23_OK);
    cr_assert_eq(v, UINT64_MAX - 0xfff);
    cr_assert_eq(k23_align_down(0xfff, 0x1000, &v), K23_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(k23_align_down(1, 6, &v), K23_ERR_INVAL);
    cr_assert(k23_is_aligned(0, 4096));
    cr_assert(!k23_is_aligned(4, 3));
    cr_assert(!k23_is_aligned(4, 0));
}

Test(range, ranges_may_end_at_the_top_but_not_wrap)
{
    cr_assert(k23_range_valid(R(UINT64_MAX, 1)));
    cr_assert(k23_range_valid(R(0, UINT64_MAX)));
    cr_assert(k23_range_valid(R(1, UINT64_MAX)));
    cr_assert(!k23_range_valid(R(2, UINT64_MAX)));
    cr_assert(!k23_range_valid(R(UINT64_MAX, 2)));
    cr_assert(k23_range_valid(R(UINT64_MAX, 0)));
    cr_assert_eq(k23_range_last(R(UINT64_MAX - 9, 10)), UINT64_MAX);

    uint64_t end = 3;
    cr_assert_eq(k23_range_end(R(UINT64_MAX - 9, 10), &end), K23_ERR_OVERFLOW);
    cr_assert_eq(end, 3);
    cr_assert_eq(k23_range_end(R(UINT64_MAX - 9, 9), &end), K23_OK);
    cr_assert_eq(end, UINT64_MAX);
    cr_assert_eq(k23_range_end(R(5, UINT64_MAX), &end), K23_ERR_INVAL);

    k23_range_t r;
    cr_assert_eq(k23_range_from_bounds(10, 4, &r), K23_ERR_INVAL);
    cr_assert_eq(k23_range_from_bounds(0, UINT64_MAX, &r), K23_OK);
    cr_assert_eq(r.size, UINT64_MAX);
}

Test(range, contains_and_overlaps_at_both_ends_of_the_space)
{
    k23_range_t top = R(UINT64_MAX - 0xfff, 0x1000);
    k23_range_t low = R(0, 0x1000);
    cr_assert(k23_range_contains(top, UINT64_MAX));
    cr_assert(k23_range_contains(top, UINT64_MAX - 0xfff));
    cr_assert(!k23_range_contains(top, UINT64_MAX - 0x1000));
    cr_assert(k23_range_contains(low, 0));
    cr_assert(!k23_range_contains(low, 0x1000));
    cr_assert(!k23_range_contains(R(5, 0), 5));
    cr_assert(k23_range_contains_range(top, R(UINT64_MAX, 1)));
    cr_assert(k23_range_contains_range(top, top));
    cr_assert(!k23_range_contains_range(low, R(0xfff, 2)));
    cr_assert(k23_range_contains_range(low, R(0x1000, 0)), "empty at the end");
    cr_assert(!k23_range_contains_range(low, R(0x1001, 0)));
    cr_assert(k23_range_overlaps(top, R(UINT64_MAX, 1)));
    cr_assert(!k23_range_overlaps(top, low));
    cr_assert(!k23_range_overlaps(low, R(0x1000, 5)));
    cr_assert(k23_range_overlaps(low, R(0xfff, 5)));
    cr_assert(!k23_range_overlaps(low, R(0x10, 0)), "empty overlaps nothing");
}

Test(range, align_inward_keeps_only_whole_aligned_blocks)
{
    k23_range_t r;
    cr_assert_eq(k23_range_align_inward(R(0x1001, 0x3000), 0x1000, &r), K23_OK);
    cr_assert_eq(r.base, 0x2000);
    cr_assert_eq(r.size, 0x2000); /* [0x2000, 0x4000) */
    cr_assert_eq(k23_range_align_inward(R(0, 0x1fff), 0x1000, &r), K23_OK);
    cr_assert_eq(r.base, 0);
    cr_assert_eq(r.size, 0x1000);
    cr_assert_eq(k23_range_align_inward(R(0x10, 0x20), 0x1000, &r), K23_OK);
    cr_assert_eq(r.size, 0);
    cr_assert_eq(k23_range_align_inward(R(UINT64_MAX - 0x1fff, 0x2000), 0x1000, &r), K23_OK);
    cr_assert_eq(r.base, UINT64_MAX - 0x1fff);
    cr_assert_eq(r.size, 0x2000, "a range ending at the top stays whole");
    cr_assert_eq(k23_range_align_inward(R(UINT64_MAX - 0x1ffe, 0x1fff), 0x1000, &r), K23_OK);
    cr_assert_eq(r.base, UINT64_MAX - 0xfff);
    cr_assert_eq(r.size, 0x1000);
    cr_assert_eq(k23_range_align_inward(R(UINT64_MAX - 5, 6), 0x1000, &r), K23_OK);
    cr_assert_eq(r.size, 0, "no aligned base at or above it");
    cr_assert_eq(k23_range_align_inward(R(0, 0x1000), 3, &r), K23_ERR_INVAL);
    cr_assert_eq(k23_range_align_inward(R(7, UINT64_MAX), 8, &r), K23_ERR_INVAL);
}

/* ---- model-based tests of the list operations ---- */

/* The model: a 256-address universe shifted by `off`, either 0 (ranges at
 * address 0) or 2^64 - 256 (ranges ending at the top). */
#define U 256
static uint64_t off;

static void mark(bool *set, k23_range_t r)
{
    for (uint64_t i = 0; i < r.size; i++)
        set[r.base - off + i] = true;
}

static k23_range_t random_range(void)
{
    uint64_t a = (uint64_t)rand() % U, len = (uint64_t)rand() % 40;
    if (a + len > U)
        len = U - a;
    return R(off + a, len);
}

static void check_list_equals_set(const k23_range_t *v, size_t n,
                                  const bool *set)
{
    bool got[U] = {0};
    for (size_t i = 0; i < n; i++) {
        cr_assert(v[i].size > 0);
        if (i > 0)
            cr_assert(v[i].base > k23_range_last(v[i - 1]), "sorted, disjoint");
        mark(got, v[i]);
    }
    cr_assert_arr_eq(got, set, sizeof(got));
}

static void merge_model_round(void)
{
    k23_range_t v[12];
    size_t n = (size_t)rand() % 12;
    bool want[U] = {0};
    for (size_t i = 0; i < n; i++) {
        v[i] = random_range();
        mark(want, v[i]);
    }
    cr_assert_eq(k23_ranges_merge(v, &n), K23_OK);
    check_list_equals_set(v, n, want);
    for (size_t i = 1; i < n; i++)
        cr_assert(v[i].base > k23_range_last(v[i - 1]) + 1, "touching merged");
}

Test(range, merge_matches_a_set_model_at_zero_and_at_the_top)
{
    srand(1234);
    for (int pass = 0; pass < 2; pass++) {
        off = pass == 0 ? 0 : UINT64_MAX - (U - 1);
        for (int round = 0; round < 3000; round++)
            merge_model_round();
    }
}

/* A union of all 2^64 addresses has no {base, size}: merge must say so
 * (it used to return {0, 0}, which k23_ranges_check_sorted rejects), and
 * every union short of it by one byte at either end must still merge. */
Test(range, merge_of_the_whole_space_is_an_overflow)
{
    const uint64_t M = UINT64_MAX;
    struct {
        k23_range_t v[3];
        size_t n;
        int rc;
        size_t merged;
    } cases[] = {
        {{R(0, M), R(M, 1)}, 2, K23_ERR_OVERFLOW, 0},
        {{R(M, 1), R(0, M)}, 2, K23_ERR_OVERFLOW, 0},
        {{R(0, 1), R(1, M)}, 2, K23_ERR_OVERFLOW, 0},
        {{R(0, 10), R(5, M - 4)}, 2, K23_ERR_OVERFLOW, 0},
        {{R(0, 2), R(M, 1), R(2, M - 2)}, 3, K23_ERR_OVERFLOW, 0},
        {{R(0, M), R(0, 0), R(M, 1)}, 3, K23_ERR_OVERFLOW, 0},
        {{R(0, M), R(5, 7)}, 2, K23_OK, 1},     /* all but the top byte */
        {{R(1, M), R(M, 1)}, 2, K23_OK, 1},     /* all but address 0 */
        {{R(0, M - 1), R(M, 1)}, 2, K23_OK, 2}, /* a hole at 2^64 - 2 */
        {{R(0, 1), R(2, M - 1)}, 2, K23_OK, 2}, /* a hole at 1 */
        {{R(M, 1), R(0, 1)}, 2, K23_OK, 2},
        {{R(0, M)}, 1, K23_OK, 1},
        {{R(1, M)}, 1, K23_OK, 1},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t n = cases[c].n;
        int rc = k23_ranges_merge(cases[c].v, &n);
        cr_assert_eq(rc, cases[c].rc, "case %zu: rc %d", c, rc);
        if (rc != K23_OK) {
            cr_assert_eq(n, cases[c].n, "case %zu: n untouched", c);
            continue;
        }
        cr_assert_eq(n, cases[c].merged, "case %zu: %zu ranges", c, n);
        cr_assert_eq(k23_ranges_check_sorted(cases[c].v, n), K23_OK,
                     "case %zu: merge output fails the checker", c);
    }
}

/* The same model over a universe split between both ends of the space:
 * addresses 0..127, the whole middle [128, 2^64 - 129] as one element, and
 * the top 128 addresses. Ranges lie in one end or span the middle, so
 * unions that touch both ends, and unions of everything, are common. */
#define SPLIT_HALF 128u
#define SPLIT_N (2 * SPLIT_HALF + 1)

static uint64_t split_addr(size_t pos)
{
    if (pos <= SPLIT_HALF)
        return pos; /* pos == SPLIT_HALF: the middle, by its first address */
    return UINT64_MAX - (SPLIT_N - 1 - pos);
}

static void split_mark(bool *set, k23_range_t r)
{
    for (size_t p = 0; p < SPLIT_N; p++)
        if (k23_range_contains(r, split_addr(p)))
            set[p] = true;
}

static k23_range_t split_random_range(void)
{
    /* Biased to start at 0 or end at the top half the time, so that the
     * union of everything is common. */
    uint64_t a = (uint64_t)rand() % SPLIT_HALF;
    uint64_t len = (uint64_t)rand() % (SPLIT_HALF + 1 - a);
    uint64_t hi_last = UINT64_MAX - (uint64_t)rand() % SPLIT_HALF;
    if (rand() % 2)
        hi_last = UINT64_MAX;
    switch (rand() % 3) {
    case 0: /* low end: [a, a + len) below 128 */
        return rand() % 2 ? R(0, len) : R(a, len);
    case 1: /* top end: [a, a + len) of the top 128 */
        if (rand() % 2)
            len = SPLIT_HALF - a;
        return R(UINT64_MAX - (SPLIT_HALF - 1) + a, len);
    default: /* from the low end across the middle into the top end; one
              * range alone cannot hold 2^64 bytes */
        if (a == 0 && hi_last == UINT64_MAX)
            a = 1;
        return R(a, hi_last - a + 1);
    }
}

Test(range, merge_matches_a_model_spanning_both_ends_of_the_space)
{
    srand(4321);
    unsigned overflows = 0, merged = 0;
    for (int round = 0; round < 4000; round++) {
        k23_range_t v[6];
        size_t n = (size_t)rand() % 6;
        bool want[SPLIT_N] = {0};
        for (size_t i = 0; i < n; i++) {
            v[i] = split_random_range();
            cr_assert(k23_range_valid(v[i]));
            split_mark(want, v[i]);
        }
        bool all = true;
        for (size_t p = 0; p < SPLIT_N; p++)
            all = all && want[p];
        size_t m = n;
        int rc = k23_ranges_merge(v, &m);
        if (all) {
            cr_assert_eq(rc, K23_ERR_OVERFLOW, "union of everything");
            cr_assert_eq(m, n);
            overflows++;
            continue;
        }
        cr_assert_eq(rc, K23_OK);
        cr_assert_eq(k23_ranges_check_sorted(v, m), K23_OK);
        bool got[SPLIT_N] = {0};
        for (size_t i = 0; i < m; i++)
            split_mark(got, v[i]);
        cr_assert_arr_eq(got, want, sizeof(got));
        merged++;
    }
    cr_assert(overflows > 20 && merged > 20, "overflows %u, merged %u",
              overflows, merged);
}

static void subtract_model_round(void)
{
    k23_range_t regions[8], holes[8], out[40];
    size_t nr = (size_t)rand() % 8, nh = (size_t)rand() % 8;
    bool want[U] = {0}, hole[U] = {0};
    for (size_t i = 0; i < nr; i++)
        regions[i] = random_range();
    cr_assert_eq(k23_ranges_merge(regions, &nr), K23_OK);
    for (size_t i = 0; i < nr; i++)
        mark(want, regions[i]);
    for (size_t i = 0; i < nh; i++) {
        holes[i] = random_range();
        mark(hole, holes[i]);
    }
    for (size_t i = 0; i < U; i++)
        want[i] = want[i] && !hole[i];

    size_t n = 99;
    cr_assert_eq(k23_ranges_subtract(regions, nr, holes, nh, out, 40, &n), K23_OK);
    check_list_equals_set(out, n, want);
    if (n > 0) {
        size_t need = 0;
        cr_assert_eq(k23_ranges_subtract(regions, nr, holes, nh, out, n - 1, &need),
                     K23_ERR_NOSPACE);
        cr_assert_eq(need, n, "NOSPACE tells how many are needed");
    }
}

Test(range, subtract_matches_a_set_model_at_zero_and_at_the_top)
{
    srand(99);
    for (int pass = 0; pass < 2; pass++) {
        off = pass == 0 ? 0 : UINT64_MAX - (U - 1);
        for (int round = 0; round < 3000; round++)
            subtract_model_round();
    }
}

Test(range, subtract_rejects_unsorted_or_overlapping_regions)
{
    k23_range_t out[4];
    size_t n;
    k23_range_t unsorted[] = {R(100, 10), R(0, 10)};
    k23_range_t overlapping[] = {R(0, 10), R(5, 10)};
    k23_range_t empty_in[] = {R(0, 0)};
    cr_assert_eq(k23_ranges_subtract(unsorted, 2, NULL, 0, out, 4, &n), K23_ERR_INVAL);
    cr_assert_eq(k23_ranges_subtract(overlapping, 2, NULL, 0, out, 4, &n), K23_ERR_OVERLAP);
    cr_assert_eq(k23_ranges_subtract(empty_in, 1, NULL, 0, out, 4, &n), K23_ERR_INVAL);
    cr_assert_eq(k23_ranges_subtract(overlapping, 1, NULL, 1, out, 4, &n), K23_ERR_INVAL);
    cr_assert_eq(k23_ranges_subtract(overlapping, 1, NULL, 0, out, 4, NULL), K23_ERR_INVAL);
    k23_range_t bad_hole[] = {R(9, UINT64_MAX)};
    cr_assert_eq(k23_ranges_subtract(overlapping, 1, bad_hole, 1, out, 4, &n), K23_ERR_INVAL);
    cr_assert_eq(k23_ranges_check_sorted(overlapping, 2), K23_ERR_OVERLAP);
    cr_assert_eq(k23_ranges_check_sorted(overlapping, 1), K23_OK);
}

Test(range, sort_orders_large_lists)
{
    enum { N = 1000 };
    static k23_range_t v[N];
    srand(7);
    for (size_t i = 0; i < N; i++)
        v[i] = R(((uint64_t)rand() << 32) ^ (uint64_t)rand(), 1);
    v[3] = R(UINT64_MAX, 1);
    v[4] = R(0, 1);
    cr_assert_eq(k23_ranges_sort(v, N), K23_OK);
    for (size_t i = 1; i < N; i++)
        cr_assert(v[i - 1].base <= v[i].base);
    cr_assert_eq(v[0].base, 0);
    cr_assert_eq(v[N - 1].base, UINT64_MAX);
    k23_range_t bad[] = {R(1, 1), R(2, UINT64_MAX)};
    cr_assert_eq(k23_ranges_sort(bad, 2), K23_ERR_INVAL);
    cr_assert_eq(k23_ranges_sort(NULL, 0), K23_OK);
}
