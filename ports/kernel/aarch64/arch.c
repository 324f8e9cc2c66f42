/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * aarch64 pieces of the example kernel for QEMU virt: PL011 console at
 * 0x09000000, exit through semihosting, the generic timer, traps.
 */
#include <stdint.h>

#include <libfdt.h>

#include "kernel.h"
#include "k23k_selftest.h"
#include "k23mem/pagetable.h"

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

/* ---- device tree: PSCI conduit and the GIC (v2 or v3) ---- */

static bool psci_smc;      /* /psci method = "smc" (else "hvc") */
static uint64_t gicd_base; /* GICv2 distributor */
static uint64_t gicc_base; /* GICv2 CPU interface, GICv3 redistributors */
static unsigned gic_version;

/* GICv3 redistributor: one 128 KiB frame per CPU (RD_base, SGI_base). */
#define GICR_FRAME 0x20000
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000
#define GICR_IGROUPR0 0x0080
static uint64_t timer_period;

#define GICD_CTLR 0x000
#define GICD_ISENABLER0 0x100
#define GICD_IPRIORITYR 0x400
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010
#define TIMER_PPI 27 /* virtual timer, INTID 16 + 11 */
#define TIMER_HZ 200

static inline volatile uint32_t *mmio32(uint64_t a)
{
    return (volatile uint32_t *)(uintptr_t)a;
}

static uint64_t fdt_reg_at(const void *fdt, int node, int index)
{
    int ac = fdt_address_cells(fdt, fdt_parent_offset(fdt, node));
    int sc = fdt_size_cells(fdt, fdt_parent_offset(fdt, node));
    int len = 0;
    const fdt32_t *p = fdt_getprop(fdt, node, "reg", &len);
    if (p == NULL || ac < 1 || ac > 2 || sc < 0 ||
        len < (index + 1) * (ac + sc) * 4)
        k23k_fail("bad reg property in the interrupt controller node");
    p += index * (ac + sc);
    uint64_t v = 0;
    for (int i = 0; i < ac; i++)
        v = (v << 32) | fdt32_to_cpu(p[i]);
    return v;
}

void k23k_arch_init(const void *fdt)
{
    int psci = fdt_path_offset(fdt, "/psci");
    const char *method = psci >= 0 ? fdt_getprop(fdt, psci, "method", NULL)
                                   : NULL;
    psci_smc = method != NULL && method[0] == 's';
    int gic = fdt_node_offset_by_compatible(fdt, -1, "arm,cortex-a15-gic");
    if (gic < 0)
        gic = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-400");
    gic_version = 2;
    if (gic < 0) {
        gic = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
        gic_version = 3;
    }
    if (gic < 0)
        k23k_fail("no GICv2 or GICv3 in the device tree");
    gicd_base = fdt_reg_at(fdt, gic, 0);
    gicc_base = fdt_reg_at(fdt, gic, 1); /* v3: the redistributors */
    timer_period = k23k_arch_tick_hz() / TIMER_HZ;
    /* v2: enable forwarding; v3 (one security state, as QEMU's virt
     * without secure=on): affinity routing, groups 0 and 1. */
    *mmio32(gicd_base + GICD_CTLR) =
        gic_version == 2 ? 1u : (1u << 4) | (1u << 1) | 1u;
    k23k_printf("aarch64: PSCI through %s, GICv%u at 0x%llx/0x%llx, virtual "
                "timer every %llu ticks (%u Hz)\n", psci_smc ? "SMC" : "HVC",
                gic_version, (unsigned long long)gicd_base,
                (unsigned long long)gicc_base,
                (unsigned long long)timer_period, TIMER_HZ);
}

uint64_t k23k_arch_timer_period(void)
{
    return timer_period;
}

static inline void timer_arm(void)
{
    __asm__ volatile("msr cntv_tval_el0, %0\n\tmsr cntv_ctl_el0, %1\n\tisb"
                     ::"r"(timer_period), "r"(UINT64_C(1)));
}

