/* x509.c: certificate facts from DER, with OpenSSL 3 libcrypto.
 *
 * Everything here reads peer bytes only through d2i_X509 and OpenSSL's
 * accessors; what comes out is copied, bounded, into plain structs (see
 * x509.h).  OpenSSL objects live only inside one call and are freed on every
 * path.  Nothing here decides what a fact means. */
#include "tlsdiag/x509.h"
#include "tlsdiag/alloc.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

struct td_trust {
    X509_STORE *store;
    /* The system store's CA bundle is read when the first chain is
     * verified (td_trust_ready), not when the store is made: parsing its
     * ~150 certificates costs more than reading a small capture, and a
     * capture without certificates never needs it.  |bundle| is the file
     * lookup still to load; |ready| says it has been (or there is none). */
    X509_LOOKUP *bundle;
    atomic_bool ready;
    pthread_mutex_t mu;
    bool mu_ok;
    /* one verification at a time (verify_chain): `read -j` workers share
     * the store, and the bundle lookup adds certificates to it in the
     * middle of another thread's verification.  OpenSSL 3.0.22 then reads
     * a name another thread is writing (ThreadSanitizer, tests/jobs.sh on
     * ja4/tls-handshake.pcapng, 7 runs in 30).  Verifications are cached
     * per worker (td_chain_cache), so they seldom meet here. */
    pthread_mutex_t vmu;
    bool vmu_ok;
    /* the bundle's lookup method and its index: each certificate's DER and
     * subject, put into the store the first time its subject is asked */
    X509_LOOKUP_METHOD *meth;
    struct bundle_ent {
        unsigned char *der;
        long len;
        X509_NAME *subject;
        bool added;
    } *b;
    size_t nb;
};

