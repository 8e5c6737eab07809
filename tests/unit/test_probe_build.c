/* test_probe_build.c: every hello the probe builder makes is parsed back by
 * our own parser (lib/tls/hello.c) and the fields compared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlsdiag/probe.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/tls.h"

static struct td_keyshares ks;

static int setup(void **st)
{
    (void)st;
    return td_keyshares_init(&ks);
}

/* parse_back: record header, handshake header, then the parser */
static enum td_status parse_back(const uint8_t *b, size_t n, struct td_client_hello *ch)
{
    struct td_cur c, msg;
    uint8_t ct, hst;
    uint16_t rv = 0;
    uint32_t len = 0;
    struct td_cur body = {0};

    td_cur_init(&c, b, n);
    if (b[0] & 0x80) { /* SSLv2 */
        uint16_t l2 = 0;
        assert_true(td_cur_get_u16(&c, &l2));
        assert_int_equal(l2 & 0x7fff, n - 2);
        return td_parse_sslv2_client_hello(ch, &c);
    }
    assert_true(td_cur_get_u8(&c, &ct));
    assert_int_equal(ct, 22);
    assert_true(td_cur_get_u16(&c, &rv));
    assert_true(td_cur_get_vec16(&c, &body));
    assert_true(td_cur_empty(&c));
    assert_true(td_cur_get_u8(&body, &hst));
    assert_int_equal(hst, 1);
    assert_true(td_cur_get_u24(&body, &len));
    assert_int_equal(len, td_cur_len(&body));
    assert_true(td_cur_get_bytes(&body, &msg, len));
    memset(ch, 0, sizeof(*ch));
    ch->record_version = rv;
    return td_parse_client_hello(ch, &msg);
}

static uint8_t buf[TD_CH_MAX + 5];
static struct td_client_hello ch;

static void test_versions(void **st)
{
    static const uint16_t vers[] = {0x0300, 0x0301, 0x0302, 0x0303};
    uint16_t suites[512];
    uint16_t n = td_probe_suites(0x0303, suites, 512);
    (void)st;
    assert_true(n > 300);
    /* (EC)DHE order: a server following the client's order must meet ECDHE
     * first (Dovecot without ssl_dh picks a DHE suite and closes); every
     * ECDHE suite precedes every DHE suite */
    {
        uint16_t last_ecdhe = 0, first_dhe = n;
        for (uint16_t k = 0; k < n; k++) {
            enum td_kex kx = td_cipher_kex(suites[k]);
            if (kx == TD_KEX_ECDHE)
                last_ecdhe = k;
            if (kx == TD_KEX_DHE && k < first_dhe)
                first_dhe = k;
        }
        assert_true(last_ecdhe > 0);
        assert_true(first_dhe < n);
        assert_true(last_ecdhe < first_dhe);
        assert_int_equal(td_cipher_kex(suites[0]), TD_KEX_ECDHE);
    }
    for (size_t i = 0; i < 4; i++) {
        struct td_ch_spec s;
        memset(&s, 0, sizeof(s));
        s.legacy_version = vers[i];
        s.ciphers = suites;
        s.num_ciphers = n;
        s.sni = "server.lab.test";
        s.ec_point_formats = true;
        s.reneg_info = true;
        for (int k = 0; k < 32; k++)
            s.random[k] = (uint8_t)((size_t)k * 7 + i);
        size_t len = td_ch_build(&s, &ks, buf, sizeof(buf));
        assert_true(len > 0);
        assert_int_equal(parse_back(buf, len, &ch), TD_OK);
        assert_int_equal(ch.diag.n, 0);
        assert_int_equal(ch.legacy_version, vers[i]);
        assert_int_equal(ch.record_version, vers[i] < 0x0301 ? vers[i] : 0x0301);
        assert_int_equal(ch.num_ciphers, n);
        assert_memory_equal(ch.ciphers, suites, (size_t)n * 2);
        assert_memory_equal(ch.random, s.random, 32);
        assert_true(ch.has_sni);
        assert_string_equal(ch.sni, "server.lab.test");
        assert_true(ch.has_ec_point_formats);
        assert_true(ch.has_renegotiation_info);
        assert_false(ch.has_supported_versions);
    }
}

