#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Compile src/fdt_memmap.c as a freestanding kernel would: no C library
# headers at all, only the compiler's own, our libfdt_env.h and libfdt's two
# public headers (from a folder that holds nothing else). Then check that
# the object needs no symbol beyond libfdt, libk23mem and the four that
# port.h says every port provides (memset, memcpy, memmove, memcmp; wasm32
# also names its linker-made __stack_pointer).
#   fdt_freestanding.sh SRC_ROOT WORK_DIR LIBFDT_HEADER_DIR CC [wasm32]
set -euo pipefail
root="$1" work="$2" fdtinc="$3" cc="$4" target="${5:-native}"

mkdir -p "$work/only-libfdt"
ln -sf "$fdtinc/libfdt.h" "$fdtinc/fdt.h" "$work/only-libfdt/"

flags=(-std=c11 -Wall -Wextra -Werror -O2 -ffreestanding -nostdinc
       -I "$root/include" -I "$root/tests/freestanding" -I "$root/src"
       -I "$root/ports/freestanding-include" -I "$work/only-libfdt")
if [ "$target" = wasm32 ]; then
    flags+=(--target=wasm32-unknown-unknown
            -isystem "$("$cc" -print-resource-dir)/include")
    obj="$work/fdt_memmap.wasm32.o"
else
    flags+=(-isystem "$("$cc" -print-file-name=include)")
    obj="$work/fdt_memmap.native.o"
fi
"$cc" "${flags[@]}" -c "$root/src/fdt_memmap.c" -o "$obj"

nm_tool=nm
if [ "$target" = wasm32 ]; then
    nm_tool="$(command -v llvm-nm || command -v llvm-nm-14 || true)"
    [ -n "$nm_tool" ] || { echo "compiled for wasm32 (no llvm-nm to list symbols)"; exit 0; }
fi
bad=$("$nm_tool" -u "$obj" | awk '{print $NF}' \
      | grep -vE '^(fdt_[a-z0-9_]+|k23_[a-z0-9_]+|memset|memcpy|memmove|memcmp|__stack_pointer)$' || true)
if [ -n "$bad" ]; then
    echo "fdt_memmap.o ($target) needs symbols outside libfdt and libk23mem:"
    echo "$bad"
    exit 1
fi
echo "fdt_memmap.c compiles freestanding ($target); undefined symbols:"
"$nm_tool" -u "$obj" | awk '{print "  " $NF}'
