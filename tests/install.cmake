# SPDX-License-Identifier: Apache-2.0 OR MIT
# Install into a temporary prefix and build a separate program against it
# with pkg-config and with find_package (tests/install/check.sh).
if(K23_PORT_HOSTED AND NOT K23_SANITIZE)
  add_test(NAME install_pkgconfig_and_find_package
    COMMAND bash "${PROJECT_SOURCE_DIR}/tests/install/check.sh"
            "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_BINARY_DIR}/install-check")
  set_tests_properties(install_pkgconfig_and_find_package PROPERTIES LABELS "install" TIMEOUT 300)
endif()
