/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Pooling instance allocator. Memories come from the memory pool
 * (mempool.c); tables and instance blocks from two slabs of equal slots
 * kept here. Each slab has a LIFO stack of free slot indices, so the slot
 * freed last (still warm, still committed) is the next one handed out.
 *
 * Why instance blocks are committed whole at creation: a block is at most
 * a few pages and is zeroed on free, so keeping it committed trades a
 * little resident memory for no system call on the instantiate path.
 * Tables keep up to keep_resident bytes committed (zeroed), as memories do
 * in the memory pool.
 */
#include "instance_internal.h"
#include "k23mem/instance_pool.h"
#include "k23mem/mempool.h"

/* A slab of equal slots with a free stack. */
struct pool_slab {
    uint8_t *base;       /* start of the reservation */
    size_t reserved;     /* bytes reserved */
    size_t slot_bytes;   /* distance between slots, host-page multiple */
    uint32_t count;      /* slots */
    uint32_t nfree K23_GUARDED_BY(lock);     /* entries on the free stack */
    uint32_t *free K23_PT_GUARDED_BY(lock);  /* free slot indices; top is
                                              * free[nfree - 1] */
    uint8_t *in_use K23_PT_GUARDED_BY(lock); /* 1 while a slot is handed out */
    size_t *resident K23_PT_GUARDED_BY(lock); /* committed-and-zero bytes per
                                               * slot (tables) */
    size_t *shape_size;  /* shape size each slot was handed out with
                          * (instance blocks): what a free must zero */
    size_t peak K23_GUARDED_BY(lock);        /* highest count - nfree seen */
    k23_port_lock_t lock;
};

struct k23_instance_pool {
    k23_instance_pool_config_t cfg;
    k23_mempool_t *mem;          /* NULL when total_memories is 0 */
    struct pool_slab inst;       /* instance blocks */
    struct pool_slab tab;        /* tables */
    size_t page;                 /* host page size */
    size_t keep_resident;        /* cfg.keep_resident rounded down to pages */
    uint64_t memory_max_bytes;   /* the memory pool's max_memory_bytes */
    uint64_t memory_slot_guard;  /* slot_bytes - max_memory_bytes */
    void *meta;                  /* this struct and the slab arrays */
    size_t meta_size;
    uint64_t total_full;         /* updated atomically */
};

void k23_instance_pool_config_default(k23_instance_pool_config_t *cfg)
{
    K23_REQUIRE(cfg != NULL, "k23_instance_pool_config_default");
    k23_memzero_(cfg, sizeof(*cfg));
    cfg->total_instances = 100;
    cfg->total_memories = 100;
    cfg->total_tables = 100;
    cfg->max_memories_per_module = 1;
    cfg->max_tables_per_module = 1;
    if (sizeof(size_t) >= 8) {
        cfg->max_memory_size = UINT64_C(1) << 32;
        cfg->memory_reservation = UINT64_C(1) << 32;
        cfg->memory_guard_size = UINT64_C(32) << 20;
    } else {
        cfg->max_memory_size = UINT64_C(10) << 20;
        cfg->memory_reservation = UINT64_C(10) << 20;
        cfg->memory_guard_size = 0;
    }
    cfg->table_elements = 20000;
    cfg->table_element_size = sizeof(void *);
    cfg->max_instance_size = (size_t)64 << 10;
    cfg->keep_resident = UINT64_C(64) << 10;
}

/* ---- slabs ---- */

static size_t pool_align8(size_t x)
{
    return (x + 7) & ~(size_t)7;
}

/* Bytes of bookkeeping a slab of n slots needs after the pool struct;
 * per_slot: with one size_t per slot. */
static bool pool_slab_meta(uint32_t n, bool per_slot, size_t *bytes)
{
    size_t b = pool_align8((size_t)n * sizeof(uint32_t)) + pool_align8(n);
    if (per_slot)
        b += (size_t)n * sizeof(size_t);
    return !k23_add_overflow_(*bytes, b, bytes);
}

