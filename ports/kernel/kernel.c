/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The example kernel: boots on QEMU's virt machine (aarch64 or riscv64),
 * finds its RAM through the device tree, hands it to libk23mem and checks
 * the library from the inside. The last line it prints is the verdict,
 * "K23MEM-SELFTEST PASS frames=<n> arenas=<m>" or
 * "K23MEM-SELFTEST FAIL <reason>", and the machine exits with status 0 or 1.
 *
 * Steps (each prints what it did and how long it took):
 *  0a. the DTB moved, packed, into a boot carve above a free region (the
 *     loader's copy becomes free RAM; see step_move_dtb);
 *  1. memory map: libk23mem's device-tree module (k23_fdt_memmap) with the
 *     kernel image and the DTB taken out, compared with the kernel's own
 *     libfdt reading (k23k_memmap.c);
 *  2. boot carve: the self-test's "seen" bitmap (one bit per frame of RAM)
 *     is taken from the free map before the allocator sees it, as a real
 *     kernel's early allocations would be (given back in step 9);
 *  3. frame allocator from the free map;
 *  4. every frame one by one: in RAM, outside every exclusion and every
 *     arena's bookkeeping, never twice; all freed; statistics and free
 *     lists back to where they started;
 *  5. 2 MiB-aligned 2 MiB runs until none is left: exactly as many as the
 *     map holds; freed; statistics back;
 *  6. zeroed frames and runs read as zero after being dirtied;
 *  6a. paging on every CPU: the kernel address space is a k23_aspace_t
 *     whose regions are the image's segments, the direct map, the MMIO
 *     windows and the stack guards (k23k_paging.c); W^X, guard and
 *     demand-zero faults answered by k23_aspace_fault, TLB shootdown
 *     (k23k_faults.c);
 *  6b. SMP stress: every CPU allocates and frees at once (k23k_stress.c);
 *  7. the kernel's segments described with permission flags, W^X;
 *  8. an instance allocator backed by the frame allocator (k23k_instance.c);
 *  9. wasm memories over the VM hooks (k23k_wasm.c);
 *  10. boot memory back: the DTB's and the boot carve's frames go to the
 *     allocator through k23_frames_add_region.
 *
 * Fault injection for the runner's negative tests, from /chosen/bootargs
 * (QEMU -append): "k23.inject=dtb" hands the DTB's pages to the frame
 * allocator as free memory, which step 4 must catch; "k23.inject=local-tlb"
 * keeps TLB flushes on the flushing CPU, which the shootdown test must
 * catch; "k23.inject=wx" makes the data segment's flags ask for execute,
 * which building the address space must refuse.
 */
#include <stdint.h>

#include <libfdt.h>

#include "k23k_memmap.h"
#include "k23k_selftest.h"
#include "kernel.h"
#include "k23mem/fdt_memmap.h"
#include "k23mem/frames.h"
#include "k23mem/perm.h"

/* From the link script (kernel-common.ld). */
extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[], __text_pflags[];
extern char __rodata_start[], __rodata_end[], __rodata_pflags[];
extern char __data_start[], __data_end[], __data_pflags[];

extern uintptr_t __stack_chk_guard;

#define MiB (UINT64_C(1) << 20)
#define RUN_LOG2 21 /* 2 MiB */

static k23k_memmap_t kernel_map;  /* the reference */
static k23_frames_t kernel_frames; /* the allocator under test */

/* libk23mem's reading of the map. */
static k23_fdt_region_t lib_ram[K23K_MAX_RANGES];
static k23_fdt_region_t lib_taken[K23K_MAX_RANGES];
static size_t n_lib_taken;
static k23_fdt_region_t lib_dynamic[16];
static k23_range_t lib_free[2 * K23K_MAX_RANGES];
static k23_range_t frame_regions[2 * K23K_MAX_RANGES + 1];
static size_t n_frame_regions;

/* Arena bookkeeping areas: frames that must never be handed out. */
static k23_range_t bookkeeping[K23_FRAMES_MAX_ARENAS];
static unsigned n_bookkeeping;

/* One bit per frame of [seen_base, seen_base + seen_frames * 4 KiB). */
static uint64_t *seen;
static uint64_t seen_base;
static uint64_t seen_frames;

static uint64_t ticks_start;

static bool inject_dtb;
static const char what_dtb[] = "device tree";
static const char what_bitmap[] = "self-test bitmap";

/* ---- helpers ---- */

static uint64_t ms_since(uint64_t t0)
{
    return (k23k_arch_ticks() - t0) * 1000 / k23k_arch_tick_hz();
}

static void check_rc(int rc, const char *what)
{
    if (rc != K23_OK)
        k23k_fail("%s: %s (%d)", what, k23_strerror_name(rc), rc);
}

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
    return a < b + bs && b < a + as;
}

/* A frame or run the allocator handed out must lie in RAM, outside every
 * exclusion (the tree's reservations, the kernel, the DTB, the boot carve)
 * and outside every arena's own bookkeeping. */
