/* shard.c: `read -j N` of a capture file, as N independent engines
 * (par.h, td_shards).
 *
 * Why not par.c's design here: tlsdiag does only ~180 ns of work per
 * packet, and about a quarter of it (framing, decoding, the flow lookup) is
 * common to all flows.  A reader thread that decodes and looks up every
 * packet and ships it to a worker spends about what it spreads (bench/
 * PROFILE.md).  Here nothing crosses cores per packet: every worker reads
 * the file itself (its own td_reader: the page cache serves the second
 * read; mapping the file instead cost more in page faults than the copy;
 * sharing one framing, or one read, among the workers cost more in
 * cross-core traffic than it saved: PROFILE.md, tenth session), frames and
 * decodes every packet, and hands it to its own engine, which builds only
 * the flows of its shard (td_engine_shard: an unkeyed hash of the 5-tuple)
 * and only notes the time of the others.  Because expiry judges each flow
 * alone against the capture clock (flowtab.h), each shard ends its flows
 * at the packet where one engine would.
 *
 * What ties the shards together crosses cores per connection, in batches
 * every PUBLISH_EVERY packets, under one mutex:
 * - ids.  One engine numbers connections in order of first packet.  A
 *   shard cannot: it does not see the others' flows.  So each worker hands
 *   over the first frame of each new connection, and the delivering side
 *   merges those lists in frame order, below every worker's creation mark
 *   (all its creations up to that frame are handed over), numbering them
 *   into a table (first frame -> id) that holds the connections not yet
 *   delivered.  A worker judges and renders a connection when it ends,
 *   with id 0; its result carries the first frame, and the delivering
 *   side looks the id up (it is always there: a connection ends after
 *   it begins) and gives it to |deliver| in the result (r->id), which
 *   puts it in place of the 0.
 * - order.  Each result carries where its connection ended (end_frame,
 *   end_phase, last_frame: engine_int.h); the delivering side merges the
 *   workers' results in that order, below every worker's result mark.
 *   What it delivers is then exactly the sequence one engine would have
 *   produced, and cmd_read batches it the same way.
 *
 * Who delivers: the workers themselves, one at a time (dmu), and by
 * preference the one that is ahead.  Only results below the lowest mark
 * can be delivered, so it is the worker behind that makes them
 * deliverable; the one ahead delivers them after each of its hand-overs,
 * which slows it down until it is the one behind, and then the other
 * delivers.  Through the eighth session a thread of its own delivered: a
 * third busy thread on two cores, which cost more in cross-core traffic,
 * wake-ups and preemption than the delivering itself (bench/PROFILE.md);
 * and earlier the workers delivered in turn, which put the delivering on
 * the worker behind and kept it behind.
 *
 * Bounds: a worker with more than PEND_HIGH of its results not yet
 * delivered delivers what it can, and waits for another's hand-over while
 * that is not enough.  That cannot hold up the worker the others wait for:
 * the one with the lowest mark has handed over every result up to its
 * mark, which every other worker has passed, so it can deliver all of
 * them itself.  A worker that waits is woken by every later hand-over
 * (pub_seq says whether one came while it delivered), and a worker that
 * has read everything delivers what is left once all have.  The id table
 * holds the connections begun and not yet delivered: open flows (bounded
 * by --max-flows and --max-memory) and results in flight. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "tlsdiag/par.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "timeline/engine_int.h"
#include "tlsdiag/alloc.h"
#include "util/cputime.h"

#define PAD 128u
#define PUBLISH_EVERY 512u /* packets between a worker's hand-overs */
#ifndef TD_SHARD_PEND_HIGH /* -DTD_SHARD_PEND_HIGH=2: the waits, tested (tests/jobs.sh) */
#define TD_SHARD_PEND_HIGH 2048u
#endif
#define PEND_HIGH TD_SHARD_PEND_HIGH /* a worker's results not yet delivered */

/* a queue of first frames of new connections: appended at n, taken from head */
struct crev {
    uint64_t *v;
    size_t head, n, cap;
};

/* first frame -> id of the connections begun and not yet delivered: open
 * addressing, linear probing, backward-shift deletion; frame 0 is empty */
