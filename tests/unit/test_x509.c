/* test_x509.c: certificate facts (lib/tls/x509.c).
 *
 * Certificates are made at test time with libcrypto (fixed dates around T0,
 * so nothing depends on today), turned into DER copies in a td_certificate
 * exactly as the Certificate parser leaves them, and the facts are checked.
 * One real chain from a capture (x509_tls_expired_cert.h) checks that real
 * certificates read the same way. */
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

#include "tlsdiag/x509.h"

#include "x509_tls_expired_cert.h"

#define T0 INT64_C(1700000000) /* 2023-11-14T22:13:20Z: "now" for made certs */
#define DAY INT64_C(86400)
#define YEAR (365 * DAY)

/* ---- making certificates ---- */

struct cert_spec {
    const char *cn;          /* subject CN */
    const char *issuer_name; /* issuer CN when it is not |issuer|'s subject */
    const char *san;         /* X509V3 config text, NULL for none */
    int64_t nb, na;
    bool ca;
    const EVP_MD *md;
    EVP_PKEY *key;           /* subject key */
    X509 *issuer;            /* NULL: self-issued */
    EVP_PKEY *issuer_key;    /* signing key */
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
    X509_NAME *iss = NULL;

    assert_non_null(x);
    assert_non_null(subj);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
                                                (const unsigned char *)s->cn, -1, -1, 0),
                     1);
    assert_int_equal(X509_set_subject_name(x, subj), 1);
    if (s->issuer_name != NULL) {
        iss = X509_NAME_new();
        assert_non_null(iss);
        assert_int_equal(X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC,
                                                    (const unsigned char *)s->issuer_name,
                                                    -1, -1, 0),
                         1);
        assert_int_equal(X509_set_issuer_name(x, iss), 1);
    } else if (s->issuer != NULL) {
        assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(s->issuer)), 1);
    } else {
        assert_int_equal(X509_set_issuer_name(x, subj), 1);
    }
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->na));
    assert_int_equal(X509_set_pubkey(x, s->key), 1);
    if (s->ca) {
        assert_int_equal(add_ext(x, s->issuer, NID_basic_constraints, "critical,CA:TRUE"), 1);
        assert_int_equal(add_ext(x, s->issuer, NID_key_usage, "critical,keyCertSign,cRLSign"), 1);
    } else {
        assert_int_equal(add_ext(x, s->issuer, NID_basic_constraints, "CA:FALSE"), 1);
        assert_int_equal(add_ext(x, s->issuer, NID_ext_key_usage, "serverAuth"), 1);
    }
    if (s->san != NULL)
        assert_int_equal(add_ext(x, s->issuer, NID_subject_alt_name, s->san), 1);
    assert_true(X509_sign(x, s->issuer_key, s->md) > 0);
    X509_NAME_free(subj);
    X509_NAME_free(iss);
    return x;
}

/* The fixture: keys and certificates shared by all tests. */
static struct {
    EVP_PKEY *root_key, *inter_key, *leaf_key, *weak_key, *other_key;
    X509 *root, *inter, *other_root;
    X509 *leaf, *leaf_expired, *leaf_wild, *leaf_partial, *leaf_cn_only, *leaf_many_san;
    X509 *self_signed, *self_issued, *sha1_leaf, *md5_leaf;
    char dir[64], ca_path[96], other_path[96], empty_path[96];
    struct td_trust *ca, *other;
} fx;

