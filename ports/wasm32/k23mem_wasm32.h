/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file k23mem_wasm32.h
 * The wasm32 port's process-wide megablock allocator: k23_mblock_t over
 * the module's linear memory (memory 0), grown with `memory.grow`.
 *
 * Installed with the wasm32 build. A language runtime either uses the GHC
 * interface (ghc_osmem.h) or calls k23_mblock_alloc()/k23_mblock_free() on
 * k23_wasm32_mblocks() directly. The port's virtual-memory hooks
 * (k23_port_vm_reserve() and friends) take their memory from the same
 * allocator, so memory released there is reused by the runtime and back.
 *
 * Coexisting with malloc: wasi-libc's dlmalloc takes [__heap_base, end of
 * memory) as its heap on its first call. Memory grown for megablocks
 * before that call would be handed out twice. k23_wasm32_init() therefore
 * calls malloc once before the first memory.grow; after that, dlmalloc
 * only grows memory through sbrk, and each grow gets memory no one else
 * has.
 */
#ifndef K23MEM_WASM32_H
#define K23MEM_WASM32_H

#include "k23mem/error.h"
#include "k23mem/megablock.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Initialize the process-wide allocator with megablocks of 2^@p shift
 * bytes, and make malloc take its initial heap first. Optional: the first
 * use of k23_wasm32_mblocks() initializes with the build's default
 * (K23_WASM32_MBLOCK_SHIFT, 20 = 1 MiB, unless configured otherwise).
 * Calling it again with the same shift does nothing.
 *
 * @param[in] shift  log2 of the megablock size, 16 (64 KiB) .. 31
 * @retval K23_OK         ready
 * @retval K23_ERR_INVAL  shift out of range
 * @retval K23_ERR_BUSY   already initialized with another shift
 * @context Before or after main; not re-entrant (one thread on wasm32).
 */
int k23_wasm32_init(unsigned shift);

/**
 * The process-wide allocator, initialized on first use.
 * @return never NULL
 * @context Any (one thread on wasm32).
 */
k23_mblock_t *k23_wasm32_mblocks(void);

/**
 * Current size of the linear memory, in bytes (memory.size * 64 KiB;
 * 4 GiB - 64 KiB when the memory has reached 4 GiB, which does not fit a
 * 32-bit size_t).
 * @return the size
 * @context Any.
 */
size_t k23_wasm32_memory_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_WASM32_H */
