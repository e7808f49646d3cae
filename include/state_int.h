/* state_int.h — what the state_*.c family shares (not for other modules:
 * they use state.h, the public contract).
 *
 * state_open.c opens, creates and closes the handle and owns the
 * connection's helpers below; state_resume.c reads it back for a resumed run
 * and the output pass; state_writer.c is the batched writer thread, which
 * owns the connection while it runs (s->writer set: the other calls refuse).
 */
#ifndef MAILVET_STATE_INT_H
#define MAILVET_STATE_INT_H

#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>

#include "state.h"

struct state {
    sqlite3 *db;
    int lock_fd;                 /* holds the flock (clean runs); -1 if none */
    struct state_writer *writer; /* non-NULL while the writer owns DB */
    sqlite3_stmt *meta_get, *meta_set;
    char path[PATH_MAX];
};

/* ERR (ERRLEN bytes; NULL or 0 = none wanted) = the formatted message. */
void state_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Column I of ST as text into DST (CAP bytes); NULL reads as "". */
void state_col_str(sqlite3_stmt *st, int i, char *dst, size_t cap);

/* sqlite3_exec without callbacks: an SQLite result code. */
int state_exec(sqlite3 *db, const char *sql);

/* A persistent statement on S's connection (kept for the handle's life);
 * 0 or -1. */
int state_prepare(state *s, sqlite3_stmt **st, const char *sql);

/* A one-off statement for a read (the caller finalizes it); -1 when S is
 * NULL, its writer owns the connection, or SQL does not prepare. */
int state_query(state *s, sqlite3_stmt **st, const char *sql);

/* Does TABLE of S's database have COLUMN? (older state files lack some) */
bool state_has_column(state *s, const char *table, const char *column);

#endif
