/* csvio.h — streaming CSV reader and writer over libcsv.
 *
 * The reader hands out one row at a time; a row's fields point into the
 * reader's buffers and stay valid only until the next csvio_next() call
 * (csvio_row_dup() makes a copy that the caller owns and free()s). Memory is
 * bounded by the largest row (at most CSVIO_ROW_MAX bytes), not by the file.
 *
 * Parsing runs on a reader thread; the writer's write()s on a writer thread.
 * Both objects themselves are used from one thread.
 *
 * The dialect (encoding, sep= line, delimiter) is settled by csvio_open(),
 * which reads the file's first SNIFF_BYTES itself (sniff.h): a workbook or
 * other binary file fails the open with what it is and what to do; UTF-16
 * with a BOM is handed out as UTF-8; a first line "sep=C" is no record
 * (record 1 is the line after it). Fields are always UTF-8 (or the input's
 * bytes as they are, when it is not UTF-16).
 *
 * The writer quotes a field only when it must (its delimiter, quote, CR or LF).
 */
#ifndef MAILVET_CSVIO_H
#define MAILVET_CSVIO_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "sniff.h"

#define CSVIO_ROW_MAX (64u << 20)   /* bytes in one row, all fields together */

typedef struct csvio_field {
    const char *p;     /* NUL-terminated copy of the field's bytes */
    size_t len;
} csvio_field;

typedef struct csvio_row {
    const csvio_field *f;
    size_t n;          /* number of fields */
    uint64_t recno;    /* 1-based record number in the file */
} csvio_row;

typedef struct csvio_reader csvio_reader;

typedef struct csvio_dialect_opts {
    char delimiter;                  /* 0: the sep= line's, else detected */
    volatile sig_atomic_t *cancel;   /* as csvio_set_cancel, from the open on; may be NULL */
} csvio_dialect_opts;

typedef enum csvio_delim_source {
    CSVIO_DELIM_GIVEN,               /* opts->delimiter (--delimiter) */
    CSVIO_DELIM_SEP_LINE,            /* the file's sep= line */
    CSVIO_DELIM_DETECTED,            /* sniff_delimiter() found one */
    CSVIO_DELIM_DEFAULT,             /* none fits (one column): comma */
} csvio_delim_source;

typedef struct csvio_dialect {
    char delimiter;
    csvio_delim_source source;
    sniff_encoding encoding;
    bool sep_line;                   /* a sep= first line was skipped */
    bool had_bom;                    /* any byte order mark (UTF-8 or UTF-16) */
} csvio_dialect;

/* Open PATH ("-" for standard input) and read its first block to settle
 * the dialect (OPTS may be NULL: detect everything). NULL on failure, with
 * a message in ERR that does not name the file (the caller does). */
csvio_reader *csvio_open(const char *path, const csvio_dialect_opts *opts, char *err,
                         size_t errlen);

/* What csvio_open settled; the reader's, valid until csvio_close. */
const csvio_dialect *csvio_get_dialect(const csvio_reader *r);

/* Next row into *ROW: 1 = a row, 0 = end of input, -1 = error (csvio_error). */
int csvio_next(csvio_reader *r, csvio_row *row);

const char *csvio_error(const csvio_reader *r);
bool csvio_had_bom(csvio_reader *r);    /* csvio_get_dialect(r)->had_bom */
uint64_t csvio_bytes_read(csvio_reader *r);

/* While *FLAG is non-zero, a csvio_next() waiting for input returns -1
 * ("interrupted") instead of waiting: lets a signal handler's flag stop a
 * read from an idle standard input. */
void csvio_set_cancel(csvio_reader *r, volatile sig_atomic_t *flag);

/* Stops the reader thread and frees everything. */
void csvio_close(csvio_reader *r);

/* A self-contained copy of ROW in one allocation (free() it). */
csvio_row *csvio_row_dup(const csvio_row *row);

typedef struct csvio_writer csvio_writer;

/* Write to FD (borrowed: the caller closes it after csvio_writer_free),
 * fields separated by DELIM (0: comma). */
csvio_writer *csvio_writer_new(int fd, char delim);
void csvio_put(csvio_writer *w, const char *p, size_t len);
void csvio_put_str(csvio_writer *w, const char *s);
void csvio_put_raw(csvio_writer *w, const char *p, size_t len);   /* no quoting, no separator */
void csvio_end_row(csvio_writer *w);
/* Flush buffered bytes: 0, or a negative errno (also if an earlier write failed). */
int csvio_flush(csvio_writer *w);
void csvio_writer_free(csvio_writer *w);

#endif
