# SPDX-License-Identifier: Apache-2.0 OR MIT
# The frame allocator's per-CPU caches once more without the port's rseq
# fast path (K23MEM_NO_RSEQ makes k23_port_pcpu_fast() false), so that the
# locked caches stay tested in the builds where the fast path is on.
if(K23_PORT_HOSTED AND TARGET test_frames)
  add_test(NAME test_frames_no_rseq
    COMMAND test_frames --jobs 2 --short-filename)
  set_tests_properties(test_frames_no_rseq PROPERTIES LABELS "unit"
    TIMEOUT 600 ENVIRONMENT "K23MEM_NO_RSEQ=1;ASAN_OPTIONS=handle_segv=0")
endif()
if(K23_PORT_HOSTED AND TARGET stress_frames)
  add_test(NAME stress_frames_no_rseq COMMAND stress_frames)
  set_tests_properties(stress_frames_no_rseq PROPERTIES LABELS "unit"
    TIMEOUT 600 ENVIRONMENT "K23MEM_NO_RSEQ=1")
endif()
if(K23_PORT_HOSTED AND TARGET test_frames_opts)
  add_test(NAME test_frames_opts_no_rseq
    COMMAND test_frames_opts --jobs 2 --short-filename)
  set_tests_properties(test_frames_opts_no_rseq PROPERTIES LABELS "unit"
    ENVIRONMENT "K23MEM_NO_RSEQ=1;ASAN_OPTIONS=handle_segv=0")
endif()
# The same stress with poisoning, per-CPU statistics and per-frame records.
if(TARGET stress_frames)
  add_test(NAME stress_frames_opts COMMAND stress_frames)
  set_tests_properties(stress_frames_opts PROPERTIES LABELS "unit;threads"
    TIMEOUT 600 ENVIRONMENT "K23_STRESS_FRAMES_OPTS=1")
endif()
# The stripes' stress once more with the caches off: single frames take
# the arena's one-lock path (k23_arena_take_one_, k23_arena_free_one_)
# while runs, whole chunks and the checker compete for the same stripes.
if(TARGET stress_frames_stripes)
  add_test(NAME stress_frames_stripes_caches_off COMMAND stress_frames_stripes)
  set_tests_properties(stress_frames_stripes_caches_off PROPERTIES
    LABELS "unit;threads" TIMEOUT 600 ENVIRONMENT "K23_STRESS_CACHES_OFF=1")
endif()
