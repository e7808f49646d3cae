/* state_writer.c — the batched writer thread (state_writer_start,
 * state_put_*, state_writer_stop).
 *
 * Producers (the network thread) put records without waiting for SQLite;
 * the writer thread applies them in one open transaction, committed a few
 * times a second and on stop, so a killed run loses at most the last
 * moment and a resumed one picks up from the last commit. While it runs it
 * owns the state's connection. Ownership: the writer from
 * state_writer_start() is freed by state_writer_stop(); put calls copy
 * every string they are given.
 */
#include "state_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define META_KEY_MAX 256
#define META_VALUE_MAX (64u << 10)
#define QUEUE_RECS 8192            /* records per writer batch (two batches) */
#define WAKE_RECS 1024             /* records that wake the writer before its commit time */
#define QUEUE_TEXT (2u << 20)      /* string bytes per writer batch */
#define COMMIT_NS 500000000LL      /* commit at least this often (SPEC: 1 s) */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the writer thread ----
 *
 * Two batches: producers append to `fill` under the lock; the thread swaps
 * it with its empty `spare` and writes the full one without the lock, so a
 * put costs one short critical section. A batch holds at most QUEUE_RECS
 * records and QUEUE_TEXT string bytes; puts wait while it is full. Records
 * are applied inside one open transaction, committed every COMMIT_NS and
 * on stop. */

typedef enum rec_type { REC_RESULT, REC_RETRY, REC_DOMAIN, REC_HOST, REC_META, REC_DUP } rec_type;

/* String slots of a record (their meaning depends on the type). */
enum { SL_EMAIL, SL_DOMAIN, SL_DYM, SL_MX, SL_ENH, SL_TEXT, SL_MX_IP, SL_ROUTE, SL_COUNT };
#define SL_HOST SL_EMAIL
#define SL_IP SL_DOMAIN
#define SL_PROVIDER SL_MX
#define SL_KEY SL_EMAIL
#define SL_VALUE SL_DOMAIN

/* Integer slots. */
enum { IN_REASON, IN_RISK, IN_ROLE, IN_FREE, IN_DISPOSABLE, IN_ACCEPT_ALL, IN_CODE,
       IN_ATTEMPTS, IN_ANSWERS, IN_DUPLICATE, IN_COUNT };
#define IN_SESSIONS IN_RISK
#define IN_TIMEOUTS IN_ROLE
#define IN_BLOCKS IN_FREE
#define IN_RCPT_CAP IN_DISPOSABLE
#define IN_CONNECTS IN_ANSWERS
#define IN_CLEARTEXT IN_DUPLICATE

typedef struct rec {
    rec_type type;
    int64_t row;
    int64_t first;                           /* REC_DUP: the mailbox's first row */
    int64_t at;                              /* REC_RESULT: checked_at (0: unset) */
    double due;
    int n[IN_COUNT];
    uint32_t off[SL_COUNT], len[SL_COUNT];   /* into the batch's text */
} rec;

typedef struct batch {
    rec *recs;
    size_t n;
    char *text;
    size_t text_len;
} batch;

enum { ST_RESULT, ST_DEL_RETRY, ST_RETRY, ST_DOMAIN, ST_HOST, ST_META, ST_DUP, ST_COUNT };

