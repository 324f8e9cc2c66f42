/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of the page-table engine (k23mem/pagetable.h) on the hosted port
 * (phys == virt): table frames come from a heap pool or a k23_frames_t,
 * mapped "physical" addresses are never touched. Trees are checked with
 * the independent reader in pt_decoder.c, which shares nothing with the
 * engine but the public header.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/frames.h"
#include "k23mem/pagetable.h"
#include "k23mem/port.h"
#include "pt_decoder.h"

TestSuite(pagetable);

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define G1 UINT64_C(0x40000000)

/* ---- a frame source over a heap pool, with failure injection ---- */

typedef struct pool {
    unsigned char *mem;
    size_t nframes;
    uint64_t *free_stack;
    size_t nfree;
    size_t outstanding;
    long fail_in; /* -1: never; k: the allocation after k more succeeds fails */
    size_t allocs;
} pool_t;

static int pool_alloc(void *ctx, k23_paddr_t *out)
{
    pool_t *p = ctx;
    if (p->fail_in == 0) {
        p->fail_in = -1;
        return K23_ERR_NOMEM;
    }
    if (p->fail_in > 0)
        p->fail_in--;
    if (p->nfree == 0)
        return K23_ERR_NOMEM;
    uint64_t pa = p->free_stack[--p->nfree];
    memset((void *)(uintptr_t)pa, 0, 4096);
    p->outstanding++;
    p->allocs++;
    *out = pa;
    return K23_OK;
}

static void pool_free(void *ctx, k23_paddr_t pa)
{
    pool_t *p = ctx;
    cr_assert(pa >= (uintptr_t)p->mem &&
              pa < (uintptr_t)p->mem + p->nframes * 4096 && pa % 4096 == 0,
              "freed frame %#llx not from the pool", (unsigned long long)pa);
    /* poison: a table still in use after this would read garbage */
    memset((void *)(uintptr_t)pa, 0xA5, 4096);
    p->free_stack[p->nfree++] = pa;
    p->outstanding--;
}

static void pool_init(pool_t *p, size_t nframes)
{
    p->mem = aligned_alloc(4096, nframes * 4096);
    cr_assert_not_null(p->mem);
    p->nframes = nframes;
    p->free_stack = malloc(nframes * sizeof(uint64_t));
    cr_assert_not_null(p->free_stack);
    p->nfree = 0;
    for (size_t i = nframes; i-- > 0;)
        p->free_stack[p->nfree++] = (uintptr_t)p->mem + i * 4096;
    p->outstanding = 0;
    p->fail_in = -1;
    p->allocs = 0;
}

static void pool_fini(pool_t *p)
{
    free(p->mem);
    free(p->free_stack);
}

static k23_pt_frame_source_t pool_source(pool_t *p)
{
    k23_pt_frame_source_t s = {pool_alloc, pool_free, p};
    return s;
}

/* ---- formats under test ---- */

typedef struct fmt_case {
    const k23_pt_format_t *fmt;
    ref_mode_t mode;
    uint64_t window; /* 4 GiB test window, 1 GiB aligned */
} fmt_case_t;

#define TOP_LOW(vb) ((UINT64_C(1) << ((vb) - 1)) - 4 * G1)
static const fmt_case_t cases[] = {
    {&k23_pt_x86_64_4level, REF_X86_4LEVEL, TOP_LOW(48)},
    {&k23_pt_x86_64_5level, REF_X86_5LEVEL, UINT64_C(0) - 4 * G1},
    {&k23_pt_aarch64_39_ttbr0, REF_A64_39_TTBR0, (UINT64_C(1) << 39) - 4 * G1},
    {&k23_pt_aarch64_39_ttbr1, REF_A64_39_TTBR1, UINT64_C(0) - 4 * G1},
    {&k23_pt_aarch64_48_ttbr0, REF_A64_48_TTBR0, 3 * G1},
    {&k23_pt_aarch64_48_ttbr1, REF_A64_48_TTBR1, UINT64_C(0) - (UINT64_C(1) << 48)},
    {&k23_pt_riscv_sv39, REF_RV_SV39, TOP_LOW(39)},
    {&k23_pt_riscv_sv48, REF_RV_SV48, UINT64_C(0) - 4 * G1},
    {&k23_pt_riscv_sv57, REF_RV_SV57, 7 * G1},
};

/* ---- the shadow: sorted, non-overlapping runs ---- */

