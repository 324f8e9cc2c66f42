/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The drop-in test kernel (tests/release/dropin.sh): what a kernel with
 * its own build system does with libk23mem, linked either with the
 * amalgamation or with the core-only archive. It hands the RAM above its
 * image to the frame allocator, allocates and frees single frames, a
 * 2 MiB-aligned run and kmalloc objects, checks that every frame came
 * back and the allocator's invariants hold, and prints one verdict line:
 * "DROPIN PASS ..." (QEMU exits 0) or "DROPIN FAIL ..." (exit 1).
 */
#include <stddef.h>
#include <stdint.h>

#include "k23mem/frames.h"
#include "k23mem/kmem.h"
#include "k23mem/port.h"
#include "k23mem/version.h"

#define RAM_END UINT64_C(0x88000000) /* QEMU virt, -m 128M */
#define SIFIVE_TEST ((volatile uint32_t *)0x100000)
#define SIFIVE_TEST_PASS 0x5555
#define SIFIVE_TEST_FAIL 0x3333
#define NFRAMES 512
#define NOBJS 256

extern char kernel_end[];

static k23_frames_t frames;
static k23_kmem_t kmem;
static k23_paddr_t held[NFRAMES];
static void *objs[NOBJS];

/* ---- a line buffer: text and decimal numbers, then k23_port_log ---- */

static char line[160];
static size_t line_len;

static void put_str(const char *s)
{
    while (*s && line_len + 1 < sizeof line)
        line[line_len++] = *s++;
    line[line_len] = '\0';
}

static void put_u64(uint64_t v)
{
    char digits[21];
    int i = 20;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put_str(&digits[i]);
}

static void put_hex(uint64_t v)
{
    char digits[19];
    int i = 18;
    digits[i] = '\0';
    do {
        digits[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    digits[--i] = 'x';
    digits[--i] = '0';
    put_str(&digits[i]);
}

static void flush_line(void)
{
    k23_port_log(K23_LOG_INFO, line);
    line_len = 0;
    line[0] = '\0';
}

static void finish(int failed)
{
    *SIFIVE_TEST = failed ? (1u << 16) | SIFIVE_TEST_FAIL : SIFIVE_TEST_PASS;
    for (;;)
        __asm__ volatile("wfi");
}

static void fail(const char *what, int64_t rc)
{
    put_str("DROPIN FAIL ");
    put_str(what);
    put_str(" rc=");
    if (rc < 0) {
        put_str("-");
        put_u64((uint64_t)-rc);
    } else {
        put_u64((uint64_t)rc);
    }
    flush_line();
    finish(1);
}

void ktrap(uint64_t scause, uint64_t sepc, uint64_t stval)
{
    put_str("DROPIN FAIL trap scause=");
    put_hex(scause);
    put_str(" sepc=");
    put_hex(sepc);
    put_str(" stval=");
    put_hex(stval);
    flush_line();
    finish(1);
}

static uint64_t free_frames(void)
{
    k23_frames_stats_t st;
    int rc = k23_frames_stats(&frames, &st);
    if (rc != K23_OK)
        fail("k23_frames_stats", rc);
    return st.free_frames + st.cached_frames;
}

/* Single frames: distinct, frame-aligned, inside the region, writable. */
static void single_frames(uint64_t base)
{
    for (unsigned i = 0; i < NFRAMES; i++) {
        int rc = k23_frames_alloc_one(&frames, &held[i]);
        if (rc != K23_OK)
            fail("k23_frames_alloc_one", rc);
        if (held[i] % 4096 != 0 || held[i] < base || held[i] >= RAM_END)
            fail("frame outside the region", (int64_t)i);
        *(volatile uint64_t *)k23_port_phys_to_virt(held[i]) = held[i];
    }
    for (unsigned i = 0; i < NFRAMES; i++) {
        if (*(volatile uint64_t *)k23_port_phys_to_virt(held[i]) != held[i])
            fail("frame handed out twice", (int64_t)i);
    }
    for (unsigned i = 0; i < NFRAMES; i++)
        k23_frames_free_one(&frames, held[i]);
}

static void contiguous_run(void)
{
    k23_paddr_t pa;
    int rc = k23_frames_alloc_contiguous_zeroed(&frames, UINT64_C(2) << 20, 21, &pa);
    if (rc != K23_OK)
        fail("k23_frames_alloc_contiguous_zeroed", rc);
    if (pa % (UINT64_C(2) << 20) != 0)
        fail("run not 2 MiB aligned", 0);
    const volatile uint64_t *w = k23_port_phys_to_virt(pa);
    for (size_t i = 0; i < (UINT64_C(2) << 20) / 8; i++) {
        if (w[i] != 0)
            fail("zeroed run not zero", (int64_t)i);
    }
    rc = k23_frames_free_contiguous(&frames, pa, UINT64_C(2) << 20);
    if (rc != K23_OK)
        fail("k23_frames_free_contiguous", rc);
}

static void kmalloc_objects(void)
{
    int rc = k23_kmem_init(&kmem, &frames, NULL);
    if (rc != K23_OK)
        fail("k23_kmem_init", rc);
    for (unsigned i = 0; i < NOBJS; i++) {
        size_t size = 8 + (size_t)i * 37 % 3000;
        objs[i] = k23_kmalloc(&kmem, size, 0);
        if (objs[i] == NULL)
            fail("k23_kmalloc", (int64_t)size);
        *(volatile unsigned *)objs[i] = i;
    }
    for (unsigned i = 0; i < NOBJS; i++) {
        if (*(volatile unsigned *)objs[i] != i)
            fail("kmalloc object overwritten", (int64_t)i);
        k23_kfree(&kmem, objs[i]);
    }
    rc = k23_kmem_destroy(&kmem);
    if (rc != K23_OK)
        fail("k23_kmem_destroy", rc);
}

void kmain(void)
{
    uint64_t base = ((uint64_t)(uintptr_t)kernel_end + 4095) & ~UINT64_C(4095);
    k23_range_t ram = { base, RAM_END - base };
    put_str("dropin: libk23mem ");
    put_str(k23_version());
    put_str(", RAM ");
    put_hex(base);
    put_str("..");
    put_hex(RAM_END);
    flush_line();

    int rc = k23_frames_init(&frames, &ram, 1, NULL, NULL, 0, NULL);
    if (rc != K23_OK)
        fail("k23_frames_init", rc);
    uint64_t before = free_frames();
    single_frames(base);
    contiguous_run();
    kmalloc_objects();
    k23_frames_drain_all(&frames);
    uint64_t after = free_frames();
    if (after != before)
        fail("frames lost", (int64_t)(before - after));
    rc = k23_frames_check(&frames);
    if (rc != K23_OK)
        fail("k23_frames_check", rc);

    /* The kernel is hard-float: a double goes through the FP registers. */
    volatile double per_mib = 1048576.0 / 4096.0;
    put_str("DROPIN PASS frames=");
    put_u64(before);
    put_str(" frames_per_mib=");
    put_u64((uint64_t)(per_mib + 0.5));
    flush_line();
    finish(0);
}
