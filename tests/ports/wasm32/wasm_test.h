/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A tiny assert harness for the wasm32 test programs (Criterion does not
 * build for wasm32-wasi). CHECK records a failure and goes on; REQUIRE
 * returns from the current test function. WASM_TEST_MAIN prints
 * "N passed, M failed" and exits non-zero on any failure.
 */
#ifndef K23_WASM_TEST_H
#define K23_WASM_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned wt_passed, wt_failed;
static const char *wt_current = "?";

#define CHECK(e)                                                          \
    do {                                                                  \
        if (e) {                                                          \
            wt_passed++;                                                  \
        } else {                                                          \
            wt_failed++;                                                  \
            fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__,   \
                    __LINE__, wt_current, #e);                            \
        }                                                                 \
    } while (0)

#define CHECK_EQ(a, b)                                                    \
    do {                                                                  \
        uint64_t wt_a_ = (uint64_t)(a), wt_b_ = (uint64_t)(b);            \
        if (wt_a_ == wt_b_) {                                             \
            wt_passed++;                                                  \
        } else {                                                          \
            wt_failed++;                                                  \
            fprintf(stderr,                                               \
                    "%s:%d: %s: CHECK_EQ failed: %s == %s (0x%" PRIx64   \
                    " != 0x%" PRIx64 ")\n",                               \
                    __FILE__, __LINE__, wt_current, #a, #b, wt_a_,        \
                    wt_b_);                                               \
        }                                                                 \
    } while (0)

#define REQUIRE(e)                                                        \
    do {                                                                  \
        unsigned wt_f_ = wt_failed;                                       \
        CHECK(e);                                                         \
        if (wt_failed != wt_f_)                                           \
            return;                                                       \
    } while (0)

#define RUN(fn)                                                           \
    do {                                                                  \
        wt_current = #fn;                                                 \
        unsigned wt_f0_ = wt_failed;                                      \
        fn();                                                             \
        printf("%s %s\n", wt_failed == wt_f0_ ? "ok  " : "FAIL", #fn);    \
    } while (0)

static inline int wt_finish(void)
{
    printf("%u passed, %u failed\n", wt_passed, wt_failed);
    return wt_failed == 0 && wt_passed > 0 ? 0 : 1;
}

/* Deterministic xorshift64* so failures reproduce. */
static uint64_t wt_rng_state = 0x9e3779b97f4a7c15ull;
static inline uint64_t wt_rand(void)
{
    uint64_t x = wt_rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    wt_rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}
static inline size_t wt_below(size_t n)
{
    return (size_t)(wt_rand() % n);
}

#endif /* K23_WASM_TEST_H */