typedef struct run {
    uint64_t va, size, pa;
    k23_perm_t perm;
    unsigned memtype;
} run_t;

typedef struct runs {
    run_t *v;
    size_t n, cap;
} runs_t;

static void runs_push(runs_t *r, run_t x)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->v = realloc(r->v, r->cap * sizeof(run_t));
        cr_assert_not_null(r->v);
    }
    r->v[r->n++] = x;
}

/* Split the run containing `at` (if any, and if not starting there). */
static void shadow_cut(runs_t *s, uint64_t at)
{
    for (size_t i = 0; i < s->n; i++) {
        run_t *x = &s->v[i];
        if (x->va < at && at - x->va < x->size) {
            run_t hi = *x;
            uint64_t d = at - x->va;
            hi.va = at;
            hi.pa += d;
            hi.size -= d;
            x->size = d;
            runs_push(s, hi); /* order restored by shadow_sort */
            return;
        }
    }
}

static int run_cmp(const void *a, const void *b)
{
    const run_t *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

static void shadow_sort(runs_t *s)
{
    if (s->n == 0)
        return; /* qsort's base may not be NULL */
    qsort(s->v, s->n, sizeof(run_t), run_cmp);
}

/* Whether any run overlaps [va, last]. */
static bool shadow_overlaps(const runs_t *s, uint64_t va, uint64_t last)
{
    for (size_t i = 0; i < s->n; i++) {
        uint64_t rl = s->v[i].va + (s->v[i].size - 1);
        if (s->v[i].va <= last && rl >= va)
            return true;
    }
    return false;
}

static void shadow_unmap(runs_t *s, uint64_t va, uint64_t last)
{
    shadow_cut(s, va);
    if (last != UINT64_MAX)
        shadow_cut(s, last + 1);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!(s->v[i].va >= va && s->v[i].va <= last))
            s->v[w++] = s->v[i];
    s->n = w;
    shadow_sort(s);
}

static void shadow_protect(runs_t *s, uint64_t va, uint64_t last,
                           k23_perm_t perm)
{
    shadow_cut(s, va);
    if (last != UINT64_MAX)
        shadow_cut(s, last + 1);
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].va >= va && s->v[i].va <= last)
            s->v[i].perm = perm;
    shadow_sort(s);
}

static const run_t *shadow_find(const runs_t *s, uint64_t va)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].va <= va && va - s->v[i].va < s->v[i].size)
            return &s->v[i];
    return NULL;
}

/* Merge neighbours that continue each other (same attributes, pa and va
 * contiguous), in place; runs must be sorted. */
static void runs_normalise(runs_t *r)
{
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++) {
        run_t x = r->v[i];
        if (w > 0) {
            run_t *p = &r->v[w - 1];
            if (p->va + p->size == x.va && p->pa + p->size == x.pa &&
                p->perm == x.perm && p->memtype == x.memtype) {
                p->size += x.size;
                continue;
            }
        }
        r->v[w++] = x;
    }
    r->n = w;
}

/* ---- comparing the tree (independent reader) with the shadow ---- */

/* Leaves of each size the reader has seen, over all checks of a run. */
static uint64_t seen_leaves[3];

static void collect_leaf(void *ctx, const ref_leaf_t *l)
{
    runs_t *r = ctx;
    seen_leaves[l->size == K4 ? 0 : l->size == M2 ? 1 : 2]++;
    run_t x;
    memset(&x, 0, sizeof(x));
    x.va = l->va;
    x.size = l->size;
    x.pa = l->pa;
    x.perm = l->perm;
    x.memtype = l->memtype;
    runs_push(r, x);
}

static int walk_collect(void *ctx, const k23_pt_mapping_t *m)
{
    runs_t *r = ctx;
    run_t x;
    memset(&x, 0, sizeof(x)); /* compared with memcmp: no stray padding */
    x.va = m->va;
    x.size = m->size;
    x.pa = m->pa;
    x.perm = m->perm;
    x.memtype = m->memtype;
    runs_push(r, x);
    return 0;
}

