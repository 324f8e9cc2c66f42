/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Slab layout calculator: wasmtime's SlabConstraints::new, calculate() and
 * SlabLayout, in C.
 *
 * Why uint64_t plus a width rather than size_t: wasmtime works in usize, so
 * its answers and errors depend on the target's pointer width. Carrying
 * every value in uint64_t and checking each result against the target's
 * SIZE_MAX (2^width - 1) reproduces usize arithmetic of any width up to 64
 * on any host: a 64-bit host can answer for wasm32, and a 32-bit target
 * still computes correctly for itself (width 32) without wrapping.
 */
#include "internal.h"

#include "k23mem/slab_layout.h"

/* ---- checked arithmetic bounded by a target's SIZE_MAX ---- */

/* Each returns false when the result exceeds `max` (or 2^64). */
static bool slab_add(uint64_t a, uint64_t b, uint64_t max, uint64_t *out)
{
    uint64_t r;
    if (k23_add_overflow_(a, b, &r) || r > max)
        return false;
    *out = r;
    return true;
}

static bool slab_mul(uint64_t a, uint64_t b, uint64_t max, uint64_t *out)
{
    uint64_t r;
    if (k23_mul_overflow_(a, b, &r) || r > max)
        return false;
    *out = r;
    return true;
}

/* HostAlignedByteCount::new_rounded_up: the next multiple of `page` at or
 * above `x`, failing if that exceeds `max`. */
static bool slab_round_up(uint64_t x, uint64_t page, uint64_t max,
                          uint64_t *out)
{
    if (x > max)
        return false;
    uint64_t r = x & ~(page - 1);
    if (r != x && !slab_add(r, page, max, &r))
        return false;
    *out = r;
    return true;
}

static bool slab_width_ok(unsigned width)
{
    return width >= K23_SLAB_WIDTH_MIN && width <= K23_SLAB_WIDTH_MAX;
}

static bool slab_page_ok(uint64_t page, uint64_t max)
{
    return k23_is_pow2_(page) && page <= max;
}

static bool slab_aligned(uint64_t x, uint64_t page)
{
    return (x & (page - 1)) == 0;
}

static uint64_t slab_max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t slab_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* ---- target ---- */

int k23_slab_target_host(k23_slab_target_t *out)
{
    if (out == NULL)
        return K23_ERR_INVAL;
    k23_port_caps_t caps;
    k23_port_caps(&caps);
    out->page_size = caps.page_size;
    out->num_pkeys_available = caps.pkeys_available;
    out->width = K23_SLAB_WIDTH_NATIVE;
    return K23_OK;
}

/* ---- constraints ---- */

/* Which limit failed to fit; used by the message formatter, which re-runs
 * the checks rather than keeping state between calls. */
enum slab_limit {
    SLAB_LIMIT_NONE,
    SLAB_LIMIT_RESERVATION,
    SLAB_LIMIT_MAX_MEMORY,
    SLAB_LIMIT_GUARD,
    SLAB_LIMIT_SLOTS,
    SLAB_LIMIT_PKEYS,
};

static int slab_constraints_build(const k23_slab_limits_t *limits,
                                  const k23_slab_target_t *target,
                                  k23_slab_constraints_t *out,
                                  enum slab_limit *which)
{
    *which = SLAB_LIMIT_NONE;
    if (limits == NULL || target == NULL || out == NULL)
        return K23_ERR_INVAL;
    if (!slab_width_ok(target->width))
        return K23_ERR_INVAL;
    uint64_t max = k23_slab_size_max(target->width);
    uint64_t page = target->page_size;
    if (!slab_page_ok(page, max))
        return K23_ERR_INVAL;

    /* MemoryPool::new compares the values as configured, before any
     * rounding. */
    if (limits->max_memory_size > limits->memory_reservation)
        return K23_ERR_SLAB_MAX_OVER_RESERVATION;

