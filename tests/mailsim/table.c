/* table.c — string-keyed open-addressing hash table (linear probing, FNV-1a).
 * Owns the key copies; values belong to the caller. No deletion (mailsim's
 * tables only grow during one run). */
#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t table_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void table_init(table *t)
{
    t->cap = 64;
    t->len = 0;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots)
        abort();
}

void table_free(table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].key);
    free(t->slots);
    t->slots = NULL;
    t->cap = t->len = 0;
}

static table_entry *table_find(const table *t, const char *key)
{
    size_t mask = t->cap - 1;
    for (size_t i = table_hash(key) & mask;; i = (i + 1) & mask) {
        table_entry *e = &t->slots[i];
        if (!e->key || strcmp(e->key, key) == 0)
            return e;
    }
}

void *table_get(const table *t, const char *key)
{
    table_entry *e = table_find(t, key);
    return e->key ? e->val : NULL;
}

static void table_grow(table *t)
{
    table old = *t;
    t->cap *= 2;
    t->len = 0;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots)
        abort();
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].key) {
            table_entry *e = table_find(t, old.slots[i].key);
            *e = old.slots[i];
            t->len++;
        }
    }
    free(old.slots);
}

void *table_put(table *t, const char *key, void *val)
{
    if ((t->len + 1) * 4 > t->cap * 3)
        table_grow(t);
    table_entry *e = table_find(t, key);
    if (e->key) {
        void *prev = e->val;
        e->val = val;
        return prev;
    }
    e->key = strdup(key);
    if (!e->key)
        abort();
    e->val = val;
    t->len++;
    return NULL;
}