static void check_tree(const fmt_case_t *c, const k23_pt_t *pt,
                       const runs_t *shadow, const pool_t *pool,
                       const k23_pt_flush_t *fl)
{
    runs_t got = {0};
    uint64_t tables = 0;
    const char *err = ref_walk(c->mode, pt->root, collect_leaf, &got, &tables);
    cr_assert_null(err, "%s: reader: %s", c->fmt->name, err);
    runs_normalise(&got);
    runs_t want = {0};
    for (size_t i = 0; i < shadow->n; i++)
        runs_push(&want, shadow->v[i]);
    runs_normalise(&want);
    cr_assert_eq(got.n, want.n, "%s: %zu runs in the tree, %zu in the shadow",
                 c->fmt->name, got.n, want.n);
    for (size_t i = 0; i < got.n; i++) {
        const run_t *g = &got.v[i], *w = &want.v[i];
        cr_assert(g->va == w->va && g->size == w->size && g->pa == w->pa &&
                      g->perm == w->perm && g->memtype == w->memtype,
                  "%s: run %zu: tree va %#llx size %#llx pa %#llx perm %x mt %u,"
                  " shadow va %#llx size %#llx pa %#llx perm %x mt %u",
                  c->fmt->name, i, (unsigned long long)g->va,
                  (unsigned long long)g->size, (unsigned long long)g->pa,
                  g->perm, g->memtype, (unsigned long long)w->va,
                  (unsigned long long)w->size, (unsigned long long)w->pa,
                  w->perm, w->memtype);
    }
    /* k23_pt_walk over the window reports the same leaves */
    runs_t walked = {0};
    cr_assert_eq(k23_pt_walk(pt, c->window, 4 * G1, walk_collect, &walked), K23_OK);
    runs_normalise(&walked);
    cr_assert_eq(walked.n, got.n, "%s: k23_pt_walk saw %zu runs, reader %zu",
                 c->fmt->name, walked.n, got.n);
    for (size_t i = 0; i < got.n; i++)
        cr_assert(memcmp(&walked.v[i], &got.v[i], sizeof(run_t)) == 0,
                  "%s: k23_pt_walk run %zu differs", c->fmt->name, i);
    free(walked.v);
    cr_assert_eq(tables, k23_pt_table_frames(pt), "%s: reader saw %llu tables, engine counts %llu",
                 c->fmt->name, (unsigned long long)tables,
                 (unsigned long long)k23_pt_table_frames(pt));
    cr_assert_eq(pool->outstanding, tables + fl->nfree,
                 "%s: %zu frames out, %llu tables + %llu awaiting flush",
                 c->fmt->name, pool->outstanding, (unsigned long long)tables,
                 (unsigned long long)fl->nfree);
    free(got.v);
    free(want.v);
}

/* ---- random model ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t rnd_below(uint64_t n)
{
    return rnd() % n;
}

static const k23_perm_t perms[] = {
    K23_PERM_READ,
    K23_PERM_READ | K23_PERM_WRITE,
    K23_PERM_READ | K23_PERM_EXECUTE,
    K23_PERM_READ | K23_PERM_USER,
    K23_PERM_READ | K23_PERM_WRITE | K23_PERM_USER,
    K23_PERM_READ | K23_PERM_EXECUTE | K23_PERM_USER,
};

/* A random range in the window: mostly block-sized and aligned, so blocks
 * are written, split and reclaimed. */
static void rnd_range(const fmt_case_t *c, uint64_t *va, uint64_t *size)
{
    uint64_t r = rnd_below(100), off, sz;
    if (r < 45) {
        sz = (1 + rnd_below(24)) * K4;
        off = rnd_below(4 * G1 / K4) * K4;
    } else if (r < 80) {
        sz = (1 + rnd_below(3)) * M2;
        off = rnd_below(4 * G1 / M2) * M2;
        if (rnd_below(3) == 0)
            off += rnd_below(512) * K4;
        if (rnd_below(3) == 0)
            sz += rnd_below(512) * K4;
    } else if (r < 95) {
        sz = G1;
        off = rnd_below(4) * G1;
        if (rnd_below(4) == 0) {
            off += rnd_below(512) * M2;
            sz = rnd_below(2) ? M2 * (1 + rnd_below(600)) : sz;
        }
    } else {
        off = rnd_below(4 * G1 / K4) * K4;
        sz = (1 + rnd_below(2000)) * K4;
    }
    if (off + sz > 4 * G1)
        sz = 4 * G1 - off;
    *va = c->window + off;
    *size = sz;
}

