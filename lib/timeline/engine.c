/* engine.c: the pipeline below the rules.
 *
 *   td_pkt -> td_decode_tcp -> flow table -> td_reasm (per direction)
 *          -> td_tls_stream (per direction) -> sink below -> td_conn
 *
 * The sink is where records and messages become timeline events and parsed
 * messages are stored on the connection.  It parses, never judges.  Every
 * event is stamped with the packet that completed it (as Wireshark shows a
 * reassembled message at its last segment). */
#include <stdlib.h>
#include "tlsdiag/alloc.h"
#include <string.h>

#include "tcp/flowtab.h"
#include "timeline/engine_int.h"
#include "tcp/reasm.h"
#include "util/hash.h"
#include "tls/stream.h"
#include "upgrade.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/decrypt.h"

/* A closed connection lingers this long (capture time) for late packets. */
#define LINGER_NS TD_LINGER_NS
/* Encrypted records kept one by one per direction before merging (the
 * TLS 1.3 inference rules read the sizes and order of the first ones). */
#define ENC_EVENTS_DISTINCT 12u

struct flow {
    struct td_flow_node node; /* first: the table hands back this pointer */
    struct td_engine *eng;
    struct td_conn *conn;
    uint8_t conn_ep_of_key[2]; /* key endpoint -> conn endpoint */
    struct td_reasm rs[2];     /* by conn endpoint */
    struct td_tls_stream ts[2];
    bool ch_done;
    bool ch_ack_seen;
    uint32_t ch_end_seq;       /* client's next seq after its ClientHello */
    uint32_t enc_events[2];
    uint32_t data_segs[2];     /* new-data segments per endpoint (until the hello) */
    uint32_t rst_events;
    size_t acct;               /* bytes this flow was last counted at (max_memory) */
    struct td_upgrade up;      /* plaintext phase before TLS (upgrade.c) */
    struct td_rec_cipher rx[2]; /* read keys by conn endpoint (decryption) */
    bool missing[2];           /* the key log lacks the secret this side needs now */
    uint8_t missing_label[2];  /* enum td_secret_label looked for */
    uint64_t missing_seq[2];   /* protected records that went by meanwhile */
    struct td_rec_cipher rx_alt[2]; /* after a late key: the next epoch's keys, tried on failure */
    struct td_rec_cipher rx_early; /* the client's 0-RTT keys (CLIENT_EARLY_TRAFFIC_SECRET) */
    bool early_active;         /* the client's stream reads with rx_early */
    uint32_t app_events[2];    /* decrypted application data events */
};

struct pkt_ctx { /* the packet being processed, for event stamps */
    const struct td_pkt *pkt;
    int64_t ts_ns; /* pkt_ts(pkt), once per packet */
    const struct td_tcp_pkt *tcp;
    struct flow *f;
    uint8_t ep;
};

struct td_engine {
    struct td_limits lim;
    td_conn_done_fn done;
    void *done_ctx;
    struct td_flowtab tab;
    struct td_stats st;
    size_t mem;                /* accounted bytes of open flows */
    /* the caps, per partition (flowtab.h): nparts from --max-flows alone,
     * each partition's share of --max-memory and its accounted bytes
     * (the flow table keeps the shares of --max-flows) */
    unsigned nparts;
    uint64_t part_memcap[TD_FLOW_PARTS];
    size_t part_mem[TD_FLOW_PARTS];
    uint8_t part_owner[TD_FLOW_PARTS]; /* sharded: the shard of each partition */
    uint64_t next_id;
    int64_t now_ns;
    int64_t start_ns;
    bool started;
    bool driven;        /* flows opened and closed by a td_par directory */
    uint64_t frame_now; /* the packet being read (its end_frame for closes) */
    unsigned shard_idx, shard_n; /* td_engine_shard; shard_n 0: every flow */
    td_engine_new_fn on_new;
    void *on_new_ctx;
    struct pkt_ctx cur;
    const struct td_keylog *kl; /* not owned; may grow between packets */
    bool plain;                 /* protected records already hold plaintext */
};

void td_engine_set_keylog(struct td_engine *e, const struct td_keylog *kl) { e->kl = kl; }

void td_engine_set_plaintext(struct td_engine *e, bool on) { e->plain = on; }

/* install_plain: plaintext mode (td_engine_set_plaintext): where keys would
 * be installed, endpoint |ep|'s records are read as they are. */
static void install_plain(struct flow *f, uint8_t ep)
{
    td_rec_cipher_init_plain(&f->rx[ep]);
    f->missing[ep] = false;
    td_tls_stream_set_keys(&f->ts[ep], &f->rx[ep]);
    td_tls_stream_set_next_keys(&f->ts[ep], NULL);
    if (f->conn->half[ep].decrypt == TD_DECRYPT_NONE)
        f->conn->half[ep].decrypt = TD_DECRYPT_KEYS;
}

const char *td_decrypt_state_str(uint8_t st)
{
    static const char *const t[] = {"none", "keys", "ok", "no_secret", "failed", "unsupported"};
    return st < 6 ? t[st] : "none";
}

void td_limits_default(struct td_limits *l)
{
    l->max_flows = 1000000;
    l->reasm_bytes = 1u << 20;
    l->hs_msg_max = 256u * 1024u;
    l->max_records = TD_TLS_MAX_RECORDS;
    l->max_events = 512;
    l->max_extensions = TD_MAX_U16_LIST;
    l->max_anomalies = TD_DIAG_MAX;
    l->idle_timeout_s = 300;
    l->max_memory = 192u * 1024u * 1024u;
}

/* pkt_ts in nanoseconds.  The reader keeps ts_sec in [0, TD_MAX_TS_SEC];
 * other callers of td_engine_packet are clamped the same way so the
 * multiplication and later differences cannot overflow. */
static int64_t pkt_ts(const struct td_pkt *p)
{
    int64_t s = p->ts_sec;

    if (s < 0)
        s = 0;
    if (s > (int64_t)TD_MAX_TS_SEC)
        s = (int64_t)TD_MAX_TS_SEC;
    /* the reader gives ts_nsec below 10^9; others may not (no division when it is) */
    return s * 1000000000LL + (int64_t)(p->ts_nsec < 1000000000u ? p->ts_nsec : p->ts_nsec % 1000000000u);
}

/* ---- connection objects ---- */

void td_conn_free(struct td_conn *c)
{
    if (c == NULL)
        return;
    td_pool_free(c->ch.m, sizeof(*c->ch.m));
    td_pool_free(c->ch2.m, sizeof(*c->ch2.m));
    /* the message structs come from this thread's pool (sink_handshake);
     * td_pool_free takes a block from td_malloc too */
    td_pool_free(c->hrr.m, sizeof(*c->hrr.m));
    td_pool_free(c->sh.m, sizeof(*c->sh.m));
    for (int i = 0; i < 2; i++) {
        if (c->cert[i].m != NULL)
            td_certificate_cleanup(c->cert[i].m);
        td_pool_free(c->cert[i].m, sizeof(*c->cert[i].m));
    }
    if (c->cr.m != NULL)
        td_certificate_request_cleanup(c->cr.m);
    td_pool_free(c->cr.m, sizeof(*c->cr.m));
    td_pool_free(c->ske.m, sizeof(*c->ske.m));
    td_pool_free(c->nst.m, sizeof(*c->nst.m));
    td_pool_free(c->ee.m, sizeof(*c->ee.m));
    td_pool_free(c->events, (size_t)c->cap_events * sizeof(*c->events));
    td_pool_free(c, sizeof(*c));
}

static struct td_event *ev_add(struct td_engine *e, struct td_conn *c, enum td_ev_kind kind, uint8_t ep)
{
    struct td_event *ev;

