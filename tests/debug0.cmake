# SPDX-License-Identifier: Apache-2.0 OR MIT
# The frame allocator's and the object caches' argument checks and misuse
# panics must not depend on the debug level (README, "Invalid arguments"):
# their suites also run against the K23_DEBUG=0 copy of the library
# (k23_add_debug0_test, tests/CMakeLists.txt).
if(COMMAND k23_add_debug0_test AND NOT K23_DEBUG STREQUAL "0")
  foreach(_k23_nd_test test_frames_args test_frames test_kmem)
    k23_add_debug0_test(${_k23_nd_test})
  endforeach()
endif()
