/* par.c: the flow directory and worker threads of `read -j N` (par.h).
 *
 * Reader thread (the caller): decode, directory, dispatch.  The directory
 * mirrors td_engine_packet's flow-level decisions exactly (engine.c: port
 * reuse, closing on RST or FIN both ways, expiry of every due flow after
 * each packet, eviction over max_flows, the end-of-input flush in LRU
 * order), so a connection gets the same id, the same packets and ends at
 * the same point as with one engine.  Every end gets a sequence number;
 * results are handed back in that order.
 *
 * Zero copy: the reader takes its input buffers from a pool here
 * (td_reader_set_pool), so a packet's bytes stay where the file was read
 * into and a worker reads its payload in place.  When the reader moves on
 * to a new buffer, each worker that was sent a packet out of the old one
 * gets a release message after those packets; the buffer returns to the
 * pool when the last of them has read it.  The reader waits for a free
 * buffer when RB_MAX are in flight, which bounds the memory held.
 *
 * Queues: each worker has NBUF message buffers that cycle between a free
 * queue and a full queue under one mutex.  The reader fills a buffer with
 * many messages (a packet's is about 180 bytes, its payload not copied)
 * before handing it over, so locking is per buffer, not per packet, and
 * nothing is allocated per packet.  Workers never wait on anything but
 * their full queue, so the reader's waits always end.
 *
 * Caps: the directory keeps --max-flows per partition (flowtab.h), as an
 * engine does, and sends each partition to one worker.  --max-memory is
 * kept by the workers' engines, per partition too, so they evict the
 * flows one engine would (engine.c evict_for_memory).  Such an eviction is
 * not a directory decision, so its result is numbered with the next end
 * the directory sends that worker (at the latest the evicted flow's own),
 * and a later packet of the flow opens a new connection under the
 * directory's id: the same flows end, but the order and that id are not
 * those of -j 1 (they are still fixed by the input and N). */
#include "tlsdiag/par.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcp/flowtab.h"
#include "tlsdiag/alloc.h"
#include "util/cputime.h"
#include "timeline/engine_int.h"

#define PAD 128u /* bytes between the fields of different threads */
#define NBUF 8u
#define BUF_SIZE (256u * 1024u)
#define RB_SIZE (1024u * 1024u) /* read buffer: the reader's initial buffer */
#define RB_MAX 12u              /* pooled read buffers */
#define PEND_HIGH 8192u         /* results not yet delivered: the reader waits */
#define PEND_LOW 4096u          /* ... until they are down to this */

enum { M_START = 1, M_TCP, M_CLOSE, M_RELEASE, M_END };

struct m_hdr {
    uint32_t type;
    uint32_t size; /* whole message, a multiple of 8 */
};
struct m_start {
    struct m_hdr h;
    int64_t start_ns;
};
struct m_tcp {
    struct m_hdr h;
    uint64_t id;
    uint64_t hash;
    uint32_t fresh;
    uint32_t pad;
    struct td_pkt pkt;
    struct td_tcp_pkt tcp; /* its payload points into a read buffer */
};
struct m_close {
    struct m_hdr h;
    uint64_t seq;
    uint64_t hash;
    struct td_flow_key key;
    uint32_t evicted;
    int64_t now_ns; /* the directory's capture clock at the close */
};
struct rbuf;
struct m_release {
    struct m_hdr h;
    struct rbuf *rb;
};

struct buf {
    size_t cap, len;
    uint8_t *data;
};

/* a read buffer lent to the td_reader */
struct rbuf {
    uint8_t *data;
    size_t cap;
    unsigned refs;     /* workers yet to read it (under mu) */
    bool pooled;       /* one of rb[]; else freed when released */
    struct rbuf *next; /* free list */
};

struct dflow { /* a directory entry */
    struct td_flow_node node; /* first */
    struct dflow *free_next;
    uint64_t id;
    unsigned shard;
    bool fin[2];
    uint8_t rst;
};

