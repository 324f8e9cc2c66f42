/*
 * The frame allocator: memory map -> arenas, the global (arena) lock, the
 * per-CPU caches, requests with alignment and physical limits, statistics
 * and the whole-allocator checker. The buddy and run machinery of one
 * arena is in arena.c.
 *
 * Per-CPU caches hold single frames as (arena index, frame index) pairs in
 * a small LIFO array. A frame in a cache is in state CACHED in its arena's
 * metadata, so a double free is caught even when the first free only went
 * to a cache. Caches are bounded: a free into a full cache first drains
 * the oldest `cache_batch` frames back to the arenas, and an allocation
 * that finds the arenas empty drains every cache and retries, so frames
 * freed on one CPU are never stranded there.
 *
 * The hosted port cannot pin a thread to a CPU, so a cache is always used
 * under its own lock; a caller preempted or migrated inside the section
 * merely uses another CPU's cache, correctly.
 */
#include "arena.h"
#include "k23mem/bitmap.h"
#include "k23mem/frames.h"

#define FRAMES_MIN_SHIFT 12
#define FRAMES_MAX_SHIFT 16

/* Cache entries pack the arena index and the frame index in the arena. */
#define FRAMES_ENTRY(ai, idx) (((uint64_t)(ai) << 32) | (uint64_t)(idx))
#define FRAMES_ENTRY_ARENA(e) ((unsigned)((e) >> 32))
#define FRAMES_ENTRY_INDEX(e) ((uint32_t)(e))

/* ---- helpers ---- */

static unsigned frames_log2(uint64_t x)
{
    return 63u - (unsigned)__builtin_clzll(x);
}

static void *frames_virt(const k23_frames_t *fa, k23_paddr_t pa)
{
    if (fa->cfg.phys_to_virt != NULL)
        return fa->cfg.phys_to_virt(fa->cfg.phys_to_virt_ctx, pa);
    return k23_port_phys_to_virt(pa);
}

/* Frames [ps, pe) wholly inside region r (inward alignment); false when
 * none. Never computes base + size, so a region may end at 2^64. */
static bool frames_region_pfns(k23_range_t r, unsigned shift, uint64_t *ps,
                               uint64_t *pe)
{
    uint64_t mask = (UINT64_C(1) << shift) - 1;
    if (r.size == 0)
        return false;
    uint64_t last = r.base + (r.size - 1);
    uint64_t s = (r.base >> shift) + ((r.base & mask) != 0);
    uint64_t e = (last >> shift) + ((last & mask) == mask);
    if (s >= e)
        return false;
    *ps = s;
    *pe = e;
    return true;
}

/* Frame number one past the last frame allowed by an inclusive byte
 * limit. */
static uint64_t frames_limit_pfn(k23_paddr_t limit, unsigned shift)
{
    uint64_t mask = (UINT64_C(1) << shift) - 1;
    return (limit >> shift) + ((limit & mask) == mask);
}

static uint64_t frames_bk_frames(uint64_t nframes, unsigned shift)
{
    uint64_t bytes = k23_arena_meta_bytes_(nframes);
    return (bytes + (UINT64_C(1) << shift) - 1) >> shift;
}

static uint64_t frames_hole_cost(uint64_t hole_frames)
{
    return hole_frames * K23_FRAMES_META_BYTES + (hole_frames + 7) / 8;
}

/* Index of the arena holding frame pfn, or -1. Arenas are sorted and
 * immutable after init, so no lock is needed. */
static int frames_find_arena(const k23_frames_t *fa, uint64_t pfn)
{
    if (K23_LIKELY(fa->narenas == 1))
        return pfn - fa->arenas[0].base_pfn < fa->arenas[0].nframes ? 0 : -1;
    unsigned lo = 0, hi = fa->narenas;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const k23_frames_arena_t *a = &fa->arenas[mid];
        if (pfn < a->base_pfn)
            hi = mid;
        else if (pfn - a->base_pfn >= a->nframes)
            lo = mid + 1;
        else
            return (int)mid;
    }
    return -1;
}

