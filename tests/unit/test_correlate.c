/* test_correlate.c: lib/rules/correlate.c, the cross-connection store.
 *
 * The store used to keep the first 262,144 connections and nothing after:
 * on a long capture a server or client first seen late was never
 * correlated.  Now it keeps, per server, the records an SNI control lookup
 * can return and, for version fallbacks, the records of the last minutes.
 *   - late_sni_required / late_fallback: 300,000 connections first, then an
 *     sni_required and a version fallback that must still be found (both
 *     fail with the old store);
 *   - day_long: a connection a second for a day: the store stays small and
 *     a fallback at the end is still found;
 *   - busy_pair: one client fails 10,000 times against one server (a
 *     retry storm); a lookup walks at most the newest 256 records of the
 *     pair, the rest are counted, and the fallback among the newest is
 *     still found both ways;
 *   - long_idle: with --idle 3600 a fallback is still found when the retry
 *     is revised 2,000 s after its ClientHello (with the default 300 s the
 *     records are gone by then);
 *   - other_file: a control or an earlier attempt in another capture file
 *     read in the same run (ids and frames restart in each file) is named
 *     with its file, never given as an evidence frame of this file (the
 *     old store gave the other file's frame 4 and a time before this
 *     file's start as this connection's evidence);
 *   - controls_exact: random records for one server (few names, ports and
 *     connection ids, repeated ids as when files are read twice) against a
 *     plain list: the control each lookup finds is the one a store of every
 *     record finds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/rules.h"
#include "tlsdiag/tls.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

static void addr4(uint8_t a[16], uint32_t v)
{
    memset(a, 0, 16);
    a[0] = (uint8_t)(v >> 24);
    a[1] = (uint8_t)(v >> 16);
    a[2] = (uint8_t)(v >> 8);
    a[3] = (uint8_t)v;
}

static struct td_corr_rec rec(uint64_t id, int64_t ts, uint32_t cli, uint32_t srv, uint16_t port, const char *sni,
                              bool got_sh, uint16_t maxv, const char *failed_code)
{
    struct td_corr_rec e;
    memset(&e, 0, sizeof(e));
    e.id = id;
    e.frame = id * 10;
    e.ts_ns = ts;
    e.ipver = 4;
    addr4(e.cli, cli);
    addr4(e.srv, srv);
    e.port = port;
    e.max_offered = maxv;
    e.has_sni = sni != NULL;
    if (sni != NULL)
        snprintf(e.sni, sizeof(e.sni), "%s", sni);
    e.got_sh = got_sh;
    e.failed = failed_code != NULL;
    e.code = failed_code;
    return e;
}

/* a connection as the revision sees it: the same facts as |e| */
struct conn_buf {
    struct td_conn c;
    struct td_client_hello ch;
};

static void conn_of(struct conn_buf *b, const struct td_corr_rec *e)
{
    memset(b, 0, sizeof(*b));
    b->c.id = e->id;
    b->c.ipver = e->ipver;
    b->c.client = 0;
    memcpy(b->c.addr[0], e->cli, 16);
    memcpy(b->c.addr[1], e->srv, 16);
    b->c.port[0] = 40000;
    b->c.port[1] = e->port;
    b->c.ch.m = &b->ch;
    b->c.ch.frame = e->frame;
    b->c.ch.ts_ns = e->ts_ns;
    b->c.capture_start_ns = e->capture_start_ns;
    b->ch.legacy_version = e->max_offered;
    b->ch.has_sni = e->has_sni;
    snprintf(b->ch.sni, sizeof(b->ch.sni), "%s", e->sni);
}

static void failed_verdict(struct td_verdict *v, const char *code)
{
    memset(v, 0, sizeof(*v));
    v->outcome = TD_OUT_FAILED;
    v->num = 1;
    v->d[0].code = code;
}

/* the connection id named by evidence starting with |prefix|, or 0 */
static unsigned long long ev_conn(const struct td_verdict *v, const char *prefix)
{
    for (unsigned i = 0; i < v->d[0].num_ev; i++) {
        unsigned long long id;
        size_t n = strlen(prefix);
        if (strncmp(v->d[0].ev[i].what, prefix, n) == 0 && sscanf(v->d[0].ev[i].what + n, " connection #%llu", &id) == 1)
            return id;
    }
    return 0;
}