struct worker {
    struct td_par *p;
    unsigned idx;
    pthread_t th;
    bool started;
    struct td_engine *e;
    void *wctx;
    struct buf pool[NBUF];
    /* Each thread's fields apart from the others' (a cache line written by
     * one thread and read by another on every packet costs a miss) */
    char pad0[PAD];
    /* under p->mu */
    struct buf *full[NBUF + 1];
    unsigned full_h, full_n;
    struct buf *freeq[NBUF];
    unsigned free_n;
    pthread_cond_t cv;
    struct td_par_res *sh_head, *sh_tail;
    char pad1[PAD];
    /* worker only */
    uint64_t cur_seq;
    bool in_close, got;  /* inside an M_CLOSE; it produced a result */
    double cpu_s;        /* this thread's CPU time, set when it ends */
    struct td_par_res *lo_head, *lo_tail;
    unsigned lo_n;
    struct td_par_res *ev_head, *ev_tail; /* evicted on its own, not yet numbered */
    char pad2[PAD];
    /* reader only */
    struct buf *cur;
    bool uses_rb; /* was sent packets out of the reader's current buffer */
    char pad3[PAD];
    /* delivering thread only */
    struct td_par_res *m_head, *m_tail;
    char pad4[PAD];
};

struct dchunk {
    struct dchunk *next;
    struct dflow f[1024];
};

struct td_par {
    unsigned n;
    struct td_limits lim;
    td_par_work_fn work;
    td_par_deliver_fn deliver;
    void *ctx;
    char pad0[PAD];
    pthread_mutex_t mu;
    pthread_cond_t rcv; /* the reader waits here: a free buffer */
    pthread_cond_t dcv; /* the delivering thread waits here: results */
    pthread_t dth;
    bool dth_started;
    bool ending;        /* under mu: all ends sent, end_seq is their count */
    unsigned pending;   /* under mu: results handed back, not yet delivered */
    bool reader_waits;  /* under mu: for pending to go down */
    uint64_t end_seq;
    char pad1[PAD];
    /* delivering thread only */
    unsigned delivered; /* since it last took mu */
    uint64_t next_deliver;
    double dcpu_s;
    char pad2[PAD];
    struct worker w[TD_PAR_MAX];
    /* read buffers */
    struct rbuf rb[RB_MAX];
    unsigned rb_n;             /* rb[] allocated so far */
    struct rbuf *rb_free;      /* under mu */
    struct rbuf *rb_cur;       /* the one the reader reads into */
    struct rbuf *rb_next;      /* given by rb_get, current after rb_put */
    struct rbuf rb_first;      /* the reader's own first buffer */
    /* directory (reader only) */
    struct td_flowtab tab;
    unsigned nparts;  /* partitions of the flow cap (flowtab.h) */
    struct dflow *free_flows;
    struct dchunk *chunks;
    struct td_stats st;
    uint64_t next_id, next_seq;
    int64_t now_ns, start_ns;
    bool started, finished;
    struct td_stats wst; /* workers' counters, after finish */
};

static void rb_release_locked(struct td_par *p, struct rbuf *b)
{
    if (b->pooled) {
        b->next = p->rb_free;
        p->rb_free = b;
    } else {
        free(b->data);
        b->data = NULL;
        if (b != &p->rb_first)
            free(b);
    }
}

/* ---- worker side ---- */

static void append_lo(struct worker *w, struct td_par_res *r)
{
    w->lo_n++;
    r->next = NULL;
    if (w->lo_tail != NULL)
        w->lo_tail->next = r;
    else
        w->lo_head = r;
    w->lo_tail = r;
}

/* An end the directory sent (M_CLOSE) is numbered with its sequence number
 * and is the last result of that number; an eviction of this engine's own
 * (--max-memory, during a packet) waits for the next M_CLOSE and goes
 * before it, under the same number. */
static void engine_done(void *ctx, struct td_conn *c)
{
    struct worker *w = ctx;
    struct td_par_res *r = w->p->work(w->wctx, c);

    r->empty = false;
    if (!w->in_close) {
        r->next = NULL;
        if (w->ev_tail != NULL)
            w->ev_tail->next = r;
        else
            w->ev_head = r;
        w->ev_tail = r;
        return;
    }
    r->seq = w->cur_seq;
    r->last = true;
    append_lo(w, r);
    w->got = true;
}

