/* engine.h — the batch engine's network side, on one libuv loop: addresses
 * grouped by domain, one DNS lookup and one catch-all probe per domain, SMTP
 * sessions of up to --rcpt-per-session recipients admitted through per-MX
 * windows (--per-mx ceiling, halved when a host says it is busy, regrown
 * slowly), --per-domain and --concurrency limits, fallbacks to the next
 * address and MX, hosts given up after repeated timeouts or refusals, and
 * 4xx answers parked in the retry queue. With --proxy/--bind every MX address
 * is reached over each route, with windows and give-ups per (route, MX);
 * a failing route is dropped, and when none is left the fatal event stops
 * the run without turning the unreachable addresses into verdicts.
 *
 * Ownership: engine_add() takes the item; the engine frees it after its
 * final verdict has been reported through the done callback. Callbacks run
 * on the loop's thread.
 */
#ifndef MAILVET_ENGINE_H
#define MAILVET_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cli.h"
#include "dns.h"
#include "result.h"

/* One address that needs the network. Strings are owned by the item
 * (engine_item_new copies them). */
typedef struct engine_item {
    uint64_t row;
    char *email;                /* normalised address (mailvet_email) */
    char *envelope;             /* local@A-label, as sent in RCPT TO */
    char *domain;               /* A-label domain */
    char *did_you_mean;         /* "" when none */
    bool role, free, smtputf8;
    int attempts;               /* SMTP sessions that carried it */
    int temps;                  /* 4xx answers so far (the retry number) */
    int drops;                  /* sessions that ended before answering it */
    uint64_t due_ms;            /* waiting for a retry until then (uv_now scale) */
    double due_unix;            /* in: a retry carried over from an earlier run (wall clock) */
    result *last;               /* its last answer while it waits (NULL until one) */
    struct engine_item *next;
} engine_item;

/* A new item from a screened address; NULL when out of memory. */
engine_item *engine_item_new(uint64_t row, const char *email, const char *envelope,
                           const char *domain, const char *did_you_mean, bool role,
                           bool free_provider, bool smtputf8);
void engine_item_free(engine_item *it);

typedef struct engine_host_info {
    const char *name, *ip;
    int sessions, timeouts, blocks, rcpt_cap;
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
} engine_events;

typedef struct engine_stats {
    uint64_t added, finished, sessions, sessions_active, retries_waiting, retries_used;
    uint64_t busy_replies;      /* 421s and refusals that made us back off */
    uint64_t connections;       /* TCP connections established */
} engine_stats;

typedef struct engine engine;

engine *engine_new(uv_loop_t *loop, const cli_opts *o, dns_resolver *dns,
                 const engine_events *ev, void *ud);

/* Take IT. An item whose due_unix is in the future waits in the retry queue. */
void engine_add(engine *s, engine_item *it);

/* Domain knowledge from an earlier run (resume): no new catch-all probe. */
void engine_learn_domain(engine *s, const char *domain, result_tri accept_all);

/* No item left: everything added has its verdict. */
bool engine_idle(const engine *s);

void engine_get_stats(const engine *s, engine_stats *st);

/* Report each MX host that saw a session (for the report's host table). */
void engine_each_host(engine *s, void (*fn)(void *ud, const engine_host_info *h), void *ud);

typedef struct engine_route_info {
    const char *label;          /* egress label, never with a password */
    uint64_t sessions, failures;
    bool dead;
} engine_route_info;

/* Report each route (--proxy/--bind; one "direct" route without them). */
void engine_each_route(engine *s, void (*fn)(void *ud, const engine_route_info *r), void *ud);

/* Abandon every session and timer (interrupt): items in flight are freed
 * without a verdict. Then run the loop until it is empty and engine_free(). */
void engine_cancel(engine *s);

/* Close the engine's handles; the memory is freed once libuv closed them. */
void engine_free(engine *s);

#endif
