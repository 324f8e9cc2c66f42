/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of the run search (k23mem/bitmap.h). Inputs are built with libbsd's
 * own <bsd/sys/bitstring.h> macros to prove the layouts agree, and results
 * are compared with simple bit-by-bit references. Buffers are malloc'ed to
 * the exact libbsd size so that AddressSanitizer catches any read past the
 * last byte; bits past nbits in the last byte hold deliberate garbage.
 */
#include <criterion/criterion.h>
#include <bsd/sys/bitstring.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "k23mem/bitmap.h"

TestSuite(bitmap);

/* ---- references ---- */

/* The plainest possible search: every index, every bit, libbsd's bit_test. */
static int ref_find(const unsigned char *bs, size_t nbits, size_t start,
                    size_t len, unsigned align_log2, size_t align_offset,
                    bool want_set, size_t *out)
{
    if (len == 0 || len > nbits || start >= nbits ||
        align_log2 >= sizeof(size_t) * 8)
        return K23_ERR_INVAL;
    size_t mask = ((size_t)1 << align_log2) - 1;
    for (size_t i = start; i + len <= nbits; i++) {
        if (((i + align_offset) & mask) != 0)
            continue;
        size_t j = 0;
        while (j < len && (bit_test(bs, i + j) != 0) == want_set)
            j++;
        if (j == len) {
            *out = i;
            return K23_OK;
        }
    }
    return K23_ERR_NOT_FOUND;
}

/* Same answer in O(nbits): runlen[i] = bits equal to want_set from i on. */
static int ref_find_linear(const unsigned char *bs, size_t nbits,
                           size_t *runlen, size_t start, size_t len,
                           unsigned align_log2, size_t align_offset,
                           size_t *out)
{
    size_t mask = ((size_t)1 << align_log2) - 1;
    for (size_t i = start; i + len <= nbits; i++)
        if (((i + align_offset) & mask) == 0 && runlen[i] >= len) {
            *out = i;
            return K23_OK;
        }
    (void)bs;
    return K23_ERR_NOT_FOUND;
}

static void ref_runlen(const unsigned char *bs, size_t nbits, bool want_set,
                       size_t *runlen)
{
    size_t r = 0;
    for (size_t i = nbits; i-- > 0;) {
        r = ((bit_test(bs, i) != 0) == want_set) ? r + 1 : 0;
        runlen[i] = r;
    }
}

typedef int (*find_fn)(const unsigned char *, size_t, size_t, size_t,
                       unsigned, size_t, size_t *);
typedef struct k23_bitmap_hit (*next_fn)(const unsigned char *, size_t,
                                         size_t, size_t, unsigned, size_t);

/* Disagreement between the two forms of the API (see call_find). */
#define FORMS_DISAGREE (-1000)

/* Searches through all four forms -- the exported functions (through
 * pointers: (name) and &name are the functions themselves) and the
 * header's macros, which look at the first bits inline before calling
 * them -- with an out-parameter and with a returned hit, and returns the
 * exported out-parameter form's result, or FORMS_DISAGREE when any other
 * form differs from it (an out-parameter written on error counts), so
 * that every reference comparison checks all four. */
static int call_find(bool want_set, const unsigned char *bs, size_t nbits,
                     size_t start, size_t len, unsigned a, size_t off,
                     size_t *out)
{
    find_fn f = want_set ? k23_bitmap_find_set : k23_bitmap_find_clear;
    next_fn n = want_set ? k23_bitmap_next_set : k23_bitmap_next_clear;
    int rc = f(bs, nbits, start, len, a, off, out);
    struct k23_bitmap_hit h = n(bs, nbits, start, len, a, off);
    if (h.rc != rc || (rc == K23_OK && h.index != *out))
        return FORMS_DISAGREE;
    const size_t untouched = SIZE_MAX - 1;
    size_t idx = untouched;
    int rc_inline = want_set
                        ? k23_bitmap_find_set(bs, nbits, start, len, a, off,
                                              &idx)
                        : k23_bitmap_find_clear(bs, nbits, start, len, a, off,
                                                &idx);
    struct k23_bitmap_hit hi =
        want_set ? k23_bitmap_next_set(bs, nbits, start, len, a, off)
                 : k23_bitmap_next_clear(bs, nbits, start, len, a, off);
    if (rc_inline != rc || hi.rc != rc)
        return FORMS_DISAGREE;
    if (rc == K23_OK ? (idx != *out || hi.index != *out) : idx != untouched)
        return FORMS_DISAGREE;
    return rc;
}

/* Set the bits past nbits in the last byte to all-ones or all-zeros. */
static void set_tail(unsigned char *bs, size_t nbits, bool ones)
{
    if (nbits % 8 == 0)
        return;
    unsigned char m = (unsigned char)(0xffu << (nbits % 8));
    if (ones)
        bs[nbits / 8] |= m;
    else
        bs[nbits / 8] &= (unsigned char)~m;
}

