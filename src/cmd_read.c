/* cmd_read.c: `tlsdiag read FILE... [FILTER]` and `tlsdiag live -i IFACE [FILTER]`.
 *
 * Output order: connections are reported in batches; within a batch in the
 * order of their first packet (their id).  A batch is everything one file
 * holds, or 4096 connections, taken in the order the connections ended,
 * when a file holds more (the cross-connection rules then see what came
 * before, not what comes after).  With -j N the order is the same: the
 * sharded engines of a file (shard.c) or the flow directory of a stream
 * (par.c) end connections exactly where one engine would (par.h), and
 * results are batched in that order (once a cap is reached, each worker
 * evicts within its share).  In live mode each connection is printed when
 * it ends. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tlsdiag/alloc.h"
#include "tlsdiag/capture.h"
#include "tlsdiag/conn.h"
#include "tlsdiag/decrypt.h"
#include "tlsdiag/par.h"
#include "tlsdiag/report.h"
#include "tlsdiag/rules.h"
#include "tlsdiag/x509.h"
#include "util/cpus.h"
#include "util/cputime.h"

#define BATCH_MAX 4096u
/* the most workers read uses without -j (see main) */
#define AUTO_JOBS_MAX 4u
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* a connection judged and rendered on a worker thread (-j) */
struct pres {
    struct td_par_res base;  /* first */
    struct worker_ctx *owner; /* -j N: freed on the thread that made it */
    uint64_t id;
    struct td_conn *conn;    /* set when the correlation may revise it: revised in order */
    size_t vlen;             /* with conn: the worker's verdict (its used part), first in text */
    bool has_corr;
    struct td_corr_rec corr;
    struct td_sum_rec sum;
    size_t id_at; /* rendered with id 0 (td_shards): where the id goes */
    size_t len;   /* the rendered connection, in text after the verdict */
    char text[];
};

/* pres_free: a result and the connection it kept for the correlation, on
 * the thread that made them (freed on another, each block went back to this
 * thread's malloc arena under its lock) */
static void pres_free(struct pres *p)
{
    if (p->conn != NULL)
        td_conn_free(p->conn);
    if (p->len == 0) /* see par_work */
        td_pool_free(p, sizeof(*p) + p->vlen);
    else
        free(p);
}

/* -j N: the system trust store loads on a thread of its own while the
 * reading starts; whoever judges first waits for it (get_trust). */
struct trust_load {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready, told;
    struct td_trust *t;
    char err[256];
};

/* what the reading loop counts besides the engine (the first worker's,
 * under -j N of a file) */
struct scan {
    uint64_t packets, unknown_link, unknown_off;
    uint32_t unknown_type;
};

struct worker_ctx {
    struct run *r;
    bool trust_set;
    /* -j N of a file (td_shards): this worker's reading */
    bool primary;              /* counts for the notes (worker 0) */
    struct scan sc;
    struct td_filter *flt;     /* its own: libpcap's filter compiles lazily */
    struct td_engine *eng;
    struct td_keylog *kl;      /* its own once the capture carries secrets */
    /* results delivered and handed back to be freed here: a block freed
     * on another thread goes back to this thread's malloc arena under its
     * lock, for every result (bench/PROFILE.md).  On cache lines of
     * their own: the delivering worker writes them */
    _Alignas(128) pthread_mutex_t back_mu;
    struct pres *back;         /* under back_mu */
    _Alignas(128) unsigned calls, idx;
    struct td_rules_opts rules; /* own chain cache */
    struct td_verdict v;
    struct td_wbuf w;
    char *out;
    size_t len, cap;
    bool oom;
};

/* A batch's output, written with writev: the connections' rendered text
 * where it is (each result's own bytes), and what is written around it
 * (ids, connections rendered here) copied into |scratch|.  The texts are
 * half of what --json costs: copying them once more into the output buffer
 * was a quarter of the delivering thread's time under -j. */
struct seg {
    const char *p; /* NULL: |n| bytes at |off| in scratch */
    size_t off, n;
};
struct gather {
    struct seg *s;
    size_t n, cap;
    char *scratch;
    size_t slen, scap;
};

struct run {
    bool json, all, quiet, no_summary, fail, live, progress;
    unsigned jobs;      /* -j; 0: not given (auto_jobs for a shardable file, else 1) */
    unsigned auto_jobs; /* -j when not given, for a file every worker can read */
    struct pent *pbatch; /* the batch: sorted by id at its end */
    struct pent *ptmp;   /* the sort's other half */
    struct td_report_opts ro;
    struct td_rules_opts rules;
    struct td_limits lim;
    struct td_wbuf *w;
    struct td_summary sum;
    struct td_stats st_total;
    struct td_corr *corr;
    struct worker_ctx *wc0; /* -j 1 */
    struct pres *back_head[TD_PAR_MAX], *back_tail[TD_PAR_MAX]; /* give_back */
    struct pres *free_after;     /* -j 1: results freed once their batch is written */
    struct gather g;             /* a batch's output (gather_write) */
    size_t nbatch;
    const char *source;
    struct td_keylog *kl;        /* --keylog and pcapng secrets */
    bool kl_given;               /* --keylog: decrypt from the start */
    const char *kl_path;         /* that file */
    const char *filter;          /* the filter expression, or NULL */
    struct td_engine *eng;       /* the engine of the file being read */
    struct td_par *par;          /* or its -j workers */
    struct trust_load *tl;       /* -j N: the trust store still loading */
    uint64_t dsb_blocks;
};

/* pcapng Decryption Secrets Block: a TLS key log travels with the capture
 * (editcap --inject-secrets tls,FILE); it decrypts with no flag. */
#define SECRETS_TLS_KEYLOG 0x544c534bu
static void on_secrets(void *ctx, uint32_t type, const uint8_t *data, size_t len)
{
    struct run *r = ctx;

    if (type != SECRETS_TLS_KEYLOG || r->kl == NULL)
        return;
    /* -j: the workers read the key log; let them finish what they hold
     * before it changes (the packets before this block, as with -j 1) */
    if (r->par != NULL)
        td_par_quiesce(r->par);
    td_keylog_add_text(r->kl, data, len);
    r->dsb_blocks++;
    if (r->eng != NULL)
        td_engine_set_keylog(r->eng, r->kl);
    if (r->par != NULL)
        td_par_set_keylog(r->par, r->kl);
}

static void flush_stdout(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    if (fwrite(p, 1, n, stdout) != n) {
        /* a closed pipe (| head): stop quietly like other filters */
        exit(TD_EXIT_OK);
    }
}

static void *trust_main(void *arg)
{
    struct trust_load *tl = arg;
    struct td_trust *t = td_trust_new(NULL, tl->err, sizeof(tl->err));

    pthread_mutex_lock(&tl->mu);
    tl->t = t;
    tl->ready = true;
    pthread_cond_broadcast(&tl->cv);
    pthread_mutex_unlock(&tl->mu);
    return NULL;
}

static const struct td_trust *get_trust(struct run *r)
{
    struct trust_load *tl = r->tl;

    if (tl == NULL)
        return r->rules.trust;
    pthread_mutex_lock(&tl->mu);
    while (!tl->ready)
        pthread_cond_wait(&tl->cv, &tl->mu);
    pthread_mutex_unlock(&tl->mu);
    return tl->t;
}

/* emit_final: |v| is the final verdict on |c| */
static void emit_final(struct run *r, struct td_conn *c, struct td_verdict *v)
{
    td_summary_add(&r->sum, c, v);
    if ((v->shown || r->all) && !r->quiet) {
        if (r->json)
            td_report_json(r->w, c, v, &r->ro);
        else
            td_report_text(r->w, c, v, &r->ro);
    }
    if (r->live)
        td_wb_flush(r->w);
}

/* emit_v: |v| is td_rules_run's verdict on |c| */
static void emit_v(struct run *r, struct td_conn *c, struct td_verdict *v)
{
    td_corr_revise(r->corr, c, v);
    emit_final(r, c, v);
}

