# SPDX-License-Identifier: Apache-2.0 OR MIT
# The wasm32 port: wasm32-wasi with clang and Debian's wasi-libc, run under
# a WASI host (Node's built-in WASI in the tests). Configure with
#   cmake -S . -B build-wasm32 -DK23_PORT=wasm32 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-wasm32-wasi.cmake
set(K23_WASM32_MBLOCK_SHIFT "20" CACHE STRING
    "Default megablock size of the wasm32 port, log2 bytes (16 = 64 KiB .. 31)")
set(K23_PORT_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/port.c"
  "${CMAKE_CURRENT_LIST_DIR}/wasm32_mblock.c"
  "${CMAKE_CURRENT_LIST_DIR}/ghc_osmem.c")
# One thread and no MMU: no lock-free CPU-local steps, no protection keys,
# no page tables to load (port.h's groups).
set(K23_PORT_COMMON pcpu_locked pkey_none mmu_none)
set(K23_PORT_LIBS "")
set(K23_PORT_PC_LIBS "")
# No shared libraries on wasm32-wasi, and no Criterion: the unit suites are
# not built; tests/wasm32.cmake builds the wasm test programs instead.
set(K23_PORT_SHARED OFF)
set(K23_PORT_HOSTED OFF)
set(CMAKE_EXECUTABLE_SUFFIX ".wasm")
add_compile_definitions(K23_WASM32_MBLOCK_SHIFT=${K23_WASM32_MBLOCK_SHIFT})

# Core modules that need libfdt (a hosted library) do not build here.
file(GLOB _k23_fdt_srcs RELATIVE "${PROJECT_SOURCE_DIR}/src"
     "${PROJECT_SOURCE_DIR}/src/fdt*.c")
set(K23_CORE_EXCLUDE ${_k23_fdt_srcs})

# Benchmark modes: only those known to run on wasm32 (an allow-list, so a
# new hosted-only mode cannot break this build).
set(_k23_wasm32_bench_ok bench_megablocks.c bench_runs.c bench_slab.c)
file(GLOB _k23_bench_all RELATIVE "${PROJECT_SOURCE_DIR}/bench"
     "${PROJECT_SOURCE_DIR}/bench/bench_*.c")
set(K23_BENCH_EXCLUDE "")
foreach(_b IN LISTS _k23_bench_all)
  if(NOT _b IN_LIST _k23_wasm32_bench_ok)
    list(APPEND K23_BENCH_EXCLUDE "${_b}")
  endif()
endforeach()

install(FILES "${CMAKE_CURRENT_LIST_DIR}/k23mem_wasm32.h"
              "${CMAKE_CURRENT_LIST_DIR}/ghc_osmem.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
