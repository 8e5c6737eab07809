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

#if defined(__GNUC__)
#define TD_MUST_CHECK __attribute__((warn_unused_result))
#else
#define TD_MUST_CHECK
#endif

struct td_cur {
    const uint8_t *p;
    size_t len;
    size_t off;
};

/* td_cur_init makes a cursor over |len| bytes at |p| with offset 0.
 * |p| may be NULL when |len| is 0. */
void td_cur_init(struct td_cur *c, const uint8_t *p, size_t len);

static inline size_t td_cur_len(const struct td_cur *c) { return c->len; }
static inline bool td_cur_empty(const struct td_cur *c) { return c->len == 0; }

TD_MUST_CHECK bool td_cur_get_u8(struct td_cur *c, uint8_t *out);
TD_MUST_CHECK bool td_cur_get_u16(struct td_cur *c, uint16_t *out);
TD_MUST_CHECK bool td_cur_get_u24(struct td_cur *c, uint32_t *out);
TD_MUST_CHECK bool td_cur_get_u32(struct td_cur *c, uint32_t *out);
/* td_cur_get_bytes splits the next |n| bytes off as the sub-view |out|. */
TD_MUST_CHECK bool td_cur_get_bytes(struct td_cur *c, struct td_cur *out, size_t n);
/* RFC 8446 section 3.4 vectors: a 1/2/3-byte length, then that many bytes. */
TD_MUST_CHECK bool td_cur_get_vec8(struct td_cur *c, struct td_cur *out);
TD_MUST_CHECK bool td_cur_get_vec16(struct td_cur *c, struct td_cur *out);
TD_MUST_CHECK bool td_cur_get_vec24(struct td_cur *c, struct td_cur *out);
TD_MUST_CHECK bool td_cur_skip(struct td_cur *c, size_t n);
/* td_cur_copy copies the next |n| bytes to |dst| and advances. */
TD_MUST_CHECK bool td_cur_copy(struct td_cur *c, void *dst, size_t n);
/* td_cur_peek_u8 reads byte |i| ahead without moving. */
TD_MUST_CHECK bool td_cur_peek_u8(const struct td_cur *c, size_t i, uint8_t *out);

/* td_memcpy tolerates (NULL, NULL, 0), which memcpy does not. */
void td_memcpy(void *dst, const void *src, size_t n);

#endif
