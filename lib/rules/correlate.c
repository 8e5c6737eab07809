/* correlate.c: causes that only the other connections of a capture prove.
 *   - no-SNI hellos closed while SNI hellos to the same address succeed
 *     -> sni_required (high);
 *   - one SNI reset while other names to the same server pass
 *     -> middlebox_reset;
 *   - one SNI answered by silence while other names pass -> middlebox_drop;
 *   - version fallback: the same client retries the same server within
 *     TD_FALLBACK_WINDOW_NS, offering a lower highest version after a failed
 *     attempt.  The retry's own cause stays primary (inappropriate_fallback
 *     when the server answered alert 86 to TLS_FALLBACK_SCSV; the contract
 *     has no other code for it); both attempts name each other in the
 *     explanation and evidence, so the earlier failure is seen as the root.
 * "The same server" is the same address; for sni_required also the same
 * port, since an SNI-routing proxy is one listener.
 * The store is bounded (TD_CORR_MAX entries, oldest kept); past the cap,
 * later connections are still revised against what was kept. */
#include <stdlib.h>
#include <string.h>

#include "facts.h"

#define TD_CORR_MAX 262144u
/* a retry this close in time to a failed attempt counts as a fallback */
#define TD_FALLBACK_WINDOW_NS (30 * 1000000000LL)

#define corr_ent td_corr_rec

struct td_corr {
    struct corr_ent *e;
    size_t n, cap;
};

struct td_corr *td_corr_new(void) { return calloc(1, sizeof(struct td_corr)); }

void td_corr_free(struct td_corr *k)
{
    if (k == NULL)
        return;
    free(k->e);
    free(k);
}

bool td_corr_rec_make(struct td_corr_rec *e, const struct td_conn *c, const struct td_verdict *v)
{
    uint8_t s = (uint8_t)(1 - c->client);

    memset(e, 0, sizeof(*e));
    if (c->ch.m == NULL)
        return false;
    e->id = c->id;
    e->frame = c->ch.frame;
    e->ts_ns = c->ch.ts_ns;
    e->ipver = c->ipver;
    memcpy(e->srv, c->addr[s], 16);
    memcpy(e->cli, c->addr[c->client], 16);
    e->port = c->port[s];
    e->max_offered = ch_max_offered(c->ch.m);
    e->has_sni = c->ch.m->has_sni;
    e->scsv = c->ch.m->has_fallback_scsv;
    e->got_sh = c->sh.m != NULL || c->hrr.m != NULL;
    e->failed = v != NULL && v->outcome == TD_OUT_FAILED && v->num > 0;
    e->code = e->failed ? v->d[0].code : NULL;
    {
        size_t n = strnlen(c->ch.m->sni, sizeof(e->sni) - 1);
        memcpy(e->sni, c->ch.m->sni, n);
        e->sni[n] = 0;
    }
    return true;
}

void td_corr_add_rec(struct td_corr *k, const struct td_corr_rec *e)
{
    if (k == NULL || k->n >= TD_CORR_MAX)
        return;
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 256;
        struct corr_ent *ne = realloc(k->e, ncap * sizeof(*ne));
        if (ne == NULL)
            return;
        k->e = ne;
        k->cap = ncap;
    }
    k->e[k->n++] = *e;
}

void td_corr_add(struct td_corr *k, const struct td_conn *c, const struct td_verdict *v)
{
    struct td_corr_rec e;

    if (k == NULL || k->n >= TD_CORR_MAX || !td_corr_rec_make(&e, c, v))
        return;
    td_corr_add_rec(k, &e);
}

bool td_corr_may_revise(const struct td_conn *c, const struct td_verdict *v)
{
    return c->ch.m != NULL && v->outcome == TD_OUT_FAILED && v->num > 0;
}

static const struct corr_ent *find_control(const struct td_corr *k, const struct td_conn *c, int want)
{
    /* want 0: any SNI that got a ServerHello; 1: a different SNI that did */
    uint8_t s = (uint8_t)(1 - c->client);
    const struct td_client_hello *ch = c->ch.m;
    for (size_t i = 0; i < k->n; i++) {
        const struct corr_ent *e = &k->e[i];
        /* the same server address; the port may differ (a filtering device
         * on the path matches the name, whatever the port) */
        if ((e->id == c->id && e->frame == c->ch.frame && e->ts_ns == c->ch.ts_ns) || !e->got_sh || !e->has_sni || e->ipver != c->ipver ||
            memcmp(e->srv, c->addr[s], 16) != 0)
            continue;
        if (want == 0 && e->port != c->port[s])
            continue;
        if (want == 1 && strncmp(e->sni, ch->sni, sizeof(e->sni) - 1) == 0)
            continue;
        return e;
    }
    return NULL;
}

