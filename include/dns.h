/* dns.h — a mail domain's MX hosts and their addresses, resolved with
 * c-ares 1.18 on a libuv loop (RFC 5321 §5.1: MX, else implicit MX from
 * A/AAAA; RFC 7505 null MX).
 *
 * Owns: the c-ares channel, its poll handles and timer, and a per-run cache
 * of answers per domain and per MX host (negative answers included; in-flight
 * lookups of the same domain are coalesced). The dns_result handed to a
 * callback belongs to the resolver and is valid only during the callback:
 * copy what you keep. Keeping c-ares behind this file (and dns_lookup.c,
 * which parses dns_query() answers) means a newer c-ares (ares_query_dnsrec,
 * ares_process_fds) is a local change.
 */
#ifndef MAILVET_DNS_H
#define MAILVET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "verdict.h"

#define DNS_MAX_MX 8        /* MX hosts kept per domain (lowest preferences) */
#define DNS_MAX_ADDRS 4     /* addresses kept per MX host */
#define DNS_NAME_MAX 255

typedef enum dns_status {
    DNS_OK,              /* at least one dialable MX address */
    DNS_NXDOMAIN,        /* the domain does not exist */
    DNS_NO_MAIL_SERVER,  /* no MX and no A/AAAA (or no MX host resolves) */
    DNS_NULL_MX,         /* "MX 0 ." (RFC 7505) */
    DNS_UNROUTABLE,      /* every MX address is non-public and private MX is not allowed */
    DNS_ERROR,           /* SERVFAIL, REFUSED, timeouts… after retries */
} dns_status;

typedef struct dns_mx {
    char host[DNS_NAME_MAX + 1];     /* MX host name (the domain itself for implicit MX) */
    int pref;
    size_t naddrs;
    struct sockaddr_storage addrs[DNS_MAX_ADDRS];  /* dialable addresses, port 0 */
} dns_mx;

typedef struct dns_result {
    dns_status status;
    bool implicit_mx;                /* no MX records: the domain's own A/AAAA */
    size_t nmx;
    dns_mx mx[DNS_MAX_MX];           /* by preference; only hosts with an address */
    char detail[128];                /* for DNS_ERROR etc.: what failed, for humans */
} dns_result;

typedef struct dns_resolver dns_resolver;

/* Called once per dns_resolve_mail(), always from the loop (never from inside
 * dns_resolve_mail itself). RES is valid only during the call. */
typedef void (*dns_cb)(void *ud, const dns_result *res);

typedef struct dns_opts {
    const char *servers;   /* "HOST[:PORT][,…]" (--dns) or NULL for /etc/resolv.conf */
    bool allow_private;    /* --allow-private-mx */
    int timeout_ms;        /* per query attempt (default 2000 when 0) */
    int tries;             /* attempts per query, SERVFAIL and timeouts included (default 3 when 0) */
} dns_opts;

/* A resolver on LOOP. NULL with a message in ERR on failure (bad --dns…). */
dns_resolver *dns_new(uv_loop_t *loop, const dns_opts *opts, char *err, size_t errlen);

/* Resolve ASCII_DOMAIN (lower-case A-label form) for mail. */
void dns_resolve_mail(dns_resolver *r, const char *ascii_domain, dns_cb cb, void *ud);

/* For dns_lookup.c: ask for NAME's records of TYPE (an RR type number)
 * through R's servers, back-off and in-flight limit, without caching. CB gets
 * c-ares' status (ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND…) and, on
 * success, the raw answer, which is valid only during the call. Always from
 * the loop, never from inside dns_query; "cancelled" on dns_close. */
typedef void (*dns_raw_cb)(void *ud, int ares_status, const unsigned char *abuf, int alen);
void dns_query(dns_resolver *r, const char *name, int type, dns_raw_cb cb, void *ud);

/* What a failed dns_query means, for humans: "NXDOMAIN example.com",
 * "no TXT record for example.com", "timeout for PTR 1.0.0.127.in-addr.arpa". */
void dns_error_text(char *buf, size_t len, int ares_status, int type, const char *name);

/* A and B are the same DNS name: ASCII case ignored, a trailing dot too. */
bool dns_name_equal(const char *a, const char *b);

/* Cancel pending lookups (their callbacks run with DNS_ERROR "cancelled"),
 * close every handle, and free R once libuv has closed them; ON_CLOSED (may
 * be NULL) runs after that. */
void dns_close(dns_resolver *r, void (*on_closed)(void *ud), void *ud);

/* SA is a public unicast address: not loopback, RFC 1918, link-local, CGNAT
 * (100.64/10), ULA (fc00::/7), multicast, unspecified, documentation,
 * benchmarking, reserved, or a v4-mapped/-compatible/NAT64 form of these. */
bool dns_addr_is_public(const struct sockaddr *sa);

const char *dns_status_name(dns_status s);

/* Questions on the wire now, waiting in line for a slot, and put on the
 * wire in all (the timeline, README "Performance"); names in the cache
 * (finished or in flight) and the distinct MX sets its domains share. */
typedef struct dns_stats {
    int inflight;
    size_t waiting;
    uint64_t asked;
    size_t domains, hosts, mxsets;
} dns_stats;
void dns_get_stats(const dns_resolver *r, dns_stats *st);

/* A and B (family and address; ports ignored) are the same host address. */
bool dns_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* The SPEC reason a failed lookup gives its addresses (DNS_OK: none). */
verdict_reason dns_status_reason(dns_status s);

#endif
