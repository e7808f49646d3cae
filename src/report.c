/* report.c — the batch report (SPEC.md "Report"): load it from a state file
 * with SQL, or from a finished run's counters, and render it as text, JSON
 * or one self-contained HTML page with inline SVG charts.
 *
 * Owns: the report struct and everything in it (plain copies, bounded
 * buffers). Reads the state file's schema (include/state.h) directly through
 * the SQLite C API, read-only, so it works while a `clean` is still writing
 * to the file and never depends on state.c.
 *
 * Every string that comes from the state file (addresses, domain names,
 * SMTP reply texts, the input path) is hostile input: HTML output escapes
 * it, text output replaces control characters, JSON output uses
 * json_put_string.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "result.h"
#include "str.h"
#include "verdict.h"

#ifndef MAILVET_VERSION
#define MAILVET_VERSION "dev"
#endif

#define REPORT_TOP_DOMAINS 10
#define REPORT_MAX_ACCEPT_ALL 50
#define REPORT_MAX_HOSTS 50
#define TEXT_MAX_HOSTS 10    /* the terminal summary stays short */
#define REPORT_NAME_MAX 256
#define REPORT_TEXT_MAX 512
#define NSTATUS VERDICT_STATUS__COUNT

typedef enum report_problem {
    PROBLEM_BLOCKLIST,      /* the reply names a DNSBL / reputation list */
    PROBLEM_RDNS,           /* the reply asks for reverse DNS (PTR) */
    PROBLEM_TIMEOUT,        /* the host timed out (tarpit) */
    PROBLEM_POLICY,         /* any other refusal of the verifier */
} report_problem;

typedef struct report_domain {
    char name[REPORT_NAME_MAX];
    uint64_t rows;
    uint64_t by_status[NSTATUS];
} report_domain;

typedef struct report_host {
    char host[REPORT_NAME_MAX];
    char ip[64];
    int64_t sessions, timeouts, blocks, last_code;
    char last_enhanced[16];
    char last_text[REPORT_TEXT_MAX];
    uint64_t rows_unknown;      /* rows whose final answer came from it, left unknown */
    report_problem problem;
} report_host;

