/* plan.c: the probe plan and the diagnoses drawn from its differences.
 *
 * One runner, one poll loop.  Queued at the start, in parallel:
 *   versions  SSL 3.0, TLS 1.0, 1.1, 1.2 (every suite the version can carry)
 *             and TLS 1.3 (supported_versions 1.3 only)
 *   SNI       a modern hello (1.3 + 1.2) with the given name, none, a bogus
 *             name, and the IP address as the name
 *   ALPN      h2 + http/1.1, and http/1.1 alone
 *   groups    TLS 1.3 by elimination (each answer: ServerHello or HRR)
 *   libssl    a real handshake (chain, OCSP, CertificateRequest, client
 *             auth, HTTP answer), then a resumption with its session, and
 *             with --cert a handshake presenting it
 * Chained from the answers: cipher suites per accepted version by
 * elimination (offer all, drop the chosen one, repeat), then one probe with
 * the order reversed to tell the server's preference from ours.
 *
 * Every probe is judged by the engine and rules (run.c); here the answers
 * are compared and named with the contract's codes.  Nothing reads raw
 * bytes here. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "tlsdiag/alloc.h"
#include "tlsdiag/probe.h"
#include "registry/registry_tables.h"
#include "tlsdiag/registry.h"

enum { T_VERS = 1, T_CIPH, T_ORDER, T_SNI, T_ALPN, T_GROUP, T_HRR, T_SSL_MAIN, T_SSL_RESUME, T_SSL_CERT, T_SSL_NOSNI, T_SSL_ALPN, T_SIG, T_SSLV2 };
enum { SNI_GIVEN, SNI_NONE, SNI_BOGUS, SNI_IP };
enum { ALPN_BOTH, ALPN_H11 };

static const uint16_t vers_val[TD_PLAN_NVERS] = {0x0300, 0x0301, 0x0302, 0x0303, 0x0304};
static const uint16_t all_groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101,
                                      0x0102, 0x0103, 0x0104, 0x11ec, 0x11eb, 0x11ed};
static const uint16_t ec_groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101,
                                     0x0102};
static const uint16_t sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805,
                                   0x0806, 0x0809, 0x080a, 0x080b, 0x0401, 0x0501, 0x0601,
                                   0x0303, 0x0203, 0x0301, 0x0201, 0x0402, 0x0202};

struct plan {
    struct td_plan_result *r;
    const struct td_plan_opts *po;
    struct td_runner *run;
    struct td_keyshares ks;
    const char *sni;
    uint16_t suites[TD_PLAN_NVERS][512];
    uint16_t nsuites[TD_PLAN_NVERS];
    uint16_t rest[TD_PLAN_NVERS][512];   /* suites still offered */
    uint16_t nrest[TD_PLAN_NVERS];
    struct td_probe *last_fail[TD_PLAN_NVERS]; /* the probe that ended the elimination */
    uint16_t grest[32];
    uint16_t ngrest;
    uint16_t srest[64];                  /* signature schemes still offered (TLS 1.2) */
    uint16_t nsrest;
    uint16_t kx12[512];                  /* TLS 1.2 suites with a signed key exchange */
    uint16_t nkx12;
    struct td_probe *keep[40];           /* probes kept for the diagnoses */
    uint8_t nkeep;
    struct td_probe *sni_p[4], *alpn_p[2], *ssl_main, *ssl_cert, *ssl_nosni, *vers_p[TD_PLAN_NVERS];
};

static void keep(struct plan *pl, struct td_probe *p)
{
    if (pl->nkeep < sizeof(pl->keep) / sizeof(pl->keep[0]))
        pl->keep[pl->nkeep++] = p;
    else
        td_probe_free(p);
}

static void spec_base(struct td_ch_spec *s, uint16_t version, const char *sni)
{
    memset(s, 0, sizeof(*s));
    (void)RAND_bytes(s->random, sizeof(s->random));
    s->sni = sni;
    if (version == 0x0304) {
        static const uint16_t sv13[] = {0x0304};
        s->legacy_version = 0x0303;
        s->versions = sv13;
        s->num_versions = 1;
        s->groups = all_groups;
        s->num_groups = (uint16_t)(sizeof(all_groups) / sizeof(all_groups[0]));
        s->share_groups = all_groups; /* x25519, P-256 */
        s->num_share_groups = 2;
        s->psk_modes = true;
        s->session_id_len = 32;
        (void)RAND_bytes(s->session_id, 32);
    } else {
        s->legacy_version = version;
        s->groups = ec_groups;
        s->num_groups = (uint16_t)(sizeof(ec_groups) / sizeof(ec_groups[0]));
        s->ec_point_formats = true;
        s->reneg_info = true;
        s->ems = true;
        s->session_ticket = true;
    }
    if (version >= 0x0303) {
        s->sig_algs = sigalgs;
        s->num_sig_algs = (uint16_t)(sizeof(sigalgs) / sizeof(sigalgs[0]));
    }
}

static void on_done(void *ctx, struct td_probe *p);

static struct td_probe *raw_probe(struct plan *pl, const struct td_ch_spec *s, int tag, int arg,
                                  const char *label)
{
    struct td_probe *p = td_probe_new();
    if (p == NULL)
        return NULL;
    p->kind = TD_PROBE_RAW;
    p->label = label;
    p->hello_len = td_ch_build(s, &pl->ks, p->hello, sizeof(p->hello));
    p->tag = tag;
    p->arg = arg;
    p->done = on_done;
    p->done_ctx = pl;
    p->starttls = pl->po->starttls_fn;
    p->starttls_proto = pl->po->starttls;
    if (p->hello_len == 0) {
        td_probe_free(p);
        return NULL;
    }
    td_runner_add(pl->run, p);
    return p;
}

static void cipher_probe(struct plan *pl, int vi, int tag)
{
    static const char *labels[TD_PLAN_NVERS] = {"ciphers/3.0", "ciphers/1.0", "ciphers/1.1",
                                                "ciphers/1.2", "ciphers/1.3"};
    struct td_ch_spec s;
    uint16_t rev[512];
    spec_base(&s, vers_val[vi], pl->sni);
    if (tag == T_ORDER) {
        /* the accepted suites in reverse order: a server that picks the
         * last (its first) imposes its own order */
        uint16_t n = pl->r->num_ciphers[vi];
        for (uint16_t i = 0; i < n; i++)
            rev[i] = pl->r->ciphers[vi][n - 1 - i];
        s.ciphers = rev;
        s.num_ciphers = n;
    } else {
        s.ciphers = pl->rest[vi];
        s.num_ciphers = pl->nrest[vi];
    }
    (void)raw_probe(pl, &s, tag, vi, labels[vi]);
}

