/* state.h — a batch's durable state: one SQLite file per `clean` run (WAL,
 * mode 0600), so an interrupted run resumes where it stopped.
 *
 * Ownership and threads: state_open() returns a handle the caller closes
 * with state_close(). The handle itself is used by one thread at a time.
 * Results are written by the writer thread only (state_writer_*: any
 * thread may hand records to it; it copies them and commits them in batched
 * transactions at least once a second). Everything else (identity check,
 * resume loads, the output cursor, reports) happens before the writer
 * starts or after it stopped.
 *
 * Schema (format_version 1; reports may query it directly):
 *   meta(key TEXT PRIMARY KEY, value TEXT)
 *     format_version, input_path, input_size, input_mtime, input_head_sha256,
 *     options (the verdict-changing options, canonical text), email_column,
 *     has_header, width, bom, rows_total, started_at, updated_at, finished_at
 *     (unix seconds, "" while unfinished), elapsed_s (run time over all
 *     sessions), retries_used, level, shard ("K/N", only with --shard)
 *   results(row INTEGER PRIMARY KEY,   -- 0-based data row (header excluded)
 *           email, domain, status, reason TEXT,   -- SPEC names
 *           risk INTEGER, did_you_mean TEXT, role, free, disposable INTEGER,
 *           accept_all INTEGER NULL, mx TEXT, smtp_code INTEGER,
 *           smtp_enhanced, smtp_text TEXT, attempts INTEGER,
 *           duplicate INTEGER,   -- 1: a later row of a mailbox (NULL: older file)
 *           mx_ip TEXT, checked_at INTEGER, route TEXT)
 *     -- the evidence (result.h): checked_at in unix seconds; NULL in rows
 *        an older mailvet finished (they are written out empty)
 *   dups(row INTEGER PRIMARY KEY, first INTEGER, email, domain,
 *        did_you_mean TEXT)
 *     -- a later row of the mailbox first seen at row FIRST, with its own
 *        address fields; finished (a resume skips it), and made a results
 *        row with FIRST's verdict by state_materialise_dups at the end
 *   retries(row INTEGER PRIMARY KEY, due REAL, attempts INTEGER,
 *           email TEXT, domain TEXT, reason TEXT, smtp_code INTEGER,
 *           smtp_enhanced TEXT, smtp_text TEXT, mx TEXT, answers INTEGER)
 *     -- rows waiting for a retry (due = unix time); deleted when finished;
 *        attempts is the retry number, answers its mailvet_attempts so far
 *   domains(domain TEXT PRIMARY KEY, accept_all INTEGER NULL, mx TEXT)
 *   hosts(host TEXT PRIMARY KEY, ip TEXT, sessions INTEGER, timeouts INTEGER,
 *         blocks INTEGER, rcpt_cap INTEGER, last_code INTEGER,
 *         last_enhanced TEXT, last_text TEXT, connects INTEGER)
 *     -- per MX host tried: what it did to the verifier over every run (for
 *        the report); connects = 0: never reached (port 25), NULL: written
 *        before mailvet counted connects
 */
#ifndef MAILVET_STATE_H
#define MAILVET_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define STATE_FORMAT_VERSION 1

typedef struct state state;

/* What must match for a resume: the input file and the options that change
 * verdicts. OPTIONS is a canonical text such as
 * "level=smtp;from=…;helo=…;port=25;starttls=auto;column=auto;retry=360,900,1800". */
typedef struct state_identity {
    const char *input_path;
    uint64_t input_size;
    int64_t input_mtime;
    char head_sha256[65];       /* hex SHA-256 of the first 1 MiB of INPUT */
    const char *options;
} state_identity;

/* Compute ID's size, mtime and head hash for PATH. 0, or -1 with ERR. */
int state_identify(const char *path, state_identity *id, char *err, size_t errlen);

/* Open or create the state file PATH for ID. RESTART discards an existing
 * file. ID = NULL opens an existing file as it is, unlocked and unchecked
 * (merge, reports). Returns 0 for a new batch, 1 when resuming one, -1 on error: ERR
 * says what differs ("INPUT has changed since this batch started (size
 * 1000 → 1200); rerun with --restart to start over") or what failed. */
