/* json.c: one NDJSON object per connection.  Field names follow Elastic
 * Common Schema where ECS has one (client.ip, tls.version, tls.cipher, ...);
 * the fixed names are listed in docs/json.md.  Peer strings are escaped
 * here and only here. */
#include <stdio.h>
#include <string.h>

#include "tlsdiag/registry.h"
#include "tlsdiag/report.h"

static void key(struct td_wbuf *w, bool *first, const char *k)
{
    if (!*first)
        td_wb_putc(w, ',');
    *first = false;
    td_wb_putc(w, '"');
    td_wb_puts(w, k);
    td_wb_puts(w, "\":");
}

static void jbool(struct td_wbuf *w, bool b) { td_wb_puts(w, b ? "true" : "false"); }

static void jtime(struct td_wbuf *w, const struct td_conn *c, int64_t ts)
{
    td_wb_ns_fixed(w, ts - c->capture_start_ns, 9, 6);
}

static void u16_names(struct td_wbuf *w, enum td_reg reg, const uint16_t *v, uint16_t n)
{
    char b[96];
    td_wb_putc(w, '[');
    for (uint16_t i = 0; i < n; i++) {
        if (i)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, td_reg_fmt(reg, v[i], b, sizeof(b)));
    }
    td_wb_putc(w, ']');
}

static uint16_t max_offered(const struct td_client_hello *ch)
{
    uint16_t m = ch->legacy_version;
    for (uint16_t i = 0; i < ch->versions.n; i++)
        if (!td_is_grease(ch->versions.v[i]) && ch->versions.v[i] > m && ch->versions.v[i] <= 0x0304)
            m = ch->versions.v[i];
    return m;
}

static void endpoint(struct td_wbuf *w, const struct td_conn *c, uint8_t ep)
{
    char a[64];
    td_fmt_addr(c, ep, a, sizeof(a));
    td_wb_puts(w, "{\"ip\":");
    td_wb_json_cstr(w, a);
    td_wb_printf(w, ",\"port\":%u}", c->port[ep]);
}

static void tls_client(struct td_wbuf *w, const struct td_client_hello *ch)
{
    bool f = true;
    char h[40], s[1024];
    uint16_t vers[TD_MAX_U16_LIST];
    uint16_t nv = 0;

    td_wb_putc(w, '{');
    key(w, &f, "server_name");
    if (ch->has_sni)
        td_wb_json_str(w, ch->sni, ch->sni_len);
    else
        td_wb_puts(w, "null");
    key(w, &f, "supported_versions");
    td_wb_putc(w, '[');
    if (ch->has_supported_versions) {
        for (uint16_t i = 0; i < ch->versions.n; i++)
            if (!td_is_grease(ch->versions.v[i]))
                vers[nv++] = ch->versions.v[i];
    } else {
        vers[nv++] = ch->legacy_version;
    }
    for (uint16_t i = 0; i < nv; i++) {
        const char *vs = td_version_str(vers[i]);
        if (i)
            td_wb_putc(w, ',');
        if (vs)
            td_wb_json_cstr(w, vs);
        else
            td_wb_printf(w, "\"0x%04x\"", vers[i]);
    }
    td_wb_putc(w, ']');
    key(w, &f, "supported_ciphers");
    u16_names(w, TD_REG_CIPHER, ch->ciphers, ch->num_ciphers);
    if (ch->total_ciphers > ch->num_ciphers) {
        key(w, &f, "supported_ciphers_total");
        td_wb_printf(w, "%u", ch->total_ciphers);
    }
    key(w, &f, "supported_groups");
    u16_names(w, TD_REG_GROUP, ch->groups.v, ch->groups.n);
    key(w, &f, "key_share_groups");
    td_wb_putc(w, '[');
    for (uint8_t i = 0; i < ch->num_key_shares; i++) {
        char b[64];
        if (i)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, td_reg_fmt(TD_REG_GROUP, ch->key_shares[i].group, b, sizeof(b)));
    }
    td_wb_putc(w, ']');
    key(w, &f, "signature_algorithms");
    u16_names(w, TD_REG_SIGSCHEME, ch->sig_algs.v, ch->sig_algs.n);
    key(w, &f, "extensions");
    u16_names(w, TD_REG_EXTENSION, ch->ext_order.v, ch->ext_order.n);
    key(w, &f, "alpn");
    td_wb_putc(w, '[');
    for (uint8_t i = 0; i < ch->num_alpn; i++) {
        if (i)
            td_wb_putc(w, ',');
        td_wb_json_str(w, (const char *)ch->alpn[i].b, ch->alpn[i].len);
    }
    td_wb_putc(w, ']');
    key(w, &f, "session_id_length");
    td_wb_printf(w, "%u", ch->session_id_len);
    key(w, &f, "offers_resumption");
    jbool(w, ch->has_psk || (ch->has_session_ticket && ch->session_ticket_len > 0));
    key(w, &f, "ja3");
    td_ja3(ch, h, s, sizeof(s));
    td_wb_json_cstr(w, h);
    key(w, &f, "ja4");
    td_ja4(ch, false, false, s, sizeof(s));
    td_wb_json_cstr(w, s);
    td_wb_putc(w, '}');
}

