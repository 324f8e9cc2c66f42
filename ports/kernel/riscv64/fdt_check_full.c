/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * fdt_check_full() for the riscv64 kernel. Its libfdt is compiled from
 * Linux 6.1's copy (scripts/dtc/libfdt), which leaves out fdt_check.c, but
 * libk23mem's device-tree module checks a whole blob with it before use.
 * Written for this project from the libfdt API's documented contract: the
 * header is valid and fits @bufsize, the reservation block is readable,
 * and the structure block is one well-nested tree whose every property
 * has a readable name in the strings block.
 */
#include <libfdt.h>

int fdt_check_full(const void *fdt, size_t bufsize)
{
    if (bufsize < FDT_V1_SIZE)
        return -FDT_ERR_TRUNCATED;
    int err = fdt_check_header(fdt);
    if (err != 0)
        return err;
    if (bufsize < fdt_totalsize(fdt))
        return -FDT_ERR_TRUNCATED;
    err = fdt_num_mem_rsv(fdt);
    if (err < 0)
        return err;

    int depth = 0;
    bool root_done = false;
    int next = 0;
    for (;;) {
        int offset = next;
        uint32_t tag = fdt_next_tag(fdt, offset, &next);
        if (next < 0)
            return next;
        switch (tag) {
        case FDT_NOP:
            break;
        case FDT_END:
            return depth == 0 && root_done ? 0 : -FDT_ERR_TRUNCATED;
        case FDT_BEGIN_NODE:
            if (depth == 0 && root_done)
                return -FDT_ERR_BADSTRUCTURE; /* a second root */
            if (depth == INT_MAX)
                return -FDT_ERR_BADSTRUCTURE;
            depth++;
            break;
        case FDT_END_NODE:
            if (depth == 0)
                return -FDT_ERR_BADSTRUCTURE;
            if (--depth == 0)
                root_done = true;
            break;
        case FDT_PROP: {
            if (depth == 0)
                return -FDT_ERR_BADSTRUCTURE; /* property outside a node */
            const char *name = NULL;
            int len = 0;
            if (fdt_getprop_by_offset(fdt, offset, &name, &len) == NULL)
                return len < 0 ? len : -FDT_ERR_BADSTRUCTURE;
            if (name == NULL)
                return -FDT_ERR_BADSTRUCTURE;
            break;
        }
        default:
            return -FDT_ERR_BADSTRUCTURE;
        }
    }
}
