/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Wasm memories in the kernel: with paging on, the port's VM hooks forward
 * to the kernel's address space (port.c), so libk23mem's memory pool and
 * both instance allocators run here exactly as on the host. The self-test
 * instantiates modules with the pooling allocator (whose memories come
 * from a memory pool with guard regions) and with the on-demand one,
 * writes, grows and reads their memories, then reads just past a memory's
 * accessible size and just past its reservation: the MMU faults, the fault
 * handler asks the address space (k23_aspace_fault) and this file's
 * describer which memory the address belongs to, and the run goes on.
 */
#include <stdint.h>

#include "k23k_selftest.h"
#include "kernel.h"
#include "k23mem/aspace.h"
#include "k23mem/instance.h"
#include "k23mem/instance_pool.h"
#include "k23mem/port.h"

#define W_MODULES 2  /* instances per allocator */
#define W_MEMS 2     /* memories per module */
#define W_PAGE (UINT64_C(1) << K23_INSTANCE_WASM_PAGE_LOG2)

/* The memories the describer knows, numbered 0.. in the order below. */
static struct {
    const k23_memory_t *mem[2 * W_MODULES * W_MEMS];
    const char *alloc[2 * W_MODULES * W_MEMS];
    unsigned n;
} known;

static unsigned ms_since(uint64_t t0)
{
    return (unsigned)((k23k_arch_ticks() - t0) * 1000 / k23k_arch_tick_hz());
}

/* A small text builder for the describer (no snprintf here). */
typedef struct text {
    char *buf;
    unsigned size, len;
} text_t;

static void put_str(text_t *t, const char *s)
{
    for (; *s != '\0' && t->len + 1 < t->size; s++)
        t->buf[t->len++] = *s;
    t->buf[t->len] = '\0';
}

static void put_num(text_t *t, uint64_t v)
{
    char d[24];
    unsigned n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    char s[24];
    for (unsigned i = 0; i < n; i++)
        s[i] = d[n - 1 - i];
    s[n] = '\0';
    put_str(t, s);
}

/* Which known memory holds @p addr, and which part of it: accessible,
 * reserved for growth (capacity not yet grown into) or guard region. */
static void describe(void *ctx, uint64_t addr, char *buf, unsigned size)
{
    (void)ctx;
    text_t t = {buf, size, 0};
    if (size == 0)
        return;
    buf[0] = '\0';
    for (unsigned i = 0; i < known.n; i++) {
        const k23_memory_t *m = known.mem[i];
        uint64_t base = (uintptr_t)m->base;
        uint64_t end = base + m->capacity + m->guard_bytes;
        if (addr < base || addr >= end)
            continue;
        uint64_t off = addr - base;
        if (off < m->size)
            put_str(&t, "accessible part");
        else if (off < m->capacity)
            put_str(&t, "unused capacity");
        else
            put_str(&t, "guard region");
        put_str(&t, " of memory ");
        put_num(&t, i);
        put_str(&t, " (");
        put_str(&t, known.alloc[i]);
        put_str(&t, "), ");
        put_num(&t, off - m->size);
        put_str(&t, " bytes past its accessible size ");
        put_num(&t, m->size);
        return;
    }
    put_str(&t, "no memory");
}

/* Instantiate, use and check W_MODULES modules; handles stay live. */
static void instantiate(const char *name, const k23_instance_allocator_t *a,
                        const k23_module_desc_t *m,
                        k23_instance_handle_t *h)
{
    uint64_t t0 = k23k_arch_ticks();
    for (unsigned i = 0; i < W_MODULES; i++) {
        int rc = k23_instance_allocate_module(a, m, &h[i]);
        if (rc != K23_OK)
            k23k_fail("wasm %s: instance %u: %s", name, i,
                      k23_strerror_name(rc));
    }
    unsigned alloc_ms = ms_since(t0);
    t0 = k23k_arch_ticks();
    for (unsigned i = 0; i < W_MODULES; i++) {
        for (unsigned j = 0; j < h[i].num_memories; j++) {
            k23_memory_t *mem = &h[i].memories[j];
            volatile uint8_t *p = k23_memory_base(mem);
            size_t before = k23_memory_size(mem);
            if (before != 0)
                p[before - 1] = (uint8_t)(0xa0 + i * 2 + j);
            uint64_t old;
            int rc = k23_memory_grow(mem, 1, &old);
            if (rc != K23_OK || old * W_PAGE != before)
                k23k_fail("wasm %s: grow of memory %u.%u: %s (old %llu "
                          "pages)", name, i, j, k23_strerror_name(rc),
                          (unsigned long long)old);
            size_t after = k23_memory_size(mem);
            /* The new page reads zero; the old contents stay. */
            if (p[after - 1] != 0 || p[before] != 0 ||
                (before != 0 && p[before - 1] != (uint8_t)(0xa0 + i * 2 + j)))
                k23k_fail("wasm %s: memory %u.%u after grow: bad contents",
                          name, i, j);
            p[after - 1] = 0x5a;
            if (p[after - 1] != 0x5a)
                k23k_fail("wasm %s: memory %u.%u: write lost", name, i, j);
            known.mem[known.n] = mem;
            known.alloc[known.n] = name;
            known.n++;
        }
    }
    k23k_printf("  %s: %u instances of %u memories in %u ms; each memory "
                "written, grown by a page, read back (%u ms)\n", name,
                W_MODULES, (unsigned)m->num_memories, alloc_ms,
                ms_since(t0));
}