static void write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    if (x != NULL)
        assert_int_equal(PEM_write_X509(f, x), 1);
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    char err[256];
    char many[2048];
    size_t used = 0;
    (void)state;

    fx.root_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    fx.weak_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    fx.inter_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx.leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx.other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(fx.root_key);
    assert_non_null(fx.weak_key);
    assert_non_null(fx.inter_key);
    assert_non_null(fx.leaf_key);
    assert_non_null(fx.other_key);

    fx.root = make_cert(&(struct cert_spec){.cn = "TD Test Root CA", .nb = T0 - 10 * YEAR,
                                            .na = T0 + 10 * YEAR, .ca = true,
                                            .md = EVP_sha256(), .key = fx.root_key,
                                            .issuer_key = fx.root_key});
    fx.other_root = make_cert(&(struct cert_spec){.cn = "TD Other Root CA",
                                                  .nb = T0 - 10 * YEAR, .na = T0 + 10 * YEAR,
                                                  .ca = true, .md = EVP_sha256(),
                                                  .key = fx.other_key,
                                                  .issuer_key = fx.other_key});
    fx.inter = make_cert(&(struct cert_spec){.cn = "TD Test Intermediate CA",
                                             .nb = T0 - 5 * YEAR, .na = T0 + 5 * YEAR,
                                             .ca = true, .md = EVP_sha256(),
                                             .key = fx.inter_key, .issuer = fx.root,
                                             .issuer_key = fx.root_key});
    fx.leaf = make_cert(&(struct cert_spec){
        .cn = "server.lab.test", .san = "DNS:server.lab.test,IP:192.0.2.10,IP:2001:db8::1",
        .nb = T0 - 30 * DAY, .na = T0 + 60 * DAY, .md = EVP_sha256(), .key = fx.leaf_key,
        .issuer = fx.inter, .issuer_key = fx.inter_key});
    fx.leaf_expired = make_cert(&(struct cert_spec){
        .cn = "server.lab.test", .san = "DNS:server.lab.test", .nb = T0 - 2 * YEAR,
        .na = T0 - YEAR, .md = EVP_sha256(), .key = fx.leaf_key, .issuer = fx.inter,
        .issuer_key = fx.inter_key});
    fx.leaf_wild = make_cert(&(struct cert_spec){
        .cn = "*.lab.test", .san = "DNS:*.lab.test", .nb = T0 - DAY, .na = T0 + YEAR,
        .md = EVP_sha256(), .key = fx.leaf_key, .issuer = fx.inter,
        .issuer_key = fx.inter_key});
    fx.leaf_partial = make_cert(&(struct cert_spec){
        .cn = "a*.lab.test", .san = "DNS:a*.lab.test", .nb = T0 - DAY, .na = T0 + YEAR,
        .md = EVP_sha256(), .key = fx.leaf_key, .issuer = fx.inter,
        .issuer_key = fx.inter_key});
    fx.leaf_cn_only = make_cert(&(struct cert_spec){
        .cn = "cnonly.lab.test", .nb = T0 - DAY, .na = T0 + YEAR, .md = EVP_sha256(),
        .key = fx.leaf_key, .issuer = fx.inter, .issuer_key = fx.inter_key});
    /* 20 SANs, the first one longer than the 127 bytes kept */
    memcpy(many, "DNS:", 4);
    memset(many + 4, 'x', 200);
    used = 204;
    for (int i = 1; i < 20; i++) {
        char item[32];
        size_t n;

        snprintf(item, sizeof(item), ",DNS:h%d.lab.test", i);
        n = strlen(item);
        assert_true(used + n < sizeof(many));
        memcpy(many + used, item, n);
        used += n;
    }
    assert_true(used + sizeof(",DNS:z.lab.test") <= sizeof(many));
    memcpy(many + used, ",DNS:z.lab.test", sizeof(",DNS:z.lab.test"));
    fx.leaf_many_san = make_cert(&(struct cert_spec){
        .cn = "many.lab.test", .san = many, .nb = T0 - DAY, .na = T0 + YEAR,
        .md = EVP_sha256(), .key = fx.leaf_key, .issuer = fx.inter,
        .issuer_key = fx.inter_key});
    fx.self_signed = make_cert(&(struct cert_spec){
        .cn = "selfsigned.lab.test", .san = "DNS:selfsigned.lab.test", .nb = T0 - DAY,
        .na = T0 + YEAR, .md = EVP_sha256(), .key = fx.leaf_key,
        .issuer_key = fx.leaf_key});
    /* subject == issuer, but signed by a key that is not its own */
    fx.self_issued = make_cert(&(struct cert_spec){
        .cn = "TD Imposter", .issuer_name = "TD Imposter", .nb = T0 - DAY, .na = T0 + YEAR,
        .md = EVP_sha256(), .key = fx.leaf_key, .issuer_key = fx.other_key});
    fx.sha1_leaf = make_cert(&(struct cert_spec){
        .cn = "legacy.lab.test", .san = "DNS:legacy.lab.test", .nb = T0 - DAY,
        .na = T0 + YEAR, .md = EVP_sha1(), .key = fx.weak_key, .issuer = fx.root,
        .issuer_key = fx.root_key});
    fx.md5_leaf = make_cert(&(struct cert_spec){
        .cn = "ancient.lab.test", .san = "DNS:ancient.lab.test", .nb = T0 - DAY,
        .na = T0 + YEAR, .md = EVP_md5(), .key = fx.weak_key, .issuer = fx.root,
        .issuer_key = fx.root_key});

    snprintf(fx.dir, sizeof(fx.dir), "/tmp/td_x509_XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    snprintf(fx.ca_path, sizeof(fx.ca_path), "%s/ca.pem", fx.dir);
    snprintf(fx.other_path, sizeof(fx.other_path), "%s/other.pem", fx.dir);
    snprintf(fx.empty_path, sizeof(fx.empty_path), "%s/empty.pem", fx.dir);
    write_pem(fx.ca_path, fx.root);
    write_pem(fx.other_path, fx.other_root);
    write_pem(fx.empty_path, NULL);
    fx.ca = td_trust_new(fx.ca_path, err, sizeof(err));
    assert_non_null(fx.ca);
    fx.other = td_trust_new(fx.other_path, err, sizeof(err));
    assert_non_null(fx.other);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    td_trust_free(fx.ca);
    td_trust_free(fx.other);
    unlink(fx.ca_path);
    unlink(fx.other_path);
    unlink(fx.empty_path);
    rmdir(fx.dir);
    X509 *certs[] = {fx.root, fx.inter, fx.other_root, fx.leaf, fx.leaf_expired,
                     fx.leaf_wild, fx.leaf_partial, fx.leaf_cn_only, fx.leaf_many_san,
                     fx.self_signed, fx.self_issued, fx.sha1_leaf, fx.md5_leaf};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    EVP_PKEY_free(fx.root_key);
    EVP_PKEY_free(fx.inter_key);
    EVP_PKEY_free(fx.leaf_key);
    EVP_PKEY_free(fx.weak_key);
    EVP_PKEY_free(fx.other_key);
    return 0;
}

