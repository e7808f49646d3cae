/* test_report.c — the batch report from a state file (tests/data/
 * report-sample.sql loaded into a temporary SQLite file) in text, JSON and
 * HTML; unfinished batches; bad state files; report_run's exit codes and
 * file mode; clean's summary from counters. Runs from the repo root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

#define FIXTURE "tests/data/report-sample.sql"

typedef struct fx {
    char dir[64];
    char db[128];
} fx;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sql: %s", msg ? msg : "?");
    sqlite3_close(h);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_report.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/batch.state", f->dir);
    char *sql = slurp(FIXTURE);
    if (!sql)
        return -1;
    exec_sql(f->db, sql);
    free(sql);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

typedef int (*writer)(const report *, FILE *);

/* Render the fixture's report with W into a malloc'd string. */
static char *render(const char *db, writer w)
{
    char err[512];
    report *r = report_load(db, err, sizeof err);
    if (!r)
        fail_msg("report_load: %s", err);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(w(r, m), 0);
    fclose(m);
    report_free(r);
    return buf;
}

static void has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("missing: %s", needle);
}

static void lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("unexpected: %s", needle);
}

/* A before B in HAY (both present). */
static void before(const char *hay, const char *a, const char *b)
{
    const char *pa = strstr(hay, a), *pb = strstr(hay, b);
    if (!pa || !pb || pa >= pb)
        fail_msg("want '%s' before '%s'", a, b);
}

static void test_text(void **state)
{
    fx *f = *state;
    char *t = render(f->db, report_write_text);
    has(t, "mailvet: 323 rows checked in 4 min 7 s (1.3 rows/s)");
    has(t, "Input: exports/leads Q3 & Q4.csv");
    has(t, "  deliverable            191   59.1%");
    has(t, "  undeliverable           48   14.9%");
    has(t, "  risky                   42   13.0%");
    has(t, "  unknown                 42   13.0%");
    has(t, "mailbox_not_found          23    7.1%");
    has(t, "about 31.7% (at least 14.9%");
    has(t, "about 5.6% (191 rows");
    before(t, "gmail.com   ", "yahoo.com   ");
    before(t, "yahoo.com   ", "outlook.com   ");
    before(t, "hotmail.com   ", "acme-corp.com   ");
    before(t, "acme-corp.com   ", "icloud.com   ");   /* tie on 14 rows: by name */
    lacks(t, "proton.me");                            /* 11th domain */
    has(t, "Accept-all domains: 3 (bigcorp.com 22, startup.io 9, newsletter-hub.com 0 rows)");
    has(t, "Hosts that blocked or timed out the verifier: 4");
    has(t, "mx1.acme-corp.com [198.51.100.20]: 3 sessions, blocked 3, timed out 0; 14 rows");
    has(t, "Your sending IP is on a blocklist");
    has(t, "set a PTR record for your IP that matches --helo");
    has(t, "raise --command-timeout");
    has(t, "Retries used: 17");
    has(t, "Flags: 22 role, 225 free provider, 7 disposable, 5 likely typos");
    lacks(t, "Unfinished");
    free(t);
}

static void test_json(void **state)
{
    fx *f = *state;
    char *j = render(f->db, report_write_json);
    has(j, "\"finished\":true,\"rows_total\":323,\"rows_done\":323");
    has(j, "\"by_status\":{\"deliverable\":191,\"undeliverable\":48,\"risky\":42,\"unknown\":42}");
    has(j, "\"mailbox_not_found\":23");
    has(j, "\"all_rows_min_pct\":14.86,\"all_rows_expected_pct\":31.73");
    has(j, "\"deliverable_only_expected_pct\":5.63");
    has(j, "\"input\":\"exports/leads Q3 & Q4.csv\"");
    has(j, "{\"domain\":\"gmail.com\",\"rows\":83,\"deliverable\":72,\"undeliverable\":11,"
           "\"risky\":0,\"unknown\":0}");
    before(j, "\"domain\":\"outlook.com\"", "\"domain\":\"bigcorp.com\",\"rows\":22,\"deliverable\"");
    has(j, "\"accept_all_domains_total\":3");
    has(j, "\"problem\":\"blocklist\"");
    has(j, "\"problem\":\"rdns\"");
    has(j, "\"problem\":\"timeout\"");
    has(j, "\"problem\":\"policy\"");
    has(j, "\"last_text\":\"<script>alert(1)</script> go away & \\\"stay\\\" away\"");
    has(j, "\"retries_used\":17");
    has(j, "\"elapsed_s\":247.300");
    assert_int_equal(j[strlen(j) - 1], '\n');
    assert_non_null(strchr(j, '\n'));
    assert_ptr_equal(strchr(j, '\n'), j + strlen(j) - 1);  /* one line */
    free(j);
}

