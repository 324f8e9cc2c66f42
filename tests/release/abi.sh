#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The shared library exports exactly the API: every function and variable
# declared in the installed headers, and nothing else (no k23_*_ internal,
# no port helper). Usage: abi.sh BUILD_DIR SCRATCH_DIR
set -euo pipefail
build="$1"; scratch="$2"
rm -rf "$scratch"; mkdir -p "$scratch"
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
so=$(find "$prefix" -name 'libk23mem.so.*.*.*' | head -n1)
test -n "$so"
# Declarations (prototypes and extern variables), not static inline
# definitions, of every installed header; a declaration marked
# visibility("hidden") on its line or the line before is private.
# The thread-safety annotations (k23mem/thread_safety.h) are attributes,
# not declarations: ctags skips them and their arguments.
tsa=K23_CAPABILITY+,K23_GUARDED_BY+,K23_PT_GUARDED_BY+,K23_REQUIRES+,K23_EXCLUDES+
tsa=$tsa,K23_ACQUIRE+,K23_RELEASE+,K23_ASSERT_CAPABILITY+,K23_RETURN_CAPABILITY+
find "$prefix/include" -name '*.h' -print0 |
    xargs -0 ctags -x --c-kinds=px --language-force=C -I "$tsa" 2>/dev/null |
    while read -r name _ line file _; do
        sed -n "$((line > 1 ? line - 1 : 1)),${line}p" "$file" |
            grep -q 'visibility("hidden")' || echo "$name"
    done | sort -u >"$scratch/declared"
# Defined dynamic symbols, without the version node itself.
nm -D --defined-only "$so" | awk '$2 != "A" {print $3}' | sed 's/@.*//' |
    sort -u >"$scratch/exported"
test -s "$scratch/declared" && test -s "$scratch/exported"
if ! diff -u "$scratch/declared" "$scratch/exported" >"$scratch/diff"; then
    echo "exported symbols differ from the installed headers' declarations (- declared only, + exported only):" >&2
    grep '^[-+][^-+]' "$scratch/diff" >&2
    exit 1
fi
# Test support (the fault-injecting instance allocator, tests/support/)
# stays out of the library.
if grep -nE 'faulty|inject' "$scratch/exported"; then
    echo "test-support symbols exported (they belong in tests/support/)" >&2; exit 1
fi
if grep -rnE 'K23_ERR_INJECTED|k23_instance_faulty' "$prefix/include"; then
    echo "installed headers declare test support" >&2; exit 1
fi
# Every export carries the library's version node.
if objdump -T "$so" | awk '$4 ~ /^\.|^\*/ && $NF ~ /^k23_/ && $(NF-1) != "K23MEM_0.2" {bad=1} END {exit !bad}'; then
    echo "unversioned exports:" >&2; objdump -T "$so" | grep -v K23MEM_0.2 | grep ' k23_' >&2; exit 1
fi
echo "abi: $(wc -l <"$scratch/exported") symbols exported, all declared in the installed headers"