/* ---- tiny deterministic PRNG (splitmix64) ---- */

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static size_t rng_below(size_t n) { return (size_t)(rng() % n); }

/* ---- basic behaviour ---- */

Test(bitmap, finds_first_clear_run_in_libbsd_bitstring)
{
    bitstr_t bit_decl(bs, 100);
    memset(bs, 0, sizeof(bs));
    bit_nset(bs, 0, 9);   /* 0..9 set */
    bit_nset(bs, 20, 40); /* 20..40 set */
    size_t idx = 12345;
    cr_assert_eq(k23_bitmap_find_clear(bs, 100, 0, 10, 0, 0, &idx), K23_OK);
    cr_assert_eq(idx, 10);
    cr_assert_eq(k23_bitmap_find_clear(bs, 100, 0, 11, 0, 0, &idx), K23_OK);
    cr_assert_eq(idx, 41);
    cr_assert_eq(k23_bitmap_find_clear(bs, 100, 0, 8, 4, 0, &idx), K23_OK);
    cr_assert_eq(idx, 48);
    /* offset 2: (i + 2) % 16 == 0 -> 14 is too short, 46 fits */
    cr_assert_eq(k23_bitmap_find_clear(bs, 100, 0, 4, 4, 2, &idx), K23_OK);
    cr_assert_eq(idx, 14);
    cr_assert_eq(k23_bitmap_find_clear(bs, 100, 0, 8, 4, 2, &idx), K23_OK);
    cr_assert_eq(idx, 46);
    cr_assert_eq(k23_bitmap_find_set(bs, 100, 0, 21, 0, 0, &idx), K23_OK);
    cr_assert_eq(idx, 20);
    cr_assert_eq(k23_bitmap_find_set(bs, 100, 5, 3, 0, 0, &idx), K23_OK);
    cr_assert_eq(idx, 5);
    cr_assert_eq(k23_bitmap_find_set(bs, 100, 0, 22, 0, 0, &idx),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(idx, 5, "out_idx untouched when nothing is found");
    cr_assert_eq(k23_bitmap_find_clear(bs, 100, 41, 59, 0, 0, &idx), K23_OK);
    cr_assert_eq(idx, 41, "run ending exactly at nbits");
    cr_assert_eq(k23_bitmap_find_clear(bs, 100, 41, 60, 0, 0, &idx),
                 K23_ERR_NOT_FOUND);
}

Test(bitmap, invalid_requests_are_distinct_from_not_found)
{
    unsigned char bs[16] = {0};
    size_t idx = 77;
    const size_t wide = sizeof(size_t) * 8;
    cr_assert_eq(k23_bitmap_find_clear(NULL, 8, 0, 1, 0, 0, &idx),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_clear(bs, 8, 0, 1, 0, 0, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_clear(bs, 8, 0, 0, 0, 0, &idx),
                 K23_ERR_INVAL, "len == 0");
    cr_assert_eq(k23_bitmap_find_clear(bs, 8, 0, 9, 0, 0, &idx),
                 K23_ERR_INVAL, "len > nbits");
    cr_assert_eq(k23_bitmap_find_clear(bs, 8, 8, 1, 0, 0, &idx),
                 K23_ERR_INVAL, "start >= nbits");
    cr_assert_eq(k23_bitmap_find_clear(bs, 0, 0, 1, 0, 0, &idx),
                 K23_ERR_INVAL, "empty bitstring");
    cr_assert_eq(k23_bitmap_find_clear(bs, 8, 0, 1, (unsigned)wide, 0, &idx),
                 K23_ERR_INVAL, "alignment as wide as size_t");
    cr_assert_eq(k23_bitmap_find_clear(bs, 8, 0, 1, 1000u, 0, &idx),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_set(bs, 8, 0, 0, 0, 0, &idx),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_set(bs, 8, 0, 9, 0, 0, &idx),
                 K23_ERR_INVAL);
    cr_assert_eq(idx, 77, "out_idx untouched on error");
    /* widest valid alignment: only index 0 (offset 0) qualifies */
    cr_assert_eq(k23_bitmap_find_clear(bs, 128, 0, 1, (unsigned)wide - 1, 0,
                                       &idx), K23_OK);
    cr_assert_eq(idx, 0);
    cr_assert_eq(k23_bitmap_find_clear(bs, 128, 1, 1, (unsigned)wide - 1, 0,
                                       &idx), K23_ERR_NOT_FOUND);
    /* offset 2^(wide-1) - 5 puts the aligned index at 5 */
    size_t off = ((size_t)1 << (wide - 1)) - 5;
    cr_assert_eq(k23_bitmap_find_clear(bs, 128, 1, 1, (unsigned)wide - 1,
                                       off, &idx), K23_OK);
    cr_assert_eq(idx, 5);
    cr_assert_neq(K23_ERR_INVAL, K23_ERR_NOT_FOUND);
}

Test(bitmap, returned_hit_form_reports_the_same_errors)
{
    unsigned char bs[16] = {0};
    const size_t wide = sizeof(size_t) * 8;
    struct {
        const unsigned char *bs;
        size_t nbits, start, len;
        unsigned a;
        const char *why;
    } bad[] = {
        {NULL, 128, 0, 1, 0, "NULL bitstring (quick-path shape)"},
        {NULL, 8, 0, 1, 3, "NULL bitstring (aligned)"},
        {bs, 128, 0, 0, 0, "len == 0"},
        {bs, 128, 0, 129, 0, "len > nbits"},
        {bs, 128, 128, 1, 0, "start >= nbits"},
        {bs, 0, 0, 1, 0, "empty bitstring"},
        {bs, 128, 0, 1, (unsigned)wide, "alignment as wide as size_t"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct k23_bitmap_hit c = k23_bitmap_next_clear(
            bad[i].bs, bad[i].nbits, bad[i].start, bad[i].len, bad[i].a, 0);
        struct k23_bitmap_hit s = k23_bitmap_next_set(
            bad[i].bs, bad[i].nbits, bad[i].start, bad[i].len, bad[i].a, 0);
        cr_assert_eq(c.rc, K23_ERR_INVAL, "next_clear: %s", bad[i].why);
        cr_assert_eq(s.rc, K23_ERR_INVAL, "next_set: %s", bad[i].why);
    }
    /* found in the quick path, found past it, and not found */
    bit_nset(bs, 0, 69);
    struct k23_bitmap_hit h = k23_bitmap_next_set(bs, 128, 3, 5, 0, 0);
    cr_assert(h.rc == K23_OK && h.index == 3);
    h = k23_bitmap_next_clear(bs, 128, 0, 1, 0, 0);
    cr_assert(h.rc == K23_OK && h.index == 70, "got %d/%zu", h.rc, h.index);
    h = k23_bitmap_next_clear(bs, 128, 0, 59, 0, 0);
    cr_assert_eq(h.rc, K23_ERR_NOT_FOUND);
}

Test(bitmap, set_and_clear_range_match_libbsd_and_reject_bad_ranges)
{
    rng_state = 3;
    for (int iter = 0; iter < 2000; iter++) {
        size_t nbits = 1 + rng_below(300);
        size_t nbytes = bitstr_size(nbits);
        unsigned char *a = malloc(nbytes), *b = malloc(nbytes);
        for (size_t i = 0; i < nbytes; i++)
            a[i] = b[i] = (unsigned char)rng();
        size_t start = rng_below(nbits + 1);
        size_t len = rng_below(nbits - start + 1);
        bool set = rng() & 1;
        int rc = set ? k23_bitmap_set_range(a, nbits, start, len)
                     : k23_bitmap_clear_range(a, nbits, start, len);
        cr_assert_eq(rc, K23_OK);
        if (len > 0) {
            if (set)
                bit_nset(b, (int)start, (int)(start + len - 1));
            else
                bit_nclear(b, (int)start, (int)(start + len - 1));
        }
        cr_assert_eq(memcmp(a, b, nbytes), 0,
                     "nbits %zu start %zu len %zu set %d", nbits, start, len,
                     set);
        free(a);
        free(b);
    }
    unsigned char bs[4] = {0};
    cr_assert_eq(k23_bitmap_set_range(NULL, 8, 0, 1), K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_clear_range(NULL, 8, 0, 1), K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_set_range(bs, 8, 0, 9), K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_set_range(bs, 8, 8, 1), K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_set_range(bs, 8, 9, 0), K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_set_range(bs, 8, SIZE_MAX, 2), K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_clear_range(bs, 8, 2, SIZE_MAX), K23_ERR_INVAL);
    cr_assert_eq(bs[0] | bs[1] | bs[2] | bs[3], 0, "failed calls wrote");
    cr_assert_eq(k23_bitmap_set_range(bs, 8, 8, 0), K23_OK);
    cr_assert_eq(k23_bitmap_set_range(bs, 12, 3, 9), K23_OK);
    cr_assert_eq(bs[0], 0xf8);
    cr_assert_eq(bs[1], 0x0f);
    cr_assert_eq(bs[2], 0, "wrote past nbits");
}

/* ---- exhaustive small cases ---- */

struct align_case {
    unsigned a;
    size_t off;
};
static const struct align_case align_cases[] = {
    {0, 0}, {1, 0}, {1, 1}, {2, 0}, {2, 1}, {2, SIZE_MAX - 2},
    {3, 0}, {3, 3}, {3, SIZE_MAX}, {4, 0}, {4, 5}, {5, 0}, {5, 30},
    {sizeof(size_t) * 8 - 1, 0}, {sizeof(size_t) * 8 - 1, SIZE_MAX},
};

/* Every bitmap of up to 12 bits, every len, start and alignment case, for
 * both polarities, with tail garbage that looks like a continuation. */
Test(bitmap, exhaustive_small_bitmaps_match_reference, .timeout = 300)
{
    size_t runlen[16];
    for (size_t nbits = 1; nbits <= 12; nbits++) {
        size_t nbytes = bitstr_size(nbits);
        unsigned char *bs = malloc(nbytes);
        for (uint32_t pat = 0; pat < (1u << nbits); pat++) {
            memset(bs, 0, nbytes);
            for (size_t i = 0; i < nbits; i++)
                if (pat & (1u << i))
                    bit_set(bs, i);
            for (int pol = 0; pol < 2; pol++) {
                bool want_set = pol;
                /* garbage that would extend a run at the end */
                set_tail(bs, nbits, want_set);
                ref_runlen(bs, nbits, want_set, runlen);
                for (size_t len = 1; len <= nbits; len++)
                    for (size_t c = 0; c < sizeof(align_cases) /
                                               sizeof(align_cases[0]);
                         c++) {
                        unsigned a = align_cases[c].a;
                        size_t off = align_cases[c].off;
                        for (size_t start = 0; start < nbits; start++) {
                            size_t want = SIZE_MAX, got = SIZE_MAX;
                            int rr = ref_find_linear(bs, nbits, runlen, start,
                                                     len, a, off, &want);
                            int rc = call_find(want_set, bs, nbits, start,
                                               len, a, off, &got);
                            if (rc != rr || got != want)
                                cr_assert_fail("nbits %zu pat %#x set %d len %zu "
                                         "a %u off %zu start %zu: got %d/%zu "
                                         "want %d/%zu",
                                         nbits, pat, want_set, len, a, off,
                                         start, rc, got, rr, want);
                        }
                    }
            }
        }
        free(bs);
    }
}

Test(bitmap, linear_reference_agrees_with_plain_reference)
{
    /* The exhaustive test uses the O(n) reference; check it once against
     * the plainest one so that the two references cannot share a bug. */
    size_t runlen[16];
    const size_t nbits = 11;
    unsigned char bs[2];
    for (uint32_t pat = 0; pat < (1u << nbits); pat += 7) {
        bs[0] = (unsigned char)pat;
        bs[1] = (unsigned char)(pat >> 8);
        for (int pol = 0; pol < 2; pol++) {
            ref_runlen(bs, nbits, pol, runlen);
            for (size_t len = 1; len <= nbits; len++)
                for (size_t start = 0; start < nbits; start++)
                    for (unsigned a = 0; a < 4; a++) {
                        size_t x = 99, y = 99;
                        int r1 = ref_find(bs, nbits, start, len, a, 1, pol,
                                          &x);
                        int r2 = ref_find_linear(bs, nbits, runlen, start,
                                                 len, a, 1, &y);
                        cr_assert_eq(r1, r2);
                        cr_assert_eq(x, y);
                    }
        }
    }
}

/* ---- randomized large cases ---- */

/* Fill with runs of set bits of random length at the given density. */
static void fill_runs(unsigned char *bs, size_t nbits, unsigned pct,
                      size_t maxrun)
{
    memset(bs, 0, bitstr_size(nbits));
    size_t i = 0;
    while (i < nbits) {
        size_t run = 1 + rng_below(maxrun);
        /* average gap so that set/(set+gap) is about pct percent */
        size_t gap_mean = pct >= 100 ? 0 : (run * (100 - pct)) / (pct ? pct : 1);
        size_t gap = gap_mean ? rng_below(2 * gap_mean + 1) : 0;
        i += gap;
        if (i >= nbits)
            break;
        if (run > nbits - i)
            run = nbits - i;
        bit_nset(bs, (int)i, (int)(i + run - 1));
        i += run;
    }
}

Test(bitmap, randomized_large_bitmaps_match_reference, .timeout = 300)
{
    rng_state = 42;
    for (int iter = 0; iter < 400; iter++) {
        size_t nbits;
        switch (rng_below(4)) {
        case 0: nbits = 64 * (1 + rng_below(80)); break;
        case 1: nbits = 64 * (1 + rng_below(80)) + 1 + rng_below(63); break;
        case 2: nbits = 8 * (1 + rng_below(600)); break;
        default: nbits = 1 + rng_below(5000); break;
        }
        size_t nbytes = bitstr_size(nbits);
        unsigned char *bs = malloc(nbytes);
        static const unsigned pcts[] = {0, 1, 10, 50, 90, 99, 100};
        unsigned pct = pcts[rng_below(sizeof(pcts) / sizeof(pcts[0]))];
        fill_runs(bs, nbits, pct, 1 + rng_below(128));
        if (rng() & 1) /* random single bits instead of runs */
            for (size_t i = 0; i < nbits; i++)
                if (rng_below(100) < pct)
                    bit_set(bs, i);
        size_t *runlen = malloc(nbits * sizeof(size_t));
        for (int pol = 0; pol < 2; pol++) {
            set_tail(bs, nbits, pol);
            ref_runlen(bs, nbits, pol, runlen);
            for (int q = 0; q < 60; q++) {
                size_t len;
                switch (rng_below(4)) {
                case 0: len = 1 + rng_below(8); break;
                case 1: len = 1 + rng_below(70); break;
                case 2: len = 1 + rng_below(300); break;
                default: len = 1 + rng_below(nbits); break;
                }
                if (len > nbits)
                    len = nbits;
                size_t start = rng_below(4) == 0 ? 0 : rng_below(nbits);
                unsigned a = rng_below(3) == 0 ? (unsigned)rng_below(12) : 0;
                size_t off = rng_below(2) ? 0 : (size_t)rng();
                size_t want = SIZE_MAX, got = SIZE_MAX;
                int rr = ref_find_linear(bs, nbits, runlen, start, len, a,
                                         off, &want);
                int rc = call_find(pol, bs, nbits, start, len, a, off, &got);
                if (rc != rr || got != want)
                    cr_assert_fail("iter %d nbits %zu pct %u set %d len %zu a %u "
                             "off %zu start %zu: got %d/%zu want %d/%zu",
                             iter, nbits, pct, pol, len, a, off, start, rc,
                             got, rr, want);
            }
        }
        free(runlen);
        free(bs);
    }
}

/* Searches with len <= 2^a take a path of their own (whole windows at
 * consecutive aligned slots); len just above 2^a and wide alignments with
 * short runs are mixed in. Maps are mostly free with a few blocked bits
 * (so that some windows are free, some just miss), often with a free
 * aligned window placed right at the end, sizes often not a multiple of
 * 64, start and align_offset anywhere. */
static size_t slot_case_len(unsigned a)
{
    size_t step = (size_t)1 << a;
    switch (rng_below(6)) {
    case 0: return step;                              /* len == 2^a */
    case 1: return step - 1;
    case 2: return 1 + rng_below(step);               /* len <= 2^a */
    case 3: return 57 + rng_below(16);                /* near a word */
    case 4: return step + 1;                          /* len > 2^a */
    default: return step + 1 + rng_below(step);
    }
}

Test(bitmap, aligned_slot_windows_match_reference)
{
    rng_state = 7;
    for (int iter = 0; iter < 1500; iter++) {
        unsigned a = 6 + (unsigned)rng_below(5); /* slots of 64..1024 bits */
        size_t mask = ((size_t)1 << a) - 1;
        size_t len = slot_case_len(a);
        size_t off = rng_below(2) ? 0 : rng_below(mask + 1);
        size_t nbits = 64 + rng_below(4000);
        switch (rng_below(3)) {
        case 0: nbits = (nbits + 63) / 64 * 64 + 64; break; /* 64 | nbits */
        case 1: /* the last start that fits is an aligned candidate */
            nbits = (1 + rng_below(8)) * (mask + 1) + ((0 - off) & mask) +
                    len;
            break;
        default: break;
        }
        if (len > nbits)
            len = nbits;
        size_t nbytes = bitstr_size(nbits);
        unsigned char *bs = malloc(nbytes);
        memset(bs, 0, nbytes);
        size_t nblocked = rng_below(12);
        for (size_t k = 0; k < nblocked; k++)
            bit_set(bs, rng_below(nbits));
        if (rng_below(2)) {
            /* the last aligned window that fits is free: it is the answer
             * whenever nothing before it is */
            size_t lastc = nbits - len;
            size_t c = lastc - ((lastc + off) & mask);
            if (c <= lastc) /* no wrap below 0 */
                bit_nclear(bs, (int)c, (int)(c + len - 1));
        }
        size_t *runlen = malloc(nbits * sizeof(size_t));
        for (int pol = 0; pol < 2; pol++) {
            if (pol)
                for (size_t i = 0; i < nbytes; i++)
                    bs[i] = (unsigned char)~bs[i];
            set_tail(bs, nbits, pol); /* garbage that would extend a run */
            ref_runlen(bs, nbits, pol, runlen);
            for (int q = 0; q < 8; q++) {
                size_t start;
                switch (rng_below(3)) {
                case 0: start = 0; break;
                case 1: start = nbits - 1 - rng_below(nbits < 2048 ? nbits : 2048); break;
                default: start = rng_below(nbits); break;
                }
                size_t want = SIZE_MAX, got = SIZE_MAX;
                int rr = ref_find_linear(bs, nbits, runlen, start, len, a,
                                         off, &want);
                int rc = call_find(pol, bs, nbits, start, len, a, off, &got);
                if (rc != rr || got != want)
                    cr_assert_fail("iter %d nbits %zu set %d len %zu a %u "
                                   "off %zu start %zu: got %d/%zu want "
                                   "%d/%zu",
                                   iter, nbits, pol, len, a, off, start, rc,
                                   got, rr, want);
            }
        }
        free(runlen);
        free(bs);
    }
}

/* len 1 searches from every bit offset in a byte, over bitmaps from
 * nearly empty to nearly full (single bits and runs), with sizes not a
 * multiple of 64 and starts up to the last bit: the quick len-1 path
 * answers from one 8-byte load, the rest falls through to the loops. */
Test(bitmap, len1_from_every_start_matches_reference)
{
    rng_state = 11;
    for (int iter = 0; iter < 300; iter++) {
        size_t nbits = 1 + rng_below(700);
        size_t nbytes = bitstr_size(nbits);
        unsigned char *bs = malloc(nbytes);
        static const unsigned pcts[] = {0, 1, 10, 50, 90, 99, 100};
        unsigned pct = pcts[rng_below(sizeof(pcts) / sizeof(pcts[0]))];
        if (rng() & 1) {
            fill_runs(bs, nbits, pct, 1 + rng_below(40));
        } else {
            memset(bs, 0, nbytes);
            for (size_t i = 0; i < nbits; i++)
                if (rng_below(100) < pct)
                    bit_set(bs, i);
        }
        size_t *runlen = malloc(nbits * sizeof(size_t));
        for (int pol = 0; pol < 2; pol++) {
            set_tail(bs, nbits, pol);
            ref_runlen(bs, nbits, pol, runlen);
            for (size_t start = 0; start < nbits; start++) {
                size_t want = SIZE_MAX, got = SIZE_MAX;
                int rr = ref_find_linear(bs, nbits, runlen, start, 1, 0, 0,
                                         &want);
                int rc = call_find(pol, bs, nbits, start, 1, 0, 0, &got);
                if (rc != rr || got != want)
                    cr_assert_fail("iter %d nbits %zu pct %u set %d start "
                                   "%zu: got %d/%zu want %d/%zu",
                                   iter, nbits, pct, pol, start, rc, got, rr,
                                   want);
            }
        }
        free(runlen);
        free(bs);
    }
}

/* The header's inline first look (k23mem/bitmap.h) answers len <= 8
 * without alignment from the 64 bits at byte start / 8 when start + 64 <=
 * nbits, and hands everything else to the exported search. Every start of
 * bitstrings around one and two words (the look's window then reaches the
 * last bit, or just misses it), len 1..9 (9: one past the look), no
 * alignment and alignments wider than the run, on patterns that put the
 * answer at bit 0, at the last bit, across the word edge, just past the
 * 8 bits the look tests, or nowhere; bits past nbits hold garbage that
 * would extend a run. */
static void first_look_pattern(unsigned char *bs, size_t nbits, int kind)
{
    memset(bs, kind == 1 || kind == 2 || kind == 3 ? 0xff : 0,
           bitstr_size(nbits));
    switch (kind) {
    case 2: bit_clear(bs, nbits - 1); break;     /* only the last bit free */
    case 3: bit_clear(bs, 0); break;             /* only bit 0 free */
    case 4: bit_set(bs, 0); break;
    case 5: bit_set(bs, nbits - 1); break;
    case 6: /* blocked across the word edge */
        bit_set(bs, 63);
        if (nbits > 64)
            bit_set(bs, 64);
        break;
    case 7: /* every 8th bit blocked: no 8 free bits from any start */
        for (size_t i = 7; i < nbits; i += 8)
            bit_set(bs, i);
        break;
    case 8: /* one free bit per byte, at a varying offset */
        memset(bs, 0xff, bitstr_size(nbits));
        for (size_t i = 0; i < nbits; i += 8)
            if (i + (i / 8 * 3) % 8 < nbits)
                bit_clear(bs, i + (i / 8 * 3) % 8);
        break;
    case 9: /* random, half full */
        for (size_t i = 0; i < nbits; i++)
            if (rng() & 1)
                bit_set(bs, i);
        break;
    default: break; /* 0: all free; 1: all blocked */
    }
}

Test(bitmap, inline_first_look_matches_reference)
{
    static const size_t sizes[] = {64, 65, 71, 72, 127, 128, 129, 136};
    static const struct align_case aligns[] = {
        {0, 0}, {0, 5}, {3, 0}, {4, 3}, {9, 0}, {9, 511},
    };
    size_t runlen[136];
    rng_state = 23;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t nbits = sizes[s];
        unsigned char *bs = malloc(bitstr_size(nbits));
        for (int kind = 0; kind <= 9; kind++)
            for (int pol = 0; pol < 2; pol++) {
                first_look_pattern(bs, nbits, kind);
                if (pol)
                    for (size_t i = 0; i < bitstr_size(nbits); i++)
                        bs[i] = (unsigned char)~bs[i];
                set_tail(bs, nbits, pol);
                ref_runlen(bs, nbits, pol, runlen);
                for (size_t len = 1; len <= 9; len++)
                    for (size_t c = 0; c < sizeof(aligns) / sizeof(aligns[0]);
                         c++)
                        for (size_t start = 0; start < nbits; start++) {
                            unsigned a = aligns[c].a;
                            size_t off = aligns[c].off;
                            size_t want = SIZE_MAX, got = SIZE_MAX;
                            int rr = ref_find_linear(bs, nbits, runlen, start,
                                                     len, a, off, &want);
                            int rc = call_find(pol, bs, nbits, start, len, a,
                                               off, &got);
                            if (rc != rr || got != want)
                                cr_assert_fail(
                                    "nbits %zu kind %d set %d len %zu a %u "
                                    "off %zu start %zu: got %d/%zu want "
                                    "%d/%zu",
                                    nbits, kind, pol, len, a, off, start, rc,
                                    got, rr, want);
                        }
            }
        free(bs);
    }
}

/* The first look reads 8 bytes from byte start / 8 only when start + 64 <=
 * nbits: with the bitstring's last byte right before an inaccessible page,
 * searches from every start up to the last bit must not fault, and the
 * invalid requests of the inline forms get the exported functions' errors
 * with the out-parameter untouched. */
Test(bitmap, inline_first_look_stays_inside_the_bitstring)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(map, MAP_FAILED);
    cr_assert_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    static const size_t sizes[] = {64, 65, 72, 100, 128, 200};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t nbits = sizes[s];
        unsigned char *bs = map + page - bitstr_size(nbits);
        memset(bs, 0xff, bitstr_size(nbits));
        bit_clear(bs, nbits - 1);
        for (size_t start = 0; start < nbits; start++)
            for (size_t len = 1; len <= 2; len++) {
                size_t got = SIZE_MAX;
                int want = len == 1 ? K23_OK : K23_ERR_NOT_FOUND;
                cr_assert_eq(k23_bitmap_find_clear(bs, nbits, start, len, 0,
                                                   0, &got), want);
                cr_assert_eq(k23_bitmap_next_clear(bs, nbits, start, len, 0,
                                                   0).rc, want);
                if (len == 1)
                    cr_assert_eq(got, nbits - 1);
                /* set runs: everything before the last bit */
                bool fits = start + len <= nbits - 1;
                got = SIZE_MAX;
                cr_assert_eq(k23_bitmap_find_set(bs, nbits, start, len, 0, 0,
                                                 &got),
                             fits ? K23_OK : K23_ERR_NOT_FOUND);
                cr_assert_eq(got, fits ? start : SIZE_MAX,
                             "nbits %zu start %zu len %zu", nbits, start,
                             len);
            }
    }
    /* invalid requests, each otherwise one the first look could answer */
    unsigned char *bs = map + page - 16;
    memset(bs, 0, 16);
    size_t got = 77;
    cr_assert_eq(k23_bitmap_find_clear(NULL, 128, 0, 1, 0, 0, &got),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_clear(bs, 128, 0, 1, 0, 0, NULL),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_clear(bs, 128, 0, 0, 0, 0, &got),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_set(bs, 128, 128, 1, 0, 0, &got),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_clear(bs, 128, SIZE_MAX, 1, 0, 0, &got),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_find_clear(bs, 128, 0, 1,
                                       (unsigned)sizeof(size_t) * 8, 0, &got),
                 K23_ERR_INVAL);
    cr_assert_eq(got, 77, "out_idx untouched on error");
    cr_assert_eq(k23_bitmap_next_clear(NULL, 128, 0, 1, 0, 0).rc,
                 K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_next_set(bs, 128, 0, 0, 0, 0).rc, K23_ERR_INVAL);
    cr_assert_eq(k23_bitmap_next_clear(bs, 128, 200, 1, 0, 0).rc,
                 K23_ERR_INVAL);
    munmap(map, 2 * (size_t)page);
}

