/* test_certs.c: what the certificate rules (lib/rules/certs.c) and the
 * cipher-offer rule (lib/rules/rules.c) say, on connections built as
 * structs: a TLS 1.2 handshake with certificates made here with libcrypto
 * (fixed dates around T0), judged by td_rules_run against a trust store of
 * our own root.  Each case failed on the code before it:
 *   - complete_to_untrusted_root: leaf + intermediate, root not trusted:
 *     cert_untrusted naming the root (was cert_chain_incomplete, high
 *     confidence, "serve the full chain");
 *   - leaf_only: the leaf alone, its issuer neither sent nor trusted:
 *     cert_chain_incomplete, medium (an intermediate left out, or a
 *     private root issuing leaves directly);
 *   - sent_root_untrusted: leaf + intermediate + root, another store:
 *     cert_untrusted naming the root sent;
 *   - hostname_names: cert_hostname_mismatch lists the names carried;
 *   - client_weak_key / client_expired / client_clean / client_unknown_ca:
 *     client_cert_rejected names the likely cause found in the client's
 *     certificate, or its issuer for unknown_ca(48), and keeps the generic
 *     text when nothing stands out;
 *   - legacy_offer_names: no_shared_cipher counts no signalling values
 *     (renegotiation SCSV, fallback SCSV, GREASE) and names up to 3 suites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/rules.h"
#include "tlsdiag/tls.h"
#include "tlsdiag/x509.h"

#define T0 INT64_C(1700000000)
#define DAY INT64_C(86400)
#define YEAR (365 * DAY)
#define NS INT64_C(1000000000)

struct cert_spec {
    const char *cn;
    const char *san; /* X509V3 config text, NULL for none */
    int64_t nb, na;
    bool ca;
    EVP_PKEY *key;
    X509 *issuer;    /* NULL: self-signed */
    EVP_PKEY *issuer_key;
};

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return 0;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *make_cert(const struct cert_spec *s)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *subj = X509_NAME_new();

    assert_non_null(x);
    assert_non_null(subj);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1, -1, 0), 1);
    assert_int_equal(X509_set_subject_name(x, subj), 1);
    assert_int_equal(X509_set_issuer_name(x, s->issuer != NULL ? X509_get_subject_name(s->issuer) : subj), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->na));
    assert_int_equal(X509_set_pubkey(x, s->key), 1);
    assert_int_equal(add_ext(x, s->issuer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "CA:FALSE"), 1);
    if (s->san != NULL)
        assert_int_equal(add_ext(x, s->issuer, NID_subject_alt_name, s->san), 1);
    assert_true(X509_sign(x, s->issuer_key, EVP_sha256()) > 0);
    X509_NAME_free(subj);
    return x;
}

static struct {
    EVP_PKEY *root_key, *inter_key, *leaf_key, *weak_key, *other_key;
    X509 *root, *inter, *leaf, *wrong_name, *other_root;
    X509 *client_weak, *client_expired, *client_ok, *rogue_root, *client_rogue;
    char dir[64], ca_path[96], other_path[96];
    struct td_trust *ca, *other;
} fx;

