/* test_upgrade.c: lib/timeline/upgrade.c, the plaintext phase before TLS:
 * the protocol is recognised, the request and answer classified, and each
 * direction switches to TLS at the right byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "timeline/upgrade.h"

struct up {
    struct td_upgrade u;
    struct td_upgrade_info info;
    const uint8_t *tls;
    size_t tls_len;
    struct td_up_events ev;
};

/* endpoint 0 is the client (its SYN), 1 the server */
static enum td_up_res feed(struct up *x, uint8_t ep, const void *p, size_t n)
{
    return td_up_feed(&x->u, &x->info, ep, 0, p, n, &x->tls, &x->tls_len, &x->ev);
}
#define FEED(x, ep, s) feed((x), (ep), (s), sizeof(s) - 1)

static const uint8_t HELLO[] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00};

static void start(struct up *x)
{
    memset(x, 0, sizeof(*x));
    td_up_init(&x->u);
}

static void test_smtp_accepted(void **state)
{
    struct up x;
    (void)state;
    start(&x);
    assert_int_equal(FEED(&x, 1, "220 mx.example ESMTP\r\n"), TD_UP_MORE);
    assert_int_equal(x.info.proto, TD_UPG_SMTP);
    assert_int_equal(FEED(&x, 0, "EHLO me\r\n"), TD_UP_MORE);
    assert_int_equal(FEED(&x, 1, "250-mx.example\r\n250 STARTTLS\r\n"), TD_UP_MORE);
    assert_int_equal(x.info.state, TD_UPGS_NONE);
    assert_int_equal(FEED(&x, 0, "STARTTLS\r\n"), TD_UP_MORE);
    assert_true(x.ev.req);
    assert_int_equal(x.info.state, TD_UPGS_REQUESTED);
    assert_string_equal(x.info.request, "STARTTLS");
    assert_int_equal(FEED(&x, 1, "220 2.0.0 Ready to start TLS\r\n"), TD_UP_TLS);
    assert_true(x.ev.reply);
    assert_int_equal(x.tls_len, 0);
    assert_int_equal(x.info.state, TD_UPGS_ACCEPTED);
    assert_string_equal(x.info.reply, "220 2.0.0 Ready to start TLS");
    assert_int_equal(feed(&x, 0, HELLO, sizeof(HELLO)), TD_UP_TLS);
    assert_int_equal(x.tls_len, sizeof(HELLO));
    assert_memory_equal(x.tls, HELLO, sizeof(HELLO));
    assert_int_equal(x.info.plain_bytes[0], 19);
    /* afterwards both directions pass straight through */
    assert_int_equal(feed(&x, 0, HELLO, sizeof(HELLO)), TD_UP_NONE);
    assert_int_equal(feed(&x, 1, HELLO, sizeof(HELLO)), TD_UP_NONE);
    td_up_free(&x.u);
}

static void test_smtp_refused(void **state)
{
    struct up x;
    (void)state;
    start(&x);
    FEED(&x, 1, "220 mx ESMTP\r\n");
    FEED(&x, 0, "EHLO me\r\nSTARTTLS\r\n");
    assert_int_equal(FEED(&x, 1, "250 mx\r\n454 4.7.0 TLS not available due to local problem\r\n"), TD_UP_MORE);
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    assert_string_equal(x.info.reply, "454 4.7.0 TLS not available due to local problem");
    assert_int_equal(FEED(&x, 0, "QUIT\r\n"), TD_UP_MORE);
    td_up_free(&x.u);
}

static void test_imap_pop3_ftp(void **state)
{
    struct up x;
    (void)state;
    start(&x);
    FEED(&x, 1, "* OK IMAP4rev1 ready\r\n");
    FEED(&x, 0, "a1 CAPABILITY\r\n");
    FEED(&x, 1, "* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n");
    FEED(&x, 0, "a2 STARTTLS\r\n");
    assert_int_equal(FEED(&x, 1, "* BYE soon\r\na2 NO [ALERT] TLS unavailable\r\n"), TD_UP_MORE);
    assert_int_equal(x.info.proto, TD_UPG_IMAP);
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    assert_string_equal(x.info.reply, "a2 NO [ALERT] TLS unavailable");
    td_up_free(&x.u);

    start(&x);
    FEED(&x, 1, "+OK POP3 ready\r\n");
    FEED(&x, 0, "STLS\r\n");
    FEED(&x, 1, "-ERR not now\r\n");
    assert_int_equal(x.info.proto, TD_UPG_POP3);
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    td_up_free(&x.u);

    start(&x);
    FEED(&x, 1, "220-Welcome\r\n220 FTP ready\r\n");
    FEED(&x, 0, "AUTH TLS\r\n");
    assert_int_equal(FEED(&x, 1, "234 AUTH TLS OK.\r\n"), TD_UP_TLS);
    assert_int_equal(x.info.proto, TD_UPG_FTP);
    assert_int_equal(x.info.state, TD_UPGS_ACCEPTED);
    td_up_free(&x.u);
}

