/* cache_cmd.h — `mailvet cache stats|prune [--max-age D] CACHE`. */
#ifndef MAILVET_CACHE_CMD_H
#define MAILVET_CACHE_CMD_H

#include "cli.h"

/* O->args[0] is "stats" or "prune", O->args[1] the cache file (cli.c
 * checked). Prints to stdout; returns the exit code: 0, 2 for a refused
 * file (cache_open's message on stderr), 1 when a query fails. */
int cache_cmd_run(const cli_opts *o);

#endif
