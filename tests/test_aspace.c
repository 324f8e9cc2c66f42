/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of address spaces (k23mem/aspace.h) on the hosted port
 * (phys == virt): every frame comes from a heap pool with failure
 * injection. Page tables are read back with the independent reader
 * (pt_decoder.c) and compared with a shadow: the regions as a sorted
 * array and the resident anonymous pages as a bitmap.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/aspace.h"
#include "k23mem/port.h"
#include "pt_decoder.h"

TestSuite(aspace);

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)

/* ---- a frame source over a heap pool, with failure injection ---- */

typedef struct pool {
    unsigned char *mem;
    size_t nframes;
    uint64_t *stack;
    size_t nfree;
    long fail_in; /* -1 never; k: the allocation after k more fails */
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
    uint64_t pa = p->stack[--p->nfree];
    memset((void *)(uintptr_t)pa, 0, 4096);
    *out = pa;
    return K23_OK;
}

static void pool_free(void *ctx, k23_paddr_t pa)
{
    pool_t *p = ctx;
    cr_assert(pa >= (uintptr_t)p->mem &&
                  pa < (uintptr_t)p->mem + p->nframes * 4096 && pa % 4096 == 0,
              "freed frame %#llx not from the pool", (unsigned long long)pa);
    memset((void *)(uintptr_t)pa, 0xA5, 4096); /* poison */
    p->stack[p->nfree++] = pa;
}

static void pool_init(pool_t *p, size_t nframes)
{
    p->mem = aligned_alloc(4096, nframes * 4096);
    p->stack = malloc(nframes * sizeof(uint64_t));
    cr_assert(p->mem != NULL && p->stack != NULL);
    p->nframes = nframes;
    p->nfree = 0;
    for (size_t i = nframes; i-- > 0;)
        p->stack[p->nfree++] = (uintptr_t)p->mem + i * 4096;
    p->fail_in = -1;
}

static void pool_fini(pool_t *p)
{
    free(p->mem);
    free(p->stack);
}

static size_t pool_used(const pool_t *p)
{
    return p->nframes - p->nfree;
}

/* ---- a fixed-seed generator (splitmix64) for the tests only ---- */

static uint64_t sm_next(void *ctx)
{
    uint64_t *s = ctx;
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
    return sm_next(s) % n;
}

/* ---- fixture ---- */

static pool_t pool;
static k23_aspace_t as;
static k23_pt_flush_t fl;

/* The window: 1 GiB at 1 GiB, or (model runs on other formats) the top
 * 1 GiB of the address space. */
static uint64_t win_lo = UINT64_C(0x40000000);
#define WIN_LO win_lo
#define WIN_PAGES (UINT64_C(1) << 18)         /* 1 GiB window */
#define WIN_LAST (WIN_LO + WIN_PAGES * K4 - 1)

static void setup_with(size_t frames, uint64_t lo, uint64_t last,
                       const k23_pt_format_t *fmt)
{
    pool_init(&pool, frames);
    k23_pt_frame_source_t src = {pool_alloc, pool_free, &pool};
    cr_assert_eq(k23_aspace_create(&as, fmt, 1, &src, lo, last), K23_OK);
    cr_assert_eq(k23_pt_flush_init(&fl, 1), K23_OK);
}

static void setup(void)
{
    win_lo = UINT64_C(0x40000000);
    setup_with(8192, WIN_LO, WIN_LAST, &k23_pt_x86_64_4level);
}

static void teardown(void)
{
    if (as.magic != 0)
        k23_aspace_destroy(&as, &fl);
    k23_pt_flush(&fl);
    k23_pt_flush_fini(&fl);
    cr_assert_eq(pool_used(&pool), 0, "frames not returned: %zu",
                 pool_used(&pool));
    pool_fini(&pool);
}

static k23_aspace_desc_t desc(unsigned kind, k23_perm_t perm)
{
    k23_aspace_desc_t d = {0};
    d.kind = kind;
    d.perm = perm;
    d.memtype = K23_PT_MEM_NORMAL;
    d.name = "test";
    return d;
}

#define RW (K23_PERM_READ | K23_PERM_WRITE)
#define RX (K23_PERM_READ | K23_PERM_EXECUTE)

/* ---- the shadow ---- */

typedef struct sregion {
    uint64_t base, last, pa;
    k23_perm_t perm;
    unsigned kind;
} sregion_t;

typedef struct shadow {
    sregion_t v[4096];
    size_t n;
    uint8_t *resident; /* one byte per window page */
    uint64_t nresident;
} shadow_t;

static shadow_t sh;

static size_t sh_find(uint64_t addr)
{
    for (size_t i = 0; i < sh.n; i++)
        if (sh.v[i].base <= addr && addr <= sh.v[i].last)
            return i;
    return SIZE_MAX;
}

static bool sh_busy(uint64_t base, uint64_t last)
{
    for (size_t i = 0; i < sh.n; i++)
        if (sh.v[i].base <= last && base <= sh.v[i].last)
            return true;
    return false;
}

static void sh_add(sregion_t r)
{
    size_t i = sh.n++;
    while (i > 0 && sh.v[i - 1].base > r.base) {
        sh.v[i] = sh.v[i - 1];
        i--;
    }
    sh.v[i] = r;
}

static void sh_del(size_t i)
{
    memmove(&sh.v[i], &sh.v[i + 1], (sh.n - i - 1) * sizeof(sregion_t));
    sh.n--;
}

static uint64_t pg(uint64_t va)
{
    return (va - WIN_LO) / K4;
}

static void sh_drop_pages(uint64_t base, uint64_t last)
{
    for (uint64_t a = base; a <= last; a += K4)
        if (sh.resident[pg(a)]) {
            sh.resident[pg(a)] = 0;
            sh.nresident--;
        }
}

/* Cut [base, last] out of region i; with perm != 0 it stays with perm. */
static void sh_cut(size_t i, uint64_t base, uint64_t last, k23_perm_t perm)
{
    sregion_t r = sh.v[i];
    sh_del(i);
    if (r.base < base) {
        sregion_t h = r;
        h.last = base - 1;
        sh_add(h);
    }
    if (last < r.last) {
        sregion_t t = r;
        t.base = last + 1;
        if (r.kind == K23_ASPACE_WIRED)
            t.pa = r.pa + (t.base - r.base);
        sh_add(t);
    }
    if (perm != 0) {
        sregion_t m = r;
        m.base = base;
        m.last = last;
        m.perm = perm;
        if (r.kind == K23_ASPACE_WIRED)
            m.pa = r.pa + (base - r.base);
        sh_add(m);
    }
}

/* ---- comparing the tables with the shadow ---- */

typedef struct leafcheck {
    uint64_t pages;
    uint64_t anon_pages;
} leafcheck_t;

