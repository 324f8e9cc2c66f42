# SPDX-License-Identifier: Apache-2.0 OR MIT
# The page-table tests link the independent table reader (pt_decoder.c),
# kept out of tests/support so no other suite carries it.
if(TARGET test_pagetable)
  target_sources(test_pagetable PRIVATE "${CMAKE_CURRENT_LIST_DIR}/pt_decoder.c")
endif()
