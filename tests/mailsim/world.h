/* world.h — the in-memory world: hosts, domains, mailboxes (mailsim).
 *
 * Owns: everything reachable from a `world` (freed by world_free). The DNS
 * and SMTP servers only read it, except the per-host counters and the
 * per-host/greylist runtime state that smtp.c updates.
 * The file format is documented in README.md ("World file format").
 */
#ifndef MAILSIM_WORLD_H
#define MAILSIM_WORLD_H

#include <stdint.h>
#include <stdio.h>

#include "table.h"

#define WORLD_MAX_ADDRS 8
#define WORLD_MAX_MX 8
#define WORLD_MAX_MANY 1000          /* mx-many: about what fits a 64 KB TCP answer */
#define WORLD_LONGLINE_DEFAULT 5004  /* "CODE-" and 5,000 x */
#define WORLD_LONGLINE_MAX (16 << 20)

/* DNS behaviour of one name */
enum world_dns_mode { WORLD_DNS_NORMAL = 0, WORLD_DNS_NXDOMAIN, WORLD_DNS_SERVFAIL, WORLD_DNS_DROP };

typedef struct world_dns {
    int mode;          /* enum world_dns_mode */
    int delay_ms;      /* answer after this many ms */
    int truncate;      /* always set TC on UDP answers (forces TCP) */
    int loop_noerror;  /* a CNAME loop is answered NOERROR with its chain, not SERVFAIL */
} world_dns;

/* SMTP stages a behaviour can be attached to */
enum world_stage { WORLD_STAGE_NONE = 0, WORLD_STAGE_BANNER, WORLD_STAGE_EHLO,
                   WORLD_STAGE_MAIL, WORLD_STAGE_RCPT };

/* a fixed reply sent at a stage instead of the normal one */
typedef struct world_block {
    int stage;          /* enum world_stage; NONE = no block */
    char *text;         /* full reply, e.g. "550 5.7.1 blocked using zen.spamhaus.org" */
} world_block;

enum world_style { WORLD_STYLE_POSTFIX = 0, WORLD_STYLE_GMAIL, WORLD_STYLE_OUTLOOK, WORLD_STYLE_YAHOO };
enum world_tls { WORLD_TLS_OFF = 0, WORLD_TLS_OFFER, WORLD_TLS_REQUIRE, WORLD_TLS_BROKEN };
enum world_box { WORLD_BOX_NONE = 0, WORLD_BOX_OK, WORLD_BOX_FULL, WORLD_BOX_DISABLED };

/* runtime counters of one host (also summed into world.total) */
typedef struct world_counters {
    uint64_t connections;     /* accepted TCP connections */
    uint64_t conn_current;
    uint64_t conn_peak;       /* highest simultaneous connections seen */
    uint64_t sent_421;        /* 421 replies for the connection caps */
    uint64_t sent_421_rate;   /* ... of which for the per-minute cap */
    uint64_t commands;        /* command lines received */
    uint64_t rcpt;            /* RCPT TO commands */
    uint64_t rcpt_cap_hits;   /* 452 4.5.3 replies */
    uint64_t greylist_hits;   /* 4xx greylist replies */
    uint64_t tls_handshakes;  /* completed STARTTLS handshakes */
    uint64_t tls_resumed;     /* ... of which resumed a session */
    uint64_t drops;           /* connections dropped on purpose */
    uint64_t tarpitted;       /* connections held without a banner */
    uint64_t rcpt_tarpitted;  /* 5xx RCPT replies held back (rcpt-tarpit) */
    uint64_t data_attempts;   /* DATA/VRFY/EXPN received (a verifier must never send them) */
    uint64_t mixed_sessions;  /* transactions whose RCPTs named two or more domains */
    uint64_t mixed_refused;   /* RCPTs refused for naming a second domain (one-domain) */
} world_counters;

/* the hosts of one operator (a host's `fleet NAME`, else the registrable
 * domain of its name by the Public Suffix List, as mailvet groups them),
 * counted together: --per-provider must hold per fleet */
typedef struct world_fleet {
    char *name;
    int id;                  /* its index in world.fleets */
    int n_hosts;
    uint64_t connections, conn_current, conn_peak;
} world_fleet;

