/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The number syntax of k23mem-memmap's --page-size and --exclude, shared by
 * the tool and its libFuzzer target (tests/fuzz/fuzz_memmap_args.c).
 *
 * NUMBER is decimal digits, or "0x"/"0X" and hex digits, then optionally a
 * binary suffix K, M, G or T (either case; x 2^10 .. 2^40) itself
 * optionally followed by "iB" or "B". No sign, no spaces, no octal (a
 * leading 0 is decimal). A value that does not fit in 64 bits is an error.
 */
#ifndef K23MEM_TOOLS_MEMMAP_ARGS_H
#define K23MEM_TOOLS_MEMMAP_ARGS_H

#include <stddef.h>
#include <stdint.h>

/* Parse exactly the n characters at s as a NUMBER. 0 or -1 (*out untouched). */
int memmap_parse_u64(const char *s, size_t n, uint64_t *out);

/* --page-size: a NUMBER that is a power of two from 1 to 2^max_log2.
 * 0 or -1 (*out untouched). */
int memmap_parse_page_size(const char *s, unsigned max_log2, uint64_t *out);

/* --exclude START-END: two NUMBERs split at the first '-', START <= END.
 * 0 or -1 (*start and *end untouched). */
int memmap_parse_exclude(const char *s, uint64_t *start, uint64_t *end);

#endif
