/* flagset.c — the one-bit name set of flagset.h: linear probing, deletion by
 * shifting the entries after a hole back (no tombstones, so a set that is
 * filled and emptied a million times stays fast). */
#include "flagset.h"

#include <stdio.h>
#include <stdlib.h>

/* FNV-1a, then splitmix64's finalizer: every bit of the name reaches every
 * bit of the key. Bit 0 is the flag's, so a key is the hash with bit 0 clear
 * (never 0: an empty slot). */
static uint64_t key_of(const char *name)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    h &= ~1ULL;
    return h ? h : 2;
}

static size_t home(const flagset *f, uint64_t key)
{
    return (size_t)(key >> 1) & (f->cap - 1);
}

/* The slot holding KEY, or the empty one where it would go. */
static size_t find(const flagset *f, uint64_t key)
{
    size_t i = home(f, key);
    while (f->slot[i] && (f->slot[i] & ~1ULL) != key)
        i = (i + 1) & (f->cap - 1);
    return i;
}

static void grow(flagset *f)
{
    size_t cap = f->cap ? f->cap * 2 : 1024;
    uint64_t *old = f->slot;
    size_t oldcap = f->cap;
    if (!(f->slot = calloc(cap, sizeof *f->slot))) {
        fputs("mailvet: out of memory\n", stderr);
        abort();
    }
    f->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            f->slot[find(f, old[i] & ~1ULL)] = old[i];
    free(old);
}

void flagset_init(flagset *f)
{
    *f = (flagset){0};
}

void flagset_free(flagset *f)
{
    free(f->slot);
    *f = (flagset){0};
}

void flagset_put(flagset *f, const char *name, bool bit)
{
    if (4 * (f->n + 1) > 3 * f->cap)
        grow(f);
    uint64_t key = key_of(name);
    size_t i = find(f, key);
    f->n += !f->slot[i];
    f->slot[i] = key | (bit ? 1 : 0);
}

bool flagset_get(const flagset *f, const char *name, bool *bit)
{
    if (!f->n)
        return false;
    uint64_t s = f->slot[find(f, key_of(name))];
    if (s)
        *bit = s & 1;
    return s != 0;
}

bool flagset_take(flagset *f, const char *name, bool *bit)
{
    if (!f->n)
        return false;
    size_t i = find(f, key_of(name));
    if (!f->slot[i])
        return false;
    *bit = f->slot[i] & 1;
    f->slot[i] = 0;
    f->n--;
    /* Close the hole: an entry after it whose home is not strictly between
     * the hole and itself would no longer be found, so it moves into it. */
    for (size_t j = (i + 1) & (f->cap - 1); f->slot[j]; j = (j + 1) & (f->cap - 1)) {
        size_t h = home(f, f->slot[j] & ~1ULL);
        bool reachable = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!reachable) {
            f->slot[i] = f->slot[j];
            f->slot[j] = 0;
            i = j;
        }
    }
    return true;
}

size_t flagset_count(const flagset *f)
{
    return f->n;
}
