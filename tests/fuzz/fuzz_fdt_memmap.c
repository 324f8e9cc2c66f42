/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libFuzzer target over k23_fdt_memmap(): any byte string is a blob. The
 * last input byte also picks the page size and whether to add an
 * exclusion, so those paths are fuzzed too. Every call must return an
 * error or a map that keeps its invariants; anything else aborts.
 *
 * Built with clang -fsanitize=fuzzer,address from src/fdt_memmap.c and
 * src/error.c plus this file (tests/fdt.cmake), run for a bounded time by
 * ctest (label "fuzz") with the DTBs compiled from tests/fdt as seeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/fdt_memmap.h"
#include "k23mem/port.h"

/* The module panics only on a broken internal invariant. */
void k23_port_panic(const char *file, int line, const char *msg)
{
    fprintf(stderr, "panic at %s:%d: %s\n", file, line, msg);
    abort();
}

#define CAP 32

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An 8-aligned private copy, exactly size bytes long, so that ASan sees
     * any read past the end. */
    void *blob = malloc(size ? size : 1);
    if (blob == NULL)
        return 0;
    memcpy(blob, data, size);
    unsigned knob = size ? data[size - 1] : 0;

    static k23_fdt_region_t ram[CAP], taken[CAP], dyn[CAP];
    static k23_range_t fr[CAP];
    k23_range_t excl = {0x40080000, 0x200000};
    k23_fdt_memmap_config_t cfg = {
        .page_log2 = knob % 22,
        .exclude = &excl,
        .nexclude = (knob >> 5) & 1,
    };
    k23_fdt_memmap_t m = {
        .ram = ram,
        .ram_cap = CAP,
        .taken = taken,
        .taken_cap = CAP,
        .dynamic = dyn,
        .dynamic_cap = CAP,
        .free = fr,
        .free_cap = CAP,
    };
    k23_fdt_memmap_diag_t diag = {0};
    int err = k23_fdt_memmap(blob, size, &cfg, &m, &diag);
    check(err <= 0 && err != K23_ERR_INVAL, "known result");
    if (err != 0 && err != K23_ERR_NOSPACE)
        check(diag.what != NULL, "diag names the part");
    if (err == 0) {
        uint64_t mask = (UINT64_C(1) << cfg.page_log2) - 1;
        for (size_t i = 0; i < m.free_count; i++) {
            k23_range_t f = fr[i];
            check(f.size != 0 && f.size - 1 <= UINT64_MAX - f.base, "valid");
            check((f.base & mask) == 0 && (f.size & mask) == 0, "aligned");
            if (i > 0) {
                uint64_t pl = fr[i - 1].base + (fr[i - 1].size - 1);
                check(pl != UINT64_MAX && f.base > pl + 1, "sorted apart");
            }
            for (size_t j = 0; j < m.taken_count; j++) {
                k23_range_t t = taken[j].range;
                uint64_t fl = f.base + (f.size - 1);
                uint64_t tl = t.base + (t.size - 1);
                check(t.size == 0 || fl < t.base || tl < f.base,
                      "free clear of taken");
            }
        }
        for (size_t i = 0; i < m.ram_count; i++)
            check(ram[i].name != NULL && ram[i].kind == K23_FDT_KIND_RAM,
                  "ram entries named");
    }
    free(blob);
    return 0;
}
