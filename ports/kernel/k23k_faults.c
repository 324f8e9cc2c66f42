/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Page faults with paging on: the W^X and guard checks of the self-test
 * and a demand-zero region. The arch trap handler decodes a fault with the
 * library's decoder (k23_pt_fault_aarch64 / k23_pt_fault_riscv64) and asks
 * k23k_page_fault() what to do. Every mapping of the kernel is a region of
 * its address space (k23k_paging.c), so the handler asks that address
 * space first (k23_aspace_fault, under the VM lock):
 *  - a demand-zero page touched for the first time is resolved (a zeroed
 *    frame mapped), and so is a stale TLB entry: the access is retried;
 *  - anything else (a guard, a permission the region does not give, an
 *    uncommitted page of a VM reservation, no region) is kept with a
 *    description of the address; then, if this CPU runs a probe
 *    (k23k_probe_* in start.S), the probe returns 1 to its caller;
 *  - otherwise the run fails, naming what the address space said.
 */
#include <stdint.h>

#include "k23k_selftest.h"
#include "kernel.h"
#include "k23mem/aspace.h"
#include "k23mem/pagetable.h"
#include "k23mem/perm.h"

extern char __text_end[];

/* Probes (start.S): return 0 if the access went through, 1 if it faulted
 * (the trap handler resumes at the return address with 1). */
uint64_t k23k_probe_read(uintptr_t addr);
uint64_t k23k_probe_write(uintptr_t addr);
uint64_t k23k_probe_exec(uintptr_t addr);

/* Demand-zero pages mapped by k23_aspace_fault, every CPU together. */
static volatile uint64_t dz_resolved;
#define DZ_PAGES 4

static struct {
    volatile bool armed;
    k23_pt_fault_t fault;
    bool asked;                     /* the address space answered */
    k23_aspace_fault_result_t vm;   /* then: what it said */
    char what[96];                  /* and what the describer said */
} probe[K23K_MAX_CPUS];

static struct {
    k23k_vm_describe_fn fn;
    void *ctx;
} describer;

void k23k_vm_fault_describer(k23k_vm_describe_fn fn, void *ctx)
{
    describer.ctx = ctx;
    describer.fn = fn;
}

int k23k_probe_vm_read(uint64_t addr, k23_aspace_fault_result_t *res,
                       char *buf, unsigned size)
{
    unsigned cpu = k23k_cpu_self()->id;
    probe[cpu].asked = false;
    probe[cpu].armed = true;
    uint64_t faulted = k23k_probe_read((uintptr_t)addr);
    probe[cpu].armed = false;
    if (faulted != 1)
        return 0;
    if (!probe[cpu].asked)
        return 1;
    *res = probe[cpu].vm;
    unsigned i = 0;
    for (; i + 1 < size && probe[cpu].what[i] != '\0'; i++)
        buf[i] = probe[cpu].what[i];
    if (size != 0)
        buf[i] = '\0';
    return 2;
}

