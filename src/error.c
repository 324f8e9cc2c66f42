/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23_strerror(): a table indexed by the negated code, built the way
 * libfdt's fdt_strerror.c builds its table ([(val)] = { .str = #val }).
 */
#include "internal.h"

struct k23_errtab {
    const char *name;
    const char *msg;
};

#define K23_ERRTAB_ENTRY(val, text) [-(val)] = { #val, text }

static const struct k23_errtab k23_errtab[] = {
    K23_ERRTAB_ENTRY(K23_OK, "success"),
    /* ---- general ---- */
    K23_ERRTAB_ENTRY(K23_ERR_NOMEM, "no frames, memory or space left"),
    K23_ERRTAB_ENTRY(K23_ERR_INVAL, "invalid argument"),
    K23_ERRTAB_ENTRY(K23_ERR_NOT_FOUND, "not found"),
    K23_ERRTAB_ENTRY(K23_ERR_BUSY, "range is in use"),
    K23_ERRTAB_ENTRY(K23_ERR_WX, "write and execute requested together"),
    K23_ERRTAB_ENTRY(K23_ERR_UNSUPPORTED, "not supported by this port or target"),
    K23_ERRTAB_ENTRY(K23_ERR_CORRUPT, "internal consistency check failed"),
    K23_ERRTAB_ENTRY(K23_ERR_OVERFLOW, "arithmetic overflow"),
    K23_ERRTAB_ENTRY(K23_ERR_NOSPACE, "output array too small"),
    K23_ERRTAB_ENTRY(K23_ERR_OVERLAP, "ranges overlap"),
    K23_ERRTAB_ENTRY(K23_ERR_ALIGN, "address or size misaligned"),
    K23_ERRTAB_ENTRY(K23_ERR_PARSE, "text could not be parsed"),
    K23_ERRTAB_ENTRY(K23_ERR_FULL, "pool full, retry later"),
    K23_ERRTAB_ENTRY(K23_ERR_LIMIT, "request exceeds a configured limit"),
    K23_ERRTAB_ENTRY(K23_ERR_TOO_SMALL, "region too small for its bookkeeping"),
    K23_ERRTAB_ENTRY(K23_ERR_OS, "the host operating system refused"),
    /* ---- slab layout and memory pool (-20..-29) ---- */
    K23_ERRTAB_ENTRY(K23_ERR_SLAB_MAX_OVER_RESERVATION,
                     "maximum memory size exceeds the memory reservation"),
    K23_ERRTAB_ENTRY(K23_ERR_SLAB_LIMIT_RANGE,
                     "a configured size or count does not fit the target"),
    K23_ERRTAB_ENTRY(K23_ERR_SLAB_FAULTING_REGION,
                     "faulting region is too large"),
    K23_ERRTAB_ENTRY(K23_ERR_SLAB_SLOT_SIZE, "slot size is too large"),
    K23_ERRTAB_ENTRY(K23_ERR_SLAB_TOTAL_SIZE,
                     "total size of memory reservation exceeds addressable memory"),
    K23_ERRTAB_ENTRY(K23_ERR_POOL_TOO_MANY_MEMORIES,
                     "defined memories exceed the per-instance limit"),
    K23_ERRTAB_ENTRY(K23_ERR_POOL_MIN_SIZE,
                     "memory minimum size exceeds the pool's slot limit"),
    K23_ERRTAB_ENTRY(K23_ERR_POOL_SHARED,
                     "shared memories are not supported in the pool"),
    K23_ERRTAB_ENTRY(K23_ERR_POOL_NO_MPK,
                     "protection keys required but unsupported on this host"),
    /* ---- instance allocator (-30..-39) ---- */
    K23_ERRTAB_ENTRY(K23_ERR_GROW, "grow past the maximum or the reservation"),
    /* ---- device tree (-40..-49) ---- */
    K23_ERRTAB_ENTRY(K23_ERR_FDT_MAGIC, "not a device tree blob (bad magic)"),
    K23_ERRTAB_ENTRY(K23_ERR_FDT_VERSION, "device tree blob version not supported"),
    K23_ERRTAB_ENTRY(K23_ERR_FDT_TRUNCATED, "device tree blob is truncated"),
    K23_ERRTAB_ENTRY(K23_ERR_FDT_CORRUPT, "device tree blob is corrupt"),
    K23_ERRTAB_ENTRY(K23_ERR_FDT_CELLS, "#address-cells or #size-cells out of range"),
    K23_ERRTAB_ENTRY(K23_ERR_FDT_REG, "property length is not a whole number of entries"),
    K23_ERRTAB_ENTRY(K23_ERR_FDT_RANGE, "device tree range overflows 64 bits, is reversed or half given"),
    /* ---- frame allocator (-50..-59) ---- */
    /* ---- wasm32 port (-60..-69) ---- */
};

static const struct k23_errtab *k23_errtab_lookup(int err)
{
    if (err > 0 || err <= -(int)K23_ARRAY_SIZE(k23_errtab))
        return NULL;
    const struct k23_errtab *e = &k23_errtab[-err];
    return e->msg != NULL ? e : NULL;
}

const char *k23_strerror(int err)
{
    const struct k23_errtab *e = k23_errtab_lookup(err);
    return e != NULL ? e->msg : "unknown libk23mem error";
}

const char *k23_strerror_name(int err)
{
    const struct k23_errtab *e = k23_errtab_lookup(err);
    return e != NULL ? e->name : "K23_ERR_UNKNOWN";
}
