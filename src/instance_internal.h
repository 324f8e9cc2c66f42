/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Helpers shared by src/instance.c and src/instance_pool.c. Not installed.
 */
#ifndef K23MEM_INSTANCE_INTERNAL_H
#define K23MEM_INSTANCE_INTERNAL_H

#include "internal.h"
#include "k23mem/instance.h"

/* The host page size (cached k23_port_caps().page_size). */
size_t k23_instance_host_page_(void);

/* Shape of the instance block for a context of @p ctx_size bytes aligned
 * to 1 << ctx_align_log2 followed by nmem memories and ntab tables. */
int k23_instance_block_size_(size_t ctx_size, uint8_t ctx_align_log2,
                             uint32_t nmem, uint32_t ntab,
                             k23_instance_shape_t *out);

/* Make [base + from, base + to) of a reservation READ|WRITE (no-op when
 * to <= from). New pages read as zero (port contract). */
int k23_instance_commit_(uint8_t *base, size_t from, size_t to);

/* Panic for a free of @p block with shape @p given when it was allocated
 * with @p size bytes aligned to 1 << @p align_log2 (UINT_MAX: alignment
 * not recorded) (misuse of state: the
 * wrong shape would release or zero the wrong bytes). */
K23_NORETURN void k23_instance_shape_panic_(const void *block,
                                            const k23_instance_shape_t *given,
                                            uint64_t size,
                                            unsigned align_log2);

#endif /* K23MEM_INSTANCE_INTERNAL_H */
