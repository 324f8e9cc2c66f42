/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Known-answer tests of the page-table formats (exact entry bits worked
 * out by hand from the manuals), the fault decoders over every
 * combination of the bits they read, argument checks, the flush contract
 * and activation, on the hosted port (which records the MMU hooks).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/pagetable.h"
#include "k23mem/port.h"
#include "k23_port_hosted_test.h"

TestSuite(pagetable_kat);

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define G1 UINT64_C(0x40000000)
#define R K23_PERM_READ
#define W K23_PERM_WRITE
#define X K23_PERM_EXECUTE
#define U K23_PERM_USER

/* ---- a tiny frame source ---- */

static unsigned char *kat_mem;
static size_t kat_used, kat_cap = 256;

static int kat_alloc(void *ctx, k23_paddr_t *out)
{
    (void)ctx;
    if (kat_mem == NULL) {
        kat_mem = aligned_alloc(4096, kat_cap * 4096);
        cr_assert_not_null(kat_mem);
    }
    if (kat_used == kat_cap)
        return K23_ERR_NOMEM;
    unsigned char *p = kat_mem + 4096 * kat_used++;
    memset(p, 0, 4096);
    *out = (uintptr_t)p;
    return K23_OK;
}

static void kat_free(void *ctx, k23_paddr_t pa)
{
    (void)ctx;
    (void)pa; /* bump allocator: frames are not reused */
}

static const k23_pt_frame_source_t kat_src = {kat_alloc, kat_free, NULL};

static uint64_t enc(const k23_pt_format_t *f, unsigned level, uint64_t pa,
                    k23_perm_t p, unsigned mt)
{
    uint64_t e = 0;
    cr_assert_eq(k23_pt_encode_leaf(f, level, pa, p, mt, &e), K23_OK);
    return e;
}

/* Map one leaf and read the raw entry back out of the tree, by walking
 * the table indices by hand (VA bits 12+9l.. of each level). */
static uint64_t map_and_read(const k23_pt_format_t *f, uint64_t va,
                             uint64_t pa, uint64_t size, k23_perm_t p,
                             unsigned mt)
{
    k23_pt_t pt;
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_create(&pt, f, 0, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 0), K23_OK);
    cr_assert_eq(k23_pt_map(&pt, va, pa, size, p, mt, 0, &fl), K23_OK);
    unsigned leaf = size == K4 ? 0 : size == M2 ? 1 : 2;
    uint64_t t = pt.root, e = 0;
    for (unsigned l = f->levels - 1;; l--) {
        e = ((const uint64_t *)(uintptr_t)t)[(va >> (12 + 9 * l)) & 511];
        if (l == leaf)
            break;
        t = (e & f->addr_mask) << f->pte_pa_shift;
    }
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    k23_pt_flush_fini(&fl);
    return e;
}

/* The VAs below use table index >= 8 at every level, clear of the
 * entries whose software bits hold the table's count. */
#define KAT_VA UINT64_C(0x0000004081e09000) /* indices 9, 15, 258, 0 */

/* x86_64 (Intel SDM vol. 3A, tables 4-18 to 4-20):
 *   bit 0 P, 1 R/W, 2 U/S, 3 PWT, 4 PCD, 5 A, 6 D, 7 PS (PDE/PDPTE) or
 *   PAT (PTE), 8 G, 12 PAT (large pages), 63 XD. We preset A (and D when
 *   writable) and set G on supervisor pages.
 * kernel R-X 4 KiB page at 0x12345000: P|A|G = 0x1 + 0x20 + 0x100 = 0x121,
 *   XD clear                                  -> 0x0000000012345121
 * kernel RW no-exec 2 MiB page at 0x40200000: P|RW|A|D|PS|G = 0x1E3,
 *   XD = bit 63                               -> 0x80000000402001E3
 * user RO 4 KiB page at 0x5000: P|U/S|A = 0x25, XD -> 0x8000000000005025
 * kernel RW no-exec device page at 0xFEE00000: P|RW|PWT|PCD|A|D|G
 *   = 0x1+0x2+0x8+0x10+0x20+0x40+0x100 = 0x17B (PAT index 3: UC)
 *                                             -> 0x80000000FEE0017B
 * table at 0x7000: P|RW|U/S|A = 0x27        -> 0x7027 */