static void check_placement(uint64_t pa, uint64_t size, const char *what)
{
    if ((pa & (K23K_PAGE - 1)) != 0)
        k23k_fail("%s 0x%llx is not frame aligned", what,
                  (unsigned long long)pa);
    if (!k23k_memmap_in_ram(&kernel_map, pa, size))
        k23k_fail("%s [0x%llx, +0x%llx) is not in RAM", what,
                  (unsigned long long)pa, (unsigned long long)size);
    const k23k_range_t *x = k23k_memmap_excluded(&kernel_map, pa, size);
    if (x != NULL)
        k23k_fail("%s [0x%llx, +0x%llx) overlaps excluded %s", what,
                  (unsigned long long)pa, (unsigned long long)size, x->what);
    for (unsigned i = 0; i < n_bookkeeping; i++) {
        if (ranges_overlap(pa, size, bookkeeping[i].base, bookkeeping[i].size))
            k23k_fail("%s 0x%llx overlaps the bookkeeping of arena %u", what,
                      (unsigned long long)pa, i);
    }
}

/* Mark [pa, pa + size) as handed out; fails if any frame already was. */
static void seen_mark(uint64_t pa, uint64_t size, const char *what)
{
    uint64_t first = (pa - seen_base) / K23K_PAGE;
    uint64_t n = size / K23K_PAGE;
    if (pa < seen_base || first + n > seen_frames)
        k23k_fail("%s 0x%llx outside the RAM span", what,
                  (unsigned long long)pa);
    for (uint64_t i = first; i < first + n; i++) {
        uint64_t bit = UINT64_C(1) << (i % 64);
        if ((seen[i / 64] & bit) != 0)
            k23k_fail("%s: frame 0x%llx handed out twice", what,
                      (unsigned long long)(seen_base + i * K23K_PAGE));
        seen[i / 64] |= bit;
    }
}

static bool seen_test(uint64_t i)
{
    return (seen[i / 64] >> (i % 64)) & 1;
}

static void stats_expect_start(const k23_frames_stats_t *st0, const char *when)
{
    k23_frames_stats_t st;
    k23_frames_drain_all(&kernel_frames);
    check_rc(k23_frames_stats(&kernel_frames, &st), "k23_frames_stats");
    if (st.free_frames != st0->free_frames ||
        st.allocated_frames != st0->allocated_frames ||
        st.cached_frames != st0->cached_frames ||
        st.total_frames != st0->total_frames)
        k23k_fail("%s: stats free=%llu allocated=%llu cached=%llu, "
                  "expected free=%llu allocated=%llu cached=%llu",
                  when, (unsigned long long)st.free_frames,
                  (unsigned long long)st.allocated_frames,
                  (unsigned long long)st.cached_frames,
                  (unsigned long long)st0->free_frames,
                  (unsigned long long)st0->allocated_frames,
                  (unsigned long long)st0->cached_frames);
    /* Freed memory must coalesce back into the very same buddy blocks. */
    for (unsigned o = 0; o < K23_FRAMES_ORDER_LIMIT; o++) {
        if (st.free_blocks[o] != st0->free_blocks[o])
            k23k_fail("%s: %llu free blocks of order %u, expected %llu", when,
                      (unsigned long long)st.free_blocks[o], o,
                      (unsigned long long)st0->free_blocks[o]);
    }
    check_rc(k23_frames_check(&kernel_frames), "k23_frames_check");
}

static const char *bootargs(const void *fdt)
{
    int chosen = fdt_path_offset(fdt, "/chosen");
    const char *s = chosen >= 0 ? fdt_getprop(fdt, chosen, "bootargs", NULL)
                                : NULL;
    return s != NULL ? s : "";
}

static bool has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = s; *p != '\0'; p++) {
        if ((p == s || p[-1] == ' ') && memcmp(p, w, n) == 0 &&
            (p[n] == '\0' || p[n] == ' '))
            return true;
    }
    return false;
}

/* ---- 0a. the device tree moved into a boot carve ----
 *
 * The loader's DTB lies wherever the loader put it. On aarch64 QEMU puts
 * it at the start of RAM, below every free frame, and an arena starts at
 * its first free frame: k23_frames_add_region could never give those
 * frames back (it fills holes inside an arena's span). So the kernel
 * reads the map once with its own libfdt reading, copies the tree,
 * packed, to the bottom of the largest free region (above a free region
 * below the kernel, so inside the arena's span) and runs everything from
 * the copy: the loader's range is plain RAM, free at init, and the copy
 * goes back after the self-test (step 10). Both arches do the same. */

/* The kernel's own reading of the map into kernel_map, with the image
 * and the whole DTB at @p dtb excluded. */
static k23k_memmap_t *read_own_map(const void *fdt, uintptr_t dtb)
{
    k23k_memmap_t *m = &kernel_map;
    int err = k23k_memmap_read(fdt, m);
    if (err != 0)
        k23k_fail("reading the DTB with libfdt failed (%d)", err);
    uint64_t kbase = (uintptr_t)__kernel_start;
    uint64_t ksize = (uintptr_t)__kernel_end - (uintptr_t)__kernel_start;
    if (!k23k_memmap_exclude(m, kbase, ksize, "kernel image") ||
        !k23k_memmap_exclude(m, dtb, fdt_totalsize(fdt), what_dtb))
        k23k_fail("too many exclusions");
    k23k_memmap_finish(m);
    return m;
}

