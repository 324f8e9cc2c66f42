/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench runs: contiguous-run search (k23_bitmap_next_clear, the
 * form that returns its result; k23_bitmap_find_clear is the same search
 * behind an out-parameter) against
 * a baseline built only from libbsd's byte-wise <bsd/sys/bitstring.h>
 * macros (bit_test, bit_ffc), on 4,194,304-bit bitstrings (16 GiB of
 * 4 KiB frames).
 *
 * For each pattern and query it times
 *   - "starts": one search from each of a set of random starts;
 *   - "scan":   a full scan from bit 0 that finds every run in turn (each
 *               next search starts where the last run ended) until the
 *               search reports no more, so it always covers the whole
 *               bitstring.
 * Each pattern is drawn runs_nmaps times (same statistics, other seeds)
 * and consecutive passes go round the maps and, for "starts", round
 * several start sets per map: a branch predictor cannot learn one
 * search's path by seeing it again and again. Both implementations get
 * the same inputs in the same order and must agree on every one of them
 * (checked before timing). Times are medians of samples of thread CPU
 * time, ours and the baseline interleaved; both sides are out-of-line
 * calls (the baseline is noinline) so that neither gets inlined into the
 * timing loop. The last lines are key=value pairs.
 *
 * Options: --quick (fewer samples, for smoke runs); --pattern NAME and
 * --len N run only the matching cases (for profiling); --maps N uses N
 * maps per pattern instead of 8 (--maps 1: one map, searched again and
 * again as before the pool, and small enough to stay in a 1 MiB L2).
 */
#define _GNU_SOURCE
#include <bsd/sys/bitstring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "k23mem/bitmap.h"

#define RUNS_NBITS 4194304
#define RUNS_NSTARTS 32

/* ---- the baseline: libbsd macros only ---- */

static int libbsd_align(int x, int mask) { return (x + mask) & ~mask; }

/* First run of len clear bits at or after start whose index is a multiple
 * of 2^align_log2; -1 when there is none. Written as a careful libbsd user
 * would: bit_test walks a candidate run, bit_ffc skips set bytes. */
#if defined(__clang__)
#define RUNS_OPAQUE __attribute__((noinline))
#else
#define RUNS_OPAQUE __attribute__((noipa)) /* no inlining, no cloning */
#endif

RUNS_OPAQUE static int
libbsd_find_clear(bitstr_t *bs, int nbits, int start, int len,
                  unsigned align_log2)
{
    int mask = (1 << align_log2) - 1;
    int i = libbsd_align(start, mask);
    while (i <= nbits - len) {
        if (bit_test(bs, i)) {
            /* next clear bit: finish this byte, then bit_ffc bytewise */
            int j = i + 1;
            while ((j & 7) != 0 && j < nbits && bit_test(bs, j))
                j++;
            if (j >= nbits)
                return -1;
            if ((j & 7) == 0) {
                int v;
                bit_ffc(bs + (j >> 3), nbits - j, &v);
                if (v < 0)
                    return -1;
                j += v;
            }
            i = libbsd_align(j, mask);
            continue;
        }
        int j = 1;
        while (j < len && !bit_test(bs, i + j))
            j++;
        if (j == len)
            return i;
        i = libbsd_align(i + j + 1, mask);
    }
    return -1;
}

/* ours, in the same shape: index or -1 (for the checks, through the
 * out-parameter form; the timing loop calls k23_bitmap_next_clear
 * directly, so both forms are checked against the baseline) */
RUNS_OPAQUE static long
ours_find_clear(const unsigned char *bs, size_t nbits, size_t start,
                size_t len, unsigned align_log2)
{
    size_t idx;
    int rc = k23_bitmap_find_clear(bs, nbits, start, len, align_log2, 0,
                                   &idx);
    if (rc == K23_OK)
        return (long)idx;
    if (rc != K23_ERR_NOT_FOUND) {
        fprintf(stderr, "runs: unexpected error %d\n", rc);
        exit(1);
    }
    return -1;
}

