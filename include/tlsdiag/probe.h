/* probe.h: `tlsdiag probe` -- diagnose a live server by differential
 * handshakes (lib/probe, the only networking code in the library).
 *
 *   build.c   our own ClientHello builder, the mirror of lib/tls/hello.c:
 *             any version SSL 3.0..TLS 1.3, SSLv2-compatible hellos, any
 *             cipher list, groups with real X25519/P-256/P-384/X448 key
 *             shares (libcrypto), signature algorithms, SNI, ALPN, GREASE,
 *             padding, session id/ticket, status_request.
 *   run.c     the runner: nonblocking sockets + poll, bounded parallelism,
 *             per-phase timeouts, a cap on bytes read.  Every exchange is
 *             recorded (bytes each way with times, FIN, RST, timeout) and
 *             replayed as synthetic TCP packets through td_engine + the
 *             rules, so a probe is judged exactly as `tlsdiag read` judges a
 *             capture.  Probes of kind TD_PROBE_SSL run a real libssl
 *             handshake over memory BIOs: the same recording, plus what
 *             libssl learnt (peer chain, OCSP staple, CertificateRequest,
 *             session reuse, HTTP answer).
 *   plan.c    the probe plan (versions, ciphers by elimination, groups,
 *             SNI differential, ALPN, client auth, chain, resumption) and
 *             the diagnoses drawn from the differences.
 *
 * Hooks for the other probe modules (lib/probe/clients.c, starttls.c):
 *   - td_probe.starttls: a plaintext phase run before the ClientHello (see
 *     td_starttls_fn); the runner calls it with the connected socket.
 *   - td_plan_result.clients: left empty here; filled by the client
 *     simulation, rendered as "clients" in JSON.
 *
 * lib/ never prints: results are structs; src/cmd_probe.c renders them.
 * Unlike the rest of lib/, this module talks to the network, so it reads a
 * monotonic clock (td_probe_opts.now_ns may replace it) and takes client
 * randoms, session ids and key shares from OpenSSL's RNG: a live probe is
 * not deterministic, the judgement of a recorded exchange is
 * (td_probe_classify). */
#ifndef TLSDIAG_PROBE_H
#define TLSDIAG_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/rules.h"
#include "tlsdiag/x509.h"

/* ---------------------------------------------------------------- builder */

#define TD_CH_MAX 16384u         /* largest hello we build (one record) */
#define TD_CH_MAX_ALPN 8
#define TD_CH_MAX_KEY_SHARES 5

/* Public key shares, generated once with libcrypto (X25519 0x001d, X448
 * 0x001e, secp256r1 0x0017, secp384r1 0x0018, secp521r1 0x0019).  Groups
 * without a generator here get no share (a server that wants them answers
 * with a HelloRetryRequest, which is itself a finding). */
struct td_keyshares {
    uint16_t n;
    struct { uint16_t group; uint16_t len; uint8_t pub[133]; } ks[5];
};
/* td_keyshares_init generates one key per supported group; returns 0, or -1
 * when libcrypto fails. */
int td_keyshares_init(struct td_keyshares *k);
/* td_keyshares_has: a share can be sent for |group|. */
bool td_keyshares_has(const struct td_keyshares *k, uint16_t group);

