/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file k23mem.h
 * Umbrella header: includes every public libk23mem module.
 *
 * Kernel memory primitives in freestanding C11: physical frame arenas with
 * buddy allocation and per-CPU caches, contiguous-run search on bitstrings,
 * permission flags, the wasm linear-memory slab layout and pool, and
 * instance allocators as C vtables. See the README for the module map.
 */
#ifndef K23MEM_K23MEM_H
#define K23MEM_K23MEM_H

#include "k23mem/version.h"
#include "k23mem/types.h"
#include "k23mem/error.h"
#include "k23mem/port.h"
#include "k23mem/range.h"
#include "k23mem/perm.h"
#include "k23mem/bitmap.h"
/* ---- modules added by later work: keep one include per line ---- */
#include "k23mem/frames.h"
#include "k23mem/slab_layout.h"
#include "k23mem/mempool.h"
#include "k23mem/megablock.h"
#include "k23mem/fdt_memmap.h"
#include "k23mem/instance.h"
#include "k23mem/instance_pool.h"
#include "k23mem/kmem.h"
#include "k23mem/pagetable.h"
#include "k23mem/aspace.h"

#endif /* K23MEM_K23MEM_H */
