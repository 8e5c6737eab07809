/* test_rules.c: lib/rules/rules.c judged on connections built packet by
 * packet (synthetic IPv4/TCP through td_engine, as `tlsdiag read` sees
 * them).
 *
 * RST timing as middlebox evidence (RST_TIMING_MIN_RTT_NS): a RST that comes
 * back sooner after the ClientHello than half the SYN/SYN-ACK round trip
 * cannot be the server's, unless the round trip is too short to measure:
 * below 1 ms scheduling jitter alone brings the server's own RST back that
 * fast (the lab's fail_server_host_reset).  With the floor at 0 the first
 * case below is judged middlebox_reset and the test fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/synth.h"
#include "tlsdiag/capture.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/rules.h"

struct keep {
    struct td_conn *c;
};

static void on_done(void *ctx, struct td_conn *c)
{
    struct keep *k = ctx;
    if (k->c == NULL)
        k->c = c;
    else
        td_conn_free(c);
}

struct tcp_run {
    struct td_engine *e;
    uint32_t seq[2]; /* [0] client, [1] server */
    uint16_t ipid[2];
    uint64_t frame;
    uint8_t ttl[2];
};

static void pkt(struct tcp_run *r, int srv, uint8_t flags, const uint8_t *pl, uint32_t n, int64_t t_ns)
{
    uint8_t buf[TD_SYNTH_HDR_LEN + 512];
    struct td_synth_tcp4 h;
    struct td_pkt p;
    size_t total;
    int64_t ts = 1700000000LL * 1000000000LL + t_ns;

    memset(&h, 0, sizeof(h));
    h.src = srv ? td_synth_server_addr : td_synth_client_addr;
    h.dst = srv ? td_synth_client_addr : td_synth_server_addr;
    h.sport = srv ? 443 : 40000;
    h.dport = srv ? 40000 : 443;
    h.seq = r->seq[srv];
    h.ack = (flags & TD_TCP_ACK) ? r->seq[1 - srv] : 0;
    h.ipid = r->ipid[srv]++;
    h.ttl = r->ttl[srv];
    h.flags = flags;
    total = td_synth_tcp4(buf, sizeof(buf), &h, pl, n);
    assert_true(total == TD_SYNTH_HDR_LEN + n);
    r->seq[srv] += n + ((flags & (TD_TCP_SYN | TD_TCP_FIN)) ? 1u : 0u);
    memset(&p, 0, sizeof(p));
    p.frame = ++r->frame;
    p.ts_sec = ts / 1000000000LL;
    p.ts_nsec = (uint32_t)(ts % 1000000000LL);
    p.linktype = TD_LINK_RAW;
    p.caplen = p.origlen = (uint32_t)total;
    p.data = buf;
    td_engine_packet(r->e, &p);
}

/* A TLS 1.2 ClientHello record: version, zero random, no session id, one
 * suite, null compression, server_name "blocked.lab.test" (with no SNI
 * the rules would suspect sni_required). */
static const uint8_t client_hello[] = {
    0x16, 0x03, 0x01, 0x00, 0x48,                   /* record, 72 bytes */
    0x01, 0x00, 0x00, 0x44,                         /* ClientHello, 68 bytes */
    0x03, 0x03,                                     /* legacy_version */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* random */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x00,                                           /* session id */
    0x00, 0x02, 0xc0, 0x2f,                         /* cipher_suites */
    0x01, 0x00,                                     /* compression */
    0x00, 0x19,                                     /* extensions, 25 bytes */
    0x00, 0x00, 0x00, 0x15,                         /* server_name, 21 bytes */
    0x00, 0x13, 0x00, 0x00, 0x10,                   /* list, host_name, 16 */
    'b', 'l', 'o', 'c', 'k', 'e', 'd', '.', 'l', 'a', 'b', '.', 't', 'e', 's', 't',
};

/* reset_after_hello: SYN at 0, SYN-ACK at |rtt_ns|, the client's ACK and
 * ClientHello, then the server's RST |rst_after_ns| after the hello, every
 * server packet with TTL 64 (the RST from the server's own host).  Returns
 * the primary diagnosis code. */
static const char *reset_after_hello(int64_t rtt_ns, int64_t rst_after_ns)
{
    static struct td_verdict v;
    struct td_limits lim;
    struct td_rules_opts ro;
    struct keep k = {NULL};
    struct tcp_run r;
    const struct td_diagnosis *d;
    int64_t t = 0;

    memset(&r, 0, sizeof(r));
    r.seq[0] = 0x10000000u;
    r.seq[1] = 0x20000000u;
    r.ttl[0] = r.ttl[1] = 64;
    td_limits_default(&lim);
    r.e = td_engine_new(&lim, on_done, &k);
    assert_non_null(r.e);
    pkt(&r, 0, TD_TCP_SYN, NULL, 0, t);
    t += rtt_ns;
    pkt(&r, 1, TD_TCP_SYN | TD_TCP_ACK, NULL, 0, t);
    t += 10000;
    pkt(&r, 0, TD_TCP_ACK, NULL, 0, t);
    t += 10000;
    pkt(&r, 0, TD_TCP_ACK | TD_TCP_PSH, client_hello, (uint32_t)sizeof(client_hello), t);
    t += rst_after_ns;
    pkt(&r, 1, TD_TCP_RST | TD_TCP_ACK, NULL, 0, t);
    td_engine_flush(r.e);
    td_engine_free(r.e);
    assert_non_null(k.c);

    memset(&ro, 0, sizeof(ro));
    td_rules_run(&v, k.c, &ro);
    td_conn_free(k.c);
    assert_int_equal(v.outcome, TD_OUT_FAILED);
    d = td_verdict_primary(&v);
    assert_non_null(d);
    return d->code;
}

/* 0.2 ms round trip, the RST 0.01 ms after the hello: sooner than half the
 * round trip, but the round trip is under the 1 ms floor and the TTL is the
 * server's: the server's host reset it. */
static void test_rst_sub_ms_rtt_is_server(void **state)
{
    (void)state;
    assert_string_equal(reset_after_hello(200000, 10000), "reset_by_server");
}

/* The same early RST on a measurable 20 ms round trip: no packet of the
 * server's could be back 0.1 ms after the hello, so it is a device on the
 * path (the floor must not switch the timing rule off). */
static void test_rst_early_on_long_rtt_is_middlebox(void **state)
{
    (void)state;
    assert_string_equal(reset_after_hello(20000000, 100000), "middlebox_reset");
}

/* A RST a full round trip after the hello is the server's, whatever the
 * round trip. */
static void test_rst_after_rtt_is_server(void **state)
{
    (void)state;
    assert_string_equal(reset_after_hello(20000000, 25000000), "reset_by_server");
    assert_string_equal(reset_after_hello(200000, 300000), "reset_by_server");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rst_sub_ms_rtt_is_server),
        cmocka_unit_test(test_rst_early_on_long_rtt_is_middlebox),
        cmocka_unit_test(test_rst_after_rtt_is_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
