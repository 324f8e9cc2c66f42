# SPDX-License-Identifier: Apache-2.0 OR MIT
# Write the module table of docs/porting.md from the code: compile every
# module of cmake/modules.cmake, and list for each the port hooks and the
# other functions (compiler runtime, libfdt) its objects, with those of the
# modules it needs, leave undefined.
#
#   cmake -DCC=riscv64-unknown-elf-gcc -DNM=riscv64-unknown-elf-nm
#         "-DCFLAGS=-O2 -march=rv64gc -mabi=lp64d -mcmodel=medany"
#         -DPORT_CONFIG_DIR=<folder with a k23_port_config.h>
#         -DFDT_INCLUDE=<folder with libfdt.h and fdt.h>
#         -DWORK=<scratch folder> -DOUT_FILE=<table.md> -P cmake/module-table.cmake
#
# Fails when the table of modules is wrong: a src/*.c in no module or in
# two, or a module whose objects (with those of the modules it names)
# leave a k23_* function undefined that is not a port hook.
# Compiled with K23_DEBUG=3, so the hooks that only assertions call are
# listed too.
cmake_minimum_required(VERSION 3.20)
get_filename_component(_k23_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include("${CMAKE_CURRENT_LIST_DIR}/modules.cmake")
foreach(_v CC NM PORT_CONFIG_DIR FDT_INCLUDE WORK OUT_FILE)
  if(NOT ${_v})
    message(FATAL_ERROR "module-table.cmake: -D${_v}=... missing (see the comment at its top)")
  endif()
endforeach()
separate_arguments(_cflags UNIX_COMMAND "${CFLAGS}")

# Every src/*.c belongs to exactly one module.
file(GLOB _all RELATIVE "${_k23_root}/src" "${_k23_root}/src/*.c")
set(_claimed "")
foreach(_m IN LISTS K23_MODULES_ALL)
  foreach(_s IN LISTS K23_MODULE_${_m}_SOURCES)
    if(_s IN_LIST _claimed)
      message(FATAL_ERROR "cmake/modules.cmake: src/${_s} is in two modules")
    endif()
    if(NOT _s IN_LIST _all)
      message(FATAL_ERROR "cmake/modules.cmake: src/${_s} does not exist (module ${_m})")
    endif()
    list(APPEND _claimed ${_s})
  endforeach()
endforeach()
foreach(_s IN LISTS _all)
  if(NOT _s IN_LIST _claimed)
    message(FATAL_ERROR "cmake/modules.cmake: src/${_s} is in no module: add it to one")
  endif()
endforeach()

# Symbols of one object: _k23_undef_<file> and _k23_def_<file>.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(_compile "${CC}" -std=c11 -ffreestanding ${_cflags} -DK23_DEBUG=3
  "-I${_k23_root}/include" "-I${_k23_root}/src" "-I${PORT_CONFIG_DIR}"
  "-I${_k23_root}/ports/freestanding-include" "-I${FDT_INCLUDE}")
# Two compilers at a time: the COMMANDs of one execute_process run
# concurrently (as a pipeline whose data nobody reads).
set(_todo ${_all})
while(_todo)
  list(POP_FRONT _todo _s1)
  set(_batch ${_s1})
  set(_cmds COMMAND ${_compile} -c "${_k23_root}/src/${_s1}" -o "${WORK}/${_s1}.o")
  if(_todo)
    list(POP_FRONT _todo _s2)
    list(APPEND _batch ${_s2})
    list(APPEND _cmds COMMAND ${_compile} -c "${_k23_root}/src/${_s2}" -o "${WORK}/${_s2}.o")
  endif()
  execute_process(${_cmds} RESULTS_VARIABLE _rcs ERROR_VARIABLE _err)
  foreach(_rc IN LISTS _rcs)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "compiling src/${_batch} failed:\n${_err}")
    endif()
  endforeach()
endwhile()
foreach(_s IN LISTS _all)
  execute_process(COMMAND "${NM}" -u "${WORK}/${_s}.o" OUTPUT_VARIABLE _u)
  execute_process(COMMAND "${NM}" -g --defined-only "${WORK}/${_s}.o" OUTPUT_VARIABLE _d)
  string(REGEX MATCHALL "[A-Za-z_][A-Za-z0-9_]*\n" _u "${_u}")
  string(REGEX MATCHALL "[A-Za-z_][A-Za-z0-9_]*\n" _d "${_d}")
  string(REPLACE "\n" "" _u "${_u}")
  string(REPLACE "\n" "" _d "${_d}")
  set(_k23_undef_${_s} ${_u})
  set(_k23_def_${_s} ${_d})
endforeach()

# Markdown list of names, each in backquotes.
function(k23_code_list out)
  set(_t "")
  foreach(_x IN LISTS ARGN)
    if(_t)
      string(APPEND _t ", ")
    endif()
    string(APPEND _t "`${_x}`")
  endforeach()
  if(NOT _t)
    set(_t "none")
  endif()
  set(${out} "${_t}" PARENT_SCOPE)
endfunction()

set(_table "| module | sources (`src/`) | needs modules | hooks `k23_port_...` called (with the modules it needs) | other symbols it needs |\n")
string(APPEND _table "|---|---|---|---|---|\n")
foreach(_m IN LISTS K23_MODULES_ALL)
  k23_modules_resolve(_mods _srcs ${_m})
  set(_undef "")
  set(_def "")
  foreach(_s IN LISTS _srcs)
    list(APPEND _undef ${_k23_undef_${_s}})
    list(APPEND _def ${_k23_def_${_s}})
  endforeach()
  list(REMOVE_DUPLICATES _undef)
  list(REMOVE_ITEM _undef ${_def})
  set(_hooks "")
  set(_other "")
  set(_libfdt OFF)
  foreach(_sym IN LISTS _undef)
    if(_sym MATCHES "^k23_port_(.*)")
      list(APPEND _hooks ${CMAKE_MATCH_1})
    elseif(_sym MATCHES "^k23_")
      message(FATAL_ERROR "cmake/modules.cmake: module ${_m} (${_srcs}) calls ${_sym}, "
        "defined in none of its sources nor in those of the modules it names")
    elseif(_sym MATCHES "^fdt_")
      set(_libfdt ON)
    else()
      list(APPEND _other ${_sym})
    endif()
  endforeach()
  list(SORT _hooks)
  list(SORT _other)
  if(_libfdt)
    list(APPEND _other "libfdt")
  endif()
  k23_code_list(_srcs_md ${K23_MODULE_${_m}_SOURCES})
  k23_code_list(_needs_md ${K23_MODULE_${_m}_NEEDS})
  k23_code_list(_hooks_md ${_hooks})
  k23_code_list(_other_md ${_other})
  if(_m STREQUAL "base")
    set(_needs_md "(every module needs it)")
  endif()
  string(APPEND _table "| `${_m}` | ${_srcs_md} | ${_needs_md} | ${_hooks_md} | ${_other_md} |\n")
endforeach()
file(WRITE "${OUT_FILE}" "${_table}")
