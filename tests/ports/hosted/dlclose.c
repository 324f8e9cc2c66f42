/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dlclose() of libk23mem.so is safe after its CPU-local fast path ran.
 *
 * The fast path's rseq critical sections store the address of their
 * descriptor (in the library's __rseq_cs section) into the thread's
 * kernel-registered struct rseq and leave it there; the kernel reads the
 * descriptor at the thread's next preemption or signal. Had dlclose()
 * unmapped it, that read would kill the process with SIGSEGV. So the
 * port pins the library once the fast path is on (RTLD_NODELETE). The
 * test: a library opened and closed without the fast path unloads; one
 * whose fast path ran on three threads stays loaded after dlclose() while
 * the other two are still alive, every thread sleeps, yields, takes a
 * signal and keeps working, and the library still allocates. Plain C
 * with its own main() (argv[1]: the library's path); exits 77 (ctest:
 * skipped) where the port has no fast path.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "k23mem/frames.h"
#include "stress.h"

#define NWORKERS 2
#define RAM_SIZE (UINT64_C(16) << 20)
#define ROUNDS 2000
#define BURST 8
#define SKIPPED 77

/* What the test calls, resolved with dlsym. */
static struct {
    __typeof__(k23_port_pcpu_fast) *pcpu_fast;
    __typeof__(k23_frames_config_default) *config_default;
    __typeof__(k23_frames_init) *init;
    __typeof__(k23_frames_alloc_one) *alloc_one;
    __typeof__(k23_frames_free_one) *free_one;
} lib;

static k23_frames_t fa;
static pthread_barrier_t used, unloaded;
static atomic_int signals_taken;

static void *resolve(void *handle, const char *name)
{
    void *p = dlsym(handle, name);
    if (p == NULL) {
        fprintf(stderr, "dlsym(%s): %s\n", name, dlerror());
        exit(1);
    }
    return p;
}

/* Frames in and out of this CPU's cache: all but the first refill of a
 * burst are cache hits, so every round runs the rseq steps. */
static int use_fast_path(void)
{
    k23_paddr_t held[BURST];
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < BURST; i++)
            if (lib.alloc_one(&fa, &held[i]) != K23_OK)
                return 0;
        for (int i = BURST - 1; i >= 0; i--)
            lib.free_one(&fa, held[i]);
    }
    return 1;
}

/* After the unload: be descheduled many times (each return to user space
 * makes the kernel look at rseq_cs), then compute something. */
static uint64_t live_on(void)
{
    struct timespec ms = {0, 1000000};
    uint64_t x = 1;
    for (int i = 0; i < 20; i++) {
        nanosleep(&ms, NULL);
        sched_yield();
        for (int j = 0; j < 10000; j++)
            x = x * 6364136223846793005u + 1442695040888963407u;
    }
    return x;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&signals_taken, 1);
}

static void *worker(void *arg)
{
    (void)arg;
    STRESS_CHECK(use_fast_path(), "a worker's frame allocation failed");
    pthread_barrier_wait(&used);
    pthread_barrier_wait(&unloaded);
    STRESS_CHECK(live_on() != 0, "the generator never yields 0 here");
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/libk23mem.so\n", argv[0]);
        return 2;
    }
    /* Nothing pins a library whose fast path never ran. */
    void *handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    STRESS_CHECK(handle != NULL && dlclose(handle) == 0 &&
                     dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == NULL,
                 "a library that never ran its fast path did not unload");

    handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    lib.pcpu_fast = resolve(handle, "k23_port_pcpu_fast");
    lib.config_default = resolve(handle, "k23_frames_config_default");
    lib.init = resolve(handle, "k23_frames_init");
    lib.alloc_one = resolve(handle, "k23_frames_alloc_one");
    lib.free_one = resolve(handle, "k23_frames_free_one");
    if (!lib.pcpu_fast()) {
        printf("dlclose: skipped, the port has no CPU-local fast path here\n");
        dlclose(handle);
        return SKIPPED;
    }

    void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    STRESS_CHECK(ram != MAP_FAILED, "mmap of the test's RAM");
    if (ram == MAP_FAILED)
        return stress_finish("dlclose");
    k23_frames_config_t cfg;
    k23_range_t region = {(uint64_t)(uintptr_t)ram, RAM_SIZE};
    STRESS_CHECK(lib.config_default(&cfg, 4096) == K23_OK, "config");
    STRESS_CHECK(lib.init(&fa, &region, 1, &cfg, NULL, 0, NULL) == K23_OK,
                 "init");

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_barrier_init(&used, NULL, NWORKERS + 1);
    pthread_barrier_init(&unloaded, NULL, NWORKERS + 1);
    pthread_t t[NWORKERS];
    for (int i = 0; i < NWORKERS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    STRESS_CHECK(use_fast_path(), "the main thread's frame allocation");
    pthread_barrier_wait(&used);

    /* Nobody is inside the library now; every thread has used it, and
     * may still name one of its descriptors in rseq_cs. */
    STRESS_CHECK(dlclose(handle) == 0, "dlclose: %s", dlerror());
    void *pinned = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
    STRESS_CHECK(pinned != NULL, "the library was unloaded although its "
                                 "rseq descriptors may still be named");
    pthread_barrier_wait(&unloaded);
    for (int i = 0; i < NWORKERS; i++)
        pthread_kill(t[i], SIGUSR1);
    raise(SIGUSR1);
    STRESS_CHECK(live_on() != 0, "the generator never yields 0 here");
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(t[i], NULL);
    STRESS_CHECK(atomic_load(&signals_taken) == NWORKERS + 1,
                 "%d signals taken", atomic_load(&signals_taken));
    if (pinned != NULL) {
        STRESS_CHECK(use_fast_path(), "the pinned library's allocation");
        dlclose(pinned);
    }
    munmap(ram, RAM_SIZE);
    return stress_finish("dlclose");
}
