/* facts.h (internal): what the rules read, derived once per connection from
 * struct td_conn.  Still facts, no judgement: "the first fatal alert", "the
 * server's RST after the ClientHello", "highest version offered". */
#ifndef TD_RULES_FACTS_H
#define TD_RULES_FACTS_H

#include <stdarg.h>
#include <stdio.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/rules.h"

struct facts {
    const struct td_conn *c;
    const struct td_rules_opts *o;
    uint8_t cep, sep;                   /* client / server endpoint index */
    const struct td_half *hc, *hs;
    const struct td_client_hello *ch;   /* NULL if none */
    const struct td_server_hello *sh, *hrr;
    uint16_t max_offered;               /* highest version the client offered */
    const struct td_alert_rec *alert;   /* first fatal (or unreadable) alert */
    int alert_from;                     /* enum td_from of it */
    const struct td_event *syn, *synack, *ch_ev, *sh_ev;
    const struct td_event *srv_rst, *srv_fin, *cli_rst, *cli_fin; /* first of each */
    const struct td_event *srv_first_tls;  /* first TLS event from the server */
    bool any_payload;
    bool tls13;                         /* ServerHello chose TLS 1.3 */
    bool keys13;                        /* TLS 1.3 read with logged keys: the server's
                                           flight decrypted, the client's not unreadable */
    bool http_status;                   /* the server's first decrypted data is an HTTP response */
    unsigned http_code;                 /* its status code */
    bool established;
    bool client_cert_sent;              /* <= 1.2 Certificate from the client with >= 1 cert */
    bool client_cert_empty;             /* <= 1.2 Certificate from the client with 0 certs */
    int64_t rtt_ns;                     /* SYN -> SYN-ACK as seen here, or -1 */
    /* TLS 1.3 without keys: encrypted records after the ServerHello */
    uint32_t enc13_srv_before_cli;      /* server records before the client's first */
    const struct td_event *enc13_cli_first;
    uint32_t enc13_cli_flight;          /* client records before the server's next */
    const struct td_event *enc13_srv_after_cli; /* first server record after the client's flight */
    const struct td_event *enc13_cli_last_before_srv;
};

/* enc13_alert_sized: a TLS 1.3 record of an alert's size, or a decrypted alert */
bool enc13_alert_sized(const struct td_event *e);
void facts_init(struct facts *f, const struct td_conn *c, const struct td_rules_opts *o);
/* highest version a ClientHello offers (legacy_version or supported_versions) */
uint16_t ch_max_offered(const struct td_client_hello *ch);
int64_t rel_ns(const struct td_conn *c, int64_t ts);

/* diagnosis builders */
struct td_diagnosis *diag_add(struct td_verdict *v, const char *code, enum td_severity sev,
                              enum td_by by, enum td_confidence conf);
void diag_text(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_ev(struct td_diagnosis *d, uint64_t frame, int64_t ts_ns, int from, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_ev_event(struct td_diagnosis *d, const struct facts *f, const struct td_event *e);
void describe_event(const struct facts *f, const struct td_event *e, char *buf, size_t len);
void describe_ch(const struct td_client_hello *ch, char *buf, size_t len);

/* certificate rules (certs.c) */
void rules_certs(const struct facts *f, struct td_verdict *v);

/* What tlsdiag's own checks find wrong with the certificate the client sent
 * (readable: TLS 1.2, or TLS 1.3 with keys): the checks run on the
 * server's chain (key size, signature hash, validity at the capture's time,
 * self-signed), never the server's trust, which the capture does not show. */
struct client_cert_cause {
    bool seen;              /* the client's chain was read and its leaf parsed */
    bool found;             /* something stands out: the fields below are set */
    char who[128];          /* "CN=client.lab.test" */
    char issuer[128];       /* the issuer of the top of its chain (unknown_ca names it) */
    char tag[96];           /* short, for a summary: "its 1024-bit RSA key" */
    char why[400];          /* "client certificate CN=x has a 1024-bit RSA key (...)" */
    char fix[300];          /* what to do about it */
};
void client_cert_check(const struct facts *f, struct client_cert_cause *out);

#endif
