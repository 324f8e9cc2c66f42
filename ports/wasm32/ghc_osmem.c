/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * GHC's OS-memory interface (ghc_osmem.h) on the wasm32 port's megablock
 * allocator. Meanings follow rts/sm/OSMem.h and rts/posix/OSMem.c; see the
 * header for where they differ from rts/wasm/OSMem.c and why.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ghc_osmem.h"
#include "k23mem/megablock.h"
#include "k23mem/port.h"
#include "k23mem_wasm32.h"
#include "k23_port_config.h"

void osMemInit(void)
{
    (void)k23_wasm32_mblocks(); /* initializes with the chosen shift */
}

/* GHC's callers (getMBlocks, allocGroup) never check osGetMBlocks() for
 * NULL: GHC's own versions report and stop the program instead, the POSIX
 * one with "out of memory" and stg_exit(EXIT_HEAPOVERFLOW). Do the same:
 * one line through the port's log, then exit with GHC's status. */
K23_NORETURN static void ghc_out_of_memory(uint32_t n)
{
    char msg[80];
    snprintf(msg, sizeof(msg), "out of memory: %" PRIu32
             " megablocks requested", n);
    k23_port_log(K23_LOG_ERROR, msg);
    fflush(stderr);
    exit(K23_GHC_EXIT_HEAPOVERFLOW);
}

void *osGetMBlocks(uint32_t n)
{
    void *p;
    if (n == 0)
        return NULL;
    int rc = k23_mblock_alloc(k23_wasm32_mblocks(), n, 0, 0, &p);
    if (rc == K23_ERR_NOMEM)
        ghc_out_of_memory(n);
    if (rc != K23_OK) /* n > 0, megablock alignment, no flags: a bug */
        k23_port_panic(__FILE__, __LINE__,
                       "osGetMBlocks: k23_mblock_alloc refused the request");
    return p;
}

void osFreeMBlocks(void *addr, uint32_t n)
{
    /* Misaligned or out-of-window arguments are RTS bugs, as a failing
     * munmap is for GHC's POSIX version: stop loudly. */
    if (k23_mblock_free(k23_wasm32_mblocks(), addr, n) != K23_OK)
        k23_port_panic(__FILE__, __LINE__,
                       "osFreeMBlocks: not a megablock range");
}

void osReleaseFreeMemory(void)
{
}

void osFreeAllMBlocks(void)
{
    k23_mblock_free_all(k23_wasm32_mblocks());
}

size_t getPageSize(void)
{
    return K23_WASM32_PAGE_SIZE;
}

uint64_t getPhysicalMemorySize(void)
{
    return UINT64_C(1) << 32;
}

void osBindMBlocksToNode(void *addr, uintptr_t size, uint32_t node)
{
    (void)addr;
    (void)size;
    (void)node;
}

uint32_t osNumaNodes(void)
{
    return 1;
}

uint64_t osNumaMask(void)
{
    return 1;
}

bool osBuiltWithNumaSupport(void)
{
    return false;
}

bool osNumaAvailable(void)
{
    return false;
}
