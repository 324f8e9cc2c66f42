/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The three port hooks the host-independent modules call (panic, log,
 * caps), for the test programs tests/cross/build.sh builds for other CPUs
 * (i386, s390x) and natively. The hosted port is not used there: the
 * programs link only src/{bitmap,range,perm,slab_layout,fdt_memmap,error,
 * libc}.c, which need nothing else of a host.
 */
#include <stdio.h>
#include <stdlib.h>

#include "k23mem/port.h"

void k23_port_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "k23mem panic at %s:%d: %s\n", file, line, msg);
    abort();
}

void k23_port_log(int level, const char *msg)
{
    fprintf(stderr, "k23mem log %d: %s\n", level, msg);
}

/* A fixed page size, so that k23_slab_target_host() answers the same on
 * every CPU and the programs' outputs can be compared across them. */
void k23_port_caps(k23_port_caps_t *caps)
{
    *caps = (k23_port_caps_t){
        .page_size = 4096,
        .alloc_granularity = 4096,
        .can_decommit = false,
        .can_release = false,
        .has_vm = false,
        .pkeys_available = 0,
    };
}
