/*
 * aarch64 pieces of the example kernel for QEMU virt: PL011 console at
 * 0x09000000, exit through semihosting, the generic timer, traps.
 */
#include <stdint.h>

#include "kernel.h"

const char k23k_arch_name[] = "aarch64";

#define PL011_BASE UINT64_C(0x09000000)
#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF (1u << 5)

static inline volatile uint32_t *pl011_reg(unsigned off)
{
    return (volatile uint32_t *)(uintptr_t)(PL011_BASE + off);
}

void k23k_arch_putc(char c)
{
    while ((*pl011_reg(PL011_FR) & PL011_FR_TXFF) != 0) {
    }
    *pl011_reg(PL011_DR) = (uint32_t)(unsigned char)c;
}

void k23k_arch_exit(int status)
{
    /* Semihosting SYS_EXIT (0x18) with an AArch64 parameter block:
     * reason ADP_Stopped_ApplicationExit (0x20026) and the exit status,
     * which QEMU (-semihosting) makes its own exit status. */
    static volatile uint64_t block[2];
    block[0] = 0x20026;
    block[1] = (uint64_t)(int64_t)status;
    register uint64_t x0 __asm__("x0") = 0x18;
    register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;
    __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
    /* Without -semihosting: PSCI SYSTEM_OFF (always exit status 0, so
     * qemu-run also checks the verdict line), then stop. */
    register uint64_t p0 __asm__("x0") = 0x84000008;
    __asm__ volatile("hvc #0" : "+r"(p0) : : "memory");
    for (;;)
        __asm__ volatile("wfi");
}

uint64_t k23k_arch_ticks(void)
{
    uint64_t v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

uint64_t k23k_arch_tick_hz(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
    return v != 0 ? v : 1;
}

void k23k_arch_init(const void *fdt)
{
    (void)fdt;
}

K23_NORETURN void k23k_arch_trap(uint64_t kind, uint64_t esr, uint64_t elr,
                                 uint64_t far);

void k23k_arch_trap(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far)
{
    k23k_fail("exception vector %lu esr=0x%lx elr=0x%lx far=0x%lx",
              (unsigned long)kind, (unsigned long)esr, (unsigned long)elr,
              (unsigned long)far);
}
