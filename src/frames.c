/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame allocator's public API: init (building the arenas the
 * planning selects), requests with alignment and physical limits,
 * single frames, bulk, statistics, the whole-allocator checker and adding
 * memory after init. The layers below, called downwards only (see
 * frames_internal.h): the per-CPU caches (frames_pcpu.c), the arenas
 * (arena.c), the run search (bitmap.c); planning is frames_select.c.
 *
 * Per-CPU caches are bounded: a free into a full cache first drains the
 * oldest `cache_batch` frames back to the arenas, and an allocation that
 * finds the arenas empty drains every cache and retries, so frames freed
 * on one CPU are never stranded there. A frame in a cache is CACHED in
 * its arena, so a double free is caught even when the first free only
 * went to a cache.
 */
#include "frames_pcpu.h"
#include "frames_select.h"


/* Frame number one past the last frame allowed by an inclusive byte
 * limit. */
static uint64_t frames_limit_pfn(k23_paddr_t limit, unsigned shift)
{
    uint64_t mask = (UINT64_C(1) << shift) - 1;
    return (limit >> shift) + ((limit & mask) == mask);
}

/* ---- building arenas from the plan ---- */

struct frames_build {
    k23_frames_t *fa;
    k23_range_t *rejected;
    size_t rejected_cap;
    size_t nrejected;
};

/* Add frames [ps, pe) of one run to arena a as free blocks, minus the
 * bookkeeping [meta_pfn, meta_end). A whole run goes in at once, so its
 * buddies coalesce across the cuts between its regions. */
static void frames_build_add(const k23_frames_t *fa, k23_frames_arena_t *a,
                             uint64_t ps, uint64_t n)
{
    if (n == 0)
        return;
    if (fa->cfg.poison)
        k23_frames_poison_fill_(fa, ps << fa->frame_shift, n);
    k23_arena_add_free_(a, ps, n, fa->cfg.max_order);
}

static void frames_build_free(const k23_frames_t *fa, k23_frames_arena_t *a,
                              uint64_t ps, uint64_t pe, uint64_t meta_pfn,
                              uint64_t meta_end)
{
    if (pe <= meta_pfn || ps >= meta_end) {
        frames_build_add(fa, a, ps, pe - ps);
        return;
    }
    if (ps < meta_pfn)
        frames_build_add(fa, a, ps, meta_pfn - ps);
    if (pe > meta_end)
        frames_build_add(fa, a, meta_end, pe - meta_end);
}

/* The first arena's bookkeeping starts with the per-CPU caches (frame
 * aligned, so cache-line aligned): zero them and set up their locks.
 * Returns the bytes they take. */
static uint64_t frames_build_caches(k23_frames_t *fa, unsigned char *at)
{
    uint64_t bytes = k23_frames_cache_bytes_(&fa->cfg);
    if (bytes == 0)
        return 0;
    k23_memzero_(at, (size_t)bytes);
    fa->caches = (k23_frames_pcpu_t *)(void *)at;
    fa->ncaches = fa->cfg.cpus;
    for (unsigned i = 0; i < fa->ncaches; i++)
        k23_port_lock_init(&fa->caches[i].lock);
    fa->extra_meta_bytes += bytes;
    return bytes;
}

/* Holes between the pieces of the arena [start, end) the walk yields from
 * *from on: consecutive pieces always have a frame between them (touching
 * regions are one run), so one fewer than the pieces. */
static uint64_t frames_build_holes(unsigned shift,
                                   const k23_frames_runs_t *from,
                                   uint64_t start, uint64_t end)
{
    k23_frames_runs_t it = *from;
    k23_frames_run_t r;
    uint64_t pieces = 0;
    while (k23_frames_runs_next_(&it, &r) && (r.first >> shift) < end) {
        uint64_t ps, pe;
        if (k23_frames_run_pfns_(r, shift, &ps, &pe) && pe > start)
            pieces++;
    }
    return pieces != 0 ? pieces - 1 : 0;
}

/* Build one planned arena from the runs the walk yields from *from on, or
 * record a rejected run. */
