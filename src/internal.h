/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Internal helpers shared by the portable core. Not installed.
 *
 * The core includes only the compiler's own headers (stddef, stdint,
 * stdbool, stdalign, stdatomic); everything else comes through the port
 * (k23mem/port.h). Not limits.h: GCC's copy include_next's the C
 * library's, so it is not freestanding in practice (use stdint.h's
 * SIZE_MAX and friends).
 */
#ifndef K23MEM_INTERNAL_H
#define K23MEM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k23mem/error.h"
#include "k23mem/port.h"
#include "k23mem/types.h"
/* The port's private configuration (optional inline CPU-local steps, its
 * name): seen by the core and the port, never by the installed headers. */
#include "k23_port_config.h"

/* A lock pair on a path where it is most of the cost: the port's inline
 * uncontended steps when it has them (K23_PORT_LOCK_INLINE), else its
 * hooks. */
#ifdef K23_PORT_LOCK_INLINE
#define K23_LOCK_ACQUIRE_FAST(l) k23_port_lock_acquire_inline(l)
#define K23_LOCK_RELEASE_FAST(l) k23_port_lock_release_inline(l)
#else
#define K23_LOCK_ACQUIRE_FAST(l) k23_port_lock_acquire(l)
#define K23_LOCK_RELEASE_FAST(l) k23_port_lock_release(l)
#endif

/* The limits.h constants the core uses, from the compiler's predefined
 * macros (see above for why not limits.h itself). */
#ifndef CHAR_BIT
#define CHAR_BIT __CHAR_BIT__
#endif
#ifndef INT_MAX
#define INT_MAX __INT_MAX__
#endif
#ifndef UINT_MAX
#define UINT_MAX (__INT_MAX__ * 2U + 1U)
#endif
#ifndef LONG_MAX
#define LONG_MAX __LONG_MAX__
#endif
#ifndef ULONG_MAX
#define ULONG_MAX (__LONG_MAX__ * 2UL + 1UL)
#endif

/* K23_DEBUG: 0 and 1 the same (argument checks are always on), 2 internal
 * state, 3 whole-structure walks. Misuse checks that protect the caller's data (double free) do not
 * use these levels: they are always on. */
#ifndef K23_DEBUG
#define K23_DEBUG 1
#endif

#define K23_PANIC(msg) k23_port_panic(__FILE__, __LINE__, (msg))

#define K23_CHECK_(e) \
    ((e) ? (void)0 : K23_PANIC("assertion failed: " #e))

/* Argument checks of the public API. They are part of the contract (see
 * the README's "Invalid arguments" policy), so no K23_DEBUG level removes
 * them: a function that returns k23_err_t reports a bad argument as
 * K23_ERR_INVAL; one that cannot report (void, a count, a bool) panics
 * through K23_REQUIRE, whose message names the function and the check. */
#define K23_REQUIRE(e, fn) \
    ((e) ? (void)0 : K23_PANIC(fn ": invalid argument: " #e))
#if K23_DEBUG >= 2
#define K23_ASSERT_INTERNAL(e) K23_CHECK_(e)
#else
#define K23_ASSERT_INTERNAL(e) ((void)0)
#endif
/* The same checks with the value they found in the message ("assertion
 * failed: <e>; found <v> = 0x..."), for checks where that value is cheap
 * to name and says what went wrong. v is evaluated only on failure. */
#define K23_CHECK_FOUND_(e, v) \
    ((e) ? (void)0 \
         : K23_PANIC_ADDR("assertion failed: " #e "; found " #v " =", (v)))
#define K23_ASSERT_FOUND(e, v) K23_CHECK_FOUND_(e, v)
#if K23_DEBUG >= 2
#define K23_ASSERT_INTERNAL_FOUND(e, v) K23_CHECK_FOUND_(e, v)
#else
#define K23_ASSERT_INTERNAL_FOUND(e, v) ((void)0)
#endif
#if K23_DEBUG >= 3
#define K23_ASSERT_EXPENSIVE(e) K23_CHECK_(e)
#else
#define K23_ASSERT_EXPENSIVE(e) ((void)0)
#endif
/* A checker that must return K23_OK, with the code it returned in the
 * message ("assertion failed: <call> == K23_OK; found <call> = 0x..."):
 * the call runs once, and not at all below the level. */
#define K23_CHECK_OK_(call) \
    do { \
        int k23_rc_ = (call); \
        if (k23_rc_ != K23_OK) \
            K23_PANIC_ADDR("assertion failed: " #call " == K23_OK; found " \
                           #call " =", k23_rc_); \
    } while (0)
#if K23_DEBUG >= 2
#define K23_ASSERT_INTERNAL_OK(call) K23_CHECK_OK_(call)
#else
#define K23_ASSERT_INTERNAL_OK(call) ((void)0)
#endif
#if K23_DEBUG >= 3
#define K23_ASSERT_EXPENSIVE_OK(call) K23_CHECK_OK_(call)
#else
#define K23_ASSERT_EXPENSIVE_OK(call) ((void)0)
#endif

/* SQLite-style defensive branches: assert in debug builds, pass the value
 * through otherwise, so the code still copes if "impossible" happens. */
#if K23_DEBUG >= 2
#define K23_ALWAYS(x) ((x) ? 1 : (K23_PANIC("ALWAYS failed: " #x), 0))
#define K23_NEVER(x) ((x) ? (K23_PANIC("NEVER failed: " #x), 1) : 0)
#else
#define K23_ALWAYS(x) (x)
#define K23_NEVER(x) (x)
#endif

#define K23_LIKELY(x) __builtin_expect(!!(x), 1)
#define K23_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define K23_UNUSED(x) ((void)(x))
#define K23_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- checked arithmetic (never wraps) ---- */

/* Each returns true when the result overflowed; *out is then unspecified. */
#define k23_add_overflow_(a, b, out) __builtin_add_overflow((a), (b), (out))
#define k23_mul_overflow_(a, b, out) __builtin_mul_overflow((a), (b), (out))

static inline bool k23_is_pow2_(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* ---- byte helpers (src/libc.c) ---- */

/* Freestanding memset/memcpy stand-ins so the core never names libc. The
 * compiler may still turn loops into memset calls: every port provides the
 * real symbols (see port.h). */
void k23_memzero_(void *dst, size_t n);
void k23_memcopy_(void *dst, const void *src, size_t n);
size_t k23_strlen_(const char *s);
/* Append text to a bounded buffer; returns false if it did not fit (the
 * buffer then holds a truncated, still NUL-terminated prefix). */
bool k23_str_append_(char *buf, size_t cap, size_t *pos, const char *s);
/* Append an unsigned number in base 10 or 16 (with "0x" for 16). */
bool k23_str_append_u64_(char *buf, size_t cap, size_t *pos, uint64_t v,
                         unsigned base);

/* Log a message built from a prefix, an unsigned value and a suffix,
 * without any printf. */
void k23_log_u64_(int level, const char *prefix, uint64_t v,
                  const char *suffix);
/* Panic with "msg 0x<addr>". Used by misuse checks that name an address. */
K23_NORETURN void k23_panic_addr_(const char *file, int line, const char *msg,
                                  uint64_t addr);
#define K23_PANIC_ADDR(msg, addr) \
    k23_panic_addr_(__FILE__, __LINE__, (msg), (uint64_t)(addr))

#endif /* K23MEM_INTERNAL_H */
