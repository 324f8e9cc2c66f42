/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Object caches (k23mem/kmem.h): a model test of k23_kmalloc/k23_kfree
 * against a shadow set of live objects, the cache API with constructors,
 * shrink/destroy accounting against the frame allocator's statistics,
 * fault injection of slab allocation, and one test per misuse panic.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "k23mem/kmem.h"
#include "panic_capture.h"

TestSuite(kmem);

#define MiB (UINT64_C(1) << 20)
#define F4K UINT64_C(4096)

static k23_frames_t fa;
static k23_kmem_t km;

static unsigned char *ram_map(uint64_t size, uint64_t align)
{
    void *p = mmap(NULL, (size_t)(size + align), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert(p != MAP_FAILED);
    uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    return (unsigned char *)a;
}

/* Frames over `size` bytes of fresh memory (identity "physical" map). */
static void frames_up(uint64_t size, unsigned cache_frames)
{
    unsigned char *ram = ram_map(size, 2 * MiB);
    k23_frames_config_t c;
    cr_assert_eq(k23_frames_config_default(&c, F4K), K23_OK);
    c.cache_frames = cache_frames;
    if (cache_frames != 0 && c.cache_batch > cache_frames)
        c.cache_batch = cache_frames;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, size};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
}

static uint64_t frames_free(void)
{
    k23_frames_drain_all(&fa);
    k23_frames_stats_t s;
    cr_assert_eq(k23_frames_stats(&fa, &s), K23_OK);
    return s.free_frames;
}

/* Free frames before k23_kmem_init(): what destroy must give back. */
static uint64_t free_before_kmem;

static void setup(void)
{
    frames_up(64 * MiB, 64);
    free_before_kmem = frames_free();
    cr_assert_eq(k23_kmem_init(&km, &fa, NULL), K23_OK);
}

/* Keep this test's process on the CPU it runs on, so that an object
 * freed into its magazine is the next one handed out again (the poison
 * tests need the freed object back). */
static void stay_on_this_cpu(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- classes ---- */

Test(kmem, classes_are_increasing_and_waste_is_bounded, .init = setup)
{
    unsigned n = k23_kmem_class_count(&km);
    cr_assert_gt(n, 20);
    uint64_t prev = 0;
    for (unsigned i = 0; i < n; i++) {
        k23_kmem_class_info_t ci;
        cr_assert_eq(k23_kmem_class_info(&km, i, &ci), K23_OK);
        cr_assert_gt(ci.size, prev);
        cr_assert_eq(ci.size % 8, 0);
        cr_assert_leq(ci.size, F4K / 2);
        /* at most 1/8 of the object plus a state byte and change */
        cr_assert_leq(ci.waste_per_object * 8, ci.size + 16,
                      "class %llu wastes %llu bytes per object",
                      (unsigned long long)ci.size,
                      (unsigned long long)ci.waste_per_object);
        /* every request of the class fits, and kmalloc picks it */
        void *p = k23_kmalloc(&km, (size_t)ci.size, 0);
        cr_assert_not_null(p);
        cr_assert_eq(k23_kmalloc_usable_size(&km, p), ci.size);
        if (prev + 1 <= ci.size) {
            void *q = k23_kmalloc(&km, (size_t)prev + 1, 0);
            cr_assert_eq(k23_kmalloc_usable_size(&km, q), ci.size);
            k23_kfree(&km, q);
        }
        k23_kfree(&km, p);
        prev = ci.size;
    }
    k23_kmem_class_info_t ci;
    cr_assert_eq(k23_kmem_class_info(&km, n, &ci), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_class_info(NULL, 0, &ci), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_class_info(&km, 0, NULL), K23_ERR_INVAL);
}

/* Largest power of two dividing x, at most a frame. */
static uint64_t natural_align(uint64_t x)
{
    uint64_t a = x & (~x + 1);
    return a > F4K ? F4K : a;
}

/* ---- the model test ---- */

struct live {
    unsigned char *p;
    size_t size;
    uint8_t tag;
};

static int live_cmp(const void *a, const void *b)
{
    const struct live *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}

static void fill(const struct live *l)
{
    size_t n = l->size <= 512 ? l->size : 64;
    memset(l->p, l->tag, n);
    memset(l->p + l->size - n, l->tag, n);
}

static void verify(const struct live *l)
{
    size_t n = l->size <= 512 ? l->size : 64;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(l->p[i], l->tag, "object %p byte %zu changed", l->p, i);
        cr_assert_eq(l->p[l->size - 1 - i], l->tag);
    }
}

static void check_no_overlap(struct live *v, size_t n)
{
    struct live *s = malloc(n * sizeof(*s));
    memcpy(s, v, n * sizeof(*s));
    qsort(s, n, sizeof(*s), live_cmp);
    for (size_t i = 1; i < n; i++)
        cr_assert_leq(s[i - 1].p + s[i - 1].size, s[i].p,
                      "objects %p and %p overlap", s[i - 1].p, s[i].p);
    free(s);
}

/* Random kmalloc/kfree against a shadow set: sizes from 1 byte to a few
 * frames, zeroed or not; contents kept until free; no overlap; aligned to
 * the class; every frame back at the end. */
