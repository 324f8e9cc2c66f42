# The frame allocator's argument checks and misuse panics must not depend
# on the debug level (README, "Invalid arguments"). The suite's trees build
# with K23_DEBUG 2 and 3, so build a K23_DEBUG=0 copy of the library's
# objects here and run the frames tests against it.
if(TARGET test_frames_args AND NOT K23_DEBUG STREQUAL "0")
  get_target_property(_k23_nd_sources k23mem_objects SOURCES)
  add_library(k23mem_objects_ndebug OBJECT EXCLUDE_FROM_ALL ${_k23_nd_sources})
  target_compile_definitions(k23mem_objects_ndebug PRIVATE K23_DEBUG=0)
  target_include_directories(k23mem_objects_ndebug
    PUBLIC "${PROJECT_SOURCE_DIR}/include" "${K23_PORT_DIR}"
    PRIVATE "${PROJECT_SOURCE_DIR}/src")
  foreach(_k23_nd_test test_frames_args test_frames)
    add_executable(${_k23_nd_test}_ndebug
      "${CMAKE_CURRENT_SOURCE_DIR}/${_k23_nd_test}.c" ${K23_TEST_SUPPORT}
      $<TARGET_OBJECTS:k23mem_objects_ndebug>)
    set_target_properties(${_k23_nd_test}_ndebug PROPERTIES C_EXTENSIONS ON)
    target_compile_definitions(${_k23_nd_test}_ndebug PRIVATE K23_DEBUG=0)
    target_include_directories(${_k23_nd_test}_ndebug PRIVATE
      "${CRITERION_INCLUDE}" "${CMAKE_CURRENT_SOURCE_DIR}/support"
      "${PROJECT_SOURCE_DIR}/src" "${PROJECT_SOURCE_DIR}/include"
      "${K23_PORT_DIR}")
    target_link_libraries(${_k23_nd_test}_ndebug PRIVATE ${K23_PORT_LIBS}
      "${CRITERION_LIB}")
    add_test(NAME ${_k23_nd_test}_ndebug
      COMMAND ${_k23_nd_test}_ndebug --jobs 2 --short-filename)
    set_tests_properties(${_k23_nd_test}_ndebug PROPERTIES LABELS "unit"
      TIMEOUT 600 ENVIRONMENT "ASAN_OPTIONS=handle_segv=0")
  endforeach()
endif()
