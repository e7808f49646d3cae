/* test_verdict.c — the status/reason vocabulary, risk scores and result columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "smtp_reply.h"
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
        "false", "", "", "550", "5.1.1", "", "2", "false", "", "", "",
    };
    char buf[ADDR_BUF];
    for (int i = 0; i < RESULT_NCOLUMNS; i++) {
        size_t n = result_column(&r, i, buf, sizeof buf);
        assert_int_equal(n, strlen(want[i]));
        assert_string_equal(buf, want[i]);
    }
    assert_string_equal(result_column_names[0], "mailvet_email");
    assert_string_equal(result_column_names[13], "mailvet_attempts");
    assert_string_equal(result_column_names[14], "mailvet_duplicate");
    assert_int_equal(result_column_kinds[14], RESULT_BOOL);
    r.duplicate = true;
    result_column(&r, 14, buf, sizeof buf);
    assert_string_equal(buf, "true");
    r.accept_all = TRI_TRUE;
    result_column(&r, 8, buf, sizeof buf);
    assert_string_equal(buf, "true");
    r.risk = -7;
    result_column(&r, 3, buf, sizeof buf);
    assert_string_equal(buf, "-7");
}

/* Real replies, from the big providers' published bounce texts and from
 * Debian's Postfix and postgrey, with the reason each must give. */
static const struct {
    verdict_stage stage;
    int code;
    const char *enhanced, *text;
    verdict_reason want;
} samples[] = {
    /* Gmail */
    {STAGE_RCPT, 550, "5.1.1", "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 552, "5.2.2", "The email account that you tried to reach is over quota.", REASON_MAILBOX_FULL},
    {STAGE_RCPT, 550, "5.2.1", "The email account that you tried to reach is disabled.", REASON_MAILBOX_DISABLED},
    {STAGE_RCPT, 550, "5.7.1", "[192.0.2.1] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.", REASON_BLOCKED},
    {STAGE_RCPT, 421, "4.7.0", "[192.0.2.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.", REASON_BLOCKED},
    {STAGE_RCPT, 450, "4.2.1", "The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.", REASON_TEMPORARY_FAILURE},
    /* Microsoft 365 / Outlook.com */
    {STAGE_RCPT, 550, "5.5.0", "Requested action not taken: mailbox unavailable (S2017062302). [AM1EUR03FT012.eop-EUR03.prod.protection.outlook.com]", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 550, "5.4.1", "Recipient address rejected: Access denied. AS(201806281) [DB5EUR03FT003.eop-EUR03.prod.protection.outlook.com]", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 550, "5.7.1", "Service unavailable, Client host [192.0.2.1] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.1 AS(1450)", REASON_BLOCKED},
    {STAGE_RCPT, 550, "5.7.606", "Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit https://sender.office.com/", REASON_BLOCKED},
    /* Yahoo / AOL */
    {STAGE_RCPT, 554, "", "delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1234.mail.bf1.yahoo.com", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 421, "4.7.0", "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", REASON_BLOCKED},
    {STAGE_BANNER, 554, "", "IP 192.0.2.1 is listed at a blocklist; see https://postmaster.example", REASON_BLOCKED},
    /* Postfix and postgrey */
    {STAGE_RCPT, 550, "5.1.1", "<nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 450, "4.2.0", "<x@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html", REASON_GREYLISTED},
    {STAGE_RCPT, 554, "5.7.1", "<x@elsewhere.com>: Relay access denied", REASON_REJECTED},
    {STAGE_MAIL, 530, "5.7.0", "Must issue a STARTTLS command first", REASON_TLS_ERROR},
    {STAGE_RCPT, 550, "5.7.1", "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", REASON_BLOCKED},
    {STAGE_BANNER, 554, "5.7.1", "mx.example.com ESMTP not accepting messages", REASON_BLOCKED},
    {STAGE_BANNER, 421, "4.7.0", "mx.example.com Error: too many connections from 127.0.0.1", REASON_TEMPORARY_FAILURE},
    /* Exim 4.96 and OpenSMTPD 6.8 from Debian 12 (tests/net/exim.sh, opensmtpd.sh) */
    {STAGE_RCPT, 550, "", "Unrouteable address", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 524, "5.2.4", "Mailing list expansion problem: <ghost@os-boxes.com>", REASON_MAILBOX_NOT_FOUND},
    /* Exim, Sendmail, generic */
    {STAGE_RCPT, 550, "", "No such user here", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 550, "5.0.0", "<x@example.com>... User unknown", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 451, "4.7.1", "Please try again later", REASON_GREYLISTED},
    {STAGE_RCPT, 451, "", "Greylisting in action, please come back later", REASON_GREYLISTED},
    {STAGE_RCPT, 452, "4.2.2", "Mailbox full", REASON_MAILBOX_FULL},
    {STAGE_RCPT, 550, "", "Mailbox disabled, not accepting messages", REASON_MAILBOX_DISABLED},
    {STAGE_RCPT, 553, "5.3.0", "Sorry, no mailbox here by that name", REASON_MAILBOX_NOT_FOUND},
    {STAGE_RCPT, 550, "5.6.0", "Message content rejected", REASON_REJECTED},
    {STAGE_RCPT, 451, "4.3.0", "Temporary lookup failure", REASON_TEMPORARY_FAILURE},
    {STAGE_RCPT, 250, "2.1.5", "Ok", REASON_ACCEPTED},
    {STAGE_RCPT, 354, "", "go ahead", REASON_PROTOCOL_ERROR},
    {STAGE_MAIL, 550, "5.1.8", "Sender address rejected: Domain not found", REASON_BLOCKED},
    {STAGE_EHLO, 550, "5.7.1", "Client host rejected: cannot find your reverse hostname", REASON_BLOCKED},
    {STAGE_STARTTLS, 454, "4.7.0", "TLS not available due to local problem", REASON_TLS_ERROR},
    {STAGE_MAIL, 250, "2.1.0", "Ok", REASON_ACCEPTED},
};

static void test_classify_real_replies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        verdict_reason got = verdict_classify(samples[i].stage, samples[i].code,
                                              samples[i].enhanced, samples[i].text);
        if (got != samples[i].want)
            fail_msg("%d %s %s: got %s, want %s", samples[i].code, samples[i].enhanced,
                     samples[i].text, verdict_reason_name(got), verdict_reason_name(samples[i].want));
    }
}

