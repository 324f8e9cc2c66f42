/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The hosted port: libk23mem on a POSIX system (Linux first), with
 * pthreads, sched_getcpu, and mmap/mprotect/madvise for the virtual-memory
 * hooks. "Physical" memory is process memory: phys == virt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "k23mem/port.h"
#include "k23mem/perm.h"
#include "k23_port_config.h"
#include "k23_port_hosted_test.h"

/* ---- locking ---- */

/*
 * The lock word holds its owner's tag (0 when free), so that acquiring is
 * one compare-and-swap, releasing one release store, and
 * k23_port_lock_held() stays exact without a second field to keep up to
 * date. The tag is the thread pointer where the compiler can read it (one
 * register move, distinct for every live thread); elsewhere it is the
 * address of an initial-exec thread-local byte.
 */
#ifdef K23_PORT_LOCK_INLINE
/* the tag and lock layout shared with the inline steps of
 * k23_port_config.h */
#define HOSTED_HAVE_TP 1
static inline uintptr_t hosted_thread_tag(void)
{
    return k23_port_hosted_thread_tag_();
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

/* The real lock, kept in k23_port_lock_t's opaque bytes (the public type
 * is the same on every port). All-zero bytes are a free lock. */
typedef struct __attribute__((may_alias)) hosted_lock {
    uintptr_t owner; /* owner's thread tag, 0 when free; __atomic only */
} hosted_lock_t;
K23_PORT_LOCK_FITS(hosted_lock_t);

static inline hosted_lock_t *hosted_lock(k23_port_lock_t *l)
{
    return (hosted_lock_t *)(void *)l->opaque;
}

/* The lock hooks are the capability's primitives: the analysis cannot see
 * inside them (K23_NO_THREAD_SAFETY_ANALYSIS), only their declarations. */
K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_init(k23_port_lock_t *l)
{
    __atomic_store_n(&hosted_lock(l)->owner, 0, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static void hosted_lock_slow(hosted_lock_t *l,
                                                       uintptr_t me)
{
    unsigned spins = 0;
    for (;;) {
        /* Wait on a plain load, not the CAS, to keep the line shared;
         * yield after a while because the holder may be descheduled. */
        while (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) != 0) {
            if (++spins > 64)
                sched_yield();
#if defined(__x86_64__) || defined(__i386__)
            else
                __builtin_ia32_pause();
#endif
        }
        uintptr_t expected = 0;
        if (__atomic_compare_exchange_n(&l->owner, &expected, me, true,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
    }
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_acquire(k23_port_lock_t *pl)
{
    hosted_lock_t *l = hosted_lock(pl);
    uintptr_t me = hosted_thread_tag();
    uintptr_t expected = 0;
    if (__builtin_expect(__atomic_compare_exchange_n(&l->owner, &expected, me, false,
                                                 __ATOMIC_ACQUIRE,
                                                 __ATOMIC_RELAXED),
                         1))
        return;
    hosted_lock_slow(l, me);
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_release(k23_port_lock_t *l)
{
    __atomic_store_n(&hosted_lock(l)->owner, 0, __ATOMIC_RELEASE);
}

bool k23_port_lock_held(const k23_port_lock_t *l)
{
    const hosted_lock_t *h = (const hosted_lock_t *)(const void *)l->opaque;
    return __atomic_load_n(&h->owner, __ATOMIC_RELAXED) == hosted_thread_tag();
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

/* The CPU the caller runs on now (a hint: nothing pins the thread). */
static inline unsigned hosted_cpu_id(void)
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
    return hosted_cpu_id();
}

unsigned k23_port_hosted_cpu_id_(void)
{
    return hosted_cpu_id();
}

void k23_port_cpu_local_exit(unsigned cpu)
{
    (void)cpu;
}

/* ---- CPU-local stacks: rseq restartable sequences ---- */

/*
 * On x86_64 Linux the pop and push hooks are rseq critical sections: the
 * thread stores the address of a `struct rseq_cs` descriptor into its
 * rseq area, then reads its CPU id, finds that CPU's stack, checks the
 * fence flag and the count, and ends with one add to the 32-bit word that
 * holds `count` and `transit` (the commit). If the kernel preempts, migrates or signals the thread before
 * the commit, it resumes it at the abort handler instead, which starts
 * over; so a step either commits on the CPU whose id it read, with no
 * other step on that CPU in between, or has no visible effect (a push
 * may have written the slot above `count`, which nobody reads). A step
 * leaves rseq_cs set when it ends, as the rseq protocol allows: at the
 * thread's next preemption or signal the kernel reads the descriptor,
 * finds the thread outside the sequence and clears rseq_cs itself.
 * Clearing it on every way out cost one store per step (docs/frames.md).
 * The descriptor read then must still be mapped, so the probe pins the
 * object that holds the sequences (hosted_pin_self): once the fast path
 * is on, dlclose() leaves libk23mem.so loaded (tests/ports/hosted/
 * dlclose.c) instead of unmapping descriptors that threads still name.
 *
 * A fence sets the flag, then membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_
 * RSEQ, MEMBARRIER_CMD_FLAG_CPU, cpu) interrupts that CPU if it runs one of
 * our threads, which aborts any sequence in progress there; a sequence
 * that starts after sees the flag (the syscall orders memory on both
 * sides), and one preempted before is aborted when it runs again. So when
 * the fence returns no step can still commit on that stack.
 *
 * ThreadSanitizer cannot see the assembly's accesses nor the ordering
 * membarrier provides, so TSan builds use the locked path.
 */
#if defined(__SANITIZE_THREAD__)
#define HOSTED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HOSTED_TSAN 1
#endif
#endif

#if defined(K23_PORT_PCPU_INLINE) && defined(HOSTED_TSAN)
#error "k23_port_config.h and port.c disagree about ThreadSanitizer"
#endif

#if defined(K23_PORT_PCPU_INLINE)
/* __rseq_offset, copied by the probe (one load instead of two through the
 * GOT in the sequences). */
ptrdiff_t k23_port_hosted_rseq_offset;
#endif

#if defined(HOSTED_HAVE_RSEQ) && defined(K23_PORT_PCPU_INLINE)
#define HOSTED_RSEQ_STACKS 1
#include <dlfcn.h>
#include <link.h>
#include <linux/membarrier.h>

static int hosted_pcpu_state; /* 0 unknown, 1 available, 2 not */

/* The loaded object (the program or a shared object) whose segments hold
 * an address, found with dl_iterate_phdr. */
struct hosted_object {
    uintptr_t addr;
    const char *name; /* "" for the program itself */
    bool found;
};

static int hosted_object_holds(struct dl_phdr_info *info, size_t size,
                               void *arg)
{
    (void)size;
    struct hosted_object *o = arg;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
        if (ph->p_type == PT_LOAD && o->addr - lo < ph->p_memsz) {
            o->name = info->dlpi_name;
            o->found = true;
            return 1;
        }
    }
    return 0;
}

/* Keep the object that holds the rseq descriptors loaded for good: a
 * thread's rseq_cs may name one of them until the thread is next
 * preempted (see above). The program itself is never unloaded; a shared
 * object (libk23mem.so, or a plugin that linked libk23mem.a) is made
 * RTLD_NODELETE. False if that fails: then the fast path stays off.
 * dlopen is looked up, not referenced: in a program linked with -static
 * a reference to it draws a link-time warning (and there the sequences
 * are in the program, which needs no pin). */
static bool hosted_pin_self(void)
{
    struct hosted_object o = {
        .addr = (uintptr_t)&k23_port_hosted_rseq_offset};
    dl_iterate_phdr(hosted_object_holds, &o);
    if (!o.found || o.name == NULL)
        return false;
    if (o.name[0] == '\0')
        return true;
    void *(*open_fn)(const char *, int);
    void *sym = dlsym(RTLD_DEFAULT, "dlopen");
    if (sym == NULL)
        return false;
    memcpy(&open_fn, &sym, sizeof(open_fn));
    return open_fn(o.name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != NULL;
}

static __attribute__((noinline)) bool hosted_pcpu_probe(void)
{
    __atomic_store_n(&k23_port_hosted_rseq_offset, __rseq_offset,
                     __ATOMIC_RELAXED);
    bool ok = __rseq_size != 0 && getenv("K23MEM_NO_RSEQ") == NULL &&
              syscall(SYS_membarrier,
                      MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0,
                      0) == 0 &&
              hosted_pin_self();
    __atomic_store_n(&hosted_pcpu_state, ok ? 1 : 2, __ATOMIC_RELAXED);
    return ok;
}

bool k23_port_pcpu_fast(void)
{
    int st = __atomic_load_n(&hosted_pcpu_state, __ATOMIC_RELAXED);
    return st != 0 ? st == 1 : hosted_pcpu_probe();
}

/* The sequences themselves are inline functions in k23_port_config.h, so
 * that the library's hot paths need no call; these are the out-of-line
 * hooks of the port contract. */
uint64_t k23_port_pcpu_pop(void *base, size_t stride, unsigned ncpus,
                           size_t slots_off)
{
    return k23_port_pcpu_pop_inline(base, stride, ncpus, slots_off);
}

bool k23_port_pcpu_push(void *base, size_t stride, unsigned ncpus,
                        size_t slots_off, uint32_t cap, uint64_t value)
{
    return k23_port_pcpu_push_inline(base, stride, ncpus, slots_off, cap,
                                     value);
}

bool k23_port_pcpu_add(void *base, size_t stride, unsigned ncpus,
                       int32_t delta)
{
    return k23_port_pcpu_add_inline(base, stride, ncpus, delta);
}

int k23_port_pcpu_flip(const k23_port_pcpu_hdr_t *hdr, unsigned cpu,
                       uint64_t *word, uint64_t mask, uint64_t expect)
{
    return k23_port_pcpu_flip_inline(hdr, cpu, word, mask, expect);
}

void k23_port_pcpu_fence(k23_port_pcpu_hdr_t *hdr, unsigned cpu)
{
    __atomic_store_n(&hdr->fenced, 1, __ATOMIC_SEQ_CST);
    long rc = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
                      MEMBARRIER_CMD_FLAG_CPU, (int)cpu);
    if (rc != 0)
        k23_port_panic(__FILE__, __LINE__,
                       "membarrier(PRIVATE_EXPEDITED_RSEQ) failed");
}

void k23_port_pcpu_unfence(k23_port_pcpu_hdr_t *hdr)
{
    __atomic_store_n(&hdr->fenced, 0, __ATOMIC_RELEASE);
}

#else /* no rseq stacks: the library uses its locks */
#include "../common/pcpu_locked.c"
#endif


/* With K23_PORT_HOSTED_ASPACE, vm_aspace.c has the physical-memory, caps,
 * virtual-memory and protection-key hooks instead (over an address
 * space, as a kernel has them); this file keeps the rest. */
#ifndef K23_PORT_HOSTED_ASPACE
/* ---- physical memory ---- */

void *k23_port_phys_to_virt(k23_paddr_t pa)
{
    return (void *)(uintptr_t)pa;
}

k23_paddr_t k23_port_virt_to_phys(const void *va)
{
    return (k23_paddr_t)(uintptr_t)va;
}

static unsigned hosted_pkeys(void); /* memory protection keys, below */

/* ---- capabilities, logging, panic ---- */

void k23_port_caps(k23_port_caps_t *caps)
{
    long page = sysconf(_SC_PAGESIZE);
    caps->page_size = page > 0 ? (size_t)page : 4096;
    caps->alloc_granularity = caps->page_size;
    caps->can_decommit = true;
    caps->can_release = true;
    caps->has_vm = true;
    caps->pkeys_available = hosted_pkeys();
}
#endif /* K23_PORT_HOSTED_ASPACE */

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

#ifndef K23_PORT_HOSTED_ASPACE
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
    if (out == NULL || size == 0 || (size & (page - 1)) != 0 || align < page ||
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

/* A commit or decommit range: page-aligned start and size, no wrap. */
static bool hosted_vm_range_ok(const void *addr, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)addr, end;
    return (a & (page - 1)) == 0 && (size & (page - 1)) == 0 &&
           !__builtin_add_overflow(a, size, &end);
}

/* Whether every page of a page-aligned range is mapped: mincore() fails
 * with ENOMEM on any that is not (asked a chunk at a time, to keep its
 * answer vector on the stack). */
static bool hosted_vm_mapped(void *addr, size_t size)
{
    unsigned char vec[256];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *p = addr;
    while (size != 0) {
        size_t chunk = size < sizeof(vec) * page ? size : sizeof(vec) * page;
        if (mincore(p, chunk, vec) != 0 && errno == ENOMEM)
            return false;
        p += chunk;
        size -= chunk;
    }
    return true;
}

/* mprotect() and madvise() say ENOMEM both for a range that is not
 * mapped (not inside any reservation: the caller's mistake) and for a
 * kernel out of memory (too many mappings): tell them apart. */
static int hosted_vm_error(void *addr, size_t size, int e)
{
    if (e == ENOMEM)
        return hosted_vm_mapped(addr, size) ? K23_ERR_NOMEM : K23_ERR_INVAL;
    return e == EINVAL ? K23_ERR_INVAL : K23_ERR_OS;
}

int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm)
{
    if (!hosted_vm_range_ok(addr, size))
        return K23_ERR_INVAL;
    if (size == 0)
        return K23_OK;
    if (mprotect(addr, size, hosted_prot(perm)) != 0)
        return hosted_vm_error(addr, size, errno);
    return K23_OK;
}

int k23_port_vm_decommit(void *addr, size_t size)
{
    if (!hosted_vm_range_ok(addr, size))
        return K23_ERR_INVAL;
    if (size == 0)
        return K23_OK;
    /* MADV_DONTNEED on private anonymous memory drops the pages: the next
     * touch after recommit sees zero-filled pages. */
    if (madvise(addr, size, MADV_DONTNEED) != 0 ||
        mprotect(addr, size, PROT_NONE) != 0)
        return hosted_vm_error(addr, size, errno);
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

/*
 * One probe, run once, decides how many keys this host can give out; the
 * capabilities and every key hook answer from it, so they cannot disagree.
 * The probe allocates keys until the kernel refuses, then frees them: any
 * refusal of the first allocation means "no keys", whatever errno says
 * (EINVAL or ENOSYS where the CPU or kernel has none; Linux 6.18 on a CPU
 * without PKU says EINVAL once and ENOSPC on every later call). While it
 * runs, other threads' pkey_alloc() may briefly find no key free.
 *
 * The system calls go through hosted_pkey_sys so that tests can stand in
 * for the kernel (k23_port_hosted_pkey_inject_()).
 */
#define HOSTED_PKEYS_MAX 64 /* more than any CPU has (x86 16, POWER 32) */

static int hosted_sys_pkey_alloc(void)
{
#ifdef SYS_pkey_alloc
    return (int)syscall(SYS_pkey_alloc, 0UL, 0UL);
#else
    errno = ENOSYS;
    return -1;
#endif
}

static int hosted_sys_pkey_free(int key)
{
#ifdef SYS_pkey_free
    return (int)syscall(SYS_pkey_free, (long)key);
#else
    (void)key;
    errno = ENOSYS;
    return -1;
#endif
}

static int hosted_sys_pkey_mprotect(void *addr, size_t size, int prot,
                                    int key)
{
#ifdef SYS_pkey_mprotect
    return (int)syscall(SYS_pkey_mprotect, addr, size, (long)prot,
                        (long)key);
#else
    (void)addr; (void)size; (void)prot; (void)key;
    errno = ENOSYS;
    return -1;
#endif
}

static const k23_port_hosted_pkey_sys_t hosted_pkey_sys_real = {
    hosted_sys_pkey_alloc, hosted_sys_pkey_free, hosted_sys_pkey_mprotect};

static const k23_port_hosted_pkey_sys_t *hosted_pkey_sys =
    &hosted_pkey_sys_real;
static k23_port_lock_t hosted_pkey_lock; /* all zero: initialized, free */
static int hosted_pkeys_cached = -1;     /* -1: not probed yet */

static unsigned hosted_pkeys_count(void)
{
    int keys[HOSTED_PKEYS_MAX];
    unsigned n = 0;
    while (n < HOSTED_PKEYS_MAX && (keys[n] = hosted_pkey_sys->alloc()) >= 0)
        n++;
    for (unsigned i = 0; i < n; i++)
        hosted_pkey_sys->free(keys[i]);
    return n;
}

static __attribute__((noinline)) unsigned hosted_pkeys_probe(void)
{
    k23_port_lock_acquire(&hosted_pkey_lock);
    int n = __atomic_load_n(&hosted_pkeys_cached, __ATOMIC_RELAXED);
    if (n < 0) {
        n = (int)hosted_pkeys_count();
        __atomic_store_n(&hosted_pkeys_cached, n, __ATOMIC_RELEASE);
    }
    k23_port_lock_release(&hosted_pkey_lock);
    return (unsigned)n;
}

/* Keys this host can give out, from the one probe. */
static unsigned hosted_pkeys(void)
{
    int n = __atomic_load_n(&hosted_pkeys_cached, __ATOMIC_ACQUIRE);
    return n >= 0 ? (unsigned)n : hosted_pkeys_probe();
}

void k23_port_hosted_pkey_inject_(const k23_port_hosted_pkey_sys_t *sys)
{
    k23_port_lock_acquire(&hosted_pkey_lock);
    hosted_pkey_sys = sys != NULL ? sys : &hosted_pkey_sys_real;
    __atomic_store_n(&hosted_pkeys_cached, -1, __ATOMIC_RELEASE);
    k23_port_lock_release(&hosted_pkey_lock);
}

int k23_port_pkey_alloc(unsigned *out)
{
    if (out == NULL)
        return K23_ERR_INVAL;
    if (hosted_pkeys() == 0)
        return K23_ERR_UNSUPPORTED;
    int key = hosted_pkey_sys->alloc();
    if (key < 0)
        return errno == ENOSPC ? K23_ERR_NOMEM : K23_ERR_OS;
    *out = (unsigned)key;
    return K23_OK;
}

void k23_port_pkey_free(unsigned key)
{
    /* Without keys, none was ever handed out: nothing to give back. */
    if (hosted_pkeys() != 0)
        hosted_pkey_sys->free((int)key);
}

int k23_port_pkey_protect(void *addr, size_t size, k23_perm_t perm,
                          unsigned key)
{
    if (hosted_pkeys() == 0)
        return K23_ERR_UNSUPPORTED;
    if (key > INT_MAX)
        return K23_ERR_INVAL;
    /* The host has keys: EINVAL is a key not allocated or a bad address;
     * ENOMEM is read as for a commit. */
    if (hosted_pkey_sys->mprotect(addr, size, hosted_prot(perm), (int)key) != 0)
        return hosted_vm_error(addr, size, errno);
    return K23_OK;
}

#endif /* K23_PORT_HOSTED_ASPACE */

/* ---- MMU: recorded, not performed (no MMU to program from user space) ---- */

static k23_hosted_mmu_log_t hosted_mmu_log;

k23_hosted_mmu_log_t *k23_hosted_mmu_log(void)
{
    return &hosted_mmu_log;
}

int k23_port_mmu_activate(unsigned reg, uint64_t value)
{
    hosted_mmu_log.activate_calls++;
    hosted_mmu_log.reg = reg;
    hosted_mmu_log.value = value;
    return K23_OK;
}

void k23_port_tlb_flush(unsigned arch, uint32_t asid, const uint64_t *va,
                        size_t n, uint32_t flags)
{
    hosted_mmu_log.flush_calls++;
    hosted_mmu_log.arch = arch;
    hosted_mmu_log.asid = asid;
    hosted_mmu_log.flags = flags;
    hosted_mmu_log.n = n;
    for (size_t i = 0; i < n && i < 64; i++)
        hosted_mmu_log.va[i] = va[i];
    hosted_mmu_log.entries_total += n;
}