Test(kmem, kmalloc_model_1e6_ops, .init = setup, .timeout = 300)
{
    enum { MAXLIVE = 4096, OPS = 1000000 };
    struct live *v = calloc(MAXLIVE, sizeof(*v));
    size_t n = 0;
    for (long op = 0; op < OPS; op++) {
        uint64_t r = rnd();
        bool do_alloc = n == 0 || (n < MAXLIVE && (r & 3) != 0 && n < 3000) ||
                        (n < MAXLIVE && (r & 7) == 0);
        if (do_alloc) {
            size_t size;
            unsigned kind = (unsigned)(r >> 8) % 16;
            if (kind < 10)
                size = 1 + (size_t)((r >> 16) % 128);
            else if (kind < 15)
                size = 1 + (size_t)((r >> 16) % 2048);
            else
                size = 2049 + (size_t)((r >> 16) % (5 * F4K));
            bool zero = (r >> 40) & 1;
            unsigned char *p = k23_kmalloc(&km, size, zero ? K23_KMEM_ZERO : 0);
            cr_assert_not_null(p, "op %ld: kmalloc(%zu) failed", op, size);
            size_t usable = k23_kmalloc_usable_size(&km, p);
            cr_assert_geq(usable, size);
            cr_assert_eq((uintptr_t)p % natural_align(usable), 0,
                         "%p (usable %zu) misaligned", p, usable);
            if (zero)
                for (size_t i = 0; i < size; i++)
                    cr_assert_eq(p[i], 0, "op %ld: zeroed object byte %zu", op, i);
            v[n] = (struct live){p, size, (uint8_t)(op * 37 + 1)};
            fill(&v[n]);
            n++;
        } else {
            size_t i = (size_t)((r >> 8) % n);
            verify(&v[i]);
            k23_kfree(&km, v[i].p);
            v[i] = v[--n];
        }
        if (op % 100000 == 0) {
            check_no_overlap(v, n);
            for (unsigned c = 0; c < k23_kmem_class_count(&km); c++)
                cr_assert_eq(k23_kmem_cache_check(km.classes[c]), K23_OK);
        }
    }
    check_no_overlap(v, n);
    while (n > 0) {
        verify(&v[n - 1]);
        k23_kfree(&km, v[--n].p);
    }
    free(v);
    cr_assert_eq(k23_kmem_destroy(&km), K23_OK);
    cr_assert_eq(frames_free(), free_before_kmem, "frames lost");
}

/* ---- caches ---- */

struct thing {
    uint64_t magic;
    uint64_t generation;
    char payload[40];
};

static void thing_ctor(void *obj, void *ctx)
{
    struct thing *t = obj;
    t->magic = 0x7468696e67;
    t->generation = 0;
    (*(long *)ctx)++;
}

Test(kmem, constructor_state_is_kept_across_reuse, .init = setup)
{
    long constructed = 0;
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "thing", sizeof(struct thing), 0,
                                       thing_ctor, &constructed, 0, &c),
                 K23_OK);
    struct thing *t[500];
    for (int i = 0; i < 500; i++) {
        t[i] = k23_kmem_cache_alloc(c, 0);
        cr_assert_not_null(t[i]);
        cr_assert_eq(t[i]->magic, 0x7468696e67);
        cr_assert_eq(t[i]->generation, 0);
        cr_assert_eq((uintptr_t)t[i] % 8, 0);
    }
    long after_first = constructed;
    cr_assert_geq(after_first, 500);
    for (int i = 0; i < 500; i++) {
        memset(t[i]->payload, 'x', sizeof(t[i]->payload));
        k23_kmem_cache_free(c, t[i]); /* constructed state: magic, gen 0 */
    }
    for (int i = 0; i < 500; i++) {
        t[i] = k23_kmem_cache_alloc(c, 0);
        cr_assert_eq(t[i]->magic, 0x7468696e67, "constructed state lost");
    }
    cr_assert_eq(constructed, after_first, "objects constructed twice");
    for (int i = 0; i < 500; i++)
        k23_kmem_cache_free(c, t[i]);
    cr_assert_eq(k23_kmem_cache_check(c), K23_OK);
    cr_assert_eq(k23_kmem_cache_destroy(c), K23_OK);
}

Test(kmem, alignment_up_to_a_frame, .init = setup)
{
    for (size_t align = 8; align <= F4K; align <<= 1) {
        k23_kmem_cache_t *c;
        cr_assert_eq(k23_kmem_cache_create(&km, "aligned", 24, align, NULL,
                                           NULL, 0, &c), K23_OK);
        void *p[40];
        for (int i = 0; i < 40; i++) {
            p[i] = k23_kmem_cache_alloc(c, K23_KMEM_ZERO);
            cr_assert_eq((uintptr_t)p[i] % align, 0);
        }
        for (int i = 0; i < 40; i++)
            k23_kmem_cache_free(c, p[i]);
        cr_assert_eq(k23_kmem_cache_destroy(c), K23_OK);
    }
}

Test(kmem, stats_shrink_and_destroy_account_every_frame, .init = setup)
{
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "obj100", 100, 0, NULL, NULL, 0,
                                       &c), K23_OK);
    enum { N = 5000 };
    void **p = calloc(N, sizeof(*p));
    for (int i = 0; i < N; i++)
        p[i] = k23_kmem_cache_alloc(c, 0);
    k23_kmem_cache_stats_t st;
    cr_assert_eq(k23_kmem_cache_stats(c, &st), K23_OK);
    cr_assert_eq(st.objects_in_use, N);
    cr_assert_eq(st.object_size, 100);
    cr_assert_geq(st.stride, 100);
    uint64_t slabs = st.slabs_full + st.slabs_partial + st.slabs_empty;
    cr_assert_geq(slabs * st.objects_per_slab, N);
    cr_assert_eq(k23_kmem_cache_destroy(c), K23_ERR_BUSY);
    for (int i = 0; i < N; i++)
        k23_kmem_cache_free(c, p[i]);
    cr_assert_eq(k23_kmem_cache_stats(c, &st), K23_OK);
    cr_assert_eq(st.objects_in_use, 0);
    cr_assert_leq(st.slabs_empty, 1, "only one empty slab is kept");
    uint64_t shrunk;
    cr_assert_eq(k23_kmem_cache_shrink(c, &shrunk), K23_OK);
    cr_assert_eq(k23_kmem_cache_stats(c, &st), K23_OK);
    cr_assert_eq(st.slabs_empty + st.slabs_partial + st.slabs_full, 0);
    cr_assert_eq(st.objects_cached, 0);
    cr_assert_eq(k23_kmem_cache_check(c), K23_OK);
    cr_assert_eq(k23_kmem_cache_destroy(c), K23_OK);
    cr_assert_eq(k23_kmem_destroy(&km), K23_OK);
    cr_assert_eq(frames_free(), free_before_kmem);
    free(p);
}

