/* fuzz_decrypt: the decryption path (lib/tls/decrypt.c through
 * lib/tls/stream.c), as a round trip.
 *
 * Random bytes almost never authenticate, so the harness is its own peer:
 * it seals the plaintext records the input describes with OpenSSL, under
 * keys derived by the library from fixed secrets, and feeds the resulting
 * byte stream, cut into pieces, to a td_tls_stream holding the matching
 * read keys.  The decrypted handshake messages go to the TLS 1.3 parsers
 * (EncryptedExtensions, Certificate, CertificateRequest, NewSessionTicket,
 * KeyUpdate, which also rolls the keys as the engine does), alerts and
 * application data to checks.  Whatever input bytes are left are then given
 * raw to td_rec_unprotect under every mode, CBC included (padding, MAC,
 * short records).
 *
 * Input: u8 suite; u8 flags (bit 0: flip one byte of record |u8 victim|,
 * bit 1: feed in 1..16-byte pieces); u8 victim; then records
 * { u8 type_sel; u8 pad; u16 len; bytes[len] } (len capped at 2048).
 *
 * Invariants: with no flipped byte and no KeyUpdate every record decrypts
 * (round trip); a flipped byte is never accepted (AEAD); plaintext lengths
 * never exceed the record; anomaly offsets lie in the stream; raw records
 * never decrypt to more bytes than they hold. */
#include <openssl/evp.h>

#include "fuzz_common.h"
#include "tls/stream.h"
#include "tlsdiag/decrypt.h"
#include "tlsdiag/tls.h"

static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0xc02f, 0xc030, 0xcca8, 0xc0ae};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))
#define MAX_PT 2048u

struct ctx {
    struct td_rec_cipher rx;
    uint64_t stream_len;
    uint32_t failed, decrypted_hs, alerts, app;
    bool key_update;
};

static void on_hs(void *vc, uint8_t type, struct td_cur *body, uint16_t rec_version)
{
    struct ctx *c = vc;
    size_t end = body->off + body->len;
    struct td_diag d = {0};

    (void)rec_version;
    c->decrypted_hs++;
    switch (type) {
    case TD_HS_ENCRYPTED_EXTENSIONS: {
        struct td_encrypted_extensions ee;
        (void)td_parse_encrypted_extensions(&ee, body);
        fuzz_check_diag(&ee.diag, end);
        FUZZ_CHECK(ee.alpn.len <= TD_MAX_ALPN_LEN);
        break;
    }
    case TD_HS_CERTIFICATE: {
        static struct td_certificate ce;
        (void)td_parse_certificate(&ce, body, true);
        fuzz_check_diag(&ce.diag, end);
        FUZZ_CHECK(ce.num_certs <= ce.total_certs);
        td_certificate_cleanup(&ce);
        break;
    }
    case TD_HS_CERTIFICATE_REQUEST: {
        static struct td_certificate_request cr;
        (void)td_parse_certificate_request(&cr, body, true);
        fuzz_check_diag(&cr.diag, end);
        td_certificate_request_cleanup(&cr);
        break;
    }
    case TD_HS_NEW_SESSION_TICKET: {
        struct td_new_session_ticket nst;
        (void)td_parse_new_session_ticket(&nst, body, true);
        fuzz_check_diag(&nst.diag, end);
        break;
    }
    case TD_HS_KEY_UPDATE: {
        struct td_key_update ku;
        if (td_parse_key_update(&ku, body, &d) == TD_OK && c->rx.mode == TD_CM_AEAD13) {
            c->key_update = true;
            FUZZ_CHECK(td_rec_cipher_key_update(&c->rx) == TD_OK);
        }
        fuzz_check_diag(&d, end);
        break;
    }
    default:
        break;
    }
}

static void on_alert(void *vc, uint8_t level, uint8_t desc, uint16_t v)
{
    struct ctx *c = vc;
    (void)level;
    (void)desc;
    (void)v;
    c->alerts++;
}

static void on_enc(void *vc, uint8_t ct, uint32_t len, uint16_t v)
{
    (void)vc;
    (void)ct;
    (void)v;
    FUZZ_CHECK(len <= 0xffff);
}

static void on_anomaly(void *vc, enum td_anomaly code, uint64_t off)
{
    struct ctx *c = vc;
    FUZZ_CHECK(td_anomaly_name((unsigned)code) != NULL);
    FUZZ_CHECK(off <= c->stream_len);
}

static void on_app(void *vc, const uint8_t *p, size_t n)
{
    struct ctx *c = vc;
    (void)p;
    FUZZ_CHECK(n <= MAX_PT);
    c->app++;
}