#define FILL 300000u

/* FILL answered connections, each its own client and server */
static void fill(struct td_corr *k)
{
    for (uint32_t i = 1; i <= FILL; i++) {
        struct td_corr_rec e = rec(i, T0 + (int64_t)i * 1000000, 0x0a000000u + i, 0xc0000000u + i, 443, "filler.example", true, 0x0304, NULL);
        td_corr_add_rec(k, &e);
    }
}

static void late_sni_required(void **state)
{
    struct td_corr *k = td_corr_new();
    struct td_corr_rec ok, bad;
    struct conn_buf b;
    struct td_verdict v;
    struct td_corr_stats st;
    (void)state;

    assert_non_null(k);
    fill(k);
    ok = rec(FILL + 1, T0 + 301 * SEC, 0x0b000001u, 0xcb007101u, 443, "www.late.example", true, 0x0304, NULL);
    bad = rec(FILL + 2, T0 + 302 * SEC, 0x0b000002u, 0xcb007101u, 443, NULL, false, 0x0304, "closed_by_server");
    td_corr_add_rec(k, &ok);
    td_corr_add_rec(k, &bad);
    conn_of(&b, &bad);
    failed_verdict(&v, "closed_by_server");
    td_corr_revise(k, &b.c, &v);
    assert_string_equal(v.d[0].code, "sni_required");
    assert_int_equal(ev_conn(&v, "control:"), FILL + 1);
    /* the first servers and records were evicted to make room, and counted */
    td_corr_stats(k, &st);
    assert_int_equal(st.ctl_keys, 131072);
    assert_int_equal(st.ctl_evicted, 2 * (FILL + 1) - 131072);
    assert_int_equal(st.records, 262144);
    assert_int_equal(st.evicted, FILL + 2 - 262144);
    td_corr_free(k);
}

static void late_fallback(void **state)
{
    struct td_corr *k = td_corr_new();
    struct td_corr_rec first, retry;
    struct conn_buf b;
    struct td_verdict v;
    (void)state;

    assert_non_null(k);
    fill(k);
    first = rec(FILL + 1, T0 + 301 * SEC, 0x0b000001u, 0xcb007102u, 443, "fb.example", false, 0x0304, "handshake_failure");
    retry = rec(FILL + 2, T0 + 302 * SEC, 0x0b000001u, 0xcb007102u, 443, "fb.example", false, 0x0303, "inappropriate_fallback");
    td_corr_add_rec(k, &first);
    td_corr_add_rec(k, &retry);
    conn_of(&b, &retry);
    failed_verdict(&v, "inappropriate_fallback");
    td_corr_revise(k, &b.c, &v);
    assert_int_equal(ev_conn(&v, "earlier attempt:"), FILL + 1);
    assert_non_null(strstr(v.d[0].explanation, "version fallback"));
    conn_of(&b, &first);
    failed_verdict(&v, "handshake_failure");
    td_corr_revise(k, &b.c, &v);
    assert_int_equal(ev_conn(&v, "fallback retry:"), FILL + 2);
    td_corr_free(k);
}

static void busy_pair(void **state)
{
    struct td_corr *k = td_corr_new();
    struct td_corr_rec first, retry;
    struct conn_buf b;
    struct td_verdict v;
    struct td_corr_stats st;
    const uint32_t n = 10000;
    (void)state;

    assert_non_null(k);
    /* 10,000 failures in 10 s from one client to one server, all offering
     * TLS 1.3; then one that fails too, and its retry offering TLS 1.2 */
    for (uint32_t i = 1; i <= n; i++) {
        struct td_corr_rec e = rec(i, T0 + (int64_t)i * (SEC / 1000), 0x0b000009u, 0xcb007109u, 443, NULL, false, 0x0304,
                                   "closed_without_alert");
        td_corr_add_rec(k, &e);
    }
    first = rec(n + 1, T0 + 11 * SEC, 0x0b000009u, 0xcb007109u, 443, NULL, false, 0x0304, "handshake_failure");
    retry = rec(n + 2, T0 + 12 * SEC, 0x0b000009u, 0xcb007109u, 443, NULL, false, 0x0303, "inappropriate_fallback");
    td_corr_add_rec(k, &first);
    td_corr_add_rec(k, &retry);
    td_corr_stats(k, &st);
    assert_int_equal(st.records, n + 2);
    assert_int_equal(st.pair_dropped, n + 2 - 256);
    conn_of(&b, &retry);
    failed_verdict(&v, "inappropriate_fallback");
    td_corr_revise(k, &b.c, &v);
    assert_int_equal(ev_conn(&v, "earlier attempt:"), n + 1); /* the latest earlier failure */
    conn_of(&b, &first);
    failed_verdict(&v, "handshake_failure");
    td_corr_revise(k, &b.c, &v);
    assert_int_equal(ev_conn(&v, "fallback retry:"), n + 2);
    td_corr_free(k);
}

