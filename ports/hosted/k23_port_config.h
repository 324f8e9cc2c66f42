/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Private configuration of the hosted (POSIX) port: included by the
 * library's sources (src/internal.h) and the port, never installed and
 * never included by the public headers, so nothing here can change what a
 * program sees. The lock type is private to port.c.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#include <stdint.h>

/** Name of this port, for logs. */
#define K23_PORT_NAME "hosted"

/*
 * The CPU-local stack steps of port.h as inline rseq critical sections
 * (x86_64 Linux, glibc 2.35+; not under ThreadSanitizer, which cannot see
 * them). The library calls these on its hot paths instead of
 * k23_port_pcpu_pop()/k23_port_pcpu_push(), only when
 * k23_port_pcpu_fast() said yes. See ports/hosted/port.c for the protocol.
 *
 * The thread's `struct rseq` (fixed kernel ABI: cpu_id at byte 4,
 * rseq_cs at byte 8) is at the thread pointer plus glibc's __rseq_offset,
 * which the port copies to k23_port_hosted_rseq_offset.
 */
#if defined(__SANITIZE_THREAD__)
#define K23_PORT_HOSTED_TSAN_ 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define K23_PORT_HOSTED_TSAN_ 1
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && !defined(K23_PORT_HOSTED_TSAN_)
#include <stdbool.h>
#include <stddef.h>

/** The port has inline versions of the CPU-local stack steps. */
#define K23_PORT_PCPU_INLINE 1

#ifdef __cplusplus
extern "C" {
#endif
/** glibc's __rseq_offset, copied by k23_port_pcpu_fast(); private.
 *  Hidden: the library and programs linked with it statically read it
 *  with one PC-relative load. */
extern __attribute__((visibility("hidden"))) ptrdiff_t
    k23_port_hosted_rseq_offset;
#ifdef __cplusplus
}
#endif

/* glibc's rseq signature for x86, the 4 bytes before every abort handler,
 * emitted as the operand of a `ud1` so that the bytes decode as one
 * instruction. */
#define K23_PORT_RSEQ_SIG_BYTES_ \
    ".byte 0x0f, 0xb9, 0x3d\n\t.long 0x53053053\n\t"

/* The sequences address the thread's struct rseq as %fs:off (x86_64's
 * thread pointer is the %fs base): t0 = this CPU's header, t1 = its
 * count; push's result is ZF (set: failed). Each step changes the 64-bit
 * word holding count (bits 0-15) and transit (bits 16-63) by a constant:
 * a pop by 0xffff (count - 1 with a carry into transit: count >= 1
 * there), a push by 1 - 0x10000 (count + 1, transit - 1; count + 1 <= cap
 * never carries), an add by delta << 16. A pop or push loads the whole
 * word into t2 once, takes count from the register and commits with one
 * store of the word plus its constant: each step then reads what the last
 * one stored with a load of the same width. A 2-byte load of count and
 * an add to the word in memory (a load of a wider store's bytes, then a
 * second load and a store) made the object caches' alloc+free pair
 * slower on Intel Cascade Lake (docs/kmem.md). An add, which the frame
 * allocator calls rarely, adds in memory. The commit path runs straight
 * through to the end of the sequence with no taken jump; the failure exits
 * and the abort handler live in .text.unlikely. No way out clears rseq_cs:
 * the kernel does, at the thread's next preemption or signal, when it
 * finds the thread outside the sequence (Linux's rseq protocol; librseq's
 * sequences leave it set too). The descriptor it then reads must still be
 * mapped, so the port pins the object that holds it (port.c,
 * hosted_pin_self). When slots_off is a
 * compile-time constant (every call in the library) the slot is addressed
 * with it as a displacement; otherwise it is added and taken back around
 * the slot access. stride and cap are immediates when constant (a
 * push's cap takes no register then) and ncpus may stay in memory, so the
 * sequences need four registers of their own and the library's hot
 * paths spill no callee-saved ones. */
