/* json.c: one NDJSON object per connection.  Field names follow Elastic
 * Common Schema where ECS has one (client.ip, tls.version, tls.cipher, ...);
 * the fixed names are listed in docs/json.md.  Peer strings are escaped
 * here and only here. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/registry.h"
#include "tlsdiag/report.h"
#include "util/hash.h"

/* key: ",\"name\":" (no comma before the first); |qk| is the quoted key
 * with its colon, a literal: the key() macro builds it. */
static inline void key_lit(struct td_wbuf *w, bool *first, const char *qk, size_t n)
{
    if (!*first)
        td_wb_putc(w, ',');
    *first = false;
    td_wb_put(w, qk, n);
}
#define key(w, f, k) key_lit((w), (f), "\"" k "\":", sizeof(k) + 2)

static void jbool(struct td_wbuf *w, bool b)
{
    if (b)
        td_wb_lit(w, "true");
    else
        td_wb_lit(w, "false");
}

static void jnull(struct td_wbuf *w) { td_wb_lit(w, "null"); }

/* a fixed string known to need no escaping (our own words), or null */
static void jplain(struct td_wbuf *w, const char *s)
{
    if (s == NULL)
        jnull(w);
    else
        td_wb_json_plain(w, s, strlen(s));
}

/* hex_raw: 0xNNNN, as printf's "0x%04x" */
static void hex_raw(struct td_wbuf *w, uint16_t v)
{
    td_wb_lit(w, "0x");
    td_wb_hex16(w, v);
}

/* hex_json: "0xNNNN", or "GREASE(0xNNNN)" (td_reg_fmt's forms) */
static void hex_json(struct td_wbuf *w, uint16_t v, bool grease)
{
    if (grease)
        td_wb_lit(w, "\"GREASE(");
    else
        td_wb_putc(w, '"');
    hex_raw(w, v);
    if (grease)
        td_wb_lit(w, ")\"");
    else
        td_wb_putc(w, '"');
}

/* reg_json: td_reg_fmt's text as a JSON string, written in place: a
 * registry name (no escaping needed), "GREASE(0xNNNN)" or "0xNNNN" */
static void reg_json(struct td_wbuf *w, enum td_reg reg, uint16_t v)
{
    const char *name;
    size_t n;

    if (td_is_grease(v))
        hex_json(w, v, true);
    else if ((name = td_reg_name_n(reg, v, &n)) != NULL)
        td_wb_json_plain(w, name, n);
    else
        hex_json(w, v, false);
}

static void ju(struct td_wbuf *w, unsigned v) { td_wb_u64(w, v); }

static void jtime(struct td_wbuf *w, const struct td_conn *c, int64_t ts)
{
    td_wb_ns_fixed(w, ts - c->capture_start_ns, 9, 6);
}

