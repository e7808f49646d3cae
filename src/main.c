/* main.c — entry point: picks the command, finds the data directory, loads
 * the lists, and maps every outcome to SPEC's exit codes. */
#include <libgen.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_cmd.h"
#include "check.h"
#include "clean.h"
#include "cli.h"
#include "doctor.h"
#include "lists.h"
#include "merge.h"
#include "report.h"

#ifndef MAILVET_VERSION
#define MAILVET_VERSION "0.0.0"
#endif
#ifndef MAILVET_DATADIR
#define MAILVET_DATADIR "/usr/local/share/mailvet"
#endif

static bool is_data_dir(const char *dir)
{
    char probe[PATH_MAX + 16];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/roles.txt", dir);
    return stat(probe, &st) == 0;
}

/* $MAILVET_DATA, else data/ beside the binary (build tree), else
 * ../share/mailvet beside it (installed), else the compiled-in path. */
static const char *find_data_dir(char *buf, size_t len)
{
    const char *env = getenv("MAILVET_DATA");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *dir = dirname(exe);
        static const char *const rel[] = {"data", "../data", "../share/mailvet"};
        for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
            if ((size_t)snprintf(buf, len, "%s/%s", dir, rel[i]) >= len)
                continue;
            if (is_data_dir(buf))
                return buf;
        }
    }
    return MAILVET_DATADIR;
}

static lists *load_lists(void)
{
    char dirbuf[PATH_MAX], err[512];
    const char *dir = find_data_dir(dirbuf, sizeof dirbuf);
    lists *l = lists_load(dir, err, sizeof err);
    if (!l)
        fprintf(stderr, "mailvet: cannot load data files from %s: %s "
                "(set MAILVET_DATA to the data directory)\n", dir, err);
    return l;
}

static int run_with_lists(cli_command cmd, const cli_opts *o)
{
    lists *l = load_lists();
    if (!l)
        return EXIT_RUNTIME;
    int rc = cmd == CMD_CHECK ? check_run(o, l) : cmd == CMD_MERGE ? merge_run(o, l) : clean_run(o, l);
    lists_free(l);
    return rc;
}

static int run_command(cli_command cmd, int argc, char **argv)
{
    cli_opts o;
    int rc = cli_parse(cmd, argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (cmd == CMD_REPORT)
        rc = report_run(o.args[0], o.format, o.output);
    else if (cmd == CMD_DOCTOR)
        rc = doctor_run(&o);
    else if (cmd == CMD_CACHE)
        rc = cache_cmd_run(&o);
    else
        rc = run_with_lists(cmd, &o);
    cli_opts_free(&o);
    return rc;
}

/* Thousands of connections need thousands of descriptors: take the hard
 * limit (the soft default is often 1,024). */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    /* A server that hangs up while we write must be an error, not death. */
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (argc < 2) {
        cli_usage_main();
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("mailvet %s\n", MAILVET_VERSION);
        return EXIT_DONE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        cli_usage_main();
        return EXIT_DONE;
    }
    if (strcmp(cmd, "check") == 0)
        return run_command(CMD_CHECK, argc - 1, argv + 1);
    if (strcmp(cmd, "clean") == 0)
        return run_command(CMD_CLEAN, argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return run_command(CMD_REPORT, argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0)
        return run_command(CMD_MERGE, argc - 1, argv + 1);
    if (strcmp(cmd, "doctor") == 0)
        return run_command(CMD_DOCTOR, argc - 1, argv + 1);
    if (strcmp(cmd, "cache") == 0)
        return run_command(CMD_CACHE, argc - 1, argv + 1);
    fprintf(stderr, "mailvet: unknown command '%s'\nTry 'mailvet --help'.\n", cmd);
    return EXIT_USAGE;
}
