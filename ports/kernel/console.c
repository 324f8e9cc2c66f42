/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Boot console: a small printf over the arch's polled UART, and the
 * verdict-and-exit path every failure takes.
 */
#include <stdarg.h>
#include <stdbool.h>

#include "kernel.h"
#include "k23mem/port.h"

void k23k_puts(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n')
            k23k_arch_putc('\r');
        k23k_arch_putc(*s);
    }
}

static void console_num(unsigned long long v, unsigned base, int width,
                        char pad, bool neg)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    if (neg)
        tmp[n++] = '-';
    for (; width > n; width--)
        k23k_arch_putc(pad);
    while (n > 0)
        k23k_arch_putc(tmp[--n]);
}

void k23k_vprintf(const char *fmt, va_list ap)
{
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            if (*p == '\n')
                k23k_arch_putc('\r');
            k23k_arch_putc(*p);
            continue;
        }
        p++;
        char pad = ' ';
        int width = 0;
        int longs = 0;
        bool size = false;
        bool left = false;
        if (*p == '-') {
            left = true;
            p++;
        }
        if (*p == '0') {
            pad = '0';
            p++;
        }
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        while (*p == 'l') {
            longs++;
            p++;
        }
        if (*p == 'z') {
            size = true;
            p++;
        }
        unsigned long long u;
        long long s;
        switch (*p) {
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (str == NULL)
                str = "(null)";
            int len = 0;
            while (str[len] != '\0')
                len++;
            for (; !left && width > len; width--)
                k23k_arch_putc(' ');
            k23k_puts(str);
            for (; left && width > len; width--)
                k23k_arch_putc(' ');
            break;
        }
        case 'c':
            k23k_arch_putc((char)va_arg(ap, int));
            break;
        case 'd':
            if (size)
                s = (long long)va_arg(ap, ptrdiff_t);
            else if (longs >= 2)
                s = va_arg(ap, long long);
            else if (longs == 1)
                s = va_arg(ap, long);
            else
                s = va_arg(ap, int);
            console_num(s < 0 ? 0ULL - (unsigned long long)s
                              : (unsigned long long)s,
                        10, width, pad, s < 0);
            break;
        case 'u':
        case 'x':
            if (size)
                u = va_arg(ap, size_t);
            else if (longs >= 2)
                u = va_arg(ap, unsigned long long);
            else if (longs == 1)
                u = va_arg(ap, unsigned long);
            else
                u = va_arg(ap, unsigned);
            console_num(u, *p == 'u' ? 10 : 16, width, pad, false);
            break;
        case 'p':
            k23k_puts("0x");
            console_num((uintptr_t)va_arg(ap, void *), 16, width, pad,
                        false);
            break;
        case '%':
            k23k_arch_putc('%');
            break;
        default:
            /* Unknown conversion: show it rather than guess at va_arg. */
            k23k_arch_putc('%');
            if (*p == '\0')
                return;
            k23k_arch_putc(*p);
            break;
        }
    }
}

/* One line at a time from any CPU. Taken only if this CPU does not hold
 * it already (a panic raised while printing). */
static k23_port_lock_t console_lock;

/* Taken only sometimes, so the thread-safety analysis (which tracks locks
 * per path, not per flag) cannot follow these two. */
static K23_NO_THREAD_SAFETY_ANALYSIS bool console_enter(void)
{
    if (k23_port_lock_held(&console_lock))
        return false;
    k23_port_lock_acquire(&console_lock);
    return true;
}

static K23_NO_THREAD_SAFETY_ANALYSIS void console_leave(bool took)
{
    if (took)
        k23_port_lock_release(&console_lock);
}

void k23k_printf(const char *fmt, ...)
{
    va_list ap;
    bool took = console_enter();
    va_start(ap, fmt);
    k23k_vprintf(fmt, ap);
    va_end(ap);
    console_leave(took);
}

void k23k_fail(const char *fmt, ...)
{
    static volatile int failing;
    va_list ap;
    /* A failure while reporting a failure (a panic inside printf) must not
     * recurse forever: the second one exits straight away. */
    if (__atomic_fetch_add(&failing, 1, __ATOMIC_RELAXED) != 0)
        k23k_arch_exit(1);
    console_enter();
    k23k_puts("\nK23MEM-SELFTEST FAIL ");
    va_start(ap, fmt);
    k23k_vprintf(fmt, ap);
    va_end(ap);
    k23k_puts("\n");
    k23k_arch_exit(1);
}