    k23_slab_constraints_t c;
    if (!slab_round_up(limits->memory_reservation, page, max,
                       &c.expected_slot_bytes)) {
        *which = SLAB_LIMIT_RESERVATION;
        return K23_ERR_SLAB_LIMIT_RANGE;
    }
    if (!slab_round_up(limits->max_memory_size, page, max,
                       &c.max_memory_bytes)) {
        *which = SLAB_LIMIT_MAX_MEMORY;
        return K23_ERR_SLAB_LIMIT_RANGE;
    }
    if (!slab_round_up(limits->memory_guard_size, page, max,
                       &c.guard_bytes)) {
        *which = SLAB_LIMIT_GUARD;
        return K23_ERR_SLAB_LIMIT_RANGE;
    }
    if (limits->total_memories > max) {
        *which = SLAB_LIMIT_SLOTS;
        return K23_ERR_SLAB_LIMIT_RANGE;
    }
    if (target->num_pkeys_available > max) {
        *which = SLAB_LIMIT_PKEYS;
        return K23_ERR_SLAB_LIMIT_RANGE;
    }
    c.num_slots = limits->total_memories;
    c.num_pkeys_available = target->num_pkeys_available;
    c.guard_before_slots = limits->guard_before_linear_memory;
    c.page_size = page;
    c.width = target->width;
    *out = c;
    return K23_OK;
}

int k23_slab_constraints_new(const k23_slab_limits_t *limits,
                             const k23_slab_target_t *target,
                             k23_slab_constraints_t *out)
{
    enum slab_limit which;
    return slab_constraints_build(limits, target, out, &which);
}

/* ---- calculation ---- */

static bool slab_constraints_valid(const k23_slab_constraints_t *c)
{
    if (!slab_width_ok(c->width))
        return false;
    uint64_t max = k23_slab_size_max(c->width);
    uint64_t page = c->page_size;
    if (!slab_page_ok(page, max))
        return false;
    const uint64_t sizes[] = {c->expected_slot_bytes, c->max_memory_bytes,
                              c->guard_bytes};
    for (size_t i = 0; i < K23_ARRAY_SIZE(sizes); i++)
        if (sizes[i] > max || !slab_aligned(sizes[i], page))
            return false;
    return c->num_slots <= max && c->num_pkeys_available <= max;
}

static int slab_total(const k23_slab_layout_t *l, uint64_t max,
                      uint64_t *out)
{
    uint64_t t;
    if (!slab_mul(l->slot_bytes, l->num_slots, max, &t) ||
        !slab_add(t, l->pre_slab_guard_bytes, max, &t) ||
        !slab_add(t, l->post_slab_guard_bytes, max, &t))
        return K23_ERR_SLAB_TOTAL_SIZE;
    *out = t;
    return K23_OK;
}

