/* simulate.c: replay every client of the database against the target with
 * the target's SNI, classify each answer with the probe runner (the same
 * engine and rules as `tlsdiag read`), and explain every failure with the
 * plan's findings (lib/probe/clients.c td_sim_explain).  Rendering of the
 * "clients" JSON array and the "clients that fail" table lives here too, so
 * src/cmd_probe.c only calls it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/alloc.h"
#include "tlsdiag/probe.h"
#include "tlsdiag/probe_sim.h"
#include "tlsdiag/registry.h"

static const uint16_t vers_val[TD_SIM_NVERS] = {0x0300, 0x0301, 0x0302, 0x0303, 0x0304};

void td_sim_server_from_plan(struct td_sim_server *s, const struct td_plan_result *r)
{
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < TD_SIM_NVERS; k++) {
        const struct td_answer *a = &r->versions[k];
        s->version_known[k] = a->probed;
        s->version_ok[k] = a->probed && a->tls_ok && a->version == vers_val[k];
        s->ciphers[k] = r->ciphers[k];
        s->num_ciphers[k] = r->num_ciphers[k];
    }
    s->groups = r->groups;
    s->num_groups = r->num_groups;
    s->sni_required = r->sni_none.probed && !r->sni_none.tls_ok && r->sni_given.probed &&
                      r->sni_given.tls_ok;
    s->chain_incomplete = r->chain_known && r->chain.missing_intermediate;
    s->client_cert_required = r->client_auth == TD_CA_REQUIRED;
    s->client_cert_requested = r->client_auth == TD_CA_REQUIRED || r->client_auth == TD_CA_OPTIONAL;
}

void td_sim_tally(struct td_sim_report *rep)
{
    rep->failed = rep->cert_missing = rep->cert_asked = 0;
    for (size_t i = 0; i < rep->n; i++) {
        const struct td_sim_result *r = &rep->v[i];
        if (!r->ok)
            rep->failed++;
        if (!r->ok && strcmp(r->code, "client_cert_missing") == 0)
            rep->cert_missing++;
        if (r->ok && r->cert_asked)
            rep->cert_asked++;
    }
}

struct sim_ctx {
    struct td_sim_report *rep;
    const struct td_sim_db *db;
    const struct td_sim_server *srv;
};

static void obs_of(struct td_sim_obs *o, const struct td_probe *p)
{
    const struct td_diagnosis *d;

    memset(o, 0, sizeof(*o));
    switch (p->res) {
    case TD_PR_ACCEPTED: o->kind = TD_SIM_SERVER_HELLO; break;
    case TD_PR_ALERT: o->kind = TD_SIM_ALERT; break;
    case TD_PR_FIN: o->kind = TD_SIM_FIN; break;
    case TD_PR_RST: o->kind = TD_SIM_RST; break;
    case TD_PR_TIMEOUT: o->kind = TD_SIM_TIMEOUT; break;
    case TD_PR_NOT_TLS: o->kind = TD_SIM_NOT_TLS; break;
    case TD_PR_REFUSED:
    case TD_PR_UNREACHABLE: o->kind = TD_SIM_NO_CONNECT; break;
    case TD_PR_ERROR: o->kind = TD_SIM_LOCAL_ERROR; break;
    }
    o->alert = p->alert;
    o->version = p->version;
    o->cipher = p->cipher;
    d = td_verdict_primary(&p->v);
    if (p->res != TD_PR_ACCEPTED && d != NULL && d->severity == TD_SEV_ERROR)
        o->engine_code = d->code;
}

static void on_done(void *ctx, struct td_probe *p)
{
    struct sim_ctx *sc = ctx;
    struct td_sim_obs o;
    size_t i = (size_t)p->arg;

    if (i < sc->rep->n) {
        obs_of(&o, p);
        td_sim_explain(&sc->rep->v[i], &sc->db->v[i], sc->srv, &o);
        if (p->why[0] != '\0' && !sc->rep->v[i].ok && p->res == TD_PR_ERROR)
            snprintf(sc->rep->v[i].detail, sizeof(sc->rep->v[i].detail), "%s", p->why);
    }
    td_probe_free(p);
}

int td_sim_run(struct td_sim_report *rep, const struct td_sim_db *db, const struct td_plan_result *plan,
               const struct sockaddr *addr, socklen_t addrlen, const struct td_sim_opts *so,
               const struct td_probe_opts *o)
{
    struct td_sim_server srv;
    struct td_rules_opts ro;
    struct td_runner *run;
    struct sim_ctx sc;
    const char *sni = so->sni != NULL && so->sni[0] != '\0' ? so->sni : NULL;

    memset(rep, 0, sizeof(*rep));
    rep->v = td_calloc(db->n ? db->n : 1, sizeof(*rep->v));
    if (rep->v == NULL)
        return -1;
    rep->n = db->n;
    td_sim_server_from_plan(&srv, plan);
    {
        /* No version accepted at all: every client fails the way the plan's
         * probes did; replaying 32 hellos into a silent or hostile server
         * would only cost time. */
        bool any = false;
        for (int k = 0; k < TD_SIM_NVERS; k++)
            any = any || srv.version_ok[k];
        if (!any) {
            const char *code = plan->num_diag > 0 ? plan->diag[0].code : "unknown";
            for (size_t i = 0; i < db->n; i++) {
                struct td_sim_result *r = &rep->v[i];
                r->client = &db->v[i];
                snprintf(r->answer, sizeof(r->answer), "not_run");
                snprintf(r->code, sizeof(r->code), "%s", code);
                snprintf(r->detail, sizeof(r->detail),
                         "the server accepted no TLS version from any probe: not replayed");
                snprintf(r->fix, sizeof(r->fix), "fix the server's TLS service first (see diagnoses)");
            }
            rep->failed = db->n;
            rep->not_run = true;
            return 0;
        }
    }
    memset(&ro, 0, sizeof(ro));
    run = td_runner_new(addr, addrlen, o, &ro);
    if (run == NULL) {
        free(rep->v);
        rep->v = NULL;
        rep->n = 0;
        return -1;
    }
    sc.rep = rep;
    sc.db = db;
    sc.srv = &srv;
    for (size_t i = 0; i < db->n; i++) {
        struct td_probe *p = td_probe_new();
        struct td_sim_result *r = &rep->v[i];

        r->client = &db->v[i];
        snprintf(r->code, sizeof(r->code), "unknown");
        snprintf(r->answer, sizeof(r->answer), "not_run");
        if (p == NULL)
            continue;
        p->kind = TD_PROBE_RAW;
        p->label = db->v[i].id;
        p->hello_len = td_sim_hello_records(&db->v[i], sni, p->hello, sizeof(p->hello));
        p->arg = (int)i;
        p->done = on_done;
        p->done_ctx = &sc;
        p->starttls = so->starttls_fn;
        p->starttls_proto = so->starttls;
        if (p->hello_len == 0) {
            snprintf(r->detail, sizeof(r->detail), "the hello does not fit one probe");
            td_probe_free(p);
            continue;
        }
        td_runner_add(run, p);
    }
    td_runner_run(run);
    rep->connections = td_runner_connections(run);
    td_runner_free(run);
    td_sim_tally(rep);
    return 0;
}

