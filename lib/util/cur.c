/* cur.c: the one place a cursor moves.  No other code does arithmetic on
 * pointers into peer bytes. */
#include "tlsdiag/cur.h"

#include <string.h>

void td_cur_init(struct td_cur *c, const uint8_t *p, size_t len)
{
    c->p = len ? p : NULL;
    c->len = len;
    c->off = 0;
}

void td_memcpy(void *dst, const void *src, size_t n)
{
    if (n != 0)
        memcpy(dst, src, n);
}

/* cur_take consumes |n| bytes.  It never adds to a NULL pointer: NULL + 0 is
 * undefined in C, and an empty view may have p == NULL. */
static bool cur_take(struct td_cur *c, size_t n, const uint8_t **out)
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

static bool cur_get_be(struct td_cur *c, size_t n, uint32_t *out)
{
    const uint8_t *b;
    uint32_t v = 0;

    if (!cur_take(c, n, &b))
        return false;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | b[i];
    *out = v;
    return true;
}

bool td_cur_get_u8(struct td_cur *c, uint8_t *out)
{
    uint32_t v;
    if (!cur_get_be(c, 1, &v))
        return false;
    *out = (uint8_t)v;
    return true;
}

bool td_cur_get_u16(struct td_cur *c, uint16_t *out)
{
    uint32_t v;
    if (!cur_get_be(c, 2, &v))
        return false;
    *out = (uint16_t)v;
    return true;
}

bool td_cur_get_u24(struct td_cur *c, uint32_t *out) { return cur_get_be(c, 3, out); }
bool td_cur_get_u32(struct td_cur *c, uint32_t *out) { return cur_get_be(c, 4, out); }

bool td_cur_get_bytes(struct td_cur *c, struct td_cur *out, size_t n)
{
    size_t off = c->off;
    const uint8_t *b;

    if (!cur_take(c, n, &b))
        return false;
    out->p = n ? b : NULL;
    out->len = n;
    out->off = off;
    return true;
}

/* cur_get_vec works on a copy so that a bad length leaves |c| pointing at
 * the length field. */
static bool cur_get_vec(struct td_cur *c, struct td_cur *out, size_t len_len)
{
    struct td_cur tmp = *c;
    uint32_t n;

    if (!cur_get_be(&tmp, len_len, &n) || !td_cur_get_bytes(&tmp, out, n))
        return false;
    *c = tmp;
    return true;
}

bool td_cur_get_vec8(struct td_cur *c, struct td_cur *out) { return cur_get_vec(c, out, 1); }
bool td_cur_get_vec16(struct td_cur *c, struct td_cur *out) { return cur_get_vec(c, out, 2); }
bool td_cur_get_vec24(struct td_cur *c, struct td_cur *out) { return cur_get_vec(c, out, 3); }

bool td_cur_skip(struct td_cur *c, size_t n)
{
    const uint8_t *b;
    return cur_take(c, n, &b);
}

bool td_cur_copy(struct td_cur *c, void *dst, size_t n)
{
    const uint8_t *b;
    if (!cur_take(c, n, &b))
        return false;
    td_memcpy(dst, b, n);
    return true;
}

bool td_cur_peek_u8(const struct td_cur *c, size_t i, uint8_t *out)
{
    if (i >= c->len)
        return false;
    *out = c->p[i];
    return true;
}
