/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Byte and string helpers for the freestanding core, in the spirit of
 * mimalloc's libc.c: the core never calls the C library by name.
 */
#include "internal.h"

void k23_memzero_(void *dst, size_t n)
{
    /* volatile stops the compiler from turning this loop into a memset
     * call; word stores keep it fast enough for frame zeroing. */
    unsigned char *p = dst;
    while (n != 0 && ((uintptr_t)p & (sizeof(uint64_t) - 1)) != 0) {
        *(volatile unsigned char *)p++ = 0;
        n--;
    }
    while (n >= sizeof(uint64_t)) {
        *(volatile uint64_t *)(void *)p = 0;
        p += sizeof(uint64_t);
        n -= sizeof(uint64_t);
    }
    while (n != 0) {
        *(volatile unsigned char *)p++ = 0;
        n--;
    }
}

/* A word that may hold bytes of any type (memcopy's unit). */
typedef uint64_t __attribute__((may_alias)) libc_word_t;

void k23_memcopy_(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    /* words when both are 8-byte aligned (k23_krealloc() moves whole
     * frame runs); volatile as in k23_memzero_ */
    if ((((uintptr_t)d | (uintptr_t)s) & (sizeof(uint64_t) - 1)) == 0) {
        while (n >= sizeof(uint64_t)) {
            *(volatile libc_word_t *)(void *)d =
                *(const libc_word_t *)(const void *)s;
            d += sizeof(uint64_t);
            s += sizeof(uint64_t);
            n -= sizeof(uint64_t);
        }
    }
    while (n-- != 0)
        *(volatile unsigned char *)d++ = *s++;
}

size_t k23_strlen_(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

bool k23_str_append_(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t p = *pos;
    if (cap == 0)
        return false;
    while (*s != '\0') {
        if (p + 1 >= cap) {
            buf[p] = '\0';
            *pos = p;
            return false;
        }
        buf[p++] = *s++;
    }
    buf[p] = '\0';
    *pos = p;
    return true;
}

bool k23_str_append_u64_(char *buf, size_t cap, size_t *pos, uint64_t v,
                         unsigned base)
{
    char tmp[24];
    size_t n = 0;
    const char *digits = "0123456789abcdef";
    if (base != 16)
        base = 10;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v != 0);
    if (base == 16 && !k23_str_append_(buf, cap, pos, "0x"))
        return false;
    char out[24];
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return k23_str_append_(buf, cap, pos, out);
}

void k23_log_u64_(int level, const char *prefix, uint64_t v,
                  const char *suffix)
{
    char buf[160];
    size_t pos = 0;
    buf[0] = '\0';
    k23_str_append_(buf, sizeof(buf), &pos, prefix);
    k23_str_append_u64_(buf, sizeof(buf), &pos, v, 16);
    k23_str_append_(buf, sizeof(buf), &pos, suffix);
    k23_port_log(level, buf);
}

void k23_panic_addr_(const char *file, int line, const char *msg,
                     uint64_t addr)
{
    char buf[200];
    size_t pos = 0;
    buf[0] = '\0';
    k23_str_append_(buf, sizeof(buf), &pos, msg);
    k23_str_append_(buf, sizeof(buf), &pos, " ");
    k23_str_append_u64_(buf, sizeof(buf), &pos, addr, 16);
    k23_port_panic(file, line, buf);
}
