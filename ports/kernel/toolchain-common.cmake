# SPDX-License-Identifier: Apache-2.0 OR MIT
# Shared part of ports/kernel/toolchain-<arch>.cmake: a freestanding
# cross build of libk23mem and the example kernels. The arch file sets
# K23_KERNEL_ARCH, K23_KERNEL_CROSS (compiler prefix) and
# K23_KERNEL_ARCH_FLAGS, then includes this file.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR ${K23_KERNEL_ARCH})
# Selects ports/kernel when -DK23_PORT was not given.
set(K23_PORT kernel CACHE STRING "Port binding the core to a host: a folder name under ports/")

find_program(K23_KERNEL_CC NAMES ${K23_KERNEL_CROSS}gcc)
if(NOT K23_KERNEL_CC)
  message(FATAL_ERROR "${K23_KERNEL_CROSS}gcc not found (apt-get install the packages in scripts/deps.d/kernel)")
endif()
set(CMAKE_C_COMPILER "${K23_KERNEL_CC}")
set(CMAKE_ASM_COMPILER "${K23_KERNEL_CC}")
find_program(CMAKE_AR NAMES ${K23_KERNEL_CROSS}ar)
find_program(CMAKE_RANLIB NAMES ${K23_KERNEL_CROSS}ranlib)
# Nothing can be linked before the kernel's own link script exists.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# The Linux-targeted cross gcc would search the build machine's
# /usr/include: -nostdinc, then only the compiler's own headers (stddef,
# stdint, stdarg, limits, ...). Some gcc builds keep limits.h in
# include-fixed. gcc's limits.h chains to the C library's own unless
# _LIBC_LIMITS_H_ is defined; defined, it gives the C11 freestanding set.
execute_process(COMMAND "${K23_KERNEL_CC}" -print-file-name=include
  OUTPUT_VARIABLE K23_KERNEL_CC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND "${K23_KERNEL_CC}" -print-file-name=include-fixed
  OUTPUT_VARIABLE _k23_fixed OUTPUT_STRIP_TRAILING_WHITESPACE)
set(_k23_sysinc "-isystem ${K23_KERNEL_CC_INCLUDE}")
if(IS_ABSOLUTE "${_k23_fixed}" AND EXISTS "${_k23_fixed}/limits.h")
  string(APPEND _k23_sysinc " -isystem ${_k23_fixed}")
endif()
# libgcc (for the odd helper such as __bswapdi2) must match the ABI; the
# arch file may name simpler flags for picking the multilib.
if(NOT K23_KERNEL_LIBGCC_FLAGS)
  set(K23_KERNEL_LIBGCC_FLAGS "${K23_KERNEL_ARCH_FLAGS}")
endif()
separate_arguments(_k23_arch_flags UNIX_COMMAND "${K23_KERNEL_LIBGCC_FLAGS}")
execute_process(COMMAND "${K23_KERNEL_CC}" ${_k23_arch_flags} -print-libgcc-file-name
  OUTPUT_VARIABLE K23_KERNEL_LIBGCC OUTPUT_STRIP_TRAILING_WHITESPACE)

set(_k23_kernel_flags "-ffreestanding -nostdinc ${_k23_sysinc} -D_LIBC_LIMITS_H_ -fno-stack-protector -fno-pic -fno-pie -fno-common -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-omit-frame-pointer ${K23_KERNEL_ARCH_FLAGS}")
set(CMAKE_C_FLAGS_INIT "${_k23_kernel_flags}")
set(CMAKE_ASM_FLAGS_INIT "${_k23_kernel_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack")
