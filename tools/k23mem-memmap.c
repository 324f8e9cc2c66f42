/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * k23mem-memmap: print (and draw) the physical memory map a kernel would
 * build from a device-tree blob, using k23_fdt_memmap(), and the arenas the
 * frame allocator would build from its free regions, using
 * k23_frames_plan() (the selection k23_frames_init() itself runs).
 *
 *   k23mem-memmap [--page-size SIZE] [--exclude START-END]... [--kv]
 *                 [--svg FILE] FILE.dtb
 *
 * Exit status (both tools): 0 done, 1 runtime error (a file that cannot
 * be read or written, out of memory), 2 usage or invalid input (a bad
 * option, a malformed blob; one line on stderr names the problem).
 */
#include <errno.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k23mem/error.h"
#include "k23mem/fdt_memmap.h"
#include "k23mem/frames.h"
#include "k23mem/version.h"
#include "memmap_args.h"

#define PROG "k23mem-memmap"
#define MAX_BLOB (64u << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [--page-size SIZE] [--exclude START-END]... "
            "[--cpus N] [--kv] [--svg FILE] FILE.dtb\n"
            "\n"
            "Print the physical memory map a device-tree blob describes: the "
            "RAM,\nwhat is taken out of it and why, the free regions "
            "(end exclusive), and\nthe arenas the frame allocator "
            "(k23mem/frames.h, default configuration,\nframe size = page "
            "size) would build from them.\n"
            "\n"
            "  --page-size SIZE     align free regions inward to SIZE "
            "(default 4K;\n"
            "                       a power of two up to 1G; K, M, G "
            "suffixes)\n"
            "  --exclude START-END  also take out [START, END), e.g. the "
            "kernel image\n"
            "  --cpus N             plan the per-CPU caches of N CPUs "
            "(default 1;\n"
            "                       they are carved with the first "
            "arena's bookkeeping;\n"
            "                       0: caches off)\n"
            "  --kv                 print only 'free 0x<start> 0x<end>' "
            "lines\n"
            "  --svg FILE           also draw the map as an SVG picture\n"
            "\n"
            "  --version            print the library version and exit\n"
            "\n"
            "Exit status: 0 done, 1 runtime error (a file that cannot be "
            "read or\nwritten, out of memory), 2 usage or invalid input (a "
            "bad option, a\nmalformed blob).\n");
}

/* ---- numbers ---- */

/* "128 MiB", "2 KiB", "95.99 MiB", "100 bytes"... for people: the largest
 * unit not above the value, exact when it divides. */
static const char *human(uint64_t v, char *buf, size_t cap)
{
    static const char *units[] = {"bytes", "KiB", "MiB", "GiB",
                                  "TiB",   "PiB", "EiB"};
    unsigned u = 0;
    while (u + 1 < sizeof(units) / sizeof(units[0]) &&
           v >= (UINT64_C(1) << (10 * (u + 1))))
        u++;
    uint64_t unit = UINT64_C(1) << (10 * u);
    /* 2044 KiB must not read "2.00 MiB": when two decimals would hide that
     * the size is not whole, step down a unit. */
    double x = (double)v / (double)unit;
    double r2 = (double)(uint64_t)(x * 100 + 0.5) / 100;
    if (v % unit != 0 && u > 0 && r2 == (double)(uint64_t)r2) {
        u--;
        unit >>= 10;
        x = (double)v / (double)unit;
    }
    if (v == 1)
        snprintf(buf, cap, "1 byte");
    else if (v % unit == 0)
        snprintf(buf, cap, "%" PRIu64 " %s", v / unit, units[u]);
    else
        snprintf(buf, cap, "%.2f %s", x, units[u]);
    return buf;
}

/* End address (exclusive) as 16 hex digits; 2^64 needs a 17th. */
static void print_end(FILE *f, k23_range_t r)
{
    if (r.size != 0 && r.base + (r.size - 1) == UINT64_MAX)
        fprintf(f, "0x10000000000000000");
    else
        fprintf(f, "0x%016" PRIx64, r.base + r.size);
}

static const char *end_text(k23_range_t r, char *buf, size_t cap)
{
    if (r.size != 0 && r.base + (r.size - 1) == UINT64_MAX)
        snprintf(buf, cap, "0x10000000000000000");
    else
        snprintf(buf, cap, "0x%016" PRIx64, r.base + r.size);
    return buf;
}

/* End address (exclusive) without leading zeros. */
static const char *short_end(k23_range_t r, char *buf, size_t cap)
{
    if (r.size != 0 && r.base + (r.size - 1) == UINT64_MAX)
        snprintf(buf, cap, "0x10000000000000000");
    else
        snprintf(buf, cap, "0x%" PRIx64, r.base + r.size);
    return buf;
}

/* ---- describing regions ---- */

