/* rules.c: outcome, handshake kind, failure causes and warnings.
 *
 * The failure rules are a table run in order; the first that explains the
 * connection gives its primary cause.  Each one reasons from the whole
 * exchange (the offer, the answer, the message after which it happened,
 * the timing), not from the alert code alone: many stacks answer a version
 * they refuse with handshake_failure(40), or with no alert at all. */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "facts.h"
#include "tlsdiag/rules.h"

const char *td_outcome_str(enum td_outcome o)
{
    static const char *const s[] = {"ok", "failed", "incomplete", "partial", "not_tls"};
    return (unsigned)o < 5 ? s[o] : "unknown";
}
const char *td_severity_str(enum td_severity s)
{
    static const char *const t[] = {"error", "warning", "info"};
    return (unsigned)s < 3 ? t[s] : "info";
}
const char *td_by_str(enum td_by b)
{
    static const char *const t[] = {"client", "server", "middlebox", "network", "capture", "unknown"};
    return (unsigned)b < 6 ? t[b] : "unknown";
}
const char *td_confidence_str(enum td_confidence c)
{
    static const char *const t[] = {"high", "medium", "low"};
    return (unsigned)c < 3 ? t[c] : "low";
}
const char *td_resumption_str(enum td_resumption r)
{
    static const char *const t[] = {"none", "session_id", "ticket", "psk"};
    return (unsigned)r < 4 ? t[r] : "none";
}

const struct td_diagnosis *td_verdict_primary(const struct td_verdict *v)
{
    return v->num > 0 ? &v->d[0] : NULL;
}

static int cipher_class_of(uint16_t cs)
{
    const char *n;

    if (cs == 0x00ff || cs == 0x5600 || td_is_grease(cs))
        return -1;
    n = td_reg_name(TD_REG_CIPHER, cs);
    if (n == NULL)
        return -1;
    if (strstr(n, "NULL") || strstr(n, "anon") || strstr(n, "EXPORT") || strstr(n, "RC4") ||
        strstr(n, "_DES_") || strstr(n, "DES40") || strstr(n, "3DES") || strstr(n, "RC2") ||
        strstr(n, "IDEA") || strstr(n, "_MD5"))
        return 2;
    if (strncmp(n, "TLS_AES_", 8) == 0 || strncmp(n, "TLS_CHACHA20_", 13) == 0 ||
        strncmp(n, "TLS_SM4_", 8) == 0)
        return 0;
    if (strstr(n, "ECDHE") && (strstr(n, "GCM") || strstr(n, "CHACHA20") || strstr(n, "CCM")))
        return 0;
    return 1;
}

/* td_cipher_class is asked for every suite of every ClientHello; the
 * answer depends on the code alone, so each code's is worked out once (by
 * name, above) and kept: 0 = not yet, else class + 2.  Threads may race to
 * fill an entry; they write the same value. */
static _Atomic int8_t cipher_class_memo[65536];

int td_cipher_class(uint16_t cs)
{
    int8_t m = atomic_load_explicit(&cipher_class_memo[cs], memory_order_relaxed);

    if (m == 0) {
        m = (int8_t)(cipher_class_of(cs) + 2);
        atomic_store_explicit(&cipher_class_memo[cs], m, memory_order_relaxed);
    }
    return m - 2;
}

/* ---- helpers over facts ---- */

/* td_mem_find: |needle| occurs in the |n| bytes at |p| (bytes, not a C string) */
static bool td_mem_find(const uint8_t *p, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i + m <= n; i++)
        if (memcmp(p + i, needle, m) == 0)
            return true;
    return false;
}

static bool is_cert_alert(uint8_t d)
{
    return (d >= 42 && d <= 46) || d == 48 || d == 49 || d == 51;
}

static bool offer_all_legacy(const struct td_client_hello *ch, unsigned *n_modern)
{
    unsigned m = 0, real = 0;
    for (uint16_t i = 0; i < ch->num_ciphers; i++) {
        int k = td_cipher_class(ch->ciphers[i]);
        if (k < 0)
            continue;
        real++;
        if (k == 0)
            m++;
    }
    *n_modern = m;
    return real > 0 && m == 0;
}

static bool is_signalling(uint16_t cs)
{
    return cs == 0x00ff || cs == 0x5600 || td_is_grease(cs);
}

/* offer_suites counts the cipher suites a ClientHello offers, leaving out
 * the signalling values among them (TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
 * TLS_FALLBACK_SCSV, GREASE), which select nothing.  When there are at most
 * 3 suites, all kept, |names| gets their IANA names ("A, B and C"), else "".
 * |sig| gets ", besides TLS_EMPTY_RENEGOTIATION_INFO_SCSV (a signalling
 * value, not a suite)" for the signalling values left out, or "". */
static unsigned offer_suites(const struct td_client_hello *ch, char *names, size_t nlen, char *sig, size_t slen)
{
    unsigned n = 0, nsig = 0, k = 0;
    uint16_t first_sig = 0;

    names[0] = 0;
    sig[0] = 0;
    for (uint16_t i = 0; i < ch->num_ciphers; i++) {
        if (is_signalling(ch->ciphers[i])) {
            if (nsig++ == 0)
                first_sig = ch->ciphers[i];
        } else {
            n++;
        }
    }
    n += ch->total_ciphers > ch->num_ciphers ? (unsigned)(ch->total_ciphers - ch->num_ciphers) : 0;
    if (nsig > 0) {
        char b[64];
        snprintf(sig, slen, ", besides %s%s (signalling value%s, not suites)", td_reg_fmt(TD_REG_CIPHER, first_sig, b, sizeof(b)),
                 nsig > 1 ? " and others" : "", nsig > 1 ? "s" : "");
        if (nsig == 1)
            snprintf(sig, slen, ", besides %s (a signalling value, not a suite)", b);
    }
    if (n == 0 || n > 3 || ch->total_ciphers > ch->num_ciphers)
        return n;
    for (uint16_t i = 0; i < ch->num_ciphers; i++) {
        char b[64];
        size_t used = strnlen(names, nlen);
        if (is_signalling(ch->ciphers[i]))
            continue;
        k++;
        snprintf(names + used, nlen - used, "%s%s", k == 1 ? "" : k == n ? " and " : ", ",
                 td_reg_fmt(TD_REG_CIPHER, ch->ciphers[i], b, sizeof(b)));
    }
    return n;
}

static bool groups_unusual(const struct td_client_hello *ch)
{
    /* only finite-field or only post-quantum hybrid groups: many servers
     * (nginx with OpenSSL defaults) accept neither */
    unsigned common = 0, real = 0;
    for (uint16_t i = 0; i < ch->groups.n; i++) {
        uint16_t g = ch->groups.v[i];
        if (td_is_grease(g))
            continue;
        real++;
        if (g == 0x001d || g == 0x0017 || g == 0x0018 || g == 0x0019 || g == 0x001e)
            common++;
    }
    return real > 0 && common == 0;
}

static void ev_ch(struct td_diagnosis *d, const struct facts *f)
{
    if (f->ch_ev != NULL)
        diag_ev_event(d, f, f->ch_ev);
}

static void ev_alert(struct td_diagnosis *d, const struct facts *f)
{
    char a[48];
    const struct td_alert_rec *al = f->alert;
    if (al == NULL)
        return;
    if (al->encrypted)
        diag_ev(d, al->frame, al->ts_ns, f->alert_from, "encrypted Alert (%u bytes)", al->len);
    else
        diag_ev(d, al->frame, al->ts_ns, f->alert_from, "Alert %s %s", al->level == 2 ? "fatal" : "warning",
                td_alert_fmt(al->desc, a, sizeof(a)));
}

/* the last handshake message the peer of |from| sent before |frame| */
static const struct td_event *last_hs_before(const struct facts *f, int from, uint64_t frame)
{
    const struct td_event *best = NULL;
    for (uint32_t i = 0; i < f->c->num_events; i++) {
        const struct td_event *e = &f->c->events[i];
        if (e->frame > frame)
            break;
        if ((int)td_conn_from(f->c, e->ep) != from)
            continue;
        if (e->kind == TD_EV_HANDSHAKE || e->kind == TD_EV_CCS ||
            (e->kind == TD_EV_ENCRYPTED && e->ct == TD_CT_HANDSHAKE))
            best = e;
    }
    return best;
}

static void add_close_ev(struct td_diagnosis *d, const struct facts *f)
{
    const struct td_event *e = NULL;
    const struct td_event *cands[4] = {f->srv_rst, f->srv_fin, f->cli_rst, f->cli_fin};
    for (int i = 0; i < 4; i++)
        if (cands[i] != NULL && (e == NULL || cands[i]->frame < e->frame))
            e = cands[i];
    if (e != NULL && d != NULL && (d->num_ev == 0 || d->ev[d->num_ev - 1].frame != e->frame))
        diag_ev_event(d, f, e);
}

/* ---- failure rules.  Each returns true when it explained the failure. ---- */

