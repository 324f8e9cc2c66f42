/*
 * Contiguous-run search on libbsd bitstrings (see k23mem/bitmap.h).
 *
 * First version: a straightforward bit-by-bit search, correct but slow.
 */
#include "k23mem/bitmap.h"

#include "internal.h"

#define BITMAP_SIZE_BITS (sizeof(size_t) * CHAR_BIT)

/* First index >= x with (index + offset) % 2^align_log2 == 0, i.e.
 * index == -offset (mod 2^align_log2). False when it does not fit size_t. */
static bool bitmap_align_up(size_t x, size_t mask, size_t residue,
                            size_t *out)
{
    return !k23_add_overflow_(x, (residue - x) & mask, out);
}

static int bitmap_find(const unsigned char *bs, size_t nbits, size_t start,
                       size_t len, unsigned align_log2, size_t align_offset,
                       size_t *out_idx, bool want_set)
{
    if (bs == NULL || out_idx == NULL || len == 0 || len > nbits ||
        start >= nbits || align_log2 >= BITMAP_SIZE_BITS)
        return K23_ERR_INVAL;

    size_t mask = ((size_t)1 << align_log2) - 1;
    size_t residue = (0 - align_offset) & mask;
    size_t last = nbits - len; /* last start index that fits */
    size_t i;
    if (!bitmap_align_up(start, mask, residue, &i))
        return K23_ERR_NOT_FOUND;
    while (i <= last) {
        size_t j = 0;
        while (j < len && k23_bitmap_test(bs, i + j) == want_set)
            j++;
        if (j == len) {
            *out_idx = i;
            return K23_OK;
        }
        if (!bitmap_align_up(i + j + 1, mask, residue, &i))
            break;
    }
    return K23_ERR_NOT_FOUND;
}

int k23_bitmap_find_clear(const unsigned char *bs, size_t nbits, size_t start,
                          size_t len, unsigned align_log2, size_t align_offset,
                          size_t *out_idx)
{
    return bitmap_find(bs, nbits, start, len, align_log2, align_offset,
                       out_idx, false);
}

int k23_bitmap_find_set(const unsigned char *bs, size_t nbits, size_t start,
                        size_t len, unsigned align_log2, size_t align_offset,
                        size_t *out_idx)
{
    return bitmap_find(bs, nbits, start, len, align_log2, align_offset,
                       out_idx, true);
}

static int bitmap_fill(unsigned char *bs, size_t nbits, size_t start,
                       size_t len, bool set)
{
    size_t end;
    if (bs == NULL || k23_add_overflow_(start, len, &end) || end > nbits)
        return K23_ERR_INVAL;
    for (size_t i = start; i < end; i++) {
        unsigned char m = (unsigned char)(1u << (i & 7));
        if (set)
            bs[i >> 3] |= m;
        else
            bs[i >> 3] &= (unsigned char)~m;
    }
    return K23_OK;
}

int k23_bitmap_set_range(unsigned char *bs, size_t nbits, size_t start,
                         size_t len)
{
    return bitmap_fill(bs, nbits, start, len, true);
}

int k23_bitmap_clear_range(unsigned char *bs, size_t nbits, size_t start,
                           size_t len)
{
    return bitmap_fill(bs, nbits, start, len, false);
}
