/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * SMP stress of the frame allocator: every CPU allocates and frees single
 * frames (through the per-CPU caches) and small runs for a bounded time,
 * with the timer interrupt firing. Ownership is checked exactly: a shared
 * bitmap with one bit per frame is set atomically on every hand-out (a bit
 * already set means a frame was handed out twice) and cleared on every
 * free, and each frame carries its owner's stamp, checked before it is
 * freed (another CPU writing into it means it was shared).
 */
#include <stdint.h>

#include "k23k_selftest.h"
#include "kernel.h"

#define HOLD_MAX 48 /* allocations a CPU holds at most */

typedef struct stress_hold {
    uint64_t pa;
    uint64_t frames; /* 1 for a single frame, else a run */
} stress_hold_t;

typedef struct stress_cpu {
    uint64_t singles, runs, frees, nomem, ticks;
    stress_hold_t hold[HOLD_MAX];
    unsigned nhold;
    uint64_t rng;
} __attribute__((aligned(64))) stress_cpu_t;

static struct {
    k23_frames_t *fa;
    uint64_t *seen;
    uint64_t seen_base, seen_frames;
    uint64_t deadline; /* k23k_arch_ticks() value to stop at */
} st;

static stress_cpu_t per_cpu[K23K_MAX_CPUS];

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t stamp_of(unsigned cpu, uint64_t pa)
{
    return ((uint64_t)(cpu + 1) << 56) ^ pa ^ UINT64_C(0x5a5a00000000);
}

static void own(unsigned cpu, uint64_t pa, uint64_t frames)
{
    uint64_t first = (pa - st.seen_base) / 4096;
    if (pa < st.seen_base || first + frames > st.seen_frames)
        k23k_fail("stress: CPU %u got 0x%llx outside RAM", cpu,
                  (unsigned long long)pa);
    for (uint64_t i = first; i < first + frames; i++) {
        uint64_t bit = UINT64_C(1) << (i % 64);
        uint64_t old = __atomic_fetch_or(&st.seen[i / 64], bit,
                                         __ATOMIC_ACQ_REL);
        if (old & bit)
            k23k_fail("stress: frame 0x%llx handed out twice (CPU %u)",
                      (unsigned long long)(st.seen_base + i * 4096), cpu);
        *(volatile uint64_t *)k23_port_phys_to_virt(st.seen_base +
                                                     i * 4096) =
            stamp_of(cpu, st.seen_base + i * 4096);
    }
}

static void disown(unsigned cpu, uint64_t pa, uint64_t frames)
{
    uint64_t first = (pa - st.seen_base) / 4096;
    for (uint64_t i = first; i < first + frames; i++) {
        uint64_t fpa = st.seen_base + i * 4096;
        uint64_t v = *(volatile uint64_t *)k23_port_phys_to_virt(fpa);
        if (v != stamp_of(cpu, fpa))
            k23k_fail("stress: frame 0x%llx held by CPU %u was written by "
                      "someone else (0x%llx)", (unsigned long long)fpa, cpu,
                      (unsigned long long)v);
        uint64_t bit = UINT64_C(1) << (i % 64);
        uint64_t old = __atomic_fetch_and(&st.seen[i / 64], ~bit,
                                          __ATOMIC_ACQ_REL);
        if (!(old & bit))
            k23k_fail("stress: frame 0x%llx freed but not marked owned",
                      (unsigned long long)fpa);
    }
}

static void release_one(unsigned cpu, stress_cpu_t *s, unsigned k)
{
    stress_hold_t h = s->hold[k];
    s->hold[k] = s->hold[--s->nhold];
    disown(cpu, h.pa, h.frames);
    if (h.frames == 1) {
        k23_frames_free_one(st.fa, h.pa);
    } else {
        int rc = k23_frames_free_contiguous(st.fa, h.pa, h.frames * 4096);
        if (rc != K23_OK)
            k23k_fail("stress: k23_frames_free_contiguous: %s",
                      k23_strerror_name(rc));
    }
    s->frees++;
}