struct td_ch_spec {
    uint16_t record_version;     /* record header version; 0: min(legacy, 0x0301) */
    uint16_t legacy_version;     /* client_version (0x0303 for a 1.3 hello) */
    bool sslv2;                  /* SSLv2-compatible CLIENT-HELLO (RFC 6101 E.2): no extensions */
    const uint16_t *ciphers;
    uint16_t num_ciphers;
    const uint16_t *versions;    /* supported_versions (absent when 0) */
    uint16_t num_versions;
    const uint16_t *groups;      /* supported_groups (absent when 0) */
    uint16_t num_groups;
    const uint16_t *share_groups; /* key_share entries, <= TD_CH_MAX_KEY_SHARES; groups
                                     without a generated key are skipped */
    uint16_t num_share_groups;
    bool key_share_empty;        /* send an empty key_share (asks for an HRR) */
    const uint16_t *sig_algs;    /* signature_algorithms (absent when 0) */
    uint16_t num_sig_algs;
    const char *sni;             /* server_name (absent when NULL); any bytes */
    const char *alpn[TD_CH_MAX_ALPN];
    uint8_t num_alpn;
    bool grease;                 /* RFC 8701 values in ciphers, extensions, groups, versions */
    uint16_t pad_to;             /* padding extension so the handshake message is this long */
    bool ec_point_formats;       /* uncompressed only */
    bool ems;                    /* extended_master_secret */
    bool reneg_info;             /* empty renegotiation_info */
    bool session_ticket;         /* session_ticket extension (with |ticket| when given) */
    const uint8_t *ticket;
    uint16_t ticket_len;
    uint8_t session_id_len;      /* legacy_session_id (<= 32) */
    uint8_t session_id[32];
    bool status_request;         /* OCSP status_request */
    bool psk_modes;              /* psk_key_exchange_modes psk_dhe_ke */
    uint8_t random[32];          /* client random (the caller chooses it) */
};

/* td_ch_build writes one record (TLS or SSLv2 framing) carrying the
 * ClientHello into |out| and returns its length, or 0 when it does not fit
 * in |cap| (at most TD_CH_MAX + 5) or the spec is inconsistent (session id
 * over 32, too many ALPN names or key shares, an empty ALPN name).  |ks| may be
 * NULL (no key shares). */
size_t td_ch_build(const struct td_ch_spec *s, const struct td_keyshares *ks, uint8_t *out,
                   size_t cap);
/* td_ch_build_broken: the same, then forces the extensions block's length to
 * |forced| (fault injection, as td_buf_close_as in the style guide).
 * Returns 0 when the hello has no extensions block. */
size_t td_ch_build_broken(const struct td_ch_spec *s, const struct td_keyshares *ks,
                          uint8_t *out, size_t cap, uint16_t forced);

/* Cipher suites from the generated IANA registry that a hello of |version|
 * can carry: for TLS 1.3 the TLS_AES_ and TLS_CHACHA20_ suites; otherwise
 * every registered suite that is not TLS 1.3-only and not a signalling value.
 * Returns how many were written (at most |max|). */
uint16_t td_probe_suites(uint16_t version, uint16_t *out, uint16_t max);

/* ---------------------------------------------------------------- runner */

/* How one probe ended, from the engine's view of the exchange. */
enum td_probe_res {
    TD_PR_ACCEPTED,   /* ServerHello (or HelloRetryRequest) */
    TD_PR_ALERT,      /* the server sent an alert before its ServerHello */
    TD_PR_FIN,        /* the server closed without an alert */
    TD_PR_RST,        /* the connection was reset */
    TD_PR_TIMEOUT,    /* no (complete) answer in time */
    TD_PR_NOT_TLS,    /* the server answered with bytes that are not TLS */
    TD_PR_REFUSED,    /* TCP connect refused */
    TD_PR_UNREACHABLE,/* connect timed out or failed */
    TD_PR_ERROR       /* local error (out of memory, socket) */
};
const char *td_probe_res_str(enum td_probe_res r);

enum td_probe_kind { TD_PROBE_RAW, TD_PROBE_SSL };

/* One recorded segment of the exchange. */
struct td_seg {
    uint8_t from_server;
    int64_t t_ns;          /* since the connect started */
    uint32_t off, len;     /* into td_exchange.bytes */
};
enum td_end { TD_END_NONE, TD_END_FIN, TD_END_RST, TD_END_TIMEOUT, TD_END_REFUSED,
              TD_END_CONNECT_TIMEOUT, TD_END_CAP, TD_END_DONE, TD_END_ERROR };
