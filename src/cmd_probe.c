/* cmd_probe.c: `tlsdiag probe HOST[:PORT]` -- differential handshakes
 * against a live server (lib/probe), rendered as text or one JSON object
 * (one target per run). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tlsdiag/probe.h"
#include "tlsdiag/probe_sim.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/wbuf.h"

static void usage_probe(FILE *f)
{
    fputs("usage: tlsdiag probe [options] HOST[:PORT]\n"
          "\n"
          "Probe a live TLS server with differential handshakes: versions, cipher suites (by\n"
          "elimination, in the server's order), TLS 1.3 groups, SNI variants, ALPN, client\n"
          "certificates, the certificate chain and resumption; name the causes with the\n"
          "diagnosis codes of `tlsdiag read`.  PORT defaults to 443; [v6addr]:PORT for IPv6.\n"
          "\n"
          "options:\n"
          "  --sni NAME             server name to send (default: HOST when it is a name)\n"
          "  --cert FILE            client certificate chain (PEM) to try\n"
          "  --key FILE             its private key (default: the --cert file)\n"
          "  --ca-file FILE         trust these CAs instead of the system store\n"
          "  --starttls PROTO       plaintext phase first (smtp, imap, pop3, ftp, xmpp, ldap, postgres)\n"
          "  --json                 the report as one JSON object (one target per run)\n"
          "  --color WHEN           auto (default: only on a terminal and NO_COLOR unset or\n"
          "                         empty), always, never; --colour is the same option\n"
          "  --width N              text: wrap lines at N columns (0: no wrapping; default: the\n"
          "                         terminal's width, 60 to 200, else 100)\n"
          "  -j, --parallel N       concurrent connections (default 8)\n"
          "  --connect-timeout MS   TCP connect timeout (default 3000)\n"
          "  --read-timeout MS      wait for each answer (default 3000)\n"
          "  --probe-timeout MS     one probe overall (default 8000)\n"
          "  --max-read BYTES       bytes read per probe (default 262144)\n"
          "  --no-ciphers           skip the cipher and group enumeration (fewer connections)\n"
          "  --no-http              send no HTTP request after the handshake\n"
          "  --no-clients           skip the client simulation (replaying known clients' hellos)\n"
          "  -v, --verbose          list every probe with its result and time\n"
          "  -h, --help             this help\n"
          "\n"
          "exit codes: 0 no problem found, 1 problems found (an error or warning diagnosis),\n"
          "            2 usage error, 3 the host cannot be resolved or a FILE (--ca-file, --cert,\n"
          "            --key) cannot be read, 5 internal error\n",
          f);
}

static void out_flush(void *ctx, const char *p, size_t n)
{
    fwrite(p, 1, n, (FILE *)ctx);
}

static const char *vkey[TD_PLAN_NVERS] = {"3.0", "1.0", "1.1", "1.2", "1.3"};
static const char *vname[TD_PLAN_NVERS] = {"SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"};

/* "alert:<name>", "rst", "fin", "timeout", "not_tls", or NULL when accepted */
static const char *refusal(const struct td_answer *a, char *buf, size_t len)
{
    char an[48];
    if (!a->probed || a->tls_ok)
        return NULL;
    switch (a->res) {
    case TD_PR_ALERT: {
        const char *n = td_reg_name(TD_REG_ALERT, a->alert);
        if (n != NULL)
            snprintf(buf, len, "alert:%s", n);
        else
            snprintf(buf, len, "alert:%u", (unsigned)a->alert);
        (void)an;
        return buf;
    }
    case TD_PR_ACCEPTED: /* a lower version was chosen */
        snprintf(buf, len, "version:%s", td_version_str(a->version) ? td_version_str(a->version) : "?");
        return buf;
    case TD_PR_RST: return "rst";
    case TD_PR_FIN: return "fin";
    case TD_PR_NOT_TLS: return "not_tls";
    case TD_PR_REFUSED: return "tcp_refused";
    case TD_PR_UNREACHABLE: return "tcp_no_answer";
    case TD_PR_TIMEOUT: return "timeout";
    case TD_PR_ERROR: return "error";
    }
    return "error";
}

static const char *ca_str(enum td_client_auth c)
{
    switch (c) {
    case TD_CA_NONE: return "none";
    case TD_CA_OPTIONAL: return "optional";
    case TD_CA_REQUIRED: return "required";
    case TD_CA_UNKNOWN: break;
    }
    return "unknown";
}

