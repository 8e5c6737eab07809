/* wrap.c: text for people, laid out for a screen (include/tlsdiag/wbuf.h).
 * The reports give it their prose (why, fix, summaries, notes, timeline and
 * evidence descriptions) and the pieces of their header and summary lines;
 * the caller says the width (src/: the terminal's, or --width).
 *
 * Texts the library composed may quote peer bytes (an SNI or certificate
 * name in an evidence line or a summary): control bytes become \xNN here,
 * at render time, so a hostile name cannot move the cursor or recolour the
 * terminal; bytes >= 0x80 pass (UTF-8 names) unless |ascii|.
 *
 * Cost: a text that fits, or is not wrapped, is scanned once and written in
 * one piece; one of printable ASCII (nearly all) is laid out by position,
 * each line written in one piece; only other text goes word by word. */
#include "tlsdiag/wbuf.h"

static bool escaped(unsigned char c, bool ascii) { return c < 0x20 || c == 0x7f || (ascii && c >= 0x80); }

/* the columns of |n| bytes; *plain: none of them is escaped */
static unsigned cols_of(const char *s, size_t n, bool ascii, bool *plain)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned cols = 0;
    bool esc = false;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f) {
            cols++;
        } else if (escaped(c, ascii)) {
            cols += 4; /* \xNN */
            esc = true;
        } else if ((c & 0xc0) != 0x80) { /* not a UTF-8 continuation byte */
            cols++;
        }
    }
    *plain = !esc;
    return cols;
}

unsigned td_wrap_cols(const char *s, size_t n, bool ascii)
{
    bool plain;
    return cols_of(s, n, ascii, &plain);
}

void td_wrap_begin(struct td_wrap *x, struct td_wbuf *w, unsigned width, unsigned col, unsigned indent)
{
    x->w = w;
    x->width = width;
    x->col = col;
    x->indent = indent;
    x->ascii = false;
}

/* break_line: the line break and the indent */
static void break_line(struct td_wrap *x)
{
    char *o;
    if (x->indent + 1 > TD_WBUF_SIZE) { /* no indent that wide: none */
        td_wb_putc(x->w, '\n');
        x->col = 0;
        return;
    }
    o = td_wb_reserve(x->w, x->indent + 1);
    o[0] = '\n';
    memset(o + 1, ' ', x->indent);
    td_wb_commit(x->w, x->indent + 1);
    x->col = x->indent;
}

/* sep_n: |n| bytes of spaces |sep|, or the line break and the indent */
static void sep_n(struct td_wrap *x, const char *sep, size_t n, unsigned next)
{
    if (x->width != 0 && x->col > x->indent && x->col + n + next > x->width) {
        break_line(x);
        return;
    }
    td_wb_put(x->w, sep, n);
    x->col += (unsigned)n;
}

void td_wrap_sep(struct td_wrap *x, const char *sep, unsigned next) { sep_n(x, sep, strlen(sep), next); }

/* put_known: |n| bytes whose columns and escaping are known */
static void put_known(struct td_wrap *x, const char *s, size_t n, unsigned cols, bool plain)
{
    x->col += cols;
    if (plain) {
        td_wb_put(x->w, s, n);
        return;
    }
    {
        const unsigned char *p = (const unsigned char *)s;
        size_t run = 0;
        for (size_t i = 0; i < n; i++) {
            if (!escaped(p[i], x->ascii))
                continue;
            td_wb_put(x->w, s + run, i - run);
            td_wb_text_str(x->w, s + i, 1);
            run = i + 1;
        }
        td_wb_put(x->w, s + run, n - run);
    }
}

void td_wrap_put(struct td_wrap *x, const char *s, size_t n)
{
    bool plain;
    unsigned c = cols_of(s, n, x->ascii, &plain);
    put_known(x, s, n, c, plain);
}

void td_wrap_raw(struct td_wrap *x, const char *s) { td_wb_puts(x->w, s); }

void td_wrap_unit(struct td_wrap *x, const char *sep, const char *s, size_t n)
{
    bool plain;
    unsigned c = cols_of(s, n, x->ascii, &plain);
    sep_n(x, sep, strlen(sep), c);
    put_known(x, s, n, c, plain);
}

/* scan_word: the end of the word starting at |i| (not a space): the next
 * space outside a `backquoted` span (an unclosed backquote is a plain
 * byte), with its columns and whether it needs escaping */
static size_t scan_word(const char *s, size_t n, size_t i, bool ascii, unsigned *cols, bool *plain)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = 0;
    bool esc = false;
    size_t qend = 0; /* inside a backquoted span: where it closes */

    for (; i < n; i++) {
        unsigned char b = p[i];
        if (b > 0x20 && b < 0x7f) {
            c++;
            if (b == '`') {
                if (qend > i) {
                    continue;
                } else if (qend == i && i > 0) {
                    qend = 0;
                } else {
                    const char *q = memchr(s + i + 1, '`', n - i - 1);
                    if (q != NULL)
                        qend = (size_t)(q - s);
                }
            }
        } else if (b == ' ') {
            if (qend <= i)
                break;
            c++;
        } else if (escaped(b, ascii)) {
            c += 4;
            esc = true;
        } else if ((b & 0xc0) != 0x80) {
            c++;
        }
    }
    *cols = c;
    *plain = !esc;
    return i;
}