struct report {
    bool from_state;            /* false: built from a run's counters */
    char state_path[PATH_MAX];
    char input_path[PATH_MAX];
    char level[16];
    bool finished;
    bool total_known;
    uint64_t rows_total;        /* meta rows_total, when known */
    uint64_t done;              /* rows with a result */
    uint64_t retry_waiting;     /* rows waiting in the retry queue */
    uint64_t by_status[NSTATUS];
    uint64_t by_reason[REASON__COUNT];
    uint64_t role, free, disposable, typos;
    double risk_sum, risk_sum_deliverable;
    report_domain top[REPORT_TOP_DOMAINS];
    size_t ntop;
    report_domain accept_all[REPORT_MAX_ACCEPT_ALL];   /* by_status unused */
    size_t naccept_all;
    uint64_t accept_all_total;
    report_host hosts[REPORT_MAX_HOSTS];
    size_t nhosts;
    uint64_t hosts_total;
    int64_t retries_used;       /* -1 = not recorded */
    double elapsed;             /* seconds, -1 = not recorded */
    int64_t started_at, updated_at, finished_at;   /* unix seconds, 0 = absent */
    uint64_t no_email_cell, long_rows;             /* clean's summary only */
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static double pct(uint64_t n, uint64_t of)
{
    return of ? 100.0 * (double)n / (double)of : 0.0;
}

/* "1,234,567" */
static const char *num(char buf[32], uint64_t n)
{
    char raw[24];
    int len = snprintf(raw, sizeof raw, "%" PRIu64, n), o = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *duration(char buf[48], double s)
{
    if (s < 0)
        snprintf(buf, 48, "n/a");
    else if (s < 60)
        snprintf(buf, 48, "%.2f s", s);
    else if (s < 3600)
        snprintf(buf, 48, "%d min %d s", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, 48, "%d h %d min", (int)(s / 3600), ((int)s % 3600) / 60);
    return buf;
}

static double rate(const report *r)
{
    return r->elapsed > 0 ? (double)r->done / r->elapsed : 0.0;
}

static const char *rate_text(char buf[48], const report *r)
{
    double v = rate(r);
    if (r->elapsed <= 0)
        snprintf(buf, 48, "n/a");
    else
        snprintf(buf, 48, v >= 100 ? "%.0f rows/s" : "%.1f rows/s", v);
    return buf;
}

static const char *date_text(char buf[40], int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, 40, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, 40, "n/a");
    return buf;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Expected bounce rates. Mailing every row bounces at least the
 * undeliverable rows; the expectation is the mean of mailvet_risk over all
 * rows (undeliverable = 100, risky and unknown rows their estimated risk).
 * Mailing only deliverable rows is estimated by their mean risk: accepted
 * mailboxes still bounce now and then (role/free flags raise it). */
static double bounce_min(const report *r)
{
    return pct(r->by_status[VERDICT_UNDELIVERABLE], r->done);
}

static double bounce_all(const report *r)
{
    return r->done ? r->risk_sum / (double)r->done : 0.0;
}

static double bounce_deliverable(const report *r)
{
    uint64_t n = r->by_status[VERDICT_DELIVERABLE];
    return n ? r->risk_sum_deliverable / (double)n : 0.0;
}

static const char *const reason_help[REASON__COUNT] = {
    [REASON_ACCEPTED] = "mailbox confirmed",
    [REASON_INVALID_SYNTAX] = "not a valid address",
    [REASON_INVALID_DOMAIN] = "domain does not exist",
    [REASON_NO_MAIL_SERVER] = "domain has no mail server",
    [REASON_NULL_MX] = "domain accepts no mail",
    [REASON_UNROUTABLE_MX] = "mail server not routable",
    [REASON_MAILBOX_NOT_FOUND] = "mailbox does not exist",
    [REASON_MAILBOX_DISABLED] = "account disabled",
    [REASON_REJECTED] = "refused by the server",
    [REASON_ACCEPT_ALL] = "server accepts any address",
    [REASON_MAILBOX_FULL] = "mailbox over quota",
    [REASON_DISPOSABLE] = "throwaway address",
    [REASON_GREYLISTED] = "still greylisted after retries",
    [REASON_TEMPORARY_FAILURE] = "temporary error after retries",
    [REASON_BLOCKED] = "server refused the verifier",
    [REASON_TIMEOUT] = "server too slow to answer",
    [REASON_NO_CONNECT] = "server unreachable",
    [REASON_TLS_ERROR] = "STARTTLS failed",
    [REASON_PROTOCOL_ERROR] = "server broke the protocol",
    [REASON_DNS_ERROR] = "DNS lookup failed",
    [REASON_UNVERIFIED] = "not checked over SMTP",
};

static const char *const problem_names[] = {
    [PROBLEM_BLOCKLIST] = "blocklist",
    [PROBLEM_RDNS] = "rdns",
    [PROBLEM_TIMEOUT] = "timeout",
    [PROBLEM_POLICY] = "policy",
};

static const char *const problem_hints[] = {
    [PROBLEM_BLOCKLIST] = "Your sending IP is on a blocklist: look it up at check.spamhaus.org "
                          "(and any list the reply names), fix the cause and request delisting, "
                          "or verify from another IP.",
    [PROBLEM_RDNS] = "The host wants reverse DNS: set a PTR record for your IP that matches "
                     "--helo (and resolves back to the IP), then rerun.",
    [PROBLEM_TIMEOUT] = "The host delays unknown senders (tarpit): raise --command-timeout or "
                        "verify from an IP with a sending reputation.",
    [PROBLEM_POLICY] = "The host refuses the verifier by policy: verify from an IP with a sending "
                       "reputation, a PTR record and a matching --helo; until then treat its rows "
                       "as unknown.",
};

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

/* ------------------------------------------------------------------ */
/* loading from a state file                                           */

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

/* Top domains by volume, ties by name, each with its status mix. */
static int load_top_domains(loader *l)
{
    sqlite3_stmt *st;
    if (prep(l, "WITH top AS (SELECT domain, count(*) AS n FROM results "
                "  WHERE coalesce(domain, '') <> '' GROUP BY domain ORDER BY n DESC, domain "
                "  LIMIT " "10" ") "
                "SELECT t.domain, t.n, r.status, count(*) FROM top t "
                "JOIN results r ON r.domain = t.domain "
                "GROUP BY t.domain, r.status ORDER BY t.n DESC, t.domain", false, &st))
        return -1;
    report *r = l->r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = col_text(st, 0);
        if (r->ntop == 0 || strcmp(r->top[r->ntop - 1].name, name) != 0) {
            if (r->ntop == REPORT_TOP_DOMAINS)
                continue;
            report_domain *d = &r->top[r->ntop++];
            str_copy_utf8(d->name, sizeof d->name, name);
            d->rows = (uint64_t)sqlite3_column_int64(st, 1);
        }
        r->top[r->ntop - 1].by_status[status_column(col_text(st, 2))] +=
            (uint64_t)sqlite3_column_int64(st, 3);
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

/* Hosts that blocked or timed out the verifier, worst first. */
static int load_hosts(loader *l)
{
    sqlite3_stmt *st;
    if (prep(l, "WITH u AS (SELECT mx, count(*) AS n FROM results "
                "  WHERE status = 'unknown' AND coalesce(mx, '') <> '' GROUP BY mx) "
                "SELECT h.host, h.ip, h.sessions, h.timeouts, h.blocks, h.last_code, "
                "  h.last_enhanced, h.last_text, coalesce(u.n, 0) FROM hosts h "
                "LEFT JOIN u ON u.mx = h.host WHERE h.blocks > 0 OR h.timeouts > 0 "
                "ORDER BY coalesce(u.n, 0) DESC, h.blocks + h.timeouts DESC, h.host",
             true, &st))
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
        h->problem = classify_host(h);
    }
    return finish(l, st, rc);
}

static int load_retry_queue(loader *l)
{
    sqlite3_stmt *st;
    if (prep(l, "SELECT count(*) FROM retries", true, &st))
        return -1;
    if (!st)
        return 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        l->r->retry_waiting = (uint64_t)sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    return finish(l, st, rc);
}

static int load_all(loader *l)
{
    if (check_format(l) || load_meta(l) || load_counts(l) || load_top_domains(l) ||
        load_accept_all(l) || load_hosts(l) || load_retry_queue(l))
        return -1;
    return 0;
}

static report *report_new(void)
{
    report *r = calloc(1, sizeof *r);
    if (r) {
        r->retries_used = -1;
        r->elapsed = -1;
    }
    return r;
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
    return r;
}

void report_free(report *r)
{
    free(r);
}

/* A report of the run that just ended, from its counters: no per-domain
 * or per-host data, risks estimated from each reason's base risk. */
static void from_stats(report *r, const batch_stats *st)
{
    static const verdict_flags none = {0};
    r->finished = true;
    r->done = r->rows_total = st->rows;
    r->total_known = true;
    for (int i = 0; i < REASON__COUNT; i++) {
        uint64_t n = st->by_reason[i];
        verdict_status s = verdict_status_of((verdict_reason)i);
        double risk = (double)n * verdict_risk((verdict_reason)i, &none);
        r->by_reason[i] = n;
        r->by_status[s] += n;
        r->risk_sum += risk;
        if (s == VERDICT_DELIVERABLE)
            r->risk_sum_deliverable += risk;
    }
    r->role = st->role;
    r->free = st->free;
    r->disposable = st->disposable;
    r->typos = st->suggestions;
    r->elapsed = st->elapsed;
    r->no_email_cell = st->no_email_cell;
    r->long_rows = st->long_rows;
}

/* ------------------------------------------------------------------ */
/* text                                                                */

/* DB strings on a terminal: no control characters (escape sequences). */
static void txt_put(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static void text_header(const report *r, FILE *out)
{
    char b1[48], b2[48];
    fprintf(out, "mailvet: %" PRIu64 " rows checked in %s (%s)\n", r->done,
            duration(b1, r->elapsed), rate_text(b2, r));
    if (r->from_state) {
        fputs("Input: ", out);
        txt_put(out, r->input_path[0] ? r->input_path : "(unknown)");
        fputs("  (level ", out);
        txt_put(out, r->level[0] ? r->level : "?");
        fputs(", state ", out);
        txt_put(out, r->state_path);
        fputs(")\n", out);
    }
    if (!r->finished && r->total_known)
        fprintf(out, "Unfinished: %" PRIu64 " of %" PRIu64 " rows done (%.1f%%); figures cover "
                "finished rows only.\n", r->done, r->rows_total, pct(r->done, r->rows_total));
    else if (!r->finished)
        fprintf(out, "Unfinished: %" PRIu64 " rows done so far (total not known yet); figures "
                "cover finished rows only.\n", r->done);
    if (!r->finished && r->retry_waiting)
        fprintf(out, "  %" PRIu64 " rows are waiting for a retry.\n", r->retry_waiting);
}

static void text_counts(const report *r, FILE *out)
{
    fprintf(out, "By status:\n");
    for (int s = 0; s < NSTATUS; s++)
        fprintf(out, "  %-15s %10" PRIu64 "  %5.1f%%\n", verdict_status_name((verdict_status)s),
                r->by_status[s], pct(r->by_status[s], r->done));
    fprintf(out, "By reason:\n");
    for (int i = 0; i < REASON__COUNT; i++) {
        if (!r->by_reason[i])
            continue;
        fprintf(out, "  %-15s %-18s %10" PRIu64 "  %5.1f%%\n",
                verdict_status_name(verdict_status_of((verdict_reason)i)),
                verdict_reason_name((verdict_reason)i), r->by_reason[i],
                pct(r->by_reason[i], r->done));
    }
}

static void text_bounce(const report *r, FILE *out)
{
    uint64_t d = r->by_status[VERDICT_DELIVERABLE];
    fprintf(out, "Expected bounce rate:\n");
    fprintf(out, "  mail every row         about %.1f%% (at least %.1f%%: the undeliverable rows; "
            "risky and unknown rows add uncertainty)\n", bounce_all(r), bounce_min(r));
    if (d)
        fprintf(out, "  mail deliverable only  about %.1f%% (%" PRIu64 " rows; their average "
                "bounce risk)\n", bounce_deliverable(r), d);
    else
        fprintf(out, "  mail deliverable only  n/a (no deliverable rows)\n");
}

static void text_domains(const report *r, FILE *out)
{
    if (!r->ntop)
        return;
    fprintf(out, "Top domains:\n  %-32s %8s %12s %14s %8s %8s\n", "domain", "rows",
            "deliverable", "undeliverable", "risky", "unknown");
    for (size_t i = 0; i < r->ntop; i++) {
        const report_domain *d = &r->top[i];
        fputs("  ", out);
        txt_put(out, d->name);
        int pad = 32 - (int)strlen(d->name);
        fprintf(out, "%*s %8" PRIu64 " %12" PRIu64 " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
                pad > 0 ? pad : 0, "", d->rows, d->by_status[0], d->by_status[1],
                d->by_status[2], d->by_status[3]);
    }
}

static void text_accept_all(const report *r, FILE *out)
{
    if (!r->from_state)
        return;
    fprintf(out, "Accept-all domains: %" PRIu64 "%s", r->accept_all_total,
            r->accept_all_total ? " (" : "\n");
    for (size_t i = 0; i < r->naccept_all; i++) {
        fputs(i ? ", " : "", out);
        txt_put(out, r->accept_all[i].name);
        fprintf(out, " %" PRIu64, r->accept_all[i].rows);
    }
    if (r->accept_all_total)
        fprintf(out, "%s rows)\n", r->accept_all_total > r->naccept_all ? ", …" : "");
}

static void text_hosts(const report *r, FILE *out)
{
    if (!r->from_state)
        return;
    if (!r->hosts_total) {
        fprintf(out, "Hosts that blocked or timed out the verifier: none\n");
        return;
    }
    fprintf(out, "Hosts that blocked or timed out the verifier: %" PRIu64 "\n", r->hosts_total);
    size_t shown = r->nhosts < TEXT_MAX_HOSTS ? r->nhosts : TEXT_MAX_HOSTS;
    for (size_t i = 0; i < shown; i++) {
        const report_host *h = &r->hosts[i];
        fputs("  ", out);
        txt_put(out, h->host);
        fputs(" [", out);
        txt_put(out, h->ip);
        fprintf(out, "]: %" PRId64 " sessions, blocked %" PRId64 ", timed out %" PRId64 "; %"
                PRIu64 " rows left unknown\n", h->sessions, h->blocks, h->timeouts,
                h->rows_unknown);
        if (h->last_code || h->last_text[0]) {
            fprintf(out, "    reply: %" PRId64 " ", h->last_code);
            txt_put(out, h->last_enhanced);
            fputs(h->last_enhanced[0] ? " " : "", out);
            txt_put(out, h->last_text);
            fputc('\n', out);
        }
        fprintf(out, "    fix:   %s\n", problem_hints[h->problem]);
    }
    if (r->hosts_total > shown)
        fprintf(out, "  … and %" PRIu64 " more (all of them: mailvet report --format html or json)\n",
                r->hosts_total - shown);
}

static void text_run(const report *r, FILE *out)
{
    fprintf(out, "Flags: %" PRIu64 " role, %" PRIu64 " free provider, %" PRIu64 " disposable, %"
            PRIu64 " likely typos\n", r->role, r->free, r->disposable, r->typos);
    if (r->retries_used >= 0)
        fprintf(out, "Retries used: %" PRId64 "\n", r->retries_used);
    if (r->from_state) {
        char b1[40], b2[40];
        fprintf(out, "Started %s, %s %s\n", date_text(b1, r->started_at),
                r->finished ? "finished" : "last update",
                date_text(b2, r->finished ? r->finished_at : r->updated_at));
    }
}

int report_write_text(const report *r, FILE *out)
{
    text_header(r, out);
    text_counts(r, out);
    text_bounce(r, out);
    text_domains(r, out);
    text_accept_all(r, out);
    text_hosts(r, out);
    text_run(r, out);
    return ferror(out) ? -1 : 0;
}

void report_summary_text(FILE *out, const batch_stats *st)
{
    report *r = report_new();
    if (!r) {
        fprintf(out, "mailvet: %" PRIu64 " rows checked (out of memory for the summary)\n",
                st->rows);
        return;
    }
    from_stats(r, st);
    report_write_text(r, out);
    if (r->no_email_cell)
        fprintf(out, "Rows without an email cell (too few fields): %" PRIu64
                " (marked invalid_syntax)\n", r->no_email_cell);
    if (r->long_rows)
        fprintf(out, "Rows with more fields than the header: %" PRIu64
                " (verdict columns follow their last field)\n", r->long_rows);
    report_free(r);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

static void js(FILE *out, const char *s)
{
    json_put_string(out, s, strlen(s));
}

static void js_key(FILE *out, const char *key)
{
    js(out, key);
    fputc(':', out);
}

static void js_date(FILE *out, const char *key, int64_t t)
{
    char buf[40];
    struct tm tm;
    time_t tt = (time_t)t;
    fputc(',', out);
    js_key(out, key);
    if (t > 0 && gmtime_r(&tt, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        js(out, buf);
    else
        fputs("null", out);
}

static void json_mix(FILE *out, const uint64_t *by_status)
{
    for (int s = 0; s < NSTATUS; s++) {
        fputc(',', out);
        js_key(out, verdict_status_name((verdict_status)s));
        fprintf(out, "%" PRIu64, by_status[s]);
    }
}

static void json_head(const report *r, FILE *out)
{
    fputc('{', out);
    js_key(out, "state");
    js(out, r->state_path);
    fputc(',', out);
    js_key(out, "input");
    js(out, r->input_path);
    fputc(',', out);
    js_key(out, "level");
    js(out, r->level);
    fprintf(out, ",\"finished\":%s,\"rows_total\":", r->finished ? "true" : "false");
    if (r->total_known)
        fprintf(out, "%" PRIu64, r->rows_total);
    else
        fputs("null", out);
    fprintf(out, ",\"rows_done\":%" PRIu64 ",\"rows_waiting_retry\":%" PRIu64, r->done,
            r->retry_waiting);
    js_date(out, "started_at", r->started_at);
    js_date(out, "updated_at", r->updated_at);
    js_date(out, "finished_at", r->finished_at);
    if (r->elapsed >= 0)
        fprintf(out, ",\"elapsed_s\":%.3f,\"rows_per_s\":%.3f", r->elapsed, rate(r));
    else
        fputs(",\"elapsed_s\":null,\"rows_per_s\":null", out);
    if (r->retries_used >= 0)
        fprintf(out, ",\"retries_used\":%" PRId64, r->retries_used);
    else
        fputs(",\"retries_used\":null", out);
}

static void json_counts(const report *r, FILE *out)
{
    fputs(",\"by_status\":{", out);
    for (int s = 0; s < NSTATUS; s++)
        fprintf(out, "%s\"%s\":%" PRIu64, s ? "," : "", verdict_status_name((verdict_status)s),
                r->by_status[s]);
    fputs("},\"by_reason\":{", out);
    for (int i = 0; i < REASON__COUNT; i++)
        fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", verdict_reason_name((verdict_reason)i),
                r->by_reason[i]);
    fprintf(out, "},\"flags\":{\"role\":%" PRIu64 ",\"free\":%" PRIu64 ",\"disposable\":%"
            PRIu64 ",\"did_you_mean\":%" PRIu64 "}", r->role, r->free, r->disposable, r->typos);
    fprintf(out, ",\"bounce\":{\"all_rows_min_pct\":%.2f,\"all_rows_expected_pct\":%.2f,"
            "\"deliverable_rows\":%" PRIu64 ",\"deliverable_only_expected_pct\":",
            bounce_min(r), bounce_all(r), r->by_status[VERDICT_DELIVERABLE]);
    if (r->by_status[VERDICT_DELIVERABLE])
        fprintf(out, "%.2f", bounce_deliverable(r));
    else
        fputs("null", out);
    fputs(",\"method\":\"mean mailvet_risk of the rows mailed; undeliverable rows count 100\"}",
          out);
}

static void json_lists(const report *r, FILE *out)
{
    fputs(",\"top_domains\":[", out);
    for (size_t i = 0; i < r->ntop; i++) {
        fputs(i ? ",{" : "{", out);
        js_key(out, "domain");
        js(out, r->top[i].name);
        fprintf(out, ",\"rows\":%" PRIu64, r->top[i].rows);
        json_mix(out, r->top[i].by_status);
        fputc('}', out);
    }
    fprintf(out, "],\"accept_all_domains_total\":%" PRIu64 ",\"accept_all_domains\":[",
            r->accept_all_total);
    for (size_t i = 0; i < r->naccept_all; i++) {
        fputs(i ? ",{" : "{", out);
        js_key(out, "domain");
        js(out, r->accept_all[i].name);
        fprintf(out, ",\"rows\":%" PRIu64 "}", r->accept_all[i].rows);
    }
    fprintf(out, "],\"problem_hosts_total\":%" PRIu64 ",\"problem_hosts\":[", r->hosts_total);
    for (size_t i = 0; i < r->nhosts; i++) {
        const report_host *h = &r->hosts[i];
        fputs(i ? ",{" : "{", out);
        js_key(out, "host");
        js(out, h->host);
        fputc(',', out);
        js_key(out, "ip");
        js(out, h->ip);
        fprintf(out, ",\"sessions\":%" PRId64 ",\"blocks\":%" PRId64 ",\"timeouts\":%" PRId64
                ",\"rows_unknown\":%" PRIu64 ",\"last_code\":%" PRId64 ",", h->sessions,
                h->blocks, h->timeouts, h->rows_unknown, h->last_code);
        js_key(out, "last_enhanced");
        js(out, h->last_enhanced);
        fputc(',', out);
        js_key(out, "last_text");
        js(out, h->last_text);
        fprintf(out, ",\"problem\":\"%s\",", problem_names[h->problem]);
        js_key(out, "hint");
        js(out, problem_hints[h->problem]);
        fputc('}', out);
    }
    fputs("]", out);
}

int report_write_json(const report *r, FILE *out)
{
    json_head(r, out);
    json_counts(r, out);
    json_lists(r, out);
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* HTML                                                                */

static const char *const status_color[NSTATUS] = {"#1f9d55", "#d64545", "#e09b00", "#8a94a6"};
static const char *const status_label[NSTATUS] = {"Deliverable", "Undeliverable", "Risky",
                                                  "Unknown"};

/* Escape for HTML text and attribute values. */
static void h(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if ((unsigned char)*s < 0x20 || *s == 0x7f)
                fputc(' ', out);
            else
                fputc(*s, out);
        }
    }
}

/* A long name in a chart label: cut at MAX bytes (on a UTF-8 boundary). */
static void h_short(FILE *out, const char *s, size_t max)
{
    char buf[REPORT_NAME_MAX];
    if (strlen(s) <= max) {
        h(out, s);
        return;
    }
    str_copy_utf8(buf, max + 1 < sizeof buf ? max + 1 : sizeof buf, s);
    h(out, buf);
    fputs("…", out);
}

static const char html_css[] =
    ":root{--ink:#1d2433;--muted:#5b6577;--line:#e3e7ee;--bg:#f4f6fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'Helvetica Neue',Arial,'Noto Sans','Liberation Sans',sans-serif}"
    "main{max-width:1100px;margin:0 auto;padding:28px 24px 40px}"
    "header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;"
    "flex-wrap:wrap;margin-bottom:18px}"
    ".eyebrow{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);"
    "font-weight:600}"
    "h1{font-size:26px;margin:2px 0 4px;word-break:break-all}"
    "h2{font-size:17px;margin:0 0 4px}"
    ".sub,.note{color:var(--muted);font-size:13px}"
    ".note{margin:0 0 12px}"
    ".banner{background:#fff6e0;border:1px solid #f0cf7a;color:#6b4d00;border-radius:10px;"
    "padding:10px 14px;margin-bottom:16px;font-weight:600}"
    ".kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-bottom:16px}"
    ".kpi,.card{background:#fff;border:1px solid var(--line);border-radius:12px;"
    "box-shadow:0 1px 2px rgba(16,24,40,.05)}"
    ".kpi{padding:14px 16px}"
    ".kpi b{display:block;font-size:28px;line-height:1.2;font-variant-numeric:tabular-nums}"
    ".kpi span{color:var(--muted);font-size:13px}"
    ".kpi.good b{color:#1f7a45}.kpi.bad b{color:#b83232}"
    ".card{padding:18px 20px;margin-bottom:16px;break-inside:avoid}"
    ".row{display:grid;grid-template-columns:280px 1fr;gap:24px;align-items:center}"
    ".two{display:grid;grid-template-columns:1fr 1fr;gap:16px}"
    "table{width:100%;border-collapse:collapse;font-size:14px;font-variant-numeric:tabular-nums}"
    "th{text-align:left;color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;"
    "letter-spacing:.04em;border-bottom:1px solid var(--line);padding:6px 8px}"
    "td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}"
    "tr:last-child td{border-bottom:0}"
    "td.n,th.n{text-align:right;white-space:nowrap}.nw{white-space:nowrap}"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:8px;"
    "vertical-align:-1px}"
    ".reply{font:12.5px/1.45 ui-monospace,'SFMono-Regular',Menlo,Consolas,'DejaVu Sans Mono',"
    "monospace;background:#f6f7f9;border:1px solid var(--line);border-radius:6px;padding:6px 8px;"
    "word-break:break-word;margin-top:4px}"
    ".tag{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;"
    "letter-spacing:.05em;border-radius:999px;padding:1px 8px;background:#fde8e8;color:#9b2c2c}"
    ".tag.timeout{background:#eef0f4;color:#4a5568}"
    ".fix{font-size:13.5px}"
    "svg{display:block;max-width:100%;height:auto}"
    "svg text{font-family:inherit}"
    "footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}"
    "@media (max-width:760px){.kpis{grid-template-columns:1fr 1fr}.row,.two{grid-template-columns:1fr}}"
    "@media print{@page{margin:14mm}body{background:#fff;font-size:12px}"
    "main{max-width:none;padding:0}.kpi,.card{box-shadow:none;border-color:#bbb}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "h2{break-after:avoid}tr{break-inside:avoid}}";

static void html_head(const report *r, FILE *out)
{
    const char *name = r->input_path[0] ? base_name(r->input_path) : base_name(r->state_path);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<meta name=\"generator\" content=\"mailvet " MAILVET_VERSION "\">"
          "<title>mailvet report \xE2\x80\x94 ", out);
    h(out, name);
    fprintf(out, "</title>\n<style>%s</style></head>\n<body><main>\n", html_css);
}

static void html_header(const report *r, FILE *out)
{
    char b1[40], b2[48], b3[48], b4[32];
    const char *name = r->input_path[0] ? base_name(r->input_path) : base_name(r->state_path);
    fputs("<header><div><div class=\"eyebrow\">Email list report</div><h1>", out);
    h(out, name);
    fputs("</h1><div class=\"sub\">", out);
    if (r->input_path[0] && strcmp(name, r->input_path) != 0) {
        h(out, r->input_path);
        fputs(" &middot; ", out);
    }
    fprintf(out, "%s rows &middot; checked at level ", num(b4, r->done));
    h(out, r->level[0] ? r->level : "?");
    fputs("</div></div>", out);
    fprintf(out, "<div class=\"sub\" style=\"text-align:right\">%s %s<br>"
            "elapsed %s &middot; %s</div></header>\n",
            r->finished ? "Finished" : "Last update",
            date_text(b1, r->finished ? r->finished_at : r->updated_at),
            duration(b2, r->elapsed), rate_text(b3, r));
    if (r->finished)
        return;
    fputs("<div class=\"banner\" id=\"unfinished\">Unfinished batch: ", out);
    if (r->total_known)
        fprintf(out, "%s of %s rows done (%.1f%%).", num(b4, r->done),
                num((char[32]){0}, r->rows_total), pct(r->done, r->rows_total));
    else
        fprintf(out, "%s rows done so far (total not known yet).", num(b4, r->done));
    if (r->retry_waiting)
        fprintf(out, " %s rows are waiting for a retry.", num(b4, r->retry_waiting));
    fputs(" Figures cover the finished rows only.</div>\n", out);
}

static void html_kpis(const report *r, FILE *out)
{
    char b[32];
    uint64_t d = r->by_status[VERDICT_DELIVERABLE];
    fprintf(out, "<section class=\"kpis\"><div class=\"kpi\"><span>Rows checked</span>"
            "<b id=\"rows\">%s</b><span>%s</span></div>", num(b, r->done),
            r->finished ? "whole list" : "so far");
    fprintf(out, "<div class=\"kpi good\"><span>Deliverable</span><b id=\"deliverable\">%.1f%%"
            "</b><span>%s addresses safe to mail</span></div>", pct(d, r->done), num(b, d));
    fprintf(out, "<div class=\"kpi bad\"><span>Bounce rate: all rows</span>"
            "<b id=\"bounce-all\">%.1f%%</b><span>at least %.1f%% certain</span></div>",
            bounce_all(r), bounce_min(r));
    if (d)
        fprintf(out, "<div class=\"kpi good\"><span>Bounce rate: deliverable only"
                "</span><b id=\"bounce-deliverable\">%.1f%%</b><span>estimated</span></div>",
                bounce_deliverable(r));
    else
        fputs("<div class=\"kpi\"><span>Bounce rate: deliverable only</span>"
              "<b id=\"bounce-deliverable\">n/a</b><span>no deliverable rows</span></div>", out);
    fputs("</section>\n", out);
}

/* The status donut: one stroked circle per status, labelled in place with
 * its percentage so the chart reads printed in black and white too. */
static void svg_donut(const report *r, FILE *out)
{
    const double cx = 120, cy = 120, rad = 86, w = 40, circ = 2 * M_PI * rad;
    char b[32];
    fprintf(out, "<svg viewBox=\"0 0 240 240\" width=\"240\" height=\"240\" role=\"img\" "
            "aria-label=\"Rows by status\"><circle cx=\"%g\" cy=\"%g\" r=\"%g\" fill=\"none\" "
            "stroke=\"#eef0f4\" stroke-width=\"%g\"/>", cx, cy, rad, w);
    double start = 0;
    for (int s = 0; s < NSTATUS && r->done; s++) {
        double len = circ * (double)r->by_status[s] / (double)r->done;
        if (len <= 0)
            continue;
        fprintf(out, "<circle cx=\"%g\" cy=\"%g\" r=\"%g\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"%g\" stroke-dasharray=\"%.3f %.3f\" stroke-dashoffset=\"%.3f\" "
                "transform=\"rotate(-90 %g %g)\"><title>%s</title></circle>", cx, cy, rad,
                status_color[s], w, len, circ - len, -start, cx, cy, status_label[s]);
        start += len;
    }
    start = 0;
    for (int s = 0; s < NSTATUS && r->done; s++) {
        double share = (double)r->by_status[s] / (double)r->done;
        double mid = 2 * M_PI * (start + share / 2) - M_PI / 2;
        start += share;
        if (share < 0.045)      /* too thin to hold a label; the legend has it */
            continue;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" dominant-baseline="
                "\"central\" font-size=\"13\" font-weight=\"700\" fill=\"#fff\" stroke=\"#0006\" "
                "stroke-width=\"0.6\" paint-order=\"stroke\">%.0f%%</text>",
                cx + rad * cos(mid), cy + rad * sin(mid), 100 * share);
    }
    fprintf(out, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\" font-size=\"26\" "
            "font-weight=\"700\" fill=\"#1d2433\">%s</text><text x=\"%g\" y=\"%g\" "
            "text-anchor=\"middle\" font-size=\"12\" fill=\"#5b6577\">rows</text></svg>",
            cx, cy + 4, num(b, r->done), cx, cy + 22);
}

static void html_status(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Verdicts</h2><p class=\"note\">Every row gets one of four "
          "statuses. Mail the deliverable ones; drop the undeliverable ones.</p><div class=\"row\">",
          out);
    svg_donut(r, out);
    fputs("<table id=\"status\"><tr><th>Status</th><th class=\"n\">Rows</th><th class=\"n\">Share"
          "</th><th>What it means</th></tr>", out);
    static const char *const meaning[NSTATUS] = {
        "the mailbox accepted the address: safe to mail",
        "certain to bounce: remove from the list",
        "may bounce: catch-all domains, full mailboxes, throwaway addresses",
        "no firm answer: servers refused, timed out or failed",
    };
    for (int s = 0; s < NSTATUS; s++)
        fprintf(out, "<tr><td class=\"nw\"><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
                "<td class=\"n\">%s</td><td class=\"n\">%.1f%%</td><td class=\"sub\">%s</td></tr>",
                status_color[s], status_label[s], num(b, r->by_status[s]),
                pct(r->by_status[s], r->done), meaning[s]);
    fputs("</table></div></section>\n", out);
}

