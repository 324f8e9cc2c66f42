/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Object caches (include/k23mem/kmem.h): Bonwick's slabs behind per-CPU
 * magazines, and k23_kmalloc() over a set of size-class caches.
 *
 * Layers, each calling only the ones below it:
 *   kmalloc / kfree      size classes, large frame runs, address lookup
 *   cache API            alloc/free hits on the calling CPU's magazine
 *   magazines            batches between a magazine and the slabs
 *   slabs                free bitmaps, state bytes, slab lists (cache lock)
 *   frames               k23_frames_alloc_contiguous / free_contiguous
 *
 * A slab is slab_bytes aligned to its size. Objects start at its base; its
 * end holds a bitmap of its free objects, one state byte per object and
 * the slab header, so the header of any object is found by rounding the
 * address up. The state bytes run down from the header (object i's is
 * i + 1 bytes below it), so that an object's is found from the rounded-up
 * address and its index alone. Nothing of the allocator is kept in the
 * objects. Each object is in one of three states, kept in its state byte:
 * FREE (its bit set in the bitmap), CACHED (in a magazine, or moving
 * between one and the slabs) or ALLOCATED (the caller's). Every transition
 * checks the state it leaves, which is how double frees are caught on
 * every path.
 *
 * Locking: a magazine is used lock-free through the port's CPU-local stack
 * hooks when k23_port_pcpu_fast(), else under its own lock; whoever reads
 * or changes another magazine (drain, stats, check) holds its lock and,
 * with the fast path, fences it. Order: magazine locks, then the cache
 * lock, then the frame allocator's locks. The layer's lock (cache list and
 * large-allocation table) is never held with a cache lock.
 */
#include "k23mem/kmem.h"

#include "internal.h"
#include "kmem_div.h"

#define KMEM_MAGIC UINT64_C(0x6b6d656d5f6b3233)       /* "k23_mem k" */
/* A live cache's magic also says how its hits go: a plain cache (the
 * port's fast hooks, no debug option) has KMEM_CACHE_PLAIN, so that a
 * hit checks "live and plain" with one compare. */
#define KMEM_CACHE_MAGIC UINT32_C(0x68636b32) /* "2kch": live, not plain */
#define KMEM_CACHE_PLAIN UINT32_C(0x706c6b32) /* "2klp": live, plain */
#define KMEM_SLAB_MAGIC UINT64_C(0x9e3779b97f4a7c15)
#define KMEM_CACHE_DEAD UINT32_C(0xdeadcace)

#define KMEM_SLAB_MIN_BYTES (UINT64_C(32) << 10)
/* The slab map has one entry per 32 KiB, the smallest slab, whatever the
 * slab size (a slab of larger frames has several entries, all alike), so
 * that a free finds its entry with a shift by a constant. */
#define KMEM_MAP_SHIFT 15
_Static_assert((UINT64_C(1) << KMEM_MAP_SHIFT) == KMEM_SLAB_MIN_BYTES,
               "one slab map entry per smallest slab");
#define KMEM_POISON_BYTE 0x6b
#define KMEM_REDZONE_WORD UINT64_C(0xbbbbbbbbbbbbbbbb)

enum kmem_state { OBJ_FREE = 0, OBJ_CACHED = 1, OBJ_ALLOCATED = 2 };
enum kmem_list { LIST_EMPTY = 0, LIST_PARTIAL = 1, LIST_FULL = 2 };

/* Slab header, the last bytes of a slab; its state bytes come just
 * before it. */
struct kmem_slab {
    uint64_t magic;              /* KMEM_SLAB_MAGIC ^ base address */
    struct k23_kmem_cache *cache;
    struct kmem_slab *prev, *next;
    uint32_t hint;               /* first word of the free bitmap that may
                                  * have a bit set: those below are 0 */
    uint32_t nfree;              /* FREE objects: bits set in the bitmap */
    uint32_t list;               /* enum kmem_list */
    k23_paddr_t pa;              /* the slab's first frame */
};
/* Bytes the header takes at a slab's end, whatever the pointer size. */
#define KMEM_HDR_BYTES 64
_Static_assert(sizeof(struct kmem_slab) <= KMEM_HDR_BYTES, "slab header fits");

/* One CPU's magazine; the header comes first (port.h). */
struct kmem_mag {
    k23_port_pcpu_hdr_t hdr;
    k23_port_lock_t lock;
    uint64_t slots[K23_KMEM_MAGAZINE];
} __attribute__((aligned(K23_PORT_CACHE_LINE)));

#define KMEM_SLOTS_OFF offsetof(struct kmem_mag, slots)
/* Full batches a cache's depot holds: what one CPU frees and another
 * allocates moves as whole batches through it, without touching slabs. */
#define KMEM_DEPOT 16

struct k23_kmem_cache {
    /* Hot: everything an alloc or free hit reads, in one cache line (on
     * 64-bit hosts; the record is frame-aligned). The magazines are not
     * a pointer here: they follow the record at KMEM_MAGS_OFF. */
    uint32_t magic;         /* KMEM_CACHE_MAGIC or _PLAIN while
                             * live, KMEM_CACHE_DEAD after */
    uint32_t ncpus;         /* magazines */
    k23_kmem_div_t div;     /* offset -> index, and "start of an object
                             * of the slab" (src/kmem_div.h) */
    uintptr_t slab_mask;    /* slab bytes - 1 (slabs are <= 2 GiB) */
    uint16_t id;            /* in the slab map, for each of its slabs */
    uint8_t slab_shift;     /* log2(slab bytes) */
    uint8_t plain;          /* fast hooks and no debug flag */
    uint32_t nobj;          /* objects per slab */
    uintptr_t map_vlo;      /* copies of the layer's map_vlo, map_span */
    uint64_t map_span;      /* and slab_map, so that a free needs no */
    const uint16_t *slab_map; /* load through km */
    /* Cold. */
    k23_kmem_t *km;
    struct kmem_mag *mags;  /* at KMEM_MAGS_OFF, for the cold paths */
    struct k23_kmem_cache *next_cache;
    char name[K23_KMEM_NAME_MAX];
    uint64_t size;          /* bytes asked for */
    uint32_t stride;        /* bytes between objects */
    uint32_t bitmap_words;  /* a slab's free bitmap, 64 objects a word */
    uint32_t flags;         /* K23_KMEM_DEBUG_* */
    bool fast;              /* magazines through the port's fast hooks */
    bool kmalloc_class;     /* one of k23_kmalloc()'s classes */
    bool is_class;          /* a class or the records: not destroyable */
    k23_kmem_ctor_t ctor;
    void *ctx;
    k23_paddr_t self_pa;    /* frames of this record and its magazines */
    uint64_t self_bytes;
    k23_port_lock_t lock;   /* guards the slab lists and the depot */
    struct kmem_slab *lists[3];
    uint64_t nslabs[3];
    unsigned ndepot;        /* full batches in the depot */
    uint64_t (*depot)[K23_KMEM_BATCH]; /* KMEM_DEPOT batches of CACHED
                                         objects (Bonwick's depot) */
};
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(offsetof(struct k23_kmem_cache, km) == 64,
               "a cache's hot fields fill its first cache line");
#endif
/* Where a cache's magazines start in its record: a constant, so that the
 * hit paths find them with no load. */
#define KMEM_MAGS_OFF                                                         \
    ((sizeof(struct k23_kmem_cache) + K23_PORT_CACHE_LINE - 1) &              \
     ~(size_t)(K23_PORT_CACHE_LINE - 1))

static inline struct kmem_mag *kmem_mags_of(k23_kmem_cache_t *c)
{
    return (struct kmem_mag *)((char *)c + KMEM_MAGS_OFF);
}

/* ---- small helpers ---- */

static inline uint64_t kmem_slab_bytes(const k23_kmem_t *km)
{
    return UINT64_C(1) << km->slab_shift;
}

static void *kmem_p2v(const k23_kmem_t *km, k23_paddr_t pa)
{
    if (km->cfg.phys_to_virt != NULL)
        return km->cfg.phys_to_virt(km->cfg.xlate_ctx, pa);
    return k23_port_phys_to_virt(pa);
}

static __attribute__((noinline)) k23_paddr_t
kmem_v2p_call(const k23_kmem_t *km, const void *va)
{
    if (km->cfg.virt_to_phys != NULL)
        return km->cfg.virt_to_phys(km->cfg.xlate_ctx, va);
    return k23_port_virt_to_phys(va);
}

static inline k23_paddr_t kmem_v2p(const k23_kmem_t *km, const void *va)
{
    if (K23_LIKELY(km->linear))
        return (k23_paddr_t)(uintptr_t)va - km->vdelta;
    return kmem_v2p_call(km, va);
}

static inline struct kmem_slab *kmem_slab_of(const k23_kmem_t *km,
                                             const void *obj)
{
    uintptr_t end = ((uintptr_t)obj | ((uintptr_t)kmem_slab_bytes(km) - 1)) + 1;
    return (struct kmem_slab *)(end - KMEM_HDR_BYTES);
}

static inline uintptr_t kmem_slab_base(const k23_kmem_t *km,
                                       const struct kmem_slab *s)
{
    return (uintptr_t)s + KMEM_HDR_BYTES - (uintptr_t)kmem_slab_bytes(km);
}

/* Object i's state byte: i + 1 bytes below its slab's header. */
static inline uint8_t *kmem_state_of(const struct kmem_slab *s, uint32_t i)
{
    return (uint8_t *)s - 1 - i;
}

/* The index of the object at offset off of a slab of c; *exact: off is
 * the start of one of the slab's objects. */
static inline uint32_t kmem_object_at(const k23_kmem_cache_t *c,
                                      uintptr_t off, bool *exact)
{
    return k23_kmem_div_index_(&c->div, (uint32_t)off, exact);
}

/* The same for an offset known to be the start of an object. */
static inline uint32_t kmem_index(const k23_kmem_cache_t *c, uintptr_t off)
{
    bool exact;
    return kmem_object_at(c, off, &exact);
}

/* A slab's free bitmap (bit i set: object i is FREE), just below its
 * state bytes, 8-byte aligned: the slab keeps no metadata in its
 * objects, so a write to a freed object cannot redirect an allocation. */
static inline uint64_t *kmem_bitmap(const k23_kmem_cache_t *c,
                                    const struct kmem_slab *s)
{
    uintptr_t states = (uintptr_t)kmem_state_of(s, c->nobj - 1);
    return (uint64_t *)(states & ~(uintptr_t)7) - c->bitmap_words;
}

/* Panic with "<what> <addr> (cache <name>)". */
__attribute__((noinline, cold)) K23_NORETURN static void
kmem_panic_obj(const char *what, const void *obj, const k23_kmem_cache_t *c)
{
    char msg[160];
    size_t pos = 0;
    k23_str_append_(msg, sizeof(msg), &pos, what);
    k23_str_append_(msg, sizeof(msg), &pos, " ");
    k23_str_append_u64_(msg, sizeof(msg), &pos, (uint64_t)(uintptr_t)obj, 16);
    if (c != NULL) {
        k23_str_append_(msg, sizeof(msg), &pos, " (cache ");
        k23_str_append_(msg, sizeof(msg), &pos, c->name);
        k23_str_append_(msg, sizeof(msg), &pos, ")");
    }
    k23_port_panic(__FILE__, __LINE__, msg);
}

static inline uint8_t kmem_state_load(const uint8_t *st)
{
    return __atomic_load_n(st, __ATOMIC_RELAXED);
}

static inline void kmem_state_store(uint8_t *st, uint8_t v)
{
    __atomic_store_n(st, v, __ATOMIC_RELAXED);
}

/* ---- the slab map: which slab-sized blocks of memory are slabs ---- */

static bool kmem_in_memory(const k23_kmem_t *km, k23_paddr_t pa)
{
    return pa >= km->lo && pa < km->hi;
}

static uint64_t kmem_map_index(const k23_kmem_t *km, k23_paddr_t pa)
{
    return (pa - km->lo) >> KMEM_MAP_SHIFT;
}

/* The id of the cache whose slab is the block at pa, 0 when it is no
 * slab. */
static uint16_t kmem_map_id(const k23_kmem_t *km, k23_paddr_t pa)
{
    return __atomic_load_n(&km->slab_map[kmem_map_index(km, pa)],
                           __ATOMIC_ACQUIRE);
}

static bool kmem_map_test(const k23_kmem_t *km, k23_paddr_t pa)
{
    return kmem_map_id(km, pa) != 0;
}

/* Set the entries of the slab at pa. */
static void kmem_map_set(k23_kmem_t *km, k23_paddr_t pa, uint16_t id)
{
    uint64_t first = kmem_map_index(km, pa);
    uint64_t n = kmem_slab_bytes(km) >> KMEM_MAP_SHIFT;
    for (uint64_t i = 0; i < n; i++)
        __atomic_store_n(&km->slab_map[first + i], id, __ATOMIC_RELEASE);
}

/* Whether every entry of the slab at pa says id. */
static bool kmem_map_names(const k23_kmem_t *km, k23_paddr_t pa, uint16_t id)
{
    for (uint64_t off = 0; off < kmem_slab_bytes(km);
         off += UINT64_C(1) << KMEM_MAP_SHIFT)
        if (kmem_map_id(km, pa + off) != id)
            return false;
    return true;
}

/* Where an object lives: its slab and index, or no slab (s == NULL). */
struct kmem_found {
    struct kmem_slab *s;
    uint32_t idx;
};

__attribute__((noinline, cold)) K23_NORETURN static void
kmem_bad_object(const void *obj, const struct kmem_slab *s)
{
    if (s == NULL)
        kmem_panic_obj("k23_kmem: corrupt slab header for", obj, NULL);
    kmem_panic_obj("k23_kmem: free of an address that is not the start "
                   "of an object:", obj, s->cache);
}

/* The slab holding obj, after checking that obj is the start of an
 * object in a live slab; .s is NULL when the address is in no slab at
 * all. Inline: the free paths get the result in registers. */
static inline __attribute__((always_inline)) struct kmem_found
kmem_find_slab(const k23_kmem_t *km, const void *obj)
{
    struct kmem_found f = {NULL, 0};
    k23_paddr_t pa = kmem_v2p(km, obj);
    if (K23_UNLIKELY(!kmem_in_memory(km, pa) || !kmem_map_test(km, pa)))
        return f;
    struct kmem_slab *s = kmem_slab_of(km, obj);
    uintptr_t base = kmem_slab_base(km, s);
    if (K23_UNLIKELY(s->magic != (KMEM_SLAB_MAGIC ^ (uint64_t)base) ||
                     s->cache == NULL))
        kmem_bad_object(obj, NULL);
    const k23_kmem_cache_t *c = s->cache;
    bool exact;
    uint32_t idx = kmem_object_at(c, (uintptr_t)obj - base, &exact);
    if (K23_UNLIKELY(!exact))
        kmem_bad_object(obj, s);
    f.s = s;
    f.idx = idx;
    return f;
}

/* ---- slabs (cache lock held) ---- */

static void kmem_list_remove(k23_kmem_cache_t *c, struct kmem_slab *s)
    K23_REQUIRES(c->lock)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->lists[s->list] = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    c->nslabs[s->list]--;
}

