/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#define _GNU_SOURCE /* sched_getcpu, CPU_SET */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h> /* __rseq_size */
#define HAVE_SYS_RSEQ_H 1
#endif
#endif
#ifdef __linux__
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "k23mem/perm.h"
#include "k23mem/port.h"
#include "k23_port_config.h"
#include "k23_port_hosted_test.h"

TestSuite(port_hosted);

Test(port_hosted, cpu_ids_are_below_the_cpu_count)
{
    unsigned n = k23_port_cpu_count();
    cr_assert_geq(n, 1);
    for (int i = 0; i < 1000; i++) {
        cr_assert_lt(k23_port_hosted_cpu_id_(), n);
        unsigned c = k23_port_cpu_local_enter();
        cr_assert_lt(c, n);
        k23_port_cpu_local_exit(c);
    }
}

Test(port_hosted, phys_and_virt_are_the_same_address)
{
    int x = 0;
    cr_assert_eq(k23_port_phys_to_virt(k23_port_virt_to_phys(&x)), (void *)&x);
}

Test(port_hosted, reserve_commit_decommit_release_and_count)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    cr_assert(caps.has_vm);
    cr_assert_eq(caps.page_size & (caps.page_size - 1), 0);
    size_t before = k23_port_vm_reserved_bytes();
    size_t size = 16 * caps.page_size, align = 2u << 20;
    void *p = NULL;
    cr_assert_eq(k23_port_vm_reserve(size, align, &p), K23_OK);
    cr_assert_eq((uintptr_t)p % align, 0, "aligned to 2 MiB");
    cr_assert_eq(k23_port_vm_reserved_bytes(), before + size);

    unsigned char *b = p;
    cr_assert_eq(k23_port_vm_commit(b, 4 * caps.page_size, K23_PERM_READ | K23_PERM_WRITE), K23_OK);
    for (size_t i = 0; i < 4 * caps.page_size; i++)
        cr_assert_eq(b[i], 0);
    memset(b, 0xab, 4 * caps.page_size);
    cr_assert_eq(k23_port_vm_decommit(b, 4 * caps.page_size), K23_OK);
    cr_assert_eq(k23_port_vm_commit(b, 4 * caps.page_size, K23_PERM_READ | K23_PERM_WRITE), K23_OK);
    for (size_t i = 0; i < 4 * caps.page_size; i++)
        cr_assert_eq(b[i], 0, "recommitted memory reads as zero");

    cr_assert_eq(k23_port_vm_release(p, size), K23_OK);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
}

