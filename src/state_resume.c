/* state_resume.c — reading a state back: for a resumed run the finished
 * rows (a bitmap: results and duplicates), the retry queue and what was learned of domains; for the
 * output pass the results in row order (a cursor); the result count.
 *
 * Ownership: bitmaps from state_finished_rows() belong to the caller; a
 * cursor from state_results() is freed with state_cursor_free() before the
 * handle is closed. The state_each_* walks hand out records that live only
 * during the callback. None of these run while the writer owns the
 * connection. Text read back is hostile input: reasons must be ones we
 * know (anything else is damage), strings are copied bounded.
 */
#include "state_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"

static const char result_cols[] =
    "row, email, reason, risk, did_you_mean, role, free, disposable, accept_all, mx,"
    " smtp_code, smtp_enhanced, smtp_text, attempts, %s, %s, %s, %s";

struct state_cursor {
    sqlite3_stmt *st;
    bool done;          /* SQLite would restart a finished statement: stay at the end */
};

static result_tri col_tri(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return TRI_UNSET;
    return sqlite3_column_int(st, i) ? TRI_TRUE : TRI_FALSE;
}

int state_query(state *s, sqlite3_stmt **st, const char *sql)
{
    if (!s || s->writer)
        return -1;
    return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -1;
}

/* ---- resume loads ---- */

