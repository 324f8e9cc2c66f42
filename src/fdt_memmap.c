/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The memory map of a device-tree machine (see include/k23mem/fdt_memmap.h).
 *
 * This is the one core module that includes a header from outside the
 * project: <libfdt.h>. Freestanding builds put ports/freestanding-include
 * (our own libfdt_env.h) first on the include path, so libfdt.h sees only
 * compiler headers. Everything here is plain C over the blob; the only
 * libc-like calls are the ones libfdt makes itself.
 *
 * Shape of the work:
 *   1. check the whole blob (header, size, structure) before trusting it;
 *   2. collect RAM, taken-out regions and dynamic reservations into the
 *      caller's arrays, counting past their capacity so that a too-small
 *      array can be reported with the size it needs;
 *   3. sort RAM and taken-out regions by base (heap sort: no recursion, no
 *      allocation, O(n log n) even for hostile blobs);
 *   4. sweep both sorted lists at once, merging overlapping entries on the
 *      fly, and emit RAM minus holes, each piece aligned inward.
 *
 * Ranges are handled by their inclusive last byte wherever an end could be
 * 2^64, so nothing computes base + size unchecked.
 */
#include "internal.h"
#include "k23mem/fdt_memmap.h"
#include "k23mem/range.h"

#include <libfdt.h>

/* Defaults the Devicetree Specification gives for absent cell counts. */
#define FDTMM_DEFAULT_ADDRESS_CELLS 2
#define FDTMM_DEFAULT_SIZE_CELLS 1
/* Oldest blob version read (see fdtmm_check_blob). */
#define FDTMM_MIN_VERSION 16

struct fdtmm_ctx {
    const void *fdt;
    k23_fdt_memmap_t *map;
    k23_fdt_memmap_diag_t *diag;
    size_t nram;     /* entries found, may exceed map->ram_cap */
    size_t ntaken;   /* same for taken */
    size_t ndynamic; /* same for dynamic */
};

/* ---- errors ---- */

int k23_fdt_error(int fdt_err)
{
    switch (fdt_err) {
    case 0:
        return K23_OK;
    case -FDT_ERR_NOTFOUND:
        return K23_ERR_NOT_FOUND;
    case -FDT_ERR_NOSPACE:
        return K23_ERR_NOSPACE;
    case -FDT_ERR_TRUNCATED:
        return K23_ERR_FDT_TRUNCATED;
    case -FDT_ERR_BADMAGIC:
        return K23_ERR_FDT_MAGIC;
    case -FDT_ERR_BADVERSION:
        return K23_ERR_FDT_VERSION;
    case -FDT_ERR_BADNCELLS:
        return K23_ERR_FDT_CELLS;
    case -FDT_ERR_BADVALUE:
        return K23_ERR_FDT_REG;
#ifdef FDT_ERR_ALIGNMENT
    case -FDT_ERR_ALIGNMENT:
        return K23_ERR_ALIGN;
#endif
    default:
        return K23_ERR_FDT_CORRUPT;
    }
}

/* Record where things went wrong and return the code. */
static int fdtmm_fail(struct fdtmm_ctx *c, int err, int fdt_err, int node,
                      const char *what)
{
    if (c->diag != NULL) {
        c->diag->libfdt_err = fdt_err;
        c->diag->node = node;
        c->diag->what = what;
    }
    return err;
}

static int fdtmm_fail_libfdt(struct fdtmm_ctx *c, int fdt_err, int node,
                             const char *what)
{
    int err = k23_fdt_error(fdt_err);
    /* NOT_FOUND or NOSPACE from a lookup we expected to work still means
     * the blob is not what it claims to be. */
    if (err == K23_ERR_NOT_FOUND || err == K23_ERR_NOSPACE || err == K23_OK)
        err = K23_ERR_FDT_CORRUPT;
    return fdtmm_fail(c, err, fdt_err, node, what);
}

