/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Host-independent modules against naive references, built for other CPUs
 * (tests/cross/build.sh: i386 for a 32-bit size_t, s390x for big-endian)
 * and natively. Plain C with its own checks: Criterion is not available
 * for those targets.
 *
 *   cross_check DTB_DIR
 *
 * Each section checks results against a reference written here the slow,
 * obvious way (run search against per-bit run lengths, range merge and
 * subtract against a cell model, slab layouts against their invariants,
 * device-tree maps against the map's documented invariants), and folds
 * every result into a digest printed as "digest <section> <hex>". The
 * inputs come from a fixed-seed generator, so the native build's digests
 * are the reference for the other CPUs (tests/cross/run.sh compares them):
 * any result that depends on the word size or the byte order shows there.
 * Exit status 0 when every check passed.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/bitmap.h"
#include "k23mem/error.h"
#include "k23mem/fdt_memmap.h"
#include "k23mem/perm.h"
#include "k23mem/range.h"
#include "k23mem/slab_layout.h"

/* ---- checks, digest, random numbers ---- */

static unsigned long checks, failures;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            if (failures <= 20) {                                           \
                fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,     \
                        __LINE__, #cond);                                   \
                fprintf(stderr, __VA_ARGS__);                               \
                fputc('\n', stderr);                                        \
            }                                                               \
        }                                                                   \
    } while (0)

/* FNV-1a over 64-bit values, fed byte by byte in a fixed order so that it
 * is the same on every CPU. */
static uint64_t digest;

static void dg(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        digest ^= (v >> (8 * i)) & 0xff;
        digest *= UINT64_C(0x100000001b3);
    }
}

static void dg_str(const char *s)
{
    for (; *s != '\0'; s++)
        dg((unsigned char)*s);
    dg(0x100);
}

static void section_begin(void)
{
    digest = UINT64_C(0xcbf29ce484222325);
}

static void section_end(const char *name)
{
    printf("digest %s %016llx\n", name, (unsigned long long)digest);
}

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) /* 0 .. n - 1, n > 0 */
{
    return rnd() % n;
}

/* ---- bitmap run search ---- */

static bool bit(const unsigned char *bs, size_t i)
{
    return (bs[i / 8] >> (i % 8)) & 1;
}

/* run[i]: how many bits from i on have value v (bits past nbits end a run). */
static void run_lengths(const unsigned char *bs, size_t nbits, bool v,
                        size_t *run)
{
    run[nbits] = 0;
    for (size_t i = nbits; i-- > 0;)
        run[i] = bit(bs, i) == v ? run[i + 1] + 1 : 0;
}

static int naive_find(const size_t *run, size_t nbits, size_t start,
                      size_t len, unsigned align_log2, size_t offset,
                      size_t *out)
{
    if (len == 0 || len > nbits || start >= nbits ||
        align_log2 >= sizeof(size_t) * 8)
        return K23_ERR_INVAL;
    size_t mask = ((size_t)1 << align_log2) - 1;
    for (size_t i = start; i + len <= nbits; i++) {
        if (((i + offset) & mask) == 0 && run[i] >= len) {
            *out = i;
            return K23_OK;
        }
    }
    return K23_ERR_NOT_FOUND;
}

static void fill_pattern(unsigned char *bs, size_t nbytes)
{
    unsigned mode = (unsigned)below(4);
    if (mode < 3) { /* independent bits, sparse, even or dense */
        static const unsigned one_in[3] = {16, 2, 16};
        for (size_t i = 0; i < nbytes * 8; i++) {
            bool set = below(one_in[mode]) == 0;
            if (mode == 2)
                set = !set;
            if (set)
                bs[i / 8] |= (unsigned char)(1u << (i % 8));
        }
        return;
    }
    /* alternating runs of 1 to 200 bits */
    bool v = below(2);
    for (size_t i = 0; i < nbytes * 8;) {
        size_t n = 1 + (size_t)below(200);
        for (; n > 0 && i < nbytes * 8; n--, i++) {
            if (v)
                bs[i / 8] |= (unsigned char)(1u << (i % 8));
        }
        v = !v;
    }
}

static size_t pick_len(size_t nbits)
{
    switch (below(4)) {
    case 0: return 1 + (size_t)below(8);
    case 1: return 1 + (size_t)below(64);
    case 2: return 1 + (size_t)below(nbits);
    default: return (size_t)below(nbits + 2); /* 0 and nbits + 1 too */
    }
}

