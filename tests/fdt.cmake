# SPDX-License-Identifier: Apache-2.0 OR MIT
# Device-tree memory map (src/fdt_memmap.c): test DTBs compiled from
# tests/fdt/*.dts with dtc, the Criterion suite's DTB folder, the tool's
# tests, the QEMU virt maps, the libFuzzer target and the freestanding
# build of the module.
# Only where the module is built (the wasm32 port excludes it) and the
# tests can run (hosted).
if(NOT K23_PORT_HOSTED OR "fdt_memmap.c" IN_LIST K23_CORE_EXCLUDE)
  return()
endif()

find_program(K23_DTC dtc)
if(NOT K23_DTC)
  message(FATAL_ERROR "dtc not found: apt-get install device-tree-compiler (scripts/test does this)")
endif()

set(K23_FDT_DTB_DIR "${CMAKE_CURRENT_BINARY_DIR}/fdt")
file(MAKE_DIRECTORY "${K23_FDT_DTB_DIR}")
file(GLOB K23_FDT_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/fdt/*.dts")
set(K23_FDT_DTBS "")
foreach(_dts IN LISTS K23_FDT_SOURCES)
  get_filename_component(_name "${_dts}" NAME_WE)
  set(_dtb "${K23_FDT_DTB_DIR}/${_name}.dtb")
  # Malformed sources are malformed on purpose: -f makes dtc write them.
  set(_force "")
  if(_name MATCHES "^bad-")
    set(_force -f)
  endif()
  add_custom_command(OUTPUT "${_dtb}"
    COMMAND "${K23_DTC}" -q ${_force} -I dts -O dtb -o "${_dtb}" "${_dts}"
    DEPENDS "${_dts}" COMMENT "dtc ${_name}.dts" VERBATIM)
  list(APPEND K23_FDT_DTBS "${_dtb}")
endforeach()
add_custom_target(k23_fdt_dtbs ALL DEPENDS ${K23_FDT_DTBS})

if(TARGET test_fdt_memmap)
  add_dependencies(test_fdt_memmap k23_fdt_dtbs)
  target_compile_definitions(test_fdt_memmap PRIVATE
    K23_FDT_DTB_DIR="${K23_FDT_DTB_DIR}")
endif()

# ---- the k23mem-memmap tool and QEMU's virt machines ----
if(TARGET k23mem-memmap)
  add_test(NAME fdt_memmap_tool
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_tool_test.sh"
            "$<TARGET_FILE:k23mem-memmap>" "${K23_FDT_DTB_DIR}"
            "${CMAKE_CURRENT_BINARY_DIR}/fdt-tool")
  set_tests_properties(fdt_memmap_tool PROPERTIES LABELS "tool" TIMEOUT 120)

  # 128,000 regions (issue 14): the timeout is what fails a quadratic
  # planner (167 s); the script checks the answers. A sub-second run is
  # measured by hand, not here.
  add_test(NAME fdt_memmap_tool_big
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_tool_big.sh"
            "$<TARGET_FILE:k23mem-memmap>" "${K23_DTC}"
            "${CMAKE_CURRENT_BINARY_DIR}/fdt-tool-big")
  set_tests_properties(fdt_memmap_tool_big PROPERTIES LABELS "tool" TIMEOUT 20)

  # Error paths with leak detection: the AddressSanitizer tree runs label
  # "leaks" beside "unit".
  add_test(NAME fdt_memmap_tool_errors
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_tool_errors.sh"
            "$<TARGET_FILE:k23mem-memmap>" "${K23_FDT_DTB_DIR}"
            "${CMAKE_CURRENT_BINARY_DIR}/fdt-tool-errors")
  set_tests_properties(fdt_memmap_tool_errors PROPERTIES LABELS "tool;leaks"
    TIMEOUT 120)

  find_program(K23_QEMU_AARCH64 qemu-system-aarch64)
  find_program(K23_QEMU_RISCV64 qemu-system-riscv64)
  if(K23_QEMU_AARCH64 AND K23_QEMU_RISCV64)
    add_test(NAME fdt_memmap_qemu_virt
      COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_qemu.sh"
              "$<TARGET_FILE:k23mem-memmap>" "${CMAKE_CURRENT_BINARY_DIR}/fdt-qemu")
    set_tests_properties(fdt_memmap_qemu_virt PROPERTIES LABELS "qemu" TIMEOUT 300)
  else()
    message(STATUS "fdt: qemu-system-aarch64/riscv64 missing, QEMU virt map test skipped")
  endif()
endif()

# ---- libFuzzer over the parser (plain build, clang with libFuzzer only) ----
# cmake/k23-fuzz.cmake holds the probe and the rule; the seeds are the DTBs
# compiled above plus tests/fuzz/corpus. 30 s from a fresh working corpus.
include("${PROJECT_SOURCE_DIR}/cmake/k23-fuzz.cmake")
# libfdt itself is instrumented too, so that a read past the blob inside
# libfdt is caught where it happens: Linux's copy of libfdt (the one the
# riscv64 kernel build uses, fetched by ports/kernel/fetch-libfdt.sh into
# this tree's kernel-deps folder, never into the source tree) compiled
# with the fuzz target's sanitizers. Linux leaves out fdt_check.c, so
# fdt_check_full() is the kernel port's (ports/kernel/riscv64). Debian's
# source package would be the closer match to the hosted -lfdt, but its
# tarballs are not on every mirror (deb.debian.org's proxy here answers
# 404); without apt-get and dpkg-deb the target falls back to -lfdt.
k23_fuzz_probe(_k23_fuzz_ok)
find_program(K23_FUZZ_APT apt-get)
find_program(K23_FUZZ_DPKG dpkg-deb)
set(_fuzz_fdt_libs LIBS -lfdt)
set(_fuzz_fdt_extra "")
if(_k23_fuzz_ok AND K23_FUZZ_APT AND K23_FUZZ_DPKG)
  set(K23_KERNEL_DEPS "${CMAKE_BINARY_DIR}/kernel-deps" CACHE PATH
    "Where the kernel builds keep their private apt index and downloads")
  set(_fuzz_fdt "${CMAKE_CURRENT_BINARY_DIR}/libfdt-fuzz")
  add_custom_command(OUTPUT "${_fuzz_fdt}/lib/libfdt.a"
    COMMAND bash "${PROJECT_SOURCE_DIR}/ports/kernel/fetch-libfdt.sh" source
            "${K23_KERNEL_DEPS}" "${_fuzz_fdt}" "${K23_FUZZ_CLANG}" "${CMAKE_AR}"
            -g -O1 -fsanitize=address,undefined,fuzzer-no-link
            -fno-sanitize-recover=all
    DEPENDS "${PROJECT_SOURCE_DIR}/ports/kernel/fetch-libfdt.sh"
    COMMENT "libfdt with ASan+UBSan for the fuzz target" VERBATIM)
  set(_fuzz_fdt_libs LIB_FILES "${_fuzz_fdt}/lib/libfdt.a"
    INCLUDES "${_fuzz_fdt}/include")
  set(_fuzz_fdt_extra "${PROJECT_SOURCE_DIR}/ports/kernel/riscv64/fdt_check_full.c")
endif()
k23_add_fuzz(NAME fdt_memmap_fuzz TARGET fuzz_fdt_memmap TIME 30 MAX_LEN 4096
  SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_fdt_memmap.c"
          "${PROJECT_SOURCE_DIR}/src/fdt_memmap.c"
          "${PROJECT_SOURCE_DIR}/src/error.c"
          ${_fuzz_fdt_extra}
  ${_fuzz_fdt_libs}
  DEPENDS k23_fdt_dtbs
  SEEDS "${K23_FDT_DTB_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus")
