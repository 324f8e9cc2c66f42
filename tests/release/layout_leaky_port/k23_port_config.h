/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A deliberately broken private port configuration for the layout check
 * (tests/release/layout.sh): it leaves a packing pragma on, so every
 * public structure the library's sources include after it is laid out
 * differently from what a program sees. The check must report it
 * (ctest release_layout_detects_leaky_port).
 */
#ifndef K23_PORT_CONFIG_H
#define K23_PORT_CONFIG_H

#define K23_PORT_NAME "layout-leaky"
#pragma pack(4)

#endif
