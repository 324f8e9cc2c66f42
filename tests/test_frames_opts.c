/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame allocator's opt-in parts: per-frame information records,
 * per-CPU caches carved at init for the CPUs there are, per-CPU
 * statistics, and poisoning of free frames. Hosted port: "physical
 * memory" is an mmap'd buffer (phys == virt).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k23mem/frames.h"
#include "one_cpu.h"

#define F4K UINT64_C(4096)
#define MiB (UINT64_C(1) << 20)
#define RAM (16 * MiB)

static k23_frames_t fa;
static unsigned char *ram;

static void map_ram(void)
{
    void *p = mmap(NULL, (size_t)(2 * RAM), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    ram = (unsigned char *)(((uintptr_t)p + 4 * MiB - 1) &
                            ~(uintptr_t)(4 * MiB - 1));
}

static k23_frames_config_t cfg(unsigned cache)
{
    k23_frames_config_t c;
    cr_assert_eq(k23_frames_config_default(&c, F4K), K23_OK);
    c.cache_frames = cache;
    if (cache != 0 && c.cache_batch > cache)
        c.cache_batch = cache;
    return c;
}

static void init(const k23_frames_config_t *c)
{
    map_ram();
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, c, NULL, 0, NULL), K23_OK);
}

static k23_frames_stats_t stats(void)
{
    k23_frames_stats_t s;
    cr_assert_eq(k23_frames_stats(&fa, &s), K23_OK);
    return s;
}

/* The single entry k23_frames_plan() gives for the RAM under c. */
static k23_frames_arena_plan_t plan(const k23_frames_config_t *c)
{
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    k23_frames_arena_plan_t p;
    size_t n;
    cr_assert_eq(k23_frames_plan(&r, 1, c, &p, 1, &n), K23_OK);
    cr_assert_eq(n, 1);
    return p;
}

/* ---- per-frame information ---- */

Test(frames_opts, info_off_is_null_and_costs_no_bookkeeping)
{
    k23_frames_config_t c = cfg(0);
    init(&c);
    uint64_t bytes_off = stats().metadata_bytes;
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    cr_assert_null(k23_frames_info(&fa, pa));

    c.info_size = 16;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    /* every frame of the arena's span has a record, holes included */
    cr_assert_eq(stats().metadata_bytes - bytes_off, (RAM / F4K) * 16);
    cr_assert_eq(plan(&c).bookkeeping_bytes, stats().metadata_bytes);
}

Test(frames_opts, info_records_are_per_frame_zeroed_and_kept)
{
    k23_frames_config_t c = cfg(8);
    c.info_size = 24;
    init(&c);
    k23_frames_arena_info_t ai;
    cr_assert_eq(k23_frames_arena_info(&fa, 0, &ai), K23_OK);
    k23_paddr_t a, b;
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, 2 * F4K, 0, &a), K23_OK);
    unsigned char *ia = k23_frames_info(&fa, a);
    unsigned char *ib = k23_frames_info(&fa, a + F4K);
    cr_assert_not_null(ia);
    cr_assert_eq(ib - ia, 24, "one record per frame, in frame order");
    cr_assert_eq(k23_frames_info(&fa, a + 100), ia, "any byte of the frame");
    cr_assert_eq((uintptr_t)ia % 8, 0);
    /* inside the arena's bookkeeping area */
    cr_assert_geq((uint64_t)(uintptr_t)ia, ai.bookkeeping.base);
    cr_assert_leq((uint64_t)(uintptr_t)ib + 24,
                  ai.bookkeeping.base + ai.bookkeeping.size);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(ia[i], 0, "zeroed at init");
    /* the allocator never touches a record, whatever the frame's state */
    memset(ia, 0x5c, 24);
    cr_assert_eq(k23_frames_free_contiguous(&fa, a, 2 * F4K), K23_OK);
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, 2 * F4K, 0, &b), K23_OK);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(ia[i], 0x5c);
    cr_assert_null(k23_frames_info(&fa, (uint64_t)(uintptr_t)ram + RAM),
                   "an address past the arena has no record");
    cr_assert_null(k23_frames_info(&fa, 0));
}