static unsigned pick_align(void)
{
    switch (below(4)) {
    case 0:
    case 1: return 0;
    case 2: return (unsigned)below(9);
    default: return (unsigned)below(66); /* past size_t's bits too */
    }
}

static void check_search(const unsigned char *bs, size_t nbits,
                         const size_t *run_clear, const size_t *run_set)
{
    size_t start = below(8) == 0 ? (size_t)below(nbits + 2)
                                 : (size_t)below(nbits);
    size_t len = pick_len(nbits);
    unsigned a = pick_align();
    /* Offsets below 2^32 and alignments below 2^32: the answer is then
     * the same for a 32-bit and a 64-bit size_t, so it goes into the
     * digest; wider alignments are checked against the reference only. */
    size_t off = (size_t)(rnd() & 0xffffffffu);
    for (int set = 0; set < 2; set++) {
        size_t want = 0, got = 0;
        int want_rc = naive_find(set ? run_set : run_clear, nbits, start,
                                 len, a, off, &want);
        int rc = set ? k23_bitmap_find_set(bs, nbits, start, len, a, off, &got)
                     : k23_bitmap_find_clear(bs, nbits, start, len, a, off,
                                             &got);
        CHECK(rc == want_rc && (rc != K23_OK || got == want),
              "find_%s nbits %zu start %zu len %zu align %u off %zu: "
              "rc %d idx %zu, want rc %d idx %zu",
              set ? "set" : "clear", nbits, start, len, a, off, rc, got,
              want_rc, want);
        struct k23_bitmap_hit h =
            set ? k23_bitmap_next_set(bs, nbits, start, len, a, off)
                : k23_bitmap_next_clear(bs, nbits, start, len, a, off);
        CHECK(h.rc == want_rc && (h.rc != K23_OK || h.index == want),
              "next_%s nbits %zu start %zu len %zu align %u: rc %d idx %zu, "
              "want rc %d idx %zu",
              set ? "set" : "clear", nbits, start, len, a, h.rc, h.index,
              want_rc, want);
        if (a < 32) {
            dg((uint64_t)(int64_t)rc);
            dg(rc == K23_OK ? got : 0);
        }
    }
}

static void check_fill(unsigned char *bs, size_t nbits, size_t nbytes)
{
    unsigned char *want = malloc(nbytes);
    memcpy(want, bs, nbytes);
    size_t start = (size_t)below(nbits + 1);
    size_t len = (size_t)below(nbits + 2 - start);
    bool set = below(2);
    bool fits = start + len <= nbits;
    if (fits) {
        for (size_t i = start; i < start + len; i++) {
            if (set)
                want[i / 8] |= (unsigned char)(1u << (i % 8));
            else
                want[i / 8] &= (unsigned char)~(1u << (i % 8));
        }
    }
    int rc = set ? k23_bitmap_set_range(bs, nbits, start, len)
                 : k23_bitmap_clear_range(bs, nbits, start, len);
    CHECK(rc == (fits ? K23_OK : K23_ERR_INVAL) &&
              memcmp(bs, want, nbytes) == 0,
          "%s_range nbits %zu start %zu len %zu: rc %d",
          set ? "set" : "clear", nbits, start, len, rc);
    dg((uint64_t)(int64_t)rc);
    free(want);
}

static void section_bitmap(void)
{
    section_begin();
    for (int iter = 0; iter < 400; iter++) {
        size_t nbits;
        switch (below(3)) {
        case 0: nbits = 1 + (size_t)below(70); break;
        case 1: nbits = 64 * (1 + (size_t)below(12)); break;
        default: nbits = 1 + (size_t)below(1200); break;
        }
        size_t nbytes = K23_BITMAP_BYTES(nbits);
        /* exactly the bytes of the bitstring: a read past it is caught by
         * a sanitizer where there is one; bits past nbits are garbage */
        unsigned char *bs = calloc(nbytes, 1);
        size_t *run_clear = malloc((nbits + 1) * sizeof(size_t));
        size_t *run_set = malloc((nbits + 1) * sizeof(size_t));
        fill_pattern(bs, nbytes);
        for (int round = 0; round < 4; round++) {
            run_lengths(bs, nbits, false, run_clear);
            run_lengths(bs, nbits, true, run_set);
            for (int q = 0; q < 12; q++)
                check_search(bs, nbits, run_clear, run_set);
            check_fill(bs, nbits, nbytes);
        }
        for (size_t i = 0; i < nbytes; i++)
            dg(bs[i]);
        free(bs), free(run_clear), free(run_set);
    }
    section_end("bitmap");
}

