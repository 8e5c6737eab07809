/* test_probe_run.c: probe exchanges are judged by the engine and rules
 * (td_probe_classify), and the runner ends every probe within its deadlines
 * against loopback servers that close, reset, send garbage or stay silent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tlsdiag/probe.h"

static struct td_keyshares ks;

static int setup(void **st)
{
    (void)st;
    return td_keyshares_init(&ks);
}

static size_t hello12(uint8_t *out, size_t cap)
{
    static const uint16_t suites[] = {0xc02f, 0x009e};
    struct td_ch_spec s;
    memset(&s, 0, sizeof(s));
    s.legacy_version = 0x0303;
    s.ciphers = suites;
    s.num_ciphers = 2;
    s.sni = "probe.test";
    return td_ch_build(&s, &ks, out, cap);
}

static struct td_probe *with_hello(void)
{
    struct td_probe *p = td_probe_new();
    assert_non_null(p);
    p->hello_len = hello12(p->hello, sizeof(p->hello));
    assert_true(p->hello_len > 0);
    p->ex.connect_ns = 1000000;
    p->ex.server_port = 8443;
    assert_int_equal(td_exchange_add(&p->ex, false, 2000000, p->hello, p->hello_len), 0);
    return p;
}

static const char *primary(const struct td_probe *p)
{
    const struct td_diagnosis *d = td_verdict_primary(&p->v);
    return d ? d->code : "";
}

static void test_alert(void **st)
{
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    struct td_probe *p = with_hello();
    struct td_rules_opts ro = {0, NULL, NULL};
    (void)st;
    assert_int_equal(td_exchange_add(&p->ex, true, 3000000, alert, sizeof(alert)), 0);
    p->ex.end = TD_END_FIN;
    p->ex.end_ns = 3500000;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_ALERT);
    assert_int_equal(p->alert, 40);
    assert_non_null(p->conn);
    assert_non_null(p->conn->ch.m);
    assert_string_equal(p->conn->ch.m->sni, "probe.test");
    assert_int_equal(p->v.outcome, TD_OUT_FAILED);
    td_probe_free(p);
}

static void test_server_hello(void **st)
{
    /* TLS 1.2 ServerHello: version, random, empty session id, c02f, null */
    uint8_t rec[5 + 4 + 38];
    struct td_probe *p = with_hello();
    struct td_rules_opts ro = {0, NULL, NULL};
    (void)st;
    memset(rec, 0, sizeof(rec));
    memcpy(rec, "\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03", 11);
    rec[9 + 2 + 32] = 0;          /* session id length */
    rec[9 + 2 + 33] = 0xc0;
    rec[9 + 2 + 34] = 0x2f;
    assert_int_equal(td_exchange_add(&p->ex, true, 3000000, rec, sizeof(rec)), 0);
    p->ex.end = TD_END_DONE;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_ACCEPTED);
    assert_int_equal(p->version, 0x0303);
    assert_int_equal(p->cipher, 0xc02f);
    td_probe_free(p);
}

static void test_transport_ends(void **st)
{
    static const uint8_t http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    struct td_rules_opts ro = {0, NULL, NULL};
    struct td_probe *p;
    (void)st;

    p = with_hello();
    p->ex.end = TD_END_RST;
    p->ex.end_ns = 3000000;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_RST);
    assert_string_equal(primary(p), "reset_by_server");
    td_probe_free(p);

    /* captured TTLs reach the rules: a RST with TTL 64 after a SYN-ACK with
     * 59 is a middlebox's (the same exchange without TTLs was the server's) */
    p = with_hello();
    p->ex.end = TD_END_RST;
    p->ex.end_ns = 3000000;
    p->ex.synack_ttl = 59;
    p->ex.rst_ttl = 64;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_RST);
    assert_string_equal(primary(p), "middlebox_reset");
    assert_non_null(strstr(td_verdict_primary(&p->v)->explanation, "TTL 64 differs from the server's SYN-ACK TTL 59"));
    td_probe_free(p);

    /* the same TTL on both (within one hop): still the server's reset */
    p = with_hello();
    p->ex.end = TD_END_RST;
    p->ex.end_ns = 3000000;
    p->ex.synack_ttl = 59;
    p->ex.rst_ttl = 60;
    td_probe_classify(p, &ro);
    assert_string_equal(primary(p), "reset_by_server");
    td_probe_free(p);

    p = with_hello();
    p->ex.end = TD_END_FIN;
    p->ex.end_ns = 3000000;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_FIN);
    assert_string_equal(primary(p), "closed_by_server");
    td_probe_free(p);

    p = with_hello();
    assert_int_equal(td_exchange_add(&p->ex, true, 3000000, http, sizeof(http) - 1), 0);
    p->ex.end = TD_END_FIN;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_NOT_TLS);
    assert_string_equal(primary(p), "not_tls");
    td_probe_free(p);

    p = with_hello();
    p->ex.end = TD_END_TIMEOUT;
    p->ex.hello_acked = true;
    p->ex.end_ns = 900000000;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_TIMEOUT);
    /* the probe gave up on a silent server: not a capture cut short */
    assert_string_equal(primary(p), "server_silent");
    td_probe_free(p);

    p = td_probe_new();
    p->ex.end = TD_END_REFUSED;
    td_probe_classify(p, &ro);
    assert_int_equal(p->res, TD_PR_REFUSED);
    assert_string_equal(primary(p), "tcp_refused");
    td_probe_free(p);
}

