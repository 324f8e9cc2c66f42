/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file frames.h
 * The physical frame allocator: a memory map turned into arenas, a
 * bitfield allocator per arena, exact-size contiguous runs, an optional
 * physical upper bound per request, and bounded per-CPU caches of single
 * frames.
 *
 * A kernel hands k23_frames_init() its free physical regions. They are
 * aligned inward to the frame size and merged into arenas while the
 * bookkeeping spent on the holes between them stays within a budget. Each
 * arena keeps two bits per frame (busy, and cached: in a per-CPU cache or
 * not memory), a 16-bit free counter per chunk of
 * #K23_FRAMES_CHUNK_FRAMES frames, two chunk bitmaps (entirely free,
 * partly free) and its hole extents, about 0.26 bytes per frame
 * (#K23_FRAMES_META_BYTES_FOR), in a bookkeeping area carved from the
 * arena's own largest free piece and reached through
 * k23_port_phys_to_virt(); free frames themselves are never read or
 * written (unless poisoning is on), so they need not even be mapped. The
 * per-CPU caches (one per CPU, k23_frames_config_t::cpus) and the
 * optional per-frame information records are carved with the
 * bookkeeping too.
 *
 * Locking: each arena is cut into stripes (#K23_FRAMES_MAX_STRIPES at
 * most), each with its own lock; single frames, cache refills and spills,
 * and runs that fit in a stripe take only the stripe locks they need, so
 * the miss paths of different CPUs do not share a lock. Runs across
 * stripes, bulk allocation, adding memory, statistics and the checker take
 * the allocator's lock and then every stripe lock in address order. Each
 * per-CPU cache has its own lock (uncontended when the port pins the
 * caller in a CPU-local section). Lock order: cache locks in ascending CPU
 * order, the allocator's lock, stripe locks in address order. When
 * the port has a CPU-local fast path (k23_port_pcpu_fast(), rseq on x86_64
 * Linux), a cache hit takes no lock at all and a cache lock only
 * serialises the fences taken to drain or inspect that cache.
 *
 * Misuse (double free, freeing frames the allocator does not own, freeing
 * a range that is only partly allocated) panics through k23_port_panic()
 * naming the address, in every build. Invalid arguments (a NULL or never
 * initialised allocator among them) return #K23_ERR_INVAL; the functions
 * that cannot return an error panic naming themselves.
 */
#ifndef K23MEM_FRAMES_H
#define K23MEM_FRAMES_H

#include "k23mem/error.h"
#include "k23mem/port.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** Most arenas one allocator manages. */
#define K23_FRAMES_MAX_ARENAS 32
/** Most per-CPU caches of 0.1, where k23_frames_t held them (kept for
 *  source compatibility; caches are now carved at init for
 *  k23_frames_config_t::cpus CPUs, up to #K23_FRAMES_CPU_LIMIT). Under the
 *  caches' locks a CPU id past the last cache uses cache (id % count); on
 *  the port's CPU-local fast path such a CPU has no cache and goes to the
 *  arenas. */
#define K23_FRAMES_MAX_CPUS 64
/** Most per-CPU caches one allocator carves; CPU ids are folded onto the
 *  caches (id % count). */
#define K23_FRAMES_CPU_LIMIT 4096
/** Largest per-frame information record, bytes
 *  (k23_frames_config_t::info_size). */
#define K23_FRAMES_INFO_MAX 256
/** The byte freed frames are filled with when poisoning is on
 *  (k23_frames_config_t::poison). */
#define K23_FRAMES_POISON_BYTE 0xaau
/** Most frames one per-CPU cache holds. */
#define K23_FRAMES_CACHE_MAX 64
/** Number of buddy orders supported: max_order < this. */
#define K23_FRAMES_ORDER_LIMIT 24
/** Default largest buddy block, bytes (4 MiB). */
#define K23_FRAMES_DEFAULT_BLOCK (UINT64_C(4) << 20)
/** Default bookkeeping budget for holes inside one arena, bytes: 44,736
 *  hole frames at two bits each with one hole extent, about the reach of
 *  0.2's 528 KiB at 12 bytes a hole frame (44,591), so that maps give the
 *  same arenas as before the bitfield arena. */
#define K23_FRAMES_DEFAULT_HOLE_BUDGET (11u * 1024u)
/** Default per-CPU cache capacity, frames. */
#define K23_FRAMES_DEFAULT_CACHE 64
/** Default per-CPU refill and drain batch, frames. */
#define K23_FRAMES_DEFAULT_BATCH 16
/** Default and largest number of frames in one arena. */
#define K23_FRAMES_MAX_ARENA_FRAMES (UINT64_C(1) << 31)
/** Bits of bookkeeping per frame: a busy bit (what the run search scans)
 *  and a cached bit (the frame sits in a per-CPU cache, or is not memory). */
#define K23_FRAMES_META_BITS 2
/** Frames per chunk: the unit of the per-chunk free counters (16 bits) and
 *  of the two chunk bitmaps ("entirely free", "partly free"); 2 MiB with
 *  4 KiB frames. */
#define K23_FRAMES_CHUNK_FRAMES 512
/** Bytes of one hole extent (a hole between merged regions, recorded so
 *  that freeing a frame of it panics as memory the allocator does not
 *  own). */
#define K23_FRAMES_HOLE_BYTES 16
/** Spare hole extents of an arena that has holes, for
 *  k23_frames_add_region() cutting one in two. */
#define K23_FRAMES_HOLE_SLACK 4
/** Bytes of one stripe of an arena: its lock and free counter, on a cache
 *  line of their own. An arena is cut into at most #K23_FRAMES_MAX_STRIPES
 *  stripes of whole 64-chunk groups, each with its own lock, so that the
 *  per-CPU caches' refills and spills on different CPUs do not serialise
 *  on one lock. */
#define K23_FRAMES_STRIPE_BYTES 64
/** Most stripes per arena. */
#define K23_FRAMES_MAX_STRIPES 64
/** Bookkeeping bytes of an arena of @p n frames (n > 0) with @p h holes
 *  between its regions: the stripes, both bitfields over whole chunks
 *  (one more chunk than n needs, for an arena that does not start on a
 *  chunk), a 16-bit free counter and a 16-bit owner per chunk, the two
 *  chunk bitmaps, and the
 *  hole extents with their slack; each part rounded up to 8 bytes. The
 *  per-frame information and the per-CPU caches come on top
 *  (k23_frames_arena_plan_t::bookkeeping_bytes has it all). */
#define K23_FRAMES_META_BYTES_FOR(n, h)                                        \
    (K23_FRAMES_STRIPE_BYTES * K23_FRAMES_STRIPES_FOR_(n) +                    \
     2 * 8 * K23_FRAMES_CHUNKS_FOR_(n) * (K23_FRAMES_CHUNK_FRAMES / 64) +      \
     2 * ((2 * K23_FRAMES_CHUNKS_FOR_(n) + 7) & ~(uint64_t)7) +               \
     2 * 8 * ((K23_FRAMES_CHUNKS_FOR_(n) + 63) / 64) +                        \
     ((h) != 0 ? ((h) + K23_FRAMES_HOLE_SLACK) * K23_FRAMES_HOLE_BYTES : 0))
/** 64-chunk groups (chunk bitmap words) of an n-frame arena (internal). */
#define K23_FRAMES_GROUPS_FOR_(n) ((K23_FRAMES_CHUNKS_FOR_(n) + 63) / 64)
/** Groups per stripe (internal). */
#define K23_FRAMES_STRIPE_GROUPS_(n)                                           \
    ((K23_FRAMES_GROUPS_FOR_(n) + K23_FRAMES_MAX_STRIPES - 1) /               \
     K23_FRAMES_MAX_STRIPES)
/** Stripes of an n-frame arena (internal). */
#define K23_FRAMES_STRIPES_FOR_(n)                                             \
    ((K23_FRAMES_GROUPS_FOR_(n) + K23_FRAMES_STRIPE_GROUPS_(n) - 1) /         \
     K23_FRAMES_STRIPE_GROUPS_(n))
/** Chunks the bitfields of an n-frame arena cover (internal). */
#define K23_FRAMES_CHUNKS_FOR_(n)                                              \
    (((uint64_t)(n) + 2 * (K23_FRAMES_CHUNK_FRAMES - 1)) /                     \
     K23_FRAMES_CHUNK_FRAMES)
/** Whole bytes of per-frame bookkeeping, rounded up (0.1 had 12: buddy
 *  links and state bytes); exact sizes: #K23_FRAMES_META_BYTES_FOR. */
#define K23_FRAMES_META_BYTES 1

/** Request flag: zero every byte of the frames before returning them. */
#define K23_FRAMES_ZERO (UINT32_C(1) << 0)
/** "No physical upper bound" for a request's @c limit. */
#define K23_FRAMES_NO_LIMIT UINT64_MAX

/** Keeps each per-CPU cache on its own cache lines (internal). */
#if defined(__GNUC__) || defined(__clang__)
#define K23_FRAMES_CACHE_ALIGNED_ __attribute__((aligned(K23_PORT_CACHE_LINE)))
#else
#define K23_FRAMES_CACHE_ALIGNED_
#endif

/** Configuration for k23_frames_init(); fill with
 *  k23_frames_config_default() and change what you need. */
typedef struct k23_frames_config {
    uint64_t frame_size;       /**< bytes; a power of two, 4 KiB..64 KiB */
    unsigned max_order;        /**< largest block: frame_size << max_order is
                                    the largest alignment a request may ask
                                    and the largest block the statistics'
                                    free_blocks[] count;
                                    < #K23_FRAMES_ORDER_LIMIT */
    uint64_t hole_budget;      /**< bookkeeping bytes one arena may spend on
                                    holes: #K23_FRAMES_META_BITS bits and
                                    info_size bytes per hole frame, plus
                                    #K23_FRAMES_HOLE_BYTES per hole extent
                                    with #K23_FRAMES_HOLE_SLACK spare ones */
    unsigned cache_frames;     /**< per-CPU cache capacity, 0 turns caches off;
                                    <= #K23_FRAMES_CACHE_MAX */
    unsigned cache_batch;      /**< frames moved per refill or drain, 1..cache_frames */
    uint64_t max_arena_frames; /**< split arenas larger than this many frames;
                                    <= #K23_FRAMES_MAX_ARENA_FRAMES */
    /** Optional translation of physical addresses for the allocator's own
     *  accesses (bookkeeping, zeroing); NULL uses k23_port_phys_to_virt().
     *  Lets tests place "physical" memory at address 0 or the top of the
     *  address space. */
    void *(*phys_to_virt)(void *ctx, k23_paddr_t pa);
    void *phys_to_virt_ctx;    /**< passed to @c phys_to_virt */
    /** Optional scratch for a memory map that is not in address order:
     *  room for @c sort_scratch_cap regions, NULL for none. When the map
     *  is unsorted and has at most that many regions, k23_frames_plan()
     *  and k23_frames_init() copy it here and sort the copy, O(n log n);
     *  otherwise an unsorted map is walked by scanning, O(n^2). Unused for
     *  a map in address order. It may be the map itself (then sorted in
     *  place) or disjoint from it, and must not lie in the memory the map
     *  describes (init writes bookkeeping there while it reads the copy). */
    k23_range_t *sort_scratch;
    size_t sort_scratch_cap;   /**< entries of @c sort_scratch */
    /** Per-frame information: bytes of a caller-defined record for every
     *  frame (a reference count, flags), carved with each arena's
     *  bookkeeping and zeroed at init; k23_frames_info() finds a frame's
     *  record. 0 (the default) turns it off and costs nothing.
     *  <= #K23_FRAMES_INFO_MAX. */
    unsigned info_size;
    /** Per-CPU caches to carve (with the first arena's bookkeeping) when
     *  caches are on; 0 (the default) asks k23_port_cpu_count() at init
     *  (and in k23_frames_plan()). <= #K23_FRAMES_CPU_LIMIT. */
    unsigned cpus;
    /** Debug: fill every free frame with #K23_FRAMES_POISON_BYTE (at init,
     *  on every free, when memory is added) and check the pattern on every
     *  allocation, panicking naming the frame when a byte changed (a write
     *  after free). Free frames must then be mapped. Off by default. */
    bool poison;
    /** Count per-CPU cache hits, refills and drains
     *  (k23_frames_cpu_stats()). Off by default: the single-arena cache
     *  hits then take their shortest path. */
    bool cpu_stats;
} k23_frames_config_t;

/** A hole extent of an arena (private): frames [start, end). */
typedef struct k23_frames_hole {
    uint64_t start;            /**< first frame number */
    uint64_t end;              /**< one past the last */
} k23_frames_hole_t;

/** One arena: a frame-aligned physical range with its bitfields.
 *  Fields are private to the allocator; read them through
 *  k23_frames_arena_info(). */
typedef struct k23_frames_arena {
    /* read-mostly: set at init, read by every path (the cache hits too) */
    uint64_t base_pfn;         /**< first frame number (address / frame size) */
    uint64_t nframes;          /**< frames covered, holes and bookkeeping included */
    uint64_t bit_base;         /**< frame number of bit 0 of the bitfields:
                                *   base_pfn rounded down to a chunk */
    uint64_t nchunks;          /**< chunks (#K23_FRAMES_CHUNK_FRAMES
                                *   frames) the bitfields cover */
    uint64_t *busy;            /**< bit set: frame not free */
    uint64_t *cached;          /**< bit set with busy: in a per-CPU cache,
                                *   or not memory (a hole, bookkeeping) */
    uint16_t *chunk_free;      /**< free frames per chunk */
    uint64_t *whole;           /**< chunk bitmap: every frame free */
    uint64_t *partial;         /**< chunk bitmap: some frames free, not all */
    uint16_t *owner;           /**< per chunk: the per-CPU cache that owns
                                *   its cached bits (with the port's fast
                                *   path), or 0xffff for none */
    k23_frames_hole_t *holes;  /**< sorted hole extents */
    uint32_t holes_cap;        /**< room for this many */
    uint32_t nstripes;         /**< stripes (each with its lock) */
    uint64_t stripe_groups;    /**< 64-chunk groups per stripe */
    struct k23_frames_stripe *stripes; /**< the stripes, in the bookkeeping */
    k23_port_lock_t *lock;     /**< the allocator's lock, taken before all
                                *   stripe locks by whole-arena operations */
    unsigned char *info;       /**< per-frame information records
                                *   (k23_frames_config_t::info_size each),
                                *   nframes of them, or NULL */
    uint64_t meta_pfn;         /**< first frame of the bookkeeping area */
    uint64_t meta_frames;      /**< frames of the bookkeeping area */
    uint64_t meta_bytes;       /**< bytes of bookkeeping actually used */
    /* written under every stripe lock (add_region), on a cache line of
     * their own; the free counters are the stripes' */
    uint64_t usable_frames K23_FRAMES_CACHE_ALIGNED_; /**< frames that can be handed out */
    uint64_t hole_frames;      /**< frames in holes between merged regions */
    uint32_t nholes;           /**< hole extents in use */
} k23_frames_arena_t;

/** A per-CPU cache of single frames (LIFO). Private. The header comes
 *  first: the port's CPU-local stack hooks rely on it. */
typedef struct k23_frames_pcpu {
    k23_port_pcpu_hdr_t hdr;   /**< count (frames held, <= cache_frames),
                                *   frames in transit (fast path; see
                                *   k23_frames_check()) and the fence
                                *   flag */
    uint64_t frames[K23_FRAMES_CACHE_MAX]; /**< entries: a frame's address
                                *   with its arena's number in the low
                                *   bits */
    k23_port_lock_t lock;      /**< guards this cache, or with the port's
                                *   fast path, serialises its fences */
    uint64_t hits;             /**< allocations served by this cache
                                *   (counted with cpu_stats) */
    uint64_t refills;          /**< refills from the arenas (cpu_stats) */
    uint64_t drains;           /**< drains and spills back to the arenas
                                *   (cpu_stats) */
} K23_FRAMES_CACHE_ALIGNED_ k23_frames_pcpu_t;

/** The frame allocator. The caller provides the storage (static or
 *  otherwise) and calls k23_frames_init(). Fields are private. */
typedef struct k23_frames {
    /** @cond K23_PRIVATE */
    k23_port_lock_t lock;      /**< guards every arena */
    /** configuration in use (on a cache line apart from the lock: the
     *  cache hits of other CPUs read it while a miss holds the lock) */
    k23_frames_config_t cfg K23_FRAMES_CACHE_ALIGNED_;
    unsigned frame_shift;      /**< log2(frame_size) */
    unsigned narenas;          /**< arenas in use, sorted by address */
    unsigned ncaches;          /**< per-CPU caches in use */
    bool pcpu_fast;            /**< caches use the port's lock-free hooks */
    bool single_fast;          /**< caches off, one arena, no poisoning:
                                *   single frames take the arena's
                                *   one-lock path (in pcpu_fast's padding,
                                *   so the layout is unchanged) */
    uint64_t fast_nframes;     /**< arenas[0].nframes when pcpu_fast and
                                *   there is exactly one arena (the
                                *   shortest cache-hit paths apply), else
                                *   0; the free hit path's bound check is
                                *   also its flag test */
    uintptr_t fast_state;      /**< if fast_nframes != 0: where the busy
                                *   word of frame number 0 would be in
                                *   arenas[0]'s bitfield (modulo the
                                *   address width), so frame number n's is
                                *   at fast_state + (n / 64) * 8 */
    uint64_t max_alignment;    /**< bytes; see k23_frames_max_alignment() */
    k23_frames_arena_t arenas[K23_FRAMES_MAX_ARENAS] K23_GUARDED_BY(lock); /**< the arenas */
    k23_frames_pcpu_t *caches; /**< ncaches per-CPU caches, carved at the
                                *   start of the first arena's bookkeeping */
    uint64_t extra_meta_bytes; /**< bookkeeping beyond the arenas' own:
                                *   the caches and per-frame information */
    /** @endcond */
} k23_frames_t;

/** A request for k23_frames_alloc(). */
typedef struct k23_frames_req {
    uint64_t size;             /**< bytes, > 0; rounded up to whole frames */
    unsigned align_log2;       /**< start is a multiple of 1 << align_log2 bytes */
    uint32_t flags;            /**< #K23_FRAMES_ZERO or 0 */
    k23_paddr_t limit;         /**< last byte the run may use; #K23_FRAMES_NO_LIMIT */
} k23_frames_req_t;

/** Statistics, an exact snapshot taken under every lock. */
typedef struct k23_frames_stats {
    uint64_t frame_size;       /**< bytes */
    unsigned narenas;          /**< arenas */
    unsigned max_order;        /**< largest order free_blocks[] counts */
    uint64_t total_frames;     /**< frames that can be handed out */
    uint64_t free_frames;      /**< free frames (caches excluded) */
    uint64_t cached_frames;    /**< frames sitting in per-CPU caches */
    uint64_t allocated_frames; /**< frames handed out: total - free - cached */
    uint64_t hole_frames;      /**< frames of holes covered by bookkeeping */
    uint64_t metadata_bytes;   /**< bookkeeping bytes in use over all arenas */
    /** free blocks per order: each maximal run of free frames cut into
     *  the largest aligned blocks of order <= max_order (what a fully
     *  coalesced buddy allocator would list), counted by walking the
     *  bits */
    uint64_t free_blocks[K23_FRAMES_ORDER_LIMIT];
} k23_frames_stats_t;

/** One CPU's cache, as k23_frames_cpu_stats() reports it. */
typedef struct k23_frames_cpu_stats {
    uint64_t cached;           /**< frames in the cache now (exact) */
    uint64_t hits;             /**< allocations it served without a refill */
    uint64_t refills;          /**< batches taken from the arenas */
    uint64_t drains;           /**< batches given back (full cache, drain) */
} k23_frames_cpu_stats_t;

/** What k23_frames_arena_info() reports about one arena. */
typedef struct k23_frames_arena_info {
    k23_range_t range;         /**< physical range covered, holes included */
    k23_range_t bookkeeping;   /**< physical range of its bookkeeping area */
    uint64_t usable_frames;    /**< frames it can hand out */
    uint64_t hole_frames;      /**< frames of holes inside @c range */
    uint64_t free_frames;      /**< frames currently in its free blocks */
} k23_frames_arena_info_t;

/** One entry of k23_frames_plan(): an arena k23_frames_init() would
 *  build, or a region it would reject as too small for its bookkeeping. */
typedef struct k23_frames_arena_plan {
    k23_range_t range;         /**< arena: the frame-aligned physical range
                                    covered, holes included; rejected: the
                                    region's whole frames (size 0 when it
                                    holds no whole frame) */
    k23_range_t region;        /**< rejected entries: the region with its
                                    original bounds (touching regions: their
                                    union); arenas: zero */
    uint64_t frames;           /**< frames in @c range */
    uint64_t usable_frames;    /**< frames the arena can hand out (0 when
                                    rejected) */
    uint64_t hole_frames;      /**< frames of holes between merged regions */
    k23_range_t bookkeeping;   /**< frames carved for the bookkeeping (size 0
                                    when rejected) */
    uint64_t bookkeeping_bytes; /**< bookkeeping bytes used (rejected: bytes
                                     that would have been needed) */
    bool rejected;             /**< too small to hold its own bookkeeping */
} k23_frames_arena_plan_t;

/* ---- lifecycle ---- */

/**
 * Fill @p cfg with the defaults for @p frame_size: 4 MiB largest blocks,
 * 11 KiB hole budget, 64-frame caches refilled 16 at a time.
 * @param[out] cfg         configuration to fill
 * @param[in]  frame_size  frame size in bytes (a power of two, 4..64 KiB)
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  @p cfg NULL or @p frame_size unsupported
 * @context Any.
 */
K23_API int k23_frames_config_default(k23_frames_config_t *cfg, uint64_t frame_size);

/**
 * Build the allocator from a memory map.
 *
 * Regions may come in any order and need not be frame aligned; they are
 * aligned inward. Empty regions are ignored; overlapping ones (sharing a
 * byte) are an error. Touching regions (one ends where the next begins,
 * as adjacent UEFI or multiboot descriptors do) are one region: the
 * result is exactly what their union would give. A region that cannot
 * hold its own bookkeeping (and could not be merged with a neighbour) is
 * written to @p rejected and skipped.
 *
 * Cost: O(n) for regions in increasing address order (empty ones may sit
 * anywhere), as k23_fdt_memmap() and k23_ranges_merge() give them;
 * O(n log n) for any other order when the configuration lends a
 * @c sort_scratch of at least @p nregions entries; O(n^2) without one,
 * since @p regions is const and nothing is allocated to sort it.
 *
 * @param[out] fa            allocator storage, overwritten
 * @param[in]  regions       free physical regions
 * @param[in]  nregions      number of regions
 * @param[in]  cfg           configuration; NULL for the 4 KiB defaults
 * @param[out] rejected      regions not used (original bounds, touching
 *                           ones as their union); may be NULL
 *                           when @p rejected_cap is 0
 * @param[in]  rejected_cap  capacity of @p rejected
 * @param[out] nrejected     number of rejected regions (all of them, even
 *                           past @p rejected_cap); may be NULL
 * @retval K23_OK            at least one arena was built
 * @retval K23_ERR_INVAL     NULL pointer, invalid range or configuration
 * @retval K23_ERR_OVERLAP   two regions overlap
 * @retval K23_ERR_LIMIT     more than #K23_FRAMES_MAX_ARENAS arenas needed
 * @retval K23_ERR_TOO_SMALL no region could hold its bookkeeping
 * @context Thread context, before any other use of @p fa. Writes only the
 *          bookkeeping areas it carves.
 */
K23_API int k23_frames_init(k23_frames_t *fa, const k23_range_t *regions,
                    size_t nregions, const k23_frames_config_t *cfg,
                    k23_range_t *rejected, size_t rejected_cap,
                    size_t *nrejected);

/**
 * Plan the arenas k23_frames_init() would build from a memory map, without
 * touching any memory but @p out and @p out_n. k23_frames_init() uses the
 * same selection, so for the same regions and configuration it builds
 * exactly the accepted entries of the plan, in order, and rejects exactly
 * the regions of the rejected entries.
 *
 * Entries are in address order, arenas and rejected regions interleaved.
 * The plan is returned even when no arena results or when there are more
 * than #K23_FRAMES_MAX_ARENAS arenas (k23_frames_init() then fails with
 * #K23_ERR_TOO_SMALL or #K23_ERR_LIMIT).
 *
 * @param[in]  regions  free physical regions, any order, need not be
 *                      frame aligned; empty ones are ignored, touching
 *                      ones are one region (see k23_frames_init(), also
 *                      for the cost)
 * @param[in]  n        number of regions
 * @param[in]  cfg      configuration; NULL for the 4 KiB defaults
 * @param[out] out      entries; may be NULL when @p cap is 0; untouched
 *                      unless K23_OK is returned
 * @param[in]  cap      capacity of @p out, in entries
 * @param[out] out_n    number of entries written, or with
 *                      #K23_ERR_NOSPACE the number needed
 * @retval K23_OK           the plan is in @p out[0 .. *out_n)
 * @retval K23_ERR_NOSPACE  more than @p cap entries; *out_n is the number
 *                          needed, @p out is untouched
 * @retval K23_ERR_INVAL    NULL pointer (@p out_n, @p regions with n > 0,
 *                          @p out with cap > 0), a region that wraps past
 *                          2^64, or an invalid configuration (a
 *                          @c sort_scratch_cap without @c sort_scratch,
 *                          or a scratch that partly overlaps @p regions)
 * @retval K23_ERR_OVERLAP  two regions overlap
 * @context Any. Pure: writes nothing but @p out, @p out_n and the
 *          configuration's @c sort_scratch, so it may run on a host over
 *          another machine's memory map.
 */
K23_API int k23_frames_plan(const k23_range_t *regions, size_t n,
                    const k23_frames_config_t *cfg,
                    k23_frames_arena_plan_t *out, size_t cap, size_t *out_n);

/* ---- operations ---- */

/**
 * Allocate an exact run of frames: `ceil(size / frame_size)` frames, no
 * rounding to a power of two (the remainder stays free), starting at a
 * multiple of `1 << align_log2`, optionally zeroed and below a limit.
 * @param[in,out] fa   allocator
 * @param[in]     req  the request
 * @param[out]    out  physical address of the first frame; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  NULL, size 0, unknown flags, alignment above
 *                        k23_frames_max_alignment()
 * @retval K23_ERR_NOMEM  no such run is free
 * @context Any context that may take the allocator's locks.
 */
K23_API int k23_frames_alloc(k23_frames_t *fa, const k23_frames_req_t *req,
                     k23_paddr_t *out);

/**
 * Allocate one frame, from the calling CPU's cache when it has one.
 * @param[in,out] fa   allocator
 * @param[out]    out  its physical address; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  NULL pointer
 * @retval K23_ERR_NOMEM  no frame left anywhere (caches included)
 * @context Any context that may take the allocator's locks.
 */
K23_API int k23_frames_alloc_one(k23_frames_t *fa, k23_paddr_t *out);

/**
 * As k23_frames_alloc_one(), and the frame is zeroed.
 * @param[in,out] fa   allocator
 * @param[out]    out  its physical address; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  NULL pointer
 * @retval K23_ERR_NOMEM  no frame left
 * @context As k23_frames_alloc_one().
 */
K23_API int k23_frames_alloc_one_zeroed(k23_frames_t *fa, k23_paddr_t *out);

/**
 * Free one frame. Goes to the calling CPU's cache when caches are on.
 * @param[in,out] fa  allocator
 * @param[in]     pa  a frame allocated from @p fa and not yet freed
 * @context As k23_frames_alloc_one(). Panics on a frame that is not
 *          allocated (double free), on a frame the allocator does not own,
 *          on an unaligned address, and on a NULL or never initialised
 *          @p fa.
 */
K23_API void k23_frames_free_one(k23_frames_t *fa, k23_paddr_t pa);

/**
 * Allocate `ceil(size / frame_size)` contiguous frames aligned to
 * `1 << align_log2` bytes (alignments below the frame size mean frame
 * alignment).
 * @param[in,out] fa          allocator
 * @param[in]     size        bytes, > 0
 * @param[in]     align_log2  log2 of the alignment in bytes
 * @param[out]    out         first frame; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  bad argument or alignment too large
 * @retval K23_ERR_NOMEM  no such run free
 * @context As k23_frames_alloc().
 */
K23_API int k23_frames_alloc_contiguous(k23_frames_t *fa, uint64_t size,
                                unsigned align_log2, k23_paddr_t *out);

/**
 * As k23_frames_alloc_contiguous(), and every byte of the run is zeroed.
 * @param[in,out] fa          allocator
 * @param[in]     size        bytes, > 0
 * @param[in]     align_log2  log2 of the alignment in bytes
 * @param[out]    out         first frame; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  bad argument or alignment too large
 * @retval K23_ERR_NOMEM  no such run free
 * @context As k23_frames_alloc().
 */
K23_API int k23_frames_alloc_contiguous_zeroed(k23_frames_t *fa, uint64_t size,
                                       unsigned align_log2, k23_paddr_t *out);

/**
 * Free `ceil(size / frame_size)` frames starting at @p pa. Any allocated
 * frames may be freed together, whichever calls allocated them.
 * @param[in,out] fa    allocator
 * @param[in]     pa    first frame, frame aligned
 * @param[in]     size  bytes, > 0
 * @retval K23_OK         freed
 * @retval K23_ERR_INVAL  NULL, size 0, unaligned @p pa, or the range wraps
 * @context As k23_frames_alloc(). Panics when any frame of the range is
 *          not allocated (double free, partly allocated range) or not owned.
 */
K23_API int k23_frames_free_contiguous(k23_frames_t *fa, k23_paddr_t pa,
                               uint64_t size);

/**
 * All-or-nothing allocation of @p n single frames (not necessarily
 * contiguous) into @p out.
 * @param[in,out] fa     allocator
 * @param[in]     n      number of frames, > 0
 * @param[in]     flags  #K23_FRAMES_ZERO or 0
 * @param[in]     limit  last byte any frame may use, or #K23_FRAMES_NO_LIMIT
 * @param[out]    out    array of @p n addresses; untouched on error
 * @retval K23_OK         all @p n allocated
 * @retval K23_ERR_INVAL  NULL, n == 0, unknown flags
 * @retval K23_ERR_NOMEM  fewer than @p n frames available: none taken
 * @context As k23_frames_alloc().
 */
K23_API int k23_frames_alloc_bulk(k23_frames_t *fa, size_t n, uint32_t flags,
                          k23_paddr_t limit, k23_paddr_t *out);

/**
 * Free @p n single frames, such as those of k23_frames_alloc_bulk().
 * @param[in,out] fa  allocator
 * @param[in]     n   number of frames
 * @param[in]     pa  their addresses
 * @retval K23_OK         freed
 * @retval K23_ERR_INVAL  NULL pointer with n > 0
 * @context As k23_frames_free_one(), which it calls for each frame.
 */
K23_API int k23_frames_free_bulk(k23_frames_t *fa, size_t n, const k23_paddr_t *pa);

/**
 * Give every frame in @p cpu's cache back to the arenas, for a CPU going
 * offline (or to make stats show no cached frames).
 * @param[in,out] fa   allocator
 * @param[in]     cpu  CPU id as k23_port_cpu_local_enter() returns it;
 *                     any value (an id past the last cache drains cache
 *                     id % count)
 * @context Any context that may take the allocator's locks. Panics on a
 *          NULL or never initialised @p fa.
 */
K23_API void k23_frames_drain_cpu(k23_frames_t *fa, unsigned cpu);

/**
 * Drain every per-CPU cache.
 * @param[in,out] fa  allocator
 * @context As k23_frames_drain_cpu(); panics on a NULL or never
 *          initialised @p fa.
 */
K23_API void k23_frames_drain_all(k23_frames_t *fa);

/* ---- adding memory after init ---- */

/**
 * Give the allocator memory it did not have at init, e.g. the device tree
 * or a boot carve-out once the kernel is done with it. The range must lie
 * inside one arena's span, in frames that are a hole there (neither free,
 * handed out nor bookkeeping): init merges nearby regions into one arena,
 * and the frames between them are such holes. The frames become free, as
 * if they had been freed, and join their free neighbours (chunks they
 * complete become entirely free). Each arena records its holes as extents;
 * a range in the middle of a hole cuts it in two and needs one of the
 * arena's #K23_FRAMES_HOLE_SLACK spare extents.
 * @param[in,out] fa    an initialized allocator
 * @param[in]     base  first byte, frame aligned
 * @param[in]     size  bytes, a non-zero multiple of the frame size
 * @retval K23_OK             added
 * @retval K23_ERR_INVAL      NULL or never initialised @p fa, size 0, or
 *                            base + size wraps
 * @retval K23_ERR_ALIGN      base or size not frame aligned
 * @retval K23_ERR_NOT_FOUND  not wholly inside one arena's span (an arena
 *                            cannot be added after init)
 * @retval K23_ERR_OVERLAP    a frame in the range is already the
 *                            allocator's (free, handed out, cached or its
 *                            bookkeeping); nothing was changed
 * @retval K23_ERR_LIMIT      the range cuts a hole in two and the arena's
 *                            spare hole extents are used up; nothing was
 *                            changed (adding the hole's frames from either
 *                            end still works)
 * @context Any context in which the port's lock may be taken.
 */
K23_API int k23_frames_add_region(k23_frames_t *fa, k23_paddr_t base, uint64_t size);

/* ---- introspection ---- */

/**
 * Largest alignment any request can ask for: the largest buddy block size
 * of the largest arena (never below the frame size).
 * @param[in] fa  an initialized allocator
 * @return bytes, a power of two
 * @context Any. Panics on a NULL or never initialised @p fa.
 */
K23_API uint64_t k23_frames_max_alignment(const k23_frames_t *fa);

/**
 * Exact statistics, taken under every lock.
 * @param[in,out] fa   allocator (locks are taken)
 * @param[out]     out the snapshot
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL pointer
 * @context Any context that may take the allocator's locks.
 */
K23_API int k23_frames_stats(k23_frames_t *fa, k23_frames_stats_t *out);

/**
 * One CPU's cache: frames held now and, when the allocator was built with
 * k23_frames_config_t::cpu_stats, its hits, refills and drains since init
 * (0 otherwise). Each is exact for the CPU whose cache did the work; a
 * thread preempted and moved between a cache step and its count is
 * counted on the CPU it landed on (the sums over CPUs are always exact).
 * @param[in,out] fa   allocator (the cache's lock is taken)
 * @param[in]     cpu  CPU id as from k23_port_cpu_id(); folded onto the
 *                     caches as everywhere
 * @param[out]    out  filled; untouched on error
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL or never initialised @p fa, NULL @p out, or
 *                        caches are off
 * @context Any context that may take the allocator's locks.
 */
K23_API int k23_frames_cpu_stats(k23_frames_t *fa, unsigned cpu,
                                 k23_frames_cpu_stats_t *out);

/**
 * The per-frame information record of the frame at @p pa
 * (k23_frames_config_t::info_size bytes, zeroed at init, never touched
 * by the allocator afterwards, whatever the frame's state). The record of
 * a run's first frame is the run's if the caller wants one per run.
 * @param[in] fa  an initialized allocator
 * @param[in] pa  any address inside a frame of an arena
 * @return the record, aligned to the largest power of two (up to 8)
 *         dividing info_size; NULL when per-frame information is off or
 *         @p pa is in no arena
 * @context Any; O(log arenas), no lock. Panics on a NULL or never
 *          initialised @p fa.
 */
K23_API void *k23_frames_info(const k23_frames_t *fa, k23_paddr_t pa);

/**
 * Describe arena @p i (arenas are sorted by address).
 * @param[in]  fa   allocator
 * @param[in]  i    index < number of arenas
 * @param[out] out  filled; untouched on error
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL or @p i out of range
 * @context Any; free_frames is a racy hint unless the caller serialises.
 */
K23_API int k23_frames_arena_info(const k23_frames_t *fa, unsigned i,
                          k23_frames_arena_info_t *out);

/**
 * Walk every arena and cache and check every invariant: the two bits of
 * every frame (no "free and cached"; holes, bookkeeping and padding marked
 * as not memory), each chunk's free counter against its bits and the chunk
 * bitmaps against the counters, the hole extents, the arena counters, and
 * the cache contents. Logs the first inconsistency. Exact whatever
 * other threads are doing: a frame a thread holds between a per-CPU cache
 * step and its state update is counted as in transit, never reported as
 * lost; one that is lost is reported as soon as lost frames outnumber
 * the frames in transit (always, on a quiescent allocator).
 * @param[in,out] fa  allocator (locks are taken)
 * @retval K23_OK           consistent
 * @retval K23_ERR_CORRUPT  an invariant is broken (logged)
 * @retval K23_ERR_INVAL    NULL or never initialised allocator
 * @context Any context that may take the allocator's locks. O(frames).
 */
K23_API int k23_frames_check(k23_frames_t *fa);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_FRAMES_H */