Test(pagetable_kat, x86_64_entries)
{
    const k23_pt_format_t *f = &k23_pt_x86_64_4level;
    cr_assert_eq(enc(f, 0, 0x12345000, R | X, 0), UINT64_C(0x0000000012345121));
    cr_assert_eq(enc(f, 1, 0x40200000, R | W, 0), UINT64_C(0x80000000402001E3));
    cr_assert_eq(enc(f, 0, 0x5000, R | U, 0), UINT64_C(0x8000000000005025));
    cr_assert_eq(enc(f, 0, 0xFEE00000, R | W, K23_PT_MEM_DEVICE), UINT64_C(0x80000000FEE0017B));
    uint64_t t;
    cr_assert_eq(k23_pt_encode_table(f, 1, 0x7000, &t), K23_OK);
    cr_assert_eq(t, UINT64_C(0x7027));
    /* the same bits land in a real tree */
    cr_assert_eq(map_and_read(f, KAT_VA, 0x12345000, K4, R | X, 0), UINT64_C(0x0000000012345121));
    cr_assert_eq(map_and_read(f, UINT64_C(0x0000004081000000) + 8 * M2, 0x40200000, M2, R | W, 0),
                 UINT64_C(0x80000000402001E3));
}

/* aarch64 stage 1, 4 KiB granule (Arm ARM D8.3): bits[1:0] 0b11 page
 *   (level 3) or table, 0b01 block; AttrIndx[4:2]; AP[7:6] (AP[2] = 7
 *   read-only, AP[1] = 6 EL0); SH[9:8] (0b11 inner shareable); AF 10;
 *   nG 11; PXN 53; UXN 54. MAIR attr0 normal, attr1 device.
 * kernel R-X page at 0x12345000: 0b11 | AP[2] 0x80 | SH 0x300 | AF 0x400
 *   = 0x783, UXN (bit 54 = 0x0040000000000000), PXN clear
 *                                             -> 0x0040000012345783
 * kernel RW no-exec 2 MiB block at 0x40200000: 0b01 | SH | AF = 0x701,
 *   PXN|UXN = 0x0060000000000000              -> 0x0060000040200701
 * user RO page at 0x5000: 0b11 | AP 0b11 (0xC0) | SH | AF | nG 0x800
 *   = 0xFC3, PXN|UXN                          -> 0x0060000000005FC3
 * kernel RW no-exec device page at 0x09000000: 0b11 | AttrIndx 1 (0x4)
 *   | AF = 0x407 (SH ignored for device: 0), PXN|UXN
 *                                             -> 0x0060000009000407
 * table at 0x7000: 0b11                     -> 0x7003 */
Test(pagetable_kat, aarch64_entries)
{
    const k23_pt_format_t *f = &k23_pt_aarch64_48_ttbr0;
    cr_assert_eq(enc(f, 0, 0x12345000, R | X, 0), UINT64_C(0x0040000012345783));
    cr_assert_eq(enc(f, 1, 0x40200000, R | W, 0), UINT64_C(0x0060000040200701));
    cr_assert_eq(enc(f, 0, 0x5000, R | U, 0), UINT64_C(0x0060000000005FC3));
    cr_assert_eq(enc(f, 0, 0x09000000, R | W, K23_PT_MEM_DEVICE), UINT64_C(0x0060000009000407));
    uint64_t t;
    cr_assert_eq(k23_pt_encode_table(f, 2, 0x7000, &t), K23_OK);
    cr_assert_eq(t, UINT64_C(0x7003));
    cr_assert_eq(map_and_read(f, KAT_VA, 0x5000, K4, R | U, 0), UINT64_C(0x0060000000005FC3));
    cr_assert_eq(map_and_read(&k23_pt_aarch64_39_ttbr1, UINT64_C(0xFFFFFFC081e09000),
                              0x09000000, K4, R | W, K23_PT_MEM_DEVICE),
                 UINT64_C(0x0060000009000407));
}