static void kmem_list_add(k23_kmem_cache_t *c, struct kmem_slab *s,
                          uint32_t list)
    K23_REQUIRES(c->lock)
{
    s->list = list;
    s->prev = NULL;
    s->next = c->lists[list];
    if (s->next != NULL)
        s->next->prev = s;
    c->lists[list] = s;
    c->nslabs[list]++;
}

static uint32_t kmem_list_for(const k23_kmem_cache_t *c,
                              const struct kmem_slab *s)
{
    if (s->nfree == c->nobj)
        return LIST_EMPTY;
    return s->nfree == 0 ? LIST_FULL : LIST_PARTIAL;
}

static void kmem_list_update(k23_kmem_cache_t *c, struct kmem_slab *s)
    K23_REQUIRES(c->lock)
{
    uint32_t want = kmem_list_for(c, s);
    if (want != s->list) {
        kmem_list_remove(c, s);
        kmem_list_add(c, s, want);
    }
}

static void kmem_poison(const k23_kmem_cache_t *c, void *obj)
{
    unsigned char *p = obj;
    for (uint64_t i = 0; i < c->size; i++)
        p[i] = KMEM_POISON_BYTE;
}

static void kmem_poison_check(const k23_kmem_cache_t *c, void *obj)
{
    const unsigned char *p = obj;
    for (uint64_t i = 0; i < c->size; i++)
        if (p[i] != KMEM_POISON_BYTE)
            kmem_panic_obj("k23_kmem: use after free: freed object written:",
                           obj, c);
}

static uint64_t *kmem_redzone(const k23_kmem_cache_t *c, void *obj)
{
    return (uint64_t *)((char *)obj + ((c->size + 7) & ~(uint64_t)7));
}

/* Every object of a new slab FREE: all state bytes, all bitmap bits. */
static void kmem_slab_mark_all_free(const k23_kmem_cache_t *c,
                                    struct kmem_slab *s)
{
    s->hint = 0;
    s->nfree = c->nobj;
    uint64_t *bm = kmem_bitmap(c, s);
    for (uint32_t w = 0; w < c->bitmap_words; w++) {
        uint32_t left = c->nobj - w * 64;
        bm[w] = left >= 64 ? UINT64_MAX : (UINT64_C(1) << left) - 1;
    }
    for (uint32_t i = 0; i < c->nobj; i++)
        *kmem_state_of(s, i) = OBJ_FREE;
}

/* Construct, poison or guard the objects of a new slab at base, as the
 * cache asks. */
static void kmem_slab_prepare_objects(const k23_kmem_cache_t *c,
                                      uintptr_t base)
{
    for (uint32_t i = 0; i < c->nobj; i++) {
        void *obj = (void *)(base + (uintptr_t)i * c->stride);
        if (c->ctor != NULL)
            c->ctor(obj, c->ctx);
        if (c->flags & K23_KMEM_DEBUG_POISON)
            kmem_poison(c, obj);
        if (c->flags & K23_KMEM_DEBUG_REDZONE)
            *kmem_redzone(c, obj) = KMEM_REDZONE_WORD;
    }
}

/* A new slab from the frame allocator, on the empty list; false when no
 * frames are left. */
static bool kmem_slab_new(k23_kmem_cache_t *c)
    K23_REQUIRES(c->lock)
{
    k23_kmem_t *km = c->km;
    k23_paddr_t pa;
    if (k23_frames_alloc_contiguous(km->fa, kmem_slab_bytes(km),
                                    km->slab_shift, &pa) != K23_OK)
        return false;
    uintptr_t base = (uintptr_t)kmem_p2v(km, pa);
    if ((base & (kmem_slab_bytes(km) - 1)) != 0)
        K23_PANIC_ADDR("k23_kmem: the direct map does not keep slab "
                       "alignment at", pa);
    struct kmem_slab *s = kmem_slab_of(km, (void *)base);
    s->magic = KMEM_SLAB_MAGIC ^ (uint64_t)base;
    s->cache = c;
    s->pa = pa;
    kmem_slab_mark_all_free(c, s);
    if (c->ctor != NULL || c->flags != 0)
        kmem_slab_prepare_objects(c, base);
    kmem_list_add(c, s, LIST_EMPTY);
    kmem_map_set(km, pa, c->id);
    return true;
}

