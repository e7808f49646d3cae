/* merge.h — `mailvet merge`: one OUTPUT from the state files of every shard
 * of a `clean --shard K/N` run. */
#ifndef MAILVET_MERGE_H
#define MAILVET_MERGE_H

#include "cli.h"

int merge_run(const cli_opts *o);

#endif
