/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file instance_pool.h
 * Pooling instance allocator: instance blocks, linear memories and tables
 * from slots reserved up front.
 *
 * Memories come from a memory pool (mempool.h: one slab of equal slots with
 * guard regions). Tables and instance blocks come from two more slabs kept
 * here, one slot per table or instance. Freed slots are reset (zeroed up to
 * `keep_resident` bytes, the rest decommitted) and reused last-in first-out,
 * so a steady instantiate/tear-down loop makes no system calls for
 * instance blocks and tables, and none for memories within keep_resident.
 *
 * Every module is validated against the limits before anything is
 * allocated (k23_instance_validate_module(), called by
 * k23_instance_allocate_module()). Running out of slots is #K23_ERR_FULL.
 * Memory protection keys are not used (one stripe): the six operations do
 * not know which store a memory belongs to.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): a function that returns an error code reports a NULL pointer or
 * an out-of-range value as #K23_ERR_INVAL (or the code listed) and leaves
 * its out-pointers untouched; one that returns nothing, a count, a flag or
 * an address panics through k23_port_panic() with a message naming the
 * function and the failed check.
 */
#ifndef K23MEM_INSTANCE_POOL_H
#define K23MEM_INSTANCE_POOL_H

#include "k23mem/error.h"
#include "k23mem/instance.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** Limits of a pooling allocator (wasmtime's `InstanceLimits` plus the
 *  tunables that shape memory slots). Start from
 *  k23_instance_pool_config_default(). */
typedef struct k23_instance_pool_config {
    uint32_t total_instances;         /**< instance blocks, > 0 */
    uint32_t total_memories;          /**< memory slots */
    uint32_t total_tables;            /**< table slots */
    uint32_t max_memories_per_module; /**< defined memories per module */
    uint32_t max_tables_per_module;   /**< defined tables per module */
    uint64_t max_memory_size;         /**< bytes a pooled memory may grow to */
    uint64_t memory_reservation;      /**< bytes reserved per memory slot, >= max_memory_size */
    uint64_t memory_guard_size;       /**< guard bytes after each memory's reservation */
    uint64_t table_elements;          /**< elements a pooled table may grow to */
    uint32_t table_element_size;      /**< largest element size, bytes, > 0 */
    size_t max_instance_size;         /**< largest instance context, bytes, > 0 */
    uint64_t keep_resident;           /**< bytes of a freed memory or table kept committed (zeroed) */
    uint32_t max_unused_warm_slots;   /**< freed memory slots left waiting before they are reused (mempool.h); 0: reuse at once */
} k23_instance_pool_config_t;

/** Counters of a pooling allocator. */
typedef struct k23_instance_pool_stats {
    size_t instances;       /**< instance slots in use */
    size_t memories;        /**< memory slots in use */
    size_t tables;          /**< table slots in use */
    size_t peak_instances;  /**< highest instances seen */
    size_t reserved_bytes;  /**< address space of all three slabs and bookkeeping */
    uint64_t total_full;    /**< allocations refused with #K23_ERR_FULL */
} k23_instance_pool_stats_t;

/** The pooling allocator; opaque. */
typedef struct k23_instance_pool k23_instance_pool_t;

/* ---- lifecycle ---- */

/**
 * Defaults: 100 instances of up to 64 KiB context; 100 memories of at
 * most 4 GiB with a 4 GiB reservation and 32 MiB guard (10 MiB, 10 MiB and
 * no guard where size_t is 32 bits); 100 tables of 20000 pointer-size
 * elements; one memory and one table per module; 64 KiB kept resident;
 * freed memory slots reused at once (no warm-slot reserve).
 * @param[out] cfg  filled completely; NULL panics
 * @context Any.
 */
K23_API void k23_instance_pool_config_default(k23_instance_pool_config_t *cfg);

/**
 * Create a pooling allocator: a memory pool and the table and instance
 * slabs, all reserved now.
 * @param[in]  cfg   limits
 * @param[out] pool  the pool; untouched on error
 * @param[out] out   the allocator (ops + context); untouched on error
 * @retval K23_OK         created
 * @retval K23_ERR_INVAL  NULL pointer, total_instances 0 or UINT32_MAX,
 *                        total_tables UINT32_MAX, element size 0,
 *                        instance size 0
 * @retval K23_ERR_LIMIT  a slab size overflows
 * @retval K23_ERR_NOMEM  no address space
 * @return or any error of k23_mempool_create()
 * @context Thread context.
 */
K23_API int k23_instance_pool_create(const k23_instance_pool_config_t *cfg,
                             k23_instance_pool_t **pool,
                             k23_instance_allocator_t *out);

/**
 * Destroy an empty pooling allocator.
 * @param[in] pool  the pool, or NULL (nothing happens)
 * @retval K23_OK        destroyed, all address space released
 * @retval K23_ERR_BUSY  something is still allocated; nothing was done
 * @context Thread context; nobody else may use @p pool.
 */
K23_API int k23_instance_pool_destroy(k23_instance_pool_t *pool);

/* ---- introspection ---- */

/**
 * Snapshot the counters.
 * @param[in]  pool  the pool; NULL panics
 * @param[out] out   the counters; NULL panics
 * @context Any.
 */
K23_API void k23_instance_pool_stats(k23_instance_pool_t *pool,
                             k23_instance_pool_stats_t *out);

/**
 * Check the free lists and counters (and the memory pool's).
 * @param[in] pool  the pool
 * @retval K23_OK           consistent
 * @retval K23_ERR_CORRUPT  an invariant does not hold (logged)
 * @retval K23_ERR_INVAL    NULL pointer
 * @context Thread context.
 */
K23_API int k23_instance_pool_check(k23_instance_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_INSTANCE_POOL_H */
