/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The wasm32 port's hooks: caps, virtual memory on top of the megablock
 * allocator (reserve reads zero even when it reuses dirty megablocks,
 * release returns megablocks for reuse, decommit zeroes), locks, CPUs.
 */
#include <string.h>

#include "k23mem/megablock.h"
#include "k23mem/perm.h"
#include "k23mem/port.h"
#include "k23mem_wasm32.h"
#include "wasm_test.h"

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 4093)
        if (p[i] != 0)
            return false;
    return p[n - 1] == 0;
}

static void test_caps_describe_wasm32(void)
{
    k23_port_caps_t c;
    k23_port_caps(&c);
    CHECK_EQ(c.page_size, 65536);
    CHECK_EQ(c.alloc_granularity, (size_t)1 << k23_wasm32_mblocks()->shift);
    CHECK(!c.can_decommit);
    CHECK(c.has_vm);
    CHECK_EQ(c.pkeys_available, 0);
    unsigned key;
    CHECK_EQ(k23_port_pkey_alloc(&key), K23_ERR_UNSUPPORTED);
    CHECK_EQ(k23_port_cpu_count(), 1);
    unsigned cpu = k23_port_cpu_local_enter();
    CHECK_EQ(cpu, 0);
    k23_port_cpu_local_exit(cpu);
    /* the shared MMU group (ports/common/mmu_none.c) */
    CHECK_EQ(k23_port_mmu_activate(K23_PORT_MMU_SATP, 0), K23_ERR_UNSUPPORTED);
    CHECK(k23_port_phys_to_virt(0x12340000) == (void *)0x12340000);
}

static void test_reserve_reads_zero_even_when_reusing(void)
{
    size_t size = 3 << 20; /* not a multiple of a 1 MiB megablock? it is */
    size += 65536;         /* now it is not */
    unsigned char *p;
    REQUIRE(k23_port_vm_reserve(size, 65536, (void **)&p) == K23_OK);
    CHECK_EQ(k23_port_vm_reserved_bytes(), size);
    CHECK(k23_port_vm_commit(p, size, K23_PERM_READ | K23_PERM_WRITE) ==
          K23_OK);
    CHECK(all_zero(p, size));
    memset(p, 0xee, size);
    CHECK(k23_port_vm_decommit(p + 65536, 65536) == K23_OK);
    CHECK(all_zero(p + 65536, 65536));
    CHECK(p[0] == 0xee && p[2 * 65536] == 0xee);
    CHECK(k23_port_vm_release(p, size) == K23_OK);
    CHECK_EQ(k23_port_vm_reserved_bytes(), 0);
    /* the same megablocks come back, dirty, and must read zero */
    unsigned char *q;
    REQUIRE(k23_port_vm_reserve(size, 65536, (void **)&q) == K23_OK);
    CHECK(q == p);
    CHECK(all_zero(q, size));
    CHECK(k23_port_vm_release(q, size) == K23_OK);
}

static void test_reserve_honours_large_alignment(void)
{
    void *p;
    size_t align = (size_t)8 << 20;
    REQUIRE(k23_port_vm_reserve(65536, align, &p) == K23_OK);
    CHECK_EQ((uintptr_t)p & (align - 1), 0);
    CHECK(k23_port_vm_release(p, 65536) == K23_OK);
}

static void test_bad_vm_arguments_are_rejected(void)
{
    void *p = (void *)7;
    CHECK_EQ(k23_port_vm_reserve(0, 65536, &p), K23_ERR_INVAL);
    CHECK_EQ(k23_port_vm_reserve(4096, 65536, &p), K23_ERR_INVAL);
    CHECK_EQ(k23_port_vm_reserve(65536, 4096, &p), K23_ERR_INVAL);
    CHECK_EQ(k23_port_vm_reserve(65536, 3 << 16, &p), K23_ERR_INVAL);
    CHECK(p == (void *)7);
    CHECK_EQ(k23_port_vm_commit((void *)4096, 65536, 0), K23_ERR_INVAL);
    CHECK_EQ(k23_port_vm_decommit((void *)65536, 100), K23_ERR_INVAL);
}

static void test_lock_tracks_holder(void)
{
    k23_port_lock_t l;
    k23_port_lock_init(&l);
    CHECK(!k23_port_lock_held(&l));
    k23_port_lock_acquire(&l);
    CHECK(k23_port_lock_held(&l));
    k23_port_lock_release(&l);
    CHECK(!k23_port_lock_held(&l));
}

int main(void)
{
    RUN(test_caps_describe_wasm32);
    RUN(test_reserve_reads_zero_even_when_reusing);
    RUN(test_reserve_honours_large_alignment);
    RUN(test_bad_vm_arguments_are_rejected);
    RUN(test_lock_tracks_holder);
    return wt_finish();
}
