# SPDX-License-Identifier: Apache-2.0 OR MIT
# Lock contracts the compiler checks (k23mem/thread_safety.h): the core,
# the hosted port, ports/common and the kernel port's locking files
# compiled with clang -Wthread-safety -Werror (compile only, seconds), and
# a deliberately wrong file that the same check must reject.
if(NOT K23_PORT_HOSTED OR K23_SANITIZE)
  return()
endif()
find_program(K23_TSA_CLANG clang)
if(NOT K23_TSA_CLANG)
  return()
endif()
add_test(NAME thread_safety_clang
  COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/thread_safety/check.sh" "${PROJECT_SOURCE_DIR}")
set_tests_properties(thread_safety_clang PROPERTIES LABELS "unit" TIMEOUT 300
  SKIP_RETURN_CODE 77 ENVIRONMENT "K23_TSA_CC=${K23_TSA_CLANG}")
add_test(NAME thread_safety_rejects_unlocked_call
  COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/thread_safety/check.sh" "${PROJECT_SOURCE_DIR}"
          "${CMAKE_CURRENT_SOURCE_DIR}/thread_safety/bad_unlocked_call.c")
set_tests_properties(thread_safety_rejects_unlocked_call PROPERTIES LABELS "unit" TIMEOUT 60
  ENVIRONMENT "K23_TSA_CC=${K23_TSA_CLANG}"
  PASS_REGULAR_EXPRESSION "calling function 'counter_bump_locked' requires holding mutex 'c->lock'")
