/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame allocator: memory map -> arenas, the global (arena) lock, the
 * per-CPU caches, requests with alignment and physical limits, statistics
 * and the whole-allocator checker. The buddy and run machinery of one
 * arena is in arena.c.
 *
 * Per-CPU caches hold single frames (their address with the arena's
 * number in the low bits) in a small LIFO array. A frame in a cache is in
 * state CACHED in its arena's metadata, so a double free is caught even
 * when the first free only went to a cache. Caches are bounded: a free
 * into a full cache first gives `cache_batch` frames back to the arenas
 * (under the cache lock the oldest; on the fast path the newest, popped
 * through the port's hook), and an allocation
 * that finds the arenas empty drains every cache and retries, so frames
 * freed on one CPU are never stranded there.
 *
 * The hosted port cannot pin a thread to a CPU. Without a CPU-local fast
 * path a cache is therefore always used under its own lock; a caller
 * preempted or migrated inside the section merely uses another CPU's
 * cache, correctly. With one (k23_port_pcpu_fast(): rseq on x86_64 Linux),
 * a cache hit is one k23_port_pcpu_pop() or k23_port_pcpu_push() on the
 * calling CPU's cache, with no lock and no locked instruction; a miss
 * refills or spills through the same hooks plus the arena lock; and every
 * other access to a cache (drain_cpu, stats, check) holds the cache lock
 * and fences the cache (k23_port_pcpu_fence) so that no hook can commit on
 * it meanwhile. The frame state bytes are written outside the hooks: a
 * free writes CACHED before its push, an allocation ALLOCATED after its
 * pop, so a frame in a cache is always CACHED, and a CACHED frame in no
 * cache is one a thread is between those two steps with ("in transit"),
 * counted in the caches' transit counters (see frames_transit_begin) so
 * that the checker can tell it from a lost frame.
 */
#include "arena.h"
#include "frames_plan.h"
#include "k23mem/bitmap.h"
#include "k23mem/frames.h"

#define FRAMES_MIN_SHIFT 12
#define FRAMES_MAX_SHIFT 16

/* A cache entry is the frame's physical address with its arena's index
 * in the low bits, which frame alignment (at least 4 KiB) leaves zero. A
 * cache hit then hands out the address with one AND and a free pushes its
 * argument with one OR: on the dependency chain that runs through the
 * cache from one free to the next allocation, nothing waits for arena
 * arithmetic (the state update runs beside it). Never equal to
 * K23_PORT_PCPU_NONE (all-ones), as the index is < 32. */
#define FRAMES_ENTRY_ARENA_MASK ((UINT64_C(1) << FRAMES_MIN_SHIFT) - 1)
_Static_assert(K23_FRAMES_MAX_ARENAS <= FRAMES_ENTRY_ARENA_MASK,
               "arena indices must fit below the smallest frame alignment");

static inline uint64_t frames_entry(const k23_frames_t *fa, unsigned ai,
                                    uint64_t pfn)
{
    return (pfn << fa->frame_shift) | ai;
}

static inline unsigned frames_entry_arena(uint64_t e)
{
    return (unsigned)(e & FRAMES_ENTRY_ARENA_MASK);
}

static inline k23_paddr_t frames_entry_pa(uint64_t e)
{
    return e & ~FRAMES_ENTRY_ARENA_MASK;
}

static inline uint64_t frames_entry_pfn(const k23_frames_t *fa, uint64_t e)
{
    return e >> fa->frame_shift;
}

/* ---- helpers ---- */

/* The port's stack hooks find the header at the start of each cache. */
_Static_assert(offsetof(k23_frames_pcpu_t, hdr) == 0,
               "k23_frames_pcpu_t must start with its header");
#define FRAMES_SLOTS_OFF offsetof(k23_frames_pcpu_t, frames)

/* Whether k23_frames_init() built fa: it fails unless it builds an arena,
 * and a zeroed (never initialised) allocator has none. */
static inline bool frames_ready(const k23_frames_t *fa)
{
    return fa != NULL && fa->narenas != 0;
}

/* The argument check of the functions that cannot report an error. */
#define FRAMES_REQUIRE_READY(fa, fn)                                          \
    do {                                                                      \
        K23_REQUIRE((fa) != NULL, fn);                                        \
        if (K23_UNLIKELY((fa)->narenas == 0))                                 \
            K23_PANIC(fn ": allocator not initialised (no successful "        \
                         "k23_frames_init on it)");                           \
    } while (0)

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

/* Frames [ps, pe) wholly inside run r (inward alignment); false when
 * none. Works on the last byte, so a run may end at 2^64. */
static bool frames_run_pfns(k23_frames_run_t r, unsigned shift, uint64_t *ps,
                            uint64_t *pe)
{
    uint64_t mask = (UINT64_C(1) << shift) - 1;
    uint64_t s = (r.first >> shift) + ((r.first & mask) != 0);
    uint64_t e = (r.last >> shift) + ((r.last & mask) == mask);
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
    K23_REQUIRES(fa->lock)
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
    if (c->sort_scratch == NULL && c->sort_scratch_cap != 0)
        return false;
    if (c->max_arena_frames == 0 ||
        c->max_arena_frames > K23_FRAMES_MAX_ARENA_FRAMES ||
        c->max_arena_frames < (UINT64_C(1) << c->max_order))
        return false;
    return true;
}

/* ---- planning arenas from the memory map ---- */

/*
 * The selection is one walk over the runs of touching regions in address
 * order (frames_plan.h) that hands each planned entry (an arena or a
 * rejected run) to a callback: k23_frames_plan() stores the entries,
 * k23_frames_init() builds arenas from them. So the plan is, by
 * construction, what init builds.
 */

/* An arena being assembled from sorted runs. */
struct frames_cand {
    bool open;
    k23_frames_run_t run;       /* run the candidate was opened in */
    k23_frames_runs_t from;     /* walk position that yields that run */
    uint64_t start, end;        /* frame numbers, end exclusive */
    uint64_t holes;             /* frames of holes inside */
    uint64_t big_start, big_len; /* largest free piece */
    bool pending;               /* runs without a whole frame were met */
    k23_frames_runs_t pend_from; /* walk position that yields the first */
    uint64_t pend_hi;           /* first byte of the last of them */
};

/* An entry; for an arena, from is the walk position that yields the run
 * the arena starts in (NULL for rejected entries). */
typedef int (*frames_plan_fn)(void *ctx, const k23_frames_arena_plan_t *e,
                              const k23_frames_runs_t *from);

/* Check the arguments shared by plan and init; fills *c. */
static int frames_plan_validate(const k23_range_t **regions, size_t nregions,
                                const k23_frames_config_t *cfg,
                                k23_frames_config_t *c)
{
    if (*regions == NULL && nregions != 0)
        return K23_ERR_INVAL;
    if (cfg == NULL)
        k23_frames_config_default(c, 4096);
    else
        *c = *cfg;
    if (!frames_config_valid(c))
        return K23_ERR_INVAL;
    int rc = k23_frames_runs_prepare_(*regions, nregions, c->sort_scratch,
                                      c->sort_scratch_cap, regions);
    if (rc != K23_OK)
        return rc;
    return k23_frames_runs_check_(*regions, nregions);
}

/* A rejected entry for run r, whose whole frames are [ps, pe). */
static int frames_plan_reject(k23_frames_run_t r, uint64_t ps, uint64_t pe,
                              unsigned shift, frames_plan_fn fn, void *ctx)
{
    k23_frames_arena_plan_t e;
    k23_memzero_(&e, sizeof(e));
    e.rejected = true;
    e.region.base = r.first;
    /* A run of all 2^64 bytes has no size that fits; it always holds its
     * bookkeeping, so this never loses a byte that is reported. */
    e.region.size = r.last - r.first + (r.last - r.first != UINT64_MAX);
    e.frames = pe - ps;
    e.range.base = ps << shift;
    e.range.size = e.frames << shift;
    e.bookkeeping_bytes = e.frames != 0 ? k23_arena_meta_bytes_(e.frames) : 0;
    return fn(ctx, &e, NULL);
}

/* Emit a candidate: an arena, or its run rejected when its largest piece
 * cannot hold the bookkeeping. A candidate that fails the test was never
 * merged (merging requires it), so it is one piece of one run. */
static int frames_plan_finish_one(unsigned shift, struct frames_cand *c,
                                  frames_plan_fn fn, void *ctx)
{
    uint64_t n = c->end - c->start;
    uint64_t bk = frames_bk_frames(n, shift);
    c->open = false;
    if (c->big_len < bk + 1)
        return frames_plan_reject(c->run, c->start, c->end, shift, fn, ctx);
    k23_frames_arena_plan_t e;
    k23_memzero_(&e, sizeof(e));
    uint64_t meta_pfn = c->big_start + c->big_len - bk;
    e.range.base = c->start << shift;
    e.range.size = n << shift;
    e.frames = n;
    e.hole_frames = c->holes;
    e.usable_frames = n - c->holes - bk;
    e.bookkeeping.base = meta_pfn << shift;
    e.bookkeeping.size = bk << shift;
    e.bookkeeping_bytes = k23_arena_meta_bytes_(n);
    return fn(ctx, &e, &c->from);
}

/* Emit a candidate, then the runs without a whole frame met while it was
 * open (deferred so that entries stay in address order: they do not take
 * part in merging), in address order, by replaying the walk from the
 * first of them. */
static int frames_plan_finish(unsigned shift, struct frames_cand *c,
                              frames_plan_fn fn, void *ctx)
{
    int rc = frames_plan_finish_one(shift, c, fn, ctx);
    if (rc != K23_OK || !c->pending)
        return rc;
    c->pending = false;
    k23_frames_runs_t it = c->pend_from;
    k23_frames_run_t r;
    uint64_t ps, pe;
    while (rc == K23_OK && k23_frames_runs_next_(&it, &r) &&
           r.first <= c->pend_hi) {
        if (!frames_run_pfns(r, shift, &ps, &pe))
            rc = frames_plan_reject(r, 0, 0, shift, fn, ctx);
    }
    return rc;
}

/* Add frames [ps, ce) of the run at *at to the open candidate when the
 * hole budget allows and the largest piece can still hold the
 * bookkeeping; false when the candidate must be finished first. */
static bool frames_plan_extend(struct frames_cand *cur, uint64_t ps,
                               uint64_t ce, const k23_frames_config_t *c,
                               unsigned shift)
{
    uint64_t holes = cur->holes + (ps - cur->end);
    uint64_t n = ce - cur->start;
    uint64_t bigs = cur->big_start, bigl = cur->big_len;
    if (ce - ps >= bigl) {
        bigs = ps;
        bigl = ce - ps;
    }
    if (n > c->max_arena_frames || frames_hole_cost(holes) > c->hole_budget ||
        bigl < frames_bk_frames(n, shift) + 1)
        return false;
    cur->end = ce;
    cur->holes = holes;
    cur->big_start = bigs;
    cur->big_len = bigl;
    return true;
}

/* The selection: runs (validated) in address order, aligned inward, split
 * at max_arena_frames, merged while the hole budget allows and the
 * largest piece can still hold the bookkeeping. */
static int frames_plan_walk(const k23_range_t *regions, size_t nregions,
                            const k23_frames_config_t *c, frames_plan_fn fn,
                            void *ctx)
{
    struct frames_cand cur = {0};
    unsigned shift = frames_log2(c->frame_size);
    k23_frames_runs_t it, at;
    k23_frames_run_t run;
    int rc;
    k23_frames_runs_start_(&it, regions, nregions);
    for (at = it; k23_frames_runs_next_(&it, &run); at = it) {
        uint64_t ps, pe;
        if (!frames_run_pfns(run, shift, &ps, &pe)) {
            if (cur.open) {
                if (!cur.pending)
                    cur.pend_from = at;
                cur.pending = true;
                cur.pend_hi = run.first;
                continue;
            }
            rc = frames_plan_reject(run, 0, 0, shift, fn, ctx);
            if (rc != K23_OK)
                return rc;
            continue;
        }
        while (ps < pe) {
            uint64_t ce = pe;
            if (pe - ps > c->max_arena_frames) {
                uint64_t bs = UINT64_C(1) << c->max_order;
                ce = (ps + c->max_arena_frames) & ~(bs - 1);
                if (ce <= ps)
                    ce = ps + c->max_arena_frames;
            }
            if (cur.open) {
                if (frames_plan_extend(&cur, ps, ce, c, shift)) {
                    ps = ce;
                    continue;
                }
                rc = frames_plan_finish(shift, &cur, fn, ctx);
                if (rc != K23_OK)
                    return rc;
            }
            cur.open = true;
            cur.run = run;
            cur.from = at;
            cur.start = ps;
            cur.end = ce;
            cur.holes = 0;
            cur.big_start = ps;
            cur.big_len = ce - ps;
            ps = ce;
        }
    }
    if (cur.open)
        return frames_plan_finish(shift, &cur, fn, ctx);
    return K23_OK;
}

struct frames_plan_store {
    k23_frames_arena_plan_t *out; /* NULL: count only */
    size_t n;
};

static int frames_plan_store(void *ctx, const k23_frames_arena_plan_t *e,
                             const k23_frames_runs_t *from)
{
    (void)from;
    struct frames_plan_store *s = ctx;
    if (s->out != NULL)
        s->out[s->n] = *e;
    s->n++;
    return K23_OK;
}

int k23_frames_plan(const k23_range_t *regions, size_t n,
                    const k23_frames_config_t *cfg,
                    k23_frames_arena_plan_t *out, size_t cap, size_t *out_n)
{
    k23_frames_config_t c;
    if (out_n == NULL || (out == NULL && cap != 0))
        return K23_ERR_INVAL;
    int rc = frames_plan_validate(&regions, n, cfg, &c);
    if (rc != K23_OK)
        return rc;
    /* Count first, so out stays untouched when it is too small. */
    struct frames_plan_store s = {NULL, 0};
    rc = frames_plan_walk(regions, n, &c, frames_plan_store, &s);
    if (rc != K23_OK)
        return rc;
    if (s.n > cap) {
        *out_n = s.n;
        return K23_ERR_NOSPACE;
    }
    s.out = out;
    s.n = 0;
    rc = frames_plan_walk(regions, n, &c, frames_plan_store, &s);
    if (rc != K23_OK)
        return rc;
    *out_n = s.n;
    return K23_OK;
}

/* ---- building arenas from the plan ---- */

struct frames_build {
    k23_frames_t *fa;
    k23_range_t *rejected;
    size_t rejected_cap;
    size_t nrejected;
};

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

/* Add frames [ps, pe) of one run to arena a as free blocks, minus the
 * bookkeeping [meta_pfn, meta_end). A whole run goes in at once, so its
 * buddies coalesce across the cuts between its regions. */
static void frames_build_free(k23_frames_arena_t *a, uint64_t ps, uint64_t pe,
                              uint64_t meta_pfn, uint64_t meta_end,
                              unsigned max_order)
{
    if (pe <= meta_pfn || ps >= meta_end) {
        k23_arena_add_free_(a, ps, pe - ps, max_order);
        return;
    }
    if (ps < meta_pfn)
        k23_arena_add_free_(a, ps, meta_pfn - ps, max_order);
    if (pe > meta_end)
        k23_arena_add_free_(a, meta_end, pe - meta_end, max_order);
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
    void *meta = frames_virt(fa, e->bookkeeping.base);
    k23_arena_init_(a, start, e->frames, meta);
    k23_arena_reserve_(a, meta_pfn, bk);
    k23_frames_runs_t it = *from;
    k23_frames_run_t r;
    while (k23_frames_runs_next_(&it, &r) && (r.first >> shift) < end) {
        uint64_t ps, pe;
        if (!frames_run_pfns(r, shift, &ps, &pe))
            continue;
        if (ps < start)
            ps = start;
        if (pe > end)
            pe = end;
        if (ps < pe)
            frames_build_free(a, ps, pe, meta_pfn, meta_pfn + bk,
                              fa->cfg.max_order);
    }
    K23_ASSERT_INTERNAL(a->hole_frames == e->hole_frames &&
                        a->usable_frames == e->usable_frames &&
                        a->meta_bytes == e->bookkeeping_bytes);
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
    if (fa == NULL || (rejected == NULL && rejected_cap != 0))
        return K23_ERR_INVAL;
    int rc = frames_plan_validate(&regions, nregions, cfg, &c);
    if (rc != K23_OK)
        return rc;

    k23_memzero_(fa, sizeof(*fa));
    c.sort_scratch = NULL; /* lent to this call only */
    c.sort_scratch_cap = 0;
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
        fa->pcpu_fast = k23_port_pcpu_fast();
    }

    struct frames_build b = {fa, rejected, rejected_cap, 0};
    rc = frames_plan_walk(regions, nregions, &c, frames_build_entry, &b);
    if (rc != K23_OK)
        return rc;
    if (nrejected != NULL)
        *nrejected = b.nrejected;
    if (fa->narenas == 0)
        return K23_ERR_TOO_SMALL;
    if (fa->pcpu_fast && fa->narenas == 1) {
        const k23_frames_arena_t *a = &fa->arenas[0];
        fa->fast_nframes = a->nframes;
        fa->fast_state = (uintptr_t)a->state - (uintptr_t)a->base_pfn;
    }
    K23_ASSERT_EXPENSIVE(k23_frames_check(fa) == K23_OK);
    return K23_OK;
}

