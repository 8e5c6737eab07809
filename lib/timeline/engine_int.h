/* engine_int.h (internal): the engine driven by a flow directory.  In
 * `read -j N` one thread decides, for every packet, which connection it
 * belongs to and when connections end (lib/timeline/par.c, with the same
 * rules td_engine_packet applies); the worker engines only build the
 * connections they are told about.  So ids and the order connections end
 * are the same whatever N is. */
#ifndef TD_TIMELINE_ENGINE_INT_H
#define TD_TIMELINE_ENGINE_INT_H

#include "tcp/flowtab.h"
#include "tlsdiag/conn.h"

/* A closed connection lingers this long (capture time) for late packets. */
#define TD_LINGER_NS (2LL * 1000000000LL)

/* td_engine_drive puts a new engine in driven mode: no expiry, flows opened
 * and closed only as told; relative times count from |start_ns|. */
void td_engine_drive(struct td_engine *e, int64_t start_ns);
/* td_engine_tcp_driven: one decoded segment of the directory's connection
 * |id|, whose key hashes to |hash|; |fresh| opens it (closing a flow of the
 * same key first).  A driven engine applies its own --max-memory (the
 * caller's share): the flows it evicts are reported by it, and a later
 * segment of one opens a new connection under the same id. */
void td_engine_tcp_driven(struct td_engine *e, const struct td_pkt *pkt, const struct td_tcp_pkt *t, uint64_t id,
                          bool fresh, uint64_t hash);
void td_engine_close_driven(struct td_engine *e, const struct td_flow_key *k, uint64_t hash, bool evicted);

#endif
