/* test_engine.c — the engine behind its seam: a fake world (ops table) with
 * a fake clock, scripted DNS answers and scripted session outcomes; no
 * sockets, no loop, no timers. Each test drives the engine one event at a
 * time and checks what it does next. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_host.h"

#define MAXS 4096                /* sessions a test may start */
#define MAXD 512                 /* lookups */
#define MAXROWS 2048

typedef struct fsess {
    struct sockaddr_storage sa;
    char ip[INET6_ADDRSTRLEN];
    char domain[256];
    probe_opts opts;
    probe_rcpt *rcpts;
    size_t n;
    probe_done_cb done;
    void *ud;
    bool open, cancelled;
} fsess;

typedef struct fdns {
    char domain[256];
    dns_cb cb;
    void *ud;
    bool answered;
} fdns;

typedef struct world {
    uint64_t now, armed;
    fsess s[MAXS];
    size_t ns;
    fdns d[MAXD];
    size_t nd;
    /* limits watched at every session start */
    int open_total, max_total;
    int per_ip_max, per_domain_max;
    bool limit_broken;
    char why[256];
    /* what the engine reported */
    bool got[MAXROWS];
    result r[MAXROWS];
    int waits[MAXROWS];
    double wait_due[MAXROWS];
    int ndone;
    int unreachable_events;
    uint64_t unreachable_hosts;
    engine *e;
    engine_opts o;
} world;

/* ---- the fake ops ---- */

static const char *domain_of(const probe_rcpt *r)
{
    const char *at = strrchr(r->address, '@');
    return at ? at + 1 : "";
}

static bool carries(const fsess *f, const char *domain)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(domain_of(&f->rcpts[i]), domain) == 0)
            return true;
    return false;
}

static int open_on(world *w, const char *ip)
{
    int n = 0;
    for (size_t i = 0; i < w->ns; i++)
        n += w->s[i].open && strcmp(w->s[i].ip, ip) == 0;
    return n;
}

/* The most sessions open at once (F's among them) for one of F's domains:
 * a session carrying several domains counts once for each. */
static int open_per_domain(world *w, const fsess *f, const char **which)
{
    int most = 0;
    for (size_t k = 0; k < f->n; k++) {
        const char *d = domain_of(&f->rcpts[k]);
        int m = 0;
        for (size_t i = 0; i < w->ns; i++)
            m += w->s[i].open && carries(&w->s[i], d);
        if (m > most) {
            most = m;
            *which = d;
        }
    }
    return most;
}

static void *op_start(void *ctx, const struct sockaddr *sa, const probe_opts *opts,
                      probe_rcpt *rcpts, size_t n, probe_done_cb done, probe_trace_cb trace,
                      void *ud)
{
    (void)trace;
    world *w = ctx;
    assert_true(w->ns < MAXS);
    fsess *f = &w->s[w->ns++];
    memset(f, 0, sizeof *f);
    memcpy(&f->sa, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                : sizeof(struct sockaddr_in6));
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, f->ip, sizeof f->ip);
    const char *at = n ? strrchr(rcpts[0].address, '@') : NULL;
    snprintf(f->domain, sizeof f->domain, "%s", at ? at + 1 : "");
    f->opts = *opts;
    f->rcpts = rcpts;
    f->n = n;
    f->done = done;
    f->ud = ud;
    int per_ip = open_on(w, f->ip);
    f->open = true;
    const char *dom = f->domain;
    int per_domain = open_per_domain(w, f, &dom) - 1;
    w->open_total++;
    if (w->open_total > w->max_total)
        w->max_total = w->open_total;
    /* Limits: the ceiling per MX address and route, per domain, global. */
    if (per_ip + 1 > w->o.per_mx * (int)(w->o.nroutes ? w->o.nroutes : 1) ||
        per_domain + 1 > w->o.per_domain || w->open_total > w->o.concurrency) {
        w->limit_broken = true;
        snprintf(w->why, sizeof w->why, "ip %s: %d, domain %s: %d, total %d", f->ip,
                 per_ip + 1, dom, per_domain + 1, w->open_total);
    }
    if (per_ip + 1 > w->per_ip_max)
        w->per_ip_max = per_ip + 1;
    if (per_domain + 1 > w->per_domain_max)
        w->per_domain_max = per_domain + 1;
    return f;
}

static void op_cancel(void *ctx, void *session)
{
    (void)ctx;
    ((fsess *)session)->cancelled = true;
}

static void op_resolve(void *ctx, const char *domain, dns_cb cb, void *ud)
{
    world *w = ctx;
    assert_true(w->nd < MAXD);
    fdns *d = &w->d[w->nd++];
    snprintf(d->domain, sizeof d->domain, "%s", domain);
    d->cb = cb;
    d->ud = ud;
    d->answered = false;
}

static uint64_t op_now(void *ctx)
{
    return ((world *)ctx)->now;
}

static double op_wall(void *ctx)
{
    return 1.0e9 + (double)((world *)ctx)->now / 1000.0;
}

static void op_arm(void *ctx, uint64_t due)
{
    ((world *)ctx)->armed = due;
}

static const engine_ops fake_ops = {op_start, op_cancel, op_resolve, op_now, op_wall, op_arm};

static void ev_done(void *ud, const engine_item *it, const result *r)
{
    world *w = ud;
    assert_true(it->row < MAXROWS);
    assert_false(w->got[it->row]);          /* one verdict per item */
    w->got[it->row] = true;
    w->r[it->row] = *r;
    w->ndone++;
}

static void ev_wait(void *ud, const engine_item *it, double due, const result *r)
{
    (void)r;
    world *w = ud;
    w->waits[it->row]++;
    w->wait_due[it->row] = due;
}

static void ev_unreachable(void *ud, uint64_t hosts)
{
    world *w = ud;
    w->unreachable_events++;
    w->unreachable_hosts = hosts;
}

static const engine_events events = {.done = ev_done, .wait = ev_wait,
                                     .unreachable = ev_unreachable};

/* ---- building a world ---- */

static void opts_default(engine_opts *o)
{
    *o = (engine_opts){.smtp_port = 25, .concurrency = 100, .per_mx = 4, .per_domain = 100,
                       .rcpt_per_session = 10, .nretries = 2, .retry_delays = {1, 1}};
    snprintf(o->helo, sizeof o->helo, "test.example");
    snprintf(o->from, sizeof o->from, "verify@test.example");
    o->probe.command_timeout_ms = 1000;
}

/* A world whose input may still grow: the engine is not told it is done. */
static world *world_reading(const engine_opts *o)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->o = *o;
    w->armed = UINT64_MAX;
    w->e = engine_new(o, &fake_ops, w, &events, w);
    assert_non_null(w->e);
    return w;
}

/* Most tests add what they need up front: the input counts as read, so
 * no host gathers its recipients for more (engine_host_gather). */
static world *world_new(const engine_opts *o)
{
    world *w = world_reading(o);
    engine_input_done(w->e);
    return w;
}

static void world_free(world *w)
{
    engine_free(w->e);
    for (size_t i = 0; i < w->ns; i++)
        assert_false(w->s[i].open && !w->s[i].cancelled);
    free(w);
}

/* EMAIL as row ROW; LAST_ROW: no later row of its domain comes (group.h). */
static void add_item(world *w, uint64_t row, const char *email, bool last_row)
{
    const char *at = strrchr(email, '@');
    engine_item *it = engine_item_new(row, email, email, at + 1, "", false, false, false);
    assert_non_null(it);
    it->last_row = last_row;
    engine_add(w->e, it);
}

static void add(world *w, uint64_t row, const char *email)
{
    add_item(w, row, email, false);
}

/* An answer with one MX host per "pref ip" pair given. */
static void mx(dns_result *r, int pref, const char *host, const char *ip)
{
    dns_mx *m = &r->mx[r->nmx++];
    snprintf(m->host, sizeof m->host, "%s", host);
    m->pref = pref;
    struct sockaddr_in *sin = (struct sockaddr_in *)&m->addrs[m->naddrs++];
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sin->sin_addr);
}

static fdns *lookup(world *w, const char *domain)
{
    for (size_t i = 0; i < w->nd; i++)
        if (!w->d[i].answered && strcmp(w->d[i].domain, domain) == 0)
            return &w->d[i];
    return NULL;
}

static void answer_dns(world *w, const char *domain, const dns_result *res)
{
    fdns *d = lookup(w, domain);
    assert_non_null(d);
    d->answered = true;
    d->cb(d->ud, res);
}

/* The one-host answer most tests use. */
static void answer_one(world *w, const char *domain, const char *ip)
{
    dns_result r = {.status = DNS_OK};
    char host[DNS_NAME_MAX + 1];
    snprintf(host, sizeof host, "mx.%.200s", domain);
    mx(&r, 10, host, ip);
    answer_dns(w, domain, &r);
}

static int open_sessions(const world *w)
{
    int n = 0;
    for (size_t i = 0; i < w->ns; i++)
        n += w->s[i].open;
    return n;
}

static fsess *first_open(world *w)
{
    for (size_t i = 0; i < w->ns; i++)
        if (w->s[i].open)
            return &w->s[i];
    return NULL;
}

static bool is_catchall(const probe_rcpt *r)
{
    return strncmp(r->address, "mailvet-", 8) == 0;
}

static void set_answer(probe_rcpt *r, int code, const char *enh, const char *text)
{
    r->answered = true;
    r->code = code;
    snprintf(r->enhanced, sizeof r->enhanced, "%s", enh);
    r->text = text;              /* the tests pass literals */
}

static void close_session(world *w, fsess *f, const probe_result *res)
{
    assert_true(f->open);
    f->open = false;
    w->open_total--;
    f->done(f->ud, res);
}

/* The session reached RCPT: every recipient gets CODE, the catch-all CA. */
static void finish_all(world *w, fsess *f, int code, int ca)
{
    probe_result res = {.outcome = PROBE_DONE, .reason = REASON_ACCEPTED, .connected = true};
    for (size_t i = 0; i < f->n; i++) {
        int c = is_catchall(&f->rcpts[i]) ? ca : code;
        set_answer(&f->rcpts[i], c, c < 300 ? "2.1.5" : c < 500 ? "4.7.1" : "5.1.1",
                   c < 300 ? "OK" : c < 500 ? "try later" : "no such user");
        res.answered++;
    }
    close_session(w, f, &res);
}

