/* upgrade.c: follow the plaintext phase of STARTTLS protocols and tunnels to
 * the point where TLS begins (see upgrade.h).
 *
 * Recognised from the first payload of the connection:
 *   server first: "220" (SMTP, or FTP when the client says AUTH TLS/SSL),
 *                 "+OK" (POP3), "* OK" (IMAP)
 *   client first: "CONNECT host:port HTTP/1.x" (RFC 9110 9.3.6), SOCKS4
 *                 (04 01 port ip user\0 [host\0]), SOCKS5 (RFC 1928:
 *                 05 n methods), PostgreSQL SSLRequest (00000008 04d2162f),
 *                 LDAP ExtendedRequest with OID 1.3.6.1.4.1.1466.20037
 *                 (RFC 4511 4.14), XMPP ("<?xml" / "<stream:stream").
 * Requests: STARTTLS (SMTP RFC 3207, IMAP RFC 3501 6.2.1 with its tag),
 * STLS (POP3 RFC 2595), AUTH TLS / AUTH SSL (FTP RFC 4217), <starttls/>
 * (XMPP RFC 6120 5.4), and the tunnel requests above.  Replies: 2xx
 * (SMTP, FTP 234, HTTP), +OK/-ERR, tagged OK/NO/BAD, <proceed/>/<failure/>,
 * 'S'/'N', SOCKS4 0x5a, SOCKS5 REP 0, LDAP resultCode 0.
 * A direction switches to TLS where, after an accepted request, its next
 * bytes begin with a TLS record header (client) or right after the
 * accepting reply (server). */
#include "upgrade.h"
#include "tlsdiag/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/cur.h"

/* a string literal as (bytes, length) */
#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static const uint8_t PG_SSLREQ[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
static const uint8_t LDAP_OID[] = "1.3.6.1.4.1.1466.20037";

const char *td_upg_proto_str(uint8_t proto)
{
    static const char *const n[] = {"none", "smtp", "imap", "pop3", "ftp", "xmpp",
                                     "ldap", "postgres", "http_connect", "socks4", "socks5"};
    return proto < sizeof(n) / sizeof(n[0]) ? n[proto] : "?";
}

const char *td_upg_state_str(uint8_t state)
{
    static const char *const n[] = {"none", "requested", "accepted", "refused"};
    return state < sizeof(n) / sizeof(n[0]) ? n[state] : "?";
}

void td_up_init(struct td_upgrade *u) { memset(u, 0, sizeof(*u)); }

void td_up_free(struct td_upgrade *u)
{
    free(u->buf[0]);
    free(u->buf[1]);
    u->buf[0] = u->buf[1] = NULL;
}

/* ---- small text helpers on views (no pointer arithmetic on peer bytes
 * outside these bounded index loops) ---- */

static bool looks_tls(const uint8_t *p, size_t n)
{
    if (n < 3)
        return n > 0 && (p[0] == 0x16 || p[0] == 0x15) && (n < 2 || p[1] == 0x03);
    return (p[0] == 0x16 || p[0] == 0x15) && p[1] == 0x03 && p[2] <= 0x04;
}

static bool starts_ci(const uint8_t *p, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++) {
        uint8_t a = p[i], b = (uint8_t)w[i];
        if (a >= 'a' && a <= 'z')
            a = (uint8_t)(a - 32);
        if (b >= 'a' && b <= 'z')
            b = (uint8_t)(b - 32);
        if (a != b)
            return false;
    }
    return true;
}

static bool find(const uint8_t *p, size_t n, const void *needle, size_t k, size_t *at)
{
    const uint8_t *q = needle;
    for (size_t i = 0; k <= n && i + k <= n; i++) {
        if (memcmp(p + i, q, k) == 0) {
            *at = i;
            return true;
        }
    }
    return false;
}

static void printable(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        uint8_t b = p[i];
        if (b == '\r' || b == '\n')
            break;
        dst[j++] = (b >= 0x20 && b < 0x7f) ? (char)b : '.';
    }
    dst[j] = 0;
}

/* the line at |pos| ending in '\n': returns its length with the '\n', 0 if
 * incomplete */
