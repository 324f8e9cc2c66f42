/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A tiny harness for the threaded stress programs (tests/stress_*.c), which
 * cannot use Criterion under ThreadSanitizer. STRESS_CHECK records a
 * failure and goes on; stress_finish prints "N passed, M failed".
 */
#ifndef K23_TEST_STRESS_H
#define K23_TEST_STRESS_H

#include <stdatomic.h>
#include <stdio.h>

/* 1 under ThreadSanitizer or AddressSanitizer: run fewer operations. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SLOW 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define STRESS_SLOW 1
#endif
#endif
#ifndef STRESS_SLOW
#define STRESS_SLOW 0
#endif

static atomic_long stress_passed, stress_failed;

#define STRESS_CHECK(cond, ...)                                          \
    do {                                                                 \
        if (cond) {                                                      \
            atomic_fetch_add(&stress_passed, 1);                         \
        } else {                                                         \
            atomic_fetch_add(&stress_failed, 1);                         \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,       \
                    __LINE__, #cond);                                    \
            fprintf(stderr, __VA_ARGS__);                                \
            fputc('\n', stderr);                                         \
        }                                                                \
    } while (0)

static inline int stress_finish(const char *name)
{
    long p = atomic_load(&stress_passed), f = atomic_load(&stress_failed);
    printf("%s: %ld passed, %ld failed\n", name, p, f);
    return f == 0 && p > 0 ? 0 : 1;
}

#endif
