/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file aspace.h
 * Address spaces: regions of virtual memory over one page table, their
 * placement (first-fit or randomized), demand-zero paging and fault
 * resolution, and the port's virtual-memory hooks on top.
 *
 * An address space (k23_aspace_t, caller storage) owns a page table
 * (k23_pt_t, created inside it) and a window [lo, last] of virtual
 * addresses it manages. A region is a page-aligned range of the window
 * with permissions, a memory type, a name and a kind:
 *
 * | kind | mapped | frames |
 * |---|---|---|
 * | #K23_ASPACE_WIRED | now, to the physical range given | the caller's; never freed here |
 * | #K23_ASPACE_ANON_EAGER | now, 4 KiB pages | zeroed frames taken now, freed on unmap |
 * | #K23_ASPACE_ANON_LAZY | on the first fault of each page | a zeroed frame per faulting page |
 * | #K23_ASPACE_GUARD | never | none |
 * | #K23_ASPACE_VM | pages the VM hooks commit | zeroed frames per commit |
 *
 * No heap: every frame the address space uses (region records, page-table
 * frames, anonymous memory) comes from one caller-supplied frame source
 * (k23_pt_frame_source_t; k23_pt_frame_source_frames() adapts a
 * k23_frames_t). Region records (63 per 4 KiB frame) and index nodes
 * (7 per frame) are carved from such frames, and a frame goes back as
 * soon as it holds neither.
 *
 * Regions are indexed by a B+tree keyed by address whose nodes are nine
 * cache lines (also carved from frames of the source). Each slot of an
 * inner node keeps, for its subtree, the lowest start, the highest end and
 * the largest gap between two consecutive regions, so lookup and the
 * search for a free range of a given size are O(log n) (docs/aspace.md
 * says when the alignment makes the search look further).
 *
 * Every operation is all or nothing: when it fails (no frame for a
 * record, a table or a page), the regions, the page tables and the frame
 * counts are as before. Operations that remove mappings of anonymous
 * memory invalidate the TLB through the caller's flush object
 * (k23_pt_flush()) before the frames go back, so no CPU can still reach a
 * freed frame; other changes are only recorded in it, as k23_pt_map() and
 * k23_pt_protect() do.
 *
 * Addresses are end-inclusive internally, so a window may end at the very
 * top of the address space (the high half of aarch64 TTBR1, x86_64 or
 * riscv64). Sizes are non-zero multiples of 4 KiB; a range that wraps is
 * #K23_ERR_INVAL.
 *
 * Locking: none. The caller serialises every operation on one address
 * space (a kernel takes its address-space lock around them).
 *
 * Invalid arguments (the README's policy, in every K23_DEBUG build): NULL
 * pointers, an address space never created, unaligned or wrapping ranges,
 * unknown kinds, bad permissions are #K23_ERR_INVAL (#K23_ERR_WX for WRITE
 * with EXECUTE) with out-pointers untouched.
 */
#ifndef K23MEM_ASPACE_H
#define K23MEM_ASPACE_H

#include "k23mem/error.h"
#include "k23mem/pagetable.h"
#include "k23mem/perm.h"
#include "k23mem/port.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** Region kinds. */
#define K23_ASPACE_WIRED      1u /**< mapped now to given physical memory */
#define K23_ASPACE_ANON_EAGER 2u /**< zeroed frames mapped now */
#define K23_ASPACE_ANON_LAZY  3u /**< demand-zero: a frame on the first fault */
#define K23_ASPACE_GUARD      4u /**< reserved, never mapped */
#define K23_ASPACE_VM         5u /**< a reservation of k23_aspace_vm_reserve():
                                  *   pages mapped by k23_aspace_vm_commit() */

/** Bytes of a region name, NUL included; longer names are cut. */
#define K23_ASPACE_NAME_MAX 24u

/** A source of 64 random bits for randomized placement. The library
 *  ships no generator: pass a CSPRNG (a ChaCha20 stream, say). */
typedef uint64_t (*k23_aspace_random_fn)(void *ctx);

/** A region record. Private. The index (a B+tree, src/aspace_tree.c)
 *  keeps base and last of every region beside a pointer to its record,
 *  so a search reads the record only once it has found the region. */
typedef struct k23_aspace_region {
    uint64_t base;      /**< first address, 4 KiB aligned */
    uint64_t last;      /**< last address (base + size - 1) */
    k23_paddr_t pa;     /**< WIRED: physical address of @c base */
    k23_perm_t perm;    /**< permissions (GUARD, VM: NONE) */
    uint8_t kind;       /**< K23_ASPACE_* */
    uint8_t memtype;    /**< K23_PT_MEM_NORMAL or _DEVICE */
    uint8_t map_flags;  /**< WIRED: K23_PT_MAX_LEAF_* given at reserve */
    char name[K23_ASPACE_NAME_MAX]; /**< NUL-terminated */
} k23_aspace_region_t;

