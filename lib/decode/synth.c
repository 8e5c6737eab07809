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

#include "decode_int.h"

#define IP_HDR 20u
#define TCP_HDR 20u
#define ISN_CLIENT 0x10000000u
#define ISN_SERVER 0x20000000u
#define TS_STEP_NS 1000000u /* 1 ms */

static const uint8_t addr_client[4] = {192, 0, 2, 1};
static const uint8_t addr_server[4] = {198, 51, 100, 1};
#define PORT_CLIENT 40000u
#define PORT_SERVER 443u

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        acc += ((uint32_t)p[i] << 8) | p[i + 1];
    if (i < n)
        acc += (uint32_t)p[i] << 8;
    return acc;
}

static uint16_t fold_sum(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

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
    uint32_t total = IP_HDR + TCP_HDR + plen;
    uint8_t *b, pseudo[12];
    struct td_pkt *pk;
    uint32_t acc, ack;
    uint16_t ck;
    const uint8_t *src = from_server ? addr_server : addr_client;
    const uint8_t *dst = from_server ? addr_client : addr_server;
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
    /* IPv4 */
    b[0] = 0x45;
    put16(b + 2, total);
    put16(b + 4, s->ipid[me]++);
    put16(b + 6, 0x4000); /* DF */
    b[8] = 64;
    b[9] = 6;
    memcpy(b + 12, src, 4);
    memcpy(b + 16, dst, 4);
    put16(b + 10, fold_sum(sum16(0, b, IP_HDR)));
    /* TCP */
    put16(b + 20, from_server ? PORT_SERVER : s->cport);
    put16(b + 22, from_server ? s->cport : PORT_SERVER);
    put32(b + 24, s->seq[me]);
    ack = (flags & TD_TCP_ACK) ? s->seq[1 - me] : 0;
    put32(b + 28, ack);
    b[32] = (uint8_t)((TCP_HDR / 4u) << 4);
    b[33] = flags;
    put16(b + 34, 65535);
    td_memcpy(b + IP_HDR + TCP_HDR, payload, plen);
    memcpy(pseudo, src, 4);
    memcpy(pseudo + 4, dst, 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, TCP_HDR + plen);
    acc = sum16(0, pseudo, sizeof(pseudo));
    acc = sum16(acc, b + IP_HDR, TCP_HDR + plen);
    ck = fold_sum(acc);
    put16(b + 36, ck);

    s->seq[me] += plen + ((flags & (TD_TCP_SYN | TD_TCP_FIN)) ? 1u : 0u);

    pk = &o->pkts[o->n];
    memset(pk, 0, sizeof(*pk));
    pk->frame = (uint64_t)o->n + 1u;
    pk->ts_sec = (int64_t)((uint64_t)o->n * TS_STEP_NS / 1000000000u);
    pk->ts_nsec = (uint32_t)((uint64_t)o->n * TS_STEP_NS % 1000000000u);
    pk->linktype = TD_LINK_RAW;
    pk->caplen = total;
    pk->origlen = total;
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
