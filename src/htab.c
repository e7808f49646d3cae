/* htab.c — intrusive chained hash table (include/htab.h). Owns only the
 * bucket array; entries belong to the caller. */
#include "htab.h"

#include <stdlib.h>

bool htab_init(htab *t, size_t min_buckets, htab_eq_fn eq)
{
    size_t nb = 1;
    while (nb < min_buckets)
        nb *= 2;
    t->b = calloc(nb, sizeof *t->b);
    t->nb = t->b ? nb : 0;
    t->n = 0;
    t->eq = eq;
    return t->b != NULL;
}

void htab_free(htab *t)
{
    free(t->b);
    t->b = NULL;
    t->nb = t->n = 0;
}

htab_node *htab_find(const htab *t, uint32_t hash, const void *key)
{
    if (!t->nb)
        return NULL;
    for (htab_node *n = t->b[hash & (t->nb - 1)]; n; n = n->next)
        if (n->hash == hash && t->eq(n, key))
            return n;
    return NULL;
}

/* Double the buckets, relinking each chain in order (each node goes to the
 * head of its new chain). */
static void htab_grow(htab *t)
{
    size_t nb = t->nb ? t->nb * 2 : 1;
    htab_node **b = calloc(nb, sizeof *b);
    if (!b)
        return;                 /* longer chains, still correct */
    for (size_t i = 0; i < t->nb; i++) {
        for (htab_node *n = t->b[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

void htab_insert(htab *t, htab_node *n, uint32_t hash)
{
    if (t->n >= t->nb)
        htab_grow(t);
    if (!t->nb)
        abort();                /* no bucket at all: nowhere to put N */
    n->hash = hash;
    n->next = t->b[hash & (t->nb - 1)];
    t->b[hash & (t->nb - 1)] = n;
    t->n++;
}

void htab_remove(htab *t, htab_node *n)
{
    htab_node **pp = &t->b[n->hash & (t->nb - 1)];
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    n->next = NULL;
    t->n--;
}

void htab_iter_init(htab_iter *it, const htab *t)
{
    it->t = t;
    it->i = 0;
    it->next = NULL;
}

htab_node *htab_iter_next(htab_iter *it)
{
    while (!it->next && it->i < it->t->nb)
        it->next = it->t->b[it->i++];
    htab_node *n = it->next;
    if (n)
        it->next = n->next;
    return n;
}

uint32_t htab_hash_bytes(const void *p, size_t len)
{
    const uint8_t *s = p;
    uint32_t h = 2166136261u;
    while (len--)
        h = (h ^ *s++) * 16777619u;
    return h;
}

uint32_t htab_hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}
