/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The wasm32 port's process-wide megablock allocator: the portable
 * k23_mblock_t (src/megablock.c) fed by memory.grow on memory 0.
 *
 * The window is the whole 32-bit address space, [0, 4 GiB): 4096
 * megablocks of 1 MiB, or 65536 of 64 KiB, so the metadata is at most
 * 3 * 8 KiB of static storage and nothing is ever allocated for it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "k23mem_wasm32.h"
#include "k23_port_config.h"
#include "k23mem/megablock.h"

#ifndef K23_WASM32_MBLOCK_SHIFT
#define K23_WASM32_MBLOCK_SHIFT 20
#endif

#define WASM32_SPACE_LOG2 32u
#define WASM32_MAX_MBLOCKS ((size_t)1 << (WASM32_SPACE_LOG2 - K23_MBLOCK_MIN_SHIFT))

static k23_mblock_t wasm32_mb;
static unsigned char wasm32_meta[K23_MBLOCK_META_BYTES(WASM32_MAX_MBLOCKS)];
static unsigned wasm32_shift; /* 0 until initialized */

size_t k23_wasm32_memory_bytes(void)
{
    size_t pages = __builtin_wasm_memory_size(0);
    /* 65536 pages are 4 GiB, one more than a 32-bit size_t holds. */
    if (pages >= ((size_t)1 << (WASM32_SPACE_LOG2 - 16)))
        return SIZE_MAX - (K23_WASM32_PAGE_SIZE - 1);
    return pages * K23_WASM32_PAGE_SIZE;
}

static uintptr_t wasm32_end(void *ctx)
{
    (void)ctx;
    return (uintptr_t)k23_wasm32_memory_bytes();
}

static int wasm32_grow(void *ctx, size_t bytes, uintptr_t *old_end)
{
    (void)ctx;
    /* The allocator asks for multiples of 64 KiB (the end of memory and
     * megablock boundaries are page multiples); round up regardless. */
    size_t pages = bytes / K23_WASM32_PAGE_SIZE +
                   (bytes % K23_WASM32_PAGE_SIZE != 0);
    size_t old = __builtin_wasm_memory_grow(0, pages);
    if (old == SIZE_MAX)
        return K23_ERR_NOMEM; /* the -1 of a failed grow never escapes */
    *old_end = (uintptr_t)old * K23_WASM32_PAGE_SIZE;
    return K23_OK;
}

int k23_wasm32_init(unsigned shift)
{
    if (shift < K23_MBLOCK_MIN_SHIFT || shift >= WASM32_SPACE_LOG2)
        return K23_ERR_INVAL;
    if (wasm32_shift != 0)
        return wasm32_shift == shift ? K23_OK : K23_ERR_BUSY;

    /* Let dlmalloc claim [__heap_base, end of memory) now, before we grow
     * memory for the first time (see k23mem_wasm32.h). volatile keeps the
     * compiler from folding the malloc/free pair away. */
    void *volatile probe = malloc(1);
    free(probe);

    static const k23_mblock_source_t src = {
        .grow = wasm32_grow, .end = wasm32_end, .ctx = NULL};
    size_t n = (size_t)1 << (WASM32_SPACE_LOG2 - shift);
    int rc = k23_mblock_init(&wasm32_mb, shift, 0, n, &src, wasm32_meta,
                             sizeof(wasm32_meta));
    if (rc == K23_OK)
        wasm32_shift = shift;
    return rc;
}

k23_mblock_t *k23_wasm32_mblocks(void)
{
    if (wasm32_shift == 0) {
        int rc = k23_wasm32_init(K23_WASM32_MBLOCK_SHIFT);
        if (rc != K23_OK)
            k23_port_panic(__FILE__, __LINE__,
                           "k23_wasm32_mblocks: bad K23_WASM32_MBLOCK_SHIFT");
    }
    return &wasm32_mb;
}
