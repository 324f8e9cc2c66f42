#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Fetch libfdt for a kernel target into the build folder. Never touches the
# system's dpkg architectures or apt state: apt runs with its own lists and
# cache under DEPS_DIR.
#
#   fetch-libfdt.sh ARCH DEPS_DIR OUT_DIR CC AR [CFLAGS...]
#
# aarch64: Debian's arm64 libfdt-dev is downloaded and unpacked (dpkg -x);
#          OUT_DIR gets lib/libfdt.a and include/{libfdt.h,fdt.h}.
# riscv64: Debian 12 has no riscv64 binaries, so libfdt's sources are taken
#          from linux-source-6.1 (scripts/dtc/libfdt, about 139 MB to
#          download once; only that folder is unpacked and kept) and
#          compiled here with CC and CFLAGS.
# Hosted libfdt_env.h is never copied: the port supplies its own
# (ports/freestanding-include), which must come first on the include path.
# source:  the riscv64 way (linux-source-6.1's libfdt compiled with CC and
#          CFLAGS) for a hosted target with a C library: the folder's own
#          libfdt_env.h is kept and copied to OUT_DIR/include. The plain
#          tree's libFuzzer target (ASan-instrumented libfdt) and the
#          i386/s390x test builds (tests/cross.cmake) use it.
# DEPS_DIR may be shared by several build trees: a lock serialises apt.
set -euo pipefail

arch="$1"; deps="$2"; out="$3"; cc="$4"; ar="$5"; shift 5
mkdir -p "$deps" "$out/lib" "$out/include"
deps="$(cd "$deps" && pwd)"; out="$(cd "$out" && pwd)"

exec 9>"$deps/.lock"
flock 9

apt_opts=(-q -o APT::Architecture=arm64 -o APT::Architectures=arm64
          -o "Dir::State::Lists=$deps/lists" -o "Dir::Cache=$deps/cache")
# One private index (arm64 also lists the arch-independent linux-source).
apt_update() {
    if [ ! -f "$deps/lists/.updated" ]; then
        mkdir -p "$deps/lists/partial" "$deps/cache/archives/partial"
        echo "fetch-libfdt: apt-get update (arm64 index, private to $deps)"
        apt-get "${apt_opts[@]}" update >"$deps/apt-update.log" 2>&1 \
            || { cat "$deps/apt-update.log" >&2; exit 1; }
        touch "$deps/lists/.updated"
    fi
}
# apt-get download PKG into $deps/debs unless a .deb of it is already there.
apt_download() {
    local pkg="$1" deb
    mkdir -p "$deps/debs"
    deb=$(ls "$deps/debs/${pkg}"_*.deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
        apt_update
        echo "fetch-libfdt: apt-get download $pkg"
        (cd "$deps/debs" && apt-get "${apt_opts[@]}" download "$pkg" 2>&1 \
            | grep -v 'unsandboxed as root' || true)
        deb=$(ls "$deps/debs/${pkg}"_*.deb 2>/dev/null | head -1 || true)
        [ -n "$deb" ] || { echo "fetch-libfdt: could not download $pkg" >&2; exit 1; }
    fi
    printf '%s\n' "$deb"
}

case "$arch" in
aarch64)
    deb=$(apt_download libfdt-dev | tail -1)
    rm -rf "$out/pkg"
    dpkg -x "$deb" "$out/pkg"
    cp "$out/pkg/usr/lib/aarch64-linux-gnu/libfdt.a" "$out/lib/libfdt.a.tmp"
    cp "$out/pkg/usr/include/libfdt.h" "$out/pkg/usr/include/fdt.h" "$out/include/"
    mv "$out/lib/libfdt.a.tmp" "$out/lib/libfdt.a"
    ;;
riscv64|source)
    src="$deps/linux-libfdt"
    if [ ! -f "$src/.complete" ]; then
        deb=$(apt_download linux-source-6.1 | tail -1)
        echo "fetch-libfdt: unpacking scripts/dtc/libfdt from $(basename "$deb")"
        rm -rf "$src" "$deps/unpack"; mkdir -p "$deps/unpack"
        dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*/linux-source-6.1.tar.xz' \
            | xz -dc | tar -x -C "$deps/unpack" --wildcards 'linux-source-6.1/scripts/dtc/libfdt/*'
        mv "$deps/unpack/linux-source-6.1/scripts/dtc/libfdt" "$src"
        rm -rf "$deps/unpack"
        # The source package is only needed once per build folder; keep the
        # 139 MB .deb only if asked (K23_KEEP_LINUX_SOURCE=1).
        [ "${K23_KEEP_LINUX_SOURCE:-0}" = 1 ] || rm -f "$deb"
        touch "$src/.complete"
    fi
    rm -rf "$out/obj"; mkdir -p "$out/obj"
    # The source folder's own libfdt_env.h is hosted, and #include "..."
    # looks beside the including file first: compile from a copy of the
    # folder without it so that the port's version is found.
    rm -rf "$out/src"; mkdir -p "$out/src"
    cp "$src"/*.c "$src"/*.h "$out/src/"
    [ "$arch" = source ] || rm -f "$out/src/libfdt_env.h"
    objs=()
    for c in "$out/src"/fdt*.c; do
        o="$out/obj/$(basename "${c%.c}").o"
        "$cc" "$@" -I"$out/src" -c "$c" -o "$o"
        objs+=("$o")
    done
    rm -f "$out/lib/libfdt.a.tmp"
    "$ar" rcs "$out/lib/libfdt.a.tmp" "${objs[@]}"
    cp "$out/src/libfdt.h" "$out/src/fdt.h" "$out/include/"
    [ "$arch" != source ] || cp "$out/src/libfdt_env.h" "$out/include/"
    mv "$out/lib/libfdt.a.tmp" "$out/lib/libfdt.a"
    ;;
*)
    echo "fetch-libfdt: unknown arch $arch (aarch64, riscv64 or source)" >&2; exit 2 ;;
esac
echo "fetch-libfdt: $out/lib/libfdt.a ready"
