/* stream.c: one direction's bytes -> TLS records -> handshake messages.
 *
 * Three stages, each with its own cap (docs/limits.md):
 *   bytes   -> record header (5 bytes, or an SSLv2 2-byte header)
 *   records -> bodies we need (handshake, alert, CCS, SSLv2 hello) copied into
 *              a 64 KiB + header buffer; other bodies (application data,
 *              encrypted records) are only counted and skipped, never copied
 *   records -> handshake messages, reassembled across records up to hs_max
 * The first bytes of a direction decide whether it speaks TLS at all: a
 * header that cannot be TLS makes the direction "not TLS" (with a preview of
 * its bytes) unless the capture started mid-stream, in which case we look
 * for the first record boundary that chains to the next one. */
#include "stream.h"
#include "tlsdiag/alloc.h"

#include <stdlib.h>
#include <string.h>

#define REC_BODY_CAP (65535u + 8u)
#define RESYNC_CAP (64u * 1024u)
#define RESYNC_GIVE_UP (1024u * 1024u)

void td_tls_stream_init(struct td_tls_stream *s, uint32_t hs_max, bool allow_ssl2)
{
    memset(s, 0, sizeof(*s));
    s->state = TD_TS_HEADER;
    s->hs_max = hs_max;
    s->allow_ssl2 = allow_ssl2;
    s->max_records = TD_TLS_MAX_RECORDS;
}

void td_tls_stream_cleanup(struct td_tls_stream *s)
{
    td_pool_free(s->body, s->body_cap);
    td_pool_free(s->hs, s->hs_cap);
    td_pool_free(s->plain, s->plain_cap);
    s->body = NULL;
    s->hs = NULL;
    s->plain = NULL;
    s->body_cap = s->hs_cap = s->hs_len = s->plain_cap = 0;
}

void td_tls_stream_set_encrypted(struct td_tls_stream *s, bool on) { s->encrypted = on; }

void td_tls_stream_set_keys(struct td_tls_stream *s, struct td_rec_cipher *rx) { s->rx = rx; }

void td_tls_stream_set_next_keys(struct td_tls_stream *s, struct td_rec_cipher *next) { s->rx_next = next; }

/* will_decrypt: the record now starting is protected and we hold keys for
 * it.  TLS 1.3 protects only records with outer type application_data
 * (RFC 8446 5.2; a clear alert or CCS may still come, e.g. a client that
 * fails before switching keys); TLS <= 1.2 protects every record after the
 * sender's ChangeCipherSpec. */
static bool will_decrypt(const struct td_tls_stream *s, uint8_t type)
{
    if (!s->encrypted || s->rx == NULL || !s->rx->active)
        return false;
    if (s->rx->mode == TD_CM_AEAD13)
        return type == TD_CT_APPLICATION_DATA;
    return type == TD_CT_ALERT || type == TD_CT_HANDSHAKE || type == TD_CT_APPLICATION_DATA;
}

void td_tls_stream_midstream(struct td_tls_stream *s)
{
    if (s->state == TD_TS_HEADER && s->hdr_have == 0 && !s->started) {
        s->state = TD_TS_RESYNC;
        s->allow_ssl2 = false;
    }
}

static void anomaly(const struct td_tls_sink *k, enum td_anomaly code, uint64_t off)
{
    if (k->anomaly != NULL)
        k->anomaly(k->ctx, code, off);
}

static void go_dead(struct td_tls_stream *s)
{
    s->state = TD_TS_DEAD;
    td_tls_stream_cleanup(s);
}

static bool grow(uint8_t **buf, uint32_t *cap, uint32_t need, uint32_t max)
{
    uint32_t ncap;
    uint8_t *nb;

    if (need <= *cap)
        return true;
    if (need > max)
        return false;
    ncap = *cap ? *cap : 1024;
    while (ncap < need)
        ncap = ncap > max / 2 ? max : ncap * 2;
    /* pooled: a connection's buffers are the same few sizes (1, 2, 4 KB...) */
    nb = td_pool_grow(*buf, *cap, ncap);
    if (nb == NULL)
        return false;
    *buf = nb;
    *cap = ncap;
    return true;
}