/* riscv64 (privileged spec 12.3.1 / 12.4.1): V 0, R 1, W 2, X 3, U 4,
 *   G 5, A 6, D 7, RSW 9:8, PPN 53:10, PBMT 62:61 (Svpbmt: 2 = IO).
 * kernel R-X page at 0x12345000: PPN 0x12345 << 10 = 0x48D1400;
 *   V|R|X|G|A = 0x1+0x2+0x8+0x20+0x40 = 0x6B    -> 0x00000000048D146B
 * kernel RW no-exec 2 MiB megapage at 0x40200000: PPN 0x40200 << 10 =
 *   0x10080000; V|R|W|G|A|D = 0xE7             -> 0x00000000100800E7
 * user RO page at 0x5000: 5 << 10 = 0x1400; V|R|U|A = 0x53 -> 0x1453
 * kernel RW device page at 0x10000000: 0x10000 << 10 = 0x4000000;
 *   0xE7; PBMT IO 2 << 61 = 0x4000000000000000  -> 0x40000000040000E7
 * table at 0x7000: 7 << 10 | V               -> 0x1C01 */
Test(pagetable_kat, riscv64_entries)
{
    const k23_pt_format_t *f = &k23_pt_riscv_sv48;
    cr_assert_eq(enc(f, 0, 0x12345000, R | X, 0), UINT64_C(0x00000000048D146B));
    cr_assert_eq(enc(f, 1, 0x40200000, R | W, 0), UINT64_C(0x00000000100800E7));
    cr_assert_eq(enc(f, 0, 0x5000, R | U, 0), UINT64_C(0x1453));
    cr_assert_eq(enc(f, 0, 0x10000000, R | W, K23_PT_MEM_DEVICE), UINT64_C(0x40000000040000E7));
    uint64_t t;
    cr_assert_eq(k23_pt_encode_table(f, 1, 0x7000, &t), K23_OK);
    cr_assert_eq(t, UINT64_C(0x1C01));
    cr_assert_eq(map_and_read(&k23_pt_riscv_sv39, UINT64_C(0x0000004081e09000) & ((UINT64_C(1) << 38) - 1),
                              0x10000000, K4, R | W, K23_PT_MEM_DEVICE),
                 UINT64_C(0x40000000040000E7));
}

Test(pagetable_kat, decode_reads_back_what_encode_wrote)
{
    const k23_pt_format_t *fmts[] = {&k23_pt_x86_64_4level, &k23_pt_aarch64_48_ttbr1,
                                     &k23_pt_riscv_sv39};
    const k23_perm_t ps[] = {R, R | W, R | X, R | U, R | W | U, R | X | U};
    for (size_t i = 0; i < 3; i++)
        for (unsigned l = 0; l <= 2; l++)
            for (size_t p = 0; p < 6; p++)
                for (unsigned mt = 0; mt < 2; mt++) {
                    uint64_t pa = UINT64_C(0x1234) << 30;
                    uint64_t e = enc(fmts[i], l, pa, ps[p], mt);
                    k23_pt_entry_t d;
                    cr_assert_eq(k23_pt_decode(fmts[i], l, e, &d), K23_OK);
                    cr_assert_eq(d.kind, K23_PT_ENTRY_LEAF);
                    cr_assert_eq(d.pa, pa);
                    cr_assert_eq(d.perm, ps[p]);
                    cr_assert_eq(d.memtype, mt);
                }
}

/* ---- argument checks ---- */