static void test_html(void **state)
{
    fx *f = *state;
    char *h = render(f->db, report_write_html);
    has(h, "<!DOCTYPE html>");
    has(h, "<h1>leads Q3 &amp; Q4.csv</h1>");
    has(h, "<b id=\"rows\">323</b>");
    has(h, "<b id=\"deliverable\">59.1%</b>");
    has(h, "<b id=\"bounce-all\">31.7%</b>");
    has(h, "<b id=\"bounce-deliverable\">5.6%</b>");
    has(h, "<svg");
    before(h, ">gmail.com</text>", ">yahoo.com</text>");
    before(h, ">yahoo.com</text>", ">outlook.com</text>");
    has(h, "<td>bigcorp.com</td><td class=\"n\">22</td>");
    has(h, "mx00.t-online.de");
    has(h, "&lt;script&gt;alert(1)&lt;/script&gt; go away &amp; &quot;stay&quot; away");
    has(h, "@media print");
    /* self-contained: no scripts, no external or embedded resources */
    lacks(h, "<script");
    lacks(h, "src=");
    lacks(h, "<link");
    lacks(h, "@import");
    lacks(h, "url(");
    lacks(h, "<img");
    lacks(h, "Unfinished");
    has(h, "</html>\n");
    free(h);
}

static void test_unfinished(void **state)
{
    fx *f = *state;
    exec_sql(f->db, "UPDATE meta SET value = '' WHERE key = 'finished_at';"
                    "UPDATE meta SET value = '500' WHERE key = 'rows_total';"
                    "INSERT INTO retries VALUES (323, 1717226000, 1, 'a@university.edu', "
                    "'university.edu', 'greylisted', 451, '4.7.1', 'try later', 'mail.university.edu');");
    char *t = render(f->db, report_write_text);
    has(t, "Unfinished: 323 of 500 rows done (64.6%)");
    has(t, "1 rows are waiting for a retry");
    has(t, "last update 2024-06-01 07:04 UTC");
    free(t);
    char *h = render(f->db, report_write_html);
    has(h, "Unfinished batch: 323 of 500 rows done (64.6%).");
    free(h);
    char *j = render(f->db, report_write_json);
    has(j, "\"finished\":false,\"rows_total\":500,\"rows_done\":323,\"rows_waiting_retry\":1");
    has(j, "\"finished_at\":null");
    free(j);
    exec_sql(f->db, "DELETE FROM meta WHERE key = 'rows_total';");
    t = render(f->db, report_write_text);
    has(t, "Unfinished: 323 rows done so far (total not known yet)");
    free(t);
}

static void test_empty_batch(void **state)
{
    fx *f = *state;
    exec_sql(f->db, "DELETE FROM results; DELETE FROM hosts; DELETE FROM domains;"
                    "UPDATE meta SET value = '' WHERE key IN ('finished_at', 'elapsed_s');");
    char *h = render(f->db, report_write_html);
    has(h, "<b id=\"rows\">0</b>");
    has(h, "Unfinished batch: 0 of 323 rows done");
    lacks(h, "\"nan");     /* no NaN or infinity in SVG coordinates or labels */
    lacks(h, "\"-nan");
    lacks(h, "\"inf");
    lacks(h, "nan%");
    lacks(h, "inf%");
    free(h);
    char *t = render(f->db, report_write_text);
    has(t, "mailvet: 0 rows checked in n/a (n/a)");
    has(t, "Hosts that blocked or timed out the verifier: none");
    free(t);
    char *j = render(f->db, report_write_json);
    has(j, "\"elapsed_s\":null");
    has(j, "\"deliverable_only_expected_pct\":null");
    free(j);
}

