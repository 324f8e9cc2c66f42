# SPDX-License-Identifier: Apache-2.0 OR MIT
# The shared "unsupported" versions of port.h's optional groups
# (ports/common/*.c) linked alone with their test, without the library or
# the hosted port, whose own hooks would stand in for them.
if(NOT K23_PORT_HOSTED)
  return()
endif()
file(GLOB _k23_common_groups CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/ports/common/*.c")
add_executable(test_port_common "${CMAKE_CURRENT_SOURCE_DIR}/ports/common/test_port_common.c"
  ${_k23_common_groups})
set_target_properties(test_port_common PROPERTIES C_EXTENSIONS ON)
target_include_directories(test_port_common PRIVATE "${CRITERION_INCLUDE}"
  "${PROJECT_SOURCE_DIR}/include")
target_link_libraries(test_port_common PRIVATE "${CRITERION_LIB}")
add_test(NAME test_port_common COMMAND test_port_common --jobs 2 --short-filename)
set_tests_properties(test_port_common PROPERTIES LABELS "unit" TIMEOUT 60)
