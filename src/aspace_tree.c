/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The region index of an address space, and the frames it lives in.
 *
 * Frames: region records (64 bytes) and index nodes (576 bytes, nine
 * cache lines) are carved from 4 KiB frames of the address space's frame
 * source, each kind in frames of its own. A frame starts with a 64-byte
 * header (its free objects and its place on the list of frames with a free
 * object); 63 records or 7 nodes follow. A frame goes back to the source
 * as soon as its last object is freed, so an operation that fails after
 * taking objects leaves the frame count as it was, and destroy leaves
 * nothing behind.
 *
 * Index: a B+tree keyed by base (regions never overlap, so base orders
 * them). Every node has up to NODE_CAP slots in parallel arrays:
 *   base[i]  lowest base of slot i (a leaf: the region's base)
 *   last[i]  highest last of slot i
 *   gap[i]   largest free run strictly between two regions of slot i's
 *            subtree (a leaf slot: 0)
 *   ptr[i]   the child node, or in a leaf the region record
 * (last and ptr of a slot side by side),
 * so leaves and inner nodes share one layout and one set of operations,
 * and a slot's aggregates depend only on its child: a node's own summary
 * is (base[0], last[n-1], the largest of its gap[i] and of the free runs
 * between consecutive slots). Unused slots keep base UINT64_MAX, so the
 * rank of an address in a node is a fixed-length, branch-free count.
 *
 * Why not the AVL tree of 96-byte records this replaced: with 10^5
 * regions a lookup took 11 L1 and 10 L2 (1 MiB) misses (callgrind,
 * docs/aspace.md), one per level below the cached top of a 17-level tree,
 * each on a different page. Here a level costs two lines of keys and the
 * line with the chosen slot's last and pointer, over 5 levels at 10^5
 * regions whose upper part stays cached; the record is read only once
 * the region is found (a miss never touches one).
 *
 * Splits need nodes, and tree changes must not fail (every operation is
 * all or nothing, see aspace.c): an operation takes the nodes its inserts
 * can need first (k23_aspace_tree_prepare_(), exact: one per full node on
 * the path, a new root when all are full) and gives back the unused ones
 * at its end. Removal only frees nodes.
 */
#include "aspace_internal.h"

/* ---- frames of records and nodes ---- */

typedef struct obj_frame {
    struct obj_frame *next;     /* frames with a free object */
    struct obj_frame *prev;
    void *free;                 /* free objects, chained through their
                                 * first word */
    k23_paddr_t pa;             /* this frame */
    uint64_t used;              /* objects handed out */
} obj_frame_t;

#define FRAME_HEADER_ UINT64_C(64)
#define REC_STRIDE_ UINT64_C(64)
#define NODE_STRIDE_ UINT64_C(576)

_Static_assert(sizeof(obj_frame_t) <= FRAME_HEADER_,
               "frame header fits 64 bytes");
_Static_assert(sizeof(region_t) <= REC_STRIDE_, "a record is one line");
_Static_assert((K23_ASPACE_PAGE_ - FRAME_HEADER_) % NODE_STRIDE_ == 0,
               "nodes fill a frame");

static obj_frame_t *frame_of(const void *o)
{
    return (obj_frame_t *)((uintptr_t)o & ~(uintptr_t)(K23_ASPACE_PAGE_ - 1));
}

static void frame_list_remove(void **head, obj_frame_t *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        *head = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
}

static void frame_list_push(void **head, obj_frame_t *f)
{
    obj_frame_t *first = *head;
    f->prev = NULL;
    f->next = first;
    if (first != NULL)
        first->prev = f;
    *head = f;
}

static obj_frame_t *frame_new(k23_aspace_t *as, void **partial, size_t stride)
{
    k23_paddr_t pa;
    if (as->src.alloc_zeroed(as->src.ctx, &pa) != K23_OK)
        return NULL;
    obj_frame_t *f = k23_port_phys_to_virt(pa);
    /* Objects find their frame header by rounding down: the frame must be
     * page aligned in the virtual view too. */
    if (((uintptr_t)f & (K23_ASPACE_PAGE_ - 1)) != 0)
        K23_PANIC_ADDR("aspace: a record frame is not page aligned at",
                       (uintptr_t)f);
    f->pa = pa;
    f->used = 0;
    f->free = NULL;
    unsigned char *first = (unsigned char *)f + FRAME_HEADER_;
    for (size_t i = (K23_ASPACE_PAGE_ - FRAME_HEADER_) / stride; i-- > 0;) {
        void **o = (void **)(void *)(first + i * stride);
        *o = f->free;
        f->free = o;
    }
    frame_list_push(partial, f);
    as->record_frames++;
    return f;
}

static void *obj_alloc(k23_aspace_t *as, void **partial, size_t stride)
{
    obj_frame_t *f = *partial;
    if (f == NULL && (f = frame_new(as, partial, stride)) == NULL)
        return NULL;
    void **o = f->free;
    f->free = *o;
    f->used++;
    if (f->free == NULL)
        frame_list_remove(partial, f);
    return o;
}

static void obj_free(k23_aspace_t *as, void **partial, void *o)
{
    obj_frame_t *f = frame_of(o);
    if (f->used == 0)
        K23_PANIC_ADDR("aspace: record or node freed twice at", (uintptr_t)o);
    bool was_full = f->free == NULL;
    *(void **)o = f->free;
    f->free = o;
    f->used--;
    if (f->used == 0) {
        if (!was_full)
            frame_list_remove(partial, f);
        as->record_frames--;
        as->src.free(as->src.ctx, f->pa);
    } else if (was_full) {
        frame_list_push(partial, f);
    }
}

region_t *k23_aspace_rec_alloc_(k23_aspace_t *as)
{
    region_t *r = obj_alloc(as, &as->rec_partial, REC_STRIDE_);
    if (r != NULL)
        k23_memzero_(r, sizeof(*r));
    return r;
}

void k23_aspace_rec_free_(k23_aspace_t *as, region_t *r)
{
    obj_free(as, &as->rec_partial, r);
}

/* ---- nodes ---- */

/* 16 slots: the keys fill two cache lines, a slot's last and pointer
 * share a line, so a level costs a lookup three lines. A quarter as the
 * least fill of a node other than the root lets a split that appends
 * (addresses handed out in order) keep three quarters on the left. */
#define NODE_CAP 16u
#define NODE_MIN 4u
/* Levels: with NODE_MIN slots a node, 2^52 pages need fewer than 27. */
#define DEPTH_MAX 32u

typedef struct node {
    uint64_t base[NODE_CAP];    /* first: what a search reads */
    struct {
        uint64_t last;
        void *ptr;
    } ls[NODE_CAP];
    uint64_t gap[NODE_CAP];     /* read by placement only */
    uint32_t n;
} node_t;

_Static_assert(sizeof(node_t) <= NODE_STRIDE_, "a node fits its stride");

typedef struct slot {
    uint64_t base, last, gap;
    void *ptr;
} slot_t;

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static void slot_put(node_t *x, unsigned i, slot_t s)
{
    x->base[i] = s.base;
    x->ls[i].last = s.last;
    x->gap[i] = s.gap;
    x->ls[i].ptr = s.ptr;
}

static slot_t slot_get(const node_t *x, unsigned i)
{
    slot_t s = {x->base[i], x->ls[i].last, x->gap[i], x->ls[i].ptr};
    return s;
}

static void slot_clear(node_t *x, unsigned i)
{
    slot_t s = {UINT64_MAX, 0, 0, NULL};
    slot_put(x, i, s);
}

/* What x's parent keeps in x's slot. */
static slot_t summary(node_t *x)
{
    slot_t s = {x->base[0], x->ls[x->n - 1].last, x->gap[0], x};
    for (unsigned i = 1; i < x->n; i++)
        s.gap = max64(s.gap, max64(x->gap[i],
                                   x->base[i] - x->ls[i - 1].last - 1));
    return s;
}

/* Slots of x whose base is <= key, branch-free over all NODE_CAP slots:
 * unused ones hold UINT64_MAX, which no base equals (bases are page
 * aligned), so clamping key below it keeps them out without reading n. */
static unsigned rank(const node_t *x, uint64_t key)
{
    uint64_t k = key - (key == UINT64_MAX);
    unsigned c = 0;
    for (unsigned i = 0; i < NODE_CAP; i++)
        c += x->base[i] <= k;
    return c;
}

/* The child of inner node x to descend into for key: the last slot with
 * base <= key, or the first when there is none. */
static unsigned route(const node_t *x, uint64_t key)
{
    unsigned c = rank(x, key);
    return c - (c != 0);
}

static node_t *node_new(k23_aspace_t *as)
{
    node_t *x = as->stash;
    if (x == NULL)
        K23_PANIC_ADDR("aspace: no node prepared for an insert into",
                       (uintptr_t)as);
    as->stash = *(void **)x;
    as->nstash--;
    x->n = 0;
    for (unsigned i = 0; i < NODE_CAP; i++)
        slot_clear(x, i);
    return x;
}

static void node_free(k23_aspace_t *as, node_t *x)
{
    obj_free(as, &as->node_partial, x);
}

/* Open slot i of x (not full) and put s there. */
static void node_insert_at(node_t *x, unsigned i, slot_t s)
{
    for (unsigned j = x->n; j > i; j--)
        slot_put(x, j, slot_get(x, j - 1));
    slot_put(x, i, s);
    x->n++;
}

static void node_delete_at(node_t *x, unsigned i)
{
    for (unsigned j = i; j + 1 < x->n; j++)
        slot_put(x, j, slot_get(x, j + 1));
    x->n--;
    slot_clear(x, x->n);
}

/* Move x's slots from `from` on to the end of y. */
static void node_move_tail(node_t *x, unsigned from, node_t *y)
{
    for (unsigned j = from; j < x->n; j++) {
        slot_put(y, y->n++, slot_get(x, j));
        slot_clear(x, j);
    }
    x->n = from;
}

/* Put s at slot i of x; a full x splits and its new right sibling is
 * returned (NULL: no split). Appending keeps NODE_CAP - NODE_MIN slots on
 * the left so that ascending inserts fill nodes to three quarters;
 * otherwise x splits in halves. Either way both keep >= NODE_MIN. */
static node_t *node_add(k23_aspace_t *as, node_t *x, unsigned i, slot_t s)
{
    if (x->n < NODE_CAP) {
        node_insert_at(x, i, s);
        return NULL;
    }
    node_t *y = node_new(as);
    unsigned keep = i == NODE_CAP ? NODE_CAP - NODE_MIN : (NODE_CAP + 1) / 2;
    node_move_tail(x, keep, y);
    if (i <= keep)
        node_insert_at(x, i, s);
    else
        node_insert_at(y, i - keep, s);
    return y;
}

/* ---- insert and remove ---- */

static node_t *insert_below(k23_aspace_t *as, node_t *x, unsigned level,
                            slot_t s)
{
    if (level == 0)
        return node_add(as, x, rank(x, s.base), s);
    unsigned i = route(x, s.base);
    node_t *child = x->ls[i].ptr;
    node_t *sib = insert_below(as, child, level - 1, s);
    slot_put(x, i, summary(child));
    return sib != NULL ? node_add(as, x, i + 1, summary(sib)) : NULL;
}

void k23_aspace_tree_insert_(k23_aspace_t *as, region_t *r)
{
    slot_t s = {r->base, r->last, 0, r};
    if (as->root == NULL) {
        node_t *x = node_new(as);
        node_insert_at(x, 0, s);
        as->root = x;
        as->depth = 0;
    } else {
        node_t *sib = insert_below(as, as->root, as->depth, s);
        if (sib != NULL) {
            node_t *top = node_new(as);
            node_insert_at(top, 0, summary(as->root));
            node_insert_at(top, 1, summary(sib));
            as->root = top;
            /* unreachable with NODE_MIN slots a node (see DEPTH_MAX), and
             * prepare's path array depends on it */
            if (++as->depth > DEPTH_MAX)
                K23_PANIC_ADDR("aspace: index deeper than DEPTH_MAX in",
                               (uintptr_t)as);
        }
    }
    as->nregions++;
}

/* Child i of x fell below NODE_MIN: take a slot from a sibling that can
 * spare one, else merge it with a sibling (at most 2 NODE_MIN - 1 slots,
 * so the merged node has room). */
static void fix_underflow(k23_aspace_t *as, node_t *x, unsigned i)
{
    node_t *c = x->ls[i].ptr;
    node_t *l = i > 0 ? x->ls[i - 1].ptr : NULL;
    node_t *r = i + 1 < x->n ? x->ls[i + 1].ptr : NULL;
    if (l != NULL && l->n > NODE_MIN) {
        node_insert_at(c, 0, slot_get(l, l->n - 1));
        node_delete_at(l, l->n - 1);
        slot_put(x, i - 1, summary(l));
        slot_put(x, i, summary(c));
    } else if (r != NULL && r->n > NODE_MIN) {
        node_insert_at(c, c->n, slot_get(r, 0));
        node_delete_at(r, 0);
        slot_put(x, i, summary(c));
        slot_put(x, i + 1, summary(r));
    } else {
        unsigned li = l != NULL ? i - 1 : i;
        node_t *left = x->ls[li].ptr, *right = x->ls[li + 1].ptr;
        node_move_tail(right, 0, left);
        node_free(as, right);
        slot_put(x, li, summary(left));
        node_delete_at(x, li + 1);
    }
}

/* Remove r from x's subtree; whether x fell below NODE_MIN. */
static bool remove_below(k23_aspace_t *as, node_t *x, unsigned level,
                         const region_t *r)
{
    if (level == 0) {
        unsigned c = rank(x, r->base);
        if (c == 0 || x->base[c - 1] != r->base || x->ls[c - 1].ptr != r)
            K23_PANIC_ADDR("aspace: removing a region not in the index at",
                           r->base);
        node_delete_at(x, c - 1);
        return x->n < NODE_MIN;
    }
    unsigned i = route(x, r->base);
    node_t *child = x->ls[i].ptr;
    bool under = remove_below(as, child, level - 1, r);
    slot_put(x, i, summary(child));
    if (under)
        fix_underflow(as, x, i);
    return x->n < NODE_MIN;
}

void k23_aspace_tree_remove_(k23_aspace_t *as, region_t *r)
{
    node_t *root = as->root;
    if (root == NULL)
        K23_PANIC_ADDR("aspace: removing a region not in the index at",
                       r->base);
    remove_below(as, root, as->depth, r);
    if (as->depth > 0 && root->n == 1) {
        as->root = root->ls[0].ptr;
        as->depth--;
        node_free(as, root);
    } else if (as->depth == 0 && root->n == 0) {
        as->root = NULL;
        node_free(as, root);
    }
    as->nregions--;
}

static void update_below(node_t *x, unsigned level, const region_t *r,
                         uint64_t key)
{
    unsigned c = rank(x, key);
    if (c == 0 || (level == 0 && x->ls[c - 1].ptr != r))
        K23_PANIC_ADDR("aspace: updating a region not in the index at", key);
    if (level == 0) {
        x->base[c - 1] = r->base;
        x->ls[c - 1].last = r->last;
        return;
    }
    node_t *child = x->ls[c - 1].ptr;
    update_below(child, level - 1, r, key);
    slot_put(x, c - 1, summary(child));
}

void k23_aspace_tree_update_(k23_aspace_t *as, const region_t *r,
                             uint64_t old_base)
{
    if (as->root == NULL)
        K23_PANIC_ADDR("aspace: updating a region not in the index at",
                       old_base);
    update_below(as->root, as->depth, r, old_base);
}

region_t *k23_aspace_tree_first_(const k23_aspace_t *as)
{
    const node_t *x = as->root;
    if (x == NULL)
        return NULL;
    for (unsigned l = as->depth; l > 0; l--)
        x = x->ls[0].ptr;
    return x->ls[0].ptr;
}

int k23_aspace_tree_prepare_(k23_aspace_t *as, uint64_t key, unsigned grow)
{
    /* An insert splits a node only when it is full, a split leaves both
     * halves with room for the few (grow <= 2) more slots an operation
     * adds there, so each level splits at most once: one node per full
     * node on the path from the leaf up, one more for a new root when all
     * are full. The keys of the operation's regions lie between key's
     * region (or free run) and the next region, so route() sends them all
     * down this path. */
    const node_t *path[DEPTH_MAX + 1];
    unsigned need = 1;
    if (grow == 0)
        return K23_OK;
    if (as->root != NULL) {
        const node_t *x = as->root;
        for (unsigned l = as->depth; l > 0; l--) {
            path[l] = x;
            x = x->ls[route(x, key)].ptr;
        }
        path[0] = x;
        need = 0;
        if (x->n + grow > NODE_CAP) {
            need = 1;
            unsigned l = 1;
            while (l <= as->depth && path[l]->n == NODE_CAP) {
                need++;
                l++;
            }
            if (l > as->depth)
                need++;
        }
    }
    while (as->nstash < need) {
        void **x = obj_alloc(as, &as->node_partial, NODE_STRIDE_);
        if (x == NULL) {
            k23_aspace_tree_unprepare_(as);
            return K23_ERR_NOMEM;
        }
        *x = as->stash;
        as->stash = x;
        as->nstash++;
    }
    return K23_OK;
}

void k23_aspace_tree_unprepare_(k23_aspace_t *as)
{
    while (as->stash != NULL) {
        void **x = as->stash;
        as->stash = *x;
        as->nstash--;
        node_free(as, (node_t *)(void *)x);
    }
}

/* ---- lookup ---- */

/* The leaf whose slots bound addr and addr's rank in it; NULL if empty. */
static const node_t *descend(const k23_aspace_t *as, uint64_t addr,
                             unsigned *c)
{
    const node_t *x = as->root;
    if (x == NULL)
        return NULL;
    for (unsigned l = as->depth; l > 0; l--) {
        unsigned k = rank(x, addr);
        x = x->ls[k - (k != 0)].ptr;
    }
    *c = rank(x, addr);
    return x;
}

region_t *k23_aspace_tree_find_(const k23_aspace_t *as, uint64_t addr)
{
    unsigned c;
    const node_t *x = descend(as, addr, &c);
    if (x == NULL || c == 0 || x->ls[c - 1].last < addr)
        return NULL;
    return x->ls[c - 1].ptr;
}

bool k23_aspace_tree_busy_(const k23_aspace_t *as, uint64_t base,
                           uint64_t last)
{
    /* Regions are disjoint and ordered: only the last one starting at or
     * before `last` can reach into [base, last]. */
    unsigned c;
    const node_t *x = descend(as, last, &c);
    return x != NULL && c != 0 && x->ls[c - 1].last >= base;
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


/* Visit, in address order, the free runs of x's subtree: its regions lie
 * inside [lo_free, hi_free], the free space between its neighbours (or
 * the window). A run between two subtrees is visited once, by the
 * subtree on its left: lead says whether the run before x's first region
 * is x's to visit. */
static bool place_walk(const node_t *x, unsigned level, uint64_t lo_free,
                       uint64_t hi_free, bool lead, place_t *q)
{
    if (hi_free < q->blo || lo_free > q->blast)
        return false;
    if (level == 0) {
        uint64_t lo = lo_free;
        for (unsigned i = 0; i < x->n; i++) {
            /* runs shorter than the request have no position */
            if ((i > 0 || lead) && x->base[i] - lo >= q->size &&
                place_visit(q, lo, x->base[i] - 1))
                return true;
            if (x->ls[i].last == UINT64_MAX)
                return false;
            lo = x->ls[i].last + 1;
            if (lo > q->blast)
                return false;
        }
        return lo <= hi_free && place_visit(q, lo, hi_free);
    }
    for (unsigned i = 0; i < x->n; i++) {
        uint64_t lo = i == 0 ? lo_free : x->ls[i - 1].last + 1;
        uint64_t hi = i + 1 < x->n ? x->base[i + 1] - 1 : hi_free;
        bool lead_i = i == 0 && lead;
        if (lo > q->blast)
            return false;
        /* the largest run the child can offer: a subtree whose best is
         * smaller than the request is skipped whole */
        uint64_t best = max64(x->gap[i], hi - x->ls[i].last);
        if (lead_i)
            best = max64(best, x->base[i] - lo);
        if (best >= q->size &&
            place_walk(x->ls[i].ptr, level - 1, lo, hi, lead_i, q))
            return true;
    }
    return false;
}

static bool place_all(const k23_aspace_t *as, place_t *q)
{
    if (as->root == NULL)
        return place_visit(q, as->lo, as->last);
    return place_walk(as->root, as->depth, as->lo, as->last, true, q);
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
        if (!place_all(as, &q))
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
    place_all(as, &q);
    if (q.total == 0)
        return K23_ERR_NOT_FOUND;
    q.count_only = false;
    q.skip = uniform(rnd, rctx, q.total);
    if (!K23_ALWAYS(place_all(as, &q)))
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

static bool check_fail(const char *what, uint64_t at)
{
    k23_log_u64_(K23_LOG_ERROR, what, at, "");
    return false;
}

static bool check_region(const node_t *x, unsigned i, check_t *c)
{
    const region_t *r = x->ls[i].ptr;
    if (r == NULL || r->base != x->base[i] || r->last != x->ls[i].last ||
        x->gap[i] != 0)
        return check_fail("aspace check: index slot differs from its "
                          "record at ", x->base[i]);
    if (r->base > r->last || (r->base & (K23_ASPACE_PAGE_ - 1)) != 0 ||
        ((r->last + 1) & (K23_ASPACE_PAGE_ - 1)) != 0)
        return check_fail("aspace check: misshapen region at ", r->base);
    if (r->base < c->as->lo || r->last > c->as->last)
        return check_fail("aspace check: region outside the window at ",
                          r->base);
    if (c->have_prev && r->base <= c->prev_last)
        return check_fail("aspace check: regions overlap or out of order "
                          "at ", r->base);
    if (r->kind < K23_ASPACE_WIRED || r->kind > K23_ASPACE_VM)
        return check_fail("aspace check: unknown kind at ", r->base);
    c->have_prev = true;
    c->prev_last = r->last;
    c->n++;
    c->bytes += r->last - r->base + 1;
    return true;
}

static bool check_node(const node_t *x, unsigned level, bool root,
                       check_t *c)
{
    unsigned least = root ? (level > 0 ? 2u : 1u) : NODE_MIN;
    if (x->n < least || x->n > NODE_CAP)
        return check_fail("aspace check: node fill out of bounds at ",
                          (uintptr_t)x);
    for (unsigned i = x->n; i < NODE_CAP; i++)
        if (x->base[i] != UINT64_MAX)
            return check_fail("aspace check: unused slot with a key at ",
                              (uintptr_t)x);
    for (unsigned i = 0; i < x->n; i++) {
        if (level == 0) {
            if (!check_region(x, i, c))
                return false;
            continue;
        }
        node_t *child = x->ls[i].ptr;
        if (!check_node(child, level - 1, false, c))
            return false;
        slot_t s = summary(child);
        if (s.base != x->base[i] || s.last != x->ls[i].last ||
            s.gap != x->gap[i])
            return check_fail("aspace check: stale subtree aggregates at ",
                              x->base[i]);
    }
    return true;
}

int k23_aspace_tree_check_(const k23_aspace_t *as)
{
    check_t c = {as, 0, 0, false, 0};
    if (as->depth > DEPTH_MAX || as->stash != NULL ||
        (as->root == NULL && as->depth != 0) ||
        (as->root != NULL && !check_node(as->root, as->depth, true, &c))) {
        k23_log_u64_(K23_LOG_ERROR, "aspace check: index broken, depth ",
                     as->depth, "");
        return K23_ERR_CORRUPT;
    }
    if (c.n != as->nregions || c.bytes != as->reserved_bytes) {
        k23_log_u64_(K23_LOG_ERROR, "aspace check: counted regions ", c.n,
                     " differ from the count kept");
        return K23_ERR_CORRUPT;
    }
    return K23_OK;
}