static void model_run(const fmt_case_t *c, unsigned nops, uint64_t seed)
{
    pool_t pool;
    pool_init(&pool, 8192);
    k23_pt_frame_source_t src = pool_source(&pool);
    k23_pt_t pt;
    cr_assert_eq(k23_pt_create(&pt, c->fmt, 7, &src), K23_OK);
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_flush_init(&fl, 7), K23_OK);
    runs_t shadow = {0};
    rng_state = seed;
    memset(seen_leaves, 0, sizeof(seen_leaves));
    unsigned nbusy = 0, nmap = 0, nsplit_ops = 0;

    for (unsigned op = 0; op < nops; op++) {
        uint64_t va, size;
        rnd_range(c, &va, &size);
        uint64_t last = va + (size - 1);
        unsigned kind = (unsigned)rnd_below(100);
        if (kind < 40) {
            /* pa: same offset inside 1 GiB as va (blocks possible), or a
             * random page */
            uint64_t pa = rnd_below(64) * G1 + (va & (G1 - 1));
            if (rnd_below(4) == 0)
                pa = rnd_below(UINT64_C(1) << 24) * K4;
            k23_perm_t perm = perms[rnd_below(6)];
            unsigned mt = rnd_below(10) == 0 ? K23_PT_MEM_DEVICE : K23_PT_MEM_NORMAL;
            uint32_t flags = 0;
            if (rnd_below(3) == 0)
                flags |= K23_PT_REPLACE;
            if (rnd_below(10) == 0)
                flags |= K23_PT_MAX_LEAF_4K;
            else if (rnd_below(10) == 0)
                flags |= K23_PT_MAX_LEAF_2M;
            bool busy = !(flags & K23_PT_REPLACE) && shadow_overlaps(&shadow, va, last);
            uint64_t tables_before = k23_pt_table_frames(&pt);
            int rc = k23_pt_map(&pt, va, pa, size, perm, mt, flags, &fl);
            if (busy) {
                cr_assert_eq(rc, K23_ERR_BUSY, "%s op %u: map over a live range gave %d",
                             c->fmt->name, op, rc);
                cr_assert_eq(k23_pt_table_frames(&pt), tables_before);
                nbusy++;
            } else {
                cr_assert_eq(rc, K23_OK, "%s op %u: map %#llx+%#llx: %d", c->fmt->name,
                             op, (unsigned long long)va, (unsigned long long)size, rc);
                shadow_unmap(&shadow, va, last);
                run_t x = {va, size, pa, perm, mt};
                runs_push(&shadow, x);
                shadow_sort(&shadow);
                nmap++;
            }
        } else if (kind < 60) {
            k23_perm_t perm = perms[rnd_below(6)];
            cr_assert_eq(k23_pt_protect(&pt, va, size, perm, &fl), K23_OK);
            shadow_protect(&shadow, va, last, perm);
            nsplit_ops++;
        } else if (kind < 85) {
            cr_assert_eq(k23_pt_unmap(&pt, va, size, &fl), K23_OK);
            shadow_unmap(&shadow, va, last);
        } else {
            for (unsigned q = 0; q < 16; q++) {
                uint64_t a = c->window + rnd_below(4 * G1);
                k23_pt_mapping_t m;
                int rc = k23_pt_query(&pt, a, &m);
                const run_t *x = shadow_find(&shadow, a);
                if (x == NULL) {
                    cr_assert_eq(rc, K23_ERR_NOT_FOUND, "%s: query %#llx", c->fmt->name,
                                 (unsigned long long)a);
                } else {
                    cr_assert_eq(rc, K23_OK);
                    cr_assert_eq(m.pa, x->pa + (a - x->va));
                    cr_assert_eq(m.perm, x->perm);
                    cr_assert_eq(m.memtype, x->memtype);
                    cr_assert(m.size == K4 || m.size == M2 || m.size == G1);
                }
            }
        }
        if (rnd_below(4) == 0)
            cr_assert_eq(k23_pt_flush(&fl), K23_OK);
        if (op % 64 == 63 || op + 1 == nops) {
            check_tree(c, &pt, &shadow, &pool, &fl);
            /* bound the mapped amount so walks stay cheap */
            if (shadow.n > 3000) {
                cr_assert_eq(k23_pt_unmap(&pt, c->window, 4 * G1, &fl), K23_OK);
                shadow.n = 0;
            }
        }
    }
    /* accounting: unmapping everything leaves exactly the root */
    cr_assert_eq(k23_pt_unmap(&pt, c->window, 4 * G1, &fl), K23_OK);
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    cr_assert_eq(k23_pt_table_frames(&pt), 1);
    cr_assert_eq(pool.outstanding, 1, "%s: %zu frames left after unmapping all",
                 c->fmt->name, pool.outstanding);
    cr_assert(nbusy > 0 && nmap > nops / 10, "%s: model too tame (%u busy, %u maps)",
              c->fmt->name, nbusy, nmap);
    cr_assert(seen_leaves[0] && seen_leaves[1] && seen_leaves[2],
              "%s: leaves seen 4K %llu 2M %llu 1G %llu", c->fmt->name,
              (unsigned long long)seen_leaves[0], (unsigned long long)seen_leaves[1],
              (unsigned long long)seen_leaves[2]);
    k23_pt_flush_fini(&fl);
    k23_pt_destroy(&pt);
    cr_assert_eq(pool.outstanding, 0);
    free(shadow.v);
    pool_fini(&pool);
}

