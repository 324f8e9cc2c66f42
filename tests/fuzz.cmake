# SPDX-License-Identifier: Apache-2.0 OR MIT
# libFuzzer targets over the text parsers (the device-tree one is declared
# in tests/fdt.cmake): each is built with clang -fsanitize=fuzzer,address,
# undefined by cmake/k23-fuzz.cmake and fuzzed for 15 s by ctest (label
# "fuzz") from its seed directory tests/fuzz/<name>/. Plain hosted builds
# with a clang that links libFuzzer only.
if(NOT K23_PORT_HOSTED)
  return()
endif()
include("${PROJECT_SOURCE_DIR}/cmake/k23-fuzz.cmake")

# k23_perm_parse / k23_perm_format (src/perm.c).
k23_add_fuzz(NAME perm_fuzz TARGET fuzz_perm TIME 15 MAX_LEN 256
  SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_perm.c"
          "${PROJECT_SOURCE_DIR}/src/perm.c"
          "${PROJECT_SOURCE_DIR}/src/libc.c"
  SEEDS "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/perm")

# The SIZE syntax of k23mem-slab (tools/slab_size.c, shared with the tool).
k23_add_fuzz(NAME slab_size_fuzz TARGET fuzz_slab_size TIME 15 MAX_LEN 64
  SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_slab_size.c"
          "${PROJECT_SOURCE_DIR}/tools/slab_size.c"
  INCLUDES "${PROJECT_SOURCE_DIR}/tools"
  SEEDS "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/slab_size")

# k23mem-memmap's --page-size and --exclude (tools/memmap_args.c, shared
# with the tool).
k23_add_fuzz(NAME memmap_args_fuzz TARGET fuzz_memmap_args TIME 15 MAX_LEN 96
  SOURCES "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_memmap_args.c"
          "${PROJECT_SOURCE_DIR}/tools/memmap_args.c"
  INCLUDES "${PROJECT_SOURCE_DIR}/tools"
  SEEDS "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/memmap_args")