static void on_fail(void *vc, enum td_unprotect r, uint8_t ct, uint32_t len, uint64_t off)
{
    struct ctx *c = vc;
    (void)ct;
    (void)len;
    FUZZ_CHECK(r != TD_UNP_OK);
    FUZZ_CHECK(off <= c->stream_len);
    c->failed++;
}

/* seal one record with |w|'s keys at its sequence number (the harness's
 * write side mirrors decrypt.c's read side with the encrypt calls) */
static size_t seal(struct td_rec_cipher *w, uint8_t type, const uint8_t *pt, size_t n, size_t pad, uint8_t *rec)
{
    uint8_t nonce[12], aad[13], inner[MAX_PT + 1 + 16], seq[8];
    EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, w->suite.cipher, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ccm = strstr(w->suite.cipher, "CCM") != NULL, t13 = w->mode == TD_CM_AEAD13;
    size_t expl = w->mode == TD_CM_AEAD12_EXPL ? 8 : 0, body, in_len, aad_len;
    int ol = 0;

    FUZZ_CHECK(ci != NULL && x != NULL);
    for (int i = 7; i >= 0; i--)
        seq[7 - i] = (uint8_t)(w->seq >> (8 * i));
    memcpy(inner, pt, n);
    in_len = n;
    if (t13) {
        inner[in_len++] = type;
        memset(inner + in_len, 0, pad);
        in_len += pad;
    }
    body = expl + in_len + w->suite.tag_len;
    rec[0] = t13 ? 23 : type;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = (uint8_t)(body >> 8);
    rec[4] = (uint8_t)body;
    if (w->mode == TD_CM_AEAD12_EXPL) {
        memcpy(nonce, w->iv, 4);
        memcpy(nonce + 4, seq, 8);
        memcpy(rec + 5, seq, 8);
    } else {
        memcpy(nonce, w->iv, 12);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= seq[i];
    }
    if (t13) {
        memcpy(aad, rec, 5);
        aad_len = 5;
    } else {
        memcpy(aad, seq, 8);
        aad[8] = type;
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = (uint8_t)(n >> 8);
        aad[12] = (uint8_t)n;
        aad_len = 13;
    }
    FUZZ_CHECK(EVP_EncryptInit_ex2(x, ci, NULL, NULL, NULL) == 1);
    FUZZ_CHECK(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1);
    if (ccm)
        FUZZ_CHECK(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, w->suite.tag_len, NULL) == 1);
    FUZZ_CHECK(EVP_EncryptInit_ex2(x, NULL, w->key, nonce, NULL) == 1);
    if (ccm)
        FUZZ_CHECK(EVP_EncryptUpdate(x, NULL, &ol, NULL, (int)in_len) == 1);
    FUZZ_CHECK(EVP_EncryptUpdate(x, NULL, &ol, aad, (int)aad_len) == 1);
    FUZZ_CHECK(EVP_EncryptUpdate(x, rec + 5 + expl, &ol, inner, (int)in_len) == 1);
    FUZZ_CHECK(EVP_EncryptFinal_ex(x, rec + 5 + expl + ol, &ol) == 1);
    FUZZ_CHECK(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, w->suite.tag_len, rec + 5 + expl + in_len) == 1);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(ci);
    w->seq++;
    return 5 + body;
}

static void init_keys(struct td_rec_cipher *rc, uint16_t suite)
{
    static const uint8_t secret[48] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                       21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
                                       39, 40, 41, 42, 43, 44, 45, 46, 47, 48};
    static const uint8_t cr[32] = {0xc1}, sr[32] = {0x5e};
    struct td_suite s;

    memset(rc, 0, sizeof(*rc));
    FUZZ_CHECK(td_suite_lookup(suite, &s));
    if (s.tls13)
        FUZZ_CHECK(td_rec_cipher_init13(rc, suite, secret, strcmp(s.prf, "SHA384") == 0 ? 48 : 32) == TD_OK);
    else
        FUZZ_CHECK(td_rec_cipher_init12(rc, 0x0303, suite, false, secret, cr, sr, false) == TD_OK);
}