    c->total_events++;
    if (c->num_events == c->cap_events) {
        uint32_t ncap = c->cap_events ? c->cap_events * 2 : 16;
        struct td_event *ne;
        if (ncap > e->lim.max_events)
            ncap = e->lim.max_events;
        if (ncap <= c->cap_events) {
            if (!td_diag_has(&c->anomalies, TD_AN_LIMIT_EVENTS)) {
                td_diag_add(&c->anomalies, TD_AN_LIMIT_EVENTS, 0, 0);
                e->st.limit_hits++;
            }
            return NULL;
        }
        ne = td_pool_grow(c->events, (size_t)c->cap_events * sizeof(*ne), ncap * sizeof(*ne));
        if (ne == NULL)
            return NULL;
        c->events = ne;
        c->cap_events = ncap;
    }
    ev = &c->events[c->num_events++];
    memset(ev, 0, sizeof(*ev));
    ev->kind = (uint8_t)kind;
    ev->ep = ep;
    ev->count = 1;
    if (e->cur.pkt != NULL) {
        ev->frame = e->cur.pkt->frame;
        ev->ts_ns = e->cur.ts_ns;
    } else {
        /* between packets (a cap evicting, a gap found when the flow
         * ends): at the connection's last packet, not frame 0 at time 0,
         * which printed as -1700000000 s into the capture.  Its own
         * packet, so the same whichever worker holds it, and the
         * timeline stays in order. */
        ev->frame = c->last_frame;
        ev->ts_ns = c->last_ts_ns;
    }
    if (e->cur.tcp != NULL) {
        ev->ttl = e->cur.tcp->ttl;
        ev->has_ipid = e->cur.tcp->has_ipid;
        ev->ipid = e->cur.tcp->ipid;
        ev->window = e->cur.tcp->window;
    }
    return ev;
}

/* ---- TLS sink: records and messages from one direction ---- */

static struct flow *sink_flow(void *ctx) { return (struct flow *)ctx; }

static void set_client(struct td_conn *c, uint8_t ep)
{
    c->client = ep;
    c->client_known = true;
}

static bool negotiated_tls13(const struct td_conn *c)
{
    return (c->sh.m != NULL && c->sh.m->selected_version == 0x0304) ||
           (c->hrr.m != NULL && c->hrr.m->selected_version == 0x0304);
}

#define KEEP(slot, ptr, ep_)                                \
    do {                                                    \
        (slot).m = (ptr);                                   \
        (slot).frame = e->cur.pkt ? e->cur.pkt->frame : 0;  \
        (slot).ts_ns = e->cur.pkt ? e->cur.ts_ns : 0; \
        (slot).ep = (ep_);                                  \
    } while (0)

static void merge_diag(struct td_conn *c, const struct td_diag *d)
{
    for (uint32_t i = 0; i < d->n; i++)
        td_diag_add(&c->anomalies, (enum td_anomaly)d->recs[i].code, d->recs[i].ext_type, d->recs[i].off);
}

static void keys13_early(struct flow *f, const struct td_client_hello *ch, uint8_t ep);

static void on_client_hello(struct flow *f, struct td_client_hello *ch, uint8_t ep)
{
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;

    c->num_ch++;
    if (c->ch.m == NULL) {
        KEEP(c->ch, ch, ep);
        set_client(c, ep);
        c->ch_last_frame = c->ch.frame;
        c->ch_ts_ns = c->ch.ts_ns;
        f->ch_done = true;
        f->ch_end_seq = f->rs[ep].next_seq;
        c->ch_segments = f->data_segs[ep];
        keys13_early(f, ch, ep);
    } else if (c->ch2.m == NULL && ep == c->client) {
        KEEP(c->ch2, ch, ep);
    } else {
        td_pool_free(ch, sizeof(*ch));
    }
}

/* ---- decryption keys (from the key log) ---- */

static void dec_fail(struct flow *f, uint8_t ep, uint8_t state, enum td_anomaly code, uint64_t off)
{
    struct td_conn *c = f->conn;

    c->half[ep].decrypt = state;
    f->rx[ep].active = false;
    td_tls_stream_set_keys(&f->ts[ep], NULL);
    /* once per connection and code: the first place says enough */
    if (!td_diag_has(&c->anomalies, code))
        td_diag_add(&c->anomalies, code, 0, (size_t)off);
}

/* install13 loads the TLS 1.3 traffic secret |label| of this connection
 * into endpoint |ep|'s read keys. */
static void install13(struct flow *f, uint8_t ep, enum td_secret_label label)
{
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    uint8_t sec[TD_SECRET_MAX];
    size_t n;
    enum td_status st;

    if (e->plain) {
        install_plain(f, ep);
        return;
    }
    n = td_keylog_find(e->kl, c->ch.m->random, label, sec);
    if (n == 0) {
        /* said only when a record needs it (sink_encrypted): a client that
         * aborts after the server's flight logs no secrets of its own */
        f->missing[ep] = true;
        f->missing_label[ep] = (uint8_t)label;
        f->missing_seq[ep] = 0;
        f->rx[ep].active = false;
        td_tls_stream_set_keys(&f->ts[ep], NULL);
        return;
    }
    f->missing[ep] = false;
    st = td_rec_cipher_init13(&f->rx[ep], c->sh.m->cipher, sec, n);
    memset(sec, 0, sizeof(sec));
    if (st != TD_OK) {
        /* a secret of the wrong length for the suite: not this connection's key */
        dec_fail(f, ep, TD_DECRYPT_FAILED, TD_AN_DECRYPT_BAD_RECORD, f->ts[ep].off);
        return;
    }
    td_tls_stream_set_keys(&f->ts[ep], &f->rx[ep]);
    td_tls_stream_set_next_keys(&f->ts[ep], NULL);
    if (c->half[ep].decrypt == TD_DECRYPT_NONE)
        c->half[ep].decrypt = TD_DECRYPT_KEYS;
}

/* keys13_handshake: at a TLS 1.3 ServerHello, both directions switch to
 * their handshake traffic secrets (RFC 8446 7.1). */
static void keys13_handshake(struct flow *f)
{
    struct td_conn *c = f->conn;
    uint8_t cep = c->client, sep = (uint8_t)(1 - c->client);
    struct td_suite su;

    if ((f->eng->kl == NULL && !f->eng->plain) || c->ch.m == NULL || c->sh.m == NULL)
        return;
    if (!f->eng->plain && (!td_suite_lookup(c->sh.m->cipher, &su) || !su.tls13)) {
        dec_fail(f, sep, TD_DECRYPT_UNSUPPORTED, TD_AN_DECRYPT_UNSUPPORTED, 0);
        dec_fail(f, cep, TD_DECRYPT_UNSUPPORTED, TD_AN_DECRYPT_UNSUPPORTED, 0);
        return;
    }
    install13(f, sep, TD_SEC_SERVER_HS);
    install13(f, cep, TD_SEC_CLIENT_HS);
    if (f->early_active && f->rx_early.active) {
        /* 0-RTT: the client goes on with its early keys until its
         * EndOfEarlyData; if the server rejects the early data the client
         * moves to its handshake keys at once, which the stream finds by
         * trying them when the early keys fail */
        td_tls_stream_set_keys(&f->ts[cep], &f->rx_early);
        td_tls_stream_set_next_keys(&f->ts[cep], f->rx[cep].active ? &f->rx[cep] : NULL);
    }
}

/* keys13_early: a ClientHello offering early_data whose client logged its
 * early traffic secret: its next application_data records are 0-RTT data
 * (RFC 8446 2.3).  The suite is the resumed session's, not yet known: take
 * the first TLS 1.3 suite offered whose hash fits the secret's length. */
static void keys13_early(struct flow *f, const struct td_client_hello *ch, uint8_t ep)
{
    uint8_t sec[TD_SECRET_MAX];
    size_t n;

    if (f->eng->kl == NULL || !ch->has_early_data || !ch->has_psk)
        return;
    n = td_keylog_find(f->eng->kl, ch->random, TD_SEC_CLIENT_EARLY, sec);
    if (n == 0)
        return;
    for (uint16_t i = 0; i < ch->num_ciphers; i++) {
        if (td_rec_cipher_init13(&f->rx_early, ch->ciphers[i], sec, n) == TD_OK) {
            f->early_active = true;
            td_tls_stream_set_encrypted(&f->ts[ep], true);
            td_tls_stream_set_keys(&f->ts[ep], &f->rx_early);
            if (f->conn->half[ep].decrypt == TD_DECRYPT_NONE)
                f->conn->half[ep].decrypt = TD_DECRYPT_KEYS;
            break;
        }
    }
    memset(sec, 0, sizeof(sec));
}

