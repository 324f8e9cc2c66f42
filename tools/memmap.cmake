# SPDX-License-Identifier: Apache-2.0 OR MIT
# k23mem-memmap: the memory map of a device-tree blob (src/fdt_memmap.c).
# Hosted ports only: it reads files and prints.
if(K23_PORT_HOSTED AND NOT "fdt_memmap.c" IN_LIST K23_CORE_EXCLUDE)
  add_executable(k23mem-memmap "${CMAKE_CURRENT_SOURCE_DIR}/k23mem-memmap.c"
    "${CMAKE_CURRENT_SOURCE_DIR}/memmap_args.c")
  # strtoull, snprintf and friends: a normal hosted program.
  set_target_properties(k23mem-memmap PROPERTIES C_EXTENSIONS ON)
  target_link_libraries(k23mem-memmap PRIVATE k23mem_static)
  install(TARGETS k23mem-memmap RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
    COMPONENT tools)
  install(FILES "${PROJECT_SOURCE_DIR}/tools/man/k23mem-memmap.1"
    DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT tools)
endif()
