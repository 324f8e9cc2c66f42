/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Page-table formats: the descriptor bits of x86_64, aarch64 (stage 1,
 * 4 KiB granule) and riscv64 (Sv39/48/57) as data plus encode and decode
 * functions. The engine (pagetable.c) only reads k23_pt_format_t.
 *
 * Sources: Intel SDM vol. 3A, 4.5 (4-level and 5-level paging, tables
 * 4-15 to 4-20); Arm ARM, D8.3 (VMSAv8-64 translation table descriptors);
 * RISC-V privileged spec, 12.3-12.6 (Sv39, Sv48, Sv57) and Svpbmt.
 */
#include "k23mem/pagetable.h"

#include "internal.h"
#include "pagetable_internal.h"

#define BIT(n) (UINT64_C(1) << (n))
#define LEAF_SIZE(level) (UINT64_C(1) << (12u + 9u * (level)))

/* ---- x86_64 ---- */

#define X86_P BIT(0)
#define X86_RW BIT(1)
#define X86_US BIT(2)
#define X86_PWT BIT(3)
#define X86_PCD BIT(4)
#define X86_A BIT(5)
#define X86_D BIT(6)
#define X86_PS BIT(7)       /* levels 1-2: a 2 MiB / 1 GiB page */
#define X86_PAT_4K BIT(7)   /* level 0: the PAT index's high bit */
#define X86_G BIT(8)
#define X86_PAT_BIG BIT(12) /* levels 1-2 */
#define X86_NX BIT(63)
#define X86_ADDR UINT64_C(0x000FFFFFFFFFF000) /* bits 51:12 */

/* Accessed (and Dirty for writable pages) are set up front so the CPU
 * never writes our entries; the count bits in software fields rely on
 * that (docs/pagetable.md). PCD|PWT with PAT 0 selects PAT entry 3, UC in
 * the power-on PAT; entry 0 is WB. */
static uint64_t x86_leaf(k23_paddr_t pa, k23_perm_t perm, unsigned memtype,
                         unsigned level)
{
    uint64_t e = pa | X86_P | X86_A;
    if (perm & K23_PERM_WRITE)
        e |= X86_RW | X86_D;
    e |= (perm & K23_PERM_USER) ? X86_US : X86_G;
    if (memtype == K23_PT_MEM_DEVICE)
        e |= X86_PCD | X86_PWT;
    if (level > 0)
        e |= X86_PS;
    if (!(perm & K23_PERM_EXECUTE))
        e |= X86_NX;
    return e;
}

/* Table entries allow everything: the leaf decides. */
static uint64_t x86_table(k23_paddr_t pa)
{
    return pa | X86_P | X86_RW | X86_US | X86_A;
}

static void x86_decode(uint64_t e, unsigned level, k23_pt_entry_t *out)
{
    out->pa = 0;
    out->perm = 0;
    out->memtype = 0;
    if (!(e & X86_P)) {
        out->kind = K23_PT_ENTRY_INVALID;
        return;
    }
    if (level > 0 && !(e & X86_PS)) {
        out->kind = K23_PT_ENTRY_TABLE;
        out->pa = e & X86_ADDR;
        return;
    }
    if (level > 2) { /* PS in a PML4E/PML5E is reserved */
        out->kind = K23_PT_ENTRY_RESERVED;
        return;
    }
    out->kind = K23_PT_ENTRY_LEAF;
    out->pa = e & X86_ADDR & ~(LEAF_SIZE(level) - 1);
    out->perm = K23_PERM_READ;
    if (e & X86_RW)
        out->perm |= K23_PERM_WRITE;
    if (e & X86_US)
        out->perm |= K23_PERM_USER;
    if (!(e & X86_NX))
        out->perm |= K23_PERM_EXECUTE;
    unsigned pat = (unsigned)((e & X86_PWT) ? 1 : 0) |
                   (unsigned)((e & X86_PCD) ? 2 : 0) |
                   (unsigned)((e & (level ? X86_PAT_BIG : X86_PAT_4K)) ? 4 : 0);
    out->memtype = pat == 0   ? K23_PT_MEM_NORMAL
                   : pat == 3 ? K23_PT_MEM_DEVICE
                              : K23_PT_MEM_OTHER;
}

