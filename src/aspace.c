/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Address spaces: regions over a page table (see include/k23mem/aspace.h
 * and docs/aspace.md). The tree and the records are in aspace_tree.c, the
 * port's VM hooks in aspace_vm.c.
 *
 * All or nothing, in one order everywhere: take the records an operation
 * may need first (giving them back if a later step fails), then do the one
 * page-table step that can fail, then change the tree, which cannot fail.
 * Anonymous memory is mapped with 4 KiB leaves only, so unmapping or
 * protecting it never splits a block and never fails; only wired regions,
 * which may use 2 MiB and 1 GiB leaves, can need a table frame to unmap
 * or protect part of themselves.
 */
#include "aspace_internal.h"

/* ---- argument checks ---- */

/* Whether [lo, last] lies in one half the format translates (the same
 * rule as the page-table engine's). */
static bool window_in_half(const k23_pt_format_t *f, uint64_t lo,
                           uint64_t last)
{
    unsigned bits = f->half == K23_PT_HALF_BOTH ? f->va_bits - 1 : f->va_bits;
    uint64_t lo_last = (UINT64_C(1) << bits) - 1;
    bool low = f->half != K23_PT_HALF_HIGH && last <= lo_last;
    bool high = f->half != K23_PT_HALF_LOW && lo >= ~lo_last;
    return low || high;
}

bool k23_aspace_range_ok_(const k23_aspace_t *as, uint64_t base,
                          uint64_t size, uint64_t *last)
{
    uint64_t l;
    if (size == 0 || ((base | size) & (K23_ASPACE_PAGE_ - 1)) != 0 ||
        k23_add_overflow_(base, size - 1, &l) || base < as->lo ||
        l > as->last)
        return false;
    *last = l;
    return true;
}

/* Permissions a mapping can carry: defined bits, READ, W^X. */
static int perm_ok(k23_perm_t perm)
{
    int err = k23_perm_check(perm);
    if (err != K23_OK)
        return err;
    return (perm & K23_PERM_READ) != 0 ? K23_OK : K23_ERR_INVAL;
}

static bool flush_ok(const k23_aspace_t *as, const k23_pt_flush_t *flush)
{
    return flush != NULL && flush->asid == as->pt.asid;
}

/* ---- anonymous frames ---- */

#define UNMAP_BATCH 64u

typedef struct collect {
    k23_paddr_t pa[UNMAP_BATCH];
    unsigned n;
    uint64_t next;  /* first address after the last leaf collected */
} collect_t;

static int collect_leaf(void *ctx, const k23_pt_mapping_t *m)
{
    collect_t *c = ctx;
    if (!K23_ALWAYS(m->size == K23_ASPACE_PAGE_))
        return K23_ERR_CORRUPT;
    c->pa[c->n++] = m->pa;
    c->next = m->va + m->size;
    return c->n == UNMAP_BATCH ? 1 : 0;
}

/* Unmap the anonymous pages of [base, last], invalidate through flush,
 * then give their frames back: a batch at a time, so no CPU can reach a
 * frame once it is free. Anonymous leaves are 4 KiB, so nothing here can
 * fail. */
void k23_aspace_unmap_anon_(k23_aspace_t *as, uint64_t base, uint64_t last,
                            k23_pt_flush_t *flush)
{
    uint64_t cur = base;
    for (;;) {
        collect_t c;
        c.n = 0;
        int rc = k23_pt_walk(&as->pt, cur, last - cur + 1, collect_leaf, &c);
        if (!K23_ALWAYS(rc == K23_OK || rc == 1))
            return;
        if (c.n == 0)
            return;
        uint64_t end = rc == 1 ? c.next - 1 : last;
        rc = k23_pt_unmap(&as->pt, cur, end - cur + 1, flush);
        if (!K23_ALWAYS(rc == K23_OK))
            return;
        k23_pt_flush(flush);
        for (unsigned i = 0; i < c.n; i++)
            as->src.free(as->src.ctx, c.pa[i]);
        as->resident_frames -= c.n;
        if (end == last)
            return;
        cur = end + 1;
    }
}