void td_sim_report_cleanup(struct td_sim_report *rep)
{
    free(rep->v);
    memset(rep, 0, sizeof(*rep));
}

void td_sim_json(struct td_wbuf *w, const struct td_sim_report *rep)
{
    char cn[96];

    td_wb_putc(w, '[');
    for (size_t i = 0; i < rep->n; i++) {
        const struct td_sim_result *r = &rep->v[i];
        const struct td_sim_client *c = r->client;

        if (i)
            td_wb_putc(w, ',');
        td_wb_puts(w, "{\"id\":");
        td_wb_json_cstr(w, c->id);
        td_wb_puts(w, ",\"name\":");
        td_wb_json_cstr(w, c->name);
        td_wb_printf(w, ",\"kind\":\"%s\",\"ok\":%s,\"answer\":", c->captured ? "captured" : "rebuilt",
                     r->ok ? "true" : "false");
        td_wb_json_cstr(w, r->answer);
        if (r->ok) {
            td_wb_puts(w, ",\"version\":");
            td_wb_json_cstr(w, td_version_str(r->version));
            td_wb_puts(w, ",\"cipher\":");
            td_wb_json_cstr(w, td_reg_fmt(TD_REG_CIPHER, r->cipher, cn, sizeof(cn)));
            if (r->cert_asked)
                td_wb_puts(w, ",\"client_cert_requested\":true");
            td_wb_puts(w, ",\"cause\":null}");
            continue;
        }
        td_wb_puts(w, ",\"cause\":{\"code\":");
        td_wb_json_cstr(w, r->code);
        td_wb_printf(w, ",\"predicted\":%s,\"detail\":", r->predicted ? "true" : "false");
        td_wb_json_cstr(w, r->detail);
        td_wb_puts(w, ",\"fix\":");
        td_wb_json_cstr(w, r->fix);
        td_wb_puts(w, "}}");
    }
    td_wb_putc(w, ']');
}

