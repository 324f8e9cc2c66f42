# SPDX-License-Identifier: Apache-2.0 OR MIT
# The object caches once more without the port's rseq fast path
# (K23MEM_NO_RSEQ makes k23_port_pcpu_fast() false): the locked magazines
# and the general alloc/free paths, in the builds where the fast path is
# on (ThreadSanitizer builds have no fast path and test the locked one
# anyway).
if(K23_PORT_HOSTED AND TARGET test_kmem)
  add_test(NAME test_kmem_no_rseq
    COMMAND test_kmem --jobs 2 --short-filename)
  set_tests_properties(test_kmem_no_rseq PROPERTIES LABELS "unit"
    TIMEOUT 600 ENVIRONMENT "K23MEM_NO_RSEQ=1;ASAN_OPTIONS=handle_segv=0")
endif()
if(K23_PORT_HOSTED AND TARGET stress_kmem)
  add_test(NAME stress_kmem_no_rseq COMMAND stress_kmem)
  set_tests_properties(stress_kmem_no_rseq PROPERTIES LABELS "unit"
    TIMEOUT 600 ENVIRONMENT "K23MEM_NO_RSEQ=1")
endif()
