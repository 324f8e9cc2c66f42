#define _GNU_SOURCE /* sched_getcpu, CPU_SET */
#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/perm.h"
#include "k23mem/port.h"

TestSuite(port_hosted);

Test(port_hosted, cpu_ids_are_below_the_cpu_count)
{
    unsigned n = k23_port_cpu_count();
    cr_assert_geq(n, 1);
    for (int i = 0; i < 1000; i++) {
        cr_assert_lt(k23_port_cpu_id(), n);
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
    cr_assert_eq(k23_port_vm_reserve(SIZE_MAX & ~(size_t)0xfff, 1u << 30, &p), K23_ERR_NOMEM);
}

Test(port_hosted, uncommitted_reservation_faults, .signal = SIGSEGV)
{
    void *p;
    cr_assert_eq(k23_port_vm_reserve(65536, 4096, &p), K23_OK);
    *(volatile char *)p = 1;
}

Test(port_hosted, protection_keys_match_the_capabilities)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    unsigned key = 1234;
    int err = k23_port_pkey_alloc(&key);
    if (caps.pkeys_available == 0) {
        cr_log_info("no memory protection keys on this host: alloc must say so");
        cr_assert_eq(err, K23_ERR_UNSUPPORTED);
        cr_assert_eq(key, 1234);
    } else {
        cr_assert_eq(err, K23_OK);
        k23_port_pkey_free(key);
    }
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

/* The thread's rseq_cs: the steps must leave it 0 however they end, or
 * the kernel would go on reading a descriptor inside the library (after
 * dlclose(), unmapped memory). */
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

static pop_fn hook_pop;
static push_fn hook_push;

static uint64_t pop(void *base, size_t stride, unsigned n, size_t off)
{
    uint64_t v = hook_pop(base, stride, n, off);
    cr_assert_eq(rseq_cs_now(), 0, "pop left rseq_cs set");
    return v;
}

static bool push(void *base, size_t stride, unsigned n, size_t off,
                 uint32_t cap, uint64_t v)
{
    bool ok = hook_push(base, stride, n, off, cap, v);
    cr_assert_eq(rseq_cs_now(), 0, "push left rseq_cs set");
    return ok;
}

/* LIFO order, the capacity bound, empty, the fence, and CPUs beyond the
 * array, through one pair of hooks; after each step, success or not,
 * rseq_cs is clear. */
static void check_hooks(pop_fn pop_hook, push_fn push_hook)
{
    hook_pop = pop_hook;
    hook_push = push_hook;
    cpu_set_t old;
    cr_assert(pin_here(&old));
    unsigned n = k23_port_cpu_count();
    struct test_stack *st = calloc(n, sizeof(*st));
    size_t off = offsetof(struct test_stack, slot);
    unsigned me = k23_port_cpu_id();
    cr_assert_eq(pop(st, sizeof(*st), n, off), K23_PORT_PCPU_NONE);
    for (uint64_t i = 1; i <= 3; i++)
        cr_assert(push(st, sizeof(*st), n, off, 3, i * 11));
    cr_assert_not(push(st, sizeof(*st), n, off, 3, 99));
    cr_assert_eq(st[me].hdr.count, 3);
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

    /* an array too short for this CPU: always refused */
    cr_assert_not(push(st, sizeof(*st), me, off, 4, 1));
    cr_assert_eq(pop(st, sizeof(*st), me, off), K23_PORT_PCPU_NONE);
    sched_setaffinity(0, sizeof(old), &old);
    free(st);
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

