/* cache.h — the verdict cache: one SQLite file (--cache FILE, mode 0600,
 * WAL) that keeps final verdicts and domain facts across runs, so a list
 * cleaned again next month is not probed again (what is kept and for how
 * long: cache_policy.h). Several runs and shards may share one file at
 * once: SQLite's WAL lets them read while one writes, and each write waits
 * (busy timeout) for the others' short transactions.
 *
 * Schema (PRAGMA application_id CACHE_APPLICATION_ID, user_version
 * CACHE_FORMAT_VERSION):
 *   mailboxes(email TEXT PRIMARY KEY,   -- mailvet_email
 *             reason TEXT, accept_all INTEGER NULL, mx TEXT,
 *             smtp_code INTEGER NULL, smtp_enhanced, smtp_text TEXT,
 *             mx_ip TEXT, attempts INTEGER,
 *             checked_at INTEGER,       -- unix seconds, when it was received
 *             batch INTEGER)            -- the batch that wrote it
 *   domains(domain TEXT PRIMARY KEY,    -- A-label
 *           fact TEXT, checked_at INTEGER, batch INTEGER)
 * A newer answer replaces an older one; an older one never replaces a newer.
 *
 * A batch never reuses what it wrote itself (its `batch` token, kept in
 * the state file): its rows are decided the same way in one run or across
 * a resume, whatever was committed when.
 *
 * Threads and ownership: cache_open() returns a handle for one thread at a
 * time (the feeder's look-ups), freed by cache_close(). The writer
 * (cache_writer_start) is a thread of its own on its own connection; any
 * thread may put to it; cache_writer_stop() commits and frees it.
 */
#ifndef MAILVET_CACHE_H
#define MAILVET_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "result.h"

#define CACHE_APPLICATION_ID 0x6d764331   /* "mvC1" */
#define CACHE_FORMAT_VERSION 1

typedef struct cache cache;

/* How a run uses the cache. */
typedef struct cache_run {
    int64_t max_age;            /* --max-age, seconds (0: store, never reuse) */
    bool smtp;                  /* --level smtp; false: dns (DNS verdicts only) */
    bool allow_private_mx;      /* else an entry answered by a non-public MX is not reused */
    int64_t batch;              /* this batch's token (non-zero) */
} cache_run;

enum {
    CACHE_OPEN_CREATE = 1,      /* create PATH when missing (0600) */
    CACHE_OPEN_WRITE = 2,       /* will write: refuse a file another program keeps locked */
};

/* Open the cache at PATH (FLAGS above). 0, or -1 with ERR naming the file
 * and what is wrong: missing (without CREATE), not a regular file, not an
 * SQLite database, an SQLite database that is not a mailvet cache, another
 * format version, damaged (quick_check), locked, not writable. A refused
 * file is left as it is. */
int cache_open(const char *path, int flags, cache **out, char *err, size_t errlen);
void cache_close(cache *c);
const char *cache_path(const cache *c);

/* The connection of an open cache (cache_cmd.c's queries). */
struct sqlite3 *cache_db(cache *c);

/* R and A are a screened address that needs the network. When the cache
 * has a fresh answer for it (cache_decide), R gets that verdict with its
 * reply and evidence (mailvet_checked_at the original time, mailvet_route
 * "cache", the risk recomputed) and the result is true. Otherwise false:
 * probe it, and *LEARN is the domain's accept-all answer to give the engine
 * (TRI_UNSET: none). NOW: unix seconds. A failed look-up is a miss. */
bool cache_lookup(cache *c, const cache_run *run, result *r, const addr *a, int64_t now,
                  result_tri *learn);

/* End the read transaction look-ups share (cache_lookup ends it itself
 * at a miss and every few hundred hits): call it when the look-ups stop
 * for a while (the end of INPUT). */
void cache_end_reads(cache *c);

/* Rows answered from the cache by cache_lookup so far. */
uint64_t cache_hits(const cache *c);

/* ---- the writer thread ---- */

typedef struct cache_writer cache_writer;

/* Start the writer on its own connection to C's file; NULL with ERR. */
cache_writer *cache_writer_start(const cache *c, const cache_run *run, char *err, size_t errlen);

/* A final verdict R for an address of DOMAIN (A-label), copied (any
 * thread; blocks while the queue is full). Stored when cache_keeps() says
 * so (a DNS verdict also as the domain's fact); removes the address's
 * entry when cache_forgets(); ignored otherwise, and for rows answered by
 * the cache itself (route "cache"). */
void cache_put_verdict(cache_writer *w, const char *domain, const result *r);

/* DOMAIN's catch-all probe answered: accept-all or not (TRI_UNSET ignored). */
void cache_put_accept_all(cache_writer *w, const char *domain, result_tri accept_all);

/* Commit what is queued and stop. Returns how many records could not be
 * written (a warning naming the file was printed), 0 when all were. */
uint64_t cache_writer_stop(cache_writer *w);

#endif
