/* cli.c — option parsing and help texts for every command.
 *
 * Every option of SPEC.md is accepted and validated here, even where a level
 * that uses it is not reached, so scripts written today keep working.
 */
#include "cli.h"

#include "cache_policy.h"
#include "shard.h"
#include "verdict.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_LEVEL = 256, OPT_DNS, OPT_SMTP_PORT, OPT_HELO, OPT_FROM, OPT_STARTTLS,
    OPT_CONNECT_TIMEOUT, OPT_COMMAND_TIMEOUT, OPT_CONCURRENCY, OPT_PER_MX, OPT_PER_PROVIDER,
    OPT_PER_DOMAIN, OPT_RCPT_PER_SESSION, OPT_RETRY_SCHEDULE,
    OPT_COLUMN, OPT_STATE, OPT_RESTART, OPT_ALLOW_PRIVATE_MX, OPT_PROGRESS,
    OPT_JSON, OPT_REPORT, OPT_FORMAT, OPT_PROXY, OPT_BIND, OPT_PER_PROXY, OPT_SHARD,
    OPT_INPUT, OPT_TARGET, OPT_DELIMITER, OPT_FORCE, OPT_KEEP, OPT_SPLIT, OPT_CACHE, OPT_MAX_AGE,
};

static const struct option long_opts[] = {
    {"level", required_argument, NULL, OPT_LEVEL},
    {"dns", required_argument, NULL, OPT_DNS},
    {"smtp-port", required_argument, NULL, OPT_SMTP_PORT},
    {"helo", required_argument, NULL, OPT_HELO},
    {"from", required_argument, NULL, OPT_FROM},
    {"starttls", required_argument, NULL, OPT_STARTTLS},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"command-timeout", required_argument, NULL, OPT_COMMAND_TIMEOUT},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"per-mx", required_argument, NULL, OPT_PER_MX},
    {"per-provider", required_argument, NULL, OPT_PER_PROVIDER},
    {"per-domain", required_argument, NULL, OPT_PER_DOMAIN},
    {"rcpt-per-session", required_argument, NULL, OPT_RCPT_PER_SESSION},
    {"retry-schedule", required_argument, NULL, OPT_RETRY_SCHEDULE},
    {"column", required_argument, NULL, OPT_COLUMN},
    {"state", required_argument, NULL, OPT_STATE},
    {"restart", no_argument, NULL, OPT_RESTART},
    {"allow-private-mx", no_argument, NULL, OPT_ALLOW_PRIVATE_MX},
    {"progress", required_argument, NULL, OPT_PROGRESS},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"output", required_argument, NULL, 'o'},
    {"report", required_argument, NULL, OPT_REPORT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"bind", required_argument, NULL, OPT_BIND},
    {"per-proxy", required_argument, NULL, OPT_PER_PROXY},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"input", required_argument, NULL, OPT_INPUT},
    {"target", required_argument, NULL, OPT_TARGET},
    {"delimiter", required_argument, NULL, OPT_DELIMITER},
    {"force", no_argument, NULL, OPT_FORCE},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"split", required_argument, NULL, OPT_SPLIT},
    {"cache", required_argument, NULL, OPT_CACHE},
    {"max-age", required_argument, NULL, OPT_MAX_AGE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const command_names[] = {"check", "clean", "report", "merge", "doctor", "cache"};

/* doctor: what it needs to make a connection and name the sender. */
static bool doctor_allowed(int opt)
{
    switch (opt) {
    case OPT_DNS: case OPT_SMTP_PORT: case OPT_HELO: case OPT_FROM: case OPT_CONNECT_TIMEOUT:
    case OPT_COMMAND_TIMEOUT: case OPT_ALLOW_PRIVATE_MX: case OPT_PROXY: case OPT_BIND:
    case OPT_TARGET: case 'h':
        return true;
    default:
        return false;
    }
}

/* Which options each command takes. */
static bool option_allowed(cli_command cmd, int opt)
{
    if (cmd == CMD_DOCTOR)
        return doctor_allowed(opt);
    if (cmd == CMD_MERGE)
        return opt == OPT_INPUT || opt == 'h';
    if (cmd == CMD_CACHE)
        return opt == OPT_MAX_AGE || opt == 'h';
    switch (opt) {
    case OPT_INPUT: case OPT_TARGET:
        return false;
    case OPT_CACHE: case OPT_MAX_AGE:
        return cmd == CMD_CHECK || cmd == CMD_CLEAN;
    case OPT_SHARD:
        return cmd == CMD_CLEAN;
    case OPT_JSON: case 'v':
        return cmd == CMD_CHECK;
    case OPT_PROGRESS:                 /* check prints its verdicts at the end: no progress */
        return cmd == CMD_CLEAN;
    case OPT_COLUMN: case OPT_STATE: case OPT_RESTART: case OPT_REPORT:
    case OPT_DELIMITER: case OPT_FORCE: case OPT_KEEP: case OPT_SPLIT:
        return cmd == CMD_CLEAN;
    case 'o':
        return cmd != CMD_CHECK;
    case OPT_FORMAT:
        return cmd == CMD_REPORT;
    case 'h':
        return true;
    default:
        return cmd != CMD_REPORT;
    }
}

static int usage_error(cli_command cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "mailvet %s: ", command_names[cmd]);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'mailvet %s --help'.\n", command_names[cmd]);
    return EXIT_USAGE;
}