static void close_msg(struct worker *w, const struct m_close *m)
{
    w->cur_seq = m->seq;
    while (w->ev_head != NULL) {
        struct td_par_res *r = w->ev_head;
        w->ev_head = r->next;
        r->seq = m->seq;
        r->last = false;
        append_lo(w, r);
    }
    w->ev_tail = NULL;
    w->in_close = true;
    w->got = false;
    td_engine_close_driven(w->e, &m->key, m->hash, m->evicted != 0, m->now_ns);
    w->in_close = false;
    if (!w->got) {
        /* nothing left to end (evicted before): the number still has to be
         * passed, by an empty result */
        struct td_par_res *r;
        while ((r = td_malloc(sizeof(*r))) == NULL) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        memset(r, 0, sizeof(*r));
        r->seq = m->seq;
        r->last = true;
        r->empty = true;
        append_lo(w, r);
    }
}

static void rb_done(struct td_par *p, struct rbuf *b)
{
    pthread_mutex_lock(&p->mu);
    if (--b->refs == 0) {
        rb_release_locked(p, b);
        pthread_cond_signal(&p->rcv);
    }
    pthread_mutex_unlock(&p->mu);
}

/* returns true at M_END */
static bool run_buf(struct worker *w, struct buf *b)
{
    size_t off = 0;

    while (off < b->len) {
        struct m_hdr h;
        memcpy(&h, b->data + off, sizeof(h));
        switch (h.type) {
        case M_START: {
            struct m_start m;
            memcpy(&m, b->data + off, sizeof(m));
            td_engine_drive(w->e, m.start_ns);
            break;
        }
        case M_TCP: {
            const struct m_tcp *m = (const struct m_tcp *)(const void *)(b->data + off);
            td_engine_tcp_driven(w->e, &m->pkt, &m->tcp, m->id, m->fresh != 0, m->hash);
            break;
        }
        case M_CLOSE:
            close_msg(w, (const struct m_close *)(const void *)(b->data + off));
            break;
        case M_RELEASE: {
            const struct m_release *m = (const struct m_release *)(const void *)(b->data + off);
            rb_done(w->p, m->rb);
            break;
        }
        case M_END:
        default:
            return true;
        }
        off += h.size;
    }
    return false;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct td_par *p = w->p;
    bool end = false;

    while (!end) {
        struct buf *b;
        pthread_mutex_lock(&p->mu);
        while (w->full_n == 0)
            pthread_cond_wait(&w->cv, &p->mu);
        b = w->full[w->full_h];
        w->full_h = (w->full_h + 1) % (NBUF + 1);
        w->full_n--;
        pthread_mutex_unlock(&p->mu);

        end = run_buf(w, b);

        pthread_mutex_lock(&p->mu);
        b->len = 0;
        w->freeq[w->free_n++] = b;
        if (w->lo_head != NULL) {
            if (w->sh_tail != NULL)
                w->sh_tail->next = w->lo_head;
            else
                w->sh_head = w->lo_head;
            w->sh_tail = w->lo_tail;
            w->lo_head = w->lo_tail = NULL;
            p->pending += w->lo_n;
            w->lo_n = 0;
            pthread_cond_signal(&p->dcv);
        }
        pthread_cond_signal(&p->rcv);
        pthread_mutex_unlock(&p->mu);
    }
    w->cpu_s = td_thread_cpu_s();
    return NULL;
}

/* ---- the delivering thread: results in order ---- */

/* collect waits for finished results and moves them to the delivering
 * thread's lists; false when there will be no more */
