/* engine.c — the one engine of `check` and `clean`: domains, MX hosts,
 * sessions, retries.
 *
 * Four kinds of object:
 *   sdomain  one recipient domain: its DNS answer as a list of targets
 *            (MX address, preference), each with a queue of the items
 *            assigned to it (by a hash of the row, among the best working
 *            tier: the load spreads over equal-preference hosts and an
 *            address always meets the same host), the catch-all probe's
 *            state, and items held until accept-all is known.
 *   shost    one MX address as reached by one route (--proxy/--bind: each
 *            route is its own source IP, so limits and blocks are per
 *            pair): its host policy (engine_host.h: window, rest, give-up),
 *            a FIFO of domains waiting for a slot, and what it did to us.
 *   ssession one SMTP session with one host, carrying a batch of items of
 *            one domain or, on a host that several domains' MX records
 *            name (a provider's aspmx.l.google.com), of several: a
 *            one-address domain of a company list then costs a few RCPTs,
 *            not a session's four round trips (mix_in).
 *   sprovider one operator's MX addresses as reached by one route (MX names
 *            sharing a registrable domain, provider.h): its sessions
 *            against --per-provider, so ten thousand tenants of one fleet
 *            are not ten thousand times --per-mx at once.
 *   sroute   one route out (egress.h): its sessions against --per-proxy,
 *            and its health — a route that fails three times in a row is
 *            retired and its targets' items move to the other routes; when
 *            none is left the run stops (fatal event) rather than turn a
 *            proxy's failure into verdicts.
 *
 * Admission is event-driven and never scans: a domain with items waiting
 * for a target queues itself on that target's host; whenever a host
 * gains a slot it pops waiting domains and starts sessions (round robin
 * between the domains that share it). A freed slot re-triggers admission.
 * While rows may still come, a host that has had a session gathers a short
 * queue for a while before the next (engine_host_gather; the wake-up is an
 * entry in `pauses`): a small domain's rows, spread over the file, then
 * share sessions instead of one each.
 *
 * A domain with nothing left to do (no item pending, held, in a session or
 * waiting for a retry) leaves memory: its record, targets and names go,
 * and only what a later row of it needs stays, in `learned` — its
 * accept-all answer, 8 bytes of a flagset.h — so a company list of a million
 * domains does not keep a million records. Such a row resolves again (the
 * resolver's cache answers while it holds the name: dns_cache.c's bound)
 * and gets no second catch-all probe. When an item said no later row of
 * its domain comes (engine_item.last_row: clean counted the rows), or once
 * input is over, nothing stays. A retired host that had a session leaves
 * its address in `hosts_met` (another 8 bytes), so its next record gathers
 * as the old one would have (not once input is over: nothing gathers then).
 *
 * Every item ends in exactly one of: done (final verdict), the retry queue
 * (4xx, until its schedule runs out), or back to its domain's pending list
 * (a session that ended before answering it).
 *
 * mailvet_attempts (README): one per answer a server gave about the
 * address — each RCPT reply, final or 4xx — plus one when its session was
 * refused as a whole with a 4xx, and one when every MX of its domain failed
 * for it. A dropped connection is no answer and counts nothing; nor does
 * the catch-all probe. So the count depends on the answers, never on timing.
 *
 * Evidence (README "Output": mailvet_mx_ip, _checked_at, _route): each
 * answer carries the host it came from, which gives the address (only
 * with a reply) and the route, and the wall-clock time it arrived (an RCPT
 * reply: when the probe read it; a session's failure: when it ended); a
 * verdict without an answer is stamped when it is made (finalize).
 *
 * Time comes from ops->now; the engine keeps two heaps (retries, resting
 * hosts) and asks ops->arm for one wake-up at the earliest of them.
 */
#include "engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_host.h"
#include "flagset.h"
#include "htab.h"
#include "provider.h"
#include "retry.h"
#include "screen.h"
#include "smtp_reply.h"
#include "str.h"
#include "verdict.h"

#define DROPS_MAX 3          /* sessions ending before an item's answer: then a 4xx */
#define ROUTE_FAILS_MAX 3    /* consecutive route errors: the route is retired */

typedef struct shost shost;
typedef struct sdomain sdomain;

/* A ceiling on sessions that several hosts share — --concurrency over
 * all, --per-proxy for a route, --per-provider for an operator: the
 * sessions open under it, and the hosts waiting for one of its slots, each
 * once (its flag, on the host, says it is there). */
typedef struct swait {
    shost *h;
    bool *flag;
} swait;

typedef struct slimit {
    int active, max;             /* max 0: no ceiling */
    swait *a;                    /* the waiting hosts (a stack) */
    size_t n, cap;
} slimit;

typedef struct sroute {
    const egress *e;
    int fail_streak;
    bool dead;
    slimit lim;                  /* --per-proxy */
    uint64_t sessions, failures;
} sroute;

/* One operator as reached by one route; its name is the provider's. */
typedef struct sprovider {
    htab_node node;              /* in engine.providers */
    int route;
    slimit lim;                  /* --per-provider */
    unsigned refs;               /* its hosts in memory */
    char name[];
} sprovider;

/* A FIFO of items. */
typedef struct iqueue {
    engine_item *head, *tail;
    size_t n;
} iqueue;

/* A reply kept for later (a domain's last failure, a dead host's reason):
 * compact, since there is one per domain and per host of a whole list. */
typedef struct ereply {
    verdict_reason reason;
    int code;
    char enhanced[16];
    char *text;                  /* heap copy, NULL when empty */
    const char *mx;              /* points at a target's or host's name */
    const shost *h;              /* the host that answered or failed, NULL: none */
    double at;                   /* when (wall clock), 0: none */
} ereply;

typedef struct starget {
    shost *h;
    int pref;
    char *mx;                    /* MX host name: h->name when the same, else heap */
    bool failed;                 /* failed for this domain */
    bool queued;                 /* the domain waits in h's queue for this target */
    iqueue q;                    /* items assigned to this target */
} starget;

/* D_SETTLED: every item of the domain ends with its fail reply (a DNS
 * failure, or --level dns: what DNS said). */
typedef enum { D_NEW, D_RESOLVING, D_READY, D_SETTLED } dstate;
typedef enum { CA_UNSENT, CA_INFLIGHT, CA_WAIT, CA_KNOWN } castate;

struct sdomain {
    htab_node node;              /* in engine.domains */
    dstate st;
    starget *t;
    int nt;
    iqueue staging;              /* items not assigned to a target yet */
    size_t npend;                /* items in staging and in the targets' queues */
    engine_item *held;            /* accepted while accept-all is unknown */
    int active;
    castate ca;
    int ca_temps;
    uint64_t ca_due;
    uint64_t ca_token;           /* names the catch-all probe's random local part */
    result_tri accept_all;
    unsigned parked;             /* its items in the retry queue */
    bool last_in;                /* its last row has come (engine_item.last_row): nothing to keep */
    ereply fail;                 /* the last target failure: reason, reply, mx */
    engine *s;
    char name[];                 /* in the record's own allocation */
};


typedef struct qentry {
    sdomain *d;
    int ti;
} qentry;

/* An MX address as kept per host: a sockaddr_storage is 128 bytes, and a
 * company list has a host a domain. host_addr() gives the full form back. */
typedef union haddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} haddr;

/* What engine_each_host reported of a host already. */
typedef struct hcounts {
    int sessions, timeouts, blocks, connects;
} hcounts;

struct shost {
    haddr ip;
    int route;                   /* index in engine.routes */
    char *name;                  /* the first MX name seen at this address (heap) */
    htab_node node;              /* in engine.hosts */
    unsigned refs;               /* targets of live domains that name it */
    engine_host pol;             /* window, rest, give-up: the host policy */
    int active;
    int unrouted;                /* consecutive route errors reaching this host */
    bool starved, route_starved, provider_starved;
    sprovider *prov;             /* the operator of its (first) MX name */
    bool resting;                /* in engine.pauses, waiting for its rest to end */
    ereply dead_why;             /* reason and reply when dead */
    qentry *q;                   /* ring of waiting domains */
    size_t qhead, qlen, qcap;
    size_t qitems;               /* items on its targets' queues: what it has to ask */
    struct ssession *open;       /* its open sessions */
    int sessions, timeouts, blocks, connects, last_code;
    char last_enhanced[16];
    /* on the route-0 record, for the whole MX address: */
    bool tried, reached;         /* a session ended / one got a TCP connection */
    bool cleartext;              /* its STARTTLS handshake failed: asked without TLS since */
    hcounts flushed;             /* the counts engine_each_host reported already */
    char *last_text;             /* heap, NULL until a reply is remembered */
    struct shost *idle_next;     /* in engine.idle while idle_listed */
    bool idle_listed;            /* its last domain left: engine_retire_hosts looks */
    bool pump_due;               /* in engine.due: pumped at engine_release */
    engine *s;
};

/* One recipient of a session: an item of domain D (target TI), or, when IT
 * is NULL, D's catch-all probe, whose address the slot owns. */
typedef struct sslot {
    engine_item *it;
    sdomain *d;
    int ti;
    char *catchall;              /* heap; NULL for an item */
} sslot;

/* A domain a session carries, once each: its target on the session's host. */
typedef struct spart {
    sdomain *d;
    int ti;
} spart;

/* One SMTP session with one host: recipients of one or more domains whose
 * MX records name the same host (parts[0] is the domain it began for). */
typedef struct ssession {
    engine *s;
    shost *h;
    const char *mx;              /* the MX name every part's target has: parts[0]'s */
    void *p;                     /* the session's handle (ops) */
    probe_rcpt *rcpts;           /* rcpts[i] is slots[i]'s */
    sslot *slots;
    size_t n, cap;
    spart *parts;
    size_t nparts, partcap;
    uint32_t gen;                /* its host's throttle generation when it began */
    struct ssession *prev, *next;
    struct ssession *hprev, *hnext;  /* in its host's sessions */
} ssession;