/* ---- ranges: merge and subtract against a cell model ---- */

/* Addresses base + 0 .. base + CELLS - 1, one cell each; base is chosen so
 * that some ranges end exactly at 2^64 and others straddle 2^32. */
#define CELLS 120

static uint64_t pick_base(void)
{
    switch (below(4)) {
    case 0: return 0;
    case 1: return UINT64_C(0x100000000) - CELLS / 2;
    case 2: return UINT64_MAX - CELLS + 1; /* cell CELLS - 1 is 2^64 - 1 */
    default: return rnd() >> 1;
    }
}

static size_t random_ranges(uint64_t base, k23_range_t *v, size_t max)
{
    size_t n = (size_t)below(max + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t a = below(CELLS);
        uint64_t size = below(4) == 0 ? 0 : below(CELLS - a + 1);
        v[i] = (k23_range_t){base + a, size};
    }
    return n;
}

static void mark(bool *cells, uint64_t base, const k23_range_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (uint64_t k = 0; k < v[i].size; k++)
            cells[v[i].base - base + k] = true;
    }
}

/* Maximal runs of marked cells inside [lo, hi), appended to out. */
static size_t cell_runs(const bool *cells, uint64_t base, size_t lo,
                        size_t hi, k23_range_t *out, size_t n)
{
    for (size_t i = lo; i < hi;) {
        if (!cells[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < hi && cells[j])
            j++;
        out[n++] = (k23_range_t){base + i, j - i};
        i = j;
    }
    return n;
}

static bool same_ranges(const k23_range_t *a, size_t na, const k23_range_t *b,
                        size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (a[i].base != b[i].base || a[i].size != b[i].size)
            return false;
    }
    return true;
}

static void dg_ranges(const k23_range_t *v, size_t n)
{
    dg(n);
    for (size_t i = 0; i < n; i++)
        dg(v[i].base), dg(v[i].size);
}

/* Regions for subtract: a merged list with some regions cut in two, so
 * that touching regions (allowed) occur too. */
static size_t random_regions(uint64_t base, k23_range_t *v)
{
    k23_range_t tmp[8];
    size_t n = random_ranges(base, tmp, 8);
    if (k23_ranges_merge(tmp, &n) != K23_OK)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (tmp[i].size >= 2 && below(2)) {
            uint64_t cut = 1 + below(tmp[i].size - 1);
            v[m++] = (k23_range_t){tmp[i].base, cut};
            v[m++] = (k23_range_t){tmp[i].base + cut, tmp[i].size - cut};
        } else {
            v[m++] = tmp[i];
        }
    }
    return m;
}

static void check_merge(uint64_t base)
{
    k23_range_t v[10], want[CELLS];
    bool cells[CELLS] = {false};
    size_t n = random_ranges(base, v, 10);
    mark(cells, base, v, n);
    size_t nwant = cell_runs(cells, base, 0, CELLS, want, 0);
    int rc = k23_ranges_merge(v, &n);
    CHECK(rc == K23_OK && same_ranges(v, n, want, nwant),
          "merge at base %llx: rc %d, %zu ranges, want %zu",
          (unsigned long long)base, rc, n, nwant);
    CHECK(k23_ranges_check_sorted(v, n) == K23_OK, "merged list not sorted");
    dg((uint64_t)(int64_t)rc);
    dg_ranges(v, n);
}