struct ctx {
    const char *file;
    void *blob;
    size_t blob_size;
    uint64_t page;
    unsigned cpus;              /* per-CPU caches the plan carves */
    bool cpus_given;            /* --cpus (else 1) */
    k23_fdt_memmap_t map;
    k23_range_t *excl;
    size_t nexcl;
    char **excl_text;
    /* the frame allocator's plan for the free regions */
    bool frames_ok;             /* page size is a valid frame size */
    k23_frames_config_t fcfg;
    k23_frames_arena_plan_t *plan;
    size_t nplan;
    struct node_path *paths; /* nodes the map names, by offset */
    size_t npaths;
};

/* ---- node paths ---- */

/* fdt_get_path() walks the blob from its start, so asking it once per
 * region is quadratic on a large map (128,000 regions in 1,000 nodes took
 * seconds). The paths of the nodes the map names are found in one walk
 * instead. */
#define PATH_MAX_LEN 256

struct node_path {
    int node;
    char path[PATH_MAX_LEN];
};

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void add_nodes(int *v, size_t *n, const k23_fdt_region_t *r, size_t k)
{
    for (size_t i = 0; i < k; i++)
        if (r[i].node >= 0)
            v[(*n)++] = r[i].node;
}

/* Append "/name" to the path of depth d - 1 in cur (lens[d - 1] long);
 * false when it does not fit. */
static bool path_push(char *cur, size_t cap, size_t *lens, int d,
                      const char *name)
{
    size_t at = d == 0 ? 0 : lens[d - 1];
    size_t len = strlen(name);
    if (d == 0) {
        cur[0] = '/';
        cur[1] = '\0';
        lens[0] = 1;
        return true;
    }
    if (at == 1) /* the root's children: "/name", not "//name" */
        at = 0;
    if (at + 1 + len + 1 > cap)
        return false;
    cur[at] = '/';
    memcpy(cur + at + 1, name, len + 1);
    lens[d] = at + 1 + len;
    return true;
}

/* Fill c->paths for every node the map names, in one walk of the tree;
 * a path too long for PATH_MAX_LEN reads "?" as fdt_get_path() would fail
 * on it. Returns false when out of memory. */
static bool find_paths(struct ctx *c)
{
    const k23_fdt_memmap_t *m = &c->map;
    size_t want = m->ram_count + m->taken_count + m->dynamic_count, n = 0;
    int *nodes = malloc((want + 1) * sizeof(*nodes));
    c->paths = calloc(want + 1, sizeof(*c->paths));
    if (nodes == NULL || c->paths == NULL) {
        free(nodes);
        return false;
    }
    add_nodes(nodes, &n, m->ram, m->ram_count);
    add_nodes(nodes, &n, m->taken, m->taken_count);
    add_nodes(nodes, &n, m->dynamic, m->dynamic_count);
    qsort(nodes, n, sizeof(*nodes), int_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || nodes[i] != nodes[u - 1])
            nodes[u++] = nodes[i];

    char cur[PATH_MAX_LEN];
    size_t lens[64]; /* deeper nodes: too long for PATH_MAX_LEN anyway */
    int depth = 0, too_deep = -1;
    size_t next = 0;
    for (int off = 0; off >= 0 && next < u;
         off = fdt_next_node(c->blob, off, &depth)) {
        if (too_deep >= 0 && depth <= too_deep)
            too_deep = -1;
        if (too_deep < 0 && (depth >= 64 ||
                             !path_push(cur, sizeof(cur), lens, depth,
                                        fdt_get_name(c->blob, off, NULL))))
            too_deep = depth;
        while (next < u && nodes[next] < off)
            next++; /* not a node offset: cannot happen, stay safe */
        if (next < u && nodes[next] == off) {
            c->paths[c->npaths].node = off;
            snprintf(c->paths[c->npaths].path, PATH_MAX_LEN, "%s",
                     too_deep < 0 ? cur : "?");
            c->npaths++;
            next++;
        }
    }
    free(nodes);
    return true;
}

