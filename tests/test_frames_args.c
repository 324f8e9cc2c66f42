/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame allocator's argument checks and misuse messages (README,
 * "Invalid arguments"): every function of k23mem/frames.h that returns an
 * error reports a NULL or never initialised allocator (and its other bad
 * arguments) as K23_ERR_INVAL with its outputs untouched; the ones that
 * cannot report panic with a message naming the function. Misuse panics
 * say what was found at which address.
 *
 * The same tests run against a K23_DEBUG=0 build of the library
 * (test_frames_args_ndebug, tests/frames_ndebug.cmake): none of this may
 * depend on the debug level.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k23mem/frames.h"
#include "one_cpu.h"

#define F4K 4096u
#define RAM_SIZE (8u << 20)

static k23_frames_t zeroed; /* never initialised: all zero */

/* An 8 MiB allocator; caches on or off. */
static k23_frames_t *make_allocator(unsigned cache_frames)
{
    static k23_frames_t fa;
    void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(ram, MAP_FAILED);
    k23_frames_config_t cfg;
    cr_assert_eq(k23_frames_config_default(&cfg, F4K), K23_OK);
    cfg.cache_frames = cache_frames;
    cfg.cache_batch = cache_frames < 4 ? cache_frames : 4;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM_SIZE};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &cfg, NULL, 0, NULL), K23_OK);
    return &fa;
}

/* Run fn(arg) in a child with stderr captured: it must die of SIGABRT
 * (the hosted port's panic) having printed needle. */
static void expect_panic(void (*fn)(void *), void *arg, const char *needle)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    char buf[2048];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(buf) - 1 &&
           (r = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(p[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "expected a panic (SIGABRT), got status %#x; output: %s",
              status, buf);
    cr_assert(strstr(buf, needle) != NULL,
              "the panic said \"%s\"; expected it to contain \"%s\"", buf,
              needle);
}

/* ---- functions that report errors ---- */

/* Every reporting function on allocator fa (NULL or never initialised):
 * K23_ERR_INVAL, outputs untouched. */
static void check_reports_inval(k23_frames_t *fa)
{
    const k23_paddr_t mark = 0xabcdef000;
    k23_paddr_t pa = mark, v[2] = {mark, mark};
    k23_frames_req_t req = {F4K, 0, 0, K23_FRAMES_NO_LIMIT};
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_one_zeroed(fa, &pa), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc(fa, &req, &pa), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, F4K, 0, &pa), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_contiguous_zeroed(fa, F4K, 0, &pa),
                 K23_ERR_INVAL);
    cr_assert_eq(pa, mark);
    cr_assert_eq(k23_frames_alloc_bulk(fa, 2, 0, K23_FRAMES_NO_LIMIT, v),
                 K23_ERR_INVAL);
    cr_assert(v[0] == mark && v[1] == mark);
    cr_assert_eq(k23_frames_free_contiguous(fa, 0x1000, F4K), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_free_bulk(fa, 1, v), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_free_bulk(fa, 0, NULL), K23_ERR_INVAL);
    k23_frames_stats_t s;
    memset(&s, 0x5a, sizeof(s));
    cr_assert_eq(k23_frames_stats(fa, &s), K23_ERR_INVAL);
    cr_assert_eq(((unsigned char *)&s)[0], 0x5a);
    k23_frames_arena_info_t ai;
    memset(&ai, 0x5a, sizeof(ai));
    cr_assert_eq(k23_frames_arena_info(fa, 0, &ai), K23_ERR_INVAL);
    cr_assert_eq(((unsigned char *)&ai)[0], 0x5a);
    cr_assert_eq(k23_frames_check(fa), K23_ERR_INVAL);
}

Test(frames_args, reporting_functions_reject_a_null_allocator)
{
    check_reports_inval(NULL);
}

Test(frames_args, reporting_functions_reject_an_uninitialised_allocator)
{
    check_reports_inval(&zeroed);
}

