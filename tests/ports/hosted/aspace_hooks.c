/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The hosted port built with K23_PORT_HOSTED_ASPACE (ports/hosted/
 * vm_aspace.c): its VM hooks really go through the address space, the
 * host window mirrors the page tables (a page reads and writes its frame,
 * every page not mapped there faults), the capabilities are the address
 * space's, and a forked child gets its own copy of physical memory.
 * Without these, the _aspace suites could pass on hooks that never
 * touched the address space.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k23mem/aspace.h"
#include "k23mem/port.h"
#include "k23_port_hosted_test.h"

TestSuite(aspace_hooks);

#define PAGE ((size_t)4096)

static k23_aspace_stats_t stats(void)
{
    k23_aspace_stats_t st;
    cr_assert_eq(k23_aspace_stats(k23_port_hosted_aspace_(), &st), K23_OK);
    return st;
}

static char *reserve(size_t pages)
{
    void *p = NULL;
    cr_assert_eq(k23_port_vm_reserve(pages * PAGE, 16 * PAGE, &p), K23_OK);
    return p;
}

static k23_paddr_t frame_of(const void *va)
{
    k23_pt_mapping_t m;
    cr_assert_eq(k23_pt_query(k23_aspace_pt(k23_port_hosted_aspace_()),
                              (uint64_t)(uintptr_t)va, &m), K23_OK,
                 "%p is not mapped", va);
    return m.pa;
}

/* Sanitizers catch SIGSEGV themselves and exit otherwise. */
static void default_segv(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
}

Test(aspace_hooks, hooks_forward_to_the_address_space_and_pages_are_frames)
{
    k23_aspace_stats_t st0 = stats();
    size_t reserved = k23_port_vm_reserved_bytes();
    char *p = reserve(16);
    k23_aspace_info_t info;
    cr_assert_eq(k23_aspace_lookup(k23_port_hosted_aspace_(),
                                   (uint64_t)(uintptr_t)p, &info), K23_OK);
    cr_assert_eq(info.kind, K23_ASPACE_VM);
    cr_assert_eq(info.base, (uint64_t)(uintptr_t)p);
    cr_assert_eq(info.size, 16 * PAGE);
    cr_assert_eq(k23_port_vm_reserved_bytes() - reserved, 16 * PAGE);

    cr_assert_eq(k23_port_vm_commit(p + 2 * PAGE, 4 * PAGE,
                                    K23_PERM_READ | K23_PERM_WRITE), K23_OK);
    cr_assert_eq(stats().resident_frames - st0.resident_frames, 4);
    /* The window page is its frame: both ways through the direct map. */
    for (size_t i = 2; i < 6; i++) {
        char *page = p + i * PAGE;
        char *direct = k23_port_phys_to_virt(frame_of(page));
        cr_assert_neq(direct, page);
        cr_assert_eq(page[0], 0, "committed memory reads zero");
        page[0] = (char)(0x40 + i);
        cr_assert_eq(direct[0], (char)(0x40 + i));
        direct[PAGE - 1] = (char)(0x50 + i);
        cr_assert_eq(page[PAGE - 1], (char)(0x50 + i));
    }

    /* Decommit frees the frames; recommit reads zero again. */
    cr_assert_eq(k23_port_vm_decommit(p + 2 * PAGE, 4 * PAGE), K23_OK);
    cr_assert_eq(stats().resident_frames, st0.resident_frames);
    cr_assert_eq(k23_port_vm_commit(p + 2 * PAGE, 4 * PAGE, K23_PERM_READ |
                                    K23_PERM_WRITE), K23_OK);
    for (size_t i = 2; i < 6; i++)
        cr_assert(p[i * PAGE] == 0 && p[i * PAGE + PAGE - 1] == 0);

    cr_assert_eq(k23_port_vm_release(p, 16 * PAGE), K23_OK);
    k23_aspace_stats_t st1 = stats();
    cr_assert_eq(st1.resident_frames, st0.resident_frames);
    cr_assert_eq(st1.regions, st0.regions);
    cr_assert_eq(k23_port_vm_reserved_bytes(), reserved);
    cr_assert_eq(k23_aspace_check(k23_port_hosted_aspace_()), K23_OK);
}

Test(aspace_hooks, a_page_never_committed_faults, .signal = SIGSEGV)
{
    default_segv();
    char *p = reserve(4);
    cr_assert_eq(k23_port_vm_commit(p, PAGE, K23_PERM_READ | K23_PERM_WRITE),
                 K23_OK);
    p[PAGE - 1] = 1;
    ((volatile char *)p)[PAGE] = 1;
}

