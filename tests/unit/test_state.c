/* test_state.c — the state file: create, resume, identity checks, safety
 * against foreign files, the writer thread (errors, kill -9, throughput).
 * Every file lives under a mkdtemp directory removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "result.h"
#include "state.h"

static char dir[200];
static int seq;

#define OPTS "level=smtp;from=verify@example.net;helo=example.net;port=25;starttls=auto;" \
             "column=auto;retry=360,900,1800"

static const char *tpath(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%d-%s", dir, seq, name);
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap);
    close(fd);
    assert_true(n >= 0);
    return (size_t)n;
}

/* An input CSV of N rows. */
static void make_input(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "email,name\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "user%d@example%d.com,Name %d\n", i, i % 7, i);
    fclose(f);
}

static void identity(const char *input, state_identity *id)
{
    char err[256];
    assert_int_equal(state_identify(input, id, err, sizeof err), 0);
    id->options = OPTS;
}

/* A result with every field set, different for each row. */
static void make_result(uint64_t row, result *r)
{
    result_init(r);
    snprintf(r->email, sizeof r->email, "user%llu@exämple%llu.com", (unsigned long long)row,
             (unsigned long long)(row % 7));
    r->reason = (verdict_reason)(row % REASON__COUNT);
    r->risk = (int)(row % 101);
    if (row % 3 == 0)
        snprintf(r->did_you_mean, sizeof r->did_you_mean, "user%llu@gmail.com",
                 (unsigned long long)row);
    r->role = row % 2;
    r->free = row % 5 == 0;
    r->disposable = row % 11 == 0;
    r->accept_all = (result_tri)((int)(row % 3) - 1);
    snprintf(r->mx, sizeof r->mx, "mx%llu.example.com", (unsigned long long)(row % 4));
    if (row % 4) {
        r->smtp_code = 550 - (int)(row % 4) * 100;
        snprintf(r->smtp_enhanced, sizeof r->smtp_enhanced, "5.1.%d", (int)(row % 4));
        snprintf(r->smtp_text, sizeof r->smtp_text, "user unknown, row %llu; 'quote' \"dq\"",
                 (unsigned long long)row);
    }
    r->attempts = (int)(row % 4);
    if (r->smtp_code)
        snprintf(r->mx_ip, sizeof r->mx_ip, "127.1.%d.%d", (int)(row % 4), (int)(row % 251));
    r->checked_at = row % 6 ? 1796226660 + (int64_t)row : 0;
    snprintf(r->route, sizeof r->route, "%s", row % 3 == 0 ? "" : row % 3 == 1 ? "direct"
                                                                   : "socks5://u@127.0.0.1:1080");
}

static void assert_result_equal(const result *a, const result *b)
{
    char x[ADDR_BUF], y[ADDR_BUF];
    for (int i = 0; i < RESULT_NCOLUMNS; i++) {
        result_column(a, i, x, sizeof x);
        result_column(b, i, y, sizeof y);
        assert_string_equal(x, y);
    }
    assert_int_equal(a->reason, b->reason);
    assert_int_equal(a->accept_all, b->accept_all);
}

static int open_ok(const char *path, const state_identity *id, bool restart, state **s)
{
    char err[512] = "";
    int rc = state_open(path, id, restart, s, err, sizeof err);
    if (rc < 0)
        print_error("state_open: %s\n", err);
    assert_true(rc >= 0);
    return rc;
}

static int open_fails(const char *path, const state_identity *id, bool restart, char *err,
                      size_t len)
{
    state *s = (state *)1;
    int rc = state_open(path, id, restart, &s, err, len);
    assert_int_equal(rc, -1);
    assert_null(s);
    return rc;
}

static int setup(void **st)
{
    (void)st;
    seq++;
    return 0;
}

/* ---- round trip ---- */

typedef struct retry_seen {
    int n;
    uint64_t rows[16];
    state_retry r[16];
} retry_seen;

static int on_retry(void *ud, const state_retry *r)
{
    retry_seen *rs = ud;
    assert_true(rs->n < 16);
    rs->r[rs->n++] = *r;
    return 0;
}

typedef struct dom_seen {
    int n, unset, yes, no;
    char mx[256];
} dom_seen;

static int on_domain(void *ud, const char *domain, result_tri aa, const char *mx)
{
    dom_seen *d = ud;
    d->n++;
    if (strcmp(domain, "catchall.example") == 0) {
        assert_int_equal(aa, TRI_TRUE);
        snprintf(d->mx, sizeof d->mx, "%s", mx);
    }
    d->unset += aa == TRI_UNSET;
    d->yes += aa == TRI_TRUE;
    d->no += aa == TRI_FALSE;
    return 0;
}

static void put_rows(state_writer *w, uint64_t from, uint64_t to)
{
    result r;
    for (uint64_t row = from; row < to; row++) {
        make_result(row, &r);
        state_put_result(w, row, row % 13 ? "exämple.com" : NULL, &r);
    }
}