/* The session ended before RCPT with OUTCOME (and CODE at the banner). */
static void fail_session(world *w, fsess *f, probe_outcome outcome, int code)
{
    probe_result res = {.outcome = outcome, .code = code,
                        .connected = outcome != PROBE_NO_CONNECT && outcome != PROBE_EGRESS_ERROR};
    res.reason = outcome == PROBE_TIMEOUT ? REASON_TIMEOUT
                 : outcome == PROBE_NO_CONNECT ? REASON_NO_CONNECT
                 : outcome == PROBE_EGRESS_ERROR ? REASON_NO_CONNECT : REASON_TEMPORARY_FAILURE;
    if (code)
        snprintf(res.text, sizeof res.text, "busy");
    if (outcome == PROBE_EGRESS_ERROR)
        snprintf(res.text, sizeof res.text, "proxy down");
    close_session(w, f, &res);
}

/* Time passes: the engine's wake-up fires when it is due. */
static void advance(world *w, uint64_t ms)
{
    uint64_t end = w->now + ms;
    while (w->armed <= end) {
        w->now = w->armed > w->now ? w->armed : w->now;
        w->armed = UINT64_MAX;                           /* a one-shot timer */
        engine_timer(w->e);
    }
    w->now = end;
}

/* ---- tests ---- */

/* Port 25: NHOSTS domains, each on a host of its own; every session fails
 * to connect except the one to host GOOD (-1: none). */
static world *run_unreachable(int nhosts, int good, int *events_before_20th)
{
    engine_opts o;
    opts_default(&o);
    o.probe.connect_timeout_ms = 5000;
    world *w = world_new(&o);
    char d[64], a[80], ip[32];
    for (int i = 0; i < nhosts; i++) {
        snprintf(a, sizeof a, "x@d%d.example", i);
        add(w, (uint64_t)i, a);
    }
    *events_before_20th = -1;
    for (int i = 0; i < nhosts; i++) {
        snprintf(d, sizeof d, "d%d.example", i);
        snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
        answer_one(w, d, ip);
        fsess *f = first_open(w);
        assert_non_null(f);
        if (i == ENGINE_UNREACHABLE_HOSTS - 1)
            *events_before_20th = w->unreachable_events;
        probe_result timeout = {.outcome = PROBE_TIMEOUT, .reason = REASON_TIMEOUT};
        if (i == good)
            finish_all(w, f, 250, 550);
        else if (i % 2)
            close_session(w, f, &timeout);   /* the connect timed out: no connection either */
        else
            fail_session(w, f, PROBE_NO_CONNECT, 0);
    }
    assert_true(engine_idle(w->e));
    advance(w, o.probe.connect_timeout_ms);     /* the event waits that long for a connect */
    return w;
}

/* The first 20 distinct hosts all fail to connect: one event, at the 20th
 * and not before; a single host that connects among them: none. */
static void test_port25_unreachable(void **state)
{
    (void)state;
    int before;
    world *w = run_unreachable(25, -1, &before);
    assert_int_equal(before, 0);
    assert_int_equal(w->unreachable_events, 1);
    assert_int_equal(w->unreachable_hosts, ENGINE_UNREACHABLE_HOSTS);
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.hosts_tried, 25);
    assert_int_equal(st.hosts_reached, 0);
    assert_int_equal(st.hosts_unreachable, 25);
    world_free(w);

    w = run_unreachable(25, 7, &before);
    assert_int_equal(w->unreachable_events, 0);
    engine_get_stats(w->e, &st);
    assert_int_equal(st.hosts_tried, 25);
    assert_int_equal(st.hosts_unreachable, 24);
    world_free(w);

    w = run_unreachable(19, -1, &before);               /* too few to say */
    assert_int_equal(w->unreachable_events, 0);
    world_free(w);

    /* Twenty dead hosts refuse at once while a working one is still
     * talking (a company list's first seconds): it connects within the
     * connect timeout, so no event. */
    engine_opts o;
    opts_default(&o);
    o.probe.connect_timeout_ms = 5000;
    w = world_new(&o);
    add(w, 100, "x@alive.example");
    answer_one(w, "alive.example", "192.0.2.200");
    fsess *alive = first_open(w);
    char d[64], a[80], ip[32];
    for (int i = 0; i < ENGINE_UNREACHABLE_HOSTS; i++) {
        snprintf(a, sizeof a, "x@d%d.example", i);
        add(w, (uint64_t)i, a);
        snprintf(d, sizeof d, "d%d.example", i);
        snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
        answer_one(w, d, ip);
        fail_session(w, &w->s[w->ns - 1], PROBE_NO_CONNECT, 0);
    }
    advance(w, 1000);
    finish_all(w, alive, 250, 550);
    advance(w, o.probe.connect_timeout_ms);
    assert_int_equal(w->unreachable_events, 0);
    world_free(w);
}

/* 421 at the banner: the window halves and the host rests before the
 * next session; then it regrows by one per window's worth of good sessions. */
static void test_busy_halves_pauses_and_regrows(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.rcpt_per_session = 1;
    world *w = world_new(&o);
    char a[64];
    for (int i = 0; i < 200; i++) {
        snprintf(a, sizeof a, "u%d@big.example", i);
        add(w, (uint64_t)i, a);
    }
    answer_one(w, "big.example", "192.0.2.1");
    assert_int_equal(open_sessions(w), 4);              /* the window: --per-mx */
    fail_session(w, first_open(w), PROBE_TEMPORARY, 421);
    while (open_sessions(w))                            /* the others end well */
        finish_all(w, first_open(w), 550, 550);
    assert_int_equal(open_sessions(w), 0);               /* resting */
    advance(w, ENGINE_HOST_PAUSE_MS - 1);
    assert_int_equal(open_sessions(w), 0);
    advance(w, 1);
    assert_int_equal(open_sessions(w), 2);               /* halved: 4 → 2 */
    /* Gentle increase: one more after a window's worth (2) of good sessions. */
    finish_all(w, first_open(w), 550, 550);
    assert_int_equal(open_sessions(w), 2);
    finish_all(w, first_open(w), 550, 550);
    assert_int_equal(open_sessions(w), 3);
    for (int i = 0; i < 3; i++)
        finish_all(w, first_open(w), 550, 550);
    assert_int_equal(open_sessions(w), 4);               /* back at the ceiling */
    while (open_sessions(w))
        finish_all(w, first_open(w), 550, 550);
    assert_true(engine_idle(w->e));
    assert_int_equal(w->ndone, 200);
    assert_int_equal(w->per_ip_max, 4);
    world_free(w);
}

/* A crowd of refusals (anvil's connection count limit: four sessions
 * opened together, all 421) is one busy answer: the window halves once
 * (4 -> 2) and the host rests once (500 ms), not 4 -> 1 and 500+1000+2000+4000 ms. */
static void test_busy_crowd_counts_once(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.rcpt_per_session = 1;
    world *w = world_new(&o);
    char a[64];
    for (int i = 0; i < 20; i++) {
        snprintf(a, sizeof a, "u%d@crowd.example", i);
        add(w, (uint64_t)i, a);
    }
    answer_one(w, "crowd.example", "192.0.2.1");
    assert_int_equal(open_sessions(w), 4);
    while (open_sessions(w))
        fail_session(w, first_open(w), PROBE_TEMPORARY, 421);
    advance(w, ENGINE_HOST_PAUSE_MS - 1);
    assert_int_equal(open_sessions(w), 0);
    advance(w, 1);
    assert_int_equal(open_sessions(w), 2);
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.busy_replies, 4);               /* each one still a busy answer */
    while (open_sessions(w))
        finish_all(w, first_open(w), 250, 550);
    assert_int_equal(w->ndone, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(w->r[i].reason, REASON_ACCEPTED);
    world_free(w);
}

/* A finished domain leaves memory and keeps only its accept-all answer:
 * a later row of it gets its verdict with no second catch-all probe, and a
 * domain with an item waiting for a retry stays. Once the input is over
 * nothing is kept. */
static void test_domain_retires(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    world *w = world_reading(&o);                        /* later rows may come */
    add(w, 0, "a@plain.example");
    add(w, 1, "b@catchall.example");
    add(w, 2, "c@grey.example");
    answer_one(w, "plain.example", "192.0.2.1");
    answer_one(w, "catchall.example", "192.0.2.2");
    answer_one(w, "grey.example", "192.0.2.3");
    assert_int_equal(open_sessions(w), 3);
    for (size_t i = 0; i < w->ns; i++) {
        fsess *f = &w->s[i];
        finish_all(w, f, strcmp(f->domain, "grey.example") ? 250 : 450,
                   strcmp(f->domain, "catchall.example") ? 550 : 250);
    }
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.domains_retired, 2);
    assert_int_equal(st.domains_remembered, 2);           /* both answers known */
    assert_int_equal(st.domains_live, 1);                 /* grey.example: c@ waits */
    assert_int_equal(w->waits[2], 1);
    /* later rows: resolved again, no catch-all probe, the answer kept */
    add(w, 3, "d@plain.example");
    add(w, 4, "e@catchall.example");
    engine_input_done(w->e);                             /* the last rows: no gathering */
    answer_one(w, "plain.example", "192.0.2.1");
    answer_one(w, "catchall.example", "192.0.2.2");
    size_t first = w->ns - 2;
    for (size_t i = first; i < w->ns; i++) {
        assert_int_equal(w->s[i].n, 1);
        assert_false(is_catchall(&w->s[i].rcpts[0]));
        finish_all(w, &w->s[i], 250, 250);
    }
    assert_int_equal(w->r[3].reason, REASON_ACCEPTED);
    assert_int_equal(w->r[3].accept_all, TRI_FALSE);
    assert_int_equal(w->r[4].reason, REASON_ACCEPT_ALL);
    assert_int_equal(w->r[4].accept_all, TRI_TRUE);
    advance(w, 1000);                                    /* c@grey.example's retry */
    fsess *f = first_open(w);
    assert_non_null(f);
    finish_all(w, f, 250, 550);
    assert_int_equal(w->r[2].reason, REASON_ACCEPTED);
    assert_true(engine_idle(w->e));
    engine_get_stats(w->e, &st);
    assert_int_equal(st.domains_live, 0);
    assert_int_equal(st.domains_remembered, 0);           /* retired after the input was over */
    world_free(w);
}

