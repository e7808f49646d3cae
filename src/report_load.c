/* report_load.c — the report model from a state file (report_load).
 *
 * Reads the state file's schema (include/state.h) directly through the
 * SQLite C API, read-only and in one read transaction, so it works while a
 * `clean` is still writing to the file and never depends on state_*.c. The
 * report it returns is the caller's (report_free); it holds copies of
 * everything, and the database is closed before it returns. Strings are
 * copied into bounded fields, never cut inside a UTF-8 sequence.
 *
 * A batch is running when a `clean` holds the state file's flock (it does
 * for its whole run; the lock goes with the process, so a killed run never
 * looks alive): the report then says so, with the time so far.
 */
#include "report_int.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "result.h"
#include "str.h"

static bool has_any(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (strcasestr(text, *words))
            return true;
    return false;
}

/* What the host's replies say is wrong with the verifier. */
static report_problem classify_host(const report_host *h)
{
    if (h->connects == 0)
        return PROBLEM_UNREACHABLE;
    static const char *const blocklist[] = {
        "spamhaus", "blocklist", "blacklist", "block list", "black list", "dnsbl", "rbl",
        "spamcop", "barracuda", "sorbs", "reputation", "listed", NULL};
    static const char *const rdns[] = {
        "ptr", "rdns", "reverse dns", "reverse-dns", "reverse hostname", "reverse lookup",
        "reverse name", "no reverse", "fcrdns", NULL};
    if (has_any(h->last_text, blocklist))
        return PROBLEM_BLOCKLIST;
    if (has_any(h->last_text, rdns) || strcmp(h->last_enhanced, "5.7.25") == 0)
        return PROBLEM_RDNS;
    if (h->timeouts > h->blocks)
        return PROBLEM_TIMEOUT;
    return PROBLEM_POLICY;
}

typedef struct loader {
    sqlite3 *db;
    report *r;
    char *err;
    size_t errlen;
} loader;

static int db_fail(loader *l, const char *what)
{
    snprintf(l->err, l->errlen, "%s: %s: %s", l->r->state_path, what, sqlite3_errmsg(l->db));
    return -1;
}

