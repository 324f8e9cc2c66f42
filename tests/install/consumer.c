/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* A separate program built against an installed libk23mem: proves the
 * headers, the libraries and the discovery files work together. */
#include <k23mem/k23mem.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    char buf[K23_PERM_STR_MAX];
    k23_perm_t p = 0;
    if (k23_perm_parse("READ | WRITE", &p) != K23_OK ||
        k23_perm_format(p, buf, sizeof(buf)) != K23_OK ||
        strcmp(buf, "READ | WRITE") != 0) {
        fprintf(stderr, "perm round trip failed\n");
        return 1;
    }
    uint64_t up = 0;
    if (k23_align_up(4097, 4096, &up) != K23_OK || up != 8192)
        return 1;
    if (strcmp(k23_version(), K23MEM_VERSION_STRING) != 0) {
        fprintf(stderr, "headers %s, library %s\n", K23MEM_VERSION_STRING,
                k23_version());
        return 1;
    }
    printf("consumer ok: %s, %s, version %s\n", buf,
           k23_strerror(K23_ERR_NOMEM), k23_version());
    return 0;
}
