/* shard.h — splitting a list across machines by domain (--shard K/N):
 * every row of a domain lands in the same shard, so no two machines probe
 * the same domain, and the split is the same on every machine and run.
 */
#ifndef MAILVET_SHARD_H
#define MAILVET_SHARD_H

#include <stdbool.h>

/* Parse "K/N" (1 <= K <= N <= 100000). */
bool shard_parse(const char *s, int *k, int *n);

/* The shard (1..N) of DOMAIN, the row's ASCII (A-label), lower-case domain,
 * "" when the row has none: FNV-1a 64 of the bytes, modulo N, plus one. */
int shard_of(const char *domain, int n);

#endif
