/* shard.c: `read -j N` of a capture file, as N engines that each build
 * whole partitions of the flows (par.h, td_shards).
 *
 * Why not par.c's design here: tlsdiag does only ~150 ns of work per
 * packet, and a reader thread that decodes every packet, looks its flow up
 * in a directory and ships the whole decoded packet to a worker spends
 * about what it spreads (bench/PROFILE.md).  Here the split is by
 * partition of the flows (an unkeyed hash of the endpoints, flowtab.h),
 * each engine is an ordinary td_engine that builds only its partitions
 * (td_engine_shard) and sees the time of every packet, and the engines
 * share one read of the file:
 * - the leader (worker 0) reads and frames the capture, tells each
 *   packet's owner from its endpoints (td_engine_owner: fixed offsets, no
 *   lookup), runs its own packets through its engine, and puts the
 *   others' in its followers' message buffers: a packet of a follower's
 *   partitions as a td_pkt whose bytes stay in the leader's read buffer
 *   (zero copy: the buffer is released after the last follower read it),
 *   and for the others only a tick, and only when the packet moves the
 *   capture clock: expiry judges each flow alone against that clock
 *   (flowtab.h), so a packet that does not move it ends nothing, and each
 *   engine ends its flows at the packet where one engine would.
 * - the followers read their messages, in order.
 * Until the seventh session every worker read the whole file itself: no
 * messages, but each paid a read() of the whole file (the kernel's copy,
 * ~0.3 s per 5 GB) and the framing and classifying of every packet, and
 * that overhead kept -j 2 at ~1.45x of -j 1 for a summary-only read.
 * The leader takes fewer partitions than the others for its extra work
 * (td_shard_owners).
 *
 * What ties the engines together crosses cores per connection, in batches,
 * under one mutex:
 * - ids.  One engine numbers connections in order of first packet.  A
 *   shard cannot: it does not see the others' flows.  So each worker hands
 *   over the first frame of each new connection, and the delivering side
 *   merges those lists in frame order, below every worker's creation mark
 *   (all its creations up to that frame are handed over), numbering them
 *   into a table (first frame -> id) that holds the connections not yet
 *   delivered.  A worker judges and renders a connection when it ends,
 *   with id 0; its result carries the first frame, and the delivering
 *   side looks the id up (it is always there: a connection ends after it
 *   begins) and gives it to |deliver| in the result (r->id), which puts
 *   it in place of the 0.
 * - order.  Each result carries where its connection ended (end_frame,
 *   end_phase, last_frame: engine_int.h); the delivering side merges the
 *   workers' results in that order, below every worker's result mark.
 *   What it delivers is then exactly the sequence one engine would have
 *   produced, and cmd_read batches it the same way.
 * The delivering is done by follower 1 between its message buffers (with
 * N = 1, by a thread of its own): with a third thread on two cores, the
 * threads of a pipeline lost more to waiting on each other than the
 * delivering costs (bench/PROFILE.md).
 *
 * Bounds and waits: the leader's read buffers (RB_MAX) and each
 * follower's message buffers (NMSG) are a fixed pool; a worker waits while
 * more than PEND_HIGH of its results are not yet delivered (not the
 * delivering follower).  Before the leader waits for anything it hands
 * every follower all it has put and hands over its own results up to the
 * last packet it has given to every engine (lead_sync_locked), and a
 * follower that waits for messages has handed over all it made.  Then the
 * result the delivering side needs next is always made or on its way: the
 * worker with the lowest mark has handed over every result up to its mark,
 * which the others have passed; an idle follower's mark follows the
 * leader's (hand_over_locked).  So every wait ends.  The id table holds
 * the connections begun and not yet delivered: open flows (bounded by
 * --max-flows and --max-memory) and results in flight. */
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
#define PUBLISH_EVERY 512u /* packets between the leader's hand-overs */
#define PEND_HIGH 2048u    /* a worker's results not yet delivered */
#define WAKE_EVERY 256u    /* results handed over before the delivering thread is woken */
#define MSG_SIZE (64u * 1024u) /* a message buffer */
#define NMSG 8u               /* message buffers per follower */
#define RB_SIZE (1024u * 1024u) /* read buffer: the reader's gzread size */
#define RB_MAX 4u             /* pooled read buffers */
#define MB_REL 8u
               /* read buffers a message buffer releases */

