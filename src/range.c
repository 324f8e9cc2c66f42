/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Address arithmetic and region lists. Internally a non-empty range is
 * handled by its inclusive last byte, which always fits in 64 bits, so a
 * range ending at the very top of the address space needs no special case.
 */
#include "k23mem/range.h"

#include "internal.h"

int k23_align_up(uint64_t x, uint64_t align, uint64_t *out)
{
    if (!k23_is_pow2_(align) || out == NULL)
        return K23_ERR_INVAL;
    uint64_t bumped;
    if (k23_add_overflow_(x, align - 1, &bumped))
        return K23_ERR_OVERFLOW;
    *out = bumped & ~(align - 1);
    return K23_OK;
}

int k23_align_down(uint64_t x, uint64_t align, uint64_t *out)
{
    if (!k23_is_pow2_(align) || out == NULL)
        return K23_ERR_INVAL;
    *out = x & ~(align - 1);
    return K23_OK;
}

int k23_range_from_bounds(uint64_t start, uint64_t end, k23_range_t *out)
{
    if (end < start || out == NULL)
        return K23_ERR_INVAL;
    out->base = start;
    out->size = end - start;
    return K23_OK;
}

int k23_range_end(k23_range_t r, uint64_t *out)
{
    if (!k23_range_valid(r) || out == NULL)
        return K23_ERR_INVAL;
    uint64_t end;
    if (k23_add_overflow_(r.base, r.size, &end))
        return K23_ERR_OVERFLOW;
    *out = end;
    return K23_OK;
}

bool k23_range_contains(k23_range_t r, uint64_t addr)
{
    K23_REQUIRE(k23_range_valid(r), "k23_range_contains");
    return r.size != 0 && addr >= r.base && addr - r.base < r.size;
}

bool k23_range_contains_range(k23_range_t outer, k23_range_t inner)
{
    K23_REQUIRE(k23_range_valid(outer), "k23_range_contains_range");
    K23_REQUIRE(k23_range_valid(inner), "k23_range_contains_range");
    if (inner.size == 0) {
        /* An empty range sits at a point: inside, or at the exclusive end. */
        return k23_range_contains(outer, inner.base) ||
               (inner.base >= outer.base && inner.base - outer.base == outer.size);
    }
    if (outer.size == 0 || inner.base < outer.base)
        return false;
    return k23_range_last(inner) <= k23_range_last(outer);
}

bool k23_range_overlaps(k23_range_t a, k23_range_t b)
{
    K23_REQUIRE(k23_range_valid(a), "k23_range_overlaps");
    K23_REQUIRE(k23_range_valid(b), "k23_range_overlaps");
    if (a.size == 0 || b.size == 0)
        return false;
    return a.base <= k23_range_last(b) && b.base <= k23_range_last(a);
}

int k23_range_align_inward(k23_range_t r, uint64_t align, k23_range_t *out)
{
    if (!k23_range_valid(r) || !k23_is_pow2_(align) || out == NULL)
        return K23_ERR_INVAL;
    k23_range_t empty = {r.base, 0};
    if (r.size == 0) {
        *out = empty;
        return K23_OK;
    }
    uint64_t first;
    if (k23_align_up(r.base, align, &first) != K23_OK) {
        *out = empty; /* no aligned address at or above base */
        return K23_OK;
    }
    uint64_t last = k23_range_last(r);
    uint64_t mask = align - 1;
    /* The kept range must end just before a multiple of align: its last
     * byte is ((last + 1) & ~mask) - 1, computed without last + 1, which is
     * 2^64 for a range ending at the top. */
    uint64_t keep_last;
    if ((last & mask) == mask)
        keep_last = last;
    else if (last < align) {
        *out = empty; /* no aligned end at all */
        return K23_OK;
    } else
        keep_last = (last & ~mask) - 1;
    if (first > keep_last) {
        *out = empty;
        return K23_OK;
    }
    out->base = first;
    out->size = keep_last - first + 1;
    return K23_OK;
}

/* ---- region lists ---- */

static bool range_less(const k23_range_t *a, const k23_range_t *b)
{
    return a->base < b->base || (a->base == b->base && a->size < b->size);
}

static void range_swap(k23_range_t *a, k23_range_t *b)
{
    k23_range_t t = *a;
    *a = *b;
    *b = t;
}

static void range_sift_down(k23_range_t *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && range_less(&v[child], &v[child + 1]))
            child++;
        if (!range_less(&v[root], &v[child]))
            return;
        range_swap(&v[root], &v[child]);
        root = child;
    }
}

int k23_ranges_sort(k23_range_t *v, size_t n)
{
    if (v == NULL && n > 0)
        return K23_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        if (!k23_range_valid(v[i]))
            return K23_ERR_INVAL;
    for (size_t i = n / 2; i-- > 0;)
        range_sift_down(v, i, n);
    for (size_t end = n; end > 1; end--) {
        range_swap(&v[0], &v[end - 1]);
        range_sift_down(v, 0, end - 1);
    }
    return K23_OK;
}

/*
 * Whether the union of the sorted ranges is every address from 0 to
 * UINT64_MAX: its size, 2^64, fits no k23_range_t. Checked before merging
 * writes anything, so an error leaves the ranges themselves intact.
 */