/* ---- chains as the Certificate parser leaves them ---- */

/* td_certificate_cleanup belongs to lib/tls/cert.c, which is not in this
 * branch; the test frees its own copies the same way (malloc'd DER). */
static void chain_free(struct td_certificate *c)
{
    for (size_t i = 0; i < TD_MAX_CERTS; i++)
        free(c->certs[i].der);
    memset(c, 0, sizeof(*c));
}

static void chain_add_der(struct td_certificate *c, const uint8_t *der, size_t len)
{
    struct td_der *d = &c->certs[c->num_certs];

    assert_true(c->num_certs < TD_MAX_CERTS);
    d->der = len != 0 ? malloc(len) : NULL;
    if (len != 0) {
        assert_non_null(d->der);
        memcpy(d->der, der, len);
    }
    d->len = (uint32_t)len;
    d->wire_len = (uint32_t)len;
    c->num_certs++;
    c->total_certs++;
}

static void chain_add(struct td_certificate *c, X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);

    assert_true(len > 0);
    chain_add_der(c, der, (size_t)len);
    OPENSSL_free(der);
}

static void chain_make(struct td_certificate *c, X509 *a, X509 *b, X509 *d)
{
    memset(c, 0, sizeof(*c));
    chain_add(c, a);
    if (b != NULL)
        chain_add(c, b);
    if (d != NULL)
        chain_add(c, d);
}

static void chain_from_hex(struct td_certificate *c, const char *hex)
{
    size_t n = strlen(hex) / 2;
    uint8_t *buf = malloc(n);

    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;

        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        buf[i] = (uint8_t)v;
    }
    chain_add_der(c, buf, n);
    free(buf);
}

static bool has_error(const struct td_chain_facts *f, int error, int depth)
{
    for (uint16_t i = 0; i < f->num_errors; i++)
        if (f->errors[i].error == error && f->errors[i].depth == depth)
            return true;
    return false;
}

/* Heap, not stack: the facts are large. */
static struct td_chain_facts *facts_new(void)
{
    struct td_chain_facts *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    return f;
}

/* ---- tests ---- */

static void test_good_chain(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    const struct td_cert_info *leaf = &f->certs[0], *inter = &f->certs[1];
    (void)state;

    chain_make(&c, fx.leaf, fx.inter, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, "server.lab.test");

    assert_int_equal(f->num, 2);
    assert_int_equal(f->total, 2);
    assert_true(leaf->parse_ok);
    assert_string_equal(leaf->subject_cn, "server.lab.test");
    assert_string_equal(leaf->issuer_cn, "TD Test Intermediate CA");
    assert_string_equal(leaf->subject, "CN=server.lab.test");
    assert_string_equal(leaf->issuer, "CN=TD Test Intermediate CA");
    assert_true(leaf->has_san_ext);
    assert_int_equal(leaf->num_san, 3);
    assert_int_equal(leaf->total_san, 3);
    assert_string_equal(leaf->san[0], "server.lab.test");
    assert_string_equal(leaf->san[1], "192.0.2.10");
    assert_string_equal(leaf->san[2], "2001:db8::1");
    assert_true(leaf->dates_ok);
    assert_true(leaf->not_before == T0 - 30 * DAY);
    assert_true(leaf->not_after == T0 + 60 * DAY);
    assert_string_equal(leaf->key_type, "EC");
    assert_int_equal(leaf->key_bits, 256);
    assert_string_equal(leaf->key_group, "prime256v1");
    assert_string_equal(leaf->sig_alg, "ecdsa-with-SHA256");
    assert_string_equal(leaf->sig_hash, "SHA256");
    assert_false(leaf->sig_sha1);
    assert_false(leaf->sig_md5);
    assert_false(leaf->self_issued);
    assert_false(leaf->self_signed);
    assert_false(leaf->is_ca);
    assert_int_equal(leaf->issuer_index, 1);

    assert_true(inter->parse_ok);
    assert_true(inter->is_ca);
    assert_string_equal(inter->sig_alg, "sha256WithRSAEncryption");
    assert_int_equal(inter->issuer_index, -1); /* the root was not sent */

    assert_true(f->order_ok);
    assert_int_equal(f->order_break, -1);
    assert_true(f->verify_ran);
    assert_true(f->verified);
    assert_int_equal(f->verify_error, 0);
    assert_int_equal(f->verify_depth, -1);
    assert_int_equal(f->num_errors, 0);
    assert_int_equal(f->built_len, 3);
    assert_string_equal(f->missing_issuer, "");
    assert_false(f->missing_intermediate || f->untrusted_root || f->self_signed_leaf ||
                 f->ca_expired || f->expired || f->not_yet_valid);
    assert_true(f->name_checked);
    assert_false(f->name_is_ip);
    assert_true(f->name_ok);
    assert_string_equal(f->name_matched, "server.lab.test");

    /* no trust store: facts, but no verification */
    td_chain_analyze(f, &c, NULL, T0, NULL);
    assert_true(f->certs[0].parse_ok);
    assert_false(f->verify_ran);
    assert_false(f->verified);
    assert_false(f->name_checked);
    chain_free(&c);
    free(f);
}

