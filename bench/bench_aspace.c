/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench aspace: address spaces on the hosted port (phys == virt),
 * every frame from a k23_frames_t over 128 MiB of mmap'd memory.
 *
 * Cases (median of REPS runs, thread CPU time), each with 10^3 and 10^5
 * regions of 16 KiB, 64 KiB apart, in a 47-bit window; both address
 * spaces exist side by side and their repetitions alternate, and each
 * ratio is the median of the ratios of back-to-back repetitions, so a
 * shared machine's load weighs on both sizes alike:
 *   find+reserve, first fit: 512 regions of 8 KiB, filling the lowest
 *     gaps in address order, eight to a gap (the gap aggregates skip the
 *     subtrees already full);
 *   find+reserve, randomized (uniform over the window);
 *   lookup: 2^20 lookups, the same access pattern at both sizes: each
 *     takes one of 1024 addresses drawn uniformly over the populated
 *     range (a fifth inside a region), in random order. The working set
 *     is the same 1024 lookups in both, so the ratio shows what the
 *     index costs as it grows (its depth), not whether the whole index
 *     fits the caches;
 *   lookup over all: 2^20 addresses uniform over the populated range, all
 *     different: at 10^5 regions the index (several MB) is far beyond L2,
 *     so this measures the memory hierarchy as much as the index; and its
 *     floor: binary search over a sorted array of records of the same
 *     size (same footprint, no pointers, perfectly balanced).
 * Demand-zero faults: 8192 store faults on a lazy region, against the
 * floor in the same run: k23_frames_alloc_one_zeroed() plus one 4 KiB
 * k23_pt_map() per page on a bare page table, at the same addresses.
 * Ends with:
 *   aspace.find_reserve_1e5_vs_1e3=<ratio>
 *   aspace.lookup_all_1e5_vs_1e3=<ratio>
 *   aspace.lookup_floor_1e5_vs_1e3=<ratio>  (over all)
 *   aspace.lookup_vs_floor_1e5=<ratio>      (over all)
 *   aspace.lookup_1e5_vs_1e3=<ratio>        (same working set)
 *   aspace.fault_vs_floor=<ratio>
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "k23mem/aspace.h"
#include "k23mem/frames.h"

#define K4 UINT64_C(0x1000)
#define REPS 7
#define RAM (UINT64_C(128) << 20)
#define NQUERY (1u << 20)
#define NPLACE 512
#define NFAULT 8192
#define NWORK 1024
#define BASE0 UINT64_C(0x40000000)
#define STRIDE (20 * K4)

static k23_frames_t fa;
static k23_pt_frame_source_t src;

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

static void check(const char *what, int rc)
{
    if (rc != K23_OK) {
        fprintf(stderr, "bench aspace: %s failed: %s\n", what,
                k23_strerror(rc));
        exit(1);
    }
}

static uint64_t rng = 0x5EED;

