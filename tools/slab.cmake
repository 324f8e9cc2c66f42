# SPDX-License-Identifier: Apache-2.0 OR MIT
# k23mem-slab: prints the slab layout of a memory-pool configuration.
if(K23_PORT_HOSTED)
  add_executable(k23mem-slab "${CMAKE_CURRENT_LIST_DIR}/k23mem-slab.c"
    "${CMAKE_CURRENT_LIST_DIR}/slab_size.c")
  target_link_libraries(k23mem-slab PRIVATE k23mem_static)
  install(TARGETS k23mem-slab RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
    COMPONENT tools)
  install(FILES "${PROJECT_SOURCE_DIR}/tools/man/k23mem-slab.1"
    DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT tools)
endif()