static const void *step_move_dtb(const void *fdt, uintptr_t *dtb)
{
    uint64_t t0 = k23k_arch_ticks();
    uint64_t old_size = fdt_totalsize(fdt);
    /* Read again from the copy in step 1. */
    const k23k_memmap_t *m = read_own_map(fdt, *dtb);
    int err;
    /* What fdt_open_into needs: header, reservation block, structure,
     * strings; then fdt_pack makes totalsize exactly that. */
    uint64_t need = 64 + (uint64_t)(fdt_num_mem_rsv(fdt) + 1) * 16 +
                    fdt_size_dt_struct(fdt) + fdt_size_dt_strings(fdt);
    uint64_t size = (need + K23K_PAGE - 1) & ~(uint64_t)(K23K_PAGE - 1);
    unsigned best = 0;
    for (unsigned i = 1; i < m->n_free; i++) {
        if (m->free[i].size > m->free[best].size)
            best = i;
    }
    if (m->n_free == 0 || m->free[best].size < 2 * size)
        k23k_fail("no free region can hold the %llu-byte device tree",
                  (unsigned long long)size);
    uint64_t pa = m->free[best].base;
    void *copy = k23_port_phys_to_virt(pa);
    /* Packed where it is first: fdt_open_into only moves a tree whose
     * blocks are in order, and then needs room for all of totalsize
     * (QEMU's aarch64 tree: 1 MiB, nearly all of it free space). The
     * loader's tree is the kernel's to change. */
    err = fdt_pack((void *)(uintptr_t)fdt);
    if (err == 0)
        err = fdt_open_into(fdt, copy, (int)size);
    if (err == 0)
        err = fdt_pack(copy);
    if (err != 0)
        k23k_fail("copying the DTB: %s", fdt_strerror(err));
    k23k_printf("device tree moved: [0x%lx, +0x%llx) -> [0x%llx, +0x%x), "
                "packed (%u ms)\n", (unsigned long)*dtb,
                (unsigned long long)old_size, (unsigned long long)pa,
                fdt_totalsize(copy), (unsigned)ms_since(t0));
    *dtb = (uintptr_t)pa;
    return copy;
}

/* ---- 1. memory map ---- */

static void step_memory_map(const void *fdt, uintptr_t dtb)
{
    uint64_t t0 = k23k_arch_ticks();
    k23k_memmap_t *m = read_own_map(fdt, dtb);
    uint64_t kbase = (uintptr_t)__kernel_start;
    uint64_t ksize = (uintptr_t)__kernel_end - (uintptr_t)__kernel_start;
    uint64_t dsize = fdt_totalsize(fdt);
    if (m->n_ram == 0)
        k23k_fail("the DTB describes no RAM");
    if (!k23k_memmap_in_ram(m, kbase, ksize))
        k23k_fail("the kernel image is not in RAM");
    if (!k23k_memmap_in_ram(m, dtb, dsize))
        k23k_fail("the DTB is not in RAM");

    /* The library's reading, with the same two exclusions. */
    k23_range_t excl[2] = {{kbase, ksize}, {dtb, dsize}};
    k23_fdt_memmap_config_t cfg = {
        .page_log2 = 12, .exclude = excl, .nexclude = 2};
    k23_fdt_memmap_t map = {
        .ram = lib_ram, .ram_cap = K23K_MAX_RANGES,
        .taken = lib_taken, .taken_cap = K23K_MAX_RANGES,
        .dynamic = lib_dynamic, .dynamic_cap = 16,
        .free = lib_free, .free_cap = 2 * K23K_MAX_RANGES};
    k23_fdt_memmap_diag_t diag = {0, -1, ""};
    int rc = k23_fdt_memmap(fdt, dsize, &cfg, &map, &diag);
    if (rc != K23_OK)
        k23k_fail("k23_fdt_memmap: %s (%s)", k23_strerror_name(rc),
                  diag.what != NULL ? diag.what : "");

    k23k_printf("memory map (libk23mem fdt_memmap): %zu RAM, %zu taken, "
                "%zu dynamic, %zu free; %u NUMA node(s)\n",
                map.ram_count, map.taken_count, map.dynamic_count,
                map.free_count, m->n_numa_nodes);
    for (size_t i = 0; i < map.ram_count; i++)
        k23k_printf("  ram   [0x%010llx, 0x%010llx) %s\n",
                    (unsigned long long)lib_ram[i].range.base,
                    (unsigned long long)(lib_ram[i].range.base +
                                         lib_ram[i].range.size),
                    lib_ram[i].name);
    for (size_t i = 0; i < map.taken_count; i++) {
        const char *name = lib_taken[i].name;
        if (lib_taken[i].kind == K23_FDT_KIND_EXCLUDE)
            name = lib_taken[i].index == 0 ? "kernel image" : what_dtb;
        k23k_printf("  taken [0x%010llx, 0x%010llx) %s: %s%s\n",
                    (unsigned long long)lib_taken[i].range.base,
                    (unsigned long long)(lib_taken[i].range.base +
                                         lib_taken[i].range.size),
                    k23_fdt_kind_name(lib_taken[i].kind), name,
                    (lib_taken[i].flags & K23_FDT_FLAG_NO_MAP) != 0
                        ? " (no-map)" : "");
    }
    for (size_t i = 0; i < map.free_count; i++)
        k23k_printf("  free  [0x%010llx, 0x%010llx) %llu KiB\n",
                    (unsigned long long)lib_free[i].base,
                    (unsigned long long)(lib_free[i].base + lib_free[i].size),
                    (unsigned long long)(lib_free[i].size >> 10));

    /* The library and the kernel's own reading must agree exactly. */
    if (map.free_count != m->n_free)
        k23k_fail("free maps differ: library %zu regions, reference %u",
                  map.free_count, m->n_free);
    for (size_t i = 0; i < map.free_count; i++) {
        if (lib_free[i].base != m->free[i].base ||
            lib_free[i].size != m->free[i].size)
            k23k_fail("free region %zu differs: library [0x%llx, +0x%llx), "
                      "reference [0x%llx, +0x%llx)", i,
                      (unsigned long long)lib_free[i].base,
                      (unsigned long long)lib_free[i].size,
                      (unsigned long long)m->free[i].base,
                      (unsigned long long)m->free[i].size);
    }
    n_lib_taken = map.taken_count;
    n_frame_regions = map.free_count;
    for (size_t i = 0; i < map.free_count; i++)
        frame_regions[i] = lib_free[i];
    k23k_printf("  agrees with the kernel's own libfdt reading (%u ms)\n",
                (unsigned)ms_since(t0));
}

