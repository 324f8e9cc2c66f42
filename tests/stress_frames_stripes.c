/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame allocator's stripes under threads: an arena of several
 * stripes (each 64 chunks of 512 frames, with its own lock) where all
 * free memory sits around the stripe boundaries, so that workers' single
 * frames (through the per-CPU caches: refills and spills under stripe
 * locks), whole chunks and runs of up to 1,100 frames (which only the
 * search under every lock finds when they straddle a boundary) and the
 * frees of all of them (under the locks of every stripe they touch) meet
 * at the boundaries, while a checker thread runs k23_frames_check() in a
 * loop and requires K23_OK and statistics that add up every time.
 *
 * An exact ownership map (one owner byte per frame, claimed with a
 * compare-and-swap) proves every frame is handed out to one owner at a
 * time. Frames are never written (the arena is MAP_NORESERVE and only the
 * bookkeeping becomes resident). At the end nothing is owned, the checker
 * passes, and after a drain the free frames are exactly those of the
 * start.
 *
 * With K23_STRESS_CACHES_OFF=1 there are no caches: single frames go
 * straight to the arena's one-lock path.
 *
 * Runs for K23_STRESS_SECONDS (default 6 s; 3 s under sanitizers), and
 * longer (at most five times) until it has seen 10 checks and 10 runs
 * across a boundary, with 4 workers.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "k23mem/frames.h"
#include "stress.h"

#define F4K 4096u
#define CHUNK_FRAMES 512u
#define NCHUNKS 200u /* 4 stripes: 64 + 64 + 64 + 8 chunks */
#define ARENA_FRAMES (NCHUNKS * CHUNK_FRAMES)
#define NWORKERS 4
#define MAXLIVE 24

static k23_frames_t fa;
static uintptr_t ram_base;
static atomic_uchar owner[ARENA_FRAMES]; /* worker id + 1, or 0 */
static atomic_int stop;
static atomic_long checks, bad_checks, bad_stats, across, ops_total;

struct item {
    k23_paddr_t pa;
    uint64_t n;
};

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static long claim(k23_paddr_t pa, uint64_t n, unsigned char id)
{
    long bad = 0;
    if (pa < ram_base || (pa - ram_base) % F4K != 0 ||
        (pa - ram_base) / F4K + n > ARENA_FRAMES)
        return 1;
    uint64_t f = (pa - ram_base) / F4K;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char expect = 0;
        if (!atomic_compare_exchange_strong(&owner[f + i], &expect, id))
            bad++;
    }
    /* a run over a stripe boundary (64 chunks) */
    if (n > 1 && (f / (64 * CHUNK_FRAMES)) !=
                     ((f + n - 1) / (64 * CHUNK_FRAMES)))
        atomic_fetch_add(&across, 1);
    return bad;
}

static long unclaim(k23_paddr_t pa, uint64_t n, unsigned char id)
{
    long bad = 0;
    uint64_t f = (pa - ram_base) / F4K;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char expect = id;
        if (!atomic_compare_exchange_strong(&owner[f + i], &expect, 0))
            bad++;
    }
    return bad;
}

static void release(struct item *it, unsigned char id, long *bad)
{
    *bad += unclaim(it->pa, it->n, id);
    if (it->n == 1)
        k23_frames_free_one(&fa, it->pa);
    else if (k23_frames_free_contiguous(&fa, it->pa, it->n * F4K) != K23_OK)
        (*bad)++;
}

static void *worker(void *arg)
{
    unsigned char id = (unsigned char)((uintptr_t)arg + 1);
    uint64_t rng = 0x9e3779b97f4a7c15u * id;
    struct item live[MAXLIVE];
    unsigned nlive = 0;
    long bad = 0, ops = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t r = xorshift(&rng);
        unsigned pick = (unsigned)(r % 100);
        ops++;
        if (nlive == MAXLIVE || (nlive > 0 && pick < 45)) {
            unsigned k = (unsigned)((r >> 8) % nlive);
            release(&live[k], id, &bad);
            live[k] = live[--nlive];
        } else if (pick < 80) {
            k23_paddr_t pa;
            if (k23_frames_alloc_one(&fa, &pa) == K23_OK) {
                bad += claim(pa, 1, id);
                live[nlive++] = (struct item){pa, 1};
            }
        } else if (pick < 98) {
            /* runs of 2..1100 frames at 4 KiB..2 MiB alignment, whole
             * chunks among them */
            uint64_t n = (r >> 16) % 4 == 0 ? CHUNK_FRAMES
                                            : 2 + (r >> 20) % 1099;
            unsigned align = 12 + (unsigned)((r >> 32) % 10);
            k23_paddr_t pa;
            if (k23_frames_alloc_contiguous(&fa, n * F4K, align, &pa) ==
                K23_OK) {
                bad += claim(pa, n, id);
                bad += (pa & ((UINT64_C(1) << align) - 1)) != 0;
                live[nlive++] = (struct item){pa, n};
            }
        } else {
            k23_frames_drain_cpu(&fa, (unsigned)(r >> 20) % 4);
        }
    }
    while (nlive > 0)
        release(&live[--nlive], id, &bad);
    STRESS_CHECK(bad == 0, "worker %u: %ld ownership violations", id, bad);
    atomic_fetch_add(&ops_total, ops);
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
                s.total_frames)
            atomic_fetch_add(&bad_stats, 1);
    }
    return NULL;
}

/* Take every frame but the chunks around each stripe boundary; returns
 * how many frames were taken into *keep (freed at the end). */