static void diag_json(struct td_wbuf *w, const struct td_conn *c, const struct td_diagnosis *d)
{
    td_wb_puts(w, "{\"code\":");
    td_wb_json_cstr(w, d->code);
    td_wb_printf(w, ",\"severity\":\"%s\",\"by\":\"%s\",\"confidence\":\"%s\",\"summary\":", td_severity_str(d->severity),
                 td_by_str(d->by), td_confidence_str(d->confidence));
    td_wb_json_cstr(w, d->summary);
    td_wb_puts(w, ",\"explanation\":");
    td_wb_json_cstr(w, d->explanation);
    td_wb_puts(w, ",\"fix\":");
    td_wb_json_cstr(w, d->fix);
    td_wb_puts(w, ",\"evidence\":[");
    for (uint8_t i = 0; i < d->num_ev; i++) {
        const struct td_evidence *e = &d->ev[i];
        if (i)
            td_wb_putc(w, ',');
        td_wb_printf(w, "{\"frame\":%llu,\"time\":", (unsigned long long)e->frame);
        jtime(w, c, e->ts_ns);
        td_wb_printf(w, ",\"from\":%s,\"what\":", e->from == TD_FROM_CLIENT ? "\"client\"" : e->from == TD_FROM_SERVER ? "\"server\"" : "null");
        td_wb_json_cstr(w, e->what);
        td_wb_putc(w, '}');
    }
    td_wb_puts(w, "]}");
}