struct engine {
    engine_opts o;
    const engine_ops *ops;
    void *ctx;
    engine_events ev;
    void *ud;
    htab domains;                /* sdomain by name: the live ones */
    flagset learned;             /* what retired domains knew: accept-all or not */
    flagset hosts_met;           /* retired hosts that had a session (engine_host_gather) */
    htab hosts;                  /* shost by (address, route) */
    htab providers;              /* sprovider by (name, route) */
    shost *idle;                 /* hosts whose last domain left, newest first */
    slimit all;                  /* --concurrency: every session */
    bool input_done;             /* engine_input_done: no item will be added */
    bool holding;                /* engine_hold: hosts are pumped at engine_release */
    shost **due;                 /* ... these */
    size_t ndue, capdue;
    sroute *routes;
    size_t nroutes, routes_alive;
    ssession *sessions;          /* active, for cancel */
    retry_queue *retry;          /* items waiting for a retry */
    retry_queue *pauses;         /* hosts resting after a busy answer */
    uint64_t armed;              /* the wake-up asked of ops->arm; UINT64_MAX: none */
    engine_stats st;
    bool cancelled;
    bool warned_unreachable;     /* the unreachable event was sent, or is due */
    uint64_t unreachable_hosts;  /* hosts tried when it became due */
    uint64_t unreachable_due;    /* when it is, unless a host is reached first; else UINT64_MAX */
    uint64_t catchall_seed;
};

/* ---- items ---- */

/* S (LEN bytes and its NUL) copied to *P, which moves past it. */
static char *item_put(char **p, const char *s, size_t len)
{
    char *d = memcpy(*p, s, len + 1);
    *p += len + 1;
    return d;
}

/* One allocation: the item and its strings after it (a list has up to a
 * window of them in memory at once). The envelope is most often the email
 * itself and the domain always its tail, so those share the bytes. */
engine_item *engine_item_new(uint64_t row, const char *email, const char *envelope,
                           const char *domain, const char *did_you_mean, bool role,
                           bool free_provider, bool smtputf8)
{
    const char *dym = did_you_mean ? did_you_mean : "";
    size_t le = strlen(email), lv = strlen(envelope), ld = strlen(domain), ly = strlen(dym);
    bool same = strcmp(envelope, email) == 0;
    bool tail = ld < lv && envelope[lv - ld - 1] == '@' && strcmp(envelope + lv - ld, domain) == 0;
    size_t total = le + 1 + (same ? 0 : lv + 1) + (tail ? 0 : ld + 1) + ly + 1;
    engine_item *it = calloc(1, sizeof *it + total);
    if (!it)
        return NULL;
    char *p = (char *)(it + 1);
    it->email = item_put(&p, email, le);
    it->envelope = same ? it->email : item_put(&p, envelope, lv);
    it->domain = tail ? it->envelope + lv - ld : item_put(&p, domain, ld);
    it->did_you_mean = item_put(&p, dym, ly);
    it->row = row;
    it->role = role;
    it->free = free_provider;
    it->smtputf8 = smtputf8;
    return it;
}

engine_item *engine_item_screened(uint64_t row, const result *r, const addr *a)
{
    char envelope[ADDR_BUF + ADDR_DOMAIN_MAX + 2];
    snprintf(envelope, sizeof envelope, "%s@%s", a->local, a->ascii_domain);
    return engine_item_new(row, r->email, envelope, a->ascii_domain, r->did_you_mean, r->role,
                           r->free, a->smtputf8);
}

void engine_item_free(engine_item *it)
{
    if (!it)
        return;
    free(it->last);
    free(it);
}

/* An item's last answer while it waits (a retry, or a held item the
 * catch-all's answer): what finalize() takes of a result, packed, since a
 * result is 3 KB and a list may have thousands of items waiting. */
struct ianswer {
    verdict_reason reason;
    int code;
    int64_t checked_at;
    char enhanced[16];
    uint16_t mx_ip, route, text;      /* offsets in s; mx is at 0 */
    char s[];
};

static void oom(void);

/* Keep REPLY as IT's last answer (allocated on first use: most items never need it). */
static void keep_last(engine_item *it, const result *reply)
{
    const char *f[4] = {reply->mx, reply->mx_ip, reply->route, reply->smtp_text};
    size_t len[4], total = 0;
    for (int i = 0; i < 4; i++)
        total += (len[i] = strlen(f[i])) + 1;
    struct ianswer *a = malloc(sizeof *a + total);
    if (!a)
        oom();
    *a = (struct ianswer){.reason = reply->reason, .code = reply->smtp_code,
                          .checked_at = reply->checked_at};
    str_copy(a->enhanced, sizeof a->enhanced, reply->smtp_enhanced);
    uint16_t *off[4] = {NULL, &a->mx_ip, &a->route, &a->text};
    for (size_t i = 0, at = 0; i < 4; at += len[i++] + 1) {
        if (off[i])
            *off[i] = (uint16_t)at;
        memcpy(a->s + at, f[i], len[i] + 1);
    }
    free(it->last);
    it->last = a;
}

/* IT's last answer as a result (the fields finalize() reads). */
static void last_result(const engine_item *it, result *r)
{
    const struct ianswer *a = it->last;
    result_init(r);
    r->reason = a->reason;
    r->smtp_code = a->code;
    r->checked_at = a->checked_at;
    str_copy(r->smtp_enhanced, sizeof r->smtp_enhanced, a->enhanced);
    str_copy(r->mx, sizeof r->mx, a->s);
    str_copy(r->mx_ip, sizeof r->mx_ip, a->s + a->mx_ip);
    str_copy(r->route, sizeof r->route, a->s + a->route);
    str_copy(r->smtp_text, sizeof r->smtp_text, a->s + a->text);
}

static void oom(void)
{
    fprintf(stderr, "mailvet: out of memory\n");
    exit(EXIT_RUNTIME);
}


static void ereply_set(ereply *e, verdict_reason why, int code, const char *enh,
                       const char *text, const char *mx)
{
    e->reason = why;
    e->code = code;
    str_copy(e->enhanced, sizeof e->enhanced, enh);
    free(e->text);
    e->text = text && *text ? strdup(text) : NULL;
    e->mx = mx;
    e->h = NULL;
    e->at = 0;
}

/* E came from host H at AT (wall clock). */
static void ereply_from(ereply *e, const shost *h, double at)
{
    e->h = h;
    e->at = at;
}

static void set_evidence(result *r, const shost *h, int code, double at);

static void ereply_result(const ereply *e, result *r)
{
    result_init(r);
    r->reason = e->reason;
    r->smtp_code = e->code;
    str_copy(r->smtp_enhanced, sizeof r->smtp_enhanced, e->enhanced);
    str_copy(r->smtp_text, sizeof r->smtp_text, e->text);
    str_copy(r->mx, sizeof r->mx, e->mx);
    set_evidence(r, e->h, e->code, e->at);
}

/* ---- the domain and host tables (htab.h) ---- */

static bool domain_eq(const htab_node *n, const void *key)
{
    return strcmp(HTAB_ENTRY(n, sdomain, node)->name, key) == 0;
}

static sdomain *domain_find(engine *s, const char *name)
{
    htab_node *n = htab_find(&s->domains, htab_hash_str(name), name);
    return n ? HTAB_ENTRY(n, sdomain, node) : NULL;
}

static uint64_t mix64(uint64_t x);

/* The same address at every retry and, with the same seed, in every run:
 * a greylisting server lets it through once it has seen it. */
static void make_catchall(engine *s, sdomain *d)
{
    d->ca_token = mix64(s->catchall_seed ^ htab_hash_str(d->name));
}

/* Keep NAME's accept-all answer V (known) for a later row. */
static void learned_put(engine *s, const char *name, result_tri v)
{
    flagset_put(&s->learned, name, v == TRI_TRUE);
}

/* NAME's accept-all answer from an earlier record of it, taken out of
 * `learned` (the live domain holds it now); TRI_UNSET when none. */
static result_tri learned_take(engine *s, const char *name)
{
    bool accept_all;
    if (!flagset_take(&s->learned, name, &accept_all))
        return TRI_UNSET;
    return accept_all ? TRI_TRUE : TRI_FALSE;
}

static sdomain *domain_get(engine *s, const char *name)
{
    sdomain *d = domain_find(s, name);
    if (d)
        return d;
    size_t len = strlen(name);
    if (!(d = calloc(1, sizeof *d + len + 1)))
        oom();
    memcpy(d->name, name, len + 1);
    d->s = s;
    d->accept_all = learned_take(s, name);
    if (d->accept_all != TRI_UNSET)
        d->ca = CA_KNOWN;
    d->fail.reason = REASON_NO_CONNECT;
    make_catchall(s, d);
    htab_insert(&s->domains, &d->node, htab_hash_str(name));
    return d;
}

static void domain_free(sdomain *d)
{
    for (int k = 0; k < d->nt; k++)
        if (d->t[k].mx != d->t[k].h->name)
            free(d->t[k].mx);
    free(d->t);
    free(d->fail.text);
    free(d);
}

/* Nothing of D is pending, held, in a session, waiting for DNS or for a
 * retry, or queued on a host: it may leave memory. */
static bool domain_idle(const sdomain *d)
{
    if ((d->st != D_READY && d->st != D_SETTLED) || d->npend || d->held || d->active ||
        d->parked || d->ca == CA_INFLIGHT)
        return false;
    for (int i = 0; i < d->nt; i++)
        if (d->t[i].queued)
            return false;
    return true;
}

/* D leaves memory when idle, keeping its accept-all answer if it has one
 * and a later row of it may come (not its last row in, input not over). */
static void domain_retire(sdomain *d)
{
    engine *s = d->s;
    if (s->cancelled || !domain_idle(d))
        return;
    if (d->ca == CA_KNOWN && d->accept_all != TRI_UNSET && !d->last_in && !s->input_done)
        learned_put(s, d->name, d->accept_all);
    for (int k = 0; k < d->nt; k++) {
        shost *h = d->t[k].h;
        if (--h->refs == 0 && !h->idle_listed) {   /* engine_retire_hosts may free it */
            h->idle_listed = true;
            h->idle_next = s->idle;
            s->idle = h;
        }
    }
    htab_remove(&s->domains, &d->node);
    s->st.domains_retired++;
    domain_free(d);
}