Test(frames_opts, info_size_past_the_limit_is_invalid)
{
    k23_frames_config_t c = cfg(0);
    c.info_size = K23_FRAMES_INFO_MAX + 1;
    map_ram();
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL),
                 K23_ERR_INVAL);
    k23_frames_arena_plan_t p;
    size_t n;
    cr_assert_eq(k23_frames_plan(&r, 1, &c, &p, 1, &n), K23_ERR_INVAL);
}

/* ---- caches carved at init ---- */

Test(frames_opts, caches_are_carved_for_the_cpus_in_the_bookkeeping)
{
    /* the allocator itself no longer holds the caches (it held 64) */
    cr_assert_lt(sizeof(k23_frames_t), 64 * sizeof(k23_frames_pcpu_t));
    k23_frames_config_t c = cfg(8);
    c.cpus = 3;
    init(&c);
    cr_assert_eq(fa.ncaches, 3);
    k23_frames_arena_info_t ai;
    cr_assert_eq(k23_frames_arena_info(&fa, 0, &ai), K23_OK);
    uint64_t at = (uint64_t)(uintptr_t)fa.caches;
    cr_assert_eq(at, ai.bookkeeping.base, "first in the bookkeeping");
    cr_assert_eq(at % 64, 0);
    k23_frames_arena_plan_t p = plan(&c);
    cr_assert_eq(p.bookkeeping_bytes, stats().metadata_bytes);
    cr_assert_eq(p.usable_frames, stats().total_frames);

    k23_paddr_t v[40];
    for (int i = 0; i < 40; i++)
        cr_assert_eq(k23_frames_alloc_one(&fa, &v[i]), K23_OK);
    for (int i = 0; i < 40; i++)
        k23_frames_free_one(&fa, v[i]);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    k23_frames_drain_cpu(&fa, 5); /* folded onto cache 2 */
    k23_frames_drain_all(&fa);
    cr_assert_eq(stats().cached_frames, 0);

    /* 0 asks the port, as init does; caches off carve none */
    c.cpus = 0;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    unsigned want = k23_port_cpu_count();
    cr_assert_eq(fa.ncaches, want == 0 ? 1 : want);
    uint64_t with = stats().metadata_bytes;
    c.cache_frames = 0;
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    cr_assert_eq(fa.ncaches, 0);
    cr_assert_null(fa.caches);
    cr_assert_eq(with - stats().metadata_bytes,
                 (uint64_t)(want == 0 ? 1 : want) * sizeof(k23_frames_pcpu_t));
}

Test(frames_opts, too_many_cpus_is_invalid)
{
    k23_frames_config_t c = cfg(8);
    c.cpus = K23_FRAMES_CPU_LIMIT + 1;
    map_ram();
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL),
                 K23_ERR_INVAL);
}

/* ---- per-CPU statistics ---- */

static k23_frames_cpu_stats_t cpu_sum(void)
{
    k23_frames_cpu_stats_t sum = {0}, s;
    for (unsigned i = 0; i < fa.ncaches; i++) {
        cr_assert_eq(k23_frames_cpu_stats(&fa, i, &s), K23_OK);
        sum.cached += s.cached;
        sum.hits += s.hits;
        sum.refills += s.refills;
        sum.drains += s.drains;
    }
    return sum;
}

/* Pin the test to one CPU where the host allows, so that every count
 * lands on one cache; the sums are exact either way. */
static void pin(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
}

