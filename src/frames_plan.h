/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The memory map as the frame allocator plans it: runs of touching
 * regions, in address order. Private to src/frames.c and
 * src/frames_plan.c.
 *
 * Touching regions are one run, because firmware maps (UEFI, multiboot)
 * cut free memory into adjacent descriptors by type and the allocator
 * must not turn those cuts into buddy boundaries: a run gives exactly
 * the free blocks its union as one region would.
 *
 * The caller's array is const and the core may not allocate. An array
 * whose non-empty regions already come in increasing address order (what
 * k23_fdt_memmap() and k23_ranges_merge() produce, and what firmware maps
 * usually are) is walked in O(n). Any other order is copied into the
 * scratch the configuration lends and heap-sorted there, O(n log n); with
 * no scratch the walk selects the next run by a scan, O(n^2) overall (a
 * read-only array with O(1) extra space cannot be sorted faster: time
 * times space is Omega(n^2) for sorting in that model).
 */
#ifndef K23MEM_FRAMES_PLAN_H
#define K23MEM_FRAMES_PLAN_H

#include "internal.h"
#include "k23mem/range.h"

/* A run of touching regions: bytes [first, last]; last may be 2^64 - 1. */
typedef struct k23_frames_run {
    uint64_t first, last;
} k23_frames_run_t;

/* A position in the walk; copy it to replay the walk from there. */
typedef struct k23_frames_runs {
    const k23_range_t *v;
    size_t n;
    bool sorted;  /* non-empty regions come in increasing base order */
    size_t i;     /* sorted: next index to look at */
    uint64_t pos; /* unsorted: lowest address not yet returned */
    bool done;    /* unsorted: the last run ended at 2^64 - 1 */
} k23_frames_runs_t;

/* The regions to walk: v itself when its non-empty regions are in address
 * order or no scratch of n entries is lent, else a sorted copy in scratch.
 * K23_ERR_INVAL when scratch partly overlaps v (the same array is fine:
 * it is sorted in place) or a region is invalid. */
int k23_frames_runs_prepare_(const k23_range_t *v, size_t n,
                             k23_range_t *scratch, size_t scratch_cap,
                             const k23_range_t **out);

/* K23_ERR_INVAL for a region that wraps past 2^64, K23_ERR_OVERLAP when
 * two regions share a byte (touching is fine), else K23_OK. v may be NULL
 * only with n == 0. */
int k23_frames_runs_check_(const k23_range_t *v, size_t n);

/* Start a walk over regions that passed k23_frames_runs_check_(). */
void k23_frames_runs_start_(k23_frames_runs_t *it, const k23_range_t *v,
                            size_t n);

/* The next run in address order; false when there is none left. */
bool k23_frames_runs_next_(k23_frames_runs_t *it, k23_frames_run_t *out);

#endif /* K23MEM_FRAMES_PLAN_H */
