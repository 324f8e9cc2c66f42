#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# libk23mem dropped into a kernel it does not know (docs/porting.md,
# "Dropping it into an existing kernel"): a riscv64 lp64d (rv64gc,
# hard-float) test kernel with an out-of-tree port folder
# (tests/release/dropin/port) is linked three times: with the
# amalgamation, with the core-only archive (frames and kmem only), and
# with a library built through CMake from that port folder; and each
# image must carry the double-float ABI flag and boot under QEMU virt
# with OpenSBI to its "DROPIN PASS" line. Also: the whole default
# amalgamation compiles cleanly at K23_DEBUG 0 and 3 and so does each
# module's alone (clang, -Werror), the core-only archive
# holds exactly the chosen modules (no port hooks, no fdt_memmap), and a
# soft-float object really cannot be linked in (the ABI check can fail).
# Usage: dropin.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src="$1"; scratch="$2"
rm -rf "$scratch"; mkdir -p "$scratch"
# The caller's environment must not leak into the cross builds.
unset CFLAGS CPPFLAGS LDFLAGS CC
cross=riscv64-unknown-elf-
cc=${cross}gcc
here="$src/tests/release/dropin"
port="$here/port"
kern="$here/kernel"
arch=(-march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax)
cflags=("${arch[@]}" -std=c11 -ffreestanding -O2 -g -Wall -Wextra -Werror)
modules="frames;kmem"
log="$scratch/log"

fail() { echo "dropin: $*" >&2; exit 1; }

# The kernel's own objects: its port's hooks, entry, C functions, main.
# $1: output folder, $2: include folder of the library's headers.
build_kernel_objects() {
    local out="$1" inc="$2"
    mkdir -p "$out"
    for f in "$port/port.c" "$kern/main.c" "$kern/start.S"; do
        "$cc" "${cflags[@]}" -I"$inc" -I"$port" -c "$f" -o "$out/$(basename "$f").o"
    done
    "$cc" "${cflags[@]}" -fno-builtin -fno-tree-loop-distribute-patterns \
        -c "$kern/klibc.c" -o "$out/klibc.o"
}

# $1: image, the rest: objects and archives.
link_kernel() {
    local image="$1"; shift
    "$cc" "${arch[@]}" -nostdlib -static -Wl,--no-relax -Wl,--no-warn-rwx-segments \
        -T "$kern/kernel.ld" -o "$image" "$@" -lgcc
    readelf -h "$image" | grep -q 'double-float ABI' ||
        fail "$image: not marked double-float: $(readelf -h "$image" | grep Flags)"
}

# $1: image. Boots it (bounded) and wants the PASS verdict as last line.
boot_kernel() {
    local image="$1" out="$1.console" status=0
    timeout -k 2 20 qemu-system-riscv64 -M virt -bios default -m 128M -smp 1 \
        -display none -serial stdio -monitor none -nic none -kernel "$image" \
        </dev/null >"$out" 2>&1 || status=$?
    local last
    last="$(tr -d '\r' <"$out" | grep -v '^$' | tail -n 1)"
    if [ "$status" -ne 0 ] || [[ "$last" != "DROPIN PASS "* ]]; then
        cat "$out" >&2
        fail "$image: QEMU status $status, last line: $last"
    fi
    echo "$(basename "$image"): $last"
}

# 1. The amalgamation, written by the script a kernel's maintainer runs.
cmake -DOUT="$scratch/amalg-all" -P "$src/cmake/amalgamate.cmake" >>"$log"
for level in 0 3; do
    "$cc" "${cflags[@]}" -DK23_DEBUG=$level -I"$scratch/amalg-all/include" -I"$port" \
        -fsyntax-only "$scratch/amalg-all/k23mem.c"
done
grep -q '^#line 1 "src/fdt_memmap.c"' "$scratch/amalg-all/k23mem.c" &&
    fail "the default amalgamation contains fdt_memmap"
# Each module alone: clang warns about unused static functions of the
# main file, which the private headers' helpers are once pasted in.
for m in $(sed -n 's/^set(K23_MODULE_\([a-z_]*\)_SOURCES.*/\1/p' "$src/cmake/modules.cmake"); do
    [ "$m" = base ] || [ "$m" = fdt_memmap ] && continue
    cmake -DOUT="$scratch/amalg-$m" -DK23_MODULES=$m -P "$src/cmake/amalgamate.cmake" >>"$log"
    clang -std=c11 -ffreestanding -Wall -Wextra -Werror -I"$scratch/amalg-$m/include" -I"$port" \
        -fsyntax-only "$scratch/amalg-$m/k23mem.c" || fail "the amalgamation of $m alone does not compile cleanly"
