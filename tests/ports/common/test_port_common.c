/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The shared "unsupported" versions of port.h's optional groups
 * (the files in ports/common/), linked alone with this file: what a port that takes
 * them gets. Built without the library (tests/port_common.cmake), so the
 * hooks here are exactly the shared ones and not the hosted port's.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "k23mem/port.h"

/* The one required hook these files call. */
void k23_port_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "panic at %s:%d: %s\n", file, line, msg);
    abort();
}

TestSuite(port_common);

Test(port_common, vm_none_reserves_nothing)
{
    void *out = (void *)0x1234;
    cr_assert_eq(k23_port_vm_reserve(65536, 65536, &out), K23_ERR_UNSUPPORTED);
    cr_assert_eq(out, (void *)0x1234, "out-pointer untouched");
    cr_assert_eq(k23_port_vm_commit((void *)0x10000, 4096, 0), K23_ERR_UNSUPPORTED);
    cr_assert_eq(k23_port_vm_decommit((void *)0x10000, 4096), K23_ERR_UNSUPPORTED);
    cr_assert_eq(k23_port_vm_release((void *)0x10000, 4096), K23_ERR_UNSUPPORTED);
    cr_assert_eq(k23_port_vm_reserved_bytes(), 0);
}

Test(port_common, pkey_none_gives_no_key)
{
    unsigned key = 77;
    cr_assert_eq(k23_port_pkey_alloc(&key), K23_ERR_UNSUPPORTED);
    cr_assert_eq(key, 77, "out-pointer untouched");
    cr_assert_eq(k23_port_pkey_protect((void *)0x10000, 4096, 0, 1),
                 K23_ERR_UNSUPPORTED);
}

/* No key was ever handed out, so freeing one is misuse. */
Test(port_common, pkey_none_free_panics, .signal = SIGABRT)
{
    k23_port_pkey_free(1);
}

Test(port_common, mmu_none_loads_nothing)
{
    cr_assert_eq(k23_port_mmu_activate(K23_PORT_MMU_CR3, 0x1000),
                 K23_ERR_UNSUPPORTED);
    cr_assert_eq(k23_port_mmu_activate(K23_PORT_MMU_SATP, 0), K23_ERR_UNSUPPORTED);
    uint64_t va[1] = {0x400000};
    k23_port_tlb_flush(1, 0, va, 1, 0); /* returns: nothing to invalidate */
    cr_assert_eq(va[0], 0x400000);
}

Test(port_common, pcpu_locked_has_no_fast_path)
{
    struct {
        k23_port_pcpu_hdr_t hdr;
        uint64_t slots[4];
    } stack = {{0}, {0}};
    cr_assert(!k23_port_pcpu_fast());
    cr_assert_eq(k23_port_pcpu_pop(&stack, sizeof(stack), 1, sizeof(stack.hdr)),
                 K23_PORT_PCPU_NONE);
    cr_assert(!k23_port_pcpu_push(&stack, sizeof(stack), 1, sizeof(stack.hdr), 4, 5));
    cr_assert(!k23_port_pcpu_add(&stack, sizeof(stack), 1, 3));
    uint64_t word = 0;
    cr_assert_eq(k23_port_pcpu_flip(&stack.hdr, 0, &word, 1, 0),
                 K23_PORT_FLIP_ELSEWHERE);
    cr_assert_eq(word, 0);
    cr_assert_eq(stack.hdr.count, 0);
    k23_port_pcpu_fence(&stack.hdr, 0);
    cr_assert_eq(stack.hdr.fenced, 1);
    k23_port_pcpu_unfence(&stack.hdr);
    cr_assert_eq(stack.hdr.fenced, 0);
}

/* The opaque lock has one size whatever the port (port.h). */
Test(port_common, lock_storage_is_fixed)
{
    cr_assert_eq(sizeof(k23_port_lock_t), K23_PORT_LOCK_BYTES);
    cr_assert_eq(_Alignof(k23_port_lock_t), _Alignof(uint64_t) > _Alignof(void *)
                                                ? _Alignof(uint64_t)
                                                : _Alignof(void *));
}