static void kmem_slab_release(k23_kmem_cache_t *c, struct kmem_slab *s)
    K23_REQUIRES(c->lock)
{
    k23_kmem_t *km = c->km;
    k23_paddr_t pa = s->pa;
    kmem_list_remove(c, s);
    kmem_map_set(km, pa, 0);
    s->magic = 0;
    s->cache = NULL;
    int rc = k23_frames_free_contiguous(km->fa, pa, kmem_slab_bytes(km));
    K23_ASSERT_INTERNAL_FOUND(rc == K23_OK, rc);
    K23_UNUSED(rc);
}

/* Take one FREE object off the slabs; it becomes CACHED. NULL when no
 * frames are left for a new slab. */
static void *kmem_slab_take(k23_kmem_cache_t *c)
    K23_REQUIRES(c->lock)
{
    struct kmem_slab *s = c->lists[LIST_PARTIAL];
    if (s == NULL)
        s = c->lists[LIST_EMPTY];
    if (s == NULL) {
        if (!kmem_slab_new(c))
            return NULL;
        s = c->lists[LIST_EMPTY];
    }
    uint64_t *bm = kmem_bitmap(c, s);
    uint32_t w = s->hint;
    while (w < c->bitmap_words && bm[w] == 0)
        w++;
    if (K23_UNLIKELY(w == c->bitmap_words))
        kmem_panic_obj("k23_kmem: corrupt slab (free count and bitmap "
                       "disagree) at", s, c);
    uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bm[w]);
    void *obj = (void *)(kmem_slab_base(c->km, s) + (uintptr_t)i * c->stride);
    uint8_t *st = kmem_state_of(s, i);
    if (K23_UNLIKELY(i >= c->nobj || kmem_state_load(st) != OBJ_FREE))
        kmem_panic_obj("k23_kmem: corrupt slab bitmap at", obj, c);
    bm[w] &= bm[w] - 1;
    s->hint = w;
    s->nfree--;
    kmem_state_store(st, OBJ_CACHED);
    kmem_list_update(c, s);
    return obj;
}

/* Put a CACHED object back on its slab (its bitmap). Keeps one empty slab
 * per cache; further empty slabs go back to the frame allocator. */
static void kmem_slab_put(k23_kmem_cache_t *c, void *obj)
    K23_REQUIRES(c->lock)
{
    struct kmem_slab *s = kmem_slab_of(c->km, obj);
    uint32_t i = kmem_index(c, (uintptr_t)obj - kmem_slab_base(c->km, s));
    uint8_t *st = kmem_state_of(s, i);
    if (K23_UNLIKELY(kmem_state_load(st) != OBJ_CACHED))
        kmem_panic_obj("k23_kmem: object returned to its slab twice:", obj, c);
    kmem_state_store(st, OBJ_FREE);
    kmem_bitmap(c, s)[i / 64] |= UINT64_C(1) << (i % 64);
    if (i / 64 < s->hint)
        s->hint = i / 64;
    s->nfree++;
    kmem_list_update(c, s);
    if (s->list == LIST_EMPTY && c->nslabs[LIST_EMPTY] > 1)
        kmem_slab_release(c, s);
}

/* Copy a full batch to or from the depot, under the cache lock: a word
 * at a time and inline (a CPU freeing objects another allocates waits
 * for this lock), through volatile stores so
 * that the compiler makes no memcpy call of it. */
static void kmem_batch_copy(uint64_t *dst, const uint64_t *src)
{
    for (unsigned i = 0; i < K23_KMEM_BATCH; i++)
        ((volatile uint64_t *)dst)[i] = src[i];
}

/* Give back n CACHED objects: a full batch goes to the depot while it
 * has room (one copy, no slab touched), the rest to their slabs. */
static void kmem_slab_put_n(k23_kmem_cache_t *c, const uint64_t *objs,
                            unsigned n)
{
    if (n == 0)
        return;
    k23_port_lock_acquire(&c->lock);
    if (n == K23_KMEM_BATCH && c->ndepot < KMEM_DEPOT) {
        kmem_batch_copy(c->depot[c->ndepot++], objs);
    } else {
        for (unsigned i = 0; i < n; i++)
            kmem_slab_put(c, (void *)(uintptr_t)objs[i]);
    }
    k23_port_lock_release(&c->lock);
}

/* Move the depot's objects back to their slabs (cache lock held). */
static void kmem_depot_drain_locked(k23_kmem_cache_t *c)
    K23_REQUIRES(c->lock)
{
    while (c->ndepot > 0) {
        const uint64_t *b = c->depot[--c->ndepot];
        for (unsigned i = 0; i < K23_KMEM_BATCH; i++)
            kmem_slab_put(c, (void *)(uintptr_t)b[i]);
    }
}

/* ---- magazines ---- */

#ifdef K23_PORT_PCPU_INLINE
#define KMEM_PCPU_POP k23_port_pcpu_pop_inline
#define KMEM_PCPU_PUSH k23_port_pcpu_push_inline
#else
#define KMEM_PCPU_POP k23_port_pcpu_pop
#define KMEM_PCPU_PUSH k23_port_pcpu_push
#endif

static inline uint64_t kmem_fast_pop(k23_kmem_cache_t *c)
{
    return KMEM_PCPU_POP(kmem_mags_of(c), sizeof(struct kmem_mag), c->ncpus,
                         KMEM_SLOTS_OFF);
}

static inline bool kmem_fast_push(k23_kmem_cache_t *c, uint64_t v)
{
    return KMEM_PCPU_PUSH(kmem_mags_of(c), sizeof(struct kmem_mag), c->ncpus,
                          KMEM_SLOTS_OFF, K23_KMEM_MAGAZINE, v);
}

/* Take magazine i for plain loads and stores. */
static void kmem_mag_lock(k23_kmem_cache_t *c, unsigned i)
    K23_ACQUIRE(c->mags[i].lock)
{
    k23_port_lock_acquire(&c->mags[i].lock);
    if (c->fast)
        k23_port_pcpu_fence(&c->mags[i].hdr, i);
}

static void kmem_mag_unlock(k23_kmem_cache_t *c, unsigned i)
    K23_RELEASE(c->mags[i].lock)
{
    if (c->fast)
        k23_port_pcpu_unfence(&c->mags[i].hdr);
    k23_port_lock_release(&c->mags[i].lock);
}

/* The analysis cannot follow a loop over the magazine locks: it is told
 * about the cache lock, which the drain and count helpers require. */
static K23_NO_THREAD_SAFETY_ANALYSIS void kmem_mags_lock_all(k23_kmem_cache_t *c)
    K23_ACQUIRE(c->lock)
{
    for (unsigned i = 0; i < c->ncpus; i++)
        kmem_mag_lock(c, i);
    k23_port_lock_acquire(&c->lock);
}

static K23_NO_THREAD_SAFETY_ANALYSIS void kmem_mags_unlock_all(k23_kmem_cache_t *c)
    K23_RELEASE(c->lock)
{
    k23_port_lock_release(&c->lock);
    for (unsigned i = c->ncpus; i-- > 0;)
        kmem_mag_unlock(c, i);
}

/* Move every magazine's and the depot's objects back to the slabs (all
 * locked). */
static void kmem_mags_drain_locked(k23_kmem_cache_t *c)
    K23_REQUIRES(c->lock)
{
    for (unsigned i = 0; i < c->ncpus; i++) {
        struct kmem_mag *m = &c->mags[i];
        while (m->hdr.count > 0)
            kmem_slab_put(c, (void *)(uintptr_t)m->slots[--m->hdr.count]);
    }
    kmem_depot_drain_locked(c);
}

/* Fill out[] with a batch of CACHED objects: a full one from the depot
 * if there is one, else from the slabs; returns how many (0: no frames
 * left). */
static unsigned kmem_take_batch(k23_kmem_cache_t *c, uint64_t *out)
{
    unsigned got = 0;
    k23_port_lock_acquire(&c->lock);
    if (c->ndepot > 0) {
        kmem_batch_copy(out, c->depot[--c->ndepot]);
        got = K23_KMEM_BATCH;
    }
    while (got < K23_KMEM_BATCH) {
        void *obj = kmem_slab_take(c);
        if (obj == NULL)
            break;
        out[got++] = (uint64_t)(uintptr_t)obj;
    }
    k23_port_lock_release(&c->lock);
    return got;
}

/* Allocation miss on the fast path: a batch from the slabs, one for the
 * caller, the rest onto the calling CPU's magazine (what does not fit
 * goes back). Returns a CACHED object or NULL. */
static __attribute__((noinline)) void *kmem_alloc_refill_fast(k23_kmem_cache_t *c)
{
    uint64_t batch[K23_KMEM_BATCH];
    unsigned n = kmem_take_batch(c, batch);
    if (n == 0)
        return NULL;
    unsigned keep = 1;
    while (keep < n && kmem_fast_push(c, batch[keep]))
        keep++;
    kmem_slab_put_n(c, batch + keep, n - keep);
    return (void *)(uintptr_t)batch[0];
}

/* Allocation without the fast path: the calling CPU's magazine under its
 * lock, refilled from the slabs when empty. */
static __attribute__((noinline)) void *kmem_alloc_locked(k23_kmem_cache_t *c)
{
    unsigned cpu = k23_port_cpu_local_enter();
    struct kmem_mag *m = &c->mags[cpu % c->ncpus];
    void *obj = NULL;
    k23_port_lock_acquire(&m->lock);
    if (m->hdr.count == 0)
        m->hdr.count = (uint16_t)kmem_take_batch(c, m->slots);
    if (m->hdr.count > 0)
        obj = (void *)(uintptr_t)m->slots[--m->hdr.count];
    k23_port_lock_release(&m->lock);
    k23_port_cpu_local_exit(cpu);
    return obj;
}

