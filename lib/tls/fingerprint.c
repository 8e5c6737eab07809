/* fingerprint.c: JA3/JA3S (Salesforce, BSD-3) and JA4 (FoxIO, BSD-3) client
 * fingerprints.  Strings are built in bounded local buffers; a fingerprint
 * whose input would not fit (impossible with the caps in tls.h) is hashed
 * over what fits. */
#include "tlsdiag/tls.h"
#include "tlsdiag/wbuf.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/registry.h"
#include "util/hash.h"

#define FP_BUF 8192 /* > 512 ciphers * 6 + 3 * 128 u16 * 6 + 32 * 4 + 64 */

/* sb: a bounded string builder.  It keeps at most cap - 1 bytes (what fits
 * is hashed); sb_str NUL-terminates.  The fast paths write a whole number
 * at once when it fits, which is always with the caps above. */
struct sb {
    char *b;
    size_t cap; /* includes the NUL */
    size_t len;
};

static void sb_init(struct sb *s, char *b, size_t cap)
{
    s->b = b;
    s->cap = cap;
    s->len = 0;
    if (cap != 0)
        b[0] = '\0';
}

static inline void sb_putc(struct sb *s, char c)
{
    if (s->len + 1 < s->cap)
        s->b[s->len++] = c;
}

static const char *sb_str(struct sb *s)
{
    if (s->cap != 0)
        s->b[s->len] = '\0';
    return s->b;
}

static void sb_put(struct sb *s, const char *p, size_t n)
{
    if (s->cap == 0)
        return;
    if (n > s->cap - 1 - s->len)
        n = s->cap - 1 - s->len;
    memcpy(s->b + s->len, p, n);
    s->len += n;
}

static void sb_puts(struct sb *s, const char *str) { sb_put(s, str, strlen(str)); }

static void sb_dec(struct sb *s, unsigned v)
{
    char tmp[24], *b = td_u64_digits(tmp + sizeof(tmp), v);
    sb_put(s, b, (size_t)(tmp + sizeof(tmp) - b));
}

static const char hexd[] = "0123456789abcdef";

static void sb_hex16(struct sb *s, uint16_t v)
{
    char t[4] = {hexd[v >> 12], hexd[(v >> 8) & 0xf], hexd[(v >> 4) & 0xf], hexd[v & 0xf]};
    sb_put(s, t, sizeof(t));
}

/* The digests are fetched once: EVP_md5()/EVP_sha256() make EVP_Digest
 * look the algorithm up in the provider store (under a lock) on every call,
 * which was most of the cost of a fingerprint.  Fetched objects are safe to
 * share between threads. */
static EVP_MD *md_md5, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md_get(bool sha256)
{
    const EVP_MD *m;
    pthread_once(&md_once, md_fetch);
    m = sha256 ? md_sha256 : md_md5;
    if (m == NULL) /* the fetch failed: let EVP_Digest try the usual way */
        m = sha256 ? EVP_sha256() : EVP_md5();
    return m;
}

