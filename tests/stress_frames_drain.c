/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Threaded stress test of remote cache mutation against the fast path:
 * workers (more than CPUs, so they are preempted and migrate) allocate and
 * free single frames through the per-CPU caches (with rseq, lock-free),
 * while one thread drains every CPU's cache in turn as fast as it can and
 * takes statistics. Frames carry their owner's tag while allocated, so a
 * frame handed out twice is noticed; every frame is accounted for at the
 * end (nothing lost), and the statistics taken during the run always add
 * up. Without the fast path (ThreadSanitizer, K23MEM_NO_RSEQ) the same
 * test exercises the locked caches.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "k23mem/frames.h"
#include "stress.h"

#define NWORKERS 4
#define MAXLIVE 24
#define F4K 4096u

static k23_frames_t fa;
static uint64_t ops_per_thread;
static atomic_int workers_left;
static atomic_ulong drains_done;
static atomic_llong live_total; /* frames held by workers, roughly now */

static void *worker(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg + 1;
    uint64_t rng = 0x9e3779b97f4a7c15u * id;
    k23_paddr_t live[MAXLIVE];
    unsigned nlive = 0;
    long bad = 0, nomem = 0;
    /* Short runs (sanitizer builds) could otherwise end before the
     * drainer is first scheduled, and test no drain at all: start after
     * its first drain, and end after its next one. */
    while (atomic_load(&drains_done) == 0)
        sched_yield();
    for (uint64_t op = 0; op < ops_per_thread; op++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if (nlive == MAXLIVE || (nlive > 0 && (rng & 1))) {
            unsigned k = (unsigned)((rng >> 8) % nlive);
            k23_paddr_t pa = live[k];
            live[k] = live[--nlive];
            volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)pa;
            if (p[0] != id || p[1] != pa)
                bad++;
            p[0] = 0;
            atomic_fetch_sub(&live_total, 1);
            k23_frames_free_one(&fa, pa);
        } else {
            k23_paddr_t pa;
            if (k23_frames_alloc_one(&fa, &pa) != K23_OK) {
                nomem++;
                continue;
            }
            atomic_fetch_add(&live_total, 1);
            volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)pa;
            if (p[0] != 0) /* another owner's tag: handed out twice */
                bad++;
            p[0] = id;
            p[1] = pa;
            live[nlive++] = pa;
        }
    }
    unsigned long seen = atomic_load(&drains_done);
    while (atomic_load(&drains_done) == seen)
        sched_yield();
    while (nlive > 0) {
        k23_paddr_t pa = live[--nlive];
        volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)pa;
        if (p[0] != id || p[1] != pa)
            bad++;
        p[0] = 0;
        atomic_fetch_sub(&live_total, 1);
        k23_frames_free_one(&fa, pa);
    }
    STRESS_CHECK(bad == 0, "worker %llu: %ld frames with a wrong tag",
                 (unsigned long long)id, bad);
    STRESS_CHECK(nomem == 0, "worker %llu: %ld allocations failed",
                 (unsigned long long)id, nomem);
    atomic_fetch_sub(&workers_left, 1);
    return NULL;
}

static void *drainer(void *arg)
{
    (void)arg;
    unsigned ncpu = k23_port_cpu_count();
    unsigned long drains = 0, bad_stats = 0;
    do {
        k23_frames_drain_cpu(&fa, (unsigned)(drains % ncpu));
        drains++;
        atomic_store(&drains_done, drains);
        if (drains % 8 == 0) {
            k23_frames_stats_t s;
            k23_frames_stats(&fa, &s);
            if (s.free_frames + s.cached_frames + s.allocated_frames !=
                    s.total_frames ||
                s.cached_frames > (uint64_t)fa.ncaches * 8 ||
                s.allocated_frames > NWORKERS * MAXLIVE + NWORKERS)
                bad_stats++;
        }
    } while (atomic_load(&workers_left) > 0);
    STRESS_CHECK(bad_stats == 0, "%lu inconsistent statistics", bad_stats);
    return NULL;
}

int main(void)
{
    const char *env = getenv("K23_STRESS_OPS");
    ops_per_thread = env ? strtoull(env, NULL, 0)
                         : (STRESS_SLOW ? 20000 : 300000);
    /* enough frames that allocation never fails: 4 workers hold at most
     * 96, the caches 8 each */
    size_t size = 4u << 20;
    void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    STRESS_CHECK(ram != MAP_FAILED, "mmap");
    k23_frames_config_t cfg;
    k23_frames_config_default(&cfg, F4K);
    cfg.cache_frames = 8;
    cfg.cache_batch = 4;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, size};
    STRESS_CHECK(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL) == K23_OK,
                 "init");
    k23_frames_stats_t s0;
    k23_frames_stats(&fa, &s0);
    /* tags live in the frames: start from zeroed frames */
    atomic_init(&workers_left, NWORKERS);

    pthread_t th[NWORKERS], dr;
    pthread_create(&dr, NULL, drainer, NULL);
    for (uintptr_t i = 0; i < NWORKERS; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (unsigned i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);
    pthread_join(dr, NULL);

    STRESS_CHECK(atomic_load(&live_total) == 0, "live count");
    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check after threads");
    k23_frames_stats_t s;
    k23_frames_stats(&fa, &s);
    STRESS_CHECK(s.allocated_frames == 0, "%llu frames still allocated",
                 (unsigned long long)s.allocated_frames);
    k23_frames_drain_all(&fa);
    k23_frames_stats(&fa, &s);
    STRESS_CHECK(s.free_frames == s0.free_frames + s0.cached_frames,
                 "free %llu, expected %llu", (unsigned long long)s.free_frames,
                 (unsigned long long)(s0.free_frames + s0.cached_frames));
    STRESS_CHECK(s.cached_frames == 0, "cached after drain");
    STRESS_CHECK(k23_frames_check(&fa) == K23_OK, "check after drain");
    return stress_finish("stress_frames_drain");
}
