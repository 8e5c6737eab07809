/* upgrade.h (internal to lib/timeline): the plaintext phase before TLS.
 *
 * STARTTLS-style protocols (SMTP, IMAP, POP3, FTP AUTH TLS, XMPP, LDAP
 * StartTLS, PostgreSQL SSLRequest) and tunnels (HTTP CONNECT, SOCKS4/5)
 * speak plaintext first and then TLS on the same TCP connection.  The
 * engine hands each direction's in-order bytes here while the connection
 * is in that phase; this module recognises the protocol from the first
 * bytes, follows its request and reply, and says where each direction's
 * TLS bytes begin.  It never judges: the request, the reply and its class
 * (accepted/refused) go into struct td_upgrade_info for the rules.
 * Bounded: at most TD_UP_CAP plaintext bytes per direction are kept and
 * inspected; past that the connection is treated as not TLS. */
#ifndef TD_TIMELINE_UPGRADE_H
#define TD_TIMELINE_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/conn.h"

#define TD_UP_CAP 16384u

enum td_up_dir_state { TD_UPD_PLAIN, TD_UPD_TLS };

struct td_upgrade {
    bool active;          /* the connection is (or was) in a plaintext phase */
    bool decided;         /* the first payload was judged */
    bool gave_up;         /* not an upgrade after all: not TLS */
    uint8_t cli;          /* endpoint of the client */
    uint8_t dstate[2];    /* enum td_up_dir_state, by endpoint */
    uint8_t *buf[2];      /* plaintext kept, by endpoint */
    uint32_t len[2], pos[2];
    /* no '\n' in buf[ep][nl_from[ep], nl_to[ep]): a line that arrives a byte
     * at a time is not searched again from its start for every byte */
    uint32_t nl_from[2], nl_to[2];
    /* HTTP CONNECT: the header lines after the status line at hdr_start
     * were read up to hdr_resume (all complete, none blank) */
    uint32_t hdr_start[2], hdr_resume[2];
    uint32_t cli_tls_at;  /* client offset where TLS may start (0: not yet) */
    bool cli_req_done;    /* the client's request is complete */
    char tag[24];         /* IMAP tag of the STARTTLS command */
    uint32_t cli_cmds;    /* client command lines before its request */
    uint32_t srv_replies; /* server final replies (greeting included) */
};

enum td_up_res {
    TD_UP_NONE,    /* no plaintext phase here: feed the bytes to TLS as usual */
    TD_UP_MORE,    /* bytes kept as plaintext */
    TD_UP_TLS,     /* this direction switched to TLS: feed *tls, *tls_len */
    TD_UP_GIVE_UP  /* not an upgrade: the engine marks the connection not TLS */
};

/* Events the module asks the engine to add (request, reply). */
struct td_up_events {
    bool req, reply;
};

void td_up_init(struct td_upgrade *u);
void td_up_free(struct td_upgrade *u);
/* td_up_feed: |n| new in-order bytes from endpoint |ep|.  |syn_client| is
 * the client endpoint from the SYN, or -1 when unknown (then there is no
 * plaintext phase: a capture that starts mid-stream is left to the TLS
 * stream's resynchronisation). */
enum td_up_res td_up_feed(struct td_upgrade *u, struct td_upgrade_info *info, uint8_t ep, int syn_client,
                          const uint8_t *p, size_t n, const uint8_t **tls, size_t *tls_len,
                          struct td_up_events *evs);

#endif