static bool r_transport(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;

    if (f->any_payload)
        return false;
    if (f->syn != NULL && f->synack == NULL && f->srv_rst != NULL) {
        d = diag_add(v, "tcp_refused", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "connection refused: the SYN was answered by RST (nothing listens on port %u)",
                  f->c->port[f->sep]);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The client's SYN (frame %llu) was answered by a RST (frame %llu) instead of a SYN-ACK: no TLS was attempted. "
                  "The host is reachable but nothing accepts connections on that port, or a firewall rejects them.",
                  (unsigned long long)f->syn->frame, (unsigned long long)f->srv_rst->frame);
        diag_text(d->fix, sizeof(d->fix), "Check that the server is listening (ss -ltnp | grep :%u) and that no firewall rule rejects the port.",
                  f->c->port[f->sep]);
        diag_ev_event(d, f, f->syn);
        diag_ev_event(d, f, f->srv_rst);
        return true;
    }
    if (f->syn != NULL && f->synack == NULL) {
        d = diag_add(v, "tcp_no_answer", TD_SEV_ERROR, TD_BY_NETWORK,
                     f->hc->syn_count >= 2 ? TD_CONF_HIGH : TD_CONF_MEDIUM);
        diag_text(d->summary, sizeof(d->summary), "no answer to the SYN (%u sent): the server or the path drops it",
                  f->hc->syn_count);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The client sent %u SYN(s), the first at frame %llu, and no SYN-ACK or RST came back. A firewall dropping the "
                  "packets, a wrong address or route, or a server that is down all look like this.",
                  f->hc->syn_count, (unsigned long long)f->syn->frame);
        diag_text(d->fix, sizeof(d->fix), "Check the route and firewalls to %u/tcp (traceroute -T -p %u HOST), and that the server is up.",
                  f->c->port[f->sep], f->c->port[f->sep]);
        diag_ev_event(d, f, f->syn);
        return true;
    }
    if (f->synack != NULL || f->syn != NULL) {
        d = diag_add(v, "no_client_hello", TD_SEV_ERROR, TD_BY_UNKNOWN, TD_CONF_MEDIUM);
        diag_text(d->summary, sizeof(d->summary), "TCP connection opened but no ClientHello was seen");
        diag_text(d->explanation, sizeof(d->explanation),
                  "The TCP handshake completed but the client sent no bytes before the connection %s. A health check or "
                  "port scanner does this; seen from the server side, a device on the path may have dropped or reset the hello.",
                  (f->cli_rst || f->srv_rst || f->cli_fin || f->srv_fin) ? "closed" : "or the capture ended");
        diag_text(d->fix, sizeof(d->fix), "If real clients fail here, capture on the client side too: a middlebox may be eating the ClientHello.");
        if (f->syn)
            diag_ev_event(d, f, f->syn);
        add_close_ev(d, f);
        if (f->cli_rst != NULL && f->syn != NULL && f->cli_rst->ttl != f->syn->ttl) {
            d->by = TD_BY_MIDDLEBOX;
            diag_ev(d, f->cli_rst->frame, f->cli_rst->ts_ns, TD_FROM_CLIENT,
                    "RST claims to come from the client but its TTL %u differs from the client's SYN TTL %u", f->cli_rst->ttl,
                    f->syn->ttl);
        }
        return true;
    }
    return false;
}

static bool r_not_tls(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    const struct td_event *nt = NULL;

    if (!f->hs->not_tls && !(f->hc->not_tls && f->hs->tls))
        return false;
    for (uint32_t i = 0; i < f->c->num_events; i++)
        if (f->c->events[i].kind == TD_EV_NOT_TLS)
            nt = &f->c->events[i];
    if (f->hs->not_tls && f->ch != NULL) {
        char p[TD_PREVIEW_LEN + 1];
        size_t n = f->hs->preview_len, i;
        for (i = 0; i < n && i < 32; i++) {
            uint8_t b = f->hs->preview[i];
            p[i] = (b >= 0x20 && b < 0x7f) ? (char)b : '.';
        }
        p[i] = 0;
        d = diag_add(v, "not_tls", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the server does not speak TLS on port %u: it answered \"%.24s\"",
                  f->c->port[f->sep], p);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The client sent a ClientHello (frame %llu) and the server answered with bytes that are not a TLS record. "
                  "Clients report this as \"wrong version number\" (OpenSSL) or \"record overflow\". The port serves plain "
                  "text (HTTP, SMTP, ...), or a protocol that needs STARTTLS first.",
                  (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0));
        diag_text(d->fix, sizeof(d->fix), "Use the TLS port (or http:// here), or STARTTLS where the protocol has it (openssl s_client -starttls smtp).");
        ev_ch(d, f);
        if (nt != NULL)
            diag_ev_event(d, f, nt);
        return true;
    }
    if (f->hc->not_tls) {
        d = diag_add(v, "not_tls", TD_SEV_ERROR, TD_BY_CLIENT, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the client sent non-TLS bytes to a TLS server");
        diag_text(d->explanation, sizeof(d->explanation),
                  "The client's first bytes are not a TLS record, and the server answered in TLS (usually an alert). "
                  "A plain-text client (http:// to an https port) does this.");
        diag_text(d->fix, sizeof(d->fix), "Use https:// (or the TLS option of the client) for this port.");
        if (nt != NULL)
            diag_ev_event(d, f, nt);
        if (f->alert != NULL)
            ev_alert(d, f);
        return true;
    }
    return false;
}

static void version_diag(const struct facts *f, struct td_verdict *v, enum td_confidence conf)
{
    char ver[16];
    const char *an = f->alert && !f->alert->encrypted ? (td_reg_name(TD_REG_ALERT, f->alert->desc) ? td_reg_name(TD_REG_ALERT, f->alert->desc) : "?") : "?";
    struct td_diagnosis *d = diag_add(v, "protocol_version", TD_SEV_ERROR, TD_BY_SERVER, conf);
    td_version_fmt(f->max_offered, ver, sizeof(ver));
    if (f->max_offered == 0x0303) {
        /* TLS 1.2 at most, refused before any ServerHello: the server's
         * minimum is above it.  An older server would have answered with a
         * ServerHello for its own lower version (and the client would have
         * sent the alert). */
        diag_text(d->summary, sizeof(d->summary), "server refused a ClientHello offering up to TLS 1.2: it likely requires TLS 1.3");
        diag_text(d->explanation, sizeof(d->explanation),
                  "The ClientHello (frame %llu) offers TLS 1.2 at most. The server answered with a fatal %s alert before any "
                  "ServerHello: its lowest version is above the client's highest, so it accepts only TLS 1.3. (A server limited "
                  "to older versions answers with a ServerHello for its own version instead, and the client sends the alert.)",
                  (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), an);
        diag_text(d->fix, sizeof(d->fix),
                  "Let the client offer TLS 1.3 (openssl s_client: drop -tls1_2 or -no_tls1_3; curl: drop --tls-max 1.2; Java: "
                  "jdk.tls.client.protocols=TLSv1.3,TLSv1.2), or enable TLS 1.2 on the server (nginx: ssl_protocols TLSv1.2 "
                  "TLSv1.3; openssl s_server: drop -tls1_3).");
    } else if (f->max_offered > 0x0303) {
        /* a current version refused: the server is the old (or pinned) side */
        diag_text(d->summary, sizeof(d->summary), "server refused a ClientHello offering up to %s: it accepts none of the versions offered", ver);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The ClientHello (frame %llu) offers %s at most. The server answered with a fatal %s alert before any "
                  "ServerHello: it speaks none of the offered versions (an old server limited to TLS 1.0/1.1, or one pinned to a "
                  "version the client left out).",
                  (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), ver, an);
        diag_text(d->fix, sizeof(d->fix),
                  "Enable TLS 1.2 and 1.3 on the server (nginx: ssl_protocols TLSv1.2 TLSv1.3; openssl s_server: drop -tls1/-tls1_1), "
                  "or let the client offer the version the server speaks (openssl s_client without -tls1_3).");
    } else {
        diag_text(d->summary, sizeof(d->summary), "server refused %s: the client offered nothing newer", ver);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The ClientHello (frame %llu) offers %s at most. The server answered with a fatal %s alert before any "
                  "ServerHello. Servers today accept TLS 1.2 and 1.3 only, and OpenSSL and others send handshake_failure or "
                  "protocol_version for a version they have disabled.",
                  (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), ver, an);
        diag_text(d->fix, sizeof(d->fix),
                  "Upgrade the client to TLS 1.2 or later (for openssl s_client: drop -ssl3/-tls1/-tls1_1). Only if old clients must "
                  "be served, re-enable the version on the server (nginx: ssl_protocols), knowing it is insecure.");
    }
    ev_ch(d, f);
    ev_alert(d, f);
}

