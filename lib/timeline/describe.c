/* describe.c: one line of text for a timeline event or a ClientHello,
 * shared by the rules' evidence and both renderers.
 *
 * The text is built with a small bounded appender instead of snprintf: the
 * JSON report describes every event of every connection, and printf's
 * format parsing was most of that cost.  The appender truncates exactly as
 * snprintf does (at len - 1 bytes, always NUL terminated when len > 0), and
 * a NULL string reads "(null)" as glibc's %s does. */
#include <stdio.h>
#include <string.h>

#include "tlsdiag/wbuf.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/registry.h"

struct sb {
    char *b;
    size_t cap; /* the caller's len: room for cap - 1 bytes and the NUL */
    size_t n;
};

static void sb_put(struct sb *s, const char *p, size_t n)
{
    size_t room;

    if (s->cap == 0)
        return;
    room = s->cap - 1 - s->n;
    if (n > room)
        n = room;
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

/* sb_lit: a literal; when it fits, a copy of known size (inlined) */
#define sb_lit(s, lit)                                          \
    do {                                                        \
        if ((s)->n + sizeof(lit) <= (s)->cap) {                 \
            memcpy((s)->b + (s)->n, "" lit, sizeof(lit) - 1);   \
            (s)->n += sizeof(lit) - 1;                          \
        } else {                                                \
            sb_put((s), "" lit, sizeof(lit) - 1);               \
        }                                                       \
    } while (0)

static void sb_puts(struct sb *s, const char *p)
{
    if (p == NULL)
        p = "(null)";
    sb_put(s, p, strlen(p));
}

static void sb_u(struct sb *s, unsigned v)
{
    char t[24], *b = td_u64_digits(t + sizeof(t), v);
    sb_put(s, b, (size_t)(t + sizeof(t) - b));
}

/* "0x%04x" of a 16-bit value */
static void sb_hex16(struct sb *s, uint16_t v)
{
    static const char hexd[] = "0123456789abcdef";
    char t[6] = {'0', 'x', hexd[v >> 12], hexd[(v >> 8) & 0xf], hexd[(v >> 4) & 0xf], hexd[v & 0xf]};
    sb_put(s, t, sizeof(t));
}

static size_t sb_end(struct sb *s)
{
    if (s->cap != 0)
        s->b[s->n] = '\0';
    return s->n;
}

static void sb_init(struct sb *s, char *b, size_t len)
{
    s->b = b;
    s->cap = len;
    s->n = 0;
}

/* Pre-standard TLS 1.3 versions print short ("TLS 1.3d23" draft 23,
 * "TLS 1.3fb26" Facebook Fizz draft 26, "TLS 1.3e1" Google experiment 1):
 * callers pass 16-byte buffers; JSON's tls.version_detail has the long name. */
static size_t version_fmt(uint16_t v, char *buf, size_t len)
{
    const char *s = td_version_str(v);
    struct sb o;

    sb_init(&o, buf, len);
    if (v == 0x0300) {
        sb_lit(&o, "SSL 3.0");
    } else if (v == 0x0002 || v == 0x0200) {
        sb_lit(&o, "SSL 2.0");
    } else if (s != NULL) {
        sb_lit(&o, "TLS ");
        sb_puts(&o, s);
    } else if (td_version_draft13(v, buf, len) != NULL) { /* writes buf: rewritten here */
        if ((v & 0xff00) == 0x7f00)
            sb_lit(&o, "TLS 1.3d");
        else if ((v & 0xff00) == 0xfb00)
            sb_lit(&o, "TLS 1.3fb");
        else
            sb_lit(&o, "TLS 1.3e");
        sb_u(&o, (unsigned)(v & 0xff)); /* fits the callers' 16 bytes */
    } else {
        sb_hex16(&o, v);
    }
    return sb_end(&o);
}

const char *td_version_fmt(uint16_t v, char *buf, size_t len)
{
    version_fmt(v, buf, len);
    return buf;
}

const char *td_alert_fmt(uint8_t desc, char *buf, size_t len)
{
    const char *n = td_reg_name(TD_REG_ALERT, desc);
    struct sb o;

    sb_init(&o, buf, len);
    if (n != NULL)
        sb_puts(&o, n);
    else
        sb_lit(&o, "alert");
    sb_lit(&o, "(");
    sb_u(&o, desc);
    sb_lit(&o, ")");
    sb_end(&o);
    return buf;
}

static void ch_what(struct sb *o, const struct td_client_hello *ch)
{
    char v[16];
    size_t vn;
    uint16_t maxv = ch->legacy_version;
    for (uint16_t i = 0; i < ch->versions.n; i++)
        if (!td_is_grease(ch->versions.v[i]) && ch->versions.v[i] > maxv && ch->versions.v[i] <= 0x0304)
            maxv = ch->versions.v[i];
    vn = version_fmt(maxv, v, sizeof(v));
    sb_lit(o, "ClientHello ");
    sb_put(o, v, vn);
    if (ch->sslv2_format)
        sb_lit(o, " (SSLv2 format)");
    sb_lit(o, ", ");
    sb_u(o, ch->total_ciphers);
    sb_lit(o, " cipher suites, ");
    if (ch->has_sni && ch->sni_len == 0) {
        sb_lit(o, "SNI (empty)"); /* the extension names nothing */
    } else if (ch->has_sni) {
        sb_lit(o, "SNI ");
        sb_puts(o, ch->sni);
    } else {
        sb_lit(o, "no SNI");
    }
    if (!ch->has_extensions)
        sb_lit(o, ", no extensions");
}

size_t td_ch_what(const struct td_client_hello *ch, char *buf, size_t len)
{
    struct sb o;
    sb_init(&o, buf, len);
    ch_what(&o, ch);
    return sb_end(&o);
}

static const char *hs_name(uint8_t t)
{
    switch (t) {
    case TD_HS_HELLO_REQUEST: return "HelloRequest";
    case TD_HS_CLIENT_HELLO: return "ClientHello";
    case TD_HS_SERVER_HELLO: return "ServerHello";
    case TD_HS_NEW_SESSION_TICKET: return "NewSessionTicket";
    case TD_HS_ENCRYPTED_EXTENSIONS: return "EncryptedExtensions";
    case TD_HS_CERTIFICATE: return "Certificate";
    case TD_HS_SERVER_KEY_EXCHANGE: return "ServerKeyExchange";
    case TD_HS_CERTIFICATE_REQUEST: return "CertificateRequest";
    case TD_HS_SERVER_HELLO_DONE: return "ServerHelloDone";
    case TD_HS_CERTIFICATE_VERIFY: return "CertificateVerify";
    case TD_HS_CLIENT_KEY_EXCHANGE: return "ClientKeyExchange";
    case TD_HS_FINISHED: return "Finished";
    case TD_HS_CERTIFICATE_STATUS: return "CertificateStatus";
    case TD_HS_KEY_UPDATE: return "KeyUpdate";
    default: return NULL;
    }
}

static const char *alert_level(uint8_t l) { return l == 2 ? "fatal" : l == 1 ? "warning" : "level?"; }

/* " (N bytes)" or " (N bytes, decrypted)" */
static void bytes_tail(struct sb *o, uint32_t len, bool decrypted)
{
    sb_lit(o, " (");
    sb_u(o, len);
    if (decrypted)
        sb_lit(o, " bytes, decrypted)");
    else
        sb_lit(o, " bytes)");
}

static void event_what(struct sb *o, const struct td_conn *c, const struct td_event *e)
{
    char a[48], v[16];
    const char *n;

    switch ((enum td_ev_kind)e->kind) {
    case TD_EV_SYN:
        sb_lit(o, "SYN ttl=");
        sb_u(o, e->ttl);
        return;
    case TD_EV_SYNACK:
        sb_lit(o, "SYN-ACK ttl=");
        sb_u(o, e->ttl);
        return;
    case TD_EV_FIN:
        sb_lit(o, "FIN ttl=");
        sb_u(o, e->ttl);
        return;
    case TD_EV_RST:
        if (e->has_ipid) {
            sb_lit(o, "RST ttl=");
            sb_u(o, e->ttl);
            sb_lit(o, " ipid=");
            sb_hex16(o, e->ipid);
        } else {
            sb_lit(o, "RST hlim=");
            sb_u(o, e->ttl);
        }
        sb_lit(o, " win=");
        sb_u(o, e->window);
        return;
    case TD_EV_RETRANS:
        sb_lit(o, "retransmission (");
        sb_u(o, e->len);
        sb_lit(o, " bytes)");
        return;
    case TD_EV_ZERO_WINDOW:
        sb_lit(o, "zero window");
        return;
    case TD_EV_GAP:
        sb_u(o, e->len);
        sb_lit(o, " bytes missing from the capture");
        return;
    case TD_EV_FRAGMENT:
        sb_lit(o, "IP fragment");
        return;
    case TD_EV_HANDSHAKE:
        if (e->hs_type == TD_HS_CLIENT_HELLO && c->ch.m != NULL && c->ch.frame == e->frame && e->ep == c->ch.ep) {
            ch_what(o, c->ch.m);
            return;
        }
        if (e->hs_type == TD_HS_SERVER_HELLO && c->sh.m != NULL && c->sh.frame == e->frame && e->ep == c->sh.ep) {
            char cs[64];
            size_t vn = version_fmt(c->sh.m->selected_version, v, sizeof(v));
            size_t cn = td_reg_fmt_n(TD_REG_CIPHER, c->sh.m->cipher, cs, sizeof(cs));
            sb_lit(o, "ServerHello ");
            sb_put(o, v, vn);
            sb_lit(o, " ");
            sb_put(o, cs, cn);
            return;
        }
        n = hs_name(e->hs_type);
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
            sb_lit(o, "EncryptedExtensions");
            if (ee->has_alpn) {
                sb_lit(o, " ALPN ");
                sb_puts(o, alpn);
            }
            if (ee->has_early_data)
                sb_lit(o, ", early_data accepted");
            else if (c->ch.m != NULL && c->ch.m->has_early_data)
                sb_lit(o, ", early_data rejected");
            bytes_tail(o, e->len, true);
            return;
        }
        if (e->decrypted && e->hs_type == TD_HS_CERTIFICATE && c->cert[e->ep].m != NULL &&
            c->cert[e->ep].frame == e->frame) {
            sb_lit(o, "Certificate, ");
            sb_u(o, c->cert[e->ep].m->total_certs);
            sb_lit(o, " certificate(s)");
            bytes_tail(o, e->len, true);
            return;
        }
        if (n != NULL) {
            sb_puts(o, n);
        } else {
            sb_lit(o, "handshake type ");
            sb_u(o, e->hs_type);
        }
        bytes_tail(o, e->len, n != NULL && e->decrypted);
        return;
    case TD_EV_CCS:
        sb_lit(o, "ChangeCipherSpec");
        return;
    case TD_EV_ALERT:
        if (e->encrypted && !e->decrypted) {
            sb_lit(o, "encrypted Alert (");
            sb_u(o, e->len);
            sb_lit(o, " bytes)");
            return;
        }
        sb_lit(o, "Alert ");
        sb_puts(o, alert_level(e->alert_level));
        sb_lit(o, " ");
        sb_puts(o, td_alert_fmt(e->alert_desc, a, sizeof(a)));
        if (e->decrypted)
            sb_lit(o, " (decrypted)");
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
                sb_lit(o, "application data (");
                sb_u(o, e->len);
                sb_lit(o, " bytes, decrypted): \"");
                sb_puts(o, p);
                sb_lit(o, "\"");
            } else {
                sb_u(o, e->count);
                sb_lit(o, " application data record");
                if (e->count != 1)
                    sb_lit(o, "s");
                bytes_tail(o, e->len, true);
            }
            return;
        }
        if (e->count > 1) {
            sb_u(o, e->count);
            if (e->ct == TD_CT_APPLICATION_DATA)
                sb_lit(o, " encrypted application_data records");
            else
                sb_lit(o, " encrypted handshake records");
        } else if (e->ct == TD_CT_APPLICATION_DATA) {
            sb_lit(o, "encrypted application_data record");
        } else if (e->ct == TD_CT_HANDSHAKE) {
            sb_lit(o, "encrypted handshake record");
        } else {
            sb_lit(o, "encrypted other record");
        }
        bytes_tail(o, e->len, false);
        return;
    case TD_EV_UPGRADE_REQ:
        sb_puts(o, td_upg_proto_str(c->upgrade.proto));
        sb_lit(o, " plaintext: ");
        sb_puts(o, c->upgrade.request);
        return;
    case TD_EV_UPGRADE_REPLY:
        sb_puts(o, td_upg_proto_str(c->upgrade.proto));
        sb_lit(o, " plaintext answer: ");
        sb_puts(o, c->upgrade.reply);
        if (c->upgrade.state == TD_UPGS_ACCEPTED)
            sb_lit(o, " (accepted, TLS follows)");
        else
            sb_lit(o, " (refused)");
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
        sb_lit(o, "non-TLS bytes \"");
        sb_puts(o, p);
        sb_lit(o, "\"");
        return;
    }
    case TD_EV_SSL2:
        sb_lit(o, "SSLv2 record");
        return;
    case TD_EV_ACK_OF_CH:
        sb_lit(o, "ACK of the whole ClientHello");
        return;
    case TD_EV_LIMIT: {
        const char *lim = td_anomaly_name(e->len);
        sb_lit(o, "tlsdiag's own limit reached: ");
        sb_puts(o, lim ? lim : "limit");
        sb_lit(o, " (docs/limits.md)");
        return;
    }
    }
    sb_lit(o, "event ");
    sb_u(o, e->kind);
}

size_t td_event_what(const struct td_conn *c, const struct td_event *e, char *buf, size_t len)
{
    struct sb o;
    sb_init(&o, buf, len);
    event_what(&o, c, e);
    return sb_end(&o);
}
