#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Build the test programs of the host-independent modules (run search,
# ranges, permissions, slab layout, device-tree memory map) for one CPU:
#
#   build.sh TARGET SRC_ROOT OUT_DIR DEPS_DIR DTB_DIR
#
# TARGET native: this machine, whose cross_check digests are the
#                reference for the others;
#        i386:   gcc -m32, a 32-bit size_t (run natively when the kernel
#                can, else under qemu-i386);
#        s390x:  s390x-linux-gnu-gcc, big-endian, under qemu-s390x;
#        native-asan: clang with AddressSanitizer and UBSan, libfdt too
#                (the ASan tree's run of cross_check; linked dynamically,
#                as ASan needs).
# Programs are linked statically: the module sources, libfdt compiled from
# Linux's copy for the target (ports/kernel/fetch-libfdt.sh source, sources
# kept in DEPS_DIR), tests/cross/port_min.c, and either
#  - tests/cross/cross_check.c (its own checks, no framework), or
#  - a Criterion suite tests/test_<module>.c on the Criterion stand-in of
#    the wasm32 tests (tests/ports/wasm32), as unit_<module>.
# When the target's compiler, C library or emulator is missing, OUT_DIR/skip
# says why and nothing is built (tests/cross/run.sh then exits 77: ctest
# reports the tests as skipped; scripts/deps.d/cross installs what is
# needed). OUT_DIR/emulator holds the command that runs a program (empty:
# run it directly).
set -euo pipefail

target="$1"; root="$2"; out="$3"; deps="$4"; dtbs="$5"
mkdir -p "$out"
rm -f "$out/skip" "$out/emulator" "$out/stamp"

# No stamp after a skip: the next build probes again (cheap), so that
# installing the toolchain later is enough.
skip() {
    echo "$*" >"$out/skip"
    echo "cross $target: not built: $*"
    exit 0
}

static=(-static)
case "$target" in
native) cc=(gcc); ar=ar; emulators=() ;;
native-asan) cc=(clang -fsanitize=address,undefined -fno-sanitize-recover=all
                 -fno-omit-frame-pointer); ar=ar; emulators=(); static=() ;;
i386) cc=(gcc -m32); ar=ar; emulators=(qemu-i386 qemu-i386-static) ;;
s390x) cc=(s390x-linux-gnu-gcc); ar=s390x-linux-gnu-ar
       emulators=(qemu-s390x qemu-s390x-static) ;;
*) echo "build.sh: unknown target $target (native, native-asan, i386 or s390x)" >&2; exit 2 ;;
esac

for tool in apt-get dpkg-deb xz flock; do # what fetch-libfdt.sh uses
    command -v "$tool" >/dev/null || skip "no $tool to fetch libfdt's sources"
done
command -v "${cc[0]}" >/dev/null || skip "no ${cc[0]} (see scripts/deps.d/cross)"
command -v "$ar" >/dev/null || skip "no $ar (see scripts/deps.d/cross)"
printf 'int main(void) { return 0; }\n' >"$out/probe.c"
"${cc[@]}" "${static[@]}" "$out/probe.c" -o "$out/probe" 2>"$out/probe.log" \
    || skip "${cc[*]} ${static[*]} cannot link a program: $(head -c 300 "$out/probe.log")"
runner=""
if ! "$out/probe" 2>/dev/null; then
    for e in "${emulators[@]}"; do
        if command -v "$e" >/dev/null && "$(command -v "$e")" "$out/probe"; then
            runner="$(command -v "$e")"
            break
        fi
    done
    [ -n "$runner" ] || skip "this machine cannot run $target programs (no ${emulators[*]})"
fi

# libfdt for the target, from source (only the target's C library needed).
bash "$root/ports/kernel/fetch-libfdt.sh" source "$deps" "$out/libfdt" \
    "${cc[0]}" "$ar" "${cc[@]:1}" -O2 -g

warn=(-Wall -Wextra -Werror)
inc=(-I"$root/include" -I"$root/ports/hosted" -I"$root/src" -I"$out/libfdt/include")
mkdir -p "$out/obj"
objs=()
for src in "$root"/src/{bitmap,range,perm,slab_layout,fdt_memmap,error,libc}.c \
           "$root/ports/kernel/riscv64/fdt_check_full.c" \
           "$root/tests/cross/port_min.c"; do
    o="$out/obj/$(basename "${src%.c}").o"
    "${cc[@]}" -std=c11 -O2 -g "${warn[@]}" -DK23_DEBUG=2 "${inc[@]}" -c "$src" -o "$o"
    objs+=("$o")
done

link() { # link PROGRAM SOURCES... [flags]
    local prog="$1"; shift
    # 64-bit inode numbers: a 32-bit readdir() fails on them otherwise.
    "${cc[@]}" -std=gnu11 -O2 -g "${warn[@]}" -DK23_DEBUG=2 \
        -D_FILE_OFFSET_BITS=64 "$@" "${inc[@]}" \
        "${objs[@]}" "$out/libfdt/lib/libfdt.a" "${static[@]}" -o "$out/$prog.tmp"
    mv "$out/$prog.tmp" "$out/$prog"
}
link cross_check "$root/tests/cross/cross_check.c"
for m in error range perm slab_layout fdt_memmap; do
    link "unit_$m" "$root/tests/test_$m.c" "$root/tests/ports/wasm32/criterion_shim.c" \
        -I"$root/tests/ports/wasm32" -DK23_FDT_DTB_DIR="\"$dtbs\""
done

printf '%s\n' "$runner" >"$out/emulator"
touch "$out/stamp"
echo "cross $target: built in $out${runner:+ (run with $runner)}"