static int frames_build_entry(void *ctx, const k23_frames_arena_plan_t *e,
                              const k23_frames_runs_t *from)
{
    struct frames_build *b = ctx;
    k23_frames_t *fa = b->fa;
    unsigned shift = fa->frame_shift;

    if (e->rejected) {
        if (b->nrejected < b->rejected_cap)
            b->rejected[b->nrejected] = e->region;
        b->nrejected++;
        return K23_OK;
    }
    if (fa->narenas == K23_FRAMES_MAX_ARENAS)
        return K23_ERR_LIMIT;

    uint64_t start = e->range.base >> shift;
    uint64_t end = start + e->frames;
    uint64_t meta_pfn = e->bookkeeping.base >> shift;
    uint64_t bk = e->bookkeeping.size >> shift;
    k23_frames_arena_t *a = &fa->arenas[fa->narenas];
    unsigned char *meta = k23_frames_virt_(fa, e->bookkeeping.base);
    uint64_t extra = fa->narenas == 0 ? frames_build_caches(fa, meta) : 0;
    uint64_t nholes = frames_build_holes(shift, from, start, end);
    uint64_t own = k23_arena_meta_bytes_(e->frames, nholes);
    uint64_t info = k23_frames_info_bytes_(&fa->cfg, e->frames);
    K23_ASSERT_INTERNAL_FOUND(extra + own + info == e->bookkeeping_bytes,
                              extra + own + info);
    k23_arena_init_(a, start, e->frames, nholes, meta + extra, &fa->lock);
    if (info != 0) {
        a->info = meta + extra + own;
        k23_memzero_(a->info, (size_t)info);
        fa->extra_meta_bytes += info;
    }
    k23_arena_reserve_(a, meta_pfn, bk);
    k23_frames_runs_t it = *from;
    k23_frames_run_t r;
    while (k23_frames_runs_next_(&it, &r) && (r.first >> shift) < end) {
        uint64_t ps, pe;
        if (!k23_frames_run_pfns_(r, shift, &ps, &pe))
            continue;
        if (ps < start)
            ps = start;
        if (pe > end)
            pe = end;
        if (ps < pe)
            frames_build_free(fa, a, ps, pe, meta_pfn, meta_pfn + bk);
    }
    k23_arena_seal_(a);
    k23_arena_unlock_(a); /* k23_arena_init_() took the stripe locks */
#if K23_DEBUG >= 2
    k23_frames_arena_info_t got;
    k23_arena_describe_(a, shift, &got);
    K23_ASSERT_INTERNAL_FOUND(got.hole_frames == e->hole_frames,
                              got.hole_frames);
    K23_ASSERT_INTERNAL_FOUND(got.usable_frames == e->usable_frames,
                              got.usable_frames);
#endif
    uint64_t align = UINT64_C(1)
                     << (k23_arena_max_order_(a, fa->cfg.max_order) + shift);
    if (align > fa->max_alignment)
        fa->max_alignment = align;
    fa->narenas++;
    return K23_OK;
}

int k23_frames_init(k23_frames_t *fa, const k23_range_t *regions,
                    size_t nregions, const k23_frames_config_t *cfg,
                    k23_range_t *rejected, size_t rejected_cap,
                    size_t *nrejected)
{
    k23_frames_config_t c;
    if (fa == NULL || (rejected == NULL && rejected_cap != 0))
        return K23_ERR_INVAL;
    int rc = k23_frames_plan_validate_(&regions, nregions, cfg, &c);
    if (rc != K23_OK)
        return rc;

    k23_memzero_(fa, sizeof(*fa));
    c.sort_scratch = NULL; /* lent to this call only */
    c.sort_scratch_cap = 0;
    fa->cfg = c;
    fa->frame_shift = k23_frames_log2_(c.frame_size);
    fa->max_alignment = c.frame_size;
    k23_port_lock_init(&fa->lock);
    /* the caches themselves are carved with the first arena */
    if (c.cache_frames != 0)
        fa->pcpu_fast = k23_port_pcpu_fast();

    /* The arenas are not published yet, but their functions assert their
     * lock: hold it while building them. */
    struct frames_build b = {fa, rejected, rejected_cap, 0};
    k23_port_lock_acquire(&fa->lock);
    rc = k23_frames_plan_walk_(regions, nregions, &c, frames_build_entry, &b);
    k23_port_lock_release(&fa->lock);
    if (rc != K23_OK)
        return rc;
    if (nrejected != NULL)
        *nrejected = b.nrejected;
    if (fa->narenas == 0)
        return K23_ERR_TOO_SMALL;
    /* The shortest cache paths count nothing and poison nothing. */
    if (fa->pcpu_fast && fa->narenas == 1 && !c.poison && !c.cpu_stats) {
        const k23_frames_arena_t *a = &fa->arenas[0];
        fa->fast_nframes = k23_arena_end_(a) - k23_arena_base_(a);
        fa->fast_state = k23_arena_origin_(a);
    }
    fa->single_fast = fa->ncaches == 0 && fa->narenas == 1 && !c.poison;
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check(fa));
    return K23_OK;
}