int state_finished_rows(state *s, uint8_t **bitmap, uint64_t *nbits)
{
    sqlite3_stmt *st = NULL;
    *bitmap = NULL;
    *nbits = 0;
    if (state_query(s, &st, "SELECT max(m) FROM (SELECT max(row) AS m FROM results"
                            " UNION ALL SELECT max(row) FROM dups)") ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_int64 max = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1
                                                                   : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (max < 0)
        max = -1;
    if (max >= (sqlite3_int64)1 << 40)       /* not a row number we wrote */
        return -1;
    uint64_t n = (uint64_t)(max + 1);
    uint8_t *bm = calloc(n / 8 + 1, 1);
    if (!bm || state_query(s, &st, "SELECT row FROM results WHERE row >= 0"
                                   " UNION ALL SELECT row FROM dups WHERE row >= 0")) {
        free(bm);
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t row = (uint64_t)sqlite3_column_int64(st, 0);
        if (row >= n) {                       /* beyond max(row): a damaged b-tree */
            rc = SQLITE_CORRUPT;
            break;
        }
        bm[row / 8] |= (uint8_t)(1u << (row % 8));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(bm);
        return -1;
    }
    *bitmap = bm;
    *nbits = n;
    return 0;
}

/* Reason name → enum; unknown names are damage, not data. */
static int col_reason(sqlite3_stmt *st, int i, verdict_reason *out)
{
    const char *name = (const char *)sqlite3_column_text(st, i);
    int r = verdict_reason_parse(name ? name : "");
    if (r < 0)
        return -1;
    *out = (verdict_reason)r;
    return 0;
}

/* The state_each_* walks return 0 when done, -1 on a read error, or the
 * callback's first non-zero return value, which stops the walk. */
int state_each_retry(state *s, int (*fn)(void *ud, const state_retry *r), void *ud)
{
    sqlite3_stmt *st = NULL;
    if (state_query(s, &st, "SELECT row, due, attempts, email, domain, reason, smtp_code,"
                      " smtp_enhanced, smtp_text, mx, COALESCE(answers, attempts) FROM retries"
                      " ORDER BY row"))
        return -1;
    state_retry *r = malloc(sizeof *r);
    int rc = r ? SQLITE_ROW : SQLITE_NOMEM, ret = 0;
    while (r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->row = (uint64_t)sqlite3_column_int64(st, 0);
        r->due = sqlite3_column_double(st, 1);
        r->attempts = sqlite3_column_int(st, 2);
        state_col_str(st, 3, r->email, sizeof r->email);
        state_col_str(st, 4, r->domain, sizeof r->domain);
        result_init(&r->last);
        str_copy(r->last.email, sizeof r->last.email, r->email);
        r->last.attempts = sqlite3_column_int(st, 10);
        if (col_reason(st, 5, &r->last.reason)) {
            ret = -1;
            break;
        }
        r->last.smtp_code = sqlite3_column_int(st, 6);
        state_col_str(st, 7, r->last.smtp_enhanced, sizeof r->last.smtp_enhanced);
        state_col_str(st, 8, r->last.smtp_text, sizeof r->last.smtp_text);
        state_col_str(st, 9, r->last.mx, sizeof r->last.mx);
        if ((ret = fn(ud, r)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = -1;
    free(r);
    sqlite3_finalize(st);
    return ret;
}

int state_each_domain(state *s, int (*fn)(void *ud, const char *domain, result_tri accept_all,
                                          const char *mx), void *ud)
{
    sqlite3_stmt *st = NULL;
    if (state_query(s, &st, "SELECT domain, accept_all, mx FROM domains"))
        return -1;
    int rc, ret = 0;
    char domain[ADDR_BUF], mx[256];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        state_col_str(st, 0, domain, sizeof domain);
        state_col_str(st, 2, mx, sizeof mx);
        if ((ret = fn(ud, domain, col_tri(st, 1), mx)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = -1;
    sqlite3_finalize(st);
    return ret;
}

/* ---- the output cursor ---- */

/* COLUMN of results, or FALLBACK in a state from before it existed
 * (merge and reports read old files as they are). */
static const char *col_or(state *s, const char *column, const char *fallback)
{
    return state_has_column(s, "results", column) ? column : fallback;
}

state_cursor *state_results(state *s)
{
    char cols[320], sql[384];
    snprintf(cols, sizeof cols, result_cols, col_or(s, "duplicate", "0"),
             col_or(s, "mx_ip", "''"), col_or(s, "checked_at", "0"), col_or(s, "route", "''"));
    snprintf(sql, sizeof sql, "SELECT %s FROM results ORDER BY row", cols);
    state_cursor *c = calloc(1, sizeof *c);
    if (!c || state_query(s, &c->st, sql)) {
        free(c);
        return NULL;
    }
    return c;
}

int state_cursor_next(state_cursor *c, uint64_t *row, result *r)
{
    if (!c)
        return -1;
    if (c->done)
        return 0;
    int rc = sqlite3_step(c->st);
    if (rc == SQLITE_DONE) {
        c->done = true;
        return 0;
    }
    if (rc != SQLITE_ROW)
        return -1;
    sqlite3_stmt *st = c->st;
    result_init(r);
    *row = (uint64_t)sqlite3_column_int64(st, 0);
    state_col_str(st, 1, r->email, sizeof r->email);
    if (col_reason(st, 2, &r->reason))
        return -1;
    r->risk = sqlite3_column_int(st, 3);
    state_col_str(st, 4, r->did_you_mean, sizeof r->did_you_mean);
    r->role = sqlite3_column_int(st, 5) != 0;
    r->free = sqlite3_column_int(st, 6) != 0;
    r->disposable = sqlite3_column_int(st, 7) != 0;
    r->accept_all = col_tri(st, 8);
    state_col_str(st, 9, r->mx, sizeof r->mx);
    r->smtp_code = sqlite3_column_int(st, 10);
    state_col_str(st, 11, r->smtp_enhanced, sizeof r->smtp_enhanced);
    state_col_str(st, 12, r->smtp_text, sizeof r->smtp_text);
    r->attempts = sqlite3_column_int(st, 13);
    r->duplicate = sqlite3_column_int(st, 14) != 0;
    state_col_str(st, 15, r->mx_ip, sizeof r->mx_ip);
    r->checked_at = sqlite3_column_int64(st, 16);
    state_col_str(st, 17, r->route, sizeof r->route);
    return 1;
}

void state_cursor_free(state_cursor *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->st);
    free(c);
}

uint64_t state_count_results(state *s)
{
    sqlite3_stmt *st = NULL;
    uint64_t n = 0;
    /* duplicates count once they are known, before they are materialised */
    bool dups = state_has_column(s, "dups", "row");
    if (state_query(s, &st, dups ? "SELECT (SELECT count(*) FROM results) + (SELECT count(*) FROM"
                                   " dups WHERE row NOT IN (SELECT row FROM results))"
                                 : "SELECT count(*) FROM results") == 0 &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}