static void check_leaf(void *ctx, const ref_leaf_t *l)
{
    leafcheck_t *c = ctx;
    for (uint64_t off = 0; off < l->size; off += K4) {
        uint64_t va = l->va + off;
        size_t i = sh_find(va);
        cr_assert(i != SIZE_MAX, "leaf %#llx outside every region",
                  (unsigned long long)va);
        const sregion_t *r = &sh.v[i];
        cr_assert_neq(r->kind, K23_ASPACE_GUARD, "guard page mapped");
        cr_assert_eq(l->perm, r->perm, "perm at %#llx: %#x, want %#x",
                     (unsigned long long)va, l->perm, r->perm);
        if (r->kind == K23_ASPACE_WIRED) {
            cr_assert_eq(l->pa + off, r->pa + (va - r->base));
        } else {
            cr_assert_eq(l->size, K4, "anonymous leaf larger than 4 KiB");
            cr_assert_eq(l->memtype, K23_PT_MEM_NORMAL);
            cr_assert(sh.resident[pg(va)], "page %#llx mapped, not resident",
                      (unsigned long long)va);
            c->anon_pages++;
        }
        c->pages++;
    }
}

static uint64_t sh_wired_pages(void)
{
    uint64_t n = 0;
    for (size_t i = 0; i < sh.n; i++)
        if (sh.v[i].kind == K23_ASPACE_WIRED)
            n += (sh.v[i].last - sh.v[i].base + 1) / K4;
    return n;
}

static void check_all(ref_mode_t mode)
{
    cr_assert_eq(k23_aspace_check(&as), K23_OK);
    leafcheck_t c = {0, 0};
    uint64_t tables = 0;
    const char *err = ref_walk(mode, k23_aspace_pt(&as)->root, check_leaf, &c,
                               &tables);
    cr_assert_null(err, "decoder: %s", err);
    cr_assert_eq(c.anon_pages, sh.nresident);
    cr_assert_eq(c.pages, sh.nresident + sh_wired_pages());
    k23_aspace_stats_t st;
    cr_assert_eq(k23_aspace_stats(&as, &st), K23_OK);
    cr_assert_eq(st.table_frames, tables);
    cr_assert_eq(st.resident_frames, sh.nresident);
    cr_assert_eq(st.regions, sh.n);
    uint64_t bytes = 0;
    for (size_t i = 0; i < sh.n; i++) {
        bytes += sh.v[i].last - sh.v[i].base + 1;
        k23_aspace_info_t in;
        cr_assert_eq(k23_aspace_lookup(&as, sh.v[i].last, &in), K23_OK);
        cr_assert_eq(in.base, sh.v[i].base);
        cr_assert_eq(in.size, sh.v[i].last - sh.v[i].base + 1);
        cr_assert_eq(in.kind, sh.v[i].kind);
    }
    cr_assert_eq(st.reserved_bytes, bytes);
    /* every frame is accounted for: records, tables, resident (pending
     * table frames flushed by the caller before) */
    cr_assert_eq(pool_used(&pool),
                 st.record_frames + st.table_frames + st.resident_frames);
}

/* ---- model test ---- */

static k23_perm_t random_perm(uint64_t *s)
{
    static const k23_perm_t perms[] = {K23_PERM_READ, RW, RX,
                                       K23_PERM_READ | K23_PERM_USER,
                                       RW | K23_PERM_USER};
    return perms[rnd_below(s, 5)];
}

/* Pages of a new region: mostly small, sometimes 2 MiB multiples. */
static uint64_t random_size(uint64_t *s, unsigned kind)
{
    if (kind == K23_ASPACE_WIRED && rnd_below(s, 4) == 0)
        return (1 + rnd_below(s, 2)) * M2;
    return (1 + rnd_below(s, 16)) * K4;
}

static void model_reserve(uint64_t *s)
{
    unsigned kind = 1 + (unsigned)rnd_below(s, 4);
    uint64_t size = random_size(s, kind);
    k23_aspace_desc_t d = desc(kind, random_perm(s));
    if (kind == K23_ASPACE_WIRED)
        d.pa = UINT64_C(0x100000000) + rnd_below(s, 1024) * M2 +
               (size % M2 == 0 ? 0 : rnd_below(s, 512) * K4);
    uint64_t base;
    int rc;
    unsigned how = (unsigned)rnd_below(s, 3);
    if (how == 0) {
        base = WIN_LO + rnd_below(s, WIN_PAGES / 64) * K4 * 64;
        if (size % M2 == 0)
            base &= ~(M2 - 1);
        if (size - 1 > WIN_LAST - base)
            return;
        bool busy = sh_busy(base, base + size - 1);
        rc = k23_aspace_reserve(&as, base, size, &d, &fl);
        cr_assert_eq(rc, busy ? K23_ERR_BUSY : K23_OK, "reserve rc %d", rc);
        if (busy)
            return;
    } else {
        unsigned al = size % M2 == 0 ? 21 : 12 + (unsigned)rnd_below(s, 5);
        k23_aspace_placement_t pl = {WIN_LO, WIN_LAST, NULL, NULL};
        if (how == 2) {
            pl.random = sm_next;
            pl.random_ctx = s;
        }
        rc = k23_aspace_reserve_any(&as, size, al, &pl, &d, &fl, &base);
        cr_assert_eq(rc, K23_OK, "reserve_any rc %d", rc);
        cr_assert_eq(base % (UINT64_C(1) << al), 0);
        cr_assert(!sh_busy(base, base + size - 1), "placed over a region");
        if (how == 1) {
            /* first fit: no lower aligned position is free */
            uint64_t a = UINT64_C(1) << al;
            uint64_t x = (WIN_LO + a - 1) & ~(a - 1);
            /* inclusive bounds: the window may end at 2^64 - 1 */
            for (size_t i = 0; i <= sh.n; i++) {
                uint64_t end_last = i < sh.n ? sh.v[i].base - 1 : WIN_LAST;
                if (x <= end_last && end_last - x >= size - 1 &&
                    (i == sh.n || sh.v[i].base > x))
                    break;
                if (i < sh.n && sh.v[i].last >= x) {
                    cr_assert(!__builtin_add_overflow(sh.v[i].last, a, &x),
                              "first fit found space past the top");
                    x &= ~(a - 1);
                }
            }
            cr_assert_eq(base, x, "first fit %#llx, want %#llx",
                         (unsigned long long)base, (unsigned long long)x);
        }
    }
    sregion_t r = {base, base + size - 1, d.pa,
                   kind == K23_ASPACE_GUARD ? 0 : d.perm, kind};
    sh_add(r);
    if (kind == K23_ASPACE_ANON_EAGER)
        for (uint64_t a = base; a <= r.last; a += K4) {
            sh.resident[pg(a)] = 1;
            sh.nresident++;
        }
}

/* A random page-aligned sub-range of region i. */
static void random_sub(uint64_t *s, size_t i, uint64_t *b, uint64_t *l)
{
    uint64_t n = (sh.v[i].last - sh.v[i].base + 1) / K4;
    uint64_t first = rnd_below(s, n);
    uint64_t cnt = 1 + rnd_below(s, n - first);
    *b = sh.v[i].base + first * K4;
    *l = *b + cnt * K4 - 1;
}

static void model_unmap(uint64_t *s)
{
    if (sh.n == 0)
        return;
    size_t i = rnd_below(s, sh.n);
    uint64_t b, l;
    random_sub(s, i, &b, &l);
    cr_assert_eq(k23_aspace_unmap(&as, b, l - b + 1, &fl), K23_OK);
    if (sh.v[i].kind != K23_ASPACE_WIRED)
        sh_drop_pages(b, l);
    sh_cut(i, b, l, 0);
}

