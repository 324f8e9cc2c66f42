/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Memory pool: wasmtime's pooling MemoryPool and its
 * ModuleAffinityIndexAllocator, in freestanding C.
 *
 * Structure:
 * - one slab reserved inaccessible through the port, cut by a
 *   k23_slab_layout_t into slots; with two or more stripes each slot is
 *   tagged with its stripe's protection key;
 * - per stripe, a slot allocator under a port lock. Its slots are numbered
 *   within the stripe ("striped index"); slot `s` of stripe `k` is slab
 *   slot `s * num_stripes + k`;
 * - per slab slot, the state of its memory (never used, unknown, previously
 *   used with `accessible` bytes committed and zero). Only the current
 *   owner of a slot (whoever the stripe allocator handed it to) touches
 *   this state, so it needs no lock of its own: the stripe lock's
 *   release/acquire orders one owner's writes before the next owner's
 *   reads.
 *
 * All bookkeeping lives in one region committed from the port at create
 * time: the pool struct, the stripes, the slot states, and per stripe its
 * allocator slots and an open-addressing table from (module, memory index)
 * to that stripe's list of affine free slots (wasmtime's HashMap). The table
 * has at least twice as many entries as the stripe has slots, and there is
 * at most one key per free slot, so it never fills.
 */
#include <stdatomic.h>

#include "internal.h"

#include "k23mem/mempool.h"
#include "k23mem/perm.h"

#define MEMPOOL_NONE UINT32_MAX     /* no slot (list end, empty table entry) */
#define MEMPOOL_PKEYS_MAX K23_MEMPOOL_PKEYS_MAX
#define MEMPOOL_ALIGN ((size_t)64)  /* alignment of bookkeeping pieces */
#define MEMPOOL_SLOTS_MAX (UINT64_C(1) << 30) /* keeps table sizes in uint32_t */

/* Allocator state of a slot within its stripe (wasmtime's SlotState). */
enum mempool_slot_state {
    MEMPOOL_COLD = 0, /* never allocated */
    MEMPOOL_USED = 1, /* allocated */
    MEMPOOL_WARM = 2  /* freed, on the warm list (and maybe an affine list) */
};

/* State of a slot's memory (wasmtime's ImageSlot). */
enum mempool_image_state {
    MEMPOOL_IMG_UNMAPPED = 0, /* never used: all inaccessible */
    MEMPOOL_IMG_UNKNOWN = 1,  /* in use, or left in an unknown state */
    MEMPOOL_IMG_PREV_USED = 2 /* reset: [0, accessible) committed and zero */
};

struct mempool_islot {
    uint64_t module;        /* affinity: module id, if has_affinity */
    uint32_t memidx;        /* affinity: defined memory index */
    uint8_t state;          /* enum mempool_slot_state */
    uint8_t has_affinity;   /* module/memidx are meaningful */
    uint32_t warm_prev;     /* warm list links (MEMPOOL_NONE at the ends) */
    uint32_t warm_next;
    uint32_t aff_prev;      /* affine list links */
    uint32_t aff_next;
    size_t bytes_resident;  /* while WARM: bytes kept committed */
    uint64_t generation;    /* allocations of this slot so far; the handle of
                             * the current allocation carries the same number,
                             * so a stale handle (freed, or the slot handed
                             * out again) is told apart */
};

struct mempool_aff {
    uint64_t module; /* key */
    uint32_t memidx; /* key */
    uint32_t head;   /* least recently freed affine slot; NONE: empty entry */
    uint32_t tail;   /* most recently freed (allocated first) */
};

/* Every field after the lock is guarded by it (K23_REQUIRES(s->lock) on
 * the helpers that touch them; thread_safety.h). */
struct mempool_stripe {
    k23_port_lock_t lock;
    uint32_t nslots;              /* slots of this stripe */
    uint32_t last_cold;           /* slots [last_cold, nslots) are cold */
    uint32_t unused_warm;         /* length of the warm list */
    uint32_t used;                /* slots allocated */
    uint32_t warm_head;           /* least recently freed */
    uint32_t warm_tail;           /* most recently freed */
    uint32_t aff_mask;            /* table size - 1 (power of two) */
    bool has_pkey;                /* the stripe's slots carry `pkey` */
    unsigned pkey;
    size_t unused_bytes_resident; /* sum of bytes_resident of WARM slots */
    struct mempool_islot *slots;
    struct mempool_aff *aff;
};

struct mempool_image {
    uint8_t state;     /* enum mempool_image_state */
    size_t accessible; /* PREV_USED: bytes committed (and zero) from the base;
                        * while allocated: bytes committed from the base, the
                        * pool's own record of the memory's size, which grow
                        * and deallocate use instead of the caller's handle */
};

struct k23_mempool {
    uint8_t *slab;                /* the reservation; NULL if 0 bytes */
    size_t slab_bytes;
    k23_slab_layout_t layout;
    size_t num_slots;
    size_t slot_bytes;
    size_t max_memory_bytes;
    size_t pre_slab_guard_bytes;
    size_t page_size;
    size_t keep_resident;         /* page multiple */
    uint32_t memories_per_instance;
    uint32_t max_unused_warm_slots;
    unsigned num_stripes;
    struct mempool_stripe *stripes;
    struct mempool_image *images;
    k23_mempool_pkey_ops_t pkey_ops;
    void *meta;                   /* bookkeeping region (holds this struct) */
    size_t meta_bytes;
    atomic_uint next_stripe;
    atomic_size_t in_use;
    atomic_size_t peak_in_use;
    atomic_uint_least64_t total_allocations;
    atomic_uint_least64_t total_full;
    atomic_uint_least64_t total_resets;
};

/* ---- the port's protection keys ---- */

static unsigned mempool_port_available(void *ctx)
{
    K23_UNUSED(ctx);
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    return caps.pkeys_available;
}

static int mempool_port_alloc(void *ctx, unsigned *key)
{
    K23_UNUSED(ctx);
    return k23_port_pkey_alloc(key);
}

static void mempool_port_free(void *ctx, unsigned key)
{
    K23_UNUSED(ctx);
    k23_port_pkey_free(key);
}