struct idtab {
    struct idslot {
        uint64_t frame, id;
    } *s;
    size_t mask, n;
};

struct rq {
    struct td_par_res *head, *tail;
    size_t n;
};

struct sworker {
    struct td_shards *s;
    unsigned idx;
    pthread_t th;
    bool started;
    struct td_engine *e;
    void *wctx;
    char pad0[PAD];
    /* under s->mu */
    struct crev cre_sh; /* creations handed over */
    struct rq res_sh;   /* results handed over */
    uint64_t mark;      /* every creation and every end up to this frame is handed over */
    size_t pending;     /* results handed over, not yet delivered */
    bool done;          /* the last hand-over is made */
    bool waits;         /* in pend_wait */
    pthread_cond_t cv;
    uint64_t p_off, p_packets, p_flows; /* progress */
    char pad1[PAD];
    /* worker only (rc, err, cpu_s read after the join) */
    struct crev cre_lo;
    struct rq res_lo;
    int rc;
    struct td_input_error err;
    double cpu_s;
    uint64_t packets;
    char pad2[PAD];
    /* the delivering side only (under dmu) */
    struct crev cre_d;
    struct rq res_d;
    size_t delivered; /* since it last took the mutex */
    char pad3[PAD];
};

struct td_shards {
    unsigned n;
    char *path;
    uint64_t size; /* the file's size when opened: what every worker reads */
    struct td_shard_hooks hooks;
    td_par_work_fn work;
    td_par_deliver_fn deliver;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t endcv; /* td_shards_wait waits here */
    bool go, abort; /* under mu: every thread is up / one could not start */
    bool finished; /* under mu: every result delivered */
    unsigned nwaiting; /* under mu: workers waiting for results to be delivered */
    unsigned ndone;    /* under mu: workers whose last hand-over is made */
    uint64_t pub_seq;  /* under mu: hand-overs so far */
    bool joined;
    /* the delivering side: whichever worker holds dmu (taken before mu) */
    pthread_mutex_t dmu;
    uint64_t next_id;
    struct idtab ids;
    struct sworker w[TD_PAR_MAX];
};

/* ---- small queues ---- */

/* room for |want| more elements of |size| in *|v| (capacity *|cap|);
 * waits for memory rather than lose a connection */
static void reserve(void **v, size_t *cap, size_t n, size_t want, size_t size)
{
    size_t ncap;
    void *nv;

    if (n + want <= *cap)
        return;
    ncap = *cap != 0 ? *cap : 256;
    while (ncap < n + want)
        ncap *= 2;
    while ((nv = td_realloc(*v, ncap * size)) == NULL) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    *v = nv;
    *cap = ncap;
}

static void crev_compact(struct crev *q)
{
    if (q->head == 0)
        return;
    memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof(q->v[0]));
    q->n -= q->head;
    q->head = 0;
}

static void crev_push(struct crev *q, uint64_t frame)
{
    void *v = q->v;
    if (q->n == q->cap && q->head > q->cap / 2)
        crev_compact(q);
    reserve(&v, &q->cap, q->n, 1, sizeof(q->v[0]));
    q->v = v;
    q->v[q->n++] = frame;
}

/* moves all of |from| to the end of |to| */
static void crev_move(struct crev *to, struct crev *from)
{
    size_t k = from->n - from->head;
    void *v;

    if (k == 0)
        return;
    crev_compact(to);
    v = to->v;
    reserve(&v, &to->cap, to->n, k, sizeof(to->v[0]));
    to->v = v;
    memcpy(to->v + to->n, from->v + from->head, k * sizeof(to->v[0]));
    to->n += k;
    from->head = from->n = 0;
}

static void rq_push(struct rq *q, struct td_par_res *r)
{
    r->next = NULL;
    if (q->tail != NULL)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->n++;
}

static void rq_move(struct rq *to, struct rq *from)
{
    if (from->head == NULL)
        return;
    if (to->tail != NULL)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    to->n += from->n;
    from->head = from->tail = NULL;
    from->n = 0;
}

/* ---- worker side ---- */

