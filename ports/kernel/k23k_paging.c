/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Paging for the example kernels, built with libk23mem's page-table
 * module (k23mem/pagetable.h) from frames of the kernel's frame allocator,
 * then turned on on every CPU.
 *
 * Layout: the kernel runs where it was loaded, and RAM is mapped at its
 * own address (a direct map with offset 0, so k23_port_phys_to_virt stays
 * the identity):
 *  - RAM outside the kernel image: read-write, never executable, in 2 MiB
 *    and 1 GiB blocks where the alignment allows (the engine chooses);
 *  - the image's three segments with the permissions of their ELF program
 *    headers (k23_perm_from_elf: text R-X, rodata R, data R-W; a W+X
 *    segment is refused);
 *  - the guard page under every CPU's stack: not mapped at all;
 *  - the MMIO windows the kernel uses (k23k_arch_mmio), as device memory.
 * Everything is done through k23_pt_map/k23_pt_unmap with one flush
 * object.
 *
 * The table belongs to an address space (k23mem/aspace.h) whose window is
 * [K23K_VM_LO, K23K_VM_LAST], a range far above RAM that nothing above
 * maps: the port's VM hooks (port.c) hand out reservations there, so the
 * memory pool and the instance allocators run as on the host. The
 * mappings above lie outside the window and are not regions of it: the
 * address space never hands them out and never unmaps them.
 */
#include <stdint.h>

#include "k23k_memmap.h"
#include "k23k_selftest.h"
#include "kernel.h"
#include "k23mem/aspace.h"
#include "k23mem/pagetable.h"
#include "k23mem/perm.h"

extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[], __text_pflags[];
extern char __rodata_start[], __rodata_end[], __rodata_pflags[];
extern char __data_start[], __data_end[], __data_pflags[];

static k23_aspace_t kernel_as;
#define kernel_pt (kernel_as.pt)
static k23_pt_flush_t kernel_flush;

k23_pt_t *k23k_kernel_pt(void)
{
    return &kernel_pt;
}

static void pt_check(int rc, const char *what, uint64_t va, uint64_t size)
{
    if (rc != K23_OK)
        k23k_fail("%s [0x%llx, +0x%llx): %s", what, (unsigned long long)va,
                  (unsigned long long)size, k23_strerror_name(rc));
}

static void map(uint64_t va, uint64_t size, k23_perm_t perm, unsigned mt,
                const char *what)
{
    if (size == 0)
        return;
    pt_check(k23_pt_map(&kernel_pt, va, va, size, perm, mt, 0,
                        &kernel_flush),
             what, va, size);
}

/* Count the leaves of each size, for the log. */
typedef struct leaf_count {
    uint64_t n4k, n2m, n1g;
} leaf_count_t;

static int count_leaf(void *ctx, const k23_pt_mapping_t *m)
{
    leaf_count_t *c = ctx;
    if (m->size == (UINT64_C(1) << 30))
        c->n1g++;
    else if (m->size == (UINT64_C(1) << 21))
        c->n2m++;
    else
        c->n4k++;
    return K23_OK;
}

static void mmu_on_job(void *arg)
{
    (void)arg;
    k23k_arch_mmu_on(&kernel_pt);
}

