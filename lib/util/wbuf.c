#include "tlsdiag/wbuf.h"

#include <stdio.h>
#include <string.h>

void td_wb_init(struct td_wbuf *w, td_flush_fn flush, void *ctx)
{
    w->flush = flush;
    w->ctx = ctx;
    w->n = 0;
    w->flushes = 0;
}

void td_wb_flush(struct td_wbuf *w)
{
    w->flushes++;
    if (w->n > 0 && w->flush != NULL)
        w->flush(w->ctx, w->buf, w->n);
    w->n = 0;
}

void td_wb_put_slow(struct td_wbuf *w, const char *p, size_t n)
{
    while (n > 0) {
        size_t room = sizeof(w->buf) - w->n, k = n < room ? n : room;
        memcpy(w->buf + w->n, p, k);
        w->n += k;
        p += k;
        n -= k;
        if (w->n == sizeof(w->buf))
            td_wb_flush(w);
    }
}


void td_wb_printf(struct td_wbuf *w, const char *fmt, ...)
{
    va_list ap;
    int r;
    size_t room;

    if (sizeof(w->buf) - w->n < 4096)
        td_wb_flush(w);
    room = sizeof(w->buf) - w->n;
    va_start(ap, fmt);
    r = vsnprintf(w->buf + w->n, room, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    w->n += (size_t)r < room ? (size_t)r : room - 1;
}

static const char hexd[] = "0123456789abcdef";

void td_wb_hex16(struct td_wbuf *w, uint16_t v)
{
    char *o = td_wb_reserve(w, 4);
    o[0] = hexd[v >> 12];
    o[1] = hexd[(v >> 8) & 0xf];
    o[2] = hexd[(v >> 4) & 0xf];
    o[3] = hexd[v & 0xf];
    td_wb_commit(w, 4);
}

const char td_dig2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                         "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                         "8081828384858687888990919293949596979899";

/* The digits are made backwards in a scratch buffer with 32 bytes of
 * slack after them, then copied with a fixed-size copy (inlined, no call)
 * into room reserved in the writer; only the digits are committed. */
void td_wb_u64(struct td_wbuf *w, uint64_t v)
{
    char t[64], *e = t + 32, *b = td_u64_digits(e, v);
    char *o = td_wb_reserve(w, 32);
    memcpy(o, b, 32);
    td_wb_commit(w, (size_t)(e - b));
}

void td_wb_ns_fixed(struct td_wbuf *w, int64_t ns, unsigned shift, unsigned decimals)
{
    /* Only where the integer rounding provably equals printf's rounding of
     * the double: microsecond results (shift - decimals == 3), values small
     * enough that the double's error (under a nanosecond up to 2^50 ns, 13
     * days) cannot cross a rounding boundary, and not an exact half (there
     * the double's representation error decides). */
    uint64_t us, unit, ip, fp;
    char t[64], *b, *e = t + 32, *o;

    if (shift - decimals != 3 || ns < 0 || ns >= (int64_t)1 << 50 || ns % 1000 == 500 ||
        (shift != 9 && shift != 6)) {
        double div = shift == 9 ? 1e9 : shift == 6 ? 1e6 : 1.0;
        td_wb_printf(w, "%.*f", (int)decimals, (double)ns / div);
        return;
    }
    us = (uint64_t)ns / 1000 + ((uint64_t)ns % 1000 > 500);
    unit = decimals == 6 ? 1000000u : 1000u;
    ip = us / unit;
    fp = us % unit;
    /* the decimals, zero-padded, then '.', then the integer part */
    b = e;
    for (unsigned i = decimals; i >= 2; i -= 2) {
        b -= 2;
        memcpy(b, td_dig2 + 2 * (fp % 100), 2);
        fp /= 100;
    }
    if (decimals % 2)
        *--b = (char)('0' + fp % 10);
    *--b = '.';
    b = td_u64_digits(b, ip);
    o = td_wb_reserve(w, 32);
    memcpy(o, b, 32); /* fixed size: t has 32 bytes of slack after e */
    td_wb_commit(w, (size_t)(e - b));
}

/* utf8_len: length of a valid UTF-8 sequence at p (RFC 3629), 0 if invalid */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07u;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* plain[c]: byte c goes into a JSON string as itself (printable ASCII
 * other than '"' and '\\') */
#define P4(a, b, c, d) a, b, c, d
#define P16(x) P4(x, x, x, x), P4(x, x, x, x), P4(x, x, x, x), P4(x, x, x, x)
static const unsigned char plain[256] = {
    P16(0), P16(0),                                /* 0x00-0x1f */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20-0x2f: '"' */
    P16(1), P16(1),                                /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50-0x5f: '\\' */
    P16(1),                                        /* 0x60-0x6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70-0x7f: DEL */
    P16(0), P16(0), P16(0), P16(0), P16(0), P16(0), P16(0), P16(0),
};
#undef P16
#undef P4

/* plain8: all 8 bytes of |x| are plain (see plain[]).  Word-at-a-time
 * tests (each exact for "any byte"): below 0x20, high bit set, equal to
 * '"', '\\' or DEL. */
static inline int plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = x ^ (ones * 0x22), b = x ^ (ones * 0x5c), d = x ^ (ones * 0x7f);
    uint64_t bad = ((x - ones * 0x20) & ~x) | x | ((q - ones) & ~q) | ((b - ones) & ~b) | ((d - ones) & ~d);
    return (bad & high) == 0;
}

void td_wb_json_str(struct td_wbuf *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    if (n + 2 <= sizeof(w->buf)) {
        /* the plain prefix (usually all of it) is copied as it is scanned,
         * eight bytes at a time */
        char *o = td_wb_reserve(w, n + 2);
        size_t k = 0;
        o[k++] = '"';
        for (; i + 8 <= n; i += 8, k += 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (!plain8(x))
                break;
            memcpy(o + k, &x, 8);
        }
        for (; i < n && plain[p[i]]; i++)
            o[k++] = s[i];
        if (i == n)
            o[k++] = '"';
        td_wb_commit(w, k);
        if (i == n)
            return;
    } else {
        td_wb_putc(w, '"');
    }
    while (i < n) {
        unsigned char c = p[i];
        size_t l, j;
        /* a run of plain printable ASCII goes out in one piece */
        for (j = i; j < n && plain[p[j]]; j++)
            ;
        if (j > i) {
            td_wb_put(w, s + i, j - i);
            i = j;
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            td_wb_put(w, e, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 0xf]};
            td_wb_put(w, e, 6);
            i++;
        } else if ((l = utf8_len(p + i, n - i)) != 0) {
            td_wb_put(w, s + i, l);
            i += l;
        } else {
            td_wb_lit(w, "\\ufffd");
            i++;
        }
    }
    td_wb_putc(w, '"');
}

void td_wb_json_cstr(struct td_wbuf *w, const char *s)
{
    if (s == NULL)
        td_wb_lit(w, "null");
    else
        td_wb_json_str(w, s, strlen(s));
}

void td_wb_text_str(struct td_wbuf *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            td_wb_putc(w, (char)p[i]);
        } else {
            char e[8];
            snprintf(e, sizeof(e), "\\x%02x", p[i]);
            td_wb_puts(w, e);
        }
    }
}
