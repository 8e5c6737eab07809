/* test_server.c: ServerHello/HRR, Certificate, CertificateRequest,
 * ServerKeyExchange, NewSessionTicket, CertificateStatus, td_cipher_kex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "tlsdiag/tls.h"

#define RND0 "0000000000000000000000000000000000000000000000000000000000000000"
#define RND_HRR "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
#define RND_DG12 "000000000000000000000000000000000000000000000000444f574e47524401"
#define RND_DG11 "000000000000000000000000000000000000000000000000444f574e47524400"
/* 38-byte prefix: version, random, empty session id, TLS_AES_128_GCM_SHA256, null */
#define SH_PREFIX "0303" RND0 "00" "1301" "00"

static struct cur_buf {
    uint8_t b[1024];
    struct td_cur c;
} cb;

static struct td_cur *cur(const char *hex)
{
    size_t n = hex_decode(hex, cb.b, sizeof(cb.b));

    assert_true(n != (size_t)-1);
    td_cur_init(&cb.c, cb.b, n);
    return &cb.c;
}

static void expect_diag(const struct td_diag *d, uint32_t n, enum td_anomaly an, uint32_t off)
{
    if (d->n != 0)
        print_message("  diag n=%u first={%u,%u}\n", (unsigned)d->n, d->recs[0].code, (unsigned)d->recs[0].off);
    assert_int_equal(d->n, n);
    if (n != 0) {
        assert_int_equal(d->recs[0].code, an);
        assert_int_equal(d->recs[0].off, off);
    }
}

struct sh_case {
    const char *name;
    const char *hex;
    enum td_status st;
    uint32_t n_an;
    enum td_anomaly an;
    uint32_t off;
};

static const struct sh_case sh_cases[] = {
    {"tls12 no extensions", SH_PREFIX, TD_OK, 0, TD_AN_NONE, 0},
    {"truncated by one", "0303" RND0 "00" "1301", TD_EMALFORMED, 1, TD_AN_SH_MALFORMED, 37},
    {"session id 33", "0303" RND0 "21" RND0 "00" "1301 00", TD_EMALFORMED, 1, TD_AN_SH_MALFORMED, 35},
    {"session id length +1", "0303" RND0 "01" "1301 00", TD_EMALFORMED, 1, TD_AN_SH_MALFORMED, 38},
    {"tls13", SH_PREFIX "002e" "002b 0002 0304" "0033 0024 001d 0020" RND0, TD_OK, 0, TD_AN_NONE, 0},
    {"ext block length +1", SH_PREFIX "0007" "002b 0002 0304", TD_EMALFORMED, 1, TD_AN_EXT_BLOCK_MALFORMED, 38},
    {"ext block length -1", SH_PREFIX "0005" "002b 0002 0304", TD_EMALFORMED, 1, TD_AN_EXT_BLOCK_MALFORMED, 42},
    {"duplicate", SH_PREFIX "000c" "002b 0002 0304" "002b 0002 0304", TD_OK, 1, TD_AN_EXT_DUPLICATE, 50},
    {"supported_versions truncated", SH_PREFIX "0005" "002b 0001 03", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 44},
    {"alpn two names", SH_PREFIX "000c" "0010 0008 0006 02 6832 02 6833", TD_OK, 1,
     TD_AN_EXT_BODY_MALFORMED, 49},
    {"alpn empty list", SH_PREFIX "0006" "0010 0002 0000", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 46},
    {"empty key share", SH_PREFIX "0008" "0033 0004 001d 0000", TD_OK, 1, TD_AN_KEY_SHARE_BAD_LENGTH, 48},
    {"sni ack non-empty", SH_PREFIX "0005" "0000 0001 00", TD_OK, 1, TD_AN_EXT_TRAILING_DATA, 44},
    {"trailing", SH_PREFIX "0000" "ff", TD_OK, 1, TD_AN_SH_TRAILING_DATA, 40},
};

