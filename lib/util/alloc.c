/* alloc.c: counted allocation with a test hook (include/tlsdiag/alloc.h). */
#include "tlsdiag/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Atomic: `read -j` allocates on several threads.  Relaxed order is enough
 * for counters; the injection hook stays a single-thread test tool. */
static _Atomic uint64_t failures, count, fail_at;

static int inject(void)
{
    uint64_t n = atomic_fetch_add_explicit(&count, 1, memory_order_relaxed) + 1;
    uint64_t at = atomic_load_explicit(&fail_at, memory_order_relaxed);
    if (at != 0 && n == at) {
        atomic_store_explicit(&fail_at, 0, memory_order_relaxed);
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

uint64_t td_alloc_count(void) { return atomic_load_explicit(&count, memory_order_relaxed); }

void td_alloc_reset(void)
{
    atomic_store_explicit(&failures, 0, memory_order_relaxed);
    atomic_store_explicit(&count, 0, memory_order_relaxed);
    atomic_store_explicit(&fail_at, 0, memory_order_relaxed);
}

void td_alloc_fail_at(uint64_t n)
{
    atomic_store_explicit(&fail_at, n == 0 ? 0 : atomic_load_explicit(&count, memory_order_relaxed) + n,
                          memory_order_relaxed);
}
