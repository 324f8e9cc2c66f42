/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file slab_layout.h
 * Slab layout calculator for a pool of WebAssembly linear memories.
 *
 * A memory pool reserves one slab of address space and cuts it into
 * `num_slots` equal slots, optionally preceded and followed by guard
 * regions:
 *
 *     | pre guard | slot 0 | slot 1 | ... | slot n-1 | post guard |
 *
 * Each slot holds at most `max_memory_bytes` of accessible memory; the rest
 * of the slot is inaccessible and catches out-of-bounds accesses. Code
 * generated for a memory assumes that `expected_slot_bytes` (the memory
 * reservation) plus `guard_bytes` after the memory's base fault when not
 * accessible: the "faulting region".
 *
 * With memory protection keys (MPK) the slots are coloured round-robin
 * with `num_stripes` keys ("stripes", ColorGuard). A store only gets access
 * to one key, so the slots of the other stripes act as guard region and a
 * slot can be smaller than the faulting region: the next slot of the same
 * stripe is `slot_bytes * num_stripes` away, and that distance must cover
 * the faulting region.
 *
 * The calculation follows wasmtime's `SlabConstraints` / `calculate()` /
 * `SlabLayout` (the memory pool of its pooling allocator) exactly,
 * including its edge cases (no slots, no guard, zero max memory, fewer
 * slots than keys, fewer than two keys),
 * with one correction: a striped slot is the faulting region divided by
 * the stripes rounded *up* (wasmtime rounds down, which gives a layout
 * its own check rejects once there are more stripes than bytes in a page).
 * k23_slab_calculate()'s results always pass k23_slab_layout_check().
 *
 * **Widths.** Every value is carried as `uint64_t`, and every result is
 * checked against the largest `size_t` of a *target* of `width` bits
 * (#k23_slab_target_t). So the host can compute exactly what a wasm32
 * (32-bit) target would compute, errors included, and a 32-bit target can
 * compute for a 64-bit one. Nothing here wraps: any intermediate value
 * above the target's `SIZE_MAX` is an error.
 *
 * The module is pure: no allocation, no locks, no port calls except
 * k23_slab_target_host().
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): a function that returns an error code reports a NULL pointer or
 * an out-of-range value as #K23_ERR_INVAL (or the code listed) and leaves
 * its out-pointers untouched; one that returns nothing, a count, a flag or
 * an address panics through k23_port_panic() with a message naming the
 * function and the failed check.
 */
#ifndef K23MEM_SLAB_LAYOUT_H
#define K23MEM_SLAB_LAYOUT_H

#include "k23mem/error.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** Width in bits of the running program's `size_t` (32 or 64). */
#define K23_SLAB_WIDTH_NATIVE ((unsigned)(sizeof(size_t) * 8))

/** Smallest and largest target widths accepted, bits. */
#define K23_SLAB_WIDTH_MIN 16u
#define K23_SLAB_WIDTH_MAX 64u /**< see #K23_SLAB_WIDTH_MIN */

/** Size of a buffer that holds any message of
 *  k23_slab_error_message(), with its NUL. */
#define K23_SLAB_MSG_MAX 192

/**
 * The target a layout is computed for: what the machine offers rather than
 * what the user configured.
 */
typedef struct k23_slab_target {
    uint64_t page_size;           /**< host page size, bytes; power of two, <= the target's SIZE_MAX */
    uint64_t num_pkeys_available; /**< protection keys the pool may use (0: none) */
    unsigned width;               /**< bits in the target's size_t, #K23_SLAB_WIDTH_MIN..#K23_SLAB_WIDTH_MAX */
} k23_slab_target_t;

/**
 * User limits, as configured (wasmtime's `InstanceLimits` and `Tunables`
 * fields that shape the slab). Sizes need not be page multiples:
 * k23_slab_constraints_new() rounds them up.
 */
typedef struct k23_slab_limits {
    uint64_t memory_reservation;     /**< bytes a memory's code may assume reserved after its base (expected slot bytes) */
    uint64_t max_memory_size;        /**< bytes a memory may grow to; <= memory_reservation */
    uint64_t total_memories;         /**< number of slots */
    uint64_t memory_guard_size;      /**< bytes of guard after each memory's reservation */
    bool guard_before_linear_memory; /**< also put a guard before the first slot */
} k23_slab_limits_t;

/**
 * Constraints the calculation starts from (wasmtime's `SlabConstraints`).
 * All byte counts are multiples of `page_size`; all values are at most the
 * target's SIZE_MAX (`2^width - 1`).
 */