static void emit(struct run *r, struct td_conn *c)
{
    struct td_verdict v;
    struct td_rules_opts ro = r->rules;

    ro.trust = get_trust(r);
    td_rules_run(&v, c, &ro);
    emit_v(r, c, &v);
}

/* ---- -j N ---- */

static void worker_flush(void *ctx, const char *p, size_t n)
{
    struct worker_ctx *x = ctx;
    if (x->len + n > x->cap) {
        size_t ncap = x->cap ? x->cap : 65536;
        char *nb;
        while (ncap < x->len + n)
            ncap *= 2;
        nb = realloc(x->out, ncap);
        if (nb == NULL) {
            x->oom = true;
            return;
        }
        x->out = nb;
        x->cap = ncap;
    }
    memcpy(x->out + x->len, p, n);
    x->len += n;
}

static struct td_par_res *par_work(void *wctx, struct td_conn *c)
{
    struct worker_ctx *x = wctx;
    struct run *r = x->r;
    struct pres *res;
    size_t vlen, len;
    const char *text;
    bool may;

    if (x != r->wc0 && (++x->calls & 63) == 0) {
        struct pres *b;
        pthread_mutex_lock(&x->back_mu);
        b = x->back;
        x->back = NULL;
        pthread_mutex_unlock(&x->back_mu);
        while (b != NULL) {
            struct pres *next = (struct pres *)(void *)b->base.next;
            pres_free(b);
            b = next;
        }
    }
    if (!x->trust_set) {
        x->rules.trust = get_trust(r);
        x->trust_set = true;
    }
    td_rules_run(&x->v, c, &x->rules);
    x->len = 0;
    /* A connection the correlation may revise is revised where the results
     * are delivered (the delivering thread, or under td_shards the worker
     * delivering) against the store, in order: td_rules_run is pure, so the
     * verdict travels (its used part, the diagnoses up to num) instead of
     * being judged again.  It is rendered here all the same: most are not
     * revised, and the delivering side then prints this text instead of
     * rendering where all results go through, one at a time. */
    may = td_corr_may_revise(c, &x->v);
    vlen = may ? offsetof(struct td_verdict, d) + x->v.num * sizeof(x->v.d[0]) : 0;
    text = x->w.buf;
    len = 0;
    if ((x->v.shown || r->all) && !r->quiet) {
        uint64_t fl = x->w.flushes;
        if (r->json)
            td_report_json(&x->w, c, &x->v, &r->ro);
        else
            td_report_text(&x->w, c, &x->v, &r->ro);
        if (x->w.flushes == fl) { /* all of it still in the buffer: copied from there */
            len = x->w.n;
        } else {
            td_wb_flush(&x->w);
            text = x->out;
            len = x->len;
        }
    }
    /* A result without text (all of them in a summary-only read) has one
     * of a few sizes: from this thread's pool, which its worker's results
     * come back to (give_back).  From malloc, a batch of them freed at
     * once overflowed the per-thread cache's 7 blocks a size, and the rest
     * went to the heap under its lock (-j: ~4% of a worker, perf). */
    res = len == 0 ? td_pool_alloc(sizeof(*res) + vlen) : malloc(sizeof(*res) + vlen + len);
    if (res == NULL || x->oom) {
        fprintf(stderr, "tlsdiag: out of memory\n");
        exit(TD_EXIT_INTERNAL);
    }
    memset(res, 0, sizeof(*res));
    res->owner = x != r->wc0 ? x : NULL;
    res->id = c->id;
    res->has_corr = td_corr_rec_make(&res->corr, c, &x->v);
    res->vlen = vlen;
    memcpy(res->text, &x->v, vlen);
    res->len = len;
    td_memcpy(res->text + vlen, text, len);
    if (text == x->w.buf)
        td_wb_drop(&x->w);
    res->id_at = c->id == 0 && len > 0 ? td_report_id_at(res->text + vlen, len) : SIZE_MAX;
    /* made for the worker's verdict even when the delivering side may
     * revise it: it nearly never does, and then uses this */
    td_sum_rec_make(&res->sum, c, &x->v);
    if (may) {
        res->conn = c; /* freed with the result, on this thread */
        return &res->base;
    }
    td_conn_free(c);
    return &res->base;
}

/* the sort key beside the pointer: sorting touches 16-byte entries in one
 * array, not the results (written on other cores under -j) */
struct pent {
    uint64_t id;
    struct pres *p;
};

/* sort_pents: the batch by id, an LSD radix sort a byte at a time (stable),
 * skipping the bytes that are the same in every id of the batch (most:
 * a batch's ids are close).  qsort's merge sort through a comparison
 * callback cost ~300 instructions per connection (callgrind); this, a few
 * dozen. */
static void sort_pents(struct pent *a, struct pent *tmp, size_t n)
{
    struct pent *src = a, *dst = tmp;
    uint64_t vary = 0;

    for (size_t i = 1; i < n; i++)
        vary |= a[i].id ^ a[0].id;
    for (unsigned sh = 0; sh < 64; sh += 8) {
        size_t pos[256] = {0}, sum = 0;
        if (((vary >> sh) & 0xff) == 0)
            continue;
        for (size_t i = 0; i < n; i++)
            pos[(src[i].id >> sh) & 0xff]++;
        for (unsigned b = 0; b < 256; b++) {
            size_t c = pos[b];
            pos[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i].id >> sh) & 0xff]++] = src[i];
        {
            struct pent *t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

/* give_back frees |p| (after the batch is written: its text may be in
 * it) or hands it back to the worker that made it */
static void give_back(struct run *r, struct pres *p)
{
    struct worker_ctx *x = p->owner;
    unsigned i;

    if (x == NULL) {
        p->base.next = (struct td_par_res *)(void *)r->free_after;
        r->free_after = p;
        return;
    }
    i = x->idx;
    p->base.next = (struct td_par_res *)(void *)r->back_head[i];
    r->back_head[i] = p;
    if (r->back_tail[i] == NULL)
        r->back_tail[i] = p;
}

static void give_back_done(struct run *r)
{
    while (r->free_after != NULL) {
        struct pres *next = (struct pres *)(void *)r->free_after->base.next;
        pres_free(r->free_after);
        r->free_after = next;
    }
    for (unsigned i = 0; i < TD_PAR_MAX; i++) {
        struct worker_ctx *x;
        if (r->back_head[i] == NULL)
            continue;
        x = r->back_head[i]->owner;
        pthread_mutex_lock(&x->back_mu);
        r->back_tail[i]->base.next = (struct td_par_res *)(void *)x->back;
        x->back = r->back_head[i];
        pthread_mutex_unlock(&x->back_mu);
        r->back_head[i] = r->back_tail[i] = NULL;
    }
}

static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap != 0 ? *cap : 256;
    void *nv;

    while (ncap < need)
        ncap *= 2;
    nv = realloc(v, ncap * size);
    if (nv == NULL) {
        fprintf(stderr, "tlsdiag: out of memory\n");
        exit(TD_EXIT_INTERNAL);
    }
    *cap = ncap;
    return nv;
}

static void gather_seg(struct gather *g, const char *p, size_t off, size_t n)
{
    if (n == 0)
        return;
    if (p == NULL && g->n > 0 && g->s[g->n - 1].p == NULL && g->s[g->n - 1].off + g->s[g->n - 1].n == off) {
        g->s[g->n - 1].n += n;
        return;
    }
    if (g->n == g->cap)
        g->s = grow(g->s, &g->cap, g->n + 1, sizeof(g->s[0]));
    g->s[g->n].p = p;
    g->s[g->n].off = off;
    g->s[g->n].n = n;
    g->n++;
}

/* the flush of the output buffer during a batch: into scratch */
static void gather_small(void *ctx, const char *p, size_t n)
{
    struct gather *g = &((struct run *)ctx)->g;

    if (g->slen + n > g->scap)
        g->scratch = grow(g->scratch, &g->scap, g->slen + n, 1);
    memcpy(g->scratch + g->slen, p, n);
    gather_seg(g, NULL, g->slen, n);
    g->slen += n;
}

