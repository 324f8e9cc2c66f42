/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* k23_version(): the version this library was built as (k23mem/version.h). */
#include "k23mem/version.h"

const char *k23_version(void)
{
    return K23MEM_VERSION_STRING;
}
