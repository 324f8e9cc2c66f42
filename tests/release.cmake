# SPDX-License-Identifier: Apache-2.0 OR MIT
# Release checks (ctest label "release"): the ABI the shared library
# exports, and the installed headers in C and C++ consumers.
if(K23_PORT_HOSTED AND TARGET k23mem_shared AND NOT K23_SANITIZE)
  add_test(NAME release_abi_exports
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/abi.sh"
            "${PROJECT_BINARY_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-abi")
  set_tests_properties(release_abi_exports PROPERTIES LABELS "release" TIMEOUT 120)
endif()
if(K23_PORT_HOSTED AND TARGET k23mem_shared AND NOT K23_SANITIZE)
  add_test(NAME release_consumers_c_cxx
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/consumers.sh"
            "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-consumers")
  set_tests_properties(release_consumers_c_cxx PROPERTIES LABELS "release" TIMEOUT 300)
endif()
# A library-only tree (BUILD_TESTING=OFF, K23_BUILD_TOOLS=OFF) configures
# and builds without anything the tests need.
if(K23_PORT_HOSTED AND NOT K23_SANITIZE)
  add_test(NAME release_library_only_build
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/library_only.sh"
            "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-library-only")
  set_tests_properties(release_library_only_build PROPERTIES LABELS "release" TIMEOUT 600)
endif()
# The README's static-linking recipe (k23mem-static.pc, cc -static).
if(K23_PORT_HOSTED AND NOT K23_SANITIZE)
  add_test(NAME release_static_link
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/static.sh"
            "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-static")
  set_tests_properties(release_static_link PROPERTIES LABELS "release" TIMEOUT 120)
endif()
# Debian packages (cpack -G DEB) unpacked into a scratch root.
if(K23_PORT_HOSTED AND TARGET k23mem_shared AND NOT K23_SANITIZE)
  add_test(NAME release_deb_packages
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/deb.sh"
            "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-deb")
  set_tests_properties(release_deb_packages PROPERTIES LABELS "release" TIMEOUT 900)
endif()
# The installed tools: --version, man pages, one exit-status convention.
if(K23_PORT_HOSTED AND K23_BUILD_TOOLS AND NOT K23_SANITIZE)
  add_test(NAME release_tools_version_man
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/tools.sh"
            "${PROJECT_BINARY_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-tools")
  set_tests_properties(release_tools_version_man PROPERTIES LABELS "release" TIMEOUT 120)
endif()
# examples/ as a standalone project against the install prefix.
if(K23_PORT_HOSTED AND NOT K23_SANITIZE)
  add_test(NAME release_examples_standalone
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/examples.sh"
            "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-examples")
  set_tests_properties(release_examples_standalone PROPERTIES LABELS "release" TIMEOUT 300)
endif()
# Doc claims that drifted once (hook count, CMake options, seed labels).
add_test(NAME release_docs_claims
  COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/docs_claims.sh" "${PROJECT_SOURCE_DIR}")
set_tests_properties(release_docs_claims PROPERTIES LABELS "release" TIMEOUT 60)
# Macros and inline helpers of src/*.h that nothing uses.
add_test(NAME release_dead_code
  COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/dead_code.sh" "${PROJECT_SOURCE_DIR}")
set_tests_properties(release_dead_code PROPERTIES LABELS "release" TIMEOUT 60)
# Every measured figure in README.md and docs/*.md quotes a command and a
# date; no test counts in prose (rule: docs/testing.md, "Figures in the
# docs"). The self-test plants violations and must see each reported.
add_test(NAME release_docs_figures
  COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/docs_figures.sh" "${PROJECT_SOURCE_DIR}")
set_tests_properties(release_docs_figures PROPERTIES LABELS "release" TIMEOUT 60)
add_test(NAME release_docs_figures_selftest
  COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/docs_figures_selftest.sh")
set_tests_properties(release_docs_figures_selftest PROPERTIES LABELS "release" TIMEOUT 60)
# The installed headers do not depend on the port: every public structure
# is laid out the same for a program and for the library built for each
# port (the in-tree ones and the out-of-tree test port of
# tests/release/dropin), on every architecture the ports build for
# (clang's record dumps).
# The second entry feeds it a port whose private header leaves a packing
# pragma on: the check must catch it.
find_program(K23_LAYOUT_CLANG clang)
if(K23_LAYOUT_CLANG)
  add_test(NAME release_layout_port_independent
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/layout.sh"
            "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-layout"
            "${PROJECT_SOURCE_DIR}/tests/release/dropin/port")
  set_tests_properties(release_layout_port_independent PROPERTIES LABELS "release"
    TIMEOUT 120 SKIP_RETURN_CODE 77 ENVIRONMENT "K23_LAYOUT_CC=${K23_LAYOUT_CLANG}")
  add_test(NAME release_layout_detects_leaky_port
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/layout.sh"
            "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/release-layout-leaky"
            "${PROJECT_SOURCE_DIR}/tests/release/layout_leaky_port")
  set_tests_properties(release_layout_detects_leaky_port PROPERTIES LABELS "release"
    TIMEOUT 120 ENVIRONMENT "K23_LAYOUT_CC=${K23_LAYOUT_CLANG}"
    PASS_REGULAR_EXPRESSION "aarch64-unknown-none-elf: the public structures differ between a program and the library built for port tests/release/layout_leaky_port")
endif()