/* ---- 2. boot carve: the self-test's bitmap ---- */

static void step_boot_carve(void)
{
    uint64_t t0 = k23k_arch_ticks();
    k23k_memmap_t *m = &kernel_map;
    seen_base = m->ram[0].base & ~(uint64_t)(K23K_PAGE - 1);
    uint64_t end = 0;
    for (unsigned i = 0; i < m->n_ram; i++) {
        if (m->ram[i].base + m->ram[i].size > end)
            end = m->ram[i].base + m->ram[i].size;
    }
    seen_frames = (end - seen_base + K23K_PAGE - 1) / K23K_PAGE;
    uint64_t bytes = ((seen_frames + 63) / 64) * 8;
    bytes = (bytes + K23K_PAGE - 1) & ~(uint64_t)(K23K_PAGE - 1);

    /* From the largest free region. */
    size_t best = 0;
    for (size_t i = 1; i < n_frame_regions; i++) {
        if (frame_regions[i].size > frame_regions[best].size)
            best = i;
    }
    if (frame_regions[best].size < 2 * bytes)
        k23k_fail("no free region can hold the %llu-byte test bitmap",
                  (unsigned long long)bytes);
    /* From its bottom: the allocator's arena then spans the carve as a
     * hole, so the carve can go back to it at the end
     * (k23_frames_add_region; memory past an arena's ends cannot). */
    uint64_t pa = frame_regions[best].base;
    frame_regions[best].base += bytes;
    frame_regions[best].size -= bytes;
    if (!k23k_memmap_exclude(m, pa, bytes, what_bitmap))
        k23k_fail("too many exclusions");
    k23k_memmap_finish(m);
    seen = k23_port_phys_to_virt(pa);
    memset(seen, 0, bytes);
    k23k_printf("boot carve: %llu KiB at 0x%llx for the self-test bitmap "
                "(%llu frames of RAM span) (%u ms)\n",
                (unsigned long long)(bytes >> 10), (unsigned long long)pa,
                (unsigned long long)seen_frames, (unsigned)ms_since(t0));

    if (inject_dtb) {
        /* Fault injection: give the DTB's pages to the allocator too. */
        uint64_t dtb = 0, dsize = 0;
        for (unsigned i = 0; i < m->n_excl; i++) {
            if (m->excl[i].what == what_dtb) {
                dtb = m->excl[i].base;
                dsize = m->excl[i].size;
            }
        }
        /* Whole pages of it, joined to a free region it touches (the map
         * handed to the allocator stays merged, as fdt_memmap makes it). */
        uint64_t b = (dtb + K23K_PAGE - 1) & ~(uint64_t)(K23K_PAGE - 1);
        uint64_t e = (dtb + dsize) & ~(uint64_t)(K23K_PAGE - 1);
        bool joined = false;
        for (size_t i = 0; i < n_frame_regions && e > b; i++) {
            k23_range_t *r = &frame_regions[i];
            if (r->base == e) {
                r->base = b;
                r->size += e - b;
                joined = true;
                break;
            }
            if (r->base + r->size == b) {
                r->size += e - b;
                joined = true;
                break;
            }
        }
        if (!joined && e > b) {
            frame_regions[n_frame_regions].base = b;
            frame_regions[n_frame_regions].size = e - b;
            n_frame_regions++;
        }
        k23k_printf("INJECTED FAULT: the DTB [0x%llx, +0x%llx) is given to "
                    "the frame allocator\n",
                    (unsigned long long)dtb, (unsigned long long)dsize);
    }
}

/* ---- 3. frame allocator ---- */

