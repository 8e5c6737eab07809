/* text.c: the human report.  A connection header, a one-line verdict, the
 * evidence and the fix for failures, the timeline when asked (always for
 * failures), and a summary.  Colour only when the caller says the output is
 * a terminal. */
#include <stdio.h>
#include <string.h>

#include "tlsdiag/registry.h"
#include "tlsdiag/report.h"

#define C_RED "\033[1;31m"
#define C_GREEN "\033[1;32m"
#define C_YELLOW "\033[1;33m"
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_OFF "\033[0m"

static const char *col(const struct td_report_opts *o, const char *c) { return o && o->color ? c : ""; }

/* The layout (--width, struct td_report_opts.width): prose (summaries,
 * why, fix, notes, timeline and evidence descriptions) is wrapped at spaces
 * with a hanging indent under the text after its label; header and summary
 * lines are laid out in pieces that are never cut (an address, "SNI name",
 * the version and suite, "frames a-b", "code n").  lib/util/wrap.c. */
static unsigned width_of(const struct td_report_opts *o) { return o != NULL ? o->width : 0; }

/* a connection header's continuation lines */
#define HDR_INDENT 4
/* Under `read -j` a connection is rendered before its id is known (as 0,
 * written in when it is printed: td_report_id_at), and the output must not
 * depend on -j: so the header is laid out as if every id took "#" and six
 * digits.  A shorter id leaves its line that much shorter; one past 999999
 * can pass the width by its extra digits. */
#define HDR_ID_COLS 7

/* prose: the rest of a line from column |col|, continuation lines indented
 * to |indent|, then the line's end */
static void prose(struct td_wbuf *w, const struct td_report_opts *o, unsigned col, unsigned indent, const char *s)
{
    struct td_wrap x;
    td_wrap_begin(&x, w, width_of(o), col, indent);
    td_wrap_prose(&x, "", s, strlen(s));
    td_wb_putc(w, '\n');
}

/* labelled: |label| then its prose, continuation lines under the prose */
static void labelled(struct td_wbuf *w, const struct td_report_opts *o, const char *label, const char *s)
{
    unsigned n = (unsigned)strlen(label);
    td_wb_put(w, label, n);
    prose(w, o, n, n, s);
}

/* comma_list: the pieces of |s| separated by ", " outside parentheses,
 * each one piece with its comma, |sep| before the first */
static void comma_list(struct td_wrap *x, const char *sep, const char *s)
{
    size_t n = strlen(s), i = 0, start = 0;
    int depth = 0;

    for (i = 0; i <= n; i++) {
        if (i < n && s[i] == '(')
            depth++;
        else if (i < n && s[i] == ')' && depth > 0)
            depth--;
        if (i == n || (depth == 0 && s[i] == ',' && i + 1 < n && s[i + 1] == ' ')) {
            size_t end = i < n ? i + 1 : n; /* with its comma */
            td_wrap_unit(x, start == 0 ? sep : " ", s + start, end - start);
            if (i == n)
                break;
            start = i + 2;
            i++;
        }
    }
}

/* an SNI as one piece: an empty name (a hello whose server_name extension
 * names nothing) is shown as such, not as a gap; the name's bytes outside
 * printable ASCII as \xNN (td_wb_text_str) */
static void sni_piece(struct td_wrap *x, const char *sep, const char *pre, const char *s, size_t n, const char *post)
{
    size_t pl = strlen(pre), ql = strlen(post);
    if (n == 0) {
        s = "(empty)";
        n = 7;
    }
    td_wrap_sep(x, sep, td_wrap_cols(pre, pl, false) + td_wrap_cols(s, n, true) + td_wrap_cols(post, ql, false));
    td_wrap_put(x, pre, pl);
    x->ascii = true;
    td_wrap_put(x, s, n);
    x->ascii = false;
    td_wrap_put(x, post, ql);
}

