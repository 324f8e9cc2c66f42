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
    msr     daifset, #0xf           /* interrupts stay off for good */
    mov     x19, x0                 /* DTB from a Linux-style loader, or 0 */

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
5:  mov     x1, #0                  /* no hart id on aarch64 */
    bl      k23k_main
6:  wfi
    b       6b

/*
 * Exception vectors: any exception is a bug in this kernel (it enables no
 * interrupts), so each entry reports what happened and fails the run.
 */
    .macro  vector kind
    .balign 0x80
    mov     x0, #\kind
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    b       k23k_arch_trap
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
