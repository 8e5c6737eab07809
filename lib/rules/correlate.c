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
#include "tlsdiag/alloc.h"
#include <string.h>

#include "facts.h"

#define TD_CORR_MAX 262144u
/* a retry this close in time to a failed attempt counts as a fallback */
#define TD_FALLBACK_WINDOW_NS (30 * 1000000000LL)

#define corr_ent td_corr_rec

/* Two indexes keep the lookups off a scan of the whole store: entries by
 * server address, and by (client, server address, port).  A bucket lists
 * its entries in the order they were added (several keys may share one),
 * so walking a bucket finds the same first/best entry a scan in store
 * order would. */
/* The bucket arrays grow with the store (one bucket per entry, up to
 * CORR_MAX_BUCKETS) and are rebuilt, in store order, when they do: a store
 * that keeps a handful of connections (a small capture, a fuzz run, a
 * decode) no longer sets up 1 MiB of buckets. */
#define CORR_MAX_BUCKETS 65536u
#define CORR_NONE UINT32_MAX

struct corr_idx {
    uint32_t *head, *tail;
};

struct td_corr {
    struct corr_ent *e;
    uint32_t *next_srv, *next_pair; /* per entry: the next in its bucket */
    size_t n, cap;
    uint32_t mask; /* buckets - 1; the arrays are NULL while the store is empty */
    struct corr_idx srv, pair;
};

static uint32_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return (uint32_t)(h ^ (h >> 32));
}

static uint32_t srv_bucket(uint8_t ipver, const uint8_t srv[16])
{
    return hash_bytes(0xcbf29ce484222325ULL ^ ipver, srv, 16);
}

static uint32_t pair_bucket(uint8_t ipver, const uint8_t srv[16], uint16_t port, const uint8_t cli[16])
{
    uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)ipver << 16 | port);
    h = (h ^ hash_bytes(h, srv, 16)) * 0x100000001b3ULL;
    return hash_bytes(h, cli, 16);
}

struct td_corr *td_corr_new(void)
{
    return td_calloc(1, sizeof(struct td_corr));
}

/* the first entry of a bucket (none while nothing is stored) */
static uint32_t idx_first(const struct td_corr *k, const struct corr_idx *x, uint32_t h)
{
    return x->head == NULL ? CORR_NONE : x->head[h & k->mask];
}

static void idx_add(struct corr_idx *x, uint32_t *next, uint32_t b, uint32_t i)
{
    next[i] = CORR_NONE;
    if (x->tail[b] == CORR_NONE)
        x->head[b] = i;
    else
        next[x->tail[b]] = i;
    x->tail[b] = i;
}

void td_corr_free(struct td_corr *k)
{
    if (k == NULL)
        return;
    free(k->e);
    free(k->next_srv);
    free(k->next_pair);
    free(k->srv.head);
    free(k->srv.tail);
    free(k->pair.head);
    free(k->pair.tail);
    free(k);
}

static void index_entry(struct td_corr *k, uint32_t i)
{
    const struct corr_ent *e = &k->e[i];
    idx_add(&k->srv, k->next_srv, srv_bucket(e->ipver, e->srv) & k->mask, i);
    idx_add(&k->pair, k->next_pair, pair_bucket(e->ipver, e->srv, e->port, e->cli) & k->mask, i);
}

/* nb buckets (a power of two), every stored entry re-added in store order */
static bool rebuild_index(struct td_corr *k, uint32_t nb)
{
    uint32_t *a[4];
    if (k->srv.head != NULL && nb == k->mask + 1)
        return true; /* same buckets: the entries stay where they are */
    for (int j = 0; j < 4; j++) {
        a[j] = td_malloc(nb * sizeof(uint32_t));
        if (a[j] == NULL) {
            while (j-- > 0)
                free(a[j]);
            return false;
        }
        memset(a[j], 0xff, nb * sizeof(uint32_t)); /* CORR_NONE */
    }
    free(k->srv.head);
    free(k->srv.tail);
    free(k->pair.head);
    free(k->pair.tail);
    k->srv.head = a[0];
    k->srv.tail = a[1];
    k->pair.head = a[2];
    k->pair.tail = a[3];
    k->mask = nb - 1;
    for (size_t i = 0; i < k->n; i++)
        index_entry(k, (uint32_t)i);
    return true;
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
        struct corr_ent *ne = td_realloc(k->e, ncap * sizeof(*ne));
        uint32_t *ns, *np;
        if (ne == NULL)
            return;
        k->e = ne;
        ns = td_realloc(k->next_srv, ncap * sizeof(*ns));
        if (ns == NULL)
            return;
        k->next_srv = ns;
        np = td_realloc(k->next_pair, ncap * sizeof(*np));
        if (np == NULL)
            return;
        k->next_pair = np;
        if (!rebuild_index(k, ncap < CORR_MAX_BUCKETS ? (uint32_t)ncap : CORR_MAX_BUCKETS))
            return;
        k->cap = ncap;
    }
    k->e[k->n] = *e;
    index_entry(k, (uint32_t)k->n);
    k->n++;
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
    for (uint32_t i = idx_first(k, &k->srv, srv_bucket(c->ipver, c->addr[s])); i != CORR_NONE; i = k->next_srv[i]) {
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
    uint8_t s = (uint8_t)(1 - c->client);
    for (uint32_t i = idx_first(k, &k->pair, pair_bucket(c->ipver, c->addr[s], c->port[s], c->addr[c->client])); i != CORR_NONE;
         i = k->next_pair[i]) {
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
    uint8_t s = (uint8_t)(1 - c->client);
    for (uint32_t i = idx_first(k, &k->pair, pair_bucket(c->ipver, c->addr[s], c->port[s], c->addr[c->client])); i != CORR_NONE;
         i = k->next_pair[i]) {
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