Test(port_hosted, reserve_rejects_bad_sizes_and_alignments)
{
    void *p = (void *)0x1;
    cr_assert_eq(k23_port_vm_reserve(0, 4096, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserve(100, 4096, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserve(4096, 3 * 4096, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserve(4096, 16, &p), K23_ERR_INVAL);
    cr_assert_eq(p, (void *)0x1);
    cr_assert_eq(k23_port_vm_reserve(4096, 4096, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserve(SIZE_MAX & ~(size_t)0xfff, 1u << 30, &p), K23_ERR_NOMEM);
}

/* Commit and decommit outside any mapping, or on unaligned bounds, are
 * the caller's mistakes: K23_ERR_INVAL, not "out of memory". */
Test(port_hosted, commit_outside_a_mapping_is_an_argument_error)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    size_t pg = caps.page_size;
    const k23_perm_t rw = K23_PERM_READ | K23_PERM_WRITE;
    /* two mapped pages, inaccessible as a reservation is, then a hole */
    unsigned char *p = mmap(NULL, 4 * pg, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    cr_assert_eq(munmap(p + 2 * pg, 2 * pg), 0);

    cr_assert_eq(k23_port_vm_commit(p + 2 * pg, pg, rw), K23_ERR_INVAL,
                 "wholly unmapped");
    cr_assert_eq(k23_port_vm_commit(p + pg, 2 * pg, rw), K23_ERR_INVAL,
                 "runs past the end of the mapping");
    cr_assert_eq(k23_port_vm_decommit(p + 2 * pg, pg), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_commit(p + 1, pg, rw), K23_ERR_INVAL,
                 "unaligned start");
    cr_assert_eq(k23_port_vm_commit(p, pg + 1, rw), K23_ERR_INVAL,
                 "size not whole pages");
    cr_assert_eq(k23_port_vm_decommit(p + 1, pg), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_decommit(p, pg / 2), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_commit((void *)(UINTPTR_MAX & ~(pg - 1)), pg,
                                    rw),
                 K23_ERR_INVAL, "wraps past the end of the address space");

    cr_assert_eq(k23_port_vm_commit(p, 2 * pg, rw), K23_OK,
                 "the mapped part still commits");
    p[0] = 1;
    cr_assert_eq(k23_port_vm_decommit(p, 2 * pg), K23_OK);
    munmap(p, 2 * pg);
}

/* Out of memory is still K23_ERR_NOMEM: run the process out of mappings
 * (vm.max_map_count) by committing every other page of a reservation. */
Test(port_hosted, commit_reports_the_host_out_of_mappings_as_nomem)
{
    long max_maps = 0;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f == NULL || fscanf(f, "%ld", &max_maps) != 1 || max_maps <= 0 ||
        max_maps > (1L << 20))
        cr_skip_test("vm.max_map_count unknown or too large to exhaust");
    fclose(f);
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    size_t pg = caps.page_size;
    size_t npages = 2 * ((size_t)max_maps + 16);
    unsigned char *p;
    cr_assert_eq(k23_port_vm_reserve(npages * pg, pg, (void **)&p), K23_OK);
    int err = K23_OK;
    size_t i;
    for (i = 0; i < npages && err == K23_OK; i += 2)
        err = k23_port_vm_commit(p + i * pg, pg, K23_PERM_READ);
    int release = k23_port_vm_release(p, npages * pg);
    cr_assert_eq(err, K23_ERR_NOMEM, "after %zu commits", i / 2);
    cr_assert_eq(release, K23_OK);
}

Test(port_hosted, uncommitted_reservation_faults, .signal = SIGSEGV)
{
    void *p;
    cr_assert_eq(k23_port_vm_reserve(65536, 4096, &p), K23_OK);
    *(volatile char *)p = 1;
}

/* ---- memory protection keys ---- */

/* On the host's own keys, whichever path it has: with none, every hook
 * says "unsupported" every time (Linux 6.18 without PKU answers EINVAL,
 * then ENOSPC); with some, at most the advertised number can be taken,
 * then allocation says "all taken". The other path runs on every host
 * through the stand-in kernel below. */
Test(port_hosted, protection_keys_match_the_capabilities)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    void *page;
    cr_assert_eq(k23_port_vm_reserve(caps.page_size, caps.page_size, &page),
                 K23_OK);
    if (caps.pkeys_available == 0) {
        cr_log_info("no memory protection keys on this host");
        for (int i = 0; i < 3; i++) {
            unsigned key = 1234;
            cr_assert_eq(k23_port_pkey_alloc(&key), K23_ERR_UNSUPPORTED);
            cr_assert_eq(key, 1234);
        }
        cr_assert_eq(k23_port_pkey_protect(page, caps.page_size,
                                           K23_PERM_READ, 1),
                     K23_ERR_UNSUPPORTED);
    } else {
        cr_log_info("%u memory protection keys on this host",
                    caps.pkeys_available);
        unsigned keys[64], n = 0;
        int err;
        while (n < 64 && (err = k23_port_pkey_alloc(&keys[n])) == K23_OK)
            n++;
        cr_assert_eq(err, K23_ERR_NOMEM);
        cr_assert(n >= 1 && n <= caps.pkeys_available, "%u keys", n);
        cr_assert_eq(k23_port_pkey_protect(page, caps.page_size,
                                           K23_PERM_READ, keys[0]),
                     K23_OK);
        for (unsigned i = 0; i < n; i++)
            k23_port_pkey_free(keys[i]);
        cr_assert_eq(k23_port_pkey_alloc(&keys[0]), K23_OK);
        k23_port_pkey_free(keys[0]);
    }
    cr_assert_eq(k23_port_vm_release(page, caps.page_size), K23_OK);
}

/* A stand-in for the kernel's key system calls: keys 1..nkeys, after
 * `nscript` scripted refusals of pkey_alloc. */
#define FAKE_KEYS_MAX 16
static struct fake_kernel {
    int script[4];        /* errno of each of the first allocations */
    unsigned nscript;
    unsigned nkeys;       /* keys it has, <= FAKE_KEYS_MAX */
    int none_free;        /* errno when every key is taken */
    int mprotect_errno;   /* 0: pkey_mprotect succeeds */
    bool taken[FAKE_KEYS_MAX + 1];
    unsigned allocs, frees, mprotects;
    int last_prot, last_key;
} fk;

static int fake_alloc(void)
{
    fk.allocs++;
    if (fk.nscript > 0) {
        errno = fk.script[0];
        memmove(fk.script, fk.script + 1, --fk.nscript * sizeof(int));
        return -1;
    }
    for (unsigned k = 1; k <= fk.nkeys; k++)
        if (!fk.taken[k]) {
            fk.taken[k] = true;
            return (int)k;
        }
    errno = fk.none_free;
    return -1;
}

static int fake_free(int key)
{
    fk.frees++;
    cr_assert(key >= 1 && (unsigned)key <= fk.nkeys && fk.taken[key],
              "freed key %d, not allocated", key);
    fk.taken[key] = false;
    return 0;
}

static int fake_mprotect(void *addr, size_t size, int prot, int key)
{
    (void)addr; (void)size;
    fk.mprotects++;
    fk.last_prot = prot;
    fk.last_key = key;
    errno = fk.mprotect_errno;
    return fk.mprotect_errno != 0 ? -1 : 0;
}

static const k23_port_hosted_pkey_sys_t fake_sys = {fake_alloc, fake_free,
                                                    fake_mprotect};

static unsigned fake_keys_taken(void)
{
    unsigned n = 0;
    for (unsigned k = 1; k <= fk.nkeys; k++)
        n += fk.taken[k];
    return n;
}

/* Kernels whose first pkey_alloc fails have no keys, whatever comes
 * after: the capabilities say 0 and every hook "unsupported", in either
 * order of asking. */
Test(port_hosted, no_protection_keys_when_the_first_allocation_fails)
{
    static const struct fake_kernel kernels[] = {
        /* Linux 6.18, CPU without PKU: EINVAL, then ENOSPC forever */
        {.script = {EINVAL}, .nscript = 1, .nkeys = 0, .none_free = ENOSPC},
        /* no pkey system calls */
        {.nkeys = 0, .none_free = ENOSYS},
        /* refuses once, would give keys later: still none */
        {.script = {EINVAL}, .nscript = 1, .nkeys = 3, .none_free = ENOSPC},
    };
    for (size_t i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++) {
        for (int caps_first = 0; caps_first < 2; caps_first++) {
            fk = kernels[i];
            k23_port_hosted_pkey_inject_(&fake_sys);
            k23_port_caps_t caps;
            if (caps_first)
                k23_port_caps(&caps);
            for (int j = 0; j < 3; j++) {
                unsigned key = 1234;
                cr_assert_eq(k23_port_pkey_alloc(&key), K23_ERR_UNSUPPORTED,
                             "kernel %zu, call %d", i, j);
                cr_assert_eq(key, 1234);
            }
            k23_port_caps(&caps);
            cr_assert_eq(caps.pkeys_available, 0, "kernel %zu", i);
            cr_assert_eq(k23_port_pkey_protect((void *)0x10000, 4096,
                                               K23_PERM_READ, 1),
                         K23_ERR_UNSUPPORTED);
            k23_port_pkey_free(1);
            cr_assert_eq(fk.allocs, 1, "one probe, then no system call");
            cr_assert_eq(fk.frees + fk.mprotects, 0);
        }
    }
    k23_port_hosted_pkey_inject_(NULL);
}

/* A kernel with keys: the probe counts them and gives them back; then
 * exactly that many can be taken, the next allocation says "all taken",
 * and a freed key can be taken again. */
Test(port_hosted, protection_keys_are_counted_handed_out_and_exhausted)
{
    fk = (struct fake_kernel){.nkeys = 3, .none_free = ENOSPC};
    k23_port_hosted_pkey_inject_(&fake_sys);
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    cr_assert_eq(caps.pkeys_available, 3);
    cr_assert_eq(fake_keys_taken(), 0, "the probe gave its keys back");

    unsigned keys[3], key = 1234;
    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(k23_port_pkey_alloc(&keys[i]), K23_OK);
    cr_assert(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
    cr_assert_eq(k23_port_pkey_alloc(&key), K23_ERR_NOMEM);
    cr_assert_eq(key, 1234);
    k23_port_pkey_free(keys[1]);
    cr_assert_eq(k23_port_pkey_alloc(&key), K23_OK);
    cr_assert_eq(key, keys[1]);

    /* any other refusal once the host has keys is the host's */
    fk.none_free = EIO;
    cr_assert_eq(k23_port_pkey_alloc(&key), K23_ERR_OS);
    cr_assert_eq(key, keys[1]);
    k23_port_caps(&caps);
    cr_assert_eq(caps.pkeys_available, 3, "probed once");
    k23_port_hosted_pkey_inject_(NULL);
}

/* pkey_mprotect's answers, once the host has keys: the permissions and
 * key are passed on; a key not allocated or a range not mapped is the
 * caller's mistake, ENOMEM on a mapped range a shortage. */
Test(port_hosted, protection_key_protect_passes_the_key_and_maps_errors)
{
    fk = (struct fake_kernel){.nkeys = 2, .none_free = ENOSPC};
    k23_port_hosted_pkey_inject_(&fake_sys);
    cr_assert_eq(k23_port_pkey_alloc(NULL), K23_ERR_INVAL);
    unsigned key;
    cr_assert_eq(k23_port_pkey_alloc(&key), K23_OK);
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    size_t pg = caps.page_size;
    /* one mapped page, then a hole */
    unsigned char *p = mmap(NULL, 2 * pg, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    cr_assert_eq(munmap(p + pg, pg), 0);
    cr_assert_eq(k23_port_pkey_protect(p, pg, K23_PERM_READ, key), K23_OK);
    cr_assert_eq(fk.last_key, (int)key);
    cr_assert_eq(fk.last_prot, PROT_READ);
    static const struct {
        int err;
        size_t page; /* 0: the mapped page, 1: the hole */
        int want;
    } answers[] = {{EINVAL, 0, K23_ERR_INVAL}, {ENOMEM, 1, K23_ERR_INVAL},
                   {ENOMEM, 0, K23_ERR_NOMEM}, {EACCES, 0, K23_ERR_OS}};
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        fk.mprotect_errno = answers[i].err;
        cr_assert_eq(k23_port_pkey_protect(p + answers[i].page * pg, pg,
                                           K23_PERM_READ, key),
                     answers[i].want, "answer %zu", i);
    }
    cr_assert_eq(k23_port_pkey_protect(p, pg, K23_PERM_READ, UINT_MAX),
                 K23_ERR_INVAL, "a key no int can hold");
    k23_port_pkey_free(key);
    cr_assert_eq(fake_keys_taken(), 0);
    munmap(p, pg);
    k23_port_hosted_pkey_inject_(NULL);
}

Test(port_hosted, panic_aborts_with_the_message, .signal = SIGABRT)
{
    k23_port_panic(__FILE__, __LINE__, "double free of frame 0x1000");
}

/* ---- CPU-local stack steps ---- */

/* Pin the calling thread to the CPU it runs on; *old gets its affinity. */
static bool pin_here(cpu_set_t *old)
{
    cpu_set_t one;
    int cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof(*old), old) != 0)
        return false;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof(one), &one) == 0;
}

