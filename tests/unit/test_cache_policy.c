/* test_cache_policy.c — the verdict cache's pure policy: --max-age values,
 * what is kept under which age, and the decision for one address (the
 * newest fresh evidence wins; unknowns never come back). Also the cache
 * file's look-up round trip through the writer, on a temporary file. */
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
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_policy.h"

#define DAY 86400

static void test_parse_age(void **state)
{
    (void)state;
    static const struct { const char *in; int64_t want; } good[] = {
        {"0", 0}, {"30d", 30 * DAY}, {"12h", 12 * 3600}, {"90m", 90 * 60}, {"3600s", 3600},
        {"1s", 1}, {"3650d", 3650LL * DAY}, {"007d", 7 * DAY},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t v = -1;
        assert_true(cache_parse_age(good[i].in, &v));
        assert_int_equal(v, good[i].want);
    }
    static const char *const bad[] = {
        "", "d", "30", "-1d", "+1d", "1.5d", "30 d", " 30d", "30d ", "30dd", "30x", "30D",
        "3651d", "87601h", "99999999999999999999d", "0d0", "1e3s", "0x10s", NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t v = 42;
        assert_false(cache_parse_age(bad[i], &v));
        assert_int_equal(v, 42);              /* untouched on failure */
    }
}

static void test_age_text(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(cache_age_text(0, b), "0 s");
    assert_string_equal(cache_age_text(-5, b), "0 s");
    assert_string_equal(cache_age_text(119, b), "119 s");
    assert_string_equal(cache_age_text(120, b), "2 min");
    assert_string_equal(cache_age_text(2 * 3600 - 1, b), "119 min");
    assert_string_equal(cache_age_text(5 * 3600, b), "5 h");
    assert_string_equal(cache_age_text(2 * DAY - 1, b), "47 h");
    assert_string_equal(cache_age_text(12 * DAY + 5, b), "12 days");
}

/* Every reason: what is kept, under which age, and at which level. */
static void test_what_is_kept(void **state)
{
    (void)state;
    for (int i = 0; i < REASON__COUNT; i++) {
        verdict_reason r = (verdict_reason)i;
        cache_kind k = cache_kind_of(r);
        if (verdict_status_of(r) == VERDICT_UNKNOWN) {
            assert_int_equal(k, CACHE_KIND_NONE);     /* unknowns are never reused */
            assert_false(cache_keeps(r, true));
            assert_false(cache_keeps(r, false));
            assert_false(cache_forgets(r));
        }
    }
    assert_int_equal(cache_kind_of(REASON_ACCEPTED), CACHE_KIND_MAILBOX);
    assert_int_equal(cache_kind_of(REASON_MAILBOX_NOT_FOUND), CACHE_KIND_MAILBOX);
    assert_int_equal(cache_kind_of(REASON_MAILBOX_DISABLED), CACHE_KIND_MAILBOX);
    assert_int_equal(cache_kind_of(REASON_MAILBOX_FULL), CACHE_KIND_MAILBOX);
    assert_int_equal(cache_kind_of(REASON_ACCEPT_ALL), CACHE_KIND_DOMAIN);
    assert_int_equal(cache_kind_of(REASON_INVALID_DOMAIN), CACHE_KIND_DOMAIN);
    assert_int_equal(cache_kind_of(REASON_NULL_MX), CACHE_KIND_DOMAIN);
    assert_int_equal(cache_kind_of(REASON_NO_MAIL_SERVER), CACHE_KIND_DOMAIN);
    static const verdict_reason never[] = {REASON_REJECTED, REASON_UNROUTABLE_MX,
                                           REASON_INVALID_SYNTAX, REASON_DISPOSABLE,
                                           REASON_UNVERIFIED, REASON_BLOCKED, REASON_GREYLISTED};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        assert_false(cache_keeps(never[i], true));
    assert_true(cache_forgets(REASON_REJECTED));
    /* --level dns keeps the DNS verdicts only */
    assert_true(cache_keeps(REASON_INVALID_DOMAIN, false));
    assert_true(cache_keeps(REASON_NULL_MX, false));
    assert_true(cache_keeps(REASON_NO_MAIL_SERVER, false));
    assert_false(cache_keeps(REASON_ACCEPTED, false));
    assert_false(cache_keeps(REASON_ACCEPT_ALL, false));
    /* facts: names round-trip, DNS facts decide their verdict */
    for (int f = CACHE_FACT_NONE + 1; f < CACHE_FACT__COUNT; f++)
        assert_int_equal(cache_fact_parse(cache_fact_name((cache_fact)f)), f);
    assert_int_equal(cache_fact_parse("bogus"), CACHE_FACT_NONE);
    assert_int_equal(cache_fact_parse(""), CACHE_FACT_NONE);
    assert_int_equal(cache_fact_of_reason(REASON_NULL_MX), CACHE_FACT_NULL_MX);
    assert_int_equal(cache_fact_of_reason(REASON_ACCEPTED), CACHE_FACT_NONE);
    assert_int_equal(cache_fact_reason(CACHE_FACT_INVALID_DOMAIN), REASON_INVALID_DOMAIN);
    assert_int_equal(cache_fact_reason(CACHE_FACT_ACCEPT_ALL), -1);
}