static bool collect(struct td_par *p)
{
    bool more = true;

    pthread_mutex_lock(&p->mu);
    p->pending -= p->delivered;
    p->delivered = 0;
    if (p->reader_waits && p->pending <= PEND_LOW)
        pthread_cond_signal(&p->rcv);
    for (;;) {
        bool any = false;
        for (unsigned i = 0; i < p->n; i++) {
            struct worker *w = &p->w[i];
            if (w->sh_head == NULL)
                continue;
            any = true;
            if (w->m_tail != NULL)
                w->m_tail->next = w->sh_head;
            else
                w->m_head = w->sh_head;
            w->m_tail = w->sh_tail;
            w->sh_head = w->sh_tail = NULL;
        }
        if (any)
            break;
        if (p->ending && p->next_deliver >= p->end_seq) {
            more = false;
            break;
        }
        pthread_cond_wait(&p->dcv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return more;
}

/* deliver_ready hands over results in end order while the next one is in */
static void deliver_ready(struct td_par *p)
{
    bool progress = true;

    while (progress) {
        progress = false;
        for (unsigned i = 0; i < p->n; i++) {
            struct worker *w = &p->w[i];
            while (w->m_head != NULL && w->m_head->seq == p->next_deliver) {
                struct td_par_res *r = w->m_head;
                w->m_head = r->next;
                if (w->m_head == NULL)
                    w->m_tail = NULL;
                r->next = NULL;
                if (r->last)
                    p->next_deliver++;
                p->delivered++;
                if (r->empty)
                    free(r);
                else
                    p->deliver(p->ctx, r);
                progress = true;
            }
        }
    }
}

/* The results are judged and printed on a thread of their own, so that
 * the reader never stops reading to print a batch. */
static void *deliver_main(void *arg)
{
    struct td_par *p = arg;

    while (collect(p))
        deliver_ready(p);
    p->dcpu_s = td_thread_cpu_s();
    return NULL;
}

/* ---- reader side: messages ---- */

static void push_cur(struct td_par *p, struct worker *w)
{
    struct buf *b = w->cur;
    unsigned tail;

    if (b == NULL)
        return;
    w->cur = NULL;
    pthread_mutex_lock(&p->mu);
    tail = (w->full_h + w->full_n) % (NBUF + 1);
    w->full[tail] = b;
    w->full_n++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&p->mu);
}

/* throttle waits while the delivering thread is far behind (its results
 * are memory); everything sent so far is handed over first, so that the
 * result it waits for is on its way */
static void throttle(struct td_par *p)
{
    bool over;

    pthread_mutex_lock(&p->mu);
    over = p->pending > PEND_HIGH;
    pthread_mutex_unlock(&p->mu);
    if (!over)
        return;
    for (unsigned i = 0; i < p->n; i++)
        push_cur(p, &p->w[i]);
    pthread_mutex_lock(&p->mu);
    p->reader_waits = true;
    while (p->pending > PEND_LOW)
        pthread_cond_wait(&p->rcv, &p->mu);
    p->reader_waits = false;
    pthread_mutex_unlock(&p->mu);
}

static struct buf *take_free(struct td_par *p, struct worker *w)
{
    struct buf *b;

    pthread_mutex_lock(&p->mu);
    while (w->free_n == 0)
        pthread_cond_wait(&p->rcv, &p->mu);
    b = w->freeq[--w->free_n];
    pthread_mutex_unlock(&p->mu);
    return b;
}

/* put returns room for a |size|-byte message (at most BUF_SIZE) in worker
 * |s|'s buffer */
static uint8_t *put(struct td_par *p, unsigned s, uint32_t type, size_t size)
{
    struct worker *w = &p->w[s];
    struct m_hdr h;
    uint8_t *m;

    size = (size + 7u) & ~(size_t)7u;
    if (w->cur != NULL && w->cur->len + size > w->cur->cap) {
        push_cur(p, w);
        throttle(p);
    }
    if (w->cur == NULL)
        w->cur = take_free(p, w);
    m = w->cur->data + w->cur->len;
    w->cur->len += size;
    h.type = type;
    h.size = (uint32_t)size;
    memcpy(m, &h, sizeof(h));
    return m; /* a full buffer goes to the worker at the next put or at the end */
}

/* ---- read buffers (td_reader_set_pool) ---- */

static uint8_t *rb_get(void *ctx, size_t min, size_t *cap)
{
    struct td_par *p = ctx;
    struct rbuf *b = NULL;

    if (min > RB_SIZE) { /* a block larger than a buffer: one of its own */
        b = td_calloc(1, sizeof(*b));
        if (b == NULL || (b->data = td_malloc(min)) == NULL) {
            free(b);
            return NULL;
        }
        b->cap = min;
    } else {
        pthread_mutex_lock(&p->mu);
        b = p->rb_free;
        if (b != NULL)
            p->rb_free = b->next;
        pthread_mutex_unlock(&p->mu);
        if (b == NULL && p->rb_n < RB_MAX) {
            struct rbuf *nb = &p->rb[p->rb_n];
            nb->data = td_malloc(RB_SIZE);
            if (nb->data != NULL) {
                nb->cap = RB_SIZE;
                nb->pooled = true;
                p->rb_n++;
                b = nb;
            }
        }
        if (b == NULL) {
            /* all lent: hand the workers what they hold (with its release
             * messages) and wait for one to come back */
            for (unsigned i = 0; i < p->n; i++)
                push_cur(p, &p->w[i]);
            pthread_mutex_lock(&p->mu);
            while (p->rb_free == NULL)
                pthread_cond_wait(&p->rcv, &p->mu);
            b = p->rb_free;
            p->rb_free = b->next;
            pthread_mutex_unlock(&p->mu);
        }
    }
    b->refs = 0;
    b->next = NULL;
    p->rb_next = b;
    *cap = b->cap;
    return b->data;
}

/* the reader is done with |data| (the buffer it read into until now):
 * each worker sent packets out of it reads a release after them */
static void rb_put(void *ctx, uint8_t *data)
{
    struct td_par *p = ctx;
    struct rbuf *b = p->rb_cur;
    unsigned refs = 0;

    if (b == &p->rb_first && b->data == NULL)
        b->data = data;
    p->rb_cur = p->rb_next; /* NULL at td_reader_close */
    p->rb_next = NULL;
    if (b == NULL || b->data != data) /* not ours: cannot happen */
        return;
    if (!p->finished)
        for (unsigned i = 0; i < p->n; i++)
            refs += p->w[i].uses_rb;
    pthread_mutex_lock(&p->mu);
    b->refs = refs;
    if (refs == 0)
        rb_release_locked(p, b);
    pthread_mutex_unlock(&p->mu);
    if (refs == 0)
        return;
    for (unsigned i = 0; i < p->n; i++) {
        struct m_release m;
        uint8_t *dst;
        if (!p->w[i].uses_rb)
            continue;
        p->w[i].uses_rb = false;
        memset(&m, 0, sizeof(m));
        dst = put(p, i, M_RELEASE, sizeof(m));
        m.h.type = M_RELEASE;
        m.h.size = (uint32_t)((sizeof(m) + 7u) & ~(size_t)7u);
        m.rb = b;
        memcpy(dst, &m, sizeof(m));
    }
}

void td_par_use_reader(struct td_par *p, struct td_reader *rd)
{
    p->rb_cur = &p->rb_first;
    td_reader_set_pool(rd, rb_get, rb_put, p);
}

void td_par_quiesce(struct td_par *p)
{
    for (unsigned i = 0; i < p->n; i++)
        push_cur(p, &p->w[i]);
    for (;;) {
        bool idle = true;
        pthread_mutex_lock(&p->mu);
        for (unsigned i = 0; i < p->n; i++)
            if (p->w[i].free_n < NBUF)
                idle = false;
        if (!idle)
            pthread_cond_wait(&p->rcv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        if (idle)
            return;
    }
}

void td_par_set_keylog(struct td_par *p, const struct td_keylog *kl)
{
    /* the workers are idle (quiesced or not started on packets yet); the
     * mutex hand-over of the next buffer orders this write before their
     * reads */
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        td_engine_set_keylog(p->w[i].e, kl);
    pthread_mutex_unlock(&p->mu);
}

/* ---- the directory ---- */

static struct dflow *dflow_alloc(struct td_par *p)
{
    struct dflow *f = p->free_flows;
    if (f == NULL) {
        struct dchunk *c = td_calloc(1, sizeof(*c));
        if (c == NULL)
            return NULL;
        c->next = p->chunks;
        p->chunks = c;
        for (size_t i = 0; i < sizeof(c->f) / sizeof(c->f[0]); i++) {
            c->f[i].free_next = p->free_flows;
            p->free_flows = &c->f[i];
        }
        f = p->free_flows;
    }
    p->free_flows = f->free_next;
    memset(f, 0, sizeof(*f));
    return f;
}

static void dclose(struct td_par *p, struct dflow *f, bool evicted)
{
    struct m_close m;
    uint8_t *dst;

    memset(&m, 0, sizeof(m));
    m.h.type = M_CLOSE;
    m.h.size = (uint32_t)((sizeof(m) + 7u) & ~(size_t)7u);
    m.seq = p->next_seq++;
    m.hash = f->node.hash;
    m.key = f->node.key;
    m.evicted = evicted;
    m.now_ns = p->now_ns;
    dst = put(p, f->shard, M_CLOSE, sizeof(m));
    memcpy(dst, &m, sizeof(m));
    td_flowtab_remove(&p->tab, &f->node);
    p->st.open_flows--;
    f->free_next = p->free_flows;
    p->free_flows = f;
}

/* the same rule as engine.c expire */
static void dexpire(struct td_par *p)
{
    const int64_t lim[2] = {(int64_t)p->lim.idle_timeout_s * 1000000000LL, TD_LINGER_NS};
    struct td_flow_node *n;

    while ((n = td_flowtab_due(&p->tab, p->now_ns, lim)) != NULL)
        dclose(p, (struct dflow *)n, false);
    while ((n = td_flowtab_over_cap(&p->tab)) != NULL)
        dclose(p, (struct dflow *)n, true);
}

void td_par_packet(struct td_par *p, const struct td_pkt *pkt)
{
    struct td_tcp_pkt t;
    struct td_diag d = {0};
    struct td_flow_key k;
    struct dflow *f;
    uint64_t h, new_id = 0;
    int key_ep;
    int64_t ts = pkt->ts_sec * 1000000000LL + pkt->ts_nsec;
    struct m_tcp *m;
    enum td_decode_res res;

    if (!p->started) {
        p->started = true;
        p->start_ns = ts;
        for (unsigned i = 0; i < p->n; i++) {
            uint8_t *dst = put(p, i, M_START, sizeof(struct m_start));
            struct m_start ms;
            memset(&ms, 0, sizeof(ms));
            ms.h.type = M_START;
            ms.h.size = (uint32_t)((sizeof(ms) + 7u) & ~(size_t)7u);
            ms.start_ns = ts;
            memcpy(dst, &ms, sizeof(ms));
        }
    }
    if (ts > p->now_ns)
        p->now_ns = ts;
    res = td_decode_tcp(&t, pkt, &d);
    td_stats_count(&p->st, pkt, res);
    if (res != TD_DEC_TCP) {
        dexpire(p); /* only time moves */
        return;
    }

    key_ep = td_flow_key_make_hashed(&k, &h, t.ipver, t.src, t.sport, t.dst, t.dport);
    f = (struct dflow *)td_flowtab_find(&p->tab, &k, h);
    if (f != NULL && (t.flags & TD_TCP_SYN) && !(t.flags & TD_TCP_ACK) && td_flowtab_ended(&f->node)) {
        dclose(p, f, false);
        f = NULL;
    }
    if (f == NULL) {
        f = dflow_alloc(p);
        if (f == NULL)
            return;
        f->node.key = k;
        f->node.hash = h;
        f->id = new_id = ++p->next_id;
        /* its partition (not the table's keyed hash: the same in every
         * run), held by one worker: the engines keep --max-memory per
         * partition, so what they evict is the same for every N */
        f->node.part = (uint8_t)td_flow_key_part(&k, p->nparts);
        f->shard = f->node.part % p->n;
        td_flowtab_insert(&p->tab, &f->node);
        p->st.flows++;
        p->st.open_flows++;
        if (p->st.open_flows > p->st.peak_flows)
            p->st.peak_flows = p->st.open_flows;
    }
    td_flowtab_touch(&p->tab, &f->node, p->now_ns, pkt->frame);
    if ((t.flags & TD_TCP_RST) && f->rst < 4) {
        f->rst++;
        td_flowtab_end(&p->tab, &f->node);
    }
    if ((t.flags & TD_TCP_FIN) && !f->fin[key_ep]) {
        f->fin[key_ep] = true;
        if (f->fin[1 - key_ep])
            td_flowtab_end(&p->tab, &f->node);
    }

    m = (struct m_tcp *)(void *)put(p, f->shard, M_TCP, sizeof(*m));
    m->id = f->id;
    m->hash = h;
    m->fresh = new_id != 0;
    m->pad = 0;
    m->pkt = *pkt;
    m->pkt.data = NULL;
    m->tcp = t;
    if (td_cur_len(&t.payload) > 0) /* read in place: released after */
        p->w[f->shard].uses_rb = true;
    dexpire(p);
}

/* ---- lifecycle ---- */

struct td_par *td_par_new(unsigned n, const struct td_limits *l, td_par_work_fn work, void *const *wctx,
                          td_par_deliver_fn deliver, void *ctx)
{
    struct td_par *p;

    if (n == 0 || n > TD_PAR_MAX)
        return NULL;
    p = td_calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->n = n;
    if (l != NULL)
        p->lim = *l;
    else
        td_limits_default(&p->lim);
    p->work = work;
    p->deliver = deliver;
    p->ctx = ctx;
    if (!td_flowtab_init(&p->tab, 4096)) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->rcv, NULL);
    pthread_cond_init(&p->dcv, NULL);
    /* the caps are kept per partition (flowtab.h): the directory's flow
     * cap here, each engine's memory cap for the partitions it holds */
    p->nparts = td_limits_parts(&p->lim);
    td_flowtab_set_caps(&p->tab, p->nparts, p->lim.max_flows);
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &p->w[i];
        w->p = p;
        w->idx = i;
        w->wctx = wctx[i];
        pthread_cond_init(&w->cv, NULL);
        w->e = td_engine_new(&p->lim, engine_done, w);
        if (w->e == NULL)
            goto fail;
        td_engine_drive(w->e, 0);
        for (unsigned j = 0; j < NBUF; j++) {
            w->pool[j].cap = BUF_SIZE;
            w->pool[j].data = td_malloc(BUF_SIZE);
            if (w->pool[j].data == NULL)
                goto fail;
            w->freeq[w->free_n++] = &w->pool[j];
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]) != 0)
            goto fail;
        p->w[i].started = true;
    }
    if (pthread_create(&p->dth, NULL, deliver_main, p) != 0)
        goto fail;
    p->dth_started = true;
    return p;
