/* dns_lookup.h — plain DNS questions on the mail resolver (dns.h): every
 * address of a name, the PTR names of an address, the TXT records of a name.
 * For `mailvet doctor`, which asks about this host rather than about mail
 * domains: no public-address filtering, no cache.
 *
 * Answers are bounded (DNS_LOOKUP_* records kept, longer TXT records cut)
 * and delivered like dns_resolve_mail's: once per call, from the loop, never
 * from inside the call; the struct is valid only during the callback. A
 * lookup still pending at dns_close() ends with DNS_LOOKUP_ERROR "cancelled".
 */
#ifndef MAILVET_DNS_LOOKUP_H
#define MAILVET_DNS_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dns.h"

#define DNS_LOOKUP_ADDRS 16        /* addresses kept per name */
#define DNS_LOOKUP_NAMES 8         /* PTR names kept per address */
#define DNS_LOOKUP_TXTS 16         /* TXT records kept per name */
#define DNS_LOOKUP_TXT_MAX 1024    /* bytes kept of one TXT record (its strings joined) */

typedef enum dns_lookup_status {
    DNS_LOOKUP_OK,          /* at least one record */
    DNS_LOOKUP_NODATA,      /* the name exists but has no record of the type */
    DNS_LOOKUP_NXDOMAIN,    /* the name does not exist */
    DNS_LOOKUP_ERROR,       /* SERVFAIL, timeout, malformed answer, cancelled… */
} dns_lookup_status;

typedef struct dns_addrs {          /* A and AAAA */
    dns_lookup_status status;
    size_t n;
    struct sockaddr_storage addr[DNS_LOOKUP_ADDRS];  /* IPv4 first, then IPv6; port 0 */
    bool cut;                       /* the answers held more than DNS_LOOKUP_ADDRS */
    char detail[160];               /* not OK: what failed, for humans */
} dns_addrs;

typedef struct dns_names {          /* PTR */
    dns_lookup_status status;
    size_t n;
    char name[DNS_LOOKUP_NAMES][DNS_NAME_MAX + 1];   /* without the trailing dot */
    bool cut;
    char detail[160];
} dns_names;

typedef struct dns_txt {
    size_t len;                     /* bytes in text (may hold any byte, NUL too) */
    bool cut;                       /* the record was longer than DNS_LOOKUP_TXT_MAX */
    char text[DNS_LOOKUP_TXT_MAX + 1];  /* NUL-terminated after LEN bytes */
} dns_txt;

typedef struct dns_txts {           /* TXT */
    dns_lookup_status status;
    size_t n;
    dns_txt txt[DNS_LOOKUP_TXTS];   /* in answer order */
    bool cut;
    char detail[160];
} dns_txts;

typedef void (*dns_addrs_cb)(void *ud, const dns_addrs *res);
typedef void (*dns_names_cb)(void *ud, const dns_names *res);
typedef void (*dns_txts_cb)(void *ud, const dns_txts *res);

/* NAME's A and AAAA records, all of them (up to DNS_LOOKUP_ADDRS). */
void dns_lookup_addrs(dns_resolver *r, const char *name, dns_addrs_cb cb, void *ud);

/* The PTR names of SA's address (in-addr.arpa / ip6.arpa). */
void dns_lookup_ptr(dns_resolver *r, const struct sockaddr *sa, dns_names_cb cb, void *ud);

/* NAME's TXT records, each one's character-strings joined (RFC 7208 §3.3). */
void dns_lookup_txt(dns_resolver *r, const char *name, dns_txts_cb cb, void *ud);

/* The parsers behind dns_lookup_ptr and dns_lookup_txt, for tests: ABUF
 * (ALEN bytes) is a whole DNS answer; OUT is filled (status, records, cut)
 * as the callback would see it, without DETAIL. */
dns_lookup_status dns_lookup_parse_ptr(const unsigned char *abuf, int alen,
                                       const struct sockaddr *sa, dns_names *out);
dns_lookup_status dns_lookup_parse_txt(const unsigned char *abuf, int alen, dns_txts *out);

/* The name dns_lookup_ptr asks for SA ("4.3.2.1.in-addr.arpa"); false for
 * anything but IPv4 and IPv6. OUT holds at least 74 bytes. */
bool dns_lookup_reverse_name(const struct sockaddr *sa, char *out, size_t outlen);

#endif
