/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Page-fault decoders: the raw trap values of each architecture turned
 * into k23_fault_t flags, present-or-not, user-or-kernel and the
 * permissions the access needed (k23_fault_to_perm()).
 */
#include "k23mem/pagetable.h"

#include "internal.h"

static int pt_fault_fill(k23_fault_t cause, unsigned kind, bool user,
                         uint64_t addr, k23_pt_fault_t *out)
{
    k23_perm_t need;
    int rc = k23_fault_to_perm(cause, &need);
    if (rc != K23_OK)
        return rc;
    out->cause = cause;
    out->kind = kind;
    out->user = user;
    out->addr = addr;
    out->needed = need | (user ? K23_PERM_USER : 0);
    return K23_OK;
}

/* x86 #PF error code (Intel SDM vol. 3A, 4.7): bit 0 P (0: not present,
 * 1: protection violation), 1 W/R, 2 U/S, 3 RSVD, 4 I/D, 5 PK, 6 SS,
 * 7 HLAT, 15 SGX; the other bits are reserved. */
#define X86_PF_P BIT64_(0)
#define X86_PF_W BIT64_(1)
#define X86_PF_U BIT64_(2)
#define X86_PF_RSVD BIT64_(3)
#define X86_PF_I BIT64_(4)
#define X86_PF_PK BIT64_(5)
#define X86_PF_SS BIT64_(6)
#define X86_PF_HLAT BIT64_(7)
#define X86_PF_SGX BIT64_(15)
#define BIT64_(n) (UINT64_C(1) << (n))

int k23_pt_fault_x86_64(uint64_t error_code, uint64_t cr2,
                        k23_pt_fault_t *out)
{
    const uint64_t known = X86_PF_P | X86_PF_W | X86_PF_U | X86_PF_RSVD |
                           X86_PF_I | X86_PF_PK | X86_PF_SS | X86_PF_HLAT |
                           X86_PF_SGX;
    if (out == NULL || (error_code & ~known) != 0)
        return K23_ERR_INVAL;
    /* An instruction fetch is never a write. */
    if ((error_code & X86_PF_W) && (error_code & X86_PF_I))
        return K23_ERR_INVAL;
    if (error_code & (X86_PF_RSVD | X86_PF_PK | X86_PF_SS | X86_PF_HLAT |
                      X86_PF_SGX))
        return K23_ERR_UNSUPPORTED;
    k23_fault_t cause = (error_code & X86_PF_I)   ? K23_FAULT_INSTRUCTION
                        : (error_code & X86_PF_W) ? K23_FAULT_STORE
                                                  : K23_FAULT_LOAD;
    return pt_fault_fill(cause,
                         (error_code & X86_PF_P) ? K23_PT_FAULT_PERMISSION
                                                 : K23_PT_FAULT_NOT_PRESENT,
                         (error_code & X86_PF_U) != 0, cr2, out);
}

/* ESR_EL1 (Arm ARM D17.2.40): EC in bits 31:26; for instruction and data
 * aborts ISS bits 5:0 are the fault status code, bit 6 WnR (data), bit 8
 * CM (data: cache maintenance), bit 10 FnV (FAR not valid). */
#define ESR_EC_IABT_LOW 0x20u
#define ESR_EC_IABT_CUR 0x21u
#define ESR_EC_DABT_LOW 0x24u
#define ESR_EC_DABT_CUR 0x25u

int k23_pt_fault_aarch64(uint64_t esr, uint64_t far, k23_pt_fault_t *out)
{
    if (out == NULL)
        return K23_ERR_INVAL;
    unsigned ec = (unsigned)(esr >> 26) & 0x3Fu;
    unsigned fsc = (unsigned)esr & 0x3Fu;
    bool data = ec == ESR_EC_DABT_LOW || ec == ESR_EC_DABT_CUR;
    bool inst = ec == ESR_EC_IABT_LOW || ec == ESR_EC_IABT_CUR;
    if (!data && !inst)
        return K23_ERR_UNSUPPORTED;
    if (esr & BIT64_(10)) /* FnV: FAR holds no address */
        return K23_ERR_UNSUPPORTED;
    if (data && (esr & BIT64_(8))) /* cache maintenance, not a load/store */
        return K23_ERR_UNSUPPORTED;
    unsigned kind;
    if (fsc >= 0x04u && fsc <= 0x07u) /* translation fault, level 0-3 */
        kind = K23_PT_FAULT_NOT_PRESENT;
    else if (fsc >= 0x0Du && fsc <= 0x0Fu) /* permission fault, level 1-3 */
        kind = K23_PT_FAULT_PERMISSION;
    else
        return K23_ERR_UNSUPPORTED;
    k23_fault_t cause = inst                  ? K23_FAULT_INSTRUCTION
                        : (esr & BIT64_(6))   ? K23_FAULT_STORE
                                              : K23_FAULT_LOAD;
    bool user = ec == ESR_EC_IABT_LOW || ec == ESR_EC_DABT_LOW;
    return pt_fault_fill(cause, kind, user, far, out);
}

/* scause (RISC-V privileged spec, table 22): bit 63 interrupt; exception
 * codes 12 instruction, 13 load, 15 store/AMO page fault. sstatus.SPP
 * (bit 8) is the privilege the trap came from: 0 user. */
int k23_pt_fault_riscv64(uint64_t scause, uint64_t stval, uint64_t sstatus,
                         k23_pt_fault_t *out)
{
    if (out == NULL)
        return K23_ERR_INVAL;
    if (scause >> 63)
        return K23_ERR_UNSUPPORTED;
    k23_fault_t cause;
    switch (scause) {
    case 12:
        cause = K23_FAULT_INSTRUCTION;
        break;
    case 13:
        cause = K23_FAULT_LOAD;
        break;
    case 15:
        cause = K23_FAULT_STORE;
        break;
    default:
        return K23_ERR_UNSUPPORTED;
    }
    return pt_fault_fill(cause, K23_PT_FAULT_UNKNOWN,
                         (sstatus & BIT64_(8)) == 0, stval, out);
}