fail:
    p->finished = false;
    td_par_free(p);
    return NULL;
}

void td_par_finish(struct td_par *p)
{
    if (p == NULL || p->finished)
        return;
    /* end of input: like td_engine_flush, in LRU order */
    while (td_flowtab_oldest(&p->tab) != NULL)
        dclose(p, (struct dflow *)td_flowtab_oldest(&p->tab), false);
    for (unsigned i = 0; i < p->n; i++) {
        uint8_t *dst = put(p, i, M_END, sizeof(struct m_hdr));
        (void)dst;
        push_cur(p, &p->w[i]);
    }
    pthread_mutex_lock(&p->mu);
    p->ending = true;
    p->end_seq = p->next_seq;
    pthread_cond_signal(&p->dcv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->dth, NULL);
    p->dth_started = false;
    for (unsigned i = 0; i < p->n; i++) {
        struct td_stats s;
        pthread_join(p->w[i].th, NULL);
        p->w[i].started = false;
        td_engine_stats(p->w[i].e, &s);
        p->wst.tls_flows += s.tls_flows;
        p->wst.evicted += s.evicted;
        p->wst.evicted_memory += s.evicted_memory;
        p->wst.peak_memory += s.peak_memory; /* an upper bound: peaks of the shares */
        p->wst.limit_hits += s.limit_hits;
    }
    p->finished = true;
}

