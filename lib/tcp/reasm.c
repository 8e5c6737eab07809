/* reasm.c: per-direction TCP reassembly.  Sequence numbers compare modulo
 * 2^32 (RFC 793 section 3.3). */
#include "reasm.h"
#include "tlsdiag/alloc.h"

#include <stdlib.h>
#include <string.h>

#define OOO_MAX_SEGS 256u

struct td_seg {
    struct td_seg *next;
    uint32_t seq;
    uint32_t len;
    uint32_t wire_len;  /* > len when snaplen cut the segment */
    uint8_t data[];
};

static int32_t sdiff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

void td_reasm_init(struct td_reasm *r, uint32_t cap_bytes)
{
    memset(r, 0, sizeof(*r));
    r->cap_bytes = cap_bytes;
}

void td_reasm_syn(struct td_reasm *r, uint32_t isn)
{
    if (!r->has_next) {
        r->has_next = true;
        r->next_seq = isn + 1;
    }
}

void td_reasm_cleanup(struct td_reasm *r)
{
    struct td_seg *s = r->ooo;
    while (s != NULL) {
        struct td_seg *n = s->next;
        free(s);
        s = n;
    }
    r->ooo = NULL;
    r->ooo_bytes = r->ooo_n = 0;
}

/* deliver hands bytes [seq, seq+caplen) over, trimming what was already
 * delivered; bytes of the segment beyond caplen (cut by snaplen) are a gap. */
static bool deliver(struct td_reasm *r, uint32_t seq, const uint8_t *p, uint32_t caplen,
                    uint32_t wire_len, const struct td_reasm_out *out)
{
    int32_t d = sdiff(r->next_seq, seq);
    uint32_t skip, end = seq + wire_len;

    if (sdiff(end, r->next_seq) <= 0)
        return false; /* nothing new */
    skip = d > 0 ? (uint32_t)d : 0;
    if (skip < caplen) {
        if (out->data != NULL)
            out->data(out->ctx, p + skip, caplen - skip);
        r->delivered += caplen - skip;
        r->next_seq = seq + caplen;
    }
    if (wire_len > caplen && sdiff(end, r->next_seq) > 0) {
        uint32_t missing = (uint32_t)sdiff(end, r->next_seq);
        if (out->gap != NULL)
            out->gap(out->ctx, missing);
        r->delivered += missing;
        r->next_seq = end;
    }
    return true;
}

static void drain(struct td_reasm *r, const struct td_reasm_out *out)
{
    while (r->ooo != NULL && sdiff(r->ooo->seq, r->next_seq) <= 0) {
        struct td_seg *s = r->ooo;
        r->ooo = s->next;
        r->ooo_bytes -= s->len;
        r->ooo_n--;
        deliver(r, s->seq, s->data, s->len, s->wire_len, out);
        free(s);
    }
}

enum td_seg_res td_reasm_segment(struct td_reasm *r, uint32_t seq, const uint8_t *p,
                                 uint32_t caplen, uint32_t wire_len,
                                 const struct td_reasm_out *out)
{
    struct td_seg *s, **pp;

    if (wire_len == 0)
        return TD_SEG_RETRANS;
    if (!r->has_next) { /* start not captured: begin here */
        r->has_next = true;
        r->next_seq = seq;
    }
    if (sdiff(seq, r->next_seq) <= 0) {
        bool partial = sdiff(seq, r->next_seq) < 0;
        if (!deliver(r, seq, p, caplen, wire_len, out))
            return TD_SEG_RETRANS;
        drain(r, out);
        return partial ? TD_SEG_OVERLAP : TD_SEG_INORDER;
    }
    /* ahead of the stream: hold a copy */
    for (s = r->ooo; s != NULL; s = s->next)
        if (s->seq == seq && s->wire_len >= wire_len)
            return TD_SEG_RETRANS;
    if (r->ooo_n >= OOO_MAX_SEGS || caplen > r->cap_bytes - r->ooo_bytes)
        return TD_SEG_LIMIT;
    s = td_malloc(sizeof(*s) + caplen);
    if (s == NULL)
        return TD_SEG_LIMIT;
    s->seq = seq;
    s->len = caplen;
    s->wire_len = wire_len;
    memcpy(s->data, p, caplen);
    for (pp = &r->ooo; *pp != NULL && sdiff((*pp)->seq, seq) <= 0; pp = &(*pp)->next)
        ;
    s->next = *pp;
    *pp = s;
    r->ooo_bytes += caplen;
    r->ooo_n++;
    return TD_SEG_OOO;
}

void td_reasm_flush(struct td_reasm *r, const struct td_reasm_out *out)
{
    while (r->ooo != NULL) {
        uint32_t hole = (uint32_t)sdiff(r->ooo->seq, r->next_seq);
        if (sdiff(r->ooo->seq, r->next_seq) > 0) {
            if (out->gap != NULL)
                out->gap(out->ctx, hole);
            r->delivered += hole;
            r->next_seq = r->ooo->seq;
        }
        drain(r, out);
    }
}