static size_t line_at(struct td_upgrade *u, uint8_t ep, uint32_t pos)
{
    bool inside = pos >= u->nl_from[ep] && pos <= u->nl_to[ep];
    const uint8_t *nl;

    if (inside && u->nl_to[ep] >= u->len[ep])
        return 0; /* nothing new since the last search */
    nl = memchr(u->buf[ep] + (inside ? u->nl_to[ep] : pos), '\n', u->len[ep] - (inside ? u->nl_to[ep] : pos));
    if (nl != NULL)
        return (size_t)(nl - (u->buf[ep] + pos)) + 1;
    if (!inside)
        u->nl_from[ep] = pos;
    u->nl_to[ep] = u->len[ep];
    return 0;
}

/* ---- BER (LDAP): tag, length ---- */
static bool ber_elem(const uint8_t *p, size_t n, uint8_t *tag, size_t *hdr, size_t *len)
{
    struct td_cur c;
    uint8_t t, l0, b;
    size_t l = 0;

    td_cur_init(&c, p, n);
    if (!td_cur_get_u8(&c, &t) || !td_cur_get_u8(&c, &l0))
        return false;
    if (l0 < 0x80) {
        l = l0;
    } else {
        uint8_t k = (uint8_t)(l0 & 0x7f);
        if (k == 0 || k > 3)
            return false;
        for (uint8_t i = 0; i < k; i++) {
            if (!td_cur_get_u8(&c, &b))
                return false;
            l = (l << 8) | b;
        }
    }
    *tag = t;
    *hdr = n - td_cur_len(&c);
    *len = l;
    return true;
}

/* ---- the request and reply bookkeeping ---- */

static void set_req(struct td_upgrade_info *info, struct td_up_events *evs, const uint8_t *p, size_t n)
{
    if (info->state != TD_UPGS_NONE)
        return;
    info->state = TD_UPGS_REQUESTED;
    printable(info->request, sizeof(info->request), p, n);
    evs->req = true;
}

static void set_reply(struct td_upgrade_info *info, struct td_up_events *evs, bool ok, const uint8_t *p, size_t n)
{
    if (info->state != TD_UPGS_REQUESTED)
        return;
    info->state = ok ? TD_UPGS_ACCEPTED : TD_UPGS_REFUSED;
    printable(info->reply, sizeof(info->reply), p, n);
    evs->reply = true;
}

/* ---- first payload: which protocol ---- */

static bool detect(struct td_upgrade *u, struct td_upgrade_info *info, uint8_t ep, const uint8_t *p, size_t n)
{
    /* server first */
    if (starts_ci(p, n, "220") || starts_ci(p, n, "+OK") || starts_ci(p, n, "* OK")) {
        info->proto = p[0] == '+' ? TD_UPG_POP3 : p[0] == '*' ? TD_UPG_IMAP : TD_UPG_SMTP;
        u->cli = (uint8_t)(1 - ep);
        return true;
    }
    u->cli = ep;
    if (starts_ci(p, n, "CONNECT ")) {
        info->proto = TD_UPG_HTTP_CONNECT;
        return true;
    }
    if (n >= 8 && memcmp(p, PG_SSLREQ, 8) == 0) {
        info->proto = TD_UPG_POSTGRES;
        return true;
    }
    if (n >= 9 && p[0] == 0x04 && p[1] == 0x01) {
        info->proto = TD_UPG_SOCKS4;
        return true;
    }
    if (n >= 3 && p[0] == 0x05 && p[1] >= 1 && p[1] <= 16 && (size_t)p[1] + 2 <= n && n <= (size_t)p[1] + 2 + 262) {
        info->proto = TD_UPG_SOCKS5;
        return true;
    }
    if (starts_ci(p, n, "<?xml") || starts_ci(p, n, "<stream:stream")) {
        info->proto = TD_UPG_XMPP;
        return true;
    }
    if (n >= 2 && p[0] == 0x30) {
        size_t at;
        if (find(p, n < 128 ? n : 128, LDAP_OID, sizeof(LDAP_OID) - 1, &at)) {
            info->proto = TD_UPG_LDAP;
            return true;
        }
    }
    return false;
}

