/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file port.h
 * The port contract: everything a host supplies to libk23mem.
 *
 * Exactly one port is linked with the portable core (`src/`). The library
 * calls these hooks and nothing else of its host. Each port lives in
 * `ports/<name>/` with a `k23_port_config.h`, which defines
 * the lock type `k23_port_lock_t` and `K23_PORT_CACHE_LINE`, and the C file(s)
 * implementing the functions below.
 *
 * Rules for every hook, unless the hook says otherwise:
 * - it may be called from any thread or CPU, at any time after the port is
 *   usable (the hosted port needs no init; a kernel port is usable once its
 *   console and memory map are up);
 * - it must not call back into libk23mem;
 * - pointer arguments are never NULL, and addresses and sizes passed to the
 *   virtual-memory hooks are multiples of `caps.page_size`;
 * - hooks returning int return #K23_OK or a negative K23_ERR_* code.
 *
 * Because GCC and clang may emit calls to memset, memcpy, memmove and
 * memcmp even in freestanding code, every port must also make those four
 * symbols available (a hosted libc does).
 */
#ifndef K23MEM_PORT_H
#define K23MEM_PORT_H

#include "k23mem/error.h"
#include "k23mem/types.h"
#include "k23_port_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---- */

/** What the host can do; filled by k23_port_caps(). */
typedef struct k23_port_caps {
    size_t page_size;        /**< smallest unit the VM hooks work in, bytes (power of two) */
    size_t alloc_granularity;/**< alignment of k23_port_vm_reserve() results, bytes */
    bool can_decommit;       /**< k23_port_vm_decommit() really returns memory */
    bool can_release;        /**< k23_port_vm_release() really returns address space */
    bool has_vm;             /**< the VM hooks work at all (false: they return K23_ERR_UNSUPPORTED) */
    unsigned pkeys_available;/**< memory protection keys this host can give out (0: none) */
} k23_port_caps_t;

/** Log levels for k23_port_log(). */
enum k23_log_level {
    K23_LOG_ERROR = 0, /**< something failed */
    K23_LOG_WARN = 1,  /**< something is off but was handled */
    K23_LOG_INFO = 2,  /**< what was done */
    K23_LOG_DEBUG = 3  /**< detail for developers */
};

/* ---- locking ---- */

/**
 * Initialize a lock. Must be called before any other use of @p l.
 * @param[out] l  the lock
 * @context Any.
 */
K23_API void k23_port_lock_init(k23_port_lock_t *l);

/**
 * Acquire a lock; spins or sleeps until it is free. Not recursive.
 * @param[in,out] l  an initialized lock not held by the caller
 * @context Any context in which the port's lock may be taken.
 */
K23_API void k23_port_lock_acquire(k23_port_lock_t *l);

/**
 * Release a lock held by the caller.
 * @param[in,out] l  a lock the caller holds
 * @context Any.
 */
K23_API void k23_port_lock_release(k23_port_lock_t *l);

/**
 * Whether the calling thread or CPU holds @p l. Used by assertions only; a
 * port that cannot tell may return true.
 * @param[in] l  an initialized lock
 * @return true when held by the caller
 * @context Any.
 */
K23_API bool k23_port_lock_held(const k23_port_lock_t *l);

/* ---- CPUs ---- */

/**
 * Number of CPUs whose ids k23_port_cpu_id() may return. Constant for the
 * life of the program.
 * @return at least 1
 * @context Any.
 */
K23_API unsigned k23_port_cpu_count(void);

/**
 * Id of the CPU the caller runs on right now, < k23_port_cpu_count(). The
 * caller may be migrated right after; use it only as a hint, or inside a
 * CPU-local section.
 * @return the CPU id
 * @context Any.
 */
K23_API unsigned k23_port_cpu_id(void);

