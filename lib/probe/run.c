/* run.c: the probe runner.
 *
 * Nonblocking sockets driven by one poll loop, at most |parallel| probes in
 * flight, per-phase deadlines (connect, each answer, overall) and a cap on
 * the bytes read.  Each probe's exchange is recorded -- bytes each way with
 * their times, then how it ended (FIN, RST, timeout, refused) -- and replayed
 * as synthetic IPv4/TCP packets through td_engine and td_rules_run: the
 * probe is judged by the same parser, timeline and rules as a capture.
 *
 * TD_PROBE_SSL probes run libssl over memory BIOs, so their bytes are
 * recorded the same way; what libssl learnt (chain, CertificateRequest,
 * alerts, HTTP answer) goes into td_ssl_facts. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tlsdiag/alloc.h"
#include "capture/synth.h"
#include "probe/ttlcap.h"
#include "tlsdiag/capture.h"
#include "tlsdiag/probe.h"
#include "tlsdiag/registry.h"

#define MAX_PARALLEL 64u
#define SEG_MAX 60000u       /* payload per synthetic packet */
#define POST_WAIT_MS 1000u   /* wait for a late alert / HTTP answer after a handshake */
#define HTTP_KEEP 2048u

const char *td_probe_res_str(enum td_probe_res r)
{
    switch (r) {
    case TD_PR_ACCEPTED: return "accepted";
    case TD_PR_ALERT: return "alert";
    case TD_PR_FIN: return "fin";
    case TD_PR_RST: return "rst";
    case TD_PR_TIMEOUT: return "timeout";
    case TD_PR_NOT_TLS: return "not_tls";
    case TD_PR_REFUSED: return "refused";
    case TD_PR_UNREACHABLE: return "unreachable";
    case TD_PR_ERROR: return "error";
    }
    return "error";
}

