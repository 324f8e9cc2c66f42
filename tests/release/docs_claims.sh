#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Claims in the docs that drifted once, checked against the tree:
# - README's hook count is port.h's number of k23_port_* functions;
# - every CMake option and cache variable the project defines is named in
#   README's options list; every benchmark mode is in its "Modes:" list;
# - frames.md's hole-frame figure is what the default hole budget buys;
# - porting.md's "no global state" names every file with a mutable global;
# - the installed headers and the sources cite what a reader can look up
#   (wasmtime, the k23 kernel), not the project's internal "seed" labels.
# Usage: docs_claims.sh SOURCE_DIR
set -euo pipefail
src="$1"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

hooks=$(grep -E '^K23_API .*\bk23_port_[a-z0-9_]+\(' "$src/include/k23mem/port.h" |
        grep -oE '\bk23_port_[a-z0-9_]+\(' | sort -u | wc -l)
grep -qE "port\.h\`, $hooks hooks" "$src/README.md" ||
    fail "README does not say port.h has $hooks hooks"

opts=$(cat "$src/CMakeLists.txt" "$src"/cmake/*.cmake "$src"/tests/*.cmake "$src"/ports/*/port.cmake |
       sed -nE 's/^[[:space:]]*(option|set)\(([A-Z0-9_]+)[[:space:]].*/\1 \2 &/p' |
       awk '($1 == "option" || /CACHE/) && !/CACHE INTERNAL/ {print $2}' | grep -E '^(K23_|BUILD_TESTING)' | sort -u)
for o in $opts; do
    grep -qF "\`$o\`" "$src/README.md" || fail "README's options list lacks $o"
done

if grep -rniE 'seed 0[0-9][0-9]|seed `?0[0-9][0-9]|the seed' "$src/include/k23mem" "$src/src"; then
    fail "installed headers or sources cite internal seed labels"
fi
# porting.md: no global state but the instance allocators' two cached
# words in src/instance.c. Every file-scope variable of src/ that is not
# const is listed here and must be named in porting.md.
globals=$(grep -nE '^(static |_Thread_local |volatile )*[A-Za-z_][A-Za-z0-9_ ]*[ *]+[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])*( = [^;]*)?;' "$src"/src/*.c |
          { grep -vE '\(|\bconst\b|^[^:]+:[0-9]+:(typedef|extern|struct [a-z_0-9]+;|return|enum)' || true; })
while IFS= read -r g; do
    [ -n "$g" ] || continue
    file=${g%%:*}; file=src/${file##*/}
    grep -qF "\`$file\`" "$src/docs/porting.md" ||
        fail "porting.md says no global state, but $file has: ${g#*:*:}"
done <<<"$globals"
# README's benchmark modes are bench/bench_<mode>.c.
for b in "$src"/bench/bench_*.c; do
    m=$(basename "$b" .c); m=${m#bench_}
    sed -n '/^Modes: /,/^$/p' "$src/README.md" | grep -qF "\`$m\`" ||
        fail "README's benchmark modes lack $m"
done
# frames.md's hole-frame figure is what the default hole budget buys at
# K23_FRAMES_META_BITS bits a frame plus one hole extent with its slack
# (frames_hole_cost() in src/frames_select.c).
fh="$src/include/k23mem/frames.h"
budget=$(sed -nE 's/^#define K23_FRAMES_DEFAULT_HOLE_BUDGET \(([0-9]+)u \* ([0-9]+)u\).*/\1 * \2/p' "$fh")
bits=$(sed -nE 's/^#define K23_FRAMES_META_BITS ([0-9]+).*/\1/p' "$fh")
xb=$(sed -nE 's/^#define K23_FRAMES_HOLE_BYTES ([0-9]+).*/\1/p' "$fh")
slack=$(sed -nE 's/^#define K23_FRAMES_HOLE_SLACK ([0-9]+).*/\1/p' "$fh")
if [ -z "$budget" ] || [ -z "$bits" ] || [ -z "$xb" ] || [ -z "$slack" ]; then
    fail "cannot read the hole budget or the bookkeeping sizes from frames.h"
else
    budget=$((budget))
    fixed=$(( (1 + slack) * xb ))
    holes=$(( ((budget - fixed) * 8 - 7) / bits ))
    while [ $(( (bits * (holes + 1) + 7) / 8 + fixed )) -le "$budget" ]; do holes=$((holes + 1)); done
    while [ $(( (bits * holes + 7) / 8 + fixed )) -gt "$budget" ]; do holes=$((holes - 1)); done
    pretty=$(LC_ALL=C.UTF-8 printf "%d" "$holes" | sed -E ':a;s/^([0-9]+)([0-9]{3})/\1,\2/;ta')
    tr '\n' ' ' <"$src/docs/frames.md" | grep -qE "$pretty hole +frames at +\`K23_FRAMES_META_BITS\`, $bits," ||
        fail "docs/frames.md does not say the default hole budget holds $pretty hole frames at $bits bits"
fi
[ "$fails" -eq 0 ] || exit 1
echo "docs claims: $hooks port hooks, $(echo "$opts" | wc -w) CMake options, no seed labels, $pretty hole frames"
