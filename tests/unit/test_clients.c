/* test_clients.c: the client simulation database (data/clients), its
 * parser, the SNI rewrite and the explanation of failed replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlsdiag/probe_clients.h"
#include "tlsdiag/probe_sim.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/wbuf.h"

/* a growing text sink for td_sim_text */
struct sink {
    char *b;
    size_t n, cap;
};

static void sink_flush(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    if (s->n + n + 1 > s->cap) {
        s->cap = (s->n + n + 1) * 2;
        s->b = realloc(s->b, s->cap);
        assert_non_null(s->b);
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
    s->b[s->n] = '\0';
}

static char *sim_text(const struct td_sim_report *rep, struct sink *out)
{
    struct td_wbuf w;
    out->n = 0;
    td_wb_init(&w, sink_flush, out);
    td_sim_text(&w, rep, "", "", 100);
    td_wb_flush(&w);
    return out->b != NULL ? out->b : (char *)"";
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static uint16_t non_grease_ciphers(const struct td_client_hello *ch)
{
    uint16_t n = 0;
    for (uint16_t i = 0; i < ch->num_ciphers; i++) {
        if (!td_is_grease(ch->ciphers[i]))
            n++;
    }
    return n;
}

/* the versions the hello itself shows: supported_versions, or legacy_version */
static void hello_versions(const struct td_client_hello *ch, uint16_t *lo, uint16_t *hi)
{
    *lo = 0xffff;
    *hi = 0;
    if (ch->has_supported_versions) {
        for (uint16_t i = 0; i < ch->versions.n; i++) {
            uint16_t v = ch->versions.v[i];
            if (td_is_grease(v))
                continue;
            if (v < *lo)
                *lo = v;
            if (v > *hi)
                *hi = v;
        }
        return;
    }
    *hi = ch->legacy_version;
}

/* Every entry parses with lib/tls/hello.c, without anomalies, and what the
 * file declares (version range, cipher count) is what the hello carries. */
static void test_builtin_all_parse(void **state)
{
    struct td_sim_db db;
    struct td_sim_err err;
    (void)state;

    assert_int_equal(td_sim_db_builtin(&db, &err), TD_OK);
    assert_true(db.n >= 30);
    for (size_t i = 0; i < db.n; i++) {
        const struct td_sim_client *c = &db.v[i];
        uint16_t lo, hi;

        print_message("%-22s %s-%s %3u suites %s\n", c->id, td_version_str(c->vmin),
                      td_version_str(c->vmax), c->num_ciphers, c->captured ? "captured" : "rebuilt");
        assert_int_equal(c->parse_status, TD_OK);
        assert_int_equal(c->ch.diag.n, 0);
        assert_true(c->name[0] != '\0');
        assert_true(strlen(c->source) > 20);
        assert_int_equal(non_grease_ciphers(&c->ch), c->num_ciphers);
        assert_int_equal(c->ch.total_ciphers, c->ch.num_ciphers);
        hello_versions(&c->ch, &lo, &hi);
        assert_int_equal(hi, c->vmax);
        if (c->ch.has_supported_versions)
            assert_int_equal(lo, c->vmin);
        assert_true(c->vmin <= c->vmax);
        assert_int_equal(c->ch.has_sni, c->sends_sni);
    }
    td_sim_db_cleanup(&db);
}

/* Known facts about named clients, independent of the file's own fields. */
static void test_builtin_known_clients(void **state)
{
    static const struct {
        const char *id;
        uint16_t vmin, vmax, ciphers;
        bool captured, aia;
        uint16_t first_cipher;
    } want[] = {
        {"android-4.4", 0x0300, 0x0303, 38, false, false, 0xc030},
        {"android-7.0", 0x0301, 0x0303, 0, false, false, 0},
        {"java-7", 0x0301, 0x0301, 0, false, false, 0},
        {"java-17", 0x0303, 0x0304, 0, true, false, 0x1302},
        {"openssl-3.0", 0x0301, 0x0304, 0, true, false, 0x1302},
        {"openssl-3.0-tls1", 0x0301, 0x0301, 0, true, false, 0},
        {"ie-11-win7", 0x0301, 0x0303, 0, false, true, 0},
        {"chromium", 0x0303, 0x0304, 15, true, true, 0},
        {"firefox-esr", 0x0303, 0x0304, 0, true, false, 0x1301},
    };
    struct td_sim_db db;
    struct td_sim_err err;
    (void)state;

    assert_int_equal(td_sim_db_builtin(&db, &err), TD_OK);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct td_sim_client *c = td_sim_db_find(&db, want[i].id);
        print_message("%s\n", want[i].id);
        assert_non_null(c);
        assert_int_equal(c->vmax, want[i].vmax);
        if (want[i].vmin != 0 && c->ch.has_supported_versions)
            assert_int_equal(c->vmin, want[i].vmin);
        if (want[i].ciphers)
            assert_int_equal(c->num_ciphers, want[i].ciphers);
        assert_int_equal(c->captured, want[i].captured);
        assert_int_equal(c->fetches_intermediates, want[i].aia);
        if (want[i].first_cipher) {
            uint16_t k = 0;
            while (td_is_grease(c->ch.ciphers[k]))
                k++;
            assert_int_equal(c->ch.ciphers[k], want[i].first_cipher);
        }
    }
    /* the Java 7 hello is TLS 1.0 with the SSL 3.0-era suites */
    assert_false(td_sim_db_find(&db, "java-7")->ch.has_supported_versions);
    /* Chromium offers a hybrid post-quantum share and GREASE */
    assert_true(td_sim_db_find(&db, "chromium")->ch.num_grease > 0);
    td_sim_db_cleanup(&db);
}

static size_t records_to_msg(const uint8_t *rec, size_t n, uint8_t *msg, size_t cap)
{
    size_t o = 0;
    for (size_t at = 0; at + 5 <= n;) {
        size_t len = (size_t)rec[at + 3] << 8 | rec[at + 4];
        assert_int_equal(rec[at], 22);
        assert_true(at + 5 + len <= n);
        assert_true(o + len <= cap);
        memcpy(msg + o, rec + at + 5, len);
        o += len;
        at += 5 + len;
    }
    return o;
}

static void parse_msg(struct td_client_hello *ch, const uint8_t *msg, size_t n)
{
    struct td_cur c;
    td_cur_init(&c, msg + 4, n - 4);
    assert_int_equal(msg[0], 1);
    assert_int_equal((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3], n - 4);
    assert_int_equal(td_parse_client_hello(ch, &c), TD_OK);
}

/* The SNI rewrite keeps everything but the name (and the padding that
 * absorbs the change), and removes the name for an IP target. */
static void test_sni_rewrite(void **state)
{
    static uint8_t rec[TD_SIM_MAX_HELLO + 1024], msg[TD_SIM_MAX_HELLO + 1024];
    static struct td_client_hello ch;
    const char *name = "www.target.example.org";
    struct td_sim_db db;
    struct td_sim_err err;
    (void)state;

    assert_int_equal(td_sim_db_builtin(&db, &err), TD_OK);
    for (size_t i = 0; i < db.n; i++) {
        const struct td_sim_client *c = &db.v[i];
        size_t n = td_sim_hello_records(c, name, rec, sizeof(rec));
        size_t m;

        assert_true(n > 5);
        assert_int_equal((uint16_t)(rec[1] << 8 | rec[2]), c->record_version);
        m = records_to_msg(rec, n, msg, sizeof(msg));
        parse_msg(&ch, msg, m);
        assert_int_equal(ch.diag.n, 0);
        assert_int_equal(ch.num_ciphers, c->ch.num_ciphers);
        assert_memory_equal(ch.ciphers, c->ch.ciphers, ch.num_ciphers * sizeof(uint16_t));
        assert_int_equal(ch.ext_order.n, c->ch.ext_order.n);
        assert_memory_equal(ch.ext_order.v, c->ch.ext_order.v, ch.ext_order.n * sizeof(uint16_t));
        assert_memory_equal(ch.random, c->ch.random, 32);
        if (c->sends_sni) {
            assert_true(ch.has_sni);
            assert_string_equal(ch.sni, name);
            if (c->ch.has_padding && c->ch.padding_len >= 10)
                assert_int_equal(m, c->hello_len); /* the padding absorbed it */
        } else {
            assert_false(ch.has_sni);
            assert_int_equal(m, c->hello_len);
            assert_memory_equal(msg, c->hello, m);
        }
        /* an IP target: no server_name, everything else kept */
        n = td_sim_hello_records(c, NULL, rec, sizeof(rec));
        m = records_to_msg(rec, n, msg, sizeof(msg));
        parse_msg(&ch, msg, m);
        assert_false(ch.has_sni);
        assert_int_equal(ch.num_ciphers, c->ch.num_ciphers);
        /* too small an output buffer fails cleanly */
        assert_int_equal(td_sim_hello_records(c, name, rec, 40), 0);
    }
    td_sim_db_cleanup(&db);
}

#define ENTRY_HEAD "client x\nname X\nkind captured\nsource a test entry, made by hand\n"
/* a minimal TLS 1.2 hello: one suite, no extensions */
#define MIN_HEX "hex 010000290303" "0000000000000000000000000000000000000000000000000000000000000000" "00" "0002c02f" "0100\n"

static void test_parser_errors(void **state)
{
    static const struct {
        const char *text;
        enum td_status st;
        unsigned line;
    } cases[] = {
        {ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\n" MIN_HEX "end\n", TD_OK, 0},
        {ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\n" MIN_HEX, TD_EMALFORMED, 9},
        {ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\nhex 01000\nend\n", TD_EMALFORMED, 9},
        {ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\nhex 01zz\nend\n", TD_EMALFORMED, 9},
        {ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\nhex 0100002c\nend\n", TD_EMALFORMED, 10},
        {ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\n" MIN_HEX "colour blue\nend\n",
         TD_EMALFORMED, 10},
        {ENTRY_HEAD "versions 1.4-1.2\n", TD_EMALFORMED, 5},
        {ENTRY_HEAD "versions 1.3-1.2\nciphers 1\nsni no\nrecord 0301\n" MIN_HEX "end\n", TD_EMALFORMED, 10},
        {ENTRY_HEAD "versions 1.2-1.2\nsni no\nrecord 0301\n" MIN_HEX "end\n", TD_EMALFORMED, 9},
        {"name X\n", TD_EMALFORMED, 1},
        {"client Bad/Id\n", TD_EMALFORMED, 1},
        {ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\n" MIN_HEX "end\n"
         "# twice\n" ENTRY_HEAD, TD_EMALFORMED, 12},
        {ENTRY_HEAD "ciphers 99999\n", TD_EMALFORMED, 5},
        {ENTRY_HEAD "sni maybe\n", TD_EMALFORMED, 5},
        {ENTRY_HEAD "record 03g1\n", TD_EMALFORMED, 5},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct td_sim_db db;
        struct td_sim_err err;
        enum td_status st = td_sim_db_parse(&db, cases[i].text, strlen(cases[i].text), &err);

        print_message("case %zu: st %d line %u %s\n", i, (int)st, err.line, err.msg);
        assert_int_equal(st, cases[i].st);
        if (st != TD_OK) {
            assert_int_equal(err.line, cases[i].line);
            assert_int_equal(db.n, 0);
            assert_null(db.v);
        } else {
            assert_int_equal(db.n, 1);
        }
        td_sim_db_cleanup(&db);
    }
    /* an overlong line is our limit, not a malformed file */
    {
        static char big[TD_SIM_MAX_LINE + 64];
        struct td_sim_db db;
        struct td_sim_err err;
        memset(big, 'a', sizeof(big) - 1);
        memcpy(big, "client x\nname ", 14);
        assert_int_equal(td_sim_db_parse(&db, big, strlen(big), &err), TD_ELIMIT);
        assert_int_equal(err.line, 2);
    }
}

/* explain: the server's probed capabilities name the cause and the fix. */
static const uint16_t only13[] = {0x1301, 0x1302, 0x1303};
static const uint16_t strict12[] = {0xc02b}; /* ECDHE-ECDSA-AES128-GCM-SHA256 only */
static const uint16_t rsa12[] = {0xc02f, 0xc030};
static const uint16_t groups_x448[] = {0x001e};

static void server_13only(struct td_sim_server *s)
{
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < 5; k++)
        s->version_known[k] = true;
    s->version_ok[4] = true;
    s->ciphers[4] = only13;
    s->num_ciphers[4] = 3;
}

static void test_explain(void **state)
{
    struct td_sim_db db;
    struct td_sim_err err;
    struct td_sim_server srv;
    struct td_sim_result r;
    struct td_sim_obs alert70 = {TD_SIM_ALERT, 70, 0, 0, NULL};
    struct td_sim_obs alert40 = {TD_SIM_ALERT, 40, 0, 0, NULL};
    struct td_sim_obs rst = {TD_SIM_RST, 0, 0, 0, NULL};
    struct td_sim_obs sh = {TD_SIM_SERVER_HELLO, 0, 0x0304, 0x1301, NULL};
    (void)state;

    assert_int_equal(td_sim_db_builtin(&db, &err), TD_OK);

    /* TLS 1.3-only server: Android 4.4 (up to 1.2) fails, enable TLS 1.2 */
    server_13only(&srv);
    td_sim_explain(&r, td_sim_db_find(&db, "android-4.4"), &srv, &alert70);
    print_message("%s: %s -- %s\n", r.code, r.detail, r.fix);
    assert_false(r.ok);
    assert_true(r.predicted);
    assert_string_equal(r.code, "protocol_version");
    assert_string_equal(r.answer, "alert:protocol_version");
    assert_non_null(strstr(r.fix, "enable TLS 1.2"));
    /* ... while OpenSSL 3.0 works */
    td_sim_explain(&r, td_sim_db_find(&db, "openssl-3.0"), &srv, &sh);
    assert_true(r.ok);
    assert_int_equal(r.version, 0x0304);

    /* TLS 1.2, ECDSA-only single suite: Java 8 lacks nothing, but an RSA-only
     * old client does: Android 4.4 has it; IE 11 Win 7 has it too.  A
     * server with only ECDHE-RSA-AES*-GCM: Java 7 (TLS 1.0, no GCM) fails
     * with no_shared_cipher and gets a CBC suite it offers as the fix. */
    memset(&srv, 0, sizeof(srv));
    for (int k = 0; k < 5; k++)
        srv.version_known[k] = true;
    srv.version_ok[1] = srv.version_ok[3] = true;
    srv.ciphers[1] = srv.ciphers[3] = rsa12; /* (GCM on 1.0 cannot happen: a stand-in list) */
    srv.num_ciphers[1] = srv.num_ciphers[3] = 2;
    td_sim_explain(&r, td_sim_db_find(&db, "java-7"), &srv, &alert40);
    print_message("%s: %s -- %s\n", r.code, r.detail, r.fix);
    assert_string_equal(r.code, "no_shared_cipher");
    assert_non_null(strstr(r.fix, "TLS 1.0 cipher list"));
    assert_non_null(strstr(r.fix, "ECDHE-RSA-"));

    /* ECDSA-only AES128-GCM on 1.2: the fix names a suite the client offers */
    memset(&srv, 0, sizeof(srv));
    for (int k = 0; k < 5; k++)
        srv.version_known[k] = true;
    srv.version_ok[3] = true;
    srv.ciphers[3] = strict12;
    srv.num_ciphers[3] = 1;
    td_sim_explain(&r, td_sim_db_find(&db, "openssl-3.0-tls1"), &srv, &alert70);
    assert_string_equal(r.code, "protocol_version");
    assert_non_null(strstr(r.fix, "enable TLS 1.0"));

    /* TLS 1.3 with only X448: clients without it get no_shared_group */
    server_13only(&srv);
    srv.groups = groups_x448;
    srv.num_groups = 1;
    td_sim_explain(&r, td_sim_db_find(&db, "chromium"), &srv, &alert40);
    print_message("%s: %s -- %s\n", r.code, r.detail, r.fix);
    assert_string_equal(r.code, "no_shared_group");
    assert_non_null(strstr(r.fix, "x25519"));

    /* incomplete chain: a ServerHello, but OpenSSL-based clients reject the
     * chain; a browser that fetches intermediates is fine */
    server_13only(&srv);
    srv.chain_incomplete = true;
    td_sim_explain(&r, td_sim_db_find(&db, "curl-7.88"), &srv, &sh);
    assert_false(r.ok);
    assert_string_equal(r.code, "server_cert_rejected");
    assert_non_null(strstr(r.fix, "serve the intermediate"));
    td_sim_explain(&r, td_sim_db_find(&db, "chromium"), &srv, &sh);
    assert_true(r.ok);

    /* suites not enumerated (--no-ciphers): no cipher verdict is guessed */
    memset(&srv, 0, sizeof(srv));
    for (int k = 0; k < 5; k++)
        srv.version_known[k] = true;
    srv.version_ok[1] = true;
    td_sim_explain(&r, td_sim_db_find(&db, "java-7"), &srv, &alert40);
    assert_false(r.predicted);
    assert_string_equal(r.code, "alert");

    /* nothing in the tables explains a reset: say what was seen */
    server_13only(&srv);
    td_sim_explain(&r, td_sim_db_find(&db, "openssl-3.0"), &srv, &rst);
    assert_false(r.ok);
    assert_false(r.predicted);
    assert_string_equal(r.code, "reset_by_server");
    assert_string_equal(r.answer, "rst");
    td_sim_db_cleanup(&db);
}

/* a client without SNI against a server that requires it */
static void test_explain_sni(void **state)
{
    const char *text = ENTRY_HEAD "versions 1.2-1.2\nciphers 1\nsni no\nrecord 0301\n" MIN_HEX "end\n";
    struct td_sim_db db;
    struct td_sim_err err;
    struct td_sim_server srv;
    struct td_sim_result r;
    struct td_sim_obs fin = {TD_SIM_FIN, 0, 0, 0, NULL};
    (void)state;

    assert_int_equal(td_sim_db_parse(&db, text, strlen(text), &err), TD_OK);
    memset(&srv, 0, sizeof(srv));
    for (int k = 0; k < 5; k++)
        srv.version_known[k] = true;
    srv.version_ok[3] = true;
    srv.ciphers[3] = rsa12;
    srv.num_ciphers[3] = 2;
    srv.sni_required = true;
    td_sim_explain(&r, &db.v[0], &srv, &fin);
    assert_string_equal(r.code, "sni_required");
    assert_string_equal(r.answer, "fin");
    td_sim_db_cleanup(&db);
}


/* A server that requires a client certificate: every client whose hello
 * gets a ServerHello still fails (none carries a certificate), and the
 * headline counts them; a server that only asks: they connect, asked. */
static void test_explain_client_cert(void **state)
{
    struct td_sim_db db;
    struct td_sim_err err;
    struct td_sim_server srv;
    struct td_sim_report rep;
    struct td_plan_result *plan = calloc(1, sizeof(*plan));
    struct td_sim_obs sh = {TD_SIM_SERVER_HELLO, 0, 0x0304, 0x1301, NULL};
    struct td_sim_obs alert70 = {TD_SIM_ALERT, 70, 0, 0, NULL};
    struct sink out = {NULL, 0, 0};
    const char *t;
    (void)state;

    assert_non_null(plan);
    assert_int_equal(td_sim_db_builtin(&db, &err), TD_OK);
    /* the plan's finding reaches the simulation */
    plan->client_auth = TD_CA_REQUIRED;
    plan->versions[4].probed = plan->versions[4].tls_ok = true;
    plan->versions[4].version = 0x0304;
    td_sim_server_from_plan(&srv, plan);
    assert_true(srv.client_cert_required);
    assert_true(srv.client_cert_requested);
    plan->client_auth = TD_CA_OPTIONAL;
    td_sim_server_from_plan(&srv, plan);
    assert_false(srv.client_cert_required);
    assert_true(srv.client_cert_requested);

    memset(&rep, 0, sizeof(rep));
    rep.n = db.n;
    rep.v = calloc(db.n, sizeof(*rep.v));
    assert_non_null(rep.v);

    /* required: ServerHello, yet client_cert_missing */
    server_13only(&srv);
    srv.client_cert_required = srv.client_cert_requested = true;
    for (size_t i = 0; i < db.n; i++)
        td_sim_explain(&rep.v[i], &db.v[i], &srv,
                       strcmp(db.v[i].id, "java-7") == 0 ? &alert70 : &sh);
    td_sim_tally(&rep);
    assert_int_equal(rep.failed, db.n);
    assert_int_equal(rep.cert_missing, db.n - 1);
    for (size_t i = 0; i < db.n; i++) {
        assert_false(rep.v[i].ok);
        if (strcmp(db.v[i].id, "java-7") != 0) {
            assert_string_equal(rep.v[i].code, "client_cert_missing");
            assert_string_equal(rep.v[i].answer, "server_hello");
        }
    }
    t = sim_text(&rep, &out);
    print_message("%s", t);
    assert_non_null(strstr(t, "clients: 0 of "));
    assert_non_null(strstr(t, "need a client certificate"));
    assert_non_null(strstr(t, "needs a client certificate: "));
    assert_non_null(strstr(t, "java-7 "));
    assert_true(count_lines(t) < 20);

    /* optional: they connect, asked */
    srv.client_cert_required = false;
    for (size_t i = 0; i < db.n; i++)
        td_sim_explain(&rep.v[i], &db.v[i], &srv, &sh);
    td_sim_tally(&rep);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(rep.cert_asked, db.n);
    assert_true(rep.v[0].ok && rep.v[0].cert_asked);
    t = sim_text(&rep, &out);
    assert_non_null(strstr(t, "asked for a client certificate"));

    free(rep.v);
    free(out.b);
    free(plan);
    td_sim_db_cleanup(&db);
}

/* A static-RSA-only TLS 1.2 server: Android 5.0 offers the draft ChaCha20
 * suites (0xcc13/0xcc14/0xcc15) first; the fix must name a standard suite
 * it offers that fits an RSA key (c02f), never a draft, GREASE or SCSV
 * value.  A client limited below the server's floor gets a short fix. */
static const uint16_t static_rsa12[] = {0x009d}; /* AES256-GCM-SHA384 */

static void test_explain_fix_standard(void **state)
{
    struct td_sim_db db;
    struct td_sim_err err;
    struct td_sim_server srv;
    struct td_sim_result r;
    struct td_sim_obs alert40 = {TD_SIM_ALERT, 40, 0, 0, NULL};
    struct td_sim_obs alert70 = {TD_SIM_ALERT, 70, 0, 0, NULL};
    (void)state;

    assert_int_equal(td_sim_db_builtin(&db, &err), TD_OK);
    memset(&srv, 0, sizeof(srv));
    for (int k = 0; k < 5; k++)
        srv.version_known[k] = true;
    srv.version_ok[3] = true;
    srv.ciphers[3] = static_rsa12;
    srv.num_ciphers[3] = 1;
    td_sim_explain(&r, td_sim_db_find(&db, "android-5.0"), &srv, &alert40);
    print_message("%s: %s -- %s\n", r.code, r.detail, r.fix);
    assert_string_equal(r.code, "no_shared_cipher");
    assert_null(strstr(r.fix, "_OLD"));
    assert_null(strstr(r.fix, "SCSV"));
    assert_null(strstr(r.fix, "GREASE"));
    assert_non_null(strstr(r.fix, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));

    td_sim_explain(&r, td_sim_db_find(&db, "openssl-3.0-tls1"), &srv, &alert70);
    assert_string_equal(r.code, "protocol_version");
    assert_string_equal(r.fix, "enable TLS 1.0 (the highest this client supports)");
    td_sim_db_cleanup(&db);
}

/* No handshake succeeded (refused port, silent listener): nothing is
 * replayed, and the text says so in one line instead of a row per client. */
static void test_sim_not_run(void **state)
{
    struct td_sim_db db;
    struct td_sim_err err;
    struct td_sim_report rep;
    struct td_plan_result *plan = calloc(1, sizeof(*plan));
    struct td_sim_opts so = {NULL, NULL, NULL};
    struct td_probe_opts po;
    struct sink out = {NULL, 0, 0};
    const char *t;
    (void)state;

    assert_non_null(plan);
    memset(&po, 0, sizeof(po));
    assert_int_equal(td_sim_db_builtin(&db, &err), TD_OK);
    for (int k = 0; k < 5; k++) {
        plan->versions[k].probed = true;
        plan->versions[k].res = TD_PR_REFUSED;
    }
    /* the early return touches no socket: no address needed */
    assert_int_equal(td_sim_run(&rep, &db, plan, NULL, 0, &so, &po), 0);
    assert_true(rep.not_run);
    assert_int_equal(rep.connections, 0);
    t = sim_text(&rep, &out);
    print_message("%s", t);
    assert_string_equal(t, "clients: client simulation not run: no handshake with the server succeeded\n");
    td_sim_report_cleanup(&rep);
    free(out.b);
    free(plan);
    td_sim_db_cleanup(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_all_parse),
        cmocka_unit_test(test_builtin_known_clients),
        cmocka_unit_test(test_sni_rewrite),
        cmocka_unit_test(test_parser_errors),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_explain_sni),
        cmocka_unit_test(test_explain_client_cert),
        cmocka_unit_test(test_explain_fix_standard),
        cmocka_unit_test(test_sim_not_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
