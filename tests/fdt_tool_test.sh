#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Tests of the k23mem-memmap tool: --kv output of the test trees against
# maps written by hand (the comments of tests/fdt/*.dts), --exclude and
# --page-size, exit status 2 with one stderr line for every malformed blob,
# exit 2 for usage errors, and a well-formed, labelled --svg picture.
#   fdt_tool_test.sh TOOL DTB_DIR WORK_DIR
set -uo pipefail
tool="$1" dtbs="$2" work="$3"
mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect_kv() { # expect_kv NAME "expected lines" [tool args...]
    local name="$1" want="$2"; shift 2
    local got
    got=$("$tool" --kv "$@" "$dtbs/$name.dtb" 2>&1)
    local rc=$?
    [ "$rc" -eq 0 ] || fail "$name $*: exit $rc: $got"
    [ "$got" = "$want" ] || fail "$name $*: got
$got
want
$want"
}

expect_kv basic "free 0x0000000040001000 0x0000000041000000
free 0x0000000041200000 0x0000000042000000
free 0x0000000042001000 0x0000000048000000
free 0x0000000048101000 0x0000000050000000
free 0x0000000100000000 0x0000000100100000"
expect_kv basic "free 0x0000000040001000 0x0000000040200000
free 0x0000000040400000 0x0000000041000000
free 0x0000000041200000 0x0000000042000000
free 0x0000000042001000 0x0000000048000000
free 0x0000000048101000 0x000000004ffff000
free 0x0000000100000000 0x0000000100100000" \
    --exclude 0x40200000-0x40400000 --exclude 0x4fffff00-0x50000100
expect_kv basic "free 0x0000000040200000 0x0000000041000000
free 0x0000000041200000 0x0000000042000000
free 0x0000000042200000 0x0000000048000000
free 0x0000000048200000 0x0000000050000000" --page-size 2M
expect_kv basic "free 0x0000000040001000 0x0000000041000000
free 0x0000000041200000 0x0000000042000000
free 0x0000000042001000 0x0000000048000000
free 0x0000000048101000 0x0000000050000000
free 0x0000000100000000 0x0000000100100000" --page-size 0x1000
expect_kv cells1 "free 0x0000000000000000 0x0000000000280000
free 0x0000000080000000 0x0000000088000000"
expect_kv defaults "free 0x0000000000000000 0x00000000000c0000
free 0x00000000000c2000 0x0000000000100000
free 0x0000000100000000 0x0000000100080000
free 0x0000000100081000 0x0000000100100000"
expect_kv usable "free 0x0000000044000000 0x0000000045000000
free 0x0000000046000000 0x0000000046800000"
expect_kv top "free 0xfffffffffff00000 0xfffffffffffff000"
expect_kv empty ""
expect_kv resv-own-cells "free 0x0000000080000000 0x0000000080100000
free 0x0000000080102000 0x0000000090000000"

# Malformed blobs: exit 2, exactly one line on stderr, nothing on stdout.
head -c 100 "$dtbs/basic.dtb" > "$work/truncated.dtb"
printf 'not a device tree at all, just some text\n' > "$work/text.dtb"
: > "$work/empty-file.dtb"
for f in "$dtbs"/bad-*.dtb "$work/truncated.dtb" "$work/text.dtb" \
         "$work/empty-file.dtb"; do
    for mode in --kv ""; do
        "$tool" $mode "$f" > "$work/out" 2> "$work/err"
        rc=$?
        [ "$rc" -eq 2 ] || fail "$(basename "$f") $mode: exit $rc, want 2"
        [ "$(wc -l < "$work/err")" -eq 1 ] ||
            fail "$(basename "$f") $mode: stderr not one line: $(cat "$work/err")"
        [ ! -s "$work/out" ] || fail "$(basename "$f") $mode: wrote to stdout"
    done
done
grep -q "K23_ERR_FDT_REG" <("$tool" "$dtbs/bad-reg-len.dtb" 2>&1) ||
    fail "bad-reg-len: error not named"
