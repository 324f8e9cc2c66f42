/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The hosted port's virtual-memory hooks over an address space, as a
 * kernel port has them (aspace.h, docs/porting.md), built instead of the
 * mmap hooks of port.c when K23_PORT_HOSTED_ASPACE is defined
 * (tests/aspace_hooks.cmake builds the memory-pool and instance suites a
 * second time against it).
 *
 * "Physical" memory is a memfd of HV_PHYS_BYTES bytes at physical
 * addresses [HV_PHYS_BASE, HV_PHYS_BASE + HV_PHYS_BYTES), managed by a
 * frame allocator and reached through a read-write mapping of the whole
 * file, the direct map (k23_port_phys_to_virt). The address space's
 * window is a host range reserved PROT_NONE. The host MMU cannot walk our
 * page tables, so after every hook the window is made to mirror them over
 * the range the hook changed: each mapped page is the memfd page of its
 * frame mapped MAP_SHARED with the page's permissions, every other page
 * PROT_NONE. A decommitted, released or never committed page therefore
 * faults as it would in a kernel, and recommitted memory is whatever frame
 * the allocator gives next, zeroed by the address space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "k23mem/aspace.h"
#include "k23mem/frames.h"
#include "k23mem/port.h"
#include "k23_port_hosted_test.h"

#ifndef K23_PORT_HOSTED_ASPACE
#error "vm_aspace.c is built with K23_PORT_HOSTED_ASPACE only"
#endif

/* Physical addresses start at 2^47: above every address a 47-bit user
 * space has, so a physical address used as a pointer faults at once. */
#define HV_PHYS_BASE (UINT64_C(1) << 47)
#define HV_PHYS_BYTES (UINT64_C(256) << 20)
#define HV_PAGE UINT64_C(4096)
/* The window: the largest of these the host grants. The default memory
 * pool (1000 slots of 4 GiB) needs about 4 TiB. */
#define HV_WINDOW_MAX_LOG2 44u
#define HV_WINDOW_MIN_LOG2 34u

static struct {
    int fd;              /* the memfd: physical memory */
    char *direct;        /* the memfd mapped read-write */
    uint64_t window;     /* first address of the window */
    uint64_t window_bytes;
    k23_frames_t frames;
    k23_aspace_t as;
    k23_port_lock_t lock; /* serialises the hooks, as a kernel's lock */
} hv;
static pthread_once_t hv_once = PTHREAD_ONCE_INIT;

static K23_NORETURN void hv_fail(const char *what)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "aspace-backed VM hooks: %s", what);
    k23_port_panic(__FILE__, __LINE__, msg);
}

/* ---- physical memory ---- */

void *k23_port_phys_to_virt(k23_paddr_t pa)
{
    uint64_t off = pa - HV_PHYS_BASE;
    if (pa < HV_PHYS_BASE || off >= HV_PHYS_BYTES || hv.direct == NULL) {
        char msg[96];
        snprintf(msg, sizeof(msg), "k23_port_phys_to_virt(%#llx): not memory"
                 " of the memfd", (unsigned long long)pa);
        k23_port_panic(__FILE__, __LINE__, msg);
    }
    return hv.direct + off;
}

k23_paddr_t k23_port_virt_to_phys(const void *va)
{
    uintptr_t off = (uintptr_t)va - (uintptr_t)hv.direct;
    if (hv.direct == NULL || (uintptr_t)va < (uintptr_t)hv.direct ||
        off >= HV_PHYS_BYTES) {
        char msg[96];
        snprintf(msg, sizeof(msg), "k23_port_virt_to_phys(%p): not in the"
                 " direct map", va);
        k23_port_panic(__FILE__, __LINE__, msg);
    }
    return HV_PHYS_BASE + off;
}

/* ---- the mirror: page tables onto the host window ---- */

static int hv_prot(k23_perm_t perm)
{
    return ((perm & K23_PERM_READ) ? PROT_READ : 0) |
           ((perm & K23_PERM_WRITE) ? PROT_WRITE : 0) |
           ((perm & K23_PERM_EXECUTE) ? PROT_EXEC : 0);
}

static void hv_map_none(uint64_t va, uint64_t size)
{
    if (size != 0 &&
        mmap((void *)(uintptr_t)va, size, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
             0) == MAP_FAILED)
        hv_fail("mmap(PROT_NONE) over the window failed");
}

/* A run of pages contiguous in both address spaces with one permission. */
struct hv_sync {
    uint64_t next;   /* first address not yet mirrored */
    uint64_t end;    /* end of the range being mirrored */
    uint64_t va, pa, size;
    k23_perm_t perm;
};

