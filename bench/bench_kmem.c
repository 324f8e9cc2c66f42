/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench kmem: the object caches against mimalloc and jemalloc in
 * one run. The peers come from Debian's libmimalloc2.0 and libjemalloc2,
 * opened with dlopen(RTLD_LOCAL) so that neither replaces this program's
 * malloc (both export one); a peer that cannot be opened is reported and
 * left out. The library itself never links them.
 *
 * Cases (each allocator gets the same inputs, through the same kind of
 * indirect call; one unmeasured warm-up round, then medians of REPS
 * rounds, the allocators interleaved inside every round, in alternating
 * order; the single-threaded cases are timed in thread CPU time, so that
 * the time the thread spends descheduled on a shared machine counts for
 * nobody, page faults and system time included; a ratio to mimalloc is
 * the median of the rounds' ratios, each round's two figures measured
 * next to each other):
 *  - pair64 / pair256: free one of 16 live objects chosen by a random
 *    index sequence and allocate its replacement (an alloc+free pair whose
 *    object changes every step, so no allocator gets a single hot slot);
 *  - fill1e6: allocate 10^6 64-byte objects, free them in random order
 *    (ns per alloc+free), and the page faults the thread took meanwhile
 *    (median over the rounds): an allocator that returned its pages to
 *    the system since the last round takes them again here, as mimalloc
 *    does in some runs and not in others, which changes its figures in
 *    every case (docs/kmem.md);
 *  - remote: one thread allocates 64-byte objects and passes them through
 *    a single-producer ring to a second thread that frees them (ns per
 *    object, wall time); the two threads are pinned to two different CPUs
 *    when the process may use two, so that every free is a remote one for
 *    every allocator (left to the scheduler, both threads often share one
 *    CPU, and libk23mem's frees then go to the allocating CPU's magazine:
 *    no remote free at all), and a thread that waits long for the ring
 *    yields, so that on a machine with other work the case measures the
 *    allocators rather than how long a spinning waiter keeps the CPU its
 *    partner needs;
 *  - bytes per live 64-byte object with 10^6 of them: for libk23mem the
 *    frames taken from the frame allocator, exactly; for the peers the
 *    growth of the resident set (an estimate, printed for context).
 * Last lines: kmem.pair64_vs_mimalloc, kmem.remote_free_vs_mimalloc,
 * kmem.bytes_per_64b_object.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "k23mem/kmem.h"

#define REPS 9
#define RAM (UINT64_C(1) << 30)
#define MILLION 1000000
#define NLIVE 16
#define NIDX 4096

struct alloc {
    const char *name;
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *p);
    void *ctx;
};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall time, for the two-thread case. */
static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* CPU time of the calling thread, for the single-threaded cases. */
static uint64_t cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

/* ---- the allocators ---- */

static k23_frames_t fa;
static k23_kmem_t km;
static k23_kmem_cache_t *cache64;

static void *k23_cache_alloc(void *ctx, size_t size)
{
    (void)size;
    return k23_kmem_cache_alloc(ctx, 0);
}
static void k23_cache_free(void *ctx, void *p) { k23_kmem_cache_free(ctx, p); }
static void *k23_km_alloc(void *ctx, size_t size) { return k23_kmalloc(ctx, size, 0); }
static void k23_km_free(void *ctx, void *p) { k23_kfree(ctx, p); }

static void *(*mi_malloc_)(size_t);
static void (*mi_free_)(void *);
static void *(*je_malloc_)(size_t);
static void (*je_free_)(void *);

static void *mi_alloc(void *ctx, size_t size) { (void)ctx; return mi_malloc_(size); }
static void mi_free(void *ctx, void *p) { (void)ctx; mi_free_(p); }
static void *je_alloc(void *ctx, size_t size) { (void)ctx; return je_malloc_(size); }
static void je_free(void *ctx, void *p) { (void)ctx; je_free_(p); }

