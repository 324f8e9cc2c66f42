/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file fdt_memmap.h
 * The physical memory map of a device-tree machine, read from its
 * flattened device tree (DTB) with libfdt.
 *
 * k23_fdt_memmap() turns a DTB into what a frame allocator needs: the
 * sorted, non-overlapping free physical regions, each aligned inward to the
 * page size. Along the way it reports everything it used, so that a kernel
 * can log it and the `k23mem-memmap` tool can show it:
 *
 * - RAM: every entry of `reg` (or of `linux,usable-memory` when the node has
 *   it) of every available root child with `device_type = "memory"`,
 *   decoded with the root's `#address-cells` / `#size-cells`
 *   (defaults 2 and 1 when absent, as the Devicetree Specification says;
 *   only 1 or 2 cells are accepted).
 * - Taken out, each with its reason: the `/memreserve/` block; every
 *   available child of `/reserved-memory` that has a `reg`, decoded with the
 *   cells of `/reserved-memory` itself, `no-map` or not; the initrd named by
 *   `/chosen` (`linux,initrd-start` / `linux,initrd-end`, 32- or 64-bit
 *   values); and the caller's own exclusions (the kernel image, the DTB).
 * - Dynamic reservations: available children of `/reserved-memory` without
 *   `reg` (the OS is asked to place them). They take nothing out of the map
 *   by themselves; they are reported so the caller can place them.
 * - Free: RAM minus everything taken out, merged, sorted, aligned inward.
 *
 * Nothing is allocated: every list goes into a caller-provided array. The
 * module is part of the freestanding core; it needs libfdt (built for the
 * target) and the few C library functions libfdt itself calls.
 *
 * Every malformed input gives an error code, never a crash and never a
 * partial map: a truncated or corrupt blob, a wrong magic or version, cell
 * counts out of range, a property whose length is not a whole number of
 * entries, or a range whose end does not fit 64 bits.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build) are reported as #K23_ERR_INVAL with nothing written;
 * k23_fdt_error() and k23_fdt_kind_name() accept every value.
 *
 * Example (kernel start-up, 4 KiB pages):
 * @code
 * k23_fdt_region_t ram[16], taken[32], dyn[8];
 * k23_range_t free[48];
 * k23_range_t excl[2] = { { kernel_base, kernel_size }, { dtb_pa, dtb_size } };
 * k23_fdt_memmap_config_t cfg = {
 *     .page_log2 = 12, .exclude = excl, .nexclude = 2,
 * };
 * k23_fdt_memmap_t map = {
 *     .ram = ram, .ram_cap = 16, .taken = taken, .taken_cap = 32,
 *     .dynamic = dyn, .dynamic_cap = 8, .free = free, .free_cap = 48,
 * };
 * int err = k23_fdt_memmap(dtb, dtb_size, &cfg, &map);
 * if (err == K23_OK)
 *     hand map.free[0 .. map.free_count) to the frame allocator;
 * @endcode
 */
#ifndef K23MEM_FDT_MEMMAP_H
#define K23MEM_FDT_MEMMAP_H

#include "k23mem/error.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** Why a region is in a #k23_fdt_region_t list (its `kind`). */
enum k23_fdt_kind {
    /** RAM from a memory node's `reg` or `linux,usable-memory` */
    K23_FDT_KIND_RAM = 1,
    /** an entry of the `/memreserve/` block */
    K23_FDT_KIND_MEMRESERVE = 2,
    /** a `/reserved-memory` child with `reg` */
    K23_FDT_KIND_RESERVED_MEMORY = 3,
    /** the initrd named by `/chosen` */
    K23_FDT_KIND_INITRD = 4,
    /** a caller-given exclusion */
    K23_FDT_KIND_EXCLUDE = 5,
    /** a `/reserved-memory` child without `reg` */
    K23_FDT_KIND_DYNAMIC = 6
};

