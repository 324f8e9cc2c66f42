/*
 * The hosted port: libk23mem on a POSIX system (Linux first), with
 * pthreads, sched_getcpu, and mmap/mprotect/madvise for the virtual-memory
 * hooks. "Physical" memory is process memory: phys == virt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "k23mem/port.h"
#include "k23mem/perm.h"

/* ---- locking ---- */

/*
 * The lock word holds its owner's tag (0 when free), so that acquiring is
 * one compare-and-swap, releasing one release store, and
 * k23_port_lock_held() stays exact without a second field to keep up to
 * date. The tag is the thread pointer where the compiler can read it (one
 * register move, distinct for every live thread); elsewhere it is the
 * address of an initial-exec thread-local byte.
 */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv)
#define HOSTED_HAVE_TP 1
static inline uintptr_t hosted_thread_tag(void)
{
    return (uintptr_t)__builtin_thread_pointer();
}
#else
#define HOSTED_HAVE_TP 0
static _Thread_local char hosted_tag_byte
    __attribute__((tls_model("initial-exec")));
static inline uintptr_t hosted_thread_tag(void)
{
    return (uintptr_t)&hosted_tag_byte;
}
#endif

void k23_port_lock_init(k23_port_lock_t *l)
{
    atomic_init(&l->owner, 0);
}

__attribute__((noinline)) static void hosted_lock_slow(k23_port_lock_t *l,
                                                       uintptr_t me)
{
    unsigned spins = 0;
    for (;;) {
        /* Wait on a plain load, not the CAS, to keep the line shared;
         * yield after a while because the holder may be descheduled. */
        while (atomic_load_explicit(&l->owner, memory_order_relaxed) != 0) {
            if (++spins > 64)
                sched_yield();
#if defined(__x86_64__) || defined(__i386__)
            else
                __builtin_ia32_pause();
#endif
        }
        uintptr_t expected = 0;
        if (atomic_compare_exchange_weak_explicit(&l->owner, &expected, me,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
}

void k23_port_lock_acquire(k23_port_lock_t *l)
{
    uintptr_t me = hosted_thread_tag();
    uintptr_t expected = 0;
    if (__builtin_expect(atomic_compare_exchange_strong_explicit(
                             &l->owner, &expected, me, memory_order_acquire,
                             memory_order_relaxed),
                         1))
        return;
    hosted_lock_slow(l, me);
}

void k23_port_lock_release(k23_port_lock_t *l)
{
    atomic_store_explicit(&l->owner, 0, memory_order_release);
}

bool k23_port_lock_held(const k23_port_lock_t *l)
{
    return atomic_load_explicit(&((k23_port_lock_t *)l)->owner,
                                memory_order_relaxed) == hosted_thread_tag();
}

/* ---- CPUs ---- */

static unsigned hosted_cpu_count_cached;

static __attribute__((noinline)) unsigned hosted_cpu_count_slow(void)
{
    long c = sysconf(_SC_NPROCESSORS_CONF);
    unsigned n = c > 0 ? (unsigned)c : 1;
    __atomic_store_n(&hosted_cpu_count_cached, n, __ATOMIC_RELAXED);
    return n;
}

unsigned k23_port_cpu_count(void)
{
    unsigned n = __atomic_load_n(&hosted_cpu_count_cached, __ATOMIC_RELAXED);
    return __builtin_expect(n != 0, 1) ? n : hosted_cpu_count_slow();
}

/* sched_getcpu can fail (ENOSYS) or, in odd containers, name a CPU at or
 * above the configured count: fold it into range rather than fail. */
static __attribute__((noinline)) unsigned hosted_cpu_id_slow(void)
{
    int c = sched_getcpu();
    unsigned n = k23_port_cpu_count();
    return c < 0 ? 0 : (unsigned)c % n;
}

#if HOSTED_HAVE_TP && defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define HOSTED_HAVE_RSEQ 1
#endif
#endif

unsigned k23_port_cpu_id(void)
{
#ifdef HOSTED_HAVE_RSEQ
    /* glibc (2.35+) registers an rseq area for every thread; the kernel
     * keeps its cpu_id current, so reading it is one thread-local load
     * instead of a vDSO call or syscall. __rseq_size is 0 when glibc could
     * not register (old kernel, GLIBC_TUNABLES=glibc.pthread.rseq=0). */
    if (__builtin_expect(__rseq_size != 0, 1)) {
        const struct rseq *r =
            (const struct rseq *)((char *)__builtin_thread_pointer() +
                                  __rseq_offset);
        unsigned c = __atomic_load_n(&r->cpu_id, __ATOMIC_RELAXED);
        unsigned n = __atomic_load_n(&hosted_cpu_count_cached,
                                     __ATOMIC_RELAXED);
        /* cpu_id is (uint32_t)-1/-2 before registration or on failure. */
        if (__builtin_expect(c < n, 1))
            return c;
    }
#endif
    return hosted_cpu_id_slow();
}

unsigned k23_port_cpu_local_enter(void)
{
    /* A thread cannot be pinned here: the library guards per-CPU data with
     * a per-CPU lock, so a migration after this call costs speed only. */
    return k23_port_cpu_id();
}

void k23_port_cpu_local_exit(unsigned cpu)
{
    (void)cpu;
}

/* ---- physical memory ---- */

void *k23_port_phys_to_virt(k23_paddr_t pa)
{
    return (void *)(uintptr_t)pa;
}

k23_paddr_t k23_port_virt_to_phys(const void *va)
{
    return (k23_paddr_t)(uintptr_t)va;
}

/* ---- capabilities, logging, panic ---- */

static int hosted_pkeys_probe(void)
{
#ifdef SYS_pkey_alloc
    long key = syscall(SYS_pkey_alloc, 0UL, 0UL);
    if (key < 0)
        return 0; /* EINVAL or ENOSYS: this CPU or kernel has no keys */
    syscall(SYS_pkey_free, key);
    return 15; /* x86 has 16 keys; key 0 is the default */
#else
    return 0;
#endif
}

void k23_port_caps(k23_port_caps_t *caps)
{
    static int pkeys = -1;
    long page = sysconf(_SC_PAGESIZE);
    if (__atomic_load_n(&pkeys, __ATOMIC_RELAXED) < 0)
        __atomic_store_n(&pkeys, hosted_pkeys_probe(), __ATOMIC_RELAXED);
    caps->page_size = page > 0 ? (size_t)page : 4096;
    caps->alloc_granularity = caps->page_size;
    caps->can_decommit = true;
    caps->can_release = true;
    caps->has_vm = true;
    caps->pkeys_available = (unsigned)__atomic_load_n(&pkeys, __ATOMIC_RELAXED);
}

static const char *const hosted_level_names[] = {"error", "warn", "info",
                                                 "debug"};

void k23_port_log(int level, const char *msg)
{
    const char *name = level >= 0 && level <= 3 ? hosted_level_names[level]
                                                : "log";
    fprintf(stderr, "k23mem %s: %s\n", name, msg);
}

void k23_port_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "k23mem panic at %s:%d: %s\n", file, line, msg);
    fflush(stderr);
    abort();
}

/* ---- virtual memory ---- */

static size_t hosted_reserved_bytes;

static int hosted_prot(k23_perm_t perm)
{
    int prot = PROT_NONE;
    if (perm & K23_PERM_READ)
        prot |= PROT_READ;
    if (perm & K23_PERM_WRITE)
        prot |= PROT_WRITE;
    if (perm & K23_PERM_EXECUTE)
        prot |= PROT_EXEC;
    return prot;
}

static int hosted_errno_to_k23(int e)
{
    return e == ENOMEM ? K23_ERR_NOMEM : K23_ERR_OS;
}

int k23_port_vm_reserve(size_t size, size_t align, void **out)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size == 0 || (size & (page - 1)) != 0 || align < page ||
        (align & (align - 1)) != 0)
        return K23_ERR_INVAL;
    /* Over-reserve by align - page, then trim both ends to the aligned
     * window: mmap itself only promises page alignment. */
    size_t extra = align - page;
    size_t total;
    if (__builtin_add_overflow(size, extra, &total))
        return K23_ERR_NOMEM;
    void *p = mmap(NULL, total, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return hosted_errno_to_k23(errno);
    uintptr_t start = (uintptr_t)p;
    uintptr_t aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = aligned - start;
    size_t tail = total - head - size;
    if (head != 0)
        munmap(p, head);
    if (tail != 0)
        munmap((void *)(aligned + size), tail);
    __atomic_add_fetch(&hosted_reserved_bytes, size, __ATOMIC_RELAXED);
    *out = (void *)aligned;
    return K23_OK;
}

