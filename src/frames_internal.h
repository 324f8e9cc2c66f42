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

/* ---- poisoning (k23_frames_config_t::poison) ---- */

#define FRAMES_POISON_WORD (UINT64_C(0x0101010101010101) * K23_FRAMES_POISON_BYTE)

typedef uint64_t __attribute__((may_alias)) k23_frames_word_t;

/* Fill frames [pa, pa + n frames) with the poison pattern. */
static inline void k23_frames_poison_fill_(const k23_frames_t *fa,
                                           k23_paddr_t pa, uint64_t n)
{
    size_t words = (size_t)(fa->cfg.frame_size / 8);
    for (uint64_t i = 0; i < n; i++) {
        k23_frames_word_t *w =
            k23_frames_virt_(fa, pa + (i << fa->frame_shift));
        for (size_t j = 0; j < words; j++)
            w[j] = FRAMES_POISON_WORD;
    }
}

/* Panic for a poisoned frame found changed. */
K23_NORETURN void k23_frames_poison_bad_(k23_paddr_t frame);

/* Check frames [pa, pa + n frames) still hold the poison pattern; panic
 * naming the first frame that does not (written after it was freed). */
static inline void k23_frames_poison_check_(const k23_frames_t *fa,
                                            k23_paddr_t pa, uint64_t n)
{
    size_t words = (size_t)(fa->cfg.frame_size / 8);
    for (uint64_t i = 0; i < n; i++) {
        k23_paddr_t f = pa + (i << fa->frame_shift);
        const k23_frames_word_t *w = k23_frames_virt_(fa, f);
        for (size_t j = 0; j < words; j++)
            if (K23_UNLIKELY(w[j] != FRAMES_POISON_WORD))
                k23_frames_poison_bad_(f);
    }
}

#endif /* K23MEM_FRAMES_INTERNAL_H */
