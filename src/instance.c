/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Instance allocators: the wrappers and batch helpers that call through a
 * k23_instance_allocator_ops_t, the memory and table operations shared by
 * every implementation and the on-demand implementation over the port's VM
 * hooks. (The fault-injecting wrapper the tests use is test support:
 * tests/support/instance_faulty.h.)
 *
 * Why the memory and table arrays live in the instance block: the core has
 * no heap, and the block is the one allocation whose lifetime is exactly
 * the instance's. k23_instance_allocate_module() therefore asks for the
 * block first (the k23 kernel asks for it last); the rollback covers any order.
 */
#include "instance_internal.h"
#include "k23mem/perm.h"

/* Linear memories and tables are always mapped READ|WRITE: W^X holds by
 * construction, so no caller-supplied permissions reach the port. */
#define INSTANCE_RW (K23_PERM_READ | K23_PERM_WRITE)

/* ---- host page size ---- */

static size_t instance_page_cache;
static size_t instance_gran_cache;

static void instance_host(size_t *page, size_t *gran)
{
    size_t p = __atomic_load_n(&instance_page_cache, __ATOMIC_RELAXED);
    size_t g = __atomic_load_n(&instance_gran_cache, __ATOMIC_RELAXED);
    if (K23_UNLIKELY(p == 0 || g == 0)) {
        k23_port_caps_t caps;
        k23_port_caps(&caps);
        p = caps.page_size;
        g = caps.alloc_granularity < p ? p : caps.alloc_granularity;
        __atomic_store_n(&instance_page_cache, p, __ATOMIC_RELAXED);
        __atomic_store_n(&instance_gran_cache, g, __ATOMIC_RELAXED);
    }
    *page = p;
    if (gran != NULL)
        *gran = g;
}

size_t k23_instance_host_page_(void)
{
    size_t p;
    instance_host(&p, NULL);
    return p;
}

/* Round up to a power of two; false on overflow of 64 bits. */
static bool instance_round_up(uint64_t x, uint64_t align, uint64_t *out)
{
    uint64_t t;
    if (k23_add_overflow_(x, align - 1, &t))
        return false;
    *out = t & ~(align - 1);
    return true;
}

static size_t instance_round_up_size(size_t x, size_t align)
{
    /* Callers pass x <= a capacity that is already a multiple of align. */
    return (x + align - 1) & ~(align - 1);
}

/* ---- descriptors ---- */

int k23_memory_desc_check(const k23_memory_desc_t *d)
{
    if (d == NULL || d->page_size_log2 > K23_INSTANCE_PAGE_LOG2_MAX)
        return K23_ERR_INVAL;
    uint64_t mask = (UINT64_C(1) << d->page_size_log2) - 1;
    if ((d->min_bytes & mask) != 0)
        return K23_ERR_INVAL;
    if (d->has_max && ((d->max_bytes & mask) != 0 ||
                       d->max_bytes < d->min_bytes))
        return K23_ERR_INVAL;
    if (d->shared && !d->has_max)
        return K23_ERR_INVAL;
    return K23_OK;
}

int k23_table_desc_check(const k23_table_desc_t *d)
{
    if (d == NULL || d->element_size == 0)
        return K23_ERR_INVAL;
    if (d->has_max && d->max_elements < d->min_elements)
        return K23_ERR_INVAL;
    return K23_OK;
}

static int instance_shape_check(const k23_instance_shape_t *s)
{
    if (s == NULL || s->size == 0 || s->align_log2 > 12)
        return K23_ERR_INVAL;
    return K23_OK;
}

