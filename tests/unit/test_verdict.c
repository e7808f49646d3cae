/* test_verdict.c — the status/reason vocabulary, risk scores and result columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "result.h"
#include "verdict.h"

/* SPEC.md "Statuses and reasons", in order. */
static const struct { const char *status, *reason; } spec_table[] = {
    {"deliverable", "accepted"},
    {"undeliverable", "invalid_syntax"}, {"undeliverable", "invalid_domain"},
    {"undeliverable", "no_mail_server"}, {"undeliverable", "null_mx"},
    {"undeliverable", "unroutable_mx"}, {"undeliverable", "mailbox_not_found"},
    {"undeliverable", "mailbox_disabled"}, {"undeliverable", "rejected"},
    {"risky", "accept_all"}, {"risky", "mailbox_full"}, {"risky", "disposable"},
    {"unknown", "greylisted"}, {"unknown", "temporary_failure"}, {"unknown", "blocked"},
    {"unknown", "timeout"}, {"unknown", "no_connect"}, {"unknown", "tls_error"},
    {"unknown", "protocol_error"}, {"unknown", "dns_error"}, {"unknown", "unverified"},
};

static void test_vocabulary_matches_spec(void **state)
{
    (void)state;
    size_t n = sizeof spec_table / sizeof *spec_table;
    assert_int_equal(n, REASON__COUNT);
    for (size_t i = 0; i < n; i++) {
        int r = verdict_reason_parse(spec_table[i].reason);
        assert_true(r >= 0);
        assert_string_equal(verdict_reason_name((verdict_reason)r), spec_table[i].reason);
        assert_string_equal(verdict_status_name(verdict_status_of((verdict_reason)r)),
                            spec_table[i].status);
    }
    assert_int_equal(verdict_reason_parse("nonsense"), -1);
    assert_int_equal(verdict_status_parse("risky"), VERDICT_RISKY);
    assert_int_equal(verdict_status_parse("maybe"), -1);
}

static void test_risk_bounds(void **state)
{
    (void)state;
    verdict_flags none = {0}, all = {.role = true, .free = true, .typo = true, .syntax_only = true};
    for (int r = 0; r < REASON__COUNT; r++) {
        int lo = verdict_risk((verdict_reason)r, &none), hi = verdict_risk((verdict_reason)r, &all);
        assert_in_range(lo, 0, 100);
        assert_in_range(hi, 0, 100);
        assert_true(hi >= lo);
        if (verdict_status_of((verdict_reason)r) == VERDICT_UNDELIVERABLE)
            assert_int_equal(lo, 100);
        else
            assert_true(hi < 100);   /* only undeliverable is certain to bounce */
    }
    assert_true(verdict_risk(REASON_ACCEPTED, &none) <= 5);
}

static void test_risk_flags_raise(void **state)
{
    (void)state;
    verdict_flags none = {0}, role = {.role = true}, typo = {.typo = true};
    int base = verdict_risk(REASON_ACCEPTED, &none);
    assert_true(verdict_risk(REASON_ACCEPTED, &role) > base);
    assert_true(verdict_risk(REASON_ACCEPTED, &typo) > verdict_risk(REASON_ACCEPTED, &role));
    verdict_flags syn = {.syntax_only = true};
    assert_true(verdict_risk(REASON_UNVERIFIED, &syn) > verdict_risk(REASON_UNVERIFIED, &none));
}

static void test_result_columns(void **state)
{
    (void)state;
    result r;
    result_init(&r);
    strcpy(r.email, "a@example.com");
    r.reason = REASON_MAILBOX_NOT_FOUND;
    r.risk = 100;
    r.role = true;
    r.smtp_code = 550;
    strcpy(r.smtp_enhanced, "5.1.1");
    r.attempts = 2;
    static const char *const want[RESULT_NCOLUMNS] = {
        "a@example.com", "undeliverable", "mailbox_not_found", "100", "", "true", "false",
        "false", "", "", "550", "5.1.1", "", "2",
    };
    char buf[ADDR_BUF];
    for (int i = 0; i < RESULT_NCOLUMNS; i++) {
        size_t n = result_column(&r, i, buf, sizeof buf);
        assert_int_equal(n, strlen(want[i]));
        assert_string_equal(buf, want[i]);
    }
    assert_string_equal(result_column_names[0], "mailvet_email");
    assert_string_equal(result_column_names[RESULT_NCOLUMNS - 1], "mailvet_attempts");
    r.accept_all = TRI_TRUE;
    result_column(&r, 8, buf, sizeof buf);
    assert_string_equal(buf, "true");
    r.risk = -7;
    result_column(&r, 3, buf, sizeof buf);
    assert_string_equal(buf, "-7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocabulary_matches_spec),
        cmocka_unit_test(test_risk_bounds),
        cmocka_unit_test(test_risk_flags_raise),
        cmocka_unit_test(test_result_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