/* copy_bytes copies at most |dstlen| - 1 bytes of |src| and terminates. */
static void copy_bytes(char *dst, size_t dstlen, const void *src, size_t srclen)
{
    size_t n;

    if (dstlen == 0)
        return;
    n = srclen < dstlen - 1 ? srclen : dstlen - 1;
    if (n != 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void copy_str(char *dst, size_t dstlen, const char *src)
{
    if (src == NULL) {
        copy_bytes(dst, dstlen, "", 0);
        return;
    }
    copy_bytes(dst, dstlen, src, strlen(src));
}

/* ---- trust store ---- */

/* The system store as OpenSSL 3's X509_STORE_set_default_paths() makes it,
 * less its third lookup: the default CA bundle (SSL_CERT_FILE) and the
 * hashed directory (SSL_CERT_DIR), both as the environment says, but not the
 * OSSL_STORE "file:" URI of that same directory.  That lookup lists the
 * whole directory (getdents) for every issuer it is asked for: it was 44% of
 * a read's time on a capture with many distinct chains (bench/PROFILE.md)
 * while finding nothing the other two do not; the hashed directory opens
 * <hash>.N directly. */
/* The CA bundle is indexed by subject instead of loaded: parsing all of
 * its ~150 certificates (public keys through OpenSSL's decoders) cost 194 M
 * instructions, more than reading 1,500 packets of handshakes, while a
 * capture's chains end in a handful of roots.  The lookup below stands where
 * the bundle's file lookup stood (first, before the hashed directory) and,
 * when the verifier asks for a subject the store does not hold, adds every
 * bundle certificate with that subject, in file order, then answers as the
 * store does: the certificates a verification can see are the ones an eager
 * load gave it. */

/* der_subject: the subject Name of a certificate's DER (RFC 5280 4.1:
 * Certificate { tbsCertificate { [0] version OPTIONAL, serialNumber,
 * signature, issuer, validity, subject, ... } }), walked with OpenSSL's
 * ASN1_get_object (bounded by |len|) and decoded with d2i_X509_NAME.
 * NULL if the DER does not have that shape. */
static X509_NAME *der_subject(const unsigned char *der, long len)
{
    const unsigned char *p = der, *end = der + len, *q;
    long l;
    int tag, cls, r;

    for (int i = 0; i < 2; i++) {
        r = ASN1_get_object(&p, &l, &tag, &cls, end - p);
        if ((r & 0x81) != 0 || (r & V_ASN1_CONSTRUCTED) == 0 || tag != V_ASN1_SEQUENCE ||
            cls != V_ASN1_UNIVERSAL)
            return NULL;
    }
    for (int skipped = 0, first = 1; skipped < 4; first = 0) {
        q = p;
        r = ASN1_get_object(&q, &l, &tag, &cls, end - p);
        if ((r & 0x81) != 0 || l > end - q)
            return NULL;
        if (!(first && cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0))
            skipped++; /* the optional [0] version is not one of the four */
        p = q + l;
    }
    return d2i_X509_NAME(NULL, &p, end - p);
}

static void bundle_free(struct td_trust *t)
{
    for (size_t i = 0; i < t->nb; i++) {
        OPENSSL_free(t->b[i].der);
        X509_NAME_free(t->b[i].subject);
    }
    free(t->b);
    t->b = NULL;
    t->nb = 0;
}

/* bundle_index reads |file|'s PEM blocks.  False when it holds anything
 * but plain "CERTIFICATE" blocks (CRLs, trusted certificates with their
 * auxiliary trust, encrypted blocks) or cannot be read through: the caller
 * then loads it the eager way, exactly as OpenSSL would. */
static bool bundle_index(struct td_trust *t, const char *file)
{
    BIO *in = BIO_new_file(file, "r");
    size_t cap = 0;
    bool ok = true;

    if (in == NULL)
        return true; /* no bundle: an empty store, as for OpenSSL */
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        X509_NAME *subject = NULL;

        if (PEM_read_bio(in, &name, &header, &data, &len) != 1) {
            unsigned long e = ERR_peek_last_error();
            ok = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
            break;
        }
        if (strcmp(name, PEM_STRING_X509) == 0 && header[0] == '\0')
            subject = der_subject(data, len);
        OPENSSL_free(name);
        OPENSSL_free(header);
        if (subject != NULL && t->nb == cap) {
            size_t ncap = cap != 0 ? cap * 2 : 256;
            struct bundle_ent *nb = td_realloc(t->b, ncap * sizeof(*nb));
            if (nb == NULL) {
                X509_NAME_free(subject);
                subject = NULL;
            } else {
                t->b = nb;
                cap = ncap;
            }
        }
        if (subject == NULL) {
            OPENSSL_free(data);
            ok = false;
            break;
        }
        t->b[t->nb].der = data;
        t->b[t->nb].len = len;
        t->b[t->nb].subject = subject;
        t->b[t->nb].added = false;
        t->nb++;
    }
    BIO_free(in);
    if (!ok)
        bundle_free(t);
    return ok;
}

static int bundle_by_subject(X509_LOOKUP *lk, X509_LOOKUP_TYPE type, const X509_NAME *name,
                             X509_OBJECT *ret)
{
    struct td_trust *t = X509_LOOKUP_get_method_data(lk);
    X509_STORE *store = X509_LOOKUP_get_store(lk);
    X509_OBJECT *o;
    X509 *x = NULL;
    bool matched = false;
    int ok;

    if (t == NULL || store == NULL || type != X509_LU_X509 || name == NULL || ret == NULL)
        return 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->nb; i++) {
        struct bundle_ent *b = &t->b[i];
        const unsigned char *p = b->der;
        X509 *c;

        if (X509_NAME_cmp(b->subject, name) != 0)
            continue;
        matched = true;
        if (b->added)
            continue; /* by another thread's lookup: it is in the store */
        b->added = true;
        c = d2i_X509(NULL, &p, b->len);
        if (c != NULL)
            (void)X509_STORE_add_cert(store, c);
        X509_free(c);
    }
    pthread_mutex_unlock(&t->mu);
    if (!matched)
        return 0;
    /* answer with the store's own first match, as its cache would */
    if (X509_STORE_lock(store) != 1)
        return 0;
    o = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(store), X509_LU_X509, name);
    if (o != NULL)
        x = X509_OBJECT_get0_X509(o);
    if (x != NULL && X509_up_ref(x) != 1)
        x = NULL;
    X509_STORE_unlock(store);
    if (x == NULL)
        return 0;
    ok = X509_OBJECT_set1_X509(ret, x);
    X509_free(x);
    /* X509_STORE_CTX_get_by_subject takes a reference of its own on what
     * a lookup returns (OpenSSL's by_store lookup does the same) */
    if (ok == 1)
        X509_free(x);
    return ok == 1;
}

static int load_system_store(struct td_trust *t)
{
    X509_LOOKUP *lk;

    t->meth = X509_LOOKUP_meth_new("tlsdiag CA bundle by subject");
    if (t->meth == NULL || X509_LOOKUP_meth_set_get_by_subject(t->meth, bundle_by_subject) != 1)
        return 0;
    lk = X509_STORE_add_lookup(t->store, t->meth);
    if (lk == NULL || X509_LOOKUP_set_method_data(lk, t) != 1)
        return 0;
    /* the bundle is indexed by td_trust_ready, before the first lookup */
    t->bundle = lk;
    lk = X509_STORE_add_lookup(t->store, X509_LOOKUP_hash_dir());
    if (lk == NULL)
        return 0;
    (void)X509_LOOKUP_add_dir(lk, NULL, X509_FILETYPE_DEFAULT);
    return 1;
}

/* td_trust_ready indexes the deferred CA bundle once, whichever thread asks
 * first; the others wait for it.  Every verification calls it before it
 * touches the store. */
static void td_trust_ready(const struct td_trust *ct)
{
    struct td_trust *t = (struct td_trust *)ct;

    if (atomic_load_explicit(&t->ready, memory_order_acquire))
        return;
    pthread_mutex_lock(&t->mu);
    if (!atomic_load_explicit(&t->ready, memory_order_relaxed)) {
        /* the file OpenSSL's default file lookup reads */
        const char *file = NULL;

        /* as OpenSSL: the environment only when not set-id */
        if (getuid() == geteuid() && getgid() == getegid())
            file = getenv(X509_get_default_cert_file_env());

        if (file == NULL)
            file = X509_get_default_cert_file();
        ERR_set_mark();
        if (!bundle_index(t, file)) {
            /* a missing bundle is no error (as for OpenSSL): the store stays empty */
            (void)X509_load_cert_crl_file(t->bundle, file, X509_FILETYPE_PEM);
        }
        ERR_pop_to_mark();
        atomic_store_explicit(&t->ready, true, memory_order_release);
    }
    pthread_mutex_unlock(&t->mu);
}

