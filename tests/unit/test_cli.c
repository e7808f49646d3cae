/* test_cli.c — option parsing: defaults, values, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int parse(cli_command cmd, cli_opts *o, int argc, const char **argv)
{
    /* Silence the usage messages of the refusal cases. */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = cli_parse(cmd, argc, (char **)argv, o);
    fclose(stderr);
    stderr = saved;
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    cli_opts o;
    const char *argv[] = {"check", "a@example.com"};
    assert_int_equal(parse(CMD_CHECK, &o, 2, argv), -1);
    assert_int_equal(o.level, LEVEL_SMTP);
    assert_int_equal(o.smtp_port, 25);
    assert_int_equal(o.per_mx, 5);
    assert_int_equal(o.per_domain, 10);
    assert_int_equal(o.concurrency, 1000);
    assert_int_equal(o.rcpt_per_session, 50);
    assert_int_equal(o.nretries, 3);
    assert_int_equal(o.retry_delays[0], 360);
    assert_int_equal(o.retry_delays[2], 1800);
    assert_true(o.connect_timeout == 10 && o.command_timeout == 30);
    assert_int_equal(o.nargs, 1);
    assert_string_equal(o.args[0], "a@example.com");
}

static void test_values_anywhere(void **state)
{
    (void)state;
    cli_opts o;
    const char *argv[] = {"clean", "in.csv", "--level", "syntax", "-o", "out.csv",
                          "--retry-schedule", "1,2", "--column", "Email", "--allow-private-mx",
                          "--dns", "127.0.0.1:5353", "--starttls", "require"};
    assert_int_equal(parse(CMD_CLEAN, &o, 15, argv), -1);
    assert_int_equal(o.level, LEVEL_SYNTAX);
    assert_string_equal(o.output, "out.csv");
    assert_int_equal(o.nretries, 2);
    assert_int_equal(o.retry_delays[1], 2);
    assert_string_equal(o.column, "Email");
    assert_true(o.allow_private_mx);
    assert_string_equal(o.dns, "127.0.0.1:5353");
    assert_int_equal(o.starttls, STARTTLS_REQUIRE);
    assert_int_equal(o.nargs, 1);
    assert_string_equal(o.args[0], "in.csv");
}

static void test_refusals(void **state)
{
    (void)state;
    cli_opts o;
    const char *bad_level[] = {"check", "--level", "deep", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, bad_level), EXIT_USAGE);
    const char *bad_port[] = {"check", "--smtp-port", "70000", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, bad_port), EXIT_USAGE);
    const char *bad_sched[] = {"check", "--retry-schedule", "5,,x", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, bad_sched), EXIT_USAGE);
    const char *no_out[] = {"clean", "in.csv"};
    assert_int_equal(parse(CMD_CLEAN, &o, 2, no_out), EXIT_USAGE);
    const char *two_in[] = {"clean", "a.csv", "b.csv", "-o", "x"};
    assert_int_equal(parse(CMD_CLEAN, &o, 5, two_in), EXIT_USAGE);
    const char *wrong_cmd[] = {"check", "--restart", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 3, wrong_cmd), EXIT_USAGE);
    const char *timeout0[] = {"check", "--connect-timeout", "0", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, timeout0), EXIT_USAGE);
    const char *fmt[] = {"report", "--format", "pdf", "s.state"};
    assert_int_equal(parse(CMD_REPORT, &o, 4, fmt), EXIT_USAGE);
}

/* The option audit: no option is parsed and then ignored. --threads is gone,
 * --progress is clean's only (check prints its verdicts at the end). */