/* ---- patterns ---- */

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Runs of 1..64 set bits (mean 32.5) separated by clear gaps of 1..2g-1
 * bits (mean g) with g chosen for the occupancy pct. */
static void fill_runs(bitstr_t *bs, int nbits, double pct)
{
    memset(bs, 0, bitstr_size(nbits));
    double g = 32.5 * (100.0 - pct) / pct;
    long gmax = (long)(2 * g - 1);
    if (gmax < 1)
        gmax = 1;
    long i = (long)(rng() % (uint64_t)gmax);
    while (i < nbits) {
        long run = 1 + (long)(rng() % 64);
        if (run > nbits - i)
            run = nbits - i;
        bit_nset(bs, (int)i, (int)(i + run - 1));
        i += run + 1 + (long)(rng() % (uint64_t)gmax);
    }
}

struct pattern {
    const char *name;
    void (*fill)(bitstr_t *bs, int nbits);
};

static void fill_random50(bitstr_t *bs, int nbits)
{
    for (int i = 0; i < nbits / 8; i += 8) {
        uint64_t v = rng();
        memcpy(bs + i, &v, 8);
    }
}
static void fill_runs90(bitstr_t *bs, int nbits) { fill_runs(bs, nbits, 90); }
static void fill_runs1(bitstr_t *bs, int nbits) { fill_runs(bs, nbits, 1); }
static void fill_full_but_end(bitstr_t *bs, int nbits)
{
    bit_nset(bs, 0, nbits - 1);
    bit_nclear(bs, nbits - 4096, nbits - 1);
}

static const struct pattern patterns[] = {
    {"random50", fill_random50},
    {"runs90", fill_runs90},
    {"runs1", fill_runs1},
    {"full_but_end", fill_full_but_end},
};

struct query {
    int len;
    unsigned align_log2;
};
static const struct query queries[] = {{1, 0}, {8, 0}, {512, 9}, {4096, 0}};

/* ---- inputs: a pool of maps and of start sets ---- */

/* Every repetition searches a different map of the same statistics, with
 * a different set of starts, so that no branch predictor can learn one
 * search's path: timed again and again on one map, the baseline's
 * len-512/a512 scan of random50 took a ninth of its first-pass time. */
#define RUNS_NMAPS_MAX 8
static int runs_nmaps = RUNS_NMAPS_MAX; /* --maps N */
/* start sets per map for "starts" (fewer when the baseline is slow, so
 * that checking every input stays bounded) */
#define RUNS_NBLOCKS_MAX 8
#define RUNS_CHECK_BUDGET_NS 3e8

struct inputs {
    bitstr_t *map[RUNS_NMAPS_MAX];
    int starts[RUNS_NMAPS_MAX][RUNS_NBLOCKS_MAX][RUNS_NSTARTS];
};

/* ---- timing ---- */

/* Thread CPU time: on this shared (virtual) machine wall time also counts
 * the time the thread waits for a CPU. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static volatile long sink;

struct job {
    const struct inputs *in;
    int nbits;
    const struct query *q;
    bool scan;   /* full scan; else the starts */
    int nblocks; /* start sets per map in use */
    bool baseline;
    long pass;   /* passes made so far: picks the map and start set */
};

/* ours as the timing loop calls it: a function of the caller's that
 * calls k23_bitmap_next_clear, so that the header's inline first look
 * (k23mem/bitmap.h) is compiled into it as into any caller, and the
 * timing loop makes one opaque call per search on both sides */
RUNS_OPAQUE static long ours_next_clear(const unsigned char *bs, size_t nbits,
                                        size_t start, size_t len,
                                        unsigned align_log2)
{
    struct k23_bitmap_hit h = k23_bitmap_next_clear(bs, nbits, start, len,
                                                    align_log2, 0);
    return h.rc == K23_OK ? (long)h.index : -1;
}

static long search(const struct job *j, bitstr_t *bs, long start)
{
    if (j->baseline)
        return libbsd_find_clear(bs, j->nbits, (int)start, j->q->len,
                                 j->q->align_log2);
    return ours_next_clear(bs, (size_t)j->nbits, (size_t)start,
                           (size_t)j->q->len, j->q->align_log2);
}