/* An item that is its domain's last row (clean counted them: group.h)
 * leaves nothing behind when the domain is done; should a row come after
 * all (a file changed under the count), it is asked afresh, catch-all
 * probe included, and its verdict is the same. */
static void test_last_row_keeps_nothing(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    world *w = world_new(&o);
    add_item(w, 0, "a@plain.example", true);
    add_item(w, 1, "b@catchall.example", true);
    answer_one(w, "plain.example", "192.0.2.1");
    answer_one(w, "catchall.example", "192.0.2.2");
    for (size_t i = 0; i < w->ns; i++)
        finish_all(w, &w->s[i], 250, strcmp(w->s[i].domain, "catchall.example") ? 550 : 250);
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.domains_retired, 2);
    assert_int_equal(st.domains_remembered, 0);
    assert_int_equal(w->r[1].reason, REASON_ACCEPT_ALL);
    add(w, 2, "c@catchall.example");
    answer_one(w, "catchall.example", "192.0.2.2");
    fsess *f = &w->s[w->ns - 1];
    assert_int_equal(f->n, 2);                           /* the probe again, and c@ */
    finish_all(w, f, 250, 250);
    assert_int_equal(w->r[2].reason, REASON_ACCEPT_ALL);
    world_free(w);
}

/* The host policy on its own: busy answers in a row double the rest, and
 * stop counting as busy after ENGINE_HOST_BUSY_MAX. */
static void test_host_policy(void **state)
{
    (void)state;
    engine_host h;
    engine_host_init(&h, 8);
    assert_int_equal(engine_host_slots(&h, 0), 8);
    assert_true(engine_host_throttle(&h, 1000, h.generation));
    assert_int_equal(h.state, HOST_PAUSED);
    assert_int_equal(h.window, 4);
    assert_int_equal(h.paused_until, 1000 + ENGINE_HOST_PAUSE_MS);
    /* the same crowd: a session begun before that throttle changes nothing */
    assert_true(engine_host_throttle(&h, 1001, h.generation - 1));
    assert_int_equal(h.window, 4);
    assert_int_equal(h.paused_until, 1000 + ENGINE_HOST_PAUSE_MS);
    assert_int_equal(engine_host_slots(&h, 0), 0);
    engine_host_resume(&h);
    assert_int_equal(h.state, HOST_THROTTLED);
    assert_true(engine_host_throttle(&h, 2000, h.generation));
    assert_int_equal(h.window, 2);
    assert_int_equal(h.paused_until, 2000 + 2 * ENGINE_HOST_PAUSE_MS);
    for (int i = 2; i < ENGINE_HOST_BUSY_MAX; i++)
        assert_true(engine_host_throttle(&h, 3000, h.generation));
    assert_int_equal(h.window, 1);                       /* never below 1 */
    assert_int_equal(h.paused_until, 3000 + ENGINE_HOST_PAUSE_MAX_MS);
    assert_false(engine_host_throttle(&h, 4000, h.generation));  /* not busy any more: it refuses */
    engine_host_resume(&h);
    engine_host_unthrottle(&h);
    probe_result limit = {.outcome = PROBE_DONE, .session_limit = true, .answered = 4};
    assert_true(engine_host_learn_cap(&h, &limit, 3));
    assert_int_equal(h.rcpt_cap, 3);
    assert_int_equal(engine_host_batch(&h, 100, 1000), 3);
    assert_int_equal(h.busy_streak, 0);
    /* Failures give a host up only when it never worked. */
    assert_false(engine_host_fail(&h));
    assert_false(engine_host_fail(&h));
    assert_false(engine_host_fail(&h));
    engine_host g;
    engine_host_init(&g, 2);
    assert_false(engine_host_fail(&g));
    assert_false(engine_host_fail(&g));
    assert_true(engine_host_fail(&g));
    assert_int_equal(engine_host_slots(&g, 0), 0);
    assert_string_equal(engine_host_state_name(g.state), "dead");
}

/* A host's last recipients are shared evenly over the rounds of its
 * window's sessions they need (not full sessions and a short one), never
 * below ENGINE_HOST_SHARE_MIN; much work fills sessions to
 * --rcpt-per-session. */
static void test_host_share(void **state)
{
    (void)state;
    engine_host h;
    engine_host_init(&h, 5);
    assert_int_equal(engine_host_batch(&h, 100, 5000), 100);
    assert_int_equal(engine_host_batch(&h, 100, SIZE_MAX), 100);   /* nothing to share */
    assert_int_equal(engine_host_batch(&h, 100, 500), 100);
    assert_int_equal(engine_host_batch(&h, 100, 126), 26);
    assert_int_equal(engine_host_batch(&h, 100, 554), 56);   /* two rounds of 5 */
    assert_int_equal(engine_host_batch(&h, 100, 60), ENGINE_HOST_SHARE_MIN);
    assert_int_equal(engine_host_batch(&h, 100, 3), ENGINE_HOST_SHARE_MIN);
    assert_int_equal(engine_host_batch(&h, 10, 126), 10);
    h.window = 1;                                        /* throttled: two sessions in turn */
    assert_int_equal(engine_host_batch(&h, 100, 126), 63);
}

/* Pipelined RCPTs in one group only where the host is known to take them
 * (engine_host_rcpt_window): a session no larger than the window, a host
 * whose cap was learned, a host that answered as many in one session
 * with no limit met; else the window, so a limit costs few replies. */
static void test_host_rcpt_window(void **state)
{
    (void)state;
    engine_host h;
    engine_host_init(&h, 5);
    assert_int_equal(engine_host_rcpt_window(&h, ENGINE_HOST_RCPT_WINDOW), 0);
    assert_int_equal(engine_host_rcpt_window(&h, 100), ENGINE_HOST_RCPT_WINDOW);
    probe_result cut = {.outcome = PROBE_DONE, .session_limit = true, .answered = 60};
    engine_host_took(&h, &cut);                          /* a limit met proves nothing */
    probe_result late = {.outcome = PROBE_DONE, .penalised = true, .answered = 60};
    engine_host_took(&h, &late);
    probe_result slow = {.outcome = PROBE_TIMEOUT, .answered = 60};
    engine_host_took(&h, &slow);
    assert_int_equal(engine_host_rcpt_window(&h, 60), ENGINE_HOST_RCPT_WINDOW);
    probe_result done = {.outcome = PROBE_DONE, .answered = 60};
    engine_host_took(&h, &done);
    assert_int_equal(engine_host_rcpt_window(&h, 60), 0);
    assert_int_equal(engine_host_rcpt_window(&h, 61), ENGINE_HOST_RCPT_WINDOW);
    probe_result fewer = {.outcome = PROBE_DONE, .answered = 20};
    engine_host_took(&h, &fewer);                        /* never lowered */
    assert_int_equal(engine_host_rcpt_window(&h, 60), 0);
    assert_true(engine_host_learn_cap(&h, &cut, 59));
    assert_int_equal(engine_host_rcpt_window(&h, 100), 0);   /* sessions are cut to 59 */
}

/* The engine asks the probe for the window: 30 addresses on a new host go
 * windowed; once a "452 too many recipients" after 10 taught the cap, the
 * sessions that follow carry at most 10, in one group each. */
static void test_rcpt_window_sessions(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.rcpt_per_session = 40;
    world *w = world_new(&o);
    char a[64];
    for (int i = 0; i < 30; i++) {
        snprintf(a, sizeof a, "u%d@win.example", i);
        add(w, (uint64_t)i, a);
    }
    answer_one(w, "win.example", "192.0.2.1");
    fsess *f = first_open(w);
    assert_true(f->n > ENGINE_HOST_RCPT_WINDOW);
    assert_int_equal(f->opts.rcpt_window, ENGINE_HOST_RCPT_WINDOW);
    for (int i = 0; i < 10; i++)
        set_answer(&f->rcpts[i], is_catchall(&f->rcpts[i]) ? 550 : 250, "2.1.5", "x");
    probe_result res = {.outcome = PROBE_DONE, .connected = true, .session_limit = true,
                        .answered = 10};
    close_session(w, f, &res);
    int sessions = 0;
    while (open_sessions(w)) {
        f = first_open(w);
        assert_true(f->n <= 10);
        assert_int_equal(f->opts.rcpt_window, 0);
        finish_all(w, f, 250, 550);
        sessions++;
    }
    assert_true(sessions >= 2);
    assert_true(engine_idle(w->e));
    for (int i = 0; i < 30; i++)
        assert_int_equal(w->r[i].reason, REASON_ACCEPTED);
    world_free(w);
}

/* Sessions a host has open, and the recipients they carry (the catch-all
 * probe not counted). */
static int host_sessions(world *w, size_t *sizes, int max)
{
    int n = 0;
    for (size_t i = 0; i < w->ns && n < max; i++) {
        if (!w->s[i].open)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < w->s[i].n; j++)
            k += !is_catchall(&w->s[i].rcpts[j]);
        sizes[n++] = k;
    }
    return n;
}

/* A world whose one host takes PER_MX sessions of up to RCPTS recipients. */
static world *world_per_mx(int per_mx, int rcpts)
{
    engine_opts o;
    opts_default(&o);
    o.per_mx = per_mx;
    o.rcpt_per_session = rcpts;
    return world_new(&o);
}

/* Every open session answers 250 (its catch-all probe 550). */
static void accept_all_open(world *w)
{
    fsess *f;
    while ((f = first_open(w)))
        finish_all(w, f, 250, 550);
}

/* While rows may still come, sessions are full (and the rest gathers for
 * more, engine_host_gather); once the input is done, a host's last
 * recipients are shared over its window (126 over 5 sessions,
 * not 100 and 26), and every item gets its verdict. */
