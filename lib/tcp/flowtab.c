/* flowtab.c: chained hash table (power-of-two buckets, doubling at load 1)
 * plus two intrusive recency lists (flowtab.h).  No allocation per lookup. */
#include "flowtab.h"
#include "tlsdiag/alloc.h"
#include "util/hash.h"
#include "util/seed.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* td_flow_key_make: the first 8 bytes (ipver, 3 zero bytes, the two ports)
 * are put together in a register and stored at once, and the addresses as
 * 16-byte copies, so that the hash's 8-byte loads right after are each
 * served by one store (a load spanning several smaller stores stalls). */
int td_flow_key_make(struct td_flow_key *k, uint8_t ipver, const uint8_t src[16],
                     uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
    int c = memcmp(src, dst, 16);
    int swap = c > 0 || (c == 0 && sport > dport);
    uint16_t p0 = swap ? dport : sport, p1 = swap ? sport : dport;
    uint64_t w0;

    _Static_assert(offsetof(struct td_flow_key, port) == 4 && offsetof(struct td_flow_key, addr) == 8,
                   "flow key head");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w0 = (uint64_t)ipver | (uint64_t)p0 << 32 | (uint64_t)p1 << 48;
#else
    {
        struct td_flow_key h;
        memset(&h, 0, 8);
        h.ipver = ipver;
        h.port[0] = p0;
        h.port[1] = p1;
        memcpy(&w0, &h, sizeof(w0));
    }
#endif
    memcpy(k, &w0, sizeof(w0));
    memcpy(k->addr[0], swap ? dst : src, 16);
    memcpy(k->addr[1], swap ? src : dst, 16);
    return swap;
}

/* key_mix: the key's five words through td_hash_words5 (util/hash.h) */
static inline uint64_t key_mix(const struct td_flow_key *k, const uint64_t s[5])
{
    uint64_t w[5];
    memcpy(w, k, sizeof(w)); /* the key is 40 bytes, no padding holes left unset */
    return td_hash_words5(w, s);
}

_Static_assert(sizeof(struct td_flow_key) == 40, "flow key layout");

/* td_flow_key_hash: keyed by the process's td_seed (util/seed.h), so that a
 * crafted capture cannot aim its flows at one bucket: without the key,
 * with the two halves of an IPv6 address free, solving for a colliding
 * second half takes one multiplication (hostile-capture.py hashflood). */
uint64_t td_flow_key_hash(const struct td_flow_key *k) { return key_mix(k, td_seed); }

/* the same without the key: the same for every run */
uint64_t td_flow_key_hash_fixed(const struct td_flow_key *k)
{
    static const uint64_t zero[5];
    return key_mix(k, zero);
}

bool td_flowtab_init(struct td_flowtab *t, size_t initial)
{
    size_t n = 1024;
    td_seed_init(); /* before the first td_flow_key_hash */
    memset(t, 0, sizeof(*t));
    while (n < initial)
        n *= 2;
    t->buckets = td_calloc(n, sizeof(*t->buckets));
    if (t->buckets == NULL)
        return false;
    t->nbuckets = n;
    return true;
}

void td_flowtab_cleanup(struct td_flowtab *t)
{
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

/* key_eq: the five 8-byte words compared (no call, no byte loop) */
static bool key_eq(const struct td_flow_key *a, const struct td_flow_key *b)
{
    uint64_t x[5], y[5];
    memcpy(x, a, sizeof(x));
    memcpy(y, b, sizeof(y));
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

struct td_flow_node *td_flowtab_find(struct td_flowtab *t, const struct td_flow_key *k, uint64_t h)
{
    struct td_flow_node *n = t->buckets[h & (t->nbuckets - 1)];
    for (; n != NULL; n = n->hnext)
        if (n->hash == h && key_eq(&n->key, k))
            return n;
    return NULL;
}

static void grow(struct td_flowtab *t)
{
    size_t nn = t->nbuckets * 2;
    struct td_flow_node **nb = td_calloc(nn, sizeof(*nb));
    if (nb == NULL)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct td_flow_node *n = t->buckets[i];
        while (n != NULL) {
            struct td_flow_node *next = n->hnext;
            size_t b = n->hash & (nn - 1);
            n->hnext = nb[b];
            nb[b] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = nn;
}

static void lru_unlink(struct td_flowtab *t, struct td_flow_node *n)
{
    if (n->lprev != NULL)
        n->lprev->lnext = n->lnext;
    else
        t->head[n->list] = n->lnext;
    if (n->lnext != NULL)
        n->lnext->lprev = n->lprev;
    else
        t->tail[n->list] = n->lprev;
    n->lprev = n->lnext = NULL;
}

static void lru_append(struct td_flowtab *t, struct td_flow_node *n)
{
    n->lnext = NULL;
    n->lprev = t->tail[n->list];
    if (t->tail[n->list] != NULL)
        t->tail[n->list]->lnext = n;
    else
        t->head[n->list] = n;
    t->tail[n->list] = n;
}

void td_flowtab_insert(struct td_flowtab *t, struct td_flow_node *n)
{
    size_t b;
    if (t->count >= t->nbuckets)
        grow(t);
    b = n->hash & (t->nbuckets - 1);
    n->hnext = t->buckets[b];
    t->buckets[b] = n;
    t->count++;
    n->list = TD_FL_OPEN;
    lru_append(t, n);
}

void td_flowtab_remove(struct td_flowtab *t, struct td_flow_node *n)
{
    struct td_flow_node **pp = &t->buckets[n->hash & (t->nbuckets - 1)];
    while (*pp != NULL && *pp != n)
        pp = &(*pp)->hnext;
    if (*pp == n)
        *pp = n->hnext;
    t->count--;
    lru_unlink(t, n);
}

void td_flowtab_touch(struct td_flowtab *t, struct td_flow_node *n, int64_t clock_ns, uint64_t seq)
{
    n->last_ts_ns = clock_ns;
    n->tseq = seq;
    if (t->tail[n->list] != n) {
        lru_unlink(t, n);
        lru_append(t, n);
    }
}

void td_flowtab_end(struct td_flowtab *t, struct td_flow_node *n)
{
    if (n->list == TD_FL_ENDED)
        return;
    lru_unlink(t, n);
    n->list = TD_FL_ENDED;
    lru_append(t, n); /* just touched: the latest of the ended list too */
}

static struct td_flow_node *older(struct td_flow_node *a, struct td_flow_node *b)
{
    if (a == NULL)
        return b;
    if (b == NULL)
        return a;
    return a->tseq <= b->tseq ? a : b;
}

struct td_flow_node *td_flowtab_oldest(const struct td_flowtab *t) { return older(t->head[0], t->head[1]); }

struct td_flow_node *td_flowtab_due(const struct td_flowtab *t, int64_t now_ns, const int64_t limit_ns[2])
{
    struct td_flow_node *due[2];

    for (int l = 0; l < 2; l++) {
        struct td_flow_node *h = t->head[l];
        due[l] = h != NULL && now_ns - h->last_ts_ns > limit_ns[l] ? h : NULL;
    }
    return older(due[0], due[1]);
}
