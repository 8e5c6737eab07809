/* test_starttls.c: the STARTTLS plaintext phases against scripted servers
 * (a thread on the other end of a socketpair) speaking the exchanges of the
 * RFC examples, and the failures: no STARTTLS, refusal, wrong greeting, TLS
 * instead, silence, a drip of bytes, a flood, a close. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include <cmocka.h>

#include "tlsdiag/probe_clients.h"

/* Script steps: 'S' send, 'E' wait until the client has sent |s| (bytes,
 * |n| long), 'D' drip one byte of |s| every 100 ms for |n| bytes, 'F' send
 * |n| bytes of 'x' without a newline, 'C' close, 'W' wait |n| ms. */
struct step {
    char op;
    const char *s;
    size_t n;
};
#define S(x) {'S', x, sizeof(x) - 1}
#define E(x) {'E', x, sizeof(x) - 1}
#define END {0, NULL, 0}

struct server {
    int fd;
    const struct step *steps;
};

static void *server_main(void *arg)
{
    struct server *sv = arg;
    char got[8192];
    size_t have = 0;

    for (const struct step *st = sv->steps; st->op != 0; st++) {
        switch (st->op) {
        case 'S':
            if (send(sv->fd, st->s, st->n, MSG_NOSIGNAL) < 0)
                goto out;
            break;
        case 'E':
            for (;;) {
                ssize_t r;
                bool found = false;
                for (size_t i = 0; i + st->n <= have; i++) {
                    if (memcmp(got + i, st->s, st->n) == 0) {
                        found = true;
                        memmove(got, got + i + st->n, have - i - st->n);
                        have -= i + st->n;
                        break;
                    }
                }
                if (found)
                    break;
                if (have == sizeof(got))
                    goto out;
                r = recv(sv->fd, got + have, sizeof(got) - have, 0);
                if (r <= 0)
                    goto out;
                have += (size_t)r;
            }
            break;
        case 'D':
            for (size_t i = 0; i < st->n; i++) {
                struct timespec ts = {0, 100 * 1000 * 1000};
                if (send(sv->fd, st->s + (i % strlen(st->s)), 1, MSG_NOSIGNAL) < 0)
                    goto out;
                nanosleep(&ts, NULL);
            }
            break;
        case 'F': {
            char x[1024];
            memset(x, 'x', sizeof(x));
            for (size_t i = 0; i < st->n; i += sizeof(x)) {
                if (send(sv->fd, x, sizeof(x), MSG_NOSIGNAL) < 0)
                    goto out;
            }
            break;
        }
        case 'W': {
            struct timespec ts = {(time_t)(st->n / 1000), (long)(st->n % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            break;
        }
        case 'C':
            goto out;
        default:
            break;
        }
    }
    /* hold the connection open until the client is done */
    {
        char b[256];
        while (recv(sv->fd, b, sizeof(b), 0) > 0) {
        }
    }
out:
    close(sv->fd);
    return NULL;
}

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum td_starttls_fail run(const char *proto, const struct step *steps, int timeout_ms,
                                 struct td_starttls_result *r, int64_t *took_ms)
{
    int sv[2];
    pthread_t th;
    struct server srv;
    int64_t t0;
    int rc;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv.fd = sv[1];
    srv.steps = steps;
    assert_int_equal(pthread_create(&th, NULL, server_main, &srv), 0);
    t0 = ms_now();
    rc = td_starttls_run(sv[0], proto, "example.org", timeout_ms, r);
    if (took_ms)
        *took_ms = ms_now() - t0;
    shutdown(sv[0], SHUT_RDWR);
    close(sv[0]);
    pthread_join(th, NULL);
    print_message("%-8s %-26s %s\n", proto, td_starttls_fail_str(r->fail), r->why);
    assert_int_equal(rc == 0, r->fail == TD_STLS_OK);
    return r->fail;
}

static const struct step smtp_ok[] = {
    S("220-mail.example.org ESMTP\r\n220 welcome\r\n"), E("EHLO "),
    S("250-mail.example.org\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"),
    E("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"), END};
static const struct step smtp_no[] = {
    S("220 mail.example.org ESMTP\r\n"), E("EHLO "),
    S("250-mail.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"), END};
static const struct step smtp_454[] = {
    S("220 mail.example.org ESMTP\r\n"), E("EHLO "),
    S("250-mail.example.org\r\n250 STARTTLS\r\n"), E("STARTTLS\r\n"),
    S("454 4.7.0 TLS not available due to local problem\r\n"), END};
static const struct step smtp_554[] = {S("554 5.7.1 no service for you\r\n"), END};
static const struct step smtp_http[] = {S("HTTP/1.1 400 Bad Request\r\n\r\n"), END};
static const struct step smtp_silent[] = {{'W', NULL, 2000}, END};
static const struct step smtp_drip[] = {{'D', "220 slow", 100}, END};
static const struct step smtp_flood[] = {{'F', NULL, 20 * 1024}, END};
static const struct step smtp_close[] = {S("220 bye soon\r\n"), E("EHLO "), {'C', NULL, 0}, END};
static const struct step smtp_tls_word[] = {
    /* "STARTTLSX" and "NOSTARTTLS" are not the keyword */
    S("220 mail ESMTP\r\n"), E("EHLO "), S("250-mail\r\n250-NOSTARTTLS\r\n250 STARTTLSX\r\n"), END};

static const struct step imap_ok[] = {
    S("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n"), E("a1 CAPABILITY\r\n"),
    S("* CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED\r\na1 OK Pre-login capabilities listed.\r\n"),
    E("a2 STARTTLS\r\n"), S("a2 OK Begin TLS negotiation now.\r\n"), END};
static const struct step imap_no[] = {
    S("* OK IMAP4rev1 ready\r\n"), E("a1 CAPABILITY\r\n"),
    S("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done\r\n"), END};
static const struct step imap_bad[] = {
    S("* OK ready\r\n"), E("a1 CAPABILITY\r\n"), S("* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n"),
    E("a2 STARTTLS\r\n"), S("a2 BAD TLS support not configured\r\n"), END};
static const struct step imap_bye[] = {S("* BYE Too many connections\r\n"), END};
static const struct step imap_preauth[] = {S("* PREAUTH IMAP4rev1 logged in as joe\r\n"), END};

static const struct step pop3_ok[] = {
    S("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"), E("CAPA\r\n"),
    S("+OK Capability list follows\r\nTOP\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"), E("STLS\r\n"),
    S("+OK Begin TLS negotiation\r\n"), END};
static const struct step pop3_no[] = {
    S("+OK POP3 ready\r\n"), E("CAPA\r\n"), S("+OK\r\nTOP\r\nUSER\r\n.\r\n"), END};
static const struct step pop3_err[] = {
    S("+OK POP3 ready\r\n"), E("CAPA\r\n"), S("+OK\r\nSTLS\r\n.\r\n"), E("STLS\r\n"),
    S("-ERR Command not permitted when TLS active\r\n"), END};

static const struct step ftp_ok[] = {
    S("220-FileZilla Server\r\n220 Please visit https://filezilla-project.org/\r\n"), E("FEAT\r\n"),
    /* RFC 2389 example shape: feature lines start with a space */
    S("211-Extensions supported:\r\n MDTM\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 END\r\n"),
    E("AUTH TLS\r\n"), S("234 Using authentication type TLS.\r\n"), END};
static const struct step ftp_502[] = {S("220 (vsFTPd 3.0.3)\r\n"), E("FEAT\r\n"),
                                      S("530 Please login with USER and PASS.\r\n"), E("AUTH TLS\r\n"),
                                      S("530 Please login with USER and PASS.\r\n"), END};
static const struct step ftp_500[] = {S("220 ftp ready\r\n"), E("FEAT\r\n"),
                                      S("500 'FEAT': command not understood\r\n"), E("AUTH TLS\r\n"),
                                      S("500 'AUTH TLS': command not understood\r\n"), END};
static const struct step ftp_feat_no[] = {
    S("220 (vsFTPd 3.0.3)\r\n"), E("FEAT\r\n"),
    S("211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n"),
    E("AUTH TLS\r\n"), S("530 Please login with USER and PASS.\r\n"), END};
/* vsftpd 3.0.3 with ssl_tlsv1=NO: FEAT omits AUTH TLS, AUTH TLS works */
static const struct step ftp_feat_lies[] = {
    S("220 (vsFTPd 3.0.3)\r\n"), E("FEAT\r\n"), S("211-Features:\r\n EPRT\r\n SIZE\r\n211 End\r\n"),
    E("AUTH TLS\r\n"), S("234 Proceed with negotiation.\r\n"), END};

#define XMPP_HDR                                                                               \
    "<?xml version='1.0'?><stream:stream from='example.org' id='t7AMCin9zjMNwQKDnplntZPIDEI=' " \
    "to='juliet@example.org' version='1.0' xml:lang='en' xmlns='jabber:client' "               \
    "xmlns:stream='http://etherx.jabber.org/streams'>"
static const struct step xmpp_ok[] = {
    E("<stream:stream"), E(">"),
    S(XMPP_HDR "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
               "</starttls></stream:features>"),
    E("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    S("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), END};
static const struct step xmpp_fail[] = {
    E("<stream:stream"), S(XMPP_HDR "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                                   "</stream:features>"),
    E("<starttls"), S("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"), END};
static const struct step xmpp_no[] = {
    E("<stream:stream"),
    S(XMPP_HDR "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
               "<mechanism>PLAIN</mechanism></mechanisms></stream:features>"), END};
static const struct step xmpp_host[] = {
    E("<stream:stream"),
    S(XMPP_HDR "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
               "</stream:error></stream:stream>"), END};

static const struct step ldap_ok[] = {
    E("1.3.6.1.4.1.1466.20037"),
    {'S', "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00", 14}, END};
static const struct step ldap_proto_err[] = {
    E("1.3.6.1.4.1.1466.20037"),
    {'S', "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00", 14}, END};
static const struct step ldap_unavail[] = {
    E("1.3.6.1.4.1.1466.20037"),
    {'S', "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x34\x04\x00\x04\x00", 14}, END};
static const struct step ldap_split[] = {
    E("1.3.6.1.4.1.1466.20037"), {'S', "\x30\x0c\x02\x01\x01", 5}, {'W', NULL, 50},
    {'S', "\x78\x07\x0a\x01\x00\x04\x00\x04\x00", 9}, END};
static const struct step tls_alert[] = {{'E', "\x30", 1}, {'S', "\x15\x03\x03\x00\x02\x02\x32", 7}, END};

static const struct step pg_ok[] = {{'E', "\x04\xd2\x16\x2f", 4}, S("S"), END};
static const struct step pg_no[] = {{'E', "\x04\xd2\x16\x2f", 4}, S("N"), END};
static const struct step pg_extra[] = {{'E', "\x04\xd2\x16\x2f", 4}, S("SEXTRA"), END};
static const struct step pg_tls[] = {{'E', "\x04\xd2\x16\x2f", 4}, {'S', "\x15\x03\x01\x00\x02\x02\x28", 7}, END};

static void test_success(void **state)
{
    struct td_starttls_result r;
    (void)state;

    assert_int_equal(run("smtp", smtp_ok, 2000, &r, NULL), TD_STLS_OK);
    assert_true(r.bytes_read > 0 && r.bytes_sent > 0);
    assert_int_equal(run("imap", imap_ok, 2000, &r, NULL), TD_STLS_OK);
    assert_int_equal(run("pop3", pop3_ok, 2000, &r, NULL), TD_STLS_OK);
    assert_int_equal(run("ftp", ftp_ok, 2000, &r, NULL), TD_STLS_OK);
    assert_int_equal(run("xmpp", xmpp_ok, 2000, &r, NULL), TD_STLS_OK);
    assert_int_equal(run("ldap", ldap_ok, 2000, &r, NULL), TD_STLS_OK);
    assert_int_equal(run("ldap", ldap_split, 2000, &r, NULL), TD_STLS_OK);
    assert_int_equal(run("postgres", pg_ok, 2000, &r, NULL), TD_STLS_OK);
}

static void test_refusals(void **state)
{
    struct td_starttls_result r;
    (void)state;

    assert_int_equal(run("smtp", smtp_no, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_int_equal(run("smtp", smtp_tls_word, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_int_equal(run("smtp", smtp_454, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_non_null(strstr(r.why, "454 4.7.0"));
    assert_int_equal(run("smtp", smtp_554, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("imap", imap_no, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_int_equal(run("imap", imap_bad, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("imap", imap_bye, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("imap", imap_preauth, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("pop3", pop3_no, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_int_equal(run("pop3", pop3_err, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("ftp", ftp_502, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("ftp", ftp_500, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_int_equal(run("ftp", ftp_feat_no, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_non_null(strstr(r.why, "FEAT lists no AUTH TLS"));
    assert_int_equal(run("ftp", ftp_feat_lies, 2000, &r, NULL), TD_STLS_OK);
    assert_int_equal(run("xmpp", xmpp_fail, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("xmpp", xmpp_no, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_int_equal(run("xmpp", xmpp_host, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_non_null(strstr(r.why, "host-unknown"));
    assert_int_equal(run("ldap", ldap_proto_err, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
    assert_int_equal(run("ldap", ldap_unavail, 2000, &r, NULL), TD_STLS_REFUSED);
    assert_int_equal(run("postgres", pg_no, 2000, &r, NULL), TD_STLS_NOT_OFFERED);
}

static void test_wrong_peer(void **state)
{
    struct td_starttls_result r;
    int64_t took;
    (void)state;

    assert_int_equal(run("smtp", smtp_http, 2000, &r, NULL), TD_STLS_BAD_GREETING);
    assert_non_null(strstr(r.why, "HTTP/1.1 400"));
    assert_int_equal(run("ldap", tls_alert, 2000, &r, NULL), TD_STLS_TLS_INSTEAD);
    assert_int_equal(run("postgres", pg_tls, 2000, &r, NULL), TD_STLS_TLS_INSTEAD);
    assert_int_equal(run("postgres", pg_extra, 2000, &r, NULL), TD_STLS_BAD_GREETING);
    assert_int_equal(run("smtp", smtp_close, 2000, &r, NULL), TD_STLS_CLOSED);
    assert_int_equal(run("gopher", smtp_ok, 2000, &r, NULL), TD_STLS_UNKNOWN_PROTO);
    assert_false(td_starttls_proto_ok("gopher"));
    assert_true(td_starttls_proto_ok("postgres"));

    /* silence and a drip both end at the deadline, a flood at the cap */
    assert_int_equal(run("smtp", smtp_silent, 300, &r, &took), TD_STLS_TIMEOUT);
    assert_true(took >= 290 && took < 1000);
    assert_int_equal(run("smtp", smtp_drip, 400, &r, &took), TD_STLS_TIMEOUT);
    assert_true(took >= 390 && took < 1000);
    assert_int_equal(run("smtp", smtp_flood, 2000, &r, NULL), TD_STLS_TOO_LONG);
    assert_true(r.bytes_read <= TD_STARTTLS_MAX_READ);
}

static void test_hook(void **state)
{
    int sv[2];
    pthread_t th;
    struct server srv;
    char why[200];
    (void)state;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv.fd = sv[1];
    srv.steps = pop3_no;
    assert_int_equal(pthread_create(&th, NULL, server_main, &srv), 0);
    assert_int_equal(td_starttls_hook(sv[0], "pop3", 2000, why, sizeof(why)), -1);
    close(sv[0]);
    pthread_join(th, NULL);
    assert_string_equal(why, "starttls_not_offered: CAPA lists no STLS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_wrong_peer),
        cmocka_unit_test(test_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
