/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "k23mem/error.h"

TestSuite(error);

static const int known_codes[] = {
    K23_OK, K23_ERR_NOMEM, K23_ERR_INVAL, K23_ERR_NOT_FOUND, K23_ERR_BUSY,
    K23_ERR_WX, K23_ERR_UNSUPPORTED, K23_ERR_CORRUPT, K23_ERR_OVERFLOW,
    K23_ERR_NOSPACE, K23_ERR_OVERLAP, K23_ERR_ALIGN, K23_ERR_PARSE,
    K23_ERR_FULL, K23_ERR_LIMIT, K23_ERR_TOO_SMALL, K23_ERR_OS,
    K23_ERR_FDT_MAGIC, K23_ERR_FDT_VERSION, K23_ERR_FDT_TRUNCATED,
    K23_ERR_FDT_CORRUPT, K23_ERR_FDT_CELLS, K23_ERR_FDT_REG, K23_ERR_FDT_RANGE,
};

Test(error, every_known_code_has_its_own_message_and_name)
{
    const char *generic = k23_strerror(-126);
    for (size_t i = 0; i < sizeof(known_codes) / sizeof(known_codes[0]); i++) {
        int c = known_codes[i];
        cr_assert(c <= 0, "codes are negative: %d", c);
        cr_assert_str_neq(k23_strerror(c), generic, "code %d", c);
        cr_assert_str_neq(k23_strerror_name(c), "K23_ERR_UNKNOWN", "code %d", c);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(k23_strerror(c), k23_strerror(known_codes[j]),
                              "codes %d and %d share a message", c,
                              known_codes[j]);
    }
    cr_assert_str_eq(k23_strerror_name(K23_ERR_NOMEM), "K23_ERR_NOMEM");
    cr_assert_str_eq(k23_strerror(K23_OK), "success");
}

Test(error, unknown_codes_get_a_generic_string_never_null)
{
    const int unknown[] = {1, 42, -18, -19, -100, -127, -128, -100000,
                           2147483647, -2147483647 - 1};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        cr_assert_not_null(k23_strerror(unknown[i]));
        cr_assert_str_eq(k23_strerror(unknown[i]), "unknown libk23mem error",
                         "code %d", unknown[i]);
        cr_assert_str_eq(k23_strerror_name(unknown[i]), "K23_ERR_UNKNOWN");
    }
}