static int open_peers(struct alloc *out, int n)
{
    void *h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        h = dlopen("libmimalloc.so", RTLD_NOW | RTLD_LOCAL);
    if (h != NULL && (mi_malloc_ = (void *(*)(size_t))dlsym(h, "mi_malloc")) &&
        (mi_free_ = (void (*)(void *))dlsym(h, "mi_free")))
        out[n++] = (struct alloc){"mimalloc", mi_alloc, mi_free, NULL};
    else
        printf("  mimalloc: not available (%s); apt-get install libmimalloc2.0\n",
               dlerror());
    h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h != NULL && (je_malloc_ = (void *(*)(size_t))dlsym(h, "malloc")) &&
        (je_free_ = (void (*)(void *))dlsym(h, "free")))
        out[n++] = (struct alloc){"jemalloc", je_alloc, je_free, NULL};
    else
        printf("  jemalloc: not available (%s); apt-get install libjemalloc2\n",
               dlerror());
    return n;
}

/* ---- cases ---- */

static unsigned idx[NIDX];

static double time_pairs(const struct alloc *a, size_t size, int iters)
{
    void *live[NLIVE];
    for (int i = 0; i < NLIVE; i++)
        live[i] = a->alloc(a->ctx, size);
    uint64_t t0 = cpu_ns();
    for (int i = 0; i < iters; i++) {
        unsigned j = idx[i & (NIDX - 1)];
        a->free(a->ctx, live[j]);
        live[j] = a->alloc(a->ctx, size);
    }
    uint64_t t = cpu_ns() - t0;
    for (int i = 0; i < NLIVE; i++)
        a->free(a->ctx, live[i]);
    return (double)t / iters;
}

static void **objs;
static unsigned *order;

/* Page faults the calling thread took so far. */
static long thread_faults(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_minflt + ru.ru_majflt
                                               : 0;
}

/* Page faults of the last time_fill() call: an allocator that gave its
 * pages back to the system between rounds takes them again here, which
 * is what makes a run fast or slow for it (docs/kmem.md). */
static long fill_faults;

static double time_fill(const struct alloc *a)
{
    long f0 = thread_faults();
    uint64_t t0 = cpu_ns();
    for (int i = 0; i < MILLION; i++)
        objs[i] = a->alloc(a->ctx, 64);
    for (int i = 0; i < MILLION; i++)
        a->free(a->ctx, objs[order[i]]);
    double ns = (double)(cpu_ns() - t0) / MILLION;
    fill_faults = thread_faults() - f0;
    return ns;
}

#define RING 4096
/* Polls of the ring before a waiting thread yields: some microseconds,
 * far longer than the partner's step when both run. */
#define RING_SPINS 4096

struct remote {
    const struct alloc *a;
    void *_Atomic ring[RING];
    long n;
    int cpu[2];                /* allocator's and freer's CPU, or -1 */
};

static void ring_wait(unsigned *spins)
{
    if (++*spins >= RING_SPINS) {
        sched_yield();
        *spins = 0;
    }
}

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The first two CPUs this process may run on, or -1 each. */
static void pick_two_cpus(int cpu[2])
{
    cpu_set_t set;
    cpu[0] = cpu[1] = -1;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return;
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
        if (CPU_ISSET(c, &set))
            cpu[found++] = c;
    if (found < 2)
        cpu[0] = cpu[1] = -1;
}

static void *remote_freer(void *arg)
{
    struct remote *r = arg;
    pin_self(r->cpu[1]);
    for (long i = 0; i < r->n; i++) {
        void *p;
        unsigned spins = 0;
        while ((p = atomic_load_explicit(&r->ring[i % RING],
                                         memory_order_acquire)) == NULL)
            ring_wait(&spins);
        atomic_store_explicit(&r->ring[i % RING], NULL, memory_order_relaxed);
        r->a->free(r->a->ctx, p);
    }
    return NULL;
}