static uint64_t leave_only_boundaries(k23_paddr_t *keep)
{
    uint64_t n = 0;
    k23_paddr_t pa;
    while (k23_frames_alloc_contiguous(&fa, CHUNK_FRAMES * F4K, 21, &pa) ==
           K23_OK)
        keep[n++] = pa | 1; /* a whole chunk */
    while (k23_frames_alloc_one(&fa, &pa) == K23_OK)
        keep[n++] = pa;
    /* give back chunks 62..65 and 126..129 */
    for (uint64_t i = 0; i < n; i++) {
        if ((keep[i] & 1) == 0)
            continue;
        uint64_t c = ((keep[i] & ~(k23_paddr_t)1) - ram_base) / (2u << 20);
        if ((c >= 62 && c <= 65) || (c >= 126 && c <= 129)) {
            k23_frames_free_contiguous(&fa, keep[i] & ~(k23_paddr_t)1,
                                       2u << 20);
            keep[i] = keep[--n];
            i--;
        }
    }
    return n;
}

int main(void)
{
    const char *env = getenv("K23_STRESS_SECONDS");
    long seconds = env ? strtol(env, NULL, 0) : (STRESS_SLOW ? 3 : 6);
    size_t size = (size_t)ARENA_FRAMES * F4K, align = 2u << 20;
    void *map = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    STRESS_CHECK(map != MAP_FAILED, "mmap");
    ram_base = ((uintptr_t)map + align - 1) & ~(uintptr_t)(align - 1);
    k23_frames_config_t cfg;
    k23_frames_config_default(&cfg, F4K);
    /* K23_STRESS_CACHES_OFF=1: no caches, so that the single frames take
     * the arena's one-lock path (k23_arena_take_one_/free_one_) */
    const char *off = getenv("K23_STRESS_CACHES_OFF");
    bool caches_off = off != NULL && *off == '1';
    cfg.cache_frames = caches_off ? 0 : 16;
    cfg.cache_batch = caches_off ? cfg.cache_batch : 4;
    cfg.cpus = 4; /* four homes, whatever the machine */
    k23_range_t r = {(uint64_t)ram_base, size};
    STRESS_CHECK(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL) == K23_OK,
                 "init");
    STRESS_CHECK(fa.arenas[0].nstripes == 4, "%u stripes",
                 fa.arenas[0].nstripes);
    STRESS_CHECK(fa.single_fast == caches_off, "single_fast %d",
                 (int)fa.single_fast);
    static k23_paddr_t keep[ARENA_FRAMES];
    uint64_t nkeep = leave_only_boundaries(keep);
    k23_frames_drain_all(&fa);
    k23_frames_stats_t s0;
    k23_frames_stats(&fa, &s0);
    STRESS_CHECK(s0.free_frames == 8 * CHUNK_FRAMES, "%llu frames free",
                 (unsigned long long)s0.free_frames);

    pthread_t w[NWORKERS], ck;
    for (uintptr_t i = 0; i < NWORKERS; i++)
        pthread_create(&w[i], NULL, worker, (void *)i);
    pthread_create(&ck, NULL, checker, NULL);
    /* Run for `seconds`, and on (up to five times as long) until the
     * minimums below are reached: the checker thread competes with the
     * workers for every lock, and on a loaded machine a fixed time has
     * seen as few as 1,500 operations and 5 runs across a boundary. */
    struct timespec tick = {0, 100 * 1000 * 1000};
    for (long t = 0; t < 50 * seconds; t++) {
        if (t >= 10 * seconds && atomic_load(&across) >= 10 &&
            atomic_load(&checks) >= 10)
            break;
        nanosleep(&tick, NULL);
    }
    atomic_store(&stop, 1);
    pthread_join(ck, NULL);
    for (unsigned i = 0; i < NWORKERS; i++)
        pthread_join(w[i], NULL);

    printf("stress_frames_stripes: %ld operations, %ld runs across a "
           "stripe boundary, %ld checks\n",
           atomic_load(&ops_total), atomic_load(&across),
           atomic_load(&checks));
    STRESS_CHECK(atomic_load(&bad_checks) == 0,
                 "the concurrent checker failed %ld of %ld times",
                 atomic_load(&bad_checks), atomic_load(&checks));
    STRESS_CHECK(atomic_load(&bad_stats) == 0, "%ld inconsistent statistics",
                 atomic_load(&bad_stats));
    STRESS_CHECK(atomic_load(&checks) >= 10, "only %ld checks",
                 atomic_load(&checks));
    STRESS_CHECK(atomic_load(&across) >= 10,
                 "only %ld runs across a stripe boundary",
                 atomic_load(&across));
    long owned = 0;
    for (unsigned i = 0; i < ARENA_FRAMES; i++)
        owned += atomic_load(&owner[i]) != 0;
    STRESS_CHECK(owned == 0, "%ld frames still owned", owned);
    k23_frames_drain_all(&fa);
    k23_frames_stats_t s;
    k23_frames_stats(&fa, &s);
    STRESS_CHECK(s.free_frames == s0.free_frames && s.cached_frames == 0,
                 "free %llu, %llu at start",
                 (unsigned long long)s.free_frames,
                 (unsigned long long)s0.free_frames);
    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check after the run");
    for (uint64_t i = 0; i < nkeep; i++) {
        if (keep[i] & 1)
            k23_frames_free_contiguous(&fa, keep[i] & ~(k23_paddr_t)1,
                                       2u << 20);
        else
            k23_frames_free_one(&fa, keep[i]);
    }
    k23_frames_drain_all(&fa);
    k23_frames_stats(&fa, &s);
    STRESS_CHECK(s.allocated_frames == 0, "%llu frames lost",
                 (unsigned long long)s.allocated_frames);
    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check at the end");
    return stress_finish("stress_frames_stripes");
}
