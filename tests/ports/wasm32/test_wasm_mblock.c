/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The wasm32 port's megablock allocator on a real linear memory:
 * alignment, reuse before growth, tail extension, and a randomized run
 * against a reference model. argv[1] is the megablock shift (16 or 20).
 */
#include <stdlib.h>
#include <string.h>

#include "k23mem/megablock.h"
#include "k23mem_wasm32.h"
#include "wasm_test.h"

static unsigned shift;
static size_t msize;
static k23_mblock_t *mb;

static uint64_t grows(void)
{
    k23_mblock_stats_t st;
    k23_mblock_stats(mb, &st);
    return st.grow_calls;
}

static void test_results_are_aligned_and_inside_memory(void)
{
    void *p[16];
    for (size_t i = 0; i < 16; i++) {
        size_t n = 1 + i % 8;
        REQUIRE(k23_mblock_alloc(mb, n, 0, 0, &p[i]) == K23_OK);
        uintptr_t a = (uintptr_t)p[i];
        CHECK_EQ(a & (msize - 1), 0);
        CHECK(a + n * msize <= k23_wasm32_memory_bytes());
        /* every byte is ours to write: first and last word of the run */
        memset(p[i], 0xa5, 64);
        memset((char *)p[i] + n * msize - 64, 0x5a, 64);
    }
    for (size_t i = 0; i < 16; i++)
        CHECK(k23_mblock_free(mb, p[i], 1 + i % 8) == K23_OK);
    /* larger alignments: 4 and 16 megablocks */
    for (unsigned extra = 2; extra <= 4; extra += 2) {
        void *q;
        REQUIRE(k23_mblock_alloc(mb, 3, shift + extra, 0, &q) == K23_OK);
        CHECK_EQ((uintptr_t)q & ((msize << extra) - 1), 0);
        CHECK(k23_mblock_free(mb, q, 3) == K23_OK);
    }
    CHECK(k23_mblock_check(mb) == K23_OK);
}

static void test_freed_megablocks_are_reused_without_growing(void)
{
    void *p[8];
    for (int i = 0; i < 8; i++)
        REQUIRE(k23_mblock_alloc(mb, 1, 0, 0, &p[i]) == K23_OK);
    for (int i = 0; i < 8; i++)
        CHECK(k23_mblock_free(mb, p[i], 1) == K23_OK);
    uint64_t g = grows();
    size_t mem = k23_wasm32_memory_bytes();
    void *q[8];
    for (int i = 0; i < 8; i++) {
        REQUIRE(k23_mblock_alloc(mb, 1, 0, 0, &q[i]) == K23_OK);
        CHECK(k23_mblock_is_allocated(mb, q[i]));
    }
    CHECK_EQ(grows(), g);
    CHECK_EQ(k23_wasm32_memory_bytes(), mem);
    for (int i = 0; i < 8; i++)
        CHECK(k23_mblock_free(mb, q[i], 1) == K23_OK);
}

static void test_best_fitting_hole_is_chosen(void)
{
    /* [a:2][b:3][c:1][d:5][e:1]: free b (3) and d (5); a 3-run must land
     * in b's hole, the smaller one that fits, and not grow. */
    static const size_t len[5] = {2, 3, 1, 5, 1};
    void *p[5];
    void *big;
    /* a fresh allocator: one free run of 12, the only hole */
    REQUIRE(k23_mblock_alloc(mb, 12, 0, 0, &big) == K23_OK);
    CHECK(k23_mblock_free(mb, big, 12) == K23_OK);
    for (int i = 0; i < 5; i++)
        REQUIRE(k23_mblock_alloc(mb, len[i], 0, 0, &p[i]) == K23_OK);
    CHECK(k23_mblock_free(mb, p[1], 3) == K23_OK);
    CHECK(k23_mblock_free(mb, p[3], 5) == K23_OK);
    uint64_t g = grows();
    void *q;
    REQUIRE(k23_mblock_alloc(mb, 3, 0, 0, &q) == K23_OK);
    CHECK(q == p[1]);
    CHECK_EQ(grows(), g);
    CHECK(k23_mblock_free(mb, q, 3) == K23_OK);
    for (int i = 0; i < 5; i++)
        if (i != 1 && i != 3)
            CHECK(k23_mblock_free(mb, p[i], len[i]) == K23_OK);
}

static void test_free_tail_is_extended_not_stranded(void)
{
    /* Make sure the top of memory is one of our free runs of 2. */
    void *a, *b;
    REQUIRE(k23_mblock_alloc(mb, 64, 0, 0, &a) == K23_OK); /* past all holes */
    REQUIRE(k23_mblock_alloc(mb, 2, 0, 0, &b) == K23_OK);
    CHECK(k23_mblock_free(mb, b, 2) == K23_OK);
    size_t mem = k23_wasm32_memory_bytes();
    REQUIRE(mem == (uintptr_t)b + 2 * msize); /* b ends memory */
    void *c;
    REQUIRE(k23_mblock_alloc(mb, 5, 0, 0, &c) == K23_OK);
    CHECK(c == b);                                        /* reuses the tail */
    CHECK_EQ(k23_wasm32_memory_bytes() - mem, 3 * msize); /* grows only 3 */
    CHECK(k23_mblock_free(mb, c, 5) == K23_OK);
    CHECK(k23_mblock_free(mb, a, 64) == K23_OK);
}

