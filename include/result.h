/* result.h — one address's verdict as it is written out (CSV columns, JSON).
 *
 * A result is a plain value: fixed-size buffers, no pointers, so it can be
 * copied between threads and stored as it is. The column names live here
 * and nowhere else.
 */
#ifndef MAILVET_RESULT_H
#define MAILVET_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "verdict.h"

#define RESULT_SMTP_TEXT_MAX 200

typedef enum result_tri { TRI_UNSET = -1, TRI_FALSE = 0, TRI_TRUE = 1 } result_tri;

typedef struct result {
    char email[ADDR_BUF];          /* normalised address, "" if unparseable */
    verdict_reason reason;
    int risk;
    char did_you_mean[ADDR_BUF];   /* full suggested address, or "" */
    bool role, free, disposable;
    result_tri accept_all;
    char mx[256];
    int smtp_code;                 /* 0 when there was no deciding reply */
    char smtp_enhanced[16];
    char smtp_text[RESULT_SMTP_TEXT_MAX + 1];
    int attempts;
    bool duplicate;                /* a later row of a mailbox already seen (dedup.h) */
} result;

/* Number of appended mailvet_* columns, their names, and what kind of
 * value each holds (JSON writes ints and booleans bare, empty as null). */
#define RESULT_NCOLUMNS 15
typedef enum result_kind { RESULT_TEXT, RESULT_INT, RESULT_BOOL } result_kind;
extern const char *const result_column_names[RESULT_NCOLUMNS];
extern const result_kind result_column_kinds[RESULT_NCOLUMNS];

void result_init(result *r);

/* Render column I of R into BUF (BUFLEN bytes); returns the length written.
 * Buffers of ADDR_BUF bytes hold any column. */
size_t result_column(const result *r, int i, char *buf, size_t buflen);

#endif
