/* cache_policy.h — what the verdict cache (cache.h) keeps and when it
 * gives a kept answer back instead of a probe. Pure: no I/O, no clock (the
 * caller passes "now"), any thread.
 *
 * Two kinds of entry:
 *   mailbox  a final verdict about one address (keyed by mailvet_email):
 *            accepted, mailbox_not_found, mailbox_disabled and mailbox_full
 *            live under --max-age; accept_all, invalid_domain, null_mx and
 *            no_mail_server (verdicts that are facts about the domain) under
 *            the domain age. Everything else is never kept: unknowns say
 *            nothing about the mailbox, `rejected` may be about the sender
 *            or the route rather than the mailbox, unroutable_mx depends on
 *            --allow-private-mx, syntax and disposable need no network.
 *   domain   a fact about a domain (keyed by its A-label): invalid_domain,
 *            null_mx, no_mail_server (they decide any address of it without
 *            DNS), accept_all or not_accept_all (given to the engine, so the
 *            domain gets no new catch-all probe). Under the domain age.
 * The domain age is CACHE_DOMAIN_AGE, or --max-age when that is shorter;
 * --max-age 0 reuses nothing.
 */
#ifndef MAILVET_CACHE_POLICY_H
#define MAILVET_CACHE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "verdict.h"

#define CACHE_MAX_AGE_DEFAULT (30 * 86400)   /* --max-age 30d */
#define CACHE_DOMAIN_AGE (7 * 86400)         /* domain facts: a week */
#define CACHE_AGE_LIMIT (3650LL * 86400)     /* the longest --max-age: ten years */

/* Parse a --max-age value: "0", or a whole number with a unit s, m, h or
 * d ("30d", "12h", "90m", "3600s"), at most ten years. False when S is not
 * one (the caller names the option in its message). */
bool cache_parse_age(const char *s, int64_t *secs);

/* SECS as a short text for people: "40 s", "12 min", "5 h", "12 days"
 * (whole units, rounded down). BUF of 32 bytes holds any; returns BUF. */
const char *cache_age_text(int64_t secs, char buf[32]);

typedef enum cache_kind { CACHE_KIND_NONE, CACHE_KIND_MAILBOX, CACHE_KIND_DOMAIN } cache_kind;

/* Under which age a mailbox entry of REASON lives; NONE: never kept. */
cache_kind cache_kind_of(verdict_reason reason);

/* Is a final verdict of REASON kept? At --level dns (SMTP false) only the
 * DNS verdicts are (a mailbox verdict would be deeper than asked). */
bool cache_keeps(verdict_reason reason, bool smtp);

/* A newer final verdict of REASON that is not kept but contradicts an
 * older kept one (a permanent refusal: `rejected`): that entry is removed. */
bool cache_forgets(verdict_reason reason);

typedef enum cache_fact {
    CACHE_FACT_NONE,
    CACHE_FACT_INVALID_DOMAIN,
    CACHE_FACT_NULL_MX,
    CACHE_FACT_NO_MAIL_SERVER,
    CACHE_FACT_ACCEPT_ALL,
    CACHE_FACT_NOT_ACCEPT_ALL,
    CACHE_FACT__COUNT
} cache_fact;

/* The fact's name as stored ("invalid_domain", …, "not_accept_all"), and
 * back (CACHE_FACT_NONE for an unknown name). */
const char *cache_fact_name(cache_fact f);
cache_fact cache_fact_parse(const char *name);

/* The domain fact a final verdict of REASON tells (NONE if none). */
cache_fact cache_fact_of_reason(verdict_reason reason);

/* The verdict a DNS fact decides (invalid_domain, null_mx,
 * no_mail_server); -1 for the others. */
int cache_fact_reason(cache_fact f);

/* The ages a run reuses entries under (from --max-age). */
typedef struct cache_ages {
    int64_t mailbox, domain;     /* seconds; 0: never reused */
} cache_ages;

void cache_ages_from(int64_t max_age, cache_ages *a);

/* Is an entry received at AT still fresh at NOW under AGE? An entry from
 * the future (another machine's clock) counts as new. */
bool cache_fresh(int64_t at, int64_t age, int64_t now);

/* What was found for one address. */
typedef struct cache_found {
    bool mailbox;                /* a mailbox entry exists (and may be used) */
    verdict_reason reason;       /* its verdict */
    result_tri accept_all;       /* its mailvet_accept_all */
    int64_t at;                  /* its mailvet_checked_at */
    cache_fact fact;             /* the domain's fact, CACHE_FACT_NONE if none */
    int64_t fact_at;
} cache_found;

typedef enum cache_use {
    CACHE_USE_PROBE,             /* nothing fresh that decides: ask the network */
    CACHE_USE_MAILBOX,           /* the mailbox entry is the row's verdict */
    CACHE_USE_DOMAIN,            /* the domain's DNS fact is the row's verdict */
} cache_use;

typedef struct cache_decision {
    cache_use use;
    /* PROBE: the domain's accept-all answer to give the engine (fresh
     * accept_all / not_accept_all fact), else TRI_UNSET */
    result_tri learn;
} cache_decision;

/* Decide for F at NOW under AGES; SMTP false at --level dns (only DNS
 * verdicts are reused, nothing is learned). The newest fresh evidence
 * wins: a domain fact received after the mailbox entry that contradicts it
 * (the domain is gone, or it answers for every address now, or no longer)
 * sends the address to the network, or decides it when it is a DNS fact. */
cache_decision cache_decide(const cache_found *f, int64_t now, const cache_ages *ages, bool smtp);

#endif
