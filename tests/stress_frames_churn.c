/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame allocator under the worst scheduling we can arrange, with the
 * checker running all the time:
 *
 * - more worker threads than CPUs, so callers are preempted between any
 *   two instructions, including between a per-CPU cache step and the
 *   frame state update that goes with it;
 * - affinity churn: a thread keeps moving workers to other CPUs
 *   (sched_setaffinity), so they migrate in the middle of operations;
 * - a signal storm: a thread keeps sending SIGUSR1 to the workers, so rseq
 *   sequences abort and restart;
 * - a checker thread that runs k23_frames_check() in a loop and requires
 *   K23_OK every time (a checker that reports corruption that is not there
 *   is useless), and takes statistics that must add up.
 *
 * Workers allocate and free single frames (plain and zeroed), runs (whole
 * 2 MiB chunks and short runs below a physical limit among them) and
 * bulk batches, and drain random CPUs' caches. An exact ownership map (one
 * owner word per frame, claimed with a compare-and-swap) proves every frame
 * is handed out to one owner at a time; tags inside the frames prove
 * nobody else wrote them; at the end nothing is lost: every frame is back
 * in the arena after a drain, and the checker passes.
 *
 * Runs for K23_STRESS_SECONDS (default 25 s; 8 s under sanitizers, where
 * the caches are the locked ones under ThreadSanitizer), and on, up to
 * five times as long, until every minimum it requires is reached, with
 * K23_STRESS_WORKERS workers (default 4 per CPU, 6 to 16).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "k23mem/frames.h"
#include "stress.h"

#define F4K 4096u
#define ARENA_FRAMES 4096u /* 8 chunks of 512 frames */
#define MAXWORKERS 16
#define MAXLIVE 40

static k23_frames_t fa;
static uintptr_t ram_base;
static unsigned nworkers;
static atomic_uint owner[ARENA_FRAMES]; /* worker id + 1, or 0 */
static atomic_int stop;
static atomic_int workers_ready;
static atomic_long signals_seen, moves, checks, bad_checks, bad_stats;
/* whole chunks held (at most MAXCHUNKS; reserved before the allocation,
 * released after the free), so the checker can bound the frames held */
#define MAXCHUNKS 2
static atomic_int chunks_live;
static atomic_long chunk_allocs, limited_allocs;
/* operations done by each worker so far, for the minimums below */
static atomic_long worker_ops[MAXWORKERS];
static pthread_t workers[MAXWORKERS];
static atomic_int tids[MAXWORKERS];
static cpu_set_t all_cpus;

struct item {
    k23_paddr_t pa;
    uint64_t n;
    int zeroed;
};

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static unsigned frame_index(k23_paddr_t pa)
{
    return (unsigned)((pa - ram_base) / F4K);
}

/* Claim frames [pa, pa + n * 4K) for worker id: every one must be
 * unowned, inside the arena, and (when zeroed) read as zero. Returns the
 * number of violations. */
static long claim(k23_paddr_t pa, uint64_t n, unsigned id, int zeroed)
{
    long bad = 0;
    if (pa < ram_base || (pa - ram_base) % F4K != 0 ||
        frame_index(pa) + n > ARENA_FRAMES)
        return 1;
    for (uint64_t i = 0; i < n; i++) {
        unsigned expect = 0;
        if (!atomic_compare_exchange_strong(&owner[frame_index(pa) + i],
                                            &expect, id))
            bad++; /* handed out while someone else owns it */
        volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(pa + i * F4K);
        if (zeroed && (p[0] != 0 || p[1] != 0 || p[511] != 0))
            bad++;
        p[0] = id;
        p[1] = pa + i * F4K;
    }
    return bad;
}

/* Give frames back in the map (before freeing them): they must still be
 * ours with our tags. */
static long unclaim(k23_paddr_t pa, uint64_t n, unsigned id)
{
    long bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(pa + i * F4K);
        if (p[0] != id || p[1] != pa + i * F4K)
            bad++;
        unsigned expect = id;
        if (!atomic_compare_exchange_strong(&owner[frame_index(pa) + i],
                                            &expect, 0))
            bad++;
    }
    return bad;
}