static void digest_hex(const EVP_MD *md, const char *in, size_t in_len, char *out, size_t hex_chars, bool *ok)
{
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    size_t i;

    *ok = EVP_Digest(in, in_len, dig, &dlen, md, NULL) == 1;
    if (!*ok)
        dlen = 0;
    for (i = 0; i < hex_chars && i / 2 < dlen; i++)
        out[i] = hexd[(dig[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
    for (; i < hex_chars; i++)
        out[i] = '0';
    out[hex_chars] = '\0';
}

/* A memo of fingerprints, per thread.  A capture repeats the same few
 * client and server hellos over and over; building a fingerprint's string
 * and digesting it through EVP (context, provider lookup, locks) costs far
 * more than comparing the values it is made of.  The key is those values,
 * exactly as the fingerprint reads them (a tag for which fingerprint and
 * variant, then each list with its length), so a hit returns what the
 * computation would.  Direct-mapped by a hash of the key; failed digests
 * and keys longer than MEMO_MAX are not kept. */
#define MEMO_N 64
#define MEMO_MAX 512
struct memo_ent {
    uint16_t len; /* key length; 0: empty */
    char hex[33];
    uint8_t key[MEMO_MAX];
};
static _Thread_local struct memo_ent memo[MEMO_N];

struct fpkey {
    size_t n;
    bool ok; /* false: too long to keep */
    uint8_t b[MEMO_MAX];
};

static void key_start(struct fpkey *k, uint8_t tag)
{
    k->b[0] = tag;
    k->n = 1;
    k->ok = true;
}

static void key_add(struct fpkey *k, const void *p, size_t n)
{
    if (!k->ok || n > MEMO_MAX - k->n) {
        k->ok = false;
        return;
    }
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

static void key_u16(struct fpkey *k, uint16_t v) { key_add(k, &v, sizeof(v)); }

static void key_list(struct fpkey *k, const uint16_t *v, size_t n)
{
    key_u16(k, (uint16_t)n);
    key_add(k, v, n * sizeof(v[0]));
}

static unsigned memo_slot(const uint8_t *in, size_t n) { return (unsigned)(td_hash_bytes(in, n) >> 58) % MEMO_N; }

/* memo_find: the slot of |k| (NULL when it is not kept) and whether it
 * holds k's value */
static struct memo_ent *memo_find(const struct fpkey *k, bool *hit)
{
    struct memo_ent *m;

    *hit = false;
    if (!k->ok)
        return NULL;
    m = &memo[memo_slot(k->b, k->n)];
    *hit = m->len == k->n && memcmp(m->key, k->b, k->n) == 0;
    return m;
}

static void memo_store(struct memo_ent *m, const struct fpkey *k, const char *hex, size_t hex_chars)
{
    if (m == NULL || hex_chars >= sizeof(m->hex))
        return;
    m->len = (uint16_t)k->n;
    memcpy(m->key, k->b, k->n);
    memcpy(m->hex, hex, hex_chars);
    m->hex[hex_chars] = '\0';
}

static void copy_out(char *full, size_t full_len, const struct sb *s)
{
    struct sb o;

    if (full == NULL || full_len == 0)
        return;
    sb_init(&o, full, full_len);
    sb_put(&o, s->b, s->len);
    sb_str(&o);
}

/* JA3 and JA3S end alike: the digest from the memo or made and kept, then
 * the full string for whoever asked for it */
static void md5_finish(struct memo_ent *m, const struct fpkey *k, bool hit, const struct sb *s, char md5hex[33],
                       char *full, size_t full_len)
{
    bool ok;
    if (hit) {
        memcpy(md5hex, m->hex, 33);
    } else {
        digest_hex(md_get(false), s->b, s->len, md5hex, 32, &ok);
        if (ok)
            memo_store(m, k, md5hex, 32);
    }
    copy_out(full, full_len, s);
}

/* sb_dec_list appends the non-GREASE values of |v| as decimal, '-'-joined. */
static void sb_dec_list(struct sb *s, const uint16_t *v, size_t n)
{
    bool first = true;

    if (s->cap != 0 && n * 6 < s->cap - 1 - s->len) {
        /* all of it fits ("-65535" is 6 bytes): digits written in place */
        char *o = s->b + s->len;
        for (size_t i = 0; i < n; i++) {
            unsigned x = v[i];
            char t[5];
            size_t k = sizeof(t);
            if (td_is_grease(v[i]))
                continue;
            if (!first)
                *o++ = '-';
            first = false;
            do {
                t[--k] = (char)('0' + x % 10);
                x /= 10;
            } while (x != 0);
            memcpy(o, t + k, sizeof(t) - k);
            o += sizeof(t) - k;
        }
        s->len = (size_t)(o - s->b);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (td_is_grease(v[i]))
            continue;
        if (!first)
            sb_putc(s, '-');
        sb_dec(s, v[i]);
        first = false;
    }
}

/* JA3: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
 * with decimal values '-'-joined and GREASE (RFC 8701) removed. */
void td_ja3(const struct td_client_hello *ch, char md5hex[33], char *full, size_t full_len)
{
    char buf[FP_BUF];
    struct sb s;
    struct fpkey k;
    struct memo_ent *m;
    bool hit;

    key_start(&k, 'J');
    key_u16(&k, ch->legacy_version);
    key_list(&k, ch->ciphers, ch->num_ciphers);
    key_list(&k, ch->ext_order.v, ch->ext_order.n);
    key_list(&k, ch->groups.v, ch->groups.n);
    key_u16(&k, ch->ec_point_formats.n);
    key_add(&k, ch->ec_point_formats.v, ch->ec_point_formats.n);
    m = memo_find(&k, &hit);
    if (hit && (full == NULL || full_len == 0)) {
        memcpy(md5hex, m->hex, 33);
        return;
    }

    sb_init(&s, buf, sizeof(buf));
    sb_dec(&s, ch->legacy_version);
    sb_putc(&s, ',');
    sb_dec_list(&s, ch->ciphers, ch->num_ciphers);
    sb_putc(&s, ',');
    sb_dec_list(&s, ch->ext_order.v, ch->ext_order.n);
    sb_putc(&s, ',');
    sb_dec_list(&s, ch->groups.v, ch->groups.n);
    sb_putc(&s, ',');
    for (size_t i = 0; i < ch->ec_point_formats.n; i++) {
        if (i != 0)
            sb_putc(&s, '-');
        sb_dec(&s, ch->ec_point_formats.v[i]);
    }
    md5_finish(m, &k, hit, &s, md5hex, full, full_len);
}

/* JA3S: SSLVersion,Cipher,Extensions */
void td_ja3s(const struct td_server_hello *sh, char md5hex[33], char *full, size_t full_len)
{
    char buf[FP_BUF];
    struct sb s;
    struct fpkey k;
    struct memo_ent *m;
    bool hit;

    key_start(&k, 'S');
    key_u16(&k, sh->legacy_version);
    key_u16(&k, sh->cipher);
    key_list(&k, sh->ext_order.v, sh->ext_order.n);
    m = memo_find(&k, &hit);
    if (hit && (full == NULL || full_len == 0)) {
        memcpy(md5hex, m->hex, 33);
        return;
    }

    sb_init(&s, buf, sizeof(buf));
    sb_dec(&s, sh->legacy_version);
    sb_putc(&s, ',');
    sb_dec(&s, sh->cipher);
    sb_putc(&s, ',');
    sb_dec_list(&s, sh->ext_order.v, sh->ext_order.n);
    md5_finish(m, &k, hit, &s, md5hex, full, full_len);
}

static const char *ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    default: return "00";
    }
}

static bool is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a;
    uint16_t y = *(const uint16_t *)b;

    return (x > y) - (x < y);
}

/* filter copies the non-GREASE values of |v| to |out| (optionally without
 * SNI and ALPN) and returns how many; sorts them when |sort|. */
static size_t filter(const uint16_t *v, size_t n, uint16_t *out, bool drop_sni_alpn, bool sort)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (td_is_grease(v[i]))
            continue;
        if (drop_sni_alpn && (v[i] == TD_EXT_SERVER_NAME || v[i] == TD_EXT_ALPN))
            continue;
        out[k++] = v[i];
    }
    if (sort && k > 64) {
        qsort(out, k, sizeof(out[0]), cmp_u16);
    } else if (sort) {
        /* short lists (nearly all): insertion sort, no calls */
        for (size_t i = 1; i < k; i++) {
            uint16_t x = out[i];
            size_t j = i;
            for (; j > 0 && out[j - 1] > x; j--)
                out[j] = out[j - 1];
            out[j] = x;
        }
    }
    return k;
}

