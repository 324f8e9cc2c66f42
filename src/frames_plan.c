/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame allocator's view of a memory map: runs of touching regions in
 * address order (see frames_plan.h for why, and for the cost).
 */
#include "frames_plan.h"

static uint64_t runs_last(k23_range_t r)
{
    return r.base + (r.size - 1);
}

/* Whether the non-empty regions come in strictly increasing base order. */
static bool runs_sorted(const k23_range_t *v, size_t n)
{
    bool have = false;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].size == 0)
            continue;
        if (have && v[i].base <= prev)
            return false;
        have = true;
        prev = v[i].base;
    }
    return true;
}

/* Regions sorted by base: only a neighbour can overlap. */
static int runs_check_sorted(const k23_range_t *v, size_t n)
{
    bool have = false;
    uint64_t prev_last = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].size == 0)
            continue;
        if (have && v[i].base <= prev_last)
            return K23_ERR_OVERLAP;
        have = true;
        prev_last = runs_last(v[i]);
    }
    return K23_OK;
}

/* Any order: every pair (the O(n^2) fallback, see frames_plan.h). */
static int runs_check_pairs(const k23_range_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].size == 0)
            continue;
        uint64_t il = runs_last(v[i]);
        for (size_t j = i + 1; j < n; j++) {
            if (v[j].size == 0)
                continue;
            if (v[i].base <= runs_last(v[j]) && v[j].base <= il)
                return K23_ERR_OVERLAP;
        }
    }
    return K23_OK;
}

int k23_frames_runs_check_(const k23_range_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        k23_range_t r = v[i];
        if (r.size != 0 && r.size - 1 > UINT64_MAX - r.base)
            return K23_ERR_INVAL;
    }
    if (runs_sorted(v, n))
        return runs_check_sorted(v, n);
    return runs_check_pairs(v, n);
}

/* Whether [a, a + an) and [b, b + bn) share an entry (byte addresses). */
static bool runs_arrays_overlap(const k23_range_t *a, size_t an,
                                const k23_range_t *b, size_t bn)
{
    uintptr_t as = (uintptr_t)a, bs = (uintptr_t)b;
    uintptr_t ae = as + an * sizeof(*a), be = bs + bn * sizeof(*b);
    return an != 0 && bn != 0 && as < be && bs < ae;
}

int k23_frames_runs_prepare_(const k23_range_t *v, size_t n,
                             k23_range_t *scratch, size_t scratch_cap,
                             const k23_range_t **out)
{
    if (scratch != v && runs_arrays_overlap(v, n, scratch, scratch_cap))
        return K23_ERR_INVAL;
    *out = v;
    if (scratch == NULL || scratch_cap < n || runs_sorted(v, n))
        return K23_OK;
    if (scratch != v)
        for (size_t i = 0; i < n; i++)
            scratch[i] = v[i];
    int rc = k23_ranges_sort(scratch, n);
    if (rc != K23_OK)
        return rc;
    *out = scratch;
    return K23_OK;
}

void k23_frames_runs_start_(k23_frames_runs_t *it, const k23_range_t *v,
                            size_t n)
{
    it->v = v;
    it->n = n;
    it->sorted = runs_sorted(v, n);
    it->i = 0;
    it->pos = 0;
    it->done = false;
}

/* Sorted: the next non-empty region at or after index i, or n. */
static size_t runs_skip_empty(const k23_frames_runs_t *it, size_t i)
{
    while (i < it->n && it->v[i].size == 0)
        i++;
    return i;
}

static bool runs_next_sorted(k23_frames_runs_t *it, k23_frames_run_t *out)
{
    size_t i = runs_skip_empty(it, it->i);
    if (i == it->n) {
        it->i = i;
        return false;
    }
    uint64_t first = it->v[i].base, last = runs_last(it->v[i]);
    for (i = runs_skip_empty(it, i + 1);
         i < it->n && last != UINT64_MAX && it->v[i].base == last + 1;
         i = runs_skip_empty(it, i + 1))
        last = runs_last(it->v[i]);
    it->i = i;
    out->first = first;
    out->last = last;
    return true;
}

/* Unsorted: index of the non-empty region with the lowest base >= at
 * (exactly at when exact), or n. */
static size_t runs_find(const k23_frames_runs_t *it, uint64_t at, bool exact)
{
    size_t best = it->n;
    for (size_t i = 0; i < it->n; i++) {
        k23_range_t r = it->v[i];
        if (r.size == 0 || r.base < at || (exact && r.base != at))
            continue;
        if (best == it->n || r.base < it->v[best].base)
            best = i;
        if (r.base == at)
            break; /* nothing lower; regions do not overlap */
    }
    return best;
}

static bool runs_next_unsorted(k23_frames_runs_t *it, k23_frames_run_t *out)
{
    if (it->done)
        return false;
    size_t i = runs_find(it, it->pos, false);
    if (i == it->n) {
        it->done = true;
        return false;
    }
    uint64_t first = it->v[i].base, last = runs_last(it->v[i]);
    while (last != UINT64_MAX &&
           (i = runs_find(it, last + 1, true)) != it->n)
        last = runs_last(it->v[i]);
    if (last == UINT64_MAX)
        it->done = true;
    else
        it->pos = last + 1;
    out->first = first;
    out->last = last;
    return true;
}

bool k23_frames_runs_next_(k23_frames_runs_t *it, k23_frames_run_t *out)
{
    if (it->sorted)
        return runs_next_sorted(it, out);
    return runs_next_unsorted(it, out);
}
