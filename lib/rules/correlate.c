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
 *
 * The store keeps only what the lookups below can still return, so its size
 * follows the open flows and the servers seen, not the length of the file.
 * Two parts:
 *   - controls (find_control): per server address, and per server address
 *     and port, the few records with SNI that got a ServerHello and that can
 *     be the first match of some lookup (see ctl_wanted: at most 2 per port,
 *     4 per address); at most TD_CORR_CTL_MAX keys, the oldest evicted
 *     (counted);
 *   - fallbacks (fallback_from/to): every record while it can still fall in
 *     the TD_FALLBACK_WINDOW_NS window of a later lookup, in the order added.
 *     A record whose ClientHello is older than the newest ClientHello added
 *     minus the window minus the margin is dropped when it reaches the
 *     front of the queue.  The margin covers what the lookups can lag behind
 *     the newest record: a failed connection is revised when it ends (a
 *     silent one after the --idle timeout, 300 s by default: the margin is
 *     that timeout + TD_CORR_SLACK_NS), after its whole
 *     batch of up to 4096 connections was added, and capture time that goes
 *     backwards a little.  When time jumps forward by more than window +
 *     margin, everything before the jump expires (a connection that started
 *     before the jump and ends after it is revised without those records).
 *     When it jumps back, the newest time stays, so the records after the
 *     jump are kept until the capture's time passes it again: meanwhile only
 *     the overall cap (TD_CORR_MAX records, the oldest evicted, counted)
 *     bounds the queue.
 * Within those bounds the lookups answer exactly what a store of every
 * record would: the records dropped are ones no later lookup can return. */
#include <stdlib.h>
#include "tlsdiag/alloc.h"
#include <string.h>

#include "facts.h"
#include "util/hash.h"
#include "util/seed.h"

/* records kept for fallbacks (the oldest evicted past it) */
#define TD_CORR_MAX 262144u
/* server addresses + (address, port)s kept for controls (the oldest evicted) */
#define TD_CORR_CTL_MAX 131072u
/* a retry this close in time to a failed attempt counts as a fallback */
#define TD_FALLBACK_WINDOW_NS (30 * 1000000000LL)
/* how far behind the newest ClientHello a lookup may still look (above):
 * the --idle timeout (td_corr_set_idle; 300 s unless set) plus this slack
 * for the batch and time going back a little; 900 s in all by default */
#define TD_CORR_SLACK_NS (600 * 1000000000LL)
#define TD_CORR_IDLE_DEFAULT_NS (300 * 1000000000LL)
/* records kept per control key: ctl_wanted keeps at most 4 (2 when the SNI
 * plays no part); a spare slot or two, never used */
#define CTL_KEEP 6u
/* records a fallback lookup walks: at most this many per bucket, the oldest
 * unlinked past it (counted).  Every lookup walks its whole bucket, so
 * without a bound one client retrying one server all day (a retry storm, a
 * proxy's health checks) made each lookup walk every record of that pair
 * in the store: 40,000 such failures took 7 s, 262,144 would take minutes.
 * A bucket holds the records of one (client, server, port), plus rare hash
 * collisions (65,536 buckets for at most 262,144 records). */
#define PAIR_KEEP 256u

#define corr_ent td_corr_rec
#define CORR_NONE UINT32_MAX
/* bucket arrays grow with the queues (one bucket per slot, up to this) */
#define CORR_MAX_BUCKETS 65536u

/* Which capture a record comes from: |src|, the td_corr_set_source call in
 * force when it was added (0: none yet), and the capture's first packet
 * time.  A record whose capture differs from the revised connection's is
 * cited by file name, never by frame (see cite). */
struct cap_ref {
    int64_t start_ns;
    uint32_t src;
};

/* what the fallback lookups read of a record */
struct pair_rec {
    uint64_t id, frame;
    int64_t ts_ns;
    struct cap_ref cap;
    const char *code;
    uint8_t srv[16], cli[16];
    uint16_t port, max_offered;
    uint8_t ipver;
    bool scsv, failed;
    bool unlinked; /* dropped from its bucket (PAIR_KEEP): no lookup finds it */
};

/* what the control lookups read of a record */
struct ctl_rec {
    uint64_t id, frame;
    int64_t ts_ns;
    struct cap_ref cap;
    uint64_t sni_h; /* sni_hash(sni) */
    char sni[sizeof(((struct corr_ent *)0)->sni)];
};