static void gather_write(struct gather *g)
{
    struct iovec iov[512];
    size_t i = 0;

    fflush(stdout); /* what was printed before, through stdio */
    while (i < g->n) {
        int k = 0;
        size_t skip = 0;
        for (; k < 512 && i + (size_t)k < g->n; k++) {
            const struct seg *sg = &g->s[i + (size_t)k];
            iov[k].iov_base = (void *)(uintptr_t)(sg->p != NULL ? sg->p : g->scratch + sg->off);
            iov[k].iov_len = sg->n;
        }
        i += (size_t)k;
        while (k > 0) {
            ssize_t w = writev(STDOUT_FILENO, iov + skip, k);
            size_t left;
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                exit(TD_EXIT_OK); /* a closed pipe (| head): stop quietly, as flush_stdout */
            }
            left = (size_t)w;
            while (k > 0 && left >= iov[skip].iov_len) { /* a short write: go on after it */
                left -= iov[skip].iov_len;
                skip++;
                k--;
            }
            if (k > 0) {
                iov[skip].iov_base = (char *)iov[skip].iov_base + left;
                iov[skip].iov_len -= left;
            }
        }
    }
    g->n = 0;
    g->slen = 0;
}

/* a batch: sorted by id, the correlation store sees all of it, then each
 * connection in order (judged again when the store may revise it) */
static void flush_pbatch(struct run *r)
{
    td_flush_fn out = r->w->flush;
    void *out_ctx = r->w->ctx;

    td_wb_flush(r->w);
    r->w->flush = gather_small;
    r->w->ctx = r;
    sort_pents(r->pbatch, r->ptmp, r->nbatch);
    /* the results were written on other cores (-j): ask for a few ahead */
    for (size_t i = 0; i < r->nbatch; i++) {
        if (i + 8 < r->nbatch)
            PREFETCH(&r->pbatch[i + 8].p->corr);
        if (i + 4 < r->nbatch && r->pbatch[i + 4].p->has_corr)
            td_corr_prefetch(r->corr, &r->pbatch[i + 4].p->corr);
        if (r->pbatch[i].p->has_corr)
            td_corr_add_rec(r->corr, &r->pbatch[i].p->corr);
    }
    for (size_t i = 0; i < r->nbatch; i++) {
        struct pres *p = r->pbatch[i].p;
        if (i + 4 < r->nbatch)
            PREFETCH(&r->pbatch[i + 4].p->sum);
        bool rendered = true;
        if (p->conn != NULL) {
            struct td_verdict v;
            memcpy(&v, p->text, p->vlen);
            td_corr_revise(r->corr, p->conn, &v);
            if (memcmp(&v, p->text, p->vlen) != 0) { /* revised: rendered again */
                emit_final(r, p->conn, &v);
                rendered = false;
            } else {
                td_summary_add_rec(&r->sum, &p->sum);
            }
        } else {
            td_summary_add_rec(&r->sum, &p->sum);
        }
        if (rendered && p->len > 0) {
            const char *t = p->text + p->vlen;
            td_wb_flush(r->w); /* what came before it, in order */
            if (p->id_at < p->len) { /* the 0 it was rendered with, replaced */
                gather_seg(&r->g, t, 0, p->id_at);
                td_wb_u64(r->w, p->id);
                td_wb_flush(r->w);
                gather_seg(&r->g, t + p->id_at + 1, 0, p->len - p->id_at - 1);
            } else {
                gather_seg(&r->g, t, 0, p->len);
            }
        }
        give_back(r, p);
    }
    td_wb_flush(r->w);
    gather_write(&r->g);
    r->w->flush = out;
    r->w->ctx = out_ctx;
    give_back_done(r);
    r->nbatch = 0;
}

static void par_deliver(void *ctx, struct td_par_res *res)
{
    struct run *r = ctx;
    struct pres *p = (struct pres *)res;

    if (res->id != 0) { /* td_shards: the id only now known */
        p->id = res->id;
        p->corr.id = res->id;
        if (p->conn != NULL)
            p->conn->id = res->id;
    }
    r->pbatch[r->nbatch].id = p->id;
    r->pbatch[r->nbatch++].p = p;
    if (r->nbatch == BATCH_MAX)
        flush_pbatch(r);
}

/* One engine (-j 1): the same steps as a -j worker, on this thread, and
 * the same batching of the results. */
static void on_done(void *ctx, struct td_conn *c)
{
    struct run *r = ctx;

    if (r->live) {
        struct td_verdict v;
        td_rules_run(&v, c, &r->rules);
        td_corr_add(r->corr, c, &v);
        emit(r, c);
        td_conn_free(c);
        return;
    }
    par_deliver(r, par_work(r->wc0, c));
}

static void add_stats(struct td_stats *t, const struct td_stats *s)
{
    t->packets += s->packets;
    t->bytes += s->bytes;
    t->tcp_packets += s->tcp_packets;
    t->non_tcp += s->non_tcp;
    t->fragments += s->fragments;
    t->malformed += s->malformed;
    t->unknown_link += s->unknown_link;
    t->flows += s->flows;
    t->tls_flows += s->tls_flows;
    t->evicted += s->evicted;
    t->evicted_memory += s->evicted_memory;
    if (s->peak_memory > t->peak_memory)
        t->peak_memory = s->peak_memory;
    t->limit_hits += s->limit_hits;
    if (s->peak_flows > t->peak_flows)
        t->peak_flows = s->peak_flows;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void free_workers(struct worker_ctx **wc, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (wc[i] == NULL)
            continue;
        td_chain_cache_free(wc[i]->rules.chain_cache);
        while (wc[i]->back != NULL) {
            struct pres *next = (struct pres *)(void *)wc[i]->back->base.next;
            pres_free(wc[i]->back);
            wc[i]->back = next;
        }
        pthread_mutex_destroy(&wc[i]->back_mu);
        td_filter_free(wc[i]->flt);
        td_keylog_free(wc[i]->kl);
        free(wc[i]->out);
        free(wc[i]);
        wc[i] = NULL;
    }
}

static void scan_count(struct scan *sc, const struct td_pkt *pkt)
{
    sc->packets++;
    if (!td_link_supported(pkt->linktype) && sc->unknown_link++ == 0) {
        sc->unknown_off = pkt->file_off;
        sc->unknown_type = pkt->linktype;
    }
}

/* input_notes says on stderr how the input ended (|ie|: a read error) and
 * what could not be read; returns the exit code so far */
static int input_notes(struct run *r, const char *path, const struct td_input_error *ie, const struct scan *sc,
                       struct td_filter *flt)
{
    int rc = TD_EXIT_OK;

    if (r->tl != NULL && !r->tl->told) {
        r->tl->told = true;
        if (get_trust(r) == NULL)
            fprintf(stderr, "tlsdiag: system trust store: %s (certificates are not checked for trust)\n", r->tl->err);
    }
    if (ie != NULL) {
        fprintf(stderr, "tlsdiag: %s: offset %llu%s: %s (connections read so far are reported)\n", path,
                (unsigned long long)ie->off, ie->decompressed ? " of the decompressed data" : "", ie->msg);
        rc = TD_EXIT_CORRUPT;
    }
    if (sc->unknown_link > 0) {
        /* not corrupt, but not readable by us: say which and where */
        fprintf(stderr, "tlsdiag: %s: offset %llu: link type %u is not decoded (%llu of %llu packets skipped)\n", path,
                (unsigned long long)sc->unknown_off, sc->unknown_type, (unsigned long long)sc->unknown_link,
                (unsigned long long)sc->packets);
        if (sc->unknown_link == sc->packets && rc == TD_EXIT_OK)
            rc = TD_EXIT_INPUT;
    }
    if (flt != NULL) {
        const char *fe = td_filter_take_error(flt);
        if (fe != NULL)
            fprintf(stderr, "tlsdiag: %s: filter: %s\n", path, fe);
    }
    return rc;
}