void td_probe_opts_default(struct td_probe_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->parallel = 8;
    o->connect_ms = 3000;
    o->answer_ms = 3000;
    o->total_ms = 8000;
    o->max_read = 256u * 1024u;
    o->ttl_capture = true;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct td_probe *td_probe_new(void)
{
    return td_calloc(1, sizeof(struct td_probe));
}

void td_probe_free(struct td_probe *p)
{
    if (p == NULL)
        return;
    td_exchange_cleanup(&p->ex);
    td_conn_free(p->conn);
    td_certificate_cleanup(&p->ssl.chain);
    if (p->ssl_session_out != NULL)
        SSL_SESSION_free(p->ssl_session_out);
    free(p);
}

/* ---------------------------------------------------------------- exchange */

int td_exchange_add(struct td_exchange *ex, bool from_server, int64_t t_ns, const uint8_t *b,
                    size_t n)
{
    if (n == 0)
        return 0;
    if (n > UINT32_MAX - ex->nbytes)
        return -1;
    if (ex->nbytes + n > ex->capbytes) {
        uint32_t nc = ex->capbytes ? ex->capbytes : 4096u;
        while (nc < ex->nbytes + n)
            nc *= 2u;
        uint8_t *nb = td_realloc(ex->bytes, nc);
        if (nb == NULL)
            return -1;
        ex->bytes = nb;
        ex->capbytes = nc;
    }
    /* consecutive reads from the same side within 1 ms join one segment */
    if (ex->nseg > 0) {
        struct td_seg *last = &ex->segs[ex->nseg - 1];
        if (last->from_server == from_server && t_ns - last->t_ns < 1000000 &&
            last->len + n <= SEG_MAX && last->off + last->len == ex->nbytes) {
            memcpy(ex->bytes + ex->nbytes, b, n);
            ex->nbytes += (uint32_t)n;
            last->len += (uint32_t)n;
            return 0;
        }
    }
    if (ex->nseg == ex->capseg) {
        uint32_t nc = ex->capseg ? ex->capseg * 2u : 16u;
        struct td_seg *ns = td_realloc(ex->segs, nc * sizeof(*ns));
        if (ns == NULL)
            return -1;
        ex->segs = ns;
        ex->capseg = nc;
    }
    memcpy(ex->bytes + ex->nbytes, b, n);
    ex->segs[ex->nseg].from_server = from_server ? 1 : 0;
    ex->segs[ex->nseg].t_ns = t_ns;
    ex->segs[ex->nseg].off = ex->nbytes;
    ex->segs[ex->nseg].len = (uint32_t)n;
    ex->nseg++;
    ex->nbytes += (uint32_t)n;
    return 0;
}

void td_exchange_cleanup(struct td_exchange *ex)
{
    free(ex->segs);
    free(ex->bytes);
    memset(ex, 0, sizeof(*ex));
}

/* ---------------------------------------------------------------- synthetic packets
 * client 192.0.2.1:40000, server 198.51.100.1 (RFC 5737), written by
 * lib/capture/synth.c as for lib/decode/synth.c; times are the recorded
 * ones from t = 1 s. */

struct syn_ctx {
    struct td_engine *e;
    uint32_t seq[2];
    uint16_t ipid[2];
    uint16_t sport;
    uint8_t ttl[2];            /* 0: 64 */
    uint64_t frame;
    uint8_t buf[20 + 20 + SEG_MAX];
};

static void emit(struct syn_ctx *s, int srv, uint8_t flags, const uint8_t *pl, uint32_t n,
                 int64_t t_ns)
{
    struct td_synth_tcp4 h;
    struct td_pkt pk;
    size_t total;
    int64_t ts = 1000000000LL + (t_ns < 0 ? 0 : t_ns);

    memset(&h, 0, sizeof(h));
    h.src = srv ? td_synth_server_addr : td_synth_client_addr;
    h.dst = srv ? td_synth_client_addr : td_synth_server_addr;
    h.sport = srv ? s->sport : 40000;
    h.dport = srv ? 40000 : s->sport;
    h.seq = s->seq[srv];
    h.ack = (flags & TD_TCP_ACK) ? s->seq[1 - srv] : 0;
    h.ipid = s->ipid[srv]++;
    h.ttl = s->ttl[srv] ? s->ttl[srv] : 64;
    h.flags = flags;
    total = td_synth_tcp4(s->buf, sizeof(s->buf), &h, pl, n);
    if (total == 0)
        return; /* unreachable: segments are at most SEG_MAX bytes */
    s->seq[srv] += n + ((flags & (TD_TCP_SYN | TD_TCP_FIN)) ? 1u : 0u);

    memset(&pk, 0, sizeof(pk));
    pk.frame = ++s->frame;
    pk.ts_sec = ts / 1000000000LL;
    pk.ts_nsec = (uint32_t)(ts % 1000000000LL);
    pk.linktype = TD_LINK_RAW;
    pk.caplen = pk.origlen = (uint32_t)total;
    pk.data = s->buf;
    td_engine_packet(s->e, &pk);
}

struct keep1 {
    struct td_conn *c;
};
static void keep_first(void *ctx, struct td_conn *c)
{
    struct keep1 *k = ctx;
    if (k->c == NULL)
        k->c = c;
    else
        td_conn_free(c);
}

static struct td_conn *replay(const struct td_exchange *ex)
{
    struct td_limits lim;
    struct keep1 k = {NULL};
    struct syn_ctx *s = td_calloc(1, sizeof(*s));
    int64_t t = ex->connect_ns;
    bool server_spoke = false, client_spoke = false;

    if (s == NULL)
        return NULL;
    td_limits_default(&lim);
    s->e = td_engine_new(&lim, keep_first, &k);
    if (s->e == NULL) {
        free(s);
        return NULL;
    }
    s->seq[0] = 0x10000000u;
    s->seq[1] = 0x20000000u;
    s->ipid[0] = 0x1000;
    s->ipid[1] = 0x2000;
    s->sport = ex->server_port ? ex->server_port : 443;
    s->ttl[1] = ex->synack_ttl; /* the server's packets carry its SYN-ACK's TTL */
    emit(s, 0, TD_TCP_SYN, NULL, 0, 0);
    if (ex->end == TD_END_REFUSED) {
        s->seq[1]++;
        emit(s, 1, TD_TCP_RST | TD_TCP_ACK, NULL, 0, ex->end_ns);
    } else if (ex->end == TD_END_CONNECT_TIMEOUT) {
        s->seq[0]--;
        emit(s, 0, TD_TCP_SYN, NULL, 0, ex->end_ns / 2);
    } else {
        emit(s, 1, TD_TCP_SYN | TD_TCP_ACK, NULL, 0, t);
        emit(s, 0, TD_TCP_ACK, NULL, 0, t);
        for (uint32_t i = 0; i < ex->nseg; i++) {
            const struct td_seg *g = &ex->segs[i];
            for (uint32_t off = 0; off < g->len; off += SEG_MAX) {
                uint32_t n = g->len - off < SEG_MAX ? g->len - off : SEG_MAX;
                emit(s, g->from_server, TD_TCP_PSH | TD_TCP_ACK, ex->bytes + g->off + off, n,
                     g->t_ns);
            }
            t = g->t_ns;
            if (g->from_server)
                server_spoke = true;
            else
                client_spoke = true;
        }
        if (client_spoke && !server_spoke && ex->hello_acked)
            emit(s, 1, TD_TCP_ACK, NULL, 0, t + 1000);
        if (ex->end == TD_END_TIMEOUT && !server_spoke)
            /* the probe gave up waiting and closed: as a client that gives
             * up (the rules' server_silent), not a capture that just stops */
            emit(s, 0, TD_TCP_FIN | TD_TCP_ACK, NULL, 0, ex->end_ns);
        else if (ex->end == TD_END_FIN)
            emit(s, 1, TD_TCP_FIN | TD_TCP_ACK, NULL, 0, ex->end_ns);
        else if (ex->end == TD_END_RST) {
            if (ex->rst_ttl != 0)
                s->ttl[1] = ex->rst_ttl;
            emit(s, 1, TD_TCP_RST | TD_TCP_ACK, NULL, 0, ex->end_ns);
        }
    }
    td_engine_flush(s->e);
    td_engine_free(s->e);
    free(s);
    return k.c;
}

void td_probe_classify(struct td_probe *p, const struct td_rules_opts *ro)
{
    struct td_conn *c;
    uint8_t sep;

    td_conn_free(p->conn);
    p->conn = c = replay(&p->ex);
    memset(&p->v, 0, sizeof(p->v));
    p->version = p->cipher = p->group = 0;
    p->hrr = false;
    p->alert = 0;
    if (p->ex.end == TD_END_REFUSED) {
        p->res = TD_PR_REFUSED;
    } else if (p->ex.end == TD_END_CONNECT_TIMEOUT) {
        p->res = TD_PR_UNREACHABLE;
    } else if (p->ex.end == TD_END_ERROR && c == NULL) {
        p->res = TD_PR_ERROR;
    } else {
        p->res = TD_PR_TIMEOUT;
    }
    if (c == NULL)
        return;
    td_rules_run(&p->v, c, ro);
    if (p->res == TD_PR_REFUSED || p->res == TD_PR_UNREACHABLE)
        return;
    sep = td_conn_ep(c, TD_FROM_SERVER);
    if (c->hrr.m != NULL) {
        p->hrr = true;
        p->group = c->hrr.m->key_share_group;
        p->cipher = c->hrr.m->cipher;
        p->version = c->hrr.m->selected_version;
    }
    if (c->sh.m != NULL) {
        p->res = TD_PR_ACCEPTED;
        p->version = c->sh.m->selected_version;
        p->cipher = c->sh.m->cipher;
        if (c->sh.m->has_key_share)
            p->group = c->sh.m->key_share_group;
        return;
    }
    for (uint8_t i = 0; i < c->num_alerts; i++) {
        if (c->alerts[i].ep == sep && !c->alerts[i].encrypted) {
            p->res = TD_PR_ALERT;
            p->alert = c->alerts[i].desc;
            return;
        }
    }
    if (p->hrr) {
        p->res = TD_PR_ACCEPTED;
        return;
    }
    if (c->half[sep].not_tls || p->ex.impossible || td_diag_has(&c->anomalies, TD_AN_REC_OVERFLOW)) {
        p->res = TD_PR_NOT_TLS;
        return;
    }
    if (p->ex.end == TD_END_RST)
        p->res = TD_PR_RST;
    else if (p->ex.end == TD_END_FIN)
        p->res = TD_PR_FIN;
    else if (p->ex.end == TD_END_CAP && c->half[sep].payload_bytes > 0)
        p->res = TD_PR_NOT_TLS;
    else if (p->ex.end == TD_END_ERROR)
        p->res = TD_PR_ERROR;
    else
        p->res = TD_PR_TIMEOUT;
}

/* ---------------------------------------------------------------- raw answers */

/* td_probe_raw_complete: has the server said enough about a raw hello?  An alert, a
 * ServerHelloDone, a TLS 1.3 ServerHello or HRR, encrypted data, non-TLS
 * bytes or an oversized record all end the probe.  |b| is everything the
 * server sent so far (capped by the caller). */
bool td_probe_raw_complete(const uint8_t *b, size_t n, uint8_t *hs, size_t hscap, bool *impossible)
{
    struct td_cur c;
    size_t hn = 0;

    td_cur_init(&c, b, n);
    while (!td_cur_empty(&c)) {
        struct td_record_hdr h;
        struct td_diag d;
        struct td_cur body;
        memset(&d, 0, sizeof(d));
        enum td_rec_res rr = td_record_header(&h, &c, false, &d);
        if (rr == TD_REC_NOT_TLS)
            return true;
        if (rr == TD_REC_NEED)
            return false;
        if (h.len > 16384u + 2048u) {
            *impossible = true;
            return true;
        }
        if (!td_cur_skip(&c, h.hdr_len) || !td_cur_get_bytes(&c, &body, h.len))
            return false;
        if (h.type == TD_CT_ALERT || h.type == TD_CT_APPLICATION_DATA)
            return true;
        if (h.type != TD_CT_HANDSHAKE)
            continue;
        if (td_cur_len(&body) > hscap - hn)
            return true; /* more handshake than we look at: enough */
        td_memcpy(hs + hn, body.p, td_cur_len(&body));
        hn += td_cur_len(&body);
        /* walk the complete messages so far */
        struct td_cur m;
        td_cur_init(&m, hs, hn);
        for (;;) {
            uint8_t type;
            uint32_t mlen;
            struct td_cur msg;
            /* a ServerHello is at most 2 + 32 + 33 + 3 + 2 + 2^16 bytes: a
             * header claiming more is no TLS server, and waiting for the
             * rest would only wait for the timeout */
            if (td_cur_len(&m) >= 4 && td_cur_peek_u8(&m, 0, &type) && type == TD_HS_SERVER_HELLO) {
                uint8_t l0, l1, l2;
                if (td_cur_peek_u8(&m, 1, &l0) && td_cur_peek_u8(&m, 2, &l1) &&
                    td_cur_peek_u8(&m, 3, &l2)) {
                    mlen = ((uint32_t)l0 << 16) | ((uint32_t)l1 << 8) | l2;
                    if (mlen > 72u + 65536u) {
                        *impossible = true;
                        return true;
                    }
                }
            }
            if (!td_cur_get_u8(&m, &type) || !td_cur_get_vec24(&m, &msg))
                break;
            if (type == TD_HS_SERVER_HELLO_DONE)
                return true;
            if (type == TD_HS_SERVER_HELLO) {
                struct td_server_hello *sh = td_calloc(1, sizeof(*sh));
                bool done13;
                if (sh == NULL)
                    return true;
                (void)td_parse_server_hello(sh, &msg);
                done13 = sh->is_hrr || sh->selected_version == 0x0304;
                free(sh);
                if (done13)
                    return true;
            }
        }
    }
    return false;
}

/* ---------------------------------------------------------------- libssl */

static void ssl_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg)
{
    struct td_probe *p = arg;
    const uint8_t *b = buf;
    (void)version;
    (void)ssl;
    if (write_p || len < 1)
        return;
    if (content_type == SSL3_RT_ALERT && len >= 2 && !(b[0] == 1 && b[1] == 0)) {
        /* close_notify is an orderly end, not a refusal */
        p->ssl.alert_recv = b[1];
        p->ssl.alert_recv_seen = true;
        p->ssl.alert_after_handshake = SSL_is_init_finished(ssl) != 0;
    } else if (content_type == SSL3_RT_HANDSHAKE && b[0] == TD_HS_CERTIFICATE_REQUEST) {
        p->ssl.cert_requested = true;
    }
}