/* A zeroed frame mapped at page with perm (4 KiB leaf). */
int k23_aspace_map_zeroed_(k23_aspace_t *as, uint64_t page, k23_perm_t perm,
                           unsigned memtype, k23_pt_flush_t *flush,
                           k23_paddr_t *out)
{
    k23_paddr_t pa;
    if (as->src.alloc_zeroed(as->src.ctx, &pa) != K23_OK)
        return K23_ERR_NOMEM;
    int rc = k23_pt_map(&as->pt, page, pa, K23_ASPACE_PAGE_, perm, memtype,
                        K23_PT_MAX_LEAF_4K, flush);
    if (rc != K23_OK) {
        as->src.free(as->src.ctx, pa);
        return rc;
    }
    as->resident_frames++;
    if (out != NULL)
        *out = pa;
    return K23_OK;
}

/* ---- lifecycle ---- */

int k23_aspace_create(k23_aspace_t *as, const k23_pt_format_t *fmt,
                      uint32_t asid, const k23_pt_frame_source_t *src,
                      uint64_t lo, uint64_t last)
{
    if (as == NULL || fmt == NULL || src == NULL || src->alloc_zeroed == NULL ||
        src->free == NULL || fmt->va_bits < 32 || fmt->va_bits > 57 ||
        (lo & (K23_ASPACE_PAGE_ - 1)) != 0 ||
        ((last + 1) & (K23_ASPACE_PAGE_ - 1)) != 0 || last < lo ||
        !window_in_half(fmt, lo, last))
        return K23_ERR_INVAL;
    k23_pt_t pt;
    int rc = k23_pt_create(&pt, fmt, asid, src);
    if (rc != K23_OK)
        return rc;
    k23_memzero_(as, sizeof(*as));
    as->pt = pt;
    as->src = *src;
    as->lo = lo;
    as->last = last;
    k23_pt_flush_init(&as->vm_flush, asid);
    as->magic = K23_ASPACE_MAGIC_;
    return K23_OK;
}

void k23_aspace_destroy(k23_aspace_t *as, k23_pt_flush_t *flush)
{
    K23_REQUIRE(k23_aspace_ok_(as), "k23_aspace_destroy");
    K23_REQUIRE(flush_ok(as, flush), "k23_aspace_destroy");
    region_t *r;
    while ((r = k23_aspace_tree_first_(as)) != NULL) {
        if (r->kind == K23_ASPACE_WIRED) {
            /* Unmapping a whole region never splits a block. */
            int rc = k23_pt_unmap(&as->pt, r->base, r->last - r->base + 1,
                                  flush);
            K23_REQUIRE(rc == K23_OK, "k23_aspace_destroy");
        } else if (r->kind != K23_ASPACE_GUARD) {
            k23_aspace_unmap_anon_(as, r->base, r->last, flush);
        }
        as->reserved_bytes -= r->last - r->base + 1;
        if (r->kind == K23_ASPACE_VM)
            as->vm_bytes -= r->last - r->base + 1;
        k23_aspace_tree_remove_(as, r);
        k23_aspace_rec_free_(as, r);
    }
    k23_pt_flush(flush);
    k23_pt_flush(&as->vm_flush);
    k23_pt_flush_fini(&as->vm_flush);
    k23_pt_destroy(&as->pt);
    as->magic = 0;
}

/* ---- regions ---- */

static void copy_name(char *dst, const char *src)
{
    size_t i = 0;
    if (src != NULL)
        for (; i + 1 < K23_ASPACE_NAME_MAX && src[i] != '\0'; i++)
            dst[i] = src[i];
    dst[i] = '\0';
}

static int desc_ok(const k23_aspace_desc_t *d, uint64_t size)
{
    if (d == NULL)
        return K23_ERR_INVAL;
    switch (d->kind) {
    case K23_ASPACE_GUARD:
        return K23_OK;
    case K23_ASPACE_WIRED: {
        k23_paddr_t pl;
        if ((d->pa & (K23_ASPACE_PAGE_ - 1)) != 0 ||
            k23_add_overflow_(d->pa, size - 1, &pl) ||
            (d->memtype != K23_PT_MEM_NORMAL &&
             d->memtype != K23_PT_MEM_DEVICE) ||
            (d->map_flags & ~(K23_PT_MAX_LEAF_4K | K23_PT_MAX_LEAF_2M)) != 0)
            return K23_ERR_INVAL;
        return perm_ok(d->perm);
    }
    case K23_ASPACE_ANON_EAGER:
    case K23_ASPACE_ANON_LAZY:
        if (d->memtype != K23_PT_MEM_NORMAL || d->map_flags != 0 ||
            d->pa != 0)
            return K23_ERR_INVAL;
        return perm_ok(d->perm);
    default:
        return K23_ERR_INVAL;
    }
}