/**
 * Enter a CPU-local section and return the CPU id to use in it.
 *
 * A kernel port disables preemption (or interrupts) so that the caller
 * stays on that CPU until k23_port_cpu_local_exit(). A hosted port cannot
 * pin a thread, so it only returns a hint: the library therefore guards
 * per-CPU data with a per-CPU lock as well (uncontended when the port
 * does pin), except on the CPU-local fast path, where the stack steps are
 * the port's pop and push hooks (rseq on hosted x86_64 Linux) and a lock
 * is taken only to fence a stack; see k23_port_pcpu_fast().
 *
 * @return a CPU id < k23_port_cpu_count()
 * @context Any. Sections do not nest.
 */
K23_API unsigned k23_port_cpu_local_enter(void);

/**
 * Leave the CPU-local section entered by k23_port_cpu_local_enter().
 * @param[in] cpu  the id that k23_port_cpu_local_enter() returned
 * @context Inside a CPU-local section.
 */
K23_API void k23_port_cpu_local_exit(unsigned cpu);

/* ---- CPU-local stacks (optional fast path) ---- */

/**
 * Header of one CPU's stack in a per-CPU array used by
 * k23_port_pcpu_pop() and k23_port_pcpu_push(). Element i of the array
 * starts with this header at `base + i * stride`; its 64-bit slots start
 * `slots_off` bytes after the header.
 */
typedef struct k23_port_pcpu_hdr {
    uint16_t count;      /**< slots in use */
    uint16_t transit_lo; /**< bits 0-15 of `transit` */
    uint32_t transit_hi; /**< bits 16-47 of `transit` */
    uint32_t fenced;     /**< nonzero: the hooks must fail on this stack; set
                          *   and cleared only by k23_port_pcpu_fence() and
                          *   k23_port_pcpu_unfence() */
    uint32_t reserved;   /**< zero */
} k23_port_pcpu_hdr_t;
/*
 * `transit` (48 bits, modulo 2^48; only its sum over every CPU means
 * something) counts values the library took out of the stacks and has
 * not accounted for yet: a pop adds 1 and a push subtracts 1 in the same
 * store that commits `count`, and k23_port_pcpu_add() adds any amount. A
 * port whose steps commit with one 64-bit add lays the first 8 bytes out
 * as the little-endian word `count + (transit << 16)`. `count` and
 * `transit` change only in the hooks, or in the library while the stack
 * is fenced.
 */

/**
 * Whether k23_port_pcpu_pop() and k23_port_pcpu_push() can ever succeed in
 * this program. The answer is fixed on the first call and never changes.
 *
 * When true, the library does not take a lock to use the calling CPU's
 * stack: it calls the pop and push hooks, and before it reads or changes
 * another CPU's stack (or its own, outside the hooks) it fences that stack
 * with k23_port_pcpu_fence() while holding the stack's lock. When false,
 * the hooks are never called and every stack is guarded by its lock alone.
 *
 * The hosted port answers true on x86_64 Linux when glibc registered an
 * rseq area (`__rseq_size != 0`) and membarrier's expedited rseq command
 * could be registered, outside ThreadSanitizer builds and unless the
 * environment variable `K23MEM_NO_RSEQ` is set; kernel and wasm32 ports
 * answer false.
 * @return true when the fast path is available
 * @context Any.
 */
K23_API bool k23_port_pcpu_fast(void);

/*
 * A port may also define K23_PORT_PCPU_INLINE in its k23_port_config.h,
 * together with `static inline` functions k23_port_pcpu_pop_inline(),
 * k23_port_pcpu_push_inline() and k23_port_pcpu_add_inline() taking the
 * same parameters and meaning
 * exactly what the two hooks below mean; the library then calls those on
 * its hot paths (no call into the port per cache hit). The out-of-line
 * hooks must exist in any case.
 */

/** What k23_port_pcpu_pop() returns when it pops nothing; never pushed. */
#define K23_PORT_PCPU_NONE UINT64_MAX

