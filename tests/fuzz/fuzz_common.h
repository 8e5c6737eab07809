/* fuzz_common.h: shared helpers of the libFuzzer harnesses (tests/fuzz).
 *
 * Every harness defines LLVMFuzzerTestOneInput and asserts invariants with
 * FUZZ_CHECK (abort with a message, so libFuzzer saves the input), not only
 * "did not crash".  The same sources build two ways:
 *   tests/fuzz/build.sh   clang -fsanitize=fuzzer,address,undefined
 *   make fuzz-replay      gcc + the normal flags + replay_main.c, which runs
 *                         files given on the command line (CI replays
 *                         tests/fuzz/regress/<harness>/ this way when clang is
 *                         missing)
 *
 * Adding a harness (the probe's builder->parser round trip, for example):
 *   1. tests/fuzz/fuzz_NAME.c with LLVMFuzzerTestOneInput, using these helpers;
 *   2. seeds: tests/fuzz/seeds.sh knows where each harness's seeds come from
 *      (add a case for NAME; files are copied at fuzz time, never committed);
 *   3. tests/fuzz/regress/NAME/ for inputs that once failed (an empty
 *      directory is fine: keep a README there).
 * build.sh and the Makefile pick up every tests/fuzz/fuzz_*.c by themselves. */
#ifndef TD_FUZZ_COMMON_H
#define TD_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/cur.h"
#include "tlsdiag/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* fuzz_check_diag: a bounded anomaly sink is consistent and every offset
 * lies within |limit| bytes (the input the offsets are relative to). */
static inline void fuzz_check_diag(const struct td_diag *d, size_t limit)
{
    FUZZ_CHECK(d->n <= TD_DIAG_SLOTS);
    FUZZ_CHECK(d->n <= d->total);
    for (uint32_t i = 0; i < d->n; i++) {
        FUZZ_CHECK(td_anomaly_name(d->recs[i].code) != NULL);
        FUZZ_CHECK(d->recs[i].off <= limit);
    }
}

/* fuzz_check_view: |v| lies inside [base, base + len). */
static inline void fuzz_check_view(const struct td_cur *v, const uint8_t *base, size_t len)
{
    uintptr_t b = (uintptr_t)base, p = (uintptr_t)v->p;

    if (v->len == 0)
        return;
    FUZZ_CHECK(p >= b);
    FUZZ_CHECK(p - b <= len);
    FUZZ_CHECK(v->len <= len - (p - b));
    FUZZ_CHECK(v->off + v->len <= len);
}

/* ---- segments: the input split into pieces with a direction bit ----
 *
 * Format: repeated { u8 ctl; u8 len_lo; bytes[len] }, where len =
 * (ctl & 0x3f) << 8 | len_lo, bit 0x80 of ctl is the direction and 0x40 a
 * "gap before this segment" flag.  A short last segment takes what is left.
 * Each segment is copied into an exact-size malloc'd buffer so ASan sees
 * any read past its end. */
struct fuzz_seg {
    const uint8_t *p;
    size_t len;
    uint8_t dir;
    bool gap;
};

static inline bool fuzz_next_seg(const uint8_t **data, size_t *size, struct fuzz_seg *s)
{
    size_t n;

    if (*size < 2)
        return false;
    s->dir = (uint8_t)((*data)[0] >> 7);
    s->gap = ((*data)[0] & 0x40) != 0;
    n = ((size_t)((*data)[0] & 0x3f) << 8) | (*data)[1];
    *data += 2;
    *size -= 2;
    if (n > *size)
        n = *size;
    s->p = *data;
    s->len = n;
    *data += n;
    *size -= n;
    return true;
}

/* fuzz_dup: an exact-size heap copy (malloc(0) is avoided: NULL for 0). */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n)
{
    uint8_t *b;

    if (n == 0)
        return NULL;
    b = malloc(n);
    if (b == NULL)
        abort();
    memcpy(b, p, n);
    return b;
}

/* ---- a bounded JSON validity checker (RFC 8259) ----
 * json_valid returns true when [p, p + n) is exactly one JSON value with
 * optional surrounding whitespace.  Depth is bounded (64); strings must be
 * valid UTF-8 with legal escapes.  Iterative over input, recursive only in
 * depth. */
struct json_p {
    const uint8_t *p;
    size_t n, i;
    int depth;
};

static inline void json_ws(struct json_p *j)
{
    while (j->i < j->n && (j->p[j->i] == ' ' || j->p[j->i] == '\t' || j->p[j->i] == '\n' || j->p[j->i] == '\r'))
        j->i++;
}

static inline bool json_lit(struct json_p *j, const char *s)
{
    size_t k = strlen(s);
    if (j->n - j->i < k || memcmp(j->p + j->i, s, k) != 0)
        return false;
    j->i += k;
    return true;
}

