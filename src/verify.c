/* verify.c — `mailvet check`'s engine: per-domain verification on one loop.
 *
 * Each domain walks through:
 *
 *   RESOLVE → (level dns: done) → ROUND: sessions over MX hosts/addresses
 *           → answers final, or 4xx waiting → WAIT (retry timer) → ROUND … → DONE
 *
 * A round sends every recipient still without a final answer (and the
 * catch-all probe while accept-all is unknown) in sessions of at most
 * --rcpt-per-session recipients. A session that fails before RCPT moves to
 * the next address of the host, then the next MX host.
 *
 * Routes (--proxy, --bind; one direct route without): sessions take them
 * in turn. Each route is its own source address, so the --per-mx slots are
 * per (MX address, route); --per-proxy caps a route's open sessions. A
 * session whose route failed (PROBE_EGRESS_ERROR: says nothing about the
 * server) goes out again, unchanged, by another route; a route that fails
 * ROUTE_DEAD_AFTER times in a row is retired and its waiting sessions move
 * on. When every route is retired the run stops with EXIT_RUNTIME and no
 * verdict is made up for what could not be checked.
 */
#include "verify.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "dns.h"
#include "probe.h"
#include "screen.h"
#include "smtp_reply.h"
#include "verdict.h"

#define CATCHALL SIZE_MAX            /* rcpt_item value of the catch-all probe */
#define REQUEUE_MAX 8                /* times one session may be turned away by a busy host */
#define REQUEUE_DELAY_MS 250         /* times the attempt number */
#define ROUTE_DEAD_AFTER 3           /* route failures in a row that retire it */

typedef struct verify_ctx verify_ctx;

/* Where an address stands in the current round. */
typedef enum vstate { V_PENDING, V_TEMP, V_FINAL } vstate;

typedef struct vdomain {
    verify_ctx *v;
    char domain[ADDR_DOMAIN_MAX + 1];
    size_t *items;                   /* indices into v->items */
    vstate *state;                   /* per item */
    size_t nitems;
    dns_result dns;
    int round;
    size_t mx_i, addr_i;             /* where sessions go */
    size_t cap;                      /* recipients per session (lowered on 452 4.5.3) */
    probe_rcpt *rcpts;               /* the current session's recipients */
    size_t *rcpt_item;               /* rcpts[i] is item k, or CATCHALL */
    size_t nrcpts;
    char catchall[ADDR_DOMAIN_MAX + 32];
    vstate ca_state;
    result_tri accept_all;
    int hint;                        /* longest delay a server asked for */
    uv_timer_t timer;
    bool done;
    int requeues;                    /* this session turned away by a busy host */
    size_t route;                    /* the route of the session being prepared or run */
    probe *session;                  /* the session in progress, or NULL */
    struct vdomain *next_wait;       /* queue of sessions waiting for a slot */
} vdomain;

/* Connection slots of one MX address from one route: at most --per-mx
 * sessions at once, the others wait in arrival order. */
typedef struct vgate {
    struct sockaddr_storage ip;
    size_t route;
    int active;
    int limit;                       /* window: --per-mx, halved on 421, +1 per success */
    vdomain *head, *tail;
} vgate;

/* One route out: its health and, with --per-proxy, its slots. */
typedef struct vroute {
    const egress *e;
    int active;                      /* sessions open through it */
    int failures;                    /* route failures in a row */
    bool dead, warned;
    char why[RESULT_SMTP_TEXT_MAX + 1];   /* the last failure, for humans */
    vdomain *head, *tail;            /* sessions waiting for --per-proxy */
} vroute;

