# SPDX-License-Identifier: Apache-2.0 OR MIT
# The hosted port on a kernel whose membarrier() lacks the rseq commands
# (before Linux 5.10, or a seccomp policy that refuses membarrier):
# tests/ports/hosted/no_membarrier.c runs a program under a seccomp filter
# that fails every membarrier() call. test_port_hosted then checks that
# the probe left the fast path off (no_fast_path_without_membarrier_rseq),
# and the object caches' stress runs on their locks. Skipped (exit 77)
# where no filter can be installed.
if(K23_PORT_HOSTED AND TARGET test_port_hosted)
  add_executable(no_membarrier
    "${CMAKE_CURRENT_SOURCE_DIR}/ports/hosted/no_membarrier.c")
  set_target_properties(no_membarrier PROPERTIES C_EXTENSIONS ON)
  add_test(NAME test_port_hosted_no_membarrier
    COMMAND no_membarrier "$<TARGET_FILE:test_port_hosted>" --short-filename)
  set_tests_properties(test_port_hosted_no_membarrier PROPERTIES
    LABELS "unit" TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "ASAN_OPTIONS=handle_segv=0")
  if(TARGET stress_kmem)
    add_test(NAME stress_kmem_no_membarrier
      COMMAND no_membarrier "$<TARGET_FILE:stress_kmem>")
    set_tests_properties(stress_kmem_no_membarrier PROPERTIES
      LABELS "unit" TIMEOUT 600 SKIP_RETURN_CODE 77)
  endif()
endif()
