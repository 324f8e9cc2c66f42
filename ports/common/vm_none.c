/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The optional virtual-memory group of port.h, unsupported: every hook
 * says K23_ERR_UNSUPPORTED and nothing is ever reserved. A port that
 * links this reports `has_vm = false`, `can_decommit = false` and
 * `can_release = false` from k23_port_caps(); the memory pool and the
 * instance allocators then fail cleanly with K23_ERR_UNSUPPORTED, and
 * everything else (frames, object caches, page tables) works unchanged.
 *
 * Freestanding: only port.h. A port names it in K23_PORT_COMMON
 * (`vm_none`) in its port.cmake, or compiles it with its own sources.
 */
#include "k23mem/port.h"

int k23_port_vm_reserve(size_t size, size_t align, void **out)
{
    (void)size;
    (void)align;
    (void)out;
    return K23_ERR_UNSUPPORTED;
}

int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm)
{
    (void)addr;
    (void)size;
    (void)perm;
    return K23_ERR_UNSUPPORTED;
}

int k23_port_vm_decommit(void *addr, size_t size)
{
    (void)addr;
    (void)size;
    return K23_ERR_UNSUPPORTED;
}

int k23_port_vm_release(void *addr, size_t size)
{
    (void)addr;
    (void)size;
    return K23_ERR_UNSUPPORTED;
}

size_t k23_port_vm_reserved_bytes(void)
{
    return 0;
}
