# SPDX-License-Identifier: Apache-2.0 OR MIT
# CMake toolchain for wasm32-wasi with Debian's clang, lld and wasi-libc
# (packages clang lld llvm wasi-libc libclang-rt-14-dev-wasm32: headers in
# /usr/include/wasm32-wasi, libraries in /usr/lib/wasm32-wasi, so the
# sysroot is /usr). Use with -DK23_PORT=wasm32.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm32)

set(K23_WASI_SYSROOT "/usr" CACHE PATH "wasi-libc sysroot (include/wasm32-wasi, lib/wasm32-wasi)")
set(CMAKE_C_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_SYSROOT "${K23_WASI_SYSROOT}")
# GNU ar cannot index wasm objects; wasm-ld needs the index.
find_program(K23_LLVM_AR NAMES llvm-ar llvm-ar-14 REQUIRED)
find_program(K23_LLVM_RANLIB NAMES llvm-ranlib llvm-ranlib-14 REQUIRED)
set(CMAKE_AR "${K23_LLVM_AR}" CACHE FILEPATH "archiver")
set(CMAKE_RANLIB "${K23_LLVM_RANLIB}" CACHE FILEPATH "ranlib")
set(CMAKE_EXECUTABLE_SUFFIX ".wasm")

# Programs of the build machine, libraries and headers of the target only.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Running a target program: Node's built-in WASI (see ports/wasm32/run-wasi.mjs).
include("${CMAKE_CURRENT_LIST_DIR}/k23-node.cmake")
if(K23_NODE_COMMAND)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${K23_NODE_COMMAND})
endif()
