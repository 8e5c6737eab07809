/* text.c: hex records out of text (openssl s_client -msg / -debug / -trace,
 * xxd, hexdump -C, bare hex), line by line with bounded loops.
 *
 * Formats read (one dump may mix them; each line is judged on its own):
 *   -msg      ">>> TLS 1.2, RecordHeader [length 0005]" or ">>> ??? [length 0005]"
 *             then indented hex lines; OpenSSL prints the 5-byte record header
 *             and the body as separate blocks, so consecutive same-direction
 *             blocks are joined and re-split on the record headers.  OpenSSL 3
 *             prints protected records decrypted (TLS 1.3: "InnerContent" then
 *             the message; TLS 1.2 after a ChangeCipherSpec: the message, shorter
 *             than the header says): such a record is rebuilt as the plaintext
 *             with its inner content type (flag DECRYPTED; see msg_record), read
 *             by the engine in plaintext mode like a key-log-decrypted capture.
 *             Lines are read without their colour escapes (ESC [ ... final).
 *   -debug    "write to 0x..." (client) / "read from 0x..." (server), then
 *             "0000 - 16 03 01 00 b7 01 00 00-b3 03 ...   ascii".  Direction
 *             assumes the dump came from s_client (the usual case).
 *   -trace    no hex; only "Level=fatal(2), description=...(N)" is read, as an
 *             alert sent or received (per the "Sent/Received Record" above it).
 *   xxd       "00000000: 1603 0100 b701 ...  ascii"
 *   hexdump -C "00000000  16 03 01 00 b7 01 00 00  b3 03 ...  |ascii|"
 *   bare      "16 03 01 00 5e 01 ..." or "1603010...".  A bare first line needs
 *             at least 4 bytes so that prose ("add a bead") is not taken for hex.
 * Not read: hexdump without -C (little-endian 16-bit words), base64. */
#include <stdlib.h>
#include "tlsdiag/alloc.h"
#include <string.h>

#include "decode_int.h"
#include "tlsdiag/cur.h"

#define MAX_BLOCKS (TD_DEC_MAX_RECORDS * 4u)
#define BYTES_START 1024u /* r->bytes at first; it doubles up to TD_DEC_MAX_BYTES */
#define LINE_BYTES_MAX (TD_DEC_MAX_LINE / 2u)
#define MAX_TLS_RECORD (16384u + 2048u)

struct block {
    uint8_t dir;
    bool arrow;        /* from a -msg ">>>"/"<<<" header */
    bool bad;          /* a line of it could not be read (odd digits) */
    bool inner;        /* a -msg "InnerContent" block: a TLS 1.3 inner content type */
    uint32_t line;     /* line of its header, or of its first hex line */
    int64_t declared;  /* "[length N]" / "(N bytes" or -1 */
    uint32_t off, len; /* in the scan pool */
};

struct scan {
    struct td_dec_result *r;
    uint8_t *pool;
    uint32_t pool_len, pool_cap;
    bool pool_full;
    struct block *blocks;
    uint32_t num_blocks;
    bool blocks_full;
    int cur;            /* open block index, -1 if none */
    int cur_kind;       /* 0 none, 1 arrow, 2 debug, 3 plain */
    int trace_dir;      /* -trace: 1 sent, 2 received, 0 unknown */
    bool plain_offsets; /* the open plain block has offset columns */
    bool ticket;        /* after s_client's "TLS session ticket:": its hex
                         * dump is the ticket, not records */
};

/* ---- issues and items ---- */

void td_dec_issue_add(struct td_dec_result *r, enum td_dec_issue_kind kind, uint32_t line,
                      uint32_t expected, uint32_t got)
{
    r->total_issues++;
    if (r->num_issues >= TD_DEC_MAX_ISSUES)
        return;
    r->issues[r->num_issues].kind = (uint16_t)kind;
    r->issues[r->num_issues].line = line;
    r->issues[r->num_issues].expected = expected;
    r->issues[r->num_issues].got = got;
    r->num_issues++;
}

void td_dec_item_push(struct td_dec_result *r, const struct td_dec_item *it)
{
    r->total_items++;
    if (r->num_items >= TD_DEC_MAX_ITEMS) {
        if (r->total_items == TD_DEC_MAX_ITEMS + 1u)
            td_dec_issue_add(r, TD_DEC_ISSUE_LIMIT_ITEMS, it->line, TD_DEC_MAX_ITEMS, 0);
        return;
    }
    r->items[r->num_items++] = *it;
}