struct verify_ctx {
    uv_loop_t loop;
    dns_resolver *dns;
    verify_item *items;
    const cli_opts *o;
    probe_opts popts;
    char helo[PROBE_HELO_MAX], from[PROBE_FROM_MAX];
    vdomain *domains;
    size_t ndomains;
    vgate *gates;                    /* one per MX address in use */
    size_t ngates, gates_cap;
    int active;                      /* sessions open, all hosts together */
    vdomain *global_head, *global_tail;   /* waiting for --concurrency */
    vroute *routes;
    size_t nroutes, live_routes, next_route;
    bool routes_failed;              /* every route retired: the run stopped */
    FILE *trace;
    volatile sig_atomic_t *cancel;   /* set by a signal handler: stop now */
    bool cancelled;
    uv_timer_t watch;                /* looks at *cancel */
};

/* ---- small helpers ---- */

static void on_trace(void *ud, char dir, const char *line, size_t len)
{
    vdomain *d = ud;
    if (d->v->trace)
        fprintf(d->v->trace, "[%s] %c: %.*s\n", d->dns.mx[d->mx_i].host, dir, (int)len, line);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static result *item_result(vdomain *d, size_t k)
{
    return &d->v->items[d->items[k]].r;
}

/* Record a reply as item K's current answer. */
static void set_answer(vdomain *d, size_t k, verdict_reason why, int code, const char *enh,
                       const char *text)
{
    result *r = item_result(d, k);
    r->reason = why;
    r->smtp_code = code;
    copy_str(r->smtp_enhanced, sizeof r->smtp_enhanced, enh);
    copy_str(r->smtp_text, sizeof r->smtp_text, text);
    copy_str(r->mx, sizeof r->mx, d->dns.mx[d->mx_i].host);
}

/* A local part no one has: random, long, and marked as ours. */
static void make_catchall(vdomain *d)
{
    unsigned char b[8];
    uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)d;
    for (size_t i = 0; i < sizeof b; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char)x;
    }
    snprintf(d->catchall, sizeof d->catchall, "mailvet-%02x%02x%02x%02x%02x%02x%02x%02x@%s",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], d->domain);
}

/* ---- finishing a domain ---- */

static void domain_done(vdomain *d)
{
    for (size_t k = 0; k < d->nitems; k++) {
        result *r = item_result(d, k);
        r->accept_all = d->accept_all;
        if (r->reason == REASON_ACCEPTED && d->accept_all == TRI_TRUE)
            r->reason = REASON_ACCEPT_ALL;
        screen_rescore(r, false);
    }
    d->done = true;
}

/* ---- rounds ---- */

static void start_session(vdomain *d);

static bool any_state(const vdomain *d, vstate s)
{
    if (d->ca_state == s)
        return true;
    for (size_t k = 0; k < d->nitems; k++)
        if (d->state[k] == s)
            return true;
    return false;
}

static void start_round(vdomain *d)
{
    for (size_t k = 0; k < d->nitems; k++)
        if (d->state[k] == V_TEMP)
            d->state[k] = V_PENDING;
    if (d->accept_all == TRI_UNSET)
        d->ca_state = V_PENDING;
    d->mx_i = d->addr_i = 0;
    d->hint = 0;
    start_session(d);
}

static void on_retry_timer(uv_timer_t *t)
{
    vdomain *d = t->data;
    d->round++;
    start_round(d);
}

/* Every recipient of the round has an answer or the MX hosts ran out: wait
 * for the next retry when 4xx answers remain, else finish. */
static void end_round(vdomain *d)
{
    const cli_opts *o = d->v->o;
    if (any_state(d, V_TEMP) && d->round < o->nretries) {
        int delay = o->retry_delays[d->round];
        if (d->hint > delay)
            delay = d->hint;
        uv_timer_start(&d->timer, on_retry_timer, (uint64_t)delay * 1000, 0);
        return;
    }
    for (size_t k = 0; k < d->nitems; k++)
        d->state[k] = V_FINAL;      /* a 4xx after every retry stays as classified */
    domain_done(d);
}

/* ---- sessions ---- */

static void on_probe_done(void *ud, const probe_result *res);

