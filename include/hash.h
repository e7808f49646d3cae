/* hash.h — the 64-bit finaliser the seeded hashes share (dedup.c, group.c):
 * MurmurHash3's fmix64, a bijection whose every input bit reaches every
 * output bit. Pure. */
#ifndef MAILVET_HASH_H
#define MAILVET_HASH_H

#include <stdint.h>

static inline uint64_t hash_fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

#endif