Test(frames_args, reporting_functions_reject_null_outputs)
{
    k23_frames_t *fa = make_allocator(16);
    k23_frames_req_t req = {F4K, 0, 0, K23_FRAMES_NO_LIMIT};
    cr_assert_eq(k23_frames_alloc_one(fa, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_one_zeroed(fa, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc(fa, &req, NULL), K23_ERR_INVAL);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc(fa, NULL, &pa), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_contiguous(fa, F4K, 0, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_contiguous_zeroed(fa, F4K, 0, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_alloc_bulk(fa, 1, 0, K23_FRAMES_NO_LIMIT, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_frames_free_bulk(fa, 1, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_stats(fa, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_arena_info(fa, 0, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_config_default(NULL, F4K), K23_ERR_INVAL);
    /* nothing was taken meanwhile */
    k23_frames_stats_t s;
    cr_assert_eq(k23_frames_stats(fa, &s), K23_OK);
    cr_assert_eq(s.allocated_frames, 0);
    cr_assert_eq(k23_frames_check(fa), K23_OK);
}

/* ---- functions that cannot report: they panic naming themselves ---- */

static void call_max_alignment(void *fa)
{
    (void)k23_frames_max_alignment(fa);
}

static void call_drain_cpu(void *fa)
{
    k23_frames_drain_cpu(fa, 0);
}

static void call_drain_all(void *fa)
{
    k23_frames_drain_all(fa);
}

static void call_free_one(void *fa)
{
    k23_frames_free_one(fa, 0x1000);
}

Test(frames_args, max_alignment_of_null_panics_naming_it)
{
    expect_panic(call_max_alignment, NULL,
                 "k23_frames_max_alignment: invalid argument: (fa) != NULL");
}

Test(frames_args, drain_cpu_of_null_panics_naming_it)
{
    expect_panic(call_drain_cpu, NULL,
                 "k23_frames_drain_cpu: invalid argument: (fa) != NULL");
}

Test(frames_args, drain_all_of_null_panics_naming_it)
{
    expect_panic(call_drain_all, NULL,
                 "k23_frames_drain_all: invalid argument: (fa) != NULL");
}

Test(frames_args, free_one_of_null_panics_naming_it)
{
    expect_panic(call_free_one, NULL,
                 "k23_frames_free_one: invalid argument: (fa) != NULL");
}

Test(frames_args, uninitialised_allocator_panics_say_so)
{
    expect_panic(call_max_alignment, &zeroed,
                 "k23_frames_max_alignment: allocator not initialised");
    expect_panic(call_drain_cpu, &zeroed,
                 "k23_frames_drain_cpu: allocator not initialised");
    expect_panic(call_drain_all, &zeroed,
                 "k23_frames_drain_all: allocator not initialised");
    /* used to say "not frame aligned: 0x1000" */
    expect_panic(call_free_one, &zeroed,
                 "k23_frames_free_one: allocator not initialised");
}

Test(frames_args, max_alignment_and_drains_work_on_a_built_allocator)
{
    k23_frames_t *fa = make_allocator(16);
    cr_assert_geq(k23_frames_max_alignment(fa), F4K);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    k23_frames_free_one(fa, pa);
    k23_frames_drain_cpu(fa, 12345); /* any CPU id: folded */
    k23_frames_drain_all(fa);
    k23_frames_stats_t s;
    cr_assert_eq(k23_frames_stats(fa, &s), K23_OK);
    cr_assert_eq(s.cached_frames, 0);
}

/* ---- misuse messages: what was found, and where ---- */

struct free_args {
    k23_frames_t *fa;
    k23_paddr_t pa;
    int twice;
};

static void call_free(void *arg)
{
    struct free_args *a = arg;
    k23_frames_free_one(a->fa, a->pa);
    if (a->twice)
        k23_frames_free_one(a->fa, a->pa);
}

static void expect_free_panic(unsigned cache_frames, int allocate,
                              int twice, const char *what)
{
    k23_frames_t *fa = make_allocator(cache_frames);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(fa, &pa), K23_OK);
    if (!allocate) {
        /* a frame never handed out: a 2 MiB-aligned run of 8 frames
         * comes from a whole free 2 MiB block, whose second half stays
         * free */
        k23_paddr_t run;
        cr_assert_eq(k23_frames_alloc_contiguous(fa, 8 * F4K, 21, &run),
                     K23_OK);
        pa = run + 256 * F4K;
    }
    char needle[160];
    snprintf(needle, sizeof(needle), "%s at 0x%llx", what,
             (unsigned long long)pa);
    struct free_args a = {fa, pa, twice};
    expect_panic(call_free, &a, needle);
}

Test(frames_args, free_of_a_never_allocated_frame_says_it_is_free)
{
    /* not "double free": nothing was freed twice */
    expect_free_panic(0, 0, 0,
                      "free of a frame that is not allocated (it is free)");
    expect_free_panic(16, 0, 0,
                      "free of a frame that is not allocated (it is free)");
}

Test(frames_args, second_free_says_where_the_frame_is)
{
    expect_free_panic(0, 1, 1,
                      "free of a frame that is not allocated (it is free)");
    expect_free_panic(16, 1, 1, "free of a frame that is not allocated (it "
                                "is in a per-CPU cache)");
}

/* A run's states are checked eight at a time: a single frame not
 * allocated anywhere in a 2 MiB run (word edges, word middles, the ends)
 * must still be found, named by its own address, and the range called
 * partly allocated. */
struct run_args {
    k23_frames_t *fa;
    k23_paddr_t run;
};

static void call_free_run(void *arg)
{
    struct run_args *a = arg;
    k23_frames_free_contiguous(a->fa, a->run, 512 * F4K);
}

Test(frames_args, free_of_a_run_with_one_frame_freed_names_that_frame)
{
    static const unsigned hole[] = {0, 1, 7, 8, 9, 255, 256, 263, 504, 510,
                                    511};
    for (unsigned i = 0; i < sizeof(hole) / sizeof(hole[0]); i++) {
        k23_frames_t *fa = make_allocator(0);
        struct run_args a = {fa, 0};
        cr_assert_eq(k23_frames_alloc_contiguous(fa, 512 * F4K, 21, &a.run),
                     K23_OK);
        k23_paddr_t pa = a.run + (k23_paddr_t)hole[i] * F4K;
        k23_frames_free_one(fa, pa);
        char needle[160];
        snprintf(needle, sizeof(needle),
                 "free of a partly allocated range; frame not allocated at "
                 "0x%llx",
                 (unsigned long long)pa);
        expect_panic(call_free_run, &a, needle);
    }
}