static int mempool_port_protect(void *ctx, void *addr, size_t size,
                                unsigned key)
{
    K23_UNUSED(ctx);
    return k23_port_pkey_protect(addr, size, K23_PERM_NONE, key);
}

static const k23_mempool_pkey_ops_t mempool_port_pkeys = {
    .available = mempool_port_available,
    .alloc = mempool_port_alloc,
    .free = mempool_port_free,
    .protect = mempool_port_protect,
    .ctx = NULL,
};

/* ---- small helpers ---- */

static size_t mempool_align_up(size_t x, size_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static size_t mempool_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

static uint8_t *mempool_base(const k23_mempool_t *p, size_t index)
{
    K23_ASSERT_FOUND(index < p->num_slots, index);
    return p->slab + p->pre_slab_guard_bytes + index * p->slot_bytes;
}

static void mempool_stats_in_use_add(k23_mempool_t *p)
{
    size_t now = atomic_fetch_add(&p->in_use, 1) + 1;
    size_t peak = atomic_load(&p->peak_in_use);
    while (now > peak &&
           !atomic_compare_exchange_weak(&p->peak_in_use, &peak, now))
        ;
}

/* ---- affinity table (per stripe) ---- */

static uint32_t mempool_aff_hash(uint64_t module, uint32_t memidx)
{
    /* splitmix64 finaliser over both halves of the key */
    uint64_t x = module ^ ((uint64_t)memidx * UINT64_C(0x9e3779b97f4a7c15));
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return (uint32_t)x;
}

/* Index of the entry for the key, or of the empty entry where it would go;
 * *found says which. */
static uint32_t mempool_aff_find(const struct mempool_stripe *s,
                                 uint64_t module, uint32_t memidx,
                                 bool *found)
    K23_REQUIRES(s->lock)
{
    uint32_t i = mempool_aff_hash(module, memidx) & s->aff_mask;
    for (;;) {
        const struct mempool_aff *e = &s->aff[i];
        if (e->head == MEMPOOL_NONE) {
            *found = false;
            return i;
        }
        if (e->module == module && e->memidx == memidx) {
            *found = true;
            return i;
        }
        i = (i + 1) & s->aff_mask;
    }
}

/* Remove entry `i` by shifting later entries of its probe run back
 * (linear probing without tombstones). */
static void mempool_aff_delete(struct mempool_stripe *s, uint32_t i)
    K23_REQUIRES(s->lock)
{
    uint32_t mask = s->aff_mask;
    s->aff[i].head = MEMPOOL_NONE;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        struct mempool_aff *e = &s->aff[j];
        if (e->head == MEMPOOL_NONE)
            return;
        uint32_t home = mempool_aff_hash(e->module, e->memidx) & mask;
        /* Entry j may move to the hole at i unless its home lies
         * cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j)
                            : (home > i || home <= j);
        if (!stays) {
            s->aff[i] = *e;
            e->head = MEMPOOL_NONE;
            i = j;
        }
    }
}

/* ---- stripe slot allocator (wasmtime's ModuleAffinityIndexAllocator) ---- */

static void mempool_warm_unlink(struct mempool_stripe *s, uint32_t id)
    K23_REQUIRES(s->lock)
{
    struct mempool_islot *x = &s->slots[id];
    if (x->warm_next != MEMPOOL_NONE)
        s->slots[x->warm_next].warm_prev = x->warm_prev;
    else
        s->warm_tail = x->warm_prev;
    if (x->warm_prev != MEMPOOL_NONE)
        s->slots[x->warm_prev].warm_next = x->warm_next;
    else
        s->warm_head = x->warm_next;
    x->warm_prev = x->warm_next = MEMPOOL_NONE;
}

/* Take a WARM slot off every list it is on. */
static void mempool_remove(struct mempool_stripe *s, uint32_t id)
    K23_REQUIRES(s->lock)
{
    struct mempool_islot *x = &s->slots[id];
    K23_ASSERT_INTERNAL_FOUND(x->state == MEMPOOL_WARM, x->state);
    K23_ASSERT_INTERNAL(s->unused_warm > 0);
    s->unused_warm--;
    s->unused_bytes_resident -= x->bytes_resident;
    x->bytes_resident = 0;
    mempool_warm_unlink(s, id);
    if (x->has_affinity) {
        bool found;
        uint32_t e = mempool_aff_find(s, x->module, x->memidx, &found);
        K23_ASSERT_INTERNAL(found);
        struct mempool_aff *a = &s->aff[e];
        if (x->aff_next != MEMPOOL_NONE)
            s->slots[x->aff_next].aff_prev = x->aff_prev;
        else
            a->tail = x->aff_prev;
        if (x->aff_prev != MEMPOOL_NONE)
            s->slots[x->aff_prev].aff_next = x->aff_next;
        else
            a->head = x->aff_next;
        x->aff_prev = x->aff_next = MEMPOOL_NONE;
        if (a->head == MEMPOOL_NONE)
            mempool_aff_delete(s, e);
    }
}

static uint32_t mempool_pick_affine(struct mempool_stripe *s, uint64_t module,
                                    uint32_t memidx)
    K23_REQUIRES(s->lock)
{
    bool found;
    uint32_t e = mempool_aff_find(s, module, memidx, &found);
    if (!found)
        return MEMPOOL_NONE;
    /* The tail: the most recently freed, for temporal reuse. */
    uint32_t id = s->aff[e].tail;
    mempool_remove(s, id);
    return id;
}

static uint32_t mempool_pick_warm(struct mempool_stripe *s)
    K23_REQUIRES(s->lock)
{
    /* The head: least recently freed, since a warm slot is evicted. */
    uint32_t id = s->warm_head;
    if (id != MEMPOOL_NONE)
        mempool_remove(s, id);
    return id;
}

static uint32_t mempool_pick_cold(struct mempool_stripe *s)
    K23_REQUIRES(s->lock)
{
    if (s->last_cold == s->nslots)
        return MEMPOOL_NONE;
    return s->last_cold++;
}

/* Allocate a slot of stripe `s`. `force_affine`: only a slot affine to the
 * key, whose affinity is then cleared (purge). Caller holds the lock. */
static uint32_t mempool_stripe_alloc(struct mempool_stripe *s,
                                     uint32_t max_unused_warm,
                                     bool has_affinity, uint64_t module,
                                     uint32_t memidx, bool force_affine)
    K23_REQUIRES(s->lock)
{
    K23_ASSERT_INTERNAL_FOUND(k23_port_lock_held(&s->lock), (uintptr_t)&s->lock);
    uint32_t id = MEMPOOL_NONE;
    if (has_affinity)
        id = mempool_pick_affine(s, module, memidx);
    if (id == MEMPOOL_NONE && !force_affine) {
        /* Below the warm limit keep warm slots (and their affinity) and
         * take a cold one; at or above it evict the oldest warm slot. */
        if (s->unused_warm < max_unused_warm) {
            id = mempool_pick_cold(s);
            if (id == MEMPOOL_NONE)
                id = mempool_pick_warm(s);
        } else {
            id = mempool_pick_warm(s);
            if (id == MEMPOOL_NONE) {
                K23_ASSERT_INTERNAL_FOUND(max_unused_warm == 0 ||
                                              s->unused_warm == 0,
                                          s->unused_warm);
                id = mempool_pick_cold(s);
            }
        }
    }
    if (id == MEMPOOL_NONE)
        return MEMPOOL_NONE;
    struct mempool_islot *x = &s->slots[id];
    x->state = MEMPOOL_USED;
    x->has_affinity = has_affinity && !force_affine;
    x->module = module;
    x->memidx = memidx;
    x->bytes_resident = 0;
    x->generation++;
    s->used++;
    return id;
}

/* Return a USED slot; it becomes WARM and, with affinity, joins its key's
 * list. Caller holds the lock. Panics on a slot that is not in use. */
static void mempool_stripe_free(struct mempool_stripe *s, uint32_t id,
                                size_t bytes_resident, const void *base)
    K23_REQUIRES(s->lock)
{
    K23_ASSERT_INTERNAL_FOUND(k23_port_lock_held(&s->lock), (uintptr_t)&s->lock);
    struct mempool_islot *x = &s->slots[id];
    if (x->state != MEMPOOL_USED) {
        k23_port_lock_release(&s->lock);
        K23_PANIC_ADDR("k23_mempool: free of a memory not allocated, slot at",
                       (uintptr_t)base);
    }
    s->used--;
    x->state = MEMPOOL_WARM;
    x->bytes_resident = bytes_resident;
    s->unused_warm++;
    s->unused_bytes_resident += bytes_resident;
    /* Append to the warm list. */
    x->warm_next = MEMPOOL_NONE;
    x->warm_prev = s->warm_tail;
    if (s->warm_tail != MEMPOOL_NONE)
        s->slots[s->warm_tail].warm_next = id;
    else
        s->warm_head = id;
    s->warm_tail = id;
    /* Append to the affine list of its (module, memory). */
    x->aff_prev = x->aff_next = MEMPOOL_NONE;
    if (x->has_affinity) {
        bool found;
        uint32_t e = mempool_aff_find(s, x->module, x->memidx, &found);
        struct mempool_aff *a = &s->aff[e];
        if (!found) {
            a->module = x->module;
            a->memidx = x->memidx;
            a->head = a->tail = id;
        } else {
            x->aff_prev = a->tail;
            s->slots[a->tail].aff_next = id;
            a->tail = id;
        }
    }
}

/* ---- slot memory state (wasmtime's take/return_memory_image_slot) ---- */

/* Take the memory state of slot `index` for its new owner, resetting it
 * if unknown. On success *accessible is what is committed and zero. */
static int mempool_take_image(k23_mempool_t *p, size_t index,
                              size_t *accessible)
{
    struct mempool_image *img = &p->images[index];
    uint8_t prev = img->state;
    img->state = MEMPOOL_IMG_UNKNOWN;
    if (prev == MEMPOOL_IMG_PREV_USED) {
        *accessible = img->accessible;
        return K23_OK;
    }
    if (prev == MEMPOOL_IMG_UNKNOWN && p->max_memory_bytes != 0) {
        /* Nothing is known: drop and protect all that could be mapped. */
        int err = k23_port_vm_decommit(mempool_base(p, index),
                                       p->max_memory_bytes);
        atomic_fetch_add(&p->total_resets, 1);
        if (err != K23_OK)
            return err;
    }
    *accessible = 0;
    return K23_OK;
}

static void mempool_return_image(k23_mempool_t *p, size_t index, bool known,
                                 size_t accessible)
{
    struct mempool_image *img = &p->images[index];
    K23_ASSERT_INTERNAL_FOUND(img->state == MEMPOOL_IMG_UNKNOWN, img->state);
    img->state = known ? MEMPOOL_IMG_PREV_USED : MEMPOOL_IMG_UNKNOWN;
    img->accessible = known ? accessible : 0;
}

/* ---- lifecycle ---- */

void k23_mempool_config_default(k23_mempool_config_t *cfg)
{
    K23_REQUIRE(cfg != NULL, "k23_mempool_config_default");
    k23_memzero_(cfg, sizeof(*cfg));
    bool wide = sizeof(size_t) >= 8;
    cfg->limits.memory_reservation = wide ? UINT64_C(4) << 30
                                          : UINT64_C(10) << 20;
    cfg->limits.max_memory_size = cfg->limits.memory_reservation;
    /* 1000 slots of 10 MiB would not fit a 32-bit address space. */
    cfg->limits.total_memories = wide ? 1000 : 100;
    cfg->limits.memory_guard_size = wide ? UINT64_C(32) << 20 : 0;
    cfg->limits.guard_before_linear_memory = wide;
    cfg->max_memories_per_module = 1;
    cfg->max_unused_warm_slots = 100;
    cfg->keep_resident = 0;
    cfg->mpk = K23_MEMPOOL_MPK_NO;
    cfg->max_pkeys = 16;
    cfg->pkey_ops = NULL;
}

/* Offsets of the bookkeeping pieces inside one region. */
struct mempool_meta_layout {
    size_t stripes, images, total;
    size_t slots[MEMPOOL_PKEYS_MAX];
    size_t aff[MEMPOOL_PKEYS_MAX];
    uint32_t aff_size[MEMPOOL_PKEYS_MAX];
};

static bool mempool_meta_plan(size_t num_slots, unsigned ns,
                              struct mempool_meta_layout *m)
{
    size_t off = mempool_align_up(sizeof(struct k23_mempool), MEMPOOL_ALIGN);
    size_t sz;
    m->stripes = off;
    off += mempool_align_up(ns * sizeof(struct mempool_stripe),
                            MEMPOOL_ALIGN);
    m->images = off;
    if (k23_mul_overflow_(num_slots, sizeof(struct mempool_image), &sz) ||
        k23_add_overflow_(off, mempool_align_up(sz, MEMPOOL_ALIGN), &off))
        return false;
    for (unsigned k = 0; k < ns; k++) {
        size_t n = num_slots / ns + (num_slots % ns > k);
        uint32_t cap = 2;
        while (cap < 2 * n)
            cap <<= 1; /* n <= 2^30, so cap <= 2^31 */
        m->aff_size[k] = cap;
        m->slots[k] = off;
        if (k23_mul_overflow_(n, sizeof(struct mempool_islot), &sz) ||
            k23_add_overflow_(off, mempool_align_up(sz, MEMPOOL_ALIGN), &off))
            return false;
        m->aff[k] = off;
        if (k23_mul_overflow_((size_t)cap, sizeof(struct mempool_aff), &sz) ||
            k23_add_overflow_(off, mempool_align_up(sz, MEMPOOL_ALIGN), &off))
            return false;
    }
    m->total = off;
    return true;
}

static void mempool_free_keys(const k23_mempool_pkey_ops_t *ops,
                              const unsigned *keys, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        ops->free(ops->ctx, keys[i]);
}

/*
 * k23_mempool_create() in stages. Each stage records what it acquired in
 * the build; a failing stage returns its error and mempool_build_undo()
 * gives back whatever the build holds, in reverse order: the one unwind
 * path for every failure.
 */
struct mempool_build {
    const k23_mempool_config_t *cfg;
    const k23_mempool_pkey_ops_t *ops;
    k23_slab_target_t target;
    k23_slab_layout_t layout;
    uint64_t keep;                  /* keep_resident, clamped */
    unsigned keys[MEMPOOL_PKEYS_MAX];
    unsigned nkeys;                 /* keys held */
    unsigned ns;                    /* stripes */
    struct mempool_meta_layout m;
    void *meta;                     /* reserved (and maybe committed) */
    size_t meta_bytes;
    uint8_t *slab;                  /* reserved */
    size_t slab_bytes;
};

static void mempool_build_undo(struct mempool_build *b)
{
    if (b->slab != NULL)
        k23_port_vm_release(b->slab, b->slab_bytes);
    if (b->meta != NULL)
        k23_port_vm_release(b->meta, b->meta_bytes);
    mempool_free_keys(b->ops, b->keys, b->nkeys);
}

/* Stage 0: the arguments; picks the key operations. */
static int mempool_build_check(const k23_mempool_config_t *cfg,
                               struct mempool_build *b)
{
    if (cfg->mpk != K23_MEMPOOL_MPK_AUTO && cfg->mpk != K23_MEMPOOL_MPK_YES &&
        cfg->mpk != K23_MEMPOOL_MPK_NO)
        return K23_ERR_INVAL;
    const k23_mempool_pkey_ops_t *ops =
        cfg->pkey_ops != NULL ? cfg->pkey_ops : &mempool_port_pkeys;
    if (ops->available == NULL || ops->alloc == NULL || ops->free == NULL ||
        ops->protect == NULL)
        return K23_ERR_INVAL;
    b->cfg = cfg;
    b->ops = ops;
    k23_slab_target_host(&b->target);
    return K23_OK;
}

/* Stage 1: protection keys, decided as wasmtime's Enabled::{Auto,Yes,No}. */
static int mempool_build_keys(struct mempool_build *b)
{
    const k23_mempool_pkey_ops_t *ops = b->ops;
    if (b->cfg->mpk != K23_MEMPOOL_MPK_NO) {
        unsigned avail = ops->available(ops->ctx);
        if (avail == 0 && b->cfg->mpk == K23_MEMPOOL_MPK_YES)
            return K23_ERR_POOL_NO_MPK;
        unsigned want = mempool_min(mempool_min(avail, b->cfg->max_pkeys),
                                    MEMPOOL_PKEYS_MAX);
        while (b->nkeys < want &&
               ops->alloc(ops->ctx, &b->keys[b->nkeys]) == K23_OK)
            b->nkeys++;
        if (b->nkeys == 0 && b->cfg->mpk == K23_MEMPOOL_MPK_YES)
            return K23_ERR_POOL_NO_MPK;
    }
    b->target.num_pkeys_available = b->nkeys;
    return K23_OK;
}

/* Stage 2: the slab layout; keys the stripes do not use go back. */
static int mempool_build_layout(struct mempool_build *b)
{
    int err = k23_slab_plan(&b->cfg->limits, &b->target, &b->layout);
    if (err != K23_OK)
        return err;
    if (b->layout.num_slots > MEMPOOL_SLOTS_MAX)
        return K23_ERR_LIMIT;
    /* No memory commits more than max_memory_bytes, so a larger
     * keep_resident ("keep everything", UINT64_MAX included) means that:
     * clamped, it rounds up to the page without overflowing. */
    b->keep = b->cfg->keep_resident;
    if (b->keep > b->layout.max_memory_bytes)
        b->keep = b->layout.max_memory_bytes;
    /* With one stripe the slab is not tagged: no key is needed. */
    b->ns = (unsigned)b->layout.num_stripes;
    unsigned used_keys = b->ns >= 2 ? b->ns : 0;
    mempool_free_keys(b->ops, b->keys + used_keys, b->nkeys - used_keys);
    b->nkeys = used_keys;
    return K23_OK;
}

/* Stage 3: the bookkeeping region, committed (it reads as zero). */
static int mempool_build_meta(struct mempool_build *b)
{
    size_t page = (size_t)b->target.page_size;
    if (!mempool_meta_plan((size_t)b->layout.num_slots, b->ns, &b->m) ||
        b->m.total > SIZE_MAX - (page - 1))
        return K23_ERR_NOMEM;
    size_t bytes = mempool_align_up(b->m.total, page);
    void *meta;
    int err = k23_port_vm_reserve(bytes, page, &meta);
    if (err != K23_OK)
        return err;
    b->meta = meta;
    b->meta_bytes = bytes;
    return k23_port_vm_commit(meta, bytes, K23_PERM_READ | K23_PERM_WRITE);
}

/* Stage 4: the slab, inaccessible; with keys, slot i carries key
 * i % stripes. */
static int mempool_build_slab(struct mempool_build *b)
{
    const k23_slab_layout_t *l = &b->layout;
    size_t bytes = (size_t)l->total_slab_bytes;
    if (bytes != 0) {
        void *s;
        int err = k23_port_vm_reserve(bytes, (size_t)b->target.page_size, &s);
        if (err != K23_OK)
            return err;
        b->slab = s;
        b->slab_bytes = bytes;
    }
    if (b->nkeys == 0)
        return K23_OK;
    for (size_t i = 0; i < (size_t)l->num_slots; i++) {
        int err = b->ops->protect(b->ops->ctx,
                                  b->slab + (size_t)l->pre_slab_guard_bytes +
                                      i * (size_t)l->slot_bytes,
                                  (size_t)l->slot_bytes, b->keys[i % b->ns]);
        if (err != K23_OK)
            return err;
    }
    return K23_OK;
}

/* Last stage, which cannot fail: the pool structure in the bookkeeping
 * region takes over everything the build holds. Committed memory reads as
 * zero: only non-zero fields are set. */
static k23_mempool_t *mempool_build_finish(const struct mempool_build *b)
{
    const k23_slab_layout_t *l = &b->layout;
    size_t num_slots = (size_t)l->num_slots;
    unsigned ns = b->ns;
    k23_mempool_t *p = b->meta;
    uint8_t *mb = b->meta;
    p->slab = b->slab;
    p->slab_bytes = b->slab_bytes;
    p->layout = *l;
    p->num_slots = num_slots;
    p->slot_bytes = (size_t)l->slot_bytes;
    p->max_memory_bytes = (size_t)l->max_memory_bytes;
    p->pre_slab_guard_bytes = (size_t)l->pre_slab_guard_bytes;
    p->page_size = (size_t)b->target.page_size;
    p->keep_resident = mempool_align_up((size_t)b->keep, p->page_size);
    p->memories_per_instance = b->cfg->max_memories_per_module;
    p->max_unused_warm_slots = b->cfg->max_unused_warm_slots;
    p->num_stripes = ns;
    p->stripes = (struct mempool_stripe *)(void *)(mb + b->m.stripes);
    p->images = (struct mempool_image *)(void *)(mb + b->m.images);
    p->pkey_ops = *b->ops;
    p->meta = b->meta;
    p->meta_bytes = b->meta_bytes;
    atomic_init(&p->next_stripe, 0);
    atomic_init(&p->in_use, 0);
    atomic_init(&p->peak_in_use, 0);
    atomic_init(&p->total_allocations, 0);
    atomic_init(&p->total_full, 0);
    atomic_init(&p->total_resets, 0);
    for (unsigned k = 0; k < ns; k++) {
        struct mempool_stripe *s = &p->stripes[k];
        k23_port_lock_init(&s->lock);
        s->nslots = (uint32_t)(num_slots / ns + (num_slots % ns > k));
        s->warm_head = s->warm_tail = MEMPOOL_NONE;
        s->slots = (struct mempool_islot *)(void *)(mb + b->m.slots[k]);
        s->aff = (struct mempool_aff *)(void *)(mb + b->m.aff[k]);
        s->aff_mask = b->m.aff_size[k] - 1;
        s->has_pkey = b->nkeys != 0;
        s->pkey = s->has_pkey ? b->keys[k] : 0;
        for (uint32_t i = 0; i < s->nslots; i++) {
            s->slots[i].warm_prev = s->slots[i].warm_next = MEMPOOL_NONE;
            s->slots[i].aff_prev = s->slots[i].aff_next = MEMPOOL_NONE;
        }
        for (uint32_t i = 0; i <= s->aff_mask; i++)
            s->aff[i].head = s->aff[i].tail = MEMPOOL_NONE;
    }
    return p;
}

int k23_mempool_create(const k23_mempool_config_t *cfg, k23_mempool_t **out)
{
    if (cfg == NULL || out == NULL)
        return K23_ERR_INVAL;
    struct mempool_build b;
    k23_memzero_(&b, sizeof(b));
    int err = mempool_build_check(cfg, &b);
    if (err != K23_OK)
        return err;
    if ((err = mempool_build_keys(&b)) != K23_OK ||
        (err = mempool_build_layout(&b)) != K23_OK ||
        (err = mempool_build_meta(&b)) != K23_OK ||
        (err = mempool_build_slab(&b)) != K23_OK) {
        mempool_build_undo(&b);
        return err;
    }
    k23_mempool_t *p = mempool_build_finish(&b);
    K23_ASSERT_EXPENSIVE_OK(k23_mempool_check(p));
    *out = p;
    return K23_OK;
}

int k23_mempool_destroy(k23_mempool_t *pool)
{
    if (pool == NULL)
        return K23_OK;
    if (!k23_mempool_is_empty(pool))
        return K23_ERR_BUSY;
    for (unsigned k = 0; k < pool->num_stripes; k++)
        if (pool->stripes[k].has_pkey)
            pool->pkey_ops.free(pool->pkey_ops.ctx, pool->stripes[k].pkey);
    if (pool->slab != NULL)
        k23_port_vm_release(pool->slab, pool->slab_bytes);
    k23_port_vm_release(pool->meta, pool->meta_bytes);
    return K23_OK;
}

/* ---- operations ---- */

unsigned k23_mempool_next_stripe(k23_mempool_t *pool)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_next_stripe");
    return atomic_fetch_add(&pool->next_stripe, 1) % pool->num_stripes;
}

int k23_mempool_stripe_pkey(const k23_mempool_t *pool, unsigned stripe,
                            unsigned *key)
{
    if (pool == NULL || key == NULL || stripe >= pool->num_stripes)
        return K23_ERR_INVAL;
    const struct mempool_stripe *s = &pool->stripes[stripe];
    if (!s->has_pkey)
        return K23_ERR_NOT_FOUND;
    *key = s->pkey;
    return K23_OK;
}

int k23_mempool_validate_memory(const k23_mempool_t *pool,
                                const k23_mempool_memory_desc_t *mem)
{
    if (pool == NULL || mem == NULL)
        return K23_ERR_INVAL;
    if (mem->min_bytes > pool->layout.max_memory_bytes)
        return K23_ERR_POOL_MIN_SIZE;
    if (mem->shared)
        return K23_ERR_POOL_SHARED;
    return K23_OK;
}

int k23_mempool_validate_memories(const k23_mempool_t *pool,
                                  const k23_mempool_memory_desc_t *mems,
                                  size_t n, size_t *bad)
{
    if (pool == NULL || (mems == NULL && n != 0))
        return K23_ERR_INVAL;
    if (n > pool->memories_per_instance)
        return K23_ERR_POOL_TOO_MANY_MEMORIES;
    for (size_t i = 0; i < n; i++) {
        int err = k23_mempool_validate_memory(pool, &mems[i]);
        if (err != K23_OK) {
            if (bad != NULL)
                *bad = i;
            return err;
        }
    }
    return K23_OK;
}

/* Give slot `id` of stripe `k` back in unknown state (failed allocation). */
static void mempool_release_unknown(k23_mempool_t *p, unsigned k, uint32_t id,
                                    size_t index)
{
    struct mempool_stripe *s = &p->stripes[k];
    mempool_return_image(p, index, false, 0);
    k23_port_lock_acquire(&s->lock);
    mempool_stripe_free(s, id, 0, mempool_base(p, index));
    k23_port_lock_release(&s->lock);
}

int k23_mempool_allocate(k23_mempool_t *pool, const k23_mempool_request_t *req,
                         k23_mempool_memory_t *out)
{
    if (pool == NULL || req == NULL || out == NULL ||
        req->stripe >= pool->num_stripes)
        return K23_ERR_INVAL;
    if (req->initial_bytes > pool->layout.max_memory_bytes)
        return K23_ERR_POOL_MIN_SIZE;
    /* max_memory_bytes is a page multiple, so this cannot pass it. */
    size_t size = mempool_align_up((size_t)req->initial_bytes,
                                   pool->page_size);

    unsigned k = req->stripe;
    struct mempool_stripe *s = &pool->stripes[k];
    k23_port_lock_acquire(&s->lock);
    uint32_t id = mempool_stripe_alloc(s, pool->max_unused_warm_slots,
                                       req->has_affinity, req->module_id,
                                       req->memory_index, false);
    uint64_t generation = id != MEMPOOL_NONE ? s->slots[id].generation : 0;
    k23_port_lock_release(&s->lock);
    if (id == MEMPOOL_NONE) {
        atomic_fetch_add(&pool->total_full, 1);
        return K23_ERR_FULL;
    }
    size_t index = (size_t)id * pool->num_stripes + k;
    uint8_t *base = mempool_base(pool, index);

    size_t accessible;
    int err = mempool_take_image(pool, index, &accessible);
    if (err == K23_OK && accessible < size)
        err = k23_port_vm_commit(base + accessible, size - accessible,
                                 K23_PERM_READ | K23_PERM_WRITE);
    else if (err == K23_OK && accessible > size)
        err = k23_port_vm_decommit(base + size, accessible - size);
    if (err != K23_OK) {
        /* Part of the slot may be committed: whoever gets it next resets
         * all of it. */
        mempool_release_unknown(pool, k, id, index);
        return err;
    }

    pool->images[index].accessible = size;
    mempool_stats_in_use_add(pool);
    atomic_fetch_add(&pool->total_allocations, 1);
    out->base = base;
    out->index = index;
    out->size = size;
    out->capacity = pool->max_memory_bytes;
    out->stripe = k;
    out->generation = generation;
    K23_ASSERT_EXPENSIVE_OK(k23_mempool_check(pool));
    return K23_OK;
}

/* Check that `mem` names a slot of this pool; panic otherwise. */
static void mempool_check_handle(const k23_mempool_t *p,
                                 const k23_mempool_memory_t *mem)
{
    if (mem->index >= p->num_slots ||
        mem->base != mempool_base(p, mem->index) ||
        mem->size > p->max_memory_bytes)
        K23_PANIC_ADDR("k23_mempool: not a memory of this pool:",
                       (uintptr_t)mem->base);
}

K23_NORETURN static void mempool_stale_panic(const char *who, size_t index,
                                             const void *base,
                                             uint64_t handle_gen,
                                             uint64_t slot_gen, bool used)
{
    char buf[240];
    size_t pos = 0;
    buf[0] = '\0';
    k23_str_append_(buf, sizeof(buf), &pos, who);
    k23_str_append_(buf, sizeof(buf), &pos,
                    used ? ": stale handle (the slot was freed and handed "
                           "out again), slot "
                         : ": memory not allocated (freed already?), slot ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, index, 10);
    k23_str_append_(buf, sizeof(buf), &pos, " at ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, (uintptr_t)base, 16);
    k23_str_append_(buf, sizeof(buf), &pos, ", handle generation ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, handle_gen, 10);
    k23_str_append_(buf, sizeof(buf), &pos, ", slot generation ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, slot_gen, 10);
    K23_PANIC(buf);
}

/* Panic unless `mem` is the current allocation of its slot: the slot is
 * allocated and its generation is the handle's. A freed memory's handle,
 * or a copy kept past the free, must not touch a slot someone else may
 * own. */
static void mempool_check_live(k23_mempool_t *p,
                               const k23_mempool_memory_t *mem,
                               const char *who)
{
    mempool_check_handle(p, mem);
    unsigned k = (unsigned)(mem->index % p->num_stripes);
    struct mempool_stripe *s = &p->stripes[k];
    k23_port_lock_acquire(&s->lock);
    const struct mempool_islot *x = &s->slots[mem->index / p->num_stripes];
    bool used = x->state == MEMPOOL_USED;
    uint64_t gen = x->generation;
    k23_port_lock_release(&s->lock);
    if (!used || gen != mem->generation)
        mempool_stale_panic(who, mem->index, mem->base, mem->generation, gen,
                            used);
}

int k23_mempool_grow(k23_mempool_t *pool, k23_mempool_memory_t *mem,
                     uint64_t new_size)
{
    /* A handle that names no slot of this pool (another pool's, or a
     * freed one: deallocation clears base) is a bad argument like NULL;
     * one that names a slot it no longer owns (a copy kept past the free)
     * is misuse of the pool's state and panics. */
    if (pool == NULL || mem == NULL || mem->index >= pool->num_slots ||
        mem->base != mempool_base(pool, mem->index) ||
        mem->size > pool->max_memory_bytes)
        return K23_ERR_INVAL;
    mempool_check_live(pool, mem, "k23_mempool_grow");
    if (new_size > pool->max_memory_bytes)
        return K23_ERR_LIMIT;
    size_t size = mempool_align_up((size_t)new_size, pool->page_size);
    if (size < mem->size)
        return K23_ERR_INVAL;
    /* The pool's record, not mem->size: a copy of the handle may have
     * grown the memory already. */
    size_t *committed = &pool->images[mem->index].accessible;
    if (size > *committed) {
        int err = k23_port_vm_commit((uint8_t *)mem->base + *committed,
                                     size - *committed,
                                     K23_PERM_READ | K23_PERM_WRITE);
        if (err != K23_OK)
            return err;
        *committed = size;
    }
    mem->size = *committed;
    return K23_OK;
}

static void mempool_free_index(k23_mempool_t *p, size_t index,
                               size_t resident, bool counted)
{
    unsigned k = (unsigned)(index % p->num_stripes);
    uint32_t id = (uint32_t)(index / p->num_stripes);
    struct mempool_stripe *s = &p->stripes[k];
    k23_port_lock_acquire(&s->lock);
    mempool_stripe_free(s, id, resident, mempool_base(p, index));
    k23_port_lock_release(&s->lock);
    if (counted)
        atomic_fetch_sub(&p->in_use, 1);
    K23_ASSERT_EXPENSIVE_OK(k23_mempool_check(p));
}

void k23_mempool_deallocate(k23_mempool_t *pool, k23_mempool_memory_t *mem)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_deallocate");
    K23_REQUIRE(mem != NULL, "k23_mempool_deallocate");
    mempool_check_live(pool, mem, "k23_mempool_deallocate");
    /* Reset: keep the first bytes committed but zero, drop the rest. What
     * is committed is the pool's record, not mem->size (a copy of the
     * handle may have grown it): every byte the tenant could write is
     * zeroed or dropped. */
    size_t committed = pool->images[mem->index].accessible;
    size_t keep = mempool_min(committed, pool->keep_resident);
    k23_memzero_(mem->base, keep);
    int err = K23_OK;
    if (committed > keep)
        err = k23_port_vm_decommit((uint8_t *)mem->base + keep,
                                   committed - keep);
    if (err != K23_OK) {
        k23_log_u64_(K23_LOG_WARN, "k23_mempool: reset failed, slot at ",
                     (uintptr_t)mem->base, " left in unknown state");
        mempool_return_image(pool, mem->index, false, 0);
        keep = 0;
    } else {
        mempool_return_image(pool, mem->index, true, keep);
    }
    mempool_free_index(pool, mem->index, keep, true);
    mem->base = NULL;
    mem->size = 0;
}

void k23_mempool_deallocate_unknown(k23_mempool_t *pool,
                                    k23_mempool_memory_t *mem)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_deallocate_unknown");
    K23_REQUIRE(mem != NULL, "k23_mempool_deallocate_unknown");
    mempool_check_live(pool, mem, "k23_mempool_deallocate_unknown");
    mempool_return_image(pool, mem->index, false, 0);
    mempool_free_index(pool, mem->index, 0, true);
    mem->base = NULL;
    mem->size = 0;
}

void k23_mempool_purge_module(k23_mempool_t *pool, uint64_t module_id)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_purge_module");
    for (unsigned k = 0; k < pool->num_stripes; k++) {
        struct mempool_stripe *s = &pool->stripes[k];
        for (uint32_t m = 0; m < pool->memories_per_instance; m++) {
            for (;;) {
                k23_port_lock_acquire(&s->lock);
                uint32_t id = mempool_stripe_alloc(
                    s, pool->max_unused_warm_slots, true, module_id, m, true);
                k23_port_lock_release(&s->lock);
                if (id == MEMPOOL_NONE)
                    break;
                size_t index = (size_t)id * pool->num_stripes + k;
                uint8_t *base = mempool_base(pool, index);
                /* Drop what the module left resident; if that fails the
                 * slot is reset on next use. */
                size_t acc;
                int err = mempool_take_image(pool, index, &acc);
                if (err == K23_OK && acc != 0)
                    err = k23_port_vm_decommit(base, acc);
                mempool_return_image(pool, index, err == K23_OK, 0);
                mempool_free_index(pool, index, 0, false);
            }
        }
    }
}

/* ---- introspection ---- */

const k23_slab_layout_t *k23_mempool_layout(const k23_mempool_t *pool)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_layout");
    return &pool->layout;
}

void *k23_mempool_slab_base(const k23_mempool_t *pool)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_slab_base");
    return pool->slab;
}