static void test_tls13_full(void **st)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    static const uint16_t groups[] = {0x001d, 0x0017, 0x0018, 0x0100};
    static const uint16_t shares[] = {0x001d, 0x0017};
    static const uint16_t sv[] = {0x0304, 0x0303};
    static const uint16_t sa[] = {0x0403, 0x0804, 0x0401};
    static const uint8_t ticket[] = {1, 2, 3, 4, 5};
    struct td_ch_spec s;
    (void)st;
    memset(&s, 0, sizeof(s));
    s.legacy_version = 0x0303;
    s.ciphers = suites;
    s.num_ciphers = 3;
    s.versions = sv;
    s.num_versions = 2;
    s.groups = groups;
    s.num_groups = 4;
    s.share_groups = shares;
    s.num_share_groups = 2;
    s.sig_algs = sa;
    s.num_sig_algs = 3;
    s.sni = "example.com";
    s.alpn[0] = "h2";
    s.alpn[1] = "http/1.1";
    s.num_alpn = 2;
    s.grease = true;
    s.pad_to = 512;
    s.session_ticket = true;
    s.ticket = ticket;
    s.ticket_len = sizeof(ticket);
    s.session_id_len = 32;
    memset(s.session_id, 0xab, 32);
    s.status_request = true;
    s.psk_modes = true;
    s.ems = true;
    for (int k = 0; k < 32; k++)
        s.random[k] = (uint8_t)(0x35 + k);
    size_t len = td_ch_build(&s, &ks, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal(parse_back(buf, len, &ch), TD_OK);
    assert_int_equal(ch.diag.n, 0);
    assert_int_equal(ch.msg_len + 4, 512);
    assert_true(ch.has_padding);
    /* GREASE first in ciphers, groups, versions */
    assert_int_equal(ch.num_ciphers, 4);
    assert_true(td_is_grease(ch.ciphers[0]));
    assert_memory_equal(ch.ciphers + 1, suites, sizeof(suites));
    assert_int_equal(ch.groups.n, 5);
    assert_true(td_is_grease(ch.groups.v[0]));
    assert_memory_equal(ch.groups.v + 1, groups, sizeof(groups));
    assert_int_equal(ch.versions.n, 3);
    assert_memory_equal(ch.versions.v + 1, sv, sizeof(sv));
    assert_int_equal(ch.sig_algs.n, 3);
    assert_memory_equal(ch.sig_algs.v, sa, sizeof(sa));
    assert_int_equal(ch.num_key_shares, 3);
    assert_true(td_is_grease(ch.key_shares[0].group));
    assert_int_equal(ch.key_shares[1].group, 0x001d);
    assert_int_equal(ch.key_shares[1].key_len, 32);
    assert_int_equal(ch.key_shares[2].group, 0x0017);
    assert_int_equal(ch.key_shares[2].key_len, 65);
    assert_int_equal(ch.num_alpn, 2);
    assert_memory_equal(ch.alpn[0].b, "h2", 2);
    assert_memory_equal(ch.alpn[1].b, "http/1.1", 8);
    assert_true(ch.has_session_ticket);
    assert_int_equal(ch.session_ticket_len, 5);
    assert_int_equal(ch.session_id_len, 32);
    assert_true(ch.has_status_request);
    assert_true(ch.has_psk_modes);
    assert_true(ch.has_extended_master_secret);
    assert_true(ch.num_grease >= 5);
    assert_string_equal(ch.sni, "example.com");
}

static void test_no_sni_odd_sni(void **st)
{
    static const uint16_t suites[] = {0xc02f};
    struct td_ch_spec s;
    (void)st;
    memset(&s, 0, sizeof(s));
    s.legacy_version = 0x0303;
    s.ciphers = suites;
    s.num_ciphers = 1;
    size_t len = td_ch_build(&s, &ks, buf, sizeof(buf));
    assert_int_equal(parse_back(buf, len, &ch), TD_OK);
    assert_false(ch.has_sni);
    assert_true(ch.has_extensions); /* an empty block */
    s.sni = "10.77.2.2";
    len = td_ch_build(&s, &ks, buf, sizeof(buf));
    assert_int_equal(parse_back(buf, len, &ch), TD_OK);
    assert_true(ch.has_sni);
    assert_string_equal(ch.sni, "10.77.2.2");
}

static void test_sslv2(void **st)
{
    static const uint16_t suites[] = {0x0035, 0x002f, 0x000a};
    struct td_ch_spec s;
    (void)st;
    memset(&s, 0, sizeof(s));
    s.sslv2 = true;
    s.legacy_version = 0x0301;
    s.ciphers = suites;
    s.num_ciphers = 3;
    for (int k = 0; k < 32; k++)
        s.random[k] = (uint8_t)k;
    size_t len = td_ch_build(&s, &ks, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal(parse_back(buf, len, &ch), TD_OK);
    assert_int_equal(ch.diag.n, 0);
    assert_true(ch.sslv2_format);
    assert_int_equal(ch.legacy_version, 0x0301);
    assert_int_equal(ch.num_ciphers, 3);
    assert_memory_equal(ch.ciphers, suites, sizeof(suites));
    assert_memory_equal(ch.random, s.random, 32);
}

static void test_broken(void **st)
{
    static const uint16_t suites[] = {0x1301};
    struct td_ch_spec s;
    (void)st;
    memset(&s, 0, sizeof(s));
    s.legacy_version = 0x0303;
    s.ciphers = suites;
    s.num_ciphers = 1;
    s.sni = "a.example";
    size_t len = td_ch_build_broken(&s, &ks, buf, sizeof(buf), 0xffff);
    assert_true(len > 0);
    assert_int_equal(parse_back(buf, len, &ch), TD_EMALFORMED);
    assert_int_equal(ch.diag.n, 1);
    assert_int_equal(ch.diag.recs[0].code, TD_AN_EXT_BLOCK_MALFORMED);
    assert_int_equal(ch.diag.recs[0].off, 5 + 4 + 41); /* record + handshake headers */
}

static void test_too_big(void **st)
{
    static uint16_t many[9000];
    struct td_ch_spec s;
    (void)st;
    for (size_t i = 0; i < 9000; i++)
        many[i] = (uint16_t)i;
    memset(&s, 0, sizeof(s));
    s.legacy_version = 0x0303;
    s.ciphers = many;
    s.num_ciphers = 9000;
    assert_int_equal(td_ch_build(&s, &ks, buf, sizeof(buf)), 0);
    s.num_ciphers = 10;
    assert_int_equal(td_ch_build(&s, &ks, buf, 20), 0); /* cap respected */
}

static void test_suites(void **st)
{
    uint16_t v[16];
    (void)st;
    assert_int_equal(td_probe_suites(0x0304, v, 16), 9); /* 5 RFC 8446 + 2 AEGIS + 2 integrity-only */
    assert_int_equal(v[0], 0x1301);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),   cmocka_unit_test(test_tls13_full),
        cmocka_unit_test(test_no_sni_odd_sni), cmocka_unit_test(test_sslv2),
        cmocka_unit_test(test_broken),     cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_suites),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
