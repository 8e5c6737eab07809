/* par.h: `tlsdiag read -j N`, the pipeline below the rules on N worker
 * threads (lib/timeline/par.c).
 *
 * The calling thread reads packets and keeps a flow directory: it decodes
 * each packet, finds its connection with the same rules as td_engine
 * (new connection, port reuse, FIN/RST linger, idle timeout, eviction,
 * the same LRU checks), assigns connection ids in order of first packet,
 * and decides when each connection ends.  Packets and end orders go, by a
 * hash of the 5-tuple, in batches through bounded queues to the workers;
 * each worker owns a driven td_engine and runs |work| on every connection
 * it finishes.  Results go to |deliver| (on a thread of its own) in the order the
 * connections ended, which is the order td_engine would have ended them
 * in: ids, facts and order do not depend on N.  Except under --max-memory:
 * each worker's engine holds max_memory / N and evicts on its own (see
 * par.c); the output is then still the same from run to run, but not the
 * same as with one engine. */
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
};

/* On a worker thread: |c| is finished and owned by |work|, which returns
 * a result (never NULL) for |deliver|.  |wctx| is the worker's own. */
typedef struct td_par_res *(*td_par_work_fn)(void *wctx, struct td_conn *c);
/* In the order connections ended, on a thread of td_par's own (one, the
 * same for every result); owns |r|.  After td_par_finish returns, the
 * caller sees all it did. */
typedef void (*td_par_deliver_fn)(void *ctx, struct td_par_res *r);

#define TD_PAR_MAX 64

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

#endif
