/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Megablock allocator over a grow-only memory (see megablock.h).
 *
 * Why a bitmap and not GHC's free list: the state is three bits per
 * megablock of a fixed window (4 GiB / 1 MiB = 4096 megablocks on wasm32,
 * 1.5 KiB of metadata), every run search is the bitmap module's word-wise
 * scan, and a double free is caught by one bit test. GHC's OSMem.c for
 * wasm grows for every request and never reuses; here growing is the last
 * resort and, when it happens, extends a free run that already ends at the
 * end of memory instead of stranding it.
 *
 * Indices: megablock i covers [base + (i << shift), base + ((i + 1) <<
 * shift)). All index arithmetic stays below nmblocks, which init bounds so
 * that the last byte of the window is representable; byte offsets that may
 * reach the end of a 32-bit address space are computed in uint64_t.
 */
#include "internal.h"
#include "k23mem/bitmap.h"
#include "k23mem/megablock.h"

static bool mblock_bit(const unsigned char *bs, size_t i)
{
    return k23_bitmap_test(bs, i);
}

static void mblock_set(unsigned char *bs, size_t nbits, size_t i, size_t n)
{
    int rc = k23_bitmap_set_range(bs, nbits, i, n);
    K23_ASSERT_INTERNAL_FOUND(rc == K23_OK, rc);
    K23_UNUSED(rc);
}

static void mblock_clear(unsigned char *bs, size_t nbits, size_t i, size_t n)
{
    int rc = k23_bitmap_clear_range(bs, nbits, i, n);
    K23_ASSERT_INTERNAL_FOUND(rc == K23_OK, rc);
    K23_UNUSED(rc);
}

static uintptr_t mblock_addr(const k23_mblock_t *m, size_t idx)
{
    return m->base + ((uintptr_t)idx << m->shift);
}

static int mblock_check_locked(const k23_mblock_t *m) K23_REQUIRES(m->lock);

int k23_mblock_init(k23_mblock_t *m, unsigned shift, uintptr_t base,
                    size_t nmblocks, const k23_mblock_source_t *src,
                    void *meta, size_t meta_bytes)
{
    if (m == NULL || src == NULL || meta == NULL || src->grow == NULL ||
        src->end == NULL)
        return K23_ERR_INVAL;
    if (shift < K23_MBLOCK_MIN_SHIFT || shift >= sizeof(uintptr_t) * CHAR_BIT)
        return K23_ERR_INVAL;
    uintptr_t mask = ((uintptr_t)1 << shift) - 1;
    if ((base & mask) != 0 || nmblocks == 0)
        return K23_ERR_INVAL;
    /* The last byte of the window, base + (nmblocks << shift) - 1, must be
     * representable: (nmblocks - 1) << shift <= UINTPTR_MAX - base - mask. */
    if ((uintptr_t)(nmblocks - 1) > ((UINTPTR_MAX - base - mask) >> shift) ||
        (size_t)(uintptr_t)(nmblocks - 1) != nmblocks - 1)
        return K23_ERR_INVAL;
    if (nmblocks > SIZE_MAX - 7 || K23_BITMAP_BYTES(nmblocks) > SIZE_MAX / 3)
        return K23_ERR_INVAL;
    size_t bytes = K23_BITMAP_BYTES(nmblocks);
    if (meta_bytes < 3 * bytes)
        return K23_ERR_TOO_SMALL;

    k23_memzero_(m, sizeof(*m));
    m->base = base;
    m->nmblocks = nmblocks;
    m->shift = shift;
    m->owned = meta;
    m->busy = m->owned + bytes;
    m->dirty = m->busy + bytes;
    k23_memzero_(meta, 3 * bytes);
    mblock_set(m->busy, nmblocks, 0, nmblocks);
    m->lo = nmblocks;
    m->hi = 0;
    m->src = *src;
    m->stats.mblock_size = (size_t)1 << shift;
    k23_port_lock_init(&m->lock);
    return K23_OK;
}

/*
 * The first index at or after idx whose megablock address is a multiple of
 * 2^(amb + shift). The alignment is of the address, not of the offset from
 * the window base: a base that is a multiple of 1 MiB but not of 2 MiB puts
 * index 0 at 1 MiB mod 2 MiB. phase is how many megablocks the base lies
 * past the alignment boundary below it. False when no such index exists
 * below SIZE_MAX.
 */
static bool mblock_align_up(const k23_mblock_t *m, size_t idx, unsigned amb,
                            size_t *out)
{
    size_t amask = ((size_t)1 << amb) - 1;
    size_t phase = (size_t)(m->base >> m->shift) & amask;
    size_t a;
    if (k23_add_overflow_(idx, phase, &a) ||
        k23_add_overflow_(a, amask, &a))
        return false;
    *out = (a & ~amask) - phase; /* >= idx: rounding up never loses phase */
    return true;
}

