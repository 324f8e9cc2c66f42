/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The portable megablock allocator (src/megablock.c) on a simulated
 * grow-only memory: argument checks, windows at the ends of the address
 * space, foreign growth between ours, reuse before growth against a
 * reference model, zeroing of dirty megablocks, exhaustion, misuse.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/megablock.h"

#define KIB ((uintptr_t)1 << 10)
#define PAGE (64 * KIB)

/* A grow-only memory that ends at `end`, may not pass `limit`, and lets a
 * "foreign" grower (malloc's sbrk) take `steal` bytes right before each of
 * our grows. Addresses need not be backed: the allocator only writes
 * megablocks for K23_MBLOCK_ZERO. */
struct sim {
    uintptr_t end, limit;
    size_t steal;
    uintptr_t foreign_lo[64], foreign_hi[64];
    unsigned nforeign;
    unsigned grows;
    bool fail;
};

static int sim_grow(void *ctx, size_t bytes, uintptr_t *old_end)
{
    struct sim *s = ctx;
    if (s->steal != 0 && s->steal <= s->limit - s->end && s->nforeign < 64) {
        s->foreign_lo[s->nforeign] = s->end;
        s->end += s->steal;
        s->foreign_hi[s->nforeign++] = s->end;
    }
    if (s->fail || bytes > s->limit - s->end)
        return K23_ERR_NOMEM;
    cr_assert_eq(bytes % PAGE, 0, "grow of %zu bytes is not page-sized",
                 bytes);
    *old_end = s->end;
    s->end += bytes;
    s->grows++;
    return K23_OK;
}

static uintptr_t sim_end(void *ctx)
{
    return ((struct sim *)ctx)->end;
}

static struct sim sim;
static k23_mblock_t mb;
static unsigned char meta[K23_MBLOCK_META_BYTES(4096)];

static void setup(unsigned shift, uintptr_t base, size_t n, uintptr_t start)
{
    memset(&sim, 0, sizeof(sim));
    sim.end = start;
    sim.limit = base + ((uintptr_t)n << shift) - 1;
    k23_mblock_source_t src = {sim_grow, sim_end, &sim};
    cr_assert_eq(k23_mblock_init(&mb, shift, base, n, &src, meta,
                                 sizeof(meta)),
                 K23_OK);
}

TestSuite(megablock);

Test(megablock, init_rejects_bad_arguments)
{
    k23_mblock_source_t src = {sim_grow, sim_end, &sim};
    k23_mblock_source_t nogrow = {NULL, sim_end, &sim};
    cr_assert_eq(k23_mblock_init(&mb, 15, 0, 16, &src, meta, sizeof(meta)),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_init(&mb, 64, 0, 16, &src, meta, sizeof(meta)),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_init(&mb, 20, 4096, 16, &src, meta, sizeof(meta)),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_init(&mb, 20, 0, 0, &src, meta, sizeof(meta)),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_init(&mb, 20, 0, 16, &nogrow, meta, sizeof(meta)),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_init(&mb, 20, 0, 16, NULL, meta, sizeof(meta)),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_init(&mb, 20, 0, 4096, &src, meta, 100),
                 K23_ERR_TOO_SMALL);
    /* a window that would pass the top of the address space */
    uintptr_t top16 = UINTPTR_MAX - ((uintptr_t)16 << 20) + 1;
    cr_assert_eq(k23_mblock_init(&mb, 20, top16, 17, &src, meta,
                                 sizeof(meta)),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_init(&mb, 20, top16, 16, &src, meta,
                                 sizeof(meta)),
                 K23_OK);
}

Test(megablock, window_ending_at_top_of_address_space_fills_exactly)
{
    uintptr_t base = UINTPTR_MAX - ((uintptr_t)16 << 20) + 1;
    k23_mblock_source_t src = {sim_grow, sim_end, &sim};
    memset(&sim, 0, sizeof(sim));
    sim.end = base;
    sim.limit = UINTPTR_MAX; /* the last byte; end may not wrap */
    cr_assert_eq(k23_mblock_init(&mb, 20, base, 16, &src, meta,
                                 sizeof(meta)),
                 K23_OK);
    /* the source cannot represent an end of 2^64: take 15, then 1 fails */
    void *p;
    cr_assert_eq(k23_mblock_alloc(&mb, 15, 0, 0, &p), K23_OK);
    cr_assert_eq((uintptr_t)p, base);
    cr_assert_eq(k23_mblock_alloc(&mb, 1, 0, 0, &p), K23_ERR_NOMEM);
    cr_assert_eq(k23_mblock_alloc(&mb, 2, 0, 0, &p), K23_ERR_NOMEM);
    cr_assert_eq(k23_mblock_check(&mb), K23_OK);
    cr_assert_eq(k23_mblock_free(&mb, (void *)(base + (3u << 20)), 2), K23_OK);
    cr_assert_eq(k23_mblock_alloc(&mb, 2, 0, 0, &p), K23_OK);
    cr_assert_eq((uintptr_t)p, base + (3u << 20));
}