static SSL *ssl_make(struct td_probe *p, BIO **rb, BIO **wb)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;

    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    /* no internal cache: freeing the CTX would flush it and mark our
     * session not resumable; the plan keeps the session itself */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (p->ssl_min)
        SSL_CTX_set_min_proto_version(ctx, p->ssl_min);
    if (p->ssl_max)
        SSL_CTX_set_max_proto_version(ctx, p->ssl_max);
    if (p->cert_file != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ctx, p->cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, p->key_file ? p->key_file : p->cert_file,
                                        SSL_FILETYPE_PEM) != 1) {
            snprintf(p->why, sizeof(p->why), "cannot load client certificate/key");
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL keeps a reference */
    if (ssl == NULL)
        return NULL;
    *rb = BIO_new(BIO_s_mem());
    *wb = BIO_new(BIO_s_mem());
    if (*rb == NULL || *wb == NULL) {
        BIO_free(*rb);
        BIO_free(*wb);
        SSL_free(ssl);
        return NULL;
    }
    BIO_set_mem_eof_return(*rb, -1);
    SSL_set_bio(ssl, *rb, *wb);
    SSL_set_connect_state(ssl);
    SSL_set_msg_callback(ssl, ssl_msg_cb);
    SSL_set_msg_callback_arg(ssl, p);
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    if (p->ssl_sni != NULL)
        SSL_set_tlsext_host_name(ssl, p->ssl_sni);
    if (p->ssl_alpn != NULL) {
        /* "h2,http/1.1" -> RFC 7301 wire list */
        uint8_t a[256];
        size_t n = 0;
        const char *q = p->ssl_alpn;
        while (*q != 0) {
            size_t k = strcspn(q, ",");
            if (k > 0 && k < 256 && n + 1 + k <= sizeof(a)) {
                a[n] = (uint8_t)k;
                memcpy(a + n + 1, q, k);
                n += 1 + k;
            }
            q += k;
            if (*q == ',')
                q++;
        }
        if (n > 0)
            SSL_set_alpn_protos(ssl, a, (unsigned)n);
    }
    if (p->ssl_session != NULL)
        SSL_set_session(ssl, p->ssl_session);
    return ssl;
}

