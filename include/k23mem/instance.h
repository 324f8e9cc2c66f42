/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file instance.h
 * Instance allocators: a const ops table plus a context pointer.
 *
 * An instance allocator hands out the memory a WebAssembly instance needs:
 * the instance context block (the "vmctx"), its linear memories and its
 * tables. The six operations mirror the InstanceAllocator trait of the k23
 * kernel (github.com/JonasKruckenberg/k23): allocate/deallocate an
 * instance block, a memory, a table. The trait's default methods (allocate every memory and table of
 * a module, allocate a whole module, and the matching deallocations) are
 * ordinary functions here that call through the table and roll back
 * everything on failure.
 *
 * Implementations in the library:
 * - on-demand (k23_ondemand_init()): every memory and table is its own
 *   reservation from the port's virtual-memory hooks, sized for its bounded
 *   maximum plus guard; an instance block is preceded by a 16-byte record
 *   of its shape (so it starts max(16, alignment) bytes into its pages);
 * - pooling (instance_pool.h): fixed slots reserved up front.
 *
 * Linear memories and tables are always READ|WRITE, so no operation here
 * takes a permission set and none needs a W^X check.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): a function that returns an error code reports a NULL pointer or
 * an out-of-range value as #K23_ERR_INVAL (or the code listed) and leaves
 * its out-pointers untouched; one that returns nothing, a count, a flag or
 * an address panics through k23_port_panic() with a message naming the
 * function and the failed check.
 * An allocator is invalid when it or its ops table is NULL or one of the
 * six operations is missing. Deallocating something that is not live
 * (a double free) panics too, naming its address.
 */
#ifndef K23MEM_INSTANCE_H
#define K23MEM_INSTANCE_H

#include "k23mem/error.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** log2 of the WebAssembly page size (64 KiB). */
#define K23_INSTANCE_WASM_PAGE_LOG2 16u
/** Largest page_size_log2 a memory descriptor may use (1 GiB pages). */
#define K23_INSTANCE_PAGE_LOG2_MAX 30u
/** Alignment the on-demand allocator asks for when a reservation is at
 *  least this big (as the k23 kernel does: lets the host use 2 MiB
 *  pages). */
#define K23_INSTANCE_HUGE_ALIGN ((size_t)2 << 20)
/** Slot value of memories and tables that are not in a pool. */
#define K23_INSTANCE_NO_SLOT UINT32_MAX

/** Describes one linear memory a module defines. */
typedef struct k23_memory_desc {
    uint64_t min_bytes;          /**< initial size, bytes; multiple of the page size */
    uint64_t max_bytes;          /**< maximum size, bytes, when has_max; multiple of the page size, >= min_bytes */
    uint64_t offset_guard_bytes; /**< inaccessible bytes after the reservation (rounded up to host pages) */
    uint8_t page_size_log2;      /**< page size is 1 << this: 16 for wasm pages, 0 for 1-byte pages; <= #K23_INSTANCE_PAGE_LOG2_MAX */
    bool has_max;                /**< whether max_bytes applies */
    bool shared;                 /**< a shared (threads) memory; needs has_max */
} k23_memory_desc_t;

/** Describes one table a module defines. Elements start as null (all
 *  bytes zero). */
typedef struct k23_table_desc {
    uint64_t min_elements; /**< initial element count */
    uint64_t max_elements; /**< maximum element count when has_max; >= min_elements */
    uint32_t element_size; /**< bytes per element, > 0 */
    bool has_max;          /**< whether max_elements applies */
} k23_table_desc_t;

/** Size and alignment of an instance context block. */
typedef struct k23_instance_shape {
    size_t size;             /**< bytes, > 0 */
    uint8_t align_log2;      /**< block starts at a multiple of 1 << this; <= 12 */
} k23_instance_shape_t;

/** A module as the allocator sees it: its instance shape and the memories
 *  and tables it defines (imported ones are not allocated). */
typedef struct k23_module_desc {
    k23_instance_shape_t shape;        /**< the instance context block */
    const k23_memory_desc_t *memories; /**< num_memories descriptors; NULL only if none */
    const k23_table_desc_t *tables;    /**< num_tables descriptors; NULL only if none */
    uint32_t num_memories;             /**< defined memories */
    uint32_t num_tables;               /**< defined tables */
} k23_module_desc_t;

