/* cache_policy.c — what the verdict cache keeps, under which age, and the
 * decision for one address (cache_policy.h). Pure. */
#include "cache_policy.h"

#include <stdio.h>
#include <string.h>

bool cache_parse_age(const char *s, int64_t *secs)
{
    if (!s || !*s)
        return false;
    if (strcmp(s, "0") == 0) {
        *secs = 0;
        return true;
    }
    int64_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n > CACHE_AGE_LIMIT)
            return false;
    }
    /* "30" alone: seconds or days? the unit must be said */
    if (p == s || *p == '\0' || p[1] != '\0')
        return false;
    static const char units[] = "smhd";
    static const int64_t mult[] = {1, 60, 3600, 86400};
    const char *u = strchr(units, *p);
    if (!u)
        return false;
    n *= mult[u - units];
    if (n > CACHE_AGE_LIMIT)
        return false;
    *secs = n;
    return true;
}

const char *cache_age_text(int64_t secs, char buf[32])
{
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        snprintf(buf, 32, "%lld s", (long long)secs);
    else if (secs < 2 * 3600)
        snprintf(buf, 32, "%lld min", (long long)(secs / 60));
    else if (secs < 2 * 86400)
        snprintf(buf, 32, "%lld h", (long long)(secs / 3600));
    else
        snprintf(buf, 32, "%lld days", (long long)(secs / 86400));
    return buf;
}

cache_kind cache_kind_of(verdict_reason reason)
{
    switch (reason) {
    case REASON_ACCEPTED: case REASON_MAILBOX_NOT_FOUND: case REASON_MAILBOX_DISABLED:
    case REASON_MAILBOX_FULL:
        return CACHE_KIND_MAILBOX;
    case REASON_ACCEPT_ALL: case REASON_INVALID_DOMAIN: case REASON_NULL_MX:
    case REASON_NO_MAIL_SERVER:
        return CACHE_KIND_DOMAIN;
    default:
        return CACHE_KIND_NONE;
    }
}

bool cache_keeps(verdict_reason reason, bool smtp)
{
    if (!smtp)
        return cache_fact_of_reason(reason) != CACHE_FACT_NONE;
    return cache_kind_of(reason) != CACHE_KIND_NONE;
}

bool cache_forgets(verdict_reason reason)
{
    return reason == REASON_REJECTED;
}

static const char *const fact_names[CACHE_FACT__COUNT] = {
    [CACHE_FACT_NONE] = "", [CACHE_FACT_INVALID_DOMAIN] = "invalid_domain",
    [CACHE_FACT_NULL_MX] = "null_mx", [CACHE_FACT_NO_MAIL_SERVER] = "no_mail_server",
    [CACHE_FACT_ACCEPT_ALL] = "accept_all", [CACHE_FACT_NOT_ACCEPT_ALL] = "not_accept_all",
};

const char *cache_fact_name(cache_fact f)
{
    return f >= 0 && f < CACHE_FACT__COUNT ? fact_names[f] : "";
}

cache_fact cache_fact_parse(const char *name)
{
    for (int f = CACHE_FACT_NONE + 1; name && f < CACHE_FACT__COUNT; f++)
        if (strcmp(name, fact_names[f]) == 0)
            return (cache_fact)f;
    return CACHE_FACT_NONE;
}

cache_fact cache_fact_of_reason(verdict_reason reason)
{
    switch (reason) {
    case REASON_INVALID_DOMAIN: return CACHE_FACT_INVALID_DOMAIN;
    case REASON_NULL_MX: return CACHE_FACT_NULL_MX;
    case REASON_NO_MAIL_SERVER: return CACHE_FACT_NO_MAIL_SERVER;
    default: return CACHE_FACT_NONE;
    }
}

int cache_fact_reason(cache_fact f)
{
    switch (f) {
    case CACHE_FACT_INVALID_DOMAIN: return REASON_INVALID_DOMAIN;
    case CACHE_FACT_NULL_MX: return REASON_NULL_MX;
    case CACHE_FACT_NO_MAIL_SERVER: return REASON_NO_MAIL_SERVER;
    default: return -1;
    }
}

void cache_ages_from(int64_t max_age, cache_ages *a)
{
    a->mailbox = max_age > 0 ? max_age : 0;
    a->domain = a->mailbox < CACHE_DOMAIN_AGE ? a->mailbox : CACHE_DOMAIN_AGE;
}

bool cache_fresh(int64_t at, int64_t age, int64_t now)
{
    return age > 0 && at > 0 && (at >= now || now - at < age);
}

static int64_t mailbox_age(verdict_reason reason, const cache_ages *ages)
{
    cache_kind k = cache_kind_of(reason);
    return k == CACHE_KIND_MAILBOX ? ages->mailbox : k == CACHE_KIND_DOMAIN ? ages->domain : 0;
}

/* Does F's domain fact say something else than its mailbox entry? */
static bool contradicts(const cache_found *f)
{
    bool dns_verdict = cache_fact_of_reason(f->reason) != CACHE_FACT_NONE;
    switch (f->fact) {
    case CACHE_FACT_ACCEPT_ALL:
        return dns_verdict || f->accept_all != TRI_TRUE;
    case CACHE_FACT_NOT_ACCEPT_ALL:
        return dns_verdict || f->accept_all == TRI_TRUE;
    case CACHE_FACT_NONE:
        return false;
    default:                             /* a DNS fact: only its own verdict agrees */
        return cache_fact_reason(f->fact) != (int)f->reason;
    }
}

cache_decision cache_decide(const cache_found *f, int64_t now, const cache_ages *ages, bool smtp)
{
    cache_decision d = {CACHE_USE_PROBE, TRI_UNSET};
    bool fact_fresh = f->fact != CACHE_FACT_NONE && cache_fresh(f->fact_at, ages->domain, now);
    bool mb = f->mailbox && cache_keeps(f->reason, smtp) &&
              cache_fresh(f->at, mailbox_age(f->reason, ages), now);
    if (mb && fact_fresh && f->fact_at > f->at && contradicts(f))
        mb = false;                      /* newer evidence about the domain */
    if (mb) {
        d.use = CACHE_USE_MAILBOX;
        return d;
    }
    if (!fact_fresh)
        return d;
    if (cache_fact_reason(f->fact) >= 0)
        d.use = CACHE_USE_DOMAIN;
    else if (smtp)
        d.learn = f->fact == CACHE_FACT_ACCEPT_ALL ? TRI_TRUE : TRI_FALSE;
    return d;
}