static void test_sh_cases(void **state)
{
    struct td_server_hello sh;

    (void)state;
    for (size_t i = 0; i < sizeof(sh_cases) / sizeof(sh_cases[0]); i++) {
        const struct sh_case *tc = &sh_cases[i];

        print_message("case: %s\n", tc->name);
        memset(&sh, 0, sizeof(sh));
        assert_int_equal(td_parse_server_hello(&sh, cur(tc->hex)), tc->st);
        expect_diag(&sh.diag, tc->n_an, tc->an, tc->off);
    }
}

static void test_sh_fields(void **state)
{
    struct td_server_hello sh;

    (void)state;
    memset(&sh, 0, sizeof(sh));
    sh.record_version = 0x0303;
    assert_int_equal(td_parse_server_hello(&sh, cur(SH_PREFIX "0037"
                                                             "002b 0002 0304" "0033 0024 001d 0020" RND0
                                                             "0010 0005 0003 02 6832")),
                     TD_OK);
    assert_int_equal(sh.record_version, 0x0303);
    assert_int_equal(sh.selected_version, 0x0304);
    assert_false(sh.is_hrr);
    assert_true(sh.has_key_share);
    assert_int_equal(sh.key_share_group, 0x1d);
    assert_true(sh.has_alpn);
    assert_int_equal(sh.alpn.len, 2);
    assert_memory_equal(sh.alpn.b, "h2", 2);
    assert_int_equal(sh.ext_order.n, 3);
    assert_int_equal(sh.downgrade_sentinel, 0);

    /* HRR: key_share carries only the selected group */
    assert_int_equal(td_parse_server_hello(&sh, cur("0303" RND_HRR "00" "1301" "00" "0014"
                                                    "002b 0002 0304" "0033 0002 0017" "002c 0004 0002 abcd")),
                     TD_OK);
    assert_true(sh.is_hrr);
    assert_int_equal(sh.key_share_group, 0x17);
    assert_true(sh.has_cookie);
    assert_int_equal(sh.diag.n, 0);

    /* TLS 1.3 draft 14 (zeek tls13draft16-chrome55 capture): no session id, no compression */
    assert_int_equal(td_parse_server_hello(&sh, cur("7f0e" RND0 "cca9" "0005" "ff01 0001 00")), TD_OK);
    assert_int_equal(sh.cipher, 0xcca9);
    assert_int_equal(sh.selected_version, 0x7f0e);
    assert_int_equal(sh.session_id_len, 0);
    assert_int_equal(sh.diag.n, 0);

    assert_int_equal(td_parse_server_hello(&sh, cur("0303" RND_DG12 "00 c02f 00")), TD_OK);
    assert_int_equal(sh.downgrade_sentinel, 0x0303);
    assert_int_equal(sh.selected_version, 0x0303);
    assert_false(sh.has_extensions);
    assert_int_equal(td_parse_server_hello(&sh, cur("0302" RND_DG11 "00 c02f 00")), TD_OK);
    assert_int_equal(sh.downgrade_sentinel, 0x0302);

    assert_int_equal(td_parse_server_hello(&sh, cur(SH_PREFIX "001b" "0000 0000" "0023 0000" "0017 0000"
                                                                 "ff01 0001 00" "0029 0002 0000" "0005 0000")),
                     TD_OK);
    assert_true(sh.has_sni_ack);
    assert_true(sh.has_session_ticket);
    assert_true(sh.has_extended_master_secret);
    assert_true(sh.has_renegotiation_info);
    assert_true(sh.has_psk);
    assert_true(sh.has_status_request);
    assert_int_equal(sh.diag.n, 0);
}

