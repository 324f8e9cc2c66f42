/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* The number syntax of k23mem-memmap (see memmap_args.h). */
#include "memmap_args.h"

#include <string.h>

static int memmap_digit(char c, unsigned base)
{
    int d = -1;
    if (c >= '0' && c <= '9')
        d = c - '0';
    else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
    return d >= 0 && (unsigned)d < base ? d : -1;
}

int memmap_parse_u64(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    unsigned base = 10;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    size_t first = i;
    uint64_t v = 0;
    for (; i < n; i++) {
        int d = memmap_digit(s[i], base);
        if (d < 0)
            break;
        if (v > (UINT64_MAX - (unsigned)d) / base)
            return -1;
        v = v * base + (unsigned)d;
    }
    if (i == first)
        return -1; /* no digits */
    unsigned shift = 0;
    if (i < n) {
        switch (s[i]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: return -1;
        }
        i++;
        size_t rest = n - i;
        if (!(rest == 0 || (rest == 1 && s[i] == 'B') ||
              (rest == 2 && s[i] == 'i' && s[i + 1] == 'B')))
            return -1;
    }
    if (shift != 0 && v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

int memmap_parse_page_size(const char *s, unsigned max_log2, uint64_t *out)
{
    uint64_t p;
    if (memmap_parse_u64(s, strlen(s), &p) != 0 || p == 0 ||
        (p & (p - 1)) != 0 || max_log2 >= 64 ||
        p > (UINT64_C(1) << max_log2))
        return -1;
    *out = p;
    return 0;
}

int memmap_parse_exclude(const char *s, uint64_t *start, uint64_t *end)
{
    const char *dash = strchr(s, '-');
    uint64_t a, b;
    if (dash == NULL || memmap_parse_u64(s, (size_t)(dash - s), &a) != 0 ||
        memmap_parse_u64(dash + 1, strlen(dash + 1), &b) != 0 || b < a)
        return -1;
    *start = a;
    *end = b;
    return 0;
}
