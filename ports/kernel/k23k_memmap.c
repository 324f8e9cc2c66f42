/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Reference memory map read straight from the DTB with libfdt (see
 * k23k_memmap.h). Deliberately simple: small fixed tables, insertion sort,
 * quadratic subtraction. It only has to be obviously right.
 */
#include "k23k_memmap.h"

#include <libfdt.h>

#include "kernel.h"

static bool memmap_add(k23k_range_t *tab, unsigned *n, uint64_t base,
                       uint64_t size, const char *what)
{
    if (size == 0)
        return true;
    if (*n >= K23K_MAX_RANGES || base + size < base)
        return false;
    unsigned i = *n;
    /* Insertion sort by base keeps every table ordered. */
    while (i > 0 && tab[i - 1].base > base) {
        tab[i] = tab[i - 1];
        i--;
    }
    tab[i].base = base;
    tab[i].size = size;
    tab[i].what = what;
    (*n)++;
    return true;
}

static uint64_t memmap_cells(const fdt32_t *p, int cells)
{
    uint64_t v = 0;
    for (int i = 0; i < cells; i++)
        v = (v << 32) | fdt32_to_cpu(p[i]);
    return v;
}

static bool memmap_enabled(const void *fdt, int node)
{
    int len = 0;
    const char *s = fdt_getprop(fdt, node, "status", &len);
    if (s == NULL)
        return true;
    return (len >= 5 && memcmp(s, "okay", 5) == 0) ||
           (len >= 3 && memcmp(s, "ok", 3) == 0);
}

/* Append every (address, size) pair of @node's reg, read with the cell
 * counts of @parent. */
static int memmap_reg(const void *fdt, int parent, int node, k23k_range_t *tab,
                      unsigned *n, const char *what)
{
    int ac = fdt_address_cells(fdt, parent);
    int sc = fdt_size_cells(fdt, parent);
    int len = 0;
    if (ac < 0)
        return ac;
    if (sc < 0)
        return sc;
    if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
        return -1;
    const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
    if (reg == NULL)
        return len == -FDT_ERR_NOTFOUND ? 0 : len;
    int stride = (ac + sc) * 4;
    if (len % stride != 0)
        return -FDT_ERR_BADVALUE;
    for (int off = 0; off < len; off += stride) {
        const fdt32_t *e = reg + off / 4;
        if (!memmap_add(tab, n, memmap_cells(e, ac), memmap_cells(e + ac, sc),
                        what))
            return -1;
    }
    return 0;
}

int k23k_memmap_read(const void *fdt, k23k_memmap_t *m)
{
    uint32_t nodes_seen[K23K_MAX_RANGES];
    unsigned n_nodes = 0;
    int err;

    m->n_ram = m->n_excl = m->n_free = 0;
    m->n_numa_nodes = 0;

    for (int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type",
                                                  "memory", sizeof("memory"));
         node >= 0;
         node = fdt_node_offset_by_prop_value(fdt, node, "device_type",
                                              "memory", sizeof("memory"))) {
        if (!memmap_enabled(fdt, node))
            continue;
        err = memmap_reg(fdt, fdt_parent_offset(fdt, node), node, m->ram,
                         &m->n_ram, "memory");
        if (err != 0)
            return err;
        int len = 0;
        const fdt32_t *id = fdt_getprop(fdt, node, "numa-node-id", &len);
        uint32_t v = id != NULL && len == 4 ? fdt32_to_cpu(*id) : 0;
        bool seen = false;
        for (unsigned i = 0; i < n_nodes; i++)
            seen = seen || nodes_seen[i] == v;
        if (!seen && n_nodes < K23K_MAX_RANGES)
            nodes_seen[n_nodes++] = v;
    }
    m->n_numa_nodes = n_nodes;

    int nrsv = fdt_num_mem_rsv(fdt);
    if (nrsv < 0)
        return nrsv;
    for (int i = 0; i < nrsv; i++) {
        uint64_t a, s;
        err = fdt_get_mem_rsv(fdt, i, &a, &s);
        if (err != 0)
            return err;
        if (!memmap_add(m->excl, &m->n_excl, a, s, "/memreserve/"))
            return -1;
    }

    int resv = fdt_path_offset(fdt, "/reserved-memory");
    if (resv >= 0) {
        int child;
        fdt_for_each_subnode(child, fdt, resv)
        {
            if (!memmap_enabled(fdt, child))
                continue;
            err = memmap_reg(fdt, resv, child, m->excl, &m->n_excl,
                             fdt_get_name(fdt, child, NULL));
            if (err != 0)
                return err;
        }
    }
    return 0;
}

