/* describe.c: one line of text for a timeline event or a ClientHello,
 * shared by the rules' evidence and both renderers. */
#include <stdio.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/registry.h"

/* Pre-standard TLS 1.3 versions print short ("TLS 1.3d23" draft 23,
 * "TLS 1.3fb26" Facebook Fizz draft 26, "TLS 1.3e1" Google experiment 1):
 * callers pass 16-byte buffers; JSON's tls.version_detail has the long name. */
const char *td_version_fmt(uint16_t v, char *buf, size_t len)
{
    const char *s = td_version_str(v);
    if (v == 0x0300)
        snprintf(buf, len, "SSL 3.0");
    else if (v == 0x0002 || v == 0x0200)
        snprintf(buf, len, "SSL 2.0");
    else if (s != NULL)
        snprintf(buf, len, "TLS %s", s);
    else if ((v & 0xff00) == 0x7f00 && td_version_draft13(v, buf, len) != NULL)
        snprintf(buf, len, "TLS 1.3d%u", (unsigned)(v & 0xff)); /* fits the callers' 16 bytes */
    else if ((v & 0xff00) == 0xfb00 && td_version_draft13(v, buf, len) != NULL)
        snprintf(buf, len, "TLS 1.3fb%u", (unsigned)(v & 0xff));
    else if (td_version_draft13(v, buf, len) != NULL)
        snprintf(buf, len, "TLS 1.3e%u", (unsigned)(v & 0xff));
    else
        snprintf(buf, len, "0x%04x", v);
    return buf;
}

const char *td_alert_fmt(uint8_t desc, char *buf, size_t len)
{
    const char *n = td_reg_name(TD_REG_ALERT, desc);
    if (n != NULL)
        snprintf(buf, len, "%s(%u)", n, desc);
    else
        snprintf(buf, len, "alert(%u)", desc);
    return buf;
}

void td_ch_what(const struct td_client_hello *ch, char *buf, size_t len)
{
    char v[16];
    uint16_t maxv = ch->legacy_version;
    for (uint16_t i = 0; i < ch->versions.n; i++)
        if (!td_is_grease(ch->versions.v[i]) && ch->versions.v[i] > maxv && ch->versions.v[i] <= 0x0304)
            maxv = ch->versions.v[i];
    snprintf(buf, len, "ClientHello %s%s, %u cipher suites, %s%s%s", td_version_fmt(maxv, v, sizeof(v)),
             ch->sslv2_format ? " (SSLv2 format)" : "", ch->total_ciphers,
             ch->has_sni ? "SNI " : "no SNI", ch->has_sni ? ch->sni : "",
             ch->has_extensions ? "" : ", no extensions");
}

