# SPDX-License-Identifier: Apache-2.0 OR MIT
# The freestanding guarantee: every src/*.c compiles with -ffreestanding
# against the compiler's own headers only, and calls nothing outside
# libk23mem and the port. Modules built on libfdt (which brings its own
# env header) are checked by their own test (tests/fdt*.cmake) instead.
file(GLOB _fs_all CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/*.c")
set(_fs_sources "")
foreach(_src IN LISTS _fs_all)
  file(STRINGS "${_src}" _uses_fdt REGEX "#[ \t]*include[ \t]*<libfdt")
  if(NOT _uses_fdt)
    list(APPEND _fs_sources "${_src}")
  endif()
endforeach()
string(REPLACE ";" "|" _fs_sources_arg "${_fs_sources}")

find_program(K23_GCC gcc)
find_program(K23_CLANG clang)
find_program(K23_NM nm)
find_program(K23_LLVM_NM NAMES llvm-nm llvm-nm-14)

if(K23_GCC AND K23_NM)
  add_test(NAME freestanding_gcc_host
    COMMAND ${CMAKE_COMMAND} -DCC=${K23_GCC} -DNM=${K23_NM} -DROOT=${PROJECT_SOURCE_DIR}
            -DOUT=${CMAKE_CURRENT_BINARY_DIR}/freestanding/gcc "-DSOURCES=${_fs_sources_arg}"
            -P ${PROJECT_SOURCE_DIR}/cmake/freestanding-check.cmake)
  set_tests_properties(freestanding_gcc_host PROPERTIES LABELS "freestanding")
  # The check must be able to fail: a hosted header and a hand-declared
  # libc call are each rejected.
  foreach(_bad bad_hosted_header bad_libc_call)
    add_test(NAME freestanding_rejects_${_bad}
      COMMAND ${CMAKE_COMMAND} -DCC=${K23_GCC} -DNM=${K23_NM} -DROOT=${PROJECT_SOURCE_DIR}
              -DOUT=${CMAKE_CURRENT_BINARY_DIR}/freestanding/bad
              -DSOURCES=${PROJECT_SOURCE_DIR}/tests/freestanding/${_bad}.c
              -P ${PROJECT_SOURCE_DIR}/cmake/freestanding-check.cmake)
    set_tests_properties(freestanding_rejects_${_bad} PROPERTIES LABELS "freestanding" WILL_FAIL TRUE)
  endforeach()
endif()
if(K23_CLANG AND K23_LLVM_NM)
  add_test(NAME freestanding_clang_wasm32
    COMMAND ${CMAKE_COMMAND} -DCC=${K23_CLANG} -DNM=${K23_LLVM_NM} -DROOT=${PROJECT_SOURCE_DIR}
            -DOUT=${CMAKE_CURRENT_BINARY_DIR}/freestanding/wasm32 "-DSOURCES=${_fs_sources_arg}"
            -DEXTRA_FLAGS=--target=wasm32-unknown-unknown
            -P ${PROJECT_SOURCE_DIR}/cmake/freestanding-check.cmake)
  set_tests_properties(freestanding_clang_wasm32 PROPERTIES LABELS "freestanding")
endif()