/*
 * Best fit: the smallest free run that holds n megablocks starting at a
 * multiple of 2^amb (alignment in megablocks), lowest address on ties.
 * Holes are found with two run searches each: the next clear bit of
 * `busy`, then the next set bit after it.
 */
static bool mblock_find(const k23_mblock_t *m, size_t n, unsigned amb,
                        size_t *out) K23_REQUIRES(m->lock);
static bool mblock_find(const k23_mblock_t *m, size_t n, unsigned amb,
                        size_t *out)
{
    size_t best = 0, best_len = SIZE_MAX;
    size_t pos = m->lo;
    while (pos < m->hi) {
        /* a scan: the returned-hit form keeps pos in registers */
        struct k23_bitmap_hit hole = k23_bitmap_next_clear(m->busy, m->hi,
                                                           pos, 1, 0, 0);
        if (hole.rc != K23_OK)
            break;
        size_t h = hole.index;
        struct k23_bitmap_hit used = k23_bitmap_next_set(m->busy, m->hi, h,
                                                         1, 0, 0);
        size_t e = used.rc == K23_OK ? used.index : m->hi;
        size_t a;
        if (mblock_align_up(m, h, amb, &a)) {
            if (a <= e && e - a >= n && e - h < best_len) {
                best = a;
                best_len = e - h;
                if (best_len == n)
                    break; /* exact fit: nothing smaller exists */
            }
        }
        pos = e;
    }
    if (best_len == SIZE_MAX)
        return false;
    *out = best;
    return true;
}

/* Claim the whole megablocks inside [old_end, old_end + bytes), which the
 * source just gave us; the rest is waste. */
static void mblock_adopt(k23_mblock_t *m, uintptr_t old_end, size_t bytes)
    K23_REQUIRES(m->lock);
static void mblock_adopt(k23_mblock_t *m, uintptr_t old_end, size_t bytes)
{
    uint64_t msize = (uint64_t)1 << m->shift;
    uint64_t lo_off, hi_off;
    uint64_t win = (uint64_t)m->nmblocks << m->shift; /* <= 2^64 - msize? */
    if (old_end < m->base) {
        uint64_t below = (uint64_t)(m->base - old_end);
        lo_off = 0;
        hi_off = bytes > below ? (uint64_t)bytes - below : 0;
    } else {
        lo_off = (uint64_t)(old_end - m->base);
        hi_off = lo_off + (uint64_t)bytes;
    }
    if (m->shift < 64 && win >> m->shift == m->nmblocks && hi_off > win)
        hi_off = win;
    size_t i0 = (size_t)((lo_off + msize - 1) >> m->shift);
    size_t i1 = (size_t)(hi_off >> m->shift);
    size_t got = 0;
    for (size_t i = i0; i < i1 && i < m->nmblocks; i++) {
        if (mblock_bit(m->owned, i))
            K23_PANIC_ADDR("k23_mblock: source returned memory already owned:",
                           mblock_addr(m, i));
        got++;
    }
    if (got != 0) {
        mblock_set(m->owned, m->nmblocks, i0, got);
        mblock_clear(m->busy, m->nmblocks, i0, got);
        mblock_clear(m->dirty, m->nmblocks, i0, got);
        if (i0 < m->lo)
            m->lo = i0;
        if (i0 + got > m->hi)
            m->hi = i0 + got;
        m->stats.owned += got;
        m->stats.free += got;
        if (m->stats.owned > m->stats.peak_owned)
            m->stats.peak_owned = m->stats.owned;
    }
    m->stats.waste_bytes += bytes - (size_t)((uint64_t)got << m->shift);
}

/*
 * Grow the source so that a run of n megablocks aligned to 2^amb exists.
 * The run starts at the first aligned index at or after the free run that
 * ends at the current end of memory (if any), so that free tail is reused
 * rather than stranded. Example, 1 MiB megablocks, memory ends at 5 MiB,
 * megablocks 3 and 4 free, n = 4: grow by 2 MiB and the run is 3..6.
 *
 * retry: a previous grow did not land where planned (someone grew the
 * memory between our look at its end and our grow). Then plan no tail
 * extension and ask for 1 + alignment megablocks of slack, so that the
 * adopted memory holds an aligned run wherever it lands.
 */
static int mblock_grow(k23_mblock_t *m, size_t n, unsigned amb, bool retry)
    K23_REQUIRES(m->lock);