struct td_exchange {
    uint32_t nseg, capseg;
    struct td_seg *segs;
    uint8_t *bytes;
    uint32_t nbytes, capbytes;
    enum td_end end;
    int64_t end_ns, connect_ns;
    bool hello_acked;      /* TCP_INFO said nothing unacked at the end */
    uint16_t server_port;  /* for the synthetic packets (0: 443) */
    uint8_t synack_ttl;    /* captured TTL / hop limit of the SYN-ACK (0: unknown) */
    uint8_t rst_ttl;       /* captured TTL of the RST that ended it (0: unknown) */
    bool impossible;       /* the server's framing cannot be TLS: a record over
                              2^14 + 2048 bytes, or a ServerHello header claiming
                              more than any ServerHello can hold */
};

/* What a TD_PROBE_SSL probe learnt through libssl. */
struct td_ssl_facts {
    bool handshake_ok;
    uint16_t version;
    uint16_t cipher;
    char alpn[64];
    bool cert_requested;           /* the client-certificate callback ran */
    uint16_t num_ca_names;
    char ca_names[4][128];         /* first acceptable CA names, one-line */
    uint8_t alert_recv;            /* last alert received (0 none) */
    bool alert_recv_seen;
    bool alert_after_handshake;    /* it came after the handshake completed */
    bool resumed;                  /* SSL_session_reused */
    bool ocsp_stapled;
    int http_status;               /* 0: no HTTP answer */
    bool http_no_cert;             /* nginx "No required SSL certificate was sent" */
    char err[128];                 /* first libssl error string */
    unsigned long err_code;        /* and its code (ERR_GET_LIB / ERR_GET_REASON) */
    struct td_certificate chain;   /* the peer's chain as sent (DER copies) */
};

/* A plaintext phase before TLS (STARTTLS).  Called with the connected,
 * nonblocking socket and the time left; returns 0 when the socket is ready
 * for the ClientHello, else -1 with a reason in |why|.  Filled by
 * lib/probe/starttls.c. */
typedef int (*td_starttls_fn)(int fd, const char *proto, int timeout_ms, char *why, size_t whylen);

struct td_probe;
typedef void (*td_probe_done_fn)(void *ctx, struct td_probe *p);

struct td_probe {
    /* in */
    enum td_probe_kind kind;
    const char *label;            /* "versions/1.2", shown in verbose output */
    uint8_t hello[TD_CH_MAX + 5]; /* TD_PROBE_RAW: the bytes to send */
    size_t hello_len;
    /* TD_PROBE_SSL */
    uint16_t ssl_min, ssl_max;    /* 0: library defaults */
    const char *ssl_sni;
    const char *ssl_alpn;         /* ALPN list, comma-separated ("h2,http/1.1"), or NULL */
    const char *cert_file, *key_file;
    const char *http_host;        /* send "GET / HTTP/1.1" after the handshake when set */
    bool stop_at_handshake;       /* end as soon as the handshake completes (else wait
                                     for a late alert / the HTTP answer) */
    void *ssl_session;            /* SSL_SESSION* to resume (borrowed), NULL for none */
    void *ssl_session_out;        /* SSL_SESSION* got (owned: td_probe_free releases it) */
    td_starttls_fn starttls;
    const char *starttls_proto;
    int tag, arg;                 /* free for the plan */
    td_probe_done_fn done;
    void *done_ctx;
    /* out */
    struct td_exchange ex;
    struct td_conn *conn;         /* the engine's connection (owned) */
    struct td_verdict v;          /* the rules' verdict on it */
    enum td_probe_res res;
    uint16_t version, cipher, group; /* when accepted (group: key share / HRR) */
    bool hrr;
    uint8_t alert;                /* when res == TD_PR_ALERT */
    struct td_ssl_facts ssl;      /* TD_PROBE_SSL */
    char why[128];                /* starttls or local error */
};

