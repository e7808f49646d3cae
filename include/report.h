/* report.h — the end-of-run summary (text). The full report (JSON, HTML,
 * from a state file) builds on the same counters. */
#ifndef MAILVET_REPORT_H
#define MAILVET_REPORT_H

#include <stdio.h>

#include "stats.h"

void report_summary_text(FILE *out, const batch_stats *st);

#endif
