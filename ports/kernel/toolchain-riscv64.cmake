# SPDX-License-Identifier: Apache-2.0 OR MIT
# CMake toolchain file: libk23mem's kernel port for riscv64 (QEMU virt).
#   cmake -S . -B build-kernel-riscv64 -DCMAKE_TOOLCHAIN_FILE=ports/kernel/toolchain-riscv64.cmake
# No F/D extensions: kernel code must not touch FP state. medany: the
# kernel runs at 0x80200000, above the 2 GiB that medlow reaches.
set(K23_KERNEL_ARCH riscv64)
set(K23_KERNEL_CROSS riscv64-unknown-elf-)
set(K23_KERNEL_ARCH_FLAGS "-march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany -mno-relax")
# gcc 12's multilib matcher does not know the z* extension suffixes.
set(K23_KERNEL_LIBGCC_FLAGS "-march=rv64imac -mabi=lp64")
include("${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake")
