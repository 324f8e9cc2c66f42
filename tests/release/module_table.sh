#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The module table of docs/porting.md (sources, modules needed, port hooks
# called, other symbols) is what the code gives today: it is written by
# cmake/module-table.cmake from the objects of each module, compiled for
# riscv64 rv64gc lp64d with gcc -O2 and K23_DEBUG=3, and must equal the
# block between the module-table markers. "update" rewrites that block.
# Usage: module_table.sh check|update SOURCE_DIR SCRATCH_DIR
set -euo pipefail
mode="$1"; src="$2"; scratch="$3"
doc="$src/docs/porting.md"
rm -rf "$scratch"; mkdir -p "$scratch/fdt"
# libfdt's headers are target-independent; a private copy keeps the host's
# other headers off the cross compiler's include path.
fdt_h="$(echo '#include <libfdt.h>' | cc -E -M - 2>/dev/null | tr ' \\' '\n\n' | grep '/libfdt\.h$' | head -n1)"
[ -n "$fdt_h" ] || { echo "module_table: libfdt.h not found (libfdt-dev)" >&2; exit 1; }
cp "$fdt_h" "$(dirname "$fdt_h")/fdt.h" "$scratch/fdt/"
cmake -DCC=riscv64-unknown-elf-gcc -DNM=riscv64-unknown-elf-nm \
      "-DCFLAGS=-O2 -march=rv64gc -mabi=lp64d -mcmodel=medany" \
      -DPORT_CONFIG_DIR="$src/tests/release/dropin/port" -DFDT_INCLUDE="$scratch/fdt" \
      -DWORK="$scratch/obj" -DOUT_FILE="$scratch/table.md" \
      -P "$src/cmake/module-table.cmake"
begin='<!-- module-table:begin'
end='<!-- module-table:end -->'
grep -q "^$begin" "$doc" && grep -q "^$end" "$doc" ||
    { echo "module_table: $doc has no module-table markers" >&2; exit 1; }
# The block as documented, without its markers.
awk -v b="$begin" -v e="$end" 'index($0, b) == 1 {on = 1; next} index($0, e) == 1 {on = 0} on' \
    "$doc" >"$scratch/documented.md"
if [ "$mode" = update ]; then
    awk -v b="$begin" -v e="$end" -v t="$scratch/table.md" '
        index($0, b) == 1 {print; while ((getline l < t) > 0) print l; skip = 1; next}
        index($0, e) == 1 {skip = 0}
        !skip' "$doc" >"$scratch/porting.md"
    cp "$scratch/porting.md" "$doc"
    echo "module_table: $doc updated"
    exit 0
fi
if ! diff -u "$scratch/documented.md" "$scratch/table.md"; then
    echo "module_table: docs/porting.md's module table is stale; run" >&2
    echo "  bash tests/release/module_table.sh update . /tmp/k23-module-table" >&2
    exit 1
fi
echo "module_table: docs/porting.md matches the code ($(grep -c '^| `' "$scratch/table.md") modules)"
