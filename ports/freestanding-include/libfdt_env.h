/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libfdt_env.h for freestanding builds of libk23mem (written for this
 * project; the name is fixed because <libfdt.h> includes it).
 *
 * libfdt's public header expects this file to provide the fixed-width
 * types, the big-endian cell types fdt16_t/fdt32_t/fdt64_t with their
 * conversions, and declarations of the handful of C library functions
 * libfdt itself calls. A hosted system's version pulls in <stdlib.h> and
 * <string.h>; a kernel has neither, so this one uses only the compiler's
 * own headers. Put this folder on the include path *before* the folder
 * holding libfdt.h. The functions declared at the end must be provided by
 * whoever links libfdt (a kernel's own memcpy etc.); libk23mem's core never
 * calls them itself.
 */
#ifndef LIBFDT_ENV_H
#define LIBFDT_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libfdt's sources use a few <limits.h> constants. GCC's limits.h chains
 * to the C library's, so they come from the compiler's predefined macros
 * instead (as in src/internal.h). */
#ifndef INT_MAX
#define INT_MAX __INT_MAX__
#endif
#ifndef UINT_MAX
#define UINT_MAX (__INT_MAX__ * 2U + 1U)
#endif
#ifndef CHAR_BIT
#define CHAR_BIT __CHAR_BIT__
#endif

/* Device-tree cells are big-endian in the blob. sparse's bitwise
 * annotations are not used here: plain integer typedefs. */
typedef uint16_t fdt16_t;
typedef uint32_t fdt32_t;
typedef uint64_t fdt64_t;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define K23_FDT_ENV_BSWAP16(x) (x)
#define K23_FDT_ENV_BSWAP32(x) (x)
#define K23_FDT_ENV_BSWAP64(x) (x)
#else
#define K23_FDT_ENV_BSWAP16(x) __builtin_bswap16(x)
#define K23_FDT_ENV_BSWAP32(x) __builtin_bswap32(x)
#define K23_FDT_ENV_BSWAP64(x) __builtin_bswap64(x)
#endif

static inline uint16_t fdt16_to_cpu(fdt16_t x)
{
    return K23_FDT_ENV_BSWAP16(x);
}

static inline fdt16_t cpu_to_fdt16(uint16_t x)
{
    return K23_FDT_ENV_BSWAP16(x);
}

static inline uint32_t fdt32_to_cpu(fdt32_t x)
{
    return K23_FDT_ENV_BSWAP32(x);
}

static inline fdt32_t cpu_to_fdt32(uint32_t x)
{
    return K23_FDT_ENV_BSWAP32(x);
}

static inline uint64_t fdt64_to_cpu(fdt64_t x)
{
    return K23_FDT_ENV_BSWAP64(x);
}

static inline fdt64_t cpu_to_fdt64(uint64_t x)
{
    return K23_FDT_ENV_BSWAP64(x);
}

/* What libfdt's own sources call (fdt_ro.c, fdt_rw.c, fdt_sw.c, fdt_wip.c,
 * fdt_strerror.c, fdt_overlay.c, fdt_addresses.c). */
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
