/* conn.h: one TCP connection's handshake, as facts (lib/timeline).
 *
 * The engine (td_engine) runs the pipeline below the rules:
 *   packets -> decode -> flow table -> per-direction TCP reassembly
 *   -> TLS records -> handshake messages -> this struct + its timeline.
 * Nothing here judges: outcome and diagnoses are filled by lib/rules.
 *
 * Directions: endpoints are stored in the order first seen (ep 0, ep 1);
 * |client| says which one is the client (the side that sent the
 * ClientHello, else the SYN, else the higher port).  Events record the
 * endpoint that sent them; td_conn_from() maps that to client/server. */
#ifndef TLSDIAG_CONN_H
#define TLSDIAG_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "tlsdiag/capture.h"
#include "tlsdiag/diag.h"
#include "tlsdiag/tls.h"

enum td_from { TD_FROM_CLIENT = 0, TD_FROM_SERVER = 1 };

enum td_ev_kind {
    TD_EV_SYN,
    TD_EV_SYNACK,
    TD_EV_FIN,
    TD_EV_RST,
    TD_EV_RETRANS,     /* a retransmitted data segment (len = bytes) */
    TD_EV_ZERO_WINDOW,
    TD_EV_GAP,         /* bytes missing from the capture (len = bytes) */
    TD_EV_FRAGMENT,    /* an IP fragment of this flow */
    TD_EV_HANDSHAKE,   /* a plaintext handshake message (hs_type, len) */
    TD_EV_CCS,
    TD_EV_ALERT,       /* alert_level/alert_desc; encrypted if unreadable */
    TD_EV_ENCRYPTED,   /* encrypted record(s): content type ct, count, len */
    TD_EV_NOT_TLS,     /* bytes that are not TLS; preview in conn */
    TD_EV_SSL2,        /* an SSLv2 record other than CLIENT-HELLO */
    TD_EV_ACK_OF_CH,   /* the server acknowledged the whole ClientHello */
    TD_EV_LIMIT,       /* one of our caps was hit (anomaly code in len) */
    TD_EV_UPGRADE_REQ, /* plaintext phase: STARTTLS / CONNECT / SOCKS request (conn->upgrade) */
    TD_EV_UPGRADE_REPLY /* plaintext phase: the server's or proxy's answer (conn->upgrade) */
};

struct td_event {
    uint64_t frame;
    int64_t ts_ns;     /* absolute capture time */
    uint8_t ep;        /* sender endpoint (0/1) */
    uint8_t kind;      /* enum td_ev_kind */
    uint8_t hs_type;   /* TD_EV_HANDSHAKE */
    uint8_t ct;        /* record content type for TD_EV_ENCRYPTED */
    uint8_t alert_level, alert_desc;
    bool encrypted;
    bool decrypted;    /* read from a record decrypted with logged keys */
    uint8_t ttl;       /* IP TTL / hop limit of the packet */
    bool has_ipid;
    uint16_t ipid;
    uint16_t window;
    uint16_t version;  /* record version */
    uint32_t len;      /* message/record/segment length */
    uint32_t count;    /* records merged into this event */
};

struct td_alert_rec {
    uint64_t frame;
    int64_t ts_ns;
    uint8_t ep;
    uint8_t level;      /* 0 when encrypted and unreadable */
    uint8_t desc;
    bool encrypted;     /* unreadable: level and desc unknown */
    bool decrypted;     /* sent encrypted, read with logged keys (level/desc known) */
    uint32_t len;       /* record length (an encrypted alert's size) */
};

/* Decryption state of one direction (enum values of td_half.decrypt) */
enum td_decrypt_state {
    TD_DECRYPT_NONE = 0,     /* no key log, or nothing to decrypt yet */
    TD_DECRYPT_KEYS,         /* keys installed, no record decrypted yet */
    TD_DECRYPT_OK,           /* records decrypted */
    TD_DECRYPT_NO_SECRET,    /* the key log has no secret for this connection */
    TD_DECRYPT_FAILED,       /* a record did not authenticate: wrong or stale key */
    TD_DECRYPT_UNSUPPORTED   /* a cipher suite or version we cannot decrypt */
};
const char *td_decrypt_state_str(uint8_t st);

#define TD_MAX_ALERTS 8
#define TD_PREVIEW_LEN 48
#define TD_APP_PREVIEW_LEN 512  /* decrypted application data bytes kept per direction */