/* ---- boundaries ---- */

Test(bitmap, runs_crossing_word_edges_and_ending_at_nbits)
{
    static const size_t sizes[] = {63, 64, 65, 127, 128, 129, 191, 200, 255,
                                   256, 257, 1000, 1024, 1031};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t nbits = sizes[s];
        size_t nbytes = bitstr_size(nbits);
        unsigned char *bs = malloc(nbytes);
        /* all set except one clear run [lo, lo + len) */
        for (size_t lo = 0; lo < nbits; lo += 1 + lo / 8)
            for (size_t len = 1; lo + len <= nbits; len += 1 + len / 4) {
                memset(bs, 0xff, nbytes);
                bit_nclear(bs, (int)lo, (int)(lo + len - 1));
                set_tail(bs, nbits, false);
                size_t got = SIZE_MAX;
                cr_assert_eq(k23_bitmap_find_clear(bs, nbits, 0, len, 0, 0,
                                                   &got), K23_OK);
                cr_assert_eq(got, lo, "nbits %zu lo %zu len %zu", nbits, lo,
                             len);
                cr_assert_eq(k23_bitmap_find_clear(bs, nbits, lo, len, 0, 0,
                                                   &got), K23_OK);
                cr_assert_eq(got, lo);
                if (len + 1 <= nbits)
                    cr_assert_eq(k23_bitmap_find_clear(bs, nbits, 0, len + 1,
                                                       0, 0, &got),
                                 K23_ERR_NOT_FOUND,
                                 "nbits %zu lo %zu len %zu", nbits, lo, len);
                if (lo + 1 < nbits)
                    cr_assert_eq(k23_bitmap_find_clear(bs, nbits, lo + 1, len,
                                                       0, 0, &got),
                                 K23_ERR_NOT_FOUND);
                /* the inverse bitstring through find_set */
                for (size_t i = 0; i < nbytes; i++)
                    bs[i] = (unsigned char)~bs[i];
                cr_assert_eq(k23_bitmap_find_set(bs, nbits, 0, len, 0, 0,
                                                 &got), K23_OK);
                cr_assert_eq(got, lo);
            }
        free(bs);
    }
}