static void test_ages(void **state)
{
    (void)state;
    cache_ages a;
    cache_ages_from(30 * DAY, &a);
    assert_int_equal(a.mailbox, 30 * DAY);
    assert_int_equal(a.domain, CACHE_DOMAIN_AGE);
    cache_ages_from(12 * 3600, &a);                /* shorter than a week: both */
    assert_int_equal(a.mailbox, 12 * 3600);
    assert_int_equal(a.domain, 12 * 3600);
    cache_ages_from(0, &a);
    assert_int_equal(a.mailbox, 0);
    assert_int_equal(a.domain, 0);
    int64_t now = 1800000000;
    assert_true(cache_fresh(now - 10, 60, now));
    assert_false(cache_fresh(now - 60, 60, now));  /* exactly the age: expired */
    assert_true(cache_fresh(now - 59, 60, now));
    assert_true(cache_fresh(now + 3600, 60, now)); /* another clock ahead: new */
    assert_false(cache_fresh(now, 0, now));        /* --max-age 0 */
    assert_false(cache_fresh(0, 60, now));         /* no time: never */
}

static cache_found mailbox(verdict_reason r, result_tri aa, int64_t at)
{
    return (cache_found){.mailbox = true, .reason = r, .accept_all = aa, .at = at,
                         .fact = CACHE_FACT_NONE};
}

