/* stream.h (internal): one direction's TLS byte stream -> records ->
 * handshake messages, with a consumed/needed contract and a cap per stage.
 *
 * Information goes up through |struct td_tls_sink|; the stream never calls
 * into the timeline.  The upper layer tells the stream when the direction
 * becomes encrypted (td_tls_stream_set_encrypted), because only it knows the
 * negotiated version (a TLS 1.3 compatibility-mode ChangeCipherSpec does not
 * mean the next handshake record is encrypted). */
#ifndef TD_TLS_STREAM_H
#define TD_TLS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/cur.h"
#include "tlsdiag/decrypt.h"
#include "tlsdiag/diag.h"
#include "tlsdiag/tls.h"

struct td_tls_sink {
    void *ctx;
    /* a whole plaintext handshake message; |body| views the reassembly buffer */
    void (*handshake)(void *ctx, uint8_t type, struct td_cur *body, uint16_t rec_version);
    /* an SSLv2-framed CLIENT-HELLO; |body| starts at the message type byte */
    void (*sslv2_hello)(void *ctx, struct td_cur *body);
    void (*alert)(void *ctx, uint8_t level, uint8_t desc, uint16_t rec_version);
    /* an encrypted record of content type |ct| and body length |len| */
    void (*encrypted)(void *ctx, uint8_t ct, uint32_t len, uint16_t rec_version);
    void (*ccs)(void *ctx, uint16_t rec_version);
    /* the direction does not speak TLS; |p| holds its first bytes */
    void (*not_tls)(void *ctx, const uint8_t *p, size_t n);
    void (*anomaly)(void *ctx, enum td_anomaly code, uint64_t stream_off);
    /* decrypted application data (|p| views the record's plaintext) */
    void (*app_data)(void *ctx, const uint8_t *p, size_t n);
    /* a record could not be decrypted with the keys in |rx|: |res| says
     * why, |ct|/|len| are its outer type and length.  The record is then
     * also reported through |encrypted|, as any unreadable record. */
    void (*decrypt_failed)(void *ctx, enum td_unprotect res, uint8_t ct, uint32_t len, uint64_t stream_off);
};

enum td_tls_state { TD_TS_HEADER, TD_TS_BODY, TD_TS_RESYNC, TD_TS_DEAD };

struct td_tls_stream {
    enum td_tls_state state;
    bool started;            /* a record header was accepted */
    bool allow_ssl2;         /* first bytes may be an SSLv2 CLIENT-HELLO */
    bool encrypted;
    bool stop_after_encrypted; /* skip bodies once encrypted (speed) */
    uint8_t hdr[5];
    uint8_t hdr_have;
    struct td_record_hdr rec;
    uint32_t body_have;
    bool keep_body;          /* body is copied (handshake/alert/ssl2) */
    uint8_t *body;           /* record body buffer, cap 64 KiB + 5 */
    uint32_t body_cap;
    uint8_t *hs;             /* handshake reassembly */
    uint32_t hs_len, hs_cap, hs_max;
    uint32_t hs_skip;        /* bytes of an over-cap message still to skip */
    uint64_t off;            /* stream offset of the next byte */
    uint32_t resync_scanned;
    uint32_t resync_pos; /* window offsets before it are ruled out for good */
    uint32_t records;
    uint32_t max_records;    /* records one handshake message may span
                                (TD_TLS_MAX_RECORDS unless the owner sets it) */
    uint32_t hs_records;     /* records the buffered message spans so far */
    /* Decryption: the upper layer points |rx| at this direction's read
     * keys (it owns them) and may change them from inside a sink call (a
     * Finished or KeyUpdate switches keys for the next record).  While
     * the sink hears about a decrypted record, |decrypted_now| is true. */
    struct td_rec_cipher *rx;
    /* tried when |rx| fails to authenticate a record: the keys the sender
     * may have moved to (a 0-RTT client's handshake keys after early data
     * the server rejected); on success it becomes |rx| */
    struct td_rec_cipher *rx_next;
    bool decrypted_now;
    uint8_t *plain;          /* plaintext of one record, cap REC_BODY_CAP */
    uint32_t plain_cap;
    uint32_t decrypted;      /* records decrypted */
};

#define TD_TLS_MAX_RECORDS 16384u

void td_tls_stream_init(struct td_tls_stream *s, uint32_t hs_max, bool allow_ssl2);
void td_tls_stream_cleanup(struct td_tls_stream *s);
/* td_tls_stream_feed consumes all |len| bytes (buffering partial records). */
void td_tls_stream_feed(struct td_tls_stream *s, const uint8_t *p, size_t len,
                        const struct td_tls_sink *sink);
/* td_tls_stream_gap: |n| bytes are missing.  A gap stops TLS parsing of the
 * direction unless the bytes fall inside an encrypted record body we skip. */
void td_tls_stream_gap(struct td_tls_stream *s, uint64_t n, const struct td_tls_sink *sink);
/* td_tls_stream_midstream: the start was not captured; look for the first
 * record boundary instead of judging the first bytes. */
void td_tls_stream_midstream(struct td_tls_stream *s);
void td_tls_stream_set_encrypted(struct td_tls_stream *s, bool on);
/* td_tls_stream_set_keys: decrypt this direction's protected records with
 * |rx| (NULL: stop).  |rx| must outlive the stream or be unset. */
void td_tls_stream_set_keys(struct td_tls_stream *s, struct td_rec_cipher *rx);
/* td_tls_stream_set_next_keys: keys to try when |rx| fails (NULL: none). */
void td_tls_stream_set_next_keys(struct td_tls_stream *s, struct td_rec_cipher *next);

#endif