static const char *node_path(const struct ctx *c, int node, char *buf, int cap)
{
    size_t lo = 0, hi = c->npaths;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->paths[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (node >= 0 && lo < c->npaths && c->paths[lo].node == node)
        snprintf(buf, (size_t)cap, "%s", c->paths[lo].path);
    else if (node < 0 || fdt_get_path(c->blob, node, buf, cap) != 0)
        snprintf(buf, (size_t)cap, "?");
    return buf;
}

/* Why a region is in the map, in words. */
static const char *reason(const struct ctx *c, const k23_fdt_region_t *r,
                          char *buf, size_t cap)
{
    char path[256];
    switch (r->kind) {
    case K23_FDT_KIND_RAM:
        snprintf(buf, cap, "%s %s[%" PRIu32 "]",
                 node_path(c, r->node, path, sizeof(path)),
                 (r->flags & K23_FDT_FLAG_USABLE_MEMORY) ? "linux,usable-memory"
                                                         : "reg",
                 r->index);
        break;
    case K23_FDT_KIND_MEMRESERVE:
        snprintf(buf, cap, "/memreserve/ entry %" PRIu32, r->index);
        break;
    case K23_FDT_KIND_RESERVED_MEMORY:
        snprintf(buf, cap, "reserved-memory %s%s%s",
                 node_path(c, r->node, path, sizeof(path)),
                 (r->flags & K23_FDT_FLAG_NO_MAP) ? " (no-map)" : "",
                 (r->flags & K23_FDT_FLAG_REUSABLE) ? " (reusable)" : "");
        break;
    case K23_FDT_KIND_INITRD:
        snprintf(buf, cap, "initrd (/chosen linux,initrd-start/end)");
        break;
    case K23_FDT_KIND_EXCLUDE:
        snprintf(buf, cap, "--exclude %s", c->excl_text[r->index]);
        break;
    default:
        snprintf(buf, cap, "%s", k23_fdt_kind_name(r->kind));
        break;
    }
    return buf;
}

/* Short label for pictures. */
static const char *short_reason(const struct ctx *c, const k23_fdt_region_t *r,
                                char *buf, size_t cap)
{
    switch (r->kind) {
    case K23_FDT_KIND_MEMRESERVE:
        snprintf(buf, cap, "/memreserve/ #%" PRIu32, r->index);
        break;
    case K23_FDT_KIND_RESERVED_MEMORY:
        snprintf(buf, cap, "%s%s", r->name,
                 (r->flags & K23_FDT_FLAG_NO_MAP) ? " (no-map)" : "");
        break;
    case K23_FDT_KIND_INITRD:
        snprintf(buf, cap, "initrd");
        break;
    case K23_FDT_KIND_EXCLUDE:
        snprintf(buf, cap, "--exclude #%" PRIu32, r->index);
        break;
    default:
        snprintf(buf, cap, "%s", r->name);
        break;
    }
    (void)c;
    return buf;
}

static uint64_t total(const k23_range_t *v, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += v[i].size;
    return t;
}

/* Bytes of RAM counted once where entries overlap (ram is sorted). */
static uint64_t ram_union(const k23_fdt_memmap_t *m)
{
    uint64_t t = 0, cur_last = 0;
    bool have = false;
    for (size_t i = 0; i < m->ram_count; i++) {
        k23_range_t r = m->ram[i].range;
        uint64_t last = r.base + (r.size - 1);
        if (!have || r.base > cur_last) {
            t += r.size;
            cur_last = last;
            have = true;
        } else if (last > cur_last) {
            t += last - cur_last;
            cur_last = last;
        }
    }
    return t;
}

static void print_text(const struct ctx *c)
{
    const k23_fdt_memmap_t *m = &c->map;
    char h[64], why[512];
    printf("memory map of %s (page size %s)\n\n", c->file,
           human(c->page, h, sizeof(h)));

    printf("RAM (%zu region%s, %s):\n", m->ram_count,
           m->ram_count == 1 ? "" : "s", human(ram_union(m), h, sizeof(h)));
    if (m->ram_count == 0)
        printf("  (none: no available memory node)\n");
    for (size_t i = 0; i < m->ram_count; i++) {
        const k23_fdt_region_t *r = &m->ram[i];
        printf("  0x%016" PRIx64 "-", r->range.base);
        print_end(stdout, r->range);
        printf("  %10s  %s\n", human(r->range.size, h, sizeof(h)),
               reason(c, r, why, sizeof(why)));
    }

    printf("\ntaken out (%zu):\n", m->taken_count);
    if (m->taken_count == 0)
        printf("  (nothing)\n");
    for (size_t i = 0; i < m->taken_count; i++) {
        const k23_fdt_region_t *r = &m->taken[i];
        printf("  0x%016" PRIx64 "-", r->range.base);
        print_end(stdout, r->range);
        printf("  %10s  %s\n", human(r->range.size, h, sizeof(h)),
               reason(c, r, why, sizeof(why)));
    }

    if (m->dynamic_count != 0) {
        printf("\ndynamic reservations, to be placed by the OS (%zu):\n",
               m->dynamic_count);
        for (size_t i = 0; i < m->dynamic_count; i++) {
            const k23_fdt_region_t *r = &m->dynamic[i];
            char path[256], a[64];
            printf("  %s", node_path(c, r->node, path, sizeof(path)));
            if (r->flags & K23_FDT_FLAG_HAS_SIZE)
                printf("  size %s", human(r->range.size, h, sizeof(h)));
            else
                printf("  no size");
            if (r->flags & K23_FDT_FLAG_HAS_ALIGN)
                printf("  alignment %s", human(r->align, a, sizeof(a)));
            printf("\n");
        }
    }

    printf("\nfree, aligned inward to %s (%zu region%s, %s):\n",
           human(c->page, h, sizeof(h)), m->free_count,
           m->free_count == 1 ? "" : "s",
           human(total(m->free, m->free_count), why, sizeof(why)));
    if (m->free_count == 0)
        printf("  (none)\n");
    for (size_t i = 0; i < m->free_count; i++) {
        printf("  0x%016" PRIx64 "-", m->free[i].base);
        print_end(stdout, m->free[i]);
        printf("  %10s  %" PRIu64 " pages\n",
               human(m->free[i].size, h, sizeof(h)), m->free[i].size / c->page);
    }
}

/* "N frame(s)" */
static const char *frames_text(uint64_t n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRIu64 " frame%s", n, n == 1 ? "" : "s");
    return buf;
}

