/* report.h — the batch report: rows by status and reason, expected bounce
 * rates, top domains, accept-all domains, hosts that blocked or timed out
 * the verifier, retries, elapsed time and rate (SPEC.md "Report").
 *
 * Two sources: a state file (report_load, read-only SQLite, works on a
 * finished or an unfinished batch) or the counters of a run that just ended
 * (report_summary_text). Three renderings: text, JSON, self-contained HTML.
 *
 * Ownership: report_load() returns a report the caller frees with
 * report_free(); it holds copies of everything (the database is closed
 * before it returns). Writers never close OUT.
 */
#ifndef MAILVET_REPORT_H
#define MAILVET_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

typedef struct report report;

/* Load the report of the state file STATE_PATH (opened read-only; never
 * modified). NULL on error with ERR saying why in a user's words: missing
 * file, not an SQLite database, not a mailvet state file, unsupported
 * format version, SQLite error. */
report *report_load(const char *state_path, char *err, size_t errlen);
void report_free(report *r);

/* Render R to OUT. 0, or -1 when writing failed (ferror(OUT)). */
int report_write_text(const report *r, FILE *out);
int report_write_json(const report *r, FILE *out);  /* one JSON object + "\n" */
int report_write_html(const report *r, FILE *out);  /* one file, no external assets */

/* `mailvet report`: render STATE_PATH in FORMAT ("text", "json", "html";
 * NULL = text) to OUTPUT (NULL or "-" = stdout; else a temporary file in
 * the same directory, mode 0600, renamed into place). Messages go to
 * stderr. Returns an exit code: 0 done, 2 bad format or a missing,
 * unreadable or non-mailvet state file, 1 write error. */
int report_run(const char *state_path, const char *format, const char *output);

/* A finishing `clean`'s report, loaded from STATE_PATH in a thread while
 * the run writes OUTPUT: start it once the results are final (finished_at
 * set); the two read the state file on separate connections. NULL when
 * out of memory. */
typedef struct report_job report_job;
report_job *report_job_start(const char *state_path);

/* Waits for the load, then renders it as report_run does: text to stdout
 * and, when HTML_OUTPUT is not NULL, HTML there. Returns report_run's
 * exit codes. */
int report_job_finish(report_job *j, const char *html_output);

/* Waits for the load if it still runs and frees J (NULL is fine). */
void report_job_free(report_job *j);

/* Port 25: most mail servers tried were unreachable, so the verdicts are
 * unreliable — at least REPORT_UNREACHABLE_MIN_HOSTS hosts tried and
 * REPORT_UNREACHABLE_PCT percent of them never accepted a TCP connection
 * (`clean` and `check` then exit 3). */
#define REPORT_UNREACHABLE_MIN_HOSTS 5
#define REPORT_UNREACHABLE_PCT 80
bool report_unreachable_many(uint64_t tried, uint64_t unreachable);

/* The same from the hosts table of STATE_PATH (false when it cannot be read). */
bool report_state_unreachable(const char *state_path);

/* `clean`'s end-of-run summary from the run's counters (text). */
void report_summary_text(FILE *out, const batch_stats *st);

#endif
