/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench frames: the frame allocator on the hosted port. "RAM" is a
 * 1 GiB mmap(MAP_NORESERVE) reservation; only the allocator's bookkeeping
 * is ever touched (nothing here asks for zeroed frames).
 *
 * Prints the median ns (thread CPU time) per operation of each case and
 * ends with:
 *   frames.cache_pair_vs_lifo=<ratio>
 *   frames.lock2_vs_lifo=<ratio> (the per-CPU locks' share of the floor)
 * and, where the port has a CPU-local fast path, frames.pcpu_steps_pair_ns
 * (its pop+push alone, without the allocator's bookkeeping).
 *   frames.free_long_vs_short_list=<ratio>
 *   frames.metadata_bytes_per_frame=<bytes>
 * The huge-frame and multicore cases of issue 18, shaped as the peer
 * harness (../shared/peer-bench) runs them so the figures compare:
 *   frames.pair2m_ns          2 MiB-aligned 2 MiB alloc+free, empty arena
 *   frames.fill2m_alloc_ns / frames.fill2m_free_ns   take every 2 MiB
 *                             block, then free them in random order
 *   frames.mt_batch_cpu_ratio thread CPU per op, 2 threads / 1 thread,
 *                             batches of 256 frames (past the cache)
 *   frames.churn_free2m       aligned 2 MiB blocks still allocatable after
 *                             a 50% 4 KiB churn with random lifetimes
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#include "k23mem/frames.h"
#include "k23mem/port.h"
#include "k23_port_config.h" /* the port's inline steps, if it has them */

#define F4K UINT64_C(4096)
#define RAM_SIZE (UINT64_C(1) << 30)
#define REPS 15
/* CPUs of the bare stack array (beyond it the steps fail and the figure
 * is left out) */
#define K23_FRAMES_MAX_CPUS_BENCH 256

/* Thread CPU time, not wall time: the machines running this are shared
 * and heavily loaded, and time spent descheduled says nothing about the
 * allocator. Every figure uses the same clock, so ratios stay fair. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench frames: %s failed: %s\n", what, k23_strerror(rc));
    exit(1);
}

/* ---- the floor: a LIFO stack behind non-inlined functions ---- */

static k23_paddr_t lifo[64];
static unsigned lifo_n;

__attribute__((noinline)) static k23_paddr_t lifo_pop(void)
{
    __asm__ volatile("" ::: "memory");
    return lifo[--lifo_n];
}

__attribute__((noinline)) static void lifo_push(k23_paddr_t pa)
{
    __asm__ volatile("" ::: "memory");
    lifo[lifo_n++] = pa;
}

/* ---- setup ---- */

static unsigned char *ram, *ram2;
static k23_frames_t fa, fa2;

static void init_fa_at(k23_frames_t *f, unsigned char *mem, unsigned cache)
{
    k23_frames_config_t cfg;
    k23_frames_config_default(&cfg, F4K);
    cfg.cache_frames = cache;
    if (cache != 0 && cfg.cache_batch > cache)
        cfg.cache_batch = cache;
    k23_range_t r = {(uint64_t)(uintptr_t)mem, RAM_SIZE};
    int rc = k23_frames_init(f, &r, 1, &cfg, NULL, 0, NULL);
    if (rc != K23_OK)
        die("init", rc);
}

static void init_fa(unsigned cache)
{
    init_fa_at(&fa, ram, cache);
}

/* Allocate every frame (caches off). */
static void alloc_everything(k23_frames_t *f)
{
    k23_paddr_t pa;
    while (k23_frames_alloc_one(f, &pa) == K23_OK)
        ;
}

static double time_pairs(k23_frames_t *f, int iters)
{
    k23_paddr_t pa;
    uint64_t t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        if (k23_frames_alloc_one(f, &pa) != K23_OK)
            die("alloc_one", K23_ERR_NOMEM);
        k23_frames_free_one(f, pa);
    }
    return (double)(now_ns() - t0) / iters;
}

static double time_lifo(int iters)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < iters; i++)
        lifo_push(lifo_pop());
    return (double)(now_ns() - t0) / iters;
}