/* One pass of the job on map pass % NMAPS (and start set
 * pass / NMAPS % nblocks); returns the number of searches made. */
static long job_run(struct job *j)
{
    long n = j->pass++;
    int m = (int)(n % runs_nmaps);
    bitstr_t *bs = j->in->map[m];
    long searches = 0, acc = 0;
    if (!j->scan) {
        const int *st = j->in->starts[m][n / runs_nmaps % j->nblocks];
        for (int k = 0; k < RUNS_NSTARTS; k++) {
            acc += search(j, bs, st[k]);
            searches++;
        }
    } else {
        long pos = 0;
        while (pos < j->nbits) {
            long r = search(j, bs, pos);
            searches++;
            if (r < 0)
                break;
            acc += r;
            pos = r + j->q->len;
        }
    }
    sink = acc;
    return searches;
}

static int samples_min = 9;
static double sample_min_ns = 2e5;

/* Passes per sample so that a sample lasts sample_min_ns: 1, or a
 * multiple of runs_nmaps so that every sample covers every map. */
static long job_calibrate(struct job *j)
{
    long inner = 1;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < inner; i++)
            job_run(j);
        double dt = now_ns() - t0;
        if (dt >= sample_min_ns || inner >= (1L << 20))
            break;
        inner *= dt > 0 && sample_min_ns / dt < 16 ? 2 : 16;
    }
    if (inner > 1)
        inner = (inner + runs_nmaps - 1) / runs_nmaps * runs_nmaps;
    return inner;
}

static double job_sample(struct job *j, long inner, long *searches)
{
    long n = 0;
    double t0 = now_ns();
    for (long i = 0; i < inner; i++)
        n += job_run(j);
    double dt = now_ns() - t0;
    *searches += n;
    return dt;
}

/* Median time of one search of each job in ns, samples interleaved
 * (ours, baseline, ours, ...) so that both see the same machine load; both
 * jobs go through the same sequence of inputs from pass 0 on. */
static void job_time2(struct job *a, struct job *b, double *ta, double *tb)
{
    long ia = job_calibrate(a), ib = job_calibrate(b);
    a->pass = b->pass = 0;
    double va[64], vb[64];
    for (int s = 0; s < samples_min; s++) {
        long na = 0, nb = 0;
        va[s] = job_sample(a, ia, &na) / (double)na;
        vb[s] = job_sample(b, ib, &nb) / (double)nb;
    }
    *ta = median(va, samples_min);
    *tb = median(vb, samples_min);
}

/* Sequential 64-bit read of a whole bitstring (a different map each
 * sample, as the searches see them), median of samples. */
static double plain_read_ns(const struct inputs *in, int nbits)
{
    size_t nwords = (size_t)nbits / 64;
    double v[64];
    int n = samples_min * 3;
    for (int s = 0; s < n; s++) {
        const bitstr_t *bs = in->map[s % runs_nmaps];
        double t0 = now_ns();
        uint64_t acc = 0;
        for (size_t w = 0; w < nwords; w++) {
            uint64_t x;
            memcpy(&x, bs + w * 8, 8);
            acc += x;
        }
        sink = (long)acc;
        v[s] = now_ns() - t0;
    }
    return median(v, n);
}

/* Both implementations give the same answers on one map: every start of
 * start sets [b0, b1) and, when scan is set, every search of a scan. */