/* per_slot: the slab's array of one size_t per slot, or NULL for none. */
static uint8_t *pool_slab_carve(struct pool_slab *s, uint8_t *p,
                                size_t **per_slot)
{
    s->free = (uint32_t *)(void *)p;
    p += pool_align8((size_t)s->count * sizeof(uint32_t));
    s->in_use = p;
    p += pool_align8(s->count);
    if (per_slot != NULL) {
        *per_slot = (size_t *)(void *)p;
        p += (size_t)s->count * sizeof(size_t);
    }
    /* Slot 0 on top of the stack: handed out first. */
    for (uint32_t i = 0; i < s->count; i++)
        s->free[i] = s->count - 1 - i;
    s->nfree = s->count;
    k23_port_lock_init(&s->lock);
    return p;
}

/* Pop a free slot; false when none is left. */
static bool pool_slab_pop(struct pool_slab *s, uint32_t *out)
{
    bool ok = false;
    k23_port_lock_acquire(&s->lock);
    if (s->nfree != 0) {
        uint32_t i = s->free[--s->nfree];
        K23_ASSERT_INTERNAL_FOUND(!s->in_use[i], i);
        s->in_use[i] = 1;
        size_t used = s->count - s->nfree;
        if (used > s->peak)
            s->peak = used;
        *out = i;
        ok = true;
    }
    k23_port_lock_release(&s->lock);
    return ok;
}

static void pool_slab_push(struct pool_slab *s, uint32_t i)
{
    k23_port_lock_acquire(&s->lock);
    K23_ASSERT_INTERNAL_FOUND(s->in_use[i], i);
    K23_ASSERT_INTERNAL_FOUND(s->nfree < s->count, s->nfree);
    s->in_use[i] = 0;
    s->free[s->nfree++] = i;
    k23_port_lock_release(&s->lock);
}

/* Slot index of @p p, panicking on an address that is not a slot start
 * handed out by this slab (double free or foreign pointer). */
static uint32_t pool_slab_index(struct pool_slab *s, const void *p,
                                const char *what)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)s->base;
    if (s->count == 0 || a < b || (a - b) % s->slot_bytes != 0 ||
        (a - b) / s->slot_bytes >= s->count)
        K23_PANIC_ADDR(what, a);
    uint32_t i = (uint32_t)((a - b) / s->slot_bytes);
    k23_port_lock_acquire(&s->lock);
    bool used = s->in_use[i] != 0;
    k23_port_lock_release(&s->lock);
    if (!used)
        K23_PANIC_ADDR(what, a);
    return i;
}

static void pool_full(k23_instance_pool_t *pool)
{
    __atomic_add_fetch(&pool->total_full, 1, __ATOMIC_RELAXED);
}

/* ---- validation ---- */

static int pool_check_memory(const k23_instance_pool_t *pool,
                             const k23_memory_desc_t *d)
{
    if (pool->mem == NULL)
        return K23_ERR_POOL_TOO_MANY_MEMORIES;
    k23_mempool_memory_desc_t md = {.min_bytes = d->min_bytes,
                                    .shared = d->shared};
    return k23_mempool_validate_memory(pool->mem, &md);
}

static int pool_check_table(const k23_instance_pool_t *pool,
                            const k23_table_desc_t *d)
{
    if (pool->tab.count == 0)
        return K23_ERR_LIMIT;
    if (d->element_size > pool->cfg.table_element_size ||
        d->min_elements > pool->cfg.table_elements)
        return K23_ERR_LIMIT;
    return K23_OK;
}

static int pool_check_shape(const k23_instance_pool_t *pool,
                            const k23_instance_shape_t *shape)
{
    /* Slots are page aligned and a multiple of 4 KiB apart, so any
     * align_log2 <= 12 (the descriptor limit) is met. */
    if (shape->size > pool->inst.slot_bytes || shape->align_log2 > 12)
        return K23_ERR_LIMIT;
    return K23_OK;
}

static int pool_validate_module(void *ctx, const k23_module_desc_t *m)
{
    k23_instance_pool_t *pool = ctx;
    if (m->num_memories > pool->cfg.max_memories_per_module)
        return K23_ERR_POOL_TOO_MANY_MEMORIES;
    if (m->num_tables > pool->cfg.max_tables_per_module)
        return K23_ERR_LIMIT;
    if (m->shape.size > pool->cfg.max_instance_size)
        return K23_ERR_LIMIT;
    for (uint32_t i = 0; i < m->num_memories; i++) {
        int rc = pool_check_memory(pool, &m->memories[i]);
        if (rc != K23_OK)
            return rc;
    }
    for (uint32_t i = 0; i < m->num_tables; i++) {
        int rc = pool_check_table(pool, &m->tables[i]);
        if (rc != K23_OK)
            return rc;
    }
    return K23_OK;
}

