/* cache_writer.c — the verdict cache's writer thread (cache_writer_start,
 * cache_put_*, cache_writer_stop).
 *
 * Producers (the network thread, or check's loop) queue records without
 * waiting for SQLite; the thread writes them in one transaction every
 * COMMIT_NS (or sooner when the queue fills), on its own connection. Two
 * buffers: producers fill one under the lock while the thread writes the
 * other, so a put is one short critical section; a put waits while the
 * buffer it would fill is full, which bounds memory.
 *
 * A transaction that fails (another program held the file longer than
 * BUSY_MS, disk full) loses only its records: a warning names the file
 * once, the count is given at the end, and the run goes on — the cache
 * saves probes, it never holds verdicts the state file does not have.
 *
 * Ownership: the writer from cache_writer_start() is freed by
 * cache_writer_stop(); put calls copy what they are given.
 */
#include "cache.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_policy.h"
#include "str.h"

#define QUEUE_RECS 1024             /* records per buffer (two buffers) */
#define COMMIT_NS 500000000LL       /* a transaction at least this often */
#define BUSY_MS 10000               /* waiting for another run's transaction */

typedef enum wtype { W_VERDICT, W_FORGET, W_FACT } wtype;

typedef struct wrec {
    wtype type;
    verdict_reason reason;
    result_tri accept_all;
    cache_fact fact;
    int smtp_code, attempts;
    int64_t at;
    char key[ADDR_BUF];             /* mailvet_email, or the domain of a fact */
    char mx[256], enhanced[16], text[RESULT_SMTP_TEXT_MAX + 1], mx_ip[RESULT_IP_MAX + 1];
} wrec;

typedef struct wbuf {
    wrec *r;
    size_t n;
} wbuf;

enum { ST_VERDICT, ST_FORGET, ST_FACT, ST_COUNT };

static const char *const writer_sql[ST_COUNT] = {
    /* a newer answer replaces an older one, never the reverse */
    [ST_VERDICT] = "INSERT INTO mailboxes VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
                   " ON CONFLICT(email) DO UPDATE SET reason = excluded.reason,"
                   " accept_all = excluded.accept_all, mx = excluded.mx,"
                   " smtp_code = excluded.smtp_code, smtp_enhanced = excluded.smtp_enhanced,"
                   " smtp_text = excluded.smtp_text, mx_ip = excluded.mx_ip,"
                   " attempts = excluded.attempts, checked_at = excluded.checked_at,"
                   " batch = excluded.batch WHERE excluded.checked_at >= mailboxes.checked_at",
    [ST_FORGET] = "DELETE FROM mailboxes WHERE email = ?1 AND checked_at <= ?2",
    [ST_FACT] = "INSERT INTO domains VALUES(?1,?2,?3,?4) ON CONFLICT(domain) DO UPDATE SET"
                " fact = excluded.fact, checked_at = excluded.checked_at, batch = excluded.batch"
                " WHERE excluded.checked_at >= domains.checked_at",
};

struct cache_writer {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    cache_run run;
    char path[PATH_MAX];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t has_work, not_full;
    wbuf b[2], *fill, *spare;
    bool stop, warned;
    uint64_t lost;                  /* records not written */
    char why[256];                  /* the first failure */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- producer side ---- */

/* A record slot in the buffer being filled (the lock held), or NULL when
 * the writer stops. */
static wrec *put_begin(cache_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->stop && w->fill->n >= QUEUE_RECS)
        pthread_cond_wait(&w->not_full, &w->mu);
    if (w->stop) {
        pthread_mutex_unlock(&w->mu);
        return NULL;
    }
    wrec *x = &w->fill->r[w->fill->n++];
    memset(x, 0, offsetof(wrec, key));
    x->key[0] = x->mx[0] = x->enhanced[0] = x->text[0] = x->mx_ip[0] = '\0';
    return x;
}

