/* x509.h: certificate facts (lib/tls/x509.c).
 *
 * This is the fact layer between the Certificate parser and the certificate
 * rules.  From the DER copies in a struct td_certificate it produces plain,
 * bounded, self-contained facts: names, SANs, validity as unix seconds, key
 * type and size, signature algorithm, how the chain links up, what OpenSSL's
 * verifier says against a trust store at a given time, and whether the leaf
 * covers a host name.  It never judges: "1024-bit RSA" is a fact here, "weak
 * key" is a diagnosis in lib/rules.  Nothing in the structs points into the
 * DER or into OpenSSL objects, so the facts outlive both.
 *
 * Peer strings (names, SANs) are copied raw, NUL-terminated and truncated to
 * the field size; they may hold any byte and are escaped when rendered.
 *
 * Time never comes from the clock: the caller passes |now| (the capture's own
 * time, or --now), so golden runs are deterministic. */
#ifndef TLSDIAG_X509_H
#define TLSDIAG_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/tls.h"

/* Caps (docs/limits.md).  Lists keep num (stored) and total (seen). */
#define TD_X509_MAX_SAN 16        /* dNSName/iPAddress entries kept per cert */
#define TD_X509_SAN_LEN 128       /* bytes kept of one SAN, NUL included */
#define TD_X509_CN_LEN 128        /* bytes kept of a commonName, NUL included */
#define TD_X509_NAME_LEN 256      /* bytes kept of a one-line DN, NUL included */
#define TD_X509_MAX_VERIFY_ERRORS 16 /* distinct {error, depth} pairs kept */

/* One certificate's facts.  When parse_ok is false only too_big may be set
 * and everything else is zero: the DER could not be read at all. */
struct td_cert_info {
    bool parse_ok;        /* DER decoded, with no bytes left over */
    bool too_big;         /* not kept by the parser (over TD_MAX_CERT_LEN):
                             our limit, never a finding against the peer */
    char subject_cn[TD_X509_CN_LEN]; /* last commonName in the DN, "" if none */
    char issuer_cn[TD_X509_CN_LEN];
    char subject[TD_X509_NAME_LEN];  /* RFC 2253 one-line form (most specific
                                        RDN first), truncated */
    char issuer[TD_X509_NAME_LEN];
    /* subjectAltName dNSName entries as written, and iPAddress entries as
     * text (inet_ntop form).  Other GeneralName kinds are not counted. */
    uint16_t num_san, total_san;
    char san[TD_X509_MAX_SAN][TD_X509_SAN_LEN];
    bool has_san_ext;     /* a subjectAltName extension was present and decoded */
    bool dates_ok;        /* both dates decoded; not_before/not_after valid */
    int64_t not_before, not_after; /* unix seconds, UTC; both inclusive */
    char key_type[16];    /* "RSA", "RSA-PSS", "EC", "Ed25519", "Ed448",
                             "DSA", ... or "unknown" when the key can't be
                             decoded */
    int key_bits;         /* EVP_PKEY_get_bits: RSA/DSA modulus, EC field
                             size; 0 when unknown (not "small") */
    char key_group[32];   /* EC curve ("prime256v1"), "" otherwise */
    char sig_alg[48];     /* signature algorithm long name,
                             "sha256WithRSAEncryption"; dotted OID if unknown */
    char sig_hash[16];    /* digest of the signature ("SHA256"), "" if none or
                             unknown (Ed25519 has none) */
    bool sig_md5;         /* signed with MD5 or older (MD2, MD4) */
    bool sig_sha1;        /* signed with SHA-1 */
    bool self_issued;     /* subject DN == issuer DN */
    bool self_signed;     /* self_issued and its signature verifies with its
                             own public key */
    bool is_ca;           /* basicConstraints cA=TRUE */
    /* Index in the chain of the certificate that issued this one (issuer DN
     * equals its subject DN and the signature verifies with its key): this
     * one's own index when self-signed, -1 when no certificate sent issues
     * it.  The next one (i + 1) is preferred when several could. */
    int issuer_index;
};

/* One error OpenSSL's verifier reported, at a depth in the chain it built
 * (0 = leaf). */
struct td_verify_error {
    int error;            /* X509_V_ERR_* */
    int depth;
};

/* Facts for one Certificate message.  Large (about 48 KiB): allocate it on
 * the heap or inside a bigger struct rather than on a small stack. */
struct td_chain_facts {
    uint16_t num, total;  /* certs analysed (<= TD_MAX_CERTS) and sent */
    struct td_cert_info certs[TD_MAX_CERTS]; /* TLS order: [0] is the leaf */

    /* Order: true unless some certificate's issuer was sent but not right
     * after it (RFC 5246 7.4.2 wants each one certified by the next).  A
     * missing issuer does not make the order wrong: that is
     * missing_intermediate; extra unrelated certificates don't either. */
    bool order_ok;
    int order_break;      /* first i whose issuer is sent but not at i + 1;
                             -1 when order_ok */

