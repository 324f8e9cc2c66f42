/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The page-table engine: one walker for every format in pagetable.h.
 *
 * Every operation that can need table frames runs in two phases. The plan
 * phase walks the tree without writing and counts the frames the change
 * needs (new tables, blocks to split); those frames are taken from the
 * source up front and chained through their first word. The execute
 * phase then cannot fail. So running out of frames leaves the tree
 * exactly as it was, and a failure injected at any allocation is easy to
 * prove harmless.
 *
 * Each table keeps its number of valid entries in software bits of its
 * own first entries ("lanes", see pt_count()); no side storage, no extra
 * frame. A visit reads the count once, writes entries with plain stores
 * (which may clobber the lane bits of entries 0..k-1), and writes the
 * count back at the end of the visit.
 *
 * Tables that become empty are unlinked and handed to the flush object;
 * they go back to the frame source only after the TLB invalidation,
 * because a walker may still hold them in its caches until then.
 */
#include "k23mem/pagetable.h"

#include "internal.h"
#include "k23mem/frames.h"
#include "pagetable_internal.h"

#define PT_FLUSH_MAGIC UINT32_C(0x6b32334c)
#define PT_COUNT_BITS 10u /* 0..512 */
#define LVL_SHIFT(l) (12u + 9u * (l))
#define LVL_SIZE(l) (UINT64_C(1) << LVL_SHIFT(l))

/* ---- table access ---- */

static inline uint64_t *pt_table(k23_paddr_t pa)
{
    return (uint64_t *)k23_port_phys_to_virt(pa);
}

static inline unsigned pt_index(uint64_t va, unsigned level)
{
    return (unsigned)(va >> LVL_SHIFT(level)) & (K23_PT_ENTRIES - 1);
}

static inline bool pt_valid(const k23_pt_format_t *f, uint64_t e)
{
    return (e & f->valid_bit) != 0;
}

/* A valid entry at level >= 1 that points to a table. */
static inline bool pt_is_table(const k23_pt_format_t *f, uint64_t e)
{
    return (e & f->table_mask) == f->table_match;
}

static inline k23_paddr_t pt_next(const k23_pt_format_t *f, uint64_t e)
{
    return (e & f->addr_mask) << f->pte_pa_shift;
}

/* ---- valid-entry counts in the lanes ----
 *
 * The count (0..512, 10 bits) is spread over the software fields of
 * entries 0, 1, ...: each entry holds lane_bits[0] + lane_bits[1] bits of
 * it, low bits first. x86_64 fits it in entry 0 (bits 9-11 and 52-58),
 * aarch64 needs entries 0-2 (bits 55-58), riscv64 entries 0-4 (RSW). The
 * hardware ignores these bits in valid and invalid entries alike, and it
 * never writes our entries (Accessed/Dirty are preset), so plain
 * read-modify-write is safe. */

static inline uint64_t pt_lane_field(unsigned bits)
{
    return (UINT64_C(1) << bits) - 1;
}

static uint64_t pt_lane_mask(const k23_pt_format_t *f)
{
    uint64_t m = 0;
    for (unsigned k = 0; k < 2; k++)
        m |= pt_lane_field(f->lane_bits[k]) << f->lane_shift[k];
    return m;
}

static uint32_t pt_count(const k23_pt_format_t *f, const uint64_t *t)
{
    uint32_t c = 0;
    unsigned have = 0;
    for (unsigned i = 0; have < PT_COUNT_BITS; i++) {
        uint64_t e = t[i];
        for (unsigned k = 0; k < 2 && f->lane_bits[k] != 0; k++) {
            c |= (uint32_t)((e >> f->lane_shift[k]) &
                            pt_lane_field(f->lane_bits[k]))
                 << have;
            have += f->lane_bits[k];
        }
    }
    return c & ((1u << PT_COUNT_BITS) - 1);
}

static void pt_count_set(const k23_pt_format_t *f, uint64_t *t, uint32_t c)
{
    unsigned done = 0;
    for (unsigned i = 0; done < PT_COUNT_BITS; i++) {
        uint64_t e = t[i];
        for (unsigned k = 0; k < 2 && f->lane_bits[k] != 0; k++) {
            uint64_t m = pt_lane_field(f->lane_bits[k]);
            e &= ~(m << f->lane_shift[k]);
            e |= (((uint64_t)c >> done) & m) << f->lane_shift[k];
            done += f->lane_bits[k];
        }
        t[i] = e;
    }
}

/* ---- one operation's state ---- */

typedef struct pt_op {
    k23_pt_t *pt;
    const k23_pt_format_t *f;
    k23_pt_flush_t *flush;
    uint64_t va0;          /* map: va0 maps to pa0 */
    k23_paddr_t pa0;
    unsigned max_leaf;     /* largest leaf level map may write */
    uint64_t attr[K23_PT_MAX_LEAF_LEVEL + 1]; /* leaf(0, ...) per level */
    k23_paddr_t pool;      /* frames taken up front, chained */
    uint64_t pool_n;
    bool reclaim_partial;  /* unmap frees tables it empties */
} pt_op_t;

static int pt_pool_fill(pt_op_t *op, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        k23_paddr_t pa;
        int rc = op->pt->src.alloc_zeroed(op->pt->src.ctx, &pa);
        if (rc != K23_OK || (pa & 0xFFFu) != 0) {
            if (rc == K23_OK) /* a source handing out unaligned frames */
                K23_PANIC_ADDR("k23_pt: frame source returned an unaligned frame", pa);
            while (op->pool_n > 0) {
                k23_paddr_t p = op->pool;
                uint64_t *w = pt_table(p);
                op->pool = w[0];
                w[0] = 0;
                op->pool_n--;
                op->pt->src.free(op->pt->src.ctx, p);
            }
            return K23_ERR_NOMEM;
        }
        pt_table(pa)[0] = op->pool;
        op->pool = pa;
        op->pool_n++;
    }
    return K23_OK;
}

static k23_paddr_t pt_pool_take(pt_op_t *op)
{
    if (op->pool_n == 0)
        K23_PANIC("k23_pt: plan counted too few table frames");
    k23_paddr_t pa = op->pool;
    uint64_t *w = pt_table(pa);
    op->pool = w[0];
    w[0] = 0;
    op->pool_n--;
    op->pt->tables++;
    return pa;
}

/* Frames the plan over-counted go straight back (nothing saw them). */
static void pt_pool_drain(pt_op_t *op)
{
    while (op->pool_n > 0) {
        k23_paddr_t pa = op->pool;
        uint64_t *w = pt_table(pa);
        op->pool = w[0];
        w[0] = 0;
        op->pool_n--;
        op->pt->src.free(op->pt->src.ctx, pa);
    }
}

/* ---- flush recording ---- */

static void pt_flush_add(pt_op_t *op, uint64_t va, unsigned level,
                         uint64_t n, bool global)
{
    k23_pt_flush_t *fl = op->flush;
    if (n == 0)
        return;
    fl->arch = op->f->arch;
    if (global)
        fl->global = true;
    if (fl->all)
        return;
    if (n > K23_PT_FLUSH_MAX - fl->n) {
        fl->all = true;
        return;
    }
    uint64_t g = global ? K23_PORT_TLB_ENTRY_GLOBAL : 0;
    for (uint64_t i = 0; i < n; i++)
        fl->va[fl->n++] = (va + i * LVL_SIZE(level)) | level | g;
}

/* A whole range whose leaf sizes are not known: the whole ASID. */
static void pt_flush_add_all(pt_op_t *op)
{
    op->flush->arch = op->f->arch;
    op->flush->all = true;
    op->flush->global = true;
}

static void pt_release(pt_op_t *op, k23_paddr_t pa)
{
    k23_pt_flush_t *fl = op->flush;
    if (fl->nfree != 0 && (fl->src.alloc_zeroed != op->pt->src.alloc_zeroed ||
                           fl->src.free != op->pt->src.free ||
                           fl->src.ctx != op->pt->src.ctx))
        K23_PANIC_ADDR("k23_pt: flush object holds frames of another frame source; table",
                       pa);
    fl->src = op->pt->src;
    /* The table is unreachable but may sit in walk caches until the
     * flush; bit 0 of the link is 0 (4 KiB aligned), so entry 0 still
     * reads as invalid in every format. */
    pt_table(pa)[0] = fl->free_head;
    fl->free_head = pa;
    fl->nfree++;
    op->pt->tables--;
}

/* Release every table below the table at @p pa (level @p level), and it. */
static void pt_release_subtree(pt_op_t *op, k23_paddr_t pa, unsigned level)
{
    if (level > 0) {
        const uint64_t *t = pt_table(pa);
        for (unsigned i = 0; i < K23_PT_ENTRIES; i++) {
            uint64_t e = t[i];
            if (pt_valid(op->f, e) && pt_is_table(op->f, e))
                pt_release_subtree(op, pt_next(op->f, e), level - 1);
        }
    }
    pt_release(op, pa);
}

/* ---- argument checks ---- */

/* [va, va + size) is page aligned, non-empty, does not wrap and lies in
 * one half the format translates. */
static bool pt_va_range_ok(const k23_pt_format_t *f, uint64_t va,
                           uint64_t size, uint64_t *last)
{
    uint64_t l;
    if (size == 0 || ((va | size) & 0xFFFu) != 0 ||
        k23_add_overflow_(va, size - 1, &l))
        return false;
    unsigned lo_bits = f->half == K23_PT_HALF_BOTH ? f->va_bits - 1 : f->va_bits;
    uint64_t lo_last = (UINT64_C(1) << lo_bits) - 1;
    uint64_t hi_first = ~lo_last;
    bool low = f->half != K23_PT_HALF_HIGH && l <= lo_last;
    bool high = f->half != K23_PT_HALF_LOW && va >= hi_first;
    if (!low && !high)
        return false;
    *last = l;
    return true;
}

/* One address: inside the low half, or inside the high half. */
static inline bool pt_va_ok(const k23_pt_format_t *f, uint64_t va)
{
    unsigned lo_bits = f->half == K23_PT_HALF_BOTH ? f->va_bits - 1 : f->va_bits;
    uint64_t top = va >> lo_bits; /* 0: low half; all ones: high half */
    if (top == 0)
        return f->half != K23_PT_HALF_HIGH;
    return f->half != K23_PT_HALF_LOW && top == (UINT64_MAX >> lo_bits);
}

