/* decrypt.h: TLS key logs and record decryption (lib/tls/keylog.c,
 * lib/tls/decrypt.c).
 *
 * Key log: the NSS key log format written by OpenSSL (-keylogfile,
 * SSL_CTX_set_keylog_callback), curl/NSS/GnuTLS/Go/Java agents
 * (SSLKEYLOGFILE) and embedded in pcapng Decryption Secrets Blocks:
 *   <LABEL> <client_random hex, 64> <secret hex>
 * Labels: CLIENT_RANDOM (TLS <= 1.2 master secret, 48 bytes),
 * CLIENT_EARLY_TRAFFIC_SECRET, CLIENT_HANDSHAKE_TRAFFIC_SECRET,
 * SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0,
 * SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET (TLS 1.3, hash length).
 * Comments (#) and blank lines are skipped; other lines (RSA, unknown
 * labels, bad hex) are counted as ignored, never fatal.
 *
 * Record decryption: one direction's read state (struct td_rec_cipher).
 * Keys come from the key log only; all cryptography is OpenSSL 3's
 * (EVP_KDF "HKDF" and "TLS1-PRF", EVP_CIPHER AEADs and CBC, EVP_MAC HMAC).
 * Nothing here judges: a record that does not authenticate is reported as
 * TD_UNP_BAD_RECORD and the caller records an anomaly. */
#ifndef TLSDIAG_DECRYPT_H
#define TLSDIAG_DECRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/diag.h"

/* ---- key log ---- */

enum td_secret_label {
    TD_SEC_MASTER = 0,        /* CLIENT_RANDOM: TLS <= 1.2 master secret */
    TD_SEC_CLIENT_EARLY,      /* CLIENT_EARLY_TRAFFIC_SECRET */
    TD_SEC_CLIENT_HS,         /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
    TD_SEC_SERVER_HS,         /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
    TD_SEC_CLIENT_AP,         /* CLIENT_TRAFFIC_SECRET_0 */
    TD_SEC_SERVER_AP,         /* SERVER_TRAFFIC_SECRET_0 */
    TD_SEC_EXPORTER,          /* EXPORTER_SECRET (kept, not used) */
    TD_SEC_NUM
};

#define TD_SECRET_MAX 48              /* SHA-384 / master secret */
#define TD_KEYLOG_LINE_MAX 512        /* longer lines are ignored */
#define TD_KEYLOG_MAX_ENTRIES 200000u /* client randoms kept; more are dropped and counted */
#define TD_KEYLOG_FILE_MAX (256u * 1024u * 1024u) /* bytes read from one key log file */

struct td_keylog_stats {
    uint64_t lines;       /* non-empty, non-comment lines seen */
    uint64_t secrets;     /* secrets stored (a repeated line counts once) */
    uint64_t ignored;     /* unknown label, bad hex, wrong length, too long */
    uint64_t unused;      /* known labels we do not need (RSA, *_TRAFFIC_SECRET_N) */
    uint64_t dropped;     /* over TD_KEYLOG_MAX_ENTRIES */
    uint32_t entries;     /* distinct client randoms */
};

struct td_keylog;
struct td_keylog *td_keylog_new(void);
void td_keylog_free(struct td_keylog *kl);
/* td_keylog_add_text parses |len| bytes of key log text (several lines; a
 * last line without newline counts).  Used for files and for pcapng
 * Decryption Secrets Blocks.  Never fails: bad lines are counted. */
void td_keylog_add_text(struct td_keylog *kl, const uint8_t *p, size_t len);
/* td_keylog_load_file reads |path| (at most TD_KEYLOG_FILE_MAX bytes).
 * Returns 0, or -1 with a message in |err| when it cannot be read. */
int td_keylog_load_file(struct td_keylog *kl, const char *path, char *err, size_t err_len);
void td_keylog_stats(const struct td_keylog *kl, struct td_keylog_stats *st);
/* td_keylog_find copies the secret |label| of the connection whose
 * ClientHello.random is |client_random| into |out| (TD_SECRET_MAX bytes)
 * and returns its length, or 0 when the log has none. */
size_t td_keylog_find(const struct td_keylog *kl, const uint8_t client_random[32], enum td_secret_label label,
                      uint8_t out[TD_SECRET_MAX]);
/* td_keylog_has_any: at least one secret of this client random is known. */
bool td_keylog_has_any(const struct td_keylog *kl, const uint8_t client_random[32]);

/* ---- record protection ---- */

enum td_cipher_mode {
    TD_CM_NONE = 0,
    TD_CM_AEAD13,       /* TLS 1.3: nonce = iv ^ seq, AAD = record header */
    TD_CM_AEAD12_EXPL,  /* TLS 1.2 GCM/CCM: 4-byte salt + 8-byte explicit nonce */
    TD_CM_AEAD12_XOR,   /* TLS 1.2 ChaCha20-Poly1305 (RFC 7905): iv ^ seq */
    TD_CM_CBC,          /* TLS <= 1.2 block cipher + HMAC */
    TD_CM_NULL,         /* TLS <= 1.2 NULL cipher: HMAC only (RFC 5246 6.2.3.1) */
    TD_CM_PLAIN         /* no protection at all: the records already hold the
                         * plaintext, content type in the header (tlsdiag
                         * decode of a dump that printed decrypted messages) */
};

