/* flowtab.h (internal): flows keyed by the TCP 5-tuple, with an LRU list
 * for idle expiry and eviction.  Nodes are intrusive: embed td_flow_node as
 * the first member of the owner's struct. */
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
    int64_t last_ts_ns;
};

struct td_flowtab {
    struct td_flow_node **buckets;
    size_t nbuckets;   /* power of two */
    size_t count;
    struct td_flow_node *lru_head, *lru_tail; /* head = least recently used */
};

/* td_flow_key_make fills |k| for a packet from (src,sport) to (dst,dport)
 * and returns which key endpoint (0/1) the sender is. */
int td_flow_key_make(struct td_flow_key *k, uint8_t ipver, const uint8_t src[16],
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
/* td_flowtab_touch moves |n| to the most-recently-used end. */
void td_flowtab_touch(struct td_flowtab *t, struct td_flow_node *n, int64_t ts_ns);

#endif
