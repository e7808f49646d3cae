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
 * The writer quotes a field only when it must (comma, quote, CR or LF).
 */
#ifndef MAILVET_CSVIO_H
#define MAILVET_CSVIO_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

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

/* Open PATH ("-" for standard input). NULL with a message in ERR on failure. */
csvio_reader *csvio_open(const char *path, char *err, size_t errlen);

/* Next row into *ROW: 1 = a row, 0 = end of input, -1 = error (csvio_error). */
int csvio_next(csvio_reader *r, csvio_row *row);

const char *csvio_error(const csvio_reader *r);
bool csvio_had_bom(csvio_reader *r);
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

/* Write to FD (borrowed: the caller closes it after csvio_writer_free). */
csvio_writer *csvio_writer_new(int fd);
void csvio_put(csvio_writer *w, const char *p, size_t len);
void csvio_put_str(csvio_writer *w, const char *s);
void csvio_put_raw(csvio_writer *w, const char *p, size_t len);   /* no quoting, no separator */
void csvio_end_row(csvio_writer *w);
/* Flush buffered bytes: 0, or a negative errno (also if an earlier write failed). */
int csvio_flush(csvio_writer *w);
void csvio_writer_free(csvio_writer *w);

#endif