static void expect_name(const struct td_certificate *c, const char *host, bool ok,
                        bool is_ip)
{
    struct td_chain_facts *f = facts_new();

    td_chain_analyze(f, c, NULL, T0, host);
    assert_true(f->name_checked);
    if (f->name_ok != ok || f->name_is_ip != is_ip)
        fail_msg("host \"%s\": name_ok %d is_ip %d, want %d %d", host, f->name_ok,
                 f->name_is_ip, ok, is_ip);
    free(f);
}

static void test_name_checks(void **state)
{
    struct td_certificate c;
    (void)state;

    chain_make(&c, fx.leaf, fx.inter, NULL);
    expect_name(&c, "server.lab.test", true, false);
    expect_name(&c, "server.lab.test.", true, false);  /* trailing dot */
    expect_name(&c, "SERVER.Lab.Test", true, false);   /* case-insensitive */
    expect_name(&c, "other.lab.test", false, false);
    expect_name(&c, "lab.test", false, false);
    expect_name(&c, "", false, false);
    expect_name(&c, ".", false, false);
    expect_name(&c, "192.0.2.10", true, true);
    expect_name(&c, "192.0.2.11", false, true);
    expect_name(&c, "2001:db8::1", true, true);
    expect_name(&c, "2001:db8:0:0:0:0:0:1", true, true);
    expect_name(&c, "2001:db8::2", false, true);
    chain_free(&c);

    /* no dNSName at all: the commonName is used */
    chain_make(&c, fx.leaf_cn_only, fx.inter, NULL);
    expect_name(&c, "cnonly.lab.test", true, false);
    expect_name(&c, "other.lab.test", false, false);
    chain_free(&c);
}

static void test_wildcard(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    chain_make(&c, fx.leaf_wild, fx.inter, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, "a.lab.test");
    assert_true(f->verified);
    assert_true(f->name_ok);
    assert_string_equal(f->name_matched, "*.lab.test");
    expect_name(&c, "www.lab.test", true, false);
    expect_name(&c, "a.b.lab.test", false, false); /* one label only (RFC 6125 6.4.3) */
    expect_name(&c, "lab.test", false, false);     /* the wildcard needs a label */
    expect_name(&c, "a.lab.test.evil", false, false);
    chain_free(&c);

    chain_make(&c, fx.leaf_partial, fx.inter, NULL);
    expect_name(&c, "ab.lab.test", false, false);  /* partial wildcards are off */
    expect_name(&c, "a.lab.test", false, false);
    chain_free(&c);
    free(f);
}

/* ---- the chain cache (td_chain_cache_analyze) ---- */

/* a hit must be byte for byte what td_chain_analyze computes */
static void expect_cached_eq(struct td_chain_cache *cc, const struct td_certificate *c,
                             const struct td_trust *t, int64_t now, const char *host)
{
    struct td_chain_facts *want = facts_new();
    const struct td_chain_facts *got;

    td_chain_analyze(want, c, t, now, host);
    got = td_chain_cache_analyze(cc, c, t, now, host);
    assert_memory_equal(got, want, sizeof(*want));
    free(want);
}

static void expect_counts(const struct td_chain_cache *cc, uint64_t hits, uint64_t misses)
{
    uint64_t h, m;
    td_chain_cache_counts(cc, &h, &m);
    assert_int_equal(h, hits);
    assert_int_equal(m, misses);
}

static void test_chain_cache_exact(void **state)
{
    struct td_certificate c, e;
    struct td_chain_cache *cc = td_chain_cache_new();
    (void)state;

    assert_non_null(cc);
    chain_make(&c, fx.leaf, fx.inter, NULL);
    chain_make(&e, fx.leaf_expired, fx.inter, NULL);
    expect_cached_eq(cc, &c, fx.ca, T0, "server.lab.test"); /* computed */
    expect_cached_eq(cc, &c, fx.ca, T0, "server.lab.test"); /* the same input: kept */
    expect_counts(cc, 1, 1);
    expect_cached_eq(cc, &c, fx.ca, T0 + DAY, "server.lab.test"); /* no date crossed */
    expect_counts(cc, 2, 1);
    /* any difference in the input is another entry */
    expect_cached_eq(cc, &c, fx.ca, T0, "other.lab.test");
    expect_cached_eq(cc, &c, fx.ca, T0, NULL);
    expect_cached_eq(cc, &c, fx.other, T0, "server.lab.test");
    expect_cached_eq(cc, &e, fx.ca, T0, "server.lab.test");
    expect_counts(cc, 2, 5);
    /* past a date some comparison depends on, the facts change: computed
     * again (the leaf expires 60 days after T0, see test_validity_edges) */
    expect_cached_eq(cc, &c, fx.ca, T0 + 6 * YEAR, "server.lab.test");
    expect_counts(cc, 2, 6);
    expect_cached_eq(cc, &e, fx.ca, T0, "server.lab.test");
    expect_counts(cc, 3, 6);
    chain_free(&c);
    chain_free(&e);
    td_chain_cache_free(cc);
}

/* Twenty chains in turn, three rounds: only the first round computes.  The
 * cache has 64 entries in sets of 4, chosen by a hash of the input alone;
 * with these inputs no set gets more than 4.  A direct-mapped cache of the
 * same size (what it was) misses again in every round here: two of the
 * twenty share a slot. */
