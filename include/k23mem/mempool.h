/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file mempool.h
 * Pool of WebAssembly linear memories in one reserved slab (the memory
 * pool of wasmtime's pooling instance allocator, `memory_pool.rs`).
 *
 * k23_mempool_create() computes a slab layout (slab_layout.h), reserves the
 * whole slab inaccessible in one mapping, and, when protection keys are in
 * use, tags the slots round-robin with one key per stripe. Slot `i` starts
 * at `pre_slab_guard_bytes + i * slot_bytes` from the slab and belongs to
 * stripe `i % num_stripes`.
 *
 * A store picks a stripe once (k23_mempool_next_stripe(), round-robin) and
 * allocates all its memories from it. Each stripe has a slot allocator
 * that prefers, in order: the most recently freed slot last used by the
 * same (module, memory index) ("affinity"); then, while fewer than
 * `max_unused_warm_slots` freed slots wait, a never-used ("cold") slot,
 * else the least recently freed ("warm") slot.
 *
 * Allocation commits the initial size read-write. Freeing resets the slot:
 * up to `keep_resident` bytes stay committed and are zeroed, the rest is
 * decommitted. A slot whose state is not known (an allocation that failed
 * part way, or k23_mempool_deallocate_unknown()) is fully decommitted
 * before its next use.
 *
 * Host contact goes only through the port (k23_port_vm_* and
 * k23_port_pkey_*); the pool's own bookkeeping is committed from the port
 * too, so the module is part of the freestanding core. All functions are
 * thread-safe (one lock per stripe) unless noted.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): a function that returns an error code reports a NULL pointer or
 * an out-of-range value as #K23_ERR_INVAL (or the code listed) and leaves
 * its out-pointers untouched; one that returns nothing, a count, a flag or
 * an address panics through k23_port_panic() with a message naming the
 * function and the failed check ("k23_mempool_num_stripes: invalid
 * argument: pool != NULL").
 */
#ifndef K23MEM_MEMPOOL_H
#define K23MEM_MEMPOOL_H

#include "k23mem/error.h"
#include "k23mem/slab_layout.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** Most protection keys a pool uses (x86 has 16, key 0 the default one). */
#define K23_MEMPOOL_PKEYS_MAX 16u

/** Whether the pool uses memory protection keys (wasmtime's `Enabled`). */
enum k23_mempool_mpk {
    K23_MEMPOOL_MPK_AUTO = 0, /**< use keys if the host has them, else one stripe */
    K23_MEMPOOL_MPK_YES = 1,  /**< require keys: create fails with #K23_ERR_POOL_NO_MPK without them */
    K23_MEMPOOL_MPK_NO = 2    /**< never use keys */
};

/**
 * Protection-key operations the pool calls. NULL in the config means the
 * port's (k23_port_caps().pkeys_available, k23_port_pkey_alloc(),
 * k23_port_pkey_free(), k23_port_pkey_protect() with no access). Tests
 * pass their own to exercise the striped path on hosts without keys.
 */
typedef struct k23_mempool_pkey_ops {
    /** Number of keys the host can give out.
     *  @param ctx  the ops' context */
    unsigned (*available)(void *ctx);
    /** Allocate a key; K23_OK or an error.
     *  @param ctx  the ops' context
     *  @param key  out: the key */
    int (*alloc)(void *ctx, unsigned *key);
    /** Free a key from alloc().
     *  @param ctx  the ops' context
     *  @param key  the key */
    void (*free)(void *ctx, unsigned key);
    /** Tag [addr, addr + size) with @p key, leaving it inaccessible.
     *  @param ctx   the ops' context
     *  @param addr  page-aligned start
     *  @param size  bytes, a page multiple
     *  @param key   a key from alloc() */
    int (*protect)(void *ctx, void *addr, size_t size, unsigned key);
    void *ctx; /**< passed to every operation */
} k23_mempool_pkey_ops_t;

/** Pool configuration (wasmtime's `PoolingInstanceAllocatorConfig` and
 *  the `Tunables` that shape memories). Start from
 *  k23_mempool_config_default(). */
typedef struct k23_mempool_config {
    k23_slab_limits_t limits;          /**< slab sizes and slot count (total_memories) */
    uint32_t max_memories_per_module;  /**< defined memories one instance may have (validation only) */
    uint32_t max_unused_warm_slots;    /**< freed slots a stripe keeps warm before reusing them for others */
    uint64_t keep_resident;            /**< bytes of a freed memory kept committed and zeroed (rounded up to pages; any value above the max memory, UINT64_MAX included, means all of it) */
    int mpk;                           /**< a #k23_mempool_mpk */
    unsigned max_pkeys;                /**< use at most this many keys (and never more than #K23_MEMPOOL_PKEYS_MAX) */
    const k23_mempool_pkey_ops_t *pkey_ops; /**< NULL: the port's keys */
} k23_mempool_config_t;

/** What a memory needs from the pool, for validation (the parts of a
 *  wasm memory type wasmtime's pool checks). */
typedef struct k23_mempool_memory_desc {
    uint64_t min_bytes; /**< minimum (initial) byte size */
    bool shared;        /**< a shared memory (rejected by the pool) */
} k23_mempool_memory_desc_t;

/** One allocation request (the parts of wasmtime's
 *  `InstanceAllocationRequest` the memory pool uses). */
typedef struct k23_mempool_request {
    unsigned stripe;        /**< stripe to allocate from, < k23_mempool_num_stripes(); from k23_mempool_next_stripe() */
    bool has_affinity;      /**< module_id and memory_index identify the memory (enables slot reuse) */
    uint64_t module_id;     /**< the module's unique id, if has_affinity */
    uint32_t memory_index;  /**< the defined memory index within the module, if has_affinity */
    uint64_t initial_bytes; /**< bytes committed read-write (rounded up to pages), <= max memory */
} k23_mempool_request_t;

/** An allocated memory. Filled by k23_mempool_allocate(); the caller keeps
 *  it and passes it back to grow or free. */
typedef struct k23_mempool_memory {
    void *base;      /**< first byte of the memory (start of its slot) */
    size_t index;    /**< allocation index, < num_slots: slot `index` of the slab */
    size_t size;     /**< bytes accessible read-write from base (a page multiple) */
    size_t capacity; /**< most bytes the memory may grow to: the layout's max_memory_bytes */
    unsigned stripe; /**< stripe of the slot, index % num_stripes */
    /** @cond K23_PRIVATE */
    uint64_t generation; /**< private: which allocation of the slot this is;
                          *   a handle kept past its free does not match */
    /** @endcond */
} k23_mempool_memory_t;

/** Counters of a pool. */
typedef struct k23_mempool_stats {
    size_t slots_in_use;          /**< slots allocated now */
    size_t unused_warm_slots;     /**< freed slots not reused yet, all stripes */
    size_t unused_bytes_resident; /**< bytes kept committed in those slots */
    size_t peak_slots_in_use;     /**< highest slots_in_use seen */
    uint64_t total_allocations;   /**< successful k23_mempool_allocate() calls */
    uint64_t total_full;          /**< allocations refused with #K23_ERR_FULL */
    uint64_t total_resets;        /**< full resets of slots in unknown state */
} k23_mempool_stats_t;

/** The pool; opaque. Its bookkeeping lives in memory committed from the
 *  port next to nothing else. */
typedef struct k23_mempool k23_mempool_t;

/* ---- lifecycle ---- */

/**
 * Fill @p cfg with defaults: 1000 slots of 4 GiB reservation and 4 GiB
 * maximum with a 32 MiB guard before and after (on 32-bit targets 100
 * slots of 10 MiB, no guard), 1 memory per module, 100 warm slots, nothing
 * kept resident, keys #K23_MEMPOOL_MPK_NO, at most 16 keys, the port's
 * keys.
 * @param[out] cfg  filled completely; NULL panics
 * @context Any.
 */
K23_API void k23_mempool_config_default(k23_mempool_config_t *cfg);

/**
 * Create a pool: decide the keys, compute the layout, reserve the slab
 * inaccessible and stripe it.
 *
 * Keys: #K23_MEMPOOL_MPK_NO uses none; AUTO uses up to max_pkeys if the
 * host has any, else none; YES requires them. Key allocation that fails
 * after some keys were obtained uses the keys obtained.
 *
 * @param[in]  cfg  configuration
 * @param[out] out  the pool; untouched on error
 * @retval K23_OK                     created
 * @retval K23_ERR_POOL_NO_MPK        mpk is YES and the host has no keys
 * @retval K23_ERR_SLAB_*             the limits give no layout (see slab_layout.h);
 *                                    k23_slab_error_message() explains
 * @retval K23_ERR_LIMIT              more than 2^30 slots
 * @retval K23_ERR_NOMEM              no address space for the slab or bookkeeping
 * @retval K23_ERR_INVAL              NULL pointer, invalid mpk mode, or a
 *                                    NULL callback in cfg->pkey_ops
 * @retval K23_ERR_UNSUPPORTED        the port has no virtual memory
 * @retval K23_ERR_OS                 the host refused to protect the slab
 * @context Thread context.
 */
K23_API int k23_mempool_create(const k23_mempool_config_t *cfg, k23_mempool_t **out);

/**
 * Destroy an empty pool: release the slab, the keys and the bookkeeping.
 * @param[in] pool  the pool, or NULL (nothing happens)
 * @retval K23_OK        destroyed
 * @retval K23_ERR_BUSY  memories are still allocated; nothing was done
 * @context Thread context; no other thread may use @p pool.
 */
K23_API int k23_mempool_destroy(k23_mempool_t *pool);

/* ---- operations ---- */

/**
 * Stripe for the next store, round-robin over the stripes
 * (wasmtime's `next_available_pkey`).
 * @param[in] pool  the pool; NULL panics
 * @return a stripe index < k23_mempool_num_stripes()
 * @context Any.
 */
K23_API unsigned k23_mempool_next_stripe(k23_mempool_t *pool);

/**
 * Protection key of a stripe, to be enabled while the store's code runs.
 * @param[in]  pool    the pool
 * @param[in]  stripe  stripe index
 * @param[out] key     the key; untouched on error
 * @retval K23_OK             the stripe has a key
 * @retval K23_ERR_NOT_FOUND  the pool does not use keys (one stripe)
 * @retval K23_ERR_INVAL      NULL pointer or stripe out of range
 * @context Any.
 */
K23_API int k23_mempool_stripe_pkey(const k23_mempool_t *pool, unsigned stripe,
                            unsigned *key);

/**
 * Check one memory against the pool (wasmtime's `validate_memory`).
 * @param[in] pool  the pool
 * @param[in] mem   the memory's description
 * @retval K23_OK                 the pool can hold it
 * @retval K23_ERR_POOL_MIN_SIZE  its minimum size exceeds the max memory bytes
 * @retval K23_ERR_POOL_SHARED    it is shared
 * @retval K23_ERR_INVAL          NULL pointer
 * @context Any.
 */
K23_API int k23_mempool_validate_memory(const k23_mempool_t *pool,
                                const k23_mempool_memory_desc_t *mem);

/**
 * Check a module's defined memories (wasmtime's `validate_memories`):
 * their count, then each in order.
 * @param[in]  pool     the pool
 * @param[in]  mems     the defined (not imported) memories; may be NULL if @p n is 0
 * @param[in]  n        number of defined memories
 * @param[out] bad      index of the memory that failed; may be NULL;
 *                      untouched on success and for the count error
 * @retval K23_OK                         all fit
 * @retval K23_ERR_POOL_TOO_MANY_MEMORIES  @p n exceeds max_memories_per_module
 * @retval K23_ERR_POOL_MIN_SIZE           a memory's minimum is too large
 * @retval K23_ERR_POOL_SHARED             a memory is shared
 * @retval K23_ERR_INVAL                   NULL pointer
 * @context Any.
 */
K23_API int k23_mempool_validate_memories(const k23_mempool_t *pool,
                                  const k23_mempool_memory_desc_t *mems,
                                  size_t n, size_t *bad);

/**
 * Allocate a memory from stripe `req->stripe`: pick a slot (affine, cold
 * or warm as described above), fully reset it if its state is unknown,
 * and make exactly `initial_bytes` (page-rounded) accessible read-write,
 * all reading as zero. If preparing the slot fails the slot goes back to
 * the stripe in unknown state, so the next user resets it.
 *
 * @param[in]  pool  the pool
 * @param[in]  req   the request
 * @param[out] out   the memory; untouched on error
 * @retval K23_OK                 allocated
 * @retval K23_ERR_FULL           no free slot in the stripe: retry after a free
 * @retval K23_ERR_POOL_MIN_SIZE  initial_bytes exceeds the max memory bytes
 * @retval K23_ERR_INVAL          NULL pointer or stripe out of range
 * @retval K23_ERR_NOMEM          the host could not commit the memory
 * @retval K23_ERR_OS             the host refused another way
 * @context Thread context.
 */
K23_API int k23_mempool_allocate(k23_mempool_t *pool, const k23_mempool_request_t *req,
                         k23_mempool_memory_t *out);

/**
 * Grow a memory: make [0, @p new_size) accessible read-write. New bytes
 * read as zero. Shrinking is not supported (wasm memories only grow).
 *
 * The pool keeps its own record of each memory's committed size and slot
 * generation: a handle whose memory was freed (or whose slot was freed and
 * handed out again) is misuse of state and panics, naming the slot, its
 * address and both generations; it is never an error code, since growing
 * someone else's slot must not happen in any build.
 * @param[in]     pool      the pool
 * @param[in,out] mem       an allocated memory; `size` updated on success
 *                          to the committed size (>= @p new_size rounded up
 *                          to pages; more if a copy of the handle grew it)
 * @param[in]     new_size  bytes, rounded up to pages, >= mem->size
 * @retval K23_OK         grown (or already that size)
 * @retval K23_ERR_LIMIT  @p new_size exceeds mem->capacity
 * @retval K23_ERR_INVAL  NULL pointer, @p mem not a memory of @p pool (its
 *                        index, base or capacity do not match a slot, as
 *                        after k23_mempool_deallocate()), or @p new_size
 *                        below the current size
 * @retval K23_ERR_NOMEM  the host could not commit
 * @retval K23_ERR_OS     the host refused another way
 * @context Thread context; the caller owns @p mem.
 */
K23_API int k23_mempool_grow(k23_mempool_t *pool, k23_mempool_memory_t *mem,
                     uint64_t new_size);

/**
 * Free a memory and reset its slot: zero and keep the first
 * min(size, keep_resident) bytes committed, decommit the rest. If the
 * reset fails the slot is left in unknown state (reset on next use).
 * What is reset is the pool's record of the committed size, not
 * `mem->size`. Panics (naming the slot, its address and the generations) if
 * the memory is not allocated or @p mem is a stale handle (see
 * k23_mempool_grow()).
 * @param[in]     pool  the pool; NULL panics
 * @param[in,out] mem   the memory; must not be used afterwards; NULL panics
 * @context Thread context.
 */
K23_API void k23_mempool_deallocate(k23_mempool_t *pool, k23_mempool_memory_t *mem);

/**
 * Free a memory whose contents the caller cannot vouch for (for instance
 * instantiation failed after the memory was handed out): no reset now,
 * the slot is marked unknown and fully reset before its next use
 * (wasmtime's `deallocate` with no image). Panics as
 * k23_mempool_deallocate() does.
 * @param[in]     pool  the pool; NULL panics
 * @param[in,out] mem   the memory; must not be used afterwards; NULL panics
 * @context Thread context.
 */
K23_API void k23_mempool_deallocate_unknown(k23_mempool_t *pool,
                                    k23_mempool_memory_t *mem);

/**
 * Purge everything related to a module: every free slot affine to
 * (@p module_id, i) for i < max_memories_per_module loses its affinity and
 * its resident bytes (decommitted). Call when the module is dropped.
 * @param[in] pool       the pool; NULL panics
 * @param[in] module_id  the module's unique id
 * @context Thread context.
 */
K23_API void k23_mempool_purge_module(k23_mempool_t *pool, uint64_t module_id);

/* ---- introspection ---- */

/**
 * The pool's layout.
 * @param[in] pool  the pool; NULL panics
 * @return the layout; valid until k23_mempool_destroy()
 * @context Any.
 */
K23_API const k23_slab_layout_t *k23_mempool_layout(const k23_mempool_t *pool);

/**
 * Start of the slab reservation.
 * @param[in] pool  the pool; NULL panics
 * @return the address the slab was reserved at
 * @context Any.
 */
K23_API void *k23_mempool_slab_base(const k23_mempool_t *pool);

/**
 * Base address of slot @p index:
 * slab + pre_slab_guard_bytes + index * slot_bytes.
 * @param[in] pool   the pool; NULL panics
 * @param[in] index  slot index, < num_slots (panics otherwise)
 * @return the slot's first byte
 * @context Any.
 */
K23_API void *k23_mempool_slot_base(const k23_mempool_t *pool, size_t index);

/**
 * Number of stripes (1 without protection keys).
 * @param[in] pool  the pool; NULL panics
 * @return stripes, >= 1
 * @context Any.
 */
K23_API unsigned k23_mempool_num_stripes(const k23_mempool_t *pool);

/**
 * Number of free slots of a stripe (cold and warm).
 * @param[in] pool    the pool; NULL panics
 * @param[in] stripe  stripe index, < k23_mempool_num_stripes() (panics
 *                    otherwise)
 * @return free slots
 * @context Any.
 */
K23_API size_t k23_mempool_stripe_free_slots(k23_mempool_t *pool, unsigned stripe);

/**
 * Whether no slot is allocated.
 * @param[in] pool  the pool; NULL panics
 * @return true when empty
 * @context Any.
 */
K23_API bool k23_mempool_is_empty(k23_mempool_t *pool);

/**
 * Freed slots not yet reused, all stripes.
 * @param[in] pool  the pool; NULL panics
 * @return the count
 * @context Any.
 */
K23_API size_t k23_mempool_unused_warm_slots(k23_mempool_t *pool);

/**
 * Bytes kept committed in freed slots, all stripes.
 * @param[in] pool  the pool; NULL panics
 * @return the byte count
 * @context Any.
 */
K23_API size_t k23_mempool_unused_bytes_resident(k23_mempool_t *pool);

/**
 * Read the counters. Each is read on its own (the stripes one lock at a
 * time, the totals atomically), so while other threads allocate the
 * result is not one consistent snapshot: counters may disagree by the
 * operations that ran during the call.
 * @param[in]  pool  the pool; NULL panics
 * @param[out] out   the counters; NULL panics
 * @context Any.
 */
K23_API void k23_mempool_stats(k23_mempool_t *pool, k23_mempool_stats_t *out);

/**
 * Walk every stripe and check conservation (cold + warm + used == slots
 * of the stripe), list links, counters and affinity tables. Logs the first
 * problem found.
 * @param[in] pool  the pool
 * @retval K23_OK           consistent
 * @retval K23_ERR_CORRUPT  an invariant does not hold
 * @retval K23_ERR_INVAL    NULL pointer
 * @context Thread context.
 */
K23_API int k23_mempool_check(k23_mempool_t *pool);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_MEMPOOL_H */