done
cmake -DOUT="$scratch/amalg" "-DK23_MODULES=$modules" -P "$src/cmake/amalgamate.cmake" >>"$log"
a="$scratch/kernel-amalg"
build_kernel_objects "$a" "$scratch/amalg/include"
"$cc" "${cflags[@]}" -I"$scratch/amalg/include" -I"$port" -c "$scratch/amalg/k23mem.c" -o "$a/k23mem.o"
"$cc" "${cflags[@]}" -I"$scratch/amalg/include" -I"$port" \
    -c "$scratch/amalg/common/pcpu_locked.c" -o "$a/pcpu_locked.o"
link_kernel "$a/dropin-amalg.elf" "$a"/*.o

# 2. The core-only archive, configured with the kernel's compiler and flags.
b="$scratch/kernel-core"
cmake -S "$src" -B "$scratch/core" -DK23_CORE_ONLY=ON -DK23_PORT_DIR="$port" \
    -DK23_PORT_COMMON=pcpu_locked "-DK23_MODULES=$modules" \
    -DCMAKE_SYSTEM_NAME=Generic -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="${arch[*]}" -DCMAKE_BUILD_TYPE=Release >>"$log"
cmake --build "$scratch/core" -j2 >>"$log"
archive="$scratch/core/libk23mem.a"
members="$(${cross}ar t "$archive" | sed 's/\.c\.obj$//; s/\.c\.o$//' | sort | tr '\n' ' ')"
want="arena bitmap error frames frames_pcpu frames_plan frames_select kmem libc pcpu_locked range version "
[ "$members" = "$want" ] || fail "core-only archive holds: $members (want: $want)"
hooks="$(${cross}nm -g --defined-only "$archive" | awk '$3 ~ /^k23_port_/ && $3 !~ /^k23_port_pcpu_/ {print $3}')"
[ -z "$hooks" ] || fail "core-only archive defines port hooks: $hooks"
tmp="$scratch/members"; mkdir -p "$tmp"
(cd "$tmp" && ${cross}ar x "$archive")
for o in "$tmp"/*; do
    readelf -h "$o" | grep -q 'double-float ABI' || fail "$o: not built for lp64d"
done
build_kernel_objects "$b" "$src/include"
link_kernel "$b/dropin-core.elf" "$b"/*.o "$archive"

# 3. The whole port through CMake: the out-of-tree folder's sources and
# the common group go into the archive; the kernel links only its own code.
c="$scratch/kernel-port"
cmake -S "$src" -B "$scratch/port" -DK23_PORT_DIR="$port" -DK23_PORT_COMMON=pcpu_locked \
    "-DK23_MODULES=$modules" -DBUILD_TESTING=OFF -DK23_BUILD_TOOLS=OFF \
    -DCMAKE_SYSTEM_NAME=Generic -DCMAKE_C_COMPILER="$cc" -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \
    -DCMAKE_C_FLAGS="${arch[*]} -ffreestanding" -DCMAKE_BUILD_TYPE=Release >>"$log"
cmake --build "$scratch/port" -j2 >>"$log"
port_members="$(${cross}ar t "$scratch/port/libk23mem.a")"
grep -q '^port\.c\.o' <<<"$port_members" ||
    fail "K23_PORT_DIR without port.cmake: the folder's port.c is not in the archive"
mkdir -p "$c"
cp "$b/main.c.o" "$b/start.S.o" "$b/klibc.o" "$c/"
link_kernel "$c/dropin-port.elf" "$c"/*.o "$scratch/port/libk23mem.a"

# 4. The check above can fail: a soft-float (lp64) object does not link
# with the lp64d ones, which is what the example kernel's toolchain gave.
"$cc" -march=rv64imac -mabi=lp64 -mcmodel=medany -ffreestanding -std=c11 \
    -I"$src/include" -I"$port" -c "$port/port.c" -o "$scratch/port-lp64.o"
if "$cc" "${arch[@]}" -nostdlib -static -T "$kern/kernel.ld" -o "$scratch/mixed.elf" \
        "$scratch/port-lp64.o" "$b/main.c.o" "$b/start.S.o" "$b/klibc.o" "$archive" -lgcc \
        >"$scratch/mixed.log" 2>&1; then
    fail "a soft-float object linked into the lp64d kernel"
fi
grep -q 'soft-float' "$scratch/mixed.log" || fail "mixed link failed for another reason: $(cat "$scratch/mixed.log")"

# 5. The kernels boot and pass.
boot_kernel "$a/dropin-amalg.elf"
boot_kernel "$b/dropin-core.elf"
boot_kernel "$c/dropin-port.elf"
echo "dropin: amalgamation, core-only archive and whole-port archive linked into an lp64d kernel with an out-of-tree port; all pass under QEMU"
