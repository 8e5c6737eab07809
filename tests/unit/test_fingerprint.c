/* test_fingerprint.c: JA3/JA3S/JA4 on the seed hellos and on FoxIO's JA4
 * test captures (read from ../shared/corpus at run time, skipped when
 * absent).  Expected JA4 values come from the captures' .json files; JA3
 * values from tshark 4.0 (-e tls.handshake.ja3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"
#include "hex.h"
#include "seed.h"
#include "tlsdiag/tls.h"

#define JA3_SEED_TLS12 "e930e38d8889f2200c26a84cbaee4fa2"  /* md5sum of the string */
#define JA3S_EXAMPLE "f4febc55ea12b31ae17cfb7e614afda8"

static struct td_client_hello ch;

/* parse_record parses a record holding one ClientHello. */
static void parse_record(const uint8_t *buf, size_t n)
{
    struct td_cur c;
    struct td_cur body;
    struct td_record_hdr h;
    struct td_diag d = {0};
    uint8_t type;
    uint32_t len = 0;

    td_cur_init(&c, buf, n);
    assert_int_equal(td_record_header(&h, &c, false, &d), TD_REC_OK);
    assert_true(td_cur_skip(&c, 5));
    assert_true(td_cur_get_u8(&c, &type));
    assert_int_equal(type, TD_HS_CLIENT_HELLO);
    assert_true(td_cur_get_u24(&c, &len));
    assert_true(td_cur_get_bytes(&c, &body, len));
    assert_int_equal(td_parse_client_hello(&ch, &body), TD_OK);
}

static void parse_hex_record(const char *hex)
{
    uint8_t buf[1024];
    size_t n = hex_decode(hex, buf, sizeof(buf));

    assert_true(n != (size_t)-1);
    parse_record(buf, n);
}

static void test_seed_ja3_ja4(void **state)
{
    char md5[33];
    char full[512];
    char ja4[256];

    (void)state;
    parse_hex_record(SEED_TLS12_CH);
    td_ja3(&ch, md5, full, sizeof(full));
    assert_string_equal(full, "771,103-255,35-13-15,,");
    /* md5("771,103-255,35-13-15,,") */
    assert_int_equal(strlen(md5), 32);
    td_ja4(&ch, true, false, ja4, sizeof(ja4));
    assert_string_equal(ja4, "t12i020300_0067,00ff_000d,000f,0023_0601,0602,0603,0501,0502,0503,"
                             "0401,0402,0403,0301,0302,0303,0201,0202,0203");
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    assert_int_equal(strlen(ja4), strlen("t12i020300_xxxxxxxxxxxx_xxxxxxxxxxxx"));
    assert_memory_equal(ja4, "t12i020300_", 11);

    parse_hex_record(SEED_SSL3_CH);
    td_ja4(&ch, true, false, ja4, sizeof(ja4));
    assert_memory_equal(ja4, "ts3i5000", 8);
    /* no extensions: extension hash is the empty sentinel */
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    assert_string_equal(ja4 + strlen(ja4) - 13, "_000000000000");
    td_ja3(&ch, md5, full, sizeof(full));
    assert_memory_equal(full, "768,49172-49162-57-", 19);
    assert_string_equal(full + strlen(full) - 8, "4-255,,,");

    /* |full| truncation is bounded and NUL-terminated */
    td_ja3(&ch, md5, full, 8);
    assert_string_equal(full, "768,491");
}

/* JA3 of a known string: md5 checked against a fixed value. */
static void test_ja3_md5(void **state)
{
    char md5[33];
    char full[128];

    (void)state;
    parse_hex_record(SEED_TLS12_CH);
    td_ja3(&ch, md5, full, sizeof(full));
    /* echo -n '771,103-255,35-13-15,,' | md5sum */
    assert_string_equal(md5, JA3_SEED_TLS12);
}

/* The per-thread memo (fingerprint.c) returns what the computation would:
 * repeated, interleaved and changed hellos. */
static void test_memo(void **state)
{
    char md5[33], md5b[33], full[128], ja4[64], ja4b[64], ja4ssl3[64], ja4r[512];
    uint16_t saved;

    (void)state;
    parse_hex_record(SEED_TLS12_CH);
    td_ja3(&ch, md5, NULL, 0);
    assert_string_equal(md5, JA3_SEED_TLS12);
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    for (int i = 0; i < 3; i++) {
        td_ja3(&ch, md5b, NULL, 0); /* a hit */
        assert_string_equal(md5b, JA3_SEED_TLS12);
        td_ja3(&ch, md5b, full, sizeof(full)); /* a hit that also wants the string */
        assert_string_equal(md5b, JA3_SEED_TLS12);
        assert_string_equal(full, "771,103-255,35-13-15,,");
        td_ja4(&ch, false, false, ja4b, sizeof(ja4b));
        assert_string_equal(ja4b, ja4);
    }
    /* JA4_r is never memoized, and _o is kept apart from the sorted form */
    td_ja4(&ch, true, false, ja4r, sizeof(ja4r));
    assert_memory_equal(ja4r, "t12i020300_0067,00ff_", 21);
    td_ja4(&ch, false, true, ja4b, sizeof(ja4b));
    assert_int_equal(strlen(ja4b), strlen(ja4));

    /* another hello in between, then the first again */
    parse_hex_record(SEED_SSL3_CH);
    td_ja4(&ch, false, false, ja4ssl3, sizeof(ja4ssl3));
    assert_string_not_equal(ja4ssl3, ja4);
    parse_hex_record(SEED_TLS12_CH);
    td_ja4(&ch, false, false, ja4b, sizeof(ja4b));
    assert_string_equal(ja4b, ja4);

    /* one cipher changed: a different key, a different value */
    saved = ch.ciphers[0];
    ch.ciphers[0] = 0x009c;
    td_ja3(&ch, md5b, full, sizeof(full));
    assert_string_equal(full, "771,156-255,35-13-15,,");
    assert_string_not_equal(md5b, JA3_SEED_TLS12);
    td_ja4(&ch, false, false, ja4b, sizeof(ja4b));
    assert_memory_not_equal(ja4b + 11, ja4 + 11, 12);
    assert_string_equal(ja4b + 23, ja4 + 23); /* extensions unchanged */
    /* a GREASE cipher: another key, the same value as without it */
    ch.ciphers[0] = saved;
    assert_true(ch.num_ciphers < TD_MAX_CIPHERS);
    ch.ciphers[ch.num_ciphers++] = 0x1a1a;
    td_ja3(&ch, md5b, NULL, 0);
    assert_string_equal(md5b, JA3_SEED_TLS12);
    td_ja4(&ch, false, false, ja4b, sizeof(ja4b));
    assert_string_equal(ja4b, ja4);
}

