/*
 * riscv64 entry for QEMU's virt machine behind OpenSBI (-bios default).
 * OpenSBI enters at 0x80200000 in S-mode with satp = 0 (no translation),
 * a0 = hart id and a1 = the DTB's address. Only the boot hart runs.
 */
    .section .text.boot, "ax"
    .global _start
_start:
    csrw    sie, zero               /* interrupts stay off for good */
    csrci   sstatus, 2              /* sstatus.SIE = 0 */
    mv      s0, a0                  /* hart id */
    mv      s1, a1                  /* DTB */

    la      sp, __stack_top

    /* Zero .bss (8-byte aligned by the linker script). */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b

2:  la      t0, k23k_trap_entry
    csrw    stvec, t0

    mv      a0, s1
    mv      a1, s0
    call    k23k_main
3:  wfi
    j       3b

/* Any trap is a bug in this kernel (it enables no interrupts). */
    .text
    .balign 4
    .global k23k_trap_entry
k23k_trap_entry:
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    j       k23k_arch_trap