static int pt_op_args(k23_pt_t *pt, k23_pt_flush_t *flush)
{
    if (pt == NULL || flush == NULL || !k23_pt_format_ok_(pt->fmt))
        return K23_ERR_INVAL;
    if (flush->magic != PT_FLUSH_MAGIC || flush->asid != pt->asid)
        return K23_ERR_INVAL;
    return K23_OK;
}

static void pt_op_init(pt_op_t *op, k23_pt_t *pt, k23_pt_flush_t *flush)
{
    k23_memzero_(op, sizeof(*op));
    op->pt = pt;
    op->f = pt->fmt;
    op->flush = flush;
    op->reclaim_partial = true;
}

/* ---- splitting blocks ---- */

/* Replace the block at t[i] (level @p level, first address @p base) by a
 * table of 512 leaves one level down with the same output and
 * attributes. aarch64 demands break-before-make: invalid entry, TLB
 * invalidation, then the table. The others allow the direct swap
 * (identical translations); the old block is recorded for invalidation. */
static k23_paddr_t pt_split(pt_op_t *op, uint64_t *t, unsigned i,
                            unsigned level, uint64_t base)
{
    const k23_pt_format_t *f = op->f;
    uint64_t e = t[i];
    k23_pt_entry_t d;
    f->decode(e, level, &d);
    if (d.kind != K23_PT_ENTRY_LEAF || d.memtype == K23_PT_MEM_OTHER)
        K23_PANIC_ADDR("k23_pt: split of an entry the plan accepted changed; va", base);
    k23_paddr_t np = pt_pool_take(op);
    uint64_t *nt = pt_table(np);
    uint64_t child = f->leaf(d.pa, d.perm, d.memtype, level - 1);
    uint64_t step = LVL_SIZE(level - 1) >> f->pte_pa_shift;
    for (unsigned j = 0; j < K23_PT_ENTRIES; j++)
        nt[j] = child + (uint64_t)j * step;
    pt_count_set(f, nt, K23_PT_ENTRIES);
    bool global = !(d.perm & K23_PERM_USER);
    uint64_t lanes = e & pt_lane_mask(f); /* this table's count bits */
    if (f->arch == K23_PT_ARCH_AARCH64) {
        uint64_t one = base | level | (global ? K23_PORT_TLB_ENTRY_GLOBAL : 0);
        t[i] = lanes; /* bit 0 clear: invalid */
        k23_port_tlb_flush(f->arch, op->pt->asid, &one, 1, 0);
    } else {
        pt_flush_add(op, base, level, 1, global);
    }
    t[i] = f->table(np) | lanes;
    return np;
}

/* ---- planning ---- */

enum pt_plan_mode {
    PLAN_REAL,  /* a table that exists: read it */
    PLAN_EMPTY, /* a table the change will create: all invalid */
    PLAN_SPLIT  /* a table a split will create: all leaves */
};

static inline bool pt_leaf_fits(const pt_op_t *op, unsigned level,
                                uint64_t cur, uint64_t seg_last)
{
    uint64_t sz = LVL_SIZE(level);
    if (level > op->max_leaf || (cur & (sz - 1)) != 0 || seg_last - cur != sz - 1)
        return false;
    return ((op->pa0 + (cur - op->va0)) & (sz - 1)) == 0;
}

/* Tables a map of [va, last] below a table at @p level needs. Without
 * @p replace, a valid entry in the way is K23_ERR_BUSY; with it, entries
 * wholly inside the range count as gone (the unmap before the map frees
 * them) and blocks partly inside as split (counted by pt_plan_splits). */
static int pt_plan_map(const pt_op_t *op, k23_paddr_t tpa, unsigned mode,
                       unsigned level, uint64_t va, uint64_t last,
                       bool replace, uint64_t *need)
{
    const k23_pt_format_t *f = op->f;
    const uint64_t *t = mode == PLAN_REAL ? pt_table(tpa) : NULL;
    if (level == 0) {
        if (t == NULL || replace)
            return K23_OK;
        for (unsigned i = pt_index(va, 0), n = pt_index(last, 0); i <= n; i++)
            if (pt_valid(f, t[i]))
                return K23_ERR_BUSY;
        return K23_OK;
    }
    uint64_t cur = va;
    for (;;) {
        uint64_t base = cur & ~(LVL_SIZE(level) - 1);
        uint64_t elast = base + (LVL_SIZE(level) - 1);
        uint64_t seg = last < elast ? last : elast;
        bool whole = cur == base && seg == elast;
        /* what the entry is when the map runs */
        unsigned kind;
        uint64_t e = 0;
        if (mode == PLAN_REAL) {
            e = t[pt_index(cur, level)];
            kind = !pt_valid(f, e)      ? K23_PT_ENTRY_INVALID
                   : pt_is_table(f, e) ? K23_PT_ENTRY_TABLE
                                       : K23_PT_ENTRY_LEAF;
        } else {
            kind = mode == PLAN_SPLIT ? K23_PT_ENTRY_LEAF : K23_PT_ENTRY_INVALID;
        }
        if (replace && whole)
            kind = K23_PT_ENTRY_INVALID;
        int rc = K23_OK;
        if (pt_leaf_fits(op, level, cur, seg)) {
            if (kind != K23_PT_ENTRY_INVALID)
                return K23_ERR_BUSY;
        } else if (kind == K23_PT_ENTRY_INVALID) {
            (*need)++;
            rc = pt_plan_map(op, 0, PLAN_EMPTY, level - 1, cur, seg, replace, need);
        } else if (kind == K23_PT_ENTRY_TABLE) {
            rc = pt_plan_map(op, pt_next(f, e), PLAN_REAL, level - 1, cur, seg,
                             replace, need);
        } else if (replace) {
            rc = pt_plan_map(op, 0, PLAN_SPLIT, level - 1, cur, seg, replace, need);
        } else {
            return K23_ERR_BUSY;
        }
        if (rc != K23_OK)
            return rc;
        if (seg == last)
            return K23_OK;
        cur = seg + 1;
    }
}

