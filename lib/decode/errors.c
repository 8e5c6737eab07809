/* errors.c: error strings -> who raised it, the alert, contract codes, what next.
 *
 * Matching is a case-insensitive substring search in which '_' and ' ' are
 * the same character (so OpenSSL's "wrong version number", BoringSSL's and
 * Python's "WRONG_VERSION_NUMBER" are one entry).  No regex library.
 *
 * Per line, in this order:
 *   1. the printing program's role (client/server) from role markers
 *      ("curl:", "SSL_do_handshake() failed", "to upstream", ...);
 *   2. alert extractors: an alert the PEER sent ("sslv3 alert X",
 *      "TLSV1_ALERT_X", "SSL alert number N", "Received fatal alert: X",
 *      "remote error: tls: X", "Received alert [N]") or one this side sent
 *      (Go's "local error: tls: X");
 *   3. when no alert was found, the first specific table entry that matches;
 *   4. when nothing matched yet, the first generic entry (curl "(35)",
 *      HAProxy "SSL handshake failure", ...), which says little but is honest.
 * Codes are the ones in diagnoses.md; more than one means "ambiguous", ranked.
 * Alert names come from the IANA registry (td_reg_name), never typed here. */
/* memmem: glibc declares it under _GNU_SOURCE (POSIX.1-2024 has it) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode_int.h"
#include "tlsdiag/registry.h"

#define NEXT_CAPTURE "capture it: `tcpdump -i any -w fail.pcap 'tcp port 443'` while reproducing, then `tlsdiag read fail.pcap`"
#define NEXT_PROBE "`tlsdiag probe HOST:PORT` shows which versions, ciphers and names the server accepts"

/* ---- matching ---- */

/* ASCII letters to lower case, '_' to ' ': a table built by the compiler,
 * so folding a line is one load per byte, not two comparisons */
#define FOLD1(c) ((c) + ('a' - 'A') * ((c) >= 'A' && (c) <= 'Z') - ('_' - ' ') * ((c) == '_'))
#define FOLD4(c) FOLD1(c), FOLD1((c) + 1), FOLD1((c) + 2), FOLD1((c) + 3)
#define FOLD16(c) FOLD4(c), FOLD4((c) + 4), FOLD4((c) + 8), FOLD4((c) + 12)
#define FOLD64(c) FOLD16(c), FOLD16((c) + 16), FOLD16((c) + 32), FOLD16((c) + 48)
static const unsigned char fold_tab[256] = {FOLD64(0), FOLD64(64), FOLD64(128), FOLD64(192)};
#undef FOLD1
#undef FOLD4
#undef FOLD16
#undef FOLD64

static int fold(int c)
{
    return fold_tab[c & 0xff];
}

/* Candidates for the needle's first character come from memchr (one call
 * per byte value that folds to it, each pointer advanced only when used), so
 * a line is not walked byte by byte once per pattern: the decoder tries ~200
 * patterns on every line of up to TD_DEC_MAX_LINE characters. */
static const char *next_of(const char *p, const char *end, int c)
{
    const char *q = (p < end && c >= 0) ? memchr(p, c, (size_t)(end - p)) : NULL;
    return q != NULL ? q : end;
}

long td_dec_ci_find(const char *hay, size_t hn, const char *needle)
{
    size_t nn = strlen(needle);
    const char *end, *ca, *cb, *lim;
    int f0, alt = -1;

    if (nn == 0 || nn > hn)
        return -1;
    f0 = fold((unsigned char)needle[0]);
    if (f0 >= 'a' && f0 <= 'z')
        alt = f0 - 'a' + 'A';
    else if (f0 == ' ')
        alt = '_';
    end = hay + hn;
    lim = hay + (hn - nn); /* the last start that fits */
    ca = next_of(hay, end, f0);
    cb = next_of(hay, end, alt);
    for (;;) {
        const char *at = ca < cb ? ca : cb;
        size_t k = 1;
        if (at > lim)
            return -1;
        while (k < nn && fold((unsigned char)at[k]) == fold((unsigned char)needle[k]))
            k++;
        if (k == nn)
            return (long)(at - hay);
        if (at == ca)
            ca = next_of(at + 1, end, f0);
        else
            cb = next_of(at + 1, end, alt);
    }
}

/* ---- alert names ---- */

/* Go's crypto/tls prints its own words for alerts (alert.go alertText); the
 * ones that are not the IANA name with spaces are listed with their number. */
static const struct {
    const char *text;
    uint8_t code;
} go_alert_words[] = {
    {"unknown certificate authority", 48},
    {"protocol version not supported", 70},
    {"insufficient security level", 71},
    {"error decoding message", 50},
    {"error decrypting message", 51},
    {"revoked certificate", 44},
    {"expired certificate", 45},
    {"unknown certificate", 46},
    {"missing extension", 109},
};

static bool name_eq(const char *s, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (nl != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        int a = fold((unsigned char)s[i]), b = fold((unsigned char)name[i]);
        if (a == '-')
            a = ' ';
        if (a != b)
            return false;
    }
    return true;
}

/* strip OpenSSL/BoringSSL prefixes: "sslv3 alert ", "tlsv1 alert ",
 * "tlsv13 alert ", "tlsv1 ", "ssl alert " (case and '_' folded) */
static void strip_alert_prefix(const char **s, size_t *len)
{
    static const char *const pre[] = {"sslv3 alert ", "tlsv13 alert ", "tlsv1 alert ",
                                      "ssl alert ", "tlsv1 ", "tlsv13 "};
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
        size_t pl = strlen(pre[i]);
        if (*len > pl && td_dec_ci_find(*s, pl, pre[i]) == 0) {
            *s += pl;
            *len -= pl;
            return;
        }
    }
}

static bool is_blank_end(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

long td_dec_alert_number(const char *s, size_t len)
{
    static const char *const pre[] = {"alert number ", "alert no. ", "alert #", "alert "};
    uint32_t v = 0;
    size_t i = 0, digits = 0;
    bool hex = false;

    while (len > 0 && is_blank_end(s[0])) {
        s++;
        len--;
    }
    while (len > 0 && (is_blank_end(s[len - 1]) || s[len - 1] == '.'))
        len--;
    if (len == 0 || len > 32)
        return -1;
    for (size_t k = 0; k < sizeof(pre) / sizeof(pre[0]); k++) {
        size_t pl = strlen(pre[k]);
        if (len > pl && td_dec_ci_find(s, pl, pre[k]) == 0) {
            i = pl;
            break;
        }
    }
    if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        hex = true;
        i += 2;
    }
    for (; i < len; i++, digits++) {
        int d;
        if (s[i] >= '0' && s[i] <= '9')
            d = s[i] - '0';
        else if (hex && s[i] >= 'a' && s[i] <= 'f')
            d = s[i] - 'a' + 10;
        else if (hex && s[i] >= 'A' && s[i] <= 'F')
            d = s[i] - 'A' + 10;
        else
            return -1;
        if (digits >= 6)
            return -1; /* no alert, and no number worth quoting back */
        v = v * (hex ? 16u : 10u) + (uint32_t)d;
    }
    return digits > 0 ? (long)v : -1;
}

int td_dec_alert_lookup(const char *s, size_t len)
{
    long v;

    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '.'))
        len--;
    if (len == 0 || len > 64)
        return -1;
    v = td_dec_alert_number(s, len);
    if (v >= 0) {
        if (v > 255 || td_reg_name(TD_REG_ALERT, (uint16_t)v) == NULL)
            return -1;
        return (int)v;
    }
    strip_alert_prefix(&s, &len);
    {
        const char *name;
        uint16_t a;
        for (size_t k = 0; (name = td_reg_at(TD_REG_ALERT, k, &a)) != NULL; k++)
            if (a <= 255 && name_eq(s, len, name))
                return (int)a;
    }
    for (size_t k = 0; k < sizeof(go_alert_words) / sizeof(go_alert_words[0]); k++) {
        if (name_eq(s, len, go_alert_words[k].text))
            return go_alert_words[k].code;
    }
    return -1;
}