/* ---- caches ---- */

void k23_frames_drain_cpu(k23_frames_t *fa, unsigned cpu)
{
    FRAMES_REQUIRE_READY(fa, "k23_frames_drain_cpu");
    if (fa->ncaches == 0)
        return;
    k23_frames_cache_drain_(fa, cpu < fa->ncaches ? cpu : cpu % fa->ncaches);
}

void k23_frames_drain_all(k23_frames_t *fa)
{
    FRAMES_REQUIRE_READY(fa, "k23_frames_drain_all");
    for (unsigned i = 0; i < fa->ncaches; i++)
        k23_frames_cache_drain_(fa, i);
}

static void frames_zero(k23_frames_t *fa, k23_paddr_t pa, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        k23_memzero_(k23_frames_virt_(fa, pa + (i << fa->frame_shift)),
                     (size_t)fa->cfg.frame_size);
}

/* ---- single frames ---- */

/* Every case of a single-frame allocation; the public functions try a
 * fast-path cache hit inline first. */
static __attribute__((noinline)) int frames_alloc_one(k23_frames_t *fa,
                                                      bool zero,
                                                      k23_paddr_t *out)
{
    k23_paddr_t pa;
    if (!k23_frames_ready_(fa) || out == NULL)
        return K23_ERR_INVAL;
    if (!k23_frames_cache_alloc_(fa, &pa))
        return K23_ERR_NOMEM;
    if (fa->cfg.poison)
        k23_frames_poison_check_(fa, pa, 1);
    if (zero)
        frames_zero(fa, pa, 1);
    *out = pa;
    return K23_OK;
}

int k23_frames_alloc_one(k23_frames_t *fa, k23_paddr_t *out)
{
    if (K23_LIKELY(fa != NULL && out != NULL && fa->fast_nframes != 0)) {
        uint64_t e = frames_fast_pop(fa);
        if (K23_LIKELY(e != K23_PORT_PCPU_NONE)) {
            /* one arena: the entry is the frame's address (index 0); the
             * cache that held it owns its chunk and flips it ALLOCATED */
            k23_frames_arena_t *a = &fa->arenas[0];
            uint64_t pfn = e >> fa->frame_shift, m = k23_arena_bit_(pfn);
            int r = frames_flip(fa, a, k23_arena_owner_(a, pfn), pfn, m, m);
            if (K23_UNLIKELY(r != K23_PORT_FLIP_DONE))
                k23_frames_take_slow_(fa, a, pfn, e, r);
            frames_transit_end(fa, 1); /* the pop counted it */
            *out = e;
            return K23_OK;
        }
    } else if (fa != NULL && out != NULL && fa->single_fast) {
        /* caches off, one arena: one stripe lock */
        uint64_t pfn = k23_arena_take_one_(&fa->arenas[0], fa->frame_shift);
        if (K23_LIKELY(pfn != K23_ARENA_NO_FRAME)) {
            K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
            *out = pfn << fa->frame_shift;
            return K23_OK;
        }
    }
    return frames_alloc_one(fa, false, out);
}

int k23_frames_alloc_one_zeroed(k23_frames_t *fa, k23_paddr_t *out)
{
    return frames_alloc_one(fa, true, out);
}