static void test_chain_cache_many(void **state)
{
    struct td_certificate c;
    struct td_chain_cache *cc = td_chain_cache_new();
    char host[32];
    (void)state;

    assert_non_null(cc);
    chain_make(&c, fx.leaf_wild, fx.inter, NULL);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 20; i++) {
            snprintf(host, sizeof(host), "h%d.lab.test", i);
            expect_cached_eq(cc, &c, fx.ca, T0, host);
        }
    expect_counts(cc, 40, 20);
    chain_free(&c);
    td_chain_cache_free(cc);
}

static void test_expired_and_untrusted(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    chain_make(&c, fx.leaf_expired, fx.inter, NULL);

    /* trusted issuer: expiry is the only problem */
    td_chain_analyze(f, &c, fx.ca, T0, "server.lab.test");
    assert_true(f->expired);
    assert_false(f->not_yet_valid);
    assert_false(f->verified);
    assert_int_equal(f->verify_error, X509_V_ERR_CERT_HAS_EXPIRED);
    assert_int_equal(f->verify_depth, 0);
    assert_string_equal(f->verify_error_str, "certificate has expired");
    assert_int_equal(f->num_errors, 1);
    assert_false(f->missing_intermediate);
    assert_false(f->ca_expired);
    assert_true(f->name_ok); /* the name check does not care about dates */

    /* unknown issuer too: both must be reported, not just the first */
    td_chain_analyze(f, &c, fx.other, T0, "server.lab.test");
    assert_true(f->expired);
    assert_false(f->verified);
    assert_true(has_error(f, X509_V_ERR_CERT_HAS_EXPIRED, 0));
    assert_true(has_error(f, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1));
    assert_true(f->missing_intermediate);
    assert_false(f->untrusted_root);
    assert_string_equal(f->missing_issuer, "CN=TD Test Root CA");
    assert_int_equal(f->built_len, 2);
    chain_free(&c);
    free(f);
}

static void test_validity_edges(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    chain_make(&c, fx.leaf, fx.inter, NULL);
    td_chain_analyze(f, &c, fx.ca, T0 - 30 * DAY - 1, NULL);
    assert_true(f->not_yet_valid);
    assert_false(f->expired);
    assert_int_equal(f->verify_error, X509_V_ERR_CERT_NOT_YET_VALID);
    assert_int_equal(f->num_errors, 1);

    /* both ends are inclusive (RFC 5280 4.1.2.5) in our own check; OpenSSL
     * already calls the certificate expired at the notAfter second itself */
    td_chain_analyze(f, &c, fx.ca, T0 - 30 * DAY, NULL);
    assert_false(f->not_yet_valid);
    assert_true(f->verified);
    td_chain_analyze(f, &c, fx.ca, T0 + 60 * DAY, NULL);
    assert_false(f->expired);
    assert_false(f->verified);
    assert_int_equal(f->verify_error, X509_V_ERR_CERT_HAS_EXPIRED);
    td_chain_analyze(f, &c, fx.ca, T0 + 60 * DAY - 1, NULL);
    assert_false(f->expired);
    assert_true(f->verified);
    td_chain_analyze(f, &c, fx.ca, T0 + 60 * DAY + 1, NULL);
    assert_true(f->expired);
    assert_false(f->ca_expired);

    /* past the intermediate's end too */
    td_chain_analyze(f, &c, fx.ca, T0 + 6 * YEAR, NULL);
    assert_true(f->expired);
    assert_true(f->ca_expired);
    assert_true(has_error(f, X509_V_ERR_CERT_HAS_EXPIRED, 0));
    assert_true(has_error(f, X509_V_ERR_CERT_HAS_EXPIRED, 1));
    chain_free(&c);
    free(f);
}