static void ssl_facts(struct td_probe *p, SSL *ssl)
{
    struct td_ssl_facts *f = &p->ssl;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    STACK_OF(X509_NAME) *cas = SSL_get_client_CA_list(ssl);
    const SSL_CIPHER *ciph = SSL_get_current_cipher(ssl);
    const unsigned char *alpn = NULL, *ocsp = NULL;
    unsigned alen = 0;

    f->version = (uint16_t)SSL_version(ssl);
    if (ciph != NULL)
        f->cipher = SSL_CIPHER_get_protocol_id(ciph);
    SSL_get0_alpn_selected(ssl, &alpn, &alen);
    if (alpn != NULL && alen > 0 && alen < sizeof(f->alpn)) {
        memcpy(f->alpn, alpn, alen);
        f->alpn[alen] = 0;
    }
    f->resumed = SSL_session_reused(ssl) != 0;
    f->ocsp_stapled = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp) > 0 && ocsp != NULL;
    if (cas != NULL) {
        int n = sk_X509_NAME_num(cas);
        f->num_ca_names = (uint16_t)(n < 0 ? 0 : n > UINT16_MAX ? UINT16_MAX : n);
        for (int i = 0; i < n && i < 4; i++)
            X509_NAME_oneline(sk_X509_NAME_value(cas, i), f->ca_names[i], sizeof(f->ca_names[i]));
    }
    if (chain != NULL && f->chain.num_certs == 0) {
        int n = sk_X509_num(chain);
        for (int i = 0; i < n; i++) {
            X509 *x = sk_X509_value(chain, i);
            int len = i2d_X509(x, NULL);
            unsigned char *der, *q;
            if (f->chain.total_certs < UINT16_MAX)
                f->chain.total_certs++;
            if (len <= 0 || (uint32_t)len > TD_MAX_CERT_LEN || f->chain.num_certs >= TD_MAX_CERTS)
                continue;
            der = td_malloc((size_t)len);
            if (der == NULL)
                continue;
            q = der;
            i2d_X509(x, &q);
            f->chain.certs[f->chain.num_certs].der = der;
            f->chain.certs[f->chain.num_certs].len = (uint32_t)len;
            f->chain.certs[f->chain.num_certs].wire_len = (uint32_t)len;
            f->chain.num_certs++;
        }
    }
}

