/* batch.c — the network thread of `clean`: inbox → engine → state writer.
 *
 * Owns the thread, its libuv loop, the DNS resolver and the engine. The
 * feeder (the caller's thread) talks to it only through the mutex-guarded
 * inbox (items, and accept-all answers from the verdict cache, applied
 * before the items that came with them) and counters, and wakes it with
 * uv_async_send. Final verdicts go to the state writer and, with --cache,
 * to the cache writer. The loop's tick
 * timer polls the interrupt flag, prints progress and hands the hosts'
 * counts to the state writer.
 *
 * Progress counts rows of this run's INPUT (of its shard): a row is read
 * when the feeder has passed it (rows finished by earlier runs count as
 * read and done from the start), done when it has its verdict. Every done
 * row was read first, so done <= read <= total; the total is the rows
 * the feeder counted before it began (batch_set_rows_total) or, when it
 * could not (--shard: rows of other shards are not this run's), the rows
 * read plus an estimate of the rest from the bytes read, exact once the
 * input is read to the end.
 */
#include "batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "engine_uv.h"

#define TICK_MS 100
#define TTY_EVERY_MS 1000
#define LOG_EVERY_MS 10000
#define HOSTS_EVERY_MS 5000           /* host counts to the state: a kill -9 loses less */

/* An accept-all answer waiting in the inbox. */
typedef struct learn_node {
    struct learn_node *next;
    result_tri accept_all;
    char domain[];
} learn_node;

struct batch {
    const cli_opts *o;
    state_writer *w;
    cache_writer *cw;
    size_t window;
    volatile sig_atomic_t *cancel;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    engine_item *in_head, *in_tail;
    learn_node *learn_head, *learn_tail;
    size_t inflight;
    size_t inbox_n;                   /* items in the inbox */
    size_t domains_live;              /* the engine's, as of the last look */
    bool feeder_held;                 /* batch_add waits for room */
    bool input_done, stopping, stopped, started, wake_closed;
    int rc;
    batch_progress pr;
    /* the loop thread's own */
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    engine_uv *eu;
    engine *eng;                      /* eu's engine */
    const batch_domain *known;
    size_t nknown;
    uint64_t catchall_seed;
    bool shutting_down, cancelled, failed, tty, printed;
    uint64_t last_print, last_hosts, started_ms;
    uint64_t retries_used;
    char err[256];
};

/* ---- the window (under mu) ---- */

/* The feeder must wait: the window's rows, or its domains, are all out. */
static bool window_full(const batch *b)
{
    return b->inflight >= b->window || b->domains_live + b->inbox_n >= BATCH_DOMAINS_MAX;
}

/* The engine's domain count taken again; a held feeder is let go once a
 * sixteenth of both is free, not at every verdict: a wake-up a row (two
 * system calls and a thread switch each) was most of a company list's
 * futex time. */
static void window_release(batch *b)
{
    b->domains_live = engine_domains_live(b->eng);
    size_t rows = b->window / 16 ? b->window / 16 : 1;
    if (b->feeder_held && b->inflight + rows <= b->window &&
        b->domains_live + b->inbox_n + BATCH_DOMAINS_MAX / 16 <= BATCH_DOMAINS_MAX) {
        b->feeder_held = false;
        pthread_cond_broadcast(&b->cv);
    }
}

/* ---- engine callbacks (loop thread) ---- */

static void on_done(void *ud, const engine_item *it, const result *r)
{
    batch *b = ud;
    state_put_result(b->w, it->row, it->domain, r);
    cache_put_verdict(b->cw, it->domain, r);
    pthread_mutex_lock(&b->mu);
    b->inflight--;
    b->pr.rows_done++;
    b->pr.by_status[verdict_status_of(r->reason)]++;
    bool last = b->input_done && b->inflight == 0 && !b->wake_closed;
    window_release(b);                /* this one's domain leaves after */
    pthread_mutex_unlock(&b->mu);
    if (last)
        uv_async_send(&b->wake);
}

static void on_wait(void *ud, const engine_item *it, double due, const result *r)
{
    batch *b = ud;
    state_put_retry(b->w, it->row, due, it->temps, it->email, it->domain, r);
}