/* The catch-all first, then pending items, up to the session cap. */
static size_t build_batch(vdomain *d)
{
    size_t n = 0;
    if (d->ca_state == V_PENDING) {
        d->rcpts[n] = (probe_rcpt){.address = d->catchall};
        d->rcpt_item[n++] = CATCHALL;
    }
    for (size_t k = 0; k < d->nitems && n < d->cap; k++) {
        if (d->state[k] != V_PENDING)
            continue;
        verify_item *it = &d->v->items[d->items[k]];
        snprintf(it->envelope, sizeof it->envelope, "%s@%s", it->a.local, it->a.ascii_domain);
        d->rcpts[n] = (probe_rcpt){.address = it->envelope, .needs_smtputf8 = it->a.smtputf8};
        d->rcpt_item[n++] = k;
        item_result(d, k)->attempts++;
    }
    return n;
}

/* The gate of an MX address and route (a handful per run: linear). */
static vgate *gate_for(verify_ctx *v, const struct sockaddr_storage *ip, size_t route)
{
    for (size_t i = 0; i < v->ngates; i++)
        if (v->gates[i].route == route && dns_addr_equal(&v->gates[i].ip, ip))
            return &v->gates[i];
    if (v->ngates == v->gates_cap) {
        size_t cap = v->gates_cap ? v->gates_cap * 2 : 16;
        vgate *g = realloc(v->gates, cap * sizeof *g);
        if (!g)
            return NULL;
        v->gates = g;                 /* gates are found by address, never kept */
        v->gates_cap = cap;
    }
    vgate *g = &v->gates[v->ngates++];
    *g = (vgate){.ip = *ip, .route = route, .limit = v->o->per_mx};
    return g;
}

static void wait_push(vdomain **head, vdomain **tail, vdomain *d)
{
    d->next_wait = NULL;
    if (*tail)
        (*tail)->next_wait = d;
    else
        *head = d;
    *tail = d;
}

static vdomain *wait_pop(vdomain **head, vdomain **tail)
{
    vdomain *d = *head;
    if (d && !(*head = d->next_wait))
        *tail = NULL;
    return d;
}

static void launch(vdomain *d);

static const struct sockaddr_storage *target_ip(const vdomain *d)
{
    return &d->dns.mx[d->mx_i].addrs[d->addr_i];
}

/* The next live route in turn that can reach an address of FAMILY (an IPv4
 * --bind address cannot reach an IPv6 server), other than AVOID if there
 * is a choice. SIZE_MAX when every route is retired. */
static size_t pick_route(verify_ctx *v, int family, size_t avoid)
{
    size_t pick = SIZE_MAX;
    int best = -1;
    for (size_t k = 0; k < v->nroutes && best < 3; k++) {
        size_t i = (v->next_route + k) % v->nroutes;
        const vroute *r = &v->routes[i];
        if (r->dead)
            continue;
        bool fits = r->e->kind != EGRESS_BIND || r->e->addr.ss_family == family;
        int score = (fits ? 2 : 0) + (i != avoid);
        if (score > best) {
            best = score;
            pick = i;
        }
    }
    if (pick != SIZE_MAX)
        v->next_route = pick + 1;
    return pick;
}

/* Start D's prepared session now, or queue it until a slot frees: the MX
 * address's for its route, the route's (--per-proxy), the run's. */
static void admit(vdomain *d)
{
    verify_ctx *v = d->v;
    if (v->cancelled)
        return;
    const struct sockaddr_storage *ip = target_ip(d);
    if (d->route >= v->nroutes || v->routes[d->route].dead)
        d->route = pick_route(v, ip->ss_family, SIZE_MAX);
    if (d->route == SIZE_MAX)
        return;                       /* every route retired: the run is stopping */
    vroute *r = &v->routes[d->route];
    vgate *g = gate_for(v, ip, d->route);
    if (!g) {
        fprintf(stderr, "mailvet: out of memory\n");
        exit(EXIT_RUNTIME);
    }
    if (g->active >= g->limit) {
        wait_push(&g->head, &g->tail, d);
        return;
    }
    if (v->o->per_proxy > 0 && r->active >= v->o->per_proxy) {
        wait_push(&r->head, &r->tail, d);
        return;
    }
    if (v->active >= v->o->concurrency) {
        wait_push(&v->global_head, &v->global_tail, d);
        return;
    }
    g->active++;
    r->active++;
    v->active++;
    launch(d);
}