void *k23_mempool_slot_base(const k23_mempool_t *pool, size_t index)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_slot_base");
    K23_REQUIRE(index < pool->num_slots, "k23_mempool_slot_base");
    return mempool_base(pool, index);
}

unsigned k23_mempool_num_stripes(const k23_mempool_t *pool)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_num_stripes");
    return pool->num_stripes;
}

size_t k23_mempool_stripe_free_slots(k23_mempool_t *pool, unsigned stripe)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_stripe_free_slots");
    K23_REQUIRE(stripe < pool->num_stripes, "k23_mempool_stripe_free_slots");
    struct mempool_stripe *s = &pool->stripes[stripe];
    k23_port_lock_acquire(&s->lock);
    size_t n = (size_t)(s->nslots - s->last_cold) + s->unused_warm;
    k23_port_lock_release(&s->lock);
    return n;
}

bool k23_mempool_is_empty(k23_mempool_t *pool)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_is_empty");
    for (unsigned k = 0; k < pool->num_stripes; k++) {
        struct mempool_stripe *s = &pool->stripes[k];
        k23_port_lock_acquire(&s->lock);
        uint32_t used = s->used;
        k23_port_lock_release(&s->lock);
        if (used != 0)
            return false;
    }
    return true;
}

size_t k23_mempool_unused_warm_slots(k23_mempool_t *pool)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_unused_warm_slots");
    size_t n = 0;
    for (unsigned k = 0; k < pool->num_stripes; k++) {
        struct mempool_stripe *s = &pool->stripes[k];
        k23_port_lock_acquire(&s->lock);
        n += s->unused_warm;
        k23_port_lock_release(&s->lock);
    }
    return n;
}