/* the longest alert name that starts at s[0..len) (words joined by ' ' or '_') */
static int alert_prefix_lookup(const char *s, size_t len, size_t *used)
{
    int best = -1;
    size_t i = 0;

    size_t lead = 0, core_end = 0;

    while (lead < len && (s[lead] == ' ' || s[lead] == '\t'))
        lead++;
    while (i <= len) {
        bool end;
        /* td_dec_alert_lookup refuses more than 64 characters once blanks
         * and dots at both ends are trimmed; the trimmed length only grows
         * with i, so no later word boundary can end a name */
        if (core_end > lead && core_end - lead > 64)
            break;
        end = i == len || s[i] == ' ' || s[i] == '_' || s[i] == ':' || s[i] == ')' ||
                   s[i] == '(' || s[i] == ',' || s[i] == '.' || s[i] == ']' || s[i] == '"' ||
                   s[i] == '\'';
        if (end && i > 0) {
            int a = td_dec_alert_lookup(s, i);
            if (a >= 0 && !(s[0] >= '0' && s[0] <= '9')) {
                best = a;
                *used = i;
            }
        }
        if (i < len && (s[i] == ':' || s[i] == ')' || s[i] == '(' || s[i] == ',' || s[i] == ']'))
            break;
        if (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '.')
            core_end = i + 1;
        i++;
    }
    return best;
}

/* ---- alert -> contract codes ---- */

unsigned td_dec_alert_codes(uint8_t desc, enum td_dec_role sender, const char **codes,
                            unsigned max, bool *ambiguous)
{
    const char *tmp[TD_DEC_MAX_CODES];
    unsigned n = 0;

    switch (desc) {
    case 0: /* close_notify during a handshake: a close */
        if (sender != TD_DEC_ROLE_CLIENT)
            tmp[n++] = "closed_by_server";
        if (sender != TD_DEC_ROLE_SERVER)
            tmp[n++] = "closed_by_client";
        break;
    case 10: case 20: case 22: case 47: case 50: case 109:
        tmp[n++] = "protocol_error";
        break;
    case 40:
        if (sender == TD_DEC_ROLE_CLIENT) {
            tmp[n++] = "alert";
            tmp[n++] = "protocol_version";
        } else {
            /* a server's handshake_failure right after the hello: no common
             * cipher is the most frequent reason, then a version it no longer
             * accepts, then groups; after a CertificateRequest, a missing
             * client certificate */
            tmp[n++] = "no_shared_cipher";
            tmp[n++] = "protocol_version";
            tmp[n++] = "no_shared_group";
            tmp[n++] = "client_cert_missing";
        }
        break;
    case 42: case 43: case 44: case 45: case 46: case 48: case 49: case 51:
        if (sender == TD_DEC_ROLE_CLIENT) {
            tmp[n++] = "server_cert_rejected";
        } else if (sender == TD_DEC_ROLE_SERVER) {
            tmp[n++] = "client_cert_rejected";
        } else {
            tmp[n++] = "server_cert_rejected";
            tmp[n++] = "client_cert_rejected";
        }
        break;
    case 70:
        tmp[n++] = "protocol_version";
        break;
    case 71:
        tmp[n++] = "no_shared_cipher";
        tmp[n++] = "no_shared_group";
        break;
    case 80:
        tmp[n++] = "internal_error";
        break;
    case 86:
        tmp[n++] = "inappropriate_fallback";
        break;
    case 112:
        tmp[n++] = "sni_unrecognized";
        break;
    case 116:
        tmp[n++] = "client_cert_missing";
        break;
    case 120:
        tmp[n++] = "alpn_mismatch";
        break;
    default:
        tmp[n++] = "alert";
        break;
    }
    if (n > max)
        n = max;
    for (unsigned i = 0; i < n; i++)
        codes[i] = tmp[i];
    if (ambiguous != NULL)
        *ambiguous = n > 1;
    return n;
}

static const char *alert_explanation(int a)
{
    switch (a) {
    case 40:
        return "handshake_failure: the sender found no acceptable set of parameters. Sent by a "
               "server right after the ClientHello it usually means no common cipher suite, or a "
               "protocol version it no longer accepts (older servers say 40 where newer say 70); "
               "after a CertificateRequest it can mean the client sent no certificate.";
    case 42: case 43: case 44: case 45: case 46: case 48: case 49: case 51:
        return "a certificate was refused by the side that sent this alert: sent by a client it "
               "rejects the server's chain (untrusted issuer, expired, wrong name); sent by a "
               "server it rejects the client certificate.";
    case 70:
        return "protocol_version: the sender does not accept the version offered or chosen.";
    case 71:
        return "insufficient_security: the sender requires stronger parameters (cipher suites or "
               "groups) than the other side offered.";
    case 80:
        return "internal_error: the sender failed for a reason of its own, unrelated to the "
               "peer's bytes (often a server-side configuration problem such as a missing key).";
    case 86:
        return "inappropriate_fallback: the client retried with a lower version and "
               "TLS_FALLBACK_SCSV, and the server supports a higher one.";
    case 112:
        return "unrecognized_name: the server has no certificate or virtual host for the name in "
               "the SNI extension.";
    case 116:
        return "certificate_required: the server requires a client certificate and none was sent.";
    case 120:
        return "no_application_protocol: no ALPN protocol in common (for example h2 only vs "
               "http/1.1 only).";
    case 10: case 20: case 22: case 47: case 50: case 109:
        return "the sender found the other side's bytes malformed or out of order (a protocol "
               "error; sometimes a middlebox that rewrites the handshake).";
    case 0:
        return "close_notify: an orderly close, here before the handshake completed.";
    default:
        return "a fatal alert ended the handshake.";
    }
}

static const char *alert_next(int a)
{
    switch (a) {
    case 40: case 70: case 71:
        return "compare what the client offers with what the server accepts: " NEXT_PROBE
               "; or " NEXT_CAPTURE " to see the ClientHello that was refused.";
    case 42: case 43: case 44: case 45: case 46: case 48: case 49: case 51:
        return "check the chain and the trust store of the side that refused it (dates, issuer, "
               "name, intermediates): `openssl s_client -connect HOST:PORT -showcerts`; or "
               NEXT_CAPTURE " to see which side sent the alert and after which message.";
    case 112:
        return "check the name the client sends (SNI) against the server's configured names: "
               NEXT_PROBE ".";
    case 116:
        return "configure a client certificate (curl --cert, s_client -cert) signed by a CA the "
               "server trusts.";
    case 120:
        return "compare the client's ALPN list with the server's: " NEXT_PROBE ".";
    default:
        return NEXT_CAPTURE " to see which side sent it and after which message.";
    }
}

void td_dec_alert_item(struct td_dec_item *it, int alert, enum td_dec_side side,
                       enum td_dec_role role)
{
    enum td_dec_role sender = TD_DEC_ROLE_UNKNOWN;

    it->alert = (int16_t)alert;
    it->side = (uint8_t)side;
    it->role = (uint8_t)role;
    if (side == TD_DEC_SIDE_PEER && role == TD_DEC_ROLE_CLIENT)
        sender = TD_DEC_ROLE_SERVER;
    else if (side == TD_DEC_SIDE_PEER && role == TD_DEC_ROLE_SERVER)
        sender = TD_DEC_ROLE_CLIENT;
    else if (side == TD_DEC_SIDE_LOCAL)
        sender = role;
    if (alert >= 0 && alert <= 255) {
        it->num_codes = (uint8_t)td_dec_alert_codes((uint8_t)alert, sender, it->codes,
                                                    TD_DEC_MAX_CODES, &it->ambiguous);
    } else {
        it->codes[0] = "alert";
        it->num_codes = 1;
        it->ambiguous = false;
    }
    it->explanation = alert_explanation(alert);
    it->next = alert_next(alert);
}

/* ---- the error table ---- */