static void replace_primary(struct td_verdict *v, const char *code, enum td_by by, enum td_confidence conf)
{
    struct td_diagnosis *d = &v->d[0];
    d->code = code;
    d->by = by;
    d->confidence = conf;
}

static bool same_pair(const struct corr_ent *e, const struct td_conn *c)
{
    uint8_t s = (uint8_t)(1 - c->client);
    return e->ipver == c->ipver && e->port == c->port[s] && memcmp(e->srv, c->addr[s], 16) == 0 &&
           memcmp(e->cli, c->addr[c->client], 16) == 0;
}

static bool is_self(const struct corr_ent *e, const struct td_conn *c)
{
    return e->id == c->id && e->frame == c->ch.frame && e->ts_ns == c->ch.ts_ns;
}

/* The failed attempt this hello falls back from: the latest earlier
 * connection of the same client to the same server, within the window,
 * that failed while offering a higher version. */
static const struct corr_ent *fallback_from(const struct td_corr *k, const struct td_conn *c, uint16_t mine)
{
    const struct corr_ent *best = NULL;
    for (size_t i = 0; i < k->n; i++) {
        const struct corr_ent *e = &k->e[i];
        if (is_self(e, c) || !same_pair(e, c) || !e->failed || e->max_offered <= mine || e->ts_ns > c->ch.ts_ns ||
            c->ch.ts_ns - e->ts_ns > TD_FALLBACK_WINDOW_NS)
            continue;
        if (best == NULL || e->ts_ns > best->ts_ns)
            best = e;
    }
    return best;
}

/* The first retry that falls back from this failed attempt. */
static const struct corr_ent *fallback_to(const struct td_corr *k, const struct td_conn *c, uint16_t mine)
{
    const struct corr_ent *best = NULL;
    for (size_t i = 0; i < k->n; i++) {
        const struct corr_ent *e = &k->e[i];
        if (is_self(e, c) || !same_pair(e, c) || e->max_offered >= mine || e->ts_ns < c->ch.ts_ns ||
            e->ts_ns - c->ch.ts_ns > TD_FALLBACK_WINDOW_NS)
            continue;
        if (best == NULL || e->ts_ns < best->ts_ns)
            best = e;
    }
    return best;
}

static void append(char *dst, size_t len, const char *add)
{
    size_t n = strnlen(dst, len);
    if (n + 1 < len)
        snprintf(dst + n, len - n, "%s", add);
}

static void revise_fallback(const struct td_corr *k, const struct td_conn *c, struct td_verdict *v)
{
    struct td_diagnosis *d = &v->d[0];
    uint16_t mine = ch_max_offered(c->ch.m);
    const struct corr_ent *e;
    char a[16], b[16], add[384];

    e = fallback_from(k, c, mine);
    if (e != NULL) {
        double dt = (double)(c->ch.ts_ns - e->ts_ns) / 1e9;
        td_version_fmt(e->max_offered, a, sizeof(a));
        td_version_fmt(mine, b, sizeof(b));
        snprintf(add, sizeof(add),
                 " This hello is a version fallback: %.3f s earlier connection #%llu from the same client to the same server "
                 "offered %s and failed (%s); this retry offers at most %s%s.",
                 dt, (unsigned long long)e->id, a, e->code ? e->code : "failed", b,
                 c->ch.m->has_fallback_scsv ? " with TLS_FALLBACK_SCSV" : "");
        append(d->explanation, sizeof(d->explanation), add);
        if (strcmp(d->code, "inappropriate_fallback") == 0)
            diag_text(d->fix, sizeof(d->fix), "Fix the first failure (connection #%llu, %s): the retry was refused because the server does support %s.",
                      (unsigned long long)e->id, e->code ? e->code : "failed", a);
        diag_ev(d, e->frame, e->ts_ns, TD_FROM_CLIENT, "earlier attempt: connection #%llu ClientHello %s failed (%s)",
                (unsigned long long)e->id, a, e->code ? e->code : "failed");
    }
    e = fallback_to(k, c, mine);
    if (e != NULL) {
        td_version_fmt(mine, a, sizeof(a));
        td_version_fmt(e->max_offered, b, sizeof(b));
        snprintf(add, sizeof(add), " The client then fell back: connection #%llu retried the same server offering at most %s%s%s.",
                 (unsigned long long)e->id, b, e->scsv ? " with TLS_FALLBACK_SCSV" : "",
                 e->failed ? (e->code && strcmp(e->code, "inappropriate_fallback") == 0 ? ", refused as inappropriate_fallback" : ", and failed too")
                           : "");
        append(d->explanation, sizeof(d->explanation), add);
        diag_ev(d, e->frame, e->ts_ns, TD_FROM_CLIENT, "fallback retry: connection #%llu ClientHello %s%s", (unsigned long long)e->id, b,
                e->scsv ? " + TLS_FALLBACK_SCSV" : "");
    }
}