static bool r_alert_before_sh(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    char a[48];
    unsigned n_modern = 0;
    uint8_t desc;

    if (f->alert == NULL || f->alert_from != TD_FROM_SERVER || f->alert->encrypted || f->sh != NULL || f->ch == NULL)
        return false;
    desc = f->alert->desc;
    td_alert_fmt(desc, a, sizeof(a));
    switch (desc) {
    case 70: /* protocol_version */
        version_diag(f, v, TD_CONF_HIGH);
        return true;
    case 112: /* unrecognized_name */
        if (!f->ch->has_sni)
            break; /* handled below as sni_required */
        d = diag_add(v, "sni_unrecognized", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the server does not serve the name \"%s\"", f->ch->sni);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The server sent a fatal unrecognized_name(112) alert: no virtual host or certificate is configured for the "
                  "server_name the client asked for.");
        diag_text(d->fix, sizeof(d->fix), "Use the name the server is configured for, or add \"%s\" to the server (nginx: server_name).",
                  f->ch->sni);
        ev_ch(d, f);
        ev_alert(d, f);
        return true;
    case 120:
        d = diag_add(v, "alpn_mismatch", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "no common application protocol (ALPN)");
        diag_text(d->explanation, sizeof(d->explanation),
                  "The server refused the ALPN protocols offered in the ClientHello with no_application_protocol(120).");
        diag_text(d->fix, sizeof(d->fix), "Offer a protocol the server supports (for example http/1.1 besides h2), or enable it on the server.");
        ev_ch(d, f);
        ev_alert(d, f);
        return true;
    case 86:
        d = diag_add(v, "inappropriate_fallback", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the client fell back to a lower version and the server refused (TLS_FALLBACK_SCSV)");
        diag_text(d->explanation, sizeof(d->explanation),
                  "The ClientHello carries TLS_FALLBACK_SCSV: the client retried with a lower version after an earlier failure; "
                  "the server supports a higher one and answered inappropriate_fallback(86). The earlier failure is the real cause.");
        diag_text(d->fix, sizeof(d->fix), "Find why the first, higher-version attempt failed (often a middlebox); look at the previous connection.");
        ev_ch(d, f);
        ev_alert(d, f);
        return true;
    case 10: case 20: case 22: case 47: case 50:
        d = diag_add(v, "protocol_error", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the server rejected the ClientHello as malformed: %s", a);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The server parsed the ClientHello and found it invalid%s.",
                  f->c->anomalies.n ? " (tlsdiag also found anomalies in it)" : "");
        diag_text(d->fix, sizeof(d->fix), "Check the client's TLS library and any device rewriting the ClientHello.");
        ev_ch(d, f);
        ev_alert(d, f);
        return true;
    case 80:
        d = diag_add(v, "internal_error", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the server failed internally (internal_error)");
        diag_text(d->explanation, sizeof(d->explanation), "The server sent internal_error(80) in answer to the ClientHello: its own fault (missing key, broken config, engine error).");
        diag_text(d->fix, sizeof(d->fix), "Read the server's error log at the time of frame %llu.", (unsigned long long)f->alert->frame);
        ev_ch(d, f);
        ev_alert(d, f);
        return true;
    default:
        break;
    }
    if (desc == 40 || desc == 71 || desc == 112) {
        if (f->max_offered != 0 && f->max_offered <= 0x0302) {
            version_diag(f, v, f->max_offered <= 0x0300 ? TD_CONF_HIGH : TD_CONF_MEDIUM);
            return true;
        }
        if (offer_all_legacy(f->ch, &n_modern)) {
            char names[224], sig[128];
            unsigned n = offer_suites(f->ch, names, sizeof(names), sig, sizeof(sig));
            d = diag_add(v, "no_shared_cipher", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_MEDIUM);
            if (names[0] != 0 && strlen(names) + 50 < sizeof(d->summary))
                diag_text(d->summary, sizeof(d->summary), "no shared cipher suite: the client offered only %s", names);
            else
                diag_text(d->summary, sizeof(d->summary), "no shared cipher suite: the client offered only %u legacy suite%s", n,
                          n == 1 ? "" : "s");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The ClientHello (frame %llu) offers %u cipher suite%s%s%s%s%s. %s forward secrecy with an AEAD cipher "
                      "(no ECDHE-GCM/CHACHA20, no TLS 1.3 suite). The server answered with a fatal %s before any "
                      "ServerHello: servers configured for modern suites only have nothing to choose.",
                      (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), n, n == 1 ? "" : "s",
                      names[0] != 0 ? " (" : "", names, names[0] != 0 ? ")" : "", sig,
                      n == 1 ? "It does not combine" : "None of them combines", a);
            diag_text(d->fix, sizeof(d->fix),
                      "Let the client offer ECDHE-RSA-AES128-GCM-SHA256 or ECDHE-ECDSA-AES128-GCM-SHA256 (openssl s_client: drop "
                      "-cipher), or, if old clients must be served, add their suite to the server (nginx: ssl_ciphers).");
            ev_ch(d, f);
            ev_alert(d, f);
            return true;
        }
        if (groups_unusual(f->ch)) {
            d = diag_add(v, "no_shared_group", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_MEDIUM);
            diag_text(d->summary, sizeof(d->summary), "no shared key-exchange group");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The ClientHello offers only uncommon groups (no X25519, P-256 or P-384); the server answered %s before "
                      "choosing anything.", a);
            diag_text(d->fix, sizeof(d->fix), "Offer X25519 or P-256 from the client, or enable the client's groups on the server (nginx: ssl_ecdh_curve).");
            ev_ch(d, f);
            ev_alert(d, f);
            return true;
        }
        if (f->max_offered == 0x0303 && desc == 40 && f->ch->has_sni) {
            /* A modern TLS 1.2 offer with SNI and common groups refused
             * outright: what is left is the version (TLS 1.3-only servers
             * such as gnutls-serv with -VERS-TLS1.2 answer exactly so). */
            d = diag_add(v, "protocol_version", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_LOW);
            diag_text(d->summary, sizeof(d->summary), "the server likely requires TLS 1.3: the client offered TLS 1.2 at most");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The ClientHello (frame %llu) offers TLS 1.2 at most, with %u modern cipher suites, common groups and SNI, "
                      "and the server refused it with %s before any ServerHello. Nothing else in the offer explains the refusal; "
                      "servers configured for TLS 1.3 only answer a TLS 1.2 hello this way.",
                      (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), n_modern, a);
            diag_text(d->fix, sizeof(d->fix), "Enable TLS 1.3 on the client (OpenSSL 1.1.1+, openssl s_client -tls1_3), or TLS 1.2 on the server; tlsdiag probe HOST:%u tells which versions it accepts.",
                      f->c->port[f->sep]);
            ev_ch(d, f);
            ev_alert(d, f);
            return true;
        }
        if (!f->ch->has_sni) {
            d = diag_add(v, "sni_required", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_MEDIUM);
            diag_text(d->summary, sizeof(d->summary), "the server needs SNI and the ClientHello has none");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The ClientHello (frame %llu) has no server_name extension and the server refused it with %s before any "
                      "ServerHello; the offer is otherwise modern. Servers and proxies that pick a certificate or a backend by "
                      "name refuse hellos without one.", (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), a);
            diag_text(d->fix, sizeof(d->fix), "Connect by name, not by address, or set SNI explicitly (openssl s_client -servername NAME; curl --resolve).");
            ev_ch(d, f);
            ev_alert(d, f);
            return true;
        }
    }
    (void)offer_all_legacy(f->ch, &n_modern); /* count the modern suites for the text */
    d = diag_add(v, "alert", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
    diag_text(d->summary, sizeof(d->summary), "the server refused the ClientHello with %s", a);
    diag_text(d->explanation, sizeof(d->explanation),
              "The server answered the ClientHello (frame %llu) with a fatal %s before any ServerHello. The offer looks modern "
              "(%u modern cipher suites, highest version 0x%04x), so the cause is in the server's policy.",
              (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), a, n_modern, f->max_offered);
    diag_text(d->fix, sizeof(d->fix), "Compare the offer with the server's ssl_protocols/ssl_ciphers/ssl_ecdh_curve; tlsdiag probe HOST:%u shows what it accepts.",
              f->c->port[f->sep]);
    ev_ch(d, f);
    ev_alert(d, f);
    return true;
}

