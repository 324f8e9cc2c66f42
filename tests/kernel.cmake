# SPDX-License-Identifier: Apache-2.0 OR MIT
# The kernel port (issue 8).
#
# In a kernel build (K23_PORT=kernel, a ports/kernel/toolchain-<arch>.cmake
# toolchain) this declares the example kernel. In the plain hosted build it
# cross-builds both kernels as sub-builds of this same source tree and
# boots each under QEMU with several memory layouts (ctest label "qemu").
# Sanitizer trees skip it: the kernels do not change with the host's
# sanitizers, and scripts/test runs label qemu in the plain tree only.
if(K23_PORT STREQUAL "kernel")
  include("${PROJECT_SOURCE_DIR}/ports/kernel/kernel.cmake")
  return()
endif()
if(NOT K23_PORT_HOSTED OR K23_SANITIZE)
  return()
endif()
option(K23_KERNEL_TESTS "Cross-build the QEMU example kernels and boot them in ctest (label qemu)" ON)
if(NOT K23_KERNEL_TESTS)
  return()
endif()

set(_k23k_archs "")
foreach(_arch aarch64 riscv64)
  if(_arch STREQUAL "aarch64")
    set(_cc aarch64-linux-gnu-gcc)
  else()
    set(_cc riscv64-unknown-elf-gcc)
  endif()
  find_program(K23_KERNEL_${_arch}_CC ${_cc})
  find_program(K23_KERNEL_${_arch}_QEMU qemu-system-${_arch})
  if(K23_KERNEL_${_arch}_CC AND K23_KERNEL_${_arch}_QEMU)
    list(APPEND _k23k_archs ${_arch})
  else()
    message(STATUS "kernel port: ${_arch} kernel skipped (needs ${_cc} and qemu-system-${_arch}; see scripts/deps.d/kernel)")
  endif()
endforeach()
find_program(K23_KERNEL_APT apt-get)
find_program(K23_KERNEL_DPKG dpkg-deb)
if(_k23k_archs AND (NOT K23_KERNEL_APT OR NOT K23_KERNEL_DPKG))
  message(STATUS "kernel port: kernels skipped (libfdt is fetched with apt-get and dpkg)")
  set(_k23k_archs "")
endif()

include(ExternalProject)
# One apt index and download cache for both kernels (fetch-libfdt.sh locks
# it), kept in this build folder.
set(K23_KERNEL_DEPS "${CMAKE_BINARY_DIR}/kernel-deps" CACHE PATH
  "Where the kernel builds keep their private apt index and downloads")

# Memory layouts and CPU counts every kernel boots with (each boot runs
# the SMP stress on all its CPUs). Two NUMA nodes need memory-backend
# objects; QEMU then writes one /memory node per node.
set(_k23k_configs 128M 1G 3G numa2 smp4_128M)
set(_k23k_args_128M "-smp 1 -m 128M")
set(_k23k_args_1G "-smp 2 -m 1G")
set(_k23k_args_3G "-smp 4 -m 3G")
set(_k23k_args_smp4_128M "-smp 4 -m 128M")
set(_k23k_args_numa2 "-smp 2 -m 256M -object memory-backend-ram,id=k23m0,size=128M -object memory-backend-ram,id=k23m1,size=128M -numa node,nodeid=0,memdev=k23m0,cpus=0 -numa node,nodeid=1,memdev=k23m1,cpus=1")