static void check_subtract(uint64_t base)
{
    k23_range_t regions[16], holes[8], out[32], want[32];
    size_t nreg = random_regions(base, regions);
    size_t nholes = random_ranges(base, holes, 8);
    bool cells[CELLS] = {false};
    mark(cells, base, holes, nholes);
    for (size_t i = 0; i < CELLS; i++)
        cells[i] = !cells[i];
    size_t nwant = 0;
    for (size_t i = 0; i < nreg; i++) {
        size_t lo = (size_t)(regions[i].base - base);
        nwant = cell_runs(cells, base, lo, lo + (size_t)regions[i].size, want,
                          nwant);
    }
    size_t cap = below(3) == 0 ? (size_t)below(nwant + 1) : 32;
    size_t nout = 0;
    int rc = k23_ranges_subtract(regions, nreg, holes, nholes, out, cap, &nout);
    if (nwant > cap) {
        CHECK(rc == K23_ERR_NOSPACE && nout == nwant,
              "subtract with cap %zu: rc %d out_n %zu, want NOSPACE and %zu",
              cap, rc, nout, nwant);
    } else {
        CHECK(rc == K23_OK && same_ranges(out, nout, want, nwant),
              "subtract at base %llx: rc %d, %zu ranges, want %zu",
              (unsigned long long)base, rc, nout, nwant);
        dg_ranges(out, nout);
    }
    dg((uint64_t)(int64_t)rc);
}

static void section_ranges(void)
{
    section_begin();
    for (int iter = 0; iter < 3000; iter++) {
        uint64_t base = pick_base();
        check_merge(base);
        check_subtract(base);
    }
    section_end("ranges");
}

/* ---- permissions ---- */

static void section_perm(void)
{
    section_begin();
    for (uint32_t p = 0; p < 64; p++) {
        char buf[K23_PERM_STR_MAX];
        int rc = k23_perm_format(p, buf, sizeof(buf));
        dg((uint64_t)(int64_t)rc), dg((uint64_t)(int64_t)k23_perm_check(p));
        if (rc != K23_OK)
            continue;
        dg_str(buf);
        k23_perm_t back = 0xdead;
        int prc = k23_perm_parse(buf, &back);
        CHECK(prc == K23_OK && back == p, "perm %u -> \"%s\" -> rc %d, %u",
              (unsigned)p, buf, prc, (unsigned)back);
    }
    for (uint32_t f = 0; f < 16; f++) {
        k23_perm_t p = 0;
        int rc = k23_fault_to_perm(f, &p);
        dg((uint64_t)(int64_t)rc), dg(rc == K23_OK ? p : 0);
    }
    for (uint32_t e = 0; e < 16; e++) {
        k23_perm_t p = 0;
        int rc = k23_perm_from_elf(e, &p);
        dg((uint64_t)(int64_t)rc), dg(rc == K23_OK ? p : 0);
    }
    static const char alphabet[] = "rwxu-_ RWX|,0";
    for (int i = 0; i < 4000; i++) {
        char s[8];
        size_t n = (size_t)below(sizeof(s));
        for (size_t k = 0; k < n; k++)
            s[k] = alphabet[below(sizeof(alphabet) - 1)];
        s[n] = '\0';
        k23_perm_t p = 0;
        int rc = k23_perm_parse(s, &p);
        dg((uint64_t)(int64_t)rc), dg(rc == K23_OK ? p : 0);
    }
    section_end("perm");
}

/* ---- slab layout: invariants of every plan ---- */

static uint64_t pick_size(void)
{
    uint64_t x;
    switch (below(4)) {
    case 0: return below(1 << 20);
    case 1: return UINT64_C(1) << below(48);
    case 2: /* one draw per statement, see check_plan() */
        x = UINT64_C(1) << below(40);
        return x * (1 + below(5));
    default:
        x = rnd();
        return x >> below(64);
    }
}

/* Field by field: the struct has padding. */
static bool same_layout(const k23_slab_layout_t *a, const k23_slab_layout_t *b)
{
    return a->num_slots == b->num_slots && a->slot_bytes == b->slot_bytes &&
           a->max_memory_bytes == b->max_memory_bytes &&
           a->pre_slab_guard_bytes == b->pre_slab_guard_bytes &&
           a->post_slab_guard_bytes == b->post_slab_guard_bytes &&
           a->num_stripes == b->num_stripes &&
           a->total_slab_bytes == b->total_slab_bytes && a->width == b->width;
}