static void json_answer(struct td_wbuf *w, const char *k, const struct td_answer *a, const char *name)
{
    char b[64], cn[96];
    td_wb_printf(w, "\"%s\":{", k);
    td_wb_puts(w, "\"name\":");
    td_wb_json_cstr(w, name);
    td_wb_printf(w, ",\"probed\":%s,\"accepted\":%s,\"refusal\":", a->probed ? "true" : "false",
                 a->tls_ok ? "true" : "false");
    td_wb_json_cstr(w, refusal(a, b, sizeof(b)));
    if (a->cert_cn[0]) {
        td_wb_puts(w, ",\"certificate_cn\":");
        td_wb_json_cstr(w, a->cert_cn);
    }
    if (a->synack_ttl != 0)
        td_wb_printf(w, ",\"synack_ttl\":%u", a->synack_ttl);
    if (a->rst_ttl != 0)
        td_wb_printf(w, ",\"rst_ttl\":%u", a->rst_ttl);
    if (a->tls_ok) {
        td_wb_printf(w, ",\"version\":\"%s\",\"cipher\":", td_version_str(a->version) ? td_version_str(a->version) : "?");
        td_wb_json_cstr(w, td_reg_fmt(TD_REG_CIPHER, a->cipher, cn, sizeof(cn)));
    }
    td_wb_putc(w, '}');
}

static void json_diag(struct td_wbuf *w, const struct td_diagnosis *d)
{
    td_wb_puts(w, "{\"code\":");
    td_wb_json_cstr(w, d->code);
    td_wb_printf(w, ",\"severity\":\"%s\",\"by\":\"%s\",\"confidence\":\"%s\",\"summary\":",
                 td_severity_str(d->severity), td_by_str(d->by), td_confidence_str(d->confidence));
    td_wb_json_cstr(w, d->summary);
    td_wb_puts(w, ",\"explanation\":");
    td_wb_json_cstr(w, d->explanation);
    td_wb_puts(w, ",\"fix\":");
    td_wb_json_cstr(w, d->fix);
    td_wb_puts(w, ",\"evidence\":[");
    for (uint8_t i = 0; i < d->num_ev; i++) {
        if (i)
            td_wb_putc(w, ',');
        td_wb_puts(w, "{\"what\":");
        td_wb_json_cstr(w, d->ev[i].what);
        td_wb_putc(w, '}');
    }
    td_wb_puts(w, "]}");
}

