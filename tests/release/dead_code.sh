#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Dead code in the library's private headers: every macro and every
# static inline function that src/*.h defines is used somewhere in src/ or
# ports/ besides its own definition. (Unused static functions in .c files
# are already compiler warnings; these are not.)
# Usage: dead_code.sh SOURCE_DIR
set -euo pipefail
src="$1"
fails=0
for h in "$src"/src/*.h; do
    names=$( { sed -nE 's/^[[:space:]]*#[[:space:]]*define[[:space:]]+([A-Za-z_][A-Za-z0-9_]*).*/\1/p' "$h"
               sed -nE 's/^static inline [^(]*[^A-Za-z0-9_(]([A-Za-z_][A-Za-z0-9_]*)\(.*/\1/p' "$h"; } |
             { grep -vE '_H_?$' || true; } | sort -u)
    for n in $names; do
        # uses: word matches in src/ and ports/ minus the defining lines
        uses=$(grep -rwn --include='*.c' --include='*.h' --include='*.S' "$n" "$src/src" "$src/ports" |
               { grep -vE "#[[:space:]]*define[[:space:]]+$n\b|^[^:]*:[0-9]+:static inline [^(]*\b$n\(" || true; } | wc -l)
        if [ "$uses" -eq 0 ]; then
            echo "FAIL: $n (${h#"$src"/}) is defined but never used" >&2
            fails=$((fails + 1))
        fi
    done
done
[ "$fails" -eq 0 ] || exit 1
echo "dead code: every macro and inline function of src/*.h is used"