static bool r_alert_after_sh(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    const struct td_event *before;
    char a[48];
    uint8_t desc;

    if (f->alert == NULL || f->sh == NULL || f->established)
        return false;
    if (f->alert->encrypted) /* TLS 1.3 inference handles unreadable ones */
        return false;
    desc = f->alert->desc;
    td_alert_fmt(desc, a, sizeof(a));
    before = last_hs_before(f, f->alert_from == TD_FROM_CLIENT ? TD_FROM_SERVER : TD_FROM_CLIENT, f->alert->frame);

    if (f->alert_from == TD_FROM_CLIENT) {
        if (is_cert_alert(desc) || (desc == 40 && f->c->cert[f->sep].m != NULL)) {
            d = diag_add(v, "server_cert_rejected", TD_SEV_ERROR, TD_BY_CLIENT, TD_CONF_HIGH);
            diag_text(d->summary, sizeof(d->summary), "the client rejected the server's certificate: %s", a);
            diag_text(d->explanation, sizeof(d->explanation),
                      "After the server's Certificate (frame %llu) the client sent a fatal %s and gave up. The client could not "
                      "verify the chain: untrusted issuer, expired, wrong name, or a missing intermediate.",
                      (unsigned long long)f->c->cert[f->sep].frame, a);
            diag_text(d->fix, sizeof(d->fix), "Serve the full chain from a CA the client trusts, valid now and naming the host the client uses (check with openssl s_client -showcerts).");
            if (f->c->cert[f->sep].m != NULL)
                diag_ev(d, f->c->cert[f->sep].frame, f->c->cert[f->sep].ts_ns, TD_FROM_SERVER, "Certificate, %u certificate(s)",
                        f->c->cert[f->sep].m->total_certs);
            ev_alert(d, f);
            return true;
        }
        if (desc == 70) {
            char ver[16];
            d = diag_add(v, "protocol_version", TD_SEV_ERROR, TD_BY_CLIENT, TD_CONF_HIGH);
            diag_text(d->summary, sizeof(d->summary), "the client refused the version the server chose (%s)",
                      td_version_fmt(f->sh->selected_version, ver, sizeof(ver)));
            diag_text(d->explanation, sizeof(d->explanation), "The ServerHello chose %s and the client answered protocol_version(70).", ver);
            diag_text(d->fix, sizeof(d->fix), "Enable TLS 1.2 or 1.3 on the server (nginx: ssl_protocols TLSv1.2 TLSv1.3).");
            diag_ev_event(d, f, f->sh_ev);
            ev_alert(d, f);
            return true;
        }
    } else {
        /* the server's alert after the client's flight */
        bool cr = f->c->cr.m != NULL;
        if (cr && (desc == 116 || ((desc == 40 || is_cert_alert(desc)) && !f->client_cert_sent))) {
            d = diag_add(v, "client_cert_missing", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
            diag_text(d->summary, sizeof(d->summary), "the server requires a client certificate and the client sent none");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The server asked for a certificate (CertificateRequest, frame %llu); the client answered with %s, and the "
                      "server ended the handshake with a fatal %s.", (unsigned long long)f->c->cr.frame,
                      f->client_cert_empty ? "an empty Certificate" : "no Certificate", a);
            diag_text(d->fix, sizeof(d->fix), "Give the client its certificate and key (curl --cert/--key; openssl s_client -cert -key), issued by a CA the server trusts.");
            diag_ev(d, f->c->cr.frame, f->c->cr.ts_ns, TD_FROM_SERVER, "CertificateRequest");
            if (f->c->cert[f->cep].m != NULL)
                diag_ev(d, f->c->cert[f->cep].frame, f->c->cert[f->cep].ts_ns, TD_FROM_CLIENT, "Certificate, empty");
            ev_alert(d, f);
            return true;
        }
        if (f->client_cert_sent && (is_cert_alert(desc) || desc == 40 || desc == 71)) {
            struct client_cert_cause cc;
            client_cert_check(f, &cc);
            d = diag_add(v, "client_cert_rejected", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
            if (cc.found) {
                /* the alert does not say why; the certificate itself shows a
                 * reason servers refuse: name it, as the likely one */
                diag_text(d->summary, sizeof(d->summary), "the server rejected the client's certificate (%s): likely %s", a, cc.tag);
                diag_text(d->explanation, sizeof(d->explanation),
                          "The client sent its Certificate (frame %llu)%s, and the server answered with a fatal %s. The alert does "
                          "not say why, but tlsdiag's check of the certificate the client sent finds what most likely made the "
                          "server refuse it: %s. (The server's own log has its verify error; an untrusted issuer or revocation "
                          "cannot be ruled out from the capture.)",
                          (unsigned long long)f->c->cert[f->cep].frame, f->c->cke_frame ? " and ClientKeyExchange" : "", a, cc.why);
                diag_text(d->fix, sizeof(d->fix), "%s, from a CA in the server's client-CA list (nginx: ssl_client_certificate).", cc.fix);
            } else if (desc == 48 && cc.seen) {
                /* unknown_ca(48) says why: the issuer is not one the server trusts */
                diag_text(d->summary, sizeof(d->summary), "the server does not trust the client certificate's issuer \"%.100s\" (%s)",
                          cc.issuer, a);
                diag_text(d->explanation, sizeof(d->explanation),
                          "The client sent its Certificate for %s (frame %llu)%s, and the server answered with a fatal %s: the CA "
                          "that certificate comes from, \"%s\", is not one the server accepts client certificates from.",
                          cc.who, (unsigned long long)f->c->cert[f->cep].frame, f->c->cke_frame ? " and ClientKeyExchange" : "",
                          a, cc.issuer);
                diag_text(d->fix, sizeof(d->fix),
                          "Issue the client certificate from a CA in the server's client-CA list, or add \"%.120s\" to that list "
                          "(nginx: ssl_client_certificate).", cc.issuer);
            } else {
                diag_text(d->summary, sizeof(d->summary), "the server rejected the client's certificate: %s", a);
                diag_text(d->explanation, sizeof(d->explanation),
                          "The client sent its Certificate (frame %llu)%s, and the server answered with a fatal %s: it could not "
                          "verify the certificate (unknown CA, expired, revoked) or judged it too weak (key size, signature hash).%s",
                          (unsigned long long)f->c->cert[f->cep].frame, f->c->cke_frame ? " and ClientKeyExchange" : "", a,
                          cc.seen ? " tlsdiag's own check of it (key size, signature hash, validity, self-signed) finds nothing "
                                    "wrong: most likely the server does not trust its issuer." : "");
                diag_text(d->fix, sizeof(d->fix), "Issue the client certificate from a CA in the server's client-CA list (nginx: ssl_client_certificate), with an RSA key of 2048 bits or more and a SHA-256 signature.");
            }
            diag_ev(d, f->c->cert[f->cep].frame, f->c->cert[f->cep].ts_ns, TD_FROM_CLIENT, "Certificate, %u certificate(s)",
                    f->c->cert[f->cep].m->total_certs);
            ev_alert(d, f);
            return true;
        }
    }
    if (desc == 10 || desc == 20 || desc == 22 || desc == 47 || desc == 50 || desc == 80) {
        d = diag_add(v, desc == 80 ? "internal_error" : "protocol_error", TD_SEV_ERROR,
                     f->alert_from == TD_FROM_CLIENT ? TD_BY_CLIENT : TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the %s aborted the handshake: %s", f->alert_from == TD_FROM_CLIENT ? "client" : "server", a);
        diag_text(d->explanation, sizeof(d->explanation), "A fatal %s after %s.", a, before ? "the peer's last handshake message" : "the hellos");
        diag_text(d->fix, sizeof(d->fix), "Look at the %s's logs for the reason; a TLS-intercepting device in between can also cause this.",
                  f->alert_from == TD_FROM_CLIENT ? "client" : "server");
        if (before)
            diag_ev_event(d, f, before);
        ev_alert(d, f);
        return true;
    }
    if (desc == 120) {
        d = diag_add(v, "alpn_mismatch", TD_SEV_ERROR, f->alert_from == TD_FROM_CLIENT ? TD_BY_CLIENT : TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "no common application protocol (ALPN)");
        diag_text(d->explanation, sizeof(d->explanation), "no_application_protocol(120) during the handshake.");
        diag_text(d->fix, sizeof(d->fix), "Offer a protocol both sides support (http/1.1 besides h2).");
        ev_alert(d, f);
        return true;
    }
    d = diag_add(v, "alert", TD_SEV_ERROR, f->alert_from == TD_FROM_CLIENT ? TD_BY_CLIENT : TD_BY_SERVER, TD_CONF_HIGH);
    diag_text(d->summary, sizeof(d->summary), "the %s ended the handshake with %s", f->alert_from == TD_FROM_CLIENT ? "client" : "server", a);
    diag_text(d->explanation, sizeof(d->explanation), "A fatal %s after the ServerHello%s.", a,
              before ? ", following the peer's last handshake message" : "");
    diag_text(d->fix, sizeof(d->fix), "Read the %s's log for the reason of this alert.", f->alert_from == TD_FROM_CLIENT ? "client" : "server");
    if (before)
        diag_ev_event(d, f, before);
    ev_alert(d, f);
    return true;
}

/* TLS 1.3 without keys: sizes and order of encrypted records. */
static bool r_tls13_inferred(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    const struct td_event *e;

    if (!f->tls13 || f->established)
        return false;
    /* the client's first answer to the server's flight is alert-sized, then close */
    e = f->enc13_cli_first;
    if (e != NULL && f->enc13_srv_before_cli > 0 && e->count == 1 && enc13_alert_sized(e) &&
        (f->cli_fin || f->cli_rst)) {
        d = diag_add(v, "server_cert_rejected", TD_SEV_ERROR, TD_BY_CLIENT, TD_CONF_MEDIUM);
        diag_text(d->summary, sizeof(d->summary), "the client rejected the server's flight (most likely its certificate): encrypted alert");
        diag_text(d->explanation, sizeof(d->explanation),
                  "TLS 1.3: after the server's encrypted flight (certificate inside), the client's only answer was a %u-byte "
                  "encrypted record, the size of an alert, and it closed. A client that accepts the server sends its Finished "
                  "(larger) instead. Without the keys the alert's code cannot be read; give --keylog to read it.", e->len);
        diag_text(d->fix, sizeof(d->fix), "Check the server's chain against the client's trust store, validity and the name used (openssl s_client -connect HOST:PORT -servername NAME -verify_return_error).");
        diag_ev_event(d, f, f->sh_ev);
        diag_ev_event(d, f, e);
        add_close_ev(d, f);
        return true;
    }
    /* the server's first record after the client's flight is alert-sized, then close */
    e = f->enc13_srv_after_cli;
    if (e != NULL && e->count == 1 && enc13_alert_sized(e)) {
        const struct td_event *c1 = f->enc13_cli_first;
        /* OpenSSL, GnuTLS and nginx write each handshake message in its own
         * record: a client Certificate record of a few dozen bytes is empty,
         * one of hundreds carries a certificate. */
        bool sent_cert = c1 != NULL && f->enc13_cli_flight >= 3 && c1->len >= 200;
        bool empty_cert = c1 != NULL && f->enc13_cli_flight >= 2 && c1->len < 64;
        const char *code = sent_cert ? "client_cert_rejected" : empty_cert ? "client_cert_missing" : "alert";
        d = diag_add(v, code, TD_SEV_ERROR, TD_BY_SERVER, sent_cert || empty_cert ? TD_CONF_MEDIUM : TD_CONF_LOW);
        if (sent_cert)
            diag_text(d->summary, sizeof(d->summary), "the server rejected the client's certificate (TLS 1.3, inferred from record sizes)");
        else if (empty_cert)
            diag_text(d->summary, sizeof(d->summary), "the server requires a client certificate and the client sent none (TLS 1.3, inferred)");
        else
            diag_text(d->summary, sizeof(d->summary), "the server ended the handshake with an encrypted alert after the client's flight");
        diag_text(d->explanation, sizeof(d->explanation),
                  "TLS 1.3: the client answered the server's flight with %u encrypted record(s), the first %u bytes long%s; the "
                  "server's next record is %u bytes, the size of an encrypted alert, and the connection ends. %s Give --keylog "
                  "to read the alert itself.",
                  f->enc13_cli_flight, c1 ? c1->len : 0,
                  sent_cert ? " (a Certificate carrying a certificate)" : empty_cert ? " (an empty Certificate)" : "", e->len,
                  sent_cert ? "The server did not accept the certificate." : empty_cert ? "The server asked for a certificate and got none (certificate_required)." : "");
        diag_text(d->fix, sizeof(d->fix), sent_cert ? "Issue the client certificate from a CA the server trusts, RSA >= 2048 bits, SHA-256."
                                                    : "Give the client its certificate and key (curl --cert/--key; openssl s_client -cert -key).");
        if (c1)
            diag_ev_event(d, f, c1);
        diag_ev_event(d, f, e);
        add_close_ev(d, f);
        return true;
    }
    return false;
}

#define RST_TIMING_MIN_RTT_NS 1000000LL /* 1 ms */

static bool rst_from_middlebox(const struct facts *f, const struct td_event *rst, char *why, size_t len)
{
    if (rst == NULL)
        return false;
    if (f->synack != NULL) {
        int diff = (int)rst->ttl - (int)f->synack->ttl;
        if (diff > 1 || diff < -1) {
            snprintf(why, len, "its TTL %u differs from the server's SYN-ACK TTL %u", rst->ttl, f->synack->ttl);
            return true;
        }
    }
    /* Timing counts only where the round trip is long enough to measure:
     * below a millisecond (same host, LAN, veths) scheduling jitter alone
     * can bring a server's own RST back in less than half the SYN/SYN-ACK
     * time (seen here: 0.021 ms against a 0.047 ms RTT, the TTL matching).
     * tests/unit/test_rules.c fails without this floor. */
    if (f->rtt_ns >= RST_TIMING_MIN_RTT_NS && f->ch_ev != NULL && rst->ts_ns >= f->ch_ev->ts_ns &&
        (rst->ts_ns - f->ch_ev->ts_ns) * 2 < f->rtt_ns) {
        snprintf(why, len, "it arrived %.3f ms after the ClientHello, sooner than the %.3f ms round trip to the server allows",
                 (double)(rst->ts_ns - f->ch_ev->ts_ns) / 1e6, (double)f->rtt_ns / 1e6);
        return true;
    }
    return false;
}

static bool r_closed_without_alert(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    char why[160];
    const struct td_event *srv_close = f->srv_rst ? f->srv_rst : f->srv_fin;

    if (f->ch == NULL || f->established)
        return false;
    if (f->srv_fin && f->srv_rst && f->srv_fin->frame < f->srv_rst->frame)
        srv_close = f->srv_fin;
    /* a server alert explains more than its close; a client alert sent
     * after the server closed (OpenSSL's decode_error on EOF) does not */
    if (f->alert != NULL && (f->alert_from == TD_FROM_SERVER || srv_close == NULL || f->alert->frame < srv_close->frame))
        return false;
    /* who closed first? */
    if (srv_close != NULL && ((f->cli_fin == NULL || f->cli_fin->frame > srv_close->frame) &&
                              (f->cli_rst == NULL || f->cli_rst->frame > srv_close->frame))) {
        bool rst = srv_close->kind == TD_EV_RST;
        if (rst && f->sh == NULL && rst_from_middlebox(f, srv_close, why, sizeof(why))) {
            d = diag_add(v, "middlebox_reset", TD_SEV_ERROR, TD_BY_MIDDLEBOX, TD_CONF_HIGH);
            diag_text(d->summary, sizeof(d->summary), "a device on the path reset the connection right after the ClientHello%s%s",
                      f->ch->has_sni ? " for SNI " : "", f->ch->has_sni ? f->ch->sni : "");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The RST (frame %llu) claims to come from the server, but %s. A firewall, IPS or filtering proxy read the "
                      "ClientHello (typically its SNI) and reset the connection on the server's behalf.",
                      (unsigned long long)srv_close->frame, why);
            diag_text(d->fix, sizeof(d->fix), "Find the device between client and server (traceroute -T -p %u) and its rule matching this name; a capture at the server will not show the ClientHello.",
                      f->c->port[f->sep]);
            ev_ch(d, f);
            diag_ev_event(d, f, f->synack);
            diag_ev_event(d, f, srv_close);
            return true;
        }
        if (f->sh == NULL && !f->ch->has_sni) {
            d = diag_add(v, "sni_required", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_MEDIUM);
            diag_text(d->summary, sizeof(d->summary), "the server (likely an SNI-routing proxy) %s a ClientHello without SNI",
                      rst ? "reset" : "closed");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The ClientHello (frame %llu) has no server_name and the server %s the connection (frame %llu) without a "
                      "TLS answer. An L4 proxy that routes on SNI (nginx stream with ssl_preread) has no backend for an empty name "
                      "and closes like this.",
                      (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0), rst ? "reset" : "closed",
                      (unsigned long long)srv_close->frame);
            diag_text(d->fix, sizeof(d->fix), "Connect by name so the client sends SNI (openssl s_client -servername NAME; curl uses the URL's host), or give the proxy a default backend (nginx map ... default).");
            ev_ch(d, f);
            diag_ev_event(d, f, srv_close);
            return true;
        }
        d = diag_add(v, rst ? "reset_by_server" : "closed_by_server", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_MEDIUM);
        diag_text(d->summary, sizeof(d->summary), "the server %s the connection during the handshake, without an alert",
                  rst ? "reset" : "closed");
        diag_text(d->explanation, sizeof(d->explanation),
                  "After %s the server sent %s (frame %llu) and no TLS alert. %s",
                  f->sh ? "the ServerHello" : "the ClientHello", rst ? "a RST" : "a FIN", (unsigned long long)srv_close->frame,
                  rst ? "Nothing marks it as coming from another device (TTL matches the SYN-ACK)." : "Proxies and servers that drop hellos they cannot route or accept do this.");
        diag_text(d->fix, sizeof(d->fix), "Read the server's (or its proxy's) error log at that time.");
        ev_ch(d, f);
        diag_ev_event(d, f, srv_close);
        return true;
    }
    if (f->cli_rst || f->cli_fin) {
        const struct td_event *cc = f->cli_rst ? f->cli_rst : f->cli_fin;
        if (f->cli_rst && f->cli_fin && f->cli_fin->frame < f->cli_rst->frame)
            cc = f->cli_fin;
        if (f->srv_first_tls == NULL && f->sh == NULL) {
            /* the client gave up on a silent server */
            return false;
        }
        d = diag_add(v, cc->kind == TD_EV_RST ? "reset_by_client" : "closed_by_client", TD_SEV_ERROR, TD_BY_CLIENT, TD_CONF_MEDIUM);
        diag_text(d->summary, sizeof(d->summary), "the client %s the connection during the handshake, without an alert",
                  cc->kind == TD_EV_RST ? "reset" : "closed");
        diag_text(d->explanation, sizeof(d->explanation),
                  "The client ended the connection (frame %llu) after the server's %s, without a TLS alert: it did not like what "
                  "it got (often the certificate) or it timed out.",
                  (unsigned long long)cc->frame, f->sh ? "flight" : "answer");
        diag_text(d->fix, sizeof(d->fix), "Read the client's error message; check the server's certificate with openssl s_client -verify_return_error.");
        diag_ev_event(d, f, cc);
        return true;
    }
    return false;
}