static void take_one(unsigned cpu, stress_cpu_t *s, uint64_t r)
{
    uint64_t frames = 1;
    k23_paddr_t pa;
    int rc;
    if (r % 4 == 0) {
        unsigned log2 = 1 + (unsigned)((r >> 8) % 4); /* 2..16 frames */
        frames = UINT64_C(1) << log2;
        rc = k23_frames_alloc_contiguous(st.fa, frames * 4096, 12 + log2,
                                         &pa);
    } else {
        rc = k23_frames_alloc_one(st.fa, &pa);
    }
    if (rc == K23_ERR_NOMEM) {
        s->nomem++;
        return;
    }
    if (rc != K23_OK)
        k23k_fail("stress: CPU %u: allocation failed: %s", cpu,
                  k23_strerror_name(rc));
    own(cpu, pa, frames);
    s->hold[s->nhold].pa = pa;
    s->hold[s->nhold].frames = frames;
    s->nhold++;
    if (frames == 1)
        s->singles++;
    else
        s->runs++;
}

static void stress_job(void *arg)
{
    (void)arg;
    unsigned cpu = k23k_cpu_self()->id;
    stress_cpu_t *s = &per_cpu[cpu];
    s->rng = UINT64_C(0x9e3779b97f4a7c15) * (cpu + 1) ^ k23k_arch_ticks();
    uint64_t t0 = k23k_cpu_self()->ticks;
    while (k23k_arch_ticks() < st.deadline) {
        for (unsigned burst = 0; burst < 32; burst++) {
            uint64_t r = rng_next(&s->rng);
            bool take = s->nhold == 0 ||
                        (s->nhold < HOLD_MAX && (r & 0x30) != 0x30);
            if (take)
                take_one(cpu, s, r);
            else
                release_one(cpu, s, (unsigned)((r >> 16) % s->nhold));
        }
    }
    while (s->nhold > 0)
        release_one(cpu, s, s->nhold - 1);
    s->ticks = k23k_cpu_self()->ticks - t0;
}

void k23k_selftest_smp_stress(k23_frames_t *fa, uint64_t *seen,
                              uint64_t seen_base, uint64_t seen_frames,
                              unsigned ms)
{
    uint64_t t0 = k23k_arch_ticks();
    unsigned n = k23k_smp_count();
    st.fa = fa;
    st.seen = seen;
    st.seen_base = seen_base;
    st.seen_frames = seen_frames;
    st.deadline = t0 + (uint64_t)ms * k23k_arch_tick_hz() / 1000;
    k23k_smp_run_all(stress_job, NULL);
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        stress_cpu_t *s = &per_cpu[i];
        k23k_printf("  CPU %u: %llu frames, %llu runs, %llu frees, %llu "
                    "out-of-memory, %llu timer interrupts\n", i,
                    (unsigned long long)s->singles,
                    (unsigned long long)s->runs,
                    (unsigned long long)s->frees,
                    (unsigned long long)s->nomem,
                    (unsigned long long)s->ticks);
        if (s->singles + s->runs == 0)
            k23k_fail("stress: CPU %u allocated nothing", i);
        if (s->ticks == 0)
            k23k_fail("stress: CPU %u took no timer interrupt", i);
        total += s->singles + s->runs + s->frees;
    }
    /* Every bit back to clear: nothing is still marked as owned. */
    for (uint64_t w = 0; w < (seen_frames + 63) / 64; w++) {
        if (seen[w] != 0)
            k23k_fail("stress: frames still marked owned near 0x%llx",
                      (unsigned long long)(seen_base + w * 64 * 4096));
    }
    k23k_printf("SMP stress: %u CPU(s), %llu operations in %u ms, no frame "
                "handed out twice, every frame back\n", n,
                (unsigned long long)total,
                (unsigned)((k23k_arch_ticks() - t0) * 1000 /
                           k23k_arch_tick_hz()));
}
