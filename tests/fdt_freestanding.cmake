# SPDX-License-Identifier: Apache-2.0 OR MIT
# src/fdt_memmap.c in a freestanding build, as the kernel port compiles it:
# compiler headers, ports/freestanding-include/libfdt_env.h and libfdt's
# own two headers only (tests/fdt_freestanding.sh). The project's general
# freestanding check skips files that include libfdt.h; this one owns them.
find_path(K23_FDT_FS_INCLUDE libfdt.h)
find_program(K23_FDT_FS_GCC gcc)
find_program(K23_FDT_FS_CLANG clang)
if(K23_FDT_FS_INCLUDE)
  set(_fs_work "${CMAKE_CURRENT_BINARY_DIR}/fdt-freestanding")
  if(K23_FDT_FS_GCC)
    add_test(NAME fdt_freestanding_gcc
      COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_freestanding.sh"
              "${PROJECT_SOURCE_DIR}" "${_fs_work}/gcc" "${K23_FDT_FS_INCLUDE}"
              "${K23_FDT_FS_GCC}")
    set_tests_properties(fdt_freestanding_gcc PROPERTIES LABELS "freestanding")
  endif()
  if(K23_FDT_FS_CLANG)
    add_test(NAME fdt_freestanding_wasm32
      COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_freestanding.sh"
              "${PROJECT_SOURCE_DIR}" "${_fs_work}/wasm32" "${K23_FDT_FS_INCLUDE}"
              "${K23_FDT_FS_CLANG}" wasm32)
    set_tests_properties(fdt_freestanding_wasm32 PROPERTIES LABELS "freestanding")
  endif()
endif()