static void raw_records(const uint8_t *p, size_t n)
{
    /* every mode, CBC included, on bytes that were never sealed */
    static const struct {
        uint16_t version, suite;
        bool etm;
    } modes[] = {{0x0304, 0x1301, false}, {0x0303, 0xc02f, false}, {0x0303, 0xcca8, false},
                 {0x0303, 0xc013, false}, {0x0303, 0xc028, true},  {0x0301, 0xc014, false},
                 {0x0302, 0x000a, false}};
    static uint8_t out[16384 + 2048 + 512];
    static const uint8_t ms[48] = {9}, r[32] = {7};

    if (n > 16384 + 2048)
        n = 16384 + 2048;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        struct td_rec_cipher rc;
        size_t ol = 0;
        uint8_t inner = 0;
        enum td_unprotect res;

        memset(&rc, 0, sizeof(rc));
        if (modes[i].version == 0x0304)
            FUZZ_CHECK(td_rec_cipher_init13(&rc, modes[i].suite, ms, 32) == TD_OK);
        else
            FUZZ_CHECK(td_rec_cipher_init12(&rc, modes[i].version, modes[i].suite, modes[i].etm, ms, r, r, true) ==
                       TD_OK);
        res = td_rec_unprotect(&rc, modes[i].version == 0x0304 ? 23 : 22, 0x0303, p, n, out, &ol, &inner);
        if (res == TD_UNP_OK)
            FUZZ_CHECK(ol <= n);
        else
            FUZZ_CHECK(rc.seq == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream[64 * 1024];
    struct td_rec_cipher w;
    struct td_tls_stream s;
    struct ctx c;
    struct td_tls_sink k;
    size_t off = 3, slen = 0, nrec = 0;
    uint8_t flags, victim;
    bool corrupt, wrote_ku = false;

    if (size < 3)
        return 0;
    memset(&c, 0, sizeof(c));
    init_keys(&c.rx, suites[data[0] % NSUITES]);
    w = c.rx;
    flags = data[1];
    victim = data[2];
    corrupt = false;

    while (off + 4 <= size && slen + 5 + 8 + MAX_PT + 1 + 16 + 16 <= sizeof(stream)) {
        static const uint8_t types[] = {TD_CT_HANDSHAKE, TD_CT_ALERT, TD_CT_APPLICATION_DATA};
        uint8_t type = types[data[off] % 3];
        size_t pad = data[off + 1] % 16, len = (size_t)data[off + 2] << 8 | data[off + 3], rl;

        off += 4;
        if (len > MAX_PT)
            len = MAX_PT;
        if (len > size - off)
            len = size - off;
        if (len == 0 && w.mode != TD_CM_AEAD13)
            continue;
        rl = seal(&w, type, data + off, len, pad, stream + slen);
        if ((flags & 1) && nrec == victim) {
            stream[slen + 5 + (data[off - 1] % (rl - 5))] ^= 0x20; /* a body byte: AEAD must reject */
            corrupt = true;
        }
        if (type == TD_CT_HANDSHAKE && w.mode == TD_CM_AEAD13) {
            /* a KeyUpdate would roll the reader's keys: keep the writer in
             * step only when the record is exactly one KeyUpdate message */
            if (len == 5 && data[off] == TD_HS_KEY_UPDATE && data[off + 1] == 0 && data[off + 2] == 0 &&
                data[off + 3] == 1 && data[off + 4] <= 1)
            {
                FUZZ_CHECK(td_rec_cipher_key_update(&w) == TD_OK);
                wrote_ku = true;
            }
        }
        off += len;
        slen += rl;
        nrec++;
    }

    td_tls_stream_init(&s, 64 * 1024, false);
    td_tls_stream_set_encrypted(&s, true);
    td_tls_stream_set_keys(&s, &c.rx);
    memset(&k, 0, sizeof(k));
    k.ctx = &c;
    k.handshake = on_hs;
    k.alert = on_alert;
    k.encrypted = on_enc;
    k.anomaly = on_anomaly;
    k.app_data = on_app;
    k.decrypt_failed = on_fail;
    c.stream_len = slen;
    if (flags & 2) {
        size_t i = 0, piece = 1;
        while (i < slen) {
            uint8_t *chunk;
            size_t n = slen - i < piece ? slen - i : piece;
            chunk = malloc(n); /* exact size: ASan sees reads past a piece */
            FUZZ_CHECK(chunk != NULL);
            memcpy(chunk, stream + i, n);
            td_tls_stream_feed(&s, chunk, n, &k);
            free(chunk);
            i += n;
            piece = 1 + (piece * 7 + i) % 16;
        }
    } else if (slen > 0) {
        uint8_t *all = malloc(slen);
        FUZZ_CHECK(all != NULL);
        memcpy(all, stream, slen);
        td_tls_stream_feed(&s, all, slen, &k);
        free(all);
    }
    FUZZ_CHECK(s.decrypted <= s.records);
    FUZZ_CHECK(s.off == slen);
    if (!corrupt && !c.key_update && !wrote_ku)
        FUZZ_CHECK(c.failed == 0 && s.decrypted == nrec); /* the round trip holds */
    if (corrupt && !c.key_update && !wrote_ku)
        FUZZ_CHECK(c.failed >= 1); /* a flipped byte is never accepted */
    td_tls_stream_cleanup(&s);

    if (off < size)
        raw_records(data + off, size - off);
    return 0;
}
