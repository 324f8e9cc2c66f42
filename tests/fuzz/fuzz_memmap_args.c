/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libFuzzer target over k23mem-memmap's argument parsers
 * (tools/memmap_args.c): memmap_parse_u64, memmap_parse_page_size and
 * memmap_parse_exclude.
 *
 * The input up to its first NUL is copied into a heap buffer of exactly
 * that length plus the NUL (ASan sees any read past the end). Each parser
 * must agree with a reference written differently: a regular grammar
 * checked character class by character class, and the value computed in
 * 128-bit arithmetic, an error exactly when the text is malformed or the
 * value does not fit in 64 bits. Outputs are untouched on error.
 *
 * Built by tests/fuzz.cmake (cmake/k23-fuzz.cmake); ctest label "fuzz".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memmap_args.h"

typedef unsigned __int128 u128;

#define SENTINEL UINT64_C(0xa5a5a5a5a5a5a5a5)

static void check(int ok, const char *what, const char *text)
{
    if (!ok) {
        fprintf(stderr, "property broken: %s (text \"%s\")\n", what, text);
        abort();
    }
}

/* NUMBER of exactly n characters: 1 and the exact value if it fits. */
static int ref_number(const char *s, size_t n, uint64_t *out)
{
    static const char hex[] = "0123456789abcdef0123456789ABCDEF";
    const char *end = s + n;
    unsigned base = 10;
    if (n >= 2 && s[0] == '0' && strchr("xX", s[1]) && s[1] != '\0') {
        base = 16;
        s += 2;
    }
    const u128 limit = (u128)1 << 64;
    u128 v = 0;
    size_t digits = 0;
    for (; s < end; s++, digits++) {
        const char *h = memchr(hex, *s, sizeof(hex) - 1);
        if (h == NULL)
            break;
        unsigned d = (unsigned)(h - hex) % 16;
        if (d >= base)
            break;
        v = v * base + d;
        if (v >= limit)
            return 0;
    }
    if (digits == 0)
        return 0;
    size_t rest = (size_t)(end - s);
    if (rest > 0) {
        const char *u = memchr("KMGTkmgt", *s, 8);
        if (u == NULL)
            return 0;
        v <<= 10 * (1 + (unsigned)(u - "KMGTkmgt") % 4);
        char tail[3] = {0};
        if (rest > 3)
            return 0;
        memcpy(tail, s + 1, rest - 1);
        if (strcmp(tail, "") != 0 && strcmp(tail, "B") != 0 &&
            strcmp(tail, "iB") != 0)
            return 0;
    }
    if (v >= limit)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    while (n < size && data[n] != 0)
        n++;
    char *s = malloc(n + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, n);
    s[n] = '\0';

    /* A bare number. */
    uint64_t got = SENTINEL, want = 0;
    int rc = memmap_parse_u64(s, n, &got);
    int ref = ref_number(s, n, &want);
    check(rc == 0 || rc == -1, "return code", s);
    check((rc == 0) == (ref == 1), "accepts differently from the reference", s);
    check(rc == 0 ? got == want : got == SENTINEL,
          rc == 0 ? "value differs" : "output touched on error", s);

    /* --page-size, up to 2^30 as the tool asks (and the top bit, too). */
    for (unsigned max_log2 = 30; max_log2 <= 63; max_log2 += 33) {
        got = SENTINEL;
        rc = memmap_parse_page_size(s, max_log2, &got);
        int pok = ref && want != 0 && (want & (want - 1)) == 0 &&
                  want <= (UINT64_C(1) << max_log2);
        check((rc == 0) == pok, "page size accepted differently", s);
        check(rc == 0 ? got == want : got == SENTINEL,
              "page size value or untouched output", s);
    }

    /* --exclude START-END, split at the first '-'. */
    uint64_t a = SENTINEL, b = SENTINEL, wa = 0, wb = 0;
    rc = memmap_parse_exclude(s, &a, &b);
    const char *dash = memchr(s, '-', n);
    int eok = dash != NULL && ref_number(s, (size_t)(dash - s), &wa) &&
              ref_number(dash + 1, n - (size_t)(dash - s) - 1, &wb) &&
              wa <= wb;
    check((rc == 0) == eok, "exclude accepted differently", s);
    if (rc == 0)
        check(a == wa && b == wb, "exclude values differ", s);
    else
        check(a == SENTINEL && b == SENTINEL, "exclude output touched", s);
    free(s);
    return 0;
}
