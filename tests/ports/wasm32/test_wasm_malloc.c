/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Megablocks and malloc never overlap. main(void), so that nothing
 * mallocs before the port's first memory.grow (wasi-libc mallocs the argv
 * buffers for main(argc, argv)): the first thing this program does is
 * take megablocks. Then malloc'd blocks of every size class, including
 * ones that make dlmalloc grow memory itself, are interleaved with
 * megablock allocations and frees; every pair of live ranges must be
 * disjoint and every byte pattern must survive.
 * test_wasm_malloc_control.c shows the same check catches the overlap
 * when memory is grown before malloc's first call.
 */
#include <stdlib.h>
#include <string.h>

#include "k23mem/megablock.h"
#include "k23mem_wasm32.h"
#include "wasm_test.h"

#define MAXR 256

struct range {
    uintptr_t lo, hi; /* [lo, hi) */
    unsigned char fill;
    bool mblock;
    size_t n;
};

static struct range r[MAXR];
static size_t nr;

static bool disjoint_from_all(uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < nr; i++)
        if (lo < r[i].hi && r[i].lo < hi)
            return false;
    return true;
}

static bool intact(const struct range *x)
{
    /* first, middle and last byte are enough to see an overwrite by a
     * neighbour sharing the memory */
    const unsigned char *p = (const unsigned char *)x->lo;
    size_t len = x->hi - x->lo;
    return p[0] == x->fill && p[len / 2] == x->fill && p[len - 1] == x->fill;
}

static void add(uintptr_t lo, size_t len, bool mblock, size_t n)
{
    CHECK(disjoint_from_all(lo, lo + len));
    unsigned char fill = (unsigned char)(1 + nr * 7);
    memset((void *)lo, fill, len);
    r[nr++] = (struct range){lo, lo + len, fill, mblock, n};
}

static void test_megablocks_and_malloc_never_overlap(void)
{
    k23_mblock_t *mb = k23_wasm32_mblocks();
    size_t msize = (size_t)1 << mb->shift;
    /* the very first memory event of the program: megablocks */
    void *first;
    REQUIRE(k23_mblock_alloc(mb, 2, 0, 0, &first) == K23_OK);
    add((uintptr_t)first, 2 * msize, true, 2);

    static const size_t sizes[] = {16, 100, 4000, 70000, 300000, 1 << 20,
                                   3 << 20, 24, 65536, 2 << 20};
    for (int round = 0; round < 200 && nr < MAXR - 2; round++) {
        size_t k = wt_below(4);
        if (k < 2) { /* malloc */
            size_t len = sizes[wt_below(sizeof(sizes) / sizeof(sizes[0]))];
            void *p = malloc(len);
            REQUIRE(p != NULL);
            add((uintptr_t)p, len, false, 0);
        } else if (k == 2) { /* megablocks */
            size_t n = 1 + wt_below(4);
            void *p;
            REQUIRE(k23_mblock_alloc(mb, n, 0, 0, &p) == K23_OK);
            add((uintptr_t)p, n * msize, true, n);
        } else if (nr > 1) { /* free something (never the first) */
            size_t i = 1 + wt_below(nr - 1);
            CHECK(intact(&r[i]));
            if (r[i].mblock)
                CHECK(k23_mblock_free(mb, (void *)r[i].lo, r[i].n) == K23_OK);
            else
                free((void *)r[i].lo);
            r[i] = r[--nr];
        }
    }
    size_t nm = 0, nmal = 0;
    for (size_t i = 0; i < nr; i++) {
        CHECK(intact(&r[i]));
        if (r[i].mblock)
            nm++;
        else
            nmal++;
    }
    CHECK(nm > 0 && nmal > 0);
    printf("live at end: %zu megablock runs, %zu malloc blocks, memory %zu "
           "MiB\n", nm, nmal, k23_wasm32_memory_bytes() >> 20);
    CHECK(k23_mblock_check(mb) == K23_OK);
}

int main(void)
{
    RUN(test_megablocks_and_malloc_never_overlap);
    return wt_finish();
}
