/* test_smtp_reply.c — reply assembly: multi-line, enhanced codes, EHLO
 * keywords, hostile lines, delay hints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "smtp_reply.h"

static smtp_feed feed(smtp_reply *r, const char *line)
{
    return smtp_reply_feed(r, line, strlen(line));
}

static void test_single_line(void **state)
{
    (void)state;
    smtp_reply r;
    smtp_reply_reset(&r);
    assert_int_equal(feed(&r, "250 2.1.5 Ok"), SMTP_REPLY_DONE);
    assert_int_equal(r.code, 250);
    assert_string_equal(r.enhanced, "2.1.5");
    assert_string_equal(r.text, "Ok");
}

static void test_multi_line_gmail(void **state)
{
    (void)state;
    smtp_reply r;
    smtp_reply_reset(&r);
    assert_int_equal(feed(&r, "550-5.1.1 The email account that you tried to reach does not exist. Please try"), SMTP_REPLY_MORE);
    assert_int_equal(feed(&r, "550-5.1.1 double-checking the recipient's email address for typos or"), SMTP_REPLY_MORE);
    assert_int_equal(feed(&r, "550 5.1.1 https://support.google.com/mail/?p=NoSuchUser x1si123 - gsmtp"), SMTP_REPLY_DONE);
    assert_int_equal(r.code, 550);
    assert_string_equal(r.enhanced, "5.1.1");
    assert_int_equal(r.nlines, 3);
    assert_string_equal(r.text, "The email account that you tried to reach does not exist. Please try "
                        "double-checking the recipient's email address for typos or "
                        "https://support.google.com/mail/?p=NoSuchUser x1si123 - gsmtp");
}

static void test_ehlo_keywords(void **state)
{
    (void)state;
    smtp_reply r;
    smtp_reply_reset(&r);
    feed(&r, "250-mx.example.com Hello [127.0.0.1]");
    feed(&r, "250-SIZE 35882577");
    feed(&r, "250-8BITMIME");
    feed(&r, "250-starttls");
    feed(&r, "250-ENHANCEDSTATUSCODES");
    feed(&r, "250-PIPELINING");
    assert_int_equal(feed(&r, "250 SMTPUTF8"), SMTP_REPLY_DONE);
    assert_int_equal(r.ext, SMTP_EXT_STARTTLS | SMTP_EXT_PIPELINING | SMTP_EXT_SMTPUTF8 |
                            SMTP_EXT_8BITMIME | SMTP_EXT_ENHANCEDSTATUSCODES);
    smtp_reply_reset(&r);
    feed(&r, "250-mx says STARTTLS is great");   /* not at the line start */
    feed(&r, "250 STARTTLSX");
    assert_int_equal(r.ext, 0);
}

static void test_bare_code_and_no_enhanced(void **state)
{
    (void)state;
    smtp_reply r;
    smtp_reply_reset(&r);
    assert_int_equal(feed(&r, "354"), SMTP_REPLY_DONE);
    assert_int_equal(r.code, 354);
    assert_string_equal(r.text, "");
    smtp_reply_reset(&r);
    feed(&r, "550 Requested action not taken: mailbox unavailable");
    assert_string_equal(r.enhanced, "");
    smtp_reply_reset(&r);
    feed(&r, "550 5.1.1.1 odd");             /* not an enhanced code */
    assert_string_equal(r.enhanced, "");
    smtp_reply_reset(&r);
    feed(&r, "550 4.1.1 class differs");     /* class must match the code's */
    assert_string_equal(r.enhanced, "");
}

static void test_hostile(void **state)
{
    (void)state;
    smtp_reply r;
    smtp_reply_reset(&r);
    assert_int_equal(feed(&r, "garbage"), SMTP_REPLY_BAD);
    assert_int_equal(feed(&r, "25"), SMTP_REPLY_BAD);
    assert_int_equal(feed(&r, "250x"), SMTP_REPLY_BAD);
    assert_int_equal(feed(&r, "650 six hundred"), SMTP_REPLY_BAD);
    assert_int_equal(feed(&r, "\x01\x02\x03"), SMTP_REPLY_BAD);
    smtp_reply_reset(&r);
    assert_int_equal(feed(&r, "250-first"), SMTP_REPLY_MORE);
    assert_int_equal(feed(&r, "550 changed code"), SMTP_REPLY_BAD);
    smtp_reply_reset(&r);
    for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++)
        assert_int_equal(feed(&r, "250-again"), SMTP_REPLY_MORE);
    assert_int_equal(feed(&r, "250-again"), SMTP_REPLY_BAD);   /* endless replies stop */
    assert_true(r.len <= SMTP_REPLY_TEXT_MAX);
    assert_int_equal(strlen(r.text), r.len);
}

static void test_text_bounded(void **state)
{
    (void)state;
    smtp_reply r;
    smtp_reply_reset(&r);
    char line[2100];
    memset(line, 'x', sizeof line - 1);
    memcpy(line, "250-", 4);
    line[sizeof line - 1] = '\0';
    feed(&r, line);
    line[3] = ' ';
    assert_int_equal(feed(&r, line), SMTP_REPLY_DONE);
    assert_int_equal(r.len, SMTP_REPLY_TEXT_MAX);
    assert_int_equal(strlen(r.text), SMTP_REPLY_TEXT_MAX);
}

static void test_delay_hint(void **state)
{
    (void)state;
    smtp_reply r;
    smtp_reply_reset(&r);
    feed(&r, "451 4.7.1 Greylisted, please try again in 5 minutes");
    assert_int_equal(smtp_reply_delay_hint(&r), 300);
    smtp_reply_reset(&r);
    feed(&r, "450 4.2.0 retry in 90 seconds");
    assert_int_equal(smtp_reply_delay_hint(&r), 90);
    smtp_reply_reset(&r);
    feed(&r, "450 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/x.html");
    assert_int_equal(smtp_reply_delay_hint(&r), 0);
    smtp_reply_reset(&r);
    feed(&r, "451 wait 2 hours");
    assert_int_equal(smtp_reply_delay_hint(&r), 7200);
    smtp_reply_reset(&r);
    feed(&r, "451 try again in 99999999 hours");    /* absurd: ignored */
    assert_int_equal(smtp_reply_delay_hint(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_line),
        cmocka_unit_test(test_multi_line_gmail),
        cmocka_unit_test(test_ehlo_keywords),
        cmocka_unit_test(test_bare_code_and_no_enhanced),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_text_bounded),
        cmocka_unit_test(test_delay_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
