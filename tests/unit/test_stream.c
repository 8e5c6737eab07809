/* test_stream.c: alert records through the record stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tls/stream.h"

struct seen {
    int alerts;
    int encrypted;
    uint8_t desc[8];
};

static void on_alert(void *ctx, uint8_t level, uint8_t desc, uint16_t rec_version)
{
    struct seen *s = ctx;

    (void)level;
    (void)rec_version;
    if (s->alerts < 8)
        s->desc[s->alerts] = desc;
    s->alerts++;
}

static void on_encrypted(void *ctx, uint8_t ct, uint32_t len, uint16_t rec_version)
{
    struct seen *s = ctx;

    (void)ct;
    (void)len;
    (void)rec_version;
    s->encrypted++;
}

static void feed(struct seen *seen, const uint8_t *p, size_t n)
{
    struct td_tls_stream s;
    struct td_tls_sink k;

    memset(seen, 0, sizeof(*seen));
    memset(&k, 0, sizeof(k));
    k.ctx = seen;
    k.alert = on_alert;
    k.encrypted = on_encrypted;
    td_tls_stream_init(&s, 65536, false);
    td_tls_stream_feed(&s, p, n, &k);
    td_tls_stream_cleanup(&s);
}

/* Two alerts in one clear record are read as two alerts. */
static void test_two_clear_alerts(void **state)
{
    static const uint8_t rec[] = {0x15, 0x03, 0x03, 0x00, 0x04, 0x01, 0x00, 0x02, 0x28};
    struct seen seen;

    (void)state;
    feed(&seen, rec, sizeof(rec));
    assert_int_equal(seen.alerts, 2);
    assert_int_equal(seen.desc[0], 0);
    assert_int_equal(seen.desc[1], 40);
    assert_int_equal(seen.encrypted, 0);
}

/* An encrypted alert when the ChangeCipherSpec was not seen (capture started
 * mid-connection, ndpi tls_alert.pcap frame 12): 26 bytes of ciphertext are
 * not 13 alerts. */
static void test_encrypted_alert_unseen_ccs(void **state)
{
    static const uint8_t rec[] = {0x15, 0x03, 0x03, 0x00, 0x1a,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xa8, 0x64,
                                  0x4f, 0xeb, 0x94, 0xee, 0x96, 0x59, 0xf5, 0x11, 0x22, 0x33,
                                  0x44, 0x55, 0x66, 0x77, 0x88, 0x99};
    struct seen seen;

    (void)state;
    feed(&seen, rec, sizeof(rec));
    assert_int_equal(seen.alerts, 0);
    assert_int_equal(seen.encrypted, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_clear_alerts),
        cmocka_unit_test(test_encrypted_alert_unseen_ccs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
