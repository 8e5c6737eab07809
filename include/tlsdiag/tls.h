/* tls.h: TLS/SSL message parsers (lib/tls).
 *
 * Every parser reads peer bytes through a td_cur and fills a caller-owned
 * struct.  Parsed structs are self-contained *copies*, bounded by the caps
 * below: they outlive the reassembly buffers they were parsed from, so they
 * hold no views into them.  (The house style prefers views; a diagnoser keeps
 * messages long after the stream buffer has moved on, so copying once,
 * bounded, is simpler and safer than tying lifetimes together.)
 *
 * Lists keep n (stored) and total (seen): "64 of 300 shown" is always
 * possible.  GREASE values are kept in wire order where they appear; callers
 * skip them with td_is_grease().
 *
 * Parsers never judge.  Wrong bytes become anomalies in the struct's |diag|
 * (or the |d| passed in); a framing error stops that message and returns
 * TD_EMALFORMED, an error inside one extension whose framing is intact is
 * recorded and parsing goes on. */
#ifndef TLSDIAG_TLS_H
#define TLSDIAG_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "tlsdiag/cur.h"
#include "tlsdiag/diag.h"

/* Content types (RFC 8446 5.1) */
enum {
    TD_CT_CHANGE_CIPHER_SPEC = 20,
    TD_CT_ALERT = 21,
    TD_CT_HANDSHAKE = 22,
    TD_CT_APPLICATION_DATA = 23,
    TD_CT_HEARTBEAT = 24,
    TD_CT_SSL2 = 0x80 /* pseudo type for an SSLv2-framed record */
};

/* Handshake types (RFC 8446 4, RFC 5246 7.4) */
enum {
    TD_HS_HELLO_REQUEST = 0,
    TD_HS_CLIENT_HELLO = 1,
    TD_HS_SERVER_HELLO = 2,
    TD_HS_HELLO_VERIFY_REQUEST = 3,
    TD_HS_NEW_SESSION_TICKET = 4,
    TD_HS_END_OF_EARLY_DATA = 5,
    TD_HS_ENCRYPTED_EXTENSIONS = 8,
    TD_HS_CERTIFICATE = 11,
    TD_HS_SERVER_KEY_EXCHANGE = 12,
    TD_HS_CERTIFICATE_REQUEST = 13,
    TD_HS_SERVER_HELLO_DONE = 14,
    TD_HS_CERTIFICATE_VERIFY = 15,
    TD_HS_CLIENT_KEY_EXCHANGE = 16,
    TD_HS_FINISHED = 20,
    TD_HS_CERTIFICATE_URL = 21,
    TD_HS_CERTIFICATE_STATUS = 22,
    TD_HS_KEY_UPDATE = 24,
    TD_HS_MESSAGE_HASH = 254
};

/* Extension types used by the parsers (the full list is in the registry) */
enum {
    TD_EXT_SERVER_NAME = 0,
    TD_EXT_STATUS_REQUEST = 5,
    TD_EXT_SUPPORTED_GROUPS = 10,
    TD_EXT_EC_POINT_FORMATS = 11,
    TD_EXT_SIGNATURE_ALGORITHMS = 13,
    TD_EXT_ALPN = 16,
    TD_EXT_SCT = 18,
    TD_EXT_PADDING = 21,
    TD_EXT_ENCRYPT_THEN_MAC = 22,
    TD_EXT_EXTENDED_MASTER_SECRET = 23,
    TD_EXT_RECORD_SIZE_LIMIT = 28,
    TD_EXT_SESSION_TICKET = 35,
    TD_EXT_PRE_SHARED_KEY = 41,
    TD_EXT_EARLY_DATA = 42,
    TD_EXT_SUPPORTED_VERSIONS = 43,
    TD_EXT_COOKIE = 44,
    TD_EXT_PSK_KEY_EXCHANGE_MODES = 45,
    TD_EXT_CERTIFICATE_AUTHORITIES = 47,
    TD_EXT_POST_HANDSHAKE_AUTH = 49,
    TD_EXT_SIGNATURE_ALGORITHMS_CERT = 50,
    TD_EXT_KEY_SHARE = 51,
    TD_EXT_ENCRYPTED_CLIENT_HELLO = 0xfe0d,
    TD_EXT_RENEGOTIATION_INFO = 0xff01
};

/* Caps.  Each is documented in docs/limits.md; hitting one records a
 * TD_AN_LIMIT_* anomaly and the list keeps its first entries. */