/* a control key: kind 0 (address, port), kind 1 (address) */
struct ctl_ent {
    struct ctl_rec *r; /* n records, in the order added */
    uint32_t next;      /* hash chain */
    uint16_t port;
    uint8_t kind, ipver, n;
    uint8_t srv[16];
};

/* A queue is a ring of slots (power of two) in the order added, and hash
 * buckets listing each key's slots in that order; the front of the ring is
 * the front of its bucket, so dropping it is a pop. */
struct td_corr {
    /* fallbacks */
    struct pair_rec *p;
    uint32_t *pnext, *phead, *ptail, *plen;
    uint32_t pcap, pfront, pn, pmask;
    int64_t newest;
    bool have_newest;
    int64_t margin_ns; /* --idle + TD_CORR_SLACK_NS */
    /* controls */
    struct ctl_ent *c;
    uint32_t *cbucket;
    uint32_t ccap, cfront, cn, cmask;
    struct td_corr_stats st;
    /* captures: the path of each td_corr_set_source call (src - 1), the
     * current one src_cur (0: no call yet) */
    char **src_path;
    uint32_t src_n, src_cap, src_cur;
};

/* Bucket hashes: the addresses' 8-byte words through td_hash_words5
 * (util/hash.h; the byte-wise FNV-1a it replaced cost 4% of a summary-only
 * read: 32 dependent multiplications per record added and per lookup).
 *
 * srv_bucket is keyed (util/seed.h): the server keys' chains are not
 * bounded otherwise.  pair_bucket needs no key: a fallback lookup walks at
 * most PAIR_KEEP records whatever lands in its bucket, and unkeyed, which
 * records PAIR_KEEP unlinks is the same in every run. */
static uint32_t srv_bucket(uint8_t kind, uint8_t ipver, const uint8_t srv[16], uint16_t port)
{
    uint64_t w[5] = {(uint64_t)kind << 24 | (uint64_t)ipver << 16 | port, 0, 0, 0, 0};
    memcpy(&w[1], srv, 16);
    return (uint32_t)td_hash_words5(w, td_seed);
}

static uint32_t pair_bucket(uint8_t ipver, const uint8_t srv[16], uint16_t port, const uint8_t cli[16])
{
    static const uint64_t unkeyed[5];
    uint64_t w[5] = {(uint64_t)ipver << 16 | port, 0, 0, 0, 0};
    memcpy(&w[1], srv, 16);
    memcpy(&w[3], cli, 16);
    return (uint32_t)td_hash_words5(w, unkeyed);
}

struct td_corr *td_corr_new(void)
{
    struct td_corr *k;

    td_seed_init(); /* srv_bucket's key */
    k = td_calloc(1, sizeof(struct td_corr));
    if (k != NULL)
        k->margin_ns = TD_CORR_IDLE_DEFAULT_NS + TD_CORR_SLACK_NS;
    return k;
}

void td_corr_set_idle(struct td_corr *k, uint32_t idle_s)
{
    if (k != NULL)
        k->margin_ns = (int64_t)idle_s * 1000000000LL + TD_CORR_SLACK_NS;
}

void td_corr_set_source(struct td_corr *k, const char *path)
{
    char *p;

    if (k == NULL)
        return;
    if (k->src_n == k->src_cap) {
        uint32_t ncap = k->src_cap ? k->src_cap * 2 : 8;
        char **np = ncap > k->src_cap ? td_realloc(k->src_path, (size_t)ncap * sizeof(*np)) : NULL;
        if (np == NULL) {
            k->src_cur = 0; /* unnamed from now on: still told apart by time */
            return;
        }
        k->src_path = np;
        k->src_cap = ncap;
    }
    p = NULL;
    if (path != NULL) {
        size_t n = strlen(path);
        p = td_malloc(n + 1);
        if (p != NULL)
            memcpy(p, path, n + 1);
    }
    k->src_path[k->src_n++] = p;
    k->src_cur = k->src_n;
}

void td_corr_free(struct td_corr *k)
{
    if (k == NULL)
        return;
    for (uint32_t i = 0; i < k->src_n; i++)
        free(k->src_path[i]);
    free(k->src_path);
    for (uint32_t i = 0; i < k->cn; i++)
        free(k->c[(k->cfront + i) & (k->ccap - 1)].r);
    free(k->c);
    free(k->cbucket);
    free(k->p);
    free(k->pnext);
    free(k->phead);
    free(k->ptail);
    free(k->plen);
    free(k);
}

void td_corr_stats(const struct td_corr *k, struct td_corr_stats *s)
{
    memset(s, 0, sizeof(*s));
    if (k == NULL)
        return;
    *s = k->st;
    s->records = k->pn;
    s->ctl_keys = k->cn;
}