/* ---- instance blocks ---- */

static int pool_allocate_instance(void *ctx,
                                  const k23_instance_shape_t *shape,
                                  void **out)
{
    k23_instance_pool_t *pool = ctx;
    int rc = pool_check_shape(pool, shape);
    if (rc != K23_OK)
        return rc;
    uint32_t i;
    if (!pool_slab_pop(&pool->inst, &i)) {
        pool_full(pool);
        return K23_ERR_FULL;
    }
    /* Committed at creation and zeroed on every free. */
    pool->inst.shape_size[i] = shape->size;
    *out = pool->inst.base + (size_t)i * pool->inst.slot_bytes;
    return K23_OK;
}

static void pool_deallocate_instance(void *ctx, void *instance,
                                     const k23_instance_shape_t *shape)
{
    k23_instance_pool_t *pool = ctx;
    uint32_t i = pool_slab_index(&pool->inst, instance,
                                 "instance pool: bad or repeated free of "
                                 "instance block");
    /* A smaller shape would zero too little and the next tenant would see
     * this one's bytes; a larger one, zero past the slot. */
    size_t given = pool->inst.shape_size[i];
    if (shape->size != given)
        k23_instance_shape_panic_(instance, shape, given, UINT_MAX);
    k23_memzero_(instance, given);
    pool_slab_push(&pool->inst, i);
}

/* ---- memories ---- */

static k23_mempool_memory_t pool_mem_of(const k23_memory_t *mem)
{
    k23_mempool_memory_t pm = {.base = mem->base, .index = mem->slot,
                               .size = mem->committed,
                               .capacity = mem->capacity,
                               .stripe = mem->stripe,
                               .generation = mem->generation};
    return pm;
}

/* Growth goes through the memory pool so that its reset on free covers
 * every committed byte. */
static int pool_memory_commit(void *ctx, k23_memory_t *mem,
                              size_t new_committed)
{
    k23_instance_pool_t *pool = ctx;
    k23_mempool_memory_t pm = pool_mem_of(mem);
    int rc = k23_mempool_grow(pool->mem, &pm, new_committed);
    K23_ASSERT_INTERNAL_FOUND(rc != K23_OK || pm.size == new_committed, pm.size);
    return rc;
}

static int pool_allocate_memory(void *ctx, const k23_memory_desc_t *d,
                                uint32_t index, k23_memory_t *out)
{
    k23_instance_pool_t *pool = ctx;
    if (k23_memory_desc_check(d) != K23_OK)
        return K23_ERR_INVAL;
    if (index >= pool->cfg.max_memories_per_module)
        return K23_ERR_POOL_TOO_MANY_MEMORIES;
    int rc = pool_check_memory(pool, d);
    if (rc != K23_OK)
        return rc;
    k23_mempool_request_t req = {.stripe = 0, .has_affinity = false,
                                 .initial_bytes = d->min_bytes};
    k23_mempool_memory_t pm;
    rc = k23_mempool_allocate(pool->mem, &req, &pm);
    if (rc != K23_OK) {
        if (rc == K23_ERR_FULL)
            pool_full(pool);
        return rc;
    }
    K23_ASSERT_INTERNAL_FOUND(
        pm.size ==
            (((size_t)d->min_bytes + pool->page - 1) & ~(pool->page - 1)),
        pm.size);
    uint64_t max = d->has_max ? d->max_bytes : UINT64_MAX;
    if (max > pm.capacity)
        max = pm.capacity & ~((UINT64_C(1) << d->page_size_log2) - 1);
    out->base = pm.base;
    out->size = (size_t)d->min_bytes;
    out->max_size = (size_t)max;
    out->capacity = pm.capacity;
    out->committed = pm.size;
    out->guard_bytes = (size_t)pool->memory_slot_guard;
    out->page_size_log2 = d->page_size_log2;
    out->shared = false;
    out->live = true;
    out->slot = (uint32_t)pm.index;
    out->stripe = pm.stripe;
    out->generation = pm.generation;
    out->mapping = NULL;
    out->mapping_size = 0;
    out->commit = pool_memory_commit;
    out->commit_ctx = pool;
    return K23_OK;
}