/* The lock part of the floor: a cache-hit pair takes the per-CPU lock
 * twice (alloc, free), so time two uncontended acquire+release pairs of
 * the port's lock. */
static k23_port_lock_t bench_lock;

static double time_locks(int iters)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        k23_port_lock_acquire(&bench_lock);
        k23_port_lock_release(&bench_lock);
        k23_port_lock_acquire(&bench_lock);
        k23_port_lock_release(&bench_lock);
    }
    return (double)(now_ns() - t0) / iters;
}

/* The port's CPU-local stack steps alone, on a bare two-CPU stack array:
 * the part of a cache hit that is not the allocator's bookkeeping. */
struct bench_stack {
    k23_port_pcpu_hdr_t hdr;
    uint64_t slots[64];
};
static struct bench_stack bench_stacks[K23_FRAMES_MAX_CPUS_BENCH];

#ifdef K23_PORT_PCPU_INLINE
#define BENCH_POP k23_port_pcpu_pop_inline
#define BENCH_PUSH k23_port_pcpu_push_inline
#else
#define BENCH_POP k23_port_pcpu_pop
#define BENCH_PUSH k23_port_pcpu_push
#endif

__attribute__((noinline)) static uint64_t hooks_pop(void)
{
    return BENCH_POP(bench_stacks, sizeof(bench_stacks[0]),
                     K23_FRAMES_MAX_CPUS_BENCH,
                     offsetof(struct bench_stack, slots));
}

__attribute__((noinline)) static bool hooks_push(uint64_t v)
{
    return BENCH_PUSH(bench_stacks, sizeof(bench_stacks[0]),
                      K23_FRAMES_MAX_CPUS_BENCH,
                      offsetof(struct bench_stack, slots), 64, v);
}

/* ns per pop+push pair; 0 when the port has no fast path (or a step
 * failed: the figure is then left out). */
static double time_hooks(int iters)
{
    if (!k23_port_pcpu_fast())
        return 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        uint64_t v = hooks_pop();
        if (v == K23_PORT_PCPU_NONE || !hooks_push(v))
            return 0; /* CPU id past the array, or migrated mid-pair */
    }
    return (double)(now_ns() - t0) / iters;
}

/* Cache-hit pairs, LIFO pairs, lock pairs and bare stack-step pairs
 * measured in alternation, so that load on the machine hits them alike. */
static void bench_cache_vs_lifo(int iters, double *cache, double *floor,
                                double *locks, double *hooks)
{
    double a[REPS], b[REPS], c[REPS], d[REPS];
    k23_port_lock_init(&bench_lock);
    for (unsigned i = 0; i < 32; i++)
        lifo[lifo_n++] = i * F4K;
    for (unsigned c = 0; c < K23_FRAMES_MAX_CPUS_BENCH; c++) {
        for (unsigned i = 0; i < 32; i++)
            bench_stacks[c].slots[i] = i * F4K;
        bench_stacks[c].hdr.count = 32;
    }
    time_pairs(&fa, iters); /* warm up */
    for (int r = 0; r < REPS; r++) {
        a[r] = time_pairs(&fa, iters);
        b[r] = time_lifo(iters);
        c[r] = time_locks(iters);
        d[r] = time_hooks(iters);
    }
    *cache = median(a, REPS);
    *floor = median(b, REPS);
    *locks = median(c, REPS);
    *hooks = median(d, REPS);
}

/* Set up f (caches off) so that frames 2i are free order-0 blocks for
 * i < listed and everything else is allocated. */
static void setup_listed(k23_frames_t *f, unsigned char *mem, uint64_t listed)
{
    init_fa_at(f, mem, 0);
    alloc_everything(f);
    uint64_t base = (uint64_t)(uintptr_t)mem;
    for (uint64_t i = 0; i < listed; i++)
        k23_frames_free_one(f, base + 2 * i * F4K);
    k23_frames_stats_t s;
    k23_frames_stats(f, &s);
    if (s.free_blocks[0] != listed)
        die("coalesce setup", K23_ERR_CORRUPT);
}

enum { CO_BATCH = 100, CO_ROUNDS = 401 };

/* ns per free of CO_BATCH frames 2i+1 (each coalesces with 2i), then
 * untimed restore: each merged order-1 block is taken whole and its first
 * frame freed again. */