struct test_stack {
    k23_port_pcpu_hdr_t hdr;
    uint64_t slot[4];
};

/* The 48-bit transit counter of a header, as a signed number. */
static int64_t transit_of(const k23_port_pcpu_hdr_t *h)
{
    uint64_t t = h->transit_lo | (uint64_t)h->transit_hi << 16;
    return t >= (UINT64_C(1) << 47) ? (int64_t)t - ((int64_t)1 << 48)
                                    : (int64_t)t;
}

typedef uint64_t (*pop_fn)(void *, size_t, unsigned, size_t);
typedef bool (*push_fn)(void *, size_t, unsigned, size_t, uint32_t,
                        uint64_t);

#ifdef K23_PORT_PCPU_INLINE
/* The inline steps with the slot offset as a compile-time constant (as
 * the library calls them), which addresses slots differently from the
 * out-of-line hooks; off must be that constant. */
static uint64_t inline_pop(void *base, size_t stride, unsigned n, size_t off)
{
    cr_assert_eq(off, offsetof(struct test_stack, slot));
    return k23_port_pcpu_pop_inline(base, stride, n,
                                    offsetof(struct test_stack, slot));
}

static bool inline_push(void *base, size_t stride, unsigned n, size_t off,
                        uint32_t cap, uint64_t v)
{
    cr_assert_eq(off, offsetof(struct test_stack, slot));
    return k23_port_pcpu_push_inline(base, stride, n,
                                     offsetof(struct test_stack, slot), cap,
                                     v);
}
#endif