static bool fallback_found_after(uint32_t idle_s, bool set)
{
    struct td_corr *k = td_corr_new();
    struct td_corr_rec first, retry;
    struct conn_buf b;
    struct td_verdict v;
    bool found;

    assert_non_null(k);
    if (set)
        td_corr_set_idle(k, idle_s);
    first = rec(1, T0, 0x0b000007u, 0xcb007107u, 443, NULL, false, 0x0304, "handshake_failure");
    retry = rec(2, T0 + 1 * SEC, 0x0b000007u, 0xcb007107u, 443, NULL, false, 0x0303, "inappropriate_fallback");
    td_corr_add_rec(k, &first);
    td_corr_add_rec(k, &retry);
    /* other clients for 2,000 s while the retry's connection stays open */
    for (uint32_t i = 0; i < 2000; i++) {
        struct td_corr_rec e = rec(10 + i, T0 + (int64_t)(2 + i) * SEC, 0x0a000000u + i, 0xc0000001u, 443, "x.example", true, 0x0304, NULL);
        td_corr_add_rec(k, &e);
    }
    conn_of(&b, &retry);
    failed_verdict(&v, "inappropriate_fallback");
    td_corr_revise(k, &b.c, &v);
    found = ev_conn(&v, "earlier attempt:") == 1;
    td_corr_free(k);
    return found;
}

static void long_idle(void **state)
{
    (void)state;
    assert_true(fallback_found_after(3600, true));
    assert_false(fallback_found_after(0, false)); /* 300 s + slack: expired */
}

static void day_long(void **state)
{
    struct td_corr *k = td_corr_new();
    struct td_corr_rec first, retry;
    struct conn_buf b;
    struct td_verdict v;
    struct td_corr_stats st;
    const uint32_t n = 86400;
    (void)state;

    assert_non_null(k);
    for (uint32_t i = 1; i <= n; i++) {
        struct td_corr_rec e = rec(i, T0 + (int64_t)i * SEC, 0x0a000000u + (i % 5000), 0xc0000000u + (i % 300), 443, "day.example", true, 0x0304, NULL);
        td_corr_add_rec(k, &e);
    }
    td_corr_stats(k, &st);
    /* window 30 s + margin 900 s, a record a second */
    assert_true(st.records <= 931);
    assert_true(st.expired >= n - 931);
    assert_int_equal(st.evicted, 0);
    first = rec(n + 1, T0 + (int64_t)(n + 1) * SEC, 0x0b000001u, 0xcb007103u, 443, "fb.example", false, 0x0304, "protocol_version");
    retry = rec(n + 2, T0 + (int64_t)(n + 3) * SEC, 0x0b000001u, 0xcb007103u, 443, "fb.example", true, 0x0302, NULL);
    td_corr_add_rec(k, &first);
    td_corr_add_rec(k, &retry);
    conn_of(&b, &first);
    failed_verdict(&v, "protocol_version");
    td_corr_revise(k, &b.c, &v);
    assert_int_equal(ev_conn(&v, "fallback retry:"), n + 2);
    /* a retry 31 s later is no fallback */
    retry = rec(n + 3, T0 + (int64_t)(n + 1 + 31) * SEC, 0x0b000002u, 0xcb007103u, 443, "fb.example", true, 0x0302, NULL);
    first.id = n + 4;
    first.frame = (n + 4) * 10;
    addr4(first.cli, 0x0b000002u);
    td_corr_add_rec(k, &first);
    td_corr_add_rec(k, &retry);
    conn_of(&b, &first);
    failed_verdict(&v, "protocol_version");
    td_corr_revise(k, &b.c, &v);
    assert_int_equal(ev_conn(&v, "fallback retry:"), 0);
    td_corr_free(k);
}

