/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Control for test_wasm_malloc.c: grow memory the way GHC's wasm OSMem.c
 * does (memory.grow, no malloc first), then malloc a block bigger than
 * the initial heap. With wasi-libc's dlmalloc the block lands inside the
 * grown range: the hazard k23_wasm32_init() prevents is real, and an
 * overlap check like test_wasm_malloc.c's sees it. Passes when the
 * overlap is observed.
 */
#include <stdlib.h>
#include <string.h>

#include "wasm_test.h"

static void test_growing_before_first_malloc_gives_memory_away_twice(void)
{
    size_t pages = 32; /* 2 MiB, "two megablocks" */
    size_t old = __builtin_wasm_memory_grow(0, pages);
    REQUIRE(old != (size_t)-1);
    uintptr_t lo = old * 65536, hi = lo + pages * 65536;
    void *p = malloc(1 << 20);
    REQUIRE(p != NULL);
    uintptr_t a = (uintptr_t)p, b = a + (1 << 20);
    printf("grown [%#lx, %#lx), malloc [%#lx, %#lx)\n", (unsigned long)lo,
           (unsigned long)hi, (unsigned long)a, (unsigned long)b);
    CHECK(a < hi && lo < b); /* overlap */
}

int main(void)
{
    RUN(test_growing_before_first_malloc_gives_memory_away_twice);
    return wt_finish();
}
