/* cmd_decode.c: `tlsdiag decode [FILE|-]`: explain what people paste.
 * Hex records go through the same engine and rules as captures (as
 * synthetic packets); error strings and bare alerts are explained from the
 * table in lib/decode/errors.c.  Unknown text is said to be unknown. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tlsdiag/alloc.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/decode.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/report.h"
#include "tlsdiag/rules.h"

struct dctx {
    struct td_wbuf *w;
    bool json;
    struct td_report_opts ro;
    unsigned conns;
};

static void flush_stdout(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    if (fwrite(p, 1, n, stdout) != n)
        exit(TD_EXIT_OK);
}

static void on_conn(void *ctx, struct td_conn *c)
{
    struct dctx *d = ctx;
    struct td_verdict v;
    struct td_rules_opts o;

    memset(&o, 0, sizeof(o));
    /* the packets are synthetic (their clock starts at 0): certificates in
     * a pasted dump are judged now, as the client judged them minutes ago */
    o.now = (int64_t)time(NULL);
    td_rules_run(&v, c, &o);
    if (d->json)
        td_report_json(d->w, c, &v, &d->ro);
    else
        td_report_text(d->w, c, &v, &d->ro);
    d->conns++;
    td_conn_free(c);
}

/* One error-text item as NDJSON.  The read contract's names are used where
 * they apply (docs/json.md, "tlsdiag decode --json"): outcome, alerts,
 * diagnoses with code/severity/by/confidence/summary/explanation/fix and
 * evidence (a text line instead of a frame); the decode-specific fields
 * (line, source, raised_by, ambiguous, codes) stay as they were. */
static void item_json(struct td_wbuf *w, const struct td_dec_result *r, const struct td_dec_item *it, const char *expl)
{
    const char *by = td_dec_by(it);
    const char *an = it->alert >= 0 ? td_reg_name(TD_REG_ALERT, (uint16_t)it->alert) : NULL;
    char summary[160];

    (void)r;
    td_wb_printf(w, "{\"type\":\"error_text\",\"line\":%u,\"source\":", it->line);
    td_wb_json_cstr(w, it->source);
    td_wb_printf(w, ",\"raised_by\":\"%s\",\"by\":\"%s\",\"alert\":",
                 it->side == TD_DEC_SIDE_PEER ? "peer" : it->side == TD_DEC_SIDE_LOCAL ? "local" : "unknown", by);
    if (it->alert >= 0)
        td_wb_printf(w, "%d", it->alert);
    else
        td_wb_puts(w, "null");
    td_wb_printf(w, ",\"ambiguous\":%s,\"codes\":[", it->ambiguous ? "true" : "false");
    for (uint8_t k = 0; k < it->num_codes; k++) {
        if (k)
            td_wb_putc(w, ',');
        td_wb_json_cstr(w, it->codes[k]);
    }
    td_wb_puts(w, "],\"explanation\":");
    td_wb_json_cstr(w, expl);
    /* contract-shaped part */
    td_wb_puts(w, ",\"outcome\":\"failed\",\"alerts\":[");
    if (it->alert >= 0) {
        td_wb_puts(w, "{\"frame\":null,\"line\":");
        td_wb_printf(w, "%u,\"from\":", it->line);
        td_wb_json_cstr(w, strcmp(by, "unknown") == 0 ? NULL : by);
        td_wb_printf(w, ",\"level\":\"fatal\",\"code\":%d,\"description\":", it->alert);
        td_wb_json_cstr(w, an);
        td_wb_puts(w, ",\"encrypted\":false}");
    }
    td_wb_puts(w, "],\"diagnoses\":[");
    if (it->alert >= 0)
        snprintf(summary, sizeof(summary), "%s: alert %s(%d) %s", it->source, an ? an : "?", it->alert,
                 it->side == TD_DEC_SIDE_PEER ? "received from the peer" : it->side == TD_DEC_SIDE_LOCAL ? "sent by this side" : "");
    else
        snprintf(summary, sizeof(summary), "%s: %s", it->source, it->id);
    for (uint8_t k = 0; k < it->num_codes; k++) {
        if (k)
            td_wb_putc(w, ',');
        td_wb_puts(w, "{\"code\":");
        td_wb_json_cstr(w, it->codes[k]);
        td_wb_printf(w, ",\"severity\":\"error\",\"by\":\"%s\",\"confidence\":\"%s\",\"summary\":", by,
                     it->ambiguous ? "low" : "medium");
        td_wb_json_cstr(w, summary);
        td_wb_puts(w, ",\"explanation\":");
        td_wb_json_cstr(w, it->explanation);
        td_wb_puts(w, ",\"fix\":");
        td_wb_json_cstr(w, it->next);
        td_wb_printf(w, ",\"evidence\":[{\"frame\":null,\"time\":null,\"line\":%u,\"column\":%u,\"from\":", it->line, it->col);
        td_wb_json_cstr(w, strcmp(by, "unknown") == 0 ? NULL : by);
        td_wb_puts(w, ",\"what\":");
        td_wb_json_cstr(w, it->id);
        td_wb_puts(w, "}]}");
    }
    td_wb_puts(w, "]}\n");
}