/* Bit counts past 2^32 (libbsd's int macros cannot): a sparse mapping of
 * 2^40 + 3 bits, touching only its last pages. */
Test(bitmap, bit_counts_beyond_2_pow_40)
{
    if (sizeof(size_t) < 8)
        cr_skip_test("32-bit host");
    const size_t nbits = ((size_t)1 << 40) + 3;
    const size_t nbytes = K23_BITMAP_BYTES(nbits);
    unsigned char *bs = mmap(NULL, nbytes, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                             0);
    if (bs == MAP_FAILED)
        cr_skip_test("cannot reserve 128 GiB of address space");
    const size_t base = nbits - 100000;
    cr_assert_eq(k23_bitmap_set_range(bs, nbits, base, nbits - base), K23_OK);
    cr_assert_eq(k23_bitmap_clear_range(bs, nbits, nbits - 700, 300), K23_OK);
    cr_assert_eq(k23_bitmap_clear_range(bs, nbits, nbits - 5, 5), K23_OK);
    size_t got = 0;
    cr_assert_eq(k23_bitmap_find_clear(bs, nbits, base, 300, 0, 0, &got),
                 K23_OK);
    cr_assert_eq(got, nbits - 700);
    cr_assert_eq(k23_bitmap_find_clear(bs, nbits, base, 5, 2, 0, &got),
                 K23_OK);
    cr_assert_eq(got, (nbits - 700 + 3) & ~(size_t)3);
    cr_assert_eq(k23_bitmap_find_clear(bs, nbits, nbits - 600, 5, 0, 0, &got),
                 K23_OK);
    cr_assert_eq(got, nbits - 600);
    cr_assert_eq(k23_bitmap_find_clear(bs, nbits, nbits - 400, 5, 0, 0, &got),
                 K23_OK);
    cr_assert_eq(got, nbits - 5, "run ending exactly at nbits");
    cr_assert_eq(k23_bitmap_find_clear(bs, nbits, nbits - 400, 6, 0, 0, &got),
                 K23_ERR_NOT_FOUND);
    cr_assert_eq(k23_bitmap_find_set(bs, nbits, base, 1000, 10, 0, &got),
                 K23_OK);
    cr_assert_eq(got % 1024, 0);
    cr_assert(got >= base && got + 1000 <= nbits - 700);
    cr_assert_eq(k23_bitmap_test(bs, nbits - 701), true);
    cr_assert_eq(k23_bitmap_test(bs, nbits - 700), false);
    munmap(bs, nbytes);
}

/* The example of docs/bitmap.md. */
Test(bitmap, documented_example_finds_aligned_frames)
{
    bitstr_t bit_decl(frames, 4096);
    memset(frames, 0, sizeof(frames));
    bit_nset(frames, 0, 99);
    size_t first = 0;
    cr_assert_eq(k23_bitmap_find_clear(frames, 4096, 0, 16, 4, 0, &first),
                 K23_OK);
    cr_assert_eq(first, 112);
    cr_assert_eq(k23_bitmap_set_range(frames, 4096, first, 16), K23_OK);
    cr_assert(bit_test(frames, 112) && bit_test(frames, 127));
    cr_assert(!bit_test(frames, 111) && !bit_test(frames, 128));
}
