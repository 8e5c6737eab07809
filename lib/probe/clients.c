/* clients.c: the client simulation database (data/clients) and the
 * explanation of a replayed client's failure.
 *
 * Why the data is embedded and parsed at run time: the .client files stay
 * readable text with their sources (reviewable, diffable, extendable by a
 * user's own file), the binary needs no install path, and there is a single
 * bounded parser for both the embedded text and a user's file.  The build
 * only turns the files into a byte array (tools/gen-clients.sh). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "tlsdiag/alloc.h"
#include "probe/clients_data.h"
#include "tlsdiag/probe_clients.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/rules.h"

/* ------------------------------------------------------------ parsing */

/* fmt: snprintf into a fixed field; truncation is accepted (these are
 * bounded report strings). */
static void fmt(char *dst, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *dst, size_t cap, const char *f, ...)
{
    va_list ap;

    va_start(ap, f);
    vsnprintf(dst, cap, f, ap);
    va_end(ap);
}

static void set_err(struct td_sim_err *err, unsigned line, const char *msg)
{
    if (err == NULL)
        return;
    err->line = line;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* parse_version: "3.0", "1.0" .. "1.3" -> 0x0300 .. 0x0304 (0 if not one) */
static uint16_t parse_version(const char *s, size_t n)
{
    static const struct { const char *s; uint16_t v; } t[] = {
        {"3.0", 0x0300}, {"1.0", 0x0301}, {"1.1", 0x0302}, {"1.2", 0x0303}, {"1.3", 0x0304},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (n == 3 && memcmp(s, t[i].s, 3) == 0)
            return t[i].v;
    }
    return 0;
}

static bool parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10u + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_yesno(const char *s, size_t n, bool *out)
{
    if (n == 3 && memcmp(s, "yes", 3) == 0) {
        *out = true;
        return true;
    }
    if (n == 2 && memcmp(s, "no", 2) == 0) {
        *out = false;
        return true;
    }
    return false;
}

static void copy_field(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

struct build {
    struct td_sim_client *c;   /* entry being read, NULL outside one */
    size_t hello_cap;
    bool have_versions, have_ciphers, have_sni, have_record, have_kind;
};

static bool key_is(const char *k, size_t kn, const char *want)
{
    return strlen(want) == kn && memcmp(k, want, kn) == 0;
}

/* finish_entry checks an entry at "end" and parses its hello. */
static bool finish_entry(struct build *b, unsigned line, struct td_sim_err *err)
{
    struct td_sim_client *c = b->c;
    struct td_cur msg;
    uint8_t type;
    uint32_t len;

    if (c->name[0] == '\0' || !b->have_versions || !b->have_ciphers || !b->have_sni ||
        !b->have_record || !b->have_kind || c->source[0] == '\0' || c->hello_len == 0) {
        set_err(err, line, "entry lacks one of name, kind, source, versions, ciphers, sni, record, hex");
        return false;
    }
    td_cur_init(&msg, c->hello, c->hello_len);
    if (!td_cur_get_u8(&msg, &type) || !td_cur_get_u24(&msg, &len) || type != TD_HS_CLIENT_HELLO ||
        len != td_cur_len(&msg)) {
        set_err(err, line, "hex is not one whole ClientHello handshake message");
        return false;
    }
    c->parse_status = td_parse_client_hello(&c->ch, &msg);
    c->ch.record_version = c->record_version;
    if (c->parse_status != TD_OK) {
        set_err(err, line, "the ClientHello does not parse");
        return false;
    }
    if (c->vmin > c->vmax) {
        set_err(err, line, "versions: MIN above MAX");
        return false;
    }
    return true;
}

static bool add_hex(struct td_sim_client *c, const char *s, size_t n, size_t *cap)
{
    if (n % 2 != 0)
        return false;
    if (c->hello_len + n / 2 > TD_SIM_MAX_HELLO)
        return false;
    if (c->hello_len + n / 2 > *cap) {
        size_t ncap = *cap ? *cap * 2 : 1024;
        uint8_t *p;

        while (ncap < c->hello_len + n / 2)
            ncap *= 2;
        if (ncap > TD_SIM_MAX_HELLO)
            ncap = TD_SIM_MAX_HELLO;
        p = td_realloc(c->hello, ncap);
        if (p == NULL)
            return false;
        c->hello = p;
        *cap = ncap;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        c->hello[c->hello_len++] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool id_ok(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof(((struct td_sim_client *)0)->id))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* one_line handles one line (|s|, |n| without the newline). */
static enum td_status one_line(struct td_sim_db *db, struct build *b, const char *s, size_t n,
                               unsigned line, struct td_sim_err *err)
{
    size_t kn = 0, vo;
    const char *v;
    size_t vn;

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n == 0 || s[0] == '#')
        return TD_OK;
    while (kn < n && s[kn] != ' ')
        kn++;
    vo = kn;
    while (vo < n && s[vo] == ' ')
        vo++;
    v = s + vo;
    vn = n - vo;

    if (b->c == NULL) {
        if (!key_is(s, kn, "client")) {
            set_err(err, line, "expected 'client ID'");
            return TD_EMALFORMED;
        }
        if (!id_ok(v, vn)) {
            set_err(err, line, "client ID: 1..47 bytes of [a-z0-9._-]");
            return TD_EMALFORMED;
        }
        if (db->n == TD_SIM_MAX_CLIENTS) {
            set_err(err, line, "more clients than TD_SIM_MAX_CLIENTS");
            return TD_ELIMIT;
        }
        for (size_t i = 0; i < db->n; i++) {
            if (strlen(db->v[i].id) == vn && memcmp(db->v[i].id, v, vn) == 0) {
                set_err(err, line, "duplicate client ID");
                return TD_EMALFORMED;
            }
        }
        memset(b, 0, sizeof(*b));
        b->c = &db->v[db->n++];
        memset(b->c, 0, sizeof(*b->c));
        copy_field(b->c->id, sizeof(b->c->id), v, vn);
        return TD_OK;
    }

    struct td_sim_client *c = b->c;
    if (key_is(s, kn, "end")) {
        if (!finish_entry(b, line, err))
            return TD_EMALFORMED;
        b->c = NULL;
        return TD_OK;
    }
    if (key_is(s, kn, "name")) {
        copy_field(c->name, sizeof(c->name), v, vn);
    } else if (key_is(s, kn, "kind")) {
        if (key_is(v, vn, "captured"))
            c->captured = true;
        else if (!key_is(v, vn, "rebuilt")) {
            set_err(err, line, "kind: captured or rebuilt");
            return TD_EMALFORMED;
        }
        b->have_kind = true;
    } else if (key_is(s, kn, "source")) {
        size_t have = strlen(c->source);

        if (have > 0 && have + 3 < sizeof(c->source)) {
            memcpy(c->source + have, " | ", 4);
            have += 3;
        }
        if (have + 1 < sizeof(c->source))
            copy_field(c->source + have, sizeof(c->source) - have, v, vn);
    } else if (key_is(s, kn, "versions")) {
        if (vn != 7 || v[3] != '-' || (c->vmin = parse_version(v, 3)) == 0 ||
            (c->vmax = parse_version(v + 4, 3)) == 0) {
            set_err(err, line, "versions: MIN-MAX, e.g. 1.0-1.3");
            return TD_EMALFORMED;
        }
        b->have_versions = true;
    } else if (key_is(s, kn, "ciphers")) {
        unsigned u;

        if (!parse_uint(v, vn, TD_MAX_CIPHERS, &u)) {
            set_err(err, line, "ciphers: a count");
            return TD_EMALFORMED;
        }
        c->num_ciphers = (uint16_t)u;
        b->have_ciphers = true;
    } else if (key_is(s, kn, "sni")) {
        if (!parse_yesno(v, vn, &c->sends_sni)) {
            set_err(err, line, "sni: yes or no");
            return TD_EMALFORMED;
        }
        b->have_sni = true;
    } else if (key_is(s, kn, "aia")) {
        if (!parse_yesno(v, vn, &c->fetches_intermediates)) {
            set_err(err, line, "aia: yes or no");
            return TD_EMALFORMED;
        }
    } else if (key_is(s, kn, "param")) {
        /* documentation of a rebuilt hello (tools/clients-gen.py) */
    } else if (key_is(s, kn, "record")) {
        int d[4];

        if (vn != 4) {
            set_err(err, line, "record: 4 hex digits");
            return TD_EMALFORMED;
        }
        for (int i = 0; i < 4; i++) {
            d[i] = hexval(v[i]);
            if (d[i] < 0) {
                set_err(err, line, "record: 4 hex digits");
                return TD_EMALFORMED;
            }
        }
        c->record_version = (uint16_t)(d[0] << 12 | d[1] << 8 | d[2] << 4 | d[3]);
        b->have_record = true;
    } else if (key_is(s, kn, "hex")) {
        if (!add_hex(c, v, vn, &b->hello_cap)) {
            set_err(err, line, "hex: bad digits, odd count, or over TD_SIM_MAX_HELLO");
            return TD_EMALFORMED;
        }
    } else {
        set_err(err, line, "unknown key");
        return TD_EMALFORMED;
    }
    return TD_OK;
}

enum td_status td_sim_db_parse(struct td_sim_db *db, const char *text, size_t len,
                               struct td_sim_err *err)
{
    struct build b;
    enum td_status st = TD_OK;
    unsigned line = 0;
    size_t pos = 0;

    memset(db, 0, sizeof(*db));
    memset(&b, 0, sizeof(b));
    set_err(err, 0, "");
    if (len > TD_SIM_MAX_TEXT) {
        set_err(err, 0, "database text over TD_SIM_MAX_TEXT");
        return TD_ELIMIT;
    }
    db->v = td_calloc(TD_SIM_MAX_CLIENTS, sizeof(*db->v));
    if (db->v == NULL)
        return TD_ENOMEM;
    while (pos < len) {
        size_t e = pos;

        while (e < len && text[e] != '\n')
            e++;
        line++;
        if (e - pos > TD_SIM_MAX_LINE) {
            set_err(err, line, "line longer than TD_SIM_MAX_LINE");
            st = TD_ELIMIT;
            goto out;
        }
        if (memchr(text + pos, '\0', e - pos) != NULL) {
            set_err(err, line, "NUL byte in the text");
            st = TD_EMALFORMED;
            goto out;
        }
        st = one_line(db, &b, text + pos, e - pos, line, err);
        if (st != TD_OK)
            goto out;
        pos = e + 1;
    }
    if (b.c != NULL) {
        set_err(err, line, "last entry has no 'end'");
        st = TD_EMALFORMED;
    }
out:
    if (st != TD_OK)
        td_sim_db_cleanup(db);
    return st;
}

enum td_status td_sim_db_builtin(struct td_sim_db *db, struct td_sim_err *err)
{
    return td_sim_db_parse(db, (const char *)td_clients_data, td_clients_data_len, err);
}

void td_sim_db_cleanup(struct td_sim_db *db)
{
    if (db->v != NULL) {
        for (size_t i = 0; i < db->n; i++)
            free(db->v[i].hello);
        free(db->v);
    }
    db->v = NULL;
    db->n = 0;
}

const struct td_sim_client *td_sim_db_find(const struct td_sim_db *db, const char *id)
{
    for (size_t i = 0; i < db->n; i++) {
        if (strcmp(db->v[i].id, id) == 0)
            return &db->v[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ SNI rewrite */

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Our own stored bytes (parsed once at load), but walked with the cursor
 * anyway: a user's file is untrusted too. */
size_t td_sim_hello_records(const struct td_sim_client *c, const char *sni, uint8_t *out, size_t cap)
{
    uint8_t msg[TD_SIM_MAX_HELLO + 300];
    size_t mlen = 0, sni_len = sni ? strlen(sni) : 0;
    struct td_cur cur, exts;
    uint8_t u8;
    uint32_t u24;
    size_t ext_len_at, pad_at = 0, pad_len = 0;
    bool have_pad = false;
    long delta = 0;

    if (sni_len > 255)
        return 0;
    td_cur_init(&cur, c->hello, c->hello_len);
    /* header, version, random, session id, ciphers, compression */
    struct td_cur skip;
    if (!td_cur_get_u8(&cur, &u8) || !td_cur_get_u24(&cur, &u24) || !td_cur_skip(&cur, 34) ||
        !td_cur_get_vec8(&cur, &skip) || !td_cur_get_vec16(&cur, &skip) ||
        !td_cur_get_vec8(&cur, &skip))
        return 0;
    mlen = c->hello_len - td_cur_len(&cur);
    memcpy(msg, c->hello, mlen);
    if (!c->sends_sni || td_cur_empty(&cur)) {
        memcpy(msg + mlen, c->hello + mlen, td_cur_len(&cur));
        mlen += td_cur_len(&cur);
        goto frame;
    }
    if (!td_cur_get_vec16(&cur, &exts))
        return 0;
    ext_len_at = mlen;
    mlen += 2;
    bool wrote_sni = false;
    while (!td_cur_empty(&exts)) {
        uint16_t type;
        struct td_cur body;

        if (!td_cur_get_u16(&exts, &type) || !td_cur_get_vec16(&exts, &body))
            return 0;
        if (type == TD_EXT_SERVER_NAME) {
            if (sni == NULL) {
                delta -= (long)(4 + td_cur_len(&body));
                continue;
            }
            if (wrote_sni || mlen + 9 + sni_len > sizeof(msg))
                return 0; /* a second server_name: not a hello we replay */
            put16(msg + mlen, type);
            put16(msg + mlen + 2, sni_len + 5);
            put16(msg + mlen + 4, sni_len + 3);
            msg[mlen + 6] = 0;
            put16(msg + mlen + 7, sni_len);
            memcpy(msg + mlen + 9, sni, sni_len);
            mlen += 9 + sni_len;
            delta += (long)(sni_len + 5) - (long)td_cur_len(&body);
            wrote_sni = true;
            continue;
        }
        if (mlen + 4 + td_cur_len(&body) > sizeof(msg) - 300)
            return 0;
        if (type == TD_EXT_PADDING) {
            have_pad = true;
            pad_at = mlen;
            pad_len = td_cur_len(&body);
        }
        put16(msg + mlen, type);
        put16(msg + mlen + 2, td_cur_len(&body));
        td_memcpy(msg + mlen + 4, body.p, td_cur_len(&body));
        mlen += 4 + td_cur_len(&body);
    }
    if (sni != NULL && !wrote_sni) {
        /* a client that sends SNI but whose stored hello had none: add it first */
        if (mlen + 9 + sni_len > sizeof(msg))
            return 0;
        memmove(msg + ext_len_at + 2 + 9 + sni_len, msg + ext_len_at + 2, mlen - ext_len_at - 2);
        if (have_pad)
            pad_at += 9 + sni_len;
        put16(msg + ext_len_at + 2, TD_EXT_SERVER_NAME);
        put16(msg + ext_len_at + 4, sni_len + 5);
        put16(msg + ext_len_at + 6, sni_len + 3);
        msg[ext_len_at + 8] = 0;
        put16(msg + ext_len_at + 9, sni_len);
        memcpy(msg + ext_len_at + 11, sni, sni_len);
        mlen += 9 + sni_len;
        delta += (long)(9 + sni_len);
    }
    if (have_pad && delta != 0 && (long)pad_len - delta >= 0 && (long)pad_len - delta <= 0xffff) {
        size_t npad = (size_t)((long)pad_len - delta);
        size_t tail = pad_at + 4 + pad_len;

        memmove(msg + pad_at + 4 + npad, msg + tail, mlen - tail);
        memset(msg + pad_at + 4, 0, npad);
        put16(msg + pad_at + 2, npad);
        mlen = mlen - pad_len + npad;
    }
    put16(msg + ext_len_at, mlen - ext_len_at - 2);
    msg[1] = (uint8_t)((mlen - 4) >> 16);
    msg[2] = (uint8_t)((mlen - 4) >> 8);
    msg[3] = (uint8_t)(mlen - 4);

frame:;
    size_t o = 0;
    for (size_t at = 0; at < mlen;) {
        size_t n = mlen - at > 16384 ? 16384 : mlen - at;

        if (o + 5 + n > cap)
            return 0;
        out[o] = TD_CT_HANDSHAKE;
        put16(out + o + 1, c->record_version);
        put16(out + o + 3, n);
        memcpy(out + o + 5, msg + at, n);
        o += 5 + n;
        at += n;
    }
    return o;
}

/* ------------------------------------------------------------ explaining */

int td_sim_version_index(uint16_t v)
{
    if (v < 0x0300 || v > 0x0304)
        return -1;
    return v - 0x0300;
}

static const char *vname(int i)
{
    static const char *const n[] = {"SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"};
    return i >= 0 && i < 5 ? n[i] : "?";
}

/* client_versions: which of SSL 3.0..TLS 1.3 the client offers. */
static void client_versions(const struct td_sim_client *c, bool out[TD_SIM_NVERS])
{
    memset(out, 0, TD_SIM_NVERS * sizeof(bool));
    if (c->ch.has_supported_versions) {
        for (uint16_t i = 0; i < c->ch.versions.n; i++) {
            int k = td_sim_version_index(c->ch.versions.v[i]);
            if (k >= 0)
                out[k] = true;
        }
        return;
    }
    for (int k = td_sim_version_index(c->vmin); k >= 0 && k <= td_sim_version_index(c->ch.legacy_version) &&
                                                k < 3 + 1; k++)
        out[k] = true;
}

static bool has_u16(const uint16_t *v, uint16_t n, uint16_t x)
{
    for (uint16_t i = 0; i < n; i++) {
        if (v[i] == x)
            return true;
    }
    return false;
}

static bool is_tls13_suite(uint16_t s)
{
    return s >= 0x1301 && s <= 0x1305;
}

/* server_auth: from its accepted <= 1.2 suites, does the server have an RSA
 * and/or an ECDSA key?  (IANA names: *_ECDSA_* vs *_RSA_WITH_/ RSA_WITH_.) */
static void server_auth(const struct td_sim_server *srv, bool *rsa, bool *ecdsa)
{
    *rsa = *ecdsa = false;
    for (int k = 0; k < 4; k++) {
        for (uint16_t i = 0; i < srv->num_ciphers[k]; i++) {
            const char *n = td_reg_name(TD_REG_CIPHER, srv->ciphers[k][i]);
            if (n == NULL)
                continue;
            if (strstr(n, "_ECDSA_") != NULL)
                *ecdsa = true;
            else if (strstr(n, "RSA_") != NULL)
                *rsa = true;
        }
    }
    if (!*rsa && !*ecdsa)
        *rsa = true; /* nothing known: RSA is the common case */
}

static bool suite_fits_key(uint16_t s, bool rsa, bool ecdsa)
{
    const char *n = td_reg_name(TD_REG_CIPHER, s);

    if (n == NULL || strstr(n, "_anon_") != NULL || strstr(n, "PSK") != NULL ||
        strstr(n, "_DSS_") != NULL || strstr(n, "ECDH_") != NULL || strstr(n, "_DH_") != NULL ||
        strstr(n, "KRB5") != NULL || strstr(n, "SRP") != NULL)
        return false;
    if (strstr(n, "_ECDSA_") != NULL)
        return ecdsa;
    return rsa;
}

/* suite_standard: a suite a server can be configured with: a registered,
 * final value -- not GREASE, not a signalling value (SCSV), not a draft
 * code point (the *_OLD ChaCha20 ones) -- and, when |need_ossl|, one
 * OpenSSL knows by name. */
static bool suite_standard(uint16_t s, bool need_ossl)
{
    const char *n = td_reg_name(TD_REG_CIPHER, s);
    const char *ossl;
    char iana[96];

    if (n == NULL || td_is_grease(s) || strstr(n, "SCSV") != NULL || strstr(n, "_OLD") != NULL)
        return false;
    if (!need_ossl)
        return true;
    td_reg_fmt(TD_REG_CIPHER, s, iana, sizeof(iana));
    ossl = OPENSSL_cipher_name(iana);
    return ossl != NULL && strcmp(ossl, "(NONE)") != 0;
}

static void suite_names(uint16_t s, char *out, size_t cap)
{
    char iana[96];
    const char *ossl;

    td_reg_fmt(TD_REG_CIPHER, s, iana, sizeof(iana));
    ossl = OPENSSL_cipher_name(iana);
    if (ossl != NULL && strcmp(ossl, "(NONE)") != 0)
        fmt(out, cap, "%s (%s)", ossl, iana);
    else
        fmt(out, cap, "%s", iana);
}

static const char *obs_answer(const struct td_sim_obs *o, char *buf, size_t cap)
{
    char an[64];

    switch (o->kind) {
    case TD_SIM_SERVER_HELLO:
        return "server_hello";
    case TD_SIM_ALERT:
        td_reg_fmt(TD_REG_ALERT, o->alert, an, sizeof(an));
        fmt(buf, cap, "alert:%s", an);
        return buf;
    case TD_SIM_RST:
        return "rst";
    case TD_SIM_FIN:
        return "fin";
    case TD_SIM_TIMEOUT:
        return "timeout";
    case TD_SIM_NOT_TLS:
        return "not_tls";
    case TD_SIM_NO_CONNECT:
        return "no_connect";
    case TD_SIM_LOCAL_ERROR:
        break;
    }
    return "local_error";
}

/* code_from_answer: the contract code an answer alone supports. */
static const char *code_from_answer(const struct td_sim_obs *o)
{
    if (o->engine_code != NULL)
        return o->engine_code;
    switch (o->kind) {
    case TD_SIM_ALERT:
        if (o->alert == 70)
            return "protocol_version";
        if (o->alert == 112)
            return "sni_unrecognized";
        if (o->alert == 120)
            return "alpn_mismatch";
        if (o->alert == 80)
            return "internal_error";
        if (o->alert == 10 || o->alert == 20 || o->alert == 22 || o->alert == 47 || o->alert == 50)
            return "protocol_error";
        return "alert";
    case TD_SIM_RST:
        return "reset_by_server";
    case TD_SIM_FIN:
        return "closed_by_server";
    case TD_SIM_TIMEOUT:
        return "server_silent";
    case TD_SIM_NOT_TLS:
        return "not_tls";
    case TD_SIM_NO_CONNECT:
        return "tcp_refused";
    case TD_SIM_SERVER_HELLO:
    case TD_SIM_LOCAL_ERROR:
        break;
    }
    return "unknown";
}

void td_sim_explain(struct td_sim_result *r, const struct td_sim_client *c,
                    const struct td_sim_server *srv, const struct td_sim_obs *obs)
{
    bool cv[TD_SIM_NVERS], common[TD_SIM_NVERS];
    int ncommon = 0, cmax = -1, cmin = -1, smin = -1, smax = -1;
    char buf[64];

    memset(r, 0, sizeof(*r));
    r->client = c;
    fmt(r->answer, sizeof(r->answer), "%s", obs_answer(obs, buf, sizeof(buf)));
    client_versions(c, cv);
    for (int k = 0; k < TD_SIM_NVERS; k++) {
        common[k] = cv[k] && srv->version_known[k] && srv->version_ok[k];
        if (common[k])
            ncommon++;
        if (cv[k]) {
            if (cmin < 0)
                cmin = k;
            cmax = k;
        }
        if (srv->version_known[k] && srv->version_ok[k]) {
            if (smin < 0)
                smin = k;
            smax = k;
        }
    }

    if (obs->kind == TD_SIM_SERVER_HELLO) {
        r->ok = true;
        r->version = obs->version;
        r->cipher = obs->cipher;
        if (srv->chain_incomplete && !c->fetches_intermediates) {
            r->ok = false;
            r->predicted = true;
            fmt(r->code, sizeof(r->code), "server_cert_rejected");
            fmt(r->detail, sizeof(r->detail),
                     "the handshake gets a ServerHello, but the server does not send its intermediate "
                     "certificate and %s does not fetch missing intermediates (unknown_ca)", c->name);
            fmt(r->fix, sizeof(r->fix),
                     "serve the intermediate: send the full chain (leaf then intermediates), e.g. "
                     "nginx ssl_certificate with the fullchain file");
            return;
        }
        if (srv->client_cert_required) {
            /* None of the database's clients carries a certificate: the
             * ServerHello comes, the handshake is refused later. */
            r->ok = false;
            r->predicted = true;
            fmt(r->code, sizeof(r->code), "client_cert_missing");
            fmt(r->detail, sizeof(r->detail),
                "the handshake gets a ServerHello, but the server requires a client certificate "
                "and %s sends none", c->name);
            fmt(r->fix, sizeof(r->fix),
                "give this client a certificate, or make client certificates optional "
                "(nginx: ssl_verify_client optional)");
        } else if (srv->client_cert_requested) {
            r->cert_asked = true;
            fmt(r->detail, sizeof(r->detail),
                "connects; the server asks for a client certificate and goes on without one");
        }
        return;
    }

    /* The replay failed: compare the client's hello with what the probe
     * found the server accepts, most basic mismatch first. */
    if (!c->ch.has_sni && srv->sni_required) {
        r->predicted = true;
        fmt(r->code, sizeof(r->code), "sni_required");
        fmt(r->detail, sizeof(r->detail),
                 "%s sends no server_name and the server refuses hellos without one", c->name);
        fmt(r->fix, sizeof(r->fix),
                 "give connections without SNI a default: a default server/certificate "
                 "(nginx: listen ... default_server; ssl_preread: a default upstream)");
        return;
    }
    if (smin >= 0 && ncommon == 0 && cmax >= 0) {
        r->predicted = true;
        fmt(r->code, sizeof(r->code), "protocol_version");
        if (cmax < smin) {
            fmt(r->detail, sizeof(r->detail), "%s offers %s to %s, the server accepts %s to %s",
                     c->name, vname(cmin), vname(cmax), vname(smin), vname(smax));
            fmt(r->fix, sizeof(r->fix), "enable %s (the highest this client supports)",
                     vname(cmax));
        } else {
            fmt(r->detail, sizeof(r->detail), "%s offers %s to %s, the server accepts %s to %s",
                     c->name, vname(cmin), vname(cmax), vname(smin), vname(smax));
            fmt(r->fix, sizeof(r->fix), "enable %s", vname(cmin));
        }
        return;
    }
    if (ncommon > 0) {
        bool any_cipher = false, any_group_problem = false;
        int best = -1;

        for (int k = TD_SIM_NVERS - 1; k >= 0; k--) {
            bool shared = false;

            if (!common[k])
                continue;
            if (best < 0)
                best = k;
            for (uint16_t i = 0; i < c->ch.num_ciphers && !shared; i++) {
                uint16_t s = c->ch.ciphers[i];
                if (td_is_grease(s) || (k == 4) != is_tls13_suite(s))
                    continue;
                shared = has_u16(srv->ciphers[k], srv->num_ciphers[k], s);
            }
            if (srv->num_ciphers[k] == 0)
                shared = true; /* the plan did not enumerate suites: unknown */
            if (!shared)
                continue;
            if (k == 4 && srv->num_groups > 0) {
                bool g = false;
                for (uint16_t i = 0; i < c->ch.groups.n && !g; i++)
                    g = has_u16(srv->groups, srv->num_groups, c->ch.groups.v[i]);
                if (!g) {
                    any_group_problem = true;
                    continue;
                }
            }
            any_cipher = true;
        }
        if (!any_cipher && any_group_problem) {
            char gn[64] = "";
            r->predicted = true;
            fmt(r->code, sizeof(r->code), "no_shared_group");
            for (uint16_t i = 0; i < c->ch.groups.n; i++) {
                uint16_t g = c->ch.groups.v[i];
                if (g == 0x001d || g == 0x0017 || g == 0x0018) {
                    td_reg_fmt(TD_REG_GROUP, g, gn, sizeof(gn));
                    break;
                }
            }
            fmt(r->detail, sizeof(r->detail),
                     "%s and the server share TLS 1.3 suites but no key exchange group", c->name);
            fmt(r->fix, sizeof(r->fix), "add the group %s to the server's groups/curves",
                     gn[0] ? gn : "x25519");
            return;
        }
        if (!any_cipher && best >= 0) {
            bool rsa, ecdsa;
            char sn[160] = "";
            r->predicted = true;
            fmt(r->code, sizeof(r->code), "no_shared_cipher");
            server_auth(srv, &rsa, &ecdsa);
            /* the first modern suite the client offers that fits the key,
             * then a legacy one; a standard suite OpenSSL knows first, any
             * standard one next -- never GREASE, SCSV or a draft value */
            for (int pass = 0; pass < 4 && sn[0] == '\0'; pass++) {
                bool legacy_ok = pass >= 2, need_ossl = (pass % 2) == 0;
                for (uint16_t i = 0; i < c->ch.num_ciphers; i++) {
                    uint16_t s = c->ch.ciphers[i];
                    int cls = td_cipher_class(s);
                    if (!suite_standard(s, need_ossl) || (best == 4) != is_tls13_suite(s))
                        continue;
                    if (cls < 0 || cls == 2 || (cls == 1 && !legacy_ok))
                        continue;
                    if (best < 4 && !suite_fits_key(s, rsa, ecdsa))
                        continue;
                    suite_names(s, sn, sizeof(sn));
                    break;
                }
            }
            fmt(r->detail, sizeof(r->detail),
                     "%s and the server share %s but none of the client's %u cipher suites", c->name,
                     vname(best), (unsigned)c->num_ciphers);
            if (sn[0] != '\0')
                fmt(r->fix, sizeof(r->fix), "add %s to the server's %s cipher list", sn,
                         vname(best));
            else
                fmt(r->fix, sizeof(r->fix),
                         "none of the client's suites fits the server's key: add a certificate of "
                         "another key type, or retire this client");
            return;
        }
    }
    /* The probe's tables do not explain it: say what the answer shows. */
    fmt(r->code, sizeof(r->code), "%s", code_from_answer(obs));
    fmt(r->detail, sizeof(r->detail),
             "the server answered %s's hello with %s, which the probed versions, ciphers and "
             "groups do not explain",
             c->name, r->answer);
    fmt(r->fix, sizeof(r->fix),
             "capture a real attempt of this client and run `tlsdiag read` on it");
}