/* Free miss on the fast path (the magazine is full or fenced): obj and up
 * to a batch more from the magazine go back to the slabs. */
static __attribute__((noinline)) void kmem_free_spill_fast(k23_kmem_cache_t *c,
                                                           void *obj)
{
    uint64_t batch[K23_KMEM_BATCH];
    unsigned n = 0;
    batch[n++] = (uint64_t)(uintptr_t)obj;
    while (n < K23_KMEM_BATCH) {
        uint64_t v = kmem_fast_pop(c);
        if (v == K23_PORT_PCPU_NONE)
            break;
        batch[n++] = v;
    }
    kmem_slab_put_n(c, batch, n);
}

static __attribute__((noinline)) void kmem_free_locked(k23_kmem_cache_t *c,
                                                       void *obj)
{
    unsigned cpu = k23_port_cpu_local_enter();
    struct kmem_mag *m = &c->mags[cpu % c->ncpus];
    k23_port_lock_acquire(&m->lock);
    if (m->hdr.count == K23_KMEM_MAGAZINE) {
        m->hdr.count -= K23_KMEM_BATCH;
        kmem_slab_put_n(c, m->slots + m->hdr.count, K23_KMEM_BATCH);
    }
    m->slots[m->hdr.count++] = (uint64_t)(uintptr_t)obj;
    k23_port_lock_release(&m->lock);
    k23_port_cpu_local_exit(cpu);
}

/* ---- the cache API: general paths (out of line) ---- */

static inline bool kmem_cache_live(const k23_kmem_cache_t *c)
{
    return c->magic == KMEM_CACHE_MAGIC ||
           c->magic == KMEM_CACHE_PLAIN;
}

__attribute__((noinline, cold)) K23_NORETURN static void
kmem_bad_cache(const k23_kmem_cache_t *c, const char *fn)
{
    if (c == NULL)
        k23_port_panic(__FILE__, __LINE__, fn);
    kmem_panic_obj("k23_kmem: not a live cache:", c, NULL);
}

static inline void kmem_require_cache(const k23_kmem_cache_t *c,
                                      const char *fn)
{
    if (K23_UNLIKELY(c == NULL || !kmem_cache_live(c)))
        kmem_bad_cache(c, fn);
}

/* CACHED -> ALLOCATED, with the debug checks; returns obj. */
static void *kmem_hand_out(k23_kmem_cache_t *c, void *obj, uint32_t flags)
{
    struct kmem_slab *s = kmem_slab_of(c->km, obj);
    uint8_t *st = kmem_state_of(s, kmem_index(c, (uintptr_t)obj -
                                                     kmem_slab_base(c->km, s)));
    if (K23_UNLIKELY(kmem_state_load(st) != OBJ_CACHED))
        kmem_panic_obj("k23_kmem: corrupt magazine entry", obj, c);
    kmem_state_store(st, OBJ_ALLOCATED);
    if (K23_UNLIKELY(c->flags & K23_KMEM_DEBUG_POISON))
        kmem_poison_check(c, obj);
    if (flags & K23_KMEM_ZERO)
        k23_memzero_(obj, c->size);
    return obj;
}

/* Any cache, any flags (already checked): the locked magazines, the
 * debug options, zeroing. */
static __attribute__((noinline)) void *
kmem_cache_alloc_general(k23_kmem_cache_t *c, uint32_t flags)
{
    void *obj;
    if (c->fast) {
        uint64_t v = kmem_fast_pop(c);
        obj = v != K23_PORT_PCPU_NONE ? (void *)(uintptr_t)v
                                      : kmem_alloc_refill_fast(c);
    } else {
        obj = kmem_alloc_locked(c);
    }
    if (K23_UNLIKELY(obj == NULL))
        return NULL;
    return kmem_hand_out(c, obj, flags);
}

/* The free of an ALLOCATED object (state byte st) of a cache that is not
 * plain: the debug checks, then the magazine, locked or not. */
static __attribute__((noinline)) void
kmem_free_general(k23_kmem_cache_t *c, void *obj, uint8_t *st)
{
    if (K23_UNLIKELY(c->flags & K23_KMEM_DEBUG_REDZONE) &&
        *kmem_redzone(c, obj) != KMEM_REDZONE_WORD)
        kmem_panic_obj("k23_kmem: write past the end of", obj, c);
    if (K23_UNLIKELY(c->flags & K23_KMEM_DEBUG_POISON))
        kmem_poison(c, obj);
    kmem_state_store(st, OBJ_CACHED);
    if (c->fast) {
        if (K23_UNLIKELY(!kmem_fast_push(c, (uint64_t)(uintptr_t)obj)))
            kmem_free_spill_fast(c, obj);
    } else {
        kmem_free_locked(c, obj);
    }
}

__attribute__((noinline, cold)) K23_NORETURN static void
kmem_bad_state(const void *obj, const k23_kmem_cache_t *c, uint8_t state)
{
    kmem_panic_obj(state == OBJ_CACHED || state == OBJ_FREE
                       ? "k23_kmem: double free of"
                       : "k23_kmem: corrupt state byte of",
                   obj, c);
}

/* ---- the hit paths (inline; everything else is called out of line) ----
 *
 * An allocation hit is one pop from the calling CPU's magazine and the
 * object's state byte set to ALLOCATED; a free hit checks that the
 * address is the start of an object of a slab (slab map, then the
 * header's cache, then the index), that its state byte says ALLOCATED
 * (a double free is caught here, whether the first free left the object
 * in a magazine, the depot or its slab), sets it to CACHED and pushes the
 * object. Only caches that are "plain" (the port's fast hooks, no debug
 * option) take them as they are. */

/* The state byte of the object with index idx whose address is obj:
 * (obj | slab_mask) is its slab's last byte, the header starts 64 bytes
 * above the state byte of object 0, so object idx's is idx + 64 bytes
 * below that last byte. Written as an index off the last byte less idx,
 * so that the compiler folds the 64 into the store's displacement. */
static inline uint8_t *kmem_state_at(const k23_kmem_cache_t *c,
                                     uintptr_t obj, uint32_t idx)
{
    uint8_t *last_less_idx =
        (uint8_t *)((obj | c->slab_mask) - (uintptr_t)idx);
    return &last_less_idx[-KMEM_HDR_BYTES];
}

/* The state byte of obj, an object of c. */
static inline uint8_t *kmem_state_byte(const k23_kmem_cache_t *c,
                                       uintptr_t obj)
{
    return kmem_state_at(c, obj, kmem_index(c, obj & c->slab_mask));
}

/* Allocation miss of a plain cache: a batch onto the magazine. */
static __attribute__((noinline)) void *kmem_alloc_miss(k23_kmem_cache_t *c)
{
    void *obj = kmem_alloc_refill_fast(c);
    if (obj != NULL)
        kmem_state_store(kmem_state_byte(c, (uintptr_t)obj), OBJ_ALLOCATED);
    return obj;
}

/* Allocate from a plain cache. */
static inline __attribute__((always_inline)) void *
kmem_alloc_hit(k23_kmem_cache_t *c)
{
    uint64_t v = kmem_fast_pop(c);
    if (K23_UNLIKELY(v == K23_PORT_PCPU_NONE))
        return kmem_alloc_miss(c);
    kmem_state_store(kmem_state_byte(c, (uintptr_t)v), OBJ_ALLOCATED);
    return (void *)(uintptr_t)v;
}

/* The id of the cache whose slab holds obj, from the slab map (its
 * fields come from the layer or a cache's copy of them); 0 when obj is in
 * no slab, or outside the frame allocator's memory, and for everything
 * when the direct map is not linear (span 0): then the translating
 * lookup decides. One load: the map says both "a slab" and "whose". */
static inline uint16_t kmem_map_lookup(uintptr_t vlo, uint64_t span,
                                       const uint16_t *map, const void *obj)
{
    uint64_t off = (uint64_t)((uintptr_t)obj - vlo);
    if (K23_UNLIKELY(off >= span))
        return 0;
    return __atomic_load_n(&map[off >> KMEM_MAP_SHIFT], __ATOMIC_ACQUIRE);
}

/* The cache of a slab's object: one load from the slab's header. */
static inline k23_kmem_cache_t *kmem_cache_at(const void *obj, unsigned shift)
{
    uintptr_t end = ((uintptr_t)obj | (((uintptr_t)1 << shift) - 1)) + 1;
    return ((const struct kmem_slab *)(end - KMEM_HDR_BYTES))->cache;
}

/* The hit paths reach their panics by a jump, not a call: these two are
 * not declared noreturn (and GCC is kept from finding out), so that the
 * hit paths, which call nothing else, need no stack frame. Their callers
 * return right after them. */
#if defined(__GNUC__) && !defined(__clang__)
#define KMEM_TAIL_PANIC __attribute__((noinline, noipa, cold))
#else
#define KMEM_TAIL_PANIC __attribute__((noinline, cold))
#endif

KMEM_TAIL_PANIC static void kmem_not_an_object(const void *obj,
                                               const k23_kmem_cache_t *c)
{
    kmem_panic_obj("k23_kmem: free of an address that is not the start "
                   "of an object:", obj, c);
}

/* The state byte is found and read again here: the hit path compares
 * it in memory and keeps neither it nor its address. */
KMEM_TAIL_PANIC static void kmem_bad_state_at(const void *obj,
                                              const k23_kmem_cache_t *c)
{
    kmem_bad_state(obj, c, kmem_state_load(kmem_state_byte(c, (uintptr_t)obj)));
}

