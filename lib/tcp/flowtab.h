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
 * table holds every flow or each of `read -j`'s workers holds its shard. */
#ifndef TD_TCP_FLOWTAB_H
#define TD_TCP_FLOWTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    uint64_t hash;
    struct td_flow_key key;
    int64_t last_ts_ns; /* the capture clock at its last packet */
    uint64_t tseq;      /* its last packet's number: the order of touches */
    uint8_t list;       /* TD_FL_OPEN or TD_FL_ENDED */
};

enum { TD_FL_OPEN = 0, TD_FL_ENDED = 1 };

struct td_flowtab {
    struct td_flow_node **buckets;
    size_t nbuckets;   /* power of two */
    size_t count;
    struct td_flow_node *head[2], *tail[2]; /* by list; head = least recently used */
};

/* td_flow_key_make fills |k| for a packet from (src,sport) to (dst,dport)
 * and returns which key endpoint (0/1) the sender is. */
int td_flow_key_make(struct td_flow_key *k, uint8_t ipver, const uint8_t src[16],
                     uint16_t sport, const uint8_t dst[16], uint16_t dport);
/* td_flow_key_make_hashed: td_flow_key_make, and td_flow_key_hash of the
 * key in |h| */
int td_flow_key_make_hashed(struct td_flow_key *k, uint64_t *h, uint8_t ipver, const uint8_t src[16],
                            uint16_t sport, const uint8_t dst[16], uint16_t dport);
/* td_flow_key_hash is keyed per process (util/seed.h; td_flowtab_init sets
 * the key): for tables.  td_flow_key_hash_fixed is not: for what must be
 * the same in every run (read -j's choice of worker). */
uint64_t td_flow_key_hash(const struct td_flow_key *k);
uint64_t td_flow_key_hash_fixed(const struct td_flow_key *k);

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