/* hs_whole hands up the handshake messages at the front of |frag| that are
 * whole and within the cap, as the buffered path below would with them
 * copied to the start of the empty buffer: each message's cursor starts at
 * offset 0 (its type byte), its body at 4.  Stops at the first message
 * that is cut short or over the cap, which the buffered path handles. */
static void hs_whole(struct td_tls_stream *s, struct td_cur *frag, uint16_t rec_version,
                     const struct td_tls_sink *k)
{
    for (;;) {
        struct td_cur peek = *frag, msg, all, body;
        uint8_t type;
        uint32_t mlen;

        if (!td_cur_get_u8(&peek, &type) || !td_cur_get_u24(&peek, &mlen) || mlen > s->hs_max ||
            td_cur_len(&peek) < mlen)
            return;
        if (!td_cur_get_bytes(frag, &msg, 4 + (size_t)mlen))
            return;
        td_cur_init(&all, msg.p, td_cur_len(&msg));
        if (!td_cur_skip(&all, 4) || !td_cur_get_bytes(&all, &body, mlen))
            return; /* cannot happen: measured above */
        if (k->handshake != NULL)
            k->handshake(k->ctx, type, &body, rec_version);
    }
}

/* RFC 8446 section 4:  struct { HandshakeType msg_type; uint24 length;
 * select (msg_type) {...}; } Handshake;  Messages may span records and a
 * record may hold several messages. */
static void hs_append(struct td_tls_stream *s, struct td_cur *frag, uint16_t rec_version,
                      const struct td_tls_sink *k)
{
    while (!td_cur_empty(frag)) {
        size_t n;

        if (s->hs_skip > 0) {
            n = td_cur_len(frag) < s->hs_skip ? td_cur_len(frag) : s->hs_skip;
            if (!td_cur_skip(frag, n))
                return;
            s->hs_skip -= (uint32_t)n;
            continue;
        }
        n = td_cur_len(frag);
        if (!grow(&s->hs, &s->hs_cap, s->hs_len + (uint32_t)n, s->hs_max + 4)) {
            /* More handshake bytes than the biggest message we keep: drop
             * what is buffered and say so. */
            anomaly(k, TD_AN_LIMIT_HS_MSG, s->off);
            s->hs_len = 0;
            return;
        }
        if (s->hs_len == 0) {
            /* nothing buffered: the messages this fragment holds whole are
             * handed up from it in place; only a message that goes on in
             * the next record is copied (the buffer was sized above all the
             * same, as the memory accounting expects) */
            hs_whole(s, frag, rec_version, k);
            n = td_cur_len(frag);
            if (n == 0)
                continue;
        }
        if (!td_cur_copy(frag, s->hs + s->hs_len, n))
            return;
        s->hs_len += (uint32_t)n;

        for (;;) {
            struct td_cur all, body;
            uint8_t type;
            uint32_t mlen;

            td_cur_init(&all, s->hs, s->hs_len);
            if (!td_cur_get_u8(&all, &type) || !td_cur_get_u24(&all, &mlen))
                break;
            if (mlen > s->hs_max) {
                anomaly(k, TD_AN_LIMIT_HS_MSG, s->off);
                /* skip the rest of this message as it arrives; the buffer
                 * never holds more than hs_max + 4 bytes, so it is short */
                s->hs_skip = mlen - (uint32_t)td_cur_len(&all);
                s->hs_len = 0;
                break;
            }
            if (!td_cur_get_bytes(&all, &body, mlen))
                break; /* needs more records */
            if (k->handshake != NULL)
                k->handshake(k->ctx, type, &body, rec_version);
            /* the sink may have switched us to encrypted: remaining bytes
             * of this record are then still plaintext handshake (they were
             * sent in the same record), so keep extracting. */
            {
                size_t rest = td_cur_len(&all);
                if (rest != 0)
                    memmove(s->hs, s->hs + (s->hs_len - rest), rest);
                s->hs_len = (uint32_t)rest;
            }
        }
    }
}