static void release(struct item *it, unsigned id, long *bad)
{
    *bad += unclaim(it->pa, it->n, id);
    if (it->n == 1 && (it->zeroed & 2) == 0)
        k23_frames_free_one(&fa, it->pa);
    else if (k23_frames_free_contiguous(&fa, it->pa, it->n * F4K) != K23_OK)
        (*bad)++;
    if (it->n == 512)
        atomic_fetch_sub(&chunks_live, 1);
}

static void *worker(void *arg)
{
    unsigned idx = (unsigned)(uintptr_t)arg;
    unsigned id = idx + 1;
    uint64_t rng = 0x9e3779b97f4a7c15u * id;
    struct item live[MAXLIVE];
    unsigned nlive = 0;
    long bad = 0, ops = 0;

    atomic_store(&tids[idx], (int)syscall(SYS_gettid));
    atomic_fetch_add(&workers_ready, 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t r = xorshift(&rng);
        unsigned pick = (unsigned)(r % 100);
        ops++;
        atomic_store_explicit(&worker_ops[idx], ops, memory_order_relaxed);
        if (nlive == MAXLIVE || (nlive > 0 && pick < 46)) {
            unsigned k = (unsigned)((r >> 8) % nlive);
            release(&live[k], id, &bad);
            live[k] = live[--nlive];
        } else if (pick < 90) {
            k23_paddr_t pa;
            int zeroed = pick >= 86;
            int rc = zeroed ? k23_frames_alloc_one_zeroed(&fa, &pa)
                            : k23_frames_alloc_one(&fa, &pa);
            if (rc == K23_OK) {
                bad += claim(pa, 1, id, zeroed);
                live[nlive++] = (struct item){pa, 1, zeroed};
            }
        } else if (pick == 93 && (r >> 16) % 4 == 0) {
            /* a whole chunk (the chunk-bitmap path), or a short run
             * below a physical limit (the limited run search) */
            int chunk = (r >> 20) % 2 == 0, c = atomic_load(&chunks_live);
            if (chunk && (c >= MAXCHUNKS ||
                          !atomic_compare_exchange_strong(&chunks_live, &c,
                                                          c + 1)))
                continue;
            uint64_t n = chunk ? 512 : 1 + (r >> 24) % 8;
            k23_frames_req_t req = {n * F4K, chunk ? 21u : 12u, 0,
                                    ram_base + ARENA_FRAMES * F4K / 2 - 1};
            if (chunk)
                req.limit = K23_FRAMES_NO_LIMIT;
            k23_paddr_t pa;
            if (k23_frames_alloc(&fa, &req, &pa) == K23_OK) {
                bad += claim(pa, n, id, 0);
                bad += (pa + n * F4K - 1 > req.limit);
                bad += chunk && (pa & (2 * 1024 * 1024 - 1)) != 0;
                atomic_fetch_add(chunk ? &chunk_allocs : &limited_allocs, 1);
                live[nlive++] = (struct item){pa, n, 2};
            } else if (chunk) {
                atomic_fetch_sub(&chunks_live, 1);
            }
        } else if (pick < 95) {
            uint64_t n = 1 + (r >> 16) % 5;
            k23_paddr_t pa;
            if (k23_frames_alloc_contiguous(&fa, n * F4K, 12, &pa) ==
                K23_OK) {
                bad += claim(pa, n, id, 0);
                /* runs are freed with free_contiguous (bit 1) */
                live[nlive++] = (struct item){pa, n, 2};
            }
        } else if (pick < 98) {
            k23_paddr_t v[6];
            size_t n = 2 + (r >> 16) % 5;
            if (nlive + n <= MAXLIVE &&
                k23_frames_alloc_bulk(&fa, n, 0, K23_FRAMES_NO_LIMIT, v) ==
                    K23_OK) {
                for (size_t i = 0; i < n; i++) {
                    bad += claim(v[i], 1, id, 0);
                    live[nlive++] = (struct item){v[i], 1, 0};
                }
            }
        } else {
            k23_frames_drain_cpu(&fa, (unsigned)(r >> 20) %
                                          k23_port_cpu_count());
        }
    }
    while (nlive > 0)
        release(&live[--nlive], id, &bad);
    STRESS_CHECK(bad == 0, "worker %u: %ld ownership or tag violations", id,
                 bad);
    STRESS_CHECK(ops > 1000, "worker %u: only %ld operations", id, ops);
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_fetch_add_explicit(&signals_seen, 1, memory_order_relaxed);
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Move a random worker to a random single CPU, or back to all of them. */
static void *mover(void *arg)
{
    (void)arg;
    uint64_t rng = 0xabcdef12345u;
    int ncpu = CPU_COUNT(&all_cpus);
    while (!atomic_load(&stop)) {
        uint64_t r = xorshift(&rng);
        int tid = atomic_load(&tids[r % nworkers]);
        cpu_set_t set = all_cpus;
        if ((r >> 32) % 4 != 0) {
            /* the k-th CPU of the allowed set */
            int k = (int)((r >> 40) % (uint64_t)ncpu), seen = 0;
            CPU_ZERO(&set);
            for (int c = 0; c < CPU_SETSIZE; c++) {
                if (CPU_ISSET(c, &all_cpus) && seen++ == k) {
                    CPU_SET(c, &set);
                    break;
                }
            }
        }
        if (sched_setaffinity(tid, sizeof(set), &set) == 0)
            atomic_fetch_add(&moves, 1);
        nap_us(100);
    }
    for (unsigned i = 0; i < nworkers; i++)
        sched_setaffinity(atomic_load(&tids[i]), sizeof(all_cpus), &all_cpus);
    return NULL;
}

static void *signaller(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        for (unsigned i = 0; i < nworkers; i++)
            pthread_kill(workers[i], SIGUSR1);
        nap_us(20);
    }
    return NULL;
}