/* 9 formats x 12000 = 108,000 operations in the default tree. The
 * sanitizer tree runs a quarter of them (about 35 s a format under
 * ASan+UBSan with all of them). */
#if defined(__SANITIZE_ADDRESS__)
#define MODEL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MODEL_SANITIZED 1
#endif
#endif
#ifdef MODEL_SANITIZED
#define MODEL_OPS 3000u
#else
#define MODEL_OPS 12000u
#endif

Test(pagetable, model_x86_64_4level) { model_run(&cases[0], MODEL_OPS, 1); }
Test(pagetable, model_x86_64_5level) { model_run(&cases[1], MODEL_OPS, 2); }
Test(pagetable, model_aarch64_39_ttbr0) { model_run(&cases[2], MODEL_OPS, 3); }
Test(pagetable, model_aarch64_39_ttbr1) { model_run(&cases[3], MODEL_OPS, 4); }
Test(pagetable, model_aarch64_48_ttbr0) { model_run(&cases[4], MODEL_OPS, 5); }
Test(pagetable, model_aarch64_48_ttbr1) { model_run(&cases[5], MODEL_OPS, 6); }
Test(pagetable, model_riscv_sv39) { model_run(&cases[6], MODEL_OPS, 7); }
Test(pagetable, model_riscv_sv48) { model_run(&cases[7], MODEL_OPS, 8); }
Test(pagetable, model_riscv_sv57) { model_run(&cases[8], MODEL_OPS, 9); }

/* ---- splits happen: a block partly protected becomes a table ---- */

Test(pagetable, partial_protect_splits_block_keeping_the_rest)
{
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const fmt_case_t *c = &cases[ci];
        pool_t pool;
        pool_init(&pool, 64);
        k23_pt_frame_source_t src = pool_source(&pool);
        k23_pt_t pt;
        k23_pt_flush_t fl;
        cr_assert_eq(k23_pt_create(&pt, c->fmt, 1, &src), K23_OK);
        cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
        uint64_t va = c->window + G1, pa = 5 * G1;
        k23_perm_t rw = K23_PERM_READ | K23_PERM_WRITE;
        cr_assert_eq(k23_pt_map(&pt, va, pa, G1, rw, K23_PT_MEM_NORMAL, 0, &fl), K23_OK);
        k23_pt_mapping_t m;
        cr_assert_eq(k23_pt_query(&pt, va + 12345, &m), K23_OK);
        cr_assert_eq(m.size, G1, "%s: 1 GiB-aligned map must use a 1 GiB leaf", c->fmt->name);
        uint64_t tables = k23_pt_table_frames(&pt);
        /* one page in the middle: 1 GiB -> 2 MiB table -> 4 KiB table */
        uint64_t mid = va + 300 * M2 + 7 * K4;
        cr_assert_eq(k23_pt_protect(&pt, mid, K4, K23_PERM_READ, &fl), K23_OK);
        cr_assert_eq(k23_pt_table_frames(&pt), tables + 2);
        cr_assert_eq(k23_pt_query(&pt, mid, &m), K23_OK);
        cr_assert_eq(m.perm, K23_PERM_READ);
        cr_assert_eq(m.size, K4);
        cr_assert_eq(m.pa, pa + 300 * M2 + 7 * K4);
        cr_assert_eq(k23_pt_query(&pt, mid + K4, &m), K23_OK);
        cr_assert_eq(m.perm, rw);
        cr_assert_eq(k23_pt_query(&pt, va + 5 * M2, &m), K23_OK);
        cr_assert_eq(m.size, M2);
        cr_assert_eq(m.perm, rw);
        cr_assert_eq(m.pa, pa + 5 * M2);
        /* unmapping the whole block range reclaims both new tables */
        cr_assert_eq(k23_pt_unmap(&pt, va, G1, &fl), K23_OK);
        cr_assert_eq(k23_pt_flush(&fl), K23_OK);
        cr_assert_eq(k23_pt_table_frames(&pt), 1, "%s", c->fmt->name);
        cr_assert_eq(pool.outstanding, 1);
        k23_pt_flush_fini(&fl);
        k23_pt_destroy(&pt);
        pool_fini(&pool);
    }
}

