#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# CLI test of k23mem-slab: the --kv line, exit codes, size suffixes and
# 32-bit overflow. Usage: slab_tool.sh PATH/TO/k23mem-slab
tool="$1"
fails=0
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# expect STATUS EXPECTED-STDOUT ARGS...: run the tool, compare status and
# (when EXPECTED-STDOUT is not "-") the whole of stdout.
expect() {
    want_rc="$1"; want_out="$2"; shift 2
    "$tool" "$@" >"$out" 2>"$err"
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL: $*: exit $rc, expected $want_rc"; cat "$err"; fails=$((fails + 1)); return
    fi
    if [ "$want_out" != "-" ] && [ "$(cat "$out")" != "$want_out" ]; then
        echo "FAIL: $*: stdout"; echo " got:  $(cat "$out")"; echo " want: $want_out"
        fails=$((fails + 1))
    fi
}
# stderr_is TEXT: the last run's stderr is exactly one line TEXT.
stderr_is() {
    if [ "$(cat "$err")" != "$1" ] || [ "$(wc -l <"$err")" -ne 1 ]; then
        echo "FAIL: stderr"; echo " got:  $(cat "$err")"; echo " want: $1"; fails=$((fails + 1))
    fi
}
# stderr_has TEXT: the last run's stderr contains TEXT.
stderr_has() {
    grep -q -- "$1" "$err" || { echo "FAIL: stderr lacks '$1'"; cat "$err"; fails=$((fails + 1)); }
}

G=1073741824
# 4 GiB memories, 2 GiB guard, 15 keys: 2 stripes, 4 GiB slots (the
# example of docs/slab.md).
expect 0 "num_slots=1000 slot_bytes=$((4*G)) max_memory_bytes=$((4*G)) pre_slab_guard_bytes=0 post_slab_guard_bytes=$((2*G)) num_stripes=2 total_slab_bytes=$((1000*4*G + 2*G))" \
    --max-memory 4GiB --slots 1000 --guard 2GiB --pkeys 15 --page-size 4096 --kv
# Same with plain byte counts, K/M/G/T spellings and --opt=value.
expect 0 "num_slots=1000 slot_bytes=$((4*G)) max_memory_bytes=$((4*G)) pre_slab_guard_bytes=0 post_slab_guard_bytes=$((2*G)) num_stripes=2 total_slab_bytes=$((1000*4*G + 2*G))" \
    --max-memory=4294967296 --slots=1000 --guard 2048M --pkeys=15 --page-size 4K --kv
# 1 GiB max in a 4 GiB reservation: 6 stripes of 1 GiB, guard before too.
expect 0 "num_slots=100 slot_bytes=$G max_memory_bytes=$G pre_slab_guard_bytes=$((2*G)) post_slab_guard_bytes=$((5*G)) num_stripes=6 total_slab_bytes=$((100*G + 7*G))" \
    --max-memory 1G --reservation 4g --slots 100 --guard 2GiB --guard-before --pkeys 15 --page-size 4KiB --kv
# No keys: one stripe, each slot a whole faulting region; sizes round up.
expect 0 "num_slots=3 slot_bytes=8192 max_memory_bytes=8192 pre_slab_guard_bytes=0 post_slab_guard_bytes=0 num_stripes=1 total_slab_bytes=24576" \
    --max-memory 5000 --slots 3 --page-size 4096 --kv
# 1 TiB suffix, 64 KiB pages.
expect 0 "num_slots=2 slot_bytes=1099511627776 max_memory_bytes=1099511627776 pre_slab_guard_bytes=0 post_slab_guard_bytes=0 num_stripes=1 total_slab_bytes=2199023255552" \
    --max-memory 1TiB --slots 2 --page-size 64KiB --kv
# Zero slots is a valid (empty) pool.
expect 0 "num_slots=0 slot_bytes=65536 max_memory_bytes=65536 pre_slab_guard_bytes=0 post_slab_guard_bytes=0 num_stripes=1 total_slab_bytes=0" \
    --max-memory 64K --slots 0 --page-size 4096 --kv

