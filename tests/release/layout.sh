#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The installed headers do not depend on the port: every public structure
# has the same size, alignment, field offsets and field types
#  - as a program sees it (the installed headers alone), and
#  - as the library sees it when built for each port (src/internal.h, which
#    includes the port's private k23_port_config.h, then the public
#    headers, with the port's folder on the include path),
# for each architecture the ports build for (x86_64, aarch64, riscv64,
# wasm32). Equal to the program's view for every port means equal between
# the ports, e.g. the hosted and the kernel builds of aarch64.
#
# The layouts are clang's own record dumps (-fdump-record-layouts-complete:
# every complete record, nested fields included), so nothing is listed by
# hand and a new structure or field is covered as it lands.
#
# Usage: layout.sh SOURCE_DIR SCRATCH_DIR [EXTRA_PORT_DIR...]
# Extra port folders are checked like the in-tree ones (the suite passes a
# deliberately broken one to show that a difference is caught). Exit 0: all
# equal; 1: a difference (printed); 77: no clang.
set -euo pipefail
src="$1"; scratch="$2"; shift 2
cc="${K23_LAYOUT_CC:-clang}"
command -v "$cc" >/dev/null || { echo "layout: $cc not found" >&2; exit 77; }
rm -rf "$scratch"; mkdir -p "$scratch"

ports=()
for d in "$src"/ports/*/; do
    [ -f "$d/k23_port_config.h" ] && ports+=("${d%/}")
done
ports+=("$@")
[ "${#ports[@]}" -ge 3 ] || { echo "layout: fewer than 3 ports found" >&2; exit 1; }

# One translation unit with every installed header.
{
    for h in "$src"/include/k23mem/*.h; do
        echo "#include \"k23mem/$(basename "$h")\""
    done
} >"$scratch/public.c"
{ echo '#include "internal.h"'; cat "$scratch/public.c"; } >"$scratch/library.c"

# The records of a dump, one line each (name, then the block with its
# lines joined by \037), sorted by name, into $1.sorted; only the records
# named in the file $2 when given. Compiler-internal records (__*) go.
records() {
    awk -v keep="${2:-}" '
        BEGIN { if (keep != "") while ((getline l < keep) > 0) want[l] = 1 }
        function flush() {
            if (name != "" && name !~ /^(struct|union) __/ &&
                (keep == "" || name in want) && !(name in seen)) {
                seen[name] = 1
                print name "\t" block
            }
            name = ""; block = ""
        }
        /^\*\*\* Dumping AST Record Layout/ { flush(); next }
        /^[[:space:]]*$/ { next }
        {
            if (name == "") { name = $0; sub(/^ *0 \| /, "", name) }
            block = block $0 "\037"
        }
        END { flush() }' "$1" | LC_ALL=C sort >"$1.sorted"
}

dump() { # target out-file extra-flags...
    local target="$1" out="$2"; shift 2
    "$cc" --target="$target" -ffreestanding -std=c11 -fsyntax-only \
        -Xclang -fdump-record-layouts-complete -I"$src/include" "$@" \
        >"$out" 2>"$out.err" || { cat "$out.err" >&2; return 1; }
}

fail=0
for target in x86_64-unknown-linux-gnu aarch64-unknown-none-elf \
              riscv64-unknown-elf wasm32-unknown-unknown; do
    dir="$scratch/$target"; mkdir -p "$dir"
    dump "$target" "$dir/program" "$scratch/public.c"
    records "$dir/program"
    # The names of the program-visible records; a sanity floor so that an
    # empty or broken dump cannot pass.
    cut -f1 "$dir/program.sorted" >"$dir/names"
    for r in "struct k23_frames" "struct k23_kmem" "struct k23_mblock" \
             "union k23_port_lock" "struct k23_frames_pcpu"; do
        grep -qx "$r" "$dir/names" || { echo "layout: $target: no $r in the dump" >&2; exit 1; }
    done
    n=$(wc -l <"$dir/names")
    [ "$n" -ge 20 ] || { echo "layout: $target: only $n records" >&2; exit 1; }
    target_fail=0
    for p in "${ports[@]}"; do
        shown=${p#"$src"/}; shown=${shown#ports/}; name=${shown//\//_}
        dump "$target" "$dir/lib-$name" -I"$p" -I"$src/src" "$scratch/library.c"
        records "$dir/lib-$name" "$dir/names"
        if ! diff -u --label "program ($target)" --label "library, port $p ($target)" \
                <(tr '\037' '\n' <"$dir/program.sorted") \
                <(tr '\037' '\n' <"$dir/lib-$name.sorted") >"$dir/diff-$name"; then
            echo "layout: $target: the public structures differ between a program and the library built for port $shown:" >&2
            head -n 60 "$dir/diff-$name" >&2
            target_fail=1 fail=1
        fi
    done
    [ "$target_fail" = 1 ] ||
        echo "layout: $target: $n public records, the same for a program and the ports:$(for p in "${ports[@]}"; do q=${p#"$src"/}; printf ' %s' "${q#ports/}"; done)"
done
exit "$fail"
