#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Run one program built by tests/cross/build.sh, through the target's
# emulator when it needs one. Exit status 77 (ctest: skipped) when the
# target could not be built on this machine.
#
#   run.sh OUT_DIR PROGRAM [ARGS...]
#   run.sh --compare OUT_DIR NATIVE_OUT_DIR DTB_DIR
#
# --compare runs cross_check DTB_DIR for the target and natively; both must
# pass, and every "digest" line of the target must equal the native one.
set -uo pipefail

compare=0
if [ "${1:-}" = --compare ]; then compare=1; shift; fi
out="$1"; shift
if [ -f "$out/skip" ]; then
    echo "skipped: $(cat "$out/skip")"
    exit 77
fi
[ -f "$out/emulator" ] || { echo "run.sh: $out was not built" >&2; exit 1; }
runner="$(cat "$out/emulator")"

if [ "$compare" = 0 ]; then
    prog="$1"; shift
    exec ${runner:+"$runner"} "$out/$prog" "$@"
fi

native="$1"; dtbs="$2"
[ ! -f "$native/skip" ] || { echo "native build skipped: $(cat "$native/skip")" >&2; exit 1; }
want="$("$native/cross_check" "$dtbs")" || { echo "$want"; echo "native cross_check failed" >&2; exit 1; }
got="$(${runner:+"$runner"} "$out/cross_check" "$dtbs")"; rc=$?
echo "$got"
[ "$rc" = 0 ] || { echo "cross_check failed (exit $rc)" >&2; exit 1; }
if ! diff <(grep '^digest ' <<<"$want") <(grep '^digest ' <<<"$got"); then
    echo "digests differ from the native build's (< native, > this target)" >&2
    exit 1
fi
echo "digests equal to the native build's"