static void group_probe(struct plan *pl)
{
    struct td_ch_spec s;
    uint16_t shares[5];
    uint16_t ns = 0;
    spec_base(&s, 0x0304, pl->sni);
    s.groups = pl->grest;
    s.num_groups = pl->ngrest;
    for (uint16_t i = 0; i < pl->ngrest && ns < 5; i++)
        if (td_keyshares_has(&pl->ks, pl->grest[i]))
            shares[ns++] = pl->grest[i];
    s.share_groups = shares;
    s.num_share_groups = ns;
    {
        static const uint16_t s13[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};
        s.ciphers = s13;
        s.num_ciphers = 5;
    }
    (void)raw_probe(pl, &s, T_GROUP, 0, "groups/1.3");
}

/* TLS 1.2 signature schemes by elimination: the ServerKeyExchange of an
 * (EC)DHE suite names the scheme the server chose from those offered */
static void sig_probe(struct plan *pl)
{
    struct td_ch_spec s;
    spec_base(&s, 0x0303, pl->sni);
    s.ciphers = pl->kx12;
    s.num_ciphers = pl->nkx12;
    s.sig_algs = pl->srest;
    s.num_sig_algs = pl->nsrest;
    (void)raw_probe(pl, &s, T_SIG, 3, "sigalgs/1.2");
}

static void ssl_probe(struct plan *pl, int tag, void *session, bool with_cert)
{
    struct td_probe *p = td_probe_new();
    if (p == NULL)
        return;
    p->kind = TD_PROBE_SSL;
    p->label = tag == T_SSL_MAIN     ? "handshake"
               : tag == T_SSL_ALPN   ? "alpn/h2,http1.1"
               : tag == T_SSL_RESUME ? "resumption"
               : tag == T_SSL_NOSNI  ? "handshake/no-sni"
                                     : "client-cert";
    p->tag = tag;
    p->ssl_sni = tag == T_SSL_NOSNI ? NULL : pl->sni;
    p->http_host = pl->po->http && tag != T_SSL_NOSNI ? (pl->sni ? pl->sni : pl->po->host) : NULL;
    p->ssl_session = session;
    p->stop_at_handshake = tag == T_SSL_NOSNI || tag == T_SSL_ALPN;
    if (tag == T_SSL_ALPN) {
        p->ssl_alpn = "h2,http/1.1";
        p->http_host = NULL;
    }
    if (with_cert) {
        p->cert_file = pl->po->cert_file;
        p->key_file = pl->po->key_file;
    }
    p->starttls = pl->po->starttls_fn;
    p->starttls_proto = pl->po->starttls;
    p->done = on_done;
    p->done_ctx = pl;
    td_runner_add(pl->run, p);
}

static void answer_of(struct td_answer *a, const struct td_probe *p)
{
    memset(a, 0, sizeof(*a));
    a->probed = true;
    a->res = p->res;
    a->alert = p->alert;
    a->version = p->version;
    a->cipher = p->cipher;
    a->tls_ok = p->res == TD_PR_ACCEPTED;
    a->synack_ttl = p->ex.synack_ttl;
    a->rst_ttl = p->res == TD_PR_RST ? p->ex.rst_ttl : 0;
}