#define P TD_DEC_SIDE_PEER
#define L TD_DEC_SIDE_LOCAL
#define U TD_DEC_SIDE_UNKNOWN
#define RC TD_DEC_ROLE_CLIENT
#define RS TD_DEC_ROLE_SERVER
#define RU TD_DEC_ROLE_UNKNOWN

struct pat {
    const char *id;
    const char *source;
    const char *any[3]; /* one of these must occur (the span reported) */
    const char *also;   /* and this too, when set */
    uint8_t side;
    uint8_t role;       /* role of the printing program this pattern implies */
    bool generic;       /* says little; only used when nothing else matched */
    int16_t alert;
    const char *codes[TD_DEC_MAX_CODES];     /* when the printer is a client (or unknown) */
    const char *codes_srv[TD_DEC_MAX_CODES]; /* when the printer is a server, if different */
    const char *explanation;
    const char *next;
};

static const struct pat table[] = {
    /* ---- not TLS on the other end ---- */
    {"openssl.wrong_version_number", "OpenSSL/BoringSSL/Python", {"wrong version number"}, NULL,
     L, RU, false, -1, {"not_tls", "protocol_version"}, {NULL},
     "the bytes that came back where a TLS record was expected do not carry a TLS version: on a "
     "client this almost always means the server port speaks plain HTTP or another protocol (or a "
     "proxy answered); less often an SSL 3.0/TLS version clash.",
     "check that the port speaks TLS: `curl -v http://HOST:PORT/` answering means plain HTTP; "
     "then " NEXT_CAPTURE " to see the non-TLS bytes."},
    {"openssl.http_request", "OpenSSL", {"http request"}, NULL, L, RS, false, -1,
     {"not_tls"}, {NULL},
     "a client sent a plain HTTP request to this TLS port.",
     "point the client at https:// (or at the plain-HTTP port)."},
    {"openssl.packet_length_too_long", "OpenSSL", {"packet length too long", "record layer failure"},
     NULL, L, RU, false, -1, {"not_tls", "protocol_error"}, {NULL},
     "a record header with an impossible length: usually non-TLS bytes (HTTP, SMTP banner) read "
     "as TLS.",
     NEXT_CAPTURE " to see the bytes that arrived."},
    {"gnutls.unexpected_packet", "GnuTLS", {"An unexpected TLS packet was received"}, NULL, L, RC,
     false, -1, {"not_tls", "protocol_error"}, {NULL},
     "GnuTLS received bytes that are not the TLS message it expected; against a plain-HTTP port "
     "this is what it prints (\"Received record packet of unknown type\").",
     "check that the port speaks TLS; " NEXT_CAPTURE "."},
    {"go.not_tls", "Go", {"first record does not look like a TLS handshake"}, NULL, L, RC, false,
     -1, {"not_tls"}, {NULL},
     "the server answered the ClientHello with non-TLS bytes (often plain HTTP).",
     "check that the port speaks TLS; " NEXT_CAPTURE "."},

    /* ---- versions and ciphers ---- */
    {"openssl.unsupported_protocol", "OpenSSL", {"unsupported protocol"}, NULL, L, RU, false, -1,
     {"protocol_version"}, {NULL},
     "this side refused the version the peer offered (its minimum is higher than the peer's "
     "maximum, or the reverse).",
     "compare versions on both sides: " NEXT_PROBE "."},
    {"openssl.no_protocols_available", "OpenSSL", {"no protocols available"}, NULL, L, RU, false,
     -1, {"protocol_version"}, {NULL},
     "this side's own configuration leaves no protocol version enabled (min > max, or a "
     "security level that disables them all).",
     "check the local MinProtocol/MaxProtocol or -tls1_x options."},
    {"openssl.no_shared_cipher", "OpenSSL/nginx/HAProxy", {"no shared cipher"}, NULL, L, RS,
     false, -1, {"no_shared_cipher"}, {NULL},
     "the server found no cipher suite it accepts in the client's ClientHello.",
     "compare the client's suites with the server's: " NEXT_PROBE "; or " NEXT_CAPTURE
     " to list what the client offered."},
    {"openssl.no_cipher_match", "OpenSSL", {"no cipher match", "no ciphers available"}, NULL, L,
     RU, false, -1, {"no_shared_cipher"}, {NULL},
     "this side's own cipher string selects no usable suite.",
     "fix the local cipher list (ssl_ciphers, -cipher, CipherString)."},
    {"openssl.no_key_share", "OpenSSL", {"no suitable key share", "no shared groups"}, NULL, L, RU,
     false, -1, {"no_shared_group"}, {NULL},
     "no key exchange group in common.",
     "compare the groups: " NEXT_PROBE "."},
    {"openssl.unsafe_legacy_reneg", "OpenSSL 3", {"unsafe legacy renegotiation disabled"}, NULL,
     L, RC, false, -1, {"unknown"}, {NULL},
     "OpenSSL 3 refuses servers that do not support secure renegotiation (RFC 5746); the server "
     "is old.",
     "upgrade the server; as a stopgap the client can set Options = UnsafeLegacyServerConnect."},
    {"nss.no_cypher_overlap", "NSS", {"SSL_ERROR_NO_CYPHER_OVERLAP", "no common encryption algorithm"},
     NULL, L, RU, false, -1, {"no_shared_cipher", "protocol_version"}, {NULL},
     "NSS found no cipher suite in common with the peer.",
     NEXT_PROBE "."},
    {"nss.unsupported_version", "NSS", {"SSL_ERROR_UNSUPPORTED_VERSION"}, NULL, L, RU, false, -1,
     {"protocol_version"}, {NULL},
     "the peer uses a protocol version NSS does not accept.", NEXT_PROBE "."},
    {"java.no_appropriate_protocol", "Java",
     {"No appropriate protocol (protocol is disabled or cipher suites are inappropriate)"}, NULL,
     L, RU, false, -1, {"protocol_version", "no_shared_cipher"}, {NULL},
     "Java's own configuration disables every protocol it could use here (jdk.tls.disabledAlgorithms "
     "removed TLS 1.0/1.1, or no suite fits the version).",
     "check jdk.tls.disabledAlgorithms and the protocols the peer supports: " NEXT_PROBE "."},
    {"go.no_cipher", "Go", {"no cipher suite supported by both client and server"}, NULL, L, RS,
     false, -1, {"no_shared_cipher"}, {NULL},
     "the Go server found no cipher suite in common with the client.", NEXT_CAPTURE "."},
    {"go.unsupported_versions", "Go", {"client offered only unsupported versions"}, NULL, L, RS,
     false, -1, {"protocol_version"}, {NULL},
     "the client's versions are all below the Go server's MinVersion.", NEXT_CAPTURE "."},
    {"dotnet.algorithm_mismatch", ".NET/SChannel",
     {"do not possess a common algorithm", "SEC_E_ALGORITHM_MISMATCH", "0x80090331"}, NULL, L, RU,
     false, -1, {"no_shared_cipher", "protocol_version"}, {NULL},
     "SChannel (SEC_E_ALGORITHM_MISMATCH, 0x80090331) found no protocol version and cipher suite "
     "in common with the peer.",
     NEXT_PROBE "; check the Windows TLS registry settings / IIS Crypto."},
    {"chrome.version_or_cipher", "Chrome", {"ERR_SSL_VERSION_OR_CIPHER_MISMATCH"}, NULL, L, RC,
     false, -1, {"protocol_version", "no_shared_cipher"}, {NULL},
     "Chrome and the server share no TLS version or cipher suite: the server offers only TLS "
     "1.0/1.1 (which Chrome no longer accepts) or only suites Chrome dropped (RC4, 3DES, "
     "static RSA in some setups); some servers also fail this way when they have no "
     "certificate for the requested name.",
     NEXT_PROBE "; enable TLS 1.2 and 1.3 with ECDHE-AES-GCM or CHACHA20 suites on the server."},

    /* ---- certificates (decided locally) ---- */
    {"openssl.cert_verify_failed", "OpenSSL/Python/BoringSSL",
     {"certificate verify failed", "SSL certificate problem"}, NULL, L, RU, false, -1,
     {"server_cert_rejected"}, {"client_cert_rejected"},
     "this side could not verify the peer's certificate chain (untrusted or self-signed issuer, "
     "missing intermediate, expired, or wrong name: the text after it says which).",
     "`openssl s_client -connect HOST:PORT -showcerts` shows the chain; check the trust store "
     "(--cacert, -CAfile) and the intermediates the server sends."},
    {"openssl.peer_no_cert", "OpenSSL", {"peer did not return a certificate"}, NULL, L, RS, false,
     -1, {"client_cert_missing"}, {"client_cert_missing"},
     "the server requires a client certificate and the client sent none.",
     "give the client a certificate (curl --cert, s_client -cert) from a CA the server trusts."},
    {"nginx.no_client_cert", "nginx", {"client sent no required SSL certificate"}, NULL, L, RS,
     false, -1, {"client_cert_missing"}, {"client_cert_missing"},
     "nginx (ssl_verify_client on) got no client certificate.",
     "give the client a certificate from the CA in ssl_client_certificate."},
    {"nginx.client_cert_verify", "nginx", {"client SSL certificate verify error"}, NULL, L, RS,
     false, -1, {"client_cert_rejected"}, {"client_cert_rejected"},
     "nginx could not verify the client's certificate (the reason is in the parentheses).",
     "check ssl_client_certificate / ssl_verify_depth against the client's chain."},
    {"nginx.upstream_cert_verify", "nginx", {"upstream SSL certificate verify error"}, NULL, L, RC,
     false, -1, {"server_cert_rejected"}, {NULL},
     "nginx, as a client to its upstream, could not verify the upstream's certificate.",
     "check proxy_ssl_trusted_certificate and proxy_ssl_name."},
    {"haproxy.ca_chain", "HAProxy", {"SSL client CA chain cannot be verified"}, NULL, L, RS, false,
     -1, {"client_cert_rejected"}, {"client_cert_rejected"},
     "HAProxy could not verify the client certificate's CA chain against its ca-file.",
     "check the bind line's ca-file against the client certificate's issuer."},
    {"haproxy.crt_not_trusted", "HAProxy", {"SSL client certificate not trusted"}, NULL, L, RS,
     false, -1, {"client_cert_rejected"}, {"client_cert_rejected"},
     "HAProxy rejected the client certificate itself.",
     "check the client certificate's dates and issuer, and crt-ignore-err."},
    {"gnutls.cert_error", "GnuTLS", {"Error in the certificate", "The certificate is NOT trusted"},
     NULL, L, RC, false, -1, {"server_cert_rejected"}, {NULL},
     "gnutls-cli rejected the server's certificate (its \"Status:\" line says why).",
     "`gnutls-cli --print-cert -p PORT HOST` and check the CA file (--x509cafile)."},
    {"nss.unknown_issuer", "NSS", {"SEC_ERROR_UNKNOWN_ISSUER"}, NULL, L, RC, false, -1,
     {"server_cert_rejected"}, {NULL},
     "the server's certificate was issued by a CA this client does not know (or an intermediate "
     "is missing).",
     "check the chain the server sends: `openssl s_client -connect HOST:PORT -showcerts`."},
    {"nss.bad_cert_domain", "NSS", {"SSL_ERROR_BAD_CERT_DOMAIN"}, NULL, L, RC, false, -1,
     {"server_cert_rejected"}, {NULL},
     "the server's certificate does not cover the name that was requested.",
     "compare the SAN list with the host name; check SNI routing: " NEXT_PROBE "."},
    {"nss.expired", "NSS", {"SEC_ERROR_EXPIRED_CERTIFICATE"}, NULL, L, RC, false, -1,
     {"server_cert_rejected"}, {NULL},
     "the server's certificate has expired (or the client's clock is wrong).",
     "check the certificate dates and the client's clock."},
    {"java.pkix", "Java", {"PKIX path building failed", "unable to find valid certification path"},
     NULL, L, RU, false, -1, {"server_cert_rejected"}, {"client_cert_rejected"},
     "Java could not build a chain from the peer's certificate to a trusted root in its "
     "truststore (private CA, missing intermediate, TLS-intercepting proxy).",
     "check the chain (`openssl s_client -connect HOST:PORT -showcerts`) and the JVM truststore "
     "(keytool -list -cacerts)."},
    {"java.pkix_validation", "Java", {"PKIX path validation failed"}, NULL, L, RU, false, -1,
     {"server_cert_rejected"}, {"client_cert_rejected"},
     "Java built a chain to a trusted root but it failed validation (the text after it says why: "
     "\"validity check failed\" is an expired or not yet valid certificate, or the local clock).",
     "check the certificate dates (`openssl s_client -connect HOST:PORT -showcerts | openssl x509 "
     "-noout -dates`) and the clock of this machine."},
    {"java.no_san", "Java", {"No subject alternative names", "No name matching"}, NULL, L, RC,
     false, -1, {"server_cert_rejected"}, {NULL},
     "the server's certificate does not cover the host name Java connected to.",
     "compare the certificate's SANs with the host name."},
    /* before go.verify: Go 1.20+ prints "tls: failed to verify certificate: "
     * in front of it, and the name mismatch is the specific reason */
    {"go.name", "Go", {"x509: certificate is valid for"}, NULL, L, RC, false, -1,
     {"server_cert_rejected"}, {NULL},
     "a hostname mismatch: the server's certificate does not cover the name Go connected to "
     "(the certificate itself may be trusted and in date).",
     "connect with a name the certificate covers, or reissue the certificate with the name "
     "asked for in its subjectAltName; if the server hosts several names, check it picks the "
     "certificate by SNI: " NEXT_PROBE "."},
    {"go.verify", "Go",
     {"tls: failed to verify certificate", "x509: certificate signed by unknown authority",
      "x509: certificate has expired"},
     NULL, L, RU, false, -1, {"server_cert_rejected", "client_cert_rejected"},
     {"client_cert_rejected"},
     "Go rejected the peer's certificate (the x509: text says why: unknown authority, expired, "
     "name).",
     "check the chain: `openssl s_client -connect HOST:PORT -showcerts`, and the CA pool."},
    {"go.no_client_cert", "Go", {"client didn't provide a certificate"}, NULL, L, RS, false, -1,
     {"client_cert_missing"}, {"client_cert_missing"},
     "the Go server requires a client certificate and got none.",
     "give the client a certificate from a CA in the server's ClientCAs."},
    /* Chrome's net_error_list.h names */
    {"chrome.cert_authority", "Chrome", {"ERR_CERT_AUTHORITY_INVALID"}, NULL, L, RC, false, -1,
     {"server_cert_rejected"}, {NULL},
     "Chrome does not trust the certificate's issuer: a self-signed certificate, a private CA "
     "not in the system's trust store, a missing intermediate, or a TLS-intercepting proxy.",
     "`openssl s_client -connect HOST:PORT -showcerts` shows the chain: serve the full chain "
     "(leaf and intermediates) from a public CA, or install the private CA in the OS trust store."},
    {"chrome.cert_name", "Chrome", {"ERR_CERT_COMMON_NAME_INVALID"}, NULL, L, RC, false, -1,
     {"server_cert_rejected"}, {NULL},
     "a hostname mismatch: the certificate's subjectAltName list does not include the host in "
     "the address bar (Chrome ignores the subject CN).",
     "open the site under a name the certificate covers, or reissue it with the name in its "
     "subjectAltName; check the server picks the certificate by SNI: " NEXT_PROBE "."},
    {"chrome.cert_date", "Chrome", {"ERR_CERT_DATE_INVALID"}, NULL, L, RC, false, -1,
     {"server_cert_rejected"}, {NULL},
     "the certificate has expired or is not yet valid, by the clock of the machine running "
     "Chrome (a wrong clock gives this for every site).",
     "check the dates: `openssl s_client -connect HOST:PORT | openssl x509 -noout -dates`, then "
     "renew the certificate, or fix the client's clock."},
    {"chrome.protocol_error", "Chrome", {"ERR_SSL_PROTOCOL_ERROR"}, NULL, U, RC, false, -1,
     {"protocol_error", "closed_by_server", "not_tls"}, {NULL},
     "Chrome got a TLS handshake it could not use: the server sent a fatal alert or malformed "
     "bytes, closed the connection, or is not speaking TLS there; a server requiring a client "
     "certificate or misconfigured for the name (SNI) also ends this way.",
     "get the underlying reason from a client that prints it: `curl -v https://HOST:PORT/` or "
     "`openssl s_client -connect HOST:PORT`, then decode that line; or " NEXT_CAPTURE "."},

    /* Windows SChannel SECURITY_STATUS codes, by name or value.  The values
     * are Microsoft's winerror.h (SEC_E_INTERNAL_ERROR 0x80090304,
     * SEC_E_WRONG_PRINCIPAL 0x80090322, SEC_E_UNTRUSTED_ROOT 0x80090325,
     * SEC_E_ILLEGAL_MESSAGE 0x80090326, SEC_E_CERT_EXPIRED 0x80090328,
     * SEC_E_ALGORITHM_MISMATCH 0x80090331 above); curl's schannel backend
     * and .NET's Win32Exception print them as "NAME (0x...)". */
    {"schannel.illegal_message", "SChannel", {"SEC_E_ILLEGAL_MESSAGE", "0x80090326"}, NULL, P, RU,
     false, -1, {"no_shared_cipher", "protocol_version", "client_cert_missing", "alert"}, {NULL},
     "SEC_E_ILLEGAL_MESSAGE (0x80090326): SChannel reports a fatal alert from the peer this way "
     "(it does not say which alert): most often the server refused the ClientHello -- no common "
     "cipher suite or TLS version (TLS 1.2/1.3 disabled on an older Windows, or the server "
     "dropped the suites Windows offers) -- or it requires a client certificate.",
     NEXT_PROBE " and compare it with the versions and suites this Windows host enables "
     "(Get-TlsCipherSuite, the SCHANNEL\\Protocols registry keys); " NEXT_CAPTURE
     " shows the alert number."},
    {"schannel.untrusted_root", "SChannel", {"SEC_E_UNTRUSTED_ROOT", "0x80090325"}, NULL, L, RC,
     false, -1, {"server_cert_rejected"}, {NULL},
     "SEC_E_UNTRUSTED_ROOT (0x80090325): the certificate chain ends at a root Windows does not "
     "trust (self-signed, private CA, or a TLS-intercepting proxy).",
     "check the chain: `openssl s_client -connect HOST:PORT -showcerts`; import the issuing "
     "root into the machine's Trusted Root Certification Authorities (certlm.msc) only if it "
     "is meant to be trusted."},
    {"schannel.wrong_principal", "SChannel", {"SEC_E_WRONG_PRINCIPAL", "0x80090322"}, NULL, L, RC,
     false, -1, {"server_cert_rejected"}, {NULL},
     "SEC_E_WRONG_PRINCIPAL (0x80090322): a hostname mismatch: the server's certificate does not "
     "cover the target name the client used.",
     "connect with a name in the certificate's subjectAltName, or reissue the certificate with "
     "that name; check the server picks the certificate by SNI: " NEXT_PROBE "."},
    {"schannel.cert_expired", "SChannel", {"SEC_E_CERT_EXPIRED", "0x80090328"}, NULL, L, RC, false,
     -1, {"server_cert_rejected"}, {NULL},
     "SEC_E_CERT_EXPIRED (0x80090328): a certificate in the chain has expired or is not yet "
     "valid by this machine's clock.",
     "check the dates: `openssl s_client -connect HOST:PORT | openssl x509 -noout -dates`; renew "
     "the certificate or fix the clock."},
    {"schannel.internal_error", "SChannel", {"SEC_E_INTERNAL_ERROR", "0x80090304"}, NULL, L, RU,
     false, -1, {"internal_error"}, {NULL},
     "SEC_E_INTERNAL_ERROR (0x80090304): SChannel failed on this host for a reason of its own, "
     "not the peer's bytes: usually the certificate's private key cannot be used (no access for "
     "the service account, a key provider SChannel cannot use, a non-exportable or missing "
     "key), or a cipher suite/protocol setting the key does not fit.",
     "check the System event log (Schannel, event 36870/36871) and the private key: `certutil "
     "-verifystore My <thumbprint>`, and the key's permissions for the service account."},
    /* .NET's AuthenticationException wraps the SChannel (or OpenSSL) error:
     * the inner exception has the reason */
    {"dotnet.sspi_failed", ".NET", {"A call to SSPI failed"}, NULL, U, RU, true, -1, {"unknown"},
     {NULL},
     ".NET's SslStream handshake failed; this outer message never says why: the inner exception "
     "(Win32Exception, or Interop+OpenSsl+SslException on Linux) carries the reason, e.g. "
     "SEC_E_ILLEGAL_MESSAGE or SEC_E_UNTRUSTED_ROOT.",
     "log the whole exception (ex.ToString(), which includes InnerException) and decode that "
     "line; or " NEXT_CAPTURE "."},
    {"dotnet.remote_cert_invalid", ".NET/SChannel",
     {"The remote certificate is invalid"}, NULL, L,
     RC, false, -1, {"server_cert_rejected"}, {NULL},
     ".NET rejected the server's certificate (untrusted root, expired, or name mismatch: "
     "SslPolicyErrors says which).",
     "check the chain: `openssl s_client -connect HOST:PORT -showcerts`, and the Windows or "
     "OpenSSL trust store the runtime uses."},
    {"curl.no_name_match", "curl", {"no alternative certificate subject name matches"}, NULL, L,
     RC, false, -1, {"server_cert_rejected"}, {NULL},
     "the server's certificate does not cover the host name curl asked for.",
     "compare the SANs with the host name; check SNI routing: " NEXT_PROBE "."},

    /* ---- the peer went away ---- */
    {"openssl.unexpected_eof", "OpenSSL/Python",
     {"unexpected eof while reading", "EOF occurred in violation of protocol"}, NULL, P, RU,
     false, -1, {"closed_by_server", "middlebox_reset", "sni_required"}, {"closed_by_client"},
     "the peer closed the connection without a TLS alert. From a client: the server (or a proxy "
     "in front of it) refused the ClientHello silently -- SNI routing, a client-certificate "
     "requirement, or a version/cipher policy that closes instead of alerting.",
     NEXT_CAPTURE " to see who sent the FIN and after what; " NEXT_PROBE "."},
    {"gnutls.non_properly_terminated", "GnuTLS", {"The TLS connection was non-properly terminated"},
     NULL, P, RC, false, -1, {"closed_by_server", "middlebox_reset", "sni_required"}, {NULL},
     "the peer closed the TCP connection without a TLS alert.",
     NEXT_CAPTURE "; " NEXT_PROBE "."},
    {"nginx.peer_closed", "nginx", {"peer closed connection in SSL handshake"}, NULL, P, RS, false,
     -1, {"closed_by_server", "reset_by_server", "sni_required"}, {"closed_by_client", "reset_by_client"},
     "the other end closed during the handshake without an alert. In nginx's error log for "
     "clients this is usually a client that gave up or rejected the certificate silently; "
     "\"to upstream\" means the upstream server closed (often it needs SNI: proxy_ssl_server_name on).",
     NEXT_CAPTURE "."},
    {"dotnet.transport_closed", ".NET/SChannel",
     {"Authentication failed because the remote party has closed the transport stream"}, NULL, P,
     RC, false, -1, {"closed_by_server", "protocol_version", "no_shared_cipher"}, {NULL},
     "the server closed the connection during the handshake; with .NET this is most often a "
     "protocol version or cipher the server does not accept (old Windows/.NET defaults).",
     NEXT_PROBE "; " NEXT_CAPTURE "."},
    {"java.remote_closed", "Java",
     {"Remote host terminated the handshake", "Remote host closed connection during handshake"},
     NULL, P, RU, false, -1, {"closed_by_server", "reset_by_server", "protocol_version"},
     {"closed_by_client", "reset_by_client"},
     "the peer closed the connection during the handshake without an alert.",
     NEXT_CAPTURE "; " NEXT_PROBE "."},
    {"gnutls.pull", "GnuTLS", {"Error in the pull function"}, NULL, P, RC, false, -1,
     {"reset_by_server", "middlebox_reset"}, {NULL},
     "GnuTLS could not read from the socket: the connection was reset.",
     NEXT_CAPTURE " and compare the TTL of the RST with the server's SYN-ACK (a different TTL "
     "points at a middlebox)."},
    {"net.reset", "curl/Python/OS", {"Connection reset by peer", "forcibly closed by the remote host"},
     NULL, P, RU, false, -1, {"reset_by_server", "middlebox_reset"}, {"reset_by_client"},
     "the connection was reset (TCP RST) during the handshake, by the server or by a device on "
     "the path.",
     NEXT_CAPTURE " and compare the TTL of the RST with the server's SYN-ACK (a different TTL "
     "points at a middlebox)."},
    {"openssl.syscall", "OpenSSL/curl", {"SSL_ERROR_SYSCALL"}, NULL, P, RU, false, -1,
     {"closed_by_server", "reset_by_server", "middlebox_reset"}, {"closed_by_client", "reset_by_client"},
     "the TCP connection ended under the TLS library (FIN or RST) with no TLS alert.",
     NEXT_CAPTURE "."},

    /* ---- TCP level ---- */
    {"curl.timeout", "curl", {"Connection timed out after", "Operation timed out", "SSL connection timeout"},
     NULL, U, RC, false, -1, {"server_silent", "clienthello_lost", "pmtu_blackhole", "tcp_no_answer"},
     {NULL},
     "nothing came back in time: the TCP connection or the server's first TLS bytes never "
     "arrived.",
     NEXT_CAPTURE ": a SYN without answer is tcp_no_answer; an acknowledged ClientHello without a "
     "reply is server_silent; retransmitted full-size segments point at an MTU black hole."},
    {"net.refused", "curl/OS", {"Connection refused", "Couldn't connect to server"}, NULL, P, RC,
     false, -1, {"tcp_refused"}, {NULL},
     "the TCP connection was refused before TLS started (nothing listens on that port, or a "
     "firewall rejects).",
     "check the host and port; `tcpdump -i any -w fail.pcap 'tcp port 443'` shows a RST to the SYN."},

    /* ---- generic: who printed it, little else ---- */
    {"curl.ssl_connect", "curl", {"curl: (35)"}, NULL, U, RC, true, -1, {"unknown"}, {NULL},
     "curl's TLS handshake failed; the rest of the line names the library's reason.",
     NEXT_CAPTURE "."},
    {"curl.recv_error", "curl", {"curl: (56)"}, NULL, U, RC, true, -1, {"unknown"}, {NULL},
     "curl failed while receiving data.", NEXT_CAPTURE "."},
    {"nginx.handshake_failed", "nginx", {"SSL_do_handshake() failed"}, NULL, U, RS, true, -1,
     {"unknown"}, {NULL},
     "nginx's TLS handshake failed; the OpenSSL reason in the parentheses says why.",
     NEXT_CAPTURE "."},
    {"openssl.ssl_handshake_failure", "OpenSSL", {":ssl handshake failure:"}, NULL, U, RU, true, -1,
     {"unknown"}, {NULL},
     "OpenSSL's generic \"the handshake failed\" line; the line before it usually names the reason.",
     NEXT_CAPTURE "."},
    {"haproxy.handshake_failure", "HAProxy", {": SSL handshake failure"}, NULL, U, RS, true, -1,
     {"unknown"}, {NULL},
     "HAProxy logged a failed TLS handshake without a reason (set `log-format` with "
     "%[ssl_fc_err_str] / error-log-format, HAProxy 2.5+, to get one).",
     NEXT_CAPTURE "."},
    {"gnutls.fatal_alert", "GnuTLS", {"A TLS fatal alert has been received"}, NULL, P, RU, true,
     -1, {"alert"}, {NULL},
     "the peer sent a fatal alert; GnuTLS names it on the next line (\"Received alert [N]\").",
     NEXT_CAPTURE "."},
    {"java.handshake_exception", "Java", {"SSLHandshakeException"}, NULL, U, RU, true, -1,
     {"unknown"}, {NULL},
     "Java's TLS handshake failed; the message after the colon says why.",
     "run with -Djavax.net.debug=ssl:handshake to see the handshake; " NEXT_CAPTURE "."},
    {"go.handshake_error", "Go", {"TLS handshake error from"}, NULL, U, RS, true, -1, {"unknown"},
     {NULL}, "a Go server's TLS handshake with a client failed.", NEXT_CAPTURE "."},
};