/* Per-endpoint facts.  Reassembly and TLS stream state live in the engine. */
struct td_half {
    bool syn, synack, fin, rst;
    uint8_t first_ttl;       /* TTL of the first packet from this side */
    uint8_t syn_ttl;         /* TTL of its SYN or SYN-ACK */
    bool has_syn_ipid;
    uint16_t syn_ipid;
    uint16_t syn_window;
    uint32_t syn_count;      /* SYNs (or SYN-ACKs) sent, retransmissions included */
    uint64_t payload_bytes;  /* TCP payload bytes seen (retransmissions excluded) */
    uint64_t packets;
    uint32_t retrans;        /* retransmitted data segments */
    uint32_t gaps;
    bool midstream;          /* its first bytes were not captured */
    bool tls;                /* it sent at least one TLS/SSL record */
    bool not_tls;            /* it sent bytes that are not TLS */
    bool encrypted;          /* its records are encrypted from now on */
    uint32_t records;
    uint32_t enc_records;    /* encrypted records (handshake, alert, data) */
    uint64_t app_bytes;      /* application data record bytes */
    uint8_t preview_len;
    uint8_t preview[TD_PREVIEW_LEN]; /* first bytes when not TLS */
    bool ccs;                /* sent ChangeCipherSpec */
    uint64_t ccs_frame;
    bool finished;           /* a Finished was seen or inferred */
    uint64_t finished_frame; /* a decrypted or clear Finished (0 if inferred) */
    /* decryption with logged keys */
    uint8_t decrypt;         /* enum td_decrypt_state */
    uint32_t dec_records;    /* records decrypted */
    uint32_t key_updates;    /* KeyUpdate messages (TLS 1.3) */
    uint32_t early_skipped;  /* 0-RTT records the server (and we) could not read */
    uint64_t app_frame;      /* first decrypted application data */
    uint16_t app_preview_len;
    uint8_t app_preview[TD_APP_PREVIEW_LEN]; /* its first bytes (peer bytes: escape) */
};

/* The plaintext phase before TLS (STARTTLS, tunnels): lib/timeline/upgrade.c */
enum td_upg_proto {
    TD_UPG_NONE, TD_UPG_SMTP, TD_UPG_IMAP, TD_UPG_POP3, TD_UPG_FTP, TD_UPG_XMPP, TD_UPG_LDAP,
    TD_UPG_POSTGRES, TD_UPG_HTTP_CONNECT, TD_UPG_SOCKS4, TD_UPG_SOCKS5
};
enum td_upg_state {
    TD_UPGS_NONE,      /* the protocol was seen, no upgrade requested */
    TD_UPGS_REQUESTED, /* request sent, no answer yet */
    TD_UPGS_ACCEPTED,
    TD_UPGS_REFUSED
};
struct td_upgrade_info {
    uint8_t proto;           /* enum td_upg_proto */
    uint8_t state;           /* enum td_upg_state */
    uint64_t req_frame, reply_frame;
    int64_t req_ts_ns, reply_ts_ns;
    uint32_t plain_bytes[2]; /* plaintext bytes by endpoint before its TLS */
    char request[64];        /* the request, printable ("STARTTLS", "CONNECT host:443") */
    char reply[80];          /* the answer, printable ("220 2.0.0 Ready", "HTTP/1.1 403") */
};
const char *td_upg_proto_str(uint8_t proto); /* "smtp", "http_connect", ... */
const char *td_upg_state_str(uint8_t state); /* "requested", "accepted", "refused", "none" */

/* A message kept with the frame that completed it. */
#define TD_MSG(T) struct { T *m; uint64_t frame; int64_t ts_ns; uint8_t ep; }

struct td_conn {
    uint64_t id;             /* 1-based, in order of first packet */
    uint8_t ipver;
    uint8_t addr[2][16];
    uint16_t port[2];
    uint8_t client;          /* endpoint index of the client */
    bool client_known;       /* decided by a ClientHello or SYN */
    uint64_t first_frame, last_frame;
    /* where it ended: the number of the packet at which it was closed
     * (UINT64_MAX at the end of input) and at which step of that packet
     * (TD_END_*, engine_int.h); with last_frame, the order of ends */
    uint64_t end_frame;
    uint8_t end_phase;
    int64_t first_ts_ns, last_ts_ns;
    int64_t end_ts_ns;        /* the capture clock when it was closed: at the end
                               * of input, the capture's last packet */
    int64_t capture_start_ns; /* first packet of the capture, for relative times */
    struct td_half half[2];
    uint16_t vlan_depth;
    bool fragments;

    /* TLS messages, owned */
    TD_MSG(struct td_client_hello) ch;        /* first ClientHello */
    TD_MSG(struct td_client_hello) ch2;       /* ClientHello after HRR */
    uint32_t num_ch;
    TD_MSG(struct td_server_hello) hrr;
    TD_MSG(struct td_server_hello) sh;
    TD_MSG(struct td_certificate) cert[2];   /* by endpoint */
    TD_MSG(struct td_certificate_request) cr;
    TD_MSG(struct td_server_key_exchange) ske;
    TD_MSG(struct td_new_session_ticket) nst;
    TD_MSG(struct td_encrypted_extensions) ee;   /* TLS 1.3, decrypted */
    bool keylog;             /* a key log was given (file or pcapng secrets) */
    uint64_t shd_frame, cke_frame, cv_frame, cs_frame;
    uint32_t ch_retrans;     /* retransmissions of ClientHello segments */
    uint64_t ch_last_frame;  /* frame that completed the ClientHello */
    int64_t ch_ts_ns;
    uint64_t ch_acked_frame; /* server ACK covering the whole ClientHello */
    int64_t ch_acked_ts_ns;
    uint32_t ch_segments;    /* TCP segments that carried the ClientHello */
    uint32_t ch_retrans_max_len; /* largest client segment retransmitted before the ACK of the hello */

