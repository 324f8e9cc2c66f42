/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench plan [N]: k23_frames_plan() over N RAM regions of 64 KiB,
 * 128 KiB apart (the shape of tests/fdt_tool_big.sh; default 128,000),
 * given in address order (the O(n) walk), all N shuffled with a sort
 * scratch lent through the configuration (copied and heap-sorted,
 * O(n log n)) and, for N / 16 of them, shuffled without one (the O(n^2)
 * scanning fallback: see src/frames_plan.h). Issue 14. Prints the median
 * of 7 runs of each and key=value lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "k23mem/frames.h"

static double plan_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int plan_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of 7 timed k23_frames_plan() calls (count and fill); -1 on
 * error. */
static double plan_time(const k23_range_t *r, size_t n,
                        const k23_frames_config_t *c, size_t *nplan)
{
    double t[7];
    for (int i = 0; i < 7; i++) {
        double t0 = plan_now_ns();
        size_t np = 0;
        int err = k23_frames_plan(r, n, c, NULL, 0, &np);
        k23_frames_arena_plan_t *p = calloc(np + 1, sizeof(*p));
        if (p == NULL || (err != K23_OK && err != K23_ERR_NOSPACE) ||
            k23_frames_plan(r, n, c, p, np, nplan) != K23_OK) {
            free(p);
            return -1;
        }
        t[i] = plan_now_ns() - t0;
        free(p);
    }
    qsort(t, 7, sizeof(t[0]), plan_cmp);
    return t[3];
}

int k23_bench_plan(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 0) : 128000;
    k23_range_t *r = calloc(n + 1, sizeof(*r));
    k23_frames_config_t c;
    if (r == NULL || k23_frames_config_default(&c, 4096) != K23_OK)
        return 1;
    for (size_t i = 0; i < n; i++)
        r[i] = (k23_range_t){0x80000000u + (uint64_t)i * 0x20000, 0x10000};
    size_t np_sorted = 0, np_shuffled = 0, ns = n / 16;
    double sorted = plan_time(r, n, &c, &np_sorted);
    srand(1);
    for (size_t i = ns; i > 1; i--) {
        size_t j = (size_t)rand() % i;
        k23_range_t t = r[i - 1];
        r[i - 1] = r[j];
        r[j] = t;
    }
    double shuffled = plan_time(r, ns, &c, &np_shuffled);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rand() % i;
        k23_range_t t = r[i - 1];
        r[i - 1] = r[j];
        r[j] = t;
    }
    k23_range_t *scratch = calloc(n + 1, sizeof(*scratch));
    size_t np_scratch = 0;
    k23_frames_config_t lent = c;
    lent.sort_scratch = scratch;
    lent.sort_scratch_cap = n;
    double with_scratch = scratch ? plan_time(r, n, &lent, &np_scratch) : -1;
    free(scratch);
    free(r);
    if (sorted < 0 || shuffled < 0 || with_scratch < 0 ||
        np_scratch != np_sorted) {
        fprintf(stderr, "k23_frames_plan failed\n");
        return 1;
    }
    printf("k23_frames_plan, %zu regions in address order: %.2f ms "
           "(%zu entries)\n", n, sorted / 1e6, np_sorted);
    printf("k23_frames_plan, %zu regions shuffled: %.2f ms (%zu entries)\n",
           ns, shuffled / 1e6, np_shuffled);
    printf("k23_frames_plan, %zu regions shuffled, sort scratch lent: "
           "%.2f ms (%zu entries)\n", n, with_scratch / 1e6, np_scratch);
    printf("plan_sorted_regions=%zu\nplan_sorted_ms=%.3f\n", n, sorted / 1e6);
    printf("plan_scratch_regions=%zu\nplan_scratch_ms=%.3f\n", n,
           with_scratch / 1e6);
    printf("plan_shuffled_regions=%zu\nplan_shuffled_ms=%.3f\n", ns,
           shuffled / 1e6);
    return 0;
}
