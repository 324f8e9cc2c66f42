# Device-tree memory map (src/fdt_memmap.c): test DTBs compiled from
# tests/fdt/*.dts with dtc, the Criterion suite's DTB folder, the tool's
# tests, the QEMU virt maps, the libFuzzer target and the freestanding
# build of the module.
find_program(K23_DTC dtc)
if(NOT K23_DTC)
  message(FATAL_ERROR "dtc not found: apt-get install device-tree-compiler (scripts/test does this)")
endif()

set(K23_FDT_DTB_DIR "${CMAKE_CURRENT_BINARY_DIR}/fdt")
file(MAKE_DIRECTORY "${K23_FDT_DTB_DIR}")
file(GLOB K23_FDT_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/fdt/*.dts")
set(K23_FDT_DTBS "")
foreach(_dts IN LISTS K23_FDT_SOURCES)
  get_filename_component(_name "${_dts}" NAME_WE)
  set(_dtb "${K23_FDT_DTB_DIR}/${_name}.dtb")
  # Malformed sources are malformed on purpose: -f makes dtc write them.
  set(_force "")
  if(_name MATCHES "^bad-")
    set(_force -f)
  endif()
  add_custom_command(OUTPUT "${_dtb}"
    COMMAND "${K23_DTC}" -q ${_force} -I dts -O dtb -o "${_dtb}" "${_dts}"
    DEPENDS "${_dts}" COMMENT "dtc ${_name}.dts" VERBATIM)
  list(APPEND K23_FDT_DTBS "${_dtb}")
endforeach()
add_custom_target(k23_fdt_dtbs ALL DEPENDS ${K23_FDT_DTBS})

if(TARGET test_fdt_memmap)
  add_dependencies(test_fdt_memmap k23_fdt_dtbs)
  target_compile_definitions(test_fdt_memmap PRIVATE
    K23_FDT_DTB_DIR="${K23_FDT_DTB_DIR}")
endif()
