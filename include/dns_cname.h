/* dns_cname.h — CNAME chains in a raw DNS answer (RFC 1034 §3.6.2: a
 * loop is an error, not an empty answer). Pure: no resolver, no I/O. */
#ifndef MAILVET_DNS_CNAME_H
#define MAILVET_DNS_CNAME_H

#include <stdbool.h>

#define DNS_CNAME_CHAIN_MAX 8     /* longer chains count as loops, as resolvers do */

/* The answer ABUF (ALEN bytes) to a question about QNAME holds a CNAME
 * chain from QNAME that loops or runs longer than DNS_CNAME_CHAIN_MAX.
 * Malformed or NULL answers: false (other code reports those). */
bool dns_cname_loops(const unsigned char *abuf, int alen, const char *qname);

#endif
