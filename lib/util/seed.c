/* seed.c: see seed.h */
#include "util/seed.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/hash.h"

uint64_t td_seed[TD_SEED_WORDS];
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void seed_fill(void)
{
    uint64_t s[TD_SEED_WORDS];

#ifdef TD_FUZZING
    /* the fuzzers replay an input exactly: same keys every run */
    for (int i = 0; i < TD_SEED_WORDS; i++)
        s[i] = td_mix64(0x5eed0000u + (uint64_t)i);
#else
    if (getrandom(s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
        /* no entropy pool yet (early boot): weaker, but not known ahead */
        struct timespec ts;
        uint64_t x;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&ts;
        for (int i = 0; i < TD_SEED_WORDS; i++)
            s[i] = x = td_mix64(x + 0x9e3779b97f4a7c15ULL);
    }
#endif
    memcpy(td_seed, s, sizeof(s));
}

void td_seed_init(void) { pthread_once(&seed_once, seed_fill); }