/** An address space. Caller storage; fields are private. */
typedef struct k23_aspace {
    /** @cond K23_PRIVATE */
    /* Constant after k23_aspace_create() */
    uint32_t magic;             /**< initialised marker */
    uint64_t lo;                /**< first address of the window */
    uint64_t last;              /**< last address of the window */
    k23_pt_frame_source_t src;  /**< every frame comes from and goes back here */
    /* Changed by operations */
    k23_pt_t pt;                /**< the page table */
    void *root;                 /**< index root node; NULL when empty */
    uint32_t depth;             /**< index levels above the leaves */
    uint32_t nstash;            /**< nodes taken ahead for inserts */
    void *stash;                /**< those nodes, chained */
    void *rec_partial;          /**< record frames with a free record */
    void *node_partial;         /**< index frames with a free node */
    uint64_t nregions;          /**< regions in the tree */
    uint64_t reserved_bytes;    /**< sum of region sizes */
    uint64_t resident_frames;   /**< anonymous frames mapped (owned) */
    uint64_t record_frames;     /**< frames of region records and index nodes */
    uint64_t vm_bytes;          /**< bytes in #K23_ASPACE_VM regions */
    k23_pt_flush_t vm_flush;    /**< the VM hooks' own flush object */
    /** @endcond */
} k23_aspace_t;

/** What to create at k23_aspace_reserve(). */
typedef struct k23_aspace_desc {
    unsigned kind;      /**< K23_ASPACE_WIRED, _ANON_EAGER, _ANON_LAZY, _GUARD */
    k23_perm_t perm;    /**< READ included, W^X; ignored for GUARD */
    unsigned memtype;   /**< K23_PT_MEM_NORMAL or _DEVICE (WIRED only;
                         *   anonymous memory is NORMAL) */
    k23_paddr_t pa;     /**< WIRED: physical start, 4 KiB aligned */
    uint32_t map_flags; /**< WIRED: 0 or K23_PT_MAX_LEAF_4K / _2M */
    const char *name;   /**< copied (cut to #K23_ASPACE_NAME_MAX - 1); may be NULL */
} k23_aspace_desc_t;

/** How k23_aspace_find() places a range. */
typedef struct k23_aspace_placement {
    uint64_t lo;                /**< first address the range may use */
    uint64_t last;              /**< last address the range may use */
    k23_aspace_random_fn random; /**< NULL: first fit (lowest address);
                                  *   else uniform over every aligned
                                  *   position that fits */
    void *random_ctx;           /**< passed to @c random */
} k23_aspace_placement_t;

/** What k23_aspace_lookup() reports. */
typedef struct k23_aspace_info {
    uint64_t base;      /**< first address */
    uint64_t size;      /**< bytes */
    k23_paddr_t pa;     /**< WIRED: physical start; else 0 */
    k23_perm_t perm;    /**< permissions */
    unsigned kind;      /**< K23_ASPACE_* */
    unsigned memtype;   /**< K23_PT_MEM_* */
    char name[K23_ASPACE_NAME_MAX]; /**< its name */
} k23_aspace_info_t;

/** Fault outcomes. */
#define K23_ASPACE_FAULT_RESOLVED  0u /**< a zeroed frame was mapped */
#define K23_ASPACE_FAULT_PRESENT   1u /**< the page is mapped and allows the
                                       *   access: a stale TLB entry (retry) */
#define K23_ASPACE_FAULT_NO_REGION 2u /**< no region holds the address */
#define K23_ASPACE_FAULT_GUARD     3u /**< a guard region */
#define K23_ASPACE_FAULT_DENIED    4u /**< the region does not permit the access */
#define K23_ASPACE_FAULT_NOMEM     5u /**< no frame (or table frame) left */
#define K23_ASPACE_FAULT_UNCOMMITTED 6u /**< a VM reservation page not committed */

/** The answer of k23_aspace_fault(). */
typedef struct k23_aspace_fault_result {
    unsigned outcome;   /**< K23_ASPACE_FAULT_* */
    k23_perm_t needed;  /**< what the access needed (USER for user mode) */
    k23_perm_t allowed; /**< what the region (or the mapped page) allows */
    uint64_t page;      /**< the faulting page */
    uint64_t region_base; /**< the region's start (0 with NO_REGION) */
    uint64_t region_size; /**< its size (0 with NO_REGION) */
    unsigned kind;      /**< its kind (0 with NO_REGION) */
    k23_paddr_t pa;     /**< RESOLVED, PRESENT: the frame of the page */
} k23_aspace_fault_result_t;

