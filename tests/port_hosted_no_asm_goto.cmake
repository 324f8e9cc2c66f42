# SPDX-License-Identifier: Apache-2.0 OR MIT
# The hosted port's inline CPU-local steps have two forms: with asm goto
# (GCC 11+ and clang 11+, what the library uses) and without. Build the
# port's suite once more with K23_PORT_HOSTED_NO_ASM_GOTO so that the
# other form is run too (its inline_pcpu_steps test).
if(K23_PORT_HOSTED AND TARGET test_port_hosted)
  get_target_property(_sources test_port_hosted SOURCES)
  add_executable(test_port_hosted_no_asm_goto ${_sources})
  set_target_properties(test_port_hosted_no_asm_goto PROPERTIES C_EXTENSIONS ON)
  target_compile_definitions(test_port_hosted_no_asm_goto PRIVATE
    K23_DEBUG=${K23_DEBUG} K23_PORT_HOSTED_NO_ASM_GOTO=1)
  target_include_directories(test_port_hosted_no_asm_goto PRIVATE
    "${CRITERION_INCLUDE}" "${CMAKE_CURRENT_SOURCE_DIR}/support"
    "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(test_port_hosted_no_asm_goto PRIVATE k23mem_static
    "${CRITERION_LIB}")
  add_test(NAME test_port_hosted_no_asm_goto
    COMMAND test_port_hosted_no_asm_goto --jobs 2 --short-filename
            --filter "port_hosted/*pcpu*")
  set_tests_properties(test_port_hosted_no_asm_goto PROPERTIES LABELS "unit"
    TIMEOUT 600 ENVIRONMENT "ASAN_OPTIONS=handle_segv=0")
endif()