/* alerts_plausible: a record of several alerts in clear is legal but rare;
 * when we did not see the ChangeCipherSpec (capture started mid-connection)
 * an encrypted alert looks the same, so take it as clear only when every
 * level is warning(1) or fatal(2). */
static bool alerts_plausible(const struct td_cur *body)
{
    struct td_cur c = *body;
    uint8_t level, desc;

    while (!td_cur_empty(&c)) {
        if (!td_cur_get_u8(&c, &level) || !td_cur_get_u8(&c, &desc))
            return false;
        if (level != 1 && level != 2)
            return false;
    }
    return true;
}

/* dispatch hands one record's body up by content type: a clear record, or
 * the plaintext of a decrypted one (|kept| false: the body was not copied). */
static void dispatch(struct td_tls_stream *s, const struct td_tls_sink *k, uint8_t type, uint16_t version,
                     uint32_t len, struct td_cur *body, bool kept)
{
    if (type != TD_CT_HANDSHAKE && s->hs_len > 0 && type != TD_CT_SSL2)
        anomaly(k, TD_AN_HS_INTERLEAVED, s->off);

    switch (type) {
    case TD_CT_SSL2:
        if (k->sslv2_hello != NULL)
            k->sslv2_hello(k->ctx, body);
        break;
    case TD_CT_HANDSHAKE:
        if (!kept) {
            if (k->encrypted != NULL)
                k->encrypted(k->ctx, type, len, version);
            break;
        }
        /* A message cut into ever smaller records (1-byte records are a
         * known DPI evasion) costs work per record: cap the records one
         * message may span, then skip the rest of that message. */
        if (s->hs_len > 0 && ++s->hs_records > s->max_records) {
            struct td_cur all;
            uint8_t hs_type;
            uint32_t mlen;

            anomaly(k, TD_AN_LIMIT_RECORDS, s->off);
            td_cur_init(&all, s->hs, s->hs_len);
            if (td_cur_get_u8(&all, &hs_type) && td_cur_get_u24(&all, &mlen) && mlen >= td_cur_len(&all))
                s->hs_skip = mlen - (uint32_t)td_cur_len(&all);
            s->hs_len = 0;
            s->hs_records = 0;
        }
        if (s->hs_len == 0)
            s->hs_records = 1;
        hs_append(s, body, version, k);
        break;
    case TD_CT_ALERT:
        if (kept && (len == 2 || (len > 0 && len % 2 == 0 && (!s->encrypted || s->decrypted_now) &&
                                  alerts_plausible(body)))) {
            while (!td_cur_empty(body)) {
                uint8_t level, desc;
                if (!td_cur_get_u8(body, &level) || !td_cur_get_u8(body, &desc))
                    break;
                if (k->alert != NULL)
                    k->alert(k->ctx, level, desc, version);
            }
            break;
        }
        if (!s->encrypted || s->decrypted_now)
            anomaly(k, TD_AN_ALERT_MALFORMED, body->off);
        if (k->encrypted != NULL)
            k->encrypted(k->ctx, type, len, version);
        break;
    case TD_CT_CHANGE_CIPHER_SPEC: {
        uint8_t v = 0;
        if (len != 1 || !td_cur_peek_u8(body, 0, &v) || v != 1)
            anomaly(k, TD_AN_CCS_MALFORMED, body->off);
        if (k->ccs != NULL)
            k->ccs(k->ctx, version);
        break;
    }
    case TD_CT_APPLICATION_DATA:
        if (s->decrypted_now && k->app_data != NULL) {
            k->app_data(k->ctx, body->p, td_cur_len(body));
            break;
        }
        if (k->encrypted != NULL)
            k->encrypted(k->ctx, type, len, version);
        break;
    default:
        if (s->decrypted_now)
            anomaly(k, TD_AN_REC_BAD_TYPE, body->off);
        if (k->encrypted != NULL)
            k->encrypted(k->ctx, type, len, version);
        break;
    }
}

