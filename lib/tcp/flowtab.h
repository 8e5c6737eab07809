/* flowtab.h (internal): flows keyed by the TCP 5-tuple, with two recency
 * lists for expiry and eviction: open flows, and flows that have ended
 * (FIN both ways, RST) and only linger for late packets.  Nodes are
 * intrusive: embed td_flow_node as the first member of the owner's struct.
 *
 * Expiry is a decision about one flow alone: a flow is due when the
 * capture clock has passed its last packet by its list's limit.  Touches
 * stamp the capture clock (the latest time seen, never going back), so
 * each list is in order of last packet and of last time at once, and the
 * due flows are a prefix of each list.  That makes the set of flows due at
 * a packet, and their order (by last packet, tseq), the same whether one
 * table holds every flow or each of `read -j`'s workers holds its shard.
 *
 * Partitions: every flow is in one of up to TD_FLOW_PARTS partitions, by an
 * unkeyed hash of its endpoints (td_flow_part), and each partition has a
 * recency list of its own (open and ended flows together, in order of last
 * touch).  The caps (--max-flows, --max-memory) are kept per partition and
 * evict a partition's least recently touched flow, so what they evict
 * depends only on the partition's own flows: the same whether one engine
 * holds every partition or `read -j`'s workers share them out.  A cap kept
 * for the whole table instead would evict by what the worker's other flows
 * did, which differs with N. */
#ifndef TD_TCP_FLOWTAB_H
#define TD_TCP_FLOWTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/hash.h"

/* Canonical key: the two endpoints sorted, so both directions find it. */
struct td_flow_key {
    uint8_t ipver;
    uint8_t pad[3];
    uint16_t port[2];
    uint8_t addr[2][16];
};

struct td_flow_node {
    struct td_flow_node *hnext;
    struct td_flow_node *lprev, *lnext;
    struct td_flow_node *pprev, *pnext; /* its partition's recency list */
    uint64_t hash;
    struct td_flow_key key;
    int64_t last_ts_ns; /* the capture clock at its last packet */
    uint64_t tseq;      /* its last packet's number: the order of touches */
    uint8_t list;       /* TD_FL_OPEN or TD_FL_ENDED */
    uint8_t part;       /* its partition: set before td_flowtab_insert */
};

enum { TD_FL_OPEN = 0, TD_FL_ENDED = 1 };

/* Partitions.  16: the most `read -j` workers that can have a share (a
 * worker holds whole partitions), few enough that a partition's share of
 * the default --max-memory (12 MiB) holds the largest flow the other caps
 * allow (two 1 MiB reassembly windows and a 256 KiB message, with room). */
#define TD_FLOW_PARTS 16u

struct td_flow_part {
    struct td_flow_node *head, *tail; /* head = least recently touched */
    size_t count;
    uint64_t cap; /* its share of --max-flows (td_flowtab_set_caps) */
};

struct td_flowtab {
    struct td_flow_node **buckets;
    size_t nbuckets;   /* power of two */
    size_t count;
    struct td_flow_node *head[2], *tail[2]; /* by list; head = least recently used */
    struct td_flow_part part[TD_FLOW_PARTS];
    int grown; /* the partition a flow was last inserted in, until
                * td_flowtab_over_cap finds it within its cap (-1: none) */
};

/* td_flow_parts: how many partitions the caps are kept in, for a flow cap
 * of |max_flows|: TD_FLOW_PARTS, fewer when the cap is smaller (each
 * partition holds at least one flow).  It depends on the caps only, never
 * on the number of workers. */
static inline unsigned td_flow_parts(uint32_t max_flows)
{
    return max_flows == 0 ? 1u : max_flows < TD_FLOW_PARTS ? (unsigned)max_flows : TD_FLOW_PARTS;
}

/* td_flow_part_cap: partition |p|'s share of |total| (flows or bytes) over
 * |nparts|: the shares add up to |total|, none is 0 unless |total| is */
static inline uint64_t td_flow_part_cap(uint64_t total, unsigned nparts, unsigned p)
{
    return total / nparts + (p < total % nparts ? 1u : 0u);
}

/* td_flow_part: the partition (of |nparts|) of the flow between (a, pa)
 * and (b, pb), in either order (XOR is symmetric: no sorting).  Not keyed:
 * the same partition in every run, so that what the caps evict is the same
 * every run; crafted endpoints can only unbalance the partitions.  `read
 * -j`'s workers run it on every packet, so: IPv4 addresses read as the 4
 * bytes the decoder stored (8-byte loads across its smaller stores
 * stalled), the range reduced by a multiplication, not a division. */
static inline unsigned td_flow_part(uint8_t ipver, const uint8_t a[16], const uint8_t b[16], uint16_t pa,
                                    uint16_t pb, unsigned nparts)
{
    uint64_t x, h;

    if (ipver == 4) {
        uint32_t a0, b0;
        memcpy(&a0, a, 4);
        memcpy(&b0, b, 4);
        x = a0 ^ b0;
    } else {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&a1, a + 8, 8);
        memcpy(&b0, b, 8);
        memcpy(&b1, b + 8, 8);
        x = (a0 ^ b0) ^ td_rotl64(a1 ^ b1, 29);
    }
    /* one multiplication (Fibonacci hashing: the high half of the product
     * depends on every input bit), not a full mixer: `read -j`'s workers
     * branch on the result for every packet, a branch no predictor can
     * learn, and its mispredictions cost until the chain resolves */
    h = (x ^ ((uint64_t)(uint16_t)(pa ^ pb) << 40 | ipver)) * 0x9e3779b97f4a7c15ULL;
    return (unsigned)(((h >> 32) * nparts) >> 32);
}

