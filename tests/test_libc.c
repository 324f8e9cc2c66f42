/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The core's byte helpers (src/libc.c), which stand in for memcpy and
 * memset: every length up to a few words from every alignment of source
 * and destination, against a byte loop written here, with guard bytes
 * around the destination that must stay as they were.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "internal.h"

TestSuite(libc);

enum { MAXLEN = 80, PAD = 16, GUARD = 0xa5 };

/* 8-byte aligned buffers, so that offset o is o bytes past alignment */
static _Alignas(8) unsigned char src[MAXLEN + 2 * PAD];
static _Alignas(8) unsigned char dst[MAXLEN + 2 * PAD];

static void fill_source(void)
{
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 7 + 3);
}

Test(libc, memcopy_copies_exactly_from_every_alignment)
{
    fill_source();
    for (size_t so = 0; so < 8; so++)
        for (size_t d = 0; d < 8; d++)
            for (size_t n = 0; n <= MAXLEN; n++) {
                for (size_t i = 0; i < sizeof(dst); i++)
                    dst[i] = GUARD;
                k23_memcopy_(dst + PAD + d, src + PAD + so, n);
                for (size_t i = 0; i < sizeof(dst); i++) {
                    int in = i >= PAD + d && i < PAD + d + n;
                    unsigned char want =
                        in ? src[PAD + so + (i - PAD - d)] : GUARD;
                    cr_assert_eq(dst[i], want,
                                 "src +%zu, dst +%zu, %zu bytes: byte %zu",
                                 so, d, n, i);
                }
            }
}

Test(libc, memzero_clears_exactly_from_every_alignment)
{
    for (size_t d = 0; d < 8; d++)
        for (size_t n = 0; n <= MAXLEN; n++) {
            for (size_t i = 0; i < sizeof(dst); i++)
                dst[i] = GUARD;
            k23_memzero_(dst + PAD + d, n);
            for (size_t i = 0; i < sizeof(dst); i++) {
                int in = i >= PAD + d && i < PAD + d + n;
                cr_assert_eq(dst[i], in ? 0 : GUARD,
                             "dst +%zu, %zu bytes: byte %zu", d, n, i);
            }
        }
}