/* ---- the runner against loopback servers ---- */

enum mode { M_CLOSE, M_GARBAGE, M_SILENT, M_DRIP, M_BIGHS };

static pid_t serve(enum mode m, struct sockaddr_in *addr)
{
    socklen_t al = sizeof(*addr);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;
    assert_true(ls >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)addr, sizeof(*addr)), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)addr, &al), 0);
    assert_int_equal(listen(ls, 16), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (;;) {
            char b[4096];
            int c = accept(ls, NULL, NULL);
            if (c < 0)
                _exit(0);
            if (fork() == 0) {
                (void)!read(c, b, sizeof(b));
                if (m == M_GARBAGE)
                    (void)!write(c, "\x00\xffnot tls at all\r\n", 18);
                if (m == M_DRIP) {
                    static const uint8_t hdr[] = {0x16, 0x03, 0x03, 0x00, 0x50, 0x02};
                    for (size_t i = 0; i < sizeof(hdr); i++) {
                        (void)!write(c, hdr + i, 1);
                        usleep(150000);
                    }
                }
                if (m == M_BIGHS) /* a ServerHello header claiming 16 MB */
                    (void)!write(c, "\x16\x03\x03\x00\x10\x02\xff\xff\xff" "012345678901", 21);
                if (m == M_SILENT || m == M_DRIP || m == M_GARBAGE || m == M_BIGHS)
                    sleep(5);
                _exit(0);
            }
            close(c);
        }
    }
    close(ls);
    return pid;
}

struct got {
    int n;
    enum td_probe_res res[8];
};
static void collect(void *ctx, struct td_probe *p)
{
    struct got *g = ctx;
    if (g->n < 8)
        g->res[g->n++] = p->res;
    td_probe_free(p);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum td_probe_res run_one(enum mode m, int64_t *ms)
{
    struct sockaddr_in a;
    struct td_probe_opts o;
    struct got g = {0, {0}};
    pid_t pid = serve(m, &a);
    td_probe_opts_default(&o);
    o.connect_ms = 500;
    o.answer_ms = 300;
    o.total_ms = 700;
    struct td_runner *r = td_runner_new((struct sockaddr *)&a, sizeof(a), &o, NULL);
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        struct td_probe *p = td_probe_new();
        p->hello_len = hello12(p->hello, sizeof(p->hello));
        p->done = collect;
        p->done_ctx = &g;
        td_runner_add(r, p);
    }
    int64_t t0 = now_ms();
    td_runner_run(r);
    *ms = now_ms() - t0;
    assert_int_equal(td_runner_connections(r), 3);
    td_runner_free(r);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(g.n, 3);
    for (int i = 1; i < 3; i++)
        assert_int_equal(g.res[i], g.res[0]);
    return g.res[0];
}

static void test_runner(void **st)
{
    int64_t ms;
    (void)st;
    signal(SIGCHLD, SIG_IGN);
    assert_int_equal(run_one(M_CLOSE, &ms), TD_PR_FIN);
    assert_true(ms < 500);
    assert_int_equal(run_one(M_GARBAGE, &ms), TD_PR_NOT_TLS);
    assert_true(ms < 500);
    assert_int_equal(run_one(M_SILENT, &ms), TD_PR_TIMEOUT);
    assert_true(ms >= 250 && ms < 1200);
    /* a byte every 150 ms keeps the answer timer alive; the overall one ends it */
    assert_int_equal(run_one(M_DRIP, &ms), TD_PR_TIMEOUT);
    assert_true(ms >= 650 && ms < 1500);
    /* an impossible length ends the probe at once */
    assert_int_equal(run_one(M_BIGHS, &ms), TD_PR_NOT_TLS);
    assert_true(ms < 250);
}

static void test_refused(void **st)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    struct got g = {0, {0}};
    int s = socket(AF_INET, SOCK_STREAM, 0);
    (void)st;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s); /* nothing listens there now */
    struct td_runner *r = td_runner_new((struct sockaddr *)&a, sizeof(a), NULL, NULL);
    struct td_probe *p = td_probe_new();
    p->hello_len = hello12(p->hello, sizeof(p->hello));
    p->done = collect;
    p->done_ctx = &g;
    td_runner_add(r, p);
    td_runner_run(r);
    td_runner_free(r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.res[0], TD_PR_REFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert),        cmocka_unit_test(test_server_hello),
        cmocka_unit_test(test_transport_ends), cmocka_unit_test(test_runner),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
