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
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "k23mem/frames.h"
#include "k23mem/port.h"

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

/* Coalescing frees with 1,000 and with 100,000 order-0 blocks listed, in
 * two arenas measured in alternation. */
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

    /* coalescing free with a short and a long order-0 list */
    double short_free, long_free;
    bench_coalescing(&short_free, &long_free);
    printf("  coalescing free, 1,000 blocks listed: %.1f ns\n", short_free);
    printf("  coalescing free, 100,000 blocks listed: %.1f ns\n", long_free);

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
    printf("frames.metadata_bytes_per_frame=%.2f\n", meta);
    munmap(p, map);
    return 0;
}