/* A host's key: its address as reached by one route. */
typedef struct hkey {
    const struct sockaddr_storage *ip;
    int route;
} hkey;

static uint32_t host_hash(const struct sockaddr_storage *ip, int route)
{
    uint32_t h = ip->ss_family == AF_INET
                 ? htab_hash_bytes(&((const struct sockaddr_in *)ip)->sin_addr, 4)
                 : htab_hash_bytes(&((const struct sockaddr_in6 *)ip)->sin6_addr, 16);
    return h ^ (uint32_t)route * 0x9E3779B9u;
}

static struct sockaddr_storage host_addr(const shost *h)
{
    struct sockaddr_storage ss = {0};
    memcpy(&ss, &h->ip, h->ip.sa.sa_family == AF_INET ? sizeof h->ip.in : sizeof h->ip.in6);
    return ss;
}

/* H's address as text into BUF (INET6_ADDRSTRLEN bytes). */
static const char *host_ipstr(const shost *h, char *buf)
{
    if (h->ip.sa.sa_family == AF_INET)
        return inet_ntop(AF_INET, &h->ip.in.sin_addr, buf, INET6_ADDRSTRLEN);
    return inet_ntop(AF_INET6, &h->ip.in6.sin6_addr, buf, INET6_ADDRSTRLEN);
}

static bool host_eq(const htab_node *n, const void *key)
{
    const shost *h = HTAB_ENTRY(n, shost, node);
    const hkey *k = key;
    if (h->route != k->route || h->ip.sa.sa_family != k->ip->ss_family)
        return false;
    struct sockaddr_storage a = host_addr(h);
    return dns_addr_equal(&a, k->ip);
}

static shost *host_find(const engine *s, const struct sockaddr_storage *ip, int route)
{
    hkey k = {ip, route};
    htab_node *n = htab_find(&s->hosts, host_hash(ip, route), &k);
    return n ? HTAB_ENTRY(n, shost, node) : NULL;
}

typedef struct pkey {
    const char *name;
    int route;
} pkey;

static bool provider_eq(const htab_node *n, const void *key)
{
    const sprovider *p = HTAB_ENTRY(n, sprovider, node);
    const pkey *k = key;
    return p->route == k->route && strcmp(p->name, k->name) == 0;
}

/* The provider record of MX name NAME over ROUTE, made on first use. */
static sprovider *provider_get(engine *s, const char *name, int route)
{
    char pn[PROVIDER_MAX];
    provider_name(name, pn, sizeof pn);
    pkey k = {pn, route};
    uint32_t hash = htab_hash_str(pn) ^ (uint32_t)route * 0x9E3779B9u;
    htab_node *n = htab_find(&s->providers, hash, &k);
    if (n)
        return HTAB_ENTRY(n, sprovider, node);
    size_t len = strlen(pn) + 1;
    sprovider *p = calloc(1, sizeof *p + len);
    if (!p)
        oom();
    memcpy(p->name, pn, len);
    p->route = route;
    p->lim.max = s->o.per_provider;
    htab_insert(&s->providers, &p->node, hash);
    return p;
}

static shost *host_get(engine *s, const struct sockaddr_storage *ip, const char *name, int route)
{
    shost *h = host_find(s, ip, route);
    if (h)
        return h;
    if (!(h = calloc(1, sizeof *h)))
        oom();
    h->s = s;
    memcpy(&h->ip, ip, ip->ss_family == AF_INET ? sizeof h->ip.in : sizeof h->ip.in6);
    h->route = route;
    engine_host_init(&h->pol, s->o.per_mx);
    char ipbuf[INET6_ADDRSTRLEN];
    bool met;                    /* a record of it left before: what it knew comes back */
    if (s->nroutes == 1 && flagset_take(&s->hosts_met, host_ipstr(h, ipbuf), &met))
        h->pol.started = true;
    if (!(h->name = strdup(name ? name : "")))
        oom();
    h->prov = provider_get(s, h->name, route);
    h->prov->refs++;
    htab_insert(&s->hosts, &h->node, host_hash(ip, route));
    return h;
}

/* ---- verdicts ---- */

static uint64_t now_ms(const engine *s)
{
    return s->ops->now(s->ctx);
}

static double wall_now(const engine *s)
{
    return s->ops->wall(s->ctx);
}

/* The wall-clock time of AT_MS (ops->now scale; 0: now). */
static double wall_at(const engine *s, uint64_t at_ms)
{
    uint64_t now = now_ms(s);
    return wall_now(s) - (at_ms && at_ms <= now ? (double)(now - at_ms) / 1000.0 : 0);
}

/* R's evidence: H's address when it gave the reply CODE, H's route, AT. */
static void set_evidence(result *r, const shost *h, int code, double at)
{
    r->mx_ip[0] = r->route[0] = '\0';
    if (h && code)
        host_ipstr(h, r->mx_ip);     /* result.mx_ip holds INET6_ADDRSTRLEN */
    if (h)
        str_copy(r->route, sizeof r->route, h->s->routes[h->route].e->label);
    r->checked_at = at > 0 ? (int64_t)at : 0;
}

/* Ask for one wake-up at the earliest retry or end of a rest. */
static void rearm(engine *s)
{
    uint64_t due = retry_next_due(s->retry), p = retry_next_due(s->pauses);
    if (p < due)
        due = p;
    if (s->unreachable_due < due)
        due = s->unreachable_due;
    if (s->cancelled)
        due = UINT64_MAX;
    if (due != s->armed) {
        s->armed = due;
        s->ops->arm(s->ctx, due);
    }
}

static sdomain *domain_get(engine *s, const char *name);

/* When a retry DELAY_S seconds from now is due: rounded up to a step of a
 * sixteenth of the delay (at least a second), so the 4xx answers a domain
 * gave in the same moment — its addresses arrived one by one, each in a
 * session of its own — come due together and are asked again in one
 * session. Later is never wrong for a greylisting server. */
static uint64_t retry_due(const engine *s, int delay_s)
{
    uint64_t delay = (uint64_t)delay_s * 1000, step = delay / 16;
    if (step < 1000)
        step = 1000;
    uint64_t due = now_ms(s) + delay;
    return (due + step - 1) / step * step;
}

/* IT waits in the retry queue; its domain stays in memory meanwhile. */
static void wait_retry(engine *s, engine_item *it, uint64_t due_ms)
{
    domain_get(s, it->domain)->parked++;
    it->due_ms = due_ms;
    if (retry_add(s->retry, due_ms, it) != 0)
        oom();
    s->st.retries_waiting++;
    rearm(s);
}

static void set_reply(result *r, verdict_reason why, int code, const char *enh, const char *text,
                      const char *mx)
{
    r->reason = why;
    r->smtp_code = code;
    str_copy(r->smtp_enhanced, sizeof r->smtp_enhanced, enh);
    str_copy(r->smtp_text, sizeof r->smtp_text, text);
    str_copy(r->mx, sizeof r->mx, mx);
}

/* Report IT's final verdict (from REPLY) and free it. */
static void finalize(sdomain *d, engine_item *it, const result *reply)
{
    engine *s = d->s;
    result r;
    result_init(&r);
    str_copy(r.email, sizeof r.email, it->email);
    str_copy(r.did_you_mean, sizeof r.did_you_mean, it->did_you_mean);
    r.role = it->role;
    r.free = it->free;
    set_reply(&r, reply->reason, reply->smtp_code, reply->smtp_enhanced, reply->smtp_text,
              reply->mx);
    str_copy(r.mx_ip, sizeof r.mx_ip, reply->mx_ip);
    str_copy(r.route, sizeof r.route, reply->route);
    r.checked_at = reply->checked_at ? reply->checked_at : (int64_t)wall_now(s);
    r.accept_all = d->accept_all;
    if (r.reason == REASON_ACCEPTED && d->accept_all == TRI_TRUE)
        r.reason = REASON_ACCEPT_ALL;
    r.attempts = it->attempts;
    screen_rescore(&r, false);
    s->st.finished++;
    if (s->ev.done)
        s->ev.done(s->ud, it, &r);
    engine_item_free(it);
}

/* IT ends as its settled domain does (a DNS failure, or --level dns). */
static void finalize_settled(sdomain *d, engine_item *it)
{
    result r;
    ereply_result(&d->fail, &r);
    finalize(d, it, &r);
}

/* A 4xx for IT: wait for the next retry, or end with its reason. */
static void item_temporary(sdomain *d, engine_item *it, const result *reply, int hint)
{
    engine *s = d->s;
    keep_last(it, reply);
    if (it->temps >= s->o.nretries) {
        finalize(d, it, reply);
        return;
    }
    int delay = s->o.retry_delays[it->temps++];
    if (hint > delay)
        delay = hint;
    uint64_t due = retry_due(s, delay);
    wait_retry(s, it, due);
    s->st.retries_used++;
    if (s->ev.wait) {
        result r = *reply;
        r.attempts = it->attempts;
        s->ev.wait(s->ud, it, wall_now(s) + (double)(due - now_ms(s)) / 1000.0, &r);
    }
}

static void iq_push(iqueue *q, engine_item *it, bool front)
{
    if (front) {
        it->next = q->head;
        q->head = it;
        if (!q->tail)
            q->tail = it;
    } else {
        it->next = NULL;
        if (q->tail)
            q->tail->next = it;
        else
            q->head = it;
        q->tail = it;
    }
    q->n++;
}

static engine_item *iq_pop(iqueue *q)
{
    engine_item *it = q->head;
    if (it && !(q->head = it->next))
        q->tail = NULL;
    if (it)
        q->n--;
    return it;
}

static bool route_dead(const shost *h)
{
    return h->s->routes[h->route].dead;
}

static bool host_dead(const shost *h)
{
    return h->pol.state == HOST_DEAD;
}