/* Free obj, an address in a slab of c (the slab map said so); plain:
 * the caller knows c is plain (a compile-time constant). */
static inline __attribute__((always_inline)) void
kmem_free_in_slab(k23_kmem_cache_t *c, void *obj, bool plain)
{
    uintptr_t o = (uintptr_t)obj;
    bool exact;
    uint32_t idx = kmem_object_at(c, o & c->slab_mask, &exact);
    if (K23_UNLIKELY(!exact)) {
        kmem_not_an_object(obj, c);
        return;
    }
    uint8_t *st = kmem_state_at(c, o, idx);
    if (K23_UNLIKELY(kmem_state_load(st) != OBJ_ALLOCATED)) {
        kmem_bad_state_at(obj, c);
        return;
    }
    if (!plain && !c->plain) {
        kmem_free_general(c, obj, st);
        return;
    }
    kmem_state_store(st, OBJ_CACHED);
    if (K23_UNLIKELY(!kmem_fast_push(c, o)))
        kmem_free_spill_fast(c, obj);
}

/* Everything but a hit of a plain cache: validates c and flags. */
static __attribute__((noinline)) void *
kmem_cache_alloc_slow(k23_kmem_cache_t *c, uint32_t flags)
{
    kmem_require_cache(c, "k23_kmem_cache_alloc: NULL cache");
    K23_REQUIRE((flags & ~K23_KMEM_ZERO) == 0 &&
                    !((flags & K23_KMEM_ZERO) && c->ctor != NULL),
                "k23_kmem_cache_alloc");
    return kmem_cache_alloc_general(c, flags);
}

void *k23_kmem_cache_alloc(k23_kmem_cache_t *c, uint32_t flags)
{
    if (K23_LIKELY(c != NULL && c->magic == KMEM_CACHE_PLAIN &&
                   flags == 0))
        return kmem_alloc_hit(c);
    return kmem_cache_alloc_slow(c, flags);
}

__attribute__((noinline, cold)) K23_NORETURN static void
kmem_wrong_cache(const void *obj, const k23_kmem_cache_t *owner)
{
    kmem_panic_obj("k23_kmem: object freed to the wrong cache:", obj, owner);
}

/* Everything but a plain cache's free the slab map places: a cache that
 * is not plain (or not live), a direct map that is not linear, memory no
 * cache handed out. */
static __attribute__((noinline)) void
kmem_cache_free_slow(k23_kmem_cache_t *c, void *obj)
{
    kmem_require_cache(c, "k23_kmem_cache_free: NULL cache");
    if (obj == NULL)
        return;
    k23_kmem_cache_t *owner;
    if (kmem_map_lookup(c->map_vlo, c->map_span, c->slab_map, obj) != 0) {
        owner = kmem_cache_at(obj, c->slab_shift);
    } else {
        struct kmem_found f = kmem_find_slab(c->km, obj);
        if (K23_UNLIKELY(f.s == NULL))
            kmem_panic_obj("k23_kmem: free of memory no cache handed out:",
                           obj, c);
        owner = f.s->cache;
    }
    if (K23_UNLIKELY(owner != c))
        kmem_wrong_cache(obj, owner);
    kmem_free_in_slab(c, obj, false);
}

void k23_kmem_cache_free(k23_kmem_cache_t *c, void *obj)
{
    /* a live plain cache, and the slab map names it for obj's block (a
     * NULL obj is outside the cache's window of the map: see
     * kmem_cache_map_window) */
    if (K23_LIKELY(c != NULL && c->magic == KMEM_CACHE_PLAIN &&
                   kmem_map_lookup(c->map_vlo, c->map_span, c->slab_map,
                                   obj) == c->id)) {
        kmem_free_in_slab(c, obj, true);
        return;
    }
    kmem_cache_free_slow(c, obj);
}

/* Object layout of a new cache: stride, link offset, objects per slab. */
static bool kmem_cache_layout(k23_kmem_cache_t *c, uint64_t slab_bytes,
                              uint64_t align)
{
    uint64_t bytes = (c->size + 7) & ~(uint64_t)7;
    if (c->flags & K23_KMEM_DEBUG_REDZONE)
        bytes += 8;
    if (align < 8)
        align = 8;
    /* offsets within a slab are 32-bit (kmem_div.h) */
    if (slab_bytes > UINT32_MAX)
        return false;
    uint64_t stride = (bytes + align - 1) & ~(align - 1);
    c->stride = (uint32_t)stride;
    /* n objects, n state bytes (rounded up to 8) and a bitmap of
     * ceil(n / 64) words below the header */
    uint64_t room = slab_bytes - KMEM_HDR_BYTES;
    uint64_t n = room / (stride + 1);
    while (n > 0 && n * stride + ((n + 7) & ~(uint64_t)7) +
                            (n + 63) / 64 * 8 > room)
        n--;
    if (n == 0)
        return false;
    c->nobj = (uint32_t)n;
    c->bitmap_words = (uint32_t)((n + 63) / 64);
    c->slab_mask = (uintptr_t)(slab_bytes - 1);
    /* within kmem_div.h's bounds: slab_bytes (a power of two below 2^32)
     * <= 2^31, so offsets and the stride are below 2^31, and
     * n * stride < slab_bytes */
    c->div = k23_kmem_div_make_(c->stride, c->nobj);
    return true;
}

/* An id no live cache has (layer lock held); 0 when all are taken. Ids
 * go up from 1 in the order caches are made, so the kmalloc classes,
 * made first, have ids 1 .. nclasses (k23_kfree() relies on it). */
static uint16_t kmem_pick_id(k23_kmem_t *km)
{
    for (unsigned tries = 0; tries < UINT16_MAX; tries++) {
        uint16_t id = km->next_id == 0 ? 1 : km->next_id;
        km->next_id = (uint16_t)(id + 1);
        bool used = false;
        for (const k23_kmem_cache_t *o = km->caches; o != NULL && !used;
             o = o->next_cache)
            used = o->id == id;
        if (!used)
            return id;
    }
    return 0;
}

/* The cache's copy of the slab map's window (what the free hit looks
 * obj up in), left without the block at virtual address 0: then a NULL
 * obj is outside it and takes the slow path, where a free of NULL does
 * nothing, and the hit path needs no test of its own for NULL. That
 * block is only in the window when the direct map puts memory at
 * virtual 0 (an identity map from physical 0, which then comes first: a
 * slab there is freed through the translating path) or wraps the window
 * past the top of the address space (then every free takes that path). */
static void kmem_cache_map_window(k23_kmem_cache_t *c, const k23_kmem_t *km)
{
    uintptr_t vlo = km->map_vlo;
    uint64_t span = km->map_span;
    const uint16_t *map = km->slab_map;
    uint64_t slab = kmem_slab_bytes(km);
    if ((uint64_t)(0 - vlo) < span) { /* kmem_map_lookup of NULL */
        if (vlo == 0 && span > slab) {
            vlo = (uintptr_t)slab;
            span -= slab;
            map += slab >> KMEM_MAP_SHIFT;
        } else {
            span = 0;
        }
    }
    c->map_vlo = vlo;
    c->map_span = span;
    c->slab_map = map;
}

static int kmem_cache_make(k23_kmem_t *km, const char *name, size_t size,
                           size_t align, k23_kmem_ctor_t ctor, void *ctx,
                           uint32_t flags, bool is_class,
                           k23_kmem_cache_t **out)
{
    uint64_t slab_bytes = kmem_slab_bytes(km);
    if (name == NULL || size == 0 || size > slab_bytes / 4 ||
        (align != 0 && (!k23_is_pow2_(align) ||
                        align > k23_frames_max_alignment(km->fa) ||
                        align > km->fa->cfg.frame_size)) ||
        (flags & ~(uint32_t)(K23_KMEM_DEBUG_POISON | K23_KMEM_DEBUG_REDZONE)) ||
        (ctor != NULL && (flags & K23_KMEM_DEBUG_POISON)))
        return K23_ERR_INVAL;
    unsigned ncpus = k23_port_cpu_count();
    uint64_t head = KMEM_MAGS_OFF;
    uint64_t depot_bytes = KMEM_DEPOT * sizeof(uint64_t[K23_KMEM_BATCH]);
    uint64_t bytes = head + (uint64_t)ncpus * sizeof(struct kmem_mag) +
                     depot_bytes;
    k23_paddr_t pa;
    if (k23_frames_alloc_contiguous_zeroed(km->fa, bytes, 0, &pa) != K23_OK)
        return K23_ERR_NOMEM;
    k23_kmem_cache_t *c = kmem_p2v(km, pa);
    c->km = km;
    c->size = size;
    c->flags = flags;
    c->ctor = ctor;
    c->ctx = ctx;
    if (!kmem_cache_layout(c, slab_bytes, align)) {
        k23_frames_free_contiguous(km->fa, pa, bytes);
        return K23_ERR_INVAL;
    }
    size_t pos = 0;
    k23_str_append_(c->name, sizeof(c->name), &pos, name);
    c->is_class = is_class;
    c->fast = k23_port_pcpu_fast();
    c->plain = c->fast && flags == 0;
    c->slab_shift = (uint8_t)km->slab_shift;
    kmem_cache_map_window(c, km);
    c->self_pa = pa;
    c->self_bytes = bytes;
    c->ncpus = ncpus;
    c->mags = kmem_mags_of(c);
    c->depot = (uint64_t(*)[K23_KMEM_BATCH])(c->mags + ncpus);
    for (unsigned i = 0; i < ncpus; i++)
        k23_port_lock_init(&c->mags[i].lock);
    k23_port_lock_init(&c->lock);
    c->magic = c->plain ? KMEM_CACHE_PLAIN : KMEM_CACHE_MAGIC;
    k23_port_lock_acquire(&km->lock);
    c->id = kmem_pick_id(km);
    if (c->id != 0) {
        c->next_cache = km->caches;
        km->caches = c;
    }
    k23_port_lock_release(&km->lock);
    if (c->id == 0) { /* 65535 caches live */
        k23_frames_free_contiguous(km->fa, pa, bytes);
        return K23_ERR_NOMEM;
    }
    *out = c;
    return K23_OK;
}