static double time_remote(const struct alloc *a, long n)
{
    static struct remote r;
    memset(&r, 0, sizeof(r));
    r.a = a;
    r.n = n;
    pick_two_cpus(r.cpu);
    pthread_t t;
    cpu_set_t all;
    int had_mask = sched_getaffinity(0, sizeof(all), &all) == 0;
    pin_self(r.cpu[0]);
    uint64_t t0 = now_ns();
    pthread_create(&t, NULL, remote_freer, &r);
    for (long i = 0; i < n; i++) {
        void *p = a->alloc(a->ctx, 64);
        *(volatile char *)p = 1;
        unsigned spins = 0;
        while (atomic_load_explicit(&r.ring[i % RING], memory_order_relaxed) != NULL)
            ring_wait(&spins);
        atomic_store_explicit(&r.ring[i % RING], p, memory_order_release);
    }
    pthread_join(t, NULL);
    double ns = (double)(now_ns() - t0) / (double)n;
    if (had_mask) /* the other cases run where the scheduler puts them */
        pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
    return ns;
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * sysconf(_SC_PAGESIZE);
}

static uint64_t frames_in_use(void)
{
    k23_frames_stats_t s;
    k23_frames_drain_all(&fa);
    k23_frames_stats(&fa, &s);
    return s.total_frames - s.free_frames;
}

static double bytes_per_object(const struct alloc *a, bool exact)
{
    /* Start from an empty cache: the earlier cases left objects in its
     * magazines and depot, whose slabs the fill below would reuse without
     * taking a frame. */
    if (exact)
        k23_kmem_cache_shrink(a->ctx, NULL);
    uint64_t f0 = exact ? frames_in_use() : 0;
    long r0 = rss_bytes();
    for (int i = 0; i < MILLION; i++) {
        objs[i] = a->alloc(a->ctx, 64);
        memset(objs[i], 1, 64);
    }
    double b = exact ? (double)((frames_in_use() - f0) * 4096) / MILLION
                     : (double)(rss_bytes() - r0) / MILLION;
    for (int i = 0; i < MILLION; i++)
        a->free(a->ctx, objs[i]);
    return b;
}

/* Debian's libjemalloc2 uses initial-exec TLS, which dlopen can only
 * place in glibc's optional static TLS surplus; when that is too small,
 * run again with a larger surplus (a start-up tunable), once. */
static void reexec_for_jemalloc_tls(char **argv)
{
    if (getenv("K23_BENCH_KMEM_REEXEC") != NULL)
        return;
    void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h != NULL || strstr(dlerror(), "static TLS") == NULL)
        return;
    setenv("K23_BENCH_KMEM_REEXEC", "1", 1);
    setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=65536", 1);
    fflush(stdout);
    char *args[] = {"k23mem-bench", "kmem", argv[1], NULL};
    execv("/proc/self/exe", args);
}

#define PAIR_ROUNDS 41
#define PAIR_ITERS 200000

/* `k23mem-bench kmem pair64`: the cache's 64-byte pair against mimalloc's
 * only, in many short rounds, the two interleaved in alternating order:
 * the fastest round of each (what the code costs when the machine runs
 * at full speed) and the median of the rounds' ratios. A quick, stable
 * reading for work on the hit paths. */
static int bench_pair64_only(const struct alloc *al, int n)
{
    int mi = -1;
    for (int a = 2; a < n; a++)
        if (strcmp(al[a].name, "mimalloc") == 0)
            mi = a;
    if (mi < 0) {
        fprintf(stderr, "bench kmem pair64: needs mimalloc\n");
        return 1;
    }
    const struct alloc *two[2] = {&al[0], &al[mi]};
    double t[2][PAIR_ROUNDS], ratio[PAIR_ROUNDS];
    for (int k = 0; k < 2; k++)
        time_pairs(two[k], 64, PAIR_ITERS);
    for (int r = 0; r < PAIR_ROUNDS; r++) {
        for (int k = 0; k < 2; k++) {
            int a = r % 2 == 0 ? k : 1 - k;
            t[a][r] = time_pairs(two[a], 64, PAIR_ITERS);
        }
        ratio[r] = t[0][r] / t[1][r];
    }
    double r_med = median(ratio, PAIR_ROUNDS);
    double k_med = median(t[0], PAIR_ROUNDS), m_med = median(t[1], PAIR_ROUNDS);
    printf("kmem pair64: %d rounds of %d pairs, interleaved\n", PAIR_ROUNDS,
           PAIR_ITERS);
    printf("  k23 cache  fastest %.2f ns, median %.2f\n", t[0][0], k_med);
    printf("  mimalloc   fastest %.2f ns, median %.2f\n", t[1][0], m_med);
    printf("kmem.pair64_fastest_ns=%.2f\n", t[0][0]);
    printf("kmem.pair64_fastest_vs_mimalloc=%.2f\n", t[0][0] / t[1][0]);
    printf("kmem.pair64_vs_mimalloc=%.2f\n", r_med);
    return 0;
}

