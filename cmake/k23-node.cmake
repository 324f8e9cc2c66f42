# SPDX-License-Identifier: Apache-2.0 OR MIT
# Find Node and build the command line that runs a wasm32-wasi program:
#   K23_NODE_COMMAND = node --no-warnings [--single-threaded-gc]
#                      [--experimental-wasi-unstable-preview1] run-wasi.mjs
# Node 20 has WASI preview1 built in (the flag is accepted and ignored);
# Debian 12's Node 18 needs the flag. --single-threaded-gc: Node 20.20
# segfaults at exit now and then (1 run in 3 here) after a module grew its
# memory past ~100 MiB, in V8's concurrent GC threads; without them it
# does not (0 of 40 runs). Empty when Node is missing or lacks
# WASI. Included by the wasm32 toolchain file and tests/wasm32.cmake.
set(K23_NODE_COMMAND "")
find_program(K23_NODE NAMES node nodejs)
if(K23_NODE)
  set(_k23_runner "${CMAKE_CURRENT_LIST_DIR}/../ports/wasm32/run-wasi.mjs")
  get_filename_component(_k23_runner "${_k23_runner}" ABSOLUTE)
  set(_k23_flags --no-warnings)
  foreach(_k23_opt --single-threaded-gc --experimental-wasi-unstable-preview1)
    execute_process(COMMAND "${K23_NODE}" --no-warnings ${_k23_opt} -e 0
                    RESULT_VARIABLE _k23_rc OUTPUT_QUIET ERROR_QUIET)
    if(_k23_rc EQUAL 0)
      list(APPEND _k23_flags ${_k23_opt})
    endif()
  endforeach()
  execute_process(COMMAND "${K23_NODE}" ${_k23_flags} -e "require('wasi')"
                  RESULT_VARIABLE _k23_rc OUTPUT_QUIET ERROR_QUIET)
  if(_k23_rc EQUAL 0)
    set(K23_NODE_COMMAND "${K23_NODE}" ${_k23_flags} "${_k23_runner}")
  endif()
endif()