static void *checker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        if (k23_frames_check(&fa) != K23_OK)
            atomic_fetch_add(&bad_checks, 1);
        atomic_fetch_add(&checks, 1);
        k23_frames_stats_t s;
        if (k23_frames_stats(&fa, &s) != K23_OK ||
            s.free_frames + s.cached_frames + s.allocated_frames !=
                s.total_frames ||
            s.allocated_frames >
                (uint64_t)nworkers * (MAXLIVE * 8 + 8) + MAXCHUNKS * 512)
            atomic_fetch_add(&bad_stats, 1);
    }
    return NULL;
}

/* Each figure the end of main() requires has been reached. */
static bool minimums_reached(void)
{
    for (unsigned i = 0; i < nworkers; i++)
        if (atomic_load(&worker_ops[i]) <= 1000)
            return false;
    return atomic_load(&checks) >= 10 && atomic_load(&signals_seen) > 1000 &&
           atomic_load(&moves) > 100 && atomic_load(&chunk_allocs) > 10 &&
           atomic_load(&limited_allocs) > 10;
}

int main(void)
{
    const char *env = getenv("K23_STRESS_SECONDS");
    long seconds = env ? strtol(env, NULL, 0) : (STRESS_SLOW ? 8 : 25);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *wenv = getenv("K23_STRESS_WORKERS");
    nworkers = wenv ? (unsigned)strtoul(wenv, NULL, 0)
                    : (unsigned)(ncpu < 2 ? 6 : 4 * ncpu);
    if (nworkers < 6)
        nworkers = 6;
    if (nworkers > MAXWORKERS)
        nworkers = MAXWORKERS;
    STRESS_CHECK(sched_getaffinity(0, sizeof(all_cpus), &all_cpus) == 0,
                 "sched_getaffinity");

    size_t size = (size_t)ARENA_FRAMES * F4K, align = 2u << 20;
    void *map = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    STRESS_CHECK(map != MAP_FAILED, "mmap");
    /* 2 MiB aligned, so that whole chunks can be asked for */
    void *ram = (void *)(((uintptr_t)map + align - 1) & ~(uintptr_t)(align - 1));
    ram_base = (uintptr_t)ram;
    k23_frames_config_t cfg;
    k23_frames_config_default(&cfg, F4K);
    cfg.cache_frames = 16; /* small caches: many refills and spills */
    cfg.cache_batch = 4;
    k23_range_t r = {(uint64_t)ram_base, size};
    STRESS_CHECK(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL) == K23_OK,
                 "init");
    k23_frames_stats_t s0;
    k23_frames_stats(&fa, &s0);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    for (uintptr_t i = 0; i < nworkers; i++)
        pthread_create(&workers[i], NULL, worker, (void *)i);
    while (atomic_load(&workers_ready) < (int)nworkers)
        nap_us(100);
    pthread_t mv, sg, ck;
    pthread_create(&mv, NULL, mover, NULL);
    pthread_create(&sg, NULL, signaller, NULL);
    pthread_create(&ck, NULL, checker, NULL);
    /* the set time, then on (up to five times as long) until every
     * minimum checked below is reached: a starved run is a slow one, not
     * a failure by chance */
    for (long t = 0; t < seconds * 50; t++) {
        if (t >= seconds * 10 && minimums_reached())
            break;
        nap_us(100000);
    }
    atomic_store(&stop, 1);
    pthread_join(sg, NULL);
    pthread_join(mv, NULL);
    pthread_join(ck, NULL);
    for (unsigned i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);

    printf("stress_frames_churn: %u workers, fast path %s, %ld checks, "
           "%ld signals, %ld moves\n",
           nworkers, fa.pcpu_fast ? "on" : "off", atomic_load(&checks),
           atomic_load(&signals_seen), atomic_load(&moves));
    STRESS_CHECK(atomic_load(&bad_checks) == 0,
                 "the concurrent checker failed %ld of %ld times",
                 atomic_load(&bad_checks), atomic_load(&checks));
    STRESS_CHECK(atomic_load(&bad_stats) == 0, "%ld inconsistent statistics",
                 atomic_load(&bad_stats));
    STRESS_CHECK(atomic_load(&checks) >= 10, "only %ld checks",
                 atomic_load(&checks));
    STRESS_CHECK(atomic_load(&signals_seen) > 1000, "only %ld signals",
                 atomic_load(&signals_seen));
    STRESS_CHECK(atomic_load(&moves) > 100, "only %ld moves",
                 atomic_load(&moves));
    STRESS_CHECK(atomic_load(&chunk_allocs) > 10 &&
                     atomic_load(&limited_allocs) > 10,
                 "only %ld whole chunks and %ld limited runs allocated",
                 atomic_load(&chunk_allocs), atomic_load(&limited_allocs));

    long owned = 0;
    for (unsigned i = 0; i < ARENA_FRAMES; i++)
        owned += atomic_load(&owner[i]) != 0;
    STRESS_CHECK(owned == 0, "%ld frames still owned", owned);
    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check after the run");
    k23_frames_stats_t s;
    k23_frames_stats(&fa, &s);
    STRESS_CHECK(s.allocated_frames == 0, "%llu frames lost",
                 (unsigned long long)s.allocated_frames);
    k23_frames_drain_all(&fa);
    k23_frames_stats(&fa, &s);
    STRESS_CHECK(s.cached_frames == 0 && s.free_frames == s0.total_frames,
                 "free %llu of %llu after draining",
                 (unsigned long long)s.free_frames,
                 (unsigned long long)s0.total_frames);
    for (unsigned o = 0; o < K23_FRAMES_ORDER_LIMIT; o++)
        STRESS_CHECK(s.free_blocks[o] == s0.free_blocks[o],
                     "order %u: %llu free blocks, %llu at start", o,
                     (unsigned long long)s.free_blocks[o],
                     (unsigned long long)s0.free_blocks[o]);
    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check after draining");
    return stress_finish("stress_frames_churn");
}
