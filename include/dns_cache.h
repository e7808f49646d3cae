/* dns_cache.h — the resolver's cache of finished and in-flight names
 * (internal to the dns family: dns.c is its one user).
 *
 * One dns_cache per kind of entry (mail domains; MX host names). The entries
 * are dns.c's structs, each embedding a dns_node first; the cache links
 * them by name (htab) and, once finished, by age. It never allocates an
 * entry: dns.c does (with its name in the same allocation), and the
 * cache hands every entry it drops (eviction, staleness, dns_cache_free)
 * to the FREE_ENTRY callback, which frees it. At most DNS_CACHE_MAX entries; beyond that the oldest
 * finished entries that nobody is about to read (refs == 0) are evicted.
 * Loop thread only.
 */
#ifndef MAILVET_DNS_CACHE_H
#define MAILVET_DNS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "htab.h"

#ifndef DNS_CACHE_MAX
#define DNS_CACHE_MAX 200000    /* entries per cache (domains; MX hosts) */
#endif
#define DNS_ERROR_TTL_MS 60000  /* SERVFAIL/timeouts are transient: cache briefly */

/* Common head of a cache entry: hash chain and age list (finished only).
 * The name lives in the entry's own allocation, NAME_OFF bytes on: an
 * offset, not a pointer, keeps the head at 48 bytes (tens of thousands of
 * entries on a company list). */
typedef struct dns_node {
    htab_node h;
    struct dns_node *older, *newer;
    uint64_t at;                /* when it finished (loop ms) */
    unsigned refs;              /* ready-queue items pointing here */
    uint16_t name_off;
    bool done;
} dns_node;

/* N's name. */
static inline const char *dns_node_name(const dns_node *n)
{
    return (const char *)n + n->name_off;
}

typedef struct dns_cache {
    htab tab;
    dns_node *oldest, *newest;  /* finished entries, by completion */
    void (*free_entry)(void *ud, dns_node *);
    void *ud;
} dns_cache;

/* Empty cache whose dropped entries go to FREE_ENTRY(UD, entry). Out of
 * memory aborts. */
void dns_cache_init(dns_cache *c, void (*free_entry)(void *ud, dns_node *), void *ud);

/* The entry for NAME (normalised), or NULL. */
dns_node *dns_cache_find(dns_cache *c, const char *name);

/* Add N under NAME, which is in N's allocation, after N. Evicts first
 * when full. */
void dns_cache_add(dns_cache *c, dns_node *n, const char *name);

/* NEW, whose name (NAME, in NEW's allocation) is OLD's, takes the place of
 * OLD, an entry still in flight (not done) that nobody else points to: a
 * finished answer can then be allocated to its exact size. OLD is not
 * freed, nor is anything evicted (the count does not change). */
void dns_cache_replace(dns_cache *c, dns_node *old, dns_node *new, const char *name);

/* N has its answer: it joins the age list (newest end) at NOW (loop ms). */
void dns_cache_done(dns_cache *c, dns_node *n, uint64_t now);

/* An error answer past its short life (DNS_ERROR_TTL_MS) is dropped so the
 * name is asked again; true when N was dropped (and freed). */
bool dns_cache_stale(dns_cache *c, dns_node *n, uint64_t now);

/* Drop and free every entry, then the table. */
void dns_cache_free(dns_cache *c);

#endif