Test(pagetable, leaf_size_follows_alignment_of_va_and_pa)
{
    const fmt_case_t *c = &cases[0];
    pool_t pool;
    pool_init(&pool, 64);
    k23_pt_frame_source_t src = pool_source(&pool);
    k23_pt_t pt;
    k23_pt_flush_t fl;
    k23_pt_mapping_t m;
    cr_assert_eq(k23_pt_create(&pt, c->fmt, 1, &src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
    uint64_t va = c->window;
    /* pa 2 MiB aligned, va too: 2 MiB leaves */
    cr_assert_eq(k23_pt_map(&pt, va, 3 * M2, 2 * M2, K23_PERM_READ, 0, 0, &fl), K23_OK);
    cr_assert_eq(k23_pt_query(&pt, va + M2, &m), K23_OK);
    cr_assert_eq(m.size, M2);
    /* pa only 4 KiB aligned: 4 KiB leaves */
    cr_assert_eq(k23_pt_map(&pt, va + 4 * M2, 3 * M2 + K4, 2 * M2, K23_PERM_READ, 0, 0, &fl), K23_OK);
    cr_assert_eq(k23_pt_query(&pt, va + 5 * M2, &m), K23_OK);
    cr_assert_eq(m.size, K4);
    cr_assert_eq(m.pa, 4 * M2 + K4);
    /* MAX_LEAF_4K */
    cr_assert_eq(k23_pt_map(&pt, va + 8 * M2, 8 * M2, M2, K23_PERM_READ, 0, K23_PT_MAX_LEAF_4K, &fl), K23_OK);
    cr_assert_eq(k23_pt_query(&pt, va + 8 * M2, &m), K23_OK);
    cr_assert_eq(m.size, K4);
    cr_assert_eq(k23_pt_unmap(&pt, va, G1, &fl), K23_OK);
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    cr_assert_eq(pool.outstanding, 1);
    k23_pt_flush_fini(&fl);
    k23_pt_destroy(&pt);
    pool_fini(&pool);
}

/* ---- table accounting through the frame allocator's statistics ---- */

static k23_frames_t frames_storage;

Test(pagetable, unmapping_everything_leaves_only_the_root_in_k23_frames)
{
    size_t ram = 16u << 20;
    unsigned char *mem = aligned_alloc(4u << 20, ram);
    cr_assert_not_null(mem);
    k23_range_t r = {(uintptr_t)mem, ram};
    k23_frames_config_t cfg;
    cr_assert_eq(k23_frames_config_default(&cfg, 4096), K23_OK);
    cfg.cache_frames = 0;
    cr_assert_eq(k23_frames_init(&frames_storage, &r, 1, &cfg, NULL, 0, NULL), K23_OK);
    k23_frames_stats_t st0, st;
    cr_assert_eq(k23_frames_stats(&frames_storage, &st0), K23_OK);
    k23_pt_frame_source_t src;
    cr_assert_eq(k23_pt_frame_source_frames(&src, &frames_storage), K23_OK);
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const fmt_case_t *c = &cases[ci];
        k23_pt_t pt;
        k23_pt_flush_t fl;
        cr_assert_eq(k23_pt_create(&pt, c->fmt, 3, &src), K23_OK);
        cr_assert_eq(k23_pt_flush_init(&fl, 3), K23_OK);
        rng_state = 100 + ci;
        for (int i = 0; i < 300; i++) {
            uint64_t va, size;
            rnd_range(c, &va, &size);
            int rc = k23_pt_map(&pt, va, va & (G1 - 1), size, K23_PERM_READ, 0,
                                K23_PT_REPLACE | (i % 3 ? 0 : K23_PT_MAX_LEAF_4K), &fl);
            cr_assert_eq(rc, K23_OK, "%s: map %#llx+%#llx: %d", c->fmt->name, (unsigned long long)va, (unsigned long long)size, rc);
            rnd_range(c, &va, &size);
            cr_assert_eq(k23_pt_unmap(&pt, va, size, &fl), K23_OK);
            if (i % 2)
                cr_assert_eq(k23_pt_flush(&fl), K23_OK);
        }
        cr_assert_eq(k23_frames_stats(&frames_storage, &st), K23_OK);
        cr_assert_eq(st.allocated_frames - st0.allocated_frames,
                     k23_pt_table_frames(&pt) + fl.nfree);
        cr_assert_eq(k23_pt_unmap(&pt, c->window, 4 * G1, &fl), K23_OK);
        cr_assert_eq(k23_pt_flush(&fl), K23_OK);
        cr_assert_eq(k23_frames_stats(&frames_storage, &st), K23_OK);
        cr_assert_eq(st.allocated_frames - st0.allocated_frames, 1,
                     "%s: %llu frames left", c->fmt->name,
                     (unsigned long long)(st.allocated_frames - st0.allocated_frames));
        k23_pt_flush_fini(&fl);
        k23_pt_destroy(&pt);
        cr_assert_eq(k23_frames_stats(&frames_storage, &st), K23_OK);
        cr_assert_eq(st.allocated_frames, st0.allocated_frames);
    }
    free(mem);
}

/* ---- fault injection: fail the k-th table allocation, for every k ---- */

typedef struct snap {
    unsigned char *mem;   /* copy of the pool */
    unsigned char *inuse; /* frame in use (not on the free stack) */
    size_t outstanding;
    uint64_t tables;
} snap_t;

static void pool_inuse(const pool_t *p, unsigned char *inuse)
{
    memset(inuse, 1, p->nframes);
    for (size_t i = 0; i < p->nfree; i++)
        inuse[(p->free_stack[i] - (uintptr_t)p->mem) / 4096] = 0;
}

static void snap_take(snap_t *s, const pool_t *p, const k23_pt_t *pt)
{
    s->mem = malloc(p->nframes * 4096);
    s->inuse = malloc(p->nframes);
    memcpy(s->mem, p->mem, p->nframes * 4096);
    pool_inuse(p, s->inuse);
    s->outstanding = p->outstanding;
    s->tables = k23_pt_table_frames(pt);
}

static void snap_same(const snap_t *s, const pool_t *p, const k23_pt_t *pt,
                      const char *what, long k)
{
    unsigned char *now = malloc(p->nframes);
    pool_inuse(p, now);
    cr_assert_eq(memcmp(now, s->inuse, p->nframes), 0,
                 "%s: fail at %ld: other frames in use", what, k);
    for (size_t i = 0; i < p->nframes; i++)
        if (now[i])
            cr_assert_eq(memcmp(s->mem + i * 4096, p->mem + i * 4096, 4096), 0,
                         "%s: fail at %ld: table frame %zu changed", what, k, i);
    cr_assert_eq(p->outstanding, s->outstanding);
    cr_assert_eq(k23_pt_table_frames(pt), s->tables);
    free(now);
}

static void snap_free(snap_t *s)
{
    free(s->mem);
    free(s->inuse);
}

enum inj_op { INJ_MAP, INJ_MAP_REPLACE, INJ_PROTECT, INJ_UNMAP };

static int inj_run(k23_pt_t *pt, k23_pt_flush_t *fl, enum inj_op op,
                   uint64_t va, uint64_t size)
{
    switch (op) {
    case INJ_MAP:
        return k23_pt_map(pt, va, 9 * G1 + K4, size, K23_PERM_READ, 0, 0, fl);
    case INJ_MAP_REPLACE:
        return k23_pt_map(pt, va, 9 * G1 + K4, size, K23_PERM_READ, 0,
                          K23_PT_REPLACE, fl);
    case INJ_PROTECT:
        return k23_pt_protect(pt, va, size, K23_PERM_READ | K23_PERM_USER, fl);
    default:
        return k23_pt_unmap(pt, va, size, fl);
    }
}

Test(pagetable, failing_any_table_allocation_changes_nothing)
{
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const fmt_case_t *c = &cases[ci];
        const struct {
            enum inj_op op;
            uint64_t off, size;
            unsigned min_allocs;
        } ops[] = {
            /* fresh range over two 1 GiB entries, 4 KiB leaves: L1 + L0 tables */
            {INJ_MAP, 3 * G1 - 2 * M2, 4 * M2, 4},
            /* 4 KiB inside the 1 GiB block: two splits */
            {INJ_PROTECT, G1 + 77 * M2 + 3 * K4, K4, 2},
            /* a range cutting into the 2 MiB block and the 1 GiB block */
            {INJ_UNMAP, G1 - M2 + 5 * K4, M2 + 3 * K4, 2},
            /* replace inside a block: splits plus nothing else */
            {INJ_MAP_REPLACE, G1 + 400 * M2 + 9 * K4, 3 * K4, 2},
        };
        for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++) {
            pool_t pool;
            pool_init(&pool, 128);
            k23_pt_frame_source_t src = pool_source(&pool);
            k23_pt_t pt;
            k23_pt_flush_t fl;
            cr_assert_eq(k23_pt_create(&pt, c->fmt, 1, &src), K23_OK);
            cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
            uint64_t w = c->window;
            /* a 1 GiB block at w+1G, a 2 MiB block at w+1G-2M, pages below */
            cr_assert_eq(k23_pt_map(&pt, w + G1, G1, G1, K23_PERM_READ, 0, 0, &fl), K23_OK);
            cr_assert_eq(k23_pt_map(&pt, w + G1 - M2, 7 * M2, M2, K23_PERM_READ, 0, 0, &fl), K23_OK);
            cr_assert_eq(k23_pt_map(&pt, w + G1 - M2 - 8 * K4, 4 * K4, 8 * K4,
                                    K23_PERM_READ | K23_PERM_WRITE, 0, 0, &fl), K23_OK);
            cr_assert_eq(k23_pt_flush(&fl), K23_OK);
            long k;
            for (k = 0;; k++) {
                snap_t s;
                snap_take(&s, &pool, &pt);
                pool.fail_in = k;
                size_t allocs0 = pool.allocs;
                int rc = inj_run(&pt, &fl, ops[oi].op, w + ops[oi].off, ops[oi].size);
                pool.fail_in = -1;
                if (rc == K23_ERR_NOMEM) {
                    snap_same(&s, &pool, &pt, c->fmt->name, k);
                    cr_assert(!k23_pt_flush_pending(&fl));
                    snap_free(&s);
                    continue;
                }
                cr_assert_eq(rc, K23_OK, "%s op %zu: %d", c->fmt->name, oi, rc);
                cr_assert_eq(pool.allocs - allocs0, (size_t)k);
                snap_free(&s);
                break;
            }
            cr_assert(k >= (long)ops[oi].min_allocs, "%s op %zu: only %ld allocations",
                      c->fmt->name, oi, k);
            cr_assert_eq(k23_pt_flush(&fl), K23_OK);
            cr_assert_eq(k23_pt_unmap(&pt, w, 4 * G1, &fl), K23_OK);
            cr_assert_eq(k23_pt_flush(&fl), K23_OK);
            cr_assert_eq(pool.outstanding, 1);
            k23_pt_flush_fini(&fl);
            k23_pt_destroy(&pt);
            pool_fini(&pool);
        }
    }
}

