/* dns_cache.c — the resolver's bounded name cache (include/dns_cache.h).
 *
 * One entry per name, negative answers included, for the whole run. Memory
 * stays bounded on lists of millions of domains: past DNS_CACHE_MAX entries
 * the oldest *finished* entries are evicted (first finished, first
 * evicted), while lookups in flight are never dropped. Errors (SERVFAIL,
 * timeouts) live DNS_ERROR_TTL_MS only: one bad moment of the resolver must
 * not fail a popular MX host for a whole run.
 */
#include "dns_cache.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_EVICT_SCAN 64       /* finished entries looked at per eviction */

static bool dns_cache_eq(const htab_node *h, const void *name)
{
    return !strcmp(dns_node_name(HTAB_ENTRY(h, const dns_node, h)), name);
}

void dns_cache_init(dns_cache *c, void (*free_entry)(void *ud, dns_node *), void *ud)
{
    memset(c, 0, sizeof *c);
    if (!htab_init(&c->tab, 1024, dns_cache_eq)) {
        fputs("mailvet: out of memory in dns\n", stderr);
        abort();
    }
    c->free_entry = free_entry;
    c->ud = ud;
}

dns_node *dns_cache_find(dns_cache *c, const char *name)
{
    htab_node *h = htab_find(&c->tab, htab_hash_str(name), name);
    return h ? HTAB_ENTRY(h, dns_node, h) : NULL;
}

static void dns_cache_age_unlink(dns_cache *c, dns_node *n)
{
    if (n->older)
        n->older->newer = n->newer;
    else
        c->oldest = n->newer;
    if (n->newer)
        n->newer->older = n->older;
    else
        c->newest = n->older;
    n->older = n->newer = NULL;
}

static void dns_cache_remove(dns_cache *c, dns_node *n)
{
    htab_remove(&c->tab, &n->h);
    if (n->done)
        dns_cache_age_unlink(c, n);
    c->free_entry(c->ud, n);
}

/* Make room: evict the oldest finished entries nobody is about to read. */
static void dns_cache_evict(dns_cache *c)
{
    dns_node *n = c->oldest;
    for (int seen = 0; n && htab_count(&c->tab) >= DNS_CACHE_MAX && seen < DNS_EVICT_SCAN; seen++) {
        dns_node *newer = n->newer;
        if (n->refs == 0)
            dns_cache_remove(c, n);
        n = newer;
    }
}

/* N's name is NAME, NAME_OFF bytes on in N's allocation. */
static void dns_cache_name(dns_node *n, const char *name)
{
    ptrdiff_t off = name - (const char *)n;
    assert(off >= (ptrdiff_t)sizeof *n && off <= UINT16_MAX);
    n->name_off = (uint16_t)off;
}

void dns_cache_add(dns_cache *c, dns_node *n, const char *name)
{
    if (htab_count(&c->tab) >= DNS_CACHE_MAX)
        dns_cache_evict(c);
    dns_cache_name(n, name);
    htab_insert(&c->tab, &n->h, htab_hash_str(name));
}

void dns_cache_replace(dns_cache *c, dns_node *old, dns_node *new, const char *name)
{
    assert(!old->done && !old->refs);
    uint32_t hash = old->h.hash;
    htab_remove(&c->tab, &old->h);
    memset(new, 0, sizeof *new);
    dns_cache_name(new, name);
    htab_insert(&c->tab, &new->h, hash);
}

void dns_cache_done(dns_cache *c, dns_node *n, uint64_t now)
{
    n->done = true;
    n->at = now;
    n->older = c->newest;
    n->newer = NULL;
    if (c->newest)
        c->newest->newer = n;
    else
        c->oldest = n;
    c->newest = n;
}

bool dns_cache_stale(dns_cache *c, dns_node *n, uint64_t now)
{
    if (!n->done || n->refs || now - n->at < DNS_ERROR_TTL_MS)
        return false;
    dns_cache_remove(c, n);
    return true;
}

void dns_cache_free(dns_cache *c)
{
    htab_iter it;
    htab_iter_init(&it, &c->tab);
    for (htab_node *h; (h = htab_iter_next(&it)); )
        c->free_entry(c->ud, HTAB_ENTRY(h, dns_node, h));
    htab_free(&c->tab);
}