/* Prepare SQL; a missing optional table yields *ST = NULL and 0. */
static int prep(loader *l, const char *sql, bool optional, sqlite3_stmt **st)
{
    *st = NULL;
    if (sqlite3_prepare_v2(l->db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    if (optional && strstr(sqlite3_errmsg(l->db), "no such table"))
        return 0;
    return db_fail(l, "cannot read the state file");
}

static int finish(loader *l, sqlite3_stmt *st, int rc)
{
    int frc = sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(l, "cannot read the state file");
    return frc == SQLITE_OK ? 0 : db_fail(l, "cannot read the state file");
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* Is this a mailvet state file of a format we read? */
static int check_format(loader *l)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(l->db, "SELECT value FROM meta WHERE key = 'format_version'",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        int code = sqlite3_errcode(l->db);
        if (code == SQLITE_NOTADB)
            snprintf(l->err, l->errlen, "%s: not a mailvet state file (not an SQLite database)",
                     l->r->state_path);
        else if (strstr(sqlite3_errmsg(l->db), "no such table"))
            snprintf(l->err, l->errlen, "%s: not a mailvet state file (no meta table)",
                     l->r->state_path);
        else
            return db_fail(l, "cannot read the state file");
        return -1;
    }
    rc = sqlite3_step(st);
    char version[32] = "";
    if (rc == SQLITE_ROW)
        str_copy_utf8(version, sizeof version, col_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(l, "cannot read the state file");
    if (rc == SQLITE_DONE) {
        snprintf(l->err, l->errlen, "%s: not a mailvet state file (no format_version)",
                 l->r->state_path);
        return -1;
    }
    if (atoi(version) != 1) {
        snprintf(l->err, l->errlen, "%s: state file format %s is not supported (this mailvet "
                 "reads format 1)", l->r->state_path, version);
        return -1;
    }
    return 0;
}

static void meta_value(report *r, const char *key, const char *v)
{
    if (strcmp(key, "input_path") == 0)
        str_copy_utf8(r->input_path, sizeof r->input_path, v);
    else if (strcmp(key, "level") == 0)
        str_copy_utf8(r->level, sizeof r->level, v);
    else if (strcmp(key, "rows_total") == 0 && *v) {
        r->rows_total = strtoull(v, NULL, 10);
        r->total_known = true;
    } else if (strcmp(key, "started_at") == 0)
        r->started_at = strtoll(v, NULL, 10);
    else if (strcmp(key, "updated_at") == 0)
        r->updated_at = strtoll(v, NULL, 10);
    else if (strcmp(key, "run_started_at") == 0)
        r->run_started_at = strtoll(v, NULL, 10);
    else if (strcmp(key, "finished_at") == 0)
        r->finished_at = strtoll(v, NULL, 10);
    else if (strcmp(key, "elapsed_s") == 0 && *v)
        r->elapsed = strtod(v, NULL);
    else if (strcmp(key, "retries_used") == 0 && *v)
        r->retries_used = strtoll(v, NULL, 10);
}

static int load_meta(loader *l)
{
    sqlite3_stmt *st;
    if (prep(l, "SELECT key, value FROM meta", false, &st))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        meta_value(l->r, col_text(st, 0), col_text(st, 1));
    l->r->finished = l->r->finished_at > 0;
    return finish(l, st, rc);
}

static int load_counts(loader *l)
{
    sqlite3_stmt *st;
    if (prep(l, "SELECT status, reason, count(*), total(risk), total(role), total(free), "
                "total(disposable), total(coalesce(did_you_mean, '') <> '') "
                "FROM results GROUP BY status, reason", false, &st))
        return -1;
    report *r = l->r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int s = verdict_status_parse(col_text(st, 0));
        int reason = verdict_reason_parse(col_text(st, 1));
        uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);
        double risk = sqlite3_column_double(st, 3);
        if (s < 0)      /* not in the vocabulary: the least committal status */
            s = VERDICT_UNKNOWN;
        r->done += n;
        r->by_status[s] += n;
        if (reason >= 0)
            r->by_reason[reason] += n;
        r->risk_sum += risk;
        if (s == VERDICT_DELIVERABLE)
            r->risk_sum_deliverable += risk;
        r->role += (uint64_t)sqlite3_column_int64(st, 4);
        r->free += (uint64_t)sqlite3_column_int64(st, 5);
        r->disposable += (uint64_t)sqlite3_column_int64(st, 6);
        r->typos += (uint64_t)sqlite3_column_int64(st, 7);
    }
    return finish(l, st, rc);
}

static int status_column(const char *name)
{
    int s = verdict_status_parse(name);
    return s < 0 ? VERDICT_UNKNOWN : s;
}

/* Top domains by volume, ties by name, each with its status mix: the ten
 * found in one grouping, their mix in one more scan (a join on them
 * scanned the results once for each of the ten). */
static int load_top_domains(loader *l)
{
    sqlite3_stmt *st;
    if (prep(l, "WITH top AS (SELECT domain FROM results "
                "  WHERE coalesce(domain, '') <> '' GROUP BY domain ORDER BY count(*) DESC, domain "
                "  LIMIT " "10" ") "
                "SELECT domain, status, count(*) FROM results "
                "WHERE domain IN (SELECT domain FROM top) GROUP BY domain, status "
                "ORDER BY domain, status", false, &st))
        return -1;
    report *r = l->r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {     /* by name */
        const char *name = col_text(st, 0);
        if (r->ntop == 0 || strcmp(r->top[r->ntop - 1].name, name) != 0) {
            if (r->ntop == REPORT_TOP_DOMAINS)
                continue;
            report_domain *d = &r->top[r->ntop++];
            memset(d, 0, sizeof *d);
            str_copy_utf8(d->name, sizeof d->name, name);
        }
        uint64_t n = (uint64_t)sqlite3_column_int64(st, 2);
        r->top[r->ntop - 1].by_status[status_column(col_text(st, 1))] += n;
        r->top[r->ntop - 1].rows += n;
    }
    for (size_t i = 1; i < r->ntop; i++) {              /* by volume; stable, so ties by name */
        report_domain d = r->top[i];
        size_t j = i;
        for (; j > 0 && r->top[j - 1].rows < d.rows; j--)
            r->top[j] = r->top[j - 1];
        r->top[j] = d;
    }
    return finish(l, st, rc);
}

/* Accept-all domains: learned by the catch-all probe (domains) or recorded
 * on a row; with how many rows of the list they hold. */
static int load_accept_all(loader *l)
{
    static const char *const sql[2] = {
        "WITH aa(domain) AS (SELECT domain FROM domains WHERE accept_all = 1 "
          "  UNION SELECT domain FROM results WHERE (accept_all = 1 OR reason = 'accept_all') "
          "  AND coalesce(domain, '') <> ''), "
          "n AS (SELECT domain, count(*) AS c FROM results WHERE domain IN aa GROUP BY domain) "
          "SELECT aa.domain, coalesce(n.c, 0) FROM aa LEFT JOIN n USING (domain) "
          "ORDER BY 2 DESC, 1",
        /* without a domains table: what the rows say */
        "SELECT domain, count(*) FROM results WHERE (accept_all = 1 OR reason = 'accept_all') "
        "AND coalesce(domain, '') <> '' GROUP BY domain ORDER BY 2 DESC, 1"};
    sqlite3_stmt *st;
    if (prep(l, sql[0], true, &st) || (!st && prep(l, sql[1], false, &st)))
        return -1;
    report *r = l->r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->accept_all_total++;
        if (r->naccept_all == REPORT_MAX_ACCEPT_ALL)
            continue;
        report_domain *d = &r->accept_all[r->naccept_all++];
        str_copy_utf8(d->name, sizeof d->name, col_text(st, 0));
        d->rows = (uint64_t)sqlite3_column_int64(st, 1);
    }
    return finish(l, st, rc);
}

