/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Entry of the drop-in test kernel behind OpenSBI (-bios default): S-mode
 * at 0x80200000, a0 = hart id, a1 = DTB. Turns the FPU on (the kernel is
 * built for lp64d and may use FP registers), zeroes .bss, catches traps.
 */
    .section .text.boot, "ax"
    .global _start
_start:
    csrw    sie, zero
    csrci   sstatus, 2              /* SIE = 0: interrupts off */
    li      t0, 1 << 13
    csrs    sstatus, t0             /* FS = Initial: FP instructions allowed */
    la      sp, stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  la      t0, trap_entry
    csrw    stvec, t0
    call    kmain
3:  wfi
    j       3b

/* Any trap is a failure: report scause, sepc and stval. */
    .align 2
trap_entry:
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    ktrap
4:  wfi
    j       4b

    .section .bss
    .align 4
stack:
    .space 16384
stack_top:
