/* doctor_judge.h — what `mailvet doctor` concludes from what it found: one
 * line per check, OK / WARN / FAIL, what was found and a one-line fix.
 * Pure: no I/O, so every verdict and message is unit-tested. Text that came
 * from the network (banners, PTR names, TXT records) is made printable and
 * cut before it goes into a line.
 */
#ifndef MAILVET_DOCTOR_JUDGE_H
#define MAILVET_DOCTOR_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dns.h"
#include "dns_lookup.h"
#include "doctor_self.h"
#include "doctor_smtp.h"
#include "egress.h"

typedef enum doctor_level { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL } doctor_level;

typedef struct doctor_line {
    doctor_level level;
    char check[16];             /* "port25", "helo", "ptr", "from-mx", "spf" */
    char found[1024];           /* what was found: one printable line */
    char fix[512];              /* what to do: one line; "" when OK */
} doctor_line;

const char *doctor_judge_level_name(doctor_level l);   /* "OK", "WARN", "FAIL" */

/* NAME can be a public host name: two labels or more of letters, digits and
 * inner hyphens, not an IP address, not localhost/.localdomain/.local. */
bool doctor_judge_fqdn(const char *name);

/* The TXT record TEXT (LEN bytes) is an SPF record: "v=spf1" in any case,
 * then a space or the end (RFC 7208 §4.5). */
bool doctor_judge_is_spf(const char *text, size_t len);

/* SRC's first LEN bytes into DST (CAP bytes), printable ASCII only (others
 * become '?'), cut with "…" when longer than CAP allows. */
void doctor_judge_clean(char *dst, size_t cap, const char *src, size_t len);

/* Port 25 (or the route) towards --target. */
typedef struct doctor_port25 {
    const char *target;                 /* --target */
    const dns_result *mx;               /* its MX lookup */
    const struct egress *route;         /* the route tested (NULL or DIRECT: none) */
    const char *host;                   /* MX host of the last try; NULL when none */
    const struct sockaddr_storage *addr;/* its address, port set */
    int tries;                          /* addresses tried */
    const doctor_smtp_result *res;      /* the last try (NULL when none) */
    const char *helo;
    double connect_timeout, command_timeout;    /* seconds */
} doctor_port25;
void doctor_judge_port25(doctor_line *l, const doctor_port25 *p);

/* The HELO name resolves, and to this host. */
void doctor_judge_helo(doctor_line *l, const char *helo, const dns_addrs *a,
                       const doctor_self *self);

/* One address's reverse DNS, as looked up for the ptr check. */
typedef struct doctor_ptr {
    struct sockaddr_storage addr;
    bool named_by_helo;         /* ADDR is among the HELO name's addresses */
    dns_names ptr;              /* its PTR names */
    bool fwd_asked;             /* FWD holds the first PTR name's addresses */
    dns_addrs fwd;
} doctor_ptr;

/* Which addresses the ptr check looks up: this host's addresses the HELO
 * name points at; else this host's addresses (to say what their PTR is);
 * else, when this host's public address cannot be seen, the HELO name's.
 * At most MAX into OUT; NAMED[i] tells whether OUT[i] is a HELO address. */
size_t doctor_judge_ptr_targets(const dns_addrs *helo_addrs, const doctor_self *self,
                                struct sockaddr_storage *out, bool *named, size_t max);

/* The PTR of the looked-up address(es) names the HELO name, which resolves
 * back to it (forward-confirmed reverse DNS). */
void doctor_judge_ptr(doctor_line *l, const char *helo, const doctor_ptr *p, size_t n,
                      const doctor_self *self);

/* --from's domain has somewhere to receive mail (MX, or A/AAAA). */
void doctor_judge_from_mx(doctor_line *l, const char *domain, const dns_result *r);

/* --from's domain publishes one SPF record. */
void doctor_judge_spf(doctor_line *l, const char *domain, const dns_txts *t, const char *helo);

#endif