/* ---- per protocol: the client's side ---- */

static void client_text(struct td_upgrade *u, struct td_upgrade_info *info, struct td_up_events *evs)
{
    uint8_t ep = u->cli;
    size_t l;

    while (!u->cli_req_done && (l = line_at(u, ep, u->pos[ep])) > 0) {
        const uint8_t *p = u->buf[ep] + u->pos[ep];
        bool req = false;
        switch (info->proto) {
        case TD_UPG_SMTP:
        case TD_UPG_FTP:
            if (starts_ci(p, l, "STARTTLS")) {
                info->proto = TD_UPG_SMTP;
                req = true;
            } else if (starts_ci(p, l, "AUTH TLS") || starts_ci(p, l, "AUTH SSL")) {
                info->proto = TD_UPG_FTP;
                req = true;
            }
            break;
        case TD_UPG_POP3:
            req = starts_ci(p, l, "STLS");
            break;
        case TD_UPG_IMAP: {
            size_t sp;
            if (find(p, l, " ", 1, &sp) && sp > 0 && sp < sizeof(u->tag) && starts_ci(p + sp + 1, l - sp - 1, "STARTTLS")) {
                memcpy(u->tag, p, sp);
                u->tag[sp] = 0;
                req = true;
            }
            break;
        }
        case TD_UPG_HTTP_CONNECT:
            if (u->pos[ep] == 0)
                set_req(info, evs, p, l);
            if (l <= 2 && (p[0] == '\n' || (p[0] == '\r' && l == 2))) {
                u->pos[ep] += (uint32_t)l;
                u->cli_req_done = true;
                u->cli_tls_at = u->pos[ep];
                return;
            }
            break;
        default:
            break;
        }
        if (!req)
            u->cli_cmds++;
        if (req) {
            set_req(info, evs, p, l);
            u->pos[ep] += (uint32_t)l;
            u->cli_req_done = true;
            u->cli_tls_at = u->pos[ep];
            return;
        }
        u->pos[ep] += (uint32_t)l;
    }
}

static void client_binary(struct td_upgrade *u, struct td_upgrade_info *info, struct td_up_events *evs)
{
    uint8_t ep = u->cli;
    const uint8_t *p = u->buf[ep];
    size_t n = u->len[ep];

    if (u->cli_req_done)
        return;
    switch (info->proto) {
    case TD_UPG_POSTGRES:
        if (n >= 8) {
            set_req(info, evs, LIT("SSLRequest"));
            u->cli_tls_at = 8;
            u->cli_req_done = true;
        }
        return;
    case TD_UPG_SOCKS4: {
        /* 04 01 port(2) ip(4) userid\0 [host\0 when ip is 0.0.0.x, SOCKS4a] */
        size_t at, at2;
        if (n < 9 || !find(p + 8, n - 8, "\0", 1, &at))
            return;
        at += 9;
        if (p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] != 0) {
            if (!find(p + at, n - at, "\0", 1, &at2))
                return;
            at += at2 + 1;
        }
        set_req(info, evs, LIT("SOCKS4 CONNECT"));
        u->cli_tls_at = (uint32_t)at;
        u->cli_req_done = true;
        return;
    }
    case TD_UPG_SOCKS5: {
        /* greeting 05 n methods; request 05 cmd 00 atyp addr port */
        size_t g = (size_t)p[1] + 2, alen;
        if (n < g + 5)
            return;
        switch (p[g + 3]) {
        case 1: alen = 4; break;
        case 4: alen = 16; break;
        case 3: alen = (size_t)p[g + 4] + 1; break;
        default:
            u->cli_req_done = true; /* not a request we follow */
            return;
        }
        if (n < g + 4 + alen + 2)
            return;
        set_req(info, evs, LIT("SOCKS5 CONNECT"));
        u->cli_tls_at = (uint32_t)(g + 4 + alen + 2);
        u->cli_req_done = true;
        return;
    }
    case TD_UPG_LDAP: {
        uint8_t tag;
        size_t hdr, len, at;
        if (!ber_elem(p, n, &tag, &hdr, &len) || n < hdr + len)
            return;
        if (tag == 0x30 && find(p, hdr + len, LDAP_OID, sizeof(LDAP_OID) - 1, &at)) {
            set_req(info, evs, LIT("StartTLS extended request"));
            u->cli_tls_at = (uint32_t)(hdr + len);
        }
        u->cli_req_done = true;
        return;
    }
    case TD_UPG_XMPP: {
        size_t at, end;
        if (!find(p, n, "<starttls", 9, &at))
            return;
        if (find(p + at, n - at, "/>", 2, &end))
            end += at + 2;
        else if (find(p + at, n - at, "</starttls>", 11, &end))
            end += at + 11;
        else
            return;
        set_req(info, evs, LIT("<starttls/>"));
        u->cli_tls_at = (uint32_t)end;
        u->cli_req_done = true;
        return;
    }
    default:
        return;
    }
}