foreach(_arch IN LISTS _k23k_archs)
  set(_bin "${CMAKE_BINARY_DIR}/kernel-${_arch}")
  ExternalProject_Add(k23-kernel-${_arch}
    SOURCE_DIR "${PROJECT_SOURCE_DIR}"
    BINARY_DIR "${_bin}"
    CMAKE_ARGS
      -DK23_PORT=kernel
      -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/ports/kernel/toolchain-${_arch}.cmake
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
      -DK23_DEBUG=${K23_DEBUG}
      -DK23_WERROR=${K23_WERROR}
      -DK23_KERNEL_DEPS=${K23_KERNEL_DEPS}
    BUILD_COMMAND ${CMAKE_COMMAND} --build "${_bin}" --target k23-kernel
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    BUILD_BYPRODUCTS "${_bin}/k23-kernel-${_arch}.elf")
  foreach(_cfg IN LISTS _k23k_configs)
    add_test(NAME kernel_${_arch}_${_cfg}
      COMMAND "${PROJECT_SOURCE_DIR}/ports/kernel/qemu-run" ${_arch}
              "${_bin}/k23-kernel-${_arch}.elf")
    set_tests_properties(kernel_${_arch}_${_cfg} PROPERTIES
      LABELS "qemu" TIMEOUT 400
      ENVIRONMENT "K23_QEMU_ARGS=${_k23k_args_${_cfg}}")
  endforeach()
  # aarch64 with a GICv3 (QEMU's default is v2): the timer interrupt
  # through the redistributors and the ICC system registers.
  if(_arch STREQUAL "aarch64")
    add_test(NAME kernel_aarch64_gicv3
      COMMAND "${PROJECT_SOURCE_DIR}/ports/kernel/qemu-run" aarch64
              "${_bin}/k23-kernel-aarch64.elf")
    set_tests_properties(kernel_aarch64_gicv3 PROPERTIES
      LABELS "qemu" TIMEOUT 400
      ENVIRONMENT "K23_QEMU_ARGS=-smp 4 -m 256M -M virt,gic-version=3"
      PASS_REGULAR_EXPRESSION "GICv3 at .*K23MEM-SELFTEST PASS")
  endif()
  # The self-test can fail: each injected fault (-append k23.inject=...)
  # must end in the FAIL verdict matching the regex and a non-zero exit:
  #  - dtb: the DTB's pages handed to the allocator as free memory; the
  #    every-frame step must report a frame inside the device tree;
  #  - local-tlb: TLB flushes kept on the flushing CPU; the other CPU still
  #    reaches the unmapped page;
  #  - wx: the data segment's flags ask for execute too; building the
  #    kernel address space must refuse it.
  foreach(_inj "dtb|-append k23.inject=dtb|overlaps excluded device tree"
                "tlb|-smp 2 -append k23.inject=local-tlb|shootdown: [^\n]*stale TLB entry"
                "wx|-smp 2 -append k23.inject=wx|segment data asks for W\\+X: refused")
    string(REPLACE "|" ";" _inj "${_inj}")
    list(GET _inj 0 _name)
    list(GET _inj 1 _qargs)
    list(GET _inj 2 _expect)
    add_test(NAME kernel_${_arch}_inject_${_name}
      COMMAND sh -c "\"$0\" \"$1\" \"$2\"; echo \"injected run exit status $?\""
              "${PROJECT_SOURCE_DIR}/ports/kernel/qemu-run" ${_arch}
              "${_bin}/k23-kernel-${_arch}.elf")
    set_tests_properties(kernel_${_arch}_inject_${_name} PROPERTIES
      LABELS "qemu" TIMEOUT 400
      ENVIRONMENT "K23_QEMU_ARGS=${_qargs}"
      PASS_REGULAR_EXPRESSION "K23MEM-SELFTEST FAIL [^\n]*${_expect}.*injected run exit status [1-9]"
      FAIL_REGULAR_EXPRESSION "K23MEM-SELFTEST PASS")
  endforeach()
  # A /reserved-memory node (QEMU's tree plus two reservations, one
  # no-map, through -dtb): both taken out of the free map, the no-map one
  # left out of the direct map, a read of it faulting on a guard.
  add_test(NAME kernel_${_arch}_resmem
    COMMAND "${PROJECT_SOURCE_DIR}/ports/kernel/qemu-resmem.sh" ${_arch}
            "${_bin}/k23-kernel-${_arch}.elf")
  set_tests_properties(kernel_${_arch}_resmem PROPERTIES
    LABELS "qemu" TIMEOUT 400
    PASS_REGULAR_EXPRESSION "reserved-memory: k23-nomap@[48]4000000 \\(no-map\\).*reserved-memory: k23-keep@[48]6000000.*region [^\n]*k23-nomap@[48]4000000 +guard.*fault: read of a no-map reservation[^\n]*aspace: guard.*K23MEM-SELFTEST PASS"
    FAIL_REGULAR_EXPRESSION "K23MEM-SELFTEST FAIL")
  # The ELF's program headers match what the kernel checks at boot.
  add_test(NAME kernel_${_arch}_segments
    COMMAND "${PROJECT_SOURCE_DIR}/ports/kernel/check-segments.sh"
            "${_bin}/k23-kernel-${_arch}.elf")
  set_tests_properties(kernel_${_arch}_segments PROPERTIES LABELS "qemu")
endforeach()

# A wrapper in the build tree for the demo and for people: boots
# kernel-<arch>/k23-kernel-<arch>.elf of this tree.
if(_k23k_archs)
  file(CONFIGURE OUTPUT "${CMAKE_BINARY_DIR}/qemu-run" CONTENT
"#!/bin/sh
# Generated by tests/kernel.cmake: boot this build tree's example kernel.
# Usage: ./qemu-run aarch64|riscv64   (extra QEMU words in K23_QEMU_ARGS)
exec \"${PROJECT_SOURCE_DIR}/ports/kernel/qemu-run\" \"$1\" \"${CMAKE_BINARY_DIR}/kernel-$1/k23-kernel-$1.elf\"
" @ONLY)
  file(CHMOD "${CMAKE_BINARY_DIR}/qemu-run" PERMISSIONS OWNER_READ OWNER_WRITE
    OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endif()