static int stop_at_second(void *ctx, const k23_pt_mapping_t *m)
{
    unsigned *n = ctx;
    (void)m;
    return ++*n == 2 ? 42 : 0;
}

Test(pagetable, walk_stops_when_the_callback_says_so)
{
    pool_t pool;
    pool_init(&pool, 16);
    k23_pt_frame_source_t src = pool_source(&pool);
    k23_pt_t pt;
    k23_pt_flush_t fl;
    cr_assert_eq(k23_pt_create(&pt, &k23_pt_riscv_sv39, 1, &src), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
    cr_assert_eq(k23_pt_map(&pt, G1, 0, 4 * K4, K23_PERM_READ, 0, 0, &fl), K23_OK);
    unsigned n = 0;
    cr_assert_eq(k23_pt_walk(&pt, G1, G1, stop_at_second, &n), 42);
    cr_assert_eq(n, 2);
    cr_assert_eq(k23_pt_walk(&pt, G1, 0, stop_at_second, &n), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_walk(&pt, G1, G1, NULL, &n), K23_ERR_INVAL);
    cr_assert_eq(k23_pt_flush(&fl), K23_OK);
    k23_pt_flush_fini(&fl);
    k23_pt_destroy(&pt);
    cr_assert_eq(pool.outstanding, 0);
    pool_fini(&pool);
}
