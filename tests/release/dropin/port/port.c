/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The out-of-tree test port: the hooks a kernel needs for the frame
 * allocator and the object caches (docs/porting.md, module table), for a
 * single hart under QEMU virt with interrupts off. The CPU-local stack
 * hooks come from ports/common/pcpu_locked.c. Self-contained: the console
 * is the virt machine's UART, and a panic stops QEMU through its
 * sifive_test device.
 */
#include "k23mem/port.h"

#define UART_THR ((volatile uint8_t *)0x10000000)
#define UART_LSR ((volatile uint8_t *)0x10000005)
#define UART_LSR_THRE 0x20
#define SIFIVE_TEST ((volatile uint32_t *)0x100000)
#define SIFIVE_TEST_FAIL 0x3333

static void uart_puts(const char *s)
{
    for (; *s; s++) {
        while ((*UART_LSR & UART_LSR_THRE) == 0)
            ;
        *UART_THR = (uint8_t)*s;
    }
}

/* A test-and-set lock, kept in k23_port_lock_t's opaque storage; a second
 * acquire by its holder panics. */
typedef struct __attribute__((may_alias)) dropin_lock {
    volatile uint32_t locked; /* 1 while held */
} dropin_lock_t;
K23_PORT_LOCK_FITS(dropin_lock_t);

static dropin_lock_t *dropin_lock(k23_port_lock_t *l)
{
    return (dropin_lock_t *)(void *)l->opaque;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_init(k23_port_lock_t *l)
{
    dropin_lock(l)->locked = 0;
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_acquire(k23_port_lock_t *l)
{
    /* One hart with interrupts off: a held lock can only be our own. */
    if (__atomic_exchange_n(&dropin_lock(l)->locked, 1u, __ATOMIC_ACQUIRE) != 0)
        k23_port_panic(__FILE__, __LINE__, "lock acquired twice");
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_port_lock_release(k23_port_lock_t *l)
{
    dropin_lock_t *d = dropin_lock(l);
    if (d->locked == 0)
        k23_port_panic(__FILE__, __LINE__, "lock released while free");
    __atomic_store_n(&d->locked, 0u, __ATOMIC_RELEASE);
}

bool k23_port_lock_held(const k23_port_lock_t *l)
{
    return ((const dropin_lock_t *)(const void *)l->opaque)->locked != 0;
}

unsigned k23_port_cpu_count(void)
{
    return 1;
}

static bool in_cpu_local;

unsigned k23_port_cpu_local_enter(void)
{
    if (in_cpu_local)
        k23_port_panic(__FILE__, __LINE__, "CPU-local sections nested");
    in_cpu_local = true;
    return 0;
}

void k23_port_cpu_local_exit(unsigned cpu)
{
    if (!in_cpu_local || cpu != 0)
        k23_port_panic(__FILE__, __LINE__, "CPU-local exit without enter");
    in_cpu_local = false;
}

void *k23_port_phys_to_virt(k23_paddr_t pa)
{
    return (void *)(uintptr_t)pa;
}

k23_paddr_t k23_port_virt_to_phys(const void *va)
{
    return (k23_paddr_t)(uintptr_t)va;
}

void k23_port_log(int level, const char *msg)
{
    (void)level;
    uart_puts(msg);
    uart_puts("\n");
}

void k23_port_panic(const char *file, int line, const char *msg)
{
    char num[12];
    int i = (int)sizeof num - 1;
    unsigned v = line > 0 ? (unsigned)line : 0;
    num[i] = '\0';
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    uart_puts("DROPIN FAIL panic ");
    uart_puts(file);
    uart_puts(":");
    uart_puts(&num[i]);
    uart_puts(": ");
    uart_puts(msg);
    uart_puts("\n");
    *SIFIVE_TEST = (1u << 16) | SIFIVE_TEST_FAIL;
    for (;;)
        __asm__ volatile("wfi");
}