static void on_new(void *ctx, struct td_conn *c)
{
    struct sworker *w = ctx;
    crev_push(&w->cre_lo, c->first_frame);
}

/* a connection ended: judged and rendered now, with id 0 (see the top) */
static void on_done(void *ctx, struct td_conn *c)
{
    struct sworker *w = ctx;
    uint64_t ef = c->end_frame, lf = c->last_frame, ff = c->first_frame;
    uint8_t ph = c->end_phase;
    struct td_par_res *r = w->s->work(w->wctx, c); /* may free c */

    r->end_frame = ef;
    r->end_phase = ph;
    r->last_frame = lf;
    r->first_frame = ff;
    r->empty = false;
    rq_push(&w->res_lo, r);
}

static uint64_t deliver_ready(struct td_shards *s);
static void pend_wait(struct sworker *w);

/* publish hands over what the worker made since the last time; |frame| is
 * the last packet it has read (UINT64_MAX: all, and flushed).  Then the
 * worker delivers: what it can when it is ahead of another (if no one else
 * is delivering), what it must while too many of its results are not yet
 * delivered, and all that is left after its last hand-over (see the top). */
static void publish(struct sworker *w, uint64_t frame, uint64_t off, bool final)
{
    struct td_shards *s = w->s;
    bool ahead = false;
    size_t pend;

    pthread_mutex_lock(&s->mu);
    w->p_off = off;
    crev_move(&w->cre_sh, &w->cre_lo);
    w->pending += w->res_lo.n;
    rq_move(&w->res_sh, &w->res_lo);
    w->mark = frame;
    w->p_packets = w->packets;
    {
        struct td_stats st;
        td_engine_stats(w->e, &st);
        w->p_flows = st.flows;
    }
    if (final) {
        w->done = true;
        s->ndone++;
    }
    s->pub_seq++;
    for (unsigned i = 0; i < s->n && s->nwaiting > 0; i++)
        if (s->w[i].waits)
            pthread_cond_signal(&s->w[i].cv);
    for (unsigned i = 0; i < s->n; i++)
        if (&s->w[i] != w && (s->w[i].mark < w->mark || s->w[i].done))
            ahead = true;
    pend = w->pending;
    pthread_mutex_unlock(&s->mu);
    if (final) {
        pthread_mutex_lock(&s->dmu);
        deliver_ready(s);
        pthread_mutex_unlock(&s->dmu);
    } else if (pend > PEND_HIGH) {
        pend_wait(w);
    } else if (ahead && pthread_mutex_trylock(&s->dmu) == 0) {
        deliver_ready(s);
        pthread_mutex_unlock(&s->dmu);
    }
}

/* pend_wait: |w| has too many results not yet delivered.  It delivers
 * what can be, and while that is not enough waits for another worker's
 * hand-over, which can make more deliverable. */
static void pend_wait(struct sworker *w)
{
    struct td_shards *s = w->s;

    for (;;) {
        uint64_t seq;
        pthread_mutex_lock(&s->dmu);
        seq = deliver_ready(s);
        pthread_mutex_unlock(&s->dmu);
        pthread_mutex_lock(&s->mu);
        if (w->pending <= PEND_HIGH) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        if (s->pub_seq == seq) { /* nothing handed over since deliver looked */
            w->waits = true;
            s->nwaiting++;
            pthread_cond_wait(&w->cv, &s->mu);
            s->nwaiting--;
            w->waits = false;
        }
        pthread_mutex_unlock(&s->mu);
    }
}

/* started_all waits until td_shards_new has started every thread: false
 * if one could not be (then nothing is read) */
static bool started_all(struct td_shards *s, pthread_cond_t *cv)
{
    bool go;

    pthread_mutex_lock(&s->mu);
    while (!s->go && !s->abort)
        pthread_cond_wait(cv, &s->mu);
    go = s->go;
    pthread_mutex_unlock(&s->mu);
    return go;
}

/* release_all lets the threads waiting in started_all go on: to read
 * (|go|), or to end without reading */
static void release_all(struct td_shards *s, bool go)
{
    pthread_mutex_lock(&s->mu);
    if (go)
        s->go = true;
    else
        s->abort = true;
    for (unsigned i = 0; i < s->n; i++)
        pthread_cond_signal(&s->w[i].cv);
    pthread_mutex_unlock(&s->mu);
}