/* OPT as the user writes it ("--level", "-o/--output"), for messages. */
static const char *option_name(int opt, char *buf, size_t len)
{
    for (const struct option *p = long_opts; p->name; p++)
        if (p->val == opt) {
            if (opt < 256)
                snprintf(buf, len, "-%c/--%s", opt, p->name);
            else
                snprintf(buf, len, "--%s", p->name);
            return buf;
        }
    return "?";
}

/* OPT was given to CMD, which does not take it: say which commands do. */
static int refuse_option(cli_command cmd, int opt)
{
    char name[64], msg[256];
    option_name(opt, name, sizeof name);
    size_t n = (size_t)snprintf(msg, sizeof msg, "option %s does not apply to %s; it is an option of",
                                name, command_names[cmd]);
    const char *sep = " ";
    for (int c = CMD_CHECK; c <= CMD_CACHE && n < sizeof msg; c++)
        if (option_allowed((cli_command)c, opt)) {
            n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s", sep, command_names[c]);
            sep = ", ";
        }
    return usage_error(cmd, "%s", msg);
}

/* A removed option gets its own message instead of "bad option". */
static bool is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0 && v <= 86400))
        return false;
    *out = v;
    return true;
}

/* S goes into an SMTP command line as is: one word of printable ASCII
 * (no CR/LF that would inject commands), none of BANNED, 1..MAX bytes. */
static bool smtp_word(const char *s, size_t max, const char *banned)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || (banned && strchr(banned, *p)))
            return false;
    return true;
}

static int parse_choice(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static bool parse_schedule(const char *s, cli_opts *o)
{
    o->nretries = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return false;
    strcpy(buf, s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->nretries == CLI_MAX_RETRIES ||
            !parse_int(t, 0, 7 * 86400, &o->retry_delays[o->nretries]))
            return false;
        o->nretries++;
    }
    return true;
}

/* --delimiter: one of the four that are detected; "tab" or "\t" for a tab. */
static bool parse_delimiter(const char *s, char *out)
{
    if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0 || strcmp(s, "\t") == 0) {
        *out = '\t';
        return true;
    }
    if (strlen(s) == 1 && strchr(",;|", s[0])) {
        *out = s[0];
        return true;
    }
    return false;
}

/* --keep STATUS[,...]: a bit per verdict_status. */
static bool parse_keep(const char *s, unsigned *mask)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return false;
    strcpy(buf, s);
    *mask = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int st = verdict_status_parse(t);
        if (st < 0)
            return false;
        *mask |= 1u << st;
    }
    return *mask != 0;
}

static void defaults(cli_command cmd, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->command = cmd;
    o->level = LEVEL_SMTP;
    o->smtp_port = 25;
    o->starttls = STARTTLS_AUTO;
    o->connect_timeout = 10;
    o->command_timeout = 30;
    o->concurrency = 1000;
    o->per_mx = 5;
    o->per_provider = CLI_PER_PROVIDER_DEFAULT;
    o->per_domain = 10;
    o->rcpt_per_session = 50;
    o->retry_delays[0] = 360;
    o->retry_delays[1] = 900;
    o->retry_delays[2] = 1800;
    o->nretries = 3;
    o->progress = PROGRESS_AUTO;
    o->format = "text";
    o->max_age = CACHE_MAX_AGE_DEFAULT;
}

