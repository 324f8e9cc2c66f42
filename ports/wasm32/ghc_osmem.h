/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file ghc_osmem.h
 * GHC's OS-memory interface (rts/sm/OSMem.h) for wasm32, backed by the
 * port's reusing megablock allocator. A runtime built on GHC's RTS
 * replaces rts/wasm/OSMem.c with this (link libk23mem.a, include this
 * header or keep GHC's own OSMem.h: the prototypes match on wasm32, where
 * StgWord is 32 bits and StgWord64 is 64).
 *
 * The megablock size must be the runtime's MBLOCK_SHIFT: call
 * k23_wasm32_init(MBLOCK_SHIFT) before osMemInit(), or configure the
 * library with -DK23_WASM32_MBLOCK_SHIFT=<MBLOCK_SHIFT>.
 *
 * Differences from GHC's rts/wasm/OSMem.c: freed megablocks are reused.
 * Like GHC's own versions, osGetMBlocks() never returns NULL for n > 0
 * (GHC's callers do not check): when memory.grow fails it writes one line,
 * "out of memory: N megablocks requested", through the port's log and
 * exits with #K23_GHC_EXIT_HEAPOVERFLOW, as GHC's POSIX OSMem.c does with
 * stg_exit(EXIT_HEAPOVERFLOW). Code that wants the error instead calls
 * k23_mblock_alloc() on k23_wasm32_mblocks(), which returns K23_ERR_NOMEM.
 */
#ifndef K23MEM_GHC_OSMEM_H
#define K23MEM_GHC_OSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Exit status when megablocks run out: GHC's EXIT_HEAPOVERFLOW. */
#define K23_GHC_EXIT_HEAPOVERFLOW 251

/**
 * Initialize the OS-memory layer (the port's megablock allocator, with
 * the shift already chosen or the build default). Called once by the RTS
 * at startup; later calls do nothing.
 */
void osMemInit(void);

/**
 * Get @p n contiguous megablocks aligned to the megablock size: free ones
 * first, then from memory.grow. Not zeroed when reused. When memory cannot
 * grow, prints "out of memory: N megablocks requested" through the port
 * and exits with #K23_GHC_EXIT_HEAPOVERFLOW: it does not return.
 * @param n  megablocks, > 0
 * @return the first megablock; NULL only for n == 0
 */
void *osGetMBlocks(uint32_t n);

/**
 * Return @p n megablocks at @p addr; they are reused by later calls.
 * Freeing megablocks that are not allocated panics (names the address).
 * @param addr  a megablock obtained from osGetMBlocks()
 * @param n     megablocks, > 0; any sub-range of earlier allocations
 */
void osFreeMBlocks(void *addr, uint32_t n);

/**
 * Give free memory back to the OS. A wasm linear memory cannot shrink, so
 * this does nothing: free megablocks stay in the pool for reuse (GHC's
 * POSIX version is also a no-op).
 */
void osReleaseFreeMemory(void);

/**
 * Free every megablock handed out (RTS shutdown, hs_exit). The memory
 * stays in the pool, so a runtime started again in the same module reuses
 * it instead of growing.
 */
void osFreeAllMBlocks(void);

/**
 * The OS page size: one WebAssembly page.
 * @return 65536
 */
size_t getPageSize(void);

/**
 * Physical memory available, for the RTS's heap-size defaults: the whole
 * wasm32 address space, as GHC's wasm OSMem.c answers.
 * @return 4 GiB
 */
uint64_t getPhysicalMemorySize(void);

/**
 * Bind memory to a NUMA node: no NUMA on wasm32, does nothing.
 * @param addr  start of the memory
 * @param size  bytes
 * @param node  node number
 */
void osBindMBlocksToNode(void *addr, uintptr_t size, uint32_t node);

/**
 * Number of NUMA nodes.
 * @return 1
 */
uint32_t osNumaNodes(void);

/**
 * Mask of usable NUMA nodes.
 * @return 1 (node 0)
 */
uint64_t osNumaMask(void);

/**
 * Whether the RTS was built with NUMA support.
 * @return false
 */
bool osBuiltWithNumaSupport(void);

/**
 * Whether NUMA is available at run time.
 * @return false
 */
bool osNumaAvailable(void);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_GHC_OSMEM_H */