void td_trust_preload(struct td_trust *t)
{
    if (t != NULL)
        td_trust_ready(t);
}

static void set_err(char *err, size_t errlen, const char *what, const char *path)
{
    char ossl[160];
    unsigned long e = ERR_peek_last_error();

    if (err == NULL || errlen == 0)
        return;
    if (e != 0)
        ERR_error_string_n(e, ossl, sizeof(ossl));
    else
        copy_str(ossl, sizeof(ossl), "no detail");
    snprintf(err, errlen, "%s%s%s: %s", what, path != NULL ? " " : "",
             path != NULL ? path : "", ossl);
}

struct td_trust *td_trust_new(const char *ca_file, char *err, size_t errlen)
{
    struct td_trust *t = NULL;
    struct stat st;
    int ok;

    ERR_set_mark();
    if (err != NULL && errlen != 0)
        err[0] = '\0';
    t = td_calloc(1, sizeof(*t));
    if (t == NULL) {
        set_err(err, errlen, "out of memory", NULL);
        goto fail;
    }
    atomic_init(&t->ready, true);
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        set_err(err, errlen, "cannot create trust store", NULL);
        goto fail;
    }
    t->mu_ok = true;
    if (pthread_mutex_init(&t->vmu, NULL) != 0) {
        set_err(err, errlen, "cannot create trust store", NULL);
        goto fail;
    }
    t->vmu_ok = true;
    t->store = X509_STORE_new();
    if (t->store == NULL) {
        set_err(err, errlen, "cannot create trust store", NULL);
        goto fail;
    }
    if (ca_file == NULL) {
        /* Missing system paths are not an error for OpenSSL either: the
         * store is then empty and every chain comes out untrusted. */
        ok = load_system_store(t);
        if (ok != 1) {
            set_err(err, errlen, "cannot load the system trust store", NULL);
            goto fail;
        }
        atomic_store(&t->ready, false);
        goto done;
    }
    if (stat(ca_file, &st) != 0) {
        if (err != NULL && errlen != 0)
            snprintf(err, errlen, "cannot read CA file %s", ca_file);
        goto fail;
    }
    /* A directory is only looked up lazily by hash, so a wrong directory
     * shows up later as "untrusted"; a file is read now and must hold at
     * least one certificate. */
    if (S_ISDIR(st.st_mode))
        ok = X509_STORE_load_path(t->store, ca_file);
    else
        ok = X509_STORE_load_file(t->store, ca_file);
    if (ok != 1) {
        set_err(err, errlen, "cannot load CA file", ca_file);
        goto fail;
    }
done:
    ERR_pop_to_mark();
    return t;
fail:
    ERR_pop_to_mark();
    td_trust_free(t);
    return NULL;
}

void td_trust_free(struct td_trust *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    X509_LOOKUP_meth_free(t->meth);
    bundle_free(t);
    if (t->mu_ok)
        pthread_mutex_destroy(&t->mu);
    if (t->vmu_ok)
        pthread_mutex_destroy(&t->vmu);
    free(t);
}

/* ---- one certificate ---- */

/* asn1_time_unix converts an ASN1_TIME to unix seconds without the C
 * library's time zone (timegm is not C11, mktime is local time). */
static bool asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    int64_t y, m, d, era, yoe, doy, doe, days;

    if (t == NULL)
        return false;
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    /* days from 1970-01-01 of a proleptic Gregorian date (civil calendar
     * algorithm: eras of 400 years, March-based years) */
    y = (int64_t)tm.tm_year + 1900;
    m = (int64_t)tm.tm_mon + 1;
    d = (int64_t)tm.tm_mday;
    if (m <= 2)
        y--;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;
    *out = days * 86400 + (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 +
           (int64_t)tm.tm_sec;
    return true;
}

/* name_cn copies the last commonName of |name|: the most specific one, which
 * is what name matching falls back to as well. */
static void name_cn(char *dst, size_t dstlen, const X509_NAME *name)
{
    int idx = -1, next;
    const X509_NAME_ENTRY *e;
    const ASN1_STRING *s;
    unsigned char *utf8 = NULL;
    int n;

    copy_bytes(dst, dstlen, "", 0);
    if (name == NULL)
        return;
    for (;;) {
        next = X509_NAME_get_index_by_NID(name, NID_commonName, idx);
        if (next < 0)
            break;
        idx = next;
    }
    if (idx < 0)
        return;
    e = X509_NAME_get_entry(name, idx);
    s = e != NULL ? X509_NAME_ENTRY_get_data(e) : NULL;
    if (s == NULL)
        return;
    n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0)
        return; /* undecodable string type: leave it empty */
    copy_bytes(dst, dstlen, utf8, (size_t)n);
    OPENSSL_free(utf8);
}