static void usage_decode(FILE *f)
{
    fputs("usage: tlsdiag decode [--json] [--width N] [FILE|-]\n"
          "\n"
          "Explain pasted text: openssl s_client -msg/-debug dumps, hex dumps, error strings of\n"
          "OpenSSL, BoringSSL, GnuTLS, NSS, Java, Go, .NET, Python, curl, nginx, HAProxy,\n"
          "Chrome and Windows SChannel (SEC_E_*), and alert numbers or names (40, alert 0x28,\n"
          "bad_certificate).  One input at most: FILE, or stdin when it is '-' or not given;\n"
          "its first MiB is read (a longer one is cut there, and the cut reported: limit_input).\n"
          "\n"
          "  --json          NDJSON: records as read --json, one \"error_text\" object per\n"
          "                  recognised error or alert (see docs/json.md)\n"
          "  --width N       text: wrap lines at N columns (0: no wrapping; default: the\n"
          "                  terminal's width, 60 to 200, else 100)\n"
          "  -h, --help      this help\n"
          "\n"
          "exit codes: 0 something recognised, 2 usage error, 3 FILE unreadable or nothing\n"
          "            recognised, 5 internal error\n",
          f);
}

int cmd_decode(int argc, char **argv)
{
    static const struct option lo[] = {{"json", no_argument, NULL, 'J'}, {"width", required_argument, NULL, 'w'},
                                       {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct dctx d;
    struct td_wbuf *w;
    struct td_dec_result *r;
    long alert_num;
    struct td_dec_pkts pk = {0, NULL};
    char *text;
    size_t len = 0;
    FILE *in = stdin;
    int opt;
    bool width_set = false;

    memset(&d, 0, sizeof(d));
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (opt == 'J') {
            d.json = true;
        } else if (opt == 'w') {
            if (cli_width_parse(optarg, &d.ro.width) != 0) {
                fprintf(stderr, "tlsdiag: --width takes 0 (no wrapping) or a number of columns from %u to %u\n",
                        CLI_WIDTH_MIN, CLI_WIDTH_MAX);
                return TD_EXIT_USAGE;
            }
            width_set = true;
        } else if (opt == 'h') {
            usage_decode(stdout);
            return TD_EXIT_OK;
        } else {
            usage_decode(stderr);
            return TD_EXIT_USAGE;
        }
    }
    if (!width_set)
        d.ro.width = cli_width_auto();
    if (argc - optind > 1) {
        fprintf(stderr, "tlsdiag decode: one input at most ('%s' is a second)\n", argv[optind + 1]);
        usage_decode(stderr);
        return TD_EXIT_USAGE;
    }
    if (optind < argc && strcmp(argv[optind], "-") != 0) {
        in = fopen(argv[optind], "rb");
        if (in == NULL) {
            fprintf(stderr, "tlsdiag: %s: %s\n", argv[optind], strerror(errno));
            return TD_EXIT_INPUT;
        }
    }
    /* one byte over the cap: td_decode_text then sees that the input was
     * longer and records limit_input (reading exactly the cap, it never could) */
    text = malloc((size_t)TD_DEC_MAX_INPUT + 1);
    w = malloc(sizeof(*w));
    if (text == NULL || w == NULL) {
        free(text);
        free(w);
        if (in != stdin)
            fclose(in);
        fprintf(stderr, "tlsdiag: out of memory\n");
        return TD_EXIT_INTERNAL;
    }
    len = fread(text, 1, (size_t)TD_DEC_MAX_INPUT + 1, in);
    if (ferror(in)) { /* a directory, an I/O error */
        int e = errno;
        fprintf(stderr, "tlsdiag: %s: %s\n", in == stdin ? "stdin" : argv[optind], strerror(e));
        if (in != stdin)
            fclose(in);
        free(text);
        free(w);
        return TD_EXIT_INPUT;
    }
    if (in != stdin)
        fclose(in);
    if (len > TD_DEC_MAX_INPUT)
        fprintf(stderr, "tlsdiag: decode: input longer than %u bytes: only the first %u were read (limit_input)\n",
                TD_DEC_MAX_INPUT, TD_DEC_MAX_INPUT);
    td_wb_init(w, flush_stdout, NULL);
    d.w = w;
    r = td_decode_text(text, len);
    /* one line that is an alert number the registry does not assign: say so */
    alert_num = len <= 64 ? td_dec_alert_number(text, len) : -1;
    free(text);
    if (r == NULL) {
        free(w);
        return TD_EXIT_INTERNAL;
    }
    if (r->num_records > 0 && td_dec_synth(&pk, r) == 0) {
        struct td_engine *e = td_engine_new(NULL, on_conn, &d);
        /* a -msg dump shows protected records decrypted: read them as a
         * capture decrypted with its key log would be read */
        if (e != NULL && td_dec_has_decrypted(r))
            td_engine_set_plaintext(e, true);
        d.ro.source = "decode";
        d.ro.timeline = true;
        for (uint32_t i = 0; e != NULL && i < pk.n; i++)
            td_engine_packet(e, &pk.pkts[i]);
        td_engine_free(e);
        td_dec_pkts_cleanup(&pk);
    }
    for (uint32_t i = 0; i < r->num_items; i++) {
        const struct td_dec_item *it = &r->items[i];
        char buf[2048];
        td_dec_explain(it, r->target, buf, sizeof(buf));
        if (d.json) {
            item_json(w, r, it, buf);
        } else {
            /* the explanation wrapped under its text, after "line N: " */
            struct td_wrap x;
            char lab[32];
            int n = snprintf(lab, sizeof(lab), "line %u: ", it->line);
            td_wb_put(w, lab, (size_t)n);
            td_wrap_begin(&x, w, d.ro.width, (unsigned)n, (unsigned)n);
            td_wrap_prose(&x, "", buf, strlen(buf));
            td_wb_putc(w, '\n');
        }
    }
    if (!td_dec_recognised(r)) {
        if (alert_num >= 0 && !d.json)
            td_wb_printf(w, "not an alert: %ld is not in the IANA TLS Alerts registry%s.\n", alert_num,
                         alert_num > 255 ? " (alert descriptions are one byte, 0-255)" : "");
        if (d.json)
            td_wb_printf(w, "{\"recognised\":false,\"lines\":%u,\"unknown_lines\":%u}\n", r->lines, r->unknown_lines);
        else
            td_wb_printf(w, "not recognised: %u line(s) read, none is a TLS record, a known error string or an alert.\n"
                            "tlsdiag does not guess. Paste the client's full error output, or capture the attempt:\n"
                            "  tcpdump -i any -s 0 -w fail.pcap 'tcp port 443'; tlsdiag read fail.pcap\n",
                         r->lines);
    } else if (!d.json && r->num_issues > 0) {
        for (uint32_t i = 0; i < r->num_issues; i++) {
            if (r->issues[i].line == 0)
                td_wb_printf(w, "note: %s\n", td_dec_issue_name(r->issues[i].kind));
            else
                td_wb_printf(w, "note: line %u: %s\n", r->issues[i].line, td_dec_issue_name(r->issues[i].kind));
        }
    }
    td_wb_flush(w);
    {
        int rc = td_dec_recognised(r) ? TD_EXIT_OK : TD_EXIT_INPUT;
        if (td_alloc_failures() > 0) {
            fprintf(stderr, "tlsdiag: out of memory: %llu allocation(s) failed; the result above is incomplete\n",
                    (unsigned long long)td_alloc_failures());
            rc = TD_EXIT_INTERNAL;
        }
        td_dec_result_free(r);
        free(w);
        return rc;
    }
}