static void header(struct td_wbuf *w, const struct td_conn *c, const struct td_report_opts *o)
{
    char a[64], b[64], v[16], cs[96], u[256], fr[64];
    uint8_t cl = c->client, sv = (uint8_t)(1 - c->client);
    const struct td_client_hello *ch = c->ch.m;
    const struct td_server_hello *sh = c->sh.m;
    struct td_wrap x;
    int n, nf, nt = 0;
    unsigned tls = 0, frc;

    td_fmt_addr(c, cl, a, sizeof(a));
    td_fmt_addr(c, sv, b, sizeof(b));
    td_wb_printf(w, "%s#%llu%s ", col(o, C_BOLD), (unsigned long long)c->id, col(o, C_OFF));
    td_wrap_begin(&x, w, width_of(o), HDR_ID_COLS + 1, HDR_INDENT);
    n = snprintf(u, sizeof(u), "%s%s%s:%u -> %s%s%s:%u", c->ipver == 6 ? "[" : "", a, c->ipver == 6 ? "]" : "",
                 c->port[cl], c->ipver == 6 ? "[" : "", b, c->ipver == 6 ? "]" : "", c->port[sv]);
    td_wrap_unit(&x, "", u, n < 0 ? 0 : (size_t)n < sizeof(u) ? (size_t)n : sizeof(u) - 1);
    if (ch != NULL) {
        if (ch->has_sni)
            sni_piece(&x, "  ", "SNI ", ch->sni, ch->sni_len, "");
        else
            td_wrap_unit(&x, "  ", "SNI (none)", 10);
    }
    nf = snprintf(fr, sizeof(fr), "frames %llu-%llu", (unsigned long long)c->first_frame, (unsigned long long)c->last_frame);
    nf = nf < 0 ? 0 : nf < (int)sizeof(fr) ? nf : (int)sizeof(fr) - 1;
    frc = (unsigned)nf;
    if (sh != NULL) {
        nt = snprintf(u, sizeof(u), "%s %s", td_version_fmt(sh->selected_version, v, sizeof(v)),
                      td_reg_fmt(TD_REG_CIPHER, sh->cipher, cs, sizeof(cs)));
        nt = nt < 0 ? 0 : nt < (int)sizeof(u) ? nt : (int)sizeof(u) - 1;
        tls = td_wrap_cols(u, (size_t)nt, false);
        /* the version and suite go on with the frames when they wrap, if
         * both fit on one line */
        td_wrap_sep(&x, "  ", x.indent + tls + 2 + frc <= x.width ? tls + 2 + frc : tls);
        td_wrap_put(&x, u, (size_t)nt);
    }
    td_wrap_sep(&x, "  ", frc);
    td_wrap_raw(&x, col(o, C_DIM));
    td_wrap_put(&x, fr, (size_t)nf);
    td_wrap_raw(&x, col(o, C_OFF));
    td_wb_putc(w, '\n');
}

/* the columns before a timeline or evidence description: the
 * description's continuation lines are indented to it */
static unsigned prefix(struct td_wbuf *w, bool evidence, unsigned long long frame, double t, const char *dir)
{
    char p[96];
    int n = evidence ? snprintf(p, sizeof(p), "      frame %-6llu %10.6f  %s  ", frame, t, dir)
                     : snprintf(p, sizeof(p), "    %6llu %10.6f  %s  ", frame, t, dir);
    n = n < 0 ? 0 : n < (int)sizeof(p) ? n : (int)sizeof(p) - 1;
    td_wb_put(w, p, (size_t)n);
    return (unsigned)n;
}

static void timeline(struct td_wbuf *w, const struct td_conn *c, const struct td_report_opts *o)
{
    for (uint32_t i = 0; i < c->num_events; i++) {
        const struct td_event *e = &c->events[i];
        char what[160];
        bool from_c = td_conn_from(c, e->ep) == TD_FROM_CLIENT;
        unsigned n;
        td_event_what(c, e, what, sizeof(what));
        n = prefix(w, false, (unsigned long long)e->frame,
                   (double)(e->ts_ns - c->capture_start_ns) / 1e9, from_c ? "C>S" : "C<S");
        prose(w, o, n, n, what);
    }
    if (c->total_events > c->num_events)
        td_wb_printf(w, "    ... %u more events not kept (--max-events)\n", c->total_events - c->num_events);
}

