/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Per-CPU caches of single frames: refills, spills and drains, the locked
 * cache path of ports without a CPU-local fast path, the single-frame
 * cases that miss, and the caches' part of the checker. The design is
 * described in frames_pcpu.h; the arenas below are reached only through
 * arena.h.
 */
#include "frames_pcpu.h"

/* ---- locks ---- */

static inline unsigned frames_cache_index(const k23_frames_t *fa,
                                          unsigned cpu)
{
    return cpu < fa->ncaches ? cpu : cpu % fa->ncaches;
}

void k23_frames_cache_lock_(k23_frames_t *fa, unsigned i)
{
    k23_port_lock_acquire(&fa->caches[i].lock);
    if (fa->pcpu_fast)
        k23_port_pcpu_fence(&fa->caches[i].hdr, i);
}

void k23_frames_cache_unlock_(k23_frames_t *fa, unsigned i)
{
    if (fa->pcpu_fast)
        k23_port_pcpu_unfence(&fa->caches[i].hdr);
    k23_port_lock_release(&fa->caches[i].lock);
}

/* The analysis cannot follow a loop over the cache or stripe locks: it is
 * told about the allocator's lock, which the callers' helpers require. */
K23_NO_THREAD_SAFETY_ANALYSIS void k23_frames_arenas_lock_(k23_frames_t *fa)
{
    k23_port_lock_acquire(&fa->lock);
    for (unsigned i = 0; i < fa->narenas; i++)
        k23_arena_lock_(&fa->arenas[i]);
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_frames_arenas_unlock_(k23_frames_t *fa)
{
    for (unsigned i = fa->narenas; i-- > 0;)
        k23_arena_unlock_(&fa->arenas[i]);
    k23_port_lock_release(&fa->lock);
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_frames_lock_all_(k23_frames_t *fa)
{
    for (unsigned i = 0; i < fa->ncaches; i++)
        k23_frames_cache_lock_(fa, i);
    k23_frames_arenas_lock_(fa);
}

K23_NO_THREAD_SAFETY_ANALYSIS void k23_frames_unlock_all_(k23_frames_t *fa)
{
    k23_frames_arenas_unlock_(fa);
    for (unsigned i = fa->ncaches; i-- > 0;)
        k23_frames_cache_unlock_(fa, i);
}

/* ---- per-CPU statistics (cpu_stats) ---- */

enum frames_counter { FRAMES_HITS, FRAMES_REFILLS, FRAMES_DRAINS };

static inline uint64_t *frames_counter_of(k23_frames_pcpu_t *c,
                                          enum frames_counter k)
{
    return k == FRAMES_HITS ? &c->hits
           : k == FRAMES_REFILLS ? &c->refills
                                 : &c->drains;
}

/* Count one event on cache c. Relaxed atomics: the fast path counts
 * without the cache lock. */
static inline void frames_count_on(const k23_frames_t *fa,
                                   k23_frames_pcpu_t *c,
                                   enum frames_counter k)
{
    if (fa->cfg.cpu_stats)
        __atomic_fetch_add(frames_counter_of(c, k), 1, __ATOMIC_RELAXED);
}

/* Count one event on the calling CPU's cache (the fast path, outside
 * any CPU-local section, which does not know which cache its hook used:
 * a thread moved in between counts on the CPU it landed on). */
static inline void frames_count(k23_frames_t *fa, enum frames_counter k)
{
    if (fa->cfg.cpu_stats) {
        unsigned cpu = k23_port_cpu_local_enter();
        frames_count_on(fa, &fa->caches[frames_cache_index(fa, cpu)], k);
        k23_port_cpu_local_exit(cpu);
    }
}

void k23_frames_cache_stats_(k23_frames_t *fa, unsigned i,
                             k23_frames_cpu_stats_t *out)
{
    k23_frames_pcpu_t *c = &fa->caches[i];
    k23_frames_cache_lock_(fa, i);
    out->cached = c->hdr.count;
    out->hits = __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
    out->refills = __atomic_load_n(&c->refills, __ATOMIC_RELAXED);
    out->drains = __atomic_load_n(&c->drains, __ATOMIC_RELAXED);
    k23_frames_cache_unlock_(fa, i);
}

/* ---- moving frames between caches and arenas ---- */

/* Up to n single frames from the arenas (highest first, as single
 * allocations take them) in state st, as cache entries; returns how many.
 * With claim a cache index, only chunks that cache may own, and they
 * become its own (arena.h, "Owned chunks"). No arena lock is held: each
 * stripe is taken under its own. */
static unsigned frames_take(k23_frames_t *fa, unsigned n, uint8_t st,
                            unsigned cpu, uint16_t claim, uint64_t *e)
{
    unsigned got = 0;
    for (unsigned i = fa->narenas; i-- > 0 && got < n;) {
        unsigned k = k23_arena_take_singles_(&fa->arenas[i], n - got, st,
                                             cpu, fa->ncaches, claim,
                                             e + got);
        for (unsigned j = got; j < got + k; j++)
            e[j] = frames_entry(fa, i, e[j]);
        got += k;
    }
    return got;
}

/* Sort cache entries (at most a cache and one more): insertion sort, as
 * they mostly come back in runs already. */
static void frames_sort_entries(uint64_t *e, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        uint64_t v = e[i];
        unsigned j = i;
        for (; j > 0 && e[j - 1] > v; j--)
            e[j] = e[j - 1];
        e[j] = v;
    }
}

/* Give n cache entries (frames in state `expect`, CACHED or ALLOCATED,
 * held by no cache) back to the arenas; e is consumed (sorted, then
 * overwritten with frame numbers). Sorted entries of one arena are
 * adjacent (the arenas are in address order and an entry is its frame's
 * address with the arena's index in the low bits): each arena's share is
 * freed in one call, which frees consecutive frames as one run (one
 * state check per run) and takes each stripe's lock once for all of its
 * runs. CACHED frames are freed so only with every cache's flips stopped
 * (the locked caches, or the owner's stack fenced). */
static void frames_free_entries(k23_frames_t *fa, uint64_t *e, unsigned n,
                                uint8_t expect)
{
    if (n == 0)
        return;
    frames_sort_entries(e, n);
    for (unsigned i = 0; i < n;) {
        unsigned ai = frames_entry_arena(e[i]), k = 0;
        for (; i + k < n && frames_entry_arena(e[i + k]) == ai; k++)
            e[i + k] = frames_entry_pfn(fa, e[i + k]);
        k23_arena_free_sorted_(&fa->arenas[ai], e + i, k, expect,
                               fa->frame_shift);
        i += k;
    }
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
}

/* Give the oldest k frames of a cache back; the cache lock is held; the
 * locked caches only (no owners: the bits flip with atomics). */
static void frames_cache_drain_n(k23_frames_t *fa, k23_frames_pcpu_t *c,
                                 unsigned k)
{
    if (k == 0)
        return;
    frames_count_on(fa, c, FRAMES_DRAINS);
    frames_free_entries(fa, c->frames, k, FRAME_CACHED); /* fenced */
    for (unsigned i = k; i < c->hdr.count; i++)
        c->frames[i - k] = c->frames[i];
    c->hdr.count -= k;
}

/* Fill a cache with up to cache_batch frames; the cache lock is held. */
static void frames_cache_refill(k23_frames_t *fa, k23_frames_pcpu_t *c)
{
    frames_count_on(fa, c, FRAMES_REFILLS);
    if (c->hdr.count < fa->cfg.cache_batch)
        c->hdr.count += frames_take(
            fa, fa->cfg.cache_batch - c->hdr.count, FRAME_CACHED,
            (unsigned)(c - fa->caches), K23_ARENA_NO_OWNER,
            &c->frames[c->hdr.count]);
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
}

static void frames_release_cached(k23_frames_t *fa, uint64_t *e, unsigned n);

/* Add delta to a fenced (or locked) cache header's transit counter. */
static void frames_hdr_transit_add(k23_port_pcpu_hdr_t *h, uint64_t delta)
{
    uint64_t t = (frames_hdr_transit(h) + delta) & FRAMES_TRANSIT_MASK;
    h->transit_lo = (uint16_t)t;
    h->transit_hi = (uint32_t)(t >> 16);
}

/* Drain cache i on the fast path. Under its lock and fence, its frames of
 * chunks it owns flip to ALLOCATED with atomics (the fence stops its own
 * flips; no other CPU flips them). A frame of another cache's chunk (a
 * thread that moved between its flip and its push left it here) is taken
 * out counted in transit and flipped by its owner once the lock is
 * dropped. Then all go to the arenas. */
static void frames_cache_drain_fast(k23_frames_t *fa, unsigned i)
{
    uint64_t own[K23_FRAMES_CACHE_MAX], foreign[K23_FRAMES_CACHE_MAX];
    unsigned nown = 0, nforeign = 0;
    k23_frames_pcpu_t *c = &fa->caches[i];
    k23_frames_cache_lock_(fa, i);
    if (c->hdr.count != 0)
        frames_count_on(fa, c, FRAMES_DRAINS);
    for (unsigned j = 0; j < c->hdr.count; j++) {
        uint64_t e = c->frames[j];
        k23_frames_arena_t *a = &fa->arenas[frames_entry_arena(e)];
        uint64_t pfn = frames_entry_pfn(fa, e), m = k23_arena_bit_(pfn);
        if (k23_arena_owner_(a, pfn) != i) {
            foreign[nforeign++] = e;
            continue;
        }
        uint64_t *w = k23_arena_cached_word_(a, pfn);
        if (K23_UNLIKELY((__atomic_fetch_and(w, ~m, __ATOMIC_RELAXED) & m) ==
                         0))
            K23_PANIC_ADDR("k23_frames: corrupt bookkeeping, a cached frame "
                           "was not in CACHED state, frame at",
                           frames_entry_pa(e));
        own[nown++] = e;
    }
    c->hdr.count = 0;
    frames_hdr_transit_add(&c->hdr, nforeign);
    k23_frames_cache_unlock_(fa, i);
    frames_free_entries(fa, own, nown, FRAME_ALLOCATED);
    frames_release_cached(fa, foreign, nforeign);
    if (nforeign != 0)
        frames_transit_end(fa, nforeign);
}

void k23_frames_cache_drain_(k23_frames_t *fa, unsigned i)
{
    if (fa->pcpu_fast) {
        frames_cache_drain_fast(fa, i);
        return;
    }
    k23_frames_pcpu_t *c = &fa->caches[i];
    k23_frames_cache_lock_(fa, i);
    frames_cache_drain_n(fa, c, c->hdr.count);
    k23_frames_cache_unlock_(fa, i);
}

/* A run from the arenas, highest first: within one stripe, each under its
 * own lock (single frames from the calling CPU's home part first); only a
 * run that no stripe holds whole is searched for across stripes, under
 * every lock. */
static bool frames_alloc_run(k23_frames_t *fa, uint64_t n, unsigned align,
                             uint64_t limit_pfn, uint64_t *pfn)
{
    bool across = false;
    for (unsigned i = fa->narenas; i-- > 0;) {
        k23_frames_arena_t *a = &fa->arenas[i];
        if (n == 1 && align == 0 && limit_pfn >= k23_arena_end_(a)) {
            /* caches off: one stripe lock when a relaxed look finds a
             * chunk that keeps its frame until locked */
            if (fa->ncaches == 0 &&
                (*pfn = k23_arena_take_one_(a, fa->frame_shift)) !=
                    K23_ARENA_NO_FRAME)
                return true;
            unsigned cpu = 0;
            if (fa->ncaches > 1) {
                cpu = k23_port_cpu_local_enter();
                k23_port_cpu_local_exit(cpu);
            }
            if (k23_arena_take_singles_(a, 1, FRAME_ALLOCATED, cpu,
                                        fa->ncaches, K23_ARENA_NO_OWNER,
                                        pfn) == 1)
                return true;
            continue; /* a single frame lies in one stripe */
        }
        if (k23_arena_alloc_in_stripe_(a, n, align, limit_pfn,
                                       FRAME_ALLOCATED, pfn))
            return true;
        across |= n > 1 && a->nstripes > 1;
    }
    if (!across)
        return false;
    unsigned ai;
    k23_frames_arenas_lock_(fa);
    bool ok = k23_arenas_alloc_(fa->arenas, fa->narenas, n, align, limit_pfn,
                                fa->cfg.max_order, FRAME_ALLOCATED, &ai, pfn);
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_locked_(fa));
    k23_frames_arenas_unlock_(fa);
    return ok;
}