static void render_json(struct td_wbuf *w, const struct td_plan_result *r,
                        const struct td_sim_report *sim)
{
    char b[96];
    td_wb_puts(w, "{\"target\":");
    td_wb_json_cstr(w, r->target);
    td_wb_puts(w, ",\"ip\":");
    td_wb_json_cstr(w, r->ip);
    td_wb_puts(w, ",\"sni\":{\"name\":");
    td_wb_json_cstr(w, r->sni[0] ? r->sni : NULL);
    td_wb_putc(w, ',');
    json_answer(w, "given", &r->sni_given, r->sni[0] ? r->sni : NULL);
    td_wb_putc(w, ',');
    json_answer(w, "none", &r->sni_none, NULL);
    td_wb_putc(w, ',');
    json_answer(w, "bogus", &r->sni_bogus, r->bogus_name);
    td_wb_putc(w, ',');
    json_answer(w, "ip", &r->sni_ip, r->ip);
    td_wb_printf(w, ",\"default_certificate_differs\":%s", r->default_cert_differs ? "true" : "false");
    td_wb_puts(w, "},\"versions\":{");
    for (int i = 0; i < TD_PLAN_NVERS; i++) {
        const struct td_answer *a = &r->versions[i];
        td_wb_printf(w, "%s\"%s\":{\"accepted\":%s,\"refusal\":", i ? "," : "", vkey[i],
                     a->tls_ok ? "true" : "false");
        td_wb_json_cstr(w, refusal(a, b, sizeof(b)));
        td_wb_putc(w, '}');
    }
    if (r->sslv2_hello.probed) {
        /* an extra key: the five version keys stay as they are */
        const struct td_answer *a = &r->sslv2_hello;
        td_wb_printf(w, ",\"sslv2_hello\":{\"accepted\":%s,\"refusal\":", a->tls_ok ? "true" : "false");
        td_wb_json_cstr(w, a->tls_ok ? NULL : refusal(a, b, sizeof(b)));
        td_wb_puts(w, ",\"version\":");
        td_wb_json_cstr(w, a->tls_ok ? td_version_str(a->version) : NULL);
        td_wb_putc(w, '}');
    }
    td_wb_puts(w, "},\"ciphers\":{");
    for (int i = 0, first = 1; i < TD_PLAN_NVERS; i++) {
        if (!r->versions[i].tls_ok)
            continue;
        td_wb_printf(w, "%s\"%s\":[", first ? "" : ",", vkey[i]);
        first = 0;
        for (uint16_t k = 0; k < r->num_ciphers[i]; k++) {
            if (k)
                td_wb_putc(w, ',');
            td_wb_json_cstr(w, td_reg_fmt(TD_REG_CIPHER, r->ciphers[i][k], b, sizeof(b)));
        }
        td_wb_putc(w, ']');
    }
    td_wb_puts(w, "},\"cipher_order\":{");
    for (int i = 0, first = 1; i < TD_PLAN_NVERS; i++) {
        if (!r->cipher_order_known[i])
            continue;
        td_wb_printf(w, "%s\"%s\":\"%s\"", first ? "" : ",", vkey[i],
                     r->cipher_server_order[i] ? "server" : "client");
        first = 0;
    }
    td_wb_puts(w, "},\"groups\":[");
    for (uint16_t k = 0; k < r->num_groups; k++) {
        if (k)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, td_reg_fmt(TD_REG_GROUP, r->groups[k], b, sizeof(b)));
    }
    td_wb_puts(w, "],\"signature_schemes\":{\"1.2\":[");
    for (uint16_t k = 0; k < r->num_sigs; k++) {
        if (k)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, td_reg_fmt(TD_REG_SIGSCHEME, r->sigs[k], b, sizeof(b)));
    }
    td_wb_printf(w, "]},\"hello_retry\":{\"probed\":%s,\"works\":%s,\"group\":",
                 r->hrr_probed ? "true" : "false", r->hrr_works || r->hrr_seen ? "true" : "false");
    td_wb_json_cstr(w, r->hrr_group ? td_reg_fmt(TD_REG_GROUP, r->hrr_group, b, sizeof(b)) : NULL);
    td_wb_putc(w, '}');
    td_wb_puts(w, ",\"alpn\":{\"chosen\":");
    td_wb_json_cstr(w, r->alpn_chosen[0] ? r->alpn_chosen : NULL);
    td_wb_putc(w, ',');
    json_answer(w, "h2_http11", &r->alpn_both, "h2,http/1.1");
    td_wb_putc(w, ',');
    json_answer(w, "http11", &r->alpn_http11, "http/1.1");
    td_wb_printf(w, "},\"client_auth\":\"%s\",\"client_auth_detail\":{\"http_rejection\":%s,"
                    "\"late_alert\":%s,\"ca_names\":[",
                 ca_str(r->client_auth), r->client_auth_http ? "true" : "false",
                 r->client_auth_late ? "true" : "false");
    for (uint16_t i = 0; i < r->num_ca_names && i < 4; i++) {
        if (i)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, r->ca_names[i]);
    }
    td_wb_puts(w, "]");
    if (r->client_cert_given)
        td_wb_printf(w, ",\"given_cert_accepted\":%s", r->client_cert_ok ? "true" : "false");
    td_wb_puts(w, "},\"certificate\":");
    if (!r->chain_known) {
        td_wb_puts(w, "null");
    } else {
        const struct td_chain_facts *cf = &r->chain;
        const struct td_cert_info *l = &cf->certs[0];
        td_wb_puts(w, "{\"subject\":");
        td_wb_json_cstr(w, l->subject);
        td_wb_puts(w, ",\"issuer\":");
        td_wb_json_cstr(w, l->issuer);
        td_wb_puts(w, ",\"san\":[");
        for (uint16_t i = 0; i < l->num_san; i++) {
            if (i)
                td_wb_putc(w, ',');
            td_wb_json_cstr(w, l->san[i]);
        }
        td_wb_printf(w, "],\"not_before\":%lld,\"not_after\":%lld,\"key\":\"%s\",\"key_bits\":%d,"
                        "\"sig_alg\":",
                     (long long)l->not_before, (long long)l->not_after, l->key_type, l->key_bits);
        td_wb_json_cstr(w, l->sig_alg);
        td_wb_printf(w, ",\"chain_length\":%u,\"order_ok\":%s,\"trusted\":%s,\"verify_error\":",
                     (unsigned)cf->total, cf->order_ok ? "true" : "false",
                     !cf->verify_ran ? "null" : cf->verified ? "true" : "false");
        td_wb_json_cstr(w, cf->verify_error ? cf->verify_error_str : NULL);
        td_wb_printf(w, ",\"expired\":%s,\"name_ok\":%s,\"ocsp_stapled\":%s}",
                     cf->expired ? "true" : "false",
                     !cf->name_checked ? "null" : cf->name_ok ? "true" : "false",
                     r->ocsp_stapled ? "true" : "false");
    }
    td_wb_printf(w, ",\"resumption\":{\"tried\":%s,\"works\":%s}",
                 r->resumption_tried ? "true" : "false", r->resumption_ok ? "true" : "false");
    td_wb_puts(w, ",\"clients\":");
    if (sim != NULL)
        td_sim_json(w, sim);
    else
        td_wb_puts(w, "[]");
    td_wb_puts(w, ",\"diagnoses\":[");
    for (uint8_t i = 0; i < r->num_diag; i++) {
        if (i)
            td_wb_putc(w, ',');
        json_diag(w, &r->diag[i]);
    }
    td_wb_puts(w, "],\"probes\":[");
    for (uint16_t i = 0; i < r->num_log; i++) {
        td_wb_printf(w, "%s{\"probe\":", i ? "," : "");
        td_wb_json_cstr(w, r->log[i].label);
        td_wb_puts(w, ",\"result\":");
        td_wb_json_cstr(w, r->log[i].result);
        td_wb_printf(w, ",\"ms\":%u}", r->log[i].ms);
    }
    td_wb_printf(w, "],\"ttl_capture\":{\"on\":%s,\"detail\":", r->ttl_captured ? "true" : "false");
    td_wb_json_cstr(w, r->ttl_capture);
    td_wb_printf(w, "},\"connections\":%u,\"wall_ms\":%lld}\n", r->connections,
                 (long long)(r->wall_ns / 1000000));
}

