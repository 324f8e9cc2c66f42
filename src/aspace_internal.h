/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Private to the address-space module (src/aspace*.c): the region index
 * and the record allocator, shared by the operations in aspace.c and the
 * VM hooks in aspace_vm.c.
 */
#ifndef K23MEM_ASPACE_INTERNAL_H
#define K23MEM_ASPACE_INTERNAL_H

#include "internal.h"
#include "k23mem/aspace.h"

#define K23_ASPACE_MAGIC_ UINT32_C(0x41535043) /* "ASPC" */
#define K23_ASPACE_PAGE_ UINT64_C(0x1000)

typedef k23_aspace_region_t region_t;

static inline bool k23_aspace_ok_(const k23_aspace_t *as)
{
    return as != NULL && as->magic == K23_ASPACE_MAGIC_;
}

/* [base, base + size) page aligned, non-empty, not wrapping, inside the
 * window; *last receives its last address. */
bool k23_aspace_range_ok_(const k23_aspace_t *as, uint64_t base,
                          uint64_t size, uint64_t *last);

/* ---- records (aspace_tree.c) ---- */

/* A record from a record frame, or NULL when the source has no frame. */
region_t *k23_aspace_rec_alloc_(k23_aspace_t *as);
/* Give a record back; its frame goes back to the source once empty. */
void k23_aspace_rec_free_(k23_aspace_t *as, region_t *r);

/* ---- the index (aspace_tree.c) ---- */

/* Take the index nodes the inserts of one operation can need, before
 * anything that can fail changes: key is an address of the region
 * inserted or split, grow how many regions the operation adds there at
 * most (1: a reserve; for a split the pieces that get new records: the
 * first keeps its record and index slot; 0: nothing to take). K23_ERR_NOMEM (nothing taken) when the source is out
 * of frames. Every operation that prepared ends with unprepare, which
 * gives back what the inserts did not use. */
int k23_aspace_tree_prepare_(k23_aspace_t *as, uint64_t key, unsigned grow);
void k23_aspace_tree_unprepare_(k23_aspace_t *as);
/* Insert r (base, last set); takes prepared nodes, cannot fail. */
void k23_aspace_tree_insert_(k23_aspace_t *as, region_t *r);
void k23_aspace_tree_remove_(k23_aspace_t *as, region_t *r);
/* r's bounds changed inside the range it had (old_base its old base):
 * its index slot follows. Cannot fail. */
void k23_aspace_tree_update_(k23_aspace_t *as, const region_t *r,
                             uint64_t old_base);
/* The lowest region, or NULL when there is none. */
region_t *k23_aspace_tree_first_(const k23_aspace_t *as);
/* The region holding addr, or NULL. */
region_t *k23_aspace_tree_find_(const k23_aspace_t *as, uint64_t addr);
/* Whether any region meets [base, last]. */
bool k23_aspace_tree_busy_(const k23_aspace_t *as, uint64_t base,
                           uint64_t last);
/* The placement search of k23_aspace_find(); bounds already clamped to
 * the window and validated. */
int k23_aspace_tree_place_(const k23_aspace_t *as, uint64_t size,
                           uint64_t align, uint64_t blo, uint64_t blast,
                           k23_aspace_random_fn rnd, void *rctx,
                           uint64_t *out);
/* Walk the index checking every invariant. */
int k23_aspace_tree_check_(const k23_aspace_t *as);

/* ---- shared by aspace.c and aspace_vm.c ---- */

/* Unmap the anonymous pages of [base, last], invalidate, free the frames. */
void k23_aspace_unmap_anon_(k23_aspace_t *as, uint64_t base, uint64_t last,
                            k23_pt_flush_t *flush);
/* Map a zeroed frame at page (4 KiB leaf); *out its address if out. */
int k23_aspace_map_zeroed_(k23_aspace_t *as, uint64_t page, k23_perm_t perm,
                           unsigned memtype, k23_pt_flush_t *flush,
                           k23_paddr_t *out);
/* k23_aspace_reserve() with the kind already validated (VM included). */
int k23_aspace_reserve_(k23_aspace_t *as, uint64_t base, uint64_t last,
                        const k23_aspace_desc_t *d, k23_pt_flush_t *flush);

#endif