const char *k23_fdt_kind_name(uint32_t kind)
{
    switch (kind) {
    case K23_FDT_KIND_RAM:
        return "RAM";
    case K23_FDT_KIND_MEMRESERVE:
        return "memreserve";
    case K23_FDT_KIND_RESERVED_MEMORY:
        return "reserved-memory";
    case K23_FDT_KIND_INITRD:
        return "initrd";
    case K23_FDT_KIND_EXCLUDE:
        return "exclude";
    case K23_FDT_KIND_DYNAMIC:
        return "dynamic";
    default:
        return "unknown";
    }
}

/* ---- property helpers ---- */

/* Whether a property value is exactly the string s with its NUL. */
static bool fdtmm_prop_is(const void *val, int len, const char *s)
{
    const char *v = val;
    int i = 0;
    if (val == NULL)
        return false;
    for (; s[i] != '\0'; i++) {
        if (i >= len || v[i] != s[i])
            return false;
    }
    return len == i + 1 && v[i] == '\0';
}

/* A node is available when it has no "status" or status is "okay"/"ok". */
static bool fdtmm_available(const void *fdt, int node)
{
    int len = 0;
    const void *st = fdt_getprop(fdt, node, "status", &len);
    if (st == NULL)
        return true;
    return fdtmm_prop_is(st, len, "okay") || fdtmm_prop_is(st, len, "ok");
}

/* Read #address-cells or #size-cells of node (default when absent) and
 * require 1 or 2. */
static int fdtmm_cells(struct fdtmm_ctx *c, int node, const char *name,
                       uint32_t dflt, uint32_t *out)
{
    int len = 0;
    const fdt32_t *p = fdt_getprop(c->fdt, node, name, &len);
    uint32_t v = dflt;
    if (p == NULL) {
        if (len != -FDT_ERR_NOTFOUND)
            return fdtmm_fail_libfdt(c, len, node, name);
    } else {
        if (len != (int)sizeof(fdt32_t))
            return fdtmm_fail(c, K23_ERR_FDT_CELLS, 0, node, name);
        v = fdt32_ld(p);
    }
    if (v != 1 && v != 2)
        return fdtmm_fail(c, K23_ERR_FDT_CELLS, 0, node, name);
    *out = v;
    return K23_OK;
}

/* A number of 1 or 2 big-endian cells. */
static uint64_t fdtmm_read_cells(const fdt32_t *p, uint32_t ncells)
{
    uint64_t v = fdt32_ld(p);
    if (ncells == 2)
        v = (v << 32) | fdt32_ld(p + 1);
    return v;
}

/* A single number property of 1 or 2 cells (4 or 8 bytes), or exactly
 * ncells cells when ncells != 0. Returns K23_ERR_NOT_FOUND when absent. */
static int fdtmm_read_number(struct fdtmm_ctx *c, int node, const char *name,
                             uint32_t ncells, uint64_t *out)
{
    int len = 0;
    const fdt32_t *p = fdt_getprop(c->fdt, node, name, &len);
    if (p == NULL) {
        if (len == -FDT_ERR_NOTFOUND)
            return K23_ERR_NOT_FOUND;
        return fdtmm_fail_libfdt(c, len, node, name);
    }
    if (ncells == 0 && (len == 4 || len == 8))
        ncells = (uint32_t)len / 4;
    if (len != (int)(ncells * sizeof(fdt32_t)))
        return fdtmm_fail(c, K23_ERR_FDT_REG, 0, node, name);
    *out = fdtmm_read_cells(p, ncells);
    return K23_OK;
}

/* ---- collecting ---- */

static void fdtmm_put(k23_fdt_region_t *arr, size_t cap, size_t *n,
                      const k23_fdt_region_t *r)
{
    if (*n < cap)
        arr[*n] = *r;
    (*n)++;
}

/* Decode every (address, size) entry of a reg-like property and add the
 * non-empty ones to arr as copies of proto with their range and index. */