static bool in_list(const uint16_t *v, uint16_t n, uint16_t x)
{
    for (uint16_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static void remove_from(uint16_t *v, uint16_t *n, uint16_t x)
{
    uint16_t k = 0;
    for (uint16_t i = 0; i < *n; i++)
        if (v[i] != x)
            v[k++] = v[i];
    *n = k;
}

/* one step of the cipher elimination for version index |vi| */
static void cipher_step(struct plan *pl, int vi, struct td_probe *p, bool *kept)
{
    struct td_plan_result *r = pl->r;
    bool got = p->res == TD_PR_ACCEPTED && p->version == vers_val[vi] &&
               in_list(pl->rest[vi], pl->nrest[vi], p->cipher);
    if (got && r->num_ciphers[vi] < TD_PLAN_MAX_SUITES) {
        r->ciphers[vi][r->num_ciphers[vi]++] = p->cipher;
        remove_from(pl->rest[vi], &pl->nrest[vi], p->cipher);
        if (pl->nrest[vi] > 0 && pl->po->enum_ciphers) {
            cipher_probe(pl, vi, T_CIPH);
            return;
        }
    }
    if (!got && pl->last_fail[vi] == NULL && p->tag == T_CIPH) {
        pl->last_fail[vi] = p;
        *kept = true;
        keep(pl, p);
    }
    if (r->num_ciphers[vi] >= 2 && pl->po->enum_ciphers)
        cipher_probe(pl, vi, T_ORDER);
}

static void log_probe(struct td_plan_result *r, const struct td_probe *p)
{
    struct td_probe_log *l;
    char b1[64], b2[64];
    if (r->total_log < UINT16_MAX)
        r->total_log++;
    if (r->num_log >= TD_PLAN_MAX_LOG)
        return;
    l = &r->log[r->num_log++];
    snprintf(l->label, sizeof(l->label), "%s", p->label ? p->label : "?");
    l->ms = (uint32_t)(p->ex.end_ns > 0 ? p->ex.end_ns / 1000000 : 0);
    switch (p->res) {
    case TD_PR_ACCEPTED:
        snprintf(l->result, sizeof(l->result), "%s %s %s%s%s", p->hrr && p->conn && !p->conn->sh.m ? "hello_retry" : "accepted",
                 td_version_str(p->version) ? td_version_str(p->version) : "?",
                 td_reg_fmt(TD_REG_CIPHER, p->cipher, b1, sizeof(b1)), p->group ? " " : "",
                 p->group ? td_reg_fmt(TD_REG_GROUP, p->group, b2, sizeof(b2)) : "");
        break;
    case TD_PR_ALERT:
        snprintf(l->result, sizeof(l->result), "alert:%s", td_reg_fmt(TD_REG_ALERT, p->alert, b1, sizeof(b1)));
        break;
    default:
        snprintf(l->result, sizeof(l->result), "%s%s%.60s", td_probe_res_str(p->res), p->why[0] ? " " : "", p->why);
        break;
    }
    if (p->kind == TD_PROBE_SSL && p->ssl.handshake_ok) {
        size_t n = strnlen(l->result, sizeof(l->result));
        snprintf(l->result + n, sizeof(l->result) - n, "%s%s", p->ssl.resumed ? " resumed" : "",
                 p->ssl.http_status ? " http" : "");
        n = strnlen(l->result, sizeof(l->result));
        if (p->ssl.http_status)
            snprintf(l->result + n, sizeof(l->result) - n, " %d", p->ssl.http_status);
    }
}

static void on_done(void *ctx, struct td_probe *p)
{
    struct plan *pl = ctx;
    struct td_plan_result *r = pl->r;
    bool kept = false;

    log_probe(r, p);

    switch (p->tag) {
    case T_VERS: {
        int vi = p->arg;
        answer_of(&r->versions[vi], p);
        if (p->res == TD_PR_ACCEPTED && p->version != vers_val[vi]) {
            r->versions[vi].tls_ok = false;
            r->chosen_below[vi] = p->version;
        }
        pl->vers_p[vi] = p;
        keep(pl, p);
        kept = true;
        if (r->versions[vi].tls_ok)
            cipher_step(pl, vi, p, &kept);
        if (vi == 3 && r->versions[vi].tls_ok && pl->po->enum_ciphers && pl->nkx12 > 0)
            sig_probe(pl);
        break;
    }
    case T_SIG: {
        const struct td_server_key_exchange *ske = p->conn ? p->conn->ske.m : NULL;
        if (p->res == TD_PR_ACCEPTED && ske != NULL && ske->sig_alg != 0 &&
            in_list(pl->srest, pl->nsrest, ske->sig_alg) && r->num_sigs < 48) {
            r->sigs[r->num_sigs++] = ske->sig_alg;
            remove_from(pl->srest, &pl->nsrest, ske->sig_alg);
            if (pl->nsrest > 0)
                sig_probe(pl);
        }
        break;
    }
    case T_CIPH:
        cipher_step(pl, p->arg, p, &kept);
        break;
    case T_ORDER: {
        int vi = p->arg;
        uint16_t n = r->num_ciphers[vi];
        if (p->res == TD_PR_ACCEPTED && n >= 2) {
            r->cipher_order_known[vi] = true;
            r->cipher_server_order[vi] = p->cipher == r->ciphers[vi][0];
            if (!r->cipher_server_order[vi]) {
                /* the server follows the client: our order is not its own */
                r->cipher_order_known[vi] = true;
            }
        }
        break;
    }
    case T_SNI:
        answer_of(p->arg == SNI_GIVEN ? &r->sni_given : p->arg == SNI_NONE ? &r->sni_none
                  : p->arg == SNI_BOGUS ? &r->sni_bogus : &r->sni_ip, p);
        pl->sni_p[p->arg] = p;
        keep(pl, p);
        kept = true;
        break;
    case T_ALPN:
        answer_of(p->arg == ALPN_BOTH ? &r->alpn_both : &r->alpn_http11, p);
        if (p->arg == ALPN_BOTH && p->conn != NULL && p->conn->sh.m != NULL &&
            p->conn->sh.m->has_alpn) {
            size_t n = p->conn->sh.m->alpn.len;
            if (n >= sizeof(r->alpn_chosen))
                n = sizeof(r->alpn_chosen) - 1;
            memcpy(r->alpn_chosen, p->conn->sh.m->alpn.b, n);
            r->alpn_chosen[n] = 0;
        }
        pl->alpn_p[p->arg] = p;
        keep(pl, p);
        kept = true;
        break;
    case T_GROUP:
        if (p->res == TD_PR_ACCEPTED && p->group != 0 && in_list(pl->grest, pl->ngrest, p->group) &&
            r->num_groups < TD_PLAN_MAX_GROUPS) {
            r->groups[r->num_groups++] = p->group;
            if (p->hrr)
                r->hrr_seen = true;
            remove_from(pl->grest, &pl->ngrest, p->group);
            if (pl->ngrest > 0 && pl->po->enum_groups)
                group_probe(pl);
        }
        break;
    case T_SSLV2:
        /* any ServerHello counts: the server chose its version */
        answer_of(&r->sslv2_hello, p);
        break;
    case T_HRR:
        r->hrr_probed = true;
        r->hrr_works = p->hrr;
        r->hrr_group = p->hrr ? p->group : 0;
        break;
    case T_SSL_MAIN:
        pl->ssl_main = p;
        keep(pl, p);
        kept = true;
        if (p->ssl.handshake_ok && p->ssl_session_out != NULL &&
            SSL_SESSION_is_resumable(p->ssl_session_out)) {
            r->resumption_tried = true;
            ssl_probe(pl, T_SSL_RESUME, p->ssl_session_out, false);
        }
        break;
    case T_SSL_RESUME:
        r->resumption_ok = p->ssl.handshake_ok && p->ssl.resumed;
        break;
    case T_SSL_ALPN:
        answer_of(&r->alpn_both, p);
        snprintf(r->alpn_chosen, sizeof(r->alpn_chosen), "%s", p->ssl.alpn);
        pl->alpn_p[ALPN_BOTH] = p;
        keep(pl, p);
        kept = true;
        break;
    case T_SSL_NOSNI:
        pl->ssl_nosni = p;
        keep(pl, p);
        kept = true;
        break;
    case T_SSL_CERT:
        pl->ssl_cert = p;
        keep(pl, p);
        kept = true;
        break;
    default:
        break;
    }
    if (!kept)
        td_probe_free(p);
}

/* ---------------------------------------------------------------- diagnoses */

/* libssl reasons that mean "a message or record of the peer's is too long
 * or its lengths do not add up" */
static bool ssl_length_error(unsigned long e)
{
    if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL)
        return false;
    switch (ERR_GET_REASON(e)) {
    case SSL_R_EXCESSIVE_MESSAGE_SIZE:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
    case SSL_R_DATA_LENGTH_TOO_LONG:
    case SSL_R_LENGTH_MISMATCH:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_BAD_PACKET_LENGTH:
    case SSL_R_LENGTH_TOO_SHORT:
    case SSL_R_LENGTH_TOO_LONG:
        return true;
    default:
        return false;
    }
}

static struct td_diagnosis *dg(struct td_plan_result *r, const char *code, enum td_severity sev,
                               enum td_by by, enum td_confidence conf)
{
    return td_diagnosis_push(r->diag, &r->num_diag, code, sev, by, conf);
}

static void ev(struct td_diagnosis *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev(struct td_diagnosis *d, const char *fmt, ...)
{
    va_list ap;
    if (d == NULL || d->num_ev >= TD_MAX_EVIDENCE)
        return;
    d->ev[d->num_ev].frame = 0;
    d->ev[d->num_ev].from = -1;
    va_start(ap, fmt);
    vsnprintf(d->ev[d->num_ev].what, sizeof(d->ev[0].what), fmt, ap);
    va_end(ap);
    d->num_ev++;
}

#define TXT(field, ...) snprintf(d->field, sizeof(d->field), __VA_ARGS__)

static const char *ans_str(const struct td_answer *a, char *buf, size_t len)
{
    if (a->res == TD_PR_ALERT) {
        char an[48];
        snprintf(buf, len, "alert %s", td_reg_fmt(TD_REG_ALERT, a->alert, an, sizeof(an)));
    } else if (a->res == TD_PR_ACCEPTED) {
        char cn[80];
        snprintf(buf, len, "ServerHello %s %s", td_version_str(a->version) ? td_version_str(a->version) : "?",
                 td_reg_fmt(TD_REG_CIPHER, a->cipher, cn, sizeof(cn)));
    } else {
        snprintf(buf, len, "%s", td_probe_res_str(a->res));
    }
    return buf;
}

/* copy the primary diagnosis of a probe's verdict (the rules' view) */
static void take_primary(struct td_plan_result *r, const struct td_probe *p, const char *what)
{
    const struct td_diagnosis *src;
    if (p == NULL || r->num_diag >= TD_MAX_DIAGNOSES)
        return;
    src = td_verdict_primary(&p->v);
    if (src == NULL)
        return;
    r->diag[r->num_diag] = *src;
    struct td_diagnosis *d = &r->diag[r->num_diag++];
    d->num_ev = d->num_ev < TD_MAX_EVIDENCE ? d->num_ev : TD_MAX_EVIDENCE - 1;
    for (uint8_t i = 0; i < d->num_ev; i++)
        d->ev[i].frame = 0; /* frames of a synthetic replay mean nothing to the user */
    ev(d, "probe %s (%s)", p->label ? p->label : "?", what);
}

static bool failed(const struct td_answer *a) { return a->probed && !a->tls_ok; }

static void diagnose(struct plan *pl, const struct td_trust *trust, int64_t now)
{
    struct td_plan_result *r = pl->r;
    struct td_diagnosis *d;
    char b1[96], b2[96];
    int best = -1;

    for (int i = TD_PLAN_NVERS - 1; i >= 0; i--)
        if (r->versions[i].tls_ok) {
            best = i;
            break;
        }

    /* nothing works at all: the rules' reading of the most modern probe */
    if (best < 0) {
        struct td_probe *p = pl->sni_p[SNI_GIVEN] ? pl->sni_p[SNI_GIVEN] : pl->vers_p[3];
        if (r->sni_none.tls_ok || r->sni_bogus.tls_ok) {
            /* handled by the SNI differential below */
        } else {
            take_primary(r, p, "no version accepted");
            if (r->num_diag == 0) {
                d = dg(r, "unknown", TD_SEV_ERROR, TD_BY_UNKNOWN, TD_CONF_LOW);
                if (d) {
                    TXT(summary, "no handshake succeeded and nothing explains it");
                    TXT(explanation, "every probe ended without a ServerHello");
                    TXT(fix, "capture a failing attempt and run tlsdiag read on it");
                }
            }
        }
    }

    /* SNI differential */
    if (r->sni_given.probed && pl->sni != NULL) {
        bool others_ok = r->sni_none.tls_ok || r->sni_bogus.tls_ok || r->sni_ip.tls_ok;
        if (r->sni_given.tls_ok && failed(&r->sni_none)) {
            d = dg(r, "sni_required", TD_SEV_ERROR,
                   r->sni_none.res == TD_PR_RST || r->sni_none.res == TD_PR_FIN ? TD_BY_SERVER : TD_BY_SERVER,
                   TD_CONF_HIGH);
            if (d) {
                TXT(summary, "a ClientHello without SNI is refused (%s); with SNI it works",
                    ans_str(&r->sni_none, b1, sizeof(b1)));
                TXT(explanation, "the same hello with server_name \"%.100s\" got a ServerHello, "
                    "without server_name it got %s: the server (often an L4 proxy routing on SNI, "
                    "such as nginx stream with ssl_preread) needs the name", pl->sni,
                    ans_str(&r->sni_none, b2, sizeof(b2)));
                TXT(fix, "clients must send SNI (e.g. openssl s_client -servername NAME); or give the "
                    "proxy a default route for hellos without a name");
                ev(d, "probe sni/given: %s", ans_str(&r->sni_given, b1, sizeof(b1)));
                ev(d, "probe sni/none: %s", ans_str(&r->sni_none, b1, sizeof(b1)));
            }
        } else if (!r->sni_given.tls_ok && others_ok) {
            const char *code = NULL;
            enum td_by by = TD_BY_MIDDLEBOX;
            if (r->sni_given.res == TD_PR_RST)
                code = "middlebox_reset";
            else if (r->sni_given.res == TD_PR_TIMEOUT)
                code = "middlebox_drop";
            else if (r->sni_given.res == TD_PR_ALERT && r->sni_given.alert == 112) {
                code = "sni_unrecognized";
                by = TD_BY_SERVER;
            }
            if (code != NULL && (d = dg(r, code, TD_SEV_ERROR, by, TD_CONF_HIGH)) != NULL) {
                TXT(summary, "hellos naming \"%.80s\" fail (%s) while other names get through", pl->sni,
                    ans_str(&r->sni_given, b1, sizeof(b1)));
                if (by == TD_BY_MIDDLEBOX)
                    TXT(explanation, "the same hello to the same address succeeds without SNI or with "
                        "another name; only the name \"%.80s\" is %s: a device on the path filters on "
                        "the server name", pl->sni,
                        r->sni_given.res == TD_PR_RST ? "reset" : "silently dropped");
                else
                    TXT(explanation, "the server answered unrecognized_name(112) for \"%.80s\"", pl->sni);
                TXT(fix, by == TD_BY_MIDDLEBOX
                             ? "find the firewall/proxy rule that matches this server name (SNI filtering) and allow it"
                             : "configure a server block/virtual host for this name, or use a name the server serves");
                ev(d, "probe sni/given: %s", ans_str(&r->sni_given, b1, sizeof(b1)));
                ev(d, "probe sni/none: %s", ans_str(&r->sni_none, b1, sizeof(b1)));
                ev(d, "probe sni/bogus (%s): %s", r->bogus_name, ans_str(&r->sni_bogus, b1, sizeof(b1)));
                if (r->sni_given.res == TD_PR_RST && r->sni_given.rst_ttl != 0 && r->sni_given.synack_ttl != 0) {
                    int dt = (int)r->sni_given.rst_ttl - (int)r->sni_given.synack_ttl;
                    /* the same judgement as the rules' rst_from_middlebox */
                    ev(d, "probe sni/given: RST TTL %u, SYN-ACK TTL %u: %s", r->sni_given.rst_ttl,
                       r->sni_given.synack_ttl,
                       dt > 1 || dt < -1 ? "the RST does not come from the server's host"
                                         : "the same hop count as the server (no TTL evidence)");
                }
            } else if (code == NULL) {
                take_primary(r, pl->sni_p[SNI_GIVEN], "with the given name");
            }
        } else if (!r->sni_given.tls_ok && best < 0) {
            take_primary(r, pl->sni_p[SNI_GIVEN], "with the given name");
        }
    }

    /* versions */
    if (best >= 0) {
        bool old = false;
        for (int i = 0; i < 3; i++)
            old = old || r->versions[i].tls_ok;
        if (old && (d = dg(r, "obsolete_version", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH))) {
            TXT(summary, "the server still accepts %s%s%s",
                r->versions[0].tls_ok ? "SSL 3.0 " : "", r->versions[1].tls_ok ? "TLS 1.0 " : "",
                r->versions[2].tls_ok ? "TLS 1.1" : "");
            TXT(explanation, "ServerHellos were received for hellos offering only these versions");
            TXT(fix, "nginx: ssl_protocols TLSv1.2 TLSv1.3; Apache: SSLProtocol -all +TLSv1.2 +TLSv1.3");
        }
        /* the floor, as information: which old clients fail and how */
        int lowest = best;
        for (int i = 0; i < TD_PLAN_NVERS; i++)
            if (r->versions[i].tls_ok) {
                lowest = i;
                break;
            }
        if (lowest > 0 && (d = dg(r, "protocol_version", TD_SEV_INFO, TD_BY_SERVER, TD_CONF_HIGH))) {
            static const char *names[] = {"SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"};
            TXT(summary, "version floor: clients limited to %s or lower fail (%s)", names[lowest - 1],
                ans_str(&r->versions[lowest - 1], b1, sizeof(b1)));
            TXT(explanation, "the lowest version accepted is %s", names[lowest]);
            TXT(fix, "old clients must be upgraded, or the server must allow %s", names[lowest - 1]);
            for (int i = 0; i < lowest; i++)
                ev(d, "probe versions/%s: %s", td_version_str(vers_val[i]),
                   ans_str(&r->versions[i], b1, sizeof(b1)));
        }
        /* ciphers */
        bool weak = false;
        uint16_t weak_c = 0;
        for (int i = 0; i < TD_PLAN_NVERS; i++)
            for (uint16_t k = 0; k < r->num_ciphers[i]; k++)
                if (td_cipher_class(r->ciphers[i][k]) == 2) {
                    weak = true;
                    weak_c = r->ciphers[i][k];
                }
        if (weak && (d = dg(r, "weak_cipher", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH))) {
            TXT(summary, "the server accepts weak cipher suites such as %s",
                td_reg_fmt(TD_REG_CIPHER, weak_c, b1, sizeof(b1)));
            TXT(explanation, "found by elimination: a hello offering it among others got it chosen");
            TXT(fix, "remove NULL, anonymous, export, RC4, DES and 3DES suites (OpenSSL: "
                "ssl_ciphers HIGH:!aNULL:!eNULL:!RC4:!3DES)");
        }
        /* key exchange policy on TLS 1.2: what the server accepts, and the
         * clients offering only the other kinds, which fail */
        if (r->versions[3].tls_ok && pl->last_fail[3] != NULL) {
            bool ecdhe = false, dhe = false, rsa = false;
            for (uint16_t k = 0; k < r->num_ciphers[3]; k++) {
                enum td_kex kx = td_cipher_kex(r->ciphers[3][k]);
                ecdhe = ecdhe || kx == TD_KEX_ECDHE;
                dhe = dhe || kx == TD_KEX_DHE;
                rsa = rsa || kx == TD_KEX_RSA;
            }
            struct td_answer lf;
            answer_of(&lf, pl->last_fail[3]);
            if ((!dhe || !rsa || !ecdhe) && (ecdhe || dhe || rsa) &&
                (d = dg(r, "no_shared_cipher", TD_SEV_INFO, TD_BY_SERVER, TD_CONF_HIGH))) {
                char acc[24] = "", rej[24] = "";
                const char *kn[3] = {"ECDHE", "DHE", "static RSA"};
                bool has[3] = {ecdhe, dhe, rsa};
                unsigned na = 0, nr = 0;
                for (int k = 0; k < 3; k++) {
                    char *dst = has[k] ? acc : rej;
                    unsigned *cnt = has[k] ? &na : &nr;
                    size_t at = strlen(dst);
                    snprintf(dst + at, sizeof(acc) - at, "%s%s", *cnt ? " or " : "", kn[k]);
                    (*cnt)++;
                }
                TXT(summary, "cipher policy: on TLS 1.2 the server accepts only %.19s key exchange; "
                    "clients offering only %.19s suites fail (%.40s)", acc, rej,
                    ans_str(&lf, b1, sizeof(b1)));
                TXT(explanation, "after the %u accepted suites were removed, a hello with every "
                    "other suite was refused", (unsigned)r->num_ciphers[3]);
                TXT(fix, "clients must offer one of the accepted suites (see the cipher table); or "
                    "add e.g. DHE-RSA-AES128-GCM-SHA256 to the server's list");
            }
        }
    }

    /* ALPN */
    if (r->alpn_http11.probed && r->alpn_http11.res == TD_PR_ALERT && r->alpn_http11.alert == 120) {
        d = dg(r, "alpn_mismatch", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH);
        if (d) {
            TXT(summary, "clients offering only ALPN http/1.1 are refused (no_application_protocol)");
            TXT(explanation, "ALPN h2+http/1.1 %s; ALPN http/1.1 alone got alert no_application_protocol(120)",
                r->alpn_both.tls_ok ? "was accepted" : "failed too");
            TXT(fix, "add http/1.1 to the server's ALPN list, or stop the server from failing on an ALPN mismatch");
            ev(d, "probe alpn/h2,http1.1: %s", ans_str(&r->alpn_both, b1, sizeof(b1)));
            ev(d, "probe alpn/http1.1: %s", ans_str(&r->alpn_http11, b1, sizeof(b1)));
        }
    }

    /* client authentication */
    const struct td_probe *m = pl->ssl_main;
    if (m != NULL) {
        bool requested = m->ssl.cert_requested;
        for (int i = 0; i < TD_PLAN_NVERS && !requested; i++)
            requested = pl->vers_p[i] && pl->vers_p[i]->conn && pl->vers_p[i]->conn->cr.m;
        r->num_ca_names = m->ssl.num_ca_names;
        memcpy(r->ca_names, m->ssl.ca_names, sizeof(r->ca_names));
        r->client_auth_http = m->ssl.http_no_cert || (m->ssl.http_status == 400 && requested &&
                                                      m->ssl.handshake_ok);
        r->client_auth_late = m->ssl.handshake_ok && m->ssl.alert_recv_seen &&
                              m->ssl.alert_after_handshake &&
                              (m->ssl.alert_recv == 116 || m->ssl.alert_recv == 40 ||
                               m->ssl.alert_recv == 42);
        if (!requested) {
            r->client_auth = m->ssl.handshake_ok ? TD_CA_NONE : TD_CA_UNKNOWN;
        } else if (!m->ssl.handshake_ok || r->client_auth_late || r->client_auth_http ||
                   (m->res != TD_PR_ACCEPTED)) {
            r->client_auth = TD_CA_REQUIRED;
        } else if (m->ssl.handshake_ok && (m->ex.end == TD_END_FIN || m->ex.end == TD_END_RST) &&
                   m->ssl.http_status == 0 && m->http_host != NULL) {
            r->client_auth = TD_CA_REQUIRED; /* closed right after the handshake, no answer */
        } else {
            r->client_auth = TD_CA_OPTIONAL;
        }
        if (r->client_auth == TD_CA_REQUIRED && pl->po->cert_file == NULL &&
            (d = dg(r, "client_cert_missing", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH))) {
            TXT(summary, "the server requires a client certificate%s",
                r->client_auth_http ? " (rejected at HTTP level: 400 No required SSL certificate was sent)"
                : r->client_auth_late ? " (TLS 1.3: alert after the handshake)" : "");
            TXT(explanation, "it sent a CertificateRequest; without a certificate %s",
                r->client_auth_http ? "the handshake completed but the HTTP request got 400"
                : r->client_auth_late ? "the handshake seemed to complete, then the server sent an alert"
                : "the handshake failed");
            TXT(fix, "run with --cert FILE --key FILE (a certificate from one of the acceptable CAs)%s",
                r->num_ca_names ? "" : "; the server named no CA");
            if (m->ssl.alert_recv_seen) {
                char an[48];
                ev(d, "alert %s received%s", td_reg_fmt(TD_REG_ALERT, m->ssl.alert_recv, an, sizeof(an)),
                   m->ssl.alert_after_handshake ? " after the handshake" : "");
            }
            if (m->ssl.http_status)
                ev(d, "HTTP status %d", m->ssl.http_status);
            for (uint16_t i = 0; i < r->num_ca_names && i < 4; i++)
                ev(d, "acceptable CA: %.100s", r->ca_names[i]);
        }
    }
    if (pl->ssl_cert != NULL) {
        const struct td_probe *c = pl->ssl_cert;
        r->client_cert_given = true;
        r->client_cert_ok = c->ssl.handshake_ok && !(c->ssl.alert_recv_seen && c->ssl.alert_after_handshake) &&
                            !(c->ssl.http_status == 400 || c->ssl.http_no_cert);
        if (!r->client_cert_ok && c->why[0] == 0 &&
            (d = dg(r, "client_cert_rejected", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH))) {
            char an[48];
            TXT(summary, "the server rejected the client certificate given with --cert");
            TXT(explanation, "with the certificate the handshake %s%s%s",
                c->ssl.handshake_ok ? "completed but was then refused" : "failed",
                c->ssl.alert_recv_seen ? ", alert " : "",
                c->ssl.alert_recv_seen ? td_reg_fmt(TD_REG_ALERT, c->ssl.alert_recv, an, sizeof(an)) : "");
            TXT(fix, "use a certificate issued by one of the CAs the server accepts, valid now, "
                "with a key the server allows");
        }
    }

    /* certificate chain (from the real handshake) */
    if (m != NULL && m->ssl.chain.num_certs > 0) {
        const char *host = pl->sni;
        td_chain_analyze(&r->chain, &m->ssl.chain, trust, now, host);
        r->chain_known = true;
        r->ocsp_stapled = m->ssl.ocsp_stapled;
        const struct td_chain_facts *cf = &r->chain;
        const struct td_cert_info *leaf = &cf->certs[0];
        if (cf->expired && (d = dg(r, "cert_expired", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
            TXT(summary, "the server certificate has expired");
        if (cf->not_yet_valid && (d = dg(r, "cert_not_yet_valid", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
            TXT(summary, "the server certificate is not valid yet");
        if (cf->verify_ran && !cf->verified) {
            if (leaf->self_signed || cf->self_signed_leaf) {
                if ((d = dg(r, "cert_self_signed", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
                    TXT(summary, "the server certificate is self-signed");
            } else if (cf->missing_intermediate && cf->num > 0 &&
                       leaf->issuer_index < 0 && cf->num == 1) {
                if ((d = dg(r, "cert_chain_incomplete", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_MEDIUM)))
                    TXT(summary, "the server sends no intermediate for \"%.100s\"", cf->missing_issuer);
            } else if (cf->untrusted_root || cf->missing_intermediate) {
                if ((d = dg(r, "cert_untrusted", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
                    TXT(summary, "the chain does not lead to a trusted root (%s)", cf->verify_error_str);
            }
        }
        if (cf->name_checked && !cf->name_ok &&
            (d = dg(r, "cert_hostname_mismatch", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
            TXT(summary, "the certificate does not cover \"%.100s\"", host ? host : "");
        if (!cf->order_ok && (d = dg(r, "cert_chain_order", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
            TXT(summary, "the chain is not in issuing order");
        if (((strncmp(leaf->key_type, "RSA", 3) == 0 || strcmp(leaf->key_type, "DSA") == 0) &&
             leaf->key_bits > 0 && leaf->key_bits < 2048) ||
            (strcmp(leaf->key_type, "EC") == 0 && leaf->key_bits > 0 && leaf->key_bits < 224)) {
            if ((d = dg(r, "cert_weak_key", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
                TXT(summary, "the server key is weak (%s %d bits)", leaf->key_type, leaf->key_bits);
        }
        if ((leaf->sig_md5 || leaf->sig_sha1) && !leaf->self_signed &&
            (d = dg(r, "cert_weak_signature", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH)))
            TXT(summary, "the server certificate is signed with %s", leaf->sig_md5 ? "MD5" : "SHA-1");
    }

    /* A real client gave up on a server message that is too large or whose
     * lengths lie (a certificate chain that never ends, a 16 MB message):
     * the raw probes stop at the ServerHello and cannot see it; libssl's
     * reason says which. */
    if (m != NULL && !m->ssl.handshake_ok && ssl_length_error(m->ssl.err_code) &&
        (d = dg(r, "protocol_error", TD_SEV_ERROR, TD_BY_SERVER, TD_CONF_HIGH))) {
        TXT(summary, "a real client's handshake fails on an oversized or malformed server message");
        TXT(explanation, "after its ServerHello the server sent a handshake message that OpenSSL refuses (%.100s)",
            m->ssl.err);
        TXT(fix, "check what the server sends after the ServerHello (certificate chain size, a proxy "
                 "rewriting records); clients cap a message near 100 KB");
    }

    /* the default certificate: what a client without SNI gets */
    const struct td_probe *ns = pl->ssl_nosni;
    if (m != NULL && ns != NULL && r->chain_known && ns->ssl.chain.num_certs > 0) {
        const struct td_der *a = &m->ssl.chain.certs[0], *b = &ns->ssl.chain.certs[0];
        snprintf(r->sni_given.cert_cn, sizeof(r->sni_given.cert_cn), "%.90s", r->chain.certs[0].subject_cn);
        if (a->len != b->len || a->der == NULL || b->der == NULL || memcmp(a->der, b->der, a->len) != 0) {
            struct td_chain_facts *nf = td_malloc(sizeof(*nf));
            if (nf != NULL) {
                td_chain_analyze(nf, &ns->ssl.chain, NULL, now, pl->sni);
                snprintf(r->sni_none.cert_cn, sizeof(r->sni_none.cert_cn), "%.90s", nf->certs[0].subject_cn);
                r->default_cert_differs = true;
                if (nf->name_checked && !nf->name_ok &&
                    (d = dg(r, "no_sni", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH))) {
                    TXT(summary, "without SNI the server presents another certificate (CN=%.40s), not "
                        "covering \"%.60s\"", nf->certs[0].subject_cn, pl->sni);
                    TXT(explanation, "a handshake with server_name got CN=%.60s, one without got CN=%.60s: "
                        "clients that send no SNI (old Java, Android < 4, some libraries and scripts) fail "
                        "the name check", r->sni_given.cert_cn, nf->certs[0].subject_cn);
                    TXT(fix, "make the server block for this name the default one (nginx: listen ... "
                        "default_server), or have clients send SNI");
                    ev(d, "probe handshake: CN=%.60s", r->sni_given.cert_cn);
                    ev(d, "probe handshake/no-sni: CN=%.60s", nf->certs[0].subject_cn);
                }
                free(nf);
            }
        }
    }

    /* resumption */
    if (r->resumption_tried && !r->resumption_ok &&
        (d = dg(r, "resumption_rejected", TD_SEV_WARNING, TD_BY_SERVER, TD_CONF_HIGH))) {
        TXT(summary, "session resumption offered by the client was not accepted");
        TXT(explanation, "a second handshake with the session (id/ticket/PSK) from the first was a full handshake");
        TXT(fix, "enable a session cache or tickets (nginx: ssl_session_cache shared:SSL:10m; ssl_session_tickets on)");
    }
    if (pl->sni == NULL && best < 0 &&
        (d = dg(r, "no_sni", TD_SEV_INFO, TD_BY_CLIENT, TD_CONF_LOW))) {
        TXT(summary, "every probe went without SNI (the target is an address): if this is an "
            "SNI-routing proxy, retry with --sni NAME");
        TXT(explanation, "servers and L4 proxies that route on the server name refuse hellos "
            "without one; no name was available to compare with");
        TXT(fix, "tlsdiag probe --sni NAME HOST:PORT");
    }
    if (pl->sni == NULL && r->versions[4].tls_ok + r->versions[3].tls_ok > 0 &&
        (d = dg(r, "no_sni", TD_SEV_INFO, TD_BY_CLIENT, TD_CONF_HIGH))) {
        TXT(summary, "probed without SNI (target is an address; use --sni NAME)");
    }
}

unsigned td_plan_problems(const struct td_plan_result *r)
{
    unsigned n = 0;
    for (uint8_t i = 0; i < r->num_diag; i++)
        if (r->diag[i].severity != TD_SEV_INFO)
            n++;
    return n;
}

static bool is_ip_literal(const char *h)
{
    uint8_t b[16];
    return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

int td_plan_run(struct td_plan_result *out, const struct sockaddr *addr, socklen_t addrlen,
                const struct td_plan_opts *po, const struct td_probe_opts *o,
                const struct td_trust *trust, int64_t now)
{
    struct plan *pl = td_calloc(1, sizeof(*pl));
    struct td_rules_opts ro;
    struct td_probe_opts oo;
    static const char *vlabels[TD_PLAN_NVERS] = {"versions/3.0", "versions/1.0", "versions/1.1",
                                                 "versions/1.2", "versions/1.3"};
    int64_t t0;

    if (pl == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    pl->r = out;
    pl->po = po;
    memset(&ro, 0, sizeof(ro));
    ro.now = now;
    ro.trust = NULL; /* certificate judgement is done once, on the real handshake's chain */
    if (o != NULL)
        oo = *o;
    else
        td_probe_opts_default(&oo);
    if (td_keyshares_init(&pl->ks) != 0) {
        free(pl);
        return -1;
    }
    pl->run = td_runner_new(addr, addrlen, &oo, &ro);
    if (pl->run == NULL) {
        free(pl);
        return -1;
    }
    t0 = oo.now_ns ? oo.now_ns() : 0;
    if (oo.now_ns == NULL) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }

    pl->sni = po->sni != NULL ? po->sni : (!is_ip_literal(po->host) ? po->host : NULL);
    snprintf(out->sni, sizeof(out->sni), "%s", pl->sni ? pl->sni : "");
    snprintf(out->target, sizeof(out->target), "%s:%u", po->host, (unsigned)po->port);
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)addr)->sin_addr, out->ip, sizeof(out->ip));
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr, out->ip, sizeof(out->ip));
    {
        uint8_t rb[4];
        (void)RAND_bytes(rb, sizeof(rb));
        snprintf(out->bogus_name, sizeof(out->bogus_name), "tlsdiag-%02x%02x%02x%02x.invalid", rb[0],
                 rb[1], rb[2], rb[3]);
    }

    /* the libssl handshake first: it takes the most round trips */
    ssl_probe(pl, T_SSL_MAIN, NULL, false);
    if (po->cert_file != NULL)
        ssl_probe(pl, T_SSL_CERT, NULL, true);
    if (pl->sni != NULL)
        ssl_probe(pl, T_SSL_NOSNI, NULL, false);

    for (int vi = TD_PLAN_NVERS - 1; vi >= 0; vi--) {
        struct td_ch_spec s;
        pl->nsuites[vi] = td_probe_suites(vers_val[vi], pl->suites[vi], 512);
        memcpy(pl->rest[vi], pl->suites[vi], sizeof(uint16_t) * pl->nsuites[vi]);
        pl->nrest[vi] = pl->nsuites[vi];
        spec_base(&s, vers_val[vi], pl->sni);
        s.ciphers = pl->suites[vi];
        s.num_ciphers = pl->nsuites[vi];
        (void)raw_probe(pl, &s, T_VERS, vi, vlabels[vi]);
    }
    {
        /* an SSLv2-compatible CLIENT-HELLO (RFC 5246 E.2) offering up to
         * TLS 1.2 with the 1.2 suites: does the server still take that format? */
        struct td_ch_spec s;
        static uint16_t v2s[512];
        uint16_t nv2 = 0;
        /* no extensions: a TLS 1.2 server must assume SHA-1 signatures
         * (RFC 5246 7.4.1.4.1), which OpenSSL 3 refuses at its default
         * security level; static-RSA suites need no signature, so they go
         * first, then the rest in the usual order */
        for (int pass = 0; pass < 2; pass++)
            for (uint16_t i = 0; i < pl->nsuites[3]; i++)
                if ((td_cipher_kex(pl->suites[3][i]) == TD_KEX_RSA) == (pass == 0))
                    v2s[nv2++] = pl->suites[3][i];
        spec_base(&s, 0x0303, NULL);
        s.sslv2 = true;
        s.ciphers = v2s;
        s.num_ciphers = nv2;
        (void)raw_probe(pl, &s, T_SSLV2, 0, "versions/sslv2-hello");
    }

    /* signature schemes: every registered one, and the (EC)DHE suites of TLS 1.2 */
    for (size_t i = 0; i < td_reg_len_sigscheme && pl->nsrest < 64; i++)
        pl->srest[pl->nsrest++] = td_reg_tab_sigscheme[i].value;
    for (uint16_t i = 0; i < pl->nsuites[3]; i++) {
        enum td_kex kx = td_cipher_kex(pl->suites[3][i]);
        if (kx == TD_KEX_ECDHE || kx == TD_KEX_DHE)
            pl->kx12[pl->nkx12++] = pl->suites[3][i];
    }

    /* SNI and ALPN variants: a modern hello offering 1.3 and 1.2 */
    {
        static const uint16_t sv[] = {0x0304, 0x0303};
        static uint16_t mix[600];
        uint16_t n13 = td_probe_suites(0x0304, mix, 600);
        uint16_t n12 = td_probe_suites(0x0303, mix + n13, (uint16_t)(600 - n13));
        const char *names[4] = {pl->sni, NULL, out->bogus_name, out->ip};
        static const char *labels[4] = {"sni/given", "sni/none", "sni/bogus", "sni/ip"};
        for (int k = 0; k < 4; k++) {
            struct td_ch_spec s;
            if (k == SNI_GIVEN && pl->sni == NULL)
                continue;
            spec_base(&s, 0x0304, names[k]);
            s.versions = sv;
            s.num_versions = 2;
            s.ciphers = mix;
            s.num_ciphers = (uint16_t)(n13 + n12);
            s.ec_point_formats = true;
            s.reneg_info = true;
            (void)raw_probe(pl, &s, T_SNI, k, labels[k]);
        }
        {
            /* http/1.1 alone: a refusal is a clear alert before the ServerHello */
            struct td_ch_spec s;
            spec_base(&s, 0x0304, pl->sni);
            s.versions = sv;
            s.num_versions = 2;
            s.ciphers = mix;
            s.num_ciphers = (uint16_t)(n13 + n12);
            s.ec_point_formats = true;
            s.alpn[0] = "http/1.1";
            s.num_alpn = 1;
            (void)raw_probe(pl, &s, T_ALPN, ALPN_H11, "alpn/http1.1");
        }
        /* h2 + http/1.1 through libssl: the choice is encrypted in TLS 1.3 */
        ssl_probe(pl, T_SSL_ALPN, NULL, false);
    }
    /* TLS 1.3 groups by elimination */
    memcpy(pl->grest, all_groups, sizeof(all_groups));
    pl->ngrest = (uint16_t)(sizeof(all_groups) / sizeof(all_groups[0]));
    if (po->enum_groups) {
        group_probe(pl);
        /* an empty key_share: a TLS 1.3 server must ask again (HRR) */
        struct td_ch_spec s;
        static const uint16_t s13[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};
        spec_base(&s, 0x0304, pl->sni);
        s.ciphers = s13;
        s.num_ciphers = 5;
        s.num_share_groups = 0;
        s.key_share_empty = true;
        (void)raw_probe(pl, &s, T_HRR, 0, "hrr/1.3");
    }

    td_runner_run(pl->run);
    out->connections = td_runner_connections(pl->run);
    out->ttl_captured = td_runner_ttl_capture(pl->run, out->ttl_capture, sizeof(out->ttl_capture));

    diagnose(pl, trust, now);
    if (pl->ssl_main != NULL)
        out->main_ssl = pl->ssl_main->ssl, memset(&out->main_ssl.chain, 0, sizeof(out->main_ssl.chain));
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        out->wall_ns = (oo.now_ns ? oo.now_ns() : (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec) - t0;
    }
    for (uint8_t i = 0; i < pl->nkeep; i++)
        td_probe_free(pl->keep[i]);
    td_runner_free(pl->run);
    free(pl);
    return 0;
}