int k23_slab_calculate(const k23_slab_constraints_t *c,
                       k23_slab_layout_t *out)
{
    if (c == NULL || out == NULL || !slab_constraints_valid(c))
        return K23_ERR_INVAL;
    const uint64_t max = k23_slab_size_max(c->width);
    const uint64_t max_memory_bytes = c->max_memory_bytes;
    const uint64_t guard_bytes = c->guard_bytes;
    const uint64_t num_slots = c->num_slots;
    const uint64_t num_pkeys = c->num_pkeys_available;

    /* A guard before the first slot, if asked for, so that negative
     * offsets from slot 0 within the guard fault too. */
    uint64_t pre_slab_guard_bytes = c->guard_before_slots ? guard_bytes : 0;

    /* What code generation relies on: this many bytes from a memory's base
     * are either the memory or fault. */
    uint64_t faulting_region_bytes;
    if (!slab_add(slab_max_u64(c->expected_slot_bytes, max_memory_bytes),
                  guard_bytes, max, &faulting_region_bytes))
        return K23_ERR_SLAB_FAULTING_REGION;

    uint64_t num_stripes;
    uint64_t slot_bytes;
    if (guard_bytes == 0 || max_memory_bytes == 0 || num_slots == 0 ||
        num_pkeys < 2) {
        /* Nothing to overlap (no guard, empty memories, no slots) or not
         * enough keys to colour neighbours differently: slots back to back,
         * each a whole faulting region, one stripe. */
        num_stripes = 1;
        slot_bytes = faulting_region_bytes;
    } else {
        /* Slots of other stripes act as guard. Use as few stripes as
         * cover the faulting region with max-memory-sized slots (so a
         * store is less likely to run out of slots in its stripe), and no
         * more than the keys and the slots allow: with 3 slots, 3 stripes
         * at most. E.g. a 4 GiB reservation + 2 GiB guard over 1 GiB
         * memories needs ceil(6 / 1) = 6 stripes. */
        uint64_t needed = faulting_region_bytes / max_memory_bytes +
                          (faulting_region_bytes % max_memory_bytes != 0);
        K23_ASSERT_INTERNAL(needed > 0);
        num_stripes = slab_min_u64(slab_min_u64(num_pkeys, needed),
                                   num_slots);
        /* Then shrink each slot: slot n + 1 .. n + stripes - 1 belong to
         * other keys and fault like PROT_NONE for this store. The division
         * rounds up: stripes slots must span the whole faulting region.
         * (wasmtime rounds down, which the page rounding below hides only
         * while there are fewer stripes than bytes in a page: 8192 stripes
         * of 4 KiB pages over a region of 8193 pages gave 4 KiB slots, 32
         * MiB between slots of a stripe for a 32 MiB + 4 KiB region.) */
        uint64_t span = faulting_region_bytes / num_stripes +
                        (faulting_region_bytes % num_stripes != 0);
        slot_bytes = slab_max_u64(span, max_memory_bytes);
        K23_ASSERT_INTERNAL_FOUND(slot_bytes >= max_memory_bytes, slot_bytes);
    }

    if (!slab_round_up(slot_bytes, c->page_size, max, &slot_bytes))
        return K23_ERR_SLAB_SLOT_SIZE;

    /* The last slot has no other stripe after it: the post-slab guard
     * makes up what its own bytes leave of the faulting region. */
    uint64_t post_slab_guard_bytes = faulting_region_bytes > slot_bytes
                                         ? faulting_region_bytes - slot_bytes
                                         : 0;

    k23_slab_layout_t l = {
        .num_slots = num_slots,
        .slot_bytes = slot_bytes,
        .max_memory_bytes = max_memory_bytes,
        .pre_slab_guard_bytes = pre_slab_guard_bytes,
        .post_slab_guard_bytes = post_slab_guard_bytes,
        .num_stripes = num_stripes,
        .total_slab_bytes = 0,
        .width = c->width,
    };
    int err = slab_total(&l, max, &l.total_slab_bytes);
    if (err != K23_OK)
        return err;
    *out = l;
    return K23_OK;
}

int k23_slab_plan(const k23_slab_limits_t *limits,
                  const k23_slab_target_t *target, k23_slab_layout_t *out)
{
    k23_slab_constraints_t c;
    int err = k23_slab_constraints_new(limits, target, &c);
    if (err != K23_OK)
        return err;
    return k23_slab_calculate(&c, out);
}

int k23_slab_layout_total_bytes(const k23_slab_layout_t *l, uint64_t *out)
{
    if (l == NULL || out == NULL || !slab_width_ok(l->width))
        return K23_ERR_INVAL;
    return slab_total(l, k23_slab_size_max(l->width), out);
}

uint64_t k23_slab_layout_bytes_to_next_stripe_slot(const k23_slab_layout_t *l)
{
    uint64_t r;
    K23_REQUIRE(l != NULL, "k23_slab_layout_bytes_to_next_stripe_slot");
    K23_REQUIRE(l->num_stripes >= 1,
                "k23_slab_layout_bytes_to_next_stripe_slot");
    K23_REQUIRE(slab_width_ok(l->width),
                "k23_slab_layout_bytes_to_next_stripe_slot");
    /* num_stripes <= num_slots whenever it exceeds 1, so for a layout from
     * k23_slab_calculate() the product is at most the slots' share of the
     * total, which was checked; anything else is not such a layout. */
    bool fits = !k23_mul_overflow_(l->slot_bytes, l->num_stripes, &r) &&
                r <= k23_slab_size_max(l->width);
    K23_REQUIRE(fits, "k23_slab_layout_bytes_to_next_stripe_slot");
    return r;
}