/**
 * Pop the top slot of the calling CPU's stack, as one step that cannot be
 * torn by preemption, migration or signals, without a locked instruction.
 *
 * The stack used is element k23_port_cpu_id() of the array; it must be
 * < @p ncpus. On success the slot's value is read, `count` decreased by
 * one and `transit` increased by one (one store commits both), all on the
 * CPU the caller was running on during the step.
 * @param[in,out] base       first element of the per-CPU array
 * @param[in]     stride     bytes between elements
 * @param[in]     ncpus      elements in the array
 * @param[in]     slots_off  offset of the 64-bit slots from an element's
 *                           header
 * @return the popped value, or #K23_PORT_PCPU_NONE when nothing was done:
 *         the stack is empty or fenced, the CPU id is >= @p ncpus, or the
 *         port has no fast path
 * @context Any thread; never called when k23_port_pcpu_fast() is false.
 */
K23_API uint64_t k23_port_pcpu_pop(void *base, size_t stride, unsigned ncpus,
                           size_t slots_off);

/**
 * Push @p value onto the calling CPU's stack, the counterpart of
 * k23_port_pcpu_pop(): `slot[count] = value`, then `count + 1` and
 * `transit - 1` in one committing store.
 * @param[in,out] base       first element of the per-CPU array
 * @param[in]     stride     bytes between elements
 * @param[in]     ncpus      elements in the array
 * @param[in]     slots_off  offset of the 64-bit slots from an element's
 *                           header
 * @param[in]     cap        capacity of each stack, slots
 * @param[in]     value      the value to push, not #K23_PORT_PCPU_NONE
 * @retval true   pushed
 * @retval false  nothing done (a slot above `count` may have been
 *                written): the stack holds @p cap values or is fenced,
 *                the CPU id is >= @p ncpus, or the port has no fast path
 * @context As k23_port_pcpu_pop().
 */
K23_API bool k23_port_pcpu_push(void *base, size_t stride, unsigned ncpus,
                        size_t slots_off, uint32_t cap, uint64_t value);

/**
 * Add @p delta to the `transit` counter of the calling CPU's stack
 * (modulo 2^16), as one step that cannot be torn, like
 * k23_port_pcpu_pop(). The library counts there what it holds outside the
 * stacks, so that a fenced reader of every stack knows it exactly.
 * @param[in,out] base    first element of the per-CPU array
 * @param[in]     stride  bytes between elements
 * @param[in]     ncpus   elements in the array
 * @param[in]     delta   amount to add, -32768..32767
 * @retval true   added
 * @retval false  nothing done: the stack is fenced, the CPU id is
 *                >= @p ncpus, or the port has no fast path
 * @context As k23_port_pcpu_pop().
 */
K23_API bool k23_port_pcpu_add(void *base, size_t stride, unsigned ncpus,
                       int32_t delta);

/**
 * Fence the stack of CPU @p cpu: set its `fenced` flag and wait until no
 * pop or push that started before can still complete on it. After this
 * returns, the caller may read and change the stack with ordinary loads
 * and stores until k23_port_pcpu_unfence(); every pop and push on it fails
 * meanwhile. The caller serialises fences of one stack (it holds a lock).
 * @param[in,out] hdr  header of CPU @p cpu's stack
 * @param[in]     cpu  the CPU whose stack it is (its index in the array)
 * @context Thread context; only called when k23_port_pcpu_fast() is true.
 */
K23_API void k23_port_pcpu_fence(k23_port_pcpu_hdr_t *hdr, unsigned cpu);

/**
 * Clear the fence set by k23_port_pcpu_fence(), publishing (release) the
 * changes made while fenced.
 * @param[in,out] hdr  the fenced header
 * @context As k23_port_pcpu_fence().
 */
K23_API void k23_port_pcpu_unfence(k23_port_pcpu_hdr_t *hdr);

/* ---- physical memory ---- */

/**
 * Virtual address through which the library may access physical address
 * @p pa (a direct map, or identity without an MMU).
 * @param[in] pa  a physical address inside memory handed to the library
 * @return the mapped address
 * @context Any.
 */
K23_API void *k23_port_phys_to_virt(k23_paddr_t pa);