static void test_roundtrip(void **st)
{
    (void)st;
    char in[256], sp[256], err[512];
    make_input(tpath("in.csv", in, sizeof in), 100);
    state_identity id;
    identity(in, &id);
    state *s;
    assert_int_equal(open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s), 0);
    assert_int_equal(state_meta_set(s, "email_column", "0"), 0);
    state_writer *w = state_writer_start(s, err, sizeof err);
    assert_non_null(w);
    /* rows 0..999 except 500..509 (retrying); out of order on purpose */
    put_rows(w, 600, 1000);
    put_rows(w, 0, 500);
    put_rows(w, 510, 600);
    result last;
    make_result(9999, &last);
    last.reason = REASON_GREYLISTED;
    last.smtp_code = 450;
    snprintf(last.smtp_enhanced, sizeof last.smtp_enhanced, "4.7.1");
    snprintf(last.smtp_text, sizeof last.smtp_text, "Greylisted, try again in 5 minutes");
    snprintf(last.mx, sizeof last.mx, "mx.grey.example");
    for (int i = 0; i < 10; i++) {
        last.attempts = i;               /* the answers so far: not the retry number */
        state_put_retry(w, 500 + (uint64_t)i, 1.7e9 + i + 0.25, i + 1, "g@grey.example",
                        "grey.example", &last);
    }
    state_put_domain(w, "catchall.example", TRI_TRUE, "mx.catchall.example");
    state_put_domain(w, "catchall.example", TRI_UNSET, "");   /* keeps what was learned */
    state_put_domain(w, "plain.example", TRI_FALSE, "mx.plain.example");
    state_put_domain(w, "unknown.example", TRI_UNSET, NULL);
    state_host h1 = {.host = "mx.grey.example", .ip = "127.0.0.5", .provider = "grey.example",
                     .sessions = 3, .timeouts = 1, .connects = 3, .rcpt_cap = 50,
                     .cleartext = true, .last_code = 450, .last_enhanced = "4.7.1",
                     .last_text = "Greylisted"};
    state_host h2 = {.host = "mx.grey.example", .ip = "127.0.0.5", .provider = "grey.example",
                     .sessions = 4, .timeouts = 1, .blocks = 2, .connects = 4, .rcpt_cap = 25,
                     .last_code = 554, .last_enhanced = "5.7.1", .last_text = "blocked"};
    state_put_host(w, &h1);
    state_put_host(w, &h2);                  /* cleartext, once learned, stays */
    state_put_meta(w, "rows_total", "1000");
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    state_close(s);

    assert_int_equal(open_ok(sp, &id, false, &s), 1);
    char buf[64];
    assert_true(state_meta_get(s, "rows_total", buf, sizeof buf));
    assert_string_equal(buf, "1000");
    assert_true(state_meta_get(s, "email_column", buf, sizeof buf));
    assert_string_equal(buf, "0");
    assert_true(state_meta_get(s, "level", buf, sizeof buf));
    assert_string_equal(buf, "smtp");
    assert_true(state_meta_get(s, "format_version", buf, sizeof buf));
    assert_string_equal(buf, "1");
    assert_false(state_meta_get(s, "nonexistent", buf, sizeof buf));

    uint8_t *bm;
    uint64_t nbits;
    assert_int_equal(state_finished_rows(s, &bm, &nbits), 0);
    assert_int_equal(nbits, 1000);
    for (uint64_t i = 0; i < nbits; i++)
        assert_int_equal((bm[i / 8] >> (i % 8)) & 1, i < 500 || i >= 510);
    free(bm);

    retry_seen rs = {0};
    assert_int_equal(state_each_retry(s, on_retry, &rs), 0);
    assert_int_equal(rs.n, 10);
    for (int i = 0; i < 10; i++) {
        const state_retry *r = &rs.r[i];
        assert_int_equal(r->row, 500 + i);
        assert_true(r->due == 1.7e9 + i + 0.25);
        assert_int_equal(r->attempts, i + 1);
        assert_string_equal(r->email, "g@grey.example");
        assert_string_equal(r->domain, "grey.example");
        assert_int_equal(r->last.reason, REASON_GREYLISTED);
        assert_int_equal(r->last.smtp_code, 450);
        assert_string_equal(r->last.smtp_enhanced, "4.7.1");
        assert_string_equal(r->last.smtp_text, "Greylisted, try again in 5 minutes");
        assert_string_equal(r->last.mx, "mx.grey.example");
        assert_int_equal(r->last.attempts, i);
    }

    dom_seen ds = {0};
    assert_int_equal(state_each_domain(s, on_domain, &ds), 0);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.yes, 1);
    assert_int_equal(ds.no, 1);
    assert_int_equal(ds.unset, 1);
    assert_string_equal(ds.mx, "mx.catchall.example");

    state_cursor *c = state_results(s);
    assert_non_null(c);
    uint64_t row, expect = 0, n = 0;
    result got, want;
    int rc;
    while ((rc = state_cursor_next(c, &row, &got)) == 1) {
        if (expect == 500)
            expect = 510;
        assert_int_equal(row, expect);
        make_result(row, &want);
        assert_result_equal(&got, &want);
        expect++, n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 990);
    assert_int_equal(state_cursor_next(c, &row, &got), 0);   /* stays at the end */
    state_cursor_free(c);
    assert_int_equal(state_count_results(s), 990);
    state_close(s);

    /* Reports may read the tables directly: check the stored text forms. */
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(sp, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT status, reason, smtp_code, domain FROM "
                                        "results WHERE row = 13", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    make_result(13, &want);
    assert_string_equal((const char *)sqlite3_column_text(q, 0),
                        verdict_status_name(verdict_status_of(want.reason)));
    assert_string_equal((const char *)sqlite3_column_text(q, 1), verdict_reason_name(want.reason));
    assert_int_equal(sqlite3_column_int(q, 2), want.smtp_code);
    assert_string_equal((const char *)sqlite3_column_text(q, 3), "");
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT ip, sessions, blocks, rcpt_cap, last_code,"
                                        " last_text, provider, cleartext FROM hosts", -1, &q,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "127.0.0.5");
    assert_int_equal(sqlite3_column_int(q, 1), 7);      /* counts add up */
    assert_int_equal(sqlite3_column_int(q, 2), 2);
    assert_int_equal(sqlite3_column_int(q, 3), 25);
    assert_int_equal(sqlite3_column_int(q, 4), 554);
    assert_string_equal((const char *)sqlite3_column_text(q, 5), "blocked");
    assert_string_equal((const char *)sqlite3_column_text(q, 6), "grey.example");
    assert_int_equal(sqlite3_column_int(q, 7), 1);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* ---- file modes ---- */

