# SPDX-License-Identifier: Apache-2.0 OR MIT
# Demo step: k23mem-memmap on the device trees of QEMU's virt machines.
if(TARGET k23mem-memmap)
  set(K23_MEMMAP_TOOL "$<TARGET_FILE:k23mem-memmap>")
  set(K23_MEMMAP_DEMO_DIR "${CMAKE_CURRENT_BINARY_DIR}/memmap-demo")
  configure_file("${CMAKE_CURRENT_LIST_DIR}/qemu-virt-memmap.sh.in"
                 "${CMAKE_CURRENT_BINARY_DIR}/qemu-virt-memmap.sh.gen" @ONLY)
  file(GENERATE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/k23mem-memmap-qemu-demo"
       INPUT "${CMAKE_CURRENT_BINARY_DIR}/qemu-virt-memmap.sh.gen"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                        GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endif()
