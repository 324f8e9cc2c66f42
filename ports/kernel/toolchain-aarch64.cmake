# SPDX-License-Identifier: Apache-2.0 OR MIT
# CMake toolchain file: libk23mem's kernel port for aarch64 (QEMU virt).
#   cmake -S . -B build-kernel-aarch64 -DCMAKE_TOOLCHAIN_FILE=ports/kernel/toolchain-aarch64.cmake
# -mstrict-align: with the MMU off all memory is Device memory, where
# unaligned accesses fault on hardware (QEMU does not check).
# -mno-outline-atomics: GCC would call libgcc's LSE helpers, which need
# the Linux auxiliary vector.
set(K23_KERNEL_ARCH aarch64)
set(K23_KERNEL_CROSS aarch64-linux-gnu-)
set(K23_KERNEL_ARCH_FLAGS "-march=armv8-a -mstrict-align -mno-outline-atomics -mcmodel=small")
include("${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake")