#define TD_MAX_CIPHERS 512   /* cipher suites kept per ClientHello */
#define TD_MAX_U16_LIST 128  /* extensions, groups, sig algs, versions */
#define TD_MAX_U8_LIST 32    /* ec point formats, compression, psk modes */
#define TD_MAX_ALPN 16       /* ALPN names kept */
#define TD_MAX_ALPN_LEN 64   /* bytes kept of each ALPN name */
#define TD_MAX_SNI_LEN 255   /* bytes kept of the server name */
#define TD_MAX_KEY_SHARES 16
#define TD_MAX_CERTS 16      /* certificates kept per chain */
#define TD_MAX_CERT_LEN (64 * 1024) /* bytes of one DER certificate kept */
#define TD_MAX_CA_NAMES 64

struct td_u16_list {
    uint16_t n, total;
    uint16_t v[TD_MAX_U16_LIST];
};

struct td_u8_list {
    uint16_t n, total;
    uint8_t v[TD_MAX_U8_LIST];
};

struct td_bytes_name { /* a short opaque name (ALPN) copied from the wire */
    uint8_t len;      /* bytes kept (<= TD_MAX_ALPN_LEN) */
    uint8_t wire_len; /* bytes on the wire */
    uint8_t b[TD_MAX_ALPN_LEN];
    uint8_t last_byte; /* last byte on the wire (0 if empty): JA4 needs it
                          even when the name is longer than TD_MAX_ALPN_LEN */
};

struct td_key_share_info {
    uint16_t group;
    uint16_t key_len;
};

/* RFC 8446 4.1.2 / RFC 5246 7.4.1.2 ClientHello, plus the SSLv2-compatible
 * CLIENT-HELLO (RFC 6101 appendix E.2), converted to the same fields. */
struct td_client_hello {
    uint16_t record_version;  /* version in the record header that carried it (0 if unknown) */
    uint16_t legacy_version;  /* client_version */
    bool sslv2_format;        /* arrived as an SSLv2 CLIENT-HELLO */
    uint8_t random[32];       /* for SSLv2: challenge right-aligned, zero-padded */
    uint8_t session_id_len;
    uint8_t session_id[32];
    uint16_t num_ciphers, total_ciphers;
    uint16_t ciphers[TD_MAX_CIPHERS]; /* wire order; SSLv2 3-byte kinds with
                                         a zero first byte become 16-bit
                                         values, others are counted in
                                         num_sslv2_only_ciphers */
    uint16_t num_sslv2_only_ciphers;
    struct td_u8_list compression;
    bool has_extensions;      /* an extensions block was present (even empty) */
    struct td_u16_list ext_order; /* every extension type in wire order */

    bool has_sni;
    uint16_t sni_len;         /* bytes kept in sni (<= TD_MAX_SNI_LEN) */
    char sni[TD_MAX_SNI_LEN + 1]; /* raw bytes, NUL-terminated copy; may hold
                                     any byte: escape when rendering */
    uint8_t num_alpn, total_alpn;
    struct td_bytes_name alpn[TD_MAX_ALPN];
    struct td_u16_list versions;  /* supported_versions, wire order */
    bool has_supported_versions;
    struct td_u16_list groups;    /* supported_groups */
    struct td_u16_list sig_algs;  /* signature_algorithms */
    bool has_sig_algs;
    struct td_u8_list ec_point_formats;
    bool has_ec_point_formats;
    uint8_t num_key_shares, total_key_shares;
    struct td_key_share_info key_shares[TD_MAX_KEY_SHARES];
    bool has_key_share;
    bool has_session_ticket;
    uint16_t session_ticket_len;  /* 0: asks for a new ticket; >0: resumes */
    bool has_psk;
    uint16_t num_psk_identities;
    struct td_u8_list psk_modes;
    bool has_psk_modes;
    bool has_early_data;
    bool has_status_request;
    bool has_extended_master_secret;
    bool has_renegotiation_info;
    bool has_padding;
    uint16_t padding_len;
    bool has_record_size_limit;
    uint16_t record_size_limit;
    bool has_ech;             /* encrypted_client_hello (0xfe0d) present */
    bool has_post_handshake_auth;
    bool has_cookie;
    bool has_fallback_scsv;   /* TLS_FALLBACK_SCSV (0x5600) among ciphers */
    bool has_reneg_scsv;      /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00ff) */
    uint16_t num_grease;      /* GREASE values seen anywhere */
    uint32_t msg_len;         /* handshake body length */
    struct td_diag diag;
};

