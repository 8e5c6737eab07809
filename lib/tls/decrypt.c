/* decrypt.c: TLS record decryption with logged secrets
 * (include/tlsdiag/decrypt.h).
 *
 * Everything cryptographic is OpenSSL 3's: HKDF-Expand and the TLS 1.0-1.2
 * PRF through EVP_KDF, the AEADs and CBC ciphers through EVP_CIPHER, the
 * record MAC through EVP_MAC "HMAC".  What is ours is the TLS framing
 * around them: nonces, additional data, inner content type, padding. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "tlsdiag/decrypt.h"
#include "tlsdiag/registry.h"

#define MAX_PLAIN (16384u + 256u)

/* ---- suites ---- */

static bool name_has(const char *n, const char *part) { return strstr(n, part) != NULL; }

static bool ends_with(const char *n, const char *suffix)
{
    size_t a = strlen(n), b = strlen(suffix);
    return a >= b && strcmp(n + a - b, suffix) == 0;
}

bool td_suite_lookup(uint16_t cipher, struct td_suite *s)
{
    const char *n, *w;

    memset(s, 0, sizeof(*s));
    s->id = cipher;
    /* RFC 8446 B.4 */
    switch (cipher) {
    case 0x1301:
        *s = (struct td_suite){cipher, TD_CM_NONE, "AES-128-GCM", 16, 12, 16, 0, NULL, 0, "SHA256", true};
        return true;
    case 0x1302:
        *s = (struct td_suite){cipher, TD_CM_NONE, "AES-256-GCM", 32, 12, 16, 0, NULL, 0, "SHA384", true};
        return true;
    case 0x1303:
        *s = (struct td_suite){cipher, TD_CM_NONE, "ChaCha20-Poly1305", 32, 12, 16, 0, NULL, 0, "SHA256", true};
        return true;
    case 0x1304:
        *s = (struct td_suite){cipher, TD_CM_NONE, "AES-128-CCM", 16, 12, 16, 0, NULL, 0, "SHA256", true};
        return true;
    case 0x1305:
        *s = (struct td_suite){cipher, TD_CM_NONE, "AES-128-CCM", 16, 12, 8, 0, NULL, 0, "SHA256", true};
        return true;
    default:
        break;
    }
    /* TLS <= 1.2: read the protection from the IANA name, after "_WITH_" */
    n = td_reg_name(TD_REG_CIPHER, cipher);
    if (n == NULL || (w = strstr(n, "_WITH_")) == NULL)
        return false;
    w += 6;
    s->prf = ends_with(n, "_SHA384") ? "SHA384" : "SHA256";
    if (strncmp(w, "CHACHA20_POLY1305", 17) == 0) {
        s->mode12 = TD_CM_AEAD12_XOR;
        s->cipher = "ChaCha20-Poly1305";
        s->key_len = 32;
        s->iv_len = 12;
        s->tag_len = 16;
        return true;
    }
    if (strncmp(w, "AES_128_", 8) == 0 || strncmp(w, "AES_256_", 8) == 0) {
        bool k256 = w[4] == '2';
        s->key_len = k256 ? 32 : 16;
        w += 8;
        if (strncmp(w, "GCM", 3) == 0) {
            s->mode12 = TD_CM_AEAD12_EXPL;
            s->cipher = k256 ? "AES-256-GCM" : "AES-128-GCM";
            s->iv_len = 4;
            s->tag_len = 16;
            return true;
        }
        if (strncmp(w, "CCM", 3) == 0) {
            s->mode12 = TD_CM_AEAD12_EXPL;
            s->cipher = k256 ? "AES-256-CCM" : "AES-128-CCM";
            s->iv_len = 4;
            s->tag_len = name_has(w, "CCM_8") ? 8 : 16;
            return true;
        }
        if (strncmp(w, "CBC", 3) == 0) {
            s->cipher = k256 ? "AES-256-CBC" : "AES-128-CBC";
            s->block = 16;
        }
    } else if (strncmp(w, "CAMELLIA_128_CBC", 16) == 0 || strncmp(w, "CAMELLIA_256_CBC", 16) == 0) {
        bool k256 = w[9] == '2';
        s->key_len = k256 ? 32 : 16;
        s->cipher = k256 ? "CAMELLIA-256-CBC" : "CAMELLIA-128-CBC";
        s->block = 16;
    } else if (strncmp(w, "3DES_EDE_CBC", 12) == 0) {
        s->key_len = 24;
        s->cipher = "DES-EDE3-CBC";
        s->block = 8;
    } else if (strncmp(w, "NULL_SHA", 8) == 0) {
        s->cipher = "NULL"; /* no encryption: the record is content + MAC */
    }
    if (s->cipher == NULL)
        return false;
    s->mode12 = strcmp(s->cipher, "NULL") == 0 ? TD_CM_NULL : TD_CM_CBC;
    s->iv_len = s->block;
    if (ends_with(n, "_SHA")) {
        s->mac = "SHA1";
        s->mac_len = 20;
    } else if (ends_with(n, "_SHA256")) {
        s->mac = "SHA256";
        s->mac_len = 32;
    } else if (ends_with(n, "_SHA384")) {
        s->mac = "SHA384";
        s->mac_len = 48;
    } else {
        return false;
    }
    return true;
}