/* Control characters from a hostile reply never reach a terminal. */
static void test_text_control_chars(void **state)
{
    fx *f = *state;
    exec_sql(f->db, "UPDATE hosts SET last_text = 'evil' || char(27) || '[2Jtext' "
                    "WHERE host = 'mx.shady-hosting.biz';");
    char *t = render(f->db, report_write_text);
    has(t, "evil?[2Jtext");
    lacks(t, "\x1b");
    free(t);
}

static void expect_load_error(const char *path, const char *want)
{
    char err[512];
    report *r = report_load(path, err, sizeof err);
    assert_null(r);
    has(err, want);
    has(err, path);
}

static void test_bad_files(void **state)
{
    fx *f = *state;
    char p[160];
    snprintf(p, sizeof p, "%s/missing.state", f->dir);
    expect_load_error(p, "No such file or directory");
    assert_int_equal(report_run(p, "text", NULL), 2);

    snprintf(p, sizeof p, "%s/list.csv", f->dir);
    FILE *o = fopen(p, "w");
    fputs("email\nalice@example.com\nbob@example.com, and some more text to fill a page\n", o);
    fclose(o);
    expect_load_error(p, "not a mailvet state file (not an SQLite database)");
    assert_int_equal(report_run(p, "html", NULL), 2);

    snprintf(p, sizeof p, "%s/other.db", f->dir);
    exec_sql(p, "CREATE TABLE t(x);");
    expect_load_error(p, "not a mailvet state file (no meta table)");

    snprintf(p, sizeof p, "%s/future.state", f->dir);
    exec_sql(p, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                "INSERT INTO meta VALUES ('format_version', '7');");
    expect_load_error(p, "state file format 7 is not supported");

    expect_load_error(f->dir, "not a regular file");
}

static void test_run(void **state)
{
    fx *f = *state;
    char out[160];
    snprintf(out, sizeof out, "%s/report.html", f->dir);
    assert_int_equal(report_run(f->db, "html", out), 0);
    struct stat sb;
    assert_int_equal(stat(out, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *h = slurp(out);
    has(h, "<b id=\"rows\">323</b>");
    free(h);
    assert_int_equal(report_run(f->db, "xml", out), 2);
    /* a report file in a missing directory is a usage error, refused before writing */
    assert_int_equal(report_run(f->db, "json", "/nonexistent-dir/r.json"), 2);
    /* the state file is never written: still readable, same size */
    struct stat before_st, after_st;
    assert_int_equal(stat(f->db, &before_st), 0);
    assert_int_equal(report_run(f->db, "text", out), 0);
    assert_int_equal(stat(f->db, &after_st), 0);
    assert_int_equal(before_st.st_mtime, after_st.st_mtime);
    assert_int_equal(before_st.st_size, after_st.st_size);
}

static void test_summary_from_stats(void **state)
{
    (void)state;
    batch_stats st = {0};
    st.rows = 3;
    st.by_reason[REASON_INVALID_SYNTAX] = 1;
    st.by_reason[REASON_ACCEPTED] = 2;
    st.no_email_cell = 1;
    st.long_rows = 1;
    st.role = 1;
    st.elapsed = 0.5;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    report_summary_text(m, &st);
    fclose(m);
    has(buf, "mailvet: 3 rows checked in 0.50 s (6.0 rows/s)");
    has(buf, "  deliverable              2   66.7%");
    has(buf, "invalid_syntax");
    has(buf, "about 3.0% (2 rows");
    has(buf, "Rows without an email cell (too few fields): 1");
    has(buf, "Rows with more fields than the header: 1");
    lacks(buf, "Unfinished");
    lacks(buf, "Accept-all");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfinished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_control_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run, setup, teardown),
        cmocka_unit_test(test_summary_from_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
