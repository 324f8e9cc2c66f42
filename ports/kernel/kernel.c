/*
 * The example kernel: boots on QEMU's virt machine (aarch64 or riscv64),
 * finds its RAM through the device tree, hands it to libk23mem and checks
 * the library from the inside. The last line it prints is the verdict,
 * "K23MEM-SELFTEST PASS frames=<n> arenas=<m>" or
 * "K23MEM-SELFTEST FAIL <reason>", and the machine exits with status 0 or 1.
 */
#include <stdint.h>

#include <libfdt.h>

#include "k23k_memmap.h"
#include "kernel.h"

/* From the link script (kernel-common.ld). */
extern char __kernel_start[], __kernel_end[];

extern uintptr_t __stack_chk_guard;

static k23k_memmap_t kernel_map;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond))                                                         \
            k23k_fail(__VA_ARGS__);                                          \
    } while (0)

void k23k_main(uintptr_t dtb, uintptr_t boot_hart)
{
    /* Give libfdt's stack protector a canary that differs per boot. */
    __stack_chk_guard ^= (uintptr_t)(k23k_arch_ticks() * UINT64_C(0x9e3779b97f4a7c15));

    const void *fdt = (const void *)dtb;
    k23k_printf("\nlibk23mem kernel port: %s on QEMU virt, hart %lu, DTB at 0x%lx\n",
                k23k_arch_name, (unsigned long)boot_hart, (unsigned long)dtb);
    int err = fdt_check_header(fdt);
    CHECK(err == 0, "no valid device tree at 0x%lx: %s", (unsigned long)dtb,
          fdt_strerror(err));
    k23k_arch_init(fdt);

    k23k_memmap_t *m = &kernel_map;
    err = k23k_memmap_read(fdt, m);
    CHECK(err == 0, "reading the memory map from the DTB failed (%d)", err);
    uint64_t kbase = (uintptr_t)__kernel_start;
    uint64_t ksize = (uintptr_t)__kernel_end - (uintptr_t)__kernel_start;
    CHECK(k23k_memmap_exclude(m, kbase, ksize, "kernel image") &&
              k23k_memmap_exclude(m, dtb, fdt_totalsize(fdt), "device tree"),
          "too many exclusions");
    k23k_memmap_finish(m);
    k23k_memmap_print(m);

    CHECK(m->n_ram > 0, "the DTB describes no RAM");
    CHECK(k23k_memmap_in_ram(m, kbase, ksize), "kernel image not in RAM");
    CHECK(k23k_memmap_in_ram(m, dtb, fdt_totalsize(fdt)), "DTB not in RAM");
    CHECK(m->n_free > 0, "no free RAM");

    uint64_t frames = 0;
    for (unsigned i = 0; i < m->n_free; i++)
        frames += m->free[i].size / K23K_PAGE;
    k23k_printf("K23MEM-SELFTEST PASS frames=%llu arenas=%u\n",
                (unsigned long long)frames, m->n_free);
    k23k_arch_exit(0);
}
