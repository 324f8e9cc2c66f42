/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The example kernels' own reading of the device tree's memory map, done
 * with libfdt directly. It is the reference the self-test checks the
 * library against: RAM from every /memory node, reservations from the
 * /memreserve/ block and /reserved-memory, plus what the kernel excludes
 * itself (its image, the DTB, boot-time allocations).
 */
#ifndef K23K_MEMMAP_H
#define K23K_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

#define K23K_MAX_RANGES 64
#define K23K_PAGE 4096u

typedef struct k23k_range {
    uint64_t base;    /* first byte */
    uint64_t size;    /* bytes, > 0; base + size does not wrap */
    const char *what; /* where it came from, for the log */
} k23k_range_t;

typedef struct k23k_memmap {
    k23k_range_t ram[K23K_MAX_RANGES];      /* /memory reg entries, sorted */
    unsigned n_ram;
    k23k_range_t excl[K23K_MAX_RANGES];     /* reservations, sorted */
    unsigned n_excl;
    k23k_range_t free[2 * K23K_MAX_RANGES]; /* ram minus excl, page-aligned */
    unsigned n_free;
    unsigned n_numa_nodes;                  /* distinct numa-node-id values */
} k23k_memmap_t;

/* Read RAM and the tree's own reservations. Returns 0 or a negative libfdt
 * error (or -1 for "too many ranges" / "cells > 2"). */
int k23k_memmap_read(const void *fdt, k23k_memmap_t *m);

/* Add an exclusion; returns false when the table is full. */
bool k23k_memmap_exclude(k23k_memmap_t *m, uint64_t base, uint64_t size,
                         const char *what);

/* Compute m->free from m->ram and m->excl. */
void k23k_memmap_finish(k23k_memmap_t *m);

/* Whether [base, base + size) lies inside one RAM range. */
bool k23k_memmap_in_ram(const k23k_memmap_t *m, uint64_t base, uint64_t size);

/* The first exclusion [base, base + size) overlaps, or NULL. */
const k23k_range_t *k23k_memmap_excluded(const k23k_memmap_t *m,
                                         uint64_t base, uint64_t size);

/* Print the map. */
void k23k_memmap_print(const k23k_memmap_t *m);

#endif /* K23K_MEMMAP_H */
