/* test_result.c — the evidence columns (mailvet_mx_ip, mailvet_checked_at,
 * mailvet_route) and result_format_time, the one rendering of a time as
 * UTC ISO 8601: fixed dates, leap days, the ends of the range, and a sweep
 * of its text against strftime's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "result.h"

static const char *fmt(int64_t t)
{
    static char buf[64];
    memset(buf, 'x', sizeof buf);
    size_t n = result_format_time(t, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static void test_fixed_times(void **state)
{
    (void)state;
    assert_string_equal(fmt(0), "");                          /* unset */
    assert_string_equal(fmt(1), "1970-01-01T00:00:01Z");
    assert_string_equal(fmt(-1), "1969-12-31T23:59:59Z");
    assert_string_equal(fmt(951782400), "2000-02-29T00:00:00Z");        /* leap day of a 400th year */
    assert_string_equal(fmt(951868799), "2000-02-29T23:59:59Z");
    assert_string_equal(fmt(951868800), "2000-03-01T00:00:00Z");
    assert_string_equal(fmt(4107542399), "2100-02-28T23:59:59Z");       /* 2100 is no leap year */
    assert_string_equal(fmt(4107542400), "2100-03-01T00:00:00Z");
    assert_string_equal(fmt(1796226660), "2026-12-02T15:51:00Z");
    assert_string_equal(fmt(1798761599), "2026-12-31T23:59:59Z");
    assert_string_equal(fmt(1798761600), "2027-01-01T00:00:00Z");
    assert_string_equal(fmt(253402300799), "9999-12-31T23:59:59Z");     /* the last 4-digit year */
    assert_string_equal(fmt(253402300800), "");
    assert_string_equal(fmt(-62167219200), "0000-01-01T00:00:00Z");
    assert_string_equal(fmt(-62167219201), "");
    assert_string_equal(fmt(INT64_MAX), "");
    assert_string_equal(fmt(INT64_MIN), "");
}

/* Too small a buffer gets "" (never a cut time), and nothing past it. */
static void test_small_buffer(void **state)
{
    (void)state;
    char buf[32];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(result_format_time(1796226660, buf, 20), 0);
    assert_string_equal(buf, "");
    assert_int_equal(buf[1], 'x');
    assert_int_equal(result_format_time(1796226660, buf, 21), 20);
    assert_string_equal(buf, "2026-12-02T15:51:00Z");
    assert_int_equal(buf[21], 'x');
    assert_int_equal(result_format_time(1796226660, buf, 0), 0);
}

/* Every 9,999,991 s (about 116 days, at a different time of day each step)
 * from 1900 to 2400, and every day's first and last second around three
 * leap days: the same text as strftime of gmtime_r. */
static void test_against_gmtime(void **state)
{
    (void)state;
    char want[64];
    int n = 0;
    for (int64_t t = -2208988800; t < 13569465600; t += 9999991) {
        for (int64_t d = -3; d <= 3; d++) {
            int64_t x = t + d;
            if (x == 0)
                continue;
            time_t tt = (time_t)x;
            struct tm tm;
            assert_non_null(gmtime_r(&tt, &tm));
            strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
            assert_string_equal(fmt(x), want);
            n++;
        }
    }
    /* 2000-02-29, 2024-02-29, 2100-02-28 (no 29th) */
    static const int64_t leap[] = {951782400, 1709164800, 4107456000};
    for (size_t i = 0; i < sizeof leap / sizeof *leap; i++)
        for (int64_t day = -2; day <= 3; day++)
            for (int64_t s = 0; s < 86400; s += 86399) {
                time_t tt = (time_t)(leap[i] + day * 86400 + s);
                struct tm tm;
                assert_non_null(gmtime_r(&tt, &tm));
                strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
                assert_string_equal(fmt((int64_t)tt), want);
                n++;
            }
    assert_true(n > 10000);
}

/* The three columns come last, after mailvet_duplicate, as text. */
static void test_evidence_columns(void **state)
{
    (void)state;
    assert_int_equal(RESULT_NCOLUMNS, 18);
    static const char *const names[] = {"mailvet_duplicate", "mailvet_mx_ip",
                                        "mailvet_checked_at", "mailvet_route"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(result_column_names[14 + i], names[i]);
    for (int i = 15; i < 18; i++)
        assert_int_equal(result_column_kinds[i], RESULT_TEXT);
    result r;
    result_init(&r);
    char buf[ADDR_BUF];
    for (int i = 15; i < 18; i++) {
        assert_int_equal(result_column(&r, i, buf, sizeof buf), 0);   /* unset: empty */
        assert_string_equal(buf, "");
    }
    strcpy(r.mx_ip, "2001:db8::25");
    r.checked_at = 1796226660;
    strcpy(r.route, "socks5://alice@127.0.0.1:1080");
    result_column(&r, 15, buf, sizeof buf);
    assert_string_equal(buf, "2001:db8::25");
    result_column(&r, 16, buf, sizeof buf);
    assert_string_equal(buf, "2026-12-02T15:51:00Z");
    result_column(&r, 17, buf, sizeof buf);
    assert_string_equal(buf, "socks5://alice@127.0.0.1:1080");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_times),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_against_gmtime),
        cmocka_unit_test(test_evidence_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