/* name_line renders |name| one-line, RFC 2253 order; UTF-8 is kept as is
 * (escaping is the renderer's job), control characters are escaped by
 * OpenSSL. */
static void name_line(char *dst, size_t dstlen, const X509_NAME *name)
{
    BIO *b = NULL;
    char *p = NULL;
    long n;

    copy_bytes(dst, dstlen, "", 0);
    if (name == NULL)
        return;
    b = BIO_new(BIO_s_mem());
    if (b == NULL)
        goto out;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
        goto out;
    n = BIO_get_mem_data(b, &p);
    if (n <= 0 || p == NULL)
        goto out;
    copy_bytes(dst, dstlen, p, (size_t)n);
out:
    BIO_free(b);
}

static void add_san(struct td_cert_info *ci, const void *p, size_t len)
{
    if (ci->num_san < TD_X509_MAX_SAN) {
        copy_bytes(ci->san[ci->num_san], sizeof(ci->san[0]), p, len);
        ci->num_san++;
    }
    if (ci->total_san < UINT16_MAX)
        ci->total_san++;
}

static void read_sans(struct td_cert_info *ci, X509 *x)
{
    GENERAL_NAMES *gens;
    int crit = 0;

    gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (gens == NULL)
        return; /* absent (crit == -1), repeated (-2) or undecodable */
    ci->has_san_ext = true;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char ip[INET6_ADDRSTRLEN];
        const unsigned char *d;
        int len;

        if (g->type == GEN_DNS) {
            d = ASN1_STRING_get0_data(g->d.dNSName);
            len = ASN1_STRING_length(g->d.dNSName);
            add_san(ci, d, len > 0 ? (size_t)len : 0);
        } else if (g->type == GEN_IPADD) {
            d = ASN1_STRING_get0_data(g->d.iPAddress);
            len = ASN1_STRING_length(g->d.iPAddress);
            /* RFC 5280 4.2.1.6: 4 octets for IPv4, 16 for IPv6; anything
             * else is kept visible rather than dropped */
            if (len == 4 && inet_ntop(AF_INET, d, ip, sizeof(ip)) != NULL)
                add_san(ci, ip, strlen(ip));
            else if (len == 16 && inet_ntop(AF_INET6, d, ip, sizeof(ip)) != NULL)
                add_san(ci, ip, strlen(ip));
            else
                add_san(ci, "(bad iPAddress)", strlen("(bad iPAddress)"));
        }
    }
    GENERAL_NAMES_free(gens);
}

static const char *key_type_name(int id)
{
    switch (id) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_RSA_PSS:
        return "RSA-PSS";
    case EVP_PKEY_EC:
        return "EC";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    case EVP_PKEY_ED448:
        return "Ed448";
    case EVP_PKEY_DSA:
        return "DSA";
    case EVP_PKEY_DH:
    case EVP_PKEY_DHX:
        return "DH";
    default:
        return NULL;
    }
}

static void read_key(struct td_cert_info *ci, const X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x); /* borrowed; NULL if undecodable */
    const char *name;
    size_t glen = 0;

    if (pk == NULL) {
        /* The key may be of a kind OpenSSL can't load (an unknown curve):
         * still say which algorithm it claims, with key_bits 0. */
        X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
        ASN1_OBJECT *alg = NULL;

        copy_str(ci->key_type, sizeof(ci->key_type), "unknown");
        if (xpk != NULL && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) == 1) {
            name = key_type_name(OBJ_obj2nid(alg));
            if (name != NULL)
                copy_str(ci->key_type, sizeof(ci->key_type), name);
        }
        return;
    }
    name = key_type_name(EVP_PKEY_get_base_id(pk));
    if (name == NULL)
        name = EVP_PKEY_get0_type_name(pk);
    copy_str(ci->key_type, sizeof(ci->key_type), name != NULL ? name : "unknown");
    ci->key_bits = EVP_PKEY_get_bits(pk);
    if (ci->key_bits < 0)
        ci->key_bits = 0;
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
        EVP_PKEY_get_group_name(pk, ci->key_group, sizeof(ci->key_group), &glen) != 1)
        ci->key_group[0] = '\0';
}

static void read_sig(struct td_cert_info *ci, X509 *x)
{
    int sig_nid = X509_get_signature_nid(x);
    int md_nid = NID_undef, pk_nid = NID_undef, secbits = 0;
    uint32_t flags = 0;

    if (sig_nid != NID_undef) {
        copy_str(ci->sig_alg, sizeof(ci->sig_alg), OBJ_nid2ln(sig_nid));
    } else {
        const ASN1_BIT_STRING *sig = NULL;
        const X509_ALGOR *alg = NULL;
        const ASN1_OBJECT *obj = NULL;

        X509_get0_signature(&sig, &alg, x);
        if (alg != NULL)
            X509_ALGOR_get0(&obj, NULL, NULL, alg);
        if (obj == NULL || OBJ_obj2txt(ci->sig_alg, (int)sizeof(ci->sig_alg), obj, 1) < 0)
            ci->sig_alg[0] = '\0';
    }
    /* X509_get_signature_info also knows RSA-PSS's digest, which lives in
     * the parameters rather than in the algorithm OID. */
    if (X509_get_signature_info(x, &md_nid, &pk_nid, &secbits, &flags) != 1 &&
        OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid) != 1)
        md_nid = NID_undef;
    if (md_nid != NID_undef)
        copy_str(ci->sig_hash, sizeof(ci->sig_hash), OBJ_nid2sn(md_nid));
    ci->sig_md5 = md_nid == NID_md5 || md_nid == NID_md4 || md_nid == NID_md2 ||
                  md_nid == NID_md5_sha1;
    ci->sig_sha1 = md_nid == NID_sha1;
}