static const char *const writer_sql[ST_COUNT] = {
    [ST_RESULT] = "INSERT OR REPLACE INTO results(row, email, domain, status, reason, risk,"
                  " did_you_mean, role, free, disposable, accept_all, mx, smtp_code,"
                  " smtp_enhanced, smtp_text, attempts, duplicate, mx_ip, checked_at, route)"
                  " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_DEL_RETRY] = "DELETE FROM retries WHERE row = ?",
    [ST_RETRY] = "INSERT OR REPLACE INTO retries(row, due, attempts, email, domain, reason,"
                 " smtp_code, smtp_enhanced, smtp_text, mx, answers) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    /* what was learned stays learned: an unset value does not erase it */
    [ST_DOMAIN] = "INSERT INTO domains VALUES(?1, ?2, ?3) ON CONFLICT(domain) DO UPDATE SET"
                  " accept_all = coalesce(excluded.accept_all, accept_all),"
                  " mx = CASE WHEN excluded.mx <> '' THEN excluded.mx ELSE mx END",
    /* counts add up over the runs of a batch; the latest reply wins */
    [ST_HOST] = "INSERT INTO hosts(host, ip, sessions, timeouts, blocks, rcpt_cap, last_code,"
                " last_enhanced, last_text, connects, provider, cleartext)"
                " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
                " ON CONFLICT(host) DO UPDATE SET ip = excluded.ip, provider = excluded.provider,"
                " cleartext = max(coalesce(cleartext, 0), excluded.cleartext),"
                " sessions = coalesce(sessions, 0) + excluded.sessions,"
                " timeouts = coalesce(timeouts, 0) + excluded.timeouts,"
                " blocks = coalesce(blocks, 0) + excluded.blocks,"
                " connects = coalesce(connects, 0) + excluded.connects,"
                " rcpt_cap = CASE WHEN excluded.rcpt_cap > 0 THEN excluded.rcpt_cap ELSE rcpt_cap END,"
                " last_code = coalesce(excluded.last_code, last_code),"
                " last_enhanced = CASE WHEN excluded.last_code IS NOT NULL"
                "   THEN excluded.last_enhanced ELSE last_enhanced END,"
                " last_text = CASE WHEN excluded.last_code IS NOT NULL"
                "   THEN excluded.last_text ELSE last_text END",
    [ST_META] = "INSERT OR REPLACE INTO meta VALUES(?, ?)",
    [ST_DUP] = "INSERT OR REPLACE INTO dups VALUES(?, ?, ?, ?, ?)",
};

struct state_writer {
    state *s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t has_work, not_full;
    batch b[2], *fill, *spare;
    bool stop, failed;
    /* Rows with a retry stored, one bit a row (NULL when out of memory: every
     * finished row then deletes, as it must). A finished row deletes its
     * retry only when it has one: world-1's 90,000 rows that never waited
     * spared a DELETE each, 2.3% of the run's CPU samples. */
    uint8_t *retry_bits;
    size_t retry_bytes;
    bool idle;                   /* the thread waits for a first record, with no deadline */
    sqlite3_stmt *st[ST_COUNT];
    char errmsg[512];            /* the first failure */
};

/* ---- producer side ---- */