Test(kmem, destroy_refuses_while_anything_is_live, .init = setup)
{
    void *p = k23_kmalloc(&km, 40, 0);
    cr_assert_eq(k23_kmem_destroy(&km), K23_ERR_BUSY);
    k23_kfree(&km, p);
    void *big = k23_kmalloc(&km, 3 * F4K, 0);
    cr_assert_eq(k23_kmem_destroy(&km), K23_ERR_BUSY);
    k23_kfree(&km, big);
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "c", 8, 0, NULL, NULL, 0, &c),
                 K23_OK);
    cr_assert_eq(k23_kmem_destroy(&km), K23_ERR_BUSY);
    cr_assert_eq(k23_kmem_cache_destroy(c), K23_OK);
    cr_assert_eq(k23_kmem_destroy(&km), K23_OK);
    cr_assert_eq(k23_kmem_destroy(&km), K23_ERR_INVAL);
}

Test(kmem, invalid_arguments_are_refused)
{
    frames_up(16 * MiB, 0);
    k23_kmem_cache_t *c = NULL;
    cr_assert_eq(k23_kmem_init(NULL, &fa, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_init(&km, NULL, NULL), K23_ERR_INVAL);
    k23_kmem_config_t half = {0};
    half.virt_to_phys = NULL;
    half.phys_to_virt = (void *(*)(void *, k23_paddr_t))1;
    cr_assert_eq(k23_kmem_init(&km, &fa, &half), K23_ERR_INVAL);
    k23_kmem_config_t flags = {.kmalloc_flags = 0x80};
    cr_assert_eq(k23_kmem_init(&km, &fa, &flags), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_create(&km, "x", 8, 0, NULL, NULL, 0, &c),
                 K23_ERR_INVAL, "not initialised yet");
    cr_assert_eq(k23_kmem_init(&km, &fa, NULL), K23_OK);
    cr_assert_eq(k23_kmem_cache_create(&km, NULL, 8, 0, NULL, NULL, 0, &c),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_create(&km, "x", 0, 0, NULL, NULL, 0, &c),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_create(&km, "x", SIZE_MAX, 0, NULL, NULL, 0,
                                       &c), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_create(&km, "x", 8, 24, NULL, NULL, 0, &c),
                 K23_ERR_INVAL, "alignment not a power of two");
    cr_assert_eq(k23_kmem_cache_create(&km, "x", 8, 2 * F4K, NULL, NULL, 0,
                                       &c), K23_ERR_INVAL,
                 "alignment above a frame");
    long n = 0;
    cr_assert_eq(k23_kmem_cache_create(&km, "x", 64, 0, thing_ctor, &n,
                                       K23_KMEM_DEBUG_POISON, &c),
                 K23_ERR_INVAL, "poison would destroy constructed state");
    cr_assert_eq(k23_kmem_cache_create(&km, "x", 8, 0, NULL, NULL, 0x40, &c),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_create(&km, "x", 8, 0, NULL, NULL, 0, NULL),
                 K23_ERR_INVAL);
    cr_assert_null(c, "out untouched on error");
    cr_assert_null(k23_kmalloc(&km, 0, 0));
    cr_assert_null(k23_kmalloc(&km, SIZE_MAX, 0));
    k23_kfree(&km, NULL);
    cr_assert_eq(k23_kmem_cache_destroy(NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_destroy(km.classes[0]), K23_ERR_INVAL,
                 "kmalloc classes are not the caller's to destroy");
    cr_assert_eq(k23_kmem_cache_shrink(NULL, NULL), K23_ERR_INVAL);
    k23_kmem_cache_stats_t st;
    cr_assert_eq(k23_kmem_cache_stats(NULL, &st), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_stats(km.classes[0], NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_kmem_cache_check(NULL), K23_ERR_INVAL);
}

/* Out of frames: allocation returns NULL, nothing leaks, and everything
 * works again once frames are back. */
Test(kmem, running_out_of_frames_returns_null_and_recovers)
{
    frames_up(4 * MiB, 0);
    cr_assert_eq(k23_kmem_init(&km, &fa, NULL), K23_OK);
    uint64_t free0 = frames_free();
    enum { MAX = 1 << 20 };
    void **p = calloc(MAX, sizeof(*p));
    size_t n = 0;
    while (n < MAX && (p[n] = k23_kmalloc(&km, 200, 0)) != NULL)
        n++;
    cr_assert_lt(n, MAX);
    cr_assert_gt(n, 1000);
    cr_assert_null(k23_kmalloc(&km, 3 * F4K, 0));
    for (size_t i = 0; i < n; i++)
        k23_kfree(&km, p[i]);
    k23_kmem_cache_shrink(km.classes[0], NULL);
    for (unsigned i = 0; i < k23_kmem_class_count(&km); i++)
        cr_assert_eq(k23_kmem_cache_shrink(km.classes[i], NULL), K23_OK);
    cr_assert_eq(frames_free(), free0);
    void *q = k23_kmalloc(&km, 3 * F4K, 0);
    cr_assert_not_null(q);
    k23_kfree(&km, q);
    free(p);
}

/* ---- misuse panics ---- */

Test(kmem, kfree_twice_panics, .init = setup, .signal = SIGABRT)
{
    void *p = k23_kmalloc(&km, 64, 0);
    k23_kfree(&km, p);
    k23_kfree(&km, p);
}

Test(kmem, cache_free_twice_panics, .init = setup, .signal = SIGABRT)
{
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "c", 32, 0, NULL, NULL, 0, &c),
                 K23_OK);
    void *p = k23_kmem_cache_alloc(c, 0);
    k23_kmem_cache_free(c, p);
    k23_kmem_cache_free(c, p);
}

Test(kmem, double_free_after_the_object_reached_its_slab_panics,
     .init = setup, .signal = SIGABRT)
{
    void *keep = k23_kmalloc(&km, 64, 0); /* keeps the slab alive */
    void *p = k23_kmalloc(&km, 64, 0);
    k23_kfree(&km, p);
    cr_assert_eq(k23_kmem_cache_shrink(km.classes[4], NULL), K23_OK);
    (void)keep;
    k23_kfree(&km, p); /* p is FREE on its slab now */
}

Test(kmem, kfree_of_a_stack_address_panics, .init = setup, .signal = SIGABRT)
{
    long local = 0;
    k23_kfree(&km, &local);
}

Test(kmem, kfree_of_frame_allocator_memory_panics, .init = setup,
     .signal = SIGABRT)
{
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    k23_kfree(&km, (void *)(uintptr_t)pa);
}

Test(kmem, kfree_of_an_interior_pointer_panics, .init = setup,
     .signal = SIGABRT)
{
    char *p = k23_kmalloc(&km, 64, 0);
    k23_kfree(&km, p + 8);
}

Test(kmem, kfree_inside_a_large_allocation_panics, .init = setup,
     .signal = SIGABRT)
{
    char *p = k23_kmalloc(&km, 3 * F4K, 0);
    k23_kfree(&km, p + F4K);
}

Test(kmem, free_to_the_wrong_cache_panics, .init = setup, .signal = SIGABRT)
{
    k23_kmem_cache_t *a, *b;
    cr_assert_eq(k23_kmem_cache_create(&km, "a", 32, 0, NULL, NULL, 0, &a),
                 K23_OK);
    cr_assert_eq(k23_kmem_cache_create(&km, "b", 32, 0, NULL, NULL, 0, &b),
                 K23_OK);
    k23_kmem_cache_free(b, k23_kmem_cache_alloc(a, 0));
}

Test(kmem, kfree_of_a_cache_object_panics, .init = setup, .signal = SIGABRT)
{
    k23_kmem_cache_t *a;
    cr_assert_eq(k23_kmem_cache_create(&km, "a", 64, 0, NULL, NULL, 0, &a),
                 K23_OK);
    k23_kfree(&km, k23_kmem_cache_alloc(a, 0));
}

Test(kmem, write_past_the_end_is_caught_by_the_redzone, .init = setup,
     .signal = SIGABRT)
{
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "rz", 40, 0, NULL, NULL,
                                       K23_KMEM_DEBUG_REDZONE, &c), K23_OK);
    char *p = k23_kmem_cache_alloc(c, 0);
    p[40] = 1;
    k23_kmem_cache_free(c, p);
}

