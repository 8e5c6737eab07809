/* seed.h (internal): per-process random keys for the hash tables that
 * strangers' bytes index (the flow table, the correlation store's server
 * keys).  With a fixed hash a crafted capture can put every flow in one
 * bucket and make each lookup walk all of them (tools/hostile-capture.py
 * hashflood: 20,000 IPv6 SYNs took 2.3 s, a million would take hours); with
 * a key the crafter does not know, it cannot.  Nothing tlsdiag prints
 * depends on the keys: the tables are looked up by exact key, and what is
 * walked in order (LRU lists, queues) does not follow the buckets. */
#ifndef TD_UTIL_SEED_H
#define TD_UTIL_SEED_H

#include <stdint.h>

#define TD_SEED_WORDS 5 /* td_hash_words5's key */
extern uint64_t td_seed[TD_SEED_WORDS];
/* td_seed_init fills td_seed once per process (later calls do nothing);
 * call it before the first hash, e.g. when a table is made. */
void td_seed_init(void);

#endif