/* Wait until a record with NEED string bytes fits; false = drop it. */
static bool put_begin(state_writer *w, size_t need)
{
    if (!w)
        return false;
    pthread_mutex_lock(&w->mu);
    while (!w->failed && !w->stop &&
           (w->fill->n >= QUEUE_RECS || w->fill->text_len + need > QUEUE_TEXT)) {
        pthread_cond_signal(&w->has_work);   /* full before WAKE_RECS: long texts */
        pthread_cond_wait(&w->not_full, &w->mu);
    }
    if (w->failed || w->stop) {
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    return true;
}

static void put_end(state_writer *w)
{
    if ((w->idle && w->fill->n == 1) || w->fill->n == WAKE_RECS)
        pthread_cond_signal(&w->has_work);
    pthread_mutex_unlock(&w->mu);
}

static rec *put_rec(state_writer *w, rec_type type)
{
    rec *r = &w->fill->recs[w->fill->n++];
    memset(r, 0, sizeof *r);
    r->type = type;
    return r;
}

static void put_str(state_writer *w, rec *r, int slot, const char *s, size_t len)
{
    batch *b = w->fill;
    memcpy(b->text + b->text_len, s, len);
    r->off[slot] = (uint32_t)b->text_len;
    r->len[slot] = (uint32_t)len;
    b->text_len += len;
}

static size_t slen(const char *s, size_t cap)
{
    return s ? strnlen(s, cap - 1) : 0;
}

/* Strings of a record, measured (bounded) before the lock is taken. */
typedef struct strs {
    const char *p[SL_COUNT];
    size_t len[SL_COUNT];
    size_t total;
} strs;

static void strs_set(strs *v, int slot, const char *s, size_t cap)
{
    v->p[slot] = s ? s : "";
    v->len[slot] = slen(s, cap);
    v->total += v->len[slot];
}

static void put_strs(state_writer *w, rec *r, const strs *v)
{
    for (int i = 0; i < SL_COUNT; i++)
        if (v->p[i])
            put_str(w, r, i, v->p[i], v->len[i]);
}

static void put_reply(strs *v, const result *r)
{
    strs_set(v, SL_MX, r->mx, sizeof r->mx);
    strs_set(v, SL_ENH, r->smtp_enhanced, sizeof r->smtp_enhanced);
    strs_set(v, SL_TEXT, r->smtp_text, sizeof r->smtp_text);
}

void state_put_result(state_writer *w, uint64_t row, const char *domain, const result *r)
{
    strs v = {0};
    put_reply(&v, r);
    strs_set(&v, SL_EMAIL, r->email, sizeof r->email);
    strs_set(&v, SL_DOMAIN, domain, ADDR_BUF);
    strs_set(&v, SL_DYM, r->did_you_mean, sizeof r->did_you_mean);
    strs_set(&v, SL_MX_IP, r->mx_ip, sizeof r->mx_ip);
    strs_set(&v, SL_ROUTE, r->route, sizeof r->route);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_RESULT);
    x->row = (int64_t)row;
    x->at = r->checked_at;
    int n[IN_COUNT] = {[IN_REASON] = (int)r->reason, [IN_RISK] = r->risk, [IN_ROLE] = r->role,
                       [IN_FREE] = r->free, [IN_DISPOSABLE] = r->disposable,
                       [IN_ACCEPT_ALL] = r->accept_all, [IN_CODE] = r->smtp_code,
                       [IN_ATTEMPTS] = r->attempts, [IN_DUPLICATE] = r->duplicate};
    memcpy(x->n, n, sizeof n);
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_dup(state_writer *w, uint64_t row, uint64_t first, const char *domain,
                   const result *own)
{
    strs v = {0};
    strs_set(&v, SL_EMAIL, own->email, sizeof own->email);
    strs_set(&v, SL_DOMAIN, domain, ADDR_BUF);
    strs_set(&v, SL_DYM, own->did_you_mean, sizeof own->did_you_mean);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_DUP);
    x->row = (int64_t)row;
    x->first = (int64_t)first;
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_retry(state_writer *w, uint64_t row, double due, int attempts, const char *email,
                     const char *domain, const result *last)
{
    strs v = {0};
    put_reply(&v, last);
    strs_set(&v, SL_EMAIL, email, ADDR_BUF);
    strs_set(&v, SL_DOMAIN, domain, ADDR_BUF);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_RETRY);
    x->row = (int64_t)row;
    x->due = due;
    x->n[IN_REASON] = last->reason;
    x->n[IN_CODE] = last->smtp_code;
    x->n[IN_ATTEMPTS] = attempts;
    x->n[IN_ANSWERS] = last->attempts;
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_domain(state_writer *w, const char *domain, result_tri accept_all, const char *mx)
{
    strs v = {0};
    strs_set(&v, SL_DOMAIN, domain, ADDR_BUF);
    strs_set(&v, SL_MX, mx, 256);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_DOMAIN);
    x->n[IN_ACCEPT_ALL] = accept_all;
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_host(state_writer *w, const state_host *h)
{
    strs v = {0};
    strs_set(&v, SL_HOST, h->host, 256);
    strs_set(&v, SL_IP, h->ip, 64);
    strs_set(&v, SL_PROVIDER, h->provider, 256);
    strs_set(&v, SL_ENH, h->last_enhanced, 16);
    strs_set(&v, SL_TEXT, h->last_text, RESULT_SMTP_TEXT_MAX + 1);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_HOST);
    int n[IN_COUNT] = {[IN_SESSIONS] = h->sessions, [IN_TIMEOUTS] = h->timeouts,
                       [IN_BLOCKS] = h->blocks, [IN_RCPT_CAP] = h->rcpt_cap,
                       [IN_CODE] = h->last_code, [IN_CONNECTS] = h->connects,
                       [IN_CLEARTEXT] = h->cleartext};
    memcpy(x->n, n, sizeof n);
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_meta(state_writer *w, const char *key, const char *value)
{
    strs v = {0};
    strs_set(&v, SL_KEY, key, META_KEY_MAX);
    strs_set(&v, SL_VALUE, value, META_VALUE_MAX);
    if (!put_begin(w, v.total))
        return;
    put_strs(w, put_rec(w, REC_META), &v);
    put_end(w);
}

/* ---- writer thread side ---- */

static void fail(state_writer *w, const char *what)
{
    pthread_mutex_lock(&w->mu);
    if (!w->failed)
        state_seterr(w->errmsg, sizeof w->errmsg,
                 "%s: writing the state file failed (%s: %s); work since the last commit "
                 "is not saved", w->s->path, what, sqlite3_errmsg(w->s->db));
    w->failed = true;
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->mu);
}

