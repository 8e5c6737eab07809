/* test_record.c: record headers and alerts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hex.h"
#include "seed.h"
#include "tlsdiag/tls.h"

struct rec_case {
    const char *name;
    const char *hex;
    bool allow_ssl2;
    enum td_rec_res res;
    uint8_t type;
    uint16_t version;
    uint32_t len;
    uint8_t hdr_len;
    enum td_anomaly an; /* TD_AN_NONE: no anomaly at all */
    uint32_t off;
};

static const struct rec_case rec_cases[] = {
    {"seed ssl3 handshake", "16 03 00 00 8f", false, TD_REC_OK, 22, 0x0300, 0x8f, 5, TD_AN_NONE, 0},
    {"seed tls12 alert", "15 03 03 00 02", false, TD_REC_OK, 21, 0x0303, 2, 5, TD_AN_NONE, 0},
    {"tls 1.3 minor 4", "17 03 04 00 10", false, TD_REC_OK, 23, 0x0304, 16, 5, TD_AN_NONE, 0},
    {"header truncated by one", "16 03 00 00", false, TD_REC_NEED, 0, 0, 0, 0, TD_AN_NONE, 0},
    {"one byte", "16", false, TD_REC_NEED, 0, 0, 0, 0, TD_AN_NONE, 0},
    {"empty", "", false, TD_REC_NEED, 0, 0, 0, 0, TD_AN_NONE, 0},
    {"bad major early", "16 04", false, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_REC_BAD_VERSION, 1},
    {"bad minor", "16 03 05 00 01", false, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_REC_BAD_VERSION, 1},
    {"bad type", "47 45 54 20 2f", false, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_REC_BAD_TYPE, 0},
    {"type 19", "13 03 03 00 01", false, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_REC_BAD_TYPE, 0},
    {"type 25", "19 03 03 00 01", false, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_REC_BAD_TYPE, 0},
    {"max length", "17 03 03 48 00", false, TD_REC_OK, 23, 0x0303, 18432, 5, TD_AN_NONE, 0},
    {"length +1 over max", "17 03 03 48 01", false, TD_REC_OK, 23, 0x0303, 18433, 5,
     TD_AN_REC_OVERFLOW, 3},
    {"empty handshake", "16 03 03 00 00", false, TD_REC_OK, 22, 0x0303, 0, 5, TD_AN_REC_EMPTY, 3},
    {"empty app data", "17 03 03 00 00", false, TD_REC_OK, 23, 0x0303, 0, 5, TD_AN_NONE, 0},
    {"http as ssl2", "47 45 54 20 2f", true, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_NOT_TLS, 0},
    {"ssl2 2-byte hello", "80 2e 01 03 01", true, TD_REC_OK, TD_CT_SSL2, 0x0002, 0x2e, 2,
     TD_AN_NONE, 0},
    {"ssl2 2-byte hello v2", "80 2e 01 00 02", true, TD_REC_OK, TD_CT_SSL2, 0x0002, 0x2e, 2,
     TD_AN_NONE, 0},
    {"ssl2 3-byte hello", "00 2e 00 01 03 01", true, TD_REC_OK, TD_CT_SSL2, 0x0002, 0x2e, 3,
     TD_AN_NONE, 0},
    {"ssl2 not allowed", "80 2e 01 03 01", false, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_REC_BAD_TYPE,
     0},
    {"ssl2 truncated by one", "80 2e 01 03", true, TD_REC_NEED, 0, 0, 0, 0, TD_AN_NONE, 0},
    {"ssl2 wrong msg type", "80 2e 02 03 01", true, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_NOT_TLS, 0},
    {"ssl2 wrong major", "80 2e 01 02 01", true, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_NOT_TLS, 0},
    {"ssl2 length too small", "80 02 01 03 01", true, TD_REC_NOT_TLS, 0, 0, 0, 0, TD_AN_NOT_TLS,
     0},
};

static void test_record_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
        const struct rec_case *tc = &rec_cases[i];
        uint8_t buf[64];
        size_t n = hex_decode(tc->hex, buf, sizeof(buf));
        struct td_cur c;
        struct td_cur before;
        struct td_record_hdr h;
        struct td_diag d = {0};
        enum td_rec_res res;

        print_message("case: %s\n", tc->name);
        assert_true(n != (size_t)-1);
        td_cur_init(&c, buf, n);
        before = c;
        res = td_record_header(&h, &c, tc->allow_ssl2, &d);
        assert_int_equal(res, tc->res);
        assert_true(c.p == before.p && c.len == before.len); /* stream not moved */
        if (res == TD_REC_OK) {
            assert_int_equal(h.type, tc->type);
            assert_int_equal(h.version, tc->version);
            assert_int_equal(h.len, tc->len);
            assert_int_equal(h.hdr_len, tc->hdr_len);
        }
        if (tc->an == TD_AN_NONE) {
            assert_int_equal(d.n, 0);
        } else {
            assert_int_equal(d.n, 1);
            assert_int_equal(d.recs[0].code, tc->an);
            assert_int_equal(d.recs[0].off, tc->off);
        }
    }
}