void td_sim_text(struct td_wbuf *w, const struct td_sim_report *rep, const char *red,
                 const char *off, unsigned width)
{
    struct td_wrap x;

    if (rep->not_run) {
        td_wb_puts(w, "clients: client simulation not run: no handshake with the server succeeded\n");
        return;
    }
    td_wb_printf(w, "clients: %zu of %zu simulated clients connect", rep->n - rep->failed, rep->n);
    if (rep->cert_missing > 0)
        td_wb_printf(w, " (%zu need a client certificate)", rep->cert_missing);
    else if (rep->cert_asked > 0)
        td_wb_puts(w, " (asked for a client certificate, they go on without one)");
    td_wb_putc(w, '\n');
    if (rep->failed == 0)
        return;
    if (rep->cert_missing > 0) {
        /* one entry for all who fail only for the client certificate */
        static const char lead[] = "  needs a client certificate: ";
        bool first = true;
        td_wb_puts(w, lead);
        td_wrap_begin(&x, w, width, sizeof(lead) - 1, 4);
        for (size_t i = 0; i < rep->n; i++) {
            const struct td_sim_result *r = &rep->v[i];
            if (r->ok || strcmp(r->code, "client_cert_missing") != 0)
                continue;
            td_wrap_unit(&x, first ? "" : " ", r->client->id, strlen(r->client->id));
            first = false;
        }
        td_wb_puts(w, "\n    fix: ");
        td_wrap_begin(&x, w, width, 9, 9);
        {
            static const char fix[] = "give these clients certificates, or make client "
                                      "certificates optional (nginx: ssl_verify_client optional)";
            td_wrap_prose(&x, "", fix, sizeof(fix) - 1);
        }
        td_wb_putc(w, '\n');
        if (rep->failed == rep->cert_missing)
            return;
    }
    td_wb_printf(w, "clients that fail%s:\n  %-24s %-18s %-24s %s\n",
                 rep->cert_missing > 0 ? " for other causes" : "", "client", "cause", "answer", "fix");
    for (size_t i = 0; i < rep->n; i++) {
        const struct td_sim_result *r = &rep->v[i];
        char row[160];
        int n;
        if (r->ok || (rep->cert_missing > 0 && strcmp(r->code, "client_cert_missing") == 0))
            continue;
        td_wb_printf(w, "  %s%-24s%s ", red, r->client->id, off);
        n = snprintf(row, sizeof(row), "%-18s %-24s ", r->code, r->answer);
        n = n < 0 ? 0 : n < (int)sizeof(row) ? n : (int)sizeof(row) - 1;
        /* the fix wrapped in its column; when the screen leaves that column
         * too narrow, on a line of its own under the detail's column */
        {
            unsigned idc = td_wrap_cols(r->client->id, strlen(r->client->id), false);
            unsigned at = 2 + (idc > 24 ? idc : 24) + 1 + (unsigned)n;
            if (width != 0 && at + 25 > width) {
                while (n > 0 && row[n - 1] == ' ')
                    n--;
                td_wb_put(w, row, (size_t)n);
                td_wb_printf(w, "\n  %-24s fix: ", "");
                at = 32;
            } else {
                td_wb_put(w, row, (size_t)n);
            }
            td_wrap_begin(&x, w, width, at, at);
            td_wrap_prose(&x, "", r->fix, strlen(r->fix));
        }
        td_wb_printf(w, "\n  %-24s ", "");
        td_wrap_begin(&x, w, width, 27, 27);
        td_wrap_prose(&x, "", r->detail, strlen(r->detail));
        td_wb_putc(w, '\n');
    }
}
