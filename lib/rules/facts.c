/* facts.c: the facts every rule reads, derived once per connection. */
#include "facts.h"

#include <string.h>

int64_t rel_ns(const struct td_conn *c, int64_t ts) { return ts - c->capture_start_ns; }

struct td_diagnosis *td_diagnosis_push(struct td_diagnosis *arr, uint8_t *num, const char *code,
                                       enum td_severity sev, enum td_by by, enum td_confidence conf)
{
    struct td_diagnosis *d;
    if (*num >= TD_MAX_DIAGNOSES)
        return NULL;
    d = &arr[(*num)++];
    memset(d, 0, sizeof(*d));
    d->code = code;
    d->severity = sev;
    d->by = by;
    d->confidence = conf;
    return d;
}

struct td_diagnosis *diag_add(struct td_verdict *v, const char *code, enum td_severity sev,
                              enum td_by by, enum td_confidence conf)
{
    return td_diagnosis_push(v->d, &v->num, code, sev, by, conf);
}

/* copy_trunc: what snprintf(dst, len, "%s", s) writes */
static void copy_trunc(char *dst, size_t len, const char *s)
{
    size_t n = strlen(s);

    if (n >= len)
        n = len - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* fmt_text is vsnprintf, with the two common cases done directly (they
 * were most of a summary-only read's printf time): a text without
 * conversions, and "%s" of a string. */
static void fmt_text(char *dst, size_t len, const char *fmt, va_list ap)
{
    if (len == 0) {
        vsnprintf(dst, len, fmt, ap);
        return;
    }
    if (strchr(fmt, '%') == NULL) {
        copy_trunc(dst, len, fmt);
        return;
    }
    if (fmt[0] == '%' && fmt[1] == 's' && fmt[2] == '\0') {
        const char *s = va_arg(ap, const char *);
        copy_trunc(dst, len, s != NULL ? s : "(null)");
        return;
    }
    vsnprintf(dst, len, fmt, ap);
}

void diag_text(char *dst, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_text(dst, len, fmt, ap);
    va_end(ap);
}

void diag_ev(struct td_diagnosis *d, uint64_t frame, int64_t ts_ns, int from, const char *fmt, ...)
{
    va_list ap;
    struct td_evidence *e;
    if (d == NULL || d->num_ev >= TD_MAX_EVIDENCE)
        return;
    e = &d->ev[d->num_ev++];
    e->frame = frame;
    e->ts_ns = ts_ns;
    e->from = (int8_t)from;
    va_start(ap, fmt);
    fmt_text(e->what, sizeof(e->what), fmt, ap);
    va_end(ap);
}

void describe_ch(const struct td_client_hello *ch, char *buf, size_t len) { td_ch_what(ch, buf, len); }

void describe_event(const struct facts *f, const struct td_event *e, char *buf, size_t len)
{
    td_event_what(f->c, e, buf, len);
}

void diag_ev_event(struct td_diagnosis *d, const struct facts *f, const struct td_event *e)
{
    char w[TD_EV_WHAT_LEN];
    if (e == NULL)
        return;
    describe_event(f, e, w, sizeof(w));
    diag_ev(d, e->frame, e->ts_ns, td_conn_from(f->c, e->ep), "%s", w);
}

static bool alert_sized(uint32_t len)
{
    /* an encrypted TLS 1.3 alert: 2 bytes + content type + 16-byte tag
     * (8 for AES-CCM-8); padding is rare */
    return len == 19 || len == 11;
}

uint16_t ch_max_offered(const struct td_client_hello *ch)
{
    uint16_t m = ch->legacy_version;
    for (uint16_t i = 0; i < ch->versions.n; i++) {
        uint16_t v = ch->versions.v[i];
        if (!td_is_grease(v) && v > m && v <= 0x0304)
            m = v;
    }
    return m;
}

bool enc13_alert_sized(const struct td_event *e)
{
    if (e->kind == TD_EV_ALERT)
        return true; /* a decrypted alert */
    return alert_sized(e->count > 1 ? e->len / e->count : e->len);
}

void facts_init(struct facts *f, const struct td_conn *c, const struct td_rules_opts *o)
{
    memset(f, 0, sizeof(*f));
    f->c = c;
    f->o = o;
    f->cep = c->client;
    f->sep = (uint8_t)(1 - c->client);
    f->hc = &c->half[f->cep];
    f->hs = &c->half[f->sep];
    f->ch = c->ch.m;
    f->sh = c->sh.m;
    f->hrr = c->hrr.m;
    f->rtt_ns = -1;
    f->any_payload = f->hc->payload_bytes > 0 || f->hs->payload_bytes > 0;
    f->tls13 = f->sh != NULL && f->sh->selected_version == 0x0304;

    if (f->ch != NULL)
        f->max_offered = ch_max_offered(f->ch);
    for (uint8_t i = 0; i < c->num_alerts; i++) {
        const struct td_alert_rec *a = &c->alerts[i];
        if (a->encrypted || a->level == 2) {
            f->alert = a;
            f->alert_from = td_conn_from(c, a->ep);
            break;
        }
    }
    if (c->cert[f->cep].m != NULL) {
        f->client_cert_sent = c->cert[f->cep].m->total_certs > 0;
        f->client_cert_empty = c->cert[f->cep].m->total_certs == 0;
    }

    for (uint32_t i = 0; i < c->num_events; i++) {
        const struct td_event *e = &c->events[i];
        bool from_c = e->ep == f->cep;
        switch ((enum td_ev_kind)e->kind) {
        case TD_EV_SYN:
            if (f->syn == NULL && from_c)
                f->syn = e;
            break;
        case TD_EV_SYNACK:
            if (f->synack == NULL && !from_c)
                f->synack = e;
            break;
        case TD_EV_RST:
            if (from_c && f->cli_rst == NULL)
                f->cli_rst = e;
            if (!from_c && f->srv_rst == NULL)
                f->srv_rst = e;
            break;
        case TD_EV_FIN:
            if (from_c && f->cli_fin == NULL)
                f->cli_fin = e;
            if (!from_c && f->srv_fin == NULL)
                f->srv_fin = e;
            break;
        case TD_EV_HANDSHAKE:
            if (e->hs_type == TD_HS_CLIENT_HELLO && from_c && f->ch_ev == NULL)
                f->ch_ev = e;
            if (e->hs_type == TD_HS_SERVER_HELLO && !from_c && c->sh.m != NULL && e->frame == c->sh.frame &&
                f->sh_ev == NULL)
                f->sh_ev = e;
            if (!from_c && f->srv_first_tls == NULL)
                f->srv_first_tls = e;
            break;
        case TD_EV_ALERT:
        case TD_EV_CCS:
            if (!from_c && f->srv_first_tls == NULL)
                f->srv_first_tls = e;
            break;
        case TD_EV_ENCRYPTED:
            if (!from_c && f->srv_first_tls == NULL)
                f->srv_first_tls = e;
            break;
        default:
            break;
        }
    }
    if (f->syn != NULL && f->synack != NULL && f->synack->ts_ns >= f->syn->ts_ns)
        f->rtt_ns = f->synack->ts_ns - f->syn->ts_ns;

    f->keys13 = f->tls13 && f->hs->decrypt == TD_DECRYPT_OK &&
                (f->hc->decrypt == TD_DECRYPT_NONE || f->hc->decrypt == TD_DECRYPT_KEYS ||
                 f->hc->decrypt == TD_DECRYPT_OK);
    {
        /* the server's first decrypted application data: "HTTP/1.x NNN" */
        const uint8_t *p = f->hs->app_preview;
        if (f->hs->app_preview_len >= 12 && memcmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ' && p[9] >= '1' &&
            p[9] <= '5' && p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9') {
            f->http_status = true;
            f->http_code = (unsigned)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
        }
    }

    /* TLS 1.3 without (all the) keys: walk the encrypted records after the
     * ServerHello (alerts of TLS 1.3 are application_data records too).
     * Records one side's keys did decrypt take part as what they were: a
     * decrypted handshake message or data record counts as one record, a
     * decrypted alert as an alert-sized one. */
    if (f->tls13 && !f->keys13) {
        int phase = 0; /* 0 server flight, 1 client flight, 2 after */
        for (uint32_t i = 0; i < c->num_events; i++) {
            const struct td_event *e = &c->events[i];
            bool from_c = e->ep == f->cep;
            bool counts = (e->kind == TD_EV_ENCRYPTED && e->ct == TD_CT_APPLICATION_DATA) ||
                          (e->decrypted && (e->kind == TD_EV_HANDSHAKE || e->kind == TD_EV_ALERT));
            if (!counts)
                continue;
            if (phase == 0 && !from_c) {
                f->enc13_srv_before_cli += e->count;
            } else if (phase <= 1 && from_c) {
                if (f->enc13_cli_first == NULL)
                    f->enc13_cli_first = e;
                f->enc13_cli_flight += e->count;
                f->enc13_cli_last_before_srv = e;
                phase = 1;
            } else if (phase == 1 && !from_c) {
                f->enc13_srv_after_cli = e;
                phase = 2;
            }
        }
    }

    /* Established: both Finished (<= 1.2: encrypted handshake after CCS both
     * ways); for TLS 1.3 without keys: the client answered the server's
     * flight and the server then sent something that is not alert-sized
     * (a NewSessionTicket or data). */
    if (f->sh != NULL && !f->tls13) {
        f->established = f->hc->ccs && f->hs->ccs && f->hc->finished && f->hs->finished;
        if (!f->established && f->hc->app_bytes > 0 && f->hs->app_bytes > 0)
            f->established = true;
    } else if (f->keys13) {
        /* with keys: both Finished were read, and no fatal alert ended it
         * (a TLS 1.3 server judges the client's flight after its own
         * Finished: certificate_required comes after both) */
        /* the server's Finished may have gone by unread (a live key log
         * that came late); its NewSessionTicket or data, which need its
         * application keys, say it was sent */
        f->established = f->hc->finished && (f->hs->finished || f->hs->app_frame != 0 || c->nst.m != NULL) &&
                         f->alert == NULL;
    } else if (f->tls13) {
        if (f->enc13_srv_after_cli != NULL && !enc13_alert_sized(f->enc13_srv_after_cli))
            f->established = true;
        else if (f->enc13_srv_after_cli != NULL && f->enc13_srv_after_cli->count > 1)
            f->established = true;
        else if (f->enc13_srv_after_cli == NULL && f->enc13_cli_flight >= 2 && f->enc13_srv_before_cli > 0 &&
                 f->srv_rst == NULL && f->srv_fin == NULL && f->cli_rst == NULL &&
                 !(f->enc13_cli_last_before_srv && enc13_alert_sized(f->enc13_cli_last_before_srv)))
            /* client flight + data, server quiet until the capture ended */
            f->established = f->cli_fin == NULL;
    }
}