/** Flags of a #k23_fdt_region_t (its `flags`), a set of K23_FDT_FLAG_*. */
/** reserved-memory node has `no-map` */
#define K23_FDT_FLAG_NO_MAP (UINT32_C(1) << 0)
/** reserved-memory node has `reusable` */
#define K23_FDT_FLAG_REUSABLE (UINT32_C(1) << 1)
/** RAM came from `linux,usable-memory`, not `reg` */
#define K23_FDT_FLAG_USABLE_MEMORY (UINT32_C(1) << 2)
/** dynamic reservation has a `size` (in range.size) */
#define K23_FDT_FLAG_HAS_SIZE (UINT32_C(1) << 3)
/** dynamic reservation has an `alignment` (in align) */
#define K23_FDT_FLAG_HAS_ALIGN (UINT32_C(1) << 4)

/** Largest page size accepted, as a power of two: 1 GiB. */
#define K23_FDT_PAGE_LOG2_MAX 30

/**
 * One region found in the device tree (or given by the caller), exactly as
 * the blob states it: not aligned to pages.
 */
typedef struct k23_fdt_region {
    k23_range_t range; /**< the bytes; for #K23_FDT_KIND_DYNAMIC base is 0 and
                            size is the node's `size` (0 when it has none) */
    uint64_t align;    /**< #K23_FDT_KIND_DYNAMIC: the node's `alignment`,
                            0 when absent; 0 for every other kind */
    uint32_t kind;     /**< one of enum k23_fdt_kind */
    uint32_t flags;    /**< a set of K23_FDT_FLAG_* */
    int32_t node;      /**< offset of the node in the blob (for fdt_get_path()),
                            -1 for /memreserve/ entries and exclusions */
    uint32_t index;    /**< which entry: of the `reg` property, of the
                            /memreserve/ block, or of the caller's exclusions;
                            0 for the initrd and dynamic reservations */
    const char *name;  /**< never NULL: the node's name inside the blob
                            (valid as long as the blob is), or a static
                            string: "/memreserve/", "linux,initrd",
                            "exclude" */
} k23_fdt_region_t;

/**
 * What k23_fdt_memmap() should do besides reading the tree.
 */
typedef struct k23_fdt_memmap_config {
    unsigned page_log2;         /**< free regions are aligned inward to
                                     1 << page_log2 bytes; 0 (byte
                                     granularity) .. #K23_FDT_PAGE_LOG2_MAX */
    const k23_range_t *exclude; /**< ranges to take out besides those the
                                     tree names (kernel image, the DTB);
                                     may be NULL when nexclude is 0 */
    size_t nexclude;            /**< number of entries in exclude */
} k23_fdt_memmap_config_t;

/**
 * The caller's arrays for the results, and the counts written back.
 *
 * The caller sets every pointer and capacity; a list the caller does not
 * want still needs room (its count is an error otherwise), but NULL with
 * capacity 0 is fine for a list that the tree leaves empty.
 *
 * The counts are written only when k23_fdt_memmap() returns #K23_OK or
 * #K23_ERR_NOSPACE. On #K23_ERR_NOSPACE each count says how many entries
 * that list needs (for `free`, a number that is always enough: exact when
 * `ram` and `taken` fit); the arrays' contents are then unspecified.
 */
typedef struct k23_fdt_memmap {
    k23_fdt_region_t *ram;     /**< RAM regions, sorted by base (may overlap
                                    when the tree repeats RAM) */
    size_t ram_cap;            /**< capacity of ram, entries */
    size_t ram_count;          /**< out: entries written to ram */
    k23_fdt_region_t *taken;   /**< regions taken out, sorted by base; they
                                    may lie partly or wholly outside RAM */
    size_t taken_cap;          /**< capacity of taken, entries */
    size_t taken_count;        /**< out: entries written to taken */
    k23_fdt_region_t *dynamic; /**< dynamic reservations, in tree order */
    size_t dynamic_cap;        /**< capacity of dynamic, entries */
    size_t dynamic_count;      /**< out: entries written to dynamic */
    k23_range_t *free;         /**< free regions: sorted, disjoint, not
                                    touching, non-empty, page-aligned */
    size_t free_cap;           /**< capacity of free, entries */
    size_t free_count;         /**< out: entries written to free */
} k23_fdt_memmap_t;

