/* counters.h — dumps mailsim's counters as JSON (atomically: temp + rename),
 * and keeps the per-source ones: connections from each client address to
 * each host, in a bounded table (COUNTERS_SOURCES_MAX pairs; later pairs
 * are only counted as overflow). */
#ifndef MAILSIM_COUNTERS_H
#define MAILSIM_COUNTERS_H

#include "world.h"

#define COUNTERS_SOURCES_MAX 4096

typedef struct counters_source counters_source;

/* A connection from client address SRC to host H was accepted. Returns the
 * pair's counters for counters_source_closed(), or NULL once the table is
 * full (then the connection is only counted in "sources_overflow"). */
counters_source *counters_source_opened(const char *src, const world_host *h);
/* That connection closed (NULL is ignored). */
void counters_source_closed(counters_source *s);

/* Writes the counters of w to path ("-" = stdout). Returns 0 or -1. */
int counters_write(const world *w, const char *path);

#endif