/* Two bars: the bounce rate of mailing everything vs only deliverable
 * rows, against the 2% that mailbox providers and ESPs treat as a warning. */
static void html_bounce(const report *r, FILE *out)
{
    double all = bounce_all(r), minimum = bounce_min(r), del = bounce_deliverable(r);
    double scale = all > 7 ? all * 1.6 : 11.0;    /* percent at the right edge: room for labels */
    const double x0 = 210, wmax = 560;
    fputs("<section class=\"card\"><h2>Expected bounce rate</h2><p class=\"note\">Estimated as "
          "the average bounce risk (mailvet_risk) of the rows you mail: undeliverable rows count "
          "100%, risky and unknown rows their estimated risk, so they add uncertainty. Keep "
          "campaigns under about 2%.</p>", out);
    fprintf(out, "<svg viewBox=\"0 0 860 118\" role=\"img\" aria-label=\"Expected bounce rate\">");
    struct { const char *label; double v, floor; const char *color; } bars[2] = {
        {"Mail every row", all, minimum, "#d64545"},
        {"Mail deliverable only", del, 0, "#1f9d55"},
    };
    for (int i = 0; i < 2; i++) {
        double y = 14 + i * 46, wv = wmax * bars[i].v / scale, wf = wmax * bars[i].floor / scale;
        bool na = i == 1 && !r->by_status[VERDICT_DELIVERABLE];
        fprintf(out, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\" font-size=\"14\" "
                "font-weight=\"600\" fill=\"#1d2433\">%s</text>", x0 - 12, y + 19, bars[i].label);
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"28\" rx=\"5\" fill=\"#eef0f4\"/>",
                x0, y, wmax);
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"28\" rx=\"5\" fill=\"%s\" "
                "fill-opacity=\"0.45\"/>", x0, y, wv, bars[i].color);
        if (wf > 0)
            fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"28\" rx=\"5\" "
                    "fill=\"%s\"/>", x0, y, wf, bars[i].color);
        if (na) {
            fprintf(out, "<text x=\"%g\" y=\"%g\" font-size=\"14\" fill=\"#5b6577\">n/a "
                    "(no deliverable rows)</text>", x0 + 10, y + 19);
            continue;
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%g\" font-size=\"15\" font-weight=\"700\" "
                "fill=\"#1d2433\">%.1f%%<tspan font-size=\"12\" font-weight=\"400\" "
                "fill=\"#5b6577\">", x0 + wv + 8, y + 19, bars[i].v);
        if (i == 0)
            fprintf(out, " &#160;at least %.1f%% certain", minimum);
        else
            fprintf(out, " &#160;%s rows", num((char[32]){0}, r->by_status[VERDICT_DELIVERABLE]));
        fputs("</tspan></text>", out);
    }
    double x2 = x0 + wmax * 2.0 / scale;
    fprintf(out, "<line x1=\"%.1f\" y1=\"6\" x2=\"%.1f\" y2=\"104\" stroke=\"#1d2433\" "
            "stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"114\" "
            "font-size=\"11\" fill=\"#5b6577\" text-anchor=\"middle\">2%%</text></svg></section>\n",
            x2, x2, x2);
}