size_t k23_mempool_unused_bytes_resident(k23_mempool_t *pool)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_unused_bytes_resident");
    size_t n = 0;
    for (unsigned k = 0; k < pool->num_stripes; k++) {
        struct mempool_stripe *s = &pool->stripes[k];
        k23_port_lock_acquire(&s->lock);
        n += s->unused_bytes_resident;
        k23_port_lock_release(&s->lock);
    }
    return n;
}

void k23_mempool_stats(k23_mempool_t *pool, k23_mempool_stats_t *out)
{
    K23_REQUIRE(pool != NULL, "k23_mempool_stats");
    K23_REQUIRE(out != NULL, "k23_mempool_stats");
    size_t used = 0;
    for (unsigned k = 0; k < pool->num_stripes; k++) {
        struct mempool_stripe *s = &pool->stripes[k];
        k23_port_lock_acquire(&s->lock);
        used += s->used;
        k23_port_lock_release(&s->lock);
    }
    out->slots_in_use = used;
    out->unused_warm_slots = k23_mempool_unused_warm_slots(pool);
    out->unused_bytes_resident = k23_mempool_unused_bytes_resident(pool);
    out->peak_slots_in_use = atomic_load(&pool->peak_in_use);
    out->total_allocations = atomic_load(&pool->total_allocations);
    out->total_full = atomic_load(&pool->total_full);
    out->total_resets = atomic_load(&pool->total_resets);
}