/* Does the hosts table have column NAME? (Files of older mailvets lack
 * the later ones, and a report never alters the file.) */
static bool has_host_column(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool has = sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('hosts') WHERE name = ?",
                                  -1, &st, NULL) == SQLITE_OK &&
               sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return has;
}

/* Hosts that blocked, timed out or never let the verifier connect, worst first. */
static int load_hosts(loader *l)
{
    static const char *const sql[2] = {
        "WITH u AS (SELECT mx, count(*) AS n FROM results "
        "  WHERE status = 'unknown' AND coalesce(mx, '') <> '' GROUP BY mx) "
        "SELECT h.host, h.ip, h.sessions, h.timeouts, h.blocks, h.last_code, "
        "  h.last_enhanced, h.last_text, coalesce(u.n, 0), -1 "
        "FROM hosts h LEFT JOIN u ON u.mx = h.host WHERE h.blocks > 0 OR h.timeouts > 0 "
        "ORDER BY coalesce(u.n, 0) DESC, h.blocks + h.timeouts DESC, h.host",
        "WITH u AS (SELECT mx, count(*) AS n FROM results "
        "  WHERE status = 'unknown' AND coalesce(mx, '') <> '' GROUP BY mx) "
        "SELECT h.host, h.ip, h.sessions, h.timeouts, h.blocks, h.last_code, "
        "  h.last_enhanced, h.last_text, coalesce(u.n, 0), coalesce(h.connects, -1) "
        "FROM hosts h LEFT JOIN u ON u.mx = h.host "
        "WHERE h.blocks > 0 OR h.timeouts > 0 OR h.connects = 0 "
        "ORDER BY coalesce(u.n, 0) DESC, h.blocks + h.timeouts DESC, h.host"};
    sqlite3_stmt *st;
    if (prep(l, sql[has_host_column(l->db, "connects")], true, &st))
        return -1;
    if (!st)
        return 0;
    report *r = l->r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->hosts_total++;
        if (r->nhosts == REPORT_MAX_HOSTS)
            continue;
        report_host *h = &r->hosts[r->nhosts++];
        str_copy_utf8(h->host, sizeof h->host, col_text(st, 0));
        str_copy_utf8(h->ip, sizeof h->ip, col_text(st, 1));
        h->sessions = sqlite3_column_int64(st, 2);
        h->timeouts = sqlite3_column_int64(st, 3);
        h->blocks = sqlite3_column_int64(st, 4);
        h->last_code = sqlite3_column_int64(st, 5);
        str_copy_utf8(h->last_enhanced, sizeof h->last_enhanced, col_text(st, 6));
        str_copy_utf8(h->last_text, sizeof h->last_text, col_text(st, 7));
        h->rows_unknown = (uint64_t)sqlite3_column_int64(st, 8);
        h->connects = sqlite3_column_int64(st, 9);
        h->problem = classify_host(h);
    }
    return finish(l, st, rc);
}