int state_open(const char *path, const state_identity *id, bool restart, state **out,
               char *err, size_t errlen);
void state_close(state *s);

/* meta values (strings); get returns false when absent. */
int state_meta_set(state *s, const char *key, const char *value);
bool state_meta_get(state *s, const char *key, char *buf, size_t len);

/* Resume: which rows are finished, as a bitmap of NBITS bits (malloc'd,
 * the caller frees it); bit i set = row i has a result or is a duplicate. */
int state_finished_rows(state *s, uint8_t **bitmap, uint64_t *nbits);

/* Resume: the rows waiting for a retry, in row order. */
typedef struct state_retry {
    uint64_t row;
    double due;                 /* unix time */
    int attempts;               /* the retry number: 4xx answers so far */
    char email[ADDR_BUF];
    char domain[ADDR_DOMAIN_MAX + 1];
    result last;                /* the 4xx answer it is waiting on (reason, smtp_*, mx);
                                   last.attempts: its mailvet_attempts so far */
} state_retry;
int state_each_retry(state *s, int (*fn)(void *ud, const state_retry *r), void *ud);

/* Resume: domain knowledge. */
int state_each_domain(state *s, int (*fn)(void *ud, const char *domain, result_tri accept_all,
                                          const char *mx), void *ud);

/* The output pass: results in row order. */
typedef struct state_cursor state_cursor;
state_cursor *state_results(state *s);
/* 1 = *ROW and *R filled, 0 = end (and every call after it), -1 = error. */
int state_cursor_next(state_cursor *c, uint64_t *row, result *r);
void state_cursor_free(state_cursor *c);

/* Rows finished: results, and duplicates not yet materialised. */
uint64_t state_count_results(state *s);

/* Once every row is finished (writer stopped): each duplicate becomes a
 * results row with its own email, domain and suggestion and its first
 * row's verdict, attempts 0, duplicate 1. Idempotent. The number of rows
 * written, or -1 with ERR. */
int64_t state_materialise_dups(state *s, char *err, size_t errlen);

/* ---- the writer thread ---- */

typedef struct state_writer state_writer;

/* Start the writer thread on S (S is its until state_writer_stop). */
state_writer *state_writer_start(state *s, char *err, size_t errlen);

/* Hand records over (copied; any thread). They block while the writer's
 * queue is full, which bounds memory. */
void state_put_result(state_writer *w, uint64_t row, const char *domain, const result *r);
/* ATTEMPTS: the retry number; LAST->attempts: mailvet_attempts so far. */
void state_put_retry(state_writer *w, uint64_t row, double due, int attempts, const char *email,
                     const char *domain, const result *last);
/* ROW is a later row of the mailbox first seen at FIRST: OWN holds its own
 * screen result (email, did_you_mean), DOMAIN its A-label domain. */
void state_put_dup(state_writer *w, uint64_t row, uint64_t first, const char *domain,
                   const result *own);
void state_put_domain(state_writer *w, const char *domain, result_tri accept_all, const char *mx);
/* What one MX host did since the last put: the counts are added to its
 * row, the rest replaces it when set (a learned cap or cleartext stays). */
typedef struct state_host {
    const char *host, *ip;
    const char *provider;       /* its operator (provider.h) */
    int sessions, timeouts, blocks;
    int connects;               /* sessions that got a TCP connection */
    int rcpt_cap;               /* recipients per session it tolerates; 0: no limit seen */
    bool cleartext;             /* asked without TLS after its STARTTLS handshake failed */
    int last_code;
    const char *last_enhanced, *last_text;
} state_host;
void state_put_host(state_writer *w, const state_host *h);
void state_put_meta(state_writer *w, const char *key, const char *value);

/* Commit everything queued, stop the thread. Returns 0, or -1 when a write
 * failed (disk full…): ERR says so; what was committed before stays valid. */
int state_writer_stop(state_writer *w, char *err, size_t errlen);

#endif