static int fdtmm_decode_reg(struct fdtmm_ctx *c, int node, const char *prop,
                            uint32_t ac, uint32_t sc,
                            const k23_fdt_region_t *proto,
                            k23_fdt_region_t *arr, size_t cap, size_t *n)
{
    int len = 0;
    const fdt32_t *p = fdt_getprop(c->fdt, node, prop, &len);
    if (p == NULL)
        return fdtmm_fail_libfdt(c, len, node, prop);
    size_t entry = (size_t)(ac + sc) * sizeof(fdt32_t);
    if (len < 0 || (size_t)len % entry != 0)
        return fdtmm_fail(c, K23_ERR_FDT_REG, 0, node, prop);
    size_t count = (size_t)len / entry;
    for (size_t i = 0; i < count; i++) {
        const fdt32_t *e = p + i * (ac + sc);
        k23_fdt_region_t r = *proto;
        r.range.base = fdtmm_read_cells(e, ac);
        r.range.size = fdtmm_read_cells(e + ac, sc);
        r.index = (uint32_t)i;
        if (!k23_range_valid(r.range))
            return fdtmm_fail(c, K23_ERR_FDT_RANGE, 0, node, prop);
        if (r.range.size != 0)
            fdtmm_put(arr, cap, n, &r);
    }
    return K23_OK;
}

static const char *fdtmm_name(const void *fdt, int node)
{
    const char *name = fdt_get_name(fdt, node, NULL);
    return name != NULL ? name : "?";
}

static int fdtmm_collect_ram(struct fdtmm_ctx *c)
{
    const void *fdt = c->fdt;
    uint32_t ac = 0, sc = 0;
    bool have_cells = false;
    int node;

    fdt_for_each_subnode(node, fdt, 0)
    {
        int len = 0;
        const void *dt = fdt_getprop(fdt, node, "device_type", &len);
        if (!fdtmm_prop_is(dt, len, "memory") || !fdtmm_available(fdt, node))
            continue;
        if (!have_cells) {
            int err = fdtmm_cells(c, 0, "#address-cells",
                                  FDTMM_DEFAULT_ADDRESS_CELLS, &ac);
            if (err == K23_OK)
                err = fdtmm_cells(c, 0, "#size-cells", FDTMM_DEFAULT_SIZE_CELLS,
                                  &sc);
            if (err != K23_OK)
                return err;
            have_cells = true;
        }
        k23_fdt_region_t proto = {
            .kind = K23_FDT_KIND_RAM,
            .node = node,
            .name = fdtmm_name(fdt, node),
        };
        const char *prop = "reg";
        if (fdt_getprop(fdt, node, "linux,usable-memory", NULL) != NULL) {
            prop = "linux,usable-memory";
            proto.flags |= K23_FDT_FLAG_USABLE_MEMORY;
        } else if (fdt_getprop(fdt, node, "reg", NULL) == NULL) {
            continue; /* a memory node without regions adds nothing */
        }
        int err = fdtmm_decode_reg(c, node, prop, ac, sc, &proto, c->map->ram,
                                   c->map->ram_cap, &c->nram);
        if (err != K23_OK)
            return err;
    }
    if (node != -FDT_ERR_NOTFOUND)
        return fdtmm_fail_libfdt(c, node, 0, "root node");
    return K23_OK;
}

static int fdtmm_collect_memreserve(struct fdtmm_ctx *c)
{
    int n = fdt_num_mem_rsv(c->fdt);
    if (n < 0)
        return fdtmm_fail_libfdt(c, n, -1, "/memreserve/");
    for (int i = 0; i < n; i++) {
        k23_fdt_region_t r = {
            .kind = K23_FDT_KIND_MEMRESERVE,
            .node = -1,
            .index = (uint32_t)i,
            .name = "/memreserve/",
        };
        int err = fdt_get_mem_rsv(c->fdt, i, &r.range.base, &r.range.size);
        if (err < 0)
            return fdtmm_fail_libfdt(c, err, -1, "/memreserve/");
        if (!k23_range_valid(r.range))
            return fdtmm_fail(c, K23_ERR_FDT_RANGE, 0, -1, "/memreserve/");
        if (r.range.size != 0)
            fdtmm_put(c->map->taken, c->map->taken_cap, &c->ntaken, &r);
    }
    return K23_OK;
}