static void progress_line(const char *path, uint64_t off, uint64_t packets, uint64_t flows, double secs)
{
    fprintf(stderr, "\r  %s: %.0f MB, %llu packets, %llu connections, %.0f MB/s   ", path, (double)off / 1e6,
            (unsigned long long)packets, (unsigned long long)flows, (double)off / 1e6 / secs);
}

static void thread_times(double reader, unsigned n, double (*worker)(const void *, unsigned), const void *p,
                         double output)
{
    /* for bench/: the critical path on an idle machine */
    fprintf(stderr, "tlsdiag: thread CPU s: reader %.3f", reader);
    for (unsigned i = 0; i < n; i++)
        fprintf(stderr, ", worker %.3f", worker(p, i));
    if (output >= 0) /* td_shards: the workers deliver */
        fprintf(stderr, ", output %.3f", output);
    fputc('\n', stderr);
}

static double par_wcpu(const void *p, unsigned i) { return td_par_worker_cpu(p, i); }
static double shards_wcpu(const void *s, unsigned i) { return td_shards_worker_cpu(s, i); }

/* new_workers: one context per -j worker (own chain cache, own output) */
static bool new_workers(struct run *r, struct worker_ctx **wc)
{
    for (unsigned i = 0; i < r->jobs; i++) {
        /* aligned: no line shared with another worker's context */
        wc[i] = aligned_alloc(_Alignof(struct worker_ctx), sizeof(*wc[i]));
        if (wc[i] == NULL)
            return false;
        memset(wc[i], 0, sizeof(*wc[i]));
        wc[i]->r = r;
        wc[i]->idx = i;
        pthread_mutex_init(&wc[i]->back_mu, NULL);
        wc[i]->primary = i == 0;
        wc[i]->rules = r->rules;
        wc[i]->rules.chain_cache = td_chain_cache_new();
        td_wb_init(&wc[i]->w, worker_flush, wc[i]);
    }
    return true;
}

/* ---- -j N of a file: every worker reads it (lib/timeline/shard.c) ---- */

/* shardable: a regular file that is not gzip can be read once per worker;
 * stdin, pipes and gzip (decompressing N times costs more than it
 * spreads) go through one reader and the flow directory (par.c) */
static bool shardable(const char *path)
{
    struct stat sb;
    uint8_t m[2];
    bool ok;
    int fd;

    if (strcmp(path, "-") == 0)
        return false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && read(fd, m, 2) == 2 && !(m[0] == 0x1f && m[1] == 0x8b);
    close(fd);
    return ok;
}

/* pcapng secrets under td_shards: each worker reads the block itself, at
 * the same packet, into a key log of its own (the shared one is only read) */
static void shard_secrets(void *ctx, uint32_t type, const uint8_t *data, size_t len)
{
    struct worker_ctx *x = ctx;
    struct run *r = x->r;

    if (type != SECRETS_TLS_KEYLOG || r->kl == NULL)
        return;
    if (x->kl == NULL) {
        char err[256];
        x->kl = td_keylog_new();
        if (x->kl == NULL)
            return;
        if (r->kl_path != NULL && td_keylog_load_file(x->kl, r->kl_path, err, sizeof(err)) != 0) {
            /* read once already at start; keep what this copy has */
        }
    }
    td_keylog_add_text(x->kl, data, len);
    if (x->primary)
        r->dsb_blocks++;
    td_engine_set_keylog(x->eng, x->kl);
}

static bool shard_start(void *wctx, struct td_reader *rd, struct td_engine *e)
{
    struct worker_ctx *x = wctx;

    x->eng = e;
    if (x->r->kl_given)
        td_engine_set_keylog(e, x->r->kl);
    td_reader_on_secrets(rd, shard_secrets, x);
    /* shard_packet counts on the first worker and filters on all: on the
     * others without a filter it has nothing to do (~2 ns a packet) */
    return x->primary || x->flt != NULL;
}

static bool shard_packet(void *wctx, const struct td_pkt *pkt)
{
    struct worker_ctx *x = wctx;

    if (x->primary)
        scan_count(&x->sc, pkt);
    return x->flt == NULL || td_filter_match(x->flt, pkt);
}

/* read_sharded: the file |path| opened fine as a capture (read_file) */
static int read_sharded(struct run *r, const char *path)
{
    static const struct td_shard_hooks hooks = {shard_start, shard_packet};
    struct worker_ctx *wc[TD_PAR_MAX] = {0};
    struct td_input_error err;
    struct td_shards *s = NULL;
    struct td_stats st;
    double t0 = mono_now();
    bool shown = false;
    int rc;

    if (new_workers(r, wc)) {
        bool ok = true;
        for (unsigned i = 0; i < r->jobs && r->filter != NULL; i++) {
            char ferr[256];
            wc[i]->flt = td_filter_new(r->filter, ferr, sizeof(ferr));
            ok = ok && wc[i]->flt != NULL;
        }
        if (ok)
            s = td_shards_new(r->jobs, &r->lim, path, &hooks, par_work, (void *const *)wc, par_deliver, r);
    }
    if (s == NULL) {
        free_workers(wc, r->jobs);
        fprintf(stderr, "tlsdiag: out of memory\n");
        return TD_EXIT_INTERNAL;
    }
    while (!td_shards_wait(s, 0.5)) {
        if (r->progress) {
            uint64_t off, packets, flows;
            td_shards_progress(s, &off, &packets, &flows);
            progress_line(path, off, packets, flows, mono_now() - t0);
            shown = true;
        }
    }
    if (shown)
        fputs("\r\033[K", stderr);
    rc = input_notes(r, path, td_shards_result(s, &err) < 0 ? &err : NULL, &wc[0]->sc, wc[0]->flt);
    flush_pbatch(r);
    td_shards_stats(s, &st);
    if (getenv("TLSDIAG_THREAD_TIMES") != NULL)
        thread_times(td_thread_cpu_s(), r->jobs, shards_wcpu, s, -1.0);
    td_shards_free(s);
    free_workers(wc, r->jobs);
    add_stats(&r->st_total, &st);
    return rc;
}

/* returns an exit code */
static int read_file_jobs(struct run *r, const char *path, struct td_filter *flt);

/* read_file: without -j, a regular uncompressed file is read by auto_jobs
 * workers (each reads the file itself: lib/timeline/shard.c) and anything
 * else by one engine; the output is the same either way */
static int read_file(struct run *r, const char *path, struct td_filter *flt)
{
    unsigned given = r->jobs;
    int rc;

    if (given == 0)
        r->jobs = r->auto_jobs > 1 && shardable(path) ? r->auto_jobs : 1;
    rc = read_file_jobs(r, path, flt);
    r->jobs = given;
    return rc;
}

