# SPDX-License-Identifier: Apache-2.0 OR MIT
# Every source, header, script and CMake file carries the licence's SPDX
# line (tests/release/spdx.sh; "add" mode writes the missing ones).
find_program(K23_GIT git)
if(K23_GIT AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  add_test(NAME release_spdx_lines
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/release/spdx.sh" check "${PROJECT_SOURCE_DIR}")
  set_tests_properties(release_spdx_lines PROPERTIES LABELS "release")
endif()