static void model_protect(uint64_t *s)
{
    if (sh.n == 0)
        return;
    size_t i = rnd_below(s, sh.n);
    uint64_t b, l;
    random_sub(s, i, &b, &l);
    k23_perm_t p = random_perm(s);
    int rc = k23_aspace_protect(&as, b, l - b + 1, p, &fl);
    if (sh.v[i].kind == K23_ASPACE_GUARD) {
        cr_assert_eq(rc, K23_ERR_BUSY);
        return;
    }
    cr_assert_eq(rc, K23_OK);
    if (p != sh.v[i].perm)
        sh_cut(i, b, l, p);
}

static void model_fault(uint64_t *s)
{
    uint64_t addr = WIN_LO + rnd_below(s, WIN_PAGES) * K4 + rnd_below(s, K4);
    if (sh.n > 0 && rnd_below(s, 4) != 0) {
        size_t i = rnd_below(s, sh.n);
        addr = sh.v[i].base +
               rnd_below(s, sh.v[i].last - sh.v[i].base + 1);
    }
    static const k23_fault_t causes[] = {K23_FAULT_LOAD, K23_FAULT_STORE,
                                         K23_FAULT_INSTRUCTION};
    k23_fault_t cause = causes[rnd_below(s, 3)];
    bool user = rnd_below(s, 2) == 0;
    k23_perm_t needed = cause == K23_FAULT_STORE ? K23_PERM_WRITE
                        : cause == K23_FAULT_INSTRUCTION ? RX
                                                         : K23_PERM_READ;
    if (user)
        needed |= K23_PERM_USER;
    k23_aspace_fault_result_t res;
    int rc = k23_aspace_fault(&as, addr, cause, user, &fl, &res);
    size_t i = sh_find(addr);
    unsigned want;
    if (i == SIZE_MAX)
        want = K23_ASPACE_FAULT_NO_REGION;
    else if (sh.v[i].kind == K23_ASPACE_GUARD)
        want = K23_ASPACE_FAULT_GUARD;
    else if ((needed & ~sh.v[i].perm) != 0)
        want = K23_ASPACE_FAULT_DENIED;
    else if (sh.v[i].kind == K23_ASPACE_ANON_LAZY &&
             !sh.resident[pg(addr)])
        want = K23_ASPACE_FAULT_RESOLVED;
    else
        want = K23_ASPACE_FAULT_PRESENT;
    cr_assert_eq(res.outcome, want, "fault at %#llx: %u, want %u",
                 (unsigned long long)addr, res.outcome, want);
    cr_assert_eq(rc, want <= K23_ASPACE_FAULT_PRESENT ? K23_OK
                                                       : K23_ERR_NOT_FOUND);
    cr_assert_eq(res.needed, needed);
    if (want == K23_ASPACE_FAULT_RESOLVED) {
        sh.resident[pg(addr)] = 1;
        sh.nresident++;
        const uint64_t *w = (const uint64_t *)(uintptr_t)res.pa;
        for (size_t k = 0; k < 512; k++)
            cr_assert_eq(w[k], 0, "faulted frame not zeroed");
    }
}

static void model_release(uint64_t *s)
{
    if (sh.n == 0)
        return;
    size_t i = rnd_below(s, sh.n);
    uint64_t addr = sh.v[i].base + rnd_below(s, sh.v[i].last - sh.v[i].base + 1);
    cr_assert_eq(k23_aspace_release(&as, addr, &fl), K23_OK);
    if (sh.v[i].kind != K23_ASPACE_WIRED)
        sh_drop_pages(sh.v[i].base, sh.v[i].last);
    sh_del(i);
}

#define MODEL_OPS 100000
#define MODEL_BATCH 500

static void run_model(int nops, ref_mode_t mode)
{
    sh.n = 0;
    sh.nresident = 0;
    sh.resident = calloc(WIN_PAGES, 1);
    cr_assert_not_null(sh.resident);
    uint64_t seed = 0x5EED0016;
    unsigned counts[6] = {0};
    size_t maxn = 0;
    for (int op = 0; op < nops; op++) {
        /* phases: grow to a few hundred regions, then shrink, so the
         * tree is exercised both deep and nearly empty */
        unsigned what = (unsigned)rnd_below(&seed, 10);
        bool grow = (op / 5000) % 2 == 0;
        if (grow && what == 9)
            what = 0;
        if (!grow && what < 2)
            what = 9;
        if (sh.n > 1000 && what < 3)
            what = 9;
        if (sh.n > maxn)
            maxn = sh.n;
        counts[what < 3 ? 0 : what < 5 ? 1 : what < 7 ? 2 : what < 9 ? 3 : 4]++;
        if (what < 3)
            model_reserve(&seed);
        else if (what < 5)
            model_unmap(&seed);
        else if (what < 7)
            model_protect(&seed);
        else if (what < 9)
            model_fault(&seed);
        else
            model_release(&seed);
        if ((op + 1) % MODEL_BATCH == 0) {
            k23_pt_flush(&fl);
            check_all(mode);
        }
    }
    cr_log_info("aspace model: %d ops (reserve %u, unmap %u, protect %u, "
                "fault %u, release %u), up to %zu regions", nops, counts[0],
                counts[1], counts[2], counts[3], counts[4], maxn);
    k23_aspace_destroy(&as, &fl);
    k23_pt_flush(&fl);
    cr_assert_eq(pool_used(&pool), 0, "after destroy %zu frames out",
                 pool_used(&pool));
    free(sh.resident);
}

Test(aspace, model_matches_shadow_and_decoder, .init = setup, .fini = teardown,
     .timeout = 300)
{
    run_model(MODEL_OPS, REF_X86_4LEVEL);
}

/* The top 1 GiB of the address space (TTBR1, the riscv64 high half): end
 * addresses at 2^64 - 1, checked without wrapping. */
Test(aspace, model_at_the_top_of_the_address_space, .timeout = 300)
{
    static const struct {
        const k23_pt_format_t *fmt;
        ref_mode_t mode;
    } f[] = {{&k23_pt_aarch64_48_ttbr1, REF_A64_48_TTBR1},
             {&k23_pt_riscv_sv39, REF_RV_SV39}};
    for (size_t i = 0; i < 2; i++) {
        win_lo = UINT64_C(0) - (UINT64_C(1) << 30);
        setup_with(8192, WIN_LO, WIN_LAST, f[i].fmt);
        cr_assert_eq(WIN_LAST, UINT64_MAX);
        run_model(MODEL_OPS / 10, f[i].mode);
        teardown();
    }
}

/* ---- faults ---- */