/* u16_names: a JSON array of td_reg_fmt texts, the names looked up at once */
static void u16_names(struct td_wbuf *w, enum td_reg reg, const uint16_t *v, uint16_t n)
{
    struct td_reg_ref r[TD_MAX_CIPHERS];

    if (n > TD_MAX_CIPHERS)
        n = TD_MAX_CIPHERS; /* the longest list a hello keeps */
    td_reg_names(reg, v, n, r);
    td_wb_putc(w, '[');
    for (uint16_t i = 0; i < n; i++) {
        if (i)
            td_wb_putc(w, ',');
        if (td_is_grease(v[i]))
            hex_json(w, v[i], true);
        else if (r[i].name != NULL)
            td_wb_json_plain(w, r[i].name, r[i].len);
        else
            hex_json(w, v[i], false);
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
    size_t n = td_fmt_addr(c, ep, a, sizeof(a));
    td_wb_lit(w, "{\"ip\":");
    td_wb_json_plain(w, a, n); /* inet_ntop's digits, dots and colons */
    td_wb_lit(w, ",\"port\":");
    ju(w, c->port[ep]);
    td_wb_putc(w, '}');
}

/* ---- the ClientHello's lists, rendered once per distinct hello ----
 *
 * A capture holds a few client stacks, each sending the same versions,
 * suites, groups, key share groups, signature algorithms and extensions in
 * every hello: that part of tls.client (about half of a record's bytes and
 * 15% of --json's instructions) is kept per thread, keyed by the exact
 * lists, and copied when they come again.  A hit is the bytes the renderer
 * would write: the key holds every value the part is made of.
 *
 * Bounded: 64 entries of at most LM_OUT_MAX rendered bytes per thread
 * (about 1.2 MB at worst).  Its memory comes from plain malloc, not the
 * counted td_malloc: what it holds carries over from run to run, so counted
 * it would make the allocations of one run depend on the runs before, which
 * the allocation-failure walk (test_alloc_fail) must not see; when malloc
 * fails the part is rendered directly, the same bytes. */
#define LM_SLOTS 64u
#define LM_OUT_MAX (16u * 1024u)
#define LM_KEY_MAX (2u * (16u + TD_MAX_CIPHERS + 4u * TD_MAX_U16_LIST + TD_MAX_KEY_SHARES))

struct lm_entry {
    uint64_t h;
    uint32_t klen, olen;
    uint8_t *blob; /* key, then the rendered bytes */
};

static _Thread_local struct lm_entry *lm_tab;
static pthread_key_t lm_key;
static pthread_once_t lm_once = PTHREAD_ONCE_INIT;
static bool lm_key_ok;

static void lm_drain(void *tab)
{
    struct lm_entry *t = tab;
    for (unsigned i = 0; i < LM_SLOTS; i++)
        free(t[i].blob);
    free(t);
}

static void lm_key_init(void) { lm_key_ok = pthread_key_create(&lm_key, lm_drain) == 0; }

/* the table of this thread, NULL when it cannot be had (render directly) */
static struct lm_entry *lm_get(void)
{
    if (lm_tab == NULL) {
        pthread_once(&lm_once, lm_key_init);
        if (!lm_key_ok)
            return NULL;
        lm_tab = calloc(LM_SLOTS, sizeof(*lm_tab));
        if (lm_tab != NULL && pthread_setspecific(lm_key, lm_tab) != 0) {
            free(lm_tab);
            lm_tab = NULL;
        }
    }
    return lm_tab;
}

static size_t lm_put16(uint8_t *k, size_t n, uint16_t v)
{
    k[n] = (uint8_t)(v >> 8);
    k[n + 1] = (uint8_t)v;
    return n + 2;
}

static size_t lm_list(uint8_t *k, size_t n, const uint16_t *v, uint16_t cnt)
{
    n = lm_put16(k, n, cnt);
    for (uint16_t i = 0; i < cnt; i++)
        n = lm_put16(k, n, v[i]);
    return n;
}

/* 0: a list is longer than its array (never, by the parsers): no memo */
static size_t lm_make_key(uint8_t *k, const struct td_client_hello *ch)
{
    size_t n = 0;

    if (ch->num_ciphers > TD_MAX_CIPHERS || ch->versions.n > TD_MAX_U16_LIST || ch->groups.n > TD_MAX_U16_LIST ||
        ch->sig_algs.n > TD_MAX_U16_LIST || ch->ext_order.n > TD_MAX_U16_LIST || ch->num_key_shares > TD_MAX_KEY_SHARES)
        return 0;
    n = lm_put16(k, n, ch->legacy_version);
    n = lm_put16(k, n, ch->has_supported_versions);
    n = lm_list(k, n, ch->versions.v, ch->versions.n);
    n = lm_put16(k, n, ch->total_ciphers);
    n = lm_list(k, n, ch->ciphers, ch->num_ciphers);
    n = lm_list(k, n, ch->groups.v, ch->groups.n);
    n = lm_put16(k, n, ch->num_key_shares);
    for (uint8_t i = 0; i < ch->num_key_shares; i++)
        n = lm_put16(k, n, ch->key_shares[i].group);
    n = lm_list(k, n, ch->sig_algs.v, ch->sig_algs.n);
    n = lm_list(k, n, ch->ext_order.v, ch->ext_order.n);
    return n;
}

static void tls_client_lists(struct td_wbuf *w, bool *fp, const struct td_client_hello *ch);

static void tls_client_lists_memo(struct td_wbuf *w, bool *fp, const struct td_client_hello *ch)
{
    uint8_t k[LM_KEY_MAX];
    struct lm_entry *t = lm_get(), *e;
    size_t klen, start;
    uint64_t h, flushes;

    klen = t != NULL ? lm_make_key(k, ch) : 0;
    if (klen == 0) {
        tls_client_lists(w, fp, ch);
        return;
    }
    h = td_hash_bytes(k, klen);
    e = &t[h % LM_SLOTS];
    if (e->blob != NULL && e->h == h && e->klen == klen && memcmp(e->blob, k, klen) == 0) {
        td_wb_put(w, (const char *)e->blob + klen, e->olen);
        *fp = false;
        return;
    }
    start = w->n;
    flushes = w->flushes;
    tls_client_lists(w, fp, ch);
    /* the bytes are all still in the buffer (no flush in between): keep them */
    if (w->flushes == flushes && w->n > start && w->n - start <= LM_OUT_MAX) {
        size_t olen = w->n - start;
        uint8_t *b = malloc(klen + olen);
        if (b != NULL) {
            free(e->blob);
            memcpy(b, k, klen);
            memcpy(b + klen, w->buf + start, olen);
            e->blob = b;
            e->h = h;
            e->klen = (uint32_t)klen;
            e->olen = (uint32_t)olen;
        }
    }
}

static void tls_client(struct td_wbuf *w, const struct td_client_hello *ch)
{
    bool f = true;
    char h[40], s[128];

    td_wb_putc(w, '{');
    key(w, &f, "server_name");
    if (ch->has_sni)
        td_wb_json_str(w, ch->sni, ch->sni_len);
    else
        jnull(w);
    tls_client_lists_memo(w, &f, ch);
    key(w, &f, "alpn");
    td_wb_putc(w, '[');
    for (uint8_t i = 0; i < ch->num_alpn; i++) {
        if (i)
            td_wb_putc(w, ',');
        td_wb_json_str(w, (const char *)ch->alpn[i].b, ch->alpn[i].len);
    }
    td_wb_putc(w, ']');
    key(w, &f, "session_id_length");
    ju(w, ch->session_id_len);
    key(w, &f, "offers_resumption");
    jbool(w, ch->has_psk || (ch->has_session_ticket && ch->session_ticket_len > 0));
    key(w, &f, "ja3");
    td_ja3(ch, h, NULL, 0);
    td_wb_json_plain(w, h, strlen(h)); /* hex digits */
    key(w, &f, "ja4");
    td_ja4(ch, false, false, s, sizeof(s));
    td_wb_json_plain(w, s, strlen(s)); /* hex, digits, and ALPN bytes only when alphanumeric */
    td_wb_putc(w, '}');
}

/* supported_versions .. extensions: what tls_client_lists_memo keeps */
static void tls_client_lists(struct td_wbuf *w, bool *fp, const struct td_client_hello *ch)
{
    bool f = *fp;
    uint16_t vers[TD_MAX_U16_LIST];
    uint16_t nv = 0;

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
            jplain(w, vs);
        else
            hex_json(w, vers[i], false);
    }
    td_wb_putc(w, ']');
    key(w, &f, "supported_ciphers");
    u16_names(w, TD_REG_CIPHER, ch->ciphers, ch->num_ciphers);
    if (ch->total_ciphers > ch->num_ciphers) {
        key(w, &f, "supported_ciphers_total");
        ju(w, ch->total_ciphers);
    }
    key(w, &f, "supported_groups");
    u16_names(w, TD_REG_GROUP, ch->groups.v, ch->groups.n);
    key(w, &f, "key_share_groups");
    td_wb_putc(w, '[');
    for (uint8_t i = 0; i < ch->num_key_shares; i++) {
        if (i)
            td_wb_putc(w, ',');
        reg_json(w, TD_REG_GROUP, ch->key_shares[i].group);
    }
    td_wb_putc(w, ']');
    key(w, &f, "signature_algorithms");
    u16_names(w, TD_REG_SIGSCHEME, ch->sig_algs.v, ch->sig_algs.n);
    key(w, &f, "extensions");
    u16_names(w, TD_REG_EXTENSION, ch->ext_order.v, ch->ext_order.n);
    *fp = f;
}

