#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# k23mem-memmap's error paths, and a few good runs, with leak detection
# on: every exit status must be the documented one (0 done, 1 runtime
# error such as an unreadable file, 2 usage or invalid input). Under AddressSanitizer a leak turns the
# status into 1 and prints a LeakSanitizer report, so this test is what
# the ASan tree runs for the tool (ctest label "leaks"); in other builds
# it checks the statuses only.
#   fdt_tool_errors.sh TOOL DTB_DIR WORK_DIR
set -uo pipefail
tool="$1" dtbs="$2" work="$3"
mkdir -p "$work"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect() { # expect STATUS ARGS...
    local want="$1"; shift
    "$tool" "$@" > "$work/out" 2> "$work/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*': exit $rc, want $want: $(head -c 2000 "$work/err")"
    if grep -qE "LeakSanitizer|AddressSanitizer|runtime error: " "$work/err"; then
        fail "'$*': sanitizer report: $(head -c 2000 "$work/err")"
    fi
}

head -c 100 "$dtbs/basic.dtb" > "$work/truncated.dtb"
printf 'not a device tree at all, just some text\n' > "$work/text.dtb"
: > "$work/empty-file.dtb"

# malformed blobs: 2, in both output modes
for f in "$dtbs"/bad-*.dtb "$work/truncated.dtb" "$work/text.dtb" \
         "$work/empty-file.dtb"; do
    expect 2 --kv "$f"
    expect 2 --exclude 0x1000-0x2000 "$f"
done
# usage errors: 2
expect 2
expect 2 --bogus "$dtbs/basic.dtb"
expect 2 --page-size 3000 "$dtbs/basic.dtb"
expect 2 --page-size
expect 2 --exclude 5-4 "$dtbs/basic.dtb"
expect 2 --exclude 0x1000-0x2000 --exclude 12 "$dtbs/basic.dtb"
expect 2 "$dtbs/basic.dtb" "$dtbs/top.dtb"
# I/O errors: 1
expect 1 "$work/does-not-exist.dtb"
expect 1 "$work"
expect 1 --svg "$work/no-such-dir/x.svg" "$dtbs/basic.dtb"
# good runs: 0
expect 0 --help
expect 0 --version
expect 0 --kv --exclude 0x40200000-0x40400000 "$dtbs/basic.dtb"
expect 0 --svg "$work/basic.svg" "$dtbs/basic.dtb"
expect 0 --page-size 1 "$dtbs/basic.dtb"
expect 0 "$dtbs/empty.dtb"

[ "$fails" -eq 0 ] && echo "k23mem-memmap error paths: all checks passed"
exit $((fails != 0))
