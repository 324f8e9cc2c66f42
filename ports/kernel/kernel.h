/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * What the kernel port's hooks (port.c) need from the kernel, and what the
 * two example kernels share: console output, the exit path and a few
 * arch facts. Every kernel that uses ports/kernel/port.c provides the
 * k23k_arch_* functions; console.c builds the rest on top of them.
 */
#ifndef K23_KERNEL_H
#define K23_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k23mem/types.h"

/* ---- provided by <arch>/arch.c ---- */

/** Name of the architecture ("aarch64", "riscv64"). */
extern const char k23k_arch_name[];

/** Write one byte to the boot console (polled UART). */
void k23k_arch_putc(char c);

/** Stop the machine; QEMU exits with @p status (0 pass, else fail). */
K23_NORETURN void k23k_arch_exit(int status);

/** A free-running counter and its frequency in Hz (for timings only). */
uint64_t k23k_arch_ticks(void);
uint64_t k23k_arch_tick_hz(void);

/** Arch set-up that needs the device tree (riscv64 reads its timebase). */
void k23k_arch_init(const void *fdt);

/* ---- console.c ---- */

/** Write a NUL-terminated string. */
void k23k_puts(const char *s);

/**
 * printf subset: %s %c %d %u %x %p with the l, ll and z length modifiers,
 * a field width, '0' padding and '-' (left-justify, %s only). Nothing
 * else.
 */
void k23k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void k23k_vprintf(const char *fmt, va_list ap);

/**
 * Print the final verdict line "K23MEM-SELFTEST FAIL <reason>" and exit
 * with status 1. Used by panics and failed checks alike, so the last line
 * of every run is the verdict.
 */
K23_NORETURN void k23k_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- CPUs (k23k_smp.c, <arch>/arch.c) ---- */

/** Most CPUs the example kernels bring up; further /cpus nodes are left off. */
#define K23K_MAX_CPUS 8
/** Each CPU's stack, and the unused guard page below it. */
#define K23K_STACK_SIZE (64 * 1024)
#define K23K_GUARD_SIZE 4096

/**
 * Per-CPU data. TPIDR_EL1 (aarch64) or tp (riscv64) points at the running
 * CPU's entry from the first instruction of its entry code on.
 */
typedef struct k23k_cpu {
    struct k23k_cpu *self;   /* offset 0 */
    uint64_t stack_top;      /* offset 8: the secondary entry code loads it */
    uint64_t hwid;           /* MPIDR affinity (aarch64) or hart id */
    unsigned id;             /* index, 0 = the boot CPU */
    unsigned irq_depth;      /* nesting of k23k_irq_push() */
    uint64_t irq_saved;      /* interrupt state before the outermost push */
    unsigned local_depth;    /* inside a CPU-local section */
    volatile uint32_t online;
    volatile uint64_t ticks; /* timer interrupts taken */
    uint64_t job_gen;        /* last job this CPU ran */
} __attribute__((aligned(64))) k23k_cpu_t;

extern k23k_cpu_t k23k_cpus[K23K_MAX_CPUS];

static inline k23k_cpu_t *k23k_cpu_self(void)
{
    uintptr_t v;
#if defined(__aarch64__)
    __asm__ volatile("mrs %0, tpidr_el1" : "=r"(v));
#else
    __asm__ volatile("mv %0, tp" : "=r"(v));
#endif
    return (k23k_cpu_t *)v;
}

/** Mask interrupts and return the previous state (arch-specific bits). */
static inline uint64_t k23k_arch_irq_save(void)
{
    uint64_t v;
#if defined(__aarch64__)
    __asm__ volatile("mrs %0, daif\n\tmsr daifset, #3" : "=r"(v)::"memory");
#else
    __asm__ volatile("csrrci %0, sstatus, 2" : "=r"(v)::"memory");
#endif
    return v;
}

