/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The wasm32 port: libk23mem in a wasm32-wasi module.
 *
 * - One thread (wasm32-wasi without the threads proposal): locks are
 *   re-entry-checking flags, there is one CPU, CPU-local sections are
 *   trivially local.
 * - No MMU: "physical" and virtual addresses are both linear-memory
 *   offsets, phys == virt.
 * - Virtual memory: every byte of linear memory below memory.size is
 *   readable and writable, there are no protections and memory never
 *   shrinks. Reservations are therefore megablock runs taken from the
 *   port's megablock allocator (k23mem_wasm32.h), aligned as asked and
 *   zeroed where they were used before; commit only checks arguments;
 *   decommit zeroes the range (the bytes stay resident: can_decommit is
 *   false); release gives the megablocks back to the allocator, where the
 *   next reservation or a runtime's osGetMBlocks() reuses them (the
 *   address space comes back, the memory stays owned by the module).
 * - Panics print to stderr and abort(), which traps: the WASI host (Node)
 *   exits non-zero.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/megablock.h"
#include "k23mem/port.h"
#include "k23_port_config.h"
#include "k23mem_wasm32.h"

/* ---- locking ----
 *
 * wasm32-wasi without the threads proposal runs one thread, so a lock is a
 * flag that catches re-entry: acquiring a held lock can only be a bug (the
 * caller would deadlock on a threaded host), and panics. The flag lives in
 * k23_port_lock_t's opaque bytes. */

typedef struct __attribute__((may_alias)) wasm32_lock {
    int held; /* 1 while held */
} wasm32_lock_t;
K23_PORT_LOCK_FITS(wasm32_lock_t);

static inline wasm32_lock_t *wasm32_lock(k23_port_lock_t *l)
{
    return (wasm32_lock_t *)(void *)l->opaque;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_init(k23_port_lock_t *pl)
{
    wasm32_lock(pl)->held = 0;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_acquire(k23_port_lock_t *pl)
{
    wasm32_lock_t *l = wasm32_lock(pl);
    if (l->held)
        k23_port_panic(__FILE__, __LINE__,
                       "lock acquired twice: would deadlock");
    l->held = 1;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_release(k23_port_lock_t *pl)
{
    wasm32_lock_t *l = wasm32_lock(pl);
    if (!l->held)
        k23_port_panic(__FILE__, __LINE__, "releasing a lock not held");
    l->held = 0;
}

bool k23_port_lock_held(const k23_port_lock_t *pl)
{
    return ((const wasm32_lock_t *)(const void *)pl->opaque)->held != 0;
}

/* ---- CPUs ---- */

unsigned k23_port_cpu_count(void)
{
    return 1;
}

unsigned k23_port_cpu_local_enter(void)
{
    return 0;
}

void k23_port_cpu_local_exit(unsigned cpu)
{
    (void)cpu;
}

/* CPU-local stacks: no fast path; ports/common/pcpu_locked.c. */

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

void k23_port_caps(k23_port_caps_t *caps)
{
    caps->page_size = K23_WASM32_PAGE_SIZE;
    caps->alloc_granularity = (size_t)1 << k23_wasm32_mblocks()->shift;
    caps->can_decommit = false; /* decommit zeroes; memory stays resident */
    caps->can_release = true;   /* released ranges are reused, see above */
    caps->has_vm = true;
    caps->pkeys_available = 0;
}

static const char *const wasm32_level_names[] = {"error", "warn", "info",
                                                 "debug"};

void k23_port_log(int level, const char *msg)
{
    const char *name = level >= 0 && level <= 3 ? wasm32_level_names[level]
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

static size_t wasm32_reserved_bytes;

static bool wasm32_page_aligned(uintptr_t v)
{
    return (v & (K23_WASM32_PAGE_SIZE - 1)) == 0;
}

/* Megablocks covering size bytes. */
static size_t wasm32_mblocks_for(const k23_mblock_t *m, size_t size)
{
    size_t mask = ((size_t)1 << m->shift) - 1;
    return (size >> m->shift) + ((size & mask) != 0);
}

int k23_port_vm_reserve(size_t size, size_t align, void **out)
{
    if (size == 0 || !wasm32_page_aligned(size) ||
        align < K23_WASM32_PAGE_SIZE || (align & (align - 1)) != 0)
        return K23_ERR_INVAL;
    k23_mblock_t *m = k23_wasm32_mblocks();
    unsigned align_log2 = (unsigned)__builtin_ctz(align);
    void *p;
    int rc = k23_mblock_alloc(m, wasm32_mblocks_for(m, size), align_log2,
                              K23_MBLOCK_ZERO, &p);
    if (rc != K23_OK)
        return rc;
    wasm32_reserved_bytes += size;
    *out = p;
    return K23_OK;
}

int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm)
{
    (void)perm; /* no protections in linear memory; W^X is the caller's */
    if (!wasm32_page_aligned((uintptr_t)addr) || !wasm32_page_aligned(size))
        return K23_ERR_INVAL;
    return K23_OK;
}

int k23_port_vm_decommit(void *addr, size_t size)
{
    if (!wasm32_page_aligned((uintptr_t)addr) || !wasm32_page_aligned(size))
        return K23_ERR_INVAL;
    memset(addr, 0, size);
    return K23_OK;
}

int k23_port_vm_release(void *addr, size_t size)
{
    if (size == 0 || !wasm32_page_aligned(size))
        return K23_ERR_INVAL;
    k23_mblock_t *m = k23_wasm32_mblocks();
    int rc = k23_mblock_free(m, addr, wasm32_mblocks_for(m, size));
    if (rc != K23_OK)
        return rc;
    wasm32_reserved_bytes -= size;
    return K23_OK;
}

size_t k23_port_vm_reserved_bytes(void)
{
    return wasm32_reserved_bytes;
}

/* Protection keys and the MMU: wasm32 has neither; ports/common/pkey_none.c
 * and ports/common/mmu_none.c. */