void td_event_what(const struct td_conn *c, const struct td_event *e, char *buf, size_t len)
{
    char a[48], v[16];
    const char *n;

    switch ((enum td_ev_kind)e->kind) {
    case TD_EV_SYN:
        snprintf(buf, len, "SYN ttl=%u", e->ttl);
        return;
    case TD_EV_SYNACK:
        snprintf(buf, len, "SYN-ACK ttl=%u", e->ttl);
        return;
    case TD_EV_FIN:
        snprintf(buf, len, "FIN ttl=%u", e->ttl);
        return;
    case TD_EV_RST:
        if (e->has_ipid)
            snprintf(buf, len, "RST ttl=%u ipid=0x%04x win=%u", e->ttl, e->ipid, e->window);
        else
            snprintf(buf, len, "RST hlim=%u win=%u", e->ttl, e->window);
        return;
    case TD_EV_RETRANS:
        snprintf(buf, len, "retransmission (%u bytes)", e->len);
        return;
    case TD_EV_ZERO_WINDOW:
        snprintf(buf, len, "zero window");
        return;
    case TD_EV_GAP:
        snprintf(buf, len, "%u bytes missing from the capture", e->len);
        return;
    case TD_EV_FRAGMENT:
        snprintf(buf, len, "IP fragment");
        return;
    case TD_EV_HANDSHAKE:
        if (e->hs_type == TD_HS_CLIENT_HELLO && c->ch.m != NULL && c->ch.frame == e->frame && e->ep == c->ch.ep) {
            td_ch_what(c->ch.m, buf, len);
            return;
        }
        if (e->hs_type == TD_HS_SERVER_HELLO && c->sh.m != NULL && c->sh.frame == e->frame && e->ep == c->sh.ep) {
            char cs[64];
            snprintf(buf, len, "ServerHello %s %s", td_version_fmt(c->sh.m->selected_version, v, sizeof(v)),
                     td_reg_fmt(TD_REG_CIPHER, c->sh.m->cipher, cs, sizeof(cs)));
            return;
        }
        n = NULL;
        switch (e->hs_type) {
        case TD_HS_HELLO_REQUEST: n = "HelloRequest"; break;
        case TD_HS_CLIENT_HELLO: n = "ClientHello"; break;
        case TD_HS_SERVER_HELLO: n = "ServerHello"; break;
        case TD_HS_NEW_SESSION_TICKET: n = "NewSessionTicket"; break;
        case TD_HS_ENCRYPTED_EXTENSIONS: n = "EncryptedExtensions"; break;
        case TD_HS_CERTIFICATE: n = "Certificate"; break;
        case TD_HS_SERVER_KEY_EXCHANGE: n = "ServerKeyExchange"; break;
        case TD_HS_CERTIFICATE_REQUEST: n = "CertificateRequest"; break;
        case TD_HS_SERVER_HELLO_DONE: n = "ServerHelloDone"; break;
        case TD_HS_CERTIFICATE_VERIFY: n = "CertificateVerify"; break;
        case TD_HS_CLIENT_KEY_EXCHANGE: n = "ClientKeyExchange"; break;
        case TD_HS_FINISHED: n = "Finished"; break;
        case TD_HS_CERTIFICATE_STATUS: n = "CertificateStatus"; break;
        case TD_HS_KEY_UPDATE: n = "KeyUpdate"; break;
        default: break;
        }
        if (n != NULL && e->hs_type == TD_HS_SERVER_HELLO && c->hrr.m != NULL && c->hrr.frame == e->frame)
            n = "HelloRetryRequest";
        if (e->hs_type == TD_HS_END_OF_EARLY_DATA)
            n = "EndOfEarlyData";
        if (e->decrypted && e->hs_type == TD_HS_ENCRYPTED_EXTENSIONS && c->ee.m != NULL && c->ee.frame == e->frame) {
            const struct td_encrypted_extensions *ee = c->ee.m;
            char alpn[TD_MAX_ALPN_LEN + 1];
            size_t i;
            for (i = 0; ee->has_alpn && i < ee->alpn.len; i++)
                alpn[i] = (ee->alpn.b[i] >= 0x20 && ee->alpn.b[i] < 0x7f) ? (char)ee->alpn.b[i] : '.';
            alpn[i] = 0;
            snprintf(buf, len, "EncryptedExtensions%s%s%s (%u bytes, decrypted)", ee->has_alpn ? " ALPN " : "",
                     ee->has_alpn ? alpn : "",
                     ee->has_early_data                                 ? ", early_data accepted"
                     : (c->ch.m != NULL && c->ch.m->has_early_data) ? ", early_data rejected"
                                                                         : "",
                     e->len);
            return;
        }
        if (e->decrypted && e->hs_type == TD_HS_CERTIFICATE && c->cert[e->ep].m != NULL &&
            c->cert[e->ep].frame == e->frame) {
            snprintf(buf, len, "Certificate, %u certificate(s) (%u bytes, decrypted)", c->cert[e->ep].m->total_certs,
                     e->len);
            return;
        }
        if (n != NULL && e->decrypted)
            snprintf(buf, len, "%s (%u bytes, decrypted)", n, e->len);
        else if (n != NULL)
            snprintf(buf, len, "%s (%u bytes)", n, e->len);
        else
            snprintf(buf, len, "handshake type %u (%u bytes)", e->hs_type, e->len);
        return;
    case TD_EV_CCS:
        snprintf(buf, len, "ChangeCipherSpec");
        return;
    case TD_EV_ALERT:
        if (e->decrypted) {
            snprintf(buf, len, "Alert %s %s (decrypted)",
                     e->alert_level == 2 ? "fatal" : e->alert_level == 1 ? "warning" : "level?",
                     td_alert_fmt(e->alert_desc, a, sizeof(a)));
            return;
        }
        if (e->encrypted)
            snprintf(buf, len, "encrypted Alert (%u bytes)", e->len);
        else
            snprintf(buf, len, "Alert %s %s", e->alert_level == 2 ? "fatal" : e->alert_level == 1 ? "warning" : "level?",
                     td_alert_fmt(e->alert_desc, a, sizeof(a)));
        return;
    case TD_EV_ENCRYPTED:
        if (e->decrypted) {
            const struct td_half *h = &c->half[e->ep];
            if (e->frame == h->app_frame && h->app_preview_len > 0) {
                /* the first line of the application data, printable bytes only */
                char p[64];
                size_t i;
                for (i = 0; i < h->app_preview_len && i + 1 < sizeof(p); i++) {
                    uint8_t b = h->app_preview[i];
                    if (b == '\r' || b == '\n')
                        break;
                    p[i] = (b >= 0x20 && b < 0x7f) ? (char)b : '.';
                }
                p[i] = 0;
                snprintf(buf, len, "application data (%u bytes, decrypted): \"%s\"", e->len, p);
            } else {
                snprintf(buf, len, "%u application data record%s (%u bytes, decrypted)", e->count,
                         e->count == 1 ? "" : "s", e->len);
            }
            return;
        }
        if (e->count > 1)
            snprintf(buf, len, "%u encrypted %s records (%u bytes)", e->count,
                     e->ct == TD_CT_APPLICATION_DATA ? "application_data" : "handshake", e->len);
        else
            snprintf(buf, len, "encrypted %s record (%u bytes)",
                     e->ct == TD_CT_APPLICATION_DATA ? "application_data" : e->ct == TD_CT_HANDSHAKE ? "handshake" : "other",
                     e->len);
        return;
    case TD_EV_UPGRADE_REQ:
        snprintf(buf, len, "%s plaintext: %s", td_upg_proto_str(c->upgrade.proto), c->upgrade.request);
        return;
    case TD_EV_UPGRADE_REPLY:
        snprintf(buf, len, "%s plaintext answer: %s (%s)", td_upg_proto_str(c->upgrade.proto), c->upgrade.reply,
                 c->upgrade.state == TD_UPGS_ACCEPTED ? "accepted, TLS follows" : "refused");
        return;
    case TD_EV_NOT_TLS: {
        const struct td_half *h = &c->half[e->ep];
        char p[TD_PREVIEW_LEN + 1];
        size_t i, n2 = h->preview_len;
        for (i = 0; i < n2 && i < 24; i++) {
            uint8_t b = h->preview[i];
            p[i] = (b >= 0x20 && b < 0x7f) ? (char)b : '.';
        }
        p[i] = 0;
        snprintf(buf, len, "non-TLS bytes \"%s\"", p);
        return;
    }
    case TD_EV_SSL2:
        snprintf(buf, len, "SSLv2 record");
        return;
    case TD_EV_ACK_OF_CH:
        snprintf(buf, len, "ACK of the whole ClientHello");
        return;
    case TD_EV_LIMIT: {
        const char *lim = td_anomaly_name(e->len);
        snprintf(buf, len, "tlsdiag's own limit reached: %s (docs/limits.md)", lim ? lim : "limit");
        return;
    }
    }
    snprintf(buf, len, "event %u", e->kind);
}