/* ---- fallbacks: the queue of records by (client, server, port) ---- */

static void pair_index(struct td_corr *k, uint32_t i)
{
    const struct pair_rec *e = &k->p[i];
    uint32_t b = pair_bucket(e->ipver, e->srv, e->port, e->cli) & k->pmask;
    if (k->plen[b] >= PAIR_KEEP) { /* unlink the bucket's oldest */
        uint32_t h = k->phead[b];
        k->p[h].unlinked = true;
        k->phead[b] = k->pnext[h];
        k->plen[b]--;
        k->st.pair_dropped++;
    }
    k->pnext[i] = CORR_NONE;
    if (k->phead[b] == CORR_NONE)
        k->phead[b] = i;
    else
        k->pnext[k->ptail[b]] = i;
    k->ptail[b] = i;
    k->plen[b]++;
}

static void pair_pop(struct td_corr *k)
{
    uint32_t i = k->pfront;
    const struct pair_rec *e = &k->p[i];
    if (!e->unlinked) {
        uint32_t b = pair_bucket(e->ipver, e->srv, e->port, e->cli) & k->pmask;
        /* the oldest record is the first of its bucket (older ones of the
         * bucket were popped or unlinked before it) */
        k->phead[b] = k->pnext[i];
        if (k->phead[b] == CORR_NONE)
            k->ptail[b] = CORR_NONE;
        k->plen[b]--;
    }
    k->pfront = (i + 1) & (k->pcap - 1);
    k->pn--;
}

/* twice the slots, the records moved to 0..n-1 in order, buckets rebuilt */
static bool pair_grow(struct td_corr *k)
{
    uint32_t ncap = k->pcap ? k->pcap * 2 : 256;
    uint32_t nb = ncap < CORR_MAX_BUCKETS ? ncap : CORR_MAX_BUCKETS;
    struct pair_rec *np = td_malloc((size_t)ncap * sizeof(*np));
    uint32_t *nn = td_malloc((size_t)ncap * sizeof(*nn));
    uint32_t *nh = td_malloc((size_t)nb * sizeof(*nh));
    uint32_t *nt = td_malloc((size_t)nb * sizeof(*nt));
    uint32_t *nl = td_calloc(nb, sizeof(*nl));

    if (np == NULL || nn == NULL || nh == NULL || nt == NULL || nl == NULL) {
        free(np);
        free(nn);
        free(nh);
        free(nt);
        free(nl);
        return false;
    }
    for (uint32_t i = 0; i < k->pn; i++)
        np[i] = k->p[(k->pfront + i) & (k->pcap - 1)];
    memset(nh, 0xff, (size_t)nb * sizeof(*nh)); /* CORR_NONE */
    memset(nt, 0xff, (size_t)nb * sizeof(*nt));
    free(k->p);
    free(k->pnext);
    free(k->phead);
    free(k->ptail);
    free(k->plen);
    k->p = np;
    k->pnext = nn;
    k->phead = nh;
    k->ptail = nt;
    k->plen = nl;
    k->pcap = ncap;
    k->pmask = nb - 1;
    k->pfront = 0;
    /* the buckets only split (or stay): none goes over PAIR_KEEP here */
    for (uint32_t i = 0; i < k->pn; i++)
        if (!k->p[i].unlinked)
            pair_index(k, i);
    return true;
}

static void pair_add(struct td_corr *k, const struct corr_ent *e)
{
    struct pair_rec *p;
    uint32_t i;
    int64_t horizon;

    if (!k->have_newest || e->ts_ns > k->newest)
        k->newest = e->ts_ns;
    k->have_newest = true;
    horizon = k->newest < INT64_MIN + TD_FALLBACK_WINDOW_NS + k->margin_ns
                  ? INT64_MIN
                  : k->newest - TD_FALLBACK_WINDOW_NS - k->margin_ns;
    while (k->pn > 0 && k->p[k->pfront].ts_ns < horizon) {
        pair_pop(k);
        k->st.expired++;
    }
    if (k->pn >= TD_CORR_MAX) {
        pair_pop(k);
        k->st.evicted++;
    }
    if (k->pn == k->pcap && !pair_grow(k))
        return;
    i = (k->pfront + k->pn) & (k->pcap - 1);
    p = &k->p[i];
    p->id = e->id;
    p->frame = e->frame;
    p->ts_ns = e->ts_ns;
    p->cap.start_ns = e->capture_start_ns;
    p->cap.src = k->src_cur;
    p->code = e->code;
    memcpy(p->srv, e->srv, 16);
    memcpy(p->cli, e->cli, 16);
    p->port = e->port;
    p->max_offered = e->max_offered;
    p->ipver = e->ipver;
    p->scsv = e->scsv;
    p->failed = e->failed;
    p->unlinked = false;
    k->pn++;
    pair_index(k, i);
}

