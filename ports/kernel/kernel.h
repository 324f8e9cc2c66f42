/*
 * What the kernel port's hooks (port.c) need from the kernel, and what the
 * two example kernels share: console output, the exit path and a few
 * arch facts. Every kernel that uses ports/kernel/port.c provides the
 * k23k_arch_* functions; console.c builds the rest on top of them.
 */
#ifndef K23_KERNEL_H
#define K23_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "k23mem/types.h"

/* ---- provided by <arch>/arch.c ---- */

/** Name of the architecture ("aarch64", "riscv64"). */
extern const char k23k_arch_name[];

/** Write one byte to the boot console (polled UART). */
void k23k_arch_putc(char c);

/** Stop the machine; QEMU exits with @p status (0 pass, else fail). */
K23_NORETURN void k23k_arch_exit(int status);

/** A free-running counter and its frequency in Hz (for timings only). */
uint64_t k23k_arch_ticks(void);
uint64_t k23k_arch_tick_hz(void);

/** Arch set-up that needs the device tree (riscv64 reads its timebase). */
void k23k_arch_init(const void *fdt);

/* ---- console.c ---- */

/** Write a NUL-terminated string. */
void k23k_puts(const char *s);

/**
 * printf subset: %s %c %d %u %x %p with the l, ll and z length modifiers,
 * a field width and '0' padding. Nothing else.
 */
void k23k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void k23k_vprintf(const char *fmt, va_list ap);

/**
 * Print the final verdict line "K23MEM-SELFTEST FAIL <reason>" and exit
 * with status 1. Used by panics and failed checks alike, so the last line
 * of every run is the verdict.
 */
K23_NORETURN void k23k_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- kernel.c ---- */

/** C entry point, called by the boot code with the DTB's address. */
K23_NORETURN void k23k_main(uintptr_t dtb, uintptr_t boot_hart);

#endif /* K23_KERNEL_H */
