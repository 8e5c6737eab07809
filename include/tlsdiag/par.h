/* par.h: `tlsdiag read -j N`, the pipeline below the rules on N worker
 * threads.  Two ways: td_shards (below; lib/timeline/shard.c) for a file
 * every worker can read itself, and td_par (lib/timeline/par.c) for a
 * stream read once (stdin, gzip):
 *
 * The calling thread reads packets and keeps a flow directory: it decodes
 * each packet, finds its connection with the same rules as td_engine
 * (new connection, port reuse, FIN/RST linger, idle timeout, eviction,
 * every due flow ended after each packet), assigns connection ids in order of first packet,
 * and decides when each connection ends.  Packets and end orders go, by a
 * hash of the 5-tuple, in batches through bounded queues to the workers;
 * each worker owns a driven td_engine and runs |work| on every connection
 * it finishes.  Results go to |deliver| (on a thread of its own) in the order the
 * connections ended, which is the order td_engine would have ended them
 * in: ids, facts and order do not depend on N.  The caps are kept per
 * partition of the flows (lib/tcp/flowtab.h), and a worker holds whole
 * partitions, so they evict the same flows whatever N is.  One exception
 * on this path: a flow a worker's engine evicts for --max-memory is not a
 * directory decision, so its end is numbered with the next end the
 * directory sends that worker, and a later packet of it reopens it under
 * the directory's id; one engine would have ended it in place and given
 * the new connection a new id (par.c).  td_shards has no such exception. */
#ifndef TLSDIAG_PAR_H
#define TLSDIAG_PAR_H

#include <stdint.h>

#include "tlsdiag/capture.h"
#include "tlsdiag/conn.h"

/* Embed first in the caller's result struct. */
struct td_par_res {
    struct td_par_res *next;
    uint64_t seq;
    bool last, empty; /* par.c's own */
    uint8_t end_phase; /* shard.c's own: the order of ends */
    uint64_t end_frame, last_frame, first_frame;
    /* td_shards: the connection's id, for |deliver| to put in place of the
     * 0 its worker saw (td_report_id_at); 0 from td_par (the worker knew it) */
    uint64_t id;
};

/* On a worker thread: |c| is finished and owned by |work|, which returns
 * a result (never NULL) for |deliver|.  |wctx| is the worker's own. */
typedef struct td_par_res *(*td_par_work_fn)(void *wctx, struct td_conn *c);
/* In the order connections ended, on a thread of td_par's own (one, the
 * same for every result); owns |r|.  After td_par_finish returns, the
 * caller sees all it did. */
typedef void (*td_par_deliver_fn)(void *ctx, struct td_par_res *r);

#define TD_PAR_MAX 64

/* td_par_jobs_max: the most workers that can have flows under |l| (NULL:
 * the defaults): a worker holds whole partitions of the flows, 16 (fewer
 * when --max-flows is under 16, or when --max-memory is small next to the
 * largest flow the other caps allow).  More workers would only read. */
unsigned td_par_jobs_max(const struct td_limits *l);

struct td_par;
/* |wctx| holds |n| worker contexts (n from 1 to TD_PAR_MAX).  NULL when
 * threads or memory cannot be had. */
struct td_par *td_par_new(unsigned n, const struct td_limits *l, td_par_work_fn work, void *const *wctx,
                          td_par_deliver_fn deliver, void *ctx);
/* td_par_use_reader: |rd| reads into td_par's buffers, which stay lent to
 * the workers until they have read the packets in them (no copy).  Call
 * it before the first td_par_packet, feed only packets of |rd|, and close
 * |rd| before td_par_free. */
void td_par_use_reader(struct td_par *p, struct td_reader *rd);
void td_par_packet(struct td_par *p, const struct td_pkt *pkt);
/* td_par_quiesce returns once every worker has handled every packet handed
 * out so far (results are delivered meanwhile): shared state the workers
 * read, such as the key log, may then change. */
void td_par_quiesce(struct td_par *p);
/* td_par_set_keylog: td_engine_set_keylog on every worker's engine (after
 * td_par_quiesce, or before the first packet). */
struct td_keylog;
void td_par_set_keylog(struct td_par *p, const struct td_keylog *kl);
/* td_par_finish ends every open connection (end of input), delivers every
 * result and stops the workers. */
void td_par_finish(struct td_par *p);
/* Counters so far (workers' share only after td_par_finish). */
void td_par_stats(const struct td_par *p, struct td_stats *st);
void td_par_free(struct td_par *p);
/* CPU seconds worker |i| / the delivering thread used (after
 * td_par_finish), for benchmarks. */
double td_par_worker_cpu(const struct td_par *p, unsigned i);
double td_par_deliver_cpu(const struct td_par *p);

/* ---- td_shards (lib/timeline/shard.c): `read -j N` of a capture file
 * that can be read more than once (a regular file, not compressed).  No
 * thread reads for the others: each of the N workers reads the whole
 * capture itself and runs an ordinary td_engine that builds only its shard
 * of the TCP flows (td_engine_shard) but sees every packet's time, so it
 * ends its flows where one engine would (flowtab.h).  Nothing crosses
 * cores per packet.  Ids in order of first packet are given across the
 * shards by the worker delivering (one at a time, by preference the one
 * ahead), which also merges the results in the
 * order the connections ended (end_frame, end_phase, last_frame): the
 * output is that of one engine, also under --max-flows and --max-memory,
 * which are kept per partition of the flows and a worker holds whole
 * partitions (lib/tcp/flowtab.h). */
struct td_shards;
struct td_engine;
struct td_shard_hooks {
    /* once on each worker's thread before it reads: |rd| and |e| are its.
     * Returns whether |packet| is to be called on this worker (NULL: yes) */
    bool (*start)(void *wctx, struct td_reader *rd, struct td_engine *e);
    /* every packet, on each worker |start| said so for: false skips it (a
     * filter) */
    bool (*packet)(void *wctx, const struct td_pkt *pkt);
};
struct td_shards *td_shards_new(unsigned n, const struct td_limits *l, const char *path,
                                const struct td_shard_hooks *hooks, td_par_work_fn work, void *const *wctx,
                                td_par_deliver_fn deliver, void *ctx);
/* td_shards_wait returns when |timeout_s| has passed (false) or when every
 * result is delivered and the threads have ended (true).  |deliver| is
 * called on the workers' threads, one call at a time. */
bool td_shards_wait(struct td_shards *s, double timeout_s);
/* progress of worker 0 so far: file offset, packets, connections */
void td_shards_progress(struct td_shards *s, uint64_t *off, uint64_t *packets, uint64_t *flows);
/* after td_shards_wait: how the reading ended (0, or -1 with |err|: the
 * earliest error of any worker's reader), the summed counters, CPU seconds
 * per thread */
int td_shards_result(const struct td_shards *s, struct td_input_error *err);
void td_shards_stats(const struct td_shards *s, struct td_stats *st);
double td_shards_worker_cpu(const struct td_shards *s, unsigned i);
void td_shards_free(struct td_shards *s);

#endif
