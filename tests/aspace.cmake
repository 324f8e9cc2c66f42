# SPDX-License-Identifier: Apache-2.0 OR MIT
# The address-space tests read the page tables back with the independent
# reader (pt_decoder.c), as the page-table tests do; log2 needs libm.
if(TARGET test_aspace)
  target_sources(test_aspace PRIVATE "${CMAKE_CURRENT_LIST_DIR}/pt_decoder.c")
  target_link_libraries(test_aspace PRIVATE m)
endif()
# The same suite against the K23_DEBUG=0 core: argument checks hold in
# every build (README, "Invalid arguments").
if(COMMAND k23_add_debug0_test AND TARGET test_aspace)
  k23_add_debug0_test(test_aspace)
  target_sources(test_aspace_debug0 PRIVATE "${CMAKE_CURRENT_LIST_DIR}/pt_decoder.c")
  target_link_libraries(test_aspace_debug0 PRIVATE m)
endif()