/* The client closed (FIN/RST) mid-handshake and only then did the server
 * send a fatal alert: the alert answers the end of the stream (OpenSSL sends
 * decode_error(50) on an unexpected EOF), so the client ended it. */
static bool r_client_closed_first(const struct facts *f, struct td_verdict *v)
{
    const struct td_event *cc = f->cli_fin;
    struct td_diagnosis *d;
    char a[48];

    if (f->cli_rst != NULL && (cc == NULL || f->cli_rst->frame < cc->frame))
        cc = f->cli_rst;
    if (f->ch == NULL || f->established || f->alert == NULL || f->alert_from != TD_FROM_SERVER || cc == NULL ||
        cc->frame >= f->alert->frame || (f->srv_first_tls == NULL && f->sh == NULL))
        return false;
    d = diag_add(v, cc->kind == TD_EV_RST ? "reset_by_client" : "closed_by_client", TD_SEV_ERROR, TD_BY_CLIENT, TD_CONF_MEDIUM);
    diag_text(d->summary, sizeof(d->summary), "the client %s the connection during the handshake, without an alert",
              cc->kind == TD_EV_RST ? "reset" : "closed");
    diag_text(d->explanation, sizeof(d->explanation),
              "The client ended the connection (frame %llu) after the server's %s, without a TLS alert; the server's %s "
              "(frame %llu) came after that and answers the unexpected end of the stream, it is not the cause. The client did "
              "not like what it got (often the certificate), or it timed out or was stopped.",
              (unsigned long long)cc->frame, f->sh ? "flight" : "answer",
              f->alert->encrypted ? "encrypted alert" : td_alert_fmt(f->alert->desc, a, sizeof(a)), (unsigned long long)f->alert->frame);
    diag_text(d->fix, sizeof(d->fix), "Read the client's error message or log; check its timeouts and the server's certificate (openssl s_client -verify_return_error).");
    ev_ch(d, f);
    diag_ev_event(d, f, cc);
    ev_alert(d, f);
    return true;
}

