/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libFuzzer target over k23_perm_parse() and k23_perm_format().
 *
 * Parse: the input up to its first NUL, copied into a heap buffer of
 * exactly that length plus the NUL, so ASan sees any read past the end.
 * k23_perm_parse() must return K23_ERR_PARSE leaving the output untouched,
 * or K23_OK exactly when an independent reference grammar (below) accepts
 * the text, with the same set, only defined bits, and a set that
 * k23_perm_format() writes and k23_perm_parse() reads back unchanged.
 *
 * Format: the first four bytes are a set (any bits), the fifth a buffer
 * length 0..47; the buffer is a heap block of exactly that length. The
 * result must be K23_ERR_INVAL (undefined bits; buffer untouched), or
 * K23_OK with the reference spelling when it fits with its NUL, or
 * K23_ERR_NOSPACE with an empty string when it does not.
 *
 * Built by tests/fuzz.cmake (cmake/k23-fuzz.cmake) with clang
 * -fsanitize=fuzzer,address,undefined; run by ctest, label "fuzz".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/perm.h"
#include "k23mem/port.h"

/* src/libc.c refers to these; the perm module never calls them. */
void k23_port_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "panic at %s:%d: %s\n", file, line, msg);
    abort();
}

void k23_port_log(int level, const char *msg)
{
    (void)level;
    (void)msg;
}

static void check(int ok, const char *what, const char *text)
{
    if (!ok) {
        fprintf(stderr, "property broken: %s (text \"%s\")\n", what,
                text ? text : "");
        abort();
    }
}

static const char *const ref_names[] = {"READ", "WRITE", "EXECUTE", "USER"};

/* Reference grammar, written differently from src/perm.c: split at '|',
 * trim spaces from each piece, each piece must be a whole name; names are
 * unique; "NONE" only as the single piece. Returns 1 and the set, or 0. */
static int ref_parse(const char *s, uint32_t *out)
{
    uint32_t set = 0;
    size_t pieces = 0;
    int none = 0;
    const char *start = s;
    for (;;) {
        const char *bar = strchr(start, '|');
        const char *end = bar ? bar : start + strlen(start);
        const char *a = start, *b = end;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        size_t n = (size_t)(b - a);
        pieces++;
        if (n == 4 && memcmp(a, "NONE", 4) == 0) {
            none = 1;
        } else {
            uint32_t bit = 0;
            for (unsigned i = 0; i < 4; i++)
                if (strlen(ref_names[i]) == n && memcmp(a, ref_names[i], n) == 0)
                    bit = UINT32_C(1) << i;
            if (bit == 0 || (set & bit))
                return 0;
            set |= bit;
        }
        if (bar == NULL)
            break;
        start = bar + 1;
    }
    if (none && pieces != 1)
        return 0;
    *out = set;
    return 1;
}

/* Reference spelling of a set of defined bits. */
static void ref_format(uint32_t p, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (p == 0) {
        snprintf(buf, cap, "NONE");
        return;
    }
    for (unsigned i = 0; i < 4; i++) {
        if (!(p & (UINT32_C(1) << i)))
            continue;
        if (buf[0] != '\0')
            strncat(buf, " | ", cap - strlen(buf) - 1);
        strncat(buf, ref_names[i], cap - strlen(buf) - 1);
    }
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
    size_t n = 0;
    while (n < size && data[n] != 0)
        n++;
    char *s = malloc(n + 1);
    if (s == NULL)
        return;
    memcpy(s, data, n);
    s[n] = '\0';

    const k23_perm_t sentinel = 0xdeadbeefu;
    k23_perm_t p = sentinel;
    int rc = k23_perm_parse(s, &p);
    uint32_t want = 0;
    int ok = ref_parse(s, &want);
    check(rc == K23_OK || rc == K23_ERR_PARSE, "return code", s);
    if (rc != K23_OK) {
        check(p == sentinel, "output touched on error", s);
        check(!ok, "rejected text the reference grammar accepts", s);
    } else {
        check(ok, "accepted text the reference grammar rejects", s);
        check(p == want, "set differs from the reference", s);
        check((p & ~K23_PERM_ALL) == 0, "undefined bits", s);
        char buf[K23_PERM_STR_MAX];
        check(k23_perm_format(p, buf, sizeof(buf)) == K23_OK,
              "format of a parsed set failed", s);
        k23_perm_t back = sentinel;
        check(k23_perm_parse(buf, &back) == K23_OK && back == p,
              "format does not parse back to the same set", s);
    }
    free(s);
}

static void fuzz_format(const uint8_t *data, size_t size)
{
    if (size < 5)
        return;
    uint32_t p = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
                 (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    /* Mostly defined sets, so the interesting path is taken often. */
    if (data[4] & 0x80)
        p &= K23_PERM_ALL;
    size_t len = (size_t)(data[4] & 0x7f) % 48;
    char *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return;
    memset(buf, 'x', len ? len : 1);
    int rc = k23_perm_format(p, buf, len);
    if ((p & ~K23_PERM_ALL) != 0) {
        check(rc == K23_ERR_INVAL, "undefined bits not rejected", NULL);
        for (size_t i = 0; i < len; i++)
            check(buf[i] == 'x', "buffer touched on INVAL", NULL);
    } else {
        char want[64];
        ref_format(p, want, sizeof(want));
        if (strlen(want) < len) {
            check(rc == K23_OK, "fitting set not formatted", want);
            check(strcmp(buf, want) == 0, "spelling differs", want);
        } else {
            check(rc == K23_ERR_NOSPACE, "too small buffer not NOSPACE", want);
            check(len == 0 || buf[0] == '\0', "NOSPACE left text", want);
        }
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parse(data, size);
    fuzz_format(data, size);
    return 0;
}
