#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# examples/ builds on its own against an installed libk23mem, in C11
# without extensions: with its CMakeLists.txt (find_package) and with its
# Makefile (pkg-config), both from the install prefix; the programs run.
# Usage: examples.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build="$1"; src="$2"; scratch="$3"
rm -rf "$scratch"; mkdir -p "$scratch/make"
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
demos="k23mem-demo frames_demo instance_demo"
# 1. CMake, the examples folder as its own project.
cmake -S "$src/examples" -B "$scratch/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -pedantic -Werror" >"$scratch/cmake.log"
cmake --build "$scratch/cmake" >>"$scratch/cmake.log"
# 2. make, from a copy (the source tree stays clean).
cp "$src/examples/Makefile" "$src/examples"/*.c "$scratch/make/"
PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name k23mem-static.pc | head -n1)")" \
    make -C "$scratch/make" CFLAGS="-O2 -Wall -Wextra -pedantic -Werror" >"$scratch/make.log"
grep -q -- '-std=c11' "$scratch/make.log" || { echo "make did not build with -std=c11" >&2; exit 1; }
for d in $demos; do
    for dir in cmake make; do
        "$scratch/$dir/$d" >"$scratch/$dir-$d.out" 2>&1 ||
            { echo "$dir/$d failed:" >&2; tail -n 20 "$scratch/$dir-$d.out" >&2; exit 1; }
    done
done
echo "examples: $demos built with CMake and make from the install prefix and ran"