static void assert_mode(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_modes(void **st)
{
    (void)st;
    char in[256], sp[256], p[300], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    mode_t old = umask(022);
    state *s;
    open_ok(tpath("m.state", sp, sizeof sp), &id, false, &s);
    assert_int_equal(umask(022), 022);     /* restored */
    state_writer *w = state_writer_start(s, err, sizeof err);
    put_rows(w, 0, 10);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    assert_mode(sp);
    snprintf(p, sizeof p, "%s-wal", sp);
    assert_mode(p);
    snprintf(p, sizeof p, "%s-shm", sp);
    assert_mode(p);
    state_close(s);
    assert_mode(sp);
    umask(old);
}

/* ---- identity ---- */

static void test_identify_stdin(void **st)
{
    (void)st;
    state_identity id;
    char err[256] = "";
    assert_int_equal(state_identify("-", &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "standard input"));
    char p[256];
    assert_int_equal(state_identify(tpath("missing.csv", p, sizeof p), &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.csv"));
}

static void test_identify_hash(void **st)
{
    (void)st;
    char in[256];
    write_file(tpath("abc", in, sizeof in), "abc", 3);
    state_identity id;
    identity(in, &id);
    assert_int_equal(id.input_size, 3);
    assert_string_equal(id.head_sha256,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(id.input_path, in);
}

static void set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void new_state(const char *in, const char *sp, state_identity *id)
{
    identity(in, id);
    state *s;
    assert_int_equal(open_ok(sp, id, false, &s), 0);
    state_close(s);
}

static void test_changed_size(void **st)
{
    (void)st;
    char in[256], sp[256], err[512];
    write_file(tpath("in.csv", in, sizeof in), "email\na@b.c\n", 12);
    set_mtime(in, 1700000000);
    state_identity id;
    new_state(in, tpath("s.state", sp, sizeof sp), &id);
    write_file(in, "email\na@b.c\nd@e.f\n", 18);
    set_mtime(in, 1700000000);
    identity(in, &id);
    open_fails(sp, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "has changed since this batch started"));
    assert_non_null(strstr(err, "size 12 → 18 bytes"));
    assert_null(strstr(err, "modified"));
    assert_non_null(strstr(err, "--restart"));
    set_mtime(in, 1700000100);
    identity(in, &id);
    open_fails(sp, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "modified 2023-11-14 22:13:20Z → 2023-11-14 22:15:00Z"));
}

static void test_changed_head(void **st)
{
    (void)st;
    char in[256], sp[256], err[512];
    write_file(tpath("in.csv", in, sizeof in), "email\na@b.c\n", 12);
    set_mtime(in, 1700000000);
    state_identity id;
    new_state(in, tpath("s.state", sp, sizeof sp), &id);
    write_file(in, "email\nx@b.c\n", 12);
    set_mtime(in, 1700000000);
    identity(in, &id);
    open_fails(sp, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "first MiB differs"));
    assert_null(strstr(err, "size"));
    assert_null(strstr(err, "options"));
}

static void test_changed_options(void **st)
{
    (void)st;
    char in[256], sp[256], err[1024];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    new_state(in, tpath("s.state", sp, sizeof sp), &id);
    id.options = "level=dns;from=verify@example.net;helo=example.net;port=2525;"
                 "starttls=auto;column=auto;retry=360,900,1800;extra=1";
    open_fails(sp, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "these options differ from the batch being resumed: "
                                "level smtp → dns; port 25 → 2525; extra (unset) → 1"));
    assert_null(strstr(err, "INPUT"));
    assert_null(strstr(err, "helo"));
    assert_non_null(strstr(err, "--restart"));
    id.options = "level=smtp";
    open_fails(sp, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "from verify@example.net → (unset)"));
}

