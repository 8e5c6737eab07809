/* starttls.c: the plaintext phase before a ClientHello, for SMTP (RFC 3207),
 * IMAP (RFC 9051 6.2.1), POP3 (RFC 2595 4), FTP (RFC 4217 4), XMPP
 * (RFC 6120 5.4), LDAP (RFC 4511 4.14, StartTLS extended operation) and
 * PostgreSQL (SSLRequest, protocol docs "SSL Session Encryption").
 *
 * Everything here reads peer bytes: every read is bounded by one overall
 * deadline (poll) and TD_STARTTLS_MAX_READ bytes; a line is at most
 * STLS_MAX_LINE bytes.  A failure of the plaintext phase is named as such
 * (enum td_starttls_fail) with the server's own words, so it is never
 * mistaken for a TLS failure.
 *
 * The clock: this is socket I/O in lib/probe (the only networking layer);
 * like the runner it reads CLOCK_MONOTONIC for its deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "tlsdiag/alloc.h"
#include "tlsdiag/cur.h"
#include "tlsdiag/probe_clients.h"

#define STLS_MAX_LINE 1024

struct stls {
    int fd;
    int64_t deadline_ms;
    struct td_starttls_result *r;
    char buf[TD_STARTTLS_MAX_READ + 1];
    size_t n, pos;        /* bytes in buf, bytes consumed */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(struct stls *s, enum td_starttls_fail f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct stls *s, enum td_starttls_fail f, const char *fmt, ...)
{
    va_list ap;

    s->r->fail = f;
    va_start(ap, fmt);
    vsnprintf(s->r->why, sizeof(s->r->why), fmt, ap);
    va_end(ap);
    return -1;
}

/* printable: a peer line made safe for |why| (control bytes as '.') */
static void printable(char *dst, size_t cap, const char *p, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        dst[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '.';
    }
    dst[o] = '\0';
}

