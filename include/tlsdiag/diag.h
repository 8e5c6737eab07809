/* diag.h: parser status and anomalies.
 *
 * Parsers never judge: when peer bytes contradict the format they record an
 * anomaly {code, ext_type, off} here and the rule engine decides what it
 * means.  Three kinds of failure are kept apart (docs/STYLE.md):
 *   TD_EMALFORMED  the peer's bytes are wrong        -> evidence
 *   TD_ELIMIT      one of our own caps was reached   -> reported, never a finding
 *   TD_ENOMEM      we ran out of memory               -> tool error
 * Anomaly numbers and JSON names are a contract: never renumber, never reuse. */
#ifndef TLSDIAG_DIAG_H
#define TLSDIAG_DIAG_H

#include <stdint.h>

#include "tlsdiag/cur.h"

enum td_status { TD_OK = 0, TD_EMALFORMED = 1, TD_ELIMIT = 2, TD_ENOMEM = 3 };

#define TD_ANOMALIES(X)                                                   \
    /* ClientHello */                                                     \
    X(CH_MALFORMED, 1, "ch_malformed")                                    \
    X(CH_TRAILING_DATA, 2, "ch_trailing_data")                            \
    X(EXT_BLOCK_MALFORMED, 3, "ext_block_malformed")                      \
    X(EXT_DUPLICATE, 4, "ext_duplicate")                                  \
    X(EXT_BODY_MALFORMED, 5, "ext_body_malformed")                        \
    X(EXT_TRAILING_DATA, 6, "ext_trailing_data")                          \
    X(SNI_BAD_HOSTNAME, 7, "sni_bad_hostname")                            \
    X(SNI_MULTIPLE_NAMES, 8, "sni_multiple_names")                        \
    X(ALPN_EMPTY_NAME, 9, "alpn_empty_name")                              \
    X(KEY_SHARE_BAD_LENGTH, 10, "key_share_bad_length")                   \
    X(KEY_SHARE_DUPLICATE_GROUP, 11, "key_share_duplicate_group")         \
    X(CH_NO_CIPHERS, 12, "ch_no_ciphers")                                 \
    X(CH_ODD_CIPHERS, 13, "ch_odd_cipher_list")                           \
    X(SSL2_MALFORMED, 14, "sslv2_hello_malformed")                        \
    /* ServerHello and the rest of the handshake */                       \
    X(SH_MALFORMED, 20, "sh_malformed")                                   \
    X(SH_TRAILING_DATA, 21, "sh_trailing_data")                           \
    X(CERT_MALFORMED, 22, "certificate_malformed")                        \
    X(CR_MALFORMED, 23, "certificate_request_malformed")                  \
    X(SKE_MALFORMED, 24, "server_key_exchange_malformed")                 \
    X(NST_MALFORMED, 25, "new_session_ticket_malformed")                  \
    X(CS_MALFORMED, 26, "certificate_status_malformed")                   \
    X(HS_TRAILING_DATA, 27, "handshake_trailing_data")                    \
    X(HS_UNKNOWN_TYPE, 28, "handshake_unknown_type")                      \
    /* Record layer */                                                    \
    X(REC_BAD_TYPE, 40, "record_bad_content_type")                        \
    X(REC_BAD_VERSION, 41, "record_bad_version")                          \
    X(REC_OVERFLOW, 42, "record_overflow")                                \
    X(REC_EMPTY, 43, "record_empty")                                      \
    X(HS_INTERLEAVED, 44, "handshake_interleaved")                        \
    X(ALERT_MALFORMED, 45, "alert_malformed")                             \
    X(CCS_MALFORMED, 46, "change_cipher_spec_malformed")                  \
    X(NOT_TLS, 47, "not_tls")                                             \
    /* Capture, IP and TCP */                                             \
    X(TCP_GAP, 60, "tcp_gap")                                             \
    X(TCP_OVERLAP_MISMATCH, 61, "tcp_overlap_mismatch")                   \
    X(IP_FRAGMENT, 62, "ip_fragment")                                     \
    X(IP_BAD_HEADER, 63, "ip_bad_header")                                 \
    X(TCP_BAD_HEADER, 64, "tcp_bad_header")                               \
    X(PKT_TRUNCATED, 65, "packet_truncated")                              \
    /* Decryption with a key log (--keylog, pcapng secrets) */            \
    X(DECRYPT_NO_SECRET, 70, "decrypt_no_secret")                         \
    X(DECRYPT_BAD_RECORD, 71, "decrypt_bad_record")                       \
    X(DECRYPT_MALFORMED, 72, "decrypt_malformed_record")                  \
    X(DECRYPT_UNSUPPORTED, 73, "decrypt_unsupported_cipher")              \
    X(KEY_UPDATE_MALFORMED, 74, "key_update_malformed")                   \
    X(EE_MALFORMED, 75, "encrypted_extensions_malformed")                 \
    /* Our own caps (never a finding against the peer) */                 \
    X(LIMIT_CIPHERS, 80, "limit_ciphers")                                 \
    X(LIMIT_EXTENSIONS, 81, "limit_extensions")                           \
    X(LIMIT_LIST, 82, "limit_list")                                       \
    X(LIMIT_CERTS, 83, "limit_certificates")                              \
    X(LIMIT_HS_MSG, 84, "limit_handshake_message")                        \
    X(LIMIT_REASSEMBLY, 85, "limit_reassembly")                           \
    X(LIMIT_EVENTS, 86, "limit_events")                                   \
    X(LIMIT_ANOMALIES, 87, "limit_anomalies")                             \
    X(LIMIT_FLOWS, 88, "limit_flows")                                     \
    X(LIMIT_RECORDS, 89, "limit_records")                                 \
    X(LIMIT_CERT_LEN, 90, "limit_certificate_length")                    \
    X(LIMIT_MEMORY, 91, "limit_memory")