int k23_slab_layout_slot_offset(const k23_slab_layout_t *l, uint64_t index,
                                uint64_t *out)
{
    if (l == NULL || out == NULL || index >= l->num_slots ||
        !slab_width_ok(l->width))
        return K23_ERR_INVAL;
    uint64_t off;
    if (!slab_mul(l->slot_bytes, index, k23_slab_size_max(l->width), &off) ||
        !slab_add(off, l->pre_slab_guard_bytes, k23_slab_size_max(l->width),
                  &off))
        return K23_ERR_INVAL;
    *out = off;
    return K23_OK;
}

/* ---- introspection ---- */

static int slab_fail(const char *what)
{
    k23_port_log(K23_LOG_ERROR, what);
    return K23_ERR_CORRUPT;
}

int k23_slab_layout_check(const k23_slab_constraints_t *c,
                          const k23_slab_layout_t *l)
{
    if (c == NULL || l == NULL)
        return K23_ERR_INVAL;
    if (l->width != c->width || !slab_width_ok(l->width))
        return slab_fail("slab layout: width differs from constraints");
    const uint64_t max = k23_slab_size_max(l->width);
    const uint64_t page = c->page_size;
    if (!slab_page_ok(page, max))
        return slab_fail("slab layout: bad page size");

    /* The sizes add up, and the stored total is that sum. */
    uint64_t total;
    if (slab_total(l, max, &total) != K23_OK)
        return slab_fail("slab layout: total overflows");
    if (total != l->total_slab_bytes)
        return slab_fail("slab layout: the slab size does not add up");
    if (l->num_slots != c->num_slots)
        return slab_fail("slab layout: slot count differs");
    if (l->max_memory_bytes != c->max_memory_bytes)
        return slab_fail("slab layout: max memory differs");

    /* Every size is a page multiple (HostAlignedByteCount in wasmtime). */
    if (!slab_aligned(l->slot_bytes, page) ||
        !slab_aligned(l->pre_slab_guard_bytes, page) ||
        !slab_aligned(l->post_slab_guard_bytes, page) ||
        !slab_aligned(l->total_slab_bytes, page))
        return slab_fail("slab layout: a size is not page-aligned");

    if (l->slot_bytes < l->max_memory_bytes)
        return slab_fail("slab layout: slot is not big enough");

    /* No more and no fewer stripes than needed. */
    if (l->num_stripes < 1)
        return slab_fail("slab layout: not enough stripes");
    if (c->num_pkeys_available == 0 || c->num_slots == 0) {
        if (l->num_stripes != 1)
            return slab_fail("slab layout: expected exactly one stripe");
    } else {
        if (l->num_stripes > c->num_pkeys_available)
            return slab_fail("slab layout: more stripes than keys");
        if (l->num_stripes > c->num_slots)
            return slab_fail("slab layout: more stripes than slots");
    }
    uint64_t faulting, to_next, last;
    if (k23_add_overflow_(slab_max_u64(c->expected_slot_bytes,
                                       c->max_memory_bytes),
                          c->guard_bytes, &faulting))
        return slab_fail("slab layout: faulting region overflows");

    /* No more stripes than max-memory-sized slots needed to span the
     * faulting region. wasmtime's test states this as `guard / max + 2`,
     * which is the same bound when the reservation is at most the max
     * memory, but is false for a reservation above twice the max memory
     * (4 GiB reserved, 1 GiB max, 2 GiB guard: calculate() gives 6
     * stripes, that bound says 4). We check the bound calculate() meets. */
    if (c->num_pkeys_available > 1 && c->max_memory_bytes != 0 &&
        l->num_stripes > (faulting - 1) / c->max_memory_bytes + 1)
        return slab_fail("slab layout: more stripes than needed");

    /* No out-of-bounds access escapes: between two slots of one stripe lies
     * the whole faulting region, and the last slot with the post-slab
     * guard covers the reservation. */
    if (k23_mul_overflow_(l->slot_bytes, l->num_stripes, &to_next) ||
        to_next < faulting)
        return slab_fail("slab layout: faulting region not large enough");
    if (k23_add_overflow_(l->slot_bytes, l->post_slab_guard_bytes, &last) ||
        last < c->expected_slot_bytes)
        return slab_fail("slab layout: last slot may allow OOB access");
    if (c->guard_before_slots
            ? l->pre_slab_guard_bytes != c->guard_bytes
            : l->pre_slab_guard_bytes != 0)
        return slab_fail("slab layout: pre-slab guard differs from request");
    return K23_OK;
}