static void test_certificate(void **state)
{
    struct td_certificate c;

    (void)state;
    /* TLS 1.2: two certs of 3 and 1 bytes */
    assert_int_equal(td_parse_certificate(&c, cur("00000a 000003 308100 000001 30"), false), TD_OK);
    assert_int_equal(c.num_certs, 2);
    assert_int_equal(c.total_certs, 2);
    assert_int_equal(c.certs[0].len, 3);
    assert_int_equal(c.certs[0].der[0], 0x30);
    assert_int_equal(c.certs[1].wire_len, 1);
    expect_diag(&c.diag, 0, TD_AN_NONE, 0);
    td_certificate_cleanup(&c);
    td_certificate_cleanup(&c); /* twice is fine */

    /* list length +1 */
    assert_int_equal(td_parse_certificate(&c, cur("00000b 000003 308100 000001 30"), false), TD_EMALFORMED);
    expect_diag(&c.diag, 1, TD_AN_CERT_MALFORMED, 0);
    td_certificate_cleanup(&c);
    /* inner length +1: the first cert swallows the second's length */
    assert_int_equal(td_parse_certificate(&c, cur("00000a 000004 308100 000001 30"), false), TD_EMALFORMED);
    expect_diag(&c.diag, 1, TD_AN_CERT_MALFORMED, 10);
    td_certificate_cleanup(&c);
    /* empty list is a legal (client) Certificate */
    assert_int_equal(td_parse_certificate(&c, cur("000000"), false), TD_OK);
    assert_int_equal(c.num_certs, 0);
    td_certificate_cleanup(&c);
    /* empty cert entry */
    assert_int_equal(td_parse_certificate(&c, cur("000003 000000"), false), TD_OK);
    expect_diag(&c.diag, 1, TD_AN_CERT_MALFORMED, 6);
    td_certificate_cleanup(&c);
    /* TLS 1.3: context, entries with extensions */
    assert_int_equal(td_parse_certificate(&c, cur("00 000008 000001 30 0000 000001 31 0000"), true),
                     TD_EMALFORMED);
    expect_diag(&c.diag, 1, TD_AN_CERT_MALFORMED, 4 + 6);
    td_certificate_cleanup(&c);
    assert_int_equal(td_parse_certificate(&c, cur("01 aa 00000c 000001 30 0000 000001 31 0000"), true), TD_OK);
    assert_true(c.tls13);
    assert_int_equal(c.context_len, 1);
    assert_int_equal(c.num_certs, 2);
    assert_int_equal(c.certs[1].der[0], 0x31);
    td_certificate_cleanup(&c);
    /* trailing */
    assert_int_equal(td_parse_certificate(&c, cur("000000 00"), false), TD_OK);
    expect_diag(&c.diag, 1, TD_AN_HS_TRAILING_DATA, 3);
    td_certificate_cleanup(&c);
}

static void test_certificate_limits(void **state)
{
    static uint8_t big[3 + 3 + TD_MAX_CERT_LEN + 1 + 17 * 4];
    struct td_certificate c;
    struct td_cur m;
    size_t o = 0;
    size_t list = 3 + TD_MAX_CERT_LEN + 1 + 17 * 4;

    (void)state;
    big[o++] = (uint8_t)(list >> 16);
    big[o++] = (uint8_t)(list >> 8);
    big[o++] = (uint8_t)list;
    big[o++] = (uint8_t)((TD_MAX_CERT_LEN + 1) >> 16);
    big[o++] = (uint8_t)((TD_MAX_CERT_LEN + 1) >> 8);
    big[o++] = (uint8_t)(TD_MAX_CERT_LEN + 1);
    o += TD_MAX_CERT_LEN + 1;
    for (int i = 0; i < 17; i++) {
        big[o++] = 0;
        big[o++] = 0;
        big[o++] = 1;
        big[o++] = 0x30;
    }
    assert_int_equal(o, sizeof(big));
    td_cur_init(&m, big, sizeof(big));
    assert_int_equal(td_parse_certificate(&c, &m, false), TD_OK);
    assert_int_equal(c.num_certs, TD_MAX_CERTS);
    assert_int_equal(c.total_certs, 18);
    assert_null(c.certs[0].der);
    assert_int_equal(c.certs[0].wire_len, TD_MAX_CERT_LEN + 1);
    assert_int_equal(c.diag.n, 2);
    assert_int_equal(c.diag.recs[0].code, TD_AN_LIMIT_CERT_LEN);
    assert_int_equal(c.diag.recs[0].off, 6);
    assert_int_equal(c.diag.recs[1].code, TD_AN_LIMIT_CERTS);
    assert_int_equal(c.diag.recs[1].off, 6 + TD_MAX_CERT_LEN + 1 + 15 * 4 + 3);
    td_certificate_cleanup(&c);
}

