# SPDX-License-Identifier: Apache-2.0 OR MIT
# The memory pool and both instance allocators on the VM hooks a kernel
# has: the library and the hosted port once more, with
# K23_PORT_HOSTED_ASPACE, which swaps the port's mmap hooks for ones
# forwarding to an address space (aspace.h) over memfd "physical" memory,
# its page tables mirrored onto a PROT_NONE host window
# (ports/hosted/vm_aspace.c). The suites are built unchanged against it as
# <name>_aspace (labels unit and aspace_hooks; the stress program also
# threads), with the backend's own suite (tests/ports/hosted/
# aspace_hooks.c) as test_port_hosted_aspace: `ctest -L aspace_hooks`.
if(K23_PORT_HOSTED AND TARGET test_mempool)
  add_library(k23mem_aspace_objects OBJECT ${K23_CORE_SOURCES}
    ${K23_PORT_SOURCES} "${PROJECT_SOURCE_DIR}/ports/hosted/vm_aspace.c")
  target_compile_definitions(k23mem_aspace_objects PRIVATE
    K23_DEBUG=${K23_DEBUG} K23_PORT_HOSTED_ASPACE=1)
  target_include_directories(k23mem_aspace_objects
    PUBLIC "${PROJECT_SOURCE_DIR}/include" "${K23_PORT_DIR}"
    PRIVATE "${PROJECT_SOURCE_DIR}/src")
  add_library(k23mem_aspace_static STATIC $<TARGET_OBJECTS:k23mem_aspace_objects>)
  set_target_properties(k23mem_aspace_static PROPERTIES OUTPUT_NAME k23mem_aspace)
  target_include_directories(k23mem_aspace_static PUBLIC
    "${PROJECT_SOURCE_DIR}/include" "${K23_PORT_DIR}")
  target_link_libraries(k23mem_aspace_static PUBLIC ${K23_PORT_LIBS})

  # k23_add_aspace_test(<name> <labels> <sources>...): a ctest entry
  # <name> running the program built from <sources> against the aspace
  # library; Criterion programs get their usual arguments.
  function(k23_add_aspace_test _name _labels)
    add_executable(${_name} ${ARGN})
    set_target_properties(${_name} PROPERTIES C_EXTENSIONS ON)
    target_compile_definitions(${_name} PRIVATE K23_DEBUG=${K23_DEBUG})
    target_include_directories(${_name} PRIVATE "${CRITERION_INCLUDE}"
      "${CMAKE_CURRENT_SOURCE_DIR}/support" "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(${_name} PRIVATE k23mem_aspace_static)
    if(_name MATCHES "^stress_")
      target_link_libraries(${_name} PRIVATE Threads::Threads)
      add_test(NAME ${_name} COMMAND ${_name})
    else()
      target_link_libraries(${_name} PRIVATE "${CRITERION_LIB}")
      add_test(NAME ${_name} COMMAND ${_name} --jobs 2 --short-filename)
    endif()
    set_tests_properties(${_name} PROPERTIES LABELS "${_labels};aspace_hooks" TIMEOUT 600
      ENVIRONMENT "ASAN_OPTIONS=handle_segv=0")
  endfunction()

  foreach(_t test_mempool test_instance test_instance_pool)
    k23_add_aspace_test(${_t}_aspace unit
      "${CMAKE_CURRENT_LIST_DIR}/${_t}.c" ${K23_TEST_SUPPORT})
  endforeach()
  k23_add_aspace_test(stress_mempool_aspace "unit;threads"
    "${CMAKE_CURRENT_LIST_DIR}/stress_mempool.c")
  k23_add_aspace_test(test_port_hosted_aspace unit
    "${CMAKE_CURRENT_LIST_DIR}/ports/hosted/aspace_hooks.c")
endif()
