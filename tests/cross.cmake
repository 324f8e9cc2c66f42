# SPDX-License-Identifier: Apache-2.0 OR MIT
# The host-independent modules -- run search (src/bitmap.c), ranges,
# permissions, slab layout, device-tree memory map -- built for other CPUs
# and run there (ctest label "cross"): i386 for a 32-bit size_t, s390x for
# big-endian (the run search's byte-swapping loads run nowhere else).
# tests/cross/build.sh builds, per target, tests/cross/cross_check.c (its
# own checks against naive references; its digests must equal the native
# build's) and the Criterion suites of those modules on the wasm32 tests'
# Criterion stand-in. A target whose compiler or emulator is missing is
# reported as skipped (exit 77); scripts/deps.d/cross installs them.
# Plain hosted tree; the AddressSanitizer tree builds cross_check natively
# with ASan+UBSan (libfdt too) and compares it with the plain native build.
if(NOT K23_PORT_HOSTED OR "fdt_memmap.c" IN_LIST K23_CORE_EXCLUDE)
  return()
endif()
set(_cross_targets i386 s390x)
if(K23_SANITIZE MATCHES "address")
  set(_cross_targets native-asan)
elseif(K23_SANITIZE)
  return()
endif()
option(K23_CROSS_TESTS "Build the host-independent modules for i386 and s390x and run them (label cross)" ON)
if(NOT K23_CROSS_TESTS)
  return()
endif()

set(K23_KERNEL_DEPS "${CMAKE_BINARY_DIR}/kernel-deps" CACHE PATH
  "Where the kernel builds keep their private apt index and downloads")
# tests/fdt.cmake compiles the DTBs there (target k23_fdt_dtbs).
set(_cross_dtbs "${CMAKE_CURRENT_BINARY_DIR}/fdt")
set(_cross_dir "${CMAKE_BINARY_DIR}/cross")
set(_cross_units error range perm slab_layout fdt_memmap)
file(GLOB _cross_deps CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/src/*.c" "${PROJECT_SOURCE_DIR}/src/*.h"
  "${PROJECT_SOURCE_DIR}/include/k23mem/*.h"
  "${CMAKE_CURRENT_SOURCE_DIR}/cross/*"
  "${CMAKE_CURRENT_SOURCE_DIR}/ports/wasm32/criterion_shim.c"
  "${CMAKE_CURRENT_SOURCE_DIR}/ports/wasm32/criterion/criterion.h")
foreach(_m IN LISTS _cross_units)
  list(APPEND _cross_deps "${CMAKE_CURRENT_SOURCE_DIR}/test_${_m}.c")
endforeach()
list(APPEND _cross_deps "${PROJECT_SOURCE_DIR}/ports/kernel/fetch-libfdt.sh"
  "${PROJECT_SOURCE_DIR}/ports/kernel/riscv64/fdt_check_full.c")

set(_cross_stamps "")
foreach(_t native ${_cross_targets})
  add_custom_command(OUTPUT "${_cross_dir}/${_t}/stamp"
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/cross/build.sh" ${_t}
            "${PROJECT_SOURCE_DIR}" "${_cross_dir}/${_t}" "${K23_KERNEL_DEPS}"
            "${_cross_dtbs}"
    DEPENDS ${_cross_deps}
    COMMENT "test programs of the host-independent modules for ${_t}" VERBATIM)
  list(APPEND _cross_stamps "${_cross_dir}/${_t}/stamp")
endforeach()
add_custom_target(k23_cross_tests ALL DEPENDS ${_cross_stamps})

foreach(_t IN LISTS _cross_targets)
  add_test(NAME cross_${_t}_check
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/cross/run.sh" --compare
            "${_cross_dir}/${_t}" "${_cross_dir}/native" "${_cross_dtbs}")
  set(_names cross_${_t}_check)
  # (the suites themselves already run under ASan as Criterion programs)
  foreach(_m IN LISTS _cross_units)
    if(_t STREQUAL "native-asan")
      break()
    endif()
    add_test(NAME cross_${_t}_unit_${_m}
      COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/cross/run.sh"
              "${_cross_dir}/${_t}" unit_${_m})
    list(APPEND _names cross_${_t}_unit_${_m})
  endforeach()
  set_tests_properties(${_names} PROPERTIES LABELS "cross" TIMEOUT 300
    SKIP_RETURN_CODE 77)
endforeach()
