/* decode.h: `tlsdiag decode` -- handshake failures met as text (lib/decode).
 *
 * People meet a failed handshake as text: an `openssl s_client -msg` or
 * `-debug` dump, a hexdump, or one error line from OpenSSL, BoringSSL,
 * GnuTLS, NSS, Java, Go, .NET, Python, curl, nginx or HAProxy.  This module
 * reads such text and produces facts, never guesses presented as facts:
 *
 *   text.c    hex records (with their direction when the text says it)
 *   errors.c  error strings, bare alert numbers and names -> who raised it,
 *             the alert, the contract's diagnosis codes (ranked), what next
 *   synth.c   hex records -> synthetic IPv4/TCP packets (LINKTYPE_RAW)
 *   run.c     those packets through td_engine -> one struct td_conn, so the
 *             same parser and rule engine judge a dump as judge a capture
 *
 * Everything read is untrusted.  Text is scanned line by line with bounded
 * loops; nothing is NUL-terminated on the way in.  Caps (all hit caps are
 * recorded as issues, never silent):
 *   TD_DEC_MAX_INPUT    bytes of text read (the rest is ignored, issue LIMIT_INPUT)
 *   TD_DEC_MAX_LINE     characters of one line examined (issue LINE_TOO_LONG)
 *   TD_DEC_MAX_RECORDS  records kept (issue LIMIT_RECORDS)
 *   TD_DEC_MAX_BYTES    record bytes kept in total (issue LIMIT_BYTES)
 *   TD_DEC_MAX_ITEMS    recognised error/alert items kept (n kept, total seen)
 *   TD_DEC_MAX_ISSUES   issues kept (n kept, total seen)
 *
 * lib/ never prints: td_dec_explain() writes into a caller's buffer. */
#ifndef TLSDIAG_DECODE_H
#define TLSDIAG_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/capture.h"

#define TD_DEC_MAX_INPUT (1u << 20)
#define TD_DEC_MAX_LINE 4096u
#define TD_DEC_MAX_RECORDS 256u
#define TD_DEC_MAX_BYTES (512u * 1024u)
#define TD_DEC_MAX_ITEMS 64u
#define TD_DEC_MAX_ISSUES 32u
#define TD_DEC_MAX_CODES 4u

/* Who sent a record.  "Client" is the side that ran s_client (>>>, "write to"). */
enum td_dec_dir { TD_DEC_DIR_UNKNOWN = 0, TD_DEC_DIR_CLIENT = 1, TD_DEC_DIR_SERVER = 2 };

/* How the hex was found. */
enum td_dec_fmt {
    TD_DEC_FMT_NONE = 0,
    TD_DEC_FMT_MSG,    /* s_client -msg: ">>> ... [length 005e]" then hex */
    TD_DEC_FMT_DEBUG,  /* s_client -debug: "write to"/"read from" + "0000 - 16 03 ..." */
    TD_DEC_FMT_PLAIN   /* hex lines with or without offsets (xxd, hexdump -C, bare) */
};

enum td_dec_rec_flags {
    TD_DEC_REC_DIR_INFERRED = 1u << 0, /* no arrow: direction taken from the content */
    TD_DEC_REC_TRUNCATED = 1u << 1,    /* header says more bytes than the text has */
    TD_DEC_REC_NOT_TLS = 1u << 2,      /* bytes that do not frame as TLS records */
    TD_DEC_REC_SSL2 = 1u << 3,         /* an SSLv2-framed record */
    TD_DEC_REC_OPAQUE = 1u << 4,       /* the dump printed a decrypted view (TLS 1.3
                                        * -msg) of nothing we could rebuild; the body is
                                        * |len| filler bytes with the header's size, as
                                        * it was on the wire */
    TD_DEC_REC_DECRYPTED = 1u << 5     /* the dump printed the decrypted message(s)
                                        * of a protected record (-msg after TLS 1.3
                                        * ServerHello or a ChangeCipherSpec): the
                                        * record holds that plaintext, its header the
                                        * inner content type and the plaintext length;
                                        * td_dec_run reads it as a decrypted record */
};

/* One record (or one run of non-TLS bytes).  |off| indexes td_dec_result.bytes. */
struct td_dec_record {
    uint8_t dir;          /* enum td_dec_dir */
    uint8_t flags;        /* enum td_dec_rec_flags */
    uint8_t content_type; /* first byte (0x16 handshake, 0x15 alert...) */
    uint16_t session;     /* 0-based: a new ClientHello after the server spoke
                           * starts a new connection (one text, several runs) */
    uint32_t line;        /* 1-based line of the text where its bytes began */
    uint32_t off;
    uint32_t len;
};