/* How long a capture must go on after a ClientHello, with the connection
 * still open, before the server's silence is a finding and not just where
 * the capture stopped (or where a cut file ends). */
#define SILENT_MIN_NS 1000000000LL

/* the capture (not the client) stopped within SILENT_MIN_NS of the hello */
static bool ends_too_soon(const struct facts *f)
{
    return !(f->cli_fin || f->cli_rst) && f->c->end_ts_ns - f->c->ch_ts_ns < SILENT_MIN_NS;
}

static bool r_server_silent(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;

    if (f->ch == NULL || f->srv_first_tls != NULL || f->hs->payload_bytes > 0 || f->established)
        return false;
    if (ends_too_soon(f))
        return false; /* capture_incomplete, below */
    if (f->c->ch_acked_frame == 0 && f->c->ch_retrans > 0) {
        /* full-size segments retransmitted while smaller ones got through */
        bool big = f->c->ch_segments > 1 && f->c->ch_retrans_max_len >= 1200;
        d = diag_add(v, big ? "pmtu_blackhole" : "clienthello_lost", TD_SEV_ERROR, TD_BY_NETWORK, TD_CONF_MEDIUM);
        if (big) {
            diag_text(d->summary, sizeof(d->summary), "the large ClientHello never gets through: path MTU black hole");
            diag_text(d->explanation, sizeof(d->explanation),
                      "The ClientHello spans several full-size segments, which were retransmitted %u times and never "
                      "acknowledged, while the small TCP handshake packets got through. A link with a smaller MTU drops them and "
                      "the ICMP 'fragmentation needed' does not come back.", f->c->ch_retrans);
            diag_text(d->fix, sizeof(d->fix), "Allow ICMP type 3 code 4 (IPv6: type 2) back to the client, or clamp the MSS on the router (iptables -t mangle ... TCPMSS --clamp-mss-to-pmtu).");
        } else {
            diag_text(d->summary, sizeof(d->summary), "the ClientHello was never acknowledged (retransmitted %u times)", f->c->ch_retrans);
            diag_text(d->explanation, sizeof(d->explanation),
                      "The TCP handshake worked, but the segment carrying the ClientHello was retransmitted and never acknowledged: "
                      "something on the path drops it (a filter matching its content, or an MTU problem).");
            diag_text(d->fix, sizeof(d->fix), "Capture on the server side: if the ClientHello never arrives, look for a filtering device on the path.");
        }
        ev_ch(d, f);
        return true;
    }
    d = diag_add(v, "server_silent", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_MEDIUM);
    diag_text(d->summary, sizeof(d->summary), "the server never answered the ClientHello");
    diag_text(d->explanation, sizeof(d->explanation),
              "The ClientHello (frame %llu) was %s, but no TLS byte came back before the %s. A server stuck or waiting for "
              "something else (a PROXY protocol header, a plaintext greeting), or a device that swallows the hello, does this.",
              (unsigned long long)(f->ch_ev ? f->ch_ev->frame : 0),
              f->c->ch_acked_frame ? "acknowledged at TCP level" : "sent",
              (f->cli_fin || f->cli_rst) ? "client gave up" : "capture ended");
    diag_text(d->fix, sizeof(d->fix), "Check the server's process and its expectations (proxy_protocol on?); compare with a connection using another SNI.");
    ev_ch(d, f);
    if (f->c->ch_acked_frame)
        diag_ev(d, f->c->ch_acked_frame, f->c->ch_acked_ts_ns, TD_FROM_SERVER, "ACK of the ClientHello");
    add_close_ev(d, f);
    return true;
}

static bool r_capture(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    if (f->hc->gaps == 0 && f->hs->gaps == 0)
        return false;
    d = diag_add(v, "capture_gap", TD_SEV_ERROR, TD_BY_CAPTURE, TD_CONF_HIGH);
    diag_text(d->summary, sizeof(d->summary), "bytes are missing from the capture: the handshake cannot be read");
    diag_text(d->explanation, sizeof(d->explanation), "The capture lost %u segment(s) of the client's and %u of the server's bytes (snaplen, drops on the capture host).",
              f->hc->gaps, f->hs->gaps);
    diag_text(d->fix, sizeof(d->fix), "Capture again with -s 0 and a bigger buffer (tcpdump -B 65536), or on a less loaded host.");
    return true;
}

typedef bool (*rule_fn)(const struct facts *f, struct td_verdict *v);
static const struct {
    const char *name;
    rule_fn fn;
} failure_rules[] = {
    {"transport", r_transport},
    {"not_tls", r_not_tls},
    {"client_closed_first", r_client_closed_first},
    {"alert_before_server_hello", r_alert_before_sh},
    {"alert_after_server_hello", r_alert_after_sh},
    {"tls13_inferred", r_tls13_inferred},
    {"closed_without_alert", r_closed_without_alert},
    {"server_silent", r_server_silent},
    {"capture", r_capture},
};

/* ---- warnings on handshakes that worked ---- */