static int send_all(struct stls *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t done = 0;

    while (done < n) {
        ssize_t w = send(s->fd, b + done, n - done, MSG_NOSIGNAL);
        if (w > 0) {
            done += (size_t)w;
            s->r->bytes_sent += (uint32_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {s->fd, POLLOUT, 0};
            int64_t left = s->deadline_ms - now_ms();
            if (left <= 0 || poll(&pf, 1, (int)left) == 0)
                return fail(s, TD_STLS_TIMEOUT, "timed out sending");
            continue;
        }
        if (w < 0 && (errno == ECONNRESET || errno == EPIPE))
            return fail(s, TD_STLS_CLOSED, "connection reset while sending");
        return fail(s, TD_STLS_IO, "send: %s", strerror(errno));
    }
    return 0;
}

/* read_more appends what the peer sends next (waiting until the deadline). */
static int read_more(struct stls *s, const char *waiting_for)
{
    for (;;) {
        struct pollfd pf = {s->fd, POLLIN, 0};
        int64_t left = s->deadline_ms - now_ms();
        ssize_t got;
        int pr;

        if (s->n >= TD_STARTTLS_MAX_READ)
            return fail(s, TD_STLS_TOO_LONG, "more than %u bytes before %s", TD_STARTTLS_MAX_READ,
                        waiting_for);
        if (left <= 0 && s->n == 0)
            return fail(s, TD_STLS_TIMEOUT,
                        "timed out waiting for %s: the server sent nothing (an implicit-TLS "
                        "port waits for a ClientHello: drop --starttls?)", waiting_for);
        if (left <= 0)
            return fail(s, TD_STLS_TIMEOUT, "timed out waiting for %s (%u bytes received)",
                        waiting_for, (unsigned)s->n);
        pr = poll(&pf, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return fail(s, TD_STLS_IO, "poll: %s", strerror(errno));
        if (pr == 0)
            continue; /* the deadline check above ends it */
        got = recv(s->fd, s->buf + s->n, TD_STARTTLS_MAX_READ - s->n, 0);
        if (got > 0) {
            s->n += (size_t)got;
            s->r->bytes_read += (uint32_t)got;
            return 0;
        }
        if (got == 0)
            return fail(s, TD_STLS_CLOSED, "the server closed the connection before %s",
                        waiting_for);
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        if (errno == ECONNRESET)
            return fail(s, TD_STLS_CLOSED, "the server reset the connection before %s",
                        waiting_for);
        return fail(s, TD_STLS_IO, "recv: %s", strerror(errno));
    }
}

/* looks_like_tls: the server answered with a TLS record (handshake or alert):
 * this port speaks TLS from the first byte. */
static bool looks_like_tls(const struct stls *s)
{
    return s->n - s->pos >= 3 && (s->buf[s->pos] == 0x16 || s->buf[s->pos] == 0x15) &&
           s->buf[s->pos + 1] == 0x03;
}

/* read_line returns the next line (without CR LF) in |line|/|len|. */
static int read_line(struct stls *s, const char **line, size_t *len, const char *waiting_for)
{
    for (;;) {
        char *nl = memchr(s->buf + s->pos, '\n', s->n - s->pos);
        if (nl != NULL) {
            size_t l = (size_t)(nl - (s->buf + s->pos));
            *line = s->buf + s->pos;
            s->pos += l + 1;
            if (l > 0 && (*line)[l - 1] == '\r')
                l--;
            *len = l;
            return 0;
        }
        if (looks_like_tls(s))
            return fail(s, TD_STLS_TLS_INSTEAD,
                        "the server sent a TLS record instead of %s: this port speaks TLS directly "
                        "(drop --starttls)", waiting_for);
        if (s->n - s->pos > STLS_MAX_LINE)
            return fail(s, TD_STLS_TOO_LONG, "a line longer than %d bytes before %s", STLS_MAX_LINE,
                        waiting_for);
        if (read_more(s, waiting_for) != 0)
            return -1;
    }
}

static bool starts(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(line, prefix, n) == 0;
}

/* contains_word: |word| appears in the line as a whole token (case-insensitive) */
static bool contains_word(const char *line, size_t len, const char *word)
{
    size_t w = strlen(word);

    for (size_t i = 0; i + w <= len; i++) {
        if (strncasecmp(line + i, word, w) != 0)
            continue;
        bool left = i == 0 || line[i - 1] == ' ' || line[i - 1] == '-' || line[i - 1] == '[';
        bool right = i + w == len || line[i + w] == ' ' || line[i + w] == ']' || line[i + w] == '=';
        if (left && right)
            return true;
    }
    return false;
}

/* ---- reply-code protocols: SMTP and FTP (three digits, '-' continues) ---- */

/* read_reply reads a (multi-line) reply; |code| gets its number, |has_word|
 * whether any line names |word| (may be NULL).  |last| keeps the last line.
 * RFC 959 4.2: a multi-line reply starts "ddd-" and ends with a line
 * "ddd " of the same code; lines between may be any text (FTP's FEAT lists
 * features on lines starting with a space), SMTP repeats "ddd-" on each. */
static int read_reply(struct stls *s, int *code, const char *word, bool *has_word, char *last,
                      size_t lastcap, const char *waiting_for)
{
    const char *line;
    size_t len;
    int first = -1;

    if (has_word)
        *has_word = false;
    for (unsigned lines = 0;; lines++) {
        bool coded;
        int c = -1;

        if (lines > 200)
            return fail(s, TD_STLS_TOO_LONG, "more than 200 lines in one reply");
        if (read_line(s, &line, &len, waiting_for) != 0)
            return -1;
        printable(last, lastcap, line, len);
        coded = len >= 3 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
                line[2] >= '0' && line[2] <= '9' && (len == 3 || line[3] == ' ' || line[3] == '-');
        if (coded)
            c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (first < 0) {
            if (!coded)
                return fail(s, TD_STLS_BAD_GREETING, "not a reply line where %s was expected: \"%s\"",
                            waiting_for, last);
            first = c;
        } else if (!coded || c != first) {
            /* free text inside a multi-line reply */
            if (word != NULL && contains_word(line, len, word))
                *has_word = true;
            continue;
        }
        *code = c;
        if (word != NULL && len > 4 && contains_word(line + 4, len - 4, word))
            *has_word = true;
        if (len == 3 || line[3] == ' ')
            return 0;
    }
}

static int do_smtp(struct stls *s)
{
    char last[160];
    int code;
    bool offered;

    if (read_reply(s, &code, NULL, NULL, last, sizeof(last), "the SMTP greeting") != 0)
        return -1;
    if (code != 220)
        return fail(s, code == 554 ? TD_STLS_REFUSED : TD_STLS_BAD_GREETING,
                    "SMTP greeting is not 220: \"%s\"", last);
    if (send_all(s, "EHLO tlsdiag.invalid\r\n", 22) != 0)
        return -1;
    if (read_reply(s, &code, "STARTTLS", &offered, last, sizeof(last), "the EHLO answer") != 0)
        return -1;
    if (code != 250)
        return fail(s, TD_STLS_REFUSED, "EHLO refused: \"%s\"", last);
    if (!offered)
        return fail(s, TD_STLS_NOT_OFFERED, "the EHLO answer lists no STARTTLS");
    if (send_all(s, "STARTTLS\r\n", 10) != 0)
        return -1;
    if (read_reply(s, &code, NULL, NULL, last, sizeof(last), "the STARTTLS answer") != 0)
        return -1;
    if (code != 220)
        return fail(s, TD_STLS_REFUSED, "STARTTLS refused: \"%s\"", last);
    return 0;
}

static int do_ftp(struct stls *s)
{
    char last[160];
    int code;
    bool offered, feat_listed;

    if (read_reply(s, &code, NULL, NULL, last, sizeof(last), "the FTP greeting") != 0)
        return -1;
    if (code != 220)
        return fail(s, code == 421 ? TD_STLS_REFUSED : TD_STLS_BAD_GREETING,
                    "FTP greeting is not 220: \"%s\"", last);
    /* RFC 2389 FEAT first, as evidence only: vsftpd 3.0.3 with ssl_tlsv1=NO
     * lists no AUTH TLS yet accepts it (TLS 1.2/1.3), so AUTH TLS is always
     * tried; a refusal from a server whose FEAT omits it is "not offered" */
    if (send_all(s, "FEAT\r\n", 6) != 0)
        return -1;
    if (read_reply(s, &code, "TLS", &offered, last, sizeof(last), "the FEAT answer") != 0)
        return -1;
    feat_listed = code == 211;
    if (send_all(s, "AUTH TLS\r\n", 10) != 0)
        return -1;
    if (read_reply(s, &code, NULL, NULL, last, sizeof(last), "the AUTH TLS answer") != 0)
        return -1;
    if (code == 234)
        return 0;
    if (code == 500 || code == 502 || code == 504)
        return fail(s, TD_STLS_NOT_OFFERED, "AUTH TLS not supported: \"%s\"", last);
    if (feat_listed && !offered)
        return fail(s, TD_STLS_NOT_OFFERED, "FEAT lists no AUTH TLS and AUTH TLS is refused: \"%s\"",
                    last);
    return fail(s, TD_STLS_REFUSED, "AUTH TLS refused: \"%s\"", last);
}

/* ---- IMAP ---- */

static int imap_tagged(struct stls *s, const char *tag, bool *starttls_seen, char *last,
                       size_t lastcap, const char *waiting_for)
{
    const char *line;
    size_t len, tl = strlen(tag);

    for (unsigned lines = 0;; lines++) {
        if (lines > 200)
            return fail(s, TD_STLS_TOO_LONG, "more than 200 lines before the tagged answer");
        if (read_line(s, &line, &len, waiting_for) != 0)
            return -1;
        printable(last, lastcap, line, len);
        if (starttls_seen != NULL && starts(line, len, "* CAPABILITY") &&
            contains_word(line, len, "STARTTLS"))
            *starttls_seen = true;
        if (len > tl && strncmp(line, tag, tl) == 0 && line[tl] == ' ')
            return starts(line + tl + 1, len - tl - 1, "OK") ? 0 : 1;
    }
}

static int do_imap(struct stls *s)
{
    const char *line;
    size_t len;
    char last[160];
    bool offered = false;
    int rc;

    if (read_line(s, &line, &len, "the IMAP greeting") != 0)
        return -1;
    printable(last, sizeof(last), line, len);
    if (starts(line, len, "* BYE"))
        return fail(s, TD_STLS_REFUSED, "the IMAP server refuses the connection: \"%s\"", last);
    if (starts(line, len, "* PREAUTH"))
        return fail(s, TD_STLS_REFUSED,
                    "PREAUTH greeting: STARTTLS is not allowed after authentication (RFC 9051)");
    if (!starts(line, len, "* OK"))
        return fail(s, TD_STLS_BAD_GREETING, "not an IMAP greeting: \"%s\"", last);
    if (send_all(s, "a1 CAPABILITY\r\n", 15) != 0)
        return -1;
    rc = imap_tagged(s, "a1", &offered, last, sizeof(last), "the CAPABILITY answer");
    if (rc < 0)
        return -1;
    if (rc > 0)
        return fail(s, TD_STLS_REFUSED, "CAPABILITY failed: \"%s\"", last);
    if (!offered)
        return fail(s, TD_STLS_NOT_OFFERED, "CAPABILITY lists no STARTTLS");
    if (send_all(s, "a2 STARTTLS\r\n", 13) != 0)
        return -1;
    rc = imap_tagged(s, "a2", NULL, last, sizeof(last), "the STARTTLS answer");
    if (rc < 0)
        return -1;
    if (rc > 0)
        return fail(s, TD_STLS_REFUSED, "STARTTLS refused: \"%s\"", last);
    return 0;
}

/* ---- POP3 ---- */

static int do_pop3(struct stls *s)
{
    const char *line;
    size_t len;
    char last[160];
    bool offered = false;

    if (read_line(s, &line, &len, "the POP3 greeting") != 0)
        return -1;
    printable(last, sizeof(last), line, len);
    if (starts(line, len, "-ERR"))
        return fail(s, TD_STLS_REFUSED, "the POP3 server refuses the connection: \"%s\"", last);
    if (!starts(line, len, "+OK"))
        return fail(s, TD_STLS_BAD_GREETING, "not a POP3 greeting: \"%s\"", last);
    if (send_all(s, "CAPA\r\n", 6) != 0)
        return -1;
    if (read_line(s, &line, &len, "the CAPA answer") != 0)
        return -1;
    printable(last, sizeof(last), line, len);
    if (starts(line, len, "+OK")) {
        for (unsigned lines = 0;; lines++) {
            if (lines > 200)
                return fail(s, TD_STLS_TOO_LONG, "more than 200 capability lines");
            if (read_line(s, &line, &len, "the end of the CAPA list") != 0)
                return -1;
            if (len == 1 && line[0] == '.')
                break;
            if (contains_word(line, len, "STLS"))
                offered = true;
        }
    } else if (!starts(line, len, "-ERR")) {
        return fail(s, TD_STLS_BAD_GREETING, "not a POP3 answer to CAPA: \"%s\"", last);
    }
    if (!offered)
        return fail(s, TD_STLS_NOT_OFFERED, "CAPA lists no STLS");
    if (send_all(s, "STLS\r\n", 6) != 0)
        return -1;
    if (read_line(s, &line, &len, "the STLS answer") != 0)
        return -1;
    printable(last, sizeof(last), line, len);
    if (!starts(line, len, "+OK"))
        return fail(s, TD_STLS_REFUSED, "STLS refused: \"%s\"", last);
    return 0;
}

/* ---- XMPP ---- */

/* xml_until reads until |marker| appears after s->pos; it does not parse
 * XML (a diagnoser needs only the features and the proceed/failure). */
static const char *xml_until(struct stls *s, const char *const *markers, size_t nmark,
                             size_t *which, const char *waiting_for)
{
    for (;;) {
        s->buf[s->n] = '\0';
        if (memchr(s->buf + s->pos, '\0', s->n - s->pos) != NULL)
            return fail(s, TD_STLS_BAD_GREETING, "NUL byte in the XMPP stream"), NULL;
        const char *best = NULL;
        for (size_t i = 0; i < nmark; i++) {
            const char *m = strstr(s->buf + s->pos, markers[i]);
            if (m != NULL && (best == NULL || m < best)) {
                best = m;
                *which = i;
            }
        }
        if (best != NULL)
            return best;
        if (looks_like_tls(s))
            return fail(s, TD_STLS_TLS_INSTEAD,
                        "the server sent a TLS record instead of %s: this port speaks TLS directly "
                        "(drop --starttls)", waiting_for), NULL;
        if (read_more(s, waiting_for) != 0)
            return NULL;
    }
}

static int do_xmpp(struct stls *s, const char *host)
{
    static const char *const feat_end[] = {"</stream:features>", "<stream:features/>",
                                           "</stream:stream>", "<stream:error"};
    static const char *const answer[] = {"<proceed", "<failure", "</stream:stream>",
                                         "<stream:error"};
    char hdr[512];
    const char *m, *feat;
    size_t which = 0;
    int n;

    n = snprintf(hdr, sizeof(hdr),
                 "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
                 "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
                 host);
    if (n < 0 || (size_t)n >= sizeof(hdr))
        return fail(s, TD_STLS_IO, "host name too long for the stream header");
    if (send_all(s, hdr, (size_t)n) != 0)
        return -1;
    m = xml_until(s, feat_end, 4, &which, "the XMPP stream features");
    if (m == NULL)
        return -1;
    if (which >= 2) {
        char err[120];
        printable(err, sizeof(err), m, strnlen(m, 119));
        return fail(s, TD_STLS_REFUSED, "the XMPP server ended the stream: %s", err);
    }
    feat = strstr(s->buf + s->pos, "<stream:features");
    if (feat == NULL || feat > m)
        return fail(s, TD_STLS_BAD_GREETING, "no <stream:features> from the XMPP server");
    {
        const char *st = strstr(feat, "<starttls");
        if (st == NULL || st > m)
            return fail(s, TD_STLS_NOT_OFFERED, "the stream features list no <starttls/>");
    }
    s->pos = (size_t)(m - s->buf) + strlen(feat_end[which]);
    if (send_all(s, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", 51) != 0)
        return -1;
    m = xml_until(s, answer, 4, &which, "the <proceed/> answer");
    if (m == NULL)
        return -1;
    if (which != 0)
        return fail(s, TD_STLS_REFUSED, "the XMPP server answered %s instead of <proceed/>",
                    which == 1 ? "<failure/>" : "by ending the stream");
    /* wait for the end of the proceed element */
    while (strchr(m, '>') == NULL) {
        size_t off = (size_t)(m - s->buf);
        if (read_more(s, "the end of <proceed/>") != 0)
            return -1;
        s->buf[s->n] = '\0';
        m = s->buf + off;
    }
    return 0;
}

/* ---- LDAP ---- */

/* ExtendedRequest for StartTLS (RFC 4511 4.12, 4.14.1), message id 1:
 *   SEQUENCE { INTEGER 1, [APPLICATION 23] { [0] "1.3.6.1.4.1.1466.20037" } } */
static const uint8_t ldap_starttls[] = {
    0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1',
    '.', '4', '.', '1', '.', '1', '4', '6', '6', '.', '2', '0', '0', '3', '7'};

/* ber_len reads a BER definite length (at most 4 length bytes). */
static bool ber_len(struct td_cur *c, uint32_t *len)
{
    uint8_t b;

    if (!td_cur_get_u8(c, &b))
        return false;
    if (b < 0x80) {
        *len = b;
        return true;
    }
    b &= 0x7f;
    if (b == 0 || b > 4)
        return false;
    *len = 0;
    for (uint8_t i = 0; i < b; i++) {
        uint8_t x;
        if (!td_cur_get_u8(c, &x))
            return false;
        *len = *len << 8 | x;
    }
    return true;
}

static bool ber_tlv(struct td_cur *c, uint8_t *tag, struct td_cur *val)
{
    struct td_cur t = *c;
    uint32_t len;

    if (!td_cur_get_u8(&t, tag) || !ber_len(&t, &len) || !td_cur_get_bytes(&t, val, len))
        return false;
    *c = t;
    return true;
}

static int do_ldap(struct stls *s)
{
    struct td_cur c, msg, v;
    uint8_t tag, code;

    if (send_all(s, ldap_starttls, sizeof(ldap_starttls)) != 0)
        return -1;
    for (;;) {
        td_cur_init(&c, (const uint8_t *)s->buf, s->n);
        if (s->n >= 1 && (uint8_t)s->buf[0] != 0x30) {
            if (looks_like_tls(s))
                return fail(s, TD_STLS_TLS_INSTEAD,
                            "the server answered with TLS: this port speaks LDAPS (drop --starttls)");
            return fail(s, TD_STLS_BAD_GREETING, "not an LDAP message (first byte 0x%02x)",
                        (uint8_t)s->buf[0]);
        }
        if (ber_tlv(&c, &tag, &msg))
            break;
        if (read_more(s, "the StartTLS extended response") != 0)
            return -1;
    }
    /* LDAPMessage: messageID, then protocolOp [APPLICATION 24] ExtendedResponse,
     * whose first element is resultCode ENUMERATED */
    if (!ber_tlv(&msg, &tag, &v) || tag != 0x02)
        return fail(s, TD_STLS_BAD_GREETING, "LDAP answer without a message id");
    if (!ber_tlv(&msg, &tag, &v))
        return fail(s, TD_STLS_BAD_GREETING, "LDAP answer without an operation");
    if (tag != 0x78)
        return fail(s, TD_STLS_BAD_GREETING,
                    "LDAP answer is not an ExtendedResponse (tag 0x%02x)", tag);
    {
        struct td_cur rc;
        if (!ber_tlv(&v, &tag, &rc) || tag != 0x0a || td_cur_len(&rc) != 1 ||
            !td_cur_get_u8(&rc, &code))
            return fail(s, TD_STLS_BAD_GREETING, "LDAP ExtendedResponse without a result code");
    }
    if (code == 0)
        return 0;
    if (code == 2) /* protocolError: the operation is not recognised */
        return fail(s, TD_STLS_NOT_OFFERED,
                    "the LDAP server does not support StartTLS (resultCode protocolError)");
    return fail(s, TD_STLS_REFUSED, "StartTLS refused with LDAP resultCode %u", code);
}

/* ---- PostgreSQL ---- */

static int do_postgres(struct stls *s)
{
    static const uint8_t sslrequest[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};

    if (send_all(s, sslrequest, sizeof(sslrequest)) != 0)
        return -1;
    if (s->n == 0 && read_more(s, "the answer to SSLRequest") != 0)
        return -1;
    if (s->buf[0] == 'S') {
        if (s->n > 1) /* bytes after 'S' before our hello: CVE-2021-23222's shape */
            return fail(s, TD_STLS_BAD_GREETING,
                        "%u unexpected bytes after the server's 'S'", (unsigned)(s->n - 1));
        return 0;
    }
    if (s->buf[0] == 'N')
        return fail(s, TD_STLS_NOT_OFFERED, "the PostgreSQL server answered 'N': SSL is off (ssl = off)");
    if (s->buf[0] == 'E')
        return fail(s, TD_STLS_REFUSED, "the server answered SSLRequest with an error message");
    if (looks_like_tls(s))
        return fail(s, TD_STLS_TLS_INSTEAD, "the server answered with TLS");
    return fail(s, TD_STLS_BAD_GREETING, "not a PostgreSQL answer to SSLRequest (first byte 0x%02x)",
                (uint8_t)s->buf[0]);
}

/* ---- entry points ---- */

static const char *const protos[] = {"smtp", "imap", "pop3", "ftp", "xmpp", "ldap", "postgres"};

bool td_starttls_proto_ok(const char *proto)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        if (strcmp(proto, protos[i]) == 0)
            return true;
    }
    return false;
}

const char *td_starttls_fail_str(enum td_starttls_fail f)
{
    switch (f) {
    case TD_STLS_OK: return "ok";
    case TD_STLS_UNKNOWN_PROTO: return "starttls_unknown_protocol";
    case TD_STLS_BAD_GREETING: return "starttls_bad_greeting";
    case TD_STLS_NOT_OFFERED: return "starttls_not_offered";
    case TD_STLS_REFUSED: return "starttls_refused";
    case TD_STLS_TLS_INSTEAD: return "starttls_tls_instead";
    case TD_STLS_TIMEOUT: return "starttls_timeout";
    case TD_STLS_CLOSED: return "starttls_closed";
    case TD_STLS_TOO_LONG: return "starttls_too_long";
    case TD_STLS_IO: return "starttls_io_error";
    case TD_STLS_CONNECT: return "starttls_connect_failed";
    }
    return "starttls_io_error";
}

int td_starttls_run(int fd, const char *proto, const char *host, int timeout_ms,
                    struct td_starttls_result *r)
{
    struct stls *sp;
    int rc;

    memset(r, 0, sizeof(*r));
    sp = td_malloc(sizeof(*sp)); /* 16 KiB: kept off the runner's stack */
    if (sp == NULL) {
        r->fail = TD_STLS_IO;
        snprintf(r->why, sizeof(r->why), "out of memory");
        return -1;
    }
    memset(sp, 0, sizeof(*sp));
    sp->fd = fd;
    sp->r = r;
    sp->deadline_ms = now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
    if (host == NULL || host[0] == '\0')
        host = "localhost";
    if (strcmp(proto, "smtp") == 0)
        rc = do_smtp(sp);
    else if (strcmp(proto, "imap") == 0)
        rc = do_imap(sp);
    else if (strcmp(proto, "pop3") == 0)
        rc = do_pop3(sp);
    else if (strcmp(proto, "ftp") == 0)
        rc = do_ftp(sp);
    else if (strcmp(proto, "xmpp") == 0)
        rc = do_xmpp(sp, host);
    else if (strcmp(proto, "ldap") == 0)
        rc = do_ldap(sp);
    else if (strcmp(proto, "postgres") == 0)
        rc = do_postgres(sp);
    else
        rc = fail(sp, TD_STLS_UNKNOWN_PROTO, "unknown STARTTLS protocol \"%.32s\"", proto);
    if (rc == 0) {
        r->fail = TD_STLS_OK;
        snprintf(r->why, sizeof(r->why), "%s: ready for TLS", proto);
    }
    free(sp);
    return rc == 0 ? 0 : -1;
}

int td_starttls_hook(int fd, const char *proto, int timeout_ms, char *why, size_t whylen)
{
    struct td_starttls_result r;
    char p[16];
    const char *host = NULL;
    const char *colon = strchr(proto, ':');
    int rc;

    /* "xmpp:example.org" names the XMPP domain (to=); plain "xmpp" uses localhost */
    if (colon != NULL) {
        size_t n = (size_t)(colon - proto);
        if (n >= sizeof(p))
            n = sizeof(p) - 1;
        memcpy(p, proto, n);
        p[n] = '\0';
        host = colon + 1;
        proto = p;
    }
    rc = td_starttls_run(fd, proto, host, timeout_ms, &r);
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s: %s", td_starttls_fail_str(r.fail), r.why);
    return rc;
}

int td_starttls_preflight(const struct sockaddr *addr, unsigned addrlen, const char *proto,
                          int connect_ms, int timeout_ms, struct td_starttls_result *r)
{
    char p[16];
    const char *host = NULL;
    const char *colon = strchr(proto, ':');
    int fd, rc, fl;

    memset(r, 0, sizeof(*r));
    if (colon != NULL) {
        size_t n = (size_t)(colon - proto);
        if (n >= sizeof(p))
            n = sizeof(p) - 1;
        memcpy(p, proto, n);
        p[n] = '\0';
        host = colon + 1;
        proto = p;
    }
    fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r->fail = TD_STLS_IO;
        snprintf(r->why, sizeof(r->why), "socket: %s", strerror(errno));
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        r->fail = TD_STLS_IO;
        snprintf(r->why, sizeof(r->why), "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    rc = connect(fd, addr, (socklen_t)addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd pf = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof(err);

        rc = poll(&pf, 1, connect_ms > 0 ? connect_ms : 3000);
        if (rc == 0) {
            r->fail = TD_STLS_CONNECT;
            snprintf(r->why, sizeof(r->why), "TCP connect timed out");
            close(fd);
            return -1;
        }
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        errno = err;
        rc = err == 0 ? 0 : -1;
    }
    if (rc != 0) {
        r->fail = TD_STLS_CONNECT;
        snprintf(r->why, sizeof(r->why), "TCP connect failed: %s", strerror(errno));
        close(fd);
        return -1;
    }
    rc = td_starttls_run(fd, proto, host, timeout_ms, r);
    close(fd);
    return rc;
}