/* Map what the kind maps now. All or nothing. */
static int populate(k23_aspace_t *as, uint64_t base, uint64_t last,
                    const k23_aspace_desc_t *d, k23_pt_flush_t *flush)
{
    if (d->kind == K23_ASPACE_WIRED)
        return k23_pt_map(&as->pt, base, d->pa, last - base + 1, d->perm,
                          d->memtype, d->map_flags, flush);
    if (d->kind != K23_ASPACE_ANON_EAGER)
        return K23_OK;
    for (uint64_t p = base;; p += K23_ASPACE_PAGE_) {
        int rc = k23_aspace_map_zeroed_(as, p, d->perm, K23_PT_MEM_NORMAL,
                                        flush, NULL);
        if (rc != K23_OK) {
            if (p != base)
                k23_aspace_unmap_anon_(as, base, p - 1, flush);
            return rc;
        }
        if (p + (K23_ASPACE_PAGE_ - 1) == last)
            return K23_OK;
    }
}

/* The record of a new region, in the tree. */
static void add_region(k23_aspace_t *as, region_t *r, uint64_t base,
                       uint64_t last, const k23_aspace_desc_t *d)
{
    r->base = base;
    r->last = last;
    r->kind = (uint8_t)d->kind;
    if (d->kind != K23_ASPACE_GUARD && d->kind != K23_ASPACE_VM) {
        r->perm = d->perm;
        r->memtype = (uint8_t)d->memtype;
    }
    if (d->kind == K23_ASPACE_WIRED) {
        r->pa = d->pa;
        r->map_flags = (uint8_t)d->map_flags;
    }
    copy_name(r->name, d->name);
    k23_aspace_tree_insert_(as, r);
    as->reserved_bytes += last - base + 1;
    if (d->kind == K23_ASPACE_VM)
        as->vm_bytes += last - base + 1;
}

/* Reserve with the kind already validated (VM included). */
int k23_aspace_reserve_(k23_aspace_t *as, uint64_t base, uint64_t last,
                        const k23_aspace_desc_t *d, k23_pt_flush_t *flush)
{
    if (k23_aspace_tree_busy_(as, base, last))
        return K23_ERR_BUSY;
    region_t *r = k23_aspace_rec_alloc_(as);
    if (r == NULL)
        return K23_ERR_NOMEM;
    int rc = k23_aspace_tree_prepare_(as, base, 1);
    if (rc == K23_OK)
        rc = populate(as, base, last, d, flush);
    if (rc != K23_OK) {
        k23_aspace_tree_unprepare_(as);
        k23_aspace_rec_free_(as, r);
        return rc;
    }
    add_region(as, r, base, last, d);
    k23_aspace_tree_unprepare_(as);
    K23_ASSERT_EXPENSIVE_OK(k23_aspace_check(as));
    return K23_OK;
}

int k23_aspace_reserve(k23_aspace_t *as, uint64_t base, uint64_t size,
                       const k23_aspace_desc_t *d, k23_pt_flush_t *flush)
{
    uint64_t last;
    if (!k23_aspace_ok_(as) || !flush_ok(as, flush) ||
        !k23_aspace_range_ok_(as, base, size, &last))
        return K23_ERR_INVAL;
    int rc = desc_ok(d, size);
    if (rc != K23_OK)
        return rc;
    return k23_aspace_reserve_(as, base, last, d, flush);
}