bool k23_frames_alloc_global_(k23_frames_t *fa, uint64_t n, unsigned align,
                              uint64_t limit_pfn, k23_paddr_t *pa)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        uint64_t pfn;
        bool ok = frames_alloc_run(fa, n, align, limit_pfn, &pfn);
        K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
        if (ok) {
            *pa = pfn << fa->frame_shift;
            return true;
        }
        if (fa->ncaches == 0)
            break;
        for (unsigned i = 0; i < fa->ncaches; i++)
            k23_frames_cache_drain_(fa, i);
    }
    return false;
}

/* ---- the fast path's misses ---- */

__attribute__((noinline, cold)) void
k23_frames_transit_end_locked_(k23_frames_t *fa, unsigned n)
{
    k23_frames_cache_lock_(fa, 0);
    frames_hdr_transit_add(&fa->caches[0].hdr, 0 - (uint64_t)n);
    k23_frames_cache_unlock_(fa, 0);
}

/* ---- owned chunks: the flips that do not happen on the spot ---- */

/* Panic for an owner that names no cache: corrupt bookkeeping. */
__attribute__((noinline, cold)) K23_NORETURN static void
frames_bad_owner(const k23_frames_t *fa, uint64_t pfn)
{
    K23_PANIC_ADDR("k23_frames: corrupt bookkeeping, a cached frame's "
                   "chunk has no owning cache, frame at",
                   pfn << fa->frame_shift);
}