static bool check_map(bitstr_t *bs, int nbits, const struct query *q,
                      int (*starts)[RUNS_NSTARTS], int b0, int b1,
                      bool scan, long *scan_runs)
{
    for (int b = b0; b < b1; b++)
        for (int k = 0; k < RUNS_NSTARTS; k++) {
            long a = ours_find_clear(bs, (size_t)nbits,
                                     (size_t)starts[b][k], (size_t)q->len,
                                     q->align_log2);
            long r = libbsd_find_clear(bs, nbits, starts[b][k], q->len,
                                       q->align_log2);
            if (a != r) {
                fprintf(stderr,
                        "runs: MISMATCH start %d len %d: %ld vs %ld\n",
                        starts[b][k], q->len, a, r);
                return false;
            }
        }
    if (!scan)
        return true;
    long pos = 0, found = 0;
    while (pos < nbits) {
        long a = ours_find_clear(bs, (size_t)nbits, (size_t)pos,
                                 (size_t)q->len, q->align_log2);
        long r = libbsd_find_clear(bs, nbits, (int)pos, q->len,
                                   q->align_log2);
        if (a != r) {
            fprintf(stderr, "runs: MISMATCH scan pos %ld len %d: %ld vs %ld\n",
                    pos, q->len, a, r);
            return false;
        }
        if (a < 0)
            break;
        found++;
        pos = a + q->len;
    }
    *scan_runs += found;
    return true;
}

/* Checks every input the timing will use: all maps' scans and first start
 * sets, then as many further start sets as RUNS_CHECK_BUDGET_NS of checking
 * allows (the baseline takes milliseconds per search in some cases).
 * Returns the number of start sets per map, 0 on a mismatch. */
static int check_all(struct inputs *in, int nbits, const struct query *q,
                     long *scan_runs)
{
    *scan_runs = 0;
    for (int m = 0; m < runs_nmaps; m++)
        if (!check_map(in->map[m], nbits, q, in->starts[m], 0, 0, true,
                       scan_runs))
            return 0;
    double t0 = now_ns();
    for (int m = 0; m < runs_nmaps; m++)
        if (!check_map(in->map[m], nbits, q, in->starts[m], 0, 1, false,
                       scan_runs))
            return 0;
    double per_set = now_ns() - t0; /* one start set on every map */
    int nblocks = 1;
    while (nblocks < RUNS_NBLOCKS_MAX &&
           per_set * (nblocks + 1) < RUNS_CHECK_BUDGET_NS)
        nblocks++;
    for (int m = 0; m < runs_nmaps; m++)
        if (!check_map(in->map[m], nbits, q, in->starts[m], 1, nblocks,
                       false, scan_runs))
            return 0;
    return nblocks;
}

