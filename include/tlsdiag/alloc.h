/* alloc.h: every heap allocation of libtlsdiag goes through these
 * (lib/util/alloc.c), so that
 *   - a failed allocation is counted: the CLI reports "out of memory" and
 *     exits 5 instead of printing a silently incomplete result, and
 *   - tests can make the N-th allocation fail (td_alloc_fail_at) and walk N
 *     over a whole run (tests/unit/test_alloc_fail.c, curl's "torture").
 * Allocations inside OpenSSL and libpcap are not counted; zlib's inflate
 * state for a gzip capture is (lib/capture/reader.c gives it td_calloc). */
#ifndef TLSDIAG_ALLOC_H
#define TLSDIAG_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *td_malloc(size_t n);
void *td_calloc(size_t n, size_t size);
void *td_realloc(void *p, size_t n);

/* td_pool_alloc: like td_malloc (counted, injectable, not zeroed), but a
 * block of the same size given back by td_pool_free on this thread is
 * reused.  td_pool_free(p, n): |n| must be the size |p| was allocated with
 * (by td_pool_alloc or any of the above); NULL is a no-op.  For the few
 * large per-connection structs; a block from either may go to free(). */
void *td_pool_alloc(size_t n);
void td_pool_free(void *p, size_t n);
/* td_pool_grow: realloc for pooled blocks: a block of |n| bytes holding the
 * first min(|old|, |n|) bytes of |p| (a block of |old| bytes, or NULL),
 * which goes back to the pool.  NULL on failure, |p| then untouched.
 * One counted allocation, like td_realloc. */
void *td_pool_grow(void *p, size_t old, size_t n);
/* td_pool_held: bytes this thread's stacks keep for reuse (at most 16 MiB) */
size_t td_pool_held(void);

/* td_alloc_failures: allocations that failed (for real or injected) since
 * the process started or td_alloc_reset. */
uint64_t td_alloc_failures(void);
/* td_alloc_count: allocations attempted by this thread since td_alloc_reset. */
uint64_t td_alloc_count(void);
void td_alloc_reset(void);

/* Test hook: make the |n|-th allocation from now fail (1 = the next one);
 * 0 disarms.  Only that one fails; later ones succeed again, so every
 * failure path is reached on its own.  Not thread-safe; for tests. */
void td_alloc_fail_at(uint64_t n);

#endif