static int fdtmm_collect_reserved(struct fdtmm_ctx *c)
{
    const void *fdt = c->fdt;
    int parent = fdt_path_offset(fdt, "/reserved-memory");
    if (parent == -FDT_ERR_NOTFOUND)
        return K23_OK;
    if (parent < 0)
        return fdtmm_fail_libfdt(c, parent, -1, "/reserved-memory");

    uint32_t ac = 0, sc = 0;
    bool have_cells = false;
    int node;
    fdt_for_each_subnode(node, fdt, parent)
    {
        if (!fdtmm_available(fdt, node))
            continue;
        if (!have_cells) {
            int err = fdtmm_cells(c, parent, "#address-cells",
                                  FDTMM_DEFAULT_ADDRESS_CELLS, &ac);
            if (err == K23_OK)
                err = fdtmm_cells(c, parent, "#size-cells",
                                  FDTMM_DEFAULT_SIZE_CELLS, &sc);
            if (err != K23_OK)
                return err;
            have_cells = true;
        }
        k23_fdt_region_t proto = {
            .kind = K23_FDT_KIND_RESERVED_MEMORY,
            .node = node,
            .name = fdtmm_name(fdt, node),
        };
        if (fdt_getprop(fdt, node, "no-map", NULL) != NULL)
            proto.flags |= K23_FDT_FLAG_NO_MAP;
        if (fdt_getprop(fdt, node, "reusable", NULL) != NULL)
            proto.flags |= K23_FDT_FLAG_REUSABLE;

        int err;
        if (fdt_getprop(fdt, node, "reg", NULL) != NULL) {
            err =
                fdtmm_decode_reg(c, node, "reg", ac, sc, &proto, c->map->taken,
                                 c->map->taken_cap, &c->ntaken);
            if (err != K23_OK)
                return err;
            continue;
        }
        /* Dynamic: the OS is asked to place it; report, take nothing. */
        proto.kind = K23_FDT_KIND_DYNAMIC;
        err = fdtmm_read_number(c, node, "size", sc, &proto.range.size);
        if (err == K23_OK)
            proto.flags |= K23_FDT_FLAG_HAS_SIZE;
        else if (err != K23_ERR_NOT_FOUND)
            return err;
        err = fdtmm_read_number(c, node, "alignment", sc, &proto.align);
        if (err == K23_OK)
            proto.flags |= K23_FDT_FLAG_HAS_ALIGN;
        else if (err != K23_ERR_NOT_FOUND)
            return err;
        fdtmm_put(c->map->dynamic, c->map->dynamic_cap, &c->ndynamic, &proto);
    }
    if (node != -FDT_ERR_NOTFOUND)
        return fdtmm_fail_libfdt(c, node, parent, "/reserved-memory");
    return K23_OK;
}

static int fdtmm_collect_initrd(struct fdtmm_ctx *c)
{
    int chosen = fdt_path_offset(c->fdt, "/chosen");
    if (chosen == -FDT_ERR_NOTFOUND)
        return K23_OK;
    if (chosen < 0)
        return fdtmm_fail_libfdt(c, chosen, -1, "/chosen");

    uint64_t start = 0, end = 0;
    int es = fdtmm_read_number(c, chosen, "linux,initrd-start", 0, &start);
    if (es != K23_OK && es != K23_ERR_NOT_FOUND)
        return es;
    int ee = fdtmm_read_number(c, chosen, "linux,initrd-end", 0, &end);
    if (ee != K23_OK && ee != K23_ERR_NOT_FOUND)
        return ee;
    if (es == K23_ERR_NOT_FOUND && ee == K23_ERR_NOT_FOUND)
        return K23_OK;
    if (es != K23_OK)
        return fdtmm_fail(c, K23_ERR_FDT_RANGE, 0, chosen,
                          "linux,initrd-start (missing)");
    if (ee != K23_OK)
        return fdtmm_fail(c, K23_ERR_FDT_RANGE, 0, chosen,
                          "linux,initrd-end (missing)");
    if (end < start)
        return fdtmm_fail(c, K23_ERR_FDT_RANGE, 0, chosen,
                          "linux,initrd-end (before start)");
    if (end == start)
        return K23_OK;
    k23_fdt_region_t r = {
        .range = {start, end - start},
        .kind = K23_FDT_KIND_INITRD,
        .node = chosen,
        .name = "linux,initrd",
    };
    fdtmm_put(c->map->taken, c->map->taken_cap, &c->ntaken, &r);
    return K23_OK;
}