static void hv_sync_emit(struct hv_sync *s)
{
    if (s->size == 0)
        return;
    if (mmap((void *)(uintptr_t)s->va, s->size, hv_prot(s->perm),
             MAP_SHARED | MAP_FIXED, hv.fd,
             (off_t)(s->pa - HV_PHYS_BASE)) == MAP_FAILED)
        hv_fail("mmap of a frame into the window failed"
                " (vm.max_map_count?)");
    s->size = 0;
}

static int hv_sync_leaf(void *ctx, const k23_pt_mapping_t *m)
{
    struct hv_sync *s = ctx;
    /* Clip the leaf to the range (a 2 MiB or 1 GiB leaf may stick out). */
    uint64_t va = m->va, pa = m->pa, end = m->va + m->size;
    if (va < s->next) {
        pa += s->next - va;
        va = s->next;
    }
    if (end > s->end)
        end = s->end;
    if (m->pa - HV_PHYS_BASE >= HV_PHYS_BYTES)
        hv_fail("a page table maps memory outside the memfd");
    if (s->size != 0 && va == s->va + s->size && pa == s->pa + s->size &&
        m->perm == s->perm) {
        s->size += end - va;
    } else {
        hv_sync_emit(s);
        hv_map_none(s->next, va - s->next);
        *s = (struct hv_sync){s->next, s->end, va, pa, end - va, m->perm};
    }
    s->next = end;
    return 0;
}

/* Make the host window match the page table over [va, va + size). */
static void hv_sync(uint64_t va, uint64_t size)
{
    struct hv_sync s = {va, va + size, 0, 0, 0, 0};
    if (k23_pt_walk(k23_aspace_pt(&hv.as), va, size, hv_sync_leaf, &s) !=
        K23_OK)
        hv_fail("k23_pt_walk failed");
    hv_sync_emit(&s);
    hv_map_none(s.next, s.end - s.next);
}

/* ---- fork: the child gets a copy of physical memory ---- */

/* MAP_SHARED pages stay shared across fork(), so without this a child
 * (a test's panic_capture) would write into its parent's frames and
 * frame-allocator bookkeeping. Copy what the memfd holds into a new one,
 * put it under the direct map and remirror the whole window. */
static void hv_fork_prepare(void) K23_ACQUIRE(hv.lock)
{
    k23_port_lock_acquire(&hv.lock);
}

static void hv_fork_parent(void) K23_RELEASE(hv.lock)
{
    k23_port_lock_release(&hv.lock);
}