/**
 * A linear memory. Bytes [base, base + size) are readable and writable;
 * the reservation behind it lets it grow to max_size in place (it never
 * moves). Fields are read-only for users; the allocator that made it owns
 * the private ones.
 *
 * Invariants: size <= max_size <= capacity; committed is size rounded up to
 * the host page size; [base + committed, base + capacity + guard_bytes) is
 * inaccessible.
 */
typedef struct k23_memory {
    uint8_t *base;          /**< first byte; NULL only when capacity and guard are 0 */
    size_t size;            /**< current size, bytes, a multiple of the page size */
    size_t max_size;        /**< growth limit, bytes: min(declared max, capacity) rounded down to pages */
    size_t capacity;        /**< reserved bytes from base that may become accessible */
    size_t committed;       /**< accessible bytes from base (size rounded up to host pages) */
    size_t guard_bytes;     /**< inaccessible bytes after capacity */
    uint8_t page_size_log2; /**< as in the descriptor */
    bool shared;            /**< as in the descriptor */
    bool live;              /**< allocated and not yet deallocated (double-free check) */
    /** @cond K23_PRIVATE */
    uint32_t slot;          /**< private: pool slot or #K23_INSTANCE_NO_SLOT */
    uint32_t stripe;        /**< private: pool stripe of the slot */
    uint64_t generation;    /**< private: pool slot generation (stale-handle check) */
    void *mapping;          /**< private: start of the reservation, NULL if none */
    size_t mapping_size;    /**< private: bytes of the reservation */
    /** Private: makes [committed, @p new_committed) accessible for an
     *  allocator whose backing store must see growth (a pool); NULL means
     *  k23_memory_grow() commits through the port itself.
     *  @param ctx            commit_ctx
     *  @param mem            the memory, committed not yet updated
     *  @param new_committed  new accessible bytes from base, host pages */
    int (*commit)(void *ctx, struct k23_memory *mem, size_t new_committed);
    void *commit_ctx;       /**< private: passed to commit */
    /** @endcond */
} k23_memory_t;

/**
 * A table: an array of fixed-size elements, [elements, elements + size *
 * element_size) accessible, growable in place to max_size elements.
 * Same invariants and ownership as #k23_memory_t, counted in elements.
 */
typedef struct k23_table {
    uint8_t *elements;     /**< first element; NULL only when capacity is 0 */
    uint64_t size;         /**< current element count */
    uint64_t max_size;     /**< growth limit, elements: min(declared max, capacity) */
    uint64_t capacity;     /**< elements the reservation can hold */
    size_t committed;      /**< accessible bytes from elements (host pages) */
    uint32_t element_size; /**< bytes per element */
    bool live;             /**< allocated and not yet deallocated */
    /** @cond K23_PRIVATE */
    uint32_t slot;         /**< private: pool slot or #K23_INSTANCE_NO_SLOT */
    void *mapping;         /**< private: start of the reservation, NULL if none */
    size_t mapping_size;   /**< private: bytes of the reservation */
    /** @endcond */
} k23_table_t;

/**
 * The operations an instance allocator implements (the k23 kernel's
 * `InstanceAllocator` trait, after wasmtime's).
 * Callers normally use the wrapper functions below, which validate
 * arguments first. Implementations may assume valid descriptors but check
 * them anyway when they are cheap to check.
 */