/* Port 25: hosts tried (connects recorded) and those never reached. */
static const char reach_sql[] =
    "SELECT count(*), total(connects = 0) FROM hosts WHERE connects IS NOT NULL";

/* The one row of counts SQL gives, into A (and B when not NULL); nothing
 * when its table is absent (a state from an older mailvet). */
static int load_count_row(loader *l, const char *sql, uint64_t *a, uint64_t *b)
{
    sqlite3_stmt *st;
    if (prep(l, sql, true, &st))
        return -1;
    if (!st)
        return 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *a = (uint64_t)sqlite3_column_int64(st, 0);
        if (b)
            *b = (uint64_t)sqlite3_column_int64(st, 1);
        rc = sqlite3_step(st);
    }
    return finish(l, st, rc);
}

static int load_reach(loader *l)
{
    if (!has_host_column(l->db, "connects"))
        return 0;
    return load_count_row(l, reach_sql, &l->r->hosts_tried, &l->r->hosts_unreachable);
}

/* Sessions per operator of two or more MX hosts (--per-provider), busiest
 * first; an operator of one host is that host. */
static const char providers_sql[] =
    "SELECT provider, count(*), total(sessions), total(connects), total(blocks), "
    "  count(*) OVER () FROM hosts WHERE coalesce(provider, '') <> '' GROUP BY provider "
    "HAVING count(*) > 1 ORDER BY total(sessions) DESC, provider LIMIT ?";