/* Apply one parsed option; returns -1 or an exit code. */
static int apply(cli_command cmd, int c, const char *arg, cli_opts *o)
{
    static const char *const levels[] = {"syntax", "dns", "smtp"};
    static const char *const tls[] = {"auto", "never", "require"};
    static const char *const prog[] = {"auto", "always", "never"};
    static const char *const formats[] = {"text", "json", "html"};
    int v;
    switch (c) {
    case OPT_LEVEL:
        if ((v = parse_choice(arg, levels, 3)) < 0)
            return usage_error(cmd, "--level must be syntax, dns or smtp, not '%s'", arg);
        o->level = (cli_level)v;
        return -1;
    case OPT_STARTTLS:
        if ((v = parse_choice(arg, tls, 3)) < 0)
            return usage_error(cmd, "--starttls must be auto, never or require, not '%s'", arg);
        o->starttls = (cli_starttls)v;
        return -1;
    case OPT_PROGRESS:
        if ((v = parse_choice(arg, prog, 3)) < 0)
            return usage_error(cmd, "--progress must be auto, always or never, not '%s'", arg);
        o->progress = (cli_progress)v;
        return -1;
    case OPT_FORMAT:
        if (parse_choice(arg, formats, 3) < 0)
            return usage_error(cmd, "--format must be text, json or html, not '%s'", arg);
        o->format = arg;
        return -1;
    case OPT_DNS: o->dns = arg; return -1;
    case OPT_HELO:
        if (!smtp_word(arg, 255, NULL))
            return usage_error(cmd, "--helo must be one host name (no spaces or control "
                               "characters, at most 255 bytes), not '%s'", arg);
        o->helo = arg;
        return -1;
    case OPT_FROM:
        if (!smtp_word(arg, 320, "<>"))
            return usage_error(cmd, "--from must be one address (no spaces, <, > or control "
                               "characters), not '%s'", arg);
        o->from = arg;
        return -1;
    case OPT_COLUMN: o->column = arg; return -1;
    case OPT_STATE: o->state = arg; return -1;
    case OPT_REPORT: o->report_html = arg; return -1;
    case OPT_PROXY: o->proxy = arg; return -1;
    case OPT_BIND: o->bind = arg; return -1;
    case OPT_INPUT: o->input = arg; return -1;
    case OPT_TARGET: o->target = arg; return -1;
    case OPT_SPLIT: o->split_dir = arg; return -1;
    case OPT_FORCE: o->force = true; return -1;
    case OPT_CACHE: o->cache = arg; return -1;
    case OPT_MAX_AGE:
        o->max_age_given = true;
        return cache_parse_age(arg, &o->max_age) ? -1
               : usage_error(cmd, "--max-age must be 0 or a whole number with a unit s, m, h or d "
                             "(30d, 12h), at most 3650d, not '%s'", arg);
    case OPT_DELIMITER:
        return parse_delimiter(arg, &o->delimiter) ? -1
               : usage_error(cmd, "--delimiter must be one of , ; | or tab, not '%s'", arg);
    case OPT_KEEP:
        return parse_keep(arg, &o->keep) ? -1
               : usage_error(cmd, "--keep must be statuses from deliverable, undeliverable, "
                             "risky, unknown, separated by commas, not '%s'", arg);
    case OPT_PER_PROXY:
        return parse_int(arg, 1, 100000, &o->per_proxy) ? -1
               : usage_error(cmd, "--per-proxy must be 1..100000, not '%s'", arg);
    case OPT_SHARD:
        return shard_parse(arg, &o->shard_k, &o->shard_n) ? -1
               : usage_error(cmd, "--shard must be K/N with 1 <= K <= N (e.g. 2/8), not '%s'", arg);
    case 'o': o->output = arg; return -1;
    case OPT_RESTART: o->restart = true; return -1;
    case OPT_ALLOW_PRIVATE_MX: o->allow_private_mx = true; return -1;
    case OPT_JSON: o->json = true; return -1;
    case 'v': o->verbose = true; return -1;
    case OPT_SMTP_PORT:
        return parse_int(arg, 1, 65535, &o->smtp_port) ? -1
               : usage_error(cmd, "--smtp-port must be a port number, not '%s'", arg);
    case OPT_CONNECT_TIMEOUT:
        return parse_seconds(arg, &o->connect_timeout) ? -1
               : usage_error(cmd, "--connect-timeout must be seconds > 0, not '%s'", arg);
    case OPT_COMMAND_TIMEOUT:
        return parse_seconds(arg, &o->command_timeout) ? -1
               : usage_error(cmd, "--command-timeout must be seconds > 0, not '%s'", arg);
    case OPT_CONCURRENCY:
        return parse_int(arg, 1, 100000, &o->concurrency) ? -1
               : usage_error(cmd, "--concurrency must be 1..100000, not '%s'", arg);
    case OPT_PER_MX:
        return parse_int(arg, 1, 1000, &o->per_mx) ? -1
               : usage_error(cmd, "--per-mx must be 1..1000, not '%s'", arg);
    case OPT_PER_PROVIDER:
        return parse_int(arg, 1, 100000, &o->per_provider) ? -1
               : usage_error(cmd, "--per-provider must be 1..100000, not '%s'", arg);
    case OPT_PER_DOMAIN:
        return parse_int(arg, 1, 10000, &o->per_domain) ? -1
               : usage_error(cmd, "--per-domain must be 1..10000, not '%s'", arg);
    case OPT_RCPT_PER_SESSION:
        return parse_int(arg, 1, 1000, &o->rcpt_per_session) ? -1
               : usage_error(cmd, "--rcpt-per-session must be 1..1000, not '%s'", arg);
    case OPT_RETRY_SCHEDULE:
        return parse_schedule(arg, o) ? -1
               : usage_error(cmd, "--retry-schedule must be up to 16 comma-separated seconds, not '%s'", arg);
    default:
        return usage_error(cmd, "%s", "unknown option");
    }
}