__attribute__((noinline)) int
k23_frames_flip_anywhere_(k23_frames_t *fa, k23_frames_arena_t *a,
                          uint16_t owner, uint64_t pfn, uint64_t m,
                          uint64_t expect)
{
    if (K23_UNLIKELY(owner >= fa->ncaches))
        frames_bad_owner(fa, pfn);
    int r = frames_flip(fa, a, owner, pfn, m, expect);
    if (K23_LIKELY(r != K23_PORT_FLIP_ELSEWHERE))
        return r;
    /* Not on the owner's CPU (the thread moved), or its stack is fenced:
     * fence it ourselves, under its lock; its flips stop meanwhile. */
    uint64_t *w = k23_arena_cached_word_(a, pfn);
    k23_frames_cache_lock_(fa, owner);
    r = K23_PORT_FLIP_MISMATCH;
    if ((__atomic_load_n(w, __ATOMIC_RELAXED) & m) == expect) {
        __atomic_fetch_xor(w, m, __ATOMIC_RELAXED);
        r = K23_PORT_FLIP_DONE;
    }
    k23_frames_cache_unlock_(fa, owner);
    return r;
}

__attribute__((noinline)) void k23_frames_take_slow_(k23_frames_t *fa,
                                                     k23_frames_arena_t *a,
                                                     uint64_t pfn,
                                                     k23_paddr_t pa, int r)
{
    uint64_t m = k23_arena_bit_(pfn);
    if (r == K23_PORT_FLIP_ELSEWHERE)
        r = k23_frames_flip_anywhere_(fa, a, k23_arena_owner_(a, pfn), pfn, m,
                                      m);
    if (K23_UNLIKELY(r != K23_PORT_FLIP_DONE))
        K23_PANIC_ADDR("k23_frames: corrupt bookkeeping, a frame taken from "
                       "a cache was not in CACHED state, frame at",
                       pa);
}