static void test_last_rows_shared(void **state)
{
    (void)state;
    size_t sizes[8];
    for (int done = 0; done < 2; done++) {
        engine_opts o;
        opts_default(&o);
        o.per_mx = 5;
        o.rcpt_per_session = 100;
        world *w = world_reading(&o);
        char a[64];
        for (int i = 0; i < 126; i++) {
            snprintf(a, sizeof a, "u%d@big.example", i);
            add(w, (uint64_t)i, a);
        }
        if (done)
            engine_input_done(w->e);
        answer_one(w, "big.example", "192.0.2.1");
        int n = host_sessions(w, sizes, 8);
        if (!done) {
            assert_int_equal(n, 1);                      /* the 26 gather for more */
            assert_int_equal(sizes[0], 100);
            advance(w, ENGINE_HOST_GATHER_MS);
            assert_int_equal(host_sessions(w, sizes, 8), 2);
            assert_int_equal(sizes[1], 26);
        } else {
            assert_int_equal(n, 5);
            size_t sum = 0;
            for (int i = 0; i < n; i++) {
                assert_true(sizes[i] >= ENGINE_HOST_SHARE_MIN && sizes[i] <= 26);
                sum += sizes[i];
            }
            assert_int_equal(sum, 126);
        }
        accept_all_open(w);
        assert_true(engine_idle(w->e));
        assert_int_equal(w->ndone, 126);
        world_free(w);
    }
}

/* An item's strings: the envelope shares the email's bytes when they are
 * the same and the domain is the envelope's tail; where they differ (an
 * IDN's U-label email, a domain that is not the tail) each has its own. */
static void test_item_strings(void **state)
{
    (void)state;
    engine_item *a = engine_item_new(1, "ann@example.com", "ann@example.com", "example.com",
                                     NULL, true, false, false);
    assert_non_null(a);
    assert_string_equal(a->email, "ann@example.com");
    assert_ptr_equal(a->envelope, a->email);
    assert_string_equal(a->domain, "example.com");
    assert_ptr_equal(a->domain, a->envelope + 4);
    assert_string_equal(a->did_you_mean, "");
    assert_true(a->role);
    engine_item *b = engine_item_new(2, "bo@b\xc3\xbc" "cher.de", "bo@xn--bcher-kva.de", "xn--bcher-kva.de",
                                     "bo@gmail.com", false, true, true);
    assert_non_null(b);
    assert_string_equal(b->email, "bo@b\xc3\xbc" "cher.de");
    assert_string_equal(b->envelope, "bo@xn--bcher-kva.de");
    assert_string_equal(b->domain, "xn--bcher-kva.de");
    assert_ptr_equal(b->domain, b->envelope + 3);
    assert_string_equal(b->did_you_mean, "bo@gmail.com");
    assert_true(b->free && b->smtputf8);
    engine_item *c = engine_item_new(3, "cy@mail.example.org", "cy@mail.example.org", "example.org",
                                     "", false, false, false);
    assert_non_null(c);                              /* "example.org" is a tail, not after '@' */
    assert_string_equal(c->domain, "example.org");
    assert_true(c->domain < c->envelope || c->domain > c->envelope + strlen(c->envelope));
    assert_string_equal(c->envelope, "cy@mail.example.org");
    engine_item_free(a);
    engine_item_free(b);
    engine_item_free(c);
}

/* The policy: only a host that has had a session gathers, only while rows
 * may come and its queue is short of a full session, and for at most
 * ENGINE_HOST_GATHER_MS from the first recipient left waiting. */
static void test_gather_policy(void **state)
{
    (void)state;
    engine_host h;
    engine_host_init(&h, 5);
    assert_int_equal(engine_host_gather(&h, 100, 1, 100, true), 0);      /* its first session */
    engine_host_started(&h);
    uint64_t until = 100 + ENGINE_HOST_GATHER_MS;
    assert_int_equal(engine_host_gather(&h, 100, 1, 100, true), until);
    assert_int_equal(engine_host_gather(&h, 600, 7, 100, true), until);  /* from the first */
    assert_int_equal(engine_host_gather(&h, until, 7, 100, true), 0);    /* over */
    assert_int_equal(engine_host_gather(&h, 700, 100, 100, true), 0);    /* a full session */
    assert_int_equal(engine_host_gather(&h, 800, 7, 100, false), 0);     /* the input is read */
    assert_int_equal(engine_host_gather(&h, 900, 7, 100, true), 900 + ENGINE_HOST_GATHER_MS);
    engine_host_started(&h);                             /* a session took them: anew */
    assert_int_equal(engine_host_gather(&h, 1000, 1, 100, true), 1000 + ENGINE_HOST_GATHER_MS);
}

/* While rows may still come, a host's rows arriving one by one after its
 * first session wait ENGINE_HOST_GATHER_MS for company and then share one
 * session (not one each, though the host has free slots); a full
 * session's worth starts at once, and so does all that waits once the
 * input is done. */
static void test_gather_fills_sessions(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.per_mx = 4;
    o.rcpt_per_session = 5;
    world *w = world_reading(&o);
    char a[64];
    add(w, 0, "u0@drip.example");
    answer_one(w, "drip.example", "192.0.2.1");
    assert_int_equal(open_sessions(w), 1);               /* the first never waits */
    for (int i = 1; i <= 3; i++) {
        snprintf(a, sizeof a, "u%d@drip.example", i);
        add(w, (uint64_t)i, a);
        advance(w, 100);
    }
    assert_int_equal(open_sessions(w), 1);
    advance(w, ENGINE_HOST_GATHER_MS - 300 - 1);
    assert_int_equal(open_sessions(w), 1);
    advance(w, 1);
    size_t sizes[8];
    assert_int_equal(host_sessions(w, sizes, 8), 2);
    assert_true(sizes[0] == 3 || sizes[1] == 3);         /* the three together */
    for (int i = 4; i < 9; i++) {                        /* a full session's worth */
        snprintf(a, sizeof a, "u%d@drip.example", i);
        add(w, (uint64_t)i, a);
    }
    assert_int_equal(open_sessions(w), 3);
    add(w, 9, "u9@drip.example");
    assert_int_equal(open_sessions(w), 3);
    engine_input_done(w->e);
    assert_int_equal(open_sessions(w), 4);
    accept_all_open(w);
    assert_true(engine_idle(w->e));
    assert_int_equal(w->ndone, 10);
    world_free(w);
}

/* Items added between engine_hold and engine_release share a session:
 * without the hold each would start one of its own while the host has
 * free slots. */
static void test_hold_fills_sessions(void **state)
{
    (void)state;
    size_t sizes[8];
    for (int hold = 0; hold < 2; hold++) {
        world *w = world_per_mx(4, 10);
        add(w, 0, "u0@burst.example");
        answer_one(w, "burst.example", "192.0.2.1");
        assert_int_equal(open_sessions(w), 1);
        if (hold)
            engine_hold(w->e);
        add(w, 1, "u1@burst.example");
        add(w, 2, "u2@burst.example");
        add(w, 3, "u3@burst.example");
        assert_int_equal(open_sessions(w), hold ? 1 : 4);
        if (hold) {
            engine_release(w->e);
            int n = host_sessions(w, sizes, 8);
            assert_int_equal(n, 2);
            assert_int_equal(sizes[0] + sizes[1], 4);
            assert_true(sizes[0] == 3 || sizes[1] == 3);
        }
        accept_all_open(w);
        assert_int_equal(w->ndone, 4);
        world_free(w);
    }
}

/* A 2xx to the catch-all probe turns accepts held for it into accept_all;
 * a 5xx leaves them accepted. */
static void test_catchall(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    world *w = world_new(&o);
    add(w, 0, "a@any.example");
    add(w, 1, "b@any.example");
    add(w, 2, "c@picky.example");
    answer_one(w, "any.example", "192.0.2.1");
    answer_one(w, "picky.example", "192.0.2.2");
    assert_int_equal(open_sessions(w), 2);
    fsess *f = first_open(w);
    assert_int_equal(f->n, 3);                           /* the probe rides along */
    assert_true(is_catchall(&f->rcpts[0]));
    finish_all(w, f, 250, 250);
    finish_all(w, first_open(w), 250, 550);
    assert_int_equal(w->ndone, 3);
    assert_int_equal(w->r[0].reason, REASON_ACCEPT_ALL);
    assert_int_equal(w->r[1].reason, REASON_ACCEPT_ALL);
    assert_int_equal(w->r[0].accept_all, TRI_TRUE);
    assert_int_equal(w->r[2].reason, REASON_ACCEPTED);
    assert_int_equal(w->r[2].accept_all, TRI_FALSE);
    assert_int_equal(w->r[0].attempts, 1);
    assert_string_equal(w->r[0].mx, "mx.any.example");
    world_free(w);
}

/* A 4xx goes to the retry queue; the server's named delay wins when it is
 * longer than the schedule's. */
static void test_retry_named_delay(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.retry_delays[0] = 60;
    world *w = world_new(&o);
    add(w, 0, "g@grey.example");
    add(w, 1, "h@grey2.example");
    answer_one(w, "grey.example", "192.0.2.1");
    answer_one(w, "grey2.example", "192.0.2.2");
    for (int k = 0; k < 2; k++) {
        fsess *f = first_open(w);
        probe_result res = {.outcome = PROBE_DONE, .connected = true, .answered = 2};
        set_answer(&f->rcpts[0], 550, "5.1.1", "no");    /* catch-all */
        set_answer(&f->rcpts[1], 450, "4.7.1",
                   strcmp(f->domain, "grey.example") == 0 ? "Greylisted, try again in 300 seconds"
                                                          : "Greylisted, try again in 5 seconds");
        close_session(w, f, &res);
    }
    assert_int_equal(w->waits[0], 1);
    assert_int_equal(w->waits[1], 1);
    assert_true(w->wait_due[0] > 1.0e9 + 299 && w->wait_due[0] < 1.0e9 + 301);
    assert_true(w->wait_due[1] > 1.0e9 + 59 && w->wait_due[1] < 1.0e9 + 61);  /* schedule wins */
    uint64_t nwait, next_due;                            /* what the progress line shows */
    assert_true(engine_waiting(w->e, &nwait, &next_due));
    assert_int_equal(nwait, 2);
    assert_int_equal(next_due, w->now + 60 * 1000);
    advance(w, 60 * 1000 - 1);
    assert_int_equal(open_sessions(w), 0);
    advance(w, 1);
    assert_int_equal(open_sessions(w), 1);
    assert_string_equal(first_open(w)->domain, "grey2.example");
    finish_all(w, first_open(w), 250, 550);
    advance(w, 240 * 1000 - 1);
    assert_int_equal(open_sessions(w), 0);
    advance(w, 1);
    assert_int_equal(open_sessions(w), 1);
    finish_all(w, first_open(w), 250, 550);
    assert_int_equal(w->r[0].reason, REASON_ACCEPTED);
    assert_int_equal(w->r[0].attempts, 2);               /* the 450 and the 250 */
    assert_true(engine_idle(w->e));
    world_free(w);
}