/* Horizontal bars, one per reason present, coloured by its status. */
static void html_reasons(const report *r, FILE *out)
{
    int order[REASON__COUNT], n = 0;
    for (int i = 0; i < REASON__COUNT; i++)
        if (r->by_reason[i])
            order[n++] = i;
    for (int i = 1; i < n; i++)          /* insertion sort: by rows, descending */
        for (int j = i; j > 0 && r->by_reason[order[j]] > r->by_reason[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    uint64_t max = n ? r->by_reason[order[0]] : 1;
    const double x0 = 250, wmax = 470, rowh = 34;
    char b[32];
    fputs("<section class=\"card\"><h2>Reasons</h2><p class=\"note\">Why each row got its status "
          "(the mailvet_reason column).</p>", out);
    fprintf(out, "<svg id=\"reasons\" viewBox=\"0 0 860 %g\" role=\"img\" aria-label=\"Rows by "
            "reason\">", n * rowh + 4);
    for (int k = 0; k < n; k++) {
        int i = order[k];
        double y = k * rowh + 4, w = wmax * (double)r->by_reason[i] / (double)max;
        verdict_status s = verdict_status_of((verdict_reason)i);
        fprintf(out, "<text x=\"0\" y=\"%g\" font-size=\"13.5\" font-weight=\"600\" "
                "fill=\"#1d2433\">%s</text><text x=\"0\" y=\"%g\" font-size=\"11\" "
                "fill=\"#5b6577\">%s &middot; %s</text>", y + 12, verdict_reason_name(i), y + 26,
                verdict_status_name(s), reason_help[i]);
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"20\" rx=\"4\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%g\" font-size=\"13\" fill=\"#1d2433\">"
                "<tspan font-weight=\"700\">%s</tspan> &#160;%.1f%%</text>",
                x0, y + 4, w < 2 ? 2 : w, status_color[s], x0 + (w < 2 ? 2 : w) + 8, y + 19,
                num(b, r->by_reason[i]), pct(r->by_reason[i], r->done));
    }
    fputs("</svg></section>\n", out);
}

static void svg_legend(FILE *out, double y)
{
    double x = 250;
    for (int s = 0; s < NSTATUS; s++) {
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"12\" height=\"12\" rx=\"3\" fill=\"%s\"/>"
                "<text x=\"%g\" y=\"%g\" font-size=\"12.5\" fill=\"#1d2433\">%s</text>",
                x, y, status_color[s], x + 17, y + 10.5, status_label[s]);
        x += 40 + 8.2 * (double)strlen(status_label[s]);
    }
}