static bool sh_has_ext(const struct td_server_hello *sh, uint16_t type)
{
    for (uint16_t i = 0; i < sh->ext_order.n; i++)
        if (sh->ext_order.v[i] == type)
            return true;
    return false;
}

/* keys12: TLS <= 1.2, at |ep|'s ChangeCipherSpec: its next records are
 * protected with the key block of the logged master secret. */
static void keys12(struct flow *f, uint8_t ep)
{
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    uint8_t ms[TD_SECRET_MAX];
    size_t n;
    enum td_status st;

    if ((e->kl == NULL && !e->plain) || c->ch.m == NULL || c->sh.m == NULL)
        return;
    if (e->plain) {
        install_plain(f, ep);
        return;
    }
    n = td_keylog_find(e->kl, c->ch.m->random, TD_SEC_MASTER, ms);
    if (n != 48) {
        f->missing[ep] = true;
        f->missing_label[ep] = TD_SEC_MASTER;
        f->missing_seq[ep] = 0;
        return;
    }
    f->missing[ep] = false;
    st = td_rec_cipher_init12(&f->rx[ep], c->sh.m->selected_version, c->sh.m->cipher,
                              sh_has_ext(c->sh.m, TD_EXT_ENCRYPT_THEN_MAC), ms, c->ch.m->random, c->sh.m->random,
                              ep == c->client);
    memset(ms, 0, sizeof(ms));
    if (st != TD_OK) {
        dec_fail(f, ep, TD_DECRYPT_UNSUPPORTED, TD_AN_DECRYPT_UNSUPPORTED, f->ts[ep].off);
        return;
    }
    td_tls_stream_set_keys(&f->ts[ep], &f->rx[ep]);
    if (c->half[ep].decrypt == TD_DECRYPT_NONE)
        c->half[ep].decrypt = TD_DECRYPT_KEYS;
}

static void sink_decrypt_failed(void *ctx, enum td_unprotect res, uint8_t ct, uint32_t len, uint64_t off)
{
    struct flow *f = sink_flow(ctx);
    struct td_conn *c = f->conn;
    uint8_t ep = f->eng->cur.ep;

    (void)ct;
    (void)len;
    /* RFC 8446 4.2.10: a client that offered 0-RTT sends early data under
     * the early traffic secret (and EndOfEarlyData) before its handshake
     * records; a server that rejects it skips what it cannot decrypt.  So
     * do we, until the first client record decrypts with the handshake key. */
    if (res == TD_UNP_BAD_RECORD && ep == c->client && negotiated_tls13(c) && c->ch.m != NULL &&
        c->ch.m->has_early_data && f->ts[ep].decrypted == 0 && c->half[ep].early_skipped < 1024) {
        c->half[ep].early_skipped++;
        return;
    }
    dec_fail(f, ep, TD_DECRYPT_FAILED,
             res == TD_UNP_BAD_RECORD ? TD_AN_DECRYPT_BAD_RECORD
             : res == TD_UNP_MALFORMED ? TD_AN_DECRYPT_MALFORMED : TD_AN_DECRYPT_UNSUPPORTED,
             off);
}

static void sink_handshake(void *ctx, uint8_t type, struct td_cur *body, uint16_t rec_version)
{
    struct flow *f = sink_flow(ctx);
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    uint8_t ep = e->cur.ep;
    struct td_event *ev = ev_add(e, c, TD_EV_HANDSHAKE, ep);
    uint32_t len = (uint32_t)td_cur_len(body);
    bool dec = f->ts[ep].decrypted_now;
    bool tls13 = negotiated_tls13(c);

    if (ev != NULL) {
        ev->hs_type = type;
        ev->len = len;
        ev->version = rec_version;
        ev->decrypted = dec;
    }
    /* Each parser zeroes its whole struct first (keeping record_version,
     * set here), so the structs below are allocated without clearing. */
    switch (type) {
    case TD_HS_CLIENT_HELLO: {
        struct td_client_hello *ch = td_pool_alloc(sizeof(*ch));
        if (ch == NULL)
            return;
        ch->record_version = rec_version;
        (void)td_parse_client_hello_max(ch, body, (uint16_t)e->lim.max_extensions);
        merge_diag(c, &ch->diag);
        on_client_hello(f, ch, ep);
        break;
    }
    case TD_HS_SERVER_HELLO: {
        struct td_server_hello *sh = td_pool_alloc(sizeof(*sh));
        if (sh == NULL)
            return;
        sh->record_version = rec_version;
        (void)td_parse_server_hello_max(sh, body, (uint16_t)e->lim.max_extensions);
        merge_diag(c, &sh->diag);
        if (!c->client_known)
            set_client(c, (uint8_t)(1 - ep));
        if (sh->is_hrr && c->hrr.m == NULL) {
            KEEP(c->hrr, sh, ep);
            if (f->early_active) {
                /* RFC 8446 4.2.10: after a HelloRetryRequest there is no
                 * 0-RTT; the second ClientHello is in clear */
                f->early_active = false;
                td_tls_stream_set_keys(&f->ts[c->client], NULL);
                td_tls_stream_set_encrypted(&f->ts[c->client], false);
            }
        } else if (!sh->is_hrr && c->sh.m == NULL) {
            KEEP(c->sh, sh, ep);
            if (sh->selected_version == 0x0304) {
                /* TLS 1.3: everything after the ServerHello is encrypted,
                 * in both directions (RFC 8446 section 2). */
                td_tls_stream_set_encrypted(&f->ts[0], true);
                td_tls_stream_set_encrypted(&f->ts[1], true);
                c->half[0].encrypted = c->half[1].encrypted = true;
                keys13_handshake(f);
            }
        } else {
            td_pool_free(sh, sizeof(*sh));
        }
        break;
    }
    case TD_HS_CERTIFICATE: {
        struct td_certificate *ce;
        if (c->cert[ep].m != NULL)
            break;
        ce = td_pool_alloc(sizeof(*ce));
        if (ce == NULL)
            return;
        (void)td_parse_certificate(ce, body, tls13);
        if (e->lim.max_certs != 0 && ce->num_certs > e->lim.max_certs) {
            /* --max-certs lowers the compiled TD_MAX_CERTS: drop the rest
             * (total_certs still counts them) */
            for (uint16_t i = (uint16_t)e->lim.max_certs; i < ce->num_certs; i++) {
                free(ce->certs[i].der);
                ce->certs[i].der = NULL;
                ce->certs[i].len = 0;
            }
            ce->num_certs = (uint16_t)e->lim.max_certs;
            if (!td_diag_has(&ce->diag, TD_AN_LIMIT_CERTS))
                td_diag_add(&ce->diag, TD_AN_LIMIT_CERTS, 0, 0);
        }
        merge_diag(c, &ce->diag);
        KEEP(c->cert[ep], ce, ep);
        break;
    }
    case TD_HS_CERTIFICATE_REQUEST: {
        struct td_certificate_request *cr;
        if (c->cr.m != NULL)
            break;
        cr = td_pool_alloc(sizeof(*cr));
        if (cr == NULL)
            return;
        (void)td_parse_certificate_request(cr, body, tls13);
        merge_diag(c, &cr->diag);
        KEEP(c->cr, cr, ep);
        break;
    }
    case TD_HS_SERVER_KEY_EXCHANGE: {
        struct td_server_key_exchange *ske;
        if (c->ske.m != NULL)
            break;
        ske = td_pool_alloc(sizeof(*ske));
        if (ske == NULL)
            return;
        (void)td_parse_server_key_exchange(ske, body, c->sh.m ? td_cipher_kex(c->sh.m->cipher) : TD_KEX_UNKNOWN);
        merge_diag(c, &ske->diag);
        KEEP(c->ske, ske, ep);
        break;
    }
    case TD_HS_NEW_SESSION_TICKET: {
        struct td_new_session_ticket *nst;
        if (c->nst.m != NULL)
            break;
        nst = td_pool_alloc(sizeof(*nst));
        if (nst == NULL)
            return;
        (void)td_parse_new_session_ticket(nst, body, tls13);
        KEEP(c->nst, nst, ep);
        break;
    }
    case TD_HS_SERVER_HELLO_DONE:
        c->shd_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        break;
    case TD_HS_CLIENT_KEY_EXCHANGE:
        c->cke_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        break;
    case TD_HS_CERTIFICATE_VERIFY:
        c->cv_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        break;
    case TD_HS_CERTIFICATE_STATUS:
        c->cs_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        break;
    case TD_HS_FINISHED:
        c->half[ep].finished = true;
        if (c->half[ep].finished_frame == 0)
            c->half[ep].finished_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        /* TLS 1.3: the sender's next records use its application traffic
         * secret (RFC 8446 7.1; the client's after its own Finished) */
        if (dec && tls13 && c->ch.m != NULL && c->sh.m != NULL)
            install13(f, ep, ep == c->client ? TD_SEC_CLIENT_AP : TD_SEC_SERVER_AP);
        break;
    case TD_HS_END_OF_EARLY_DATA:
        /* RFC 8446 4.5: the client's next records use its handshake keys */
        if (dec && ep == c->client && f->early_active) {
            f->early_active = false;
            td_tls_stream_set_keys(&f->ts[ep], f->rx[ep].active ? &f->rx[ep] : NULL);
            td_tls_stream_set_next_keys(&f->ts[ep], NULL);
        }
        break;
    case TD_HS_ENCRYPTED_EXTENSIONS: {
        struct td_encrypted_extensions *ee;
        if (c->ee.m != NULL)
            break;
        ee = td_pool_alloc(sizeof(*ee));
        if (ee == NULL)
            return;
        (void)td_parse_encrypted_extensions_max(ee, body, (uint16_t)e->lim.max_extensions);
        merge_diag(c, &ee->diag);
        KEEP(c->ee, ee, ep);
        break;
    }
    case TD_HS_KEY_UPDATE: {
        struct td_key_update ku;
        if (td_parse_key_update(&ku, body, &c->anomalies) != TD_OK)
            break;
        c->half[ep].key_updates++;
        /* RFC 8446 4.6.3: the sender's next records use the next secret */
        if (dec && f->ts[ep].rx != NULL && f->ts[ep].rx->active && td_rec_cipher_key_update(f->ts[ep].rx) != TD_OK)
            dec_fail(f, ep, TD_DECRYPT_UNSUPPORTED, TD_AN_DECRYPT_UNSUPPORTED, f->ts[ep].off);
        break;
    }
    default:
        break;
    }
}