/* Connect failures move a domain's items to its next MX at once; three in a
 * row give the host up, so later domains never dial it. */
static void test_connect_failures_give_host_up(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    world *w = world_new(&o);
    char d[64], a[80];
    for (int i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "x@d%d.example", i);
        add(w, (uint64_t)i, a);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(d, sizeof d, "d%d.example", i);
        dns_result r = {.status = DNS_OK};
        mx(&r, 10, "dead.example", "192.0.2.66");
        mx(&r, 20, "backup.example", "192.0.2.77");
        if (i < 3) {
            answer_dns(w, d, &r);
            fsess *f = first_open(w);
            assert_string_equal(f->ip, "192.0.2.66");
            fail_session(w, f, PROBE_NO_CONNECT, 0);
            f = first_open(w);
            assert_non_null(f);
            assert_string_equal(f->ip, "192.0.2.77");   /* the next MX, at once */
            finish_all(w, f, 250, 550);
        } else {
            answer_dns(w, d, &r);                        /* the host is given up */
            fsess *f = first_open(w);
            assert_non_null(f);
            assert_string_equal(f->ip, "192.0.2.77");
            finish_all(w, f, 250, 550);
        }
    }
    assert_int_equal(w->ndone, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w->r[i].reason, REASON_ACCEPTED);
        assert_string_equal(w->r[i].mx, "backup.example");
        assert_int_equal(w->r[i].attempts, 1);
    }
    world_free(w);
}

/* --level dns: DNS verdicts, and not one session. */
static void test_dns_only(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.dns_only = true;
    world *w = world_new(&o);
    add(w, 0, "a@ok.example");
    add(w, 1, "b@gone.example");
    add(w, 2, "c@null.example");
    answer_one(w, "ok.example", "192.0.2.1");
    answer_dns(w, "gone.example", &(dns_result){.status = DNS_NXDOMAIN});
    answer_dns(w, "null.example", &(dns_result){.status = DNS_NULL_MX});
    /* Settled domains leave memory at once; a later row asks the resolver
     * again, whose cache answers it (dns.c: no query). */
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.domains_live, 0);
    assert_int_equal(st.domains_retired, 3);
    add(w, 3, "d@ok.example");
    assert_int_equal(w->ndone, 3);
    answer_one(w, "ok.example", "192.0.2.1");
    assert_int_equal(w->ns, 0);
    assert_int_equal(w->ndone, 4);
    assert_int_equal(w->r[0].reason, REASON_UNVERIFIED);
    assert_string_equal(w->r[0].mx, "mx.ok.example");
    assert_int_equal(w->r[3].reason, REASON_UNVERIFIED);
    assert_int_equal(w->r[1].reason, dns_status_reason(DNS_NXDOMAIN));
    assert_int_equal(w->r[2].reason, REASON_NULL_MX);
    assert_int_equal(w->r[0].attempts, 0);
    assert_true(engine_idle(w->e));
    world_free(w);
}

/* A route that fails three times in a row is retired; its items go out by
 * the other route, and nothing uses the retired one afterwards. */
static void test_route_retired(void **state)
{
    (void)state;
    static egress routes[2] = {{.kind = EGRESS_SOCKS5, .label = "socks5://127.0.0.1:1"},
                               {.kind = EGRESS_SOCKS5, .label = "socks5://127.0.0.1:2"}};
    engine_opts o;
    opts_default(&o);
    o.routes = routes;
    o.nroutes = 2;
    o.rcpt_per_session = 1;
    world *w = world_new(&o);
    char a[64];
    for (int i = 0; i < 40; i++) {
        snprintf(a, sizeof a, "u%d@r.example", i);
        add(w, (uint64_t)i, a);
    }
    answer_one(w, "r.example", "192.0.2.1");
    int fails = 0;
    size_t retired_at = SIZE_MAX;                        /* sessions started before it */
    while (!engine_idle(w->e)) {
        fsess *f = first_open(w);
        assert_non_null(f);
        if (f->opts.route == &routes[0]) {
            assert_true((size_t)(f - w->s) < retired_at);    /* none started after */
            if (++fails == 3)
                retired_at = w->ns;
            fail_session(w, f, PROBE_EGRESS_ERROR, 0);
        } else {
            finish_all(w, f, 250, 550);
        }
    }
    assert_true(fails >= 3);
    assert_true(retired_at != SIZE_MAX);
    assert_int_equal(w->ndone, 40);
    for (int i = 0; i < 40; i++)
        assert_int_equal(w->r[i].reason, REASON_ACCEPTED);
    world_free(w);
}

/* An interrupt: the answers an open session already had still count (a 4xx
 * becomes a committed wait, a final answer a verdict); the rest get none. */
static void test_cancel_keeps_answers(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    world *w = world_new(&o);
    engine_learn_domain(w->e, "c.example", TRI_FALSE);
    add(w, 0, "a@c.example");
    add(w, 1, "b@c.example");
    add(w, 2, "c@c.example");
    answer_one(w, "c.example", "192.0.2.1");
    fsess *f = first_open(w);
    assert_int_equal(f->n, 3);                           /* accept-all known: no probe */
    set_answer(&f->rcpts[0], 450, "4.2.0", "Greylisted");
    set_answer(&f->rcpts[1], 550, "5.1.1", "no such user");
    engine_cancel(w->e);
    assert_true(f->cancelled);
    close_session(w, f, &(probe_result){.outcome = PROBE_TEMPORARY, .answered = 2});
    assert_int_equal(w->waits[0], 1);
    assert_true(w->got[1]);
    assert_int_equal(w->r[1].reason, REASON_MAILBOX_NOT_FOUND);
    assert_false(w->got[2]);
    assert_int_equal(w->ns, 1);                          /* nothing new started */
    world_free(w);
}

/* The catch-all probe is lost in a dropped session while another session's
 * answer waits for it: that address is asked again to carry the probe, and
 * the repeat is no new attempt (the count must not depend on which session
 * the server dropped). */
static void test_lost_probe_repeat_is_no_attempt(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.rcpt_per_session = 1;
    world *w = world_new(&o);
    add(w, 0, "a@drop.example");
    add(w, 1, "b@drop.example");
    answer_one(w, "drop.example", "192.0.2.1");
    assert_int_equal(open_sessions(w), 2);
    fsess *with_probe = &w->s[0], *plain = &w->s[1];
    assert_true(is_catchall(&with_probe->rcpts[0]));
    finish_all(w, plain, 250, 550);                       /* b: 250, held for the probe */
    assert_false(w->got[1]);
    fail_session(w, with_probe, PROBE_TEMPORARY, 0);      /* dropped: the probe is lost */
    while (open_sessions(w))
        finish_all(w, first_open(w), 250, 550);
    assert_int_equal(w->ndone, 2);
    assert_int_equal(w->r[0].reason, REASON_ACCEPTED);
    assert_int_equal(w->r[1].reason, REASON_ACCEPTED);
    assert_int_equal(w->r[0].attempts, 1);
    assert_int_equal(w->r[1].attempts, 1);                /* asked twice, answered once for it */
    world_free(w);
}

/* ---- limits of the host's that cut a session short (engine_host_learn_cap) ---- */

static int host_cap;
static void note_cap(void *ud, const engine_host_info *h)
{
    (void)ud;
    host_cap = h->rcpt_cap;
}

/* The rcpt_cap the engine learned for its one host. */
static int learned_cap(world *w)
{
    host_cap = -1;
    engine_each_host(w->e, note_cap, NULL);
    return host_cap;
}

/* 14 addresses of one domain on one host; the first session is open. */
static world *limit_world(void)
{
    engine_opts o;
    opts_default(&o);
    o.rcpt_per_session = 20;
    world *w = world_new(&o);
    char a[64];
    for (int i = 0; i < 14; i++) {
        snprintf(a, sizeof a, "u%d@lim.example", i);
        add(w, (uint64_t)i, a);
    }
    answer_one(w, "lim.example", "192.0.2.1");
    assert_int_equal(open_sessions(w), 1);
    assert_int_equal(first_open(w)->n, 15);              /* the probe and all 14 */
    return w;
}

/* After the first session: every later one carries at most CAP, and
 * nothing waited for the retry schedule; each address gets its true
 * verdict (even rows exist) with one attempt. */
static void limit_finish(world *w, size_t cap)
{
    assert_true(open_sessions(w) > 0);                   /* at once, no time passed */
    for (int i = 0; i < 14; i++)
        assert_int_equal(w->waits[i], 0);
    while (open_sessions(w)) {
        fsess *f = first_open(w);
        assert_true(f->n <= cap);
        probe_result res = {.outcome = PROBE_DONE, .connected = true};
        for (size_t i = 0; i < f->n; i++) {
            int row = atoi(f->rcpts[i].address + 1);
            set_answer(&f->rcpts[i], row % 2 ? 550 : 250, row % 2 ? "5.1.1" : "2.1.5", "x");
            res.answered++;
            res.refusals += row % 2;
        }
        close_session(w, f, &res);
    }
    assert_true(engine_idle(w->e));
    for (int i = 0; i < 14; i++) {
        assert_int_equal(w->r[i].reason, i % 2 ? REASON_MAILBOX_NOT_FOUND : REASON_ACCEPTED);
        assert_int_equal(w->r[i].attempts, 1);
    }
    assert_int_equal(learned_cap(w), (int)cap);
}

