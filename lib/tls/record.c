/* record.c: record headers (RFC 8446 5.1, RFC 5246 6.2.1, RFC 6101 E.1)
 * and alerts (RFC 8446 6). */
#include "tlsdiag/tls.h"

#include <stddef.h>

#define TD_REC_MAX_LEN (16384 + 2048) /* TLSCiphertext.length limit (RFC 5246 6.2.3) */

static void rec_note(struct td_diag *d, enum td_anomaly code, size_t off)
{
    if (d != NULL)
        td_diag_add(d, code, 0, off);
}

/* peek reads byte |i| of |c| (0 when absent; callers check lengths first). */
static uint8_t peek(const struct td_cur *c, size_t i)
{
    uint8_t b = 0;

    if (!td_cur_peek_u8(c, i, &b))
        return 0;
    return b;
}

/* SSLv2 record header (RFC 6101 E.1, draft-hickman-netscape-ssl-00):
 *   2-byte form: 1LLLLLLL LLLLLLLL            (no padding)
 *   3-byte form: 0ELLLLLL LLLLLLLL PPPPPPPP   (E = escape, P = padding)
 * followed by CLIENT-HELLO: msg_type(1) = 1, version(2).
 * Random bytes are easily mistaken for this, so both the message type and a
 * version major of 0 (SSL 2.0) or 3 (an SSLv2-compatible hello for SSL 3.0
 * and later) are required. */
static enum td_rec_res ssl2_header(struct td_record_hdr *h, const struct td_cur *s,
                                   struct td_diag *d)
{
    uint8_t b0 = peek(s, 0);
    size_t hdr_len = (b0 & 0x80) ? 2 : 3;
    uint8_t major;

    /* judge the bytes that are there before asking for more */
    if (td_cur_len(s) > hdr_len && peek(s, hdr_len) != TD_HS_CLIENT_HELLO) {
        rec_note(d, TD_AN_NOT_TLS, s->off);
        return TD_REC_NOT_TLS;
    }
    major = peek(s, hdr_len + 1);
    if (td_cur_len(s) > hdr_len + 1 && major != 0 && major != 3) {
        rec_note(d, TD_AN_NOT_TLS, s->off);
        return TD_REC_NOT_TLS;
    }
    if (td_cur_len(s) < hdr_len + 3)
        return TD_REC_NEED;
    h->type = TD_CT_SSL2;
    h->version = 0x0002;
    h->hdr_len = (uint8_t)hdr_len;
    if (hdr_len == 2)
        h->len = ((uint32_t)(b0 & 0x7f) << 8) | peek(s, 1);
    else
        h->len = ((uint32_t)(b0 & 0x3f) << 8) | peek(s, 1);
    if (h->len < 3) { /* cannot hold the msg type and version just read */
        rec_note(d, TD_AN_NOT_TLS, s->off);
        return TD_REC_NOT_TLS;
    }
    return TD_REC_OK;
}

/* RFC 8446 5.1:
 *   struct {
 *       ContentType type;
 *       ProtocolVersion legacy_record_version;
 *       uint16 length;
 *       opaque fragment[TLSPlaintext.length];
 *   } TLSPlaintext;
 * Partial headers are judged as far as they go, so that a stream that
 * cannot be TLS is rejected at its first byte. */
enum td_rec_res td_record_header(struct td_record_hdr *h, const struct td_cur *stream,
                                 bool allow_ssl2, struct td_diag *d)
{
    struct td_cur c = *stream;
    uint8_t type;
    uint16_t version;
    uint16_t len;

    h->type = 0;
    h->version = 0;
    h->len = 0;
    h->hdr_len = 0;
    if (td_cur_empty(&c))
        return TD_REC_NEED;
    type = peek(&c, 0);
    if (type < TD_CT_CHANGE_CIPHER_SPEC || type > TD_CT_HEARTBEAT) {
        if (allow_ssl2)
            return ssl2_header(h, &c, d);
        rec_note(d, TD_AN_REC_BAD_TYPE, c.off);
        return TD_REC_NOT_TLS;
    }
    if (td_cur_len(&c) >= 2 && peek(&c, 1) != 3) {
        rec_note(d, TD_AN_REC_BAD_VERSION, c.off + 1);
        return TD_REC_NOT_TLS;
    }
    if (td_cur_len(&c) >= 3 && peek(&c, 2) > 4) {
        rec_note(d, TD_AN_REC_BAD_VERSION, c.off + 1);
        return TD_REC_NOT_TLS;
    }
    if (td_cur_len(&c) < 5)
        return TD_REC_NEED;
    if (!td_cur_skip(&c, 1) || !td_cur_get_u16(&c, &version) || !td_cur_get_u16(&c, &len))
        return TD_REC_NEED; /* unreachable: 5 bytes are there */
    h->type = type;
    h->version = version;
    h->len = len;
    h->hdr_len = 5;
    if (len > TD_REC_MAX_LEN)
        rec_note(d, TD_AN_REC_OVERFLOW, stream->off + 3);
    /* RFC 8446 5.1: no zero-length handshake, alert or CCS fragments
     * (application data may be empty in TLS 1.2 and earlier). */
    if (len == 0 && type != TD_CT_APPLICATION_DATA)
        rec_note(d, TD_AN_REC_EMPTY, stream->off + 3);
    return TD_REC_OK;
}

/* RFC 8446 6:
 *   enum { warning(1), fatal(2), (255) } AlertLevel;
 *   struct { AlertLevel level; AlertDescription description; } Alert;
 * Fewer than two bytes is malformed.  An unknown level is recorded as
 * ALERT_MALFORMED but the alert is still returned (TD_OK): the description
 * is what the peer meant.  Bytes after the alert are left in |body| for the
 * caller (a record may carry several alerts). */
enum td_status td_parse_alert(struct td_alert *a, struct td_cur *body, struct td_diag *d)
{
    a->level = 0;
    a->description = 0;
    if (td_cur_len(body) < 2)
        return td_malformed(d, TD_AN_ALERT_MALFORMED, 0, body);
    if (!td_cur_get_u8(body, &a->level) || !td_cur_get_u8(body, &a->description))
        return td_malformed(d, TD_AN_ALERT_MALFORMED, 0, body);
    if (a->level != 1 && a->level != 2)
        td_diag_add(d, TD_AN_ALERT_MALFORMED, 0, body->off - 2);
    return TD_OK;
}