int k23_bench_runs(int argc, char **argv)
{
    const char *only_pattern = NULL;
    int only_len = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            samples_min = 3;
            sample_min_ns = 2e4;
        } else if (strcmp(argv[i], "--pattern") == 0 && i + 1 < argc) {
            only_pattern = argv[++i];
        } else if (strcmp(argv[i], "--len") == 0 && i + 1 < argc) {
            only_len = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--maps") == 0 && i + 1 < argc) {
            runs_nmaps = atoi(argv[++i]);
            if (runs_nmaps < 1 || runs_nmaps > RUNS_NMAPS_MAX) {
                fprintf(stderr, "runs: --maps takes 1..%d\n",
                        RUNS_NMAPS_MAX);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: k23mem-bench runs [--quick] [--pattern NAME] "
                            "[--len N] [--maps 1..%d]\n", RUNS_NMAPS_MAX);
            return 2;
        }
    }
    const int nbits = RUNS_NBITS;
    static struct inputs in;
    for (int m = 0; m < runs_nmaps; m++) {
        in.map[m] = calloc(bitstr_size(nbits), 1);
        if (in.map[m] == NULL)
            return 1;
    }
    rng_state = 1;
    for (int m = 0; m < runs_nmaps; m++)
        for (int b = 0; b < RUNS_NBLOCKS_MAX; b++)
            for (int k = 0; k < RUNS_NSTARTS; k++)
                in.starts[m][b][k] = (int)(rng() % nbits);

    double speedup_min = 1e300, scan_speedup_min = 1e300;
    double long_vs_read_max = 0, read_ns_min = 1e300;
    int mismatches = 0, cases = 0;

    printf("runs: %d-bit bitstrings, %d maps per pattern, %d random starts "
           "per pass, median of %d samples (thread CPU time)\n",
           nbits, runs_nmaps, RUNS_NSTARTS, samples_min);
    printf("%-13s %-11s %-6s %8s %14s %14s %8s %10s\n", "pattern", "query",
           "kind", "searches", "ours_ns/srch", "libbsd_ns/srch", "speedup",
           "ours/read");
    for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
        if (only_pattern && strcmp(only_pattern, patterns[p].name) != 0)
            continue;
        long set = 0;
        for (int m = 0; m < runs_nmaps; m++) {
            rng_state = 100 + p + 1000 * (uint64_t)m;
            patterns[p].fill(in.map[m], nbits);
            for (int i = 0; i < nbits; i++)
                set += bit_test(in.map[m], i) != 0;
        }
        double read_ns = plain_read_ns(&in, nbits);
        if (read_ns < read_ns_min)
            read_ns_min = read_ns;
        printf("# pattern %s: %.2f%% set, plain 64-bit read of a "
               "bitstring %.0f ns\n",
               patterns[p].name, 100.0 * (double)set / nbits / runs_nmaps,
               read_ns);
        for (size_t qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
            const struct query *q = &queries[qi];
            if (only_len && only_len != q->len)
                continue;
            char qname[32];
            if (q->align_log2)
                snprintf(qname, sizeof(qname), "len%d/a%d", q->len,
                         1 << q->align_log2);
            else
                snprintf(qname, sizeof(qname), "len%d", q->len);
            long scan_runs = 0;
            int nblocks = check_all(&in, nbits, q, &scan_runs);
            if (nblocks == 0) {
                mismatches++;
                continue;
            }
            for (int kind = 0; kind < 2; kind++) {
                struct job jo = {&in, nbits, q, kind == 1, nblocks, false, 0};
                struct job jb = jo;
                jb.baseline = true;
                double t_ours, t_base;
                job_time2(&jo, &jb, &t_ours, &t_base);
                /* a scan's searches: total over the maps, per map */
                double n_srch = kind == 0 ? RUNS_NSTARTS
                                          : (double)scan_runs / runs_nmaps + 1;
                double speedup = t_base / t_ours;
                double vs_read = t_ours * n_srch / read_ns;
                cases++;
                if (speedup < speedup_min)
                    speedup_min = speedup;
                if (kind == 1 && q->len >= 64 && q->align_log2 == 0) {
                    if (speedup < scan_speedup_min)
                        scan_speedup_min = speedup;
                    if (vs_read > long_vs_read_max)
                        long_vs_read_max = vs_read;
                }
                printf("%-13s %-11s %-6s %8.0f %14.1f %14.1f %8.2f %10.3f\n",
                       patterns[p].name, qname, kind == 0 ? "starts" : "scan",
                       n_srch, t_ours, t_base, speedup, vs_read);
                if (kind == 1)
                    printf("#   scan found %.1f runs per map; whole scan "
                           "%.0f ns (ours) vs %.0f ns (libbsd)\n",
                           n_srch - 1, t_ours * n_srch, t_base * n_srch);
                else
                    printf("#   %d start sets per map\n", nblocks);
            }
        }
    }
    for (int m = 0; m < runs_nmaps; m++)
        free(in.map[m]);
    printf("runs.nbits=%d\n", nbits);
    printf("runs.maps=%d\n", runs_nmaps);
    printf("runs.cases=%d\n", cases);
    printf("runs.mismatches=%d\n", mismatches);
    printf("runs.plain_read_ns_min=%.0f\n", read_ns_min);
    /* "nan" when a filter left no case of the kind */
    printf("runs.speedup_vs_libbsd_min=%.2f\n",
           cases ? speedup_min : NAN);
    printf("runs.speedup_vs_libbsd_scan_min=%.2f\n",
           long_vs_read_max > 0 ? scan_speedup_min : NAN);
    printf("runs.long_vs_plain_read_max=%.3f\n",
           long_vs_read_max > 0 ? long_vs_read_max : NAN);
    return mismatches == 0 ? 0 : 1;
}