static void on_domain(void *ud, const char *domain, result_tri accept_all, const char *mx)
{
    batch *b = ud;
    state_put_domain(b->w, domain, accept_all, mx);
    cache_put_accept_all(b->cw, domain, accept_all);
}

/* Every route failed: stop like an interrupt, but as a runtime error. */
static void on_fatal(void *ud, const char *why)
{
    batch *b = ud;
    if (b->cancelled)
        return;
    fprintf(stderr, "%smailvet: %s; stopping — progress is saved: fix the routes and rerun "
            "the same command to resume\n", b->tty ? "\r\033[K" : "", why);
    b->failed = b->cancelled = true;
    engine_cancel(b->eng);
}

/* Port 25 looks blocked: say so at once (the engine sends this once). */
static void on_unreachable(void *ud, uint64_t hosts)
{
    batch *b = ud;
    engine_uv_warn_unreachable(hosts, b->tty ? "\r\033[K" : "");
}

static const engine_events events = {.done = on_done, .wait = on_wait, .domain = on_domain,
                                     .fatal = on_fatal, .unreachable = on_unreachable};

/* ---- shutting down (loop thread) ---- */

/* What a host did since the last call (the state adds it up): every host
 * tried is kept, so the unreachable ones are counted across a resume. */
static void put_host(void *ud, const engine_host_info *h)
{
    batch *b = ud;
    state_host sh = {.host = h->name, .ip = h->ip, .provider = h->provider,
                     .sessions = h->sessions, .timeouts = h->timeouts, .blocks = h->blocks,
                     .connects = h->connects, .rcpt_cap = h->rcpt_cap, .cleartext = h->cleartext,
                     .last_code = h->last_code, .last_enhanced = h->last_enhanced,
                     .last_text = h->last_text};
    state_put_host(b->w, &sh);
}

static void print_route(void *ud, const engine_route_info *r)
{
    (void)ud;
    fprintf(stderr, "mailvet: route %s: %llu sessions, %llu route failures%s\n", r->label,
            (unsigned long long)r->sessions, (unsigned long long)r->failures,
            r->dead ? " (dropped)" : "");
}

static void print_progress(batch *b, bool final);

/* Wake the loop, unless it is closing its async handle. */
static void wake(batch *b)
{
    pthread_mutex_lock(&b->mu);
    if (!b->wake_closed)
        uv_async_send(&b->wake);
    pthread_mutex_unlock(&b->mu);
}

/* Close every handle; the loop ends when they are closed. Waits (via the
 * tick) until no session is open, since sessions call back into the engine. */
static void shutdown_loop(batch *b)
{
    engine_stats st;
    engine_get_stats(b->eng, &st);
    if (st.sessions_active)
        return;                      /* the tick tries again */
    b->shutting_down = true;
    b->retries_used = st.retries_used;
    if (b->o->progress != PROGRESS_NEVER && (b->tty || b->printed))
        print_progress(b, true);     /* where it ended, on a line of its own */
    engine_each_host(b->eng, put_host, b);
    if (b->o->proxy || b->o->bind)
        engine_each_route(b->eng, print_route, b);
    engine_uv_close(b->eu);
    b->eu = NULL;
    b->eng = NULL;
    pthread_mutex_lock(&b->mu);
    b->wake_closed = true;
    pthread_mutex_unlock(&b->mu);
    uv_close((uv_handle_t *)&b->wake, NULL);
    uv_timer_stop(&b->tick);
    uv_close((uv_handle_t *)&b->tick, NULL);
}

static bool finished(batch *b)
{
    pthread_mutex_lock(&b->mu);
    bool f = b->input_done && b->inflight == 0;
    pthread_mutex_unlock(&b->mu);
    return f;
}

/* ---- progress ---- */