const char *td_dec_issue_name(unsigned kind)
{
    static const char *const names[] = {
        [TD_DEC_ISSUE_ODD_HEX] = "odd_hex_digits",
        [TD_DEC_ISSUE_LENGTH_MISMATCH] = "length_mismatch",
        [TD_DEC_ISSUE_RECORD_TRUNCATED] = "record_truncated",
        [TD_DEC_ISSUE_NOT_TLS] = "not_tls_bytes",
        [TD_DEC_ISSUE_OFFSET_MISMATCH] = "offset_mismatch",
        [TD_DEC_ISSUE_NO_DIRECTION] = "no_direction",
        [TD_DEC_ISSUE_LINE_TOO_LONG] = "line_too_long",
        [TD_DEC_ISSUE_LIMIT_INPUT] = "limit_input",
        [TD_DEC_ISSUE_LIMIT_RECORDS] = "limit_records",
        [TD_DEC_ISSUE_LIMIT_BYTES] = "limit_bytes",
        [TD_DEC_ISSUE_LIMIT_ITEMS] = "limit_items",
        [TD_DEC_ISSUE_NO_MEMORY] = "no_memory",
    };
    if (kind >= sizeof(names) / sizeof(names[0]) || names[kind] == NULL)
        return "unknown";
    return names[kind];
}

/* ---- small bounded helpers over (s, n) ---- */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_sp(uint8_t c) { return c == ' ' || c == '\t'; }

static bool starts_with(const uint8_t *s, size_t n, size_t i, const char *lit)
{
    size_t k = 0;
    while (lit[k] != '\0') {
        if (i + k >= n || s[i + k] != (uint8_t)lit[k])
            return false;
        k++;
    }
    return true;
}

static long find_lit(const uint8_t *s, size_t n, const char *lit)
{
    size_t ln = strlen(lit);
    if (ln == 0 || ln > n)
        return -1;
    for (size_t i = 0; i + ln <= n; i++) {
        if (memcmp(s + i, lit, ln) == 0)
            return (long)i;
    }
    return -1;
}

/* read an unsigned number in |base| at s[i..], at most 8 digits */
static bool read_num(const uint8_t *s, size_t n, size_t i, unsigned base, uint32_t *out, size_t *end)
{
    uint32_t v = 0;
    size_t k = i;
    while (k < n && k - i < 8) {
        int d = hexval(s[k]);
        if (d < 0 || (unsigned)d >= base)
            break;
        v = v * base + (uint32_t)d;
        k++;
    }
    if (k == i)
        return false;
    *out = v;
    if (end != NULL)
        *end = k;
    return true;
}

/* ---- blocks ---- */

static void close_block(struct scan *sc)
{
    sc->cur = -1;
    sc->cur_kind = 0;
}

static void open_block(struct scan *sc, int kind, uint8_t dir, uint32_t line, int64_t declared)
{
    struct block *b;

    close_block(sc);
    if (sc->num_blocks >= MAX_BLOCKS) {
        if (!sc->blocks_full)
            td_dec_issue_add(sc->r, TD_DEC_ISSUE_LIMIT_RECORDS, line, MAX_BLOCKS, 0);
        sc->blocks_full = true;
        return;
    }
    b = &sc->blocks[sc->num_blocks];
    memset(b, 0, sizeof(*b));
    b->dir = dir;
    b->arrow = kind == 1;
    b->line = line;
    b->declared = declared;
    b->off = sc->pool_len;
    sc->cur = (int)sc->num_blocks;
    sc->cur_kind = kind;
    sc->num_blocks++;
}

static void block_append(struct scan *sc, const uint8_t *b, size_t n, uint32_t line)
{
    struct block *blk;

    if (sc->cur < 0)
        return;
    blk = &sc->blocks[sc->cur];
    if (n > sc->pool_cap - sc->pool_len) {
        /* pool_cap < TD_DEC_MAX_BYTES only when the text cannot hold more */
        if (!sc->pool_full)
            td_dec_issue_add(sc->r, TD_DEC_ISSUE_LIMIT_BYTES, line, TD_DEC_MAX_BYTES, 0);
        sc->pool_full = true;
        return;
    }
    td_memcpy(sc->pool + sc->pool_len, b, n);
    sc->pool_len += (uint32_t)n;
    blk->len += (uint32_t)n;
}

/* ---- hex lines ---- */

enum hexres { HEX_NO = 0, HEX_YES = 1, HEX_ODD = 2 };

struct hexline {
    bool has_offset;
    uint32_t offset;
    size_t n;
    uint8_t bytes[LINE_BYTES_MAX];
};

/* An offset column: 4..8 hex digits then ':' (xxd), " - " (BIO_dump) or two
 * spaces (hexdump -C, Wireshark).  Returns the index after it, or 0. */
static size_t offset_column(const uint8_t *s, size_t n, size_t i, uint32_t *off)
{
    size_t k = i;
    while (k < n && hexval(s[k]) >= 0 && k - i <= 8)
        k++;
    if (k - i < 4 || k - i > 8)
        return 0;
    if (!read_num(s, n, i, 16, off, NULL))
        return 0;
    if (k < n && s[k] == ':')
        return k + 1;
    if (starts_with(s, n, k, " - "))
        return k + 3;
    if (starts_with(s, n, k, "  ")) {
        size_t j = k;
        while (j < n && is_sp(s[j]))
            j++;
        if (j < n && hexval(s[j]) >= 0)
            return j;
    }
    return 0;
}

/* parse_hex_line: is this line hex?  |in_block| relaxes the rules for lines
 * under a -msg or -debug header.  Never reads past |n|. */