#if K23_DEBUG >= 3
static int frames_check_arenas_locked(const k23_frames_t *fa)
{
    uint64_t cached = 0;
    for (unsigned i = 0; i < fa->narenas; i++) {
        int rc = k23_arena_check_(&fa->arenas[i], fa->cfg.max_order,
                                  fa->frame_shift, &cached);
        if (rc != K23_OK)
            return rc;
    }
    return K23_OK;
}
#endif

/* ---- configuration ---- */

int k23_frames_config_default(k23_frames_config_t *cfg, uint64_t frame_size)
{
    if (cfg == NULL || !k23_is_pow2_(frame_size) ||
        frame_size < (UINT64_C(1) << FRAMES_MIN_SHIFT) ||
        frame_size > (UINT64_C(1) << FRAMES_MAX_SHIFT))
        return K23_ERR_INVAL;
    k23_memzero_(cfg, sizeof(*cfg));
    cfg->frame_size = frame_size;
    cfg->max_order = frames_log2(K23_FRAMES_DEFAULT_BLOCK / frame_size);
    cfg->hole_budget = K23_FRAMES_DEFAULT_HOLE_BUDGET;
    cfg->cache_frames = K23_FRAMES_DEFAULT_CACHE;
    cfg->cache_batch = K23_FRAMES_DEFAULT_BATCH;
    cfg->max_arena_frames = K23_FRAMES_MAX_ARENA_FRAMES;
    return K23_OK;
}

static bool frames_config_valid(const k23_frames_config_t *c)
{
    if (!k23_is_pow2_(c->frame_size) ||
        c->frame_size < (UINT64_C(1) << FRAMES_MIN_SHIFT) ||
        c->frame_size > (UINT64_C(1) << FRAMES_MAX_SHIFT))
        return false;
    if (c->max_order >= K23_FRAMES_ORDER_LIMIT)
        return false;
    if (c->cache_frames > K23_FRAMES_CACHE_MAX)
        return false;
    if (c->cache_frames != 0 &&
        (c->cache_batch == 0 || c->cache_batch > c->cache_frames))
        return false;
    if (c->max_arena_frames == 0 ||
        c->max_arena_frames > K23_FRAMES_MAX_ARENA_FRAMES ||
        c->max_arena_frames < (UINT64_C(1) << c->max_order))
        return false;
    return true;
}

/* ---- building arenas from the memory map ---- */

/* An arena being assembled from sorted regions. */
struct frames_cand {
    bool open;
    uint64_t start, end;        /* frame numbers, end exclusive */
    uint64_t holes;             /* frames of holes inside */
    uint64_t big_start, big_len; /* largest free piece */
};

struct frames_build {
    k23_frames_t *fa;
    const k23_range_t *regions;
    size_t nregions;
    k23_range_t *rejected;
    size_t rejected_cap;
    size_t nrejected;
};

static void frames_reject(struct frames_build *b, k23_range_t r)
{
    if (b->nrejected < b->rejected_cap)
        b->rejected[b->nrejected] = r;
    b->nrejected++;
}

static uint64_t frames_arena_max_order(const k23_frames_arena_t *a,
                                       unsigned max_order)
{
    uint64_t end = a->base_pfn + a->nframes;
    for (unsigned o = max_order;; o--) {
        uint64_t bs = UINT64_C(1) << o;
        uint64_t s = (a->base_pfn + bs - 1) & ~(bs - 1);
        if (s >= a->base_pfn && s < end && end - s >= bs)
            return o;
        if (o == 0)
            return 0;
    }
}

/* Turn a candidate into an arena, or reject its regions when its largest
 * piece cannot hold the bookkeeping. */
