#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The Doxygen reference carries the guides and leaves private structures
# out: generated from the build tree's Doxyfile into a scratch folder, its
# main page must link a page for every guide (docs/*.md), and no structure
# whose comment in an installed header says "Private." may have a page.
# Usage: docs_reference.sh DOXYFILE SOURCE_DIR SCRATCH_DIR
set -euo pipefail
doxyfile="$1"; src="$2"; scratch="$3"
rm -rf "$scratch"; mkdir -p "$scratch"
{ cat "$doxyfile"; echo "OUTPUT_DIRECTORY = $scratch"; echo "WARN_AS_ERROR = NO"; } |
    doxygen - >"$scratch/doxygen.log" 2>&1
html="$scratch/html"
test -f "$html/index.html"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
guides=0
for md in "$src"/docs/*.md; do
    name=$(basename "$md" .md)
    [ "$name" = mainpage ] && continue
    guides=$((guides + 1))
    page="md_docs_${name}.html"
    [ -f "$html/$page" ] || fail "no page for docs/$name.md ($page)"
    grep -q "href=\"$page\"" "$html/index.html" || fail "the main page does not link docs/$name.md"
done
# Structures documented "Private." in the installed headers: the struct
# named on the line after the comment that says so.
private=$(awk '/\/\*\*.*Private\./ {want = 1; next}
               want && match($0, /struct k23_[a-z0-9_]+/) {print substr($0, RSTART + 7, RLENGTH - 7)}
               !/^ \*/ {want = 0}' "$src"/include/k23mem/*.h | sort -u)
[ -n "$private" ] || fail "found no structure documented as Private (the pattern broke?)"
for s in $private; do
    page="struct${s//_/__}.html"
    [ ! -f "$html/$page" ] || fail "private structure $s is in the reference ($page)"
done
[ "$fails" -eq 0 ] || exit 1
echo "docs reference: $guides guides linked from the main page; private structures left out: $(echo $private)"