static enum hexres parse_hex_line(const uint8_t *s, size_t n, bool in_block, struct hexline *h)
{
    size_t i = 0, tokens = 0, tok2 = 0, digits = 0;
    bool odd = false;
    size_t start;

    h->n = 0;
    h->has_offset = false;
    while (i < n && is_sp(s[i]))
        i++;
    if (i >= n)
        return HEX_NO;
    start = offset_column(s, n, i, &h->offset);
    if (start != 0) {
        h->has_offset = true;
        i = start;
    }
    while (i < n) {
        size_t gap = 0, k;
        while (i < n && (is_sp(s[i]) || (h->has_offset && s[i] == '-' && gap == 0))) {
            gap += is_sp(s[i]) ? 1u : 0u;
            i++;
        }
        if (i >= n)
            break;
        if (h->has_offset && gap >= 2 && h->n > 0) {
            /* the ASCII column starts here, unless this is hexdump -C's
             * middle gap: exactly 8 bytes so far and a 2-digit token next */
            bool mid = h->n == 8 && i + 2 <= n && hexval(s[i]) >= 0 && hexval(s[i + 1]) >= 0 &&
                       (i + 2 == n || is_sp(s[i + 2]));
            if (!mid)
                break;
        }
        k = i;
        while (k < n && hexval(s[k]) >= 0)
            k++;
        if (k == i || (k < n && !is_sp(s[k]) && !(h->has_offset && s[k] == '-'))) {
            /* a token with a non-hex character */
            if (h->has_offset && h->n > 0)
                break; /* the ASCII column */
            return HEX_NO;
        }
        if (h->has_offset && ((k - i) != 2 && (k - i) != 4)) {
            if (h->n > 0)
                break; /* an ASCII column that happens to be hex letters */
            return HEX_NO;
        }
        tokens++;
        if (k - i == 2)
            tok2++;
        digits += k - i;
        if ((k - i) % 2 != 0) {
            odd = true;
        } else {
            for (size_t j = i; j + 1 < k; j += 2) {
                if (h->n >= LINE_BYTES_MAX)
                    return HEX_NO;
                h->bytes[h->n++] = (uint8_t)(hexval(s[j]) * 16 + hexval(s[j + 1]));
            }
        }
        i = k;
        if (h->has_offset && h->n >= 16)
            break;
    }
    if (tokens == 0)
        return HEX_NO;
    if (!in_block && !h->has_offset) {
        /* bare hex outside a header: uniform 2-digit tokens or one long run */
        bool uniform = tok2 == tokens || tokens == 1;
        if (!uniform || digits < 8)
            return HEX_NO;
    }
    if (odd)
        return HEX_ODD;
    return HEX_YES;
}

/* ---- header lines ---- */

/* ">>> ... [length 005e] ..." */
static bool arrow_line(struct scan *sc, const uint8_t *s, size_t n, uint32_t lineno)
{
    size_t i = 0;
    uint8_t dir;
    int64_t declared = -1;
    long p;

    while (i < n && is_sp(s[i]))
        i++;
    if (starts_with(s, n, i, ">>>"))
        dir = TD_DEC_DIR_CLIENT;
    else if (starts_with(s, n, i, "<<<"))
        dir = TD_DEC_DIR_SERVER;
    else
        return false;
    p = find_lit(s, n, "[length ");
    if (p >= 0) {
        uint32_t v;
        if (read_num(s, n, (size_t)p + 8, 16, &v, NULL))
            declared = v;
    }
    open_block(sc, 1, dir, lineno, declared);
    if (sc->cur >= 0 && find_lit(s, n, "InnerContent") >= 0)
        sc->blocks[sc->cur].inner = true;
    return true;
}

/* "write to 0x55ee68229180 [0x55ee68240ca0] (188 bytes => 188 (0xBC))" */
static bool debug_line(struct scan *sc, const uint8_t *s, size_t n, uint32_t lineno)
{
    uint8_t dir;
    int64_t declared = -1;
    long p;

    if (starts_with(s, n, 0, "write to 0x"))
        dir = TD_DEC_DIR_CLIENT;
    else if (starts_with(s, n, 0, "read from 0x"))
        dir = TD_DEC_DIR_SERVER;
    else
        return false;
    p = find_lit(s, n, "bytes => ");
    if (p >= 0) {
        uint32_t v;
        if (read_num(s, n, (size_t)p + 9, 10, &v, NULL))
            declared = v;
    }
    open_block(sc, 2, dir, lineno, declared);
    return true;
}

/* -trace: "Sent Record" / "Received Record", then
 * "    Level=fatal(2), description=protocol version(70)" */