Test(kmem, redzone_intact_frees_quietly, .init = setup)
{
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "rz", 40, 0, NULL, NULL,
                                       K23_KMEM_DEBUG_REDZONE |
                                           K23_KMEM_DEBUG_POISON, &c), K23_OK);
    for (int i = 0; i < 1000; i++) {
        char *p = k23_kmem_cache_alloc(c, 0);
        memset(p, 0x11, 40);
        k23_kmem_cache_free(c, p);
    }
    cr_assert_eq(k23_kmem_cache_check(c), K23_OK);
}

Test(kmem, use_after_free_is_caught_by_poison, .init = setup,
     .signal = SIGABRT)
{
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "poison", 48, 0, NULL, NULL,
                                       K23_KMEM_DEBUG_POISON, &c), K23_OK);
    stay_on_this_cpu();
    char *p = k23_kmem_cache_alloc(c, 0);
    k23_kmem_cache_free(c, p);
    p[5] = 0; /* after free */
    for (int i = 0; i < 10000; i++) /* p comes back: LIFO magazine */
        (void)k23_kmem_cache_alloc(c, 0);
}

Test(kmem, alloc_from_a_destroyed_cache_panics, .init = setup,
     .signal = SIGABRT)
{
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, "gone", 32, 0, NULL, NULL, 0, &c),
                 K23_OK);
    /* keep the record's frames from being reused: hold a second cache */
    k23_kmem_cache_t *other;
    cr_assert_eq(k23_kmem_cache_create(&km, "other", 32, 0, NULL, NULL, 0,
                                       &other), K23_OK);
    cr_assert_eq(k23_kmem_cache_destroy(c), K23_OK);
    (void)k23_kmem_cache_alloc(c, 0);
}

Test(kmem, kmalloc_with_unknown_flags_panics, .init = setup,
     .signal = SIGABRT)
{
    (void)k23_kmalloc(&km, 8, 0x100);
}

Test(kmem, kmalloc_on_uninitialised_layer_panics, .signal = SIGABRT)
{
    static k23_kmem_t zero;
    (void)k23_kmalloc(&zero, 8, 0);
}

/* ---- what the panics say: the object and its cache by name ---- */

static k23_kmem_cache_t *mc1, *mc2;
static char *mp;

static void do_cache_free_mc1(void *arg) { k23_kmem_cache_free(mc1, arg); }
static void do_cache_free_mc2(void *arg) { k23_kmem_cache_free(mc2, arg); }
static void do_kfree(void *arg) { k23_kfree(&km, arg); }
static void do_redzone_overrun(void *arg)
{
    ((char *)arg)[40] = 1;
    k23_kmem_cache_free(mc1, arg);
}
static void do_alloc_after_poison_write(void *arg)
{
    ((char *)arg)[5] = 0;
    for (int i = 0; i < 10000; i++)
        (void)k23_kmem_cache_alloc(mc1, 0);
}

/* Runs fn(arg) in a child that must panic; its message must hold every
 * one of want[] (NULL-terminated) and the address addr. */
static void expect_panic(void (*fn)(void *), void *arg, const void *addr,
                         const char *const *want)
{
    char msg[1024], hex[32];
    cr_assert(panic_capture(fn, arg, msg, sizeof(msg)), "no panic; said: %s",
              msg);
    snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)(uintptr_t)addr);
    cr_assert_not_null(strstr(msg, hex), "address %s not named in: %s", hex,
                       msg);
    for (const char *const *w = want; *w != NULL; w++)
        cr_assert_not_null(strstr(msg, *w), "\"%s\" missing from: %s", *w,
                           msg);
}

static k23_kmem_cache_t *make_cache(const char *name, size_t size,
                                    uint32_t flags)
{
    k23_kmem_cache_t *c;
    cr_assert_eq(k23_kmem_cache_create(&km, name, size, 0, NULL, NULL, flags,
                                       &c), K23_OK);
    return c;
}