/* flush: bytes already counted in the column, written */
static void flush(struct td_wrap *x, const char *s, size_t n, bool plain)
{
    unsigned col = x->col;
    put_known(x, s, n, 0, plain);
    x->col = col;
}

/* prose_simple: the rest of td_wrap_prose from |p| (after the first word)
 * for text of printable ASCII without a backquote (nearly all of it: every
 * byte one column, a word ends at a space): each line found by looking back
 * from the width for a space, and written in one piece.  The same lines as
 * word by word: a word goes on the line if it fits, or if breaking would
 * not give it more room (the line holds nothing past the indent). */
static void prose_simple(struct td_wrap *x, const char *s, size_t n, size_t p)
{
    while (p < n) {
        size_t room = x->width > x->col ? x->width - x->col : 0, e;
        if (n - p <= room) { /* the rest fits */
            put_known(x, s + p, n - p, (unsigned)(n - p), true);
            return;
        }
        /* the last word end at or before p + room */
        e = p + room;
        if (s[e] != ' ')
            while (e > p && s[e - 1] != ' ')
                e--;
        while (e > p && s[e - 1] == ' ')
            e--;
        if (e > p) { /* words up to e fit */
            put_known(x, s + p, e - p, (unsigned)(e - p), true);
            p = e;
            continue;
        }
        /* not even the next word fits */
        e = p;
        while (e < n && s[e] == ' ')
            e++;
        if (e == n) { /* spaces at the end: written as they are */
            put_known(x, s + p, n - p, (unsigned)(n - p), true);
            return;
        }
        if (x->col > x->indent) { /* on the next line */
            break_line(x);
            p = e;
        }
        /* the word whole, at the start of its line or where breaking
         * would not give it more room */
        {
            const char *sp = memchr(s + e, ' ', n - e);
            size_t end = sp != NULL ? (size_t)(sp - s) : n;
            put_known(x, s + p, end - p, (unsigned)(end - p), true);
            p = end;
        }
    }
}

void td_wrap_prose(struct td_wrap *x, const char *sep, const char *s, size_t n)
{
    size_t i = 0, seplen = strlen(sep), run = 0;
    bool first = true, run_plain = true, plain;
    unsigned c;

    if (x->width == 0) { /* not wrapped */
        td_wb_put(x->w, sep, seplen);
        x->col += (unsigned)seplen;
        td_wrap_put(x, s, n);
        return;
    }
    c = cols_of(s, n, x->ascii, &plain);
    if (x->col + seplen + c <= x->width) { /* it fits: one piece */
        td_wb_put(x->w, sep, seplen);
        x->col += (unsigned)seplen;
        put_known(x, s, n, c, plain);
        return;
    }
    if (plain && c == n && memchr(s, '`', n) == NULL) {
        /* every byte one column: the first word (which |sep| may put on
         * a line of its own) with any spaces before it, then by position */
        size_t e = 0;
        const char *sp;
        while (e < n && s[e] == ' ')
            e++;
        sp = e < n ? memchr(s + e, ' ', n - e) : NULL;
        e = sp != NULL ? (size_t)(sp - s) : n;
        sep_n(x, sep, seplen, (unsigned)e);
        put_known(x, s, e, (unsigned)e, true);
        prose_simple(x, s, n, e);
        return;
    }
    /* word by word; the words of one line written in one piece */
    while (i < n) {
        size_t sp = i, e;
        unsigned wc;
        bool wp;
        while (i < n && s[i] == ' ')
            i++;
        if (i == n) { /* spaces at the end: written as they are */
            x->col += (unsigned)(i - sp);
            break;
        }
        e = scan_word(s, n, i, x->ascii, &wc, &wp);
        if (first) { /* spaces before the first word kept: as given */
            sep_n(x, sep, seplen, (unsigned)(i - sp) + wc);
            x->col += (unsigned)(i - sp);
            run = sp;
            first = false;
        } else if (x->col > x->indent && x->col + (i - sp) + wc > x->width) {
            flush(x, s + run, sp - run, run_plain);
            break_line(x);
            run = i;
            run_plain = true;
        } else { /* the spaces between two words */
            x->col += (unsigned)(i - sp);
        }
        x->col += wc;
        run_plain = run_plain && wp;
        i = e;
    }
    if (first) /* nothing but spaces */
        sep_n(x, sep, seplen, (unsigned)n);
    flush(x, s + run, n - run, run_plain);
}