static void pool_deallocate_memory(void *ctx, uint32_t index,
                                   k23_memory_t *mem)
{
    k23_instance_pool_t *pool = ctx;
    K23_UNUSED(index);
    if (!mem->live || mem->slot == K23_INSTANCE_NO_SLOT)
        K23_PANIC_ADDR("instance pool: bad or repeated free of memory",
                       (uintptr_t)mem->base);
    k23_mempool_memory_t pm = pool_mem_of(mem);
    k23_mempool_deallocate(pool->mem, &pm);
    mem->live = false;
}

/* ---- tables ---- */

static int pool_allocate_table(void *ctx, const k23_table_desc_t *d,
                               uint32_t index, k23_table_t *out)
{
    k23_instance_pool_t *pool = ctx;
    if (k23_table_desc_check(d) != K23_OK)
        return K23_ERR_INVAL;
    if (index >= pool->cfg.max_tables_per_module)
        return K23_ERR_LIMIT;
    int rc = pool_check_table(pool, d);
    if (rc != K23_OK)
        return rc;
    uint32_t i;
    if (!pool_slab_pop(&pool->tab, &i)) {
        pool_full(pool);
        return K23_ERR_FULL;
    }
    uint8_t *base = pool->tab.base + (size_t)i * pool->tab.slot_bytes;
    /* min_elements <= table_elements and element_size <= the configured
     * one, so the product fits the slot. */
    size_t need = ((size_t)(d->min_elements * d->element_size) +
                   pool->page - 1) & ~(pool->page - 1);
    size_t have = pool->tab.resident[i];
    if (need > have) {
        rc = k23_instance_commit_(base, have, need);
        if (rc != K23_OK) {
            pool_slab_push(&pool->tab, i);
            return rc;
        }
    } else if (need < have) {
        /* Keep the table's end exact: pages past it must fault. */
        rc = k23_port_vm_decommit(base + need, have - need);
        if (rc != K23_OK) {
            pool_slab_push(&pool->tab, i);
            return rc;
        }
    }
    pool->tab.resident[i] = 0; /* owned by the table until freed */
    uint64_t cap = pool->tab.slot_bytes / d->element_size;
    uint64_t max = pool->cfg.table_elements;
    if (d->has_max && d->max_elements < max)
        max = d->max_elements;
    out->elements = base;
    out->size = d->min_elements;
    out->max_size = max;
    out->capacity = cap;
    out->committed = need;
    out->element_size = d->element_size;
    out->live = true;
    out->slot = i;
    out->mapping = NULL;
    out->mapping_size = 0;
    return K23_OK;
}

static void pool_deallocate_table(void *ctx, uint32_t index, k23_table_t *t)
{
    k23_instance_pool_t *pool = ctx;
    K23_UNUSED(index);
    if (!t->live)
        K23_PANIC_ADDR("instance pool: repeated free of table",
                       (uintptr_t)t->elements);
    uint32_t i = pool_slab_index(&pool->tab, t->elements,
                                 "instance pool: bad free of table");
    K23_ASSERT_FOUND(i == t->slot, t->slot);
    size_t keep = t->committed < pool->keep_resident ? t->committed
                                                     : pool->keep_resident;
    k23_memzero_(t->elements, keep);
    if (t->committed > keep &&
        k23_port_vm_decommit(t->elements + keep, t->committed - keep) !=
            K23_OK) {
        /* Could not drop the pages: zero them and keep them instead. */
        k23_memzero_(t->elements + keep, t->committed - keep);
        keep = t->committed;
    }
    pool->tab.resident[i] = keep;
    t->live = false;
    pool_slab_push(&pool->tab, i);
}

static const k23_instance_allocator_ops_t pool_ops = {
    .allocate_instance = pool_allocate_instance,
    .deallocate_instance = pool_deallocate_instance,
    .allocate_memory = pool_allocate_memory,
    .deallocate_memory = pool_deallocate_memory,
    .allocate_table = pool_allocate_table,
    .deallocate_table = pool_deallocate_table,
    .validate_module = pool_validate_module,
};