typedef struct k23_instance_allocator_ops {
    /** Allocate a zeroed instance block of @p shape.
     *  @param ctx    the allocator's context
     *  @param shape  size and alignment, valid
     *  @param out    the block; untouched on error
     *  @return K23_OK or a negative error */
    int (*allocate_instance)(void *ctx, const k23_instance_shape_t *shape,
                             void **out);
    /** Give back a block from allocate_instance.
     *  @param ctx       the allocator's context
     *  @param instance  the block
     *  @param shape     the shape it was allocated with */
    void (*deallocate_instance)(void *ctx, void *instance,
                                const k23_instance_shape_t *shape);
    /** Allocate a memory: min_bytes accessible and zero.
     *  @param ctx    the allocator's context
     *  @param desc   valid descriptor
     *  @param index  index among the module's defined memories
     *  @param out    the memory, live; untouched on error
     *  @return K23_OK or a negative error */
    int (*allocate_memory)(void *ctx, const k23_memory_desc_t *desc,
                           uint32_t index, k23_memory_t *out);
    /** Give back a memory from allocate_memory; clears mem->live.
     *  @param ctx    the allocator's context
     *  @param index  the index it was allocated at
     *  @param mem    the memory */
    void (*deallocate_memory)(void *ctx, uint32_t index, k23_memory_t *mem);
    /** Allocate a table: min_elements accessible and null.
     *  @param ctx    the allocator's context
     *  @param desc   valid descriptor
     *  @param index  index among the module's defined tables
     *  @param out    the table, live; untouched on error
     *  @return K23_OK or a negative error */
    int (*allocate_table)(void *ctx, const k23_table_desc_t *desc,
                          uint32_t index, k23_table_t *out);
    /** Give back a table from allocate_table; clears table->live.
     *  @param ctx    the allocator's context
     *  @param index  the index it was allocated at
     *  @param table  the table */
    void (*deallocate_table)(void *ctx, uint32_t index, k23_table_t *table);
    /** Optional (may be NULL), beyond the trait's six: check that a whole
     *  module fits this allocator's limits before anything is allocated
     *  (wasmtime's validate_module). k23_instance_allocate_module() calls
     *  it first.
     *  @param ctx  the allocator's context
     *  @param m    valid module descriptor
     *  @return K23_OK or the error allocation would run into */
    int (*validate_module)(void *ctx, const struct k23_module_desc *m);
} k23_instance_allocator_ops_t;

/** An instance allocator: its operations and their context. */
typedef struct k23_instance_allocator {
    const k23_instance_allocator_ops_t *ops; /**< never NULL, all six slots set */
    void *ctx;                               /**< passed to every operation */
} k23_instance_allocator_t;

/**
 * Everything allocated for one instance of a module. The memory and table
 * arrays live in the instance block itself, after the context.
 */
typedef struct k23_instance_handle {
    void *context;                   /**< zeroed context block, module's shape */
    k23_memory_t *memories;          /**< num_memories memories (inside the block) */
    k23_table_t *tables;             /**< num_tables tables (inside the block) */
    uint32_t num_memories;           /**< defined memories */
    uint32_t num_tables;             /**< defined tables */
    k23_instance_shape_t block_shape;/**< shape given to allocate_instance: context + arrays */
} k23_instance_handle_t;

/** Settings of the on-demand allocator. */
typedef struct k23_ondemand_config {
    uint64_t memory_bound; /**< bytes reserved for a memory whose maximum is larger or absent */
    uint64_t table_bound;  /**< elements reserved for a table whose maximum is larger or absent */
} k23_ondemand_config_t;

/** Default memory_bound: 4 GiB (a 32-bit wasm memory) where size_t is 64
 *  bits, 64 MiB otherwise. */
#define K23_ONDEMAND_MEMORY_BOUND_DEFAULT \
    (sizeof(size_t) >= 8 ? (UINT64_C(1) << 32) : (UINT64_C(1) << 26))
/** Default table_bound, elements. */
#define K23_ONDEMAND_TABLE_BOUND_DEFAULT (UINT64_C(1) << 20)

/** Counters of the on-demand allocator. */
typedef struct k23_ondemand_stats {
    size_t instances;      /**< instance blocks live now */
    size_t memories;       /**< memories live now */
    size_t tables;         /**< tables live now */
    size_t reserved_bytes; /**< address space held now, bytes */
    size_t peak_reserved;  /**< highest reserved_bytes seen */
    uint64_t total_allocs; /**< successful allocations of any kind, ever */
} k23_ondemand_stats_t;

/** State of an on-demand allocator; treat as opaque. */
typedef struct k23_ondemand {
    /** @cond K23_PRIVATE */
    k23_ondemand_config_t config; /**< settings (defaults filled in) */
    size_t page_size;             /**< host page size, bytes */
    size_t granularity;           /**< host reservation alignment, bytes */
    k23_ondemand_stats_t stats;   /**< updated atomically */
    /** @endcond */
} k23_ondemand_t;

/* ---- lifecycle ---- */

/**
 * Set up an on-demand allocator over the port's virtual-memory hooks.
 *
 * @param[out] od   state, must outlive every use of @p out
 * @param[in]  cfg  settings, or NULL for the defaults; a zero field takes
 *                  its default
 * @param[out] out  the allocator; untouched on error
 * @retval K23_OK               ready
 * @retval K23_ERR_INVAL        @p od or @p out NULL
 * @retval K23_ERR_UNSUPPORTED  the port has no virtual memory
 * @context Any.
 */