/* Flip the cached bits of entries e[0..n) (frames of chunks the same
 * cache owns or, with from_cached, frames in CACHED state), a word at a
 * time: ALLOCATED -> CACHED when !from_cached, CACHED -> ALLOCATED
 * otherwise. Marking stops at the first word whose flip cannot run on
 * this CPU and returns how many entries were flipped (all, when
 * releasing: those flip from anywhere). Entries of one word are
 * consecutive (the takes return frames in address order). */
static unsigned frames_flip_entries(k23_frames_t *fa, const uint64_t *e,
                                    unsigned n, bool from_cached)
{
    unsigned i = 0;
    while (i < n) {
        unsigned ai = frames_entry_arena(e[i]);
        k23_frames_arena_t *a = &fa->arenas[ai];
        uint64_t pfn = frames_entry_pfn(fa, e[i]), m = 0;
        uint64_t w = k23_arena_word_(a, pfn);
        unsigned j = i;
        for (; j < n && frames_entry_arena(e[j]) == ai &&
               k23_arena_word_(a, frames_entry_pfn(fa, e[j])) == w;
             j++)
            m |= k23_arena_bit_(frames_entry_pfn(fa, e[j]));
        uint16_t owner = k23_arena_owner_(a, pfn);
        int r;
        if (from_cached) {
            r = k23_frames_flip_anywhere_(fa, a, owner, pfn, m, m);
        } else {
            r = frames_flip(fa, a, owner, pfn, m, 0);
            if (r == K23_PORT_FLIP_ELSEWHERE)
                return i;
        }
        if (K23_UNLIKELY(r != K23_PORT_FLIP_DONE))
            K23_PANIC_ADDR("k23_frames: corrupt bookkeeping, cached bits not "
                           "as their cache left them, word of frame at",
                           pfn << fa->frame_shift);
        i = j;
    }
    return n;
}

