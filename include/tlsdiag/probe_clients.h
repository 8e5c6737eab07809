/* probe_clients.h: client simulation and STARTTLS for `tlsdiag probe`
 * (lib/probe/clients.c, lib/probe/simulate.c, lib/probe/starttls.c).
 *
 * The client database is data/clients/NAME.client: one entry per well-known
 * client, its real ClientHello (captured here, or rebuilt from documented
 * parameters) and where it came from.  The files are embedded into the
 * library at build time (tools/gen-clients.sh -> build/gen/clients_data.c),
 * so the binary needs no data path at run time, and parsed at run time by
 * the bounded text parser below, which also reads a user's own file.
 *
 * Entry format (one key per line, '#' comments):
 *   client ID            starts an entry (ID: [a-z0-9._-], <= 47 bytes)
 *   name TEXT            shown to people
 *   kind captured|rebuilt
 *   source TEXT          where it came from; may repeat
 *   versions MIN-MAX     e.g. 1.0-1.3 (MAX and, with supported_versions, MIN
 *                        are what the hello says; the unit test checks)
 *   ciphers N            cipher suites in the hello, GREASE excluded
 *   sni yes|no           whether the client sends server_name
 *   aia yes|no           whether it fetches missing intermediates (browsers)
 *   param ...            the parameters a rebuilt hello was made from
 *                        (tools/clients-gen.py); ignored here
 *   record XXXX          record-layer version of the first record
 *   hex HEX              the handshake message (type, u24 length, body);
 *                        may repeat, concatenated
 *   end                  ends the entry
 */
#ifndef TLSDIAG_PROBE_CLIENTS_H
#define TLSDIAG_PROBE_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/diag.h"
#include "tlsdiag/tls.h"

/* Caps of the database parser (docs/limits.md). */
#define TD_SIM_MAX_CLIENTS 128     /* entries */
#define TD_SIM_MAX_HELLO 16384     /* bytes of one stored handshake message */
#define TD_SIM_MAX_LINE 1024       /* bytes of one line */
#define TD_SIM_MAX_TEXT (4u << 20) /* bytes of one database text */

struct td_sim_client {
    char id[48];
    char name[128];
    bool captured;               /* kind captured (else rebuilt) */
    char source[1024];           /* the source lines, joined with " | " (truncated) */
    uint16_t vmin, vmax;         /* declared version range (0x0300..0x0304) */
    uint16_t num_ciphers;        /* declared */
    bool sends_sni;
    bool fetches_intermediates;
    uint16_t record_version;
    uint32_t hello_len;
    uint8_t *hello;              /* handshake message with its header (owned) */
    struct td_client_hello ch;   /* parsed by lib/tls/hello.c at load */
    enum td_status parse_status;
};

struct td_sim_db {
    size_t n;
    struct td_sim_client *v;     /* owned */
};

struct td_sim_err {
    unsigned line;               /* 1-based line of the text, 0 when none */
    char msg[160];
};

/* td_sim_db_parse reads database text (several entries, or several files
 * concatenated).  On failure |db| is left empty and |err| says where. */
enum td_status td_sim_db_parse(struct td_sim_db *db, const char *text, size_t len,
                               struct td_sim_err *err);
/* td_sim_db_builtin parses the embedded data/clients. */
enum td_status td_sim_db_builtin(struct td_sim_db *db, struct td_sim_err *err);
void td_sim_db_cleanup(struct td_sim_db *db);
const struct td_sim_client *td_sim_db_find(const struct td_sim_db *db, const char *id);

/* td_sim_hello_sni writes |c|'s hello with its server_name set to |sni|
 * (NULL: the extension is removed, as a client does for an IP literal).
 * A client that sends no SNI keeps its hello as it is.  A padding extension
 * absorbs the length change where it can, so the hello keeps its size
 * class.  The result is framed in records (<= 2^14 bytes each) with the
 * client's record version.  Returns the bytes written, or 0 when |cap| is
 * too small or |sni| is longer than 255 bytes. */
size_t td_sim_hello_records(const struct td_sim_client *c, const char *sni, uint8_t *out,
                            size_t cap);

/* ---- explaining a replay ---- */