/* ---- messages ---- */

static const char *slab_limit_name(enum slab_limit which)
{
    switch (which) {
    case SLAB_LIMIT_RESERVATION:
        return "memory reservation is too large";
    case SLAB_LIMIT_MAX_MEMORY:
        return "maximum size of memory is too large";
    case SLAB_LIMIT_GUARD:
        return "guard region is too large";
    case SLAB_LIMIT_SLOTS:
        return "too many memories";
    case SLAB_LIMIT_PKEYS:
        return "too many protection keys";
    default:
        return "a configured size or count does not fit the target";
    }
}

static uint64_t slab_limit_value(enum slab_limit which,
                                 const k23_slab_limits_t *limits,
                                 const k23_slab_target_t *target)
{
    switch (which) {
    case SLAB_LIMIT_RESERVATION:
        return limits->memory_reservation;
    case SLAB_LIMIT_MAX_MEMORY:
        return limits->max_memory_size;
    case SLAB_LIMIT_GUARD:
        return limits->memory_guard_size;
    case SLAB_LIMIT_SLOTS:
        return limits->total_memories;
    default:
        return target->num_pkeys_available;
    }
}

int k23_slab_error_message(int err, const k23_slab_limits_t *limits,
                           const k23_slab_target_t *target, char *buf,
                           size_t len)
{
    if (buf == NULL || len == 0)
        return K23_ERR_INVAL;
    size_t pos = 0;
    bool ok = true;
    buf[0] = '\0';
    if (err == K23_ERR_SLAB_MAX_OVER_RESERVATION && limits != NULL) {
        ok = k23_str_append_(buf, len, &pos, "maximum memory size of ") &&
             k23_str_append_u64_(buf, len, &pos, limits->max_memory_size,
                                 16) &&
             k23_str_append_(buf, len, &pos,
                             " bytes exceeds the configured memory "
                             "reservation of ") &&
             k23_str_append_u64_(buf, len, &pos, limits->memory_reservation,
                                 16) &&
             k23_str_append_(buf, len, &pos, " bytes");
    } else if (err == K23_ERR_SLAB_LIMIT_RANGE && limits != NULL &&
               target != NULL) {
        k23_slab_constraints_t c;
        enum slab_limit which;
        (void)slab_constraints_build(limits, target, &c, &which);
        ok = k23_str_append_(buf, len, &pos, slab_limit_name(which));
        if (which != SLAB_LIMIT_NONE) {
            bool count = which == SLAB_LIMIT_SLOTS ||
                         which == SLAB_LIMIT_PKEYS;
            ok = ok && k23_str_append_(buf, len, &pos, ": ") &&
                 k23_str_append_u64_(buf, len, &pos,
                                     slab_limit_value(which, limits, target),
                                     count ? 10 : 16) &&
                 k23_str_append_(buf, len, &pos,
                                 count ? "" : " bytes") &&
                 k23_str_append_(buf, len, &pos, " does not fit a ") &&
                 k23_str_append_u64_(buf, len, &pos, target->width, 10) &&
                 k23_str_append_(buf, len, &pos, "-bit size_t") &&
                 (count ? true
                        : k23_str_append_(buf, len, &pos,
                                          " once rounded up to the page "
                                          "size"));
        }
    } else if (err == K23_ERR_SLAB_FAULTING_REGION ||
               err == K23_ERR_SLAB_SLOT_SIZE ||
               err == K23_ERR_SLAB_TOTAL_SIZE) {
        ok = k23_str_append_(buf, len, &pos, k23_strerror(err));
        if (target != NULL)
            ok = ok && k23_str_append_(buf, len, &pos, " (") &&
                 k23_str_append_u64_(buf, len, &pos, target->width, 10) &&
                 k23_str_append_(buf, len, &pos, "-bit target)");
    } else {
        ok = k23_str_append_(buf, len, &pos, k23_strerror(err));
    }
    return ok ? K23_OK : K23_ERR_NOSPACE;
}
