/* counters.h — dumps mailsim's counters as JSON (atomically: temp + rename). */
#ifndef MAILSIM_COUNTERS_H
#define MAILSIM_COUNTERS_H

#include "world.h"

/* Writes the counters of w to path ("-" = stdout). Returns 0 or -1. */
int counters_write(const world *w, const char *path);

#endif
