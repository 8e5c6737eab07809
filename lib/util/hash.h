/* hash.h (internal): the hash of a memo's key bytes (json.c's ClientHello
 * lists, fingerprint.c's fingerprints).  Not for tables that strangers fill
 * without bound (those are keyed: util/seed.h); a memo is direct-mapped and
 * small, so a collision only costs a recomputation. */
#ifndef TD_UTIL_HASH_H
#define TD_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t td_hash_bytes(const void *p, size_t n)
{
    const uint8_t *in = p;
    uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)n;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ in[i]) * 0x100000001b3u;
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 32);
}

#endif