/* ---------------------------------------------------------------- the runner */

enum st { ST_FREE, ST_CONNECTING, ST_ACTIVE };

struct slot {
    enum st st;
    struct td_probe *p;
    int fd;
    int64_t t0, phase_dl, total_dl;
    size_t sent;
    uint8_t *srv;              /* server bytes (raw), capped */
    size_t srv_len;
    uint8_t *hs;               /* handshake scratch for td_probe_raw_complete */
    uint32_t read_total;
    SSL *ssl;
    BIO *rb, *wb;
    bool hs_done, req_sent, done_on_timeout;
    uint8_t *out;              /* pending bytes to send (SSL) */
    size_t out_len, out_off;
    char http[HTTP_KEEP + 1];
    size_t http_len;
    uint16_t lport;            /* our port, to match captured packets */
};

struct td_runner {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct td_probe_opts o;
    struct td_rules_opts ro;
    struct td_probe **q;
    size_t qn, qcap, qhead;
    struct slot slots[MAX_PARALLEL];
    uint32_t conns;
    struct td_ttlcap *cap;     /* SYN-ACK and RST TTLs (root only) */
    bool cap_tried;
    char cap_why[160];
};

static void on_captured(void *ctx, uint16_t lport, uint8_t flags, uint8_t ttl)
{
    struct td_runner *r = ctx;
    for (uint32_t i = 0; i < MAX_PARALLEL; i++) {
        struct slot *s = &r->slots[i];
        if (s->st == ST_FREE || s->p == NULL || s->lport != lport)
            continue;
        if ((flags & 0x12) == 0x12)
            s->p->ex.synack_ttl = ttl;
        else if (flags & 0x04)
            s->p->ex.rst_ttl = ttl;
    }
}

bool td_runner_ttl_capture(const struct td_runner *r, char *why, size_t len)
{
    snprintf(why, len, "%s", r->cap_why[0] ? r->cap_why : "TTL capture off");
    return r->cap != NULL;
}

struct td_runner *td_runner_new(const struct sockaddr *addr, socklen_t addrlen,
                                const struct td_probe_opts *o, const struct td_rules_opts *ro)
{
    struct td_runner *r;
    if (addrlen > sizeof(r->addr))
        return NULL;
    r = td_calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    memcpy(&r->addr, addr, addrlen);
    r->addrlen = addrlen;
    if (o != NULL)
        r->o = *o;
    else
        td_probe_opts_default(&r->o);
    if (r->o.parallel == 0)
        r->o.parallel = 1;
    if (r->o.parallel > MAX_PARALLEL)
        r->o.parallel = MAX_PARALLEL;
    if (r->o.now_ns == NULL)
        r->o.now_ns = mono_ns;
    if (r->o.max_read < 1024)
        r->o.max_read = 1024;
    if (ro != NULL)
        r->ro = *ro;
    return r;
}