void td_report_json(struct td_wbuf *w, const struct td_conn *c, const struct td_verdict *v,
                    const struct td_report_opts *o)
{
    const struct td_client_hello *ch = c->ch.m;
    const struct td_server_hello *sh = c->sh.m;
    uint8_t cl = c->client, sv = (uint8_t)(1 - c->client);
    bool f = true, ft;
    char b[128];

    td_wb_putc(w, '{');
    key(w, &f, "id");
    td_wb_u64(w, c->id);
    if (o != NULL && o->source != NULL) {
        key(w, &f, "source");
        td_wb_json_cstr(w, o->source);
    }
    key(w, &f, "first_frame");
    td_wb_u64(w, c->first_frame);
    key(w, &f, "last_frame");
    td_wb_u64(w, c->last_frame);
    key(w, &f, "start");
    jtime(w, c, c->first_ts_ns);
    key(w, &f, "duration");
    td_wb_ns_fixed(w, c->last_ts_ns - c->first_ts_ns, 9, 6);
    key(w, &f, "network");
    td_wb_printf(w, "{\"transport\":\"tcp\",\"type\":\"ipv%u\",\"vlan_depth\":%u}", c->ipver, c->vlan_depth);
    key(w, &f, "client");
    endpoint(w, c, cl);
    key(w, &f, "server");
    endpoint(w, c, sv);

    key(w, &f, "tls");
    td_wb_putc(w, '{');
    ft = true;
    key(w, &ft, "version");
    {
        uint16_t ver = sh ? sh->selected_version : 0;
        const char *vs = ver ? td_version_str(ver) : NULL;
        uint16_t proto_v = ver ? ver : (ch ? max_offered(ch) : 0);
        char dr[48];
        /* a pre-standard TLS 1.3 (draft or experiment) is "1.3", as tshark
         * names it; version_detail says which one */
        const char *draft = ver && vs == NULL ? td_version_draft13(ver, dr, sizeof(dr)) : NULL;
        td_wb_json_cstr(w, draft ? "1.3" : vs);
        key(w, &ft, "version_detail");
        if (draft)
            td_wb_printf(w, "\"%s (0x%04x)\"", draft, ver);
        else
            td_wb_puts(w, "null");
        key(w, &ft, "version_protocol");
        td_wb_json_cstr(w, proto_v == 0 ? NULL : proto_v <= 0x0300 || proto_v == 0x0002 ? "ssl" : "tls");
    }
    key(w, &ft, "cipher");
    td_wb_json_cstr(w, sh ? td_reg_fmt(TD_REG_CIPHER, sh->cipher, b, sizeof(b)) : NULL);
    key(w, &ft, "curve");
    if (sh && sh->has_key_share)
        td_wb_json_cstr(w, td_reg_fmt(TD_REG_GROUP, sh->key_share_group, b, sizeof(b)));
    else if (c->ske.m != NULL && c->ske.m->named_group != 0)
        td_wb_json_cstr(w, td_reg_fmt(TD_REG_GROUP, c->ske.m->named_group, b, sizeof(b)));
    else
        td_wb_puts(w, "null");
    key(w, &ft, "established");
    jbool(w, v->outcome == TD_OUT_OK);
    key(w, &ft, "resumed");
    jbool(w, v->hs.resumed);
    key(w, &ft, "next_protocol");
    if (sh && sh->has_alpn)
        td_wb_json_str(w, (const char *)sh->alpn.b, sh->alpn.len);
    else if (c->ee.m != NULL && c->ee.m->has_alpn) /* TLS 1.3: decrypted EncryptedExtensions */
        td_wb_json_str(w, (const char *)c->ee.m->alpn.b, c->ee.m->alpn.len);
    else
        td_wb_puts(w, "null");
    key(w, &ft, "client");
    if (ch)
        tls_client(w, ch);
    else
        td_wb_puts(w, "null");
    key(w, &ft, "server");
    if (sh) {
        char h[40], s[1024];
        td_ja3s(sh, h, s, sizeof(s));
        td_wb_puts(w, "{\"ja3s\":");
        td_wb_json_cstr(w, h);
        td_wb_printf(w, ",\"certificates\":%u}", c->cert[sv].m ? c->cert[sv].m->total_certs : 0);
    } else {
        td_wb_puts(w, "null");
    }
    if (c->keylog) {
        /* decryption with a key log: per side state and the first bytes of
         * application data (peer bytes, escaped here) */
        key(w, &ft, "decryption");
        td_wb_puts(w, "{\"client\":");
        td_wb_json_cstr(w, td_decrypt_state_str(c->half[cl].decrypt));
        td_wb_puts(w, ",\"server\":");
        td_wb_json_cstr(w, td_decrypt_state_str(c->half[sv].decrypt));
        td_wb_printf(w, ",\"records\":{\"client\":%u,\"server\":%u}", c->half[cl].dec_records,
                     c->half[sv].dec_records);
        td_wb_printf(w, ",\"key_updates\":{\"client\":%u,\"server\":%u}", c->half[cl].key_updates,
                     c->half[sv].key_updates);
        td_wb_puts(w, ",\"application_data\":{\"client\":");
        if (c->half[cl].app_preview_len > 0)
            td_wb_json_str(w, (const char *)c->half[cl].app_preview, c->half[cl].app_preview_len);
        else
            td_wb_puts(w, "null");
        td_wb_puts(w, ",\"server\":");
        if (c->half[sv].app_preview_len > 0)
            td_wb_json_str(w, (const char *)c->half[sv].app_preview, c->half[sv].app_preview_len);
        else
            td_wb_puts(w, "null");
        td_wb_puts(w, "}}");
    }
    td_wb_putc(w, '}');

    /* the plaintext phase before TLS (STARTTLS, CONNECT, SOCKS), or null */
    key(w, &f, "upgrade");
    if (c->upgrade.proto != TD_UPG_NONE) {
        const struct td_upgrade_info *u = &c->upgrade;
        bool fu = true;
        td_wb_putc(w, '{');
        key(w, &fu, "protocol");
        td_wb_json_cstr(w, td_upg_proto_str(u->proto));
        key(w, &fu, "state");
        td_wb_json_cstr(w, td_upg_state_str(u->state));
        key(w, &fu, "request");
        td_wb_json_cstr(w, u->state != TD_UPGS_NONE ? u->request : NULL);
        key(w, &fu, "request_frame");
        if (u->req_frame)
            td_wb_printf(w, "%llu", (unsigned long long)u->req_frame);
        else
            td_wb_puts(w, "null");
        key(w, &fu, "reply");
        td_wb_json_cstr(w, u->state == TD_UPGS_ACCEPTED || u->state == TD_UPGS_REFUSED ? u->reply : NULL);
        key(w, &fu, "reply_frame");
        if (u->reply_frame)
            td_wb_printf(w, "%llu", (unsigned long long)u->reply_frame);
        else
            td_wb_puts(w, "null");
        key(w, &fu, "plaintext_bytes");
        td_wb_printf(w, "{\"client\":%u,\"server\":%u}", u->plain_bytes[c->client], u->plain_bytes[1 - c->client]);
        td_wb_putc(w, '}');
    } else {
        td_wb_puts(w, "null");
    }

    key(w, &f, "alerts");
    td_wb_putc(w, '[');
    for (uint8_t i = 0; i < c->num_alerts; i++) {
        const struct td_alert_rec *a = &c->alerts[i];
        if (i)
            td_wb_putc(w, ',');
        td_wb_printf(w, "{\"frame\":%llu,\"from\":\"%s\",", (unsigned long long)a->frame,
                     td_conn_from(c, a->ep) == TD_FROM_CLIENT ? "client" : "server");
        if (a->encrypted) {
            td_wb_printf(w, "\"level\":null,\"code\":null,\"description\":null,\"encrypted\":true,\"length\":%u}", a->len);
        } else {
            td_wb_printf(w, "\"level\":\"%s\",\"code\":%u,\"description\":", a->level == 2 ? "fatal" : a->level == 1 ? "warning" : "unknown",
                         a->desc);
            td_wb_json_cstr(w, td_reg_name(TD_REG_ALERT, a->desc));
            /* a decrypted alert was sent encrypted: say so, with its real code */
            td_wb_puts(w, a->decrypted ? ",\"encrypted\":true,\"decrypted\":true}" : ",\"encrypted\":false}");
        }
    }
    td_wb_putc(w, ']');

    key(w, &f, "outcome");
    td_wb_json_cstr(w, td_outcome_str(v->outcome));
    key(w, &f, "handshake");
    if (v->outcome == TD_OUT_OK) {
        td_wb_printf(w, "{\"kind\":\"%s\",\"resumption\":", v->hs.resumed ? "resumed" : "full");
        if (v->hs.resumed)
            td_wb_json_cstr(w, td_resumption_str(v->hs.resumption));
        else
            td_wb_puts(w, "null");
        td_wb_printf(w, ",\"mutual\":%s,\"hello_retry\":%s,\"early_data\":%s,\"round_trips\":%u,\"server_think_ms\":",
                     v->hs.mutual ? "true" : "false", v->hs.hello_retry ? "true" : "false",
                     v->hs.early_data ? "true" : "false", v->hs.round_trips);
        if (v->hs.has_think)
            td_wb_ns_fixed(w, v->hs.think_ns, 6, 3);
        else
            td_wb_puts(w, "null");
        td_wb_putc(w, '}');
    } else {
        td_wb_puts(w, "null");
    }
    key(w, &f, "diagnoses");
    td_wb_putc(w, '[');
    for (uint8_t i = 0; i < v->num; i++) {
        if (i)
            td_wb_putc(w, ',');
        diag_json(w, c, &v->d[i]);
    }
    td_wb_putc(w, ']');
    key(w, &f, "anomalies");
    td_wb_putc(w, '[');
    for (uint32_t i = 0; i < c->anomalies.n; i++) {
        if (i)
            td_wb_putc(w, ',');
        td_wb_puts(w, "{\"code\":");
        td_wb_json_cstr(w, td_anomaly_name(c->anomalies.recs[i].code));
        td_wb_printf(w, ",\"offset\":%u}", c->anomalies.recs[i].off);
    }
    td_wb_putc(w, ']');
    if (c->anomalies.total > c->anomalies.n || td_diag_has(&c->anomalies, TD_AN_LIMIT_ANOMALIES)) {
        key(w, &f, "anomalies_total");
        td_wb_printf(w, "%u", c->anomalies.total);
    }
    key(w, &f, "timeline");
    td_wb_putc(w, '[');
    for (uint32_t i = 0; i < c->num_events; i++) {
        const struct td_event *e = &c->events[i];
        char what[160];
        if (i)
            td_wb_putc(w, ',');
        td_event_what(c, e, what, sizeof(what));
        td_wb_puts(w, "{\"frame\":");
        td_wb_u64(w, e->frame);
        td_wb_puts(w, ",\"time\":");
        jtime(w, c, e->ts_ns);
        td_wb_puts(w, td_conn_from(c, e->ep) == TD_FROM_CLIENT ? ",\"from\":\"client\",\"what\":" : ",\"from\":\"server\",\"what\":");
        td_wb_json_cstr(w, what);
        td_wb_putc(w, '}');
    }
    td_wb_putc(w, ']');
    if (c->total_events > c->num_events) {
        key(w, &f, "timeline_total");
        td_wb_printf(w, "%u", c->total_events);
    }
    if (c->evicted) {
        key(w, &f, "evicted");
        td_wb_puts(w, "true");
    }
    td_wb_puts(w, "}\n");
}
