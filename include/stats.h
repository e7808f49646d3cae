/* stats.h — counters of one batch, filled by the pipeline, read by the report. */
#ifndef MAILVET_STATS_H
#define MAILVET_STATS_H

#include <stdint.h>

#include "result.h"
#include "verdict.h"

typedef struct batch_stats {
    uint64_t rows;                       /* data rows (header excluded) */
    uint64_t by_reason[REASON__COUNT];
    uint64_t role, free, disposable, suggestions;
    uint64_t duplicates;                 /* rows of a mailbox seen on an earlier row */
    uint64_t no_email_cell;              /* rows too short to hold the email column */
    uint64_t long_rows;                  /* rows with more fields than the header */
    uint64_t bytes;                      /* input bytes read */
    double elapsed;                      /* seconds */
} batch_stats;

/* Count one finished row. */
void stats_add(batch_stats *st, const result *r);

#endif