typedef struct k23_slab_constraints {
    uint64_t expected_slot_bytes; /**< the memory reservation, bytes */
    uint64_t max_memory_bytes;    /**< largest accessible size of a memory, bytes */
    uint64_t num_slots;           /**< number of slots */
    uint64_t num_pkeys_available; /**< protection keys available */
    uint64_t guard_bytes;         /**< guard region after each memory, bytes */
    bool guard_before_slots;      /**< add a guard of guard_bytes before slot 0 */
    uint64_t page_size;           /**< page size, bytes; power of two */
    unsigned width;               /**< bits in the target's size_t */
} k23_slab_constraints_t;

/**
 * A computed slab layout (wasmtime's `SlabLayout`). Byte counts are page
 * multiples. Invariants (checked by k23_slab_layout_check()):
 * `slot_bytes >= max_memory_bytes`, `num_stripes >= 1`,
 * `total_slab_bytes == pre + slot_bytes * num_slots + post`, and
 * `slot_bytes * num_stripes` covers the faulting region.
 */
typedef struct k23_slab_layout {
    uint64_t num_slots;             /**< slots in the slab */
    uint64_t slot_bytes;            /**< distance between consecutive slots, bytes (memory + own guard) */
    uint64_t max_memory_bytes;      /**< bytes of a slot that may become accessible */
    uint64_t pre_slab_guard_bytes;  /**< guard before slot 0, bytes */
    uint64_t post_slab_guard_bytes; /**< guard after the last slot, bytes */
    uint64_t num_stripes;           /**< protection-key colours, >= 1 (1: no striping) */
    uint64_t total_slab_bytes;      /**< bytes the whole slab reserves */
    unsigned width;                 /**< bits of the target size_t it was computed for */
} k23_slab_layout_t;

/* ---- operations ---- */

/**
 * Largest value of a `width`-bit size_t, as a uint64_t. Defined for every
 * @p width: 0 gives 0, 64 and above give UINT64_MAX.
 * @param[in] width  bits
 * @return `2^min(width, 64) - 1`
 * @context Any.
 */
static inline uint64_t k23_slab_size_max(unsigned width)
{
    return width >= 64 ? UINT64_MAX : (UINT64_C(1) << width) - 1;
}

/**
 * Describe the running host as a target: its page size (from the port),
 * its protection keys and the native width.
 * @param[out] out  filled completely
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  @p out is NULL
 * @context Any.
 */
K23_API int k23_slab_target_host(k23_slab_target_t *out);

/**
 * Build constraints from user limits, as wasmtime's `MemoryPool::new` and
 * `SlabConstraints::new` do: reject a maximum memory size above the
 * reservation (comparing the values as given), then round the reservation,
 * the maximum memory size and the guard up to the page size and check
 * that each, the slot count and the key count fit the target's size_t.
 *
 * @param[in]  limits  user limits
 * @param[in]  target  page size, keys and width of the target
 * @param[out] out     constraints; untouched on error
 * @retval K23_OK                             built
 * @retval K23_ERR_SLAB_MAX_OVER_RESERVATION  max_memory_size > memory_reservation
 * @retval K23_ERR_SLAB_LIMIT_RANGE           a size (after rounding) or count does not fit the target
 * @retval K23_ERR_INVAL                      NULL pointer, page size not a power of two or above the
 *                                            target's SIZE_MAX, width out of range
 * @context Any.
 */
K23_API int k23_slab_constraints_new(const k23_slab_limits_t *limits,
                             const k23_slab_target_t *target,
                             k23_slab_constraints_t *out);

/**
 * Compute the slab layout for @p c (wasmtime's `calculate()`).
 *
 * The faulting region is `max(expected_slot_bytes, max_memory_bytes) +
 * guard_bytes`. Without guard, without max memory, without slots or with
 * fewer than two keys there is one stripe and a slot is the whole faulting
 * region. Otherwise `num_stripes = min(keys, ceil(faulting /
 * max_memory_bytes), num_slots)` and a slot is `max(faulting / num_stripes,
 * max_memory_bytes)` rounded up to the page. The pre-slab guard is
 * `guard_bytes` if requested, the post-slab guard is what the last slot
 * leaves of the faulting region.
 *
 * @param[in]  c    constraints (page-aligned sizes, all <= the target's SIZE_MAX)
 * @param[out] out  the layout; untouched on error
 * @retval K23_OK                        computed
 * @retval K23_ERR_SLAB_FAULTING_REGION  memory + guard exceeds the target's SIZE_MAX
 * @retval K23_ERR_SLAB_SLOT_SIZE        the page-rounded slot size exceeds it
 * @retval K23_ERR_SLAB_TOTAL_SIZE       the total slab exceeds addressable memory
 * @retval K23_ERR_INVAL                 NULL pointer, width or page size invalid, a size not
 *                                       page-aligned or a value above the target's SIZE_MAX
 * @context Any.
 */
