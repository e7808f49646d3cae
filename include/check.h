/* check.h — the `mailvet check` command. */
#ifndef MAILVET_CHECK_H
#define MAILVET_CHECK_H

#include "cli.h"
#include "lists.h"

/* Verify o->args and print the verdicts; returns the exit code. */
int check_run(const cli_opts *o, const lists *l);

#endif
