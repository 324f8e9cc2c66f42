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
 * The caller's array is const and the core may not allocate, so nothing
 * is sorted here. An array whose non-empty regions already come in
 * increasing address order (what k23_fdt_memmap() and k23_ranges_merge()
 * produce, and what firmware maps usually are) is walked in O(n); any
 * other order falls back to selecting the next run by a scan, O(n^2)
 * overall (a read-only array with O(1) scratch space cannot be sorted
 * faster). A long unsorted map should be sorted by the caller first,
 * with k23_ranges_sort().
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
