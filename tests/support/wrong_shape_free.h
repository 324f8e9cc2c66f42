/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Free an instance block with another shape than it was allocated with,
 * in a child process, and check the panic names the block and both sizes
 * (shared by the on-demand and pooling allocator tests). Criterion tests
 * only: uses cr_assert.
 */
#ifndef K23_TEST_WRONG_SHAPE_FREE_H
#define K23_TEST_WRONG_SHAPE_FREE_H

#include <stdio.h>
#include <string.h>

#include "k23mem/instance.h"
#include "panic_capture.h"

struct wrong_free {
    const k23_instance_allocator_t *a;
    void *block;
    k23_instance_shape_t shape; /* the wrong one */
};

static inline void wrong_free_run(void *arg)
{
    struct wrong_free *w = arg;
    k23_instance_deallocate_instance(w->a, w->block, &w->shape);
}

static inline void expect_shape_panic(struct wrong_free *w, size_t allocated)
{
    char msg[512], want[160];
    cr_assert(panic_capture(wrong_free_run, w, msg, sizeof(msg)),
              "free with size %zu did not panic; stderr: %s", w->shape.size,
              msg);
    snprintf(want, sizeof(want), "block %#lx with shape size %zu align_log2 %u",
             (unsigned long)(uintptr_t)w->block, w->shape.size,
             (unsigned)w->shape.align_log2);
    cr_assert(strstr(msg, want) != NULL, "no \"%s\" in: %s", want, msg);
    snprintf(want, sizeof(want), "but it was allocated with size %zu",
             allocated);
    cr_assert(strstr(msg, want) != NULL, "no \"%s\" in: %s", want, msg);
}

#endif /* K23_TEST_WRONG_SHAPE_FREE_H */
