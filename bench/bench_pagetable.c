/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench pagetable [format]: the page-table engine on the hosted
 * port (phys == virt). Table frames come from a LIFO of preallocated,
 * pre-touched frames that zeroes each frame it hands out (as a real frame
 * source must); the mapped "physical" addresses are never touched.
 *
 * Cases (median of REPS runs, thread CPU time):
 *   map 1 GiB with 4 KiB leaves, protect it, unmap it (+ the flush that
 *   frees the tables); the same with 2 MiB blocks; random 4 KiB queries in
 *   the 4 KiB mapping; and the floor: the same 262,144 leaf entries written
 *   by a plain store loop into a preallocated, pre-touched array.
 * Query floors: the same random walk by hand (loads only), and queries
 * folded into 2 MiB so the tables stay cached.
 * An extra case unmaps 511 of each table's 512 pages, so entries are
 * cleared one by one (a whole table is unlinked without clearing it).
 * Ends with:
 *   pagetable.map4k_vs_store_floor=<ratio>
 *   pagetable.unmap4k_vs_store_floor=<ratio>
 *   pagetable.query_ns=<ns>
 * The optional argument names the format (default x86_64-4level).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k23mem/pagetable.h"

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define G1 UINT64_C(0x40000000)
#define REPS 15
#define NFRAMES 1100u
#define NQUERY (1u << 20)

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
    fprintf(stderr, "bench pagetable: %s failed: %s\n", what, k23_strerror(rc));
    exit(1);
}

/* ---- frame source: LIFO over preallocated frames ---- */

static uint64_t lifo[NFRAMES];
static unsigned lifo_n;

static int lifo_alloc(void *ctx, k23_paddr_t *out)
{
    (void)ctx;
    if (lifo_n == 0)
        return K23_ERR_NOMEM;
    uint64_t pa = lifo[--lifo_n];
    memset((void *)(uintptr_t)pa, 0, 4096);
    *out = pa;
    return K23_OK;
}

static void lifo_free(void *ctx, k23_paddr_t pa)
{
    (void)ctx;
    lifo[lifo_n++] = pa;
}

/* ---- the floors ---- */

/* The same table walk as a query, by hand: one load per level through
 * the format's address field, phys == virt, no checks, no decode. What a
 * random query costs in memory accesses alone. */
__attribute__((noinline)) static uint64_t walk_floor(const k23_pt_t *pt,
                                                     uint64_t va)
{
    const k23_pt_format_t *f = pt->fmt;
    uint64_t t = pt->root, e = 0;
    for (unsigned l = f->levels; l-- > 0;) {
        e = ((const uint64_t *)(uintptr_t)t)[(va >> (12 + 9 * l)) & 511];
        t = (e & f->addr_mask) << f->pte_pa_shift;
    }
    return t + (va & 0xFFF);
}

static uint64_t *floor_array;

__attribute__((noinline)) static void store_floor(uint64_t *a, size_t n,
                                                  uint64_t e)
{
    for (size_t i = 0; i < n; i++, e += K4)
        a[i] = e;
    __asm__ volatile("" ::"r"(a) : "memory");
}

static const k23_pt_format_t *pick_format(const char *name)
{
    const k23_pt_format_t *all[] = {
        &k23_pt_x86_64_4level,    &k23_pt_x86_64_5level,
        &k23_pt_aarch64_39_ttbr0, &k23_pt_aarch64_39_ttbr1,
        &k23_pt_aarch64_48_ttbr0, &k23_pt_aarch64_48_ttbr1,
        &k23_pt_riscv_sv39,       &k23_pt_riscv_sv48,
        &k23_pt_riscv_sv57};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    fprintf(stderr, "bench pagetable: unknown format %s\n", name);
    exit(2);
}