Test(aspace, fault_refusals_say_why, .init = setup, .fini = teardown)
{
    k23_aspace_desc_t ro = desc(K23_ASPACE_ANON_LAZY, K23_PERM_READ);
    k23_aspace_desc_t rw = desc(K23_ASPACE_ANON_LAZY, RW);
    k23_aspace_desc_t kern = desc(K23_ASPACE_ANON_LAZY, RX);
    k23_aspace_desc_t gd = desc(K23_ASPACE_GUARD, 0);
    uint64_t a = WIN_LO;
    cr_assert_eq(k23_aspace_reserve(&as, a, 4 * K4, &ro, &fl), K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, a + 4 * K4, K4, &gd, &fl), K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, a + 5 * K4, K4, &rw, &fl), K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, a + 6 * K4, K4, &kern, &fl), K23_OK);
    k23_aspace_fault_result_t r;
    /* store to read-only */
    cr_assert_eq(k23_aspace_fault(&as, a + 8, K23_FAULT_STORE, false, &fl, &r),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_DENIED);
    cr_assert_eq(r.needed, K23_PERM_WRITE);
    cr_assert_eq(r.allowed, K23_PERM_READ);
    cr_assert_eq(r.region_base, a);
    /* fetch from non-executable */
    cr_assert_eq(k23_aspace_fault(&as, a + 5 * K4, K23_FAULT_INSTRUCTION,
                                  false, &fl, &r), K23_ERR_NOT_FOUND);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_DENIED);
    /* user access to a kernel region */
    cr_assert_eq(k23_aspace_fault(&as, a + 6 * K4, K23_FAULT_LOAD, true, &fl,
                                  &r), K23_ERR_NOT_FOUND);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_DENIED);
    /* guard */
    cr_assert_eq(k23_aspace_fault(&as, a + 4 * K4 + 7, K23_FAULT_LOAD, false,
                                  &fl, &r), K23_ERR_NOT_FOUND);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_GUARD);
    /* no region */
    cr_assert_eq(k23_aspace_fault(&as, a + 7 * K4, K23_FAULT_LOAD, false, &fl,
                                  &r), K23_ERR_NOT_FOUND);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_NO_REGION);
    cr_assert_eq(r.region_size, 0);
    /* nothing was mapped by the refusals */
    k23_aspace_stats_t st;
    k23_aspace_stats(&as, &st);
    cr_assert_eq(st.resident_frames, 0);
    /* out of frames: NOMEM, nothing changed */
    size_t used = pool_used(&pool);
    pool.fail_in = 0;
    cr_assert_eq(k23_aspace_fault(&as, a, K23_FAULT_LOAD, false, &fl, &r),
                 K23_ERR_NOMEM);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_NOMEM);
    k23_pt_flush(&fl);
    cr_assert_eq(pool_used(&pool), used);
    /* a permitted load resolves, then is present */
    cr_assert_eq(k23_aspace_fault(&as, a, K23_FAULT_LOAD, false, &fl, &r),
                 K23_OK);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_RESOLVED);
    cr_assert_eq(k23_aspace_fault(&as, a + 9, K23_FAULT_LOAD, false, &fl, &r),
                 K23_OK);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_PRESENT);
    /* bad fault flags */
    cr_assert_eq(k23_aspace_fault(&as, a, K23_FAULT_LOAD | K23_FAULT_STORE,
                                  false, &fl, &r), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_fault(&as, a, 0, false, &fl, &r), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_fault(&as, a, K23_FAULT_LOAD, false, &fl, NULL),
                 K23_ERR_INVAL);
}

Test(aspace, lazy_pages_touched_in_random_order, .init = setup,
     .fini = teardown)
{
    enum { N = 512 };
    k23_aspace_desc_t d = desc(K23_ASPACE_ANON_LAZY, RW);
    uint64_t base;
    cr_assert_eq(k23_aspace_reserve_any(&as, N * K4, 21, NULL, &d, &fl, &base),
                 K23_OK);
    unsigned order[N];
    for (unsigned i = 0; i < N; i++)
        order[i] = i;
    uint64_t s = 42;
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = (unsigned)rnd_below(&s, i + 1);
        unsigned t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (unsigned i = 0; i < N; i++) {
        k23_aspace_fault_result_t r;
        uint64_t va = base + order[i] * K4 + (i % 4096);
        cr_assert_eq(k23_aspace_fault(&as, va, K23_FAULT_STORE, false, &fl, &r),
                     K23_OK);
        cr_assert_eq(r.outcome, K23_ASPACE_FAULT_RESOLVED);
        k23_pt_mapping_t m;
        cr_assert_eq(k23_pt_query(k23_aspace_pt(&as), va, &m), K23_OK);
        cr_assert_eq(m.pa, r.pa + (va % K4));
        cr_assert_eq(m.perm, RW);
        /* the frame is zero; write it so a later reuse would show */
        memset((void *)(uintptr_t)r.pa, 0x5A, 4096);
    }
    k23_aspace_stats_t st;
    k23_aspace_stats(&as, &st);
    cr_assert_eq(st.resident_frames, N);
    for (unsigned i = 0; i < N; i++) {
        k23_aspace_fault_result_t r;
        cr_assert_eq(k23_aspace_fault(&as, base + i * K4, K23_FAULT_LOAD,
                                      false, &fl, &r), K23_OK);
        cr_assert_eq(r.outcome, K23_ASPACE_FAULT_PRESENT);
    }
}

/* ---- placement ---- */

Test(aspace, random_placement_is_inside_aligned_disjoint, .init = setup,
     .fini = teardown)
{
    uint64_t s = 7;
    uint64_t lo = WIN_LO + 64 * M2, last = WIN_LO + 96 * M2 - 1;
    k23_aspace_placement_t pl = {lo, last, sm_next, &s};
    k23_aspace_desc_t d = desc(K23_ASPACE_GUARD, 0);
    uint64_t placed[512][2];
    int n = 0;
    for (;; n++) {
        uint64_t size = (1 + rnd_below(&s, 8)) * K4;
        unsigned al = 12 + (unsigned)rnd_below(&s, 6); /* often > size */
        uint64_t base;
        int rc = k23_aspace_reserve_any(&as, size, al, &pl, &d, &fl, &base);
        if (rc == K23_ERR_NOT_FOUND)
            break;
        cr_assert_eq(rc, K23_OK);
        cr_assert(base >= lo && base + size - 1 <= last);
        cr_assert_eq(base % (UINT64_C(1) << al), 0);
        for (int i = 0; i < n && i < 512; i++)
            cr_assert(base + size - 1 < placed[i][0] || base > placed[i][1],
                      "overlap");
        if (n < 512) {
            placed[n][0] = base;
            placed[n][1] = base + size - 1;
        }
        if (n > 20000)
            break;
    }
    cr_assert(n > 100, "only %d placed", n);
    cr_assert_eq(k23_aspace_check(&as), K23_OK);
}

/* Chi-square of 64000 draws over 64 bins of an empty 47-bit space, and
 * the entropy: the number of positions is exact (uniform draw), the bit
 * balance is measured. */