#define K23_PORT_RSEQ_HEAD_(EXIT)                                             \
    ".pushsection __rseq_cs, \"aw\"\n\t"                                      \
    ".balign 32\n"                                                            \
    "3:\n\t"                                                                  \
    ".long 0, 0\n\t"                                                          \
    ".quad 1f, 2f - 1f, 4f\n\t"                                               \
    ".popsection\n"                                                           \
    "9:\n\t"                                                                  \
    "leaq 3b(%%rip), %[t0]\n\t"                                               \
    "movq %[t0], %%fs:8(%[ro])\n" /* rseq_cs = &descriptor */                 \
    "1:\n\t"                                                                  \
    "movl %%fs:4(%[ro]), %k[t0]\n\t" /* cpu_id */                             \
    "cmpl %[ncpus], %k[t0]\n\t"                                               \
    "jae " EXIT "\n\t"                                                        \
    "imulq %[stride], %[t0]\n\t"                                              \
    "addq %[base], %[t0]\n\t" /* t0 = this CPU's header */                    \
    "cmpl $0, 8(%[t0])\n\t"   /* fenced? */                                   \
    "jne " EXIT "\n\t"

/* With asm goto and outputs (GCC 11+, clang 11+; opt out with
 * K23_PORT_HOSTED_NO_ASM_GOTO) a constant-offset push jumps to the
 * caller's failure path: no flag to test after it (its failure exits
 * jump there directly). Only the
 * push: its outputs are scratch registers. GCC 12.2
 * (Debian 12's) miscompiles an asm goto whose failure path returns a
 * constant where the other returns an output (it returned the output on
 * both), which is exactly the shape of a pop. */
#if !defined(K23_PORT_HOSTED_NO_ASM_GOTO) &&                                  \
    ((defined(__clang__) && __clang_major__ >= 11) ||                         \
     (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define K23_PORT_RSEQ_GOTO_ 1
#endif

/* glibc's rseq signature, then the abort handler: start over. */
#define K23_PORT_RSEQ_ABORT_ K23_PORT_RSEQ_SIG_BYTES_ "4:\n\t" "jmp 9b\n\t"

#define K23_PORT_RSEQ_POP_(SLOT_LOAD, SOFF_CONSTRAINT)                       \
    __asm__ __volatile__(                                                     \
        K23_PORT_RSEQ_HEAD_("5f")                                             \
        "movq (%[t0]), %[t2]\n\t" /* the word */                              \
        "movzwl %w[t2], %k[t1]\n\t" /* count */                               \
        "subl $1, %k[t1]\n\t"                                                 \
        "jb 5f\n\t" /* count was 0 */                                         \
        SLOT_LOAD                                                             \
        "addq $0xffff, %[t2]\n\t"                                             \
        "movq %[t2], (%[t0])\n" /* commit: count - 1, transit + 1 */          \
        "2:\n\t"                                                              \
        ".pushsection .text.unlikely, \"ax\"\n"                               \
        "5:\n\t"                                                              \
        "movq $-1, %[v]\n\t" /* K23_PORT_PCPU_NONE */                         \
        "jmp 2b\n\t"                                                          \
        K23_PORT_RSEQ_ABORT_                                                  \
        ".popsection\n"                                                       \
        : [v] "=&r"(v), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)        \
        : [ro] "r"(ro), [base] "r"(base), [stride] "ri"(stride),             \
          [ncpus] "rm"(ncpus), [soff] SOFF_CONSTRAINT(slots_off)              \
        : "memory", "cc")

#define K23_PORT_RSEQ_PUSH_(SLOT_STORE, SOFF_CONSTRAINT)                     \
    __asm__ __volatile__(                                                     \
        K23_PORT_RSEQ_HEAD_("5f")                                             \
        "movq (%[t0]), %[t2]\n\t" /* the word */                              \
        "movzwl %w[t2], %k[t1]\n\t" /* count */                               \
        "cmpl %[cap], %k[t1]\n\t"                                             \
        "jae 5f\n\t"                                                          \
        SLOT_STORE                                                            \
        "addq $-0xffff, %[t2]\n\t" /* ZF clear (count + 1 > 0) */             \
        "movq %[t2], (%[t0])\n" /* commit: count + 1, transit - 1 */          \
        "2:\n\t"                                                              \
        ".pushsection .text.unlikely, \"ax\"\n"                               \
        "5:\n\t"                                                              \
        "xorl %k[t1], %k[t1]\n\t" /* ZF set: failed */                        \
        "jmp 2b\n\t"                                                          \
        K23_PORT_RSEQ_ABORT_                                                  \
        ".popsection\n"                                                       \
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), "=@ccz"(failed)     \
        : [ro] "r"(ro), [base] "r"(base), [stride] "ri"(stride),             \
          [ncpus] "rm"(ncpus), [soff] SOFF_CONSTRAINT(slots_off),             \
          [cap] "rmi"(cap), [val] "r"(value)                                  \
        : "memory")