/* Postfix's smtpd_hard_error_limit: "421 4.7.0 … Error: too many errors"
 * after the 4th refusal (the probe and u1, u3, u5). The 421 is no verdict
 * and no reason to wait: the rest go to new sessions at once, of half as
 * many recipients as refusals it took (its soft limit: no error sleeps). */
static void test_error_limit_421(void **state)
{
    (void)state;
    world *w = limit_world();
    fsess *f = first_open(w);
    probe_result res = {.outcome = PROBE_TEMPORARY, .code = 421, .connected = true,
                        .session_limit = true, .reason = REASON_TEMPORARY_FAILURE};
    snprintf(res.enhanced, sizeof res.enhanced, "4.7.0");
    snprintf(res.text, sizeof res.text, "mx.lim.example Error: too many errors");
    set_answer(&f->rcpts[0], 550, "5.1.1", "no");        /* the probe */
    for (size_t i = 1; i <= 6; i++) {                     /* u0..u5 */
        int row = atoi(f->rcpts[i].address + 1);
        set_answer(&f->rcpts[i], row % 2 ? 550 : 250, row % 2 ? "5.1.1" : "2.1.5", "x");
        res.refusals += row % 2;
    }
    res.refusals++;
    res.answered = 7;
    assert_int_equal(res.refusals, 4);
    close_session(w, f, &res);
    limit_finish(w, 2);
    assert_string_equal(w->r[1].smtp_text, "x");          /* the 421 decided nothing */
    world_free(w);
}

/* A penalty: the reply after the 2nd refusal came late (Postfix's error
 * sleep past smtpd_soft_error_limit = 2, a tarpit). The session stopped
 * asking there; later ones carry one recipient less than the refusals it
 * took before punishing (1), so they never reach the sleeps. */
static void test_penalty_lowers_cap(void **state)
{
    (void)state;
    world *w = limit_world();
    fsess *f = first_open(w);
    set_answer(&f->rcpts[0], 550, "5.1.1", "no");         /* the probe */
    set_answer(&f->rcpts[1], 250, "2.1.5", "x");          /* u0 */
    set_answer(&f->rcpts[2], 550, "5.1.1", "x");          /* u1 */
    set_answer(&f->rcpts[3], 250, "2.1.5", "x");          /* u2: late */
    probe_result res = {.outcome = PROBE_DONE, .connected = true, .answered = 4, .refusals = 2,
                        .penalised = true, .penalty_after = 2};
    close_session(w, f, &res);
    assert_int_equal(f->opts.penalty_ms, ENGINE_HOST_PENALTY_MS);
    limit_finish(w, 1);
    world_free(w);
}

/* The reply timer ran out after the host had answered three (a tarpit
 * slower than --command-timeout): not a timeout verdict, not a failed
 * host; the rest go at once to sessions of what it answered in time. */
static void test_timeout_after_answers(void **state)
{
    (void)state;
    world *w = limit_world();
    fsess *f = first_open(w);
    set_answer(&f->rcpts[0], 550, "5.1.1", "no");         /* the probe */
    set_answer(&f->rcpts[1], 250, "2.1.5", "x");          /* u0 */
    set_answer(&f->rcpts[2], 550, "5.1.1", "x");          /* u1 */
    set_answer(&f->rcpts[3], 250, "2.1.5", "x");          /* u2 */
    probe_result res = {.outcome = PROBE_TIMEOUT, .reason = REASON_TIMEOUT, .connected = true,
                        .answered = 4, .refusals = 2};
    close_session(w, f, &res);
    limit_finish(w, 3);                                  /* on the same host: not failed */
    world_free(w);
}

/* A session limit before any recipient was answered (postscreen's "450
 * 4.3.2 Service currently unavailable" until the client comes back after
 * its deep protocol tests; anvil's "450 4.7.1 Error: too many recipients
 * from …" until its time unit is over) is the host being busy: it rests,
 * then everything is asked again — no retry schedule, no cap learned. */
static void test_limit_before_answers_rests(void **state)
{
    (void)state;
    world *w = limit_world();
    fsess *f = first_open(w);
    probe_result res = {.outcome = PROBE_DONE, .connected = true, .session_limit = true};
    close_session(w, f, &res);                            /* nothing answered */
    assert_int_equal(open_sessions(w), 0);                /* resting */
    for (int i = 0; i < 14; i++)
        assert_int_equal(w->waits[i], 0);
    advance(w, ENGINE_HOST_PAUSE_MS);
    assert_int_equal(open_sessions(w), 1);
    f = first_open(w);
    assert_int_equal(f->n, 15);                           /* the probe again, and all 14 */
    finish_all(w, f, 550, 550);
    assert_true(engine_idle(w->e));
    for (int i = 0; i < 14; i++) {
        assert_int_equal(w->r[i].reason, REASON_MAILBOX_NOT_FOUND);
        assert_int_equal(w->r[i].attempts, 1);
    }
    assert_int_equal(learned_cap(w), 0);
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.busy_replies, 1);
    world_free(w);
}

/* --per-provider: ten tenants of one fleet, each with an MX name and an
 * address of its own (as *.mail.protection.outlook.com), share one ceiling
 * of 3 sessions; a host of another operator is not held up by it, and every
 * tenant waiting for the fleet gets its turn. */
static int open_fleet(const world *w)
{
    int n = 0;
    for (size_t i = 0; i < w->ns; i++)
        n += w->s[i].open && w->s[i].domain[0] == 't';
    return n;
}

static void test_provider_ceiling(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.per_provider = 3;
    world *w = world_new(&o);
    char a[64], d[64], host[64], ip[32];
    for (int i = 0; i < 10; i++)
        for (int k = 0; k < 2; k++) {
            snprintf(a, sizeof a, "u%d@t%d.example", k, i);
            add(w, (uint64_t)(i * 2 + k), a);
        }
    add(w, 20, "x@other.example");
    for (int i = 0; i < 10; i++) {
        dns_result r = {.status = DNS_OK};
        snprintf(d, sizeof d, "t%d.example", i);
        snprintf(host, sizeof host, "t%d-example.mail.Fleet.EXAMPLE.", i);
        snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
        mx(&r, 10, host, ip);
        answer_dns(w, d, &r);
    }
    answer_one(w, "other.example", "198.51.100.1");
    assert_int_equal(open_fleet(w), 3);
    assert_int_equal(open_sessions(w), 4);              /* other.example's own */
    int most = 0;
    fsess *f;
    while ((f = first_open(w))) {
        finish_all(w, f, 250, 550);
        int n = open_fleet(w);
        most = n > most ? n : most;
    }
    assert_int_equal(most, 3);
    assert_int_equal(w->ndone, 21);
    for (int i = 0; i <= 20; i++)
        assert_int_equal(w->r[i].reason, REASON_ACCEPTED);
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.provider_peak, 3);
    world_free(w);
}

/* Property: over many random scripts, the per-MX, per-domain and global
 * limits are never exceeded, and every item ends with one verdict. */
static void test_limits_property(void **state)
{
    (void)state;
    srand(12345);
    uint64_t mixed = 0;
    for (int run = 0; run < 60; run++) {
        engine_opts o;
        opts_default(&o);
        o.per_mx = 1 + rand() % 4;
        o.per_domain = 1 + rand() % 3;
        o.concurrency = 1 + rand() % 8;
        o.rcpt_per_session = 1 + rand() % 4;
        o.nretries = 1;
        o.retry_delays[0] = 1;
        world *w = world_new(&o);
        int nitems = 20 + rand() % 200, ndomains = 1 + rand() % 30, nhosts = 1 + rand() % 5;
        char a[64], d[32], ip[32];
        for (int i = 0; i < nitems; i++) {
            snprintf(a, sizeof a, "u%d@d%d.example", i, rand() % ndomains);
            add(w, (uint64_t)i, a);
        }
        for (size_t k = 0; k < w->nd; k++) {
            if (w->d[k].answered)
                continue;
            snprintf(d, sizeof d, "%s", w->d[k].domain);
            dns_result r = {.status = DNS_OK};
            snprintf(ip, sizeof ip, "192.0.2.%d", 1 + rand() % nhosts);
            mx(&r, 10, "mx.example", ip);
            if (rand() % 2) {
                snprintf(ip, sizeof ip, "192.0.2.%d", 1 + rand() % nhosts);
                mx(&r, 20, "mx2.example", ip);
            }
            answer_dns(w, d, &r);
        }
        for (int steps = 0; !engine_idle(w->e) && steps < 100000; steps++) {
            fsess *f = NULL;
            int n = open_sessions(w);
            if (!n) {
                assert_true(w->armed != UINT64_MAX);     /* waiting for something */
                advance(w, w->armed - w->now);
                continue;
            }
            int pick = rand() % n;
            for (size_t i = 0; i < w->ns && !f; i++)
                if (w->s[i].open && pick-- == 0)
                    f = &w->s[i];
            int roll = rand() % 10;
            if (roll < 6)
                finish_all(w, f, (int[]){250, 550, 450}[rand() % 3], 550);
            else if (roll < 8)
                fail_session(w, f, PROBE_TEMPORARY, 421);
            else if (roll < 9)
                fail_session(w, f, PROBE_NO_CONNECT, 0);
            else
                fail_session(w, f, PROBE_TIMEOUT, 0);
        }
        if (w->limit_broken)
            fail_msg("run %d: limit exceeded: %s (per-mx %d per-domain %d concurrency %d)", run,
                     w->why, o.per_mx, o.per_domain, o.concurrency);
        assert_true(engine_idle(w->e));
        assert_int_equal(w->ndone, nitems);
        assert_true(w->max_total <= o.concurrency);
        engine_stats st;
        engine_get_stats(w->e, &st);
        mixed += st.mixed_sessions;
        world_free(w);
    }
    assert_true(mixed > 0);                  /* the shared "mx.example" mixed domains */
}