struct col {
    const char *red, *yel, *grn, *dim, *bold, *off;
};

static void ans_text(const struct td_answer *a, char *buf, size_t len)
{
    char rb[64], cn[80];
    if (!a->probed)
        snprintf(buf, len, "-");
    else if (a->tls_ok)
        snprintf(buf, len, "ok (%s %s)", td_version_str(a->version) ? td_version_str(a->version) : "?",
                 td_reg_fmt(TD_REG_CIPHER, a->cipher, cn, sizeof(cn)));
    else
        snprintf(buf, len, "refused: %s", refusal(a, rb, sizeof(rb)));
}

/* text: a piece of a wrapped line in colour |cc| (the colour takes no columns) */
static void wrap_col(struct td_wrap *x, const char *sep, const char *cc, const char *s, const char *off)
{
    size_t n = strlen(s);
    td_wrap_sep(x, sep, td_wrap_cols(s, n, x->ascii));
    td_wrap_raw(x, cc);
    td_wrap_put(x, s, n);
    td_wrap_raw(x, off);
}

/* text: a label and a list of names, the names wrapped under the first */
static void name_list(struct td_wbuf *w, unsigned width, const char *label, enum td_reg reg, const uint16_t *v,
                      uint16_t n)
{
    struct td_wrap x;
    char b[160];
    unsigned l = (unsigned)strlen(label);
    td_wb_put(w, label, l);
    td_wrap_begin(&x, w, width, l, l + 1);
    for (uint16_t k = 0; k < n; k++) {
        const char *t = td_reg_fmt(reg, v[k], b, sizeof(b));
        td_wrap_unit(&x, " ", t, strlen(t));
    }
}