static void diag_json(struct td_wbuf *w, const struct td_conn *c, const struct td_diagnosis *d)
{
    td_wb_lit(w, "{\"code\":");
    td_wb_json_cstr(w, d->code);
    td_wb_lit(w, ",\"severity\":\"");
    td_wb_puts(w, td_severity_str(d->severity));
    td_wb_lit(w, "\",\"by\":\"");
    td_wb_puts(w, td_by_str(d->by));
    td_wb_lit(w, "\",\"confidence\":\"");
    td_wb_puts(w, td_confidence_str(d->confidence));
    td_wb_lit(w, "\",\"summary\":");
    td_wb_json_cstr(w, d->summary);
    td_wb_lit(w, ",\"explanation\":");
    td_wb_json_cstr(w, d->explanation);
    td_wb_lit(w, ",\"fix\":");
    td_wb_json_cstr(w, d->fix);
    td_wb_lit(w, ",\"evidence\":[");
    for (uint8_t i = 0; i < d->num_ev; i++) {
        const struct td_evidence *e = &d->ev[i];
        if (i)
            td_wb_putc(w, ',');
        td_wb_lit(w, "{\"frame\":");
        td_wb_u64(w, e->frame);
        td_wb_lit(w, ",\"time\":");
        jtime(w, c, e->ts_ns);
        td_wb_lit(w, ",\"from\":");
        td_wb_puts(w, e->from == TD_FROM_CLIENT ? "\"client\"" : e->from == TD_FROM_SERVER ? "\"server\"" : "null");
        td_wb_lit(w, ",\"what\":");
        td_wb_json_cstr(w, e->what);
        td_wb_putc(w, '}');
    }
    td_wb_lit(w, "]}");
}

