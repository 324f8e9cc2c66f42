/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * riscv64 entry for QEMU's virt machine behind OpenSBI (-bios default).
 * OpenSBI enters at 0x80200000 in S-mode with satp = 0 (no translation),
 * a0 = hart id and a1 = the DTB's address. The other harts wait in
 * OpenSBI until k23k_arch_cpu_start() starts them.
 */
    .section .text.boot, "ax"
    .global _start
_start:
    csrw    sie, zero               /* interrupts off until the timer is set */
    csrci   sstatus, 2              /* sstatus.SIE = 0 */
    la      tp, k23k_cpus           /* per-CPU data: CPU 0's entry */
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

/*
 * Secondary harts, started by SBI HSM hart_start in S-mode with satp = 0,
 * a0 = hart id and a1 = their k23k_cpu_t (the opaque value).
 */
    .global k23k_secondary_entry
k23k_secondary_entry:
    csrw    sie, zero
    csrci   sstatus, 2
    mv      tp, a1
    ld      sp, 8(a1)               /* k23k_cpu_t.stack_top */
    la      t0, k23k_trap_entry
    csrw    stvec, t0
    mv      a0, a1
    call    k23k_secondary_main
4:  wfi
    j       4b

/*
 * Traps: a frame (k23k_trap_frame_t in arch.c) with x1-x31 at 8*i, sepc
 * and sstatus; k23k_arch_trap handles it and may change the frame's sepc
 * to resume elsewhere.
 */
#define FRAME 272
    .text
    .balign 4
    .global k23k_trap_entry
k23k_trap_entry:
    addi    sp, sp, -FRAME
    sd      x1, 8(sp)
    sd      x3, 24(sp)
    sd      x4, 32(sp)
    sd      x5, 40(sp)
    sd      x6, 48(sp)
    sd      x7, 56(sp)
    sd      x8, 64(sp)
    sd      x9, 72(sp)
    sd      x10, 80(sp)
    sd      x11, 88(sp)
    sd      x12, 96(sp)
    sd      x13, 104(sp)
    sd      x14, 112(sp)
    sd      x15, 120(sp)
    sd      x16, 128(sp)
    sd      x17, 136(sp)
    sd      x18, 144(sp)
    sd      x19, 152(sp)
    sd      x20, 160(sp)
    sd      x21, 168(sp)
    sd      x22, 176(sp)
    sd      x23, 184(sp)
    sd      x24, 192(sp)
    sd      x25, 200(sp)
    sd      x26, 208(sp)
    sd      x27, 216(sp)
    sd      x28, 224(sp)
    sd      x29, 232(sp)
    sd      x30, 240(sp)
    sd      x31, 248(sp)
    addi    t0, sp, FRAME
    sd      t0, 16(sp)              /* the interrupted sp */
    csrr    t0, sepc
    sd      t0, 256(sp)
    csrr    t0, sstatus
    sd      t0, 264(sp)
    csrr    a0, scause
    csrr    a1, stval
    mv      a2, sp
    call    k23k_arch_trap
    ld      t0, 256(sp)
    csrw    sepc, t0
    ld      t0, 264(sp)
    csrw    sstatus, t0
    ld      x1, 8(sp)
    ld      x3, 24(sp)
    ld      x4, 32(sp)
    ld      x5, 40(sp)
    ld      x6, 48(sp)
    ld      x7, 56(sp)
    ld      x8, 64(sp)
    ld      x9, 72(sp)
    ld      x10, 80(sp)
    ld      x11, 88(sp)
    ld      x12, 96(sp)
    ld      x13, 104(sp)
    ld      x14, 112(sp)
    ld      x15, 120(sp)
    ld      x16, 128(sp)
    ld      x17, 136(sp)
    ld      x18, 144(sp)
    ld      x19, 152(sp)
    ld      x20, 160(sp)
    ld      x21, 168(sp)
    ld      x22, 176(sp)
    ld      x23, 184(sp)
    ld      x24, 192(sp)
    ld      x25, 200(sp)
    ld      x26, 208(sp)
    ld      x27, 216(sp)
    ld      x28, 224(sp)
    ld      x29, 232(sp)
    ld      x30, 240(sp)
    ld      x31, 248(sp)
    addi    sp, sp, FRAME
    sret

/*
 * Probes for the fault tests (k23k_faults.c): each returns 0 if its
 * access went through; when it faults, the trap handler resumes at the
 * return address (ra, untouched) with a0 = 1.
 */
    .global k23k_probe_read
k23k_probe_read:
    ld      a0, 0(a0)
    li      a0, 0
    ret
    .global k23k_probe_write
k23k_probe_write:
    sd      zero, 0(a0)
    li      a0, 0
    ret
    .global k23k_probe_exec
k23k_probe_exec:
    jr      a0                      /* ra still the caller's return */
