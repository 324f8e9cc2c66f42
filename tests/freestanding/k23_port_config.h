/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Minimal private port configuration for the freestanding check: what a
 * bare-metal port would supply, using nothing but the compiler's own
 * headers. Nothing is required in it; the lock type lives in the port's
 * own source.
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#define K23_PORT_NAME "freestanding-check"

#endif