/* issued_by: |parent|'s subject is |child|'s issuer and |parent|'s key
 * verifies |child|'s signature.  Names first: they are cheap and almost
 * always decide. */
static bool issued_by(X509 *child, const X509 *parent)
{
    EVP_PKEY *pk;

    if (X509_NAME_cmp(X509_get_issuer_name(child), X509_get_subject_name(parent)) != 0)
        return false;
    pk = X509_get0_pubkey(parent);
    return pk != NULL && X509_verify(child, pk) == 1;
}

static void read_cert(struct td_cert_info *ci, X509 *x)
{
    const X509_NAME *subj = X509_get_subject_name(x);
    const X509_NAME *iss = X509_get_issuer_name(x);
    int64_t nb = 0, na = 0;

    ci->parse_ok = true;
    name_cn(ci->subject_cn, sizeof(ci->subject_cn), subj);
    name_cn(ci->issuer_cn, sizeof(ci->issuer_cn), iss);
    name_line(ci->subject, sizeof(ci->subject), subj);
    name_line(ci->issuer, sizeof(ci->issuer), iss);
    read_sans(ci, x);
    if (asn1_time_unix(X509_get0_notBefore(x), &nb) &&
        asn1_time_unix(X509_get0_notAfter(x), &na)) {
        ci->dates_ok = true;
        ci->not_before = nb;
        ci->not_after = na;
    }
    read_key(ci, x);
    read_sig(ci, x);
    ci->self_issued = X509_NAME_cmp(subj, iss) == 0;
    ci->self_signed = ci->self_issued && issued_by(x, x);
    /* EXFLAG_CA is basicConstraints cA=TRUE only; X509_check_ca would also
     * count v1 self-signed certificates, which is a judgement. */
    ci->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
    ci->issuer_index = -1;
}

/* parse_der decodes one certificate.  Bytes left after the certificate make
 * it unparsed: OpenSSL's own TLS client rejects such an entry
 * (CERT_LENGTH_MISMATCH), so no fact should come from it. */
static X509 *parse_der(const struct td_der *d)
{
    const unsigned char *p = d->der;
    X509 *x;

    if (d->der == NULL || d->len == 0 || d->len > TD_MAX_CERT_LEN)
        return NULL;
    x = d2i_X509(NULL, &p, (long)d->len);
    if (x == NULL)
        return NULL;
    if (p != d->der + d->len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* ---- the chain ---- */

static void link_chain(struct td_chain_facts *out, X509 *const *xs)
{
    uint16_t n = out->num;

    out->order_ok = true;
    out->order_break = -1;
    for (uint16_t i = 0; i < n; i++) {
        struct td_cert_info *ci = &out->certs[i];

        if (xs[i] == NULL)
            continue;
        if (ci->self_signed) {
            ci->issuer_index = i;
            continue;
        }
        if (i + 1 < n && xs[i + 1] != NULL && issued_by(xs[i], xs[i + 1])) {
            ci->issuer_index = i + 1;
            continue;
        }
        for (uint16_t j = 0; j < n; j++) {
            if (j != i && xs[j] != NULL && issued_by(xs[i], xs[j])) {
                ci->issuer_index = j;
                break;
            }
        }
        if (ci->issuer_index >= 0 && out->order_ok) {
            out->order_ok = false;
            out->order_break = i;
        }
    }
}

static void record_error(struct td_chain_facts *out, int error, int depth)
{
    if (out->verify_error == 0) {
        out->verify_error = error;
        out->verify_depth = depth;
        copy_str(out->verify_error_str, sizeof(out->verify_error_str),
                 X509_verify_cert_error_string(error));
    }
    /* OpenSSL may report the same error at the same depth more than once
     * (once while building, once while checking): count it once */
    for (uint16_t i = 0; i < out->num_errors; i++) {
        if (out->errors[i].error == error && out->errors[i].depth == depth)
            return;
    }
    if (out->num_errors < TD_X509_MAX_VERIFY_ERRORS) {
        out->errors[out->num_errors].error = error;
        out->errors[out->num_errors].depth = depth;
        out->num_errors++;
    }
    if (out->total_errors < UINT16_MAX)
        out->total_errors++;
}

/* verify_cb records every error and returns 1 so verification goes on: an
 * endpoint stops at the first problem, a diagnoser wants all of them
 * (expired AND untrusted). */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    struct td_chain_facts *out = X509_STORE_CTX_get_app_data(ctx);
    int error;

    if (ok == 1 || out == NULL)
        return ok;
    error = X509_STORE_CTX_get_error(ctx);
    if (error != X509_V_OK)
        record_error(out, error, X509_STORE_CTX_get_error_depth(ctx));
    return 1;
}

static void summarise_errors(struct td_chain_facts *out)
{
    for (uint16_t i = 0; i < out->num_errors; i++) {
        int e = out->errors[i].error;

        switch (e) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            /* both mean: the top of what could be built is not
             * self-signed and nobody had its issuer */
            out->missing_intermediate = true;
            break;
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            out->untrusted_root = true;
            break;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            out->self_signed_leaf = true;
            break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            if (out->errors[i].depth > 0)
                out->ca_expired = true;
            break;
        default:
            break;
        }
    }
}

