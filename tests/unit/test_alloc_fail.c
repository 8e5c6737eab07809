/* test_alloc_fail.c: allocation-failure mode ("torture").  A whole run --
 * a capture through reader, engine, rules, correlation and both reports, or
 * a pasted dump through the decoder -- is repeated with the N-th allocation
 * of libtlsdiag failing, for every N until a run makes no more allocations
 * than N.  Every run must end cleanly: no crash, no sanitizer report, no
 * leak (ASan checks at exit in the san build), and the failure counted in
 * td_alloc_failures() (which the CLI turns into exit 5).  The last, clean
 * run must give the same output as a run without the hook, so the walk is
 * known to have covered the whole run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/alloc.h"
#include "tlsdiag/capture.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/decode.h"
#include "tlsdiag/decrypt.h"
#include "tlsdiag/probe.h"
#include "tlsdiag/report.h"
#include "tlsdiag/rules.h"

struct out {
    char *p;
    size_t n, cap;
};

static void out_flush(void *ctx, const char *p, size_t n)
{
    struct out *o = ctx;
    if (o->n + n + 1 > o->cap) {
        size_t nc = (o->n + n + 1) * 2;
        char *np = realloc(o->p, nc); /* the test's own memory: not counted */
        if (np == NULL)
            abort();
        o->p = np;
        o->cap = nc;
    }
    memcpy(o->p + o->n, p, n);
    o->n += n;
    o->p[o->n] = '\0';
}

struct run {
    struct td_wbuf *w;
    struct td_corr *corr;
    struct td_rules_opts ro;
    struct td_report_opts rep;
    struct td_conn *conns[64];
    size_t n;
};

static void on_done(void *ctx, struct td_conn *c)
{
    struct run *r = ctx;
    if (r->n < 64)
        r->conns[r->n++] = c;
    else
        td_conn_free(c);
}

/* run_capture: what `tlsdiag read --json` and the text report do */
static void run_capture(const char *path, const char *keys, struct out *o)
{
    static struct td_wbuf w;
    static struct td_verdict v;
    struct run r;
    struct td_input_error err;
    struct td_reader *rd;
    struct td_engine *e;
    struct td_limits lim;
    struct td_pkt pkt;

    memset(&r, 0, sizeof(r));
    td_wb_init(&w, out_flush, o);
    r.w = &w;
    r.ro.now = 1700000000;
    r.rep.timeline = true;
    struct td_keylog *kl = NULL;

    if (keys != NULL) {
        char kerr[128];
        kl = td_keylog_new();
        if (kl == NULL || td_keylog_load_file(kl, keys, kerr, sizeof(kerr)) != 0) {
            td_wb_printf(&w, "error: key log\n");
            td_wb_flush(&w);
            td_keylog_free(kl);
            return;
        }
    }
    rd = td_reader_open(path, &err);
    if (rd == NULL) {
        td_wb_printf(&w, "error: %s\n", err.msg);
        td_wb_flush(&w);
        td_keylog_free(kl);
        return;
    }
    td_limits_default(&lim);
    lim.max_flows = 64; /* a small flow table: fewer, smaller allocations */
    e = td_engine_new(&lim, on_done, &r);
    if (e == NULL) {
        td_wb_puts(&w, "error: engine\n");
        td_wb_flush(&w);
        td_reader_close(rd);
        td_keylog_free(kl);
        return;
    }
    if (kl != NULL)
        td_engine_set_keylog(e, kl);
    while (td_reader_next(rd, &pkt) == 1)
        td_engine_packet(e, &pkt);
    td_engine_flush(e);
    td_engine_free(e);
    td_reader_close(rd);
    td_keylog_free(kl);
    r.corr = td_corr_new(); /* may be NULL: the calls accept it */
    for (size_t i = 0; i < r.n; i++) {
        td_rules_run(&v, r.conns[i], &r.ro);
        td_corr_add(r.corr, r.conns[i], &v);
    }
    for (size_t i = 0; i < r.n; i++) {
        td_rules_run(&v, r.conns[i], &r.ro);
        td_corr_revise(r.corr, r.conns[i], &v);
        td_report_json(&w, r.conns[i], &v, &r.rep);
        td_report_text(&w, r.conns[i], &v, &r.rep);
        td_conn_free(r.conns[i]);
    }
    td_corr_free(r.corr);
    td_wb_flush(&w);
}

