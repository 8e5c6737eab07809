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

/* what is wrong with the chain, as one phrase list; empty when nothing */
static void problems(const struct td_chain_facts *cf, const struct facts *f, char *out, size_t len)
{
    char d1[40];
    const struct td_cert_info *leaf = &cf->certs[0];
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
    else if (cf->untrusted_root)
        addp(out, len, "the chain ends in a root that is not trusted");
    else if (cf->missing_intermediate)
        addp(out, len, "no trusted issuer for \"%.80s\" (an intermediate is missing, or the root is not trusted)", cf->missing_issuer);
    if (cf->name_checked && !cf->name_ok)
        addp(out, len, "it does not name \"%.60s\" (leaf CN \"%.60s\")", f->ch ? f->ch->sni : "", leaf->subject_cn);
    if (leaf->key_bits > 0 && ((strcmp(leaf->key_type, "RSA") == 0 || strcmp(leaf->key_type, "DSA") == 0) ? leaf->key_bits < 2048 : strcmp(leaf->key_type, "EC") == 0 && leaf->key_bits < 224))
        addp(out, len, "its %s key has only %d bits", leaf->key_type, leaf->key_bits);
    if (leaf->sig_md5 || leaf->sig_sha1)
        addp(out, len, "it is signed with %s", leaf->sig_md5 ? "MD5" : "SHA-1");
    if (!cf->order_ok)
        addp(out, len, "the chain is not in issuing order");
}

static void warn(struct td_verdict *v, const struct facts *f, const char *code, enum td_by by, const char *summary,
                 const char *expl, const char *fix)
{
    struct td_diagnosis *d = diag_add(v, code, TD_SEV_WARNING, by, TD_CONF_HIGH);
    const struct td_conn *c = f->c;
    if (d == NULL)
        return;
    diag_text(d->summary, sizeof(d->summary), "%s", summary);
    diag_text(d->explanation, sizeof(d->explanation), "%s", expl);
    diag_text(d->fix, sizeof(d->fix), "%s", fix);
    diag_ev(d, c->cert[f->sep].frame, c->cert[f->sep].ts_ns, TD_FROM_SERVER, "Certificate, %u certificate(s)",
            c->cert[f->sep].m->total_certs);
}


void rules_certs(const struct facts *f, struct td_verdict *v)
{
    const struct td_conn *c = f->c;
    const struct td_certificate *chain = c->cert[f->sep].m;
    const struct td_chain_facts *cf;
    struct td_chain_facts *own = NULL;
    const char *host = NULL;
    int64_t now;
    char why[640], s[192], d1[40];

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
        snprintf(s, sizeof(s), "the server's certificate expired on %s (judged at the capture's time)", d1);
        warn(v, f, "cert_expired", TD_BY_SERVER, s, "The leaf's notAfter is before the time of the handshake; this client accepted it anyway (for example curl -k), others will refuse.",
             "Renew the certificate and reload the server.");
    }
    if (cf->not_yet_valid)
        warn(v, f, "cert_not_yet_valid", TD_BY_SERVER, "the server's certificate is not valid yet",
             "The leaf's notBefore is after the time of the handshake: a clock is wrong, or the certificate was deployed too early.",
             "Check the clocks of server and client (NTP), or wait.");
    if (cf->certs[0].self_signed && cf->verify_ran && !cf->verified)
        warn(v, f, "cert_self_signed", TD_BY_SERVER, "the server's certificate is self-signed",
             "The leaf signs itself and is not in the trust store; clients that verify will refuse it.",
             "Use a certificate from a CA the clients trust, or distribute this one to them explicitly (--ca-file for tlsdiag).");
    else if (cf->verify_ran && (cf->untrusted_root || (cf->missing_intermediate && cf->certs[cf->num - 1].self_signed)))
        warn(v, f, "cert_untrusted", TD_BY_SERVER, "the server's chain ends in a CA that is not trusted",
             "The chain does not lead to a root in the trust store (system store, or --ca-file).", "Use a certificate from a CA the clients trust.");
    else if (cf->verify_ran && cf->missing_intermediate) {
        snprintf(s, sizeof(s), "no trusted issuer for the chain: intermediate \"%.80s\" missing, or root not trusted", cf->missing_issuer);
        warn(v, f, "cert_chain_incomplete", TD_BY_SERVER, s,
             "The top certificate the server sent is not self-signed and its issuer is neither sent nor in the trust store. Browsers may fetch it (AIA); most other clients fail.",
             "Serve the full chain (nginx: ssl_certificate with the intermediates appended).");
    }
    if (cf->name_checked && !cf->name_ok) {
        snprintf(s, sizeof(s), "the certificate does not name \"%.60s\"", host ? host : "");
        warn(v, f, "cert_hostname_mismatch", TD_BY_SERVER, s,
             "Neither the subjectAltName entries nor (without SAN) the CN cover the server_name the client asked for (RFC 6125: a wildcard covers one label).",
             "Get a certificate that names this host, or connect with a name it covers.");
    }
    if (cf->certs[0].key_bits > 0 &&
        (((strcmp(cf->certs[0].key_type, "RSA") == 0 || strcmp(cf->certs[0].key_type, "DSA") == 0) && cf->certs[0].key_bits < 2048) ||
         (strcmp(cf->certs[0].key_type, "EC") == 0 && cf->certs[0].key_bits < 224))) {
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