/* What the probe learnt about the server (filled from the plan result). */
#define TD_SIM_NVERS 5 /* index 0 SSL 3.0 .. 4 TLS 1.3 */
struct td_sim_server {
    bool version_known[TD_SIM_NVERS];
    bool version_ok[TD_SIM_NVERS];
    uint16_t num_ciphers[TD_SIM_NVERS];
    const uint16_t *ciphers[TD_SIM_NVERS];  /* accepted, server order (borrowed) */
    uint16_t num_groups;                    /* TLS 1.3 groups accepted; 0: unknown */
    const uint16_t *groups;
    bool sni_required;                      /* no SNI -> refused, SNI -> accepted */
    bool chain_incomplete;                  /* the server does not send its intermediate */
    bool client_cert_required;              /* refuses handshakes without a client certificate */
    bool client_cert_requested;             /* sends a CertificateRequest (required or optional) */
};

/* How the replay of one client's hello ended. */
enum td_sim_obs_kind {
    TD_SIM_SERVER_HELLO, TD_SIM_ALERT, TD_SIM_RST, TD_SIM_FIN, TD_SIM_TIMEOUT,
    TD_SIM_NOT_TLS, TD_SIM_NO_CONNECT, TD_SIM_LOCAL_ERROR
};
struct td_sim_obs {
    enum td_sim_obs_kind kind;
    uint8_t alert;
    uint16_t version, cipher;
    const char *engine_code;     /* the rules' primary code for the replay, or NULL */
};

struct td_sim_result {
    const struct td_sim_client *client;
    bool ok;
    bool predicted;              /* |code| comes from comparing the hello with
                                    the server's probed capabilities */
    uint16_t version, cipher;    /* negotiated (ok) */
    bool cert_asked;             /* ok, but the server asked for a client certificate
                                    (optional client auth: it goes on without one) */
    char answer[48];             /* "server_hello", "alert:protocol_version", "rst", ... */
    char code[32];               /* contract code of the cause (failed) */
    char detail[256];
    char fix[256];
};

/* td_sim_explain judges one replay.  Pure. */
void td_sim_explain(struct td_sim_result *r, const struct td_sim_client *c,
                    const struct td_sim_server *srv, const struct td_sim_obs *obs);

/* td_sim_version_index: 0x0300..0x0304 -> 0..4, else -1. */
int td_sim_version_index(uint16_t v);

/* ---- STARTTLS (lib/probe/starttls.c) ---- */

#define TD_STARTTLS_MAX_READ 16384  /* plaintext bytes read before giving up */

enum td_starttls_fail {
    TD_STLS_OK,
    TD_STLS_UNKNOWN_PROTO,   /* we do not speak it */
    TD_STLS_BAD_GREETING,    /* the server's first words are not the protocol's */
    TD_STLS_NOT_OFFERED,     /* capabilities list no STARTTLS */
    TD_STLS_REFUSED,         /* the STARTTLS command was answered with an error */
    TD_STLS_TLS_INSTEAD,     /* the server spoke TLS at once (wrong port for STARTTLS) */
    TD_STLS_TIMEOUT,
    TD_STLS_CLOSED,          /* FIN or RST during the plaintext phase */
    TD_STLS_TOO_LONG,        /* more than TD_STARTTLS_MAX_READ bytes or an overlong line */
    TD_STLS_IO,              /* local socket error */
    TD_STLS_CONNECT          /* the TCP connection failed (preflight only) */
};

struct td_starttls_result {
    enum td_starttls_fail fail;
    char why[192];           /* one line: what the server said or did */
    uint32_t bytes_read, bytes_sent;
};

const char *td_starttls_fail_str(enum td_starttls_fail f); /* stable snake_case */
/* td_starttls_proto_ok: |proto| is one of smtp imap pop3 ftp xmpp ldap postgres. */
bool td_starttls_proto_ok(const char *proto);
/* td_starttls_run does the plaintext phase of |proto| on the connected
 * socket |fd| (blocking or not; it polls), within |timeout_ms| overall and
 * TD_STARTTLS_MAX_READ bytes; |host| is used where the protocol names the
 * server (XMPP's to=, SMTP's EHLO takes a fixed name).  Returns 0 when the
 * socket is ready for the ClientHello. */
int td_starttls_run(int fd, const char *proto, const char *host, int timeout_ms,
                    struct td_starttls_result *r);
/* td_starttls_preflight connects to |addr| (within |connect_ms|), runs the
 * plaintext phase (within |timeout_ms|) and closes: one connection that
 * tells whether the server offers STARTTLS at all, before any probe. */
struct sockaddr;
int td_starttls_preflight(const struct sockaddr *addr, unsigned addrlen, const char *proto,
                          int connect_ms, int timeout_ms, struct td_starttls_result *r);
/* td_starttls_hook has the td_starttls_fn shape of probe.h: |why| gets
 * "<fail code>: <what happened>". */
int td_starttls_hook(int fd, const char *proto, int timeout_ms, char *why, size_t whylen);

#endif
