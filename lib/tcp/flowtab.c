/* flowtab.c: chained hash table (power-of-two buckets, doubling at load 1)
 * plus two intrusive recency lists (flowtab.h).  No allocation per lookup. */
#include "flowtab.h"
#include "tlsdiag/alloc.h"
#include "util/hash.h"
#include "util/seed.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* td_flow_key_make works in 8-byte words from end to end: the decoder
 * writes each address as two 8-byte stores (decode.c put_v4; an IPv6
 * address is one 16-byte copy), the addresses are read here as 8-byte
 * words and ordered by comparing them byte-swapped (the order memcmp would
 * give), and the key is stored as five 8-byte words that the hash then
 * loads.  Each load is served by one earlier store: a load that spans
 * several smaller stores cannot be forwarded and waits for them to reach
 * the cache, and a memcmp call here cost as much again (perf, `read -q`:
 * the key and its hash were ~8% of the time). */
static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* ord64: a word loaded from memory as a number that compares as its bytes
 * do (memcmp order) */
static inline uint64_t ord64(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(v);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return v;
#else
    uint8_t b[8];
    uint64_t o = 0;
    memcpy(b, &v, 8);
    for (int i = 0; i < 8; i++)
        o = o << 8 | b[i];
    return o;
#endif
}

/* put_word: word |i| of the key, one 8-byte store (see key_build) */
static inline void put_word(struct td_flow_key *k, unsigned i, uint64_t v)
{
#if defined(__GNUC__)
    __asm__("" : "+r"(v));
#endif
    memcpy((unsigned char *)k + 8 * i, &v, 8);
}

static inline int key_build(struct td_flow_key *k, uint64_t w[5], uint8_t ipver, const uint8_t src[16],
                            uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
    uint64_t s0 = ld64(src), s1 = ld64(src + 8), d0 = ld64(dst), d1 = ld64(dst + 8);
    uint64_t os0 = ord64(s0), od0 = ord64(d0), os1 = ord64(s1), od1 = ord64(d1);
    int swap = os0 != od0 ? os0 > od0 : os1 != od1 ? os1 > od1 : sport > dport;
    uint16_t p0 = swap ? dport : sport, p1 = swap ? sport : dport;

    _Static_assert(offsetof(struct td_flow_key, port) == 4 && offsetof(struct td_flow_key, addr) == 8,
                   "flow key head");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w[0] = (uint64_t)ipver | (uint64_t)p0 << 32 | (uint64_t)p1 << 48;
#else
    {
        struct td_flow_key h;
        memset(&h, 0, 8);
        h.ipver = ipver;
        h.port[0] = p0;
        h.port[1] = p1;
        memcpy(&w[0], &h, sizeof(w[0]));
    }
#endif
    w[1] = swap ? d0 : s0;
    w[2] = swap ? d1 : s1;
    w[3] = swap ? s0 : d0;
    w[4] = swap ? s1 : d1;
    /* word by word, each an 8-byte store.  GCC 12's SLP vectoriser pairs
     * such stores into 16-byte ones built through the stack (two 8-byte
     * stores, then a 16-byte load of them: the same stall); the empty asm
     * makes each word opaque to it and costs nothing. */
    put_word(k, 0, w[0]);
    put_word(k, 1, w[1]);
    put_word(k, 2, w[2]);
    put_word(k, 3, w[3]);
    put_word(k, 4, w[4]);
    return swap;
}

int td_flow_key_make(struct td_flow_key *k, uint8_t ipver, const uint8_t src[16],
                     uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
    uint64_t w[5];
    return key_build(k, w, ipver, src, sport, dst, dport);
}

/* the same, and td_flow_key_hash from the words still in registers (read
 * back from |k|, they were loaded with one 16-byte load over two 8-byte
 * stores: the stall again) */
int td_flow_key_make_hashed(struct td_flow_key *k, uint64_t *h, uint8_t ipver, const uint8_t src[16],
                            uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
    uint64_t w[5];
    int swap = key_build(k, w, ipver, src, sport, dst, dport);
    *h = td_hash_words5(w, td_seed);
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

bool td_flowtab_init(struct td_flowtab *t, size_t initial)
{
    size_t n = 1024;
    td_seed_init(); /* before the first td_flow_key_hash */
    memset(t, 0, sizeof(*t));
    td_flowtab_set_caps(t, TD_FLOW_PARTS, UINT64_MAX);
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

static void part_unlink(struct td_flowtab *t, struct td_flow_node *n)
{
    struct td_flow_part *q = &t->part[n->part];
    if (n->pprev != NULL)
        n->pprev->pnext = n->pnext;
    else
        q->head = n->pnext;
    if (n->pnext != NULL)
        n->pnext->pprev = n->pprev;
    else
        q->tail = n->pprev;
    n->pprev = n->pnext = NULL;
}

static void part_append(struct td_flowtab *t, struct td_flow_node *n)
{
    struct td_flow_part *q = &t->part[n->part];
    n->pnext = NULL;
    n->pprev = q->tail;
    if (q->tail != NULL)
        q->tail->pnext = n;
    else
        q->head = n;
    q->tail = n;
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
    if (n->part >= TD_FLOW_PARTS) /* a caller's bug: keep the lists sound */
        n->part = 0;
    t->part[n->part].count++;
    part_append(t, n);
    t->grown = n->part;
}

void td_flowtab_set_caps(struct td_flowtab *t, unsigned nparts, uint64_t max_flows)
{
    for (unsigned p = 0; p < TD_FLOW_PARTS; p++)
        t->part[p].cap = max_flows == UINT64_MAX || nparts == 0 ? UINT64_MAX
                         : p < nparts                          ? td_flow_part_cap(max_flows, nparts, p)
                                                               : 0;
    t->grown = -1;
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
    t->part[n->part].count--;
    part_unlink(t, n);
}

void td_flowtab_touch(struct td_flowtab *t, struct td_flow_node *n, int64_t clock_ns, uint64_t seq)
{
    n->last_ts_ns = clock_ns;
    n->tseq = seq;
    if (t->tail[n->list] != n) {
        lru_unlink(t, n);
        lru_append(t, n);
    }
    if (t->part[n->part].tail != n) {
        part_unlink(t, n);
        part_append(t, n);
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

struct td_flow_node *td_flowtab_oldest(const struct td_flowtab *t) { return td__flow_older(t->head[0], t->head[1]); }