static void revise_sni(const struct td_corr *k, const struct td_conn *c, struct td_verdict *v);

void td_corr_revise(const struct td_corr *k, const struct td_conn *c, struct td_verdict *v)
{
    if (k == NULL || c->ch.m == NULL || v->outcome != TD_OUT_FAILED || v->num == 0)
        return;
    revise_sni(k, c, v);
    revise_fallback(k, c, v);
}

static void revise_sni(const struct td_corr *k, const struct td_conn *c, struct td_verdict *v)
{
    const struct td_client_hello *ch = c->ch.m;
    const struct corr_ent *ctl;
    struct td_diagnosis *d;
    char old[768];
    const char *p;

    if (c->sh.m != NULL)
        return;
    d = &v->d[0];
    p = d->code;
    if (!ch->has_sni) {
        if (strcmp(p, "closed_by_server") != 0 && strcmp(p, "reset_by_server") != 0 && strcmp(p, "sni_required") != 0 &&
            strcmp(p, "server_silent") != 0)
            return;
        ctl = find_control(k, c, 0);
        if (ctl == NULL)
            return;
        snprintf(old, sizeof(old), "%s", d->explanation);
        replace_primary(v, "sni_required", TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the server needs SNI: this hello had none, while connection #%llu with SNI \"%s\" got a ServerHello",
                  (unsigned long long)ctl->id, ctl->sni);
        diag_text(d->explanation, sizeof(d->explanation), "%s Connection #%llu to the same address and port, with SNI, was answered normally: the server (typically an L4 proxy routing on SNI, such as nginx stream with ssl_preread) refuses hellos without a name.",
                  old, (unsigned long long)ctl->id);
        diag_text(d->fix, sizeof(d->fix), "Connect by name so the client sends SNI (openssl s_client -servername NAME), or give the proxy a default route for an empty $ssl_preread_server_name.");
        diag_ev(d, ctl->frame, ctl->ts_ns, TD_FROM_CLIENT, "control: connection #%llu ClientHello with SNI %s answered",
                (unsigned long long)ctl->id, ctl->sni);
        return;
    }
    if (strcmp(p, "reset_by_server") == 0 || strcmp(p, "middlebox_reset") == 0) {
        ctl = find_control(k, c, 1);
        if (ctl == NULL)
            return;
        bool already = strcmp(p, "middlebox_reset") == 0;
        replace_primary(v, "middlebox_reset", TD_BY_MIDDLEBOX, already ? TD_CONF_HIGH : TD_CONF_MEDIUM);
        if (!already) {
            snprintf(old, sizeof(old), "%s", d->explanation);
            diag_text(d->summary, sizeof(d->summary), "connections with SNI \"%s\" are reset while other names to the same server pass", ch->sni);
            diag_text(d->explanation, sizeof(d->explanation), "%s Connection #%llu to the same server with SNI \"%s\" got a ServerHello: the reset depends on the name, the mark of a device on the path filtering by SNI.",
                      old, (unsigned long long)ctl->id, ctl->sni);
            diag_text(d->fix, sizeof(d->fix), "Find the filtering device between client and server and its rule for \"%s\".", ch->sni);
        }
        diag_ev(d, ctl->frame, ctl->ts_ns, TD_FROM_CLIENT, "control: connection #%llu with SNI %s answered",
                (unsigned long long)ctl->id, ctl->sni);
        return;
    }
    if (strcmp(p, "server_silent") == 0 || strcmp(p, "clienthello_lost") == 0) {
        ctl = find_control(k, c, 1);
        if (ctl == NULL)
            return;
        snprintf(old, sizeof(old), "%s", d->explanation);
        replace_primary(v, "middlebox_drop", TD_BY_MIDDLEBOX, TD_CONF_MEDIUM);
        diag_text(d->summary, sizeof(d->summary), "ClientHellos with SNI \"%s\" vanish while other names to the same server pass", ch->sni);
        diag_text(d->explanation, sizeof(d->explanation), "%s Connection #%llu to the same server with SNI \"%s\" was answered: something on the path silently drops hellos naming \"%s\".",
                  old, (unsigned long long)ctl->id, ctl->sni, ch->sni);
        diag_text(d->fix, sizeof(d->fix), "Find the filtering device between client and server and its rule for \"%s\".", ch->sni);
        diag_ev(d, ctl->frame, ctl->ts_ns, TD_FROM_CLIENT, "control: connection #%llu with SNI %s answered",
                (unsigned long long)ctl->id, ctl->sni);
    }
}
