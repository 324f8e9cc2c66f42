/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Runner of the Criterion stand-in (criterion/criterion.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "criterion/criterion.h"

static struct k23cr_test *k23cr_head, **k23cr_tail = &k23cr_head;
static unsigned k23cr_checks;
static const struct k23cr_test *k23cr_current;

void k23cr_register(struct k23cr_test *t)
{
    *k23cr_tail = t;
    k23cr_tail = &t->next;
}

void k23cr_check(bool ok, const char *expr, const char *file, int line,
                 const char *fmt, ...)
{
    k23cr_checks++;
    if (ok)
        return;
    fprintf(stderr, "%s:%d: %s::%s: assertion failed: %s\n", file, line,
            k23cr_current ? k23cr_current->suite : "?",
            k23cr_current ? k23cr_current->name : "?", expr);
    if (fmt[0] != '\0') {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    printf("FAIL %s::%s\n", k23cr_current->suite, k23cr_current->name);
    exit(1); /* no longjmp on wasi: a failed assertion ends the program */
}

void k23cr_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

int main(void)
{
    unsigned passed = 0, skipped = 0;
    for (const struct k23cr_test *t = k23cr_head; t != NULL; t = t->next) {
        if (t->opts.signal != 0 || t->opts.exit_code != 0 ||
            t->opts.disabled) {
            printf("skip %s::%s (expects a signal or exit code)\n", t->suite,
                   t->name);
            skipped++;
            continue;
        }
        k23cr_current = t;
        if (t->opts.init)
            t->opts.init();
        t->fn();
        if (t->opts.fini)
            t->opts.fini();
        printf("ok   %s::%s\n", t->suite, t->name);
        passed++;
    }
    printf("%u checks; %u passed, 0 failed, %u skipped\n", k23cr_checks, passed,
           skipped);
    return passed > 0 ? 0 : 1;
}