static int frames_finalize(struct frames_build *b, struct frames_cand *c)
{
    k23_frames_t *fa = b->fa;
    unsigned shift = fa->frame_shift;
    uint64_t n = c->end - c->start;
    uint64_t bk = frames_bk_frames(n, shift);
    c->open = false;

    if (c->big_len < bk + 1) {
        for (size_t i = 0; i < b->nregions; i++) {
            uint64_t ps, pe;
            if (frames_region_pfns(b->regions[i], shift, &ps, &pe) &&
                ps < c->end && pe > c->start)
                frames_reject(b, b->regions[i]);
        }
        return K23_OK;
    }
    if (fa->narenas == K23_FRAMES_MAX_ARENAS)
        return K23_ERR_LIMIT;

    k23_frames_arena_t *a = &fa->arenas[fa->narenas];
    uint64_t meta_pfn = c->big_start + c->big_len - bk;
    void *meta = frames_virt(fa, meta_pfn << shift);
    k23_arena_init_(a, c->start, n, meta);
    k23_arena_reserve_(a, meta_pfn, bk);
    uint64_t meta_end = meta_pfn + bk;
    for (size_t i = 0; i < b->nregions; i++) {
        uint64_t ps, pe;
        if (!frames_region_pfns(b->regions[i], shift, &ps, &pe))
            continue;
        if (ps < c->start)
            ps = c->start;
        if (pe > c->end)
            pe = c->end;
        if (ps >= pe)
            continue;
        /* the piece minus the bookkeeping */
        if (pe <= meta_pfn || ps >= meta_end) {
            k23_arena_add_free_(a, ps, pe - ps, fa->cfg.max_order);
        } else {
            if (ps < meta_pfn)
                k23_arena_add_free_(a, ps, meta_pfn - ps, fa->cfg.max_order);
            if (pe > meta_end)
                k23_arena_add_free_(a, meta_end, pe - meta_end,
                                    fa->cfg.max_order);
        }
    }
    uint64_t align = UINT64_C(1)
                     << (frames_arena_max_order(a, fa->cfg.max_order) + shift);
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
    if (fa == NULL || (regions == NULL && nregions != 0) ||
        (rejected == NULL && rejected_cap != 0))
        return K23_ERR_INVAL;
    if (cfg == NULL)
        k23_frames_config_default(&c, 4096);
    else
        c = *cfg;
    if (!frames_config_valid(&c))
        return K23_ERR_INVAL;
    for (size_t i = 0; i < nregions; i++) {
        k23_range_t r = regions[i];
        if (r.size != 0 && r.size - 1 > UINT64_MAX - r.base)
            return K23_ERR_INVAL;
    }
    /* Overlap check on the original regions; O(n^2), memory maps are
     * short and nothing may be allocated here. */
    for (size_t i = 0; i < nregions; i++) {
        k23_range_t r = regions[i];
        if (r.size == 0)
            continue;
        for (size_t j = i + 1; j < nregions; j++) {
            k23_range_t s = regions[j];
            if (s.size == 0)
                continue;
            uint64_t rl = r.base + (r.size - 1), sl = s.base + (s.size - 1);
            if (r.base <= sl && s.base <= rl)
                return K23_ERR_OVERLAP;
        }
    }

    k23_memzero_(fa, sizeof(*fa));
    fa->cfg = c;
    fa->frame_shift = frames_log2(c.frame_size);
    fa->max_alignment = c.frame_size;
    k23_port_lock_init(&fa->lock);
    if (c.cache_frames != 0) {
        unsigned n = k23_port_cpu_count();
        fa->ncaches = n < K23_FRAMES_MAX_CPUS ? n : K23_FRAMES_MAX_CPUS;
        if (fa->ncaches == 0)
            fa->ncaches = 1;
        for (unsigned i = 0; i < fa->ncaches; i++)
            k23_port_lock_init(&fa->caches[i].lock);
    }

    struct frames_build b = {fa, regions, nregions, rejected, rejected_cap,
                             0};
    struct frames_cand cur = {0};
    unsigned shift = fa->frame_shift;
    uint64_t last_base = 0;
    bool have_last = false;
    int rc;
    for (;;) {
        /* Next region by address (selection: the caller's array is
         * const and we may not allocate). */
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < nregions; i++) {
            if (regions[i].size == 0 ||
                (have_last && regions[i].base <= last_base))
                continue;
            if (best == SIZE_MAX || regions[i].base < regions[best].base)
                best = i;
        }
        if (best == SIZE_MAX)
            break;
        have_last = true;
        last_base = regions[best].base;

        uint64_t ps, pe;
        if (!frames_region_pfns(regions[best], shift, &ps, &pe)) {
            frames_reject(&b, regions[best]);
            continue;
        }
        while (ps < pe) {
            uint64_t ce = pe;
            if (pe - ps > c.max_arena_frames) {
                uint64_t bs = UINT64_C(1) << c.max_order;
                ce = (ps + c.max_arena_frames) & ~(bs - 1);
                if (ce <= ps)
                    ce = ps + c.max_arena_frames;
            }
            if (cur.open) {
                uint64_t holes = cur.holes + (ps - cur.end);
                uint64_t n = ce - cur.start;
                uint64_t bigs = cur.big_start, bigl = cur.big_len;
                if (ce - ps >= bigl) {
                    bigs = ps;
                    bigl = ce - ps;
                }
                if (n <= c.max_arena_frames &&
                    frames_hole_cost(holes) <= c.hole_budget &&
                    bigl >= frames_bk_frames(n, shift) + 1) {
                    cur.end = ce;
                    cur.holes = holes;
                    cur.big_start = bigs;
                    cur.big_len = bigl;
                    ps = ce;
                    continue;
                }
                rc = frames_finalize(&b, &cur);
                if (rc != K23_OK)
                    return rc;
            }
            cur.open = true;
            cur.start = ps;
            cur.end = ce;
            cur.holes = 0;
            cur.big_start = ps;
            cur.big_len = ce - ps;
            ps = ce;
        }
    }
    if (cur.open) {
        rc = frames_finalize(&b, &cur);
        if (rc != K23_OK)
            return rc;
    }
    if (nrejected != NULL)
        *nrejected = b.nrejected;
    if (fa->narenas == 0)
        return K23_ERR_TOO_SMALL;
    K23_ASSERT_EXPENSIVE(k23_frames_check(fa) == K23_OK);
    return K23_OK;
}