static void write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    char err[256];
    (void)state;

    fx.root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx.inter_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx.leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx.other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx.weak_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(fx.weak_key);
    fx.root = make_cert(&(struct cert_spec){.cn = "TD Root", .nb = T0 - YEAR, .na = T0 + YEAR, .ca = true,
                                            .key = fx.root_key, .issuer_key = fx.root_key});
    fx.other_root = make_cert(&(struct cert_spec){.cn = "TD Other Root", .nb = T0 - YEAR, .na = T0 + YEAR, .ca = true,
                                                  .key = fx.other_key, .issuer_key = fx.other_key});
    fx.inter = make_cert(&(struct cert_spec){.cn = "TD Intermediate", .nb = T0 - YEAR, .na = T0 + YEAR, .ca = true,
                                             .key = fx.inter_key, .issuer = fx.root, .issuer_key = fx.root_key});
    fx.leaf = make_cert(&(struct cert_spec){.cn = "server.lab.test", .san = "DNS:server.lab.test", .nb = T0 - DAY,
                                            .na = T0 + YEAR, .key = fx.leaf_key, .issuer = fx.inter,
                                            .issuer_key = fx.inter_key});
    fx.wrong_name = make_cert(&(struct cert_spec){.cn = "wrong.lab.test",
                                                  .san = "DNS:wrong.lab.test,DNS:*.x.test,DNS:a.test,DNS:b.test,DNS:c.test",
                                                  .nb = T0 - DAY, .na = T0 + YEAR, .key = fx.leaf_key, .issuer = fx.inter,
                                                  .issuer_key = fx.inter_key});
    fx.client_weak = make_cert(&(struct cert_spec){.cn = "weak client", .nb = T0 - DAY, .na = T0 + YEAR, .key = fx.weak_key,
                                                   .issuer = fx.inter, .issuer_key = fx.inter_key});
    fx.client_expired = make_cert(&(struct cert_spec){.cn = "old client", .nb = T0 - YEAR, .na = T0 - DAY, .key = fx.leaf_key,
                                                      .issuer = fx.inter, .issuer_key = fx.inter_key});
    fx.client_ok = make_cert(&(struct cert_spec){.cn = "good client", .nb = T0 - DAY, .na = T0 + YEAR, .key = fx.leaf_key,
                                                 .issuer = fx.inter, .issuer_key = fx.inter_key});
    fx.rogue_root = make_cert(&(struct cert_spec){.cn = "rogue ca", .nb = T0 - YEAR, .na = T0 + YEAR, .ca = true,
                                                  .key = fx.other_key, .issuer_key = fx.other_key});
    fx.client_rogue = make_cert(&(struct cert_spec){.cn = "rogue client", .nb = T0 - DAY, .na = T0 + YEAR, .key = fx.leaf_key,
                                                    .issuer = fx.rogue_root, .issuer_key = fx.other_key});
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/td_certs_XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    snprintf(fx.ca_path, sizeof(fx.ca_path), "%s/ca.pem", fx.dir);
    snprintf(fx.other_path, sizeof(fx.other_path), "%s/other.pem", fx.dir);
    write_pem(fx.ca_path, fx.root);
    write_pem(fx.other_path, fx.other_root);
    fx.ca = td_trust_new(fx.ca_path, err, sizeof(err));
    fx.other = td_trust_new(fx.other_path, err, sizeof(err));
    assert_non_null(fx.ca);
    assert_non_null(fx.other);
    return 0;
}

static int group_teardown(void **state)
{
    X509 *xs[] = {fx.root, fx.inter, fx.leaf, fx.wrong_name, fx.other_root, fx.client_weak,
                  fx.client_expired, fx.client_ok, fx.rogue_root, fx.client_rogue};
    EVP_PKEY *ks[] = {fx.root_key, fx.inter_key, fx.leaf_key, fx.weak_key, fx.other_key};
    (void)state;
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
        X509_free(xs[i]);
    for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
        EVP_PKEY_free(ks[i]);
    td_trust_free(fx.ca);
    td_trust_free(fx.other);
    unlink(fx.ca_path);
    unlink(fx.other_path);
    rmdir(fx.dir);
    return 0;
}

static void chain_add(struct td_certificate *c, X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    struct td_der *d = &c->certs[c->num_certs++];

    assert_true(len > 0);
    d->der = malloc((size_t)len);
    assert_non_null(d->der);
    memcpy(d->der, der, (size_t)len);
    d->len = d->wire_len = (uint32_t)len;
    c->total_certs++;
    OPENSSL_free(der);
}

static void chain_free(struct td_certificate *c)
{
    for (size_t i = 0; i < TD_MAX_CERTS; i++)
        free(c->certs[i].der);
    memset(c, 0, sizeof(*c));
}

