/*
 * libfdt_env.h for freestanding kernels: what libfdt.h needs from its
 * environment (fixed-width types, big-endian conversions and the string
 * functions it calls), without any hosted header. The kernel port's
 * klibc.c defines the functions declared here.
 *
 * This folder must come before any libfdt folder on the include path, and
 * no hosted libfdt_env.h may sit beside libfdt.h (fetch-libfdt.sh does not
 * copy it), because libfdt.h includes this file by name.
 */
#ifndef LIBFDT_ENV_H
#define LIBFDT_ENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __CHECKER__
#define FDT_FORCE __attribute__((force))
#define FDT_BITWISE __attribute__((bitwise))
#else
#define FDT_FORCE
#define FDT_BITWISE
#endif

/* Device-tree cells are big-endian in memory. */
typedef uint16_t FDT_BITWISE fdt16_t;
typedef uint32_t FDT_BITWISE fdt32_t;
typedef uint64_t FDT_BITWISE fdt64_t;

/* Both kernel targets (aarch64, riscv64) are little-endian; the compiler's
 * byte-swap builtins turn into one rev/rev8-class sequence or a few
 * shifts, and never into a library call. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FDT_ENV_SWAP16(x) ((uint16_t)(x))
#define FDT_ENV_SWAP32(x) ((uint32_t)(x))
#define FDT_ENV_SWAP64(x) ((uint64_t)(x))
#else
#define FDT_ENV_SWAP16(x) __builtin_bswap16((uint16_t)(x))
#define FDT_ENV_SWAP32(x) __builtin_bswap32((uint32_t)(x))
#define FDT_ENV_SWAP64(x) __builtin_bswap64((uint64_t)(x))
#endif

static inline uint16_t fdt16_to_cpu(fdt16_t x)
{
    return FDT_ENV_SWAP16((FDT_FORCE uint16_t)x);
}
static inline fdt16_t cpu_to_fdt16(uint16_t x)
{
    return (FDT_FORCE fdt16_t)FDT_ENV_SWAP16(x);
}
static inline uint32_t fdt32_to_cpu(fdt32_t x)
{
    return FDT_ENV_SWAP32((FDT_FORCE uint32_t)x);
}
static inline fdt32_t cpu_to_fdt32(uint32_t x)
{
    return (FDT_FORCE fdt32_t)FDT_ENV_SWAP32(x);
}
static inline uint64_t fdt64_to_cpu(fdt64_t x)
{
    return FDT_ENV_SWAP64((FDT_FORCE uint64_t)x);
}
static inline fdt64_t cpu_to_fdt64(uint64_t x)
{
    return (FDT_FORCE fdt64_t)FDT_ENV_SWAP64(x);
}

/* The C library subset libfdt calls (declared here because a freestanding
 * build has no <string.h> or <stdlib.h>). */
void *memchr(const void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
char *strchr(const char *s, int c);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t maxlen);
char *strrchr(const char *s, int c);
unsigned long strtoul(const char *s, char **end, int base);

#endif /* LIBFDT_ENV_H */