# --width 32: 3 GiB fits, 4 GiB does not.
expect 0 "num_slots=3 slot_bytes=$G max_memory_bytes=$G pre_slab_guard_bytes=0 post_slab_guard_bytes=0 num_stripes=1 total_slab_bytes=$((3*G))" \
    --max-memory 1GiB --slots 3 --width 32 --page-size 65536 --kv
expect 2 "" --max-memory 1GiB --slots 4 --width 32 --page-size 65536 --kv
stderr_is "k23mem-slab: total size of memory reservation exceeds addressable memory (32-bit target)"
expect 0 - --max-memory 1GiB --slots 4 --width 64 --kv
expect 2 "" --max-memory 1GiB --reservation 3GiB --guard 2GiB --slots 1 --width 32 --kv
stderr_is "k23mem-slab: faulting region is too large (32-bit target)"
expect 2 "" --max-memory 4GiB --slots 1 --width 32 --kv
stderr_is "k23mem-slab: memory reservation is too large: 0x100000000 bytes does not fit a 32-bit size_t once rounded up to the page size"

# Invalid configurations: status 2, one line naming the problem.
expect 2 "" --max-memory 5GiB --reservation 4GiB --slots 1 --kv
stderr_is "k23mem-slab: maximum memory size of 0x140000000 bytes exceeds the configured memory reservation of 0x100000000 bytes"
expect 2 "" --max-memory 4GiB --slots 1 --page-size 3000
stderr_is "k23mem-slab: page size 3000 is not a power of two"

# More keys than a memory pool uses: rejected, not laid out.
expect 2 "" --max-memory 4K --slots 1 --pkeys 1000
stderr_is "k23mem-slab: 1000 protection keys: a memory pool uses at most 16"
expect 0 - --max-memory 4K --slots 1 --pkeys 16

# More stripes than bytes in a page (16 keys, 1-byte pages): the slots of
# one stripe must still span the 17-byte faulting region (a rounded-down
# slot size gave 16 slots of 1 byte, 16 bytes apart).
expect 0 "num_slots=16 slot_bytes=2 max_memory_bytes=1 pre_slab_guard_bytes=0 post_slab_guard_bytes=15 num_stripes=16 total_slab_bytes=47" \
    --max-memory 1 --reservation 16 --guard 1 --pkeys 16 --slots 16 --page-size 1 --kv

# Slots of 0 bytes: any number fits (not the bisection's upper bound).
expect 0 - --max-memory 0 --slots 0
grep -q "slots that fit       any number (a slot takes 0 bytes)" "$out" || { echo "FAIL: report 0"; cat "$out"; fails=$((fails + 1)); }

# Bad usage: status 2 and the usage text.
for args in "" "--slots 1" "--max-memory 1G" "--max-memory 1X --slots 1" \
    "--max-memory 1GiBs --slots 1" "--max-memory -1 --slots 1" \
    "--max-memory 1G --slots 1K" "--max-memory 1G --slots 1 --width 16" \
    "--max-memory 1G --slots 1 --bogus" "--max-memory 1G --slots" \
    "--max-memory 16777216T --slots 1" "--max-memory 18446744073709551616 --slots 1" \
    "--max-memory 1G --slots 1 --kv=1"; do
    # shellcheck disable=SC2086
    expect 2 "" $args
    stderr_has "usage: k23mem-slab"
done
expect 0 - --help
grep -q -- "--max-memory SIZE" "$out" || { echo "FAIL: --help"; fails=$((fails + 1)); }

# The human report carries the same numbers.
expect 0 - --max-memory 4GiB --slots 1000 --guard 2GiB --pkeys 15 --page-size 4096
grep -q "total reservation    3.91 TiB     (4297114779648 bytes)" "$out" || { echo "FAIL: report"; cat "$out"; fails=$((fails + 1)); }
grep -q "slots that fit       32767 in a 128 TiB" "$out" || { echo "FAIL: report fit"; cat "$out"; fails=$((fails + 1)); }
expect 0 - --max-memory 64MiB --slots 16 --width 32 --page-size 64KiB
grep -q "slots that fit       63 in the 32-bit space" "$out" || { echo "FAIL: report 32"; cat "$out"; fails=$((fails + 1)); }

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "k23mem-slab CLI: all checks passed"