Test(aspace, random_placement_is_uniform_and_entropy_is_measured)
{
    uint64_t lo = UINT64_C(0x1000), last = (UINT64_C(1) << 47) - 1;
    setup_with(64, lo, last, &k23_pt_x86_64_4level);
    uint64_t s = 0xC0FFEE;
    k23_aspace_placement_t pl = {lo, last, sm_next, &s};
    enum { BINS = 64, DRAWS = 64000 };
    unsigned hist[BINS] = {0};
    unsigned ones[64] = {0};
    for (int i = 0; i < DRAWS; i++) {
        uint64_t b;
        cr_assert_eq(k23_aspace_find(&as, K4, 12, &pl, &b), K23_OK);
        cr_assert(b >= lo && b <= last - (K4 - 1) && b % K4 == 0);
        hist[(b - lo) / (((last - lo) + 1) / BINS)]++;
        for (int k = 12; k < 47; k++)
            ones[k] += (b >> k) & 1;
    }
    double exp = (double)DRAWS / BINS, chi = 0;
    for (int i = 0; i < BINS; i++)
        chi += (hist[i] - exp) * (hist[i] - exp) / exp;
    /* 63 degrees of freedom: p = 0.001 at 103.4 */
    cr_assert_lt(chi, 103.4, "chi-square %.1f", chi);
    double h = 0;
    for (int k = 12; k < 47; k++) {
        double p = (double)ones[k] / DRAWS;
        if (p > 0 && p < 1)
            h += -p * log2(p) - (1 - p) * log2(1 - p);
    }
    double positions = (double)((last - lo + 1 - K4) / K4 + 1);
    cr_log_info("aspace entropy, 47-bit space, 4 KiB: log2(positions) = %.2f "
                "bits, per-bit measured sum %.2f bits, chi-square(63) %.1f",
                log2(positions), h, chi);
    fprintf(stderr, "aspace.entropy_bits %.2f measured_bit_sum %.2f chi2 %.1f\n",
            log2(positions), h, chi);
    cr_assert_gt(h, 34.9);
    /* a second find in a crowded space still succeeds exactly */
    k23_aspace_destroy(&as, &fl);
    k23_pt_flush(&fl);
    cr_assert_eq(pool_used(&pool), 0);
    pool_fini(&pool);
}

Test(aspace, crowded_random_placement_finds_the_last_hole, .init = setup,
     .fini = teardown)
{
    k23_aspace_desc_t d = desc(K23_ASPACE_GUARD, 0);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, WIN_PAGES * K4 / 2, &d, &fl),
                 K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO + WIN_PAGES * K4 / 2 + K4,
                                    WIN_PAGES * K4 / 2 - K4, &d, &fl), K23_OK);
    uint64_t s = 3, b;
    k23_aspace_placement_t pl = {WIN_LO, WIN_LAST, sm_next, &s};
    cr_assert_eq(k23_aspace_find(&as, K4, 12, &pl, &b), K23_OK);
    cr_assert_eq(b, WIN_LO + WIN_PAGES * K4 / 2);
    cr_assert_eq(k23_aspace_find(&as, 2 * K4, 12, &pl, &b), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_find(&as, K4, 12, NULL, &b), K23_OK);
    cr_assert_eq(b, WIN_LO + WIN_PAGES * K4 / 2);
}

/* ---- fault injection: fail the k-th frame allocation of an operation ---- */

typedef struct snap {
    size_t used;
    k23_aspace_stats_t st;
    uint64_t hash;
} snap_t;

static void hash_leaf(void *ctx, const ref_leaf_t *l)
{
    uint64_t *h = ctx;
    *h = (*h ^ l->va) * 0x100000001B3u;
    *h = (*h ^ l->pa ^ l->size ^ l->perm) * 0x100000001B3u;
}

static snap_t take_snap(void)
{
    snap_t s;
    k23_pt_flush(&fl);
    s.used = pool_used(&pool);
    k23_aspace_stats(&as, &s.st);
    s.hash = 0xcbf29ce484222325u;
    uint64_t t;
    cr_assert_null(ref_walk(REF_X86_4LEVEL, k23_aspace_pt(&as)->root, hash_leaf,
                            &s.hash, &t));
    for (uint64_t a = WIN_LO; a < WIN_LO + 64 * M2; a += K4) {
        k23_aspace_info_t in;
        if (k23_aspace_lookup(&as, a, &in) == K23_OK)
            s.hash = (s.hash ^ in.base ^ (in.size << 7) ^ in.perm) *
                     0x100000001B3u;
    }
    return s;
}

static void fill_record_frame(void)
{
    /* guard regions until one takes a new frame (records or index), then
     * drop it: when the count falls back, the next region needs that
     * frame again; an index node that stays (a split) does not count */
    k23_aspace_desc_t g = desc(K23_ASPACE_GUARD, 0);
    k23_aspace_stats_t st;
    k23_aspace_stats(&as, &st);
    for (uint64_t a = WIN_LO + 60 * M2;; a += 2 * K4) {
        uint64_t frames = st.record_frames;
        cr_assert_eq(k23_aspace_reserve(&as, a, K4, &g, &fl), K23_OK);
        k23_aspace_stats(&as, &st);
        if (st.record_frames == frames)
            continue;
        cr_assert_eq(k23_aspace_release(&as, a, &fl), K23_OK);
        k23_aspace_stats(&as, &st);
        if (st.record_frames == frames)
            return;
    }
}

typedef int (*op_fn)(void);

static int op_eager(void)
{
    k23_aspace_desc_t d = desc(K23_ASPACE_ANON_EAGER, RW);
    return k23_aspace_reserve(&as, WIN_LO + 50 * M2 - 3 * K4, 6 * K4, &d, &fl);
}

static int op_protect_wired_middle(void)
{
    return k23_aspace_protect(&as, WIN_LO + 16 * M2 + 5 * K4, 3 * K4,
                              K23_PERM_READ, &fl);
}

static int op_unmap_wired_middle(void)
{
    return k23_aspace_unmap(&as, WIN_LO + 16 * M2 + 9 * K4, K4, &fl);
}

static int op_fault_lazy(void)
{
    k23_aspace_fault_result_t r;
    return k23_aspace_fault(&as, WIN_LO + 40 * M2 + 5, K23_FAULT_STORE, false,
                            &fl, &r);
}

static int op_vm_commit(void)
{
    void *p = (void *)(uintptr_t)(WIN_LO + 48 * M2);
    return k23_aspace_vm_commit(&as, p, 8 * K4, RW);
}

static void inj_state(void)
{
    k23_aspace_desc_t w = desc(K23_ASPACE_WIRED, RW);
    w.pa = UINT64_C(0x200000000);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO + 16 * M2, 2 * M2, &w, &fl),
                 K23_OK);
    k23_aspace_desc_t l = desc(K23_ASPACE_ANON_LAZY, RW);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO + 40 * M2, M2, &l, &fl), K23_OK);
    void *v;
    cr_assert_eq(k23_aspace_vm_reserve(&as, 16 * K4, M2, &v), K23_OK);
    cr_assert_eq((uint64_t)(uintptr_t)v, WIN_LO);
    /* move the VM region where op_vm_commit looks */
    cr_assert_eq(k23_aspace_vm_release(&as, v, 16 * K4), K23_OK);
    k23_aspace_desc_t g = desc(K23_ASPACE_GUARD, 0);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, 48 * M2, &g, &fl), K23_ERR_BUSY);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, 16 * M2, &g, &fl), K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO + 18 * M2, 22 * M2, &g, &fl),
                 K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO + 41 * M2, 7 * M2, &g, &fl),
                 K23_OK);
    cr_assert_eq(k23_aspace_vm_reserve(&as, 16 * K4, M2, &v), K23_OK);
    cr_assert_eq((uint64_t)(uintptr_t)v, WIN_LO + 48 * M2);
    /* one page committed already: commit keeps it */
    cr_assert_eq(k23_aspace_vm_commit(&as, (char *)v + 2 * K4, K4, RW), K23_OK);
    fill_record_frame();
}