static void test_certificate_request(void **state)
{
    struct td_certificate_request cr;

    (void)state;
    /* TLS 1.2: types rsa_sign, ecdsa_sign; two sig algs; one CA name */
    assert_int_equal(td_parse_certificate_request(&cr, cur("02 01 40 0004 0401 0403 0005 0003 300100"), false),
                     TD_OK);
    assert_int_equal(cr.cert_types.n, 2);
    assert_int_equal(cr.sig_algs.n, 2);
    assert_int_equal(cr.sig_algs.v[1], 0x0403);
    assert_int_equal(cr.num_ca_names, 1);
    assert_int_equal(cr.ca_names[0].len, 3);
    expect_diag(&cr.diag, 0, TD_AN_NONE, 0);
    td_certificate_request_cleanup(&cr);
    /* TLS 1.0/1.1 layout: no sig algs */
    assert_int_equal(td_parse_certificate_request(&cr, cur("01 01 0000"), false), TD_OK);
    assert_int_equal(cr.sig_algs.n, 0);
    td_certificate_request_cleanup(&cr);
    /* CA list length +1 fits neither layout */
    assert_int_equal(td_parse_certificate_request(&cr, cur("01 01 0002 0401 0006 0003 300100"), false),
                     TD_EMALFORMED);
    expect_diag(&cr.diag, 1, TD_AN_CR_MALFORMED, 2);
    td_certificate_request_cleanup(&cr);
    /* truncated types */
    assert_int_equal(td_parse_certificate_request(&cr, cur("02 01"), false), TD_EMALFORMED);
    expect_diag(&cr.diag, 1, TD_AN_CR_MALFORMED, 0);
    td_certificate_request_cleanup(&cr);
    /* TLS 1.3 */
    assert_int_equal(td_parse_certificate_request(&cr, cur("00 0015 000d 0006 0004 0804 0403"
                                                           "002f 0007 0005 0003 300100"),
                                                  true),
                     TD_OK);
    assert_int_equal(cr.sig_algs.n, 2);
    assert_int_equal(cr.num_ca_names, 1);
    expect_diag(&cr.diag, 0, TD_AN_NONE, 0);
    td_certificate_request_cleanup(&cr);
    /* TLS 1.3: sig algs odd */
    assert_int_equal(td_parse_certificate_request(&cr, cur("00 0009 000d 0005 0003 080404"), true), TD_OK);
    expect_diag(&cr.diag, 1, TD_AN_EXT_BODY_MALFORMED, 9); /* the list */
    td_certificate_request_cleanup(&cr);
}

static void test_ske(void **state)
{
    struct td_server_key_exchange ske;

    (void)state;
    /* ECDHE x25519, TLS 1.2 signature rsa_pss_rsae_sha256 */
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("03 001d 20" RND0 "0804 0002 abcd"), TD_KEX_ECDHE),
                     TD_OK);
    assert_int_equal(ske.curve_type, 3);
    assert_int_equal(ske.named_group, 0x1d);
    assert_int_equal(ske.pubkey_len, 32);
    assert_int_equal(ske.sig_alg, 0x0804);
    expect_diag(&ske.diag, 0, TD_AN_NONE, 0);
    /* TLS 1.0 layout: no algorithm */
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("03 0017 01 04 0002 abcd"), TD_KEX_ECDHE), TD_OK);
    assert_int_equal(ske.sig_alg, 0);
    /* anonymous: nothing after the params */
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("03 0017 01 04"), TD_KEX_ECDHE), TD_OK);
    /* signature length +1 */
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("03 0017 01 04 0804 0003 abcd"), TD_KEX_ECDHE),
                     TD_EMALFORMED);
    expect_diag(&ske.diag, 1, TD_AN_SKE_MALFORMED, 5);
    /* point length +1 */
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("03 0017 02 04"), TD_KEX_ECDHE), TD_EMALFORMED);
    expect_diag(&ske.diag, 1, TD_AN_SKE_MALFORMED, 3);
    /* DHE: p = 0x00ff01 (9 bits after the zero byte? 0xff01 = 16 bits) */
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("0003 00ff01 0001 02 0002 1234 0401 0001 aa"),
                                                  TD_KEX_DHE),
                     TD_OK);
    assert_int_equal(ske.dh_p_bits, 16);
    assert_int_equal(ske.pubkey_len, 2);
    assert_int_equal(ske.sig_alg, 0x0401);
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("0002 017f 0001 02"), TD_KEX_DHE), TD_EMALFORMED);
    expect_diag(&ske.diag, 1, TD_AN_SKE_MALFORMED, 7);
    assert_int_equal(td_parse_server_key_exchange(&ske, cur("0002 017f 0001 02 0001 05"), TD_KEX_DHE), TD_OK);
    assert_int_equal(ske.dh_p_bits, 9);
}

