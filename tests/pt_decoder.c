/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Independent page-table reader (see pt_decoder.h). Each architecture has
 * its own walker following its manual's translation steps:
 *   x86_64:  Intel SDM vol. 3A 4.5 and tables 4-14..4-20, with 4.6 for
 *            the combination of access rights along the path and 4.9.2
 *            for the PAT index (default PAT: 0 WB, 3 UC);
 *   aarch64: Arm ARM D8.3 (descriptor formats), D8.4 (hierarchical
 *            APTable/UXNTable/PXNTable), D8.5 (memory attributes via
 *            MAIR_EL1 = 0x04FF as pagetable.h states);
 *   riscv64: privileged spec 12.3.2 (the virtual-address translation
 *            process) and Svpbmt.
 */
#include "pt_decoder.h"

#include <stdbool.h>
#include <stddef.h>

#include "k23mem/port.h"

static const uint64_t *ref_table(uint64_t pa)
{
    return (const uint64_t *)k23_port_phys_to_virt(pa);
}

static uint64_t bits(uint64_t v, unsigned hi, unsigned lo)
{
    uint64_t w = hi - lo + 1;
    return (v >> lo) & (w == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << w) - 1));
}

static uint64_t sext(uint64_t va, unsigned top)
{
    /* copy bit `top` into bits 63..top+1 */
    if (va & (UINT64_C(1) << top))
        return va | ~((UINT64_C(1) << (top + 1)) - 1);
    return va & ((UINT64_C(1) << (top + 1)) - 1);
}

typedef struct walk {
    ref_leaf_fn fn;
    void *ctx;
    uint64_t tables;
    const char *err;
} walk_t;

/* ---------------------------------------------------------------- x86_64 */

/* Rights along the path: writes need R/W = 1 in every entry, user access
 * needs U/S = 1 in every entry, a fetch is refused if any entry has XD. */
typedef struct x86_rights {
    bool w, u, xd;
} x86_rights_t;

static void x86_emit(walk_t *wk, uint64_t va, uint64_t size, uint64_t pa,
                     x86_rights_t r, unsigned pat_idx, bool g)
{
    ref_leaf_t l = {va, size, pa, K23_PERM_READ, K23_PT_MEM_OTHER};
    if (r.w)
        l.perm |= K23_PERM_WRITE;
    if (r.u)
        l.perm |= K23_PERM_USER;
    if (!r.xd)
        l.perm |= K23_PERM_EXECUTE;
    /* Power-on PAT: entries 0 and 4 WB, 3 and 7 UC. */
    if (pat_idx == 0 || pat_idx == 4)
        l.memtype = K23_PT_MEM_NORMAL;
    else if (pat_idx == 3 || pat_idx == 7)
        l.memtype = K23_PT_MEM_DEVICE;
    if (g == r.u && wk->err == NULL)
        wk->err = "x86: G must be set exactly on supervisor leaves";
    wk->fn(wk->ctx, &l);
}

/* depth: 0 = PML5 or PML4 root ... ; lvl_left: tables below this one */
static void x86_walk(walk_t *wk, uint64_t table_pa, unsigned lvl,
                     uint64_t va_prefix, x86_rights_t in, unsigned top_bit)
{
    const uint64_t *t = ref_table(table_pa);
    wk->tables++;
    unsigned shift = 12 + 9 * lvl; /* lvl 0: PT, 1: PD, 2: PDPT, 3: PML4, 4: PML5 */
    for (uint64_t i = 0; i < 512 && wk->err == NULL; i++) {
        uint64_t e = t[i];
        if (!(e & 1))
            continue; /* P = 0: every other bit ignored */
        uint64_t va = sext(va_prefix | (i << shift), top_bit);
        x86_rights_t r = {in.w && (e & 2), in.u && (e & 4),
                          in.xd || (e >> 63)};
        bool ps = (e >> 7) & 1;
        if (lvl >= 3 && ps) {
            wk->err = "x86: PS set in a PML4E/PML5E (reserved)";
            return;
        }
        if (lvl == 0) {
            unsigned pat = (unsigned)(bits(e, 3, 3) | bits(e, 4, 4) << 1 |
                                      bits(e, 7, 7) << 2);
            x86_emit(wk, va, 4096, bits(e, 51, 12) << 12, r, pat,
                     bits(e, 8, 8));
        } else if (ps) {
            unsigned lo = lvl == 1 ? 21 : 30;
            if (bits(e, lo - 1, 13) != 0) {
                wk->err = "x86: reserved address bits set in a large page";
                return;
            }
            unsigned pat = (unsigned)(bits(e, 3, 3) | bits(e, 4, 4) << 1 |
                                      bits(e, 12, 12) << 2);
            x86_emit(wk, va, UINT64_C(1) << lo, bits(e, 51, lo) << lo, r,
                     pat, bits(e, 8, 8));
        } else {
            x86_walk(wk, bits(e, 51, 12) << 12, lvl - 1, va & ~UINT64_C(0),
                     r, top_bit);
        }
    }
}

