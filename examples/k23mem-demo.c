/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-demo: the foundation modules at work on a small, realistic input.
 * Takes a QEMU-virt-like memory map, removes the kernel image and the
 * device tree from it, aligns what is left to pages, and describes the
 * kernel's ELF segments with permission flags checked for W^X.
 */
#include <stdio.h>

#include <k23mem/k23mem.h>

static void print_ranges(const char *title, const k23_range_t *v, size_t n)
{
    printf("%s (%zu):\n", title, n);
    for (size_t i = 0; i < n; i++)
        printf("  [0x%016llx, 0x%016llx]  %8llu KiB\n",
               (unsigned long long)v[i].base,
               (unsigned long long)k23_range_last(v[i]),
               (unsigned long long)(v[i].size >> 10));
}

int main(void)
{
    printf("libk23mem %s demo\n\n", k23_version());

    /* RAM as firmware reports it: unsorted, touching banks, one bank that
     * is not page aligned. */
    k23_range_t ram[] = {
        {0x48000000, 0x08000000},
        {0x40000000, 0x08000000},
        {0x100000000ull, 0x40000800},
    };
    size_t nram = sizeof(ram) / sizeof(ram[0]);
    k23_ranges_merge(ram, &nram);
    print_ranges("RAM banks, sorted and merged", ram, nram);

    k23_range_t taken[] = {
        {0x40000000, 0x00100000}, /* device tree blob */
        {0x40200000, 0x00312345}, /* kernel image */
    };
    k23_range_t free_regions[8];
    size_t nfree = 0;
    int err = k23_ranges_subtract(ram, nram, taken, 2, free_regions, 8, &nfree);
    if (err != K23_OK) {
        printf("subtract failed: %s\n", k23_strerror(err));
        return 1;
    }
    for (size_t i = 0; i < nfree; i++)
        k23_range_align_inward(free_regions[i], 4096, &free_regions[i]);
    print_ranges("\nfree after taking out the DTB and the kernel, page aligned",
                 free_regions, nfree);

    /* A too-small output array is an error that says how much is needed. */
    size_t need = 0;
    err = k23_ranges_subtract(ram, nram, taken, 2, free_regions, 1, &need);
    printf("\nwith room for 1 region: %s (%s), %zu needed\n",
           k23_strerror_name(err), k23_strerror(err), need);

    /* The top of the address space is an ordinary place for a range. */
    k23_range_t top = {UINT64_MAX - 0xffff, 0x10000};
    uint64_t end = 0;
    err = k23_range_end(top, &end);
    printf("range ending at 2^64: last byte 0x%llx, exclusive end -> %s\n",
           (unsigned long long)k23_range_last(top), k23_strerror_name(err));

    printf("\nkernel ELF segments (p_flags -> permissions):\n");
    static const struct { const char *name; uint32_t flags; } segs[] = {
        {".text", K23_ELF_PF_R | K23_ELF_PF_X},
        {".rodata", K23_ELF_PF_R},
        {".data", K23_ELF_PF_R | K23_ELF_PF_W},
        {".bad", K23_ELF_PF_R | K23_ELF_PF_W | K23_ELF_PF_X},
    };
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        k23_perm_t p;
        char buf[K23_PERM_STR_MAX];
        err = k23_perm_from_elf(segs[i].flags, &p);
        if (err != K23_OK) {
            printf("  %-8s rejected: %s\n", segs[i].name, k23_strerror(err));
            continue;
        }
        k23_perm_format(p, buf, sizeof(buf));
        printf("  %-8s %s\n", segs[i].name, buf);
    }

    printf("\npage faults -> permissions needed:\n");
    static const struct { const char *name; k23_fault_t f; } faults[] = {
        {"load", K23_FAULT_LOAD},
        {"store", K23_FAULT_STORE},
        {"fetch", K23_FAULT_INSTRUCTION},
        {"load+store", K23_FAULT_LOAD | K23_FAULT_STORE},
    };
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        k23_perm_t p;
        char buf[K23_PERM_STR_MAX];
        err = k23_fault_to_perm(faults[i].f, &p);
        if (err != K23_OK) {
            printf("  %-10s invalid: %s\n", faults[i].name, k23_strerror(err));
            continue;
        }
        k23_perm_format(p, buf, sizeof(buf));
        printf("  %-10s %s\n", faults[i].name, buf);
    }
    return 0;
}