/* ---- arena-level allocation (global lock) ---- */

static bool frames_alloc_locked(k23_frames_t *fa, uint64_t n, unsigned align,
                                uint64_t limit_pfn, uint8_t st, unsigned *ai,
                                uint64_t *pfn) K23_REQUIRES(fa->lock)
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
        k23_arena_free_(&fa->arenas[frames_entry_arena(e)],
                        frames_entry_pfn(fa, e), 1, FRAME_CACHED,
                        fa->cfg.max_order, fa->frame_shift);
    }
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
    for (unsigned i = k; i < c->hdr.count; i++)
        c->frames[i - k] = c->frames[i];
    c->hdr.count -= k;
}

/* Fill a cache with up to cache_batch frames; the cache lock is held. */
static void frames_cache_refill(k23_frames_t *fa, k23_frames_pcpu_t *c)
{
    k23_port_lock_acquire(&fa->lock);
    while (c->hdr.count < fa->cfg.cache_batch) {
        unsigned ai;
        uint64_t pfn;
        if (!frames_alloc_locked(fa, 1, 0, UINT64_MAX, FRAME_CACHED, &ai,
                                 &pfn))
            break;
        c->frames[c->hdr.count++] = frames_entry(fa, ai, pfn);
    }
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
}

static inline k23_frames_pcpu_t *frames_cache(k23_frames_t *fa, unsigned cpu)
{
    return &fa->caches[cpu < fa->ncaches ? cpu : cpu % fa->ncaches];
}

