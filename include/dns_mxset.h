/* dns_mxset.h — MX sets shared between mail domains (internal to the dns
 * family: dns.c is its one user).
 *
 * A finished domain's answer is its list of MX hosts (preference, name,
 * addresses). The domains of one provider fleet all have the same list, so
 * it is kept once: dns_mxset_intern() returns the one set with that content
 * (hash-consed on its canonical, sorted form; names and addresses stored
 * exactly sized, in one allocation) and a dns_mxorder, a few bits that give
 * back the caller's own order of the hosts (answer order on equal
 * preferences), so that what dns_mxset_fill() writes is exactly what was
 * interned. Sets are immutable and counted: each intern is one reference,
 * dns_mxset_release() drops one, the last frees the set. The table owns its
 * sets; loop thread only (no locks).
 */
#ifndef MAILVET_DNS_MXSET_H
#define MAILVET_DNS_MXSET_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "dns_addr.h"
#include "htab.h"

typedef struct dns_mxin {       /* one MX host as the caller lists it */
    const char *host;           /* normalised name, 1..DNS_NAME_MAX bytes */
    int pref;                   /* 0..65535 */
    size_t n;                   /* addresses in ip, 1..DNS_MAX_ADDRS */
    const dns_ip *ip;
} dns_mxin;

/* Position i of the caller's list is entry (order >> 3i) & 7 of the set. */
typedef uint32_t dns_mxorder;

typedef struct dns_mxset dns_mxset;

typedef struct dns_mxsets {
    htab tab;
} dns_mxsets;

/* Empty table. Out of memory aborts. */
void dns_mxsets_init(dns_mxsets *t);

/* Free every set still in T (normally none: each domain released its own),
 * then the table. */
void dns_mxsets_free(dns_mxsets *t);

/* The set holding IN[0..N) (1 <= N <= DNS_MAX_MX), one reference more;
 * *ORDER gets IN's order. Out of memory aborts. */
dns_mxset *dns_mxset_intern(dns_mxsets *t, const dns_mxin *in, size_t n, dns_mxorder *order);

/* Drop one reference to S; the last one frees S. */
void dns_mxset_release(dns_mxsets *t, dns_mxset *s);

/* RES->nmx and, in ORDER, each RES->mx[i]'s host, pref, naddrs and
 * addrs[0..naddrs) (port 0). Bytes it does not write (past a host's NUL,
 * unused address slots) keep what RES held: zero it first. */
void dns_mxset_fill(const dns_mxset *s, dns_mxorder order, dns_result *res);

/* Sets in T; references to S; bytes S takes (its allocation). */
size_t dns_mxsets_count(const dns_mxsets *t);
unsigned dns_mxset_refs(const dns_mxset *s);
size_t dns_mxset_size(const dns_mxset *s);

#endif