K23_API int k23_slab_calculate(const k23_slab_constraints_t *c,
                       k23_slab_layout_t *out);

/**
 * k23_slab_constraints_new() then k23_slab_calculate().
 * @param[in]  limits  user limits
 * @param[in]  target  the target
 * @param[out] out     the layout; untouched on error
 * @return any code of the two functions
 * @context Any.
 */
K23_API int k23_slab_plan(const k23_slab_limits_t *limits,
                  const k23_slab_target_t *target, k23_slab_layout_t *out);

/**
 * Total bytes of the slab, recomputed with checked arithmetic
 * (wasmtime's `SlabLayout::total_slab_bytes`):
 * `slot_bytes * num_slots + pre_slab_guard_bytes + post_slab_guard_bytes`.
 * @param[in]  l    a layout
 * @param[out] out  the total; untouched on error
 * @retval K23_OK                   computed
 * @retval K23_ERR_SLAB_TOTAL_SIZE  exceeds the SIZE_MAX of the layout's width
 * @retval K23_ERR_INVAL            NULL pointer or invalid width
 * @context Any.
 */
K23_API int k23_slab_layout_total_bytes(const k23_slab_layout_t *l, uint64_t *out);

/**
 * Bytes from the start of one slot to the start of the next slot of the
 * same stripe, `slot_bytes * num_stripes`: the striped equivalent of the
 * memory reservation. In a 3-stripe slab, from slot 1 to slot 4.
 * @param[in] l  a layout from k23_slab_calculate() (the product cannot
 *               overflow: num_stripes <= max(num_slots, 1)). Panics if
 *               @p l is NULL, num_stripes is 0, the width is out of range
 *               or the product exceeds the width's SIZE_MAX.
 * @return the distance in bytes
 * @context Any.
 */
K23_API uint64_t k23_slab_layout_bytes_to_next_stripe_slot(const k23_slab_layout_t *l);

/**
 * Byte offset of slot @p index from the start of the slab:
 * `pre_slab_guard_bytes + index * slot_bytes`.
 * @param[in]  l      a layout
 * @param[in]  index  slot index, < l->num_slots
 * @param[out] out    the offset; untouched on error
 * @retval K23_OK         computed
 * @retval K23_ERR_INVAL  NULL pointer, @p index out of range, width out of
 *                        range, or the offset exceeds the width's SIZE_MAX
 * @context Any.
 */
K23_API int k23_slab_layout_slot_offset(const k23_slab_layout_t *l, uint64_t index,
                                uint64_t *out);

/* ---- introspection ---- */

/**
 * Check the layout invariants of wasmtime's tests against the constraints
 * the layout came from: the sizes add up, a slot holds the max memory, the
 * stripe count is at least 1 and no more than the keys, the slots and
 * `guard / max_memory + 2` allow, the faulting region is covered between
 * slots of one stripe, and the last slot plus the post-slab guard covers
 * the reservation. Logs the first violated invariant.
 * @param[in] c  constraints
 * @param[in] l  the layout k23_slab_calculate() returned for @p c
 * @retval K23_OK           all invariants hold
 * @retval K23_ERR_CORRUPT  one does not
 * @retval K23_ERR_INVAL    NULL pointer
 * @context Any.
 */
K23_API int k23_slab_layout_check(const k23_slab_constraints_t *c,
                          const k23_slab_layout_t *l);

/**
 * Format a one-line message (no newline) for an error of this module,
 * naming the values involved where it helps: for
 * #K23_ERR_SLAB_MAX_OVER_RESERVATION both sizes, for
 * #K23_ERR_SLAB_LIMIT_RANGE which limit and the target width. For the
 * calculation errors it is wasmtime's text ("faulting region is too
 * large", "slot size is too large", "total size of memory reservation
 * exceeds addressable memory"). Other codes give k23_strerror().
 *
 * @param[in]  err     the code returned by k23_slab_constraints_new(),
 *                     k23_slab_calculate() or k23_slab_plan()
 * @param[in]  limits  the limits passed in (may be NULL: the message is
 *                     then less specific)
 * @param[in]  target  the target passed in (may be NULL, likewise)
 * @param[out] buf     output, NUL-terminated
 * @param[in]  len     size of @p buf; #K23_SLAB_MSG_MAX always suffices
 * @retval K23_OK           formatted
 * @retval K23_ERR_NOSPACE  truncated to fit @p len (still NUL-terminated)
 * @retval K23_ERR_INVAL    @p buf NULL or @p len 0
 * @context Any.
 */
K23_API int k23_slab_error_message(int err, const k23_slab_limits_t *limits,
                           const k23_slab_target_t *target, char *buf,
                           size_t len);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_SLAB_LAYOUT_H */