static void sink_sslv2_hello(void *ctx, struct td_cur *body)
{
    struct flow *f = sink_flow(ctx);
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    uint8_t ep = e->cur.ep;
    struct td_event *ev = ev_add(e, c, TD_EV_HANDSHAKE, ep);
    struct td_client_hello *ch;

    if (ev != NULL) {
        ev->hs_type = TD_HS_CLIENT_HELLO;
        ev->len = (uint32_t)td_cur_len(body);
        ev->version = 0x0002;
    }
    ch = td_pool_alloc(sizeof(*ch));
    if (ch == NULL)
        return;
    ch->record_version = 0x0002;
    (void)td_parse_sslv2_client_hello(ch, body);
    merge_diag(c, &ch->diag);
    on_client_hello(f, ch, ep);
}

static void add_alert(struct td_engine *e, struct td_conn *c, uint8_t ep, uint8_t level,
                      uint8_t desc, bool encrypted, bool decrypted, uint32_t len)
{
    struct td_alert_rec *a;

    c->total_alerts++;
    if (c->num_alerts >= TD_MAX_ALERTS)
        return;
    a = &c->alerts[c->num_alerts++];
    a->frame = e->cur.pkt ? e->cur.pkt->frame : 0;
    a->ts_ns = e->cur.pkt ? e->cur.ts_ns : 0;
    a->ep = ep;
    a->level = level;
    a->desc = desc;
    a->encrypted = encrypted;
    a->decrypted = decrypted;
    a->len = len;
}

static void sink_alert(void *ctx, uint8_t level, uint8_t desc, uint16_t rec_version)
{
    struct flow *f = sink_flow(ctx);
    struct td_engine *e = f->eng;
    struct td_event *ev = ev_add(e, f->conn, TD_EV_ALERT, e->cur.ep);
    bool dec = f->ts[e->cur.ep].decrypted_now;

    if (ev != NULL) {
        ev->alert_level = level;
        ev->alert_desc = desc;
        ev->version = rec_version;
        ev->len = 2;
        ev->decrypted = dec;
    }
    add_alert(e, f->conn, e->cur.ep, level, desc, false, dec, 2);
}

/* One more record of the same kind folded into the previous event (long
 * encrypted or application-data runs stay one timeline line). */
static void ev_fold(struct td_engine *e, struct td_event *last, uint32_t len)
{
    last->count++;
    last->len += len;
    if (e->cur.pkt != NULL) {
        last->frame = e->cur.pkt->frame;
        last->ts_ns = e->cur.ts_ns;
    }
}

static void sink_encrypted(void *ctx, uint8_t ct, uint32_t len, uint16_t rec_version)
{
    struct flow *f = sink_flow(ctx);
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    uint8_t ep = e->cur.ep;
    struct td_half *h = &c->half[ep];
    struct td_event *last = c->num_events ? &c->events[c->num_events - 1] : NULL;
    struct td_event *ev;

    if (f->missing[ep]) {
        /* in TLS 1.3 only application_data records are protected */
        if (ct == TD_CT_APPLICATION_DATA || !negotiated_tls13(c))
            f->missing_seq[ep]++;
        if (h->decrypt != TD_DECRYPT_NO_SECRET)
            dec_fail(f, ep, TD_DECRYPT_NO_SECRET, TD_AN_DECRYPT_NO_SECRET, f->ts[ep].off);
    }
    h->enc_records++;
    if (ct == TD_CT_APPLICATION_DATA)
        h->app_bytes += len;
    if (ct == TD_CT_HANDSHAKE)
        h->finished = true; /* <= 1.2: the encrypted Finished after CCS */
    if (ct == TD_CT_ALERT) {
        ev = ev_add(e, c, TD_EV_ALERT, ep);
        if (ev != NULL) {
            ev->encrypted = true;
            ev->len = len;
            ev->version = rec_version;
        }
        add_alert(e, c, ep, 0, 0, true, false, len);
        return;
    }
    f->enc_events[ep]++;
    if (f->enc_events[ep] > ENC_EVENTS_DISTINCT && last != NULL && last->kind == TD_EV_ENCRYPTED &&
        last->ep == ep && last->ct == ct) {
        ev_fold(e, last, len);
        return;
    }
    ev = ev_add(e, c, TD_EV_ENCRYPTED, ep);
    if (ev != NULL) {
        ev->ct = ct;
        ev->len = len;
        ev->version = rec_version;
    }
}

static void sink_app_data(void *ctx, const uint8_t *p, size_t n)
{
    struct flow *f = sink_flow(ctx);
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    uint8_t ep = e->cur.ep;
    struct td_half *h = &c->half[ep];
    struct td_event *last = c->num_events ? &c->events[c->num_events - 1] : NULL;
    struct td_event *ev;
    uint32_t len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;

    h->enc_records++;
    h->app_bytes += n;
    if (h->app_preview_len < TD_APP_PREVIEW_LEN && n > 0) {
        size_t k = TD_APP_PREVIEW_LEN - h->app_preview_len;
        if (k > n)
            k = n;
        if (h->app_frame == 0)
            h->app_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        memcpy(h->app_preview + h->app_preview_len, p, k);
        h->app_preview_len = (uint16_t)(h->app_preview_len + k);
    }
    f->app_events[ep]++;
    if (f->app_events[ep] > ENC_EVENTS_DISTINCT / 3 && last != NULL && last->kind == TD_EV_ENCRYPTED &&
        last->ep == ep && last->ct == TD_CT_APPLICATION_DATA && last->decrypted) {
        ev_fold(e, last, len);
        return;
    }
    ev = ev_add(e, c, TD_EV_ENCRYPTED, ep);
    if (ev != NULL) {
        ev->ct = TD_CT_APPLICATION_DATA;
        ev->len = len;
        ev->decrypted = true;
    }
}