/* ---- controls: per server, the records find_control can return ---- */

static bool same_ident(uint64_t id, uint64_t frame, int64_t ts, const struct ctl_rec *e)
{
    return e->id == id && e->frame == frame && e->ts_ns == ts;
}

/* SNIs are compared as the records keep them: the first 63 bytes.  Their
 * hashes first: ctl_wanted compares each new control with the ones kept
 * (up to 20 comparisons), and strncmp was a tenth of the delivering
 * thread's instructions under -j (callgrind). */
#define SNI_CMP (sizeof(((struct corr_ent *)0)->sni) - 1)

static uint64_t sni_hash(const char *s) { return td_hash_bytes(s, strnlen(s, SNI_CMP)); }

static bool same_sni(const char *a, uint64_t ha, const char *b, uint64_t hb)
{
    return ha == hb && strncmp(a, b, SNI_CMP) == 0;
}

/* find_control returns the first record of a key that is not the lookup's
 * own connection (the same id, frame and time) and, for kind 1, has another
 * SNI.  A new record |r| can be that answer for some lookup only if some
 * (SNI q, connection I), q != r's SNI and I != r, excludes every record kept
 * so far (the records not kept are never an answer, so they need not be
 * looked at).  Keeping exactly those keeps every answer.  I is one of the
 * kept connections or any other; then the kept records I does not exclude
 * must all share one SNI q (kind 1) or be none (kind 0).  A brute force over
 * all sequences of up to 6 records from 3 SNIs and 4 connections never kept
 * more than 4 (2 for kind 0). */
static bool ctl_wanted(const struct ctl_ent *x, const struct corr_ent *r, uint64_t r_h)
{
    /* kind 0, the same answer without the nested loops (every connection
     * with a ServerHello and SNI comes here): one I excludes every kept
     * record when there is none, or when they are all of one connection
     * (the same file read twice repeats them) that is not r's */
    if (x->kind == 0) {
        if (x->n == 0)
            return true;
        if (same_ident(r->id, r->frame, r->ts_ns, &x->r[0]))
            return false;
        for (uint32_t m = 1; m < x->n; m++)
            if (!same_ident(x->r[0].id, x->r[0].frame, x->r[0].ts_ns, &x->r[m]))
                return false;
        return true;
    }
    for (uint32_t j = 0; j <= x->n; j++) {
        /* I = the connection of kept record j, or (j == n) one not kept */
        const struct ctl_rec *ij = j < x->n ? &x->r[j] : NULL;
        const struct ctl_rec *q = NULL;
        bool ok = true;
        if (ij != NULL && same_ident(r->id, r->frame, r->ts_ns, ij))
            continue;
        for (uint32_t m = 0; m < x->n && ok; m++) {
            const struct ctl_rec *e = &x->r[m];
            if (ij != NULL && same_ident(ij->id, ij->frame, ij->ts_ns, e))
                continue;
            if (x->kind == 0)
                ok = false;
            else if (q == NULL) {
                q = e;
                ok = !same_sni(q->sni, q->sni_h, r->sni, r_h);
            } else {
                ok = same_sni(e->sni, e->sni_h, q->sni, q->sni_h);
            }
        }
        if (ok)
            return true;
    }
    return false;
}

static struct ctl_ent *ctl_find(const struct td_corr *k, uint8_t kind, uint8_t ipver, const uint8_t srv[16], uint16_t port)
{
    if (k->cbucket == NULL)
        return NULL;
    for (uint32_t i = k->cbucket[srv_bucket(kind, ipver, srv, port) & k->cmask]; i != CORR_NONE; i = k->c[i].next) {
        struct ctl_ent *x = &k->c[i];
        if (x->kind == kind && x->ipver == ipver && x->port == port && memcmp(x->srv, srv, 16) == 0)
            return x;
    }
    return NULL;
}

static void ctl_link(struct td_corr *k, uint32_t i)
{
    struct ctl_ent *x = &k->c[i];
    uint32_t b = srv_bucket(x->kind, x->ipver, x->srv, x->port) & k->cmask;
    x->next = k->cbucket[b];
    k->cbucket[b] = i;
}

