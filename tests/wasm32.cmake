# SPDX-License-Identifier: Apache-2.0 OR MIT
# wasm32 port tests (label "wasm"). Two roles, one table:
#  - in a wasm32 tree (-DK23_PORT=wasm32) this file builds the test programs
#    of tests/ports/wasm32/ and registers them with ctest (they run through
#    the toolchain's CMAKE_CROSSCOMPILING_EMULATOR, i.e. Node's WASI);
#  - in the hosted tree it configures and builds such a wasm32 tree of this
#    same project (ExternalProject, in <build>/wasm32) and registers the
#    same tests, so `ctest -L wasm` in the main build runs them.
# Each entry: ctest-name|program|arguments(comma separated)
set(K23_WASM_TESTS
  "wasm_mblock_64k|test_wasm_mblock|16"
  "wasm_mblock_1m|test_wasm_mblock|20"
  "wasm_exhaust_64k|test_wasm_exhaust|16"
  "wasm_exhaust_1m|test_wasm_exhaust|20"
  "wasm_malloc_coexistence|test_wasm_malloc|"
  "wasm_malloc_control|test_wasm_malloc_control|"
  "wasm_ghc_osmem|test_wasm_ghc|"
  "wasm_port|test_wasm_port|"
  "wasm_double_free_panics|test_wasm_doublefree|"
  "wasm_ghc_out_of_memory_exits|test_wasm_ghc_oom|"
  "wasm_bench_megablocks|k23mem-bench|megablocks")
# Expected output instead of exit status 0, for tests that must die.
set(K23_WASM_PASS_wasm_double_free_panics "k23mem panic.*not allocated")
set(K23_WASM_PASS_wasm_bench_megablocks "megablocks.peak_vs_live=[0-9.]+")
# Expected exit status (with K23_WASM_PASS_ as the output to match), for
# tests whose status matters too: run through expect_exit.cmake.
set(K23_WASM_EXIT_wasm_ghc_out_of_memory_exits 251)
set(K23_WASM_PASS_wasm_ghc_out_of_memory_exits
    "k23mem error: out of memory: 3 megablocks requested")

# The core's Criterion suites, rebuilt for wasm32 against a small
# Criterion stand-in (tests/ports/wasm32/criterion/), so the core's
# 32-bit arithmetic runs on a real 32-bit target: tests/test_<module>.c
# becomes program unit_<module> and ctest test wasm_unit_<module>. Suites
# of host-only code are left out.
# An allow-list, not a glob: a new suite that uses host-only APIs (threads,
# mmap, libfdt) must not break the wasm32 tree. Add pure-core suites here.
# (test_bitmap.c maps gigabytes with mmap for its large-index cases.)
set(_k23_wasm_units test_error.c test_range.c test_perm.c test_slab_layout.c test_megablock.c)
foreach(_u IN LISTS _k23_wasm_units)
  string(REGEX REPLACE "^test_(.*)[.]c$" "\\1" _m "${_u}")
  list(APPEND K23_WASM_TESTS "wasm_unit_${_m}|unit_${_m}|")
endforeach()

function(k23_wasm_add_tests runner bindir)
  foreach(_t IN LISTS K23_WASM_TESTS)
    string(REPLACE "|" ";" _f "${_t}")
    list(GET _f 0 _name)
    list(GET _f 1 _prog)
    list(GET _f 2 _args)
    string(REPLACE "," ";" _args "${_args}")
    if(_prog STREQUAL "k23mem-bench")
      set(_wasm "${bindir}/bench/k23mem-bench.wasm")
    else()
      set(_wasm "${bindir}/wasm-tests/${_prog}.wasm")
    endif()
    if(DEFINED K23_WASM_EXIT_${_name})
      add_test(NAME ${_name} COMMAND "${CMAKE_COMMAND}"
        "-DEXPECT_RC=${K23_WASM_EXIT_${_name}}"
        "-DEXPECT_OUT=${K23_WASM_PASS_${_name}}"
        -P "${PROJECT_SOURCE_DIR}/tests/ports/wasm32/expect_exit.cmake"
        -- ${runner} "${_wasm}" ${_args})
      set_tests_properties(${_name} PROPERTIES LABELS "wasm" TIMEOUT 300)
      continue()
    endif()
    add_test(NAME ${_name} COMMAND ${runner} "${_wasm}" ${_args})
    set_tests_properties(${_name} PROPERTIES LABELS "wasm" TIMEOUT 300)
    if(DEFINED K23_WASM_PASS_${_name})
      set_tests_properties(${_name} PROPERTIES
        PASS_REGULAR_EXPRESSION "${K23_WASM_PASS_${_name}}")
    endif()
  endforeach()