/* ---- messages from the leader to a follower ---- */

enum { SM_PKT = 1, SM_TICK, SM_SECRETS };
struct sm_hdr {
    uint32_t type;
    uint32_t size; /* whole message, a multiple of 8 */
};
struct sm_pkt { /* a packet of the follower's partitions: its bytes in a read buffer */
    struct sm_hdr h;
    struct td_pkt pkt;
};
struct sm_tick { /* another's packet that moved the capture clock */
    struct sm_hdr h;
    uint64_t frame;
    int64_t ts_ns;
};
struct sm_secrets { /* a pcapng secrets block: the follower's own copy */
    struct sm_hdr h;
    uint32_t stype, pad;
    size_t len;
    uint8_t *data;
};

/* a read buffer lent to the leader's td_reader */
struct rbuf {
    uint8_t *data;
    size_t cap;
    unsigned refs;     /* followers yet to read it (under mu) */
    bool pooled;       /* one of rb[]; else freed when released */
    struct rbuf *next; /* free list */
};

/* a buffer of messages, cycling between the leader and one follower */
struct mbuf {
    uint8_t *data;
    size_t len;
    uint64_t mark; /* the messages of every packet up to this frame are here or before */
    bool last;     /* the leader's reading ended */
    unsigned nrel;
    struct rbuf *rel[MB_REL]; /* read buffers released after the messages */
    struct mbuf *next;
};

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
    struct mbuf mb[NMSG]; /* a follower's */
    char pad0[PAD];
    /* under s->mu */
    struct crev cre_sh; /* creations handed over */
    struct rq res_sh;   /* results handed over */
    uint64_t mark;      /* every creation and every end up to this frame is handed over */
    size_t pending;     /* results handed over, not yet delivered */
    size_t unwoken;     /* results handed over since the delivering thread was last woken */
    bool done;          /* the last hand-over is made */
    bool waits;         /* in publish, for results to be delivered */
    bool idle;          /* a follower waiting for messages, all it had read */
    struct mbuf *full_h, *full_t; /* a follower's messages to read */
    struct mbuf *free_mb;         /* its message buffers the leader may fill */
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
    /* the leader only, for this follower */
    struct mbuf *cur; /* being filled */
    bool uses_rb;     /* was sent packets out of the reader's current buffer */
    char pad3[PAD];
    /* delivering thread only */
    struct crev cre_d;
    struct rq res_d;
    size_t delivered; /* since it last took the mutex */
    char pad4[PAD];
};

