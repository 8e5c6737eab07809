/* certs.c: certificate rules.  The facts come from lib/tls/x509.c (which
 * decodes the DER with libcrypto); here they are judged: they explain a
 * client's certificate alert, and give warnings on handshakes that worked.
 * Validity is judged at the capture's own time (the Certificate's frame),
 * or at --now. */
#include <stdlib.h>
#include "tlsdiag/alloc.h"
#include <string.h>
#include <time.h>

#include "facts.h"
#include "tlsdiag/x509.h"

static void fmt_date(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(buf, len, "@%lld", (long long)t);
}

/* addp appends "; " and a phrase to |out|, measuring what is there rather
 * than adding up snprintf results (house rule). */
static void addp(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void addp(char *out, size_t len, const char *fmt, ...)
{
    size_t n = strnlen(out, len);
    va_list ap;
    if (n != 0 && n + 2 < len) {
        memcpy(out + n, "; ", 3);
        n += 2;
    }
    if (n + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(out + n, len - n, fmt, ap);
    va_end(ap);
}

/* weak_key: a key current clients refuse (OpenSSL security level 2: RSA
 * and DSA under 2048 bits, EC under 224) */
static bool weak_key(const struct td_cert_info *ci)
{
    if (ci->key_bits <= 0)
        return false;
    if (strncmp(ci->key_type, "RSA", 3) == 0 || strcmp(ci->key_type, "DSA") == 0)
        return ci->key_bits < 2048;
    return strcmp(ci->key_type, "EC") == 0 && ci->key_bits < 224;
}

/* path_top: the top of the issuing path up from the leaf among the
 * certificates sent (the leaf itself when none sent issues it) */
static int path_top(const struct td_chain_facts *cf)
{
    int i = 0;
    for (uint16_t steps = 0; steps < cf->num; steps++) {
        int j = cf->certs[i].issuer_index;
        if (j < 0 || j == i || j >= cf->num)
            break;
        i = j;
    }
    return i;
}

/* who: how a certificate is named in the text: CN=..., else its subject */
static void who(const struct td_cert_info *ci, char *buf, size_t len)
{
    if (ci->subject_cn[0] != 0)
        snprintf(buf, len, "CN=%.80s", ci->subject_cn);
    else if (ci->subject[0] != 0)
        snprintf(buf, len, "%.100s", ci->subject);
    else
        snprintf(buf, len, "(no subject)");
}

/* cert_names lists the host names the leaf carries, bounded: its dNSName
 * and iPAddress SANs, or its CN when it has none (then that is what
 * clients check); at most |max| names of 60 bytes, then "and N more" */
static void cert_names(const struct td_cert_info *ci, unsigned max, char *out, size_t len)
{
    unsigned shown = 0;
    out[0] = 0;
    for (uint16_t i = 0; i < ci->num_san && shown < max; i++, shown++) {
        size_t n = strnlen(out, len);
        if (n + 1 >= len)
            break;
        snprintf(out + n, len - n, "%s%.60s", shown ? ", " : "", ci->san[i]);
    }
    if (ci->total_san > shown) {
        size_t n = strnlen(out, len);
        if (n + 1 < len)
            snprintf(out + n, len - n, " and %u more", (unsigned)(ci->total_san - shown));
    }
    if (ci->total_san == 0) {
        if (ci->subject_cn[0] != 0)
            snprintf(out, len, "only CN %.60s (no subjectAltName)", ci->subject_cn);
        else
            snprintf(out, len, "no host name at all");
    }
}

/* the chain as verification left it: which certificate the trust stops at */
enum chain_end {
    END_OK,            /* verified, or not judged here */
    END_SELF_SIGNED,   /* the leaf signs itself, not trusted */
    END_UNTRUSTED,     /* a root was sent and is not trusted; |ca| is it */
    END_UNTRUSTED_CA,  /* complete up to CA |ca|, whose issuer (a root) is neither sent nor trusted */
    END_INCOMPLETE     /* the leaf (or a non-CA) is the top sent; its issuer is missing */
};

static enum chain_end chain_end(const struct td_chain_facts *cf, int *ca)
{
    int top = path_top(cf);

    *ca = top;
    if (!cf->verify_ran || cf->verified)
        return END_OK;
    if (cf->certs[0].self_signed)
        return END_SELF_SIGNED;
    if (cf->untrusted_root || (cf->missing_intermediate && cf->certs[cf->num - 1].self_signed)) {
        if (!cf->certs[top].self_signed)
            *ca = cf->num - 1;
        return END_UNTRUSTED;
    }
    if (cf->missing_intermediate)
        return top > 0 && cf->certs[top].is_ca ? END_UNTRUSTED_CA : END_INCOMPLETE;
    return END_OK;
}

/* what is wrong with the chain, as one phrase list; empty when nothing */
static void problems(const struct td_chain_facts *cf, const struct facts *f, char *out, size_t len)
{
    char d1[40], names[200];
    const struct td_cert_info *leaf = &cf->certs[0];
    int ca;
    enum chain_end end = chain_end(cf, &ca);
    out[0] = 0;
    if (cf->expired) {
        fmt_date(leaf->not_after, d1, sizeof(d1));
        addp(out, len, "the leaf expired on %s", d1);
    }
    if (cf->not_yet_valid) {
        fmt_date(leaf->not_before, d1, sizeof(d1));
        addp(out, len, "the leaf is not valid before %s", d1);
    }
    if (cf->ca_expired)
        addp(out, len, "a CA certificate in the chain is outside its validity");
    if (leaf->self_signed && cf->verify_ran && !cf->verified)
        addp(out, len, "the leaf is self-signed");
    else if (end == END_UNTRUSTED)
        addp(out, len, "the chain ends in root \"%.80s\", which is not trusted", cf->certs[ca].subject);
    else if (end == END_UNTRUSTED_CA)
        addp(out, len, "the chain is complete up to CA \"%.80s\", issued by \"%.80s\", which is not in the trust store",
             cf->certs[ca].subject, cf->missing_issuer);
    else if (end == END_INCOMPLETE)
        addp(out, len, "no trusted issuer for \"%.80s\" (an intermediate is missing, or the root is not trusted)", cf->missing_issuer);
    if (cf->name_checked && !cf->name_ok) {
        cert_names(leaf, 4, names, sizeof(names));
        addp(out, len, "it does not name \"%.60s\" (it names %s)", f->ch ? f->ch->sni : "", names);
    }
    if (weak_key(leaf))
        addp(out, len, "its %s key has only %d bits", leaf->key_type, leaf->key_bits);
    if (leaf->sig_md5 || leaf->sig_sha1)
        addp(out, len, "it is signed with %s", leaf->sig_md5 ? "MD5" : "SHA-1");
    if (!cf->order_ok)
        addp(out, len, "the chain is not in issuing order");
}

static void warn_c(struct td_verdict *v, const struct facts *f, const char *code, enum td_confidence conf, const char *summary,
                   const char *expl, const char *fix)
{
    struct td_diagnosis *d = diag_add(v, code, TD_SEV_WARNING, TD_BY_SERVER, conf);
    const struct td_conn *c = f->c;
    if (d == NULL)
        return;
    diag_text(d->summary, sizeof(d->summary), "%s", summary);
    diag_text(d->explanation, sizeof(d->explanation), "%s", expl);
    diag_text(d->fix, sizeof(d->fix), "%s", fix);
    diag_ev(d, c->cert[f->sep].frame, c->cert[f->sep].ts_ns, TD_FROM_SERVER, "Certificate, %u certificate(s)",
            c->cert[f->sep].m->total_certs);
}

static void warn(struct td_verdict *v, const struct facts *f, const char *code, enum td_by by, const char *summary,
                 const char *expl, const char *fix)
{
    (void)by; /* every certificate warning is the server's */
    warn_c(v, f, code, TD_CONF_HIGH, summary, expl, fix);
}


void client_cert_check(const struct facts *f, struct client_cert_cause *out)
{
    const struct td_conn *c = f->c;
    const struct td_certificate *chain = c->cert[f->cep].m;
    const struct td_chain_facts *cf;
    struct td_chain_facts *own = NULL;
    const struct td_cert_info *leaf;
    int64_t now;
    char d1[40];
    int top;

    memset(out, 0, sizeof(*out));
    if (chain == NULL || chain->num_certs == 0)
        return;
    now = f->o && f->o->now ? f->o->now : c->cert[f->cep].ts_ns / 1000000000LL;
    /* no trust store: the server's client-CA list is not ours to know */
    if (f->o != NULL && f->o->chain_cache != NULL) {
        cf = td_chain_cache_analyze(f->o->chain_cache, chain, NULL, now, NULL);
    } else {
        own = td_malloc(sizeof(*own));
        if (own == NULL)
            return;
        td_chain_analyze(own, chain, NULL, now, NULL);
        cf = own;
    }
    if (cf->num == 0 || !cf->certs[0].parse_ok) {
        free(own);
        return;
    }
    leaf = &cf->certs[0];
    out->seen = true;
    who(leaf, out->who, sizeof(out->who));
    top = path_top(cf);
    snprintf(out->issuer, sizeof(out->issuer), "%.120s", cf->certs[top].issuer);
    /* most telling first; the tag names the first */
    if (weak_key(leaf)) {
        if (!out->found)
            snprintf(out->tag, sizeof(out->tag), "its %d-bit %s key", leaf->key_bits, leaf->key_type);
        addp(out->why, sizeof(out->why), "client certificate %s has a %d-bit %s key (servers at OpenSSL's default security level 2 "
             "refuse RSA and DSA keys under 2048 bits, EC keys under 224)", out->who, leaf->key_bits, leaf->key_type);
        addp(out->fix, sizeof(out->fix), "Issue the client a certificate with an RSA key of 2048 bits or more (or P-256)");
        out->found = true;
    }
    if (cf->expired || cf->not_yet_valid) {
        fmt_date(cf->expired ? leaf->not_after : leaf->not_before, d1, sizeof(d1));
        if (!out->found)
            snprintf(out->tag, sizeof(out->tag), "%s %s", cf->expired ? "it expired on" : "it is not valid before", d1);
        addp(out->why, sizeof(out->why), "client certificate %s %s %s, at %s", out->who,
             cf->expired ? "expired on" : "is not valid before", d1,
             f->o && f->o->now ? "the time given (--now, or now for decode)" : "the capture's time");
        addp(out->fix, sizeof(out->fix), cf->expired ? "Renew the client certificate" : "Check the clocks (NTP) of client and server");
        out->found = true;
    }
    if (leaf->sig_md5 || leaf->sig_sha1) {
        if (!out->found)
            snprintf(out->tag, sizeof(out->tag), "its %s signature", leaf->sig_md5 ? "MD5" : "SHA-1");
        addp(out->why, sizeof(out->why), "client certificate %s is signed with %s, which current servers refuse", out->who,
             leaf->sig_md5 ? "MD5" : "SHA-1");
        addp(out->fix, sizeof(out->fix), "Reissue it with a SHA-256 signature");
        out->found = true;
    }
    if (leaf->self_signed) {
        if (!out->found)
            snprintf(out->tag, sizeof(out->tag), "it is self-signed");
        addp(out->why, sizeof(out->why), "client certificate %s is self-signed: a server accepts it only if this very certificate is "
             "in its client-CA list", out->who);
        addp(out->fix, sizeof(out->fix), "Have it issued by a CA in the server's client-CA list (nginx: ssl_client_certificate)");
        out->found = true;
    }
    if (cf->ca_expired) {
        if (!out->found)
            snprintf(out->tag, sizeof(out->tag), "an expired CA certificate in its chain");
        addp(out->why, sizeof(out->why), "a CA certificate the client sent with it is outside its validity");
        addp(out->fix, sizeof(out->fix), "Send the client's current intermediate CA certificate");
        out->found = true;
    }
    for (uint16_t i = 1; i < cf->num; i++) {
        const struct td_cert_info *ci = &cf->certs[i];
        char w[128];
        if (!ci->parse_ok || !weak_key(ci))
            continue;
        who(ci, w, sizeof(w));
        if (!out->found)
            snprintf(out->tag, sizeof(out->tag), "a %d-bit %s CA key in its chain", ci->key_bits, ci->key_type);
        addp(out->why, sizeof(out->why), "CA certificate %s in the client's chain has a %d-bit %s key", w, ci->key_bits, ci->key_type);
        addp(out->fix, sizeof(out->fix), "Reissue the client's CA with a stronger key");
        out->found = true;
        break;
    }
    free(own);
}

void rules_certs(const struct facts *f, struct td_verdict *v)
{
    const struct td_conn *c = f->c;
    const struct td_certificate *chain = c->cert[f->sep].m;
    const struct td_chain_facts *cf;
    struct td_chain_facts *own = NULL;
    const char *host = NULL;
    int64_t now;
    char why[640], s[320], d1[40], expl[768], fx[384];
    enum chain_end end;
    int ca;

    if (chain == NULL || chain->num_certs == 0)
        return;
    now = f->o && f->o->now ? f->o->now : c->cert[f->sep].ts_ns / 1000000000LL;
    if (f->ch != NULL && f->ch->has_sni && strlen(f->ch->sni) == f->ch->sni_len)
        host = f->ch->sni;
    if (f->o != NULL && f->o->chain_cache != NULL) {
        cf = td_chain_cache_analyze(f->o->chain_cache, chain, f->o->trust, now, host);
    } else {
        own = td_malloc(sizeof(*own));
        if (own == NULL)
            return;
        td_chain_analyze(own, chain, f->o ? f->o->trust : NULL, now, host);
        cf = own;
    }
    if (cf->num == 0 || !cf->certs[0].parse_ok) {
        free(own);
        return;
    }
    problems(cf, f, why, sizeof(why));

    if (v->outcome == TD_OUT_FAILED && v->num > 0 && strcmp(v->d[0].code, "server_cert_rejected") == 0) {
        struct td_diagnosis *d = &v->d[0];
        size_t n = strlen(d->explanation);
        if (why[0] != 0 && n + 40 < sizeof(d->explanation))
            snprintf(d->explanation + n, sizeof(d->explanation) - n, " tlsdiag's own check of the chain: %s.", why);
        free(own);
        return;
    }
    if (v->outcome != TD_OUT_OK) {
        free(own);
        return;
    }
    if (cf->expired) {
        fmt_date(cf->certs[0].not_after, d1, sizeof(d1));
        snprintf(s, sizeof(s), "the server's certificate expired on %s (judged at %s)", d1,
                 f->o && f->o->now ? "the time given: --now, or now for decode" : "the capture's time");
        warn(v, f, "cert_expired", TD_BY_SERVER, s, "The leaf's notAfter is before the time of the handshake; this client accepted it anyway (for example curl -k), others will refuse.",
             "Renew the certificate and reload the server.");
    }
    if (cf->not_yet_valid)
        warn(v, f, "cert_not_yet_valid", TD_BY_SERVER, "the server's certificate is not valid yet",
             "The leaf's notBefore is after the time of the handshake: a clock is wrong, or the certificate was deployed too early.",
             "Check the clocks of server and client (NTP), or wait.");
    end = chain_end(cf, &ca);
    if (end == END_SELF_SIGNED) {
        warn(v, f, "cert_self_signed", TD_BY_SERVER, "the server's certificate is self-signed",
             "The leaf signs itself and is not in the trust store; clients that verify will refuse it.",
             "Use a certificate from a CA the clients trust, or distribute this one to them explicitly (--ca-file for tlsdiag).");
    } else if (end == END_UNTRUSTED) {
        const char *root = cf->certs[ca].subject;
        snprintf(s, sizeof(s), "the server's chain ends in root \"%.100s\", not in the trust store", root);
        snprintf(expl, sizeof(expl),
                 "The chain the server sent ends in the self-signed root \"%.200s\" (certificate %d of %u), which is not in the "
                 "trust store (system store, or --ca-file): clients that verify refuse the chain.",
                 root, ca + 1, (unsigned)cf->total);
        snprintf(fx, sizeof(fx),
                 "Use a certificate from a CA the clients trust; if \"%.100s\" is your own CA, install it in the clients' trust "
                 "stores (--ca-file for tlsdiag) and stop sending it.", root);
        warn(v, f, "cert_untrusted", TD_BY_SERVER, s, expl, fx);
    } else if (end == END_UNTRUSTED_CA) {
        /* complete up to a CA: servers never need to send the root, so
         * what is missing is the trust in the root that issued that CA */
        const char *top = cf->certs[ca].subject;
        snprintf(s, sizeof(s), "the server's chain leads to root \"%.70s\", not in the trust store (complete up to CA \"%.50s\")",
                 cf->missing_issuer, top);
        snprintf(expl, sizeof(expl),
                 "The server sent %u certificates, up to the CA certificate \"%.120s\", whose issuer \"%.120s\" is neither sent nor in "
                 "the trust store (system store, or --ca-file). Servers do not send the root, so the chain is complete up to a root "
                 "that is not trusted here: a private CA, or a store without it. (Only if \"%.120s\" is itself an intermediate is "
                 "one missing.)",
                 (unsigned)cf->total, top, cf->missing_issuer, cf->missing_issuer);
        snprintf(fx, sizeof(fx),
                 "If \"%.120s\" is your own root, install it in the clients' trust stores (--ca-file for tlsdiag); otherwise use a "
                 "certificate from a CA the clients trust.", cf->missing_issuer);
        warn(v, f, "cert_untrusted", TD_BY_SERVER, s, expl, fx);
    } else if (end == END_INCOMPLETE) {
        /* the top sent is the leaf (or no CA): an intermediate left out,
         * or a private root issuing leaves directly; the capture can't tell */
        char w[128];
        who(&cf->certs[ca], w, sizeof(w));
        snprintf(s, sizeof(s), "the chain stops at %.60s: its issuer \"%.80s\" is neither sent nor trusted", w, cf->missing_issuer);
        snprintf(expl, sizeof(expl),
                 "The top certificate the server sent, %s, is %s, and its issuer \"%.120s\" is neither sent nor in the trust store. "
                 "Either the server leaves out an intermediate (browsers may fetch it through AIA; most other clients fail), or a "
                 "private root that issues leaves directly is not in the store: the capture cannot tell which.",
                 w, ca == 0 ? "the leaf" : "not a CA certificate", cf->missing_issuer);
        snprintf(fx, sizeof(fx),
                 "Serve the full chain (nginx: ssl_certificate with the intermediates appended); if \"%.120s\" is a private root, "
                 "install it in the clients' trust stores (--ca-file for tlsdiag).", cf->missing_issuer);
        warn_c(v, f, "cert_chain_incomplete", TD_CONF_MEDIUM, s, expl, fx);
    }
    if (cf->name_checked && !cf->name_ok) {
        char names[96], all[400];
        cert_names(&cf->certs[0], 3, names, sizeof(names));
        cert_names(&cf->certs[0], 8, all, sizeof(all));
        snprintf(s, sizeof(s), "the certificate does not name \"%.60s\" (it names %s)", host ? host : "", names);
        snprintf(expl, sizeof(expl),
                 "The certificate names %s; neither the subjectAltName entries nor (without SAN) the CN cover the server_name "
                 "\"%.100s\" the client asked for (RFC 6125: a wildcard covers one label).", all, host ? host : "");
        warn(v, f, "cert_hostname_mismatch", TD_BY_SERVER, s, expl,
             "Get a certificate that names this host, or connect with a name it covers.");
    }
    if (weak_key(&cf->certs[0])) {
        snprintf(s, sizeof(s), "weak key: %s %d bits", cf->certs[0].key_type, cf->certs[0].key_bits);
        warn(v, f, "cert_weak_key", TD_BY_SERVER, s, "RSA/DSA keys under 2048 bits and EC keys under 224 bits are refused by current clients (OpenSSL security level 2).",
             "Issue a new certificate with an RSA 2048+ or P-256 key.");
    }
    if (cf->certs[0].sig_md5 || cf->certs[0].sig_sha1)
        warn(v, f, "cert_weak_signature", TD_BY_SERVER, cf->certs[0].sig_md5 ? "certificate signed with MD5" : "certificate signed with SHA-1",
             "MD5 and SHA-1 signatures are forgeable or nearly so; clients reject them.", "Reissue the certificate with a SHA-256 signature.");
    if (!cf->order_ok)
        warn(v, f, "cert_chain_order", TD_BY_SERVER, "the certificate chain is not in issuing order",
             "RFC 5246 wants each certificate followed by its issuer; strict clients fail otherwise.",
             "Order the chain file leaf first, then each issuer.");
    free(own);
}
