/* engine_uv.c — the engine's real ops (engine_uv.h): sessions are probe.c
 * state machines on the loop, lookups go to dns.c, the clock is uv_now,
 * and the engine's one wake-up is a uv_timer_t. It owns the loop's
 * looptime, which the sessions read to leave the loop's own stalls out of
 * a reply's wait.
 *
 * With MAILVET_TIMELINE=FILE in the environment it also writes one line a
 * second to FILE, to see where a run's time goes (README "Performance"):
 * what is open, resolving, waiting and done at that moment. */
#include "engine_uv.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "looptime.h"

struct engine_uv {
    uv_loop_t *loop;
    dns_resolver *dns;
    uv_timer_t timer;
    looptime lt;                 /* the loop's busy stretches, for the sessions' waits */
    engine *e;
    FILE *timeline;              /* MAILVET_TIMELINE, or NULL */
    uv_timer_t tick;             /* its one-second beat */
    uint64_t t0;
    int handles;                 /* open handles: freed at 0 */
};

#define TIMELINE_HEADER "t_s\tsessions\tresolving\tdns_inflight\tdns_waiting\tdns_asked" \
                        "\tadded\tfinished\tretries_waiting\thosts_starved\tconnections" \
                        "\tloop_busy_max_ms\n"

static void on_tick(uv_timer_t *t)
{
    engine_uv *u = t->data;
    engine_stats st;
    dns_stats ds;
    engine_get_stats(u->e, &st);
    dns_get_stats(u->dns, &ds);
    fprintf(u->timeline, "%.1f\t%llu\t%llu\t%d\t%zu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n",
            (double)(uv_now(u->loop) - u->t0) / 1000.0, (unsigned long long)st.sessions_active,
            (unsigned long long)st.resolving, ds.inflight, ds.waiting,
            (unsigned long long)ds.asked, (unsigned long long)st.added,
            (unsigned long long)st.finished, (unsigned long long)st.retries_waiting,
            (unsigned long long)st.hosts_starved, (unsigned long long)st.connections,
            (unsigned long long)looptime_take_max(&u->lt));
    fflush(u->timeline);
}

/* MAILVET_TIMELINE=FILE: the one-second timeline (appended: check and a
 * resumed clean add their runs). */
static void timeline_start(engine_uv *u)
{
    const char *path = getenv("MAILVET_TIMELINE");
    if (!path || !*path)
        return;
    if (!(u->timeline = fopen(path, "a"))) {
        fprintf(stderr, "mailvet: MAILVET_TIMELINE %s: cannot open it; no timeline\n", path);
        return;
    }
    fputs(TIMELINE_HEADER, u->timeline);
    u->t0 = uv_now(u->loop);
    uv_timer_init(u->loop, &u->tick);
    u->tick.data = u;
    u->handles++;
    uv_timer_start(&u->tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&u->tick);          /* never what keeps the loop running */
}

static void opts_from_cli(engine_opts *eo, const cli_opts *o)
{
    *eo = (engine_opts){
        .dns_only = o->level == LEVEL_DNS,
        .smtp_port = o->smtp_port,
        .concurrency = o->concurrency,
        .per_mx = o->per_mx,
        .per_domain = o->per_domain,
        .per_proxy = o->per_proxy,
        .per_provider = o->per_provider,
        .rcpt_per_session = o->rcpt_per_session,
        .nretries = o->nretries < ENGINE_MAX_RETRIES ? o->nretries : ENGINE_MAX_RETRIES,
        .routes = o->routes.n ? o->routes.e : NULL,
        .nroutes = o->routes.n,
    };
    for (int i = 0; i < eo->nretries; i++)
        eo->retry_delays[i] = o->retry_delays[i];
    probe_opts_init(&eo->probe, o, eo->helo, eo->from);
}