/* How a session's end bears on its MX address's window. */
typedef enum slot_end { SLOT_OK, SLOT_BUSY, SLOT_NEUTRAL } slot_end;

/* Slots freed at IP and ROUTE: whoever waits for them is admitted, one per
 * queue, or every waiter of a retired route (they move to another). */
static void wake(verify_ctx *v, const struct sockaddr_storage *ip, size_t route)
{
    vroute *r = &v->routes[route];
    bool all = r->dead;
    vdomain *w;
    do {
        vgate *g = gate_for(v, ip, route);   /* again each time: admit may move the gates */
        if ((w = g ? wait_pop(&g->head, &g->tail) : NULL))
            admit(w);
    } while (w && all);
    do {
        if ((w = wait_pop(&r->head, &r->tail)))
            admit(w);
    } while (w && all);
    if ((w = wait_pop(&v->global_head, &v->global_tail)))
        admit(w);
}

/* A session ended: its slots go to whoever waits for them. The window
 * grows back by one on success and halves when the host said it is busy;
 * a route failure leaves it alone (the host was never reached). */
static void release(verify_ctx *v, const struct sockaddr_storage *ip, size_t route, slot_end how)
{
    vgate *g = gate_for(v, ip, route);
    g->active--;
    v->routes[route].active--;
    v->active--;
    if (how == SLOT_BUSY)
        g->limit = g->limit > 1 ? g->limit / 2 : 1;
    else if (how == SLOT_OK && g->limit < v->o->per_mx)
        g->limit++;
    wake(v, ip, route);
}

static void start_session(vdomain *d)
{
    d->nrcpts = build_batch(d);
    if (d->nrcpts == 0) {
        end_round(d);
        return;
    }
    d->route = pick_route(d->v, target_ip(d)->ss_family, SIZE_MAX);
    admit(d);
}

static void launch(vdomain *d)
{
    struct sockaddr_storage ss = d->dns.mx[d->mx_i].addrs[d->addr_i];
    uint16_t port = htons((uint16_t)d->v->o->smtp_port);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = port;
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = port;
    probe_opts po = d->v->popts;
    po.session_timeout_ms = po.command_timeout_ms * (int)(6 + d->nrcpts);
    po.server_name = d->dns.mx[d->mx_i].host;
    po.route = d->v->routes[d->route].e;
    if (d->v->trace && po.route->kind != EGRESS_DIRECT)
        fprintf(d->v->trace, "[%s] via %s\n", po.server_name, po.route->label);
    if (!(d->session = probe_start(&d->v->loop, (struct sockaddr *)&ss, &po, d->rcpts,
                                   d->nrcpts, on_probe_done, on_trace, d))) {
        fprintf(stderr, "mailvet: out of memory\n");
        exit(EXIT_RUNTIME);
    }
}

/* Take the recipients' answers from a session. */
static void take_answers(vdomain *d)
{
    for (size_t i = 0; i < d->nrcpts; i++) {
        const probe_rcpt *pr = &d->rcpts[i];
        if (!pr->answered)
            continue;
        verdict_reason why = verdict_classify(STAGE_RCPT, pr->code, pr->enhanced, pr->text);
        bool temp = pr->code >= 400 && pr->code < 500 && why != REASON_MAILBOX_FULL;
        if (d->rcpt_item[i] == CATCHALL) {
            if (!temp)
                d->accept_all = pr->code < 300 ? TRI_TRUE : TRI_FALSE;
            d->ca_state = temp ? V_TEMP : V_FINAL;
            continue;
        }
        size_t k = d->rcpt_item[i];
        set_answer(d, k, why, pr->code, pr->enhanced, pr->text);
        d->state[k] = temp ? V_TEMP : V_FINAL;
    }
}