/* record_done hands up the record whose body is at |bp| (s->body, or the
 * caller's input when the whole body arrived in one piece). */
static void record_done(struct td_tls_stream *s, const struct td_tls_sink *k, const uint8_t *bp)
{
    const struct td_record_hdr *h = &s->rec;
    struct td_cur body;

    s->records++;
    td_cur_init(&body, bp, s->keep_body ? h->len : 0);
    body.off = (size_t)(s->off - h->len);

    if (s->keep_body && h->hdr_len == 5 && will_decrypt(s, h->type)) {
        size_t plen = 0;
        uint8_t inner = 0;
        enum td_unprotect r = TD_UNP_ERROR;

        if (grow(&s->plain, &s->plain_cap, h->len > 0 ? h->len : 1, REC_BODY_CAP))
            r = td_rec_unprotect(s->rx, h->type, h->version, bp, h->len, s->plain, &plen, &inner);
        if (r == TD_UNP_BAD_RECORD && s->rx_next != NULL && s->rx_next->active &&
            td_rec_unprotect(s->rx_next, h->type, h->version, bp, h->len, s->plain, &plen, &inner) ==
                TD_UNP_OK) {
            s->rx = s->rx_next;
            s->rx_next = NULL;
            r = TD_UNP_OK;
        }
        if (r == TD_UNP_OK) {
            struct td_cur pt;
            td_cur_init(&pt, s->plain, plen);
            pt.off = body.off;
            s->decrypted++;
            s->decrypted_now = true;
            dispatch(s, k, inner, h->version, (uint32_t)plen, &pt, true);
            s->decrypted_now = false;
            return;
        }
        if (k->decrypt_failed != NULL)
            k->decrypt_failed(k->ctx, r, h->type, h->len, body.off);
        /* unreadable after all: report it as any encrypted record */
        if (k->encrypted != NULL)
            k->encrypted(k->ctx, h->type, h->len, h->version);
        return;
    }
    if (!s->keep_body && h->hdr_len == 5 && will_decrypt(s, h->type)) {
        /* keys arrived while this record's body went by uncopied (a live
         * key log): the record is lost to us, the sequence is not (TLS 1.0
         * CBC chains its IV through it: nothing more can be read) */
        if (s->rx->mode == TD_CM_CBC && s->rx->version < 0x0302)
            s->rx->active = false;
        else
            s->rx->seq++;
    }
    dispatch(s, k, h->type, h->version, h->len, &body, s->keep_body);
}

/* body_maybe_done: once the whole body is in, hand the record up and wait
 * for the next header (unless the record made the direction dead). */
static void body_maybe_done(struct td_tls_stream *s, const struct td_tls_sink *k, const uint8_t *bp)
{
    if (s->body_have != s->rec.len)
        return;
    record_done(s, k, bp);
    if (s->state == TD_TS_BODY)
        s->state = TD_TS_HEADER;
}

/* header_ready judges s->hdr once enough bytes are in: returns false when
 * more bytes are needed. */