/* ---- key derivation ---- */

enum td_status td_hkdf_expand_label(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
                                    const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
    /* RFC 8446 7.1:
     *   struct { uint16 length = Length;
     *            opaque label<7..255> = "tls13 " + Label;
     *            opaque context<0..255> = Context; } HkdfLabel; */
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t ll = strlen(label), n = 0;
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx;
    OSSL_PARAM params[5];
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    enum td_status st = TD_ENOMEM;

    if (ll > 249 || context_len > 255 || out_len > 255 || out_len == 0)
        return TD_ELIMIT;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = (uint8_t)context_len;
    if (context_len > 0)
        memcpy(info + n, context, context_len);
    n += context_len;

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL)
        return TD_ENOMEM;
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return TD_ENOMEM;
    params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)md, 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)secret, secret_len);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
    params[4] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
        st = TD_OK;
    EVP_KDF_CTX_free(kctx);
    return st;
}

enum td_status td_tls_prf(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
                          const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len)
{
    uint8_t full_seed[128];
    size_t ll = strlen(label);
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx;
    OSSL_PARAM params[4];
    enum td_status st = TD_ENOMEM;

    if (ll + seed_len > sizeof(full_seed))
        return TD_ELIMIT;
    memcpy(full_seed, label, ll);
    memcpy(full_seed + ll, seed, seed_len);
    kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    if (kdf == NULL)
        return TD_ENOMEM;
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return TD_ENOMEM;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)md, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)(uintptr_t)secret, secret_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, full_seed, ll + seed_len);
    params[3] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
        st = TD_OK;
    EVP_KDF_CTX_free(kctx);
    return st;
}

static size_t md_len(const char *md) { return strcmp(md, "SHA384") == 0 ? 48 : 32; }

static enum td_status keys13(struct td_rec_cipher *rc)
{
    enum td_status st;
    st = td_hkdf_expand_label(rc->suite.prf, rc->secret, rc->secret_len, "key", NULL, 0, rc->key, rc->suite.key_len);
    if (st != TD_OK)
        return st;
    return td_hkdf_expand_label(rc->suite.prf, rc->secret, rc->secret_len, "iv", NULL, 0, rc->iv, 12);
}

