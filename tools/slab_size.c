/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* The SIZE syntax of k23mem-slab (see slab_size.h). */
#include "slab_size.h"

#include <string.h>

bool slab_parse_size(const char *s, bool allow_suffix, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        s++;
    }
    unsigned shift = 0;
    if (*s != '\0') {
        if (!allow_suffix)
            return false;
        switch (*s) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        default: return false;
        }
        s++;
        if (strcmp(s, "iB") != 0 && *s != '\0')
            return false;
    }
    if (shift != 0 && v > (UINT64_MAX >> shift))
        return false;
    *out = v << shift;
    return true;
}
