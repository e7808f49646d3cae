/* sanity.h — the stop before a run on a misread list (SPEC --force).
 *
 * A file read with the wrong delimiter, or the wrong column, looks like a
 * list of invalid addresses: run on, it would tell the user to delete the
 * whole list. Judged from the rows read ahead (borrowed, not kept), before
 * any probe. Pure: validity is the caller's predicate.
 */
#ifndef MAILVET_SANITY_H
#define MAILVET_SANITY_H

#include <stdbool.h>
#include <stddef.h>

#include "column.h"
#include "csvio.h"

#define SANITY_ROWS 1000        /* data rows judged */
#define SANITY_MIN_ROWS 10      /* fewer values than this prove nothing */
#define SANITY_INVALID_PCT 90   /* this share of invalid values stops the run */

typedef bool (*sanity_valid_fn)(void *ud, const char *p, size_t len);

/* ROWS[0..NROWS) as read (the header first when COL says so), DELIM the
 * delimiter they were split on. True when the run should stop; MSG then
 * says how many values were invalid, the likely cause and the columns. */
bool sanity_check(const csvio_row *const *rows, size_t nrows, column_choice col, char delim,
                  sanity_valid_fn valid, void *ud, char *msg, size_t msglen);

#endif