#if defined(K23_PORT_PCPU_INLINE) && defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define HAVE_RSEQ_AREA 1
#endif
#endif

/* The thread's rseq_cs. */
static uint64_t rseq_cs_now(void)
{
#ifdef HAVE_RSEQ_AREA
    const struct rseq *r = (const struct rseq *)(
        (char *)__builtin_thread_pointer() + __rseq_offset);
    return __atomic_load_n(&r->rseq_cs, __ATOMIC_RELAXED);
#else
    return 0;
#endif
}

#ifdef HAVE_RSEQ_AREA
/* The descriptors of every rseq sequence linked into this program (the
 * library's steps: section __rseq_cs, 32 bytes each). */
extern const char __start___rseq_cs[] __attribute__((weak));
extern const char __stop___rseq_cs[] __attribute__((weak));
#endif

/* After a step, however it ended, rseq_cs is 0 or names one of those
 * descriptors: the steps leave it set, and the kernel reads it (and
 * clears it) at the thread's next preemption, so anything else would
 * send the kernel to memory the library does not own. */
static bool rseq_cs_ok(void)
{
    uint64_t cs = rseq_cs_now();
    if (cs == 0)
        return true;
#ifdef HAVE_RSEQ_AREA
    uintptr_t lo = (uintptr_t)__start___rseq_cs;
    uintptr_t hi = (uintptr_t)__stop___rseq_cs;
    return lo != 0 && cs >= lo && cs - lo < hi - lo && (cs - lo) % 32 == 0;
#else
    return false;
#endif
}

