/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The SIZE syntax of k23mem-slab, shared by the tool and its libFuzzer
 * target (tests/fuzz/fuzz_slab_size.c).
 */
#ifndef K23MEM_TOOLS_SLAB_SIZE_H
#define K23MEM_TOOLS_SLAB_SIZE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Parse a decimal count: one or more digits 0-9 and, when allow_suffix, an
 * optional binary suffix K, M, G or T (either case; x 2^10, 2^20, 2^30,
 * 2^40) optionally followed by "iB". Nothing else: no sign, no spaces, no
 * hex. Returns false, leaving *out untouched, on anything else, including
 * a value (before or after the suffix) that does not fit in 64 bits.
 */
bool slab_parse_size(const char *s, bool allow_suffix, uint64_t *out);

#endif
