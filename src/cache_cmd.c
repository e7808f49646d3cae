/* cache_cmd.c — `mailvet cache stats` (entries by status and reason, their
 * ages, how many a run would reuse) and `mailvet cache prune` (delete the
 * entries a run with --max-age D would not reuse), on a file cache_open()
 * accepted. Ages are counted from now.
 *
 * prune deletes in transactions of PRUNE_CHUNK rows, so runs sharing the
 * file wait for it a moment at a time, not for the whole prune. The file
 * keeps its size: SQLite reuses the freed pages for later entries.
 */
#include "cache_cmd.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cache_policy.h"

#define PRUNE_CHUNK 10000

static int sql_fail(cache *c, const char *what)
{
    fprintf(stderr, "mailvet cache: %s: %s: %s\n", cache_path(c), what,
            sqlite3_errmsg(cache_db(c)));
    return EXIT_RUNTIME;
}

/* The reasons whose entries live under the domain age, as an SQL list
 * ('accept_all','invalid_domain',…) from the policy. */
static void domain_reasons(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int r = 0; r < REASON__COUNT; r++)
        if (cache_kind_of((verdict_reason)r) == CACHE_KIND_DOMAIN && n < len)
            n += (size_t)snprintf(buf + n, len - n, "%s'%s'", n ? "," : "",
                                  verdict_reason_name((verdict_reason)r));
}

/* The entry ages of TABLE (N rows): oldest, median and newest, at NOW. */
static int print_ages(cache *c, const char *table, int64_t n, int64_t now)
{
    if (n == 0)
        return 0;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT checked_at FROM %s ORDER BY checked_at LIMIT 1 OFFSET ?",
             table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cache_db(c), sql, -1, &st, NULL) != SQLITE_OK)
        return sql_fail(c, "cannot read the cache");
    int64_t at[3];
    int64_t offs[3] = {0, n / 2, n - 1};
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_int64(st, 1, offs[i]);
        at[i] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : now;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    char a[32], b[32], d[32];
    printf("  ages: oldest %s, median %s, newest %s\n", cache_age_text(now - at[0], a),
           cache_age_text(now - at[1], b), cache_age_text(now - at[2], d));
    return 0;
}

/* Mailbox verdicts by reason, with how many are fresh under AGES. */
static int stats_mailboxes(cache *c, const cache_ages *ages, int64_t now, int64_t *fresh)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cache_db(c), "SELECT reason, count(*), total(checked_at > ?1),"
                           " total(checked_at > ?2) FROM mailboxes GROUP BY reason"
                           " ORDER BY count(*) DESC, reason", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(c, "cannot read the cache");
    sqlite3_bind_int64(st, 1, ages->mailbox ? now - ages->mailbox : INT64_MAX);
    sqlite3_bind_int64(st, 2, ages->domain ? now - ages->domain : INT64_MAX);
    int64_t total = 0;
    char lines[REASON__COUNT + 8][96];
    int nl = 0, rc;
    *fresh = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int reason = verdict_reason_parse(name ? name : "");
        int64_t n = sqlite3_column_int64(st, 1);
        total += n;
        if (reason >= 0 && cache_keeps((verdict_reason)reason, true))
            *fresh += (int64_t)sqlite3_column_double(
                st, cache_kind_of((verdict_reason)reason) == CACHE_KIND_DOMAIN ? 3 : 2);
        if (nl < (int)(sizeof lines / sizeof *lines))
            snprintf(lines[nl++], sizeof lines[0], "  %-15s %-18s %10" PRId64,
                     reason >= 0 ? verdict_status_name(verdict_status_of((verdict_reason)reason))
                                 : "?", name ? name : "", n);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_fail(c, "cannot read the cache");
    printf("Mailbox verdicts: %" PRId64 "\n", total);
    for (int i = 0; i < nl; i++)
        puts(lines[i]);
    return print_ages(c, "mailboxes", total, now);
}

static int stats_domains(cache *c, const cache_ages *ages, int64_t now, int64_t *fresh)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cache_db(c), "SELECT fact, count(*), total(checked_at > ?1)"
                           " FROM domains GROUP BY fact ORDER BY count(*) DESC, fact", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_fail(c, "cannot read the cache");
    sqlite3_bind_int64(st, 1, ages->domain ? now - ages->domain : INT64_MAX);
    int64_t total = 0;
    char lines[CACHE_FACT__COUNT + 8][96];
    int nl = 0, rc;
    *fresh = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        total += n;
        *fresh += (int64_t)sqlite3_column_double(st, 2);
        if (nl < (int)(sizeof lines / sizeof *lines))
            snprintf(lines[nl++], sizeof lines[0], "  %-34s %10" PRId64, name ? name : "", n);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_fail(c, "cannot read the cache");
    printf("Domain facts: %" PRId64 "\n", total);
    for (int i = 0; i < nl; i++)
        puts(lines[i]);
    return print_ages(c, "domains", total, now);
}

