/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A small stand-in for Criterion's <criterion/criterion.h>, so that the
 * core's unit suites (tests/test_<module>.c) also build and run as wasm32
 * programs under Node: the 32-bit arithmetic of the core is then tested on
 * a real 32-bit target. Covers what our suites use: Test() with .init,
 * .fini, .signal, .exit_code, .disabled; TestSuite(); cr_assert and its
 * _eq/_neq/_lt/_leq/_gt/_geq/_null/_not_null/_str_eq/_str_neq/_arr_eq/
 * _fail forms with optional printf-style messages; cr_skip_test;
 * cr_log_info. Differences from Criterion: tests run in one process, in
 * registration order; a failed assertion ends the program (wasi has no
 * longjmp to leave just the test); tests expecting a signal or an exit
 * code are skipped (a trap cannot be survived in-process).
 */
#ifndef K23_CRITERION_SHIM_H
#define K23_CRITERION_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct k23cr_opts {
    int unused_;
    int signal;
    int exit_code;
    bool disabled;
    void (*init)(void);
    void (*fini)(void);
    const char *description;
    double timeout;
};

struct k23cr_test {
    const char *suite, *name;
    void (*fn)(void);
    struct k23cr_opts opts;
    struct k23cr_test *next;
};

void k23cr_register(struct k23cr_test *t);
void k23cr_check(bool ok, const char *expr, const char *file, int line,
                 const char *fmt, ...);
void k23cr_log(const char *fmt, ...);

#define Test(suite, name, ...)                                              \
    static void k23cr_fn_##suite##_##name(void);                            \
    static struct k23cr_test k23cr_t_##suite##_##name = {                   \
        #suite, #name, k23cr_fn_##suite##_##name,                           \
        {.unused_ = 0, __VA_ARGS__}, NULL};                                 \
    __attribute__((constructor)) static void k23cr_reg_##suite##_##name(    \
        void)                                                               \
    {                                                                       \
        k23cr_register(&k23cr_t_##suite##_##name);                          \
    }                                                                       \
    static void k23cr_fn_##suite##_##name(void)

#define TestSuite(...) extern int k23cr_suite_unused_

#define K23CR_CHECK_(ok, expr, ...)                                         \
    k23cr_check((ok), (expr), __FILE__, __LINE__, "" __VA_ARGS__)

#define cr_assert(e, ...) K23CR_CHECK_(!!(e), #e, __VA_ARGS__)
#define cr_expect(e, ...) cr_assert(e, __VA_ARGS__)
#define cr_assert_fail(...) K23CR_CHECK_(false, "cr_assert_fail", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) K23CR_CHECK_((a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) K23CR_CHECK_((a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) K23CR_CHECK_((a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) K23CR_CHECK_((a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) K23CR_CHECK_((a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) K23CR_CHECK_((a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) K23CR_CHECK_((p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) K23CR_CHECK_((p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) \
    K23CR_CHECK_(strcmp((a), (b)) == 0, #a " str== " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) \
    K23CR_CHECK_(strcmp((a), (b)) != 0, #a " str!= " #b, __VA_ARGS__)
#define cr_assert_arr_eq(a, b, size, ...) \
    K23CR_CHECK_(memcmp((a), (b), (size)) == 0, #a " arr== " #b, __VA_ARGS__)
#define cr_expect_eq cr_assert_eq
#define cr_skip_test(...)                                                   \
    do {                                                                    \
        k23cr_log("skipped: " __VA_ARGS__);                                 \
        return;                                                             \
    } while (0)
#define cr_log_info(...) k23cr_log(__VA_ARGS__)
#define cr_log_warn(...) k23cr_log(__VA_ARGS__)

#endif /* K23_CRITERION_SHIM_H */