static void test_no_ignored_options(void **state)
{
    (void)state;
    cli_opts o;
    const char *threads_check[] = {"check", "--threads", "4", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, threads_check), EXIT_USAGE);
    const char *threads_clean[] = {"clean", "--threads=2", "in.csv", "-o", "out.csv"};
    assert_int_equal(parse(CMD_CLEAN, &o, 5, threads_clean), EXIT_USAGE);
    const char *progress_check[] = {"check", "--progress", "never", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, progress_check), EXIT_USAGE);
    const char *progress_clean[] = {"clean", "--progress", "never", "in.csv", "-o", "out.csv"};
    assert_int_equal(parse(CMD_CLEAN, &o, 6, progress_clean), -1);
    assert_int_equal(o.progress, PROGRESS_NEVER);
    cli_opts_free(&o);
    const char *progress_report[] = {"report", "--progress", "never", "s.state"};
    assert_int_equal(parse(CMD_REPORT, &o, 4, progress_report), EXIT_USAGE);
    /* the state file's options where no state file is kept */
    const char *syn_shard[] = {"clean", "--level", "syntax", "--shard", "1/2", "in.csv", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 8, syn_shard), EXIT_USAGE);
    const char *syn_state[] = {"clean", "--level", "syntax", "--state", "s", "in.csv", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 8, syn_state), EXIT_USAGE);
    const char *syn_restart[] = {"clean", "--level", "syntax", "--restart", "in.csv", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 7, syn_restart), EXIT_USAGE);
    const char *syn_report[] = {"clean", "--level", "syntax", "--report", "r.html", "in.csv", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 8, syn_report), EXIT_USAGE);
    const char *stdin_state[] = {"clean", "--state", "s", "-", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 6, stdin_state), EXIT_USAGE);
    const char *stdin_restart[] = {"clean", "--restart", "-", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 5, stdin_restart), EXIT_USAGE);
    const char *stdin_shard[] = {"clean", "--shard", "1/2", "-", "-o", "o"};   /* OUTPUT: shard's rows */
    assert_int_equal(parse(CMD_CLEAN, &o, 6, stdin_shard), -1);
    cli_opts_free(&o);
    const char *dns_state[] = {"clean", "--level", "dns", "--state", "s", "--restart", "--report",
                               "r.html", "--shard", "1/2", "in.csv", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 13, dns_state), -1);
    cli_opts_free(&o);
}

static void test_help_exits_zero(void **state)
{
    (void)state;
    cli_opts o;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    const char *argv[] = {"clean", "--help"};
    int rc = cli_parse(CMD_CLEAN, 2, (char **)argv, &o);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(rc, 0);
}

static void test_routes_and_shards(void **state)
{
    (void)state;
    cli_opts o;
    const char *proxies[] = {"clean", "in.csv", "-o", "out.csv", "--per-proxy", "7", "--shard",
                             "2/8", "--proxy", "socks5://u:p%40ss@127.0.0.1:1080,socks5://[::1]:1081"};
    assert_int_equal(parse(CMD_CLEAN, &o, 10, proxies), -1);
    assert_int_equal(o.per_proxy, 7);
    assert_int_equal(o.shard_k, 2);
    assert_int_equal(o.shard_n, 8);
    assert_int_equal(o.routes.n, 2);
    assert_int_equal(o.routes.e[0].kind, EGRESS_SOCKS5);
    assert_string_equal(o.routes.e[0].user, "u");
    assert_string_equal(o.routes.e[0].pass, "p@ss");
    assert_null(strstr(o.routes.e[0].label, "p@ss"));   /* never shown */
    assert_string_equal(o.routes.e[1].label, "socks5://[::1]:1081");
    cli_opts_free(&o);

    const char *direct[] = {"check", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 2, direct), -1);
    assert_int_equal(o.routes.n, 1);
    assert_int_equal(o.routes.e[0].kind, EGRESS_DIRECT);
    cli_opts_free(&o);

    const char *bind[] = {"check", "--bind", "127.0.0.2,::1", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, bind), -1);
    assert_int_equal(o.routes.n, 2);
    assert_int_equal(o.routes.e[1].kind, EGRESS_BIND);
    cli_opts_free(&o);

    const char *both[] = {"check", "--bind", "127.0.0.2", "--proxy", "socks5://h:1", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 6, both), EXIT_USAGE);
    const char *noport[] = {"check", "--proxy", "socks5://127.0.0.1", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, noport), EXIT_USAGE);
    const char *http[] = {"check", "--proxy", "http://127.0.0.1:3128", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, http), EXIT_USAGE);
    const char *badbind[] = {"check", "--bind", "eth0", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, badbind), EXIT_USAGE);
    const char *shard0[] = {"clean", "--shard", "0/3", "in.csv", "-o", "x.csv"};
    assert_int_equal(parse(CMD_CLEAN, &o, 6, shard0), EXIT_USAGE);
    const char *shardk[] = {"clean", "--shard", "4/3", "in.csv", "-o", "x.csv"};
    assert_int_equal(parse(CMD_CLEAN, &o, 6, shardk), EXIT_USAGE);
    const char *inject[] = {"check", "--helo", "x\r\nRCPT TO:<a@b.c>", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, inject), EXIT_USAGE);
    const char *from_sp[] = {"check", "--from", "a b@c.d", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, from_sp), EXIT_USAGE);
    const char *from_gt[] = {"check", "--from", "a>@c.d", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, from_gt), EXIT_USAGE);
    const char *shard_check[] = {"check", "--shard", "1/3", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, shard_check), EXIT_USAGE);
}