/* ---- lifecycle ---- */

static int pool_reserve(size_t size, size_t align, void **out)
{
    if (size == 0) {
        *out = NULL;
        return K23_OK;
    }
    return k23_port_vm_reserve(size, align, out);
}

static void pool_release(void *p, size_t size)
{
    if (p != NULL && k23_port_vm_release(p, size) != K23_OK)
        K23_PANIC_ADDR("instance pool: port refused to release",
                       (uintptr_t)p);
}

/*
 * k23_instance_pool_create() in stages: plan the sizes, reserve, lay the
 * pool out, create the memory pool. The build records what was reserved;
 * pool_build_undo() releases it, the one unwind path for every failure.
 */
struct pool_build {
    size_t page, gran, slot_align;
    uint64_t inst_slot, inst_total; /* instance slots: each, all */
    uint64_t tab_slot, tab_total;   /* table slots: each, all */
    size_t meta;                    /* bookkeeping bytes */
    void *mp, *ip, *tp;             /* bookkeeping, instance, table slabs */
};

static void pool_build_undo(struct pool_build *b)
{
    pool_release(b->tp, (size_t)b->tab_total);
    pool_release(b->ip, (size_t)b->inst_total);
    pool_release(b->mp, b->meta);
}

/* The host's page and reservation granularity. */
static int pool_build_host(struct pool_build *b)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    if (!caps.has_vm)
        return K23_ERR_UNSUPPORTED;
    b->page = k23_instance_host_page_();
    b->gran = caps.alloc_granularity > b->page ? caps.alloc_granularity
                                               : b->page;
    b->slot_align = b->page > 4096 ? b->page : 4096;
    if (b->gran < b->slot_align)
        b->gran = b->slot_align;
    return K23_OK;
}

/* Slot and slab sizes, all checked against overflow (K23_ERR_LIMIT). */
static int pool_build_plan(const k23_instance_pool_config_t *cfg,
                           struct pool_build *b)
{
    /* Instance slots: the largest block a valid module can ask for. */
    k23_instance_shape_t bs;
    if (k23_instance_block_size_(cfg->max_instance_size, 12,
                                 cfg->max_memories_per_module,
                                 cfg->max_tables_per_module, &bs) != K23_OK)
        return K23_ERR_LIMIT;
    uint64_t align = (uint64_t)b->slot_align;
    if (k23_add_overflow_((uint64_t)bs.size, align - 1, &b->inst_slot))
        return K23_ERR_LIMIT;
    b->inst_slot &= ~(align - 1);
    if (k23_mul_overflow_(b->inst_slot, (uint64_t)cfg->total_instances,
                          &b->inst_total) ||
        b->inst_total > SIZE_MAX)
        return K23_ERR_LIMIT;
    /* Table slots: table_elements of the largest element size. */
    uint64_t tab_bytes, page = (uint64_t)b->page;
    if (k23_mul_overflow_(cfg->table_elements,
                          (uint64_t)cfg->table_element_size, &tab_bytes) ||
        k23_add_overflow_(tab_bytes, page - 1, &b->tab_slot))
        return K23_ERR_LIMIT;
    b->tab_slot &= ~(page - 1);
    if (b->tab_slot == 0)
        b->tab_slot = page; /* a zero-element table still gets its own slot */
    if (k23_mul_overflow_(b->tab_slot, (uint64_t)cfg->total_tables,
                          &b->tab_total) ||
        b->tab_total > SIZE_MAX)
        return K23_ERR_LIMIT;
    /* Bookkeeping: the pool struct, then the two slabs' arrays. */
    size_t meta = pool_align8(sizeof(k23_instance_pool_t));
    if (!pool_slab_meta(cfg->total_instances, true, &meta) ||
        !pool_slab_meta(cfg->total_tables, true, &meta) ||
        k23_add_overflow_(meta, b->page - 1, &meta))
        return K23_ERR_LIMIT;
    b->meta = meta & ~(b->page - 1);
    return K23_OK;
}

/* Reserve the bookkeeping (committed), the instance slab (committed) and
 * the table slab (committed as tables grow). */
