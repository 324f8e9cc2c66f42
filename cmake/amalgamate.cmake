# SPDX-License-Identifier: Apache-2.0 OR MIT
# Write the amalgamation: the chosen modules of the core as one k23mem.c,
# plus the public headers, for kernels with their own build system (the
# way SQLite ships sqlite3.c).
#
#   cmake -DOUT=<folder> [-DK23_MODULES="frames;kmem"] -P cmake/amalgamate.cmake
#
# writes <folder>/k23mem.c, <folder>/include/k23mem/*.h and
# <folder>/common/ (a copy of ports/common/). K23_MODULES
# names modules of cmake/modules.cmake, separated by ';' or ',' (default:
# all but fdt_memmap); the modules they need come along. Compile k23mem.c
# with `-I<folder>/include -I<your port folder>` (k23_port_config.h) and
# optionally -DK23_DEBUG=0..3; link your port's hooks beside it.
#
# The private headers of src/ are pasted in once, where first included;
# public headers (k23mem/...) and k23_port_config.h stay #includes. #line
# directives keep __FILE__ and line numbers of the original files, so
# panic messages and debug information point into src/.
cmake_minimum_required(VERSION 3.20)
get_filename_component(_k23_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include("${CMAKE_CURRENT_LIST_DIR}/modules.cmake")

if(NOT OUT)
  message(FATAL_ERROR "usage: cmake -DOUT=<folder> [-DK23_MODULES=a;b] -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
string(REPLACE "," ";" K23_MODULES "${K23_MODULES}")
if(NOT K23_MODULES)
  set(K23_MODULES ${K23_MODULES_DEFAULT})
endif()
k23_modules_resolve(_mods _srcs ${K23_MODULES})

set(_out "")
set(_pasted "")

# Append file <path> (relative to the source root) to _out, pasting in the
# private headers it includes that were not pasted yet.
function(k23_amalgamate_file rel)
  file(READ "${_k23_root}/${rel}" _rest)
  string(APPEND _out "#line 1 \"${rel}\"\n")
  set(_lineno 1)  # line number in ${rel} of the first line of _rest
  while(TRUE)
    string(REGEX MATCH "(^|\n)(#include \"([a-z_]+\\.h)\"[^\n]*)" _m "${_rest}")
    if(NOT _m)
      break()
    endif()
    set(_inc "${CMAKE_MATCH_2}")
    set(_hdr "src/${CMAKE_MATCH_3}")
    if(NOT EXISTS "${_k23_root}/${_hdr}")
      message(FATAL_ERROR "${rel}: ${CMAKE_MATCH_3} is not a header of src/")
    endif()
    # _before: everything up to the #include line, ending with a newline.
    string(FIND "${_rest}" "${_m}" _pos)
    string(LENGTH "${_m}" _mlen)
    string(LENGTH "${_inc}" _inclen)
    math(EXPR _inc_pos "${_pos} + ${_mlen} - ${_inclen}")
    string(SUBSTRING "${_rest}" 0 ${_inc_pos} _before)
    string(REGEX REPLACE "[^\n]" "" _nl "${_before}")
    string(LENGTH "${_nl}" _k)
    math(EXPR _include_line "${_lineno} + ${_k}")
    string(APPEND _out "${_before}")
    if(_hdr IN_LIST _pasted)
      string(APPEND _out "/* ${_inc}: pasted above */\n")
    else()
      list(APPEND _pasted "${_hdr}")
      # Its static inline helpers are now in the main file, where clang
      # warns about those a smaller module set does not use.
      string(APPEND _out "#pragma GCC diagnostic push\n")
      string(APPEND _out "#pragma GCC diagnostic ignored \"-Wunused-function\"\n")
      k23_amalgamate_file("${_hdr}")
      string(APPEND _out "#pragma GCC diagnostic pop\n")
      string(APPEND _out "#line ${_include_line} \"${rel}\"\n")
      string(APPEND _out "/* ${_hdr} pasted above */\n")
    endif()
    # Go on after the #include line and its newline.
    math(EXPR _after "${_inc_pos} + ${_inclen} + 1")
    string(LENGTH "${_rest}" _total)
    if(_after GREATER _total)
      set(_rest "")
    else()
      string(SUBSTRING "${_rest}" ${_after} -1 _rest)
    endif()
    math(EXPR _lineno "${_include_line} + 1")
  endwhile()
  string(APPEND _out "${_rest}")
  set(_out "${_out}" PARENT_SCOPE)
  set(_pasted "${_pasted}" PARENT_SCOPE)
endfunction()

file(READ "${_k23_root}/include/k23mem/version.h" _ver)
string(REGEX MATCH "K23MEM_VERSION_STRING \"([^\"]*)\"" _ "${_ver}")
set(_version "${CMAKE_MATCH_1}")
string(REPLACE ";" " " _mods_text "${_mods}")
set(_contents "")
foreach(_m IN LISTS _mods)
  string(REPLACE ";" " " _files "${K23_MODULE_${_m}_SOURCES}")
  string(APPEND _contents " *   ${_m}: ${_files}\n")
endforeach()
string(APPEND _out
"/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libk23mem ${_version} amalgamation, written by cmake/amalgamate.cmake:
 * these modules and files of src/ in one file.
${_contents} * Do not edit: change src/ and write it again.
 *
 * Compile with -I<this folder>/include and the folder of your port's
 * k23_port_config.h on the include path; -DK23_DEBUG=0..3 (default 1).
 * Link the port's hooks (k23mem/port.h) beside it; docs/porting.md lists
 * the hooks and compiler-runtime functions each module calls.
 */
")
foreach(_s IN LISTS _srcs)
  k23_amalgamate_file("src/${_s}")
endforeach()

file(REMOVE_RECURSE "${OUT}/include/k23mem")
file(MAKE_DIRECTORY "${OUT}/include")
file(COPY "${_k23_root}/include/k23mem" DESTINATION "${OUT}/include")
# The shared implementations of optional hook groups (ports/common/),
# for a port to compile beside its own hooks.
file(REMOVE_RECURSE "${OUT}/common")
file(COPY "${_k23_root}/ports/common" DESTINATION "${OUT}")
file(WRITE "${OUT}/k23mem.c.tmp" "${_out}")
file(RENAME "${OUT}/k23mem.c.tmp" "${OUT}/k23mem.c")
message(STATUS "amalgamation: ${OUT}/k23mem.c (${_mods_text})")