#undef P
#undef L
#undef U
#undef RC
#undef RS
#undef RU

static void fill_from_pat(struct td_dec_item *it, const struct pat *p, enum td_dec_role role)
{
    const char *const *codes = p->codes;
    unsigned n = 0;

    if (role == TD_DEC_ROLE_SERVER && p->codes_srv[0] != NULL)
        codes = p->codes_srv;
    while (n < TD_DEC_MAX_CODES && codes[n] != NULL) {
        it->codes[n] = codes[n];
        n++;
    }
    it->num_codes = (uint8_t)n;
    it->ambiguous = n > 1;
    it->id = p->id;
    it->source = p->source;
    it->side = p->side;
    it->role = (uint8_t)role;
    it->alert = p->alert;
    it->explanation = p->explanation;
    it->next = p->next;
}

/* The pattern table is tried against a copy of the line folded once
 * (fold_line): each needle is folded into a small buffer and found with
 * memmem.  The result is td_dec_ci_find's (the first position where the
 * folded line and the folded needle agree; folding twice changes nothing),
 * without comparing the line byte by byte ~200 times. */
static void fold_line(char *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)fold((unsigned char)s[i]);
}

static long ffind(const char *fl, size_t n, const char *needle)
{
    char nb[128];
    size_t nn = strlen(needle);
    const char *at;

    if (nn == 0 || nn > n)
        return -1;
    if (nn > sizeof(nb))
        return td_dec_ci_find(fl, n, needle);
    fold_line(nb, needle, nn);
    at = memmem(fl, n, nb, nn);
    return at != NULL ? (long)(at - fl) : -1;
}