Test(aspace, failing_kth_frame_allocation_leaves_state_unchanged)
{
    static const op_fn ops[] = {op_eager, op_protect_wired_middle,
                                op_unmap_wired_middle, op_fault_lazy,
                                op_vm_commit};
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        int failures = 0;
        for (long k = 0;; k++) {
            setup_with(2048, WIN_LO, WIN_LAST, &k23_pt_x86_64_4level);
            inj_state();
            snap_t before = take_snap();
            pool.fail_in = k;
            int rc = ops[o]();
            bool injected = pool.fail_in == -1;
            pool.fail_in = -1;
            if (rc == K23_OK) {
                cr_assert(!injected, "op %zu: k=%ld failed alloc, rc OK", o, k);
                teardown();
                break;
            }
            cr_assert_eq(rc, K23_ERR_NOMEM, "op %zu k=%ld rc %d", o, k, rc);
            snap_t after = take_snap();
            cr_assert_eq(after.used, before.used, "op %zu k=%ld frames", o, k);
            cr_assert_eq(after.hash, before.hash, "op %zu k=%ld state", o, k);
            cr_assert_eq(memcmp(&after.st, &before.st, sizeof(after.st)), 0);
            cr_assert_eq(k23_aspace_check(&as), K23_OK);
            failures++;
            teardown();
        }
        cr_assert_gt(failures, 0, "op %zu never allocated", o);
    }
}

/* ---- VM hooks ---- */

Test(aspace, vm_hooks_commit_decommit_release, .init = setup, .fini = teardown)
{
    k23_port_caps_t caps = {0};
    cr_assert_eq(k23_aspace_vm_caps(&as, &caps), K23_OK);
    cr_assert(caps.has_vm && caps.can_decommit && caps.can_release);
    cr_assert_eq(caps.page_size, 4096);
    void *p;
    cr_assert_eq(k23_aspace_vm_reserve(&as, 64 * K4, 1u << 16, &p), K23_OK);
    cr_assert_eq((uintptr_t)p % (1u << 16), 0);
    cr_assert_eq(k23_aspace_vm_reserved_bytes(&as), 64 * K4);
    uint64_t va = (uintptr_t)p;
    k23_aspace_fault_result_t r;
    cr_assert_eq(k23_aspace_fault(&as, va, K23_FAULT_LOAD, false, &fl, &r),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_UNCOMMITTED);
    cr_assert_eq(k23_aspace_vm_commit(&as, p, 8 * K4, RW), K23_OK);
    k23_pt_mapping_t m;
    cr_assert_eq(k23_pt_query(k23_aspace_pt(&as), va + 3 * K4, &m), K23_OK);
    cr_assert_eq(m.perm, RW);
    cr_assert_eq(m.memtype, K23_PT_MEM_NORMAL);
    unsigned char *mem = (unsigned char *)(uintptr_t)(m.pa - m.pa % K4);
    for (int i = 0; i < 4096; i++)
        cr_assert_eq(mem[i], 0);
    memset(mem, 0x77, 4096);
    /* recommit keeps contents, changes permissions */
    cr_assert_eq(k23_aspace_vm_commit(&as, p, 8 * K4, K23_PERM_READ), K23_OK);
    cr_assert_eq(k23_pt_query(k23_aspace_pt(&as), va + 3 * K4, &m), K23_OK);
    cr_assert_eq(m.perm, K23_PERM_READ);
    cr_assert_eq(((unsigned char *)(uintptr_t)m.pa)[0], 0x77);
    cr_assert_eq(k23_aspace_fault(&as, va + 3 * K4, K23_FAULT_STORE, false,
                                  &fl, &r), K23_ERR_NOT_FOUND);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_DENIED);
    /* decommit frees and unmaps; commit again reads zero */
    k23_aspace_stats_t st;
    k23_aspace_stats(&as, &st);
    cr_assert_eq(st.resident_frames, 8);
    cr_assert_eq(k23_aspace_vm_decommit(&as, (char *)p + 2 * K4, 4 * K4), K23_OK);
    k23_aspace_stats(&as, &st);
    cr_assert_eq(st.resident_frames, 4);
    cr_assert_eq(k23_pt_query(k23_aspace_pt(&as), va + 3 * K4, &m),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_vm_commit(&as, (char *)p + 3 * K4, K4, RW), K23_OK);
    cr_assert_eq(k23_pt_query(k23_aspace_pt(&as), va + 3 * K4, &m), K23_OK);
    for (int i = 0; i < 4096; i++)
        cr_assert_eq(((unsigned char *)(uintptr_t)m.pa)[i], 0);
    /* bad arguments */
    cr_assert_eq(k23_aspace_vm_commit(&as, p, 65 * K4, RW), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_vm_commit(&as, p, K4, RW | K23_PERM_EXECUTE),
                 K23_ERR_WX);
    cr_assert_eq(k23_aspace_vm_commit(&as, p, K4, 0), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_vm_release(&as, p, 32 * K4), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_vm_reserve(&as, 100, 4096, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_vm_reserve(&as, K4, 4096 + 1, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_vm_reserve(&as, WIN_PAGES * K4 * 2, 4096, &p),
                 K23_ERR_NOMEM);
    cr_assert_eq(k23_aspace_vm_release(&as, (void *)(uintptr_t)va, 64 * K4),
                 K23_OK);
    cr_assert_eq(k23_aspace_vm_reserved_bytes(&as), 0);
    k23_pt_flush(&fl);
    k23_aspace_stats(&as, &st);
    cr_assert_eq(st.resident_frames, 0);
    cr_assert_eq(st.regions, 0);
    cr_assert_eq(pool_used(&pool), st.table_frames + st.record_frames);
}

/* ---- arguments, top of the address space ---- */

Test(aspace, bad_arguments_are_inval, .init = setup, .fini = teardown)
{
    k23_aspace_desc_t d = desc(K23_ASPACE_ANON_LAZY, RW);
    uint64_t b;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, 100, &d, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO + 1, K4, &d, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, 0, &d, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO - K4, 2 * K4, &d, &fl),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LAST + 1 - K4, 2 * K4, &d, &fl),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, UINT64_MAX - 4095, &d, &fl),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, NULL, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, NULL), K23_ERR_INVAL);
    d.perm = RW | K23_PERM_EXECUTE;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, &fl), K23_ERR_WX);
    d.perm = K23_PERM_WRITE;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, &fl), K23_ERR_INVAL);
    d.perm = RW;
    d.kind = K23_ASPACE_VM;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, &fl), K23_ERR_INVAL);
    d.kind = 99;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, &fl), K23_ERR_INVAL);
    d = desc(K23_ASPACE_WIRED, RW);
    d.pa = UINT64_MAX - 4095;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, 2 * K4, &d, &fl), K23_ERR_INVAL);
    d.pa = 123;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, &fl), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_find(&as, 100, 12, NULL, &b), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_find(&as, K4, 11, NULL, &b), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_find(&as, K4, 64, NULL, &b), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_find(&as, K4, 12, NULL, NULL), K23_ERR_INVAL);
    k23_aspace_placement_t pl = {WIN_LO + K4, WIN_LO, NULL, NULL};
    cr_assert_eq(k23_aspace_find(&as, K4, 12, &pl, &b), K23_ERR_INVAL);
    pl.lo = WIN_LO - K4;
    pl.last = WIN_LAST;
    cr_assert_eq(k23_aspace_find(&as, K4, 12, &pl, &b), K23_ERR_INVAL);
    /* alignment larger than size is fine; larger than the window is not found */
    cr_assert_eq(k23_aspace_find(&as, K4, 29, NULL, &b), K23_OK);
    cr_assert_eq(b % (UINT64_C(1) << 29), 0);
    cr_assert_eq(k23_aspace_find(&as, K4, 40, NULL, &b), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_find(&as, WIN_PAGES * K4 + K4, 12, NULL, &b),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_unmap(&as, WIN_LO, K4, &fl), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_protect(&as, WIN_LO, K4, RW, &fl), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_release(&as, WIN_LO, &fl), K23_ERR_NOT_FOUND);
    k23_aspace_info_t in;
    cr_assert_eq(k23_aspace_lookup(&as, WIN_LO, &in), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_lookup(NULL, WIN_LO, &in), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_stats(&as, NULL), K23_ERR_INVAL);
    /* unmap across two regions is not one region */
    d = desc(K23_ASPACE_ANON_LAZY, RW);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, &fl), K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO + K4, K4, &d, &fl), K23_OK);
    cr_assert_eq(k23_aspace_unmap(&as, WIN_LO, 2 * K4, &fl), K23_ERR_NOT_FOUND);
    k23_aspace_t bad;
    k23_pt_frame_source_t src = {pool_alloc, pool_free, &pool};
    memset(&bad, 0x5a, sizeof(bad));
    cr_assert_eq(k23_aspace_create(&bad, &k23_pt_x86_64_4level, 1, &src, 0,
                                   UINT64_C(1) << 47), K23_ERR_INVAL);
    cr_assert_eq(bad.magic, 0x5a5a5a5a);
    cr_assert_eq(k23_aspace_create(&bad, &k23_pt_x86_64_4level, 1, &src, 1,
                                   K4 - 1), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_create(&bad, NULL, 1, &src, 0, K4 - 1),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_find(&bad, K4, 12, NULL, &b), K23_ERR_INVAL);
}