enum td_status td_rec_cipher_init13(struct td_rec_cipher *rc, uint16_t cipher, const uint8_t *secret,
                                    size_t secret_len)
{
    struct td_rec_cipher n;
    enum td_status st;

    memset(&n, 0, sizeof(n));
    if (!td_suite_lookup(cipher, &n.suite) || !n.suite.tls13)
        return TD_EMALFORMED;
    if (secret_len != md_len(n.suite.prf))
        return TD_EMALFORMED;
    n.mode = TD_CM_AEAD13;
    n.version = 0x0304;
    memcpy(n.secret, secret, secret_len);
    n.secret_len = (uint8_t)secret_len;
    st = keys13(&n);
    if (st != TD_OK) {
        OPENSSL_cleanse(&n, sizeof(n));
        return st;
    }
    n.active = true;
    *rc = n;
    OPENSSL_cleanse(&n, sizeof(n));
    return TD_OK;
}

enum td_status td_rec_cipher_key_update(struct td_rec_cipher *rc)
{
    uint8_t next[TD_SECRET_MAX];
    enum td_status st;

    if (rc->active && rc->mode == TD_CM_PLAIN) {
        rc->key_updates++;
        return TD_OK;
    }
    if (!rc->active || rc->mode != TD_CM_AEAD13)
        return TD_EMALFORMED;
    /* RFC 8446 7.2: application_traffic_secret_N+1 =
     *   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) */
    st = td_hkdf_expand_label(rc->suite.prf, rc->secret, rc->secret_len, "traffic upd", NULL, 0, next, rc->secret_len);
    if (st != TD_OK)
        return st;
    memcpy(rc->secret, next, rc->secret_len);
    OPENSSL_cleanse(next, sizeof(next));
    st = keys13(rc);
    if (st != TD_OK) {
        rc->active = false;
        return st;
    }
    rc->seq = 0;
    rc->key_updates++;
    return TD_OK;
}

enum td_status td_rec_cipher_init12(struct td_rec_cipher *rc, uint16_t version, uint16_t cipher, bool etm,
                                    const uint8_t master[48], const uint8_t client_random[32],
                                    const uint8_t server_random[32], bool client)
{
    struct td_rec_cipher n;
    uint8_t seed[64], kb[2 * 48 + 2 * 32 + 2 * 16];
    size_t mac, key, iv, need, off;
    enum td_status st;

    memset(&n, 0, sizeof(n));
    if (version < 0x0301 || version > 0x0303)
        return TD_EMALFORMED; /* SSL 3.0 has its own MAC and key block: not supported */
    if (!td_suite_lookup(cipher, &n.suite) || n.suite.tls13)
        return TD_EMALFORMED;
    n.mode = n.suite.mode12;
    if (version < 0x0303 && n.mode != TD_CM_CBC && n.mode != TD_CM_NULL)
        return TD_EMALFORMED; /* AEAD suites exist from TLS 1.2 on */
    n.version = version;
    n.etm = etm && n.mode == TD_CM_CBC;
    mac = n.suite.mac_len;
    key = n.suite.key_len;
    /* RFC 5246 6.3: the IVs are only in the key block for implicit nonces
     * (AEAD) and for TLS 1.0's CBC; they come last, so taking them always
     * changes nothing before them. */
    iv = n.suite.iv_len;
    need = 2 * (mac + key + iv);
    /* key_block = PRF(master_secret, "key expansion", server_random + client_random) */
    memcpy(seed, server_random, 32);
    memcpy(seed + 32, client_random, 32);
    st = td_tls_prf(version == 0x0303 ? n.suite.prf : "MD5-SHA1", master, 48, "key expansion", seed, 64, kb, need);
    if (st != TD_OK)
        return st;
    /* client_write_MAC_key, server_write_MAC_key, client_write_key,
     * server_write_key, client_write_IV, server_write_IV */
    off = client ? 0 : mac;
    memcpy(n.mac_key, kb + off, mac);
    off = 2 * mac + (client ? 0 : key);
    memcpy(n.key, kb + off, key);
    off = 2 * mac + 2 * key + (client ? 0 : iv);
    memcpy(n.iv, kb + off, iv);
    OPENSSL_cleanse(kb, sizeof(kb));
    n.active = true;
    *rc = n;
    OPENSSL_cleanse(&n, sizeof(n));
    return TD_OK;
}

