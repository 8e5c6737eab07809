/* alloc.c: counted allocation with a test hook (include/tlsdiag/alloc.h). */
#include "tlsdiag/alloc.h"

#include <stdlib.h>

static uint64_t failures, count, fail_at;

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
        failures++;
    return p;
}

void *td_malloc(size_t n) { return note(inject() ? NULL : malloc(n)); }

void *td_calloc(size_t n, size_t size) { return note(inject() ? NULL : calloc(n, size)); }

void *td_realloc(void *p, size_t n) { return note(inject() ? NULL : realloc(p, n)); }

uint64_t td_alloc_failures(void) { return failures; }

uint64_t td_alloc_count(void) { return count; }

void td_alloc_reset(void)
{
    failures = 0;
    count = 0;
    fail_at = 0;
}

void td_alloc_fail_at(uint64_t n) { fail_at = n == 0 ? 0 : count + n; }
