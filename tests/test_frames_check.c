/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23_frames_check() with the rseq fast path, deterministically: a frame a
 * thread holds between a per-CPU cache step and its state update ("in
 * transit") must never be reported, however long the thread takes, and a
 * frame that is lost must be. The test plays the thread itself with the
 * port's steps on the allocator's caches: a pop takes a frame out (and
 * counts it in transit, as the library's own pops do), k23_port_pcpu_add()
 * uncounts it as if the library had forgotten it.
 * (stress_frames_churn does the same with real threads and scheduling.)
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>

#include "k23mem/frames.h"

#define F4K 4096u
#define RAM_SIZE (4u << 20)

static k23_frames_t fa;
static cpu_set_t old_affinity;

/* Pin the thread to the CPU it runs on, so that every step below uses
 * that CPU's cache. */
static void pin_here(void)
{
    cpu_set_t one;
    int cpu = sched_getcpu();
    cr_assert_geq(cpu, 0);
    cr_assert_eq(sched_getaffinity(0, sizeof(old_affinity), &old_affinity),
                 0);
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
}

static void setup(void)
{
    void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(ram, MAP_FAILED);
    k23_frames_config_t cfg;
    cr_assert_eq(k23_frames_config_default(&cfg, F4K), K23_OK);
    cfg.cache_frames = 16;
    cfg.cache_batch = 4;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM_SIZE};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL), K23_OK);
    if (!fa.pcpu_fast)
        cr_skip_test("no CPU-local fast path here (TSan, K23MEM_NO_RSEQ, "
                     "no rseq)");
    pin_here();
    /* warm this CPU's cache: the refill leaves frames in it */
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    k23_frames_free_one(&fa, pa);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

static void teardown(void)
{
    sched_setaffinity(0, sizeof(old_affinity), &old_affinity);
}

static uint64_t pop(void)
{
    return k23_port_pcpu_pop(fa.caches, sizeof(fa.caches[0]), fa.ncaches,
                             offsetof(k23_frames_pcpu_t, frames));
}

static bool push(uint64_t e)
{
    return k23_port_pcpu_push(fa.caches, sizeof(fa.caches[0]), fa.ncaches,
                              offsetof(k23_frames_pcpu_t, frames),
                              fa.cfg.cache_frames, e);
}

static bool add(int32_t d)
{
    return k23_port_pcpu_add(fa.caches, sizeof(fa.caches[0]), fa.ncaches, d);
}

Test(frames_check, a_frame_in_transit_is_not_corruption, .init = setup,
     .fini = teardown)
{
    /* popped, not yet marked ALLOCATED: however long this "thread" waits,
     * the checker must not call it lost (it used to, after 64 tries) */
    uint64_t e = pop();
    cr_assert_neq(e, K23_PORT_PCPU_NONE);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(k23_frames_check(&fa), K23_OK);
    /* the "thread" goes on: the frame goes back, all is as before */
    cr_assert(push(e));
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    k23_frames_drain_all(&fa);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

Test(frames_check, a_lost_frame_is_corruption, .init = setup,
     .fini = teardown)
{
    uint64_t e = pop();
    cr_assert_neq(e, K23_PORT_PCPU_NONE);
    /* uncounted although still CACHED and in no cache: lost */
    cr_assert(add(-1));
    cr_assert_eq(k23_frames_check(&fa), K23_ERR_CORRUPT);
    /* two in transit, one counted: still one lost */
    uint64_t e2 = pop();
    cr_assert_neq(e2, K23_PORT_PCPU_NONE);
    cr_assert_eq(k23_frames_check(&fa), K23_ERR_CORRUPT);
    cr_assert(add(1));
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    cr_assert(push(e2));
    cr_assert(push(e));
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

Test(frames_check, a_negative_transit_count_is_corruption, .init = setup,
     .fini = teardown)
{
    cr_assert(add(-1));
    cr_assert_eq(k23_frames_check(&fa), K23_ERR_CORRUPT);
    cr_assert(add(1));
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}