static pop_fn hook_pop;
static push_fn hook_push;

static uint64_t pop(void *base, size_t stride, unsigned n, size_t off)
{
    uint64_t v = hook_pop(base, stride, n, off);
    cr_assert(rseq_cs_ok(), "pop left rseq_cs at %#llx",
              (unsigned long long)rseq_cs_now());
    return v;
}

static bool push(void *base, size_t stride, unsigned n, size_t off,
                 uint32_t cap, uint64_t v)
{
    bool ok = hook_push(base, stride, n, off, cap, v);
    cr_assert(rseq_cs_ok(), "push left rseq_cs at %#llx",
              (unsigned long long)rseq_cs_now());
    return ok;
}

/* LIFO order, the capacity bound, empty, the fence, and CPUs beyond the
 * array, through one pair of hooks; after each step, success or not,
 * rseq_cs is 0 or one of the library's descriptors. */
static void check_hooks(pop_fn pop_hook, push_fn push_hook)
{
    hook_pop = pop_hook;
    hook_push = push_hook;
    cpu_set_t old;
    cr_assert(pin_here(&old));
    unsigned n = k23_port_cpu_count();
    struct test_stack *st = calloc(n, sizeof(*st));
    size_t off = offsetof(struct test_stack, slot);
    unsigned me = k23_port_hosted_cpu_id_();
    cr_assert_eq(pop(st, sizeof(*st), n, off), K23_PORT_PCPU_NONE);
    for (uint64_t i = 1; i <= 3; i++)
        cr_assert(push(st, sizeof(*st), n, off, 3, i * 11));
    cr_assert_not(push(st, sizeof(*st), n, off, 3, 99));
    cr_assert_eq(st[me].hdr.count, 3);
    /* each push uncounts one value in transit, in its commit */
    cr_assert_eq(transit_of(&st[me].hdr), -3);
    cr_assert_eq(st[me].slot[0], 11);
    cr_assert_eq(st[me].slot[2], 33);
    for (unsigned i = 0; i < n; i++)
        if (i != me)
            cr_assert_eq(st[i].hdr.count, 0);

    k23_port_pcpu_fence(&st[me].hdr, me);
    cr_assert_eq(pop(st, sizeof(*st), n, off), K23_PORT_PCPU_NONE);
    cr_assert_not(push(st, sizeof(*st), n, off, 4, 5));
    k23_port_pcpu_unfence(&st[me].hdr);
    cr_assert_eq(st[me].hdr.count, 3);

    cr_assert_eq(pop(st, sizeof(*st), n, off), 33);
    cr_assert(push(st, sizeof(*st), n, off, 4, 0));
    cr_assert_eq(pop(st, sizeof(*st), n, off), 0);
    cr_assert_eq(pop(st, sizeof(*st), n, off), 22);
    cr_assert_eq(pop(st, sizeof(*st), n, off), 11);
    cr_assert_eq(pop(st, sizeof(*st), n, off), K23_PORT_PCPU_NONE);
    /* four pushes uncounted four, four pops counted four; the failed
     * steps changed nothing */
    cr_assert_eq(st[me].hdr.count, 0);
    cr_assert_eq(transit_of(&st[me].hdr), 0);

    /* an array too short for this CPU: always refused */
    cr_assert_not(push(st, sizeof(*st), me, off, 4, 1));
    cr_assert_eq(pop(st, sizeof(*st), me, off), K23_PORT_PCPU_NONE);
    sched_setaffinity(0, sizeof(old), &old);
    free(st);
}