/* path_expired: a sent certificate on the issuing path up from the leaf is
 * outside its dates at |now|.  Needed besides the verifier's errors because
 * OpenSSL never checks the dates of a top certificate whose issuer it could
 * not find. */
static bool path_expired(const struct td_chain_facts *out, int64_t now)
{
    int i = out->certs[0].issuer_index;

    /* each step moves to a cert not seen yet, so num steps at most */
    for (uint16_t steps = 0; i > 0 && steps < out->num; steps++) {
        const struct td_cert_info *ci = &out->certs[i];

        if (ci->dates_ok && (now > ci->not_after || now < ci->not_before))
            return true;
        if (ci->issuer_index == i)
            break;
        i = ci->issuer_index;
    }
    return false;
}

/* time_bounds narrows [*lo, *hi) to the times at which every date
 * comparison against [nb, na] (inclusive, as OpenSSL and path_expired see
 * it) comes out as it does at |now|. */
static void time_bounds(int64_t now, int64_t nb, int64_t na, int64_t *lo, int64_t *hi)
{
    const int64_t b[4] = {nb, nb + 1, na, na + 1};
    for (int i = 0; i < 4; i++) {
        if (b[i] <= now) {
            if (b[i] > *lo)
                *lo = b[i];
        } else if (b[i] < *hi) {
            *hi = b[i];
        }
    }
}

static void verify_chain(struct td_chain_facts *out, X509 *const *xs,
                         const struct td_trust *trust, int64_t now, int64_t *lo, int64_t *hi)
{
    STACK_OF(X509) *untrusted = NULL;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *built;
    X509 *top;
    int rc;
    pthread_mutex_t *vmu = NULL;

    untrusted = sk_X509_new_null();
    ctx = X509_STORE_CTX_new();
    if (untrusted == NULL || ctx == NULL)
        goto out;
    /* The stack borrows: the X509s stay owned by td_chain_analyze. */
    for (uint16_t i = 1; i < out->num; i++) {
        if (xs[i] != NULL && sk_X509_push(untrusted, xs[i]) <= 0)
            goto out;
    }
    td_trust_ready(trust);
    if (trust->vmu_ok) {
        vmu = &((struct td_trust *)trust)->vmu;
        pthread_mutex_lock(vmu);
    }
    if (X509_STORE_CTX_init(ctx, trust->store, xs[0], untrusted) != 1)
        goto out;
    /* What a TLS client checks: the ssl_server purpose and trust settings
     * (libssl does the same), at the capture's time rather than today. */
    if (X509_STORE_CTX_set_default(ctx, "ssl_server") != 1)
        goto out;
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    if (X509_STORE_CTX_set_app_data(ctx, out) != 1)
        goto out;

    out->verify_ran = true;
    out->verify_depth = -1;
    rc = X509_verify_cert(ctx);
    if (rc != 1 && out->num_errors == 0) {
        /* failed without telling the callback (out of memory, bad use) */
        int e = X509_STORE_CTX_get_error(ctx);

        record_error(out, e != X509_V_OK ? e : X509_V_ERR_UNSPECIFIED,
                     X509_STORE_CTX_get_error_depth(ctx));
    }
    out->verified = rc == 1 && out->total_errors == 0;

    built = X509_STORE_CTX_get0_chain(ctx);
    out->built_len = built != NULL ? sk_X509_num(built) : 0;
    /* the verifier compared |now| with the dates of every certificate it
     * built the chain from, the store's included */
    for (int i = 0; i < out->built_len; i++) {
        int64_t nb, na;
        X509 *b = sk_X509_value(built, i);
        if (b != NULL && asn1_time_unix(X509_get0_notBefore(b), &nb) &&
            asn1_time_unix(X509_get0_notAfter(b), &na))
            time_bounds(now, nb, na, lo, hi);
        else
            *lo = *hi = now; /* unknown: do not reuse at another time */
    }
    if (out->built_len > 0) {
        top = sk_X509_value(built, out->built_len - 1);
        if (top != NULL && !issued_by(top, top))
            name_line(out->missing_issuer, sizeof(out->missing_issuer),
                      X509_get_issuer_name(top));
    }
    summarise_errors(out);
out:
    X509_STORE_CTX_free(ctx);
    if (vmu != NULL)
        pthread_mutex_unlock(vmu);
    sk_X509_free(untrusted);
}