/* run_decode: what `tlsdiag decode --json` does with a dump */
static void run_decode(const char *text, struct out *o)
{
    static struct td_wbuf w;
    static struct td_verdict v;
    struct td_dec_result *r = td_decode_text(text, strlen(text));
    struct td_rules_opts ro;
    struct td_report_opts rep;
    struct td_limits lim;
    struct td_conn *c;

    td_wb_init(&w, out_flush, o);
    if (r == NULL) {
        td_wb_puts(&w, "error: decode\n");
        td_wb_flush(&w);
        return;
    }
    memset(&ro, 0, sizeof(ro));
    memset(&rep, 0, sizeof(rep));
    ro.now = 1700000000;
    td_limits_default(&lim);
    lim.max_flows = 64;
    c = td_dec_run(r, &lim, NULL);
    if (c != NULL) {
        td_rules_run(&v, c, &ro);
        td_report_json(&w, c, &v, &rep);
        td_conn_free(c);
    }
    td_wb_printf(&w, "records %u items %u\n", r->num_records, r->num_items);
    td_dec_result_free(r);
    td_wb_flush(&w);
}

/* walk runs |fn| once clean, then with allocation N failing for N = 1, 2, ...
 * (every |step|-th N) until a run allocates fewer than N times. */
static void walk(void (*fn)(const void *, struct out *), const void *arg, uint64_t step, const char *must)
{
    struct out ref = {NULL, 0, 0};
    uint64_t total, n, failed_runs = 0;

    td_alloc_reset();
    fn(arg, &ref);
    total = td_alloc_count();
    assert_int_equal(td_alloc_failures(), 0);
    assert_true(total > 10);
    assert_non_null(ref.p);
    if (must != NULL)
        assert_non_null(strstr(ref.p, must)); /* the clean run did the work */
    for (n = 1;; n += step) {
        struct out o = {NULL, 0, 0};
        uint64_t count;

        td_alloc_reset();
        td_alloc_fail_at(n);
        fn(arg, &o);
        count = td_alloc_count();
        if (count < n) {
            /* the hook was never reached: this run must equal the clean one */
            assert_int_equal(td_alloc_failures(), 0);
            assert_non_null(o.p);
            assert_string_equal(o.p, ref.p);
            free(o.p);
            break;
        }
        /* the failure was counted, so the CLI can say so */
        assert_true(td_alloc_failures() >= 1);
        failed_runs++;
        free(o.p);
    }
    td_alloc_reset();
    print_message("      %llu allocations in a clean run, %llu runs with one failing\n",
                  (unsigned long long)total, (unsigned long long)failed_runs);
    assert_true(failed_runs * step + step > total);
    free(ref.p);
}

static void cap_fn(const void *arg, struct out *o) { run_capture(arg, NULL, o); }

struct cap_keys {
    const char *pcap, *keys;
};
static void capk_fn(const void *arg, struct out *o)
{
    const struct cap_keys *ck = arg;
    run_capture(ck->pcap, ck->keys, o);
}
static void dec_fn(const void *arg, struct out *o) { run_decode(arg, o); }

static void test_capture_tls12(void **state)
{
    (void)state;
    walk(cap_fn, "tests/data/lab/ok_tls12_full.pcap", 1, "\"outcome\":\"ok\"");
}

static void test_capture_ssl3(void **state)
{
    (void)state;
    walk(cap_fn, "tests/data/lab/fail_ssl3_hello.pcap", 1, "\"code\":\"protocol_version\"");
}

static void test_capture_decrypt(void **state)
{
    static const struct cap_keys ck = {"tests/data/lab/ok_tls13_full.pcap", "tests/data/lab/ok_tls13_full.keys"};
    (void)state;
    walk(capk_fn, &ck, 1, "\"decryption\":{\"client\":\"ok\",\"server\":\"ok\"");
}