typedef bool (*add_fn)(void *, size_t, unsigned, int32_t);

/* The transit counter step: adds to the calling CPU's counter only,
 * modulo 2^16, leaves count alone, refused when fenced or beyond the
 * array. */
static void check_add(add_fn add)
{
    cpu_set_t old;
    cr_assert(pin_here(&old));
    unsigned n = k23_port_cpu_count();
    struct test_stack *st = calloc(n, sizeof(*st));
    unsigned me = k23_port_hosted_cpu_id_();
    st[me].hdr.count = 2;
    cr_assert(add(st, sizeof(*st), n, 5));
    cr_assert_eq(transit_of(&st[me].hdr), 5);
    cr_assert(add(st, sizeof(*st), n, -7));
    cr_assert_eq(transit_of(&st[me].hdr), -2);
    cr_assert_eq(st[me].hdr.count, 2);
    for (unsigned i = 0; i < n; i++)
        if (i != me)
            cr_assert_eq(transit_of(&st[i].hdr), 0);
    k23_port_pcpu_fence(&st[me].hdr, me);
    cr_assert_not(add(st, sizeof(*st), n, 1));
    k23_port_pcpu_unfence(&st[me].hdr);
    cr_assert_not(add(st, sizeof(*st), me, 1));
    cr_assert(add(st, sizeof(*st), n, 2));
    cr_assert_eq(transit_of(&st[me].hdr), 0);
    /* past 16 bits: the counter is 48 bits wide */
    for (int i = 0; i < 3; i++)
        cr_assert(add(st, sizeof(*st), n, 30000));
    cr_assert_eq(transit_of(&st[me].hdr), 90000);
    cr_assert(add(st, sizeof(*st), n, -32768));
    cr_assert(add(st, sizeof(*st), n, -32768));
    cr_assert(add(st, sizeof(*st), n, -24464));
    cr_assert_eq(transit_of(&st[me].hdr), 0);
    cr_assert_eq(st[me].hdr.count, 2);
    sched_setaffinity(0, sizeof(old), &old);
    free(st);
}

#ifdef HAVE_SYS_RSEQ_H
/* The fast path needs glibc's rseq area: with glibc's registration off
 * (GLIBC_TUNABLES=glibc.pthread.rseq=0, as for a program that registers
 * rseq itself) the probe must say no, and the library takes its locks.
 * ctest runs this file so as test_port_hosted_glibc_without_rseq. */
Test(port_hosted, no_fast_path_without_glibc_rseq)
{
    if (__rseq_size != 0)
        cr_skip_test("glibc registered rseq here");
    cr_assert_not(k23_port_pcpu_fast());
    unsigned n = k23_port_cpu_count();
    for (int i = 0; i < 100; i++)
        cr_assert_lt(k23_port_hosted_cpu_id_(), n);
}
#endif

#ifdef SYS_membarrier /* MEMBARRIER_CMD_*: an enum of linux/membarrier.h */
/* The fences need membarrier's rseq commands (Linux 5.10): where the
 * kernel or a seccomp policy refuses them the probe must say no. ctest
 * runs this file so as test_port_hosted_no_membarrier, under a filter
 * that fails every membarrier() (tests/ports/hosted/no_membarrier.c). */
