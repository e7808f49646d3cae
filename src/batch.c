/* batch.c — the network thread of `clean`: inbox → engine → state writer.
 *
 * Owns the thread, its libuv loop, the DNS resolver and the engine. The
 * feeder (the caller's thread) talks to it only through the mutex-guarded
 * inbox and counters, and wakes it with uv_async_send. The loop's tick
 * timer polls the interrupt flag and prints progress.
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

struct batch {
    const cli_opts *o;
    state_writer *w;
    size_t window;
    volatile sig_atomic_t *cancel;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    engine_item *in_head, *in_tail;
    size_t inflight;
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
    bool shutting_down, cancelled, failed, tty;
    uint64_t last_print, started_ms;
    uint64_t retries_used;
    char err[256];
};

/* ---- engine callbacks (loop thread) ---- */

static void on_done(void *ud, const engine_item *it, const result *r)
{
    batch *b = ud;
    state_put_result(b->w, it->row, it->domain, r);
    pthread_mutex_lock(&b->mu);
    b->inflight--;
    b->pr.rows_done++;
    b->pr.by_status[verdict_status_of(r->reason)]++;
    bool last = b->input_done && b->inflight == 0 && !b->wake_closed;
    pthread_cond_broadcast(&b->cv);
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

static const engine_events events = {on_done, on_wait, on_domain, on_fatal, NULL};

/* ---- shutting down (loop thread) ---- */

static void put_host(void *ud, const engine_host_info *h)
{
    batch *b = ud;
    if (h->blocks || h->timeouts)
        state_put_host(b->w, h->name, h->ip, h->sessions, h->timeouts, h->blocks, h->rcpt_cap,
                       h->last_code, h->last_enhanced, h->last_text);
}

static void print_route(void *ud, const engine_route_info *r)
{
    (void)ud;
    fprintf(stderr, "mailvet: route %s: %llu sessions, %llu route failures%s\n", r->label,
            (unsigned long long)r->sessions, (unsigned long long)r->failures,
            r->dead ? " (dropped)" : "");
}

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

static void print_progress(batch *b, bool final)
{
    pthread_mutex_lock(&b->mu);
    batch_progress p = b->pr;
    pthread_mutex_unlock(&b->mu);
    engine_stats st;
    engine_get_stats(b->eng, &st);
    double secs = (double)(uv_now(&b->loop) - b->started_ms) / 1000.0;
    double rate = secs > 0 ? (double)p.rows_done / secs : 0;
    /* total rows: known once read, else extrapolated from the bytes read */
    double total = p.bytes_read && p.bytes_total > p.bytes_read
                   ? (double)p.rows_read * (double)p.bytes_total / (double)p.bytes_read
                   : (double)p.rows_read;
    double pct = total > 0 ? 100.0 * (double)p.rows_done / total : 0;
    double eta = rate > 0 && total > (double)p.rows_done ? (total - (double)p.rows_done) / rate : 0;
    fprintf(stderr, "%s%llu/%.0f rows (%.1f%%) %.0f/s ETA %.0fs | ok %llu bad %llu risky %llu "
            "unknown %llu | conns %llu retries %llu%s",
            b->tty ? "\r\033[K" : "mailvet: ", (unsigned long long)p.rows_done, total, pct, rate,
            eta, (unsigned long long)p.by_status[0], (unsigned long long)p.by_status[1],
            (unsigned long long)p.by_status[2], (unsigned long long)p.by_status[3],
            (unsigned long long)st.sessions_active, (unsigned long long)st.retries_waiting,
            b->tty && !final ? "" : "\n");
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
}

/* ---- the inbox (loop thread side) ---- */

static void on_wake(uv_async_t *a)
{
    batch *b = a->data;
    if (b->shutting_down)
        return;
    pthread_mutex_lock(&b->mu);
    engine_item *it = b->in_head;
    b->in_head = b->in_tail = NULL;
    pthread_mutex_unlock(&b->mu);
    while (it) {
        engine_item *next = it->next;
        if (b->cancelled)
            engine_item_free(it);
        else
            engine_add(b->eng, it);
        it = next;
    }
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
    b->started_ms = b->last_print = uv_now(&b->loop);
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
    if (!b->cancelled && b->o->progress != PROGRESS_NEVER && b->tty)
        fputc('\n', stderr);
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

batch *batch_start(const cli_opts *o, state_writer *w, size_t window,
                   const batch_domain *known, size_t nknown, uint64_t catchall_seed,
                   volatile sig_atomic_t *cancel, char *err, size_t errlen)
{
    batch *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *b = (batch){.o = o, .w = w, .window = window ? window : 1, .cancel = cancel,
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
    while (b->inflight >= b->window && !b->stopping && !(b->cancel && *b->cancel))
        timed_wait(b);
    if (b->stopping || (b->cancel && *b->cancel)) {
        pthread_mutex_unlock(&b->mu);
        engine_item_free(it);
        return false;
    }
    it->next = NULL;
    bool was_empty = !b->in_head;     /* one wake-up per burst, not per item */
    if (b->in_tail)
        b->in_tail->next = it;
    else
        b->in_head = it;
    b->in_tail = it;
    b->inflight++;
    pthread_mutex_unlock(&b->mu);
    if (was_empty)
        wake(b);
    return true;
}

void batch_count(batch *b, const result *r, uint64_t rows_read, uint64_t bytes_read)
{
    pthread_mutex_lock(&b->mu);
    if (r) {
        b->pr.rows_done++;
        b->pr.by_status[verdict_status_of(r->reason)]++;
    }
    b->pr.rows_read = rows_read;
    b->pr.bytes_read = bytes_read;
    pthread_mutex_unlock(&b->mu);
}

void batch_set_total_bytes(batch *b, uint64_t bytes)
{
    pthread_mutex_lock(&b->mu);
    b->pr.bytes_total = bytes;
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
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
    return rc;
}
