#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# k23mem-memmap on a large, valid blob (issue 14): 128,000 RAM regions of
# 64 KiB, 128 KiB apart from 0x80000000, in 1,000 memory nodes of 128
# (dtc is slow on one property of 512,000 cells; k23_fdt_memmap walks the
# nodes in one pass either way). Planning was O(n^2) and took 167 s here;
# ctest's TIMEOUT (20 s) is what fails a quadratic version, this script
# only checks the answers. Speed figures belong in bench/, not here.
#   fdt_tool_big.sh TOOL DTC WORK_DIR
set -uo pipefail
tool="$1" dtc="$2" work="$3"
n=128000
mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

awk -v n="$n" -v per=128 'BEGIN {
  print "/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;"
  for (i = 0; i < n; i++) {
    b = 2147483648 + i * 131072
    hi = int(b / 4294967296); lo = b % 4294967296
    if (i % per == 0)
      printf "\tmemory@%x {\n\t\tdevice_type = \"memory\";\n\t\treg =", i
    printf " <0x%x 0x%08x 0x0 0x10000>%s", hi, lo,
      (i % per == per - 1 || i == n - 1) ? ";\n\t};\n" : ","
  }
  print "};"
}' > "$work/big.dts" || { echo "FAIL: awk"; exit 1; }
"$dtc" -q -I dts -O dtb -o "$work/big.dtb" "$work/big.dts" ||
    { echo "FAIL: dtc"; exit 1; }

# Every region is free, page aligned, in order.
"$tool" --kv "$work/big.dtb" > "$work/kv" || fail "--kv: exit $?"
awk -v n="$n" '{
  b = 2147483648 + (NR - 1) * 131072; e = b + 65536 # mawk: %x of 32 bits
  want = sprintf("free 0x%08x%08x 0x%08x%08x", int(b / 4294967296),
                 b % 4294967296, int(e / 4294967296), e % 4294967296)
  if ($0 != want) { print "line " NR ": " $0 " want " want; bad = 1; exit }
} END { if (!bad && NR != n) { print NR " lines, want " n; bad = 1 } exit bad }' \
    "$work/kv" || fail "--kv output"

# Arenas, worked out by hand. Each region is 16 frames and each gap 16.
# The hole budget (11 KiB) limits an arena: k regions leave k - 1 holes
# of 16 frames, 2 bits a frame, (32 (k - 1) + 7) / 8 bytes, and k - 1
# hole extents of 16 bytes plus 4 spare, so k = 561 costs 2240 + 9024 =
# 11264 bytes, the budget exactly, and 562 would cost 11284. Their
# bookkeeping (17936 frames: one stripe 64 bytes, the bitfields of 37
# chunks 4736, chunk counters 80, chunk bitmaps 16, 564 extents 9024:
# 13920 bytes, 4 frames) fits in one region with a frame to spare. So 228 arenas of 561 regions
# (8972 usable, 8960 in holes, 4 bookkeeping) and a last one of
# 128000 - 228 * 561 = 92 regions (92 * 16 + 91 * 16 = 2928 frames, 1
# frame of bookkeeping). Planned with caches off (--cpus 0), as the
# per-CPU caches would go into arena 0's bookkeeping.
"$tool" --cpus 0 "$work/big.dtb" > "$work/text" || fail "default output: exit $?"
sed -n '/^arenas/,$p' "$work/text" > "$work/arenas"
grep -qF "  229 arenas, 0 regions rejected):" "$work/arenas" ||
    fail "not 229 arenas: $(sed -n 2p "$work/arenas")"
[ "$(grep -c '17936 frames: 8972 usable, 8960 in holes, 4 bookkeeping' \
    "$work/arenas")" -eq 228 ] || fail "not 228 arenas of 561 regions"
grep -qF "  arena 0  0x0000000080000000-0x0000000084610000" "$work/arenas" ||
    fail "arena 0 range"
grep -qF "  arena 228  0x0000000467480000-0x0000000467ff0000" \
    "$work/arenas" || fail "arena 228 range"
grep -qF "2928 frames: 1471 usable, 1456 in holes, 1 bookkeeping" \
    "$work/arenas" || fail "arena 228 frames"
grep -qF "k23_frames_init() would fail with K23_ERR_LIMIT" "$work/arenas" ||
    fail "no note about K23_ERR_LIMIT"

[ "$fails" -eq 0 ] && echo "k23mem-memmap on $n regions: all checks passed"
exit $((fails != 0))