/* Give n CACHED entries held by no cache back to the arenas on the fast
 * path: their owners flip them to ALLOCATED first (the arenas' own
 * writes of cached bits would race the owners' flips); e is reordered. */
static void frames_release_cached(k23_frames_t *fa, uint64_t *e, unsigned n)
{
    if (n == 0)
        return;
    frames_sort_entries(e, n);
    frames_flip_entries(fa, e, n, true);
    frames_free_entries(fa, e, n, FRAME_ALLOCATED);
}

/* Fast-path miss of an allocation (the calling CPU's cache is empty or
 * fenced, or the CPU has no cache): take one frame and cache_batch - 1
 * more from the arenas, the batch from chunks the calling CPU's cache
 * owns or claims, mark the batch CACHED with that CPU's flips and push
 * it; what does not fit or could not be marked goes back. */
static __attribute__((noinline)) bool frames_alloc_one_refill(k23_frames_t *fa,
                                                             k23_paddr_t *pa)
{
    uint64_t got[K23_FRAMES_CACHE_MAX];
    unsigned n, want = fa->cfg.cache_batch - 1;
    uint64_t first = 0;
    /* the batch is CACHED in no cache until pushed: count it first */
    if (want != 0 && !frames_transit_begin(fa, want))
        return k23_frames_alloc_global_(fa, 1, 0, UINT64_MAX, pa);
    frames_count(fa, FRAMES_REFILLS);
    unsigned cpu = k23_port_cpu_local_enter(); /* where to take them from */
    k23_port_cpu_local_exit(cpu);
    /* the one handed out is taken ALLOCATED from anywhere; the batch
     * ALLOCATED from chunks this CPU's cache may own, then CACHED by its
     * flips, which fail once the thread is on another CPU */
    bool ok = frames_take(fa, 1, FRAME_ALLOCATED, cpu, K23_ARENA_NO_OWNER,
                          &first) == 1;
    n = ok && want != 0 && cpu < fa->ncaches
            ? frames_take(fa, want, FRAME_ALLOCATED, cpu, (uint16_t)cpu, got)
            : 0;
    unsigned marked = frames_flip_entries(fa, got, n, false);
    frames_free_entries(fa, got + marked, n - marked, FRAME_ALLOCATED);
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
    unsigned k = 0;
    while (k < marked && frames_fast_push(fa, got[k])) /* each uncounts one */
        k++;
    frames_release_cached(fa, got + k, marked - k);
    if (want != 0)
        frames_transit_end(fa, want - k);
    if (!ok)
        return k23_frames_alloc_global_(fa, 1, 0, UINT64_MAX, pa);
    *pa = frames_entry_pa(first);
    return true;
}

