# SPDX-License-Identifier: Apache-2.0 OR MIT
# Dropping libk23mem into a kernel with its own build (ctest label
# "release"): the amalgamation and the core-only archive linked into a
# riscv64 lp64d test kernel with an out-of-tree port and booted under
# QEMU (tests/release/dropin.sh), and the module table of docs/porting.md
# checked against the code (tests/release/module_table.sh), and the
# options' errors (tests/release/option_errors.sh). The plain
# hosted tree only: the cross builds do not change with its sanitizers.
if(NOT K23_PORT_HOSTED OR K23_SANITIZE)
  return()
endif()
add_test(NAME release_dropin_option_errors
  COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/option_errors.sh"
          "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-option-errors")
set_tests_properties(release_dropin_option_errors PROPERTIES LABELS "release" TIMEOUT 300)
find_program(K23_DROPIN_CC riscv64-unknown-elf-gcc)
find_program(K23_DROPIN_QEMU qemu-system-riscv64)
if(NOT K23_DROPIN_CC OR NOT K23_DROPIN_QEMU)
  message(STATUS "drop-in kernel and module table tests skipped (need riscv64-unknown-elf-gcc and qemu-system-riscv64; see scripts/deps.d/kernel)")
  return()
endif()
add_test(NAME release_dropin_kernel_rv64
  COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/dropin.sh"
          "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-dropin")
set_tests_properties(release_dropin_kernel_rv64 PROPERTIES LABELS "release" TIMEOUT 300)
add_test(NAME release_module_table
  COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/module_table.sh" check
          "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-module-table")
set_tests_properties(release_module_table PROPERTIES LABELS "release" TIMEOUT 300)