static void test_merge_and_doctor_arguments(void **state)
{
    (void)state;
    cli_opts o;
    const char *merge[] = {"merge", "--input", "list.csv", "out.csv", "a.state", "b.state"};
    assert_int_equal(parse(CMD_MERGE, &o, 6, merge), -1);
    assert_string_equal(o.input, "list.csv");
    assert_int_equal(o.nargs, 3);
    cli_opts_free(&o);
    const char *merge1[] = {"merge", "out.csv"};
    assert_int_equal(parse(CMD_MERGE, &o, 2, merge1), EXIT_USAGE);
    const char *merge_opt[] = {"merge", "--level", "dns", "out.csv", "a.state"};
    assert_int_equal(parse(CMD_MERGE, &o, 5, merge_opt), EXIT_USAGE);
    const char *doctor[] = {"doctor", "--helo", "mx.example.com", "--target", "example.org"};
    assert_int_equal(parse(CMD_DOCTOR, &o, 5, doctor), -1);
    assert_string_equal(o.target, "example.org");
    cli_opts_free(&o);
    const char *doctor_arg[] = {"doctor", "extra"};
    assert_int_equal(parse(CMD_DOCTOR, &o, 2, doctor_arg), EXIT_USAGE);
    const char *doctor_opt[] = {"doctor", "--per-mx", "3"};
    assert_int_equal(parse(CMD_DOCTOR, &o, 3, doctor_opt), EXIT_USAGE);
}

/* --cache and --max-age (check, clean) and `mailvet cache`: values,
 * and the refusals where they would do nothing. */
static void test_cache_options(void **state)
{
    (void)state;
    cli_opts o;
    const char *plain[] = {"check", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 2, plain), -1);
    assert_null(o.cache);
    assert_int_equal(o.max_age, 30 * 86400);
    cli_opts_free(&o);
    const char *check[] = {"check", "--cache", "c.db", "--max-age", "12h", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 6, check), -1);
    assert_string_equal(o.cache, "c.db");
    assert_int_equal(o.max_age, 12 * 3600);
    cli_opts_free(&o);
    const char *clean[] = {"clean", "--cache", "c.db", "--max-age", "0", "in.csv", "-o", "o.csv"};
    assert_int_equal(parse(CMD_CLEAN, &o, 8, clean), -1);
    assert_int_equal(o.max_age, 0);
    cli_opts_free(&o);
    const char *bad_age[] = {"clean", "--cache", "c.db", "--max-age", "30", "in.csv", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 8, bad_age), EXIT_USAGE);
    const char *age_alone[] = {"check", "--max-age", "1d", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 4, age_alone), EXIT_USAGE);
    const char *syntax[] = {"clean", "--level", "syntax", "--cache", "c.db", "in.csv", "-o", "o"};
    assert_int_equal(parse(CMD_CLEAN, &o, 8, syntax), EXIT_USAGE);
    const char *dns[] = {"check", "--level", "dns", "--cache", "c.db", "a@b.c"};
    assert_int_equal(parse(CMD_CHECK, &o, 6, dns), -1);
    cli_opts_free(&o);
    const char *report[] = {"report", "--cache", "c.db", "s.state"};
    assert_int_equal(parse(CMD_REPORT, &o, 4, report), EXIT_USAGE);
    const char *stats[] = {"cache", "stats", "c.db"};
    assert_int_equal(parse(CMD_CACHE, &o, 3, stats), -1);
    assert_int_equal(o.nargs, 2);
    cli_opts_free(&o);
    const char *prune[] = {"cache", "prune", "c.db", "--max-age", "7d"};
    assert_int_equal(parse(CMD_CACHE, &o, 5, prune), -1);
    assert_int_equal(o.max_age, 7 * 86400);
    assert_string_equal(o.args[1], "c.db");
    cli_opts_free(&o);
    const char *verb[] = {"cache", "vacuum", "c.db"};
    assert_int_equal(parse(CMD_CACHE, &o, 3, verb), EXIT_USAGE);
    const char *nofile[] = {"cache", "stats"};
    assert_int_equal(parse(CMD_CACHE, &o, 2, nofile), EXIT_USAGE);
    const char *other[] = {"cache", "--level", "dns", "stats", "c.db"};
    assert_int_equal(parse(CMD_CACHE, &o, 5, other), EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_shards),
        cmocka_unit_test(test_merge_and_doctor_arguments),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_anywhere),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_no_ignored_options),
        cmocka_unit_test(test_help_exits_zero),
        cmocka_unit_test(test_cache_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