/* ---- arena-level allocation (global lock) ---- */

static bool frames_alloc_locked(k23_frames_t *fa, uint64_t n, unsigned align,
                                uint64_t limit_pfn, uint8_t st, unsigned *ai,
                                uint64_t *pfn)
{
    K23_ASSERT_INTERNAL(k23_port_lock_held(&fa->lock));
    /* Highest arena first: low memory stays free for bounded (DMA)
     * requests. */
    for (unsigned i = fa->narenas; i-- > 0;) {
        if (k23_arena_alloc_(&fa->arenas[i], n, align, limit_pfn,
                             fa->cfg.max_order, st, pfn)) {
            *ai = i;
            return true;
        }
    }
    return false;
}

/* Give the oldest k frames of a cache back; the cache lock is held. */
static void frames_cache_drain_n(k23_frames_t *fa, k23_frames_pcpu_t *c,
                                 unsigned k)
{
    if (k == 0)
        return;
    k23_port_lock_acquire(&fa->lock);
    for (unsigned i = 0; i < k; i++) {
        uint64_t e = c->frames[i];
        k23_frames_arena_t *a = &fa->arenas[FRAMES_ENTRY_ARENA(e)];
        k23_arena_free_(a, a->base_pfn + FRAMES_ENTRY_INDEX(e), 1,
                        FRAME_CACHED, fa->cfg.max_order, fa->frame_shift);
    }
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
    for (unsigned i = k; i < c->count; i++)
        c->frames[i - k] = c->frames[i];
    c->count -= k;
}

/* Fill a cache with up to cache_batch frames; the cache lock is held. */
static void frames_cache_refill(k23_frames_t *fa, k23_frames_pcpu_t *c)
{
    k23_port_lock_acquire(&fa->lock);
    while (c->count < fa->cfg.cache_batch) {
        unsigned ai;
        uint64_t pfn;
        if (!frames_alloc_locked(fa, 1, 0, UINT64_MAX, FRAME_CACHED, &ai,
                                 &pfn))
            break;
        c->frames[c->count++] =
            FRAMES_ENTRY(ai, pfn - fa->arenas[ai].base_pfn);
    }
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
}

static inline k23_frames_pcpu_t *frames_cache(k23_frames_t *fa, unsigned cpu)
{
    return &fa->caches[cpu < fa->ncaches ? cpu : cpu % fa->ncaches];
}

