/* test_render.c: the hand-written renderers against what they replace:
 * td_wb_json_str against a byte-at-a-time reference escaper, td_wb_u64 and
 * td_wb_ns_fixed against printf, the registry's direct index against its
 * sorted table, td_reg_fmt and td_event_what's snprintf-style truncation;
 * and the JSON renderer's memo of a ClientHello's lists (json.c): a hello
 * seen again, or one that differs in a single value, prints what it would
 * have printed the first time; and the text layout (wrap.c): prose wrapped
 * at spaces under its label, never inside a word or a `quoted` span,
 * escapes and UTF-8 counted as shown, width 0 writing the text as given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/report.h"
#include "tlsdiag/rules.h"
#include "tlsdiag/wbuf.h"

/* a growable sink the writer flushes into */
struct sink {
    char *b;
    size_t n, cap;
};

static void sink_flush(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    if (s->n + n > s->cap) {
        s->cap = (s->n + n) * 2;
        s->b = realloc(s->b, s->cap);
        assert_non_null(s->b);
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static struct td_wbuf wb;
static struct sink out, ref;

static void reset(void)
{
    out.n = 0;
    ref.n = 0;
    td_wb_init(&wb, sink_flush, &out);
}

static void ref_put(const char *p, size_t n) { sink_flush(&ref, p, n); }

/* the escaping rules of docs/json.md, one byte at a time */
static void ref_json(const unsigned char *p, size_t n)
{
    size_t i = 0;
    ref_put("\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t len = 0;
        uint32_t cp = 0;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ref_put(e, 2);
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            char e[8];
            snprintf(e, sizeof(e), "\\u%04x", c);
            ref_put(e, 6);
            i++;
            continue;
        }
        if (c < 0x80) {
            ref_put((const char *)p + i, 1);
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1fu;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0fu;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07u;
        if (len != 0 && n - i >= len) {
            size_t k;
            for (k = 1; k < len && (p[i + k] & 0xc0) == 0x80; k++)
                cp = (cp << 6) | (p[i + k] & 0x3fu);
            if (k == len && !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
                !(len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
                ref_put((const char *)p + i, len);
                i += len;
                continue;
            }
        }
        ref_put("\\ufffd", 6);
        i++;
    }
    ref_put("\"", 1);
}

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_json(const unsigned char *p, size_t n, size_t prefill)
{
    reset();
    /* start at an offset in the writer so the reserve/flush paths are hit */
    for (size_t i = 0; i < prefill; i++)
        td_wb_putc(&wb, 'x');
    for (size_t i = 0; i < prefill; i++)
        ref_put("x", 1);
    td_wb_json_str(&wb, (const char *)p, n);
    td_wb_flush(&wb);
    ref_json(p, n);
    assert_int_equal(out.n, ref.n);
    assert_memory_equal(out.b, ref.b, ref.n);
}

static void test_json_str(void **state)
{
    static const char *fixed[] = {
        "", "a", "abcdefgh", "abcdefghi", "plain text, longer than sixteen bytes",
        "quote\" in the middle", "back\\slash at 10", "\x01\x1f\x7f", "tab\there",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "bad \xc3 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xff",
        "1234567\"", "12345678\"", "\xc3\xa9xxxxxxxxxxxxx", "xxxxxxx\xc3\xa9",
    };
    static unsigned char buf[70000];
    static const unsigned char alphabet[] = {'a', 'Z', '0', ' ', '~', '"', '\\', 0x00, 0x0a, 0x1f, 0x7f, 0x80,
                                             0xbf, 0xc2, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xf0, 0x9f, 0xff};

    (void)state;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        check_json((const unsigned char *)fixed[i], strlen(fixed[i]), 0);
        check_json((const unsigned char *)fixed[i], strlen(fixed[i]), TD_WBUF_SIZE - 3);
    }
    /* random strings: mostly plain with special bytes sprinkled in, at
     * random offsets in the writer */
    for (int t = 0; t < 3000; t++) {
        size_t n = (size_t)(rnd() % 200);
        unsigned density = (unsigned)(rnd() % 4);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd();
            buf[i] = (r % 16) < density ? alphabet[(r >> 8) % sizeof(alphabet)] : (unsigned char)(0x20 + (r >> 16) % 95);
        }
        check_json(buf, n, (size_t)(rnd() % TD_WBUF_SIZE));
    }
    /* longer than the writer's buffer, plain and not */
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)('a' + i % 26);
    check_json(buf, sizeof(buf), 0);
    check_json(buf, sizeof(buf), 100);
    buf[40000] = '"';
    check_json(buf, sizeof(buf), 7);
    free(out.b);
    free(ref.b);
    out.b = ref.b = NULL;
    out.cap = ref.cap = 0;
}

