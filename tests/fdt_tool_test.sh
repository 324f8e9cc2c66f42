#!/usr/bin/env bash
# Tests of the k23mem-memmap tool: --kv output of the test trees against
# maps written by hand (the comments of tests/fdt/*.dts), --exclude and
# --page-size, exit status 2 with one stderr line for every malformed blob,
# exit 1 for usage errors, and a well-formed, labelled --svg picture.
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

# Usage errors: exit 1.
for args in "" "--page-size 3000 $dtbs/basic.dtb" "--page-size 2G $dtbs/basic.dtb" \
            "--exclude 5-4 $dtbs/basic.dtb" "--exclude 12 $dtbs/basic.dtb" \
            "--bogus $dtbs/basic.dtb" "$work/does-not-exist.dtb"; do
    "$tool" $args > /dev/null 2>&1
    rc=$?
    [ "$rc" -eq 1 ] || fail "'$args': exit $rc, want 1"
done

# Default output names what was taken out and why.
out=$("$tool" --exclude 0x40200000-0x40400000 "$dtbs/basic.dtb")
for want in "/memreserve/ entry 0" "/reserved-memory/firmware@41000000 (no-map)" \
            "initrd" "--exclude 0x40200000-0x40400000" "/reserved-memory/dyn-pool" \
            "free, aligned inward to 4 KiB (6 regions"; do
    grep -qF -- "$want" <<<"$out" || fail "default output lacks '$want'"
done

# SVG: well-formed XML with the regions labelled, gaps marked.
"$tool" --svg "$work/basic.svg" --exclude 0x40200000-0x40400000 \
    "$dtbs/basic.dtb" > /dev/null || fail "--svg exit status"
if command -v xmllint > /dev/null; then
    xmllint --noout "$work/basic.svg" || fail "SVG is not well-formed XML"
else
    fail "xmllint missing (libxml2-utils)"
fi
for want in "<svg" "memory@40000000" "firmware@41000000 (no-map)" "initrd" \
            "--exclude #0" "free #5" "gap of 2.75 GiB" "0x100100000"; do
    grep -qF -- "$want" "$work/basic.svg" || fail "SVG lacks '$want'"
done
# a '&' in a path must be escaped: the top tree too must give valid XML
"$tool" --svg "$work/top.svg" "$dtbs/top.dtb" > /dev/null &&
    xmllint --noout "$work/top.svg" || fail "top.svg"

[ "$fails" -eq 0 ] && echo "k23mem-memmap: all checks passed"
exit $((fails != 0))
