/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The port's virtual-memory hooks (port.h) over an address space: a
 * kernel port forwards k23_port_vm_* here under its own lock.
 *
 * A reservation is one #K23_ASPACE_VM region; which of its pages are
 * committed is what the page table says (a page is committed exactly when
 * it is mapped), so commit and decommit of any sub-range never split the
 * record. The hooks have no flush parameter: they use the address
 * space's own flush object and carry it out before returning.
 */
#include "aspace_internal.h"

/* The VM region holding [addr, addr + size), with *last set; NULL when
 * the arguments are bad or no single reservation holds the range. */
static region_t *vm_region(k23_aspace_t *as, const void *addr, size_t size,
                           uint64_t *last)
{
    uint64_t base = (uint64_t)(uintptr_t)addr;
    if (!k23_aspace_ok_(as) || !k23_aspace_range_ok_(as, base, size, last))
        return NULL;
    region_t *r = k23_aspace_tree_find_(as, base);
    if (r == NULL || r->kind != K23_ASPACE_VM || r->last < *last)
        return NULL;
    return r;
}

int k23_aspace_vm_reserve(k23_aspace_t *as, size_t size, size_t align,
                          void **out)
{
    if (!k23_aspace_ok_(as) || out == NULL || size == 0 ||
        (size & (K23_ASPACE_PAGE_ - 1)) != 0 || align < K23_ASPACE_PAGE_ ||
        !k23_is_pow2_(align))
        return K23_ERR_INVAL;
    unsigned align_log2 = (unsigned)__builtin_ctzll((uint64_t)align);
    uint64_t base;
    int rc = k23_aspace_find(as, size, align_log2, NULL, &base);
    if (rc == K23_ERR_NOT_FOUND)
        return K23_ERR_NOMEM;
    if (rc != K23_OK)
        return rc;
    k23_aspace_desc_t d = {0};
    d.kind = K23_ASPACE_VM;
    d.name = "vm";
    rc = k23_aspace_reserve_(as, base, base + (size - 1), &d, &as->vm_flush);
    if (rc != K23_OK)
        return rc;
    *out = (void *)(uintptr_t)base;
    return K23_OK;
}

/* Undo the pages commit mapped in [base, last]: the ones still marked
 * with the device memory type (see k23_aspace_vm_commit()). */
static void vm_commit_undo(k23_aspace_t *as, uint64_t base, uint64_t last)
{
    for (uint64_t p = base;; p += K23_ASPACE_PAGE_) {
        k23_pt_mapping_t m;
        if (k23_pt_query(&as->pt, p, &m) == K23_OK &&
            m.memtype == K23_PT_MEM_DEVICE)
            k23_aspace_unmap_anon_(as, p, p + (K23_ASPACE_PAGE_ - 1),
                                   &as->vm_flush);
        if (p + (K23_ASPACE_PAGE_ - 1) == last)
            return;
    }
}

int k23_aspace_vm_commit(k23_aspace_t *as, void *addr, size_t size,
                         k23_perm_t perm)
{
    uint64_t last;
    if (vm_region(as, addr, size, &last) == NULL)
        return K23_ERR_INVAL;
    int rc = k23_perm_check(perm);
    if (rc != K23_OK)
        return rc;
    if ((perm & K23_PERM_READ) == 0)
        return K23_ERR_INVAL;
    uint64_t base = (uint64_t)(uintptr_t)addr;
    /* Pass 1 maps the missing pages with the device memory type, which no
     * committed page has: if a table frame runs out half way, those marks
     * say exactly which pages this call added, with no list to keep. */
    for (uint64_t p = base;; p += K23_ASPACE_PAGE_) {
        k23_pt_mapping_t m;
        if (k23_pt_query(&as->pt, p, &m) != K23_OK) {
            rc = k23_aspace_map_zeroed_(as, p, perm, K23_PT_MEM_DEVICE,
                                        &as->vm_flush, NULL);
            if (rc != K23_OK) {
                if (p != base)
                    vm_commit_undo(as, base, p - 1);
                k23_pt_flush(&as->vm_flush);
                return K23_ERR_NOMEM;
            }
        }
        if (p + (K23_ASPACE_PAGE_ - 1) == last)
            break;
    }
    /* Pass 2 cannot fail: every page is a 4 KiB leaf now. */
    rc = k23_pt_protect(&as->pt, base, size, perm, &as->vm_flush);
    K23_REQUIRE(rc == K23_OK, "k23_aspace_vm_commit");
    for (uint64_t p = base;; p += K23_ASPACE_PAGE_) {
        k23_pt_mapping_t m;
        rc = k23_pt_query(&as->pt, p, &m);
        K23_REQUIRE(rc == K23_OK, "k23_aspace_vm_commit");
        if (m.memtype == K23_PT_MEM_DEVICE) {
            rc = k23_pt_map(&as->pt, p, m.pa, K23_ASPACE_PAGE_, perm,
                            K23_PT_MEM_NORMAL,
                            K23_PT_REPLACE | K23_PT_MAX_LEAF_4K,
                            &as->vm_flush);
            K23_REQUIRE(rc == K23_OK, "k23_aspace_vm_commit");
        }
        if (p + (K23_ASPACE_PAGE_ - 1) == last)
            break;
    }
    k23_pt_flush(&as->vm_flush);
    return K23_OK;
}

int k23_aspace_vm_decommit(k23_aspace_t *as, void *addr, size_t size)
{
    uint64_t last;
    if (vm_region(as, addr, size, &last) == NULL)
        return K23_ERR_INVAL;
    k23_aspace_unmap_anon_(as, (uint64_t)(uintptr_t)addr, last,
                           &as->vm_flush);
    k23_pt_flush(&as->vm_flush);
    return K23_OK;
}

int k23_aspace_vm_release(k23_aspace_t *as, void *addr, size_t size)
{
    uint64_t last;
    region_t *r = vm_region(as, addr, size, &last);
    if (r == NULL || r->base != (uint64_t)(uintptr_t)addr || r->last != last)
        return K23_ERR_INVAL;
    int rc = k23_aspace_unmap(as, r->base, size, &as->vm_flush);
    k23_pt_flush(&as->vm_flush);
    return rc;
}

int k23_aspace_vm_caps(const k23_aspace_t *as, k23_port_caps_t *caps)
{
    if (!k23_aspace_ok_(as) || caps == NULL)
        return K23_ERR_INVAL;
    caps->page_size = (size_t)K23_ASPACE_PAGE_;
    caps->alloc_granularity = (size_t)K23_ASPACE_PAGE_;
    caps->can_decommit = true;
    caps->can_release = true;
    caps->has_vm = true;
    return K23_OK;
}

size_t k23_aspace_vm_reserved_bytes(const k23_aspace_t *as)
{
    K23_REQUIRE(k23_aspace_ok_(as), "k23_aspace_vm_reserved_bytes");
    return (size_t)as->vm_bytes;
}