grep -q "/memory@0 reg" <("$tool" "$dtbs/bad-reg-len.dtb" 2>&1) ||
    fail "bad-reg-len: node and property not named"

# Usage errors: exit 2 (an unreadable file, a runtime error, exits 1:
# tests/fdt_tool_errors.sh).
for args in "" "--page-size 3000 $dtbs/basic.dtb" "--page-size 2G $dtbs/basic.dtb" \
            "--exclude 5-4 $dtbs/basic.dtb" "--exclude 12 $dtbs/basic.dtb" \
            "--bogus $dtbs/basic.dtb"; do
    "$tool" $args > /dev/null 2>&1
    rc=$?
    [ "$rc" -eq 2 ] || fail "'$args': exit $rc, want 2"
done

# Default output names what was taken out and why.
out=$("$tool" --exclude 0x40200000-0x40400000 "$dtbs/basic.dtb")
for want in "/memreserve/ entry 0" "/reserved-memory/firmware@41000000 (no-map)" \
            "initrd" "--exclude 0x40200000-0x40400000" "/reserved-memory/dyn-pool" \
            "free, aligned inward to 4 KiB (6 regions"; do
    grep -qF -- "$want" <<<"$out" || fail "default output lacks '$want'"
done

# Arenas the frame allocator would build, worked out by hand for basic.dts
# with the 1 MiB bank at 4 GiB cut to one frame: the four free regions
# below 0x50000000 merge (holes 512 + 1 + 257 = 770 frames in 3 holes:
# 770 * 2 bits and 3 + 4 extents of 16 bytes, 305 bytes < 11 KiB);
# 65535 frames need 3 stripes of 64 bytes, the two bitfields of 129
# chunks (16512), the chunk counters (264) and owners (264), the chunk
# bitmaps (48) and 7 hole extents (112): 17392 bytes of bookkeeping, plus
# the per-CPU caches of the one CPU the tool plans for by default (640
# bytes, carved with the first arena's bookkeeping): 18032 bytes, 5
# frames, carved from the
# end of the largest piece (0x48101000-0x50000000); usable 65535 - 770 -
# 5 = 64760. The lone frame at 4 GiB is 2.75 GiB away (far beyond the
# hole budget) and cannot hold its own bookkeeping (224 bytes) and a
# frame to hand out.
out=$("$tool" --exclude 0x100001000-0x100100000 "$dtbs/basic.dtb")
want_arenas="arenas the frame allocator would build (frame size 4 KiB, hole budget 11 KiB;
  1 arena, 1 region rejected):
  arena 0  0x0000000040001000-0x0000000050000000  262140 KiB
           65535 frames: 64760 usable, 770 in holes, 5 bookkeeping
           bookkeeping 0x000000004fffb000-0x0000000050000000  20 KiB (18032 bytes used)
  rejected 0x0000000100000000-0x0000000100001000  4 KiB
           too small: 1 frame, needs 1 for bookkeeping (224 bytes) and 1 to hand out"
got_arenas=$(sed -n '/^arenas/,$p' <<<"$out")
[ "$got_arenas" = "$want_arenas" ] || fail "arenas section: got
$got_arenas
want
$want_arenas"
# --cpus: the caches of 8 CPUs (8 * 640 bytes more) need 6 frames
out=$("$tool" --cpus 8 --exclude 0x100001000-0x100100000 "$dtbs/basic.dtb")
grep -qF "65535 frames: 64759 usable, 770 in holes, 6 bookkeeping" <<<"$out" ||
    fail "--cpus 8: bookkeeping"
grep -qF "(22512 bytes used)" <<<"$out" || fail "--cpus 8: bytes"
# --cpus 0: caches off, the bookkeeping is the arena's own (5 frames)
out=$("$tool" --cpus 0 --exclude 0x100001000-0x100100000 "$dtbs/basic.dtb")
grep -qF "65535 frames: 64760 usable, 770 in holes, 5 bookkeeping" <<<"$out" ||
    fail "--cpus 0: bookkeeping"