enum td_dec_issue_kind {
    TD_DEC_ISSUE_ODD_HEX = 1,          /* a hex line with an odd number of digits */
    TD_DEC_ISSUE_LENGTH_MISMATCH = 2,  /* "[length N]" / "(N bytes" disagrees with the hex */
    TD_DEC_ISSUE_RECORD_TRUNCATED = 3, /* a record header claims more bytes than follow */
    TD_DEC_ISSUE_NOT_TLS = 4,          /* hex that does not frame as TLS records */
    TD_DEC_ISSUE_OFFSET_MISMATCH = 5,  /* a dump offset that skips or repeats bytes */
    TD_DEC_ISSUE_NO_DIRECTION = 6,     /* record direction neither given nor inferable */
    TD_DEC_ISSUE_LINE_TOO_LONG = 7,
    TD_DEC_ISSUE_LIMIT_INPUT = 8,
    TD_DEC_ISSUE_LIMIT_RECORDS = 9,
    TD_DEC_ISSUE_LIMIT_BYTES = 10,
    TD_DEC_ISSUE_LIMIT_ITEMS = 11,
    TD_DEC_ISSUE_NO_MEMORY = 12 /* the record bytes could not grow: the rest is dropped */
};

struct td_dec_issue {
    uint16_t kind;      /* enum td_dec_issue_kind */
    uint32_t line;      /* 1-based; 0 when not tied to a line */
    uint32_t expected;  /* LENGTH_MISMATCH / RECORD_TRUNCATED / OFFSET_MISMATCH */
    uint32_t got;
};

/* Who raised the error, relative to the program that printed the line. */
enum td_dec_side {
    TD_DEC_SIDE_UNKNOWN = 0,
    TD_DEC_SIDE_PEER = 1,  /* the other end sent an alert or closed */
    TD_DEC_SIDE_LOCAL = 2  /* the program that printed the line decided */
};

/* The role of the program that printed the line, when the text shows it. */
enum td_dec_role { TD_DEC_ROLE_UNKNOWN = 0, TD_DEC_ROLE_CLIENT = 1, TD_DEC_ROLE_SERVER = 2 };

enum td_dec_item_kind {
    TD_DEC_ITEM_ERROR = 1,       /* an error string from the table */
    TD_DEC_ITEM_ALERT_TEXT = 2,  /* an alert named inside an error line ("sslv3 alert ...") */
    TD_DEC_ITEM_BARE_ALERT = 3   /* the whole input is an alert number or name */
};

/* One recognised thing.  Every const char * points to static strings of the
 * library (never into the input): callers may keep them. */
struct td_dec_item {
    uint8_t kind;            /* enum td_dec_item_kind */
    uint8_t side;            /* enum td_dec_side */
    uint8_t role;            /* enum td_dec_role of the printing program */
    int16_t alert;           /* alert description, or -1 */
    bool ambiguous;          /* more than one code fits: all are listed, ranked */
    uint8_t num_codes;
    const char *codes[TD_DEC_MAX_CODES]; /* diagnoses.md codes, most likely first */
    const char *id;          /* stable pattern id, e.g. "openssl.wrong_version_number" */
    const char *source;      /* "OpenSSL", "GnuTLS", "Java", ... */
    const char *explanation; /* one or two sentences */
    const char *next;        /* what to check next; "HOST:PORT" is a placeholder */
    uint32_t line;           /* 1-based line of the text */
    uint32_t col;            /* 0-based column of the matched span */
    uint32_t span_len;       /* length of the matched span */
    char detail[192];        /* words taken from the line itself (the names in Go's
                              * "valid for A, not B"), or a note on its wording;
                              * "" when none.  td_dec_explain prints it after
                              * the explanation. */
};

struct td_dec_result {
    /* hex */
    uint8_t format;                 /* enum td_dec_fmt of the first hex seen */
    uint32_t hex_lines;
    uint32_t num_records, total_records;
    uint32_t num_sessions;          /* connections the records belong to */
    struct td_dec_record records[TD_DEC_MAX_RECORDS];
    uint32_t bytes_len;
    uint8_t *bytes;                 /* owned, TD_DEC_MAX_BYTES at most */
    /* errors */
    uint32_t num_items, total_items;
    struct td_dec_item items[TD_DEC_MAX_ITEMS];
    /* the rest */
    uint32_t lines, blank_lines;
    uint32_t unknown_lines;         /* non-blank lines neither hex, nor a header, nor recognised */
    uint32_t first_unknown_line;
    uint32_t num_issues, total_issues;
    struct td_dec_issue issues[TD_DEC_MAX_ISSUES];
    char target[256];               /* "host:port" when the text names one (-connect,
                                     * https://, "connection to"), else "" */
};