/** Exact accounting. */
typedef struct k23_aspace_stats {
    uint64_t regions;         /**< regions */
    uint64_t reserved_bytes;  /**< bytes inside regions, every kind */
    uint64_t resident_frames; /**< anonymous 4 KiB frames mapped */
    uint64_t table_frames;    /**< page-table frames, root included */
    uint64_t record_frames;   /**< frames holding region records and the
                               *   index over them */
} k23_aspace_stats_t;

/* ---- lifecycle ---- */

/**
 * Create an empty address space managing [@p lo, @p last].
 * @param[out] as    storage; untouched on error
 * @param[in]  fmt   page-table format
 * @param[in]  asid  its ASID (see k23_pt_create())
 * @param[in]  src   frame source for everything (copied)
 * @param[in]  lo    first address, 4 KiB aligned
 * @param[in]  last  last address (lo + size - 1, size a multiple of 4 KiB),
 *                   inside the same half of the format as @p lo
 * @retval K23_OK         created
 * @retval K23_ERR_NOMEM  no frame for the root table
 * @retval K23_ERR_INVAL  bad arguments
 * @context Thread context.
 */
K23_API int k23_aspace_create(k23_aspace_t *as, const k23_pt_format_t *fmt,
                      uint32_t asid, const k23_pt_frame_source_t *src,
                      uint64_t lo, uint64_t last);

/**
 * Release every region (anonymous frames back to the source after
 * invalidating through @p flush), then the page table and the record
 * frames. Afterwards every frame the address space took is back.
 * @param[in,out] as     an address space (panics if not one)
 * @param[in,out] flush  an initialised flush object for its ASID; flushed
 * @context Thread context; no CPU runs on the table any more.
 */
K23_API void k23_aspace_destroy(k23_aspace_t *as, k23_pt_flush_t *flush);

/* ---- regions ---- */

/**
 * Create a region at [@p base, @p base + @p size). WIRED maps it now
 * (largest leaves the alignment and @c map_flags allow); ANON_EAGER takes
 * zeroed frames and maps them; ANON_LAZY and GUARD map nothing.
 * @param[in,out] as     address space
 * @param[in]     base   4 KiB aligned, inside the window
 * @param[in]     size   non-zero multiple of 4 KiB; the range inside the window
 * @param[in]     d      what to create
 * @param[in,out] flush  records what must be invalidated (riscv64 new entries)
 * @retval K23_OK         created
 * @retval K23_ERR_BUSY   the range overlaps a region
 * @retval K23_ERR_NOMEM  no frame for a record, a table or a page
 * @retval K23_ERR_WX     WRITE and EXECUTE
 * @retval K23_ERR_INVAL  bad arguments
 * @context Thread context.
 */
K23_API int k23_aspace_reserve(k23_aspace_t *as, uint64_t base, uint64_t size,
                       const k23_aspace_desc_t *d, k23_pt_flush_t *flush);

/**
 * Find a free range of @p size bytes aligned to 2^@p align_log2 inside
 * the placement bounds (and the window). Changes nothing.
 * @param[in]  as          address space
 * @param[in]  size        non-zero multiple of 4 KiB
 * @param[in]  align_log2  12..63
 * @param[in]  pl          bounds and policy; NULL: the whole window, first fit
 * @param[out] out         start of the range; untouched on error
 * @retval K23_OK             found
 * @retval K23_ERR_NOT_FOUND  no such range
 * @retval K23_ERR_INVAL      bad arguments (alignment < 4 KiB or > 2^63,
 *                            bounds outside the window or reversed)
 * @context Thread context. Calls @c pl->random a bounded number of
 *          times plus, when the space is crowded, once per attempt of a
 *          uniform draw.
 */
K23_API int k23_aspace_find(const k23_aspace_t *as, uint64_t size,
                    unsigned align_log2, const k23_aspace_placement_t *pl,
                    uint64_t *out);

/**
 * k23_aspace_find() then k23_aspace_reserve() at the place found.
 * @param[in,out] as          address space
 * @param[in]     size        as k23_aspace_find()
 * @param[in]     align_log2  as k23_aspace_find()
 * @param[in]     pl          as k23_aspace_find()
 * @param[in]     d           as k23_aspace_reserve()
 * @param[in,out] flush       as k23_aspace_reserve()
 * @param[out]    out         start of the region; untouched on error
 * @return as k23_aspace_find() and k23_aspace_reserve()
 * @context Thread context.
 */