static void bind_str(sqlite3_stmt *st, int i, const batch *b, const rec *r, int slot)
{
    sqlite3_bind_text(st, i, b->text + r->off[slot], (int)r->len[slot], SQLITE_STATIC);
}

static void bind_tri(sqlite3_stmt *st, int i, int v)
{
    if (v == TRI_UNSET)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int(st, i, v != 0);
}

/* A reply code of 0 means "no reply": stored as NULL. */
static void bind_code(sqlite3_stmt *st, int i, int code)
{
    if (code)
        sqlite3_bind_int(st, i, code);
    else
        sqlite3_bind_null(st, i);
}

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- which rows have a retry stored ---- */

/* ROW's bit, growing the map; out of memory drops the map (unsure means
 * "has one"). A row below 0 is always unsure. */
static void retry_mark(state_writer *w, int64_t row)
{
    if (row < 0 || !w->retry_bits)
        return;
    size_t at = (size_t)row / 8;
    if (at >= w->retry_bytes) {
        size_t n = w->retry_bytes ? w->retry_bytes : 4096;
        while (n <= at)
            n *= 2;
        uint8_t *m = realloc(w->retry_bits, n);
        if (!m) {
            free(w->retry_bits);
            w->retry_bits = NULL;
            return;
        }
        memset(m + w->retry_bytes, 0, n - w->retry_bytes);
        w->retry_bits = m;
        w->retry_bytes = n;
    }
    w->retry_bits[at] |= (uint8_t)(1u << (row % 8));
}

/* Whether ROW may have a retry stored; clears its bit. */
static bool retry_unmark(state_writer *w, int64_t row)
{
    if (!w->retry_bits || row < 0)
        return true;
    size_t at = (size_t)row / 8;
    uint8_t bit = (uint8_t)(1u << (row % 8));
    if (at >= w->retry_bytes || !(w->retry_bits[at] & bit))
        return false;
    w->retry_bits[at] &= (uint8_t)~bit;
    return true;
}

/* The rows an earlier run left waiting; false (every row deletes) if they
 * cannot be read. */
static bool retry_load_rows(state_writer *w)
{
    sqlite3_stmt *st = NULL;
    if (state_query(w->s, &st, "SELECT row FROM retries") != 0)
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        retry_mark(w, sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE && w->retry_bits;
}

static int delete_retry(state_writer *w, int64_t row)
{
    if (!retry_unmark(w, row))  /* no retry stored for it: nothing to delete */
        return 0;
    sqlite3_bind_int64(w->st[ST_DEL_RETRY], 1, row);
    return step(w->st[ST_DEL_RETRY]);
}

static int write_result(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_RESULT];
    verdict_reason reason = (verdict_reason)r->n[IN_REASON];
    sqlite3_bind_int64(st, 1, r->row);
    bind_str(st, 2, b, r, SL_EMAIL);
    bind_str(st, 3, b, r, SL_DOMAIN);
    sqlite3_bind_text(st, 4, verdict_status_name(verdict_status_of(reason)), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, verdict_reason_name(reason), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, r->n[IN_RISK]);
    bind_str(st, 7, b, r, SL_DYM);
    sqlite3_bind_int(st, 8, r->n[IN_ROLE]);
    sqlite3_bind_int(st, 9, r->n[IN_FREE]);
    sqlite3_bind_int(st, 10, r->n[IN_DISPOSABLE]);
    bind_tri(st, 11, r->n[IN_ACCEPT_ALL]);
    bind_str(st, 12, b, r, SL_MX);
    bind_code(st, 13, r->n[IN_CODE]);
    bind_str(st, 14, b, r, SL_ENH);
    bind_str(st, 15, b, r, SL_TEXT);
    sqlite3_bind_int(st, 16, r->n[IN_ATTEMPTS]);
    sqlite3_bind_int(st, 17, r->n[IN_DUPLICATE] != 0);
    bind_str(st, 18, b, r, SL_MX_IP);
    if (r->at)
        sqlite3_bind_int64(st, 19, r->at);
    else
        sqlite3_bind_null(st, 19);
    bind_str(st, 20, b, r, SL_ROUTE);
    if (step(st))
        return -1;
    return delete_retry(w, r->row);
}

