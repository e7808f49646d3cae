/* clean.h — the `mailvet clean` command. */
#ifndef MAILVET_CLEAN_H
#define MAILVET_CLEAN_H

#include "cli.h"
#include "lists.h"
#include "output.h"

/* Clean o->args[0] into o->output; returns the exit code. */
int clean_run(const cli_opts *o, const lists *l);

/* `mailvet merge`: write o->output from INPUT o->args[0] (column chosen as
 * o->column says) with the results NEXT gives (in row order, see output.h)
 * through the output pass, exactly as clean does, then print the summary.
 * A row with no result is an error unless it belongs to another shard than
 * o->shard_k/o->shard_n (N = 0: every row must have one). STATE_LABEL names
 * the source in messages; ELAPSED is the run time the summary reports. */
int clean_merge_output(const cli_opts *o, const lists *l, const char *state_label,
                       double elapsed, output_result_fn next, void *ud);

#endif