static void *worker_main(void *arg)
{
    struct sworker *w = arg;
    struct td_shards *s = w->s;
    struct td_input_error err;
    char name[16];
    struct td_reader *rd = td_reader_open(s->path, &err);
    struct td_pkt pkt;
    uint64_t last = 0;
    unsigned k = 0;

    snprintf(name, sizeof(name), "tlsdiag-w%u", w->idx);
    pthread_setname_np(pthread_self(), name); /* top -H, perf */
    if (!started_all(s, &w->cv)) {
        td_reader_close(rd);
        return NULL;
    }
    if (rd == NULL) {
        w->rc = -1;
        w->err = err;
    } else {
        /* a worker the hook is a no-op for does not call it for every packet */
        bool hook = s->hooks.start == NULL || s->hooks.start(w->wctx, rd, w->e);
        hook = hook && s->hooks.packet != NULL;
        while ((w->rc = td_reader_next(rd, &pkt)) == 1) {
            /* a capture still being written: every worker stops where the
             * file ended when the read began, so all see the same packets */
            if (s->size != 0 && td_reader_offset(rd) > s->size) {
                w->rc = 0;
                break;
            }
            w->packets++;
            last = pkt.frame;
            if (!hook || s->hooks.packet(w->wctx, &pkt))
                td_engine_packet(w->e, &pkt);
            if (++k == PUBLISH_EVERY) {
                k = 0;
                publish(w, last, td_reader_offset(rd), false);
            }
        }
        if (w->rc < 0)
            w->err = *td_reader_error(rd);
        td_reader_close(rd);
    }
    td_engine_flush(w->e);
    publish(w, UINT64_MAX, w->p_off, true);
    w->cpu_s = td_thread_cpu_s();
    return NULL;
}

/* ---- the delivering side (a worker holding dmu) ---- */

static bool key_less(const struct td_par_res *a, const struct td_par_res *b)
{
    if (a->end_frame != b->end_frame)
        return a->end_frame < b->end_frame;
    if (a->end_phase != b->end_phase)
        return a->end_phase < b->end_phase;
    return a->last_frame < b->last_frame;
}

static uint64_t frame_hash(uint64_t f) { return (f * 0x9e3779b97f4a7c15ull) >> 17; }

static void ids_put(struct idtab *t, uint64_t frame, uint64_t id)
{
    size_t i;

    if ((t->n + 1) * 2 > t->mask + 1) { /* load at most 1/2 */
        struct idtab g;
        size_t cap = (t->mask + 1) * 2;
        g.n = 0;
        g.mask = cap - 1;
        while ((g.s = td_calloc(cap, sizeof(g.s[0]))) == NULL) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        for (size_t k = 0; k <= t->mask && t->s != NULL; k++)
            if (t->s[k].frame != 0)
                ids_put(&g, t->s[k].frame, t->s[k].id);
        free(t->s);
        *t = g;
    }
    for (i = frame_hash(frame) & t->mask; t->s[i].frame != 0; i = (i + 1) & t->mask) {
    }
    t->s[i].frame = frame;
    t->s[i].id = id;
    t->n++;
}

/* ids_take: the id of the connection begun at |frame|, removed */
static uint64_t ids_take(struct idtab *t, uint64_t frame)
{
    size_t i, j;
    uint64_t id;

    if (t->s == NULL)
        return 0;
    for (i = frame_hash(frame) & t->mask; t->s[i].frame != frame; i = (i + 1) & t->mask)
        if (t->s[i].frame == 0)
            return 0; /* cannot happen: begun before it ended */
    id = t->s[i].id;
    /* backward shift: no tombstones, so lookups stay short */
    for (j = (i + 1) & t->mask; t->s[j].frame != 0; j = (j + 1) & t->mask) {
        size_t home = frame_hash(t->s[j].frame) & t->mask;
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->s[i] = t->s[j];
            i = j;
        }
    }
    t->s[i].frame = 0;
    t->n--;
    return id;
}