static int write_dup(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_DUP];
    sqlite3_bind_int64(st, 1, r->row);
    sqlite3_bind_int64(st, 2, r->first);
    bind_str(st, 3, b, r, SL_EMAIL);
    bind_str(st, 4, b, r, SL_DOMAIN);
    bind_str(st, 5, b, r, SL_DYM);
    if (step(st))
        return -1;
    return delete_retry(w, r->row);   /* a row finished as a duplicate waits for nothing */
}

static int write_retry(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_RETRY];
    retry_mark(w, r->row);
    sqlite3_bind_int64(st, 1, r->row);
    sqlite3_bind_double(st, 2, r->due);
    sqlite3_bind_int(st, 3, r->n[IN_ATTEMPTS]);
    bind_str(st, 4, b, r, SL_EMAIL);
    bind_str(st, 5, b, r, SL_DOMAIN);
    sqlite3_bind_text(st, 6, verdict_reason_name((verdict_reason)r->n[IN_REASON]), -1,
                      SQLITE_STATIC);
    bind_code(st, 7, r->n[IN_CODE]);
    bind_str(st, 8, b, r, SL_ENH);
    bind_str(st, 9, b, r, SL_TEXT);
    bind_str(st, 10, b, r, SL_MX);
    sqlite3_bind_int(st, 11, r->n[IN_ANSWERS]);
    return step(st);
}

static int write_domain(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_DOMAIN];
    bind_str(st, 1, b, r, SL_DOMAIN);
    bind_tri(st, 2, r->n[IN_ACCEPT_ALL]);
    bind_str(st, 3, b, r, SL_MX);
    return step(st);
}

static int write_host(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_HOST];
    bind_str(st, 1, b, r, SL_HOST);
    bind_str(st, 2, b, r, SL_IP);
    sqlite3_bind_int(st, 3, r->n[IN_SESSIONS]);
    sqlite3_bind_int(st, 4, r->n[IN_TIMEOUTS]);
    sqlite3_bind_int(st, 5, r->n[IN_BLOCKS]);
    sqlite3_bind_int(st, 6, r->n[IN_RCPT_CAP]);
    bind_code(st, 7, r->n[IN_CODE]);
    bind_str(st, 8, b, r, SL_ENH);
    bind_str(st, 9, b, r, SL_TEXT);
    sqlite3_bind_int(st, 10, r->n[IN_CONNECTS]);
    bind_str(st, 11, b, r, SL_PROVIDER);
    sqlite3_bind_int(st, 12, r->n[IN_CLEARTEXT]);
    return step(st);
}

static int write_meta(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_META];
    bind_str(st, 1, b, r, SL_KEY);
    bind_str(st, 2, b, r, SL_VALUE);
    return step(st);
}

static int write_batch(state_writer *w, const batch *b)
{
    static int (*const fns[])(state_writer *, const batch *, const rec *) = {
        [REC_RESULT] = write_result, [REC_RETRY] = write_retry, [REC_DOMAIN] = write_domain,
        [REC_HOST] = write_host, [REC_META] = write_meta, [REC_DUP] = write_dup,
    };
    for (size_t i = 0; i < b->n; i++)
        if (fns[b->recs[i].type](w, b, &b->recs[i]) != 0)
            return -1;
    return 0;
}

/* Wait for work; with a transaction open, only until its commit is due.
 * Returns the batch to write (swapped out) and whether stop was asked. */