static bool usable(const starget *t)
{
    return !t->failed && !host_dead(t->h) && !route_dead(t->h);
}

/* A source address reaches only addresses of its own family (a proxy
 * connects wherever it can). */
static bool route_fits(const egress *e, const struct sockaddr_storage *mx)
{
    return e->kind != EGRESS_BIND || e->addr.ss_family == mx->ss_family;
}

static int best_tier(const sdomain *d);

static uint64_t mix64(uint64_t x)                    /* splitmix64 */
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Targets are laid out address by address, one per route: t[a * nroutes + k].
 * Address A of D has a usable route at tier TIER. */
static bool addr_usable(const sdomain *d, int a, int tier)
{
    int nr = (int)d->s->nroutes;
    for (int k = 0; k < nr; k++)
        if (d->t[a * nr + k].pref == tier && usable(&d->t[a * nr + k]))
            return true;
    return false;
}

/* The target an item goes to: one of the best tier's MX addresses, chosen
 * by its row, so the load spreads over equal-preference hosts and an
 * address always meets the same host (the same verdict whatever the timing,
 * whatever the routes); then one of that address's usable routes, by
 * another hash of the row. -1: none. */
static int pick_target(const sdomain *d, uint64_t row)
{
    int tier = best_tier(d), nr = (int)d->s->nroutes, naddr = d->nt / nr, n = 0;
    if (tier < 0)
        return -1;
    for (int a = 0; a < naddr; a++)
        n += addr_usable(d, a, tier);
    uint64_t x = mix64(row);
    int ka = (int)(x % (uint64_t)n);
    for (int a = 0; a < naddr; a++) {
        if (!addr_usable(d, a, tier) || ka-- > 0)
            continue;
        int m = 0;
        for (int k = 0; k < nr; k++)
            m += usable(&d->t[a * nr + k]);
        int kr = (int)(mix64(x) % (uint64_t)m);
        for (int k = 0; k < nr; k++)
            if (usable(&d->t[a * nr + k]) && kr-- == 0)
                return a * nr + k;
    }
    return -1;
}

/* Queue IT on D: on its target once DNS is known, else in staging. */
static void pend_add(sdomain *d, engine_item *it, bool front)
{
    int ti = d->st == D_READY ? pick_target(d, it->row) : -1;
    iq_push(ti < 0 ? &d->staging : &d->t[ti].q, it, front);
    if (ti >= 0)
        d->t[ti].h->qitems++;
    d->npend++;
}

/* The next item of target TI's queue (-1: staging). */
static engine_item *pend_pop(sdomain *d, int ti)
{
    engine_item *it = iq_pop(ti < 0 ? &d->staging : &d->t[ti].q);
    if (it && ti >= 0)
        d->t[ti].h->qitems--;
    if (it)
        d->npend--;
    return it;
}

/* Any item at all, for draining. */
static engine_item *pend_pop_any(sdomain *d)
{
    engine_item *it = pend_pop(d, -1);
    for (int i = 0; !it && i < d->nt; i++)
        it = pend_pop(d, i);
    return it;
}

/* Items in staging or on targets that failed move to usable targets. */
static void rebalance(sdomain *d)
{
    if (d->st != D_READY || best_tier(d) < 0)
        return;
    iqueue moved = {0};
    engine_item *it;
    while ((it = pend_pop(d, -1)))
        iq_push(&moved, it, false);
    for (int i = 0; i < d->nt; i++)
        if (!usable(&d->t[i]))
            while ((it = pend_pop(d, i)))
                iq_push(&moved, it, false);
    while ((it = iq_pop(&moved)))
        pend_add(d, it, false);
}

/* Accept-all became known (or will never be): release the held items. */
static void release_held(sdomain *d)
{
    while (d->held) {
        engine_item *it = d->held;
        d->held = it->next;
        result r;
        last_result(it, &r);
        finalize(d, it, &r);
    }
}

/* The catch-all's answer is delayed: the held items are asked again with
 * it (at DUE_MS, or at once when 0) rather than guessed. */
static void unhold(sdomain *d, uint64_t due_ms)
{
    engine *s = d->s;
    while (d->held) {
        engine_item *it = d->held;
        d->held = it->next;
        /* Asked again only to carry the probe: the server answered it
         * already, so the repeat is not another attempt (whether the probe
         * was lost depends on which session a server dropped). */
        it->repeat = true;
        if (!due_ms)
            pend_add(d, it, true);
        else
            wait_retry(s, it, due_ms);
    }
}

static void learn_accept_all(sdomain *d, result_tri v, const char *mx)
{
    d->ca = CA_KNOWN;
    d->accept_all = v;
    if (d->s->ev.domain)
        d->s->ev.domain(d->s->ud, d->name, v, mx);
    release_held(d);
}

/* ---- admission ---- */

static void domain_wake(sdomain *d);
static void host_pump(shost *h);
static void start_session(sdomain *d, int ti);

static void queue_reserve(shost *h)
{
    if (h->qlen == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 8;
        qentry *q = malloc(cap * sizeof *q);
        if (!q)
            oom();
        for (size_t i = 0; i < h->qlen; i++)
            q[i] = h->q[(h->qhead + i) % h->qcap];
        free(h->q);
        h->q = q;
        h->qcap = cap;
        h->qhead = 0;
    }
}

static void queue_push(shost *h, sdomain *d, int ti)
{
    queue_reserve(h);
    h->q[(h->qhead + h->qlen++) % h->qcap] = (qentry){d, ti};
    d->t[ti].queued = true;
}

/* E goes back to the head of H's queue (it keeps its turn). */
static void queue_push_front(shost *h, qentry e)
{
    queue_reserve(h);
    h->qhead = (h->qhead + h->qcap - 1) % h->qcap;
    h->q[h->qhead] = e;
    h->qlen++;
    e.d->t[e.ti].queued = true;
}

static bool queue_pop(shost *h, qentry *e)
{
    if (!h->qlen)
        return false;
    *e = h->q[h->qhead];
    h->qhead = (h->qhead + 1) % h->qcap;
    h->qlen--;
    e->d->t[e->ti].queued = false;
    return true;
}

static bool limit_full(const slimit *l)
{
    return l->max > 0 && l->active >= l->max;
}

/* H waits under L until a slot frees; FLAG says it is there already. */
static void limit_wait(slimit *l, shost *h, bool *flag)
{
    if (*flag)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        swait *a = realloc(l->a, cap * sizeof *a);
        if (!a)
            oom();
        l->a = a;
        l->cap = cap;
    }
    l->a[l->n++] = (swait){h, flag};
    *flag = true;
}

/* A slot of L freed: the hosts that waited for one get their turn. */
static void limit_pump(slimit *l)
{
    while (l->n && !limit_full(l)) {
        swait w = l->a[--l->n];
        *w.flag = false;
        host_pump(w.h);
    }
}

/* A session ended: its slots under the three ceilings free. */
static void limits_release(engine *s, shost *h)
{
    s->all.active--;
    s->routes[h->route].lim.active--;
    h->prov->lim.active--;
}

/* ... and their waiting hosts get their turn. */
static void limits_pump(engine *s, shost *h)
{
    limit_pump(&h->prov->lim);
    limit_pump(&s->routes[h->route].lim);
    limit_pump(&s->all);
}

/* A dead host's waiting domains move on to their other targets. */
/* Target T of D is on a dead host: it fails with the host's reason. */
static void target_dead(sdomain *d, starget *t)
{
    shost *h = t->h;
    t->failed = true;
    ereply_set(&d->fail, h->dead_why.reason, h->dead_why.code, h->dead_why.enhanced,
               h->dead_why.text, h->name);
    ereply_from(&d->fail, h, h->dead_why.at);
}

static void host_drain_dead(shost *h)
{
    qentry e;
    while (queue_pop(h, &e)) {
        target_dead(e.d, &e.d->t[e.ti]);
        domain_wake(e.d);
    }
}

/* H's route is gone: its waiting domains move their items to other routes. */
static void host_drain_route(shost *h)
{
    qentry e;
    while (queue_pop(h, &e))
        domain_wake(e.d);
}

static void *grow(void *a, size_t *cap, size_t size);

/* Does H gather its queued recipients a while longer (engine_host_gather)?
 * Then a wake-up in engine.pauses ends the gathering. */
static bool host_gathers(shost *h)
{
    engine *s = h->s;
    size_t full = engine_host_batch(&h->pol, (size_t)s->o.rcpt_per_session, SIZE_MAX);
    uint64_t until = engine_host_gather(&h->pol, now_ms(s), h->qitems, full, !s->input_done);
    if (!until)
        return false;
    if (!h->resting) {
        if (retry_add(s->pauses, until, h) != 0)
            oom();
        h->resting = true;
        rearm(s);
    }
    return true;
}

/* Start sessions on H while it has slots and domains wait for it. */
static void host_pump(shost *h)
{
    engine *s = h->s;
    sroute *r = &s->routes[h->route];
    if (s->cancelled)
        return;
    if (s->holding) {
        if (!h->pump_due) {
            if (s->ndue == s->capdue)
                s->due = grow(s->due, &s->capdue, sizeof *s->due);
            s->due[s->ndue++] = h;
            h->pump_due = true;
        }
        return;
    }
    if (host_dead(h)) {
        host_drain_dead(h);
        return;
    }
    if (r->dead) {
        host_drain_route(h);
        return;
    }
    if (h->pol.state == HOST_PAUSED && h->pol.paused_until <= now_ms(s))
        engine_host_resume(&h->pol);
    if (h->pol.state == HOST_PAUSED) {
        if (!h->resting && h->qlen) {            /* engine_timer pumps it again */
            if (retry_add(s->pauses, h->pol.paused_until, h) != 0)
                oom();
            h->resting = true;
            rearm(s);
        }
        return;
    }
    qentry e = {0};
    while (engine_host_slots(&h->pol, h->active) > 0 && h->qlen) {
        if (host_gathers(h))
            return;
        if (limit_full(&s->all)) {
            limit_wait(&s->all, h, &h->starved);
            return;
        }
        if (limit_full(&r->lim)) {
            limit_wait(&r->lim, h, &h->route_starved);
            return;
        }
        if (limit_full(&h->prov->lim)) {
            limit_wait(&h->prov->lim, h, &h->provider_starved);
            return;
        }
        queue_pop(h, &e);
        sdomain *d = e.d;
        if (!usable(&d->t[e.ti]) || !d->t[e.ti].q.n || d->active >= s->o.per_domain)
            continue;                /* woken again when that changes */
        start_session(d, e.ti);
        if (d->t[e.ti].q.n && !d->t[e.ti].queued)
            queue_push(h, d, e.ti);  /* round robin with the other domains */
    }
}

