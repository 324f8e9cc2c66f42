/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * An independent reader of x86_64, aarch64 and riscv64 page tables, for
 * the page-table tests. Written from the architecture manuals' descriptor
 * rules, separately from src/pagetable*.c: it shares nothing with the
 * engine but the public header's permission and memory-type constants
 * (it does not use k23_pt_format_t or any k23_pt_* function).
 */
#ifndef K23_TESTS_PT_DECODER_H
#define K23_TESTS_PT_DECODER_H

#include <stdint.h>

#include "k23mem/pagetable.h"

/* Paging modes the reader knows. */
typedef enum ref_mode {
    REF_X86_4LEVEL,   /* CR4.LA57 = 0 */
    REF_X86_5LEVEL,   /* CR4.LA57 = 1 */
    REF_A64_39_TTBR0, /* TCR_EL1.T0SZ = 25, 4 KiB granule */
    REF_A64_39_TTBR1, /* T1SZ = 25 */
    REF_A64_48_TTBR0, /* T0SZ = 16 */
    REF_A64_48_TTBR1, /* T1SZ = 16 */
    REF_RV_SV39,
    REF_RV_SV48,
    REF_RV_SV57
} ref_mode_t;

/* One translation as the hardware would see it. */
typedef struct ref_leaf {
    uint64_t va;      /* first virtual address (canonical) */
    uint64_t size;    /* bytes */
    uint64_t pa;      /* output address of va */
    k23_perm_t perm;  /* effective permissions, hierarchical bits applied */
    unsigned memtype; /* K23_PT_MEM_* */
} ref_leaf_t;

typedef void (*ref_leaf_fn)(void *ctx, const ref_leaf_t *leaf);

/* Walk every table reachable from root_pa; call fn for each leaf in
 * address order. Returns NULL, or a description of the first entry that
 * the manual says faults or is reserved, or that breaks the library's
 * stated encoding policy (global = kernel, shareability, MAIR). Counts
 * the tables it visited, root included. */
const char *ref_walk(ref_mode_t mode, uint64_t root_pa, ref_leaf_fn fn,
                     void *ctx, uint64_t *tables);

#endif
