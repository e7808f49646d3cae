/* engine.h — the one engine of `check` and `clean`: addresses grouped by
 * domain, one DNS lookup and one catch-all probe per domain, SMTP sessions
 * of up to rcpt_per_session recipients admitted through per-MX windows (the
 * host policy of engine_host.h), per-domain and global limits, fallbacks to
 * the next address and MX, and 4xx answers parked in the retry queue. With
 * several routes (--proxy/--bind) every MX address is reached over each
 * route, with windows and give-ups per (route, MX); a failing route is
 * retired, and when none is left the fatal event stops the run without
 * turning the unreachable addresses into verdicts.
 *
 * The engine knows no event loop, socket or CLI: it takes its own
 * engine_opts, and does every outside thing through an engine_ops table —
 * start and cancel a session, resolve a domain, read the clock, arm its one
 * timer. engine_uv.h has the real table (libuv, probe.c, dns.c); unit tests
 * give a scripted one with a fake clock.
 *
 * Ownership: engine_add() takes the item; the engine frees it after its
 * final verdict has been reported through the done callback. Every call in
 * and every callback out happens on one thread (the loop's).
 */
#ifndef MAILVET_ENGINE_H
#define MAILVET_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "dns.h"
#include "egress.h"
#include "probe.h"
#include "result.h"

#define ENGINE_MAX_RETRIES 16
/* Port 25: the first this many distinct MX addresses tried all failed to
 * connect (refused, unreachable or timed out; never a TCP connection): the
 * unreachable event. */
#define ENGINE_UNREACHABLE_HOSTS 20

/* What the engine is told to do; engine_new() copies it. */
typedef struct engine_opts {
    bool dns_only;              /* --level dns: resolve, never open an SMTP session */
    int smtp_port;
    int concurrency;            /* sessions open at once, all hosts together */
    int per_mx;                 /* sessions per (MX address, route): the window's ceiling */
    int per_domain;             /* sessions per recipient domain */
    int per_proxy;              /* sessions per route; 0: no cap */
    int per_provider;           /* sessions per (provider, route), provider.h; 0: no cap */
    int rcpt_per_session;
    int retry_delays[ENGINE_MAX_RETRIES];   /* seconds before retry 1, 2, … */
    int nretries;
    char helo[PROBE_HELO_MAX], from[PROBE_FROM_MAX];
    probe_opts probe;           /* starttls and timeouts (helo/from are taken from above) */
    const egress *routes;       /* borrowed, must outlive the engine; NULL: one direct route */
    /* Names each domain's catch-all probe address. The same seed gives the
     * same addresses, so a resumed run asks a greylisting server for what it
     * has already seen (clean keeps it in the state); 0: a random one. */
    uint64_t catchall_seed;
    size_t nroutes;
} engine_opts;

/* One address that needs the network. Strings are owned by the item
 * (engine_item_new copies them into the item's own allocation). */
typedef struct engine_item {
    uint64_t row;
    char *email;                /* normalised address (mailvet_email) */
    char *envelope;             /* local@A-label, as sent in RCPT TO */
    char *domain;               /* A-label domain */
    char *did_you_mean;         /* "" when none */
    bool role, free, smtputf8;
    bool repeat;                /* answered, held, and asked again only to carry the
                                   catch-all probe: the next answer is no new attempt */
    bool last_row;              /* no later row of its domain comes (clean counted
                                   them, group.h): its record leaves nothing behind */
    int attempts;               /* answers about it (README "mailvet_attempts") */
    int temps;                  /* 4xx answers so far (the retry number) */
    int drops;                  /* sessions that ended before answering it */
    uint64_t due_ms;            /* waiting for a retry until then (ops->now scale) */
    double due_unix;            /* in: a retry carried over from an earlier run (wall clock) */
    struct ianswer *last;       /* its last answer while it waits (engine.c's; NULL until one) */
    struct engine_item *next;
} engine_item;

