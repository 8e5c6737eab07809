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

/* an SNI as text: an empty name (a hello whose server_name extension names
 * nothing) is shown as such, not as a gap */
static void sni_text(struct td_wbuf *w, const char *s, size_t n)
{
    if (n == 0)
        td_wb_puts(w, "(empty)");
    else
        td_wb_text_str(w, s, n);
}

/* safe writes a line the library composed, which may quote peer bytes (an
 * SNI or certificate name inside an evidence line or a summary): control
 * bytes become \xNN here, at render time, so a hostile name cannot move the
 * cursor or recolour the terminal.  Bytes >= 0x80 pass (UTF-8 names). */
static void safe(struct td_wbuf *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;

    for (size_t i = 0; p[i] != '\0'; i++) {
        if (p[i] >= 0x20 && p[i] != 0x7f)
            continue;
        td_wb_put(w, s + run, i - run);
        td_wb_text_str(w, s + i, 1);
        run = i + 1;
    }
    td_wb_puts(w, s + run);
}

static void header(struct td_wbuf *w, const struct td_conn *c, const struct td_report_opts *o)
{
    char a[64], b[64], v[16], cs[96];
    uint8_t cl = c->client, sv = (uint8_t)(1 - c->client);
    const struct td_client_hello *ch = c->ch.m;
    const struct td_server_hello *sh = c->sh.m;

    td_fmt_addr(c, cl, a, sizeof(a));
    td_fmt_addr(c, sv, b, sizeof(b));
    td_wb_printf(w, "%s#%llu%s %s%s%s:%u -> %s%s%s:%u", col(o, C_BOLD), (unsigned long long)c->id, col(o, C_OFF),
                 c->ipver == 6 ? "[" : "", a, c->ipver == 6 ? "]" : "", c->port[cl], c->ipver == 6 ? "[" : "", b,
                 c->ipver == 6 ? "]" : "", c->port[sv]);
    if (ch != NULL) {
        td_wb_puts(w, "  SNI ");
        if (ch->has_sni)
            sni_text(w, ch->sni, ch->sni_len);
        else
            td_wb_puts(w, "(none)");
    }
    if (sh != NULL)
        td_wb_printf(w, "  %s %s", td_version_fmt(sh->selected_version, v, sizeof(v)),
                     td_reg_fmt(TD_REG_CIPHER, sh->cipher, cs, sizeof(cs)));
    td_wb_printf(w, "  %sframes %llu-%llu%s\n", col(o, C_DIM), (unsigned long long)c->first_frame,
                 (unsigned long long)c->last_frame, col(o, C_OFF));
}

static void timeline(struct td_wbuf *w, const struct td_conn *c, const struct td_report_opts *o)
{
    for (uint32_t i = 0; i < c->num_events; i++) {
        const struct td_event *e = &c->events[i];
        char what[160];
        bool from_c = td_conn_from(c, e->ep) == TD_FROM_CLIENT;
        td_event_what(c, e, what, sizeof(what));
        td_wb_printf(w, "    %6llu %10.6f  %s  ", (unsigned long long)e->frame,
                     (double)(e->ts_ns - c->capture_start_ns) / 1e9, from_c ? "C>S" : "C<S");
        safe(w, what);
        td_wb_putc(w, '\n');
    }
    if (c->total_events > c->num_events)
        td_wb_printf(w, "    ... %u more events not kept (--max-events)\n", c->total_events - c->num_events);
    (void)o;
}

static void diag_block(struct td_wbuf *w, const struct td_conn *c, const struct td_diagnosis *d,
                       const struct td_report_opts *o, bool primary)
{
    const char *cc = d->severity == TD_SEV_ERROR ? C_RED : d->severity == TD_SEV_WARNING ? C_YELLOW : C_DIM;
    td_wb_printf(w, "  %s%s%s %s  (%s, by %s, %s confidence)\n", col(o, cc),
                 d->severity == TD_SEV_ERROR ? "FAILED" : d->severity == TD_SEV_WARNING ? "warning" : "note",
                 col(o, C_OFF), d->code, d->severity == TD_SEV_ERROR ? "error" : td_severity_str(d->severity), td_by_str(d->by),
                 td_confidence_str(d->confidence));
    td_wb_puts(w, "    ");
    safe(w, d->summary);
    td_wb_putc(w, '\n');
    if (!primary)
        return;
    td_wb_puts(w, "    why: ");
    safe(w, d->explanation);
    td_wb_putc(w, '\n');
    for (uint8_t i = 0; i < d->num_ev; i++) {
        const struct td_evidence *e = &d->ev[i];
        td_wb_printf(w, "      frame %-6llu %10.6f  %s  ", (unsigned long long)e->frame,
                     (double)(e->ts_ns - c->capture_start_ns) / 1e9,
                     e->from == TD_FROM_CLIENT ? "C>S" : e->from == TD_FROM_SERVER ? "C<S" : "   ");
        safe(w, e->what);
        td_wb_putc(w, '\n');
    }
    td_wb_puts(w, "    fix: ");
    safe(w, d->fix);
    td_wb_putc(w, '\n');
}