static bool header_ready(struct td_tls_stream *s, const struct td_tls_sink *k,
                         const uint8_t *rest, size_t rest_len)
{
    struct td_cur c;
    struct td_diag d;
    enum td_rec_res r;

    d.n = 0; /* only recs[0 .. n) are ever read */
    d.total = 0;

    td_cur_init(&c, s->hdr, s->hdr_have);
    r = td_record_header(&s->rec, &c, s->allow_ssl2 && !s->started, &d);
    if (r == TD_REC_NEED && s->hdr_have < 5)
        return false;
    if (r != TD_REC_OK) {
        uint8_t prev[48];
        size_t n = s->hdr_have, m = rest_len;
        memcpy(prev, s->hdr, n);
        if (m > sizeof(prev) - n)
            m = sizeof(prev) - n;
        td_memcpy(prev + n, rest, m);
        if (k->not_tls != NULL)
            k->not_tls(k->ctx, prev, n + m);
        go_dead(s);
        return true;
    }
    for (uint32_t i = 0; i < d.n; i++)
        anomaly(k, (enum td_anomaly)d.recs[i].code, s->off - s->hdr_have + d.recs[i].off);
    s->started = true;
    s->state = TD_TS_BODY;
    s->body_have = 0;
    s->keep_body = s->rec.type == TD_CT_SSL2 || s->rec.type == TD_CT_CHANGE_CIPHER_SPEC ||
                   s->rec.type == TD_CT_ALERT ||
                   (s->rec.type == TD_CT_HANDSHAKE && !s->encrypted) || will_decrypt(s, s->rec.type);
    if (s->keep_body && !grow(&s->body, &s->body_cap, s->rec.len > 0 ? s->rec.len : 1, REC_BODY_CAP))
        s->keep_body = false;
    /* An SSLv2 header is 2 bytes but we looked at 5: the other 3 are body. */
    if (s->hdr_have > s->rec.hdr_len) {
        uint32_t extra = (uint32_t)(s->hdr_have - s->rec.hdr_len);
        if (extra > s->rec.len)
            extra = s->rec.len;
        if (s->keep_body)
            memcpy(s->body, s->hdr + s->rec.hdr_len, extra);
        s->body_have = extra;
    }
    s->hdr_have = 0;
    body_maybe_done(s, k, s->body);
    return true;
}

static void feed_records(struct td_tls_stream *s, struct td_cur *in, const struct td_tls_sink *k);

/* Mid-stream start: find an offset where a record header is followed,
 * exactly at the end of its body, by another plausible header (or by the end
 * of what we have).  Bytes before it are counted, not judged.
 *
 * An offset is ruled out for good once its header is implausible or the
 * header after its body is: those bytes never change.  Only an offset whose
 * body runs past the window waits for more bytes.  So each call goes on
 * from resync_pos instead of from the start of the window: a stream of
 * 1-byte segments used to rescan the whole window for every byte (20,000 of
 * them took 12 s, a 1 MiB stream hours). */
static void resync(struct td_tls_stream *s, struct td_cur *in, const struct td_tls_sink *k)
{
    size_t n = td_cur_len(in);
    uint32_t i;

    if (n > RESYNC_CAP - s->hs_len)
        n = RESYNC_CAP - s->hs_len;
    /* the resync window lives in the (still unused) handshake buffer */
    if (!grow(&s->hs, &s->hs_cap, s->hs_len + (uint32_t)n, RESYNC_CAP) ||
        !td_cur_copy(in, s->hs + s->hs_len, n)) {
        go_dead(s);
        return;
    }
    s->hs_len += (uint32_t)n;
    s->off += n;
    for (i = s->resync_pos; i + 5 <= s->hs_len; i++) {
        struct td_cur c, nx;
        struct td_record_hdr h, h2;
        struct td_diag d;
        size_t next;

        d.n = 0; /* td_record_header only adds; nothing below n is read */
        d.total = 0;
        td_cur_init(&c, s->hs + i, s->hs_len - i);
        if (td_record_header(&h, &c, false, &d) != TD_REC_OK || d.n != 0)
            continue;
        next = (size_t)i + h.hdr_len + h.len;
        if (next > s->hs_len)
            break; /* cannot check the chain yet: wait for more bytes */
        if (next + 5 <= s->hs_len) {
            td_cur_init(&nx, s->hs + next, s->hs_len - next);
            if (td_record_header(&h2, &nx, false, &d) != TD_REC_OK || d.n != 0)
                continue;
        }
        {
            /* found: replay the window from |i| through the normal path */
            uint32_t len = s->hs_len - i;
            uint8_t *win = td_malloc(len);
            struct td_cur w;
            if (win == NULL) {
                go_dead(s);
                return;
            }
            memcpy(win, s->hs + i, len);
            s->hs_len = 0;
            s->resync_pos = 0;
            s->state = TD_TS_HEADER;
            s->started = true;
            s->off -= len;
            td_cur_init(&w, win, len);
            feed_records(s, &w, k);
            free(win);
            return;
        }
    }
    s->resync_pos = i; /* where the loop stopped: waiting there, or the last 4 bytes */
    s->resync_scanned += (uint32_t)n;
    if (s->resync_scanned > RESYNC_GIVE_UP) {
        go_dead(s);
        return;
    }
    if (s->hs_len >= RESYNC_CAP) {
        /* keep the last 4 KiB: a header may straddle the window edge */
        uint32_t keep = 4096, drop = s->hs_len - keep;
        memmove(s->hs, s->hs + drop, keep);
        s->hs_len = keep;
        s->resync_pos = s->resync_pos > drop ? s->resync_pos - drop : 0;
    }
}

