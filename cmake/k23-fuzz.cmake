# SPDX-License-Identifier: Apache-2.0 OR MIT
# libFuzzer targets, shared by tests/fdt.cmake and tests/fuzz.cmake.
#
# k23_add_fuzz(NAME <test> TARGET <binary> SOURCES <c files...>
#              SEEDS <dirs...> [TIME <seconds>] [MAX_LEN <bytes>]
#              [LIBS <link args...>] [LIB_FILES <archives...>]
#              [DEPENDS <targets...>] [INCLUDES <dirs...>])
#
# Builds <binary> with clang -fsanitize=fuzzer,address,undefined straight
# from the listed sources (whatever CMAKE_C_COMPILER is) and declares the
# ctest test <test> (label "fuzz") that fuzzes for TIME seconds (default
# 15) from a fresh working corpus seeded by SEEDS. LIB_FILES are archives
# built by custom commands in the calling directory: linked like LIBS, and
# the target is relinked when they change. Only in plain hosted
# builds (a sanitizer build cannot add -fsanitize=fuzzer on top) and only
# when clang can link libFuzzer; the probe runs once per build tree.
include_guard(GLOBAL)

# A fixed seed makes each run try the same inputs in the same order, so the
# suite passes or fails the same way on every machine of the same speed
# (CI must not fail at random on a new find; a find is reproduced and fixed
# instead). Set -DK23_FUZZ_SEED=0 for libFuzzer's random seed when hunting.
set(K23_FUZZ_SEED 1 CACHE STRING "libFuzzer -seed for the fuzz tests (0: random)")

function(k23_fuzz_probe out)
  if(DEFINED K23_FUZZ_OK)
    set(${out} ${K23_FUZZ_OK} PARENT_SCOPE)
    return()
  endif()
  set(_ok OFF)
  find_program(K23_FUZZ_CLANG clang)
  if(K23_FUZZ_CLANG AND NOT K23_SANITIZE AND K23_PORT_HOSTED)
    set(_probe "${CMAKE_BINARY_DIR}/k23-fuzz-probe")
    file(WRITE "${_probe}.c"
      "#include <stdint.h>\n#include <stddef.h>\n"
      "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
      "{ (void)d; (void)n; return 0; }\n")
    execute_process(COMMAND "${K23_FUZZ_CLANG}" -fsanitize=fuzzer,address
                            "${_probe}.c" -o "${_probe}"
                    RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
    if(_rc EQUAL 0)
      set(_ok ON)
    endif()
  endif()
  if(NOT _ok)
    message(STATUS "fuzz: no clang that links -fsanitize=fuzzer here "
                   "(or a sanitizer build): libFuzzer tests skipped")
  endif()
  set(K23_FUZZ_OK ${_ok} CACHE INTERNAL "clang links -fsanitize=fuzzer")
  set(${out} ${_ok} PARENT_SCOPE)
endfunction()

function(k23_add_fuzz)
  cmake_parse_arguments(F "" "NAME;TARGET;TIME;MAX_LEN"
                        "SOURCES;SEEDS;LIBS;LIB_FILES;DEPENDS;INCLUDES" ${ARGN})
  k23_fuzz_probe(_ok)
  if(NOT _ok)
    return()
  endif()
  if(NOT F_TIME)
    set(F_TIME 15)
  endif()
  if(NOT F_MAX_LEN)
    set(F_MAX_LEN 4096)
  endif()
  set(_bin "${CMAKE_BINARY_DIR}/tests/${F_TARGET}")
  set(_inc "")
  foreach(_d IN LISTS F_INCLUDES)
    list(APPEND _inc -I "${_d}")
  endforeach()
  add_custom_command(OUTPUT "${_bin}"
    COMMAND "${K23_FUZZ_CLANG}" -std=c11 -g -O1
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
            -DK23_DEBUG=3 -I "${PROJECT_SOURCE_DIR}/include"
            -I "${K23_PORT_DIR}" -I "${PROJECT_SOURCE_DIR}/src" ${_inc}
            ${F_SOURCES} ${F_LIB_FILES} ${F_LIBS} -o "${_bin}"
    DEPENDS ${F_SOURCES} ${F_LIB_FILES} COMMENT "libFuzzer target ${F_TARGET}" VERBATIM)
  add_custom_target(${F_TARGET}_build ALL DEPENDS "${_bin}" ${F_DEPENDS})
  # The first corpus directory is a fresh scratch one (libFuzzer writes
  # what it finds there); the seed directories are only read. Crash
  # reproducers land in the working directory, the scratch one.
  set(_work "${CMAKE_BINARY_DIR}/tests/${F_TARGET}-work")
  add_test(NAME ${F_NAME}
    COMMAND bash -c "w=\"$1\"; b=\"$2\"; shift 2; rm -rf \"$w\" && mkdir -p \"$w/corpus\" && cd \"$w\" && exec \"$b\" -seed=${K23_FUZZ_SEED} -max_total_time=${F_TIME} -max_len=${F_MAX_LEN} -timeout=10 -print_final_stats=1 \"$w/corpus\" \"$@\""
            k23-fuzz "${_work}" "${_bin}" ${F_SEEDS})
  math(EXPR _timeout "${F_TIME} * 4 + 60")
  set_tests_properties(${F_NAME} PROPERTIES LABELS "fuzz" TIMEOUT ${_timeout})
endfunction()
