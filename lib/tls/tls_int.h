/* tls_int.h: helpers shared by the lib/tls parsers.  Internal: not part of
 * the public API in include/tlsdiag/. */
#ifndef TLSDIAG_TLS_INT_H
#define TLSDIAG_TLS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tlsdiag/tls.h"

/* A set of 16-bit code points (extension types) for duplicate detection.
 * A word of |bits| is only valid once its bit in |valid| is set, so that
 * td_u16_set_init clears 128 bytes instead of 8 KB per message. */
struct td_u16_set {
    uint64_t valid[65536 / 64 / 64];
    uint64_t bits[65536 / 64];
};

/* The set and list helpers are inline: a ClientHello calls them once per
 * extension and per list element (~50 calls), where the call was most of
 * their cost. */

/* td_u16_set_init empties |s|; call it before the first td_u16_set_add. */
static inline void td_u16_set_init(struct td_u16_set *s) { memset(s->valid, 0, sizeof(s->valid)); }

/* td_u16_set_add adds |v| and reports whether it was already present. */
static inline bool td_u16_set_add(struct td_u16_set *s, uint16_t v)
{
    unsigned w = v / 64u;
    uint64_t vbit = UINT64_C(1) << (w % 64), bit = UINT64_C(1) << (v % 64);
    bool had;

    if ((s->valid[w / 64] & vbit) == 0) {
        s->valid[w / 64] |= vbit;
        s->bits[w] = 0;
    }
    had = (s->bits[w] & bit) != 0;
    s->bits[w] |= bit;
    return had;
}

/* td_u16_list_push_max appends |v| if there is room under |max| (0 or more
 * than TD_MAX_U16_LIST: TD_MAX_U16_LIST, for --max-extensions) and counts
 * it in total.  It returns false the first time a value is dropped (the
 * caller records LIMIT_*). */
static inline bool td_u16_list_push_max(struct td_u16_list *l, uint16_t v, uint16_t max)
{
    bool first_drop = false;

    if (max == 0 || max > TD_MAX_U16_LIST)
        max = TD_MAX_U16_LIST;
    if (l->n < max)
        l->v[l->n++] = v;
    else
        first_drop = l->total == max;
    if (l->total < UINT16_MAX)
        l->total++;
    return !first_drop;
}

/* td_u16_list_push: the same under TD_MAX_U16_LIST */
static inline bool td_u16_list_push(struct td_u16_list *l, uint16_t v)
{
    return td_u16_list_push_max(l, v, TD_MAX_U16_LIST);
}

static inline bool td_u8_list_push(struct td_u8_list *l, uint8_t v)
{
    bool first_drop = false;

    if (l->n < TD_MAX_U8_LIST)
        l->v[l->n++] = v;
    else
        first_drop = l->total == TD_MAX_U8_LIST;
    if (l->total < UINT16_MAX)
        l->total++;
    return !first_drop;
}

/* td_tls_read_u16_list reads the body of a vector of uint16 values into |l|
 * (all of |list| is consumed).  It returns false, consuming nothing, when the
 * list has an odd length.  GREASE values are counted in |*grease| (may be
 * NULL).  Values past the list's cap are counted and a LIMIT_LIST anomaly
 * is recorded once in |d|. */
bool td_tls_read_u16_list(struct td_u16_list *l, struct td_cur *list, uint16_t *grease,
                          struct td_diag *d, uint16_t ext_type);
void td_tls_read_u8_list(struct td_u8_list *l, struct td_cur *list, struct td_diag *d,
                         uint16_t ext_type);

/* td_tls_key_share_len: the key_exchange length RFC 8446 4.2.8.1/4.2.8.2 (and
 * the hybrid drafts) fix for |group|, or 0 when we do not know it. */
uint16_t td_tls_key_share_len(uint16_t group);

/* td_tls_copy_name copies a length-prefixed opaque name (ALPN) bounded by
 * TD_MAX_ALPN_LEN; |name| is consumed. */
void td_tls_copy_name(struct td_bytes_name *out, struct td_cur *name);

#endif