static void step_frames_init(k23_frames_stats_t *st0)
{
    uint64_t t0 = k23k_arch_ticks();
    k23_range_t rejected[8];
    size_t nrejected = 0;
    int rc = k23_frames_init(&kernel_frames, frame_regions, n_frame_regions,
                             NULL, rejected, 8, &nrejected);
    check_rc(rc, "k23_frames_init");
    check_rc(k23_frames_stats(&kernel_frames, st0), "k23_frames_stats");
    k23k_printf("frame allocator: %u arenas, %llu frames, %llu KiB "
                "bookkeeping, max alignment %llu KiB, %zu region(s) "
                "rejected (%u ms)\n",
                st0->narenas, (unsigned long long)st0->total_frames,
                (unsigned long long)(st0->metadata_bytes >> 10),
                (unsigned long long)(k23_frames_max_alignment(&kernel_frames) >> 10),
                nrejected, (unsigned)ms_since(t0));
    for (size_t i = 0; i < nrejected && i < 8; i++)
        k23k_printf("  rejected [0x%llx, +0x%llx)\n",
                    (unsigned long long)rejected[i].base,
                    (unsigned long long)rejected[i].size);
    n_bookkeeping = 0;
    for (unsigned i = 0; i < st0->narenas; i++) {
        k23_frames_arena_info_t ai;
        check_rc(k23_frames_arena_info(&kernel_frames, i, &ai),
                 "k23_frames_arena_info");
        k23k_printf("  arena %u [0x%010llx, 0x%010llx) %llu usable frames, "
                    "%llu hole frames, bookkeeping [0x%llx, +0x%llx)\n",
                    i, (unsigned long long)ai.range.base,
                    (unsigned long long)(ai.range.base + ai.range.size),
                    (unsigned long long)ai.usable_frames,
                    (unsigned long long)ai.hole_frames,
                    (unsigned long long)ai.bookkeeping.base,
                    (unsigned long long)ai.bookkeeping.size);
        /* The allocator wrote its bookkeeping there: it must be free RAM. */
        if (ai.bookkeeping.size != 0) {
            if (!k23k_memmap_in_ram(&kernel_map, ai.bookkeeping.base,
                                    ai.bookkeeping.size))
                k23k_fail("arena %u bookkeeping is not in RAM", i);
            const k23k_range_t *x = k23k_memmap_excluded(
                &kernel_map, ai.bookkeeping.base, ai.bookkeeping.size);
            if (x != NULL)
                k23k_fail("arena %u bookkeeping overlaps excluded %s", i,
                          x->what);
        }
        bookkeeping[n_bookkeeping++] = ai.bookkeeping;
    }
    check_rc(k23_frames_check(&kernel_frames), "k23_frames_check");
    if (st0->allocated_frames != 0 || st0->total_frames == 0)
        k23k_fail("fresh allocator: %llu allocated of %llu",
                  (unsigned long long)st0->allocated_frames,
                  (unsigned long long)st0->total_frames);
}

/* ---- 4. every frame, one by one ---- */

static uint64_t step_every_frame(const k23_frames_stats_t *st0)
{
    uint64_t t0 = k23k_arch_ticks();
    uint64_t n = 0;
    for (;;) {
        k23_paddr_t pa;
        int rc = k23_frames_alloc_one(&kernel_frames, &pa);
        if (rc == K23_ERR_NOMEM)
            break;
        check_rc(rc, "k23_frames_alloc_one");
        check_placement(pa, K23K_PAGE, "frame");
        seen_mark(pa, K23K_PAGE, "k23_frames_alloc_one");
        n++;
    }
    uint64_t t_alloc = ms_since(t0);
    if (n != st0->total_frames)
        k23k_fail("handed out %llu frames one by one, the allocator has %llu",
                  (unsigned long long)n, (unsigned long long)st0->total_frames);
    k23_frames_stats_t st;
    check_rc(k23_frames_stats(&kernel_frames, &st), "k23_frames_stats");
    if (st.free_frames != 0 || st.cached_frames != 0 ||
        st.allocated_frames != st0->total_frames)
        k23k_fail("exhausted allocator: free=%llu cached=%llu allocated=%llu",
                  (unsigned long long)st.free_frames,
                  (unsigned long long)st.cached_frames,
                  (unsigned long long)st.allocated_frames);
    check_rc(k23_frames_check(&kernel_frames), "k23_frames_check");

    uint64_t t1 = k23k_arch_ticks();
    uint64_t freed = 0;
    for (uint64_t w = 0; w < (seen_frames + 63) / 64; w++) {
        while (seen[w] != 0) {
            unsigned b = (unsigned)__builtin_ctzll(seen[w]);
            seen[w] &= seen[w] - 1;
            k23_frames_free_one(&kernel_frames,
                                seen_base + (w * 64 + b) * K23K_PAGE);
            freed++;
        }
    }
    if (freed != n)
        k23k_fail("freed %llu of %llu frames", (unsigned long long)freed,
                  (unsigned long long)n);
    stats_expect_start(st0, "after freeing every frame");
    k23k_printf("every frame: %llu frames allocated one by one in %u ms, "
                "each in RAM, outside every exclusion, none twice; freed in "
                "%u ms; statistics and free lists back to the start\n",
                (unsigned long long)n, (unsigned)t_alloc,
                (unsigned)ms_since(t1));
    return n;
}

/* ---- 5. 2 MiB runs ---- */

/* How many 2 MiB-aligned 2 MiB blocks lie wholly in the allocator's
 * regions and outside its bookkeeping: what an exact allocator finds. */
static uint64_t expected_runs(unsigned run_log2)
{
    uint64_t run = UINT64_C(1) << run_log2;
    uint64_t count = 0;
    for (size_t i = 0; i < n_frame_regions; i++) {
        uint64_t b = (frame_regions[i].base + run - 1) & ~(run - 1);
        uint64_t e = (frame_regions[i].base + frame_regions[i].size) &
                     ~(run - 1);
        for (uint64_t p = b; p < e; p += run) {
            bool clash = false;
            for (unsigned k = 0; k < n_bookkeeping; k++)
                clash = clash || ranges_overlap(p, run, bookkeeping[k].base,
                                                bookkeeping[k].size);
            count += !clash;
        }
    }
    return count;
}