static void warnings(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    char ver[16], cs[80];

    if (f->sh == NULL)
        return;
    if (f->sh->selected_version <= 0x0302) {
        d = diag_add(v, "obsolete_version", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH);
        if (d) {
            diag_text(d->summary, sizeof(d->summary), "%s negotiated: obsolete and refused by current clients",
                      td_version_fmt(f->sh->selected_version, ver, sizeof(ver)));
            diag_text(d->explanation, sizeof(d->explanation), "RFC 8996 deprecates TLS 1.0 and 1.1; browsers and OpenSSL 3 refuse them by default.");
            diag_text(d->fix, sizeof(d->fix), "Enable TLS 1.2 and 1.3 on both sides (nginx: ssl_protocols TLSv1.2 TLSv1.3).");
            diag_ev_event(d, f, f->sh_ev);
        }
    }
    if (td_cipher_class(f->sh->cipher) == 2) {
        d = diag_add(v, "weak_cipher", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH);
        if (d) {
            diag_text(d->summary, sizeof(d->summary), "weak cipher suite negotiated: %s", td_reg_fmt(TD_REG_CIPHER, f->sh->cipher, cs, sizeof(cs)));
            diag_text(d->explanation, sizeof(d->explanation), "NULL, anonymous, export, RC4 and DES/3DES suites are broken or nearly so.");
            diag_text(d->fix, sizeof(d->fix), "Remove the suite from the server (nginx: ssl_ciphers HIGH:!aNULL:!MD5:!3DES:!RC4).");
            diag_ev_event(d, f, f->sh_ev);
        }
    }
    if (f->ch != NULL && !f->ch->has_sni) {
        d = diag_add(v, "no_sni", TD_SEV_WARNING, TD_BY_CLIENT, TD_CONF_HIGH);
        if (d) {
            diag_text(d->summary, sizeof(d->summary), "handshake without server_name (SNI)");
            diag_text(d->explanation, sizeof(d->explanation), "The client did not say which name it wants; it got the server's default certificate. SNI-routing proxies and many CDNs refuse such hellos.");
            diag_text(d->fix, sizeof(d->fix), "Connect by name (openssl s_client -servername NAME).");
            ev_ch(d, f);
        }
    }
    if (v->hs.hello_retry) {
        d = diag_add(v, "hello_retry", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH);
        if (d) {
            diag_text(d->summary, sizeof(d->summary), "HelloRetryRequest: an extra round trip to agree on a key-exchange group");
            diag_text(d->explanation, sizeof(d->explanation), "The client's key_share had no group the server wanted; the server asked again (frame %llu).",
                      (unsigned long long)f->c->hrr.frame);
            diag_text(d->fix, sizeof(d->fix), "Send a key share for the server's preferred group (usually X25519) first.");
            diag_ev(d, f->c->hrr.frame, f->c->hrr.ts_ns, TD_FROM_SERVER, "HelloRetryRequest");
        }
    }
    if (f->ch != NULL && !v->hs.resumed) {
        bool offered = f->ch->has_psk || (f->ch->has_session_ticket && f->ch->session_ticket_len > 0) ||
                       (!f->tls13 && f->ch->session_id_len > 0 && f->sh->session_id_len > 0 &&
                        f->c->cert[f->sep].m != NULL);
        if (offered && f->established) {
            d = diag_add(v, "resumption_rejected", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_MEDIUM);
            if (d) {
                diag_text(d->summary, sizeof(d->summary), "the client offered to resume a session and got a full handshake");
                diag_text(d->explanation, sizeof(d->explanation), "The ClientHello offered a %s, but the server did a full handshake (its cache or ticket key changed, or the session expired).",
                          f->ch->has_psk ? "PSK" : f->ch->session_ticket_len ? "session ticket" : "session ID");
                diag_text(d->fix, sizeof(d->fix), "Share the session cache / ticket keys across servers behind one name (nginx: ssl_session_cache shared:..., ssl_session_ticket_key).");
                ev_ch(d, f);
            }
        }
    }
}

/* After a completed handshake, the server's first decrypted bytes are an
 * HTTP error that names a client certificate problem: nginx's
 * ssl_verify_client accepts the handshake without (or with a bad)
 * certificate and answers 400 at the HTTP level.  The bytes say it, so
 * confidence is high; the handshake itself stays "ok". */
static void http_rejection(const struct facts *f, struct td_verdict *v)
{
    struct td_diagnosis *d;
    char line[96];
    const struct td_half *h = f->hs;
    bool missing, bad;
    size_t i;

    if (!f->http_status || f->http_code < 400)
        return;
    missing = td_mem_find(h->app_preview, h->app_preview_len, "No required SSL certificate was sent");
    bad = td_mem_find(h->app_preview, h->app_preview_len, "The SSL certificate error");
    for (i = 0; i < h->app_preview_len && i + 1 < sizeof(line) && h->app_preview[i] != '\r' && h->app_preview[i] != '\n'; i++)
        line[i] = (h->app_preview[i] >= 0x20 && h->app_preview[i] < 0x7f) ? (char)h->app_preview[i] : '.';
    line[i] = 0;
    if (!missing && !bad)
        return;
    d = diag_add(v, missing ? "client_cert_missing" : "client_cert_rejected", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH);
    if (d == NULL)
        return;
    diag_text(d->summary, sizeof(d->summary), "the handshake worked but the server refused the request: %s",
              missing ? "it requires a client certificate and got none" : "it did not accept the client certificate");
    diag_text(d->explanation, sizeof(d->explanation),
              "The TLS handshake completed, and the server's first application data (decrypted, frame %llu) is \"%s\"%s. "
              "nginx with ssl_verify_client on (or optional) completes the handshake %s and refuses at the HTTP level, so "
              "clients report an HTTP error, not a TLS one.",
              (unsigned long long)h->app_frame, line,
              missing ? " saying \"No required SSL certificate was sent\"" : " saying \"The SSL certificate error\"",
              missing ? "without a client certificate" : "with a certificate it then fails to verify");
    diag_text(d->fix, sizeof(d->fix), "%s",
              missing ? "Give the client its certificate and key (curl --cert/--key), issued by a CA in the server's ssl_client_certificate."
                      : "Issue the client certificate from a CA in the server's ssl_client_certificate; check the server's error log for the verify error.");
    if (bad && !missing) {
        struct client_cert_cause cc;
        client_cert_check(f, &cc);
        if (cc.found) {
            size_t n = strnlen(d->explanation, sizeof(d->explanation));
            snprintf(d->explanation + n, sizeof(d->explanation) - n,
                     " tlsdiag's check of the certificate the client sent finds the likely reason: %s.", cc.why);
            diag_text(d->fix, sizeof(d->fix), "%s, from a CA in the server's ssl_client_certificate; the server's error log has the verify error.",
                      cc.fix);
        }
    }
    diag_ev(d, h->app_frame, 0, TD_FROM_SERVER, "application data (decrypted): \"%.80s\"", line);
    for (uint32_t j = 0; j < f->c->num_events; j++) {
        const struct td_event *e = &f->c->events[j];
        if (e->frame == h->app_frame && e->ep == f->sep && e->kind == TD_EV_ENCRYPTED) {
            d->ev[d->num_ev - 1].ts_ns = e->ts_ns;
            break;
        }
    }
}

/* decryption_note: a key log was given but this connection could not be
 * (fully) read: say so in the primary diagnosis, so an inference is never
 * mistaken for what the bytes said. */
static void decryption_note(const struct facts *f, struct td_verdict *v)
{
    const char *why = NULL;
    struct td_diagnosis *d;
    size_t n;

    if (!f->c->keylog || v->num == 0)
        return;
    for (int i = 0; i < 2 && why == NULL; i++) {
        const struct td_half *h = i == 0 ? f->hs : f->hc;
        if (h->decrypt == TD_DECRYPT_FAILED)
            why = i == 0 ? "the key log's secret did not decrypt the server's records (wrong or stale key)"
                         : "the key log's secret did not decrypt the client's records (wrong or stale key)";
        else if (h->decrypt == TD_DECRYPT_NO_SECRET)
            why = i == 0 ? "the key log has no secret for the server's records of this connection"
                         : "the key log has no secret for the client's records of this connection";
        else if (h->decrypt == TD_DECRYPT_UNSUPPORTED)
            why = "tlsdiag cannot decrypt this cipher suite or version";
    }
    if (why == NULL)
        return;
    d = &v->d[0];
    n = strlen(d->explanation);
    if (n + 40 < sizeof(d->explanation))
        snprintf(d->explanation + n, sizeof(d->explanation) - n, " Decryption: %s.", why);
}

static void handshake_kind(const struct facts *f, struct td_verdict *v)
{
    const struct td_conn *c = f->c;
    struct td_handshake_kind *k = &v->hs;

    k->hello_retry = c->hrr.m != NULL;
    if (f->sh != NULL && f->ch != NULL) {
        if (f->tls13) {
            if (f->sh->has_psk) {
                k->resumed = true;
                k->resumption = TD_RES_PSK;
            }
            if (c->ee.m != NULL) /* decrypted EncryptedExtensions say it (RFC 8446 4.2.10) */
                k->early_data = f->ch->has_early_data && c->ee.m->has_early_data;
            else
                k->early_data = f->ch->has_early_data && k->resumed && f->hc->enc_records > 0 &&
                                f->enc13_srv_before_cli == 0;
            k->round_trips = (uint8_t)(1 + (k->hello_retry ? 1 : 0));
        } else {
            bool sid_echo = f->ch->session_id_len > 0 && f->sh->session_id_len == f->ch->session_id_len &&
                            memcmp(f->ch->session_id, f->sh->session_id, f->ch->session_id_len) == 0;
            bool abbreviated = c->cert[f->sep].m == NULL && f->hs->ccs && c->ske.m == NULL && c->shd_frame == 0;
            if (sid_echo || abbreviated) {
                k->resumed = abbreviated || sid_echo;
                k->resumption = (f->ch->has_session_ticket && f->ch->session_ticket_len > 0) ? TD_RES_TICKET : TD_RES_SESSION_ID;
            }
            k->round_trips = k->resumed ? 1 : 2;
        }
        k->mutual = c->cr.m != NULL && f->client_cert_sent;
        if (f->tls13 && !f->keys13 && !k->mutual && f->enc13_cli_first != NULL && f->enc13_cli_flight >= 3 && f->enc13_cli_first->len >= 200)
            k->mutual = true; /* a certificate-sized first record in the client's flight */
        if (f->sh_ev != NULL && f->ch_ev != NULL) {
            const struct td_event *chl = f->ch_ev;
            if (c->ch2.m != NULL)
                chl = NULL;
            if (chl != NULL && f->sh_ev->ts_ns >= chl->ts_ns) {
                k->has_think = true;
                k->think_ns = f->sh_ev->ts_ns - chl->ts_ns;
            }
        }
    }
}