/* Read @p addr through a probe: it must fault in a VM reservation, on a page
 * the address space has reserved but not committed, and be described as
 * @p part of some memory. */
static void expect_oob(const char *what, uint64_t addr, const char *part)
{
    k23_aspace_fault_result_t res;
    char desc[96];
    int got = k23k_probe_vm_read(addr, &res, desc, sizeof(desc));
    if (got != 2)
        k23k_fail("wasm: %s at 0x%llx %s", what, (unsigned long long)addr,
                  got == 0 ? "did not fault"
                           : "faulted, but the address space did not answer");
    k23k_printf("  out of bounds: %s at 0x%llx: aspace %s in reservation "
                "[0x%llx, +0x%llx); %s\n", what, (unsigned long long)addr,
                res.outcome == K23_ASPACE_FAULT_UNCOMMITTED ? "uncommitted"
                                                            : "other",
                (unsigned long long)res.region_base,
                (unsigned long long)res.region_size, desc);
    unsigned n = 0;
    while (part[n] != '\0' && desc[n] == part[n])
        n++;
    if (res.outcome != K23_ASPACE_FAULT_UNCOMMITTED ||
        res.kind != K23_ASPACE_VM || part[n] != '\0')
        k23k_fail("wasm: %s at 0x%llx: outcome %u kind %u, \"%s\", "
                  "expected uncommitted VM, \"%s\"", what,
                  (unsigned long long)addr, res.outcome, res.kind, desc,
                  part);
}

static void check_resident(const k23_aspace_t *as, uint64_t expect,
                           const char *when)
{
    k23_aspace_stats_t st;
    k23k_port_vm_lock();
    int rc = k23_aspace_stats(as, &st);
    int ck = k23_aspace_check(as);
    k23k_port_vm_unlock();
    if (rc != K23_OK || ck != K23_OK || st.resident_frames != expect)
        k23k_fail("wasm: %s: %llu frames resident, expected %llu (%s, %s)",
                  when, (unsigned long long)st.resident_frames,
                  (unsigned long long)expect, k23_strerror_name(rc),
                  k23_strerror_name(ck));
}

