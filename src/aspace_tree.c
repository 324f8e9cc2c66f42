/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The region tree of an address space, and the records it is made of.
 *
 * Records: carved from 4 KiB frames of the address space's frame source.
 * A record frame starts with a header (its free records and its place on
 * the list of frames with a free record); the records follow. A frame
 * goes back to the source as soon as its last record is freed, so an
 * operation that fails after taking records leaves the frame count as it
 * was, and destroy leaves nothing behind.
 *
 * Tree: AVL, keyed by base (regions never overlap, so base orders them).
 * Each node keeps three subtree aggregates that depend only on its
 * children, so rotations recompute them locally:
 *   sub_base  lowest base of the subtree
 *   sub_last  highest last of the subtree
 *   sub_gap   largest free run strictly between two regions of the subtree
 * The free space around a subtree is bounded by its in-order neighbours,
 * which the search carries down, so the largest free run a subtree can
 * offer is max(sub_gap, sub_base - lo_free, hi_free - sub_last): a subtree
 * whose best is smaller than the request is skipped whole. That is the
 * augmentation Linux's VMA rbtree kept (rb_subtree_gap); AVL instead of
 * red-black because its recursive form is short and its height bound
 * (1.44 log2 n) keeps lookups shallow.
 */
#include "aspace_internal.h"

/* ---- records ---- */

typedef struct rec_frame {
    struct rec_frame *next;     /* frames with a free record */
    struct rec_frame *prev;
    region_t *free;             /* free records, chained through left */
    k23_paddr_t pa;             /* this frame */
    uint64_t used;              /* records handed out */
} rec_frame_t;

/* Records start at a 64-byte boundary, 32-byte strides apart (96 bytes
 * on 64-bit targets), so the fields a lookup reads (left, right, base,
 * last: at most the first 32 bytes) never straddle two cache lines. */
#define REC_FIRST_ UINT64_C(64)
#define REC_STRIDE_ ((sizeof(region_t) + 31u) & ~(size_t)31u)
#define REC_PER_FRAME_ ((K23_ASPACE_PAGE_ - REC_FIRST_) / REC_STRIDE_)

_Static_assert(sizeof(rec_frame_t) <= 64, "record frame header fits 64 bytes");

static rec_frame_t *rec_frame_of(const region_t *r)
{
    return (rec_frame_t *)((uintptr_t)r & ~(uintptr_t)(K23_ASPACE_PAGE_ - 1));
}

static void rec_list_remove(k23_aspace_t *as, rec_frame_t *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        as->rec_partial = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
}

static void rec_list_push(k23_aspace_t *as, rec_frame_t *f)
{
    rec_frame_t *head = as->rec_partial;
    f->prev = NULL;
    f->next = head;
    if (head != NULL)
        head->prev = f;
    as->rec_partial = f;
}

static rec_frame_t *rec_frame_new(k23_aspace_t *as)
{
    k23_paddr_t pa;
    if (as->src.alloc_zeroed(as->src.ctx, &pa) != K23_OK)
        return NULL;
    rec_frame_t *f = k23_port_phys_to_virt(pa);
    /* Records find their frame header by rounding down: the frame must be
     * page aligned in the virtual view too. */
    if (((uintptr_t)f & (K23_ASPACE_PAGE_ - 1)) != 0)
        K23_PANIC_ADDR("aspace: a record frame is not page aligned at",
                       (uintptr_t)f);
    f->pa = pa;
    f->used = 0;
    f->free = NULL;
    unsigned char *first = (unsigned char *)f + REC_FIRST_;
    for (size_t i = REC_PER_FRAME_; i-- > 0;) {
        region_t *r = (region_t *)(void *)(first + i * REC_STRIDE_);
        r->left = f->free;
        f->free = r;
    }
    rec_list_push(as, f);
    as->record_frames++;
    return f;
}

