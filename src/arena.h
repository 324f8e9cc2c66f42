/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * One arena's buddy allocator, exact runs and checker. Private to the
 * frame allocator (src/frames.c); the public face is k23mem/frames.h.
 *
 * Every function here expects the allocator's arena lock to be held,
 * except that frame states may also be flipped between ALLOCATED and
 * CACHED by the per-CPU cache paths under their own locks (hence the
 * relaxed atomic accesses to `state`).
 */
#ifndef K23MEM_ARENA_H
#define K23MEM_ARENA_H

#include "internal.h"
#include "k23mem/frames.h"

/* Per-frame states. A free block of order o starting at frame h has h in
 * FRAME_FREE_HEAD with order o and its other 2^o - 1 frames in FRAME_FREE.
 * Nothing else is ever FREE or FREE_HEAD. */
enum {
    FRAME_HOLE = 0,      /* not memory: a hole between merged regions */
    FRAME_RESERVED = 1,  /* the arena's own bookkeeping */
    FRAME_FREE = 2,      /* inside a free block, not its head */
    FRAME_FREE_HEAD = 3, /* first frame of a free block; `order` is valid */
    FRAME_ALLOCATED = 4, /* handed out to a caller */
    FRAME_CACHED = 5,    /* sitting in a per-CPU cache */
    FRAME_CHECK_MARK = 6 /* transient, only inside k23_frames_check() */
};

/* 9 bytes per frame, in two arrays: doubly linked free-list links as
 * arena-relative indices (so free frames are never written), and the
 * state bytes: FRAME_* in the low 3 bits, and for FRAME_FREE_HEAD the
 * block's order in the upper 5 (so that the buddy test of a free reads
 * one byte). The states of a run are contiguous, so a 2 MiB block's 512
 * states are checked and set eight at a time. State bytes are accessed
 * with relaxed atomics. */
struct k23_frame_meta {
    uint32_t next;  /* next block on the same free list, or K23_ARENA_NIL */
    uint32_t prev;  /* previous block, or K23_ARENA_NIL */
};

#define FRAME_STATE_MASK 7u
#define FRAME_ORDER_SHIFT 3u

#define K23_ARENA_NIL UINT32_MAX

static inline uint8_t k23_arena_state_(const k23_frames_arena_t *a,
                                       uint64_t idx)
{
    return __atomic_load_n(&a->state[idx], __ATOMIC_RELAXED) &
           FRAME_STATE_MASK;
}

/* The order of the free block headed by frame idx (FRAME_FREE_HEAD). */
static inline unsigned k23_arena_order_(const k23_frames_arena_t *a,
                                        uint64_t idx)
{
    return __atomic_load_n(&a->state[idx], __ATOMIC_RELAXED) >>
           FRAME_ORDER_SHIFT;
}

static inline void k23_arena_set_state_(k23_frames_arena_t *a, uint64_t idx,
                                        uint8_t st)
{
    __atomic_store_n(&a->state[idx], st, __ATOMIC_RELAXED);
}

/* The state byte of the head of a free block of order o. */
#define FRAME_HEAD_BYTE(o) ((uint8_t)(FRAME_FREE_HEAD | (o) << FRAME_ORDER_SHIFT))

/* Bookkeeping bytes for an arena of @nframes frames (entries + bitmap). */
uint64_t k23_arena_meta_bytes_(uint64_t nframes);

/* Set up an arena over [base_pfn, base_pfn + nframes) with every frame a
 * hole; `meta` points at k23_arena_meta_bytes_(nframes) writable bytes. */
void k23_arena_init_(k23_frames_arena_t *a, uint64_t base_pfn,
                     uint64_t nframes, void *meta);

/* Mark [pfn, pfn + n) reserved (bookkeeping); they must be holes now. */
void k23_arena_reserve_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n);

/* Turn [pfn, pfn + n), now holes, into free memory. */
void k23_arena_add_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                         unsigned max_order);

/* Allocate n frames whose first frame number is a multiple of 2^align
 * and that all lie below frame number limit_pfn (exclusive), leaving them
 * in state `st` (ALLOCATED or CACHED). Returns false when there is none. */
bool k23_arena_alloc_(k23_frames_arena_t *a, uint64_t n, unsigned align,
                      uint64_t limit_pfn, unsigned max_order, uint8_t st,
                      uint64_t *out_pfn);

/* Free [pfn, pfn + n), all of which must be in state `expect`; panics
 * naming the first offending address otherwise (frame_shift converts to
 * an address). Coalesces in O(1) per order. */
void k23_arena_free_(k23_frames_arena_t *a, uint64_t pfn, uint64_t n,
                     uint8_t expect, unsigned max_order,
                     unsigned frame_shift);

/* Panic for a frame found in the wrong state when freeing. */
K23_NORETURN void k23_arena_misuse_(uint8_t st, bool partly, uint64_t addr);

/* Walk the arena; returns K23_OK or K23_ERR_CORRUPT (logged). Counts the
 * frames in CACHED state into *cached. */
int k23_arena_check_(const k23_frames_arena_t *a, unsigned max_order,
                     unsigned frame_shift, uint64_t *cached);

#endif /* K23MEM_ARENA_H */