/* clean's options about the state file do nothing where no state file is
 * kept (--level syntax: --shard too, whose shards merge joins from their
 * state files) or none survives the run (INPUT -: resume needs a named
 * INPUT): refused, not ignored. */
static int clean_state_options(cli_command cmd, const cli_opts *o)
{
    const char *given = o->shard_n ? "--shard" : o->state ? "--state" : o->restart ? "--restart"
                        : o->report_html ? "--report" : NULL;
    if (given && o->level == LEVEL_SYNTAX)
        return usage_error(cmd, "%s does nothing at --level syntax, which keeps no state file "
                           "(use --level dns or smtp)", given);
    given = o->state ? "--state" : o->restart ? "--restart" : NULL;
    if (given && strcmp(o->args[0], "-") == 0)
        return usage_error(cmd, "%s does nothing with INPUT - (stdin): its state file is temporary, "
                           "since resume needs a named INPUT", given);
    return -1;
}

/* --cache needs the network's verdicts to keep; --max-age needs --cache. */
static int cache_options(cli_command cmd, const cli_opts *o)
{
    if (o->cache && o->level == LEVEL_SYNTAX)
        return usage_error(cmd, "%s", "--cache does nothing at --level syntax, which asks no "
                           "server (use --level dns or smtp)");
    if (o->max_age_given && !o->cache)
        return usage_error(cmd, "%s", "--max-age does nothing without --cache FILE");
    return -1;
}

static int check_positionals(cli_command cmd, cli_opts *o)
{
    int rc;
    switch (cmd) {
    case CMD_CHECK:
        if (o->nargs < 1)
            return usage_error(cmd, "%s", "give at least one ADDRESS");
        return cache_options(cmd, o);
    case CMD_CLEAN:
        if (o->nargs != 1)
            return usage_error(cmd, "%s", "give exactly one INPUT.csv (or - for stdin)");
        if (!o->output)
            return usage_error(cmd, "%s", "-o OUTPUT.csv is required");
        if ((rc = cache_options(cmd, o)) >= 0)
            return rc;
        return clean_state_options(cmd, o);
    case CMD_REPORT:
        if (o->nargs != 1)
            return usage_error(cmd, "%s", "give exactly one STATE file");
        break;
    case CMD_MERGE:
        if (o->nargs < 2)
            return usage_error(cmd, "%s", "give OUTPUT.csv and every shard's STATE file");
        break;
    case CMD_DOCTOR:
        if (o->nargs)
            return usage_error(cmd, "unexpected argument '%s'", o->args[0]);
        break;
    case CMD_CACHE:
        if (o->nargs != 2 || (strcmp(o->args[0], "stats") != 0 && strcmp(o->args[0], "prune") != 0))
            return usage_error(cmd, "%s", "give stats or prune, then the CACHE file");
        break;
    }
    return -1;
}