int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm)
{
    if (size == 0)
        return K23_OK;
    if (mprotect(addr, size, hosted_prot(perm)) != 0)
        return hosted_errno_to_k23(errno);
    return K23_OK;
}

int k23_port_vm_decommit(void *addr, size_t size)
{
    if (size == 0)
        return K23_OK;
    /* MADV_DONTNEED on private anonymous memory drops the pages: the next
     * touch after recommit sees zero-filled pages. */
    if (madvise(addr, size, MADV_DONTNEED) != 0)
        return K23_ERR_OS;
    if (mprotect(addr, size, PROT_NONE) != 0)
        return K23_ERR_OS;
    return K23_OK;
}

int k23_port_vm_release(void *addr, size_t size)
{
    if (munmap(addr, size) != 0)
        return K23_ERR_OS;
    __atomic_sub_fetch(&hosted_reserved_bytes, size, __ATOMIC_RELAXED);
    return K23_OK;
}

size_t k23_port_vm_reserved_bytes(void)
{
    return __atomic_load_n(&hosted_reserved_bytes, __ATOMIC_RELAXED);
}

/* ---- memory protection keys ---- */

int k23_port_pkey_alloc(unsigned *out)
{
#ifdef SYS_pkey_alloc
    long key = syscall(SYS_pkey_alloc, 0UL, 0UL);
    if (key < 0)
        return errno == ENOSPC ? K23_ERR_NOMEM : K23_ERR_UNSUPPORTED;
    *out = (unsigned)key;
    return K23_OK;
#else
    (void)out;
    return K23_ERR_UNSUPPORTED;
#endif
}

void k23_port_pkey_free(unsigned key)
{
#ifdef SYS_pkey_free
    syscall(SYS_pkey_free, (long)key);
#else
    (void)key;
#endif
}

int k23_port_pkey_protect(void *addr, size_t size, k23_perm_t perm,
                          unsigned key)
{
#ifdef SYS_pkey_mprotect
    if (syscall(SYS_pkey_mprotect, addr, size, hosted_prot(perm), (long)key) != 0)
        return errno == ENOSYS || errno == EINVAL ? K23_ERR_UNSUPPORTED
                                                  : K23_ERR_OS;
    return K23_OK;
#else
    (void)addr; (void)size; (void)perm; (void)key;
    return K23_ERR_UNSUPPORTED;
#endif
}
