/* synth.c: decoded records -> synthetic IPv4/TCP packets (LINKTYPE_RAW).
 *
 * The packets carry only what the text showed: the TLS bytes in order and
 * direction.  A TCP three-way handshake is added so the engine sees a whole
 * connection from its start (otherwise it would judge it "partial"); no FIN
 * or RST is added because the text does not say how TCP ended.  Every data
 * segment from one side acknowledges everything the other side sent before
 * it, as a real stack would have by then.
 *
 *   client 192.0.2.1:40000  (RFC 5737 TEST-NET-1)
 *   server 198.51.100.1:443 (RFC 5737 TEST-NET-2)
 *
 * RFC 791 (IPv4 header) and RFC 9293 (TCP header), no options. */
#include <stdlib.h>
#include "tlsdiag/alloc.h"
#include <string.h>

#include "capture/synth.h"
#include "decode_int.h"

#define ISN_CLIENT 0x10000000u
#define ISN_SERVER 0x20000000u
#define TS_STEP_NS 1000000u /* 1 ms */

#define PORT_CLIENT 40000u
#define PORT_SERVER 443u

struct synth {
    struct td_dec_pkts *out;
    uint32_t cap;
    uint32_t seq[2];  /* next seq: [0] client, [1] server */
    uint16_t ipid[2];
    uint16_t cport;
};

static int add_pkt(struct synth *s, int from_server, uint8_t flags, const uint8_t *payload,
                   uint32_t plen)
{
    struct td_dec_pkts *o = s->out;
    size_t total = TD_SYNTH_HDR_LEN + plen;
    struct td_synth_tcp4 h;
    struct td_pkt *pk;
    uint8_t *b;
    int me = from_server ? 1 : 0;

    if (total > 65535u)
        return -1;
    if (o->n == s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2u : 16u;
        struct td_pkt *np = td_realloc(o->pkts, (size_t)ncap * sizeof(*np));
        if (np == NULL)
            return -1;
        o->pkts = np;
        s->cap = ncap;
    }
    b = td_calloc(1, total);
    if (b == NULL)
        return -1;
    memset(&h, 0, sizeof(h));
    h.src = from_server ? td_synth_server_addr : td_synth_client_addr;
    h.dst = from_server ? td_synth_client_addr : td_synth_server_addr;
    h.sport = from_server ? PORT_SERVER : s->cport;
    h.dport = from_server ? s->cport : PORT_SERVER;
    h.seq = s->seq[me];
    h.ack = (flags & TD_TCP_ACK) ? s->seq[1 - me] : 0;
    h.ipid = s->ipid[me]++;
    h.ttl = 64;
    h.flags = flags;
    if (td_synth_tcp4(b, total, &h, payload, plen) != total) {
        free(b); /* unreachable: the size was checked above */
        return -1;
    }
    s->seq[me] += plen + ((flags & (TD_TCP_SYN | TD_TCP_FIN)) ? 1u : 0u);

    pk = &o->pkts[o->n];
    memset(pk, 0, sizeof(*pk));
    pk->frame = (uint64_t)o->n + 1u;
    pk->ts_sec = (int64_t)((uint64_t)o->n * TS_STEP_NS / 1000000000u);
    pk->ts_nsec = (uint32_t)((uint64_t)o->n * TS_STEP_NS % 1000000000u);
    pk->linktype = TD_LINK_RAW;
    pk->caplen = (uint32_t)total;
    pk->origlen = (uint32_t)total;
    pk->data = b;
    o->n++;
    return 0;
}

void td_dec_pkts_cleanup(struct td_dec_pkts *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->n; i++)
        free((void *)(uintptr_t)p->pkts[i].data);
    free(p->pkts);
    p->pkts = NULL;
    p->n = 0;
}

static int open_conn(struct synth *s, uint16_t session)
{
    s->cport = (uint16_t)(PORT_CLIENT + (session % 20000u));
    s->seq[0] = ISN_CLIENT + ((uint32_t)session << 20);
    s->seq[1] = ISN_SERVER + ((uint32_t)session << 20);
    if (add_pkt(s, 0, TD_TCP_SYN, NULL, 0) != 0 ||
        add_pkt(s, 1, TD_TCP_SYN | TD_TCP_ACK, NULL, 0) != 0 ||
        add_pkt(s, 0, TD_TCP_ACK, NULL, 0) != 0)
        return -1;
    return 0;
}

int td_dec_synth(struct td_dec_pkts *out, const struct td_dec_result *r)
{
    struct synth s;
    bool open = false;
    uint16_t session = 0;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    s.out = out;
    s.ipid[0] = 0x1000;
    s.ipid[1] = 0x2000;
    for (uint32_t i = 0; i < r->num_records; i++) {
        const struct td_dec_record *rec = &r->records[i];
        if (rec->dir == TD_DEC_DIR_UNKNOWN)
            continue;
        if (rec->off > r->bytes_len || rec->len > r->bytes_len - rec->off)
            goto fail; /* our own invariant; cannot happen */
        if (!open || rec->session != session) {
            session = rec->session;
            open = true;
            if (open_conn(&s, session) != 0)
                goto fail;
        }
        if (add_pkt(&s, rec->dir == TD_DEC_DIR_SERVER, TD_TCP_PSH | TD_TCP_ACK,
                    r->bytes + rec->off, rec->len) != 0)
            goto fail;
    }
    return 0;
fail:
    td_dec_pkts_cleanup(out);
    return -1;
}
