/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file port.h
 * The port contract: everything a host supplies to libk23mem.
 *
 * Exactly one port is linked with the portable core (`src/`). The library
 * calls these hooks and nothing else of its host. A port is a folder
 * (`ports/<name>/` in this tree, or any folder named by K23_PORT_DIR)
 * holding its C sources and a private `k23_port_config.h`; that header is
 * included by the core and the port only, never by these installed
 * headers, so nothing a program sees depends on the port
 * (docs/porting.md).
 *
 * The hooks come in groups. The **required** hooks (locks, CPUs, physical
 * memory, capabilities, log, panic) and the four byte functions below are
 * what every port writes. Each **optional group** (CPU-local fast path,
 * virtual memory, protection keys, MMU) is either implemented whole or
 * taken from its one shared "unsupported" implementation in
 * `ports/common/`:
 *
 * | group                    | unsupported version          | the port then reports     |
 * |--------------------------|------------------------------|---------------------------|
 * | CPU-local fast path      | ports/common/pcpu_locked.c   | k23_port_pcpu_fast() false |
 * | virtual memory           | ports/common/vm_none.c       | caps.has_vm false          |
 * | protection keys          | ports/common/pkey_none.c     | caps.pkeys_available 0     |
 * | MMU                      | ports/common/mmu_none.c      | (nothing: no page tables)  |
 *
 * Rules for every hook, unless the hook says otherwise:
 * - it may be called from any thread or CPU, at any time after the port is
 *   usable (the hosted port needs no init; a kernel port is usable once its
 *   console and memory map are up);
 * - it may be called with the library's locks held, and must not call
 *   back into libk23mem;
 * - pointer arguments are never NULL, and addresses and sizes passed to the
 *   virtual-memory hooks are multiples of `caps.page_size`;
 * - hooks returning int return #K23_OK or a negative K23_ERR_* code.
 * Each hook's own precondition is its `@pre` line.
 *
 * Because GCC and clang may emit calls to memset, memcpy, memmove and
 * memcmp even in freestanding code, every port must also make those four
 * symbols available (a hosted libc does), with the standard C signatures.
 */
#ifndef K23MEM_PORT_H
#define K23MEM_PORT_H

#include "k23mem/error.h"
#include "k23mem/thread_safety.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fixed sizes: the same for every port ---- */

/** Bytes the library keeps per-CPU data apart by (and the alignment of
 *  per-CPU caches). Fixed, not the port's choice, so that structures
 *  holding per-CPU data have one layout on every port. */
#define K23_PORT_CACHE_LINE 64

/** Bytes of storage a port's lock must fit in (k23_port_lock_t). */
#define K23_PORT_LOCK_BYTES 32

/**
 * A lock of the port, as opaque storage of a fixed size.
 *
 * The library embeds locks in structures the caller allocates
 * (k23_frames_t, k23_kmem_t, k23_mblock_t), so the lock's size must not
 * depend on the port: each port keeps its real lock type private, stores
 * it in `opaque` (#K23_PORT_LOCK_BYTES bytes, aligned for a 64-bit word or
 * a pointer) and checks with K23_PORT_LOCK_FITS() that it fits. A kernel
 * whose lock is larger keeps a pointer to it there.
 *
 * Only the port's hooks look inside; all-zero bytes need not be a valid
 * lock (call k23_port_lock_init()).
 */
typedef union K23_CAPABILITY("mutex") k23_port_lock {
    unsigned char opaque[K23_PORT_LOCK_BYTES]; /**< the port's lock */
    uint64_t align_u64_;                       /**< alignment only */
    void *align_ptr_;                          /**< alignment only */
} k23_port_lock_t;

/** For a port's own source: fails to compile unless @p type fits in a
 *  k23_port_lock_t (size and alignment). */