Test(aspace_hooks, a_decommitted_page_faults, .signal = SIGSEGV)
{
    default_segv();
    char *p = reserve(4);
    cr_assert_eq(k23_port_vm_commit(p, 4 * PAGE, K23_PERM_READ |
                                    K23_PERM_WRITE), K23_OK);
    p[3 * PAGE] = 1;
    cr_assert_eq(k23_port_vm_decommit(p + 2 * PAGE, 2 * PAGE), K23_OK);
    p[PAGE] = 1; /* still committed */
    ((volatile char *)p)[3 * PAGE] = 1;
}

Test(aspace_hooks, a_released_reservation_faults, .signal = SIGSEGV)
{
    default_segv();
    char *p = reserve(4);
    cr_assert_eq(k23_port_vm_commit(p, 4 * PAGE, K23_PERM_READ |
                                    K23_PERM_WRITE), K23_OK);
    cr_assert_eq(k23_port_vm_release(p, 4 * PAGE), K23_OK);
    ((volatile char *)p)[0] = 1;
}

Test(aspace_hooks, a_store_to_read_only_memory_faults, .signal = SIGSEGV)
{
    default_segv();
    char *p = reserve(4);
    cr_assert_eq(k23_port_vm_commit(p, 4 * PAGE, K23_PERM_READ |
                                    K23_PERM_WRITE), K23_OK);
    p[PAGE] = 7;
    cr_assert_eq(k23_port_vm_commit(p + PAGE, PAGE, K23_PERM_READ), K23_OK);
    cr_assert_eq(p[PAGE], 7, "recommitting keeps the contents");
    ((volatile char *)p)[PAGE] = 1;
}

Test(aspace_hooks, capabilities_are_the_address_space_s)
{
    k23_port_caps_t caps, want;
    memset(&want, 0xa5, sizeof(want));
    k23_port_caps(&caps);
    cr_assert_eq(k23_aspace_vm_caps(k23_port_hosted_aspace_(), &want), K23_OK);
    cr_assert_eq(caps.page_size, want.page_size);
    cr_assert_eq(caps.alloc_granularity, want.alloc_granularity);
    cr_assert(caps.has_vm && caps.can_decommit && caps.can_release);
    cr_assert_eq(caps.pkeys_available, 0);
    unsigned key = 99;
    cr_assert_eq(k23_port_pkey_alloc(&key), K23_ERR_UNSUPPORTED);
    cr_assert_eq(key, 99);
    cr_assert_eq(k23_port_pkey_alloc(NULL), K23_ERR_INVAL);
}

Test(aspace_hooks, bad_ranges_are_refused_as_a_kernel_port_refuses_them)
{
    char *p = reserve(4);
    cr_assert_eq(k23_port_vm_commit(p + PAGE, 4 * PAGE, K23_PERM_READ),
                 K23_ERR_INVAL, "past the reservation");
    cr_assert_eq(k23_port_vm_commit(p + 1, PAGE, K23_PERM_READ),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_decommit(p + 3 * PAGE, 2 * PAGE),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_release(p, 2 * PAGE), K23_ERR_INVAL);
    cr_assert_eq(k23_port_vm_release(p, 4 * PAGE), K23_OK);
    cr_assert_eq(k23_port_vm_commit(p, PAGE, K23_PERM_READ), K23_ERR_INVAL,
                 "released");
}

/* The child writes its page and commits more: none of it may reach the
 * parent's memory or its frame allocator. */
static int child_main(char *p)
{
    if (p[0] != 'A')
        return 1;
    p[0] = 'B';
    char *q = NULL;
    if (k23_port_vm_reserve(64 * PAGE, PAGE, (void **)&q) != K23_OK ||
        k23_port_vm_commit(q, 64 * PAGE, K23_PERM_READ | K23_PERM_WRITE) !=
            K23_OK)
        return 2;
    memset(q, 'C', 64 * PAGE);
    return p[0] == 'B' ? 0 : 3;
}

Test(aspace_hooks, a_forked_child_has_its_own_physical_memory)
{
    char *p = reserve(4);
    cr_assert_eq(k23_port_vm_commit(p, PAGE, K23_PERM_READ | K23_PERM_WRITE),
                 K23_OK);
    p[0] = 'A';
    k23_aspace_stats_t st0 = stats();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(child_main(p));
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "child status %#x", status);
    cr_assert_eq(p[0], 'A');
    /* Frames the child took are free here: 64 more commit and read zero. */
    char *q = reserve(64);
    cr_assert_eq(k23_port_vm_commit(q, 64 * PAGE, K23_PERM_READ |
                                    K23_PERM_WRITE), K23_OK);
    for (size_t i = 0; i < 64 * PAGE; i += PAGE / 2)
        cr_assert_eq(q[i], 0);
    cr_assert_eq(stats().resident_frames, st0.resident_frames + 64);
    cr_assert_eq(k23_aspace_check(k23_port_hosted_aspace_()), K23_OK);
}