/**
 * Where a malformed blob went wrong, for an error message. Optional: pass
 * NULL to k23_fdt_memmap() when not wanted.
 */
typedef struct k23_fdt_memmap_diag {
    int libfdt_err;   /**< the libfdt error (negative FDT_ERR_*) behind the
                           failure, 0 when the check was our own */
    int32_t node;     /**< offset of the offending node, -1 when none */
    const char *what; /**< static text naming the part that is wrong, such as
                           "reg" or "header"; never NULL after a failure */
} k23_fdt_memmap_diag_t;

/* ---- operations ---- */

/**
 * Read the memory map of a flattened device tree.
 *
 * The blob is checked in full first (header, magic, version, size against
 * @p fdt_size, structure block) so that a corrupt blob fails before any
 * region is used.
 *
 * @param[in]     fdt       the DTB, 8-byte aligned, read only
 * @param[in]     fdt_size  bytes readable at @p fdt; the blob's own
 *                          totalsize must not exceed it
 * @param[in]     cfg       page size and exclusions; not NULL
 * @param[in,out] map       the caller's arrays in, counts out (see
 *                          #k23_fdt_memmap_t); not NULL
 * @param[out]    diag      where a failure was found; may be NULL. Written
 *                          on every error except #K23_ERR_INVAL and
 *                          #K23_ERR_NOSPACE, untouched on success.
 * @retval K23_OK                 the map is complete
 * @retval K23_ERR_NOSPACE        an array is too small; the counts tell how
 *                                many entries each list needs
 * @retval K23_ERR_INVAL          NULL argument, page_log2 above
 *                                #K23_FDT_PAGE_LOG2_MAX, an invalid
 *                                exclusion range, or an array NULL with
 *                                a non-zero capacity
 * @retval K23_ERR_FDT_MAGIC      not a DTB: wrong magic number
 * @retval K23_ERR_FDT_VERSION    a DTB version before 16, or one libfdt
 *                                cannot read
 * @retval K23_ERR_FDT_TRUNCATED  the blob is shorter than its header says
 * @retval K23_ERR_FDT_CORRUPT    the blob's layout or structure is broken
 * @retval K23_ERR_FDT_CELLS      `#address-cells` / `#size-cells` is not 1
 *                                or 2 where a region is decoded
 * @retval K23_ERR_FDT_REG        a `reg`-like property's length is not a
 *                                whole number of entries, or an initrd
 *                                bound is neither 4 nor 8 bytes
 * @retval K23_ERR_FDT_RANGE      a region's end does not fit 64 bits, or the
 *                                initrd ends before it starts or has only
 *                                one of its bounds
 * @retval K23_ERR_ALIGN          @p fdt is not 8-byte aligned
 * @context Any. Reads the blob only; takes no lock; allocates nothing.
 */
K23_API int k23_fdt_memmap(const void *fdt, size_t fdt_size,
                   const k23_fdt_memmap_config_t *cfg, k23_fdt_memmap_t *map,
                   k23_fdt_memmap_diag_t *diag);

/* ---- introspection ---- */

/**
 * The K23_ERR_* code for a libfdt error, as k23_fdt_memmap() maps them.
 * @param[in] fdt_err  a negative libfdt FDT_ERR_* value (or 0)
 * @return #K23_OK for 0; K23_ERR_FDT_MAGIC, _VERSION, _TRUNCATED, _CELLS,
 *         _REG, #K23_ERR_ALIGN, #K23_ERR_NOT_FOUND, #K23_ERR_NOSPACE for the
 *         matching libfdt errors; #K23_ERR_FDT_CORRUPT for any other
 * @context Any.
 */
K23_API int k23_fdt_error(int fdt_err);

/**
 * A short name for a region kind, for logs: "RAM", "memreserve",
 * "reserved-memory", "initrd", "exclude", "dynamic".
 * @param[in] kind  one of enum k23_fdt_kind
 * @return a static string; "unknown" for other values
 * @context Any.
 */
K23_API const char *k23_fdt_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_FDT_MEMMAP_H */