static void feed_records(struct td_tls_stream *s, struct td_cur *in, const struct td_tls_sink *k)
{
    while (!td_cur_empty(in)) {
        switch (s->state) {
        case TD_TS_DEAD:
            s->off += td_cur_len(in);
            return;
        case TD_TS_RESYNC:
            resync(s, in, k);
            break;
        case TD_TS_HEADER: {
            size_t want = 5u - s->hdr_have;
            size_t n = td_cur_len(in) < want ? td_cur_len(in) : want;
            if (!td_cur_copy(in, s->hdr + s->hdr_have, n))
                return;
            s->hdr_have = (uint8_t)(s->hdr_have + n);
            s->off += n;
            if (!header_ready(s, k, in->p, td_cur_len(in)))
                return; /* needs more bytes */
            break;
        }
        case TD_TS_BODY: {
            size_t want = s->rec.len - s->body_have;
            size_t n = td_cur_len(in) < want ? td_cur_len(in) : want;
            if (s->keep_body && s->body_have == 0 && n == want) {
                /* the whole body is here: read it in place, not copied
                 * (s->body stays sized for it, as the accounting expects) */
                struct td_cur whole;
                if (!td_cur_get_bytes(in, &whole, n))
                    return;
                s->body_have += (uint32_t)n;
                s->off += n;
                body_maybe_done(s, k, whole.p);
                break;
            }
            if (s->keep_body) {
                if (!td_cur_copy(in, s->body + s->body_have, n))
                    return;
            } else if (!td_cur_skip(in, n)) {
                return;
            }
            s->body_have += (uint32_t)n;
            s->off += n;
            body_maybe_done(s, k, s->body);
            break;
        }
        }
    }
}

void td_tls_stream_feed(struct td_tls_stream *s, const uint8_t *p, size_t len,
                        const struct td_tls_sink *k)
{
    struct td_cur in;

    td_cur_init(&in, p, len);
    feed_records(s, &in, k);
}

void td_tls_stream_gap(struct td_tls_stream *s, uint64_t n, const struct td_tls_sink *k)
{
    if (s->state == TD_TS_DEAD)
        return;
    if (s->state == TD_TS_BODY && s->keep_body && s->rec.hdr_len == 5 && will_decrypt(s, s->rec.type) &&
        s->rec.len - s->body_have >= n) {
        /* a hole inside a record we meant to decrypt: that record is lost,
         * the next ones are not (their nonce depends only on the sequence
         * number; TLS 1.0 CBC chains its IV through the lost record) */
        /* step the keys first: the sink may drop them (s->rx = NULL) */
        if (s->rx->mode == TD_CM_CBC && s->rx->version < 0x0302)
            s->rx->active = false;
        else
            s->rx->seq++;
        s->keep_body = false;
        if (k->decrypt_failed != NULL)
            k->decrypt_failed(k->ctx, TD_UNP_MALFORMED, s->rec.type, s->rec.len, s->off);
    }
    if (s->state == TD_TS_BODY && !s->keep_body && s->rec.len - s->body_have >= n) {
        /* the hole is inside an encrypted body we would skip anyway */
        s->body_have += (uint32_t)n;
        s->off += n;
        body_maybe_done(s, k, s->body);
        return;
    }
    anomaly(k, TD_AN_TCP_GAP, s->off);
    s->off += n;
    go_dead(s);
}
