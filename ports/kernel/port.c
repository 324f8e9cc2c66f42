/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libk23mem port hooks for a kernel with several CPUs and a timer
 * interrupt: spinlocks that mask interrupts, CPU ids from per-CPU data,
 * physical addresses equal to virtual ones (the direct map, see
 * docs/kernel.md), virtual memory from the kernel's address space once
 * paging is on (the VM hooks forward to k23mem/aspace.h), no protection
 * keys. The hooks call into the kernel for console output, the CPU table
 * and stopping the machine (kernel.h).
 */
#include "k23mem/port.h"
#include "k23_port_config.h"

#include "k23k_selftest.h"
#include "kernel.h"
#include "k23mem/aspace.h"

/* ---- interrupt masking, nestable ---- */

void k23k_irq_push(void)
{
    uint64_t was = k23k_arch_irq_save();
    k23k_cpu_t *c = k23k_cpu_self();
    if (c->irq_depth++ == 0)
        c->irq_saved = was;
}

void k23k_irq_pop(void)
{
    k23k_cpu_t *c = k23k_cpu_self();
    if (k23k_arch_irq_enabled())
        k23_port_panic(__FILE__, __LINE__, "interrupts on inside a push");
    if (c->irq_depth == 0)
        k23_port_panic(__FILE__, __LINE__, "interrupt pop without push");
    if (--c->irq_depth == 0)
        k23k_arch_irq_restore(c->irq_saved);
}

/* ---- locking: spinlocks that mask interrupts while held ----
 *
 * The lock masks interrupts on the taking CPU for as long as it is held (so
 * an interrupt handler on that CPU can never spin on a lock its own CPU
 * holds) and records its owner (CPU id + 1) so that taking it twice on one
 * CPU panics instead of hanging. It lives in k23_port_lock_t's opaque
 * bytes; the hooks are the capability's primitives, so the thread-safety
 * analysis does not look inside them. */

typedef struct __attribute__((may_alias)) kport_lock {
    volatile uint32_t locked; /* 1 while held, 0 when free */
    volatile uint32_t owner;  /* holder's CPU id + 1, 0 when free */
} kport_lock_t;
K23_PORT_LOCK_FITS(kport_lock_t);

static inline kport_lock_t *kport_lock(k23_port_lock_t *l)
{
    return (kport_lock_t *)(void *)l->opaque;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_init(k23_port_lock_t *pl)
{
    kport_lock_t *l = kport_lock(pl);
    l->locked = 0;
    l->owner = 0;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_acquire(k23_port_lock_t *pl)
{
    kport_lock_t *l = kport_lock(pl);
    k23k_irq_push();
    uint32_t me = k23k_cpu_self()->id + 1;
    /* The owner field is only ever set to our id by us: reading it racily
     * can only see our id if we hold the lock. */
    if (l->owner == me)
        k23_port_panic(__FILE__, __LINE__, "lock acquired twice");
    while (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE) != 0) {
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) != 0)
            k23k_cpu_relax();
    }
    l->owner = me;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_release(k23_port_lock_t *pl)
{
    kport_lock_t *l = kport_lock(pl);
    if (l->locked == 0 || l->owner != k23k_cpu_self()->id + 1)
        k23_port_panic(__FILE__, __LINE__,
                       "lock released while free or by another CPU");
    l->owner = 0;
    __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE);
    k23k_irq_pop();
}

bool k23_port_lock_held(const k23_port_lock_t *pl)
{
    const kport_lock_t *l = (const kport_lock_t *)(const void *)pl->opaque;
    return l->locked != 0 && l->owner == k23k_cpu_self()->id + 1;
}

/* ---- CPUs: ids from the per-CPU data TPIDR_EL1 / tp points at ---- */

unsigned k23_port_cpu_count(void)
{
    return k23k_smp_count();
}

unsigned k23_port_cpu_local_enter(void)
{
    /* No scheduler migrates anything here; masking interrupts keeps an
     * interrupt handler off the CPU's data while the section runs. */
    k23k_irq_push();
    k23k_cpu_t *c = k23k_cpu_self();
    if (c->local_depth != 0)
        k23_port_panic(__FILE__, __LINE__, "CPU-local sections nested");
    c->local_depth = 1;
    return c->id;
}

void k23_port_cpu_local_exit(unsigned cpu)
{
    k23k_cpu_t *c = k23k_cpu_self();
    if (cpu != c->id || c->local_depth != 1)
        k23_port_panic(__FILE__, __LINE__, "CPU-local exit without enter");
    c->local_depth = 0;
    k23k_irq_pop();
}