/* Blocks that protect or unmap of [va, last] must split: only blocks
 * holding va or last can stick out of the range. Each split of a block at
 * level l leaves the endpoint in a leaf one level down, which may stick
 * out again. Returns the count of distinct splits (at most 2 per level),
 * or K23_ERR_UNSUPPORTED for a block whose memory type this library
 * cannot re-encode (adopted trees). */
static int pt_plan_splits(const pt_op_t *op, uint64_t va, uint64_t last,
                          uint64_t *need)
{
    const k23_pt_format_t *f = op->f;
    uint64_t seen[2 * K23_PT_MAX_LEVELS];
    unsigned nseen = 0;
    const uint64_t ends[2] = {va, last};
    for (unsigned k = 0; k < 2; k++) {
        uint64_t p = ends[k];
        k23_paddr_t tpa = op->pt->root;
        for (unsigned level = f->levels - 1;; level--) {
            uint64_t e = pt_table(tpa)[pt_index(p, level)];
            if (!pt_valid(f, e) || level == 0)
                break;
            if (pt_is_table(f, e)) {
                tpa = pt_next(f, e);
                continue;
            }
            k23_pt_entry_t d;
            f->decode(e, level, &d);
            if (d.kind != K23_PT_ENTRY_LEAF)
                return K23_ERR_CORRUPT;
            for (unsigned l = level; l >= 1; l--) {
                uint64_t b = p & ~(LVL_SIZE(l) - 1);
                if (b >= va && b + (LVL_SIZE(l) - 1) <= last)
                    break; /* wholly inside: no split */
                if (d.memtype == K23_PT_MEM_OTHER)
                    return K23_ERR_UNSUPPORTED;
                bool dup = false;
                for (unsigned s = 0; s < nseen; s++)
                    dup |= seen[s] == (b | l);
                if (!dup) {
                    seen[nseen++] = b | l;
                    (*need)++;
                }
            }
            break;
        }
    }
    return K23_OK;
}

/* ---- execution ---- */

static void pt_exec_map(pt_op_t *op, k23_paddr_t tpa, unsigned level,
                        uint64_t va, uint64_t last)
{
    const k23_pt_format_t *f = op->f;
    uint64_t *t = pt_table(tpa);
    uint32_t cnt = pt_count(f, t);
    if (level == 0) {
        unsigned i = pt_index(va, 0), n = pt_index(last, 0) - i + 1;
        uint64_t e = op->attr[0] | ((op->pa0 + (va - op->va0)) >> f->pte_pa_shift);
        uint64_t step = LVL_SIZE(0) >> f->pte_pa_shift;
        uint64_t *p = t + i;
        for (unsigned j = 0; j < n; j++, e += step)
            p[j] = e;
        pt_count_set(f, t, cnt + n);
        return;
    }
    uint32_t added = 0;
    uint64_t cur = va;
    for (;;) {
        uint64_t base = cur & ~(LVL_SIZE(level) - 1);
        uint64_t elast = base + (LVL_SIZE(level) - 1);
        uint64_t seg = last < elast ? last : elast;
        unsigned i = pt_index(cur, level);
        if (pt_leaf_fits(op, level, cur, seg)) {
            t[i] = op->attr[level] |
                   ((op->pa0 + (cur - op->va0)) >> f->pte_pa_shift);
            added++;
        } else {
            uint64_t e = t[i];
            k23_paddr_t child;
            if (!pt_valid(f, e)) {
                child = pt_pool_take(op);
                t[i] = f->table(child);
                added++;
            } else {
                child = pt_next(f, e);
            }
            pt_exec_map(op, child, level - 1, cur, seg);
        }
        if (seg == last)
            break;
        cur = seg + 1;
    }
    pt_count_set(f, t, cnt + added);
}

