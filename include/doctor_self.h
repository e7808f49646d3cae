/* doctor_self.h — this host's own addresses, the ones receivers see our
 * connections come from: the --bind addresses, else the interfaces'
 * (getifaddrs). Only public addresses count, unless --allow-private-mx (the
 * tests, on loopback). Behind NAT or a proxy the public address cannot be
 * seen from here; the kind says so, and which private ones were left out.
 */
#ifndef MAILVET_DOCTOR_SELF_H
#define MAILVET_DOCTOR_SELF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "egress.h"

#define DOCTOR_SELF_MAX 16      /* addresses kept */
#define DOCTOR_SELF_HIDDEN 4    /* left-out addresses kept for the message */

typedef enum doctor_self_kind {
    SELF_IFACES,    /* the interfaces' addresses */
    SELF_BIND,      /* the --bind addresses */
    SELF_HIDDEN,    /* none usable (only private ones: behind NAT, or none at all) */
    SELF_PROXY,     /* connections leave through --proxy: its exit address counts */
} doctor_self_kind;

typedef struct doctor_self {
    doctor_self_kind kind;
    size_t n;
    struct sockaddr_storage addr[DOCTOR_SELF_MAX];     /* port 0 */
    size_t nhidden;                                    /* left out (not public) */
    struct sockaddr_storage hidden[DOCTOR_SELF_HIDDEN];
} doctor_self;

/* Fill S for ROUTES (the first route's kind decides; all routes of a pool
 * are of one kind) from --bind or the interfaces. */
void doctor_self_find(doctor_self *s, const egress_list *routes, bool allow_private);

/* Add SA (IPv4 or IPv6; others ignored) to S's addresses, or to the
 * left-out ones when it is not public and ALLOW_PRIVATE is false. IPv6
 * link-local addresses are never kept: no DNS record names them. */
void doctor_self_add(doctor_self *s, const struct sockaddr *sa, bool allow_private);

/* A is one of S's addresses. */
bool doctor_self_has(const doctor_self *s, const struct sockaddr_storage *a);

#endif
