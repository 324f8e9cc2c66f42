/*
 * riscv64 pieces of the example kernel for QEMU virt: 16550 console at
 * 0x10000000 (OpenSBI has set it up), exit through the sifive_test device
 * at 0x100000, the time CSR, traps.
 */
#include <stdint.h>

#include <libfdt.h>

#include "kernel.h"

const char k23k_arch_name[] = "riscv64";

#define UART_BASE UINT64_C(0x10000000)
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20

#define SIFIVE_TEST_BASE UINT64_C(0x100000)
#define SIFIVE_TEST_PASS 0x5555
#define SIFIVE_TEST_FAIL 0x3333

static inline volatile uint8_t *uart_reg(unsigned off)
{
    return (volatile uint8_t *)(uintptr_t)(UART_BASE + off);
}

void k23k_arch_putc(char c)
{
    while ((*uart_reg(UART_LSR) & UART_LSR_THRE) == 0) {
    }
    *uart_reg(UART_THR) = (uint8_t)c;
}

void k23k_arch_exit(int status)
{
    /* sifive_test: 0x5555 powers off with exit status 0; (code << 16) |
     * 0x3333 exits with status code. */
    volatile uint32_t *test = (volatile uint32_t *)(uintptr_t)SIFIVE_TEST_BASE;
    uint32_t code = (uint32_t)status & 0xffff;
    if (status != 0 && code == 0)
        code = 1;
    *test = status == 0 ? SIFIVE_TEST_PASS : (code << 16) | SIFIVE_TEST_FAIL;
    for (;;)
        __asm__ volatile("wfi");
}

uint64_t k23k_arch_ticks(void)
{
    uint64_t v;
    __asm__ volatile("rdtime %0" : "=r"(v));
    return v;
}

/* QEMU virt's timebase; replaced by /cpus/timebase-frequency if present. */
static uint64_t riscv_timebase_hz = 10000000;

uint64_t k23k_arch_tick_hz(void)
{
    return riscv_timebase_hz;
}

void k23k_arch_init(const void *fdt)
{
    int cpus = fdt_path_offset(fdt, "/cpus");
    int len = 0;
    if (cpus < 0)
        return;
    const fdt32_t *p = fdt_getprop(fdt, cpus, "timebase-frequency", &len);
    if (p != NULL && len == 4 && fdt32_to_cpu(*p) != 0)
        riscv_timebase_hz = fdt32_to_cpu(*p);
}

K23_NORETURN void k23k_arch_trap(uint64_t cause, uint64_t epc, uint64_t tval);

void k23k_arch_trap(uint64_t cause, uint64_t epc, uint64_t tval)
{
    k23k_fail("trap scause=0x%lx sepc=0x%lx stval=0x%lx",
              (unsigned long)cause, (unsigned long)epc, (unsigned long)tval);
}
