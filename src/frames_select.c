/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Planning: which arenas a memory map gives under a configuration. A pure
 * module beside the allocator: k23_frames_plan() reports the selection,
 * k23_frames_init() builds arenas from the same walk, so the plan is by
 * construction what init builds. Only sizes come from the arena layer
 * (k23_arena_meta_bytes_()).
 */
#include "arena.h"
#include "frames_internal.h"
#include "frames_select.h"

bool k23_frames_run_pfns_(k23_frames_run_t r, unsigned shift, uint64_t *ps,
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

uint64_t k23_frames_cache_bytes_(const k23_frames_config_t *c)
{
    return c->cache_frames != 0 ? (uint64_t)c->cpus * sizeof(k23_frames_pcpu_t)
                                : 0;
}

uint64_t k23_frames_info_bytes_(const k23_frames_config_t *c,
                                uint64_t nframes)
{
    return (nframes * c->info_size + 7) & ~UINT64_C(7);
}

/* Bookkeeping bytes of an arena of nframes frames with `holes` holes
 * between its pieces: its own, the per-frame information, and `extra`
 * (the caches, for the first arena). */
static uint64_t frames_bk_bytes(const k23_frames_config_t *c,
                                uint64_t nframes, uint64_t extra,
                                uint64_t holes)
{
    return extra + k23_arena_meta_bytes_(nframes, holes) +
           k23_frames_info_bytes_(c, nframes);
}

static uint64_t frames_bk_frames(const k23_frames_config_t *c,
                                 uint64_t nframes, uint64_t extra,
                                 uint64_t holes)
{
    unsigned shift = k23_frames_log2_(c->frame_size);
    uint64_t bytes = frames_bk_bytes(c, nframes, extra, holes);
    return (bytes + (UINT64_C(1) << shift) - 1) >> shift;
}

static uint64_t frames_hole_cost(const k23_frames_config_t *c,
                               uint64_t hole_frames, uint64_t holes)
{
    return (hole_frames * (K23_FRAMES_META_BITS + 8u * c->info_size) + 7) /
               8 +
           (holes != 0 ? (holes + K23_FRAMES_HOLE_SLACK) * K23_FRAMES_HOLE_BYTES
                       : 0);
}


/* ---- configuration ---- */

int k23_frames_config_default(k23_frames_config_t *cfg, uint64_t frame_size)
{
    if (cfg == NULL || !k23_is_pow2_(frame_size) ||
        frame_size < (UINT64_C(1) << FRAMES_MIN_SHIFT) ||
        frame_size > (UINT64_C(1) << FRAMES_MAX_SHIFT))
        return K23_ERR_INVAL;
    k23_memzero_(cfg, sizeof(*cfg));
    cfg->frame_size = frame_size;
    cfg->max_order = k23_frames_log2_(K23_FRAMES_DEFAULT_BLOCK / frame_size);
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
    if (c->info_size > K23_FRAMES_INFO_MAX || c->cpus > K23_FRAMES_CPU_LIMIT)
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
    uint64_t gaps;              /* holes (extents) between its pieces */
    uint64_t big_start, big_len; /* largest free piece */
    bool pending;               /* runs without a whole frame were met */
    k23_frames_runs_t pend_from; /* walk position that yields the first */
    uint64_t pend_hi;           /* first byte of the last of them */
    uint64_t extra;             /* bookkeeping beyond the arena's own and
                                 * its per-frame information: the caches,
                                 * carved with the first arena */
    bool placed;                /* an arena was emitted (kept across
                                 * candidates) */
};

int k23_frames_plan_validate_(const k23_range_t **regions, size_t nregions,
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
    if (c->cache_frames != 0 && c->cpus == 0) {
        unsigned n = k23_port_cpu_count();
        c->cpus = n == 0 ? 1 : n < K23_FRAMES_CPU_LIMIT ? n
                                                         : K23_FRAMES_CPU_LIMIT;
    }
    int rc = k23_frames_runs_prepare_(*regions, nregions, c->sort_scratch,
                                      c->sort_scratch_cap, regions);
    if (rc != K23_OK)
        return rc;
    return k23_frames_runs_check_(*regions, nregions);
}

/* A rejected entry for run r, whose whole frames are [ps, pe). */
static int frames_plan_reject(k23_frames_run_t r, uint64_t ps, uint64_t pe,
                              const k23_frames_config_t *c,
                              k23_frames_plan_fn_ fn, void *ctx)
{
    unsigned shift = k23_frames_log2_(c->frame_size);
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
    e.bookkeeping_bytes =
        e.frames != 0 ? frames_bk_bytes(c, e.frames, 0, 0) : 0;
    return fn(ctx, &e, NULL);
}

/* Emit a candidate: an arena, or its run rejected when its largest piece
 * cannot hold the bookkeeping. A candidate that fails the test was never
 * merged (merging requires it), so it is one piece of one run. */
static int frames_plan_finish_one(const k23_frames_config_t *cfg,
                                  struct frames_cand *c,
                                  k23_frames_plan_fn_ fn, void *ctx)
{
    unsigned shift = k23_frames_log2_(cfg->frame_size);
    uint64_t n = c->end - c->start;
    uint64_t bk = frames_bk_frames(cfg, n, c->extra, c->gaps);
    c->open = false;
    if (c->big_len < bk + 1)
        return frames_plan_reject(c->run, c->start, c->end, cfg, fn, ctx);
    c->placed = true;
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
    e.bookkeeping_bytes = frames_bk_bytes(cfg, n, c->extra, c->gaps);
    return fn(ctx, &e, &c->from);
}

/* Emit a candidate, then the runs without a whole frame met while it was
 * open (deferred so that entries stay in address order: they do not take
 * part in merging), in address order, by replaying the walk from the
 * first of them. */
static int frames_plan_finish(const k23_frames_config_t *cfg,
                              struct frames_cand *c, k23_frames_plan_fn_ fn,
                              void *ctx)
{
    unsigned shift = k23_frames_log2_(cfg->frame_size);
    int rc = frames_plan_finish_one(cfg, c, fn, ctx);
    if (rc != K23_OK || !c->pending)
        return rc;
    c->pending = false;
    k23_frames_runs_t it = c->pend_from;
    k23_frames_run_t r;
    uint64_t ps, pe;
    while (rc == K23_OK && k23_frames_runs_next_(&it, &r) &&
           r.first <= c->pend_hi) {
        if (!k23_frames_run_pfns_(r, shift, &ps, &pe))
            rc = frames_plan_reject(r, 0, 0, cfg, fn, ctx);
    }
    return rc;
}

/* Add frames [ps, ce) of the run at *at to the open candidate when the
 * hole budget allows and the largest piece can still hold the
 * bookkeeping; false when the candidate must be finished first. */
static bool frames_plan_extend(struct frames_cand *cur, uint64_t ps,
                               uint64_t ce, const k23_frames_config_t *c)
{
    uint64_t holes = cur->holes + (ps - cur->end);
    uint64_t gaps = cur->gaps + (ps > cur->end);
    uint64_t n = ce - cur->start;
    uint64_t bigs = cur->big_start, bigl = cur->big_len;
    if (ce - ps >= bigl) {
        bigs = ps;
        bigl = ce - ps;
    }
    if (n > c->max_arena_frames ||
        frames_hole_cost(c, holes, gaps) > c->hole_budget ||
        bigl < frames_bk_frames(c, n, cur->extra, gaps) + 1)
        return false;
    cur->end = ce;
    cur->holes = holes;
    cur->gaps = gaps;
    cur->big_start = bigs;
    cur->big_len = bigl;
    return true;
}

int k23_frames_plan_walk_(const k23_range_t *regions, size_t nregions,
                          const k23_frames_config_t *c,
                          k23_frames_plan_fn_ fn, void *ctx)
{
    struct frames_cand cur = {0};
    unsigned shift = k23_frames_log2_(c->frame_size);
    k23_frames_runs_t it, at;
    k23_frames_run_t run;
    int rc;
    k23_frames_runs_start_(&it, regions, nregions);
    for (at = it; k23_frames_runs_next_(&it, &run); at = it) {
        uint64_t ps, pe;
        if (!k23_frames_run_pfns_(run, shift, &ps, &pe)) {
            if (cur.open) {
                if (!cur.pending)
                    cur.pend_from = at;
                cur.pending = true;
                cur.pend_hi = run.first;
                continue;
            }
            rc = frames_plan_reject(run, 0, 0, c, fn, ctx);
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
                if (frames_plan_extend(&cur, ps, ce, c)) {
                    ps = ce;
                    continue;
                }
                rc = frames_plan_finish(c, &cur, fn, ctx);
                if (rc != K23_OK)
                    return rc;
            }
            cur.open = true;
            cur.run = run;
            cur.from = at;
            cur.start = ps;
            cur.end = ce;
            cur.holes = 0;
            cur.gaps = 0;
            cur.big_start = ps;
            cur.big_len = ce - ps;
            cur.extra = cur.placed ? 0 : k23_frames_cache_bytes_(c);
            ps = ce;
        }
    }
    if (cur.open)
        return frames_plan_finish(c, &cur, fn, ctx);
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
    int rc = k23_frames_plan_validate_(&regions, n, cfg, &c);
    if (rc != K23_OK)
        return rc;
    /* Count first, so out stays untouched when it is too small. */
    struct frames_plan_store s = {NULL, 0};
    rc = k23_frames_plan_walk_(regions, n, &c, frames_plan_store, &s);
    if (rc != K23_OK)
        return rc;
    if (s.n > cap) {
        *out_n = s.n;
        return K23_ERR_NOSPACE;
    }
    s.out = out;
    s.n = 0;
    rc = k23_frames_plan_walk_(regions, n, &c, frames_plan_store, &s);
    if (rc != K23_OK)
        return rc;
    *out_n = s.n;
    return K23_OK;
}
