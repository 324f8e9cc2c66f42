#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# docs_figures.sh can fail: each planted violation must be reported, and
# each correctly marked figure must pass. Usage: docs_figures_selftest.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
today=2026-12-06
fails=0

# expect_fail NAME PATTERN < doc: the doc alone must fail, naming PATTERN
expect_fail() {
    local name="$1" pattern="$2" d="$scratch/$1"
    mkdir -p "$d/docs"; cat >"$d/docs/x.md"
    if out=$(bash "$here/docs_figures.sh" "$d" "$today" 2>&1); then
        echo "FAIL: $name: passed, should have failed" >&2; fails=$((fails + 1))
    elif ! grep -qE "$pattern" <<<"$out"; then
        echo "FAIL: $name: did not report /$pattern/: $out" >&2; fails=$((fails + 1))
    fi
}
expect_pass() {
    local name="$1" d="$scratch/$1"
    mkdir -p "$d/docs"; cat >"$d/docs/x.md"
    if ! out=$(bash "$here/docs_figures.sh" "$d" "$today" 2>&1); then
        echo "FAIL: $name: should pass: $out" >&2; fails=$((fails + 1))
    fi
}

expect_fail time_without_provenance '"7.4 ns" without' <<'EOF'
A cache hit costs 7.4 ns.
EOF
expect_fail microseconds '"18.4 µs" without' <<'EOF'
Instantiation takes 18.4 µs on warm slots.
EOF
expect_fail rate '"350 MiB/s" without' <<'EOF'
Zeroing runs at 350 MiB/s.
EOF
expect_fail ratio_x '"2.04x" without' <<'EOF'
The pair is 2.04x the floor.
EOF
expect_fail ratio_prefix '"x1.59" without' <<'EOF'
| case | after |
|---|---|
| 2 MiB pair | 112 (x1.59 LLFree) |
EOF
expect_fail ratio_word 'ratio 0.52' <<'EOF'
Ours against the baseline: ratio 0.52.
EOF
expect_fail table_without_caption '"126-141 ns" without' <<'EOF'
## Figures

| | 10^3 |
|---|---|
| find | 126-141 ns |
EOF
expect_fail code_block_output '"57360 ns" without' <<'EOF'
Output:

    instance: on-demand  median 57360 ns
EOF
expect_fail caption_in_other_section '"5 ms" without' <<'EOF'
Boot (`qemu-run`, 2026-12-01):

## Next

| step | time |
|---|---|
| paging | 5 ms |
EOF
expect_fail test_count 'test count "44 tests"' <<'EOF'
`tests/test_frames.c` (Criterion, 44 tests) checks the allocator.
EOF
expect_fail test_count_passed 'test count "312 passed"' <<'EOF'
The suite printed 312 passed <!-- measured: ./scripts/test, 2026-12-01 -->.
EOF
expect_fail future_date 'not a real date' <<'EOF'
A hit costs 7.4 ns (`k23mem-bench frames`, 2026-12-07).
EOF
expect_fail impossible_date 'not a real date' <<'EOF'
A hit costs 7.4 ns (`k23mem-bench frames`, 2026-02-30).
EOF
expect_fail comment_without_command 'without a command and a date' <<'EOF'
<!-- measured: 2026-12-01 -->
A hit costs 7.4 ns.
EOF
expect_fail exemption_without_reason '"240 s" without' <<'EOF'
<!-- not measured: -->
The default timeout is 240 s.
EOF

expect_fail comment_in_inline_code '"7.4 ns" without' <<'EOF'
Write `<!-- measured: k23mem-bench frames, 2026-12-01 -->`; a hit is 7.4 ns.
EOF

expect_pass visible_provenance <<'EOF'
A cache hit costs 7.4 ns (`k23mem-bench frames`, 2026-12-06).
EOF
expect_pass words_before_command <<'EOF'
Release build, two runs (median of 5; `k23mem-bench mempool`, 2026-11-20):
53.6 µs.
EOF
expect_pass comment_provenance <<'EOF'
<!-- measured: k23mem-bench frames, 2026-11-21 -->
A cache hit costs 7.4 ns, 2.04x the floor.
EOF
expect_pass table_caption <<'EOF'
Three runs (`k23mem-bench aspace`, 2026-12-06):

| | 10^3 |
|---|---|
| find | 126-141 ns |
EOF
expect_pass code_caption <<'EOF'
One run (`build/bench/k23mem-bench instance`, 2026-11-20):

    $ build/bench/k23mem-bench instance
    instance: on-demand  median 57360 ns
EOF
expect_pass settings <<'EOF'
<!-- not measured: a default timeout -->
`qemu-run` stops after 240 s (`K23_QEMU_TIMEOUT`).
EOF
expect_pass not_figures <<'EOF'
On x86_64, `2 x 1 GiB` leaves and 537 × 12 bytes; `sleep 5s` in code; a
len-1 test of the start bit; s390x; `ctest -j2`.
EOF
expect_pass quoted_output_counts <<'EOF'
The last line (`./scripts/test`, 2026-12-01):

```
k23mem: 312 passed, 0 failed, 3 skipped
```
EOF

[ "$fails" -eq 0 ] || exit 1
echo "docs figures self-test: every planted violation reported, every marked figure accepted"
