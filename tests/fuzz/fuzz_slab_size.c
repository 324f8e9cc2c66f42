/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libFuzzer target over slab_parse_size() (tools/slab_size.c), the SIZE
 * and count syntax of k23mem-slab.
 *
 * The input up to its first NUL is copied into a heap buffer of exactly
 * that length plus the NUL (ASan sees any read past the end) and parsed
 * with and without suffixes. Each result must match a reference written
 * differently: the grammar [0-9]+ ( [KMGTkmgt] ("iB")? )? (suffix only when
 * allowed) and the value computed in 128-bit arithmetic, an error exactly
 * when the grammar rejects the text or the value does not fit in 64 bits.
 * On error the output must be untouched.
 *
 * Built by tests/fuzz.cmake (cmake/k23-fuzz.cmake); ctest label "fuzz".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slab_size.h"

typedef unsigned __int128 u128;

static void check(int ok, const char *what, const char *text)
{
    if (!ok) {
        fprintf(stderr, "property broken: %s (text \"%s\")\n", what, text);
        abort();
    }
}

/* 1 and the value when the text is a well-formed size that fits. */
static int ref_size(const char *s, int allow_suffix, uint64_t *out)
{
    size_t n = strlen(s), digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0)
        return 0;
    const char *rest = s + digits;
    unsigned shift = 0;
    if (*rest != '\0') {
        const char *units = "KMGT", *lower = "kmgt";
        const char *u = strchr(units, rest[0]);
        const char *l = strchr(lower, rest[0]);
        if (!allow_suffix || (u == NULL && l == NULL))
            return 0;
        shift = 10 * (unsigned)(1 + (u ? u - units : l - lower));
        if (strcmp(rest + 1, "") != 0 && strcmp(rest + 1, "iB") != 0)
            return 0;
    }
    /* Exact value, saturated once it exceeds 2^64 (it can only grow). */
    const u128 limit = (u128)1 << 64;
    u128 v = 0;
    for (size_t i = 0; i < digits; i++) {
        v = v * 10 + (u128)(s[i] - '0');
        if (v >= limit)
            return 0;
    }
    v <<= shift; /* v < 2^64 and shift <= 40: no 128-bit overflow */
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
    for (int allow = 0; allow < 2; allow++) {
        const uint64_t sentinel = UINT64_C(0x5a5a5a5a5a5a5a5a);
        uint64_t got = sentinel, want = 0;
        bool ok = slab_parse_size(s, allow != 0, &got);
        int ref = ref_size(s, allow, &want);
        if (ok) {
            check(ref, "accepted text the reference rejects", s);
            check(got == want, "value differs from the exact value", s);
        } else {
            check(!ref, "rejected a well-formed size that fits", s);
            check(got == sentinel, "output touched on error", s);
        }
    }
    free(s);
    return 0;
}
