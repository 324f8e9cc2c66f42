/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * aarch64 entry for QEMU's virt machine, booted as a bare-metal ELF with
 * -kernel. QEMU enters at _start at EL1 with the MMU and caches off, puts
 * the DTB at the start of RAM (0x40000000) and leaves x0 = 0; a loader that
 * follows the Linux boot protocol passes the DTB in x0 instead, so x0 is
 * used when it is not zero.
 */
    .section .text.boot, "ax"
    .global _start
_start:
    msr     daifset, #0xf           /* interrupts off until the timer is set */
    mov     x19, x0                 /* DTB from a Linux-style loader, or 0 */
    adrp    x10, k23k_cpus          /* per-CPU data: CPU 0's entry */
    add     x10, x10, :lo12:k23k_cpus
    msr     tpidr_el1, x10

    /* Debian's libfdt.a uses SIMD registers in one function: let EL1 use
     * FP/SIMD (CPACR_EL1.FPEN = 0b11). At EL2 also clear CPTR_EL2.TFP. */
    mrs     x9, CurrentEL
    lsr     x9, x9, #2
    cmp     x9, #2
    b.ne    1f
    mrs     x10, cptr_el2
    bic     x10, x10, #(1 << 10)
    msr     cptr_el2, x10
1:  mov     x10, #(3 << 20)
    msr     cpacr_el1, x10
    isb

    adrp    x10, __stack_top
    add     x10, x10, :lo12:__stack_top
    mov     sp, x10

    /* Zero .bss (8-byte aligned by the linker script). */
    adrp    x10, __bss_start
    add     x10, x10, :lo12:__bss_start
    adrp    x11, __bss_end
    add     x11, x11, :lo12:__bss_end
2:  cmp     x10, x11
    b.hs    3f
    str     xzr, [x10], #8
    b       2b

3:  cmp     x9, #1
    b.ne    4f
    adrp    x10, k23k_vectors
    add     x10, x10, :lo12:k23k_vectors
    msr     vbar_el1, x10
    isb

4:  mov     x0, x19
    cbnz    x0, 5f
    mov     x0, #0x40000000         /* QEMU virt: DTB at the start of RAM */
5:  mov     x1, #-1                 /* no hart id: k23k_arch_boot_hwid() */
    bl      k23k_main
6:  wfi
    b       6b

/*
 * Secondary CPUs, started by PSCI CPU_ON at EL1 with the MMU off and
 * x0 = their k23k_cpu_t (the context id): per-CPU pointer, stack, FP/SIMD,
 * vectors, then C.
 */
    .global k23k_secondary_entry
k23k_secondary_entry:
    msr     daifset, #0xf
    msr     tpidr_el1, x0
    ldr     x10, [x0, #8]           /* k23k_cpu_t.stack_top */
    mov     sp, x10
    mov     x10, #(3 << 20)
    msr     cpacr_el1, x10
    adrp    x10, k23k_vectors
    add     x10, x10, :lo12:k23k_vectors
    msr     vbar_el1, x10
    isb
    bl      k23k_secondary_main
7:  wfi
    b       7b

/*
 * Exception vectors. Each entry saves x0 and x1 in a trap frame and goes
 * to trap_common with its number in x0; the frame (k23k_trap_frame_t in
 * arch.c) holds x0-x30, ELR, SPSR, ESR and FAR. IRQs (5: current EL, SPx)
 * go to k23k_arch_irq, everything else to k23k_arch_trap, which may change
 * the frame's ELR to resume elsewhere.
 */
#define FRAME 288
    .macro  vector kind
    .balign 0x80
    sub     sp, sp, #FRAME
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       trap_common
    .endm

    .text
    .balign 2048
    .global k23k_vectors
k23k_vectors:
    vector 0
    vector 1
    vector 2
    vector 3
    vector 4
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

trap_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x10, elr_el1
    stp     x30, x10, [sp, #240]
    mrs     x10, spsr_el1
    mrs     x11, esr_el1
    stp     x10, x11, [sp, #256]
    mrs     x10, far_el1
    str     x10, [sp, #272]
    mov     x1, sp
    cmp     x0, #5
    b.ne    1f
    bl      k23k_arch_irq
    b       2f
1:  bl      k23k_arch_trap
2:  ldp     x10, x11, [sp, #248]    /* ELR, SPSR */
    msr     elr_el1, x10
    msr     spsr_el1, x11
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldr     x30, [sp, #240]
    add     sp, sp, #FRAME
    eret

/*
 * Probes for the fault tests (k23k_faults.c): each returns 0 if its
 * access went through; when it faults, the trap handler resumes at the
 * return address (x30, untouched) with x0 = 1.
 */
    .global k23k_probe_read
k23k_probe_read:
    ldr     x0, [x0]
    mov     x0, #0
    ret
    .global k23k_probe_write
k23k_probe_write:
    str     xzr, [x0]
    mov     x0, #0
    ret
    .global k23k_probe_exec
k23k_probe_exec:
    br      x0                      /* x30 still the caller's return */