/* The table's needles are folded once (ftab, at the first line), and each
 * line gets a set of the character pairs it contains (4096 bits, hashed): a
 * needle whose first or last pair is absent cannot occur, so memmem runs
 * only for the few needles that may.  A necessary condition only: what
 * matches is exactly what ffind would find.  (fuzz_decode runs about 1.8x
 * the executions per second since: folding each needle again for every
 * line, under the fuzzer's comparison tracing, was its largest cost.) */
#define PAIR_BITS 4096u
#define NEEDLE_KEEP 128u /* longer needles (none today) are folded per call */

struct fneedle {
    char s[NEEDLE_KEEP]; /* folded */
    uint16_t len;        /* 0: no needle */
    bool long_;          /* over NEEDLE_KEEP: use ffind on the original */
    uint16_t p0, p1;     /* pair hashes of its first and last two characters */
};

static struct fpat {
    struct fneedle any[3], also;
} ftab[sizeof(table) / sizeof(table[0])];
static pthread_once_t ftab_once = PTHREAD_ONCE_INIT;

struct fline {
    const char *s; /* the line folded by fold_line */
    size_t n;
    uint64_t pairs[PAIR_BITS / 64];
};

static unsigned pair_hash(unsigned char a, unsigned char b) { return ((unsigned)a * 67u + b) & (PAIR_BITS - 1u); }