/* Move to the next address of the host, then the next MX. False when none is left. */
static bool next_target(vdomain *d)
{
    if (++d->addr_i < d->dns.mx[d->mx_i].naddrs)
        return true;
    d->addr_i = 0;
    return ++d->mx_i < d->dns.nmx;
}

/* Every MX failed the session: the failure is the answer for the pending
 * recipients (retried later when it was temporary). */
static void all_targets_failed(vdomain *d, const probe_result *res)
{
    d->mx_i = d->dns.nmx - 1;       /* name the last host tried */
    bool temp = res->outcome == PROBE_TEMPORARY;
    for (size_t k = 0; k < d->nitems; k++) {
        if (d->state[k] != V_PENDING)
            continue;
        set_answer(d, k, res->reason, res->code, res->enhanced, res->text);
        d->state[k] = temp ? V_TEMP : V_FINAL;
    }
    if (d->ca_state == V_PENDING)
        d->ca_state = temp ? V_TEMP : V_FINAL;
    end_round(d);
}

static void on_requeue_timer(uv_timer_t *t)
{
    admit(t->data);
}

/* Turned away at the banner (421) or the connection refused: the host is
 * busy, not broken. Try the same host again a little later, up to a point,
 * rather than report the addresses unknown because we were too eager. */
static bool host_busy(const probe_result *res)
{
    return (res->outcome == PROBE_TEMPORARY && res->code == 421 && res->answered == 0) ||
           res->outcome == PROBE_NO_CONNECT;
}

static void stop_all(verify_ctx *v);

/* Route I failed (WHY names it): retire it after ROUTE_DEAD_AFTER failures
 * in a row; with none left, stop the run. */
static void route_strike(verify_ctx *v, size_t i, const char *why)
{
    vroute *r = &v->routes[i];
    if (r->dead)
        return;
    copy_str(r->why, sizeof r->why, why);
    if (!r->warned) {                 /* once per route: a big run would repeat it */
        fprintf(stderr, "mailvet: %s%s\n", why,
                v->live_routes > 1 ? " (its sessions go out by the other routes)" : "");
        r->warned = true;
    }
    if (++r->failures < ROUTE_DEAD_AFTER)
        return;
    r->dead = true;
    if (--v->live_routes > 0) {
        fprintf(stderr, "mailvet: route %s failed %d times in a row; not using it any more\n",
                r->e->label, ROUTE_DEAD_AFTER);
        return;
    }
    v->routes_failed = true;
    stop_all(v);
}

/* The session never reached the server: nothing was learned. Count it
 * against the route and send the same batch out again by another one. */
static void reroute(vdomain *d, const char *why)
{
    verify_ctx *v = d->v;
    size_t bad = d->route;
    route_strike(v, bad, why);
    release(v, target_ip(d), bad, SLOT_NEUTRAL);
    if (v->cancelled)
        return;
    for (size_t i = 0; i < d->nrcpts; i++)
        d->rcpts[i].answered = false;
    d->route = pick_route(v, target_ip(d)->ss_family, bad);
    admit(d);
}