/* a plain list of every record, searched the way the old store did */
static const struct td_corr_rec *ref_control(const struct td_corr_rec *all, size_t n, const struct td_corr_rec *c, int want)
{
    for (size_t i = 0; i < n; i++) {
        const struct td_corr_rec *e = &all[i];
        if ((e->id == c->id && e->frame == c->frame && e->ts_ns == c->ts_ns) || !e->got_sh || !e->has_sni ||
            memcmp(e->srv, c->srv, 16) != 0)
            continue;
        if (want == 0 && e->port != c->port)
            continue;
        if (want == 1 && strncmp(e->sni, c->sni, sizeof(e->sni) - 1) == 0)
            continue;
        return e;
    }
    return NULL;
}

static void controls_exact(void **state)
{
    static const char *names[] = {"a.example", "b.example", "c.example"};
    struct td_corr_rec all[40];
    struct conn_buf b;
    struct td_verdict v;
    uint32_t seed = 12345;
    unsigned checked = 0, found = 0;
    (void)state;

    for (int round = 0; round < 3000; round++) {
        struct td_corr *k = td_corr_new();
        size_t n = 1 + (size_t)(round % 40);
        assert_non_null(k);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            /* ids repeat (the same file read twice): the same id, frame and time */
            uint64_t id = 1 + (seed >> 8) % 6;
            int nosni = (seed >> 12) % 5 == 0;
            all[i] = rec(id, T0 + (int64_t)id, 0x0a000001u, 0xcb007104u, (uint16_t)(443 + (seed >> 16) % 2),
                         nosni ? NULL : names[(seed >> 20) % 3], (seed >> 24) % 4 != 0, 0x0304, NULL);
            td_corr_add_rec(k, &all[i]);
            /* after each add, every kind of lookup, as each known connection */
            for (size_t j = 0; j <= i; j++) {
                for (int want = 0; want < 2; want++) {
                    struct td_corr_rec q = all[j];
                    const struct td_corr_rec *r;
                    if (want == 0) {
                        q.has_sni = false;
                        q.sni[0] = 0;
                    } else if (!q.has_sni) {
                        continue;
                    }
                    q.got_sh = false;
                    r = ref_control(all, i + 1, &q, want);
                    conn_of(&b, &q);
                    failed_verdict(&v, want == 0 ? "closed_by_server" : "reset_by_server");
                    td_corr_revise(k, &b.c, &v);
                    assert_int_equal(ev_conn(&v, "control:"), r != NULL ? r->id : 0);
                    checked++;
                    found += r != NULL;
                }
            }
        }
        td_corr_free(k);
    }
    assert_true(checked > 100000);
    assert_true(found > checked / 2);
}

/* does any evidence item of the primary carry |frame| at |ts|? */
static bool has_ev(const struct td_verdict *v, uint64_t frame, int64_t ts)
{
    for (unsigned i = 0; i < v->d[0].num_ev; i++)
        if (v->d[0].ev[i].frame == frame && v->d[0].ev[i].ts_ns == ts)
            return true;
    return false;
}

