#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Install libk23mem into a temporary prefix, then build and run a separate
# program against it twice: with pkg-config and with find_package.
# Usage: check.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build="$1"; src="$2"; scratch="$3"
rm -rf "$scratch"; mkdir -p "$scratch"
prefix="$scratch/prefix"
cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
test -f "$prefix/include/k23mem/k23mem.h"
# The port's configuration is private: nothing installed may need it.
test ! -e "$prefix/include/k23_port_config.h" || { echo "k23_port_config.h installed" >&2; exit 1; }
if grep -rlE '#[[:space:]]*include[[:space:]]*[<"]k23_port_config' "$prefix/include"; then
    echo "installed headers include the port's private configuration" >&2; exit 1
fi
libdir=$(dirname "$(find "$prefix" -name k23mem.pc | head -n1)")/..
test -f "$libdir/libk23mem.a"
test -e "$libdir/libk23mem.so"
test -f "$prefix/include/k23mem/version.h"
docdir="$prefix/share/doc/k23mem"
test -f "$docdir/LICENSE-APACHE" && test -f "$docdir/LICENSE-MIT" && test -f "$docdir/CHANGELOG.md"

# One version everywhere: project, version.h, k23mem.pc, SONAME.
version=$(sed -n 's/^#define K23MEM_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/k23mem/version.h")
test -n "$version"
test "$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --modversion k23mem)" = "$version"
soname=$(readelf -d "$libdir/libk23mem.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
test "$soname" = "libk23mem.so.${version%.*}" || { echo "SONAME $soname for version $version" >&2; exit 1; }

# 1. pkg-config, static and shared
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror -o "$scratch/consumer_pc" "$src/tests/install/consumer.c" \
    $(pkg-config --cflags --libs k23mem)
LD_LIBRARY_PATH="$libdir" "$scratch/consumer_pc"
cc -std=c11 -Wall -Wextra -Werror -o "$scratch/consumer_pc_static" "$src/tests/install/consumer.c" \
    $(pkg-config --cflags k23mem) -Wl,-Bstatic $(pkg-config --libs-only-L --libs-only-l k23mem) -Wl,-Bdynamic \
    $(pkg-config --static --libs-only-other k23mem) $(pkg-config --static --libs k23mem | tr ' ' '\n' | grep -v -- -lk23mem | tr '\n' ' ')
"$scratch/consumer_pc_static"
if ldd "$scratch/consumer_pc_static" | grep -q libk23mem; then
    echo "static consumer linked the shared library" >&2; exit 1
fi

# 2. find_package
cmake -S "$src/tests/install" -B "$scratch/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" >"$scratch/consumer.log"
cmake --build "$scratch/cmake-consumer" >>"$scratch/consumer.log"
LD_LIBRARY_PATH="$libdir" "$scratch/cmake-consumer/consumer_shared"
"$scratch/cmake-consumer/consumer_static"
echo "install check: pkg-config and find_package consumers built and ran"
