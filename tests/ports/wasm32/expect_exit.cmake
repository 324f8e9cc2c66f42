# SPDX-License-Identifier: Apache-2.0 OR MIT
# Run a program that must stop with a given exit status and output:
#   cmake -DEXPECT_RC=<status> -DEXPECT_OUT=<regex> -P expect_exit.cmake
#         -- <command> [args...]
# ctest's PASS_REGULAR_EXPRESSION ignores the exit status; this checks
# both (stdout and stderr together).
set(_cmd "")
set(_seen_sep FALSE)
math(EXPR _last "${CMAKE_ARGC} - 1")
foreach(_i RANGE 0 ${_last})
  if(_seen_sep)
    list(APPEND _cmd "${CMAKE_ARGV${_i}}")
  elseif(CMAKE_ARGV${_i} STREQUAL "--")
    set(_seen_sep TRUE)
  endif()
endforeach()
if(NOT _cmd OR NOT DEFINED EXPECT_RC OR NOT DEFINED EXPECT_OUT)
  message(FATAL_ERROR "usage: cmake -DEXPECT_RC=N -DEXPECT_OUT=RE -P expect_exit.cmake -- CMD...")
endif()
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                ERROR_VARIABLE _out)
message("${_out}")
if(NOT _rc STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "exit status ${_rc}, expected ${EXPECT_RC}")
endif()
if(NOT _out MATCHES "${EXPECT_OUT}")
  message(FATAL_ERROR "output does not match '${EXPECT_OUT}'")
endif()
message("exit status ${_rc} and output as expected")