/* --------------------------------------------------------------- aarch64 */

#define A64_MAIR UINT64_C(0x04FF)

typedef struct a64_hier {
    bool no_el0;   /* APTable[0] */
    bool ro;       /* APTable[1] */
    bool uxn, pxn; /* UXNTable, PXNTable */
} a64_hier_t;

static void a64_emit(walk_t *wk, uint64_t va, uint64_t size, uint64_t e,
                     unsigned addr_lo, a64_hier_t h)
{
    if (bits(e, 10, 10) == 0) {
        wk->err = "aarch64: AF = 0 (access flag fault on first use)";
        return;
    }
    if (bits(e, addr_lo - 1, 12) != 0) {
        wk->err = "aarch64: RES0 address bits set in a block";
        return;
    }
    bool ap1 = bits(e, 6, 6) && !h.no_el0, ap2 = bits(e, 7, 7) || h.ro;
    bool uxn = bits(e, 54, 54) || h.uxn, pxn = bits(e, 53, 53) || h.pxn;
    ref_leaf_t l = {va, size, bits(e, 47, addr_lo) << addr_lo, K23_PERM_READ,
                    K23_PT_MEM_OTHER};
    if (!ap2)
        l.perm |= K23_PERM_WRITE;
    if (ap1) {
        l.perm |= K23_PERM_USER;
        if (!uxn)
            l.perm |= K23_PERM_EXECUTE;
        if (!pxn)
            wk->err = "aarch64: user page executable at EL1";
    } else {
        if (!pxn)
            l.perm |= K23_PERM_EXECUTE;
        if (!uxn)
            wk->err = "aarch64: kernel page executable at EL0";
    }
    unsigned attr = (unsigned)bits(A64_MAIR, 8 * bits(e, 4, 2) + 7,
                                   8 * bits(e, 4, 2));
    if (attr == 0xFF) {
        l.memtype = K23_PT_MEM_NORMAL;
        if (bits(e, 9, 8) != 3)
            wk->err = "aarch64: normal memory not inner shareable";
    } else if (attr == 0x04) {
        l.memtype = K23_PT_MEM_DEVICE;
    }
    if (bits(e, 11, 11) != (uint64_t)ap1 && wk->err == NULL)
        wk->err = "aarch64: nG must be set exactly on EL0 pages";
    if (wk->err == NULL)
        wk->fn(wk->ctx, &l);
}

/* arm_level: 0..3 as the Arm ARM numbers them */
static void a64_walk(walk_t *wk, uint64_t table_pa, unsigned arm_level,
                     uint64_t va_prefix, a64_hier_t h, bool high,
                     unsigned va_bits)
{
    const uint64_t *t = ref_table(table_pa);
    wk->tables++;
    unsigned shift = 12 + 9 * (3 - arm_level);
    for (uint64_t i = 0; i < 512 && wk->err == NULL; i++) {
        uint64_t e = t[i];
        if (!(e & 1))
            continue; /* invalid */
        uint64_t va = va_prefix | (i << shift);
        if (high)
            va |= ~((UINT64_C(1) << va_bits) - 1);
        bool bit1 = (e >> 1) & 1;
        if (arm_level == 3) {
            if (!bit1) {
                wk->err = "aarch64: level 3 descriptor 0b01 (reserved)";
                return;
            }
            a64_emit(wk, va, 4096, e, 12, h);
        } else if (bit1) {
            a64_hier_t n = {h.no_el0 || bits(e, 61, 61), h.ro || bits(e, 62, 62),
                            h.uxn || bits(e, 60, 60), h.pxn || bits(e, 59, 59)};
            a64_walk(wk, bits(e, 47, 12) << 12, arm_level + 1,
                     va & ((UINT64_C(1) << va_bits) - 1), n, high, va_bits);
        } else if (arm_level == 0) {
            wk->err = "aarch64: block at level 0 with the 4 KiB granule";
            return;
        } else {
            unsigned lo = arm_level == 1 ? 30 : 21;
            a64_emit(wk, va, UINT64_C(1) << lo, e, lo, h);
        }
    }
}