static void test_numbers(void **state)
{
    static const uint64_t fixed[] = {0, 1, 9, 10, 99, 100, 101, 999, 1000, 65535, 4294967295u, 1000000000000u,
                                     UINT64_MAX};
    char e[64];

    (void)state;
    /* every power of ten and its neighbours (td_wb_u64 counts the digits
     * before it writes them), then random values of every magnitude */
    for (int t = -60; t < 20000; t++) {
        uint64_t v;
        if (t < 0) {
            uint64_t p10 = 1;
            for (int k = 0; k < (-t - 1) / 3; k++)
                p10 *= 10;
            v = p10 + (uint64_t)((-t - 1) % 3) - 1; /* 10^k - 1, 10^k, 10^k + 1 */
        } else {
            v = t < (int)(sizeof(fixed) / sizeof(fixed[0])) ? fixed[t] : rnd() >> (rnd() % 64);
        }
        reset();
        td_wb_u64(&wb, v);
        td_wb_flush(&wb);
        snprintf(e, sizeof(e), "%llu", (unsigned long long)v);
        assert_int_equal(out.n, strlen(e));
        assert_memory_equal(out.b, e, out.n);
    }
    /* times: printf's rounding of the double, for the two uses */
    for (int t = 0; t < 20000; t++) {
        int64_t ns = (int64_t)(rnd() >> (rnd() % 64));
        if (t % 7 == 0)
            ns = ns / 1000 * 1000 + 500; /* exact halves: the printf fallback */
        if (t % 11 == 0)
            ns = -ns;
        for (int u = 0; u < 2; u++) {
            unsigned shift = u ? 6 : 9, dec = u ? 3 : 6;
            reset();
            td_wb_ns_fixed(&wb, ns, shift, dec);
            td_wb_flush(&wb);
            snprintf(e, sizeof(e), "%.*f", (int)dec, (double)ns / (u ? 1e6 : 1e9));
            assert_int_equal(out.n, strlen(e));
            assert_memory_equal(out.b, e, out.n);
        }
    }
    free(out.b);
    out.b = NULL;
    out.cap = 0;
}

/* the direct index finds exactly the table's entries */
static void test_registry_index(void **state)
{
    static const enum td_reg regs[] = {TD_REG_CIPHER, TD_REG_EXTENSION, TD_REG_GROUP, TD_REG_SIGSCHEME,
                                       TD_REG_ALERT, TD_REG_VERSION, TD_REG_ECPF};
    static uint16_t all[65536];
    static struct td_reg_ref refs[65536];

    (void)state;
    for (uint32_t v = 0; v < 65536; v++)
        all[v] = (uint16_t)v;
    for (size_t r = 0; r < sizeof(regs) / sizeof(regs[0]); r++) {
        size_t entries = 0, named = 0;
        uint16_t v;
        const char *name;
        td_reg_names(regs[r], all, 65536, refs);
        while ((name = td_reg_at(regs[r], entries, &v)) != NULL) {
            size_t len = 0;
            assert_ptr_equal(td_reg_name(regs[r], v), name);
            assert_ptr_equal(td_reg_name_n(regs[r], v, &len), name);
            assert_int_equal(len, strlen(name));
            assert_ptr_equal(refs[v].name, name);
            assert_int_equal(refs[v].len, len);
            /* no JSON escaping needed (json.c copies them as they are) */
            for (size_t i = 0; i < len; i++)
                assert_true(name[i] >= 0x20 && name[i] < 0x7f && name[i] != '"' && name[i] != '\\');
            entries++;
        }
        assert_true(entries > 0);
        for (uint32_t x = 0; x < 65536; x++) {
            named += td_reg_name(regs[r], (uint16_t)x) != NULL;
            assert_true((refs[x].name != NULL) == (td_reg_name(regs[r], (uint16_t)x) != NULL));
        }
        assert_int_equal(named, entries);
    }
    assert_null(td_reg_name(TD_REG_COUNT, 0));
}

