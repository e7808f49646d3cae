/* merge.h — `mailvet merge`: one OUTPUT from the state files of every shard
 * of a `clean --shard K/N` run. */
#ifndef MAILVET_MERGE_H
#define MAILVET_MERGE_H

#include "cli.h"
#include "lists.h"

/* The shards' states are o->args[1..]; OUTPUT is o->args[0]. */
int merge_run(const cli_opts *o, const lists *l);

#endif
