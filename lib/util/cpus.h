/* cpus.h (internal): the CPUs this process may run on (cpus.c). */
#ifndef TD_UTIL_CPUS_H
#define TD_UTIL_CPUS_H

/* td_cpus_usable: the CPUs in this process's affinity mask (at least 1) */
unsigned td_cpus_usable(void);

#endif