/* Unmap [va, last] below the table at @p tpa; returns its new count. */
static uint32_t pt_exec_unmap(pt_op_t *op, k23_paddr_t tpa, unsigned level,
                              uint64_t va, uint64_t last)
{
    const k23_pt_format_t *f = op->f;
    uint64_t *t = pt_table(tpa);
    uint32_t cnt = pt_count(f, t);
    uint32_t removed = 0;
    if (level == 0) {
        unsigned i = pt_index(va, 0), n = pt_index(last, 0) - i + 1;
        bool global = false;
        for (unsigned j = i; j < i + n; j++) {
            uint64_t e = t[j];
            if (pt_valid(f, e)) {
                removed++;
                global |= !(e & f->user_bit);
            }
            t[j] = 0;
        }
        pt_count_set(f, t, cnt - removed);
        if (removed != 0)
            pt_flush_add(op, va, 0, n, global);
        return cnt - removed;
    }
    uint64_t cur = va;
    for (;;) {
        uint64_t base = cur & ~(LVL_SIZE(level) - 1);
        uint64_t elast = base + (LVL_SIZE(level) - 1);
        uint64_t seg = last < elast ? last : elast;
        bool whole = cur == base && seg == elast;
        unsigned i = pt_index(cur, level);
        uint64_t e = t[i];
        if (pt_valid(f, e)) {
            if (!pt_is_table(f, e)) {
                if (whole) {
                    t[i] = 0;
                    removed++;
                    pt_flush_add(op, base, level, 1, !(e & f->user_bit));
                } else {
                    k23_paddr_t child = pt_split(op, t, i, level, base);
                    pt_exec_unmap(op, child, level - 1, cur, seg);
                }
            } else if (whole) {
                /* The whole table goes: no need to clear its entries. */
                t[i] = 0;
                removed++;
                pt_release_subtree(op, pt_next(f, e), level - 1);
                pt_flush_add_all(op);
            } else {
                k23_paddr_t child = pt_next(f, e);
                if (pt_exec_unmap(op, child, level - 1, cur, seg) == 0 &&
                    op->reclaim_partial) {
                    t[i] = 0;
                    removed++;
                    pt_release(op, child);
                }
            }
        }
        if (seg == last)
            break;
        cur = seg + 1;
    }
    pt_count_set(f, t, cnt - removed);
    return cnt - removed;
}

static void pt_exec_protect(pt_op_t *op, k23_paddr_t tpa, unsigned level,
                            uint64_t va, uint64_t last)
{
    const k23_pt_format_t *f = op->f;
    uint64_t *t = pt_table(tpa);
    if (level == 0) {
        unsigned i = pt_index(va, 0), n = pt_index(last, 0) - i + 1;
        uint64_t keep = ~f->perm_mask, bits = op->attr[0] & f->perm_mask;
        bool any = false, global = false;
        for (unsigned j = i; j < i + n; j++) {
            uint64_t e = t[j];
            if (pt_valid(f, e)) {
                any = true;
                global |= !(e & f->user_bit);
                t[j] = (e & keep) | bits;
            }
        }
        if (any)
            pt_flush_add(op, va, 0, n, global || !(bits & f->user_bit));
        return;
    }
    uint64_t cur = va;
    for (;;) {
        uint64_t base = cur & ~(LVL_SIZE(level) - 1);
        uint64_t elast = base + (LVL_SIZE(level) - 1);
        uint64_t seg = last < elast ? last : elast;
        bool whole = cur == base && seg == elast;
        unsigned i = pt_index(cur, level);
        uint64_t e = t[i];
        if (pt_valid(f, e)) {
            if (pt_is_table(f, e)) {
                pt_exec_protect(op, pt_next(f, e), level - 1, cur, seg);
            } else if (whole) {
                uint64_t bits = op->attr[level] & f->perm_mask;
                t[i] = (e & ~f->perm_mask) | bits;
                pt_flush_add(op, base, level, 1,
                             !(e & f->user_bit) || !(bits & f->user_bit));
            } else {
                k23_paddr_t child = pt_split(op, t, i, level, base);
                pt_exec_protect(op, child, level - 1, cur, seg);
            }
        }
        if (seg == last)
            break;
        cur = seg + 1;
    }
}

/* ---- frame source adapter for k23_frames_t ---- */

static int pt_frames_alloc(void *ctx, k23_paddr_t *out)
{
    return k23_frames_alloc_one_zeroed((k23_frames_t *)ctx, out);
}

static void pt_frames_free(void *ctx, k23_paddr_t pa)
{
    k23_frames_free_one((k23_frames_t *)ctx, pa);
}

int k23_pt_frame_source_frames(k23_pt_frame_source_t *src,
                               struct k23_frames *fa)
{
    if (src == NULL || fa == NULL || fa->frame_shift != 12)
        return K23_ERR_INVAL;
    src->alloc_zeroed = pt_frames_alloc;
    src->free = pt_frames_free;
    src->ctx = fa;
    return K23_OK;
}

/* ---- lifecycle ---- */

static bool pt_asid_ok(const k23_pt_format_t *f, uint32_t asid)
{
    return asid <= (f->arch == K23_PT_ARCH_X86_64 ? 0xFFFu : 0xFFFFu);
}

static bool pt_src_ok(const k23_pt_frame_source_t *src)
{
    return src != NULL && src->alloc_zeroed != NULL && src->free != NULL;
}

int k23_pt_create(k23_pt_t *pt, const k23_pt_format_t *fmt, uint32_t asid,
                  const k23_pt_frame_source_t *src)
{
    if (pt == NULL || !k23_pt_format_ok_(fmt) || !pt_src_ok(src) ||
        !pt_asid_ok(fmt, asid))
        return K23_ERR_INVAL;
    k23_paddr_t root;
    if (src->alloc_zeroed(src->ctx, &root) != K23_OK)
        return K23_ERR_NOMEM;
    if ((root & 0xFFFu) != 0)
        K23_PANIC_ADDR("k23_pt_create: frame source returned an unaligned frame", root);
    pt->fmt = fmt;
    pt->src = *src;
    pt->root = root;
    pt->asid = asid;
    pt->owns_root = true;
    pt->tables = 1;
    return K23_OK;
}