void k23_frames_free_one(k23_frames_t *fa, k23_paddr_t pa)
{
    if (K23_LIKELY(fa != NULL)) {
        uint64_t pfn = frames_rotr(pa, fa->frame_shift);
        /* One compare rejects frames below the arena, past it, misaligned
         * addresses (rotated far past it, as the arena ends at or below
         * 2^64) and allocators without the one-arena path (fast_nframes
         * 0) alike. */
        if (K23_LIKELY(pfn - k23_arena_base_(&fa->arenas[0]) <
                       fa->fast_nframes)) {
            k23_frames_arena_t *a = &fa->arenas[0];
            if (K23_UNLIKELY(!k23_arena_origin_busy_(fa->fast_state, pfn)))
                k23_arena_misuse_at_(a, pfn, pa);
            /* counted in transit, then CACHED by the CPU that owns its
             * chunk (before the push: once pushed, another thread may pop
             * it); a flip that cannot run here (the chunk is another
             * cache's) or finds the bit set (a double free) ends in
             * k23_frames_free_unflipped_() */
            if (K23_UNLIKELY(!frames_transit_begin(fa, 1))) {
                k23_frames_free_direct_(fa, pa);
                return;
            }
            uint64_t m = k23_arena_bit_(pfn);
            int r = frames_flip(fa, a, k23_arena_owner_(a, pfn), pfn, m, 0);
            if (K23_UNLIKELY(r != K23_PORT_FLIP_DONE)) {
                k23_frames_free_unflipped_(fa, a, pa, r);
                return;
            }
            if (K23_LIKELY(frames_fast_push(fa, pa)))
                return;
            k23_frames_cache_spill_(fa, pa);
            return;
        }
        if (fa->single_fast) {
            /* caches off, one arena: the same compare against its span */
            k23_frames_arena_t *a = &fa->arenas[0];
            if (K23_LIKELY(pfn - k23_arena_base_(a) <
                           k23_arena_end_(a) - k23_arena_base_(a))) {
                k23_arena_free_one_(a, pfn, fa->frame_shift);
                K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
                return;
            }
        }
    }
    k23_frames_cache_free_(fa, pa);
}

/* ---- runs ---- */

int k23_frames_alloc(k23_frames_t *fa, const k23_frames_req_t *req,
                     k23_paddr_t *out)
{
    if (!k23_frames_ready_(fa) || req == NULL || out == NULL ||
        req->size == 0 ||
        (req->flags & ~K23_FRAMES_ZERO) != 0 || req->align_log2 >= 64 ||
        (UINT64_C(1) << req->align_log2) > fa->max_alignment)
        return K23_ERR_INVAL;
    unsigned shift = fa->frame_shift;
    uint64_t n = (req->size >> shift) +
                 ((req->size & (fa->cfg.frame_size - 1)) != 0);
    unsigned align = req->align_log2 > shift ? req->align_log2 - shift : 0;
    bool zero = (req->flags & K23_FRAMES_ZERO) != 0;
    k23_paddr_t pa;

    if (n == 1 && align == 0 && req->limit == K23_FRAMES_NO_LIMIT)
        return frames_alloc_one(fa, zero, out);
    if (!k23_frames_alloc_global_(fa, n, align,
                                  frames_limit_pfn(req->limit, shift), &pa))
        return K23_ERR_NOMEM;
    if (fa->cfg.poison)
        k23_frames_poison_check_(fa, pa, n);
    if (zero)
        frames_zero(fa, pa, n);
    *out = pa;
    return K23_OK;
}

int k23_frames_alloc_contiguous(k23_frames_t *fa, uint64_t size,
                                unsigned align_log2, k23_paddr_t *out)
{
    k23_frames_req_t req = {size, align_log2, 0, K23_FRAMES_NO_LIMIT};
    return k23_frames_alloc(fa, &req, out);
}

int k23_frames_alloc_contiguous_zeroed(k23_frames_t *fa, uint64_t size,
                                       unsigned align_log2, k23_paddr_t *out)
{
    k23_frames_req_t req = {size, align_log2, K23_FRAMES_ZERO,
                            K23_FRAMES_NO_LIMIT};
    return k23_frames_alloc(fa, &req, out);
}