static double coalesce_round(k23_frames_t *f, unsigned char *mem,
                             uint64_t listed)
{
    uint64_t base = (uint64_t)(uintptr_t)mem;
    uint64_t first = listed / 2 - CO_BATCH / 2;
    uint64_t t0 = now_ns();
    for (uint64_t i = first; i < first + CO_BATCH; i++)
        k23_frames_free_one(f, base + (2 * i + 1) * F4K);
    double ns = (double)(now_ns() - t0) / CO_BATCH;
    for (int i = 0; i < CO_BATCH; i++) {
        k23_paddr_t pa;
        int rc = k23_frames_alloc_contiguous(f, 2 * F4K, 13, &pa);
        if (rc != K23_OK)
            die("restore", rc);
        k23_frames_free_one(f, pa);
    }
    return ns;
}

/* Frees that merge with free neighbours, in an arena with 1,000 and in
 * one with 100,000 isolated free frames, measured in alternation: the
 * cost of a free must not grow with the free frames elsewhere (the
 * metric names keep the buddy allocator's "lists" this case was written
 * for). */
static void bench_coalescing(double *short_ns, double *long_ns)
{
    double a[CO_ROUNDS], b[CO_ROUNDS];
    setup_listed(&fa, ram, 1000);
    setup_listed(&fa2, ram2, 100000);
    for (int r = 0; r < CO_ROUNDS; r++) {
        a[r] = coalesce_round(&fa, ram, 1000);
        b[r] = coalesce_round(&fa2, ram2, 100000);
    }
    k23_frames_stats_t s, s2;
    k23_frames_stats(&fa, &s);
    k23_frames_stats(&fa2, &s2);
    if (s.free_blocks[0] != 1000 || s2.free_blocks[0] != 100000 ||
        s.free_blocks[1] != 0 || s2.free_blocks[1] != 0 ||
        k23_frames_check(&fa) != K23_OK || k23_frames_check(&fa2) != K23_OK)
        die("coalesce restore", K23_ERR_CORRUPT);
    *short_ns = median(a, CO_ROUNDS);
    *long_ns = median(b, CO_ROUNDS);
}

static double bench_runs(uint64_t size, unsigned align_log2, int iters,
                         uint64_t *frames_used)
{
    double v[REPS];
    k23_frames_stats_t s0, s1;
    k23_paddr_t pa;
    k23_frames_stats(&fa, &s0);
    if (k23_frames_alloc_contiguous(&fa, size, align_log2, &pa) != K23_OK)
        die("run", K23_ERR_NOMEM);
    k23_frames_stats(&fa, &s1);
    *frames_used = s1.allocated_frames - s0.allocated_frames;
    k23_frames_free_contiguous(&fa, pa, size);
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < iters; i++) {
            int rc = k23_frames_alloc_contiguous(&fa, size, align_log2, &pa);
            if (rc != K23_OK)
                die("run", rc);
            k23_frames_free_contiguous(&fa, pa, size);
        }
        v[r] = (double)(now_ns() - t0) / iters;
    }
    return median(v, REPS);
}

/* ---- huge frames: 2 MiB pairs, fill and free every 2 MiB block ---- */

#define F2M (UINT64_C(2) << 20)
#define BLOCKS_2M (RAM_SIZE / F2M)

