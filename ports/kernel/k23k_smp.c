/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * CPUs of the example kernels: the per-CPU table, reading /cpus, starting
 * the other CPUs (PSCI CPU_ON on aarch64, SBI HSM hart_start on riscv64,
 * both behind k23k_arch_cpu_start) and running a job on every CPU at once.
 *
 * Each secondary CPU gets its own stack from k23k_stacks, with one unused
 * guard page below it; the boot CPU's stack (link script) has one too.
 * The guard pages hold a pattern that k23k_smp_guard_check() verifies, so
 * an overflow is caught even while the MMU is off.
 */
#include <stdint.h>

#include <libfdt.h>

#include "kernel.h"

_Static_assert(__builtin_offsetof(k23k_cpu_t, stack_top) == 8,
               "start.S loads stack_top from offset 8");

k23k_cpu_t k23k_cpus[K23K_MAX_CPUS];

/* Guard page, then the stack, for each secondary CPU (slot 0 unused: the
 * boot CPU runs on the link script's stack). */
static char k23k_stacks[K23K_MAX_CPUS][K23K_GUARD_SIZE + K23K_STACK_SIZE]
    __attribute__((aligned(4096)));
extern char __boot_stack_guard[];

bool k23k_inject_local_tlb;
static unsigned ncpus = 1;
static volatile bool running;

bool k23k_smp_running(void)
{
    return running && ncpus > 1;
}

/* The current job: k23k_smp_run_all() publishes fn and arg, then bumps
 * gen; every secondary that sees a new gen runs it and counts itself in
 * done. */
static struct {
    void (*fn)(void *);
    void *arg;
    volatile uint64_t gen;
    volatile uint32_t done;
} job;

#define GUARD_PATTERN UINT64_C(0x6b32336b67756172) /* "k23kguar" */

unsigned k23k_smp_count(void)
{
    return ncpus;
}

static bool str_is(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static uint64_t read_reg(const fdt32_t *p, int cells)
{
    uint64_t v = 0;
    for (int i = 0; i < cells; i++)
        v = (v << 32) | fdt32_to_cpu(p[i]);
    return v;
}

void k23k_smp_init(const void *fdt, uint64_t boot_hwid)
{
    int cpus = fdt_path_offset(fdt, "/cpus");
    if (cpus < 0)
        k23k_fail("no /cpus node in the device tree");
    int cells = fdt_address_cells(fdt, cpus);
    if (cells < 1 || cells > 2)
        k23k_fail("/cpus has #address-cells %d", cells);
    unsigned n = 1, found = 0;
    bool boot_seen = false;
    int node;
    fdt_for_each_subnode(node, fdt, cpus) {
        const char *type = fdt_getprop(fdt, node, "device_type", NULL);
        const char *status = fdt_getprop(fdt, node, "status", NULL);
        int len = 0;
        const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
        if (type == NULL || !str_is(type, "cpu") || reg == NULL ||
            len < cells * 4)
            continue;
        if (status != NULL && !str_is(status, "okay"))
            continue;
        found++;
        uint64_t hwid = read_reg(reg, cells);
        if (hwid == boot_hwid) {
            boot_seen = true;
            continue;
        }
        if (n == K23K_MAX_CPUS)
            continue;
        k23k_cpus[n].hwid = hwid;
        n++;
    }
    if (!boot_seen)
        k23k_fail("the boot CPU 0x%llx is not in /cpus",
                  (unsigned long long)boot_hwid);
    k23k_cpus[0].hwid = boot_hwid;
    for (unsigned i = 0; i < n; i++) {
        k23k_cpu_t *c = &k23k_cpus[i];
        c->self = c;
        c->id = i;
        if (i > 0)
            c->stack_top = (uintptr_t)&k23k_stacks[i][K23K_GUARD_SIZE +
                                                      K23K_STACK_SIZE];
    }
    ncpus = n;
    k23k_printf("CPUs: %u in /cpus, %u used (boot CPU 0x%llx)\n", found, n,
                (unsigned long long)boot_hwid);
}

char *k23k_smp_guard(unsigned i)
{
    return i == 0 ? __boot_stack_guard : k23k_stacks[i];
}

void k23k_smp_guard_fill(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        uint64_t *g = (uint64_t *)k23k_smp_guard(i);
        for (unsigned j = 0; j < K23K_GUARD_SIZE / 8; j++)
            g[j] = GUARD_PATTERN ^ j;
    }
}

void k23k_smp_guard_check(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        const volatile uint64_t *g = (const uint64_t *)k23k_smp_guard(i);
        for (unsigned j = 0; j < K23K_GUARD_SIZE / 8; j++) {
            if (g[j] != (GUARD_PATTERN ^ j))
                k23k_fail("CPU %u's stack overflowed into its guard page "
                          "(0x%lx)", i, (unsigned long)&g[j]);
        }
    }
}

/* Secondary CPUs idle here, taking timer interrupts, until a job comes. */
K23_NORETURN void k23k_secondary_main(k23k_cpu_t *c);

void k23k_secondary_main(k23k_cpu_t *c)
{
    k23k_arch_cpu_local_init();
    k23k_arch_irq_enable();
    __atomic_store_n(&c->online, 1u, __ATOMIC_RELEASE);
    for (;;) {
        uint64_t gen = __atomic_load_n(&job.gen, __ATOMIC_ACQUIRE);
        if (gen == c->job_gen) {
            /* Sleep until the next timer interrupt: a job waits at most
             * one timer period. (QEMU's WFE does not sleep, so spinning on
             * WFE/SEV would take host CPU time from the boot CPU.) */
            __asm__ volatile("wfi");
            continue;
        }
        c->job_gen = gen;
        job.fn(job.arg);
        __atomic_fetch_add(&job.done, 1u, __ATOMIC_ACQ_REL);
    }
}

void k23k_smp_start(void)
{
    uint64_t t0 = k23k_arch_ticks();
    for (unsigned i = 1; i < ncpus; i++) {
        k23k_cpu_t *c = &k23k_cpus[i];
        long rc = k23k_arch_cpu_start(c->hwid, (uintptr_t)c);
        if (rc != 0)
            k23k_fail("starting CPU %u (0x%llx) failed: %ld", i,
                      (unsigned long long)c->hwid, rc);
        uint64_t limit = k23k_arch_ticks() + 10 * k23k_arch_tick_hz();
        while (__atomic_load_n(&c->online, __ATOMIC_ACQUIRE) == 0) {
            if (k23k_arch_ticks() > limit)
                k23k_fail("CPU %u (0x%llx) did not come up within 10 s", i,
                          (unsigned long long)c->hwid);
            k23k_cpu_relax();
        }
    }
    running = true;
    k23k_printf("CPUs: %u running, each on its own %u KiB stack over a "
                "guard page, timer interrupts on (%u ms)\n", ncpus,
                K23K_STACK_SIZE >> 10,
                (unsigned)((k23k_arch_ticks() - t0) * 1000 /
                           k23k_arch_tick_hz()));
}

void k23k_smp_run_all(void (*fn)(void *), void *arg)
{
    job.fn = fn;
    job.arg = arg;
    __atomic_store_n(&job.done, 0u, __ATOMIC_RELAXED);
    __atomic_fetch_add(&job.gen, 1u, __ATOMIC_RELEASE);
    fn(arg);
    while (__atomic_load_n(&job.done, __ATOMIC_ACQUIRE) != ncpus - 1)
        k23k_cpu_relax();
}