static void test_moved_input(void **st)
{
    (void)st;
    char in[256], in2[256], sp[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    new_state(in, tpath("s.state", sp, sizeof sp), &id);
    assert_int_equal(rename(in, tpath("moved.csv", in2, sizeof in2)), 0);
    identity(in2, &id);
    state *s;
    assert_int_equal(open_ok(sp, &id, false, &s), 1);
    char buf[256];
    assert_true(state_meta_get(s, "input_path", buf, sizeof buf));
    assert_string_equal(buf, in2);
    state_close(s);
}

static void test_format_version(void **st)
{
    (void)st;
    char in[256], sp[256], err[512];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    new_state(in, tpath("s.state", sp, sizeof sp), &id);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(sp, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value='2' WHERE key='format_version'",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    open_fails(sp, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "format version 2"));
    state *s;
    assert_int_equal(open_ok(sp, &id, true, &s), 0);    /* --restart replaces ours */
    state_close(s);
}

/* ---- files that are not states ---- */

static void assert_untouched(const char *path, const char *data, size_t len, time_t mtime)
{
    char buf[8192];
    struct stat sb;
    assert_int_equal(read_file(path, buf, sizeof buf), len);
    assert_memory_equal(buf, data, len);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mtim.tv_sec, mtime);
}

static void test_not_a_state(void **st)
{
    (void)st;
    char in[256], p[256], err[512];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);

    char junk[4096];
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)rand();
    write_file(tpath("junk", p, sizeof p), junk, sizeof junk);
    set_mtime(p, 1600000000);
    open_fails(p, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "not a mailvet state file"));
    open_fails(p, &id, true, err, sizeof err);          /* not even with --restart */
    assert_non_null(strstr(err, "refusing to delete"));
    assert_untouched(p, junk, sizeof junk, 1600000000);

    write_file(tpath("empty", p, sizeof p), "", 0);
    set_mtime(p, 1600000000);
    open_fails(p, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "is empty"));
    assert_untouched(p, "", 0, 1600000000);

    /* someone else's SQLite database */
    tpath("other.db", p, sizeof p);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(42);", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    set_mtime(p, 1600000000);
    char before[8192];
    size_t blen = read_file(p, before, sizeof before);
    open_fails(p, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "not a mailvet state file"));
    open_fails(p, &id, true, err, sizeof err);
    assert_non_null(strstr(err, "refusing to delete"));
    assert_untouched(p, before, blen, 1600000000);

    /* an SQLite header on garbage: damaged */
    memcpy(junk, "SQLite format 3", 16);
    write_file(tpath("hdrjunk", p, sizeof p), junk, sizeof junk);
    set_mtime(p, 1600000000);
    open_fails(p, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "unreadable or damaged"));
    open_fails(p, &id, true, err, sizeof err);
    assert_non_null(strstr(err, "unreadable or damaged"));
    assert_untouched(p, junk, sizeof junk, 1600000000);

    /* report-style open (no identity) of a missing file */
    state *s;
    open_fails(tpath("absent", p, sizeof p), NULL, false, err, sizeof err);
    assert_non_null(strstr(err, "absent"));
    (void)s;
}

/* ---- restart, locking, retries ---- */

static void test_restart(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    state_writer *w = state_writer_start(s, err, sizeof err);
    put_rows(w, 0, 10);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    state_close(s);

    id.options = "level=dns";                 /* incompatible, but --restart */
    assert_int_equal(open_ok(sp, &id, true, &s), 0);
    assert_int_equal(state_count_results(s), 0);
    char buf[64];
    assert_true(state_meta_get(s, "options", buf, sizeof buf));
    assert_string_equal(buf, "level=dns");
    state_close(s);

    /* an empty file (not ours, but nothing to lose) may be restarted */
    write_file(sp, "", 0);
    assert_int_equal(open_ok(sp, &id, true, &s), 0);
    state_close(s);
    /* no temporary files are left beside it */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '^%d-s.state.new' >/dev/null", dir, seq);
    assert_int_not_equal(system(cmd), 0);
}

static void test_in_use(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    open_fails(sp, &id, false, err, sizeof err);
    assert_non_null(strstr(err, "in use"));
    open_fails(sp, &id, true, err, sizeof err);
    state *r;                                  /* a report may read it meanwhile */
    assert_int_equal(open_ok(sp, NULL, false, &r), 1);
    assert_int_equal(state_count_results(r), 0);
    state_close(r);
    state_close(s);
}