/* ---- sorting ---- */

/* Order by base, then last byte, kind and index, so that the result does
 * not depend on the input order of equal entries. */
static bool fdtmm_less(const k23_fdt_region_t *a, const k23_fdt_region_t *b)
{
    if (a->range.base != b->range.base)
        return a->range.base < b->range.base;
    if (a->range.size != b->range.size)
        return a->range.size < b->range.size;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    return a->index < b->index;
}

static void fdtmm_sift_down(k23_fdt_region_t *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && fdtmm_less(&v[child], &v[child + 1]))
            child++;
        if (!fdtmm_less(&v[root], &v[child]))
            return;
        k23_fdt_region_t t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

static void fdtmm_sort(k23_fdt_region_t *v, size_t n)
{
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        fdtmm_sift_down(v, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        k23_fdt_region_t t = v[0];
        v[0] = v[end];
        v[end] = t;
        fdtmm_sift_down(v, 0, end);
    }
}

/* ---- the sweep ---- */

/* Walks a sorted region array as merged intervals [first, last] (inclusive;
 * overlapping and touching entries are joined). */
struct fdtmm_iter {
    const k23_fdt_region_t *v;
    size_t n, i;
    bool valid;
    uint64_t first, last; /* current merged interval when valid */
};

static void fdtmm_iter_next(struct fdtmm_iter *it)
{
    it->valid = false;
    while (it->i < it->n && it->v[it->i].range.size == 0)
        it->i++;
    if (it->i >= it->n)
        return;
    it->first = it->v[it->i].range.base;
    it->last = k23_range_last(it->v[it->i].range);
    it->valid = true;
    for (it->i++; it->i < it->n; it->i++) {
        k23_range_t r = it->v[it->i].range;
        if (r.size == 0)
            continue;
        /* joins when it starts at or before last + 1 (no overflow: when
         * last is UINT64_MAX everything after starts at or before it) */
        if (it->last != UINT64_MAX && r.base > it->last + 1)
            break;
        uint64_t l = k23_range_last(r);
        if (l > it->last)
            it->last = l;
    }
}

struct fdtmm_out {
    k23_range_t *v;
    size_t cap, n;
    uint64_t mask; /* page size - 1 */
    bool whole;    /* a piece covered the whole 64-bit space */
};

/* Emit the free piece [first, last], aligned inward. */
static void fdtmm_emit(struct fdtmm_out *o, uint64_t first, uint64_t last)
{
    uint64_t start;
    if (k23_add_overflow_(first, o->mask, &start))
        return; /* no page boundary at or after first */
    start &= ~o->mask;
    /* end (exclusive) rounded down; last == UINT64_MAX means end 2^64,
     * which is a multiple of every page size */
    uint64_t alast;
    if (last == UINT64_MAX) {
        alast = UINT64_MAX;
    } else {
        uint64_t aend = (last + 1) & ~o->mask;
        if (aend == 0)
            return;
        alast = aend - 1;
    }
    if (start > alast)
        return;
    if (start == 0 && alast == UINT64_MAX) {
        o->whole = true; /* size 2^64 has no k23_range_t */
        return;
    }
    if (o->n < o->cap) {
        o->v[o->n].base = start;
        o->v[o->n].size = alast - start + 1;
    }
    o->n++;
}

/* RAM minus holes, both sorted by base. */
static void fdtmm_sweep(const k23_fdt_region_t *ram, size_t nram,
                        const k23_fdt_region_t *holes, size_t nholes,
                        struct fdtmm_out *o)
{
    struct fdtmm_iter a = {.v = ram, .n = nram};
    struct fdtmm_iter h = {.v = holes, .n = nholes};
    fdtmm_iter_next(&a);
    fdtmm_iter_next(&h);
    for (; a.valid; fdtmm_iter_next(&a)) {
        uint64_t pos = a.first;
        bool done = false;
        while (h.valid && h.last < pos)
            fdtmm_iter_next(&h);
        while (h.valid && h.first <= a.last) {
            if (h.first > pos)
                fdtmm_emit(o, pos, h.first - 1);
            if (h.last >= a.last) {
                done = true; /* this hole may reach the next RAM interval */
                break;
            }
            pos = h.last + 1;
            fdtmm_iter_next(&h);
        }
        if (!done)
            fdtmm_emit(o, pos, a.last);
    }
}