/* ids for every creation up to the lowest mark, in frame order (a frame
 * begins at most one connection) */
static void assign_ids(struct td_shards *s, uint64_t min_c)
{
    for (;;) {
        struct crev *best = NULL;
        for (unsigned i = 0; i < s->n; i++) {
            struct crev *q = &s->w[i].cre_d;
            if (q->head < q->n && q->v[q->head] <= min_c && (best == NULL || q->v[q->head] < best->v[best->head]))
                best = q;
        }
        if (best == NULL)
            break;
        ids_put(&s->ids, best->v[best->head++], ++s->next_id);
    }
}

/* the next result in end order, if every worker is past it */
static struct sworker *next_result(struct td_shards *s, uint64_t min_r)
{
    struct sworker *best = NULL;

    for (unsigned i = 0; i < s->n; i++) {
        struct td_par_res *h = s->w[i].res_d.head;
        if (h != NULL && h->end_frame <= min_r && (best == NULL || key_less(h, best->res_d.head)))
            best = &s->w[i];
    }
    return best;
}

/* deliver_ready: with dmu held, delivers every result that can be, in order:
 * those that ended up to the lowest mark, after giving ids to every
 * creation up to it.  Returns the count of hand-overs it saw (pub_seq). */
static uint64_t deliver_ready(struct td_shards *s)
{
    uint64_t min = UINT64_MAX, seq;
    bool all_done;
    struct sworker *w;

    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < s->n; i++) {
        struct sworker *x = &s->w[i];
        crev_move(&x->cre_d, &x->cre_sh);
        rq_move(&x->res_d, &x->res_sh);
        if (x->mark < min)
            min = x->mark;
    }
    all_done = s->ndone == s->n; /* then min is UINT64_MAX: everything */
    seq = s->pub_seq;
    pthread_mutex_unlock(&s->mu);
    assign_ids(s, min);
    while ((w = next_result(s, min)) != NULL) {
        struct td_par_res *r = w->res_d.head;
        w->res_d.head = r->next;
        if (w->res_d.head == NULL)
            w->res_d.tail = NULL;
#if defined(__GNUC__)
        else /* perhaps written on another core: its line while this one is delivered */
            __builtin_prefetch(w->res_d.head);
#endif
        w->res_d.n--;
        r->next = NULL;
        r->id = ids_take(&s->ids, r->first_frame);
        w->delivered++;
        s->deliver(s->ctx, r);
    }
    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < s->n; i++) {
        struct sworker *x = &s->w[i];
        x->pending -= x->delivered;
        if (x->delivered > 0 && x->waits)
            pthread_cond_signal(&x->cv);
        x->delivered = 0;
    }
    if (all_done && !s->finished) {
        s->finished = true;
        pthread_cond_broadcast(&s->endcv);
    }
    pthread_mutex_unlock(&s->mu);
    return seq;
}

/* ---- lifecycle ---- */

unsigned td_par_jobs_max(const struct td_limits *l)
{
    struct td_limits d;
    if (l == NULL) {
        td_limits_default(&d);
        l = &d;
    }
    return td_limits_parts(l);
}

struct td_shards *td_shards_new(unsigned n, const struct td_limits *l, const char *path,
                                const struct td_shard_hooks *hooks, td_par_work_fn work, void *const *wctx,
                                td_par_deliver_fn deliver, void *ctx)
{
    struct td_shards *s;

    if (n == 0 || n > TD_PAR_MAX)
        return NULL;
    s = td_calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->n = n;
    s->path = strdup(path);
    if (s->path == NULL) {
        free(s);
        return NULL;
    }
    {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
            s->size = (uint64_t)sb.st_size;
    }
    if (hooks != NULL)
        s->hooks = *hooks;
    s->work = work;
    s->deliver = deliver;
    s->ctx = ctx;
    /* every engine holds the whole caps (NULL: the defaults): they are
     * kept per partition (flowtab.h), and an engine holds only its
     * shard's partitions */
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->dmu, NULL);
    pthread_cond_init(&s->endcv, NULL);
    for (unsigned i = 0; i < n; i++) {
        struct sworker *w = &s->w[i];
        w->s = s;
        w->idx = i;
        w->wctx = wctx[i];
        pthread_cond_init(&w->cv, NULL);
    }
    for (unsigned i = 0; i < n; i++) {
        struct sworker *w = &s->w[i];
        w->e = td_engine_new(l, on_done, w);
        if (w->e == NULL)
            goto fail;
        td_engine_shard(w->e, i, n, on_new, w);
    }
    /* the threads wait for |go|: if one cannot be started, none reads */
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&s->w[i].th, NULL, worker_main, &s->w[i]) != 0)
            goto fail;
        s->w[i].started = true;
    }
    release_all(s, true);
    return s;
