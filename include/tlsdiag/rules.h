/* rules.h: from facts to causes (lib/rules).
 *
 * Each rule is a small pure function of one connection's timeline and parsed
 * messages (struct td_conn); rules never read raw bytes.  The codes are the
 * contract in docs/diagnoses.md (copied from shared/spec/diagnoses.md):
 * never renamed, never reused. */
#ifndef TLSDIAG_RULES_H
#define TLSDIAG_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "tlsdiag/conn.h"

enum td_outcome { TD_OUT_OK, TD_OUT_FAILED, TD_OUT_INCOMPLETE, TD_OUT_PARTIAL, TD_OUT_NOT_TLS };
enum td_severity { TD_SEV_ERROR, TD_SEV_WARNING, TD_SEV_INFO };
enum td_by { TD_BY_CLIENT, TD_BY_SERVER, TD_BY_MIDDLEBOX, TD_BY_NETWORK, TD_BY_CAPTURE, TD_BY_UNKNOWN };
enum td_confidence { TD_CONF_HIGH, TD_CONF_MEDIUM, TD_CONF_LOW };
enum td_resumption { TD_RES_NONE, TD_RES_SESSION_ID, TD_RES_TICKET, TD_RES_PSK };

const char *td_outcome_str(enum td_outcome o);
const char *td_severity_str(enum td_severity s);
const char *td_by_str(enum td_by b);
const char *td_confidence_str(enum td_confidence c);
const char *td_resumption_str(enum td_resumption r);

#define TD_EV_WHAT_LEN 128
struct td_evidence {
    uint64_t frame;
    int64_t ts_ns;
    int8_t from;            /* enum td_from, or -1 when no side */
    char what[TD_EV_WHAT_LEN];
};

#define TD_MAX_EVIDENCE 6
struct td_diagnosis {
    const char *code;       /* a contract code (static string) */
    enum td_severity severity;
    enum td_by by;
    enum td_confidence confidence;
    char summary[192];
    char explanation[768];
    char fix[384];
    uint8_t num_ev;
    struct td_evidence ev[TD_MAX_EVIDENCE];
};

/* td_diagnosis_push appends a zeroed diagnosis with |code| (a static
 * contract string) and its grading to |arr|, of which |*num| of
 * TD_MAX_DIAGNOSES are used, and returns it; NULL (nothing changed) when
 * the array is full.  The one builder for connection verdicts (lib/rules)
 * and probe results (lib/probe/plan.c). */
struct td_diagnosis *td_diagnosis_push(struct td_diagnosis *arr, uint8_t *num, const char *code,
                                       enum td_severity sev, enum td_by by, enum td_confidence conf);

struct td_handshake_kind {
    bool resumed;
    enum td_resumption resumption;
    bool mutual, hello_retry, early_data;
    uint8_t round_trips;
    bool has_think;
    int64_t think_ns;       /* ClientHello to the server's first flight */
};

#define TD_MAX_DIAGNOSES 10
struct td_verdict {
    enum td_outcome outcome;
    bool shown;             /* a TLS connection, or a TCP failure worth showing */
    struct td_handshake_kind hs;
    uint8_t num;
    struct td_diagnosis d[TD_MAX_DIAGNOSES];
};

struct td_trust;
struct td_chain_cache;
struct td_rules_opts {
    int64_t now;            /* unix seconds to judge certificates at; 0 = capture time */
    const struct td_trust *trust; /* NULL = no trust check */
    struct td_chain_cache *chain_cache; /* NULL = none; one per thread (x509.h) */
};

/* td_rules_run fills |v| for |c|.  Pure: same input, same verdict. */
void td_rules_run(struct td_verdict *v, const struct td_conn *c, const struct td_rules_opts *o);

/* Cross-connection correlation within one capture: SNI-dependent resets and
 * drops, proxies that need SNI, version fallbacks.  Add every connection,
 * then revise.  The store is bounded by the servers and the connections of
 * the last minutes, not by the length of the capture. */
