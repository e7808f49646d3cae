/* output.h — OUTPUT: INPUT's rows in input order, each followed by its
 * verdict columns, written to a private temporary file beside OUTPUT (mode
 * 0600) that is renamed into place only once it is whole.
 *
 * Two ways in:
 *   the writer   output_open / output_header / output_row / output_finish,
 *                fed row by row (clean's --level syntax pass);
 *   the pass     output_pass_run: stream INPUT again beside results given
 *                in row order (clean's output after the network run, and
 *                `mailvet merge` through clean_merge_output).
 * Ownership: an output from output_open() is the caller's, freed with
 * output_free(), which removes the temporary file unless output_finish()
 * renamed it. Rows and results passed in are only read. One thread.
 */
#ifndef MAILVET_OUTPUT_H
#define MAILVET_OUTPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "column.h"
#include "csvio.h"
#include "result.h"
#include "stats.h"

/* A private temporary file "OUTPUT.TAG-XXXXXX" beside OUTPUT, its name into
 * PATH (LEN bytes): the open fd, or -errno. */
int output_temp(const char *output, const char *tag, char *path, size_t len);

typedef struct output output;

/* What every row is measured against; ST (the caller's) counts each row
 * written, short rows and rows without an email cell included. */
typedef struct output_shape {
    size_t width;               /* fields in INPUT's header (or first row) */
    size_t email_index;         /* the email column */
    batch_stats *st;
    char delim;                 /* OUTPUT's field delimiter (0: comma) */
    unsigned keep;              /* --keep: a bit per verdict_status reaches OUTPUT; 0: all */
    const char *split_dir;      /* --split DIR: also DIR/STATUS.csv for each status, or NULL */
} output_shape;

/* May PATH be written by a rename into place? -1 with a message naming
 * WHAT ("OUTPUT") in ERR when its directory is missing, it names a
 * directory, or it is neither absent nor a regular file (a link, FIFO,
 * device), which the rename would replace; else 0. */
int output_check_target(const char *path, const char *what, char *err, size_t errlen);

/* A new OUTPUT being written under a temporary name ("-": standard output,
 * written in place), and the --split files: NULL with a message in ERR. */
output *output_open(const char *path, const output_shape *shape, char *err, size_t errlen);

/* The byte order mark when INPUT had one, then HEADER (NULL: INPUT has no
 * header) with the result column names. */
void output_header(output *w, const csvio_row *header, bool bom);

/* ROW, padded to the shape's width, then R's columns; counted. */
void output_row(output *w, const csvio_row *row, const result *r);

/* Flush, fsync and rename into place (the --split files, then OUTPUT):
 * 0, or -1 with a message in ERR. */
int output_finish(output *w, char *err, size_t errlen);

/* Close; the temporary file goes unless output_finish() succeeded. */
void output_free(output *w);

/* Results in row order: 1 = *ROW and *R filled, 0 = no more (and every
 * call after it), -1 = error. */
typedef int (*output_result_fn)(void *ud, uint64_t *row, result *r);

typedef struct output_pass {
    const char *prog;           /* messages start "PROG: " */
    const char *input;          /* the file to stream (INPUT, or its copy) */
    const char *input_name;     /* INPUT as the user named it, for messages */
    const char *output;         /* OUTPUT */
    const char *source;         /* where the results come from, for messages */
    column_choice col;          /* as detected on the first read of INPUT */
    size_t width;
    bool bom;
    char delim;                 /* found on the first read: INPUT is read, and OUTPUT
                                   written, with it (never sniffed again) */
    unsigned keep;              /* --keep, --split: as in output_shape */
    const char *split_dir;
    output_result_fn next;
    void *next_ud;
    /* A row the results skip: true when it is another shard's (left out),
     * false when a result is missing (the pass fails). */
    bool (*other_shard)(void *ud, const csvio_row *row);
    void *shard_ud;
    bool sharded;               /* --shard: "rerun with --restart" would not help */
    batch_stats *st;
    volatile sig_atomic_t *cancel;   /* non-zero: stop */
} output_pass;

/* Write OUTPUT from P. 0 done; EXIT_INTERRUPTED when *P->cancel was set
 * (nothing said: the caller knows what happens next); else an exit code,
 * after saying why on stderr. OUTPUT is untouched unless it returns 0. */
int output_pass_run(const output_pass *p);

#endif
