/* build.c: our own ClientHello builder, the mirror of lib/tls/hello.c.
 *
 * The builder appends with a sticky failure bit and checks once at the end
 * (BoringSSL CBB, picotls ptls_buffer): safe only because its input is our
 * own probe spec, never peer bytes.  Length prefixes are reserved with
 * b_open and filled with b_close; every buffer has a hard cap.
 *
 * RFC 8446 4.1.2 (ClientHello), RFC 5246 7.4.1.2, RFC 6101 E.2 (SSLv2
 * compatible), RFC 6066 (server_name, status_request), RFC 7301 (ALPN),
 * RFC 8701 (GREASE), RFC 7685 (padding). */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/core_names.h>

#include "registry/registry_tables.h"
#include "tlsdiag/probe.h"
#include "tlsdiag/registry.h"

struct bld {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static void b_bytes(struct bld *b, const void *src, size_t n)
{
    if (b->failed || n > b->cap - b->len) {
        b->failed = true;
        return;
    }
    td_memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void b_u8(struct bld *b, uint32_t v)
{
    uint8_t x = (uint8_t)v;
    b_bytes(b, &x, 1);
}

static void b_u16(struct bld *b, uint32_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    b_bytes(b, x, 2);
}

/* b_open reserves a |len_len|-byte length and returns where it is. */
static size_t b_open(struct bld *b, size_t len_len)
{
    static const uint8_t z[3] = {0, 0, 0};
    size_t at = b->len;
    b_bytes(b, z, len_len);
    return at;
}

/* b_close_as writes |v| into the length reserved at |at|. */
static void b_close_as(struct bld *b, size_t at, size_t len_len, size_t v)
{
    if (b->failed)
        return;
    if (len_len < 3 && v >= ((size_t)1 << (8 * len_len))) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < len_len; i++)
        b->p[at + i] = (uint8_t)(v >> (8 * (len_len - 1 - i)));
}

static void b_close(struct bld *b, size_t at, size_t len_len)
{
    if (b->failed)
        return;
    b_close_as(b, at, len_len, b->len - at - len_len);
}

/* GREASE values are chosen from the random so a hello is reproducible. */
static uint16_t grease(const struct td_ch_spec *s, unsigned i)
{
    unsigned n = (unsigned)(s->random[i % 32] >> 4);
    return (uint16_t)((n << 12) | 0x0a00 | (n << 4) | 0x0a);
}

/* ---- key shares (libcrypto) ---- */

static int gen_raw(int nid, uint8_t *pub, size_t cap, uint16_t *len)
{
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(nid, NULL);
    EVP_PKEY *k = NULL;
    size_t n = cap;
    int rc = -1;

    if (kc == NULL || EVP_PKEY_keygen_init(kc) <= 0 || EVP_PKEY_keygen(kc, &k) <= 0)
        goto out;
    if (EVP_PKEY_get_raw_public_key(k, pub, &n) <= 0 || n > UINT16_MAX)
        goto out;
    *len = (uint16_t)n;
    rc = 0;
out:
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(kc);
    return rc;
}

static int gen_ec(const char *curve, uint8_t *pub, size_t cap, uint16_t *len)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    size_t n = 0;
    int rc = -1;

    if (k == NULL)
        return -1;
    /* RFC 8446 4.2.8.2: the uncompressed point 04 || X || Y */
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, cap, &n) > 0 &&
        n <= UINT16_MAX) {
        *len = (uint16_t)n;
        rc = 0;
    }
    EVP_PKEY_free(k);
    return rc;
}

int td_keyshares_init(struct td_keyshares *k)
{
    static const struct { uint16_t group; int nid; const char *curve; } gens[] = {
        {0x001d, EVP_PKEY_X25519, NULL},
        {0x0017, 0, "P-256"},
        {0x0018, 0, "P-384"},
        {0x0019, 0, "P-521"},
        {0x001e, EVP_PKEY_X448, NULL},
    };
    memset(k, 0, sizeof(*k));
    for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
        uint16_t len = 0;
        int rc = gens[i].curve != NULL
                     ? gen_ec(gens[i].curve, k->ks[k->n].pub, sizeof(k->ks[k->n].pub), &len)
                     : gen_raw(gens[i].nid, k->ks[k->n].pub, sizeof(k->ks[k->n].pub), &len);
        if (rc != 0)
            return -1;
        k->ks[k->n].group = gens[i].group;
        k->ks[k->n].len = len;
        k->n++;
    }
    return 0;
}

static const struct td_keyshares *ks_get(const struct td_keyshares *k, uint16_t group, size_t *idx)
{
    if (k == NULL)
        return NULL;
    for (size_t i = 0; i < k->n; i++) {
        if (k->ks[i].group == group) {
            *idx = i;
            return k;
        }
    }
    return NULL;
}

bool td_keyshares_has(const struct td_keyshares *k, uint16_t group)
{
    size_t i;
    return ks_get(k, group, &i) != NULL;
}

/* ---- the hello ---- */