static void sb_hex_list(struct sb *s, const uint16_t *v, size_t n)
{
    if (s->cap != 0 && n * 5 < s->cap - 1 - s->len) {
        /* all of it fits: written in place */
        char *o = s->b + s->len;
        for (size_t i = 0; i < n; i++) {
            uint16_t x = v[i];
            if (i != 0)
                *o++ = ',';
            o[0] = hexd[x >> 12];
            o[1] = hexd[(x >> 8) & 0xf];
            o[2] = hexd[(x >> 4) & 0xf];
            o[3] = hexd[x & 0xf];
            o += 4;
        }
        s->len = (size_t)(o - s->b);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i != 0)
            sb_putc(s, ',');
        sb_hex16(s, v[i]);
    }
}

static void sb_count2(struct sb *s, size_t n)
{
    if (n > 99)
        n = 99;
    sb_putc(s, (char)('0' + n / 10));
    sb_putc(s, (char)('0' + n % 10));
}

/* JA4 (FoxIO technical_details/JA4.md), TCP only:
 *   t | version | d/i | cipher count | extension count | ALPN first+last
 *   _ sha256_12(ciphers) _ sha256_12(extensions "_" signature algorithms)
 * version: highest non-GREASE supported_versions value, else
 * legacy_version.  Counts exclude GREASE and include SNI/ALPN (cap 99).
 * ALPN: first and last byte of the first value when both are ASCII
 * alphanumeric, else the first hex digit of the first byte and the last hex
 * digit of the last byte; "00" when there is none.  The sorted extension
 * list drops SNI (0) and ALPN (16); the original-order one (_o) keeps them.
 * Signature algorithms keep wire order (GREASE removed).  An empty list
 * hashes to "000000000000". */
static size_t count_non_grease(const uint16_t *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !td_is_grease(v[i]);
    return k;
}