/* Stacked bars for the top domains, scaled to the biggest one. */
static void html_domains(const report *r, FILE *out)
{
    if (!r->ntop)
        return;
    const double x0 = 250, wmax = 470, rowh = 32;
    char b[32];
    fputs("<section class=\"card\"><h2>Top domains</h2><p class=\"note\">The domains with the "
          "most rows and how their addresses fared.</p>", out);
    fprintf(out, "<svg id=\"domains\" viewBox=\"0 0 860 %g\" role=\"img\" aria-label=\"Top "
            "domains by status\">", r->ntop * rowh + 34);
    svg_legend(out, 2);
    for (size_t i = 0; i < r->ntop; i++) {
        const report_domain *d = &r->top[i];
        double y = 30 + i * rowh, x = x0;
        fputs("<text x=\"0\" y=\"", out);
        fprintf(out, "%g\" font-size=\"13.5\" fill=\"#1d2433\">", y + 16);
        h_short(out, d->name, 32);
        fputs("</text>", out);
        for (int s = 0; s < NSTATUS; s++) {
            double w = wmax * (double)d->by_status[s] / (double)r->top[0].rows;
            if (w <= 0)
                continue;
            fprintf(out, "<rect x=\"%.1f\" y=\"%g\" width=\"%.1f\" height=\"22\" fill=\"%s\">"
                    "<title>%s: %" PRIu64 "</title></rect>", x, y, w, status_color[s],
                    status_label[s], d->by_status[s]);
            if (w >= 26)
                fprintf(out, "<text x=\"%.1f\" y=\"%g\" font-size=\"11.5\" font-weight=\"700\" "
                        "fill=\"#fff\" text-anchor=\"middle\">%" PRIu64 "</text>", x + w / 2,
                        y + 15, d->by_status[s]);
            x += w;
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%g\" font-size=\"13\" font-weight=\"700\" "
                "fill=\"#1d2433\">%s</text>", x + 8, y + 16, num(b, d->rows));
    }
    fputs("</svg></section>\n", out);
}

