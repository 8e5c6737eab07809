/* tls_int.h: helpers shared by the lib/tls parsers.  Internal: not part of
 * the public API in include/tlsdiag/. */
#ifndef TLSDIAG_TLS_INT_H
#define TLSDIAG_TLS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "tlsdiag/tls.h"

/* A set of 16-bit code points (extension types) for duplicate detection.
 * A word of |bits| is only valid once its bit in |valid| is set, so that
 * td_u16_set_init clears 128 bytes instead of 8 KB per message. */
struct td_u16_set {
    uint64_t valid[65536 / 64 / 64];
    uint64_t bits[65536 / 64];
};

/* td_u16_set_init empties |s|; call it before the first td_u16_set_add. */
void td_u16_set_init(struct td_u16_set *s);
/* td_u16_set_add adds |v| and reports whether it was already present. */
bool td_u16_set_add(struct td_u16_set *s, uint16_t v);

/* td_u16_list_push appends |v| if there is room and counts it in total.  It
 * returns false the first time a value is dropped (caller records LIMIT_*). */
bool td_u16_list_push(struct td_u16_list *l, uint16_t v);
/* td_u16_list_push_max: the same with a lower cap |max| (0 or more than
 * TD_MAX_U16_LIST: TD_MAX_U16_LIST), for --max-extensions. */
bool td_u16_list_push_max(struct td_u16_list *l, uint16_t v, uint16_t max);
bool td_u8_list_push(struct td_u8_list *l, uint8_t v);

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
