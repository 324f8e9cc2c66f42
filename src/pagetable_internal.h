/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Shared between the page-table files (src/pagetable*.c). Not installed.
 */
#ifndef K23MEM_PAGETABLE_INTERNAL_H
#define K23MEM_PAGETABLE_INTERNAL_H

#include "k23mem/pagetable.h"

/* The format's fields are coherent (levels, VA width, functions). */
bool k23_pt_format_ok_(const k23_pt_format_t *fmt);
/* Permissions and memory type a leaf may carry: K23_OK, K23_ERR_WX or
 * K23_ERR_INVAL (READ missing, undefined bits, unknown memory type). */
int k23_pt_leaf_args_ok_(const k23_pt_format_t *fmt, k23_perm_t perm,
                         unsigned memtype);

#endif /* K23MEM_PAGETABLE_INTERNAL_H */
