/*
 * k23mem-bench runs: contiguous-run search (k23_bitmap_next_clear, the
 * form that returns its result; k23_bitmap_find_clear is the same search
 * behind an out-parameter) against
 * a baseline built only from libbsd's byte-wise <bsd/sys/bitstring.h>
 * macros (bit_test, bit_ffc), on a 4,194,304-bit bitstring (16 GiB of
 * 4 KiB frames).
 *
 * For each pattern and query it times
 *   - "starts": one search from each of a fixed set of random starts;
 *   - "scan":   a full scan from bit 0 that finds every run in turn (each
 *               next search starts where the last run ended) until the
 *               search reports no more, so it always covers the whole
 *               bitstring.
 * Both implementations must agree on every result (checked before timing).
 * Times are medians over repeated samples; both sides are out-of-line
 * calls (the baseline is noinline) so that neither gets inlined into the
 * timing loop. The last lines are key=value pairs.
 *
 * Options: --quick (fewer samples, for smoke runs); --pattern NAME and
 * --len N run only the matching cases (for profiling).
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

/* ---- timing ---- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
    bitstr_t *bs;
    int nbits;
    const struct query *q;
    const int *starts; /* NULL: full scan */
    bool baseline;
};

/* One pass of the job; returns the number of searches made. */
static long job_run(const struct job *j)
{
    long searches = 0, acc = 0;
    if (j->starts != NULL) {
        for (int k = 0; k < RUNS_NSTARTS; k++) {
            long r;
            if (j->baseline) {
                r = libbsd_find_clear(j->bs, j->nbits, j->starts[k],
                                      j->q->len, j->q->align_log2);
            } else {
                struct k23_bitmap_hit h = k23_bitmap_next_clear(
                    j->bs, (size_t)j->nbits, (size_t)j->starts[k],
                    (size_t)j->q->len, j->q->align_log2, 0);
                r = h.rc == K23_OK ? (long)h.index : -1;
            }
            acc += r;
            searches++;
        }
    } else {
        long pos = 0;
        while (pos < j->nbits) {
            long r;
            if (j->baseline) {
                r = libbsd_find_clear(j->bs, j->nbits, (int)pos, j->q->len,
                                      j->q->align_log2);
            } else {
                struct k23_bitmap_hit h = k23_bitmap_next_clear(
                    j->bs, (size_t)j->nbits, (size_t)pos, (size_t)j->q->len,
                    j->q->align_log2, 0);
                r = h.rc == K23_OK ? (long)h.index : -1;
            }
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

static int samples_min = 7;
static double sample_min_ns = 2e5;

/* Passes per sample so that a sample lasts sample_min_ns. */
static long job_calibrate(const struct job *j, long *searches)
{
    long inner = 1;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < inner; i++)
            *searches = job_run(j);
        double dt = now_ns() - t0;
        if (dt >= sample_min_ns || inner >= (1L << 20))
            return inner;
        inner *= dt > 0 && sample_min_ns / dt < 16 ? 2 : 16;
    }
}

static double job_sample(const struct job *j, long inner)
{
    double t0 = now_ns();
    for (long i = 0; i < inner; i++)
        job_run(j);
    return (now_ns() - t0) / (double)inner;
}

/* Median time of one pass of each job in ns, samples interleaved (ours,
 * baseline, ours, ...) so that both see the same machine load. */
static void job_time2(const struct job *a, const struct job *b, double *ta,
                      double *tb, long *na, long *nb)
{
    long ia = job_calibrate(a, na), ib = job_calibrate(b, nb);
    double va[64], vb[64];
    for (int s = 0; s < samples_min; s++) {
        va[s] = job_sample(a, ia);
        vb[s] = job_sample(b, ib);
    }
    *ta = median(va, samples_min);
    *tb = median(vb, samples_min);
}

/* Sequential 64-bit read of the whole bitstring, median of samples. */
static double plain_read_ns(const bitstr_t *bs, int nbits)
{
    size_t nwords = (size_t)nbits / 64;
    double v[64];
    int n = samples_min * 3;
    for (int s = 0; s < n; s++) {
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

/* Both implementations give the same answers (every search of a scan). */
static bool check_same(bitstr_t *bs, int nbits, const struct query *q,
                       const int *starts, long *scan_runs)
{
    for (int k = 0; k < RUNS_NSTARTS; k++) {
        long a = ours_find_clear(bs, (size_t)nbits, (size_t)starts[k],
                                 (size_t)q->len, q->align_log2);
        long b = libbsd_find_clear(bs, nbits, starts[k], q->len,
                                   q->align_log2);
        if (a != b) {
            fprintf(stderr, "runs: MISMATCH start %d len %d: %ld vs %ld\n",
                    starts[k], q->len, a, b);
            return false;
        }
    }
    long pos = 0, found = 0;
    while (pos < nbits) {
        long a = ours_find_clear(bs, (size_t)nbits, (size_t)pos,
                                 (size_t)q->len, q->align_log2);
        long b = libbsd_find_clear(bs, nbits, (int)pos, q->len,
                                   q->align_log2);
        if (a != b) {
            fprintf(stderr, "runs: MISMATCH scan pos %ld len %d: %ld vs %ld\n",
                    pos, q->len, a, b);
            return false;
        }
        if (a < 0)
            break;
        found++;
        pos = a + q->len;
    }
    *scan_runs = found;
    return true;
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
        } else {
            fprintf(stderr, "usage: k23mem-bench runs [--quick] [--pattern NAME] "
                            "[--len N]\n");
            return 2;
        }
    }
    const int nbits = RUNS_NBITS;
    bitstr_t *bs = calloc(bitstr_size(nbits), 1);
    if (bs == NULL)
        return 1;
    int starts[RUNS_NSTARTS];
    rng_state = 1;
    for (int k = 0; k < RUNS_NSTARTS; k++)
        starts[k] = (int)(rng() % nbits);

    double speedup_min = 1e300, scan_speedup_min = 1e300;
    double long_vs_read_max = 0, read_ns_min = 1e300;
    int mismatches = 0, cases = 0;

    printf("runs: %d-bit bitstring, %d random starts, median of %d samples\n",
           nbits, RUNS_NSTARTS, samples_min);
    printf("%-13s %-10s %-6s %8s %14s %14s %8s %10s\n", "pattern", "query",
           "kind", "searches", "ours_ns/srch", "libbsd_ns/srch", "speedup",
           "ours/read");
    for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
        if (only_pattern && strcmp(only_pattern, patterns[p].name) != 0)
            continue;
        rng_state = 100 + p;
        patterns[p].fill(bs, nbits);
        int set = 0;
        for (int i = 0; i < nbits; i++)
            set += bit_test(bs, i) != 0;
        double read_ns = plain_read_ns(bs, nbits);
        if (read_ns < read_ns_min)
            read_ns_min = read_ns;
        printf("# pattern %s: %.2f%% set, plain 64-bit read of the "
               "bitstring %.0f ns\n",
               patterns[p].name, 100.0 * set / nbits, read_ns);
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
            if (!check_same(bs, nbits, q, starts, &scan_runs)) {
                mismatches++;
                continue;
            }
            for (int kind = 0; kind < 2; kind++) {
                struct job jo = {bs, nbits, q, kind == 0 ? starts : NULL,
                                 false};
                struct job jb = jo;
                jb.baseline = true;
                long n_ours = 0, n_base = 0;
                double t_ours, t_base;
                job_time2(&jo, &jb, &t_ours, &t_base, &n_ours, &n_base);
                double speedup = t_base / t_ours;
                double vs_read = t_ours / read_ns;
                cases++;
                if (speedup < speedup_min)
                    speedup_min = speedup;
                if (kind == 1 && q->len >= 64 && q->align_log2 == 0) {
                    if (speedup < scan_speedup_min)
                        scan_speedup_min = speedup;
                    if (vs_read > long_vs_read_max)
                        long_vs_read_max = vs_read;
                }
                printf("%-13s %-10s %-6s %8ld %14.1f %14.1f %8.2f %10.3f\n",
                       patterns[p].name, qname, kind == 0 ? "starts" : "scan",
                       n_ours, t_ours / n_ours, t_base / n_base, speedup,
                       vs_read);
                if (kind == 1)
                    printf("#   scan found %ld runs; whole scan %.0f ns "
                           "(ours) vs %.0f ns (libbsd)\n",
                           scan_runs, t_ours, t_base);
            }
        }
    }
    free(bs);
    printf("runs.nbits=%d\n", nbits);
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