void td_report_json(struct td_wbuf *w, const struct td_conn *c, const struct td_verdict *v,
                    const struct td_report_opts *o)
{
    const struct td_client_hello *ch = c->ch.m;
    const struct td_server_hello *sh = c->sh.m;
    uint8_t cl = c->client, sv = (uint8_t)(1 - c->client);
    bool f = true, ft;

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
    td_wb_lit(w, "{\"transport\":\"tcp\",\"type\":\"ipv");
    ju(w, c->ipver);
    td_wb_lit(w, "\",\"vlan_depth\":");
    ju(w, c->vlan_depth);
    td_wb_putc(w, '}');
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
        jplain(w, draft ? "1.3" : vs);
        key(w, &ft, "version_detail");
        if (draft) {
            td_wb_putc(w, '"');
            td_wb_puts(w, draft);
            td_wb_lit(w, " (");
            hex_raw(w, ver);
            td_wb_lit(w, ")\"");
        } else {
            jnull(w);
        }
        key(w, &ft, "version_protocol");
        jplain(w, proto_v == 0 ? NULL : proto_v <= 0x0300 || proto_v == 0x0002 ? "ssl" : "tls");
    }
    key(w, &ft, "cipher");
    if (sh)
        reg_json(w, TD_REG_CIPHER, sh->cipher);
    else
        jnull(w);
    key(w, &ft, "curve");
    if (sh && sh->has_key_share)
        reg_json(w, TD_REG_GROUP, sh->key_share_group);
    else if (c->ske.m != NULL && c->ske.m->named_group != 0)
        reg_json(w, TD_REG_GROUP, c->ske.m->named_group);
    else
        jnull(w);
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
        jnull(w);
    key(w, &ft, "client");
    if (ch)
        tls_client(w, ch);
    else
        jnull(w);
    key(w, &ft, "server");
    if (sh) {
        char h[40];
        td_ja3s(sh, h, NULL, 0);
        td_wb_lit(w, "{\"ja3s\":");
        td_wb_json_plain(w, h, strlen(h)); /* hex digits */
        td_wb_lit(w, ",\"certificates\":");
        ju(w, c->cert[sv].m ? c->cert[sv].m->total_certs : 0);
        td_wb_putc(w, '}');
    } else {
        jnull(w);
    }
    if (c->keylog) {
        /* decryption with a key log: per side state and the first bytes of
         * application data (peer bytes, escaped here) */
        key(w, &ft, "decryption");
        td_wb_lit(w, "{\"client\":");
        td_wb_json_cstr(w, td_decrypt_state_str(c->half[cl].decrypt));
        td_wb_lit(w, ",\"server\":");
        td_wb_json_cstr(w, td_decrypt_state_str(c->half[sv].decrypt));
        td_wb_lit(w, ",\"records\":{\"client\":");
        ju(w, c->half[cl].dec_records);
        td_wb_lit(w, ",\"server\":");
        ju(w, c->half[sv].dec_records);
        td_wb_lit(w, "},\"key_updates\":{\"client\":");
        ju(w, c->half[cl].key_updates);
        td_wb_lit(w, ",\"server\":");
        ju(w, c->half[sv].key_updates);
        td_wb_putc(w, '}');
        td_wb_lit(w, ",\"application_data\":{\"client\":");
        if (c->half[cl].app_preview_len > 0)
            td_wb_json_str(w, (const char *)c->half[cl].app_preview, c->half[cl].app_preview_len);
        else
            jnull(w);
        td_wb_lit(w, ",\"server\":");
        if (c->half[sv].app_preview_len > 0)
            td_wb_json_str(w, (const char *)c->half[sv].app_preview, c->half[sv].app_preview_len);
        else
            jnull(w);
        td_wb_lit(w, "}}");
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
            td_wb_u64(w, u->req_frame);
        else
            jnull(w);
        key(w, &fu, "reply");
        td_wb_json_cstr(w, u->state == TD_UPGS_ACCEPTED || u->state == TD_UPGS_REFUSED ? u->reply : NULL);
        key(w, &fu, "reply_frame");
        if (u->reply_frame)
            td_wb_u64(w, u->reply_frame);
        else
            jnull(w);
        key(w, &fu, "plaintext_bytes");
        td_wb_lit(w, "{\"client\":");
        ju(w, u->plain_bytes[c->client]);
        td_wb_lit(w, ",\"server\":");
        ju(w, u->plain_bytes[1 - c->client]);
        td_wb_putc(w, '}');
        td_wb_putc(w, '}');
    } else {
        jnull(w);
    }

    key(w, &f, "alerts");
    td_wb_putc(w, '[');
    for (uint8_t i = 0; i < c->num_alerts; i++) {
        const struct td_alert_rec *a = &c->alerts[i];
        if (i)
            td_wb_putc(w, ',');
        td_wb_lit(w, "{\"frame\":");
        td_wb_u64(w, a->frame);
        if (td_conn_from(c, a->ep) == TD_FROM_CLIENT)
            td_wb_lit(w, ",\"from\":\"client\",");
        else
            td_wb_lit(w, ",\"from\":\"server\",");
        if (a->encrypted) {
            td_wb_lit(w, "\"level\":null,\"code\":null,\"description\":null,\"encrypted\":true,\"length\":");
            ju(w, a->len);
            td_wb_putc(w, '}');
        } else {
            const char *an;
            size_t anl;
            td_wb_lit(w, "\"level\":\"");
            td_wb_puts(w, a->level == 2 ? "fatal" : a->level == 1 ? "warning" : "unknown");
            td_wb_lit(w, "\",\"code\":");
            ju(w, a->desc);
            td_wb_lit(w, ",\"description\":");
            if ((an = td_reg_name_n(TD_REG_ALERT, a->desc, &anl)) != NULL)
                td_wb_json_plain(w, an, anl);
            else
                jnull(w);
            /* a decrypted alert was sent encrypted: say so, with its real code */
            td_wb_puts(w, a->decrypted ? ",\"encrypted\":true,\"decrypted\":true}" : ",\"encrypted\":false}");
        }
    }
    td_wb_putc(w, ']');

    key(w, &f, "outcome");
    jplain(w, td_outcome_str(v->outcome));
    key(w, &f, "handshake");
    if (v->outcome == TD_OUT_OK) {
        if (v->hs.resumed)
            td_wb_lit(w, "{\"kind\":\"resumed\",\"resumption\":");
        else
            td_wb_lit(w, "{\"kind\":\"full\",\"resumption\":");
        if (v->hs.resumed)
            td_wb_json_cstr(w, td_resumption_str(v->hs.resumption));
        else
            jnull(w);
        td_wb_lit(w, ",\"mutual\":");
        jbool(w, v->hs.mutual);
        td_wb_lit(w, ",\"hello_retry\":");
        jbool(w, v->hs.hello_retry);
        td_wb_lit(w, ",\"early_data\":");
        jbool(w, v->hs.early_data);
        td_wb_lit(w, ",\"round_trips\":");
        ju(w, v->hs.round_trips);
        td_wb_lit(w, ",\"server_think_ms\":");
        if (v->hs.has_think)
            td_wb_ns_fixed(w, v->hs.think_ns, 6, 3);
        else
            jnull(w);
        td_wb_putc(w, '}');
    } else {
        jnull(w);
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
        td_wb_lit(w, "{\"code\":");
        td_wb_json_cstr(w, td_anomaly_name(c->anomalies.recs[i].code));
        td_wb_lit(w, ",\"offset\":");
        ju(w, c->anomalies.recs[i].off);
        td_wb_putc(w, '}');
    }
    td_wb_putc(w, ']');
    if (c->anomalies.total > c->anomalies.n || td_diag_has(&c->anomalies, TD_AN_LIMIT_ANOMALIES)) {
        key(w, &f, "anomalies_total");
        ju(w, c->anomalies.total);
    }
    key(w, &f, "timeline");
    td_wb_putc(w, '[');
    for (uint32_t i = 0; i < c->num_events; i++) {
        const struct td_event *e = &c->events[i];
        char what[160];
        size_t wn;
        if (i)
            td_wb_putc(w, ',');
        wn = td_event_what(c, e, what, sizeof(what));
        td_wb_lit(w, "{\"frame\":");
        td_wb_u64(w, e->frame);
        td_wb_lit(w, ",\"time\":");
        jtime(w, c, e->ts_ns);
        if (td_conn_from(c, e->ep) == TD_FROM_CLIENT)
            td_wb_lit(w, ",\"from\":\"client\",\"what\":");
        else
            td_wb_lit(w, ",\"from\":\"server\",\"what\":");
        td_wb_json_str(w, what, wn);
        td_wb_putc(w, '}');
    }
    td_wb_putc(w, ']');
    if (c->total_events > c->num_events) {
        key(w, &f, "timeline_total");
        ju(w, c->total_events);
    }
    if (c->evicted) {
        key(w, &f, "evicted");
        td_wb_lit(w, "true");
    }
    td_wb_lit(w, "}\n");
}

