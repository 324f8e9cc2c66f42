/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Pieces of the example kernels' self-test and the frame-backed instance
 * allocator (k23k_instance.c).
 */
#ifndef K23K_SELFTEST_H
#define K23K_SELFTEST_H

#include <stdint.h>

#include "k23mem/frames.h"
#include "k23mem/instance.h"

/**
 * An on-demand instance allocator for a kernel without virtual memory, as
 * the seed's placeholder: every instance block, memory and table is its own
 * zeroed physically contiguous run from the frame allocator, aligned to
 * 2 MiB (capped by k23_frames_max_alignment()) when it is at least 2 MiB.
 * Without an MMU nothing can be reserved and committed later, so a memory
 * gets its whole capacity (its maximum, capped by memory_bound) up front,
 * and there are no guard regions (guard_bytes = 0).
 */
typedef struct k23k_frames_instance {
    k23_frames_t *fa;       /* the frame allocator */
    uint64_t memory_bound;  /* bytes backing a memory without a smaller max */
    uint64_t table_bound;   /* elements backing a table without a smaller max */
    uint64_t live_runs;     /* runs handed out and not yet freed */
    uint64_t live_bytes;    /* their bytes */
} k23k_frames_instance_t;

/* Set up the allocator; returns K23_OK or K23_ERR_INVAL. */
int k23k_frames_instance_init(k23k_frames_instance_t *fi, k23_frames_t *fa,
                              uint64_t memory_bound, uint64_t table_bound,
                              k23_instance_allocator_t *out);

/* Step 8 of the self-test (fails the run on any error). */
void k23k_selftest_instance(k23_frames_t *fa);

/*
 * SMP stress (k23k_stress.c): every CPU allocates and frees frames and
 * small runs for @p ms milliseconds; ownership checked in @p seen (one bit
 * per frame from seen_base, all clear on entry and again on return).
 */
void k23k_selftest_smp_stress(k23_frames_t *fa, uint64_t *seen,
                              uint64_t seen_base, uint64_t seen_frames,
                              unsigned ms);

/*
 * Paging (k23k_paging.c): the kernel address space, a k23_aspace_t whose
 * regions are the image's segments, the direct map, the MMIO windows and
 * the stack guards, built from frames of @p fa, then turned on on every
 * CPU; the port's VM hooks forward to it from then on.
 */
struct k23k_memmap;
struct k23k_range;
/* @p nomap: the device tree's no-map reservations, left out of the
 * direct map (reserved as guards named after their nodes). */
void k23k_selftest_paging(k23_frames_t *fa, const struct k23k_memmap *m,
                          const struct k23k_range *nomap, unsigned n_nomap);
/* The first page of the first no-map reservation, 0 if none. */
uint64_t k23k_paging_first_nomap(void);
/* The kernel's page tables (valid after k23k_selftest_paging). */
const struct k23_pt *k23k_kernel_pt(void);
/* Fault injection (k23.inject=wx): the data segment's program-header
 * flags ask for execute too; building the address space must refuse. */
extern bool k23k_inject_wx;

/*
 * The kernel's address space covers [0, K23K_VM_LAST]: the fixed regions
 * (image, direct map, MMIO, stack guards, "unused" guards) fill
 * [0, K23K_VM_LO), and regions placed first fit (the VM hooks'
 * reservations, the fault test's demand-zero region, the shootdown page)
 * land in [K23K_VM_LO, K23K_VM_LAST]: 64 GiB from 192 GiB, above RAM and
 * below 2^38, so inside Sv39's low half and aarch64's 48-bit TTBR0.
 */
#define K23K_VM_LO UINT64_C(0x3000000000)
#define K23K_VM_LAST UINT64_C(0x3fffffffff)

/*
 * The port's VM hooks (port.c): K23_ERR_UNSUPPORTED until paging is on,
 * then forwarded to @p as under the lock below.
 */
struct k23_aspace;
void k23k_port_vm_enable(struct k23_aspace *as);
/* The address space behind the hooks, NULL before paging. */
struct k23_aspace *k23k_port_vm_aspace(void);
/* The lock that serialises every change of that address space. */
void k23k_port_vm_lock(void);
void k23k_port_vm_unlock(void);

/*
 * Page faults (k23k_faults.c): what the arch trap handler does with a
 * decoded fault, and the self-test step that provokes them.
 */
#define K23K_FAULT_FATAL 0 /* fail the run */
#define K23K_FAULT_RETRY 1 /* resolved: retry the access */
#define K23K_FAULT_PROBE 2 /* a probe faulted: return 1 from it */
struct k23_pt_fault;
int k23k_page_fault(const struct k23_pt_fault *f);
void k23k_selftest_faults(k23_frames_t *fa);
/* TLB shootdown between CPU 0 and CPU 1 (skipped with one CPU). */
void k23k_selftest_shootdown(k23_frames_t *fa);

/*
 * A fault the kernel's address space did not resolve: its answer, and for
 * an address inside a VM reservation a description from whoever
 * registered a describer (the wasm self-test names the memory it belongs
 * to).
 */
struct k23_aspace_fault_result;
typedef void (*k23k_vm_describe_fn)(void *ctx, uint64_t addr, char *buf,
                                    unsigned size);
void k23k_vm_fault_describer(k23k_vm_describe_fn fn, void *ctx);
/* Read @p addr with a probe: 0 if the read went through, 1 if it faulted
 * and the address space was not asked (paging off), 2 if it was: then
 * @p res and @p buf hold what the address space and the describer said. */
int k23k_probe_vm_read(uint64_t addr, struct k23_aspace_fault_result *res,
                       char *buf, unsigned size);

/* Wasm memories over the VM hooks: pooling and on-demand instances, an
 * out-of-bounds read into a guard region (k23k_wasm.c). */
void k23k_selftest_wasm(void);

#endif /* K23K_SELFTEST_H */