static void test_http_connect(void **state)
{
    struct up x;
    (void)state;
    start(&x);
    assert_int_equal(FEED(&x, 0, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), TD_UP_MORE);
    assert_int_equal(x.info.proto, TD_UPG_HTTP_CONNECT);
    assert_string_equal(x.info.request, "CONNECT example.com:443 HTTP/1.1");
    /* the answer's headers arrive in two pieces; the TLS follows at once */
    assert_int_equal(FEED(&x, 1, "HTTP/1.1 200 Connection established\r\nVia: x\r\n"), TD_UP_MORE);
    assert_int_equal(x.info.state, TD_UPGS_REQUESTED);
    assert_int_equal(FEED(&x, 1, "\r\n\x16\x03\x03"), TD_UP_TLS);
    assert_int_equal(x.tls_len, 3);
    assert_int_equal(x.info.state, TD_UPGS_ACCEPTED);
    td_up_free(&x.u);

    start(&x);
    FEED(&x, 0, "CONNECT blocked.example:443 HTTP/1.1\r\n\r\n");
    FEED(&x, 1, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    assert_string_equal(x.info.reply, "HTTP/1.1 403 Forbidden");
    td_up_free(&x.u);
}

static void test_binary(void **state)
{
    struct up x;
    static const uint8_t s5_greet_req[] = {5, 1, 0, 5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
                                           'c', 'o', 'm', 1, 0xbb};
    static const uint8_t s5_ok[] = {5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 4, 0x38, 0x16, 0x03};
    static const uint8_t s5_refused[] = {5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0};
    static const uint8_t s4_req[] = {4, 1, 1, 0xbb, 93, 184, 216, 119, 0};
    static const uint8_t s4_no[] = {0, 0x5b, 0, 0, 0, 0, 0, 0};
    static const uint8_t pg_req[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    /* LDAP ExtendedRequest StartTLS and an ExtendedResponse success */
    static const uint8_t ldap_req[] = {0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.',
                                       '1', '.', '4', '.', '1', '.', '1', '4', '6', '6', '.', '2', '0', '0', '3', '7'};
    static const uint8_t ldap_ok[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00};
    (void)state;

    start(&x);
    assert_int_equal(feed(&x, 0, s5_greet_req, sizeof(s5_greet_req)), TD_UP_MORE);
    assert_int_equal(x.info.proto, TD_UPG_SOCKS5);
    assert_int_equal(x.info.state, TD_UPGS_REQUESTED);
    assert_int_equal(feed(&x, 1, s5_ok, sizeof(s5_ok)), TD_UP_TLS);
    assert_int_equal(x.tls_len, 2);
    td_up_free(&x.u);

    start(&x);
    feed(&x, 0, s5_greet_req, sizeof(s5_greet_req));
    feed(&x, 1, s5_refused, sizeof(s5_refused));
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    assert_string_equal(x.info.reply, "REP 2 not allowed by ruleset");
    td_up_free(&x.u);

    start(&x);
    feed(&x, 0, s4_req, sizeof(s4_req));
    feed(&x, 1, s4_no, sizeof(s4_no));
    assert_int_equal(x.info.proto, TD_UPG_SOCKS4);
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    td_up_free(&x.u);

    start(&x);
    feed(&x, 0, pg_req, sizeof(pg_req));
    feed(&x, 1, "N", 1);
    assert_int_equal(x.info.proto, TD_UPG_POSTGRES);
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    td_up_free(&x.u);

    start(&x);
    assert_int_equal(feed(&x, 0, ldap_req, sizeof(ldap_req)), TD_UP_MORE);
    assert_int_equal(x.info.proto, TD_UPG_LDAP);
    assert_int_equal(feed(&x, 1, ldap_ok, sizeof(ldap_ok)), TD_UP_TLS);
    assert_int_equal(x.info.state, TD_UPGS_ACCEPTED);
    assert_int_equal(feed(&x, 0, HELLO, sizeof(HELLO)), TD_UP_TLS);
    td_up_free(&x.u);

    start(&x);
    FEED(&x, 0, "<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client'>");
    FEED(&x, 1, "<?xml version='1.0'?><stream:stream from='example.com'><stream:features/>");
    FEED(&x, 0, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_int_equal(x.info.state, TD_UPGS_REQUESTED);
    FEED(&x, 1, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
    assert_int_equal(x.info.proto, TD_UPG_XMPP);
    assert_int_equal(x.info.state, TD_UPGS_REFUSED);
    td_up_free(&x.u);
}

static void test_not_an_upgrade(void **state)
{
    struct up x;
    static uint8_t big[TD_UP_CAP];
    (void)state;

    start(&x);
    assert_int_equal(feed(&x, 0, HELLO, sizeof(HELLO)), TD_UP_NONE); /* TLS at once */
    assert_int_equal(FEED(&x, 1, "220 later\r\n"), TD_UP_NONE);
    assert_int_equal(x.info.proto, TD_UPG_NONE);
    td_up_free(&x.u);

    start(&x);
    assert_int_equal(FEED(&x, 0, "GET / HTTP/1.1\r\n\r\n"), TD_UP_NONE);
    td_up_free(&x.u);

    /* the server greets as the client would: roles contradict the SYN */
    start(&x);
    assert_int_equal(FEED(&x, 0, "220 hello\r\n"), TD_UP_NONE);
    td_up_free(&x.u);

    /* no SYN seen (mid-stream capture): no plaintext phase */
    start(&x);
    assert_int_equal(td_up_feed(&x.u, &x.info, 1, -1, (const uint8_t *)"220 mx\r\n", 8, &x.tls, &x.tls_len, &x.ev), TD_UP_NONE);
    assert_int_equal(x.info.proto, TD_UPG_NONE);
    td_up_free(&x.u);

    /* a plaintext session past the cap is given up */
    start(&x);
    memset(big, 'a', sizeof(big));
    FEED(&x, 1, "220 mx\r\n");
    assert_int_equal(feed(&x, 1, big, sizeof(big)), TD_UP_GIVE_UP);
    assert_int_equal(feed(&x, 0, "x", 1), TD_UP_GIVE_UP);
    td_up_free(&x.u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smtp_accepted),  cmocka_unit_test(test_smtp_refused),
        cmocka_unit_test(test_imap_pop3_ftp),  cmocka_unit_test(test_http_connect),
        cmocka_unit_test(test_binary),         cmocka_unit_test(test_not_an_upgrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
