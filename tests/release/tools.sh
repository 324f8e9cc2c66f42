#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Both installed tools: --version prints k23_version(), --help and the
# installed man page state the one exit-status convention (0 done, 1
# runtime error, 2 usage or invalid input), and a bad option exits 2.
# Usage: tools.sh BUILD_DIR SCRATCH_DIR
set -euo pipefail
build="$1"; scratch="$2"
rm -rf "$scratch"; mkdir -p "$scratch"
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
fail() { echo "$*" >&2; exit 1; }
version=$(sed -n 's/^#define K23MEM_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/k23mem/version.h")
for t in k23mem-slab k23mem-memmap; do
    bin="$prefix/bin/$t"
    [ "$("$bin" --version)" = "$t $version (libk23mem)" ] || fail "$t --version: $("$bin" --version)"
    help=$("$bin" --help | tr '\n' ' ')
    grep -q 'Exit status: 0 done, 1 runtime error' <<<"$help" || fail "$t --help: no exit-status line"
    grep -q '2 usage or invalid input' <<<"$help" || fail "$t --help: no status 2"
    man="$prefix/share/man/man1/$t.1"
    test -f "$man" || fail "$t: no man page"
    page=$(MANWIDTH=200 man -l "$man" 2>/dev/null | tr -s ' \n' '  ')
    for want in "EXIT STATUS" "0 done" "1 runtime error" "2 usage or invalid input" "--version"; do
        grep -qF -- "$want" <<<"$page" || fail "$t(1) lacks '$want'"
    done
    set +e; "$bin" --no-such-option >/dev/null 2>&1; rc=$?; set -e
    [ "$rc" -eq 2 ] || fail "$t --no-such-option: exit $rc, want 2"
done
echo "tools: --version, --help, man pages and exit status 2 checked for both"