/* The header keeps the offset of the outer buffer. */
static void test_record_offset_carried(void **state)
{
    uint8_t buf[16];
    size_t n = hex_decode("00 00 00 16 03 03 48 01", buf, sizeof(buf));
    struct td_cur c;
    struct td_record_hdr h;
    struct td_diag d = {0};

    (void)state;
    td_cur_init(&c, buf, n);
    assert_true(td_cur_skip(&c, 3));
    assert_int_equal(td_record_header(&h, &c, false, &d), TD_REC_OK);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.recs[0].code, TD_AN_REC_OVERFLOW);
    assert_int_equal(d.recs[0].off, 6);
}

struct alert_case {
    const char *name;
    const char *hex;
    enum td_status st;
    uint8_t level, desc;
    enum td_anomaly an;
    uint32_t off;
    size_t left;
};

static const struct alert_case alert_cases[] = {
    {"fatal handshake_failure", "02 28", TD_OK, 2, 40, TD_AN_NONE, 0, 0},
    {"warning close_notify", "01 00", TD_OK, 1, 0, TD_AN_NONE, 0, 0},
    {"truncated by one", "02", TD_EMALFORMED, 0, 0, TD_AN_ALERT_MALFORMED, 0, 1},
    {"empty", "", TD_EMALFORMED, 0, 0, TD_AN_ALERT_MALFORMED, 0, 0},
    {"unknown level", "03 28", TD_OK, 3, 40, TD_AN_ALERT_MALFORMED, 0, 0},
    {"two alerts: one read", "02 28 01 00", TD_OK, 2, 40, TD_AN_NONE, 0, 2},
};

static void test_alert_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(alert_cases) / sizeof(alert_cases[0]); i++) {
        const struct alert_case *tc = &alert_cases[i];
        uint8_t buf[16];
        size_t n = hex_decode(tc->hex, buf, sizeof(buf));
        struct td_cur c;
        struct td_alert a;
        struct td_diag d = {0};

        print_message("case: %s\n", tc->name);
        assert_true(n != (size_t)-1);
        td_cur_init(&c, buf, n);
        assert_int_equal(td_parse_alert(&a, &c, &d), tc->st);
        assert_int_equal(a.level, tc->level);
        assert_int_equal(a.description, tc->desc);
        assert_int_equal(td_cur_len(&c), tc->left);
        if (tc->an == TD_AN_NONE) {
            assert_int_equal(d.n, 0);
        } else {
            assert_int_equal(d.n, 1);
            assert_int_equal(d.recs[0].code, tc->an);
            assert_int_equal(d.recs[0].off, tc->off);
        }
    }
}

/* The seed's two fatal handshake_failure alerts, record and body. */
static void test_seed_alerts(void **state)
{
    const char *recs[] = {SEED_SSL3_ALERT, SEED_TLS12_ALERT};
    const uint16_t vers[] = {0x0300, 0x0303};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        uint8_t buf[16];
        size_t n = hex_decode(recs[i], buf, sizeof(buf));
        struct td_cur c;
        struct td_cur body;
        struct td_record_hdr h;
        struct td_alert a;
        struct td_diag d = {0};

        td_cur_init(&c, buf, n);
        assert_int_equal(td_record_header(&h, &c, false, &d), TD_REC_OK);
        assert_int_equal(h.type, TD_CT_ALERT);
        assert_int_equal(h.version, vers[i]);
        assert_true(td_cur_skip(&c, h.hdr_len));
        assert_true(td_cur_get_bytes(&c, &body, h.len));
        assert_int_equal(td_parse_alert(&a, &body, &d), TD_OK);
        assert_int_equal(a.level, 2);
        assert_int_equal(a.description, 40);
        assert_true(td_cur_empty(&body));
        assert_int_equal(d.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_cases),
        cmocka_unit_test(test_record_offset_carried),
        cmocka_unit_test(test_alert_cases),
        cmocka_unit_test(test_seed_alerts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