static int mblock_grow(k23_mblock_t *m, size_t n, unsigned amb, bool retry)
{
    uintptr_t end = m->src.end(m->src.ctx);
    uint64_t msize = (uint64_t)1 << m->shift;
    uint64_t end_off = end > m->base ? (uint64_t)(end - m->base) : 0;
    uint64_t e_idx64 = (end_off + msize - 1) >> m->shift;
    if (e_idx64 > m->nmblocks)
        return K23_ERR_NOMEM; /* memory already ends past our window */
    size_t e_idx = (size_t)e_idx64;

    size_t amask = ((size_t)1 << amb) - 1;
    size_t t = e_idx;
    while (!retry && t > m->lo && t - 1 < m->hi && mblock_bit(m->owned, t - 1) &&
           !mblock_bit(m->busy, t - 1) && e_idx - t < n + amask)
        t--;
    size_t a, last;
    if (!mblock_align_up(m, t, amb, &a))
        return K23_ERR_NOMEM;
    size_t slack = retry ? amask + 1 : 0;
    if (k23_add_overflow_(a, n - 1, &last) ||
        k23_add_overflow_(last, slack, &last) || last >= m->nmblocks)
        return K23_ERR_NOMEM;

    /* Bytes from the current end to the end of megablock `last`. */
    uint64_t last_off = ((uint64_t)last << m->shift) + (msize - 1);
    uint64_t want; /* bytes - 1 */
    if (end >= m->base) {
        K23_ASSERT_INTERNAL_FOUND(last_off >= end_off, last_off);
        want = last_off - end_off;
    } else {
        uint64_t below = (uint64_t)(m->base - end);
        if (last_off > UINT64_MAX - below)
            return K23_ERR_NOMEM;
        want = last_off + below;
    }
    if (want >= SIZE_MAX)
        return K23_ERR_NOMEM;
    size_t bytes = (size_t)want + 1;

    uintptr_t old_end = 0;
    if (m->src.grow(m->src.ctx, bytes, &old_end) != K23_OK) {
        m->stats.grow_failures++;
        return K23_ERR_NOMEM;
    }
    m->stats.grow_calls++;
    mblock_adopt(m, old_end, bytes);
    return K23_OK;
}

int k23_mblock_alloc(k23_mblock_t *m, size_t n, unsigned align_log2,
                     uint32_t flags, void **out)
{
    if (m == NULL || out == NULL || n == 0 || (flags & ~K23_MBLOCK_ZERO) != 0)
        return K23_ERR_INVAL;
    if (align_log2 >= sizeof(uintptr_t) * CHAR_BIT)
        return K23_ERR_INVAL;
    unsigned amb = align_log2 > m->shift ? align_log2 - m->shift : 0;
    size_t first_aligned;
    if (!mblock_align_up(m, 0, amb, &first_aligned) ||
        first_aligned >= m->nmblocks)
        return K23_ERR_INVAL; /* no address in the window is so aligned */
    if (n > m->nmblocks)
        return K23_ERR_NOMEM;

    k23_port_lock_acquire(&m->lock);
    size_t idx = 0;
    bool grew = false;
    int rc = K23_OK;
    /* One grow, normally. More only if someone else grew the memory
     * between our look at its end and our grow (the adopted megablocks are
     * then not where we planned them); those grows carry slack. */
    for (unsigned attempt = 0;; attempt++) {
        if (mblock_find(m, n, amb, &idx))
            break;
        if (attempt == 3) {
            rc = K23_ERR_NOMEM;
            break;
        }
        rc = mblock_grow(m, n, amb, attempt != 0);
        if (rc != K23_OK)
            break;
        grew = true;
    }
    if (rc == K23_OK) {
        mblock_set(m->busy, m->nmblocks, idx, n);
        m->stats.free -= n;
        m->stats.allocated += n;
        if (m->stats.allocated > m->stats.peak_allocated)
            m->stats.peak_allocated = m->stats.allocated;
        m->stats.alloc_calls++;
        if (!grew)
            m->stats.alloc_reused++;
        if (flags & K23_MBLOCK_ZERO) {
            for (size_t i = idx; i < idx + n; i++) {
                if (mblock_bit(m->dirty, i)) {
                    k23_memzero_((void *)mblock_addr(m, i),
                                 (size_t)1 << m->shift);
                    mblock_clear(m->dirty, m->nmblocks, i, 1);
                }
            }
        }
        *out = (void *)mblock_addr(m, idx);
    }
    K23_ASSERT_EXPENSIVE_OK(mblock_check_locked(m));
    k23_port_lock_release(&m->lock);
    return rc;
}

/* Index of addr if it is megablock-aligned and inside the window. */
static bool mblock_index(const k23_mblock_t *m, uintptr_t addr, size_t *idx)
{
    if (addr < m->base)
        return false;
    uintptr_t off = addr - m->base;
    if ((off >> m->shift) >= m->nmblocks)
        return false;
    *idx = (size_t)(off >> m->shift);
    return true;
}