/* A TLS 1.2 connection, endpoint 0 the client: ClientHello (frame 4) with
 * SNI server.lab.test, ServerHello and the server's Certificate (frame 6),
 * then either both Finished (ok) or, with |alert| != 0, the client's
 * Certificate (frame 11) and the server's fatal alert (frame 13). */
struct tconn {
    struct td_conn c;
    struct td_client_hello ch;
    struct td_server_hello sh;
    struct td_certificate srv, cli;
    struct td_certificate_request cr;
};

static void tconn_init(struct tconn *t)
{
    memset(t, 0, sizeof(*t));
    t->c.id = 1;
    t->c.client = 0;
    t->c.client_known = true;
    t->c.ipver = 4;
    t->c.port[0] = 40000;
    t->c.port[1] = 443;
    t->c.capture_start_ns = T0 * NS;
    t->c.first_ts_ns = T0 * NS;
    for (int i = 0; i < 2; i++) {
        t->c.half[i].tls = true;
        t->c.half[i].payload_bytes = 1000;
        t->c.half[i].records = 4;
    }
    t->ch.legacy_version = 0x0303;
    t->ch.has_sni = true;
    snprintf(t->ch.sni, sizeof(t->ch.sni), "server.lab.test");
    t->ch.sni_len = (uint16_t)strlen(t->ch.sni);
    t->ch.num_ciphers = t->ch.total_ciphers = 1;
    t->ch.ciphers[0] = 0xc02f;
    t->c.ch.m = &t->ch;
    t->c.ch.frame = 4;
    t->c.ch.ts_ns = T0 * NS + 1000;
    t->sh.legacy_version = t->sh.selected_version = 0x0303;
    t->sh.cipher = 0xc02f;
}

static void tconn_ok(struct tconn *t)
{
    t->c.sh.m = &t->sh;
    t->c.sh.frame = 6;
    t->c.sh.ts_ns = T0 * NS + 2000;
    t->c.cert[1].m = &t->srv;
    t->c.cert[1].frame = 6;
    t->c.cert[1].ts_ns = T0 * NS + 2000;
    t->c.cert[1].ep = 1;
    for (int i = 0; i < 2; i++) {
        t->c.half[i].ccs = true;
        t->c.half[i].finished = true;
    }
}

static void tconn_client_rejected(struct tconn *t, uint8_t alert)
{
    tconn_ok(t);
    t->c.half[0].ccs = t->c.half[1].ccs = false;
    t->c.half[0].finished = t->c.half[1].finished = false;
    t->c.cr.m = &t->cr;
    t->c.cr.frame = 6;
    t->c.cert[0].m = &t->cli;
    t->c.cert[0].frame = 11;
    t->c.cert[0].ts_ns = T0 * NS + 3000;
    t->c.cke_frame = 11;
    t->c.num_alerts = t->c.total_alerts = 1;
    t->c.alerts[0] = (struct td_alert_rec){.frame = 13, .ts_ns = T0 * NS + 4000, .ep = 1, .level = 2, .desc = alert, .len = 2};
}

static const struct td_diagnosis *find(const struct td_verdict *v, const char *code)
{
    for (unsigned i = 0; i < v->num; i++)
        if (strcmp(v->d[i].code, code) == 0)
            return &v->d[i];
    return NULL;
}

static void judge(struct td_verdict *v, const struct tconn *t, const struct td_trust *trust)
{
    struct td_rules_opts o = {.trust = trust};
    td_rules_run(v, &t->c, &o);
}

