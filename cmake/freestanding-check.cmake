# SPDX-License-Identifier: Apache-2.0 OR MIT
cmake_policy(VERSION 3.20)
# Compile core sources as freestanding code against nothing but the
# compiler's own headers, then reject any undefined symbol that is neither
# libk23mem's own, a port hook, nor one of the four byte functions every
# port must provide (port.h). Run with cmake -P:
#   -DCC=<compiler> -DNM=<nm> -DROOT=<source dir> -DOUT=<scratch dir>
#   -DSOURCES=<|-separated list of .c files> [-DEXTRA_FLAGS=<;-list>]
#   [-DALLOW_UNDEFINED=<regex of extra allowed symbols>]
foreach(_v CC NM ROOT OUT SOURCES)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "freestanding-check: ${_v} not set")
  endif()
endforeach()

execute_process(COMMAND ${CC} ${EXTRA_FLAGS} -print-file-name=include
                OUTPUT_VARIABLE _cc_include OUTPUT_STRIP_TRAILING_WHITESPACE)
file(MAKE_DIRECTORY "${OUT}")
# Allowed undefined symbols: the port's byte functions (port.h), the
# wasm32 ABI's __stack_pointer global, libk23mem's own names, the stack
# protector, and compiler runtime helpers (libgcc / compiler-rt, not libc)
# for wide arithmetic on narrow targets, e.g. __multi3 for a 64x64 overflow
# check. (Separate patterns: CMake's regex engine mishandles `$` inside an
# alternation.)
set(_allowed_exact memset memcpy memmove memcmp __stack_pointer)
set(_allowed_patterns "^k23_" "^__stack_chk_"
    "^__(mul|div|udiv|mod|umod|ashl|ashr|lshr)[a-z]*[0-9]$")
if(ALLOW_UNDEFINED)
  list(APPEND _allowed_patterns "${ALLOW_UNDEFINED}")
endif()

string(REPLACE "|" ";" SOURCES "${SOURCES}")
set(_failed 0)
foreach(_src IN LISTS SOURCES)
  get_filename_component(_name "${_src}" NAME_WE)
  set(_obj "${OUT}/${_name}.o")
  execute_process(
    COMMAND ${CC} ${EXTRA_FLAGS} -std=c11 -ffreestanding -fno-builtin -nostdinc
            -isystem "${_cc_include}" -I "${ROOT}/include"
            -I "${ROOT}/tests/freestanding" -I "${ROOT}/src"
            -Wall -Wextra -Werror -O2 -c "${_src}" -o "${_obj}"
    RESULT_VARIABLE _rc ERROR_VARIABLE _err OUTPUT_VARIABLE _out)
  if(NOT _rc EQUAL 0)
    message(SEND_ERROR "freestanding: ${_src} does not compile freestanding:\n${_err}")
    set(_failed 1)
    continue()
  endif()
  execute_process(COMMAND ${NM} -u "${_obj}" OUTPUT_VARIABLE _undef RESULT_VARIABLE _rc)
  string(REPLACE "\n" ";" _undef "${_undef}")
  foreach(_line IN LISTS _undef)
    string(STRIP "${_line}" _line)
    if(_line STREQUAL "")
      continue()
    endif()
    string(REGEX REPLACE "^.* " "" _sym "${_line}")
    set(_ok FALSE)
    if(_sym IN_LIST _allowed_exact)
      set(_ok TRUE)
    endif()
    foreach(_pat IN LISTS _allowed_patterns)
      if(_sym MATCHES "${_pat}")
        set(_ok TRUE)
      endif()
    endforeach()
    if(NOT _ok)
      message(SEND_ERROR "freestanding: ${_src} calls '${_sym}', which is neither libk23mem's nor a port hook")
      set(_failed 1)
    endif()
  endforeach()
  message(STATUS "freestanding ok: ${_name} (${CC} ${EXTRA_FLAGS})")
endforeach()
if(_failed)
  message(FATAL_ERROR "freestanding check failed")
endif()