/* CPU-local stacks: no fast path; ports/common/pcpu_locked.c. */

/* ---- physical memory: identity, the MMU is off ---- */

void *k23_port_phys_to_virt(k23_paddr_t pa)
{
    return (void *)(uintptr_t)pa;
}

k23_paddr_t k23_port_virt_to_phys(const void *va)
{
    return (k23_paddr_t)(uintptr_t)va;
}

/* ---- capabilities, logging, panic ---- */

void k23_port_caps(k23_port_caps_t *caps)
{
    caps->page_size = 4096;
    caps->alloc_granularity = 4096;
    caps->can_decommit = false;
    caps->can_release = false;
    caps->has_vm = false;
    caps->pkeys_available = 0;
    k23_aspace_t *as = k23k_port_vm_aspace();
    if (as != NULL)
        (void)k23_aspace_vm_caps(as, caps);
}

static const char *const kport_level_names[] = {"error", "warn", "info",
                                                "debug"};

void k23_port_log(int level, const char *msg)
{
    const char *name = level >= 0 && level <= 3 ? kport_level_names[level]
                                                : "log";
    k23k_printf("k23mem %s: %s\n", name, msg);
}

void k23_port_panic(const char *file, int line, const char *msg)
{
    k23k_printf("k23mem panic at %s:%d: %s\n", file, line, msg);
    k23k_fail("panic: %s", msg);
}

/* ---- virtual memory: the kernel's address space, once paging is on ----
 *
 * Before k23k_port_vm_enable() (paging off, physical addresses only) the
 * hooks say K23_ERR_UNSUPPORTED; afterwards each one takes the VM lock and
 * forwards to the address-space module. The lock masks interrupts, and
 * the fault handler takes it too (k23k_faults.c). */

static k23_aspace_t *vm_as; /* set once, before any CPU uses the hooks */
static k23_port_lock_t vm_lock;

void k23k_port_vm_enable(k23_aspace_t *as)
{
    k23_port_lock_init(&vm_lock);
    __atomic_store_n(&vm_as, as, __ATOMIC_RELEASE);
}

k23_aspace_t *k23k_port_vm_aspace(void)
{
    return __atomic_load_n(&vm_as, __ATOMIC_ACQUIRE);
}

void k23k_port_vm_lock(void) K23_ACQUIRE(vm_lock)
{
    k23_port_lock_acquire(&vm_lock);
}

void k23k_port_vm_unlock(void) K23_RELEASE(vm_lock)
{
    k23_port_lock_release(&vm_lock);
}

int k23_port_vm_reserve(size_t size, size_t align, void **out)
{
    k23_aspace_t *as = k23k_port_vm_aspace();
    if (as == NULL)
        return K23_ERR_UNSUPPORTED;
    k23_port_lock_acquire(&vm_lock);
    int rc = k23_aspace_vm_reserve(as, size, align, out);
    k23_port_lock_release(&vm_lock);
    return rc;
}

int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm)
{
    k23_aspace_t *as = k23k_port_vm_aspace();
    if (as == NULL)
        return K23_ERR_UNSUPPORTED;
    k23_port_lock_acquire(&vm_lock);
    int rc = k23_aspace_vm_commit(as, addr, size, perm);
    k23_port_lock_release(&vm_lock);
    return rc;
}

int k23_port_vm_decommit(void *addr, size_t size)
{
    k23_aspace_t *as = k23k_port_vm_aspace();
    if (as == NULL)
        return K23_ERR_UNSUPPORTED;
    k23_port_lock_acquire(&vm_lock);
    int rc = k23_aspace_vm_decommit(as, addr, size);
    k23_port_lock_release(&vm_lock);
    return rc;
}

int k23_port_vm_release(void *addr, size_t size)
{
    k23_aspace_t *as = k23k_port_vm_aspace();
    if (as == NULL)
        return K23_ERR_UNSUPPORTED;
    k23_port_lock_acquire(&vm_lock);
    int rc = k23_aspace_vm_release(as, addr, size);
    k23_port_lock_release(&vm_lock);
    return rc;
}

size_t k23_port_vm_reserved_bytes(void)
{
    k23_aspace_t *as = k23k_port_vm_aspace();
    if (as == NULL)
        return 0;
    k23_port_lock_acquire(&vm_lock);
    size_t n = k23_aspace_vm_reserved_bytes(as);
    k23_port_lock_release(&vm_lock);
    return n;
}

/* ---- protection keys: not offered; ports/common/pkey_none.c ---- */