static int pool_build_reserve(struct pool_build *b)
{
    int rc = k23_port_vm_reserve(b->meta, b->gran, &b->mp);
    if (rc == K23_OK)
        rc = k23_instance_commit_(b->mp, 0, b->meta);
    if (rc == K23_OK)
        rc = pool_reserve((size_t)b->inst_total, b->gran, &b->ip);
    if (rc == K23_OK)
        rc = k23_instance_commit_(b->ip, 0, (size_t)b->inst_total);
    if (rc == K23_OK)
        rc = pool_reserve((size_t)b->tab_total, b->gran, &b->tp);
    return rc;
}

/* Lay the pool out in its bookkeeping region, which reads as zero (only
 * non-zero fields are set). Cannot fail. */
static k23_instance_pool_t *pool_build_layout(
    const k23_instance_pool_config_t *cfg, const struct pool_build *b)
{
    size_t page = b->page;
    k23_instance_pool_t *pool = b->mp;
    pool->cfg = *cfg;
    pool->page = page;
    pool->keep_resident =
        cfg->keep_resident > SIZE_MAX ? SIZE_MAX & ~(page - 1)
                                      : (size_t)cfg->keep_resident &
                                            ~(page - 1);
    pool->meta = b->mp;
    pool->meta_size = b->meta;
    pool->inst.base = b->ip;
    pool->inst.reserved = (size_t)b->inst_total;
    pool->inst.slot_bytes = (size_t)b->inst_slot;
    pool->inst.count = cfg->total_instances;
    pool->tab.base = b->tp;
    pool->tab.reserved = (size_t)b->tab_total;
    pool->tab.slot_bytes = (size_t)b->tab_slot;
    pool->tab.count = cfg->total_tables;
    uint8_t *p = (uint8_t *)b->mp + pool_align8(sizeof(k23_instance_pool_t));
    p = pool_slab_carve(&pool->inst, p, &pool->inst.shape_size);
    p = pool_slab_carve(&pool->tab, p, &pool->tab.resident);
    K23_ASSERT_INTERNAL_FOUND((size_t)(p - (uint8_t *)b->mp) <= b->meta,
                              (size_t)(p - (uint8_t *)b->mp));
    return pool;
}

/* The linear memories' pool, when the configuration has memories. */
static int pool_build_memories(const k23_instance_pool_config_t *cfg,
                               k23_instance_pool_t *pool)
{
    if (cfg->total_memories == 0)
        return K23_OK;
    k23_mempool_config_t mc;
    k23_mempool_config_default(&mc);
    mc.limits.memory_reservation = cfg->memory_reservation;
    mc.limits.max_memory_size = cfg->max_memory_size;
    mc.limits.total_memories = cfg->total_memories;
    mc.limits.memory_guard_size = cfg->memory_guard_size;
    mc.max_memories_per_module = cfg->max_memories_per_module;
    mc.keep_resident = cfg->keep_resident;
    mc.max_unused_warm_slots = cfg->max_unused_warm_slots;
    mc.mpk = K23_MEMPOOL_MPK_NO;
    int rc = k23_mempool_create(&mc, &pool->mem);
    if (rc != K23_OK)
        return rc;
    const k23_slab_layout_t *l = k23_mempool_layout(pool->mem);
    pool->memory_max_bytes = l->max_memory_bytes;
    pool->memory_slot_guard = l->slot_bytes - l->max_memory_bytes;
    return K23_OK;
}

int k23_instance_pool_create(const k23_instance_pool_config_t *cfg,
                             k23_instance_pool_t **pool_out,
                             k23_instance_allocator_t *out)
{
    if (cfg == NULL || pool_out == NULL || out == NULL ||
        cfg->total_instances == 0 || cfg->table_element_size == 0 ||
        cfg->max_instance_size == 0 ||
        cfg->total_instances >= UINT32_MAX || cfg->total_tables >= UINT32_MAX)
        return K23_ERR_INVAL;
    struct pool_build b;
    k23_memzero_(&b, sizeof(b));
    int rc = pool_build_host(&b);
    if (rc == K23_OK)
        rc = pool_build_plan(cfg, &b);
    if (rc != K23_OK)
        return rc; /* nothing reserved yet */
    rc = pool_build_reserve(&b);
    k23_instance_pool_t *pool = NULL;
    if (rc == K23_OK) {
        pool = pool_build_layout(cfg, &b);
        rc = pool_build_memories(cfg, pool);
    }
    if (rc != K23_OK) {
        pool_build_undo(&b);
        return rc;
    }
    *pool_out = pool;
    out->ops = &pool_ops;
    out->ctx = pool;
    return K23_OK;
}

