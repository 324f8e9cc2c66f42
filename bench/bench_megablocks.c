/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench megablocks [--ops N] [--live-max MB] [--seed S] [--shift K]
 *
 * A churn trace for the megablock allocator: N operations (default
 * 100,000), each either allocating 1 to 8 megablocks or freeing a random
 * live allocation, with the live set bounded by --live-max megablocks
 * (default 256; when an allocation would pass the bound, random live
 * allocations are freed first, each free counting as an operation).
 *
 * On wasm32 the trace runs on the port's process-wide allocator
 * (memory.grow); elsewhere on a simulated grow-only memory. Beside the
 * allocator's own peak it replays the trace through a model of GHC's
 * wasm OSMem.c, which grows for every request and never reuses (the
 * model only adds up sizes: no real memory could hold it).
 *
 * Output ends with
 *   megablocks.peak_vs_live=<peak owned / peak live>
 *   megablocks.grow_only_peak_vs_live=<same for grow-only>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/megablock.h"
#if defined(__wasm__)
#include "k23mem_wasm32.h"
#endif

struct mb_live {
    uintptr_t addr;
    size_t n;
    uint32_t tag;
};

static uint64_t mb_rng = 0x853c49e6748fea9bull;

static uint64_t mb_rand(void)
{
    mb_rng ^= mb_rng >> 12;
    mb_rng ^= mb_rng << 25;
    mb_rng ^= mb_rng >> 27;
    return mb_rng * 0x2545f4914f6cdd1dull;
}

#if !defined(__wasm__)
/* A grow-only memory inside one big (lazily backed) heap block. */
struct mb_sim {
    uintptr_t end, limit;
};

static int mb_sim_grow(void *ctx, size_t bytes, uintptr_t *old_end)
{
    struct mb_sim *s = ctx;
    if (bytes > s->limit - s->end)
        return K23_ERR_NOMEM;
    *old_end = s->end;
    s->end += bytes;
    return K23_OK;
}

static uintptr_t mb_sim_end(void *ctx)
{
    return ((struct mb_sim *)ctx)->end;
}
#endif

static int mb_usage(void)
{
    fprintf(stderr, "usage: k23mem-bench megablocks [--ops N] "
                    "[--live-max MBLOCKS] [--seed S] [--shift K]\n");
    return 2;
}

int k23_bench_megablocks(int argc, char **argv)
{
    unsigned long ops = 100000, live_max = 256, shift = 0;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return mb_usage();
        char *end;
        unsigned long long v = strtoull(argv[i + 1], &end, 0);
        if (*end != '\0')
            return mb_usage();
        if (strcmp(argv[i], "--ops") == 0)
            ops = (unsigned long)v;
        else if (strcmp(argv[i], "--live-max") == 0)
            live_max = (unsigned long)v;
        else if (strcmp(argv[i], "--seed") == 0)
            seed = v;
        else if (strcmp(argv[i], "--shift") == 0)
            shift = (unsigned long)v;
        else
            return mb_usage();
    }
    if (live_max < 8 || ops == 0)
        return mb_usage();
    mb_rng ^= seed * 0x9e3779b97f4a7c15ull;

    k23_mblock_t *m;
#if defined(__wasm__)
    if (shift != 0 && k23_wasm32_init((unsigned)shift) != K23_OK) {
        fprintf(stderr, "megablocks: bad --shift %lu\n", shift);
        return 2;
    }
    m = k23_wasm32_mblocks();
    const char *where = "wasm32 linear memory (memory.grow)";
#else
    static k23_mblock_t sim_m;
    static struct mb_sim sim;
    if (shift == 0)
        shift = K23_MBLOCK_DEFAULT_SHIFT;
    size_t msz = (size_t)1 << shift;
    size_t nwin = live_max * 4 + 64;
    char *heap = malloc(nwin * msz + msz);
    void *meta = calloc(1, K23_MBLOCK_META_BYTES(nwin));
    if (heap == NULL || meta == NULL) {
        fprintf(stderr, "megablocks: no memory for the simulation\n");
        return 1;
    }
    uintptr_t base = ((uintptr_t)heap + msz - 1) & ~(uintptr_t)(msz - 1);
    sim.end = base + 3 * 65536; /* an unaligned start, like a wasm heap */
    sim.limit = base + nwin * msz;
    k23_mblock_source_t src = {mb_sim_grow, mb_sim_end, &sim};
    if (k23_mblock_init(&sim_m, (unsigned)shift, base, nwin, &src, meta,
                        K23_MBLOCK_META_BYTES(nwin)) != K23_OK) {
        fprintf(stderr, "megablocks: bad --shift %lu\n", shift);
        return 2;
    }
    m = &sim_m;
    const char *where = "simulated grow-only memory (not wasm32)";