static int mempool_corrupt(const char *what, uint64_t v)
{
    k23_log_u64_(K23_LOG_ERROR, what, v, "");
    return K23_ERR_CORRUPT;
}

static int mempool_check_stripe(const struct mempool_stripe *s)
    K23_REQUIRES(s->lock)
{
    uint32_t cold = 0, used = 0, warm = 0, affine = 0;
    size_t bytes = 0;
    if (s->last_cold > s->nslots)
        return mempool_corrupt("k23_mempool: last_cold past the end: ",
                               s->last_cold);
    for (uint32_t i = 0; i < s->nslots; i++) {
        const struct mempool_islot *x = &s->slots[i];
        if ((i >= s->last_cold) != (x->state == MEMPOOL_COLD))
            return mempool_corrupt("k23_mempool: cold state wrong, slot ", i);
        cold += x->state == MEMPOOL_COLD;
        used += x->state == MEMPOOL_USED;
        if (x->state == MEMPOOL_WARM) {
            warm++;
            bytes += x->bytes_resident;
            affine += x->has_affinity;
        }
    }
    if (cold + used + warm != s->nslots || used != s->used ||
        warm != s->unused_warm || bytes != s->unused_bytes_resident)
        return mempool_corrupt("k23_mempool: counters do not add up, "
                               "slots ", s->nslots);
    /* The warm list holds exactly the warm slots, linked both ways. */
    uint32_t n = 0, prev = MEMPOOL_NONE;
    for (uint32_t i = s->warm_head; i != MEMPOOL_NONE;
         i = s->slots[i].warm_next) {
        if (i >= s->nslots || s->slots[i].state != MEMPOOL_WARM ||
            s->slots[i].warm_prev != prev || ++n > warm)
            return mempool_corrupt("k23_mempool: warm list broken at ", i);
        prev = i;
    }
    if (n != warm || prev != s->warm_tail)
        return mempool_corrupt("k23_mempool: warm list length ", n);
    /* Each table entry is findable and lists warm slots of its key. */
    uint32_t listed = 0;
    for (uint32_t e = 0; e <= s->aff_mask; e++) {
        const struct mempool_aff *a = &s->aff[e];
        if (a->head == MEMPOOL_NONE)
            continue;
        bool found;
        if (mempool_aff_find(s, a->module, a->memidx, &found) != e || !found)
            return mempool_corrupt("k23_mempool: affinity entry lost: ", e);
        prev = MEMPOOL_NONE;
        for (uint32_t i = a->head; i != MEMPOOL_NONE;
             i = s->slots[i].aff_next) {
            const struct mempool_islot *x = &s->slots[i];
            if (i >= s->nslots || x->state != MEMPOOL_WARM ||
                !x->has_affinity || x->module != a->module ||
                x->memidx != a->memidx || x->aff_prev != prev ||
                ++listed > affine)
                return mempool_corrupt("k23_mempool: affine list broken at ",
                                       i);
            prev = i;
        }
        if (prev != a->tail)
            return mempool_corrupt("k23_mempool: affine tail wrong, entry ",
                                   e);
    }
    if (listed != affine)
        return mempool_corrupt("k23_mempool: affine slots not listed: ",
                               affine - listed);
    return K23_OK;
}

int k23_mempool_check(k23_mempool_t *pool)
{
    if (pool == NULL)
        return K23_ERR_INVAL;
    size_t total = 0;
    for (unsigned k = 0; k < pool->num_stripes; k++) {
        struct mempool_stripe *s = &pool->stripes[k];
        k23_port_lock_acquire(&s->lock);
        int err = mempool_check_stripe(s);
        k23_port_lock_release(&s->lock);
        if (err != K23_OK)
            return err;
        total += s->nslots;
    }
    if (total != pool->num_slots)
        return mempool_corrupt("k23_mempool: stripes hold slots: ", total);
    for (size_t i = 0; i < pool->num_slots; i++) {
        const struct mempool_image *img = &pool->images[i];
        if (img->state > MEMPOOL_IMG_PREV_USED ||
            img->accessible > pool->max_memory_bytes ||
            (img->accessible & (pool->page_size - 1)) != 0)
            return mempool_corrupt("k23_mempool: bad memory state, slot ", i);
    }
    return K23_OK;
}
