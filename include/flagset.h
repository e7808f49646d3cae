/* flagset.h — a set of names, each with one bit, kept as 64-bit hashes of
 * the names: 8 bytes a name in one open-addressed table (at most 3/4 full),
 * where a hash table of the names themselves costs about 60. The engine's
 * memory of a million finished domains' accept-all answers (engine.c,
 * `learned`). Two names whose 64-bit hashes are equal are one entry: among a
 * million names that happens with a chance of about 3 in 10^8.
 * Not thread-safe; out of memory aborts.
 */
#ifndef MAILVET_FLAGSET_H
#define MAILVET_FLAGSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct flagset {
    uint64_t *slot;             /* 0: empty; else the name's key (hash, bit 0 the flag) */
    size_t cap, n;              /* cap a power of two, or 0 */
} flagset;

void flagset_init(flagset *f);
void flagset_free(flagset *f);

/* NAME's flag is BIT from now on. */
void flagset_put(flagset *f, const char *name, bool bit);

/* NAME's flag into *BIT; false when NAME is not in the set. */
bool flagset_get(const flagset *f, const char *name, bool *bit);

/* NAME's flag into *BIT, and NAME out of the set; false when it was not in it. */
bool flagset_take(flagset *f, const char *name, bool *bit);

size_t flagset_count(const flagset *f);

#endif