static bool trace_line(struct scan *sc, const uint8_t *s, size_t n, uint32_t lineno)
{
    long p, q;
    uint32_t v;
    struct td_dec_item it;

    if (starts_with(s, n, 0, "Sent Record")) {
        sc->trace_dir = 1;
        return true;
    }
    if (starts_with(s, n, 0, "Received Record")) {
        sc->trace_dir = 2;
        return true;
    }
    p = find_lit(s, n, "Level=fatal(2), description=");
    if (p < 0)
        return false;
    q = -1;
    for (size_t k = (size_t)p; k < n; k++) {
        if (s[k] == '(')
            q = (long)k; /* the last '(' holds the number */
    }
    if (q < 0 || !read_num(s, n, (size_t)q + 1, 10, &v, NULL) || v > 255)
        return false;
    memset(&it, 0, sizeof(it));
    it.kind = TD_DEC_ITEM_ALERT_TEXT;
    it.line = lineno;
    it.col = (uint32_t)p;
    it.span_len = (uint32_t)(n - (size_t)p);
    it.source = "OpenSSL s_client -trace";
    it.id = "openssl.trace_alert";
    /* the dump comes from s_client: received = from the server */
    td_dec_alert_item(&it, (int)v, sc->trace_dir == 2 ? TD_DEC_SIDE_PEER
                                   : sc->trace_dir == 1 ? TD_DEC_SIDE_LOCAL
                                                        : TD_DEC_SIDE_UNKNOWN,
                      sc->trace_dir != 0 ? TD_DEC_ROLE_CLIENT : TD_DEC_ROLE_UNKNOWN);
    td_dec_item_push(sc->r, &it);
    return true;
}

/* "host:port" named by the text: -connect X, https://X/, "connection to X",
 * "Connecting to 'X'".  The first one wins. */
static void find_target(struct td_dec_result *r, const uint8_t *s, size_t n)
{
    static const char *const keys[] = {"-connect ", "https://", "connection to ", "Connecting to '"};
    if (r->target[0] != '\0')
        return;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        long p = find_lit(s, n, keys[k]);
        size_t i, j = 0;
        bool colon = false;
        if (p < 0)
            continue;
        i = (size_t)p + strlen(keys[k]);
        while (i < n && j + 1 < sizeof(r->target)) {
            uint8_t c = s[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
            if (!ok)
                break;
            colon = colon || c == ':';
            r->target[j++] = (char)c;
            i++;
        }
        while (j > 0 && (r->target[j - 1] == '.' || r->target[j - 1] == ':'))
            j--;
        r->target[j] = '\0';
        if (j > 0 && !colon && k == 1 && j + 4 < sizeof(r->target)) {
            memcpy(r->target + j, ":443", 5);
            colon = true;
        }
        if (j > 0 && colon)
            return;
        r->target[0] = '\0';
    }
}

/* ---- assembly: blocks -> runs -> records ---- */

struct asm_ctx {
    struct td_dec_result *r;
    uint32_t opaque[TD_DEC_MAX_RECORDS]; /* r->bytes offsets of OPAQUE records */
    uint32_t num_opaque;
    uint32_t plain[TD_DEC_MAX_RECORDS];  /* r->bytes offsets of DECRYPTED records */
    uint32_t num_plain;
    uint32_t starts[MAX_BLOCKS];          /* per block: its offset in r->bytes */
    uint32_t lines[MAX_BLOCKS];
    uint32_t num_starts;
    uint32_t bytes_cap; /* r->bytes grows by doubling up to TD_DEC_MAX_BYTES */
    bool bytes_full;
    bool ccs[4]; /* by block direction (& 3): a ChangeCipherSpec header seen */
};

static bool out_append(struct asm_ctx *a, const uint8_t *b, size_t n, bool zero, uint32_t line)
{
    struct td_dec_result *r = a->r;
    if (n > TD_DEC_MAX_BYTES - r->bytes_len) {
        if (!a->bytes_full)
            td_dec_issue_add(r, TD_DEC_ISSUE_LIMIT_BYTES, line, TD_DEC_MAX_BYTES, 0);
        a->bytes_full = true;
        return false;
    }
    if (n > a->bytes_cap - r->bytes_len) {
        size_t ncap = a->bytes_cap;
        uint8_t *nb;
        while (ncap - r->bytes_len < n)
            ncap *= 2;
        if (ncap > TD_DEC_MAX_BYTES)
            ncap = TD_DEC_MAX_BYTES;
        nb = td_realloc(r->bytes, ncap);
        if (nb == NULL) {
            if (!a->bytes_full)
                td_dec_issue_add(r, TD_DEC_ISSUE_NO_MEMORY, line, (uint32_t)ncap, 0);
            a->bytes_full = true;
            return false;
        }
        r->bytes = nb;
        a->bytes_cap = (uint32_t)ncap;
    }
    if (zero)
        memset(r->bytes + r->bytes_len, 0, n);
    else
        td_memcpy(r->bytes + r->bytes_len, b, n);
    r->bytes_len += (uint32_t)n;
    return true;
}

static uint32_t line_at(const struct asm_ctx *a, uint32_t off)
{
    uint32_t line = 0;
    for (uint32_t i = 0; i < a->num_starts; i++) {
        if (a->starts[i] <= off)
            line = a->lines[i];
    }
    return line;
}