static void print_range(k23_range_t r)
{
    printf("0x%016" PRIx64 "-", r.base);
    print_end(stdout, r);
}

static void print_arenas(const struct ctx *c)
{
    char h[64], h2[64], f1[64];
    if (!c->frames_ok) {
        printf("\narenas: none shown: the frame allocator takes frame sizes "
               "from 4 KiB to 64 KiB,\n  and the page size is %s "
               "(use --page-size 4K..64K)\n",
               human(c->page, h, sizeof(h)));
        return;
    }
    size_t na = 0, nr = 0;
    for (size_t i = 0; i < c->nplan; i++)
        c->plan[i].rejected ? nr++ : na++;
    printf("\narenas the frame allocator would build (frame size %s, hole "
           "budget %s;\n  %zu arena%s, %zu region%s rejected):\n",
           human(c->fcfg.frame_size, h, sizeof(h)),
           human(c->fcfg.hole_budget, h2, sizeof(h2)), na,
           na == 1 ? "" : "s", nr, nr == 1 ? "" : "s");
    if (c->nplan == 0)
        printf("  (none: no free region)\n");
    size_t ai = 0;
    for (size_t i = 0; i < c->nplan; i++) {
        const k23_frames_arena_plan_t *e = &c->plan[i];
        if (e->rejected) {
            k23_range_t r = e->frames != 0 ? e->range : e->region;
            printf("  rejected ");
            print_range(r);
            printf("  %s\n", human(r.size, h, sizeof(h)));
            if (e->frames == 0) {
                printf("           no whole frame\n");
            } else {
                uint64_t fs = c->fcfg.frame_size;
                uint64_t bk = (e->bookkeeping_bytes + fs - 1) / fs;
                printf("           too small: %s, needs %" PRIu64
                       " for bookkeeping (%" PRIu64 " bytes) and 1 to hand "
                       "out\n",
                       frames_text(e->frames, f1, sizeof(f1)), bk,
                       e->bookkeeping_bytes);
            }
            continue;
        }
        printf("  arena %zu  ", ai++);
        print_range(e->range);
        printf("  %10s\n", human(e->range.size, h, sizeof(h)));
        printf("           %s: %" PRIu64 " usable, %" PRIu64 " in holes, %"
               PRIu64 " bookkeeping\n",
               frames_text(e->frames, f1, sizeof(f1)), e->usable_frames,
               e->hole_frames, e->bookkeeping.size / c->fcfg.frame_size);
        printf("           bookkeeping ");
        print_range(e->bookkeeping);
        printf("  %s (%" PRIu64 " bytes used)\n",
               human(e->bookkeeping.size, h, sizeof(h)),
               e->bookkeeping_bytes);
    }
    if (na > K23_FRAMES_MAX_ARENAS)
        printf("  note: k23_frames_init() would fail with K23_ERR_LIMIT: "
               "more than %d arenas\n", K23_FRAMES_MAX_ARENAS);
    else if (na == 0 && c->nplan != 0)
        printf("  note: k23_frames_init() would fail with "
               "K23_ERR_TOO_SMALL: no arena\n");
}

static void print_kv(const struct ctx *c)
{
    for (size_t i = 0; i < c->map.free_count; i++) {
        printf("free 0x%016" PRIx64 " ", c->map.free[i].base);
        print_end(stdout, c->map.free[i]);
        printf("\n");
    }
}

/* ---- the picture ---- */

/*
 * Addresses run downward. Every region boundary is a breakpoint; the band
 * between two breakpoints gets a height that grows with the logarithm of
 * its length, so a 4 KiB reservation and 4 GiB of RAM are both readable.
 * Bands outside all RAM are gaps: drawn at a fixed small height with a
 * zigzag and their real length, never to scale.
 */

struct band {
    uint64_t first, last; /* inclusive */
    double y, h;
    bool gap;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
            break;
        }
    }
}

static bool covered(const k23_fdt_region_t *v, size_t n, uint64_t a)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].range.size != 0 && a >= v[i].range.base &&
            a - v[i].range.base <= v[i].range.size - 1)
            return true;
    return false;
}

/* y of an address that is a band boundary (start of a band, or one past
 * the last band). */
static double y_of_first(const struct band *b, size_t nb, uint64_t a)
{
    for (size_t i = 0; i < nb; i++)
        if (b[i].first == a)
            return b[i].y;
    return b[nb - 1].y + b[nb - 1].h;
}

static double y_after_last(const struct band *b, size_t nb, uint64_t last)
{
    for (size_t i = 0; i < nb; i++)
        if (b[i].last == last)
            return b[i].y + b[i].h;
    return b[nb - 1].y + b[nb - 1].h;
}