Test(pagetable_kat, bad_arguments_are_refused_and_change_nothing)
{
    const k23_pt_format_t *f = &k23_pt_x86_64_4level;
    k23_pt_t pt;
    k23_pt_flush_t fl, other;
    cr_assert_eq(k23_pt_create(NULL, f, 0, &kat_src), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_create(&pt, NULL, 0, &kat_src), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_create(&pt, f, 0x1000, &kat_src), K23_ERR_INVAL); /* PCID is 12 bits */
    cr_assert_eq(k23_pt_create(&pt, f, 5, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 5), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&other, 6), K23_OK);
    uint64_t va = UINT64_C(0x40000000);
    cr_assert_eq(k23_pt_map(&pt, va + 1, 0, K4, R, 0, 0, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, 1, K4, R, 0, 0, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4 + 1, R, 0, 0, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, 0, 0, R, 0, 0, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, UINT64_C(0) - K4, 2 * K4, R, 0, 0, &fl), K23_ERR_INVAL); /* pa wraps */
    cr_assert_eq(k23_pt_map(&pt, va, UINT64_C(1) << 52, K4, R, 0, 0, &fl), K23_ERR_INVAL); /* pa too wide */
    cr_assert_eq(k23_pt_map(&pt, (UINT64_C(1) << 47) - K4, 0, 2 * K4, R, 0, 0, &fl), K23_ERR_INVAL); /* into the hole */
    cr_assert_eq(k23_pt_map(&pt, UINT64_C(1) << 47, 0, K4, R, 0, 0, &fl), K23_ERR_INVAL); /* non-canonical */
    cr_assert_eq(k23_pt_map(&pt, UINT64_C(0) - K4, 0, 2 * K4, R, 0, 0, &fl), K23_ERR_INVAL); /* va wraps */
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4, R | W | X, 0, 0, &fl), K23_ERR_WX);
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4, W, 0, 0, &fl), K23_ERR_INVAL); /* no READ */
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4, R | 0x10, 0, 0, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4, R, K23_PT_MEM_OTHER, 0, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4, R, 0, UINT32_C(1) << 9, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4, R, 0, 0, NULL), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_map(&pt, va, 0, K4, R, 0, 0, &other), K23_ERR_INVAL); /* other ASID */
    cr_assert_eq(k23_pt_protect(&pt, va, K4, R | W | X, &fl), K23_ERR_WX);
    cr_assert_eq(k23_pt_protect(&pt, va, 0, R, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_unmap(&pt, va + 7, K4, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_table_frames(&pt), 1);
    cr_assert(!k23_pt_flush_pending(&fl));
    /* the high half is fine; a live mapping is BUSY unless REPLACE */
    uint64_t hi = UINT64_C(0xFFFF800000000000);
    cr_assert_eq(k23_pt_map(&pt, hi, 0, K4, R, 0, 0, &fl), K23_OK);
    cr_assert_eq(k23_pt_map(&pt, hi, K4, K4, R, 0, 0, &fl), K23_ERR_BUSY);
    cr_assert_eq(k23_pt_map(&pt, hi, K4, K4, R, 0, K23_PT_REPLACE, &fl), K23_OK);
    k23_pt_mapping_t m;
    cr_assert_eq(k23_pt_query(&pt, hi + 5, &m), K23_OK);
    cr_assert_eq(m.pa, K4 + 5);
    cr_assert_eq(k23_pt_query(&pt, UINT64_C(1) << 47, &m), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_pt_query(&pt, hi, NULL), K23_ERR_INVAL);
    uint64_t e;
    cr_assert_eq(k23_pt_encode_leaf(f, 1, K4, R, 0, &e), K23_ERR_INVAL); /* misaligned block */
    cr_assert_eq(k23_pt_encode_leaf(f, 3, 0, R, 0, &e), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_encode_table(f, 0, 0, &e), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    k23_pt_flush_fini(&fl);
    k23_pt_flush_fini(&other);
}

/* ---- the flush contract ---- */

Test(pagetable_kat, finishing_a_flush_object_with_pending_work_panics,
     .signal = SIGABRT)
{
    k23_pt_t pt;
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_aarch64_39_ttbr0, 1, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
    cr_assert_eq(k23_pt_map(&pt, 0x200000, 0, K4, R, 0, 0, &fl), K23_OK);
    cr_assert_eq(k23_pt_unmap(&pt, 0x200000, K4, &fl), K23_OK);
    k23_pt_flush_fini(&fl); /* forgot k23_pt_flush() */
}

Test(pagetable_kat, reinitialising_a_flush_object_with_pending_work_panics,
     .signal = SIGABRT)
{
    k23_pt_t pt;
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_x86_64_4level, 1, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
    cr_assert_eq(k23_pt_map(&pt, 0x200000, 0, K4, R, 0, 0, &fl), K23_OK);
    cr_assert_eq(k23_pt_protect(&pt, 0x200000, K4, R | W, &fl), K23_OK);
    k23_pt_flush_init(&fl, 1); /* reused without k23_pt_flush() */
}

Test(pagetable_kat, a_finished_flush_object_can_be_initialised_again)
{
    k23_pt_t pt;
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_x86_64_4level, 1, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
    cr_assert_eq(k23_pt_map(&pt, 0x200000, 0, K4, R, 0, 0, &fl), K23_OK);
    cr_assert_eq(k23_pt_protect(&pt, 0x200000, K4, R | W, &fl), K23_OK);
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK); /* flushed: fine */
    k23_pt_flush_fini(&fl);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
    k23_pt_flush_fini(&fl);
}

Test(pagetable_kat, flush_hands_addresses_then_the_whole_asid_to_the_port)
{
    k23_hosted_mmu_log_t *log = k23_hosted_mmu_log();
    k23_pt_t pt;
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_aarch64_48_ttbr0, 9, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 9), K23_OK);
    uint64_t va = 0x40000000;
    cr_assert_eq(k23_pt_map(&pt, va, 0, 8 * K4, R | U, 0, 0, &fl), K23_OK);
    cr_assert(!k23_pt_flush_pending(&fl), "aarch64 does not cache invalid entries");
    cr_assert_eq(k23_pt_protect(&pt, va + K4, 2 * K4, R, &fl), K23_OK);
    unsigned calls = log->flush_calls;
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    cr_assert_eq(log->flush_calls, calls + 1);
    cr_assert_eq(log->arch, K23_PT_ARCH_AARCH64);
    cr_assert_eq(log->asid, 9);
    cr_assert_eq(log->flags, 0);
    cr_assert_eq(log->n, 2);
    /* now kernel pages: the entries are marked global (level 0) */
    cr_assert_eq(log->va[0], (va + K4) | K23_PORT_TLB_ENTRY_GLOBAL);
    cr_assert_eq(log->va[1], (va + 2 * K4) | K23_PORT_TLB_ENTRY_GLOBAL);
    /* past K23_PT_FLUSH_MAX addresses: the whole ASID */
    cr_assert_eq(k23_pt_map(&pt, va + M2, 0, 64 * K4, R | U, 0, 0, &fl), K23_OK);
    cr_assert_eq(k23_pt_unmap(&pt, va + M2, 64 * K4, &fl), K23_OK);
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    cr_assert_eq(log->flags, K23_PORT_TLB_ALL);
    cr_assert(!k23_pt_flush_pending(&fl));
    k23_pt_flush_fini(&fl);
}

