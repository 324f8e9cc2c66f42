/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The optional CPU-local fast-path group of port.h, unsupported: for a
 * port without a lock-free CPU-local step (the kernel and wasm32 ports,
 * and the hosted port where rseq is not available). k23_port_pcpu_fast()
 * says no, so the library guards every per-CPU cache with its lock and
 * never calls pop, push, add, flip, fence or unfence; they answer "nothing
 * done" all the same, and fence/unfence keep the flag as the contract
 * says.
 *
 * Freestanding: only port.h and compiler builtins. A port names it in
 * K23_PORT_COMMON (`pcpu_locked`) in its port.cmake, or compiles it with
 * its own sources (the hosted port includes it in its no-rseq build).
 */
#include "k23mem/port.h"

bool k23_port_pcpu_fast(void)
{
    return false;
}

uint64_t k23_port_pcpu_pop(void *base, size_t stride, unsigned ncpus,
                           size_t slots_off)
{
    (void)base;
    (void)stride;
    (void)ncpus;
    (void)slots_off;
    return K23_PORT_PCPU_NONE;
}

bool k23_port_pcpu_push(void *base, size_t stride, unsigned ncpus,
                        size_t slots_off, uint32_t cap, uint64_t value)
{
    (void)base;
    (void)stride;
    (void)ncpus;
    (void)slots_off;
    (void)cap;
    (void)value;
    return false;
}

bool k23_port_pcpu_add(void *base, size_t stride, unsigned ncpus,
                       int32_t delta)
{
    (void)base;
    (void)stride;
    (void)ncpus;
    (void)delta;
    return false;
}

int k23_port_pcpu_flip(const k23_port_pcpu_hdr_t *hdr, unsigned cpu,
                       uint64_t *word, uint64_t mask, uint64_t expect)
{
    (void)hdr;
    (void)cpu;
    (void)word;
    (void)mask;
    (void)expect;
    return K23_PORT_FLIP_ELSEWHERE;
}

void k23_port_pcpu_fence(k23_port_pcpu_hdr_t *hdr, unsigned cpu)
{
    (void)cpu;
    __atomic_store_n(&hdr->fenced, 1, __ATOMIC_SEQ_CST);
}

void k23_port_pcpu_unfence(k23_port_pcpu_hdr_t *hdr)
{
    __atomic_store_n(&hdr->fenced, 0, __ATOMIC_RELEASE);
}