static void test_reg_fmt(void **state)
{
    char b[96], e[96];

    (void)state;
    for (uint32_t x = 0; x < 65536; x++) {
        uint16_t v = (uint16_t)x;
        const char *n = td_reg_name(TD_REG_CIPHER, v);
        if (td_is_grease(v))
            snprintf(e, sizeof(e), "GREASE(0x%04x)", v);
        else if (n != NULL)
            snprintf(e, sizeof(e), "%s", n);
        else
            snprintf(e, sizeof(e), "0x%04x", v);
        assert_int_equal(td_reg_fmt_n(TD_REG_CIPHER, v, b, sizeof(b)), strlen(e));
        assert_string_equal(b, e);
        /* truncated as snprintf truncates */
        for (size_t len = 1; len < 8; len++) {
            char t[8];
            td_reg_fmt(TD_REG_CIPHER, v, t, len);
            assert_int_equal(strlen(t), len - 1 < strlen(e) ? len - 1 : strlen(e));
            assert_memory_equal(t, e, strlen(t));
        }
    }
}

static void test_event_what(void **state)
{
    static struct td_conn c;
    struct td_event e;
    char b[160], t[160];
    size_t n;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.kind = TD_EV_RST;
    e.ttl = 64;
    e.has_ipid = true;
    e.ipid = 0x0abc;
    e.window = 512;
    n = td_event_what(&c, &e, b, sizeof(b));
    assert_string_equal(b, "RST ttl=64 ipid=0x0abc win=512");
    assert_int_equal(n, strlen(b));
    e.kind = TD_EV_ENCRYPTED;
    e.ct = TD_CT_APPLICATION_DATA;
    e.count = 3;
    e.len = 4096;
    td_event_what(&c, &e, b, sizeof(b));
    assert_string_equal(b, "3 encrypted application_data records (4096 bytes)");
    e.count = 1;
    e.ct = 99;
    td_event_what(&c, &e, b, sizeof(b));
    assert_string_equal(b, "encrypted other record (4096 bytes)");
    e.kind = TD_EV_HANDSHAKE;
    e.hs_type = 99;
    e.len = 7;
    td_event_what(&c, &e, b, sizeof(b));
    assert_string_equal(b, "handshake type 99 (7 bytes)");
    e.kind = TD_EV_ALERT;
    e.alert_level = 2;
    e.alert_desc = 40;
    td_event_what(&c, &e, b, sizeof(b));
    assert_string_equal(b, "Alert fatal handshake_failure(40)");
    e.decrypted = true;
    e.encrypted = true;
    td_event_what(&c, &e, b, sizeof(b));
    assert_string_equal(b, "Alert fatal handshake_failure(40) (decrypted)");
    /* every length truncates as snprintf does: a prefix, NUL-terminated */
    for (size_t len = 0; len < strlen(b) + 3; len++) {
        memset(t, 'z', sizeof(t));
        n = td_event_what(&c, &e, t, len);
        if (len == 0) {
            assert_int_equal(n, 0);
            assert_int_equal(t[0], 'z');
            continue;
        }
        assert_int_equal(n, strlen(t));
        assert_int_equal(n, len - 1 < strlen(b) ? len - 1 : strlen(b));
        assert_memory_equal(t, b, n);
    }
    assert_string_equal(td_version_fmt(0x0303, t, 16), "TLS 1.2");
    assert_string_equal(td_version_fmt(0x7f17, t, 16), "TLS 1.3d23");
    assert_string_equal(td_version_fmt(0xfb1a, t, 16), "TLS 1.3fb26");
    assert_string_equal(td_version_fmt(0x7e01, t, 16), "TLS 1.3e1");
    assert_string_equal(td_version_fmt(0x1234, t, 16), "0x1234");
    assert_string_equal(td_alert_fmt(200, t, 16), "alert(200)");
}