static void put_end(cache_writer *w)
{
    if (w->fill->n == 1 || w->fill->n == QUEUE_RECS / 2)
        pthread_cond_signal(&w->has_work);
    pthread_mutex_unlock(&w->mu);
}

static void put_fact(cache_writer *w, const char *domain, cache_fact fact, int64_t at)
{
    wrec *x = put_begin(w);
    if (!x)
        return;
    x->type = W_FACT;
    x->fact = fact;
    x->at = at;
    str_copy(x->key, sizeof x->key, domain);
    put_end(w);
}

void cache_put_verdict(cache_writer *w, const char *domain, const result *r)
{
    if (!w || !r->email[0] || strcmp(r->route, "cache") == 0)
        return;
    bool keep = cache_keeps(r->reason, w->run.smtp);
    if (!keep && !cache_forgets(r->reason))
        return;
    int64_t at = r->checked_at > 0 ? r->checked_at : (int64_t)time(NULL);
    wrec *x = put_begin(w);
    if (!x)
        return;
    x->type = keep ? W_VERDICT : W_FORGET;
    x->reason = r->reason;
    x->accept_all = r->accept_all;
    x->smtp_code = r->smtp_code;
    x->attempts = r->attempts;
    x->at = at;
    str_copy(x->key, sizeof x->key, r->email);
    str_copy(x->mx, sizeof x->mx, r->mx);
    str_copy(x->enhanced, sizeof x->enhanced, r->smtp_enhanced);
    str_copy(x->text, sizeof x->text, r->smtp_text);
    str_copy(x->mx_ip, sizeof x->mx_ip, r->mx_ip);
    put_end(w);
    cache_fact f = keep ? cache_fact_of_reason(r->reason) : CACHE_FACT_NONE;
    if (f != CACHE_FACT_NONE && domain && *domain)
        put_fact(w, domain, f, at);
}

void cache_put_accept_all(cache_writer *w, const char *domain, result_tri accept_all)
{
    if (!w || accept_all == TRI_UNSET || !w->run.smtp || !domain || !*domain)
        return;
    put_fact(w, domain, accept_all == TRI_TRUE ? CACHE_FACT_ACCEPT_ALL : CACHE_FACT_NOT_ACCEPT_ALL,
             (int64_t)time(NULL));
}

/* ---- writer thread side ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int write_rec(cache_writer *w, const wrec *x)
{
    sqlite3_stmt *st = w->st[x->type == W_VERDICT ? ST_VERDICT : x->type == W_FORGET ? ST_FORGET
                                                                                      : ST_FACT];
    bind_text(st, 1, x->key);
    if (x->type == W_FORGET) {
        sqlite3_bind_int64(st, 2, x->at);
        return step(st);
    }
    if (x->type == W_FACT) {
        bind_text(st, 2, cache_fact_name(x->fact));
        sqlite3_bind_int64(st, 3, x->at);
        sqlite3_bind_int64(st, 4, w->run.batch);
        return step(st);
    }
    bind_text(st, 2, verdict_reason_name(x->reason));
    if (x->accept_all == TRI_UNSET)
        sqlite3_bind_null(st, 3);
    else
        sqlite3_bind_int(st, 3, x->accept_all == TRI_TRUE);
    bind_text(st, 4, x->mx);
    if (x->smtp_code)
        sqlite3_bind_int(st, 5, x->smtp_code);
    else
        sqlite3_bind_null(st, 5);
    bind_text(st, 6, x->enhanced);
    bind_text(st, 7, x->text);
    bind_text(st, 8, x->mx_ip);
    sqlite3_bind_int(st, 9, x->attempts);
    sqlite3_bind_int64(st, 10, x->at);
    sqlite3_bind_int64(st, 11, w->run.batch);
    return step(st);
}

/* B's records in one transaction; on failure they are counted lost and
 * the first failure is said once. */
