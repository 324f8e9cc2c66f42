/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file error.h
 * Error codes of libk23mem.
 *
 * A function that can fail for more than one reason returns `int`: #K23_OK
 * or one of the negative K23_ERR_* constants below. The constants are
 * negative themselves, so `return K23_ERR_INVAL;` cannot lose its sign.
 * Results are written through a trailing out-pointer that is left untouched
 * on failure.
 *
 * k23_strerror() and k23_strerror_name() accept every int: there is no
 * invalid argument to either.
 *
 * Numbers are grouped by module so that each module can add codes without
 * renumbering another's: general -1..-19, slab -20..-29, instance -30..-39,
 * device tree -40..-49, frames -50..-59, wasm32 -60..-69.
 */
#ifndef K23MEM_ERROR_H
#define K23MEM_ERROR_H

#include "k23mem/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The error codes. Each one has a one-line meaning, also returned by
 *  k23_strerror(). */
enum k23_error {
    K23_OK = 0,                /**< success */
    /* ---- general ---- */
    K23_ERR_NOMEM = -1,        /**< no frames, memory or space left */
    K23_ERR_INVAL = -2,        /**< invalid argument (size, alignment, flags, NULL) */
    K23_ERR_NOT_FOUND = -3,    /**< the search found nothing */
    K23_ERR_BUSY = -4,         /**< the range is (partly) in use */
    K23_ERR_WX = -5,           /**< write and execute requested together */
    K23_ERR_UNSUPPORTED = -6,  /**< the port or target cannot do this */
    K23_ERR_CORRUPT = -7,      /**< an invariant check failed */
    K23_ERR_OVERFLOW = -8,     /**< the result does not fit the integer type */
    K23_ERR_NOSPACE = -9,      /**< the caller's output array is too small */
    K23_ERR_OVERLAP = -10,     /**< input ranges overlap */
    K23_ERR_ALIGN = -11,       /**< address or size not aligned as required */
    K23_ERR_PARSE = -12,       /**< text could not be parsed */
    K23_ERR_FULL = -13,        /**< pool full: retry after something is freed */
    K23_ERR_LIMIT = -14,       /**< request exceeds a configured limit */
    K23_ERR_TOO_SMALL = -15,   /**< region too small to hold its own bookkeeping */
    K23_ERR_OS = -16,          /**< the host operating system refused the request */
    /* ---- slab layout and memory pool (-20..-29) ---- */
    K23_ERR_SLAB_MAX_OVER_RESERVATION = -20, /**< maximum memory size exceeds the memory reservation */
    K23_ERR_SLAB_LIMIT_RANGE = -21,    /**< a configured size or count does not fit the target's size_t */
    K23_ERR_SLAB_FAULTING_REGION = -22, /**< memory plus guard (faulting region) is too large */
    K23_ERR_SLAB_SLOT_SIZE = -23,      /**< slot size is too large */
    K23_ERR_SLAB_TOTAL_SIZE = -24,     /**< total slab size exceeds addressable memory */
    K23_ERR_POOL_TOO_MANY_MEMORIES = -25, /**< more defined memories than the per-instance limit */
    K23_ERR_POOL_MIN_SIZE = -26,       /**< memory minimum size exceeds the pool's slot limit */
    K23_ERR_POOL_SHARED = -27,         /**< shared memories are not supported by the pool */
    K23_ERR_POOL_NO_MPK = -28,         /**< protection keys required but unsupported by the host */
    /* ---- instance allocator (-30..-39) ---- */
    /* -30 is retired: the test wrapper's code until 0.2 */
    K23_ERR_GROW = -31,        /**< grow past a memory's or table's maximum or reservation */
    /* ---- device tree (-40..-49) ---- */
    K23_ERR_FDT_MAGIC = -40,     /**< not a device tree blob: wrong magic */
    K23_ERR_FDT_VERSION = -41,   /**< device tree blob version not supported */
    K23_ERR_FDT_TRUNCATED = -42, /**< device tree blob shorter than its header says */
    K23_ERR_FDT_CORRUPT = -43,   /**< device tree blob layout or structure is broken */
    K23_ERR_FDT_CELLS = -44,     /**< `#address-cells` or `#size-cells` out of range */
    K23_ERR_FDT_REG = -45,       /**< property length is not a whole number of entries */
    K23_ERR_FDT_RANGE = -46,     /**< device tree range overflows 64 bits, is reversed or half given */
    /* ---- frame allocator (-50..-59) ---- */
    /* ---- wasm32 port (-60..-69) ---- */
    K23_ERR_MIN_ = -127        /**< lowest value reserved for libk23mem codes */
};

/**
 * One-line meaning of an error code.
 *
 * @param[in] err  a K23_ERR_* code, #K23_OK, or any other int
 * @return a static string; never NULL. Unknown codes give
 *         "unknown libk23mem error".
 * @context Any.
 */
K23_API const char *k23_strerror(int err);

/**
 * The symbolic name of an error code, such as "K23_ERR_NOMEM".
 *
 * @param[in] err  a code as for k23_strerror()
 * @return a static string; never NULL. Unknown codes give "K23_ERR_UNKNOWN".
 * @context Any.
 */
K23_API const char *k23_strerror_name(int err);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_ERROR_H */
