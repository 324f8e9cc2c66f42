/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The optional protection-key group of port.h, unsupported: no key can be
 * allocated, so none is ever freed or used. A port that links this
 * reports `pkeys_available = 0` from k23_port_caps(); the memory pool then
 * runs without keys.
 *
 * Freestanding: only port.h. A port names it in K23_PORT_COMMON
 * (`pkey_none`) in its port.cmake, or compiles it with its own sources.
 */
#include "k23mem/port.h"

int k23_port_pkey_alloc(unsigned *out)
{
    (void)out;
    return K23_ERR_UNSUPPORTED;
}

void k23_port_pkey_free(unsigned key)
{
    /* Nothing was allocated, so nothing can be freed: a call is misuse. */
    (void)key;
    k23_port_panic(__FILE__, __LINE__,
                   "k23_port_pkey_free: no protection keys on this port");
}

int k23_port_pkey_protect(void *addr, size_t size, k23_perm_t perm,
                          unsigned key)
{
    (void)addr;
    (void)size;
    (void)perm;
    (void)key;
    return K23_ERR_UNSUPPORTED;
}