K23_API int k23_aspace_reserve_any(k23_aspace_t *as, uint64_t size,
                           unsigned align_log2,
                           const k23_aspace_placement_t *pl,
                           const k23_aspace_desc_t *d, k23_pt_flush_t *flush,
                           uint64_t *out);

/**
 * Remove [@p base, @p base + @p size) from the one region that holds it
 * (the rest of the region stays, as one or two regions). Anonymous frames
 * of the range go back to the source after @p flush was carried out;
 * wired memory is only unmapped.
 * @param[in,out] as     address space
 * @param[in]     base   4 KiB aligned
 * @param[in]     size   non-zero multiple of 4 KiB
 * @param[in,out] flush  flush object of the address space's ASID
 * @retval K23_OK         removed
 * @retval K23_ERR_NOT_FOUND  no single region holds the whole range
 * @retval K23_ERR_NOMEM  no frame for a record or to split a wired block
 * @retval K23_ERR_INVAL  bad arguments
 * @context Thread context.
 */
K23_API int k23_aspace_unmap(k23_aspace_t *as, uint64_t base, uint64_t size,
                     k23_pt_flush_t *flush);

/**
 * Release the whole region that holds @p addr: k23_aspace_unmap() of all
 * of it.
 * @param[in,out] as     address space
 * @param[in]     addr   any address of the region
 * @param[in,out] flush  flush object of the address space's ASID
 * @retval K23_OK             released
 * @retval K23_ERR_NOT_FOUND  no region holds @p addr
 * @retval K23_ERR_NOMEM      see k23_aspace_unmap()
 * @retval K23_ERR_INVAL      bad arguments
 * @context Thread context.
 */
K23_API int k23_aspace_release(k23_aspace_t *as, uint64_t addr,
                       k23_pt_flush_t *flush);

/**
 * Change the permissions of [@p base, @p base + @p size) inside one
 * region, splitting it (and a wired block, through k23_pt_protect()) as
 * needed. Lazy pages not yet faulted get the new permissions when they
 * are.
 * @param[in,out] as     address space
 * @param[in]     base   4 KiB aligned
 * @param[in]     size   non-zero multiple of 4 KiB
 * @param[in]     perm   READ included, W^X
 * @param[in,out] flush  records what must be invalidated
 * @retval K23_OK             done
 * @retval K23_ERR_NOT_FOUND  no single region holds the range
 * @retval K23_ERR_BUSY       the region is GUARD or VM (no permissions)
 * @retval K23_ERR_NOMEM      no frame for a record or a split
 * @retval K23_ERR_WX         WRITE and EXECUTE
 * @retval K23_ERR_INVAL      bad arguments
 * @context Thread context.
 */
K23_API int k23_aspace_protect(k23_aspace_t *as, uint64_t base, uint64_t size,
                       k23_perm_t perm, k23_pt_flush_t *flush);

/**
 * The region holding @p addr. O(log n).
 * @param[in]  as    address space
 * @param[in]  addr  any address
 * @param[out] out   the region; untouched on error
 * @retval K23_OK             found
 * @retval K23_ERR_NOT_FOUND  no region holds @p addr
 * @retval K23_ERR_INVAL      NULL or not an address space
 * @context Any; the caller keeps writers away.
 */
K23_API int k23_aspace_lookup(const k23_aspace_t *as, uint64_t addr,
                      k23_aspace_info_t *out);

/* ---- faults ---- */

/**
 * Resolve a page fault at @p addr. A lazy region's page that is not
 * mapped gets a zeroed frame mapped with the region's permissions when
 * the region permits the access; everything else is reported, not
 * changed. The needed permissions come from k23_fault_to_perm() (plus
 * USER when @p user).
 * @param[in,out] as     address space
 * @param[in]     addr   faulting address
 * @param[in]     cause  K23_FAULT_LOAD, _STORE, _INSTRUCTION (k23_fault_is_valid())
 * @param[in]     user   the access came from user mode
 * @param[in,out] flush  records what must be invalidated (riscv64)
 * @param[out]    res    the outcome, also on K23_ERR_NOMEM and
 *                       K23_ERR_NOT_FOUND; untouched on K23_ERR_INVAL
 * @retval K23_OK             RESOLVED or PRESENT: retry the access
 * @retval K23_ERR_NOT_FOUND  NO_REGION, GUARD, DENIED or UNCOMMITTED:
 *                            deliver the fault
 * @retval K23_ERR_NOMEM      NOMEM (nothing changed)
 * @retval K23_ERR_INVAL      bad arguments
 * @context Thread context (the fault handler, with the address-space lock).
 */