static void complete_to_untrusted_root(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d;
    (void)state;

    tconn_init(&t);
    tconn_ok(&t);
    chain_add(&t.srv, fx.leaf);
    chain_add(&t.srv, fx.inter);
    judge(&v, &t, fx.other); /* TD Root is not in it */
    assert_int_equal(v.outcome, TD_OUT_OK);
    assert_null(find(&v, "cert_chain_incomplete"));
    d = find(&v, "cert_untrusted");
    assert_non_null(d);
    assert_int_equal(d->confidence, TD_CONF_HIGH);
    assert_non_null(strstr(d->summary, "root \"CN=TD Root\""));
    assert_non_null(strstr(d->summary, "CA \"CN=TD Intermediate\""));
    assert_null(strstr(d->fix, "full chain"));
    /* with the root trusted, nothing to say */
    judge(&v, &t, fx.ca);
    assert_null(find(&v, "cert_untrusted"));
    assert_null(find(&v, "cert_chain_incomplete"));
    chain_free(&t.srv);
}

static void leaf_only(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d;
    (void)state;

    tconn_init(&t);
    tconn_ok(&t);
    chain_add(&t.srv, fx.leaf);
    judge(&v, &t, fx.ca);
    assert_null(find(&v, "cert_untrusted"));
    d = find(&v, "cert_chain_incomplete");
    assert_non_null(d);
    assert_int_equal(d->confidence, TD_CONF_MEDIUM);
    assert_non_null(strstr(d->summary, "\"CN=TD Intermediate\""));
    assert_non_null(strstr(d->explanation, "private root"));
    assert_non_null(strstr(d->fix, "full chain"));
    chain_free(&t.srv);
}

static void sent_root_untrusted(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d;
    (void)state;

    tconn_init(&t);
    tconn_ok(&t);
    chain_add(&t.srv, fx.leaf);
    chain_add(&t.srv, fx.inter);
    chain_add(&t.srv, fx.root);
    judge(&v, &t, fx.other);
    d = find(&v, "cert_untrusted");
    assert_non_null(d);
    assert_non_null(strstr(d->summary, "ends in root \"CN=TD Root\", not in the trust store"));
    chain_free(&t.srv);
}

static void hostname_names(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d;
    (void)state;

    tconn_init(&t);
    tconn_ok(&t);
    chain_add(&t.srv, fx.wrong_name);
    chain_add(&t.srv, fx.inter);
    judge(&v, &t, fx.ca);
    d = find(&v, "cert_hostname_mismatch");
    assert_non_null(d);
    assert_non_null(strstr(d->summary, "\"server.lab.test\" (it names wrong.lab.test, *.x.test, a.test and 2 more)"));
    assert_non_null(strstr(d->explanation, "names wrong.lab.test, *.x.test, a.test, b.test, c.test;"));
    assert_true(strlen(d->summary) < sizeof(d->summary) - 1);
    chain_free(&t.srv);
}

static const struct td_diagnosis *client_case(struct tconn *t, struct td_verdict *v, X509 *leaf, X509 *ca, uint8_t alert)
{
    tconn_init(t);
    tconn_client_rejected(t, alert);
    chain_add(&t->srv, fx.leaf);
    chain_add(&t->srv, fx.inter);
    chain_add(&t->cli, leaf);
    if (ca != NULL)
        chain_add(&t->cli, ca);
    judge(v, t, fx.ca);
    assert_int_equal(v->outcome, TD_OUT_FAILED);
    assert_string_equal(v->d[0].code, "client_cert_rejected");
    return &v->d[0];
}

static void client_weak_key(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d = client_case(&t, &v, fx.client_weak, fx.inter, 42);
    (void)state;

    assert_non_null(strstr(d->summary, "likely its 1024-bit RSA key"));
    assert_non_null(strstr(d->explanation, "client certificate CN=weak client has a 1024-bit RSA key"));
    assert_non_null(strstr(d->explanation, "does not say why"));
    assert_null(strstr(d->explanation, "revoked)")); /* not the generic list */
    assert_non_null(strstr(d->fix, "2048 bits"));
    assert_null(strstr(d->fix, "SHA-256"));
    chain_free(&t.srv);
    chain_free(&t.cli);
}