/* "42s", "5m12s", "3h05m" */
static const char *duration(char buf[24], double secs)
{
    uint64_t t = secs > 0 ? (uint64_t)(secs + 0.5) : 0;
    if (t < 60)
        snprintf(buf, 24, "%llus", (unsigned long long)t);
    else if (t < 3600)
        snprintf(buf, 24, "%llum%02llus", (unsigned long long)(t / 60),
                 (unsigned long long)(t % 60));
    else
        snprintf(buf, 24, "%lluh%02llum", (unsigned long long)(t / 3600),
                 (unsigned long long)(t % 3600 / 60));
    return buf;
}

/* The total: the rows counted, when they were; else exact once the input
 * is read to the end, and before that the rows read, or more when the
 * bytes read say more are coming (never less). */
static uint64_t progress_total(const batch_progress *p, bool input_done, bool *estimated)
{
    *estimated = !input_done && !p->rows_total;
    if (p->rows_total)
        return p->rows_total > p->rows_read ? p->rows_total : p->rows_read;
    if (input_done || !p->bytes_read || p->bytes_total <= p->bytes_read)
        return p->rows_read;
    double fresh = (double)(p->rows_read - p->rows_before);   /* read by this run */
    double est = (double)p->rows_before + fresh * (double)p->bytes_total / (double)p->bytes_read;
    return est > (double)p->rows_read ? (uint64_t)est : p->rows_read;
}

/* One progress line. When every unfinished row waits in the retry queue it
 * says so, and the ETA counts the wait for the next one. */
static void print_progress(batch *b, bool final)
{
    pthread_mutex_lock(&b->mu);
    batch_progress p = b->pr;
    bool input_done = b->input_done;
    uint64_t inflight = b->inflight;
    pthread_mutex_unlock(&b->mu);
    engine_stats st;
    engine_get_stats(b->eng, &st);
    uint64_t waiting, next_due, now = uv_now(&b->loop);
    engine_waiting(b->eng, &waiting, &next_due);
    double secs = (double)(now - b->started_ms) / 1000.0;
    double rate = secs > 0 ? (double)(p.rows_done - p.rows_before) / secs : 0;
    bool est;
    uint64_t total = progress_total(&p, input_done, &est);
    double wait = waiting && next_due > now ? (double)(next_due - now) / 1000.0 : 0;
    double eta = rate > 0 ? (double)(total - p.rows_done) / rate : 0;
    bool only_retries = input_done && waiting && waiting >= inflight;
    if (only_retries)
        eta = wait + (rate > 0 ? (double)waiting / rate : 0);
    else if (eta < wait)
        eta = wait;
    char head[128], mid[160], e1[24], e2[24];
    snprintf(head, sizeof head, "%llu/%s%llu rows (%.1f%%)", (unsigned long long)p.rows_done,
             est ? "~" : "", (unsigned long long)total,
             total ? 100.0 * (double)p.rows_done / (double)total : 100.0);
    if (only_retries)
        snprintf(mid, sizeof mid, "%llu row%s waiting for greylisting retries, next in %s, ETA %s",
                 (unsigned long long)waiting, waiting == 1 ? "" : "s", duration(e1, wait),
                 duration(e2, eta));
    else
        snprintf(mid, sizeof mid, "%.0f/s ETA %s", rate, duration(e1, eta));
    fprintf(stderr, "%s%s %s | ok %llu bad %llu risky %llu unknown %llu | conns %llu "
            "retries %llu%s", b->tty ? "\r\033[K" : "mailvet: ", head, mid,
            (unsigned long long)p.by_status[0], (unsigned long long)p.by_status[1],
            (unsigned long long)p.by_status[2], (unsigned long long)p.by_status[3],
            (unsigned long long)st.sessions_active, (unsigned long long)st.retries_waiting,
            b->tty && !final ? "" : "\n");
    b->printed = true;
}