/* A new item from a screened address; NULL when out of memory. */
engine_item *engine_item_new(uint64_t row, const char *email, const char *envelope,
                             const char *domain, const char *did_you_mean, bool role,
                             bool free_provider, bool smtputf8);
void engine_item_free(engine_item *it);

/* The item of a screened address (screen.h): R's flags, A's parts. */
engine_item *engine_item_screened(uint64_t row, const result *r, const addr *a);

/* The outside world. CTX is handed back to every call. */
typedef struct engine_ops {
    /* Start an SMTP session with SA (port set) for RCPTS; DONE(UD, …) is
     * called exactly once, later, never from inside this call. TRACE may be
     * NULL. Returns the session's handle, or NULL when out of memory. */
    void *(*session_start)(void *ctx, const struct sockaddr *sa, const probe_opts *opts,
                           probe_rcpt *rcpts, size_t n, probe_done_cb done,
                           probe_trace_cb trace, void *ud);
    /* Abandon a session: its DONE follows (PROBE_TEMPORARY) with what it had. */
    void (*session_cancel)(void *ctx, void *session);
    /* Resolve DOMAIN (A-label) for mail; CB(UD, …) once, later. */
    void (*resolve)(void *ctx, const char *domain, dns_cb cb, void *ud);
    uint64_t (*now)(void *ctx);          /* monotonic milliseconds */
    double (*wall)(void *ctx);           /* wall-clock seconds (retry times kept across runs) */
    /* Call engine_timer() at DUE_MS (ops->now scale), replacing any earlier
     * request; UINT64_MAX: nothing to wait for. */
    void (*arm)(void *ctx, uint64_t due_ms);
} engine_ops;

typedef struct engine_host_info {
    const char *name;
    char ip[46];                /* INET6_ADDRSTRLEN: the address as text */
    const char *provider;       /* its operator (provider.h) */
    bool cleartext;             /* asked without TLS since its STARTTLS handshake failed */
    int sessions, timeouts, blocks, rcpt_cap;
    int connects;               /* sessions that got a TCP connection */
    int last_code;
    const char *last_enhanced, *last_text;
} engine_host_info;

typedef struct engine_events {
    /* A final verdict for IT (R is complete: flags, reason, reply, risk). */
    void (*done)(void *ud, const engine_item *it, const result *r);
    /* IT waits for a retry at DUE_UNIX (wall-clock seconds); R is its last answer. */
    void (*wait)(void *ud, const engine_item *it, double due_unix, const result *r);
    /* What was learned about a domain (accept-all, the MX that answered). */
    void (*domain)(void *ud, const char *domain, result_tri accept_all, const char *mx);
    /* The run cannot go on (every route failed): WHY says so. Items are left
     * unfinished — never turned into verdicts — for a later resume. */
    void (*fatal)(void *ud, const char *why);
    /* One SMTP transcript line (may be NULL): DIR is 'C' sent, 'S' received,
     * or '*' for the engine's own note (the route taken). */
    void (*trace)(void *ud, const char *mx, char dir, const char *line, size_t len);
    /* May be NULL. The first ENGINE_UNREACHABLE_HOSTS distinct MX addresses
     * tried (HOSTS of them) all failed to connect: outbound port 25 is
     * probably blocked. Once per engine, at once. */
    void (*unreachable)(void *ud, uint64_t hosts);
} engine_events;