static void client_expired(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d = client_case(&t, &v, fx.client_expired, fx.inter, 45);
    (void)state;

    assert_non_null(strstr(d->summary, "likely it expired on 2023-11-13"));
    assert_non_null(strstr(d->explanation, "client certificate CN=old client expired on 2023-11-13"));
    assert_non_null(strstr(d->fix, "Renew the client certificate"));
    chain_free(&t.srv);
    chain_free(&t.cli);
}

static void client_clean(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d = client_case(&t, &v, fx.client_ok, fx.inter, 42);
    (void)state;

    /* nothing stands out: the generic text, and that the check found nothing */
    assert_string_equal(d->summary, "the server rejected the client's certificate: bad_certificate(42)");
    assert_non_null(strstr(d->explanation, "(unknown CA, expired, revoked)"));
    assert_non_null(strstr(d->explanation, "finds nothing wrong"));
    chain_free(&t.srv);
    chain_free(&t.cli);
}

static void client_unknown_ca(void **state)
{
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d = client_case(&t, &v, fx.client_rogue, NULL, 48);
    (void)state;

    assert_non_null(strstr(d->summary, "issuer \"CN=rogue ca\""));
    assert_non_null(strstr(d->fix, "\"CN=rogue ca\""));
    chain_free(&t.srv);
    chain_free(&t.cli);
}

static const struct td_diagnosis *offer(struct tconn *t, struct td_verdict *v, const uint16_t *cs, uint16_t n)
{
    tconn_init(t);
    memcpy(t->ch.ciphers, cs, n * sizeof(cs[0]));
    t->ch.num_ciphers = t->ch.total_ciphers = n;
    t->c.num_alerts = t->c.total_alerts = 1;
    t->c.alerts[0] = (struct td_alert_rec){.frame = 6, .ts_ns = T0 * NS + 2000, .ep = 1, .level = 2, .desc = 40, .len = 2};
    judge(v, t, NULL);
    assert_int_equal(v->outcome, TD_OUT_FAILED);
    assert_string_equal(v->d[0].code, "no_shared_cipher");
    return &v->d[0];
}

static void legacy_offer_names(void **state)
{
    static const uint16_t one[] = {0x0067, 0x00ff};
    static const uint16_t three[] = {0x1a1a, 0x0033, 0x0039, 0x002f, 0x5600, 0x00ff};
    static const uint16_t five[] = {0x0033, 0x0039, 0x002f, 0x0035, 0x000a, 0x00ff};
    struct tconn t;
    struct td_verdict v;
    const struct td_diagnosis *d;
    (void)state;

    d = offer(&t, &v, one, 2);
    assert_string_equal(d->summary, "no shared cipher suite: the client offered only TLS_DHE_RSA_WITH_AES_128_CBC_SHA256");
    assert_non_null(strstr(d->explanation, "offers 1 cipher suite (TLS_DHE_RSA_WITH_AES_128_CBC_SHA256), besides "
                                           "TLS_EMPTY_RENEGOTIATION_INFO_SCSV (a signalling value, not a suite)"));
    d = offer(&t, &v, three, 6);
    assert_string_equal(d->summary, "no shared cipher suite: the client offered only TLS_DHE_RSA_WITH_AES_128_CBC_SHA, "
                                    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA and TLS_RSA_WITH_AES_128_CBC_SHA");
    assert_non_null(strstr(d->explanation, "offers 3 cipher suites ("));
    d = offer(&t, &v, five, 6);
    assert_string_equal(d->summary, "no shared cipher suite: the client offered only 5 legacy suites");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(complete_to_untrusted_root),
        cmocka_unit_test(leaf_only),
        cmocka_unit_test(sent_root_untrusted),
        cmocka_unit_test(hostname_names),
        cmocka_unit_test(client_weak_key),
        cmocka_unit_test(client_expired),
        cmocka_unit_test(client_clean),
        cmocka_unit_test(client_unknown_ca),
        cmocka_unit_test(legacy_offer_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