/* A labelled box for one region. */
static void svg_box(FILE *f, const struct band *b, size_t nb, double x,
                    double w, k23_range_t r, const char *fill,
                    const char *stroke, const char *label)
{
    char h[64], addr[64];
    double y0 = y_of_first(b, nb, r.base);
    double y1 = y_after_last(b, nb, r.base + (r.size - 1));
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\" stroke=\"%s\" stroke-width=\"1\" rx=\"2\"/>\n",
            x, y0, w, y1 - y0, fill, stroke);
    /* label: name and size on one line, start-end under it if room */
    double mid = (y0 + y1) / 2;
    bool two = y1 - y0 >= 30;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"l\">", x + 5,
            two ? mid - 2 : mid + 4);
    xml_text(f, label);
    fprintf(f, " · %s</text>\n", human(r.size, h, sizeof(h)));
    if (two) {
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" class=\"s\">0x%" PRIx64
                " – %s</text>\n",
                x + 5, mid + 11, r.base, short_end(r, addr, sizeof(addr)));
    }
}

/* The arena lane: each arena with its range, size and frames at the top,
 * its bookkeeping area drawn inside it; rejected regions greyed out. */
static void svg_arenas(FILE *f, const struct ctx *c, const struct band *b,
                       size_t nb, double x, double w)
{
    char h[64], addr[64], fr[64];
    size_t ai = 0;
    for (size_t i = 0; i < c->nplan; i++) {
        const k23_frames_arena_plan_t *e = &c->plan[i];
        if (e->rejected) {
            if (e->frames == 0)
                continue; /* no whole frame: nothing to draw at this scale */
            snprintf(fr, sizeof(fr), "rejected: too small");
            svg_box(f, b, nb, x, w, e->range, "#e6e6e6", "#8a8a8a", fr);
            continue;
        }
        k23_range_t r = e->range;
        double y0 = y_of_first(b, nb, r.base);
        double y1 = y_after_last(b, nb, r.base + (r.size - 1));
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#cdeee8\" stroke=\"#24806f\" stroke-width=\"1.5\" "
                "rx=\"2\"/>\n",
                x, y0, w, y1 - y0);
        double by0 = y_of_first(b, nb, e->bookkeeping.base);
        double by1 = y_after_last(b, nb, e->bookkeeping.base +
                                             (e->bookkeeping.size - 1));
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#7cc7b8\" stroke=\"#24806f\" stroke-width=\"1\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"s\">bookkeeping · "
                "%s</text>\n",
                x + 12, by0, w - 24, by1 - by0, x + 17, (by0 + by1) / 2 + 4,
                human(e->bookkeeping.size, h, sizeof(h)));
        /* the arena's own labels at its top, as many lines as fit above
         * the bookkeeping */
        double room = (by0 > y0 ? by0 : y1) - y0;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"l\">arena #%zu · "
                   "%s</text>\n",
                x + 5, y0 + 14, ai++, human(r.size, h, sizeof(h)));
        if (room >= 32)
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.1f\" class=\"s\">0x%" PRIx64
                    " – %s</text>\n",
                    x + 5, y0 + 27, r.base, short_end(r, addr, sizeof(addr)));
        if (room >= 46)
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.1f\" class=\"s\">%s, %" PRIu64
                    " in holes</text>\n",
                    x + 5, y0 + 40, frames_text(e->frames, fr, sizeof(fr)),
                    e->hole_frames);
    }
}

