/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A fault-injecting instance allocator for tests: it wraps another
 * allocator and makes its k-th allocation (instance, memory and table
 * allocations counted together, from 1) fail with a chosen error without
 * reaching the wrapped one; every other call passes through. Test support,
 * not part of the installed API: the Criterion tests and the example
 * kernels' self-test include it. Header-only and freestanding (no libc).
 */
#ifndef K23_TEST_INSTANCE_FAULTY_H
#define K23_TEST_INSTANCE_FAULTY_H

#include <stdbool.h>
#include <stdint.h>

#include "k23mem/error.h"
#include "k23mem/instance.h"

/* The error tests inject by default: outside the library's codes
 * (0..K23_ERR_MIN_), so an injected failure is never mistaken for one the
 * library reported. */
#define K23_TEST_ERR_INJECTED (-1000)

/* State of a fault-injecting wrapper. */
typedef struct k23_instance_faulty {
    const k23_instance_allocator_t *inner; /* the allocator wrapped */
    uint64_t fail_at; /* 1-based number of the allocation to fail; 0: none */
    uint64_t count;   /* allocations attempted so far */
    int error;        /* what the failing allocation returns */
} k23_instance_faulty_t;

/* True when this allocation is the one to fail. */
static inline bool faulty_trip(k23_instance_faulty_t *f)
{
    f->count++;
    return f->count == f->fail_at;
}

static inline int faulty_allocate_instance(void *ctx,
                                           const k23_instance_shape_t *shape,
                                           void **out)
{
    k23_instance_faulty_t *f = ctx;
    if (faulty_trip(f))
        return f->error;
    return f->inner->ops->allocate_instance(f->inner->ctx, shape, out);
}

static inline void faulty_deallocate_instance(void *ctx, void *instance,
                                              const k23_instance_shape_t *shape)
{
    k23_instance_faulty_t *f = ctx;
    f->inner->ops->deallocate_instance(f->inner->ctx, instance, shape);
}

static inline int faulty_allocate_memory(void *ctx, const k23_memory_desc_t *d,
                                         uint32_t index, k23_memory_t *out)
{
    k23_instance_faulty_t *f = ctx;
    if (faulty_trip(f))
        return f->error;
    return f->inner->ops->allocate_memory(f->inner->ctx, d, index, out);
}

static inline void faulty_deallocate_memory(void *ctx, uint32_t index,
                                            k23_memory_t *mem)
{
    k23_instance_faulty_t *f = ctx;
    f->inner->ops->deallocate_memory(f->inner->ctx, index, mem);
}

static inline int faulty_allocate_table(void *ctx, const k23_table_desc_t *d,
                                        uint32_t index, k23_table_t *out)
{
    k23_instance_faulty_t *f = ctx;
    if (faulty_trip(f))
        return f->error;
    return f->inner->ops->allocate_table(f->inner->ctx, d, index, out);
}

static inline void faulty_deallocate_table(void *ctx, uint32_t index,
                                           k23_table_t *t)
{
    k23_instance_faulty_t *f = ctx;
    f->inner->ops->deallocate_table(f->inner->ctx, index, t);
}

static inline int faulty_validate_module(void *ctx, const k23_module_desc_t *m)
{
    /* Not an allocation: never fails on purpose, never counts. */
    k23_instance_faulty_t *f = ctx;
    if (f->inner->ops->validate_module == NULL)
        return K23_OK;
    return f->inner->ops->validate_module(f->inner->ctx, m);
}

static const k23_instance_allocator_ops_t faulty_ops = {
    .allocate_instance = faulty_allocate_instance,
    .deallocate_instance = faulty_deallocate_instance,
    .allocate_memory = faulty_allocate_memory,
    .deallocate_memory = faulty_deallocate_memory,
    .allocate_table = faulty_allocate_table,
    .deallocate_table = faulty_deallocate_table,
    .validate_module = faulty_validate_module,
};

/* Wrap inner so that its fail_at-th allocation fails with error (< 0).
 * K23_ERR_INVAL, out untouched, for a NULL pointer, an allocator missing a
 * required operation or an error that is not negative. Not thread-safe. */
static inline int k23_instance_faulty_init(k23_instance_faulty_t *f,
                                           const k23_instance_allocator_t *inner,
                                           uint64_t fail_at, int error,
                                           k23_instance_allocator_t *out)
{
    const k23_instance_allocator_ops_t *o;
    if (f == NULL || out == NULL || inner == NULL || (o = inner->ops) == NULL ||
        o->allocate_instance == NULL || o->deallocate_instance == NULL ||
        o->allocate_memory == NULL || o->deallocate_memory == NULL ||
        o->allocate_table == NULL || o->deallocate_table == NULL || error >= 0)
        return K23_ERR_INVAL;
    f->inner = inner;
    f->fail_at = fail_at;
    f->count = 0;
    f->error = error;
    out->ops = &faulty_ops;
    out->ctx = f;
    return K23_OK;
}

#endif