static void on_tick(uv_timer_t *t)
{
    batch *b = t->data;
    if (b->shutting_down)
        return;
    if (!b->cancelled && b->cancel && *b->cancel) {
        b->cancelled = true;
        engine_cancel(b->eng);
    }
    if (b->cancelled || finished(b)) {
        shutdown_loop(b);
        return;
    }
    uint64_t now = uv_now(&b->loop), every = b->tty ? TTY_EVERY_MS : LOG_EVERY_MS;
    bool want = b->o->progress != PROGRESS_NEVER;
    if (want && now - b->last_print >= every) {
        b->last_print = now;
        print_progress(b, false);
    }
    pthread_mutex_lock(&b->mu);       /* domains left since: the feeder may go on */
    window_release(b);
    pthread_mutex_unlock(&b->mu);
    if (now - b->last_hosts >= HOSTS_EVERY_MS) {
        b->last_hosts = now;
        engine_each_host(b->eng, put_host, b);
    } else {
        engine_retire_hosts(b->eng, put_host, b);   /* a company list's hosts go with their domains */
    }
}

/* ---- the inbox (loop thread side) ---- */

static void on_wake(uv_async_t *a)
{
    batch *b = a->data;
    if (b->shutting_down)
        return;
    pthread_mutex_lock(&b->mu);
    engine_item *it = b->in_head;
    learn_node *ln = b->learn_head;
    bool all_in = b->input_done;      /* and these are the last items */
    size_t taken = b->inbox_n;        /* still counted until the engine has them */
    b->in_head = b->in_tail = NULL;
    b->learn_head = b->learn_tail = NULL;
    pthread_mutex_unlock(&b->mu);
    engine_hold(b->eng);              /* the burst fills sessions together */
    while (ln) {                      /* before the items queued after them */
        learn_node *next = ln->next;
        if (!b->cancelled)
            engine_learn_domain(b->eng, ln->domain, ln->accept_all);
        free(ln);
        ln = next;
    }
    while (it) {
        engine_item *next = it->next;
        if (b->cancelled)
            engine_item_free(it);
        else
            engine_add(b->eng, it);
        it = next;
    }
    if (all_in && !b->cancelled)
        engine_input_done(b->eng);    /* before the release: its sessions may share */
    engine_release(b->eng);
    pthread_mutex_lock(&b->mu);
    b->inbox_n -= taken;
    window_release(b);
    pthread_mutex_unlock(&b->mu);
    if (!b->cancelled && finished(b))
        shutdown_loop(b);
}

static bool loop_init(batch *b)
{
    if (uv_loop_init(&b->loop) != 0) {
        snprintf(b->err, sizeof b->err, "cannot start the event loop");
        return false;
    }
    if (!(b->eu = engine_uv_new(&b->loop, b->o, b->catchall_seed, &events, b, b->err,
                                sizeof b->err))) {
        uv_run(&b->loop, UV_RUN_DEFAULT);
        uv_loop_close(&b->loop);
        return false;
    }
    b->eng = engine_uv_engine(b->eu);
    for (size_t i = 0; i < b->nknown; i++)
        engine_learn_domain(b->eng, b->known[i].name, b->known[i].accept_all);
    uv_async_init(&b->loop, &b->wake, on_wake);
    b->wake.data = b;
    uv_timer_init(&b->loop, &b->tick);
    b->tick.data = b;
    uv_timer_start(&b->tick, on_tick, TICK_MS, TICK_MS);
    b->started_ms = b->last_print = b->last_hosts = uv_now(&b->loop);
    return true;
}

static void *batch_thread(void *arg)
{
    batch *b = arg;
    bool ok = loop_init(b);
    pthread_mutex_lock(&b->mu);
    b->started = true;
    b->rc = ok ? 0 : EXIT_USAGE;
    b->stopping = !ok;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (!ok)
        return NULL;
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_loop_close(&b->loop);
    pthread_mutex_lock(&b->mu);
    b->stopped = true;
    b->stopping = true;
    if (b->cancelled)
        b->rc = b->failed ? EXIT_RUNTIME : EXIT_INTERRUPTED;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* ---- the feeder's side ---- */

batch *batch_start(const cli_opts *o, state_writer *w, cache_writer *cw, size_t window,
                   const batch_domain *known, size_t nknown, uint64_t catchall_seed,
                   volatile sig_atomic_t *cancel, char *err, size_t errlen)
{
    batch *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *b = (batch){.o = o, .w = w, .cw = cw, .window = window ? window : 1, .cancel = cancel,
                 .known = known, .nknown = nknown, .catchall_seed = catchall_seed, .tty = o->progress == PROGRESS_ALWAYS || isatty(2)};
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->thread, NULL, batch_thread, b) != 0) {
        snprintf(err, errlen, "cannot start the network thread");
        free(b);
        return NULL;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->started)
        pthread_cond_wait(&b->cv, &b->mu);
    int rc = b->rc;
    pthread_mutex_unlock(&b->mu);
    if (rc) {
        snprintf(err, errlen, "%s", b->err);
        pthread_join(b->thread, NULL);
        free(b);
        return NULL;
    }
    return b;
}