/* aarch64 break-before-make: the block is invalidated and flushed inside
 * the operation, before the table replaces it; x86_64 swaps directly and
 * only records the block. */
Test(pagetable_kat, splitting_a_block_breaks_before_make_on_aarch64_only)
{
    k23_hosted_mmu_log_t *log = k23_hosted_mmu_log();
    const k23_pt_format_t *fs[] = {&k23_pt_aarch64_39_ttbr0, &k23_pt_x86_64_4level,
                                   &k23_pt_riscv_sv39};
    for (int i = 0; i < 3; i++) {
        k23_pt_t pt;
        k23_pt_flush_t fl;
        cr_assert_eq(k23_pt_create(&pt, fs[i], 2, &kat_src), K23_OK);
        cr_assert_eq(k23_pt_flush_init(&fl, 2), K23_OK);
        cr_assert_eq(k23_pt_map(&pt, G1, 0, G1, R | W, 0, 0, &fl), K23_OK);
        cr_assert_eq(k23_pt_flush(&fl), K23_OK);
        unsigned calls = log->flush_calls;
        cr_assert_eq(k23_pt_protect(&pt, G1 + M2, M2, R, &fl), K23_OK);
        if (i == 0) {
            cr_assert_eq(log->flush_calls, calls + 1, "aarch64 must flush inside the split");
            cr_assert_eq(log->n, 1);
            cr_assert_eq(log->va[0], G1 | 2 | K23_PORT_TLB_ENTRY_GLOBAL);
        } else {
            cr_assert_eq(log->flush_calls, calls);
        }
        cr_assert(k23_pt_flush_pending(&fl));
        cr_assert_eq(k23_pt_flush(&fl), K23_OK);
        k23_pt_flush_fini(&fl);
    }
}

