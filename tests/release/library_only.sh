#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# A library-only tree: BUILD_TESTING and K23_BUILD_TOOLS off configure and
# build the library alone -- no Criterion lookup, no cross or wasm
# sub-build, no download -- and K23_WERROR defaults to OFF.
# Usage: library_only.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src="$1"; scratch="$2"
rm -rf "$scratch"; mkdir -p "$scratch"
cmake -S "$src" -B "$scratch/b" -DBUILD_TESTING=OFF -DK23_BUILD_TOOLS=OFF >"$scratch/configure.log"
cache="$scratch/b/CMakeCache.txt"
grep -q '^K23_WERROR:BOOL=OFF$' "$cache" || { echo "K23_WERROR does not default to OFF" >&2; exit 1; }
if grep -qi criterion "$cache" "$scratch/configure.log"; then
    echo "a library-only configure looked for Criterion" >&2; exit 1
fi
cmake --build "$scratch/b" -j2 >"$scratch/build.log"
cmake --install "$scratch/b" --prefix "$scratch/prefix" >"$scratch/install.log"
test -f "$scratch/prefix/include/k23mem/k23mem.h"
test -n "$(find "$scratch/prefix" -name 'libk23mem.a')"
# Nothing but the library was built: no programs, no sub-builds, no
# downloaded packages.
progs=$(find "$scratch/b" -type f -perm -u+x ! -name '*.so*' ! -name '*.sh' ! -path '*/CMakeFiles/*' | head -n5)
test -z "$progs" || { echo "programs built in a library-only tree: $progs" >&2; exit 1; }
test ! -e "$scratch/b/kernel-deps" || { echo "kernel-deps downloaded" >&2; exit 1; }
test ! -e "$scratch/prefix/bin" || { echo "tools installed with K23_BUILD_TOOLS=OFF" >&2; exit 1; }
echo "library-only tree: configured, built and installed the library alone"