static void render_text(struct td_wbuf *w, const struct td_plan_result *r, const struct col *c,
                        const struct td_sim_report *sim, bool verbose, unsigned width)
{
    char b[160], b2[96];
    unsigned probs = td_plan_problems(r);
    const struct td_diagnosis *first = NULL;
    struct td_wrap x;
    for (uint8_t i = 0; i < r->num_diag && first == NULL; i++)
        if (r->diag[i].severity == TD_SEV_ERROR)
            first = &r->diag[i];
    td_wb_printf(w, "%s%s%s (%s)  %u connections, %.1f s\n", c->bold, r->target, c->off, r->ip,
                 r->connections, (double)r->wall_ns / 1e9);
    if (!r->ttl_captured) {
        td_wb_printf(w, "%s(no TTL capture: ", c->dim);
        td_wrap_begin(&x, w, width, 17, 1);
        td_wrap_prose(&x, "", r->ttl_capture, strlen(r->ttl_capture));
        td_wrap_prose(&x, "", "; a reset is told apart by the SNI differential only)",
                      strlen("; a reset is told apart by the SNI differential only)"));
        td_wb_printf(w, "%s\n", c->off);
    }
    if (first != NULL) {
        td_wb_printf(w, "verdict: %sPROBLEM%s %s:", c->red, c->off, first->code);
        td_wrap_begin(&x, w, width, 18 + (unsigned)strlen(first->code), 9);
        td_wrap_prose(&x, " ", first->summary, strlen(first->summary));
        td_wb_putc(w, '\n');
    } else if (probs > 0)
        td_wb_printf(w, "verdict: %sworks, with warnings%s\n", c->yel, c->off);
    else
        td_wb_printf(w, "verdict: %sok%s\n", c->grn, c->off);
    for (uint8_t i = 0; i < r->num_diag; i++) {
        const struct td_diagnosis *d = &r->diag[i];
        const char *cc = d->severity == TD_SEV_ERROR ? c->red : d->severity == TD_SEV_WARNING ? c->yel : c->dim;
        const char *sev = td_severity_str(d->severity);
        size_t sl = strlen(sev);
        unsigned at = 2 + (unsigned)(sl > 7 ? sl : 7) + 1 + (unsigned)strlen(d->code) + 2;
        td_wb_printf(w, "  %s%-7s%s %s: ", cc, sev, c->off, d->code);
        /* the summary wrapped under itself; the fix under its text */
        td_wrap_begin(&x, w, width, at, at);
        x.ascii = true;
        td_wrap_prose(&x, "", d->summary, strlen(d->summary));
        td_wb_putc(w, '\n');
        if (d->fix[0] && d->severity != TD_SEV_INFO) {
            td_wb_puts(w, "          fix: ");
            td_wrap_begin(&x, w, width, 15, 15);
            x.ascii = true;
            td_wrap_prose(&x, "", d->fix, strlen(d->fix));
            td_wb_putc(w, '\n');
        }
    }
    td_wb_puts(w, "\nversions  ");
    td_wrap_begin(&x, w, width, 10, 10);
    for (int i = 0; i < TD_PLAN_NVERS; i++) {
        const struct td_answer *a = &r->versions[i];
        const char *rf = refusal(a, b2, sizeof(b2));
        snprintf(b, sizeof(b), "%s %s", vkey[i], a->tls_ok ? "yes" : rf ? rf : "-");
        wrap_col(&x, i ? "  " : "", a->tls_ok ? c->grn : c->dim, b, c->off);
    }
    if (r->sslv2_hello.probed) {
        const struct td_answer *a = &r->sslv2_hello;
        const char *rf = refusal(a, b2, sizeof(b2));
        if (a->tls_ok)
            snprintf(b, sizeof(b), "SSLv2-format hello: yes (%s)", td_version_str(a->version) ? td_version_str(a->version) : "?");
        else
            snprintf(b, sizeof(b), "SSLv2-format hello: %s", rf ? rf : "-");
        wrap_col(&x, "  ", a->tls_ok ? c->grn : c->dim, b, c->off);
    }
    if (width == 0 && !r->sslv2_hello.probed) /* as before wrapping: each version was followed by two spaces */
        td_wb_puts(w, "  ");
    td_wb_putc(w, '\n');
    for (int i = TD_PLAN_NVERS - 1; i >= 0; i--) {
        if (!r->versions[i].tls_ok)
            continue;
        td_wb_printf(w, "ciphers %s (%s order):\n", vname[i],
                     !r->cipher_order_known[i] ? "server's" : r->cipher_server_order[i] ? "server's" : "client's");
        /* a screen: at most 12 per version unless -v */
        uint16_t show = verbose || r->num_ciphers[i] <= 12 ? r->num_ciphers[i] : 10;
        for (uint16_t k = 0; k < show; k++) {
            int cls = td_cipher_class(r->ciphers[i][k]);
            td_wb_printf(w, "  %s%s%s\n", cls == 2 ? c->red : cls == 1 ? c->yel : "",
                         td_reg_fmt(TD_REG_CIPHER, r->ciphers[i][k], b, sizeof(b)), c->off);
        }
        if (show < r->num_ciphers[i])
            td_wb_printf(w, "  %s... %u more (-v or --json for all)%s\n", c->dim,
                         (unsigned)(r->num_ciphers[i] - show), c->off);
    }
    if (r->num_groups > 0) {
        name_list(w, width, "groups (TLS 1.3):", TD_REG_GROUP, r->groups, r->num_groups);
        td_wb_printf(w, "%s\n", r->hrr_seen ? "  (HelloRetryRequest used)" : "");
    }
    if (r->num_sigs > 0) {
        name_list(w, width, "signature schemes (TLS 1.2 key exchange):", TD_REG_SIGSCHEME, r->sigs, r->num_sigs);
        td_wb_putc(w, '\n');
    }
    if (r->hrr_probed)
        td_wb_printf(w, "HelloRetryRequest: %s%s%s\n", r->hrr_works ? "works, asks for " : "not seen",
                     r->hrr_works ? td_reg_fmt(TD_REG_GROUP, r->hrr_group, b, sizeof(b)) : "",
                     r->hrr_works ? " when no key share fits" : "");
    td_wb_puts(w, "SNI:\n");
    ans_text(&r->sni_given, b, sizeof(b));
    td_wb_printf(w, "  given %-28s %s\n", r->sni[0] ? r->sni : "(none: target is an address)", b);
    ans_text(&r->sni_none, b, sizeof(b));
    td_wb_printf(w, "  none  %-28s %s\n", "", b);
    if (r->default_cert_differs)
        td_wb_printf(w, "        without SNI the certificate is CN=%s (with SNI: CN=%s)\n", r->sni_none.cert_cn,
                     r->sni_given.cert_cn);
    ans_text(&r->sni_bogus, b, sizeof(b));
    td_wb_printf(w, "  bogus %-28s %s\n", r->bogus_name, b);
    ans_text(&r->sni_ip, b, sizeof(b));
    td_wb_printf(w, "  ip    %-28s %s\n", r->ip, b);
    ans_text(&r->alpn_http11, b, sizeof(b));
    td_wb_printf(w, "ALPN: chosen %s; http/1.1 alone: %s\n", r->alpn_chosen[0] ? r->alpn_chosen : "(none)", b);
    td_wb_printf(w, "client certificate: %s%s%s\n", ca_str(r->client_auth),
                 r->client_auth_http ? " (HTTP 400 without one)" : "",
                 r->client_auth_late ? " (TLS 1.3 alert after the handshake)" : "");
    for (uint16_t i = 0; i < r->num_ca_names && i < 4; i++)
        td_wb_printf(w, "  acceptable CA: %s\n", r->ca_names[i]);
    if (r->client_cert_given)
        td_wb_printf(w, "  given certificate: %s\n", r->client_cert_ok ? "accepted" : "rejected");
    if (r->chain_known) {
        const struct td_chain_facts *cf = &r->chain;
        const struct td_cert_info *l = &cf->certs[0];
        td_wb_puts(w, "certificate: ");
        td_wb_text_str(w, l->subject, strlen(l->subject));
        td_wb_printf(w, "  (%s %d, %s)\n", l->key_type, l->key_bits, l->sig_alg);
        td_wb_puts(w, "  issuer: ");
        td_wb_text_str(w, l->issuer, strlen(l->issuer));
        td_wb_printf(w, "\n  chain %u, trusted %s, name %s, expired %s, order %s, OCSP staple %s\n",
                     (unsigned)cf->total, !cf->verify_ran ? "?" : cf->verified ? "yes" : "no",
                     !cf->name_checked ? "?" : cf->name_ok ? "ok" : "MISMATCH", cf->expired ? "YES" : "no",
                     cf->order_ok ? "ok" : "wrong", r->ocsp_stapled ? "yes" : "no");
    }
    /* "not offered" only when a full handshake completed and its session
     * was not resumable; without one nothing was learnt */
    if (r->resumption_tried || r->main_ssl.handshake_ok)
        td_wb_printf(w, "resumption: %s\n",
                     !r->resumption_tried ? "not offered by the server" : r->resumption_ok ? "works" : "rejected");
    else
        td_wb_puts(w, "resumption: not tested (no handshake completed)\n");
    if (sim != NULL)
        td_sim_text(w, sim, c->red, c->off, width);
    if (verbose) {
        td_wb_printf(w, "\nprobes (%u):\n", (unsigned)r->total_log);
        for (uint16_t i = 0; i < r->num_log; i++)
            td_wb_printf(w, "  %-18s %5u ms  %s\n", r->log[i].label, r->log[i].ms, r->log[i].result);
    }
}


