/* htab.h — an intrusive chained hash table (one implementation for every
 * table keyed by name or address).
 *
 * The caller embeds an htab_node in its own struct, computes the hash (the
 * helpers below or its own) and supplies an equality callback that compares
 * a node with a key of the caller's choosing. The table owns only its bucket
 * array; the entries stay the caller's, who frees them (after htab_remove,
 * or all at once by iterating before htab_free). Buckets double when the
 * table holds as many entries as buckets. Not thread-safe: one owner.
 *
 * Iteration order is bucket order, newest first within a bucket: it is
 * deterministic for a given sequence of inserts and removals.
 */
#ifndef MAILVET_HTAB_H
#define MAILVET_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct htab_node {
    struct htab_node *next;     /* bucket chain */
    uint32_t hash;
} htab_node;

/* True when node N holds KEY (whatever the caller passes to htab_find). */
typedef bool (*htab_eq_fn)(const htab_node *n, const void *key);

typedef struct htab {
    htab_node **b;
    size_t nb;                  /* buckets, a power of two */
    size_t n;                   /* entries */
    htab_eq_fn eq;
} htab;

/* The struct of type TYPE whose member MEMBER is the node at PTR. */
#define HTAB_ENTRY(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Set T up with at least MIN_BUCKETS buckets (rounded up to a power of two).
 * False when out of memory (T is then empty and htab_free is a no-op). */
bool htab_init(htab *t, size_t min_buckets, htab_eq_fn eq);

/* Free the bucket array; the entries are the caller's and untouched. */
void htab_free(htab *t);

/* The entry with HASH for which eq(node, KEY) holds, or NULL. */
htab_node *htab_find(const htab *t, uint32_t hash, const void *key);

/* Add N (not already in T) under HASH. Grows first when full; when growing
 * fails for want of memory the chains get longer, lookups stay correct
 * (it aborts only when T has no bucket at all and none can be had). */
void htab_insert(htab *t, htab_node *n, uint32_t hash);

/* Take N, which is in T, out of it (N itself is not freed). */
void htab_remove(htab *t, htab_node *n);

static inline size_t htab_count(const htab *t) { return t->n; }

/* Walk every entry:
 *     htab_iter it; htab_iter_init(&it, t);
 *     for (htab_node *n; (n = htab_iter_next(&it)); ) ...
 * The node just returned may be removed or freed before the next call; no
 * other change to T is allowed during the walk. */
typedef struct htab_iter {
    const htab *t;
    size_t i;                   /* next bucket */
    htab_node *next;            /* next node of the current chain */
} htab_iter;

void htab_iter_init(htab_iter *it, const htab *t);
htab_node *htab_iter_next(htab_iter *it);

/* FNV-1a over a NUL-terminated string / LEN bytes. */
uint32_t htab_hash_str(const char *s);
uint32_t htab_hash_bytes(const void *p, size_t len);

#endif