void td_report_text(struct td_wbuf *w, const struct td_conn *c, const struct td_verdict *v,
                    const struct td_report_opts *o)
{
    bool failed = v->outcome == TD_OUT_FAILED;

    header(w, c, o);
    if (c->evicted)
        td_wb_puts(w, "  note: closed early to stay within --max-flows/--max-memory; later packets of it count as a new connection\n");
    if (v->outcome == TD_OUT_OK) {
        const struct td_handshake_kind *k = &v->hs;
        td_wb_printf(w, "  %sok%s %s handshake%s%s%s%s, %u round trip%s", col(o, C_GREEN), col(o, C_OFF),
                     k->resumed ? "resumed" : "full", k->resumed ? " (" : "", k->resumed ? td_resumption_str(k->resumption) : "",
                     k->resumed ? ")" : "", k->mutual ? ", mutual" : "", k->round_trips, k->round_trips == 1 ? "" : "s");
        if (k->hello_retry)
            td_wb_puts(w, ", HelloRetryRequest");
        if (k->early_data)
            td_wb_puts(w, ", early data");
        if (k->has_think)
            td_wb_printf(w, ", server think %.1f ms", (double)k->think_ns / 1e6);
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
static void not_counted(struct td_wbuf *w, const struct td_counts *c)
{
    if (c->over > 0)
        td_wb_printf(w, " (+%llu failures of names past %u not counted)", (unsigned long long)c->over,
                     (unsigned)TD_SUMMARY_KEYS);
}

void td_report_summary_text(struct td_wbuf *w, const struct td_summary *s, const struct td_stats *st,
                            const struct td_report_opts *o)
{
    td_wb_printf(w, "%sSummary%s: %llu TLS connection%s: %llu ok, %s%llu failed%s, %llu incomplete, %llu partial", col(o, C_BOLD),
                 col(o, C_OFF), (unsigned long long)s->conns, s->conns == 1 ? "" : "s", (unsigned long long)s->by_outcome[TD_OUT_OK],
                 s->by_outcome[TD_OUT_FAILED] ? col(o, C_RED) : "", (unsigned long long)s->by_outcome[TD_OUT_FAILED],
                 s->by_outcome[TD_OUT_FAILED] ? col(o, C_OFF) : "", (unsigned long long)s->by_outcome[TD_OUT_INCOMPLETE],
                 (unsigned long long)s->by_outcome[TD_OUT_PARTIAL]);
    if (s->warnings)
        td_wb_printf(w, ", %llu warning%s", (unsigned long long)s->warnings, s->warnings == 1 ? "" : "s");
    td_wb_putc(w, '\n');
    if (s->num_codes > 0) {
        td_wb_puts(w, "  causes:");
        for (uint32_t i = 0; i < s->num_codes; i++)
            td_wb_printf(w, " %s %llu%s", s->codes[i].code, (unsigned long long)s->codes[i].n, i + 1 < s->num_codes ? "," : "");
        td_wb_putc(w, '\n');
    }
    if (s->servers.n > 0) {
        uint32_t top[5], m = td_counts_top(&s->servers, top, 5);
        td_wb_puts(w, "  failing servers:");
        for (uint32_t k = 0; k < m; k++) {
            const struct td_count *e = &s->servers.v[top[k]];
            td_wb_printf(w, " %s (%llu)", e->key, (unsigned long long)e->n);
        }
        not_counted(w, &s->servers);
        td_wb_putc(w, '\n');
    }
    if (s->snis.n > 0) {
        uint32_t top[5], m = td_counts_top(&s->snis, top, 5);
        td_wb_puts(w, "  failing SNIs:");
        for (uint32_t k = 0; k < m; k++) {
            const struct td_count *e = &s->snis.v[top[k]];
            td_wb_putc(w, ' ');
            sni_text(w, e->key, strlen(e->key));
            td_wb_printf(w, " (%llu)", (unsigned long long)e->n);
        }
        not_counted(w, &s->snis);
        td_wb_putc(w, '\n');
    }
    if (st != NULL) {
        td_wb_printf(w, "  %spackets %llu, TCP flows %llu, not shown %llu (not TLS)", col(o, C_DIM),
                     (unsigned long long)st->packets, (unsigned long long)st->flows, (unsigned long long)s->hidden);
        if (st->fragments)
            td_wb_printf(w, ", IP fragments %llu (not reassembled)", (unsigned long long)st->fragments);
        if (st->evicted)
            td_wb_printf(w, ", flows evicted %llu (--max-flows %llu, --max-memory %llu)",
                         (unsigned long long)st->evicted, (unsigned long long)(st->evicted - st->evicted_memory),
                         (unsigned long long)st->evicted_memory);
        if (st->limit_hits)
            td_wb_printf(w, ", limits hit %llu", (unsigned long long)st->limit_hits);
        if (st->malformed)
            td_wb_printf(w, ", malformed packets %llu", (unsigned long long)st->malformed);
        td_wb_printf(w, "%s\n", col(o, C_OFF));
    }
    {
        /* which of our caps were hit, by how many connections: a cap is
         * never silent (docs/limits.md) */
        bool any = false;
        for (unsigned i = 0; i < 20; i++) {
            const char *name = td_anomaly_name(80 + i);
            if (s->limit_conns[i] == 0 || name == NULL)
                continue;
            td_wb_printf(w, "%s %s %llu", any ? "," : "  limits hit (connections):", name,
                         (unsigned long long)s->limit_conns[i]);
            any = true;
        }
        if (any)
            td_wb_puts(w, "; results for those connections may be partial (docs/limits.md)\n");
    }
    if (s->corr_evicted || s->corr_ctl_evicted)
        td_wb_printf(w, "  correlation store full: %llu fallback records and %llu server keys dropped, oldest first; "
                        "causes proved by other connections (sni_required, middlebox_*, fallbacks) may be missed "
                        "(docs/limits.md)\n",
                     (unsigned long long)s->corr_evicted, (unsigned long long)s->corr_ctl_evicted);
    if (s->corr_pair_dropped)
        td_wb_printf(w, "  correlation store: %llu fallback records not looked at, past the newest 256 of one client and "
                        "server; a version fallback among them may be missed (docs/limits.md)\n",
                     (unsigned long long)s->corr_pair_dropped);
}