int k23_bench_pagetable(int argc, char **argv)
{
    const k23_pt_format_t *fmt =
        pick_format(argc > 1 ? argv[1] : "x86_64-4level");
    unsigned char *frames = aligned_alloc(4096, (size_t)NFRAMES * 4096);
    floor_array = aligned_alloc(4096, 512 * 512 * sizeof(uint64_t));
    uint64_t *qva = malloc(NQUERY * sizeof(uint64_t));
    if (frames == NULL || floor_array == NULL || qva == NULL)
        die("allocation", K23_ERR_NOMEM);
    memset(frames, 0, (size_t)NFRAMES * 4096);
    memset(floor_array, 0, 512 * 512 * sizeof(uint64_t));
    for (unsigned i = NFRAMES; i-- > 0;)
        lifo[lifo_n++] = (uintptr_t)frames + (uint64_t)i * 4096;

    k23_pt_frame_source_t src = {lifo_alloc, lifo_free, NULL};
    k23_pt_t pt;
    k23_pt_flush_t fl;
    int rc = k23_pt_create(&pt, fmt, 1, &src);
    if (rc != K23_OK)
        die("create", rc);
    k23_pt_flush_init(&fl, 1);

    /* 4 GiB into the half the format translates */
    const uint64_t va = fmt->half == K23_PT_HALF_HIGH ? UINT64_C(0) - 8 * G1 : 4 * G1;
    const uint64_t pa = 16 * G1, n4k = G1 / K4;
    const k23_perm_t rw = K23_PERM_READ | K23_PERM_WRITE;
    double floor_ns[REPS], map4[REPS], prot4[REPS], unmap4[REPS];
    double map2[REPS], prot2[REPS], unmap2[REPS], query[REPS], clear4[REPS];
    double qfloor[REPS], qhot[REPS];
    uint64_t seed = 88172645463325252u;
    for (unsigned i = 0; i < NQUERY; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        qva[i] = va + (seed % n4k) * K4 + (seed >> 52);
    }
    volatile uint64_t sink = 0;

    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = now_ns();
        store_floor(floor_array, (size_t)n4k, pa | 0x63);
        floor_ns[r] = (double)(now_ns() - t0);

        t0 = now_ns();
        rc = k23_pt_map(&pt, va, pa, G1, rw, K23_PT_MEM_NORMAL,
                        K23_PT_MAX_LEAF_4K, &fl);
        map4[r] = (double)(now_ns() - t0);
        if (rc != K23_OK)
            die("map 4K", rc);

        t0 = now_ns();
        for (unsigned i = 0; i < NQUERY; i++) {
            k23_pt_mapping_t m;
            k23_pt_query(&pt, qva[i], &m);
            sink += m.pa;
        }
        query[r] = (double)(now_ns() - t0) / NQUERY;

        t0 = now_ns();
        for (unsigned i = 0; i < NQUERY; i++)
            sink += walk_floor(&pt, qva[i]);
        qfloor[r] = (double)(now_ns() - t0) / NQUERY;

        /* the same queries folded into the first 2 MiB: tables cached */
        t0 = now_ns();
        for (unsigned i = 0; i < NQUERY; i++) {
            k23_pt_mapping_t m;
            k23_pt_query(&pt, va + (qva[i] & (M2 - 1)), &m);
            sink += m.pa;
        }
        qhot[r] = (double)(now_ns() - t0) / NQUERY;

        t0 = now_ns();
        rc = k23_pt_protect(&pt, va, G1, K23_PERM_READ, &fl);
        k23_pt_flush(&fl);
        prot4[r] = (double)(now_ns() - t0);
        if (rc != K23_OK)
            die("protect 4K", rc);

        t0 = now_ns();
        rc = k23_pt_unmap(&pt, va, G1, &fl);
        k23_pt_flush(&fl);
        unmap4[r] = (double)(now_ns() - t0);
        if (rc != K23_OK)
            die("unmap 4K", rc);

        /* unmap that clears entries: every table keeps its first page,
         * so none goes away whole */
        rc = k23_pt_map(&pt, va, pa, G1, rw, K23_PT_MEM_NORMAL,
                        K23_PT_MAX_LEAF_4K, &fl);
        if (rc != K23_OK)
            die("map 4K", rc);
        t0 = now_ns();
        for (uint64_t a = va; a < va + G1 && rc == K23_OK; a += M2)
            rc = k23_pt_unmap(&pt, a + K4, M2 - K4, &fl);
        k23_pt_flush(&fl);
        clear4[r] = (double)(now_ns() - t0);
        rc |= k23_pt_unmap(&pt, va, G1, &fl);
        k23_pt_flush(&fl);
        if (rc != K23_OK)
            die("unmap 4K pieces", rc);

        t0 = now_ns();
        rc = k23_pt_map(&pt, va, pa, G1, rw, K23_PT_MEM_NORMAL,
                        K23_PT_MAX_LEAF_2M, &fl);
        map2[r] = (double)(now_ns() - t0);
        if (rc != K23_OK)
            die("map 2M", rc);
        t0 = now_ns();
        rc = k23_pt_protect(&pt, va, G1, K23_PERM_READ, &fl);
        k23_pt_flush(&fl);
        prot2[r] = (double)(now_ns() - t0);
        t0 = now_ns();
        rc |= k23_pt_unmap(&pt, va, G1, &fl);
        k23_pt_flush(&fl);
        unmap2[r] = (double)(now_ns() - t0);
        if (rc != K23_OK)
            die("2M protect/unmap", rc);
        if (k23_pt_table_frames(&pt) != 1)
            die("tables left after unmap", K23_ERR_CORRUPT);
    }
    (void)sink;

    double fl_ns = median(floor_ns, REPS);
    double m4 = median(map4, REPS), p4 = median(prot4, REPS);
    double u4 = median(unmap4, REPS), m2 = median(map2, REPS);
    double p2 = median(prot2, REPS), u2 = median(unmap2, REPS);
    double q = median(query, REPS), c4 = median(clear4, REPS);
    double qf = median(qfloor, REPS), qh = median(qhot, REPS);
    printf("format %s, 1 GiB, %d runs, median thread CPU time\n", fmt->name, REPS);
    printf("  store floor (262144 entries)  %10.0f ns  %6.2f ns/entry\n", fl_ns, fl_ns / (double)n4k);
    printf("  map 4K leaves                 %10.0f ns  %6.2f ns/entry\n", m4, m4 / (double)n4k);
    printf("  protect 4K leaves + flush     %10.0f ns  %6.2f ns/entry\n", p4, p4 / (double)n4k);
    printf("  unmap 4K leaves + flush       %10.0f ns  %6.2f ns/entry\n", u4, u4 / (double)n4k);
    printf("  unmap 511 of 512 per table    %10.0f ns  %6.2f ns/entry\n", c4, c4 / (double)(n4k - 512));
    printf("  map 2M blocks                 %10.0f ns  %6.2f ns/entry\n", m2, m2 / 512.0);
    printf("  protect 2M blocks + flush     %10.0f ns  %6.2f ns/entry\n", p2, p2 / 512.0);
    printf("  unmap 2M blocks + flush       %10.0f ns  %6.2f ns/entry\n", u2, u2 / 512.0);
    printf("  random 4K query               %10.2f ns\n", q);
    printf("  random 4K walk by hand (floor)%10.2f ns\n", qf);
    printf("  query within 2 MiB (cached)   %10.2f ns\n", qh);
    printf("pagetable.query_vs_walk_floor=%.2f\n", q / qf);
    printf("pagetable.query_cached_ns=%.2f\n", qh);
    printf("pagetable.unmap4k_cleared_vs_store_floor=%.2f\n", c4 / fl_ns);
    printf("pagetable.map4k_vs_store_floor=%.2f\n", m4 / fl_ns);
    printf("pagetable.unmap4k_vs_store_floor=%.2f\n", u4 / fl_ns);
    printf("pagetable.query_ns=%.2f\n", q);
    k23_pt_flush_fini(&fl);
    k23_pt_destroy(&pt);
    free(frames);
    free(floor_array);
    free(qva);
    return 0;
}
