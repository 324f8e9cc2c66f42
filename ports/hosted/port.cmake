# SPDX-License-Identifier: Apache-2.0 OR MIT
# The hosted port: POSIX (Linux) with pthreads and mmap.
set(K23_PORT_SOURCES "${CMAKE_CURRENT_LIST_DIR}/port.c")
find_package(Threads REQUIRED)
# libfdt (Debian's libfdt-dev) for src/fdt_memmap.c; it has no pkg-config
# file, so the library is named directly.
find_library(K23_LIBFDT fdt)
find_path(K23_LIBFDT_INCLUDE libfdt.h)
if(NOT K23_LIBFDT OR NOT K23_LIBFDT_INCLUDE)
  message(FATAL_ERROR "libfdt not found: apt-get install libfdt-dev (scripts/test does this)")
endif()
set(K23_PORT_LIBS Threads::Threads fdt)
set(K23_PORT_PC_LIBS "-lpthread -lfdt")
set(K23_PORT_HOSTED ON)
