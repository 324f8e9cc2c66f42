/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-slab: how much address space a memory-pool configuration
 * reserves, and how many slots fit.
 *
 *   k23mem-slab --max-memory SIZE --slots N [--reservation SIZE]
 *               [--guard SIZE] [--guard-before] [--pkeys N]
 *               [--page-size SIZE] [--width 32|64] [--kv]
 *
 * Exit status (both tools): 0 done, 1 runtime error (here only a layout
 * the library's own check rejects: a bug), 2 usage or invalid input (an
 * invalid configuration: one line on stderr; bad usage: usage on stderr).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/mempool.h"
#include "k23mem/slab_layout.h"
#include "k23mem/version.h"
#include "slab_size.h"

static const char *slab_prog = "k23mem-slab";

static void slab_usage(FILE *f)
{
    fprintf(f,
            "usage: %s --max-memory SIZE --slots N [--reservation SIZE]\n"
            "       [--guard SIZE] [--guard-before] [--pkeys N]\n"
            "       [--page-size SIZE] [--width 32|64] [--kv]\n"
            "\n"
            "Compute the slab a pool of N linear memories reserves.\n"
            "  --max-memory SIZE   largest size a memory may grow to\n"
            "  --slots N           number of memories (slots)\n"
            "  --reservation SIZE  bytes code may assume reserved per memory\n"
            "                      (default: the max memory)\n"
            "  --guard SIZE        guard after each memory (default 0)\n"
            "  --guard-before      also put a guard before the first slot\n"
            "  --pkeys N           protection keys available, at most %u\n"
            "                      (what a memory pool uses; default 0)\n"
            "  --page-size SIZE    page size (default: this host's)\n"
            "  --width 32|64       compute as a target of that size_t width\n"
            "                      (default: this host's)\n"
            "  --kv                print one key=value line\n"
            "SIZE is a byte count with an optional suffix K, M, G, T or\n"
            "KiB, MiB, GiB, TiB (powers of 1024).\n"
            "  --version           print the library version and exit\n"
            "\n"
            "Exit status: 0 done, 1 runtime error (a layout the library's "
            "own check\nrejects), 2 usage or invalid input.\n",
            slab_prog, K23_MEMPOOL_PKEYS_MAX);
}

/* "4 GiB", "1.5 TiB", "12 KiB", "123 bytes": a short human size. */
static void slab_human(uint64_t v, char *buf, size_t len)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB",
                                        "PiB", "EiB"};
    unsigned u = 0;
    uint64_t div = 1;
    while (u + 1 < sizeof(units) / sizeof(units[0]) && v / div >= 1024) {
        div <<= 10;
        u++;
    }
    if (u == 0 || v % div == 0)
        snprintf(buf, len, "%" PRIu64 " %s", v / div, units[u]);
    else
        snprintf(buf, len, "%.2f %s", (double)v / (double)div, units[u]);
}

/* Largest slot count whose slab fits in `limit` bytes, everything else
 * as in `c`; found by bisection on [0, 2^63], then checked. */