int k23_bench_kmem(int argc, char **argv)
{
    bool pair_only = argc > 1 && strcmp(argv[1], "pair64") == 0;
    if (argc > 1 && !pair_only) {
        fprintf(stderr, "usage: k23mem-bench kmem [pair64]\n");
        return 2;
    }
    reexec_for_jemalloc_tls(argv);
    void *m = mmap(NULL, RAM + (2u << 20), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    uintptr_t base = ((uintptr_t)m + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
    k23_range_t r = {base, RAM};
    int rc = k23_frames_init(&fa, &r, 1, NULL, NULL, 0, NULL);
    if (rc == K23_OK)
        rc = k23_kmem_init(&km, &fa, NULL);
    if (rc == K23_OK)
        rc = k23_kmem_cache_create(&km, "bench-64", 64, 0, NULL, NULL, 0,
                                   &cache64);
    if (rc != K23_OK) {
        fprintf(stderr, "bench kmem: setup failed: %s\n", k23_strerror(rc));
        return 1;
    }
    uint64_t rng = 0x2545f4914f6cdd1d;
    for (int i = 0; i < NIDX; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        idx[i] = (unsigned)(rng % NLIVE);
    }
    struct alloc al[4] = {
        {"k23 cache", k23_cache_alloc, k23_cache_free, NULL},
        {"k23_kmalloc", k23_km_alloc, k23_km_free, &km},
    };
    al[0].ctx = cache64;
    if (pair_only)
        return bench_pair64_only(al, open_peers(al, 2));
    int two[2];
    pick_two_cpus(two);
    printf("kmem: object caches vs mimalloc and jemalloc, medians of %d "
           "rounds (thread CPU time; remote: wall time, %s), lock-free "
           "magazines: %s\n", REPS,
           two[0] >= 0 ? "threads pinned to two CPUs" : "one CPU",
           k23_port_pcpu_fast() ? "yes" : "no (locked)");
    int n = open_peers(al, 2);
    objs = malloc(MILLION * sizeof(*objs));
    order = malloc(MILLION * sizeof(*order));
    for (unsigned i = 0; i < MILLION; i++)
        order[i] = i;
    for (unsigned i = MILLION - 1; i > 0; i--) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned j = (unsigned)(rng % (i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }

    double p64[4][REPS], p256[4][REPS], fill[4][REPS], remote[4][REPS];
    double faults[4][REPS];
    for (int a = 0; a < n; a++) { /* warm-up: every allocator set up */
        time_pairs(&al[a], 64, 200000);
        time_pairs(&al[a], 256, 200000);
        time_fill(&al[a]);
    }
    for (int rep = 0; rep < REPS; rep++)
        for (int k = 0; k < n; k++) {
            int a = rep % 2 == 0 ? k : n - 1 - k;
            p64[a][rep] = time_pairs(&al[a], 64, 2000000);
            p256[a][rep] = a == 0 ? 0 : time_pairs(&al[a], 256, 2000000);
            fill[a][rep] = time_fill(&al[a]);
            faults[a][rep] = (double)fill_faults;
            remote[a][rep] = time_remote(&al[a], 1000000);
        }
    int mi = -1;
    for (int a = 2; a < n; a++)
        if (strcmp(al[a].name, "mimalloc") == 0)
            mi = a;
    /* The ratios to mimalloc are medians of each round's ratio: the two
     * ran next to each other, so a round that the machine slowed down
     * (a shared host changes speed by 1.5 to 2 times for seconds at a
     * time) slowed both. A ratio of the two medians mixed rounds of
     * different speeds and moved between 0.84 and 1.82 over ten runs
     * where the fastest rounds' ratio stayed between 1.1 and 1.2
     * (docs/kmem.md). */
    double r64[REPS], rk64[REPS], rk256[REPS], rfill[REPS], rremote[REPS];
    for (int rep = 0; rep < REPS && mi >= 0; rep++) {
        r64[rep] = p64[0][rep] / p64[mi][rep];
        rk64[rep] = p64[1][rep] / p64[mi][rep];
        rk256[rep] = p256[1][rep] / p256[mi][rep];
        rfill[rep] = fill[0][rep] / fill[mi][rep];
        rremote[rep] = remote[0][rep] / remote[mi][rep];
    }
    double m64[4], m256[4], mfill[4], mremote[4];
    printf("  %-12s %10s %10s %12s %12s %12s\n", "allocator", "pair64 ns",
           "pair256 ns", "fill1e6 ns", "fill faults", "remote ns");
    for (int a = 0; a < n; a++) {
        m64[a] = median(p64[a], REPS);
        m256[a] = median(p256[a], REPS);
        mfill[a] = median(fill[a], REPS);
        mremote[a] = median(remote[a], REPS);
        double lo = p64[a][0], hi = p64[a][REPS - 1];
        printf("  %-12s %10.1f %10.1f %12.1f %12.0f %12.1f   (pair64 "
               "%.1f-%.1f)\n",
               al[a].name, m64[a], a == 0 ? 0.0 : m256[a], mfill[a],
               median(faults[a], REPS), mremote[a], lo, hi);
    }
    double bytes = bytes_per_object(&al[0], true);
    printf("  bytes per live 64-byte object, 10^6 live: k23 cache %.2f "
           "(exact, frames taken)", bytes);
    for (int a = 2; a < n; a++)
        printf(", %s %.2f (resident-set growth)", al[a].name,
               bytes_per_object(&al[a], false));
    printf("\n");
    for (unsigned i = 0; i < k23_kmem_class_count(&km); i++) {
        k23_kmem_class_info_t ci;
        k23_kmem_class_info(&km, i, &ci);
        printf("  class %4llu: %4llu per %llu-byte slab, waste %3llu bytes "
               "per object (%.1f%%)\n",
               (unsigned long long)ci.size,
               (unsigned long long)ci.objects_per_slab,
               (unsigned long long)ci.slab_bytes,
               (unsigned long long)ci.waste_per_object,
               100.0 * (double)ci.waste_per_object / (double)ci.size);
    }
    printf("kmem.pair64_ns=%.1f\n", m64[0]);
    printf("kmem.kmalloc_pair64_ns=%.1f\n", m64[1]);
    printf("kmem.kmalloc_pair256_ns=%.1f\n", m256[1]);
    printf("kmem.fill1e6_ns=%.1f\n", mfill[0]);
    printf("kmem.remote_free_ns=%.1f\n", mremote[0]);
    if (mi >= 0) {
        printf("kmem.pair64_vs_mimalloc=%.2f\n", median(r64, REPS));
        printf("kmem.kmalloc_pair64_vs_mimalloc=%.2f\n", median(rk64, REPS));
        printf("kmem.kmalloc_pair256_vs_mimalloc=%.2f\n",
               median(rk256, REPS));
        printf("kmem.fill1e6_vs_mimalloc=%.2f\n", median(rfill, REPS));
        printf("kmem.remote_free_vs_mimalloc=%.2f\n", median(rremote, REPS));
    }
    printf("kmem.bytes_per_64b_object=%.2f\n", bytes);
    return 0;
}
