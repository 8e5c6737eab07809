/* test_decrypt.c: key log parsing, TLS 1.3 key schedule and record
 * decryption (RFC 8448 section 3 vectors), TLS 1.2 PRF and records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "tlsdiag/decrypt.h"

static size_t hx(const char *h, uint8_t *out, size_t cap)
{
    size_t n = hex_decode(h, out, cap);
    assert_true(n != (size_t)-1);
    return n;
}

/* ---- RFC 8448 section 3 (Simple 1-RTT Handshake) ---- */
#define S_HS_SECRET "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
#define C_HS_SECRET "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"
#define S_AP_SECRET "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
/* {client} send handshake record: the client's Finished under its handshake keys */
#define C_FIN_RECORD                                                                      \
    "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc" \
    "46deb384bd1caeacab6867d726c40546"
#define C_FIN_PLAIN "14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61"

static void test_hkdf_expand_label_rfc8448(void **state)
{
    uint8_t secret[32], key[16], iv[12], want[16];
    (void)state;

    hx(S_HS_SECRET, secret, sizeof(secret));
    assert_int_equal(td_hkdf_expand_label("SHA256", secret, 32, "key", NULL, 0, key, 16), TD_OK);
    hx("3fce516009c21727d0f2e4e86ee403bc", want, sizeof(want));
    assert_memory_equal(key, want, 16);
    assert_int_equal(td_hkdf_expand_label("SHA256", secret, 32, "iv", NULL, 0, iv, 12), TD_OK);
    hx("5d313eb2671276ee13000b30", want, sizeof(want));
    assert_memory_equal(iv, want, 12);

    hx(S_AP_SECRET, secret, sizeof(secret));
    assert_int_equal(td_hkdf_expand_label("SHA256", secret, 32, "key", NULL, 0, key, 16), TD_OK);
    hx("9f02283b6c9c07efc26bb9f2ac92e356", want, sizeof(want));
    assert_memory_equal(key, want, 16);
    assert_int_equal(td_hkdf_expand_label("SHA256", secret, 32, "iv", NULL, 0, iv, 12), TD_OK);
    hx("cf782b88dd83549aadf1e984", want, sizeof(want));
    assert_memory_equal(iv, want, 12);

    /* caps of the HkdfLabel struct */
    assert_int_equal(td_hkdf_expand_label("SHA256", secret, 32, "key", NULL, 0, key, 0), TD_ELIMIT);
}

