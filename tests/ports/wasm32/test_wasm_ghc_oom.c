/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * GHC's callers never check osGetMBlocks() for NULL, so when memory.grow
 * fails it must stop the program as GHC's own OSMem.c does: one line
 * "out of memory: N megablocks requested" and exit status 251
 * (EXIT_HEAPOVERFLOW). Linked with -Wl,--max-memory=16 MiB. ctest checks
 * the line and the status (tests/ports/wasm32/expect_exit.cmake); this
 * program exits 0 or 3 only if osGetMBlocks() came back without memory.
 */
#include <stdio.h>
#include <string.h>

#include "ghc_osmem.h"

#define TRIES 1000 /* 16 MiB holds at most 256 megablocks of 64 KiB */

int main(void)
{
    osMemInit();
    for (unsigned i = 0; i < TRIES; i++) {
        /* 3 at a time: the message must carry the request, not 1 */
        char *p = osGetMBlocks(3);
        if (p == NULL) {
            printf("osGetMBlocks returned NULL after %u calls\n", i);
            return 3;
        }
        memset(p, 0x5a, 3 * 65536); /* at least the first 64 KiB pages */
    }
    printf("osGetMBlocks never ran out in %u calls\n", TRIES);
    return 0;
}
