/* engine_host.h — the one host policy: how many sessions one MX address (as
 * reached by one route) may have open, when it rests, and when it is given
 * up. Postfix's qmgr_queue_throttle/unthrottle is the model: a gentle
 * increase, a firm decrease, and a dead state that keeps its reason.
 *
 *   HOST_OPEN ──busy──► HOST_PAUSED ──pause over──► HOST_THROTTLED
 *       ▲                    ▲                         │   │
 *       └── window regrown ──┼──────── good sessions ──┘   │
 *                            └──────────── busy ───────────┘
 *   any ──refused, or FAIL_DEAD failed connects before any success──► HOST_DEAD
 *
 * - throttle (a busy answer: 421 at the banner, or refused after it had
 *   worked): the window halves (never below 1) and the host rests for
 *   BUSY_PAUSE_MS, doubling with each busy answer in a row up to
 *   BUSY_PAUSE_MAX_MS. BUSY_MAX busy answers in a row are no longer
 *   "busy": the host will not take our mail, and it counts as a failure.
 * - unthrottle (a good session): the window grows by one after a window's
 *   worth of good sessions in a row, up to the ceiling (--per-mx).
 * - fail (connect refused or timed out): FAIL_DEAD in a row on a host that
 *   never answered give it up.
 * - give up (it refused the verifier with a 5xx, or the route never
 *   reaches it): dead for the rest of the run.
 *
 * Pure: no clock of its own (callers pass now), no I/O. The struct is
 * embedded in the engine's host record.
 */
#ifndef MAILVET_ENGINE_HOST_H
#define MAILVET_ENGINE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

#define ENGINE_HOST_FAIL_DEAD 3          /* failed connects in a row before any success */
#define ENGINE_HOST_BUSY_MAX 12          /* busy answers in a row that are no longer "busy" */
#define ENGINE_HOST_PAUSE_MS 500         /* first rest after a busy answer; doubles */
#define ENGINE_HOST_PAUSE_MAX_MS 30000
/* A reply this late is a penalty (probe_opts.penalty_ms): below Postfix's
 * smtpd_error_sleep_time (1 s) and Exchange's tarpit (5 s), above what a
 * server answers an RCPT in when it is not punishing us. */
#define ENGINE_HOST_PENALTY_MS 800

typedef enum engine_host_state {
    HOST_OPEN,          /* window at its ceiling */
    HOST_THROTTLED,     /* window below the ceiling, regrowing */
    HOST_PAUSED,        /* resting until paused_until */
    HOST_DEAD,          /* given up */
} engine_host_state;

typedef struct engine_host {
    engine_host_state state;
    int window, ceiling;
    int ok_streak, busy_streak, fail_streak;
    bool had_success;
    int rcpt_cap;                /* recipients per session it tolerates; 0: no limit seen */
    size_t rcpt_taken;           /* most recipients one session had answered, no limit met */
    bool one_domain;             /* it refused recipients of several domains in one session */
    uint64_t paused_until;
    bool started;                /* a session has begun on it */
    bool gathering;              /* its queue waits for more since gather_since */
    uint64_t gather_since;
    uint32_t generation;         /* throttles so far: a session remembers the one it began in */
} engine_host;

void engine_host_init(engine_host *h, int ceiling);

/* Is RES (a session with no answered recipient) the host saying it is busy?
 * A 421, a refused connect once it had worked, or a session limit before
 * any recipient was answered (postscreen's "450 4.3.2" until the client
 * reconnects, anvil's "450 4.7.1 Error: too many recipients from …" until
 * its time unit is over): a rest, then a new session, never a verdict. */
bool engine_host_is_busy(const engine_host *h, const probe_result *res);

/* A busy answer at NOW to a session begun in generation GEN. False when
 * busy answers ran out (BUSY_MAX in a row): treat it as a failure instead;
 * nothing changed then. Sessions begun before the last throttle were
 * opened under the old window: their busy answers are the same news (five
 * sessions against a cap of one all get 421) and change nothing more, so
 * one crowd of refusals halves the window once and rests the host once. */
bool engine_host_throttle(engine_host *h, uint64_t now, uint32_t gen);

/* The rest that began with throttle is over (at or after paused_until). */
void engine_host_resume(engine_host *h);

