# SPDX-License-Identifier: Apache-2.0 OR MIT
# The kernel port: libk23mem linked into a freestanding SMP kernel with
# interrupts and paging (docs/kernel.md). Needs a cross toolchain file:
#   cmake -S . -B build-kernel-aarch64 -DCMAKE_TOOLCHAIN_FILE=ports/kernel/toolchain-aarch64.cmake
# The example kernels themselves are declared by ports/kernel/kernel.cmake
# (included through tests/kernel.cmake once the library targets exist).
if(NOT K23_KERNEL_ARCH)
  message(FATAL_ERROR "K23_PORT=kernel needs a cross toolchain: "
    "-DCMAKE_TOOLCHAIN_FILE=ports/kernel/toolchain-aarch64.cmake (or -riscv64)")
endif()
set(K23_PORT_SOURCES "${CMAKE_CURRENT_LIST_DIR}/port.c"
                     "${CMAKE_CURRENT_LIST_DIR}/klibc.c")
# No lock-free CPU-local steps, no protection keys (port.h's groups).
set(K23_PORT_COMMON pcpu_locked pkey_none)
# klibc.c implements memset & co.: the compiler must not turn its loops
# back into calls to them.
set_source_files_properties("${CMAKE_CURRENT_LIST_DIR}/klibc.c" PROPERTIES
  COMPILE_OPTIONS "-fno-builtin;-fno-tree-loop-distribute-patterns")
set(K23_PORT_LIBS "")
set(K23_PORT_PC_LIBS "")
set(K23_PORT_HOSTED OFF)
set(K23_PORT_SHARED OFF)
# Modules that need a hosted virtual-memory service (reserve/commit) cannot
# run here; none of the landed modules does so far.
set(K23_CORE_EXCLUDE "")
# No benchmark runs inside the kernel.
file(GLOB K23_BENCH_EXCLUDE RELATIVE "${PROJECT_SOURCE_DIR}/bench"
  "${PROJECT_SOURCE_DIR}/bench/bench_*.c")