/* A pattern is found in any case wherever it sits, in a text as long as a
 * reply keeps (lowered, then searched) and in a longer one (searched as
 * it is). */
static void test_classify_long_texts(void **state)
{
    (void)state;
    static const size_t lens[] = {SMTP_REPLY_TEXT_MAX, SMTP_REPLY_TEXT_MAX + 1, 3000};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        char *text = malloc(lens[i] + 1);
        assert_non_null(text);
        memset(text, 'x', lens[i]);
        memcpy(text + lens[i] - strlen("Mailbox Is FULL"), "Mailbox Is FULL", strlen("Mailbox Is FULL"));
        text[lens[i]] = '\0';
        assert_int_equal(verdict_classify(STAGE_RCPT, 552, "", text), REASON_MAILBOX_FULL);
        memcpy(text, "TOO MANY ERRORS", strlen("TOO MANY ERRORS"));
        assert_true(verdict_session_limit(421, "", text));
        free(text);
    }
    assert_int_equal(verdict_classify(STAGE_RCPT, 550, "", "NO SUCH USER"), REASON_MAILBOX_NOT_FOUND);
    assert_int_equal(verdict_classify(STAGE_RCPT, 550, "", "no such usex"), REASON_REJECTED);
}

/* Replies that judge the session or the client, not the mailbox: the
 * exact texts real servers send at RCPT, each a session limit that is
 * never a verdict on the mailbox (the recipient is asked again in another
 * session: temporary_failure is only what would be left after the
 * retries); and replies that must stay what they are. LIMIT: whether it is
 * a session limit (verdict_session_limit); WANT: the reason it gives. */