/* ---- record decryption ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* aead_open decrypts |ct_len| bytes followed by a |tag_len| tag. */
static enum td_unprotect aead_open(const struct td_rec_cipher *rc, const uint8_t nonce[12], const uint8_t *aad,
                                   size_t aad_len, const uint8_t *ct, size_t ct_len, const uint8_t *tag, uint8_t *out)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, rc->suite.cipher, NULL);
    EVP_CIPHER_CTX *ctx = NULL;
    bool ccm = strstr(rc->suite.cipher, "CCM") != NULL;
    enum td_unprotect res = TD_UNP_ERROR;
    int outl = 0, fin = 0;

    if (c == NULL || ct_len > INT32_MAX)
        goto out;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_DecryptInit_ex2(ctx, c, NULL, NULL, NULL) != 1)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1)
        goto out;
    if (ccm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, rc->suite.tag_len, (void *)(uintptr_t)tag) != 1)
        goto out;
    if (EVP_DecryptInit_ex2(ctx, NULL, rc->key, nonce, NULL) != 1)
        goto out;
    if (ccm && EVP_DecryptUpdate(ctx, NULL, &outl, NULL, (int)ct_len) != 1)
        goto out;
    if (EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
        goto out;
    if (EVP_DecryptUpdate(ctx, out, &outl, ct, (int)ct_len) != 1) {
        res = ccm ? TD_UNP_BAD_RECORD : TD_UNP_ERROR; /* CCM checks the tag here */
        goto out;
    }
    if (!ccm) {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, rc->suite.tag_len, (void *)(uintptr_t)tag) != 1)
            goto out;
        if (EVP_DecryptFinal_ex(ctx, out + outl, &fin) != 1) {
            res = TD_UNP_BAD_RECORD;
            goto out;
        }
    }
    res = TD_UNP_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return res;
}

static enum td_unprotect open13(struct td_rec_cipher *rc, uint8_t type, uint16_t version, const uint8_t *in,
                                size_t len, uint8_t *out, size_t *out_len, uint8_t *inner_type)
{
    uint8_t nonce[12], aad[5], seq[8];
    size_t tag = rc->suite.tag_len, n;
    enum td_unprotect r;

    /* RFC 8446 5.2: TLSCiphertext with opaque_type 23; the plaintext is
     * TLSInnerPlaintext { content; ContentType type; uint8 zeros[] } */
    if (type != 23 || len < tag + 1 || len > 16384 + 256)
        return TD_UNP_MALFORMED;
    memcpy(nonce, rc->iv, 12);
    put_u64(seq, rc->seq);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= seq[i];
    aad[0] = type;
    aad[1] = (uint8_t)(version >> 8);
    aad[2] = (uint8_t)version;
    aad[3] = (uint8_t)(len >> 8);
    aad[4] = (uint8_t)len;
    r = aead_open(rc, nonce, aad, 5, in, len - tag, in + len - tag, out);
    if (r != TD_UNP_OK)
        return r;
    rc->seq++;
    n = len - tag;
    while (n > 0 && out[n - 1] == 0)
        n--;
    if (n == 0)
        return TD_UNP_MALFORMED; /* all zeros: no content type (RFC 8446 5.4) */
    *inner_type = out[n - 1];
    *out_len = n - 1;
    return TD_UNP_OK;
}