/* Take cache i for ordinary loads and stores: its lock, and with the fast
 * path its fence too. */
static void frames_cache_lock(k23_frames_t *fa, unsigned i)
    K23_ACQUIRE(fa->caches[i].lock)
{
    k23_port_lock_acquire(&fa->caches[i].lock);
    if (fa->pcpu_fast)
        k23_port_pcpu_fence(&fa->caches[i].hdr, i);
}

static void frames_cache_unlock(k23_frames_t *fa, unsigned i)
    K23_RELEASE(fa->caches[i].lock)
{
    if (fa->pcpu_fast)
        k23_port_pcpu_unfence(&fa->caches[i].hdr);
    k23_port_lock_release(&fa->caches[i].lock);
}

void k23_frames_drain_cpu(k23_frames_t *fa, unsigned cpu)
{
    FRAMES_REQUIRE_READY(fa, "k23_frames_drain_cpu");
    if (fa->ncaches == 0)
        return;
    unsigned i = cpu < fa->ncaches ? cpu : cpu % fa->ncaches;
    k23_frames_pcpu_t *c = &fa->caches[i];
    frames_cache_lock(fa, i);
    frames_cache_drain_n(fa, c, c->hdr.count);
    frames_cache_unlock(fa, i);
}

void k23_frames_drain_all(k23_frames_t *fa)
{
    FRAMES_REQUIRE_READY(fa, "k23_frames_drain_all");
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

/* The port's CPU-local stack steps, inline where the port has them. */
#ifdef K23_PORT_PCPU_INLINE
#define FRAMES_PCPU_POP k23_port_pcpu_pop_inline
#define FRAMES_PCPU_PUSH k23_port_pcpu_push_inline
#define FRAMES_PCPU_ADD k23_port_pcpu_add_inline
#else
#define FRAMES_PCPU_POP k23_port_pcpu_pop
#define FRAMES_PCPU_PUSH k23_port_pcpu_push
#define FRAMES_PCPU_ADD k23_port_pcpu_add
#endif

/* Pop an entry from the calling CPU's cache (K23_PORT_PCPU_NONE: none;
 * entries never equal it, their arena index being < 2^32 - 1). */
static inline uint64_t frames_fast_pop(k23_frames_t *fa)
{
    return FRAMES_PCPU_POP(fa->caches, sizeof(fa->caches[0]), fa->ncaches,
                           FRAMES_SLOTS_OFF);
}

static inline bool frames_fast_push(k23_frames_t *fa, uint64_t e)
{
    return FRAMES_PCPU_PUSH(fa->caches, sizeof(fa->caches[0]), fa->ncaches,
                            FRAMES_SLOTS_OFF, fa->cfg.cache_frames, e);
}

/*
 * In-transit accounting (fast path only). A frame in state CACHED that is
 * in no cache is one a thread holds between a cache step and the state
 * store that goes with it (or a batch a refill or spill holds). The
 * checker must tell those from lost frames, whatever the scheduling, so
 * every such frame is counted in the `transit` counters of the cache
 * headers before it can be seen in that condition and uncounted only
 * after: a pop counts the frame it takes and a push uncounts the one it
 * gives, in the store that commits the step; a free counts its frame
 * (frames_transit_begin) before writing CACHED, an allocation uncounts
 * (frames_transit_end) after writing ALLOCATED. Each thread's share of
 * the sum is never negative and never below the number of frames it
 * holds CACHED outside the caches. The counters change only in CPU-local
 * steps or under a fence, so the checker, holding every fence, reads a
 * sum that cannot move, and a CACHED frame in no cache beyond that sum is
 * lost for certain.
 */
static inline bool frames_transit_begin(k23_frames_t *fa, unsigned n)
{
    return FRAMES_PCPU_ADD(fa->caches, sizeof(fa->caches[0]), fa->ncaches,
                           (int32_t)n);
}

#define FRAMES_TRANSIT_MASK ((UINT64_C(1) << 48) - 1)

/* A cache header's transit counter (48 bits, see port.h), read while the
 * cache is fenced. */
static uint64_t frames_hdr_transit(const k23_port_pcpu_hdr_t *h)
{
    return h->transit_lo | (uint64_t)h->transit_hi << 16;
}

/* The calling CPU's cache is fenced or beyond the caches: uncount under
 * cache 0's lock and fence instead (only the sum matters). */
static __attribute__((noinline, cold)) void
frames_transit_end_locked(k23_frames_t *fa, unsigned n)
{
    frames_cache_lock(fa, 0);
    k23_port_pcpu_hdr_t *h = &fa->caches[0].hdr;
    uint64_t t = (frames_hdr_transit(h) - n) & FRAMES_TRANSIT_MASK;
    h->transit_lo = (uint16_t)t;
    h->transit_hi = (uint32_t)(t >> 16);
    frames_cache_unlock(fa, 0);
}

/* Uncount n frames; always succeeds. No lock may be held. */
static inline void frames_transit_end(k23_frames_t *fa, unsigned n)
{
    if (K23_UNLIKELY(!FRAMES_PCPU_ADD(fa->caches, sizeof(fa->caches[0]),
                                      fa->ncaches, -(int32_t)n)))
        frames_transit_end_locked(fa, n);
}

/* Give n cache entries (frames in state CACHED held by no cache) back to
 * the arenas. */
static void frames_free_entries(k23_frames_t *fa, const uint64_t *e,
                                unsigned n)
{
    if (n == 0)
        return;
    k23_port_lock_acquire(&fa->lock);
    for (unsigned i = 0; i < n; i++) {
        k23_arena_free_(&fa->arenas[frames_entry_arena(e[i])],
                        frames_entry_pfn(fa, e[i]), 1, FRAME_CACHED,
                        fa->cfg.max_order, fa->frame_shift);
    }
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
}

/* Fast-path miss of an allocation (the calling CPU's cache is empty or
 * fenced, or the CPU has no cache): take one frame and cache_batch - 1
 * more from the arenas in one lock hold, and push the others onto the
 * calling CPU's cache; what does not fit goes back. */
static __attribute__((noinline)) bool frames_alloc_one_refill(k23_frames_t *fa,
                                                             k23_paddr_t *pa)
{
    uint64_t got[K23_FRAMES_CACHE_MAX];
    unsigned n = 0, ai, want = fa->cfg.cache_batch - 1;
    uint64_t pfn;
    /* the batch is CACHED in no cache until pushed: count it first */
    if (want != 0 && !frames_transit_begin(fa, want))
        return frames_alloc_global(fa, 1, 0, UINT64_MAX, pa);
    k23_port_lock_acquire(&fa->lock);
    bool ok = frames_alloc_locked(fa, 1, 0, UINT64_MAX, FRAME_ALLOCATED, &ai,
                                  &pfn);
    while (ok && n < want) {
        unsigned bi;
        uint64_t bp;
        if (!frames_alloc_locked(fa, 1, 0, UINT64_MAX, FRAME_CACHED, &bi,
                                 &bp))
            break;
        got[n++] = frames_entry(fa, bi, bp);
    }
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
    unsigned k = 0;
    while (k < n && frames_fast_push(fa, got[k])) /* each uncounts one */
        k++;
    frames_free_entries(fa, got + k, n - k);
    if (want != 0)
        frames_transit_end(fa, want - k);
    if (!ok)
        return frames_alloc_global(fa, 1, 0, UINT64_MAX, pa);
    *pa = pfn << fa->frame_shift;
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
    /* e is counted in transit; each pop counts one more, a push of e
     * uncounts it: n frames are counted when they go to the arenas */
    while (n < fa->cfg.cache_batch &&
           (out[n] = frames_fast_pop(fa)) != K23_PORT_PCPU_NONE)
        n++;
    if (!frames_fast_push(fa, e))
        out[n++] = e;
    frames_free_entries(fa, out, n);
    frames_transit_end(fa, n);
}

/* pa rotated right by s (0 < s < 64): its frame number when pa is frame
 * aligned, and at least 2^(64 - s), above every frame number, when not. */
static inline uint64_t frames_rotr(k23_paddr_t pa, unsigned s)
{
    return (pa >> s) | (pa << ((64u - s) & 63u));
}

/* The state byte of frame number pfn when fast_nframes != 0: one add,
 * with no arena lookup and no subtraction of its base. */
static inline uint8_t *frames_fast_state(const k23_frames_t *fa, uint64_t pfn)
{
    return (uint8_t *)(fa->fast_state + (uintptr_t)pfn);
}

/* A frame just popped from a cache: mark it allocated, return its
 * address. */
static inline k23_paddr_t frames_take_popped(k23_frames_t *fa, uint64_t e)
{
    k23_frames_arena_t *a = &fa->arenas[frames_entry_arena(e)];
    uint32_t idx = (uint32_t)(frames_entry_pfn(fa, e) - a->base_pfn);
    k23_arena_set_state_(a, idx, FRAME_ALLOCATED);
    frames_transit_end(fa, 1); /* the pop counted it */
    return frames_entry_pa(e);
}

/* Every case of a single-frame allocation; the public functions try a
 * fast-path cache hit inline first. */
static __attribute__((noinline)) int frames_alloc_one(k23_frames_t *fa,
                                                      bool zero,
                                                      k23_paddr_t *out)
{
    k23_paddr_t pa;
    if (!frames_ready(fa) || out == NULL)
        return K23_ERR_INVAL;
    if (K23_LIKELY(fa->pcpu_fast)) {
        uint64_t e = frames_fast_pop(fa);
        if (K23_LIKELY(e != K23_PORT_PCPU_NONE)) {
            pa = frames_take_popped(fa, e);
            goto done;
        }
        if (!frames_alloc_one_refill(fa, &pa))
            return K23_ERR_NOMEM;
        goto done;
    }
    if (K23_LIKELY(fa->ncaches != 0)) {
        unsigned cpu = k23_port_cpu_local_enter();
        k23_frames_pcpu_t *c = frames_cache(fa, cpu);
        k23_port_lock_acquire(&c->lock);
        if (K23_UNLIKELY(c->hdr.count == 0))
            frames_cache_refill(fa, c);
        if (K23_LIKELY(c->hdr.count != 0)) {
            uint64_t e = c->frames[--c->hdr.count];
            k23_frames_arena_t *a = &fa->arenas[frames_entry_arena(e)];
            uint32_t idx = (uint32_t)(frames_entry_pfn(fa, e) - a->base_pfn);
            k23_arena_set_state_(a, idx, FRAME_ALLOCATED);
            k23_port_lock_release(&c->lock);
            k23_port_cpu_local_exit(cpu);
            pa = frames_entry_pa(e);
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
    if (K23_LIKELY(fa != NULL && out != NULL && fa->fast_nframes != 0)) {
        uint64_t e = frames_fast_pop(fa);
        if (K23_LIKELY(e != K23_PORT_PCPU_NONE)) {
            /* one arena: the entry is the frame's address (index 0) */
            __atomic_store_n(frames_fast_state(fa, frames_rotr(
                                                   e, fa->frame_shift)),
                             FRAME_ALLOCATED, __ATOMIC_RELAXED);
            frames_transit_end(fa, 1); /* the pop counted it */
            *out = e;
            return K23_OK;
        }
    }
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

/* A free that cannot count its frame in transit (the calling CPU's cache
 * is fenced, or the CPU has none): straight to the arena. */
static __attribute__((noinline)) void
frames_free_one_direct(k23_frames_t *fa, k23_frames_arena_t *a,
                       k23_paddr_t pa)
{
    k23_port_lock_acquire(&fa->lock);
    k23_arena_free_(a, pa >> fa->frame_shift, 1, FRAME_ALLOCATED,
                    fa->cfg.max_order, fa->frame_shift);
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
}

/* The rest of k23_frames_free_one(): everything but a fast-path hit. */
static __attribute__((noinline)) void
frames_free_one_slow(k23_frames_t *fa, k23_frames_arena_t *a, unsigned ai,
                     k23_paddr_t pa)
{
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
    if (fa->pcpu_fast) {
        /* the push in k23_frames_free_one() failed; the frame is CACHED */
        frames_free_one_spill(fa, pa | ai);
        return;
    }
    unsigned cpu = k23_port_cpu_local_enter();
    k23_frames_pcpu_t *c = frames_cache(fa, cpu);
    k23_port_lock_acquire(&c->lock);
    uint8_t st = k23_arena_state_(a, idx);
    if (K23_UNLIKELY(st != FRAME_ALLOCATED))
        k23_arena_misuse_(st, false, pa);
    if (K23_UNLIKELY(c->hdr.count == fa->cfg.cache_frames))
        frames_cache_drain_n(fa, c, fa->cfg.cache_batch);
    k23_arena_set_state_(a, idx, FRAME_CACHED);
    c->frames[c->hdr.count++] = pa | ai;
    k23_port_lock_release(&c->lock);
    k23_port_cpu_local_exit(cpu);
}

/* A cache-hit free of frame idx of arena a (number ai) at pa: check and
 * flip its state, push it. False when the push failed (the frame is then
 * CACHED and must go to frames_free_one_slow()). */
static inline bool frames_fast_free(k23_frames_t *fa, k23_frames_arena_t *a,
                                    unsigned ai, uint64_t idx, k23_paddr_t pa)
{
    uint8_t st = k23_arena_state_(a, idx);
    if (K23_UNLIKELY(st != FRAME_ALLOCATED))
        k23_arena_misuse_(st, false, pa);
    if (K23_UNLIKELY(!frames_transit_begin(fa, 1))) {
        frames_free_one_direct(fa, a, pa);
        return true;
    }
    /* CACHED before the push: once pushed, another thread may pop it */
    k23_arena_set_state_(a, idx, FRAME_CACHED);
    /* pa is frame aligned (the caller checked): pa | ai is the entry,
     * ready as soon as pa is */
    return frames_fast_push(fa, pa | ai);
}

/* Every case of k23_frames_free_one() but a single-arena cache hit. */
static __attribute__((noinline)) void
frames_free_one_general(k23_frames_t *fa, k23_paddr_t pa)
{
    unsigned ai;
    FRAMES_REQUIRE_READY(fa, "k23_frames_free_one");
    k23_frames_arena_t *a = frames_owner(fa, pa, &ai);
    if (K23_LIKELY(fa->pcpu_fast)) {
        uint64_t idx = (pa >> fa->frame_shift) - a->base_pfn;
        if (K23_LIKELY(frames_fast_free(fa, a, ai, idx, pa)))
            return;
    }
    frames_free_one_slow(fa, a, ai, pa);
}

void k23_frames_free_one(k23_frames_t *fa, k23_paddr_t pa)
{
    if (K23_LIKELY(fa != NULL)) {
        uint64_t pfn = frames_rotr(pa, fa->frame_shift);
        /* One compare rejects frames below the arena, past it, misaligned
         * addresses (rotated far past it, as the arena ends at or below
         * 2^64) and allocators without the one-arena path (fast_nframes
         * 0) alike. */
        if (K23_LIKELY(pfn - fa->arenas[0].base_pfn < fa->fast_nframes)) {
            uint8_t *state = frames_fast_state(fa, pfn);
            uint8_t st = __atomic_load_n(state, __ATOMIC_RELAXED);
            if (K23_UNLIKELY(st != FRAME_ALLOCATED))
                k23_arena_misuse_(st, false, pa);
            /* counted in transit, then CACHED (before the push: once
             * pushed, another thread may pop it) */
            if (K23_UNLIKELY(!frames_transit_begin(fa, 1))) {
                frames_free_one_direct(fa, &fa->arenas[0], pa);
                return;
            }
            __atomic_store_n(state, FRAME_CACHED, __ATOMIC_RELAXED);
            if (K23_LIKELY(frames_fast_push(fa, pa)))
                return;
            frames_free_one_slow(fa, &fa->arenas[0], 0, pa);
            return;
        }
    }
    frames_free_one_general(fa, pa);
}

/* ---- runs ---- */

int k23_frames_alloc(k23_frames_t *fa, const k23_frames_req_t *req,
                     k23_paddr_t *out)
{
    if (!frames_ready(fa) || req == NULL || out == NULL || req->size == 0 ||
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
    if (!frames_ready(fa) || size == 0 ||
        (pa & (fa->cfg.frame_size - 1)) != 0)
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
    K23_REQUIRES(fa->lock)
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
    if (!frames_ready(fa) || out == NULL || n == 0 ||
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
    if (!frames_ready(fa) || (pa == NULL && n != 0))
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

/* The analysis cannot follow a loop over the cache locks: it is told
 * about the arena lock, which the callers' helpers require. */
static K23_NO_THREAD_SAFETY_ANALYSIS void frames_lock_all(k23_frames_t *fa)
    K23_ACQUIRE(fa->lock)
{
    for (unsigned i = 0; i < fa->ncaches; i++)
        frames_cache_lock(fa, i);
    k23_port_lock_acquire(&fa->lock);
}

static K23_NO_THREAD_SAFETY_ANALYSIS void frames_unlock_all(k23_frames_t *fa)
    K23_RELEASE(fa->lock)
{
    k23_port_lock_release(&fa->lock);
    for (unsigned i = fa->ncaches; i-- > 0;)
        frames_cache_unlock(fa, i);
}

int k23_frames_stats(k23_frames_t *fa, k23_frames_stats_t *out)
{
    if (!frames_ready(fa) || out == NULL)
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
        s.cached_frames += fa->caches[i].hdr.count;
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

/* Arena and frame index of a cache entry, for the checker: false when
 * the entry names no frame of the allocator (bits set below the frame
 * size other than an existing arena's index, or an address outside that
 * arena). */
static bool frames_entry_decode(const k23_frames_t *fa, uint64_t e,
                                unsigned *ai_out, uint32_t *idx_out)
{
    uint64_t low = e & (fa->cfg.frame_size - 1);
    if (low >= fa->narenas)
        return false;
    const k23_frames_arena_t *a = &fa->arenas[low];
    uint64_t pfn = frames_entry_pfn(fa, e);
    if (pfn < a->base_pfn || pfn - a->base_pfn >= a->nframes)
        return false;
    *ai_out = (unsigned)low;
    *idx_out = (uint32_t)(pfn - a->base_pfn);
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

/* Check under every lock (and fence). A CACHED frame in no cache is lost
 * unless a thread holds it in transit: with the fast path there may be up
 * to frames_transit_sum() of them, without it none. */
static int frames_check_locked(k23_frames_t *fa) K23_REQUIRES(fa->lock)
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
        if (c->hdr.count > fa->cfg.cache_frames) {
            k23_log_u64_(K23_LOG_ERROR, "k23_frames check: cache over its "
                         "bound on cpu ", i, "");
            rc = K23_ERR_CORRUPT;
            break;
        }
        for (unsigned j = 0; j < c->hdr.count; j++) {
            uint64_t e = c->frames[j];
            unsigned ai;
            uint32_t idx;
            if (!frames_entry_decode(fa, e, &ai, &idx)) {
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
        for (unsigned j = 0; j < c->hdr.count && j < K23_FRAMES_CACHE_MAX; j++) {
            uint64_t e = c->frames[j];
            unsigned ai;
            uint32_t idx;
            if (frames_entry_decode(fa, e, &ai, &idx) &&
                k23_arena_state_(&fa->arenas[ai], idx) == FRAME_CHECK_MARK)
                k23_arena_set_state_(&fa->arenas[ai], idx, FRAME_CACHED);
        }
    }
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

int k23_frames_check(k23_frames_t *fa)
{
    if (!frames_ready(fa))
        return K23_ERR_INVAL;
    /* One pass under every lock and fence: frames in transit are counted
     * exactly (frames_transit_begin), so no retry is needed and none can
     * be outlasted. */
    frames_lock_all(fa);
    int rc = frames_check_locked(fa);
    frames_unlock_all(fa);
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
    if (!frames_ready(fa) || size == 0 || base + (size - 1) < base)
        return K23_ERR_INVAL;
    if (((base | size) & (fa->cfg.frame_size - 1)) != 0)
        return K23_ERR_ALIGN;
    unsigned shift = fa->frame_shift;
    uint64_t pfn = base >> shift, n = size >> shift;
    int ai = frames_find_arena(fa, pfn);
    if (ai < 0)
        return K23_ERR_NOT_FOUND;
    k23_frames_arena_t *a = &fa->arenas[ai];
    uint64_t idx = pfn - a->base_pfn;
    if (n > a->nframes - idx)
        return K23_ERR_NOT_FOUND;
    k23_port_lock_acquire(&fa->lock);
    for (uint64_t i = 0; i < n; i++) {
        if (k23_arena_state_(a, idx + i) != FRAME_HOLE) {
            k23_port_lock_release(&fa->lock);
            return K23_ERR_OVERLAP;
        }
    }
    /* Hole -> handed out (its free bit is already set), then the normal
     * free path, which merges buddies. */
    for (uint64_t i = 0; i < n; i++)
        k23_arena_set_state_(a, idx + i, FRAME_ALLOCATED);
    a->hole_frames -= n;
    a->usable_frames += n;
    k23_arena_free_(a, pfn, n, FRAME_ALLOCATED, fa->cfg.max_order, shift);
    K23_ASSERT_EXPENSIVE(frames_check_arenas_locked(fa) == K23_OK);
    k23_port_lock_release(&fa->lock);
    return K23_OK;
}