/** Undo k23k_arch_irq_save(): unmask only if they were unmasked. */
static inline void k23k_arch_irq_restore(uint64_t v)
{
#if defined(__aarch64__)
    __asm__ volatile("msr daif, %0" ::"r"(v) : "memory");
#else
    if (v & 2)
        __asm__ volatile("csrsi sstatus, 2" ::: "memory");
#endif
}

static inline bool k23k_arch_irq_enabled(void)
{
    uint64_t v;
#if defined(__aarch64__)
    __asm__ volatile("mrs %0, daif" : "=r"(v));
    return (v & (1u << 7)) == 0; /* DAIF.I */
#else
    __asm__ volatile("csrr %0, sstatus" : "=r"(v));
    return (v & 2) != 0; /* sstatus.SIE */
#endif
}

static inline void k23k_arch_irq_enable(void)
{
#if defined(__aarch64__)
    __asm__ volatile("msr daifclr, #3" ::: "memory");
#else
    __asm__ volatile("csrsi sstatus, 2" ::: "memory");
#endif
}

static inline void k23k_cpu_relax(void)
{
#if defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("nop" ::: "memory");
#endif
}

/** Nestable interrupt masking (push masks, the last pop restores). */
void k23k_irq_push(void);
void k23k_irq_pop(void);

/** Arch set-up of this CPU's timer and interrupt controller. */
void k23k_arch_cpu_local_init(void);
/** Start CPU @p hwid at k23k_secondary_entry with @p ctx; 0 or an error. */
long k23k_arch_cpu_start(uint64_t hwid, uintptr_t ctx);
/** This CPU's hardware id (aarch64 MPIDR affinity; riscv64: unknown, ~0). */
uint64_t k23k_arch_boot_hwid(void);
/** Timer interrupt period, ticks of k23k_arch_ticks(). */
uint64_t k23k_arch_timer_period(void);

/** Entry code of secondary CPUs (start.S). */
void k23k_secondary_entry(void);

/** Read /cpus; set up k23k_cpus and the CPU count (before the library). */
void k23k_smp_init(const void *fdt, uint64_t boot_hwid);
/** Start every other CPU and wait until each runs; fails the run if not. */
void k23k_smp_start(void);
/** Number of CPUs found (and started once k23k_smp_start returned). */
unsigned k23k_smp_count(void);
/** Whether the other CPUs have been started (TLB shootdowns needed). */
bool k23k_smp_running(void);
/** riscv64: sfence.vma on every hart through SBI (arguments as
 *  k23_port_tlb_flush). */
void k23k_arch_tlb_remote(uint32_t asid, const uint64_t *va, size_t n,
                          uint32_t flags);
/** Fault injection (k23.inject=local-tlb): TLB flushes stay local. */
extern bool k23k_inject_local_tlb;
/** Run fn(arg) on every CPU at once (the caller's included); wait for all. */
void k23k_smp_run_all(void (*fn)(void *), void *arg);
/** Fill every stack's guard page with a pattern / check it is intact. */
void k23k_smp_guard_fill(void);
void k23k_smp_guard_check(void);
/** CPU @p i's guard page (K23K_GUARD_SIZE bytes under its stack). */
char *k23k_smp_guard(unsigned i);

/* ---- paging (k23k_paging.c, <arch>/arch.c) ---- */

struct k23_pt;
struct k23_pt_format;

/** An MMIO window the kernel maps (K23_PT_MEM_* memory type). */
typedef struct k23k_mmio {
    uint64_t base, size;
    unsigned memtype;
    const char *what;
} k23k_mmio_t;

/** The MMIO windows the kernel uses (console, exit device, interrupts). */
unsigned k23k_arch_mmio(k23k_mmio_t *out, unsigned max);
/** The page-table format this arch's kernel uses. */
const struct k23_pt_format *k23k_arch_pt_format(void);
/** On the calling CPU: set up and turn on translation with @p pt. */
void k23k_arch_mmu_on(const struct k23_pt *pt);

/* ---- kernel.c ---- */

/** C entry point, called by the boot code with the DTB's address. */
K23_NORETURN void k23k_main(uintptr_t dtb, uintptr_t boot_hart);

#endif /* K23_KERNEL_H */