static void sink_ccs(void *ctx, uint16_t rec_version)
{
    struct flow *f = sink_flow(ctx);
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    uint8_t ep = e->cur.ep;
    struct td_event *ev = ev_add(e, c, TD_EV_CCS, ep);

    if (ev != NULL)
        ev->version = rec_version;
    c->half[ep].ccs = true;
    c->half[ep].ccs_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
    /* In TLS <= 1.2 the sender's next records are encrypted.  A TLS 1.3
     * compatibility-mode CCS (RFC 8446 D.4) changes nothing. */
    if (!negotiated_tls13(c)) {
        td_tls_stream_set_encrypted(&f->ts[ep], true);
        c->half[ep].encrypted = true;
        keys12(f, ep);
    }
}

static void sink_not_tls(void *ctx, const uint8_t *p, size_t n)
{
    struct flow *f = sink_flow(ctx);
    struct td_engine *e = f->eng;
    struct td_half *h = &f->conn->half[e->cur.ep];
    struct td_event *ev;

    h->not_tls = true;
    if (n > TD_PREVIEW_LEN)
        n = TD_PREVIEW_LEN;
    td_memcpy(h->preview, p, n);
    h->preview_len = (uint8_t)n;
    ev = ev_add(e, f->conn, TD_EV_NOT_TLS, e->cur.ep);
    if (ev != NULL)
        ev->len = (uint32_t)n;
}

/* limit_hit records one of our caps on |c|: the anomaly (every time, it is
 * counted), the stats, and -- the first time per cap -- a timeline event,
 * so the report shows where the connection stopped being fully read. */
static void limit_hit(struct td_engine *e, struct td_conn *c, enum td_anomaly code, size_t off)
{
    bool first = !td_diag_has(&c->anomalies, code);
    td_diag_add(&c->anomalies, code, 0, off);
    e->st.limit_hits++;
    if (first) {
        struct td_event *ev = ev_add(e, c, TD_EV_LIMIT, e->cur.ep);
        if (ev != NULL)
            ev->len = (uint32_t)code;
    }
}

static void sink_anomaly(void *ctx, enum td_anomaly code, uint64_t off)
{
    struct flow *f = sink_flow(ctx);
    if (td_anomaly_is_limit((unsigned)code))
        limit_hit(f->eng, f->conn, code, (size_t)off);
    else
        td_diag_add(&f->conn->anomalies, code, 0, (size_t)off);
}

static struct td_tls_sink make_sink(struct flow *f)
{
    struct td_tls_sink k = {f,           sink_handshake, sink_sslv2_hello, sink_alert,   sink_encrypted,
                            sink_ccs,    sink_not_tls,   sink_anomaly,     sink_app_data, sink_decrypt_failed};
    return k;
}

/* ---- reassembly output ---- */

/* A plaintext phase that did not lead to TLS: the directions that spoke
 * are marked not TLS, as the TLS stream would have marked them. */
static void up_not_tls(struct flow *f)
{
    struct td_conn *c = f->conn;
    for (uint8_t ep = 0; ep < 2; ep++) {
        struct td_half *h = &c->half[ep];
        size_t n = f->up.len[ep];
        struct td_event *ev;
        if (n == 0 || f->up.buf[ep] == NULL || h->not_tls || f->up.dstate[ep] == TD_UPD_TLS)
            continue;
        h->not_tls = true;
        if (n > TD_PREVIEW_LEN)
            n = TD_PREVIEW_LEN;
        memcpy(h->preview, f->up.buf[ep], n);
        h->preview_len = (uint8_t)n;
        ev = ev_add(f->eng, c, TD_EV_NOT_TLS, ep);
        if (ev != NULL)
            ev->len = (uint32_t)n;
    }
    f->up.active = false;
    td_up_free(&f->up);
}

static int syn_client(const struct td_conn *c)
{
    if (c->half[0].syn && !c->half[0].synack)
        return 0;
    if (c->half[1].syn && !c->half[1].synack)
        return 1;
    return -1;
}

/* up_feed runs the plaintext phase; returns false when the bytes were
 * kept as plaintext, true when (*p, *n) are to go to the TLS stream. */
static bool up_feed(struct flow *f, const uint8_t **p, size_t *n)
{
    struct td_engine *e = f->eng;
    struct td_conn *c = f->conn;
    const uint8_t *tp;
    size_t tn;
    struct td_up_events evs;
    enum td_up_res r;

    if (f->up.decided && !f->up.active)
        return true;
    r = td_up_feed(&f->up, &c->upgrade, e->cur.ep, syn_client(c), *p, *n, &tp, &tn, &evs);
    if (evs.req) {
        struct td_event *ev = ev_add(e, c, TD_EV_UPGRADE_REQ, e->cur.ep);
        c->upgrade.req_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        c->upgrade.req_ts_ns = e->cur.pkt ? e->cur.ts_ns : 0;
        (void)ev;
    }
    if (evs.reply) {
        struct td_event *ev = ev_add(e, c, TD_EV_UPGRADE_REPLY, e->cur.ep);
        c->upgrade.reply_frame = e->cur.pkt ? e->cur.pkt->frame : 0;
        c->upgrade.reply_ts_ns = e->cur.pkt ? e->cur.ts_ns : 0;
        (void)ev;
    }
    switch (r) {
    case TD_UP_NONE:
        return true;
    case TD_UP_MORE:
        return false;
    case TD_UP_TLS:
        *p = tp;
        *n = tn;
        return tn > 0;
    case TD_UP_GIVE_UP:
        up_not_tls(f);
        return false;
    }
    return true;
}

static void out_data(void *ctx, const uint8_t *p, size_t n)
{
    struct flow *f = ctx;
    struct td_tls_sink k = make_sink(f);
    struct td_half *h = &f->conn->half[f->eng->cur.ep];
    uint32_t before = f->ts[f->eng->cur.ep].records;

    h->payload_bytes += n;
    if (!up_feed(f, &p, &n))
        return;
    td_tls_stream_feed(&f->ts[f->eng->cur.ep], p, n, &k);
    if (f->ts[f->eng->cur.ep].records != before)
        h->tls = true;
    h->records = f->ts[f->eng->cur.ep].records;
    if (f->ts[f->eng->cur.ep].decrypted != h->dec_records) {
        h->dec_records = f->ts[f->eng->cur.ep].decrypted;
        if (h->decrypt == TD_DECRYPT_KEYS)
            h->decrypt = TD_DECRYPT_OK;
    }
}

static void out_gap(void *ctx, uint64_t n)
{
    struct flow *f = ctx;
    struct td_engine *e = f->eng;
    struct td_tls_sink k = make_sink(f);
    struct td_event *ev;

    f->conn->half[e->cur.ep].gaps++;
    ev = ev_add(e, f->conn, TD_EV_GAP, e->cur.ep);
    if (ev != NULL)
        ev->len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    td_tls_stream_gap(&f->ts[e->cur.ep], n, &k);
}

/* ---- flows ---- */

static void flow_close(struct td_engine *e, struct flow *f)
{
    struct td_conn *c = f->conn;
    struct pkt_ctx saved = e->cur;

    /* deliver what is still held, with its holes, before judging */
    for (uint8_t ep = 0; ep < 2; ep++) {
        struct td_reasm_out out = {f, out_data, out_gap};
        e->cur.pkt = NULL;
        e->cur.tcp = NULL;
        e->cur.f = f;
        e->cur.ep = ep;
        td_reasm_flush(&f->rs[ep], &out);
        td_reasm_cleanup(&f->rs[ep]);
        td_tls_stream_cleanup(&f->ts[ep]);
    }
    /* a plaintext phase that never reached TLS and was not refused:
     * not TLS, as before (a refused upgrade is judged by the rules) */
    if (f->up.active && c->upgrade.state != TD_UPGS_REFUSED && f->up.dstate[0] != TD_UPD_TLS &&
        f->up.dstate[1] != TD_UPD_TLS)
        up_not_tls(f);
    td_up_free(&f->up);
    e->cur = saved;
    if (!c->client_known) {
        if (c->half[0].syn && !c->half[0].synack)
            c->client = 0;
        else if (c->half[1].syn && !c->half[1].synack)
            c->client = 1;
        else if (c->half[0].synack)
            c->client = 1;
        else if (c->half[1].synack)
            c->client = 0;
        else
            c->client = c->port[0] >= c->port[1] ? 0 : 1;
    }
    if (c->half[0].tls || c->half[1].tls)
        e->st.tls_flows++;
    if (td_diag_has(&c->anomalies, TD_AN_LIMIT_ANOMALIES))
        e->st.limit_hits++; /* --max-anomalies: counted once per connection */
    td_flowtab_remove(&e->tab, &f->node);
    e->st.open_flows--;
    e->mem -= f->acct;
    e->part_mem[f->node.part] -= f->acct;
    td_pool_free(f, sizeof(*f));
    e->done(e->done_ctx, c);
}

