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

/* The steps of a packet at which connections end, in order: a new SYN
 * reusing an ended flow's ports closes it before the packet is read; the
 * memory cap of the packet's partition evicts after; then every flow that
 * is due (flowtab.h) and, over its partition's share of --max-flows, the
 * oldest of the partition a flow was opened in.  Whatever is left ends at
 * the end of input (end_frame UINT64_MAX).  Within a step connections end
 * in order of their last packet (the evictions of a step are of one
 * partition, in its recency order).  So (end_frame, end_phase, last_frame)
 * orders the ends of one engine, and merges those of sharded engines into
 * the same order. */
enum { TD_END_REUSE = 0, TD_END_MEMORY = 1, TD_END_EXPIRE = 2, TD_END_EVICT = 3, TD_END_FLUSH = 4 };

/* td_limits_parts: how many partitions of the flows the caps are kept in
 * (lib/tcp/flowtab.h), from the caps alone, never from the number of
 * workers: 16; fewer when --max-flows is under 16 (each partition holds at
 * least one flow), and fewer when a partition's share of --max-memory
 * would not hold the largest flow the other caps allow (so raising
 * --max-handshake or --max-reassembly does not get a flow evicted that
 * the whole cap holds; at least 1).  A worker holds whole partitions. */
unsigned td_limits_parts(const struct td_limits *l);

/* td_engine_shard makes |e| one of |n| engines that each read every packet
 * but only build the TCP flows of shard |idx| (a hash of the endpoints).
 * Expiry still runs at every packet, so flows end where one engine would
 * end them (flowtab.h).  Each packet is counted in the stats of one shard
 * (its flow's, or the first shard's when it is not TCP): the shards' stats
 * add up to one engine's.  A new flow's connection has id 0 and is passed
 * to |on_new|: ids are given across the shards, in order of first packet
 * (lib/timeline/shard.c). */
typedef void (*td_engine_new_fn)(void *ctx, struct td_conn *c);
void td_engine_shard(struct td_engine *e, unsigned idx, unsigned n, td_engine_new_fn on_new, void *ctx);

/* td_stats_count counts one packet read and what decoding found in it
 * (the engine's and the flow directory's counters) */
void td_stats_count(struct td_stats *st, const struct td_pkt *pkt, enum td_decode_res res);

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
/* |now_ns|: the directory's capture clock, which the driven engine does not keep */
void td_engine_close_driven(struct td_engine *e, const struct td_flow_key *k, uint64_t hash, bool evicted,
                            int64_t now_ns);

#endif
