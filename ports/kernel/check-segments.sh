#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# check-segments.sh IMAGE: the kernel's program headers are what its link
# script promises and what the kernel itself checks at boot: three PT_LOAD
# segments text (R E), rodata (R), data (RW), none writable and executable,
# starting at __text_start, __rodata_start, __data_start, with p_flags equal
# to __text_pflags, __rodata_pflags, __data_pflags.
set -euo pipefail
image="$1"
mapfile -t loads < <(readelf -lW "$image" | grep -E '^ +LOAD ')
[ "${#loads[@]}" -eq 3 ] || { echo "expected 3 LOAD segments, found ${#loads[@]}"; exit 1; }
sym() { nm "$image" | awk -v s="$1" '$3 == s { print $1 }'; }
i=0
for seg in text rodata data; do
    line="${loads[$i]}"
    vaddr=$(echo "$line" | awk '{ print $3 }')
    # Flags are the three characters before the alignment: "R E", "R  ", "RW ".
    flags=$(echo "$line" | sed -E 's/.* ([R ][W ][E ]) 0x[0-9a-f]+$/\1/')
    pf=0
    [ "${flags:0:1}" = R ] && pf=$((pf | 4))
    [ "${flags:1:1}" = W ] && pf=$((pf | 2))
    [ "${flags:2:1}" = E ] && pf=$((pf | 1))
    if [ $((pf & 3)) -eq 3 ]; then echo "segment $seg is writable and executable"; exit 1; fi
    want_pf=$((16#$(sym "__${seg}_pflags")))
    want_va=$((16#$(sym "__${seg}_start")))
    [ "$pf" -eq "$want_pf" ] || { echo "segment $seg: p_flags $pf, link script says $want_pf"; exit 1; }
    [ $((vaddr)) -eq "$want_va" ] || { echo "segment $seg: at $vaddr, __${seg}_start is $want_va"; exit 1; }
    echo "segment $seg at $vaddr flags '$flags' = __${seg}_pflags $want_pf: ok"
    i=$((i + 1))
done