/* A good session (it answered recipients). */
void engine_host_unthrottle(engine_host *h);

/* The one rule for recipients per session (rcpt_cap). RES is a session
 * that answered ANSWERED of our recipients (the catch-all probe not
 * counted); one that answered none says nothing of how many a session may
 * carry (engine_host_is_busy). When it met one of the host's limits, rcpt_cap is lowered
 * (never raised, never below 1) to what the host takes without cutting
 * the session short or punishing it, and the answer is true: the session
 * worked, and its unanswered recipients go to a new one at once.
 *   - a recipient count limit (452 4.5.3, Exim's "too many bad
 *     recipients"; the session went on): what it answered;
 *   - an error limit (421 "too many errors" after R refusals: Postfix's
 *     smtpd_hard_error_limit, Exchange's): R / 2, since past Postfix's
 *     soft limit, by default half its hard one (10 of 20), every reply
 *     waits smtpd_error_sleep_time;
 *   - a penalty (probe_opts.penalty_ms: a late reply after K refusals, as
 *     Postfix's error sleep past its soft limit, a tarpit delaying each
 *     refusal): K - 1, so a session stops short of where penalties began;
 *   - the reply timer ran out after the host had answered some (a tarpit
 *     slower than --command-timeout): what it answered. */
bool engine_host_learn_cap(engine_host *h, const probe_result *res, size_t answered);

/* RES, a session carrying recipients of NDOMAINS domains, was refused the
 * later domains' (verdict_mixed_domains): from now on the host is asked
 * one domain per session. True then: the session worked, and its
 * unanswered recipients go to new sessions at once. A session of one
 * domain learns nothing here (it is a session limit like any other). */
bool engine_host_learn_mixed(engine_host *h, const probe_result *res, size_t ndomains);

/* RES, a session that met none of the host's limits, shows the host takes
 * as many recipients as it answered (rcpt_taken). */
void engine_host_took(engine_host *h, const probe_result *res);

/* The RCPTs a session of N may have outstanding at once (probe_opts.
 * rcpt_window; 0: all in one group). A host known to take N (a cap was
 * learned, and sessions are cut to it; or a session had as many answered)
 * gets them in one group; else ENGINE_HOST_RCPT_WINDOW: on the first
 * sessions of a fleet host that takes 50, a session of 100 in one group
 * drew 50 "452 too many recipients", a second of the host's replies each
 * (make bench b2b: 27,105, a fifth of the fleets' replies). */
#define ENGINE_HOST_RCPT_WINDOW 16
size_t engine_host_rcpt_window(const engine_host *h, size_t n);

/* A connect that failed or timed out. True when the host is now dead. */
bool engine_host_fail(engine_host *h);

void engine_host_give_up(engine_host *h);

/* Sessions that may start now beside ACTIVE open ones (0 when paused or dead). */
int engine_host_slots(const engine_host *h, int active);

/* Recipients one session may carry: at most WANT, lowered by rcpt_cap;
 * and, of the WORK the host has left (recipients queued and still
 * unanswered in its sessions), once it is at most two rounds of full
 * sessions, an even share: each of the window's sessions takes the same
 * part in each of the rounds the work needs (at least
 * ENGINE_HOST_SHARE_MIN, so set-up is not most of a session's time). A
 * host's last recipients then end on all its sessions at once, instead of
 * full sessions running on long after a short one ended. */
#define ENGINE_HOST_SHARE_MIN 20
size_t engine_host_batch(const engine_host *h, size_t want, size_t work);

/* Whether the next session should wait for more recipients, and until
 * when (0: start it now). While rows may still come (MORE), a host that
 * has had a session and has fewer than FULL recipients QUEUED gathers them
 * for up to ENGINE_HOST_GATHER_MS from the first one left waiting: on a
 * list read in file order a small domain's rows arrive one by one, and
 * each would otherwise get a session of its own — connect, banner, EHLO
 * and MAIL for one RCPT. A host's first session never waits (a list of
 * one row per domain is not slowed), nor does any once the input is read.
 * engine_host_started ends the gathering. */
#define ENGINE_HOST_GATHER_MS 3000
uint64_t engine_host_gather(engine_host *h, uint64_t now, size_t queued, size_t full, bool more);
void engine_host_started(engine_host *h);

const char *engine_host_state_name(engine_host_state s);

#endif
