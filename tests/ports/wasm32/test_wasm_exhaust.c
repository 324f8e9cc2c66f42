/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Exhaustion at the memory limit and recovery. Linked with
 * -Wl,--max-memory=16 MiB, so memory.grow fails deterministically.
 * argv[1] is the megablock shift.
 */
#include <stdlib.h>
#include <string.h>

#include "ghc_osmem.h"
#include "k23mem/megablock.h"
#include "k23mem/port.h"
#include "k23mem_wasm32.h"
#include "wasm_test.h"

#define MAX_MEMORY (16u << 20)
#define MAXP 300

static unsigned shift;
static size_t msize;

static void test_growth_failure_is_an_error_and_recoverable(void)
{
    k23_mblock_t *mb = k23_wasm32_mblocks();
    void *p[MAXP];
    size_t n = 0;
    int rc;
    for (;;) {
        void *q = (void *)0x1234;
        rc = k23_mblock_alloc(mb, 1, 0, 0, &q);
        if (rc != K23_OK) {
            CHECK(q == (void *)0x1234); /* untouched, never (void *)-1 */
            break;
        }
        REQUIRE(n < MAXP);
        CHECK((uintptr_t)q + msize <= MAX_MEMORY);
        memset(q, 0x77, msize);
        p[n++] = q;
    }
    CHECK_EQ(rc, K23_ERR_NOMEM);
    printf("%zu megablocks of %zu KiB before memory.grow failed\n", n,
           msize >> 10);
    CHECK(n >= (MAX_MEMORY / msize) / 2);
    k23_mblock_stats_t st, st2;
    k23_mblock_stats(mb, &st);
    CHECK(st.grow_failures >= 1);
    CHECK_EQ(st.allocated, n);
    CHECK_EQ(st.free, 0);
    /* still failing, still no state change */
    void *q;
    CHECK_EQ(k23_mblock_alloc(mb, 2, 0, 0, &q), K23_ERR_NOMEM);
    CHECK_EQ(k23_port_vm_reserve(65536, 65536, &q), K23_ERR_NOMEM);
    k23_mblock_stats(mb, &st2);
    CHECK_EQ(st2.allocated, st.allocated);
    CHECK_EQ(st2.owned, st.owned);
    CHECK(k23_mblock_check(mb) == K23_OK);

    /* recovery: free two neighbours and one more, reuse without growing */
    REQUIRE(n >= 8);
    size_t mem = k23_wasm32_memory_bytes();
    CHECK(k23_mblock_free(mb, p[3], 1) == K23_OK);
    CHECK(k23_mblock_free(mb, p[4], 1) == K23_OK);
    CHECK(k23_mblock_free(mb, p[6], 1) == K23_OK);
    bool adjacent = (uintptr_t)p[4] == (uintptr_t)p[3] + msize;
    void *two, *one;
    if (adjacent) {
        CHECK_EQ(k23_mblock_alloc(mb, 2, 0, 0, &two), K23_OK);
        CHECK(two == p[3]);
        CHECK_EQ(k23_mblock_alloc(mb, 1, 0, 0, &one), K23_OK);
        CHECK(one == p[6]);
    }
    CHECK_EQ(k23_mblock_alloc(mb, 1, 0, 0, &q), K23_ERR_NOMEM);
    CHECK_EQ(k23_wasm32_memory_bytes(), mem);
    /* malloc still has its own heap (and gets NULL, not a crash, if not) */
    void *m = malloc(64);
    CHECK(m != NULL);
    free(m);
    /* everything back, then all of it is allocatable again */
    osFreeAllMBlocks();
    k23_mblock_stats(mb, &st);
    CHECK_EQ(st.allocated, 0);
    for (size_t i = 0; i < st.owned; i++)
        CHECK_EQ(k23_mblock_alloc(mb, 1, 0, 0, &q), K23_OK);
    CHECK_EQ(k23_mblock_alloc(mb, 1, 0, 0, &q), K23_ERR_NOMEM);
    CHECK(k23_mblock_check(mb) == K23_OK);
}

int main(int argc, char **argv)
{
    shift = argc > 1 ? (unsigned)atoi(argv[1]) : 20;
    msize = (size_t)1 << shift;
    if (k23_wasm32_init(shift) != K23_OK)
        return 2;
    RUN(test_growth_failure_is_an_error_and_recoverable);
    return wt_finish();
}
