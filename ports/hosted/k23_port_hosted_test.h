/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Test hooks of the hosted port, for its own tests only: not installed,
 * and hidden from libk23mem.so (programs linked with the static library
 * can call them).
 */
#ifndef K23_PORT_HOSTED_TEST_H
#define K23_PORT_HOSTED_TEST_H

#include <stddef.h>
#include <stdint.h>

/** The CPU the calling thread runs on now, < k23_port_cpu_count(): what
 *  k23_port_cpu_local_enter() returns (the tests pin threads and check). */
__attribute__((visibility("hidden"))) unsigned k23_port_hosted_cpu_id_(void);

/** The protection-key system calls, each as the kernel answers: the
 *  result, or -1 with errno set. */
typedef struct k23_port_hosted_pkey_sys {
    int (*alloc)(void);                /**< pkey_alloc(0, 0) */
    int (*free)(int key);              /**< pkey_free(key) */
    int (*mprotect)(void *addr, size_t size, int prot, int key);
                                       /**< pkey_mprotect() */
} k23_port_hosted_pkey_sys_t;

/**
 * Make the port's protection-key hooks use @p sys instead of the kernel
 * (NULL: the kernel again) and forget the probe, so that the next
 * k23_port_caps() or key hook probes @p sys. @p sys must stay valid while
 * in use. Not for use while other threads use the key hooks.
 */
__attribute__((visibility("hidden"))) void
k23_port_hosted_pkey_inject_(const k23_port_hosted_pkey_sys_t *sys);

/* Hosted port only: the MMU hooks cannot touch a real MMU here, so they
 * record what they were asked; page-table tests read the record. */
typedef struct k23_hosted_mmu_log {
    unsigned activate_calls;  /* k23_port_mmu_activate() calls */
    unsigned reg;             /* its last register */
    uint64_t value;           /* its last value */
    unsigned flush_calls;     /* k23_port_tlb_flush() calls */
    unsigned arch;            /* last flush: arch, asid, flags, entries */
    uint32_t asid;
    uint32_t flags;
    size_t n;
    uint64_t va[64];          /* first 64 entries of the last flush */
    uint64_t entries_total;   /* entries over all flushes */
} k23_hosted_mmu_log_t;
__attribute__((visibility("hidden"))) k23_hosted_mmu_log_t *
k23_hosted_mmu_log(void);

/* Built with K23_PORT_HOSTED_ASPACE only (ports/hosted/vm_aspace.c): the
 * address space the VM hooks forward to, set up on first use. Callers
 * must not change it. */
struct k23_aspace;
__attribute__((visibility("hidden"))) struct k23_aspace *
k23_port_hosted_aspace_(void);

#endif /* K23_PORT_HOSTED_TEST_H */