static int load_providers(loader *l)
{
    sqlite3_stmt *st;
    if (!has_host_column(l->db, "provider"))
        return 0;
    if (prep(l, providers_sql, true, &st))
        return -1;
    if (!st)
        return 0;
    sqlite3_bind_int(st, 1, REPORT_MAX_PROVIDERS);
    report *r = l->r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->nproviders < REPORT_MAX_PROVIDERS) {
        report_provider *p = &r->providers[r->nproviders++];
        str_copy_utf8(p->name, sizeof p->name, col_text(st, 0));
        p->hosts = (uint64_t)sqlite3_column_int64(st, 1);
        p->sessions = (uint64_t)sqlite3_column_double(st, 2);
        p->connects = (uint64_t)sqlite3_column_double(st, 3);
        p->blocks = (uint64_t)sqlite3_column_double(st, 4);
        r->providers_total = (uint64_t)sqlite3_column_int64(st, 5);
    }
    return finish(l, st, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

/* Hosts that taught the engine a recipients cap or a broken STARTTLS. */
static const char learned_sql[] =
    "SELECT host, coalesce(rcpt_cap, 0), coalesce(cleartext, 0), "
    "  total(coalesce(rcpt_cap, 0) > 0) OVER (), total(coalesce(cleartext, 0)) OVER () "
    "FROM hosts WHERE coalesce(rcpt_cap, 0) > 0 OR coalesce(cleartext, 0) "
    "ORDER BY host LIMIT ?";

static int load_learned(loader *l)
{
    sqlite3_stmt *st;
    if (!has_host_column(l->db, "cleartext"))
        return 0;
    if (prep(l, learned_sql, true, &st))
        return -1;
    if (!st)
        return 0;
    sqlite3_bind_int(st, 1, REPORT_MAX_LEARNED);
    report *r = l->r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->nlearned < REPORT_MAX_LEARNED) {
        report_learned *x = &r->learned[r->nlearned++];
        str_copy_utf8(x->host, sizeof x->host, col_text(st, 0));
        x->rcpt_cap = sqlite3_column_int64(st, 1);
        x->cleartext = sqlite3_column_int(st, 2) != 0;
        r->rcpt_caps_learned = (uint64_t)sqlite3_column_double(st, 3);
        r->tls_fallbacks = (uint64_t)sqlite3_column_double(st, 4);
    }
    return finish(l, st, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

static int load_retry_queue(loader *l)
{
    return load_count_row(l, "SELECT count(*) FROM retries", &l->r->retry_waiting, NULL);
}

/* Duplicates: every one known, materialised (in results) or not yet
 * (none in a state from before duplicates were marked: no dups table). */
static int load_duplicates(loader *l)
{
    return load_count_row(l, "SELECT count(*) FROM dups", &l->r->duplicates, NULL);
}

/* Rows the verdict cache answered, and the ages of their answers at the
 * batch's start (a state from before the route column has none). */
static int load_cache_rows(loader *l)
{
    sqlite3_stmt *st = NULL;
    bool has = sqlite3_prepare_v2(l->db, "SELECT 1 FROM pragma_table_info('results')"
                                  " WHERE name = 'route'", -1, &st, NULL) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    report *r = l->r;
    static const char where[] = " FROM results WHERE route = 'cache' AND coalesce(duplicate, 0) = 0";
    char sql[192];
    snprintf(sql, sizeof sql, "SELECT count(*)%s", where);
    if (!has || load_count_row(l, sql, &r->cache_rows, NULL))
        return has ? -1 : 0;
    if (!r->cache_rows)
        return 0;
    snprintf(sql, sizeof sql, "SELECT min(checked_at)%s", where);
    if (prep(l, sql, false, &st))
        return -1;
    int rc = sqlite3_step(st);
    int64_t oldest = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (finish(l, st, rc == SQLITE_ROW ? SQLITE_DONE : rc))
        return -1;
    snprintf(sql, sizeof sql, "SELECT checked_at%s ORDER BY checked_at DESC LIMIT 1 OFFSET ?", where);
    if (prep(l, sql, false, &st))
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(r->cache_rows / 2));
    rc = sqlite3_step(st);
    int64_t median = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : oldest;
    if (finish(l, st, rc == SQLITE_ROW ? SQLITE_DONE : rc))
        return -1;
    int64_t base = r->started_at;
    r->cache_age_oldest = base > oldest ? base - oldest : 0;
    r->cache_age_median = base > median ? base - median : 0;
    return 0;
}

static int load_all(loader *l)
{
    if (check_format(l) || load_meta(l) || load_counts(l) || load_top_domains(l) ||
        load_accept_all(l) || load_hosts(l) || load_reach(l) || load_providers(l) ||
        load_learned(l) || load_retry_queue(l) || load_duplicates(l) || load_cache_rows(l))
        return -1;
    return 0;
}


/* Does a `clean` hold PATH's lock? (A shared lock, dropped at once, when
 * none does: a run starting in that instant is told the file is in use.) */
static bool locked_by_a_run(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* A running batch: earlier runs' time plus this run's so far. */
static void running_elapsed(report *r)
{
    int64_t since = r->run_started_at ? r->run_started_at : r->started_at;
    if (!since)
        return;
    double before = r->elapsed > 0 && r->run_started_at ? r->elapsed : 0;
    double now = (double)time(NULL) - (double)since;
    r->elapsed = before + (now > 0 ? now : 0);
}

int report_load_reach(const char *state_path, uint64_t *tried, uint64_t *unreachable)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    *tried = *unreachable = 0;
    if (sqlite3_open_v2(state_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, reach_sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *tried = (uint64_t)sqlite3_column_int64(st, 0);
        *unreachable = (uint64_t)sqlite3_column_double(st, 1);
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

report *report_load(const char *state_path, char *err, size_t errlen)
{
    struct stat sb;
    err[0] = '\0';
    if (stat(state_path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", state_path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a mailvet state file (not a regular file)", state_path);
        return NULL;
    }
    if (access(state_path, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s", state_path, strerror(errno));
        return NULL;
    }
    report *r = report_new();
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->from_state = true;
    r->running = locked_by_a_run(state_path);
    str_copy_utf8(r->state_path, sizeof r->state_path, state_path);
    loader l = {NULL, r, err, errlen};
    if (sqlite3_open_v2(state_path, &l.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        db_fail(&l, "cannot open the state file");
        sqlite3_close(l.db);
        free(r);
        return NULL;
    }
    sqlite3_busy_timeout(l.db, 5000);     /* a running clean may be committing */
    /* one read transaction: every figure comes from the same snapshot */
    int rc = sqlite3_exec(l.db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? load_all(&l) : -1;
    if (rc && !err[0])
        db_fail(&l, "cannot read the state file");
    sqlite3_exec(l.db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(l.db);
    if (rc) {
        free(r);
        return NULL;
    }
    if (r->running && !r->finished)
        running_elapsed(r);
    return r;
}