static void ctl_pop(struct td_corr *k)
{
    uint32_t i = k->cfront;
    struct ctl_ent *x = &k->c[i];
    uint32_t *pp = &k->cbucket[srv_bucket(x->kind, x->ipver, x->srv, x->port) & k->cmask];
    while (*pp != i)
        pp = &k->c[*pp].next;
    *pp = x->next;
    free(x->r);
    x->r = NULL;
    k->cfront = (i + 1) & (k->ccap - 1);
    k->cn--;
}

static bool ctl_grow(struct td_corr *k)
{
    uint32_t ncap = k->ccap ? k->ccap * 2 : 64;
    uint32_t nb = ncap < CORR_MAX_BUCKETS ? ncap : CORR_MAX_BUCKETS;
    struct ctl_ent *nc = td_malloc((size_t)ncap * sizeof(*nc));
    uint32_t *nbk = td_malloc((size_t)nb * sizeof(*nbk));

    if (nc == NULL || nbk == NULL) {
        free(nc);
        free(nbk);
        return false;
    }
    for (uint32_t i = 0; i < k->cn; i++)
        nc[i] = k->c[(k->cfront + i) & (k->ccap - 1)];
    memset(nbk, 0xff, (size_t)nb * sizeof(*nbk));
    free(k->c);
    free(k->cbucket);
    k->c = nc;
    k->cbucket = nbk;
    k->ccap = ncap;
    k->cmask = nb - 1;
    k->cfront = 0;
    for (uint32_t i = 0; i < k->cn; i++)
        ctl_link(k, i);
    return true;
}