Test(aspace, window_at_the_top_of_the_address_space)
{
    uint64_t lo = UINT64_C(0) - 64 * M2;
    setup_with(256, lo, UINT64_MAX, &k23_pt_riscv_sv39);
    k23_aspace_desc_t d = desc(K23_ASPACE_ANON_EAGER, RW);
    cr_assert_eq(k23_aspace_reserve(&as, UINT64_MAX - 2 * K4 + 1, 2 * K4, &d,
                                    &fl), K23_OK);
    cr_assert_eq(k23_aspace_reserve(&as, UINT64_MAX - K4 + 1, 2 * K4, &d, &fl),
                 K23_ERR_INVAL);
    uint64_t b;
    k23_aspace_placement_t pl = {UINT64_MAX - 4 * K4 + 1, UINT64_MAX, NULL,
                                 NULL};
    cr_assert_eq(k23_aspace_find(&as, 2 * K4, 12, &pl, &b), K23_OK);
    cr_assert_eq(b, UINT64_MAX - 4 * K4 + 1);
    cr_assert_eq(k23_aspace_find(&as, 3 * K4, 12, &pl, &b), K23_ERR_NOT_FOUND);
    uint64_t s = 9;
    pl.random = sm_next;
    pl.random_ctx = &s;
    cr_assert_eq(k23_aspace_find(&as, 2 * K4, 12, &pl, &b), K23_OK);
    cr_assert_eq(b, UINT64_MAX - 4 * K4 + 1);
    k23_aspace_fault_result_t r;
    cr_assert_eq(k23_aspace_fault(&as, UINT64_MAX, K23_FAULT_STORE, false, &fl,
                                  &r), K23_OK);
    cr_assert_eq(r.outcome, K23_ASPACE_FAULT_PRESENT);
    cr_assert_eq(k23_aspace_unmap(&as, UINT64_MAX - K4 + 1, K4, &fl), K23_OK);
    cr_assert_eq(k23_aspace_check(&as), K23_OK);
    uint64_t t;
    leafcheck_t c = {0, 0};
    (void)c;
    cr_assert_null(ref_walk(REF_RV_SV39, k23_aspace_pt(&as)->root, hash_leaf,
                            &t, &t));
    teardown();
}

/* ---- out-pointers untouched, misuse panics ---- */

Test(aspace, failed_calls_leave_out_pointers_untouched, .init = setup,
     .fini = teardown)
{
    uint64_t b = 0xDEAD;
    k23_aspace_desc_t d = desc(K23_ASPACE_ANON_LAZY, RW);
    cr_assert_eq(k23_aspace_find(&as, 3, 12, NULL, &b), K23_ERR_INVAL);
    cr_assert_eq(k23_aspace_find(&as, 2 * WIN_PAGES * K4, 12, NULL, &b),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_reserve_any(&as, 2 * WIN_PAGES * K4, 12, NULL, &d,
                                        &fl, &b), K23_ERR_NOT_FOUND);
    d.perm = RW | K23_PERM_EXECUTE;
    cr_assert_eq(k23_aspace_reserve_any(&as, K4, 12, NULL, &d, &fl, &b),
                 K23_ERR_WX);
    cr_assert_eq(b, 0xDEAD);
    k23_aspace_fault_result_t r;
    memset(&r, 0x3c, sizeof(r));
    cr_assert_eq(k23_aspace_fault(&as, WIN_LO, 0x80, false, &fl, &r),
                 K23_ERR_INVAL);
    cr_assert_eq(r.outcome, 0x3c3c3c3c);
    k23_aspace_info_t in;
    memset(&in, 0x3c, sizeof(in));
    cr_assert_eq(k23_aspace_lookup(&as, WIN_LO, &in), K23_ERR_NOT_FOUND);
    cr_assert_eq(in.base, UINT64_C(0x3c3c3c3c3c3c3c3c));
    void *p = &b;
    cr_assert_eq(k23_aspace_vm_reserve(&as, K4, 3 * K4, &p), K23_ERR_INVAL);
    cr_assert_eq(p, &b);
    /* a flush object of another ASID is refused */
    k23_pt_flush_t other;
    cr_assert_eq(k23_pt_flush_init(&other, 2), K23_OK);
    d.perm = RW;
    cr_assert_eq(k23_aspace_reserve(&as, WIN_LO, K4, &d, &other),
                 K23_ERR_INVAL);
    k23_pt_flush_fini(&other);
}

Test(aspace, destroying_a_non_address_space_panics, .signal = SIGABRT)
{
    k23_aspace_t junk;
    k23_pt_flush_t f;
    memset(&junk, 0, sizeof(junk));
    k23_pt_flush_init(&f, 1);
    k23_aspace_destroy(&junk, &f);
}

/* ---- the index at depth ---- */

#define DEEP_N 5000u
#define DEEP_STRIDE (8 * K4)