Test(kmem, panics_name_the_object_and_the_cache, .init = setup)
{
    mc1 = make_cache("alpha", 48, 0);
    mc2 = make_cache("beta", 48, 0);

    mp = k23_kmem_cache_alloc(mc1, 0);
    k23_kmem_cache_free(mc1, mp);
    expect_panic(do_cache_free_mc1, mp, mp,
                 (const char *[]){"double free", "(cache alpha)", NULL});

    mp = k23_kmem_cache_alloc(mc1, 0);
    expect_panic(do_cache_free_mc2, mp, mp,
                 (const char *[]){"wrong cache", "(cache alpha)", NULL});
    expect_panic(do_cache_free_mc1, mp + 8, mp + 8,
                 (const char *[]){"not the start of an object",
                                  "(cache alpha)", NULL});
    expect_panic(do_kfree, mp, mp,
                 (const char *[]){"object of a cache", "(cache alpha)",
                                  NULL});

    char *k = k23_kmalloc(&km, 64, 0);
    k23_kfree(&km, k);
    expect_panic(do_kfree, k, k,
                 (const char *[]){"double free", "(cache kmalloc-64)", NULL});
    k = k23_kmalloc(&km, 64, 0);
    expect_panic(do_kfree, k + 16, k + 16,
                 (const char *[]){"not the start of an object",
                                  "(cache kmalloc-64)", NULL});

    long local;
    expect_panic(do_kfree, &local, &local,
                 (const char *[]){"not memory of k23_kmalloc", NULL});
    expect_panic(do_cache_free_mc1, &local, &local,
                 (const char *[]){"no cache handed out", "(cache alpha)",
                                  NULL});
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    expect_panic(do_kfree, (void *)(uintptr_t)pa, (void *)(uintptr_t)pa,
                 (const char *[]){"not memory of k23_kmalloc", NULL});
}

/* With 64 KiB frames a slab is eight frames (512 KiB), so the largest
 * class, half a frame, still fits 15 times; the slab map (one entry per
 * 32 KiB) gives it 16 entries, set and cleared together: objects past
 * the first 32 KiB of a slab free through the hit path and k23_kfree, the
 * checker finds every entry, and once the slab is given back such an
 * object no longer passes for a slab object. */
Test(kmem, a_slab_of_a_64k_frame_is_mapped_in_both_halves)
{
    const uint64_t f64k = UINT64_C(64) << 10;
    unsigned char *ram = ram_map(64 * MiB, 2 * MiB);
    k23_frames_config_t cfg;
    cr_assert_eq(k23_frames_config_default(&cfg, f64k), K23_OK);
    k23_range_t r = {(uint64_t)(uintptr_t)ram, 64 * MiB};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL), K23_OK);
    uint64_t before = frames_free();
    cr_assert_eq(k23_kmem_init(&km, &fa, NULL), K23_OK);
    cr_assert_eq(km.slab_shift, 19); /* eight frames */
    for (unsigned i = 0; i < k23_kmem_class_count(&km); i++) {
        k23_kmem_class_info_t ci;
        cr_assert_eq(k23_kmem_class_info(&km, i, &ci), K23_OK);
        cr_assert_leq(ci.waste_per_object * 8, ci.size + 16,
                      "class %llu wastes %llu bytes per object",
                      (unsigned long long)ci.size,
                      (unsigned long long)ci.waste_per_object);
        if (i + 1 == k23_kmem_class_count(&km))
            cr_assert_eq(ci.size, f64k / 2, "classes up to half a frame");
    }
    mc1 = make_cache("wide", 64, 0);
    enum { N = 6000 }; /* 8064 per slab: one slab, past its middle */
    static char *p[N];
    char *upper = NULL;
    for (int i = 0; i < N; i++) {
        p[i] = k23_kmem_cache_alloc(mc1, 0);
        cr_assert_not_null(p[i]);
        if (((uintptr_t)p[i] & (8 * f64k - 1)) >= 4 * f64k)
            upper = p[i];
    }
    cr_assert_not_null(upper, "no object in a slab's upper half");
    cr_assert_eq(k23_kmem_cache_check(mc1), K23_OK);
    for (int i = 0; i < N; i++)
        k23_kmem_cache_free(mc1, p[i]);
    cr_assert_eq(k23_kmem_cache_check(mc1), K23_OK);
    enum { M = 640 }; /* every class, ten objects each */
    for (int i = 0; i < M; i++) {
        p[i] = k23_kmalloc(&km, 8 + (size_t)(i % 64) * 512, 0);
        cr_assert_not_null(p[i]);
    }
    for (int i = M; i-- > 0;)
        k23_kfree(&km, p[i]);
    cr_assert_eq(k23_kmem_cache_shrink(mc1, NULL), K23_OK);
    expect_panic(do_cache_free_mc1, upper, upper,
                 (const char *[]){"no cache handed out", "(cache wide)",
                                  NULL});
    cr_assert_eq(k23_kmem_cache_destroy(mc1), K23_OK);
    cr_assert_eq(k23_kmem_destroy(&km), K23_OK);
    cr_assert_eq(frames_free(), before, "frames lost");
}

/* A slab keeps its free objects in a bitmap next to its state bytes,
 * not in a list threaded through the objects: writing over every byte of
 * objects that went back to their slabs (a use after free) changes
 * nothing the cache reads. Each of the two slabs keeps one object live,
 * so that neither goes back to the frame allocator. */
Test(kmem, writes_to_free_objects_do_not_steer_allocation, .init = setup)
{
    mc1 = make_cache("scribbled", 64, 0);
    enum { N = 1000 }; /* about two slabs of 502 */
    static char *p[N];
    for (int i = 0; i < N; i++)
        p[i] = k23_kmem_cache_alloc(mc1, 0);
    char *keep0 = p[0], *keep1 = p[N - 1];
    for (int i = 1; i < N - 1; i++)
        k23_kmem_cache_free(mc1, p[i]);
    cr_assert_eq(k23_kmem_cache_shrink(mc1, NULL), K23_OK); /* to slabs */
    k23_kmem_cache_stats_t st;
    cr_assert_eq(k23_kmem_cache_stats(mc1, &st), K23_OK);
    cr_assert_eq(st.objects_cached, 0);
    cr_assert_eq(st.objects_in_use, 2);
    cr_assert_eq(st.slabs_partial, 2);
    cr_assert_eq(st.slabs_full + st.slabs_empty, 0);
    for (int i = 1; i < N - 1; i++)
        memset(p[i], 0xa5, 64);
    cr_assert_eq(k23_kmem_cache_check(mc1), K23_OK);
    static char *q[N];
    for (int i = 1; i < N - 1; i++) {
        q[i] = k23_kmem_cache_alloc(mc1, 0);
        cr_assert_not_null(q[i]);
        memset(q[i], i & 0xff, 64);
    }
    /* no object was handed out twice */
    cr_assert_eq(k23_kmem_cache_stats(mc1, &st), K23_OK);
    cr_assert_eq(st.objects_in_use, N);
    for (int i = 1; i < N - 1; i++)
        for (int b = 0; b < 64; b++)
            cr_assert_eq((unsigned char)q[i][b], i & 0xff,
                         "object %p handed out twice", (void *)q[i]);
    cr_assert_eq(k23_kmem_cache_check(mc1), K23_OK);
    for (int i = 1; i < N - 1; i++)
        k23_kmem_cache_free(mc1, q[i]);
    k23_kmem_cache_free(mc1, keep0);
    k23_kmem_cache_free(mc1, keep1);
    cr_assert_eq(k23_kmem_cache_destroy(mc1), K23_OK);
}

