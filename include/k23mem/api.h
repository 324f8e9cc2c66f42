/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file api.h
 * K23_API marks every function of the public API. The shared library is
 * built with hidden visibility and a linker version script, so exactly the
 * functions declared with K23_API in the installed headers are exported;
 * the library's internal functions (the `k23_*_` names) stay private.
 *
 * A kernel or a static build needs nothing: the attribute only matters to
 * a dynamic linker, and compilers without it get an empty macro.
 */
#ifndef K23MEM_API_H
#define K23MEM_API_H

#if defined(__GNUC__) || defined(__clang__)
/** Exported from the shared library. */
#define K23_API __attribute__((visibility("default")))
#else
#define K23_API
#endif

#endif /* K23MEM_API_H */