K23_API int k23_aspace_fault(k23_aspace_t *as, uint64_t addr, k23_fault_t cause,
                     bool user, k23_pt_flush_t *flush,
                     k23_aspace_fault_result_t *res);

/* ---- the port's VM hooks over an address space ---- */

/**
 * k23_port_vm_reserve() over @p as: a #K23_ASPACE_VM region, first fit in
 * the window, nothing mapped. A kernel port forwards its hook here under
 * its lock (docs/porting.md).
 * @param[in,out] as     address space
 * @param[in]     size   non-zero multiple of 4 KiB
 * @param[in]     align  power of two >= 4 KiB
 * @param[out]    out    start; untouched on error
 * @retval K23_OK         reserved
 * @retval K23_ERR_NOMEM  no free range or no record frame
 * @retval K23_ERR_INVAL  bad arguments
 * @context Thread context.
 */
K23_API int k23_aspace_vm_reserve(k23_aspace_t *as, size_t size, size_t align,
                          void **out);

/**
 * k23_port_vm_commit(): every page of the range maps with @p perm; pages
 * not mapped before get zeroed frames, mapped ones keep their contents.
 * All or nothing.
 * @param[in,out] as    address space
 * @param[in]     addr  4 KiB aligned, inside one VM reservation
 * @param[in]     size  non-zero multiple of 4 KiB
 * @param[in]     perm  READ included, W^X; NONE is #K23_ERR_INVAL
 * @retval K23_OK         committed
 * @retval K23_ERR_NOMEM  no frame
 * @retval K23_ERR_WX     WRITE and EXECUTE
 * @retval K23_ERR_INVAL  bad arguments, or not inside one reservation
 * @context Thread context.
 */
K23_API int k23_aspace_vm_commit(k23_aspace_t *as, void *addr, size_t size,
                         k23_perm_t perm);

/**
 * k23_port_vm_decommit(): unmap the range's pages, invalidate, free their
 * frames. A later commit gives zeroed memory.
 * @param[in,out] as    address space
 * @param[in]     addr  4 KiB aligned, inside one VM reservation
 * @param[in]     size  non-zero multiple of 4 KiB
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  bad arguments, or not inside one reservation
 * @context Thread context.
 */
K23_API int k23_aspace_vm_decommit(k23_aspace_t *as, void *addr, size_t size);

/**
 * k23_port_vm_release(): give back a whole reservation (its committed
 * frames too).
 * @param[in,out] as    address space
 * @param[in]     addr  exactly what k23_aspace_vm_reserve() returned
 * @param[in]     size  exactly the size reserved
 * @retval K23_OK         released
 * @retval K23_ERR_INVAL  not a reservation of that start and size
 * @context Thread context.
 */
K23_API int k23_aspace_vm_release(k23_aspace_t *as, void *addr, size_t size);

/**
 * k23_port_caps() fields for VM hooks backed by @p as: 4 KiB pages and
 * granularity, decommit and release that really return memory, has_vm.
 * @c pkeys_available is left as it was.
 * @param[in]     as    address space
 * @param[in,out] caps  VM fields filled
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL
 * @context Any.
 */
K23_API int k23_aspace_vm_caps(const k23_aspace_t *as, k23_port_caps_t *caps);

/**
 * k23_port_vm_reserved_bytes(): bytes in VM reservations.
 * @param[in] as  address space (panics if not one)
 * @return the byte count
 * @context Any.
 */
K23_API size_t k23_aspace_vm_reserved_bytes(const k23_aspace_t *as);

/* ---- introspection ---- */

/**
 * Exact accounting.
 * @param[in]  as   address space
 * @param[out] out  filled; untouched on error
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL or not an address space
 * @context Any; the caller keeps writers away.
 */
K23_API int k23_aspace_stats(const k23_aspace_t *as, k23_aspace_stats_t *out);

/**
 * The page table (for activation, and for tests that read it).
 * @param[in] as  address space (panics if not one)
 * @return its k23_pt_t
 * @context Any.
 */
K23_API const k23_pt_t *k23_aspace_pt(const k23_aspace_t *as);

/**
 * Walk the index and check every invariant: order, no overlap, node
 * fill, leaves at one depth, subtree aggregates, index keys equal to the
 * records, counts, every region inside the window.
 * @param[in] as  address space
 * @retval K23_OK           consistent
 * @retval K23_ERR_CORRUPT  an invariant is broken (logged)
 * @retval K23_ERR_INVAL    NULL or not an address space
 * @context Any; the caller keeps writers away.
 */
K23_API int k23_aspace_check(const k23_aspace_t *as);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_ASPACE_H */