static void check_name(struct td_chain_facts *out, X509 *leaf, const char *host)
{
    char ipbuf[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    char *peer = NULL;
    size_t len = strlen(host);

    out->name_checked = true;
    /* "example.com." names the same host; X509_check_host would not match
     * it against "example.com" */
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0)
        return;
    if (len < sizeof(ipbuf)) {
        memcpy(ipbuf, host, len);
        ipbuf[len] = '\0';
        if (inet_pton(AF_INET, ipbuf, addr) == 1 || inet_pton(AF_INET6, ipbuf, addr) == 1) {
            out->name_is_ip = true;
            out->name_ok = X509_check_ip_asc(leaf, ipbuf, 0) == 1;
            if (out->name_ok)
                copy_str(out->name_matched, sizeof(out->name_matched), ipbuf);
            return;
        }
    }
    /* OpenSSL's default already keeps a wildcard to one whole label and
     * never matches "*.example.com" against "example.com"; partial-label
     * wildcards ("f*.example.com") are off too, as RFC 6125 6.4.3 allows. */
    if (X509_check_host(leaf, host, len, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, &peer) == 1) {
        out->name_ok = true;
        copy_str(out->name_matched, sizeof(out->name_matched), peer);
    }
    OPENSSL_free(peer);
}

static void chain_analyze(struct td_chain_facts *out, const struct td_certificate *chain,
                          const struct td_trust *trust, int64_t now, const char *host, int64_t *lo,
                          int64_t *hi)
{
    X509 *xs[TD_MAX_CERTS] = {0};

    memset(out, 0, sizeof(*out));
    out->verify_depth = -1;
    out->order_break = -1;
    out->order_ok = true;
    if (chain == NULL)
        return;
    ERR_set_mark();
    out->num = chain->num_certs < TD_MAX_CERTS ? chain->num_certs : TD_MAX_CERTS;
    out->total = chain->total_certs > out->num ? chain->total_certs : out->num;

    for (uint16_t i = 0; i < out->num; i++) {
        const struct td_der *d = &chain->certs[i];

        out->certs[i].issuer_index = -1;
        if (d->der == NULL && d->wire_len > 0) {
            out->certs[i].too_big = true;
            continue;
        }
        xs[i] = parse_der(d);
        if (xs[i] != NULL) {
            read_cert(&out->certs[i], xs[i]);
            if (out->certs[i].dates_ok)
                time_bounds(now, out->certs[i].not_before, out->certs[i].not_after, lo, hi);
        }
    }
    link_chain(out, xs);

    if (xs[0] != NULL) {
        const struct td_cert_info *leaf = &out->certs[0];

        if (leaf->dates_ok) {
            out->expired = now > leaf->not_after;
            out->not_yet_valid = now < leaf->not_before;
        }
        out->ca_expired = path_expired(out, now);
        if (trust != NULL)
            verify_chain(out, xs, trust, now, lo, hi);
        if (host != NULL)
            check_name(out, xs[0], host);
    }

    for (uint16_t i = 0; i < out->num; i++)
        X509_free(xs[i]);
    ERR_pop_to_mark();
}

void td_chain_analyze(struct td_chain_facts *out, const struct td_certificate *chain,
                      const struct td_trust *trust, int64_t now, const char *host)
{
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    chain_analyze(out, chain, trust, now, host, &lo, &hi);
}

/* ---- the chain cache ----
 *
 * A capture repeats the same few chains over and over; verification is the
 * dearest thing tlsdiag does per connection (the system store is searched
 * for every issuer).  An entry keeps the facts of one exact input: the DER
 * bytes of every sent certificate, the counts, the host, the trust store,
 * and the range of times [lo, hi) in which every date comparison made comes
 * out the same.  A hit is therefore byte-for-byte what td_chain_analyze
 * would compute.
 *
 * The cache is 4-way set associative with least-recently-used replacement.
 * It was direct mapped, with the trust store's address in the hash: each
 * run (ASLR) placed the bench capture's 6 chains differently, and when two
 * shared a slot every connection missed -- `read -q` on 2 M connections
 * took 6 s or 22 s depending on the run.  The hash now reads only the input
 * (the store is still compared), so a capture costs the same every run. */
#define CC_SLOTS 64u
#define CC_WAYS 4u

struct cc_entry {
    bool used;
    uint64_t h;
    uint64_t tick;              /* last use, for LRU within the set */
    const struct td_trust *trust;
    uint16_t num, total;
    char *host;                 /* NULL: no host */
    uint8_t *key;               /* per cert: u32 len, u32 wire_len, u8 present, bytes */
    size_t key_len;
    int64_t lo, hi;
    struct td_chain_facts facts;
};

struct td_chain_cache {
    struct td_chain_facts scratch; /* a result that could not be kept */
    struct cc_entry e[CC_SLOTS];
    uint64_t hits, misses, tick;
};

struct td_chain_cache *td_chain_cache_new(void) { return td_calloc(1, sizeof(struct td_chain_cache)); }