/* One decision per line: what is found, and what happens. */
static void test_decide(void **state)
{
    (void)state;
    int64_t now = 1800000000;
    cache_ages ages;
    cache_ages_from(30 * DAY, &ages);
    struct {
        cache_found f;
        bool smtp;
        cache_use use;
        result_tri learn;
    } cases[] = {
        /* nothing: probe */
        {{.fact = CACHE_FACT_NONE}, true, CACHE_USE_PROBE, TRI_UNSET},
        /* a fresh mailbox verdict is reused, an expired one is not */
        {mailbox(REASON_ACCEPTED, TRI_FALSE, now - 29 * DAY), true, CACHE_USE_MAILBOX, TRI_UNSET},
        {mailbox(REASON_ACCEPTED, TRI_FALSE, now - 31 * DAY), true, CACHE_USE_PROBE, TRI_UNSET},
        {mailbox(REASON_MAILBOX_FULL, TRI_FALSE, now - DAY), true, CACHE_USE_MAILBOX, TRI_UNSET},
        /* accept_all and DNS verdicts live a week */
        {mailbox(REASON_ACCEPT_ALL, TRI_TRUE, now - 6 * DAY), true, CACHE_USE_MAILBOX, TRI_UNSET},
        {mailbox(REASON_ACCEPT_ALL, TRI_TRUE, now - 8 * DAY), true, CACHE_USE_PROBE, TRI_UNSET},
        {mailbox(REASON_INVALID_DOMAIN, TRI_UNSET, now - 8 * DAY), true, CACHE_USE_PROBE, TRI_UNSET},
        /* an unknown in the file (an older mailvet, a hand edit) is never reused */
        {mailbox(REASON_TIMEOUT, TRI_UNSET, now - 60), true, CACHE_USE_PROBE, TRI_UNSET},
        {mailbox(REASON_REJECTED, TRI_UNSET, now - 60), true, CACHE_USE_PROBE, TRI_UNSET},
        /* --level dns: DNS verdicts only */
        {mailbox(REASON_ACCEPTED, TRI_FALSE, now - 60), false, CACHE_USE_PROBE, TRI_UNSET},
        {mailbox(REASON_NULL_MX, TRI_UNSET, now - 60), false, CACHE_USE_MAILBOX, TRI_UNSET},
        /* a domain fact alone */
        {{.fact = CACHE_FACT_INVALID_DOMAIN, .fact_at = now - DAY}, true, CACHE_USE_DOMAIN, TRI_UNSET},
        {{.fact = CACHE_FACT_INVALID_DOMAIN, .fact_at = now - DAY}, false, CACHE_USE_DOMAIN, TRI_UNSET},
        {{.fact = CACHE_FACT_NO_MAIL_SERVER, .fact_at = now - 8 * DAY}, true, CACHE_USE_PROBE, TRI_UNSET},
        {{.fact = CACHE_FACT_ACCEPT_ALL, .fact_at = now - DAY}, true, CACHE_USE_PROBE, TRI_TRUE},
        {{.fact = CACHE_FACT_NOT_ACCEPT_ALL, .fact_at = now - DAY}, true, CACHE_USE_PROBE, TRI_FALSE},
        {{.fact = CACHE_FACT_ACCEPT_ALL, .fact_at = now - DAY}, false, CACHE_USE_PROBE, TRI_UNSET},
        /* an expired accept-all fact: the engine probes the catch-all again */
        {{.fact = CACHE_FACT_ACCEPT_ALL, .fact_at = now - 8 * DAY}, true, CACHE_USE_PROBE, TRI_UNSET},
        /* both, agreeing: the mailbox verdict (its own reply and time) */
        {{.mailbox = true, .reason = REASON_ACCEPTED, .accept_all = TRI_FALSE, .at = now - 2 * DAY,
          .fact = CACHE_FACT_NOT_ACCEPT_ALL, .fact_at = now - DAY}, true, CACHE_USE_MAILBOX, TRI_UNSET},
        {{.mailbox = true, .reason = REASON_INVALID_DOMAIN, .accept_all = TRI_UNSET, .at = now - DAY,
          .fact = CACHE_FACT_INVALID_DOMAIN, .fact_at = now - DAY}, true, CACHE_USE_MAILBOX, TRI_UNSET},
        /* a newer fact that contradicts: the domain is gone now */
        {{.mailbox = true, .reason = REASON_ACCEPTED, .accept_all = TRI_FALSE, .at = now - 9 * DAY,
          .fact = CACHE_FACT_INVALID_DOMAIN, .fact_at = now - DAY}, true, CACHE_USE_DOMAIN, TRI_UNSET},
        /* ... it became a catch-all: probe, without a new catch-all probe */
        {{.mailbox = true, .reason = REASON_ACCEPTED, .accept_all = TRI_FALSE, .at = now - 9 * DAY,
          .fact = CACHE_FACT_ACCEPT_ALL, .fact_at = now - DAY}, true, CACHE_USE_PROBE, TRI_TRUE},
        /* ... it is no catch-all any more */
        {{.mailbox = true, .reason = REASON_ACCEPT_ALL, .accept_all = TRI_TRUE, .at = now - 3 * DAY,
          .fact = CACHE_FACT_NOT_ACCEPT_ALL, .fact_at = now - DAY}, true, CACHE_USE_PROBE, TRI_FALSE},
        /* ... it resolves again */
        {{.mailbox = true, .reason = REASON_NULL_MX, .accept_all = TRI_UNSET, .at = now - 3 * DAY,
          .fact = CACHE_FACT_NOT_ACCEPT_ALL, .fact_at = now - DAY}, true, CACHE_USE_PROBE, TRI_FALSE},
        /* an older contradicting fact loses to the newer mailbox verdict */
        {{.mailbox = true, .reason = REASON_ACCEPTED, .accept_all = TRI_FALSE, .at = now - DAY,
          .fact = CACHE_FACT_ACCEPT_ALL, .fact_at = now - 3 * DAY}, true, CACHE_USE_MAILBOX, TRI_UNSET},
        /* a not_found mailbox whose catch-all answer was never learned agrees with not_accept_all */
        {{.mailbox = true, .reason = REASON_MAILBOX_NOT_FOUND, .accept_all = TRI_UNSET, .at = now - 3 * DAY,
          .fact = CACHE_FACT_NOT_ACCEPT_ALL, .fact_at = now - DAY}, true, CACHE_USE_MAILBOX, TRI_UNSET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cache_decision d = cache_decide(&cases[i].f, now, &ages, cases[i].smtp);
        if (d.use != cases[i].use || d.learn != cases[i].learn)
            fail_msg("case %zu: use %d learn %d, want use %d learn %d", i, d.use, d.learn,
                     cases[i].use, cases[i].learn);
    }
    /* --max-age 0: nothing is reused, nothing learned */
    cache_ages_from(0, &ages);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cache_decision d = cache_decide(&cases[i].f, now, &ages, cases[i].smtp);
        assert_int_equal(d.use, CACHE_USE_PROBE);
        assert_int_equal(d.learn, TRI_UNSET);
    }
}