static inline ptrdiff_t k23_port_hosted_rseq_off_(void)
{
    return __atomic_load_n(&k23_port_hosted_rseq_offset, __ATOMIC_RELAXED);
}

static inline uint64_t k23_port_pcpu_pop_inline(void *base, size_t stride,
                                                unsigned ncpus,
                                                size_t slots_off)
{
    ptrdiff_t ro = k23_port_hosted_rseq_off_();
    uint64_t v, t0, t1, t2;
    if (!__builtin_constant_p(slots_off)) {
        K23_PORT_RSEQ_POP_("addq %[soff], %[t0]\n\t"
                           "movq (%[t0], %q[t1], 8), %[v]\n\t"
                           "subq %[soff], %[t0]\n\t",
                           "r");
        return v;
    }
    K23_PORT_RSEQ_POP_("movq %c[soff](%[t0], %q[t1], 8), %[v]\n\t", "i");
    return v;
}

static inline bool k23_port_pcpu_push_inline(void *base, size_t stride,
                                             unsigned ncpus, size_t slots_off,
                                             uint32_t cap, uint64_t value)
{
    ptrdiff_t ro = k23_port_hosted_rseq_off_();
    uint64_t t0, t1, t2;
    bool failed;
    if (!__builtin_constant_p(slots_off)) {
        K23_PORT_RSEQ_PUSH_("addq %[soff], %[t0]\n\t"
                            "movq %[val], (%[t0], %q[t1], 8)\n\t"
                            "subq %[soff], %[t0]\n\t",
                            "r");
        return !failed;
    }
#ifdef K23_PORT_RSEQ_GOTO_
    (void)failed;
    /* volatile although asm goto is meant to be: GCC 12 deleted it when
     * the caller used no output */
    __asm__ __volatile__ goto(
        K23_PORT_RSEQ_HEAD_("%l[fail]")
        "movq (%[t0]), %[t2]\n\t" /* the word */
        "movzwl %w[t2], %k[t1]\n\t" /* count */
        "cmpl %[cap], %k[t1]\n\t"
        "jae %l[fail]\n\t" /* full */
        "movq %[val], %c[soff](%[t0], %q[t1], 8)\n\t"
        "addq $-0xffff, %[t2]\n\t"
        "movq %[t2], (%[t0])\n" /* commit: count + 1, transit - 1 */
        "2:\n\t"
        ".pushsection .text.unlikely, \"ax\"\n"
        K23_PORT_RSEQ_ABORT_
        ".popsection\n"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
        : [ro] "r"(ro), [base] "r"(base), [stride] "ri"(stride),
          [ncpus] "rm"(ncpus), [soff] "i"(slots_off), [cap] "rmi"(cap),
          [val] "r"(value)
        : "memory", "cc"
        : fail);
    return true;
fail:
    return false;
#else
    K23_PORT_RSEQ_PUSH_("movq %[val], %c[soff](%[t0], %q[t1], 8)\n\t", "i");
    return !failed;
#endif
}

static inline bool k23_port_pcpu_add_inline(void *base, size_t stride,
                                            unsigned ncpus, int32_t delta)
{
    ptrdiff_t ro = k23_port_hosted_rseq_off_();
    uint64_t t0;
    uint32_t ok;
    int64_t d = (int64_t)delta * 65536;
    __asm__ __volatile__(
        K23_PORT_RSEQ_HEAD_("5f")
        "addq %[d], (%[t0])\n" /* commit: transit + delta */
        "2:\n\t"
        "movl $1, %[ok]\n"
        "6:\n\t"
        ".pushsection .text.unlikely, \"ax\"\n"
        "5:\n\t"
        "xorl %[ok], %[ok]\n\t"
        "jmp 6b\n\t"
        K23_PORT_RSEQ_ABORT_
        ".popsection\n"
        : [t0] "=&r"(t0), [ok] "=&r"(ok)
        : [ro] "r"(ro), [base] "r"(base), [stride] "ri"(stride),
          [ncpus] "rm"(ncpus), [d] "er"(d)
        : "memory", "cc");
    return ok != 0;
}

/* A flip runs on one given CPU: the head compares cpu_id with it instead
 * of indexing an array, and checks that CPU's fence flag; the commit is
 * the store of the flipped word. Results: 0 done, 1 mismatch, 2
 * elsewhere (K23_PORT_FLIP_*). */