static void check_plan(void)
{
    static const unsigned widths[] = {16, 32, 48, 64};
    /* One draw per statement: the order in which an initializer list's
     * expressions are evaluated is unspecified, and every CPU and compiler
     * must draw the same inputs. */
    k23_slab_target_t t;
    t.page_size = UINT64_C(1) << (below(2) ? 12 : 16);
    t.num_pkeys_available = below(3) == 0 ? below(16) : 0;
    t.width = widths[below(4)];
    k23_slab_limits_t lim;
    lim.memory_reservation = pick_size();
    lim.total_memories = below(2) ? below(64) : pick_size();
    lim.memory_guard_size = pick_size();
    lim.guard_before_linear_memory = below(2);
    lim.max_memory_size = below(4) == 0 || lim.memory_reservation == UINT64_MAX
                              ? pick_size()
                              : below(lim.memory_reservation + 1);
    k23_slab_layout_t l;
    memset(&l, 0, sizeof(l));
    int rc = k23_slab_plan(&lim, &t, &l);
    dg((uint64_t)(int64_t)rc);
    char msg[K23_SLAB_MSG_MAX];
    if (rc != K23_OK) {
        if (k23_slab_error_message(rc, &lim, &t, msg, sizeof(msg)) == K23_OK)
            dg_str(msg);
        return;
    }
    k23_slab_constraints_t c;
    k23_slab_layout_t again;
    CHECK(k23_slab_constraints_new(&lim, &t, &c) == K23_OK &&
              k23_slab_calculate(&c, &again) == K23_OK &&
              same_layout(&again, &l),
          "plan differs from constraints_new + calculate");
    CHECK(k23_slab_layout_check(&c, &l) == K23_OK, "layout_check failed");
    uint64_t max = k23_slab_size_max(t.width);
    CHECK(l.total_slab_bytes <= max && l.slot_bytes >= l.max_memory_bytes &&
              l.num_stripes >= 1 && l.slot_bytes % t.page_size == 0,
          "layout invariants (width %u)", t.width);
    if (l.num_slots > 0) {
        uint64_t first, last;
        CHECK(k23_slab_layout_slot_offset(&l, 0, &first) == K23_OK &&
                  first == l.pre_slab_guard_bytes,
              "slot 0 offset");
        CHECK(k23_slab_layout_slot_offset(&l, l.num_slots - 1, &last) ==
                      K23_OK &&
                  last + l.slot_bytes + l.post_slab_guard_bytes ==
                      l.total_slab_bytes,
              "last slot offset");
    }
    uint64_t past;
    CHECK(k23_slab_layout_slot_offset(&l, l.num_slots, &past) ==
              K23_ERR_INVAL,
          "slot offset past the end");
    dg(l.num_slots), dg(l.slot_bytes), dg(l.max_memory_bytes);
    dg(l.pre_slab_guard_bytes), dg(l.post_slab_guard_bytes);
    dg(l.num_stripes), dg(l.total_slab_bytes), dg(l.width);
    dg(k23_slab_layout_bytes_to_next_stripe_slot(&l));
}

static void section_slab(void)
{
    section_begin();
    for (int i = 0; i < 20000; i++)
        check_plan();
    section_end("slab");
}

/* ---- device-tree memory map on dtc-built blobs ---- */

#define FDT_CAP 32

struct fdt_result {
    k23_fdt_region_t ram[FDT_CAP], taken[FDT_CAP], dyn[FDT_CAP];
    k23_range_t free[FDT_CAP];
    k23_fdt_memmap_t map;
    k23_fdt_memmap_diag_t diag;
};

static void dg_regions(const k23_fdt_region_t *v, size_t n)
{
    dg(n);
    for (size_t i = 0; i < n; i++) {
        dg(v[i].range.base), dg(v[i].range.size), dg(v[i].align);
        dg(v[i].kind), dg(v[i].flags), dg((uint64_t)(int64_t)v[i].node);
        dg(v[i].index), dg_str(v[i].name);
    }
}

/* Whether RAM regions (which may touch or overlap) cover all of f. */
static bool covered_by_ram(const k23_fdt_memmap_t *m, k23_range_t f)
{
    uint64_t pos = f.base, last = k23_range_last(f);
    for (;;) {
        size_t k = 0;
        while (k < m->ram_count && !k23_range_contains(m->ram[k].range, pos))
            k++;
        if (k == m->ram_count)
            return false;
        uint64_t ram_last = k23_range_last(m->ram[k].range);
        if (ram_last >= last)
            return true;
        pos = ram_last + 1;
    }
}

/* The free list's documented shape: sorted, disjoint, not touching,
 * non-empty, page-aligned, inside RAM, outside everything taken. */