/* ---- activation ---- */

Test(pagetable_kat, activate_loads_the_architecture_register_value)
{
    k23_hosted_mmu_log_t *log = k23_hosted_mmu_log();
    k23_pt_t pt;
    uint64_t v;
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_riscv_sv48, 0x1234, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_activate(&pt), K23_OK);
    cr_assert_eq(log->reg, K23_PORT_MMU_SATP);
    /* satp: MODE 9 (Sv48) << 60 | ASID << 44 | root PPN */
    cr_assert_eq(log->value, (UINT64_C(9) << 60) | (UINT64_C(0x1234) << 44) | (pt.root >> 12));
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_aarch64_48_ttbr1, 0xBEEF, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_activate(&pt), K23_OK);
    cr_assert_eq(log->reg, K23_PORT_MMU_TTBR1);
    cr_assert_eq(log->value, pt.root | (UINT64_C(0xBEEF) << 48));
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_x86_64_4level, 0x123, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_activate_value(&pt, &v), K23_OK);
    cr_assert_eq(v, pt.root | 0x123);
    cr_assert_eq(k23_pt_activate(&pt), K23_OK);
    cr_assert_eq(log->reg, K23_PORT_MMU_CR3);
}

/* ---- adopting a tree built elsewhere ---- */

Test(pagetable_kat, adopted_tree_gets_counts_and_reclaims_its_tables)
{
    /* Build an Sv39 tree by hand: root -> L1 table -> L0 table with two
     * pages, and a 2 MiB megapage in the L1 table. No counts written. */
    const k23_pt_format_t *f = &k23_pt_riscv_sv39;
    k23_paddr_t root, l1, l0;
    cr_assert_eq(kat_alloc(NULL, &root), K23_OK);
    cr_assert_eq(kat_alloc(NULL, &l1), K23_OK);
    cr_assert_eq(kat_alloc(NULL, &l0), K23_OK);
    uint64_t *troot = (uint64_t *)(uintptr_t)root, *t1 = (uint64_t *)(uintptr_t)l1,
             *t0 = (uint64_t *)(uintptr_t)l0;
    cr_assert_eq(k23_pt_encode_table(f, 2, l1, &troot[1]), K23_OK);
    cr_assert_eq(k23_pt_encode_table(f, 1, l0, &t1[0]), K23_OK);
    t0[3] = enc(f, 0, 0x80003000, R, 0);
    t0[4] = enc(f, 0, 0x80004000, R | W, 0);
    t1[7] = enc(f, 1, 0x80200000, R | X, 0);
    k23_pt_t pt;
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_from_active(&pt, f, root, 4, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_table_frames(&pt), 3);
    k23_pt_mapping_t m;
    cr_assert_eq(k23_pt_query(&pt, G1 + 7 * M2 + 5, &m), K23_OK);
    cr_assert_eq(m.pa, 0x80200005);
    cr_assert_eq(m.perm, R | X);
    cr_assert_eq(k23_pt_flush_init(&fl, 4), K23_OK);
    cr_assert_eq(k23_pt_unmap(&pt, G1, G1, &fl), K23_OK);
    cr_assert_eq(fl.nfree, 2, "both tables below the root go back");
    cr_assert_eq(k23_pt_table_frames(&pt), 1);
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    k23_pt_flush_fini(&fl);
    /* a block with a memory type the library does not write (PBMT NC)
     * cannot be split: refused, nothing changed */
    k23_paddr_t r2, m1;
    cr_assert_eq(kat_alloc(NULL, &r2), K23_OK);
    cr_assert_eq(kat_alloc(NULL, &m1), K23_OK);
    cr_assert_eq(k23_pt_encode_table(f, 2, m1, &((uint64_t *)(uintptr_t)r2)[1]), K23_OK);
    uint64_t nc = enc(f, 1, 0x80200000, R, 0) | (UINT64_C(1) << 61);
    ((uint64_t *)(uintptr_t)m1)[7] = nc;
    k23_pt_t pt2;
    cr_assert_eq(k23_pt_from_active(&pt2, f, r2, 4, &kat_src), K23_OK);
    cr_assert_eq(k23_pt_query(&pt2, G1 + 7 * M2, &m), K23_OK);
    cr_assert_eq(m.memtype, K23_PT_MEM_OTHER);
    cr_assert_eq(k23_pt_flush_init(&fl, 4), K23_OK);
    cr_assert_eq(k23_pt_protect(&pt2, G1 + 7 * M2 + K4, K4, R | W, &fl), K23_ERR_UNSUPPORTED);
    cr_assert_eq(((uint64_t *)(uintptr_t)m1)[7] & ~(UINT64_C(3) << 8), nc);
    cr_assert_eq(k23_pt_protect(&pt2, G1 + 7 * M2, M2, R | W, &fl), K23_OK); /* whole: fine */
    cr_assert_eq(k23_pt_query(&pt2, G1 + 7 * M2, &m), K23_OK);
    cr_assert_eq(m.perm, R | W);
    cr_assert_eq(m.memtype, K23_PT_MEM_OTHER, "protect keeps the memory type");
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    k23_pt_flush_fini(&fl);
    /* a reserved encoding is refused */
    t1[9] = UINT64_C(0x5); /* V|W without R */
    cr_assert_eq(k23_pt_encode_table(f, 2, l1, &troot[1]), K23_OK);
    cr_assert_eq(k23_pt_from_active(&pt, f, root, 4, &kat_src), K23_ERR_CORRUPT);
}