/* RFC 8446 4.1.3 ServerHello / HelloRetryRequest */
struct td_server_hello {
    uint16_t record_version;
    uint16_t legacy_version;
    uint16_t selected_version;  /* supported_versions if present, else legacy_version */
    bool has_supported_versions;
    bool is_hrr;                /* random equals the HelloRetryRequest value */
    uint8_t random[32];
    uint8_t session_id_len;
    uint8_t session_id[32];
    uint16_t cipher;
    uint8_t compression;
    bool has_extensions;
    struct td_u16_list ext_order;
    bool has_key_share;
    uint16_t key_share_group;   /* ServerHello: share's group; HRR: selected group */
    bool has_alpn;
    struct td_bytes_name alpn;
    bool has_sni_ack;           /* empty server_name extension */
    bool has_session_ticket;    /* empty session_ticket: will send a ticket */
    bool has_psk;
    uint16_t psk_identity;
    bool has_extended_master_secret;
    bool has_renegotiation_info;
    bool has_status_request;
    bool has_cookie;            /* HRR cookie */
    bool has_early_data;
    /* RFC 8446 4.1.3 downgrade sentinel in the last 8 bytes of random:
     * 0 none, 0x0303 "DOWNGRD\1" (TLS 1.2), 0x0302 "DOWNGRD\0" (<= 1.1) */
    uint16_t downgrade_sentinel;
    uint32_t msg_len;
    struct td_diag diag;
};

struct td_der {
    uint8_t *der;  /* owned copy (malloc), NULL if over TD_MAX_CERT_LEN */
    uint32_t len;  /* bytes of der kept (0 if not kept) */
    uint32_t wire_len;
};

/* RFC 5246 7.4.2 / RFC 8446 4.4.2 Certificate.  Owns its DER copies:
 * release with td_certificate_cleanup. */
struct td_certificate {
    bool tls13;
    uint8_t context_len;
    uint16_t num_certs, total_certs;
    struct td_der certs[TD_MAX_CERTS];
    uint32_t msg_len;
    struct td_diag diag;
};

/* RFC 5246 7.4.4 / RFC 8446 4.3.2 CertificateRequest */
struct td_certificate_request {
    bool tls13;
    struct td_u8_list cert_types;   /* <= 1.2 */
    struct td_u16_list sig_algs;
    uint16_t num_ca_names, total_ca_names;
    /* first CA distinguished names, DER, copied (bounded) for display */
    struct td_der ca_names[8];
    uint32_t msg_len;
    struct td_diag diag;
};

/* RFC 8422 5.4 ServerKeyExchange (ECDHE) / RFC 5246 7.4.3 (DHE).  The
 * format depends on the negotiated key exchange, which the caller knows. */
enum td_kex { TD_KEX_UNKNOWN, TD_KEX_ECDHE, TD_KEX_DHE, TD_KEX_RSA, TD_KEX_PSK };
struct td_server_key_exchange {
    enum td_kex kex;
    uint8_t curve_type;        /* 3 = named_curve */
    uint16_t named_group;      /* ECDHE */
    uint16_t dh_p_bits;        /* DHE: size of p in bits */
    uint16_t pubkey_len;
    uint16_t sig_alg;          /* TLS 1.2 signature scheme, 0 if absent */
    uint32_t msg_len;
    struct td_diag diag;
};

/* RFC 5077 3.3 / RFC 8446 4.6.1 NewSessionTicket */
struct td_new_session_ticket {
    bool tls13;
    uint32_t lifetime;
    uint32_t ticket_len;
    uint32_t msg_len;
    struct td_diag diag;
};

/* RFC 8446 4.3.1 EncryptedExtensions (seen only with keys) */
struct td_encrypted_extensions {
    struct td_u16_list ext_order;
    bool has_alpn;
    struct td_bytes_name alpn;  /* the protocol the server chose */
    bool has_early_data;        /* 0-RTT accepted */
    bool has_sni_ack;
    bool has_record_size_limit;
    uint16_t record_size_limit;
    uint32_t msg_len;
    struct td_diag diag;
};

/* RFC 8446 4.6.3 KeyUpdate: request_update 0 (not requested) or 1 */
struct td_key_update {
    uint8_t request_update;
};

/* RFC 6066 8 CertificateStatus */
struct td_certificate_status {
    uint8_t status_type;  /* 1 = ocsp */
    uint32_t response_len;
    struct td_diag diag;
};

/* RFC 8446 6 Alert */
struct td_alert {
    uint8_t level;        /* 1 warning, 2 fatal */
    uint8_t description;
};

/* ---- record layer (RFC 8446 5.1, RFC 6101 appendix E for SSLv2) ---- */

struct td_record_hdr {
    uint8_t type;         /* content type, or TD_CT_SSL2 */
    uint16_t version;     /* record version; for SSLv2 records 0x0002 */
    uint32_t len;         /* body length */
    uint8_t hdr_len;      /* 5, or 2/3 for SSLv2 */
};

enum td_rec_res {
    TD_REC_OK,        /* a header was read; body may still need bytes */
    TD_REC_NEED,      /* not enough bytes for a header */
    TD_REC_NOT_TLS    /* the bytes cannot be a TLS/SSL record header */
};

