/* cputime.h (internal): the calling thread's CPU seconds so far, for the
 * per-thread figures `read -j` reports with TLSDIAG_THREAD_TIMES=1 (bench/). */
#ifndef TD_UTIL_CPUTIME_H
#define TD_UTIL_CPUTIME_H

#include <time.h>

static inline double td_thread_cpu_s(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