/* A suite's record protection, from its IANA name (see td_suite_lookup). */
struct td_suite {
    uint16_t id;
    enum td_cipher_mode mode12;  /* mode when used in TLS <= 1.2 */
    const char *cipher;          /* OpenSSL cipher name: "AES-128-GCM" ... */
    uint8_t key_len, iv_len;     /* fixed IV / salt length (TLS 1.2 AEAD 4 or 12; CBC block) */
    uint8_t tag_len;             /* AEAD tag: 16, or 8 for CCM_8 */
    uint8_t block;               /* CBC block size */
    const char *mac;             /* CBC HMAC digest: "SHA1", "SHA256", "SHA384" */
    uint8_t mac_len;
    const char *prf;             /* TLS 1.2 PRF / TLS 1.3 HKDF digest */
    bool tls13;                  /* a TLS 1.3 suite (0x13xx) */
};

/* td_suite_lookup fills |s| for a suite we can decrypt and returns true:
 * the five TLS 1.3 suites; TLS <= 1.2 suites with AES/Camellia GCM, CCM,
 * CCM_8, CBC, ChaCha20-Poly1305 and 3DES-CBC, HMAC-SHA1/256/384, and the
 * NULL-cipher suites (integrity only). */
bool td_suite_lookup(uint16_t cipher, struct td_suite *s);

/* One direction's read state.  Zeroed = inactive.  No heap. */
struct td_rec_cipher {
    bool active;
    enum td_cipher_mode mode;
    struct td_suite suite;
    uint16_t version;             /* negotiated version */
    bool etm;                     /* encrypt_then_mac (RFC 7366) negotiated */
    uint8_t key[32];
    uint8_t iv[16];               /* TLS 1.3 / 1.2 AEAD fixed iv; TLS 1.0 CBC chained iv */
    uint8_t mac_key[48];
    uint64_t seq;
    uint8_t secret[TD_SECRET_MAX]; /* TLS 1.3 current traffic secret (KeyUpdate) */
    uint8_t secret_len;
    uint32_t key_updates;
};

/* td_hkdf_expand_label: RFC 8446 7.1 HKDF-Expand-Label(Secret, Label,
 * Context, Length) with "tls13 " prefixed to |label|, through EVP_KDF
 * "HKDF" in expand-only mode.  |md| is "SHA256" or "SHA384".  Returns
 * TD_OK, or TD_ELIMIT when label/context/out are too long for the
 * HkdfLabel struct (label <= 249, context <= 255, out <= 255),
 * TD_ENOMEM on an OpenSSL failure. */
enum td_status td_hkdf_expand_label(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
                                    const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);
/* td_tls_prf: RFC 5246 5 PRF (P_<md>, or MD5/SHA-1 for TLS 1.0/1.1 when
 * |md| is "MD5-SHA1") through EVP_KDF "TLS1-PRF". */
enum td_status td_tls_prf(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
                          const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len);

/* td_rec_cipher_init13 sets |rc| to read records protected with the TLS 1.3
 * traffic secret |secret| (key and iv by HKDF-Expand-Label) under suite
 * |cipher|; seq restarts at 0.  TD_EMALFORMED when the secret's length is
 * not the suite's hash length (a key log line for another suite). */
enum td_status td_rec_cipher_init13(struct td_rec_cipher *rc, uint16_t cipher, const uint8_t *secret,
                                    size_t secret_len);
/* td_rec_cipher_init_plain sets |rc| to TD_CM_PLAIN: "decrypting" a record
 * hands up its body unchanged with the header's content type. */
void td_rec_cipher_init_plain(struct td_rec_cipher *rc);
/* td_rec_cipher_key_update: RFC 8446 7.2 application_traffic_secret_N+1. */
enum td_status td_rec_cipher_key_update(struct td_rec_cipher *rc);
/* td_rec_cipher_init12 derives the key block from the master secret and
 * both randoms (RFC 5246 6.3) and sets up the read state of the client
 * (|client| true) or the server direction. */
enum td_status td_rec_cipher_init12(struct td_rec_cipher *rc, uint16_t version, uint16_t cipher, bool etm,
                                    const uint8_t master[48], const uint8_t client_random[32],
                                    const uint8_t server_random[32], bool client);

enum td_unprotect {
    TD_UNP_OK,          /* |out| holds the plaintext, |inner_type| its content type */
    TD_UNP_BAD_RECORD,  /* authentication failed (wrong key, corrupt, or not for this key) */
    TD_UNP_MALFORMED,   /* too short for the protection, or bad padding/inner type */
    TD_UNP_ERROR        /* our failure (OpenSSL, size) */
};

/* td_rec_unprotect decrypts one record body (|type|, |version| and |len| as
 * in its 5-byte header) into |out| (at least |len| bytes) and advances the
 * sequence number on success.  The plaintext is at most 2^14 + 256 bytes
 * of |out|.  On failure the state is unchanged. */
enum td_unprotect td_rec_unprotect(struct td_rec_cipher *rc, uint8_t type, uint16_t version, const uint8_t *in,
                                   size_t len, uint8_t *out, size_t *out_len, uint8_t *inner_type);

#endif