static inline bool kmem_live(const k23_kmem_t *km)
{
    return km != NULL && km->magic == KMEM_MAGIC;
}

int k23_kmem_cache_create(k23_kmem_t *km, const char *name, size_t size,
                          size_t align, k23_kmem_ctor_t ctor, void *ctx,
                          uint32_t flags, k23_kmem_cache_t **out)
{
    if (!kmem_live(km) || out == NULL)
        return K23_ERR_INVAL;
    return kmem_cache_make(km, name, size, align, ctor, ctx, flags, false,
                           out);
}

/* Objects handed out and not freed (everything locked). */
static uint64_t kmem_in_use_locked(const k23_kmem_cache_t *c)
    K23_REQUIRES(c->lock)
{
    uint64_t slots = 0, free = 0, cached = 0;
    for (unsigned l = 0; l < 3; l++)
        for (const struct kmem_slab *s = c->lists[l]; s != NULL; s = s->next) {
            slots += c->nobj;
            free += s->nfree;
        }
    for (unsigned i = 0; i < c->ncpus; i++)
        cached += c->mags[i].hdr.count;
    cached += (uint64_t)c->ndepot * K23_KMEM_BATCH;
    return slots - free - cached;
}

static void kmem_unlink_cache(k23_kmem_cache_t *c)
{
    k23_kmem_t *km = c->km;
    k23_port_lock_acquire(&km->lock);
    for (k23_kmem_cache_t **p = &km->caches; *p != NULL; p = &(*p)->next_cache)
        if (*p == c) {
            *p = c->next_cache;
            break;
        }
    k23_port_lock_release(&km->lock);
}

/* Destroy c whatever it is; K23_ERR_BUSY while objects are in use. */
static int kmem_cache_teardown(k23_kmem_cache_t *c)
{
    kmem_mags_lock_all(c);
    if (kmem_in_use_locked(c) != 0) {
        kmem_mags_unlock_all(c);
        return K23_ERR_BUSY;
    }
    kmem_mags_drain_locked(c);
    for (unsigned l = 0; l < 3; l++)
        while (c->lists[l] != NULL)
            kmem_slab_release(c, c->lists[l]);
    c->magic = KMEM_CACHE_DEAD;
    kmem_mags_unlock_all(c);
    kmem_unlink_cache(c);
    k23_frames_free_contiguous(c->km->fa, c->self_pa, c->self_bytes);
    return K23_OK;
}

int k23_kmem_cache_destroy(k23_kmem_cache_t *c)
{
    if (c == NULL || !kmem_cache_live(c) || c->is_class)
        return K23_ERR_INVAL;
    return kmem_cache_teardown(c);
}

int k23_kmem_cache_shrink(k23_kmem_cache_t *c, uint64_t *frames)
{
    if (c == NULL || !kmem_cache_live(c))
        return K23_ERR_INVAL;
    kmem_mags_lock_all(c);
    kmem_mags_drain_locked(c);
    uint64_t n = 0;
    while (c->lists[LIST_EMPTY] != NULL) {
        kmem_slab_release(c, c->lists[LIST_EMPTY]);
        n += kmem_slab_bytes(c->km) / c->km->fa->cfg.frame_size;
    }
    kmem_mags_unlock_all(c);
    if (frames != NULL)
        *frames = n;
    return K23_OK;
}

int k23_kmem_cache_stats(k23_kmem_cache_t *c, k23_kmem_cache_stats_t *out)
{
    if (c == NULL || !kmem_cache_live(c) || out == NULL)
        return K23_ERR_INVAL;
    k23_kmem_cache_stats_t st = {0};
    kmem_mags_lock_all(c);
    st.objects_in_use = kmem_in_use_locked(c);
    for (unsigned i = 0; i < c->ncpus; i++)
        st.objects_cached += c->mags[i].hdr.count;
    st.objects_cached += (uint64_t)c->ndepot * K23_KMEM_BATCH;
    st.slabs_empty = c->nslabs[LIST_EMPTY];
    st.slabs_partial = c->nslabs[LIST_PARTIAL];
    st.slabs_full = c->nslabs[LIST_FULL];
    kmem_mags_unlock_all(c);
    st.object_size = c->size;
    st.stride = c->stride;
    st.objects_per_slab = c->nobj;
    st.slab_bytes = kmem_slab_bytes(c->km);
    uint64_t frame = c->km->fa->cfg.frame_size;
    uint64_t self = (c->self_bytes + frame - 1) & ~(frame - 1);
    uint64_t slabs = st.slabs_empty + st.slabs_partial + st.slabs_full;
    st.overhead_bytes = slabs * st.slab_bytes + self -
                        st.objects_in_use * c->size;
    *out = st;
    return K23_OK;
}

/* One slab's invariants: its bitmap marks exactly its FREE objects. */
static bool kmem_check_slab(const k23_kmem_cache_t *c,
                            const struct kmem_slab *s, uint32_t list,
                            uint64_t *cached_states)
{
    uintptr_t base = kmem_slab_base(c->km, s);
    if (s->magic != (KMEM_SLAB_MAGIC ^ (uint64_t)base) || s->cache != c ||
        s->list != list || kmem_list_for(c, s) != list ||
        !kmem_map_names(c->km, s->pa, c->id))
        return false;
    uint32_t nfree = 0;
    for (uint32_t i = 0; i < c->nobj; i++) {
        uint8_t st = *kmem_state_of(s, i);
        if (st == OBJ_FREE)
            nfree++;
        else if (st == OBJ_CACHED)
            (*cached_states)++;
        else if (st != OBJ_ALLOCATED)
            return false;
    }
    /* the bitmap says FREE exactly where the state bytes do, and no
     * word below the hint has a bit set */
    const uint64_t *bm = kmem_bitmap(c, s);
    for (uint32_t w = 0; w < c->bitmap_words; w++)
        for (uint32_t b = 0; b < 64; b++) {
            uint32_t i = w * 64 + b;
            bool set = (bm[w] >> b) & 1;
            if (set != (i < c->nobj && *kmem_state_of(s, i) == OBJ_FREE) ||
                (set && w < s->hint))
                return false;
        }
    return nfree == s->nfree;
}

int k23_kmem_cache_check(k23_kmem_cache_t *c)
{
    if (c == NULL || !kmem_cache_live(c))
        return K23_ERR_INVAL;
    bool ok = true;
    uint64_t cached_states = 0, cached = 0;
    kmem_mags_lock_all(c);
    for (unsigned l = 0; l < 3 && ok; l++) {
        uint64_t n = 0;
        for (const struct kmem_slab *s = c->lists[l]; s != NULL && ok;
             s = s->next, n++)
            ok = (s->prev == NULL ? c->lists[l] == s : s->prev->next == s) &&
                 kmem_check_slab(c, s, l, &cached_states);
        ok = ok && n == c->nslabs[l];
    }
    for (unsigned i = 0; i < c->ncpus && ok; i++) {
        const struct kmem_mag *m = &c->mags[i];
        ok = m->hdr.count <= K23_KMEM_MAGAZINE;
        for (uint32_t j = 0; j < m->hdr.count && ok; j++) {
            void *o = (void *)(uintptr_t)m->slots[j];
            struct kmem_found f = kmem_find_slab(c->km, o);
            ok = f.s != NULL && f.s->cache == c &&
                 *kmem_state_of(f.s, f.idx) == OBJ_CACHED;
        }
        cached += m->hdr.count;
    }
    for (unsigned d = 0; d < c->ndepot && ok; d++)
        for (unsigned j = 0; j < K23_KMEM_BATCH && ok; j++) {
            struct kmem_found f =
                kmem_find_slab(c->km, (void *)(uintptr_t)c->depot[d][j]);
            ok = f.s != NULL && f.s->cache == c &&
                 *kmem_state_of(f.s, f.idx) == OBJ_CACHED;
        }
    cached += (uint64_t)c->ndepot * K23_KMEM_BATCH;
    /* Every CACHED object is in a magazine: nothing is in transit while
     * every magazine is fenced and the cache lock held, except a free
     * or a refill caught between its state change and its push (see
     * docs/kmem.md: the check is exact on a quiescent cache). */
    ok = ok && cached_states == cached;
    kmem_mags_unlock_all(c);
    if (!ok)
        k23_port_log(K23_LOG_ERROR, "k23_kmem_cache_check: inconsistent cache");
    return ok ? K23_OK : K23_ERR_CORRUPT;
}

/* ---- kmalloc ---- */

/* Size classes: 8, 16, 32, 48, 64, then four per power of two (80, 96,
 * 112, 128, 160, ...) up to half a frame. */
static uint64_t kmem_class_bytes(unsigned i)
{
    static const uint8_t small[5] = {8, 16, 32, 48, 64};
    if (i < 5)
        return small[i];
    unsigned e = 6 + (i - 5) / 4, q = (i - 5) % 4;
    return (UINT64_C(1) << e) + (uint64_t)(q + 1) * (UINT64_C(1) << (e - 2));
}