void k23k_selftest_wasm(void)
{
    uint64_t t0 = k23k_arch_ticks();
    k23_aspace_t *as = k23k_port_vm_aspace();
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    if (as == NULL || !caps.has_vm || !caps.can_decommit)
        k23k_fail("wasm: the VM hooks are not on after paging");
    k23_aspace_stats_t st0;
    k23k_port_vm_lock();
    int rc = k23_aspace_stats(as, &st0);
    k23k_port_vm_unlock();
    if (rc != K23_OK)
        k23k_fail("wasm: k23_aspace_stats: %s", k23_strerror_name(rc));
    size_t reserved0 = k23_port_vm_reserved_bytes();

    /* Two memories (1 page of max 4, 0 of max 1) and a table, as the host's
     * instance demo uses. */
    k23_memory_desc_t mems[W_MEMS] = {
        {.min_bytes = W_PAGE, .max_bytes = 4 * W_PAGE, .has_max = true,
         .page_size_log2 = K23_INSTANCE_WASM_PAGE_LOG2,
         .offset_guard_bytes = UINT64_C(64) << 10},
        {.min_bytes = 0, .max_bytes = 2 * W_PAGE, .has_max = true,
         .page_size_log2 = K23_INSTANCE_WASM_PAGE_LOG2},
    };
    k23_table_desc_t tab = {.min_elements = 16, .max_elements = 64,
                            .has_max = true, .element_size = sizeof(void *)};
    k23_module_desc_t m = {.shape = {.size = 512, .align_log2 = 6},
                           .memories = mems, .tables = &tab,
                           .num_memories = W_MEMS, .num_tables = 1};

    /* The pooling allocator: memory slots of 1 MiB with a 64 KiB guard
     * after each, from one memory pool reserved up front. */
    k23_instance_pool_config_t pc;
    k23_instance_pool_config_default(&pc);
    pc.total_instances = W_MODULES;
    pc.total_memories = W_MODULES * W_MEMS;
    pc.total_tables = W_MODULES;
    pc.max_memories_per_module = W_MEMS;
    pc.max_memory_size = UINT64_C(1) << 20;
    pc.memory_reservation = UINT64_C(1) << 20;
    pc.memory_guard_size = UINT64_C(64) << 10;
    pc.table_elements = 64;
    pc.max_instance_size = 4096;
    k23_instance_pool_t *pool;
    k23_instance_allocator_t pooling;
    rc = k23_instance_pool_create(&pc, &pool, &pooling);
    if (rc != K23_OK)
        k23k_fail("wasm: k23_instance_pool_create: %s",
                  k23_strerror_name(rc));
    k23_instance_pool_stats_t ps;
    k23_instance_pool_stats(pool, &ps);
    k23k_printf("  pooling: %llu KiB of the VM window reserved for %u "
                "instances, %u memory slots (1 MiB + 64 KiB guard)\n",
                (unsigned long long)(ps.reserved_bytes >> 10), W_MODULES,
                W_MODULES * W_MEMS);

    /* The on-demand allocator: one reservation per memory, its maximum
     * plus the descriptor's guard. */
    k23_ondemand_t od;
    k23_instance_allocator_t ondemand;
    k23_ondemand_config_t oc = {.memory_bound = UINT64_C(1) << 20,
                                .table_bound = 64};
    rc = k23_ondemand_init(&od, &oc, &ondemand);
    if (rc != K23_OK)
        k23k_fail("wasm: k23_ondemand_init: %s", k23_strerror_name(rc));

    known.n = 0;
    k23k_vm_fault_describer(describe, NULL);
    k23_instance_handle_t hp[W_MODULES], ho[W_MODULES];
    instantiate("pooling", &pooling, &m, hp);
    instantiate("on-demand", &ondemand, &m, ho);

    /* Out of bounds, pooled memory 1 of instance 1 (memory 3): the page
     * just past its accessible size, then the first byte of its guard. */
    const k23_memory_t *victim = &hp[1].memories[1];
    uint64_t vb = (uintptr_t)victim->base;
    expect_oob("read just past the accessible size", vb + victim->size,
               "unused capacity of memory 3");
    expect_oob("read past the reservation", vb + victim->capacity,
               "guard region of memory 3");
    if (victim->guard_bytes == 0)
        k23k_fail("wasm: pooled memory without a guard region");
    /* And the first on-demand memory, which asked for a 64 KiB guard. */
    const k23_memory_t *od0 = &ho[0].memories[0];
    if (od0->guard_bytes == 0)
        k23k_fail("wasm: on-demand memory without its guard region");
    expect_oob("on-demand read past the reservation",
                   (uintptr_t)od0->base + od0->capacity,
                   "guard region of memory 4");
    k23k_vm_fault_describer(NULL, NULL);

    for (unsigned i = 0; i < W_MODULES; i++) {
        k23_instance_deallocate_module(&pooling, &hp[i]);
        k23_instance_deallocate_module(&ondemand, &ho[i]);
    }
    rc = k23_instance_pool_destroy(pool);
    if (rc != K23_OK)
        k23k_fail("wasm: k23_instance_pool_destroy: %s",
                  k23_strerror_name(rc));
    /* Everything reserved and committed went back to the address space. */
    if (k23_port_vm_reserved_bytes() != reserved0)
        k23k_fail("wasm: %llu bytes still reserved after teardown",
                  (unsigned long long)(k23_port_vm_reserved_bytes() -
                                       reserved0));
    check_resident(as, st0.resident_frames, "after teardown");
    k23k_printf("wasm memories: pooling and on-demand instances over the "
                "kernel's address space, out-of-bounds reads faulted into "
                "reserved pages and were named, all released (%u ms)\n",
                ms_since(t0));
}
