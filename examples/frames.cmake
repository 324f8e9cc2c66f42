# SPDX-License-Identifier: Apache-2.0 OR MIT
# The frame allocator demo (a step of scripts/demo): needs mmap, so hosted
# ports only.
if(K23_PORT_HOSTED)
  add_executable(frames_demo "${CMAKE_CURRENT_LIST_DIR}/frames_demo.c")
  set_target_properties(frames_demo PROPERTIES C_EXTENSIONS ON)
  target_link_libraries(frames_demo PRIVATE k23mem_static)
endif()