/* The lowest preference among D's usable targets, or -1. */
static int best_tier(const sdomain *d)
{
    int best = -1;
    for (int i = 0; i < d->nt; i++)
        if (usable(&d->t[i]) && (best < 0 || d->t[i].pref < best))
            best = d->t[i].pref;
    return best;
}

/* Every target failed: the pending items end with the last failure, or
 * wait for a retry when that failure was temporary. */
static void domain_exhausted(sdomain *d)
{
    engine_item *it;
    bool temp = d->fail.reason == REASON_TEMPORARY_FAILURE || d->fail.reason == REASON_GREYLISTED;
    result fail;
    ereply_result(&d->fail, &fail);
    while ((it = pend_pop_any(d))) {
        /* One attempt for the address whichever session met the failure:
         * the count must not depend on timing (resume gives the same file). */
        it->attempts++;
        if (temp)
            item_temporary(d, it, &fail, 0);
        else
            finalize(d, it, &fail);
    }
    if (d->ca != CA_KNOWN && !d->active)
        learn_accept_all(d, TRI_UNSET, "");
    for (int i = 0; i < d->nt && temp; i++) {    /* a retry may find a host again */
        struct sockaddr_storage ip = host_addr(d->t[i].h);
        d->t[i].failed = !route_fits(d->s->routes[d->t[i].h->route].e, &ip);
    }
}

/* D has work (or its situation changed): queue it on the hosts its items
 * are assigned to. */
static void domain_wake(sdomain *d)
{
    if (d->st != D_READY || !d->npend || d->s->cancelled || !d->s->routes_alive)
        return;
    if (best_tier(d) < 0) {
        if (!d->active)
            domain_exhausted(d);
        return;
    }
    rebalance(d);
    for (int i = 0; i < d->nt; i++) {
        starget *t = &d->t[i];
        if (!t->q.n || !usable(t))
            continue;
        if (!t->queued)
            queue_push(t->h, d, i);
        host_pump(t->h);
    }
}

/* ---- sessions ---- */

static void on_probe_done(void *ud, const probe_result *res);

static void on_trace(void *ud, char dir, const char *line, size_t len)
{
    ssession *ss = ud;
    ss->s->ev.trace(ss->s->ud, ss->mx, dir, line, len);
}

static void session_link(engine *s, ssession *ss)
{
    ss->next = s->sessions;
    if (s->sessions)
        s->sessions->prev = ss;
    s->sessions = ss;
    ss->hnext = ss->h->open;
    if (ss->h->open)
        ss->h->open->hprev = ss;
    ss->h->open = ss;
}

static void session_unlink(engine *s, ssession *ss)
{
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        s->sessions = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    if (ss->hprev)
        ss->hprev->hnext = ss->hnext;
    else
        ss->h->open = ss->hnext;
    if (ss->hnext)
        ss->hnext->hprev = ss->hprev;
}

static void session_free(ssession *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        free(ss->slots[i].catchall);
    free(ss->rcpts);
    free(ss->slots);
    free(ss->parts);
    free(ss);
}

/* Arrays grow as the batch is built: a company list opens thousands of
 * one-recipient sessions, and a probe_rcpt is about 250 bytes. */
static void *grow(void *a, size_t *cap, size_t size)
{
    size_t n = *cap ? *cap * 2 : 4;
    if (!(a = realloc(a, n * size)))
        oom();
    *cap = n;
    return a;
}

static void slot_add(ssession *ss, sdomain *d, int ti, engine_item *it, char *catchall)
{
    if (ss->n == ss->cap) {
        size_t cap = ss->cap;
        ss->rcpts = grow(ss->rcpts, &cap, sizeof *ss->rcpts);
        ss->slots = grow(ss->slots, &ss->cap, sizeof *ss->slots);
    }
    ss->rcpts[ss->n] = it ? (probe_rcpt){.address = it->envelope, .needs_smtputf8 = it->smtputf8}
                          : (probe_rcpt){.address = catchall};
    ss->slots[ss->n++] = (sslot){.it = it, .d = d, .ti = ti, .catchall = catchall};
}

/* D (target TI) joins SS: its catch-all first while accept-all is unknown,
 * then its pending items, up to ROOM recipients; the first part's probe
 * rides along beyond ROOM, a later part's counts. Returns how many of ROOM
 * it took. */
static size_t part_add(ssession *ss, sdomain *d, int ti, size_t room)
{
    engine *s = d->s;
    if (ss->nparts == ss->partcap)
        ss->parts = grow(ss->parts, &ss->partcap, sizeof *ss->parts);
    ss->parts[ss->nparts++] = (spart){d, ti};
    d->active++;
    size_t n = 0;
    if (d->ca == CA_UNSENT || (d->ca == CA_WAIT && d->ca_due <= now_ms(s))) {
        char *ca = malloc(strlen(d->name) + 27);
        if (!ca)
            oom();
        sprintf(ca, "mailvet-%016llx@%s", (unsigned long long)d->ca_token, d->name);
        slot_add(ss, d, ti, NULL, ca);
        d->ca = CA_INFLIGHT;
        n += ss->nparts > 1;
    }
    engine_item *it;
    while (n < room && (it = pend_pop(d, ti))) {
        slot_add(ss, d, ti, it, NULL);
        n++;
    }
    return n;
}

static bool part_of(const ssession *ss, const sdomain *d)
{
    for (size_t i = 0; i < ss->nparts; i++)
        if (ss->parts[i].d == d)
            return true;
    return false;
}

/* Domains looked at in the host's queue for one session's room. */
#define MIX_SCAN 128

/* SS has ROOM left: other domains waiting on its host for a target of the
 * same MX name join it, in their turn. Only by the same name, so a server
 * is only asked about domains whose MX records name it; entries of other
 * names keep their places. A host that refused mixed domains is asked one
 * domain per session (engine_host_learn_mixed). */
static void mix_in(ssession *ss, size_t room)
{
    engine *s = ss->s;
    shost *h = ss->h;
    if (h->pol.one_domain)
        return;
    qentry keep[MIX_SCAN], e;
    size_t nkeep = 0, scan = h->qlen < MIX_SCAN ? h->qlen : MIX_SCAN;
    while (room && scan-- && queue_pop(h, &e)) {
        starget *t = &e.d->t[e.ti];
        if (strcmp(t->mx, ss->mx) != 0 || part_of(ss, e.d)) {
            keep[nkeep++] = e;
            continue;
        }
        if (!usable(t) || !t->q.n || e.d->active >= s->o.per_domain)
            continue;                /* woken again when that changes, as in host_pump */
        room -= part_add(ss, e.d, e.ti, room);
        if (t->q.n)
            queue_push(h, e.d, e.ti);
    }
    while (nkeep)
        queue_push_front(h, keep[--nkeep]);
}

/* The work H's next session shares in (engine_host_batch): the items
 * queued for it and those its open sessions have not had answered yet.
 * SIZE_MAX (full sessions) while rows may still come, or while a shared
 * ceiling is the bottleneck, since every session's set-up then counts
 * against it. */
static size_t host_work(const shost *h)
{
    const engine *s = h->s;
    if (!s->input_done)
        return SIZE_MAX;
    const slimit *l[] = {&s->all, &s->routes[h->route].lim, &h->prov->lim};
    int more = engine_host_slots(&h->pol, h->active);
    for (size_t i = 0; i < sizeof l / sizeof *l; i++)
        if (l[i]->n || (l[i]->max && l[i]->active + more > l[i]->max))
            return SIZE_MAX;
    size_t work = h->qitems;         /* at most a window of sessions to look at */
    for (const ssession *ss = h->open; ss; ss = ss->hnext)
        for (size_t i = 0; i < ss->n; i++)
            work += !ss->rcpts[i].answered;
    return work;
}

static void start_session(sdomain *d, int ti)
{
    engine *s = d->s;
    shost *h = d->t[ti].h;
    ssession *ss = calloc(1, sizeof *ss);
    if (!ss)
        oom();
    ss->s = s;
    ss->h = h;
    ss->mx = d->t[ti].mx;
    ss->gen = h->pol.generation;
    engine_host_started(&h->pol);
    size_t room = engine_host_batch(&h->pol, (size_t)s->o.rcpt_per_session, host_work(h));
    room -= part_add(ss, d, ti, room);
    mix_in(ss, room);
    s->st.mixed_sessions += ss->nparts > 1;
    struct sockaddr_storage sa = host_addr(h);
    uint16_t port = htons((uint16_t)s->o.smtp_port);
    if (sa.ss_family == AF_INET)
        ((struct sockaddr_in *)&sa)->sin_port = port;
    else
        ((struct sockaddr_in6 *)&sa)->sin6_port = port;
    sroute *r = &s->routes[h->route];
    probe_opts po = s->o.probe;
    if (h->cleartext)
        po.starttls = STARTTLS_NEVER;
    po.session_timeout_ms = po.command_timeout_ms * (int)(6 + ss->n);
    po.penalty_ms = ENGINE_HOST_PENALTY_MS;
    po.rcpt_window = engine_host_rcpt_window(&h->pol, ss->n);
    po.server_name = ss->mx;
    po.route = r->e;
    h->active++;
    s->all.active++;
    r->lim.active++;
    r->sessions++;
    if (++h->prov->lim.active > (int)s->st.provider_peak)
        s->st.provider_peak = (uint64_t)h->prov->lim.active;
    s->st.sessions++;
    session_link(s, ss);
    if (s->ev.trace && r->e->kind != EGRESS_DIRECT) {
        char via[160];
        int n = snprintf(via, sizeof via, "via %s", r->e->label);
        s->ev.trace(s->ud, po.server_name, '*', via, n > 0 ? (size_t)n : 0);
    }
    if (!(ss->p = s->ops->session_start(s->ctx, (struct sockaddr *)&sa, &po, ss->rcpts, ss->n,
                                        on_probe_done, s->ev.trace ? on_trace : NULL, ss)))
        oom();
}