/* Check (write == false) or write the counts of (write == true) the tree
 * below the table at @p pa; counts tables. */
static int pt_adopt_walk(const k23_pt_format_t *f, k23_paddr_t pa,
                         unsigned level, bool write, uint64_t *tables)
{
    uint64_t *t = pt_table(pa);
    uint32_t n = 0;
    (*tables)++;
    for (unsigned i = 0; i < K23_PT_ENTRIES; i++) {
        uint64_t e = t[i];
        k23_pt_entry_t d;
        f->decode(e, level, &d);
        if (d.kind == K23_PT_ENTRY_INVALID)
            continue;
        if (d.kind == K23_PT_ENTRY_RESERVED ||
            (d.kind == K23_PT_ENTRY_LEAF && level > K23_PT_MAX_LEAF_LEVEL))
            return K23_ERR_CORRUPT;
        n++;
        if (d.kind == K23_PT_ENTRY_TABLE) {
            int rc = pt_adopt_walk(f, d.pa, level - 1, write, tables);
            if (rc != K23_OK)
                return rc;
        }
    }
    if (write)
        pt_count_set(f, t, n);
    return K23_OK;
}

int k23_pt_from_active(k23_pt_t *pt, const k23_pt_format_t *fmt,
                       k23_paddr_t root, uint32_t asid,
                       const k23_pt_frame_source_t *src)
{
    if (pt == NULL || !k23_pt_format_ok_(fmt) || !pt_src_ok(src) ||
        !pt_asid_ok(fmt, asid) || (root & 0xFFFu) != 0)
        return K23_ERR_INVAL;
    uint64_t tables = 0;
    int rc = pt_adopt_walk(fmt, root, fmt->levels - 1, false, &tables);
    if (rc != K23_OK)
        return rc;
    tables = 0;
    pt_adopt_walk(fmt, root, fmt->levels - 1, true, &tables);
    pt->fmt = fmt;
    pt->src = *src;
    pt->root = root;
    pt->asid = asid;
    pt->owns_root = false;
    pt->tables = tables;
    return K23_OK;
}

static void pt_destroy_rec(k23_pt_t *pt, k23_paddr_t pa, unsigned level)
{
    const k23_pt_format_t *f = pt->fmt;
    if (level > 0) {
        const uint64_t *t = pt_table(pa);
        for (unsigned i = 0; i < K23_PT_ENTRIES; i++) {
            uint64_t e = t[i];
            if (pt_valid(f, e) && pt_is_table(f, e))
                pt_destroy_rec(pt, pt_next(f, e), level - 1);
        }
    }
    if (pa != pt->root || pt->owns_root) {
        pt->src.free(pt->src.ctx, pa);
        pt->tables--;
    }
}

void k23_pt_destroy(k23_pt_t *pt)
{
    K23_REQUIRE(pt != NULL, "k23_pt_destroy");
    K23_REQUIRE(k23_pt_format_ok_(pt->fmt), "k23_pt_destroy");
    pt_destroy_rec(pt, pt->root, pt->fmt->levels - 1);
    pt->fmt = NULL;
}

/* ---- operations ---- */

int k23_pt_map(k23_pt_t *pt, uint64_t va, k23_paddr_t pa, uint64_t size,
               k23_perm_t perm, unsigned memtype, uint32_t flags,
               k23_pt_flush_t *flush)
{
    int rc = pt_op_args(pt, flush);
    if (rc != K23_OK)
        return rc;
    const k23_pt_format_t *f = pt->fmt;
    uint64_t last, pa_last;
    if ((flags & ~(K23_PT_REPLACE | K23_PT_MAX_LEAF_4K | K23_PT_MAX_LEAF_2M)) != 0 ||
        !pt_va_range_ok(f, va, size, &last) || (pa & 0xFFFu) != 0 ||
        k23_add_overflow_(pa, size - 1, &pa_last) ||
        (f->pa_bits < 64 && (pa_last >> f->pa_bits) != 0))
        return K23_ERR_INVAL;
    rc = k23_pt_leaf_args_ok_(f, perm, memtype);
    if (rc != K23_OK)
        return rc;

    pt_op_t op;
    pt_op_init(&op, pt, flush);
    op.va0 = va;
    op.pa0 = pa;
    op.max_leaf = (flags & K23_PT_MAX_LEAF_4K)   ? 0
                  : (flags & K23_PT_MAX_LEAF_2M) ? 1
                                                 : K23_PT_MAX_LEAF_LEVEL;
    for (unsigned l = 0; l <= K23_PT_MAX_LEAF_LEVEL; l++)
        op.attr[l] = f->leaf(0, perm, memtype, l);
    bool replace = (flags & K23_PT_REPLACE) != 0;

    uint64_t need = 0;
    if (replace) {
        rc = pt_plan_splits(&op, va, last, &need);
        if (rc != K23_OK)
            return rc;
    }
    rc = pt_plan_map(&op, pt->root, PLAN_REAL, f->levels - 1, va, last,
                     replace, &need);
    if (rc != K23_OK)
        return rc;
    rc = pt_pool_fill(&op, need);
    if (rc != K23_OK)
        return rc;
    if (replace) {
        op.reclaim_partial = false; /* the map refills what it empties */
        pt_exec_unmap(&op, pt->root, f->levels - 1, va, last);
    }
    pt_exec_map(&op, pt->root, f->levels - 1, va, last);
    /* riscv64 may cache invalid entries (without Svvptc): new mappings
     * need an sfence.vma too. x86_64 and aarch64 do not cache them. */
    if (f->arch == K23_PT_ARCH_RISCV64)
        pt_flush_add(&op, va, 0, size >> 12, !(perm & K23_PERM_USER));
    K23_ASSERT_INTERNAL_FOUND(op.pool_n == 0, op.pool_n);
    pt_pool_drain(&op);
    return K23_OK;
}