static inline bool json_utf8(struct json_p *j)
{
    uint8_t c = j->p[j->i];
    size_t need;
    uint32_t cp;

    if (c < 0x80) {
        j->i++;
        return true;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07u;
    } else {
        return false;
    }
    if (j->n - j->i <= need)
        return false;
    for (size_t k = 1; k <= need; k++) {
        uint8_t x = j->p[j->i + k];
        if ((x & 0xc0) != 0x80)
            return false;
        cp = (cp << 6) | (x & 0x3fu);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    j->i += need + 1;
    return true;
}

static inline bool json_string(struct json_p *j)
{
    if (j->i >= j->n || j->p[j->i] != '"')
        return false;
    j->i++;
    while (j->i < j->n) {
        uint8_t c = j->p[j->i];
        if (c == '"') {
            j->i++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (j->n - j->i < 2)
                return false;
            c = j->p[j->i + 1];
            if (c == 'u') {
                if (j->n - j->i < 6)
                    return false;
                for (size_t k = 2; k < 6; k++) {
                    uint8_t h = j->p[j->i + k];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return false;
                }
                j->i += 6;
            } else if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
                j->i += 2;
            } else {
                return false;
            }
            continue;
        }
        if (!json_utf8(j))
            return false;
    }
    return false;
}

static inline bool json_number(struct json_p *j)
{
    size_t start = j->i;
    if (j->i < j->n && j->p[j->i] == '-')
        j->i++;
    if (j->i >= j->n)
        return false;
    if (j->p[j->i] == '0') {
        j->i++;
    } else if (j->p[j->i] >= '1' && j->p[j->i] <= '9') {
        while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9')
            j->i++;
    } else {
        return false;
    }
    if (j->i < j->n && j->p[j->i] == '.') {
        size_t d = ++j->i;
        while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9')
            j->i++;
        if (j->i == d)
            return false;
    }
    if (j->i < j->n && (j->p[j->i] == 'e' || j->p[j->i] == 'E')) {
        size_t d;
        j->i++;
        if (j->i < j->n && (j->p[j->i] == '+' || j->p[j->i] == '-'))
            j->i++;
        d = j->i;
        while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9')
            j->i++;
        if (j->i == d)
            return false;
    }
    return j->i > start;
}

static bool json_value(struct json_p *j);

static inline bool json_container(struct json_p *j, char close, bool object)
{
    j->i++;
    if (++j->depth > 64)
        return false;
    json_ws(j);
    if (j->i < j->n && j->p[j->i] == (uint8_t)close) {
        j->i++;
        j->depth--;
        return true;
    }
    for (;;) {
        json_ws(j);
        if (object) {
            if (!json_string(j))
                return false;
            json_ws(j);
            if (j->i >= j->n || j->p[j->i] != ':')
                return false;
            j->i++;
        }
        if (!json_value(j))
            return false;
        json_ws(j);
        if (j->i >= j->n)
            return false;
        if (j->p[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->p[j->i] == (uint8_t)close) {
            j->i++;
            j->depth--;
            return true;
        }
        return false;
    }
}

static bool json_value(struct json_p *j)
{
    json_ws(j);
    if (j->i >= j->n)
        return false;
    switch (j->p[j->i]) {
    case '{': return json_container(j, '}', true);
    case '[': return json_container(j, ']', false);
    case '"': return json_string(j);
    case 't': return json_lit(j, "true");
    case 'f': return json_lit(j, "false");
    case 'n': return json_lit(j, "null");
    default: return json_number(j);
    }
}

static inline bool json_valid(const uint8_t *p, size_t n)
{
    struct json_p j = {p, n, 0, 0};
    if (!json_value(&j))
        return false;
    json_ws(&j);
    return j.i == n;
}

/* json_check_lines: every non-empty line of [p, p + n) is one valid JSON
 * value (NDJSON).  Returns the number of lines. */
static inline size_t json_check_lines(const uint8_t *p, size_t n)
{
    size_t i = 0, lines = 0;
    while (i < n) {
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) : n;
        if (e > i) {
            if (!json_valid(p + i, e - i)) {
                fprintf(stderr, "invalid JSON line: %.*s\n", (int)(e - i > 2000 ? 2000 : e - i),
                        (const char *)(p + i));
                abort();
            }
            lines++;
        }
        i = e + 1;
    }
    return lines;
}

/* ---- an in-memory output sink for td_wbuf ---- */
struct fuzz_out {
    uint8_t *p;
    size_t n, cap;
};

static inline void fuzz_out_flush(void *ctx, const char *p, size_t n)
{
    struct fuzz_out *o = ctx;
    if (o->n + n > o->cap) {
        size_t nc = o->cap ? o->cap : 65536;
        while (nc < o->n + n)
            nc *= 2;
        o->p = realloc(o->p, nc);
        if (o->p == NULL)
            abort();
        o->cap = nc;
    }
    memcpy(o->p + o->n, p, n);
    o->n += n;
}

/* fuzz_check_text: rendered text holds no raw control bytes from a peer
 * (only \n and \t; colour is off in the harnesses). */
static inline void fuzz_check_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') {
            size_t s = i > 200 ? i - 200 : 0;
            fprintf(stderr, "raw control byte 0x%02x at %zu in text output: ...%.*s\n", p[i], i,
                    (int)(i - s + 1), (const char *)(p + s));
            abort();
        }
    }
}

#endif