Test(megablock, first_grow_rounds_up_and_counts_waste)
{
    setup(20, 0, 64, 3 * PAGE);
    void *p;
    cr_assert_eq(k23_mblock_alloc(&mb, 2, 0, 0, &p), K23_OK);
    cr_assert_eq((uintptr_t)p, (uintptr_t)1 << 20);
    cr_assert_eq(sim.end, (uintptr_t)3 << 20);
    k23_mblock_stats_t st;
    k23_mblock_stats(&mb, &st);
    cr_assert_eq(st.owned, 2);
    cr_assert_eq(st.waste_bytes, (1u << 20) - 3 * PAGE);
    cr_assert_eq(st.grow_calls, 1);
    cr_assert_eq(st.alloc_reused, 0);
}

Test(megablock, foreign_growth_is_never_handed_out)
{
    setup(16, 0, 4096, 2 * PAGE);
    sim.steal = 3 * PAGE; /* malloc grows 192 KiB before each of our grows */
    void *p[40];
    for (int i = 0; i < 40; i++) {
        size_t n = 1 + (size_t)i % 5;
        cr_assert_eq(k23_mblock_alloc(&mb, n, 0, 0, &p[i]), K23_OK);
        uintptr_t lo = (uintptr_t)p[i], hi = lo + (n << 16);
        for (unsigned f = 0; f < sim.nforeign; f++)
            cr_assert(hi <= sim.foreign_lo[f] || sim.foreign_hi[f] <= lo,
                      "run %#lx..%#lx overlaps foreign memory",
                      (unsigned long)lo, (unsigned long)hi);
        cr_assert(hi <= sim.end);
        if (i % 3 == 0)
            cr_assert_eq(k23_mblock_free(&mb, p[i], n), K23_OK);
        cr_assert_eq(k23_mblock_check(&mb), K23_OK);
    }
    cr_assert(sim.nforeign > 3);
}

Test(megablock, free_tail_is_extended_instead_of_stranded)
{
    setup(20, 0, 64, 0);
    void *a, *b, *c;
    cr_assert_eq(k23_mblock_alloc(&mb, 4, 0, 0, &a), K23_OK);
    cr_assert_eq(k23_mblock_alloc(&mb, 2, 0, 0, &b), K23_OK);
    cr_assert_eq(k23_mblock_free(&mb, b, 2), K23_OK);
    uintptr_t end = sim.end;
    cr_assert_eq(k23_mblock_alloc(&mb, 5, 0, 0, &c), K23_OK);
    cr_assert_eq(c, b);
    cr_assert_eq(sim.end - end, (uintptr_t)3 << 20);
    /* an aligned request skips to the next aligned index */
    void *d;
    cr_assert_eq(k23_mblock_alloc(&mb, 1, 20 + 3, 0, &d), K23_OK);
    cr_assert_eq((uintptr_t)d & ((8u << 20) - 1), 0);
}

/* A window whose base is a multiple of 1 MiB but not of 2 MiB: aligned
 * requests must be aligned as addresses, on the growth path and on the
 * reuse path, and an alignment that no address of the window has is an
 * invalid argument, not a success. */