void td_runner_add(struct td_runner *r, struct td_probe *p)
{
    if (r->qn == r->qcap) {
        size_t nc = r->qcap ? r->qcap * 2 : 64;
        struct td_probe **nq = td_realloc(r->q, nc * sizeof(*nq));
        if (nq == NULL) {
            p->res = TD_PR_ERROR;
            snprintf(p->why, sizeof(p->why), "out of memory");
            if (p->done)
                p->done(p->done_ctx, p);
            else
                td_probe_free(p);
            return;
        }
        r->q = nq;
        r->qcap = nc;
    }
    r->q[r->qn++] = p;
}

uint32_t td_runner_connections(const struct td_runner *r) { return r->conns; }

void td_runner_free(struct td_runner *r)
{
    if (r == NULL)
        return;
    for (size_t i = r->qhead; i < r->qn; i++)
        td_probe_free(r->q[i]);
    free(r->q);
    td_ttlcap_close(r->cap);
    free(r);
}

static void slot_finish(struct td_runner *r, struct slot *s, enum td_end end)
{
    struct td_probe *p = s->p;
    int64_t now = r->o.now_ns();

    /* the kernel hands a packet to the capture before the socket sees it */
    td_ttlcap_drain(r->cap, on_captured, r);
    p->ex.end = end;
    p->ex.end_ns = now - s->t0;
    if (s->fd >= 0) {
        struct tcp_info ti;
        socklen_t tl = sizeof(ti);
        if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && tl >= sizeof(ti))
            p->ex.hello_acked = ti.tcpi_unacked == 0;
        if (end == TD_END_TIMEOUT || end == TD_END_CAP || end == TD_END_DONE) {
            /* abortive close: a server stuck on an undelivered hello (or a
             * single-threaded one) is freed at once, not after our FIN
             * waits behind retransmissions */
            struct linger lg = {1, 0};
            (void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(s->fd);
    }
    if (s->ssl != NULL) {
        ssl_facts(p, s->ssl);
        if (p->ssl_session_out == NULL)
            p->ssl_session_out = SSL_get1_session(s->ssl);
        /* without this, SSL_free treats the session as bad and marks it
         * not resumable (ssl_clear_bad_session): we end connections
         * abruptly on purpose, the session itself is fine */
        if (p->ssl.handshake_ok)
            SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(s->ssl);
    }
    if (s->http_len > 0) {
        int code = 0;
        s->http[s->http_len] = 0;
        if (sscanf(s->http, "HTTP/%*d.%*d %d", &code) == 1)
            p->ssl.http_status = code;
        p->ssl.http_no_cert = strstr(s->http, "No required SSL certificate") != NULL;
    }
    free(s->srv);
    free(s->hs);
    free(s->out);
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->st = ST_FREE;
    td_probe_classify(p, &r->ro);
    if (p->done)
        p->done(p->done_ctx, p);
    else
        td_probe_free(p);
}

static void slot_start(struct td_runner *r, struct slot *s, struct td_probe *p)
{
    int fd;
    memset(s, 0, sizeof(*s));
    s->p = p;
    s->fd = -1;
    s->t0 = r->o.now_ns();
    s->total_dl = s->t0 + (int64_t)r->o.total_ms * 1000000LL;
    s->phase_dl = s->t0 + (int64_t)r->o.connect_ms * 1000000LL;
    s->st = ST_CONNECTING;
    r->conns++;
    if (r->addr.ss_family == AF_INET)
        p->ex.server_port = ntohs(((const struct sockaddr_in *)(const void *)&r->addr)->sin_port);
    else if (r->addr.ss_family == AF_INET6)
        p->ex.server_port = ntohs(((const struct sockaddr_in6 *)(const void *)&r->addr)->sin6_port);
    fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(p->why, sizeof(p->why), "socket: %s", strerror(errno));
        slot_finish(r, s, TD_END_ERROR);
        return;
    }
    s->fd = fd;
    if (connect(fd, (const struct sockaddr *)&r->addr, r->addrlen) != 0 && errno != EINPROGRESS) {
        int e = errno;
        snprintf(p->why, sizeof(p->why), "connect: %s", strerror(e));
        slot_finish(r, s, e == ECONNREFUSED ? TD_END_REFUSED : TD_END_CONNECT_TIMEOUT);
        return;
    }
    {
        struct sockaddr_storage la;
        socklen_t ll = sizeof(la);
        if (getsockname(fd, (struct sockaddr *)&la, &ll) == 0)
            s->lport = la.ss_family == AF_INET6
                           ? ntohs(((const struct sockaddr_in6 *)(const void *)&la)->sin6_port)
                           : ntohs(((const struct sockaddr_in *)(const void *)&la)->sin_port);
    }
}