static int run_stats(cache *c, const cli_opts *o, int64_t now)
{
    cache_ages ages;
    cache_ages_from(o->max_age, &ages);
    int64_t fresh_mb = 0, fresh_dom = 0;
    printf("Cache: %s\n", cache_path(c));
    int rc = sqlite3_exec(cache_db(c), "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0
             : sql_fail(c, "cannot read the cache");
    if (rc == 0)
        rc = stats_mailboxes(c, &ages, now, &fresh_mb);
    if (rc == 0)
        rc = stats_domains(c, &ages, now, &fresh_dom);
    sqlite3_exec(cache_db(c), "COMMIT", NULL, NULL, NULL);
    if (rc)
        return rc;
    char a[32], b[32];
    printf("Reused by a run with --max-age %s: %" PRId64 " mailbox verdicts, %" PRId64
           " domain facts (domain facts up to %s old)\n",
           o->max_age ? cache_age_text(ages.mailbox, a) : "0", fresh_mb, fresh_dom,
           cache_age_text(ages.domain, b));
    return 0;
}

/* Delete the rows SQL (with the cut-offs bound) picks, PRUNE_CHUNK per
 * transaction; *N gets how many. */
static int prune_table(cache *c, const char *sql, int64_t cut1, int64_t cut2, int64_t *n)
{
    sqlite3 *db = cache_db(c);
    sqlite3_stmt *st = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sql_fail(c, "cannot prune the cache");
    int rc = SQLITE_OK;
    for (;;) {
        sqlite3_bind_int64(st, 1, cut1);
        sqlite3_bind_int64(st, 2, cut2);
        sqlite3_bind_int(st, 3, PRUNE_CHUNK);
        if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
            break;
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        int got = rc == SQLITE_DONE ? sqlite3_changes(db) : 0;
        if (rc != SQLITE_DONE || (rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
            break;
        *n += got;
        if (got < PRUNE_CHUNK)
            break;
    }
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sql_fail(c, "cannot prune the cache");
}

static int64_t count_rows(cache *c, const char *table)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(cache_db(c), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int run_prune(cache *c, const cli_opts *o, int64_t now)
{
    cache_ages ages;
    cache_ages_from(o->max_age, &ages);
    /* an entry is kept while fresh: checked_at > now - age */
    int64_t cut_mb = ages.mailbox ? now - ages.mailbox : INT64_MAX;
    int64_t cut_dom = ages.domain ? now - ages.domain : INT64_MAX;
    char reasons[256], sql[768];
    domain_reasons(reasons, sizeof reasons);
    snprintf(sql, sizeof sql, "DELETE FROM mailboxes WHERE email IN (SELECT email FROM mailboxes"
             " WHERE checked_at <= CASE WHEN reason IN (%s) THEN ?2 ELSE ?1 END LIMIT ?3)",
             reasons);
    int64_t nmb = 0, ndom = 0;
    int rc = prune_table(c, sql, cut_mb, cut_dom, &nmb);
    if (rc == 0)
        rc = prune_table(c, "DELETE FROM domains WHERE domain IN (SELECT domain FROM domains"
                         " WHERE checked_at <= ?2 LIMIT ?3)", cut_mb, cut_dom, &ndom);
    if (rc)
        return rc;
    char a[32], b[32];
    printf("Pruned %" PRId64 " mailbox verdicts older than %s and %" PRId64 " domain facts older "
           "than %s from %s; %" PRId64 " and %" PRId64 " kept\n", nmb,
           o->max_age ? cache_age_text(ages.mailbox, a) : "0 s (all)", ndom,
           o->max_age ? cache_age_text(ages.domain, b) : "0 s (all)", cache_path(c),
           count_rows(c, "mailboxes"), count_rows(c, "domains"));
    return 0;
}

int cache_cmd_run(const cli_opts *o)
{
    bool prune = strcmp(o->args[0], "prune") == 0;
    cache *c = NULL;
    char err[1024];
    if (cache_open(o->args[1], prune ? CACHE_OPEN_WRITE : 0, &c, err, sizeof err) != 0) {
        fprintf(stderr, "mailvet cache: %s\n", err);
        return EXIT_USAGE;
    }
    int64_t now = (int64_t)time(NULL);
    int rc = prune ? run_prune(c, o, now) : run_stats(c, o, now);
    cache_close(c);
    return rc;
}