/* --proxy and --bind become the route list (a single direct route without). */
static int parse_routes(cli_command cmd, cli_opts *o)
{
    char err[512];
    if (o->proxy && o->bind)
        return usage_error(cmd, "%s", "use --proxy or --bind, not both");
    if (egress_parse(o->proxy, o->bind, &o->routes, err, sizeof err) != 0)
        return usage_error(cmd, "%s", err);
    return -1;
}

void cli_opts_free(cli_opts *o)
{
    egress_list_free(&o->routes);
}

/* getopt refused an argument: name that argument. Inside a cluster of
 * short options ("-x@example.com") getopt has not moved past it yet. */
static int bad_option(cli_command cmd, int argc, char **argv)
{
    const char *arg = argv[optind - 1];
    if (optopt > 0 && optopt < 256 && optind < argc && argv[optind][0] == '-' &&
        argv[optind][1] != '-' && strchr(argv[optind], optopt))
        arg = argv[optind];
    if (strchr(arg, '@') && arg[1] != '-') {
        fprintf(stderr, "mailvet %s: unknown option '%s' (an address that starts with '-'? put "
                "it after --: mailvet %s [OPTIONS] -- %s)\n", command_names[cmd], arg,
                command_names[cmd], arg);
        return EXIT_USAGE;
    }
    return usage_error(cmd, "unknown option or missing value: %s", arg);
}

int cli_parse(cli_command cmd, int argc, char **argv, cli_opts *o)
{
    defaults(cmd, o);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:vh", long_opts, NULL)) != -1) {
        if ((c == '?' || c == ':') && is_option(argv[optind - 1], "--threads"))
            return usage_error(cmd, "%s", "--threads is not an option: the network work runs on "
                               "one event loop (use --concurrency for how many connections)");
        if (c == '?' || c == ':')
            return bad_option(cmd, argc, argv);
        if (c == 'h') {
            cli_usage(cmd);
            return EXIT_DONE;
        }
        if (!option_allowed(cmd, c))
            return refuse_option(cmd, c);
        int rc = apply(cmd, c, optarg, o);
        if (rc >= 0)
            return rc;
    }
    o->args = argv + optind;
    o->nargs = argc - optind;
    int rc = check_positionals(cmd, o);
    return rc >= 0 ? rc : parse_routes(cmd, o);
}

void cli_usage_main(void)
{
    puts("mailvet — verify email addresses and clean mailing lists\n"
         "\n"
         "Usage:\n"
         "  mailvet check [OPTIONS] ADDRESS...               verify addresses, one verdict each\n"
         "  mailvet clean [OPTIONS] INPUT.csv -o OUTPUT.csv  batch-clean a list (resumable)\n"
         "  mailvet report [--format text|json|html] [-o FILE] STATE\n"
         "  mailvet merge [--input INPUT.csv] OUTPUT.csv STATE...  join --shard runs\n"
         "  mailvet doctor [--helo NAME] [--from ADDR]       check this host can verify\n"
         "  mailvet cache stats|prune [--max-age D] CACHE    the verdict cache of --cache\n"
         "  mailvet --version | --help | COMMAND --help\n"
         "\n"
         "Exit codes: 0 done, 1 runtime error, 2 usage or input error, 3 done but most mail\n"
         "servers were unreachable (verdicts unreliable: see mailvet doctor), 130 interrupted.");
}