Test(megablock, alignment_is_of_the_address_not_the_window_offset)
{
    uintptr_t base = (uintptr_t)257 << 20;
    setup(20, base, 64, base);
    for (unsigned al = 21; al <= 24; al++) {
        uintptr_t amask = ((uintptr_t)1 << al) - 1;
        void *p;
        cr_assert_eq(k23_mblock_alloc(&mb, 1, al, 0, &p), K23_OK);
        cr_assert_eq((uintptr_t)p & amask, 0, "align %u: got %#lx", al,
                     (unsigned long)(uintptr_t)p);
        /* reuse: free it, take an unaligned megablock, ask again */
        cr_assert_eq(k23_mblock_free(&mb, p, 1), K23_OK);
        void *q;
        cr_assert_eq(k23_mblock_alloc(&mb, 3, al, 0, &q), K23_OK);
        cr_assert_eq((uintptr_t)q & amask, 0, "reuse align %u: got %#lx", al,
                     (unsigned long)(uintptr_t)q);
        cr_assert_eq(k23_mblock_check(&mb), K23_OK);
    }
    unsigned top = (unsigned)(sizeof(uintptr_t) * 8 - 1);
    void *r = (void *)0x99;
    cr_assert_eq(k23_mblock_alloc(&mb, 1, top, 0, &r), K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_alloc(&mb, 1, 63, 0, &r), K23_ERR_INVAL);
    /* 512 MiB: no multiple in [257 MiB, 321 MiB) either */
    cr_assert_eq(k23_mblock_alloc(&mb, 1, 29, 0, &r), K23_ERR_INVAL);
    cr_assert_eq(r, (void *)0x99);
    /* a window at 0 holds an address of every alignment */
    setup(20, 0, 16, 0);
    cr_assert_eq(k23_mblock_alloc(&mb, 1, top, 0, &r), K23_OK);
    cr_assert_eq((uintptr_t)r, 0);
}

Test(megablock, growth_failure_changes_nothing_and_frees_recover)
{
    setup(20, 0, 64, 0);
    sim.limit = (uintptr_t)6 << 20;
    void *p[6], *q = (void *)0x99;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(k23_mblock_alloc(&mb, 1, 0, 0, &p[i]), K23_OK);
    k23_mblock_stats_t before, after;
    k23_mblock_stats(&mb, &before);
    cr_assert_eq(k23_mblock_alloc(&mb, 1, 0, 0, &q), K23_ERR_NOMEM);
    cr_assert_eq(q, (void *)0x99);
    k23_mblock_stats(&mb, &after);
    cr_assert_eq(after.grow_failures, before.grow_failures + 1);
    cr_assert_eq(after.owned, before.owned);
    cr_assert_eq(after.allocated, before.allocated);
    cr_assert_eq(k23_mblock_check(&mb), K23_OK);
    cr_assert_eq(k23_mblock_free(&mb, p[2], 1), K23_OK);
    cr_assert_eq(k23_mblock_free(&mb, p[3], 1), K23_OK);
    cr_assert_eq(k23_mblock_alloc(&mb, 2, 0, 0, &q), K23_OK);
    cr_assert_eq(q, p[2]);
    /* more than the window can ever hold */
    cr_assert_eq(k23_mblock_alloc(&mb, 65, 0, 0, &q), K23_ERR_NOMEM);
}

Test(megablock, zero_flag_clears_reused_megablocks_only)
{
    size_t msz = 64 * KIB;
    unsigned char *heap = aligned_alloc(msz, 16 * msz);
    cr_assert_not_null(heap);
    memset(heap, 0, 16 * msz);
    setup(16, (uintptr_t)heap, 16, (uintptr_t)heap);
    unsigned char *p, *q;
    cr_assert_eq(k23_mblock_alloc(&mb, 3, 0, 0, (void **)&p), K23_OK);
    memset(p, 0xab, 3 * msz);
    cr_assert_eq(k23_mblock_free(&mb, p, 3), K23_OK);
    cr_assert_eq(k23_mblock_alloc(&mb, 3, 0, K23_MBLOCK_ZERO, (void **)&q),
                 K23_OK);
    cr_assert_eq(q, p);
    for (size_t i = 0; i < 3 * msz; i++)
        cr_assert_eq(q[i], 0, "byte %zu not zeroed", i);
    /* without the flag, reused memory keeps its contents */
    memset(q, 0xcd, msz);
    cr_assert_eq(k23_mblock_free(&mb, q, 3), K23_OK);
    cr_assert_eq(k23_mblock_alloc(&mb, 1, 0, 0, (void **)&p), K23_OK);
    cr_assert_eq(p[0], 0xcd);
    free(heap);
}

/* The model works in window indices; alignment is of addresses, so an
 * index is aligned when (base >> 16) + index is. */