static void test_capture_pcapng(void **state)
{
    (void)state;
    walk(cap_fn, "tests/data/lab/pcapng_tls12.pcapng", 1, "\"outcome\":\"ok\"");
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = calloc(1, (size_t)n + 1);
    if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void test_decode_dump(void **state)
{
    char *text = slurp("tests/data/decode/seed_dhe_only.txt");
    (void)state;
    assert_non_null(text);
    walk(dec_fn, text, 1, "no_shared_cipher");
    free(text);
}

/* the probe's judgement of a recorded exchange (lib/probe/run.c): our
 * hello, the server's handshake_failure alert, FIN */
static void probe_fn(const void *arg, struct out *o)
{
    static const uint16_t ciphers[] = {0xc02f, 0x009c};
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    struct td_ch_spec s;
    struct td_rules_opts ro;
    struct td_probe *p;
    uint8_t hello[TD_CH_MAX + 5];
    size_t n;
    char line[512];
    int k;

    (void)arg;
    memset(&s, 0, sizeof(s));
    s.legacy_version = 0x0303;
    s.ciphers = ciphers;
    s.num_ciphers = 2;
    s.sni = "example.com";
    n = td_ch_build(&s, NULL, hello, sizeof(hello));
    assert_true(n > 0);
    p = td_probe_new();
    if (p == NULL) {
        out_flush(o, "oom\n", 4);
        return;
    }
    p->ex.end = TD_END_FIN;
    p->ex.end_ns = 30000000;
    if (td_exchange_add(&p->ex, false, 1000000, hello, n) != 0 ||
        td_exchange_add(&p->ex, true, 20000000, alert, sizeof(alert)) != 0) {
        out_flush(o, "oom\n", 4);
        td_probe_free(p);
        return;
    }
    memset(&ro, 0, sizeof(ro));
    td_probe_classify(p, &ro);
    k = snprintf(line, sizeof(line), "res=%s alert=%u outcome=%s diag=%u", td_probe_res_str(p->res),
                 p->alert, td_outcome_str(p->v.outcome), p->v.num);
    out_flush(o, line, (size_t)k);
    for (unsigned i = 0; i < p->v.num; i++) {
        k = snprintf(line, sizeof(line), " %s", p->v.d[i].code);
        out_flush(o, line, (size_t)k);
    }
    out_flush(o, "\n", 1);
    td_probe_free(p);
}

static void test_probe_classify(void **state)
{
    (void)state;
    walk(probe_fn, NULL, 1, "res=alert alert=40 outcome=failed");
}

/* the per-thread reuse stacks keep at most 16 MiB, whatever sizes pass
 * through them, and hand their blocks out again */
static void test_pool_bounded(void **state)
{
    void *b[64];
    size_t sizes[] = {1024, 65536, 262144, 1u << 20};
    (void)state;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        for (int i = 0; i < 64; i++) {
            b[i] = td_pool_alloc(sizes[k]);
            assert_non_null(b[i]);
            memset(b[i], 0x5a, sizes[k]);
        }
        for (int i = 0; i < 64; i++)
            td_pool_free(b[i], sizes[k]);
        assert_true(td_pool_held() <= (16u << 20));
    }
    assert_true(td_pool_held() >= 64u * 1024u); /* something was kept */
    {
        size_t before = td_pool_held();
        void *p = td_pool_alloc(1024); /* from the stack: held shrinks */
        assert_non_null(p);
        assert_int_equal(td_pool_held(), before - 1024);
        td_pool_free(p, 1024);
        assert_int_equal(td_pool_held(), before);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_tls12),
        cmocka_unit_test(test_pool_bounded),
        cmocka_unit_test(test_capture_ssl3),
        cmocka_unit_test(test_capture_pcapng),
        cmocka_unit_test(test_capture_decrypt),
        cmocka_unit_test(test_decode_dump),
        cmocka_unit_test(test_probe_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