static void fneedle_set(struct fneedle *f, const char *needle)
{
    size_t n = needle != NULL ? strlen(needle) : 0;

    f->len = (uint16_t)(n < UINT16_MAX ? n : UINT16_MAX);
    f->long_ = n >= NEEDLE_KEEP;
    if (n == 0 || f->long_)
        return;
    fold_line(f->s, needle, n);
    f->s[n] = '\0';
    if (n >= 2) {
        f->p0 = (uint16_t)pair_hash((unsigned char)f->s[0], (unsigned char)f->s[1]);
        f->p1 = (uint16_t)pair_hash((unsigned char)f->s[n - 2], (unsigned char)f->s[n - 1]);
    }
}

static void ftab_init(void)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        for (size_t k = 0; k < 3; k++)
            fneedle_set(&ftab[i].any[k], table[i].any[k]);
        fneedle_set(&ftab[i].also, table[i].also);
    }
}

static void fline_init(struct fline *l, const char *s, size_t n)
{
    l->s = s;
    l->n = n;
    memset(l->pairs, 0, sizeof(l->pairs));
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned h = pair_hash((unsigned char)s[i], (unsigned char)s[i + 1]);
        l->pairs[h >> 6] |= UINT64_C(1) << (h & 63u);
    }
}

static bool has_pair(const struct fline *l, unsigned h) { return (l->pairs[h >> 6] >> (h & 63u)) & 1u; }

