# SPDX-License-Identifier: Apache-2.0 OR MIT
# The k23mem-slab command line: kv output, exit codes, suffixes, --width 32.
if(K23_PORT_HOSTED AND TARGET k23mem-slab)
  add_test(NAME slab_tool
    COMMAND sh "${CMAKE_CURRENT_LIST_DIR}/slab_tool.sh" $<TARGET_FILE:k23mem-slab>)
  set_tests_properties(slab_tool PROPERTIES LABELS "unit;tool" TIMEOUT 120)
endif()

# test_mempool starts threads (its TSan twin is tests/stress_mempool.c).
if(TARGET test_mempool)
  target_link_libraries(test_mempool PRIVATE Threads::Threads)
endif()