static double bench_pair2m(int iters)
{
    double v[REPS];
    k23_paddr_t pa;
    init_fa(K23_FRAMES_DEFAULT_CACHE);
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < iters; i++) {
            int rc = k23_frames_alloc_contiguous(&fa, F2M, 21, &pa);
            if (rc != K23_OK)
                die("2 MiB alloc", rc);
            k23_frames_free_contiguous(&fa, pa, F2M);
        }
        v[r] = (double)(now_ns() - t0) / iters;
    }
    return median(v, REPS);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void shuffle(k23_paddr_t *v, uint64_t n, uint64_t seed)
{
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = xorshift(&seed) % i;
        k23_paddr_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* ns per op: allocate every 2 MiB block of a fresh arena, then free them
 * in random order. Rounds repeat on the same arena. */
static void bench_fill2m(int rounds, double *alloc_ns, double *free_ns)
{
    static k23_paddr_t blk[BLOCKS_2M];
    double a[REPS], f[REPS];
    init_fa(K23_FRAMES_DEFAULT_CACHE);
    for (int r = 0; r < REPS; r++) {
        uint64_t ta = 0, tf = 0, ops = 0;
        for (int round = 0; round < rounds; round++) {
            uint64_t n = 0;
            uint64_t t0 = now_ns();
            while (n < BLOCKS_2M &&
                   k23_frames_alloc_contiguous(&fa, F2M, 21, &blk[n]) == K23_OK)
                n++;
            uint64_t t1 = now_ns();
            shuffle(blk, n, 777 + 1000 * (uint64_t)r + (uint64_t)round);
            uint64_t t2 = now_ns();
            for (uint64_t i = 0; i < n; i++)
                k23_frames_free_contiguous(&fa, blk[i], F2M);
            uint64_t t3 = now_ns();
            ta += t1 - t0;
            tf += t3 - t2;
            ops += n;
        }
        a[r] = (double)ta / (double)ops;
        f[r] = (double)tf / (double)ops;
    }
    *alloc_ns = median(a, REPS);
    *free_ns = median(f, REPS);
}

/* ---- multicore: batches of 256 frames, 1 thread vs 2 threads ---- */

enum { MT_BATCH = 256, MT_ITERS = 4000 };

struct mt_arg {
    int cpu;
    pthread_barrier_t *bar;
    uint64_t cpu_ns, ops;
};

static void *mt_thread(void *vp)
{
    struct mt_arg *a = vp;
    k23_paddr_t buf[MT_BATCH];
    cpu_set_t cs;
    CPU_ZERO(&cs);
    CPU_SET(a->cpu, &cs);
    /* best effort: without the pin the figure is still CPU time per op */
    (void)pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
    pthread_barrier_wait(a->bar);
    uint64_t c0 = now_ns();
    for (int it = 0; it < MT_ITERS; it++) {
        for (int k = 0; k < MT_BATCH; k++)
            if (k23_frames_alloc_one(&fa, &buf[k]) != K23_OK)
                die("mt alloc_one", K23_ERR_NOMEM);
        for (int k = MT_BATCH - 1; k >= 0; k--)
            k23_frames_free_one(&fa, buf[k]);
    }
    a->cpu_ns = now_ns() - c0;
    a->ops = 2u * MT_BATCH * MT_ITERS;
    return NULL;
}

/* Mean over threads of thread CPU ns per op (time descheduled by other
 * tenants of the machine does not count). */
static double mt_run(int nthreads)
{
    pthread_barrier_t bar;
    pthread_t th[2];
    struct mt_arg a[2];
    init_fa(K23_FRAMES_DEFAULT_CACHE);
    pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
    for (int t = 0; t < nthreads; t++) {
        a[t] = (struct mt_arg){nthreads == 1 ? 1 : t, &bar, 0, 0};
        if (pthread_create(&th[t], NULL, mt_thread, &a[t]) != 0)
            die("pthread_create", K23_ERR_NOMEM);
    }
    double per_op = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        per_op += (double)a[t].cpu_ns / (double)a[t].ops;
    }
    pthread_barrier_destroy(&bar);
    k23_frames_stats_t s;
    k23_frames_drain_all(&fa);
    k23_frames_stats(&fa, &s);
    if (s.allocated_frames != 0 || k23_frames_check(&fa) != K23_OK)
        die("mt frames lost", K23_ERR_CORRUPT);
    return per_op / nthreads;
}

/* Median over REPS of (CPU per op with 2 threads) / (with 1 thread), the
 * two runs of a repetition back to back. */
static double bench_mt_batch(double *one_ns, double *two_ns)
{
    double r1[REPS], r2[REPS], q[REPS];
    for (int r = 0; r < REPS; r++) {
        r1[r] = mt_run(1);
        r2[r] = mt_run(2);
        q[r] = r2[r] / r1[r];
    }
    *one_ns = median(r1, REPS);
    *two_ns = median(r2, REPS);
    return median(q, REPS);
}

/* ---- anti-fragmentation: 50% 4 KiB churn, then free 2 MiB blocks ---- */

