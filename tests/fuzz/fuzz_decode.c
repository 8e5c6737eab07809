/* fuzz_decode: pasted text through lib/decode -- td_decode_text, the
 * explanations, td_dec_synth and td_dec_run (the engine and the rules on the
 * synthetic packets), and the JSON report of the resulting connection.
 * Invariants: counts <= totals <= caps; every record lies inside the kept
 * bytes; line numbers <= lines read; item spans inside their line; the
 * synthetic packets are well-formed TCP for td_decode_tcp; explanations are
 * NUL-terminated; the JSON report parses. */
#include "fuzz_common.h"
#include "tlsdiag/capture.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/decode.h"
#include "tlsdiag/report.h"
#include "tlsdiag/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = (char *)fuzz_dup(data, size);
    struct td_dec_result *r = td_decode_text(text, size);
    struct td_dec_pkts pk;
    struct td_conn *c;
    uint32_t nconns = 0;
    struct td_limits lim;
    char buf[2048];

    FUZZ_CHECK(r != NULL);
    FUZZ_CHECK(r->num_records <= r->total_records && r->num_records <= TD_DEC_MAX_RECORDS);
    FUZZ_CHECK(r->num_items <= r->total_items && r->num_items <= TD_DEC_MAX_ITEMS);
    FUZZ_CHECK(r->num_issues <= r->total_issues && r->num_issues <= TD_DEC_MAX_ISSUES);
    FUZZ_CHECK(r->bytes_len <= TD_DEC_MAX_BYTES);
    FUZZ_CHECK(r->blank_lines <= r->lines && r->unknown_lines <= r->lines);
    FUZZ_CHECK(r->lines <= size + 1);
    FUZZ_CHECK(memchr(r->target, '\0', sizeof(r->target)) != NULL);
    for (uint32_t i = 0; i < r->num_records; i++) {
        const struct td_dec_record *rec = &r->records[i];
        FUZZ_CHECK(rec->off <= r->bytes_len && rec->len <= r->bytes_len - rec->off);
        FUZZ_CHECK(rec->dir <= TD_DEC_DIR_SERVER);
        FUZZ_CHECK(rec->line >= 1 && rec->line <= r->lines);
        FUZZ_CHECK(rec->session < r->num_sessions || r->num_sessions == 0);
    }
    for (uint32_t i = 0; i < r->num_items; i++) {
        const struct td_dec_item *it = &r->items[i];
        size_t n;
        FUZZ_CHECK(it->num_codes <= TD_DEC_MAX_CODES);
        for (unsigned k = 0; k < it->num_codes; k++)
            FUZZ_CHECK(it->codes[k] != NULL);
        FUZZ_CHECK(it->line >= 1 && it->line <= r->lines);
        FUZZ_CHECK((size_t)it->col + it->span_len <= TD_DEC_MAX_LINE);
        n = td_dec_explain(it, r->target, buf, sizeof(buf));
        FUZZ_CHECK(n < sizeof(buf) && strlen(buf) == n);
        FUZZ_CHECK(td_dec_by(it) != NULL);
    }
    for (uint32_t i = 0; i < r->num_issues; i++)
        FUZZ_CHECK(td_dec_issue_name(r->issues[i].kind) != NULL);

    if (r->num_records > 0 && td_dec_synth(&pk, r) == 0) {
        for (uint32_t i = 0; i < pk.n; i++) {
            struct td_tcp_pkt tcp;
            struct td_diag d;
            memset(&d, 0, sizeof(d));
            FUZZ_CHECK(pk.pkts[i].frame == i + 1);
            FUZZ_CHECK(td_decode_tcp(&tcp, &pk.pkts[i], &d) == TD_DEC_TCP);
            FUZZ_CHECK(d.total == 0);
            FUZZ_CHECK(tcp.payload.len == tcp.payload_wire_len);
        }
        td_dec_pkts_cleanup(&pk);
    }
    /* small flow cap: the flow table is sized by it, and a fresh 1M-flow
     * table per run would cost more than the whole decode */
    td_limits_default(&lim);
    lim.max_flows = 64;
    c = td_dec_run(r, &lim, &nconns);
    if (c != NULL) {
        static struct td_verdict v;
        static struct td_wbuf w;
        struct fuzz_out o = {NULL, 0, 0};
        struct td_rules_opts ro;
        struct td_report_opts rep;

        FUZZ_CHECK(nconns >= 1);
        memset(&ro, 0, sizeof(ro));
        memset(&rep, 0, sizeof(rep));
        ro.now = 1700000000;
        rep.timeline = true;
        td_rules_run(&v, c, &ro);
        td_wb_init(&w, fuzz_out_flush, &o);
        td_report_json(&w, c, &v, &rep);
        td_wb_flush(&w);
        FUZZ_CHECK(json_check_lines(o.p, o.n) == 1);
        free(o.p);
        td_conn_free(c);
    }
    td_dec_result_free(r);
    free(text);
    return 0;
}