static const char *outcome_name(unsigned o)
{
    static const char *const names[] = {
        "resolved", "present", "no region", "guard", "denied", "no memory",
        "uncommitted"};
    return o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

/* Ask the kernel's address space about a fault. Returns true when the
 * access should be retried. */
static bool aspace_fault(const k23_pt_fault_t *f, unsigned cpu)
{
    k23_aspace_t *as = k23k_port_vm_aspace();
    k23_aspace_fault_result_t res;
    k23_pt_flush_t fl;
    k23_pt_flush_init(&fl, 0);
    k23k_port_vm_lock();
    int rc = k23_aspace_fault(as, f->addr, f->cause, f->user, &fl, &res);
    k23_pt_flush(&fl);
    k23k_port_vm_unlock();
    k23_pt_flush_fini(&fl);
    if (rc == K23_OK) {
        if (res.outcome == K23_ASPACE_FAULT_RESOLVED)
            __atomic_fetch_add(&dz_resolved, 1, __ATOMIC_RELAXED);
        return true;
    }
    if (rc == K23_ERR_INVAL || rc == K23_ERR_NOMEM)
        k23k_fail("k23_aspace_fault at 0x%llx: %s",
                  (unsigned long long)f->addr, k23_strerror_name(rc));
    probe[cpu].asked = true;
    probe[cpu].vm = res;
    probe[cpu].what[0] = '\0';
    if (describer.fn != NULL && res.kind == K23_ASPACE_VM)
        describer.fn(describer.ctx, f->addr, probe[cpu].what,
                     sizeof(probe[cpu].what));
    if (!probe[cpu].armed)
        k23k_printf("  page fault at 0x%llx: %s, region [0x%llx, +0x%llx) "
                    "kind %u; %s\n", (unsigned long long)f->addr,
                    outcome_name(res.outcome),
                    (unsigned long long)res.region_base,
                    (unsigned long long)res.region_size, res.kind,
                    probe[cpu].what);
    return false;
}

int k23k_page_fault(const k23_pt_fault_t *f)
{
    unsigned cpu = k23k_cpu_self()->id;
    probe[cpu].asked = false;
    if (k23k_port_vm_aspace() != NULL && aspace_fault(f, cpu))
        return K23K_FAULT_RETRY;
    if (probe[cpu].armed) {
        probe[cpu].fault = *f;
        probe[cpu].armed = false;
        return K23K_FAULT_PROBE;
    }
    return K23K_FAULT_FATAL;
}

static const char *cause_name(k23_fault_t c)
{
    return c == K23_FAULT_STORE ? "STORE"
           : c == K23_FAULT_INSTRUCTION ? "INSTRUCTION"
           : c == K23_FAULT_LOAD ? "LOAD" : "?";
}

static const char *kind_name(unsigned k)
{
    return k == K23_PT_FAULT_NOT_PRESENT ? "not present"
           : k == K23_PT_FAULT_PERMISSION ? "permission" : "unknown";
}

/* Reserve a region of the kernel's address space, placed first fit (it
 * lands in [K23K_VM_LO, K23K_VM_LAST]); flushes what the reservation
 * recorded. Returns its start. */
static uint64_t reserve_any(uint64_t size, const k23_aspace_desc_t *d)
{
    k23_pt_flush_t fl;
    uint64_t va = 0;
    k23_pt_flush_init(&fl, 0);
    k23k_port_vm_lock();
    int rc = k23_aspace_reserve_any(k23k_port_vm_aspace(), size, 12, NULL, d,
                                    &fl, &va);
    k23k_port_vm_unlock();
    k23_pt_flush(&fl);
    k23_pt_flush_fini(&fl);
    if (rc != K23_OK)
        k23k_fail("k23_aspace_reserve_any %s: %s", d->name,
                  k23_strerror_name(rc));
    return va;
}

/* Release the region at @p va; the flush reaches every CPU (the port's
 * hook) before this returns. */
static void release(uint64_t va, const char *what)
{
    k23_pt_flush_t fl;
    k23_pt_flush_init(&fl, 0);
    k23k_port_vm_lock();
    int rc = k23_aspace_release(k23k_port_vm_aspace(), va, &fl);
    k23k_port_vm_unlock();
    k23_pt_flush(&fl);
    k23_pt_flush_fini(&fl);
    if (rc != K23_OK)
        k23k_fail("k23_aspace_release %s: %s", what, k23_strerror_name(rc));
}

/* Run one probe that must fault with the given cause, and that the
 * address space must answer with @p outcome; report both. */
static void expect_fault(const char *what, uint64_t (*fn)(uintptr_t),
                         uintptr_t addr, k23_fault_t cause, unsigned kind,
                         k23_perm_t needs, unsigned outcome)
{
    unsigned cpu = k23k_cpu_self()->id;
    probe[cpu].armed = true;
    uint64_t faulted = fn(addr);
    probe[cpu].armed = false;
    if (faulted != 1)
        k23k_fail("%s at 0x%lx did not fault", what, (unsigned long)addr);
    k23_pt_fault_t *f = &probe[cpu].fault;
    /* riscv64 traps do not say whether a translation exists: ask the
     * tables, as a kernel's handler would. */
    unsigned got = f->kind;
    if (got == K23_PT_FAULT_UNKNOWN) {
        k23_pt_mapping_t m;
        got = k23_pt_query(k23k_kernel_pt(), f->addr & ~(uint64_t)4095,
                           &m) == K23_OK ? K23_PT_FAULT_PERMISSION
                                         : K23_PT_FAULT_NOT_PRESENT;
    }
    char buf[K23_PERM_STR_MAX], allowed[K23_PERM_STR_MAX];
    k23_perm_format(f->needed, buf, sizeof(buf));
    const k23_aspace_fault_result_t *r = &probe[cpu].vm;
    k23_aspace_info_t info;
    k23k_port_vm_lock();
    int lk = k23_aspace_lookup(k23k_port_vm_aspace(), addr, &info);
    k23k_port_vm_unlock();
    if (lk != K23_OK)
        info.name[0] = '\0';
    if (r->kind == K23_ASPACE_GUARD)
        allowed[0] = '-', allowed[1] = '\0';
    else
        k23_perm_format(r->allowed, allowed, sizeof(allowed));
    k23k_printf("  fault: %s at 0x%llx: %s, %s%s, needs %s; aspace: %s, "
                "region \"%s\" allows %s\n", what,
                (unsigned long long)f->addr, cause_name(f->cause),
                kind_name(got), f->kind == K23_PT_FAULT_UNKNOWN
                                    ? " (trap: unknown; tables: that)"
                                    : "",
                buf, probe[cpu].asked ? outcome_name(r->outcome) : "not asked",
                info.name, allowed);
    if (f->cause != cause || got != kind || f->addr != addr ||
        (f->needed & needs) != needs)
        k23k_fail("%s: decoded as %s/%s at 0x%llx, expected %s/%s at 0x%lx",
                  what, cause_name(f->cause), kind_name(got),
                  (unsigned long long)f->addr, cause_name(cause),
                  kind_name(kind), (unsigned long)addr);
    if (!probe[cpu].asked || r->outcome != outcome)
        k23k_fail("%s: the address space said %s, expected %s", what,
                  probe[cpu].asked ? outcome_name(r->outcome) : "nothing",
                  outcome_name(outcome));
}

/* A data page holding "return 0": executing it must fault, not return. */
static uint32_t exec_target[1024] __attribute__((aligned(4096)));

void k23k_selftest_faults(k23_frames_t *fa)
{
    (void)fa; /* the address space's frame source is the same allocator */
    uint64_t t0 = k23k_arch_ticks();
#if defined(__aarch64__)
    exec_target[0] = 0xd2800000u; /* mov x0, #0 */
    exec_target[1] = 0xd65f03c0u; /* ret */
#else
    exec_target[0] = 0x00000513u; /* li a0, 0 */
    exec_target[1] = 0x00008067u; /* ret */
#endif
    /* Padding at the end of text: harmless if the store went through. */
    expect_fault("store into kernel text", k23k_probe_write,
                 (uintptr_t)__text_end - 8, K23_FAULT_STORE,
                 K23_PT_FAULT_PERMISSION, K23_PERM_WRITE,
                 K23_ASPACE_FAULT_DENIED);
    expect_fault("instruction fetch from a data page", k23k_probe_exec,
                 (uintptr_t)exec_target, K23_FAULT_INSTRUCTION,
                 K23_PT_FAULT_PERMISSION, K23_PERM_EXECUTE,
                 K23_ASPACE_FAULT_DENIED);
    expect_fault("read of a stack guard page", k23k_probe_read,
                 (uintptr_t)k23k_smp_guard(0) + 64, K23_FAULT_LOAD,
                 K23_PT_FAULT_NOT_PRESENT, K23_PERM_READ,
                 K23_ASPACE_FAULT_GUARD);

    /* A no-map reservation of the device tree, when there is one: left
     * out of the direct map, so a read faults on the guard in its place. */
    uint64_t nomap = k23k_paging_first_nomap();
    if (nomap != 0)
        expect_fault("read of a no-map reservation", k23k_probe_read,
                     (uintptr_t)nomap + 64, K23_FAULT_LOAD,
                     K23_PT_FAULT_NOT_PRESENT, K23_PERM_READ,
                     K23_ASPACE_FAULT_GUARD);

    /* Demand-zero: a lazy region; first touches fault, k23_aspace_fault
     * maps a zeroed frame, the access is retried. */
    k23_aspace_desc_t d = {.kind = K23_ASPACE_ANON_LAZY,
                           .perm = K23_PERM_READ | K23_PERM_WRITE,
                           .memtype = K23_PT_MEM_NORMAL,
                           .name = "demand-zero"};
    uint64_t dz = reserve_any(DZ_PAGES * 4096u, &d);
    uint64_t before = __atomic_load_n(&dz_resolved, __ATOMIC_RELAXED);
    volatile uint64_t *dzp = (volatile uint64_t *)(uintptr_t)dz;
    uint64_t sum = 0;
    for (unsigned i = 0; i < DZ_PAGES; i++)
        sum |= dzp[i * 512 + 7];
    dzp[2 * 512 + 1] = 0x1234;
    uint64_t resolved = __atomic_load_n(&dz_resolved, __ATOMIC_RELAXED) -
                        before;
    if (sum != 0 || dzp[2 * 512 + 1] != 0x1234 || resolved != DZ_PAGES)
        k23k_fail("demand-zero: read 0x%llx, %llu faults resolved",
                  (unsigned long long)sum, (unsigned long long)resolved);
    k23_aspace_stats_t st;
    k23k_port_vm_lock();
    int rc = k23_aspace_stats(k23k_port_vm_aspace(), &st);
    k23k_port_vm_unlock();
    if (rc != K23_OK || st.resident_frames < DZ_PAGES)
        k23k_fail("demand-zero: %llu resident frames after the touches",
                  (unsigned long long)st.resident_frames);
    release(dz, "demand-zero"); /* its frames go back */
    k23k_printf("faults: W^X and guards enforced by the MMU, decoded by the "
                "library and named by the address space; demand-zero region "
                "at 0x%llx: %llu pages mapped by k23_aspace_fault on first "
                "touch, read as zero, released (%u ms)\n",
                (unsigned long long)dz, (unsigned long long)resolved,
                (unsigned)((k23k_arch_ticks() - t0) * 1000 /
                           k23k_arch_tick_hz()));
}

/* ---- TLB shootdown: CPU 0 maps, CPU 1 reads, CPU 0 unmaps and flushes,
 * CPU 1's next access must fault ---- */

#define SD_VALUE UINT64_C(0x5d5d00c0ffee)

static struct {
    volatile uint32_t phase; /* 1 mapped, 2 read by B, 3 unmapped, 4 done */
    uint64_t va;
    uint64_t seen_by_b;
    uint64_t faulted;
    k23_pt_fault_t fault;
    k23_aspace_fault_result_t answer;
} sd;

static void wait_phase(uint32_t p)
{
    /* Generous: QEMU on a loaded host may leave a CPU unscheduled. */
    uint64_t limit = k23k_arch_ticks() + 10 * k23k_arch_tick_hz();
    while (__atomic_load_n(&sd.phase, __ATOMIC_ACQUIRE) < p) {
        if (k23k_arch_ticks() > limit)
            k23k_fail("shootdown: waited 10 s for phase %u", p);
        k23k_cpu_relax();
    }
}

static void shootdown_job(void *arg)
{
    k23_frames_t *fa = arg;
    unsigned cpu = k23k_cpu_self()->id;
    if (cpu == 0) {
        k23_paddr_t pa;
        if (k23_frames_alloc_one(fa, &pa) != K23_OK)
            k23k_fail("shootdown: no frame");
        *(volatile uint64_t *)k23_port_phys_to_virt(pa) = SD_VALUE;
        k23_aspace_desc_t d = {.kind = K23_ASPACE_WIRED,
                               .perm = K23_PERM_READ | K23_PERM_WRITE,
                               .memtype = K23_PT_MEM_NORMAL, .pa = pa,
                               .name = "shootdown"};
        sd.va = reserve_any(4096, &d);
        __atomic_store_n(&sd.phase, 1u, __ATOMIC_RELEASE);
        wait_phase(2);
        release(sd.va, "shootdown"); /* the port's hook reaches every CPU */
        k23_frames_free_one(fa, pa);
        __atomic_store_n(&sd.phase, 3u, __ATOMIC_RELEASE);
        wait_phase(4);
    } else if (cpu == 1) {
        wait_phase(1);
        /* The read puts the translation into this CPU's TLB. */
        sd.seen_by_b = *(volatile uint64_t *)(uintptr_t)sd.va;
        __atomic_store_n(&sd.phase, 2u, __ATOMIC_RELEASE);
        wait_phase(3);
        probe[cpu].asked = false;
        probe[cpu].armed = true;
        sd.faulted = k23k_probe_read(sd.va);
        probe[cpu].armed = false;
        sd.fault = probe[cpu].fault;
        sd.answer = probe[cpu].vm;
        __atomic_store_n(&sd.phase, 4u, __ATOMIC_RELEASE);
    }
}

void k23k_selftest_shootdown(k23_frames_t *fa)
{
    uint64_t t0 = k23k_arch_ticks();
    if (k23k_smp_count() < 2) {
        k23k_printf("TLB shootdown: skipped, one CPU\n");
        return;
    }
    k23k_smp_run_all(shootdown_job, fa);
    if (sd.seen_by_b != SD_VALUE)
        k23k_fail("shootdown: CPU 1 read 0x%llx through the new mapping",
                  (unsigned long long)sd.seen_by_b);
    if (sd.faulted != 1)
        k23k_fail("shootdown: CPU 1 still reached 0x%llx after CPU 0 "
                  "unmapped it and flushed: stale TLB entry",
                  (unsigned long long)sd.va);
    if (sd.fault.addr != sd.va || sd.fault.cause != K23_FAULT_LOAD ||
        sd.answer.outcome != K23_ASPACE_FAULT_NO_REGION)
        k23k_fail("shootdown: CPU 1's fault decoded as %s at 0x%llx, "
                  "address space: %s", cause_name(sd.fault.cause),
                  (unsigned long long)sd.fault.addr,
                  outcome_name(sd.answer.outcome));
    k23k_printf("TLB shootdown: CPU 0 reserved a wired page at 0x%llx, CPU 1 "
                "read it, CPU 0 released it and flushed, CPU 1's next read "
                "faulted (%s; aspace: %s) (%u ms)\n",
                (unsigned long long)sd.va, cause_name(sd.fault.cause),
                outcome_name(sd.answer.outcome),
                (unsigned)((k23k_arch_ticks() - t0) * 1000 /
                           k23k_arch_tick_hz()));
}
