#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Lock contracts the compiler checks: compile the core and the ports with
# clang's thread-safety analysis (-Wthread-safety -Werror; the attributes
# are the K23_* macros of k23mem/thread_safety.h, empty elsewhere).
# Compile only (-fsyntax-only), so it is bounded: a few seconds.
#  - src/*.c, the hosted port (both variants) and ports/common/*.c for
#    the host;
#  - the kernel port's files that take locks, for aarch64 and riscv64.
# Usage: check.sh SOURCE_DIR [FILE...]
#   with FILEs, only those, for the host with the hosted port's include
#   path (the suite passes a deliberately wrong file to show the check
#   fails). Exit 0: clean; 1: a diagnostic (printed); 77: no clang.
set -uo pipefail
src="$1"; shift
cc="${K23_TSA_CC:-clang}"
command -v "$cc" >/dev/null || { echo "thread-safety: $cc not found" >&2; exit 77; }
flags=(-std=c11 -fsyntax-only -Wall -Wextra -Wthread-safety -Werror
       -DK23_DEBUG=3 -I"$src/include" -I"$src/src")
fail=0 n=0 extra=()
check() { # target port-dir files...
    local target="$1" port="$2"; shift 2
    for f in "$@"; do
        n=$((n + 1))
        if ! "$cc" ${target:+--target="$target" -ffreestanding} "${flags[@]}" \
                ${extra[@]+"${extra[@]}"} -I"$port" "$f"; then
            echo "thread-safety: $f (${target:-host}) has lock-contract errors" >&2
            fail=1
        fi
    done
}
if [ "$#" -gt 0 ]; then
    check "" "$src/ports/hosted" "$@"
else
    check "" "$src/ports/hosted" "$src"/src/*.c "$src/ports/hosted/port.c" "$src"/ports/common/*.c
    # The hosted port's variant whose VM hooks run on an address space
    # (tests/aspace_hooks.cmake).
    if [ -f "$src/ports/hosted/vm_aspace.c" ]; then
        extra=(-DK23_PORT_HOSTED_ASPACE=1)
        check "" "$src/ports/hosted" "$src/ports/hosted/port.c" "$src/ports/hosted/vm_aspace.c"
        extra=()
    fi
    kernel=()
    for f in "$src"/ports/kernel/*.c; do
        grep -q 'k23_port_lock_' "$f" && ! grep -q 'libfdt' "$f" && kernel+=("$f")
    done
    for t in aarch64-unknown-none-elf riscv64-unknown-elf; do
        check "$t" "$src/ports/kernel" "${kernel[@]}"
    done
fi
[ "$fail" -eq 0 ] || exit 1
echo "thread-safety: $n compilations clean with -Wthread-safety -Werror"