    /* Verification (X509_verify_cert) of certs[0] with the other sent certs
     * as untrusted intermediates, against |trust| at time |now|, for the TLS
     * server purpose.  A callback records every error and lets verification
     * go on, so one failure does not hide the next (expired AND untrusted). */
    bool verify_ran;      /* false: no trust store given, or the leaf did not
                             parse; then the verify facts below are zero
                             (verify_depth -1) */
    bool verified;        /* verification finished with no error at all */
    int verify_error;     /* first X509_V_ERR_* reported, 0 if none */
    int verify_depth;     /* depth of the first error, -1 if none */
    char verify_error_str[96]; /* X509_verify_cert_error_string(verify_error) */
    uint16_t num_errors, total_errors;
    struct td_verify_error errors[TD_X509_MAX_VERIFY_ERRORS]; /* in order
                             reported, each distinct {error, depth} once */
    int built_len;        /* length of the chain the verifier built */
    /* Issuer DN of the last certificate of the built chain when that one is
     * not self-signed (the issuer nobody provided), else "". */
    char missing_issuer[TD_X509_NAME_LEN];

    /* Summary of the error list, for the rules.  The ambiguity worth
     * knowing: when the top sent certificate is not self-signed and its
     * issuer is in neither the chain nor the store, the server may have left
     * out an intermediate OR the store lacks the root; the capture can't tell
     * which.  That case is reported as missing_intermediate, with the name in
     * missing_issuer. */
    bool missing_intermediate; /* UNABLE_TO_GET_ISSUER_CERT_LOCALLY or
                                  UNABLE_TO_VERIFY_LEAF_SIGNATURE, top not
                                  self-signed */
    bool untrusted_root;  /* SELF_SIGNED_CERT_IN_CHAIN: a self-signed root was
                             sent and is not in the store */
    bool self_signed_leaf; /* DEPTH_ZERO_SELF_SIGNED_CERT: the leaf is
                              self-issued and not in the store (OpenSSL
                              goes by names here and does not check the
                              signature: certs[0].self_signed does) */
    bool ca_expired;      /* a CA certificate is outside its dates at |now|:
                             CERT_HAS_EXPIRED / CERT_NOT_YET_VALID at depth
                             > 0, or a sent certificate on the issuing path
                             from the leaf (OpenSSL skips the dates of a top
                             certificate whose issuer it lacks).  Set even
                             without a trust store. */

    /* Leaf validity at |now|, from its own dates, with or without a store.
     * Both dates count as inside (RFC 5280 4.1.2.5); OpenSSL's verifier
     * already reports CERT_HAS_EXPIRED at the not_after second itself. */
    bool expired;         /* now > not_after */
    bool not_yet_valid;   /* now < not_before */

    /* Name check of the leaf against |host|: RFC 6125 via X509_check_host
     * (subjectAltName dNSName; commonName only when there is no dNSName),
     * no partial wildcards ("f*.example"), a wildcard covers exactly one
     * label.  An IP literal host is checked against iPAddress entries with
     * X509_check_ip_asc.  One trailing dot of |host| is ignored. */
    bool name_checked;    /* a host was given and the leaf parsed */
    bool name_is_ip;
    bool name_ok;
    char name_matched[TD_X509_SAN_LEN]; /* the certificate name that matched */
};

/* A loaded trust store; one may be shared by threads (the system store's
 * CA bundle is read at the first verification, under a lock). */
struct td_trust;

/* td_trust_new loads |ca_file| (a PEM file, or a directory hashed for
 * OpenSSL), or OpenSSL's default system paths when it is NULL.  Returns NULL
 * on failure with a message in |err| (truncated to |errlen|).  A system
 * store that turns out to be empty is not an error (every chain will then
 * be untrusted).  Release with td_trust_free; td_trust_free(NULL) is a no-op. */
struct td_trust *td_trust_new(const char *ca_file, char *err, size_t errlen);
void td_trust_free(struct td_trust *t);
/* td_trust_preload reads now what the system store would read when the
 * first chain is verified (its CA bundle): for a caller about to lose the
 * right to read it (live capture dropping privileges).  NULL is a no-op. */
void td_trust_preload(struct td_trust *t);

/* td_chain_analyze fills |out| with the facts of |chain| (TLS order, leaf
 * first).  |trust| may be NULL (no verification: verify_ran is false).
 * |now| is the time validity is judged at, in unix seconds.  |host| may be
 * NULL (no name check); it is a C string, so an SNI holding a NUL byte must
 * not be passed (it would be cut short and could match a shorter name).
 * Never fails: malformed DER gives parse_ok = false for that certificate; if
 * OpenSSL runs out of memory the affected facts are left zero.  Certificates past TD_MAX_CERTS were never kept; |total| counts
 * them.  Leaves OpenSSL's error queue as it found it. */
void td_chain_analyze(struct td_chain_facts *out, const struct td_certificate *chain,
                      const struct td_trust *trust, int64_t now, const char *host);

/* A memo of td_chain_analyze for one thread: td_chain_cache_analyze
 * returns exactly what td_chain_analyze would fill in (a hit needs the same
 * DER bytes, counts, host and store, and a |now| inside the range where
 * every date comparison gives the same answer).  The result belongs to the
 * cache and stays valid until the next call.  Bounded (a few MB).  Not
 * thread-safe: one per thread. */
struct td_chain_cache;
struct td_chain_cache *td_chain_cache_new(void);
void td_chain_cache_free(struct td_chain_cache *cc);
const struct td_chain_facts *td_chain_cache_analyze(struct td_chain_cache *cc,
                                                    const struct td_certificate *chain,
                                                    const struct td_trust *trust, int64_t now,
                                                    const char *host);
/* How many td_chain_cache_analyze calls were answered from the cache and
 * how many were computed (for tests and benchmarks). */
void td_chain_cache_counts(const struct td_chain_cache *cc, uint64_t *hits, uint64_t *misses);

#endif