static batch *take_batch(state_writer *w, bool in_txn, int64_t due_ns, bool *stop)
{
    pthread_mutex_lock(&w->mu);
    /* In a transaction, records are taken by WAKE_RECS or at its commit
     * time, not one at a time as they come (a wake-up a row was the
     * writer's cost); out of one, the first record begins the next. */
    while (w->fill->n < WAKE_RECS && !w->stop) {
        if (!in_txn && w->fill->n)
            break;
        if (!in_txn) {
            w->idle = true;
            pthread_cond_wait(&w->has_work, &w->mu);
            w->idle = false;
            continue;
        }
        struct timespec ts = {.tv_sec = due_ns / 1000000000LL, .tv_nsec = due_ns % 1000000000LL};
        if (pthread_cond_timedwait(&w->has_work, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    batch *b = w->fill;
    w->fill = w->spare;
    w->spare = b;
    *stop = w->stop;
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->mu);
    return b;
}

static void *writer_main(void *arg)
{
    state_writer *w = arg;
    sqlite3 *db = w->s->db;
    bool in_txn = false, stop = false;
    int64_t txn_start = 0;
    while (!stop) {
        batch *b = take_batch(w, in_txn, txn_start + COMMIT_NS, &stop);
        if (b->n && !w->failed) {
            if (!in_txn && state_exec(db, "BEGIN") != SQLITE_OK)
                fail(w, "begin");
            else {
                if (!in_txn)
                    txn_start = now_ns();
                in_txn = true;
                if (write_batch(w, b) != 0)
                    fail(w, "insert");
            }
        }
        b->n = b->text_len = 0;
        if (in_txn && (w->failed || stop || now_ns() - txn_start >= COMMIT_NS)) {
            if (!w->failed && state_exec(db, "COMMIT") != SQLITE_OK)
                fail(w, "commit");
            if (!sqlite3_get_autocommit(db))
                state_exec(db, "ROLLBACK");
            in_txn = false;
        }
    }
    return NULL;
}

static void writer_free(state_writer *w)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    for (int i = 0; i < 2; i++) {
        free(w->b[i].recs);
        free(w->b[i].text);
    }
    free(w->retry_bits);
    free(w);
}

state_writer *state_writer_start(state *s, char *err, size_t errlen)
{
    if (!s || s->writer) {
        state_seterr(err, errlen, "state writer already running");
        return NULL;
    }
    state_writer *w = calloc(1, sizeof *w);
    if (!w) {
        state_seterr(err, errlen, "out of memory");
        return NULL;
    }
    w->s = s;
    if ((w->retry_bits = calloc(1, 4096)))
        w->retry_bytes = 4096;
    if (w->retry_bits && !retry_load_rows(w)) {
        free(w->retry_bits);    /* unsure: every finished row deletes */
        w->retry_bits = NULL;
    }
    for (int i = 0; i < 2; i++) {
        w->b[i].recs = malloc(QUEUE_RECS * sizeof(rec));
        w->b[i].text = malloc(QUEUE_TEXT);
        if (!w->b[i].recs || !w->b[i].text) {
            state_seterr(err, errlen, "out of memory");
            writer_free(w);
            return NULL;
        }
    }
    w->fill = &w->b[0];
    w->spare = &w->b[1];
    for (int i = 0; i < ST_COUNT; i++)
        if (state_prepare(s, &w->st[i], writer_sql[i]) != 0) {
            state_seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
            writer_free(w);
            return NULL;
        }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->has_work, &ca);
    pthread_cond_init(&w->not_full, NULL);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0) {
        state_seterr(err, errlen, "cannot start the state writer: %s", strerror(e));
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->has_work);
        pthread_cond_destroy(&w->not_full);
        writer_free(w);
        return NULL;
    }
    s->writer = w;
    return w;
}

int state_writer_stop(state_writer *w, char *err, size_t errlen)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->has_work);
    pthread_cond_broadcast(&w->not_full);   /* waiting puts give up */
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    int rc = w->failed ? -1 : 0;
    if (w->failed)
        state_seterr(err, errlen, "%s", w->errmsg);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->has_work);
    pthread_cond_destroy(&w->not_full);
    w->s->writer = NULL;
    writer_free(w);
    return rc;
}