static void test_nst_cs(void **state)
{
    struct td_new_session_ticket nst;
    struct td_certificate_status cs;

    (void)state;
    assert_int_equal(td_parse_new_session_ticket(&nst, cur("00001c20 0003 aabbcc"), false), TD_OK);
    assert_int_equal(nst.lifetime, 7200);
    assert_int_equal(nst.ticket_len, 3);
    assert_int_equal(td_parse_new_session_ticket(&nst, cur("00001c20 0004 aabbcc"), false), TD_EMALFORMED);
    expect_diag(&nst.diag, 1, TD_AN_NST_MALFORMED, 4);
    assert_int_equal(td_parse_new_session_ticket(&nst, cur("00001c20 01020304 01 00 0002 aabb 0000"), true),
                     TD_OK);
    assert_int_equal(nst.ticket_len, 2);
    expect_diag(&nst.diag, 0, TD_AN_NONE, 0);
    assert_int_equal(td_parse_new_session_ticket(&nst, cur("00001c20 01020304 01 00 0002 aabb"), true),
                     TD_EMALFORMED);
    expect_diag(&nst.diag, 1, TD_AN_NST_MALFORMED, 14);

    assert_int_equal(td_parse_certificate_status(&cs, cur("01 000002 3000")), TD_OK);
    assert_int_equal(cs.status_type, 1);
    assert_int_equal(cs.response_len, 2);
    assert_int_equal(td_parse_certificate_status(&cs, cur("01 000003 3000")), TD_EMALFORMED);
    expect_diag(&cs.diag, 1, TD_AN_CS_MALFORMED, 1);
    assert_int_equal(td_parse_certificate_status(&cs, cur("07 000002 3000")), TD_EMALFORMED);
    expect_diag(&cs.diag, 1, TD_AN_CS_MALFORMED, 1);
}

static void test_cipher_kex(void **state)
{
    (void)state;
    assert_int_equal(td_cipher_kex(0x0067), TD_KEX_DHE);    /* seed: DHE-RSA-AES128-SHA256 */
    assert_int_equal(td_cipher_kex(0xc02f), TD_KEX_ECDHE);
    assert_int_equal(td_cipher_kex(0x002f), TD_KEX_RSA);
    assert_int_equal(td_cipher_kex(0x008c), TD_KEX_PSK);
    assert_int_equal(td_cipher_kex(0xc018), TD_KEX_ECDHE);  /* ECDH_anon */
    assert_int_equal(td_cipher_kex(0x001b), TD_KEX_DHE);    /* DH_anon */
    assert_int_equal(td_cipher_kex(0x1301), TD_KEX_UNKNOWN);
    assert_int_equal(td_cipher_kex(0x00ff), TD_KEX_UNKNOWN);
    assert_int_equal(td_cipher_kex(0xfafa), TD_KEX_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sh_cases),
        cmocka_unit_test(test_sh_fields),
        cmocka_unit_test(test_certificate),
        cmocka_unit_test(test_certificate_limits),
        cmocka_unit_test(test_certificate_request),
        cmocka_unit_test(test_ske),
        cmocka_unit_test(test_nst_cs),
        cmocka_unit_test(test_cipher_kex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