bool k23k_memmap_exclude(k23k_memmap_t *m, uint64_t base, uint64_t size,
                         const char *what)
{
    return memmap_add(m->excl, &m->n_excl, base, size, what);
}

static void memmap_add_free(k23k_memmap_t *m, uint64_t b, uint64_t e)
{
    /* Whole pages only: round the start up and the end down. */
    uint64_t ab = (b + K23K_PAGE - 1) & ~(uint64_t)(K23K_PAGE - 1);
    uint64_t ae = e & ~(uint64_t)(K23K_PAGE - 1);
    if (ab < b || ae <= ab)
        return;
    if (m->n_free > 0 &&
        m->free[m->n_free - 1].base + m->free[m->n_free - 1].size == ab) {
        m->free[m->n_free - 1].size += ae - ab; /* touching: merge */
        return;
    }
    if (m->n_free < 2 * K23K_MAX_RANGES) {
        m->free[m->n_free].base = ab;
        m->free[m->n_free].size = ae - ab;
        m->free[m->n_free].what = "free";
        m->n_free++;
    }
}

void k23k_memmap_finish(k23k_memmap_t *m)
{
    m->n_free = 0;
    for (unsigned r = 0; r < m->n_ram; r++) {
        uint64_t cur = m->ram[r].base;
        uint64_t end = m->ram[r].base + m->ram[r].size;
        /* Exclusions are sorted by base, so one pass cuts the range. */
        for (unsigned x = 0; x < m->n_excl && cur < end; x++) {
            uint64_t xb = m->excl[x].base;
            uint64_t xe = xb + m->excl[x].size;
            if (xe <= cur || xb >= end)
                continue;
            if (xb > cur)
                memmap_add_free(m, cur, xb);
            if (xe > cur)
                cur = xe;
        }
        if (cur < end)
            memmap_add_free(m, cur, end);
    }
}

bool k23k_memmap_in_ram(const k23k_memmap_t *m, uint64_t base, uint64_t size)
{
    for (unsigned r = 0; r < m->n_ram; r++) {
        if (base >= m->ram[r].base &&
            base - m->ram[r].base <= m->ram[r].size &&
            size <= m->ram[r].size - (base - m->ram[r].base))
            return true;
    }
    return false;
}

const k23k_range_t *k23k_memmap_excluded(const k23k_memmap_t *m,
                                         uint64_t base, uint64_t size)
{
    for (unsigned x = 0; x < m->n_excl; x++) {
        uint64_t xb = m->excl[x].base;
        if (base < xb + m->excl[x].size && xb < base + size)
            return &m->excl[x];
    }
    return NULL;
}

static void memmap_print_tab(const char *title, const k23k_range_t *t,
                             unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        k23k_printf("  %s [0x%010llx, 0x%010llx) %6llu KiB  %s\n", title,
                    (unsigned long long)t[i].base,
                    (unsigned long long)(t[i].base + t[i].size),
                    (unsigned long long)(t[i].size >> 10),
                    t[i].what != NULL ? t[i].what : "");
}

void k23k_memmap_print(const k23k_memmap_t *m)
{
    memmap_print_tab("ram ", m->ram, m->n_ram);
    memmap_print_tab("excl", m->excl, m->n_excl);
    memmap_print_tab("free", m->free, m->n_free);
}