typedef struct engine_stats {
    uint64_t added, finished, sessions, sessions_active, retries_waiting, retries_used;
    uint64_t busy_replies;      /* 421s and refusals that made us back off */
    uint64_t tls_fallbacks;     /* hosts asked in cleartext after a failed STARTTLS handshake */
    uint64_t connections;       /* TCP connections established */
    uint64_t provider_peak;     /* most sessions one provider had open at once */
    uint64_t mixed_sessions;    /* sessions that carried recipients of several domains */
    uint64_t one_domain_hosts;  /* hosts that refused that: asked one domain a session since */
    uint64_t resolving;         /* domains waiting for their DNS answer now */
    uint64_t domains_live;      /* domain records in memory now */
    uint64_t domains_retired;   /* records that left memory, their work done */
    uint64_t domains_remembered; /* retired ones whose accept-all answer is kept (`learned`) */
    uint64_t hosts_retired;     /* MX host records that left memory (engine_retire_hosts, engine_each_host) */
    uint64_t hosts_starved;     /* hosts with work waiting for a --concurrency slot now */
    /* distinct MX addresses (over every route) a session ended with, those
     * that got a TCP connection at least once, and the others */
    uint64_t hosts_tried, hosts_reached, hosts_unreachable;
} engine_stats;

typedef struct engine engine;

/* NULL when out of memory. */
engine *engine_new(const engine_opts *o, const engine_ops *ops, void *ctx,
                   const engine_events *ev, void *ud);

/* Take IT. An item whose due_unix is in the future waits in the retry queue. */
void engine_add(engine *e, engine_item *it);

/* Domain knowledge from an earlier run (resume, the verdict cache): no new
 * catch-all probe. Safe at any time; ignored for a domain whose own probe
 * this run has sent or answered, whose answer is newer. */
void engine_learn_domain(engine *e, const char *domain, result_tri accept_all);

/* Between hold and release no session starts: the hosts that would have
 * started one do so at release. So a burst of items added together fills
 * sessions, where each item would have started one of its own while the
 * host had free slots (a giant's first sessions carried 1 recipient).
 * Only engine_add and engine_learn_domain may come in between (the held
 * hosts stay in memory until release). */
void engine_hold(engine *e);
void engine_release(engine *e);

/* No item will be added any more (the list is read). From then on a
 * host's last recipients are shared out over its sessions
 * (engine_host_batch); before, that would split sessions that rows still
 * to come would have filled. */
void engine_input_done(engine *e);

/* The time armed through ops->arm has come: retries and pauses that are due. */
void engine_timer(engine *e);

/* Domain records in memory now (engine_stats.domains_live, cheaply). */
size_t engine_domains_live(const engine *e);

/* No item left: everything added has its verdict. */
bool engine_idle(const engine *e);

void engine_get_stats(const engine *e, engine_stats *st);

/* Report each MX address whose counts moved since the last call, with the
 * movement: sessions, timeouts, blocks and connects are what happened
 * since then (a caller adds them up), the rest is the latest (for the
 * report's host table; called periodically and at the end). */
void engine_each_host(engine *e, void (*fn)(void *ud, const engine_host_info *h), void *ud);

/* The hosts whose last domain left memory since the last call and that
 * taught nothing (engine_each_host retires the others when they are done):
 * their counts go to FN as engine_each_host's do, then they leave memory.
 * Cheap: it looks at those hosts only, so it may run every tick. */
void engine_retire_hosts(engine *e, void (*fn)(void *ud, const engine_host_info *h), void *ud);

/* Items waiting in the retry queue: *N, and the earliest due time
 * *NEXT_DUE_MS (ops->now scale; UINT64_MAX when none). True when N > 0. */
bool engine_waiting(const engine *e, uint64_t *n, uint64_t *next_due_ms);

typedef struct engine_route_info {
    const char *label;          /* egress label, never with a password */
    uint64_t sessions, failures;
    bool dead;
} engine_route_info;

/* Report each route (--proxy/--bind; one "direct" route without them). */
void engine_each_route(engine *e, void (*fn)(void *ud, const engine_route_info *r), void *ud);

/* Stop (interrupt): every session is cancelled; the answers they had
 * received still count (a final verdict is reported, a 4xx is reported as a
 * wait), so an orderly stop loses nothing a resume would ask again. Nothing
 * new starts. Wait until sessions_active is 0, then engine_free(). */
void engine_cancel(engine *e);

/* Free the engine and every item it still holds (no verdict for them). */
void engine_free(engine *e);

#endif
