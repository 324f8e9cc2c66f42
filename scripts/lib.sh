# SPDX-License-Identifier: Apache-2.0 OR MIT
# Shared helpers for scripts/demo and scripts/test. Sourced, not run.
set -euo pipefail

K23_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K23_BUILD="${K23_BUILD:-$K23_ROOT/build}"
K23_JOBS="${K23_JOBS:-$(nproc 2>/dev/null || echo 2)}"

k23_log() { printf '==> %s\n' "$*" >&2; }

# Install the Debian packages listed in scripts/deps.d/<group> (one package
# per line, '#' comments) that are not installed yet. apt-get only runs when
# something is missing; 'apt-get update' runs once, first.
k23_ensure_packages() {
    local want=() missing=() pkg group
    for group in "$@"; do
        [ -f "$K23_ROOT/scripts/deps.d/$group" ] || continue
        while read -r pkg; do
            pkg="${pkg%%#*}"; pkg="$(echo "$pkg" | tr -d '[:space:]')"
            [ -n "$pkg" ] && want+=("$pkg")
        done < "$K23_ROOT/scripts/deps.d/$group"
    done
    for pkg in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        k23_log "installing Debian packages: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

# All dependency groups: every file in scripts/deps.d.
k23_all_dep_groups() {
    local f
    for f in "$K23_ROOT"/scripts/deps.d/*; do basename "$f"; done
}

# Configure and build one build tree: k23_build NAME [cmake args...]
k23_build() {
    local name="$1"; shift
    local dir="$K23_BUILD/$name"
    cmake -S "$K23_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 \
        || { mkdir -p "$dir"; cat "$dir.configure.log" >&2; return 1; }
    cmake --build "$dir" -j "$K23_JOBS" >"$dir.build.log" 2>&1 \
        || { tail -n 60 "$dir.build.log" >&2; return 1; }
}