    uint8_t num_alerts, total_alerts;
    struct td_alert_rec alerts[TD_MAX_ALERTS];

    uint32_t num_events, total_events, cap_events;
    struct td_event *events; /* owned */

    struct td_diag anomalies;    /* from all layers of this connection */
    uint32_t ended_by;           /* internal: why the engine closed it */
    bool evicted;                /* closed early by the flow cap */
    struct td_upgrade_info upgrade; /* proto TD_UPG_NONE when TLS started at once */
};

static inline enum td_from td_conn_from(const struct td_conn *c, uint8_t ep)
{
    return ep == c->client ? TD_FROM_CLIENT : TD_FROM_SERVER;
}
static inline uint8_t td_conn_ep(const struct td_conn *c, enum td_from f)
{
    return f == TD_FROM_CLIENT ? c->client : (uint8_t)(1 - c->client);
}

void td_conn_free(struct td_conn *c);

/* td_event_what / td_ch_what: one line of text describing an event or a
 * ClientHello ("ClientHello TLS 1.2, 2 cipher suites, no SNI"), truncated
 * to len - 1 bytes as snprintf does; they return the length written. */
size_t td_event_what(const struct td_conn *c, const struct td_event *e, char *buf, size_t len);
size_t td_ch_what(const struct td_client_hello *ch, char *buf, size_t len);
/* "TLS 1.2", "SSL 3.0", or "0xNNNN" */
const char *td_version_fmt(uint16_t v, char *buf, size_t len);
/* "handshake_failure(40)" or "alert(NNN)" */
const char *td_alert_fmt(uint8_t desc, char *buf, size_t len);

/* ---- the engine ---- */

struct td_limits {
    uint32_t max_flows;          /* open flows; the oldest idle is evicted */
    uint32_t reasm_bytes;        /* out-of-order bytes buffered per direction */
    uint32_t hs_msg_max;         /* largest handshake message */
    uint32_t max_records;        /* records one handshake message may span */
    uint32_t max_certs;          /* certificates kept per chain (<= TD_MAX_CERTS; 0: that) */
    uint32_t max_events;         /* timeline events kept per connection */
    uint32_t max_extensions;     /* extension types kept per message (<= TD_MAX_U16_LIST; 0: that) */
    uint32_t max_anomalies;      /* anomalies kept per connection (<= TD_DIAG_MAX; 0: that) */
    uint32_t idle_timeout_s;     /* capture-time idle before a flow is closed */
    size_t max_memory;           /* bytes held by open flows (0: no cap); over it
                                    the flows idle longest are evicted */
};
void td_limits_default(struct td_limits *l);

struct td_stats {
    uint64_t packets, bytes, tcp_packets, non_tcp, fragments, malformed, unknown_link;
    uint64_t flows, tls_flows, evicted, limit_hits;
    uint64_t evicted_memory;     /* of |evicted|: by max_memory */
    uint64_t peak_memory;        /* largest accounted engine memory, bytes */
    uint32_t open_flows, peak_flows;
};

/* td_conn_done_fn receives each finished connection; it owns it afterwards
 * (free with td_conn_free). */
typedef void (*td_conn_done_fn)(void *ctx, struct td_conn *c);

struct td_engine;
struct td_engine *td_engine_new(const struct td_limits *l, td_conn_done_fn done, void *ctx);
/* td_engine_packet runs one captured packet through the pipeline. */
void td_engine_packet(struct td_engine *e, const struct td_pkt *pkt);
/* td_engine_advance: time has moved on to |now_ns| without packets (live
 * capture): close the flows that are due. */
void td_engine_advance(struct td_engine *e, int64_t now_ns);
/* td_engine_flush closes every open flow (end of input), oldest first. */
void td_engine_flush(struct td_engine *e);
void td_engine_stats(const struct td_engine *e, struct td_stats *s);
void td_engine_free(struct td_engine *e);
/* td_engine_set_keylog: decrypt with the secrets in |kl| (not owned; it may
 * gain entries between packets, e.g. from pcapng Decryption Secrets
 * Blocks).  Keys are looked up by ClientHello.random when a connection
 * needs them: at a TLS 1.3 ServerHello, its Finished messages, and a TLS
 * <= 1.2 ChangeCipherSpec.  NULL: no decryption. */
struct td_keylog;
void td_engine_set_keylog(struct td_engine *e, const struct td_keylog *kl);
/* td_engine_set_plaintext: the records that keys would protect already hold
 * their plaintext, with the inner content type in the record header (a
 * synthetic capture made from a dump that printed decrypted messages, as
 * tlsdiag decode makes): they are read as decrypted records. */
void td_engine_set_plaintext(struct td_engine *e, bool on);

#endif
