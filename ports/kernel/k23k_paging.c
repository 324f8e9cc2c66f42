/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Paging for the example kernels: the kernel's address space is one
 * k23_aspace_t (k23mem/aspace.h) whose page table comes from frames of the
 * kernel's frame allocator; every mapping is a region of it. It is then
 * turned on on every CPU, and the port's VM hooks forward to it.
 *
 * The kernel runs where it was loaded and RAM is mapped at its own address
 * (a direct map with offset 0, so k23_port_phys_to_virt stays the
 * identity). The window of the address space is [0, K23K_VM_LAST]; the
 * fixed regions, reserved here, all lie below K23K_VM_LO:
 *
 * | region | kind | perms | memory |
 * |---|---|---|---|
 * | text, rodata, data | WIRED | their ELF program headers' (a W+X segment is refused) | normal |
 * | direct map | WIRED | RW, never X; 2 MiB / 1 GiB blocks where aligned | normal |
 * | the MMIO windows the kernel uses (k23k_arch_mmio) | WIRED | RW | device |
 * | guard page under every CPU's stack | GUARD | none | - |
 * | everything else below K23K_VM_LO ("unused") | GUARD | none | - |
 *
 * The "unused" guards make the address space cover [0, K23K_VM_LO)
 * without a gap, for two reasons: a stray access there is reported by
 * k23_aspace_fault as a guard (NULL and small offsets included), and the
 * dynamic regions, which are placed first fit (the VM hooks' reservations
 * of the wasm memories, the fault test's demand-zero region, the TLB
 * shootdown's page), all land in [K23K_VM_LO, K23K_VM_LAST], never
 * between two device windows. The stack guards are cut out of the data
 * segment's region with k23_aspace_unmap() (which splits it) and then
 * reserved as GUARD regions of their own.
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

bool k23k_inject_wx;

static k23_aspace_t kernel_as;
static k23_pt_flush_t kernel_flush;

const k23_pt_t *k23k_kernel_pt(void)
{
    return k23_aspace_pt(&kernel_as);
}

static void check(int rc, const char *what, uint64_t va, uint64_t size)
{
    if (rc != K23_OK)
        k23k_fail("%s [0x%llx, +0x%llx): %s", what, (unsigned long long)va,
                  (unsigned long long)size, k23_strerror_name(rc));
}

/* The fixed regions reserved so far (every kind but the "unused" fill),
 * in the order they were reserved: what the fill must leave out. */
#define MAX_FIXED 64
static struct {
    uint64_t base, end;
} fixed[MAX_FIXED];
static unsigned nfixed;

static void reserve(uint64_t base, uint64_t size, unsigned kind,
                    k23_perm_t perm, unsigned memtype, const char *name)
{
    if (size == 0)
        return;
    k23_aspace_desc_t d = {.kind = kind, .perm = perm, .memtype = memtype,
                           .pa = kind == K23_ASPACE_WIRED ? base : 0,
                           .map_flags = 0, .name = name};
    check(k23_aspace_reserve(&kernel_as, base, size, &d, &kernel_flush),
          name, base, size);
    if (nfixed == MAX_FIXED)
        k23k_fail("more than %u fixed kernel regions", MAX_FIXED);
    fixed[nfixed].base = base;
    fixed[nfixed].end = base + size;
    nfixed++;
}

/* The first no-map reservation's first page, 0 if there is none. */
static uint64_t first_nomap;

/* A range the direct map leaves out: the image, a no-map reservation. */
typedef struct hole {
    uint64_t base, end;
} hole_t;

/* The direct map: RAM except the kernel image and the no-map
 * reservations (page-rounded outward), RW and never executable. */
static void reserve_direct_map(const k23k_memmap_t *m,
                               const k23k_range_t *nomap, unsigned n_nomap)
{
    hole_t hole[K23K_MAX_RANGES + 1];
    unsigned nh = 0;
    hole[nh].base = (uintptr_t)__kernel_start;
    hole[nh].end = (uintptr_t)__kernel_end;
    nh++;
    for (unsigned i = 0; i < n_nomap && nh < K23K_MAX_RANGES + 1; i++) {
        hole[nh].base = nomap[i].base & ~(uint64_t)(K23K_PAGE - 1);
        hole[nh].end = (nomap[i].base + nomap[i].size + K23K_PAGE - 1) &
                       ~(uint64_t)(K23K_PAGE - 1);
        nh++;
    }
    /* By base (a handful: insertion sort). */
    for (unsigned i = 1; i < nh; i++) {
        hole_t h = hole[i];
        unsigned j = i;
        for (; j > 0 && hole[j - 1].base > h.base; j--)
            hole[j] = hole[j - 1];
        hole[j] = h;
    }
    const k23_perm_t rw = K23_PERM_READ | K23_PERM_WRITE;
    for (unsigned i = 0; i < m->n_ram; i++) {
        uint64_t cur = m->ram[i].base & ~(uint64_t)(K23K_PAGE - 1);
        uint64_t e = (m->ram[i].base + m->ram[i].size) &
                     ~(uint64_t)(K23K_PAGE - 1);
        for (unsigned k = 0; k < nh && cur < e; k++) {
            if (hole[k].end <= cur || hole[k].base >= e)
                continue;
            if (hole[k].base > cur)
                reserve(cur, hole[k].base - cur, K23_ASPACE_WIRED, rw,
                        K23_PT_MEM_NORMAL, "direct map");
            cur = hole[k].end;
        }
        if (cur < e)
            reserve(cur, e - cur, K23_ASPACE_WIRED, rw, K23_PT_MEM_NORMAL,
                    "direct map");
    }
    /* The no-map reservations themselves: guards named after their
     * nodes, so a stray access is reported as such. */
    for (unsigned i = 0; i < n_nomap; i++) {
        uint64_t b = nomap[i].base & ~(uint64_t)(K23K_PAGE - 1);
        uint64_t e = (nomap[i].base + nomap[i].size + K23K_PAGE - 1) &
                     ~(uint64_t)(K23K_PAGE - 1);
        reserve(b, e - b, K23_ASPACE_GUARD, K23_PERM_NONE, 0, nomap[i].what);
        if (i == 0)
            first_nomap = b;
    }
}

uint64_t k23k_paging_first_nomap(void)
{
    return first_nomap;
}

/* The image, segment by segment, with its program headers' flags (the
 * link script's __<seg>_pflags; ctest's kernel_<arch>_segments checks
 * they are the ELF file's). */
static void reserve_segments(void)
{
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
        uint32_t pflags = (uint32_t)seg[i].pflags;
        if (k23k_inject_wx && i == 2)
            pflags |= K23_ELF_PF_X;
        int rc = k23_perm_from_elf(pflags, &perm);
        if (rc == K23_ERR_WX)
            k23k_fail("segment %s asks for W+X: refused", seg[i].name);
        check(rc, "k23_perm_from_elf", seg[i].start,
              seg[i].end - seg[i].start);
        reserve(seg[i].start, seg[i].end - seg[i].start, K23_ASPACE_WIRED,
                perm, K23_PT_MEM_NORMAL, seg[i].name);
    }
    /* The address space refuses a W+X region by itself too: nothing is
     * created, nothing changes. */
    k23_aspace_stats_t st0, st1;
    check(k23_aspace_stats(&kernel_as, &st0), "k23_aspace_stats", 0, 0);
    k23_aspace_desc_t wx = {.kind = K23_ASPACE_WIRED,
                            .perm = K23_PERM_READ | K23_PERM_WRITE |
                                    K23_PERM_EXECUTE,
                            .memtype = K23_PT_MEM_NORMAL,
                            .pa = (uintptr_t)__text_start,
                            .name = "rwx"};
    int rc = k23_aspace_reserve(&kernel_as, K23K_VM_LO, K23K_PAGE, &wx,
                                &kernel_flush);
    check(k23_aspace_stats(&kernel_as, &st1), "k23_aspace_stats", 0, 0);
    if (rc != K23_ERR_WX || st1.regions != st0.regions)
        k23k_fail("k23_aspace_reserve of an RWX region: %s, %llu regions "
                  "(expected K23_ERR_WX, %llu)", k23_strerror_name(rc),
                  (unsigned long long)st1.regions,
                  (unsigned long long)st0.regions);
}