/* ---- fault decoders ---- */

Test(pagetable_kat, x86_error_codes_every_combination)
{
    for (uint64_t code = 0; code < (UINT64_C(1) << 17); code++) {
        k23_pt_fault_t f;
        memset(&f, 0x5A, sizeof(f));
        int rc = k23_pt_fault_x86_64(code, 0xdead000, &f);
        bool reserved = (code & ~UINT64_C(0x80FF)) != 0;
        bool wi = (code & 2) && (code & 0x10);
        bool unsupported = (code & (0x8 | 0x20 | 0x40 | 0x80 | 0x8000)) != 0;
        if (reserved || wi) {
            cr_assert_eq(rc, K23_ERR_INVAL, "code %#llx", (unsigned long long)code);
            continue;
        }
        if (unsupported) {
            cr_assert_eq(rc, K23_ERR_UNSUPPORTED, "code %#llx", (unsigned long long)code);
            continue;
        }
        cr_assert_eq(rc, K23_OK);
        k23_fault_t cause = (code & 0x10) ? K23_FAULT_INSTRUCTION
                            : (code & 2)  ? K23_FAULT_STORE
                                          : K23_FAULT_LOAD;
        cr_assert_eq(f.cause, cause);
        cr_assert_eq(f.kind, (code & 1) ? K23_PT_FAULT_PERMISSION : K23_PT_FAULT_NOT_PRESENT);
        cr_assert_eq(f.user, (code & 4) != 0);
        cr_assert_eq(f.addr, 0xdead000);
        k23_perm_t need = (code & 0x10) ? R | X : (code & 2) ? W : R;
        cr_assert_eq(f.needed, need | ((code & 4) ? U : 0));
    }
    cr_assert_eq(k23_pt_fault_x86_64(0, 0, NULL), K23_ERR_INVAL);
}