/* td_record_header looks at the start of |stream| (without moving it) and
 * decides whether it is a TLS record header or, when |allow_ssl2| is set
 * (the first bytes of a client's stream), an SSLv2 record header carrying a
 * CLIENT-HELLO.  It judges plausibility only from framing: content type in
 * 20..24, version major 3 (minor <= 4) or the SSLv2 form; a length above
 * 2^14 + 2048 is returned as TD_REC_OK with the anomaly REC_OVERFLOW in |d|.
 * Also recorded: REC_EMPTY (zero-length non-application-data record),
 * REC_BAD_TYPE / REC_BAD_VERSION / NOT_TLS with TD_REC_NOT_TLS.  A partial
 * header is judged as far as it goes before TD_REC_NEED.  |d| may be NULL. */
enum td_rec_res td_record_header(struct td_record_hdr *h, const struct td_cur *stream,
                                 bool allow_ssl2, struct td_diag *d);

/* ---- message parsers: |msg| is the handshake body, after the 4-byte
 *      header (type, u24 length).  On return |msg| may be anywhere.
 *      Each parser zeroes its struct first; the Client/ServerHello parsers
 *      keep record_version (set by the caller).  Hitting a list cap records
 *      a LIMIT_* anomaly and the status stays TD_OK (the message is still
 *      parsed to its end). ---- */

enum td_status td_parse_client_hello(struct td_client_hello *ch, struct td_cur *msg);
/* The *_max variants keep at most |max_ext| extension types in ext_order
 * (0: TD_MAX_U16_LIST, which is also the most): the first one over it is
 * LIMIT_EXTENSIONS at its type field, and every extension is still parsed
 * and counted in ext_order.total (--max-extensions). */
enum td_status td_parse_client_hello_max(struct td_client_hello *ch, struct td_cur *msg, uint16_t max_ext);
enum td_status td_parse_server_hello_max(struct td_server_hello *sh, struct td_cur *msg, uint16_t max_ext);
enum td_status td_parse_encrypted_extensions_max(struct td_encrypted_extensions *ee, struct td_cur *msg,
                                                 uint16_t max_ext);
/* td_parse_sslv2_client_hello parses an SSLv2 record body (after the 2- or
 * 3-byte header; first byte is msg type 1). */
enum td_status td_parse_sslv2_client_hello(struct td_client_hello *ch, struct td_cur *body);
enum td_status td_parse_server_hello(struct td_server_hello *sh, struct td_cur *msg);
/* |tls13| selects the RFC 8446 format (context + extensions per entry). */
enum td_status td_parse_certificate(struct td_certificate *c, struct td_cur *msg, bool tls13);
void td_certificate_cleanup(struct td_certificate *c);
enum td_status td_parse_certificate_request(struct td_certificate_request *cr,
                                            struct td_cur *msg, bool tls13);
void td_certificate_request_cleanup(struct td_certificate_request *cr);
enum td_status td_parse_server_key_exchange(struct td_server_key_exchange *ske,
                                            struct td_cur *msg, enum td_kex kex);
enum td_status td_parse_new_session_ticket(struct td_new_session_ticket *nst,
                                           struct td_cur *msg, bool tls13);
enum td_status td_parse_certificate_status(struct td_certificate_status *cs, struct td_cur *msg);
enum td_status td_parse_encrypted_extensions(struct td_encrypted_extensions *ee, struct td_cur *msg);
/* td_parse_key_update: one byte, 0 or 1; anything else KEY_UPDATE_MALFORMED in |d| */
enum td_status td_parse_key_update(struct td_key_update *ku, struct td_cur *msg, struct td_diag *d);
/* td_parse_alert reads one 2-byte alert. */
enum td_status td_parse_alert(struct td_alert *a, struct td_cur *body, struct td_diag *d);

/* td_cipher_kex: the key exchange of a <= 1.2 suite, judged from its IANA name. */
enum td_kex td_cipher_kex(uint16_t cipher);

/* ---- fingerprints (lib/tls/fingerprint.c) ---- */

/* JA3 (Salesforce): "version,ciphers,extensions,groups,ecpf" with GREASE
 * removed, then MD5 as 32 hex chars.  |full| (optional) receives the string,
 * truncated to |full_len|. */
void td_ja3(const struct td_client_hello *ch, char md5hex[33], char *full, size_t full_len);
void td_ja3s(const struct td_server_hello *sh, char md5hex[33], char *full, size_t full_len);
/* JA4 (FoxIO, BSD-3; TCP only): out receives e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1".
 * |raw| selects JA4_r (unhashed), |original| JA4_o (wire order). */
void td_ja4(const struct td_client_hello *ch, bool raw, bool original, char *out, size_t out_len);

#endif