static unsigned kmem_class_index(uint64_t size)
{
    if (size <= 8)
        return 0;
    if (size <= 16)
        return 1;
    if (size <= 64)
        return 2 + (unsigned)((size - 17) / 16);
    uint64_t s = size - 1;
    unsigned e = 63 - (unsigned)__builtin_clzll(s);
    unsigned q = (unsigned)(s >> (e - 2)) & 3;
    return 5 + (e - 6) * 4 + q;
}

struct k23_kmem_large {
    k23_paddr_t pa;
    uint64_t bytes;
    struct k23_kmem_large *next;
};

static unsigned kmem_large_bucket(const k23_kmem_t *km, k23_paddr_t pa)
{
    uint64_t h = (pa >> km->fa->frame_shift) * UINT64_C(0x9e3779b97f4a7c15);
    return (unsigned)(h >> 32) & (km->large_nbuckets - 1);
}

static void *kmem_large_alloc(k23_kmem_t *km, size_t size, uint32_t flags)
{
    struct k23_kmem_large *r = kmem_cache_alloc_general(km->records, 0);
    if (r == NULL)
        return NULL;
    uint64_t frame = km->fa->cfg.frame_size;
    uint64_t bytes;
    if (k23_add_overflow_((uint64_t)size, frame - 1, &bytes)) {
        k23_kmem_cache_free(km->records, r);
        return NULL;
    }
    bytes &= ~(frame - 1);
    int rc = (flags & K23_KMEM_ZERO)
                 ? k23_frames_alloc_contiguous_zeroed(km->fa, bytes, 0, &r->pa)
                 : k23_frames_alloc_contiguous(km->fa, bytes, 0, &r->pa);
    if (rc != K23_OK) {
        k23_kmem_cache_free(km->records, r);
        return NULL;
    }
    r->bytes = bytes;
    k23_port_lock_acquire(&km->lock);
    unsigned b = kmem_large_bucket(km, r->pa);
    r->next = km->large[b];
    km->large[b] = r;
    km->large_count++;
    km->large_bytes += bytes;
    k23_port_lock_release(&km->lock);
    return kmem_p2v(km, r->pa);
}

/* Find (and with unlink, remove) the large allocation at pa. */
static struct k23_kmem_large *kmem_large_find(k23_kmem_t *km, k23_paddr_t pa,
                                              bool unlink)
{
    k23_port_lock_acquire(&km->lock);
    struct k23_kmem_large **p = &km->large[kmem_large_bucket(km, pa)];
    while (*p != NULL && (*p)->pa != pa)
        p = &(*p)->next;
    struct k23_kmem_large *r = *p;
    if (r != NULL && unlink) {
        *p = r->next;
        km->large_count--;
        km->large_bytes -= r->bytes;
    }
    k23_port_lock_release(&km->lock);
    return r;
}

__attribute__((noinline, cold)) K23_NORETURN static void
kmem_bad_layer(const k23_kmem_t *km, const char *what)
{
    kmem_panic_obj(what, km, NULL);
}

static inline void kmem_require_live(const k23_kmem_t *km, const char *what)
{
    if (K23_UNLIKELY(!kmem_live(km)))
        kmem_bad_layer(km, what);
}

/* What the table does not answer: zeroing, unknown flags, size 0, the
 * classes above 1 KiB, caches that are not plain, frame runs. */
static __attribute__((noinline)) void *
kmem_kmalloc_slow(k23_kmem_t *km, size_t size, uint32_t flags)
{
    K23_REQUIRE((flags & ~K23_KMEM_ZERO) == 0, "k23_kmalloc");
    if (size == 0)
        return NULL;
    if (size > km->class_size[km->nclasses - 1])
        return kmem_large_alloc(km, size, flags);
    k23_kmem_cache_t *c = km->classes[kmem_class_index(size)];
    return kmem_cache_alloc_general(c, flags);
}

void *k23_kmalloc(k23_kmem_t *km, size_t size, uint32_t flags)
{
    kmem_require_live(km, "k23_kmalloc: not an initialised k23_kmem_t:");
    /* size 0 wraps to SIZE_MAX here and takes the slow path */
    if (K23_LIKELY(size - 1 < km->table_bytes && flags == 0)) {
        k23_kmem_cache_t *c = km->class_of[(size - 1) >> 3];
        if (K23_LIKELY(c->plain))
            return kmem_alloc_hit(c);
    }
    return kmem_kmalloc_slow(km, size, flags);
}

__attribute__((noinline, cold)) K23_NORETURN static void
kmem_kfree_of_cache_object(const void *ptr, const k23_kmem_cache_t *c)
{
    kmem_panic_obj("k23_kfree: object of a cache, not of k23_kmalloc:", ptr,
                   c);
}

/* k23_kfree() of what the slab map does not place: a frame run, a direct
 * map that is not linear, or memory k23_kmalloc() did not hand out. */
static __attribute__((noinline)) void kmem_kfree_slow(k23_kmem_t *km,
                                                      void *ptr)
{
    struct kmem_found f = kmem_find_slab(km, ptr);
    if (f.s != NULL) {
        if (K23_UNLIKELY(!f.s->cache->kmalloc_class))
            kmem_kfree_of_cache_object(ptr, f.s->cache);
        kmem_free_in_slab(f.s->cache, ptr, false);
        return;
    }
    k23_paddr_t pa = kmem_v2p(km, ptr);
    struct k23_kmem_large *r = kmem_large_find(km, pa, true);
    if (r == NULL)
        kmem_panic_obj("k23_kfree: not memory of k23_kmalloc (or freed "
                       "already):", ptr, NULL);
    k23_frames_free_contiguous(km->fa, r->pa, r->bytes);
    k23_kmem_cache_free(km->records, r);
}

void k23_kfree(k23_kmem_t *km, void *ptr)
{
    kmem_require_live(km, "k23_kfree: not an initialised k23_kmem_t:");
    if (ptr == NULL)
        return;
    /* class i has id i + 1; 0 (no slab) wraps to above every class */
    unsigned id =
        kmem_map_lookup(km->map_vlo, km->map_span, km->slab_map, ptr);
    if (K23_LIKELY(id - 1 < km->nclasses)) {
        k23_kmem_cache_t *c = km->classes[id - 1];
        if (K23_LIKELY(c->magic == KMEM_CACHE_PLAIN)) {
            kmem_free_in_slab(c, ptr, true);
            return;
        }
    }
    kmem_kfree_slow(km, ptr);
}

/* The usable size of ptr, live memory of k23_kmalloc(); panics with
 * msg, naming the address, when it is not. */
static size_t kmem_kmalloc_usable(k23_kmem_t *km, const void *ptr,
                                  const char *msg)
{
    struct kmem_found f = kmem_find_slab(km, ptr);
    struct kmem_slab *s = f.s;
    uint32_t idx = f.idx;
    if (s != NULL && s->cache->kmalloc_class &&
        *kmem_state_of(s, idx) == OBJ_ALLOCATED)
        return (size_t)s->cache->size;
    struct k23_kmem_large *r =
        s == NULL ? kmem_large_find(km, kmem_v2p(km, ptr), false) : NULL;
    if (r == NULL)
        kmem_panic_obj(msg, ptr, NULL);
    return (size_t)r->bytes;
}

size_t k23_kmalloc_usable_size(k23_kmem_t *km, const void *ptr)
{
    kmem_require_live(km, "k23_kmalloc_usable_size: not an initialised "
                          "k23_kmem_t:");
    K23_REQUIRE(ptr != NULL, "k23_kmalloc_usable_size");
    return kmem_kmalloc_usable(km, ptr, "k23_kmalloc_usable_size: not live "
                                        "memory of k23_kmalloc:");
}

void *k23_kmalloc_array(k23_kmem_t *km, size_t n, size_t size, uint32_t flags)
{
    kmem_require_live(km, "k23_kmalloc_array: not an initialised k23_kmem_t:");
    K23_REQUIRE((flags & ~K23_KMEM_ZERO) == 0, "k23_kmalloc_array");
    size_t bytes;
    if (k23_mul_overflow_(n, size, &bytes))
        return NULL;
    return k23_kmalloc(km, bytes, flags);
}

/* Bytes that k23_kmalloc(size) takes (size > 0, not above a size the
 * layer handed out): its class's size, or whole frames. */
static uint64_t kmem_kmalloc_bytes(const k23_kmem_t *km, size_t size)
{
    if (size <= km->class_size[km->nclasses - 1])
        return km->class_size[kmem_class_index(size)];
    uint64_t frame = km->fa->cfg.frame_size;
    return ((uint64_t)size + frame - 1) & ~(frame - 1);
}

/* Move the first n bytes of ptr into q and free ptr. */
static void *kmem_move(k23_kmem_t *km, void *q, void *ptr, size_t n)
{
    k23_memcopy_(q, ptr, n);
    k23_kfree(km, ptr);
    return q;
}

void *k23_krealloc(k23_kmem_t *km, void *ptr, size_t size, uint32_t flags)
{
    kmem_require_live(km, "k23_krealloc: not an initialised k23_kmem_t:");
    K23_REQUIRE((flags & ~K23_KMEM_ZERO) == 0, "k23_krealloc");
    if (ptr == NULL)
        return k23_kmalloc(km, size, flags);
    /* checked before anything else: a foreign or freed ptr panics even
     * when the request would fail */
    size_t old = kmem_kmalloc_usable(km, ptr, "k23_krealloc: not live "
                                              "memory of k23_kmalloc:");
    if (size == 0)
        return NULL;
    if (size <= old) {
        /* a shrink moves only when it frees more than half, and never
         * fails: without a smaller allocation ptr stays */
        if (size > old / 2 || kmem_kmalloc_bytes(km, size) >= old)
            return ptr;
        void *q = k23_kmalloc(km, size, flags);
        return q != NULL ? kmem_move(km, q, ptr, size) : ptr;
    }
    void *q = k23_kmalloc(km, size, flags);
    return q != NULL ? kmem_move(km, q, ptr, old) : NULL;
}