void k23_frames_drain_cpu(k23_frames_t *fa, unsigned cpu)
{
    if (fa == NULL || fa->ncaches == 0)
        return;
    k23_frames_pcpu_t *c = frames_cache(fa, cpu);
    k23_port_lock_acquire(&c->lock);
    frames_cache_drain_n(fa, c, c->count);
    k23_port_lock_release(&c->lock);
}

void k23_frames_drain_all(k23_frames_t *fa)
{
    if (fa == NULL)
        return;
    for (unsigned i = 0; i < fa->ncaches; i++)
        k23_frames_drain_cpu(fa, i);
}

/* Allocate from the arenas; on failure drain every cache and retry once.
 * Must be called without any cache lock held. */
static bool frames_alloc_global(k23_frames_t *fa, uint64_t n, unsigned align,
                                uint64_t limit_pfn, k23_paddr_t *pa)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned ai;
        uint64_t pfn;
        k23_port_lock_acquire(&fa->lock);
        bool ok = frames_alloc_locked(fa, n, align, limit_pfn,
                                      FRAME_ALLOCATED, &ai, &pfn);
        K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
        k23_port_lock_release(&fa->lock);
        if (ok) {
            *pa = pfn << fa->frame_shift;
            return true;
        }
        if (fa->ncaches == 0)
            break;
        k23_frames_drain_all(fa);
    }
    return false;
}

static void frames_zero(k23_frames_t *fa, k23_paddr_t pa, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        k23_memzero_(frames_virt(fa, pa + (i << fa->frame_shift)),
                     (size_t)fa->cfg.frame_size);
}

/* ---- single frames ---- */

static int frames_alloc_one(k23_frames_t *fa, bool zero, k23_paddr_t *out)
{
    k23_paddr_t pa;
    if (fa == NULL || out == NULL)
        return K23_ERR_INVAL;
    if (K23_LIKELY(fa->ncaches != 0)) {
        unsigned cpu = k23_port_cpu_local_enter();
        k23_frames_pcpu_t *c = frames_cache(fa, cpu);
        k23_port_lock_acquire(&c->lock);
        if (K23_UNLIKELY(c->count == 0))
            frames_cache_refill(fa, c);
        if (K23_LIKELY(c->count != 0)) {
            uint64_t e = c->frames[--c->count];
            k23_frames_arena_t *a = &fa->arenas[FRAMES_ENTRY_ARENA(e)];
            uint32_t idx = FRAMES_ENTRY_INDEX(e);
            k23_arena_set_state_(a, idx, FRAME_ALLOCATED);
            k23_port_lock_release(&c->lock);
            k23_port_cpu_local_exit(cpu);
            pa = (a->base_pfn + idx) << fa->frame_shift;
            goto done;
        }
        k23_port_lock_release(&c->lock);
        k23_port_cpu_local_exit(cpu);
    }
    if (!frames_alloc_global(fa, 1, 0, UINT64_MAX, &pa))
        return K23_ERR_NOMEM;
done:
    if (zero)
        frames_zero(fa, pa, 1);
    *out = pa;
    return K23_OK;
}

int k23_frames_alloc_one(k23_frames_t *fa, k23_paddr_t *out)
{
    return frames_alloc_one(fa, false, out);
}

int k23_frames_alloc_one_zeroed(k23_frames_t *fa, k23_paddr_t *out)
{
    return frames_alloc_one(fa, true, out);
}

/* The panics of frames_owner(), kept out of the hot path. */
__attribute__((noinline, cold)) K23_NORETURN static void
frames_bad_free(const k23_frames_t *fa, k23_paddr_t pa)
{
    if ((pa & (fa->cfg.frame_size - 1)) != 0)
        K23_PANIC_ADDR("k23_frames: free of an address that is not frame "
                       "aligned:", pa);
    K23_PANIC_ADDR("k23_frames: free of memory the allocator does not "
                   "own at", pa);
}