static void test_finished_removes_retry(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    state_writer *w = state_writer_start(s, err, sizeof err);
    result r;
    make_result(3, &r);
    state_put_retry(w, 3, 1.0, 1, "a@b.c", "b.c", &r);
    state_put_retry(w, 4, 2.0, 1, "d@b.c", "b.c", &r);
    state_put_retry(w, 4, 3.0, 2, "d@b.c", "b.c", &r);   /* upsert */
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    state_close(s);

    /* a new session: the retries come from the file, not from this writer;
     * and this writer's own, one far past its first 4 KiB of row bits */
    assert_int_equal(open_ok(sp, &id, false, &s), 1);
    w = state_writer_start(s, err, sizeof err);
    state_put_retry(w, 7, 4.0, 1, "e@b.c", "b.c", &r);
    state_put_retry(w, 100000, 5.0, 1, "f@b.c", "b.c", &r);
    put_rows(w, 3, 4);
    put_rows(w, 5, 8);                                   /* 5 and 6 had none */
    put_rows(w, 100000, 100001);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    retry_seen rs = {0};
    assert_int_equal(state_each_retry(s, on_retry, &rs), 0);
    assert_int_equal(rs.n, 1);
    assert_int_equal(rs.r[0].row, 4);
    assert_int_equal(rs.r[0].attempts, 2);
    assert_true(rs.r[0].due == 3.0);
    assert_int_equal(state_count_results(s), 5);
    state_close(s);
}

/* ---- duplicates ---- */

/* Rows 0..4 are results; 5, 7 and 9 are later rows of the mailboxes of
 * rows 0, 2 and 2; row 6 waited for a retry and then turned out a
 * duplicate of row 4. A resume sees them all finished; once materialised
 * each carries its own email and suggestion with its first row's verdict. */
