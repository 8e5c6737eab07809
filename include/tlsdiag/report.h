/* report.h: render connections and summaries (lib/report).  Render only:
 * never parse, never judge. */
#ifndef TLSDIAG_REPORT_H
#define TLSDIAG_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/rules.h"
#include "tlsdiag/wbuf.h"

struct td_report_opts {
    bool color;          /* ANSI colours (only on a terminal) */
    bool timeline;       /* text: print the timeline of every connection */
    bool verbose;        /* text: timeline of ok connections too */
    unsigned width;      /* text: lay lines out in this many columns (prose wrapped at
                          * spaces under its label, never inside a word); 0: none */
    const char *source;  /* file name, for the JSON "source" field; may be NULL */
};

/* td_report_json writes one NDJSON line for the connection. */
void td_report_json(struct td_wbuf *w, const struct td_conn *c, const struct td_verdict *v,
                    const struct td_report_opts *o);
void td_report_text(struct td_wbuf *w, const struct td_conn *c, const struct td_verdict *v,
                    const struct td_report_opts *o);

/* TD_SUMMARY_TOP: the failing servers and SNIs listed in the JSON summary
 * (the text lists five), most failures first, ties in the order first seen.
 * Every distinct name is counted, up to TD_SUMMARY_KEYS of each (about
 * 6 MiB at most); the connections of names past that are counted in
 * |over|. */
#define TD_SUMMARY_TOP 64
#define TD_SUMMARY_KEYS 65536u
struct td_count {
    char key[80];
    uint64_t n;
};
struct td_counts {
    struct td_count *v; /* n names, in the order first seen */
    uint32_t *slot;     /* open addressing: index into v + 1, 0 empty */
    uint32_t n, cap, mask;
    uint64_t over;      /* connections not counted: the table was full */
};
/* td_counts_top: the indexes of the (at most) |k| names with the most
 * connections, most first, ties in the order first seen; returns how many */
uint32_t td_counts_top(const struct td_counts *c, uint32_t *out, uint32_t k);
struct td_summary {
    uint64_t conns, by_outcome[5], hidden;
    uint64_t warnings;
    struct { const char *code; uint64_t n; } codes[48];
    uint32_t num_codes;
    struct td_counts servers, snis; /* failed connections by server, by SNI */
    uint64_t anomalies, limit_hits;
    /* connections (shown or not) that hit each of our caps, by anomaly
     * code - 80 (LIMIT_* codes are 80..99) */
    uint64_t limit_conns[20];
    /* the correlation store's caps (docs/limits.md): records and server
     * keys dropped because it was full, set by the caller before printing */
    uint64_t corr_evicted, corr_ctl_evicted, corr_pair_dropped;
};
/* A summary starts zeroed; td_summary_free frees what it counted. */
void td_summary_add(struct td_summary *s, const struct td_conn *c, const struct td_verdict *v);
void td_summary_free(struct td_summary *s);
/* The same in two steps, for `read -j`: what one connection adds, made on
 * a worker thread, added in order on the reader thread. */
struct td_sum_rec {
    bool shown, failed, has_sni;
    uint8_t outcome;
    uint32_t warnings;
    uint64_t anomalies;
    const char *code;   /* primary error code counted, NULL if none */
    uint32_t limit_mask; /* bit (code - 80): a limit_* anomaly on the connection */
    char server[80], sni[80];
};
void td_sum_rec_make(struct td_sum_rec *r, const struct td_conn *c, const struct td_verdict *v);
void td_summary_add_rec(struct td_summary *s, const struct td_sum_rec *r);
void td_report_summary_text(struct td_wbuf *w, const struct td_summary *s, const struct td_stats *st,
                            const struct td_report_opts *o);
/* td_report_summary_json: the same facts as one JSON line (read -q --json):
 * {"summary":{connections, ok, failed, incomplete, partial, warnings, causes{code:n},
 * failing_servers[{name,connections}], failing_snis[...], not_tls, packets, tcp_flows, ...}} */
void td_report_summary_json(struct td_wbuf *w, const struct td_summary *s, const struct td_stats *st);

/* td_report_id_at: where the connection id is in one connection rendered
 * by td_report_json or td_report_text (|n| bytes at |p|, from its start);
 * SIZE_MAX if it is not there.  `read -j` renders a connection before its
 * id is known (as 0) and writes the id there when it prints it. */
size_t td_report_id_at(const char *p, size_t n);

/* shared by the renderers; td_fmt_addr returns the length written */
size_t td_fmt_addr(const struct td_conn *c, uint8_t ep, char *buf, size_t len);

#endif
