/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Planning the arenas of a memory map (src/frames_select.c). Private to
 * the frame allocator; pure: touches no memory but what it is given.
 */
#ifndef K23MEM_FRAMES_SELECT_H
#define K23MEM_FRAMES_SELECT_H

#include "frames_plan.h"
#include "k23mem/frames.h"

/* Frames [ps, pe) wholly inside run r (inward alignment); false when
 * none. Works on the last byte, so a run may end at 2^64. */
bool k23_frames_run_pfns_(k23_frames_run_t r, unsigned shift, uint64_t *ps,
                          uint64_t *pe);

/* Bytes of the per-CPU caches, carved at the start of the first arena's
 * bookkeeping; c validated (cpus resolved). */
uint64_t k23_frames_cache_bytes_(const k23_frames_config_t *c);

/* Bytes of the per-frame information of an arena of nframes frames,
 * placed after its own bookkeeping (a multiple of 8). */
uint64_t k23_frames_info_bytes_(const k23_frames_config_t *c,
                                uint64_t nframes);

/* An entry of the plan; for an arena, from is the walk position that
 * yields the run the arena starts in (NULL for rejected entries). */
typedef int (*k23_frames_plan_fn_)(void *ctx,
                                   const k23_frames_arena_plan_t *e,
                                   const k23_frames_runs_t *from);

/* Check the arguments shared by plan and init; fills *c (the defaults
 * when cfg is NULL, and cpus resolved through k23_port_cpu_count() when
 * caches are on and it is 0). *regions becomes the array to walk: a
 * sorted copy in the configuration's sort scratch when one is lent and
 * the map is not in address order (k23_frames_runs_prepare_()). */
int k23_frames_plan_validate_(const k23_range_t **regions, size_t nregions,
                              const k23_frames_config_t *cfg,
                              k23_frames_config_t *c);

/* The selection: runs (validated) in address order, aligned inward, split
 * at max_arena_frames, merged while the hole budget allows and the
 * largest piece can still hold the bookkeeping; each entry goes to fn, in
 * address order. Stops at, and returns, fn's first error. */
int k23_frames_plan_walk_(const k23_range_t *regions, size_t nregions,
                          const k23_frames_config_t *c,
                          k23_frames_plan_fn_ fn, void *ctx);

#endif /* K23MEM_FRAMES_SELECT_H */