#define MODEL_OPS 3000
#define MODEL_LIVE 64

struct live {
    uintptr_t addr;
    size_t n;
    uint32_t tag;
};

/* Reference: which megablocks we were ever given, and which are live. A
 * free run among "ever given and not live" megablocks that fits a request
 * means the allocator must not grow for it. */
static unsigned char *seen, *used;
static size_t window;

static bool model_fits(size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < window; i++) {
        run = (seen[i] && !used[i]) ? run + 1 : 0;
        if (run >= n)
            return true;
    }
    return false;
}

static void test_randomized_against_model(void)
{
    window = (size_t)1 << (32 - shift);
    seen = calloc(window, 1);
    used = calloc(window, 1);
    REQUIRE(seen != NULL && used != NULL);
    struct live live[MODEL_LIVE];
    size_t nlive = 0;
    uint32_t tag = 1;
    unsigned must_not_grow = 0;
    for (int op = 0; op < MODEL_OPS; op++) {
        bool do_alloc = nlive == 0 || (nlive < MODEL_LIVE && wt_below(2));
        if (do_alloc) {
            size_t n = 1 + wt_below(8);
            bool fits = model_fits(n);
            uint64_t g = grows();
            void *p;
            REQUIRE(k23_mblock_alloc(mb, n, 0, 0, &p) == K23_OK);
            uintptr_t a = (uintptr_t)p;
            REQUIRE((a & (msize - 1)) == 0);
            size_t i0 = a >> shift;
            for (size_t i = i0; i < i0 + n; i++) {
                REQUIRE(!used[i]); /* never handed out twice */
                used[i] = seen[i] = 1;
                *(uint32_t *)(a + ((i - i0) << shift)) = tag;
            }
            if (fits) {
                must_not_grow++;
                CHECK_EQ(grows(), g);
            }
            live[nlive++] = (struct live){a, n, tag++};
        } else {
            size_t k = wt_below(nlive);
            struct live l = live[k];
            for (size_t j = 0; j < l.n; j++) {
                CHECK_EQ(*(uint32_t *)(l.addr + (j << shift)), l.tag);
                used[(l.addr >> shift) + j] = 0;
            }
            CHECK(k23_mblock_free(mb, (void *)l.addr, l.n) == K23_OK);
            live[k] = live[--nlive];
        }
        if (op % 256 == 0)
            CHECK(k23_mblock_check(mb) == K23_OK);
    }
    CHECK(must_not_grow > 100); /* the reuse check really ran */
    k23_mblock_stats_t st;
    k23_mblock_stats(mb, &st);
    size_t live_mb = 0;
    for (size_t i = 0; i < nlive; i++)
        live_mb += live[i].n;
    CHECK_EQ(st.allocated, live_mb);
    CHECK_EQ(st.owned, st.free + st.allocated);
    CHECK(st.peak_owned >= st.owned);
    while (nlive > 0) {
        nlive--;
        CHECK(k23_mblock_free(mb, (void *)live[nlive].addr, live[nlive].n) ==
              K23_OK);
    }
    CHECK(k23_mblock_check(mb) == K23_OK);
    free(seen);
    free(used);
}

static void test_bad_arguments_are_rejected(void)
{
    void *p = (void *)1;
    CHECK(k23_mblock_alloc(mb, 0, 0, 0, &p) == K23_ERR_INVAL);
    CHECK(k23_mblock_alloc(mb, 1, 0, 0x80, &p) == K23_ERR_INVAL);
    CHECK(k23_mblock_alloc(mb, 1, 40, 0, &p) == K23_ERR_INVAL);
    CHECK(k23_mblock_alloc(NULL, 1, 0, 0, &p) == K23_ERR_INVAL);
    CHECK(k23_mblock_alloc(mb, 1, 0, 0, NULL) == K23_ERR_INVAL);
    CHECK(k23_mblock_alloc(mb, ((size_t)1 << (32 - shift)) + 1, 0, 0, &p) ==
          K23_ERR_NOMEM);
    CHECK(p == (void *)1); /* untouched */
    CHECK(k23_mblock_free(mb, (void *)(uintptr_t)(msize + 4096), 1) ==
          K23_ERR_INVAL);
    CHECK(k23_mblock_free(mb, (void *)(uintptr_t)msize, 0) == K23_ERR_INVAL);
    CHECK(k23_wasm32_init(shift == 16 ? 20 : 16) == K23_ERR_BUSY);
    CHECK(k23_wasm32_init(shift) == K23_OK);
    CHECK(k23_wasm32_init(15) == K23_ERR_INVAL);
}

int main(int argc, char **argv)
{
    shift = argc > 1 ? (unsigned)atoi(argv[1]) : 20;
    msize = (size_t)1 << shift;
    if (k23_wasm32_init(shift) != K23_OK) {
        fprintf(stderr, "bad shift %u\n", shift);
        return 2;
    }
    mb = k23_wasm32_mblocks();
    /* order matters: the first two expect a fresh allocator */
    RUN(test_best_fitting_hole_is_chosen);
    RUN(test_free_tail_is_extended_not_stranded);
    RUN(test_results_are_aligned_and_inside_memory);
    RUN(test_freed_megablocks_are_reused_without_growing);
    RUN(test_randomized_against_model);
    RUN(test_bad_arguments_are_rejected);
    return wt_finish();
}