Test(pagetable_kat, aarch64_esr_every_class_and_status)
{
    for (unsigned ec = 0; ec < 64; ec++)
        for (unsigned fsc = 0; fsc < 64; fsc++)
            for (unsigned extra = 0; extra < 8; extra++) {
                /* extra bit 0: WnR (6), bit 1: CM (8), bit 2: FnV (10) */
                uint64_t esr = ((uint64_t)ec << 26) | (UINT64_C(1) << 25) | fsc |
                               ((extra & 1) ? UINT64_C(1) << 6 : 0) |
                               ((extra & 2) ? UINT64_C(1) << 8 : 0) |
                               ((extra & 4) ? UINT64_C(1) << 10 : 0);
                k23_pt_fault_t f;
                int rc = k23_pt_fault_aarch64(esr, 0xffff000012345678, &f);
                bool inst = ec == 0x20 || ec == 0x21, data = ec == 0x24 || ec == 0x25;
                bool trans = fsc >= 4 && fsc <= 7, perm = fsc >= 0xD && fsc <= 0xF;
                bool ok = (inst || data) && (trans || perm) && !(extra & 4) &&
                          !(data && (extra & 2));
                if (!ok) {
                    cr_assert_eq(rc, K23_ERR_UNSUPPORTED, "esr %#llx", (unsigned long long)esr);
                    continue;
                }
                cr_assert_eq(rc, K23_OK, "esr %#llx", (unsigned long long)esr);
                cr_assert_eq(f.cause, inst ? K23_FAULT_INSTRUCTION
                                      : (extra & 1) ? K23_FAULT_STORE : K23_FAULT_LOAD);
                cr_assert_eq(f.kind, trans ? K23_PT_FAULT_NOT_PRESENT : K23_PT_FAULT_PERMISSION);
                cr_assert_eq(f.user, ec == 0x20 || ec == 0x24);
                cr_assert_eq(f.addr, 0xffff000012345678);
            }
    cr_assert_eq(k23_pt_fault_aarch64(0, 0, NULL), K23_ERR_INVAL);
}

Test(pagetable_kat, riscv64_scause_every_exception_code)
{
    for (uint64_t code = 0; code < 64; code++)
        for (int intr = 0; intr < 2; intr++)
            for (int spp = 0; spp < 2; spp++) {
                uint64_t scause = code | ((uint64_t)intr << 63);
                k23_pt_fault_t f;
                int rc = k23_pt_fault_riscv64(scause, 0x4000, (uint64_t)spp << 8, &f);
                bool ok = !intr && (code == 12 || code == 13 || code == 15);
                if (!ok) {
                    cr_assert_eq(rc, K23_ERR_UNSUPPORTED);
                    continue;
                }
                cr_assert_eq(rc, K23_OK);
                cr_assert_eq(f.cause, code == 12   ? K23_FAULT_INSTRUCTION
                                      : code == 13 ? K23_FAULT_LOAD
                                                   : K23_FAULT_STORE);
                cr_assert_eq(f.kind, K23_PT_FAULT_UNKNOWN);
                cr_assert_eq(f.user, spp == 0);
                cr_assert_eq(f.needed, (code == 12 ? R | X : code == 13 ? R : W) | (spp ? 0 : U));
            }
}