#define X86_FORMAT(nm, lv, vb)                                             \
    {                                                                      \
        .name = nm, .arch = K23_PT_ARCH_X86_64, .levels = lv,              \
        .va_bits = vb, .half = K23_PT_HALF_BOTH, .pa_bits = 52,            \
        .pte_pa_shift = 0, .lane_shift = {9, 52}, .lane_bits = {3, 7},     \
        .satp_mode = 0, .valid_bit = X86_P, .table_mask = X86_P | X86_PS,  \
        .table_match = X86_P, .addr_mask = X86_ADDR,                       \
        .perm_mask = X86_RW | X86_US | X86_D | X86_G | X86_NX,             \
        .user_bit = X86_US, .leaf = x86_leaf, .table = x86_table,          \
        .decode = x86_decode                                               \
    }

const k23_pt_format_t k23_pt_x86_64_4level = X86_FORMAT("x86_64-4level", 4, 48);
const k23_pt_format_t k23_pt_x86_64_5level = X86_FORMAT("x86_64-5level", 5, 57);

/* ---- aarch64, stage 1, 4 KiB granule ---- */

#define A64_VALID BIT(0)
#define A64_TABLE BIT(1)     /* levels 0-2: table; level 3: page */
#define A64_ATTRIDX(i) ((uint64_t)(i) << 2)
#define A64_AP_USER BIT(6)   /* AP[1]: EL0 access */
#define A64_AP_RO BIT(7)     /* AP[2]: read-only */
#define A64_SH_INNER (UINT64_C(3) << 8)
#define A64_AF BIT(10)
#define A64_NG BIT(11)
#define A64_PXN BIT(53)
#define A64_UXN BIT(54)
#define A64_ADDR UINT64_C(0x0000FFFFFFFFF000) /* bits 47:12 */

/* Our level 0 is the Arm level 3 (pages, bits[1:0] = 0b11); levels 1-2
 * are Arm levels 2 and 1, where 0b01 is a block. A kernel mapping
 * executable at EL1 must not be executable at EL0 and the other way
 * round, so exactly one of PXN/UXN is cleared for EXECUTE. */
static uint64_t a64_leaf(k23_paddr_t pa, k23_perm_t perm, unsigned memtype,
                         unsigned level)
{
    uint64_t e = pa | A64_VALID | A64_AF;
    if (level == 0)
        e |= A64_TABLE;
    if (memtype == K23_PT_MEM_DEVICE)
        e |= A64_ATTRIDX(1);
    else
        e |= A64_ATTRIDX(0) | A64_SH_INNER;
    if (!(perm & K23_PERM_WRITE))
        e |= A64_AP_RO;
    if (perm & K23_PERM_USER)
        e |= A64_AP_USER | A64_NG;
    if (!(perm & K23_PERM_EXECUTE))
        e |= A64_PXN | A64_UXN;
    else
        e |= (perm & K23_PERM_USER) ? A64_PXN : A64_UXN;
    return e;
}

static uint64_t a64_table(k23_paddr_t pa)
{
    return pa | A64_VALID | A64_TABLE;
}

static void a64_decode(uint64_t e, unsigned level, k23_pt_entry_t *out)
{
    out->pa = 0;
    out->perm = 0;
    out->memtype = 0;
    if (!(e & A64_VALID)) {
        out->kind = K23_PT_ENTRY_INVALID;
        return;
    }
    if (level > 0 && (e & A64_TABLE)) {
        out->kind = K23_PT_ENTRY_TABLE;
        out->pa = e & A64_ADDR;
        return;
    }
    /* Level 3 with bits[1:0] = 0b01 is reserved (treated as invalid by
     * the hardware); so is a block above Arm level 1. */
    if ((level == 0 && !(e & A64_TABLE)) || level > 2) {
        out->kind = K23_PT_ENTRY_RESERVED;
        return;
    }
    out->kind = K23_PT_ENTRY_LEAF;
    out->pa = e & A64_ADDR & ~(LEAF_SIZE(level) - 1);
    out->perm = K23_PERM_READ;
    if (!(e & A64_AP_RO))
        out->perm |= K23_PERM_WRITE;
    if (e & A64_AP_USER)
        out->perm |= K23_PERM_USER;
    if (!(e & ((e & A64_AP_USER) ? A64_UXN : A64_PXN)))
        out->perm |= K23_PERM_EXECUTE;
    unsigned idx = (unsigned)(e >> 2) & 7u;
    out->memtype = idx == 0   ? K23_PT_MEM_NORMAL
                   : idx == 1 ? K23_PT_MEM_DEVICE
                              : K23_PT_MEM_OTHER;
}

