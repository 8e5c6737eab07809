/* test_hello.c: ClientHello and SSLv2 CLIENT-HELLO parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "seed.h"
#include "tlsdiag/tls.h"

/* 41-byte ClientHello prefix (version, random, empty session id, one suite,
 * null compression); offsets below are from the start of the body. */
#define CH_PREFIX                                                            \
    "0303" "0000000000000000000000000000000000000000000000000000000000000000" \
    "00" "0002 1301" "0100"

struct ch_case {
    const char *name;
    const char *hex;
    enum td_status st;
    uint32_t n_an;      /* anomalies expected in total */
    enum td_anomaly an; /* the first one */
    uint32_t off;
    uint16_t ext_type;
};

static const struct ch_case ch_cases[] = {
    {"minimal, no extensions", CH_PREFIX, TD_OK, 0, TD_AN_NONE, 0, 0},
    {"truncated by one (compression)", "0303" "0000000000000000000000000000000000000000000000000000000000000000" "00" "0002 1301" "01",
     TD_EMALFORMED, 1, TD_AN_CH_MALFORMED, 39, 0},
    {"truncated in random", "0303 0000", TD_EMALFORMED, 1, TD_AN_CH_MALFORMED, 2, 0},
    {"empty body", "", TD_EMALFORMED, 1, TD_AN_CH_MALFORMED, 0, 0},
    {"session id 33", "0303" "0000000000000000000000000000000000000000000000000000000000000000" "21"
     "000000000000000000000000000000000000000000000000000000000000000000" "0002 1301 0100",
     TD_EMALFORMED, 1, TD_AN_CH_MALFORMED, 35, 0},
    {"cipher length +1", "0303" "0000000000000000000000000000000000000000000000000000000000000000" "00" "0003 1301" "0100",
     TD_OK, 2, TD_AN_CH_ODD_CIPHERS, 37, 0},
    {"cipher length -1", "0303" "0000000000000000000000000000000000000000000000000000000000000000" "00" "0001 1301" "0100",
     TD_EMALFORMED, 2, TD_AN_CH_ODD_CIPHERS, 37, 0},
    {"empty cipher list", "0303" "0000000000000000000000000000000000000000000000000000000000000000" "00" "0000" "0100",
     TD_OK, 1, TD_AN_CH_NO_CIPHERS, 37, 0},
    {"empty extensions block", CH_PREFIX "0000", TD_OK, 0, TD_AN_NONE, 0, 0},
    {"one byte of extensions block", CH_PREFIX "00", TD_EMALFORMED, 1, TD_AN_EXT_BLOCK_MALFORMED, 41, 0},
    {"ext block length +1", CH_PREFIX "0005" "00170000", TD_EMALFORMED, 1, TD_AN_EXT_BLOCK_MALFORMED, 41, 0},
    {"ext block length -1", CH_PREFIX "0003" "00170000", TD_EMALFORMED, 1, TD_AN_EXT_BLOCK_MALFORMED, 45, 0},
    {"extension length overruns block", CH_PREFIX "0004" "00000009", TD_EMALFORMED, 1,
     TD_AN_EXT_BLOCK_MALFORMED, 45, 0},
    {"trailing byte after block", CH_PREFIX "0004" "00170000" "ff", TD_OK, 1, TD_AN_CH_TRAILING_DATA, 47, 0},
    {"duplicate extension", CH_PREFIX "0008" "00170000" "00170000", TD_OK, 1, TD_AN_EXT_DUPLICATE, 51, 0x17},
    {"sni ok", CH_PREFIX "000e" "0000 000a 0008 00 0005 612e636f6d", TD_OK, 0, TD_AN_NONE, 0, 0},
    {"sni list length +1", CH_PREFIX "000e" "0000 000a 0009 00 0005 612e636f6d", TD_OK, 1,
     TD_AN_EXT_BODY_MALFORMED, 47, 0},
    {"sni list length -1", CH_PREFIX "000e" "0000 000a 0007 00 0005 612e636f6d", TD_OK, 1,
     TD_AN_EXT_BODY_MALFORMED, 50, 0},
    {"sni empty list", CH_PREFIX "0006" "0000 0002 0000", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
    {"sni trailing byte", CH_PREFIX "000f" "0000 000b 0008 00 0005 612e636f6d ff", TD_OK, 1,
     TD_AN_EXT_TRAILING_DATA, 57, 0},
    {"sni ip literal", CH_PREFIX "0010" "0000 000c 000a 00 0007 312e322e332e34", TD_OK, 1,
     TD_AN_SNI_BAD_HOSTNAME, 52, 0},
    {"sni trailing dot", CH_PREFIX "000f" "0000 000b 0009 00 0006 612e636f6d2e", TD_OK, 1,
     TD_AN_SNI_BAD_HOSTNAME, 52, 0},
    {"sni two names", CH_PREFIX "0016" "0000 0012 0010 00 0005 612e636f6d 00 0005 622e636f6d", TD_OK, 1,
     TD_AN_SNI_MULTIPLE_NAMES, 60, 0},
    {"alpn ok", CH_PREFIX "0012" "0010 000e 000c 02 6832 08 687474702f312e31", TD_OK, 0, TD_AN_NONE, 0, 0},
    {"alpn empty name", CH_PREFIX "0009" "0010 0005 0003 00 01 68", TD_OK, 1, TD_AN_ALPN_EMPTY_NAME, 50, 0},
    {"alpn name length +1", CH_PREFIX "0009" "0010 0005 0003 03 6832", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
    {"alpn empty list", CH_PREFIX "0006" "0010 0002 0000", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
    {"supported_versions ok", CH_PREFIX "0009" "002b 0005 04 0304 0303", TD_OK, 0, TD_AN_NONE, 0, 0},
    {"supported_versions empty", CH_PREFIX "0005" "002b 0001 00", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 48, 0},
    {"supported_versions odd", CH_PREFIX "0008" "002b 0004 03 0304 03", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 48, 0},
    {"supported_versions length +1", CH_PREFIX "0009" "002b 0005 05 0304 0303", TD_OK, 1,
     TD_AN_EXT_BODY_MALFORMED, 47, 0},
    {"groups ok", CH_PREFIX "000a" "000a 0006 0004 001d 0017", TD_OK, 0, TD_AN_NONE, 0, 0},
    {"groups empty", CH_PREFIX "0006" "000a 0002 0000", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
    {"groups length -1", CH_PREFIX "000a" "000a 0006 0003 001d 0017", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
    {"sig algs empty", CH_PREFIX "0006" "000d 0002 0000", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
    {"ec point formats empty", CH_PREFIX "0005" "000b 0001 00", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 48, 0},
    {"key share ok", CH_PREFIX "002a" "0033 0026 0024 001d 0020"
     "0000000000000000000000000000000000000000000000000000000000000000", TD_OK, 0, TD_AN_NONE, 0, 0},
    {"x25519 share too short", CH_PREFIX "000b" "0033 0007 0005 001d 0001 aa", TD_OK, 1,
     TD_AN_KEY_SHARE_BAD_LENGTH, 53, 0},
    {"key share length +1", CH_PREFIX "000b" "0033 0007 0005 001d 0002 aa", TD_OK, 1,
     TD_AN_EXT_BODY_MALFORMED, 51, 0},
    {"key share duplicate group", CH_PREFIX "0010" "0033 000c 000a 0063 0001 aa 0063 0001 bb", TD_OK, 1,
     TD_AN_KEY_SHARE_DUPLICATE_GROUP, 58, 0},
    {"psk ok", CH_PREFIX "0033" "0029 002f 000a 0004 61626364 00000001 0021 20"
     "0000000000000000000000000000000000000000000000000000000000000000", TD_OK, 0, TD_AN_NONE, 0, 0},
    {"psk empty identities", CH_PREFIX "0008" "0029 0004 0000 0000", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
    {"padding non-zero", CH_PREFIX "0007" "0015 0003 00 01 00", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 48, 0},
    {"early_data non-empty", CH_PREFIX "0005" "002a 0001 00", TD_OK, 1, TD_AN_EXT_TRAILING_DATA, 47, 0},
    {"record_size_limit truncated", CH_PREFIX "0005" "001c 0001 40", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 47, 0},
    {"record_size_limit too small", CH_PREFIX "0006" "001c 0002 003f", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 47, 0},
    {"reneg info length +1", CH_PREFIX "0005" "ff01 0001 01", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 47, 0},
    {"cookie empty", CH_PREFIX "0006" "002c 0002 0000", TD_OK, 1, TD_AN_EXT_BODY_MALFORMED, 49, 0},
};

static size_t decode(const char *hex, uint8_t *buf, size_t cap)
{
    size_t n = hex_decode(hex, buf, cap);

    assert_true(n != (size_t)-1);
    return n;
}

static void test_ch_cases(void **state)
{
    static struct td_client_hello ch;

    (void)state;
    for (size_t i = 0; i < sizeof(ch_cases) / sizeof(ch_cases[0]); i++) {
        const struct ch_case *tc = &ch_cases[i];
        uint8_t buf[512];
        size_t n = decode(tc->hex, buf, sizeof(buf));
        struct td_cur c;

        print_message("case: %s\n", tc->name);
        td_cur_init(&c, buf, n);
        assert_int_equal(td_parse_client_hello(&ch, &c), tc->st);
        assert_int_equal(ch.diag.n, tc->n_an);
        if (tc->n_an != 0) {
            assert_int_equal(ch.diag.recs[0].code, tc->an);
            assert_int_equal(ch.diag.recs[0].off, tc->off);
            if (tc->ext_type != 0)
                assert_int_equal(ch.diag.recs[0].ext_type, tc->ext_type);
        }
    }
}

/* parse_hex parses a ClientHello body given as hex into |ch|. */
static enum td_status parse_hex(struct td_client_hello *ch, const char *hex)
{
    uint8_t buf[512];
    size_t n = decode(hex, buf, sizeof(buf));
    struct td_cur c;

    td_cur_init(&c, buf, n);
    return td_parse_client_hello(ch, &c);
}

static void test_ch_fields(void **state)
{
    static struct td_client_hello ch;

    (void)state;
    assert_int_equal(parse_hex(&ch, CH_PREFIX "000e" "0000 000a 0008 00 0005 612e636f6d"), TD_OK);
    assert_true(ch.has_sni);
    assert_int_equal(ch.sni_len, 5);
    assert_string_equal(ch.sni, "a.com");
    assert_int_equal(ch.ext_order.n, 1);

    assert_int_equal(parse_hex(&ch, CH_PREFIX "0012" "0010 000e 000c 02 6832 08 687474702f312e31"), TD_OK);
    assert_int_equal(ch.num_alpn, 2);
    assert_int_equal(ch.total_alpn, 2);
    assert_memory_equal(ch.alpn[0].b, "h2", 2);
    assert_int_equal(ch.alpn[1].len, 8);
    assert_int_equal(ch.alpn[1].last_byte, '1');
    assert_false(ch.has_sni);

    assert_int_equal(parse_hex(&ch, CH_PREFIX "000b" "002b 0007 06 5a5a 0304 0303"), TD_OK);
    assert_true(ch.has_supported_versions);
    assert_int_equal(ch.versions.n, 3);
    assert_int_equal(ch.versions.v[0], 0x5a5a);
    assert_int_equal(ch.num_grease, 1);

    assert_int_equal(parse_hex(&ch, CH_PREFIX "0017"
                                   "0a0a 0000" "1a1a 0001 00" "0017 0000" "0031 0000" "002d 0002 0101"),
                     TD_OK);
    assert_int_equal(ch.num_grease, 2);
    assert_int_equal(ch.ext_order.n, 5);
    assert_int_equal(ch.ext_order.v[0], 0x0a0a);
    assert_int_equal(ch.ext_order.v[4], 0x002d);
    assert_true(ch.has_extended_master_secret);
    assert_true(ch.has_post_handshake_auth);
    assert_true(ch.has_psk_modes);
    assert_int_equal(ch.psk_modes.n, 1);
    assert_int_equal(ch.psk_modes.v[0], 1);

    assert_int_equal(parse_hex(&ch, CH_PREFIX "002a" "0033 0026 0024 001d 0020"
                                   "0000000000000000000000000000000000000000000000000000000000000000"),
                     TD_OK);
    assert_true(ch.has_key_share);
    assert_int_equal(ch.num_key_shares, 1);
    assert_int_equal(ch.key_shares[0].group, 0x1d);
    assert_int_equal(ch.key_shares[0].key_len, 32);

    assert_int_equal(parse_hex(&ch, CH_PREFIX "0033" "0029 002f 000a 0004 61626364 00000001 0021 20"
                                   "0000000000000000000000000000000000000000000000000000000000000000"),
                     TD_OK);
    assert_true(ch.has_psk);
    assert_int_equal(ch.num_psk_identities, 1);

    assert_int_equal(parse_hex(&ch, CH_PREFIX "0027"
                                   "0005 0005 01 0000 0000" "0015 0003 000000" "001c 0002 4001"
                                   "fe0d 0001 00" "ff01 0001 00" "002c 0003 0001 aa"),
                     TD_OK);
    assert_true(ch.has_status_request);
    assert_true(ch.has_padding);
    assert_int_equal(ch.padding_len, 3);
    assert_true(ch.has_record_size_limit);
    assert_int_equal(ch.record_size_limit, 0x4001);
    assert_true(ch.has_ech);
    assert_true(ch.has_renegotiation_info);
    assert_true(ch.has_cookie);
    assert_int_equal(ch.diag.n, 0);

    /* record_version survives the parse */
    ch.record_version = 0x0301;
    assert_int_equal(parse_hex(&ch, CH_PREFIX "0004" "0023 0000"), TD_OK);
    assert_int_equal(ch.record_version, 0x0301);
    assert_true(ch.has_session_ticket);
    assert_int_equal(ch.session_ticket_len, 0);
}

/* parse_record parses a whole seed record (record + handshake header). */
static enum td_status parse_record(struct td_client_hello *ch, const char *hex)
{
    uint8_t buf[512];
    size_t n = decode(hex, buf, sizeof(buf));
    struct td_cur c;
    struct td_cur body;
    struct td_record_hdr h;
    struct td_diag d = {0};
    uint8_t type;
    uint32_t len = 0;

    td_cur_init(&c, buf, n);
    assert_int_equal(td_record_header(&h, &c, true, &d), TD_REC_OK);
    assert_int_equal(h.type, TD_CT_HANDSHAKE);
    assert_int_equal(h.len, n - 5);
    assert_true(td_cur_skip(&c, 5));
    assert_true(td_cur_get_u8(&c, &type));
    assert_int_equal(type, TD_HS_CLIENT_HELLO);
    assert_true(td_cur_get_u24(&c, &len));
    assert_true(td_cur_get_bytes(&c, &body, len));
    assert_true(td_cur_empty(&c));
    ch->record_version = h.version;
    return td_parse_client_hello(ch, &body);
}

static void test_seed_ssl3(void **state)
{
    static struct td_client_hello ch;

    (void)state;
    assert_int_equal(parse_record(&ch, SEED_SSL3_CH), TD_OK);
    assert_int_equal(ch.record_version, 0x0300);
    assert_int_equal(ch.legacy_version, 0x0300);
    assert_int_equal(ch.msg_len, 0x8b);
    assert_int_equal(ch.random[0], 0x2a);
    assert_int_equal(ch.random[31], 0x9b);
    assert_int_equal(ch.session_id_len, 0);
    assert_int_equal(ch.num_ciphers, 50);
    assert_int_equal(ch.total_ciphers, 50);
    assert_int_equal(ch.ciphers[0], 0xc014);
    assert_int_equal(ch.ciphers[49], 0x00ff);
    assert_true(ch.has_reneg_scsv);
    assert_false(ch.has_fallback_scsv);
    assert_int_equal(ch.compression.n, 1);
    assert_int_equal(ch.compression.v[0], 0);
    assert_false(ch.has_extensions);
    assert_int_equal(ch.ext_order.n, 0);
    assert_int_equal(ch.diag.n, 0);
}

static void test_seed_tls12(void **state)
{
    static struct td_client_hello ch;
    const uint16_t sigs[15] = {0x0601, 0x0602, 0x0603, 0x0501, 0x0502, 0x0503, 0x0401, 0x0402,
                               0x0403, 0x0301, 0x0302, 0x0303, 0x0201, 0x0202, 0x0203};

    (void)state;
    assert_int_equal(parse_record(&ch, SEED_TLS12_CH), TD_OK);
    assert_int_equal(ch.record_version, 0x0301);
    assert_int_equal(ch.legacy_version, 0x0303);
    assert_int_equal(ch.num_ciphers, 2);
    assert_int_equal(ch.ciphers[0], 0x0067);
    assert_int_equal(ch.ciphers[1], 0x00ff);
    assert_true(ch.has_reneg_scsv);
    assert_true(ch.has_extensions);
    assert_int_equal(ch.ext_order.n, 3);
    assert_int_equal(ch.ext_order.v[0], TD_EXT_SESSION_TICKET);
    assert_int_equal(ch.ext_order.v[1], TD_EXT_SIGNATURE_ALGORITHMS);
    assert_int_equal(ch.ext_order.v[2], 0x000f);
    assert_true(ch.has_session_ticket);
    assert_int_equal(ch.session_ticket_len, 0);
    assert_true(ch.has_sig_algs);
    assert_int_equal(ch.sig_algs.n, 15);
    assert_memory_equal(ch.sig_algs.v, sigs, sizeof(sigs));
    assert_false(ch.has_sni);
    assert_false(ch.has_supported_versions);
    assert_int_equal(ch.diag.n, 0);
}

/* Negative neighbours of the seed TLS 1.2 hello: cut by one byte. */
static void test_seed_tls12_truncated(void **state)
{
    static struct td_client_hello ch;
    uint8_t buf[512];
    size_t n = decode(SEED_TLS12_CH, buf, sizeof(buf));
    struct td_cur c;

    (void)state;
    /* body without its last byte: heartbeat body overruns the block */
    td_cur_init(&c, buf + 9, n - 9 - 1);
    assert_int_equal(td_parse_client_hello(&ch, &c), TD_EMALFORMED);
    assert_int_equal(ch.diag.n, 1);
    assert_int_equal(ch.diag.recs[0].code, TD_AN_EXT_BLOCK_MALFORMED);
    assert_int_equal(ch.diag.recs[0].off, 43); /* the block length itself */
}

static uint8_t *build_many(size_t n_cipher, size_t n_ext, size_t *out_len)
{
    size_t len = 2 + 32 + 1 + 2 + 2 * n_cipher + 2 + 2 + 4 * n_ext;
    uint8_t *b = calloc(1, len);
    size_t o = 0;

    assert_non_null(b);
    b[o++] = 3;
    b[o++] = 3;
    o += 32;
    b[o++] = 0;
    b[o++] = (uint8_t)((2 * n_cipher) >> 8);
    b[o++] = (uint8_t)(2 * n_cipher);
    for (size_t i = 0; i < n_cipher; i++) {
        b[o++] = (uint8_t)(0x10 + (i >> 8));
        b[o++] = (uint8_t)i;
    }
    b[o++] = 1;
    b[o++] = 0;
    b[o++] = (uint8_t)((4 * n_ext) >> 8);
    b[o++] = (uint8_t)(4 * n_ext);
    for (size_t i = 0; i < n_ext; i++) {
        b[o++] = (uint8_t)(0x40 + (i >> 8));
        b[o++] = (uint8_t)i;
        b[o++] = 0;
        b[o++] = 0;
    }
    assert_int_equal(o, len);
    *out_len = len;
    return b;
}

static void test_ch_limits(void **state)
{
    static struct td_client_hello ch;
    size_t len;
    uint8_t *b = build_many(520, 130, &len);
    struct td_cur c;

    (void)state;
    td_cur_init(&c, b, len);
    assert_int_equal(td_parse_client_hello(&ch, &c), TD_OK);
    assert_int_equal(ch.num_ciphers, TD_MAX_CIPHERS);
    assert_int_equal(ch.total_ciphers, 520);
    assert_int_equal(ch.ext_order.n, TD_MAX_U16_LIST);
    assert_int_equal(ch.ext_order.total, 130);
    assert_int_equal(ch.diag.n, 2);
    assert_int_equal(ch.diag.recs[0].code, TD_AN_LIMIT_CIPHERS);
    assert_int_equal(ch.diag.recs[0].off, 37 + 2 * 512);
    assert_int_equal(ch.diag.recs[1].code, TD_AN_LIMIT_EXTENSIONS);
    assert_int_equal(ch.diag.recs[1].off, 37 + 2 * 520 + 2 + 2 + 4 * 128);
    free(b);

    /* exactly at the caps: no anomaly */
    b = build_many(512, 128, &len);
    td_cur_init(&c, b, len);
    assert_int_equal(td_parse_client_hello(&ch, &c), TD_OK);
    assert_int_equal(ch.total_ciphers, 512);
    assert_int_equal(ch.diag.n, 0);
    free(b);
}

/* --max-extensions: td_parse_client_hello_max keeps |max_ext| types in
 * ext_order, records LIMIT_EXTENSIONS once at the first type over it, and
 * still walks (and counts) every extension. */
static void test_ch_max_extensions(void **state)
{
    static struct td_client_hello ch;
    size_t len;
    uint8_t *b = build_many(2, 10, &len);
    struct td_cur c;

    (void)state;
    td_cur_init(&c, b, len);
    assert_int_equal(td_parse_client_hello_max(&ch, &c, 3), TD_OK);
    assert_int_equal(ch.ext_order.n, 3);
    assert_int_equal(ch.ext_order.total, 10);
    assert_int_equal(ch.ext_order.v[2], 0x4002);
    assert_int_equal(ch.diag.n, 1);
    assert_int_equal(ch.diag.total, 1);
    assert_int_equal(ch.diag.recs[0].code, TD_AN_LIMIT_EXTENSIONS);
    assert_int_equal(ch.diag.recs[0].ext_type, 0x4003);
    assert_int_equal(ch.diag.recs[0].off, 37 + 2 * 2 + 2 + 2 + 4 * 3);
    /* 0 is the compiled cap: all ten kept */
    td_cur_init(&c, b, len);
    assert_int_equal(td_parse_client_hello_max(&ch, &c, 0), TD_OK);
    assert_int_equal(ch.ext_order.n, 10);
    assert_int_equal(ch.diag.n, 0);
    /* above the compiled cap it is the compiled cap */
    free(b);
    b = build_many(2, 130, &len);
    td_cur_init(&c, b, len);
    assert_int_equal(td_parse_client_hello_max(&ch, &c, 200), TD_OK);
    assert_int_equal(ch.ext_order.n, TD_MAX_U16_LIST);
    assert_int_equal(ch.diag.recs[0].code, TD_AN_LIMIT_EXTENSIONS);
    free(b);
    /* exactly at the cap: no anomaly */
    b = build_many(2, 3, &len);
    td_cur_init(&c, b, len);
    assert_int_equal(td_parse_client_hello_max(&ch, &c, 3), TD_OK);
    assert_int_equal(ch.ext_order.n, 3);
    assert_int_equal(ch.diag.n, 0);
    free(b);
}

struct ssl2_case {
    const char *name;
    const char *hex;
    enum td_status st;
    uint32_t n_an;
    enum td_anomaly an;
    uint32_t off;
};

#define SSL2_CHAL "00112233445566778899aabbccddeeff"
static const struct ssl2_case ssl2_cases[] = {
    {"ok", "01 0301 0009 0000 0010 000039 010080 005600" SSL2_CHAL, TD_OK, 0, TD_AN_NONE, 0},
    {"challenge truncated by one", "01 0301 0009 0000 0010 000039 010080 005600"
     "00112233445566778899aabbccddee", TD_EMALFORMED, 1, TD_AN_SSL2_MALFORMED, 18},
    {"cipher length not multiple of 3", "01 0301 0008 0000 0010 000039 010080 0056" SSL2_CHAL,
     TD_OK, 1, TD_AN_SSL2_MALFORMED, 9},
    {"wrong msg type", "02 0301 0009 0000 0010 000039 010080 005600" SSL2_CHAL, TD_EMALFORMED, 1,
     TD_AN_SSL2_MALFORMED, 1},
    {"no ciphers", "01 0301 0000 0000 0010" SSL2_CHAL, TD_OK, 1, TD_AN_CH_NO_CIPHERS, 9},
    {"challenge 15", "01 0301 0003 0000 000f 000039 00112233445566778899aabbccddee", TD_OK, 1,
     TD_AN_SSL2_MALFORMED, 12},
    {"trailing", "01 0301 0003 0000 0010 000039" SSL2_CHAL "00", TD_OK, 1, TD_AN_CH_TRAILING_DATA, 28},
};

static void test_ssl2_cases(void **state)
{
    static struct td_client_hello ch;

    (void)state;
    for (size_t i = 0; i < sizeof(ssl2_cases) / sizeof(ssl2_cases[0]); i++) {
        const struct ssl2_case *tc = &ssl2_cases[i];
        uint8_t buf[128];
        size_t n = decode(tc->hex, buf, sizeof(buf));
        struct td_cur c;

        print_message("case: %s\n", tc->name);
        td_cur_init(&c, buf, n);
        assert_int_equal(td_parse_sslv2_client_hello(&ch, &c), tc->st);
        assert_true(ch.sslv2_format);
        assert_int_equal(ch.diag.n, tc->n_an);
        if (tc->n_an != 0) {
            assert_int_equal(ch.diag.recs[0].code, tc->an);
            assert_int_equal(ch.diag.recs[0].off, tc->off);
        }
    }
    {
        uint8_t buf[128];
        size_t n = decode(ssl2_cases[0].hex, buf, sizeof(buf));
        struct td_cur c;

        td_cur_init(&c, buf, n);
        assert_int_equal(td_parse_sslv2_client_hello(&ch, &c), TD_OK);
        assert_int_equal(ch.legacy_version, 0x0301);
        assert_int_equal(ch.num_ciphers, 2);
        assert_int_equal(ch.ciphers[0], 0x0039);
        assert_int_equal(ch.ciphers[1], 0x5600);
        assert_true(ch.has_fallback_scsv);
        assert_int_equal(ch.num_sslv2_only_ciphers, 1);
        assert_int_equal(ch.random[15], 0);
        assert_int_equal(ch.random[16], 0x00);
        assert_int_equal(ch.random[17], 0x11);
        assert_int_equal(ch.random[31], 0xff);
    }
}

/* td_cur_skip_zeros (a ClientHello's padding): stops at the first non-zero
 * byte wherever it is, in the 8-byte strides or the tail, and never reads
 * past the cursor (the byte after it is non-zero: ASan and the position
 * tell) */
static void test_skip_zeros(void **state)
{
    uint8_t buf[48];

    (void)state;
    for (size_t len = 0; len <= 40; len++) {
        for (size_t nz = 0; nz <= len; nz++) {
            struct td_cur c;
            memset(buf, 0, sizeof(buf));
            buf[len] = 0xff; /* outside the cursor */
            if (nz < len)
                buf[nz] = 0x01;
            td_cur_init(&c, buf + 0, len);
            td_cur_skip_zeros(&c);
            assert_int_equal(c.off, nz);
            assert_int_equal(td_cur_len(&c), len - nz);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ch_cases),
        cmocka_unit_test(test_skip_zeros),
        cmocka_unit_test(test_ch_fields),
        cmocka_unit_test(test_seed_ssl3),
        cmocka_unit_test(test_seed_tls12),
        cmocka_unit_test(test_seed_tls12_truncated),
        cmocka_unit_test(test_ch_limits),
        cmocka_unit_test(test_ch_max_extensions),
        cmocka_unit_test(test_ssl2_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