int k23_pt_protect(k23_pt_t *pt, uint64_t va, uint64_t size, k23_perm_t perm,
                   k23_pt_flush_t *flush)
{
    int rc = pt_op_args(pt, flush);
    if (rc != K23_OK)
        return rc;
    const k23_pt_format_t *f = pt->fmt;
    uint64_t last;
    if (!pt_va_range_ok(f, va, size, &last))
        return K23_ERR_INVAL;
    rc = k23_pt_leaf_args_ok_(f, perm, K23_PT_MEM_NORMAL);
    if (rc != K23_OK)
        return rc;
    pt_op_t op;
    pt_op_init(&op, pt, flush);
    for (unsigned l = 0; l <= K23_PT_MAX_LEAF_LEVEL; l++)
        op.attr[l] = f->leaf(0, perm, K23_PT_MEM_NORMAL, l);
    uint64_t need = 0;
    rc = pt_plan_splits(&op, va, last, &need);
    if (rc != K23_OK)
        return rc;
    rc = pt_pool_fill(&op, need);
    if (rc != K23_OK)
        return rc;
    pt_exec_protect(&op, pt->root, f->levels - 1, va, last);
    K23_ASSERT_INTERNAL_FOUND(op.pool_n == 0, op.pool_n);
    pt_pool_drain(&op);
    return K23_OK;
}

int k23_pt_unmap(k23_pt_t *pt, uint64_t va, uint64_t size,
                 k23_pt_flush_t *flush)
{
    int rc = pt_op_args(pt, flush);
    if (rc != K23_OK)
        return rc;
    const k23_pt_format_t *f = pt->fmt;
    uint64_t last;
    if (!pt_va_range_ok(f, va, size, &last))
        return K23_ERR_INVAL;
    pt_op_t op;
    pt_op_init(&op, pt, flush);
    uint64_t need = 0;
    rc = pt_plan_splits(&op, va, last, &need);
    if (rc != K23_OK)
        return rc;
    rc = pt_pool_fill(&op, need);
    if (rc != K23_OK)
        return rc;
    pt_exec_unmap(&op, pt->root, f->levels - 1, va, last);
    K23_ASSERT_INTERNAL_FOUND(op.pool_n == 0, op.pool_n);
    pt_pool_drain(&op);
    return K23_OK;
}

int k23_pt_query(const k23_pt_t *pt, uint64_t va, k23_pt_mapping_t *out)
{
    /* The format was checked when the table was made; the hot path only
     * refuses what it must. */
    if (pt == NULL || out == NULL || pt->fmt == NULL)
        return K23_ERR_INVAL;
    const k23_pt_format_t *f = pt->fmt;
    if (K23_UNLIKELY(!pt_va_ok(f, va)))
        return K23_ERR_NOT_FOUND;
    k23_paddr_t tpa = pt->root;
    for (unsigned level = f->levels - 1;; level--) {
        uint64_t e = pt_table(tpa)[pt_index(va, level)];
        if (!pt_valid(f, e))
            return K23_ERR_NOT_FOUND;
        if (level > 0 && pt_is_table(f, e)) {
            tpa = pt_next(f, e);
            continue;
        }
        k23_pt_entry_t d;
        f->decode(e, level, &d);
        if (d.kind != K23_PT_ENTRY_LEAF)
            return K23_ERR_NOT_FOUND;
        uint64_t off = va & (LVL_SIZE(level) - 1);
        out->va = va;
        out->pa = d.pa + off;
        out->size = LVL_SIZE(level);
        out->level = level;
        out->perm = d.perm;
        out->memtype = d.memtype;
        return K23_OK;
    }
}

static int pt_walk_rec(const k23_pt_t *pt, k23_paddr_t tpa, unsigned level,
                       uint64_t va, uint64_t last, k23_pt_walk_fn fn,
                       void *ctx)
{
    const k23_pt_format_t *f = pt->fmt;
    const uint64_t *t = pt_table(tpa);
    uint64_t cur = va;
    for (;;) {
        uint64_t base = cur & ~(LVL_SIZE(level) - 1);
        uint64_t elast = base + (LVL_SIZE(level) - 1);
        uint64_t seg = last < elast ? last : elast;
        uint64_t e = t[pt_index(cur, level)];
        if (pt_valid(f, e)) {
            int rc;
            if (level > 0 && pt_is_table(f, e)) {
                rc = pt_walk_rec(pt, pt_next(f, e), level - 1, cur, seg, fn, ctx);
            } else {
                k23_pt_entry_t d;
                f->decode(e, level, &d);
                rc = 0;
                if (d.kind == K23_PT_ENTRY_LEAF) {
                    k23_pt_mapping_t m = {base, d.pa, LVL_SIZE(level), level,
                                          d.perm, d.memtype};
                    rc = fn(ctx, &m);
                }
            }
            if (rc != 0)
                return rc;
        }
        if (seg == last)
            return K23_OK;
        cur = seg + 1;
    }
}

