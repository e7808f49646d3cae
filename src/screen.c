/* screen.c — syntax, flags and the no-network verdict of one address.
 *
 * Lists are per-domain facts, and real lists repeat a few domains millions
 * of times, so the per-domain answers (free, disposable, suggestion) are kept
 * in a small open-addressing cache that is simply wiped when it fills up:
 * bounded memory, no eviction bookkeeping on the hot path.
 */
#include "screen.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_SLOTS (1u << 16)       /* power of two */
#define CACHE_MAX_FILL (CACHE_SLOTS * 3 / 4)
#define CACHE_ARENA (4u << 20)        /* bytes of domain and suggestion text */

/* Strings live in one arena; a slot holds offsets, so it stays small. */
typedef struct dom_entry {
    uint64_t hash;                  /* 0 = empty slot */
    uint32_t domain, suggestion;    /* arena offsets; suggestion 0 = none */
    bool free, disposable;
} dom_entry;

struct screen {
    const lists *lists;
    addr_opts opts;
    size_t used, arena_len;
    dom_entry slots[CACHE_SLOTS];
    char arena[CACHE_ARENA];        /* arena[0] is the empty string */
};

screen *screen_new(const lists *l, const addr_opts *opts)
{
    screen *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->lists = l;
    s->opts = *opts;
    s->arena_len = 1;
    return s;
}

void screen_free(screen *s)
{
    free(s);
}

static uint64_t hash_str(const char *p)
{
    uint64_t h = 1469598103934665603ULL;     /* FNV-1a */
    while (*p)
        h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
    return h ? h : 1;
}

static uint32_t arena_put(screen *s, const char *p, size_t n)
{
    uint32_t off = (uint32_t)s->arena_len;
    memcpy(s->arena + off, p, n);
    s->arena[off + n] = '\0';
    s->arena_len += n + 1;
    return off;
}

static void cache_fill(screen *s, dom_entry *e, const char *domain)
{
    char sugg[ADDR_DOMAIN_MAX + 1];
    e->domain = arena_put(s, domain, strlen(domain));
    e->disposable = lists_is_disposable(s->lists, domain);
    e->free = !e->disposable && lists_is_free(s->lists, domain);
    size_t n = lists_did_you_mean(s->lists, domain, sugg, sizeof sugg);
    e->suggestion = n ? arena_put(s, sugg, n) : 0;
}

/* The cached facts about DOMAIN, computed on first sight. The cache is
 * wiped when its table or arena fills up. */
static const dom_entry *screen_domain(screen *s, const char *domain)
{
    uint64_t h = hash_str(domain);
    if (s->used >= CACHE_MAX_FILL || s->arena_len + 2 * (ADDR_DOMAIN_MAX + 1) > CACHE_ARENA) {
        memset(s->slots, 0, sizeof s->slots);
        s->used = 0;
        s->arena_len = 1;
    }
    for (size_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        dom_entry *e = &s->slots[i];
        if (e->hash == h && strcmp(s->arena + e->domain, domain) == 0)
            return e;
        if (e->hash == 0) {
            e->hash = h;
            s->used++;
            cache_fill(s, e, domain);
            return e;
        }
    }
}

void screen_rescore(result *r, bool syntax_only)
{
    verdict_flags f = {
        .role = r->role,
        .free = r->free,
        .typo = r->did_you_mean[0] != '\0',
        .syntax_only = syntax_only,
    };
    r->risk = verdict_risk(r->reason, &f);
}

static void set_suggestion(result *r, const addr *a, const char *domain)
{
    size_t ll = strlen(a->local), dl = strlen(domain);
    if (ll + 1 + dl + 1 > sizeof r->did_you_mean)
        return;
    memcpy(r->did_you_mean, a->local, ll);
    r->did_you_mean[ll] = '@';
    memcpy(r->did_you_mean + ll + 1, domain, dl + 1);
}

bool screen_address(screen *s, const char *in, size_t len, bool syntax_only,
                    result *r, addr *a)
{
    result_init(r);
    r->checked_at = (int64_t)time(NULL);   /* a verdict without the network is made now */
    if (addr_parse(in, len, &s->opts, a) != ADDR_OK) {
        r->reason = REASON_INVALID_SYNTAX;
        screen_rescore(r, syntax_only);
        return false;
    }
    memcpy(r->email, a->email, strlen(a->email) + 1);
    const dom_entry *d = screen_domain(s, a->ascii_domain);
    r->role = lists_is_role(s->lists, a->local);
    r->free = d->free;
    r->disposable = d->disposable;
    if (d->suggestion)
        set_suggestion(r, a, s->arena + d->suggestion);
    r->reason = d->disposable ? REASON_DISPOSABLE : REASON_UNVERIFIED;
    screen_rescore(r, syntax_only);
    return !d->disposable;
}
