#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Boot an example kernel with a device tree that has a /reserved-memory
# node: QEMU's own tree for the machine (-M virt,dumpdtb) plus two
# reservations at fixed offsets into RAM,
#   k23-nomap@<RAM+64 MiB>: 1 MiB, no-map (left out of the direct map),
#   k23-keep@<RAM+96 MiB>:  64 KiB (mapped, never handed out),
# compiled with dtc and passed with -dtb. QEMU's aarch64 virt tree has no
# /reserved-memory of its own; on riscv64 OpenSBI adds its child to ours.
#
#   ports/kernel/qemu-resmem.sh ARCH IMAGE
#
# The tree is packed: QEMU opens a -dtb file into twice its size plus
# 20000 bytes (load_device_tree in device_tree.c), and on aarch64 the
# result must fit below the kernel at 0x40200000, which the 1 MiB dump's
# does not. Exit status: qemu-run's.
set -uo pipefail
arch="${1:-}" image="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "$arch" in
aarch64) ram=0x40000000; qemu=(qemu-system-aarch64 -M "virt,dumpdtb=@" -cpu cortex-a57) ;;
riscv64) ram=0x80000000; qemu=(qemu-system-riscv64 -M "virt,dumpdtb=@" -bios default) ;;
*) echo "usage: qemu-resmem.sh aarch64|riscv64 IMAGE" >&2; exit 2 ;;
esac
machine=(-smp 2 -m 256M)
work="$(mktemp -d "${TMPDIR:-/tmp}/k23-resmem-XXXXXX")"
trap 'rm -rf "$work"' EXIT
qemu=("${qemu[@]/@/$work/qemu.dtb}")
timeout 60 "${qemu[@]}" "${machine[@]}" -display none -nic none \
    > "$work/dump.log" 2>&1
[ -s "$work/qemu.dtb" ] || { echo "qemu-resmem: no DTB: $(cat "$work/dump.log")" >&2; exit 2; }
dtc -q -I dtb -O dts -o "$work/tree.dts" "$work/qemu.dtb" ||
    { echo "qemu-resmem: dtc could not read QEMU's DTB" >&2; exit 2; }
nomap=$(printf '%x' $((ram + 0x4000000)))
keep=$(printf '%x' $((ram + 0x6000000)))
cat >> "$work/tree.dts" <<DTS

/ {
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		k23-nomap@$nomap {
			reg = <0x0 0x$nomap 0x0 0x100000>;
			no-map;
		};
		k23-keep@$keep {
			reg = <0x0 0x$keep 0x0 0x10000>;
		};
	};
};
DTS
dtc -q -I dts -O dtb -o "$work/resmem.dtb" "$work/tree.dts" ||
    { echo "qemu-resmem: dtc could not compile the tree" >&2; exit 2; }
K23_QEMU_ARGS="${machine[*]} -dtb $work/resmem.dtb" \
    "$here/qemu-run" "$arch" "$image"
