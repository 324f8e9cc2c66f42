/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Permission flags: W^X checks, fault-flag conversion, ELF flags, and the
 * text form "READ | WRITE" (fixed order; "NONE" for the empty set).
 */
#include "k23mem/perm.h"

#include "internal.h"

static const struct perm_name {
    k23_perm_t bit;
    const char *name;
} perm_names[] = {
    {K23_PERM_READ, "READ"},
    {K23_PERM_WRITE, "WRITE"},
    {K23_PERM_EXECUTE, "EXECUTE"},
    {K23_PERM_USER, "USER"},
};

static const char perm_none_name[] = "NONE";

int k23_perm_check(k23_perm_t p)
{
    if ((p & ~K23_PERM_ALL) != 0)
        return K23_ERR_INVAL;
    if (k23_perm_is_wx(p))
        return K23_ERR_WX;
    return K23_OK;
}

int k23_fault_to_perm(k23_fault_t f, k23_perm_t *out)
{
    if (out == NULL || !k23_fault_is_valid(f))
        return K23_ERR_INVAL;
    /* A store needs WRITE; anything else (a load, or a fetch with no load
     * or store bit) needs READ; a fetch also needs EXECUTE. */
    k23_perm_t p = (f & K23_FAULT_STORE) ? K23_PERM_WRITE : K23_PERM_READ;
    if (f & K23_FAULT_INSTRUCTION)
        p |= K23_PERM_EXECUTE;
    *out = p;
    return K23_OK;
}

int k23_perm_from_elf(uint32_t p_flags, k23_perm_t *out)
{
    if (out == NULL)
        return K23_ERR_INVAL;
    k23_perm_t p = K23_PERM_NONE;
    if (p_flags & K23_ELF_PF_R)
        p |= K23_PERM_READ;
    if (p_flags & K23_ELF_PF_W)
        p |= K23_PERM_WRITE;
    if (p_flags & K23_ELF_PF_X)
        p |= K23_PERM_EXECUTE;
    if (k23_perm_is_wx(p))
        return K23_ERR_WX;
    *out = p;
    return K23_OK;
}

int k23_perm_format(k23_perm_t p, char *buf, size_t len)
{
    if (buf == NULL || (p & ~K23_PERM_ALL) != 0)
        return K23_ERR_INVAL;
    size_t pos = 0;
    bool ok = true;
    if (len > 0)
        buf[0] = '\0';
    if (p == K23_PERM_NONE) {
        ok = k23_str_append_(buf, len, &pos, perm_none_name);
    } else {
        bool first = true;
        for (size_t i = 0; i < K23_ARRAY_SIZE(perm_names) && ok; i++) {
            if (!(p & perm_names[i].bit))
                continue;
            if (!first)
                ok = k23_str_append_(buf, len, &pos, " | ");
            if (ok)
                ok = k23_str_append_(buf, len, &pos, perm_names[i].name);
            first = false;
        }
    }
    if (!ok) {
        if (len > 0)
            buf[0] = '\0';
        return K23_ERR_NOSPACE;
    }
    return K23_OK;
}

static bool perm_word_eq(const char *s, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n; i++)
        if (word[i] == '\0' || word[i] != s[i])
            return false;
    return word[i] == '\0';
}

int k23_perm_parse(const char *s, k23_perm_t *out)
{
    if (s == NULL || out == NULL)
        return K23_ERR_INVAL;
    k23_perm_t p = K23_PERM_NONE;
    size_t words = 0;
    bool saw_none = false;
    const char *c = s;
    for (;;) {
        while (*c == ' ')
            c++;
        const char *w = c;
        while ((*c >= 'A' && *c <= 'Z'))
            c++;
        size_t n = (size_t)(c - w);
        if (n == 0)
            return K23_ERR_PARSE; /* empty text, "|" at an edge, "||" */
        words++;
        if (perm_word_eq(w, n, perm_none_name)) {
            saw_none = true;
        } else {
            k23_perm_t bit = 0;
            for (size_t i = 0; i < K23_ARRAY_SIZE(perm_names); i++)
                if (perm_word_eq(w, n, perm_names[i].name))
                    bit = perm_names[i].bit;
            if (bit == 0 || (p & bit))
                return K23_ERR_PARSE; /* unknown or repeated name */
            p |= bit;
        }
        while (*c == ' ')
            c++;
        if (*c == '\0')
            break;
        if (*c != '|')
            return K23_ERR_PARSE;
        c++;
    }
    if (saw_none && words != 1)
        return K23_ERR_PARSE; /* NONE stands alone */
    *out = p;
    return K23_OK;
}
