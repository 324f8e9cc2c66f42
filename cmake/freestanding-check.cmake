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
set(_allowed "^(k23_|memset$|memcpy$|memmove$|memcmp$")
if(ALLOW_UNDEFINED)
  string(APPEND _allowed "${ALLOW_UNDEFINED}|")
endif()
# __stack_pointer: the wasm32 ABI global every function frame uses.
string(APPEND _allowed "__stack_chk_|__stack_pointer$)")

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
    if(NOT _sym MATCHES "${_allowed}")
      message(SEND_ERROR "freestanding: ${_src} calls '${_sym}', which is neither libk23mem's nor a port hook")
      set(_failed 1)
    endif()
  endforeach()
  message(STATUS "freestanding ok: ${_name} (${CC} ${EXTRA_FLAGS})")
endforeach()
if(_failed)
  message(FATAL_ERROR "freestanding check failed")
endif()
