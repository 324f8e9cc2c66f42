/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * frames_demo: the frame allocator on a PC-like memory map.
 *
 * The map is what a BIOS e820 table and a bootloader hand a kernel: low
 * memory under 640 KiB, RAM from 1 MiB to just under 2 GiB with the
 * kernel image cut out of it, ACPI tables and the PCI hole up to 4 GiB,
 * then 2 GiB above 4 GiB. The "physical" addresses are real-looking; they
 * are backed by a 6 GiB mmap(MAP_NORESERVE) reservation through the
 * config's phys_to_virt hook, and only the bookkeeping and the frames this
 * demo zeroes are ever touched.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <k23mem/k23mem.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static unsigned char *phys_window;

static void *demo_phys_to_virt(void *ctx, k23_paddr_t pa)
{
    (void)ctx;
    return phys_window + pa;
}

static k23_frames_t fa; /* ~48 KiB: static storage, as in a kernel */

static void print_stats(const char *title)
{
    k23_frames_stats_t s;
    k23_frames_stats(&fa, &s);
    printf("%s: %llu frames, %llu free, %llu in per-CPU caches, "
           "%llu allocated\n  free blocks per order:",
           title, (unsigned long long)s.total_frames,
           (unsigned long long)s.free_frames,
           (unsigned long long)s.cached_frames,
           (unsigned long long)s.allocated_frames);
    for (unsigned o = 0; o <= s.max_order; o++)
        printf(" %llu", (unsigned long long)s.free_blocks[o]);
    printf("\n");
}

static void check_or_die(int rc, const char *what)
{
    if (rc != K23_OK) {
        printf("%s: %s\n", what, k23_strerror(rc));
        exit(1);
    }
}