/* Fast-path miss of a free of entry e (already CACHED): the calling CPU's
 * cache is full or fenced, or the CPU has none. Pop cache_batch entries,
 * push e, and give the popped ones (and e if it still does not fit) back
 * to the arenas. */
static __attribute__((noinline)) void frames_free_one_spill(k23_frames_t *fa,
                                                            uint64_t e)
{
    uint64_t out[K23_FRAMES_CACHE_MAX + 1];
    unsigned n = 0;
    frames_count(fa, FRAMES_DRAINS);
    /* e is counted in transit; each pop counts one more, a push of e
     * uncounts it: n frames are counted when they go to the arenas */
    while (n < fa->cfg.cache_batch &&
           (out[n] = frames_fast_pop(fa)) != K23_PORT_PCPU_NONE)
        n++;
    if (!frames_fast_push(fa, e))
        out[n++] = e;
    frames_release_cached(fa, out, n);
    frames_transit_end(fa, n);
}

void k23_frames_cache_spill_(k23_frames_t *fa, k23_paddr_t pa)
{
    frames_free_one_spill(fa, pa); /* arena 0: the entry is pa */
}

/* ---- single frames: every case but the one-arena fast hit ---- */

/* The locked cache path (no CPU-local fast path): pop from the calling
 * CPU's cache under its lock, refilling it when empty. */
static bool frames_cache_alloc_locked(k23_frames_t *fa, k23_paddr_t *pa)
{
    unsigned cpu = k23_port_cpu_local_enter();
    k23_frames_pcpu_t *c = &fa->caches[frames_cache_index(fa, cpu)];
    bool ok = false;
    k23_port_lock_acquire(&c->lock);
    if (K23_UNLIKELY(c->hdr.count == 0))
        frames_cache_refill(fa, c);
    else
        frames_count_on(fa, c, FRAMES_HITS);
    if (K23_LIKELY(c->hdr.count != 0)) {
        uint64_t e = c->frames[--c->hdr.count];
        k23_arena_cache_take_(&fa->arenas[frames_entry_arena(e)],
                              frames_entry_pfn(fa, e));
        *pa = frames_entry_pa(e);
        ok = true;
    }
    k23_port_lock_release(&c->lock);
    k23_port_cpu_local_exit(cpu);
    return ok;
}

bool k23_frames_cache_alloc_(k23_frames_t *fa, k23_paddr_t *pa)
{
    if (K23_LIKELY(fa->pcpu_fast)) {
        uint64_t e = frames_fast_pop(fa);
        if (K23_LIKELY(e != K23_PORT_PCPU_NONE)) {
            *pa = frames_take_popped(fa, e);
            frames_count(fa, FRAMES_HITS);
            return true;
        }
        return frames_alloc_one_refill(fa, pa);
    }
    if (K23_LIKELY(fa->ncaches != 0) && frames_cache_alloc_locked(fa, pa))
        return true;
    return k23_frames_alloc_global_(fa, 1, 0, UINT64_MAX, pa);
}

/* The panics of k23_frames_owner_(), kept out of the hot path. */
__attribute__((noinline, cold)) K23_NORETURN void
k23_frames_bad_free_(const k23_frames_t *fa, k23_paddr_t pa)
{
    if ((pa & (fa->cfg.frame_size - 1)) != 0)
        K23_PANIC_ADDR("k23_frames: free of an address that is not frame "
                       "aligned:", pa);
    K23_PANIC_ADDR("k23_frames: free of memory the allocator does not "
                   "own at", pa);
}

__attribute__((noinline, cold)) K23_NORETURN void
k23_frames_poison_bad_(k23_paddr_t frame)
{
    K23_PANIC_ADDR("k23_frames: poisoned free frame was written after it "
                   "was freed (use after free), frame at", frame);
}

/* A free straight to arena a, under the lock of the frame's stripe. */
static void frames_free_to_arena(k23_frames_t *fa, k23_frames_arena_t *a,
                                 k23_paddr_t pa)
{
    k23_arena_free_run_(a, pa >> fa->frame_shift, 1, FRAME_ALLOCATED,
                        fa->frame_shift);
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
}

