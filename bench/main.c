/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-bench MODE [args]: benchmarks, not tests. Each mode prints its
 * measurements and ends with key=value lines (see the issue each mode
 * belongs to). Modes come from bench/bench_<mode>.c via bench_modes.h.
 */
#include <stdio.h>
#include <string.h>

#define K23_BENCH_MODE(m) int k23_bench_##m(int argc, char **argv);
#include "bench_modes.h"
#undef K23_BENCH_MODE

struct bench_mode {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct bench_mode modes[] = {
#define K23_BENCH_MODE(m) {#m, k23_bench_##m},
#include "bench_modes.h"
#undef K23_BENCH_MODE
    {NULL, NULL}};

static int usage(void)
{
    fprintf(stderr, "usage: k23mem-bench MODE [args]\nmodes:");
    for (const struct bench_mode *m = modes; m->name != NULL; m++)
        fprintf(stderr, " %s", m->name);
    fprintf(stderr, "\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    for (const struct bench_mode *m = modes; m->name != NULL; m++)
        if (strcmp(argv[1], m->name) == 0)
            return m->run(argc - 1, argv + 1);
    return usage();
}