/* Guard pages: check the pattern one last time, cut each page out of the
 * data segment's region and reserve it as a guard; from now on an
 * overflow faults and the address space names it. */
static void reserve_stack_guards(void)
{
    static char names[K23K_MAX_CPUS][16];
    k23k_smp_guard_check();
    for (unsigned i = 0; i < k23k_smp_count(); i++) {
        uint64_t g = (uintptr_t)k23k_smp_guard(i);
        check(k23_aspace_unmap(&kernel_as, g, K23K_GUARD_SIZE,
                               &kernel_flush),
              "k23_aspace_unmap of a stack guard", g, K23K_GUARD_SIZE);
        char *n = names[i];
        const char *p = "stack guard ";
        unsigned k = 0;
        for (; p[k] != '\0'; k++)
            n[k] = p[k];
        if (i >= 10)
            n[k++] = (char)('0' + i / 10);
        n[k++] = (char)('0' + i % 10);
        n[k] = '\0';
        reserve(g, K23K_GUARD_SIZE, K23_ASPACE_GUARD, K23_PERM_NONE, 0, n);
    }
}

static void reserve_mmio(void)
{
    k23k_mmio_t mmio[8];
    unsigned n = k23k_arch_mmio(mmio, 8);
    for (unsigned i = 0; i < n; i++)
        reserve(mmio[i].base, mmio[i].size, K23_ASPACE_WIRED,
                K23_PERM_READ | K23_PERM_WRITE, mmio[i].memtype,
                mmio[i].what);
}

/* Everything below K23K_VM_LO that no fixed region holds: "unused"
 * guards (see the top of the file). */