/* The peer harness's churn: 4 x frames steps keeping about half the
 * frames allocated as single frames with random lifetimes, then count
 * the aligned 2 MiB blocks that can still be allocated. */
static uint64_t bench_churn(uint64_t *live_out)
{
    const uint64_t nframes = RAM_SIZE / F4K, target = nframes / 2;
    k23_paddr_t *live = malloc(nframes * sizeof(*live));
    k23_paddr_t *huge = malloc(BLOCKS_2M * sizeof(*huge));
    uint64_t rng = UINT64_C(0x9e3779b97f4a7c15), n = 0, nh = 0;
    if (live == NULL || huge == NULL)
        die("churn malloc", K23_ERR_NOMEM);
    init_fa(K23_FRAMES_DEFAULT_CACHE);
    for (uint64_t step = 0; step < 4 * nframes; step++) {
        uint64_t x = xorshift(&rng);
        bool do_alloc = n < target / 8 || (n < target && x % 100 < 60) ||
                        (n >= target && x % 100 < 40);
        if (do_alloc) {
            if (k23_frames_alloc_one(&fa, &live[n]) == K23_OK)
                n++;
        } else if (n != 0) {
            uint64_t i = (x >> 20) % n;
            k23_frames_free_one(&fa, live[i]);
            live[i] = live[--n];
        }
    }
    while (nh < BLOCKS_2M &&
           k23_frames_alloc_contiguous(&fa, F2M, 21, &huge[nh]) == K23_OK)
        nh++;
    for (uint64_t i = 0; i < nh; i++)
        k23_frames_free_contiguous(&fa, huge[i], F2M);
    for (uint64_t i = 0; i < n; i++)
        k23_frames_free_one(&fa, live[i]);
    *live_out = n;
    free(live);
    free(huge);
    return nh;
}