/* ---- the summary (read -q --json) ---- */

static void json_u64_field(struct td_wbuf *w, const char *name, uint64_t v, bool comma)
{
    if (comma)
        td_wb_putc(w, ',');
    td_wb_putc(w, '"');
    td_wb_puts(w, name);
    td_wb_puts(w, "\":");
    td_wb_u64(w, v);
}

/* the TD_SUMMARY_TOP servers or SNIs with the most failures, most first
 * (ties: first seen) */
static void json_counts(struct td_wbuf *w, const char *name, const struct td_counts *c)
{
    uint32_t top[TD_SUMMARY_TOP], m = td_counts_top(c, top, TD_SUMMARY_TOP);

    td_wb_puts(w, ",\"");
    td_wb_puts(w, name);
    td_wb_puts(w, "\":[");
    for (uint32_t k = 0; k < m; k++) {
        const struct td_count *e = &c->v[top[k]];
        td_wb_puts(w, k ? ",{\"name\":" : "{\"name\":");
        td_wb_json_str(w, e->key, strnlen(e->key, sizeof(e->key)));
        json_u64_field(w, "connections", e->n, true);
        td_wb_putc(w, '}');
    }
    td_wb_putc(w, ']');
    if (c->over > 0) {
        td_wb_puts(w, ",\"");
        td_wb_puts(w, name);
        td_wb_puts(w, "_not_counted\":");
        td_wb_u64(w, c->over);
    }
}

