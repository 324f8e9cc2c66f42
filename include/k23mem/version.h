/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file version.h
 * The libk23mem version these headers belong to; k23_version() says which
 * library is linked. This header is the one place the version is written:
 * CMake reads it for the project, k23mem.pc, the package version file and
 * the SONAME, so a kernel that compiles the sources with its own build
 * system gets the same header without running CMake.
 */
#ifndef K23MEM_VERSION_H
#define K23MEM_VERSION_H

#include "k23mem/api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define K23MEM_VERSION_MAJOR 0 /**< incompatible API changes */
#define K23MEM_VERSION_MINOR 2 /**< added functionality (before 1.0: may break the ABI) */
#define K23MEM_VERSION_PATCH 0 /**< fixes */
/** "MAJOR.MINOR.PATCH" */
#define K23MEM_VERSION_STRING "0.2.0"
/** One number that compares: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define K23MEM_VERSION_NUMBER \
    (K23MEM_VERSION_MAJOR * 10000 + K23MEM_VERSION_MINOR * 100 + K23MEM_VERSION_PATCH)

/**
 * The version of the library actually linked, "MAJOR.MINOR.PATCH"; compare
 * with #K23MEM_VERSION_STRING to catch headers and library that disagree.
 * @return a static string
 */
K23_API const char *k23_version(void);

#ifdef __cplusplus
}
#endif

#endif