/* ---- the entry point ---- */

static uint32_t fdtmm_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/*
 * Walk the structure block's tokens before libfdt does. libfdt 1.6.1 keeps
 * offsets in int and adds a property's length unchecked, so a length such
 * as 0xfffffff4 moves fdt_next_tag() back onto the same token and
 * fdt_check_full() never returns (found by tests/fuzz). This walk uses
 * unsigned arithmetic bounded by the block, and every step moves forward
 * by at least one 4-byte token, so it ends on any input. It checks only
 * what keeps libfdt's own walk finite and in bounds; fdt_check_full()
 * then checks the rest (nesting, names, string offsets).
 */
static int fdtmm_check_tokens(const unsigned char *blob, size_t size)
{
    uint32_t start = fdtmm_be32(blob + 8); /* off_dt_struct */
    if (start > size || (start & 3) != 0)
        return -FDT_ERR_TRUNCATED;
    /* size_dt_struct exists from version 17 on; a version 16 block runs
     * to its FDT_END, so bound it by the blob. */
    size_t len = size - start;
    if (fdtmm_be32(blob + 20) >= 17) {
        uint32_t declared = fdtmm_be32(blob + 36);
        if (declared > len)
            return -FDT_ERR_TRUNCATED;
        len = declared;
    }
    const unsigned char *p = blob + start;
    size_t off = 0;
    while (off + 4 <= len) {
        uint32_t tag = fdtmm_be32(p + off);
        off += 4;
        switch (tag) {
        case FDT_BEGIN_NODE: {
            size_t name = off;
            while (name < len && p[name] != '\0')
                name++;
            if (name >= len)
                return -FDT_ERR_TRUNCATED;
            off = (name + 1 + 3) & ~(size_t)3;
            break;
        }
        case FDT_PROP: {
            if (len - off < 8)
                return -FDT_ERR_TRUNCATED;
            uint32_t plen = fdtmm_be32(p + off);
            off += 8;
            if (plen > len - off)
                return -FDT_ERR_BADSTRUCTURE;
            off = (off + plen + 3) & ~(size_t)3;
            break;
        }
        case FDT_END_NODE:
        case FDT_NOP:
            break;
        case FDT_END:
            return 0;
        default:
            return -FDT_ERR_BADSTRUCTURE;
        }
    }
    return -FDT_ERR_TRUNCATED; /* no FDT_END inside the block */
}

static int fdtmm_check_blob(struct fdtmm_ctx *c, size_t fdt_size)
{
    const void *fdt = c->fdt;
    if (((uintptr_t)fdt & 7) != 0)
        return fdtmm_fail(c, K23_ERR_ALIGN, 0, -1, "blob address");
    if (fdt_size < sizeof(fdt32_t))
        return fdtmm_fail(c, K23_ERR_FDT_TRUNCATED, 0, -1, "header");
    if (fdt_magic(fdt) != FDT_MAGIC)
        return fdtmm_fail(c, K23_ERR_FDT_MAGIC, -FDT_ERR_BADMAGIC, -1,
                          "header");
    if (fdt_size < sizeof(struct fdt_header))
        return fdtmm_fail(c, K23_ERR_FDT_TRUNCATED, 0, -1, "header");
    /* Versions before 16 are the pre-2007 format with full paths as node
     * names. Nothing produces them any more, and libfdt 1.6.1's
     * fdt_check_full() dereferences NULL on some of them (found by
     * tests/fuzz), so they are refused before libfdt looks further. */
    if (fdt_version(fdt) < FDTMM_MIN_VERSION)
        return fdtmm_fail(c, K23_ERR_FDT_VERSION, 0, -1, "header version");
    int err = fdt_check_header(fdt);
    if (err != 0)
        return fdtmm_fail_libfdt(c, err, -1, "header");
    /* The specification puts the /memreserve/ block on an 8-byte
     * boundary, and libfdt reads it in place through struct pointers that
     * assume so without checking (UndefinedBehaviorSanitizer flags them on
     * a misaligned block, found by tests/fuzz once libfdt was
     * instrumented). */
    if ((fdt_off_mem_rsvmap(fdt) & 7) != 0)
        return fdtmm_fail(c, K23_ERR_FDT_CORRUPT, 0, -1,
                          "header off_mem_rsvmap (memory reservation block "
                          "not 8-byte aligned)");
    if (fdt_totalsize(fdt) > fdt_size)
        return fdtmm_fail(c, K23_ERR_FDT_TRUNCATED, -FDT_ERR_TRUNCATED, -1,
                          "totalsize");
    err = fdtmm_check_tokens(fdt, fdt_totalsize(fdt));
    if (err == 0)
        err = fdt_check_full(fdt, fdt_size);
    if (err != 0)
        return fdtmm_fail_libfdt(c, err, -1, "structure");
    return K23_OK;
}