int main(void)
{
    printf("libk23mem %s frame allocator demo\n\n", k23_version());
    phys_window = mmap(NULL, 6 * GiB, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (phys_window == MAP_FAILED) {
        perror("mmap");
        return 1;
    }

    /* Free regions as a bootloader reports them: e820 "usable" entries
     * minus the kernel image, in firmware order, not all page aligned. */
    k23_range_t map[] = {
        {0x100000000ull, 2 * GiB},        /* RAM above 4 GiB */
        {0x00000000, 0x9fc00},            /* low memory, ends mid-page */
        {0x00100000, 0x00f00000},         /* 1 MiB .. kernel image */
        {0x02400000, 0x7fee0000 - 0x02400000}, /* after the kernel .. ACPI */
        {0xc0000000, 4 * KiB},            /* a lone page in the PCI hole */
    };
    size_t nmap = sizeof(map) / sizeof(map[0]);
    printf("memory map (%zu free regions):\n", nmap);
    for (size_t i = 0; i < nmap; i++)
        printf("  [0x%09llx, 0x%09llx)  %10llu KiB\n",
               (unsigned long long)map[i].base,
               (unsigned long long)(map[i].base + map[i].size),
               (unsigned long long)(map[i].size / KiB));

    k23_frames_config_t cfg;
    check_or_die(k23_frames_config_default(&cfg, 4096), "config");
    cfg.phys_to_virt = demo_phys_to_virt;
    k23_range_t rejected[4];
    size_t nrej = 0;
    check_or_die(k23_frames_init(&fa, map, nmap, &cfg, rejected, 4, &nrej),
                 "init");

    k23_frames_stats_t s0;
    k23_frames_stats(&fa, &s0);
    printf("\n%u arenas (hole budget %llu KiB, largest block %llu KiB):\n",
           s0.narenas, (unsigned long long)(cfg.hole_budget / KiB),
           (unsigned long long)((cfg.frame_size << cfg.max_order) / KiB));
    for (unsigned i = 0; i < s0.narenas; i++) {
        k23_frames_arena_info_t ai;
        k23_frames_arena_info(&fa, i, &ai);
        printf("  arena %u: [0x%09llx, 0x%09llx) %llu frames usable, "
               "%llu hole frames, bookkeeping %llu KiB at 0x%09llx\n",
               i, (unsigned long long)ai.range.base,
               (unsigned long long)(ai.range.base + ai.range.size),
               (unsigned long long)ai.usable_frames,
               (unsigned long long)ai.hole_frames,
               (unsigned long long)(ai.bookkeeping.size / KiB),
               (unsigned long long)ai.bookkeeping.base);
    }
    for (size_t i = 0; i < nrej; i++)
        printf("  rejected (too small for its own bookkeeping): "
               "[0x%09llx, +%llu)\n",
               (unsigned long long)rejected[i].base,
               (unsigned long long)rejected[i].size);
    printf("  bookkeeping: %llu bytes = %.2f bytes per usable frame\n",
           (unsigned long long)s0.metadata_bytes,
           (double)s0.metadata_bytes / (double)s0.total_frames);
    printf("  max_alignment: %llu KiB\n\n",
           (unsigned long long)(k23_frames_max_alignment(&fa) / KiB));
    print_stats("initial");

    /* Allocations a kernel makes at boot. */
    k23_paddr_t one, zeroed, run3, run257, huge, dma;
    check_or_die(k23_frames_alloc_one(&fa, &one), "alloc_one");
    check_or_die(k23_frames_alloc_one_zeroed(&fa, &zeroed), "alloc_one_zeroed");
    check_or_die(k23_frames_alloc_contiguous(&fa, 3 * 4096 - 100, 0, &run3),
                 "3-frame run");
    check_or_die(k23_frames_alloc_contiguous(&fa, 257 * 4096, 0, &run257),
                 "257-frame run");
    check_or_die(k23_frames_alloc_contiguous_zeroed(&fa, 2 * MiB, 21, &huge),
                 "2 MiB page");
    k23_frames_req_t isa = {64 * KiB, 16, K23_FRAMES_ZERO, 16 * MiB - 1};
    check_or_die(k23_frames_alloc(&fa, &isa, &dma), "DMA buffer");
    k23_paddr_t bulk[100];
    check_or_die(k23_frames_alloc_bulk(&fa, 100, 0, 4 * GiB - 1, bulk),
                 "bulk");
    printf("\nallocated:\n");
    printf("  one frame               0x%09llx\n", (unsigned long long)one);
    printf("  one zeroed frame        0x%09llx\n", (unsigned long long)zeroed);
    printf("  12188 bytes (3 frames)  0x%09llx\n", (unsigned long long)run3);
    printf("  257 frames, exact       0x%09llx\n", (unsigned long long)run257);
    printf("  2 MiB aligned, zeroed   0x%09llx\n", (unsigned long long)huge);
    printf("  64 KiB DMA below 16 MiB 0x%09llx\n", (unsigned long long)dma);
    printf("  100 frames below 4 GiB  0x%09llx .. 0x%09llx\n",
           (unsigned long long)bulk[0], (unsigned long long)bulk[99]);
    print_stats("now");
    k23_frames_stats_t s1;
    k23_frames_stats(&fa, &s1);
    printf("  frames used by the requests: %llu (a power-of-two buddy would "
           "use %llu)\n",
           (unsigned long long)s1.allocated_frames,
           (unsigned long long)(1 + 1 + 4 + 512 + 512 + 16 + 100));

    /* Give everything back: exactly the initial free blocks again. */
    k23_frames_free_one(&fa, one);
    k23_frames_free_one(&fa, zeroed);
    k23_frames_free_contiguous(&fa, run3, 3 * 4096 - 100);
    k23_frames_free_contiguous(&fa, run257, 257 * 4096);
    k23_frames_free_contiguous(&fa, huge, 2 * MiB);
    k23_frames_free_contiguous(&fa, dma, 64 * KiB);
    k23_frames_free_bulk(&fa, 100, bulk);
    print_stats("\nafter freeing, before draining caches");
    k23_frames_drain_all(&fa);
    print_stats("after draining the per-CPU caches");
    k23_frames_stats(&fa, &s1);
    int same = s1.free_frames == s0.free_frames;
    for (unsigned o = 0; o < K23_FRAMES_ORDER_LIMIT; o++)
        same &= s1.free_blocks[o] == s0.free_blocks[o];
    printf("  same free blocks as initially: %s\n", same ? "yes" : "NO");
    int rc = k23_frames_check(&fa);
    printf("  invariant check: %s\n", k23_strerror(rc));
    munmap(phys_window, 6 * GiB);
    return same && rc == K23_OK ? 0 : 1;
}