static bool is_opaque(const struct asm_ctx *a, uint32_t off)
{
    for (uint32_t i = 0; i < a->num_opaque; i++) {
        if (a->opaque[i] == off)
            return true;
    }
    return false;
}

static bool is_plain(const struct asm_ctx *a, uint32_t off)
{
    for (uint32_t i = 0; i < a->num_plain; i++) {
        if (a->plain[i] == off)
            return true;
    }
    return false;
}

static void push_record(struct asm_ctx *a, uint8_t dir, uint32_t off, uint32_t len, uint8_t flags)
{
    struct td_dec_result *r = a->r;
    struct td_dec_record *rec;

    r->total_records++;
    if (r->num_records >= TD_DEC_MAX_RECORDS) {
        if (r->total_records == TD_DEC_MAX_RECORDS + 1u)
            td_dec_issue_add(r, TD_DEC_ISSUE_LIMIT_RECORDS, line_at(a, off), TD_DEC_MAX_RECORDS, 0);
        return;
    }
    rec = &r->records[r->num_records++];
    rec->dir = dir;
    rec->flags = flags;
    rec->off = off;
    rec->len = len;
    rec->line = line_at(a, off);
    rec->content_type = len > 0 ? r->bytes[off] : 0;
    if (is_opaque(a, off))
        rec->flags |= TD_DEC_REC_OPAQUE;
    if (is_plain(a, off))
        rec->flags |= TD_DEC_REC_DECRYPTED;
}

static bool hdr_like(const uint8_t *b, size_t n)
{
    return n == 5 && b[0] >= 20 && b[0] <= 24 && b[1] == 3 && b[2] <= 4;
}

/* split_run cuts |len| bytes at r->bytes[off] into TLS records (RFC 8446
 * section 5.1: type(1) legacy_record_version(2) length(2) fragment). */
static void split_run(struct asm_ctx *a, uint8_t dir, uint32_t off, uint32_t len)
{
    struct td_cur c;
    td_cur_init(&c, a->r->bytes + off, len);
    c.off = off;

    while (!td_cur_empty(&c)) {
        struct td_cur peek = c, body;
        uint8_t type = 0, b1 = 0, b2 = 0;
        uint16_t version = 0, rlen = 0;
        uint32_t at = (uint32_t)c.off;

        if (td_cur_get_u8(&peek, &type) && td_cur_get_u16(&peek, &version) &&
            td_cur_get_u16(&peek, &rlen) && type >= 20 && type <= 24 && (version >> 8) == 3 &&
            (version & 0xff) <= 4 && rlen <= MAX_TLS_RECORD) {
            if (td_cur_get_bytes(&peek, &body, rlen)) {
                push_record(a, dir, at, 5u + rlen, 0);
                c = peek;
                continue;
            }
            td_dec_issue_add(a->r, TD_DEC_ISSUE_RECORD_TRUNCATED, line_at(a, at), 5u + rlen,
                             (uint32_t)td_cur_len(&c));
            push_record(a, dir, at, (uint32_t)td_cur_len(&c), TD_DEC_REC_TRUNCATED);
            return;
        }
        peek = c;
        /* SSLv2 framing (draft-hickman-netscape-ssl-00): 2-byte length with
         * the top bit set, then message type 1 (CLIENT-HELLO) or 4 (SERVER-HELLO) */
        if (td_cur_get_u8(&peek, &b1) && td_cur_get_u8(&peek, &b2) && (b1 & 0x80) &&
            td_cur_peek_u8(&peek, 0, &type) && (type == 1 || type == 4)) {
            uint32_t l2 = ((uint32_t)(b1 & 0x7f) << 8) | b2;
            if (td_cur_get_bytes(&peek, &body, l2)) {
                push_record(a, dir, at, 2u + l2, TD_DEC_REC_SSL2);
                c = peek;
                continue;
            }
        }
        td_dec_issue_add(a->r, TD_DEC_ISSUE_NOT_TLS, line_at(a, at), 0, (uint32_t)td_cur_len(&c));
        push_record(a, dir, at, (uint32_t)td_cur_len(&c), TD_DEC_REC_NOT_TLS);
        return;
    }
}

/* handshake type of a record, or -1 */
static int hs_type(const struct td_dec_result *r, const struct td_dec_record *rec)
{
    if (rec->flags & TD_DEC_REC_SSL2)
        return rec->len > 2 ? r->bytes[rec->off + 2] : -1;
    if (rec->content_type != 22 || rec->len < 6 || (rec->flags & TD_DEC_REC_NOT_TLS))
        return -1;
    return r->bytes[rec->off + 5];
}

static void infer_directions(struct td_dec_result *r)
{
    for (uint32_t i = 0; i < r->num_records; i++) {
        struct td_dec_record *rec = &r->records[i];
        int t;
        if (rec->dir != TD_DEC_DIR_UNKNOWN)
            continue;
        t = hs_type(r, rec);
        if (t == 1) {
            rec->dir = TD_DEC_DIR_CLIENT;
        } else if (t == 2 || ((rec->flags & TD_DEC_REC_SSL2) && t == 4)) {
            rec->dir = TD_DEC_DIR_SERVER;
        } else if (i > 0 && r->records[i - 1].dir == TD_DEC_DIR_CLIENT &&
                   hs_type(r, &r->records[i - 1]) == 1) {
            /* what follows a ClientHello is the server's answer */
            rec->dir = TD_DEC_DIR_SERVER;
        } else {
            td_dec_issue_add(r, TD_DEC_ISSUE_NO_DIRECTION, rec->line, 0, 0);
            continue;
        }
        rec->flags |= TD_DEC_REC_DIR_INFERRED;
    }
}