static void check_free_list(const struct fdt_result *r, unsigned page_log2,
                            const char *what)
{
    const k23_fdt_memmap_t *m = &r->map;
    uint64_t page = UINT64_C(1) << page_log2;
    for (size_t i = 0; i < m->free_count; i++) {
        k23_range_t f = m->free[i];
        CHECK(f.size != 0 && k23_is_aligned(f.base, page) &&
                  f.size % page == 0,
              "%s: free[%zu] empty or not page-aligned", what, i);
        if (i > 0) {
            k23_range_t p = m->free[i - 1];
            CHECK(p.base + p.size < f.base, "%s: free[%zu] not after free[%zu]",
                  what, i, i - 1);
        }
        CHECK(covered_by_ram(m, f), "%s: free[%zu] outside RAM", what, i);
        for (size_t k = 0; k < m->taken_count; k++)
            CHECK(!k23_range_overlaps(m->taken[k].range, f),
                  "%s: free[%zu] overlaps taken[%zu]", what, i, k);
    }
}

static int run_memmap(const void *blob, size_t size, unsigned page_log2,
                      const k23_range_t *excl, size_t nexcl,
                      struct fdt_result *r)
{
    memset(r, 0, sizeof(*r));
    r->map = (k23_fdt_memmap_t){
        .ram = r->ram, .ram_cap = FDT_CAP,
        .taken = r->taken, .taken_cap = FDT_CAP,
        .dynamic = r->dyn, .dynamic_cap = FDT_CAP,
        .free = r->free, .free_cap = FDT_CAP,
    };
    k23_fdt_memmap_config_t cfg = {page_log2, excl, nexcl};
    int rc = k23_fdt_memmap(blob, size, &cfg, &r->map, &r->diag);
    dg((uint64_t)(int64_t)rc);
    if (rc == K23_OK) {
        dg_regions(r->ram, r->map.ram_count);
        dg_regions(r->taken, r->map.taken_count);
        dg_regions(r->dyn, r->map.dynamic_count);
        dg_ranges(r->free, r->map.free_count);
    } else {
        dg((uint64_t)(int64_t)r->diag.libfdt_err);
        dg((uint64_t)(int64_t)r->diag.node);
        dg_str(r->diag.what ? r->diag.what : "(null)");
    }
    return rc;
}

static void check_blob(const char *name, const unsigned char *blob,
                       size_t size)
{
    static const unsigned pages[] = {0, 12, 21};
    struct fdt_result *r = malloc(sizeof(*r));
    dg_str(name);
    for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
        k23_range_t excl = {UINT64_C(0x40000000) + (rnd() & 0xfffffff), 0x3000};
        for (size_t nexcl = 0; nexcl < 2; nexcl++) {
            if (run_memmap(blob, size, pages[p], &excl, nexcl, r) == K23_OK)
                check_free_list(r, pages[p], name);
        }
    }
    /* Single flipped bytes: an error or a map in shape, the same on every
     * CPU (the digest), never a crash. Copies are exact-size and 8-byte
     * aligned (malloc). */
    unsigned char *copy = malloc(size);
    for (int i = 0; i < 150; i++) {
        memcpy(copy, blob, size);
        size_t at = (size_t)below(size);
        copy[at] ^= (unsigned char)(1 + below(255));
        if (run_memmap(copy, size, 12, NULL, 0, r) == K23_OK)
            check_free_list(r, 12, name);
    }
    free(copy);
    free(r);
}

static unsigned char *read_blob(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 &&
            (buf = malloc((size_t)n)) != NULL &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = n > 0 ? (size_t)n : 0;
    }
    fclose(f);
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void section_fdt(const char *dir)
{
    section_begin();
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    if (d == NULL)
        return;
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 256;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".dtb") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names); /* same order everywhere */
    CHECK(n >= 5, "only %zu .dtb files in %s", n, dir);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t size = 0;
        unsigned char *blob = read_blob(path, &size);
        CHECK(blob != NULL && size > 0, "cannot read %s", path);
        if (blob != NULL && size > 0)
            check_blob(names[i], blob, size);
        free(blob);
        free(names[i]);
    }
    section_end("fdt");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cross_check DTB_DIR\n");
        return 2;
    }
    rng_state = 23;
    section_bitmap();
    section_ranges();
    section_perm();
    section_slab();
    section_fdt(argv[1]);
    printf("%lu checks, %lu failed (size_t %u bits, %s-endian)\n", checks,
           failures, (unsigned)(sizeof(size_t) * 8),
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
           "big"
#else
           "little"
#endif
    );
    return failures == 0 ? 0 : 1;
}
