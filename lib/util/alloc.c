/* alloc.c: counted allocation with a test hook (include/tlsdiag/alloc.h). */
#include "tlsdiag/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

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