/* ---- the file: a round trip, and refusals ---- */

static char dir[256];

static int make_dir(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mailvet-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static result verdict(const char *email, verdict_reason reason, int64_t at)
{
    result r;
    result_init(&r);
    snprintf(r.email, sizeof r.email, "%s", email);
    r.reason = reason;
    r.accept_all = TRI_FALSE;
    snprintf(r.mx, sizeof r.mx, "mx.example.net");
    r.smtp_code = reason == REASON_ACCEPTED ? 250 : 550;
    snprintf(r.smtp_enhanced, sizeof r.smtp_enhanced, "%s", r.smtp_code == 250 ? "2.1.5" : "5.1.1");
    snprintf(r.smtp_text, sizeof r.smtp_text, "text of %s", email);
    snprintf(r.mx_ip, sizeof r.mx_ip, "192.0.2.25");   /* TEST-NET: not public */
    snprintf(r.route, sizeof r.route, "direct");
    r.attempts = 2;
    r.checked_at = at;
    return r;
}

static bool lookup(cache *c, const cache_run *run, const char *email, const char *domain,
                   int64_t now, result *r, result_tri *learn)
{
    addr a;
    memset(&a, 0, sizeof a);
    snprintf(a.ascii_domain, sizeof a.ascii_domain, "%s", domain);
    result_init(r);
    snprintf(r->email, sizeof r->email, "%s", email);
    return cache_lookup(c, run, r, &a, now, learn);
}

static void test_file_round_trip(void **state)
{
    (void)state;
    char path[512], err[1024];
    snprintf(path, sizeof path, "%s/c.db", dir);
    cache *c = NULL;
    if (cache_open(path, CACHE_OPEN_CREATE | CACHE_OPEN_WRITE, &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    int64_t now = (int64_t)time(NULL);   /* accept-all answers are stamped now */
    cache_run w1 = {.max_age = 30 * DAY, .smtp = true, .allow_private_mx = true, .batch = 1};
    cache_writer *w = cache_writer_start(c, &w1, err, sizeof err);
    assert_non_null(w);
    result a = verdict("a@example.net", REASON_ACCEPTED, now - DAY);
    result b = verdict("b@example.net", REASON_MAILBOX_NOT_FOUND, now - DAY);
    result u = verdict("u@example.net", REASON_TIMEOUT, now - DAY);
    result g = verdict("g@gone.example", REASON_INVALID_DOMAIN, now - DAY);
    cache_put_verdict(w, "example.net", &a);
    cache_put_verdict(w, "example.net", &b);
    cache_put_verdict(w, "example.net", &u);       /* unknown: not kept */
    cache_put_verdict(w, "gone.example", &g);      /* and the domain's fact */
    cache_put_accept_all(w, "example.net", TRI_FALSE);
    result older = verdict("a@example.net", REASON_MAILBOX_NOT_FOUND, now - 2 * DAY);
    cache_put_verdict(w, "example.net", &older);   /* never replaces a newer one */
    result again = a;
    snprintf(again.route, sizeof again.route, "cache");
    again.checked_at = now;
    cache_put_verdict(w, "example.net", &again);   /* a cache answer is not stored again */
    assert_int_equal(cache_writer_stop(w), 0);

    cache_run r2 = {.max_age = 30 * DAY, .smtp = true, .allow_private_mx = true, .batch = 2};
    result r;
    result_tri learn;
    assert_true(lookup(c, &r2, "a@example.net", "example.net", now, &r, &learn));
    assert_int_equal(r.reason, REASON_ACCEPTED);
    assert_int_equal(r.smtp_code, 250);
    assert_string_equal(r.smtp_text, "text of a@example.net");
    assert_string_equal(r.mx_ip, "192.0.2.25");
    assert_string_equal(r.route, "cache");
    assert_int_equal(r.checked_at, now - DAY);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.accept_all, TRI_FALSE);
    assert_true(lookup(c, &r2, "b@example.net", "example.net", now, &r, &learn));
    assert_int_equal(r.reason, REASON_MAILBOX_NOT_FOUND);
    assert_false(lookup(c, &r2, "u@example.net", "example.net", now, &r, &learn));
    assert_int_equal(learn, TRI_FALSE);            /* the engine gets the domain's answer */
    /* a new address of a gone domain: decided by the fact, without DNS */
    assert_true(lookup(c, &r2, "new@gone.example", "gone.example", now, &r, &learn));
    assert_int_equal(r.reason, REASON_INVALID_DOMAIN);
    assert_int_equal(r.checked_at, now - DAY);
    assert_int_equal(r.smtp_code, 0);
    /* the batch that wrote them does not reuse them */
    assert_false(lookup(c, &w1, "a@example.net", "example.net", now, &r, &learn));
    assert_int_equal(learn, TRI_UNSET);
    /* a non-public MX's answer needs --allow-private-mx */
    cache_run pub = r2;
    pub.allow_private_mx = false;
    assert_false(lookup(c, &pub, "a@example.net", "example.net", now, &r, &learn));
    /* --max-age 0, and time passing */
    cache_run zero = r2;
    zero.max_age = 0;
    assert_false(lookup(c, &zero, "a@example.net", "example.net", now, &r, &learn));
    assert_false(lookup(c, &r2, "a@example.net", "example.net", now + 30 * DAY, &r, &learn));
    assert_int_equal(cache_hits(c), 3);

    /* a rejected answer later removes the older entry */
    w = cache_writer_start(c, &r2, err, sizeof err);
    result rej = verdict("b@example.net", REASON_REJECTED, now);
    cache_put_verdict(w, "example.net", &rej);
    assert_int_equal(cache_writer_stop(w), 0);
    cache_run r3 = r2;
    r3.batch = 3;
    assert_false(lookup(c, &r3, "b@example.net", "example.net", now, &r, &learn));

    cache_close(c);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_file_refusals(void **state)
{
    (void)state;
    char path[512], err[1024];
    cache *c = NULL;
    snprintf(path, sizeof path, "%s/text.csv", dir);
    write_file(path, "email\na@b.com\n");
    assert_int_equal(cache_open(path, CACHE_OPEN_CREATE | CACHE_OPEN_WRITE, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an SQLite database"));
    assert_non_null(strstr(err, path));
    snprintf(path, sizeof path, "%s/other.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "create table t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(cache_open(path, CACHE_OPEN_CREATE | CACHE_OPEN_WRITE, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a mailvet cache"));
    snprintf(path, sizeof path, "%s/missing.db", dir);
    assert_int_equal(cache_open(path, 0, &c, err, sizeof err), -1);
    assert_int_equal(access(path, F_OK), -1);      /* stats never creates one */
    assert_int_equal(cache_open(dir, CACHE_OPEN_CREATE, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    /* an empty file becomes a cache */
    snprintf(path, sizeof path, "%s/empty.db", dir);
    write_file(path, "");
    assert_int_equal(cache_open(path, CACHE_OPEN_CREATE | CACHE_OPEN_WRITE, &c, err, sizeof err), 0);
    cache_close(c);
    assert_int_equal(cache_open(path, 0, &c, err, sizeof err), 0);
    cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_age),
        cmocka_unit_test(test_age_text),
        cmocka_unit_test(test_what_is_kept),
        cmocka_unit_test(test_ages),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_file_refusals),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