static void write_buf(cache_writer *w, const wbuf *b)
{
    int rc = sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < b->n; i++)
        rc = write_rec(w, &b->r[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return;
    const char *msg = sqlite3_errmsg(w->db);
    if (!sqlite3_get_autocommit(w->db))
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    w->lost += b->n;
    if (w->warned)
        return;
    w->warned = true;
    str_copy(w->why, sizeof w->why, msg);
    fprintf(stderr, "mailvet: warning: cannot write the verdict cache %s (%s); the verdicts "
            "are kept in the state file and OUTPUT, only not cached\n", w->path, w->why);
}

/* Wait until the buffer being filled is worth a transaction: half full,
 * or COMMIT_NS after the last one, or stop. Returns it, swapped out. */
static wbuf *take_buf(cache_writer *w, int64_t due, bool *stop)
{
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->stop || w->fill->n >= QUEUE_RECS / 2 || (w->fill->n && now_ns() >= due))
            break;
        if (!w->fill->n) {
            pthread_cond_wait(&w->has_work, &w->mu);
            continue;
        }
        struct timespec ts = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
        pthread_cond_timedwait(&w->has_work, &w->mu, &ts);
    }
    wbuf *b = w->fill;
    w->fill = w->spare;
    w->spare = b;
    *stop = w->stop;
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->mu);
    return b;
}

static void *writer_main(void *arg)
{
    cache_writer *w = arg;
    bool stop = false;
    int64_t due = now_ns() + COMMIT_NS;
    while (!stop) {
        wbuf *b = take_buf(w, due, &stop);
        if (b->n)
            write_buf(w, b);
        b->n = 0;
        due = now_ns() + COMMIT_NS;
    }
    return NULL;
}

static void writer_free(cache_writer *w)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    sqlite3_close_v2(w->db);
    free(w->b[0].r);
    free(w->b[1].r);
    free(w);
}

static int writer_open(cache_writer *w, char *err, size_t errlen)
{
    int rc = sqlite3_open_v2(w->path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(w->db, BUSY_MS);
        rc = sqlite3_exec(w->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    }
    for (int i = 0; rc == SQLITE_OK && i < ST_COUNT; i++)
        rc = sqlite3_prepare_v3(w->db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &w->st[i],
                                NULL);
    if (rc != SQLITE_OK)
        snprintf(err, errlen, "%s: %s", w->path, w->db ? sqlite3_errmsg(w->db) : sqlite3_errstr(rc));
    return rc == SQLITE_OK ? 0 : -1;
}

cache_writer *cache_writer_start(const cache *c, const cache_run *run, char *err, size_t errlen)
{
    cache_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->run = *run;
    str_copy(w->path, sizeof w->path, cache_path(c));
    w->b[0].r = malloc(QUEUE_RECS * sizeof(wrec));
    w->b[1].r = malloc(QUEUE_RECS * sizeof(wrec));
    if (!w->b[0].r || !w->b[1].r) {
        snprintf(err, errlen, "out of memory");
        writer_free(w);
        return NULL;
    }
    if (writer_open(w, err, errlen) != 0) {
        writer_free(w);
        return NULL;
    }
    w->fill = &w->b[0];
    w->spare = &w->b[1];
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->has_work, &ca);
    pthread_cond_init(&w->not_full, NULL);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0) {
        snprintf(err, errlen, "cannot start the cache writer: %s", strerror(e));
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->has_work);
        pthread_cond_destroy(&w->not_full);
        writer_free(w);
        return NULL;
    }
    return w;
}

uint64_t cache_writer_stop(cache_writer *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->has_work);
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    uint64_t lost = w->lost;
    if (lost)
        fprintf(stderr, "mailvet: warning: %llu records of this run were not written to the "
                "verdict cache %s (%s)\n", (unsigned long long)lost, w->path, w->why);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->has_work);
    pthread_cond_destroy(&w->not_full);
    writer_free(w);
    return lost;
}
