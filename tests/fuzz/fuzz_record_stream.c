/* fuzz_record_stream: two directions of TLS bytes through td_tls_stream
 * (lib/tls/stream.c), the way TCP reassembly hands them over: the input is
 * cut into segments with a direction bit and a gap flag (fuzz_common.h),
 * each segment copied into an exact-size heap buffer.  Whole handshake
 * messages are parsed with the message parsers, as the engine does.
 *
 * First byte, options: bit 0/1 direction 0/1 starts mid-stream, bit 2 a
 * small handshake cap (512 bytes, to hit LIMIT_HS_MSG), bit 3 switch both
 * directions to encrypted after a TLS 1.3 ServerHello (as the engine does),
 * bit 4 at most 4 records per handshake message (LIMIT_RECORDS).
 *
 * Invariants: every event's stream offset <= bytes fed + gap bytes; message
 * bodies <= the cap; parser anomalies inside the message; record and
 * preview lengths bounded; the stream's own offset equals fed + gap. */
#include "fuzz_common.h"
#include "tls/stream.h"
#include "tlsdiag/tls.h"

struct side {
    struct td_tls_stream s;
    uint64_t fed;   /* bytes fed + gap bytes */
};

struct ctx {
    struct side d[2];
    int cur;
    uint32_t hs_max;
    bool follow_13;
    uint64_t events;
};

static void on_hs(void *vc, uint8_t type, struct td_cur *body, uint16_t rec_version)
{
    struct ctx *c = vc;
    size_t end = body->off + body->len;

    (void)rec_version;
    c->events++;
    FUZZ_CHECK(body->len <= c->hs_max);
    switch (type) {
    case TD_HS_CLIENT_HELLO: {
        static struct td_client_hello ch;
        (void)td_parse_client_hello(&ch, body);
        fuzz_check_diag(&ch.diag, end);
        FUZZ_CHECK(ch.msg_len <= c->hs_max);
        break;
    }
    case TD_HS_SERVER_HELLO: {
        struct td_server_hello sh;
        (void)td_parse_server_hello(&sh, body);
        fuzz_check_diag(&sh.diag, end);
        if (c->follow_13 && sh.selected_version == 0x0304 && !sh.is_hrr) {
            td_tls_stream_set_encrypted(&c->d[0].s, true);
            td_tls_stream_set_encrypted(&c->d[1].s, true);
        }
        break;
    }
    case TD_HS_CERTIFICATE: {
        static struct td_certificate ce;
        (void)td_parse_certificate(&ce, body, false);
        fuzz_check_diag(&ce.diag, end);
        td_certificate_cleanup(&ce);
        break;
    }
    case TD_HS_CERTIFICATE_REQUEST: {
        static struct td_certificate_request cr;
        (void)td_parse_certificate_request(&cr, body, false);
        fuzz_check_diag(&cr.diag, end);
        td_certificate_request_cleanup(&cr);
        break;
    }
    case TD_HS_SERVER_KEY_EXCHANGE: {
        struct td_server_key_exchange ske;
        (void)td_parse_server_key_exchange(&ske, body, TD_KEX_ECDHE);
        fuzz_check_diag(&ske.diag, end);
        break;
    }
    case TD_HS_NEW_SESSION_TICKET: {
        struct td_new_session_ticket nst;
        (void)td_parse_new_session_ticket(&nst, body, false);
        fuzz_check_diag(&nst.diag, end);
        break;
    }
    default:
        break;
    }
}

static void on_ssl2(void *vc, struct td_cur *body)
{
    struct ctx *c = vc;
    static struct td_client_hello ch;
    size_t end = body->off + body->len;

    c->events++;
    FUZZ_CHECK(c->cur == 0);
    FUZZ_CHECK(body->len <= 0x7fff);
    (void)td_parse_sslv2_client_hello(&ch, body);
    fuzz_check_diag(&ch.diag, end);
}

static void on_alert(void *vc, uint8_t level, uint8_t desc, uint16_t rec_version)
{
    struct ctx *c = vc;
    (void)level;
    (void)desc;
    (void)rec_version;
    c->events++;
}

static void on_enc(void *vc, uint8_t ct, uint32_t len, uint16_t rec_version)
{
    struct ctx *c = vc;
    (void)ct;
    (void)rec_version;
    c->events++;
    FUZZ_CHECK(len <= 0xffff);
}

static void on_ccs(void *vc, uint16_t rec_version)
{
    struct ctx *c = vc;
    (void)rec_version;
    c->events++;
}

static void on_not_tls(void *vc, const uint8_t *p, size_t n)
{
    struct ctx *c = vc;
    c->events++;
    FUZZ_CHECK(n <= c->d[c->cur].fed);
    if (n != 0)
        FUZZ_CHECK(p != NULL);
}

static void on_anomaly(void *vc, enum td_anomaly code, uint64_t off)
{
    struct ctx *c = vc;
    FUZZ_CHECK(td_anomaly_name(code) != NULL);
    FUZZ_CHECK(off <= c->d[c->cur].fed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctx c;
    struct td_tls_sink k;
    struct fuzz_seg seg;
    uint8_t opt;

    if (size == 0)
        return 0;
    opt = data[0];
    data++;
    size--;
    memset(&c, 0, sizeof(c));
    c.hs_max = (opt & 4) ? 512u : 256u * 1024u;
    c.follow_13 = (opt & 8) != 0;
    td_tls_stream_init(&c.d[0].s, c.hs_max, true);
    td_tls_stream_init(&c.d[1].s, c.hs_max, false);
    if (opt & 16) {
        c.d[0].s.max_records = 4;
        c.d[1].s.max_records = 4;
    }
    if (opt & 1)
        td_tls_stream_midstream(&c.d[0].s);
    if (opt & 2)
        td_tls_stream_midstream(&c.d[1].s);
    memset(&k, 0, sizeof(k));
    k.ctx = &c;
    k.handshake = on_hs;
    k.sslv2_hello = on_ssl2;
    k.alert = on_alert;
    k.encrypted = on_enc;
    k.ccs = on_ccs;
    k.not_tls = on_not_tls;
    k.anomaly = on_anomaly;

    while (fuzz_next_seg(&data, &size, &seg)) {
        struct side *sd = &c.d[seg.dir];
        c.cur = seg.dir;
        if (seg.gap) {
            /* the segment's length is the number of missing bytes */
            sd->fed += seg.len;
            td_tls_stream_gap(&sd->s, seg.len, &k);
        } else {
            uint8_t *b = fuzz_dup(seg.p, seg.len);
            sd->fed += seg.len;
            td_tls_stream_feed(&sd->s, b, seg.len, &k);
            free(b);
        }
        FUZZ_CHECK(sd->s.off <= sd->fed);
        if (sd->s.state != TD_TS_DEAD)
            FUZZ_CHECK(sd->s.off == sd->fed);
        if (sd->s.state != TD_TS_RESYNC) /* the resync window borrows the buffer */
            FUZZ_CHECK(sd->s.hs_len <= c.hs_max + 4u);
        FUZZ_CHECK(sd->s.hs_len <= sd->s.hs_cap);
    }
    td_tls_stream_cleanup(&c.d[0].s);
    td_tls_stream_cleanup(&c.d[1].s);
    return 0;
}