int k23_fdt_memmap(const void *fdt, size_t fdt_size,
                   const k23_fdt_memmap_config_t *cfg, k23_fdt_memmap_t *map,
                   k23_fdt_memmap_diag_t *diag)
{
    if (fdt == NULL || cfg == NULL || map == NULL ||
        cfg->page_log2 > K23_FDT_PAGE_LOG2_MAX ||
        (cfg->exclude == NULL && cfg->nexclude != 0) ||
        (map->ram == NULL && map->ram_cap != 0) ||
        (map->taken == NULL && map->taken_cap != 0) ||
        (map->dynamic == NULL && map->dynamic_cap != 0) ||
        (map->free == NULL && map->free_cap != 0))
        return K23_ERR_INVAL;
    for (size_t i = 0; i < cfg->nexclude; i++) {
        if (!k23_range_valid(cfg->exclude[i]))
            return K23_ERR_INVAL;
    }

    struct fdtmm_ctx c = {.fdt = fdt, .map = map, .diag = diag};
    int err = fdtmm_check_blob(&c, fdt_size);
    if (err == K23_OK)
        err = fdtmm_collect_ram(&c);
    if (err == K23_OK)
        err = fdtmm_collect_memreserve(&c);
    if (err == K23_OK)
        err = fdtmm_collect_reserved(&c);
    if (err == K23_OK)
        err = fdtmm_collect_initrd(&c);
    if (err != K23_OK)
        return err;
    for (size_t i = 0; i < cfg->nexclude; i++) {
        k23_fdt_region_t r = {
            .range = cfg->exclude[i],
            .kind = K23_FDT_KIND_EXCLUDE,
            .node = -1,
            .index = (uint32_t)i,
            .name = "exclude",
        };
        if (r.range.size != 0)
            fdtmm_put(map->taken, map->taken_cap, &c.ntaken, &r);
    }

    bool lists_fit = c.nram <= map->ram_cap && c.ntaken <= map->taken_cap;
    size_t nfree;
    if (lists_fit) {
        fdtmm_sort(map->ram, c.nram);
        fdtmm_sort(map->taken, c.ntaken);
        struct fdtmm_out o = {
            .v = map->free,
            .cap = map->free_cap,
            .mask = (UINT64_C(1) << cfg->page_log2) - 1,
        };
        fdtmm_sweep(map->ram, c.nram, map->taken, c.ntaken, &o);
        if (o.whole)
            return fdtmm_fail(&c, K23_ERR_FDT_RANGE, 0, -1,
                              "free memory spans all 2^64 bytes");
        nfree = o.n;
    } else {
        /* Without the lists the exact answer is unknown; this is enough:
         * merged RAM has at most nram intervals and each merged hole
         * splits at most one of them in two. */
        nfree = c.nram + c.ntaken;
    }

    map->ram_count = c.nram;
    map->taken_count = c.ntaken;
    map->dynamic_count = c.ndynamic;
    map->free_count = nfree;
    if (!lists_fit || c.ndynamic > map->dynamic_cap || nfree > map->free_cap)
        return K23_ERR_NOSPACE;
    K23_ASSERT_EXPENSIVE(nfree == 0 || map->free[0].size != 0);
    return K23_OK;
}
