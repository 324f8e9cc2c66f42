/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * GHC's OS-memory interface (ghc_osmem.h) with the meanings GHC's RTS
 * gives it: aligned contiguous megablocks, partial frees, reuse of what
 * was freed, osFreeAllMBlocks at shutdown, page size, NUMA answers.
 */
#include <string.h>

#include "ghc_osmem.h"
#include "k23mem/megablock.h"
#include "k23mem_wasm32.h"
#include "wasm_test.h"

static size_t msize;

static uint64_t grows(void)
{
    k23_mblock_stats_t st;
    k23_mblock_stats(k23_wasm32_mblocks(), &st);
    return st.grow_calls;
}

static void test_constants_match_a_wasm32_host(void)
{
    CHECK_EQ(getPageSize(), 65536);
    CHECK_EQ(getPhysicalMemorySize(), UINT64_C(1) << 32);
    CHECK_EQ(osNumaNodes(), 1);
    CHECK_EQ(osNumaMask(), 1);
    CHECK(!osBuiltWithNumaSupport());
    CHECK(!osNumaAvailable());
}

static void test_get_mblocks_is_aligned_contiguous_and_writable(void)
{
    char *p = osGetMBlocks(3);
    REQUIRE(p != NULL);
    CHECK_EQ((uintptr_t)p & (msize - 1), 0);
    memset(p, 0xcc, 3 * msize); /* the whole group is ours */
    osBindMBlocksToNode(p, 3 * msize, 0);
    CHECK(p[3 * msize - 1] == (char)0xcc);
    CHECK(osGetMBlocks(0) == NULL);
    osFreeMBlocks(p, 3);
}

static void test_partial_free_and_reuse(void)
{
    /* GHC frees parts of a group (returnMemoryToOS walks free mblocks) */
    char *p = osGetMBlocks(4);
    REQUIRE(p != NULL);
    osFreeMBlocks(p + msize, 2); /* middle two */
    uint64_t g = grows();
    char *q = osGetMBlocks(2);
    CHECK(q == p + msize); /* the hole, no growth */
    CHECK_EQ(grows(), g);
    osFreeMBlocks(q, 2);
    osFreeMBlocks(p, 1);
    osFreeMBlocks(p + 3 * msize, 1);
    /* whole 4 are free again: a 4-group reuses them */
    char *r = osGetMBlocks(4);
    CHECK(r == p);
    CHECK_EQ(grows(), g);
    osFreeMBlocks(r, 4);
}

static void test_release_free_memory_keeps_megablocks_for_reuse(void)
{
    char *p = osGetMBlocks(2);
    REQUIRE(p != NULL);
    osFreeMBlocks(p, 2);
    size_t mem = k23_wasm32_memory_bytes();
    osReleaseFreeMemory(); /* cannot shrink linear memory: no-op */
    CHECK_EQ(k23_wasm32_memory_bytes(), mem);
    char *q = osGetMBlocks(2);
    CHECK(q == p);
    osFreeMBlocks(q, 2);
}

static void test_free_all_then_restart_reuses_everything(void)
{
    for (int i = 0; i < 10; i++)
        REQUIRE(osGetMBlocks(1 + i % 3) != NULL);
    k23_mblock_stats_t st;
    k23_mblock_stats(k23_wasm32_mblocks(), &st);
    CHECK(st.allocated >= 19);
    size_t owned = st.owned;
    osFreeAllMBlocks(); /* hs_exit */
    k23_mblock_stats(k23_wasm32_mblocks(), &st);
    CHECK_EQ(st.allocated, 0);
    CHECK_EQ(st.free, owned);
    /* hs_init again: the same amount fits without growing */
    osMemInit();
    uint64_t g = grows();
    for (size_t i = 0; i < owned; i++)
        CHECK(osGetMBlocks(1) != NULL);
    CHECK_EQ(grows(), g);
    osFreeAllMBlocks();
    CHECK(k23_mblock_check(k23_wasm32_mblocks()) == K23_OK);
}

int main(void)
{
    osMemInit();
    msize = (size_t)1 << k23_wasm32_mblocks()->shift;
    RUN(test_constants_match_a_wasm32_host);
    RUN(test_get_mblocks_is_aligned_contiguous_and_writable);
    RUN(test_partial_free_and_reuse);
    RUN(test_release_free_memory_keeps_megablocks_for_reuse);
    RUN(test_free_all_then_restart_reuses_everything);
    return wt_finish();
}
