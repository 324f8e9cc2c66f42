/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * What the files of the frame allocator share. The module is layered,
 * each file calling only downwards:
 *
 *   frames.c         the public API: init, requests, bulk, statistics,
 *                    the whole-allocator checker, adding memory
 *   frames_pcpu.c/h  per-CPU caches of single frames
 *   arena.c/h        one arena (buddy lists, exact runs, its checker) and
 *                    the set of arenas; their state is private to arena.c
 *   bitmap.c         the run search
 *
 * and on the side, called by frames.c only, the planning: frames_select.c
 * (which arenas a memory map gives) over frames_plan.c (runs of touching
 * regions).
 */
#ifndef K23MEM_FRAMES_INTERNAL_H
#define K23MEM_FRAMES_INTERNAL_H

#include "internal.h"
#include "k23mem/frames.h"

#define FRAMES_MIN_SHIFT 12
#define FRAMES_MAX_SHIFT 16

/* Whether k23_frames_init() built fa: it fails unless it builds an arena,
 * and a zeroed (never initialised) allocator has none. */
static inline bool k23_frames_ready_(const k23_frames_t *fa)
{
    return fa != NULL && fa->narenas != 0;
}

/* The argument check of the functions that cannot report an error. */
#define FRAMES_REQUIRE_READY(fa, fn)                                          \
    do {                                                                      \
        K23_REQUIRE((fa) != NULL, fn);                                        \
        if (K23_UNLIKELY((fa)->narenas == 0))                                 \
            K23_PANIC(fn ": allocator not initialised (no successful "        \
                         "k23_frames_init on it)");                           \
    } while (0)

static inline unsigned k23_frames_log2_(uint64_t x)
{
    return 63u - (unsigned)__builtin_clzll(x);
}

/* Where the allocator reaches physical address pa. */
static inline void *k23_frames_virt_(const k23_frames_t *fa, k23_paddr_t pa)
{
    if (fa->cfg.phys_to_virt != NULL)
        return fa->cfg.phys_to_virt(fa->cfg.phys_to_virt_ctx, pa);
    return k23_port_phys_to_virt(pa);
}

#endif /* K23MEM_FRAMES_INTERNAL_H */