Test(frames_opts, cpu_stats_count_hits_refills_and_drains)
{
    pin();
    k23_frames_config_t c = cfg(8);
    c.cache_batch = 4;
    c.cpu_stats = true;
    init(&c);
    k23_paddr_t v[5], run;
    /* a refill brings 4 frames: the first is handed out, 3 hit */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(k23_frames_alloc_one(&fa, &v[i]), K23_OK);
    k23_frames_cpu_stats_t s = cpu_sum();
    cr_assert_eq(s.refills, 1);
    cr_assert_eq(s.hits, 3);
    cr_assert_eq(s.drains, 0);
    cr_assert_eq(k23_frames_alloc_one(&fa, &v[4]), K23_OK);
    s = cpu_sum();
    cr_assert_eq(s.refills, 2);
    cr_assert_eq(s.hits, 3);
    cr_assert_eq(s.cached, 3);
    /* a 2-frame run comes from the arenas, not the cache */
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, 2 * F4K, 0, &run), K23_OK);
    /* 3 cached + 5 freed fill the cache (8); a ninth frame drains */
    for (int i = 0; i < 5; i++)
        k23_frames_free_one(&fa, v[i]);
    cr_assert_eq(cpu_sum().drains, 0);
    cr_assert_eq(cpu_sum().cached, 8);
    cr_assert_eq(cpu_sum().hits, 3);
    k23_frames_free_one(&fa, run);
    k23_frames_free_one(&fa, run + F4K);
    s = cpu_sum();
    cr_assert_eq(s.drains, 1);
    cr_assert_eq(s.cached, stats().cached_frames);
    k23_frames_drain_all(&fa);
    s = cpu_sum();
    cr_assert_eq(s.cached, 0);
    cr_assert_geq(s.drains, 2);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

Test(frames_opts, cpu_stats_off_count_nothing_and_caches_off_is_invalid)
{
    k23_frames_config_t c = cfg(8);
    init(&c);
    k23_paddr_t pa;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    k23_frames_cpu_stats_t s = cpu_sum();
    cr_assert_eq(s.hits + s.refills + s.drains, 0);
    cr_assert_eq(s.cached, stats().cached_frames);
    cr_assert_eq(k23_frames_cpu_stats(&fa, 0, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_frames_cpu_stats(NULL, 0, &s), K23_ERR_INVAL);
    c.cache_frames = 0;
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    cr_assert_eq(k23_frames_cpu_stats(&fa, 0, &s), K23_ERR_INVAL);
}

/* ---- poisoning ---- */

static bool all_bytes(const unsigned char *p, size_t n, unsigned char b)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != b)
            return false;
    return true;
}

static unsigned char *va(k23_paddr_t pa)
{
    return (unsigned char *)(uintptr_t)pa;
}

Test(frames_opts, poison_fills_free_frames_and_passes_clean_use)
{
    k23_frames_config_t c = cfg(8);
    c.poison = true;
    init(&c);
    k23_paddr_t v[64], run;
    for (int i = 0; i < 64; i++) {
        cr_assert_eq(k23_frames_alloc_one(&fa, &v[i]), K23_OK);
        cr_assert(all_bytes(va(v[i]), F4K, K23_FRAMES_POISON_BYTE),
                  "free frames are poisoned from init on");
        memset(va(v[i]), i, F4K);
    }
    for (int i = 0; i < 64; i++) {
        k23_frames_free_one(&fa, v[i]);
        cr_assert(all_bytes(va(v[i]), F4K, K23_FRAMES_POISON_BYTE),
                  "a freed frame is poisoned");
    }
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, 3 * F4K, 0, &run), K23_OK);
    memset(va(run), 1, 3 * F4K);
    cr_assert_eq(k23_frames_free_contiguous(&fa, run, 3 * F4K), K23_OK);
    cr_assert(all_bytes(va(run), 3 * F4K, K23_FRAMES_POISON_BYTE));
    cr_assert_eq(k23_frames_alloc_bulk(&fa, 64, K23_FRAMES_ZERO,
                                       K23_FRAMES_NO_LIMIT, v), K23_OK);
    cr_assert(all_bytes(va(v[7]), F4K, 0), "zeroing still zeroes");
    cr_assert_eq(k23_frames_free_bulk(&fa, 64, v), K23_OK);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
}

Test(frames_opts, poison_off_writes_nothing)
{
    k23_frames_config_t c = cfg(8);
    init(&c);
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_alloc_one(&fa, &pa), K23_OK);
    cr_assert(all_bytes(va(pa), F4K, 0), "fresh mmap memory, untouched");
    memset(va(pa), 7, F4K);
    k23_frames_free_one(&fa, pa);
    cr_assert(all_bytes(va(pa), F4K, 7));
}