static void test_self_signed(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    chain_make(&c, fx.self_signed, NULL, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, "selfsigned.lab.test");
    assert_true(f->certs[0].self_issued);
    assert_true(f->certs[0].self_signed);
    assert_int_equal(f->certs[0].issuer_index, 0);
    assert_true(f->order_ok);
    assert_false(f->verified);
    assert_true(f->self_signed_leaf);
    assert_false(f->untrusted_root);
    assert_false(f->missing_intermediate);
    assert_int_equal(f->verify_error, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_int_equal(f->verify_depth, 0);
    assert_string_equal(f->missing_issuer, "");
    assert_true(f->name_ok);
    chain_free(&c);

    /* same name as issuer, but someone else's signature */
    chain_make(&c, fx.self_issued, NULL, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, NULL);
    assert_true(f->certs[0].self_issued);
    assert_false(f->certs[0].self_signed);
    assert_int_equal(f->certs[0].issuer_index, -1);
    assert_false(f->verified);
    /* OpenSSL goes by the names only (it skips a self-signed certificate's
     * own signature unless asked), so its verdict differs from ours */
    assert_true(f->self_signed_leaf);
    assert_int_equal(f->verify_error, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    chain_free(&c);
    free(f);
}

static void test_weak_signature_and_key(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    const struct td_cert_info *leaf = &f->certs[0];
    (void)state;

    chain_make(&c, fx.sha1_leaf, NULL, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, "legacy.lab.test");
    assert_true(leaf->parse_ok);
    assert_string_equal(leaf->sig_alg, "sha1WithRSAEncryption");
    assert_string_equal(leaf->sig_hash, "SHA1");
    assert_true(leaf->sig_sha1);
    assert_false(leaf->sig_md5);
    assert_string_equal(leaf->key_type, "RSA");
    assert_int_equal(leaf->key_bits, 1024);
    assert_string_equal(leaf->key_group, "");
    assert_int_equal(leaf->issuer_index, -1);
    assert_true(f->verify_ran);
    assert_true(f->name_ok);
    chain_free(&c);

    chain_make(&c, fx.md5_leaf, NULL, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, NULL);
    assert_string_equal(leaf->sig_alg, "md5WithRSAEncryption");
    assert_true(leaf->sig_md5);
    assert_false(leaf->sig_sha1);
    chain_free(&c);

    chain_make(&c, fx.root, NULL, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, NULL);
    assert_string_equal(leaf->key_type, "RSA");
    assert_int_equal(leaf->key_bits, 2048);
    assert_true(leaf->self_signed);
    assert_true(leaf->is_ca);
    /* the trust anchor itself, but a CA certificate can't serve as a TLS
     * server's certificate (keyUsage has no digitalSignature) */
    assert_false(f->verified);
    assert_true(has_error(f, X509_V_ERR_INVALID_PURPOSE, 0));
    chain_free(&c);
    free(f);
}

static void test_chain_order(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    /* leaf, root, intermediate: OpenSSL still finds its way (so verified),
     * but the order is not what RFC 5246 asks for */
    chain_make(&c, fx.leaf, fx.root, fx.inter);
    td_chain_analyze(f, &c, fx.ca, T0, NULL);
    assert_false(f->order_ok);
    assert_int_equal(f->order_break, 0);
    assert_int_equal(f->certs[0].issuer_index, 2);
    assert_int_equal(f->certs[1].issuer_index, 1);
    assert_int_equal(f->certs[2].issuer_index, 1);
    assert_true(f->verified);
    chain_free(&c);

    /* the full chain in order, root included */
    chain_make(&c, fx.leaf, fx.inter, fx.root);
    td_chain_analyze(f, &c, fx.ca, T0, NULL);
    assert_true(f->order_ok);
    assert_int_equal(f->certs[0].issuer_index, 1);
    assert_int_equal(f->certs[1].issuer_index, 2);
    assert_int_equal(f->certs[2].issuer_index, 2);
    assert_true(f->certs[2].self_signed);
    assert_true(f->verified);
    chain_free(&c);

    /* an unrelated extra certificate does not break the order */
    chain_make(&c, fx.leaf, fx.inter, fx.other_root);
    td_chain_analyze(f, &c, fx.ca, T0, NULL);
    assert_true(f->order_ok);
    assert_true(f->verified);
    chain_free(&c);
    free(f);
}

static void test_missing_intermediate(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    chain_make(&c, fx.leaf, NULL, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, "server.lab.test");
    assert_false(f->verified);
    assert_true(f->missing_intermediate);
    assert_false(f->untrusted_root);
    assert_false(f->self_signed_leaf);
    assert_true(f->order_ok);
    assert_int_equal(f->certs[0].issuer_index, -1);
    assert_true(has_error(f, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0) ||
                has_error(f, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, 0));
    assert_string_equal(f->missing_issuer, "CN=TD Test Intermediate CA");
    assert_true(f->name_ok);
    chain_free(&c);
    free(f);
}

static void test_untrusted_root(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    chain_make(&c, fx.leaf, fx.inter, fx.root);
    td_chain_analyze(f, &c, fx.other, T0, NULL);
    assert_false(f->verified);
    assert_true(f->untrusted_root);
    assert_false(f->missing_intermediate);
    assert_true(has_error(f, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 2));
    assert_true(f->order_ok);
    chain_free(&c);
    free(f);
}

static void test_system_store(void **state)
{
    char err[256] = "";
    struct td_trust *sys = td_trust_new(NULL, err, sizeof(err));
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    (void)state;

    assert_non_null(sys);
    chain_make(&c, fx.leaf, fx.inter, NULL);
    td_chain_analyze(f, &c, sys, T0, "server.lab.test");
    assert_true(f->verify_ran);
    assert_false(f->verified);
    assert_true(f->missing_intermediate);
    chain_free(&c);

    chain_make(&c, fx.leaf, fx.inter, fx.root);
    td_chain_analyze(f, &c, sys, T0, NULL);
    assert_false(f->verified);
    assert_true(f->untrusted_root);
    chain_free(&c);
    td_trust_free(sys);
    free(f);
}

static void test_trust_errors(void **state)
{
    char err[256];
    char tiny[8];
    struct td_trust *t;
    (void)state;

    err[0] = 'x';
    assert_null(td_trust_new("/nonexistent/ca.pem", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));
    assert_null(td_trust_new(fx.empty_path, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_null(td_trust_new(fx.empty_path, tiny, sizeof(tiny)));
    assert_true(strlen(tiny) < sizeof(tiny));
    assert_null(td_trust_new(fx.empty_path, NULL, 0));
    /* a directory is accepted (hashed lookup) */
    t = td_trust_new(fx.dir, err, sizeof(err));
    assert_non_null(t);
    td_trust_free(t);
    td_trust_free(NULL);
}

/* check_invariants: what must hold for any input, whatever the bytes. */
static void check_invariants(const struct td_chain_facts *f)
{
    assert_true(f->num <= TD_MAX_CERTS);
    assert_true(f->num <= f->total);
    assert_true(f->num_errors <= f->total_errors);
    assert_true(f->num_errors <= TD_X509_MAX_VERIFY_ERRORS);
    assert_true(strlen(f->verify_error_str) < sizeof(f->verify_error_str));
    assert_true(strlen(f->missing_issuer) < sizeof(f->missing_issuer));
    assert_true(strlen(f->name_matched) < sizeof(f->name_matched));
    for (uint16_t i = 0; i < f->num; i++) {
        const struct td_cert_info *ci = &f->certs[i];

        assert_true(ci->num_san <= ci->total_san);
        assert_true(ci->num_san <= TD_X509_MAX_SAN);
        assert_true(strlen(ci->subject) < sizeof(ci->subject));
        assert_true(strlen(ci->issuer) < sizeof(ci->issuer));
        assert_true(strlen(ci->subject_cn) < sizeof(ci->subject_cn));
        assert_true(strlen(ci->sig_alg) < sizeof(ci->sig_alg));
        assert_true(ci->issuer_index >= -1 && ci->issuer_index < (int)f->num);
        for (uint16_t j = 0; j < ci->num_san; j++)
            assert_true(strlen(ci->san[j]) < sizeof(ci->san[j]));
        if (!ci->parse_ok)
            assert_int_equal(ci->num_san, 0);
    }
    if (f->verified)
        assert_int_equal(f->total_errors, 0);
    if (!f->verify_ran)
        assert_false(f->verified);
}

static void test_malformed(void **state)
{
    static const uint8_t garbage[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    unsigned char *der = NULL;
    int len = i2d_X509(fx.leaf, &der);
    uint8_t *buf;
    (void)state;

    assert_true(len > 20);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);

    memset(&c, 0, sizeof(c));
    chain_add_der(&c, garbage, sizeof(garbage));
    chain_add_der(&c, der, (size_t)len - 10);       /* truncated */
    memcpy(buf, der, (size_t)len);
    buf[len] = 0;
    chain_add_der(&c, buf, (size_t)len + 1);        /* one byte too many */
    chain_add_der(&c, NULL, 0);                     /* empty entry */
    c.certs[c.num_certs].wire_len = 70000;          /* over our cap: not kept */
    c.num_certs++;
    c.total_certs++;
    chain_add_der(&c, der, (size_t)len);            /* a good one last */
    td_chain_analyze(f, &c, fx.ca, T0, "server.lab.test");
    check_invariants(f);
    for (int i = 0; i < 5; i++)
        assert_false(f->certs[i].parse_ok);
    assert_false(f->certs[0].too_big);
    assert_true(f->certs[4].too_big);
    assert_true(f->certs[5].parse_ok);
    assert_false(f->verify_ran); /* no leaf to verify */
    assert_false(f->name_checked);
    assert_false(f->expired);
    chain_free(&c);

    /* a NULL chain and an empty one */
    td_chain_analyze(f, NULL, fx.ca, T0, "x");
    assert_int_equal(f->num, 0);
    memset(&c, 0, sizeof(c));
    td_chain_analyze(f, &c, fx.ca, T0, "x");
    assert_int_equal(f->num, 0);
    assert_false(f->verify_ran);

    /* every truncation and a flip of every byte of the leaf, followed by the
     * intermediate: no crash, no leak, invariants hold */
    for (int cut = 0; cut < len; cut++) {
        memset(&c, 0, sizeof(c));
        chain_add_der(&c, der, (size_t)cut);
        chain_add(&c, fx.inter);
        td_chain_analyze(f, &c, fx.ca, T0, "server.lab.test");
        check_invariants(f);
        assert_false(f->certs[0].parse_ok);
        chain_free(&c);
    }
    for (int at = 0; at < len; at++) {
        memcpy(buf, der, (size_t)len);
        buf[at] ^= 0x5a;
        memset(&c, 0, sizeof(c));
        chain_add_der(&c, buf, (size_t)len);
        chain_add(&c, fx.inter);
        td_chain_analyze(f, &c, fx.ca, T0, "server.lab.test");
        check_invariants(f);
        chain_free(&c);
    }
    OPENSSL_free(der);
    free(buf);
    free(f);
}

static void test_caps(void **state)
{
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    const struct td_cert_info *leaf = &f->certs[0];
    (void)state;

    chain_make(&c, fx.leaf_many_san, fx.inter, NULL);
    td_chain_analyze(f, &c, fx.ca, T0, "h19.lab.test");
    assert_int_equal(leaf->num_san, TD_X509_MAX_SAN);
    assert_int_equal(leaf->total_san, 21);
    assert_int_equal(strlen(leaf->san[0]), TD_X509_SAN_LEN - 1);
    assert_string_equal(leaf->san[1], "h1.lab.test");
    assert_true(f->name_ok); /* the check sees every SAN, not just those kept */
    check_invariants(f);
    chain_free(&c);

    /* a full chain of 16 and 20 announced: num 16, total 20 */
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < TD_MAX_CERTS; i++)
        chain_add(&c, i % 2 == 0 ? fx.leaf : fx.inter);
    c.total_certs = 20;
    td_chain_analyze(f, &c, fx.ca, T0, NULL);
    assert_int_equal(f->num, TD_MAX_CERTS);
    assert_int_equal(f->total, 20);
    assert_true(f->order_ok); /* each leaf copy is followed by its issuer */
    check_invariants(f);
    chain_free(&c);
    free(f);
}

/* A real chain, captured 2014-03-13: judged at the capture's own time the
 * leaf had expired nine days earlier. */
static void test_capture_cert(void **state)
{
    const int64_t capture_time = INT64_C(1394745603);
    struct td_certificate c;
    struct td_chain_facts *f = facts_new();
    const struct td_cert_info *leaf = &f->certs[0], *ca = &f->certs[1];
    (void)state;

    memset(&c, 0, sizeof(c));
    chain_from_hex(&c, spidh_cert0);
    chain_from_hex(&c, spidh_cert1);
    td_chain_analyze(f, &c, fx.ca, capture_time, "www.spidh.org");
    check_invariants(f);
    assert_true(leaf->parse_ok);
    assert_true(ca->parse_ok);
    assert_string_equal(leaf->subject_cn, "www.spidh.org");
    assert_string_equal(leaf->issuer_cn, "COMODO SSL CA");
    assert_string_equal(leaf->subject,
                        "CN=www.spidh.org,OU=COMODO SSL,OU=Domain Control Validated");
    assert_int_equal(leaf->num_san, 2);
    assert_string_equal(leaf->san[0], "www.spidh.org");
    assert_string_equal(leaf->san[1], "spidh.org");
    assert_true(leaf->not_before == INT64_C(1359936000));  /* 2013-02-04 00:00:00Z */
    assert_true(leaf->not_after == INT64_C(1393977599));   /* 2014-03-04 23:59:59Z */
    assert_string_equal(leaf->key_type, "RSA");
    assert_int_equal(leaf->key_bits, 2048);
    assert_string_equal(leaf->sig_alg, "sha1WithRSAEncryption");
    assert_true(leaf->sig_sha1);
    assert_false(leaf->is_ca);
    assert_true(ca->is_ca);
    assert_true(ca->not_after == INT64_C(1590835718));     /* 2020-05-30 10:48:38Z */
    assert_int_equal(leaf->issuer_index, 1);
    assert_int_equal(ca->issuer_index, -1);
    assert_true(f->order_ok);

    assert_true(f->expired);
    assert_false(f->not_yet_valid);
    assert_false(f->verified);
    assert_true(has_error(f, X509_V_ERR_CERT_HAS_EXPIRED, 0));
    /* AddTrust's root was neither sent nor in our store */
    assert_true(f->missing_intermediate);
    assert_non_null(strstr(f->missing_issuer, "CN=AddTrust External CA Root"));
    assert_true(f->name_ok);
    assert_string_equal(f->name_matched, "www.spidh.org");

    /* while it was valid */
    td_chain_analyze(f, &c, fx.ca, INT64_C(1370044800), "spidh.org"); /* 2013-06-01 */
    assert_false(f->expired);
    assert_false(has_error(f, X509_V_ERR_CERT_HAS_EXPIRED, 0));
    assert_true(f->missing_intermediate);
    assert_true(f->name_ok);

    /* long after: the intermediate is gone as well */
    td_chain_analyze(f, &c, fx.ca, INT64_C(1893456000), "www.example.org"); /* 2030 */
    assert_true(f->expired);
    assert_true(f->ca_expired);
    /* from the dates: OpenSSL never checks the dates of a top certificate
     * whose issuer it could not find */
    assert_false(has_error(f, X509_V_ERR_CERT_HAS_EXPIRED, 1));
    assert_false(f->name_ok);
    td_chain_analyze(f, &c, NULL, INT64_C(1893456000), NULL);
    assert_true(f->ca_expired); /* with no store at all, too */

    /* with the system store: no crash; AddTrust may or may not be there */
    {
        char err[256];
        struct td_trust *sys = td_trust_new(NULL, err, sizeof(err));

        assert_non_null(sys);
        td_chain_analyze(f, &c, sys, capture_time, "www.spidh.org");
        check_invariants(f);
        assert_true(f->expired);
        assert_false(f->verified);
        td_trust_free(sys);
    }
    chain_free(&c);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_chain),
        cmocka_unit_test(test_name_checks),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_expired_and_untrusted),
        cmocka_unit_test(test_validity_edges),
        cmocka_unit_test(test_self_signed),
        cmocka_unit_test(test_weak_signature_and_key),
        cmocka_unit_test(test_chain_order),
        cmocka_unit_test(test_missing_intermediate),
        cmocka_unit_test(test_untrusted_root),
        cmocka_unit_test(test_system_store),
        cmocka_unit_test(test_trust_errors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_capture_cert),
        cmocka_unit_test(test_chain_cache_exact),
        cmocka_unit_test(test_chain_cache_many),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