void td_report_summary_json(struct td_wbuf *w, const struct td_summary *s, const struct td_stats *st)
{
    bool any = false;

    td_wb_puts(w, "{\"summary\":{");
    json_u64_field(w, "connections", s->conns, false);
    json_u64_field(w, "ok", s->by_outcome[TD_OUT_OK], true);
    json_u64_field(w, "failed", s->by_outcome[TD_OUT_FAILED], true);
    json_u64_field(w, "incomplete", s->by_outcome[TD_OUT_INCOMPLETE], true);
    json_u64_field(w, "partial", s->by_outcome[TD_OUT_PARTIAL], true);
    json_u64_field(w, "warnings", s->warnings, true);
    td_wb_puts(w, ",\"causes\":{");
    for (uint32_t i = 0; i < s->num_codes; i++) {
        if (i)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, s->codes[i].code);
        td_wb_putc(w, ':');
        td_wb_u64(w, s->codes[i].n);
    }
    td_wb_putc(w, '}');
    json_counts(w, "failing_servers", &s->servers);
    json_counts(w, "failing_snis", &s->snis);
    json_u64_field(w, "not_tls", s->hidden, true);
    if (st != NULL) {
        json_u64_field(w, "packets", st->packets, true);
        json_u64_field(w, "tcp_flows", st->flows, true);
        json_u64_field(w, "ip_fragments", st->fragments, true);
        json_u64_field(w, "malformed_packets", st->malformed, true);
        json_u64_field(w, "flows_evicted_max_flows", st->evicted - st->evicted_memory, true);
        json_u64_field(w, "flows_evicted_max_memory", st->evicted_memory, true);
    }
    td_wb_puts(w, ",\"limits_hit\":{");
    for (unsigned i = 0; i < 20; i++) {
        const char *name = td_anomaly_name(80 + i);
        if (s->limit_conns[i] == 0 || name == NULL)
            continue;
        if (any)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, name);
        td_wb_putc(w, ':');
        td_wb_u64(w, s->limit_conns[i]);
        any = true;
    }
    td_wb_puts(w, "},\"correlation_store\":{");
    json_u64_field(w, "fallback_records_dropped", s->corr_evicted, false);
    json_u64_field(w, "server_keys_dropped", s->corr_ctl_evicted, true);
    json_u64_field(w, "fallback_records_not_looked_at", s->corr_pair_dropped, true);
    td_wb_puts(w, "}}}\n");
}
