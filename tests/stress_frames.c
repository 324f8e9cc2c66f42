/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Threaded stress test of the frame allocator: more threads than CPUs
 * (so callers are preempted and migrated between CPU caches) allocate and
 * free single frames through the per-CPU caches, runs and bulk batches,
 * and drain random CPUs' caches. Each frame carries its owner's tag while
 * allocated, so a frame handed out twice is noticed. Runs under
 * ThreadSanitizer (label "threads"). With K23_STRESS_FRAMES_OPTS=1 the
 * allocator also poisons free frames (every allocation checks the
 * pattern), counts per-CPU statistics and keeps an 8-byte record per
 * frame that each owner bumps; the per-CPU cached counts must add up to
 * the global one at the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "k23mem/frames.h"
#include "stress.h"

#define NTHREADS 6
#define MAXLIVE 48
#define F4K 4096u

static k23_frames_t fa;
static uint64_t ops_per_thread;
static int opts; /* K23_STRESS_FRAMES_OPTS */

/* With opts: the owner of frames [pa, pa + n frames) bumps their
 * per-frame records (nobody else touches them meanwhile). */
static void bump_info(k23_paddr_t pa, uint64_t n)
{
    for (uint64_t i = 0; opts && i < n; i++)
        (*(uint64_t *)k23_frames_info(&fa, pa + i * F4K))++;
}

struct item {
    k23_paddr_t pa;
    uint64_t n;
};

static void tag(k23_paddr_t pa, uint64_t n, uint64_t t)
{
    for (uint64_t i = 0; i < n; i++)
        *(volatile uint64_t *)(uintptr_t)(pa + i * F4K) = t;
}

static int check_tag(k23_paddr_t pa, uint64_t n, uint64_t t)
{
    for (uint64_t i = 0; i < n; i++)
        if (*(volatile uint64_t *)(uintptr_t)(pa + i * F4K) != t)
            return 0;
    return 1;
}

static void *worker(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg + 1;
    uint64_t rng = 0x12345678u * id + 1;
    struct item live[MAXLIVE];
    unsigned nlive = 0;
    long bad_tags = 0, errors = 0;

    for (uint64_t op = 0; op < ops_per_thread; op++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        unsigned r = (unsigned)(rng % 100);
        uint64_t t = (id << 48) | op;
        if (nlive == MAXLIVE || (nlive > 0 && r < 48)) {
            unsigned k = (unsigned)((rng >> 20) % nlive);
            struct item it = live[k];
            live[k] = live[--nlive];
            uint64_t want = *(volatile uint64_t *)(uintptr_t)it.pa;
            if ((want >> 48) != id || !check_tag(it.pa, it.n, want))
                bad_tags++;
            bump_info(it.pa, it.n);
            if (it.n == 1)
                k23_frames_free_one(&fa, it.pa);
            else if (k23_frames_free_contiguous(&fa, it.pa, it.n * F4K) !=
                     K23_OK)
                errors++;
        } else if (r < 80) {
            k23_paddr_t pa;
            if (k23_frames_alloc_one(&fa, &pa) == K23_OK) {
                tag(pa, 1, t);
                live[nlive++] = (struct item){pa, 1};
            }
        } else if (r < 90) {
            k23_paddr_t pa;
            uint64_t n = 1 + (rng >> 40) % 9;
            if (k23_frames_alloc_contiguous(&fa, n * F4K - 1, 0, &pa) ==
                K23_OK) {
                tag(pa, n, t);
                live[nlive++] = (struct item){pa, n};
            }
        } else if (r < 96) {
            k23_paddr_t v[8];
            unsigned n = 8;
            if (nlive + n <= MAXLIVE &&
                k23_frames_alloc_bulk(&fa, n, 0, K23_FRAMES_NO_LIMIT, v) ==
                    K23_OK) {
                for (unsigned i = 0; i < n; i++) {
                    tag(v[i], 1, t);
                    live[nlive++] = (struct item){v[i], 1};
                }
            }
        } else {
            k23_frames_drain_cpu(&fa, (unsigned)((rng >> 30) % 4));
        }
    }
    while (nlive > 0) {
        struct item it = live[--nlive];
        uint64_t want = *(volatile uint64_t *)(uintptr_t)it.pa;
        if ((want >> 48) != id || !check_tag(it.pa, it.n, want))
            bad_tags++;
        if (it.n == 1)
            k23_frames_free_one(&fa, it.pa);
        else
            k23_frames_free_contiguous(&fa, it.pa, it.n * F4K);
    }
    STRESS_CHECK(bad_tags == 0, "thread %llu: %ld frames overwritten",
                 (unsigned long long)id, bad_tags);
    STRESS_CHECK(errors == 0, "thread %llu: %ld free errors",
                 (unsigned long long)id, errors);
    return NULL;
}

int main(void)
{
    const char *env = getenv("K23_STRESS_OPS");
    ops_per_thread = env ? strtoull(env, NULL, 0)
                         : (STRESS_SLOW ? 20000 : 200000);
    /* 2 MiB of "RAM": about 500 frames for 6 threads keeps the arena near
     * exhaustion, so refills, drains and the drain-on-NOMEM path all run. */
    size_t size = 2u << 20;
    void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    STRESS_CHECK(ram != MAP_FAILED, "mmap");
    k23_frames_config_t cfg;
    k23_frames_config_default(&cfg, F4K);
    cfg.cache_frames = 16;
    cfg.cache_batch = 4;
    env = getenv("K23_STRESS_FRAMES_OPTS");
    opts = env != NULL && env[0] == '1';
    cfg.poison = opts;
    cfg.cpu_stats = opts;
    cfg.info_size = opts ? 8 : 0;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, size};
    STRESS_CHECK(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL) == K23_OK,
                 "init");
    k23_frames_stats_t s0;
    k23_frames_stats(&fa, &s0);

    pthread_t th[NTHREADS];
    for (uintptr_t i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);

    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check after threads");
    k23_frames_stats_t s1;
    k23_frames_stats(&fa, &s1);
    STRESS_CHECK(s1.allocated_frames == 0, "%llu frames leaked",
                 (unsigned long long)s1.allocated_frames);
    if (opts) {
        uint64_t cached = 0, bumps = 0;
        for (unsigned i = 0; i < fa.ncaches; i++) {
            k23_frames_cpu_stats_t cs;
            STRESS_CHECK(k23_frames_cpu_stats(&fa, i, &cs) == K23_OK,
                         "cpu_stats");
            cached += cs.cached;
        }
        STRESS_CHECK(cached == s1.cached_frames,
                     "per-CPU cached %llu, global %llu",
                     (unsigned long long)cached,
                     (unsigned long long)s1.cached_frames);
        for (uint64_t f = 0; f < size / F4K; f++) {
            uint64_t *rec = k23_frames_info(&fa, r.base + f * F4K);
            bumps += rec != NULL ? *rec : 0;
        }
        STRESS_CHECK(bumps > 0, "no per-frame record was bumped");
    }
    k23_frames_drain_all(&fa);
    k23_frames_stats(&fa, &s1);
    STRESS_CHECK(s1.free_frames == s0.free_frames && s1.cached_frames == 0,
                 "free %llu of %llu after drain",
                 (unsigned long long)s1.free_frames,
                 (unsigned long long)s0.free_frames);
    int same = 1;
    for (int o = 0; o < K23_FRAMES_ORDER_LIMIT; o++)
        same &= s1.free_blocks[o] == s0.free_blocks[o];
    STRESS_CHECK(same, "free blocks per order differ from the initial state");
    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check after drain");
    return stress_finish("stress_frames");
}
