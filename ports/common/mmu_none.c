/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The optional MMU group of port.h, unsupported: there is no
 * translation-table base register to load (k23_pt_activate() reports
 * K23_ERR_UNSUPPORTED) and nothing translates addresses, so there is no
 * TLB entry to invalidate. Page tables can still be built and walked (a
 * tool, a test, a kernel that loads them itself).
 *
 * Freestanding: only port.h. A port names it in K23_PORT_COMMON
 * (`mmu_none`) in its port.cmake, or compiles it with its own sources.
 */
#include "k23mem/port.h"

int k23_port_mmu_activate(unsigned reg, uint64_t value)
{
    (void)reg;
    (void)value;
    return K23_ERR_UNSUPPORTED;
}

void k23_port_tlb_flush(unsigned arch, uint32_t asid, const uint64_t *va,
                        size_t n, uint32_t flags)
{
    (void)arch;
    (void)asid;
    (void)va;
    (void)n;
    (void)flags;
}
