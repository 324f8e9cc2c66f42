# SPDX-License-Identifier: Apache-2.0 OR MIT
# The example kernel for K23_KERNEL_ARCH, linked with libk23mem built for
# the kernel port and with libfdt fetched into the build folder.
# Included by tests/kernel.cmake when K23_PORT=kernel.
enable_language(ASM)
set(_k23k "${PROJECT_SOURCE_DIR}/ports/kernel")
set(_arch "${K23_KERNEL_ARCH}")

# ---- libfdt for the target (never committed; fetched at build time) ----
set(K23_KERNEL_DEPS "${CMAKE_BINARY_DIR}/kernel-deps" CACHE PATH
  "Where fetch-libfdt.sh keeps its private apt index and downloads")
set(K23_LIBFDT_DIR "${CMAKE_BINARY_DIR}/libfdt")
separate_arguments(_fdt_cflags UNIX_COMMAND
  "${CMAKE_C_FLAGS} -O2 -w -I${PROJECT_SOURCE_DIR}/ports/freestanding-include")
add_custom_command(
  OUTPUT "${K23_LIBFDT_DIR}/lib/libfdt.a" "${K23_LIBFDT_DIR}/include/libfdt.h"
  COMMAND "${_k23k}/fetch-libfdt.sh" "${_arch}" "${K23_KERNEL_DEPS}"
          "${K23_LIBFDT_DIR}" "${CMAKE_C_COMPILER}" "${CMAKE_AR}" ${_fdt_cflags}
  DEPENDS "${_k23k}/fetch-libfdt.sh"
  COMMENT "Fetching libfdt for ${_arch}"
  VERBATIM)
add_custom_target(k23_libfdt_fetch DEPENDS "${K23_LIBFDT_DIR}/lib/libfdt.a")
add_library(k23_libfdt STATIC IMPORTED GLOBAL)
# libfdt calls memchr, strlen, ... which the port's klibc.c defines inside
# libk23mem: list libk23mem again after libfdt on the link line.
set_target_properties(k23_libfdt PROPERTIES
  IMPORTED_LOCATION "${K23_LIBFDT_DIR}/lib/libfdt.a"
  INTERFACE_LINK_LIBRARIES k23mem_static)

# The core may include <libfdt.h> (device-tree module): the port's
# freestanding libfdt_env.h must come first.
target_include_directories(k23mem_objects BEFORE PRIVATE
  "${PROJECT_SOURCE_DIR}/ports/freestanding-include" "${K23_LIBFDT_DIR}/include")
add_dependencies(k23mem_objects k23_libfdt_fetch)
set_target_properties(k23mem_objects PROPERTIES POSITION_INDEPENDENT_CODE OFF)

# ---- the kernel ----
file(GLOB _k23k_common CONFIGURE_DEPENDS "${_k23k}/k23k_*.c")
# riscv64 builds libfdt from Linux's copy, which lacks fdt_check.c.
if(_arch STREQUAL "riscv64")
  list(APPEND _k23k_common "${_k23k}/riscv64/fdt_check_full.c")
endif()
add_executable(k23-kernel
  "${_k23k}/${_arch}/start.S" "${_k23k}/${_arch}/arch.c"
  "${_k23k}/console.c" "${_k23k}/kernel.c" ${_k23k_common})
set_target_properties(k23-kernel PROPERTIES
  OUTPUT_NAME "k23-kernel-${_arch}.elf" SUFFIX ""
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}"
  LINK_DEPENDS "${_k23k}/${_arch}/kernel.ld;${_k23k}/kernel-common.ld")
target_compile_definitions(k23-kernel PRIVATE K23_DEBUG=${K23_DEBUG})
target_include_directories(k23-kernel BEFORE PRIVATE
  "${PROJECT_SOURCE_DIR}/ports/freestanding-include" "${K23_LIBFDT_DIR}/include" "${_k23k}"
  "${PROJECT_SOURCE_DIR}/src")
target_link_options(k23-kernel PRIVATE
  "-T${_k23k}/${_arch}/kernel.ld" "-L${_k23k}")
target_link_libraries(k23-kernel PRIVATE k23mem_static k23_libfdt
  "${K23_KERNEL_LIBGCC}")
add_dependencies(k23-kernel k23_libfdt_fetch)

# Programs written for a hosted port cannot link here: keep them out of
# "all" (they stay buildable by name, and fail, as they should).
foreach(_dir tools examples bench)
  if(EXISTS "${PROJECT_SOURCE_DIR}/${_dir}/CMakeLists.txt")
    get_property(_targets DIRECTORY "${PROJECT_SOURCE_DIR}/${_dir}"
      PROPERTY BUILDSYSTEM_TARGETS)
    foreach(_t IN LISTS _targets)
      get_target_property(_type ${_t} TYPE)
      if(_type STREQUAL "EXECUTABLE")
        set_target_properties(${_t} PROPERTIES EXCLUDE_FROM_ALL ON)
      endif()
    endforeach()
  endif()
endforeach()