endfunction()

set(_k23_wasm_src "${PROJECT_SOURCE_DIR}/tests/ports/wasm32")

if(K23_PORT STREQUAL "wasm32")
  # ---- inside the wasm32 tree: build the programs ----
  file(GLOB _k23_wasm_progs CONFIGURE_DEPENDS "${_k23_wasm_src}/test_*.c")
  add_custom_target(k23mem_wasm_all ALL)
  add_dependencies(k23mem_wasm_all k23mem-bench)
  foreach(_src IN LISTS _k23_wasm_progs)
    get_filename_component(_prog "${_src}" NAME_WE)
    add_executable(${_prog} "${_src}")
    set_target_properties(${_prog} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/wasm-tests")
    target_compile_definitions(${_prog} PRIVATE K23_DEBUG=${K23_DEBUG})
    target_include_directories(${_prog} PRIVATE "${_k23_wasm_src}"
      "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(${_prog} PRIVATE k23mem_static)
    add_dependencies(k23mem_wasm_all ${_prog})
  endforeach()
  foreach(_u IN LISTS _k23_wasm_units)
    string(REGEX REPLACE "^test_(.*)[.]c$" "unit_\\1" _prog "${_u}")
    add_executable(${_prog} "${PROJECT_SOURCE_DIR}/tests/${_u}"
      "${_k23_wasm_src}/criterion_shim.c")
    set_target_properties(${_prog} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/wasm-tests")
    # <signal.h> for the SIGABRT of death tests (which the shim skips).
    target_compile_definitions(${_prog} PRIVATE K23_DEBUG=${K23_DEBUG}
      _WASI_EMULATED_SIGNAL)
    target_include_directories(${_prog} BEFORE PRIVATE "${_k23_wasm_src}"
      "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(${_prog} PRIVATE k23mem_static wasi-emulated-signal)
    add_dependencies(k23mem_wasm_all ${_prog})
  endforeach()
  # A small, fixed maximum so memory.grow fails deterministically.
  target_link_options(test_wasm_exhaust PRIVATE "-Wl,--max-memory=16777216")
  target_link_options(test_wasm_ghc_oom PRIVATE "-Wl,--max-memory=16777216")
  if(CMAKE_CROSSCOMPILING_EMULATOR)
    k23_wasm_add_tests("${CMAKE_CROSSCOMPILING_EMULATOR}" "${CMAKE_BINARY_DIR}")
  endif()
elseif(K23_PORT_HOSTED AND NOT K23_SANITIZE)
  # ---- hosted tree: build a wasm32 tree and run its programs ----
  include("${PROJECT_SOURCE_DIR}/cmake/k23-node.cmake")
  find_program(K23_WASM_CLANG clang)
  find_program(K23_WASM_LD wasm-ld)
  find_program(K23_WASM_AR NAMES llvm-ar llvm-ar-14)
  set(_k23_wasm_missing "")
  foreach(_need K23_WASM_CLANG K23_WASM_LD K23_WASM_AR K23_NODE_COMMAND)
    if(NOT ${_need})
      list(APPEND _k23_wasm_missing ${_need})
    endif()
  endforeach()
  if(NOT EXISTS "/usr/lib/wasm32-wasi/libc.a")
    list(APPEND _k23_wasm_missing wasi-libc)
  endif()
  if(_k23_wasm_missing)
    message(STATUS "wasm32 tests not built, missing: ${_k23_wasm_missing} "
                   "(scripts/deps.d/wasm32 lists the Debian packages)")
  else()
    include(ExternalProject)
    set(_k23_wasm_bin "${CMAKE_BINARY_DIR}/wasm32")
    ExternalProject_Add(k23mem_wasm32
      SOURCE_DIR "${PROJECT_SOURCE_DIR}"
      BINARY_DIR "${_k23_wasm_bin}"
      CMAKE_ARGS
        -DK23_PORT=wasm32
        "-DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/toolchain-wasm32-wasi.cmake"
        -DK23_DEBUG=${K23_DEBUG}
        -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
        -DK23_WERROR=${K23_WERROR}
      BUILD_COMMAND "${CMAKE_COMMAND}" --build "${_k23_wasm_bin}" --target k23mem_wasm_all
      INSTALL_COMMAND ""
      BUILD_ALWAYS ON)
    k23_wasm_add_tests("${K23_NODE_COMMAND}" "${_k23_wasm_bin}")
  endif()
endif()