/* ffind for needle |k| of pattern |p| (k 3: its "also") */
static long ffind_pat(const struct fline *l, const struct pat *p, const struct fneedle *f, size_t k)
{
    const char *at;

    if (f->long_)
        return ffind(l->s, l->n, k < 3 ? p->any[k] : p->also);
    if (f->len == 0 || f->len > l->n)
        return -1;
    if (f->len >= 2 && (!has_pair(l, f->p0) || !has_pair(l, f->p1)))
        return -1;
    at = memmem(l->s, l->n, f->s, f->len);
    return at != NULL ? (long)(at - l->s) : -1;
}

static long pat_match(size_t i, const struct fline *l, size_t *span)
{
    const struct pat *p = &table[i];
    const struct fpat *fp = &ftab[i];
    long at = -1;

    for (size_t k = 0; k < 3 && p->any[k] != NULL; k++) {
        at = ffind_pat(l, p, &fp->any[k], k);
        if (at >= 0) {
            *span = strlen(p->any[k]);
            break;
        }
    }
    if (at >= 0 && p->also != NULL && ffind_pat(l, p, &fp->also, 3) < 0)
        return -1;
    return at;
}

static enum td_dec_role line_role(const struct fline *l)
{
    const char *s = l->s;
    size_t n = l->n;
    size_t span;
    /* nginx talking to its upstream is the client there */
    if (ffind(s, n, "to upstream") >= 0)
        return TD_DEC_ROLE_CLIENT;
    /* curl; Android's SSLSocket ("SSL handshake aborted") is a client */
    if (ffind(s, n, "curl: (") >= 0 || ffind(s, n, "SSL_connect") >= 0 ||
        ffind(s, n, "SSL handshake aborted") >= 0)
        return TD_DEC_ROLE_CLIENT;
    /* OpenSSL's server-side state machine functions name the role */
    if (ffind(s, n, "SSL_do_handshake() failed") >= 0 ||
        ffind(s, n, "SSL_accept") >= 0 || ffind(s, n, "tls_process_client_certificate") >= 0 ||
        ffind(s, n, "tls_early_post_process_client_hello") >= 0)
        return TD_DEC_ROLE_SERVER;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].role != TD_DEC_ROLE_UNKNOWN && pat_match(i, l, &span) >= 0)
            return (enum td_dec_role)table[i].role;
    }
    return TD_DEC_ROLE_UNKNOWN;
}

/* ---- alert extractors ---- */

struct alert_hit {
    int alert;
    enum td_dec_side side;
    const char *source;
    const char *id;
    long at;
    size_t span;
};

static bool after_name(const char *s, size_t n, const char *key, const char *source,
                       const char *id, enum td_dec_side side, struct alert_hit *h)
{
    long p = td_dec_ci_find(s, n, key);
    size_t kl = strlen(key), used = 0;
    int a;

    if (p < 0)
        return false;
    a = alert_prefix_lookup(s + (size_t)p + kl, n - (size_t)p - kl, &used);
    if (a < 0)
        return false;
    h->alert = a;
    h->side = side;
    h->source = source;
    h->id = id;
    h->at = p;
    h->span = kl + used;
    return true;
}

static bool after_number(const char *s, size_t n, const char *key, const char *source,
                         const char *id, struct alert_hit *h)
{
    long p = td_dec_ci_find(s, n, key);
    size_t i, kl = strlen(key);
    uint32_t v = 0;

    if (p < 0)
        return false;
    i = (size_t)p + kl;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i - (size_t)p - kl < 3) {
        v = v * 10u + (uint32_t)(s[i] - '0');
        i++;
    }
    if (i == (size_t)p + kl || v > 255)
        return false;
    h->alert = (int)v;
    h->side = TD_DEC_SIDE_PEER;
    h->source = source;
    h->id = id;
    h->at = p;
    h->span = i - (size_t)p;
    return true;
}

/* NSS names its received-alert errors after the alert (sslerr.h) */
static const struct {
    const char *name;
    uint8_t alert;
} nss_alerts[] = {
    {"SSL_ERROR_HANDSHAKE_FAILURE_ALERT", 40},
    {"SSL_ERROR_BAD_CERT_ALERT", 42},
    {"SSL_ERROR_UNKNOWN_CA_ALERT", 48},
    {"SSL_ERROR_PROTOCOL_VERSION_ALERT", 70},
    {"SSL_ERROR_INSUFFICIENT_SECURITY_ALERT", 71},
    {"SSL_ERROR_UNRECOGNIZED_NAME_ALERT", 112},
};

static bool find_alert(const char *s, size_t n, struct alert_hit *h)
{
    /* OpenSSL/LibreSSL/BoringSSL/Python reason strings name the alert the
     * PEER sent: "sslv3 alert handshake failure", "TLSV1_ALERT_UNKNOWN_CA" */
    if (after_name(s, n, "sslv3 alert ", "OpenSSL", "openssl.alert", TD_DEC_SIDE_PEER, h) ||
        after_name(s, n, "tlsv13 alert ", "OpenSSL", "openssl.alert", TD_DEC_SIDE_PEER, h) ||
        after_name(s, n, "tlsv1 alert ", "OpenSSL", "openssl.alert", TD_DEC_SIDE_PEER, h) ||
        after_name(s, n, "tlsv1 ", "OpenSSL", "openssl.alert", TD_DEC_SIDE_PEER, h))
        return true;
    if (after_number(s, n, "SSL alert number ", "OpenSSL", "openssl.alert_number", h))
        return true;
    if (after_name(s, n, "Received fatal alert: ", "Java", "java.received_alert", TD_DEC_SIDE_PEER, h))
        return true;
    if (after_name(s, n, "remote error: tls: ", "Go", "go.remote_error", TD_DEC_SIDE_PEER, h))
        return true;
    if (after_name(s, n, "local error: tls: ", "Go", "go.local_error", TD_DEC_SIDE_LOCAL, h))
        return true;
    /* Go's alert error without "remote error:" (alert.go Error(): "tls: " +
     * the alert's text): crypto/tls returns it when THIS side failed the
     * handshake (and sent the alert); a received one always has the prefix */
    {
        long p = 0;
        size_t off = 0;
        while ((p = td_dec_ci_find(s + off, n - off, "tls: ")) >= 0) {
            size_t at = off + (size_t)p;
            char b = at > 0 ? s[at - 1] : ' ';
            bool word = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                        b == '_' || b == '-';
            if (!word && after_name(s + at, n - at, "tls: ", "Go", "go.local_alert",
                                    TD_DEC_SIDE_LOCAL, h)) {
                h->at += (long)at;
                return true;
            }
            off = at + 5;
        }
    }
    if (after_number(s, n, "Received alert [", "GnuTLS", "gnutls.received_alert", h))
        return true;
    for (size_t i = 0; i < sizeof(nss_alerts) / sizeof(nss_alerts[0]); i++) {
        long p = td_dec_ci_find(s, n, nss_alerts[i].name);
        if (p >= 0) {
            h->alert = nss_alerts[i].alert;
            h->side = TD_DEC_SIDE_PEER;
            h->source = "NSS";
            h->id = "nss.alert";
            h->at = p;
            h->span = strlen(nss_alerts[i].name);
            return true;
        }
    }
    return false;
}