int k23_frames_free_contiguous(k23_frames_t *fa, k23_paddr_t pa,
                               uint64_t size)
{
    if (!k23_frames_ready_(fa) || size == 0 ||
        (pa & (fa->cfg.frame_size - 1)) != 0)
        return K23_ERR_INVAL;
    unsigned shift = fa->frame_shift;
    uint64_t n = (size >> shift) + ((size & (fa->cfg.frame_size - 1)) != 0);
    uint64_t pfn = pa >> shift;
    if (n - 1 > (UINT64_MAX >> shift) - pfn)
        return K23_ERR_INVAL;
    unsigned ai;
    k23_frames_arena_t *a = k23_frames_owner_(fa, pa, &ai);
    if (n > k23_arena_end_(a) - pfn)
        K23_PANIC_ADDR("k23_frames: free of a range running past the "
                       "allocator's memory, starting at", pa);
    if (fa->cfg.poison) {
        /* only once the range is known to be the caller's to free, and
         * filled before any frame of it can be seen free */
        k23_frames_arenas_lock_(fa);
        k23_arena_expect_range_(a, pfn, n, FRAME_ALLOCATED, shift);
        k23_frames_poison_fill_(fa, pa, n);
        k23_arena_free_(a, pfn, n, FRAME_ALLOCATED, fa->cfg.max_order,
                        shift);
        k23_frames_arenas_unlock_(fa);
    } else {
        /* under the locks of the stripes the range touches only */
        k23_arena_free_run_(a, pfn, n, FRAME_ALLOCATED, shift);
    }
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_(fa));
    return K23_OK;
}

/* ---- bulk ---- */

/* Free frames below limit_pfn, counted exactly; arena lock held. */
static uint64_t frames_free_below(const k23_frames_t *fa, uint64_t limit_pfn)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < fa->narenas; i++)
        total += k23_arena_free_below_(&fa->arenas[i], limit_pfn);
    return total;
}

int k23_frames_alloc_bulk(k23_frames_t *fa, size_t n, uint32_t flags,
                          k23_paddr_t limit, k23_paddr_t *out)
{
    if (!k23_frames_ready_(fa) || out == NULL || n == 0 ||
        (flags & ~K23_FRAMES_ZERO) != 0)
        return K23_ERR_INVAL;
    uint64_t limit_pfn = frames_limit_pfn(limit, fa->frame_shift);
    for (int attempt = 0; attempt < 2; attempt++) {
        k23_frames_arenas_lock_(fa);
        if (frames_free_below(fa, limit_pfn) >= n) {
            /* Enough frames under the lock: none of these can fail. */
            for (size_t i = 0; i < n; i++) {
                unsigned ai;
                uint64_t pfn = 0;
                bool ok = k23_arenas_alloc_(fa->arenas, fa->narenas, 1, 0,
                                            limit_pfn, fa->cfg.max_order,
                                            FRAME_ALLOCATED, &ai, &pfn);
                if (K23_NEVER(!ok))
                    K23_PANIC("k23_frames: bulk allocation lost a frame");
                out[i] = pfn << fa->frame_shift;
            }
            K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_locked_(fa));
            k23_frames_arenas_unlock_(fa);
            for (size_t i = 0; i < n && fa->cfg.poison; i++)
                k23_frames_poison_check_(fa, out[i], 1);
            if (flags & K23_FRAMES_ZERO)
                for (size_t i = 0; i < n; i++)
                    frames_zero(fa, out[i], 1);
            return K23_OK;
        }
        k23_frames_arenas_unlock_(fa);
        if (fa->ncaches == 0)
            break;
        k23_frames_drain_all(fa);
    }
    return K23_ERR_NOMEM;
}

int k23_frames_free_bulk(k23_frames_t *fa, size_t n, const k23_paddr_t *pa)
{
    if (!k23_frames_ready_(fa) || (pa == NULL && n != 0))
        return K23_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        k23_frames_free_one(fa, pa[i]);
    return K23_OK;
}

/* ---- introspection ---- */

uint64_t k23_frames_max_alignment(const k23_frames_t *fa)
{
    FRAMES_REQUIRE_READY(fa, "k23_frames_max_alignment");
    return fa->max_alignment;
}

int k23_frames_stats(k23_frames_t *fa, k23_frames_stats_t *out)
{
    if (!k23_frames_ready_(fa) || out == NULL)
        return K23_ERR_INVAL;
    k23_frames_stats_t s;
    k23_memzero_(&s, sizeof(s));
    s.frame_size = fa->cfg.frame_size;
    s.narenas = fa->narenas;
    s.max_order = fa->cfg.max_order;
    k23_frames_lock_all_(fa);
    for (unsigned i = 0; i < fa->narenas; i++)
        k23_arena_stats_add_(&fa->arenas[i], fa->cfg.max_order, &s);
    s.cached_frames = k23_frames_caches_count_(fa);
    s.metadata_bytes += fa->extra_meta_bytes;
    k23_frames_unlock_all_(fa);
    s.allocated_frames = s.total_frames - s.free_frames - s.cached_frames;
    *out = s;
    return K23_OK;
}

