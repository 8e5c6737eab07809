/* cur.h: the bounded read cursor.  Every byte a peer wrote is read through
 * one of these (see docs/STYLE.md and ../shared/style.md section 2).
 *
 * A td_cur is a value: copy it to bookmark or look ahead.  Every getter
 * returns false and leaves the cursor unchanged when the bytes are not there,
 * so an error offset points at the field that failed.  |off| is the offset of
 * |p| within the outermost buffer the cursor was made from, kept across
 * sub-views so an anomaly can say where it is. */
#ifndef TLSDIAG_CUR_H
#define TLSDIAG_CUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define TD_MUST_CHECK __attribute__((warn_unused_result))
/* the getters every parser calls per field: GCC left td_cur_get_u16 out of
 * line in decode.c, where `read -j` workers call it on every packet */
#define TD_CUR_INLINE __attribute__((always_inline)) inline
#else
#define TD_MUST_CHECK
#define TD_CUR_INLINE inline
#endif

struct td_cur {
    const uint8_t *p;
    size_t len;
    size_t off;
};

/* td_cur_init makes a cursor over |len| bytes at |p| with offset 0.
 * |p| may be NULL when |len| is 0.  (Inline: every packet makes several.) */
static inline void td_cur_init(struct td_cur *c, const uint8_t *p, size_t len)
{
    c->p = len ? p : NULL;
    c->len = len;
    c->off = 0;
}

static inline size_t td_cur_len(const struct td_cur *c) { return c->len; }
static inline bool td_cur_empty(const struct td_cur *c) { return c->len == 0; }

/* The getters are defined here, inline, because every parser calls them
 * per field (they were a fifth of the time of a read).  This header is
 * still the one place a cursor moves: no other code does arithmetic on
 * pointers into peer bytes. */

/* td__cur_take consumes |n| bytes.  It never adds to a NULL pointer: NULL + 0
 * is undefined in C, and an empty view may have p == NULL. */
static TD_CUR_INLINE bool td__cur_take(struct td_cur *c, size_t n, const uint8_t **out)
{
    if (c->len < n)
        return false;
    *out = c->p;
    if (n != 0) {
        c->p += n;
        c->len -= n;
        c->off += n;
    }
    return true;
}

static TD_CUR_INLINE bool td__cur_get_be(struct td_cur *c, size_t n, uint32_t *out)
{
    const uint8_t *b;
    uint32_t v = 0;

    if (!td__cur_take(c, n, &b))
        return false;
    /* spelled out for the sizes used, so the compiler makes one load */
    switch (n) {
    case 1:
        v = b[0];
        break;
    case 2:
        v = (uint32_t)b[0] << 8 | b[1];
        break;
    case 3:
        v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
        break;
    case 4:
        v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        break;
    default:
        for (size_t i = 0; i < n; i++)
            v = (v << 8) | b[i];
        break;
    }
    *out = v;
    return true;
}

TD_MUST_CHECK static TD_CUR_INLINE bool td_cur_get_u8(struct td_cur *c, uint8_t *out)
{
    if (c->len < 1)
        return false;
    *out = c->p[0];
    c->p++;
    c->len--;
    c->off++;
    return true;
}

TD_MUST_CHECK static TD_CUR_INLINE bool td_cur_get_u16(struct td_cur *c, uint16_t *out)
{
    uint32_t v;
    if (!td__cur_get_be(c, 2, &v))
        return false;
    *out = (uint16_t)v;
    return true;
}

TD_MUST_CHECK static inline bool td_cur_get_u24(struct td_cur *c, uint32_t *out) { return td__cur_get_be(c, 3, out); }
TD_MUST_CHECK static TD_CUR_INLINE bool td_cur_get_u32(struct td_cur *c, uint32_t *out) { return td__cur_get_be(c, 4, out); }

/* td_cur_get_bytes splits the next |n| bytes off as the sub-view |out|. */
TD_MUST_CHECK static TD_CUR_INLINE bool td_cur_get_bytes(struct td_cur *c, struct td_cur *out, size_t n)
{
    size_t off = c->off;
    const uint8_t *b;

    if (!td__cur_take(c, n, &b))
        return false;
    out->p = n ? b : NULL;
    out->len = n;
    out->off = off;
    return true;
}

/* td__cur_get_vec works on a copy so that a bad length leaves |c| pointing
 * at the length field. */
static inline bool td__cur_get_vec(struct td_cur *c, struct td_cur *out, size_t len_len)
{
    struct td_cur tmp = *c;
    uint32_t n;

    if (!td__cur_get_be(&tmp, len_len, &n) || !td_cur_get_bytes(&tmp, out, n))
        return false;
    *c = tmp;
    return true;
}

/* RFC 8446 section 3.4 vectors: a 1/2/3-byte length, then that many bytes. */
TD_MUST_CHECK static inline bool td_cur_get_vec8(struct td_cur *c, struct td_cur *out) { return td__cur_get_vec(c, out, 1); }
TD_MUST_CHECK static inline bool td_cur_get_vec16(struct td_cur *c, struct td_cur *out) { return td__cur_get_vec(c, out, 2); }
TD_MUST_CHECK static inline bool td_cur_get_vec24(struct td_cur *c, struct td_cur *out) { return td__cur_get_vec(c, out, 3); }

TD_MUST_CHECK static inline bool td_cur_skip(struct td_cur *c, size_t n)
{
    const uint8_t *b;
    return td__cur_take(c, n, &b);
}

/* td_memcpy tolerates (NULL, NULL, 0), which memcpy does not.  Inline, so
 * that a copy of a known small size (an address, a random) is a few moves. */
static inline void td_memcpy(void *dst, const void *src, size_t n)
{
    if (n != 0)
        memcpy(dst, src, n);
}

/* td_cur_copy copies the next |n| bytes to |dst| and advances. */
TD_MUST_CHECK static inline bool td_cur_copy(struct td_cur *c, void *dst, size_t n)
{
    const uint8_t *b;
    if (!td__cur_take(c, n, &b))
        return false;
    td_memcpy(dst, b, n);
    return true;
}

/* td_cur_skip_zeros consumes the zero bytes at the front of |c| (all of it
 * if it is all zeros): the cursor then stands on the first non-zero byte. */
static inline void td_cur_skip_zeros(struct td_cur *c)
{
    size_t i = 0;
    const uint8_t *b;

    /* eight bytes at a time (a ClientHello's padding is a few hundred zeros) */
    for (; i + 8 <= c->len; i += 8) {
        uint64_t w;
        memcpy(&w, c->p + i, 8);
        if (w != 0)
            break;
    }
    while (i < c->len && c->p[i] == 0)
        i++;
    (void)td__cur_take(c, i, &b);
}

/* td_cur_peek_u8 reads byte |i| ahead without moving. */
TD_MUST_CHECK static inline bool td_cur_peek_u8(const struct td_cur *c, size_t i, uint8_t *out)
{
    if (i >= c->len)
        return false;
    *out = c->p[i];
    return true;
}


#endif