static void html_accept_all(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Accept-all domains</h2><p class=\"note\">These servers "
          "accept any address, even made-up ones, so a mailbox cannot be confirmed. Their rows "
          "are risky: send to them carefully, or only to recently engaged contacts.</p>", out);
    if (!r->accept_all_total) {
        fputs("<p class=\"sub\">None found.</p></section>\n", out);
        return;
    }
    fputs("<table id=\"accept-all\"><tr><th>Domain</th><th class=\"n\">Rows</th></tr>", out);
    for (size_t i = 0; i < r->naccept_all; i++) {
        fputs("<tr><td>", out);
        h(out, r->accept_all[i].name);
        fprintf(out, "</td><td class=\"n\">%s</td></tr>", num(b, r->accept_all[i].rows));
    }
    if (r->accept_all_total > r->naccept_all)
        fprintf(out, "<tr><td class=\"sub\" colspan=\"2\">and %s more</td></tr>",
                num(b, r->accept_all_total - r->naccept_all));
    fputs("</table></section>\n", out);
}

static void html_flags(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Flags and run</h2><p class=\"note\">Flags raise the bounce "
          "risk but do not change the status.</p><table id=\"flags\">", out);
    fprintf(out, "<tr><td>Role addresses (info@, sales@, …)</td><td class=\"n\">%s</td></tr>",
            num(b, r->role));
    fprintf(out, "<tr><td>Free providers</td><td class=\"n\">%s</td></tr>", num(b, r->free));
    fprintf(out, "<tr><td>Disposable domains</td><td class=\"n\">%s</td></tr>",
            num(b, r->disposable));
    fprintf(out, "<tr><td>Likely typos (did you mean…)</td><td class=\"n\">%s</td></tr>",
            num(b, r->typos));
    if (r->retries_used >= 0)
        fprintf(out, "<tr><td>Retries used (greylisting, 4xx)</td>"
                "<td class=\"n\" id=\"retries\">%s</td></tr>", num(b, (uint64_t)r->retries_used));
    char d1[40], d2[48], d3[48];
    fprintf(out, "<tr><td>Started</td><td class=\"n\">%s</td></tr>",
            date_text(d1, r->started_at));
    fprintf(out, "<tr><td>Elapsed</td><td class=\"n\" id=\"elapsed\">%s</td></tr><tr><td>Rate"
            "</td><td class=\"n\" id=\"rate\">%s</td></tr>", duration(d2, r->elapsed),
            rate_text(d3, r));
    fputs("</table></section>\n", out);
}