#define A64_FORMAT(nm, lv, vb, hf)                                         \
    {                                                                      \
        .name = nm, .arch = K23_PT_ARCH_AARCH64, .levels = lv,             \
        .va_bits = vb, .half = hf, .pa_bits = 48, .pte_pa_shift = 0,       \
        .lane_shift = {55, 0}, .lane_bits = {4, 0}, .satp_mode = 0,        \
        .valid_bit = A64_VALID, .table_mask = A64_VALID | A64_TABLE,       \
        .table_match = A64_VALID | A64_TABLE, .addr_mask = A64_ADDR,       \
        .perm_mask = A64_AP_USER | A64_AP_RO | A64_NG | A64_PXN | A64_UXN, \
        .user_bit = A64_AP_USER, .leaf = a64_leaf, .table = a64_table,     \
        .decode = a64_decode                                               \
    }

const k23_pt_format_t k23_pt_aarch64_39_ttbr0 =
    A64_FORMAT("aarch64-39-ttbr0", 3, 39, K23_PT_HALF_LOW);
const k23_pt_format_t k23_pt_aarch64_39_ttbr1 =
    A64_FORMAT("aarch64-39-ttbr1", 3, 39, K23_PT_HALF_HIGH);
const k23_pt_format_t k23_pt_aarch64_48_ttbr0 =
    A64_FORMAT("aarch64-48-ttbr0", 4, 48, K23_PT_HALF_LOW);
const k23_pt_format_t k23_pt_aarch64_48_ttbr1 =
    A64_FORMAT("aarch64-48-ttbr1", 4, 48, K23_PT_HALF_HIGH);

/* ---- riscv64 ---- */

#define RV_V BIT(0)
#define RV_R BIT(1)
#define RV_W BIT(2)
#define RV_X BIT(3)
#define RV_U BIT(4)
#define RV_G BIT(5)
#define RV_A BIT(6)
#define RV_D BIT(7)
#define RV_PPN UINT64_C(0x003FFFFFFFFFFC00) /* bits 53:10 */
#define RV_PBMT_SHIFT 61
#define RV_PBMT_IO UINT64_C(2)

/* PPN = pa >> 12 at bit 10, i.e. pa >> 2 for a 4 KiB-aligned pa. */
static uint64_t rv_leaf(k23_paddr_t pa, k23_perm_t perm, unsigned memtype,
                        unsigned level)
{
    (void)level;
    uint64_t e = (pa >> 2) | RV_V | RV_R | RV_A;
    if (perm & K23_PERM_WRITE)
        e |= RV_W | RV_D;
    if (perm & K23_PERM_EXECUTE)
        e |= RV_X;
    e |= (perm & K23_PERM_USER) ? RV_U : RV_G;
    if (memtype == K23_PT_MEM_DEVICE)
        e |= RV_PBMT_IO << RV_PBMT_SHIFT;
    return e;
}

static uint64_t rv_table(k23_paddr_t pa)
{
    return (pa >> 2) | RV_V;
}

static void rv_decode(uint64_t e, unsigned level, k23_pt_entry_t *out)
{
    out->pa = 0;
    out->perm = 0;
    out->memtype = 0;
    if (!(e & RV_V)) {
        out->kind = K23_PT_ENTRY_INVALID;
        return;
    }
    uint64_t pa = (e & RV_PPN) << 2;
    if (!(e & (RV_R | RV_W | RV_X))) {
        out->kind = level > 0 ? K23_PT_ENTRY_TABLE : K23_PT_ENTRY_RESERVED;
        out->pa = level > 0 ? pa : 0;
        return;
    }
    /* W without R is reserved; so is a superpage whose low PPN fields
     * are not zero (misaligned), and leaves above 1 GiB here. */
    if ((e & (RV_R | RV_W)) == RV_W || level > 2 ||
        (pa & (LEAF_SIZE(level) - 1)) != 0) {
        out->kind = K23_PT_ENTRY_RESERVED;
        return;
    }
    out->kind = K23_PT_ENTRY_LEAF;
    out->pa = pa;
    out->perm = K23_PERM_READ;
    if (e & RV_W)
        out->perm |= K23_PERM_WRITE;
    if (e & RV_X)
        out->perm |= K23_PERM_EXECUTE;
    if (e & RV_U)
        out->perm |= K23_PERM_USER;
    unsigned pbmt = (unsigned)(e >> RV_PBMT_SHIFT) & 3u;
    out->memtype = pbmt == 0            ? K23_PT_MEM_NORMAL
                   : pbmt == RV_PBMT_IO ? K23_PT_MEM_DEVICE
                                        : K23_PT_MEM_OTHER;
}