/* The evidence of each verdict (README "Output"): the address of the MX
 * whose reply decided (none without a reply), when that reply came (the
 * probe's at_ms on the fake clock: wall = 1e9 + ms / 1000) or when the
 * verdict was made, and the route of the deciding session. */
static void test_evidence(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.nretries = 0;
    world *w = world_new(&o);
    engine_learn_domain(w->e, "e.example", TRI_FALSE);
    add(w, 0, "a@e.example");
    add(w, 1, "b@gone.example");
    add(w, 2, "c@dead.example");
    add(w, 3, "d@banner.example");
    w->now = 1000;
    dns_result r = {.status = DNS_OK};
    mx(&r, 10, "mx1.e.example", "192.0.2.66");
    mx(&r, 20, "mx2.e.example", "192.0.2.77");
    answer_dns(w, "e.example", &r);
    fsess *f = first_open(w);
    assert_string_equal(f->ip, "192.0.2.66");
    w->now = 2000;
    fail_session(w, f, PROBE_NO_CONNECT, 0);             /* the first MX is dead */
    f = first_open(w);
    assert_string_equal(f->ip, "192.0.2.77");
    w->now = 3000;
    set_answer(&f->rcpts[0], 550, "5.1.1", "no such user");
    f->rcpts[0].at_ms = 3000;
    w->now = 7500;                                       /* the session ends later */
    close_session(w, f, &(probe_result){.outcome = PROBE_DONE, .answered = 1, .connected = true});
    assert_true(w->got[0]);
    assert_string_equal(w->r[0].mx_ip, "192.0.2.77");
    assert_int_equal(w->r[0].checked_at, 1000000003);    /* when the reply came */
    assert_string_equal(w->r[0].route, "direct");

    w->now = 9000;
    answer_dns(w, "gone.example", &(dns_result){.status = DNS_NXDOMAIN});
    assert_string_equal(w->r[1].mx_ip, "");
    assert_int_equal(w->r[1].checked_at, 1000000009);    /* when DNS decided */
    assert_string_equal(w->r[1].route, "");              /* no connection tried */

    answer_one(w, "dead.example", "192.0.2.88");
    w->now = 11000;
    fail_session(w, first_open(w), PROBE_NO_CONNECT, 0);
    assert_int_equal(w->r[2].reason, REASON_NO_CONNECT);
    assert_string_equal(w->r[2].mx_ip, "");              /* no reply */
    assert_int_equal(w->r[2].checked_at, 1000000011);
    assert_string_equal(w->r[2].route, "direct");

    answer_one(w, "banner.example", "192.0.2.99");
    f = first_open(w);
    w->now = 12000;
    probe_result refused = {.outcome = PROBE_REFUSED, .reason = REASON_BLOCKED, .code = 554,
                            .connected = true};
    snprintf(refused.text, sizeof refused.text, "not accepting messages");
    close_session(w, f, &refused);
    assert_int_equal(w->r[3].reason, REASON_BLOCKED);
    assert_string_equal(w->r[3].mx_ip, "192.0.2.99");    /* the banner's 554 decided */
    assert_int_equal(w->r[3].checked_at, 1000000012);
    assert_string_equal(w->r[3].route, "direct");
    assert_int_equal(w->ndone, 4);
    world_free(w);

    /* Two routes: each verdict names the route its answer came by. */
    static egress routes[2] = {{.kind = EGRESS_BIND, .label = "127.0.0.2"},
                               {.kind = EGRESS_SOCKS5, .label = "socks5://alice@127.0.0.1:1080"}};
    routes[0].addr.ss_family = AF_INET;
    o.routes = routes;
    o.nroutes = 2;
    o.rcpt_per_session = 1;
    w = world_new(&o);
    engine_learn_domain(w->e, "r.example", TRI_FALSE);
    char a[64];
    for (int i = 0; i < 20; i++) {
        snprintf(a, sizeof a, "u%d@r.example", i);
        add(w, (uint64_t)i, a);
    }
    answer_one(w, "r.example", "192.0.2.1");
    const egress *by[20] = {0};
    int used[2] = {0};
    while (!engine_idle(w->e)) {
        f = first_open(w);
        assert_non_null(f);
        int row = atoi(f->rcpts[0].address + 1);
        assert_true(row >= 0 && row < 20);
        by[row] = f->opts.route;
        used[f->opts.route == &routes[1]]++;
        finish_all(w, f, 250, 550);
    }
    assert_true(used[0] > 0 && used[1] > 0);
    for (int i = 0; i < 20; i++) {
        assert_non_null(by[i]);
        assert_string_equal(w->r[i].route, by[i]->label);
        assert_string_equal(w->r[i].mx_ip, "192.0.2.1");
    }
    world_free(w);
}

/* ---- sessions of several domains on one MX host name (issue 16) ---- */

/* An answer naming MX host HOST at IP. */
static void answer_mx(world *w, const char *domain, const char *host, const char *ip)
{
    dns_result r = {.status = DNS_OK};
    mx(&r, 10, host, ip);
    answer_dns(w, domain, &r);
}

static size_t session_domains(const fsess *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(domain_of(&f->rcpts[i]), domain_of(&f->rcpts[j])) == 0;
        n += !seen;
    }
    return n;
}

/* Answer every recipient of F by its domain: the catch-all of the domains
 * in ACCEPT_ALL (a space-separated list) gets 250, others 550; items 250. */
static void finish_by_domain(world *w, fsess *f, const char *accept_all)
{
    probe_result res = {.outcome = PROBE_DONE, .reason = REASON_ACCEPTED, .connected = true};
    for (size_t i = 0; i < f->n; i++) {
        bool any = is_catchall(&f->rcpts[i]) && strstr(accept_all, domain_of(&f->rcpts[i]));
        bool ok = !is_catchall(&f->rcpts[i]) || any;
        set_answer(&f->rcpts[i], ok ? 250 : 550, ok ? "2.1.5" : "5.1.1", ok ? "OK" : "no such user");
        res.answered++;
    }
    close_session(w, f, &res);
}

/* Domains whose MX records name the same host share its sessions, each
 * with its own catch-all probe and its own verdicts; a domain naming
 * another host at the same address never joins them. */
static void test_mixed_sessions(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.per_mx = 1;
    world *w = world_new(&o);
    add(w, 0, "a@one.example");
    add(w, 1, "b@two.example");
    add(w, 2, "c@three.example");
    add(w, 3, "d@other.example");
    add(w, 4, "e@three.example");
    answer_mx(w, "one.example", "mx.fleet.example", "192.0.2.1");   /* its session starts */
    answer_mx(w, "two.example", "mx.fleet.example", "192.0.2.1");   /* these wait for it */
    answer_mx(w, "other.example", "mx.other.example", "192.0.2.1");
    answer_mx(w, "three.example", "mx.fleet.example", "192.0.2.1");
    fsess *f = first_open(w);
    assert_int_equal(session_domains(f), 1);
    assert_int_equal(f->n, 2);                           /* one's probe and a@ */
    finish_by_domain(w, f, "");
    f = first_open(w);
    assert_non_null(f);
    assert_int_equal(session_domains(f), 2);             /* two and three, not other */
    assert_int_equal(f->n, 5);                           /* two probes, b@, c@, e@ */
    assert_false(carries(f, "other.example"));
    assert_string_equal(f->opts.server_name, "mx.fleet.example");
    finish_by_domain(w, f, "three.example");
    assert_int_equal(w->r[1].reason, REASON_ACCEPTED);   /* two: not accept-all */
    assert_int_equal(w->r[1].accept_all, TRI_FALSE);
    assert_int_equal(w->r[2].reason, REASON_ACCEPT_ALL); /* three: its own probe said so */
    assert_int_equal(w->r[4].reason, REASON_ACCEPT_ALL);
    assert_int_equal(w->r[2].attempts, 1);
    assert_string_equal(w->r[2].mx, "mx.fleet.example");
    f = first_open(w);
    assert_non_null(f);
    assert_int_equal(session_domains(f), 1);
    assert_true(carries(f, "other.example"));
    assert_string_equal(f->opts.server_name, "mx.other.example");
    finish_by_domain(w, f, "");
    assert_true(engine_idle(w->e));
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.sessions, 3);
    assert_int_equal(st.mixed_sessions, 1);
    world_free(w);
}

/* A mixed session's size counts the later domains' probes: --rcpt-per-
 * session 3 and four one-address domains waiting make a session of the
 * first's probe and address plus one more domain's probe and address. A
 * 4xx for one domain's address retries only it. */
static void test_mixed_size_and_retry(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.per_mx = 1;
    o.rcpt_per_session = 3;
    world *w = world_new(&o);
    char a[64], d[64];
    add(w, 9, "z@first.example");
    answer_mx(w, "first.example", "mx.fleet.example", "192.0.2.1");
    for (int i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "u@d%d.example", i);
        add(w, (uint64_t)i, a);
        snprintf(d, sizeof d, "d%d.example", i);
        answer_mx(w, d, "mx.fleet.example", "192.0.2.1");
    }
    finish_by_domain(w, first_open(w), "");
    fsess *f = first_open(w);
    assert_int_equal(f->n, 4);                           /* d0: probe + u@ (rides), d1: probe + u@ */
    assert_int_equal(session_domains(f), 2);
    probe_result res = {.outcome = PROBE_DONE, .connected = true, .answered = 4};
    for (size_t i = 0; i < f->n; i++) {
        bool d1 = strcmp(domain_of(&f->rcpts[i]), "d1.example") == 0;
        if (is_catchall(&f->rcpts[i]))
            set_answer(&f->rcpts[i], 550, "5.1.1", "no such user");
        else if (d1)
            set_answer(&f->rcpts[i], 450, "4.7.1", "Greylisted, try again later");
        else
            set_answer(&f->rcpts[i], 250, "2.1.5", "OK");
    }
    close_session(w, f, &res);
    assert_true(w->got[0]);
    assert_int_equal(w->r[0].reason, REASON_ACCEPTED);
    assert_false(w->got[1]);
    assert_int_equal(w->waits[1], 1);                    /* only d1's address waits */
    assert_int_equal(w->waits[0] + w->waits[2] + w->waits[3], 0);
    while ((f = first_open(w)))                          /* d2 and d3 */
        finish_by_domain(w, f, "");
    assert_true(w->got[2] && w->got[3]);
    assert_int_equal(w->waits[2] + w->waits[3], 0);
    world_free(w);
}

