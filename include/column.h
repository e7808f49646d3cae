/* column.h — which column holds the addresses, and is the first row a header?
 *
 * Pure: decides from a sample of the first rows (borrowed, not kept).
 */
#ifndef MAILVET_COLUMN_H
#define MAILVET_COLUMN_H

#include <stdbool.h>
#include <stddef.h>

#include "csvio.h"

#define COLUMN_SAMPLE_ROWS 100   /* rows read ahead to detect the column */

typedef struct column_choice {
    size_t index;       /* 0-based email column */
    bool has_header;    /* the first row is a header */
} column_choice;

/* Decide from ROWS[0..NROWS). SPEC is --column (a header name or a 1-based
 * number) or NULL for automatic detection. Returns 0, or -1 with a message
 * for the user in ERR. */
int column_detect(const csvio_row *const *rows, size_t nrows, const char *spec,
                  column_choice *out, char *err, size_t errlen);

/* A cheap "this looks like an email address" test used for detection. */
bool column_looks_like_email(const char *p, size_t len);

#endif