#define RV_FORMAT(nm, lv, vb, mode)                                        \
    {                                                                      \
        .name = nm, .arch = K23_PT_ARCH_RISCV64, .levels = lv,             \
        .va_bits = vb, .half = K23_PT_HALF_BOTH, .pa_bits = 56,            \
        .pte_pa_shift = 2, .lane_shift = {8, 0}, .lane_bits = {2, 0},      \
        .satp_mode = mode, .valid_bit = RV_V,                              \
        .table_mask = RV_V | RV_R | RV_W | RV_X, .table_match = RV_V,      \
        .addr_mask = RV_PPN, .perm_mask = RV_W | RV_X | RV_U | RV_G | RV_D,\
        .user_bit = RV_U, .leaf = rv_leaf, .table = rv_table,              \
        .decode = rv_decode                                                \
    }

const k23_pt_format_t k23_pt_riscv_sv39 = RV_FORMAT("riscv-sv39", 3, 39, 8);
const k23_pt_format_t k23_pt_riscv_sv48 = RV_FORMAT("riscv-sv48", 4, 48, 9);
const k23_pt_format_t k23_pt_riscv_sv57 = RV_FORMAT("riscv-sv57", 5, 57, 10);

/* ---- public encode/decode with argument checks ---- */

static bool pt_format_ok(const k23_pt_format_t *fmt)
{
    return fmt != NULL && fmt->levels >= 3 && fmt->levels <= K23_PT_MAX_LEVELS &&
           fmt->leaf != NULL && fmt->table != NULL && fmt->decode != NULL &&
           fmt->va_bits == 12u + 9u * fmt->levels && fmt->pa_bits <= 64 &&
           fmt->pa_bits > 12;
}

bool k23_pt_format_ok_(const k23_pt_format_t *fmt)
{
    return pt_format_ok(fmt);
}

int k23_pt_leaf_args_ok_(const k23_pt_format_t *fmt, k23_perm_t perm,
                         unsigned memtype)
{
    int rc = k23_perm_check(perm);
    if (rc != K23_OK)
        return rc;
    (void)fmt;
    if (!(perm & K23_PERM_READ))
        return K23_ERR_INVAL;
    if (memtype != K23_PT_MEM_NORMAL && memtype != K23_PT_MEM_DEVICE)
        return K23_ERR_INVAL;
    return K23_OK;
}

int k23_pt_encode_leaf(const k23_pt_format_t *fmt, unsigned level,
                       k23_paddr_t pa, k23_perm_t perm, unsigned memtype,
                       uint64_t *out)
{
    if (!pt_format_ok(fmt) || out == NULL || level > K23_PT_MAX_LEAF_LEVEL ||
        level >= fmt->levels)
        return K23_ERR_INVAL;
    int rc = k23_pt_leaf_args_ok_(fmt, perm, memtype);
    if (rc != K23_OK)
        return rc;
    if ((pa & (LEAF_SIZE(level) - 1)) != 0 ||
        (fmt->pa_bits < 64 && (pa >> fmt->pa_bits) != 0))
        return K23_ERR_INVAL;
    *out = fmt->leaf(pa, perm, memtype, level);
    return K23_OK;
}

int k23_pt_encode_table(const k23_pt_format_t *fmt, unsigned level,
                        k23_paddr_t pa, uint64_t *out)
{
    if (!pt_format_ok(fmt) || out == NULL || level == 0 ||
        level >= fmt->levels || (pa & 0xFFFu) != 0 ||
        (fmt->pa_bits < 64 && (pa >> fmt->pa_bits) != 0))
        return K23_ERR_INVAL;
    *out = fmt->table(pa);
    return K23_OK;
}

int k23_pt_decode(const k23_pt_format_t *fmt, unsigned level, uint64_t e,
                  k23_pt_entry_t *out)
{
    if (!pt_format_ok(fmt) || out == NULL || level >= fmt->levels)
        return K23_ERR_INVAL;
    fmt->decode(e, level, out);
    return K23_OK;
}