struct td_corr;
struct td_corr *td_corr_new(void);
/* td_corr_set_idle: the flow idle timeout in use (--idle).  A failed
 * connection may be revised that long after its last packet, so the store
 * keeps records that much longer (plus slack); 300 s unless set. */
void td_corr_set_idle(struct td_corr *k, uint32_t idle_s);
/* td_corr_set_source: the connections added (and revised) from now on come
 * from the capture file |path| (NULL: unnamed).  Call it before each file
 * of a run; each call starts a new capture even when |path| repeats.  A
 * diagnosis that cites a connection of another capture names it by the
 * file's base name ("connection #1 of ok.pcap") in its text and never as an
 * evidence item: evidence frames are frames of the connection's own file.
 * Captures are told apart by their first packet's time as well
 * (td_conn.capture_start_ns), so without this call a connection of another
 * file is still not taken for one of this file ("of another capture"). */
void td_corr_set_source(struct td_corr *k, const char *path);
/* td_corr_add keeps facts of |c| and whether |v| failed (|v| may be NULL). */
void td_corr_add(struct td_corr *k, const struct td_conn *c, const struct td_verdict *v);
/* The same in two steps, for `read -j`: a worker thread makes the record
 * (false: nothing to keep), the reader thread adds it. */
struct td_corr_rec {
    uint64_t id;
    uint64_t frame;
    int64_t ts_ns;
    int64_t capture_start_ns; /* its capture's first packet (td_conn) */
    uint8_t ipver;
    uint8_t srv[16];
    uint8_t cli[16];
    uint16_t port;
    uint16_t max_offered;  /* highest version offered */
    bool has_sni;
    bool scsv;             /* TLS_FALLBACK_SCSV offered */
    bool got_sh;           /* the server answered with a ServerHello */
    bool failed;           /* outcome failed */
    const char *code;      /* primary code of a failed one (static string) */
    char sni[64];
};
bool td_corr_rec_make(struct td_corr_rec *e, const struct td_conn *c, const struct td_verdict *v);
void td_corr_add_rec(struct td_corr *k, const struct td_corr_rec *e);
/* td_corr_prefetch asks for the cache lines td_corr_add_rec of |e| will
 * touch in the store (a hint, nothing else) */
void td_corr_prefetch(const struct td_corr *k, const struct td_corr_rec *e);
/* td_corr_may_revise: false when td_corr_revise leaves |v| as it is
 * whatever the store holds. */
bool td_corr_may_revise(const struct td_conn *c, const struct td_verdict *v);
/* td_corr_revise may replace the primary cause of |v| with one the other
 * connections prove (and says so in the evidence). */
void td_corr_revise(const struct td_corr *k, const struct td_conn *c, struct td_verdict *v);
void td_corr_free(struct td_corr *k);
/* what the store holds and dropped (lib/rules/correlate.c says how) */
struct td_corr_stats {
    uint64_t records;      /* kept for version fallbacks */
    uint64_t expired;      /* dropped: too old for any later window */
    uint64_t evicted;      /* dropped over the record cap */
    uint64_t pair_dropped; /* no longer looked at: over PAIR_KEEP of one client and server */
    uint64_t ctl_keys;     /* servers and (server, port)s kept for SNI controls */
    uint64_t ctl_evicted;  /* dropped over the key cap */
};
void td_corr_stats(const struct td_corr *k, struct td_corr_stats *s);

/* helpers the report uses too */
const struct td_diagnosis *td_verdict_primary(const struct td_verdict *v);
/* td_cipher_class: 0 modern (AEAD + forward secrecy, or TLS 1.3), 1 legacy
 * (CBC, static RSA, finite-field DHE), 2 weak (NULL, anon, export, RC4,
 * DES/3DES, RC2, IDEA, MD5), -1 signalling value or unknown */
int td_cipher_class(uint16_t cipher);

#endif