static void step_runs(const k23_frames_stats_t *st0)
{
    uint64_t t0 = k23k_arch_ticks();
    unsigned max_log2 =
        (unsigned)__builtin_ctzll(k23_frames_max_alignment(&kernel_frames));
    unsigned align = RUN_LOG2 < max_log2 ? RUN_LOG2 : max_log2;
    uint64_t run = UINT64_C(1) << RUN_LOG2;
    uint64_t expect = align == RUN_LOG2 ? expected_runs(RUN_LOG2) : 0;
    uint64_t runs = 0;
    for (;;) {
        k23_paddr_t pa;
        int rc = k23_frames_alloc_contiguous(&kernel_frames, run, align, &pa);
        if (rc == K23_ERR_NOMEM)
            break;
        check_rc(rc, "k23_frames_alloc_contiguous");
        if ((pa & ((UINT64_C(1) << align) - 1)) != 0)
            k23k_fail("run 0x%llx is not aligned to 2^%u",
                      (unsigned long long)pa, align);
        check_placement(pa, run, "2 MiB run");
        seen_mark(pa, run, "k23_frames_alloc_contiguous");
        runs++;
    }
    if (align == RUN_LOG2 && runs != expect)
        k23k_fail("found %llu free 2 MiB-aligned runs, the map holds %llu",
                  (unsigned long long)runs, (unsigned long long)expect);
    if (runs == 0 && expect != 0)
        k23k_fail("no 2 MiB run could be allocated");
    uint64_t per_run = run / K23K_PAGE;
    for (uint64_t i = 0; i < seen_frames; i += 1) {
        if (!seen_test(i))
            continue;
        uint64_t pa = seen_base + i * K23K_PAGE;
        check_rc(k23_frames_free_contiguous(&kernel_frames, pa, run),
                 "k23_frames_free_contiguous");
        for (uint64_t j = i; j < i + per_run; j++)
            seen[j / 64] &= ~(UINT64_C(1) << (j % 64));
        i += per_run - 1;
    }
    stats_expect_start(st0, "after freeing the 2 MiB runs");
    k23k_printf("2 MiB runs: %llu runs aligned to 2^%u (as many as the map "
                "holds), freed, statistics back (%u ms)\n",
                (unsigned long long)runs, align, (unsigned)ms_since(t0));
}

/* ---- 6. zeroed frames ---- */

#define DIRTY_FRAMES 64