static uint64_t next_rand(void *ctx)
{
    (void)ctx;
    uint64_t z = (rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* ---- regions: find+reserve and lookup ---- */

typedef struct scale {
    double place_first_ns, place_random_ns, all_ns, floor_ns, lookup_ns;
} scale_t;

/* The lookup floor: binary search over a sorted array of records of the
 * region record's size (the same memory footprint, perfectly balanced, no
 * pointers), for the same addresses. */
typedef struct flat {
    uint64_t base, last;
    unsigned char pad[sizeof(k23_aspace_region_t) - 16];
} flat_t;

static double flat_lookups(const flat_t *v, unsigned n, const uint64_t *addr)
{
    uint64_t t0 = now_ns(), found = 0;
    for (unsigned i = 0; i < NQUERY; i++) {
        unsigned lo = 0, hi = n;
        while (hi - lo > 1) {
            unsigned mid = lo + (hi - lo) / 2;
            if (v[mid].base <= addr[i])
                lo = mid;
            else
                hi = mid;
        }
        found += v[lo].base <= addr[i] && addr[i] <= v[lo].last;
    }
    uint64_t t1 = now_ns();
    if (found == 0)
        check("flat lookup", K23_ERR_NOT_FOUND);
    return (double)(t1 - t0) / NQUERY;
}

static void populate(k23_aspace_t *as, k23_pt_flush_t *fl, unsigned n)
{
    k23_aspace_desc_t g = {0};
    g.kind = K23_ASPACE_GUARD;
    g.name = "bench";
    for (unsigned i = 0; i < n; i++)
        check("reserve", k23_aspace_reserve(as, BASE0 + i * STRIDE, 4 * K4,
                                            &g, fl));
}

static double place(k23_aspace_t *as, k23_pt_flush_t *fl, bool random)
{
    static uint64_t got[NPLACE];
    k23_aspace_desc_t g = {0};
    g.kind = K23_ASPACE_GUARD;
    k23_aspace_placement_t pl = {as->lo, as->last, random ? next_rand : NULL,
                                 NULL};
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < NPLACE; i++)
        check("reserve_any", k23_aspace_reserve_any(as, 2 * K4, 12, &pl, &g,
                                                    fl, &got[i]));
    uint64_t t1 = now_ns();
    for (unsigned i = 0; i < NPLACE; i++)
        check("release", k23_aspace_release(as, got[i], fl));
    return (double)(t1 - t0) / NPLACE;
}

static double lookups(const k23_aspace_t *as, const uint64_t *addr)
{
    uint64_t t0 = now_ns(), found = 0;
    for (unsigned i = 0; i < NQUERY; i++) {
        k23_aspace_info_t in;
        found += k23_aspace_lookup(as, addr[i], &in) == K23_OK;
    }
    uint64_t t1 = now_ns();
    if (found == 0)
        check("lookup", K23_ERR_NOT_FOUND);
    return (double)(t1 - t0) / NQUERY;
}

/* One size: its address space, its query arrays, and per repetition the
 * figures of each case. */
typedef struct scale_run {
    unsigned n;
    k23_aspace_t as;
    k23_pt_flush_t fl;
    uint64_t *addr, *work;
    flat_t *flat;
    double f[REPS], r[REPS], h[REPS], b[REPS], l[REPS];
} scale_run_t;

static void scale_open(scale_run_t *s, unsigned n)
{
    s->n = n;
    check("create", k23_aspace_create(&s->as, &k23_pt_x86_64_4level, 1, &src,
                                      0, (UINT64_C(1) << 47) - 1));
    check("flush_init", k23_pt_flush_init(&s->fl, 1));
    populate(&s->as, &s->fl, n);
    s->addr = malloc(NQUERY * sizeof(uint64_t));
    for (unsigned i = 0; i < NQUERY; i++)
        s->addr[i] = BASE0 + next_rand(NULL) % ((uint64_t)n * STRIDE);
    /* the working set: NWORK addresses drawn the same way, looked up in
     * random order */
    s->work = malloc(NQUERY * sizeof(uint64_t));
    for (unsigned i = 0; i < NQUERY; i++)
        s->work[i] = s->addr[next_rand(NULL) % NWORK];
    s->flat = calloc(n, sizeof(flat_t));
    for (unsigned i = 0; i < n; i++) {
        s->flat[i].base = BASE0 + i * STRIDE;
        s->flat[i].last = s->flat[i].base + 4 * K4 - 1;
    }
}

static void scale_rep(scale_run_t *s, int k)
{
    s->f[k] = place(&s->as, &s->fl, false);
    s->r[k] = place(&s->as, &s->fl, true);
    s->h[k] = lookups(&s->as, s->addr);
    s->b[k] = flat_lookups(s->flat, s->n, s->addr);
    s->l[k] = lookups(&s->as, s->work);
}

static void scale_close(scale_run_t *s)
{
    free(s->addr);
    free(s->work);
    free(s->flat);
    k23_aspace_destroy(&s->as, &s->fl);
    k23_pt_flush(&s->fl);
    k23_pt_flush_fini(&s->fl);
}

static scale_t scale_medians(scale_run_t *s)
{
    double v[5][REPS];
    memcpy(v[0], s->f, sizeof(v[0]));
    memcpy(v[1], s->r, sizeof(v[1]));
    memcpy(v[2], s->h, sizeof(v[2]));
    memcpy(v[3], s->b, sizeof(v[3]));
    memcpy(v[4], s->l, sizeof(v[4]));
    scale_t m = {median(v[0], REPS), median(v[1], REPS), median(v[2], REPS),
                 median(v[3], REPS), median(v[4], REPS)};
    printf("regions %6u: find+reserve first-fit %7.1f ns, random %7.1f ns, "
           "lookup %5.1f ns; over all %6.1f ns (floor: sorted-array binary "
           "search %6.1f ns)\n", s->n, m.place_first_ns, m.place_random_ns,
           m.lookup_ns, m.all_ns, m.floor_ns);
    return m;
}

/* Median of the ratios of repetitions run back to back: both sizes see
 * the same load of a shared machine. */
static double paired(const double *big, const double *small)
{
    double v[REPS];
    for (int k = 0; k < REPS; k++)
        v[k] = big[k] / small[k];
    return median(v, REPS);
}

/* ---- faults ---- */

static double faults(k23_aspace_t *as, k23_pt_flush_t *fl)
{
    k23_aspace_desc_t d = {0};
    d.kind = K23_ASPACE_ANON_LAZY;
    d.perm = K23_PERM_READ | K23_PERM_WRITE;
    check("reserve lazy", k23_aspace_reserve(as, BASE0, NFAULT * K4, &d, fl));
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < NFAULT; i++) {
        k23_aspace_fault_result_t r;
        check("fault", k23_aspace_fault(as, BASE0 + i * K4, K23_FAULT_STORE,
                                        false, fl, &r));
    }
    uint64_t t1 = now_ns();
    check("release", k23_aspace_release(as, BASE0, fl));
    k23_pt_flush(fl);
    return (double)(t1 - t0) / NFAULT;
}