/* A ClientHello from the client after the server has spoken in the current
 * session is a new connection (a text with several s_client runs). */
static void number_sessions(struct td_dec_result *r)
{
    uint16_t session = 0;
    bool server_spoke = false;

    for (uint32_t i = 0; i < r->num_records; i++) {
        struct td_dec_record *rec = &r->records[i];
        if (rec->dir == TD_DEC_DIR_CLIENT && hs_type(r, rec) == 1 && server_spoke &&
            session < UINT16_MAX) {
            session++;
            server_spoke = false;
        }
        if (rec->dir == TD_DEC_DIR_SERVER)
            server_spoke = true;
        rec->session = session;
    }
    r->num_sessions = r->num_records > 0 ? (uint32_t)session + 1u : 0u;
}

/* msg_record: OpenSSL -msg prints a record's 5-byte header, then what it
 * read or wrote in it.  Blocks[j] is such a header; when what follows is not
 * the record's body as it was on the wire, write a record for it here and
 * set *next to the first block after it.  Returns 1 when done here, 0 when
 * the caller should copy the blocks as they are, -1 when out of room.
 *   - TLS 1.3 after the ServerHello: "InnerContent" (the inner content type)
 *     then the decrypted message(s); TLS <= 1.2 after a ChangeCipherSpec: the
 *     decrypted message(s) alone, shorter than the header says.  The record
 *     becomes the plaintext with the inner type (flag DECRYPTED), what a
 *     capture decrypted with its key log shows.
 *   - An InnerContent and nothing after it (application data, whose bytes
 *     -msg does not print): header + filler of the wire size (flag OPAQUE).
 *   - A header with no body block after it (OpenSSL 3 prints no body for a
 *     ChangeCipherSpec it received): the CCS body (1) or filler (OPAQUE). */
static int msg_record(struct scan *sc, struct asm_ctx *a, uint32_t j, uint32_t *next)
{
    const struct block *b = &sc->blocks[j];
    const uint8_t *bb = sc->pool + b->off;
    uint8_t dir = b->dir, type = bb[0];
    uint32_t want = ((uint32_t)bb[3] << 8) | bb[4], have = 0, msg = 0, k = j + 1;
    bool inner = false;
    /* a body that differs from its header is a decrypted one only after
     * this side's ChangeCipherSpec (TLS <= 1.2) or behind an InnerContent
     * (TLS 1.3); before that it is a paste that lost lines, and stays so */
    bool after_ccs = a->ccs[dir & 3];
    uint8_t hdr[5];

    if (type == 20)
        a->ccs[dir & 3] = true;
    while (k < sc->num_blocks && sc->blocks[k].dir == dir && sc->blocks[k].arrow &&
           !hdr_like(sc->pool + sc->blocks[k].off, sc->blocks[k].len)) {
        const struct block *m = &sc->blocks[k];
        have += m->len;
        if (m->inner && m->len == 1 && !inner) {
            inner = true;
            type = sc->pool[m->off];
        } else if (!m->inner) {
            msg += m->len;
        }
        k++;
    }
    if (have == want && !inner)
        return 0; /* the wire body */
    if (!inner && !after_ccs && k != j + 1)
        return 0; /* a cut body (length_mismatch), not a decrypted one */
    if (k == j + 1 && !(type == 20 && want == 1))
        return 0; /* no body shown: e.g. one message over several records */
    for (uint32_t m = j + 1; m < k; m++) {
        /* the record's lines, for line_at() */
        if (a->num_starts >= MAX_BLOCKS)
            break;
        a->starts[a->num_starts] = a->r->bytes_len + 5u;
        a->lines[a->num_starts++] = sc->blocks[m].line;
    }
    *next = k;
    if (k == j + 1) {
        static const uint8_t one = 1;
        return out_append(a, bb, 5, false, b->line) && out_append(a, &one, 1, false, b->line) ? 1 : -1;
    }
    if (msg == 0 || msg > MAX_TLS_RECORD || (type != 21 && type != 22 && type != 23)) {
        if (a->num_opaque < TD_DEC_MAX_RECORDS)
            a->opaque[a->num_opaque++] = a->r->bytes_len;
        return out_append(a, bb, 5, false, b->line) && out_append(a, NULL, want, true, b->line) ? 1 : -1;
    }
    if (a->num_plain < TD_DEC_MAX_RECORDS)
        a->plain[a->num_plain++] = a->r->bytes_len;
    hdr[0] = type;
    hdr[1] = bb[1];
    hdr[2] = bb[2];
    hdr[3] = (uint8_t)(msg >> 8);
    hdr[4] = (uint8_t)msg;
    if (!out_append(a, hdr, 5, false, b->line))
        return -1;
    for (uint32_t m = j + 1; m < k; m++) {
        const struct block *mb = &sc->blocks[m];
        if (mb->inner) /* not counted in |msg| either */
            continue;
        if (!out_append(a, sc->pool + mb->off, mb->len, false, mb->line))
            return -1;
    }
    return 1;
}