/* ---- the ClientHello lists memo ---- */

static struct td_client_hello hello_a;

static void make_hello(struct td_client_hello *ch)
{
    static const uint16_t cs[] = {0x1301, 0x1302, 0xc02f, 0x009c};
    static const uint16_t ext[] = {0x0000, 0x000a, 0x000d, 0x002b, 0x0033};
    memset(ch, 0, sizeof(*ch));
    ch->legacy_version = 0x0303;
    ch->has_supported_versions = true;
    ch->versions.n = 2;
    ch->versions.v[0] = 0x0304;
    ch->versions.v[1] = 0x0303;
    memcpy(ch->ciphers, cs, sizeof(cs));
    ch->num_ciphers = ch->total_ciphers = 4;
    ch->groups.n = 2;
    ch->groups.v[0] = 0x001d;
    ch->groups.v[1] = 0x0017;
    ch->num_key_shares = 1;
    ch->key_shares[0].group = 0x001d;
    ch->sig_algs.n = 1;
    ch->sig_algs.v[0] = 0x0403;
    memcpy(ch->ext_order.v, ext, sizeof(ext));
    ch->ext_order.n = 5;
}

/* the JSON line of a connection whose ClientHello is |ch|, as a new string */
static char *render_with(struct td_client_hello *ch, size_t fill)
{
    static struct td_conn c;
    static struct td_verdict v;
    struct td_report_opts o;
    char *r;

    memset(&c, 0, sizeof(c));
    memset(&v, 0, sizeof(v));
    memset(&o, 0, sizeof(o));
    c.ch.m = ch;
    reset();
    /* |fill| bytes first, so the hello's lists can fall across a flush */
    for (size_t i = 0; i < fill; i++)
        td_wb_putc(&wb, 'x');
    td_report_json(&wb, &c, &v, &o);
    td_wb_flush(&wb);
    assert_true(out.n > fill);
    r = malloc(out.n - fill + 1);
    assert_non_null(r);
    memcpy(r, out.b + fill, out.n - fill);
    r[out.n - fill] = 0;
    return r;
}

static void test_hello_memo(void **state)
{
    struct td_client_hello b;
    char *a1, *b1, *a2, *b2, *a3;
    (void)state;

    make_hello(&hello_a);
    make_hello(&b);
    b.key_shares[0].group = 0x0017; /* one value differs */
    a1 = render_with(&hello_a, 0);
    b1 = render_with(&b, 0);
    assert_non_null(strstr(a1, "\"key_share_groups\":[\"x25519\"]"));
    assert_non_null(strstr(b1, "\"key_share_groups\":[\"secp256r1\"]"));
    a2 = render_with(&hello_a, 0);
    b2 = render_with(&b, 0);
    assert_string_equal(a1, a2);
    assert_string_equal(b1, b2);
    /* the lists across a flush of the writer: not kept, the same bytes */
    a3 = render_with(&hello_a, TD_WBUF_SIZE - 40);
    assert_string_equal(a1, a3);
    /* every list is part of the key */
    free(b1);
    free(b2);
    b = hello_a;
    b.ext_order.v[3] = 0x002d;
    b1 = render_with(&b, 0);
    assert_null(strstr(b1, "supported_versions\",\"key_share"));
    assert_non_null(strstr(b1, "psk_key_exchange_modes"));
    b = hello_a;
    b.total_ciphers = 9;
    b2 = render_with(&b, 0);
    assert_non_null(strstr(b2, "\"supported_ciphers_total\":9"));
    assert_null(strstr(a1, "supported_ciphers_total"));
    free(a1);
    free(a2);
    free(a3);
    free(b1);
    free(b2);
}


/* |s| laid out by td_wrap_prose from column |col|, indent |ind|, as a string */
static char *wrapped(const char *s, unsigned width, unsigned col, unsigned ind)
{
    struct td_wrap x;
    char *r;
    reset();
    td_wrap_begin(&x, &wb, width, col, ind);
    td_wrap_prose(&x, "", s, strlen(s));
    td_wb_flush(&wb);
    r = malloc(out.n + 1);
    assert_non_null(r);
    memcpy(r, out.b, out.n);
    r[out.n] = 0;
    return r;
}

