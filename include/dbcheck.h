/* dbcheck.h — is an SQLite file whole? One check for the state file
 * (state_open.c) and the verdict cache (cache.c): both refuse a damaged
 * file and leave it as it is, never patch it.
 */
#ifndef MAILVET_DBCHECK_H
#define MAILVET_DBCHECK_H

#include <sqlite3.h>
#include <stddef.h>

/* SQLite's quick_check (b-trees and records, no index cross-check: a read
 * of the file). 1: whole. 0: damaged, and WHY (CAP bytes) says how, on one
 * line. -1: the check itself failed for another reason (*RC, WHY has
 * SQLite's message), which is not damage. */
int dbcheck_intact(sqlite3 *db, char *why, size_t cap, int *rc);

#endif
