/* cli.h — the commands' options (SPEC "Options"), parsed from argv.
 *
 * cli_parse() fills a cli_opts whose strings point into argv (borrowed).
 */
#ifndef MAILVET_CLI_H
#define MAILVET_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "egress.h"

/* Exit codes (SPEC "Exit codes"). */
enum { EXIT_DONE = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3, EXIT_INTERRUPTED = 130 };

typedef enum cli_command { CMD_CHECK, CMD_CLEAN, CMD_REPORT, CMD_MERGE, CMD_DOCTOR, CMD_CACHE } cli_command;
typedef enum cli_level { LEVEL_SYNTAX, LEVEL_DNS, LEVEL_SMTP } cli_level;
typedef enum cli_starttls { STARTTLS_AUTO, STARTTLS_NEVER, STARTTLS_REQUIRE } cli_starttls;
typedef enum cli_progress { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER } cli_progress;

#define CLI_MAX_RETRIES 16
/* --per-provider: ten times --per-mx. The reasons are in README "Politeness". */
#define CLI_PER_PROVIDER_DEFAULT 50

typedef struct cli_opts {
    cli_command command;
    cli_level level;
    const char *dns;               /* NULL: system resolver */
    int smtp_port;
    const char *helo, *from;       /* NULL: derived at run time */
    cli_starttls starttls;
    double connect_timeout, command_timeout;
    int concurrency, per_mx, per_domain, rcpt_per_session;
    int retry_delays[CLI_MAX_RETRIES];
    int nretries;
    const char *column, *state;
    bool restart, allow_private_mx, json, verbose;
    cli_progress progress;
    const char *output;            /* clean -o, report -o */
    const char *report_html;       /* clean --report */
    const char *format;            /* report --format */
    const char *proxy, *bind;      /* --proxy, --bind as given */
    egress_list routes;            /* parsed from them (owned: cli_opts_free) */
    int per_provider;              /* --per-provider: connections per operator (provider.h) */
    int per_proxy;                 /* --per-proxy: connections per route, 0 = no cap */
    int shard_k, shard_n;          /* --shard K/N (1 <= K <= N); N = 0: no sharding */
    const char *input;             /* merge --input: INPUT when not where the states say */
    const char *target;            /* doctor --target: the domain whose MX tests port 25 */
    char delimiter;                /* clean --delimiter; 0: detected */
    bool force;                    /* clean --force: run past the sanity stop */
    unsigned keep;                 /* clean --keep: a bit per verdict_status; 0: every row */
    const char *split_dir;         /* clean --split DIR, or NULL */
    const char *cache;             /* --cache FILE (check, clean), or NULL */
    int64_t max_age;               /* --max-age, seconds (cache_policy.h); 0: never reuse */
    bool max_age_given;
    char **args;                   /* positional arguments */
    int nargs;
} cli_opts;

/* Parse ARGV (ARGV[0] is the command name) for command CMD into O.
 * Returns -1 when the run should go on, otherwise the exit code to leave
 * with (0 after --help, EXIT_USAGE after a message on stderr). */
int cli_parse(cli_command cmd, int argc, char **argv, cli_opts *o);

/* Release what cli_parse allocated (the route list). */
void cli_opts_free(cli_opts *o);

/* Usage texts. */
void cli_usage_main(void);
void cli_usage(cli_command cmd);

#endif