static void on_probe_done(void *ud, const probe_result *res)
{
    vdomain *d = ud;
    d->session = NULL;
    if (d->v->cancelled)
        return;
    if (res->outcome == PROBE_EGRESS_ERROR) {
        reroute(d, res->text);
        return;
    }
    d->v->routes[d->route].failures = 0;
    bool busy = host_busy(res);
    release(d->v, target_ip(d), d->route, busy ? SLOT_BUSY : SLOT_OK);
    if (busy && res->outcome != PROBE_NO_CONNECT && d->requeues < REQUEUE_MAX) {
        d->requeues++;
        for (size_t i = 0; i < d->nrcpts; i++)     /* the same batch, again */
            d->rcpts[i].answered = false;
        uv_timer_start(&d->timer, on_requeue_timer, (uint64_t)REQUEUE_DELAY_MS * d->requeues, 0);
        return;
    }
    d->requeues = 0;
    take_answers(d);
    int hint = 0;
    for (size_t i = 0; i < d->nrcpts; i++) {
        smtp_reply r;
        if (!d->rcpts[i].answered || d->rcpts[i].code < 400 || d->rcpts[i].code >= 500)
            continue;
        r.code = d->rcpts[i].code;
        copy_str(r.text, sizeof r.text, d->rcpts[i].text);
        int h = smtp_reply_delay_hint(&r);
        hint = h > hint ? h : hint;
    }
    if (hint > d->hint)
        d->hint = hint;
    if (res->outcome == PROBE_DONE) {
        if (res->too_many_recipients)
            d->cap = res->answered > 1 ? res->answered : 1;
        if (res->answered == 0 && res->too_many_recipients) {
            all_targets_failed(d, &(probe_result){.outcome = PROBE_TEMPORARY,
                                                  .reason = REASON_TEMPORARY_FAILURE});
            return;
        }
        start_session(d);           /* more pending recipients, or end of round */
        return;
    }
    if (next_target(d))
        start_session(d);
    else
        all_targets_failed(d, res);
}

/* ---- DNS ---- */

static void on_dns(void *ud, const dns_result *res)
{
    vdomain *d = ud;
    if (d->v->cancelled)
        return;
    d->dns = *res;
    if (res->status != DNS_OK) {
        for (size_t k = 0; k < d->nitems; k++)
            item_result(d, k)->reason = dns_status_reason(res->status);
        domain_done(d);
        return;
    }
    if (d->v->o->level == LEVEL_DNS) {
        for (size_t k = 0; k < d->nitems; k++)
            copy_str(item_result(d, k)->mx, sizeof item_result(d, k)->mx, res->mx[0].host);
        domain_done(d);
        return;
    }
    start_round(d);
}

/* ---- setup ---- */

/* Group the network items by domain (a handful of addresses: linear). */
static bool group_domains(verify_ctx *v, size_t n)
{
    v->domains = calloc(n ? n : 1, sizeof *v->domains);
    if (!v->domains)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!v->items[i].needs_network)
            continue;
        vdomain *d = NULL;
        for (size_t j = 0; j < v->ndomains && !d; j++)
            if (strcmp(v->domains[j].domain, v->items[i].a.ascii_domain) == 0)
                d = &v->domains[j];
        if (!d) {
            d = &v->domains[v->ndomains++];
            d->v = v;
            copy_str(d->domain, sizeof d->domain, v->items[i].a.ascii_domain);
            if (!(d->items = calloc(n, sizeof *d->items)) || !(d->state = calloc(n, sizeof *d->state)) ||
                !(d->rcpts = calloc(n + 1, sizeof *d->rcpts)) ||
                !(d->rcpt_item = calloc(n + 1, sizeof *d->rcpt_item)))
                return false;
            d->cap = (size_t)v->o->rcpt_per_session;
            d->accept_all = TRI_UNSET;
            d->ca_state = V_FINAL;
            make_catchall(d);
        }
        d->items[d->nitems++] = i;
    }
    return true;
}

static void free_domains(verify_ctx *v)
{
    for (size_t j = 0; j < v->ndomains; j++) {
        free(v->domains[j].items);
        free(v->domains[j].state);
        free(v->domains[j].rcpts);
        free(v->domains[j].rcpt_item);
    }
    free(v->domains);
    free(v->gates);
    free(v->routes);
}