K23_API int k23_ondemand_init(k23_ondemand_t *od, const k23_ondemand_config_t *cfg,
                      k23_instance_allocator_t *out);

/**
 * Read the on-demand allocator's counters.
 * @param[in]  od   state from k23_ondemand_init(); NULL panics
 * @param[out] out  a snapshot; NULL panics
 * @context Any.
 */
K23_API void k23_ondemand_stats(const k23_ondemand_t *od, k23_ondemand_stats_t *out);

/* ---- descriptors ---- */

/**
 * Check a memory descriptor.
 * @param[in] desc  descriptor
 * @retval K23_OK         valid
 * @retval K23_ERR_INVAL  NULL, page_size_log2 too large, sizes not page
 *                        multiples, min > max, or shared without max
 * @context Any.
 */
K23_API int k23_memory_desc_check(const k23_memory_desc_t *desc);

/**
 * Check a table descriptor.
 * @param[in] desc  descriptor
 * @retval K23_OK         valid
 * @retval K23_ERR_INVAL  NULL, element_size 0, or min > max
 * @context Any.
 */
K23_API int k23_table_desc_check(const k23_table_desc_t *desc);

/**
 * Check a module descriptor and each of its memories and tables.
 * @param[in] m  descriptor
 * @retval K23_OK         valid
 * @retval K23_ERR_INVAL  NULL, shape size 0 or align_log2 > 12, array NULL
 *                        with a non-zero count, or a bad memory or table
 * @context Any.
 */
K23_API int k23_module_desc_check(const k23_module_desc_t *m);

/**
 * Shape of the block that k23_instance_allocate_module() asks for: the
 * module's context followed by its memory and table arrays.
 * @param[in]  m    a valid module descriptor
 * @param[out] out  the block shape; untouched on error
 * @retval K23_OK            computed
 * @retval K23_ERR_INVAL     @p m invalid or @p out NULL
 * @retval K23_ERR_OVERFLOW  the block size does not fit a size_t
 * @context Any.
 */
K23_API int k23_instance_block_shape(const k23_module_desc_t *m,
                             k23_instance_shape_t *out);

/* ---- operations: single calls through the table ---- */

/**
 * Allocate a zeroed instance block.
 * @param[in]  a      allocator
 * @param[in]  shape  size > 0, align_log2 <= 12
 * @param[out] out    the block; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  a NULL argument or bad shape
 * @return or any error of the implementation
 * @context Thread context.
 */
K23_API int k23_instance_allocate_instance(const k23_instance_allocator_t *a,
                                   const k23_instance_shape_t *shape,
                                   void **out);

/**
 * Give back an instance block. Panics on an invalid allocator, a NULL
 * block, or a NULL or invalid shape (size 0, align_log2 above 12).
 * @param[in] a         allocator that allocated it
 * @param[in] instance  the block
 * @param[in] shape     the shape it was allocated with. Another shape is
 *                      misuse and panics, naming the block and both sizes:
 *                      the on-demand allocator checks size and alignment
 *                      against a record kept just before the block, the
 *                      pooling allocator the size against its slot's record.
 * @context Thread context.
 */
K23_API void k23_instance_deallocate_instance(const k23_instance_allocator_t *a,
                                      void *instance,
                                      const k23_instance_shape_t *shape);

/**
 * Allocate one memory: @p desc->min_bytes accessible and zero.
 * @param[in]  a      allocator
 * @param[in]  desc   descriptor (checked with k23_memory_desc_check())
 * @param[in]  index  index among the module's defined memories
 * @param[out] out    the memory; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  a NULL argument or bad descriptor
 * @retval K23_ERR_LIMIT  the minimum exceeds what the allocator allows
 * @return or any error of the implementation (K23_ERR_NOMEM, K23_ERR_FULL)
 * @context Thread context.
 */
K23_API int k23_instance_allocate_memory(const k23_instance_allocator_t *a,
                                 const k23_memory_desc_t *desc, uint32_t index,
                                 k23_memory_t *out);