static bool ranges_cover_everything(const k23_range_t *v, size_t n)
{
    bool started = false;
    uint64_t last = 0; /* union so far is [0, last] */
    for (size_t i = 0; i < n; i++) {
        if (v[i].size == 0)
            continue;
        if (!started) {
            if (v[i].base != 0)
                return false;
            started = true;
        } else if (v[i].base > last && v[i].base - last > 1) {
            return false; /* a gap after last */
        }
        uint64_t l = k23_range_last(v[i]);
        if (l > last)
            last = l;
        if (last == UINT64_MAX)
            return true;
    }
    return false;
}

int k23_ranges_merge(k23_range_t *v, size_t *n)
{
    if (n == NULL || (v == NULL && *n > 0))
        return K23_ERR_INVAL;
    int err = k23_ranges_sort(v, *n);
    if (err != K23_OK)
        return err;
    if (ranges_cover_everything(v, *n))
        return K23_ERR_OVERFLOW;
    size_t out = 0;
    for (size_t i = 0; i < *n; i++) {
        if (v[i].size == 0)
            continue;
        if (out > 0) {
            uint64_t prev_last = k23_range_last(v[out - 1]);
            /* Touching counts: v[i].base == prev_last + 1 (no overflow:
             * prev_last < v[i].base <= UINT64_MAX when touching). */
            if (v[i].base <= prev_last ||
                (prev_last != UINT64_MAX && v[i].base == prev_last + 1)) {
                uint64_t last = k23_range_last(v[i]);
                if (last > prev_last)
                    v[out - 1].size = last - v[out - 1].base + 1;
                continue;
            }
        }
        v[out++] = v[i];
    }
    *n = out;
    return K23_OK;
}

int k23_ranges_check_sorted(const k23_range_t *v, size_t n)
{
    if (v == NULL && n > 0)
        return K23_ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        if (!k23_range_valid(v[i]) || v[i].size == 0)
            return K23_ERR_INVAL;
        if (i > 0) {
            if (v[i].base < v[i - 1].base)
                return K23_ERR_INVAL;
            if (v[i].base <= k23_range_last(v[i - 1]))
                return K23_ERR_OVERLAP;
        }
    }
    return K23_OK;
}

/* Emit [first, last] into out if there is room; always count it. */
static void subtract_emit(k23_range_t *out, size_t cap, size_t *count,
                          uint64_t first, uint64_t last)
{
    if (*count < cap) {
        out[*count].base = first;
        out[*count].size = last - first + 1;
    }
    (*count)++;
}

/* Whether the arrays [a, a + na) and [b, b + nb) share an element; empty
 * arrays share none. Compared as integers: they may be unrelated objects. */
static bool ranges_alias(const k23_range_t *a, size_t na,
                         const k23_range_t *b, size_t nb)
{
    if (a == NULL || b == NULL || na == 0 || nb == 0)
        return false;
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    return pa < pb ? (pb - pa) / sizeof(*a) < na
                   : (pa - pb) / sizeof(*b) < nb;
}

int k23_ranges_subtract(const k23_range_t *regions, size_t nregions,
                        const k23_range_t *holes, size_t nholes,
                        k23_range_t *out, size_t cap, size_t *out_n)
{
    if (out_n == NULL || (holes == NULL && nholes > 0) ||
        (out == NULL && cap > 0) ||
        ranges_alias(out, cap, regions, nregions) ||
        ranges_alias(out, cap, holes, nholes))
        return K23_ERR_INVAL;
    int err = k23_ranges_check_sorted(regions, nregions);
    if (err != K23_OK)
        return err;
    for (size_t h = 0; h < nholes; h++)
        if (!k23_range_valid(holes[h]))
            return K23_ERR_INVAL;

    size_t count = 0;
    for (size_t r = 0; r < nregions; r++) {
        uint64_t cursor = regions[r].base;
        uint64_t last = k23_range_last(regions[r]);
        bool done = false;
        /* Repeatedly cut at the lowest hole that overlaps [cursor, last].
         * Memory maps are short, so O(regions * holes * pieces) is fine and
         * needs no scratch space for sorting the caller's holes. */
        while (!done) {
            const k23_range_t *cut = NULL;
            for (size_t h = 0; h < nholes; h++) {
                if (holes[h].size == 0)
                    continue;
                uint64_t hlast = k23_range_last(holes[h]);
                if (hlast < cursor || holes[h].base > last)
                    continue;
                if (cut == NULL || holes[h].base < cut->base)
                    cut = &holes[h];
            }
            if (cut == NULL) {
                subtract_emit(out, cap, &count, cursor, last);
                break;
            }
            if (cut->base > cursor)
                subtract_emit(out, cap, &count, cursor, cut->base - 1);
            /* Skip past every hole that covers the cursor now. */
            uint64_t hlast = k23_range_last(*cut);
            if (hlast >= last)
                done = true;
            else
                cursor = hlast + 1;
        }
    }
    *out_n = count;
    return count > cap ? K23_ERR_NOSPACE : K23_OK;
}