/* ssl_pump drives libssl: handshake, request, reads; queues its output. */
static void ssl_pump(struct td_runner *r, struct slot *s)
{
    struct td_probe *p = s->p;
    int rc;
    if (!s->hs_done) {
        rc = SSL_do_handshake(s->ssl);
        if (rc == 1) {
            s->hs_done = true;
            p->ssl.handshake_ok = true;
            if (p->stop_at_handshake) {
                s->phase_dl = 0;
                s->done_on_timeout = true;
            } else {
                s->phase_dl = r->o.now_ns() + (int64_t)(r->o.answer_ms < POST_WAIT_MS ? r->o.answer_ms : POST_WAIT_MS) * 1000000LL;
            }
        } else {
            int e = SSL_get_error(s->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                unsigned long le = ERR_peek_error();
                if (le != 0 && p->ssl.err[0] == 0) {
                    ERR_error_string_n(le, p->ssl.err, sizeof(p->ssl.err));
                    p->ssl.err_code = le;
                }
                ERR_clear_error();
                s->hs_done = true; /* failed: flush our alert, then end soon */
                p->ssl.handshake_ok = false;
                s->phase_dl = r->o.now_ns() + 50000000LL;
                s->done_on_timeout = true;
            }
        }
    }
    if (s->hs_done && p->ssl.handshake_ok) {
        if (!s->req_sent && p->http_host != NULL) {
            char req[512];
            int n = snprintf(req, sizeof(req),
                             "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsdiag-probe\r\n"
                             "Connection: close\r\n\r\n", p->http_host);
            if (n > 0 && (size_t)n < sizeof(req))
                (void)SSL_write(s->ssl, req, n);
            s->req_sent = true;
        }
        for (;;) {
            char b[4096];
            rc = SSL_read(s->ssl, b, sizeof(b));
            if (rc <= 0) {
                ERR_clear_error();
                break;
            }
            size_t k = (size_t)rc;
            if (k > HTTP_KEEP - s->http_len)
                k = HTTP_KEEP - s->http_len;
            memcpy(s->http + s->http_len, b, k);
            s->http_len += k;
        }
    }
    /* move libssl's output to our send buffer */
    for (;;) {
        char b[16384];
        int n = BIO_read(s->wb, b, sizeof(b));
        if (n <= 0)
            break;
        uint8_t *nb = td_realloc(s->out, s->out_len + (size_t)n);
        if (nb == NULL)
            break;
        s->out = nb;
        memcpy(s->out + s->out_len, b, (size_t)n);
        s->out_len += (size_t)n;
    }
}

static void on_connected(struct td_runner *r, struct slot *s)
{
    struct td_probe *p = s->p;
    int64_t now = r->o.now_ns();
    p->ex.connect_ns = now - s->t0;
    s->st = ST_ACTIVE;
    s->phase_dl = now + (int64_t)r->o.answer_ms * 1000000LL;
    if (p->starttls != NULL) {
        int left = (int)((s->total_dl - now) / 1000000LL);
        if (p->starttls(s->fd, p->starttls_proto, left > 0 ? left : 0, p->why, sizeof(p->why)) != 0) {
            slot_finish(r, s, TD_END_ERROR);
            return;
        }
    }
    if (p->kind == TD_PROBE_SSL) {
        s->ssl = ssl_make(p, &s->rb, &s->wb);
        if (s->ssl == NULL) {
            if (p->why[0] == 0)
                snprintf(p->why, sizeof(p->why), "libssl setup failed");
            slot_finish(r, s, TD_END_ERROR);
            return;
        }
        ssl_pump(r, s);
    } else {
        s->out = td_malloc(p->hello_len);
        if (s->out == NULL) {
            slot_finish(r, s, TD_END_ERROR);
            return;
        }
        memcpy(s->out, p->hello, p->hello_len);
        s->out_len = p->hello_len;
        s->srv = td_malloc(r->o.max_read);
        s->hs = td_malloc(64u * 1024u);
        if (s->srv == NULL || s->hs == NULL) {
            slot_finish(r, s, TD_END_ERROR);
            return;
        }
    }
}

static void do_write(struct td_runner *r, struct slot *s)
{
    while (s->out_off < s->out_len) {
        ssize_t n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            slot_finish(r, s, errno == ECONNRESET || errno == EPIPE ? TD_END_RST : TD_END_ERROR);
            return;
        }
        (void)td_exchange_add(&s->p->ex, false, r->o.now_ns() - s->t0, s->out + s->out_off,
                              (size_t)n);
        s->out_off += (size_t)n;
    }
    s->out_off = s->out_len = 0;
}

static bool has_crlf2(const char *p, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0)
            return true;
    return false;
}