static int write_svg(const struct ctx *c, const char *path)
{
    const k23_fdt_memmap_t *m = &c->map;
    size_t ncuts = 0,
           cap = 2 * (m->ram_count + m->taken_count + m->free_count +
                      2 * c->nplan) + 2;
    uint64_t *cut = calloc(cap, sizeof(*cut));
    bool *cut_top = calloc(cap, sizeof(*cut_top));
    struct band *band = calloc(cap, sizeof(*band));
    if (cut == NULL || cut_top == NULL || band == NULL) {
        free(cut), free(cut_top), free(band);
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    /* Breakpoints: starts, and ends (exclusive) unless the end is 2^64. */
    bool reaches_top = false;
#define ADD_RANGE(r)                                                           \
    do {                                                                       \
        cut[ncuts++] = (r).base;                                               \
        if ((r).base + ((r).size - 1) == UINT64_MAX)                           \
            reaches_top = true;                                                \
        else                                                                   \
            cut[ncuts++] = (r).base + (r).size;                                \
    } while (0)
    for (size_t i = 0; i < m->ram_count; i++)
        ADD_RANGE(m->ram[i].range);
    for (size_t i = 0; i < m->taken_count; i++)
        ADD_RANGE(m->taken[i].range);
    for (size_t i = 0; i < m->free_count; i++)
        ADD_RANGE(m->free[i]);
    for (size_t i = 0; i < c->nplan; i++) {
        const k23_frames_arena_plan_t *e = &c->plan[i];
        if (e->frames != 0)
            ADD_RANGE(e->range);
        if (e->bookkeeping.size != 0)
            ADD_RANGE(e->bookkeeping);
    }
#undef ADD_RANGE
    (void)cut_top;
    qsort(cut, ncuts, sizeof(*cut), cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < ncuts; i++)
        if (u == 0 || cut[u - 1] != cut[i])
            cut[u++] = cut[i];
    ncuts = u;

    /* Bands between breakpoints; drop leading/trailing bands outside RAM
     * and taken regions (there are none: breakpoints start at a region). */
    const double top = 92;
    double y = top;
    size_t nb = 0;
    for (size_t i = 0; i < ncuts; i++) {
        uint64_t first = cut[i];
        uint64_t last;
        if (i + 1 < ncuts)
            last = cut[i + 1] - 1;
        else if (reaches_top)
            last = UINT64_MAX;
        else
            break;
        struct band *b = &band[nb++];
        b->first = first;
        b->last = last;
        b->gap = !covered(m->ram, m->ram_count, first) &&
                 !covered(m->taken, m->taken_count, first);
        uint64_t len = last - first + 1;
        double lg = 0;
        for (uint64_t l = len; l > 1; l >>= 1)
            lg += 1;
        if (b->gap) {
            b->h = 30;
        } else {
            b->h = 20 + (lg > 12 ? (lg - 12) * 9 : 0);
            if (b->h > 150)
                b->h = 150;
        }
        b->y = y;
        y += b->h;
    }
    if (nb == 0) {
        band[0] = (struct band){.first = 0, .last = 0, .y = top, .h = 30};
        nb = 0;
    }

    /* Lanes for taken regions that overlap each other. */
    size_t *lane = calloc(m->taken_count + 1, sizeof(*lane));
    size_t nlanes = 1;
    uint64_t *lane_last = calloc(m->taken_count + 1, sizeof(*lane_last));
    bool *lane_used = calloc(m->taken_count + 1, sizeof(*lane_used));
    for (size_t i = 0; i < m->taken_count; i++) {
        size_t l = 0;
        while (lane_used[l] && lane_last[l] >= m->taken[i].range.base)
            l++;
        lane[i] = l;
        lane_used[l] = true;
        lane_last[l] = m->taken[i].range.base + (m->taken[i].range.size - 1);
        if (l + 1 > nlanes)
            nlanes = l + 1;
    }

    const double x_addr = 12, x_ram = 170, w_ram = 230;
    const double x_taken = x_ram + w_ram + 24, w_lane = 250;
    const double x_free = x_taken + (double)nlanes * (w_lane + 6) + 18;
    const double w_free = 250;
    const double x_arena = x_free + w_free + 18, w_arena = 290;
    const double width = x_arena + w_arena + 16;
    const double height = y + 64;

    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        free(cut), free(cut_top), free(band), free(lane), free(lane_last),
            free(lane_used);
        return 1;
    }
    char h1[64], h2[64], h3[64];
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
            "<style>.l{font-size:12px;fill:#111}"
            ".s{font-size:10px;fill:#333;font-family:DejaVu Sans Mono,"
            "monospace}.a{font-size:10.5px;fill:#222;font-family:"
            "DejaVu Sans Mono,monospace}.h{font-size:13px;font-weight:bold;"
            "fill:#111}.g{font-size:11px;fill:#555;font-style:italic}"
            "</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
    fprintf(f, "<text x=\"12\" y=\"24\" class=\"h\">memory map of ");
    xml_text(f, c->file);
    fprintf(f,
            "</text>\n<text x=\"12\" y=\"42\" class=\"g\">RAM %s · "
            "free %s in %zu region%s · page size %s · addresses grow "
            "downward; heights are logarithmic, gaps not to scale</text>\n",
            human(ram_union(m), h1, sizeof(h1)),
            human(total(m->free, m->free_count), h2, sizeof(h2)), m->free_count,
            m->free_count == 1 ? "" : "s", human(c->page, h3, sizeof(h3)));
    fprintf(
        f,
        "<text x=\"%.1f\" y=\"80\" class=\"h\">address</text>\n"
        "<text x=\"%.1f\" y=\"80\" class=\"h\">RAM</text>\n"
        "<text x=\"%.1f\" y=\"80\" class=\"h\">taken out (reason)</text>\n"
        "<text x=\"%.1f\" y=\"80\" class=\"h\">free (page-aligned)</text>\n"
        "<text x=\"%.1f\" y=\"80\" class=\"h\">arenas (frame allocator)</text>\n",
        x_addr, x_ram, x_taken, x_free, x_arena);

    /* Bands: light stripes, gaps with a zigzag, boundary addresses. */
    for (size_t i = 0; i < nb; i++) {
        const struct band *b = &band[i];
        if (b->gap) {
            double yy = b->y + b->h / 2;
            fprintf(f, "<path d=\"M%.1f %.1f", x_ram - 6, yy);
            for (double x = x_ram - 6; x < width - 16; x += 12)
                fprintf(f, " l6 -5 l6 5");
            fprintf(f, "\" fill=\"none\" stroke=\"#999\" "
                       "stroke-width=\"1\"/>\n");
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"170\" height=\"14\" "
                    "fill=\"white\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                    "class=\"g\">gap of %s, not to scale</text>\n",
                    x_ram + 4, yy - 7, x_ram + 8, yy + 4,
                    human(b->last - b->first + 1, h1, sizeof(h1)));
        }
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                "class=\"a\">0x%016" PRIx64 "</text>\n",
                x_addr, b->y, width - 16, b->y, x_addr, b->y + 4, b->first);
    }
    if (nb > 0) {
        const struct band *b = &band[nb - 1];
        k23_range_t whole = {b->first, b->last - b->first + 1};
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                "class=\"a\">%s</text>\n",
                x_addr, b->y + b->h, width - 16, b->y + b->h, x_addr,
                b->y + b->h + 4, end_text(whole, h1, sizeof(h1)));
    }

    char label[300];
    for (size_t i = 0; i < m->ram_count; i++) {
        snprintf(label, sizeof(label), "%s", m->ram[i].name);
        svg_box(f, band, nb, x_ram, w_ram, m->ram[i].range, "#cfe3f7",
                "#4a7fb5", label);
    }
    for (size_t i = 0; i < m->taken_count; i++) {
        const k23_fdt_region_t *r = &m->taken[i];
        const char *fill = "#f6c9c4", *stroke = "#b5473a";
        if (r->kind == K23_FDT_KIND_EXCLUDE)
            fill = "#f3dca8", stroke = "#a87b1c";
        else if (r->kind == K23_FDT_KIND_INITRD)
            fill = "#e2d2f2", stroke = "#7650a3";
        else if (r->kind == K23_FDT_KIND_MEMRESERVE)
            fill = "#e8c4d8", stroke = "#9b3f73";
        short_reason(c, r, label, sizeof(label));
        svg_box(f, band, nb, x_taken + (double)lane[i] * (w_lane + 6), w_lane,
                r->range, fill, stroke, label);
    }
    for (size_t i = 0; i < m->free_count; i++) {
        snprintf(label, sizeof(label), "free #%zu", i);
        svg_box(f, band, nb, x_free, w_free, m->free[i], "#cdebc5", "#3f8a2f",
                label);
    }
    svg_arenas(f, c, band, nb, x_arena, w_arena);
    if (!c->frames_ok)
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" class=\"g\">none: frame sizes "
                "are 4 KiB..64 KiB</text>\n",
                x_arena, top + 16);
    if (m->ram_count == 0)
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" class=\"g\">no RAM in this "
                "tree</text>\n",
                x_ram, top + 16);
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, PROG ": %s: write failed\n", path);
        bad = 1;
    }
    free(cut), free(cut_top), free(band), free(lane), free(lane_last),
        free(lane_used);
    return bad ? 1 : 0;
}