rc=0; "$tool" --cpus x "$dtbs/basic.dtb" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--cpus x: exit $rc, want 2"
# the whole 1 MiB bank: a second arena of 256 frames, one of bookkeeping
out=$("$tool" "$dtbs/basic.dtb")
grep -qF "  2 arenas, 0 regions rejected):" <<<"$out" || fail "basic: 2 arenas"
grep -qF "  arena 1  0x0000000100000000-0x0000000100100000       1 MiB" <<<"$out" ||
    fail "basic: arena 1 range"
grep -qF "256 frames: 255 usable, 0 in holes, 1 bookkeeping" <<<"$out" ||
    fail "basic: arena 1 frames"
# 64 KiB frames: the first region starts at the first 64 KiB boundary
out=$("$tool" --page-size 64K "$dtbs/basic.dtb")
grep -qF "(frame size 64 KiB, hole budget 11 KiB;" <<<"$out" ||
    fail "64K: frame size"
grep -qF "  arena 0  0x0000000040010000-0x0000000050000000" <<<"$out" ||
    fail "64K: arena 0 range"
# frame sizes outside 4 KiB..64 KiB: said so, no arenas
for ps in 2M 1K; do
    out=$("$tool" --page-size "$ps" "$dtbs/basic.dtb")
    grep -qF "arenas: none shown: the frame allocator takes frame sizes from 4 KiB to 64 KiB" <<<"$out" ||
        fail "--page-size $ps: no note about frame sizes"
    grep -q "^  arena " <<<"$out" && fail "--page-size $ps: arenas printed"
done
# an arena ending at 2^64 (255 frames below the last one)
out=$("$tool" "$dtbs/top.dtb")
grep -qF "  arena 0  0xfffffffffff00000-0xfffffffffffff000" <<<"$out" ||
    fail "top: arena 0"
grep -qF "255 frames: 254 usable, 0 in holes, 1 bookkeeping" <<<"$out" ||
    fail "top: arena frames"
# no free memory: no arena
out=$("$tool" "$dtbs/empty.dtb")
grep -qF "  (none: no free region)" <<<"$out" || fail "empty: arenas"
# one-byte pages: "1 byte", not "1 bytes"
out=$("$tool" --page-size 1 "$dtbs/basic.dtb")
grep -qF "free, aligned inward to 1 byte (5 regions" <<<"$out" ||
    fail "--page-size 1: wording"
grep -qF "1 bytes" <<<"$out" && fail "--page-size 1: '1 bytes'"
# --kv stays free lines only
"$tool" --kv "$dtbs/basic.dtb" | grep -qv "^free " && fail "--kv: not only free lines"

# SVG: well-formed XML with the regions labelled, gaps marked.
"$tool" --svg "$work/basic.svg" --exclude 0x40200000-0x40400000 \
    "$dtbs/basic.dtb" > /dev/null || fail "--svg exit status"
if command -v xmllint > /dev/null; then
    xmllint --noout "$work/basic.svg" || fail "SVG is not well-formed XML"
else
    fail "xmllint missing (libxml2-utils)"
fi
for want in "<svg" "memory@40000000" "firmware@41000000 (no-map)" "initrd" \
            "--exclude #0" "free #5" "gap of 2.75 GiB" "0x100100000" \
            "arenas (frame allocator)" "arena #0 · 262140 KiB" \
            "arena #1 · 1 MiB" "bookkeeping · 20 KiB" \
            "0x40001000 – 0x50000000"; do
    grep -qF -- "$want" "$work/basic.svg" || fail "SVG lacks '$want'"
done
"$tool" --svg "$work/rej.svg" --exclude 0x100001000-0x100100000 \
    "$dtbs/basic.dtb" > /dev/null || fail "--svg rej exit status"
grep -qF "rejected: too small · 4 KiB" "$work/rej.svg" ||
    fail "SVG lacks the rejected region"
# a '&' in a path must be escaped: the top tree too must give valid XML
"$tool" --svg "$work/top.svg" "$dtbs/top.dtb" > /dev/null &&
    xmllint --noout "$work/top.svg" || fail "top.svg"

[ "$fails" -eq 0 ] && echo "k23mem-memmap: all checks passed"
exit $((fails != 0))