static void test_rfc8448_client_finished(void **state)
{
    struct td_rec_cipher rc;
    uint8_t secret[32], rec[128], out[128], want[64], inner = 0, want_key[16];
    size_t n, out_len = 0, wn;
    (void)state;

    hx(C_HS_SECRET, secret, sizeof(secret));
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(td_rec_cipher_init13(&rc, 0x1301, secret, 32), TD_OK);
    hx("dbfaa693d1762c5b666af5d950258d01", want_key, sizeof(want_key));
    assert_memory_equal(rc.key, want_key, 16);
    n = hx(C_FIN_RECORD, rec, sizeof(rec));
    assert_int_equal(n, 5 + 0x35);
    assert_int_equal(td_rec_unprotect(&rc, rec[0], 0x0303, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_OK);
    wn = hx(C_FIN_PLAIN, want, sizeof(want));
    assert_int_equal(out_len, wn);
    assert_memory_equal(out, want, wn);
    assert_int_equal(inner, 22);
    assert_int_equal(rc.seq, 1);

    /* the same record again: seq 1 gives another nonce, so it fails and
     * the state does not move */
    assert_int_equal(td_rec_unprotect(&rc, rec[0], 0x0303, rec + 5, n - 5, out, &out_len, &inner),
                     TD_UNP_BAD_RECORD);
    assert_int_equal(rc.seq, 1);
}

static void test_rfc8448_negative(void **state)
{
    struct td_rec_cipher rc;
    uint8_t secret[32], rec[128], out[128], inner = 0;
    size_t n, out_len = 0;
    (void)state;

    hx(C_HS_SECRET, secret, sizeof(secret));
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(td_rec_cipher_init13(&rc, 0x1301, secret, 32), TD_OK);
    n = hx(C_FIN_RECORD, rec, sizeof(rec));
    /* one bit flipped in the tag, in the ciphertext, in the header (AAD) */
    rec[n - 1] ^= 1;
    assert_int_equal(td_rec_unprotect(&rc, 23, 0x0303, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_BAD_RECORD);
    rec[n - 1] ^= 1;
    rec[7] ^= 0x80;
    assert_int_equal(td_rec_unprotect(&rc, 23, 0x0303, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_BAD_RECORD);
    rec[7] ^= 0x80;
    assert_int_equal(td_rec_unprotect(&rc, 23, 0x0301, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_BAD_RECORD);
    /* too short for a tag and a content type; wrong outer type */
    assert_int_equal(td_rec_unprotect(&rc, 23, 0x0303, rec + 5, 16, out, &out_len, &inner), TD_UNP_MALFORMED);
    assert_int_equal(td_rec_unprotect(&rc, 22, 0x0303, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_MALFORMED);
    assert_int_equal(rc.seq, 0);
    /* wrong key (the server's secret) */
    hx(S_HS_SECRET, secret, sizeof(secret));
    assert_int_equal(td_rec_cipher_init13(&rc, 0x1301, secret, 32), TD_OK);
    assert_int_equal(td_rec_unprotect(&rc, 23, 0x0303, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_BAD_RECORD);
    /* a 32-byte secret for a SHA-384 suite is refused */
    assert_int_equal(td_rec_cipher_init13(&rc, 0x1302, secret, 32), TD_EMALFORMED);
    assert_int_equal(td_rec_cipher_init13(&rc, 0x0033, secret, 32), TD_EMALFORMED);
}

static void test_key_update(void **state)
{
    struct td_rec_cipher rc;
    uint8_t secret[32], next[32], key[16];
    (void)state;

    hx(S_AP_SECRET, secret, sizeof(secret));
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(td_rec_cipher_init13(&rc, 0x1301, secret, 32), TD_OK);
    rc.seq = 5;
    assert_int_equal(td_rec_cipher_key_update(&rc), TD_OK);
    assert_int_equal(td_hkdf_expand_label("SHA256", secret, 32, "traffic upd", NULL, 0, next, 32), TD_OK);
    assert_memory_equal(rc.secret, next, 32);
    assert_int_equal(td_hkdf_expand_label("SHA256", next, 32, "key", NULL, 0, key, 16), TD_OK);
    assert_memory_equal(rc.key, key, 16);
    assert_int_equal(rc.seq, 0);
    assert_int_equal(rc.key_updates, 1);
}

static void test_suites(void **state)
{
    struct td_suite s;
    static const struct {
        uint16_t id;
        const char *cipher;
        uint8_t tag;
        bool tls13;
    } cases[] = {
        {0x1301, "AES-128-GCM", 16, true},       {0x1302, "AES-256-GCM", 16, true},
        {0x1303, "ChaCha20-Poly1305", 16, true}, {0x1304, "AES-128-CCM", 16, true},
        {0x1305, "AES-128-CCM", 8, true},        {0xc02f, "AES-128-GCM", 16, false},
        {0xc030, "AES-256-GCM", 16, false},      {0xcca8, "ChaCha20-Poly1305", 16, false},
        {0xc013, "AES-128-CBC", 0, false},       {0x003d, "AES-256-CBC", 0, false},
        {0xc0ac, "AES-128-CCM", 16, false},      {0xc0ae, "AES-128-CCM", 8, false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(td_suite_lookup(cases[i].id, &s));
        assert_string_equal(s.cipher, cases[i].cipher);
        assert_int_equal(s.tag_len, cases[i].tag);
        assert_int_equal(s.tls13, cases[i].tls13);
    }
    assert_true(td_suite_lookup(0xc014, &s)); /* ECDHE_RSA_WITH_AES_256_CBC_SHA */
    assert_string_equal(s.mac, "SHA1");
    assert_int_equal(s.mac_len, 20);
    assert_true(td_suite_lookup(0xc028, &s)); /* ECDHE_RSA_WITH_AES_256_CBC_SHA384 */
    assert_string_equal(s.prf, "SHA384");
    assert_int_equal(s.mac_len, 48);
    assert_true(td_suite_lookup(0x003b, &s)); /* RSA_WITH_NULL_SHA256: integrity only */
    assert_int_equal(s.mode12, TD_CM_NULL);
    assert_int_equal(s.mac_len, 32);
    assert_false(td_suite_lookup(0x0005, &s)); /* RC4: not supported */
    assert_false(td_suite_lookup(0x0000, &s)); /* NULL_WITH_NULL_NULL */
    assert_false(td_suite_lookup(0x00ff, &s)); /* SCSV */
}

/* The TLS 1.2 PRF (P_SHA256) test vector published with RFC 5246's
 * errata discussion (IETF TLS WG, 2009). */
static void test_prf12(void **state)
{
    uint8_t secret[16], seed[16], out[100], want[100];
    (void)state;
    hx("9bbe436ba940f017b17652849a71db35", secret, sizeof(secret));
    hx("a0ba9f936cda311827a6f796ffd5198c", seed, sizeof(seed));
    hx("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa0"
       "22f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66",
       want, sizeof(want));
    assert_int_equal(td_tls_prf("SHA256", secret, 16, "test label", seed, 16, out, 100), TD_OK);
    assert_memory_equal(out, want, 100);
}

/* TLS 1.2 records from the lab fixtures (tests/data/lab), decrypted by
 * tshark with the same key log: the client's encrypted Finished. */
struct rec12_case {
    const char *name;
    uint16_t cipher;
    bool etm;
    const char *master, *client_random, *server_random, *record, *plain;
};
static const struct rec12_case rec12_cases[] = {
    {"dec_tls12_aes128gcm_curl: ECDHE-RSA-AES128-GCM-SHA256", 0xc02f, false,
     "dd61dcf93501642fb8c3a7abb3ba1c4248bc25dc83092259275a28fe279bcd0861d7483c1e05091ea05c078ae0ff86fc",
     "729a78fab13f8193b517c9a91fe7a2bdb0ec8cef8dcd3e1e98753f3085d58db8",
     "ae3311e999fae4b0a604d25991301575b0b9c1a022a4586072925f6fd5133dc4",
     "1603030028284a910e4b4b797259efc8955a1d200dd7155c8a5603875017fb1041e5e951911f259a75e3e0dc52",
     "1400000c116f1d95d5811d42c2ba6885"},
    {"dec_tls12_cbc_sha384_gnutls: ECDHE-RSA-AES256-SHA384, MAC-then-encrypt", 0xc028, false,
     "e520a4ba1ab1587a9025772a5e517e46df128555dcb0ccbc81c5ff7ca6c23482f8678ee5d444774a8fb4f85ac1a23c54",
     "ec7fabbab8893049feed0c6cda900dfb3c595256ba2e372cddd05cdaafa57814",
     "484c1c3d38774c86e0415ebb8ce310b00363dc7edae1114190b731bbaff1cfdb",
     "160303006069d8a3f0d7dc93cc1a8d254a3645f00a2b8daf37d842992bbac2a0e96a7b138f859ce31aaef01faf80dcf098e23f2cf4"
     "3db0cedbcb0e9fa7a4234179f34ccb1d979a5ef451ff57e16312f113cf105c7d0c3acdf2e40dcf1d71cf17bbe44098d5",
     "1400000cb18ecd70c99094fd952de365"},
};

static void test_tls12_records(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rec12_cases) / sizeof(rec12_cases[0]); i++) {
        const struct rec12_case *t = &rec12_cases[i];
        struct td_rec_cipher rc;
        uint8_t ms[48], cr[32], sr[32], rec[256], out[256], want[64], inner = 0;
        size_t n, wn, out_len = 0;

        print_message("%s\n", t->name);
        hx(t->master, ms, sizeof(ms));
        hx(t->client_random, cr, sizeof(cr));
        hx(t->server_random, sr, sizeof(sr));
        n = hx(t->record, rec, sizeof(rec));
        wn = hx(t->plain, want, sizeof(want));
        memset(&rc, 0, sizeof(rc));
        assert_int_equal(td_rec_cipher_init12(&rc, 0x0303, t->cipher, t->etm, ms, cr, sr, true), TD_OK);
        assert_int_equal(td_rec_unprotect(&rc, rec[0], 0x0303, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_OK);
        assert_int_equal(inner, 22);
        assert_int_equal(out_len, wn);
        assert_memory_equal(out, want, wn);
        assert_int_equal(rc.seq, 1);

        /* the server's keys do not open the client's record */
        assert_int_equal(td_rec_cipher_init12(&rc, 0x0303, t->cipher, t->etm, ms, cr, sr, false), TD_OK);
        assert_int_equal(td_rec_unprotect(&rc, rec[0], 0x0303, rec + 5, n - 5, out, &out_len, &inner),
                         TD_UNP_BAD_RECORD);
        /* one flipped ciphertext bit, with the right keys */
        assert_int_equal(td_rec_cipher_init12(&rc, 0x0303, t->cipher, t->etm, ms, cr, sr, true), TD_OK);
        rec[n - 20] ^= 0x01;
        assert_int_not_equal(td_rec_unprotect(&rc, rec[0], 0x0303, rec + 5, n - 5, out, &out_len, &inner), TD_UNP_OK);
        assert_int_equal(rc.seq, 0);
        /* truncated below the minimum */
        assert_int_equal(td_rec_unprotect(&rc, rec[0], 0x0303, rec + 5, 8, out, &out_len, &inner), TD_UNP_MALFORMED);
    }
    /* refused: SSL 3.0, an AEAD suite in TLS 1.1, RC4 */
    {
        struct td_rec_cipher rc;
        uint8_t ms[48] = {0}, cr[32] = {0}, sr[32] = {0};
        assert_int_equal(td_rec_cipher_init12(&rc, 0x0300, 0xc013, false, ms, cr, sr, true), TD_EMALFORMED);
        assert_int_equal(td_rec_cipher_init12(&rc, 0x0302, 0xc02f, false, ms, cr, sr, true), TD_EMALFORMED);
        assert_int_equal(td_rec_cipher_init12(&rc, 0x0303, 0x0005, false, ms, cr, sr, true), TD_EMALFORMED);
    }
}

/* ---- key log ---- */

#define CR1 "c1339d8a5d7e61929355e7831a951cb4149abb4b0288f4e6ba1c3b84d3d3f0a1"
#define SEC32 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define MS48 SEC32 "00112233445566778899aabbccddeeff"

static void test_keylog_parse(void **state)
{
    struct td_keylog *kl = td_keylog_new();
    struct td_keylog_stats st;
    uint8_t cr[32], out[TD_SECRET_MAX], want[48];
    static const char text[] =
        "# SSL/TLS secrets log file, generated by OpenSSL\n"
        "SERVER_HANDSHAKE_TRAFFIC_SECRET " CR1 " " SEC32 "\n"
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET " CR1 " " SEC32 "\r\n"
        "\n"
        "CLIENT_RANDOM " CR1 " " MS48 "\n"
        "CLIENT_RANDOM " CR1 " " SEC32 "\n"            /* 32 bytes: wrong for a master secret */
        "RSA 0011223344556677 " MS48 "\n"              /* unsupported label */
        "CLIENT_TRAFFIC_SECRET_0 " CR1 "zz " SEC32 "\n" /* bad hex */
        "SERVER_TRAFFIC_SECRET_0 " CR1 " " SEC32 " extra\n"
        "EXPORTER_SECRET " CR1 " " SEC32; /* no final newline */
    (void)state;

    assert_non_null(kl);
    td_keylog_add_text(kl, (const uint8_t *)text, sizeof(text) - 1);
    td_keylog_stats(kl, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.secrets, 4);
    assert_int_equal(st.ignored, 3);
    assert_int_equal(st.unused, 1);
    hx(CR1, cr, sizeof(cr));
    assert_int_equal(td_keylog_find(kl, cr, TD_SEC_SERVER_HS, out), 32);
    hx(SEC32, want, sizeof(want));
    assert_memory_equal(out, want, 32);
    assert_int_equal(td_keylog_find(kl, cr, TD_SEC_MASTER, out), 48);
    assert_int_equal(td_keylog_find(kl, cr, TD_SEC_SERVER_AP, out), 0);
    assert_int_equal(td_keylog_find(kl, cr, TD_SEC_EXPORTER, out), 32);
    cr[0] ^= 1;
    assert_int_equal(td_keylog_find(kl, cr, TD_SEC_MASTER, out), 0);
    assert_false(td_keylog_has_any(kl, cr));
    td_keylog_free(kl);
}

static void test_keylog_caps(void **state)
{
    struct td_keylog *kl = td_keylog_new();
    struct td_keylog_stats st;
    char line[TD_KEYLOG_LINE_MAX + 200];
    (void)state;

    /* a line over the cap is ignored whole, the next one still counts */
    memset(line, 'A', sizeof(line));
    line[sizeof(line) - 1] = '\n';
    td_keylog_add_text(kl, (const uint8_t *)line, sizeof(line));
    td_keylog_add_text(kl, (const uint8_t *)"CLIENT_RANDOM " CR1 " " MS48 "\n", 14 + 64 + 1 + 96 + 1);
    td_keylog_stats(kl, &st);
    assert_int_equal(st.ignored, 1);
    assert_int_equal(st.secrets, 1);
    /* many distinct randoms: the table grows */
    for (unsigned i = 0; i < 5000; i++) {
        char buf[256];
        int n = snprintf(buf, sizeof(buf), "CLIENT_RANDOM %064x %s\n", i, MS48);
        td_keylog_add_text(kl, (const uint8_t *)buf, (size_t)n);
    }
    td_keylog_stats(kl, &st);
    assert_int_equal(st.entries, 5001);
    {
        uint8_t cr[32] = {0}, out[TD_SECRET_MAX];
        cr[30] = 0x12;
        cr[31] = 0x34;
        assert_int_equal(td_keylog_find(kl, cr, TD_SEC_MASTER, out), 48);
    }
    td_keylog_free(kl);
    td_keylog_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_expand_label_rfc8448),
        cmocka_unit_test(test_rfc8448_client_finished),
        cmocka_unit_test(test_rfc8448_negative),
        cmocka_unit_test(test_key_update),
        cmocka_unit_test(test_suites),
        cmocka_unit_test(test_prf12),
        cmocka_unit_test(test_tls12_records),
        cmocka_unit_test(test_keylog_parse),
        cmocka_unit_test(test_keylog_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
