/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * riscv64 pieces of the example kernel for QEMU virt: 16550 console at
 * 0x10000000 (OpenSBI has set it up), exit through the sifive_test device
 * at 0x100000, the time CSR, traps.
 */
#include <stdint.h>

#include <libfdt.h>

#include "kernel.h"
#include "k23mem/port.h"
#include "k23k_selftest.h"
#include "k23mem/pagetable.h"

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

/* ---- SBI: harts and the timer ---- */

#define SBI_EXT_TIME 0x54494d45
#define SBI_EXT_HSM 0x48534d
#define TIMER_HZ 200

static uint64_t timer_period;

static long sbi_call(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1,
                     uint64_t a2)
{
    register uint64_t r0 __asm__("a0") = a0;
    register uint64_t r1 __asm__("a1") = a1;
    register uint64_t r2 __asm__("a2") = a2;
    register uint64_t r6 __asm__("a6") = fid;
    register uint64_t r7 __asm__("a7") = ext;
    __asm__ volatile("ecall"
                     : "+r"(r0), "+r"(r1)
                     : "r"(r2), "r"(r6), "r"(r7)
                     : "memory");
    return (long)r0;
}

uint64_t k23k_arch_timer_period(void)
{
    return timer_period;
}

static void timer_arm(void)
{
    sbi_call(SBI_EXT_TIME, 0, k23k_arch_ticks() + timer_period, 0, 0);
}

void k23k_arch_cpu_local_init(void)
{
    if (timer_period == 0)
        timer_period = riscv_timebase_hz / TIMER_HZ;
    timer_arm();
    __asm__ volatile("csrs sie, %0" ::"r"(UINT64_C(1) << 5)); /* STIE */
}

uint64_t k23k_arch_boot_hwid(void)
{
    return ~UINT64_C(0); /* OpenSBI passes the hart id in a0 */
}

long k23k_arch_cpu_start(uint64_t hwid, uintptr_t ctx)
{
    return sbi_call(SBI_EXT_HSM, 0, hwid, (uintptr_t)k23k_secondary_entry,
                    ctx);
}

/* ---- TLB shootdown: SBI RFENCE remote_sfence_vma(_asid) ---- */

#define SBI_EXT_RFENCE 0x52464e43

static long sbi_call5(uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2,
                      uint64_t a3, uint64_t a4)
{
    register uint64_t r0 __asm__("a0") = a0;
    register uint64_t r1 __asm__("a1") = a1;
    register uint64_t r2 __asm__("a2") = a2;
    register uint64_t r3 __asm__("a3") = a3;
    register uint64_t r4 __asm__("a4") = a4;
    register uint64_t r6 __asm__("a6") = fid;
    register uint64_t r7 __asm__("a7") = SBI_EXT_RFENCE;
    __asm__ volatile("ecall"
                     : "+r"(r0), "+r"(r1)
                     : "r"(r2), "r"(r3), "r"(r4), "r"(r6), "r"(r7)
                     : "memory");
    return (long)r0;
}

void k23k_arch_tlb_remote(uint32_t asid, const uint64_t *va, size_t n,
                          uint32_t flags)
{
    /* hart_mask_base = -1: every hart, this one included. FID 1 flushes
     * all ASIDs (global entries too), FID 2 one ASID. */
    const uint64_t all_harts = ~UINT64_C(0);
    bool global = (flags & K23_PORT_TLB_GLOBAL) != 0;
    long rc = 0;
    if (flags & K23_PORT_TLB_ALL) {
        rc = global ? sbi_call5(1, 0, all_harts, 0, ~UINT64_C(0), 0)
                    : sbi_call5(2, 0, all_harts, 0, ~UINT64_C(0), asid);
    } else {
        for (size_t i = 0; i < n && rc == 0; i++) {
            /* The low bits give the leaf's level: 4 KiB, 2 MiB, 1 GiB. */
            uint64_t size = UINT64_C(1) << (12 + 9 * (va[i] & 3));
            uint64_t a = va[i] & ~(size - 1);
            rc = (va[i] & K23_PORT_TLB_ENTRY_GLOBAL)
                     ? sbi_call5(1, 0, all_harts, a, size, 0)
                     : sbi_call5(2, 0, all_harts, a, size, asid);
        }
    }
    if (rc != 0)
        k23k_fail("SBI remote sfence.vma failed: %ld", rc);
}

/* ---- paging: Sv39 ---- */

unsigned k23k_arch_mmio(k23k_mmio_t *out, unsigned max)
{
    /* Normal memory type: QEMU's harts lack Svpbmt, and the PMAs already
     * make these windows I/O (docs/pagetable.md). */
    const k23k_mmio_t all[] = {
        {UART_BASE, 0x1000, K23_PT_MEM_NORMAL, "16550 UART"},
        {SIFIVE_TEST_BASE, 0x1000, K23_PT_MEM_NORMAL, "sifive_test"},
    };
    unsigned n = 0;
    for (; n < max && n < sizeof(all) / sizeof(all[0]); n++)
        out[n] = all[n];
    return n;
}

const struct k23_pt_format *k23k_arch_pt_format(void)
{
    return &k23_pt_riscv_sv39;
}

void k23k_arch_mmu_on(const struct k23_pt *pt)
{
    /* Writing satp (sfence.vma around it, in the port hook) turns Sv39
     * on at once; the kernel runs at VA = PA, so nothing moves. */
    int rc = k23_pt_activate(pt);
    if (rc != K23_OK)
        k23k_fail("k23_pt_activate: %d", rc);
}

/* ---- traps ---- */

typedef struct k23k_trap_frame {
    uint64_t x[32]; /* x[0] unused, x[2] the interrupted sp */
    uint64_t sepc, sstatus;
} k23k_trap_frame_t;

_Static_assert(sizeof(k23k_trap_frame_t) == 272, "start.S FRAME");

void k23k_arch_trap(uint64_t cause, uint64_t tval, k23k_trap_frame_t *f);

#define SCAUSE_INTERRUPT (UINT64_C(1) << 63)
#define IRQ_S_TIMER 5

void k23k_arch_trap(uint64_t cause, uint64_t tval, k23k_trap_frame_t *f)
{
    if (cause == (SCAUSE_INTERRUPT | IRQ_S_TIMER)) {
        k23k_cpu_self()->ticks++;
        timer_arm();
        return;
    }
    if (cause == 12 || cause == 13 || cause == 15) { /* page faults */
        k23_pt_fault_t pf;
        if (k23_pt_fault_riscv64(cause, tval, f->sstatus, &pf) == K23_OK) {
            int act = k23k_page_fault(&pf);
            if (act == K23K_FAULT_RETRY)
                return;
            if (act == K23K_FAULT_PROBE) {
                f->sepc = f->x[1];  /* ra */
                f->x[10] = 1;       /* a0 */
                return;
            }
        }
    }
    k23k_fail("trap on CPU %u scause=0x%lx sepc=0x%lx stval=0x%lx",
              k23k_cpu_self()->id, (unsigned long)cause,
              (unsigned long)f->sepc, (unsigned long)tval);
}
