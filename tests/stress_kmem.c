/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Threaded stress test of the object caches: more threads than CPUs
 * allocate, resize (k23_krealloc) and free k23_kmalloc() memory and
 * objects of one cache, and hand half of what they allocate to another
 * thread through a shared ring, which frees it (frees from another CPU). An ownership map with one
 * atomic byte per 8 bytes of memory is flipped by every allocation and
 * free, so an object handed out twice, or freed while free, is noticed at
 * once. At the end every cache checks out, and destroying the layer gives
 * the frame allocator back every frame. Runs under ThreadSanitizer
 * (label "threads"), where the hosted port has no fast path and the
 * magazines are locked.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "k23mem/kmem.h"
#include "stress.h"

#define NTHREADS 6
#define MAXLIVE 64
#define RING 1024
#define RAM (UINT64_C(128) << 20)

static k23_frames_t fa;
static k23_kmem_t km;
static k23_kmem_cache_t *objs;
static uintptr_t ram_lo;
static _Atomic uint8_t *owned; /* one byte per 8 bytes of RAM */
static uint64_t ops_per_thread;

/* The shared ring of objects waiting for another thread to free them. */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handoff {
    void *p;
    size_t size;
    int from_cache;
    unsigned owner;
} ring[RING];
static unsigned ring_n;

static void own(void *p, size_t size, unsigned who)
{
    _Atomic uint8_t *o = &owned[((uintptr_t)p - ram_lo) / 8];
    uint8_t was = atomic_exchange(o, 1);
    STRESS_CHECK(was == 0, "thread %u got %p (%zu bytes) that is live", who,
                 p, size);
    memset(p, (int)who, size < 64 ? size : 64);
}

static void disown(void *p, size_t size, unsigned who)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < (size < 64 ? size : 64); i++)
        if (b[i] != (unsigned char)who) {
            STRESS_CHECK(0, "%p byte %zu changed while owned", p, i);
            break;
        }
    uint8_t was = atomic_exchange(&owned[((uintptr_t)p - ram_lo) / 8], 0);
    STRESS_CHECK(was == 1, "%p freed while not owned", p);
}

static void release(void *p, size_t size, int from_cache, unsigned who)
{
    disown(p, size, who);
    if (from_cache)
        k23_kmem_cache_free(objs, p);
    else
        k23_kfree(&km, p);
}

/* k23_krealloc h to n bytes. The old start is given up first: once it
 * moves, the old memory may be another thread's at once. The bytes the
 * owner wrote must survive the move, up to the smaller size. */
static void resize(struct handoff *h, size_t n, unsigned who)
{
    disown(h->p, h->size, who);
    unsigned char *q = k23_krealloc(&km, h->p, n, 0);
    STRESS_CHECK(q != NULL, "resize of %p to %zu bytes failed", h->p, n);
    if (q == NULL) {
        own(h->p, h->size, who);
        return;
    }
    size_t keep = h->size < n ? h->size : n;
    for (size_t i = 0; i < (keep < 64 ? keep : 64); i++)
        if (q[i] != (unsigned char)who) {
            STRESS_CHECK(0, "%p byte %zu lost in a resize", (void *)q, i);
            break;
        }
    h->p = q;
    h->size = n;
    own(q, n, who);
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg + 1;
    uint64_t rng = 0x9e3779b97f4a7c15u * id;
    struct handoff live[MAXLIVE];
    unsigned nlive = 0;
    for (uint64_t op = 0; op < ops_per_thread; op++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned what = (unsigned)(rng % 8);
        if (what < 4 && nlive < MAXLIVE) {
            struct handoff h = {0};
            h.from_cache = (rng >> 8) & 1;
            h.size = h.from_cache ? 96 : 1 + (size_t)((rng >> 16) % 3000);
            h.p = h.from_cache ? k23_kmem_cache_alloc(objs, 0)
                               : k23_kmalloc(&km, h.size, 0);
            STRESS_CHECK(h.p != NULL, "allocation of %zu bytes failed", h.size);
            if (h.p == NULL)
                continue;
            h.owner = id;
            own(h.p, h.size, id);
            live[nlive++] = h;
        } else if (what == 4 && nlive > 0 && !live[nlive - 1].from_cache) {
            resize(&live[nlive - 1], 1 + (size_t)((rng >> 16) % 6000), id);
        } else if (what < 6 && nlive > 0) {
            struct handoff h = live[--nlive];
            release(h.p, h.size, h.from_cache, h.owner);
        } else if (what == 6 && nlive > 0) {
            /* hand the newest object to whichever thread frees next */
            pthread_mutex_lock(&ring_lock);
            if (ring_n < RING)
                ring[ring_n++] = live[--nlive];
            pthread_mutex_unlock(&ring_lock);
        } else {
            struct handoff h = {0};
            pthread_mutex_lock(&ring_lock);
            if (ring_n > 0)
                h = ring[--ring_n];
            pthread_mutex_unlock(&ring_lock);
            if (h.p != NULL)
                release(h.p, h.size, h.from_cache, h.owner);
        }
    }
    while (nlive > 0) {
        struct handoff h = live[--nlive];
        release(h.p, h.size, h.from_cache, h.owner);
    }
    return NULL;
}

static uint64_t free_frames(void)
{
    k23_frames_drain_all(&fa);
    k23_frames_stats_t s;
    k23_frames_stats(&fa, &s);
    return s.free_frames;
}

int main(void)
{
    ops_per_thread = STRESS_SLOW ? 100000 : 3000000;
    void *m = mmap(NULL, RAM + (2u << 20), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return 2;
    ram_lo = ((uintptr_t)m + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
    owned = calloc(RAM / 8, 1);
    k23_range_t r = {ram_lo, RAM};
    STRESS_CHECK(k23_frames_init(&fa, &r, 1, NULL, NULL, 0, NULL) == K23_OK,
                 "frames init");
    uint64_t free0 = free_frames();
    STRESS_CHECK(k23_kmem_init(&km, &fa, NULL) == K23_OK, "kmem init");
    STRESS_CHECK(k23_kmem_cache_create(&km, "stress-96", 96, 0, NULL, NULL,
                                       0, &objs) == K23_OK,
                 "cache create");

    pthread_t t[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    for (unsigned i = 0; i < ring_n; i++)
        release(ring[i].p, ring[i].size, ring[i].from_cache, ring[i].owner);

    STRESS_CHECK(k23_kmem_cache_check(objs) == K23_OK, "cache check");
    for (unsigned i = 0; i < k23_kmem_class_count(&km); i++)
        STRESS_CHECK(k23_kmem_cache_check(km.classes[i]) == K23_OK,
                     "class %u check", i);
    k23_kmem_cache_stats_t st;
    k23_kmem_cache_stats(objs, &st);
    STRESS_CHECK(st.objects_in_use == 0, "%llu objects still in use",
                 (unsigned long long)st.objects_in_use);
    STRESS_CHECK(k23_kmem_cache_destroy(objs) == K23_OK, "cache destroy");
    STRESS_CHECK(k23_kmem_destroy(&km) == K23_OK, "kmem destroy");
    STRESS_CHECK(free_frames() == free0, "frames lost: %llu of %llu back",
                 (unsigned long long)free_frames(),
                 (unsigned long long)free0);
    printf("fast path (lock-free magazines): %s\n", k23_port_pcpu_fast() ? "yes" : "no");
    return stress_finish("stress_kmem");
}