int k23_aspace_find(const k23_aspace_t *as, uint64_t size,
                    unsigned align_log2, const k23_aspace_placement_t *pl,
                    uint64_t *out)
{
    if (!k23_aspace_ok_(as) || out == NULL || size == 0 ||
        (size & (K23_ASPACE_PAGE_ - 1)) != 0 || align_log2 < 12 ||
        align_log2 > 63)
        return K23_ERR_INVAL;
    uint64_t blo = as->lo, blast = as->last;
    k23_aspace_random_fn rnd = NULL;
    void *rctx = NULL;
    if (pl != NULL) {
        if (pl->lo > pl->last || pl->lo < as->lo || pl->last > as->last)
            return K23_ERR_INVAL;
        blo = pl->lo;
        blast = pl->last;
        rnd = pl->random;
        rctx = pl->random_ctx;
    }
    return k23_aspace_tree_place_(as, size, UINT64_C(1) << align_log2, blo,
                                  blast, rnd, rctx, out);
}

int k23_aspace_reserve_any(k23_aspace_t *as, uint64_t size,
                           unsigned align_log2,
                           const k23_aspace_placement_t *pl,
                           const k23_aspace_desc_t *d, k23_pt_flush_t *flush,
                           uint64_t *out)
{
    if (!k23_aspace_ok_(as) || !flush_ok(as, flush) || out == NULL ||
        size == 0)
        return K23_ERR_INVAL;
    int rc = desc_ok(d, size);
    if (rc != K23_OK)
        return rc;
    uint64_t base;
    rc = k23_aspace_find(as, size, align_log2, pl, &base);
    if (rc != K23_OK)
        return rc;
    rc = k23_aspace_reserve_(as, base, base + (size - 1), d, flush);
    if (rc == K23_OK)
        *out = base;
    return rc;
}

/* ---- splitting ---- */

/* Records for the pieces of r left around [base, last]: head keeps r,
 * a tail needs a new record; a middle piece (protect) another. */
typedef struct split {
    region_t *r;
    bool head, tail;
    region_t *spare[2];
    unsigned nspare;
} split_t;

/* Find the region holding [base, last] and take the records a split
 * needs. want_mid: the range itself stays as a region (protect). */
static int split_prepare(k23_aspace_t *as, uint64_t base, uint64_t last,
                         bool want_mid, split_t *s)
{
    s->r = k23_aspace_tree_find_(as, base);
    if (s->r == NULL || s->r->last < last)
        return K23_ERR_NOT_FOUND;
    s->head = base > s->r->base;
    s->tail = last < s->r->last;
    unsigned need = 0;
    if (s->head && s->tail)
        need = want_mid ? 2 : 1;
    else if (want_mid && (s->head || s->tail))
        need = 1;
    s->nspare = 0;
    while (s->nspare < need) {
        region_t *x = k23_aspace_rec_alloc_(as);
        if (x == NULL) {
            while (s->nspare > 0)
                k23_aspace_rec_free_(as, s->spare[--s->nspare]);
            return K23_ERR_NOMEM;
        }
        s->spare[s->nspare++] = x;
    }
    /* r keeps one piece in place; the pieces with new records go in */
    if (k23_aspace_tree_prepare_(as, base, need) != K23_OK) {
        while (s->nspare > 0)
            k23_aspace_rec_free_(as, s->spare[--s->nspare]);
        return K23_ERR_NOMEM;
    }
    return K23_OK;
}

static void split_abort(k23_aspace_t *as, split_t *s)
{
    while (s->nspare > 0)
        k23_aspace_rec_free_(as, s->spare[--s->nspare]);
    k23_aspace_tree_unprepare_(as);
}

/* A copy of r covering [base, last] (wired: physical start moved along). */
static region_t *piece(split_t *s, uint64_t base, uint64_t last)
{
    region_t *x = s->spare[--s->nspare];
    *x = *s->r;
    if (x->kind == K23_ASPACE_WIRED)
        x->pa = s->r->pa + (base - s->r->base);
    x->base = base;
    x->last = last;
    return x;
}

/* Cut [base, last] out of s->r's record. With mid, the range stays as its
 * own region (returned) with perm; without, it goes. */
