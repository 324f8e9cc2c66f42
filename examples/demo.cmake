# SPDX-License-Identifier: Apache-2.0 OR MIT
# The main demo program (first step of scripts/demo).
add_executable(k23mem-demo "${CMAKE_CURRENT_LIST_DIR}/k23mem-demo.c")
target_link_libraries(k23mem-demo PRIVATE k23mem_static)