typedef struct world_host {
    char *name;
    char *fleet_name;        /* `fleet NAME`; NULL: from the host name */
    struct world_fleet *fleet;
    uint32_t ip4[WORLD_MAX_ADDRS];   /* network order */
    int n_ip4;
    unsigned char ip6[WORLD_MAX_ADDRS][16];
    int n_ip6;
    int dead;                /* accept nothing (see README: 127.255/16) */
    int latency_ms;          /* before every reply */
    int conn_cap;            /* simultaneous connections; 0 = unlimited */
    int conn_per_min;        /* new connections per 60 s; 0 = unlimited */
    int rcpt_cap;            /* RCPT per session; 0 = unlimited */
    int bad_rcpt_limit;      /* Exim's Debian ACL: past this many RCPTs of one
                                message with fewer than half accepted, every
                                RCPT gets "550 Rejected for too many bad
                                recipients"; 0 = off */
    int rcpt_tarpit_ms;      /* Exchange's tarpit: hold each 5xx RCPT reply this long... */
    int rcpt_tarpit_step_ms; /* ...and this much longer for each earlier one of the session */
    int greylist_s;          /* 0 = off */
    int greylist_code;       /* 450 or 451 */
    int pipelining;
    int one_domain;          /* refuse RCPTs of a second domain in one transaction */
    int tls;                 /* enum world_tls */
    int tarpit;
    int style;               /* enum world_style */
    world_block block;
    int drop_stage, drop_pct;        /* drop the connection on this command */
    int garbage_stage;               /* send a garbage line instead of this reply */
    int longline_stage;              /* send an over-long line before this reply */
    int longline_bytes;              /* its length without CRLF (0: WORLD_LONGLINE_DEFAULT) */
    int endless_stage;               /* send continuation lines forever instead of this reply */
    int reset_stage;                 /* close with a TCP RST when this command arrives */
    int deaf;                        /* send the banner, then never read */
    int drip_ms;                     /* send replies a byte at a time, this far apart */
    int catch_all;                   /* every domain served here accepts anything */
    world_dns dns;
    /* runtime */
    world_counters c;
    int64_t *conn_times;             /* ring of conn_per_min accept times (ms) */
    int conn_times_pos;
    uint64_t sessions;               /* for drop_pct */
} world_host;

typedef struct world_mx {
    int pref;
    char *host;               /* name; "." for null MX */
} world_mx;

typedef struct world_domain {
    char *name;
    world_mx mx[WORLD_MAX_MX];
    int n_mx;
    int n_many;               /* mx-many: generated MX records mx1.NAME … mxN.NAME */
    char *cname;
    uint32_t a[WORLD_MAX_ADDRS];
    int n_a;
    unsigned char aaaa[WORLD_MAX_ADDRS][16];
    int n_aaaa;
    int catch_all;
    int greylist_s;           /* -1 = as the host says */
    world_block block;        /* RCPT-stage block for this domain */
    world_dns dns;
} world_domain;

typedef struct world {
    world_host **hosts;
    int n_hosts, cap_hosts;
    world_domain **domains;
    int n_domains, cap_domains;
    table names;      /* lower-case DNS name -> world_name */
    table by_ip;      /* "127.1.0.2" / "::1" -> world_host */
    table boxes;      /* "local@domain" (lower-case) -> (void*)enum world_box */
    table greylist;   /* "sender|rcpt" -> (void*)(first seen, ms since start + 1) */
    world_counters total;
    world_fleet **fleets;
    int n_fleets, cap_fleets;
    table fleet_by_name;
    uint64_t dns_queries, dns_answers, dns_dropped, dns_tcp_queries, dns_truncated;
} world;

/* what one DNS name is */
typedef struct world_name {
    world_domain *domain;   /* may be NULL */
    world_host *host;       /* may be NULL */
} world_name;

/* Parses FILE into w. On error prints "FILE:LINE: message" to stderr and
 * returns -1. */
int world_load(world *w, const char *path);
void world_free(world *w);
world_host *world_host_by_ip(world *w, const char *ip);
world_name *world_name_get(world *w, const char *name);
/* the domain an address's domain resolves to for mailbox checks (follows CNAME) */
world_domain *world_domain_get(world *w, const char *name);
int world_box(world *w, const char *local, const char *domain);
/* the I-th (0-based) generated mx-many record of d: writes its host name
 * ("mxI+1.NAME") into name and returns its preference (100…100+N-1, in a
 * scrambled order so that answer order is not preference order) */
int world_many_mx(const world_domain *d, int i, char *name, size_t cap);
/* whether host h is an MX (or the implicit MX) of domain d */
int world_host_serves(const world_domain *d, const world_host *h);
const char *world_stage_name(int stage);
void world_lower(char *s);

#endif