/* ---- per protocol: the server's side; returns the offset where its TLS
 * begins once accepted, 0 otherwise ---- */

static uint32_t server_text(struct td_upgrade *u, struct td_upgrade_info *info, struct td_up_events *evs)
{
    uint8_t ep = (uint8_t)(1 - u->cli);
    size_t l;

    while ((l = line_at(u, ep, u->pos[ep])) > 0) {
        const uint8_t *p = u->buf[ep] + u->pos[ep];
        uint32_t end = u->pos[ep] + (uint32_t)l;
        u->pos[ep] = end;
        /* SMTP, FTP, POP3: replies come in command order, after the
         * greeting; the request's answer is reply number 1 + commands
         * before it (pipelined commands are counted) */
        if ((info->proto == TD_UPG_SMTP || info->proto == TD_UPG_FTP) && l >= 4 && p[0] >= '1' && p[0] <= '5' &&
            p[3] == ' ' && p[0] != '1')
            u->srv_replies++;
        else if (info->proto == TD_UPG_POP3 && (starts_ci(p, l, "+OK") || starts_ci(p, l, "-ERR")))
            u->srv_replies++;
        else if (info->proto == TD_UPG_SMTP || info->proto == TD_UPG_FTP || info->proto == TD_UPG_POP3)
            continue;
        if (info->state != TD_UPGS_REQUESTED)
            continue; /* greeting, capabilities, or after the answer */
        switch (info->proto) {
        case TD_UPG_SMTP:
        case TD_UPG_FTP:
        case TD_UPG_POP3: {
            bool ok = p[0] == '2' || p[0] == '+';
            if (u->srv_replies != u->cli_cmds + 2)
                break;
            set_reply(info, evs, ok, p, l);
            if (ok)
                return end;
            break;
        }
        case TD_UPG_IMAP: {
            size_t k = strlen(u->tag);
            if (k > 0 && l > k && memcmp(p, u->tag, k) == 0 && p[k] == ' ') {
                bool ok = starts_ci(p + k + 1, l - k - 1, "OK");
                set_reply(info, evs, ok, p, l);
                if (ok)
                    return end;
            }
            break;
        }
        case TD_UPG_HTTP_CONNECT:
            if (starts_ci(p, l, "HTTP/") && l >= 12) {
                /* the TLS begins after the header block: wait for all of it */
                uint32_t start = end - (uint32_t)l, q = end;
                size_t hl;
                if (u->hdr_start[ep] == start && u->hdr_resume[ep] > q)
                    q = u->hdr_resume[ep]; /* the lines before it were read */
                while ((hl = line_at(u, ep, q)) > 0) {
                    const uint8_t *h = u->buf[ep] + q;
                    q += (uint32_t)hl;
                    if (h[0] == '\n' || (h[0] == '\r' && hl == 2))
                        break;
                }
                if (hl == 0) {
                    u->pos[ep] = start; /* read again with more bytes */
                    u->hdr_start[ep] = start;
                    u->hdr_resume[ep] = q;
                    return 0;
                }
                u->pos[ep] = q;
                set_reply(info, evs, p[9] == '2', p, l);
                if (p[9] == '2')
                    return q;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

static uint32_t server_binary(struct td_upgrade *u, struct td_upgrade_info *info, struct td_up_events *evs)
{
    uint8_t ep = (uint8_t)(1 - u->cli);
    const uint8_t *p = u->buf[ep];
    size_t n = u->len[ep];

    if (info->state != TD_UPGS_REQUESTED)
        return 0;
    switch (info->proto) {
    case TD_UPG_POSTGRES:
        if (n >= 1) {
            const char *r = p[0] == 'S' ? "S (SSL accepted)" : p[0] == 'N' ? "N (SSL refused)" : "not S or N";
            set_reply(info, evs, p[0] == 'S', (const uint8_t *)r, strlen(r));
            return p[0] == 'S' ? 1 : 0;
        }
        return 0;
    case TD_UPG_SOCKS4:
        if (n >= 8) {
            bool ok = p[0] == 0 && p[1] == 0x5a;
            char r[40];
            snprintf(r, sizeof(r), ok ? "request granted (0x5a)" : "request rejected (0x%02x)", p[1]);
            set_reply(info, evs, ok, (const uint8_t *)r, strlen(r));
            return ok ? 8 : 0;
        }
        return 0;
    case TD_UPG_SOCKS5: {
        size_t alen;
        if (n < 2)
            return 0;
        if (p[1] == 0xff) {
            set_reply(info, evs, false, LIT("no acceptable authentication method (0xff)"));
            return 0;
        }
        if (p[1] != 0x00) {
            u->gave_up = true; /* an authentication sub-negotiation: not followed */
            return 0;
        }
        if (n < 2 + 5)
            return 0;
        switch (p[2 + 3]) {
        case 1: alen = 4; break;
        case 4: alen = 16; break;
        case 3: alen = (size_t)p[2 + 4] + 1; break;
        default: alen = 0; break;
        }
        if (p[3] != 0) {
            char r[48];
            static const char *const why[] = {"succeeded", "general failure", "not allowed by ruleset", "network unreachable",
                                              "host unreachable", "connection refused", "TTL expired", "command not supported",
                                              "address type not supported"};
            snprintf(r, sizeof(r), "REP %u %s", p[3], p[3] < 9 ? why[p[3]] : "unassigned");
            set_reply(info, evs, false, (const uint8_t *)r, strlen(r));
            return 0;
        }
        if (alen == 0 || n < 2 + 4 + alen + 2)
            return 0;
        set_reply(info, evs, true, LIT("REP 0 succeeded"));
        return (uint32_t)(2 + 4 + alen + 2);
    }
    case TD_UPG_LDAP: {
        /* 30 L (02 l msgid) (78 L (0a 01 resultCode) ...) */
        uint8_t tag;
        size_t hdr, len, h2, l2, h3, l3;
        struct td_cur c;
        uint8_t rc = 0xff;
        if (!ber_elem(p, n, &tag, &hdr, &len) || n < hdr + len)
            return 0;
        if (tag == 0x30 && ber_elem(p + hdr, len, &tag, &h2, &l2) && tag == 0x02 && h2 + l2 < len &&
            ber_elem(p + hdr + h2 + l2, len - h2 - l2, &tag, &h3, &l3) && tag == 0x78) {
            td_cur_init(&c, p + hdr + h2 + l2 + h3, len - h2 - l2 - h3);
            uint8_t t, ln;
            if (!td_cur_get_u8(&c, &t) || !td_cur_get_u8(&c, &ln) || t != 0x0a || ln != 1 || !td_cur_get_u8(&c, &rc))
                rc = 0xff;
        }
        {
            char r[40];
            snprintf(r, sizeof(r), "resultCode %u", rc);
            set_reply(info, evs, rc == 0, (const uint8_t *)r, strlen(r));
        }
        return rc == 0 ? (uint32_t)(hdr + len) : 0;
    }
    case TD_UPG_XMPP: {
        size_t at, end;
        if (find(p, n, "<failure", 8, &at)) {
            set_reply(info, evs, false, p + at, n - at);
            return 0;
        }
        if (!find(p, n, "<proceed", 8, &at))
            return 0;
        if (find(p + at, n - at, "/>", 2, &end))
            end += at + 2;
        else if (find(p + at, n - at, "</proceed>", 10, &end))
            end += at + 10;
        else
            return 0;
        set_reply(info, evs, true, LIT("<proceed/>"));
        return (uint32_t)end;
    }
    default:
        return 0;
    }
}

static bool is_text(uint8_t proto)
{
    return proto == TD_UPG_SMTP || proto == TD_UPG_FTP || proto == TD_UPG_POP3 || proto == TD_UPG_IMAP ||
           proto == TD_UPG_HTTP_CONNECT;
}

enum td_up_res td_up_feed(struct td_upgrade *u, struct td_upgrade_info *info, uint8_t ep, int syn_client,
                          const uint8_t *p, size_t n, const uint8_t **tls, size_t *tls_len,
                          struct td_up_events *evs)
{
    uint32_t srv_at = 0;
    uint8_t sv;

    memset(evs, 0, sizeof(*evs));
    *tls = NULL;
    *tls_len = 0;
    if (ep > 1)
        return TD_UP_NONE;
    if (!u->decided) {
        u->decided = true;
        /* only connections whose start was captured (a SYN): in a capture
         * that starts mid-stream the first bytes are anyone's, and the TLS
         * stream's resynchronisation must get them */
        if (n == 0 || syn_client < 0 || looks_tls(p, n) || !detect(u, info, ep, p, n) ||
            syn_client != (int)u->cli) {
            info->proto = TD_UPG_NONE;
            return TD_UP_NONE;
        }
        u->active = true;
    }
    if (!u->active || u->dstate[ep] == TD_UPD_TLS)
        return TD_UP_NONE;
    if (u->gave_up)
        return TD_UP_GIVE_UP;
    /* keep the bytes, up to the cap */
    if (u->buf[ep] == NULL) {
        u->buf[ep] = td_malloc(TD_UP_CAP);
        if (u->buf[ep] == NULL) {
            u->gave_up = true;
            return TD_UP_GIVE_UP;
        }
    }
    if (n > TD_UP_CAP - u->len[ep]) {
        u->gave_up = true;
        return TD_UP_GIVE_UP;
    }
    memcpy(u->buf[ep] + u->len[ep], p, n);
    u->len[ep] += (uint32_t)n;

    sv = (uint8_t)(1 - u->cli);
    if (ep == u->cli) {
        if (!u->cli_req_done) {
            if (is_text(info->proto))
                client_text(u, info, evs);
            else
                client_binary(u, info, evs);
        }
        if (u->cli_req_done && u->cli_tls_at > 0 && u->cli_tls_at < u->len[ep] &&
            looks_tls(u->buf[ep] + u->cli_tls_at, u->len[ep] - u->cli_tls_at)) {
            /* the client's next bytes after its request are TLS, even after
             * a refusal (openssl s_client -starttls sends its ClientHello
             * whatever the server said): show that hello and what followed
             * rather than claim no handshake was tried */
            u->dstate[ep] = TD_UPD_TLS;
            info->plain_bytes[ep] = u->cli_tls_at;
            *tls = u->buf[ep] + u->cli_tls_at;
            *tls_len = u->len[ep] - u->cli_tls_at;
            return TD_UP_TLS;
        }
        if (u->cli_req_done && info->state == TD_UPGS_REFUSED && is_text(info->proto))
            u->pos[ep] = u->len[ep]; /* the rest is plaintext (QUIT, ...) */
        return u->gave_up ? TD_UP_GIVE_UP : TD_UP_MORE;
    }
    if (is_text(info->proto))
        srv_at = server_text(u, info, evs);
    else
        srv_at = server_binary(u, info, evs);
    if (srv_at > 0) {
        u->dstate[sv] = TD_UPD_TLS;
        info->plain_bytes[sv] = srv_at;
        if (srv_at < u->len[sv]) {
            *tls = u->buf[sv] + srv_at;
            *tls_len = u->len[sv] - srv_at;
        }
        return TD_UP_TLS;
    }
    return u->gave_up ? TD_UP_GIVE_UP : TD_UP_MORE;
}
