# SPDX-License-Identifier: Apache-2.0 OR MIT
# instance_demo: on-demand and pooling instance allocators side by side.
if(K23_PORT_HOSTED)
  add_executable(instance_demo "${CMAKE_CURRENT_LIST_DIR}/instance_demo.c")
  set_target_properties(instance_demo PROPERTIES C_EXTENSIONS OFF)
  target_link_libraries(instance_demo PRIVATE k23mem_static)
endif()