/* A double free is caught wherever the first free left the object: in a
 * magazine (above), in the depot, or back on its slab. */
Test(kmem, double_free_is_caught_in_the_depot_and_on_the_slab, .init = setup)
{
    mc1 = make_cache("gamma", 64, 0);
    enum { N = 4 * K23_KMEM_MAGAZINE };
    char *keep = k23_kmem_cache_alloc(mc1, 0); /* keeps the slab alive */
    char *p[N];
    for (int i = 0; i < N; i++)
        p[i] = k23_kmem_cache_alloc(mc1, 0);
    for (int i = 0; i < N; i++) /* overflows the magazine: batches move on */
        k23_kmem_cache_free(mc1, p[i]);
    k23_kmem_cache_stats_t st;
    cr_assert_eq(k23_kmem_cache_stats(mc1, &st), K23_OK);
    cr_assert_gt(st.objects_cached, K23_KMEM_MAGAZINE,
                 "some objects went on to the depot");
    for (int i = 0; i < N; i += 37)
        expect_panic(do_cache_free_mc1, p[i], p[i],
                     (const char *[]){"double free", "(cache gamma)", NULL});
    cr_assert_eq(k23_kmem_cache_shrink(mc1, NULL), K23_OK);
    cr_assert_eq(k23_kmem_cache_stats(mc1, &st), K23_OK);
    cr_assert_eq(st.objects_cached, 0, "all back on their slabs");
    cr_assert_eq(st.slabs_partial, 1, "one slab, kept by one object");
    for (int i = 0; i < N; i += 37)
        expect_panic(do_cache_free_mc1, p[i], p[i],
                     (const char *[]){"double free", "(cache gamma)", NULL});
    k23_kmem_cache_free(mc1, keep);
}

Test(kmem, debug_panics_name_the_object_and_the_cache, .init = setup)
{
    mc1 = make_cache("redzoned", 40, K23_KMEM_DEBUG_REDZONE);
    mp = k23_kmem_cache_alloc(mc1, 0);
    expect_panic(do_redzone_overrun, mp, mp,
                 (const char *[]){"write past the end", "(cache redzoned)",
                                  NULL});
    mc1 = make_cache("poisoned", 48, K23_KMEM_DEBUG_POISON);
    stay_on_this_cpu();
    mp = k23_kmem_cache_alloc(mc1, 0);
    k23_kmem_cache_free(mc1, mp);
    expect_panic(do_alloc_after_poison_write, mp, mp,
                 (const char *[]){"use after free", "(cache poisoned)", NULL});
}

/* Multiples of the stride past a slab's last object (its state bytes and
 * header) are no objects: such a free names the address as not the start
 * of an object, on the cache's hit path and on k23_kfree()'s. */
Test(kmem, free_past_the_last_object_of_a_slab_panics, .init = setup)
{
    mc1 = make_cache("delta", 64, 0);
    char *p = k23_kmem_cache_alloc(mc1, 0);
    k23_kmem_cache_stats_t st;
    cr_assert_eq(k23_kmem_cache_stats(mc1, &st), K23_OK);
    uintptr_t base = (uintptr_t)p & ~(uintptr_t)(st.slab_bytes - 1);
    for (uint64_t k = st.objects_per_slab; k * st.stride < st.slab_bytes; k++) {
        char *q = (char *)(base + k * st.stride);
        expect_panic(do_cache_free_mc1, q, q,
                     (const char *[]){"not the start of an object",
                                      "(cache delta)", NULL});
    }
    char *k = k23_kmalloc(&km, 48, 0);
    k23_kmem_class_info_t ci;
    for (unsigned i = 0; i < k23_kmem_class_count(&km); i++)
        if (k23_kmem_class_info(&km, i, &ci) == K23_OK && ci.size == 48)
            break;
    cr_assert_eq(ci.size, 48);
    base = (uintptr_t)k & ~(uintptr_t)(ci.slab_bytes - 1);
    char *q = (char *)(base + ci.objects_per_slab * ci.size);
    expect_panic(do_kfree, q, q,
                 (const char *[]){"not the start of an object",
                                  "(cache kmalloc-48)", NULL});
    k23_kfree(&km, k);
    k23_kmem_cache_free(mc1, p);
}

/* k23_kmem_cache_free(c, NULL) does nothing: its hit path has no test
 * for NULL of its own (the cache's window of the slab map leaves NULL
 * out), so this is what checks that NULL takes the slow path. */
Test(kmem, cache_free_of_null_does_nothing, .init = setup)
{
    k23_kmem_cache_t *c = make_cache("epsilon", 64, 0);
    void *p = k23_kmem_cache_alloc(c, 0);
    k23_kmem_cache_stats_t before, after;
    cr_assert_eq(k23_kmem_cache_stats(c, &before), K23_OK);
    for (int i = 0; i < 3 * K23_KMEM_MAGAZINE; i++)
        k23_kmem_cache_free(c, NULL);
    cr_assert_eq(k23_kmem_cache_stats(c, &after), K23_OK);
    cr_assert_eq(after.objects_in_use, before.objects_in_use);
    cr_assert_eq(after.objects_cached, before.objects_cached);
    k23_kmem_cache_free(c, p);
    cr_assert_eq(k23_kmem_cache_check(c), K23_OK);
    cr_assert_eq(k23_kmem_cache_destroy(c), K23_OK);
}

/* ---- k23_kmalloc_array, k23_krealloc ---- */

