# SPDX-License-Identifier: Apache-2.0 OR MIT
# Install headers, libraries, k23mem.pc and a CMake package config.
include(CMakePackageConfigHelpers)

# Components (one Debian package each, cmake/package.cmake): lib the
# shared library, dev everything to build against it, tools the programs.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/k23mem"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT dev)
# The port's k23_port_config.h is private to the library's build: the
# installed headers do not depend on the port (tests/release/layout.sh).
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE-APACHE" "${PROJECT_SOURCE_DIR}/LICENSE-MIT"
              "${PROJECT_SOURCE_DIR}/CHANGELOG.md" "${PROJECT_SOURCE_DIR}/README.md"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT dev)
install(TARGETS ${K23_INSTALL_TARGETS} EXPORT k23memTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT lib NAMELINK_COMPONENT dev
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT lib
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT k23memTargets NAMESPACE k23mem::
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/k23mem" COMPONENT dev)

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/k23memConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/k23memConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/k23mem")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/k23memConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/k23memConfig.cmake"
              "${PROJECT_BINARY_DIR}/k23memConfigVersion.cmake"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/k23mem" COMPONENT dev)

# pkg-config: prefix-relative paths so a relocated prefix still works.
set(K23_PC_LIBS_PRIVATE "${K23_PORT_PC_LIBS}")
file(RELATIVE_PATH K23_PC_PREFIX_FROM_PCDIR
     "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file("${PROJECT_SOURCE_DIR}/pkgconfig/k23mem.pc.in"
               "${PROJECT_BINARY_DIR}/k23mem.pc" @ONLY)
# k23mem-static.pc names libk23mem.a by path: `pkg-config --static k23mem`
# only adds Libs.private, and the linker still prefers libk23mem.so.
configure_file("${PROJECT_SOURCE_DIR}/pkgconfig/k23mem-static.pc.in"
               "${PROJECT_BINARY_DIR}/k23mem-static.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/k23mem.pc" "${PROJECT_BINARY_DIR}/k23mem-static.pc"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT dev)

include("${PROJECT_SOURCE_DIR}/cmake/package.cmake")