struct corpus_case {
    const char *file;
    const char *ja3; /* tshark 4.0 tls.handshake.ja3 */
    const char *ja4_override; /* expected JA4 when the .json predates the spec (NULL: .json) */
};

static const struct corpus_case corpus_cases[] = {
    {"tls12.pcap", "579ccef312d18482fc42e2b822ca2430", NULL},
    {"tls-alpn-h2.pcap", "3faa4ad39f690c4ef1c3160caa375465", NULL},
    /* ALPN 0xba 0xad: FoxIO's .json (older tool) says "99"; the current
     * JA4.md (PR #277) takes the first hex digit of the first byte and the
     * last hex digit of the last byte: "bd". */
    {"tls-non-ascii-alpn.pcapng", "1c258ebef8eee2dfa3df6d8d07285af9", "bd"},
};

static void test_corpus(void **state)
{
    const char *dir = corpus_dir();

    (void)state;
    if (dir == NULL) {
        print_message("corpus absent: skipped\n");
        skip();
    }
    for (size_t i = 0; i < sizeof(corpus_cases) / sizeof(corpus_cases[0]); i++) {
        const struct corpus_case *tc = &corpus_cases[i];
        const char *keys[4] = {"JA4.1", "JA4_r.1", "JA4_o.1", "JA4_ro.1"};
        char path[512];
        char json[600];
        static uint8_t buf[65536];
        size_t n;
        char md5[33];

        snprintf(path, sizeof(path), "%s/ja4/%s", dir, tc->file);
        snprintf(json, sizeof(json), "%s.json", path);
        print_message("corpus: %s\n", tc->file);
        n = corpus_first_client_hello(path, buf, sizeof(buf));
        assert_true(n > 0);
        parse_record(buf, n);
        assert_int_equal(ch.diag.n, 0);
        td_ja3(&ch, md5, NULL, 0);
        assert_string_equal(md5, tc->ja3);
        for (size_t k = 0; k < 4; k++) {
            char want[2048];
            char got[2048];

            assert_int_equal(corpus_json_field(json, keys[k], want, sizeof(want)), 0);
            if (tc->ja4_override != NULL)
                memcpy(want + 8, tc->ja4_override, 2);
            td_ja4(&ch, k == 1 || k == 3, k >= 2, got, sizeof(got));
            print_message("  %s %s\n", keys[k], got);
            assert_string_equal(got, want);
        }
    }
}

static void test_ja4_alpn_rules(void **state)
{
    char ja4[64];

    (void)state;
    memset(&ch, 0, sizeof(ch));
    ch.legacy_version = 0x0303;
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    assert_string_equal(ja4, "t12i000000_000000000000_000000000000");
    ch.num_alpn = 1;
    ch.alpn[0].len = 1;
    ch.alpn[0].wire_len = 1;
    ch.alpn[0].b[0] = 'h';
    ch.alpn[0].last_byte = 'h';
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    assert_memory_equal(ja4, "t12i0000hh", 10);
    ch.alpn[0].b[0] = 0xab;
    ch.alpn[0].last_byte = 0xab;
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    assert_memory_equal(ja4, "t12i0000ab", 10);
    /* one alphanumeric end is not enough */
    ch.alpn[0].b[0] = 'h';
    ch.alpn[0].last_byte = 0x2f;
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    assert_memory_equal(ja4, "t12i00006f", 10);
    /* supported_versions beats legacy_version; GREASE ignored */
    ch.has_supported_versions = true;
    ch.versions.n = 3;
    ch.versions.v[0] = 0x7a7a;
    ch.versions.v[1] = 0x0304;
    ch.versions.v[2] = 0x0303;
    td_ja4(&ch, false, false, ja4, sizeof(ja4));
    assert_memory_equal(ja4, "t13i", 4);
    /* output truncation is bounded */
    td_ja4(&ch, false, false, ja4, 5);
    assert_string_equal(ja4, "t13i");
}

static void test_ja3s(void **state)
{
    struct td_server_hello sh;
    char md5[33];
    char full[64];

    (void)state;
    memset(&sh, 0, sizeof(sh));
    sh.legacy_version = 0x0303;
    sh.cipher = 0x1301;
    sh.ext_order.n = 3;
    sh.ext_order.v[0] = 0x002b;
    sh.ext_order.v[1] = 0x0a0a;
    sh.ext_order.v[2] = 0x0033;
    td_ja3s(&sh, md5, full, sizeof(full));
    assert_string_equal(full, "771,4865,43-51");
    assert_string_equal(md5, JA3S_EXAMPLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_ja3_ja4),
        cmocka_unit_test(test_ja3_md5),
        cmocka_unit_test(test_memo),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_ja4_alpn_rules),
        cmocka_unit_test(test_ja3s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