#endif
    size_t msize = (size_t)1 << m->shift;

    struct mb_live *live = calloc(live_max, sizeof(*live));
    if (live == NULL)
        return 1;
    size_t nlive = 0, live_mb = 0, peak_live = 0;
    uint64_t grow_only_total = 0; /* megablocks the seed would own */
    unsigned long nalloc = 0, nfree = 0, done = 0;
    uint32_t tag = 1;
    int rc = 0;

    while (done < ops) {
        bool do_alloc = nlive == 0 || (mb_rand() & 1);
        if (do_alloc) {
            size_t n = 1 + (size_t)(mb_rand() % 8);
            while (live_mb + n > live_max && done < ops) {
                /* make room: free a random live allocation */
                size_t k = (size_t)(mb_rand() % nlive);
                if (*(uint32_t *)live[k].addr != live[k].tag) {
                    fprintf(stderr, "megablocks: allocation overwritten\n");
                    return 1;
                }
                k23_mblock_free(m, (void *)live[k].addr, live[k].n);
                live_mb -= live[k].n;
                live[k] = live[--nlive];
                nfree++;
                done++;
            }
            if (done >= ops)
                break;
            void *p;
            rc = k23_mblock_alloc(m, n, 0, 0, &p);
            if (rc != K23_OK) {
                fprintf(stderr, "megablocks: alloc of %zu failed: %s\n", n,
                        k23_strerror(rc));
                return 1;
            }
            *(uint32_t *)p = tag;
            live[nlive++] = (struct mb_live){(uintptr_t)p, n, tag++};
            live_mb += n;
            if (live_mb > peak_live)
                peak_live = live_mb;
            grow_only_total += n;
            nalloc++;
        } else {
            size_t k = (size_t)(mb_rand() % nlive);
            if (*(uint32_t *)live[k].addr != live[k].tag) {
                fprintf(stderr, "megablocks: allocation overwritten\n");
                return 1;
            }
            k23_mblock_free(m, (void *)live[k].addr, live[k].n);
            live_mb -= live[k].n;
            live[k] = live[--nlive];
            nfree++;
        }
        done++;
    }
    if (k23_mblock_check(m) != K23_OK) {
        fprintf(stderr, "megablocks: k23_mblock_check failed\n");
        return 1;
    }
    k23_mblock_stats_t st;
    k23_mblock_stats(m, &st);
    double ratio = (double)st.peak_owned / (double)peak_live;
    double go_ratio = (double)grow_only_total / (double)peak_live;
    printf("megablocks: %s, megablock %zu KiB\n", where, msize >> 10);
    printf("trace: %lu ops (%lu allocs of 1..8 megablocks, %lu frees), "
           "live bound %lu megablocks, seed %llu\n",
           done, nalloc, nfree, live_max, seed);
    printf("peak live:               %zu megablocks (%zu MiB)\n", peak_live,
           (peak_live * msize) >> 20);
    printf("peak owned (k23mem):     %zu megablocks (%zu MiB), %llu grows, "
           "%llu of %llu allocs reused, %zu KiB alignment waste\n",
           st.peak_owned, (st.peak_owned * msize) >> 20,
           (unsigned long long)st.grow_calls,
           (unsigned long long)st.alloc_reused,
           (unsigned long long)st.alloc_calls, st.waste_bytes >> 10);
    printf("peak owned (grow-only):  %llu megablocks (%llu MiB), modelled\n",
           (unsigned long long)grow_only_total,
           (unsigned long long)((grow_only_total * msize) >> 20));
    printf("megablocks.peak_vs_live=%.3f\n", ratio);
    printf("megablocks.grow_only_peak_vs_live=%.3f\n", go_ratio);
    while (nlive > 0) {
        nlive--;
        k23_mblock_free(m, (void *)live[nlive].addr, live[nlive].n);
    }
    free(live);
    return 0;
}
