/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file megablock.h
 * Megablock allocator for a linear memory that only grows (WebAssembly's
 * `memory.grow`, or `sbrk`), in the style of GHC's RTS, that reuses what
 * it frees.
 *
 * A megablock is 2^shift bytes (shift >= 16, so at least one 64 KiB wasm
 * page), aligned to its size. The allocator hands out runs of n contiguous
 * megablocks. It owns the memory it obtained by growing a *source* (a pair
 * of callbacks: "where does memory end now" and "grow it by this many
 * bytes") and keeps three bitmaps over the megablock indices of a fixed
 * window of the address space:
 *
 * - `owned`: obtained from the source by this allocator;
 * - `busy`:  not free for allocation (not owned, or allocated);
 * - `dirty`: may hold non-zero bytes (was handed out at least once).
 *
 * k23_mblock_alloc() first searches `busy` for a run of clear bits (the
 * bitmap module's run search, best fit), and only when none fits grows the
 * source: it rounds the current end of memory up to the alignment, extends
 * a free run that already ends at the end of memory instead of leaving it
 * behind, and adopts the new megablocks. k23_mblock_free() makes the
 * megablocks free for reuse; memory is never given back to the source (a
 * linear memory cannot shrink).
 *
 * Other code may grow the same memory between two of our grows (wasi-libc's
 * malloc does): the allocator only ever claims what its own grow returned,
 * so such memory is never handed out twice.
 *
 * The allocator never touches megablock memory, except to zero dirty
 * megablocks when #K23_MBLOCK_ZERO is asked for.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): a function that returns an error code reports a NULL pointer or
 * an out-of-range value as #K23_ERR_INVAL (or the code listed) and leaves
 * its out-pointers untouched; one that returns nothing, a count, a flag or
 * an address panics through k23_port_panic() with a message naming the
 * function and the failed check.
 */
#ifndef K23MEM_MEGABLOCK_H
#define K23MEM_MEGABLOCK_H

#include "k23mem/error.h"
#include "k23mem/port.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** Smallest megablock size, log2 bytes: one 64 KiB WebAssembly page. */
#define K23_MBLOCK_MIN_SHIFT 16u
/** Default megablock size, log2 bytes: 1 MiB, as GHC's default. */
#define K23_MBLOCK_DEFAULT_SHIFT 20u

/** Allocation flag: every megablock of the result reads as zero. Only
 *  megablocks that were handed out before are written. */
#define K23_MBLOCK_ZERO (UINT32_C(1) << 0)

/** Bytes of metadata k23_mblock_init() needs for @p nmblocks megablocks:
 *  three bitmaps. */
#define K23_MBLOCK_META_BYTES(nmblocks) (3 * (((size_t)(nmblocks) + 7) / 8))

/**
 * Where megablocks come from: a memory that only grows at its end.
 *
 * Contract: memory obtained through `grow` reads as zero, stays
 * accessible for the life of the allocator, and is never shrunk.
 */
typedef struct k23_mblock_source {
    /**
     * Grow the memory by @p bytes (a multiple of 64 KiB) at its end.
     * @param ctx      the source's `ctx`
     * @param bytes    how many bytes to add, > 0
     * @param old_end  where the memory ended before; the new bytes are
     *                 [*old_end, *old_end + bytes)
     * @return K23_OK, or K23_ERR_NOMEM when the memory cannot grow
     */
    int (*grow)(void *ctx, size_t bytes, uintptr_t *old_end);
    /**
     * Current end of the memory (one past its last byte).
     * @param ctx  the source's `ctx`
     * @return the end address
     */
    uintptr_t (*end)(void *ctx);
    void *ctx; /**< passed to both callbacks */
} k23_mblock_source_t;

/** Counters of one allocator; megablock counts unless noted. */
typedef struct k23_mblock_stats {
    size_t mblock_size;      /**< bytes per megablock */
    size_t owned;            /**< obtained from the source (never drops) */
    size_t free;             /**< owned and free for reuse */
    size_t allocated;        /**< owned - free */
    size_t peak_owned;       /**< highest `owned` */
    size_t peak_allocated;   /**< highest `allocated` */
    size_t waste_bytes;      /**< grown for alignment, covered by no megablock */
    uint64_t grow_calls;     /**< successful grows of the source */
    uint64_t grow_failures;  /**< grows the source refused */
    uint64_t alloc_calls;    /**< successful k23_mblock_alloc() calls */
    uint64_t alloc_reused;   /**< of those, served without growing */
    uint64_t free_calls;     /**< k23_mblock_free() calls */
} k23_mblock_stats_t;

/**
 * One megablock allocator. Fields are private: use the functions.
 * Metadata (the bitmaps) lives in caller-provided memory.
 */
typedef struct k23_mblock {
    /** @cond K23_PRIVATE */
    uintptr_t base;          /**< address of megablock 0; multiple of the size */
    size_t nmblocks;         /**< megablocks in the window [base, base + n << shift) */
    unsigned shift;          /**< log2 of the megablock size, >= 16 */
    unsigned char *owned K23_PT_GUARDED_BY(lock); /**< bit set: obtained from the source */
    unsigned char *busy K23_PT_GUARDED_BY(lock);  /**< bit set: not owned, or allocated */
    unsigned char *dirty K23_PT_GUARDED_BY(lock); /**< bit set: may hold non-zero bytes */
    size_t lo K23_GUARDED_BY(lock); /**< lowest owned index; nmblocks when none */
    size_t hi K23_GUARDED_BY(lock); /**< one past the highest owned index; 0 when none */
    k23_mblock_source_t src; /**< where memory comes from */
    k23_mblock_stats_t stats K23_GUARDED_BY(lock); /**< counters */
    k23_port_lock_t lock;    /**< serialises every operation */
    /** @endcond */
} k23_mblock_t;

/* ---- lifecycle ---- */

/**
 * Set up an allocator over the window [@p base, @p base + @p nmblocks *
 * 2^@p shift) of the address space. Memory the source returns outside the
 * window is counted as waste and never handed out.
 *
 * @param[out] m           the allocator
 * @param[in]  shift       log2 of the megablock size, 16..bits of uintptr_t - 1
 * @param[in]  base        start of the window, a multiple of 2^@p shift
 * @param[in]  nmblocks    megablocks in the window, > 0, and the window
 *                         must not pass the top of the address space
 * @param[in]  src         the memory source (copied); both callbacks set
 * @param[in]  meta        metadata, K23_MBLOCK_META_BYTES(@p nmblocks)
 *                         bytes, owned by @p m until it is dropped
 * @param[in]  meta_bytes  size of @p meta
 * @retval K23_OK         ready
 * @retval K23_ERR_INVAL  NULL pointer, bad shift, misaligned base, zero
 *                        or too many megablocks, missing callback
 * @retval K23_ERR_TOO_SMALL  @p meta_bytes too small
 * @context Thread context. @p m is not shared yet.
 */
K23_API int k23_mblock_init(k23_mblock_t *m, unsigned shift, uintptr_t base,
                    size_t nmblocks, const k23_mblock_source_t *src,
                    void *meta, size_t meta_bytes);

/* ---- operations ---- */

/**
 * Allocate @p n contiguous megablocks aligned to 2^max(@p align_log2,
 * shift) bytes. The alignment is of the address itself, not of its offset
 * from the window base. Reuses free megablocks first (smallest free run
 * that fits, lowest address on ties); grows the source only when no free
 * run fits.
 *
 * @param[in,out] m           the allocator
 * @param[in]     n           megablocks, > 0
 * @param[in]     align_log2  alignment of the result, log2 bytes; values
 *                            up to the megablock shift mean "megablock"
 * @param[in]     flags       0 or #K23_MBLOCK_ZERO
 * @param[out]    out         first byte of the run; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  NULL, n == 0, unknown flags, align_log2 too wide:
 *                        at least the bits of uintptr_t, or no megablock
 *                        address in the window is a multiple of
 *                        2^@p align_log2 (an alignment no call could meet)
 * @retval K23_ERR_NOMEM  no free run fits and the source cannot grow (or
 *                        the run would leave the window); nothing changed
 * @context Thread context. Takes @p m's lock; calls the source with it held.
 */
K23_API int k23_mblock_alloc(k23_mblock_t *m, size_t n, unsigned align_log2,
                     uint32_t flags, void **out);

/**
 * Give @p n megablocks at @p addr back for reuse. They need not be one
 * earlier allocation: any allocated megablocks may be freed, in any
 * grouping (GHC frees parts of groups).
 *
 * Freeing a megablock that is not allocated (double free, or never
 * obtained) panics, naming the address.
 *
 * @param[in,out] m     the allocator
 * @param[in]     addr  first megablock, aligned to the megablock size
 * @param[in]     n     megablocks, > 0
 * @retval K23_OK         freed
 * @retval K23_ERR_INVAL  @p m NULL, n == 0, misaligned, or outside the window
 * @context Thread context. Takes @p m's lock.
 */
K23_API int k23_mblock_free(k23_mblock_t *m, void *addr, size_t n);

/**
 * Free every allocated megablock (GHC's osFreeAllMBlocks at shutdown).
 * Owned memory stays owned, for reuse.
 * @param[in,out] m  the allocator; NULL panics
 * @context Thread context. Takes @p m's lock.
 */
K23_API void k23_mblock_free_all(k23_mblock_t *m);

/* ---- introspection ---- */

/**
 * Whether the megablock containing @p addr is currently allocated.
 * @param[in] m     the allocator; NULL panics
 * @param[in] addr  any address (outside the window: false)
 * @return true when allocated
 * @context Thread context. Takes @p m's lock.
 */
K23_API bool k23_mblock_is_allocated(k23_mblock_t *m, const void *addr);

/**
 * Copy the counters.
 * @param[in]  m    the allocator; NULL panics
 * @param[out] out  the counters; NULL panics
 * @context Thread context. Takes @p m's lock.
 */
K23_API void k23_mblock_stats(k23_mblock_t *m, k23_mblock_stats_t *out);

/**
 * Check every invariant: counters match the bitmaps, nothing outside
 * [lo, hi) is owned, nothing unowned is free. Logs the first violation.
 * @param[in] m  the allocator
 * @retval K23_OK           consistent
 * @retval K23_ERR_CORRUPT  an invariant failed
 * @retval K23_ERR_INVAL    @p m is NULL
 * @context Thread context. Takes @p m's lock. O(window size).
 */
K23_API int k23_mblock_check(k23_mblock_t *m);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_MEGABLOCK_H */