struct td_probe *td_probe_new(void);
void td_probe_free(struct td_probe *p);

struct td_probe_opts {
    uint32_t parallel;            /* concurrent connections (default 8) */
    uint32_t connect_ms;          /* TCP connect (default 3000) */
    uint32_t answer_ms;           /* first answer after the hello, and each later read (default 3000) */
    uint32_t total_ms;            /* one probe overall (default 8000) */
    uint32_t max_read;            /* bytes read per probe (default 256 KiB) */
    int64_t (*now_ns)(void);      /* monotonic clock; NULL = CLOCK_MONOTONIC */
    bool ttl_capture;             /* as root, capture SYN-ACK/RST TTLs with libpcap (default on) */
};
void td_probe_opts_default(struct td_probe_opts *o);

struct td_runner;
struct td_runner *td_runner_new(const struct sockaddr *addr, socklen_t addrlen,
                                const struct td_probe_opts *o,
                                const struct td_rules_opts *ro);
/* td_runner_add queues |p| (the runner owns it until its done callback,
 * which receives ownership).  May be called from a done callback. */
void td_runner_add(struct td_runner *r, struct td_probe *p);
/* td_runner_run runs until no probe is queued or in flight. */
void td_runner_run(struct td_runner *r);
uint32_t td_runner_connections(const struct td_runner *r);
/* td_runner_ttl_capture: whether the SYN-ACK/RST TTLs were captured; |why|
 * says on which interface, or why not (not root, no interface, pcap error). */
bool td_runner_ttl_capture(const struct td_runner *r, char *why, size_t len);
void td_runner_free(struct td_runner *r);

/* td_probe_classify runs a recorded exchange through the engine and rules
 * and fills conn, v, res, version, cipher, group, alert.  Exposed for tests
 * (an exchange can be made by hand). */
void td_probe_classify(struct td_probe *p, const struct td_rules_opts *ro);
/* td_probe_raw_complete: the runner's test, after each read of a raw probe,
 * of whether the server has said enough (an alert, ServerHelloDone, a TLS 1.3
 * ServerHello or HRR, encrypted data, non-TLS bytes, an oversized record).
 * |b|/|n| is everything the server sent so far; |hs| is scratch of |hscap|
 * bytes (the runner uses 64 KiB).  Sets *impossible when the framing cannot
 * be TLS (td_exchange.impossible).  Exposed for tests and
 * tests/fuzz/fuzz_probe_response.c, which feed it and td_probe_classify
 * answers chunk by chunk as the runner does. */
bool td_probe_raw_complete(const uint8_t *b, size_t n, uint8_t *hs, size_t hscap, bool *impossible);
/* td_exchange_add appends a segment; returns -1 when out of memory. */
int td_exchange_add(struct td_exchange *ex, bool from_server, int64_t t_ns, const uint8_t *b,
                    size_t n);
void td_exchange_cleanup(struct td_exchange *ex);

/* ---------------------------------------------------------------- plan */

#define TD_PLAN_MAX_SUITES 128
#define TD_PLAN_MAX_GROUPS 16
#define TD_PLAN_NVERS 5   /* SSL 3.0, TLS 1.0, 1.1, 1.2, 1.3 */

struct td_plan_opts {
    const char *host;             /* as given (name or address) */
    uint16_t port;
    const char *sni;              /* NULL: host when it is a name */
    const char *cert_file, *key_file;
    const char *starttls;         /* NULL, or a protocol for the starttls hook */
    td_starttls_fn starttls_fn;
    bool http;                    /* send an HTTP request after handshakes (default on) */
    bool enum_ciphers, enum_groups; /* default on */
};

/* Refusal of one variant: how the server answered. */
struct td_answer {
    bool probed;
    enum td_probe_res res;
    uint8_t alert;
    uint16_t version, cipher;
    bool tls_ok;                  /* ServerHello received */
    char cert_cn[96];             /* leaf subject CN from the real handshakes (given / none) */
    uint8_t synack_ttl, rst_ttl;  /* captured (root): SYN-ACK TTL, and the RST's when it was reset */
};