static void shuffle(unsigned *v, unsigned n, uint64_t *s)
{
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)rnd_below(s, i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static void deep_expect(unsigned i, uint64_t base, uint64_t size)
{
    k23_aspace_info_t in;
    cr_assert_eq(k23_aspace_lookup(&as, base + size - 1, &in), K23_OK,
                 "region %u", i);
    cr_assert_eq(in.base, base, "region %u", i);
    cr_assert_eq(in.size, size, "region %u", i);
}

/* Thousands of regions put in, split and taken out in random order: the
 * index grows several levels deep and shrinks back to nothing (splits,
 * borrowing, merging, a new root and its removal), checked throughout. */
Test(aspace, index_in_random_order_at_depth_stays_consistent, .init = setup,
     .fini = teardown, .timeout = 120)
{
    static unsigned order[DEEP_N];
    uint64_t s = 0x1D3;
    k23_aspace_desc_t d = desc(K23_ASPACE_ANON_LAZY, RW);
    for (unsigned i = 0; i < DEEP_N; i++)
        order[i] = i;
    shuffle(order, DEEP_N, &s);
    for (unsigned k = 0; k < DEEP_N; k++) {
        uint64_t b = WIN_LO + order[k] * DEEP_STRIDE;
        cr_assert_eq(k23_aspace_reserve(&as, b, 3 * K4, &d, &fl), K23_OK);
        if (k % 500 == 0)
            cr_assert_eq(k23_aspace_check(&as), K23_OK);
    }
    cr_assert_eq(k23_aspace_check(&as), K23_OK);
    for (unsigned i = 0; i < DEEP_N; i++)
        deep_expect(i, WIN_LO + i * DEEP_STRIDE, 3 * K4);
    /* below, between and above the regions: nothing */
    k23_aspace_info_t in;
    cr_assert_eq(k23_aspace_lookup(&as, WIN_LO - 1, &in), K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_lookup(&as, WIN_LO + 3 * K4, &in),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_aspace_lookup(&as, WIN_LO + DEEP_N * DEEP_STRIDE, &in),
                 K23_ERR_NOT_FOUND);
    /* split every region: its middle page goes, a tail comes in */
    shuffle(order, DEEP_N, &s);
    for (unsigned k = 0; k < DEEP_N; k++) {
        uint64_t b = WIN_LO + order[k] * DEEP_STRIDE;
        cr_assert_eq(k23_aspace_unmap(&as, b + K4, K4, &fl), K23_OK);
        if (k % 500 == 0)
            cr_assert_eq(k23_aspace_check(&as), K23_OK);
    }
    k23_aspace_stats_t st;
    cr_assert_eq(k23_aspace_stats(&as, &st), K23_OK);
    cr_assert_eq(st.regions, 2 * DEEP_N);
    for (unsigned i = 0; i < DEEP_N; i++) {
        deep_expect(i, WIN_LO + i * DEEP_STRIDE, K4);
        deep_expect(i, WIN_LO + i * DEEP_STRIDE + 2 * K4, K4);
    }
    /* first fit finds the first hole: the middle page of region 0 */
    uint64_t got;
    cr_assert_eq(k23_aspace_find(&as, K4, 12, NULL, &got), K23_OK);
    cr_assert_eq(got, WIN_LO + K4);
    /* 5-page runs lie between the regions, 6 only after the last */
    cr_assert_eq(k23_aspace_find(&as, 5 * K4, 12, NULL, &got), K23_OK);
    cr_assert_eq(got, WIN_LO + 3 * K4);
    cr_assert_eq(k23_aspace_find(&as, 6 * K4, 12, NULL, &got), K23_OK);
    cr_assert_eq(got, WIN_LO + (DEEP_N - 1) * DEEP_STRIDE + 3 * K4);
    shuffle(order, DEEP_N, &s);
    for (unsigned k = 0; k < DEEP_N; k++) {
        uint64_t b = WIN_LO + order[k] * DEEP_STRIDE;
        cr_assert_eq(k23_aspace_release(&as, b, &fl), K23_OK);
        cr_assert_eq(k23_aspace_release(&as, b + 2 * K4, &fl), K23_OK);
        if (k % 500 == 0)
            cr_assert_eq(k23_aspace_check(&as), K23_OK);
    }
    cr_assert_eq(k23_aspace_stats(&as, &st), K23_OK);
    cr_assert_eq(st.regions, 0);
    cr_assert_eq(st.record_frames, 0, "record and index frames all back");
    cr_assert_eq(k23_aspace_check(&as), K23_OK);
}

/* Run op with the k-th frame allocation failing, for k = 0, 1, ... until
 * it succeeds; every failure must leave frames, counts and the index as
 * they were. Returns the failures seen. */
static unsigned fail_each_allocation(int (*op)(uint64_t), uint64_t arg)
{
    unsigned failures = 0;
    for (long k = 0;; k++) {
        k23_aspace_stats_t before, after;
        k23_aspace_stats(&as, &before);
        size_t used = pool_used(&pool);
        pool.fail_in = k;
        int rc = op(arg);
        pool.fail_in = -1;
        if (rc == K23_OK)
            return failures;
        cr_assert_eq(rc, K23_ERR_NOMEM, "k=%ld rc %d", k, rc);
        k23_aspace_stats(&as, &after);
        cr_assert_eq(pool_used(&pool), used, "k=%ld frames", k);
        cr_assert_eq(memcmp(&after, &before, sizeof(after)), 0, "k=%ld", k);
        cr_assert_eq(k23_aspace_check(&as), K23_OK);
        failures++;
    }
}

static int op_reserve_guard(uint64_t b)
{
    k23_aspace_desc_t g = desc(K23_ASPACE_GUARD, 0);
    return k23_aspace_reserve(&as, b, 3 * K4, &g, &fl);
}

static int op_unmap_middle(uint64_t b)
{
    return k23_aspace_unmap(&as, b + K4, K4, &fl);
}

/* Index nodes for a split are taken before anything changes: a failing
 * record or index frame leaves everything as it was. */
Test(aspace, failing_frame_at_an_index_split_leaves_state_unchanged,
     .init = setup, .fini = teardown, .timeout = 120)
{
    static unsigned order[600];
    uint64_t s = 0x5B1;
    for (unsigned i = 0; i < 600; i++)
        order[i] = i;
    shuffle(order, 600, &s);
    unsigned failures = 0, grew = 0;
    for (unsigned k = 0; k < 600; k++) {
        k23_aspace_stats_t a, b;
        k23_aspace_stats(&as, &a);
        failures += fail_each_allocation(op_reserve_guard,
                                         WIN_LO + order[k] * DEEP_STRIDE);
        k23_aspace_stats(&as, &b);
        grew += (unsigned)(b.record_frames - a.record_frames);
    }
    for (unsigned k = 0; k < 600; k++) {
        k23_aspace_stats_t a, b;
        k23_aspace_stats(&as, &a);
        failures += fail_each_allocation(op_unmap_middle,
                                         WIN_LO + order[k] * DEEP_STRIDE);
        k23_aspace_stats(&as, &b);
        grew += (unsigned)(b.record_frames - a.record_frames);
    }
    /* every frame the index and the records kept was refused once first
     * (a split may also take a frame it gives back unused) */
    cr_assert_geq(failures, grew);
    cr_assert_gt(grew, 20);
}