static void diag_block(struct td_wbuf *w, const struct td_conn *c, const struct td_diagnosis *d,
                       const struct td_report_opts *o, bool primary)
{
    const char *cc = d->severity == TD_SEV_ERROR ? C_RED : d->severity == TD_SEV_WARNING ? C_YELLOW : C_DIM;
    const char *sev = d->severity == TD_SEV_ERROR ? "FAILED" : d->severity == TD_SEV_WARNING ? "warning" : "note";
    char t[160];
    struct td_wrap x;
    int n = snprintf(t, sizeof(t), "(%s, by %s, %s confidence)", d->severity == TD_SEV_ERROR ? "error" : td_severity_str(d->severity),
                     td_by_str(d->by), td_confidence_str(d->confidence));
    td_wb_printf(w, "  %s%s%s %s", col(o, cc), sev, col(o, C_OFF), d->code);
    td_wrap_begin(&x, w, width_of(o), 3 + (unsigned)strlen(sev) + (unsigned)strlen(d->code), 4);
    td_wrap_prose(&x, "  ", t, n < 0 ? 0 : (size_t)n < sizeof(t) ? (size_t)n : sizeof(t) - 1);
    td_wb_putc(w, '\n');
    labelled(w, o, "    ", d->summary);
    if (!primary)
        return;
    labelled(w, o, "    why: ", d->explanation);
    for (uint8_t i = 0; i < d->num_ev; i++) {
        const struct td_evidence *e = &d->ev[i];
        unsigned at = prefix(w, true, (unsigned long long)e->frame,
                             (double)(e->ts_ns - c->capture_start_ns) / 1e9,
                             e->from == TD_FROM_CLIENT ? "C>S" : e->from == TD_FROM_SERVER ? "C<S" : "   ");
        prose(w, o, at, at, e->what);
    }
    labelled(w, o, "    fix: ", d->fix);
}

void td_report_text(struct td_wbuf *w, const struct td_conn *c, const struct td_verdict *v,
                    const struct td_report_opts *o)
{
    bool failed = v->outcome == TD_OUT_FAILED;

    header(w, c, o);
    if (c->evicted)
        labelled(w, o, "  note: ", "closed early to stay within --max-flows/--max-memory; later packets of it count as a new connection");
    if (v->outcome == TD_OUT_OK) {
        const struct td_handshake_kind *k = &v->hs;
        char kind[256];
        size_t n;
        struct td_wrap x;
        n = (size_t)snprintf(kind, sizeof(kind), "%s handshake%s%s%s%s, %u round trip%s", k->resumed ? "resumed" : "full",
                             k->resumed ? " (" : "", k->resumed ? td_resumption_str(k->resumption) : "",
                             k->resumed ? ")" : "", k->mutual ? ", mutual" : "", k->round_trips,
                             k->round_trips == 1 ? "" : "s");
        if (k->hello_retry && n < sizeof(kind))
            n += (size_t)snprintf(kind + n, sizeof(kind) - n, ", HelloRetryRequest");
        if (k->early_data && n < sizeof(kind))
            n += (size_t)snprintf(kind + n, sizeof(kind) - n, ", early data");
        if (k->has_think && n < sizeof(kind))
            snprintf(kind + n, sizeof(kind) - n, ", server think %.1f ms", (double)k->think_ns / 1e6);
        td_wb_printf(w, "  %sok%s ", col(o, C_GREEN), col(o, C_OFF));
        td_wrap_begin(&x, w, width_of(o), 5, 5);
        comma_list(&x, "", kind);
        td_wb_putc(w, '\n');
        for (uint8_t i = 0; i < v->num; i++)
            diag_block(w, c, &v->d[i], o, false);
    } else if (failed && v->num > 0) {
        diag_block(w, c, &v->d[0], o, true);
        for (uint8_t i = 1; i < v->num; i++)
            diag_block(w, c, &v->d[i], o, false);
    } else {
        td_wb_printf(w, "  %s%s%s\n", col(o, C_YELLOW), td_outcome_str(v->outcome), col(o, C_OFF));
        for (uint8_t i = 0; i < v->num; i++)
            diag_block(w, c, &v->d[i], o, false);
    }
    /* decryption that did not work is said on every connection it concerns */
    if (c->keylog) {
        uint8_t cl = c->client, sv = (uint8_t)(1 - c->client);
        uint8_t a = c->half[cl].decrypt, b = c->half[sv].decrypt;
        bool bad = a >= TD_DECRYPT_NO_SECRET || b >= TD_DECRYPT_NO_SECRET;
        if (bad)
            td_wb_printf(w, "  %sdecryption: client %s, server %s%s\n", col(o, C_YELLOW), td_decrypt_state_str(a),
                         td_decrypt_state_str(b), col(o, C_OFF));
    }
    /* failures always show their timeline: it is the proof */
    if (failed || (o != NULL && (o->timeline || o->verbose))) {
        td_wb_puts(w, "  timeline:\n");
        timeline(w, c, o);
    }
    td_wb_putc(w, '\n');
}