__attribute__((noinline)) void k23_frames_free_direct_(k23_frames_t *fa,
                                                       k23_paddr_t pa)
{
    frames_free_to_arena(fa, &fa->arenas[0], pa);
}

__attribute__((noinline)) void
k23_frames_free_unflipped_(k23_frames_t *fa, k23_frames_arena_t *a,
                           k23_paddr_t pa, int r)
{
    frames_transit_end(fa, 1);
    if (r == K23_PORT_FLIP_MISMATCH)
        k23_arena_misuse_at_(a, pa >> fa->frame_shift, pa);
    frames_free_to_arena(fa, a, pa);
}

/* The locked cache path of a free (no CPU-local fast path). */
static void frames_cache_free_locked(k23_frames_t *fa, k23_frames_arena_t *a,
                                     unsigned ai, k23_paddr_t pa)
{
    uint64_t pfn = pa >> fa->frame_shift;
    unsigned cpu = k23_port_cpu_local_enter();
    k23_frames_pcpu_t *c = &fa->caches[frames_cache_index(fa, cpu)];
    k23_port_lock_acquire(&c->lock);
    k23_arena_expect_allocated_(a, pfn, pa);
    if (K23_UNLIKELY(c->hdr.count == fa->cfg.cache_frames))
        frames_cache_drain_n(fa, c, fa->cfg.cache_batch);
    k23_arena_cache_mark_(a, pfn, pa);
    c->frames[c->hdr.count++] = pa | ai;
    k23_port_lock_release(&c->lock);
    k23_port_cpu_local_exit(cpu);
}

/* A cache-hit free on the fast path: check the frame, flip it CACHED on
 * the CPU that owns its chunk, push it; on a full or fenced cache, spill.
 * A frame this CPU cannot flip (its chunk is another cache's, or
 * nobody's) goes straight to the arena. */
static void frames_cache_free_fast(k23_frames_t *fa, k23_frames_arena_t *a,
                                   unsigned ai, k23_paddr_t pa)
{
    uint64_t pfn = pa >> fa->frame_shift, m = k23_arena_bit_(pfn);
    k23_arena_expect_allocated_(a, pfn, pa);
    if (K23_UNLIKELY(!frames_transit_begin(fa, 1))) {
        frames_free_to_arena(fa, a, pa);
        return;
    }
    /* CACHED before the push: once pushed, another thread may pop it */
    int r = frames_flip(fa, a, k23_arena_owner_(a, pfn), pfn, m, 0);
    if (K23_UNLIKELY(r != K23_PORT_FLIP_DONE)) {
        k23_frames_free_unflipped_(fa, a, pa, r);
        return;
    }
    /* pa is frame aligned (the owner check): pa | ai is the entry */
    if (K23_UNLIKELY(!frames_fast_push(fa, pa | ai)))
        frames_free_one_spill(fa, pa | ai);
}

__attribute__((noinline)) void k23_frames_cache_free_(k23_frames_t *fa,
                                                      k23_paddr_t pa)
{
    unsigned ai;
    FRAMES_REQUIRE_READY(fa, "k23_frames_free_one");
    k23_frames_arena_t *a = k23_frames_owner_(fa, pa, &ai);
    if (fa->cfg.poison) {
        /* checked first, so a double free panics before anything is
         * written; filled before the frame can be seen free */
        k23_arena_expect_allocated_(a, pa >> fa->frame_shift, pa);
        k23_frames_poison_fill_(fa, pa, 1);
    }
    if (K23_LIKELY(fa->pcpu_fast))
        frames_cache_free_fast(fa, a, ai, pa);
    else if (fa->ncaches != 0)
        frames_cache_free_locked(fa, a, ai, pa);
    else
        frames_free_to_arena(fa, a, pa);
}

/* ---- statistics and the checker ---- */

uint64_t k23_frames_caches_count_(const k23_frames_t *fa)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < fa->ncaches; i++)
        n += fa->caches[i].hdr.count;
    return n;
}

/* Arena index and frame number of a cache entry, for the checker: false
 * when the entry names no frame of the allocator (bits set below the
 * frame size other than an existing arena's index, or an address outside
 * that arena). */