/* Every class's empty slabs, and those of the frame runs' records, back
 * in the frame allocator. */
static void shrink_all_classes(void)
{
    for (unsigned i = 0; i < k23_kmem_class_count(&km); i++)
        cr_assert_eq(k23_kmem_cache_shrink(km.classes[i], NULL), K23_OK);
    cr_assert_eq(k23_kmem_cache_shrink(km.records, NULL), K23_OK);
}

Test(kmem, kmalloc_array_refuses_products_that_overflow, .init = setup)
{
    shrink_all_classes();
    uint64_t free0 = frames_free();
    const size_t half = SIZE_MAX / 2 + 1;
    cr_assert_null(k23_kmalloc_array(&km, half, 2, 0));
    cr_assert_null(k23_kmalloc_array(&km, 2, half, 0));
    cr_assert_null(k23_kmalloc_array(&km, SIZE_MAX, SIZE_MAX, 0));
    cr_assert_null(k23_kmalloc_array(&km, SIZE_MAX, 2, K23_KMEM_ZERO));
    cr_assert_null(k23_kmalloc_array(&km, 0, 64, 0));
    cr_assert_null(k23_kmalloc_array(&km, 64, 0, 0));
    cr_assert_eq(frames_free(), free0, "a refused request took frames");

    /* what does fit: a class, zeroed, and a frame run */
    unsigned char *p = k23_kmalloc_array(&km, 10, 24, K23_KMEM_ZERO);
    cr_assert_not_null(p);
    cr_assert_geq(k23_kmalloc_usable_size(&km, p), 240);
    for (size_t i = 0; i < 240; i++)
        cr_assert_eq(p[i], 0, "byte %zu", i);
    void *run = k23_kmalloc_array(&km, 3, F4K, 0);
    cr_assert_not_null(run);
    cr_assert_eq(k23_kmalloc_usable_size(&km, run), 3 * F4K);
    /* 1 * SIZE_MAX does not overflow: too large a run, not a wrap */
    cr_assert_null(k23_kmalloc_array(&km, 1, SIZE_MAX, 0));
    k23_kfree(&km, p);
    k23_kfree(&km, run);
    shrink_all_classes();
    cr_assert_eq(frames_free(), free0);
}

Test(kmem, kmalloc_array_with_unknown_flags_panics, .init = setup,
     .signal = SIGABRT)
{
    /* the flags are checked before the product: an overflowing request
     * with bad flags panics too */
    (void)k23_kmalloc_array(&km, SIZE_MAX, 2, 0x80);
}

/* The byte a krealloc model slot holds at offset i in generation g. */
static unsigned char pattern(unsigned slot, unsigned gen, size_t i)
{
    return (unsigned char)(slot * 31u + gen * 7u + (unsigned)i * 13u + 1u);
}

/* A size of 1 byte to 3 frames, most of them in the classes. */
static size_t model_size(void)
{
    uint64_t r = rnd();
    switch (r % 4) {
    case 0: return 1 + (size_t)(r >> 8) % 64;
    case 1: return 1 + (size_t)(r >> 8) % 512;
    case 2: return 1 + (size_t)(r >> 8) % (F4K / 2);
    default: return 1 + (size_t)(r >> 8) % (3 * F4K);
    }
}

/* A model of k23_krealloc: slots of live memory, each with the size the
 * model asked for and a generation; every resize must keep the bytes up
 * to the smaller size, zero what K23_KMEM_ZERO promises, stay in place
 * when it keeps more than half, and leave the usable size at least as
 * large as asked. Live memory never overlaps: every slot's bytes are
 * checked before each resize and at the end. */
