#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The drop-in options refuse bad values at configure time with a message
# that names the problem: a K23_PORT_DIR without k23_port_config.h, an
# unknown K23_PORT_COMMON group, an unknown module, and K23_MODULES with
# the tests on (they need every module).
# Usage: option_errors.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src="$1"; scratch="$2"
rm -rf "$scratch"; mkdir -p "$scratch/empty-port"
fails=0
# $1: message the configure must print; the rest: cmake arguments.
expect_error() {
    local want="$1"; shift
    local dir="$scratch/b$((++n))"
    if cmake -S "$src" -B "$dir" "$@" >"$dir.log" 2>&1; then
        echo "FAIL: configure with $* succeeded" >&2; fails=$((fails + 1)); return
    fi
    if ! tr -s ' \n' ' ' <"$dir.log" | grep -qF "$want"; then
        echo "FAIL: configure with $* did not say: $want" >&2
        cat "$dir.log" >&2; fails=$((fails + 1))
    fi
}
n=0
lib=(-DBUILD_TESTING=OFF -DK23_BUILD_TOOLS=OFF)
expect_error "K23_PORT_DIR=$scratch/empty-port: no k23_port_config.h there" \
    "${lib[@]}" -DK23_PORT_DIR="$scratch/empty-port"
expect_error "K23_PORT_COMMON: no ports/common/nope.c" "${lib[@]}" -DK23_PORT_COMMON=nope
expect_error "K23_MODULES: no module 'bogus'" "${lib[@]}" -DK23_MODULES=bogus
expect_error "K23_MODULES builds part of the core; the tests and tools need all of it" \
    -DK23_MODULES=frames
[ "$fails" -eq 0 ] || exit 1
echo "option errors: 4 bad configurations refused with their message"