/* Arena of the frame at pa, or a panic naming pa. */
static inline k23_frames_arena_t *frames_owner(k23_frames_t *fa,
                                               k23_paddr_t pa,
                                               unsigned *ai_out)
{
    int ai = frames_find_arena(fa, pa >> fa->frame_shift);
    if (K23_UNLIKELY((pa & (fa->cfg.frame_size - 1)) != 0 || ai < 0))
        frames_bad_free(fa, pa);
    *ai_out = (unsigned)ai;
    return &fa->arenas[ai];
}

void k23_frames_free_one(k23_frames_t *fa, k23_paddr_t pa)
{
    unsigned ai;
    if (fa == NULL)
        K23_PANIC("k23_frames_free_one: NULL allocator");
    k23_frames_arena_t *a = frames_owner(fa, pa, &ai);
    uint64_t pfn = pa >> fa->frame_shift;
    uint32_t idx = (uint32_t)(pfn - a->base_pfn);

    if (fa->ncaches == 0) {
        k23_port_lock_acquire(&fa->lock);
        k23_arena_free_(a, pfn, 1, FRAME_ALLOCATED, fa->cfg.max_order,
                        fa->frame_shift);
        K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
        k23_port_lock_release(&fa->lock);
        return;
    }
    unsigned cpu = k23_port_cpu_local_enter();
    k23_frames_pcpu_t *c = frames_cache(fa, cpu);
    k23_port_lock_acquire(&c->lock);
    uint8_t st = k23_arena_state_(a, idx);
    if (K23_UNLIKELY(st != FRAME_ALLOCATED))
        k23_arena_misuse_(st, false, pa);
    if (K23_UNLIKELY(c->count == fa->cfg.cache_frames))
        frames_cache_drain_n(fa, c, fa->cfg.cache_batch);
    k23_arena_set_state_(a, idx, FRAME_CACHED);
    c->frames[c->count++] = FRAMES_ENTRY(ai, idx);
    k23_port_lock_release(&c->lock);
    k23_port_cpu_local_exit(cpu);
}

/* ---- runs ---- */

int k23_frames_alloc(k23_frames_t *fa, const k23_frames_req_t *req,
                     k23_paddr_t *out)
{
    if (fa == NULL || req == NULL || out == NULL || req->size == 0 ||
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
    if (!frames_alloc_global(fa, n, align, frames_limit_pfn(req->limit, shift),
                             &pa))
        return K23_ERR_NOMEM;
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
    if (fa == NULL || size == 0 || (pa & (fa->cfg.frame_size - 1)) != 0)
        return K23_ERR_INVAL;
    unsigned shift = fa->frame_shift;
    uint64_t n = (size >> shift) + ((size & (fa->cfg.frame_size - 1)) != 0);
    uint64_t pfn = pa >> shift;
    if (n - 1 > (UINT64_MAX >> shift) - pfn)
        return K23_ERR_INVAL;
    unsigned ai;
    k23_frames_arena_t *a = frames_owner(fa, pa, &ai);
    if (n > a->nframes - (pfn - a->base_pfn))
        K23_PANIC_ADDR("k23_frames: free of a range running past the "
                       "allocator's memory, starting at", pa);
    k23_port_lock_acquire(&fa->lock);
    k23_arena_free_(a, pfn, n, FRAME_ALLOCATED, fa->cfg.max_order, shift);
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
    return K23_OK;
}

/* ---- bulk ---- */

/* Bits set in a byte, without __builtin_popcount (which becomes a libgcc
 * call on targets without a popcount instruction). */
static unsigned frames_popcount8(unsigned x)
{
    x = x - ((x >> 1) & 0x55u);
    x = (x & 0x33u) + ((x >> 2) & 0x33u);
    return (x + (x >> 4)) & 0x0fu;
}

/* Free frames below limit_pfn, counted exactly; arena lock held. */
static uint64_t frames_free_below(const k23_frames_t *fa, uint64_t limit_pfn)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < fa->narenas; i++) {
        const k23_frames_arena_t *a = &fa->arenas[i];
        if (limit_pfn <= a->base_pfn)
            continue;
        if (limit_pfn - a->base_pfn >= a->nframes) {
            total += a->free_frames;
            continue;
        }
        uint64_t nbits = limit_pfn - a->base_pfn, busy = 0;
        for (uint64_t j = 0; j < nbits / 8; j++)
            busy += frames_popcount8(a->bitmap[j]);
        for (uint64_t j = nbits & ~UINT64_C(7); j < nbits; j++)
            busy += k23_bitmap_test(a->bitmap, (size_t)j);
        total += nbits - busy;
    }
    return total;
}