/* One RCPT answer for item IT (or the catch-all when IT is NULL). */
static void take_answer(sdomain *d, engine_item *it, const probe_rcpt *pr, const char *mx,
                        const shost *h)
{
    engine *s = d->s;
    verdict_reason why = verdict_classify(STAGE_RCPT, pr->code, pr->enhanced, pr->text);
    bool temp = pr->code >= 400 && pr->code < 500 && why != REASON_MAILBOX_FULL;
    smtp_reply sr = {.code = pr->code};
    str_copy(sr.text, sizeof sr.text, pr->text);
    int hint = temp ? smtp_reply_delay_hint(&sr) : 0;
    if (!it) {                                   /* the catch-all probe */
        if (!temp) {
            learn_accept_all(d, pr->code < 300 ? TRI_TRUE : TRI_FALSE, mx);
        } else if (d->ca_temps >= s->o.nretries) {
            learn_accept_all(d, TRI_UNSET, mx);  /* never answered: unknown */
        } else {
            int delay = s->o.retry_delays[d->ca_temps++];
            d->ca = CA_WAIT;
            d->ca_due = retry_due(s, hint > delay ? hint : delay);
            unhold(d, d->ca_due);
        }
        return;
    }
    result reply;
    result_init(&reply);
    set_reply(&reply, why, pr->code, pr->enhanced, pr->text, mx);
    set_evidence(&reply, h, pr->code, wall_at(s, pr->at_ms));
    if (it->repeat)                              /* asked again to carry the probe */
        it->repeat = false;
    else
        it->attempts++;                          /* an attempt: the server answered it */
    if (temp) {
        item_temporary(d, it, &reply, hint);
    } else if (d->ca != CA_KNOWN) {
        /* Wait for the catch-all's answer (another session may carry it):
         * a verdict never depends on which session happened to be first. */
        keep_last(it, &reply);
        it->next = d->held;
        d->held = it;
        /* No probe on its way (it came back unanswered from a session that
         * ended first, or waits for its retry): the held item carries the
         * next one, else it would wait for nothing. */
        if (d->ca != CA_INFLIGHT)
            unhold(d, d->ca == CA_WAIT ? d->ca_due : 0);
    } else {
        finalize(d, it, &reply);
    }
}

/* H is given up (or died of its failures): remember why, for its domains. */
static void host_mark_dead(shost *h, verdict_reason why, const probe_result *res)
{
    engine_host_give_up(&h->pol);
    ereply_set(&h->dead_why, why, res->code, res->enhanced, res->text, h->name);
    ereply_from(&h->dead_why, h, wall_now(h->s));
}

static void remember_reply(shost *h, const probe_result *res)
{
    if (!res->code)
        return;
    h->last_code = res->code;
    str_copy(h->last_enhanced, sizeof h->last_enhanced, res->enhanced);
    free(h->last_text);
    h->last_text = strdup(res->text);
}

/* What a failed session means for its host and its domains' targets. */
static void session_failed(ssession *ss, const probe_result *res)
{
    engine *s = ss->s;
    shost *h = ss->h;
    bool target_fails = false;
    remember_reply(h, res);
    switch (res->outcome) {
    case PROBE_TIMEOUT:
    case PROBE_NO_CONNECT:
        h->timeouts += res->outcome == PROBE_TIMEOUT;
        if (engine_host_fail(&h->pol))
            host_mark_dead(h, res->reason, res);
        target_fails = true;
        break;
    case PROBE_REFUSED:
        h->blocks++;
        host_mark_dead(h, res->reason, res);     /* it refuses the verifier: stop asking */
        target_fails = true;
        break;
    case PROBE_TLS_ERROR:
        /* As Postfix and Exim do with --starttls auto: a broken handshake
         * says nothing of the mailboxes; ask again in cleartext, on a new
         * connection (its recipients go back to the queue). */
        if (s->o.probe.starttls == STARTTLS_AUTO && !h->cleartext) {
            h->cleartext = true;
            s->st.tls_fallbacks++;
            break;
        }
        target_fails = true;
        break;
    case PROBE_PROTOCOL_ERROR:
        target_fails = true;
        break;
    default:
        break;
    }
    /* The failure judges the target of the domain the session began for;
     * the others rode along and go back to their queues (return_unanswered)
     * for sessions of their own turn, so one broken session is never the
     * verdict of a hundred domains. A host given up fails them all anyway. */
    for (size_t i = 0; i < ss->nparts; i++) {
        sdomain *d = ss->parts[i].d;
        starget *t = &d->t[ss->parts[i].ti];
        ereply_set(&d->fail, res->reason, res->code, res->enhanced, res->text, t->mx);
        ereply_from(&d->fail, h, wall_now(s));
        if (i == 0)
            t->failed |= target_fails;
    }
}

/* Items the session did not answer: back to the front of their domains'
 * queues, or a 4xx when the session was refused temporarily or dropped
 * too often. AGAIN: the session met a limit it taught the host, so none
 * of that is the server's answer. */
static void return_unanswered(ssession *ss, const probe_result *res, bool busy, bool again)
{
    bool refused_4xx = res->outcome == PROBE_TEMPORARY && res->code >= 400 && res->code < 500 &&
                       !busy && !res->answered;
    bool dropped = res->outcome == PROBE_TEMPORARY && !res->code && !busy;
    /* A session limit that let not one recipient through would send them
     * to new sessions forever: that is the server's answer for now, and
     * waits for the retry schedule like a 4xx. */
    bool stalled = res->session_limit && !res->answered && !busy && !again;
    for (size_t i = ss->n; i-- > 0;) {
        if (ss->rcpts[i].answered)
            continue;
        engine_item *it = ss->slots[i].it;
        sdomain *d = ss->slots[i].d;
        if (!it) {
            if (d->ca == CA_INFLIGHT) {
                d->ca = CA_UNSENT;
                unhold(d, 0);
            }
            continue;
        }
        if (stalled) {
            result fail;
            result_init(&fail);
            fail.reason = REASON_TEMPORARY_FAILURE;
            set_evidence(&fail, ss->h, 0, wall_now(d->s));
            it->attempts++;
            item_temporary(d, it, &fail, 0);
            continue;
        }
        if (refused_4xx || (dropped && ++it->drops > DROPS_MAX)) {
            /* A refusal of the whole session is the server's answer; a lost
             * connection is not, and which session a server drops depends
             * on timing, so drops never count as attempts. */
            it->attempts += refused_4xx;
            result fail;
            ereply_result(&d->fail, &fail);
            item_temporary(d, it, &fail, 0);
            continue;
        }
        pend_add(d, it, true);
    }
}

/* The route failed, not the server: three in a row and the route is
 * dropped (its hosts' domains move to the other routes); none left stops
 * the run. */
static void route_failed(engine *s, int ri, const char *why)
{
    sroute *r = &s->routes[ri];
    r->failures++;
    if (r->dead || ++r->fail_streak < ROUTE_FAILS_MAX)
        return;
    r->dead = true;
    s->routes_alive--;
    char msg[1024];
    if (s->routes_alive)
        fprintf(stderr, "mailvet: route %s failed %d times in a row (%s); its work moves to "
                "the %zu other route%s\n", r->e->label, ROUTE_FAILS_MAX, why, s->routes_alive,
                s->routes_alive == 1 ? "" : "s");
    htab_iter hi;
    htab_iter_init(&hi, &s->hosts);
    for (htab_node *n; (n = htab_iter_next(&hi));) {
        shost *h = HTAB_ENTRY(n, shost, node);
        if (h->route == ri)
            host_pump(h);
    }
    if (!s->routes_alive && s->ev.fatal) {
        snprintf(msg, sizeof msg, "every route failed (last: %s: %s)", r->e->label, why);
        s->ev.fatal(s->ud, msg);
    }
}

/* The items of a session that never reached the server go back as they
 * were. A route that works for other hosts but never for this one (a
 * proxy's rules) gives this (route, MX) pair up, so nothing loops. */
static void session_unrouted(ssession *ss, const probe_result *res)
{
    shost *h = ss->h;
    const char *why = res->text[0] ? res->text : "route error";
    route_failed(ss->s, h->route, why);
    if (++h->unrouted >= ROUTE_FAILS_MAX && !host_dead(h)) {
        probe_result r = *res;
        snprintf(r.text, sizeof r.text, "not reachable through %.60s: %.100s",
                 ss->s->routes[h->route].e->label, why);
        host_mark_dead(h, REASON_NO_CONNECT, &r);
        for (size_t i = 0; i < ss->nparts; i++)
            ss->parts[i].d->t[ss->parts[i].ti].failed = true;
    }
    return_unanswered(ss, res, true, false);
}

/* The run is stopping: answers the session had received still count (a
 * final verdict is reported, a 4xx as a wait), so a resume does not ask
 * again what this run already learned; the rest is freed without a verdict. */
static void session_cancelled(ssession *ss)
{
    for (size_t i = 0; i < ss->n; i++) {
        if (ss->rcpts[i].answered)
            take_answer(ss->slots[i].d, ss->slots[i].it, &ss->rcpts[i], ss->mx, ss->h);
        else
            engine_item_free(ss->slots[i].it);
    }
    session_free(ss);
}

static void unreachable_check(engine *s);

/* Port 25: distinct MX addresses tried and reached, over every route.
 * When the first ENGINE_UNREACHABLE_HOSTS tried were all unreachable the
 * unreachable event says so, once. */