static void other_file(void **state)
{
    /* two files, the second captured right after the first: a control and
     * a failed attempt in the first, failures in the second; connections
     * #1 of both have their ClientHello in frame 4, 1 ms into the file */
    const int64_t start_a = T0, start_b = T0 + 5 * SEC / 2;
    struct td_corr_rec ok, bad, nosni, first, retry;
    struct conn_buf b;
    struct td_verdict v;
    (void)state;

    for (int named = 0; named < 2; named++) {
        struct td_corr *k = td_corr_new();
        assert_non_null(k);
        ok = rec(1, start_a + SEC / 1000, 0x0b000001u, 0xcb007105u, 443, "good.example", true, 0x0304, NULL);
        ok.frame = 4;
        ok.capture_start_ns = start_a;
        first = rec(2, start_a + 2 * SEC, 0x0b000002u, 0xcb007105u, 443, "fb.example", false, 0x0304, "middlebox_reset");
        first.capture_start_ns = start_a;
        if (named)
            td_corr_set_source(k, "captures/ok_control.pcap");
        td_corr_add_rec(k, &ok);
        td_corr_add_rec(k, &first);
        if (named)
            td_corr_set_source(k, "/elsewhere/fail_drop.pcap");
        bad = rec(1, start_b + SEC / 1000, 0x0b000001u, 0xcb007105u, 443, "blocked.example", false, 0x0304, "server_silent");
        bad.frame = 4;
        bad.capture_start_ns = start_b;
        nosni = rec(2, start_b + 2 * SEC, 0x0b000001u, 0xcb007105u, 443, NULL, false, 0x0304, "closed_by_server");
        nosni.capture_start_ns = start_b;
        retry = rec(3, start_b + SEC, 0x0b000002u, 0xcb007105u, 443, "fb.example", false, 0x0303, "protocol_version");
        retry.capture_start_ns = start_b;
        td_corr_add_rec(k, &bad);
        td_corr_add_rec(k, &nosni);
        td_corr_add_rec(k, &retry);

        const char *of = named ? "Connection #1 of ok_control.pcap" : "Connection #1 of another capture";
        conn_of(&b, &bad);
        failed_verdict(&v, "server_silent");
        td_corr_revise(k, &b.c, &v);
        assert_string_equal(v.d[0].code, "middlebox_drop");
        assert_false(has_ev(&v, ok.frame, ok.ts_ns));
        assert_int_equal(ev_conn(&v, "control:"), 0);
        assert_non_null(strstr(v.d[0].explanation, of));

        conn_of(&b, &nosni);
        failed_verdict(&v, "closed_by_server");
        td_corr_revise(k, &b.c, &v);
        assert_string_equal(v.d[0].code, "sni_required");
        assert_int_equal(v.d[0].num_ev, 0);
        assert_non_null(strstr(v.d[0].summary, of + 1)); /* "onnection #1 of ..." */
        assert_non_null(strstr(v.d[0].explanation, of));

        conn_of(&b, &retry);
        failed_verdict(&v, "protocol_version");
        td_corr_revise(k, &b.c, &v);
        assert_int_equal(v.d[0].num_ev, 0);
        assert_non_null(strstr(v.d[0].explanation, named ? "earlier connection #2 of ok_control.pcap" : "earlier connection #2 of another capture"));
        td_corr_free(k);
    }

    /* the same file's connections stay evidence, with their frames */
    {
        struct td_corr *k = td_corr_new();
        assert_non_null(k);
        td_corr_set_source(k, "a.pcap");
        ok.capture_start_ns = start_b;
        td_corr_add_rec(k, &ok);
        td_corr_add_rec(k, &bad);
        conn_of(&b, &bad);
        failed_verdict(&v, "server_silent");
        td_corr_revise(k, &b.c, &v);
        assert_string_equal(v.d[0].code, "middlebox_drop");
        assert_true(has_ev(&v, ok.frame, ok.ts_ns));
        assert_non_null(strstr(v.d[0].explanation, "Connection #1 to the same server"));
        /* the same path read again: named as the earlier reading */
        td_corr_set_source(k, "a.pcap");
        bad.id = 5;
        bad.frame = 50;
        td_corr_add_rec(k, &bad);
        conn_of(&b, &bad);
        failed_verdict(&v, "server_silent");
        td_corr_revise(k, &b.c, &v);
        assert_false(has_ev(&v, ok.frame, ok.ts_ns));
        assert_non_null(strstr(v.d[0].explanation, "Connection #1 of the earlier reading of a.pcap"));
        td_corr_free(k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_sni_required),
        cmocka_unit_test(late_fallback),
        cmocka_unit_test(day_long),
        cmocka_unit_test(busy_pair),
        cmocka_unit_test(long_idle),
        cmocka_unit_test(controls_exact),
        cmocka_unit_test(other_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