static int read_file_jobs(struct run *r, const char *path, struct td_filter *flt)
{
    struct td_input_error err;
    struct td_reader *rd = td_reader_open(path, &err);
    struct td_engine *e;
    struct td_par *par = NULL;
    struct worker_ctx *wc[TD_PAR_MAX] = {0};
    struct td_pkt pkt;
    struct td_stats st;
    int rc = TD_EXIT_OK, n;
    double t0 = mono_now(), last = t0;
    uint64_t count = 0;
    struct scan sc = {0};

    if (rd == NULL) {
        fprintf(stderr, "tlsdiag: %s: offset %llu%s: %s\n", path, (unsigned long long)err.off,
                err.decompressed ? " of the decompressed data" : "", err.msg);
        return TD_EXIT_INPUT;
    }
    r->ro.source = path;
    td_corr_set_source(r->corr, path); /* a cited connection of an earlier file is named by it */
    if (r->jobs > 1) {
        if (shardable(path)) {
            td_reader_close(rd);
            return read_sharded(r, path);
        }
        if (new_workers(r, wc))
            par = td_par_new(r->jobs, &r->lim, par_work, (void *const *)wc, par_deliver, r);
        e = NULL;
    } else {
        e = td_engine_new(&r->lim, on_done, r);
    }
    if (e == NULL && par == NULL) {
        td_reader_close(rd);
        free_workers(wc, r->jobs);
        fprintf(stderr, "tlsdiag: out of memory\n");
        return TD_EXIT_INTERNAL;
    }
    r->eng = e;
    r->par = par;
    if (par != NULL)
        td_par_use_reader(par, rd); /* workers read the packets in place */
    if (r->kl_given) {
        if (par != NULL)
            td_par_set_keylog(par, r->kl);
        else
            td_engine_set_keylog(e, r->kl);
    }
    td_reader_on_secrets(rd, on_secrets, r);
    while ((n = td_reader_next(rd, &pkt)) == 1) {
        scan_count(&sc, &pkt);
        if (flt != NULL && !td_filter_match(flt, &pkt))
            continue;
        if (par != NULL)
            td_par_packet(par, &pkt);
        else
            td_engine_packet(e, &pkt);
        if (r->progress && (++count & 0xffff) == 0) {
            double now = mono_now();
            if (now - last >= 0.5) {
                if (par != NULL)
                    td_par_stats(par, &st);
                else
                    td_engine_stats(e, &st);
                progress_line(path, td_reader_offset(rd), st.packets, st.flows, now - t0);
                last = now;
            }
        }
    }
    if (r->progress && last != t0)
        fputs("\r\033[K", stderr);
    rc = input_notes(r, path, n < 0 ? td_reader_error(rd) : NULL, &sc, flt);
    if (par != NULL) {
        td_par_finish(par);
        flush_pbatch(r);
        td_par_stats(par, &st);
        if (getenv("TLSDIAG_THREAD_TIMES") != NULL)
            thread_times(td_thread_cpu_s(), r->jobs, par_wcpu, par, td_par_deliver_cpu(par));
        td_reader_close(rd); /* its buffers are par's */
        rd = NULL;
        td_par_free(par);
        free_workers(wc, r->jobs);
    } else {
        td_engine_flush(e);
        flush_pbatch(r);
        td_engine_stats(e, &st);
        td_engine_free(e);
    }
    add_stats(&r->st_total, &st);
    r->eng = NULL;
    r->par = NULL;
    td_reader_close(rd);
    return rc;
}

static volatile sig_atomic_t stop_live;
static void on_sigint(int sig)
{
    (void)sig;
    stop_live = 1;
}

/* live_user: whom live mode runs as once the interface is open: -Z/--user
 * USER, else the user sudo was run by (SUDO_UID, when not 0), else nobody.
 * NULL (with the reason on stderr) when that user does not exist. */
static struct passwd *live_user(const char *user)
{
    const char *sudo = getenv("SUDO_UID");
    struct passwd *pw;

    if (user != NULL) {
        pw = getpwnam(user);
        if (pw == NULL)
            fprintf(stderr, "tlsdiag: --user %s: no such user; refusing to keep running as root\n", user);
        return pw;
    }
    if (sudo != NULL && *sudo != '\0') {
        char *end;
        unsigned long v;
        errno = 0;
        v = strtoul(sudo, &end, 10);
        if (errno == 0 && *end == '\0' && v != 0 && v <= (unsigned long)(uid_t)-2) {
            pw = getpwuid((uid_t)v);
            if (pw == NULL)
                fprintf(stderr, "tlsdiag: SUDO_UID %s has no passwd entry; refusing to keep running as root "
                                "(name a user with --user)\n", sudo);
            return pw;
        }
    }
    pw = getpwnam("nobody");
    if (pw == NULL)
        fprintf(stderr, "tlsdiag: no user 'nobody'; refusing to keep running as root (name one with --user)\n");
    return pw;
}

/* drop_privileges: after the interface is open, live mode keeps no root
 * (issue 5).  Supplementary groups first (initgroups sets the target's own
 * with setgroups, so root's are gone), then the gid, then the uid.  It
 * fails closed: an unknown user, a target of uid 0, any failing call, ids
 * that did not all change, or a process that can get uid or gid 0 back
 * ends the run before a packet is read. */
static int drop_privileges(const char *user)
{
    struct passwd *pw;
    uid_t uid;
    gid_t gid;

    if (getuid() != 0 && geteuid() != 0)
        return 0;
    pw = live_user(user);
    if (pw == NULL)
        return -1;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (uid == 0) {
        fprintf(stderr, "tlsdiag: user %s is root; live mode does not keep root after opening the interface\n",
                pw->pw_name);
        return -1;
    }
    if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        fprintf(stderr, "tlsdiag: cannot drop privileges to %s: %s\n", pw->pw_name, strerror(errno));
        return -1;
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid || setuid(0) == 0 ||
        (gid != 0 && setgid(0) == 0)) {
        fprintf(stderr, "tlsdiag: privileges could not be dropped\n");
        return -1;
    }
    return 0;
}

/* Live mode: the key log is opened before privileges are dropped and read
 * again as it grows (SSLKEYLOGFILE is appended while clients run).  Only
 * whole lines are handed over; a partial last line waits for its end. */
struct kl_pump {
    FILE *fp;
    off_t size;             /* file size at the last read */
    char buf[TD_KEYLOG_LINE_MAX * 4];
    size_t have;
};

static void kl_pump(struct kl_pump *kp, struct td_keylog *kl)
{
    size_t n;

    if (kp->fp == NULL)
        return;
    clearerr(kp->fp);
    while ((n = fread(kp->buf + kp->have, 1, sizeof(kp->buf) - kp->have, kp->fp)) > 0) {
        size_t cut;
        kp->have += n;
        cut = kp->have;
        while (cut > 0 && kp->buf[cut - 1] != '\n')
            cut--;
        if (cut == 0 && kp->have == sizeof(kp->buf))
            cut = kp->have; /* no newline in 2 KiB: a broken line, let the parser count it */
        td_keylog_add_text(kl, (const uint8_t *)kp->buf, cut);
        memmove(kp->buf, kp->buf + cut, kp->have - cut);
        kp->have -= cut;
    }
}