static void assemble(struct scan *sc)
{
    struct asm_ctx *a = td_calloc(1, sizeof(*a));
    uint32_t i = 0;

    if (a == NULL)
        return;
    a->r = sc->r;
    a->bytes_cap = BYTES_START;
    while (i < sc->num_blocks) {
        uint8_t dir = sc->blocks[i].dir;
        uint32_t run_off = sc->r->bytes_len;
        uint32_t j = i;

        /* one run: consecutive blocks with the same direction */
        while (j < sc->num_blocks && sc->blocks[j].dir == dir) {
            struct block *b = &sc->blocks[j];
            const uint8_t *bb = sc->pool + b->off;

            if (b->declared >= 0 && !b->bad && (uint64_t)b->declared != b->len)
                td_dec_issue_add(sc->r, TD_DEC_ISSUE_LENGTH_MISMATCH, b->line,
                                 (uint32_t)b->declared, b->len);
            a->starts[a->num_starts] = sc->r->bytes_len;
            a->lines[a->num_starts++] = b->line;
            if (b->arrow && hdr_like(bb, b->len)) {
                int rc = msg_record(sc, a, j, &j);
                if (rc < 0)
                    goto done;
                if (rc > 0)
                    continue;
            }
            if (!out_append(a, bb, b->len, false, b->line))
                goto done;
            j++;
        }
        split_run(a, dir, run_off, sc->r->bytes_len - run_off);
        i = j;
    }
done:
    infer_directions(sc->r);
    number_sessions(sc->r);
    free(a);
}

/* ---- the scan ---- */

static void text_line(struct scan *sc, const uint8_t *s, size_t n, uint32_t lineno)
{
    struct td_dec_result *r = sc->r;
    size_t i = 0;

    while (i < n && is_sp(s[i]))
        i++;
    if (i == n) {
        r->blank_lines++;
        close_block(sc);
        return;
    }
    find_target(r, s, n);
    if (arrow_line(sc, s, n, lineno) || debug_line(sc, s, n, lineno)) {
        sc->ticket = false;
        if (r->format == TD_DEC_FMT_NONE)
            r->format = sc->cur_kind == 1 ? TD_DEC_FMT_MSG : TD_DEC_FMT_DEBUG;
        return;
    }
    {
        struct hexline *h = td_malloc(sizeof(*h));
        enum hexres hr;
        if (h == NULL)
            return;
        hr = parse_hex_line(s, n, sc->cur >= 0, h);
        if (hr == HEX_YES && !h->has_offset && sc->cur_kind == 3 && sc->plain_offsets &&
            h->n >= 2 && h->n <= 4 && n - i <= 8) {
            /* hexdump/xxd end with the total length alone on a line */
            r->hex_lines++;
            close_block(sc);
            free(h);
            return;
        }
        if (hr != HEX_NO && sc->ticket && h->has_offset && sc->cur < 0) {
            r->hex_lines++;
            free(h);
            return;
        }
        if (hr != HEX_NO) {
            r->hex_lines++;
            if (sc->cur < 0 || (sc->cur_kind == 3 && h->has_offset && h->offset == 0 &&
                                sc->blocks[sc->cur].len > 0)) {
                open_block(sc, 3, TD_DEC_DIR_UNKNOWN, lineno, -1);
                sc->plain_offsets = h->has_offset;
                if (r->format == TD_DEC_FMT_NONE)
                    r->format = TD_DEC_FMT_PLAIN;
            }
            if (sc->cur >= 0) {
                struct block *b = &sc->blocks[sc->cur];
                if (h->has_offset && h->offset != b->len && !b->bad)
                    td_dec_issue_add(r, TD_DEC_ISSUE_OFFSET_MISMATCH, lineno, b->len, h->offset);
                if (hr == HEX_ODD) {
                    td_dec_issue_add(r, TD_DEC_ISSUE_ODD_HEX, lineno, 0, 0);
                    b->bad = true;
                } else {
                    block_append(sc, h->bytes, h->n, lineno);
                }
            }
            free(h);
            return;
        }
        free(h);
    }
    close_block(sc);
    sc->ticket = find_lit(s, n, "TLS session ticket:") >= 0;
    if (trace_line(sc, s, n, lineno))
        return;
    if (td_dec_classify_line(r, (const char *)s, n, lineno) == 0) {
        r->unknown_lines++;
        if (r->first_unknown_line == 0)
            r->first_unknown_line = lineno;
    }
}