void td_chain_cache_free(struct td_chain_cache *cc)
{
    if (cc == NULL)
        return;
    for (size_t i = 0; i < CC_SLOTS; i++) {
        free(cc->e[i].host);
        free(cc->e[i].key);
    }
    free(cc);
}

void td_chain_cache_counts(const struct td_chain_cache *cc, uint64_t *hits, uint64_t *misses)
{
    *hits = cc->hits;
    *misses = cc->misses;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* the hash reads the ends of every certificate (serials and signatures
 * differ there); equality is then checked on every byte */
static uint64_t cc_hash(const struct td_certificate *chain, const char *host)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    uint16_t n = chain->num_certs < TD_MAX_CERTS ? chain->num_certs : TD_MAX_CERTS;

    h = fnv(h, &chain->num_certs, sizeof(chain->num_certs));
    h = fnv(h, &chain->total_certs, sizeof(chain->total_certs));
    if (host != NULL)
        h = fnv(h, host, strlen(host) + 1);
    for (uint16_t i = 0; i < n; i++) {
        const struct td_der *d = &chain->certs[i];
        size_t k = d->len < 48 ? d->len : 48;
        h = fnv(h, &d->len, sizeof(d->len));
        h = fnv(h, &d->wire_len, sizeof(d->wire_len));
        if (d->der != NULL && k > 0) {
            h = fnv(h, d->der, k);
            h = fnv(h, d->der + d->len - k, k);
        }
    }
    return h;
}

static size_t cc_key_len(const struct td_certificate *chain, uint16_t n)
{
    size_t len = 0;
    for (uint16_t i = 0; i < n; i++)
        len += 9 + (chain->certs[i].der != NULL ? chain->certs[i].len : 0);
    return len;
}

static void cc_key_write(uint8_t *k, const struct td_certificate *chain, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        const struct td_der *d = &chain->certs[i];
        uint8_t present = d->der != NULL;
        memcpy(k, &d->len, 4);
        memcpy(k + 4, &d->wire_len, 4);
        k[8] = present;
        k += 9;
        if (present && d->len > 0) {
            memcpy(k, d->der, d->len);
            k += d->len;
        }
    }
}

static bool cc_key_eq(const uint8_t *k, const struct td_certificate *chain, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        const struct td_der *d = &chain->certs[i];
        uint8_t present = d->der != NULL;
        if (memcmp(k, &d->len, 4) != 0 || memcmp(k + 4, &d->wire_len, 4) != 0 || k[8] != present)
            return false;
        k += 9;
        if (present && d->len > 0) {
            if (memcmp(k, d->der, d->len) != 0)
                return false;
            k += d->len;
        }
    }
    return true;
}

const struct td_chain_facts *td_chain_cache_analyze(struct td_chain_cache *cc,
                                                    const struct td_certificate *chain,
                                                    const struct td_trust *trust, int64_t now,
                                                    const char *host)
{
    struct td_chain_facts *out = &cc->scratch;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    uint16_t n;
    uint64_t h;
    struct cc_entry *e, *set;
    size_t klen;

    if (chain == NULL) {
        td_chain_analyze(out, chain, trust, now, host);
        return out;
    }
    n = chain->num_certs < TD_MAX_CERTS ? chain->num_certs : TD_MAX_CERTS;
    h = cc_hash(chain, host);
    set = &cc->e[(h % (CC_SLOTS / CC_WAYS)) * CC_WAYS];
    klen = cc_key_len(chain, n);
    e = NULL;
    for (size_t w = 0; w < CC_WAYS; w++) {
        struct cc_entry *x = &set[w];
        if (x->used && x->h == h && x->trust == trust && x->num == chain->num_certs &&
            x->total == chain->total_certs && now >= x->lo && now < x->hi && x->key_len == klen &&
            ((host == NULL && x->host == NULL) || (host != NULL && x->host != NULL && strcmp(host, x->host) == 0)) &&
            cc_key_eq(x->key, chain, n)) {
            cc->hits++;
            x->tick = ++cc->tick;
            return &x->facts;
        }
        /* the victim if this misses: an unused way, else the least recent */
        if (e == NULL || (e->used && (!x->used || x->tick < e->tick)))
            e = x;
    }
    cc->misses++;
    chain_analyze(out, chain, trust, now, host, &lo, &hi);
    if (lo >= hi)
        return out;
    free(e->key);
    free(e->host);
    e->used = false;
    e->key = td_malloc(klen > 0 ? klen : 1);
    e->host = NULL;
    if (host != NULL) {
        size_t hl = strlen(host) + 1;
        e->host = td_malloc(hl);
        if (e->host != NULL)
            memcpy(e->host, host, hl);
    }
    if (e->key == NULL || (host != NULL && e->host == NULL)) {
        free(e->key);
        free(e->host);
        e->key = NULL;
        e->host = NULL;
        return out;
    }
    cc_key_write(e->key, chain, n);
    e->key_len = klen;
    e->h = h;
    e->trust = trust;
    e->num = chain->num_certs;
    e->total = chain->total_certs;
    e->lo = lo;
    e->hi = hi;
    memcpy(&e->facts, out, sizeof(*out));
    e->used = true;
    e->tick = ++cc->tick;
    return &e->facts;
}