static void gicv3_cpu_init(void)
{
    /* Find this CPU's redistributor by its affinity (GICR_TYPER[63:32]
     * is Aff3.Aff2.Aff1.Aff0), wake it, put the timer's PPI in group 1. */
    uint64_t mpidr = k23k_arch_boot_hwid();
    uint32_t aff = (uint32_t)(((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xffffff));
    uint64_t rd = gicc_base;
    for (unsigned i = 0;; i++, rd += GICR_FRAME) {
        uint64_t typer = *(volatile uint64_t *)(uintptr_t)(rd + GICR_TYPER);
        if ((uint32_t)(typer >> 32) == aff)
            break;
        if ((typer & (1u << 4)) != 0 || i == K23K_MAX_CPUS) /* Last */
            k23k_fail("no GICv3 redistributor for MPIDR 0x%llx",
                      (unsigned long long)mpidr);
    }
    *mmio32(rd + GICR_WAKER) &= ~(1u << 1); /* ProcessorSleep */
    while ((*mmio32(rd + GICR_WAKER) & (1u << 2)) != 0) /* ChildrenAsleep */
        k23k_cpu_relax();
    uint64_t sgi = rd + GICR_SGI;
    *mmio32(sgi + GICR_IGROUPR0) |= 1u << TIMER_PPI;
    ((volatile uint8_t *)(uintptr_t)(sgi + GICD_IPRIORITYR))[TIMER_PPI] = 0x80;
    *mmio32(sgi + GICD_ISENABLER0) = 1u << TIMER_PPI;
    /* CPU interface through system registers. */
    uint64_t sre;
    __asm__ volatile("mrs %0, s3_0_c12_c12_5" : "=r"(sre)); /* ICC_SRE_EL1 */
    __asm__ volatile("msr s3_0_c12_c12_5, %0\n\tisb" ::"r"(sre | 1));
    __asm__ volatile("msr s3_0_c4_c6_0, %0" ::"r"(UINT64_C(0xf0))); /* PMR */
    __asm__ volatile("msr s3_0_c12_c12_7, %0\n\tisb" /* IGRPEN1 */
                     ::"r"(UINT64_C(1)));
}

void k23k_arch_cpu_local_init(void)
{
    if (gic_version == 3) {
        gicv3_cpu_init();
    } else {
        /* The PPI's enable and priority registers are banked per CPU. */
        *mmio32(gicd_base + GICD_ISENABLER0) = 1u << TIMER_PPI;
        volatile uint8_t *prio =
            (volatile uint8_t *)(uintptr_t)(gicd_base + GICD_IPRIORITYR);
        prio[TIMER_PPI] = 0x80;
        *mmio32(gicc_base + GICC_PMR) = 0xf0;
        *mmio32(gicc_base + GICC_CTLR) = 1;
    }
    timer_arm();
}

uint64_t k23k_arch_boot_hwid(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(v));
    return v & UINT64_C(0xff00ffffff); /* Aff3..Aff0 */
}

long k23k_arch_cpu_start(uint64_t hwid, uintptr_t ctx)
{
    /* PSCI CPU_ON (SMC64 function 0xc4000003): target MPIDR, entry point
     * (physical), context id (x0 at the entry). */
    register uint64_t x0 __asm__("x0") = 0xc4000003;
    register uint64_t x1 __asm__("x1") = hwid;
    register uint64_t x2 __asm__("x2") = (uintptr_t)k23k_secondary_entry;
    register uint64_t x3 __asm__("x3") = ctx;
    if (psci_smc)
        __asm__ volatile("smc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3)
                         : "memory");
    else
        __asm__ volatile("hvc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3)
                         : "memory");
    return (long)(int64_t)x0;
}

/* ---- paging: EL1 stage 1, TTBR0 only, 48-bit VA, 4 KiB granule ---- */

unsigned k23k_arch_mmio(k23k_mmio_t *out, unsigned max)
{
    const k23k_mmio_t all[] = {
        {PL011_BASE, 0x1000, K23_PT_MEM_DEVICE, "PL011 UART"},
        {gicd_base, 0x10000, K23_PT_MEM_DEVICE, "GIC distributor"},
        {gicc_base,
         gic_version == 3 ? (uint64_t)k23k_smp_count() * GICR_FRAME : 0x10000,
         K23_PT_MEM_DEVICE,
         gic_version == 3 ? "GICv3 redistributors" : "GIC CPU interface"},
    };
    unsigned n = 0;
    for (; n < max && n < sizeof(all) / sizeof(all[0]); n++)
        out[n] = all[n];
    return n;
}