static size_t pool_slab_used(struct pool_slab *s)
{
    k23_port_lock_acquire(&s->lock);
    size_t used = s->count - s->nfree;
    k23_port_lock_release(&s->lock);
    return used;
}

int k23_instance_pool_destroy(k23_instance_pool_t *pool)
{
    if (pool == NULL)
        return K23_OK;
    if (pool_slab_used(&pool->inst) != 0 || pool_slab_used(&pool->tab) != 0 ||
        (pool->mem != NULL && !k23_mempool_is_empty(pool->mem)))
        return K23_ERR_BUSY;
    if (pool->mem != NULL) {
        int rc = k23_mempool_destroy(pool->mem);
        if (rc != K23_OK)
            return rc;
    }
    pool_release(pool->tab.base, pool->tab.reserved);
    pool_release(pool->inst.base, pool->inst.reserved);
    pool_release(pool->meta, pool->meta_size); /* pool itself goes last */
    return K23_OK;
}

/* ---- introspection ---- */

void k23_instance_pool_stats(k23_instance_pool_t *pool,
                             k23_instance_pool_stats_t *out)
{
    K23_REQUIRE(pool != NULL, "k23_instance_pool_stats");
    K23_REQUIRE(out != NULL, "k23_instance_pool_stats");
    k23_memzero_(out, sizeof(*out));
    out->instances = pool_slab_used(&pool->inst);
    out->tables = pool_slab_used(&pool->tab);
    k23_port_lock_acquire(&pool->inst.lock);
    out->peak_instances = pool->inst.peak;
    k23_port_lock_release(&pool->inst.lock);
    out->reserved_bytes =
        pool->meta_size + pool->inst.reserved + pool->tab.reserved;
    if (pool->mem != NULL) {
        k23_mempool_stats_t ms;
        k23_mempool_stats(pool->mem, &ms);
        out->memories = ms.slots_in_use;
        out->reserved_bytes +=
            (size_t)k23_mempool_layout(pool->mem)->total_slab_bytes;
    }
    out->total_full = __atomic_load_n(&pool->total_full, __ATOMIC_RELAXED);
}

static int pool_slab_check(struct pool_slab *s, const char *name)
{
    int rc = K23_OK;
    k23_port_lock_acquire(&s->lock);
    size_t used = 0;
    for (uint32_t i = 0; i < s->count; i++)
        used += s->in_use[i] != 0;
    if (used + s->nfree != s->count) {
        rc = K23_ERR_CORRUPT;
        k23_log_u64_(K23_LOG_ERROR, name, used,
                     " slots in use plus free slots != slot count");
    }
    /* Mark free entries with 2 to catch an index listed twice. */
    uint32_t marked = 0;
    for (; rc == K23_OK && marked < s->nfree; marked++) {
        uint32_t i = s->free[marked];
        if (i >= s->count || s->in_use[i] != 0) {
            rc = K23_ERR_CORRUPT;
            k23_log_u64_(K23_LOG_ERROR, name, i,
                         ": free slot out of range, in use or listed twice");
            break;
        }
        s->in_use[i] = 2;
        if (s->resident != NULL && s->resident[i] > s->slot_bytes) {
            rc = K23_ERR_CORRUPT;
            k23_log_u64_(K23_LOG_ERROR, name, i,
                         ": resident bytes exceed the slot");
        }
    }
    for (uint32_t j = 0; j < marked && j < s->nfree; j++)
        if (s->free[j] < s->count)
            s->in_use[s->free[j]] = 0;
    k23_port_lock_release(&s->lock);
    return rc;
}

int k23_instance_pool_check(k23_instance_pool_t *pool)
{
    if (pool == NULL)
        return K23_ERR_INVAL;
    int rc = pool_slab_check(&pool->inst, "instance pool: instance slab ");
    if (rc == K23_OK)
        rc = pool_slab_check(&pool->tab, "instance pool: table slab ");
    if (rc == K23_OK && pool->mem != NULL)
        rc = k23_mempool_check(pool->mem);
    return rc;
}