fail:
    release_all(s, false);
    for (unsigned i = 0; i < n; i++)
        if (s->w[i].started)
            pthread_join(s->w[i].th, NULL);
    s->joined = true;
    td_shards_free(s);
    return NULL;
}

bool td_shards_wait(struct td_shards *s, double timeout_s)
{
    struct timespec until;
    bool fin;

    if (s->joined)
        return true;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_s;
    until.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    if (!s->finished)
        pthread_cond_timedwait(&s->endcv, &s->mu, &until);
    fin = s->finished;
    pthread_mutex_unlock(&s->mu);
    if (!fin)
        return false;
    for (unsigned i = 0; i < s->n; i++) {
        pthread_join(s->w[i].th, NULL);
        s->w[i].started = false;
    }
    s->joined = true;
    return true;
}

void td_shards_progress(struct td_shards *s, uint64_t *off, uint64_t *packets, uint64_t *flows)
{
    pthread_mutex_lock(&s->mu);
    *off = s->w[0].p_off;
    *packets = s->w[0].p_packets;
    *flows = 0;
    for (unsigned i = 0; i < s->n; i++)
        *flows += s->w[i].p_flows;
    pthread_mutex_unlock(&s->mu);
}

int td_shards_result(const struct td_shards *s, struct td_input_error *err)
{
    const struct sworker *bad = NULL;

    /* they read the same bytes, so they fail at the same place; should one
     * fail alone (a read error of its own), it is said all the same */
    for (unsigned i = 0; i < s->n; i++)
        if (s->w[i].rc < 0 && (bad == NULL || s->w[i].err.off < bad->err.off))
            bad = &s->w[i];
    if (bad != NULL && err != NULL)
        *err = bad->err;
    return bad != NULL ? -1 : 0;
}

void td_shards_stats(const struct td_shards *s, struct td_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < s->n; i++) {
        struct td_stats x;
        td_engine_stats(s->w[i].e, &x);
        st->packets += x.packets; /* each packet in one shard's */
        st->bytes += x.bytes;
        st->tcp_packets += x.tcp_packets;
        st->non_tcp += x.non_tcp;
        st->fragments += x.fragments;
        st->malformed += x.malformed;
        st->unknown_link += x.unknown_link;
        st->flows += x.flows;
        st->tls_flows += x.tls_flows;
        st->evicted += x.evicted;
        st->evicted_memory += x.evicted_memory;
        st->peak_memory += x.peak_memory; /* an upper bound: peaks of the shares */
        st->limit_hits += x.limit_hits;
        st->open_flows += x.open_flows;
        st->peak_flows += x.peak_flows; /* likewise */
    }
}

double td_shards_worker_cpu(const struct td_shards *s, unsigned i) { return i < s->n ? s->w[i].cpu_s : 0.0; }

void td_shards_free(struct td_shards *s)
{
    if (s == NULL)
        return;
    if (!s->joined) /* the threads end only at the end of the input */
        while (!td_shards_wait(s, 1.0)) {
        }
    for (unsigned i = 0; i < s->n; i++) {
        struct sworker *w = &s->w[i];
        td_engine_free(w->e);
        free(w->cre_lo.v);
        free(w->cre_sh.v);
        free(w->cre_d.v);
        pthread_cond_destroy(&w->cv);
    }
    pthread_cond_destroy(&s->endcv);
    pthread_mutex_destroy(&s->dmu);
    pthread_mutex_destroy(&s->mu);
    free(s->ids.s);
    free(s->path);
    free(s);
}