/* ja4_part appends JA4's second part (ciphers, |ext| false) or third
 * (extensions "_" signature algorithms, |ext| true): the list itself for
 * JA4_r, else its truncated SHA-256, or "000000000000" when the (first)
 * list is empty. */
static void ja4_part(struct sb *o, const struct td_client_hello *ch, bool raw, bool original, bool ext)
{
    uint16_t list[TD_MAX_CIPHERS];
    uint16_t sigs[TD_MAX_U16_LIST];
    size_t n_list, n_sigs = 0;
    char buf[FP_BUF];
    char hash[13];
    struct sb s;
    struct fpkey k;
    struct memo_ent *m = NULL;
    bool hit, ok = true;

    if (!raw) {
        key_start(&k, ext ? (original ? 'C' : 'c') : (original ? 'B' : 'b'));
        if (ext) {
            key_list(&k, ch->ext_order.v, ch->ext_order.n);
            key_list(&k, ch->sig_algs.v, ch->sig_algs.n);
        } else {
            key_list(&k, ch->ciphers, ch->num_ciphers);
        }
        m = memo_find(&k, &hit);
        if (hit) {
            sb_put(o, m->hex, 12);
            return;
        }
    }
    if (ext) {
        n_list = filter(ch->ext_order.v, ch->ext_order.n, list, !original, !original);
        n_sigs = filter(ch->sig_algs.v, ch->sig_algs.n, sigs, false, false);
    } else {
        n_list = filter(ch->ciphers, ch->num_ciphers, list, false, !original);
    }
    sb_init(&s, buf, sizeof(buf));
    sb_hex_list(&s, list, n_list);
    if (ext && n_sigs != 0) {
        sb_putc(&s, '_');
        sb_hex_list(&s, sigs, n_sigs);
    }
    if (raw) {
        sb_put(o, s.b, s.len);
        return;
    }
    if (n_list == 0)
        memcpy(hash, "000000000000", 13);
    else
        digest_hex(md_get(true), s.b, s.len, hash, 12, &ok);
    sb_put(o, hash, 12);
    if (ok)
        memo_store(m, &k, hash, 12);
}

/* JA4 (FoxIO technical_details/JA4.md), TCP only:
 *   t | version | d/i | cipher count | extension count | ALPN first+last
 *   _ sha256_12(ciphers) _ sha256_12(extensions "_" signature algorithms)
 * version: highest non-GREASE supported_versions value, else
 * legacy_version.  Counts exclude GREASE and include SNI/ALPN (cap 99).
 * ALPN: first and last byte of the first value when both are ASCII
 * alphanumeric, else the first hex digit of the first byte and the last hex
 * digit of the last byte; "00" when there is none.  The sorted extension
 * list drops SNI (0) and ALPN (16); the original-order one (_o) keeps them.
 * Signature algorithms keep wire order (GREASE removed).  An empty list
 * hashes to "000000000000". */
void td_ja4(const struct td_client_hello *ch, bool raw, bool original, char *out, size_t out_len)
{
    uint16_t version = ch->legacy_version;
    struct sb o;

    if (ch->has_supported_versions) {
        uint16_t best = 0;

        for (size_t i = 0; i < ch->versions.n; i++) {
            if (!td_is_grease(ch->versions.v[i]) && ch->versions.v[i] > best)
                best = ch->versions.v[i];
        }
        if (best != 0)
            version = best;
    }
    if (out == NULL || out_len == 0)
        return;
    sb_init(&o, out, out_len);
    sb_putc(&o, 't');
    sb_puts(&o, ja4_version(version));
    sb_putc(&o, ch->has_sni ? 'd' : 'i');
    sb_count2(&o, count_non_grease(ch->ciphers, ch->num_ciphers));
    sb_count2(&o, count_non_grease(ch->ext_order.v, ch->ext_order.n));
    if (ch->num_alpn == 0 || ch->alpn[0].wire_len == 0) {
        sb_puts(&o, "00");
    } else {
        uint8_t first = ch->alpn[0].b[0];
        uint8_t last = ch->alpn[0].last_byte;

        if (is_alnum(first) && is_alnum(last)) {
            sb_putc(&o, (char)first);
            sb_putc(&o, (char)last);
        } else {
            sb_putc(&o, hexd[first >> 4]);
            sb_putc(&o, hexd[last & 0xf]);
        }
    }
    sb_putc(&o, '_');
    ja4_part(&o, ch, raw, original, false);
    sb_putc(&o, '_');
    ja4_part(&o, ch, raw, original, true);
    sb_str(&o);
}
