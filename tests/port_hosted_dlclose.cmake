# SPDX-License-Identifier: Apache-2.0 OR MIT
# dlclose() of libk23mem.so must be safe after its CPU-local fast path ran
# (tests/ports/hosted/dlclose.c): the program dlopens the shared library
# itself, so it links only libdl and pthreads. Skipped (exit 77) where the
# port has no fast path.
if(K23_PORT_HOSTED AND TARGET k23mem_shared)
  add_executable(port_hosted_dlclose
    "${CMAKE_CURRENT_SOURCE_DIR}/ports/hosted/dlclose.c")
  set_target_properties(port_hosted_dlclose PROPERTIES C_EXTENSIONS ON)
  target_include_directories(port_hosted_dlclose PRIVATE
    "${PROJECT_SOURCE_DIR}/include" "${K23_PORT_DIR}"
    "${CMAKE_CURRENT_SOURCE_DIR}/support")
  target_link_libraries(port_hosted_dlclose PRIVATE ${CMAKE_DL_LIBS}
    Threads::Threads)
  add_dependencies(port_hosted_dlclose k23mem_shared)
  add_test(NAME port_hosted_dlclose
    COMMAND port_hosted_dlclose "$<TARGET_FILE:k23mem_shared>")
  set_tests_properties(port_hosted_dlclose PROPERTIES LABELS "unit"
    TIMEOUT 60 SKIP_RETURN_CODE 77)
  # The same for a plugin that carries the library's objects itself, as
  # one linked with libk23mem.a does: the port pins that plugin.
  add_library(k23mem_test_plugin MODULE $<TARGET_OBJECTS:k23mem_objects>)
  target_link_libraries(k23mem_test_plugin PRIVATE ${K23_PORT_LIBS})
  add_dependencies(port_hosted_dlclose k23mem_test_plugin)
  add_test(NAME port_hosted_dlclose_plugin
    COMMAND port_hosted_dlclose "$<TARGET_FILE:k23mem_test_plugin>")
  set_tests_properties(port_hosted_dlclose_plugin PROPERTIES LABELS "unit"
    TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
