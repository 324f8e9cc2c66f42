#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The memory maps of QEMU's virt machines: dump the DTB QEMU generates
# (-M virt,dumpdtb=FILE) and compare k23mem-memmap --kv with the map QEMU
# documents (RAM at 0x40000000 on aarch64, 0x80000000 on riscv64). With
# -kernel/-initrd QEMU places the initrd itself; the expected map is then
# computed from what fdtget (dtc's reader, not libfdt's user here) reads.
#   fdt_qemu.sh TOOL WORK_DIR
set -uo pipefail
tool="$1" work="$2"
mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

dump() { # dump NAME QEMU ARGS...
    local name="$1" qemu="$2"; shift 2
    rm -f "$work/$name.dtb"
    timeout 60 "$qemu" -M "virt,dumpdtb=$work/$name.dtb" -display none "$@" \
        > "$work/$name.log" 2>&1
    [ -s "$work/$name.dtb" ] || { fail "$name: $qemu made no DTB: $(cat "$work/$name.log")"; return 1; }
}
check() { # check NAME "expected kv"
    local got; got=$("$tool" --kv "$work/$1.dtb" 2>&1)
    if [ "$got" = "$2" ]; then echo "$1: ok"; else fail "$1: got
$got
want
$2"; fi
}

A=qemu-system-aarch64 R=qemu-system-riscv64
dump aarch64 $A -nic none && check aarch64 \
    "free 0x0000000040000000 0x0000000048000000"
dump aarch64-5g $A -nic none -m 5G && check aarch64-5g \
    "free 0x0000000040000000 0x0000000180000000"
dump aarch64-numa $A -nic none -m 256M -smp 2 \
    -object memory-backend-ram,id=m0,size=128M \
    -object memory-backend-ram,id=m1,size=128M \
    -numa node,memdev=m0,cpus=0 -numa node,memdev=m1,cpus=1 &&
    check aarch64-numa "free 0x0000000040000000 0x0000000050000000"
dump riscv64 $R && check riscv64 "free 0x0000000080000000 0x0000000088000000"
dump riscv64-1g $R -m 1G && check riscv64-1g \
    "free 0x0000000080000000 0x00000000c0000000"

# With an initrd: the hole is where /chosen says, rounded out to pages.
head -c 4096 /dev/zero > "$work/kernel.bin"
head -c 100000 /dev/zero > "$work/initrd.bin"
initrd_case() { # initrd_case NAME QEMU RAM_START RAM_END ARGS...
    local name="$1" qemu="$2" rs="$3" re="$4"; shift 4
    dump "$name" "$qemu" -m 256M -kernel "$work/kernel.bin" \
        -initrd "$work/initrd.bin" "$@" || return
    local s e
    s=$(fdtget -t x "$work/$name.dtb" /chosen linux,initrd-start | tr -d ' ')
    e=$(fdtget -t x "$work/$name.dtb" /chosen linux,initrd-end | tr -d ' ')
    [ -n "$s" ] && [ -n "$e" ] || { fail "$name: no initrd in /chosen"; return; }
    local lo=$(( 0x$s & ~0xfff )) hi=$(( (0x$e + 0xfff) & ~0xfff ))
    local want=""
    [ $lo -gt $((rs)) ] && want+=$(printf 'free 0x%016x 0x%016x' $((rs)) $lo)
    if [ $hi -lt $((re)) ]; then
        [ -n "$want" ] && want+=$'\n'
        want+=$(printf 'free 0x%016x 0x%016x' $hi $((re)))
    fi
    check "$name" "$want"
    "$tool" "$work/$name.dtb" | grep -q "initrd (/chosen" || fail "$name: initrd not reported"
}
initrd_case aarch64-initrd $A 0x40000000 0x50000000 -nic none
initrd_case riscv64-initrd $R 0x80000000 0x90000000

[ "$fails" -eq 0 ] && echo "QEMU virt maps: all as expected"
exit $((fails != 0))