int k23_frames_alloc_bulk(k23_frames_t *fa, size_t n, uint32_t flags,
                          k23_paddr_t limit, k23_paddr_t *out)
{
    if (fa == NULL || out == NULL || n == 0 ||
        (flags & ~K23_FRAMES_ZERO) != 0)
        return K23_ERR_INVAL;
    uint64_t limit_pfn = frames_limit_pfn(limit, fa->frame_shift);
    for (int attempt = 0; attempt < 2; attempt++) {
        k23_port_lock_acquire(&fa->lock);
        if (frames_free_below(fa, limit_pfn) >= n) {
            /* Enough frames under the lock: none of these can fail. */
            for (size_t i = 0; i < n; i++) {
                unsigned ai;
                uint64_t pfn = 0;
                bool ok = frames_alloc_locked(fa, 1, 0, limit_pfn,
                                              FRAME_ALLOCATED, &ai, &pfn);
                if (K23_NEVER(!ok))
                    K23_PANIC("k23_frames: bulk allocation lost a frame");
                out[i] = pfn << fa->frame_shift;
            }
            K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
            k23_port_lock_release(&fa->lock);
            if (flags & K23_FRAMES_ZERO)
                for (size_t i = 0; i < n; i++)
                    frames_zero(fa, out[i], 1);
            return K23_OK;
        }
        k23_port_lock_release(&fa->lock);
        if (fa->ncaches == 0)
            break;
        k23_frames_drain_all(fa);
    }
    return K23_ERR_NOMEM;
}

int k23_frames_free_bulk(k23_frames_t *fa, size_t n, const k23_paddr_t *pa)
{
    if (fa == NULL || (pa == NULL && n != 0))
        return K23_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        k23_frames_free_one(fa, pa[i]);
    return K23_OK;
}

/* ---- introspection ---- */

uint64_t k23_frames_max_alignment(const k23_frames_t *fa)
{
    return fa->max_alignment;
}

static void frames_lock_all(k23_frames_t *fa)
{
    for (unsigned i = 0; i < fa->ncaches; i++)
        k23_port_lock_acquire(&fa->caches[i].lock);
    k23_port_lock_acquire(&fa->lock);
}

static void frames_unlock_all(k23_frames_t *fa)
{
    k23_port_lock_release(&fa->lock);
    for (unsigned i = fa->ncaches; i-- > 0;)
        k23_port_lock_release(&fa->caches[i].lock);
}

int k23_frames_stats(k23_frames_t *fa, k23_frames_stats_t *out)
{
    if (fa == NULL || out == NULL)
        return K23_ERR_INVAL;
    k23_frames_stats_t s;
    k23_memzero_(&s, sizeof(s));
    s.frame_size = fa->cfg.frame_size;
    s.narenas = fa->narenas;
    s.max_order = fa->cfg.max_order;
    frames_lock_all(fa);
    for (unsigned i = 0; i < fa->narenas; i++) {
        const k23_frames_arena_t *a = &fa->arenas[i];
        s.total_frames += a->usable_frames;
        s.free_frames += a->free_frames;
        s.hole_frames += a->hole_frames;
        s.metadata_bytes += a->meta_bytes;
        for (unsigned o = 0; o < K23_FRAMES_ORDER_LIMIT; o++)
            s.free_blocks[o] += a->free_blocks[o];
    }
    for (unsigned i = 0; i < fa->ncaches; i++)
        s.cached_frames += fa->caches[i].count;
    frames_unlock_all(fa);
    s.allocated_frames = s.total_frames - s.free_frames - s.cached_frames;
    *out = s;
    return K23_OK;
}