static void test_wrap(void **state)
{
    static const char p[] = "The server answered with a fatal handshake_failure alert; run "
                            "`tcpdump -i any -w f.pcap 'port 443'` then look.  Two  spaces kept.";
    char *a;
    (void)state;

    /* width 0: exactly the text */
    a = wrapped(p, 0, 9, 9);
    assert_string_equal(a, p);
    free(a);
    /* width 40 from column 9: lines of at most 40, continuation indented 9,
     * the quoted command whole (it overflows), the words all there */
    a = wrapped(p, 40, 9, 9);
    assert_string_equal(a, "The server answered with a\n"
                           "         fatal handshake_failure alert;\n"
                           "         run\n"
                           "         `tcpdump -i any -w f.pcap 'port 443'`\n"
                           "         then look.  Two  spaces kept.");
    free(a);
    /* a word longer than the room is not cut, and a line is not broken
     * where that gains nothing (at the indent) */
    a = wrapped("aaaaaaaaaaaaaaaaaaaa bb", 10, 4, 4);
    assert_string_equal(a, "aaaaaaaaaaaaaaaaaaaa\n    bb");
    free(a);
    /* an escaped control byte takes its four columns, UTF-8 one a character */
    assert_int_equal(td_wrap_cols("a\x01" "b", 3, false), 6);
    assert_int_equal(td_wrap_cols("caf\xc3\xa9", 5, false), 4);
    assert_int_equal(td_wrap_cols("caf\xc3\xa9", 5, true), 11);
    a = wrapped("xx \x01\x02 yy", 9, 0, 0);
    assert_string_equal(a, "xx\n\\x01\\x02\nyy");
    free(a);
    /* spaces at the ends are written as they are */
    a = wrapped(" a b ", 100, 0, 0);
    assert_string_equal(a, " a b ");
    free(a);
    a = wrapped("  aaaa bbbb cccc   ", 13, 2, 4);
    assert_string_equal(a, "  aaaa bbbb\n    cccc   ");
    free(a);
}

/* The layout by position (plain ASCII text, the usual case) and word by
 * word (any other text) give the same lines: random texts ending in "x"
 * (by position) and in "`" (an unclosed backquote: word by word) differ
 * in that last byte only, at every width, column and indent. */
static void test_wrap_same(void **state)
{
    char t[400];
    (void)state;

    for (int round = 0; round < 3000; round++) {
        size_t n = 0;
        unsigned width, col, ind, words;
        char *a, *b;
        words = 1 + (unsigned)rnd() % 40;
        if ((unsigned)rnd() % 4 == 0)
            t[n++] = ' ';
        for (unsigned k = 0; k < words && n < 300; k++) {
            unsigned big = (unsigned)rnd() % 8 == 0, len = 1 + (unsigned)rnd() % (big ? 40 : 9);
            for (unsigned j = 0; j < len; j++)
                t[n++] = (char)('a' + (unsigned)rnd() % 26);
            t[n++] = ' ';
            if ((unsigned)rnd() % 5 == 0)
                t[n++] = ' ';
        }
        if ((unsigned)rnd() % 3 == 0)
            t[n++] = ' ';
        t[n++] = 'x';
        t[n] = 0;
        width = 10 + (unsigned)rnd() % 80;
        ind = (unsigned)rnd() % 20;
        col = (unsigned)rnd() % 30;
        if ((unsigned)rnd() % 3 == 0)
            col = ind;
        a = wrapped(t, width, col, ind);
        t[n - 1] = '`';
        b = wrapped(t, width, col, ind);
        assert_int_equal(strlen(a), strlen(b));
        assert_memory_equal(a, b, strlen(a) - 1);
        free(a);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_registry_index),
        cmocka_unit_test(test_reg_fmt),
        cmocka_unit_test(test_event_what),
        cmocka_unit_test(test_hello_memo),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_wrap_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