/* the failures of names the summary could not count (TD_SUMMARY_KEYS) */
static void not_counted(struct td_wrap *x, const struct td_counts *c)
{
    char t[128];
    if (c->over > 0) {
        snprintf(t, sizeof(t), "(+%llu failures of names past %u not counted)", (unsigned long long)c->over,
                 (unsigned)TD_SUMMARY_KEYS);
        td_wrap_prose(x, " ", t, strlen(t));
    }
}

/* a summary line's label, the rest laid out under the text after it */
static void sum_label(struct td_wrap *x, struct td_wbuf *w, const struct td_report_opts *o, const char *label)
{
    unsigned n = (unsigned)strlen(label);
    td_wb_put(w, label, n);
    td_wrap_begin(x, w, width_of(o), n, n + 1);
}

void td_report_summary_text(struct td_wbuf *w, const struct td_summary *s, const struct td_stats *st,
                            const struct td_report_opts *o)
{
    struct td_wrap x;
    char t[512];
    size_t n;

    td_wb_printf(w, "%sSummary%s:", col(o, C_BOLD), col(o, C_OFF));
    td_wrap_begin(&x, w, width_of(o), 8, 9);
    n = (size_t)snprintf(t, sizeof(t), "%llu TLS connection%s:", (unsigned long long)s->conns, s->conns == 1 ? "" : "s");
    td_wrap_unit(&x, " ", t, n);
    n = (size_t)snprintf(t, sizeof(t), "%llu ok,", (unsigned long long)s->by_outcome[TD_OUT_OK]);
    td_wrap_unit(&x, " ", t, n);
    n = (size_t)snprintf(t, sizeof(t), "%llu failed", (unsigned long long)s->by_outcome[TD_OUT_FAILED]);
    td_wrap_sep(&x, " ", (unsigned)n + 1);
    td_wrap_raw(&x, s->by_outcome[TD_OUT_FAILED] ? col(o, C_RED) : "");
    td_wrap_put(&x, t, n);
    td_wrap_raw(&x, s->by_outcome[TD_OUT_FAILED] ? col(o, C_OFF) : "");
    td_wrap_put(&x, ",", 1);
    n = (size_t)snprintf(t, sizeof(t), "%llu incomplete,", (unsigned long long)s->by_outcome[TD_OUT_INCOMPLETE]);
    td_wrap_unit(&x, " ", t, n);
    n = (size_t)snprintf(t, sizeof(t), "%llu partial%s", (unsigned long long)s->by_outcome[TD_OUT_PARTIAL],
                         s->warnings ? "," : "");
    td_wrap_unit(&x, " ", t, n);
    if (s->warnings) {
        n = (size_t)snprintf(t, sizeof(t), "%llu warning%s", (unsigned long long)s->warnings, s->warnings == 1 ? "" : "s");
        td_wrap_unit(&x, " ", t, n);
    }
    td_wb_putc(w, '\n');
    if (s->num_codes > 0) {
        sum_label(&x, w, o, "  causes:");
        for (uint32_t i = 0; i < s->num_codes; i++) {
            n = (size_t)snprintf(t, sizeof(t), "%s %llu%s", s->codes[i].code, (unsigned long long)s->codes[i].n,
                                 i + 1 < s->num_codes ? "," : "");
            td_wrap_unit(&x, " ", t, n < sizeof(t) ? n : sizeof(t) - 1);
        }
        td_wb_putc(w, '\n');
    }
    if (s->servers.n > 0) {
        uint32_t top[5], m = td_counts_top(&s->servers, top, 5);
        sum_label(&x, w, o, "  failing servers:");
        for (uint32_t k = 0; k < m; k++) {
            const struct td_count *e = &s->servers.v[top[k]];
            n = (size_t)snprintf(t, sizeof(t), "%s (%llu)", e->key, (unsigned long long)e->n);
            td_wrap_unit(&x, " ", t, n < sizeof(t) ? n : sizeof(t) - 1);
        }
        not_counted(&x, &s->servers);
        td_wb_putc(w, '\n');
    }
    if (s->snis.n > 0) {
        uint32_t top[5], m = td_counts_top(&s->snis, top, 5);
        sum_label(&x, w, o, "  failing SNIs:");
        for (uint32_t k = 0; k < m; k++) {
            const struct td_count *e = &s->snis.v[top[k]];
            snprintf(t, sizeof(t), " (%llu)", (unsigned long long)e->n);
            sni_piece(&x, " ", "", e->key, strlen(e->key), t);
        }
        not_counted(&x, &s->snis);
        td_wb_putc(w, '\n');
    }
    if (st != NULL) {
        n = (size_t)snprintf(t, sizeof(t), "packets %llu, TCP flows %llu, not shown %llu (not TLS)", (unsigned long long)st->packets,
                             (unsigned long long)st->flows, (unsigned long long)s->hidden);
        if (st->fragments && n < sizeof(t))
            n += (size_t)snprintf(t + n, sizeof(t) - n, ", IP fragments %llu (not reassembled)", (unsigned long long)st->fragments);
        if (st->evicted && n < sizeof(t))
            n += (size_t)snprintf(t + n, sizeof(t) - n, ", flows evicted %llu (--max-flows %llu, --max-memory %llu)",
                                  (unsigned long long)st->evicted, (unsigned long long)(st->evicted - st->evicted_memory),
                                  (unsigned long long)st->evicted_memory);
        if (st->limit_hits && n < sizeof(t))
            n += (size_t)snprintf(t + n, sizeof(t) - n, ", limits hit %llu", (unsigned long long)st->limit_hits);
        if (st->malformed && n < sizeof(t))
            snprintf(t + n, sizeof(t) - n, ", malformed packets %llu", (unsigned long long)st->malformed);
        td_wb_printf(w, "  %s", col(o, C_DIM));
        td_wrap_begin(&x, w, width_of(o), 2, 4);
        comma_list(&x, "", t);
        td_wb_printf(w, "%s\n", col(o, C_OFF));
    }
    {
        /* which of our caps were hit, by how many connections: a cap is
         * never silent (docs/limits.md) */
        unsigned hit[20], nh = 0;
        for (unsigned i = 0; i < 20; i++)
            if (s->limit_conns[i] != 0 && td_anomaly_name(80 + i) != NULL)
                hit[nh++] = i;
        if (nh > 0) {
            static const char tail[] = "results for those connections may be partial (docs/limits.md)";
            sum_label(&x, w, o, "  limits hit (connections):");
            for (unsigned k = 0; k < nh; k++) {
                n = (size_t)snprintf(t, sizeof(t), "%s %llu%s", td_anomaly_name(80 + hit[k]),
                                     (unsigned long long)s->limit_conns[hit[k]], k + 1 < nh ? "," : ";");
                td_wrap_unit(&x, " ", t, n < sizeof(t) ? n : sizeof(t) - 1);
            }
            td_wrap_prose(&x, " ", tail, sizeof(tail) - 1);
            td_wb_putc(w, '\n');
        }
    }
    if (s->corr_evicted || s->corr_ctl_evicted) {
        snprintf(t, sizeof(t), "correlation store full: %llu fallback records and %llu server keys dropped, oldest first; "
                               "causes proved by other connections (sni_required, middlebox_*, fallbacks) may be missed "
                               "(docs/limits.md)",
                 (unsigned long long)s->corr_evicted, (unsigned long long)s->corr_ctl_evicted);
        td_wb_puts(w, "  ");
        prose(w, o, 2, 4, t);
    }
    if (s->corr_pair_dropped) {
        snprintf(t, sizeof(t), "correlation store: %llu fallback records not looked at, past the newest 256 of one client and "
                               "server; a version fallback among them may be missed (docs/limits.md)",
                 (unsigned long long)s->corr_pair_dropped);
        td_wb_puts(w, "  ");
        prose(w, o, 2, 4, t);
    }
}