/* ---- main ---- */

static int read_file(const char *path, void **out, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap); /* malloc: aligned for the blob */
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= MAX_BLOB)
            break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (buf == NULL || err) {
        fprintf(stderr, PROG ": %s: %s\n", path,
                buf == NULL ? "out of memory" : "read error");
        free(buf);
        return 1;
    }
    if (n == cap) {
        fprintf(stderr, PROG ": %s: larger than %u MiB\n", path,
                MAX_BLOB >> 20);
        free(buf);
        return 1;
    }
    *out = buf;
    *size = n;
    return 0;
}

/* Everything main() does; what it allocates stays reachable from *c, and
 * main() frees it on every path. */
static int memmap_main(struct ctx *c, int argc, char **argv)
{
    bool kv = false;
    const char *svg = NULL;
    c->excl = calloc((size_t)argc, sizeof(*c->excl));
    c->excl_text = calloc((size_t)argc, sizeof(*c->excl_text));
    if (c->excl == NULL || c->excl_text == NULL)
        return 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf(PROG " %s (libk23mem)\n", k23_version());
            return 0;
        } else if (strcmp(a, "--kv") == 0) {
            kv = true;
        } else if (strcmp(a, "--cpus") == 0 && i + 1 < argc) {
            char *end;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' ||
                n > K23_FRAMES_CPU_LIMIT) {
                fprintf(stderr, PROG ": --cpus %s: want 0 to %u\n", argv[i],
                        (unsigned)K23_FRAMES_CPU_LIMIT);
                return 2;
            }
            c->cpus = (unsigned)n;
            c->cpus_given = true;
        } else if (strcmp(a, "--page-size") == 0 && i + 1 < argc) {
            uint64_t p;
            if (memmap_parse_page_size(argv[++i], K23_FDT_PAGE_LOG2_MAX,
                                       &p) != 0) {
                fprintf(stderr,
                        PROG ": --page-size %s: want a power of two "
                             "from 1 to 1G\n",
                        argv[i]);
                return 2;
            }
            c->page = p;
        } else if (strcmp(a, "--exclude") == 0 && i + 1 < argc) {
            const char *arg = argv[++i];
            uint64_t s, e;
            if (memmap_parse_exclude(arg, &s, &e) != 0) {
                fprintf(stderr,
                        PROG ": --exclude %s: want START-END with "
                             "START <= END\n",
                        arg);
                return 2;
            }
            c->excl_text[c->nexcl] = (char *)arg;
            c->excl[c->nexcl++] = (k23_range_t){s, e - s};
        } else if (strcmp(a, "--svg") == 0 && i + 1 < argc) {
            svg = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, PROG ": unknown or incomplete option %s\n", a);
            usage(stderr);
            return 2;
        } else if (c->file == NULL) {
            c->file = a;
        } else {
            fprintf(stderr, PROG ": one FILE.dtb only\n");
            return 2;
        }
    }
    if (c->file == NULL) {
        usage(stderr);
        return 2;
    }
    if (read_file(c->file, &c->blob, &c->blob_size) != 0)
        return 1;

    unsigned page_log2 = 0;
    while ((UINT64_C(1) << page_log2) < c->page)
        page_log2++;
    k23_fdt_memmap_config_t cfg = {
        .page_log2 = page_log2,
        .exclude = c->excl,
        .nexclude = c->nexcl,
    };

    /* First pass counts (all capacities 0), then the real one; a second
     * NOSPACE (free count was only an upper bound) cannot happen, but the
     * loop copes. */
    k23_fdt_memmap_diag_t diag = {0};
    int err;
    for (int pass = 0;; pass++) {
        err = k23_fdt_memmap(c->blob, c->blob_size, &cfg, &c->map, &diag);
        if (err != K23_ERR_NOSPACE || pass == 3)
            break;
        k23_fdt_memmap_t m = c->map;
        free(m.ram), free(m.taken), free(m.dynamic), free(m.free);
        c->map = (k23_fdt_memmap_t){
            .ram = calloc(m.ram_count + 1, sizeof(k23_fdt_region_t)),
            .ram_cap = m.ram_count,
            .taken = calloc(m.taken_count + 1, sizeof(k23_fdt_region_t)),
            .taken_cap = m.taken_count,
            .dynamic = calloc(m.dynamic_count + 1, sizeof(k23_fdt_region_t)),
            .dynamic_cap = m.dynamic_count,
            .free = calloc(m.free_count + 1, sizeof(k23_range_t)),
            .free_cap = m.free_count,
        };
        if (!c->map.ram || !c->map.taken || !c->map.dynamic || !c->map.free) {
            fprintf(stderr, PROG ": out of memory\n");
            return 1;
        }
    }
    if (err == K23_ERR_INVAL) {
        fprintf(stderr, PROG ": invalid --exclude or --page-size\n");
        return 2;
    }
    if (err != K23_OK) {
        char path[256] = "";
        if (diag.node >= 0 && err != K23_ERR_FDT_MAGIC &&
            err != K23_ERR_FDT_VERSION && err != K23_ERR_FDT_TRUNCATED &&
            err != K23_ERR_FDT_CORRUPT && err != K23_ERR_ALIGN &&
            fdt_get_path(c->blob, diag.node, path, sizeof(path)) != 0)
            path[0] = '\0';
        fprintf(stderr, PROG ": %s: %s%s%s: %s (%s", c->file,
                path[0] ? path : "", path[0] ? " " : "",
                diag.what ? diag.what : "blob", k23_strerror(err),
                k23_strerror_name(err));
        if (diag.libfdt_err != 0)
            fprintf(stderr, ", libfdt: %s", fdt_strerror(diag.libfdt_err));
        fprintf(stderr, ")\n");
        return 2;
    }

    if (!find_paths(c)) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }

    /* The frame allocator's plan, with its defaults for this frame size. */
    c->frames_ok = k23_frames_config_default(&c->fcfg, c->page) == K23_OK;
    /* the target's CPU count, not this host's; 0: caches off */
    c->fcfg.cpus = c->cpus_given ? c->cpus : 1;
    if (c->fcfg.cpus == 0)
        c->fcfg.cache_frames = 0;
    if (c->frames_ok) {
        const k23_range_t *fr = c->map.free;
        size_t nf = c->map.free_count;
        err = k23_frames_plan(fr, nf, &c->fcfg, NULL, 0, &c->nplan);
        if (err == K23_ERR_NOSPACE) {
            c->plan = calloc(c->nplan, sizeof(*c->plan));
            if (c->plan == NULL) {
                fprintf(stderr, PROG ": out of memory\n");
                return 1;
            }
            err = k23_frames_plan(fr, nf, &c->fcfg, c->plan, c->nplan, &c->nplan);
        }
        if (err != K23_OK) {
            fprintf(stderr, PROG ": k23_frames_plan: %s (%s)\n",
                    k23_strerror(err), k23_strerror_name(err));
            return 1;
        }
    }

    if (kv)
        print_kv(c);
    else {
        print_text(c);
        print_arenas(c);
    }
    if (svg != NULL)
        return write_svg(c, svg);
    return 0;
}

int main(int argc, char **argv)
{
    struct ctx c = {.page = 4096};
    int rc = memmap_main(&c, argc, argv);
    free(c.map.ram), free(c.map.taken), free(c.map.dynamic), free(c.map.free);
    free(c.blob), free(c.excl), free(c.excl_text), free(c.plan);
    free(c.paths);
    return rc;
}