static void ext_begin(struct bld *b, uint16_t type, size_t *at)
{
    b_u16(b, type);
    *at = b_open(b, 2);
}

static void u16_list(struct bld *b, const uint16_t *v, uint16_t n, bool gr, uint16_t gval,
                     size_t len_len)
{
    size_t at = b_open(b, len_len);
    if (gr)
        b_u16(b, gval);
    for (uint16_t i = 0; i < n; i++)
        b_u16(b, v[i]);
    b_close(b, at, len_len);
}

static void build_sslv2(struct bld *b, const struct td_ch_spec *s)
{
    /* RFC 6101 E.2: 2-byte header (msb set), msg type 1, version, three
     * lengths, 3-byte cipher specs, session id, challenge (16..32 bytes). */
    size_t body = 1 + 2 + 6 + (size_t)s->num_ciphers * 3 + s->session_id_len + 32;
    if (body > 0x7fff) {
        b->failed = true;
        return;
    }
    b_u8(b, 0x80 | (uint32_t)(body >> 8));
    b_u8(b, (uint32_t)body);
    b_u8(b, 1);
    b_u16(b, s->legacy_version);
    b_u16(b, (uint32_t)s->num_ciphers * 3u);
    b_u16(b, s->session_id_len);
    b_u16(b, 32);
    for (uint16_t i = 0; i < s->num_ciphers; i++) {
        b_u8(b, 0);
        b_u16(b, s->ciphers[i]);
    }
    b_bytes(b, s->session_id, s->session_id_len);
    b_bytes(b, s->random, 32);
}

static size_t build(const struct td_ch_spec *s, const struct td_keyshares *ks, uint8_t *out,
                    size_t cap, bool force, uint16_t forced)
{
    struct bld b = {out, 0, cap < TD_CH_MAX + 5 ? cap : TD_CH_MAX + 5, false};
    size_t rec, hs, exts, at, at2, idx;
    unsigned gi = 0;
    uint16_t rv;

    if (s->session_id_len > 32 || s->num_alpn > TD_CH_MAX_ALPN ||
        s->num_share_groups > TD_CH_MAX_KEY_SHARES)
        return 0;
    /* RFC 7301 3.1: ProtocolName<1..2^8-1>; an empty (or NULL) name would
     * make a hello our own parser calls malformed (found by
     * tests/fuzz/fuzz_probe_roundtrip.c) */
    for (uint8_t i = 0; i < s->num_alpn; i++)
        if (s->alpn[i] == NULL || s->alpn[i][0] == '\0')
            return 0;
    if (s->sslv2) {
        build_sslv2(&b, s);
        return b.failed ? 0 : b.len;
    }
    rv = s->record_version != 0 ? s->record_version
                                : (s->legacy_version < 0x0301 ? s->legacy_version : 0x0301);
    b_u8(&b, 22);
    b_u16(&b, rv);
    rec = b_open(&b, 2);
    b_u8(&b, 1);
    hs = b_open(&b, 3);
    b_u16(&b, s->legacy_version);
    b_bytes(&b, s->random, 32);
    b_u8(&b, s->session_id_len);
    b_bytes(&b, s->session_id, s->session_id_len);
    u16_list(&b, s->ciphers, s->num_ciphers, s->grease, grease(s, gi++), 2);
    b_u8(&b, 1); /* compression: null only */
    b_u8(&b, 0);

    exts = b_open(&b, 2);
    if (s->grease) {
        ext_begin(&b, grease(s, gi++), &at);
        b_close(&b, at, 2);
    }
    if (s->sni != NULL) {
        size_t n = strnlen(s->sni, 255);
        ext_begin(&b, 0, &at);
        at2 = b_open(&b, 2);
        b_u8(&b, 0);
        b_u16(&b, (uint32_t)n);
        b_bytes(&b, s->sni, n);
        b_close(&b, at2, 2);
        b_close(&b, at, 2);
    }
    if (s->ems) {
        ext_begin(&b, 23, &at);
        b_close(&b, at, 2);
    }
    if (s->reneg_info) {
        ext_begin(&b, 0xff01, &at);
        b_u8(&b, 0);
        b_close(&b, at, 2);
    }
    if (s->num_groups > 0) {
        ext_begin(&b, 10, &at);
        u16_list(&b, s->groups, s->num_groups, s->grease, grease(s, gi++), 2);
        b_close(&b, at, 2);
    }
    if (s->ec_point_formats) {
        ext_begin(&b, 11, &at);
        b_u8(&b, 1);
        b_u8(&b, 0);
        b_close(&b, at, 2);
    }
    if (s->session_ticket) {
        ext_begin(&b, 35, &at);
        b_bytes(&b, s->ticket, s->ticket_len);
        b_close(&b, at, 2);
    }
    if (s->num_alpn > 0) {
        ext_begin(&b, 16, &at);
        at2 = b_open(&b, 2);
        for (uint8_t i = 0; i < s->num_alpn; i++) {
            size_t n = strnlen(s->alpn[i], 255);
            b_u8(&b, (uint32_t)n);
            b_bytes(&b, s->alpn[i], n);
        }
        b_close(&b, at2, 2);
        b_close(&b, at, 2);
    }
    if (s->status_request) {
        ext_begin(&b, 5, &at);
        b_u8(&b, 1);  /* ocsp */
        b_u16(&b, 0); /* responder_id_list */
        b_u16(&b, 0); /* request_extensions */
        b_close(&b, at, 2);
    }
    if (s->num_sig_algs > 0) {
        ext_begin(&b, 13, &at);
        u16_list(&b, s->sig_algs, s->num_sig_algs, false, 0, 2);
        b_close(&b, at, 2);
    }
    if (s->num_share_groups > 0 || s->key_share_empty) {
        ext_begin(&b, 51, &at);
        at2 = b_open(&b, 2);
        if (s->grease && !s->key_share_empty) {
            b_u16(&b, grease(s, 2)); /* the same GREASE group as supported_groups */
            b_u16(&b, 1);
            b_u8(&b, 0);
        }
        for (uint16_t i = 0; i < s->num_share_groups && !s->key_share_empty; i++) {
            const struct td_keyshares *k = ks_get(ks, s->share_groups[i], &idx);
            if (k == NULL)
                continue;
            b_u16(&b, k->ks[idx].group);
            b_u16(&b, k->ks[idx].len);
            b_bytes(&b, k->ks[idx].pub, k->ks[idx].len);
        }
        b_close(&b, at2, 2);
        b_close(&b, at, 2);
    }
    if (s->psk_modes) {
        ext_begin(&b, 45, &at);
        b_u8(&b, 1);
        b_u8(&b, 1); /* psk_dhe_ke */
        b_close(&b, at, 2);
    }
    if (s->num_versions > 0) {
        ext_begin(&b, 43, &at);
        u16_list(&b, s->versions, s->num_versions, s->grease, grease(s, gi++), 1);
        b_close(&b, at, 2);
    }
    if (s->grease) {
        ext_begin(&b, grease(s, gi + 7), &at);
        b_u8(&b, 0);
        b_close(&b, at, 2);
    }
    if (s->pad_to > 0 && !b.failed) {
        /* the handshake message (4-byte header included) becomes pad_to long */
        size_t now = b.len - hs + 1 + 4; /* +1: the type byte before hs, +4 ext header */
        if (now < s->pad_to) {
            size_t n = s->pad_to - now;
            static const uint8_t zero[256] = {0};
            ext_begin(&b, 21, &at);
            while (n > 0) {
                size_t k = n < sizeof(zero) ? n : sizeof(zero);
                b_bytes(&b, zero, k);
                n -= k;
            }
            b_close(&b, at, 2);
        }
    }
    if (force)
        b_close_as(&b, exts, 2, forced);
    else
        b_close(&b, exts, 2);
    b_close(&b, hs, 3);
    b_close(&b, rec, 2);
    if (b.failed || b.len - 5 > TD_CH_MAX)
        return 0;
    return b.len;
}

