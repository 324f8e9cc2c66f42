#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The Doxygen reference carries the guides and leaves private structures
# out: generated from the build tree's Doxyfile into a scratch folder, its
# main page must link a page for every guide (docs/*.md), no structure
# whose comment in an installed header says "Private." may have a page, and
# a caller-storage structure whose comment says its fields are private (or
# that it is opaque) keeps its page but lists no field.
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
# Structures whose fields are private: the struct opened on the line right
# after a doc comment saying "fields are private" or "opaque". Those named
# in EXCLUDE_SYMBOLS have no page at all; every other one has a page (the
# caller declares the storage) without a field list.
hidden=$(awk '/\/\*\*/ && !/\/\*\*</ {doc = ""; indoc = 1}
              indoc {doc = doc " " tolower($0)}
              indoc && /\*\// {indoc = 0; ended = NR; next}
              ended == NR - 1 && doc ~ /fields are private|opaque/ &&
                  match($0, /^(typedef )?struct k23_[a-z0-9_]+ *\{/) {
                  sub(/^(typedef )?struct /, ""); sub(/ *\{.*/, ""); print }' \
             "$src"/include/k23mem/*.h | sort -u)
excluded=" $(sed -n '/^EXCLUDE_SYMBOLS/,/[^\\]$/p' "$doxyfile" |
             sed 's/^EXCLUDE_SYMBOLS *=//; s/\\$//' | tr '\n' ' ') "
checked=""
for s in $hidden; do
    page="struct${s//_/__}.html"
    case "$excluded" in *" $s "*) continue ;; esac
    if [ ! -f "$html/$page" ]; then
        fail "structure $s with private fields has no page ($page)"
    elif grep -q 'id="pub-attribs"\|class="memItemRight"' "$html/$page"; then
        fail "structure $s lists its private fields in the reference ($page)"
    fi
    checked="$checked $s"
done
[ -n "$checked" ] || fail "found no structure documented with private fields (the pattern broke?)"
# Single fields documented "private:" inside an otherwise public structure:
# "struct field" for each, the field named on the line of its "/**<
# private:" comment or on the declaration after a "/** Private:" block.
fields=$(awk 'match($0, /^(typedef )?struct k23_[a-z0-9_]+ *\{/) {
                  s = $0; sub(/^(typedef )?struct /, "", s); sub(/ *\{.*/, "", s) }
              /^}/ { s = "" }
              function name(line) { sub(/[;\[].*/, "", line); sub(/\).*/, "", line)
                                    sub(/.*[ *(]/, "", line); return line }
              s != "" && /\/\*\*< *private:/ { print s, name($0) }
              s != "" && /^ *\/\*\* *Private:/ { want = 1 }
              want && /;/ && !/^ *\*/ && !/\/\*\*/ { print s, name($0); want = 0 }' \
             "$src"/include/k23mem/*.h)
[ -n "$fields" ] || fail "found no field documented as private (the pattern broke?)"
nfields=0
while read -r s f; do
    page="struct${s//_/__}.html"
    nfields=$((nfields + 1))
    [ -f "$html/$page" ] || { fail "structure $s has no page ($page)"; continue; }
    ! grep -Eq "class=\"memItemRight\"[^>]*>(<b>|<a [^>]*>)$f(</b>|</a>)" "$html/$page" ||
        fail "private field $s.$f is in the reference ($page)"
done <<<"$fields"
[ "$fails" -eq 0 ] || exit 1
echo "docs reference: $guides guides linked from the main page; private structures left out: $(echo $private); private fields left out of:$checked; $nfields private fields of public structures left out"