#define TD_AN_ENUM(name, num, json) TD_AN_##name = num,
enum td_anomaly { TD_AN_NONE = 0, TD_ANOMALIES(TD_AN_ENUM) };
#undef TD_AN_ENUM

/* td_anomaly_name returns the JSON name of |code|, or NULL if unknown. */
const char *td_anomaly_name(unsigned code);
/* td_anomaly_is_limit: the anomaly is one of our caps, not the peer's fault. */
int td_anomaly_is_limit(unsigned code);

#define TD_DIAG_MAX 16

struct td_anomaly_rec {
    uint16_t code;
    uint16_t ext_type;
    uint32_t off;
};

/* Past the cap there is room for each LIMIT_* code (80..99) once: a cap hit
 * stays on the record however many anomalies came before it. */
#define TD_DIAG_SLOTS (TD_DIAG_MAX + 20)

/* A bounded anomaly sink: keeps the first |max| (0: TD_DIAG_MAX) anomalies
 * and counts all in |total|.  Past the cap, each LIMIT_* code is still kept
 * once, and the first other anomaly that does not fit records
 * LIMIT_ANOMALIES instead, so a cut list says so.  n <= TD_DIAG_SLOTS and
 * n <= total. */
struct td_diag {
    struct td_anomaly_rec recs[TD_DIAG_SLOTS];
    uint32_t n;
    uint32_t total;
    uint32_t max; /* anomalies kept (1..TD_DIAG_MAX; 0 or more: TD_DIAG_MAX) */
};

void td_diag_add(struct td_diag *d, enum td_anomaly code, uint16_t ext_type, size_t off);
/* td_diag_has reports whether |code| was recorded. */
int td_diag_has(const struct td_diag *d, enum td_anomaly code);
/* td_diag_cap: how many anomalies |d| keeps before LIMIT_ANOMALIES. */
uint32_t td_diag_cap(const struct td_diag *d);

/* td_malformed records an anomaly at |at| and returns TD_EMALFORMED.  It is
 * the one helper for the "record and fail" pattern; it hides no control flow. */
static inline enum td_status td_malformed(struct td_diag *d, enum td_anomaly code,
                                          uint16_t ext_type, const struct td_cur *at)
{
    td_diag_add(d, code, ext_type, at->off);
    return TD_EMALFORMED;
}

#endif