/* The route pool from the options (one direct route when there is none). */
static bool make_routes(verify_ctx *v)
{
    static const egress direct = {.kind = EGRESS_DIRECT, .label = "direct"};
    size_t n = v->o->routes.n ? v->o->routes.n : 1;
    if (!(v->routes = calloc(n, sizeof *v->routes)))
        return false;
    for (size_t i = 0; i < n; i++)
        v->routes[i].e = v->o->routes.n ? &v->o->routes.e[i] : &direct;
    v->nroutes = v->live_routes = n;
    return true;
}

static void report_dead_routes(const verify_ctx *v)
{
    fprintf(stderr, "mailvet: every route failed %d times in a row; stopped without a verdict for "
            "the addresses not yet checked:\n", ROUTE_DEAD_AFTER);
    for (size_t i = 0; i < v->nroutes; i++)
        fprintf(stderr, "  %s\n", v->routes[i].why);
}

static void on_dns_closed(void *ud)
{
    (void)ud;
}

/* Abandon everything: sessions, retry timers, waiting queues. */
static void stop_all(verify_ctx *v)
{
    v->cancelled = true;
    uv_timer_stop(&v->watch);
    for (size_t j = 0; j < v->ndomains; j++) {
        vdomain *d = &v->domains[j];
        uv_timer_stop(&d->timer);
        if (d->session)
            probe_cancel(d->session);
        d->done = true;
    }
    uv_stop(&v->loop);             /* the closing below finishes the rest */
}

/* Stops the run on a signal (*cancel), and the watch once all is done. */
static void on_watch(uv_timer_t *t)
{
    verify_ctx *v = t->data;
    bool all_done = true;
    for (size_t j = 0; j < v->ndomains; j++)
        all_done &= v->domains[j].done;
    if (all_done || !(v->cancel && *v->cancel)) {
        if (all_done)
            uv_timer_stop(t);      /* let the loop end */
        return;
    }
    stop_all(v);
}

int verify_run(verify_item *items, size_t n, const cli_opts *o, FILE *trace,
               volatile sig_atomic_t *cancel)
{
    verify_ctx v = {.items = items, .o = o, .trace = trace, .cancel = cancel};
    probe_opts_init(&v.popts, o, v.helo, v.from);
    if (uv_loop_init(&v.loop) != 0 || !group_domains(&v, n) || !make_routes(&v)) {
        fprintf(stderr, "mailvet: cannot start the event loop\n");
        free_domains(&v);
        return EXIT_RUNTIME;
    }
    char err[256];
    dns_opts dopts = {.servers = o->dns, .allow_private = o->allow_private_mx};
    v.dns = dns_new(&v.loop, &dopts, err, sizeof err);
    if (!v.dns) {
        fprintf(stderr, "mailvet: %s\n", err);
        free_domains(&v);
        uv_loop_close(&v.loop);
        return EXIT_USAGE;
    }
    for (size_t j = 0; j < v.ndomains; j++) {
        uv_timer_init(&v.loop, &v.domains[j].timer);
        v.domains[j].timer.data = &v.domains[j];
        dns_resolve_mail(v.dns, v.domains[j].domain, on_dns, &v.domains[j]);
    }
    uv_timer_init(&v.loop, &v.watch);
    v.watch.data = &v;
    uv_timer_start(&v.watch, on_watch, 100, 100);
    uv_run(&v.loop, UV_RUN_DEFAULT);   /* ends when every domain is done */
    dns_close(v.dns, on_dns_closed, NULL);
    uv_close((uv_handle_t *)&v.watch, NULL);
    for (size_t j = 0; j < v.ndomains; j++)
        uv_close((uv_handle_t *)&v.domains[j].timer, NULL);
    uv_run(&v.loop, UV_RUN_DEFAULT);
    uv_loop_close(&v.loop);
    if (v.routes_failed)
        report_dead_routes(&v);
    free_domains(&v);
    if (v.routes_failed)
        return EXIT_RUNTIME;
    return v.cancelled ? EXIT_INTERRUPTED : 0;
}