static uint64_t slab_max_slots(k23_slab_constraints_t c, uint64_t limit)
{
    uint64_t lo = 0, hi = UINT64_C(1) << 63;
    k23_slab_layout_t l;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        c.num_slots = mid;
        if (mid <= k23_slab_size_max(c.width) &&
            k23_slab_calculate(&c, &l) == K23_OK &&
            l.total_slab_bytes <= limit)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static int slab_bad_usage(const char *what, const char *arg)
{
    if (arg != NULL)
        fprintf(stderr, "%s: %s: '%s'\n", slab_prog, what, arg);
    else
        fprintf(stderr, "%s: %s\n", slab_prog, what);
    slab_usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    k23_slab_limits_t lim;
    memset(&lim, 0, sizeof(lim));
    k23_slab_target_t target;
    k23_slab_target_host(&target);
    target.num_pkeys_available = 0;
    bool have_max = false, have_slots = false, have_res = false, kv = false;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = NULL;
        char name[32];
        const char *eq = strchr(opt, '=');
        if (strncmp(opt, "--", 2) == 0 && eq != NULL &&
            (size_t)(eq - opt) < sizeof(name)) {
            memcpy(name, opt, (size_t)(eq - opt));
            name[eq - opt] = '\0';
            opt = name;
            val = eq + 1;
        }
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            slab_usage(stdout);
            return 0;
        }
        if (strcmp(opt, "--version") == 0) {
            printf("%s %s (libk23mem)\n", slab_prog, k23_version());
            return 0;
        }
        if (strcmp(opt, "--guard-before") == 0 || strcmp(opt, "--kv") == 0) {
            if (val != NULL)
                return slab_bad_usage("option takes no value", argv[i]);
            if (opt[2] == 'k')
                kv = true;
            else
                lim.guard_before_linear_memory = true;
            continue;
        }
        static const char *const with_value[] = {
            "--max-memory", "--slots",     "--reservation", "--guard",
            "--pkeys",      "--page-size", "--width"};
        size_t k;
        for (k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
            if (strcmp(opt, with_value[k]) == 0)
                break;
        if (k == sizeof(with_value) / sizeof(with_value[0]))
            return slab_bad_usage("unknown option", argv[i]);
        if (val == NULL) {
            if (i + 1 >= argc)
                return slab_bad_usage("option needs a value", opt);
            val = argv[++i];
        }
        uint64_t v;
        bool is_size = k == 0 || k == 2 || k == 3 || k == 5;
        if (!slab_parse_size(val, is_size, &v))
            return slab_bad_usage(is_size ? "bad size" : "bad number", val);
        switch (k) {
        case 0: lim.max_memory_size = v; have_max = true; break;
        case 1: lim.total_memories = v; have_slots = true; break;
        case 2: lim.memory_reservation = v; have_res = true; break;
        case 3: lim.memory_guard_size = v; break;
        case 4: target.num_pkeys_available = v; break;
        case 5: target.page_size = v; break;
        default:
            if (v != 32 && v != 64)
                return slab_bad_usage("width must be 32 or 64", val);
            target.width = (unsigned)v;
            break;
        }
    }
    if (!have_max || !have_slots)
        return slab_bad_usage("--max-memory and --slots are required", NULL);
    if (!have_res)
        lim.memory_reservation = lim.max_memory_size;
    if ((target.page_size & (target.page_size - 1)) != 0 ||
        target.page_size == 0) {
        fprintf(stderr, "%s: page size %" PRIu64 " is not a power of two\n",
                slab_prog, target.page_size);
        return 2;
    }
    /* The layout calculation takes any key count, but a memory pool never
     * stripes over more than K23_MEMPOOL_PKEYS_MAX keys: a layout for more
     * is not one any pool reserves. */
    if (target.num_pkeys_available > K23_MEMPOOL_PKEYS_MAX) {
        fprintf(stderr,
                "%s: %" PRIu64 " protection keys: a memory pool uses at "
                "most %u\n",
                slab_prog, target.num_pkeys_available, K23_MEMPOOL_PKEYS_MAX);
        return 2;
    }

    k23_slab_constraints_t c;
    k23_slab_layout_t l;
    int err = k23_slab_constraints_new(&lim, &target, &c);
    if (err == K23_OK)
        err = k23_slab_calculate(&c, &l);
    if (err != K23_OK) {
        char msg[K23_SLAB_MSG_MAX];
        k23_slab_error_message(err, &lim, &target, msg, sizeof(msg));
        fprintf(stderr, "%s: %s\n", slab_prog, msg);
        return 2;
    }
    /* Never print a layout the library's own check rejects. */
    if (k23_slab_layout_check(&c, &l) != K23_OK) {
        fprintf(stderr, "%s: internal error: the computed layout fails "
                        "k23_slab_layout_check()\n", slab_prog);
        return 1;
    }

    if (kv) {
        printf("num_slots=%" PRIu64 " slot_bytes=%" PRIu64
               " max_memory_bytes=%" PRIu64 " pre_slab_guard_bytes=%" PRIu64
               " post_slab_guard_bytes=%" PRIu64 " num_stripes=%" PRIu64
               " total_slab_bytes=%" PRIu64 "\n",
               l.num_slots, l.slot_bytes, l.max_memory_bytes,
               l.pre_slab_guard_bytes, l.post_slab_guard_bytes, l.num_stripes,
               l.total_slab_bytes);
        return 0;
    }

    char a[32], b[32];
    slab_human(target.page_size, a, sizeof(a));
    printf("%" PRIu64 " slots for a %u-bit target, %s pages, %" PRIu64
           " protection keys\n",
           l.num_slots, target.width, a, target.num_pkeys_available);
    slab_human(l.slot_bytes, a, sizeof(a));
    printf("  slot size            %-12s (%" PRIu64 " bytes)\n", a,
           l.slot_bytes);
    slab_human(l.max_memory_bytes, a, sizeof(a));
    printf("  max memory per slot  %-12s (%" PRIu64 " bytes)\n", a,
           l.max_memory_bytes);
    slab_human(k23_slab_layout_bytes_to_next_stripe_slot(&l), b, sizeof(b));
    printf("  stripes              %-12" PRIu64 " (same stripe every %s)\n",
           l.num_stripes, b);
    slab_human(l.pre_slab_guard_bytes, a, sizeof(a));
    printf("  pre-slab guard       %s\n", a);
    slab_human(l.post_slab_guard_bytes, a, sizeof(a));
    printf("  post-slab guard      %s\n", a);
    slab_human(l.total_slab_bytes, a, sizeof(a));
    printf("  total reservation    %-12s (%" PRIu64 " bytes)\n", a,
           l.total_slab_bytes);
    uint64_t space = k23_slab_size_max(target.width);
    if (l.slot_bytes == 0) {
        /* Zero max memory, reservation and guard: slots take no address
         * space, so no count is too many (a bisection would stop at its
         * own upper bound and print that). */
        printf("  slots that fit       any number (a slot takes 0 bytes)\n");
    } else if (target.width == 64) {
        /* The whole 64-bit space is not usable: x86-64 and AArch64 Linux
         * give a process 2^47 bytes. */
        space = (UINT64_C(1) << 47) - 1;
        printf("  slots that fit       %" PRIu64
               " in a 128 TiB (47-bit) user address space\n",
               slab_max_slots(c, space));
    } else {
        printf("  slots that fit       %" PRIu64 " in the %u-bit space\n",
               slab_max_slots(c, space), target.width);
    }
    return 0;
}
