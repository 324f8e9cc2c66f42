#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Every source, header, script and CMake file of the project carries an
# SPDX-License-Identifier line within its first three lines.
#   spdx.sh check ROOT   list the files without one; exit 1 if any
#   spdx.sh add ROOT     add the line where it is missing
set -euo pipefail
mode="$1"; root="$2"
id="SPDX-License-Identifier: Apache-2.0 OR MIT"
cd "$root"

files() {
    git ls-files -- '*.c' '*.h' '*.S' '*.ld' '*.cmake' '*.sh' '*.mjs' \
        '*CMakeLists.txt' '*.in' scripts/test scripts/demo scripts/lib.sh \
        ports/kernel/qemu-run .ci/run 2>/dev/null | sort -u
}

comment_for() { # the line to add, in the file's comment syntax
    case "$1" in
        *.c|*.h|*.S|*.ld) echo "/* $id */" ;;
        *.mjs) echo "// $id" ;;
        *) echo "# $id" ;;
    esac
}

missing=0
while IFS= read -r f; do
    [ -f "$f" ] || continue
    if head -n 3 "$f" | grep -q "SPDX-License-Identifier: Apache-2.0 OR MIT"; then
        continue
    fi
    if [ "$mode" = check ]; then
        echo "no SPDX line: $f"; missing=$((missing + 1)); continue
    fi
    line=$(comment_for "$f")
    if head -n 1 "$f" | grep -q '^#!'; then
        { head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } > "$f.spdx"
    else
        { echo "$line"; cat "$f"; } > "$f.spdx"
    fi
    chmod --reference="$f" "$f.spdx"; mv "$f.spdx" "$f"
done < <(files)
if [ "$mode" = check ]; then
    [ "$missing" -eq 0 ] || { echo "$missing files without an SPDX line" >&2; exit 1; }
    echo "spdx: every file has its SPDX line"
fi
