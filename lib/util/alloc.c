/* alloc.c: counted allocation with a test hook (include/tlsdiag/alloc.h). */
#include "tlsdiag/alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* `read -j` allocates on several threads: the failure count is atomic (it
 * is rare); the attempt count and the injection hook are per thread (the
 * hook is a single-thread test tool, and an atomic add on every allocation
 * cost 3% of a read). */
static _Atomic uint64_t failures;
static _Thread_local uint64_t count, fail_at;

static int inject(void)
{
    count++;
    if (fail_at != 0 && count == fail_at) {
        fail_at = 0;
        return 1;
    }
    return 0;
}

static void *note(void *p)
{
    if (p == NULL)
        atomic_fetch_add_explicit(&failures, 1, memory_order_relaxed);
    return p;
}

void *td_malloc(size_t n) { return note(inject() ? NULL : malloc(n)); }

void *td_calloc(size_t n, size_t size) { return note(inject() ? NULL : calloc(n, size)); }

void *td_realloc(void *p, size_t n) { return note(inject() ? NULL : realloc(p, n)); }

uint64_t td_alloc_failures(void) { return atomic_load_explicit(&failures, memory_order_relaxed); }

uint64_t td_alloc_count(void) { return count; }

void td_alloc_reset(void)
{
    atomic_store_explicit(&failures, 0, memory_order_relaxed);
    count = 0;
    fail_at = 0;
}

void td_alloc_fail_at(uint64_t n) { fail_at = n == 0 ? 0 : count + n; }

/* ---- recycled blocks ----
 * A connection's largest blocks (the flow, the td_conn, the ClientHello,
 * the record and handshake buffers, the event array) are bigger than
 * malloc's per-thread cache takes, so each came from and
 * went back to the main heap (_int_malloc/_int_free/unlink_chunk: ~15% of
 * a summary-only read).  Freed ones are kept on a short per-thread stack
 * per size instead and handed out again.  A recycled allocation is still
 * counted and can still be made to fail: the test hook sees the same
 * allocations in the same order.  The stacks of a thread that exits are
 * freed (a pthread key's destructor); the main thread's are reachable
 * until exit.  A stack holds up to POOL_MAX blocks: connections start and
 * end in bursts (a load balancer's capture, the bench capture), and a
 * short stack overflowed at every burst (64: 36% of allocations reused;
 * 4096: 99.5%).  What it keeps is bounded by the peak of blocks in use, as
 * malloc's own free lists would be (peak RSS on the bench capture: the same),
 * and by POOL_MAX_BYTES per thread: without it, a hostile capture whose flows
 * grow their buffers to a new size class in each phase would leave a
 * --max-memory's worth of blocks parked in every class (9 classes from 1 KB
 * to 256 KB), none of it counted by the engine's memory cap.  The message
 * structs (ServerHello, Certificate, ...) are under the per-thread cache's
 * size limit, but its bins hold 7 blocks each and a batch of results frees
 * thousands at once: past the 7th they too went to the main heap, under
 * its lock with -j.  Slots go to sizes in the order first freed. */
#define POOL_SLOTS 24
#define POOL_MAX 4096
#define POOL_MAX_BYTES (16u << 20)

struct pool_blk {
    struct pool_blk *next;
};

static _Thread_local struct pool_slot {
    size_t size;
    struct pool_blk *head;
    unsigned n;
} pool[POOL_SLOTS];
static _Thread_local bool pool_keyed;
static _Thread_local size_t pool_bytes; /* held by this thread's stacks */
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static bool pool_key_ok;

static void pool_drain(void *unused)
{
    (void)unused;
    for (int i = 0; i < POOL_SLOTS; i++) {
        while (pool[i].head != NULL) {
            struct pool_blk *b = pool[i].head;
            pool[i].head = b->next;
            free(b);
        }
        pool[i].n = 0;
    }
    pool_bytes = 0;
}

static void pool_key_init(void) { pool_key_ok = pthread_key_create(&pool_key, pool_drain) == 0; }

void *td_pool_alloc(size_t n)
{
    if (inject())
        return note(NULL);
    for (int i = 0; i < POOL_SLOTS; i++) {
        if (pool[i].size == n && pool[i].head != NULL) {
            struct pool_blk *b = pool[i].head;
            pool[i].head = b->next;
            pool[i].n--;
            pool_bytes -= n;
#if defined(__GNUC__)
            /* the next one's link is read at the next pop: a block freed
             * long ago is out of the cache (5% of a read stalled here) */
            if (b->next != NULL)
                __builtin_prefetch(b->next);
#endif
            return b;
        }
    }
    return note(malloc(n));
}

void td_pool_free(void *p, size_t n)
{
    struct pool_slot *s = NULL;

    if (p == NULL)
        return;
    for (int i = 0; i < POOL_SLOTS && s == NULL; i++)
        if (pool[i].size == n)
            s = &pool[i];
    for (int i = 0; i < POOL_SLOTS && s == NULL; i++)
        if (pool[i].size == 0) {
            pool[i].size = n;
            s = &pool[i];
        }
    if (s == NULL || s->n >= POOL_MAX || n < sizeof(struct pool_blk) || n > POOL_MAX_BYTES - pool_bytes) {
        free(p);
        return;
    }
    if (!pool_keyed) {
        /* so that the stacks are freed when this thread ends */
        pthread_once(&pool_once, pool_key_init);
        if (!pool_key_ok || pthread_setspecific(pool_key, pool) != 0) {
            free(p);
            return;
        }
        pool_keyed = true;
    }
    ((struct pool_blk *)p)->next = s->head;
    s->head = p;
    s->n++;
    pool_bytes += n;
}

size_t td_pool_held(void) { return pool_bytes; }

void *td_pool_grow(void *p, size_t old, size_t n)
{
    void *q = td_pool_alloc(n);

    if (q == NULL)
        return NULL;
    if (p != NULL) {
        memcpy(q, p, old < n ? old : n);
        td_pool_free(p, old);
    }
    return q;
}