static void krealloc_model(void)
{
    shrink_all_classes();
    uint64_t free0 = frames_free();
    enum { SLOTS = 48, OPS = 30000 };
    unsigned char *p[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    unsigned gen[SLOTS] = {0};
    unsigned moved = 0, kept = 0, grown = 0;
    for (int op = 0; op < OPS; op++) {
        unsigned s = (unsigned)(rnd() % SLOTS);
        for (size_t i = 0; i < len[s]; i++)
            cr_assert_eq(p[s][i], pattern(s, gen[s], i),
                         "op %d slot %u byte %zu", op, s, i);
        if (p[s] != NULL && rnd() % 8 == 0) {
            k23_kfree(&km, p[s]);
            p[s] = NULL, len[s] = 0;
            continue;
        }
        size_t n = model_size();
        uint32_t flags = rnd() % 2 ? K23_KMEM_ZERO : 0;
        size_t old = p[s] ? k23_kmalloc_usable_size(&km, p[s]) : 0;
        unsigned char *q = k23_krealloc(&km, p[s], n, flags);
        cr_assert_not_null(q, "op %d: %zu bytes", op, n);
        cr_assert_geq(k23_kmalloc_usable_size(&km, q), n);
        size_t keep = len[s] < n ? len[s] : n;
        for (size_t i = 0; i < keep; i++)
            cr_assert_eq(q[i], pattern(s, gen[s], i),
                         "op %d slot %u byte %zu after %zu -> %zu", op, s, i,
                         len[s], n);
        if (flags & K23_KMEM_ZERO)
            for (size_t i = old; i < n; i++)
                cr_assert_eq(q[i], 0, "op %d byte %zu of the new part", op,
                             i);
        if (p[s] != NULL && n <= old && n > old / 2)
            cr_assert_eq(q, p[s], "a shrink keeping more than half moved");
        if (p[s] != NULL)
            *(q == p[s] ? &kept : n > old ? &grown : &moved) += 1;
        p[s] = q, len[s] = n, gen[s]++;
        for (size_t i = 0; i < n; i++)
            q[i] = pattern(s, gen[s], i);
    }
    cr_assert_gt(moved, 100, "shrinks that moved: %u", moved);
    cr_assert_gt(kept, 100, "resizes in place: %u", kept);
    cr_assert_gt(grown, 100, "resizes that grew: %u", grown);
    for (unsigned s = 0; s < SLOTS; s++) {
        for (size_t i = 0; i < len[s]; i++)
            cr_assert_eq(p[s][i], pattern(s, gen[s], i));
        k23_kfree(&km, p[s]);
    }
    shrink_all_classes();
    cr_assert_eq(frames_free(), free0, "frames lost");
}

Test(kmem, krealloc_model_keeps_contents, .init = setup)
{
    krealloc_model();
}

/* The kmalloc classes with redzones and poison: a resize must neither
 * copy into a redzone nor write to the memory it freed. */
static void setup_debug_classes(void)
{
    frames_up(64 * MiB, 64);
    k23_kmem_config_t cfg = {0};
    cfg.kmalloc_flags = K23_KMEM_DEBUG_REDZONE | K23_KMEM_DEBUG_POISON;
    cr_assert_eq(k23_kmem_init(&km, &fa, &cfg), K23_OK);
}

Test(kmem, krealloc_model_on_debug_classes, .init = setup_debug_classes)
{
    krealloc_model();
}

Test(kmem, krealloc_of_null_is_kmalloc_and_failures_keep_the_memory)
{
    frames_up(4 * MiB, 0);
    cr_assert_eq(k23_kmem_init(&km, &fa, NULL), K23_OK);
    unsigned char *p = k23_krealloc(&km, NULL, 100, K23_KMEM_ZERO);
    cr_assert_not_null(p);
    cr_assert_eq(k23_kmalloc_usable_size(&km, p), 112);
    for (size_t i = 0; i < 112; i++)
        cr_assert_eq(p[i], 0);
    memset(p, 0x5a, 100);
    /* size 0, more than the frames, more than any run: NULL, p kept */
    cr_assert_null(k23_krealloc(&km, p, 0, 0));
    cr_assert_null(k23_krealloc(&km, p, 8 * MiB, 0));
    cr_assert_null(k23_krealloc(&km, p, SIZE_MAX, K23_KMEM_ZERO));
    for (size_t i = 0; i < 100; i++)
        cr_assert_eq(p[i], 0x5a, "byte %zu", i);
    cr_assert_eq(k23_kmalloc_usable_size(&km, p), 112);
    k23_kfree(&km, p);
}

Test(kmem, krealloc_shrink_of_a_run_returns_frames_or_stays)
{
    frames_up(4 * MiB, 0);
    cr_assert_eq(k23_kmem_init(&km, &fa, NULL), K23_OK);
    unsigned char *run = k23_kmalloc(&km, 64 * F4K, 0);
    cr_assert_not_null(run);
    memset(run, 0x33, 64 * F4K);
    uint64_t before = frames_free();
    unsigned char *q = k23_krealloc(&km, run, 100, 0);
    cr_assert_neq(q, run, "a shrink to 100 bytes of 64 frames stayed");
    cr_assert_geq(frames_free(), before + 64 - 8, "the run's frames");
    for (size_t i = 0; i < 100; i++)
        cr_assert_eq(q[i], 0x33);
    k23_kfree(&km, q);

    /* with no memory for the smaller allocation, the run stays */
    run = k23_kmalloc(&km, 8 * F4K, 0);
    cr_assert_not_null(run);
    memset(run, 0x44, 8 * F4K);
    enum { MAX = 1 << 17 };
    void **fill = calloc(MAX, sizeof(*fill));
    size_t n = 0;
    while (n < MAX && (fill[n] = k23_kmalloc(&km, 100, 0)) != NULL)
        n++;
    cr_assert_lt(n, MAX);
    cr_assert_eq(k23_krealloc(&km, run, 100, 0), run);
    for (size_t i = 0; i < 8 * F4K; i++)
        cr_assert_eq(run[i], 0x44, "byte %zu", i);
    for (size_t i = 0; i < n; i++)
        k23_kfree(&km, fill[i]);
    k23_kfree(&km, run);
    free(fill);
}

Test(kmem, krealloc_of_freed_memory_panics, .init = setup, .signal = SIGABRT)
{
    void *p = k23_kmalloc(&km, 64, 0);
    k23_kfree(&km, p);
    (void)k23_krealloc(&km, p, 128, 0);
}

Test(kmem, krealloc_of_a_cache_object_panics, .init = setup,
     .signal = SIGABRT)
{
    k23_kmem_cache_t *c = make_cache("zeta", 64, 0);
    (void)k23_krealloc(&km, k23_kmem_cache_alloc(c, 0), 32, 0);
}

Test(kmem, krealloc_inside_a_run_panics, .init = setup, .signal = SIGABRT)
{
    char *p = k23_kmalloc(&km, 3 * F4K, 0);
    (void)k23_krealloc(&km, p + F4K, 16, 0);
}

static void do_krealloc(void *arg)
{
    (void)k23_krealloc(&km, arg, SIZE_MAX, 0);
}

Test(kmem, krealloc_panics_name_the_address, .init = setup)
{
    char *k = k23_kmalloc(&km, 3 * F4K, 0);
    k23_kfree(&km, k);
    /* checked before the request: even a size that would fail panics */
    expect_panic(do_krealloc, k, k,
                 (const char *[]){"k23_krealloc: not live memory", NULL});
    long local;
    expect_panic(do_krealloc, &local, &local,
                 (const char *[]){"k23_krealloc: not live memory", NULL});
}

static k23_kmem_t zero_layer;
static void do_kmalloc_array_zero(void *arg)
{
    (void)k23_kmalloc_array(arg, 1, 8, 0);
}
static void do_krealloc_zero(void *arg)
{
    (void)k23_krealloc(arg, NULL, 8, 0);
}
static void do_krealloc_bad_flags(void *arg)
{
    (void)k23_krealloc(&km, arg, 8, 0x80);
}

Test(kmem, array_and_realloc_refuse_a_bad_layer_and_flags, .init = setup)
{
    expect_panic(do_kmalloc_array_zero, &zero_layer, &zero_layer,
                 (const char *[]){"k23_kmalloc_array: not an initialised",
                                  NULL});
    expect_panic(do_krealloc_zero, &zero_layer, &zero_layer,
                 (const char *[]){"k23_krealloc: not an initialised", NULL});
    char msg[512];
    void *p = k23_kmalloc(&km, 8, 0);
    cr_assert(panic_capture(do_krealloc_bad_flags, p, msg, sizeof(msg)));
    cr_assert_not_null(strstr(msg, "k23_krealloc"), "said: %s", msg);
    k23_kfree(&km, p);
}