/* The plaintext phase before TLS was refused (lib/timeline/upgrade.c): a
 * server answering STARTTLS/STLS/AUTH TLS/SSLRequest negatively, or a proxy
 * refusing CONNECT/SOCKS.  Project codes (docs/contract.md, additions). */
static void upgrade_refused(const struct facts *f, struct td_verdict *v)
{
    const struct td_upgrade_info *u = &f->c->upgrade;
    bool tunnel = u->proto == TD_UPG_HTTP_CONNECT || u->proto == TD_UPG_SOCKS4 || u->proto == TD_UPG_SOCKS5;
    const char *pn = td_upg_proto_str(u->proto);
    struct td_diagnosis *d;

    v->shown = true;
    v->outcome = TD_OUT_FAILED;
    d = diag_add(v, tunnel ? "tunnel_refused" : "starttls_refused", TD_SEV_ERROR, tunnel ? TD_BY_MIDDLEBOX : TD_BY_SERVER,
                 TD_CONF_HIGH);
    if (tunnel) {
        diag_text(d->summary, sizeof(d->summary), "the proxy refused the tunnel (%s): %s", pn, u->reply);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The client asked the proxy for a tunnel (%s, frame %llu) and the proxy answered \"%s\" (frame %llu): no TLS "
                  "handshake took place. The failure is the proxy's policy, authentication or its connection to the target, not TLS.",
                  u->request, (unsigned long long)u->req_frame, u->reply, (unsigned long long)u->reply_frame);
        diag_text(d->fix, sizeof(d->fix), "Check the proxy's access rules and credentials for this target (curl -v -x PROXY URL shows its answer), and that the target is reachable from the proxy.");
    } else {
        diag_text(d->summary, sizeof(d->summary), "the server refused to start TLS (%s): %s", pn, u->reply);
        diag_text(d->explanation, sizeof(d->explanation),
                  "The client asked to upgrade the %s session to TLS (%s, frame %llu) and the server answered \"%s\" "
                  "(frame %llu): TLS is not enabled or not offered to this client, so TLS was not started.",
                  pn, u->request, (unsigned long long)u->req_frame, u->reply, (unsigned long long)u->reply_frame);
        if (f->ch_ev != NULL) /* the client went on regardless (openssl s_client -starttls does) */
            diag_text(d->explanation, sizeof(d->explanation),
                      "The client asked to upgrade the %s session to TLS (%s, frame %llu) and the server answered \"%s\" "
                      "(frame %llu): TLS is not enabled or not offered to this client. The client sent its ClientHello "
                      "anyway (frame %llu); the server did not answer it in TLS.",
                      pn, u->request, (unsigned long long)u->req_frame, u->reply, (unsigned long long)u->reply_frame,
                      (unsigned long long)f->ch_ev->frame);
        diag_text(d->fix, sizeof(d->fix), "Enable TLS on the server for this service (certificate and key configured; e.g. Postfix smtpd_tls_security_level, Dovecot ssl = yes, PostgreSQL ssl = on), or connect to its implicit-TLS port.");
    }
    diag_ev(d, u->req_frame, u->req_ts_ns, TD_FROM_CLIENT, "%s request: %s", pn, u->request);
    diag_ev(d, u->reply_frame, u->reply_ts_ns, TD_FROM_SERVER, "%s answer: %s", pn, u->reply);
    if (f->ch_ev != NULL) {
        /* the client went on with TLS although it was refused */
        if (tunnel) {
            size_t n = strnlen(d->explanation, sizeof(d->explanation));
            snprintf(d->explanation + n, sizeof(d->explanation) - n,
                     " The client sent its ClientHello anyway (frame %llu); the proxy did not answer it in TLS.",
                     (unsigned long long)f->ch_ev->frame);
        }
        ev_ch(d, f);
    }
}

void td_rules_run(struct td_verdict *v, const struct td_conn *c, const struct td_rules_opts *o)
{
    struct facts f;
    bool tls = c->half[0].tls || c->half[1].tls;
    bool closed;

    /* the diagnoses are cleared one by one as diag_add hands them out */
    memset(v, 0, offsetof(struct td_verdict, d));
    facts_init(&f, c, o);
    handshake_kind(&f, v);
    closed = f.srv_rst || f.srv_fin || f.cli_rst || f.cli_fin || f.alert;

    /* refused, and no TLS answer (a client may send its hello regardless) */
    if (c->upgrade.state == TD_UPGS_REFUSED && f.sh == NULL && !f.established) {
        upgrade_refused(&f, v);
        return;
    }
    if (!tls && f.any_payload) {
        v->outcome = TD_OUT_NOT_TLS;
        v->shown = false;
        return;
    }
    v->shown = tls || (f.syn != NULL || f.synack != NULL);
    /* no SYN, no bytes: the tail of a connection the capture did not see
     * begin (a late FIN or ACK after its flow ended); nothing to judge */
    if (!v->shown && !f.any_payload) {
        v->outcome = TD_OUT_PARTIAL;
        return;
    }
    if (tls && f.ch == NULL && f.sh == NULL && (f.hc->midstream || f.hs->midstream)) {
        v->outcome = TD_OUT_PARTIAL;
        return;
    }
    if (f.established) {
        v->outcome = TD_OUT_OK;
        http_rejection(&f, v);
        warnings(&f, v);
        rules_certs(&f, v);
        decryption_note(&f, v);
        return;
    }
    for (size_t i = 0; i < sizeof(failure_rules) / sizeof(failure_rules[0]); i++) {
        if (failure_rules[i].fn(&f, v)) {
            /* an open connection with no ClientHello yet has not failed:
             * the capture (a server-side one, typically) just shows no hello */
            v->outcome = (!closed && strcmp(v->d[0].code, "no_client_hello") == 0) ? TD_OUT_INCOMPLETE : TD_OUT_FAILED;
            rules_certs(&f, v);
            decryption_note(&f, v);
            break;
        }
    }
    if (v->num == 0) {
        struct td_diagnosis *d;
        if (!closed && f.ch != NULL) {
            v->outcome = TD_OUT_INCOMPLETE;
            int64_t after = c->end_ts_ns - c->ch_ts_ns;
            d = diag_add(v, "capture_incomplete", TD_SEV_INFO, TD_BY_CAPTURE, TD_CONF_HIGH);
            diag_text(d->summary, sizeof(d->summary), "the capture ends during the handshake");
            if (f.srv_first_tls == NULL && f.hs->payload_bytes == 0 && after >= 0 && after < SILENT_MIN_NS)
                diag_text(d->explanation, sizeof(d->explanation),
                          "No failure signal and no completed handshake were captured: the capture ends %.3f ms after the "
                          "ClientHello (frame %llu), with nothing from the server yet. Too soon to call the server silent; "
                          "a capture file cut short ends like this too.",
                          (double)after / 1e6, (unsigned long long)(f.ch_ev ? f.ch_ev->frame : 0));
            else
                diag_text(d->explanation, sizeof(d->explanation), "No failure signal and no completed handshake were captured: the connection was still open, or quiet, when the capture stopped.");
            diag_text(d->fix, sizeof(d->fix), "Capture for longer, or start the capture before the client connects.");
            add_close_ev(d, &f);
            return;
        }
        if (!closed && f.ch == NULL) {
            v->outcome = TD_OUT_INCOMPLETE;
            return;
        }
        v->outcome = TD_OUT_FAILED;
        d = diag_add(v, "unknown", TD_SEV_ERROR, TD_BY_UNKNOWN, TD_CONF_LOW);
        {
            /* our own cap cut what could be read: say so, never blame a side */
            const struct td_event *lim = NULL;
            for (uint32_t i = 0; i < c->num_events && lim == NULL; i++)
                if (c->events[i].kind == TD_EV_LIMIT)
                    lim = &c->events[i];
            if (lim != NULL) {
                const char *n = td_anomaly_name(lim->len);
                diag_text(d->summary, sizeof(d->summary), "the handshake failed; tlsdiag's own limit (%s) kept it from reading what was sent",
                          n ? n : "limit");
                diag_text(d->explanation, sizeof(d->explanation),
                          "A cap of tlsdiag (docs/limits.md) was reached at frame %llu, so part of the handshake was not parsed; "
                          "this is not evidence against either side.", (unsigned long long)lim->frame);
                diag_text(d->fix, sizeof(d->fix),
                          "Read the capture again with a larger cap (--max-handshake, --max-reassembly, --max-flows, --max-memory) if the sizes are plausible; "
                          "a message that large is itself suspicious.");
                diag_ev_event(d, &f, lim);
            } else {
                diag_text(d->summary, sizeof(d->summary), "the handshake failed and nothing tlsdiag knows explains it");
                diag_text(d->explanation, sizeof(d->explanation), "See the timeline; please report this capture.");
                diag_text(d->fix, sizeof(d->fix), "Capture at both ends and compare.");
            }
        }
        add_close_ev(d, &f);
    }
}