/**
 * Give back a memory. Panics if @p mem is not live (double free), and on
 * an invalid allocator or a NULL @p mem.
 * @param[in]     a      allocator that allocated it
 * @param[in]     index  the index it was allocated at
 * @param[in,out] mem    the memory; no longer live afterwards
 * @context Thread context.
 */
K23_API void k23_instance_deallocate_memory(const k23_instance_allocator_t *a,
                                    uint32_t index, k23_memory_t *mem);

/**
 * Allocate one table, its minimum elements null (zero).
 * @param[in]  a      allocator
 * @param[in]  desc   descriptor (checked with k23_table_desc_check())
 * @param[in]  index  index among the module's defined tables
 * @param[out] out    the table; untouched on error
 * @retval K23_OK         allocated
 * @retval K23_ERR_INVAL  a NULL argument or bad descriptor
 * @retval K23_ERR_LIMIT  the minimum exceeds what the allocator allows
 * @return or any error of the implementation
 * @context Thread context.
 */
K23_API int k23_instance_allocate_table(const k23_instance_allocator_t *a,
                                const k23_table_desc_t *desc, uint32_t index,
                                k23_table_t *out);

/**
 * Give back a table. Panics if @p table is not live (double free), and
 * on an invalid allocator or a NULL @p table.
 * @param[in]     a      allocator that allocated it
 * @param[in]     index  the index it was allocated at
 * @param[in,out] table  the table; no longer live afterwards
 * @context Thread context.
 */
K23_API void k23_instance_deallocate_table(const k23_instance_allocator_t *a,
                                   uint32_t index, k23_table_t *table);

/* ---- operations: batch helpers (the trait's default methods) ---- */

/**
 * Allocate every memory of @p m into @p out[0 .. m->num_memories). If one
 * fails, the ones already allocated are deallocated and its error is
 * returned unchanged; the contents of @p out are then unspecified (but
 * nothing in it is live).
 * @param[in]  a    allocator
 * @param[in]  m    module (checked with k23_module_desc_check())
 * @param[out] out  array of at least m->num_memories entries
 * @retval K23_OK         all allocated
 * @retval K23_ERR_INVAL  a NULL argument or bad descriptor
 * @return or the first error of the implementation
 * @context Thread context.
 */
K23_API int k23_instance_allocate_memories(const k23_instance_allocator_t *a,
                                   const k23_module_desc_t *m,
                                   k23_memory_t *out);

/**
 * Allocate every table of @p m into @p out[0 .. m->num_tables), with the
 * same rollback as k23_instance_allocate_memories().
 * @param[in]  a    allocator
 * @param[in]  m    module
 * @param[out] out  array of at least m->num_tables entries
 * @retval K23_OK         all allocated
 * @retval K23_ERR_INVAL  a NULL argument or bad descriptor
 * @return or the first error of the implementation
 * @context Thread context.
 */
K23_API int k23_instance_allocate_tables(const k23_instance_allocator_t *a,
                                 const k23_module_desc_t *m,
                                 k23_table_t *out);

/**
 * Deallocate @p n memories, entry i at index i. Panics on an invalid
 * allocator, on @p mems NULL with @p n > 0, and as
 * k23_instance_deallocate_memory() for each entry.
 * @param[in]     a     allocator that allocated them
 * @param[in,out] mems  the memories
 * @param[in]     n     how many
 * @context Thread context.
 */
K23_API void k23_instance_deallocate_memories(const k23_instance_allocator_t *a,
                                      k23_memory_t *mems, uint32_t n);

/**
 * Deallocate @p n tables, entry i at index i. Panics on an invalid
 * allocator, on @p tables NULL with @p n > 0, and as
 * k23_instance_deallocate_table() for each entry.
 * @param[in]     a       allocator that allocated them
 * @param[in,out] tables  the tables
 * @param[in]     n       how many
 * @context Thread context.
 */
K23_API void k23_instance_deallocate_tables(const k23_instance_allocator_t *a,
                                    k23_table_t *tables, uint32_t n);

/**
 * Check @p m against the allocator's limits, if it has a validate_module
 * operation; nothing is allocated.
 * @param[in] a  allocator
 * @param[in] m  module (checked with k23_module_desc_check())
 * @retval K23_OK         fits (or the allocator has no limits to check)
 * @retval K23_ERR_INVAL  a NULL argument or bad descriptor
 * @return or the implementation's limit error
 * @context Any.
 */