static region_t *split_commit(k23_aspace_t *as, split_t *s, uint64_t base,
                              uint64_t last, bool mid, k23_perm_t perm)
{
    region_t *r = s->r, *tail = NULL, *m = NULL;
    uint64_t r_base = r->base, r_last = r->last;
    /* copies first: piece() reads r's original bounds */
    if (s->tail && (s->head || mid))
        tail = piece(s, last + 1, r_last);
    if (mid && s->head)
        m = piece(s, base, last);
    /* r keeps the lowest piece, its bounds changed in place (its slot in
     * the index stays in order: the piece lies inside r); the other pieces
     * go in after it, on the same path (k23_aspace_tree_prepare_()). */
    if (s->head) {
        r->last = base - 1;
    } else if (mid) {
        m = r;
        m->last = last;
    } else if (s->tail) {
        /* only a tail remains: r becomes it */
        if (r->kind == K23_ASPACE_WIRED)
            r->pa += last + 1 - r->base;
        r->base = last + 1;
    } else {
        k23_aspace_tree_remove_(as, r);
        k23_aspace_rec_free_(as, r);
        r = NULL;
    }
    if (r != NULL)
        k23_aspace_tree_update_(as, r, r_base);
    if (m != NULL) {
        m->perm = perm;
        if (m != r)
            k23_aspace_tree_insert_(as, m);
    }
    if (tail != NULL)
        k23_aspace_tree_insert_(as, tail);
    if (!K23_ALWAYS(s->nspare == 0))
        split_abort(as, s);
    k23_aspace_tree_unprepare_(as);
    return m;
}

int k23_aspace_unmap(k23_aspace_t *as, uint64_t base, uint64_t size,
                     k23_pt_flush_t *flush)
{
    uint64_t last;
    if (!k23_aspace_ok_(as) || !flush_ok(as, flush) ||
        !k23_aspace_range_ok_(as, base, size, &last))
        return K23_ERR_INVAL;
    split_t s;
    int rc = split_prepare(as, base, last, false, &s);
    if (rc != K23_OK)
        return rc;
    unsigned kind = s.r->kind;
    if (kind == K23_ASPACE_WIRED) {
        rc = k23_pt_unmap(&as->pt, base, size, flush);
        if (rc != K23_OK) {
            split_abort(as, &s);
            return rc;
        }
    } else if (kind != K23_ASPACE_GUARD) {
        k23_aspace_unmap_anon_(as, base, last, flush);
    }
    split_commit(as, &s, base, last, false, 0);
    as->reserved_bytes -= size;
    if (kind == K23_ASPACE_VM)
        as->vm_bytes -= size;
    K23_ASSERT_EXPENSIVE_OK(k23_aspace_check(as));
    return K23_OK;
}

int k23_aspace_release(k23_aspace_t *as, uint64_t addr,
                       k23_pt_flush_t *flush)
{
    if (!k23_aspace_ok_(as) || !flush_ok(as, flush))
        return K23_ERR_INVAL;
    const region_t *r = k23_aspace_tree_find_(as, addr);
    if (r == NULL)
        return K23_ERR_NOT_FOUND;
    return k23_aspace_unmap(as, r->base, r->last - r->base + 1, flush);
}

int k23_aspace_protect(k23_aspace_t *as, uint64_t base, uint64_t size,
                       k23_perm_t perm, k23_pt_flush_t *flush)
{
    uint64_t last;
    if (!k23_aspace_ok_(as) || !flush_ok(as, flush) ||
        !k23_aspace_range_ok_(as, base, size, &last))
        return K23_ERR_INVAL;
    int rc = perm_ok(perm);
    if (rc != K23_OK)
        return rc;
    const region_t *r = k23_aspace_tree_find_(as, base);
    if (r == NULL || r->last < last)
        return K23_ERR_NOT_FOUND;
    if (r->kind == K23_ASPACE_GUARD || r->kind == K23_ASPACE_VM)
        return K23_ERR_BUSY;
    if (r->perm == perm)
        return K23_OK;
    split_t s;
    rc = split_prepare(as, base, last, true, &s);
    if (rc != K23_OK)
        return rc;
    rc = k23_pt_protect(&as->pt, base, size, perm, flush);
    if (rc != K23_OK) {
        split_abort(as, &s);
        return rc;
    }
    split_commit(as, &s, base, last, true, perm);
    K23_ASSERT_EXPENSIVE_OK(k23_aspace_check(as));
    return K23_OK;
}