static void html_host(const report_host *h_, FILE *out)
{
    char b[32];
    fputs("<tr><td><b>", out);
    h(out, h_->host);
    fputs("</b><br><span class=\"sub\">", out);
    h(out, h_->ip);
    fprintf(out, "</span></td><td><span class=\"tag%s\">%s</span><br><span class=\"sub\">",
            h_->problem == PROBLEM_TIMEOUT ? " timeout" : "",
            h_->problem == PROBLEM_BLOCKLIST ? "blocklisted"
            : h_->problem == PROBLEM_RDNS ? "needs rDNS"
            : h_->problem == PROBLEM_TIMEOUT ? "timed out" : "refused");
    if (h_->blocks)
        fprintf(out, "%" PRId64 " blocked ", h_->blocks);
    if (h_->timeouts)
        fprintf(out, "%" PRId64 " timed out ", h_->timeouts);
    fprintf(out, "of %" PRId64 " sessions</span></td><td class=\"n\">%s</td><td>",
            h_->sessions, num(b, h_->rows_unknown));
    if (h_->last_code || h_->last_text[0]) {
        fputs("<div class=\"reply\">", out);
        if (h_->last_code)
            fprintf(out, "%" PRId64 " ", h_->last_code);
        h(out, h_->last_enhanced);
        fputs(h_->last_enhanced[0] ? " " : "", out);
        h(out, h_->last_text);
        fputs("</div>", out);
    } else {
        fputs("<span class=\"sub\">no reply before the timeout</span>", out);
    }
    fprintf(out, "<div class=\"fix\"><b>What to do:</b> %s</div></td></tr>",
            problem_hints[h_->problem]);
}