/* td_flow_key_part: td_flow_part of a key's two endpoints */
static inline unsigned td_flow_key_part(const struct td_flow_key *k, unsigned nparts)
{
    return td_flow_part(k->ipver, k->addr[0], k->addr[1], k->port[0], k->port[1], nparts);
}

/* td_flow_key_make fills |k| for a packet from (src,sport) to (dst,dport)
 * and returns which key endpoint (0/1) the sender is. */
int td_flow_key_make(struct td_flow_key *k, uint8_t ipver, const uint8_t src[16],
                     uint16_t sport, const uint8_t dst[16], uint16_t dport);
/* td_flow_key_make_hashed: td_flow_key_make, and td_flow_key_hash of the
 * key in |h| */
int td_flow_key_make_hashed(struct td_flow_key *k, uint64_t *h, uint8_t ipver, const uint8_t src[16],
                            uint16_t sport, const uint8_t dst[16], uint16_t dport);
/* td_flow_key_hash is keyed per process (util/seed.h; td_flowtab_init sets
 * the key): for tables.  What must be the same in every run (a flow's
 * partition, hence its -j worker) uses td_flow_part, unkeyed. */
uint64_t td_flow_key_hash(const struct td_flow_key *k);

bool td_flowtab_init(struct td_flowtab *t, size_t initial);
void td_flowtab_cleanup(struct td_flowtab *t);
struct td_flow_node *td_flowtab_find(struct td_flowtab *t, const struct td_flow_key *k, uint64_t h);
/* td_flowtab_insert links |n| (key and hash already set); may grow the table. */
void td_flowtab_insert(struct td_flowtab *t, struct td_flow_node *n);
void td_flowtab_remove(struct td_flowtab *t, struct td_flow_node *n);
/* td_flowtab_touch moves |n| to the most-recently-used end of its list;
 * |clock_ns| must not go back from touch to touch, |seq| must grow. */
void td_flowtab_touch(struct td_flowtab *t, struct td_flow_node *n, int64_t clock_ns, uint64_t seq);
/* td_flowtab_end moves a flow just touched to the ended list. */
void td_flowtab_end(struct td_flowtab *t, struct td_flow_node *n);
/* td_flowtab_ended: |n| has been moved to the ended list (it stays there) */
static inline bool td_flowtab_ended(const struct td_flow_node *n) { return n->list == TD_FL_ENDED; }
/* td_flowtab_oldest: the least recently touched flow of both lists. */
struct td_flow_node *td_flowtab_oldest(const struct td_flowtab *t);
/* td_flowtab_part_oldest: the least recently touched flow of partition |p| */
static inline struct td_flow_node *td_flowtab_part_oldest(const struct td_flowtab *t, unsigned p)
{
    return t->part[p].head;
}
static inline size_t td_flowtab_part_count(const struct td_flowtab *t, unsigned p) { return t->part[p].count; }
/* td_flowtab_set_caps: partition p of |nparts| holds at most
 * td_flow_part_cap(max_flows, nparts, p) flows (until then: no cap) */
void td_flowtab_set_caps(struct td_flowtab *t, unsigned nparts, uint64_t max_flows);
/* td_flowtab_over_cap: while the partition a flow was last inserted in
 * (the only one whose count grew) holds more than its cap, its least
 * recently touched flow, for the caller to close and remove; then NULL.
 * The engine and par.c's directory ask after every packet (inline: nearly
 * always no flow was inserted since). */
static inline struct td_flow_node *td_flowtab_over_cap(struct td_flowtab *t)
{
    struct td_flow_part *q;

    if (t->grown < 0)
        return NULL;
    q = &t->part[t->grown];
    if (q->count > q->cap && q->head != NULL)
        return q->head;
    t->grown = -1;
    return NULL;
}
/* the less recently touched of two flows (either may be NULL) */
static inline struct td_flow_node *td__flow_older(struct td_flow_node *a, struct td_flow_node *b)
{
    if (a == NULL)
        return b;
    if (b == NULL)
        return a;
    return a->tseq <= b->tseq ? a : b;
}

/* td_flowtab_due: of the flows whose last packet is more than |limit_ns|
 * of their list before |now_ns|, the least recently touched; NULL if none.
 * Inline: the engine asks after every packet, and nearly always nothing is
 * due, which the two list heads tell. */
static inline struct td_flow_node *td_flowtab_due(const struct td_flowtab *t, int64_t now_ns,
                                                  const int64_t limit_ns[2])
{
    struct td_flow_node *due[2];

    for (int l = 0; l < 2; l++) {
        struct td_flow_node *h = t->head[l];
        due[l] = h != NULL && now_ns - h->last_ts_ns > limit_ns[l] ? h : NULL;
    }
    return td__flow_older(due[0], due[1]);
}

#endif