static void ctl_add(struct td_corr *k, uint8_t kind, const struct corr_ent *e, uint64_t sni_h)
{
    uint16_t port = kind == 0 ? e->port : 0;
    struct ctl_ent *x = ctl_find(k, kind, e->ipver, e->srv, port);
    struct ctl_rec *nr;

    if (x == NULL) {
        uint32_t i;
        if (k->cn >= TD_CORR_CTL_MAX) {
            ctl_pop(k);
            k->st.ctl_evicted++;
        }
        if (k->cn == k->ccap && !ctl_grow(k))
            return;
        i = (k->cfront + k->cn) & (k->ccap - 1);
        x = &k->c[i];
        memset(x, 0, sizeof(*x));
        x->kind = kind;
        x->ipver = e->ipver;
        x->port = port;
        memcpy(x->srv, e->srv, 16);
        k->cn++;
        ctl_link(k, i);
    }
    if (x->n >= CTL_KEEP || !ctl_wanted(x, e, sni_h))
        return;
    nr = td_realloc(x->r, (size_t)(x->n + 1) * sizeof(*nr));
    if (nr == NULL)
        return;
    x->r = nr;
    nr += x->n++;
    nr->id = e->id;
    nr->frame = e->frame;
    nr->ts_ns = e->ts_ns;
    nr->cap.start_ns = e->capture_start_ns;
    nr->cap.src = k->src_cur;
    nr->sni_h = sni_h;
    memcpy(nr->sni, e->sni, sizeof(nr->sni));
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
    e->capture_start_ns = c->capture_start_ns;
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

void td_corr_prefetch(const struct td_corr *k, const struct td_corr_rec *e)
{
#if defined(__GNUC__)
    if (k == NULL || k->phead == NULL)
        return;
    {
        uint32_t b = pair_bucket(e->ipver, e->srv, e->port, e->cli) & k->pmask;
        __builtin_prefetch(&k->phead[b], 1);
        __builtin_prefetch(&k->ptail[b], 1);
        __builtin_prefetch(&k->plen[b], 1);
    }
#else
    (void)k;
    (void)e;
#endif
}

void td_corr_add_rec(struct td_corr *k, const struct td_corr_rec *e)
{
    if (k == NULL)
        return;
    pair_add(k, e);
    if (e->got_sh && e->has_sni) {
        uint64_t h = sni_hash(e->sni);
        ctl_add(k, 0, e, h);
        ctl_add(k, 1, e, h);
    }
}

void td_corr_add(struct td_corr *k, const struct td_conn *c, const struct td_verdict *v)
{
    struct td_corr_rec e;

    if (k == NULL || !td_corr_rec_make(&e, c, v))
        return;
    td_corr_add_rec(k, &e);
}

bool td_corr_may_revise(const struct td_conn *c, const struct td_verdict *v)
{
    return c->ch.m != NULL && v->outcome == TD_OUT_FAILED && v->num > 0;
}

/* |r| is a connection of |c|'s own capture (this reading of this file) */
static bool own_cap(const struct td_corr *k, const struct td_conn *c, const struct cap_ref *r)
{
    return r->src == k->src_cur && r->start_ns == c->capture_start_ns;
}

/* Records of |c|'s own capture come first, another capture's only when
 * the own has none: two captures of the same traffic (client and server
 * side) read together must not cite each other over their own frames. */
static const struct ctl_rec *find_control(const struct td_corr *k, const struct td_conn *c, int want)
{
    /* want 0: any SNI that got a ServerHello, on the same port; 1: a
     * different SNI that did, on any port (a filtering device on the path
     * matches the name, whatever the port) */
    uint8_t s = (uint8_t)(1 - c->client);
    const struct td_client_hello *ch = c->ch.m;
    const struct ctl_ent *x = ctl_find(k, want == 0 ? 0 : 1, c->ipver, c->addr[s], want == 0 ? c->port[s] : 0);
    uint64_t h;
    if (x == NULL)
        return NULL;
    h = sni_hash(ch->sni);
    {
        const struct ctl_rec *other = NULL;
        for (uint32_t i = 0; i < x->n; i++) {
            const struct ctl_rec *e = &x->r[i];
            if (same_ident(c->id, c->ch.frame, c->ch.ts_ns, e))
                continue;
            if (want == 1 && same_sni(e->sni, e->sni_h, ch->sni, h))
                continue;
            if (own_cap(k, c, &e->cap))
                return e;
            if (other == NULL)
                other = e;
        }
        return other;
    }
}

static void replace_primary(struct td_verdict *v, const char *code, enum td_by by, enum td_confidence conf)
{
    struct td_diagnosis *d = &v->d[0];
    d->code = code;
    d->by = by;
    d->confidence = conf;
}

static bool same_pair(const struct pair_rec *e, const struct td_conn *c)
{
    uint8_t s = (uint8_t)(1 - c->client);
    return e->ipver == c->ipver && e->port == c->port[s] && memcmp(e->srv, c->addr[s], 16) == 0 &&
           memcmp(e->cli, c->addr[c->client], 16) == 0;
}

static bool is_self(const struct pair_rec *e, const struct td_conn *c)
{
    return e->id == c->id && e->frame == c->ch.frame && e->ts_ns == c->ch.ts_ns;
}

/* the first record of |c|'s (client, server, port) bucket */
static uint32_t pair_first(const struct td_corr *k, const struct td_conn *c)
{
    uint8_t s = (uint8_t)(1 - c->client);
    if (k->phead == NULL)
        return CORR_NONE;
    return k->phead[pair_bucket(c->ipver, c->addr[s], c->port[s], c->addr[c->client]) & k->pmask];
}

/* pair_better: |e| beats |best| (NULL: none yet): a record of |c|'s own
 * capture over another capture's (find_control's rule), then the later
 * (|later|) or the earlier one */
static bool pair_better(const struct td_corr *k, const struct td_conn *c, const struct pair_rec *e,
                        const struct pair_rec *best, bool later)
{
    bool eo, bo;

    if (best == NULL)
        return true;
    eo = own_cap(k, c, &e->cap);
    bo = own_cap(k, c, &best->cap);
    if (eo != bo)
        return eo;
    return later ? e->ts_ns > best->ts_ns : e->ts_ns < best->ts_ns;
}

/* The failed attempt this hello falls back from: the latest earlier
 * connection of the same client to the same server, within the window,
 * that failed while offering a higher version. */
static const struct pair_rec *fallback_from(const struct td_corr *k, const struct td_conn *c, uint16_t mine)
{
    const struct pair_rec *best = NULL;
    for (uint32_t i = pair_first(k, c); i != CORR_NONE; i = k->pnext[i]) {
        const struct pair_rec *e = &k->p[i];
        if (is_self(e, c) || !same_pair(e, c) || !e->failed || e->max_offered <= mine || e->ts_ns > c->ch.ts_ns ||
            c->ch.ts_ns - e->ts_ns > TD_FALLBACK_WINDOW_NS)
            continue;
        if (pair_better(k, c, e, best, true))
            best = e;
    }
    return best;
}

/* The first retry that falls back from this failed attempt. */
static const struct pair_rec *fallback_to(const struct td_corr *k, const struct td_conn *c, uint16_t mine)
{
    const struct pair_rec *best = NULL;
    for (uint32_t i = pair_first(k, c); i != CORR_NONE; i = k->pnext[i]) {
        const struct pair_rec *e = &k->p[i];
        if (is_self(e, c) || !same_pair(e, c) || e->max_offered >= mine || e->ts_ns < c->ch.ts_ns ||
            e->ts_ns - c->ch.ts_ns > TD_FALLBACK_WINDOW_NS)
            continue;
        if (pair_better(k, c, e, best, false))
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

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s != NULL && s[1] != '\0' ? s + 1 : p;
}

/* cite writes how |c|'s diagnosis names connection |id| of capture |r|:
 * "connection #7" when it is |c|'s own capture (its frames are frames of
 * this file), else "connection #7 of ok.pcap" (the file's base name; the
 * path as given when the base names are the same), or "connection #7 of
 * another capture" when the file is not known (td_corr_set_source was not
 * called).  Connection ids restart at 1 in each file, so a bare "#1" from
 * another file would read as this file's.  True for |c|'s own capture: only
 * then may the record's frame and time be evidence. */
static bool cite(const struct td_corr *k, const struct td_conn *c, uint64_t id, const struct cap_ref *r, char *buf,
                 size_t len)
{
    const char *p = r->src > 0 && r->src <= k->src_n ? k->src_path[r->src - 1] : NULL;
    const char *cur = k->src_cur > 0 && k->src_cur <= k->src_n ? k->src_path[k->src_cur - 1] : NULL;

    if (r->src == k->src_cur && r->start_ns == c->capture_start_ns) {
        snprintf(buf, len, "connection #%llu", (unsigned long long)id);
        return true;
    }
    if (p == NULL) {
        snprintf(buf, len, "connection #%llu of another capture", (unsigned long long)id);
    } else if (cur != NULL && strcmp(p, cur) == 0) {
        snprintf(buf, len, "connection #%llu of the earlier reading of %.80s", (unsigned long long)id, base_name(p));
    } else {
        const char *b = base_name(p);
        if (cur != NULL && strcmp(b, base_name(cur)) == 0)
            b = p;
        snprintf(buf, len, "connection #%llu of %.120s", (unsigned long long)id, b);
    }
    return false;
}

/* the same, capitalised to begin a sentence */
static bool cite_cap(const struct td_corr *k, const struct td_conn *c, uint64_t id, const struct cap_ref *r, char *buf,
                     size_t len)
{
    bool own = cite(k, c, id, r, buf, len);
    buf[0] = 'C';
    return own;
}

static void revise_fallback(const struct td_corr *k, const struct td_conn *c, struct td_verdict *v)
{
    struct td_diagnosis *d = &v->d[0];
    uint16_t mine = ch_max_offered(c->ch.m);
    const struct pair_rec *e;
    char a[16], b[16], add[512], ref[192];
    bool own;

    e = fallback_from(k, c, mine);
    if (e != NULL) {
        double dt = (double)(c->ch.ts_ns - e->ts_ns) / 1e9;
        own = cite(k, c, e->id, &e->cap, ref, sizeof(ref));
        td_version_fmt(e->max_offered, a, sizeof(a));
        td_version_fmt(mine, b, sizeof(b));
        snprintf(add, sizeof(add),
                 " This hello is a version fallback: %.3f s earlier %s from the same client to the same server "
                 "offered %s and failed (%s); this retry offers at most %s%s.",
                 dt, ref, a, e->code ? e->code : "failed", b,
                 c->ch.m->has_fallback_scsv ? " with TLS_FALLBACK_SCSV" : "");
        append(d->explanation, sizeof(d->explanation), add);
        if (strcmp(d->code, "inappropriate_fallback") == 0)
            diag_text(d->fix, sizeof(d->fix), "Fix the first failure (%s, %s): the retry was refused because the server does support %s.",
                      ref, e->code ? e->code : "failed", a);
        if (own)
            diag_ev(d, e->frame, e->ts_ns, TD_FROM_CLIENT, "earlier attempt: connection #%llu ClientHello %s failed (%s)",
                    (unsigned long long)e->id, a, e->code ? e->code : "failed");
    }
    e = fallback_to(k, c, mine);
    if (e != NULL) {
        own = cite(k, c, e->id, &e->cap, ref, sizeof(ref));
        td_version_fmt(mine, a, sizeof(a));
        td_version_fmt(e->max_offered, b, sizeof(b));
        snprintf(add, sizeof(add), " The client then fell back: %s retried the same server offering at most %s%s%s.",
                 ref, b, e->scsv ? " with TLS_FALLBACK_SCSV" : "",
                 e->failed ? (e->code && strcmp(e->code, "inappropriate_fallback") == 0 ? ", refused as inappropriate_fallback" : ", and failed too")
                           : "");
        append(d->explanation, sizeof(d->explanation), add);
        if (own)
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

/* the control as evidence when it is a frame of |c|'s own capture; from
 * another file it is named in the text only (cite) */
static void ev_control(struct td_diagnosis *d, const struct ctl_rec *ctl, bool own, const char *what)
{
    if (own)
        diag_ev(d, ctl->frame, ctl->ts_ns, TD_FROM_CLIENT, "control: connection #%llu %s SNI %s answered",
                (unsigned long long)ctl->id, what, ctl->sni);
}

static void revise_sni(const struct td_corr *k, const struct td_conn *c, struct td_verdict *v)
{
    const struct td_client_hello *ch = c->ch.m;
    const struct ctl_rec *ctl;
    struct td_diagnosis *d;
    char old[768], ref[192], Ref[192];
    const char *p;
    bool own;

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
        own = cite(k, c, ctl->id, &ctl->cap, ref, sizeof(ref));
        cite_cap(k, c, ctl->id, &ctl->cap, Ref, sizeof(Ref));
        snprintf(old, sizeof(old), "%s", d->explanation);
        replace_primary(v, "sni_required", TD_BY_SERVER, TD_CONF_HIGH);
        diag_text(d->summary, sizeof(d->summary), "the server needs SNI: this hello had none, while %s with SNI \"%s\" got a ServerHello",
                  ref, ctl->sni);
        diag_text(d->explanation, sizeof(d->explanation), "%s %s to the same address and port, with SNI, was answered normally: the server (typically an L4 proxy routing on SNI, such as nginx stream with ssl_preread) refuses hellos without a name.",
                  old, Ref);
        diag_text(d->fix, sizeof(d->fix), "Connect by name so the client sends SNI (openssl s_client -servername NAME), or give the proxy a default route for an empty $ssl_preread_server_name.");
        ev_control(d, ctl, own, "ClientHello with");
        return;
    }
    if (strcmp(p, "reset_by_server") == 0 || strcmp(p, "middlebox_reset") == 0) {
        ctl = find_control(k, c, 1);
        if (ctl == NULL)
            return;
        bool already = strcmp(p, "middlebox_reset") == 0;
        own = cite_cap(k, c, ctl->id, &ctl->cap, Ref, sizeof(Ref));
        replace_primary(v, "middlebox_reset", TD_BY_MIDDLEBOX, already ? TD_CONF_HIGH : TD_CONF_MEDIUM);
        if (!already) {
            snprintf(old, sizeof(old), "%s", d->explanation);
            diag_text(d->summary, sizeof(d->summary), "connections with SNI \"%s\" are reset while other names to the same server pass", ch->sni);
            diag_text(d->explanation, sizeof(d->explanation), "%s %s to the same server with SNI \"%s\" got a ServerHello: the reset depends on the name, the mark of a device on the path filtering by SNI.",
                      old, Ref, ctl->sni);
            diag_text(d->fix, sizeof(d->fix), "Find the filtering device between client and server and its rule for \"%s\".", ch->sni);
        } else if (!own) {
            /* the control is no frame of this file: the text names it */
            char add[320];
            snprintf(add, sizeof(add), " %s to the same server with SNI \"%.63s\" got a ServerHello.", Ref, ctl->sni);
            append(d->explanation, sizeof(d->explanation), add);
        }
        ev_control(d, ctl, own, "with");
        return;
    }
    if (strcmp(p, "server_silent") == 0 || strcmp(p, "clienthello_lost") == 0) {
        ctl = find_control(k, c, 1);
        if (ctl == NULL)
            return;
        own = cite_cap(k, c, ctl->id, &ctl->cap, Ref, sizeof(Ref));
        snprintf(old, sizeof(old), "%s", d->explanation);
        replace_primary(v, "middlebox_drop", TD_BY_MIDDLEBOX, TD_CONF_MEDIUM);
        diag_text(d->summary, sizeof(d->summary), "ClientHellos with SNI \"%s\" vanish while other names to the same server pass", ch->sni);
        diag_text(d->explanation, sizeof(d->explanation), "%s %s to the same server with SNI \"%s\" was answered: something on the path silently drops hellos naming \"%s\".",
                  old, Ref, ctl->sni, ch->sni);
        diag_text(d->fix, sizeof(d->fix), "Find the filtering device between client and server and its rule for \"%s\".", ch->sni);
        ev_control(d, ctl, own, "with");
    }
}