static unsigned reserve_unused(void)
{
    unsigned n = 0;
    uint64_t at = 0;
    while (at < K23K_VM_LO) {
        /* The next fixed region at or above @at. */
        uint64_t next = K23K_VM_LO, next_end = K23K_VM_LO;
        for (unsigned i = 0; i < nfixed; i++) {
            if (fixed[i].end > at && fixed[i].base < next) {
                next = fixed[i].base;
                next_end = fixed[i].end;
            }
        }
        if (next > at) {
            k23_aspace_desc_t d = {.kind = K23_ASPACE_GUARD,
                                   .name = "unused"};
            check(k23_aspace_reserve(&kernel_as, at, next - at, &d,
                                     &kernel_flush),
                  "unused", at, next - at);
            n++;
        }
        at = next_end > at ? next_end : at;
        if (next == K23K_VM_LO)
            break;
    }
    return n;
}

static const char *kind_name(unsigned kind, unsigned memtype)
{
    switch (kind) {
    case K23_ASPACE_WIRED:
        return memtype == K23_PT_MEM_DEVICE ? "wired device" : "wired";
    case K23_ASPACE_ANON_EAGER:
        return "anonymous";
    case K23_ASPACE_ANON_LAZY:
        return "demand-zero";
    case K23_ASPACE_GUARD:
        return "guard";
    case K23_ASPACE_VM:
        return "vm";
    default:
        return "?";
    }
}

/* The regions below K23K_VM_LO, in address order: the window has no gap
 * there, so each lookup finds the one that follows the last. */
static void print_regions(void)
{
    uint64_t at = 0;
    while (at < K23K_VM_LO) {
        k23_aspace_info_t info;
        check(k23_aspace_lookup(&kernel_as, at, &info), "k23_aspace_lookup",
              at, K23K_PAGE);
        char perm[K23_PERM_STR_MAX];
        if (info.kind == K23_ASPACE_GUARD)
            perm[0] = '-', perm[1] = '\0';
        else
            k23_perm_format(info.perm, perm, sizeof(perm));
        k23k_printf("  region [0x%010llx, 0x%010llx) %-20s %-12s %s\n",
                    (unsigned long long)info.base,
                    (unsigned long long)(info.base + info.size), info.name,
                    kind_name(info.kind, info.memtype), perm);
        at = info.base + info.size;
    }
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
    k23k_arch_mmu_on(k23_aspace_pt(&kernel_as));
}

void k23k_selftest_paging(k23_frames_t *fa, const k23k_memmap_t *m,
                          const k23k_range_t *nomap, unsigned n_nomap)
{
    uint64_t t0 = k23k_arch_ticks();
    k23_pt_frame_source_t src;
    check(k23_pt_frame_source_frames(&src, fa), "frame source", 0, 0);
    check(k23_aspace_create(&kernel_as, k23k_arch_pt_format(), 0, &src, 0,
                            K23K_VM_LAST),
          "k23_aspace_create", 0, K23K_VM_LAST + 1);
    check(k23_pt_flush_init(&kernel_flush, 0), "k23_pt_flush_init", 0, 0);

    reserve_direct_map(m, nomap, n_nomap);
    reserve_segments();
    reserve_stack_guards();
    reserve_mmio();
    unsigned nunused = reserve_unused();
    check(k23_aspace_check(&kernel_as), "k23_aspace_check", 0,
          K23K_VM_LAST + 1);

    check(k23_pt_flush(&kernel_flush), "k23_pt_flush", 0, 0);
    k23k_smp_run_all(mmu_on_job, NULL);
    k23k_port_vm_enable(&kernel_as);

    k23_aspace_stats_t st;
    check(k23_aspace_stats(&kernel_as, &st), "k23_aspace_stats", 0, 0);
    leaf_count_t c = {0, 0, 0};
    check(k23_pt_walk(k23_aspace_pt(&kernel_as), 0, K23K_VM_LAST + 1,
                      count_leaf, &c),
          "k23_pt_walk", 0, K23K_VM_LAST + 1);
    k23k_printf("paging on (%s) on %u CPU(s): kernel address space "
                "[0, 0x%llx] with %llu regions (%u unused guards), %llu "
                "table frames, %llu record frames; leaves %llu x 1 GiB, "
                "%llu x 2 MiB, %llu x 4 KiB; an RWX region is refused (%u "
                "ms)\n",
                k23k_kernel_pt()->fmt->name, k23k_smp_count(),
                (unsigned long long)K23K_VM_LAST,
                (unsigned long long)st.regions, nunused,
                (unsigned long long)st.table_frames,
                (unsigned long long)st.record_frames,
                (unsigned long long)c.n1g, (unsigned long long)c.n2m,
                (unsigned long long)c.n4k,
                (unsigned)((k23k_arch_ticks() - t0) * 1000 /
                           k23k_arch_tick_hz()));
    print_regions();
    k23k_printf("  [0x%010llx, 0x%010llx]: free, for regions placed first "
                "fit (VM hooks, demand-zero, shootdown)\n",
                (unsigned long long)K23K_VM_LO,
                (unsigned long long)K23K_VM_LAST);
}