void k23k_selftest_paging(k23_frames_t *fa, const k23k_memmap_t *m)
{
    uint64_t t0 = k23k_arch_ticks();
    k23_pt_frame_source_t src;
    pt_check(k23_pt_frame_source_frames(&src, fa), "frame source", 0, 0);
    pt_check(k23_aspace_create(&kernel_as, k23k_arch_pt_format(), 0, &src,
                               K23K_VM_LO, K23K_VM_LAST),
             "k23_aspace_create", K23K_VM_LO, K23K_VM_LAST - K23K_VM_LO + 1);
    pt_check(k23_pt_flush_init(&kernel_flush, 0), "k23_pt_flush_init", 0, 0);

    /* RAM, except the image: the direct map, RW and never executable. */
    uint64_t ks = (uintptr_t)__kernel_start, ke = (uintptr_t)__kernel_end;
    const k23_perm_t rw = K23_PERM_READ | K23_PERM_WRITE;
    for (unsigned i = 0; i < m->n_ram; i++) {
        uint64_t b = m->ram[i].base & ~(uint64_t)(K23K_PAGE - 1);
        uint64_t e = (m->ram[i].base + m->ram[i].size) &
                     ~(uint64_t)(K23K_PAGE - 1);
        if (ks >= b && ke <= e) {
            map(b, ks - b, rw, K23_PT_MEM_NORMAL, "direct map");
            map(ke, e - ke, rw, K23_PT_MEM_NORMAL, "direct map");
        } else {
            map(b, e - b, rw, K23_PT_MEM_NORMAL, "direct map");
        }
    }

    /* The image, segment by segment, with its program headers' flags. */
    const struct {
        const char *name;
        uintptr_t start, end, pflags;
    } seg[3] = {
        {"text", (uintptr_t)__text_start, (uintptr_t)__text_end,
         (uintptr_t)__text_pflags},
        {"rodata", (uintptr_t)__rodata_start, (uintptr_t)__rodata_end,
         (uintptr_t)__rodata_pflags},
        {"data", (uintptr_t)__data_start, (uintptr_t)__data_end,
         (uintptr_t)__data_pflags},
    };
    for (unsigned i = 0; i < 3; i++) {
        k23_perm_t perm;
        int rc = k23_perm_from_elf((uint32_t)seg[i].pflags, &perm);
        if (rc == K23_ERR_WX)
            k23k_fail("segment %s asks for W+X: refused", seg[i].name);
        pt_check(rc, "k23_perm_from_elf", seg[i].start,
                 seg[i].end - seg[i].start);
        map(seg[i].start, seg[i].end - seg[i].start, perm, K23_PT_MEM_NORMAL,
            seg[i].name);
    }

    /* Guard pages: check the pattern one last time, then unmap them; from
     * now on an overflow faults. */
    k23k_smp_guard_check();
    for (unsigned i = 0; i < k23k_smp_count(); i++)
        pt_check(k23_pt_unmap(&kernel_pt, (uintptr_t)k23k_smp_guard(i),
                              K23K_GUARD_SIZE, &kernel_flush),
                 "unmap guard", (uintptr_t)k23k_smp_guard(i),
                 K23K_GUARD_SIZE);

    k23k_mmio_t mmio[8];
    unsigned nmmio = k23k_arch_mmio(mmio, 8);
    for (unsigned i = 0; i < nmmio; i++)
        map(mmio[i].base, mmio[i].size, rw, mmio[i].memtype, mmio[i].what);

    pt_check(k23_pt_flush(&kernel_flush), "k23_pt_flush", 0, 0);
    k23k_smp_run_all(mmu_on_job, NULL);
    k23k_port_vm_enable(&kernel_as);

    leaf_count_t c = {0, 0, 0};
    pt_check(k23_pt_walk(&kernel_pt, 0, UINT64_C(1) << 38, count_leaf, &c),
             "k23_pt_walk", 0, 0);
    k23k_printf("paging on (%s) on %u CPU(s): %llu table frames; leaves "
                "%llu x 1 GiB, %llu x 2 MiB, %llu x 4 KiB; text R-X, rodata "
                "R, data RW, RAM RW no-exec, %u guard pages unmapped, %u "
                "MMIO windows; VM window [0x%llx, 0x%llx] (%u ms)\n",
                kernel_pt.fmt->name, k23k_smp_count(),
                (unsigned long long)k23_pt_table_frames(&kernel_pt),
                (unsigned long long)c.n1g, (unsigned long long)c.n2m,
                (unsigned long long)c.n4k, k23k_smp_count(), nmmio,
                (unsigned long long)K23K_VM_LO,
                (unsigned long long)K23K_VM_LAST,
                (unsigned)((k23k_arch_ticks() - t0) * 1000 /
                           k23k_arch_tick_hz()));
}
