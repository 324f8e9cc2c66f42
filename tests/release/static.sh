#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The README's static-linking recipes work: k23mem-static.pc links
# libk23mem.a (no libk23mem.so needed at run time), with -static the
# binary has no shared library at all, and find_package's
# k23mem::k23mem_static links it too (tests/install covers that one).
# Usage: static.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build="$1"; src="$2"; scratch="$3"
rm -rf "$scratch"; mkdir -p "$scratch"
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name k23mem-static.pc | head -n1)")
app="$src/tests/install/consumer.c"
# 1. libk23mem linked in; libc and libfdt stay shared.
cc -std=c11 -o "$scratch/app" "$app" $(pkg-config --cflags --libs k23mem-static)
if readelf -d "$scratch/app" | grep -q 'NEEDED.*libk23mem'; then
    echo "k23mem-static.pc linked libk23mem.so" >&2; exit 1
fi
"$scratch/app" >/dev/null
# 2. Fully static.
cc -std=c11 -static -o "$scratch/app-static" "$app" $(pkg-config --cflags --libs k23mem-static) \
    2>"$scratch/link-static.log"
# The library draws no link-time warning either (a reference to dlopen
# would: "Using 'dlopen' in statically linked applications ...").
if grep -i warning "$scratch/link-static.log" >&2; then
    echo "cc -static warned (above)" >&2; exit 1
fi
if readelf -d "$scratch/app-static" 2>/dev/null | grep -q NEEDED; then
    echo "cc -static produced a binary with shared libraries:" >&2
    readelf -d "$scratch/app-static" | grep NEEDED >&2; exit 1
fi
"$scratch/app-static" >/dev/null
echo "static: k23mem-static.pc links libk23mem.a; with -static nothing is shared"