static void count_reach(engine *s, shost *h, bool connected)
{
    struct sockaddr_storage ip = host_addr(h);
    shost *h0 = host_find(s, &ip, 0);
    if (!h0)
        h0 = h;
    if (!h0->tried) {
        h0->tried = true;
        s->st.hosts_tried++;
    }
    if (connected && !h0->reached) {
        h0->reached = true;
        s->st.hosts_reached++;
    }
    /* Dead hosts refuse at once while working ones are still talking: the
     * event waits one connect timeout more for a session to get through,
     * or until no session is left that could. */
    if (!s->warned_unreachable && !s->st.hosts_reached &&
        s->st.hosts_tried >= ENGINE_UNREACHABLE_HOSTS) {
        s->warned_unreachable = true;
        s->unreachable_hosts = s->st.hosts_tried;
        s->unreachable_due = now_ms(s) + (uint64_t)s->o.probe.connect_timeout_ms;
        rearm(s);
    }
    if (s->unreachable_due != UINT64_MAX && !s->all.active) {
        s->unreachable_due = 0;
        unreachable_check(s);
    }
}

/* The unreachable event's time has come: sent if still no host was reached. */
static void unreachable_check(engine *s)
{
    if (s->unreachable_due > now_ms(s))
        return;
    s->unreachable_due = UINT64_MAX;
    if (!s->st.hosts_reached && s->ev.unreachable)
        s->ev.unreachable(s->ud, s->unreachable_hosts);
}

/* The session's domains have news: each looks for a slot again, and
 * leaves memory when it has nothing left to do. */
static void parts_wake(ssession *ss)
{
    for (size_t i = 0; i < ss->nparts; i++)
        domain_wake(ss->parts[i].d);
    limits_pump(ss->s, ss->h);
    for (size_t i = 0; i < ss->nparts; i++)
        domain_retire(ss->parts[i].d);
}

/* Recipients the session answered, but the first part's catch-all probe,
 * which rides beyond the session's size (part_add). */
static size_t answered_within(const ssession *ss)
{
    size_t n = 0;
    for (size_t i = 0; i < ss->n; i++)
        n += ss->rcpts[i].answered && (ss->slots[i].it || ss->slots[i].d != ss->parts[0].d);
    return n;
}

static void on_probe_done(void *ud, const probe_result *res)
{
    ssession *ss = ud;
    engine *s = ss->s;
    shost *h = ss->h;
    sroute *r = &s->routes[h->route];
    session_unlink(s, ss);
    for (size_t i = 0; i < ss->nparts; i++)
        ss->parts[i].d->active--;
    h->active--;
    limits_release(s, h);
    if (res->connected)
        r->fail_streak = h->unrouted = 0;
    s->st.connections += res->connected;
    if (s->cancelled) {
        session_cancelled(ss);
        return;
    }
    if (res->outcome == PROBE_EGRESS_ERROR) {
        session_unrouted(ss, res);
        parts_wake(ss);
        session_free(ss);
        return;
    }
    h->sessions++;
    h->connects += res->connected;
    count_reach(s, h, res->connected);
    for (size_t i = 0; i < ss->n; i++)
        if (ss->rcpts[i].answered)
            take_answer(ss->slots[i].d, ss->slots[i].it, &ss->rcpts[i], ss->mx, h);
    /* A session cut short by a limit of the host's (recipients of several
     * domains refused, an error limit's 421, a penalty, a reply slower than
     * our timer) worked: what it answered stands, the rest go to a new
     * session at once. */
    bool one_domain = h->pol.one_domain;
    bool mixed = engine_host_learn_mixed(&h->pol, res, ss->nparts);
    s->st.one_domain_hosts += mixed && !one_domain;
    bool limited = mixed || engine_host_learn_cap(&h->pol, res, answered_within(ss));
    engine_host_took(&h->pol, res);
    /* A busy answer throttles the host; once busy answers ran out it is
     * not us: the host will not take mail, and it counts as a failure. A
     * host given up meanwhile keeps the verdict it earned: a 421 racing its
     * 554 must not make a different verdict (or attempt count) by timing. */
    bool busy = !mixed && engine_host_is_busy(&h->pol, res);
    if (busy && !host_dead(h) && !engine_host_throttle(&h->pol, now_ms(s), ss->gen))
        busy = false;
    s->st.busy_replies += busy;
    if (!busy && (res->outcome == PROBE_DONE || limited))
        engine_host_unthrottle(&h->pol);
    else if (!busy)
        session_failed(ss, res);
    if (!busy && !limited && res->outcome == PROBE_TEMPORARY) {
        for (size_t i = 0; i < ss->nparts; i++) {
            sdomain *d = ss->parts[i].d;
            ereply_set(&d->fail, res->reason == REASON_ACCEPTED ? REASON_TEMPORARY_FAILURE
                                                                : res->reason,
                       res->code, res->enhanced, res->text, d->t[ss->parts[i].ti].mx);
            ereply_from(&d->fail, h, wall_now(s));
        }
    }
    return_unanswered(ss, res, busy, mixed);
    host_pump(h);
    parts_wake(ss);
    session_free(ss);
}

/* ---- DNS ---- */

/* D's fate is decided by DNS alone: its items, now and later, end with FAIL. */
static void domain_settle(sdomain *d, verdict_reason why, const char *mx)
{
    d->st = D_SETTLED;
    ereply_set(&d->fail, why, 0, "", NULL, mx);
    engine_item *it;
    while ((it = pend_pop_any(d)))
        finalize_settled(d, it);
    domain_retire(d);
}

static void on_dns(void *ud, const dns_result *res)
{
    sdomain *d = ud;
    engine *s = d->s;
    s->st.resolving--;
    if (s->cancelled)
        return;
    if (res->status != DNS_OK) {
        domain_settle(d, dns_status_reason(res->status), NULL);
        return;
    }
    /* One target per MX address and route: items spread over both. */
    size_t n = 0;
    for (size_t i = 0; i < res->nmx; i++)
        n += res->mx[i].naddrs * s->nroutes;
    if (!(d->t = calloc(n, sizeof *d->t)))
        oom();
    for (size_t i = 0; i < res->nmx; i++)
        for (size_t j = 0; j < res->mx[i].naddrs; j++)
            for (size_t k = 0; k < s->nroutes; k++) {
                starget *t = &d->t[d->nt++];
                t->h = host_get(s, &res->mx[i].addrs[j], res->mx[i].host, (int)k);
                t->h->refs++;
                t->pref = res->mx[i].pref;
                t->failed = !route_fits(s->routes[k].e, &res->mx[i].addrs[j]);
                /* the host's own name when it is this one (a fleet's
                 * thousands of domains name it): the host outlives us */
                t->mx = strcmp(t->h->name, res->mx[i].host) == 0 ? t->h->name
                                                                  : strdup(res->mx[i].host);
                if (!t->mx)
                    oom();
                if (host_dead(t->h))     /* given up before: its reason, as it was */
                    target_dead(d, t);
            }
    if (s->o.dns_only) {                         /* --level dns: no SMTP, ever */
        domain_settle(d, REASON_UNVERIFIED, d->t[0].mx);
        return;
    }
    d->st = D_READY;
    domain_wake(d);
}

/* D has items: resolve it on first use, else look for a slot. */
static void domain_start(sdomain *d)
{
    if (d->st == D_NEW) {
        d->st = D_RESOLVING;
        d->s->st.resolving++;
        d->s->ops->resolve(d->s->ctx, d->name, on_dns, d);
    } else {
        domain_wake(d);
    }
}

/* IT needs its domain's hosts (again). */
static void domain_take(engine *s, engine_item *it)
{
    sdomain *d = domain_get(s, it->domain);
    d->last_in |= it->last_row;
    if (d->st == D_SETTLED) {
        finalize_settled(d, it);
        return;
    }
    pend_add(d, it, false);
    domain_start(d);
}

/* ---- time ---- */

void engine_timer(engine *s)
{
    s->armed = UINT64_MAX;                       /* the wake-up asked for has come */
    if (s->cancelled)
        return;
    uint64_t now = now_ms(s);
    void *p;
    unreachable_check(s);
    while (retry_pop_due(s->pauses, now, &p)) {
        shost *h = p;
        h->resting = false;
        host_pump(h);
    }
    /* Take what is due first: an item re-queued while these run waits for
     * the next wake-up, so nothing loops inside one call. */
    iqueue due = {0};
    while (retry_pop_due(s->retry, now, &p)) {
        s->st.retries_waiting--;
        domain_find(s, ((engine_item *)p)->domain)->parked--;
        iq_push(&due, p, false);
    }
    /* All of them back in their domains' queues before any session starts,
     * so the retries of one domain that came due together share one. */
    sdomain **woken = due.n ? malloc(due.n * sizeof *woken) : NULL;
    size_t nwoken = 0;
    if (due.n && !woken)
        oom();
    engine_item *it;
    while ((it = iq_pop(&due))) {
        sdomain *d = domain_get(s, it->domain);
        if (d->st == D_SETTLED) {
            finalize_settled(d, it);
            continue;
        }
        pend_add(d, it, false);
        woken[nwoken++] = d;
    }
    for (size_t i = 0; i < nwoken; i++)
        domain_start(woken[i]);
    free(woken);
    rearm(s);
}

/* ---- the engine ---- */