int k23_mblock_free(k23_mblock_t *m, void *addr, size_t n)
{
    size_t idx;
    /* addr may be NULL: megablock 0 of a window based at 0 is legal. */
    if (m == NULL || n == 0)
        return K23_ERR_INVAL;
    uintptr_t a = (uintptr_t)addr;
    if (((a - m->base) & (((uintptr_t)1 << m->shift) - 1)) != 0 ||
        !mblock_index(m, a, &idx) || n > m->nmblocks - idx)
        return K23_ERR_INVAL;

    k23_port_lock_acquire(&m->lock);
    for (size_t i = idx; i < idx + n; i++) {
        if (!mblock_bit(m->owned, i) || !mblock_bit(m->busy, i)) {
            k23_port_lock_release(&m->lock);
            K23_PANIC_ADDR("k23_mblock_free: megablock not allocated "
                           "(double free?):", mblock_addr(m, i));
        }
    }
    mblock_clear(m->busy, m->nmblocks, idx, n);
    mblock_set(m->dirty, m->nmblocks, idx, n);
    m->stats.free += n;
    m->stats.allocated -= n;
    m->stats.free_calls++;
    K23_ASSERT_EXPENSIVE_OK(mblock_check_locked(m));
    k23_port_lock_release(&m->lock);
    return K23_OK;
}

void k23_mblock_free_all(k23_mblock_t *m)
{
    K23_REQUIRE(m != NULL, "k23_mblock_free_all");
    k23_port_lock_acquire(&m->lock);
    for (size_t i = m->lo; i < m->hi; i++) {
        if (mblock_bit(m->owned, i) && mblock_bit(m->busy, i)) {
            mblock_clear(m->busy, m->nmblocks, i, 1);
            mblock_set(m->dirty, m->nmblocks, i, 1);
        }
    }
    m->stats.free = m->stats.owned;
    m->stats.allocated = 0;
    K23_ASSERT_EXPENSIVE_OK(mblock_check_locked(m));
    k23_port_lock_release(&m->lock);
}

bool k23_mblock_is_allocated(k23_mblock_t *m, const void *addr)
{
    size_t idx;
    K23_REQUIRE(m != NULL, "k23_mblock_is_allocated");
    if (!mblock_index(m, (uintptr_t)addr, &idx))
        return false;
    k23_port_lock_acquire(&m->lock);
    bool r = mblock_bit(m->owned, idx) && mblock_bit(m->busy, idx);
    k23_port_lock_release(&m->lock);
    return r;
}

void k23_mblock_stats(k23_mblock_t *m, k23_mblock_stats_t *out)
{
    K23_REQUIRE(m != NULL, "k23_mblock_stats");
    K23_REQUIRE(out != NULL, "k23_mblock_stats");
    k23_port_lock_acquire(&m->lock);
    *out = m->stats;
    k23_port_lock_release(&m->lock);
}

static int mblock_corrupt(const char *what, uint64_t v)
{
    k23_log_u64_(K23_LOG_ERROR, what, v, "");
    return K23_ERR_CORRUPT;
}

static int mblock_check_locked(const k23_mblock_t *m)
{
    size_t owned = 0, free = 0;
    for (size_t i = 0; i < m->nmblocks; i++) {
        bool o = mblock_bit(m->owned, i), b = mblock_bit(m->busy, i);
        if (o) {
            owned++;
            if (i < m->lo || i >= m->hi)
                return mblock_corrupt("k23_mblock_check: owned outside "
                                      "[lo, hi) at ", mblock_addr(m, i));
            if (!b)
                free++;
        } else if (!b) {
            return mblock_corrupt("k23_mblock_check: unowned megablock is "
                                  "free at ", mblock_addr(m, i));
        }
    }
    if (owned != m->stats.owned || free != m->stats.free ||
        owned - free != m->stats.allocated)
        return mblock_corrupt("k23_mblock_check: counters disagree with "
                              "bitmaps; owned bits ", owned);
    if (m->stats.owned > m->stats.peak_owned ||
        m->stats.allocated > m->stats.peak_allocated)
        return mblock_corrupt("k23_mblock_check: peak below current, owned ",
                              m->stats.owned);
    if (owned == 0 && (m->lo != m->nmblocks || m->hi != 0))
        return mblock_corrupt("k23_mblock_check: bounds set with nothing "
                              "owned, lo ", m->lo);
    return K23_OK;
}

int k23_mblock_check(k23_mblock_t *m)
{
    if (m == NULL)
        return K23_ERR_INVAL;
    k23_port_lock_acquire(&m->lock);
    int rc = mblock_check_locked(m);
    k23_port_lock_release(&m->lock);
    return rc;
}