static bool frames_entry_decode(const k23_frames_t *fa, uint64_t e,
                                unsigned *ai_out, uint64_t *pfn_out)
{
    uint64_t low = e & (fa->cfg.frame_size - 1);
    if (low >= fa->narenas)
        return false;
    uint64_t pfn = frames_entry_pfn(fa, e);
    if (!k23_arena_contains_(&fa->arenas[low], pfn))
        return false;
    *ai_out = (unsigned)low;
    *pfn_out = pfn;
    return true;
}

/* Frames counted in transit over every cache (see frames_transit_begin);
 * every fence held. Negative means the accounting itself is broken. */
static int64_t frames_transit_sum(const k23_frames_t *fa)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < fa->ncaches; i++)
        sum += frames_hdr_transit(&fa->caches[i].hdr);
    sum &= FRAMES_TRANSIT_MASK;
    /* as a signed 48-bit number */
    return sum >= (UINT64_C(1) << 47) ? (int64_t)sum - ((int64_t)1 << 48)
                                      : (int64_t)sum;
}

/* Mark every cache entry's frame (k23_arena_check_mark_()), counting the
 * marks in *entries, which the unmark undoes in the same order; all locks
 * are held, so nothing else changes states. */
static int frames_caches_mark(k23_frames_t *fa, uint64_t *entries)
{
    for (unsigned i = 0; i < fa->ncaches; i++) {
        k23_frames_pcpu_t *c = &fa->caches[i];
        if (c->hdr.count > fa->cfg.cache_frames) {
            k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cache over its "
                         "bound on cpu ", i, "");
            return K23_ERR_CORRUPT;
        }
        for (unsigned j = 0; j < c->hdr.count; j++) {
            unsigned ai;
            uint64_t pfn;
            if (!frames_entry_decode(fa, c->frames[j], &ai, &pfn)) {
                k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cache entry "
                             "out of range on cpu ", i, "");
                return K23_ERR_CORRUPT;
            }
            if (fa->pcpu_fast &&
                k23_arena_owner_(&fa->arenas[ai], pfn) >= fa->ncaches) {
                k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cached frame "
                             "in a chunk no cache owns at ",
                             pfn << fa->frame_shift, "");
                return K23_ERR_CORRUPT;
            }
            if (!k23_arena_check_mark_(&fa->arenas[ai], pfn)) {
                k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cached frame "
                             "not in CACHED state (or cached twice) at ",
                             pfn << fa->frame_shift, "");
                return K23_ERR_CORRUPT;
            }
            (*entries)++;
        }
    }
    return K23_OK;
}

/* Undo the first `marked` marks of frames_caches_mark(): a marked frame
 * reads as allocated, so only the marks that succeeded are undone. */
static void frames_caches_unmark(k23_frames_t *fa, uint64_t marked)
{
    for (unsigned i = 0; i < fa->ncaches && marked != 0; i++) {
        k23_frames_pcpu_t *c = &fa->caches[i];
        for (unsigned j = 0; j < c->hdr.count && marked != 0; j++) {
            unsigned ai;
            uint64_t pfn;
            if (frames_entry_decode(fa, c->frames[j], &ai, &pfn)) {
                k23_arena_check_unmark_(&fa->arenas[ai], pfn);
                marked--;
            }
        }
    }
}

int k23_frames_caches_check_(k23_frames_t *fa, uint64_t cached)
{
    uint64_t entries = 0;
    int rc = frames_caches_mark(fa, &entries);
    frames_caches_unmark(fa, entries);
    if (rc != K23_OK)
        return rc;
    int64_t transit = frames_transit_sum(fa);
    if (transit < 0) {
        k23_log_u64_(K23_LOG_ERROR, "k23_frames check: in-transit count "
                     "negative: -", (uint64_t)-transit, "");
        return K23_ERR_CORRUPT;
    }
    if (cached - entries > (uint64_t)transit) {
        k23_log_u64_(K23_LOG_ERROR, "k23_frames check: frames in CACHED state "
                     "not in any cache nor in transit: ",
                     cached - entries - (uint64_t)transit, "");
        return K23_ERR_CORRUPT;
    }
    return K23_OK;
}
