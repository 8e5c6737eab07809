/* fuzz_pipeline: file in, report out -- what `tlsdiag read` does, in
 * memory: reader -> engine -> rules -> correlation -> text and JSON reports
 * and the summary (src/cmd_read.c drives the same public calls).
 * Small caps (16 open flows, 128 events, 1 MiB of flow memory) so eviction
 * and LIMIT_* paths run.
 * Invariants: every JSON line is valid JSON (bounded checker in
 * fuzz_common.h), one JSON line per shown connection and one for the
 * summary (read -q --json); text output holds no
 * raw control bytes; stats add up (evicted <= flows, open <= peak). */
#include "fuzz_common.h"
#include "tlsdiag/capture.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/decrypt.h"
#include "tlsdiag/report.h"
#include "tlsdiag/rules.h"

#define BATCH 256

struct run {
    struct td_conn *batch[BATCH];
    size_t n;
    struct td_corr *corr;
    struct td_rules_opts ro;
    struct td_report_opts rep;
    struct td_wbuf *wj, *wt;
    struct td_summary sum;
    uint64_t shown, conns;
};

static void flush_batch(struct run *r)
{
    static struct td_verdict v;

    for (size_t i = 0; i < r->n; i++) {
        td_rules_run(&v, r->batch[i], &r->ro);
        td_corr_add(r->corr, r->batch[i], &v);
    }
    for (size_t i = 0; i < r->n; i++) {
        struct td_conn *c = r->batch[i];
        td_rules_run(&v, c, &r->ro);
        td_corr_revise(r->corr, c, &v);
        td_summary_add(&r->sum, c, &v);
        FUZZ_CHECK(v.num <= TD_MAX_DIAGNOSES);
        for (unsigned k = 0; k < v.num; k++) {
            FUZZ_CHECK(v.d[k].code != NULL);
            FUZZ_CHECK(v.d[k].num_ev <= TD_MAX_EVIDENCE);
        }
        FUZZ_CHECK(c->num_events <= c->total_events);
        FUZZ_CHECK(c->num_alerts <= c->total_alerts && c->num_alerts <= TD_MAX_ALERTS);
        fuzz_check_diag(&c->anomalies, SIZE_MAX);
        /* every connection is rendered, shown or not: more code runs */
        td_report_json(r->wj, c, &v, &r->rep);
        td_report_text(r->wt, c, &v, &r->rep);
        r->conns++;
        td_conn_free(c);
    }
    r->n = 0;
}

static void on_done(void *ctx, struct td_conn *c)
{
    struct run *r = ctx;
    r->batch[r->n++] = c;
    if (r->n == BATCH)
        flush_batch(r);
}

/* pcapng Decryption Secrets Blocks feed a key log, as in src/cmd_read.c:
 * the seed tests/data/lab/dec_dsb_tls13.pcapng runs the decryption path
 * (key schedule, records, decrypted messages into the rules) end to end */
struct dsb {
    struct td_keylog *kl;
    struct td_engine *e;
};
static void on_secrets(void *ctx, uint32_t type, const uint8_t *p, size_t n)
{
    struct dsb *d = ctx;
    if (type != 0x544c534bu)
        return;
    td_keylog_add_text(d->kl, p, n);
    if (d->e != NULL)
        td_engine_set_keylog(d->e, d->kl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dsb dsb = {NULL, NULL};
    static struct run r;
    static struct td_wbuf wj, wt;
    struct fuzz_out oj = {NULL, 0, 0}, ot = {NULL, 0, 0};
    uint8_t *buf = fuzz_dup(data, size);
    struct td_input_error err;
    struct td_reader *rd;
    struct td_engine *e;
    struct td_limits lim;
    struct td_pkt pkt;
    struct td_stats st;
    size_t lines;

    memset(&r, 0, sizeof(r));
    rd = td_reader_open_mem(buf, size, &err);
    if (rd == NULL) {
        free(buf);
        return 0;
    }
    td_limits_default(&lim);
    lim.max_flows = 16;
    lim.max_events = 128;
    lim.max_memory = 1u << 20;
    r.corr = td_corr_new();
    FUZZ_CHECK(r.corr != NULL);
    r.ro.now = 1700000000;
    r.rep.source = "fuzz.pcap";
    r.rep.timeline = true;
    r.rep.verbose = true;
    r.rep.width = size & 1 ? 0 : 60; /* the text laid out (wrap.c), or not */
    td_wb_init(&wj, fuzz_out_flush, &oj);
    td_wb_init(&wt, fuzz_out_flush, &ot);
    r.wj = &wj;
    r.wt = &wt;
    e = td_engine_new(&lim, on_done, &r);
    FUZZ_CHECK(e != NULL);
    dsb.kl = td_keylog_new();
    FUZZ_CHECK(dsb.kl != NULL);
    dsb.e = e;
    td_reader_on_secrets(rd, on_secrets, &dsb);
    for (int i = 0; i < 20000 && td_reader_next(rd, &pkt) == 1; i++)
        td_engine_packet(e, &pkt);
    td_engine_flush(e);
    flush_batch(&r);
    td_engine_stats(e, &st);
    FUZZ_CHECK(st.evicted <= st.flows);
    FUZZ_CHECK(st.evicted_memory <= st.evicted);
    FUZZ_CHECK(st.open_flows == 0);
    FUZZ_CHECK(st.peak_flows <= lim.max_flows + 1);
    FUZZ_CHECK(st.tcp_packets <= st.packets);
    FUZZ_CHECK(r.conns == st.flows);
    td_report_summary_text(&wt, &r.sum, &st, &r.rep);
    td_report_summary_json(&wj, &r.sum, &st); /* read -q --json */
    td_wb_flush(&wj);
    td_wb_flush(&wt);
    lines = json_check_lines(oj.p, oj.n);
    FUZZ_CHECK(lines == r.conns + 1);
    fuzz_check_text(ot.p, ot.n);
    td_engine_free(e);
    td_keylog_free(dsb.kl);
    td_corr_free(r.corr);
    td_summary_free(&r.sum);
    td_reader_close(rd);
    free(oj.p);
    free(ot.p);
    free(buf);
    return 0;
}
