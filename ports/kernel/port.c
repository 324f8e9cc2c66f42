/*
 * libk23mem port hooks for a single-CPU kernel without an MMU set up:
 * physical addresses are virtual addresses (identity), interrupts stay off
 * for the life of the kernel, there is one CPU and no virtual-memory or
 * protection-key service. The hooks call into the kernel only for console
 * output and for stopping the machine (kernel.h).
 */
#include "k23mem/port.h"

#include "kernel.h"

/* ---- locking ---- */

void k23_port_lock_init(k23_port_lock_t *l)
{
    l->held = 0;
}

void k23_port_lock_acquire(k23_port_lock_t *l)
{
    /* Nothing can contend: one CPU, no interrupts. A second acquire is a
     * recursion bug that a multi-CPU kernel would hang on; say so. */
    if (l->held != 0)
        k23_port_panic(__FILE__, __LINE__, "lock acquired twice");
    l->held = 1;
    __asm__ volatile("" ::: "memory");
}

void k23_port_lock_release(k23_port_lock_t *l)
{
    __asm__ volatile("" ::: "memory");
    if (l->held == 0)
        k23_port_panic(__FILE__, __LINE__, "lock released while free");
    l->held = 0;
}

bool k23_port_lock_held(const k23_port_lock_t *l)
{
    return l->held != 0;
}

/* ---- CPUs ---- */

static volatile unsigned kport_local_depth;

unsigned k23_port_cpu_count(void)
{
    return 1;
}

unsigned k23_port_cpu_id(void)
{
    return 0;
}

unsigned k23_port_cpu_local_enter(void)
{
    /* Interrupts are already off, so the caller cannot be preempted or
     * migrated; only check that sections do not nest. */
    if (kport_local_depth != 0)
        k23_port_panic(__FILE__, __LINE__, "CPU-local sections nested");
    kport_local_depth = 1;
    return 0;
}

void k23_port_cpu_local_exit(unsigned cpu)
{
    if (cpu != 0 || kport_local_depth != 1)
        k23_port_panic(__FILE__, __LINE__, "CPU-local exit without enter");
    kport_local_depth = 0;
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

/* ---- virtual memory and protection keys: not offered ---- */

int k23_port_vm_reserve(size_t size, size_t align, void **out)
{
    (void)size;
    (void)align;
    (void)out;
    return K23_ERR_UNSUPPORTED;
}

int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm)
{
    (void)addr;
    (void)size;
    (void)perm;
    return K23_ERR_UNSUPPORTED;
}

int k23_port_vm_decommit(void *addr, size_t size)
{
    (void)addr;
    (void)size;
    return K23_ERR_UNSUPPORTED;
}

int k23_port_vm_release(void *addr, size_t size)
{
    (void)addr;
    (void)size;
    return K23_ERR_UNSUPPORTED;
}

size_t k23_port_vm_reserved_bytes(void)
{
    return 0;
}

int k23_port_pkey_alloc(unsigned *out)
{
    (void)out;
    return K23_ERR_UNSUPPORTED;
}

void k23_port_pkey_free(unsigned key)
{
    (void)key;
}

int k23_port_pkey_protect(void *addr, size_t size, k23_perm_t perm,
                          unsigned key)
{
    (void)addr;
    (void)size;
    (void)perm;
    (void)key;
    return K23_ERR_UNSUPPORTED;
}