const struct k23_pt_format *k23k_arch_pt_format(void)
{
    return &k23_pt_aarch64_48_ttbr0;
}

void k23k_arch_mmu_on(const struct k23_pt *pt)
{
    uint64_t mmfr0;
    __asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
    /* T0SZ 16 (48-bit VA), walks inner/outer write-back cacheable and
     * inner shareable, TG0 4 KiB; TTBR1 walks off (EPD1) with TG1 4 KiB;
     * IPS = the CPU's physical address range; ASID from TTBR0 (A1 = 0). */
    uint64_t tcr = 16u | (1u << 8) | (1u << 10) | (3u << 12) |
                   (UINT64_C(16) << 16) | (UINT64_C(1) << 23) |
                   (UINT64_C(2) << 30) | ((mmfr0 & 7) << 32);
    __asm__ volatile("msr mair_el1, %0\n\tmsr tcr_el1, %1\n\tisb"
                     ::"r"((uint64_t)K23_PT_AARCH64_MAIR), "r"(tcr));
    int rc = k23_pt_activate(pt);
    if (rc != K23_OK)
        k23k_fail("k23_pt_activate: %d", rc);
    uint64_t sctlr;
    __asm__ volatile("tlbi vmalle1\n\tdsb nsh\n\tisb\n\t"
                     "mrs %0, sctlr_el1" : "=r"(sctlr)::"memory");
    sctlr |= (1u << 0) | (1u << 2) | (1u << 12); /* M, C, I */
    sctlr &= ~(uint64_t)(1u << 1);               /* no alignment checks */
    __asm__ volatile("msr sctlr_el1, %0\n\tisb" ::"r"(sctlr) : "memory");
}

/* ---- traps ---- */

typedef struct k23k_trap_frame {
    uint64_t x[31];
    uint64_t elr, spsr, esr, far, pad;
} k23k_trap_frame_t;

_Static_assert(sizeof(k23k_trap_frame_t) == 288, "start.S FRAME");

void k23k_arch_irq(uint64_t kind, k23k_trap_frame_t *f);
void k23k_arch_trap(uint64_t kind, k23k_trap_frame_t *f);

/* May interrupt code that uses FP/SIMD registers, which are not saved:
 * general registers only. */
__attribute__((target("general-regs-only")))
void k23k_arch_irq(uint64_t kind, k23k_trap_frame_t *f)
{
    (void)kind;
    (void)f;
    uint64_t iar;
    if (gic_version == 3)
        __asm__ volatile("mrs %0, s3_0_c12_c12_0" : "=r"(iar)); /* IAR1 */
    else
        iar = *mmio32(gicc_base + GICC_IAR);
    uint32_t id = (uint32_t)iar & 0xffffff;
    if (id >= 1020 && id <= 1023)
        return; /* spurious */
    if (id == TIMER_PPI) {
        k23k_cpu_self()->ticks++;
        timer_arm();
    }
    if (gic_version == 3)
        __asm__ volatile("msr s3_0_c12_c12_1, %0\n\tisb" /* EOIR1 */
                         ::"r"(iar));
    else
        *mmio32(gicc_base + GICC_EOIR) = (uint32_t)iar;
}

void k23k_arch_trap(uint64_t kind, k23k_trap_frame_t *f)
{
    unsigned ec = (unsigned)(f->esr >> 26);
    /* Synchronous, current EL with SP_ELx: instruction (0x21) or data
     * (0x25) abort. */
    if (kind == 4 && (ec == 0x21 || ec == 0x25)) {
        k23_pt_fault_t pf;
        if (k23_pt_fault_aarch64(f->esr, f->far, &pf) == K23_OK) {
            int act = k23k_page_fault(&pf);
            if (act == K23K_FAULT_RETRY)
                return;
            if (act == K23K_FAULT_PROBE) {
                f->elr = f->x[30];
                f->x[0] = 1;
                return;
            }
        }
    }
    k23k_fail("exception vector %lu on CPU %u esr=0x%lx elr=0x%lx far=0x%lx",
              (unsigned long)kind, k23k_cpu_self()->id,
              (unsigned long)f->esr, (unsigned long)f->elr,
              (unsigned long)f->far);
}