#define K23_PORT_LOCK_FITS(type)                                              \
    _Static_assert(sizeof(type) <= sizeof(k23_port_lock_t) &&                \
                       _Alignof(type) <= _Alignof(k23_port_lock_t),          \
                   #type " does not fit in k23_port_lock_t")

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

/* ================ required hooks: every port writes these ================ */

/* ---- locking ---- */

/**
 * Initialize a lock. Must be called before any other use of @p l.
 * @pre @p l is not in use (never initialized, or free and unused since).
 * @param[out] l  the lock
 * @context Any.
 */
K23_API void k23_port_lock_init(k23_port_lock_t *l);

/**
 * Acquire a lock; spins or sleeps until it is free. Not recursive.
 * @pre @p l is initialized and not held by the caller.
 * @param[in,out] l  the lock
 * @context Any context in which the port's lock may be taken.
 */
K23_API void k23_port_lock_acquire(k23_port_lock_t *l) K23_ACQUIRE(*l);

/**
 * Release a lock held by the caller.
 * @pre The caller holds @p l.
 * @param[in,out] l  the lock
 * @context Any.
 */
K23_API void k23_port_lock_release(k23_port_lock_t *l) K23_RELEASE(*l);

/**
 * Whether the calling thread or CPU holds @p l. Used by assertions only; a
 * port that cannot tell may return true.
 * @pre @p l is initialized.
 * @param[in] l  the lock
 * @return true when held by the caller
 * @context Any.
 */
K23_API bool k23_port_lock_held(const k23_port_lock_t *l);

/* ---- CPUs ---- */

/**
 * Number of CPUs whose ids k23_port_cpu_local_enter() may return. Constant
 * for the life of the program.
 * @pre The port knows its CPUs (a kernel: counted before the first
 *      allocator is set up; the per-CPU caches are sized then).
 * @return at least 1
 * @context Any.
 */
K23_API unsigned k23_port_cpu_count(void);

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
 * There is no separate "which CPU am I" hook: the library only ever needs
 * the id inside such a section.
 *
 * @pre The caller is not inside a CPU-local section.
 * @return a CPU id < k23_port_cpu_count()
 * @context Any. Sections do not nest.
 */
K23_API unsigned k23_port_cpu_local_enter(void);

/**
 * Leave the CPU-local section entered by k23_port_cpu_local_enter().
 * @pre The caller is inside the section that returned @p cpu.
 * @param[in] cpu  the id that k23_port_cpu_local_enter() returned
 * @context Inside a CPU-local section.
 */
K23_API void k23_port_cpu_local_exit(unsigned cpu);

/* ---- physical memory ---- */

/**
 * Virtual address through which the library may access physical address
 * @p pa (a direct map, or identity without an MMU).
 * @pre @p pa lies in memory handed to the library (or its bookkeeping).
 * @param[in] pa  the physical address
 * @return the mapped address
 * @context Any.
 */
K23_API void *k23_port_phys_to_virt(k23_paddr_t pa);

/**
 * Inverse of k23_port_phys_to_virt(). Called by the object caches
 * (kmem.h) to find a slab's frames again.
 * @pre @p va was returned by k23_port_phys_to_virt().
 * @param[in] va  the address
 * @return the physical address
 * @context Any.
 */
K23_API k23_paddr_t k23_port_virt_to_phys(const void *va);

/* ---- host capabilities, logging and panic ---- */

/**
 * Describe the host. Must give the same answer every time (the library
 * caches some fields).
 * @pre None.
 * @param[out] caps  filled completely
 * @context Any.
 */
K23_API void k23_port_caps(k23_port_caps_t *caps);

/**
 * Write one already formatted line (no trailing newline) to the host's log.
 * @pre None (any level value: unknown levels are logged as such).
 * @param[in] level  a #k23_log_level
 * @param[in] msg    NUL-terminated message
 * @context Any, including with locks held.
 */
K23_API void k23_port_log(int level, const char *msg);

/**
 * Stop after a fatal misuse (double free, corrupted state). Prints
 * @p file, @p line and @p msg and never returns.
 * @pre None (also called with locks held and from inside other hooks).
 * @param[in] file  source file of the check
 * @param[in] line  source line of the check
 * @param[in] msg   what went wrong, naming the address involved
 * @context Any.
 */
K23_API K23_NORETURN void k23_port_panic(const char *file, int line, const char *msg);

/* ================ optional groups: implement one whole, or link its
 * ports/common/ version ================ */

/* ---- optional group: CPU-local fast path ----
 * Used by the frame allocator's per-CPU caches and the object caches'
 * magazines. Unsupported version: ports/common/pcpu_locked.c (fast()
 * false; the library then guards every per-CPU cache with its lock). */

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
 * port whose steps commit with one 64-bit add or store lays the first 8
 * bytes out as the little-endian word `count + (transit << 16)`. `count` and
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
 * could be registered, and it could pin the object holding its rseq
 * sequences (the program, or a shared object it makes RTLD_NODELETE, so
 * that a later dlclose() leaves libk23mem.so loaded), outside
 * ThreadSanitizer builds and unless the environment variable
 * `K23MEM_NO_RSEQ` is set; kernel and wasm32 ports answer false.
 * @pre None.
 * @return true when the fast path is available
 * @context Any.
 */
K23_API bool k23_port_pcpu_fast(void);

/*
 * A port may also define K23_PORT_PCPU_INLINE in its private
 * k23_port_config.h (which the library's sources include and programs
 * never see), together with `static inline` functions k23_port_pcpu_pop_inline(),
 * k23_port_pcpu_push_inline(), k23_port_pcpu_add_inline() and
 * k23_port_pcpu_flip_inline() taking the same parameters and meaning
 * exactly what the hooks below mean; the library then calls those on
 * its hot paths (no call into the port per cache hit). The out-of-line
 * hooks must exist in any case.
 */

/** What k23_port_pcpu_pop() returns when it pops nothing; never pushed. */
#define K23_PORT_PCPU_NONE UINT64_MAX

/**
 * Pop the top slot of the calling CPU's stack, as one step that cannot be
 * torn by preemption, migration or signals, without a locked instruction.
 *
 * The stack used is the element of the array indexed by the calling
 * CPU's id (as k23_port_cpu_local_enter() would return it); it must be
 * < @p ncpus. On success the slot's value is read, `count` decreased by
 * one and `transit` increased by one (one store commits both), all on the
 * CPU the caller was running on during the step.
 * @pre k23_port_pcpu_fast() returned true; @p base holds @p ncpus stacks.
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
 * @pre As k23_port_pcpu_pop(); @p value is not #K23_PORT_PCPU_NONE.
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
 * @pre As k23_port_pcpu_pop().
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

/** k23_port_pcpu_flip(): the bits matched and were flipped. */
#define K23_PORT_FLIP_DONE 0
/** k23_port_pcpu_flip(): the bits did not match; nothing written. */
#define K23_PORT_FLIP_MISMATCH 1
/** k23_port_pcpu_flip(): not running on that CPU, or its stack is fenced
 *  (or the port has no fast path); nothing written. */
#define K23_PORT_FLIP_ELSEWHERE 2

/**
 * Flip the bits @p mask of @p *word when they read @p expect, as one step
 * on CPU @p cpu that cannot be torn, without a locked instruction: a
 * plain read-modify-write, which the library only asks for on a word that
 * no other CPU writes meanwhile (a word "owned" by CPU @p cpu; the frame
 * allocator's cached bits of the chunks a CPU's cache owns).
 *
 * The step runs only when the caller is running on CPU @p cpu and the
 * stack whose header is @p hdr (CPU @p cpu's) is not fenced; a fence of
 * that stack waits for a flip that started before, exactly as it does
 * for pops and pushes, so a fenced owner's words may be written by the
 * fencing thread.
 * @pre k23_port_pcpu_fast() returned true; @p word is 8-byte aligned.
 * @param[in]     hdr     header of CPU @p cpu's stack
 * @param[in]     cpu     the CPU the step must run on
 * @param[in,out] word    the word
 * @param[in]     mask    the bits to flip
 * @param[in]     expect  what `*word & mask` must read (bits outside
 *                        @p mask are clear)
 * @retval K23_PORT_FLIP_DONE       `*word ^= mask`, on CPU @p cpu
 * @retval K23_PORT_FLIP_MISMATCH   `*word & mask` was not @p expect
 * @retval K23_PORT_FLIP_ELSEWHERE  nothing done: another CPU, the stack
 *                                  fenced, or no fast path
 * @context As k23_port_pcpu_pop().
 */
K23_API int k23_port_pcpu_flip(const k23_port_pcpu_hdr_t *hdr, unsigned cpu,
                               uint64_t *word, uint64_t mask,
                               uint64_t expect);

/**
 * Fence the stack of CPU @p cpu: set its `fenced` flag and wait until no
 * pop, push, add or flip on CPU @p cpu that started before can still
 * complete. After this returns, the caller may read and change the stack
 * (and the words flips on CPU @p cpu change) with ordinary loads and
 * stores until k23_port_pcpu_unfence(); every pop, push, add and flip on
 * it fails meanwhile. The caller serialises fences of one stack (it holds a lock).
 * @pre k23_port_pcpu_fast() returned true; the caller holds the stack's
 *      lock and @p hdr is not fenced.
 * @param[in,out] hdr  header of CPU @p cpu's stack
 * @param[in]     cpu  the CPU whose stack it is (its index in the array)
 * @context Thread context; only called when k23_port_pcpu_fast() is true.
 */
K23_API void k23_port_pcpu_fence(k23_port_pcpu_hdr_t *hdr, unsigned cpu);

/**
 * Clear the fence set by k23_port_pcpu_fence(), publishing (release) the
 * changes made while fenced.
 * @pre The caller fenced @p hdr and still holds the stack's lock.
 * @param[in,out] hdr  the fenced header
 * @context As k23_port_pcpu_fence().
 */
K23_API void k23_port_pcpu_unfence(k23_port_pcpu_hdr_t *hdr);

/* ---- optional group: virtual memory ----
 * Used by the memory pool, the instance allocators and their pools.
 * Unsupported version: ports/common/vm_none.c (every hook
 * K23_ERR_UNSUPPORTED; the port reports caps.has_vm false). */

/**
 * Reserve @p size bytes of address space, inaccessible, aligned to
 * @p align.
 * @pre None (bad arguments are reported as K23_ERR_INVAL).
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
 * @pre The range lies in one reservation; page-aligned.
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
 * @pre The range lies in one reservation; page-aligned.
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
 * @pre Nothing of the reservation is used any more.
 * @param[in] addr  exactly what k23_port_vm_reserve() returned
 * @param[in] size  exactly the size it was given
 * @retval K23_OK               done
 * @retval K23_ERR_UNSUPPORTED  the host cannot release (wasm32)
 * @context Thread context.
 */
K23_API int k23_port_vm_release(void *addr, size_t size);

/**
 * Bytes currently reserved through k23_port_vm_reserve() and not released.
 * The library itself never calls it: it is the leak check of the group,
 * which the tests (and the example kernels' wasm step) call after every
 * pool and instance allocator is gone; kept in the contract so that a
 * port's VM can be checked the same way on every host (0 without VM).
 * @pre None.
 * @return the byte count
 * @context Any.
 */
K23_API size_t k23_port_vm_reserved_bytes(void);

/* ---- optional group: memory protection keys ----
 * Used by the memory pool's striping. Unsupported version:
 * ports/common/pkey_none.c (alloc K23_ERR_UNSUPPORTED; the port reports
 * caps.pkeys_available 0). */

/**
 * Allocate a memory protection key. Returns #K23_ERR_UNSUPPORTED exactly
 * when k23_port_caps() reports no keys (pkeys_available == 0).
 * @pre None.
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
 * @pre @p key came from k23_port_pkey_alloc() and no range uses it.
 * @param[in] key  the key
 * @context Thread context.
 */
K23_API void k23_port_pkey_free(unsigned key);

/**
 * Commit-style protection change that also tags the range with @p key.
 * @pre As k23_port_vm_commit(); @p key came from k23_port_pkey_alloc().
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

/* ---- optional group: MMU ----
 * Used by the page tables (pagetable.h) and the address spaces
 * (aspace.h). Unsupported version: ports/common/mmu_none.c (activate
 * K23_ERR_UNSUPPORTED, flush does nothing: nothing translates). */

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
 * @pre @p value names a complete table tree the CPU may walk.
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
 * @pre The table changes are written (the hook orders them for the walker).
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