static void test_dups(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    state_writer *w = state_writer_start(s, err, sizeof err);
    put_rows(w, 0, 5);
    result own, last;
    make_result(6, &last);
    state_put_retry(w, 6, 1.0, 1, "d@b.c", "b.c", &last);
    static const uint64_t dup_row[] = {5, 7, 9, 6}, dup_first[] = {0, 2, 2, 4};
    for (int i = 0; i < 4; i++) {
        result_init(&own);
        snprintf(own.email, sizeof own.email, "USER%llu@Exämple.com", (unsigned long long)dup_row[i]);
        snprintf(own.did_you_mean, sizeof own.did_you_mean, "own%d@x.com", i);
        state_put_dup(w, dup_row[i], dup_first[i], "xn--exmple-cua.com", &own);
    }
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    state_close(s);

    assert_int_equal(open_ok(sp, &id, false, &s), 1);
    uint8_t *bm;
    uint64_t nbits;
    assert_int_equal(state_finished_rows(s, &bm, &nbits), 0);
    assert_int_equal(nbits, 10);
    for (uint64_t i = 0; i < nbits; i++)
        assert_int_equal((bm[i / 8] >> (i % 8)) & 1, i != 8);
    free(bm);
    retry_seen rs = {0};
    assert_int_equal(state_each_retry(s, on_retry, &rs), 0);
    assert_int_equal(rs.n, 0);                   /* finished as a duplicate */
    assert_int_equal(state_count_results(s), 9);  /* before they are materialised too */

    for (int pass = 0; pass < 2; pass++) {       /* idempotent */
        assert_int_equal(state_materialise_dups(s, err, sizeof err), 4);
        assert_int_equal(state_count_results(s), 9);
        state_cursor *c = state_results(s);
        uint64_t row;
        result got, want;
        int n = 0;
        while (state_cursor_next(c, &row, &got) == 1) {
            int d = -1;
            for (int i = 0; i < 4; i++)
                if (dup_row[i] == row)
                    d = i;
            make_result(d < 0 ? row : dup_first[d], &want);
            if (d >= 0) {
                snprintf(want.email, sizeof want.email, "USER%llu@Exämple.com",
                         (unsigned long long)row);
                snprintf(want.did_you_mean, sizeof want.did_you_mean, "own%d@x.com", d);
                want.attempts = 0;
                want.duplicate = true;
            }
            assert_result_equal(&got, &want);
            n++;
        }
        assert_int_equal(n, 9);
        state_cursor_free(c);
    }
    state_close(s);

    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(sp, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT domain, duplicate FROM results WHERE row = 7",
                                        -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "xn--exmple-cua.com");
    assert_int_equal(sqlite3_column_int(q, 1), 1);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* A state from before duplicates (no results.duplicate, no dups table) is
 * read as it is and given both when a run resumes it. */
static void test_dups_old_state(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    state_writer *w = state_writer_start(s, err, sizeof err);
    put_rows(w, 0, 3);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    state_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(sp, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE results DROP COLUMN duplicate; DROP TABLE dups;",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(open_ok(sp, NULL, false, &s), 1);   /* merge, reports: read as it is */
    state_cursor *c = state_results(s);
    assert_non_null(c);
    uint64_t row;
    result got, want;
    assert_int_equal(state_cursor_next(c, &row, &got), 1);
    make_result(0, &want);
    assert_result_equal(&got, &want);
    state_cursor_free(c);
    assert_int_equal(state_count_results(s), 3);
    state_close(s);

    assert_int_equal(open_ok(sp, &id, false, &s), 1);     /* a resume upgrades it */
    w = state_writer_start(s, err, sizeof err);
    result_init(&got);
    state_put_dup(w, 3, 1, "b.c", &got);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    assert_int_equal(state_count_results(s), 4);
    assert_int_equal(state_materialise_dups(s, err, sizeof err), 1);
    c = state_results(s);
    int n = 0;
    while (state_cursor_next(c, &row, &got) == 1)
        n += got.duplicate ? (int)row : 0;
    assert_int_equal(n, 3);
    state_cursor_free(c);
    state_close(s);
}

/* Verdicts come out of row order: the cursor gives them in row order, a
 * row put again replaces its result. In a new state file and in one from
 * before results had their own rowid (ROW the INTEGER PRIMARY KEY), which
 * a resume keeps as it is. */
static void put_one(state_writer *w, uint64_t row, uint64_t content)
{
    result r;
    make_result(content, &r);
    state_put_result(w, row, NULL, &r);
}

static void expect_rows(state *s, const uint64_t *rows, const uint64_t *content, int n)
{
    state_cursor *c = state_results(s);
    assert_non_null(c);
    uint64_t row;
    result got, want;
    for (int i = 0; i < n; i++) {
        assert_int_equal(state_cursor_next(c, &row, &got), 1);
        assert_int_equal(row, rows[i]);
        make_result(content[i], &want);
        assert_result_equal(&got, &want);
    }
    assert_int_equal(state_cursor_next(c, &row, &got), 0);
    state_cursor_free(c);
    assert_int_equal(state_count_results(s), (uint64_t)n);
}

static void test_results_out_of_order(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 12);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    state_writer *w = state_writer_start(s, err, sizeof err);
    static const uint64_t order[] = {7, 2, 9, 0, 5};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        put_one(w, order[i], order[i]);
    put_one(w, 2, 100);                           /* row 2 again: replaced */
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    expect_rows(s, (const uint64_t[]){0, 2, 5, 7, 9}, (const uint64_t[]){0, 100, 5, 7, 9}, 5);
    state_close(s);

    sqlite3 *db;                                  /* the schema of earlier versions */
    assert_int_equal(sqlite3_open(sp, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "ALTER TABLE results RENAME TO results_new;"
        "CREATE TABLE results(row INTEGER PRIMARY KEY, email TEXT, domain TEXT, status TEXT,"
        " reason TEXT, risk INTEGER, did_you_mean TEXT, role INTEGER, free INTEGER,"
        " disposable INTEGER, accept_all INTEGER NULL, mx TEXT, smtp_code INTEGER,"
        " smtp_enhanced TEXT, smtp_text TEXT, attempts INTEGER, duplicate INTEGER,"
        " mx_ip TEXT, checked_at INTEGER, route TEXT);"
        "INSERT INTO results SELECT * FROM results_new; DROP TABLE results_new;",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(open_ok(sp, &id, false, &s), 1);   /* a resume of it */
    w = state_writer_start(s, err, sizeof err);
    put_one(w, 4, 4);
    put_one(w, 1, 1);
    put_one(w, 5, 105);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    expect_rows(s, (const uint64_t[]){0, 1, 2, 4, 5, 7, 9},
                (const uint64_t[]){0, 1, 100, 4, 105, 7, 9}, 7);
    state_close(s);
}

/* A state from before the evidence columns (results without mx_ip,
 * checked_at, route): merge and reports read its rows with the evidence
 * empty; a resume adds the columns, the rows finished before stay empty,
 * new rows and a duplicate of a new row get theirs. */
static void test_evidence_old_state(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    state_writer *w = state_writer_start(s, err, sizeof err);
    put_rows(w, 0, 3);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    state_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(sp, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE results DROP COLUMN mx_ip;"
                                      " ALTER TABLE results DROP COLUMN checked_at;"
                                      " ALTER TABLE results DROP COLUMN route;",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* read as it is: row 1 had every evidence field, now none */
    assert_int_equal(open_ok(sp, NULL, false, &s), 1);
    state_cursor *c = state_results(s);
    assert_non_null(c);
    uint64_t row;
    result got, want;
    for (uint64_t i = 0; i < 3; i++) {
        assert_int_equal(state_cursor_next(c, &row, &got), 1);
        make_result(i, &want);
        if (i == 1)
            assert_true(want.mx_ip[0] && want.checked_at && want.route[0]);
        want.mx_ip[0] = want.route[0] = '\0';
        want.checked_at = 0;
        assert_result_equal(&got, &want);
    }
    state_cursor_free(c);
    state_close(s);

    assert_int_equal(open_ok(sp, &id, false, &s), 1);     /* a resume upgrades it */
    w = state_writer_start(s, err, sizeof err);
    put_rows(w, 3, 6);
    result_init(&got);
    state_put_dup(w, 6, 5, "b.c", &got);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    assert_int_equal(state_materialise_dups(s, err, sizeof err), 1);
    c = state_results(s);
    for (uint64_t i = 0; i < 7; i++) {
        assert_int_equal(state_cursor_next(c, &row, &got), 1);
        assert_int_equal(row, i);
        make_result(i < 6 ? i : 5, &want);
        if (i < 3) {
            want.mx_ip[0] = want.route[0] = '\0';
            want.checked_at = 0;
        }
        if (i == 6) {
            want.email[0] = want.did_you_mean[0] = '\0';
            want.attempts = 0;
            want.duplicate = true;
        }
        assert_result_equal(&got, &want);
    }
    assert_int_equal(state_cursor_next(c, &row, &got), 0);
    make_result(5, &want);
    assert_true(want.mx_ip[0] && want.checked_at && want.route[0]);   /* row 6 took them */
    state_cursor_free(c);
    state_close(s);
}

/* ---- waiting for commits ---- */

/* The rows committed to the state file SP, read through a connection of
 * its own (as another process would see them); -1 if it cannot be read. */
static int committed_rows(const char *sp)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    int n = -1;
    if (sqlite3_open_v2(sp, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM results", -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            n = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return n;
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Waits (polling every 10 ms, at most LIMIT seconds) until at least N rows
 * are committed to SP. Returns the seconds it took, or -1 on timeout. */
static double wait_committed(const char *sp, int n, double limit)
{
    struct timespec t0, tick = {0, 10000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (committed_rows(sp) >= n)
            return since(&t0);
        if (since(&t0) > limit)
            return -1;
        nanosleep(&tick, NULL);
    }
}

/* Results reach the file within a second, without stopping the writer
 * (the writer commits at least once a second; 1 s of margin for a loaded
 * machine and the sanitizer build). */
static void test_commit_interval(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
    state_writer *w = state_writer_start(s, err, sizeof err);
    put_rows(w, 0, 5);
    double took = wait_committed(sp, 5, 2.0);
    if (took < 0)
        fail_msg("the 5 rows put were not committed within 2 s (%d are)", committed_rows(sp));
    print_message("  5 rows committed %.3f s after the put\n", took);
    assert_int_equal(committed_rows(sp), 5);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    state_close(s);
}

/* ---- writer failures and crashes (in child processes) ---- */

/* The child fills the disk (RLIMIT_FSIZE stands in for a full disk). */
static void writer_error_child(const char *sp, const state_identity *id)
{
    state *s;
    char err[512];
    if (state_open(sp, id, false, &s, err, sizeof err) != 1) {
        fprintf(stderr, "child: %s\n", err);
        _exit(10);
    }
    state_writer *w = state_writer_start(s, err, sizeof err);
    if (!w)
        _exit(11);
    put_rows(w, 0, 1000);
    if (wait_committed(sp, 1000, 10.0) < 0) {  /* the first rows are committed */
        fprintf(stderr, "child: the first 1000 rows were not committed within 10 s\n");
        _exit(14);
    }
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {256 << 10, 256 << 10};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(12);
    put_rows(w, 1000, 200000);              /* must not block after the failure */
    int rc = state_writer_stop(w, err, sizeof err);
    state_close(s);
    if (rc != -1 || !strstr(err, "writing the state file failed"))
        _exit(13);
    fprintf(stderr, "  (expected) %s\n", err);
    _exit(0);
}

static int child_status(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* The rows in the file are exactly 0..n-1; returns n. */
static uint64_t assert_prefix(const char *sp, const state_identity *id)
{
    state *s;
    assert_int_equal(open_ok(sp, id, false, &s), 1);
    uint8_t *bm;
    uint64_t nbits, n = state_count_results(s);
    assert_int_equal(state_finished_rows(s, &bm, &nbits), 0);
    assert_int_equal(nbits, n);
    for (uint64_t i = 0; i < nbits; i++)
        assert_true(bm[i / 8] >> (i % 8) & 1);
    free(bm);
    state_cursor *c = state_results(s);
    uint64_t row;
    result got, want;
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(state_cursor_next(c, &row, &got), 1);
        make_result(row, &want);
        assert_result_equal(&got, &want);
    }
    state_cursor_free(c);
    state_close(s);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(sp, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

static void test_writer_error(void **st)
{
    (void)st;
    char in[256], sp[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    new_state(in, tpath("s.state", sp, sizeof sp), &id);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        writer_error_child(sp, &id);
    int status = child_status(pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    uint64_t n = assert_prefix(sp, &id);      /* what was committed stays valid */
    assert_true(n >= 1000 && n < 200000);
}

/* A real full disk: a 1 MiB tmpfs in a private mount namespace (the child
 * exits 77 where that is not allowed, and the test is skipped). */
static void disk_full_child(const char *mnt, const char *in)
{
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700") != 0)
        _exit(77);
    char sp[300], err[512];
    snprintf(sp, sizeof sp, "%s/s.state", mnt);
    state_identity id;
    identity(in, &id);
    state *s;
    if (state_open(sp, &id, false, &s, err, sizeof err) != 0)
        _exit(10);
    state_writer *w = state_writer_start(s, err, sizeof err);
    put_rows(w, 0, 1000);
    if (wait_committed(sp, 1000, 10.0) < 0) {  /* the first rows are committed */
        fprintf(stderr, "child: the first 1000 rows were not committed within 10 s\n");
        _exit(14);
    }
    put_rows(w, 1000, 100000);
    int rc = state_writer_stop(w, err, sizeof err);
    state_close(s);
    if (rc != -1 || !strstr(err, "database or disk is full"))
        _exit(11);
    fprintf(stderr, "  (expected) %s\n", err);
    if (state_open(sp, &id, false, &s, err, sizeof err) != 1)
        _exit(12);
    uint64_t n = state_count_results(s);
    state_close(s);
    _exit(n >= 1000 && n < 100000 ? 0 : 13);
}

static void test_disk_full(void **st)
{
    (void)st;
    char in[256], mnt[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    assert_int_equal(mkdir(tpath("mnt", mnt, sizeof mnt), 0700), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        disk_full_child(mnt, in);
    int status = child_status(pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();                             /* no mount namespace here */
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The child streams rows 0,1,2,… and tells the parent how many it has put. */
static void kill_child(const char *sp, const state_identity *id, int fd)
{
    state *s;
    char err[512];
    if (state_open(sp, id, false, &s, err, sizeof err) != 1) {
        fprintf(stderr, "child: %s\n", err);
        _exit(10);
    }
    state_writer *w = state_writer_start(s, err, sizeof err);
    struct timespec ts = {0, 1000000};
    for (uint64_t row = 0;; row += 100) {
        put_rows(w, row, row + 100);
        uint64_t done = row + 100;
        if (write(fd, &done, sizeof done) != sizeof done)
            _exit(11);
        nanosleep(&ts, NULL);                /* ~100,000 rows/s */
    }
}

static void test_kill9(void **st)
{
    (void)st;
    char in[256], sp[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    new_state(in, tpath("s.state", sp, sizeof sp), &id);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        kill_child(sp, &id, pfd[1]);
    }
    close(pfd[1]);
    /* Let it run; note how many rows were put 2 s before the kill. */
    uint64_t done = 0, early = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        assert_int_equal(read(pfd[0], &done, sizeof done), sizeof done);
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (el < 0.5)
            early = done;
        if (el >= 2.5)
            break;
    }
    kill(pid, SIGKILL);
    int status = child_status(pid);
    close(pfd[0]);
    assert_true(WIFSIGNALED(status));
    uint64_t n = assert_prefix(sp, &id);
    print_message("  kill -9 after %llu rows put: %llu committed (all %llu put >2 s earlier "
                  "must be)\n", (unsigned long long)done, (unsigned long long)n,
                  (unsigned long long)early);
    assert_true(n >= early);
    assert_true(n <= done);
    assert_true(early > 0);
}

/* ---- throughput ---- */

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_throughput(void **st)
{
    (void)st;
    char in[256], sp[256], err[256];
    make_input(tpath("in.csv", in, sizeof in), 10);
    state_identity id;
    identity(in, &id);
    state *s;
    open_ok(tpath("s.state", sp, sizeof sp), &id, false, &s);
#ifndef THROUGHPUT_N
#define THROUGHPUT_N 300000     /* -DTHROUGHPUT_N=… for a longer run */
#endif
    enum { N = THROUGHPUT_N };
    result r;
    struct timespec t0, t1, t2, t3;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    state_writer *w = state_writer_start(s, err, sizeof err);
    for (uint64_t row = 0; row < N; row++) {
        make_result(row, &r);
        if (row % 1000 == 0)
            state_put_domain(w, r.mx, r.accept_all, r.mx);
        state_put_result(w, row, "exämple.com", &r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(state_writer_stop(w, err, sizeof err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    assert_int_equal(state_count_results(s), N);
    state_close(s);                         /* checkpoints the WAL into the file */
    clock_gettime(CLOCK_MONOTONIC, &t3);
    print_message("  throughput: %d results committed in %.3f s = %.0f results/s (puts done at "
                  "%.3f s; close with checkpoint %.3f s)\n", N, secs(&t0, &t2),
                  N / secs(&t0, &t2), secs(&t0, &t1), secs(&t2, &t3));
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mailvet-state-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_roundtrip, setup),
        cmocka_unit_test_setup(test_modes, setup),
        cmocka_unit_test_setup(test_identify_stdin, setup),
        cmocka_unit_test_setup(test_identify_hash, setup),
        cmocka_unit_test_setup(test_changed_size, setup),
        cmocka_unit_test_setup(test_changed_head, setup),
        cmocka_unit_test_setup(test_changed_options, setup),
        cmocka_unit_test_setup(test_moved_input, setup),
        cmocka_unit_test_setup(test_format_version, setup),
        cmocka_unit_test_setup(test_not_a_state, setup),
        cmocka_unit_test_setup(test_restart, setup),
        cmocka_unit_test_setup(test_in_use, setup),
        cmocka_unit_test_setup(test_finished_removes_retry, setup),
        cmocka_unit_test_setup(test_dups, setup),
        cmocka_unit_test_setup(test_dups_old_state, setup),
        cmocka_unit_test_setup(test_evidence_old_state, setup),
        cmocka_unit_test_setup(test_results_out_of_order, setup),
        cmocka_unit_test_setup(test_commit_interval, setup),
        cmocka_unit_test_setup(test_writer_error, setup),
        cmocka_unit_test_setup(test_disk_full, setup),
        cmocka_unit_test_setup(test_kill9, setup),
        cmocka_unit_test_setup(test_throughput, setup),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return failed;
}