static void *op_session_start(void *ctx, const struct sockaddr *sa, const probe_opts *opts,
                              probe_rcpt *rcpts, size_t n, probe_done_cb done,
                              probe_trace_cb trace, void *ud)
{
    engine_uv *u = ctx;
    return probe_start(u->loop, sa, opts, rcpts, n, done, trace, ud);
}

static void op_session_cancel(void *ctx, void *session)
{
    (void)ctx;
    probe_cancel(session);
}

static void op_resolve(void *ctx, const char *domain, dns_cb cb, void *ud)
{
    engine_uv *u = ctx;
    dns_resolve_mail(u->dns, domain, cb, ud);
}

static uint64_t op_now(void *ctx)
{
    engine_uv *u = ctx;
    return uv_now(u->loop);
}

static double op_wall(void *ctx)
{
    (void)ctx;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void on_timer(uv_timer_t *t)
{
    engine_uv *u = t->data;
    engine_timer(u->e);
}

static void op_arm(void *ctx, uint64_t due_ms)
{
    engine_uv *u = ctx;
    if (due_ms == UINT64_MAX) {
        uv_timer_stop(&u->timer);
        return;
    }
    uint64_t now = uv_now(u->loop);
    uv_timer_start(&u->timer, on_timer, due_ms > now ? due_ms - now : 0, 0);
}

static const engine_ops live_ops = {op_session_start, op_session_cancel, op_resolve,
                                    op_now, op_wall, op_arm};

engine_uv *engine_uv_new(uv_loop_t *loop, const cli_opts *o, uint64_t catchall_seed,
                         const engine_events *ev, void *ud, char *err, size_t errlen)
{
    engine_uv *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->loop = loop;
    dns_opts dopts = {.servers = o->dns, .allow_private = o->allow_private_mx};
    if (!(u->dns = dns_new(loop, &dopts, err, errlen))) {
        free(u);
        return NULL;
    }
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
    looptime_start(&u->lt, loop);
    u->handles = 3;                          /* the timer and looptime's two */
    engine_opts eo;
    opts_from_cli(&eo, o);
    eo.probe.looptime = &u->lt;
    eo.catchall_seed = catchall_seed;
    if (!(u->e = engine_new(&eo, &live_ops, u, ev, ud))) {
        snprintf(err, errlen, "out of memory");
        engine_uv_close(u);
        return NULL;
    }
    timeline_start(u);
    return u;
}

engine *engine_uv_engine(engine_uv *u)
{
    return u->e;
}

static void on_timer_closed(uv_handle_t *h)
{
    engine_uv *u = h->data;
    if (--u->handles)
        return;
    if (u->timeline)
        fclose(u->timeline);
    engine_free(u->e);
    free(u);
}

/* The resolver is gone (its cancelled lookups have called back): now the
 * engine can go too. */
static void on_dns_closed(void *ud)
{
    engine_uv *u = ud;
    uv_timer_stop(&u->timer);
    uv_close((uv_handle_t *)&u->timer, on_timer_closed);
    looptime_close(&u->lt, on_timer_closed, u);
    if (u->timeline) {
        uv_timer_stop(&u->tick);
        uv_close((uv_handle_t *)&u->tick, on_timer_closed);
    }
}

void engine_uv_close(engine_uv *u)
{
    if (u->timeline && u->e)
        on_tick(&u->tick);                   /* the last moment, while the resolver lives */
    if (u->e)
        engine_cancel(u->e);                 /* nothing may start from late callbacks */
    dns_close(u->dns, on_dns_closed, u);
}

void engine_uv_warn_unreachable(uint64_t hosts, const char *prefix)
{
    fprintf(stderr, "%smailvet: warning: the first %llu mail servers tried all refused or timed "
            "out the connection: outbound port 25 is probably blocked here (many ISPs and "
            "clouds block it). Run `mailvet doctor` to check; use --proxy/--bind through a "
            "host that can reach port 25.\n", prefix, (unsigned long long)hosts);
}