static enum td_unprotect open12_aead(struct td_rec_cipher *rc, uint8_t type, uint16_t version, const uint8_t *in,
                                     size_t len, uint8_t *out, size_t *out_len, uint8_t *inner_type)
{
    uint8_t nonce[12], aad[13];
    size_t tag = rc->suite.tag_len, expl = rc->mode == TD_CM_AEAD12_EXPL ? 8 : 0, plen;
    enum td_unprotect r;

    if (len < expl + tag)
        return TD_UNP_MALFORMED;
    plen = len - expl - tag;
    if (rc->mode == TD_CM_AEAD12_EXPL) {
        /* RFC 5288 3: nonce = salt (4, implicit) + nonce_explicit (8, in the record) */
        memcpy(nonce, rc->iv, 4);
        memcpy(nonce + 4, in, 8);
    } else {
        /* RFC 7905 2: nonce = client/server_write_IV ^ padded seq */
        uint8_t seq[8];
        memcpy(nonce, rc->iv, 12);
        put_u64(seq, rc->seq);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= seq[i];
    }
    /* RFC 5246 6.2.3.3: additional_data = seq_num + type + version + length (of the plaintext) */
    put_u64(aad, rc->seq);
    aad[8] = type;
    aad[9] = (uint8_t)(version >> 8);
    aad[10] = (uint8_t)version;
    aad[11] = (uint8_t)(plen >> 8);
    aad[12] = (uint8_t)plen;
    r = aead_open(rc, nonce, aad, 13, in + expl, plen, in + len - tag, out);
    if (r != TD_UNP_OK)
        return r;
    rc->seq++;
    *out_len = plen;
    *inner_type = type;
    return TD_UNP_OK;
}

static bool hmac(const struct td_rec_cipher *rc, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
                 size_t data_len, uint8_t *out)
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t outl = 0;
    bool ok = false;

    if (m == NULL)
        return false;
    ctx = EVP_MAC_CTX_new(m);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)rc->suite.mac, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx != NULL && EVP_MAC_init(ctx, rc->mac_key, rc->suite.mac_len, params) == 1 &&
        EVP_MAC_update(ctx, hdr, hdr_len) == 1 && (data_len == 0 || EVP_MAC_update(ctx, data, data_len) == 1) &&
        EVP_MAC_final(ctx, out, &outl, 64) == 1 && outl == rc->suite.mac_len)
        ok = true;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return ok;
}

static void mac_header(uint8_t hdr[13], uint64_t seq, uint8_t type, uint16_t version, size_t len)
{
    put_u64(hdr, seq);
    hdr[8] = type;
    hdr[9] = (uint8_t)(version >> 8);
    hdr[10] = (uint8_t)version;
    hdr[11] = (uint8_t)(len >> 8);
    hdr[12] = (uint8_t)len;
}