static int run_live(struct run *r, const char *iface, const char *filter, const char *user, struct kl_pump *kp)
{
    struct td_input_error err;
    struct td_live *l = td_live_open(iface, filter, 262144, &err);
    struct td_engine *e;
    struct td_pkt pkt;
    struct sigaction sa;
    int rc = TD_EXIT_OK;

    if (l == NULL) {
        fprintf(stderr, "tlsdiag: %s: %s\n", iface ? iface : "any", err.msg);
        /* a filter libpcap cannot compile for this interface: as in read */
        return strncmp(err.msg, "filter: ", 8) == 0 ? TD_EXIT_USAGE : TD_EXIT_INPUT;
    }
    kl_pump(kp, r->kl); /* before the drop: the file may be root's */
    if (drop_privileges(user) != 0) {
        td_live_close(l);
        return TD_EXIT_INTERNAL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    e = td_engine_new(&r->lim, on_done, r);
    if (e == NULL) {
        td_live_close(l);
        return TD_EXIT_INTERNAL;
    }
    r->ro.source = iface;
    if (r->kl_given)
        td_engine_set_keylog(e, r->kl);
    fprintf(stderr, "tlsdiag: listening on %s%s%s (Ctrl-C for the summary)\n", iface ? iface : "any",
            filter ? ", filter: " : "", filter ? filter : "");
    while (!stop_live) {
        int n = td_live_next(l, &pkt);
        if (kp->fp != NULL) {
            /* read new lines as soon as the file grows: a client logs its
             * secrets just after the ServerHello we are about to see */
            struct stat sb;
            if (fstat(fileno(kp->fp), &sb) == 0 && sb.st_size != kp->size) {
                kp->size = sb.st_size;
                kl_pump(kp, r->kl);
            }
        }
        if (n == 1) {
            td_engine_packet(e, &pkt);
        } else if (n == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            td_engine_advance(e, (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        } else {
            const struct td_input_error *le = td_live_error(l);
            fprintf(stderr, "tlsdiag: %s: %s\n", iface ? iface : "any", le ? le->msg : "capture error");
            rc = TD_EXIT_INPUT;
            break;
        }
    }
    td_engine_flush(e);
    {
        struct td_stats st;
        uint64_t recv = 0, drop = 0;
        td_engine_stats(e, &st);
        add_stats(&r->st_total, &st);
        td_live_stats(l, &recv, &drop);
        if (drop)
            fprintf(stderr, "tlsdiag: the kernel dropped %llu of %llu packets\n", (unsigned long long)drop,
                    (unsigned long long)recv);
    }
    td_engine_free(e);
    td_live_close(l);
    return rc;
}

static void usage_read(FILE *f, bool live)
{
    if (live)
        fputs("usage: tlsdiag live [-i IFACE] [-Z USER] [options] [FILTER]\n"
              "\n"
              "  FILTER          BPF expression as for tcpdump (all the words after the options)\n"
              "  -i IFACE        interface to capture on (default: any)\n"
              "  -Z, --user USER user to switch to after opening the interface (default: the\n"
              "                  user sudo was run by (SUDO_UID), else nobody); never stays root\n",
              f);
    else
        fputs("usage: tlsdiag read [options] FILE... [FILTER]\n"
              "\n"
              "  FILE            pcap or pcapng, optionally gzip'd; '-' reads stdin.  A word that\n"
              "                  names no file but looks like a path (has a '/' or ends in .pcap,\n"
              "                  .pcapng, .cap, .gz...) is a missing file (exit 3), not a filter\n"
              "  FILTER          BPF expression as for tcpdump (the words after the last file)\n",
              f);
    fputs("  --json          NDJSON: one object per connection (see docs/json.md)\n"
          "  -t, --timeline  print the timeline of every connection (failures always show theirs)\n"
          "  -a, --all       also show connections that are not TLS\n"
          "  -q, --quiet     print only the summary\n"
          "  --no-summary    do not print the summary\n"
          "  --fail          exit 1 when at least one handshake failed (an exit 3, 4 or 5 wins)\n"
          "  --color WHEN    auto (default: only on a terminal and NO_COLOR unset or empty),\n"
          "                  always, never; --colour is the same option\n"
          "  --width N       text: wrap lines at N columns (0: no wrapping; default: the\n"
          "                  terminal's width, 60 to 200, else 100)\n"
          "  --now TIME      judge certificates at TIME (unix seconds or YYYY-MM-DD[THH:MM:SS])\n"
          "                  instead of the capture's own time\n"
          "  --ca-file FILE  trust these CAs instead of the system store (unreadable: exit 3)\n"
          "  --keylog FILE   decrypt with the TLS secrets in FILE (NSS key log format, as\n"
          "                  written by SSLKEYLOGFILE or openssl s_client -keylogfile);\n"
          "                  pcapng Decryption Secrets Blocks are used without it\n"
          "  --max-flows N   open flows kept before the oldest idle is evicted (default 1000000)\n"
          "  --max-memory MB memory for open flows; over it the flows idle longest are evicted\n"
          "                  (default 192; the whole process stays under about MB + 64)\n"
          "  --max-reassembly BYTES\n"
          "                  out-of-order bytes held per direction (default 1048576)\n"
          "  --max-handshake BYTES\n"
          "                  largest handshake message kept (default 262144)\n"
          "  --max-records N records one handshake message may span (default 16384)\n"
          "  --max-certs N   certificates kept per chain (default and most 16)\n"
          "  --max-extensions N\n"
          "                  extension types kept per hello or EncryptedExtensions message;\n"
          "                  all are still parsed (default and most 128; lower changes JA3/JA4)\n"
          "  --max-anomalies N\n"
          "                  anomalies kept per connection, all counted (default and most 16)\n"
          "  --max-events N  timeline events kept per connection (default 512)\n",
          f);
    if (live)
        fputs("  --idle SEC      close a quiet flow after SEC seconds (default 30)\n"
              "  --no-progress   accepted as in read (live shows no progress line)\n"
              "  -h, --help      this help\n",
              f);
    else
        fputs("  --idle SEC      close a quiet flow after SEC seconds (default 300)\n"
              "  -j, --jobs N    N worker threads, 1 to 64; at most 16 are used (the flows'\n"
              "                  partitions; fewer under a small --max-flows or --max-memory),\n"
              "                  flows shared out by a hash of their addresses and ports; the\n"
              "                  output is the same as with -j 1.  Default: the usable CPUs,\n"
              "                  at most 4, for a regular uncompressed file; 1 for stdin and gzip\n"
              "  --no-progress   no progress line on stderr\n"
              "  -h, --help      this help\n"
              "\n"
              "-i IFACE and -Z/--user USER are live's (tlsdiag live --help).\n",
              f);
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *s == '\0' || *end != '\0' || v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == 0 && *s != '\0' && *end == '\0') {
        *out = v;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || *end != '\0') {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end == NULL || *end != '\0')
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static bool is_input(const char *a)
{
    struct stat sb;
    return strcmp(a, "-") == 0 || stat(a, &sb) == 0;
}

/* ends_with: |s| ends in |suf|, ignoring ASCII case */
static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);

    if (m > n)
        return false;
    for (size_t i = 0; i < m; i++) {
        char a = s[n - m + i], b = suf[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* looks_like_path: |a| is meant as a file even when there is none by that
 * name (a typo must not become a filter): one word with a capture's
 * extension, or with a '/' that is not an address prefix or a division
 * (10.0.0.0/8, fe80::/10, len/2: WORD/NUMBER) nor inside a BPF expression
 * (ip[2:2]/4, brackets, comparisons) */
static bool looks_like_path(const char *a)
{
    static const char *const ext[] = {".pcap", ".pcapng", ".cap", ".gz", ".pcap.gz", ".pcapng.gz",
                                      ".dmp", ".ntar", ".erf", ".snoop"};
    const char *slash = strrchr(a, '/');

    if (strpbrk(a, " \t\n") != NULL)
        return false;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
        if (ends_with(a, ext[i]) && strlen(a) > strlen(ext[i]))
            return true;
    if (slash == NULL || strpbrk(a, "[]()<>=!&|^*+") != NULL)
        return false;
    if (slash[1] != '\0' && strspn(slash + 1, "0123456789") == strlen(slash + 1) && slash != a)
        return false; /* WORD/NUMBER */
    return true;
}

int cmd_read(int argc, char **argv, bool live)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, 'J'},       {"timeline", no_argument, NULL, 't'},
        {"all", no_argument, NULL, 'a'},        {"quiet", no_argument, NULL, 'q'},
        {"no-summary", no_argument, NULL, 'S'}, {"fail", no_argument, NULL, 'F'},
        {"color", required_argument, NULL, 'C'}, {"colour", required_argument, NULL, 'C'},
        {"now", required_argument, NULL, 'N'},  {"ca-file", required_argument, NULL, 'A'},
        {"max-flows", required_argument, NULL, 'M'}, {"max-events", required_argument, NULL, 'E'},
        {"idle", required_argument, NULL, 'I'}, {"no-progress", no_argument, NULL, 'P'},
        {"max-memory", required_argument, NULL, 'm'}, {"max-reassembly", required_argument, NULL, 'R'},
        {"max-handshake", required_argument, NULL, 'H'}, {"max-records", required_argument, NULL, 'r'},
        {"max-certs", required_argument, NULL, 'c'},
        {"max-extensions", required_argument, NULL, 'X'}, {"max-anomalies", required_argument, NULL, 'W'},
        {"jobs", required_argument, NULL, 'j'},     {"keylog", required_argument, NULL, 'K'},
        {"user", required_argument, NULL, 'Z'}, {"width", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    struct run r;
    struct td_wbuf *w;
    const char *color = "auto", *iface = NULL, *user = NULL, *ca_file = NULL, *keylog = NULL;
    struct kl_pump *kp = NULL;
    struct td_trust *trust;
    char filter[4096] = "";
    struct td_filter *flt = NULL;
    int opt, rc = TD_EXIT_OK, first_filter, nfiles = 0;
    bool no_progress = false, idle_set = false, width_set = false;

    memset(&r, 0, sizeof(r));
    td_limits_default(&r.lim);
    r.live = live;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+taqhi:Z:j:", lo, NULL)) != -1) {
        switch (opt) {
        case 'J': r.json = true; break;
        case 't': r.ro.timeline = true; break;
        case 'a': r.all = true; break;
        case 'q': r.quiet = true; break;
        case 'S': r.no_summary = true; break;
        case 'F': r.fail = true; break;
        case 'C': color = optarg; break;
        case 'w':
            if (cli_width_parse(optarg, &r.ro.width) != 0) {
                fprintf(stderr, "tlsdiag: --width takes 0 (no wrapping) or a number of columns from %u to %u\n",
                        CLI_WIDTH_MIN, CLI_WIDTH_MAX);
                return TD_EXIT_USAGE;
            }
            width_set = true;
            break;
        case 'P': no_progress = true; break; /* live never shows progress: accepted, as in read */
        case 'i':
        case 'Z':
        case 'j':
            /* options of the other subcommand: never silently ignored */
            if ((opt == 'i' || opt == 'Z') != live) {
                fprintf(stderr, "tlsdiag %s: %s is an option of 'tlsdiag %s' only (see 'tlsdiag %s --help')\n",
                        live ? "live" : "read",
                        opt == 'i' ? "-i" : opt == 'Z' ? "-Z/--user" : "-j/--jobs",
                        live ? "read" : "live", live ? "live" : "read");
                return TD_EXIT_USAGE;
            }
            if (opt == 'i') {
                iface = optarg;
            } else if (opt == 'Z') {
                user = optarg;
            } else {
                uint32_t j;
                if (parse_u32(optarg, &j) != 0 || j > TD_PAR_MAX) {
                    fprintf(stderr, "tlsdiag: -j needs a number of threads from 1 to %d\n", TD_PAR_MAX);
                    return TD_EXIT_USAGE;
                }
                r.jobs = j;
            }
            break;
        case 'N':
            if (parse_time(optarg, &r.rules.now) != 0) {
                fprintf(stderr, "tlsdiag: --now: cannot read '%s' as a time\n", optarg);
                return TD_EXIT_USAGE;
            }
            break;
        case 'A':
            ca_file = optarg;
            break;
        case 'K':
            keylog = optarg;
            break;
        case 'M':
            if (parse_u32(optarg, &r.lim.max_flows) != 0) {
                fprintf(stderr, "tlsdiag: --max-flows needs a positive number\n");
                return TD_EXIT_USAGE;
            }
            break;
        case 'E':
            if (parse_u32(optarg, &r.lim.max_events) != 0) {
                fprintf(stderr, "tlsdiag: --max-events needs a positive number\n");
                return TD_EXIT_USAGE;
            }
            break;
        case 'm': {
            uint32_t mb;
            if (parse_u32(optarg, &mb) != 0 || mb > 1024u * 1024u) {
                fprintf(stderr, "tlsdiag: --max-memory needs a number of megabytes (1 to 1048576)\n");
                return TD_EXIT_USAGE;
            }
            r.lim.max_memory = (size_t)mb * 1024u * 1024u;
            break;
        }
        case 'R':
            if (parse_u32(optarg, &r.lim.reasm_bytes) != 0) {
                fprintf(stderr, "tlsdiag: --max-reassembly needs a positive number of bytes\n");
                return TD_EXIT_USAGE;
            }
            break;
        case 'H':
            if (parse_u32(optarg, &r.lim.hs_msg_max) != 0 || r.lim.hs_msg_max > (1u << 24)) {
                fprintf(stderr, "tlsdiag: --max-handshake needs a number of bytes (1 to 16777216)\n");
                return TD_EXIT_USAGE;
            }
            break;
        case 'r':
            if (parse_u32(optarg, &r.lim.max_records) != 0 || r.lim.max_records < 4) {
                fprintf(stderr, "tlsdiag: --max-records needs a number of records (at least 4)\n");
                return TD_EXIT_USAGE;
            }
            break;
        case 'c':
            if (parse_u32(optarg, &r.lim.max_certs) != 0 || r.lim.max_certs > TD_MAX_CERTS) {
                fprintf(stderr, "tlsdiag: --max-certs needs a number from 1 to %d\n", TD_MAX_CERTS);
                return TD_EXIT_USAGE;
            }
            break;
        case 'X':
            if (parse_u32(optarg, &r.lim.max_extensions) != 0 || r.lim.max_extensions > TD_MAX_U16_LIST) {
                fprintf(stderr, "tlsdiag: --max-extensions needs a number from 1 to %d\n", TD_MAX_U16_LIST);
                return TD_EXIT_USAGE;
            }
            break;
        case 'W':
            if (parse_u32(optarg, &r.lim.max_anomalies) != 0 || r.lim.max_anomalies > TD_DIAG_MAX) {
                fprintf(stderr, "tlsdiag: --max-anomalies needs a number from 1 to %d\n", TD_DIAG_MAX);
                return TD_EXIT_USAGE;
            }
            break;
        case 'I':
            if (parse_u32(optarg, &r.lim.idle_timeout_s) != 0) {
                fprintf(stderr, "tlsdiag: --idle needs a positive number of seconds\n");
                return TD_EXIT_USAGE;
            }
            idle_set = true;
            break;
        case 'h':
            usage_read(stdout, live);
            return TD_EXIT_OK;
        default:
            usage_read(stderr, live);
            return TD_EXIT_USAGE;
        }
    }
    if (live && !idle_set)
        r.lim.idle_timeout_s = 30;
    if (!width_set)
        r.ro.width = cli_width_auto();
    /* a worker holds whole partitions of the flows: more would only read */
    if (r.jobs > td_par_jobs_max(&r.lim))
        r.jobs = td_par_jobs_max(&r.lim);
    /* Without -j, a file every worker can read itself gets the usable
     * CPUs, at most AUTO_JOBS_MAX: each worker reads and frames the whole
     * file (about a tenth of one engine's work per worker), and one at a
     * time delivers and merges the results, so past a few workers they gain little
     * and cost the other work on the machine (measured up to 2 cores only:
     * bench/RESULTS.md).  The output is that of -j 1 either way. */
    r.auto_jobs = td_cpus_usable();
    if (r.auto_jobs > AUTO_JOBS_MAX)
        r.auto_jobs = AUTO_JOBS_MAX;
    if (r.auto_jobs > td_par_jobs_max(&r.lim))
        r.auto_jobs = td_par_jobs_max(&r.lim);
    /* files first, then the filter words (like tcpdump's trailing expression).
     * A word that looks like a path is a file even when it does not exist:
     * a mistyped name is a missing file, not a filter (nor, in live mode,
     * a filter: live reads no file) */
    first_filter = optind;
    if (live) {
        if (optind < argc && (strcmp(argv[optind], "-") == 0 || looks_like_path(argv[optind]))) {
            fprintf(stderr, "tlsdiag live: '%s' looks like a file; live reads no files (use 'tlsdiag read FILE')\n",
                    argv[optind]);
            return TD_EXIT_USAGE;
        }
    } else {
        bool missing = false;
        while (first_filter < argc && (is_input(argv[first_filter]) || looks_like_path(argv[first_filter]))) {
            if (!is_input(argv[first_filter])) {
                fprintf(stderr, "tlsdiag: %s: no such file\n", argv[first_filter]);
                missing = true;
            }
            first_filter++;
            nfiles++;
        }
        if (missing)
            return TD_EXIT_INPUT;
    }
    for (int i = first_filter; i < argc; i++) {
        size_t n = strlen(filter);
        if (n + strlen(argv[i]) + 2 > sizeof(filter)) {
            fprintf(stderr, "tlsdiag: filter expression too long\n");
            return TD_EXIT_USAGE;
        }
        if (n)
            filter[n++] = ' ';
        memcpy(filter + n, argv[i], strlen(argv[i]) + 1);
    }
    if (!live && nfiles == 0) {
        if (optind < argc)
            fprintf(stderr, "tlsdiag: %s: no such file\n", argv[optind]);
        else
            usage_read(stderr, live);
        return optind < argc ? TD_EXIT_INPUT : TD_EXIT_USAGE;
    }
    /* a bad filter is a usage error in both modes.  Live mode compiles it
     * for the interface's link type when it opens it (run_live); checked
     * for Ethernet here, only a syntax error stops it before: a primitive
     * of another link type (pflog's ifname) may be right on the interface */
    if (filter[0] != '\0') {
        char err[256];
        r.filter = filter;
        flt = td_filter_new(filter, err, sizeof(err));
        if (flt == NULL && (!live || strstr(err, "syntax error") != NULL)) {
            fprintf(stderr, "tlsdiag: filter '%s': %s\n", filter, err);
            return TD_EXIT_USAGE;
        }
        if (live) {
            td_filter_free(flt); /* libpcap filters the interface itself */
            flt = NULL;
        }
    }
    if (strcmp(color, "always") == 0)
        r.ro.color = true;
    else if (strcmp(color, "never") == 0)
        r.ro.color = false;
    else if (strcmp(color, "auto") == 0)
        r.ro.color = isatty(STDOUT_FILENO) && !no_color_env();
    else {
        fprintf(stderr, "tlsdiag: --color takes auto, always or never\n");
        return TD_EXIT_USAGE;
    }
    /* the trust store is loaded before live mode drops privileges; with
     * -j N the system store loads while the reading starts (its failure
     * is told when the first file has been read) */
    trust = NULL;
    if (!live && (r.jobs > 1 || (r.jobs == 0 && r.auto_jobs > 1)) && ca_file == NULL) {
        r.tl = calloc(1, sizeof(*r.tl));
        if (r.tl != NULL) {
            pthread_mutex_init(&r.tl->mu, NULL);
            pthread_cond_init(&r.tl->cv, NULL);
            if (pthread_create(&r.tl->th, NULL, trust_main, r.tl) != 0) {
                pthread_cond_destroy(&r.tl->cv);
                pthread_mutex_destroy(&r.tl->mu);
                free(r.tl);
                r.tl = NULL;
            }
        }
    }
    if (r.tl == NULL) {
        char err[256];
        trust = td_trust_new(ca_file, err, sizeof(err));
        if (trust == NULL && ca_file != NULL) {
            fprintf(stderr, "tlsdiag: --ca-file %s: %s\n", ca_file, err);
            return TD_EXIT_INPUT;
        }
        if (trust == NULL)
            fprintf(stderr, "tlsdiag: system trust store: %s (certificates are not checked for trust)\n", err);
        r.rules.trust = trust;
        if (r.live)
            td_trust_preload(trust); /* its CA bundle is read lazily otherwise */
    }
    r.rules.chain_cache = td_chain_cache_new();
    /* the key log, like the trust store, is read before live mode drops
     * privileges; read mode loads it whole, live mode keeps it open */
    r.kl = td_keylog_new();
    kp = calloc(1, sizeof(*kp));
    if (r.kl == NULL || kp == NULL) {
        fprintf(stderr, "tlsdiag: out of memory\n");
        return TD_EXIT_INTERNAL;
    }
    if (keylog != NULL) {
        char err[256];
        struct td_keylog_stats ks;
        r.kl_given = true;
        r.kl_path = keylog;
        if (live) {
            kp->fp = fopen(keylog, "rb");
            if (kp->fp == NULL) {
                fprintf(stderr, "tlsdiag: --keylog %s: %s\n", keylog, strerror(errno));
                return TD_EXIT_INPUT;
            }
        } else if (td_keylog_load_file(r.kl, keylog, err, sizeof(err)) != 0) {
            fprintf(stderr, "tlsdiag: --keylog %s: %s\n", keylog, err);
            return TD_EXIT_INPUT;
        }
        td_keylog_stats(r.kl, &ks);
        if (!live && ks.secrets == 0)
            fprintf(stderr, "tlsdiag: --keylog %s: no usable secrets (%llu lines ignored)\n", keylog,
                    (unsigned long long)ks.ignored);
        else if (ks.ignored > 0 || ks.dropped > 0)
            fprintf(stderr, "tlsdiag: --keylog %s: %llu secrets for %u connections; %llu lines ignored, %llu dropped (cap %u)\n",
                    keylog, (unsigned long long)ks.secrets, ks.entries, (unsigned long long)ks.ignored,
                    (unsigned long long)ks.dropped, TD_KEYLOG_MAX_ENTRIES);
    }
    r.progress = !no_progress && !live && isatty(STDERR_FILENO);
    r.corr = td_corr_new();
    td_corr_set_idle(r.corr, r.lim.idle_timeout_s);
    r.pbatch = calloc(BATCH_MAX, sizeof(*r.pbatch));
    r.ptmp = calloc(BATCH_MAX, sizeof(*r.ptmp));
    r.wc0 = calloc(1, sizeof(*r.wc0));
    if (r.wc0 != NULL) {
        r.wc0->r = &r;
        r.wc0->rules = r.rules;
        td_wb_init(&r.wc0->w, worker_flush, r.wc0);
    }
    w = malloc(sizeof(*w));
    if (r.corr == NULL || r.wc0 == NULL || r.pbatch == NULL || r.ptmp == NULL || w == NULL) {
        fprintf(stderr, "tlsdiag: out of memory\n");
        return TD_EXIT_INTERNAL;
    }
    td_wb_init(w, flush_stdout, NULL);
    r.w = w;

    if (live) {
        rc = run_live(&r, iface, filter[0] ? filter : NULL, user, kp);
    } else {
        for (int i = optind; i < first_filter; i++) {
            int frc = read_file(&r, argv[i], flt);
            if (frc > rc)
                rc = frc;
        }
    }
    /* --json prints connections only, except with -q: then the summary
     * alone, as one JSON line */
    if (!r.no_summary && (!r.json || r.quiet)) {
        struct td_corr_stats cs;
        td_corr_stats(r.corr, &cs);
        r.sum.corr_evicted = cs.evicted;
        r.sum.corr_ctl_evicted = cs.ctl_evicted;
        r.sum.corr_pair_dropped = cs.pair_dropped;
        if (r.json)
            td_report_summary_json(w, &r.sum, &r.st_total);
        else
            td_report_summary_text(w, &r.sum, &r.st_total, &r.ro);
    }
    td_wb_flush(w);
    if (rc == TD_EXIT_OK && r.fail && r.sum.by_outcome[TD_OUT_FAILED] > 0)
        rc = TD_EXIT_FAILURES;
    if (td_alloc_failures() > 0) {
        /* we failed, not the peer: never a silently incomplete result */
        fprintf(stderr, "tlsdiag: out of memory: %llu allocation(s) failed; the results above are incomplete\n",
                (unsigned long long)td_alloc_failures());
        rc = TD_EXIT_INTERNAL;
    }
    td_filter_free(flt);
    td_chain_cache_free(r.rules.chain_cache);
    td_trust_free(trust);
    if (r.tl != NULL) {
        pthread_join(r.tl->th, NULL);
        td_trust_free(r.tl->t);
        pthread_cond_destroy(&r.tl->cv);
        pthread_mutex_destroy(&r.tl->mu);
        free(r.tl);
    }
    td_corr_free(r.corr);
    td_summary_free(&r.sum);
    td_keylog_free(r.kl);
    if (kp->fp != NULL)
        fclose(kp->fp);
    free(kp);
    if (r.wc0 != NULL)
        free(r.wc0->out);
    free(r.wc0);
    free(r.pbatch);
    free(r.ptmp);
    free(r.g.s);
    free(r.g.scratch);
    free(w);
    return rc;
}
