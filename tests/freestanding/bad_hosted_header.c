/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Must be rejected by the freestanding check: a hosted header in core code. */
#include <stdio.h>
int k23_bad_(void) { return 0; }