static void html_hosts(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Servers that blocked or timed out the verifier</h2>"
          "<p class=\"note\">These refused the checking server itself, not the mailbox, so their "
          "rows stay unknown. The fix is on your side: your IP, its reverse DNS, or patience.</p>",
          out);
    if (!r->hosts_total) {
        fputs("<p class=\"sub\">None: no server blocked or timed out the verifier.</p>"
              "</section>\n", out);
        return;
    }
    fputs("<table id=\"hosts\"><tr><th style=\"width:25%\">Mail server</th><th style=\"width:15%\">"
          "Problem</th><th class=\"n\" style=\"width:8%\">Rows</th><th>Last reply and what to "
          "do</th></tr>", out);
    for (size_t i = 0; i < r->nhosts; i++)
        html_host(&r->hosts[i], out);
    if (r->hosts_total > r->nhosts)
        fprintf(out, "<tr><td class=\"sub\" colspan=\"4\">and %s more (see --format json)</td>"
                "</tr>", num(b, r->hosts_total - r->nhosts));
    fputs("</table></section>\n", out);
}

int report_write_html(const report *r, FILE *out)
{
    html_head(r, out);
    html_header(r, out);
    html_kpis(r, out);
    html_status(r, out);
    html_bounce(r, out);
    html_reasons(r, out);
    html_domains(r, out);
    html_hosts(r, out);
    fputs("<div class=\"two\">", out);
    html_accept_all(r, out);
    html_flags(r, out);
    fputs("</div>\n<footer>mailvet " MAILVET_VERSION " &middot; state file ", out);
    h(out, base_name(r->state_path));
    fputs("</footer>\n</main></body></html>\n", out);
    return ferror(out) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

typedef int (*report_writer)(const report *, FILE *);

static report_writer writer_for(const char *format)
{
    if (!format || strcmp(format, "text") == 0)
        return report_write_text;
    if (strcmp(format, "json") == 0)
        return report_write_json;
    if (strcmp(format, "html") == 0)
        return report_write_html;
    return NULL;
}

/* Write to a temporary file beside OUTPUT, then rename it into place, so
 * a failed write never leaves a half report behind. */
static int write_file(const report *r, report_writer w, const char *output)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", output) >= (int)sizeof tmp) {
        fprintf(stderr, "mailvet report: %s: path too long\n", output);
        return 1;
    }
    int fd = mkstemp(tmp);       /* mode 0600: reports name personal data */
    if (fd < 0) {
        fprintf(stderr, "mailvet report: %s: %s\n", output, strerror(errno));
        return 1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        fprintf(stderr, "mailvet report: %s: %s\n", output, strerror(errno));
        return 1;
    }
    int rc = w(r, f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -1;
    int saved = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, output) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc) {
        unlink(tmp);
        fprintf(stderr, "mailvet report: cannot write %s: %s\n", output,
                saved ? strerror(saved) : "write error");
        return 1;
    }
    return 0;
}

int report_run(const char *state_path, const char *format, const char *output)
{
    report_writer w = writer_for(format);
    if (!w) {
        fprintf(stderr, "mailvet report: unknown --format '%s' (text, json or html)\n", format);
        return 2;
    }
    char err[PATH_MAX + 256] = "";
    report *r = report_load(state_path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "mailvet report: %s\n", err);
        return 2;
    }
    int rc;
    if (!output || strcmp(output, "-") == 0) {
        rc = w(r, stdout) || fflush(stdout) != 0 ? 1 : 0;
        if (rc)
            fprintf(stderr, "mailvet report: cannot write to standard output: %s\n",
                    strerror(errno));
    } else {
        rc = write_file(r, w, output);
    }
    report_free(r);
    return rc;
}