unsigned k23_kmem_class_count(const k23_kmem_t *km)
{
    kmem_require_live(km, "k23_kmem_class_count: not an initialised "
                          "k23_kmem_t:");
    return km->nclasses;
}

int k23_kmem_class_info(const k23_kmem_t *km, unsigned i,
                        k23_kmem_class_info_t *out)
{
    if (!kmem_live(km) || out == NULL || i >= km->nclasses)
        return K23_ERR_INVAL;
    const k23_kmem_cache_t *c = km->classes[i];
    uint64_t slab = kmem_slab_bytes(km);
    out->size = c->size;
    out->objects_per_slab = c->nobj;
    out->slab_bytes = slab;
    out->waste_per_object = slab / c->nobj - c->size;
    return K23_OK;
}

/* ---- setup and teardown ---- */

static void kmem_free_tables(k23_kmem_t *km)
{
    if (km->slab_map != NULL)
        k23_frames_free_contiguous(km->fa, km->slab_map_pa, km->slab_map_bytes);
    if (km->large != NULL)
        k23_frames_free_contiguous(km->fa, km->large_pa,
                                   km->fa->cfg.frame_size);
    km->slab_map = NULL;
    km->large = NULL;
}

/* The bounds of the frame allocator's memory, rounded out to slabs. */
static int kmem_memory_bounds(k23_kmem_t *km)
{
    k23_frames_arena_info_t first, last;
    unsigned n = km->fa->narenas;
    if (n == 0 || k23_frames_arena_info(km->fa, 0, &first) != K23_OK ||
        k23_frames_arena_info(km->fa, n - 1, &last) != K23_OK)
        return K23_ERR_INVAL;
    uint64_t slab = kmem_slab_bytes(km);
    km->lo = first.range.base & ~(slab - 1);
    uint64_t end = last.range.base + last.range.size; /* 2^64 wraps to 0 */
    km->hi = end == 0 ? UINT64_MAX : end;
    return K23_OK;
}

/* Whether the direct map is one constant offset over every arena (as
 * direct maps and identity maps are): then an object's physical address
 * is its virtual one minus that offset, with no call per free. */
static void kmem_detect_linear(k23_kmem_t *km)
{
    uint64_t delta = 0;
    km->linear = false;
    for (unsigned i = 0; i < km->fa->narenas; i++) {
        k23_frames_arena_info_t a;
        if (k23_frames_arena_info(km->fa, i, &a) != K23_OK)
            return;
        k23_paddr_t last = a.range.base + (a.range.size - 1);
        uint64_t d0 = (uint64_t)(uintptr_t)kmem_p2v(km, a.range.base) -
                      a.range.base;
        uint64_t d1 = (uint64_t)(uintptr_t)kmem_p2v(km, last) - last;
        if (d0 != d1 || (i > 0 && d0 != delta))
            return;
        delta = d0;
    }
    km->vdelta = delta;
    km->linear = true;
}

static int kmem_tables_init(k23_kmem_t *km)
{
    uint64_t frame = km->fa->cfg.frame_size;
    uint64_t blocks = ((km->hi - km->lo) >> KMEM_MAP_SHIFT) + 1;
    km->slab_map_bytes = (blocks * sizeof(uint16_t) + frame - 1) & ~(frame - 1);
    if (k23_frames_alloc_contiguous_zeroed(km->fa, km->slab_map_bytes, 0,
                                           &km->slab_map_pa) != K23_OK)
        return K23_ERR_NOMEM;
    km->slab_map = kmem_p2v(km, km->slab_map_pa);
    if (k23_frames_alloc_one_zeroed(km->fa, &km->large_pa) != K23_OK) {
        kmem_free_tables(km);
        return K23_ERR_NOMEM;
    }
    km->large = kmem_p2v(km, km->large_pa);
    km->large_nbuckets = (unsigned)(frame / sizeof(struct k23_kmem_large *));
    return K23_OK;
}

/* Destroy every cache of km (the classes and the records); K23_ERR_BUSY
 * when one holds objects in use. */
static int kmem_caches_teardown(k23_kmem_t *km)
{
    for (unsigned i = 0; i < km->nclasses; i++)
        if (km->classes[i] != NULL) {
            if (kmem_cache_teardown(km->classes[i]) != K23_OK)
                return K23_ERR_BUSY;
            km->classes[i] = NULL;
        }
    if (km->records != NULL) {
        if (kmem_cache_teardown(km->records) != K23_OK)
            return K23_ERR_BUSY;
        km->records = NULL;
    }
    return K23_OK;
}

/* The table k23_kmalloc() looks requests up to 1 KiB in: one entry per
 * 8 bytes (every class is a multiple of 8). */
static void kmem_class_table_init(k23_kmem_t *km)
{
    uint64_t top = km->nclasses > 0 ? km->class_size[km->nclasses - 1] : 0;
    uint64_t max = (sizeof(km->class_of) / sizeof(km->class_of[0])) * 8;
    km->table_bytes = (uint32_t)(top < max ? top : max);
    for (uint32_t g = 0; g < km->table_bytes / 8; g++)
        km->class_of[g] = km->classes[kmem_class_index((uint64_t)g * 8 + 8)];
}

static int kmem_classes_init(k23_kmem_t *km)
{
    uint64_t half = km->fa->cfg.frame_size / 2;
    unsigned n = 0;
    while (n < K23_KMEM_CLASSES_MAX && kmem_class_bytes(n) <= half)
        n++;
    for (unsigned i = 0; i < n; i++) {
        uint64_t sz = kmem_class_bytes(i);
        km->class_size[i] = (uint32_t)sz;
        char name[K23_KMEM_NAME_MAX];
        size_t pos = 0;
        k23_str_append_(name, sizeof(name), &pos, "kmalloc-");
        k23_str_append_u64_(name, sizeof(name), &pos, sz, 10);
        int rc = kmem_cache_make(km, name, (size_t)sz, 0, NULL, NULL,
                                 km->cfg.kmalloc_flags, true, &km->classes[i]);
        km->nclasses = i + (rc == K23_OK);
        if (rc != K23_OK)
            return rc;
    }
    for (unsigned i = 0; i < n; i++) {
        K23_ASSERT_INTERNAL_FOUND(km->classes[i]->id == i + 1,
                                  km->classes[i]->id);
        km->classes[i]->kmalloc_class = true;
    }
    kmem_class_table_init(km);
    return kmem_cache_make(km, "kmem-large", sizeof(struct k23_kmem_large),
                           0, NULL, NULL, 0, true, &km->records);
}

int k23_kmem_init(k23_kmem_t *km, k23_frames_t *fa,
                  const k23_kmem_config_t *cfg)
{
    if (km == NULL || fa == NULL || fa->narenas == 0 ||
        fa->cfg.frame_size == 0)
        return K23_ERR_INVAL;
    k23_kmem_config_t c = {0};
    if (cfg != NULL)
        c = *cfg;
    if ((c.phys_to_virt == NULL) != (c.virt_to_phys == NULL) ||
        (c.kmalloc_flags & ~(uint32_t)(K23_KMEM_DEBUG_POISON |
                                       K23_KMEM_DEBUG_REDZONE)))
        return K23_ERR_INVAL;
    k23_memzero_(km, sizeof(*km));
    km->fa = fa;
    km->cfg = c;
    /* Eight frames: the largest class, half a frame, then fits a slab
     * 15 times (6.6% waste); with frames of 64 KiB and more a slab of one
     * frame held a single object of it and refused the class. */
    uint64_t slab = fa->cfg.frame_size <= KMEM_SLAB_MIN_BYTES / 8
                        ? KMEM_SLAB_MIN_BYTES
                        : fa->cfg.frame_size * 8;
    km->slab_shift = (unsigned)__builtin_ctzll(slab);
    if (k23_frames_max_alignment(fa) < slab)
        return K23_ERR_INVAL;
    k23_port_lock_init(&km->lock);
    int rc = kmem_memory_bounds(km);
    kmem_detect_linear(km);
    if (rc == K23_OK)
        rc = kmem_tables_init(km);
    if (rc != K23_OK)
        return rc;
    if (km->linear) {
        km->map_vlo = (uintptr_t)(km->lo + km->vdelta);
        km->map_span = km->hi - km->lo;
    }
    km->magic = KMEM_MAGIC;
    rc = kmem_classes_init(km);
    if (rc != K23_OK) {
        kmem_caches_teardown(km);
        kmem_free_tables(km);
        km->magic = 0;
    }
    return rc;
}

int k23_kmem_destroy(k23_kmem_t *km)
{
    if (!kmem_live(km))
        return K23_ERR_INVAL;
    k23_port_lock_acquire(&km->lock);
    bool busy = km->large_count != 0;
    for (const k23_kmem_cache_t *c = km->caches; c != NULL && !busy;
         c = c->next_cache)
        busy = !c->is_class;
    k23_port_lock_release(&km->lock);
    if (busy)
        return K23_ERR_BUSY;
    /* All classes must be idle before any is destroyed: nothing changes
     * on K23_ERR_BUSY. */
    for (unsigned i = 0; i < km->nclasses; i++) {
        k23_kmem_cache_stats_t st;
        k23_kmem_cache_stats(km->classes[i], &st);
        if (st.objects_in_use != 0)
            return K23_ERR_BUSY;
    }
    int rc = kmem_caches_teardown(km);
    if (rc != K23_OK)
        return rc;
    kmem_free_tables(km);
    km->magic = 0;
    return K23_OK;
}