void td_par_stats(const struct td_par *p, struct td_stats *st)
{
    *st = p->st;
    st->tls_flows = p->wst.tls_flows;
    st->evicted = p->wst.evicted;
    st->evicted_memory = p->wst.evicted_memory;
    st->peak_memory = p->wst.peak_memory;
    st->limit_hits = p->wst.limit_hits;
}

double td_par_worker_cpu(const struct td_par *p, unsigned i) { return i < p->n ? p->w[i].cpu_s : 0.0; }

double td_par_deliver_cpu(const struct td_par *p) { return p->dcpu_s; }

void td_par_free(struct td_par *p)
{
    if (p == NULL)
        return;
    if (p->dth_started) { /* not finished: stop it, deliver what is left below */
        pthread_mutex_lock(&p->mu);
        p->ending = true;
        p->end_seq = 0;
        pthread_cond_signal(&p->dcv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->dth, NULL);
    }
    for (unsigned i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];
        if (w->started) { /* not finished: stop it without work left */
            put(p, i, M_END, sizeof(struct m_hdr));
            push_cur(p, w);
            pthread_join(w->th, NULL);
        }
        while (w->m_head != NULL) { /* results never delivered */
            struct td_par_res *r = w->m_head;
            w->m_head = r->next;
            if (r->empty)
                free(r);
            else
                p->deliver(p->ctx, r);
        }
        td_engine_free(w->e);
        for (unsigned j = 0; j < NBUF; j++)
            free(w->pool[j].data);
        pthread_cond_destroy(&w->cv);
    }
    for (unsigned i = 0; i < p->rb_n; i++)
        free(p->rb[i].data);
    while (p->chunks != NULL) {
        struct dchunk *c = p->chunks;
        p->chunks = c->next;
        free(c);
    }
    td_flowtab_cleanup(&p->tab);
    pthread_cond_destroy(&p->rcv);
    pthread_cond_destroy(&p->dcv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