/* returns false when the slot was finished */
static bool do_read(struct td_runner *r, struct slot *s)
{
    struct td_probe *p = s->p;
    uint8_t b[16384];
    for (;;) {
        size_t want = sizeof(b);
        if (r->o.max_read - s->read_total < want)
            want = r->o.max_read - s->read_total;
        if (want == 0) {
            slot_finish(r, s, TD_END_CAP);
            return false;
        }
        ssize_t n = recv(s->fd, b, want, 0);
        if (n == 0) {
            if (s->ssl != NULL)
                ssl_pump(r, s);
            slot_finish(r, s, TD_END_FIN);
            return false;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR)
                continue;
            if (s->ssl != NULL)
                ssl_pump(r, s);
            slot_finish(r, s, errno == ECONNRESET ? TD_END_RST : TD_END_ERROR);
            return false;
        }
        int64_t now = r->o.now_ns();
        (void)td_exchange_add(&p->ex, true, now - s->t0, b, (size_t)n);
        s->read_total += (uint32_t)n;
        if (!s->done_on_timeout) { /* once the end is set, more bytes do not extend it */
            s->phase_dl = now + (int64_t)r->o.answer_ms * 1000000LL;
            if (s->ssl != NULL && s->hs_done)
                s->phase_dl = now + (int64_t)(r->o.answer_ms < POST_WAIT_MS ? r->o.answer_ms : POST_WAIT_MS) * 1000000LL;
        }
        if (s->ssl != NULL) {
            BIO_write(s->rb, b, (int)n);
            ssl_pump(r, s);
            if (s->hs_done && s->req_sent && s->http_len >= 4 && !s->done_on_timeout &&
                has_crlf2(s->http, s->http_len)) {
                /* headers are in; give the body a moment, then stop: a
                 * server that keeps the connection open costs no more */
                s->phase_dl = now + 100000000LL;
                s->done_on_timeout = true;
            }
        } else {
            memcpy(s->srv + s->srv_len, b, (size_t)n);
            s->srv_len += (size_t)n;
            if (td_probe_raw_complete(s->srv, s->srv_len, s->hs, 64u * 1024u, &p->ex.impossible)) {
                slot_finish(r, s, TD_END_DONE);
                return false;
            }
        }
    }
}

void td_runner_run(struct td_runner *r)
{
    struct pollfd pfd[MAX_PARALLEL];
    int map[MAX_PARALLEL];

    for (uint32_t i = 0; i < MAX_PARALLEL; i++)
        r->slots[i].fd = -1;
    if (r->o.ttl_capture && !r->cap_tried) {
        r->cap_tried = true;
        r->cap = td_ttlcap_open((const struct sockaddr *)&r->addr, r->addrlen, r->cap_why,
                                sizeof(r->cap_why));
    }
    for (;;) {
        int n = 0, inflight = 0;
        int64_t now = r->o.now_ns(), next = INT64_MAX;
        /* fill free slots */
        for (uint32_t i = 0; i < r->o.parallel && r->qhead < r->qn; i++) {
            if (r->slots[i].st == ST_FREE) {
                struct td_probe *p = r->q[r->qhead++];
                slot_start(r, &r->slots[i], p);
            }
        }
        now = r->o.now_ns();
        for (uint32_t i = 0; i < r->o.parallel; i++) {
            struct slot *s = &r->slots[i];
            if (s->st == ST_FREE)
                continue;
            int64_t dl = s->phase_dl < s->total_dl ? s->phase_dl : s->total_dl;
            if (now >= dl) {
                if (s->st == ST_CONNECTING)
                    slot_finish(r, s, TD_END_CONNECT_TIMEOUT);
                else
                    slot_finish(r, s, s->done_on_timeout ? TD_END_DONE : TD_END_TIMEOUT);
                continue;
            }
            if (dl < next)
                next = dl;
            pfd[n].fd = s->fd;
            pfd[n].events = s->st == ST_CONNECTING ? POLLOUT
                                                   : (short)(POLLIN | (s->out_len > s->out_off ? POLLOUT : 0));
            pfd[n].revents = 0;
            map[n] = (int)i;
            n++;
            inflight++;
        }
        if (inflight == 0) {
            if (r->qhead >= r->qn)
                break;
            continue;
        }
        int64_t wait_ms = (next - now) / 1000000LL + 1;
        if (wait_ms > 1000)
            wait_ms = 1000;
        int pr = poll(pfd, (nfds_t)n, (int)wait_ms);
        if (pr < 0 && errno != EINTR)
            break;
        td_ttlcap_drain(r->cap, on_captured, r);
        for (int k = 0; k < n && pr > 0; k++) {
            struct slot *s = &r->slots[map[k]];
            if (pfd[k].revents == 0 || s->st == ST_FREE)
                continue;
            if (s->st == ST_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof(err);
                if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
                    err = errno;
                if (err != 0) {
                    snprintf(s->p->why, sizeof(s->p->why), "connect: %s", strerror(err));
                    slot_finish(r, s, err == ECONNREFUSED ? TD_END_REFUSED
                                                          : TD_END_CONNECT_TIMEOUT);
                    continue;
                }
                on_connected(r, s);
                if (s->st == ST_FREE)
                    continue;
                do_write(r, s);
                continue;
            }
            if (pfd[k].revents & (POLLIN | POLLERR | POLLHUP)) {
                if (!do_read(r, s))
                    continue;
            }
            if (s->st != ST_FREE && (s->out_len > s->out_off))
                do_write(r, s);
        }
    }
}