static double floor_run(k23_pt_flush_t *fl)
{
    static k23_paddr_t pas[NFAULT];
    k23_pt_t pt;
    check("pt_create", k23_pt_create(&pt, &k23_pt_x86_64_4level, 1, &src));
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < NFAULT; i++) {
        check("alloc", k23_frames_alloc_one_zeroed(&fa, &pas[i]));
        check("map", k23_pt_map(&pt, BASE0 + i * K4, pas[i], K4,
                                K23_PERM_READ | K23_PERM_WRITE,
                                K23_PT_MEM_NORMAL, K23_PT_MAX_LEAF_4K, fl));
    }
    uint64_t t1 = now_ns();
    check("unmap", k23_pt_unmap(&pt, BASE0, NFAULT * K4, fl));
    k23_pt_flush(fl);
    for (unsigned i = 0; i < NFAULT; i++)
        k23_frames_free_one(&fa, pas[i]);
    k23_pt_destroy(&pt);
    return (double)(t1 - t0) / NFAULT;
}

int k23_bench_aspace(int argc, char **argv)
{
    (void)argc, (void)argv;
    void *m = mmap(NULL, RAM + (2u << 20), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    uintptr_t base = ((uintptr_t)m + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
    memset((void *)base, 0, RAM); /* touch: no first-use page faults timed */
    k23_range_t r = {base, RAM};
    check("frames_init", k23_frames_init(&fa, &r, 1, NULL, NULL, 0, NULL));
    check("source", k23_pt_frame_source_frames(&src, &fa));

    /* the two sizes side by side, repetitions interleaved */
    static scale_run_t r3, r5;
    scale_open(&r3, 1000);
    scale_open(&r5, 100000);
    for (int k = 0; k < REPS; k++) {
        scale_rep(&r3, k);
        scale_rep(&r5, k);
    }
    scale_medians(&r3);
    scale_medians(&r5);

    k23_aspace_t as;
    k23_pt_flush_t fl;
    check("create", k23_aspace_create(&as, &k23_pt_x86_64_4level, 1, &src, 0,
                                      (UINT64_C(1) << 47) - 1));
    check("flush_init", k23_pt_flush_init(&fl, 1));
    double fv[REPS], flv[REPS];
    for (int k = 0; k < REPS; k++) {
        flv[k] = floor_run(&fl);
        fv[k] = faults(&as, &fl);
    }
    k23_aspace_destroy(&as, &fl);
    k23_pt_flush(&fl);
    k23_pt_flush_fini(&fl);
    double fault = median(fv, REPS), floor = median(flv, REPS);
    printf("demand-zero fault %.1f ns, floor (alloc_one_zeroed + 4 KiB "
           "pt_map) %.1f ns\n", fault, floor);
    printf("aspace.find_reserve_1e5_vs_1e3=%.2f\n", paired(r5.f, r3.f));
    printf("aspace.find_reserve_random_1e5_vs_1e3=%.2f\n", paired(r5.r, r3.r));
    printf("aspace.lookup_all_1e5_vs_1e3=%.2f\n", paired(r5.h, r3.h));
    printf("aspace.lookup_floor_1e5_vs_1e3=%.2f\n", paired(r5.b, r3.b));
    printf("aspace.lookup_vs_floor_1e5=%.2f\n", paired(r5.h, r5.b));
    printf("aspace.lookup_1e5_vs_1e3=%.2f\n", paired(r5.l, r3.l));
    printf("aspace.fault_vs_floor=%.2f\n", fault / floor);
    scale_close(&r3);
    scale_close(&r5);
    munmap(m, RAM + (2u << 20));
    return 0;
}