static enum td_unprotect open12_cbc(struct td_rec_cipher *rc, uint8_t type, uint16_t version, const uint8_t *in,
                                    size_t len, uint8_t *out, size_t *out_len, uint8_t *inner_type)
{
    size_t bs = rc->suite.block, ml = rc->suite.mac_len, iv_in = rc->version >= 0x0302 ? bs : 0;
    size_t enc_len = rc->etm ? len - ml : len, pt_len, pad, content;
    const uint8_t *iv = iv_in ? in : rc->iv;
    uint8_t hdr[13], mac[64], next_iv[16];
    EVP_CIPHER *c = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    enum td_unprotect res = TD_UNP_ERROR;
    int outl = 0;

    if (len < ml + iv_in + bs || (len - (rc->etm ? ml : 0) - iv_in) % bs != 0)
        return TD_UNP_MALFORMED;
    if (rc->etm) {
        /* RFC 7366 3: MAC(MAC_write_key, seq_num + type + version + length + IV + ENC(content + padding)) */
        mac_header(hdr, rc->seq, type, version, enc_len);
        if (!hmac(rc, hdr, 13, in, enc_len, mac))
            return TD_UNP_ERROR;
        if (CRYPTO_memcmp(mac, in + enc_len, ml) != 0)
            return TD_UNP_BAD_RECORD;
    }
    memcpy(next_iv, in + enc_len - bs, bs); /* TLS 1.0: the next record's IV */
    c = EVP_CIPHER_fetch(NULL, rc->suite.cipher, NULL);
    ctx = EVP_CIPHER_CTX_new();
    if (c == NULL || ctx == NULL || EVP_DecryptInit_ex2(ctx, c, rc->key, iv, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
        goto out;
    pt_len = enc_len - iv_in;
    if (pt_len > INT32_MAX || EVP_DecryptUpdate(ctx, out, &outl, in + iv_in, (int)pt_len) != 1 ||
        (size_t)outl != pt_len)
        goto out;
    /* RFC 5246 6.2.3.2: content + MAC (unless EtM) + padding + padding_length */
    pad = out[pt_len - 1];
    if ((size_t)pad + 1 + (rc->etm ? 0 : ml) > pt_len) {
        res = rc->etm ? TD_UNP_MALFORMED : TD_UNP_BAD_RECORD;
        goto out;
    }
    for (size_t i = pt_len - 1 - pad; i < pt_len; i++) {
        if (out[i] != pad) {
            res = rc->etm ? TD_UNP_MALFORMED : TD_UNP_BAD_RECORD;
            goto out;
        }
    }
    content = pt_len - 1 - pad - (rc->etm ? 0 : ml);
    if (!rc->etm) {
        mac_header(hdr, rc->seq, type, version, content);
        if (!hmac(rc, hdr, 13, out, content, mac))
            goto out;
        if (CRYPTO_memcmp(mac, out + content, ml) != 0) {
            res = TD_UNP_BAD_RECORD;
            goto out;
        }
    }
    if (iv_in == 0)
        memcpy(rc->iv, next_iv, bs);
    rc->seq++;
    *out_len = content;
    *inner_type = type;
    res = TD_UNP_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return res;
}

/* RFC 5246 6.2.3.1: a NULL cipher's record is content + MAC */
static enum td_unprotect open12_null(struct td_rec_cipher *rc, uint8_t type, uint16_t version, const uint8_t *in,
                                     size_t len, uint8_t *out, size_t *out_len, uint8_t *inner_type)
{
    size_t ml = rc->suite.mac_len, content;
    uint8_t hdr[13], mac[64];

    if (len < ml)
        return TD_UNP_MALFORMED;
    content = len - ml;
    mac_header(hdr, rc->seq, type, version, content);
    if (!hmac(rc, hdr, 13, in, content, mac))
        return TD_UNP_ERROR;
    if (CRYPTO_memcmp(mac, in + content, ml) != 0)
        return TD_UNP_BAD_RECORD;
    if (content > 0)
        memcpy(out, in, content);
    rc->seq++;
    *out_len = content;
    *inner_type = type;
    return TD_UNP_OK;
}

void td_rec_cipher_init_plain(struct td_rec_cipher *rc)
{
    memset(rc, 0, sizeof(*rc));
    rc->mode = TD_CM_PLAIN;
    rc->active = true;
}

enum td_unprotect td_rec_unprotect(struct td_rec_cipher *rc, uint8_t type, uint16_t version, const uint8_t *in,
                                   size_t len, uint8_t *out, size_t *out_len, uint8_t *inner_type)
{
    if (!rc->active)
        return TD_UNP_ERROR;
    if (len > MAX_PLAIN + 2048)
        return TD_UNP_MALFORMED; /* RFC 8446 5.2 / RFC 5246 6.2.3: 2^14 + 2048 at most */
    switch (rc->mode) {
    case TD_CM_AEAD13:
        return open13(rc, type, version, in, len, out, out_len, inner_type);
    case TD_CM_AEAD12_EXPL:
    case TD_CM_AEAD12_XOR:
        return open12_aead(rc, type, version, in, len, out, out_len, inner_type);
    case TD_CM_CBC:
        return open12_cbc(rc, type, version, in, len, out, out_len, inner_type);
    case TD_CM_NULL:
        return open12_null(rc, type, version, in, len, out, out_len, inner_type);
    case TD_CM_PLAIN:
        if (len > 0)
            memcpy(out, in, len);
        rc->seq++;
        *out_len = len;
        *inner_type = type;
        return TD_UNP_OK;
    case TD_CM_NONE:
    default:
        return TD_UNP_ERROR;
    }
}