/**
 * Inverse of k23_port_phys_to_virt().
 * @param[in] va  an address returned by k23_port_phys_to_virt()
 * @return the physical address
 * @context Any.
 */
K23_API k23_paddr_t k23_port_virt_to_phys(const void *va);

/* ---- host capabilities, logging and panic ---- */

/**
 * Describe the host.
 * @param[out] caps  filled completely
 * @context Any.
 */
K23_API void k23_port_caps(k23_port_caps_t *caps);

/**
 * Write one already formatted line (no trailing newline) to the host's log.
 * @param[in] level  a #k23_log_level
 * @param[in] msg    NUL-terminated message
 * @context Any, including with locks held.
 */
K23_API void k23_port_log(int level, const char *msg);

/**
 * Stop after a fatal misuse (double free, corrupted state). Prints
 * @p file, @p line and @p msg and never returns.
 * @param[in] file  source file of the check
 * @param[in] line  source line of the check
 * @param[in] msg   what went wrong, naming the address involved
 * @context Any.
 */
K23_API K23_NORETURN void k23_port_panic(const char *file, int line, const char *msg);

/* ---- virtual memory (hosted and wasm32 ports) ---- */

/**
 * Reserve @p size bytes of address space, inaccessible, aligned to
 * @p align.
 * @param[in]  size   bytes, a multiple of the page size, > 0
 * @param[in]  align  power of two >= the page size
 * @param[out] out    start of the reservation; untouched on error
 * @retval K23_OK               reserved
 * @retval K23_ERR_INVAL        @p size or @p align not as above, or @p out
 *                              NULL
 * @retval K23_ERR_NOMEM        no address space left
 * @retval K23_ERR_UNSUPPORTED  the host has no virtual memory
 * @context Thread context.
 */
K23_API int k23_port_vm_reserve(size_t size, size_t align, void **out);

/**
 * Make [@p addr, @p addr + @p size) of a reservation accessible with
 * @p perm. Memory committed for the first time, or after
 * k23_port_vm_decommit(), reads as zero.
 * @param[in] addr  page-aligned start inside a reservation
 * @param[in] size  bytes, a multiple of the page size
 * @param[in] perm  permissions; W^X is checked by the caller
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  @p addr or @p size not page-aligned, or the range
 *                        reaches outside the host's mappings (a port need
 *                        not notice every range outside a reservation)
 * @retval K23_ERR_NOMEM  the host could not back the memory
 * @retval K23_ERR_OS     the host refused for another reason
 * @context Thread context.
 */
K23_API int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm);

/**
 * Make a range inaccessible and let the host drop its contents; it reads
 * as zero when committed again.
 * @param[in] addr  page-aligned start inside a reservation
 * @param[in] size  bytes, a multiple of the page size
 * @retval K23_OK         done
 * @retval K23_ERR_INVAL  as for k23_port_vm_commit()
 * @retval K23_ERR_NOMEM  the host ran out of memory for its own records
 * @retval K23_ERR_OS     the host refused for another reason
 * @context Thread context.
 */
K23_API int k23_port_vm_decommit(void *addr, size_t size);

/**
 * Give a whole reservation back.
 * @param[in] addr  exactly what k23_port_vm_reserve() returned
 * @param[in] size  exactly the size it was given
 * @retval K23_OK               done
 * @retval K23_ERR_UNSUPPORTED  the host cannot release (wasm32)
 * @context Thread context.
 */
K23_API int k23_port_vm_release(void *addr, size_t size);

/**
 * Bytes currently reserved through k23_port_vm_reserve() and not released.
 * Lets tests prove that nothing leaked.
 * @return the byte count
 * @context Any.
 */
K23_API size_t k23_port_vm_reserved_bytes(void);

/* ---- memory protection keys (optional) ---- */