static void hv_fork_child(void)
{
    /* The lock word holds the parent thread's tag; the child's only
     * thread is that thread, under another tag. */
    k23_port_lock_init(&hv.lock);
    int fd = memfd_create("k23mem-phys", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)HV_PHYS_BYTES) != 0)
        hv_fail("fork: memfd_create failed");
    char *copy = mmap(NULL, HV_PHYS_BYTES, PROT_READ | PROT_WRITE,
                      MAP_SHARED, fd, 0);
    if (copy == MAP_FAILED)
        hv_fail("fork: mmap of the new memfd failed");
    /* Only the file's data extents: the pages ever touched. ENXIO: no
     * data at all; a file system without SEEK_DATA gets a full copy. */
    off_t end = (off_t)HV_PHYS_BYTES;
    off_t off = lseek(hv.fd, 0, SEEK_DATA);
    if (off < 0 && errno != ENXIO) {
        memcpy(copy, hv.direct, HV_PHYS_BYTES);
        off = end;
    }
    for (; off >= 0 && off < end; off = lseek(hv.fd, off, SEEK_DATA)) {
        off_t hole = lseek(hv.fd, off, SEEK_HOLE);
        if (hole < 0 || hole > end)
            hole = end;
        memcpy(copy + off, hv.direct + off, (size_t)(hole - off));
        off = hole;
    }
    munmap(copy, HV_PHYS_BYTES);
    if (mmap(hv.direct, HV_PHYS_BYTES, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
        hv_fail("fork: mmap of the new memfd failed");
    close(hv.fd);
    hv.fd = fd;
    hv_sync(hv.window, hv.window_bytes);
}

/* ---- set-up, on first use ---- */

static void hv_init_once(void)
{
    if (sysconf(_SC_PAGESIZE) != (long)HV_PAGE)
        hv_fail("the host's pages are not 4 KiB");
    k23_port_lock_init(&hv.lock);
    hv.fd = memfd_create("k23mem-phys", MFD_CLOEXEC);
    if (hv.fd < 0 || ftruncate(hv.fd, (off_t)HV_PHYS_BYTES) != 0)
        hv_fail("memfd_create failed");
    void *d = mmap(NULL, HV_PHYS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
                   hv.fd, 0);
    if (d == MAP_FAILED)
        hv_fail("mmap of the memfd failed");
    hv.direct = d;
    for (unsigned lg = HV_WINDOW_MAX_LOG2; lg >= HV_WINDOW_MIN_LOG2; lg--) {
        void *w = mmap(NULL, UINT64_C(1) << lg, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (w != MAP_FAILED) {
            hv.window = (uint64_t)(uintptr_t)w;
            hv.window_bytes = UINT64_C(1) << lg;
            break;
        }
    }
    if (hv.window_bytes == 0)
        hv_fail("no host address space for the window");
    k23_range_t phys = {HV_PHYS_BASE, HV_PHYS_BYTES};
    k23_pt_frame_source_t src;
    /* aarch64 Linux hands out 48-bit user addresses, the others 47-bit
     * ones unless asked for more. */
#if defined(__aarch64__)
    const k23_pt_format_t *fmt = &k23_pt_aarch64_48_ttbr0;
#else
    const k23_pt_format_t *fmt = &k23_pt_x86_64_4level;
#endif
    if (k23_frames_init(&hv.frames, &phys, 1, NULL, NULL, 0, NULL) != K23_OK ||
        k23_pt_frame_source_frames(&src, &hv.frames) != K23_OK ||
        k23_aspace_create(&hv.as, fmt, 0, &src, hv.window,
                          hv.window + (hv.window_bytes - 1)) != K23_OK)
        hv_fail("frame allocator or address space set-up failed");
    if (pthread_atfork(hv_fork_prepare, hv_fork_parent, hv_fork_child) != 0)
        hv_fail("pthread_atfork failed");
}

static k23_aspace_t *hv_lock(void) K23_ACQUIRE(hv.lock)
{
    pthread_once(&hv_once, hv_init_once);
    k23_port_lock_acquire(&hv.lock);
    return &hv.as;
}

static void hv_unlock(void) K23_RELEASE(hv.lock)
{
    k23_port_lock_release(&hv.lock);
}

k23_aspace_t *k23_port_hosted_aspace_(void)
{
    pthread_once(&hv_once, hv_init_once);
    return &hv.as;
}

/* ---- the hooks ---- */

void k23_port_caps(k23_port_caps_t *caps)
{
    pthread_once(&hv_once, hv_init_once);
    (void)k23_aspace_vm_caps(&hv.as, caps);
    caps->pkeys_available = 0; /* what the example kernels say too */
}

int k23_port_vm_reserve(size_t size, size_t align, void **out)
{
    int rc = k23_aspace_vm_reserve(hv_lock(), size, align, out);
    hv_unlock(); /* nothing to mirror: a reservation maps nothing */
    return rc;
}

int k23_port_vm_commit(void *addr, size_t size, k23_perm_t perm)
{
    if (size == 0) /* as the mmap hooks: an empty range is done */
        return K23_OK;
    int rc = k23_aspace_vm_commit(hv_lock(), addr, size, perm);
    if (rc == K23_OK)
        hv_sync((uint64_t)(uintptr_t)addr, size);
    hv_unlock();
    return rc;
}

int k23_port_vm_decommit(void *addr, size_t size)
{
    if (size == 0)
        return K23_OK;
    int rc = k23_aspace_vm_decommit(hv_lock(), addr, size);
    if (rc == K23_OK)
        hv_sync((uint64_t)(uintptr_t)addr, size);
    hv_unlock();
    return rc;
}

int k23_port_vm_release(void *addr, size_t size)
{
    int rc = k23_aspace_vm_release(hv_lock(), addr, size);
    if (rc == K23_OK)
        hv_sync((uint64_t)(uintptr_t)addr, size);
    hv_unlock();
    return rc;
}

size_t k23_port_vm_reserved_bytes(void)
{
    size_t n = k23_aspace_vm_reserved_bytes(hv_lock());
    hv_unlock();
    return n;
}

/* No protection keys: the address space has none to give. */
int k23_port_pkey_alloc(unsigned *out)
{
    return out == NULL ? K23_ERR_INVAL : K23_ERR_UNSUPPORTED;
}

void k23_port_pkey_free(unsigned key)
{
    (void)key;
}

int k23_port_pkey_protect(void *addr, size_t size, k23_perm_t perm,
                          unsigned key)
{
    (void)addr; (void)size; (void)perm; (void)key;
    return K23_ERR_UNSUPPORTED;
}