static inline int k23_port_pcpu_flip_inline(const k23_port_pcpu_hdr_t *hdr,
                                            unsigned cpu, uint64_t *word,
                                            uint64_t mask, uint64_t expect)
{
    ptrdiff_t ro = k23_port_hosted_rseq_off_();
    uint64_t t0;
    int r;
    __asm__ __volatile__(
        ".pushsection __rseq_cs, \"aw\"\n\t"
        ".balign 32\n"
        "3:\n\t"
        ".long 0, 0\n\t"
        ".quad 1f, 2f - 1f, 4f\n\t"
        ".popsection\n"
        "9:\n\t"
        "leaq 3b(%%rip), %[t0]\n\t"
        "movq %[t0], %%fs:8(%[ro])\n" /* rseq_cs = &descriptor */
        "1:\n\t"
        "cmpl %[cpu], %%fs:4(%[ro])\n\t" /* on that CPU? */
        "jne 5f\n\t"
        "cmpl $0, 8(%[hdr])\n\t" /* its stack fenced? */
        "jne 5f\n\t"
        "movq (%[w]), %[t0]\n\t"
        "movq %[t0], %q[r]\n\t"
        "andq %[m], %q[r]\n\t"
        "cmpq %[e], %q[r]\n\t"
        "jne 6f\n\t"
        "xorq %[m], %[t0]\n\t"
        "movq %[t0], (%[w])\n" /* commit */
        "2:\n\t"
        "xorl %k[r], %k[r]\n"
        "7:\n\t"
        ".pushsection .text.unlikely, \"ax\"\n"
        "5:\n\t"
        "movl $2, %k[r]\n\t"
        "jmp 7b\n\t"
        "6:\n\t"
        "movl $1, %k[r]\n\t"
        "jmp 7b\n\t"
        K23_PORT_RSEQ_ABORT_
        ".popsection\n"
        : [t0] "=&r"(t0), [r] "=&r"(r)
        : [ro] "r"(ro), [hdr] "r"(hdr), [cpu] "r"(cpu), [w] "r"(word),
          [m] "r"(mask), [e] "r"(expect)
        : "memory", "cc");
    return r;
}
#endif

/*
 * The lock's uncontended steps inline (K23_PORT_LOCK_INLINE): the lock
 * word at the start of k23_port_lock_t's opaque bytes holds its owner's
 * tag, the thread pointer, 0 when free (port.c keeps the same layout and
 * tag). Acquiring is one compare-and-swap, and on failure the port's
 * k23_port_lock_acquire() (which spins, then yields); releasing is one
 * release store. The library uses them only where a lock pair is most of
 * an operation's cost (the frame allocator's single frames with the
 * caches off). Where the compiler cannot read the thread pointer the tag
 * is a thread-local address private to port.c, and nothing is inlined.
 */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv)
#include "k23mem/port.h"

/** The port has inline versions of the lock's uncontended steps. */
#define K23_PORT_LOCK_INLINE 1

/* The owner tag of the calling thread; never 0. */
static inline uintptr_t k23_port_hosted_thread_tag_(void)
{
    return (uintptr_t)__builtin_thread_pointer();
}

/* The lock word of l. */
static inline uintptr_t *k23_port_hosted_lock_word_(k23_port_lock_t *l)
{
    return (uintptr_t *)(void *)l->opaque;
}

static inline void k23_port_lock_acquire_inline(k23_port_lock_t *l)
    K23_ACQUIRE(*l) K23_NO_THREAD_SAFETY_ANALYSIS
{
    uintptr_t expected = 0;
    if (__builtin_expect(__atomic_compare_exchange_n(
                             k23_port_hosted_lock_word_(l), &expected,
                             k23_port_hosted_thread_tag_(), false,
                             __ATOMIC_ACQUIRE, __ATOMIC_RELAXED),
                         1))
        return;
    k23_port_lock_acquire(l); /* held by another: spin, then yield */
}

static inline void k23_port_lock_release_inline(k23_port_lock_t *l)
    K23_RELEASE(*l) K23_NO_THREAD_SAFETY_ANALYSIS
{
    __atomic_store_n(k23_port_hosted_lock_word_(l), 0, __ATOMIC_RELEASE);
}
#endif

#endif /* K23_PORT_CONFIG_H */
