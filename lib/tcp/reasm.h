/* reasm.h (internal): one direction's TCP segments -> ordered bytes.
 *
 * In-order bytes are delivered at once, never copied.  Segments ahead of the
 * next expected sequence number are copied and held (capped: bytes and
 * count); retransmitted bytes are dropped (the first copy wins, as a
 * receiver's stack would keep it); a hole that is never filled is delivered
 * as a gap, never silently joined. */
#ifndef TD_TCP_REASM_H
#define TD_TCP_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct td_seg;

struct td_reasm_out {
    void *ctx;
    void (*data)(void *ctx, const uint8_t *p, size_t n);
    void (*gap)(void *ctx, uint64_t n);
};

struct td_reasm {
    bool has_next;
    uint32_t next_seq;
    struct td_seg *ooo;      /* sorted by seq */
    uint32_t ooo_bytes, ooo_n;
    uint32_t cap_bytes;
    uint64_t delivered;      /* bytes delivered (gaps included) */
};

enum td_seg_res {
    TD_SEG_INORDER,   /* delivered (maybe with buffered followers) */
    TD_SEG_RETRANS,   /* all bytes already seen */
    TD_SEG_OVERLAP,   /* partly old: the new part was delivered */
    TD_SEG_OOO,       /* held for later */
    TD_SEG_LIMIT      /* could not be held: the cap was hit; a gap follows */
};

void td_reasm_init(struct td_reasm *r, uint32_t cap_bytes);
/* td_reasm_syn: the stream's first byte is |isn| + 1. */
void td_reasm_syn(struct td_reasm *r, uint32_t isn);
/* td_reasm_segment takes |caplen| captured bytes of a segment whose payload
 * is |wire_len| long on the wire (snaplen may cut it: the rest is a gap). */
enum td_seg_res td_reasm_segment(struct td_reasm *r, uint32_t seq, const uint8_t *p,
                                 uint32_t caplen, uint32_t wire_len,
                                 const struct td_reasm_out *out);
/* td_reasm_flush delivers what is held, with gaps for the holes (at close). */
void td_reasm_flush(struct td_reasm *r, const struct td_reasm_out *out);
void td_reasm_cleanup(struct td_reasm *r);

#endif
