/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file kmem.h
 * Kernel object caches (Bonwick's slab allocator with per-CPU magazines)
 * and k23_kmalloc() on top of them, with storage from the frame allocator.
 *
 * A cache hands out objects of one size. Objects live in *slabs*: blocks
 * of `slab_bytes` (eight frames, at least 32 KiB: 32 KiB with 4 KiB
 * frames, 512 KiB with 64 KiB frames), aligned
 * to their size, with the slab's header and one state byte per object at
 * the block's end. Every CPU has a *magazine* per cache, a stack of free
 * objects used through the port's CPU-local stack hooks, so a hit takes no
 * shared lock (lock-free on the hosted rseq path; a per-CPU lock where the
 * port has no fast path). A miss moves a batch between the magazine and
 * the slabs under the cache's lock. A free from another CPU goes to the
 * freeing CPU's magazine: correct, and as cheap as a local free.
 *
 * k23_kmalloc() rounds a request up to one of a fixed set of size classes
 * (8 bytes up to half a frame, four classes per power of two); larger
 * requests become frame runs. k23_kfree() finds a pointer's cache from
 * the address alone, through a map of the frame allocator's memory that
 * holds, for each 32 KiB block, the id of the cache whose slab it is.
 *
 * Misuse panics through the port, naming the object and its cache: a
 * double free, a free of memory that no cache or k23_kmalloc() handed
 * out, a free to the wrong cache. With #K23_KMEM_DEBUG_REDZONE and
 * #K23_KMEM_DEBUG_POISON, writes past an object and writes to a freed
 * object are reported too.
 *
 * The direct map (k23_port_phys_to_virt() or the configured translation)
 * must keep slab alignment: a slab's virtual address is aligned like its
 * physical one. Identity maps and direct maps at an aligned offset do.
 */
#ifndef K23MEM_KMEM_H
#define K23MEM_KMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k23mem/frames.h"
#include "k23mem/port.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** k23_kmalloc() / k23_kmem_cache_alloc() flag: zero the object. */
#define K23_KMEM_ZERO 1u

/** Cache flag: fill freed objects with a pattern and check it when they
 *  are handed out again (use after free). Not for caches with a
 *  constructor, whose objects keep their constructed state while free. */
#define K23_KMEM_DEBUG_POISON 1u
/** Cache flag: an 8-byte guard after each object, checked on free
 *  (writes past the end). */
#define K23_KMEM_DEBUG_REDZONE 2u

/** Longest cache name kept, bytes (longer names are cut). */
#define K23_KMEM_NAME_MAX 24
/** Upper bound on the number of k23_kmalloc() size classes. */
#define K23_KMEM_CLASSES_MAX 48
/** Objects a CPU's magazine holds. */
#define K23_KMEM_MAGAZINE 64
/** Objects moved between a magazine and the slabs per refill or drain. */
#define K23_KMEM_BATCH 32

/** Optional constructor: called once per object when its slab is made.
 *  A freed object must be back in its constructed state. */
typedef void (*k23_kmem_ctor_t)(void *obj, void *ctx);

/** A cache of fixed-size objects. Opaque; its storage comes from the frame
 *  allocator. */
typedef struct k23_kmem_cache k23_kmem_cache_t;

/** Large-allocation record (k23_kmalloc() beyond the classes). Private. */
struct k23_kmem_large;

/** Options of k23_kmem_init(). Zero means the default everywhere. */
typedef struct k23_kmem_config {
    uint32_t kmalloc_flags; /**< K23_KMEM_DEBUG_* for the kmalloc classes */
    /** Translation of physical addresses for the caches' own accesses;
     *  NULL uses k23_port_phys_to_virt() / k23_port_virt_to_phys(). Both
     *  or neither. */
    void *(*phys_to_virt)(void *ctx, k23_paddr_t pa);
    /** The inverse of @c phys_to_virt; NULL with it. */
    k23_paddr_t (*virt_to_phys)(void *ctx, const void *va);
    void *xlate_ctx;        /**< passed to both translations */
} k23_kmem_config_t;

/** The object-cache layer over one frame allocator. The caller provides
 *  the storage and calls k23_kmem_init(). Fields are private. */
typedef struct k23_kmem {
    /** @cond K23_PRIVATE */
    uint64_t magic;            /**< set by init, cleared by destroy */
    /* What k23_kmalloc() and k23_kfree() read on a cache hit, together. */
    uintptr_t map_vlo;         /**< virtual address of @c lo when the direct
                                *   map is linear */
    uint64_t map_span;         /**< @c hi - @c lo then, else 0 (every lookup
                                *   takes the translating path) */
    /** entry i: id of the cache whose slab is block lo + i*slab, or 0 */
    uint16_t *slab_map;
    unsigned slab_shift;       /**< log2(slab bytes) */
    unsigned nclasses;         /**< kmalloc classes in use (ids 1..n) */
    uint32_t table_bytes;      /**< requests up to this use @c class_of */
    /** class of a request of 8i+1 .. 8i+8 bytes (up to 1 KiB) */
    k23_kmem_cache_t *class_of[128];
    k23_kmem_cache_t *classes[K23_KMEM_CLASSES_MAX]; /**< their caches */
    k23_frames_t *fa;          /**< where slabs come from */
    k23_kmem_config_t cfg;     /**< translations and flags in use */
    uint16_t next_id;          /**< where the search for a cache id starts */
    uint32_t class_size[K23_KMEM_CLASSES_MAX]; /**< bytes per class */
    k23_kmem_cache_t *records; /**< cache of large-allocation records */
    k23_port_lock_t lock;      /**< guards the cache list and large table */
    k23_kmem_cache_t *caches K23_GUARDED_BY(lock); /**< every cache, linked */
    k23_paddr_t lo;            /**< the frame allocator's memory: first byte */
    k23_paddr_t hi;            /**< and the end (exclusive) */
    bool linear;               /**< the direct map is one offset over it */
    uint64_t vdelta;           /**< that offset: virtual - physical */
    k23_paddr_t slab_map_pa;   /**< the slab map's frames */
    uint64_t slab_map_bytes;   /**< and their size */
    struct k23_kmem_large **large K23_PT_GUARDED_BY(lock); /**< hash buckets
                               *   of large allocations */
    k23_paddr_t large_pa;      /**< the bucket array's frame */
    unsigned large_nbuckets;   /**< a power of two */
    uint64_t large_count K23_GUARDED_BY(lock); /**< live large allocations */
    uint64_t large_bytes K23_GUARDED_BY(lock); /**< bytes of frames they hold */
    /** @endcond */
} k23_kmem_t;

/** What k23_kmem_cache_stats() reports; exact at the moment it is taken. */
typedef struct k23_kmem_cache_stats {
    uint64_t object_size;      /**< bytes asked for at creation */
    uint64_t stride;           /**< bytes between objects in a slab */
    uint64_t objects_per_slab; /**< objects in one slab */
    uint64_t slab_bytes;       /**< bytes of one slab */
    uint64_t objects_in_use;   /**< handed out and not freed */
    uint64_t objects_cached;   /**< free, held by the CPUs' magazines */
    uint64_t slabs_full;       /**< slabs with no free object left */
    uint64_t slabs_partial;    /**< slabs with some */
    uint64_t slabs_empty;      /**< slabs whose objects are all free */
    uint64_t overhead_bytes;   /**< bytes taken from the frame allocator
                                *   that no live object uses: free objects,
                                *   slab headers and tails, the cache's own
                                *   record and magazines */
} k23_kmem_cache_stats_t;

/** One size class of k23_kmalloc(), from k23_kmem_class_info(). */
typedef struct k23_kmem_class_info {
    uint64_t size;             /**< largest request of this class */
    uint64_t objects_per_slab; /**< objects one slab holds */
    uint64_t slab_bytes;       /**< bytes of a slab */
    uint64_t waste_per_object; /**< slab bytes / objects - size: header,
                                *   state byte and tail per object */
} k23_kmem_class_info_t;

/**
 * Set up the object caches over @p fa, with the k23_kmalloc() classes.
 * Takes a few frames (the slab bitmap, the large-allocation table, the
 * classes' records).
 * @param[out] km   storage for the object-cache layer
 * @param[in]  fa   an initialised frame allocator; outlives @p km
 * @param[in]  cfg  options, or NULL for the defaults
 * @retval K23_OK         ready
 * @retval K23_ERR_INVAL  NULL @p km or @p fa, an uninitialised @p fa,
 *                        unknown flags, one translation without the other
 * @retval K23_ERR_NOMEM  not enough frames
 * @context Thread context, once per @p km.
 */
K23_API int k23_kmem_init(k23_kmem_t *km, k23_frames_t *fa,
                  const k23_kmem_config_t *cfg);

/**
 * Give everything back to the frame allocator: the kmalloc classes, the
 * internal tables. Every cache created with k23_kmem_cache_create() must
 * have been destroyed, and every k23_kmalloc() object freed.
 * @param[in,out] km  an initialised layer
 * @retval K23_OK         done; @p km may be initialised again
 * @retval K23_ERR_INVAL  NULL or not initialised
 * @retval K23_ERR_BUSY   a cache still exists or an object is still in
 *                        use; nothing was changed
 * @context Thread context; no other call on @p km meanwhile.
 */
K23_API int k23_kmem_destroy(k23_kmem_t *km);

/**
 * Create a cache of objects of @p size bytes aligned to @p align.
 * @param[in,out] km     an initialised layer
 * @param[in]     name   shown in panics and stats (copied, cut to
 *                       #K23_KMEM_NAME_MAX - 1 bytes); not NULL
 * @param[in]     size   bytes per object, 1 .. slab bytes / 4
 * @param[in]     align  a power of two up to the frame size, or 0 for 8
 * @param[in]     ctor   constructor, or NULL
 * @param[in]     ctx    passed to @p ctor
 * @param[in]     flags  K23_KMEM_DEBUG_* (POISON only without @p ctor)
 * @param[out]    out    the cache; untouched on error
 * @retval K23_OK         created
 * @retval K23_ERR_INVAL  a bad argument
 * @retval K23_ERR_NOMEM  no frame for the cache's record, or 65535
 *                        caches (the kmalloc classes included) live
 * @context Thread context.
 */
K23_API int k23_kmem_cache_create(k23_kmem_t *km, const char *name, size_t size,
                          size_t align, k23_kmem_ctor_t ctor, void *ctx,
                          uint32_t flags, k23_kmem_cache_t **out);

/**
 * Destroy an empty cache: its magazines are drained and its slabs go back
 * to the frame allocator.
 * @param[in] c  a cache of k23_kmem_cache_create()
 * @retval K23_OK         destroyed; @p c is gone
 * @retval K23_ERR_INVAL  NULL, or a kmalloc class
 * @retval K23_ERR_BUSY   objects still in use; nothing was changed
 * @context Thread context; no other call on @p c meanwhile.
 */
K23_API int k23_kmem_cache_destroy(k23_kmem_cache_t *c);

/**
 * Allocate one object.
 * @param[in] c      a cache
 * @param[in] flags  #K23_KMEM_ZERO (not with a constructor) or 0
 * @return the object, or NULL when no frame is left for a new slab
 * @context As k23_frames_alloc_one(). Panics on a NULL or destroyed
 *          cache or bad flags (it cannot report them).
 */
K23_API void *k23_kmem_cache_alloc(k23_kmem_cache_t *c, uint32_t flags);

/**
 * Free an object of @p c. Panics, naming the object and the cache, on a
 * double free, on an object of another cache and on memory no cache
 * handed out; with #K23_KMEM_DEBUG_REDZONE, on a write past the object.
 * @param[in] c    the cache the object came from
 * @param[in] obj  the object; NULL is ignored
 * @context As k23_frames_free_one().
 */
K23_API void k23_kmem_cache_free(k23_kmem_cache_t *c, void *obj);

/**
 * Return the cache's empty slabs to the frame allocator, after draining
 * every CPU's magazine into them.
 * @param[in]  c       a cache
 * @param[out] frames  frames given back (may be NULL)
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  NULL cache
 * @context Thread context.
 */
K23_API int k23_kmem_cache_shrink(k23_kmem_cache_t *c, uint64_t *frames);

/**
 * Statistics of a cache, exact: every magazine is fenced while they are
 * counted.
 * @param[in]  c    a cache
 * @param[out] out  filled; untouched on error
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL argument
 * @context Thread context.
 */
K23_API int k23_kmem_cache_stats(k23_kmem_cache_t *c, k23_kmem_cache_stats_t *out);

/**
 * Check a cache's invariants: slab lists, free bitmaps, state bytes and
 * counts agree (every magazine fenced meanwhile).
 * @param[in] c  a cache
 * @retval K23_OK           consistent
 * @retval K23_ERR_INVAL    NULL cache
 * @retval K23_ERR_CORRUPT  an invariant does not hold (logged)
 * @context Thread context.
 */
K23_API int k23_kmem_cache_check(k23_kmem_cache_t *c);

/**
 * Allocate @p size bytes: from the smallest size class that holds them,
 * aligned to the largest power of two dividing the class size (at most a
 * frame), or as a frame run beyond the largest class.
 * @param[in,out] km     an initialised layer
 * @param[in]     size   bytes, > 0
 * @param[in]     flags  #K23_KMEM_ZERO or 0
 * @return the memory, or NULL when @p size is 0, overflows a frame run,
 *         or no frames are left
 * @context As k23_frames_alloc(). Panics on a NULL or uninitialised
 *          @p km or unknown flags.
 */
K23_API void *k23_kmalloc(k23_kmem_t *km, size_t size, uint32_t flags);

/**
 * Allocate an array of @p n elements of @p size bytes each, as
 * k23_kmalloc(km, n * size, flags), but a product that does not fit a
 * size_t is refused instead of wrapping to a small allocation.
 * @param[in,out] km     an initialised layer
 * @param[in]     n      elements, > 0
 * @param[in]     size   bytes per element, > 0
 * @param[in]     flags  #K23_KMEM_ZERO or 0
 * @return the memory, or NULL when @p n or @p size is 0, when
 *         @p n * @p size overflows, or as k23_kmalloc()
 * @context As k23_kmalloc(), and panics on the same misuse.
 */
K23_API void *k23_kmalloc_array(k23_kmem_t *km, size_t n, size_t size,
                                uint32_t flags);

/**
 * Resize memory of k23_kmalloc(), keeping its contents up to the smaller
 * of the old usable size and @p size.
 *
 * - @p ptr NULL: the same as k23_kmalloc(km, size, flags).
 * - @p size at most the usable size: @p ptr is returned unchanged, unless
 *   @p size needs less than half of it and a smaller allocation can be
 *   had; then the contents move there and the old memory is freed. A
 *   shrink never fails.
 * - larger: the contents move to a new allocation and the old memory is
 *   freed. With #K23_KMEM_ZERO the bytes past the old usable size are
 *   zero (the bytes before it are the old ones, whatever the caller left
 *   there).
 *
 * On failure (@p size 0, too large, no frames left) NULL is returned and
 * @p ptr stays allocated, its contents untouched.
 * @param[in,out] km     the layer @p ptr came from
 * @param[in]     ptr    live memory of k23_kmalloc(), or NULL
 * @param[in]     size   bytes wanted, > 0
 * @param[in]     flags  #K23_KMEM_ZERO or 0
 * @return the memory (@p ptr or a new address), or NULL
 * @context As k23_kmalloc(). Panics like k23_kfree(), naming the
 *          address, when @p ptr is not live memory of k23_kmalloc().
 */
K23_API void *k23_krealloc(k23_kmem_t *km, void *ptr, size_t size,
                           uint32_t flags);

/**
 * Free memory of k23_kmalloc(), found from the address alone. Panics,
 * naming the address, on a double free and on an address k23_kmalloc()
 * did not return.
 * @param[in,out] km   the layer it came from
 * @param[in]     ptr  the memory; NULL is ignored
 * @context As k23_frames_free_one().
 */
K23_API void k23_kfree(k23_kmem_t *km, void *ptr);

/**
 * Usable size of memory of k23_kmalloc(): its class's size, or the frame
 * run's bytes. Panics like k23_kfree() on a foreign address.
 * @param[in] km   the layer
 * @param[in] ptr  memory of k23_kmalloc(), not NULL
 * @return bytes the caller may use
 */
K23_API size_t k23_kmalloc_usable_size(k23_kmem_t *km, const void *ptr);

/**
 * Describe kmalloc size class @p i (0 .. count - 1; the count is
 * returned by k23_kmem_class_count()).
 * @param[in]  km   an initialised layer
 * @param[in]  i    class index
 * @param[out] out  filled; untouched on error
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL argument or @p i out of range
 */
K23_API int k23_kmem_class_info(const k23_kmem_t *km, unsigned i,
                        k23_kmem_class_info_t *out);

/**
 * Number of kmalloc size classes; panics on NULL.
 * @param[in] km  an initialised layer
 * @return the count
 */
K23_API unsigned k23_kmem_class_count(const k23_kmem_t *km);

#ifdef __cplusplus
}
#endif

#endif
