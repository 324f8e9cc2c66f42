#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The installed headers compile, and a program using them links and runs,
# in every language mode a consumer may use: C99 and C11 with -pedantic,
# C++11 and C++17, each with gcc and clang.
# Usage: consumers.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build="$1"; src="$2"; scratch="$3"
rm -rf "$scratch"; mkdir -p "$scratch"
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
libdir=$(dirname "$(find "$prefix" -name 'libk23mem.so' | head -n1)")
warn="-Wall -Wextra -pedantic -Werror"
n=0
build_and_run() { # build_and_run NAME COMPILER FLAGS...
    local name="$1"; shift
    "$@" $warn -I"$prefix/include" -o "$scratch/$name" "$src/tests/install/consumer.c" \
        -L"$libdir" -lk23mem -Wl,-rpath,"$libdir"
    "$scratch/$name" >/dev/null
    n=$((n + 1))
}
for cc in gcc clang; do
    for std in c99 c11; do build_and_run "$cc-$std" "$cc" -std=$std; done
done
for cxx in g++ clang++; do
    for std in c++11 c++17; do build_and_run "$cxx-$std" "$cxx" -x c++ -std=$std; done
done
# Every public header on its own, too, so none relies on another being
# included first (C11 and C++17).
for h in "$prefix"/include/k23mem/*.h; do
    inc="#include <k23mem/$(basename "$h")>
typedef int not_empty;"
    printf "$inc\n" | gcc -std=c11 $warn -I"$prefix/include" -x c -fsyntax-only -
    printf "$inc\n" | g++ -std=c++17 $warn -I"$prefix/include" -x c++ -fsyntax-only -
done
echo "consumers: $n programs built and ran; every header compiles alone in C11 and C++17"
