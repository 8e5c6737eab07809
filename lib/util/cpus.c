/* cpus.c: how many CPUs this process may run on, for `read`'s default -j.
 * The affinity mask, not the machine's count: under taskset or a
 * container's cpuset the threads would only queue for the same cores. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "util/cpus.h"

#include <sched.h>
#include <unistd.h>

unsigned td_cpus_usable(void)
{
    cpu_set_t set;
    long n;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}