int k23_pt_walk(const k23_pt_t *pt, uint64_t va, uint64_t size,
                k23_pt_walk_fn fn, void *ctx)
{
    uint64_t last;
    if (pt == NULL || fn == NULL || !k23_pt_format_ok_(pt->fmt) ||
        !pt_va_range_ok(pt->fmt, va, size, &last))
        return K23_ERR_INVAL;
    return pt_walk_rec(pt, pt->root, pt->fmt->levels - 1, va, last, fn, ctx);
}

int k23_pt_activate_value(const k23_pt_t *pt, uint64_t *out)
{
    if (pt == NULL || out == NULL || !k23_pt_format_ok_(pt->fmt))
        return K23_ERR_INVAL;
    const k23_pt_format_t *f = pt->fmt;
    switch (f->arch) {
    case K23_PT_ARCH_X86_64: /* CR3: table address, PCID in bits 11:0 */
        *out = pt->root | (pt->asid & 0xFFFu);
        return K23_OK;
    case K23_PT_ARCH_AARCH64: /* TTBRn_EL1: BADDR, ASID in bits 63:48 */
        *out = pt->root | ((uint64_t)pt->asid << 48);
        return K23_OK;
    case K23_PT_ARCH_RISCV64: /* satp: MODE 63:60, ASID 59:44, PPN 43:0 */
        *out = ((uint64_t)f->satp_mode << 60) | ((uint64_t)pt->asid << 44) |
               (pt->root >> 12);
        return K23_OK;
    default:
        return K23_ERR_INVAL;
    }
}

int k23_pt_activate(const k23_pt_t *pt)
{
    uint64_t v;
    int rc = k23_pt_activate_value(pt, &v);
    if (rc != K23_OK)
        return rc;
    unsigned reg = pt->fmt->arch == K23_PT_ARCH_X86_64 ? K23_PORT_MMU_CR3
                   : pt->fmt->arch == K23_PT_ARCH_RISCV64
                       ? K23_PORT_MMU_SATP
                   : pt->fmt->half == K23_PT_HALF_HIGH ? K23_PORT_MMU_TTBR1
                                                       : K23_PORT_MMU_TTBR0;
    return k23_port_mmu_activate(reg, v);
}

uint64_t k23_pt_table_frames(const k23_pt_t *pt)
{
    K23_REQUIRE(pt != NULL, "k23_pt_table_frames");
    return pt->tables;
}

/* ---- flush objects ---- */

int k23_pt_flush_init(k23_pt_flush_t *f, uint32_t asid)
{
    if (f == NULL)
        return K23_ERR_INVAL;
    /* Re-initialising a live object with work pending drops that work: a
     * forgotten flush. (k23_pt_flush_fini() clears the marker, so only an
     * object that was never finished can trip this.) */
    if (f->magic == PT_FLUSH_MAGIC && (f->n != 0 || f->all || f->nfree != 0))
        K23_PANIC_ADDR("k23_pt_flush_init: flush object reused with pending work",
                       (uintptr_t)f);
    k23_memzero_(f, sizeof(*f));
    f->magic = PT_FLUSH_MAGIC;
    f->asid = asid;
    return K23_OK;
}

bool k23_pt_flush_pending(const k23_pt_flush_t *f)
{
    K23_REQUIRE(f != NULL && f->magic == PT_FLUSH_MAGIC, "k23_pt_flush_pending");
    return f->n != 0 || f->all || f->nfree != 0;
}

int k23_pt_flush(k23_pt_flush_t *f)
{
    if (f == NULL || f->magic != PT_FLUSH_MAGIC)
        return K23_ERR_INVAL;
    if (f->all) {
        uint32_t flags = K23_PORT_TLB_ALL | (f->global ? K23_PORT_TLB_GLOBAL : 0);
        k23_port_tlb_flush(f->arch, f->asid, f->va, 0, flags);
    } else if (f->n != 0) {
        k23_port_tlb_flush(f->arch, f->asid, f->va, f->n, 0);
    }
    while (f->nfree != 0) {
        k23_paddr_t pa = f->free_head;
        uint64_t *w = pt_table(pa);
        f->free_head = w[0];
        w[0] = 0;
        f->nfree--;
        f->src.free(f->src.ctx, pa);
    }
    f->free_head = 0;
    f->n = 0;
    f->all = false;
    f->global = false;
    return K23_OK;
}

void k23_pt_flush_fini(k23_pt_flush_t *f)
{
    K23_REQUIRE(f != NULL && f->magic == PT_FLUSH_MAGIC, "k23_pt_flush_fini");
    if (k23_pt_flush_pending(f))
        K23_PANIC_ADDR("k23_pt_flush_fini: TLB flush forgotten: pending work in flush object",
                       (uintptr_t)f);
    f->magic = 0;
}