static void timed_wait(batch *b)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += TICK_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&b->cv, &b->mu, &ts);
}

bool batch_add(batch *b, engine_item *it)
{
    pthread_mutex_lock(&b->mu);
    while (window_full(b) && !b->stopping && !(b->cancel && *b->cancel)) {
        b->feeder_held = true;
        timed_wait(b);
    }
    b->feeder_held = false;
    if (b->stopping || (b->cancel && *b->cancel)) {
        pthread_mutex_unlock(&b->mu);
        engine_item_free(it);
        return false;
    }
    it->next = NULL;
    b->pr.rows_read++;                /* before its verdict can count it done */
    bool was_empty = !b->in_head;     /* one wake-up per burst, not per item */
    if (b->in_tail)
        b->in_tail->next = it;
    else
        b->in_head = it;
    b->in_tail = it;
    b->inflight++;
    b->inbox_n++;
    pthread_mutex_unlock(&b->mu);
    if (was_empty)
        wake(b);
    return true;
}

void batch_learn(batch *b, const char *domain, result_tri accept_all)
{
    size_t len = strlen(domain) + 1;
    learn_node *ln = malloc(sizeof *ln + len);
    if (!ln)
        return;                       /* the engine asks the catch-all probe itself */
    ln->next = NULL;
    ln->accept_all = accept_all;
    memcpy(ln->domain, domain, len);
    pthread_mutex_lock(&b->mu);
    if (b->learn_tail)
        b->learn_tail->next = ln;
    else
        b->learn_head = ln;
    b->learn_tail = ln;
    pthread_mutex_unlock(&b->mu);
}

void batch_seed(batch *b, uint64_t rows, const uint64_t by_status[4])
{
    pthread_mutex_lock(&b->mu);
    b->pr.rows_before += rows;
    b->pr.rows_read += rows;
    b->pr.rows_done += rows;
    for (int s = 0; s < 4; s++)
        b->pr.by_status[s] += by_status[s];
    pthread_mutex_unlock(&b->mu);
}

void batch_count(batch *b, const result *r)
{
    pthread_mutex_lock(&b->mu);
    b->pr.rows_read++;
    b->pr.rows_done++;
    if (r)
        b->pr.by_status[verdict_status_of(r->reason)]++;
    pthread_mutex_unlock(&b->mu);
}

void batch_set_bytes(batch *b, uint64_t bytes_read, uint64_t bytes_total)
{
    pthread_mutex_lock(&b->mu);
    b->pr.bytes_read = bytes_read;
    if (bytes_total)
        b->pr.bytes_total = bytes_total;
    pthread_mutex_unlock(&b->mu);
}

void batch_set_rows_total(batch *b, uint64_t rows)
{
    pthread_mutex_lock(&b->mu);
    b->pr.rows_total = rows;
    pthread_mutex_unlock(&b->mu);
}

int batch_finish(batch *b, uint64_t *retries_used)
{
    pthread_mutex_lock(&b->mu);
    b->input_done = true;
    pthread_mutex_unlock(&b->mu);
    wake(b);
    pthread_join(b->thread, NULL);
    int rc = b->rc;
    if (retries_used)
        *retries_used = b->retries_used;
    engine_item *it = b->in_head;
    while (it) {                      /* left in the inbox by an interrupt */
        engine_item *next = it->next;
        engine_item_free(it);
        it = next;
    }
    for (learn_node *ln = b->learn_head, *next; ln; ln = next) {
        next = ln->next;
        free(ln);
    }
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
    return rc;
}