static void randomized_model_run(uintptr_t base)
{
    enum { N = 512, OPS = 20000, LIVE = 48 };
    setup(16, base, N, base + 5 * PAGE);
    size_t base_idx = base >> 16;
    static unsigned char seen[N], used[N];
    memset(seen, 0, sizeof(seen));
    memset(used, 0, sizeof(used));
    struct { uintptr_t a; size_t n; } live[LIVE];
    size_t nlive = 0;
    unsigned checked_reuse = 0;
    srand(12345);
    for (int op = 0; op < OPS; op++) {
        if (op % 4000 == 1000)
            sim.steal = sim.steal ? 0 : PAGE; /* foreign growth phases */
        if (nlive == 0 || (nlive < LIVE && rand() % 2)) {
            size_t n = 1 + (size_t)rand() % 8;
            unsigned align = rand() % 4 == 0 ? 16 + (unsigned)rand() % 3 : 0;
            size_t amb = align > 16 ? (size_t)1 << (align - 16) : 1;
            bool fits = false;
            size_t first = (amb - base_idx % amb) % amb;
            for (size_t i = first; i + n <= N && !fits; i += amb) {
                size_t j = 0;
                while (j < n && seen[i + j] && !used[i + j])
                    j++;
                fits = j == n;
            }
            unsigned g = sim.grows;
            void *p;
            int rc = k23_mblock_alloc(&mb, n, align, 0, &p);
            if (rc == K23_ERR_NOMEM) {
                cr_assert(!fits, "NOMEM although a free run fits");
                continue;
            }
            cr_assert_eq(rc, K23_OK);
            uintptr_t a = (uintptr_t)p;
            cr_assert_eq(a & ((((uintptr_t)amb) << 16) - 1), 0);
            for (size_t i = (a - base) >> 16; i < ((a - base) >> 16) + n;
                 i++) {
                cr_assert(!used[i], "megablock %zu handed out twice", i);
                used[i] = seen[i] = 1;
            }
            if (fits) {
                checked_reuse++;
                cr_assert_eq(sim.grows, g, "grew although a free run fit");
            }
            live[nlive].a = a;
            live[nlive++].n = n;
        } else {
            size_t k = (size_t)rand() % nlive;
            for (size_t i = 0; i < live[k].n; i++)
                used[((live[k].a - base) >> 16) + i] = 0;
            cr_assert_eq(k23_mblock_free(&mb, (void *)live[k].a, live[k].n),
                         K23_OK);
            live[k] = live[--nlive];
        }
        if (op % 97 == 0)
            cr_assert_eq(k23_mblock_check(&mb), K23_OK);
        cr_assert(k23_mblock_is_allocated(&mb, (void *)base) == used[0]);
    }
    cr_assert(checked_reuse > 1000);
    k23_mblock_free_all(&mb);
    k23_mblock_stats_t st;
    k23_mblock_stats(&mb, &st);
    cr_assert_eq(st.allocated, 0);
    cr_assert_eq(st.free, st.owned);
    cr_assert_eq(k23_mblock_check(&mb), K23_OK);
}

Test(megablock, randomized_against_reference_model)
{
    randomized_model_run(0);
}

/* A base at an odd megablock: 64 KiB- but not 128 KiB-aligned. */
Test(megablock, randomized_against_reference_model_at_an_odd_base)
{
    randomized_model_run((uintptr_t)5 << 16);
}

Test(megablock, bad_free_arguments_are_errors)
{
    setup(20, 0, 64, 0);
    void *p;
    cr_assert_eq(k23_mblock_alloc(&mb, 2, 0, 0, &p), K23_OK);
    cr_assert_eq(k23_mblock_free(&mb, (void *)((uintptr_t)p + 4096), 1), K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_free(&mb, p, 0), K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_free(&mb, (void *)((uintptr_t)64 << 20), 1),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_free(&mb, p, 65), K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_alloc(&mb, 1, 0, 2, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_mblock_check(NULL), K23_ERR_INVAL);
}

Test(megablock, double_free_panics, .signal = SIGABRT)
{
    setup(20, 0, 64, 0);
    void *p;
    cr_assert_eq(k23_mblock_alloc(&mb, 2, 0, 0, &p), K23_OK);
    cr_assert_eq(k23_mblock_free(&mb, p, 2), K23_OK);
    k23_mblock_free(&mb, (void *)((uintptr_t)p + (1u << 20)), 1);
}

Test(megablock, freeing_never_owned_memory_panics, .signal = SIGABRT)
{
    setup(20, 0, 64, 0);
    k23_mblock_free(&mb, (void *)((uintptr_t)10 << 20), 1);
}