K23_API int k23_instance_validate_module(const k23_instance_allocator_t *a,
                                 const k23_module_desc_t *m);

/**
 * Allocate everything an instance of @p m needs: first validate the module
 * (k23_instance_validate_module()), then the instance block (the
 * zeroed context plus the memory and table arrays), then every memory,
 * then every table. Any failure deallocates what was allocated and returns
 * the first error unchanged.
 * @param[in]  a    allocator
 * @param[in]  m    module (checked with k23_module_desc_check())
 * @param[out] out  the instance; untouched on error
 * @retval K23_OK            allocated
 * @retval K23_ERR_INVAL     a NULL argument or bad descriptor
 * @retval K23_ERR_OVERFLOW  the instance block would not fit a size_t
 * @return or the first error of the implementation
 * @context Thread context.
 */
K23_API int k23_instance_allocate_module(const k23_instance_allocator_t *a,
                                 const k23_module_desc_t *m,
                                 k23_instance_handle_t *out);

/**
 * Deallocate an instance from k23_instance_allocate_module(): its
 * memories, its tables, then its block. The handle is cleared. Panics on
 * an invalid allocator, a NULL @p h, or a cleared handle (deallocated
 * twice).
 * @param[in]     a  the allocator that allocated it
 * @param[in,out] h  the instance
 * @context Thread context.
 */
K23_API void k23_instance_deallocate_module(const k23_instance_allocator_t *a,
                                    k23_instance_handle_t *h);

/* ---- operations: memories and tables ---- */

/**
 * First byte of a memory.
 * @param[in] mem  a live memory; NULL panics
 * @return its base
 * @context Any.
 */
K23_API void *k23_memory_base(const k23_memory_t *mem);

/**
 * Current size of a memory.
 * @param[in] mem  a live memory; NULL panics
 * @return size in bytes
 * @context Any.
 */
K23_API size_t k23_memory_size(const k23_memory_t *mem);

/**
 * Grow a memory in place by @p delta_pages pages. The new bytes read as
 * zero. Growing by 0 returns the size and changes nothing.
 * @param[in,out] mem          a live memory
 * @param[in]     delta_pages  pages to add
 * @param[out]    old_pages    size before, in pages; untouched on error
 * @retval K23_OK         grown
 * @retval K23_ERR_INVAL  NULL argument, memory not live, or its fields
 *                        broken (page_size_log2 above
 *                        #K23_INSTANCE_PAGE_LOG2_MAX, size above max_size)
 * @retval K23_ERR_GROW   the new size would pass max_size (the declared
 *                        maximum or the reservation); nothing changed
 * @retval K23_ERR_NOMEM  the host could not back the pages; nothing changed
 * @context Thread context. Caller serialises use of @p mem.
 */
K23_API int k23_memory_grow(k23_memory_t *mem, uint64_t delta_pages,
                    uint64_t *old_pages);

/**
 * Grow a table in place by @p delta elements, new elements null (zero).
 * @param[in,out] table     a live table
 * @param[in]     delta     elements to add
 * @param[out]    old_size  element count before; untouched on error
 * @retval K23_OK         grown
 * @retval K23_ERR_INVAL  NULL argument, table not live, or its fields
 *                        broken (element_size 0, size above max_size)
 * @retval K23_ERR_GROW   the new size would pass max_size; nothing changed
 * @retval K23_ERR_NOMEM  the host could not back the pages; nothing changed
 * @context Thread context. Caller serialises use of @p table.
 */
K23_API int k23_table_grow(k23_table_t *table, uint64_t delta, uint64_t *old_size);

/* ---- introspection ---- */

/**
 * Check a memory's invariants (see #k23_memory_t).
 * @param[in] mem  memory
 * @retval K23_OK           consistent
 * @retval K23_ERR_CORRUPT  an invariant fails (logged)
 * @retval K23_ERR_INVAL    @p mem NULL
 * @context Any.
 */
K23_API int k23_memory_check(const k23_memory_t *mem);

/**
 * Check a table's invariants (see #k23_table_t).
 * @param[in] table  table
 * @retval K23_OK           consistent
 * @retval K23_ERR_CORRUPT  an invariant fails (logged)
 * @retval K23_ERR_INVAL    @p table NULL
 * @context Any.
 */
K23_API int k23_table_check(const k23_table_t *table);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_INSTANCE_H */