/* One line per probe run, in completion order (for -v and JSON "probes"). */
#define TD_PLAN_MAX_LOG 160
struct td_probe_log {
    char label[24];
    char result[80];   /* "accepted TLS 1.2 TLS_ECDHE_..." / "alert:handshake_failure" / "rst" */
    uint32_t ms;       /* from connect to the end */
};

enum td_client_auth { TD_CA_UNKNOWN, TD_CA_NONE, TD_CA_OPTIONAL, TD_CA_REQUIRED };

struct td_plan_result {
    char target[300];
    char sni[256];
    char ip[64];
    struct td_answer versions[TD_PLAN_NVERS];     /* index: 0 SSL3.0 .. 4 TLS1.3 */
    uint16_t chosen_below[TD_PLAN_NVERS];         /* server answered with a lower version */
    struct td_answer sslv2_hello;                 /* SSLv2-compatible hello offering up to TLS 1.2 */
    uint16_t num_ciphers[TD_PLAN_NVERS];
    uint16_t ciphers[TD_PLAN_NVERS][TD_PLAN_MAX_SUITES]; /* server preference order */
    bool cipher_server_order[TD_PLAN_NVERS];      /* the server imposes its order */
    bool cipher_order_known[TD_PLAN_NVERS];
    uint16_t num_groups;
    uint16_t groups[TD_PLAN_MAX_GROUPS];          /* TLS 1.3, preference order */
    bool hrr_seen;                                /* some group probe got an HRR */
    uint16_t num_sigs;                            /* TLS 1.2 ServerKeyExchange signature */
    uint16_t sigs[48];                            /* schemes, by elimination, server order */
    struct td_answer sni_none, sni_given, sni_bogus, sni_ip;
    bool default_cert_differs;                    /* no SNI -> another leaf certificate */
    char bogus_name[64];
    struct td_answer alpn_both, alpn_http11;
    char alpn_chosen[64];
    enum td_client_auth client_auth;
    bool client_auth_http;                        /* rejection seen at HTTP level */
    bool client_auth_late;                        /* TLS 1.3 alert after the handshake */
    uint16_t num_ca_names;
    char ca_names[4][128];
    bool client_cert_given, client_cert_ok;
    bool chain_known;
    struct td_chain_facts chain;                  /* large: this struct lives on the heap */
    bool ocsp_stapled;
    bool resumption_tried, resumption_ok;
    struct td_ssl_facts main_ssl;
    bool hrr_probed, hrr_works;                   /* an empty key_share got a HelloRetryRequest */
    uint16_t hrr_group;                           /* the group it asked for */
    uint32_t connections;
    int64_t wall_ns;
    bool ttl_captured;            /* SYN-ACK/RST TTLs captured with libpcap (root) */
    char ttl_capture[160];        /* the interface, or why not */
    uint16_t num_log, total_log;
    struct td_probe_log log[TD_PLAN_MAX_LOG];
    uint8_t num_diag;
    struct td_diagnosis diag[TD_MAX_DIAGNOSES];
    /* clients: filled by the client simulation (lib/probe/clients.c) */
    uint16_t num_clients;
};

/* td_plan_run probes |addr| and fills |out| (zeroed first).  |trust| may be
 * NULL (no trust check); |now| is unix seconds for certificate dates. */
int td_plan_run(struct td_plan_result *out, const struct sockaddr *addr, socklen_t addrlen,
                const struct td_plan_opts *po, const struct td_probe_opts *o,
                const struct td_trust *trust, int64_t now);

/* td_plan_problems: the number of error-severity diagnoses (0: nothing wrong). */
unsigned td_plan_problems(const struct td_plan_result *r);

#endif
