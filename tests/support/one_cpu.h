/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Keep a test program on the CPU it starts on (its worker processes
 * inherit the mask). With the hosted port's fast path, a frame freed on a
 * CPU whose cache does not own the frame's chunk goes to the arena, not to
 * a cache (docs/frames.md, "Owned chunks"): tests that count what the
 * caches hold must not move between CPUs. The paths a moving thread takes
 * are tested on purpose elsewhere (test_frames_owned.c, the stress tests).
 */
#ifndef K23_TEST_ONE_CPU_H
#define K23_TEST_ONE_CPU_H

#include <sched.h>

/* The CPUs the program could use before it was kept on one, for the
 * tests that move a thread on purpose. */
static cpu_set_t k23_test_all_cpus;

__attribute__((constructor)) static void k23_test_stay_on_one_cpu(void)
{
    if (sched_getaffinity(0, sizeof(k23_test_all_cpus), &k23_test_all_cpus))
        return;
    int cpu = sched_getcpu();
    if (cpu < 0)
        return; /* cannot tell: the tests run as they are */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)sched_setaffinity(0, sizeof(one), &one);
}

#endif