/* Run fn() in a child with stderr captured: it must die of SIGABRT (the
 * hosted port's panic) having printed needle. */
static void expect_panic(void (*fn)(void), const char *needle)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        fn();
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

static k23_paddr_t victim;
static char victim_hex[32];

/* Free a frame, write into it, allocate until it comes back. */
static void write_after_free_single(void)
{
    k23_paddr_t pa;
    k23_frames_free_one(&fa, victim);
    va(victim)[123] = 1;
    for (;;)
        if (k23_frames_alloc_one(&fa, &pa) != K23_OK)
            break;
}

static void write_after_free_run(void)
{
    k23_paddr_t pa;
    cr_assert_eq(k23_frames_free_contiguous(&fa, victim, 3 * F4K), K23_OK);
    va(victim)[2 * F4K + 5] = 1;
    while (k23_frames_alloc_contiguous(&fa, 3 * F4K, 0, &pa) == K23_OK)
        ;
}

static void poison_setup(unsigned cache, uint64_t size)
{
    k23_frames_config_t c = cfg(cache);
    c.poison = true;
    init(&c);
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, size, 0, &victim), K23_OK);
}

Test(frames_opts, write_after_free_panics_naming_the_frame_cached)
{
    poison_setup(8, F4K);
    snprintf(victim_hex, sizeof(victim_hex), "0x%" PRIx64, victim);
    expect_panic(write_after_free_single, "use after free");
    expect_panic(write_after_free_single, victim_hex);
}

Test(frames_opts, write_after_free_panics_naming_the_frame_caches_off)
{
    poison_setup(0, F4K);
    snprintf(victim_hex, sizeof(victim_hex), "0x%" PRIx64, victim);
    expect_panic(write_after_free_single, victim_hex);
}

Test(frames_opts, write_after_free_panics_naming_the_frame_of_a_run)
{
    poison_setup(8, 3 * F4K);
    snprintf(victim_hex, sizeof(victim_hex), "0x%" PRIx64,
             victim + 2 * F4K);
    expect_panic(write_after_free_run, victim_hex);
}

static void double_free_poisoned(void)
{
    k23_frames_free_one(&fa, victim);
    k23_frames_free_one(&fa, victim);
}

Test(frames_opts, double_free_with_poison_still_names_the_double_free)
{
    poison_setup(8, F4K);
    expect_panic(double_free_poisoned, "not allocated");
}

/* ---- refills take the smallest free blocks first ---- */

/* The frames 4 single allocations take after a 5-frame run, with caches
 * of `cache` frames refilled 4 at a time (0: caches off), sorted. */
static void four_after_a_run(unsigned cache, k23_paddr_t *v)
{
    k23_frames_config_t c = cfg(cache);
    if (cache != 0) {
        c.cache_batch = 4;
        /* one cache: its home is the whole arena (with more, a refill
         * looks in the calling CPU's part of the arena first) */
        c.cpus = 1;
    }
    k23_range_t r = {(uint64_t)(uintptr_t)ram, RAM};
    cr_assert_eq(k23_frames_init(&fa, &r, 1, &c, NULL, 0, NULL), K23_OK);
    k23_paddr_t run;
    cr_assert_eq(k23_frames_alloc_contiguous(&fa, 5 * F4K, 0, &run), K23_OK);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(k23_frames_alloc_one(&fa, &v[i]), K23_OK);
    cr_assert_eq(k23_frames_check(&fa), K23_OK);
    for (int i = 1; i < 4; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            k23_paddr_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

Test(frames_opts, refill_takes_the_frames_single_allocations_would)
{
    /* a refill takes its batch in one go, but from partly used chunks
     * first, exactly as single allocations do: the rest of the run's
     * chunk before a whole chunk is broken */
    map_ram();
    k23_paddr_t one[4], batch[4];
    four_after_a_run(0, one);
    four_after_a_run(8, batch);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(batch[i], one[i], "frame %d differs", i);
}