void k23_instance_shape_panic_(const void *block,
                               const k23_instance_shape_t *given,
                               uint64_t size, unsigned align_log2)
{
    char buf[240];
    size_t pos = 0;
    buf[0] = '\0';
    k23_str_append_(buf, sizeof(buf), &pos,
                    "instance: deallocate_instance of block ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, (uintptr_t)block, 16);
    k23_str_append_(buf, sizeof(buf), &pos, " with shape size ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, given->size, 10);
    k23_str_append_(buf, sizeof(buf), &pos, " align_log2 ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, given->align_log2, 10);
    k23_str_append_(buf, sizeof(buf), &pos,
                    ", but it was allocated with size ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, size, 10);
    if (align_log2 != UINT_MAX) {
        k23_str_append_(buf, sizeof(buf), &pos, " align_log2 ");
        k23_str_append_u64_(buf, sizeof(buf), &pos, align_log2, 10);
    }
    K23_PANIC(buf);
}

int k23_module_desc_check(const k23_module_desc_t *m)
{
    if (m == NULL || instance_shape_check(&m->shape) != K23_OK)
        return K23_ERR_INVAL;
    if ((m->num_memories != 0 && m->memories == NULL) ||
        (m->num_tables != 0 && m->tables == NULL))
        return K23_ERR_INVAL;
    for (uint32_t i = 0; i < m->num_memories; i++)
        if (k23_memory_desc_check(&m->memories[i]) != K23_OK)
            return K23_ERR_INVAL;
    for (uint32_t i = 0; i < m->num_tables; i++)
        if (k23_table_desc_check(&m->tables[i]) != K23_OK)
            return K23_ERR_INVAL;
    return K23_OK;
}

static unsigned instance_log2(size_t x)
{
    unsigned l = 0;
    while (((size_t)1 << l) < x)
        l++;
    return l;
}

/* Layout of an instance block: context, then memories, then tables. */
struct instance_layout {
    size_t mem_off;
    size_t table_off;
    size_t size;
    uint8_t align_log2;
};

static int instance_layout_of(size_t ctx_size, uint8_t ctx_align_log2,
                              uint32_t nmem, uint32_t ntab,
                              struct instance_layout *l)
{
    const size_t ma = _Alignof(k23_memory_t), ta = _Alignof(k23_table_t);
    size_t off, bytes;
    if (k23_add_overflow_(ctx_size, ma - 1, &off))
        return K23_ERR_OVERFLOW;
    off &= ~(ma - 1);
    l->mem_off = off;
    if (k23_mul_overflow_((size_t)nmem, sizeof(k23_memory_t), &bytes) ||
        k23_add_overflow_(off, bytes, &off) ||
        k23_add_overflow_(off, ta - 1, &off))
        return K23_ERR_OVERFLOW;
    off &= ~(ta - 1);
    l->table_off = off;
    if (k23_mul_overflow_((size_t)ntab, sizeof(k23_table_t), &bytes) ||
        k23_add_overflow_(off, bytes, &off))
        return K23_ERR_OVERFLOW;
    l->size = off;
    unsigned a = ctx_align_log2;
    if (instance_log2(ma) > a)
        a = instance_log2(ma);
    if (instance_log2(ta) > a)
        a = instance_log2(ta);
    l->align_log2 = (uint8_t)a;
    return K23_OK;
}

static int instance_layout(const k23_module_desc_t *m,
                           struct instance_layout *l)
{
    return instance_layout_of(m->shape.size, m->shape.align_log2,
                              m->num_memories, m->num_tables, l);
}

int k23_instance_block_size_(size_t ctx_size, uint8_t ctx_align_log2,
                             uint32_t nmem, uint32_t ntab,
                             k23_instance_shape_t *out)
{
    struct instance_layout l;
    int rc = instance_layout_of(ctx_size, ctx_align_log2, nmem, ntab, &l);
    if (rc == K23_OK) {
        out->size = l.size;
        out->align_log2 = l.align_log2;
    }
    return rc;
}

int k23_instance_block_shape(const k23_module_desc_t *m,
                             k23_instance_shape_t *out)
{
    struct instance_layout l;
    if (out == NULL || k23_module_desc_check(m) != K23_OK)
        return K23_ERR_INVAL;
    int rc = instance_layout(m, &l);
    if (rc != K23_OK)
        return rc;
    out->size = l.size;
    out->align_log2 = l.align_log2;
    return K23_OK;
}

/* ---- single calls through the table ---- */

static bool instance_ops_ok(const k23_instance_allocator_t *a)
{
    const k23_instance_allocator_ops_t *o;
    if (a == NULL || (o = a->ops) == NULL)
        return false;
    return o->allocate_instance != NULL && o->deallocate_instance != NULL &&
           o->allocate_memory != NULL && o->deallocate_memory != NULL &&
           o->allocate_table != NULL && o->deallocate_table != NULL;
}

int k23_instance_allocate_instance(const k23_instance_allocator_t *a,
                                   const k23_instance_shape_t *shape,
                                   void **out)
{
    if (!instance_ops_ok(a) || out == NULL ||
        instance_shape_check(shape) != K23_OK)
        return K23_ERR_INVAL;
    void *p = NULL;
    int rc = a->ops->allocate_instance(a->ctx, shape, &p);
    if (rc == K23_OK)
        *out = p;
    return rc;
}

void k23_instance_deallocate_instance(const k23_instance_allocator_t *a,
                                      void *instance,
                                      const k23_instance_shape_t *shape)
{
    K23_REQUIRE(instance_ops_ok(a), "k23_instance_deallocate_instance");
    K23_REQUIRE(instance != NULL, "k23_instance_deallocate_instance");
    K23_REQUIRE(instance_shape_check(shape) == K23_OK,
                "k23_instance_deallocate_instance");
    a->ops->deallocate_instance(a->ctx, instance, shape);
}

int k23_instance_allocate_memory(const k23_instance_allocator_t *a,
                                 const k23_memory_desc_t *desc, uint32_t index,
                                 k23_memory_t *out)
{
    if (!instance_ops_ok(a) || out == NULL ||
        k23_memory_desc_check(desc) != K23_OK)
        return K23_ERR_INVAL;
    k23_memory_t mem;
    int rc = a->ops->allocate_memory(a->ctx, desc, index, &mem);
    if (rc == K23_OK) {
        K23_ASSERT_INTERNAL(mem.live);
        K23_ASSERT_INTERNAL_OK(k23_memory_check(&mem));
        *out = mem;
    }
    return rc;
}

void k23_instance_deallocate_memory(const k23_instance_allocator_t *a,
                                    uint32_t index, k23_memory_t *mem)
{
    K23_REQUIRE(instance_ops_ok(a), "k23_instance_deallocate_memory");
    K23_REQUIRE(mem != NULL, "k23_instance_deallocate_memory");
    if (!mem->live)
        K23_PANIC_ADDR("instance: memory deallocated twice or never "
                       "allocated, base", (uintptr_t)mem->base);
    a->ops->deallocate_memory(a->ctx, index, mem);
    K23_ASSERT_INTERNAL(!mem->live);
}

int k23_instance_allocate_table(const k23_instance_allocator_t *a,
                                const k23_table_desc_t *desc, uint32_t index,
                                k23_table_t *out)
{
    if (!instance_ops_ok(a) || out == NULL ||
        k23_table_desc_check(desc) != K23_OK)
        return K23_ERR_INVAL;
    k23_table_t t;
    int rc = a->ops->allocate_table(a->ctx, desc, index, &t);
    if (rc == K23_OK) {
        K23_ASSERT_INTERNAL(t.live);
        K23_ASSERT_INTERNAL_OK(k23_table_check(&t));
        *out = t;
    }
    return rc;
}

void k23_instance_deallocate_table(const k23_instance_allocator_t *a,
                                   uint32_t index, k23_table_t *table)
{
    K23_REQUIRE(instance_ops_ok(a), "k23_instance_deallocate_table");
    K23_REQUIRE(table != NULL, "k23_instance_deallocate_table");
    if (!table->live)
        K23_PANIC_ADDR("instance: table deallocated twice or never "
                       "allocated, elements", (uintptr_t)table->elements);
    a->ops->deallocate_table(a->ctx, index, table);
    K23_ASSERT_INTERNAL(!table->live);
}

/* ---- batch helpers ---- */

void k23_instance_deallocate_memories(const k23_instance_allocator_t *a,
                                      k23_memory_t *mems, uint32_t n)
{
    K23_REQUIRE(instance_ops_ok(a), "k23_instance_deallocate_memories");
    K23_REQUIRE(mems != NULL || n == 0, "k23_instance_deallocate_memories");
    /* Deallocation cannot fail, so one bad entry cannot strand the rest. */
    for (uint32_t i = 0; i < n; i++)
        k23_instance_deallocate_memory(a, i, &mems[i]);
}

void k23_instance_deallocate_tables(const k23_instance_allocator_t *a,
                                    k23_table_t *tables, uint32_t n)
{
    K23_REQUIRE(instance_ops_ok(a), "k23_instance_deallocate_tables");
    K23_REQUIRE(tables != NULL || n == 0, "k23_instance_deallocate_tables");
    for (uint32_t i = 0; i < n; i++)
        k23_instance_deallocate_table(a, i, &tables[i]);
}

static int instance_alloc_memories(const k23_instance_allocator_t *a,
                                   const k23_module_desc_t *m,
                                   k23_memory_t *out)
{
    for (uint32_t i = 0; i < m->num_memories; i++) {
        int rc = k23_instance_allocate_memory(a, &m->memories[i], i, &out[i]);
        if (rc != K23_OK) {
            k23_instance_deallocate_memories(a, out, i);
            return rc;
        }
    }
    return K23_OK;
}

static int instance_alloc_tables(const k23_instance_allocator_t *a,
                                 const k23_module_desc_t *m, k23_table_t *out)
{
    for (uint32_t i = 0; i < m->num_tables; i++) {
        int rc = k23_instance_allocate_table(a, &m->tables[i], i, &out[i]);
        if (rc != K23_OK) {
            k23_instance_deallocate_tables(a, out, i);
            return rc;
        }
    }
    return K23_OK;
}

int k23_instance_allocate_memories(const k23_instance_allocator_t *a,
                                   const k23_module_desc_t *m,
                                   k23_memory_t *out)
{
    if (!instance_ops_ok(a) || k23_module_desc_check(m) != K23_OK ||
        (out == NULL && m->num_memories != 0))
        return K23_ERR_INVAL;
    return instance_alloc_memories(a, m, out);
}

int k23_instance_allocate_tables(const k23_instance_allocator_t *a,
                                 const k23_module_desc_t *m,
                                 k23_table_t *out)
{
    if (!instance_ops_ok(a) || k23_module_desc_check(m) != K23_OK ||
        (out == NULL && m->num_tables != 0))
        return K23_ERR_INVAL;
    return instance_alloc_tables(a, m, out);
}

int k23_instance_validate_module(const k23_instance_allocator_t *a,
                                 const k23_module_desc_t *m)
{
    if (!instance_ops_ok(a) || k23_module_desc_check(m) != K23_OK)
        return K23_ERR_INVAL;
    if (a->ops->validate_module == NULL)
        return K23_OK;
    return a->ops->validate_module(a->ctx, m);
}

int k23_instance_allocate_module(const k23_instance_allocator_t *a,
                                 const k23_module_desc_t *m,
                                 k23_instance_handle_t *out)
{
    struct instance_layout l;
    if (!instance_ops_ok(a) || out == NULL ||
        k23_module_desc_check(m) != K23_OK)
        return K23_ERR_INVAL;
    int rc = instance_layout(m, &l);
    if (rc != K23_OK)
        return rc;
    if (a->ops->validate_module != NULL) {
        rc = a->ops->validate_module(a->ctx, m);
        if (rc != K23_OK)
            return rc;
    }
    k23_instance_shape_t bs = {.size = l.size, .align_log2 = l.align_log2};
    void *block = NULL;
    rc = a->ops->allocate_instance(a->ctx, &bs, &block);
    if (rc != K23_OK)
        return rc;
    K23_ASSERT_INTERNAL(block != NULL);
    K23_ASSERT_INTERNAL_FOUND(
        ((uintptr_t)block & ((1u << bs.align_log2) - 1)) == 0,
        (uintptr_t)block);
    k23_memory_t *mems = (k23_memory_t *)((uint8_t *)block + l.mem_off);
    k23_table_t *tables = (k23_table_t *)((uint8_t *)block + l.table_off);
    rc = instance_alloc_memories(a, m, mems);
    if (rc != K23_OK)
        goto fail_block;
    rc = instance_alloc_tables(a, m, tables);
    if (rc != K23_OK)
        goto fail_memories;
    out->context = block;
    out->memories = m->num_memories != 0 ? mems : NULL;
    out->tables = m->num_tables != 0 ? tables : NULL;
    out->num_memories = m->num_memories;
    out->num_tables = m->num_tables;
    out->block_shape = bs;
    return K23_OK;

fail_memories:
    k23_instance_deallocate_memories(a, mems, m->num_memories);
fail_block:
    a->ops->deallocate_instance(a->ctx, block, &bs);
    return rc;
}

void k23_instance_deallocate_module(const k23_instance_allocator_t *a,
                                    k23_instance_handle_t *h)
{
    K23_REQUIRE(instance_ops_ok(a), "k23_instance_deallocate_module");
    K23_REQUIRE(h != NULL, "k23_instance_deallocate_module");
    if (h->context == NULL)
        K23_PANIC("instance: deallocate_module of a cleared handle "
                  "(deallocated twice?)");
    k23_instance_deallocate_memories(a, h->memories, h->num_memories);
    k23_instance_deallocate_tables(a, h->tables, h->num_tables);
    a->ops->deallocate_instance(a->ctx, h->context, &h->block_shape);
    k23_memzero_(h, sizeof(*h));
}

/* ---- memory and table operations ---- */

/* Make [from, to) of a reservation accessible. Bytes committed for the
 * first time or after a decommit read as zero (port contract). */
int k23_instance_commit_(uint8_t *base, size_t from, size_t to)
{
    if (to <= from)
        return K23_OK;
    return k23_port_vm_commit(base + from, to - from, INSTANCE_RW);
}

void *k23_memory_base(const k23_memory_t *mem)
{
    K23_REQUIRE(mem != NULL, "k23_memory_base");
    return mem->base;
}

size_t k23_memory_size(const k23_memory_t *mem)
{
    K23_REQUIRE(mem != NULL, "k23_memory_size");
    return mem->size;
}

int k23_memory_grow(k23_memory_t *mem, uint64_t delta_pages,
                    uint64_t *old_pages)
{
    /* The page-size and size checks keep the shift and the page count
     * below defined for a memory whose fields were overwritten. */
    if (mem == NULL || old_pages == NULL || !mem->live ||
        mem->page_size_log2 > K23_INSTANCE_PAGE_LOG2_MAX ||
        mem->size > mem->max_size)
        return K23_ERR_INVAL;
    unsigned lg = mem->page_size_log2;
    uint64_t old = (uint64_t)mem->size >> lg;
    if (delta_pages == 0) {
        *old_pages = old;
        return K23_OK;
    }
    /* delta_pages << lg must not lose bits; compare in pages first. */
    uint64_t max_pages = (uint64_t)mem->max_size >> lg;
    if (delta_pages > max_pages - old)
        return K23_ERR_GROW;
    size_t new_size = (size_t)((old + delta_pages) << lg);
    size_t page = k23_instance_host_page_();
    size_t new_committed = instance_round_up_size(new_size, page);
    K23_ASSERT_INTERNAL_FOUND(new_committed <= mem->capacity, new_committed);
    int rc = K23_OK;
    if (new_committed > mem->committed)
        rc = mem->commit != NULL
                 ? mem->commit(mem->commit_ctx, mem, new_committed)
                 : k23_instance_commit_(mem->base, mem->committed,
                                        new_committed);
    if (rc != K23_OK)
        return rc;
    /* The tail of the last committed host page, between the old size and
     * the old commit end, was reachable through base: clear it so that
     * every new byte reads zero (only matters with small pages). */
    size_t tail_end = mem->committed < new_size ? mem->committed : new_size;
    if (tail_end > mem->size)
        k23_memzero_(mem->base + mem->size, tail_end - mem->size);
    if (new_committed > mem->committed)
        mem->committed = new_committed;
    mem->size = new_size;
    *old_pages = old;
    K23_ASSERT_INTERNAL_OK(k23_memory_check(mem));
    return K23_OK;
}

int k23_table_grow(k23_table_t *t, uint64_t delta, uint64_t *old_size)
{
    if (t == NULL || old_size == NULL || !t->live || t->element_size == 0 ||
        t->size > t->max_size)
        return K23_ERR_INVAL;
    uint64_t old = t->size;
    if (delta > t->max_size - old)
        return K23_ERR_GROW;
    if (delta == 0) {
        *old_size = old;
        return K23_OK;
    }
    /* (old + delta) * element_size <= capacity bytes: fits a size_t. */
    size_t old_bytes = (size_t)old * t->element_size;
    size_t new_bytes = (size_t)(old + delta) * t->element_size;
    size_t new_committed =
        instance_round_up_size(new_bytes, k23_instance_host_page_());
    int rc = k23_instance_commit_(t->elements, t->committed, new_committed);
    if (rc != K23_OK)
        return rc;
    size_t tail_end = t->committed < new_bytes ? t->committed : new_bytes;
    if (tail_end > old_bytes)
        k23_memzero_(t->elements + old_bytes, tail_end - old_bytes);
    if (new_committed > t->committed)
        t->committed = new_committed;
    t->size = old + delta;
    *old_size = old;
    K23_ASSERT_INTERNAL_OK(k23_table_check(t));
    return K23_OK;
}

static int instance_corrupt(const char *what, const void *addr)
{
    char buf[128];
    size_t pos = 0;
    k23_str_append_(buf, sizeof buf, &pos, "instance: ");
    k23_str_append_(buf, sizeof buf, &pos, what);
    k23_str_append_(buf, sizeof buf, &pos, " at ");
    k23_str_append_u64_(buf, sizeof buf, &pos, (uintptr_t)addr, 16);
    k23_port_log(K23_LOG_ERROR, buf);
    return K23_ERR_CORRUPT;
}

int k23_memory_check(const k23_memory_t *m)
{
    if (m == NULL)
        return K23_ERR_INVAL;
    size_t page = k23_instance_host_page_();
    /* Before the mask: a shift by 31..255 would be undefined. */
    if (m->page_size_log2 > K23_INSTANCE_PAGE_LOG2_MAX)
        return instance_corrupt("memory page size too large", m->base);
    size_t mask = ((size_t)1 << m->page_size_log2) - 1;
    if (m->size > m->max_size || m->max_size > m->capacity)
        return instance_corrupt("memory size > max_size > capacity",
                                m->base);
    if ((m->size & mask) != 0 || (m->max_size & mask) != 0)
        return instance_corrupt("memory size not a page multiple", m->base);
    if ((m->capacity & (page - 1)) != 0 ||
        m->committed != instance_round_up_size(m->size, page))
        return instance_corrupt("memory commit not size rounded to host "
                                "pages", m->base);
    if (m->base == NULL && (m->capacity != 0 || m->guard_bytes != 0))
        return instance_corrupt("memory without base has capacity", m->base);
    return K23_OK;
}

int k23_table_check(const k23_table_t *t)
{
    if (t == NULL)
        return K23_ERR_INVAL;
    size_t page = k23_instance_host_page_();
    if (t->element_size == 0)
        return instance_corrupt("table element size 0", t->elements);
    if (t->size > t->max_size || t->max_size > t->capacity)
        return instance_corrupt("table size > max_size > capacity",
                                t->elements);
    uint64_t bytes;
    if (k23_mul_overflow_(t->capacity, (uint64_t)t->element_size, &bytes) ||
        bytes > SIZE_MAX)
        return instance_corrupt("table capacity overflows", t->elements);
    if (t->committed !=
        instance_round_up_size((size_t)t->size * t->element_size, page))
        return instance_corrupt("table commit not size rounded to host "
                                "pages", t->elements);
    if (t->elements == NULL && t->capacity != 0)
        return instance_corrupt("table without elements has capacity",
                                t->elements);
    return K23_OK;
}

/* ---- on-demand implementation ---- */

static void ondemand_count(k23_ondemand_t *od, size_t *field, size_t bytes)
{
    __atomic_add_fetch(field, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&od->stats.total_allocs, 1, __ATOMIC_RELAXED);
    size_t now = __atomic_add_fetch(&od->stats.reserved_bytes, bytes,
                                    __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&od->stats.peak_reserved, __ATOMIC_RELAXED);
    while (now > peak &&
           !__atomic_compare_exchange_n(&od->stats.peak_reserved, &peak, now,
                                        true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
}

static void ondemand_uncount(k23_ondemand_t *od, size_t *field, size_t bytes)
{
    __atomic_sub_fetch(field, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&od->stats.reserved_bytes, bytes, __ATOMIC_RELAXED);
}

/* Reserve @p size bytes and commit the first @p commit of them. Large
 * reservations ask for 2 MiB alignment (as the k23 kernel does) so the host may
 * back them with huge pages; the hosted port can always honour it, and a
 * port whose granularity is larger uses that. */
static int ondemand_reserve(const k23_ondemand_t *od, size_t size,
                            size_t align, size_t commit, void **out)
{
    if (align < od->granularity)
        align = od->granularity;
    if (size >= K23_INSTANCE_HUGE_ALIGN && align < K23_INSTANCE_HUGE_ALIGN)
        align = K23_INSTANCE_HUGE_ALIGN;
    void *p;
    int rc = k23_port_vm_reserve(size, align, &p);
    if (rc != K23_OK)
        return rc;
    rc = k23_instance_commit_(p, 0, commit);
    if (rc != K23_OK) {
        int rc2 = k23_port_vm_release(p, size);
        K23_ASSERT_FOUND(rc2 == K23_OK, rc2);
        K23_UNUSED(rc2);
        return rc;
    }
    *out = p;
    return K23_OK;
}

static void ondemand_release(void *p, size_t size)
{
    int rc = k23_port_vm_release(p, size);
    if (rc != K23_OK)
        K23_PANIC_ADDR("instance: port refused to release reservation",
                       (uintptr_t)p);
}

/*
 * Each on-demand instance block is preceded by a record of the shape it
 * was allocated with, so that a free with another shape is caught instead
 * of releasing the wrong number of pages (a larger shape would unmap the
 * live neighbour). The record is the 16 bytes right before the block; the
 * block starts at max(16, alignment) into the reservation, so the record
 * costs 16 bytes, or one page when the alignment is a whole page.
 */
struct ondemand_block_rec {
    uint64_t size;       /* shape size, bytes */
    uint32_t align_log2; /* shape alignment */
    uint32_t magic;      /* ONDEMAND_BLOCK_MAGIC while the block is live */
};
#define ONDEMAND_BLOCK_MAGIC 0x6b323362u /* "k23b" */

static size_t ondemand_block_offset(unsigned align_log2)
{
    size_t align = (size_t)1 << align_log2;
    return align > sizeof(struct ondemand_block_rec)
               ? align
               : sizeof(struct ondemand_block_rec);
}

static struct ondemand_block_rec *ondemand_block_rec(void *instance)
{
    return (struct ondemand_block_rec *)(void *)((uint8_t *)instance -
                                                 sizeof(struct ondemand_block_rec));
}

static int ondemand_allocate_instance(void *ctx,
                                      const k23_instance_shape_t *shape,
                                      void **out)
{
    k23_ondemand_t *od = ctx;
    if (instance_shape_check(shape) != K23_OK)
        return K23_ERR_INVAL;
    size_t off = ondemand_block_offset(shape->align_log2);
    uint64_t size;
    if (shape->size > SIZE_MAX - off ||
        !instance_round_up(shape->size + off, od->page_size, &size) ||
        size > SIZE_MAX)
        return K23_ERR_OVERFLOW;
    void *p;
    int rc = ondemand_reserve(od, (size_t)size, (size_t)1 << shape->align_log2,
                              (size_t)size, &p);
    if (rc != K23_OK)
        return rc;
    void *block = (uint8_t *)p + off;
    struct ondemand_block_rec *rec = ondemand_block_rec(block);
    rec->size = shape->size;
    rec->align_log2 = shape->align_log2;
    rec->magic = ONDEMAND_BLOCK_MAGIC;
    ondemand_count(od, &od->stats.instances, (size_t)size);
    *out = block;
    return K23_OK;
}

static void ondemand_deallocate_instance(void *ctx, void *instance,
                                         const k23_instance_shape_t *shape)
{
    k23_ondemand_t *od = ctx;
    struct ondemand_block_rec *rec = ondemand_block_rec(instance);
    if (rec->magic != ONDEMAND_BLOCK_MAGIC)
        K23_PANIC_ADDR("instance: deallocate_instance of a block this "
                       "on-demand allocator did not hand out:",
                       (uintptr_t)instance);
    if (rec->size != shape->size || rec->align_log2 != shape->align_log2)
        k23_instance_shape_panic_(instance, shape, rec->size,
                                  rec->align_log2);
    size_t off = ondemand_block_offset(rec->align_log2);
    size_t size = instance_round_up_size((size_t)rec->size + off,
                                         od->page_size);
    rec->magic = 0;
    ondemand_release((uint8_t *)instance - off, size);
    ondemand_uncount(od, &od->stats.instances, size);
}

static int ondemand_allocate_memory(void *ctx, const k23_memory_desc_t *d,
                                    uint32_t index, k23_memory_t *out)
{
    k23_ondemand_t *od = ctx;
    K23_UNUSED(index);
    if (k23_memory_desc_check(d) != K23_OK)
        return K23_ERR_INVAL;
    const uint64_t page = od->page_size;
    /* The reservation covers the declared maximum, clamped to the bound
     * (the k23 kernel's MEMORY_MAX), rounded up to host pages. */
    uint64_t alloc = od->config.memory_bound;
    if (d->has_max && d->max_bytes < alloc)
        alloc = d->max_bytes;
    if (d->min_bytes > alloc)
        return K23_ERR_LIMIT;
    uint64_t capacity, guard, request;
    if (!instance_round_up(alloc, page, &capacity) ||
        !instance_round_up(d->offset_guard_bytes, page, &guard) ||
        k23_add_overflow_(capacity, guard, &request) || request > SIZE_MAX)
        return K23_ERR_LIMIT;
    uint64_t max = d->has_max ? d->max_bytes : UINT64_MAX;
    if (max > capacity)
        max = capacity & ~((UINT64_C(1) << d->page_size_log2) - 1);
    size_t committed = instance_round_up_size((size_t)d->min_bytes,
                                              (size_t)page);
    void *p = NULL;
    if (request != 0) {
        int rc = ondemand_reserve(od, (size_t)request, 0, committed, &p);
        if (rc != K23_OK)
            return rc;
    }
    ondemand_count(od, &od->stats.memories, (size_t)request);
    out->base = p;
    out->size = (size_t)d->min_bytes;
    out->max_size = (size_t)max;
    out->capacity = (size_t)capacity;
    out->committed = committed;
    out->guard_bytes = (size_t)guard;
    out->page_size_log2 = d->page_size_log2;
    out->shared = d->shared;
    out->live = true;
    out->slot = K23_INSTANCE_NO_SLOT;
    out->stripe = 0;
    out->mapping = p;
    out->mapping_size = (size_t)request;
    out->commit = NULL;
    out->commit_ctx = NULL;
    return K23_OK;
}

static void ondemand_deallocate_memory(void *ctx, uint32_t index,
                                       k23_memory_t *mem)
{
    k23_ondemand_t *od = ctx;
    K23_UNUSED(index);
    if (!mem->live)
        K23_PANIC_ADDR("instance: on-demand memory freed twice, base",
                       (uintptr_t)mem->base);
    if (mem->mapping != NULL)
        ondemand_release(mem->mapping, mem->mapping_size);
    ondemand_uncount(od, &od->stats.memories, mem->mapping_size);
    mem->live = false;
    mem->mapping = NULL;
}

static int ondemand_allocate_table(void *ctx, const k23_table_desc_t *d,
                                   uint32_t index, k23_table_t *out)
{
    k23_ondemand_t *od = ctx;
    K23_UNUSED(index);
    if (k23_table_desc_check(d) != K23_OK)
        return K23_ERR_INVAL;
    uint64_t elems = od->config.table_bound;
    if (d->has_max && d->max_elements < elems)
        elems = d->max_elements;
    if (d->min_elements > elems)
        return K23_ERR_LIMIT;
    uint64_t bytes, reserve;
    if (k23_mul_overflow_(elems, (uint64_t)d->element_size, &bytes) ||
        !instance_round_up(bytes, od->page_size, &reserve) ||
        reserve > SIZE_MAX)
        return K23_ERR_LIMIT;
    /* min_elements <= elems, so this product fits as bytes did. */
    size_t committed = instance_round_up_size(
        (size_t)(d->min_elements * d->element_size), od->page_size);
    void *p = NULL;
    if (reserve != 0) {
        /* Committed memory reads as zero: the minimum starts null. */
        int rc = ondemand_reserve(od, (size_t)reserve, 0, committed, &p);
        if (rc != K23_OK)
            return rc;
    }
    ondemand_count(od, &od->stats.tables, (size_t)reserve);
    out->elements = p;
    out->size = d->min_elements;
    out->max_size = elems;
    out->capacity = elems;
    out->committed = committed;
    out->element_size = d->element_size;
    out->live = true;
    out->slot = K23_INSTANCE_NO_SLOT;
    out->mapping = p;
    out->mapping_size = (size_t)reserve;
    return K23_OK;
}

static void ondemand_deallocate_table(void *ctx, uint32_t index,
                                      k23_table_t *t)
{
    k23_ondemand_t *od = ctx;
    K23_UNUSED(index);
    if (!t->live)
        K23_PANIC_ADDR("instance: on-demand table freed twice, elements",
                       (uintptr_t)t->elements);
    if (t->mapping != NULL)
        ondemand_release(t->mapping, t->mapping_size);
    ondemand_uncount(od, &od->stats.tables, t->mapping_size);
    t->live = false;
    t->mapping = NULL;
}

static const k23_instance_allocator_ops_t ondemand_ops = {
    .allocate_instance = ondemand_allocate_instance,
    .deallocate_instance = ondemand_deallocate_instance,
    .allocate_memory = ondemand_allocate_memory,
    .deallocate_memory = ondemand_deallocate_memory,
    .allocate_table = ondemand_allocate_table,
    .deallocate_table = ondemand_deallocate_table,
};

int k23_ondemand_init(k23_ondemand_t *od, const k23_ondemand_config_t *cfg,
                      k23_instance_allocator_t *out)
{
    if (od == NULL || out == NULL)
        return K23_ERR_INVAL;
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    if (!caps.has_vm)
        return K23_ERR_UNSUPPORTED;
    k23_memzero_(od, sizeof(*od));
    instance_host(&od->page_size, &od->granularity);
    od->config.memory_bound = cfg != NULL && cfg->memory_bound != 0
                                  ? cfg->memory_bound
                                  : K23_ONDEMAND_MEMORY_BOUND_DEFAULT;
    od->config.table_bound = cfg != NULL && cfg->table_bound != 0
                                 ? cfg->table_bound
                                 : K23_ONDEMAND_TABLE_BOUND_DEFAULT;
    out->ops = &ondemand_ops;
    out->ctx = od;
    return K23_OK;
}

void k23_ondemand_stats(const k23_ondemand_t *od, k23_ondemand_stats_t *out)
{
    K23_REQUIRE(od != NULL, "k23_ondemand_stats");
    K23_REQUIRE(out != NULL, "k23_ondemand_stats");
    out->instances = __atomic_load_n(&od->stats.instances, __ATOMIC_RELAXED);
    out->memories = __atomic_load_n(&od->stats.memories, __ATOMIC_RELAXED);
    out->tables = __atomic_load_n(&od->stats.tables, __ATOMIC_RELAXED);
    out->reserved_bytes =
        __atomic_load_n(&od->stats.reserved_bytes, __ATOMIC_RELAXED);
    out->peak_reserved =
        __atomic_load_n(&od->stats.peak_reserved, __ATOMIC_RELAXED);
    out->total_allocs =
        __atomic_load_n(&od->stats.total_allocs, __ATOMIC_RELAXED);
}