static void test_session_limits(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *enhanced, *text;
        bool limit;
        verdict_reason want;
    } replies[] = {
        /* Exim: Debian's default ACL; recipients_max */
        {550, "", "Rejected for too many bad recipients", true, REASON_TEMPORARY_FAILURE},
        {452, "4.5.3", "Too many recipients", true, REASON_TEMPORARY_FAILURE},
        /* Postfix: smtpd_recipient_limit; smtpd_hard_error_limit (seen from
         * 3.7 in tests/net/postfix-limits.sh); anvil's
         * smtpd_client_recipient_rate_limit and postscreen after its deep
         * protocol tests (tests/net/postscreen.sh) */
        {452, "4.5.3", "Error: too many recipients", true, REASON_TEMPORARY_FAILURE},
        {421, "4.7.0", "mx.pf-limits.com Error: too many errors", true, REASON_TEMPORARY_FAILURE},
        {450, "4.7.1", "Error: too many recipients from 127.0.0.1", true, REASON_TEMPORARY_FAILURE},
        {450, "4.3.2", "Service currently unavailable", true, REASON_TEMPORARY_FAILURE},
        /* Exchange: MaxRecipientsPerMessage and its protocol error limit;
         * issue 14's 5.7.1 form (a policy code, a limit's text) */
        {452, "4.5.3", "Too many recipients", true, REASON_TEMPORARY_FAILURE},
        {421, "4.7.0", "Too many errors on this connection, closing transmission channel", true,
         REASON_TEMPORARY_FAILURE},
        {550, "5.7.1", "Message rejected: too many recipients", true, REASON_TEMPORARY_FAILURE},
        /* Gmail; the permanent form; no enhanced code */
        {452, "4.5.3", "Your message has too many recipients. For more information regarding "
                       "Google's sending limits, visit https://support.google.com/mail/", true,
         REASON_TEMPORARY_FAILURE},
        {550, "5.5.3", "Too many recipients", true, REASON_TEMPORARY_FAILURE},
        {452, "", "Too many recipients", true, REASON_TEMPORARY_FAILURE},
        {550, "", "Too many invalid recipients", true, REASON_TEMPORARY_FAILURE},
        /* one recipient domain per session (issue 16): a session limit, and
         * verdict_mixed_domains below */
        {452, "4.5.3", "Recipients belong to multiple regions", true, REASON_TEMPORARY_FAILURE},
        {452, "4.5.3", "Too many recipient domains", true, REASON_TEMPORARY_FAILURE},
        {550, "5.7.1", "Recipients of multiple domains in one message not allowed", true,
         REASON_TEMPORARY_FAILURE},
        /* mailbox verdicts that must stay verdicts */
        {550, "5.1.1", "<x@example.com>: Recipient address rejected: User unknown in virtual "
                       "mailbox table", false, REASON_MAILBOX_NOT_FOUND},        /* Postfix */
        {550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address "
                        "lookup", false, REASON_MAILBOX_NOT_FOUND},            /* Exchange Online */
        {550, "5.1.1", "User unknown", false, REASON_MAILBOX_NOT_FOUND},        /* Exchange */
        {550, "", "Unrouteable address", false, REASON_MAILBOX_NOT_FOUND},      /* Exim */
        {524, "5.2.4", "Mailing list expansion problem: <x@example.com>", false,
         REASON_MAILBOX_NOT_FOUND},                                              /* OpenSMTPD */
        {550, "", "bad recipient", false, REASON_MAILBOX_NOT_FOUND},
        {452, "4.2.2", "Mailbox full", false, REASON_MAILBOX_FULL},
        /* refusals of the client that are not session limits */
        {421, "4.7.0", "[192.0.2.1] Our system has detected an unusual rate of unsolicited mail "
                       "originating from your IP address.", false, REASON_BLOCKED},   /* Gmail */
        {550, "5.7.1", "Service unavailable; Client host [192.0.2.1] blocked using "
                       "zen.spamhaus.org", false, REASON_BLOCKED},
        {450, "4.2.0", "<x@example.com>: Recipient address rejected: Greylisted, see "
                       "http://postgrey.schweikert.ch/help/example.com.html", false,
         REASON_GREYLISTED},
    };
    for (size_t i = 0; i < sizeof replies / sizeof *replies; i++) {
        bool got = verdict_session_limit(replies[i].code, replies[i].enhanced, replies[i].text);
        verdict_reason r = verdict_classify(STAGE_RCPT, replies[i].code, replies[i].enhanced,
                                            replies[i].text);
        if (got != replies[i].limit)
            fail_msg("%d %s %s: session limit %d, want %d", replies[i].code, replies[i].enhanced,
                     replies[i].text, got, replies[i].limit);
        if (r != replies[i].want)
            fail_msg("%d %s %s: %s, want %s", replies[i].code, replies[i].enhanced,
                     replies[i].text, verdict_reason_name(r), verdict_reason_name(replies[i].want));
        if (replies[i].limit && verdict_status_of(r) == VERDICT_UNDELIVERABLE)
            fail_msg("%d %s: a session limit judged the mailbox", replies[i].code, replies[i].text);
    }
    /* not at the banner: there "too many connections" is the host being busy */
    assert_false(verdict_session_limit(421, "4.7.0", "mx.example.com Error: too many connections "
                                                     "from 127.0.0.1"));
    /* which of them ask for one domain per session */
    assert_true(verdict_mixed_domains(452, "4.5.3", "Recipients belong to multiple regions"));
    assert_true(verdict_mixed_domains(452, "4.5.3", "Too many recipient domains"));
    assert_true(verdict_mixed_domains(550, "5.7.1", "Recipients of multiple domains in one "
                                                    "message not allowed"));
    assert_false(verdict_mixed_domains(452, "4.5.3", "Error: too many recipients"));
    assert_false(verdict_mixed_domains(550, "", "Rejected for too many bad recipients"));
    assert_false(verdict_mixed_domains(250, "2.1.5", "multiple domains ok"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocabulary_matches_spec),
        cmocka_unit_test(test_risk_bounds),
        cmocka_unit_test(test_risk_flags_raise),
        cmocka_unit_test(test_result_columns),
        cmocka_unit_test(test_classify_real_replies),
        cmocka_unit_test(test_classify_long_texts),
        cmocka_unit_test(test_session_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
