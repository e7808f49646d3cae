/* dbcheck.c — dbcheck_intact(): quick_check's verdict on one line. */
#include "dbcheck.h"

#include <stdbool.h>
#include <string.h>

#include "str.h"

int dbcheck_intact(sqlite3 *db, char *why, size_t cap, int *rc)
{
    sqlite3_stmt *st = NULL;
    why[0] = '\0';
    *rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (*rc == SQLITE_OK && (*rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        str_copy(why, cap, t ? t : "");
    }
    sqlite3_finalize(st);
    if (*rc == SQLITE_ROW && strcmp(why, "ok") == 0)
        return 1;
    bool damage = *rc == SQLITE_ROW || (*rc & 0xff) == SQLITE_CORRUPT ||
                  (*rc & 0xff) == SQLITE_NOTADB;
    if (*rc != SQLITE_ROW)
        str_copy(why, cap, sqlite3_errmsg(db));
    const char *banner = "*** in database main ***\n";   /* SQLite's preamble: noise here */
    size_t b = strlen(banner);
    if (strncmp(why, banner, b) == 0)
        memmove(why, why + b, strlen(why + b) + 1);
    for (char *p = why; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return damage ? 0 : -1;
}