static int parse_uint(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == 0 || *end != 0 || v > 100000000UL)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int cmd_probe(int argc, char **argv)
{
    static const struct option lo[] = {
        {"sni", required_argument, NULL, 's'},       {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},       {"ca-file", required_argument, NULL, 'A'},
        {"starttls", required_argument, NULL, 'S'},  {"json", no_argument, NULL, 'J'},
        {"color", required_argument, NULL, 'C'},     {"colour", required_argument, NULL, 'C'},
        {"parallel", required_argument, NULL, 'j'},  {"connect-timeout", required_argument, NULL, 1},
        {"read-timeout", required_argument, NULL, 2}, {"probe-timeout", required_argument, NULL, 3},
        {"max-read", required_argument, NULL, 4},    {"no-ciphers", no_argument, NULL, 5},
        {"no-http", no_argument, NULL, 6},           {"help", no_argument, NULL, 'h'},
        {"no-clients", no_argument, NULL, 7},
        {"verbose", no_argument, NULL, 'v'},         {"width", required_argument, NULL, 8},
        {NULL, 0, NULL, 0}};
    struct td_plan_opts po;
    struct td_probe_opts o;
    const char *ca_file = NULL, *color = "auto";
    bool json = false, use_color, sim_on = true, verbose = false, width_set = false;
    unsigned width = 0;
    int ch;
    char host[256], port[16] = "443";

    memset(&po, 0, sizeof(po));
    po.http = true;
    po.enum_ciphers = po.enum_groups = true;
    td_probe_opts_default(&o);
    optind = 1;
    while ((ch = getopt_long(argc, argv, "j:hv", lo, NULL)) != -1) {
        uint32_t v;
        switch (ch) {
        case 's': po.sni = optarg; break;
        case 'c': po.cert_file = optarg; break;
        case 'k': po.key_file = optarg; break;
        case 'A': ca_file = optarg; break;
        case 'S': po.starttls = optarg; po.starttls_fn = td_starttls_hook; break;
        case 'J': json = true; break;
        case 'C': color = optarg; break;
        case 'j':
        case 1:
        case 2:
        case 3:
        case 4:
            if (parse_uint(optarg, &v) != 0 || v == 0) {
                fprintf(stderr, "tlsdiag probe: bad number '%s'\n", optarg);
                return TD_EXIT_USAGE;
            }
            if (ch == 'j') o.parallel = v;
            else if (ch == 1) o.connect_ms = v;
            else if (ch == 2) o.answer_ms = v;
            else if (ch == 3) o.total_ms = v;
            else o.max_read = v;
            break;
        case 5: po.enum_ciphers = po.enum_groups = false; break;
        case 6: po.http = false; break;
        case 7: sim_on = false; break;
        case 8:
            if (cli_width_parse(optarg, &width) != 0) {
                fprintf(stderr, "tlsdiag: --width takes 0 (no wrapping) or a number of columns from %u to %u\n",
                        CLI_WIDTH_MIN, CLI_WIDTH_MAX);
                return TD_EXIT_USAGE;
            }
            width_set = true;
            break;
        case 'v': verbose = true; break;
        case 'h': usage_probe(stdout); return TD_EXIT_OK;
        default: usage_probe(stderr); return TD_EXIT_USAGE;
        }
    }
    if (!width_set)
        width = cli_width_auto();
    if (optind != argc - 1) {
        usage_probe(stderr);
        return TD_EXIT_USAGE;
    }
    if (po.starttls != NULL) {
        char pr[16];
        size_t pl = strcspn(po.starttls, ":");
        snprintf(pr, sizeof(pr), "%.*s", (int)(pl < sizeof(pr) ? pl : sizeof(pr) - 1), po.starttls);
        if (!td_starttls_proto_ok(pr)) {
            fprintf(stderr, "tlsdiag probe: --starttls takes smtp, imap, pop3, ftp, xmpp[:DOMAIN], ldap or postgres\n");
            return TD_EXIT_USAGE;
        }
    }
    if (po.key_file != NULL && po.cert_file == NULL) {
        fprintf(stderr, "tlsdiag probe: --key needs --cert\n");
        return TD_EXIT_USAGE;
    }
    {
        const char *t = argv[optind];
        const char *colon;
        size_t hl;
        if (t[0] == '[') {
            const char *rb = strchr(t, ']');
            if (rb == NULL) {
                fprintf(stderr, "tlsdiag probe: bad target '%s'\n", t);
                return TD_EXIT_USAGE;
            }
            hl = (size_t)(rb - t - 1);
            if (hl >= sizeof(host))
                return TD_EXIT_USAGE;
            memcpy(host, t + 1, hl);
            host[hl] = 0;
            colon = rb[1] == ':' ? rb + 1 : NULL;
        } else {
            colon = strrchr(t, ':');
            if (colon != NULL && strchr(t, ':') != colon)
                colon = NULL; /* a bare IPv6 address */
            hl = colon ? (size_t)(colon - t) : strlen(t);
            if (hl == 0 || hl >= sizeof(host)) {
                fprintf(stderr, "tlsdiag probe: bad target '%s'\n", t);
                return TD_EXIT_USAGE;
            }
            memcpy(host, t, hl);
            host[hl] = 0;
        }
        if (colon != NULL) {
            uint32_t pv;
            if (parse_uint(colon + 1, &pv) != 0 || pv == 0 || pv > 65535) {
                fprintf(stderr, "tlsdiag probe: bad port in '%s'\n", t);
                return TD_EXIT_USAGE;
            }
            snprintf(port, sizeof(port), "%u", (unsigned)pv);
        }
    }
    if (strcmp(color, "always") == 0)
        use_color = true;
    else if (strcmp(color, "never") == 0)
        use_color = false;
    else if (strcmp(color, "auto") == 0)
        use_color = isatty(STDOUT_FILENO) && !no_color_env();
    else {
        fprintf(stderr, "tlsdiag: --color takes auto, always or never\n");
        return TD_EXIT_USAGE;
    }

    /* the files first: an unreadable one is exit 3, before any connection */
    {
        const char *files[2] = {po.cert_file, po.key_file};
        for (int i = 0; i < 2; i++) {
            FILE *fp = files[i] != NULL ? fopen(files[i], "rb") : NULL;
            if (files[i] != NULL && fp == NULL) {
                fprintf(stderr, "tlsdiag probe: %s %s: %s\n", i == 0 ? "--cert" : "--key", files[i], strerror(errno));
                return TD_EXIT_INPUT;
            }
            if (fp != NULL)
                fclose(fp);
        }
    }
    char err[256] = "";
    struct td_trust *trust = td_trust_new(ca_file, err, sizeof(err));
    if (trust == NULL) {
        fprintf(stderr, "tlsdiag probe: %s\n", err);
        return TD_EXIT_INPUT;
    }

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int gr = getaddrinfo(host, port, &hints, &ai);
    if (gr != 0 || ai == NULL) {
        fprintf(stderr, "tlsdiag probe: %s: %s\n", host, gai_strerror(gr));
        td_trust_free(trust);
        return TD_EXIT_INPUT;
    }
    /* STARTTLS: one plaintext phase first; if it fails no probe can start,
     * and the report names the plaintext failure, not a TLS one */
    if (po.starttls != NULL) {
        struct td_starttls_result sr;
        if (td_starttls_preflight(ai->ai_addr, (unsigned)ai->ai_addrlen, po.starttls, (int)o.connect_ms,
                                  (int)o.total_ms, &sr) != 0) {
            if (json) {
                struct td_wbuf *jw = malloc(sizeof(*jw));
                char tgt[300];
                snprintf(tgt, sizeof(tgt), "%s:%s", host, port);
                if (jw != NULL) {
                    td_wb_init(jw, out_flush, stdout);
                    td_wb_puts(jw, "{\"target\":");
                    td_wb_json_cstr(jw, tgt);
                    td_wb_puts(jw, ",\"starttls\":{\"protocol\":");
                    td_wb_json_cstr(jw, po.starttls);
                    td_wb_printf(jw, ",\"ok\":false,\"failure\":\"%s\",\"detail\":",
                                 td_starttls_fail_str(sr.fail));
                    td_wb_json_cstr(jw, sr.why);
                    td_wb_puts(jw, "}}\n");
                    td_wb_flush(jw);
                    free(jw);
                }
            } else {
                printf("%s:%s\nverdict: the STARTTLS plaintext phase failed, before any TLS\n"
                       "  %s (%s): %s\n", host, port, td_starttls_fail_str(sr.fail), po.starttls, sr.why);
            }
            freeaddrinfo(ai);
            td_trust_free(trust);
            return TD_EXIT_FAILURES;
        }
    }
    po.host = host;
    po.port = (uint16_t)strtoul(port, NULL, 10);
    struct timespec wt0, wt1;
    clock_gettime(CLOCK_MONOTONIC, &wt0);
    struct td_plan_result *r = calloc(1, sizeof(*r));
    if (r == NULL || td_plan_run(r, ai->ai_addr, ai->ai_addrlen, &po, &o, trust, (int64_t)time(NULL)) != 0) {
        fprintf(stderr, "tlsdiag probe: internal error\n");
        free(r);
        freeaddrinfo(ai);
        td_trust_free(trust);
        return TD_EXIT_INTERNAL;
    }
    td_trust_free(trust);

    /* client simulation: replay known clients' hellos, explain each failure */
    struct td_sim_db sdb = {0, NULL};
    struct td_sim_report srep, *sim = NULL;
    if (sim_on) {
        struct td_sim_err serr;
        struct td_sim_opts so = {r->sni, po.starttls, po.starttls_fn};
        if (td_sim_db_builtin(&sdb, &serr) != TD_OK) {
            fprintf(stderr, "tlsdiag probe: client data, line %u: %s\n", serr.line, serr.msg);
        } else if (td_sim_run(&srep, &sdb, r, ai->ai_addr, ai->ai_addrlen, &so, &o) == 0) {
            sim = &srep;
            r->connections += srep.connections;
        }
    }
    freeaddrinfo(ai);
    /* wall time of everything probed, the client simulation included */
    clock_gettime(CLOCK_MONOTONIC, &wt1);
    r->wall_ns = (int64_t)(wt1.tv_sec - wt0.tv_sec) * 1000000000LL + (wt1.tv_nsec - wt0.tv_nsec);

    struct td_wbuf *w = malloc(sizeof(*w));
    if (w == NULL) {
        free(r);
        if (sim != NULL)
            td_sim_report_cleanup(sim);
        td_sim_db_cleanup(&sdb);
        return TD_EXIT_INTERNAL;
    }
    td_wb_init(w, out_flush, stdout);
    if (json) {
        render_json(w, r, sim);
    } else {
        struct col c = {"", "", "", "", "", ""};
        if (use_color)
            c = (struct col){"\033[31m", "\033[33m", "\033[32m", "\033[2m", "\033[1m", "\033[0m"};
        render_text(w, r, &c, sim, verbose, width);
    }
    td_wb_flush(w);
    free(w);
    /* clients that fail are information: old clients fail on any modern server */
    int rc = td_plan_problems(r) > 0 ? TD_EXIT_FAILURES : TD_EXIT_OK;
    if (sim != NULL)
        td_sim_report_cleanup(sim);
    td_sim_db_cleanup(&sdb);
    free(r);
    return rc;
}
