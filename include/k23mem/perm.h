/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file perm.h
 * Memory permission flags, page-fault flags and ELF segment flags.
 *
 * Permissions are READ, WRITE, EXECUTE and USER. A set that allows WRITE and
 * EXECUTE together breaks W^X and is rejected wherever permissions enter the
 * library. Page-fault flags say what an access that faulted was trying to
 * do; k23_fault_to_perm() turns them into the permissions that access needs.
 *
 * Invalid arguments (the README's policy, the same in every K23_DEBUG
 * build): the functions that return an error code report a NULL pointer or
 * undefined bits as #K23_ERR_INVAL (or the code listed) and leave their
 * out-pointers untouched; the inline predicates accept every value.
 */
#ifndef K23MEM_PERM_H
#define K23MEM_PERM_H

#include "k23mem/error.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

#define K23_PERM_NONE    UINT32_C(0)         /**< no access */
#define K23_PERM_READ    (UINT32_C(1) << 0)  /**< loads allowed */
#define K23_PERM_WRITE   (UINT32_C(1) << 1)  /**< stores allowed */
#define K23_PERM_EXECUTE (UINT32_C(1) << 2)  /**< instruction fetch allowed */
#define K23_PERM_USER    (UINT32_C(1) << 3)  /**< user mode may access */
#define K23_PERM_ALL     UINT32_C(0xf)       /**< every defined permission bit */

/** Page-fault cause flags (a set of K23_FAULT_*). */
typedef uint32_t k23_fault_t;

#define K23_FAULT_LOAD        (UINT32_C(1) << 0) /**< a memory load faulted */
#define K23_FAULT_STORE       (UINT32_C(1) << 1) /**< a memory store faulted */
#define K23_FAULT_INSTRUCTION (UINT32_C(1) << 3) /**< an instruction fetch faulted */
#define K23_FAULT_ALL (K23_FAULT_LOAD | K23_FAULT_STORE | K23_FAULT_INSTRUCTION) /**< every defined fault bit */

/** ELF program-header p_flags bits (the ELF specification's PF_*). */
#define K23_ELF_PF_X UINT32_C(0x1) /**< segment is executable */
#define K23_ELF_PF_W UINT32_C(0x2) /**< segment is writable */
#define K23_ELF_PF_R UINT32_C(0x4) /**< segment is readable */

/** Size of a buffer that holds any formatted permission set with its NUL:
 *  "READ | WRITE | EXECUTE | USER". */
#define K23_PERM_STR_MAX 32

/* ---- operations ---- */

/**
 * Whether @p p allows WRITE and EXECUTE together.
 * @param[in] p  permission set
 * @return true when @p p breaks W^X
 * @context Any.
 */
static inline bool k23_perm_is_wx(k23_perm_t p)
{
    return (p & (K23_PERM_WRITE | K23_PERM_EXECUTE)) ==
           (K23_PERM_WRITE | K23_PERM_EXECUTE);
}

/**
 * Whether @p p is a usable permission set: only defined bits, and W^X holds.
 * @param[in] p  permission set
 * @retval K23_OK         valid
 * @retval K23_ERR_INVAL  undefined bits are set
 * @retval K23_ERR_WX     WRITE and EXECUTE together
 * @context Any.
 */
K23_API int k23_perm_check(k23_perm_t p);

/**
 * Whether a fault flag set is valid: only defined bits, not LOAD and STORE
 * together.
 * @param[in] f  fault flags
 * @return true when valid
 * @context Any.
 */
static inline bool k23_fault_is_valid(k23_fault_t f)
{
    return (f & ~K23_FAULT_ALL) == 0 &&
           (f & (K23_FAULT_LOAD | K23_FAULT_STORE)) !=
               (K23_FAULT_LOAD | K23_FAULT_STORE);
}

/**
 * The permissions an access described by fault flags needs: WRITE for a
 * store, READ otherwise, plus EXECUTE for an instruction fetch.
 *
 * @param[in]  f    fault flags
 * @param[out] out  needed permissions; untouched on error
 * @retval K23_OK         converted
 * @retval K23_ERR_INVAL  @p f is not valid (see k23_fault_is_valid()) or
 *                        @p out is NULL
 * @context Any.
 */
K23_API int k23_fault_to_perm(k23_fault_t f, k23_perm_t *out);

/**
 * Permissions from ELF program-header flags (PF_R, PF_W, PF_X).
 *
 * @param[in]  p_flags  the segment's p_flags; bits outside PF_R|PF_W|PF_X
 *                      (OS- and processor-specific) are ignored
 * @param[out] out      permissions; untouched on error
 * @retval K23_OK         converted
 * @retval K23_ERR_WX     the segment is writable and executable
 * @retval K23_ERR_INVAL  @p out is NULL
 * @context Any.
 */
K23_API int k23_perm_from_elf(uint32_t p_flags, k23_perm_t *out);

/**
 * Format a permission set as "READ | WRITE", in the fixed order READ,
 * WRITE, EXECUTE, USER. The empty set is written "NONE".
 *
 * @param[in]  p    permission set, only defined bits
 * @param[out] buf  output buffer, NUL-terminated on success
 * @param[in]  len  size of @p buf; #K23_PERM_STR_MAX always suffices
 * @retval K23_OK           formatted
 * @retval K23_ERR_INVAL    undefined bits set, or @p buf NULL
 * @retval K23_ERR_NOSPACE  @p len too small (buf is then left empty)
 * @context Any.
 */
K23_API int k23_perm_format(k23_perm_t p, char *buf, size_t len);

/**
 * Parse the spelling k23_perm_format() writes. Names are upper-case,
 * separated by '|' with optional spaces; each may appear once; "NONE"
 * stands alone. Anything else is an error, never a guess. Parsing does
 * not judge the set: "WRITE | EXECUTE" parses (it is a set that can be
 * written down); call k23_perm_check() before using it as permissions.
 *
 * @param[in]  s    NUL-terminated text
 * @param[out] out  permissions; untouched on error
 * @retval K23_OK         parsed
 * @retval K23_ERR_PARSE  unknown name, repeated name, empty text, stray '|'
 * @retval K23_ERR_INVAL  @p s or @p out NULL
 * @context Any.
 */
K23_API int k23_perm_parse(const char *s, k23_perm_t *out);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_PERM_H */
