# Device-tree memory map (src/fdt_memmap.c): test DTBs compiled from
# tests/fdt/*.dts with dtc, the Criterion suite's DTB folder, the tool's
# tests, the QEMU virt maps, the libFuzzer target and the freestanding
# build of the module.
# Only where the module is built (the wasm32 port excludes it) and the
# tests can run (hosted).
if(NOT K23_PORT_HOSTED OR "fdt_memmap.c" IN_LIST K23_CORE_EXCLUDE)
  return()
endif()

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

# ---- the k23mem-memmap tool and QEMU's virt machines ----
if(TARGET k23mem-memmap)
  add_test(NAME fdt_memmap_tool
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_tool_test.sh"
            "$<TARGET_FILE:k23mem-memmap>" "${K23_FDT_DTB_DIR}"
            "${CMAKE_CURRENT_BINARY_DIR}/fdt-tool")
  set_tests_properties(fdt_memmap_tool PROPERTIES LABELS "tool" TIMEOUT 120)

  find_program(K23_QEMU_AARCH64 qemu-system-aarch64)
  find_program(K23_QEMU_RISCV64 qemu-system-riscv64)
  if(K23_QEMU_AARCH64 AND K23_QEMU_RISCV64)
    add_test(NAME fdt_memmap_qemu_virt
      COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/fdt_qemu.sh"
              "$<TARGET_FILE:k23mem-memmap>" "${CMAKE_CURRENT_BINARY_DIR}/fdt-qemu")
    set_tests_properties(fdt_memmap_qemu_virt PROPERTIES LABELS "qemu" TIMEOUT 300)
  else()
    message(STATUS "fdt: qemu-system-aarch64/riscv64 missing, QEMU virt map test skipped")
  endif()
endif()

# ---- libFuzzer over the parser (plain build, clang with libFuzzer only) ----
# Built with clang straight from the sources whatever CMAKE_C_COMPILER is;
# the seeds are the DTBs compiled above plus tests/fuzz/corpus.
find_program(K23_FUZZ_CLANG clang)
if(K23_FUZZ_CLANG AND NOT K23_SANITIZE AND K23_PORT_HOSTED)
  set(_probe "${CMAKE_CURRENT_BINARY_DIR}/fuzz-probe")
  file(WRITE "${_probe}.c"
    "#include <stdint.h>\n#include <stddef.h>\n"
    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
    "{ (void)d; (void)n; return 0; }\n")
  execute_process(COMMAND "${K23_FUZZ_CLANG}" -fsanitize=fuzzer,address
                          "${_probe}.c" -o "${_probe}"
                  RESULT_VARIABLE _fuzz_rc OUTPUT_QUIET ERROR_QUIET)
  if(_fuzz_rc EQUAL 0)
    set(_fuzz "${CMAKE_CURRENT_BINARY_DIR}/fuzz_fdt_memmap")
    set(_fuzz_src "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_fdt_memmap.c"
                  "${PROJECT_SOURCE_DIR}/src/fdt_memmap.c"
                  "${PROJECT_SOURCE_DIR}/src/error.c")
    add_custom_command(OUTPUT "${_fuzz}"
      COMMAND "${K23_FUZZ_CLANG}" -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined
              -fno-sanitize-recover=all -DK23_DEBUG=3
              -I "${PROJECT_SOURCE_DIR}/include" -I "${K23_PORT_DIR}"
              -I "${PROJECT_SOURCE_DIR}/src" ${_fuzz_src} -lfdt -o "${_fuzz}"
      DEPENDS ${_fuzz_src} COMMENT "libFuzzer target fuzz_fdt_memmap" VERBATIM)
    add_custom_target(fuzz_fdt_memmap_build ALL DEPENDS "${_fuzz}" k23_fdt_dtbs)
    # 30 s of fuzzing from a fresh working corpus each run.
    add_test(NAME fdt_memmap_fuzz
      COMMAND bash -c "rm -rf \"$1\" && mkdir -p \"$1\" && cd \"$1\" && \"$0\" -max_total_time=30 -max_len=4096 -timeout=10 -print_final_stats=1 \"$1\" \"$2\" \"$3\""
              "${_fuzz}" "${CMAKE_CURRENT_BINARY_DIR}/fuzz-work"
              "${K23_FDT_DTB_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus")
    set_tests_properties(fdt_memmap_fuzz PROPERTIES LABELS "fuzz" TIMEOUT 120)
  else()
    message(STATUS "fdt: clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev?), fuzz test skipped")
  endif()
endif()
