# SPDX-License-Identifier: Apache-2.0 OR MIT
# The modules of the core (src/): each one's sources and the modules it
# calls. One table for every route that builds a subset of the core: the
# library (K23_MODULES), the amalgamation (cmake/amalgamate.cmake) and the
# table in docs/porting.md (cmake/module-table.cmake). The test
# release_module_table checks it against the code: every src/*.c in
# exactly one module, and a module's sources with those of the modules it
# names leave no k23_* symbol undefined but the port's hooks.
#
# Included by CMakeLists.txt and by the -P scripts: plain variables and a
# function, nothing that needs a project.

# In dependency order: a module comes after every module it needs, so a
# resolved set keeps this order.
set(K23_MODULES_ALL
  base range perm bitmap frames kmem pagetable aspace
  slab_layout mempool instance instance_pool megablock fdt_memmap)

# What every other module calls: error strings, the byte helpers and log
# formatting (libc.c), k23_version().
set(K23_MODULE_base_SOURCES        error.c libc.c version.c)
set(K23_MODULE_base_NEEDS          "")
set(K23_MODULE_range_SOURCES       range.c)
set(K23_MODULE_range_NEEDS         "")
set(K23_MODULE_perm_SOURCES        perm.c)
set(K23_MODULE_perm_NEEDS          "")
set(K23_MODULE_bitmap_SOURCES      bitmap.c)
set(K23_MODULE_bitmap_NEEDS        "")
set(K23_MODULE_frames_SOURCES      frames.c frames_pcpu.c arena.c frames_select.c frames_plan.c)
set(K23_MODULE_frames_NEEDS        bitmap range)
set(K23_MODULE_kmem_SOURCES        kmem.c)
set(K23_MODULE_kmem_NEEDS          frames)
set(K23_MODULE_pagetable_SOURCES   pagetable.c pagetable_format.c pagetable_fault.c)
set(K23_MODULE_pagetable_NEEDS     frames perm)
set(K23_MODULE_aspace_SOURCES      aspace.c aspace_tree.c aspace_vm.c)
set(K23_MODULE_aspace_NEEDS        pagetable perm)
set(K23_MODULE_slab_layout_SOURCES slab_layout.c)
set(K23_MODULE_slab_layout_NEEDS   "")
set(K23_MODULE_mempool_SOURCES     mempool.c)
set(K23_MODULE_mempool_NEEDS       slab_layout)
set(K23_MODULE_instance_SOURCES    instance.c)
set(K23_MODULE_instance_NEEDS      "")
set(K23_MODULE_instance_pool_SOURCES instance_pool.c)
set(K23_MODULE_instance_pool_NEEDS instance mempool)
set(K23_MODULE_megablock_SOURCES   megablock.c)
set(K23_MODULE_megablock_NEEDS     bitmap)
# Needs libfdt (libfdt.h and the library) for the target: only when asked
# for in a core-only build or an amalgamation.
set(K23_MODULE_fdt_memmap_SOURCES  fdt_memmap.c)
set(K23_MODULE_fdt_memmap_NEEDS    range)

# The modules a core-only build or an amalgamation takes by default.
set(K23_MODULES_DEFAULT ${K23_MODULES_ALL})
list(REMOVE_ITEM K23_MODULES_DEFAULT fdt_memmap)

# k23_modules_resolve(<out_modules> <out_sources> <requested...>)
# The requested modules, the modules they need (transitively) and base,
# in K23_MODULES_ALL order; the sources as file names under src/. An
# unknown name is a fatal error naming the known ones.
function(k23_modules_resolve out_modules out_sources)
  set(_want base ${ARGN})
  set(_have "")
  while(_want)
    list(POP_FRONT _want _m)
    if(_m IN_LIST _have)
      continue()
    endif()
    if(NOT _m IN_LIST K23_MODULES_ALL)
      string(REPLACE ";" ", " _known "${K23_MODULES_ALL}")
      message(FATAL_ERROR "K23_MODULES: no module '${_m}' (modules: ${_known})")
    endif()
    list(APPEND _have ${_m})
    list(APPEND _want ${K23_MODULE_${_m}_NEEDS})
  endwhile()
  set(_mods "")
  set(_srcs "")
  foreach(_m IN LISTS K23_MODULES_ALL)
    if(_m IN_LIST _have)
      list(APPEND _mods ${_m})
      list(APPEND _srcs ${K23_MODULE_${_m}_SOURCES})
    endif()
  endforeach()
  set(${out_modules} "${_mods}" PARENT_SCOPE)
  set(${out_sources} "${_srcs}" PARENT_SCOPE)
endfunction()