/* close_at ends |f| at step |phase| of the current packet (engine_int.h) */
static void close_at(struct td_engine *e, struct flow *f, uint8_t phase)
{
    f->conn->end_frame = phase == TD_END_FLUSH ? UINT64_MAX : e->frame_now;
    f->conn->end_phase = phase;
    f->conn->end_ts_ns = e->now_ns;
    flow_close(e, f);
}

/* The largest flow the other caps allow, per direction: the out-of-order
 * window, a handshake message, a record body and a decrypted record, and
 * a chain of certificates (their structs aside: small next to these). */
static uint64_t flow_max_bytes(const struct td_limits *l)
{
    return 2 * ((uint64_t)l->reasm_bytes + l->hs_msg_max + 2u * 65536u + (uint64_t)TD_MAX_CERTS * TD_MAX_CERT_LEN);
}

unsigned td_limits_parts(const struct td_limits *l)
{
    unsigned n = td_flow_parts(l->max_flows);

    if (l->max_memory != 0) {
        uint64_t m = (uint64_t)l->max_memory / flow_max_bytes(l);
        if (m < n)
            n = m > 0 ? (unsigned)m : 1u;
    }
    return n;
}

struct td_engine *td_engine_new(const struct td_limits *l, td_conn_done_fn done, void *ctx)
{
    struct td_engine *e = td_calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    if (l != NULL)
        e->lim = *l;
    else
        td_limits_default(&e->lim);
    e->done = done;
    e->done_ctx = ctx;
    e->nparts = td_limits_parts(&e->lim);
    for (unsigned p = 0; p < e->nparts; p++)
        e->part_memcap[p] = td_flow_part_cap(e->lim.max_memory, e->nparts, p);
    if (!td_flowtab_init(&e->tab, 4096)) {
        free(e);
        return NULL;
    }
    td_flowtab_set_caps(&e->tab, e->nparts, e->lim.max_flows);
    return e;
}

