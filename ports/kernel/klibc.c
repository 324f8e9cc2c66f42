/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The C library subset a freestanding kernel must supply: memset, memcpy,
 * memmove and memcmp, which GCC and clang emit calls to on their own, and
 * what Debian's libfdt.a calls (memchr, strchr, strlen, strnlen, strrchr,
 * strtoul, and the stack protector's __stack_chk_guard and
 * __stack_chk_fail, since Debian builds libfdt with -fstack-protector).
 *
 * Built with -fno-builtin and -fno-tree-loop-distribute-patterns so that
 * the compiler cannot turn these loops back into calls to themselves.
 * Word accesses are always aligned: with the MMU off, aarch64 treats
 * memory as Device memory, where an unaligned access faults on hardware
 * (QEMU does not check, so tests would not catch it).
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

typedef uint64_t kword_t;
#define KWORD sizeof(kword_t)

static int klibc_aligned(const void *p)
{
    return ((uintptr_t)p & (KWORD - 1)) == 0;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    unsigned char b = (unsigned char)c;
    while (n != 0 && !klibc_aligned(d)) {
        *d++ = b;
        n--;
    }
    if (n >= KWORD) {
        kword_t w = b * UINT64_C(0x0101010101010101);
        kword_t *wd = (kword_t *)(void *)d;
        /* Eight words per round: zeroing frames is the kernel's hottest
         * loop under emulation, and fewer branches per byte help. */
        while (n >= 8 * KWORD) {
            wd[0] = w; wd[1] = w; wd[2] = w; wd[3] = w;
            wd[4] = w; wd[5] = w; wd[6] = w; wd[7] = w;
            wd += 8;
            n -= 8 * KWORD;
        }
        while (n >= KWORD) {
            *wd++ = w;
            n -= KWORD;
        }
        d = (unsigned char *)wd;
    }
    while (n != 0) {
        *d++ = b;
        n--;
    }
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (((uintptr_t)d & (KWORD - 1)) == ((uintptr_t)s & (KWORD - 1))) {
        while (n != 0 && !klibc_aligned(d)) {
            *d++ = *s++;
            n--;
        }
        kword_t *wd = (kword_t *)(void *)d;
        const kword_t *ws = (const kword_t *)(const void *)s;
        while (n >= KWORD) {
            *wd++ = *ws++;
            n -= KWORD;
        }
        d = (unsigned char *)wd;
        s = (const unsigned char *)ws;
    }
    while (n != 0) {
        *d++ = *s++;
        n--;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    /* Forward copy is safe unless dst starts inside [src, src + n). */
    if ((uintptr_t)d - (uintptr_t)s >= n)
        return memcpy(dst, src, n);
    while (n != 0) {
        n--;
        d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == (unsigned char)c)
            return (void *)(uintptr_t)(p + i);
    }
    return NULL;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

size_t strnlen(const char *s, size_t maxlen)
{
    size_t n = 0;
    while (n < maxlen && s[n] != '\0')
        n++;
    return n;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)(uintptr_t)s;
        if (*s == '\0')
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (*s == '\0')
            return (char *)(uintptr_t)last;
    }
}

static int klibc_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    const char *p = s;
    int neg = 0;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        p++;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' &&
        (p[1] == 'x' || p[1] == 'X') && klibc_digit(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    if (base < 2 || base > 36) {
        if (end != NULL)
            *end = (char *)(uintptr_t)s;
        return 0;
    }
    unsigned long v = 0;
    int any = 0, overflow = 0;
    for (;; p++) {
        int d = klibc_digit(*p);
        if (d >= base)
            break;
        any = 1;
        if (v > (ULONG_MAX - (unsigned long)d) / (unsigned long)base)
            overflow = 1;
        else
            v = v * (unsigned long)base + (unsigned long)d;
    }
    if (end != NULL)
        *end = (char *)(uintptr_t)(any ? p : s);
    /* No errno in this kernel: overflow saturates, as the C standard's
     * strtoul does (it would also set ERANGE). */
    if (overflow)
        return ULONG_MAX;
    return neg ? -v : v;
}

/* The stack protector's canary. Debian compiles libfdt with
 * -fstack-protector-strong; the kernel's own code is built without it.
 * kernel.c mixes a timer reading in at boot, before any libfdt call. */
uintptr_t __stack_chk_guard = (uintptr_t)UINT64_C(0x2f8c1e6a9d3b5704);

K23_NORETURN void __stack_chk_fail(void);

void __stack_chk_fail(void)
{
    k23k_fail("stack smashing detected in libfdt");
}
