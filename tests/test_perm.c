/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "k23mem/perm.h"

TestSuite(perm);

Test(perm, wx_check_rejects_write_with_execute_only)
{
    for (k23_perm_t p = 0; p <= K23_PERM_ALL; p++) {
        bool wx = (p & K23_PERM_WRITE) && (p & K23_PERM_EXECUTE);
        cr_assert_eq(k23_perm_is_wx(p), wx, "perm %u", p);
        cr_assert_eq(k23_perm_check(p), wx ? K23_ERR_WX : K23_OK, "perm %u", p);
    }
    cr_assert_eq(k23_perm_check(K23_PERM_READ | (1u << 4)), K23_ERR_INVAL);
    cr_assert_eq(k23_perm_check(UINT32_MAX), K23_ERR_INVAL);
}

Test(perm, fault_flags_with_load_and_store_are_invalid)
{
    k23_perm_t out = 99;
    cr_assert(!k23_fault_is_valid(K23_FAULT_LOAD | K23_FAULT_STORE));
    cr_assert_eq(k23_fault_to_perm(K23_FAULT_LOAD | K23_FAULT_STORE, &out), K23_ERR_INVAL);
    cr_assert_eq(k23_fault_to_perm(K23_FAULT_LOAD | K23_FAULT_STORE | K23_FAULT_INSTRUCTION, &out),
                 K23_ERR_INVAL);
    cr_assert_eq(k23_fault_to_perm(1u << 2, &out), K23_ERR_INVAL, "undefined bit 2");
    cr_assert_eq(k23_fault_to_perm(K23_FAULT_LOAD, NULL), K23_ERR_INVAL);
    cr_assert_eq(out, 99, "untouched on error");
}

Test(perm, fault_flags_convert_to_the_permissions_the_access_needs)
{
    static const struct {
        k23_fault_t f;
        k23_perm_t want;
    } cases[] = {
        {0, K23_PERM_READ},
        {K23_FAULT_LOAD, K23_PERM_READ},
        {K23_FAULT_STORE, K23_PERM_WRITE},
        {K23_FAULT_INSTRUCTION, K23_PERM_READ | K23_PERM_EXECUTE},
        {K23_FAULT_LOAD | K23_FAULT_INSTRUCTION, K23_PERM_READ | K23_PERM_EXECUTE},
        {K23_FAULT_STORE | K23_FAULT_INSTRUCTION, K23_PERM_WRITE | K23_PERM_EXECUTE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        k23_perm_t out = 0;
        cr_assert_eq(k23_fault_to_perm(cases[i].f, &out), K23_OK);
        cr_assert_eq(out, cases[i].want, "fault %u", cases[i].f);
    }
}

Test(perm, elf_flags_convert_and_reject_write_execute)
{
    for (uint32_t f = 0; f < 8; f++) {
        k23_perm_t out = 0xdead;
        int err = k23_perm_from_elf(f | 0xf0000000u /* OS/proc bits ignored */, &out);
        if ((f & K23_ELF_PF_W) && (f & K23_ELF_PF_X)) {
            cr_assert_eq(err, K23_ERR_WX, "flags %u", f);
            cr_assert_eq(out, 0xdead);
            continue;
        }
        cr_assert_eq(err, K23_OK, "flags %u", f);
        cr_assert_eq(!!(out & K23_PERM_READ), !!(f & K23_ELF_PF_R));
        cr_assert_eq(!!(out & K23_PERM_WRITE), !!(f & K23_ELF_PF_W));
        cr_assert_eq(!!(out & K23_PERM_EXECUTE), !!(f & K23_ELF_PF_X));
        cr_assert_eq(out & K23_PERM_USER, 0);
    }
    cr_assert_eq(k23_perm_from_elf(K23_ELF_PF_R, NULL), K23_ERR_INVAL);
}

Test(perm, format_uses_fixed_order_and_none_for_empty)
{
    char buf[K23_PERM_STR_MAX];
    cr_assert_eq(k23_perm_format(0, buf, sizeof(buf)), K23_OK);
    cr_assert_str_eq(buf, "NONE");
    cr_assert_eq(k23_perm_format(K23_PERM_WRITE | K23_PERM_READ, buf, sizeof(buf)), K23_OK);
    cr_assert_str_eq(buf, "READ | WRITE");
    cr_assert_eq(k23_perm_format(K23_PERM_ALL, buf, sizeof(buf)), K23_OK);
    cr_assert_str_eq(buf, "READ | WRITE | EXECUTE | USER");
    cr_assert_lt(strlen(buf), K23_PERM_STR_MAX);
    cr_assert_eq(k23_perm_format(K23_PERM_READ, buf, 4), K23_ERR_NOSPACE);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(k23_perm_format(K23_PERM_READ, buf, 5), K23_OK);
    cr_assert_eq(k23_perm_format(1u << 9, buf, sizeof(buf)), K23_ERR_INVAL);
    cr_assert_eq(k23_perm_format(K23_PERM_READ, NULL, 9), K23_ERR_INVAL);
}

Test(perm, all_sixteen_sets_round_trip_through_text)
{
    for (k23_perm_t p = 0; p <= K23_PERM_ALL; p++) {
        char buf[K23_PERM_STR_MAX];
        k23_perm_t back = 0xff;
        cr_assert_eq(k23_perm_format(p, buf, sizeof(buf)), K23_OK);
        cr_assert_eq(k23_perm_parse(buf, &back), K23_OK, "'%s'", buf);
        cr_assert_eq(back, p, "'%s'", buf);
    }
}

Test(perm, parse_accepts_any_order_and_spacing)
{
    k23_perm_t p;
    cr_assert_eq(k23_perm_parse("WRITE|READ", &p), K23_OK);
    cr_assert_eq(p, K23_PERM_READ | K23_PERM_WRITE);
    cr_assert_eq(k23_perm_parse("  USER  |EXECUTE ", &p), K23_OK);
    cr_assert_eq(p, K23_PERM_USER | K23_PERM_EXECUTE);
}

Test(perm, bad_strings_give_an_error_not_a_guess)
{
    static const char *bad[] = {
        "", " ", "|", "READ|", "|READ", "READ||WRITE", "read", "Read",
        "READ WRITE", "READ,WRITE", "READ | READ", "NONE | READ", "NONE|NONE",
        "READX", "REA", "READ | WRITE | EXECUTE | USER | R", "R|W", "0",
        "READ\t|WRITE", "READ\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        k23_perm_t p = 0x77;
        cr_assert_eq(k23_perm_parse(bad[i], &p), K23_ERR_PARSE, "'%s'", bad[i]);
        cr_assert_eq(p, 0x77, "untouched on error");
    }
    k23_perm_t p;
    cr_assert_eq(k23_perm_parse(NULL, &p), K23_ERR_INVAL);
    cr_assert_eq(k23_perm_parse("READ", NULL), K23_ERR_INVAL);
}