static void usage_common(void)
{
    puts("  --level syntax|dns|smtp   how deep to check (default smtp)\n"
         "  --dns HOST[:PORT][,...]   DNS servers to ask (default: system resolver)\n"
         "  --smtp-port N             port used for every MX (default 25)\n"
         "  --helo NAME               EHLO/HELO name (default: this host's FQDN)\n"
         "  --from ADDR               envelope sender (default verify@<helo>)\n"
         "  --starttls auto|never|require   (default auto)\n"
         "  --connect-timeout S       per connection attempt (default 10)\n"
         "  --command-timeout S       per SMTP reply (default 30)\n"
         "  --concurrency N           open SMTP connections in all (default 1000)\n"
         "  --per-mx N                connections to one MX address (default 5)\n"
         "  --per-provider N          connections to one operator's MX hosts, by registrable\n"
         "                            domain of their names (default 50)\n"
         "  --per-domain N            connections for one recipient domain (default 10)\n"
         "  --rcpt-per-session N      recipients per SMTP session (default 50)\n"
         "  --retry-schedule S,S,...  delays before retrying a 4xx (default 360,900,1800)\n"
         "  --allow-private-mx        allow loopback/private MX addresses (tests)\n"
         "  --proxy socks5://[USER:PASS@]HOST:PORT[,...]  connect through SOCKS5 proxies\n"
         "  --bind ADDR[,...]         source addresses to spread connections over\n"
         "  --per-proxy N             connections through one proxy or source (default: no cap)\n"
         "  --cache FILE              verdict cache shared across runs (SQLite, 0600)\n"
         "  --max-age D               reuse cached verdicts younger than D: 30d, 12h, 0 =\n"
         "                            store but never reuse (default 30d; domain facts 7d)\n"
         "  -h, --help                this text");
}

void cli_usage(cli_command cmd)
{
    switch (cmd) {
    case CMD_CHECK:
        puts("Usage: mailvet check [OPTIONS] ADDRESS...\n"
             "Verify each ADDRESS and print one verdict per address, in argument order\n"
             "(- reads addresses from standard input, one a line; -- before an address\n"
             "that starts with -).\n"
             "\n"
             "  --json                    one JSON object per address\n"
             "  -v, --verbose             also print the SMTP transcript on stderr");
        break;
    case CMD_CLEAN:
        puts("Usage: mailvet clean [OPTIONS] INPUT.csv -o OUTPUT.csv\n"
             "Append verdict columns to every row of INPUT (- for stdin) and write OUTPUT\n"
             "in input order, then print a summary.\n"
             "\n"
             "  -o, --output FILE         the annotated CSV (written to a temp file, then renamed)\n"
             "  --column NAME|N           the email column (default: detected)\n"
             "  --delimiter C             , ; | or tab (default: detected; sep=C honoured)\n"
             "  --force                   run although the email column looks wrong\n"
             "  --keep STATUS[,...]       OUTPUT holds only rows of these statuses\n"
             "  --split DIR               also write one CSV per status into DIR\n"
             "  --state PATH              the batch's state file (default OUTPUT.state)\n"
             "  --restart                 discard an existing state file and start over\n"
             "  --report FILE.html        also write the HTML report\n"
             "  --progress auto|always|never  progress on stderr (default auto)\n"
             "  --shard K/N               only rows whose domain falls in shard K of N\n"
             "                            (then: mailvet merge OUTPUT.csv STATE...)");
        break;
    case CMD_REPORT:
        puts("Usage: mailvet report [--format text|json|html] [-o FILE] STATE\n"
             "Render the report of a finished or unfinished batch from its state file.");
        return;
    case CMD_MERGE:
        puts("Usage: mailvet merge [--input INPUT.csv] OUTPUT.csv STATE...\n"
             "Write OUTPUT for the whole list, in input order, from the state files of\n"
             "every shard of a `clean --shard K/N` run (all N of them, each finished).\n"
             "\n"
             "  --input FILE              INPUT here, when not at the path the shards used");
        return;
    case CMD_DOCTOR:
        puts("Usage: mailvet doctor [OPTIONS]\n"
             "Check what makes this host a verifier that servers answer honestly:\n"
             "outbound port 25 (or the proxy), the HELO name's address and PTR, the\n"
             "--from domain's MX and SPF. Prints what to fix; exit 1 when something fails.\n"
             "\n"
             "  --target DOMAIN           whose MX to test port 25 against (default gmail.com)\n"
             "  --helo NAME, --from ADDR, --dns, --smtp-port, --connect-timeout,\n"
             "  --command-timeout, --proxy, --bind, --allow-private-mx: as for check");
        return;
    case CMD_CACHE:
        puts("Usage: mailvet cache stats|prune [--max-age D] CACHE\n"
             "The verdict cache that check and clean keep with --cache FILE.\n"
             "\n"
             "  stats                     entries by status and reason, their ages, and how\n"
             "                            many a run with --max-age D would reuse\n"
             "  prune                     delete the entries a run with --max-age D would not\n"
             "                            reuse (domain facts: 7d, or D when shorter)\n"
             "  --max-age D               30d, 12h, 90m, 0 (default 30d)");
        return;
    }
    usage_common();
}
