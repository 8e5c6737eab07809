/* hash.h (internal): the library's hash functions, one of each kind.
 * td_hash_words5 for hash tables of fixed-size keys (keyed by util/seed.h
 * where strangers fill the table); td_hash_bytes for a memo's key bytes
 * (json.c's ClientHello lists, fingerprint.c's fingerprints), not for tables
 * that strangers fill without bound: a memo is direct-mapped and small, so
 * a collision only costs a recomputation. */
#ifndef TD_UTIL_HASH_H
#define TD_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t td_rotl64(uint64_t v, unsigned r) { return (v << r) | (v >> (64 - r)); }

/* td_mix64: splitmix64's finaliser, so the low bits that pick a bucket
 * depend on every input bit */
static inline uint64_t td_mix64(uint64_t h)
{
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* td_hash_words5: the hash of the table keys (a flow's 5-tuple, the
 * correlation store's server and client addresses, a ClientHello.random):
 * each 8-byte word, XORed with its key word |k| (util/seed.h's td_seed, or
 * zeros for a hash that must be the same every run), multiplied by its own
 * odd constant (independent products, so they overlap in the pipeline
 * instead of waiting on each other as a chained mix did), rotated apart,
 * folded, then td_mix64. */
static inline uint64_t td_hash_words5(const uint64_t w[5], const uint64_t k[5])
{
    uint64_t h = (w[0] ^ k[0]) * 0x9e3779b97f4a7c15ULL;
    h ^= td_rotl64((w[1] ^ k[1]) * 0xc2b2ae3d27d4eb4fULL, 13);
    h ^= td_rotl64((w[2] ^ k[2]) * 0x165667b19e3779f9ULL, 27);
    h ^= td_rotl64((w[3] ^ k[3]) * 0xd6e8feb86659fd93ULL, 41);
    h ^= td_rotl64((w[4] ^ k[4]) * 0xff51afd7ed558ccdULL, 53);
    return td_mix64(h);
}

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
