/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Must be rejected by the freestanding check: a libc call declared by hand. */
#include <stddef.h>
size_t strlen(const char *s);
size_t k23_bad_(const char *s) { return strlen(s); }
