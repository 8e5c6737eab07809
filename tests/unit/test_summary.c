/* test_summary.c: the summary's failing servers and SNIs (lib/report/
 * common.c).  Every distinct name is counted (up to TD_SUMMARY_KEYS), and
 * the lists name those with the most failures, ties in the order first
 * seen:
 *   - late_top: 100 servers fail once each, then one more fails 50 times:
 *     it leads the text and the JSON (before, only the first 64 names
 *     seen were counted, and it was not in the lists at all);
 *   - ties: equal counts keep the order first seen, and a name cut to the
 *     key's size counts with its cut form;
 *   - cap: past TD_SUMMARY_KEYS names, connections are counted in |over|,
 *     and the names already there still count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlsdiag/report.h"

struct sink {
    char *p;
    size_t n;
};

static void sink_flush(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    char *np = realloc(s->p, s->n + n + 1);
    assert_non_null(np);
    s->p = np;
    memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = '\0';
}

static void fail_at(struct td_summary *s, const char *server, const char *sni)
{
    struct td_sum_rec r;
    memset(&r, 0, sizeof(r));
    r.shown = true;
    r.failed = true;
    r.outcome = TD_OUT_FAILED;
    r.code = "handshake_failure";
    snprintf(r.server, sizeof(r.server), "%s", server);
    if (sni != NULL) {
        r.has_sni = true;
        snprintf(r.sni, sizeof(r.sni), "%s", sni);
    }
    td_summary_add_rec(s, &r);
}

static void render(const struct td_summary *s, struct sink *text, struct sink *json)
{
    struct td_wbuf w;
    struct td_report_opts o;

    memset(&o, 0, sizeof(o));
    td_wb_init(&w, sink_flush, text);
    td_report_summary_text(&w, s, NULL, &o);
    td_wb_flush(&w);
    td_wb_init(&w, sink_flush, json);
    td_report_summary_json(&w, s, NULL);
    td_wb_flush(&w);
}

static void late_top(void **state)
{
    struct td_summary s;
    struct sink text = {NULL, 0}, json = {NULL, 0};
    char name[64];
    (void)state;

    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "10.0.0.%d:443", i);
        fail_at(&s, name, NULL);
    }
    for (int i = 0; i < 50; i++)
        fail_at(&s, "192.0.2.7:443", "late.example");
    assert_int_equal(s.servers.n, 101);
    render(&s, &text, &json);
    assert_non_null(strstr(text.p, "failing servers: 192.0.2.7:443 (50) 10.0.0.0:443 (1) 10.0.0.1:443 (1)"));
    assert_non_null(strstr(text.p, "failing SNIs: late.example (50)"));
    assert_non_null(strstr(json.p, "\"failing_servers\":[{\"name\":\"192.0.2.7:443\",\"connections\":50},"
                                   "{\"name\":\"10.0.0.0:443\",\"connections\":1}"));
    /* the JSON lists TD_SUMMARY_TOP of the 101 */
    {
        size_t n = 0;
        for (const char *p = strstr(json.p, "\"failing_servers\""); p != NULL && (p = strstr(p, "\"name\"")) != NULL;
             p++) {
            if (strstr(json.p, "\"failing_snis\"") < p)
                break;
            n++;
        }
        assert_int_equal(n, TD_SUMMARY_TOP);
    }
    td_summary_free(&s);
    free(text.p);
    free(json.p);
}

static void ties(void **state)
{
    struct td_summary s;
    uint32_t top[5], m;
    char longname[200];
    (void)state;

    memset(&s, 0, sizeof(s));
    fail_at(&s, "b:443", NULL);
    fail_at(&s, "a:443", NULL);
    fail_at(&s, "c:443", NULL);
    fail_at(&s, "a:443", NULL);
    fail_at(&s, "c:443", NULL);
    m = td_counts_top(&s.servers, top, 5);
    assert_int_equal(m, 3);
    assert_string_equal(s.servers.v[top[0]].key, "a:443"); /* 2, seen before c */
    assert_string_equal(s.servers.v[top[1]].key, "c:443");
    assert_string_equal(s.servers.v[top[2]].key, "b:443");
    assert_int_equal(td_counts_top(&s.servers, top, 0), 0);
    /* the record's SNI is cut to 79 bytes; the table keeps it so */
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    fail_at(&s, "d:443", longname);
    fail_at(&s, "d:443", longname);
    assert_int_equal(s.snis.n, 1);
    assert_int_equal(s.snis.v[0].n, 2);
    assert_int_equal(strlen(s.snis.v[0].key), sizeof(s.snis.v[0].key) - 1);
    td_summary_free(&s);
    assert_int_equal(s.servers.n, 0);
}

static void cap(void **state)
{
    struct td_summary s;
    char name[64];
    uint32_t top[1];
    (void)state;

    memset(&s, 0, sizeof(s));
    for (uint32_t i = 0; i < TD_SUMMARY_KEYS + 10; i++) {
        snprintf(name, sizeof(name), "s%u", i);
        fail_at(&s, name, NULL);
    }
    assert_int_equal(s.servers.n, TD_SUMMARY_KEYS);
    assert_int_equal(s.servers.over, 10);
    {
        struct sink text = {NULL, 0}, json = {NULL, 0};
        render(&s, &text, &json);
        assert_non_null(strstr(text.p, "(+10 failures of names past 65536 not counted)"));
        assert_non_null(strstr(json.p, "],\"failing_servers_not_counted\":10"));
        assert_null(strstr(json.p, "failing_snis_not_counted"));
        free(text.p);
        free(json.p);
    }
    fail_at(&s, "s7", NULL); /* counted: already there */
    assert_int_equal(s.servers.over, 10);
    assert_int_equal(td_counts_top(&s.servers, top, 1), 1);
    assert_string_equal(s.servers.v[top[0]].key, "s7");
    assert_int_equal(s.servers.v[top[0]].n, 2);
    td_summary_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_top),
        cmocka_unit_test(ties),
        cmocka_unit_test(cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
