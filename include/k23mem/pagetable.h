/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file pagetable.h
 * Page tables: one engine for x86_64, aarch64 and riscv64.
 *
 * A page table (k23_pt_t) is a tree of 4 KiB table frames in one of the
 * formats below. The engine builds and edits it through
 * k23_port_phys_to_virt() only, so every format works on every host: the
 * host tests build x86_64, aarch64 and riscv64 trees in ordinary memory.
 *
 * Formats are data (k23_pt_format_t) with small encode and decode
 * functions. Levels are numbered from the leaves: level 0 holds 4 KiB
 * pages, level 1 entries span 2 MiB, level 2 entries 1 GiB, and the root is
 * level `levels - 1`. Leaves may sit at levels 0, 1 and 2 (4 KiB pages,
 * 2 MiB and 1 GiB blocks) in every format.
 *
 * Permissions are k23_perm_t sets that include READ (every format's valid
 * entries are readable; write-only and execute-only are refused), never
 * WRITE with EXECUTE (#K23_ERR_WX), plus a memory type (normal or device).
 * Kernel mappings (no USER) are global; user mappings are tagged with the
 * address space's ASID. What each format writes:
 *
 * | | x86_64 | aarch64 | riscv64 |
 * |---|---|---|---|
 * | valid | P | bits[1:0] 0b11 (page, table) / 0b01 (block), AF | V, A |
 * | WRITE | R/W (+D) | AP[2] = 0 | W (+D) |
 * | no EXECUTE | NX | UXN and PXN | X = 0 |
 * | EXECUTE | NX = 0 | PXN = 0 (kernel) / UXN = 0 (user), the other set | X |
 * | USER | U/S | AP[1] = 1, nG | U |
 * | kernel | G | nG = 0 | G |
 * | device | PCD+PWT (PAT entry 3, UC) | AttrIndx 1 | PBMT = IO (Svpbmt) |
 * | normal | PAT entry 0 (WB) | AttrIndx 0, SH inner | PBMT = PMA |
 *
 * The aarch64 encoding needs MAIR_EL1 attribute 0 = 0xFF (normal, write-back)
 * and attribute 1 = 0x04 (Device-nGnRE): #K23_PT_AARCH64_MAIR.
 *
 * Table entries grant everything (permissions live in the leaves only) and
 * keep, in bits the hardware ignores, the number of valid entries in their
 * table (see docs/pagetable.md): x86_64 bits 9-11 and 52-58 of entry 0,
 * aarch64 bits 55-58 of entries 0-2, riscv64 RSW (bits 8-9) of entries 0-4.
 * Those software bits are not available to the caller.
 *
 * Flushing: every operation that changes or removes a valid entry records
 * what must be invalidated in a caller-owned k23_pt_flush_t; table frames
 * that become empty wait in it too, and go back to the frame source only
 * after k23_pt_flush() has invalidated the TLBs. Finishing a flush object
 * with work still pending panics.
 *
 * Locking: none. The caller serialises operations on one k23_pt_t and on
 * one k23_pt_flush_t.
 */
#ifndef K23MEM_PAGETABLE_H
#define K23MEM_PAGETABLE_H

#include "k23mem/error.h"
#include "k23mem/perm.h"
#include "k23mem/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct k23_frames;

/* ---- types ---- */

/** Architectures of the formats. */
#define K23_PT_ARCH_X86_64  1u /**< Intel/AMD 64-bit paging */
#define K23_PT_ARCH_AARCH64 2u /**< Armv8-A VMSAv8-64 stage 1, 4 KiB granule */
#define K23_PT_ARCH_RISCV64 3u /**< RISC-V Sv39/Sv48/Sv57 */

/** Which virtual addresses a format's root translates. */
#define K23_PT_HALF_BOTH 0u /**< both canonical halves (sign-extended VA) */
#define K23_PT_HALF_LOW  1u /**< the low half only (aarch64 TTBR0) */
#define K23_PT_HALF_HIGH 2u /**< the high half only (aarch64 TTBR1) */

/** Memory types. */
#define K23_PT_MEM_NORMAL 0u /**< cacheable RAM */
#define K23_PT_MEM_DEVICE 1u /**< uncached device memory (MMIO) */
#define K23_PT_MEM_OTHER  2u /**< decode only: an encoding this library does not write */

/** MAIR_EL1 value the aarch64 encoding assumes: attr0 normal WB, attr1
 *  Device-nGnRE. */
#define K23_PT_AARCH64_MAIR UINT64_C(0x04FF)

/** Leaf sizes, as levels. */
#define K23_PT_PAGE_SHIFT 12u /**< 4 KiB pages in every format */
#define K23_PT_LEVEL_BITS 9u  /**< 512 entries per table in every format */
#define K23_PT_ENTRIES 512u   /**< entries per table */
#define K23_PT_MAX_LEAF_LEVEL 2u /**< 1 GiB: the largest leaf the engine writes */
#define K23_PT_MAX_LEVELS 5u  /**< deepest tree (x86_64 LA57, Sv57) */

/** What a decoded entry is. */
#define K23_PT_ENTRY_INVALID 0u /**< not valid (not present) */
#define K23_PT_ENTRY_TABLE   1u /**< points to a next-level table */
#define K23_PT_ENTRY_LEAF    2u /**< a page or block */
#define K23_PT_ENTRY_RESERVED 3u /**< a valid encoding the architecture reserves */

/** A decoded entry. */
typedef struct k23_pt_entry {
    unsigned kind;     /**< K23_PT_ENTRY_* */
    k23_paddr_t pa;    /**< TABLE: table address; LEAF: output address */
    k23_perm_t perm;   /**< LEAF: permissions (READ always set) */
    unsigned memtype;  /**< LEAF: K23_PT_MEM_* */
} k23_pt_entry_t;

/** A page-table format. The engine uses only these fields; the
 *  predefined formats below are the ones tested. */
typedef struct k23_pt_format {
    const char *name;       /**< e.g. "x86_64-4level" */
    unsigned arch;          /**< K23_PT_ARCH_* */
    unsigned levels;        /**< table levels, 3..#K23_PT_MAX_LEVELS */
    unsigned va_bits;       /**< translated VA width, bits */
    unsigned half;          /**< K23_PT_HALF_* */
    unsigned pa_bits;       /**< largest output address width, bits */
    unsigned pte_pa_shift;  /**< an entry holds pa >> this at its address
                             *   field (riscv64: 2, PPN at bit 10) */
    unsigned lane_shift[2]; /**< software bit fields holding the table's
                             *   valid-entry count, in each entry ... */
    unsigned lane_bits[2];  /**< ... of these widths (0: unused) */
    unsigned satp_mode;     /**< riscv64 satp.MODE; 0 elsewhere */
    uint64_t valid_bit;     /**< set in every valid entry */
    uint64_t table_mask;    /**< at levels >= 1, a valid entry is a table ... */
    uint64_t table_match;   /**< ... when (e & table_mask) == table_match */
    uint64_t addr_mask;     /**< the output-address field of an entry */
    uint64_t perm_mask;     /**< bits a permission change rewrites */
    uint64_t user_bit;      /**< set in user (non-global) leaves */
    /** Encode a leaf at @p level (arguments already validated). */
    uint64_t (*leaf)(k23_paddr_t pa, k23_perm_t perm, unsigned memtype,
                     unsigned level);
    /** Encode a pointer to the table at @p pa. */
    uint64_t (*table)(k23_paddr_t pa);
    /** Decode @p e found at @p level. */
    void (*decode)(uint64_t e, unsigned level, k23_pt_entry_t *out);
} k23_pt_format_t;

/** x86_64 4-level paging (48-bit VA). */
extern K23_API const k23_pt_format_t k23_pt_x86_64_4level;
/** x86_64 5-level paging (LA57, 57-bit VA). */
extern K23_API const k23_pt_format_t k23_pt_x86_64_5level;
/** aarch64 4 KiB granule, 39-bit VA, TTBR0 (low half). */
extern K23_API const k23_pt_format_t k23_pt_aarch64_39_ttbr0;
/** aarch64 4 KiB granule, 39-bit VA, TTBR1 (high half). */
extern K23_API const k23_pt_format_t k23_pt_aarch64_39_ttbr1;
/** aarch64 4 KiB granule, 48-bit VA, TTBR0 (low half). */
extern K23_API const k23_pt_format_t k23_pt_aarch64_48_ttbr0;
/** aarch64 4 KiB granule, 48-bit VA, TTBR1 (high half). */
extern K23_API const k23_pt_format_t k23_pt_aarch64_48_ttbr1;
/** riscv64 Sv39. */
extern K23_API const k23_pt_format_t k23_pt_riscv_sv39;
/** riscv64 Sv48. */
extern K23_API const k23_pt_format_t k23_pt_riscv_sv48;
/** riscv64 Sv57. */
extern K23_API const k23_pt_format_t k23_pt_riscv_sv57;

/** Where table frames come from. alloc_zeroed returns a 4 KiB-aligned,
 *  zero-filled frame (its physical address) or an error; free takes back a
 *  frame alloc_zeroed gave. */
typedef struct k23_pt_frame_source {
    int (*alloc_zeroed)(void *ctx, k23_paddr_t *out); /**< K23_OK or K23_ERR_NOMEM */
    void (*free)(void *ctx, k23_paddr_t pa);          /**< give a frame back */
    void *ctx;                                        /**< passed to both */
} k23_pt_frame_source_t;

/** A page table. Fields are private; read them through the functions. */
typedef struct k23_pt {
    /** @cond K23_PRIVATE */
    const k23_pt_format_t *fmt; /**< its format */
    k23_pt_frame_source_t src;  /**< table frames come from and go back here */
    k23_paddr_t root;           /**< root table */
    uint32_t asid;              /**< address-space id for activate and flushes */
    bool owns_root;             /**< false when adopted: destroy keeps the root */
    uint64_t tables;            /**< table frames in the tree, root included */
    /** @endcond */
} k23_pt_t;

/** Most addresses a flush object records before it falls back to
 *  invalidating the whole ASID. */
#define K23_PT_FLUSH_MAX 32u

/** Pending TLB invalidation. Caller-owned; k23_pt_flush_init() before use,
 *  k23_pt_flush() to carry it out, k23_pt_flush_fini() when done. */
typedef struct k23_pt_flush {
    /** @cond K23_PRIVATE */
    uint32_t magic;        /**< private: initialised marker */
    /** @endcond */
    uint32_t asid;         /**< ASID whose entries these are */
    unsigned arch;         /**< K23_PT_ARCH_* of the recorded entries (0: none yet) */
    uint32_t n;            /**< addresses recorded in @c va */
    bool all;              /**< more than #K23_PT_FLUSH_MAX: whole ASID */
    bool global;           /**< a recorded entry was global (kernel) */
    uint64_t va[K23_PT_FLUSH_MAX]; /**< leaf address | leaf level (bits 0-1) */
    k23_paddr_t free_head; /**< table frames to free after the flush,
                            *   chained through their first word; 0: none */
    uint64_t nfree;        /**< frames on that chain */
    k23_pt_frame_source_t src; /**< where they go */
} k23_pt_flush_t;

/** Map flags. */
#define K23_PT_REPLACE     (UINT32_C(1) << 0) /**< replace live mappings in the range */
#define K23_PT_MAX_LEAF_4K (UINT32_C(1) << 1) /**< use 4 KiB leaves only */
#define K23_PT_MAX_LEAF_2M (UINT32_C(1) << 2) /**< no 1 GiB leaves (e.g. x86 without PDPE1GB) */

/** One mapping found by k23_pt_query() or k23_pt_walk(). */
typedef struct k23_pt_mapping {
    uint64_t va;        /**< leaf: its first virtual address; query: the address asked */
    k23_paddr_t pa;     /**< physical address of @c va */
    uint64_t size;      /**< leaf size, bytes (4 KiB, 2 MiB, 1 GiB) */
    unsigned level;     /**< leaf level */
    k23_perm_t perm;    /**< permissions */
    unsigned memtype;   /**< K23_PT_MEM_* */
} k23_pt_mapping_t;

/** Callback of k23_pt_walk(): return 0 to go on, anything else to stop
 *  (k23_pt_walk() then returns it). */
typedef int (*k23_pt_walk_fn)(void *ctx, const k23_pt_mapping_t *m);

/** Fault kinds. */
#define K23_PT_FAULT_NOT_PRESENT 0u /**< no valid translation */
#define K23_PT_FAULT_PERMISSION  1u /**< translation present, access not allowed */
#define K23_PT_FAULT_UNKNOWN     2u /**< the trap does not say (riscv64): k23_pt_query() tells */

/** A decoded page fault. */
typedef struct k23_pt_fault {
    k23_fault_t cause;  /**< K23_FAULT_LOAD, _STORE or _INSTRUCTION */
    unsigned kind;      /**< K23_PT_FAULT_* */
    bool user;          /**< the access came from user mode */
    uint64_t addr;      /**< faulting virtual address */
    k23_perm_t needed;  /**< permissions the access needed (USER if user) */
} k23_pt_fault_t;

/* ---- formats: encode and decode ---- */

/**
 * Encode a leaf entry.
 * @param[in]  fmt      format
 * @param[in]  level    0..#K23_PT_MAX_LEAF_LEVEL
 * @param[in]  pa       output address, aligned to the leaf size, < 2^pa_bits
 * @param[in]  perm     permissions including READ
 * @param[in]  memtype  #K23_PT_MEM_NORMAL or #K23_PT_MEM_DEVICE
 * @param[out] out      the entry; untouched on error
 * @retval K23_OK         encoded
 * @retval K23_ERR_WX     WRITE and EXECUTE together
 * @retval K23_ERR_INVAL  anything else out of range, or a NULL pointer
 * @context Any.
 */
K23_API int k23_pt_encode_leaf(const k23_pt_format_t *fmt, unsigned level,
                       k23_paddr_t pa, k23_perm_t perm, unsigned memtype,
                       uint64_t *out);

/**
 * Encode a table entry pointing to the table at @p pa.
 * @param[in]  fmt    format
 * @param[in]  level  level of the entry, 1..levels-1
 * @param[in]  pa     4 KiB-aligned table address, < 2^pa_bits
 * @param[out] out    the entry; untouched on error
 * @retval K23_OK         encoded
 * @retval K23_ERR_INVAL  out of range or NULL
 * @context Any.
 */
K23_API int k23_pt_encode_table(const k23_pt_format_t *fmt, unsigned level,
                        k23_paddr_t pa, uint64_t *out);

/**
 * Decode an entry found at @p level.
 * @param[in]  fmt    format
 * @param[in]  level  0..levels-1
 * @param[in]  e      the entry
 * @param[out] out    what it is; untouched on error
 * @retval K23_OK         decoded
 * @retval K23_ERR_INVAL  level out of range or NULL
 * @context Any.
 */
K23_API int k23_pt_decode(const k23_pt_format_t *fmt, unsigned level, uint64_t e,
                  k23_pt_entry_t *out);

/* ---- frame sources ---- */

/**
 * A frame source that takes table frames from a frame allocator
 * (k23_frames_alloc_one_zeroed / k23_frames_free_one). Its frame size must
 * be 4 KiB.
 * @param[out] src  filled
 * @param[in]  fa   an initialised frame allocator
 * @retval K23_OK         filled
 * @retval K23_ERR_INVAL  NULL
 * @context Any.
 */
K23_API int k23_pt_frame_source_frames(k23_pt_frame_source_t *src,
                               struct k23_frames *fa);

/* ---- lifecycle ---- */

/**
 * Create an empty page table: one zeroed root frame from @p src.
 * @param[out] pt    the table; untouched on error
 * @param[in]  fmt   format
 * @param[in]  asid  address-space id (aarch64 and riscv64 take 16 bits,
 *                   x86 PCID 12)
 * @param[in]  src   frame source (copied)
 * @retval K23_OK         created
 * @retval K23_ERR_NOMEM  no frame for the root
 * @retval K23_ERR_INVAL  NULL, a bad format or an ASID too wide
 * @context Thread context.
 */
K23_API int k23_pt_create(k23_pt_t *pt, const k23_pt_format_t *fmt, uint32_t asid,
                  const k23_pt_frame_source_t *src);

/**
 * Adopt an existing tree (the one the CPU runs on, typically: pass the
 * root from CR3/TTBRn/satp). Walks it once to write each table's
 * valid-entry count into its software bits; k23_pt_destroy() later frees
 * its tables through @p src but keeps the root.
 * @param[out] pt    the table; untouched on error
 * @param[in]  fmt   its format
 * @param[in]  root  4 KiB-aligned physical address of the root table
 * @param[in]  asid  its address-space id
 * @param[in]  src   frame source for new tables (copied)
 * @retval K23_OK         adopted
 * @retval K23_ERR_INVAL  bad arguments
 * @retval K23_ERR_CORRUPT  the tree holds an entry the architecture
 *                          reserves, or a leaf where none may be
 * @context Thread context.
 */
K23_API int k23_pt_from_active(k23_pt_t *pt, const k23_pt_format_t *fmt,
                       k23_paddr_t root, uint32_t asid,
                       const k23_pt_frame_source_t *src);

/**
 * Free every table frame of the tree through its frame source (never the
 * mapped frames; the root only if k23_pt_create() made it). The caller
 * must have switched away from the tree, invalidated its ASID, and
 * flushed every flush object that still holds frames of it.
 * @param[in,out] pt  the table; unusable afterwards
 * @context Thread context.
 */
K23_API void k23_pt_destroy(k23_pt_t *pt);

/* ---- operations ---- */

/**
 * Map [@p va, @p va + @p size) to [@p pa, @p pa + @p size) with the
 * largest leaves the alignment allows (1 GiB, 2 MiB, 4 KiB) unless
 * @p flags limit them. All or nothing: on failure the tree is exactly as
 * before (no table added or freed, no entry changed).
 * @param[in,out] pt       the table
 * @param[in]     va       4 KiB-aligned virtual start in the format's half
 * @param[in]     pa       4 KiB-aligned physical start
 * @param[in]     size     bytes, a non-zero multiple of 4 KiB; the range
 *                         must not wrap or leave the half
 * @param[in]     perm     permissions including READ
 * @param[in]     memtype  #K23_PT_MEM_NORMAL or #K23_PT_MEM_DEVICE
 * @param[in]     flags    K23_PT_REPLACE, K23_PT_MAX_LEAF_*
 * @param[in,out] flush    records what must be invalidated: entries
 *                         replaced (K23_PT_REPLACE), and on riscv64 the new
 *                         entries too (a hart may cache invalid ones)
 * @retval K23_OK         mapped
 * @retval K23_ERR_BUSY   part of the range is mapped (without REPLACE)
 * @retval K23_ERR_UNSUPPORTED  a block to split has a memory type this
 *                              library does not write (adopted trees)
 * @retval K23_ERR_NOMEM  no frame for a table
 * @retval K23_ERR_WX     WRITE and EXECUTE together
 * @retval K23_ERR_INVAL  bad alignment, range, permissions, flags or NULL
 * @context Thread context.
 */
K23_API int k23_pt_map(k23_pt_t *pt, uint64_t va, k23_paddr_t pa, uint64_t size,
               k23_perm_t perm, unsigned memtype, uint32_t flags,
               k23_pt_flush_t *flush);

/**
 * Change the permissions of every mapped page in [@p va, @p va + @p size);
 * holes are skipped. A block only partly inside is split first (the part
 * outside keeps its permissions). All or nothing as k23_pt_map().
 * @param[in,out] pt     the table
 * @param[in]     va     4 KiB-aligned start
 * @param[in]     size   non-zero multiple of 4 KiB
 * @param[in]     perm   new permissions including READ
 * @param[in,out] flush  records what must be invalidated
 * @retval K23_OK         done
 * @retval K23_ERR_NOMEM  no frame to split a block
 * @retval K23_ERR_WX     WRITE and EXECUTE together
 * @retval K23_ERR_UNSUPPORTED  a block to split has a memory type this
 *                              library does not write (adopted trees)
 * @retval K23_ERR_INVAL  bad range or permissions, NULL
 * @context Thread context.
 */
K23_API int k23_pt_protect(k23_pt_t *pt, uint64_t va, uint64_t size, k23_perm_t perm,
                   k23_pt_flush_t *flush);

/**
 * Unmap every page in [@p va, @p va + @p size); holes are skipped. A block
 * only partly inside is split first. Tables left empty are unlinked and
 * handed to @p flush, which frees them after the invalidation.
 * @param[in,out] pt     the table
 * @param[in]     va     4 KiB-aligned start
 * @param[in]     size   non-zero multiple of 4 KiB
 * @param[in,out] flush  records what must be invalidated
 * @retval K23_OK         done
 * @retval K23_ERR_NOMEM  no frame to split a block (nothing changed)
 * @retval K23_ERR_UNSUPPORTED  a block to split has a memory type this
 *                              library does not write (adopted trees)
 * @retval K23_ERR_INVAL  bad range, NULL
 * @context Thread context.
 */
K23_API int k23_pt_unmap(k23_pt_t *pt, uint64_t va, uint64_t size,
                 k23_pt_flush_t *flush);

/**
 * Look up the mapping of @p va.
 * @param[in]  pt   the table
 * @param[in]  va   any virtual address
 * @param[out] out  the mapping (va = @p va, pa = its physical address);
 *                  untouched on error
 * @retval K23_OK             mapped
 * @retval K23_ERR_NOT_FOUND  not mapped (or outside the format's half)
 * @retval K23_ERR_INVAL      NULL
 * @context Any; the caller keeps writers away.
 */
K23_API int k23_pt_query(const k23_pt_t *pt, uint64_t va, k23_pt_mapping_t *out);

/**
 * Call @p fn for every leaf overlapping [@p va, @p va + @p size), in
 * address order.
 * @param[in] pt    the table
 * @param[in] va    4 KiB-aligned start
 * @param[in] size  non-zero multiple of 4 KiB
 * @param[in] fn    callback
 * @param[in] ctx   passed to @p fn
 * @return K23_OK, K23_ERR_INVAL for bad arguments, or what @p fn returned
 *         to stop
 * @context Thread context; @p fn must not change the table.
 */
K23_API int k23_pt_walk(const k23_pt_t *pt, uint64_t va, uint64_t size,
                k23_pt_walk_fn fn, void *ctx);

/**
 * Switch the calling CPU to this table: computes the register value
 * (CR3 with PCID, TTBR0/1_EL1 with ASID, satp with MODE and ASID) and hands
 * it to k23_port_mmu_activate().
 * @param[in] pt  the table
 * @retval K23_OK               switched
 * @retval K23_ERR_UNSUPPORTED  the port cannot load this format
 * @retval K23_ERR_INVAL        NULL
 * @context Kernel, with whatever the port's hook requires.
 */
K23_API int k23_pt_activate(const k23_pt_t *pt);

/**
 * The register value k23_pt_activate() would load.
 * @param[in]  pt   the table
 * @param[out] out  the value; untouched on error
 * @retval K23_OK         computed
 * @retval K23_ERR_INVAL  NULL
 * @context Any.
 */
K23_API int k23_pt_activate_value(const k23_pt_t *pt, uint64_t *out);

/**
 * Table frames in the tree, the root included.
 * @param[in] pt  the table (panics if NULL)
 * @return the count
 * @context Any.
 */
K23_API uint64_t k23_pt_table_frames(const k23_pt_t *pt);

/* ---- flush objects ---- */

/**
 * Make @p f an empty flush object for @p asid. Panics, naming it, when
 * @p f is an initialised object that still holds pending work (reusing
 * it would drop that work).
 * @param[out] f     storage
 * @param[in]  asid  the ASID whose tables will record into it
 * @retval K23_OK         ready
 * @retval K23_ERR_INVAL  NULL
 * @context Any.
 */
K23_API int k23_pt_flush_init(k23_pt_flush_t *f, uint32_t asid);

/**
 * Invalidate what @p f recorded (k23_port_tlb_flush()), then free the
 * table frames it holds, and leave it empty for reuse.
 * @param[in,out] f  an initialised flush object
 * @retval K23_OK         done (also when there was nothing to do)
 * @retval K23_ERR_INVAL  NULL or not initialised
 * @context Kernel; as k23_port_tlb_flush().
 */
K23_API int k23_pt_flush(k23_pt_flush_t *f);

/**
 * Whether @p f holds work for k23_pt_flush().
 * @param[in] f  an initialised flush object (panics otherwise)
 * @return true when something is pending
 * @context Any.
 */
K23_API bool k23_pt_flush_pending(const k23_pt_flush_t *f);

/**
 * Finish with @p f. Panics, naming it, when work is still pending: a
 * forgotten flush leaves stale translations and leaks table frames.
 * @param[in,out] f  an initialised flush object
 * @context Any.
 */
K23_API void k23_pt_flush_fini(k23_pt_flush_t *f);

/* ---- fault decoders ---- */

/**
 * Decode an x86_64 page fault (the page-fault exception error code and CR2). Supported: the
 * P, W/R, U/S and I/D bits; refused: reserved-bit, protection-key,
 * shadow-stack, HLAT and SGX faults.
 * @param[in]  error_code  the error code the CPU pushed
 * @param[in]  cr2         the faulting address
 * @param[out] out         decoded; untouched on error
 * @retval K23_OK               decoded
 * @retval K23_ERR_UNSUPPORTED  a fault this decoder does not handle
 * @retval K23_ERR_INVAL        a combination the CPU never reports, or NULL
 * @context Any.
 */
K23_API int k23_pt_fault_x86_64(uint64_t error_code, uint64_t cr2,
                        k23_pt_fault_t *out);

/**
 * Decode an aarch64 synchronous abort (ESR_EL1 and FAR_EL1). Supported:
 * instruction and data aborts from EL0 or EL1 (EC 0x20, 0x21, 0x24, 0x25)
 * with a translation fault (levels 0-3) or a permission fault (levels
 * 1-3). Refused: other classes, access-flag, alignment, external and
 * other fault status codes, cache-maintenance aborts, FnV set.
 * @param[in]  esr  ESR_EL1
 * @param[in]  far  FAR_EL1
 * @param[out] out  decoded; untouched on error
 * @retval K23_OK               decoded
 * @retval K23_ERR_UNSUPPORTED  an exception this decoder does not handle
 * @retval K23_ERR_INVAL        NULL
 * @context Any.
 */
K23_API int k23_pt_fault_aarch64(uint64_t esr, uint64_t far, k23_pt_fault_t *out);

/**
 * Decode a riscv64 page fault (scause 12, 13, 15 with stval). The trap
 * does not say whether a translation was present: kind is
 * #K23_PT_FAULT_UNKNOWN. User mode is sstatus.SPP == 0.
 * @param[in]  scause   scause
 * @param[in]  stval    stval (the faulting address)
 * @param[in]  sstatus  sstatus at the trap
 * @param[out] out      decoded; untouched on error
 * @retval K23_OK               decoded
 * @retval K23_ERR_UNSUPPORTED  an interrupt or another exception
 * @retval K23_ERR_INVAL        NULL
 * @context Any.
 */
K23_API int k23_pt_fault_riscv64(uint64_t scause, uint64_t stval, uint64_t sstatus,
                         k23_pt_fault_t *out);

#ifdef __cplusplus
}
#endif

#endif /* K23MEM_PAGETABLE_H */