/* td_decode_text reads |len| bytes of |text| (need not be NUL terminated;
 * at most TD_DEC_MAX_INPUT are read) and returns a heap result, or NULL when
 * out of memory.  Hex records, error items, bare alerts, unknown-line counts
 * and issues are all filled in one pass; nothing is printed.  Free with
 * td_dec_result_free.  A NULL |text| with |len| 0 is an empty input. */
struct td_dec_result *td_decode_text(const char *text, size_t len);
void td_dec_result_free(struct td_dec_result *r);

/* td_dec_recognised: at least one record or item was understood. */
bool td_dec_recognised(const struct td_dec_result *r);
/* td_dec_has_decrypted: a record holds a decrypted view (TD_DEC_REC_DECRYPTED):
 * the engine reading the synthetic packets needs td_engine_set_plaintext. */
bool td_dec_has_decrypted(const struct td_dec_result *r);

/* td_dec_classify_line matches one line (|len| bytes, no NUL needed) against
 * the error table and the alert-name extractors and appends what it finds to
 * |r| (line number |lineno|).  Returns the number of items added.  Used by
 * td_decode_text; exposed for callers that feed lines one by one. */
unsigned td_dec_classify_line(struct td_dec_result *r, const char *line, size_t len,
                              uint32_t lineno);

/* td_dec_alert_codes fills |codes| (up to |max|) with the contract codes an
 * alert |desc| maps to when sent by |sender| (TD_DEC_ROLE_CLIENT/SERVER, or
 * UNKNOWN), most likely first, and returns how many; *ambiguous is set when
 * more than one fits.  Names come from the IANA registry, never typed here. */
unsigned td_dec_alert_codes(uint8_t desc, enum td_dec_role sender, const char **codes,
                            unsigned max, bool *ambiguous);

/* td_dec_alert_lookup maps an alert name in any common spelling
 * ("bad_certificate", "bad certificate", "SSLV3_ALERT_BAD_CERTIFICATE",
 * "TLSV1_ALERT_UNKNOWN_CA", Go's "unknown certificate authority") or a
 * number in one of td_dec_alert_number's forms to its code.  Returns -1 when it is not an alert. */
int td_dec_alert_lookup(const char *s, size_t len);

/* td_dec_alert_number reads an alert NUMBER the way it is pasted: "40",
 * "0x28", "alert 40", "alert 0x70", "alert number 42" (blanks, a final dot
 * and line ends around it ignored).  Returns the number (which may not be
 * an assigned alert: check the registry) or -1 when |s| is not that form. */
long td_dec_alert_number(const char *s, size_t len);

/* td_dec_by maps an item to the contract's "by": "client", "server" or
 * "unknown" (side and role both needed). */
const char *td_dec_by(const struct td_dec_item *it);

/* td_dec_explain writes a plain-text explanation of |it| into |buf| (always
 * NUL terminated, truncated to |len|), substituting |target| for "HOST:PORT"
 * when non-empty.  Returns the length written. */
size_t td_dec_explain(const struct td_dec_item *it, const char *target, char *buf, size_t len);

const char *td_dec_issue_name(unsigned kind);

/* ---- synthetic packets (synth.c) ----
 *
 * td_dec_synth turns |r|'s records into raw IPv4 packets (LINKTYPE_RAW, 101):
 * client 192.0.2.1:40000, server 198.51.100.1:443; SYN, SYN-ACK, ACK, then
 * one PSH/ACK data segment per record, seq/ack consistent, checksums correct,
 * frames 1-based, timestamps 1 ms apart from t=0.  Each session (see
 * td_dec_record.session) is its own TCP connection, client port 40000 +
 * session, one after the other.  No FIN or RST is invented:
 * the text does not show how TCP ended.  Records whose direction is unknown
 * are skipped (issue NO_DIRECTION was recorded by td_decode_text).
 * Returns 0, or -1 when out of memory or a record exceeds one IPv4 packet. */
struct td_dec_pkts {
    uint32_t n;
    struct td_pkt *pkts;   /* owned; each pkts[i].data is owned too */
};
int td_dec_synth(struct td_dec_pkts *out, const struct td_dec_result *r);
void td_dec_pkts_cleanup(struct td_dec_pkts *p);

/* ---- through the engine (run.c) ----
 *
 * td_dec_run synthesises the packets and runs them through td_engine with
 * |lim| (NULL: defaults).  Returns the first session's connection (free with
 * td_conn_free) or NULL when there were no usable records or memory ran out;
 * *num_conns (if not NULL) gets how many connections the engine finished
 * (the others are freed: use td_dec_synth + td_engine_* to keep them all). */
struct td_conn;
struct td_limits;
struct td_conn *td_dec_run(const struct td_dec_result *r, const struct td_limits *lim,
                           uint32_t *num_conns);

#endif