/* A host that refuses recipients of a second domain ("452 4.5.3
 * Recipients belong to multiple regions") is asked one domain per session
 * from then on, learned once; the refused recipients are no verdict and no
 * attempt, and go to a session of their own at once. */
static void test_mixed_refused_falls_back(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.per_mx = 1;
    world *w = world_new(&o);
    char a[64], d[64];
    add(w, 9, "z@first.example");
    answer_mx(w, "first.example", "mx.region.example", "192.0.2.1");
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "u@d%d.example", i);
        add(w, (uint64_t)i, a);
        snprintf(d, sizeof d, "d%d.example", i);
        answer_mx(w, d, "mx.region.example", "192.0.2.1");
    }
    finish_by_domain(w, first_open(w), "");
    fsess *f = first_open(w);
    assert_int_equal(session_domains(f), 3);
    probe_result res = {.outcome = PROBE_DONE, .connected = true, .session_limit = true,
                        .mixed_domains = true};
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(domain_of(&f->rcpts[i]), "d0.example") != 0)
            continue;                                    /* refused: left unanswered */
        bool ca = is_catchall(&f->rcpts[i]);
        set_answer(&f->rcpts[i], ca ? 550 : 250, ca ? "5.1.1" : "2.1.5", ca ? "no" : "OK");
        res.answered++;
    }
    snprintf(res.text, sizeof res.text, "Recipients belong to multiple regions");
    close_session(w, f, &res);
    assert_true(w->got[0]);
    assert_int_equal(w->r[0].reason, REASON_ACCEPTED);
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.one_domain_hosts, 1);
    int sessions = 0;
    while ((f = first_open(w))) {
        assert_int_equal(session_domains(f), 1);         /* one domain a session now */
        finish_by_domain(w, f, "");
        sessions++;
    }
    assert_int_equal(sessions, 2);                       /* d1 and d2, at once */
    assert_true(engine_idle(w->e));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(w->r[i].reason, REASON_ACCEPTED);
        assert_int_equal(w->r[i].attempts, 1);           /* the refusal was no attempt */
        assert_int_equal(w->waits[i], 0);
    }
    engine_get_stats(w->e, &st);
    assert_int_equal(st.one_domain_hosts, 1);
    world_free(w);
}

/* A mixed session that breaks (a protocol error) judges only the domain it
 * began for; the domain that rode along is asked again in a session of
 * its own, and its verdict is its own. */
static void test_mixed_failure_judges_lead(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    o.per_mx = 1;
    world *w = world_new(&o);
    add(w, 9, "z@first.example");
    answer_mx(w, "first.example", "mx.fleet.example", "192.0.2.1");
    add(w, 0, "u@lead.example");
    add(w, 1, "u@rider.example");
    answer_mx(w, "lead.example", "mx.fleet.example", "192.0.2.1");
    answer_mx(w, "rider.example", "mx.fleet.example", "192.0.2.1");
    finish_by_domain(w, first_open(w), "");
    fsess *f = first_open(w);
    assert_int_equal(session_domains(f), 2);
    assert_string_equal(domain_of(&f->rcpts[0]), "lead.example");
    probe_result bad = {.outcome = PROBE_PROTOCOL_ERROR, .reason = REASON_PROTOCOL_ERROR,
                        .connected = true, .code = 500};
    snprintf(bad.text, sizeof bad.text, "garbage");
    close_session(w, f, &bad);
    assert_true(w->got[0]);
    assert_int_equal(w->r[0].reason, REASON_PROTOCOL_ERROR);
    assert_false(w->got[1]);                             /* back in its queue */
    f = first_open(w);
    assert_non_null(f);
    assert_int_equal(session_domains(f), 1);
    assert_true(carries(f, "rider.example"));
    finish_by_domain(w, f, "");
    assert_int_equal(w->r[1].reason, REASON_ACCEPTED);
    assert_int_equal(w->r[1].attempts, 1);
    assert_true(engine_idle(w->e));
    world_free(w);
}

static void count_host(void *ud, const engine_host_info *h)
{
    (void)h;
    (*(int *)ud)++;
}

/* An MX host record leaves memory once no live domain names it and it
 * taught nothing, after its counts were handed over; one that learned a
 * recipient cap stays, and a later domain on a retired host gets a fresh
 * record. */
static void test_host_retires(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    world *w = world_new(&o);
    add(w, 0, "a@plain.example");
    add(w, 1, "b@capped.example");
    answer_one(w, "plain.example", "192.0.2.1");
    answer_one(w, "capped.example", "192.0.2.2");
    for (size_t i = 0; i < w->ns; i++) {
        fsess *f = &w->s[i];
        if (strcmp(f->domain, "capped.example") == 0) {   /* a limit: cap learned */
            probe_result res = {.outcome = PROBE_DONE, .connected = true, .answered = 2,
                                .session_limit = true};
            set_answer(&f->rcpts[0], 550, "5.1.1", "no");
            set_answer(&f->rcpts[1], 250, "2.1.5", "OK");
            close_session(w, f, &res);
        } else {
            finish_all(w, f, 250, 550);
        }
    }
    assert_true(engine_idle(w->e));
    int reported = 0;
    engine_each_host(w->e, count_host, &reported);
    assert_int_equal(reported, 2);                       /* both counts handed over first */
    engine_stats st;
    engine_get_stats(w->e, &st);
    assert_int_equal(st.hosts_retired, 1);               /* plain's; capped's stays */
    reported = 0;
    engine_each_host(w->e, count_host, &reported);
    assert_int_equal(reported, 0);                       /* nothing new, nothing lost */
    add(w, 2, "c@plain.example");
    answer_one(w, "plain.example", "192.0.2.1");
    fsess *f = first_open(w);
    assert_non_null(f);
    finish_all(w, f, 250, 550);
    assert_int_equal(w->r[2].reason, REASON_ACCEPTED);
    reported = 0;
    engine_each_host(w->e, count_host, &reported);
    assert_int_equal(reported, 1);                       /* the fresh record's session */
    world_free(w);
}

/* An accept-all answer from outside (the verdict cache) in the middle of a
 * run: taken by a domain that has not sent its probe (no probe in its
 * session), ignored once its own probe is out (the probe decides, nothing
 * waits for nothing), and never over a retired domain's own answer. */
static void test_learn_mid_run(void **state)
{
    (void)state;
    engine_opts o;
    opts_default(&o);
    world *w = world_reading(&o);
    add(w, 0, "a@fresh.example");
    engine_learn_domain(w->e, "fresh.example", TRI_TRUE);   /* resolving: not asked yet */
    answer_one(w, "fresh.example", "192.0.2.1");
    fsess *f = first_open(w);
    assert_int_equal(f->n, 1);
    assert_false(is_catchall(&f->rcpts[0]));
    finish_all(w, f, 250, 550);
    assert_int_equal(w->r[0].reason, REASON_ACCEPT_ALL);

    add(w, 1, "b@asking.example");
    answer_one(w, "asking.example", "192.0.2.2");
    f = first_open(w);
    assert_true(is_catchall(&f->rcpts[0]));              /* its probe is out */
    engine_learn_domain(w->e, "asking.example", TRI_TRUE);
    finish_all(w, f, 250, 550);                          /* the probe: not accept-all */
    assert_true(w->got[1]);
    assert_int_equal(w->r[1].reason, REASON_ACCEPTED);
    assert_int_equal(w->r[1].accept_all, TRI_FALSE);

    engine_learn_domain(w->e, "asking.example", TRI_TRUE); /* retired: its own answer stays */
    add(w, 2, "c@asking.example");
    engine_input_done(w->e);
    answer_one(w, "asking.example", "192.0.2.2");
    f = first_open(w);
    assert_int_equal(f->n, 1);                           /* no second probe */
    finish_all(w, f, 250, 250);
    assert_int_equal(w->r[2].reason, REASON_ACCEPTED);
    assert_true(engine_idle(w->e));
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_halves_pauses_and_regrows),
        cmocka_unit_test(test_busy_crowd_counts_once),
        cmocka_unit_test(test_domain_retires),
        cmocka_unit_test(test_last_row_keeps_nothing),
        cmocka_unit_test(test_host_retires),
        cmocka_unit_test(test_learn_mid_run),
        cmocka_unit_test(test_host_policy),
        cmocka_unit_test(test_host_share),
        cmocka_unit_test(test_host_rcpt_window),
        cmocka_unit_test(test_rcpt_window_sessions),
        cmocka_unit_test(test_last_rows_shared),
        cmocka_unit_test(test_hold_fills_sessions),
        cmocka_unit_test(test_item_strings),
        cmocka_unit_test(test_gather_policy),
        cmocka_unit_test(test_gather_fills_sessions),
        cmocka_unit_test(test_catchall),
        cmocka_unit_test(test_retry_named_delay),
        cmocka_unit_test(test_connect_failures_give_host_up),
        cmocka_unit_test(test_dns_only),
        cmocka_unit_test(test_route_retired),
        cmocka_unit_test(test_cancel_keeps_answers),
        cmocka_unit_test(test_lost_probe_repeat_is_no_attempt),
        cmocka_unit_test(test_limits_property),
        cmocka_unit_test(test_provider_ceiling),
        cmocka_unit_test(test_port25_unreachable),
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_error_limit_421),
        cmocka_unit_test(test_penalty_lowers_cap),
        cmocka_unit_test(test_timeout_after_answers),
        cmocka_unit_test(test_limit_before_answers_rests),
        cmocka_unit_test(test_mixed_sessions),
        cmocka_unit_test(test_mixed_size_and_retry),
        cmocka_unit_test(test_mixed_refused_falls_back),
        cmocka_unit_test(test_mixed_failure_judges_lead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