static bool all_zero(uint64_t pa, uint64_t size)
{
    const volatile uint64_t *p = k23_port_phys_to_virt(pa);
    for (uint64_t i = 0; i < size / 8; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

static void step_zeroed(const k23_frames_stats_t *st0)
{
    uint64_t t0 = k23k_arch_ticks();
    k23_paddr_t dirty[DIRTY_FRAMES];
    for (unsigned i = 0; i < DIRTY_FRAMES; i++) {
        check_rc(k23_frames_alloc_one(&kernel_frames, &dirty[i]),
                 "k23_frames_alloc_one");
        memset(k23_port_phys_to_virt(dirty[i]), 0xa5, K23K_PAGE);
    }
    for (unsigned i = 0; i < DIRTY_FRAMES; i++)
        k23_frames_free_one(&kernel_frames, dirty[i]);
    unsigned reused = 0;
    k23_paddr_t z[DIRTY_FRAMES];
    for (unsigned i = 0; i < DIRTY_FRAMES; i++) {
        check_rc(k23_frames_alloc_one_zeroed(&kernel_frames, &z[i]),
                 "k23_frames_alloc_one_zeroed");
        if (!all_zero(z[i], K23K_PAGE))
            k23k_fail("zeroed frame 0x%llx is not zero",
                      (unsigned long long)z[i]);
        for (unsigned j = 0; j < DIRTY_FRAMES; j++)
            reused += z[i] == dirty[j];
    }
    for (unsigned i = 0; i < DIRTY_FRAMES; i++)
        k23_frames_free_one(&kernel_frames, z[i]);
    if (reused == 0)
        k23k_fail("no dirtied frame came back zeroed: the test proved "
                  "nothing");

    /* A whole run: dirty it, free it, take a zeroed run. */
    uint64_t run = UINT64_C(1) << RUN_LOG2;
    k23_paddr_t a, b;
    check_rc(k23_frames_alloc_contiguous(&kernel_frames, run, RUN_LOG2, &a),
             "k23_frames_alloc_contiguous");
    memset(k23_port_phys_to_virt(a), 0x5a, run);
    check_rc(k23_frames_free_contiguous(&kernel_frames, a, run),
             "k23_frames_free_contiguous");
    check_rc(k23_frames_alloc_contiguous_zeroed(&kernel_frames, run, RUN_LOG2,
                                                &b),
             "k23_frames_alloc_contiguous_zeroed");
    if (!all_zero(b, run))
        k23k_fail("zeroed run 0x%llx is not zero", (unsigned long long)b);
    check_rc(k23_frames_free_contiguous(&kernel_frames, b, run),
             "k23_frames_free_contiguous");
    stats_expect_start(st0, "after the zeroing test");
    k23k_printf("zeroed: %u of %u dirtied frames came back zeroed, a dirtied "
                "2 MiB run came back %s and zeroed (%u ms)\n",
                reused, DIRTY_FRAMES, a == b ? "as the same run" : "moved",
                (unsigned)ms_since(t0));
}

/* ---- 6a. paging on, every CPU ---- */

static void step_paging(k23_frames_stats_t *st0)
{
    /* The tree's no-map reservations stay out of the direct map. */
    static k23k_range_t nomap[K23K_MAX_RANGES];
    unsigned n_nomap = 0;
    for (size_t i = 0; i < n_lib_taken && n_nomap < K23K_MAX_RANGES; i++) {
        if (lib_taken[i].kind == K23_FDT_KIND_RESERVED_MEMORY &&
            (lib_taken[i].flags & K23_FDT_FLAG_NO_MAP) != 0) {
            nomap[n_nomap].base = lib_taken[i].range.base;
            nomap[n_nomap].size = lib_taken[i].range.size;
            nomap[n_nomap].what = lib_taken[i].name;
            n_nomap++;
        }
    }
    k23k_selftest_paging(&kernel_frames, &kernel_map, nomap, n_nomap);
    /* The page tables keep their frames: from here on the statistics must
     * come back to those of the allocator holding them. */
    k23_frames_drain_all(&kernel_frames);
    check_rc(k23_frames_stats(&kernel_frames, st0), "k23_frames_stats");
    check_rc(k23_frames_check(&kernel_frames), "k23_frames_check");
}

/* ---- 6b. all CPUs at once ---- */

#define STRESS_MS 300

static void step_smp_stress(const k23_frames_stats_t *st0)
{
    uint64_t t0 = k23k_arch_ticks();
    k23k_selftest_smp_stress(&kernel_frames, seen, seen_base, seen_frames,
                             STRESS_MS);
    stats_expect_start(st0, "after the SMP stress");
    k23k_printf("  frames check passes, statistics and free lists back "
                "(%u ms)\n", (unsigned)ms_since(t0));
}

/* ---- 7. kernel segments, W^X ---- */

static void step_segments(void)
{
    uint64_t t0 = k23k_arch_ticks();
    struct {
        const char *name;
        uintptr_t start, end, pflags;
        uintptr_t probe; /* an address that must lie inside */
    } seg[3] = {
        {"text", (uintptr_t)__text_start, (uintptr_t)__text_end,
         (uintptr_t)__text_pflags, (uintptr_t)&step_segments},
        {"rodata", (uintptr_t)__rodata_start, (uintptr_t)__rodata_end,
         (uintptr_t)__rodata_pflags, (uintptr_t)k23k_arch_name},
        {"data", (uintptr_t)__data_start, (uintptr_t)__data_end,
         (uintptr_t)__data_pflags, (uintptr_t)&kernel_frames},
    };
    uintptr_t prev_end = (uintptr_t)__kernel_start;
    for (unsigned i = 0; i < 3; i++) {
        k23_perm_t perm;
        char buf[K23_PERM_STR_MAX];
        check_rc(k23_perm_from_elf((uint32_t)seg[i].pflags, &perm),
                 "k23_perm_from_elf");
        check_rc(k23_perm_check(perm), "k23_perm_check");
        if (k23_perm_is_wx(perm))
            k23k_fail("segment %s is writable and executable", seg[i].name);
        check_rc(k23_perm_format(perm, buf, sizeof(buf)), "k23_perm_format");
        if (seg[i].start != prev_end || seg[i].end <= seg[i].start ||
            ((seg[i].start | seg[i].end) & (K23K_PAGE - 1)) != 0)
            k23k_fail("segment %s [0x%lx, 0x%lx) is not page aligned and "
                      "contiguous", seg[i].name, (unsigned long)seg[i].start,
                      (unsigned long)seg[i].end);
        if (seg[i].probe < seg[i].start || seg[i].probe >= seg[i].end)
            k23k_fail("segment %s does not hold what it should", seg[i].name);
        prev_end = seg[i].end;
        k23k_printf("  segment %s [0x%lx, 0x%lx) %s\n", seg[i].name,
                    (unsigned long)seg[i].start, (unsigned long)seg[i].end,
                    buf);
    }
    if (prev_end != (uintptr_t)__kernel_end)
        k23k_fail("segments do not end at the image's end");
    /* The check can fail: a writable, executable segment is refused. */
    k23_perm_t wx = 0;
    if (k23_perm_from_elf(K23_ELF_PF_R | K23_ELF_PF_W | K23_ELF_PF_X, &wx) !=
        K23_ERR_WX)
        k23k_fail("k23_perm_from_elf accepted an RWX segment");
    k23k_printf("segments: text, rodata and data W^X; an RWX segment is "
                "refused (%u ms)\n", (unsigned)ms_since(t0));
}

/* ---- 10. boot memory back ---- */

/* Whether the frame at @p pa holds part of an exclusion other than @p x. */
static bool frame_shared(uint64_t pa, const k23k_range_t *x)
{
    for (unsigned i = 0; i < kernel_map.n_excl; i++) {
        const k23k_range_t *o = &kernel_map.excl[i];
        if (o != x && ranges_overlap(pa, K23K_PAGE, o->base, o->size))
            return true;
    }
    return false;
}

/* Give the frames of exclusion @p x to the allocator: every frame it
 * touches (the free map left them all out), except a partial first or
 * last frame that another exclusion shares. Returns the frames added;
 * prints what happened. */
static uint64_t give_back(const k23k_range_t *x, const char *what)
{
    uint64_t b = x->base & ~(uint64_t)(K23K_PAGE - 1);
    uint64_t e = (x->base + x->size + K23K_PAGE - 1) &
                 ~(uint64_t)(K23K_PAGE - 1);
    if (b < e && b != x->base && frame_shared(b, x))
        b += K23K_PAGE;
    if (b < e && e != x->base + x->size && frame_shared(e - K23K_PAGE, x))
        e -= K23K_PAGE;
    if (e <= b) {
        k23k_printf("  %s: no whole frame to give back\n", what);
        return 0;
    }
    /* Both lie inside the arena's span by construction (steps 0a and 2
     * place them above a free region), so K23_ERR_NOT_FOUND fails the
     * run as any other error does. */
    int rc = k23_frames_add_region(&kernel_frames, b, e - b);
    if (rc != K23_OK)
        k23k_fail("k23_frames_add_region of the %s [0x%llx, 0x%llx): %s",
                  what, (unsigned long long)b, (unsigned long long)e,
                  k23_strerror_name(rc));
    k23k_printf("  %s [0x%llx, 0x%llx): %llu frames back to the allocator\n",
                what, (unsigned long long)b, (unsigned long long)e,
                (unsigned long long)((e - b) / K23K_PAGE));
    return (e - b) / K23K_PAGE;
}

static void step_boot_memory_back(const k23_frames_stats_t *st0)
{
    uint64_t t0 = k23k_arch_ticks();
    uint64_t added = 0;
    for (unsigned i = 0; i < kernel_map.n_excl; i++) {
        const k23k_range_t *x = &kernel_map.excl[i];
        if (x->what == what_dtb && !inject_dtb)
            added += give_back(x, "device tree");
        else if (x->what == what_bitmap)
            added += give_back(x, "self-test bitmap");
    }
    k23_frames_stats_t st;
    k23_frames_drain_all(&kernel_frames);
    check_rc(k23_frames_stats(&kernel_frames, &st), "k23_frames_stats");
    if (st.total_frames != st0->total_frames + added ||
        st.free_frames != st0->free_frames + added)
        k23k_fail("boot memory back: %llu frames in all, %llu free; "
                  "expected %llu more than %llu and %llu",
                  (unsigned long long)st.total_frames,
                  (unsigned long long)st.free_frames,
                  (unsigned long long)added,
                  (unsigned long long)st0->total_frames,
                  (unsigned long long)st0->free_frames);
    check_rc(k23_frames_check(&kernel_frames), "k23_frames_check");
    k23k_printf("boot memory back: %llu frames added after init, frames "
                "check passes (%u ms)\n", (unsigned long long)added,
                (unsigned)ms_since(t0));
}

/* ---- entry ---- */

void k23k_main(uintptr_t dtb, uintptr_t boot_hart)
{
    ticks_start = k23k_arch_ticks();
    /* Give libfdt's stack protector a canary that differs per boot. */
    __stack_chk_guard ^=
        (uintptr_t)(ticks_start * UINT64_C(0x9e3779b97f4a7c15));

    const void *fdt = (const void *)dtb;
    if (boot_hart == UINTPTR_MAX)
        boot_hart = (uintptr_t)k23k_arch_boot_hwid();
    k23k_printf("\nlibk23mem kernel port: %s on QEMU virt, hart %lu, DTB at "
                "0x%lx\n",
                k23k_arch_name, (unsigned long)boot_hart, (unsigned long)dtb);
    int err = fdt_check_header(fdt);
    if (err != 0)
        k23k_fail("no valid device tree at 0x%lx: %s", (unsigned long)dtb,
                  fdt_strerror(err));
    k23k_arch_init(fdt);
    k23k_smp_init(fdt, boot_hart);
    k23k_smp_guard_fill();
    k23k_arch_cpu_local_init();
    k23k_arch_irq_enable();
    k23k_smp_start();
    const char *args = bootargs(fdt);
    inject_dtb = has_word(args, "k23.inject=dtb");
    k23k_inject_local_tlb = has_word(args, "k23.inject=local-tlb");
    k23k_inject_wx = has_word(args, "k23.inject=wx");
    if (args[0] != '\0')
        k23k_printf("bootargs: %s\n", args);

    k23_frames_stats_t st0;
    fdt = step_move_dtb(fdt, &dtb);
    step_memory_map(fdt, dtb);
    step_boot_carve();
    step_frames_init(&st0);
    uint64_t frames = step_every_frame(&st0);
    step_runs(&st0);
    step_zeroed(&st0);
    step_paging(&st0);
    k23k_selftest_faults(&kernel_frames);
    stats_expect_start(&st0, "after the fault tests");
    k23k_selftest_shootdown(&kernel_frames);
    stats_expect_start(&st0, "after the TLB shootdown");
    step_smp_stress(&st0);
    step_segments();
    k23k_selftest_instance(&kernel_frames);
    k23k_selftest_wasm();
    stats_expect_start(&st0, "at the end");
    step_boot_memory_back(&st0);

    k23k_printf("self-test took %u ms\n", (unsigned)ms_since(ticks_start));
    k23k_printf("K23MEM-SELFTEST PASS frames=%llu arenas=%u\n",
                (unsigned long long)frames, st0.narenas);
    k23k_arch_exit(0);
}