static struct flow *flow_new(struct td_engine *e, const struct td_flow_key *k, uint64_t h, int key_ep,
                             const struct td_tcp_pkt *t, const struct td_pkt *pkt)
{
    struct flow *f = td_pool_alloc(sizeof(*f));
    struct td_conn *c = td_pool_alloc(sizeof(*c));

    if (f == NULL || c == NULL) {
        td_pool_free(f, sizeof(*f));
        td_pool_free(c, sizeof(*c));
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    memset(c, 0, sizeof(*c));
    f->eng = e;
    f->conn = c;
    f->node.key = *k;
    f->node.hash = h;
    /* conn endpoint 0 is the sender of the first packet */
    f->conn_ep_of_key[key_ep] = 0;
    f->conn_ep_of_key[1 - key_ep] = 1;
    if (e->on_new == NULL)
        c->id = ++e->next_id;
    c->ipver = t->ipver;
    memcpy(c->addr[0], t->src, 16);
    memcpy(c->addr[1], t->dst, 16);
    c->port[0] = t->sport;
    c->port[1] = t->dport;
    c->first_frame = pkt->frame;
    c->first_ts_ns = pkt_ts(pkt);
    c->capture_start_ns = e->start_ns;
    c->keylog = e->kl != NULL;
    c->anomalies.max = e->lim.max_anomalies;
    for (int i = 0; i < 2; i++) {
        td_reasm_init(&f->rs[i], e->lim.reasm_bytes);
        /* only a client's first record may be SSLv2-framed; either side
         * could be the client until a hello says so */
        td_tls_stream_init(&f->ts[i], e->lim.hs_msg_max, true);
        if (e->lim.max_records != 0)
            f->ts[i].max_records = e->lim.max_records;
    }
    td_up_init(&f->up);
    f->node.part = (uint8_t)td_flow_key_part(k, e->nparts);
    td_flowtab_insert(&e->tab, &f->node);
    e->st.flows++;
    e->st.open_flows++;
    if (e->st.open_flows > e->st.peak_flows)
        e->st.peak_flows = e->st.open_flows;
    if (e->on_new != NULL)
        e->on_new(e->on_new_ctx, c);
    return f;
}

/* flow_bytes: what one open flow holds, by the structures' sizes plus a
 * 16-byte allocator overhead per block.  An estimate, but a deterministic
 * one: the memory cap must not depend on the allocator or the machine. */
#define BLK 16u
static size_t flow_bytes(const struct flow *f)
{
    const struct td_conn *c = f->conn;
    size_t n = sizeof(*f) + sizeof(*c) + 2 * BLK;

    if (c->events != NULL)
        n += (size_t)c->cap_events * sizeof(struct td_event) + BLK;
    for (int i = 0; i < 2; i++) {
        n += f->rs[i].ooo_bytes + (size_t)f->rs[i].ooo_n * (sizeof(void *) + 12 + BLK);
        n += f->ts[i].body_cap + f->ts[i].hs_cap + f->ts[i].plain_cap;
        if (f->up.buf[i] != NULL)
            n += TD_UP_CAP + BLK;
        if (c->cert[i].m != NULL) {
            n += sizeof(*c->cert[i].m) + BLK;
            for (unsigned k = 0; k < c->cert[i].m->num_certs; k++)
                n += c->cert[i].m->certs[k].len + BLK;
        }
    }
    if (c->ch.m != NULL)
        n += sizeof(*c->ch.m) + BLK;
    if (c->ch2.m != NULL)
        n += sizeof(*c->ch2.m) + BLK;
    if (c->hrr.m != NULL)
        n += sizeof(*c->hrr.m) + BLK;
    if (c->sh.m != NULL)
        n += sizeof(*c->sh.m) + BLK;
    if (c->cr.m != NULL) {
        n += sizeof(*c->cr.m) + BLK;
        for (unsigned k = 0; k < c->cr.m->num_ca_names; k++)
            n += c->cr.m->ca_names[k].len + BLK;
    }
    if (c->ske.m != NULL)
        n += sizeof(*c->ske.m) + BLK;
    if (c->nst.m != NULL)
        n += sizeof(*c->nst.m) + BLK;
    if (c->ee.m != NULL)
        n += sizeof(*c->ee.m) + BLK;
    return n;
}

static void account(struct td_engine *e, struct flow *f)
{
    size_t n = flow_bytes(f);

    e->mem = e->mem - f->acct + n;
    e->part_mem[f->node.part] = e->part_mem[f->node.part] - f->acct + n;
    f->acct = n;
}

static size_t engine_bytes(const struct td_engine *e)
{
    return e->mem + e->tab.nbuckets * sizeof(void *) + sizeof(*e);
}

/* evict_for_memory closes the flows of partition |p| idle longest until
 * the partition is back under 7/8 of its share of max_memory (hysteresis:
 * one eviction per packet would judge connections one by one at the edge).
 * Only the partition of the packet just read can have grown.  Each is
 * reported as evicted, with LIMIT_MEMORY on it: our limit, never the
 * peer's fault.  The share counts the flows' own bytes: the table's
 * buckets (8 bytes per flow at most) are the engine's, outside it. */
static void evict_for_memory(struct td_engine *e, unsigned p)
{
    size_t lim = (size_t)e->part_memcap[p], low = lim - lim / 8;

    if (e->lim.max_memory == 0 || e->part_mem[p] <= lim)
        return;
    while (e->part_mem[p] > low && td_flowtab_part_oldest(&e->tab, p) != NULL) {
        struct flow *f = (struct flow *)td_flowtab_part_oldest(&e->tab, p);
        f->conn->evicted = true;
        limit_hit(e, f->conn, TD_AN_LIMIT_MEMORY, 0);
        e->st.evicted++;
        e->st.evicted_memory++;
        close_at(e, f, TD_END_MEMORY);
    }
}

/* expire ends every flow that is due (flowtab.h): one that has ended
 * (FIN both ways, RST) after LINGER_NS without packets, an open one after
 * the idle timeout; then, over the cap, the oldest is evicted.  Each flow
 * is judged alone, not behind the others, so that `read -j`'s shards
 * (which hold only their flows) end the same flows at the same packet.
 * A td_par directory (par.c) applies the same rule.  It runs after every
 * packet, so the test that nothing is due (nearly always: the two list
 * heads and the partition that grew) is inline at the callers; the loops
 * are not.  Out of line as a whole it was ~3% of a `read -j` worker. */
static void expire_due(struct td_engine *e, const int64_t lim[2])
{
    struct td_flow_node *n;

    while ((n = td_flowtab_due(&e->tab, e->now_ns, lim)) != NULL)
        close_at(e, (struct flow *)n, TD_END_EXPIRE);
    while ((n = td_flowtab_over_cap(&e->tab)) != NULL) {
        struct flow *f = (struct flow *)n;
        f->conn->evicted = true;
        limit_hit(e, f->conn, TD_AN_LIMIT_FLOWS, 0);
        e->st.evicted++;
        close_at(e, f, TD_END_EVICT);
    }
}

static inline void expire(struct td_engine *e)
{
    const int64_t lim[2] = {(int64_t)e->lim.idle_timeout_s * 1000000000LL, LINGER_NS};

    if (e->driven || (td_flowtab_due(&e->tab, e->now_ns, lim) == NULL && td_flowtab_over_cap(&e->tab) == NULL))
        return;
    expire_due(e, lim);
}


/* retry_keys: live capture reads the key log while clients write it, and a
 * client logs its secrets only after it has read the ServerHello we may
 * already have seen.  A side whose secret was missing gets it at a later
 * packet, with the sequence number advanced past the records that went by
 * unread (those stay unread, and decrypt_no_secret stays said). */
static void retry_keys(struct flow *f)
{
    struct td_conn *c = f->conn;

    for (uint8_t ep = 0; ep < 2; ep++) {
        uint8_t sec[TD_SECRET_MAX];
        size_t n;
        enum td_status st;

        if (!f->missing[ep] || c->ch.m == NULL || c->sh.m == NULL)
            continue;
        n = td_keylog_find(f->eng->kl, c->ch.m->random, (enum td_secret_label)f->missing_label[ep], sec);
        if (n == 0)
            continue;
        if (f->missing_label[ep] == TD_SEC_MASTER)
            st = n == 48 ? td_rec_cipher_init12(&f->rx[ep], c->sh.m->selected_version, c->sh.m->cipher,
                                                sh_has_ext(c->sh.m, TD_EXT_ENCRYPT_THEN_MAC), sec, c->ch.m->random,
                                                c->sh.m->random, ep == c->client)
                         : TD_EMALFORMED;
        else
            st = td_rec_cipher_init13(&f->rx[ep], c->sh.m->cipher, sec, n);
        memset(sec, 0, sizeof(sec));
        f->missing[ep] = false;
        if (st != TD_OK) {
            dec_fail(f, ep, TD_DECRYPT_UNSUPPORTED, TD_AN_DECRYPT_UNSUPPORTED, f->ts[ep].off);
            continue;
        }
        /* TLS 1.0 CBC chains its IV through the records we did not read */
        if (f->missing_seq[ep] > 0 && f->rx[ep].mode == TD_CM_CBC && f->rx[ep].version < 0x0302) {
            f->rx[ep].active = false;
            continue;
        }
        f->rx[ep].seq = f->missing_seq[ep];
        td_tls_stream_set_keys(&f->ts[ep], &f->rx[ep]);
        c->half[ep].decrypt = TD_DECRYPT_KEYS;
        /* TLS 1.3: the handshake records that went by may have ended with
         * this side's Finished; if so its next records use the application
         * secret: the stream tries it when the handshake key fails */
        if (f->missing_label[ep] == TD_SEC_SERVER_HS || f->missing_label[ep] == TD_SEC_CLIENT_HS) {
            enum td_secret_label ap = f->missing_label[ep] == TD_SEC_SERVER_HS ? TD_SEC_SERVER_AP : TD_SEC_CLIENT_AP;
            n = td_keylog_find(f->eng->kl, c->ch.m->random, ap, sec);
            if (n > 0 && td_rec_cipher_init13(&f->rx_alt[ep], c->sh.m->cipher, sec, n) == TD_OK)
                td_tls_stream_set_next_keys(&f->ts[ep], &f->rx_alt[ep]);
            memset(sec, 0, sizeof(sec));
        }
    }
}

static void tcp_events(struct td_engine *e, struct flow *f, const struct td_tcp_pkt *t, uint8_t ep)
{
    struct td_conn *c = f->conn;
    struct td_half *h = &c->half[ep];
    struct td_event *ev;

    if (h->packets == 0)
        h->first_ttl = t->ttl;
    h->packets++;
    if (t->flags & TD_TCP_SYN) {
        bool ack = (t->flags & TD_TCP_ACK) != 0;
        ev = (h->syn_count < 4) ? ev_add(e, c, ack ? TD_EV_SYNACK : TD_EV_SYN, ep) : NULL;
        (void)ev;
        if (h->syn_count == 0) {
            h->syn_ttl = t->ttl;
            h->has_syn_ipid = t->has_ipid;
            h->syn_ipid = t->ipid;
            h->syn_window = t->window;
        }
        h->syn_count++;
        if (ack)
            h->synack = true;
        else
            h->syn = true;
        if (!c->client_known) {
            c->client = ack ? (uint8_t)(1 - ep) : ep;
        }
        td_reasm_syn(&f->rs[ep], t->seq);
    }
    if ((t->flags & TD_TCP_RST) && f->rst_events < 4) {
        f->rst_events++;
        h->rst = true;
        ev_add(e, c, TD_EV_RST, ep);
        td_flowtab_end(&e->tab, &f->node); /* closing: lingers for late packets */
    }
    if ((t->flags & TD_TCP_FIN) && !h->fin) {
        h->fin = true;
        ev_add(e, c, TD_EV_FIN, ep);
        if (c->half[1 - ep].fin)
            td_flowtab_end(&e->tab, &f->node);
    }
    if (t->window == 0 && !(t->flags & (TD_TCP_RST | TD_TCP_SYN)))
        ev_add(e, c, TD_EV_ZERO_WINDOW, ep);
    /* the server acknowledging the whole ClientHello: a TCP-level fact the
     * transport rules need (server_silent vs clienthello_lost) */
    if (f->ch_done && !f->ch_ack_seen && ep != c->client && (t->flags & TD_TCP_ACK) &&
        (int32_t)(t->ack - f->ch_end_seq) >= 0) {
        f->ch_ack_seen = true;
        c->ch_acked_frame = e->cur.pkt->frame;
        c->ch_acked_ts_ns = e->cur.ts_ns;
        ev_add(e, c, TD_EV_ACK_OF_CH, ep);
    }
}

/* engine_tcp runs one decoded TCP segment through its flow.  Driven: |id|
 * is the directory's id of the connection, |fresh| says this segment opens
 * it, |h| is the key's hash (the directory has it). */
static void engine_tcp(struct td_engine *e, const struct td_pkt *pkt, int64_t ts, const struct td_tcp_pkt *tp,
                       const struct td_flow_key *kp, int key_ep, uint64_t id, bool fresh, uint64_t h)
{
    const struct td_tcp_pkt *t = tp; /* read in place, not copied */
    const struct td_flow_key k = *kp;
    struct flow *f;
    uint8_t ep;

    e->frame_now = pkt->frame;
    if (ts > e->now_ns)
        e->now_ns = ts;
    f = (struct flow *)td_flowtab_find(&e->tab, &k, h);

    if (e->driven) {
        if (fresh && f != NULL) { /* the directory closes a reused flow first */
            close_at(e, f, TD_END_REUSE);
            f = NULL;
        }
        /* not fresh and not here: this engine evicted it for memory; as
         * with one engine, its later packets start a new connection (here
         * under the directory's id, which only the directory could change) */
        if (f == NULL) {
            f = flow_new(e, &k, h, key_ep, t, pkt);
            if (f == NULL)
                return;
            f->conn->id = id;
        }
    } else {
        /* A new SYN on a flow that has closed is a new connection (port reuse). */
        if (f != NULL && (t->flags & TD_TCP_SYN) && !(t->flags & TD_TCP_ACK) && td_flowtab_ended(&f->node)) {
            close_at(e, f, TD_END_REUSE);
            f = NULL;
        }
        if (f == NULL) {
            f = flow_new(e, &k, h, key_ep, t, pkt);
            if (f == NULL)
                return;
        }
    }
    ep = f->conn_ep_of_key[key_ep];
    td_flowtab_touch(&e->tab, &f->node, e->now_ns, pkt->frame);
    f->conn->last_frame = pkt->frame;
    f->conn->last_ts_ns = ts;
    if (t->num_vlans > f->conn->vlan_depth)
        f->conn->vlan_depth = t->num_vlans;

    e->cur.pkt = pkt;
    e->cur.ts_ns = ts;
    e->cur.tcp = t;
    e->cur.f = f;
    e->cur.ep = ep;

    tcp_events(e, f, t, ep);
    if (e->kl != NULL && (f->missing[0] || f->missing[1]))
        retry_keys(f);
    if (t->payload_wire_len > 0) {
        struct td_reasm_out out = {f, out_data, out_gap};
        uint32_t caplen = (uint32_t)td_cur_len(&t->payload);
        enum td_seg_res r;
        if (!f->rs[ep].has_next)
            f->conn->half[ep].midstream = !(f->conn->half[ep].syn || f->conn->half[ep].synack);
        if (f->conn->half[ep].midstream && f->rs[ep].delivered == 0)
            td_tls_stream_midstream(&f->ts[ep]);
        if (!f->ch_done)
            f->data_segs[ep]++;
        r = td_reasm_segment(&f->rs[ep], t->seq, t->payload.p, caplen, t->payload_wire_len, &out);
        if (r == TD_SEG_RETRANS || r == TD_SEG_OVERLAP) {
            struct td_conn *c = f->conn;
            struct td_event *ev;
            c->half[ep].retrans++;
            if (ep == c->client && !f->ch_ack_seen) {
                c->ch_retrans++;
                if (t->payload_wire_len > c->ch_retrans_max_len)
                    c->ch_retrans_max_len = t->payload_wire_len;
            }
            ev = ev_add(e, c, TD_EV_RETRANS, ep);
            if (ev != NULL)
                ev->len = t->payload_wire_len;
        } else if (r == TD_SEG_LIMIT) {
            limit_hit(e, f->conn, TD_AN_LIMIT_REASSEMBLY, 0);
        }
    }
    e->cur.pkt = NULL;
    e->cur.tcp = NULL;
    account(e, f);
    if (engine_bytes(e) > e->st.peak_memory)
        e->st.peak_memory = engine_bytes(e);
    evict_for_memory(e, f->node.part);
}

void td_stats_count(struct td_stats *st, const struct td_pkt *pkt, enum td_decode_res res)
{
    st->packets++;
    st->bytes += pkt->caplen;
    switch (res) {
    case TD_DEC_TCP:
        st->tcp_packets++;
        break;
    case TD_DEC_FRAGMENT:
        st->fragments++;
        break;
    case TD_DEC_MALFORMED:
        st->malformed++;
        break;
    case TD_DEC_UNKNOWN_LINK:
        st->unknown_link++;
        break;
    case TD_DEC_NOT_TCP:
    default:
        st->non_tcp++;
        break;
    }
}

void td_engine_packet(struct td_engine *e, const struct td_pkt *pkt)
{
    struct td_tcp_pkt t;
    struct td_diag d;
    struct td_flow_key k;
    int key_ep;
    enum td_decode_res res;
    bool mine = false;
    int64_t ts = pkt_ts(pkt);

    /* td_diag_add and td_diag_has only look below n: no need to clear the
     * records (136 bytes per packet) */
    d.n = 0;
    d.total = 0;
    if (!e->started) {
        e->started = true;
        e->start_ns = ts;
    }
    if (ts > e->now_ns)
        e->now_ns = ts;
    e->frame_now = pkt->frame;
    if (e->shard_n != 0) {
        /* sharded: a segment of another shard's flow only moves the clock;
         * told by its endpoints at fixed offsets when it can be */
        struct td_ends en;
        if (td_decode_ends(pkt, &en)) {
            if (e->part_owner[td_flow_part(en.ipver, en.src, en.dst, en.sport, en.dport, e->nparts)] != e->shard_idx) {
                expire(e);
                return;
            }
            mine = true; /* its owner counts it, whatever the decode finds */
        }
    }
    res = td_decode_tcp(&t, pkt, &d);
    if (e->shard_n != 0 && !mine) {
        /* the full decode, done by every shard: a TCP segment is its
         * flow's shard's, anything else the first shard's */
        mine = res == TD_DEC_TCP
                   ? e->part_owner[td_flow_part(t.ipver, t.src, t.dst, t.sport, t.dport, e->nparts)] == e->shard_idx
                   : e->shard_idx == 0;
    }
    if (e->shard_n == 0 || mine)
        td_stats_count(&e->st, pkt, res);
    if (res == TD_DEC_TCP && (e->shard_n == 0 || mine)) {
        uint64_t h;
        key_ep = td_flow_key_make_hashed(&k, &h, t.ipver, t.src, t.sport, t.dst, t.dport);
        engine_tcp(e, pkt, ts, &t, &k, key_ep, 0, false, h);
    }
    /* after every packet, of any kind: every shard sees every packet */
    expire(e);
}

void td_engine_shard(struct td_engine *e, unsigned idx, unsigned n, td_engine_new_fn on_new, void *ctx)
{
    e->shard_idx = idx;
    e->shard_n = n;
    for (unsigned p = 0; p < e->nparts; p++) /* whole partitions per shard */
        e->part_owner[p] = (uint8_t)(p % n);
    e->on_new = on_new;
    e->on_new_ctx = ctx;
}

/* ---- driven by a directory (lib/timeline/par.c) ---- */

void td_engine_drive(struct td_engine *e, int64_t start_ns)
{
    e->driven = true;
    e->started = true;
    e->start_ns = start_ns;
}

void td_engine_tcp_driven(struct td_engine *e, const struct td_pkt *pkt, const struct td_tcp_pkt *t, uint64_t id,
                          bool fresh, uint64_t hash)
{
    struct td_flow_key k;
    int key_ep = td_flow_key_make(&k, t->ipver, t->src, t->sport, t->dst, t->dport);

    engine_tcp(e, pkt, pkt_ts(pkt), t, &k, key_ep, id, fresh, hash);
}

void td_engine_close_driven(struct td_engine *e, const struct td_flow_key *k, uint64_t hash, bool evicted,
                            int64_t now_ns)
{
    struct flow *f = (struct flow *)td_flowtab_find(&e->tab, k, hash);
    if (f == NULL)
        return;
    if (evicted) { /* over --max-flows: as expire() reports it */
        f->conn->evicted = true;
        limit_hit(e, f->conn, TD_AN_LIMIT_FLOWS, 0);
        e->st.evicted++;
    }
    {
        /* the connection ends at the directory's clock; this engine's own
         * clock (its flows' packets only) stays as it was */
        int64_t own = e->now_ns;
        if (now_ns > e->now_ns)
            e->now_ns = now_ns;
        close_at(e, f, evicted ? TD_END_EVICT : TD_END_EXPIRE);
        e->now_ns = own;
    }
}

void td_engine_advance(struct td_engine *e, int64_t now_ns)
{
    if (now_ns > e->now_ns)
        e->now_ns = now_ns;
    expire(e);
}

void td_engine_flush(struct td_engine *e)
{
    struct td_flow_node *n;

    while ((n = td_flowtab_oldest(&e->tab)) != NULL)
        close_at(e, (struct flow *)n, TD_END_FLUSH);
}

void td_engine_stats(const struct td_engine *e, struct td_stats *s) { *s = e->st; }

void td_engine_free(struct td_engine *e)
{
    if (e == NULL)
        return;
    td_engine_flush(e);
    td_flowtab_cleanup(&e->tab);
    free(e);
}
