/* batch.h — the network side of `mailvet clean`, on its own thread: items
 * arrive from the feeder through an inbox, the engine verifies them on a
 * libuv loop, verdicts go to the state writer.
 *
 * The window bounds memory: batch_add() blocks while WINDOW items are
 * admitted but unfinished, or while BATCH_DOMAINS_MAX domains are in the
 * engine (with the items on their way there, each counted as a new one):
 * a company list has a domain a row, and a domain weighs more than a row.
 * batch_start() returns a handle that
 * batch_finish() joins and frees. Items passed to batch_add() belong to the
 * batch from then on.
 */
#ifndef MAILVET_BATCH_H
#define MAILVET_BATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "cli.h"
#include "engine.h"
#include "state.h"

#define BATCH_DOMAINS_MAX 30000

typedef struct batch batch;

/* Domain knowledge to start with (from a resumed state). */
typedef struct batch_domain {
    char *name;
    result_tri accept_all;
} batch_domain;

/* Progress shared with the feeder. Rows are this run's (its shard's):
 * read = passed by the feeder, done = with a verdict; both include rows
 * decided without the network and rows finished in earlier runs
 * (rows_before), so done <= read always. */
typedef struct batch_progress {
    uint64_t rows_done, rows_read, rows_before, bytes_read, bytes_total;
    uint64_t rows_total;                   /* 0: not known, estimated from the bytes */
    uint64_t by_status[4];
} batch_progress;

/* Start the thread. CANCEL is polled (a signal handler's flag).
 * CATCHALL_SEED: the engine's (engine_opts), kept in the state. CW (NULL
 * without --cache; borrowed, stopped after batch_finish): final verdicts
 * and accept-all answers go there too. */
batch *batch_start(const cli_opts *o, state_writer *w, cache_writer *cw, size_t window,
                   const batch_domain *known, size_t nknown, uint64_t catchall_seed,
                   volatile sig_atomic_t *cancel, char *err, size_t errlen);

/* Tell the engine DOMAIN's accept-all answer (the verdict cache's) before
 * the items added after this call: its rows get no new catch-all probe. */
void batch_learn(batch *b, const char *domain, result_tri accept_all);

/* Give IT to the engine (its row counts as read); blocks while the window
 * is full. False when the batch is stopping (interrupted): IT was freed. */
bool batch_add(batch *b, engine_item *it);

/* Resume: ROWS finished by earlier runs, by status (deliverable,
 * undeliverable, risky, unknown): read and done from the first line. */
void batch_seed(batch *b, uint64_t rows, const uint64_t by_status[4]);

/* A row decided without the network: read and done; R NULL for a duplicate
 * (its verdict is its first row's, counted there). */
void batch_count(batch *b, const result *r);

/* How far the feeder is in INPUT, for the estimated total (TOTAL 0: keep
 * the one given before). */
void batch_set_bytes(batch *b, uint64_t bytes_read, uint64_t bytes_total);

/* The rows of INPUT, when the feeder has counted them (group.h's pass):
 * the total is exact from then on. */
void batch_set_rows_total(batch *b, uint64_t rows);

/* No more input: wait for every verdict and stop the thread. Returns 0,
 * EXIT_INTERRUPTED, or EXIT_RUNTIME. RETRIES_USED gets the engine's count. */
int batch_finish(batch *b, uint64_t *retries_used);

#endif