int k23_bench_frames(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    size_t map = 2 * RAM_SIZE + (4u << 20);
    void *p = mmap(NULL, map, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    ram = (unsigned char *)(((uintptr_t)p + (4u << 20) - 1) &
                            ~(uintptr_t)((4u << 20) - 1));
    ram2 = ram + RAM_SIZE;

    printf("frames: 1 GiB arena of 4 KiB frames, medians of %d runs\n", REPS);

    /* metadata */
    init_fa(64);
    k23_frames_stats_t s;
    k23_frames_stats(&fa, &s);
    double meta = (double)s.metadata_bytes / (double)s.total_frames;
    printf("  bookkeeping: %llu bytes for %llu frames\n",
           (unsigned long long)s.metadata_bytes,
           (unsigned long long)s.total_frames);

    /* cache hit pair vs the LIFO floor, in the same run */
    double cache_pair, lifo_pair, lock_pairs, hooks_pair;
    bench_cache_vs_lifo(100000, &cache_pair, &lifo_pair, &lock_pairs,
                        &hooks_pair);
    printf("  per-CPU cache hit alloc+free pair: %.1f ns\n", cache_pair);
    printf("  LIFO pop+push through non-inlined functions: %.1f ns\n",
           lifo_pair);
    printf("  two uncontended port lock acquire+release pairs: %.1f ns\n",
           lock_pairs);
    if (hooks_pair > 0)
        printf("  the port's CPU-local pop+push alone (bare stack): %.1f ns\n",
               hooks_pair);

    /* caches off */
    init_fa(0);
    double v[REPS];
    for (int r = 0; r < REPS; r++)
        v[r] = time_pairs(&fa, 100000);
    double nocache_pair = median(v, REPS);
    printf("  single frame alloc+free, caches off: %.1f ns\n", nocache_pair);

    /* exact runs on a fresh arena */
    uint64_t used3, used257;
    init_fa(0);
    double run3 = bench_runs(3 * F4K, 0, 100000, &used3);
    double run257 = bench_runs(257 * F4K, 0, 20000, &used257);
    printf("  3-frame run alloc+free: %.1f ns, %llu frames used (a "
           "power-of-two buddy uses 4: 25%% waste)\n",
           run3, (unsigned long long)used3);
    printf("  257-frame run alloc+free: %.1f ns, %llu frames used (a "
           "power-of-two buddy uses 512: 50%% waste)\n",
           run257, (unsigned long long)used257);

    /* 2 MiB-aligned 512-frame runs on a fragmented arena: one frame of
     * every 4 MiB stays allocated (in its upper half), the rest is free */
    init_fa(0);
    alloc_everything(&fa);
    uint64_t base = (uint64_t)(uintptr_t)ram;
    k23_frames_stats(&fa, &s);
    for (uint64_t i = 0; i < s.total_frames; i++)
        if (i % 1024 != 700)
            k23_frames_free_one(&fa, base + i * F4K);
    uint64_t used512;
    double run512 = bench_runs(2u << 20, 21, 20000, &used512);
    k23_frames_stats(&fa, &s);
    printf("  2 MiB-aligned 512-frame run alloc+free, fragmented arena "
           "(%llu free blocks of order 0): %.1f ns\n",
           (unsigned long long)s.free_blocks[0], run512);

    /* merging free with few and with many isolated free frames */
    double short_free, long_free;
    bench_coalescing(&short_free, &long_free);
    printf("  merging free, 1,000 isolated free frames: %.1f ns\n",
           short_free);
    printf("  merging free, 100,000 isolated free frames: %.1f ns\n",
           long_free);

    /* huge frames, multicore, anti-fragmentation (issue 18) */
    double pair2m = bench_pair2m(20000);
    printf("  2 MiB alloc+free pair, empty arena: %.1f ns\n", pair2m);
    double fill2m_a, fill2m_f;
    bench_fill2m(20, &fill2m_a, &fill2m_f);
    printf("  allocate every 2 MiB block / free them randomly: %.1f / %.1f "
           "ns per op\n", fill2m_a, fill2m_f);
    double mt1, mt2;
    double mt_ratio = bench_mt_batch(&mt1, &mt2);
    printf("  256-frame batches, CPU per op: 1 thread %.1f ns, each of 2 "
           "threads %.1f ns (x%.2f)\n", mt1, mt2, mt_ratio);
    uint64_t churn_live;
    uint64_t churn = bench_churn(&churn_live);
    printf("  after a 50%% 4 KiB churn (%llu frames live): %llu of %llu "
           "aligned 2 MiB blocks allocatable\n",
           (unsigned long long)churn_live, (unsigned long long)churn,
           (unsigned long long)BLOCKS_2M);

    printf("frames.cache_pair_ns=%.1f\n", cache_pair);
    printf("frames.lifo_pair_ns=%.1f\n", lifo_pair);
    printf("frames.nocache_pair_ns=%.1f\n", nocache_pair);
    printf("frames.run3_pair_ns=%.1f\n", run3);
    printf("frames.run257_pair_ns=%.1f\n", run257);
    printf("frames.run512_aligned_fragmented_pair_ns=%.1f\n", run512);
    printf("frames.free_short_list_ns=%.1f\n", short_free);
    printf("frames.free_long_list_ns=%.1f\n", long_free);
    printf("frames.lock2_pair_ns=%.1f\n", lock_pairs);
    if (hooks_pair > 0)
        printf("frames.pcpu_steps_pair_ns=%.1f\n", hooks_pair);
    printf("frames.cache_pair_vs_lifo=%.2f\n", cache_pair / lifo_pair);
    printf("frames.lock2_vs_lifo=%.2f\n", lock_pairs / lifo_pair);
    printf("frames.free_long_vs_short_list=%.2f\n", long_free / short_free);
    printf("frames.metadata_bytes_per_frame=%.3f\n", meta);
    printf("frames.pair2m_ns=%.1f\n", pair2m);
    printf("frames.fill2m_alloc_ns=%.1f\n", fill2m_a);
    printf("frames.fill2m_free_ns=%.1f\n", fill2m_f);
    printf("frames.mt_batch_1t_ns=%.1f\n", mt1);
    printf("frames.mt_batch_2t_ns=%.1f\n", mt2);
    printf("frames.mt_batch_cpu_ratio=%.2f\n", mt_ratio);
    printf("frames.churn_free2m=%llu\n", (unsigned long long)churn);
    munmap(p, map);
    return 0;
}
