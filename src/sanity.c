/* sanity.c — is the email column really one? (include/sanity.h)
 *
 * Counts the invalid values of the chosen column in the first data rows;
 * when nearly all are invalid, names the likely cause in this order: the
 * values hold another delimiter (the file was split on the wrong one),
 * another column holds addresses (the wrong column), or the column simply
 * holds none. Empty cells are not values (exports leave many blank), but a
 * row too short to have the cell is an invalid one.
 */
#include "sanity.h"

#include <stdio.h>
#include <string.h>

#include "sniff.h"

static const char candidates[] = {',', ';', '\t', '|'};

typedef struct tally {
    size_t values, invalid;
    size_t holds[sizeof candidates];   /* invalid values holding each candidate */
} tally;

static void count(const csvio_row *const *rows, size_t first, size_t nrows, size_t colx,
                  sanity_valid_fn valid, void *ud, tally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = first; i < nrows && t->values < SANITY_ROWS; i++) {
        const csvio_row *r = rows[i];
        if (colx < r->n && r->f[colx].len == 0)
            continue;
        t->values++;
        if (colx < r->n && valid(ud, r->f[colx].p, r->f[colx].len))
            continue;
        t->invalid++;
        for (size_t k = 0; colx < r->n && k < sizeof candidates; k++)
            t->holds[k] += memchr(r->f[colx].p, candidates[k], r->f[colx].len) != NULL;
    }
}

/* The columns found, for the message: the header's names, or the first
 * row's values (a header the detection did not take for one shows too). */
static void columns_found(const csvio_row *head, bool named, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "%zu columns found, %s:", head->n,
                                named ? "header" : "first row");
    for (size_t i = 0; i < head->n && o + 8 < len; i++) {
        int w = snprintf(buf + o, len - o, "%s %zu \"%.40s\"", i ? "," : "", i + 1, head->f[i].p);
        if (w < 0 || (size_t)w >= len - o) {
            snprintf(buf + o, len - o, ", …");
            return;
        }
        o += (size_t)w;
    }
}

/* The likely cause, into BUF. */
static void cause(const csvio_row *const *rows, size_t first, size_t nrows, column_choice col,
                  char delim, const tally *t, sanity_valid_fn valid, void *ud, char *buf,
                  size_t len)
{
    char dn[4], cn[4];
    for (size_t k = 0; k < sizeof candidates; k++)
        if (candidates[k] != delim && t->holds[k] * 2 >= t->invalid) {
            snprintf(buf, len, "the values hold %s: the delimiter looks wrong (the file was "
                     "read with %s; try --delimiter %s)", sniff_delimiter_name(candidates[k], cn),
                     sniff_delimiter_name(delim, dn), candidates[k] == '\t' ? "tab" : cn);
            return;
        }
    size_t widest = 0;
    for (size_t i = 0; i < nrows; i++)
        widest = rows[i]->n > widest ? rows[i]->n : widest;
    for (size_t c = 0; c < widest; c++) {
        tally o;
        if (c == col.index)
            continue;
        count(rows, first, nrows, c, valid, ud, &o);
        if (o.values && o.invalid * 2 < o.values) {
            snprintf(buf, len, "column %zu holds addresses: the column looks wrong (try "
                     "--column %zu)", c + 1, c + 1);
            return;
        }
    }
    snprintf(buf, len, "no column holds addresses");
}

bool sanity_check(const csvio_row *const *rows, size_t nrows, column_choice col, char delim,
                  sanity_valid_fn valid, void *ud, char *msg, size_t msglen)
{
    size_t first = col.has_header ? 1 : 0;
    tally t;
    count(rows, first, nrows, col.index, valid, ud, &t);
    if (t.values < SANITY_MIN_ROWS || t.invalid * 100 < t.values * SANITY_INVALID_PCT)
        return false;
    char why[256], cols[512];
    cause(rows, first, nrows, col, delim, &t, valid, ud, why, sizeof why);
    columns_found(rows[0], col.has_header, cols, sizeof cols);
    snprintf(msg, msglen, "%zu of the first %zu values in column %zu are not valid addresses; "
             "%s; %s. Nothing was checked; --force runs anyway", t.invalid, t.values,
             col.index + 1, why, cols);
    return true;
}