struct td_shards {
    unsigned n;
    char *path;
    uint64_t size; /* the file's size when opened: what the leader reads */
    struct td_shard_hooks hooks;
    td_par_work_fn work;
    td_par_deliver_fn deliver;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t dcv;   /* the delivering thread waits here */
    pthread_cond_t endcv; /* td_shards_wait waits here */
    pthread_cond_t lcv;   /* the leader waits here: a free buffer */
    pthread_cond_t *dcvp; /* the deliverer waits here: dcv, or the inline deliverer's cv */
    struct sworker *inline_d; /* the follower that delivers, or NULL: a thread of its own */
    pthread_t dth;
    bool dth_started;
    bool go, abort; /* under mu: every thread is up / one could not start */
    bool finished; /* under mu: every result delivered */
    bool dwaits;   /* under mu: the delivering thread waits for work */
    unsigned nwaiting; /* under mu: workers waiting for results to be delivered */
    bool joined;
    char pad0[PAD];
    /* the leader only */
    uint64_t ldone;   /* every packet up to this frame is given to its engines */
    int64_t lmax;     /* the capture clock: the latest time read */
    bool lstarted;
    struct rbuf rb[RB_MAX];
    unsigned rb_n;        /* rb[] allocated so far */
    struct rbuf *rb_free; /* under mu */
    struct rbuf *rb_cur;  /* the one the reader reads into */
    struct rbuf *rb_next; /* given by rb_get, current after rb_put */
    struct rbuf rb_first; /* the reader's own first buffer */
    char pad1[PAD];
    uint64_t next_id; /* delivering thread */
    struct idtab ids; /* delivering thread */
    double dcpu_s;
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

/* ---- every worker ---- */

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

/* publish_locked hands over what the worker made since the last time, up
 * to |frame| (UINT64_MAX: all, and flushed).  It waits while too many of
 * its results are not yet delivered. */
static void publish_locked(struct sworker *w, uint64_t frame, bool final)
{
    struct td_shards *s = w->s;

    crev_move(&w->cre_sh, &w->cre_lo);
    w->pending += w->res_lo.n;
    w->unwoken += w->res_lo.n;
    rq_move(&w->res_sh, &w->res_lo);
    w->mark = frame;
    {
        struct td_stats st;
        td_engine_stats(w->e, &st);
        w->p_flows = st.flows;
    }
    if (final)
        w->done = true;
    /* wake the delivering thread for a batch, not for every hand-over;
     * at once when a worker waits for it */
    if (s->dwaits && (final || w->unwoken >= WAKE_EVERY || w->pending > PEND_HIGH || s->nwaiting > 0)) {
        w->unwoken = 0;
        pthread_cond_signal(s->dcvp);
    }
    while (w->pending > PEND_HIGH && !final && w != s->inline_d) {
        w->waits = true;
        s->nwaiting++;
        pthread_cond_wait(&w->cv, &s->mu);
        s->nwaiting--;
        w->waits = false;
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
    pthread_cond_signal(&s->dcv);
    for (unsigned i = 0; i < s->n; i++)
        pthread_cond_signal(&s->w[i].cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- the leader: worker 0 reads for all ---- */

/* hand_over_locked gives the followers the messages the leader has put,
 * up to the packets it has given to every engine (s->ldone).  A follower
 * that waits with nothing left to read has seen all it needs of those
 * packets: its mark moves with the leader's. */
static void hand_over_locked(struct td_shards *s, bool last)
{
    for (unsigned i = 1; i < s->n; i++) {
        struct sworker *f = &s->w[i];
        struct mbuf *m = f->cur;
        if (m == NULL || (m->len == 0 && m->nrel == 0 && !last)) {
            if (f->idle && f->full_h == NULL && s->ldone > f->mark && f->mark != UINT64_MAX) {
                f->mark = s->ldone;
                if (s->dwaits)
                    pthread_cond_signal(s->dcvp);
            }
            continue;
        }
        m->mark = s->ldone;
        m->last = last;
        m->next = NULL;
        if (f->full_t != NULL)
            f->full_t->next = m;
        else
            f->full_h = m;
        f->full_t = m;
        f->cur = NULL;
        if (f->idle)
            pthread_cond_signal(&f->cv);
    }
}

/* lead_sync hands everything over before the leader waits for anything:
 * then every follower can read all it is owed and every result made up to
 * s->ldone can be delivered, so whatever it waits for comes (see the top) */
static void lead_sync_locked(struct td_shards *s)
{
    struct sworker *w = &s->w[0];

    hand_over_locked(s, false);
    crev_move(&w->cre_sh, &w->cre_lo);
    w->pending += w->res_lo.n;
    rq_move(&w->res_sh, &w->res_lo);
    w->mark = s->ldone;
    if (s->dwaits)
        pthread_cond_signal(s->dcvp);
}

/* cur_buf: follower |i|'s buffer the leader fills, with room for |size|
 * more bytes: the current one, or a free one, waited for */
static struct mbuf *cur_buf(struct td_shards *s, unsigned i, size_t size)
{
    struct sworker *f = &s->w[i];
    struct mbuf *m = f->cur;

    if (m != NULL && m->len + size > MSG_SIZE) {
        pthread_mutex_lock(&s->mu);
        hand_over_locked(s, false); /* full: the follower has it all */
        pthread_mutex_unlock(&s->mu);
        m = NULL;
    }
    if (m == NULL) {
        pthread_mutex_lock(&s->mu);
        if (f->free_mb == NULL) {
            lead_sync_locked(s);
            while (f->free_mb == NULL)
                pthread_cond_wait(&s->lcv, &s->mu);
        }
        m = f->free_mb;
        f->free_mb = m->next;
        pthread_mutex_unlock(&s->mu);
        m->len = 0;
        m->nrel = 0;
        m->last = false;
        f->cur = m;
    }
    return m;
}

/* put: room for a message of |size| bytes (a multiple of 8) to follower |i| */
static uint8_t *put(struct td_shards *s, unsigned i, uint32_t type, size_t size)
{
    struct mbuf *m = cur_buf(s, i, size);
    struct sm_hdr h;
    uint8_t *p = m->data + m->len;

    m->len += size;
    h.type = type;
    h.size = (uint32_t)size;
    memcpy(p, &h, sizeof(h));
    return p;
}

static void rb_release_locked(struct td_shards *s, struct rbuf *b)
{
    if (b->pooled) {
        b->next = s->rb_free;
        s->rb_free = b;
    } else {
        free(b->data);
        b->data = NULL;
        if (b != &s->rb_first)
            free(b);
    }
}

static uint8_t *rb_get(void *ctx, size_t min, size_t *cap)
{
    struct td_shards *s = ctx;
    struct rbuf *b = NULL;

    if (min > RB_SIZE) { /* a block larger than a buffer: one of its own */
        b = td_calloc(1, sizeof(*b));
        if (b == NULL || (b->data = td_malloc(min)) == NULL) {
            free(b);
            return NULL;
        }
        b->cap = min;
    } else {
        pthread_mutex_lock(&s->mu);
        b = s->rb_free;
        if (b != NULL)
            s->rb_free = b->next;
        pthread_mutex_unlock(&s->mu);
        if (b == NULL && s->rb_n < RB_MAX) {
            struct rbuf *nb = &s->rb[s->rb_n];
            nb->data = td_malloc(RB_SIZE);
            if (nb->data != NULL) {
                nb->cap = RB_SIZE;
                nb->pooled = true;
                s->rb_n++;
                b = nb;
            }
        }
        if (b == NULL) {
            if (s->rb_n == 0)
                return NULL; /* none could be allocated */
            /* all lent: hand the followers what they hold (with their
             * releases) and wait for one to come back */
            pthread_mutex_lock(&s->mu);
            lead_sync_locked(s);
            while (s->rb_free == NULL)
                pthread_cond_wait(&s->lcv, &s->mu);
            b = s->rb_free;
            s->rb_free = b->next;
            pthread_mutex_unlock(&s->mu);
        }
    }
    b->refs = 0;
    b->next = NULL;
    s->rb_next = b;
    *cap = b->cap;
    return b->data;
}

/* the reader is done with |data| (the buffer it read into until now):
 * each follower sent packets out of it releases it after them */
static void rb_put(void *ctx, uint8_t *data)
{
    struct td_shards *s = ctx;
    struct rbuf *b = s->rb_cur;
    unsigned refs = 0;

    if (b == &s->rb_first && b->data == NULL)
        b->data = data;
    s->rb_cur = s->rb_next; /* NULL at td_reader_close */
    s->rb_next = NULL;
    if (b == NULL || b->data != data) /* not ours: cannot happen */
        return;
    for (unsigned i = 1; i < s->n; i++)
        refs += s->w[i].uses_rb;
    pthread_mutex_lock(&s->mu);
    b->refs = refs;
    if (refs == 0)
        rb_release_locked(s, b);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 1; i < s->n; i++) {
        struct mbuf *m;
        if (!s->w[i].uses_rb)
            continue;
        s->w[i].uses_rb = false;
        m = cur_buf(s, i, 0);
        if (m->nrel == MB_REL) { /* handed over with what it releases */
            pthread_mutex_lock(&s->mu);
            hand_over_locked(s, false);
            pthread_mutex_unlock(&s->mu);
            m = cur_buf(s, i, 0);
        }
        m->rel[m->nrel++] = b;
    }
}

/* pcapng secrets: the leader's own key log now, each follower's at the
 * same place in its messages */
static void lead_secrets(void *ctx, uint32_t type, const uint8_t *data, size_t len)
{
    struct td_shards *s = ctx;

    if (s->hooks.secrets == NULL)
        return;
    s->hooks.secrets(s->w[0].wctx, type, data, len);
    for (unsigned i = 1; i < s->n; i++) {
        struct sm_secrets m;
        uint8_t *copy;
        while ((copy = td_malloc(len != 0 ? len : 1)) == NULL) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        memcpy(copy, data, len);
        memset(&m, 0, sizeof(m));
        m.h.type = SM_SECRETS;
        m.h.size = sizeof(m);
        m.stype = type;
        m.len = len;
        m.data = copy;
        memcpy(put(s, i, SM_SECRETS, sizeof(m)), &m, sizeof(m));
    }
}

static void lead_publish(struct sworker *w, uint64_t off, bool final)
{
    struct td_shards *s = w->s;

    pthread_mutex_lock(&s->mu);
    w->p_off = off;
    w->p_packets = w->packets;
    hand_over_locked(s, false);
    publish_locked(w, final ? UINT64_MAX : s->ldone, final);
    pthread_mutex_unlock(&s->mu);
}

static void lead_read(struct sworker *w)
{
    struct td_shards *s = w->s;
    struct td_input_error err;
    struct td_reader *rd = td_reader_open(s->path, &err);
    struct td_pkt pkt;
    unsigned k = 0;

    if (rd == NULL) {
        w->rc = -1;
        w->err = err;
        return;
    }
    s->rb_cur = &s->rb_first;
    td_reader_set_pool(rd, rb_get, rb_put, s);
    td_reader_on_secrets(rd, lead_secrets, s);
    while ((w->rc = td_reader_next(rd, &pkt)) == 1) {
        /* a capture still being written: stop where the file ended when
         * the read began */
        if (s->size != 0 && td_reader_offset(rd) > s->size) {
            w->rc = 0;
            break;
        }
        w->packets++;
        if (s->hooks.packet == NULL || s->hooks.packet(w->wctx, &pkt)) {
            int64_t ts = td_engine_pkt_ts(&pkt);
            unsigned own = s->n > 1 ? td_engine_owner(w->e, &pkt) : 0;
            /* a follower's clock moves only when the capture's does: the
             * packets that do not move it end nothing (flowtab.h) */
            bool moves = !s->lstarted || ts > s->lmax;

            if (moves) {
                s->lstarted = true;
                s->lmax = ts;
            }
            if (own == 0)
                td_engine_packet_own(w->e, &pkt);
            else
                td_engine_tick(w->e, pkt.frame, ts);
            for (unsigned i = 1; i < s->n; i++) {
                if (i == own) {
                    struct sm_pkt *m = (struct sm_pkt *)(void *)put(s, i, SM_PKT, sizeof(struct sm_pkt));
                    m->pkt = pkt;
                    s->w[i].uses_rb = true;
                } else if (moves) {
                    struct sm_tick *m = (struct sm_tick *)(void *)put(s, i, SM_TICK, sizeof(struct sm_tick));
                    m->frame = pkt.frame;
                    m->ts_ns = ts;
                }
            }
        }
        s->ldone = pkt.frame;
        if (++k == PUBLISH_EVERY) {
            k = 0;
            lead_publish(w, td_reader_offset(rd), false);
        }
    }
    if (w->rc < 0)
        w->err = *td_reader_error(rd);
    w->p_off = td_reader_offset(rd);
    td_reader_close(rd); /* its last buffer: released after the last messages */
}

static int deliver_step(struct td_shards *s);
static void deliver_wait(struct td_shards *s);

/* ---- a follower: reads the leader's messages ---- */

static void follow(struct sworker *w)
{
    struct td_shards *s = w->s;

    for (;;) {
        struct mbuf *m;
        size_t off = 0;
        bool last;

        pthread_mutex_lock(&s->mu);
        while (w->full_h == NULL) {
            if (s->inline_d == w) { /* all it can deliver first */
                while (deliver_step(s) > 0) {
                }
                if (w->full_h != NULL)
                    break;
                s->dwaits = true;
            }
            w->idle = true;
            pthread_cond_wait(&w->cv, &s->mu);
            w->idle = false;
            if (s->inline_d == w)
                s->dwaits = false;
        }
        m = w->full_h;
        w->full_h = m->next;
        if (w->full_h == NULL)
            w->full_t = NULL;
        pthread_mutex_unlock(&s->mu);
        while (off < m->len) {
            struct sm_hdr h;
            memcpy(&h, m->data + off, sizeof(h));
            switch (h.type) {
            case SM_PKT:
                td_engine_packet_own(w->e, &((const struct sm_pkt *)(const void *)(m->data + off))->pkt);
                break;
            case SM_TICK: {
                const struct sm_tick *t = (const struct sm_tick *)(const void *)(m->data + off);
                td_engine_tick(w->e, t->frame, t->ts_ns);
                break;
            }
            case SM_SECRETS: {
                const struct sm_secrets *t = (const struct sm_secrets *)(const void *)(m->data + off);
                s->hooks.secrets(w->wctx, t->stype, t->data, t->len);
                free(t->data);
                break;
            }
            default:
                break;
            }
            off += h.size;
        }
        last = m->last;
        if (last)
            td_engine_flush(w->e);
        pthread_mutex_lock(&s->mu);
        for (unsigned i = 0; i < m->nrel; i++)
            if (--m->rel[i]->refs == 0)
                rb_release_locked(s, m->rel[i]);
        m->next = w->free_mb;
        w->free_mb = m;
        pthread_cond_signal(&s->lcv);
        publish_locked(w, last ? UINT64_MAX : m->mark, last);
        if (s->inline_d == w) {
            int r;
            while ((r = deliver_step(s)) > 0) {
            }
            while (last && r >= 0) { /* the others' last results */
                if (r == 0)
                    deliver_wait(s);
                r = deliver_step(s);
            }
        }
        pthread_mutex_unlock(&s->mu);
        if (last)
            return;
    }
}

static void *worker_main(void *arg)
{
    struct sworker *w = arg;
    struct td_shards *s = w->s;
    char name[16];

    snprintf(name, sizeof(name), "tlsdiag-w%u", w->idx);
    pthread_setname_np(pthread_self(), name); /* top -H, perf */
    if (!started_all(s, &w->cv))
        return NULL;
    if (s->hooks.start != NULL)
        s->hooks.start(w->wctx, w->e);
    if (w->idx != 0) {
        follow(w);
        w->cpu_s = td_thread_cpu_s();
        return NULL;
    }
    lead_read(w);
    /* the followers' last messages, then the leader's own last results */
    for (unsigned i = 1; i < s->n; i++)
        (void)cur_buf(s, i, 0);
    pthread_mutex_lock(&s->mu);
    hand_over_locked(s, true);
    pthread_mutex_unlock(&s->mu);
    td_engine_flush(w->e);
    lead_publish(w, w->p_off, true);
    w->cpu_s = td_thread_cpu_s();
    return NULL;
}

/* ---- the delivering thread ---- */

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

/* deliver_step: under s->mu, delivers (with the mutex let go meanwhile)
 * what every worker's mark allows.  1: it delivered some; 0: nothing can
 * be yet; -1: all is delivered (s->finished). */
static int deliver_step(struct td_shards *s)
{
    uint64_t min = UINT64_MAX;
    bool all_done = true;
    struct sworker *w;

    for (unsigned i = 0; i < s->n; i++) {
        struct sworker *x = &s->w[i];
        crev_move(&x->cre_d, &x->cre_sh);
        rq_move(&x->res_d, &x->res_sh);
        x->pending -= x->delivered;
        if (x->delivered > 0 && x->waits)
            pthread_cond_signal(&x->cv);
        x->delivered = 0;
        if (x->mark < min)
            min = x->mark;
        all_done = all_done && x->done;
    }
    if (next_result(s, min) == NULL) {
        if (!all_done)
            return 0;
        s->finished = true;
        pthread_cond_broadcast(&s->endcv);
        return -1;
    }
    pthread_mutex_unlock(&s->mu);
    /* every creation up to |min| is here: ids for all of them, then
     * the results that ended up to |min|, in end order */
    assign_ids(s, min);
    while ((w = next_result(s, min)) != NULL) {
        struct td_par_res *r = w->res_d.head;
        w->res_d.head = r->next;
        if (w->res_d.head == NULL)
            w->res_d.tail = NULL;
#if defined(__GNUC__)
        else /* written on another core: its line while this one is delivered */
            __builtin_prefetch(w->res_d.head);
#endif
        w->res_d.n--;
        r->next = NULL;
        r->id = ids_take(&s->ids, r->first_frame);
        w->delivered++;
        s->deliver(s->ctx, r);
    }
    pthread_mutex_lock(&s->mu);
    return 1;
}

/* deliver_wait: under s->mu, the delivering thread's wait for work */
static void deliver_wait(struct td_shards *s)
{
    s->dwaits = true;
    pthread_cond_wait(s->dcvp, &s->mu);
    s->dwaits = false;
}

static void *deliver_main(void *arg)
{
    struct td_shards *s = arg;
    int r;

    pthread_setname_np(pthread_self(), "tlsdiag-out");
    if (!started_all(s, &s->dcv))
        return NULL;
    pthread_mutex_lock(&s->mu);
    while ((r = deliver_step(s)) >= 0)
        if (r == 0)
            deliver_wait(s);
    pthread_mutex_unlock(&s->mu);
    s->dcpu_s = td_thread_cpu_s();
    return NULL;
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
    pthread_cond_init(&s->dcv, NULL);
    pthread_cond_init(&s->endcv, NULL);
    pthread_cond_init(&s->lcv, NULL);
    for (unsigned i = 0; i < n; i++) {
        struct sworker *w = &s->w[i];
        w->s = s;
        w->idx = i;
        w->wctx = wctx[i];
        pthread_cond_init(&w->cv, NULL);
    }
    for (unsigned i = 1; i < n; i++) { /* the followers' message buffers */
        struct sworker *w = &s->w[i];
        for (unsigned j = 0; j < NMSG; j++) {
            w->mb[j].data = td_malloc(MSG_SIZE);
            if (w->mb[j].data == NULL)
                goto fail;
            w->mb[j].next = w->free_mb;
            w->free_mb = &w->mb[j];
        }
    }
    for (unsigned i = 0; i < n; i++) {
        struct sworker *w = &s->w[i];
        w->e = td_engine_new(l, on_done, w);
        if (w->e == NULL)
            goto fail;
        td_engine_shard(w->e, i, n, on_new, w);
    }
    /* the threads wait for |go|: if one cannot be started, none reads */
    s->dcvp = &s->dcv;
    if (n >= 2) { /* follower 1 delivers (see the top) */
        s->inline_d = &s->w[1];
        s->dcvp = &s->w[1].cv;
    } else {
        if (pthread_create(&s->dth, NULL, deliver_main, s) != 0)
            goto fail;
        s->dth_started = true;
    }
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&s->w[i].th, NULL, worker_main, &s->w[i]) != 0)
            goto fail;
        s->w[i].started = true;
    }
    release_all(s, true);
    return s;
fail:
    release_all(s, false);
    if (s->dth_started)
        pthread_join(s->dth, NULL);
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
    if (s->dth_started)
        pthread_join(s->dth, NULL);
    s->dth_started = false;
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

double td_shards_deliver_cpu(const struct td_shards *s) { return s->dcpu_s; }

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
        for (unsigned j = 0; j < NMSG; j++)
            free(w->mb[j].data);
        pthread_cond_destroy(&w->cv);
    }
    for (unsigned i = 0; i < s->rb_n; i++)
        free(s->rb[i].data);
    pthread_cond_destroy(&s->dcv);
    pthread_cond_destroy(&s->endcv);
    pthread_cond_destroy(&s->lcv);
    pthread_mutex_destroy(&s->mu);
    free(s->ids.s);
    free(s->path);
    free(s);
}