int k23_frames_arena_info(const k23_frames_t *fa, unsigned i,
                          k23_frames_arena_info_t *out)
{
    if (fa == NULL || out == NULL || i >= fa->narenas)
        return K23_ERR_INVAL;
    k23_arena_describe_(&fa->arenas[i], fa->frame_shift, out);
    return K23_OK;
}

/* Check under every lock (and fence). A CACHED frame in no cache is lost
 * unless a thread holds it in transit: with the fast path there may be up
 * to as many as the transit counters say, without it none. */
static int frames_check_locked(k23_frames_t *fa) K23_REQUIRES(fa->lock)
{
    uint64_t cached = 0;
    int rc = k23_arenas_check_(fa->arenas, fa->narenas, fa->cfg.max_order,
                               fa->frame_shift, &cached);
    if (rc != K23_OK)
        return rc;
    return k23_frames_caches_check_(fa, cached);
}

int k23_frames_check(k23_frames_t *fa)
{
    if (!k23_frames_ready_(fa))
        return K23_ERR_INVAL;
    /* One pass under every lock and fence: frames in transit are counted
     * exactly (frames_transit_begin), so no retry is needed and none can
     * be outlasted. */
    k23_frames_lock_all_(fa);
    int rc = frames_check_locked(fa);
    k23_frames_unlock_all_(fa);
    return rc;
}

/* ---- adding memory after init ----
 *
 * Memory that was not free at init (a boot loader's data, the device
 * tree, early carve-outs) can be given to the allocator later, as long as
 * its frames lie in one arena's span as a hole: the arena already has
 * bookkeeping entries for them. The frames become free blocks exactly as
 * if they had been freed, so they coalesce with free neighbours. */

int k23_frames_add_region(k23_frames_t *fa, k23_paddr_t base, uint64_t size)
{
    if (!k23_frames_ready_(fa) || size == 0 || base + (size - 1) < base)
        return K23_ERR_INVAL;
    if (((base | size) & (fa->cfg.frame_size - 1)) != 0)
        return K23_ERR_ALIGN;
    unsigned shift = fa->frame_shift;
    uint64_t pfn = base >> shift, n = size >> shift;
    int ai = k23_arenas_find_(fa->arenas, fa->narenas, pfn);
    if (ai < 0)
        return K23_ERR_NOT_FOUND;
    k23_frames_arena_t *a = &fa->arenas[ai];
    if (n > k23_arena_end_(a) - pfn)
        return K23_ERR_NOT_FOUND;
    /* every cache fenced too: the holes' cached bits share words with
     * frames of chunks the caches own, whose owners flip them without
     * any lock (arena.h, "Owned chunks") */
    k23_frames_lock_all_(fa);
    /* the frames are filled only once they are known to be holes */
    if (fa->cfg.poison && k23_arena_is_hole_(a, pfn, n))
        k23_frames_poison_fill_(fa, base, n);
    int rc = k23_arena_add_hole_(a, pfn, n, fa->cfg.max_order, shift);
    K23_ASSERT_EXPENSIVE_OK(k23_frames_check_arenas_locked_(fa));
    k23_frames_unlock_all_(fa);
    return rc;
}
/* ---- per-frame information, per-CPU statistics ---- */

void *k23_frames_info(const k23_frames_t *fa, k23_paddr_t pa)
{
    FRAMES_REQUIRE_READY(fa, "k23_frames_info");
    if (fa->cfg.info_size == 0)
        return NULL;
    uint64_t pfn = pa >> fa->frame_shift;
    int ai = k23_arenas_find_(fa->arenas, fa->narenas, pfn);
    if (ai < 0)
        return NULL;
    const k23_frames_arena_t *a = &fa->arenas[ai];
    return a->info + (pfn - k23_arena_base_(a)) * fa->cfg.info_size;
}

int k23_frames_cpu_stats(k23_frames_t *fa, unsigned cpu,
                         k23_frames_cpu_stats_t *out)
{
    if (!k23_frames_ready_(fa) || out == NULL || fa->ncaches == 0)
        return K23_ERR_INVAL;
    k23_frames_cache_stats_(fa, cpu < fa->ncaches ? cpu : cpu % fa->ncaches,
                            out);
    return K23_OK;
}