engine *engine_new(const engine_opts *o, const engine_ops *ops, void *ctx,
                   const engine_events *ev, void *ud)
{
    static const egress direct = {.kind = EGRESS_DIRECT, .label = "direct"};
    engine *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->o = *o;
    s->o.probe.helo = s->o.helo;                 /* into our own copy */
    s->o.probe.from = s->o.from;
    s->ops = ops;
    s->ctx = ctx;
    s->ev = *ev;
    s->ud = ud;
    s->armed = s->unreachable_due = UINT64_MAX;
    s->catchall_seed = o->catchall_seed ? o->catchall_seed
                                        : mix64((uint64_t)(wall_now(s) * 1e6) ^ (uintptr_t)s);
    s->nroutes = s->routes_alive = o->nroutes ? o->nroutes : 1;
    if (!(s->routes = calloc(s->nroutes, sizeof *s->routes)) || !(s->retry = retry_new()) ||
        !(s->pauses = retry_new()) || !htab_init(&s->domains, 1024, domain_eq) ||
        !htab_init(&s->hosts, 1024, host_eq) || !htab_init(&s->providers, 256, provider_eq)) {
        htab_free(&s->domains);
        htab_free(&s->hosts);
        htab_free(&s->providers);
        retry_free(s->retry);
        retry_free(s->pauses);
        free(s->routes);
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->nroutes; i++) {
        s->routes[i].e = o->nroutes ? &o->routes[i] : &direct;
        s->routes[i].lim.max = o->per_proxy;
    }
    s->all.max = o->concurrency;
    return s;
}

void engine_add(engine *s, engine_item *it)
{
    s->st.added++;
    double wait = it->due_unix - wall_now(s);
    if (wait > 0) {                              /* a retry carried over from a resume */
        wait_retry(s, it, now_ms(s) + (uint64_t)(wait * 1000));
        return;
    }
    domain_take(s, it);
}

void engine_learn_domain(engine *s, const char *domain, result_tri accept_all)
{
    if (accept_all == TRI_UNSET)
        return;
    sdomain *d = domain_find(s, domain);
    bool known;
    if (!d) {                                    /* a record only when a row needs it */
        if (!flagset_get(&s->learned, domain, &known))
            learned_put(s, domain, accept_all);
        return;
    }
    /* What this run asked is newer: once its probe is out, the probe's
     * answer decides (and no item is held before that). */
    if (d->ca != CA_UNSENT)
        return;
    d->ca = CA_KNOWN;
    d->accept_all = accept_all;
}

void engine_hold(engine *s)
{
    s->holding = true;
}

void engine_release(engine *s)
{
    s->holding = false;
    for (size_t i = 0; i < s->ndue; i++) {
        s->due[i]->pump_due = false;
        host_pump(s->due[i]);
    }
    s->ndue = 0;
}

void engine_input_done(engine *s)
{
    s->input_done = true;
    htab_iter i;                                 /* no more rows: nothing to gather for */
    htab_iter_init(&i, &s->hosts);
    for (htab_node *n; (n = htab_iter_next(&i));) {
        shost *h = HTAB_ENTRY(n, shost, node);
        if (h->pol.gathering)
            host_pump(h);
    }
}

size_t engine_domains_live(const engine *s)
{
    return htab_count(&s->domains);
}

bool engine_idle(const engine *s)
{
    return s->st.finished == s->st.added;
}

void engine_get_stats(const engine *s, engine_stats *st)
{
    *st = s->st;
    st->sessions_active = (uint64_t)s->all.active;
    st->hosts_starved = s->all.n;
    st->domains_live = engine_domains_live(s);
    st->domains_remembered = flagset_count(&s->learned);
    st->hosts_unreachable = st->hosts_tried - st->hosts_reached;
}

/* One line per MX address: the sums over its routes (the route-0 record
 * exists whenever another does: a domain's targets cover every route). */
static engine_host_info host_info(const engine *s, const shost *h0)
{
    engine_host_info info = {.name = h0->name, .provider = h0->prov->name,
                             .cleartext = h0->cleartext, .last_enhanced = "", .last_text = ""};
    host_ipstr(h0, info.ip);
    struct sockaddr_storage ip = host_addr(h0);
    for (size_t r = 0; r < s->nroutes; r++) {
        const shost *h = host_find(s, &ip, (int)r);
        if (!h)
            continue;
        info.sessions += h->sessions;
        info.timeouts += h->timeouts;
        info.blocks += h->blocks;
        info.connects += h->connects;
        if (h->pol.rcpt_cap && (!info.rcpt_cap || h->pol.rcpt_cap < info.rcpt_cap))
            info.rcpt_cap = h->pol.rcpt_cap;
        if (h->last_code && !info.last_code) {
            info.last_code = h->last_code;
            info.last_enhanced = h->last_enhanced;
            info.last_text = h->last_text ? h->last_text : "";
        }
    }
    return info;
}

/* H may leave memory: no live domain names it, nothing of it is under
 * way or waiting, and it taught us nothing (its window is whole; no cap,
 * cleartext, one-domain or give-up learned), so a later domain naming it
 * starts again from what a new record knows. A company list's hosts are
 * one a domain: they go with their domains, as domains do (domain_retire).
 * With several routes a host's counts are kept on its route-0 record for
 * all of them, so there hosts stay. */
static bool host_idle(const shost *h)
{
    return h->s->nroutes == 1 && !h->refs && !h->active && !h->qlen && !h->resting &&
           !h->starved && !h->route_starved && !h->provider_starved && !h->unrouted &&
           h->pol.state == HOST_OPEN && !h->pol.rcpt_cap && !h->pol.one_domain && !h->cleartext;
}

static void host_free(shost *h);

/* H leaves memory, and its provider with it when that was its last host. */
static void host_retire(shost *h)
{
    engine *s = h->s;
    sprovider *p = h->prov;
    char ipbuf[INET6_ADDRSTRLEN];
    /* a later record of it gathers as this one would; once input is over
     * nothing gathers (the soak's 400,000 hosts doubled the set at the end) */
    if (h->pol.started && !s->input_done)
        flagset_put(&s->hosts_met, host_ipstr(h, ipbuf), true);
    htab_remove(&s->hosts, &h->node);
    host_free(h);
    s->st.hosts_retired++;
    if (--p->refs == 0 && !p->lim.active && !p->lim.n) {
        htab_remove(&s->providers, &p->node);
        free(p->lim.a);
        free(p);
    }
}

/* Hands H's counts that moved since the last time to FN. */
static void host_flush(shost *h, void (*fn)(void *ud, const engine_host_info *h), void *ud)
{
    engine_host_info info = host_info(h->s, h), d = info;
    d.sessions -= h->flushed.sessions;          /* only what is new since the last call */
    d.timeouts -= h->flushed.timeouts;
    d.blocks -= h->flushed.blocks;
    d.connects -= h->flushed.connects;
    if (d.sessions || d.timeouts || d.blocks || d.connects) {
        h->flushed = (hcounts){info.sessions, info.timeouts, info.blocks, info.connects};
        fn(ud, &d);
    }
}

void engine_retire_hosts(engine *s, void (*fn)(void *ud, const engine_host_info *h), void *ud)
{
    for (shost *h = s->idle, *next; h; h = next) {
        next = h->idle_next;
        h->idle_listed = false;
        if (h->route == 0 && host_idle(h)) {
            host_flush(h, fn, ud);
            host_retire(h);
        }
    }
    s->idle = NULL;
}

void engine_each_host(engine *s, void (*fn)(void *ud, const engine_host_info *h), void *ud)
{
    engine_retire_hosts(s, fn, ud);
    htab_iter hi;
    htab_iter_init(&hi, &s->hosts);
    for (htab_node *n; (n = htab_iter_next(&hi));) {   /* the iterator is past N: N may go */
        shost *h = HTAB_ENTRY(n, shost, node);
        if (h->route != 0)
            continue;
        host_flush(h, fn, ud);
        if (host_idle(h))                       /* its counts are the caller's now */
            host_retire(h);
    }
}

bool engine_waiting(const engine *s, uint64_t *n, uint64_t *next_due_ms)
{
    *n = retry_count(s->retry);
    *next_due_ms = retry_next_due(s->retry);
    return *n != 0;
}

void engine_each_route(engine *s, void (*fn)(void *ud, const engine_route_info *r), void *ud)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        const sroute *r = &s->routes[i];
        engine_route_info info = {.label = r->e->label, .sessions = r->sessions,
                                  .failures = r->failures, .dead = r->dead};
        fn(ud, &info);
    }
}

void engine_cancel(engine *s)
{
    if (s->cancelled)
        return;
    s->cancelled = true;
    for (ssession *ss = s->sessions; ss; ss = ss->next)
        s->ops->session_cancel(s->ctx, ss->p);
    rearm(s);                                    /* disarms */
}

static void free_pending(sdomain *d)
{
    engine_item *it;
    while ((it = pend_pop_any(d)))
        engine_item_free(it);
    while ((it = d->held)) {
        d->held = it->next;
        engine_item_free(it);
    }
}

static void host_free(shost *h)
{
    free(h->q);
    free(h->name);
    free(h->last_text);
    free(h->dead_why.text);
    free(h);
}

/* Items still waiting in the retry queue are not reachable from the
 * domains; the queue holds only pointers, so free them here. */
static void drop_waiting(void *ud, void *payload)
{
    (void)ud;
    engine_item_free(payload);
}

void engine_free(engine *s)
{
    if (!s)
        return;
    htab_iter it;
    htab_iter_init(&it, &s->domains);
    for (htab_node *n; (n = htab_iter_next(&it));) {
        sdomain *d = HTAB_ENTRY(n, sdomain, node);
        free_pending(d);
        domain_free(d);
    }
    htab_free(&s->domains);
    flagset_free(&s->learned);
    flagset_free(&s->hosts_met);
    htab_iter_init(&it, &s->hosts);
    for (htab_node *n; (n = htab_iter_next(&it));)
        host_free(HTAB_ENTRY(n, shost, node));
    htab_free(&s->hosts);
    htab_iter_init(&it, &s->providers);
    for (htab_node *n; (n = htab_iter_next(&it));) {
        sprovider *p = HTAB_ENTRY(n, sprovider, node);
        free(p->lim.a);
        free(p);
    }
    htab_free(&s->providers);
    free(s->all.a);
    free(s->due);
    for (size_t i = 0; i < s->nroutes; i++)
        free(s->routes[i].lim.a);
    free(s->routes);
    retry_drain(s->retry, drop_waiting, NULL);
    retry_free(s->retry);
    retry_free(s->pauses);
    free(s);
}
