#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# `cpack -G DEB` writes libk23mem0, libk23mem-dev and k23mem-tools with
# the right contents and dependencies; unpacked into a scratch root
# (dpkg-deb -x, no installation), they build and run a consumer through
# pkg-config and find_package, and the tools run.
# Usage: deb.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build="$1"; src="$2"; scratch="$3"
rm -rf "$scratch"; mkdir -p "$scratch/pkgs" "$scratch/root"
(cd "$build" && cpack -G DEB -B "$scratch/pkgs") >"$scratch/cpack.log" 2>&1 ||
    { tail -n 30 "$scratch/cpack.log" >&2; exit 1; }
version=$(sed -n 's/^#define K23MEM_VERSION_STRING "\(.*\)"/\1/p' "$src/include/k23mem/version.h")
deb() { ls "$scratch/pkgs/$1_${version}_"*.deb; }
field() { dpkg-deb -f "$(deb "$1")" "$2"; }
fail() { echo "$*" >&2; exit 1; }
[ "$(ls "$scratch/pkgs"/*.deb | wc -l)" -eq 3 ] || fail "expected 3 packages: $(ls "$scratch/pkgs")"
field libk23mem0 Depends | grep -q 'libfdt1' || fail "libk23mem0 does not depend on libfdt1"
field k23mem-tools Depends | grep -q 'libfdt1' || fail "k23mem-tools does not depend on libfdt1"
field libk23mem-dev Depends | grep -q "libk23mem0 (= $version)" || fail "libk23mem-dev does not depend on libk23mem0 $version"
# Each file in the package it belongs to.
has() { dpkg-deb -c "$(deb "$1")" | awk '{print $6}' | grep -qE "$2" || fail "$1 lacks $2"; }
lacks() { ! dpkg-deb -c "$(deb "$1")" | awk '{print $6}' | grep -qE "$2" || fail "$1 carries $2"; }
has libk23mem0 '/libk23mem\.so\.[0-9]+\.[0-9]+$'
lacks libk23mem0 '\.h$|\.a$|/libk23mem\.so$|/bin/'
has libk23mem-dev '/include/k23mem/k23mem\.h$'
has libk23mem-dev '/libk23mem\.a$'
has libk23mem-dev '/libk23mem\.so$'
has libk23mem-dev '/pkgconfig/k23mem\.pc$'
has libk23mem-dev '/cmake/k23mem/k23memConfig\.cmake$'
has libk23mem-dev '/doc/k23mem/LICENSE-MIT$'
lacks libk23mem-dev '/libk23mem\.so\.|/bin/'
has k23mem-tools '/bin/k23mem-slab$'
has k23mem-tools '/bin/k23mem-memmap$'
for p in libk23mem0 libk23mem-dev k23mem-tools; do dpkg-deb -x "$(deb $p)" "$scratch/root"; done
usr="$scratch/root/usr"
libdir=$(dirname "$(find "$usr" -name 'libk23mem.so' | head -n1)")
export LD_LIBRARY_PATH="$libdir"
PKG_CONFIG_PATH="$libdir/pkgconfig" cc -std=c11 -Wall -Werror -o "$scratch/consumer_pc" \
    "$src/tests/install/consumer.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs k23mem)
readelf -d "$scratch/consumer_pc" | grep -q 'NEEDED.*libk23mem\.so' || fail "pkg-config consumer not linked to the shared library"
"$scratch/consumer_pc" >/dev/null
cmake -S "$src/tests/install" -B "$scratch/cmake-consumer" -DCMAKE_PREFIX_PATH="$usr" >"$scratch/consumer.log"
cmake --build "$scratch/cmake-consumer" >>"$scratch/consumer.log"
"$scratch/cmake-consumer/consumer_shared" >/dev/null
"$scratch/cmake-consumer/consumer_static" >/dev/null
"$usr/bin/k23mem-slab" --max-memory 64MiB --slots 4 --kv >/dev/null
echo "deb: $(cd "$scratch/pkgs" && ls *.deb | tr '\n' ' ')unpacked; consumers and tools ran"