size_t td_ch_build(const struct td_ch_spec *s, const struct td_keyshares *ks, uint8_t *out,
                   size_t cap)
{
    return build(s, ks, out, cap, false, 0);
}

size_t td_ch_build_broken(const struct td_ch_spec *s, const struct td_keyshares *ks,
                          uint8_t *out, size_t cap, uint16_t forced)
{
    if (s->sslv2)
        return 0;
    return build(s, ks, out, cap, true, forced);
}

/* Order of the <= 1.2 list, by key exchange: a server that follows the
 * client's order takes the first suite it supports, so ECDHE comes first, as
 * in real clients.  DHE comes last: it needs DH parameters the server may not
 * have (Dovecot 2.3 without ssl_dh picks a DHE suite from an IANA-ordered
 * list, then closes the connection, and the version would look refused). */
static int kex_rank(uint16_t v)
{
    switch (td_cipher_kex(v)) {
    case TD_KEX_ECDHE: return 0;
    case TD_KEX_RSA: return 1;
    case TD_KEX_DHE: return 3;
    case TD_KEX_PSK:
    case TD_KEX_UNKNOWN:
    default: return 2;
    }
}

uint16_t td_probe_suites(uint16_t version, uint16_t *out, uint16_t max)
{
    uint16_t n = 0;
    for (int rank = 0; rank < 4; rank++) {
        for (size_t i = 0; i < td_reg_len_cipher && n < max; i++) {
            uint16_t v = td_reg_tab_cipher[i].value;
            bool is13 = (v >> 8) == 0x13 || v == 0xc0b4 || v == 0xc0b5;
            if (v == 0x00ff || v == 0x5600)
                continue; /* signalling values */
            if (version == 0x0304 ? !is13 : is13)
                continue;
            if (version != 0x0304 && kex_rank(v) != rank)
                continue;
            if (version == 0x0304 && rank != 0)
                continue;
            out[n++] = v;
        }
    }
    return n;
}
