/* wbuf.h: the one buffered writer all output goes through (lib/util).
 * lib/ never prints: the owner (src/) supplies the sink that flushes. */
#ifndef TLSDIAG_WBUF_H
#define TLSDIAG_WBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TD_WBUF_SIZE (64 * 1024)

typedef void (*td_flush_fn)(void *ctx, const char *p, size_t n);

struct td_wbuf {
    td_flush_fn flush;
    void *ctx;
    size_t n;
    uint64_t flushes; /* td_wb_flush calls: a caller can tell its bytes are still in buf */
    char buf[TD_WBUF_SIZE];
};

void td_wb_init(struct td_wbuf *w, td_flush_fn flush, void *ctx);
/* td_wb_drop forgets what is in the buffer without writing it (its owner
 * has copied it out of buf); it counts as a flush, for what remembers
 * where its bytes were in buf */
static inline void td_wb_drop(struct td_wbuf *w)
{
    w->n = 0;
    w->flushes++;
}
void td_wb_flush(struct td_wbuf *w);
/* td_wb_put_slow: td_wb_put for what does not fit in the room left */
void td_wb_put_slow(struct td_wbuf *w, const char *p, size_t n);

/* The small writes are inline: a report makes hundreds per connection, and
 * most fit in the room left (one memcpy, no call). */
static inline void td_wb_put(struct td_wbuf *w, const char *p, size_t n)
{
    if (n < sizeof(w->buf) - w->n) {
        memcpy(w->buf + w->n, p, n);
        w->n += n;
    } else {
        td_wb_put_slow(w, p, n);
    }
}

static inline void td_wb_puts(struct td_wbuf *w, const char *s) { td_wb_put(w, s, strlen(s)); }

static inline void td_wb_putc(struct td_wbuf *w, char c)
{
    if (w->n == sizeof(w->buf))
        td_wb_flush(w);
    w->buf[w->n++] = c;
}

/* td_wb_lit: a string literal, its length known at compile time */
#define td_wb_lit(w, lit) td_wb_put((w), "" lit, sizeof(lit) - 1)

/* td_wb_reserve returns room for |n| bytes (n <= TD_WBUF_SIZE) at the end
 * of the buffer, flushing first if needed; td_wb_commit then says how many
 * were written. */
static inline char *td_wb_reserve(struct td_wbuf *w, size_t n)
{
    if (n > sizeof(w->buf) - w->n)
        td_wb_flush(w);
    return w->buf + w->n;
}

static inline void td_wb_commit(struct td_wbuf *w, size_t n) { w->n += n; }
/* td_wb_printf: output longer than the buffer is truncated (never overrun). */
void td_wb_printf(struct td_wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* td_u64_digits writes |v| in decimal ending at |end| (at most 20 digits,
 * two at a time from a table) and returns where they start: the one
 * integer-to-text routine of the library (the writer, the timeline texts
 * and the fingerprint strings use it). */
extern const char td_dig2[201];
static inline char *td_u64_digits(char *end, uint64_t v)
{
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        end -= 2;
        memcpy(end, td_dig2 + 2 * r, 2);
    }
    if (v >= 10) {
        end -= 2;
        memcpy(end, td_dig2 + 2 * v, 2);
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

/* td_wb_u64 writes |v| in decimal (printf "%llu" without the parsing). */
void td_wb_u64(struct td_wbuf *w, uint64_t v);
/* td_wb_ns_fixed writes |ns| / 10^|shift| with |decimals| digits, exactly as
 * printf("%.Nf", (double)ns / 1e|shift|) does, for the two uses the reports
 * have: seconds with 6 decimals (shift 9) and milliseconds with 3 (shift 6),
 * both a rounding to the microsecond. */
void td_wb_ns_fixed(struct td_wbuf *w, int64_t ns, unsigned shift, unsigned decimals);
/* td_wb_json_str writes |n| bytes as a JSON string: quotes, escapes control
 * characters, and replaces invalid UTF-8 by U+FFFD.  Peer bytes are escaped
 * here, at render time, never at parse time. */
void td_wb_json_str(struct td_wbuf *w, const char *p, size_t n);
void td_wb_json_cstr(struct td_wbuf *w, const char *s); /* NULL -> null */
/* td_wb_json_plain writes |n| bytes known to need no escaping (registry
 * names, fixed words: printable ASCII without '"' or '\\') between quotes. */
static inline void td_wb_json_plain(struct td_wbuf *w, const char *s, size_t n)
{
    char *o;
    if (n + 2 > TD_WBUF_SIZE) {
        td_wb_json_str(w, s, n);
        return;
    }
    o = td_wb_reserve(w, n + 2);
    o[0] = '"';
    memcpy(o + 1, s, n);
    o[n + 1] = '"';
    td_wb_commit(w, n + 2);
}
/* td_wb_hex16 writes |v| as four lowercase hex digits */
void td_wb_hex16(struct td_wbuf *w, uint16_t v);
/* td_wb_text_str writes |n| bytes for a terminal: non-printable bytes as \xNN */
void td_wb_text_str(struct td_wbuf *w, const char *p, size_t n);

/* ---- text for people, laid out for a screen (wrap.c) ----
 *
 * A line is written in pieces; each piece goes on the current line or,
 * when it would pass |width| columns, on a new line indented by |indent|
 * (the hanging indent: under the text after a label).  A piece is never
 * cut: a long name, hex string, URL or `quoted command` overflows whole.
 * Columns count what a terminal shows: an escaped byte as its four
 * characters \xNN, a UTF-8 sequence as one, td_wrap_raw (colour) as none.
 * A line breaks only where that gains room (past the indent).  Width 0: no
 * wrapping; the pieces are written exactly as given. */
struct td_wrap {
    struct td_wbuf *w;
    unsigned width;  /* 0: no wrapping */
    unsigned indent; /* columns of a continuation line's indent */
    unsigned col;    /* the column the next byte goes to */
    bool ascii;      /* escape bytes >= 0x80 too (as td_wb_text_str); else
                      * only control bytes (UTF-8 names pass) */
};
void td_wrap_begin(struct td_wrap *x, struct td_wbuf *w, unsigned width, unsigned col, unsigned indent);
/* td_wrap_cols: the columns |n| bytes of |s| take once escaped */
unsigned td_wrap_cols(const char *s, size_t n, bool ascii);
/* td_wrap_sep writes |sep| (spaces), or a line break and the indent when
 * |sep| and |next| more columns would pass the width */
void td_wrap_sep(struct td_wrap *x, const char *sep, unsigned next);
/* td_wrap_put writes |n| bytes escaped, where the line is (no break) */
void td_wrap_put(struct td_wrap *x, const char *s, size_t n);
/* td_wrap_raw writes |s| as it is, taking no columns (colour sequences) */
void td_wrap_raw(struct td_wrap *x, const char *s);
/* td_wrap_unit: |sep| then |s| as one piece (td_wrap_sep, td_wrap_put) */
void td_wrap_unit(struct td_wrap *x, const char *sep, const char *s, size_t n);
/* td_wrap_prose: |sep| then the words of |s| (split at spaces; a
 * `backquoted` span is one word), each run of spaces between two words
 * written as it is or turned into a line break */
void td_wrap_prose(struct td_wrap *x, const char *sep, const char *s, size_t n);

#endif