/**
 * Allocate a memory protection key. Returns #K23_ERR_UNSUPPORTED exactly
 * when k23_port_caps() reports no keys (pkeys_available == 0).
 * @param[out] out  the key; untouched on error
 * @retval K23_OK               allocated
 * @retval K23_ERR_INVAL        @p out is NULL
 * @retval K23_ERR_UNSUPPORTED  the host has no protection keys
 * @retval K23_ERR_NOMEM        all keys are taken
 * @retval K23_ERR_OS           the host refused for another reason
 * @context Thread context.
 */
K23_API int k23_port_pkey_alloc(unsigned *out);

/**
 * Free a key from k23_port_pkey_alloc().
 * @param[in] key  the key
 * @context Thread context.
 */
K23_API void k23_port_pkey_free(unsigned key);

/**
 * Commit-style protection change that also tags the range with @p key.
 * @param[in] addr  page-aligned start inside a reservation
 * @param[in] size  bytes, a multiple of the page size
 * @param[in] perm  permissions
 * @param[in] key   a key from k23_port_pkey_alloc()
 * @retval K23_OK               done
 * @retval K23_ERR_UNSUPPORTED  no protection keys
 * @retval K23_ERR_INVAL        @p key not allocated, or the range not
 *                              page-aligned or not mapped
 * @retval K23_ERR_NOMEM        the host ran out of memory for its records
 * @retval K23_ERR_OS           the host refused for another reason
 * @context Thread context.
 */
K23_API int k23_port_pkey_protect(void *addr, size_t size, k23_perm_t perm,
                          unsigned key);

/* ---- MMU (optional: page tables, pagetable.h) ---- */

/** Registers k23_port_mmu_activate() loads. */
#define K23_PORT_MMU_CR3   1u /**< x86_64 CR3 (PCID in bits 0-11) */
#define K23_PORT_MMU_TTBR0 2u /**< aarch64 TTBR0_EL1 (ASID in bits 48-63) */
#define K23_PORT_MMU_TTBR1 3u /**< aarch64 TTBR1_EL1 */
#define K23_PORT_MMU_SATP  4u /**< riscv64 satp (MODE, ASID, PPN) */

/** Flags of k23_port_tlb_flush(). */
#define K23_PORT_TLB_ALL    (UINT32_C(1) << 0) /**< the whole ASID, ignore the list */
#define K23_PORT_TLB_GLOBAL (UINT32_C(1) << 1) /**< with ALL: global entries too */

/** Bit of a k23_port_tlb_flush() list entry: the leaf is global. */
#define K23_PORT_TLB_ENTRY_GLOBAL UINT64_C(4)

/**
 * Load a translation-table base register and make the switch take effect
 * (the barriers the architecture needs).
 * @param[in] reg    K23_PORT_MMU_*
 * @param[in] value  the register value (pagetable.h computes it)
 * @retval K23_OK               loaded
 * @retval K23_ERR_UNSUPPORTED  this CPU has no such register (or the port
 *                              no MMU)
 * @context Kernel, privileged.
 */
K23_API int k23_port_mmu_activate(unsigned reg, uint64_t value);

/**
 * Invalidate TLB entries after page-table entries were changed or
 * removed: make earlier table writes visible to the walker, invalidate
 * (walk caches included: not the "last level only" forms), wait for
 * completion. Each list entry is a leaf's virtual address with its level
 * (0: 4 KiB, 1: 2 MiB, 2: 1 GiB) in bits 0-1 and
 * #K23_PORT_TLB_ENTRY_GLOBAL in bit 2.
 * @param[in] arch   K23_PT_ARCH_* (pagetable.h) of the tables
 * @param[in] asid   address-space id of the non-global entries
 * @param[in] va     list of entries (ignored with #K23_PORT_TLB_ALL)
 * @param[in] n      entries in @p va
 * @param[in] flags  K23_PORT_TLB_*
 * @context Kernel, privileged. Ports without an MMU record or ignore it.
 */
K23_API void k23_port_tlb_flush(unsigned arch, uint32_t asid, const uint64_t *va,
                        size_t n, uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_PORT_H */
