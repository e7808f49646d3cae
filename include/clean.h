/* clean.h — the `mailvet clean` command. */
#ifndef MAILVET_CLEAN_H
#define MAILVET_CLEAN_H

#include "cli.h"
#include "lists.h"

/* Clean o->args[0] into o->output; returns the exit code. */
int clean_run(const cli_opts *o, const lists *l);

#endif