/* --------------------------------------------------------------- riscv64 */

static void rv_walk(walk_t *wk, uint64_t a, int i, uint64_t va_prefix,
                    unsigned top_bit)
{
    const uint64_t *t = ref_table(a);
    wk->tables++;
    for (uint64_t idx = 0; idx < 512 && wk->err == NULL; idx++) {
        uint64_t pte = t[idx];
        bool v = pte & 1, r = (pte >> 1) & 1, w = (pte >> 2) & 1,
             x = (pte >> 3) & 1, u = (pte >> 4) & 1, g = (pte >> 5) & 1,
             ac = (pte >> 6) & 1, d = (pte >> 7) & 1;
        if (!v)
            continue;
        if (!r && w) {
            wk->err = "riscv: W without R (reserved)";
            return;
        }
        if (bits(pte, 60, 54) != 0 || bits(pte, 63, 63) != 0) {
            wk->err = "riscv: reserved bits or N set";
            return;
        }
        uint64_t pbmt = bits(pte, 62, 61);
        uint64_t va = sext(va_prefix | (idx << (12 + 9 * i)), top_bit);
        if (!r && !x) { /* pointer to the next level */
            if (d || ac || u || pbmt != 0) {
                wk->err = "riscv: D, A, U or PBMT set in a non-leaf PTE";
                return;
            }
            if (i == 0) {
                wk->err = "riscv: non-leaf PTE at level 0";
                return;
            }
            rv_walk(wk, bits(pte, 53, 10) << 12, i - 1, va, top_bit);
            continue;
        }
        /* leaf */
        if (i > 0 && bits(pte, 10 + 9 * i - 1, 10) != 0) {
            wk->err = "riscv: misaligned superpage";
            return;
        }
        if (!ac || (w && !d)) {
            wk->err = "riscv: A (or D of a writable page) clear";
            return;
        }
        if (g == u) {
            wk->err = "riscv: G must be set exactly on supervisor leaves";
            return;
        }
        if (pbmt == 3) {
            wk->err = "riscv: PBMT = 3 (reserved)";
            return;
        }
        ref_leaf_t l = {va, UINT64_C(1) << (12 + 9 * i),
                        bits(pte, 53, 10) << 12, K23_PERM_READ,
                        pbmt == 0   ? K23_PT_MEM_NORMAL
                        : pbmt == 2 ? K23_PT_MEM_DEVICE
                                    : K23_PT_MEM_OTHER};
        if (w)
            l.perm |= K23_PERM_WRITE;
        if (x)
            l.perm |= K23_PERM_EXECUTE;
        if (u)
            l.perm |= K23_PERM_USER;
        wk->fn(wk->ctx, &l);
    }
}

const char *ref_walk(ref_mode_t mode, uint64_t root_pa, ref_leaf_fn fn,
                     void *ctx, uint64_t *tables)
{
    walk_t wk = {fn, ctx, 0, NULL};
    x86_rights_t all = {true, true, false};
    a64_hier_t none = {false, false, false, false};
    switch (mode) {
    case REF_X86_4LEVEL:
        x86_walk(&wk, root_pa, 3, 0, all, 47);
        break;
    case REF_X86_5LEVEL:
        x86_walk(&wk, root_pa, 4, 0, all, 56);
        break;
    case REF_A64_39_TTBR0:
        a64_walk(&wk, root_pa, 1, 0, none, false, 39);
        break;
    case REF_A64_39_TTBR1:
        a64_walk(&wk, root_pa, 1, 0, none, true, 39);
        break;
    case REF_A64_48_TTBR0:
        a64_walk(&wk, root_pa, 0, 0, none, false, 48);
        break;
    case REF_A64_48_TTBR1:
        a64_walk(&wk, root_pa, 0, 0, none, true, 48);
        break;
    case REF_RV_SV39:
        rv_walk(&wk, root_pa, 2, 0, 38);
        break;
    case REF_RV_SV48:
        rv_walk(&wk, root_pa, 3, 0, 47);
        break;
    case REF_RV_SV57:
        rv_walk(&wk, root_pa, 4, 0, 56);
        break;
    }
    if (tables != NULL)
        *tables = wk.tables;
    return wk.err;
}