/* strip_csi copies |n| bytes of |s| to |out| without the ANSI/ECMA-48
 * control sequences (ESC '[' parameter bytes 0x30-0x3f, intermediate bytes
 * 0x20-0x2f, a final byte 0x40-0x7e) that a terminal's colours leave in a
 * pasted dump.  Returns the length written (at most |n|). */
static size_t strip_csi(const uint8_t *s, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        if (s[i] == 0x1b && i + 1 < n && s[i + 1] == '[') {
            size_t k = i + 2;
            while (k < n && s[k] >= 0x30 && s[k] <= 0x3f)
                k++;
            while (k < n && s[k] >= 0x20 && s[k] <= 0x2f)
                k++;
            if (k < n && s[k] >= 0x40 && s[k] <= 0x7e) {
                i = k + 1;
                continue;
            }
        }
        out[o++] = s[i++];
    }
    return o;
}

struct td_dec_result *td_decode_text(const char *text, size_t len)
{
    struct td_dec_result *r = td_calloc(1, sizeof(*r));
    struct scan sc;
    struct td_cur c;
    uint32_t lineno = 0;
    uint8_t *clean; /* a line without its colour escapes */

    if (r == NULL)
        return NULL;
    memset(&sc, 0, sizeof(sc));
    /* the hex pool holds at most one byte per two characters of text; the
     * records (r->bytes, which also gets filler for opaque records) grow
     * as they are assembled: a short paste costs kilobytes, not 1 MiB */
    sc.pool_cap = len / 2 + 1 < TD_DEC_MAX_BYTES ? (uint32_t)(len / 2 + 1) : TD_DEC_MAX_BYTES;
    sc.pool = td_malloc(sc.pool_cap);
    sc.blocks = td_calloc(MAX_BLOCKS, sizeof(*sc.blocks));
    r->bytes = td_malloc(BYTES_START);
    clean = td_malloc(TD_DEC_MAX_LINE);
    if (r->bytes == NULL || sc.pool == NULL || sc.blocks == NULL || clean == NULL) {
        free(clean);
        free(sc.pool);
        free(sc.blocks);
        td_dec_result_free(r);
        return NULL;
    }
    sc.r = r;
    sc.cur = -1;
    /* a caller reading from a file or pipe reads one byte over the cap to
     * know that there was more (tlsdiag decode); |got| is what it was given */
    if (len > TD_DEC_MAX_INPUT) {
        td_dec_issue_add(r, TD_DEC_ISSUE_LIMIT_INPUT, 0, TD_DEC_MAX_INPUT, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
        len = TD_DEC_MAX_INPUT;
    }
    td_cur_init(&c, (const uint8_t *)text, text != NULL ? len : 0);
    while (!td_cur_empty(&c)) {
        struct td_cur line;
        size_t n = 0, use;
        uint8_t ch = 0;

        while (td_cur_peek_u8(&c, n, &ch) && ch != '\n')
            n++;
        if (!td_cur_get_bytes(&c, &line, n))
            break;
        if (ch == '\n' && !td_cur_skip(&c, 1))
            break;
        use = n;
        lineno++;
        if (use > 0 && line.p[use - 1] == '\r')
            use--;
        if (use > TD_DEC_MAX_LINE) {
            td_dec_issue_add(r, TD_DEC_ISSUE_LINE_TOO_LONG, lineno, TD_DEC_MAX_LINE, (uint32_t)(use > UINT32_MAX ? UINT32_MAX : use));
            use = TD_DEC_MAX_LINE;
        }
        if (use > 0 && memchr(line.p, 0x1b, use) != NULL)
            text_line(&sc, clean, strip_csi(line.p, use, clean), lineno);
        else
            text_line(&sc, line.p, use, lineno);
    }
    r->lines = lineno;
    assemble(&sc);
    /* -msg and -debug dumps come from s_client: an alert line of that dump
     * whose role the line itself did not show was printed by the client */
    if (r->format == TD_DEC_FMT_MSG || r->format == TD_DEC_FMT_DEBUG) {
        for (uint32_t i = 0; i < r->num_items; i++) {
            struct td_dec_item *it = &r->items[i];
            if (it->role != TD_DEC_ROLE_UNKNOWN)
                continue;
            if (it->kind == TD_DEC_ITEM_ALERT_TEXT)
                td_dec_alert_item(it, it->alert, (enum td_dec_side)it->side, TD_DEC_ROLE_CLIENT);
            else
                it->role = TD_DEC_ROLE_CLIENT;
        }
    }
    free(clean);
    free(sc.pool);
    free(sc.blocks);
    return r;
}

void td_dec_result_free(struct td_dec_result *r)
{
    if (r == NULL)
        return;
    free(r->bytes);
    free(r);
}

bool td_dec_recognised(const struct td_dec_result *r)
{
    return r != NULL && (r->num_records > 0 || r->num_items > 0);
}

bool td_dec_has_decrypted(const struct td_dec_result *r)
{
    if (r == NULL)
        return false;
    for (uint32_t i = 0; i < r->num_records; i++) {
        if (r->records[i].flags & TD_DEC_REC_DECRYPTED)
            return true;
    }
    return false;
}