Test(port_hosted, no_fast_path_without_membarrier_rseq)
{
    long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (q >= 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ))
        cr_skip_test("membarrier has the rseq commands here");
    cr_assert_not(k23_port_pcpu_fast());
}
#endif

Test(port_hosted, pcpu_add_counts_on_the_calling_cpu)
{
    if (!k23_port_pcpu_fast())
        cr_skip_test("the port has no CPU-local fast path here");
    check_add(k23_port_pcpu_add);
#ifdef K23_PORT_PCPU_INLINE
    check_add(k23_port_pcpu_add_inline);
#endif
}

typedef int (*flip_fn)(const k23_port_pcpu_hdr_t *, unsigned, uint64_t *,
                       uint64_t, uint64_t);

/* A flip runs only on its CPU, with that CPU's stack not fenced, and
 * flips only bits that read as expected; bits outside the mask stay. */
static void check_flip(flip_fn flip)
{
    cpu_set_t old;
    cr_assert(pin_here(&old));
    unsigned n = k23_port_cpu_count();
    struct test_stack *st = calloc(n, sizeof(*st));
    unsigned me = k23_port_hosted_cpu_id_();
    uint64_t w = UINT64_C(0x8000000000000100);
    cr_assert_eq(flip(&st[me].hdr, me, &w, 0x5, 0), K23_PORT_FLIP_DONE);
    cr_assert_eq(w, UINT64_C(0x8000000000000105));
    cr_assert_eq(flip(&st[me].hdr, me, &w, 0x3, 0), K23_PORT_FLIP_MISMATCH);
    cr_assert_eq(flip(&st[me].hdr, me, &w, 0x3, 0x3),
                 K23_PORT_FLIP_MISMATCH);
    cr_assert_eq(w, UINT64_C(0x8000000000000105));
    cr_assert_eq(flip(&st[me].hdr, me, &w, UINT64_C(0x8000000000000001),
                      UINT64_C(0x8000000000000001)),
                 K23_PORT_FLIP_DONE);
    cr_assert_eq(w, UINT64_C(0x104));
    /* another CPU's step: not here */
    unsigned other = (me + 1) % (n > 1 ? n : 2);
    cr_assert_eq(flip(&st[me].hdr, other, &w, 0x4, 0x4),
                 K23_PORT_FLIP_ELSEWHERE);
    cr_assert_eq(w, UINT64_C(0x104));
    /* fenced: not now */
    k23_port_pcpu_fence(&st[me].hdr, me);
    cr_assert_eq(flip(&st[me].hdr, me, &w, 0x4, 0x4),
                 K23_PORT_FLIP_ELSEWHERE);
    k23_port_pcpu_unfence(&st[me].hdr);
    cr_assert_eq(w, UINT64_C(0x104));
    cr_assert_eq(flip(&st[me].hdr, me, &w, 0x4, 0x4), K23_PORT_FLIP_DONE);
    cr_assert_eq(w, UINT64_C(0x100));
    sched_setaffinity(0, sizeof(old), &old);
    free(st);
}

Test(port_hosted, pcpu_flip_runs_only_on_its_cpu_unfenced)
{
    if (!k23_port_pcpu_fast())
        cr_skip_test("the port has no CPU-local fast path here");
    check_flip(k23_port_pcpu_flip);
#ifdef K23_PORT_PCPU_INLINE
    check_flip(k23_port_pcpu_flip_inline);
#endif
}

/* The hooks themselves on a small per-CPU array. */
Test(port_hosted, pcpu_hooks_are_a_bounded_lifo_per_cpu)
{
    if (!k23_port_pcpu_fast())
        cr_skip_test("the port has no CPU-local fast path here");
    check_hooks(k23_port_pcpu_pop, k23_port_pcpu_push);
}

#ifdef K23_PORT_PCPU_INLINE
/* The port's inline steps, with a constant slot offset. */
Test(port_hosted, inline_pcpu_steps_are_a_bounded_lifo_per_cpu)
{
    if (!k23_port_pcpu_fast())
        cr_skip_test("the port has no CPU-local fast path here");
    check_hooks(inline_pop, inline_push);
}
#endif