int k23_aspace_lookup(const k23_aspace_t *as, uint64_t addr,
                      k23_aspace_info_t *out)
{
    if (!k23_aspace_ok_(as) || out == NULL)
        return K23_ERR_INVAL;
    const region_t *r = k23_aspace_tree_find_(as, addr);
    if (r == NULL)
        return K23_ERR_NOT_FOUND;
    out->base = r->base;
    out->size = r->last - r->base + 1;
    out->pa = r->pa;
    out->perm = r->perm;
    out->kind = r->kind;
    out->memtype = r->memtype;
    k23_memcopy_(out->name, r->name, sizeof(out->name));
    return K23_OK;
}

/* ---- faults ---- */

int k23_aspace_fault(k23_aspace_t *as, uint64_t addr, k23_fault_t cause,
                     bool user, k23_pt_flush_t *flush,
                     k23_aspace_fault_result_t *res)
{
    k23_perm_t needed;
    if (!k23_aspace_ok_(as) || !flush_ok(as, flush) || res == NULL ||
        cause == 0 || k23_fault_to_perm(cause, &needed) != K23_OK)
        return K23_ERR_INVAL;
    if (user)
        needed |= K23_PERM_USER;
    k23_aspace_fault_result_t o = {0};
    o.needed = needed;
    o.page = addr & ~(K23_ASPACE_PAGE_ - 1);
    const region_t *r = k23_aspace_tree_find_(as, addr);
    int rc = K23_ERR_NOT_FOUND;
    if (r == NULL) {
        o.outcome = K23_ASPACE_FAULT_NO_REGION;
        *res = o;
        return rc;
    }
    o.region_base = r->base;
    o.region_size = r->last - r->base + 1;
    o.kind = r->kind;
    o.allowed = r->perm;
    k23_pt_mapping_t m;
    bool mapped = k23_pt_query(&as->pt, addr, &m) == K23_OK;
    if (mapped && r->kind == K23_ASPACE_VM)
        o.allowed = m.perm;
    if (r->kind == K23_ASPACE_GUARD) {
        o.outcome = K23_ASPACE_FAULT_GUARD;
    } else if (r->kind == K23_ASPACE_VM && !mapped) {
        o.outcome = K23_ASPACE_FAULT_UNCOMMITTED;
    } else if ((needed & ~o.allowed) != 0) {
        o.outcome = K23_ASPACE_FAULT_DENIED;
    } else if (mapped) {
        o.outcome = K23_ASPACE_FAULT_PRESENT;
        o.pa = m.pa;
        rc = K23_OK;
    } else if (K23_ALWAYS(r->kind == K23_ASPACE_ANON_LAZY)) {
        rc = k23_aspace_map_zeroed_(as, o.page, r->perm, K23_PT_MEM_NORMAL,
                                    flush, &o.pa);
        o.outcome = rc == K23_OK ? K23_ASPACE_FAULT_RESOLVED
                                 : K23_ASPACE_FAULT_NOMEM;
        if (rc != K23_OK)
            rc = K23_ERR_NOMEM;
    } else {
        /* a wired or eager page missing: the tree and the table disagree */
        rc = K23_ERR_CORRUPT;
    }
    *res = o;
    return rc;
}

/* ---- introspection ---- */

int k23_aspace_stats(const k23_aspace_t *as, k23_aspace_stats_t *out)
{
    if (!k23_aspace_ok_(as) || out == NULL)
        return K23_ERR_INVAL;
    out->regions = as->nregions;
    out->reserved_bytes = as->reserved_bytes;
    out->resident_frames = as->resident_frames;
    out->table_frames = k23_pt_table_frames(&as->pt);
    out->record_frames = as->record_frames;
    return K23_OK;
}

const k23_pt_t *k23_aspace_pt(const k23_aspace_t *as)
{
    K23_REQUIRE(k23_aspace_ok_(as), "k23_aspace_pt");
    return &as->pt;
}

int k23_aspace_check(const k23_aspace_t *as)
{
    if (!k23_aspace_ok_(as))
        return K23_ERR_INVAL;
    return k23_aspace_tree_check_(as);
}
