/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file types.h
 * Scalar types shared by every libk23mem module: physical and virtual
 * addresses, sizes, permission sets and address ranges.
 *
 * Freestanding: needs only the compiler's own headers.
 */
#ifndef K23MEM_TYPES_H
#define K23MEM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "k23mem/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** A physical address. 64 bits on every target, so a 32-bit kernel can
 *  still describe RAM above 4 GiB. */
typedef uint64_t k23_paddr_t;

/** A virtual address of the running program. */
typedef uintptr_t k23_vaddr_t;

/** A set of K23_PERM_* flags (see perm.h). */
typedef uint32_t k23_perm_t;

/**
 * A range of addresses given as a base and a size in bytes.
 *
 * Invariant (checked by k23_range_valid()): `size == 0` or
 * `base + size - 1 <= UINT64_MAX`, so a range may end exactly at the top of
 * the 64-bit space. The one range that cannot be written is the whole space
 * (size 2^64). Use k23_range_last() rather than base + size, which wraps to
 * 0 for a range ending at the top.
 */
typedef struct k23_range {
    uint64_t base; /**< first address of the range */
    uint64_t size; /**< length in bytes; 0 is an empty range */
} k23_range_t;

#if defined(__GNUC__) || defined(__clang__)
/** Marks functions that do not return. */
#define K23_NORETURN __attribute__((noreturn))
/** Marks functions whose result must not be ignored. */
#define K23_NODISCARD __attribute__((warn_unused_result))
#else
#define K23_NORETURN _Noreturn
#define K23_NODISCARD
#endif

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_TYPES_H */
