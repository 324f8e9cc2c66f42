/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A double free panics naming the address (expected to die; ctest checks
 * the panic message). Exits 0 only if the double free went unnoticed, and
 * ctest then fails the test.
 */
#include <stdio.h>

#include "ghc_osmem.h"

int main(void)
{
    void *p = osGetMBlocks(2);
    if (p == NULL)
        return 3;
    osFreeMBlocks(p, 2);
    printf("freeing %p again\n", p);
    fflush(stdout);
    osFreeMBlocks(p, 1);
    printf("double free not detected\n");
    return 0;
}
