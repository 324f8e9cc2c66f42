# SPDX-License-Identifier: Apache-2.0 OR MIT
# With glibc's rseq registration switched off, the hosted port's probe
# must turn the fast path off (test_port_hosted's
# no_fast_path_without_glibc_rseq) and find CPU numbers without it.
if(K23_PORT_HOSTED AND TARGET test_port_hosted)
  add_test(NAME test_port_hosted_glibc_without_rseq
    COMMAND test_port_hosted --short-filename)
  set_tests_properties(test_port_hosted_glibc_without_rseq PROPERTIES
    LABELS "unit" TIMEOUT 300
    ENVIRONMENT "GLIBC_TUNABLES=glibc.pthread.rseq=0;ASAN_OPTIONS=handle_segv=0")
endif()