/* ---- words from the line (td_dec_item.detail) ---- */

static void alert_detail(struct td_dec_item *it, int alert)
{
    const char *name = td_reg_name(TD_REG_ALERT, (uint16_t)alert);

    if (name == NULL)
        return;
    if (strcmp(it->id, "openssl.alert") == 0)
        snprintf(it->detail, sizeof(it->detail),
                 "In OpenSSL's wording (also BoringSSL's and Python's) \"sslv3 alert ...\" or "
                 "\"tlsv1 alert ...\" means %s was received from the peer, not sent by this side.",
                 name);
    else if (strcmp(it->id, "go.local_alert") == 0)
        snprintf(it->detail, sizeof(it->detail),
                 "Without \"remote error:\" Go means this side failed the handshake and sent %s "
                 "to the peer; a received alert reads \"remote error: tls: ...\".",
                 name);
}

/* Go's "x509: certificate is valid for A, B, not C" (crypto/x509
 * HostnameError): the names the certificate has, then the one asked for */
static void go_name_detail(struct td_dec_item *it, const char *s, size_t n, size_t from)
{
    size_t a = from, e, not_at = 0;
    bool found = false;

    while (a < n && s[a] == ' ')
        a++;
    /* the last ", not " separates the list from the wanted name */
    for (size_t i = a; i + 6 <= n; i++) {
        if (memcmp(s + i, ", not ", 6) == 0) {
            not_at = i;
            found = true;
        }
    }
    if (!found || not_at == a)
        return;
    e = not_at + 6;
    {
        size_t w = e;
        while (w < n && s[w] != ' ' && s[w] != '"' && s[w] != '\'' && s[w] != ')' &&
               s[w] != '\r' && s[w] != '\n' && s[w] != '\t')
            w++;
        if (w == e)
            return;
        snprintf(it->detail, sizeof(it->detail), "It covers %.*s; the client asked for %.*s.",
                 (int)(not_at - a > 80 ? 80 : not_at - a), s + a,
                 (int)(w - e > 80 ? 80 : w - e), s + e);
    }
}

/* ---- the line ---- */

unsigned td_dec_classify_line(struct td_dec_result *r, const char *line, size_t len,
                              uint32_t lineno)
{
    struct td_dec_item it;
    struct alert_hit h;
    enum td_dec_role role;
    size_t start = 0, end = len;
    int bare;
    char folded[TD_DEC_MAX_LINE];
    struct fline fl;

    if (len > TD_DEC_MAX_LINE)
        len = TD_DEC_MAX_LINE;
    end = len;
    while (start < end && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (start == end)
        return 0;
    memset(&it, 0, sizeof(it));
    it.line = lineno;

    fold_line(folded, line, len);
    pthread_once(&ftab_once, ftab_init);
    fline_init(&fl, folded, len);
    role = line_role(&fl);
    memset(&h, 0, sizeof(h));
    /* before the bare-name check: "sslv3 alert handshake failure" alone is
     * still OpenSSL's wording for an alert received from the peer */
    if (find_alert(line, len, &h)) {
        it.kind = TD_DEC_ITEM_ALERT_TEXT;
        it.id = h.id;
        it.source = h.source;
        it.col = (uint32_t)h.at;
        it.span_len = (uint32_t)h.span;
        td_dec_alert_item(&it, h.alert, h.side, role);
        alert_detail(&it, h.alert);
        td_dec_item_push(r, &it);
        return 1;
    }

    /* a bare alert number or name is the whole line */
    bare = td_dec_alert_lookup(line + start, end - start);
    if (bare >= 0) {
        it.kind = TD_DEC_ITEM_BARE_ALERT;
        it.id = "alert";
        it.source = "IANA TLS Alerts registry";
        it.col = (uint32_t)start;
        it.span_len = (uint32_t)(end - start);
        td_dec_alert_item(&it, bare, TD_DEC_SIDE_UNKNOWN, TD_DEC_ROLE_UNKNOWN);
        td_dec_item_push(r, &it);
        return 1;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
            const struct pat *p = &table[i];
            size_t span = 0;
            long at;
            if (p->generic != (pass == 1))
                continue;
            at = pat_match(i, &fl, &span);
            if (at < 0)
                continue;
            it.kind = TD_DEC_ITEM_ERROR;
            it.col = (uint32_t)at;
            it.span_len = (uint32_t)span;
            fill_from_pat(&it, p, role != TD_DEC_ROLE_UNKNOWN ? role : (enum td_dec_role)p->role);
            if (strcmp(p->id, "go.name") == 0)
                go_name_detail(&it, line, len, (size_t)at + span);
            td_dec_item_push(r, &it);
            return 1;
        }
    }
    return 0;
}

/* ---- rendering helpers ---- */

const char *td_dec_by(const struct td_dec_item *it)
{
    if (it->side == TD_DEC_SIDE_LOCAL) {
        if (it->role == TD_DEC_ROLE_CLIENT)
            return "client";
        if (it->role == TD_DEC_ROLE_SERVER)
            return "server";
    } else if (it->side == TD_DEC_SIDE_PEER) {
        if (it->role == TD_DEC_ROLE_CLIENT)
            return "server";
        if (it->role == TD_DEC_ROLE_SERVER)
            return "client";
    }
    return "unknown";
}

struct out {
    char *buf;
    size_t len, pos;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len == 0)
        return;
    for (size_t i = 0; i < n && o->pos + 1 < o->len; i++)
        o->buf[o->pos++] = s[i];
    o->buf[o->pos] = '\0';
}

static void puts_sub(struct out *o, const char *s, const char *target)
{
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n) {
        if (target != NULL && target[0] != '\0' && n - i >= 9 && memcmp(s + i, "HOST:PORT", 9) == 0) {
            put(o, target, strlen(target));
            i += 9;
            continue;
        }
        put(o, s + i, 1);
        i++;
    }
}

size_t td_dec_explain(const struct td_dec_item *it, const char *target, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    char num[32];
    const char *side = it->side == TD_DEC_SIDE_PEER    ? "raised by the peer"
                       : it->side == TD_DEC_SIDE_LOCAL ? "decided locally"
                                                       : "side unknown";

    if (len == 0)
        return 0;
    buf[0] = '\0';
    puts_sub(&o, it->source != NULL ? it->source : "?", NULL);
    put(&o, ": ", 2);
    puts_sub(&o, side, NULL);
    if (strcmp(td_dec_by(it), "unknown") != 0) {
        put(&o, " (by ", 5);
        puts_sub(&o, td_dec_by(it), NULL);
        put(&o, ")", 1);
    }
    if (it->alert >= 0) {
        const char *name = td_reg_name(TD_REG_ALERT, (uint16_t)it->alert);
        snprintf(num, sizeof(num), "%d", it->alert);
        put(&o, "; alert ", 8);
        puts_sub(&o, name != NULL ? name : "unassigned", NULL);
        put(&o, "(", 1);
        puts_sub(&o, num, NULL);
        put(&o, ")", 1);
    }
    put(&o, ". ", 2);
    puts_sub(&o, it->explanation != NULL ? it->explanation : "", target);
    if (it->detail[0] != '\0') {
        put(&o, " ", 1);
        put(&o, it->detail, strnlen(it->detail, sizeof(it->detail)));
    }
    put(&o, it->ambiguous ? " Ambiguous; likely causes, most likely first: " : " Cause: ",
        it->ambiguous ? 46 : 8);
    for (unsigned i = 0; i < it->num_codes; i++) {
        if (i > 0)
            put(&o, ", ", 2);
        puts_sub(&o, it->codes[i], NULL);
    }
    put(&o, ". Next: ", 8);
    puts_sub(&o, it->next != NULL ? it->next : "", target);
    return o.pos;
}