/* ---- MMU: translation-table base registers and TLB invalidation ----
 *
 * k23_pt_activate() and k23_pt_flush() call these; the example kernels
 * turn translation on with them (k23k_paging.c) and flush on every CPU. */

int k23_port_mmu_activate(unsigned reg, uint64_t value)
{
#if defined(__aarch64__)
    /* The table writes must be visible to the walker (dsb ishst) before
     * the new base is used; isb makes the switch take effect for the
     * instructions that follow. */
    if (reg == K23_PORT_MMU_TTBR0) {
        __asm__ volatile("dsb ishst\n\tmsr ttbr0_el1, %0\n\tisb"
                         :: "r"(value) : "memory");
        return K23_OK;
    }
    if (reg == K23_PORT_MMU_TTBR1) {
        __asm__ volatile("dsb ishst\n\tmsr ttbr1_el1, %0\n\tisb"
                         :: "r"(value) : "memory");
        return K23_OK;
    }
    return K23_ERR_UNSUPPORTED;
#elif defined(__riscv) && __riscv_xlen == 64
    /* sfence.vma before: order the table writes before the walker's
     * reads under the new satp; after: drop translations of the old. */
    if (reg == K23_PORT_MMU_SATP) {
        __asm__ volatile("sfence.vma\n\tcsrw satp, %0\n\tsfence.vma"
                         :: "r"(value) : "memory");
        return K23_OK;
    }
    return K23_ERR_UNSUPPORTED;
#else
    (void)reg;
    (void)value;
    return K23_ERR_UNSUPPORTED;
#endif
}

void k23_port_tlb_flush(unsigned arch, uint32_t asid, const uint64_t *va,
                        size_t n, uint32_t flags)
{
#if defined(__aarch64__)
    /* arch 2 is K23_PT_ARCH_AARCH64 (pagetable.h). TLBI by VA takes
     * VA[55:12] in bits 43:0 and the ASID in bits 63:48; the non-"last
     * level" forms also drop walk-cache entries of removed tables. */
    if (arch != 2u)
        return;
    if (k23k_inject_local_tlb) {
        /* Fault injection: this CPU only; the shootdown test must fail. */
        __asm__ volatile("dsb ishst\n\ttlbi vmalle1\n\tdsb nsh\n\tisb"
                         ::: "memory");
        return;
    }
    __asm__ volatile("dsb ishst" ::: "memory");
    if (flags & K23_PORT_TLB_ALL) {
        if (flags & K23_PORT_TLB_GLOBAL)
            __asm__ volatile("tlbi vmalle1is" ::: "memory");
        else
            __asm__ volatile("tlbi aside1is, %0"
                             :: "r"((uint64_t)asid << 48) : "memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            uint64_t op = ((va[i] >> 12) & UINT64_C(0xFFFFFFFFFFF));
            if (va[i] & K23_PORT_TLB_ENTRY_GLOBAL)
                __asm__ volatile("tlbi vaae1is, %0" :: "r"(op) : "memory");
            else
                __asm__ volatile("tlbi vae1is, %0"
                                 :: "r"(op | ((uint64_t)asid << 48))
                                 : "memory");
        }
    }
    __asm__ volatile("dsb ish\n\tisb" ::: "memory");
#elif defined(__riscv) && __riscv_xlen == 64
    /* arch 3 is K23_PT_ARCH_RISCV64. sfence.vma rs1=va, rs2=asid orders
     * the earlier table writes and drops leaf and non-leaf entries for
     * that address; rs2 = x0 also covers global entries. Once other harts
     * run, the same goes to every hart through SBI's remote fence
     * (k23k_arch_tlb_remote), which waits until each has done it. */
    if (arch != 3u)
        return;
    if (k23k_smp_running() && !k23k_inject_local_tlb) {
        k23k_arch_tlb_remote(asid, va, n, flags);
        return;
    }
    if (flags & K23_PORT_TLB_ALL) {
        if (flags & K23_PORT_TLB_GLOBAL)
            __asm__ volatile("sfence.vma" ::: "memory");
        else
            __asm__ volatile("sfence.vma x0, %0" :: "r"((uint64_t)asid)
                             : "memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            uint64_t a = va[i] & ~UINT64_C(0xFFF);
            if (va[i] & K23_PORT_TLB_ENTRY_GLOBAL)
                __asm__ volatile("sfence.vma %0, x0" :: "r"(a) : "memory");
            else
                __asm__ volatile("sfence.vma %0, %1"
                                 :: "r"(a), "r"((uint64_t)asid) : "memory");
        }
    }
#else
    (void)arch;
    (void)asid;
    (void)va;
    (void)n;
    (void)flags;
#endif
}