int k23_frames_arena_info(const k23_frames_t *fa, unsigned i,
                          k23_frames_arena_info_t *out)
{
    if (fa == NULL || out == NULL || i >= fa->narenas)
        return K23_ERR_INVAL;
    const k23_frames_arena_t *a = &fa->arenas[i];
    unsigned shift = fa->frame_shift;
    out->range.base = a->base_pfn << shift;
    out->range.size = a->nframes << shift;
    out->bookkeeping.base = a->meta_pfn << shift;
    out->bookkeeping.size = a->meta_frames << shift;
    out->usable_frames = a->usable_frames;
    out->hole_frames = a->hole_frames;
    out->free_frames = a->free_frames;
    return K23_OK;
}

static int frames_check_locked(k23_frames_t *fa)
{
    uint64_t cached = 0, entries = 0;
    int rc = K23_OK;
    for (unsigned i = 0; i < fa->narenas; i++) {
        const k23_frames_arena_t *a = &fa->arenas[i];
        if (i + 1 < fa->narenas &&
            a->base_pfn + a->nframes > fa->arenas[i + 1].base_pfn) {
            k23_log_u64_(K23_LOG_ERROR, "k23_frames check: arenas overlap "
                         "or are unsorted at ", a->base_pfn << fa->frame_shift,
                         "");
            return K23_ERR_CORRUPT;
        }
        rc = k23_arena_check_(a, fa->cfg.max_order, fa->frame_shift,
                              &cached);
        if (rc != K23_OK)
            return rc;
    }
    /* Every cache entry must name a distinct CACHED frame: mark each one
     * (all locks are held, so nothing else changes states), then undo. */
    for (unsigned i = 0; i < fa->ncaches && rc == K23_OK; i++) {
        k23_frames_pcpu_t *c = &fa->caches[i];
        if (c->count > fa->cfg.cache_frames) {
            k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cache over its "
                         "bound on cpu ", i, "");
            rc = K23_ERR_CORRUPT;
            break;
        }
        for (unsigned j = 0; j < c->count; j++) {
            uint64_t e = c->frames[j];
            unsigned ai = FRAMES_ENTRY_ARENA(e);
            uint32_t idx = FRAMES_ENTRY_INDEX(e);
            if (ai >= fa->narenas || idx >= fa->arenas[ai].nframes) {
                k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cache entry "
                             "out of range on cpu ", i, "");
                rc = K23_ERR_CORRUPT;
                break;
            }
            k23_frames_arena_t *a = &fa->arenas[ai];
            if (k23_arena_state_(a, idx) != FRAME_CACHED) {
                k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cached frame "
                             "not in CACHED state (or cached twice) at ",
                             (a->base_pfn + idx) << fa->frame_shift, "");
                rc = K23_ERR_CORRUPT;
                break;
            }
            k23_arena_set_state_(a, idx, FRAME_CHECK_MARK);
            entries++;
        }
    }
    for (unsigned i = 0; i < fa->ncaches; i++) {
        k23_frames_pcpu_t *c = &fa->caches[i];
        for (unsigned j = 0; j < c->count && j < K23_FRAMES_CACHE_MAX; j++) {
            uint64_t e = c->frames[j];
            unsigned ai = FRAMES_ENTRY_ARENA(e);
            uint32_t idx = FRAMES_ENTRY_INDEX(e);
            if (ai < fa->narenas && idx < fa->arenas[ai].nframes &&
                k23_arena_state_(&fa->arenas[ai], idx) == FRAME_CHECK_MARK)
                k23_arena_set_state_(&fa->arenas[ai], idx, FRAME_CACHED);
        }
    }
    if (rc == K23_OK && entries != cached) {
        k23_log_u64_(K23_LOG_ERROR, "k23_frames check: frames in CACHED "
                     "state not in any cache: ", cached - entries, "");
        rc = K23_ERR_CORRUPT;
    }
    return rc;
}

int k23_frames_check(k23_frames_t *fa)
{
    if (fa == NULL)
        return K23_ERR_INVAL;
    frames_lock_all(fa);
    int rc = frames_check_locked(fa);
    frames_unlock_all(fa);
    return rc;
}
