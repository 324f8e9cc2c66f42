#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "k23mem/perm.h"
#include "k23mem/port.h"

TestSuite(port_hosted);

Test(port_hosted, cpu_ids_are_below_the_cpu_count)
{
    unsigned n = k23_port_cpu_count();
    cr_assert_geq(n, 1);
    for (int i = 0; i < 1000; i++) {
        cr_assert_lt(k23_port_cpu_id(), n);
        unsigned c = k23_port_cpu_local_enter();
        cr_assert_lt(c, n);
        k23_port_cpu_local_exit(c);
    }
}

Test(port_hosted, phys_and_virt_are_the_same_address)
{
    int x = 0;
    cr_assert_eq(k23_port_phys_to_virt(k23_port_virt_to_phys(&x)), (void *)&x);
}

Test(port_hosted, reserve_commit_decommit_release_and_count)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    cr_assert(caps.has_vm);
    cr_assert_eq(caps.page_size & (caps.page_size - 1), 0);
    size_t before = k23_port_vm_reserved_bytes();
    size_t size = 16 * caps.page_size, align = 2u << 20;
    void *p = NULL;
    cr_assert_eq(k23_port_vm_reserve(size, align, &p), K23_OK);
    cr_assert_eq((uintptr_t)p % align, 0, "aligned to 2 MiB");
    cr_assert_eq(k23_port_vm_reserved_bytes(), before + size);

    unsigned char *b = p;
    cr_assert_eq(k23_port_vm_commit(b, 4 * caps.page_size, K23_PERM_READ | K23_PERM_WRITE), K23_OK);
    for (size_t i = 0; i < 4 * caps.page_size; i++)
        cr_assert_eq(b[i], 0);
    memset(b, 0xab, 4 * caps.page_size);
    cr_assert_eq(k23_port_vm_decommit(b, 4 * caps.page_size), K23_OK);
    cr_assert_eq(k23_port_vm_commit(b, 4 * caps.page_size, K23_PERM_READ | K23_PERM_WRITE), K23_OK);
    for (size_t i = 0; i < 4 * caps.page_size; i++)
        cr_assert_eq(b[i], 0, "recommitted memory reads as zero");

    cr_assert_eq(k23_port_vm_release(p, size), K23_OK);
    cr_assert_eq(k23_port_vm_reserved_bytes(), before);
}

Test(port_hosted, reserve_rejects_bad_sizes_and_alignments)
{
    void *p = (void *)0x1;
    cr_assert_eq(k23_port_vm_reserve(0, 4096, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserve(100, 4096, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserve(4096, 3 * 4096, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_reserve(4096, 16, &p), K23_ERR_INVAL);
    cr_assert_eq(p, (void *)0x1);
    cr_assert_eq(k23_port_vm_reserve(SIZE_MAX & ~(size_t)0xfff, 1u << 30, &p), K23_ERR_NOMEM);
}

Test(port_hosted, uncommitted_reservation_faults, .signal = SIGSEGV)
{
    void *p;
    cr_assert_eq(k23_port_vm_reserve(65536, 4096, &p), K23_OK);
    *(volatile char *)p = 1;
}

Test(port_hosted, protection_keys_match_the_capabilities)
{
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    unsigned key = 1234;
    int err = k23_port_pkey_alloc(&key);
    if (caps.pkeys_available == 0) {
        cr_log_info("no memory protection keys on this host: alloc must say so");
        cr_assert_eq(err, K23_ERR_UNSUPPORTED);
        cr_assert_eq(key, 1234);
    } else {
        cr_assert_eq(err, K23_OK);
        k23_port_pkey_free(key);
    }
}

Test(port_hosted, panic_aborts_with_the_message, .signal = SIGABRT)
{
    k23_port_panic(__FILE__, __LINE__, "double free of frame 0x1000");
}