region_t *k23_aspace_rec_alloc_(k23_aspace_t *as)
{
    rec_frame_t *f = as->rec_partial;
    if (f == NULL && (f = rec_frame_new(as)) == NULL)
        return NULL;
    region_t *r = f->free;
    f->free = r->left;
    f->used++;
    if (f->free == NULL)
        rec_list_remove(as, f);
    k23_memzero_(r, sizeof(*r));
    return r;
}

void k23_aspace_rec_free_(k23_aspace_t *as, region_t *r)
{
    rec_frame_t *f = rec_frame_of(r);
    if (f->used == 0)
        K23_PANIC_ADDR("aspace: record freed twice at", (uintptr_t)r);
    bool was_full = f->free == NULL;
    r->left = f->free;
    f->free = r;
    f->used--;
    if (f->used == 0) {
        if (!was_full)
            rec_list_remove(as, f);
        as->record_frames--;
        as->src.free(as->src.ctx, f->pa);
    } else if (was_full) {
        rec_list_push(as, f);
    }
}

/* ---- AVL with gap aggregates ---- */

static unsigned height(const region_t *n)
{
    return n != NULL ? n->height : 0u;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Recompute n's height and aggregates from its children. */
static void pull(region_t *n)
{
    unsigned hl = height(n->left), hr = height(n->right);
    n->height = (uint8_t)((hl > hr ? hl : hr) + 1);
    n->sub_base = n->left != NULL ? n->left->sub_base : n->base;
    n->sub_last = n->right != NULL ? n->right->sub_last : n->last;
    uint64_t g = 0;
    if (n->left != NULL)
        g = max64(n->left->sub_gap, n->base - n->left->sub_last - 1);
    if (n->right != NULL)
        g = max64(g, max64(n->right->sub_gap,
                           n->right->sub_base - n->last - 1));
    n->sub_gap = g;
}

static region_t *rotate_right(region_t *n)
{
    region_t *l = n->left;
    n->left = l->right;
    l->right = n;
    pull(n);
    pull(l);
    return l;
}

static region_t *rotate_left(region_t *n)
{
    region_t *r = n->right;
    n->right = r->left;
    r->left = n;
    pull(n);
    pull(r);
    return r;
}

static region_t *balance(region_t *n)
{
    pull(n);
    int bf = (int)height(n->left) - (int)height(n->right);
    if (bf > 1) {
        if (height(n->left->left) < height(n->left->right))
            n->left = rotate_left(n->left);
        return rotate_right(n);
    }
    if (bf < -1) {
        if (height(n->right->right) < height(n->right->left))
            n->right = rotate_right(n->right);
        return rotate_left(n);
    }
    return n;
}

static region_t *insert(region_t *n, region_t *r)
{
    if (n == NULL) {
        r->left = r->right = NULL;
        pull(r);
        return r;
    }
    if (r->base < n->base)
        n->left = insert(n->left, r);
    else
        n->right = insert(n->right, r);
    return balance(n);
}

/* Detach the lowest node of n's subtree into *min. */
static region_t *remove_min(region_t *n, region_t **min)
{
    if (n->left == NULL) {
        *min = n;
        return n->right;
    }
    n->left = remove_min(n->left, min);
    return balance(n);
}

static region_t *tree_remove(region_t *n, const region_t *r)
{
    if (n == NULL)
        K23_PANIC_ADDR("aspace: removing a region not in the tree at",
                       r->base);
    if (r->base < n->base) {
        n->left = tree_remove(n->left, r);
    } else if (r->base > n->base) {
        n->right = tree_remove(n->right, r);
    } else {
        if (n != r)
            K23_PANIC_ADDR("aspace: another record holds base", r->base);
        if (n->right == NULL)
            return n->left;
        region_t *m;
        region_t *rest = remove_min(n->right, &m);
        m->left = n->left;
        m->right = rest;
        return balance(m);
    }
    return balance(n);
}

void k23_aspace_tree_insert_(k23_aspace_t *as, region_t *r)
{
    as->root = insert(as->root, r);
    as->nregions++;
}

void k23_aspace_tree_remove_(k23_aspace_t *as, region_t *r)
{
    as->root = tree_remove(as->root, r);
    as->nregions--;
}

/* The region with the greatest base <= addr, or NULL. */
static region_t *floor_node(const k23_aspace_t *as, uint64_t addr)
{
    region_t *n = as->root, *best = NULL;
    while (n != NULL) {
        if (n->base <= addr) {
            best = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return best;
}

region_t *k23_aspace_tree_find_(const k23_aspace_t *as, uint64_t addr)
{
    region_t *n = floor_node(as, addr);
    return n != NULL && n->last >= addr ? n : NULL;
}

bool k23_aspace_tree_busy_(const k23_aspace_t *as, uint64_t base,
                           uint64_t last)
{
    /* Regions are disjoint and ordered: only the last one starting at or
     * before `last` can reach into [base, last]. */
    region_t *n = floor_node(as, last);
    return n != NULL && n->last >= base;
}

/* ---- placement ---- */

typedef struct place {
    uint64_t size, align;  /* bytes; align a power of two >= 4 KiB */
    uint64_t blo, blast;   /* bounds, inside the window */
    uint64_t skip;         /* enumeration: positions still to pass over */
    uint64_t total;        /* enumeration: positions counted */
    bool count_only;
    uint64_t out;
} place_t;

/* Aligned positions for the range in the free run [g0, g1] clipped to
 * the bounds: *first and the count (0: none). */
static uint64_t gap_positions(const place_t *q, uint64_t g0, uint64_t g1,
                              uint64_t *first)
{
    if (g0 < q->blo)
        g0 = q->blo;
    if (g1 > q->blast)
        g1 = q->blast;
    if (g0 > g1 || g1 - g0 < q->size - 1)
        return 0;
    uint64_t x;
    if (k23_add_overflow_(g0, q->align - 1, &x))
        return 0;
    x &= ~(q->align - 1);
    uint64_t xl = g1 - (q->size - 1); /* last start that fits */
    if (x > xl)
        return 0;
    *first = x;
    return (xl - x) / q->align + 1;
}

/* One free run met in address order: first fit takes the first position;
 * counting adds its positions; the second pass of a uniform draw passes
 * over q->skip positions. Returns true to stop. */
static bool place_visit(place_t *q, uint64_t g0, uint64_t g1)
{
    uint64_t first, n = gap_positions(q, g0, g1, &first);
    if (n == 0)
        return false;
    if (q->count_only) {
        q->total += n;
        return false;
    }
    if (q->skip >= n) {
        q->skip -= n;
        return false;
    }
    q->out = first + q->skip * q->align;
    return true;
}

/* Visit, in address order, the free runs of the subtree n together with
 * the free space around it: [lo_free, hi_free] is the space between n's
 * in-order neighbours (or the bounds), which n's regions lie inside. */
static bool place_walk(const region_t *n, uint64_t lo_free, uint64_t hi_free,
                       place_t *q)
{
    if (hi_free < q->blo || lo_free > q->blast)
        return false;
    if (n == NULL)
        return lo_free <= hi_free && place_visit(q, lo_free, hi_free);
    uint64_t best = max64(n->sub_gap, max64(n->sub_base - lo_free,
                                            hi_free - n->sub_last));
    if (best < q->size)
        return false;
    if ((n->left != NULL || n->base > lo_free) &&
        place_walk(n->left, lo_free, n->base - 1, q))
        return true;
    if (n->last == UINT64_MAX)
        return false;
    return (n->right != NULL || n->last < hi_free) &&
           place_walk(n->right, n->last + 1, hi_free, q);
}

/* Uniform integer in [0, n), n > 0, without modulo bias. */
static uint64_t uniform(k23_aspace_random_fn rnd, void *rctx, uint64_t n)
{
    uint64_t below = (UINT64_C(0) - n) % n; /* 2^64 mod n */
    for (;;) {
        uint64_t r = rnd(rctx);
        if (r >= below)
            return r % n;
    }
}

/* Tries of the direct draw before enumerating the free runs. */
#define PLACE_DIRECT_TRIES 8

int k23_aspace_tree_place_(const k23_aspace_t *as, uint64_t size,
                           uint64_t align, uint64_t blo, uint64_t blast,
                           k23_aspace_random_fn rnd, void *rctx,
                           uint64_t *out)
{
    place_t q = {size, align, blo, blast, 0, 0, false, 0};
    if (rnd == NULL) {
        if (!place_walk(as->root, as->lo, as->last, &q))
            return K23_ERR_NOT_FOUND;
        *out = q.out;
        return K23_OK;
    }
    /* Uniform over every aligned position that fits. First draw among all
     * aligned positions inside the bounds and keep the first free one
     * (cheap while the space is sparse: O(log n) a try); if that keeps
     * missing, count the positions of every free run large enough and
     * draw among exactly those. Both give each free position the same
     * probability, so their mixture does too. */
    uint64_t first, grid = gap_positions(&q, blo, blast, &first);
    if (grid == 0)
        return K23_ERR_NOT_FOUND;
    for (int i = 0; i < PLACE_DIRECT_TRIES; i++) {
        uint64_t x = first + uniform(rnd, rctx, grid) * align;
        if (!k23_aspace_tree_busy_(as, x, x + (size - 1))) {
            *out = x;
            return K23_OK;
        }
    }
    q.count_only = true;
    place_walk(as->root, as->lo, as->last, &q);
    if (q.total == 0)
        return K23_ERR_NOT_FOUND;
    q.count_only = false;
    q.skip = uniform(rnd, rctx, q.total);
    if (!K23_ALWAYS(place_walk(as->root, as->lo, as->last, &q)))
        return K23_ERR_CORRUPT;
    *out = q.out;
    return K23_OK;
}

/* ---- check ---- */

typedef struct check {
    const k23_aspace_t *as;
    uint64_t n, bytes;
    bool have_prev;
    uint64_t prev_last;
} check_t;

static bool check_node(const region_t *n, check_t *c)
{
    if (n == NULL)
        return true;
    if (!check_node(n->left, c))
        return false;
    region_t copy = *n;
    pull(&copy);
    int bf = (int)height(n->left) - (int)height(n->right);
    const char *bad = NULL;
    if (n->base > n->last || (n->base & (K23_ASPACE_PAGE_ - 1)) != 0 ||
        ((n->last + 1) & (K23_ASPACE_PAGE_ - 1)) != 0)
        bad = "aspace check: misshapen region at ";
    else if (n->base < c->as->lo || n->last > c->as->last)
        bad = "aspace check: region outside the window at ";
    else if (c->have_prev && n->base <= c->prev_last)
        bad = "aspace check: regions overlap or out of order at ";
    else if (bf > 1 || bf < -1 || copy.height != n->height)
        bad = "aspace check: AVL balance broken at ";
    else if (copy.sub_base != n->sub_base || copy.sub_last != n->sub_last ||
             copy.sub_gap != n->sub_gap)
        bad = "aspace check: stale subtree aggregates at ";
    else if (n->kind < K23_ASPACE_WIRED || n->kind > K23_ASPACE_VM)
        bad = "aspace check: unknown kind at ";
    if (bad != NULL) {
        k23_log_u64_(K23_LOG_ERROR, bad, n->base, "");
        return false;
    }
    c->have_prev = true;
    c->prev_last = n->last;
    c->n++;
    c->bytes += n->last - n->base + 1;
    return check_node(n->right, c);
}

int k23_aspace_tree_check_(const k23_aspace_t *as)
{
    check_t c = {as, 0, 0, false, 0};
    if (!check_node(as->root, &c))
        return K23_ERR_CORRUPT;
    if (c.n != as->nregions || c.bytes != as->reserved_bytes) {
        k23_log_u64_(K23_LOG_ERROR, "aspace check: counted regions ", c.n,
                     " differ from the count kept");
        return K23_ERR_CORRUPT;
    }
    return K23_OK;
}
