/* clean.c — `mailvet clean`: stream INPUT, append verdict columns, write
 * OUTPUT in input order through a temporary file that is renamed at the end.
 *
 * Owns the run: the reader, the screen, the writer, the temporary file and
 * the counters. Rows are read ahead only for column detection
 * (COLUMN_SAMPLE_ROWS); after that one row at a time, so memory does not
 * depend on the file's size.
 */
#include "clean.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "column.h"
#include "csvio.h"
#include "report.h"
#include "screen.h"
#include "stats.h"
#include "verify.h"

#define NET_CHUNK 2000                /* rows verified together at --level dns|smtp */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct clean_run_state {
    const cli_opts *o;
    csvio_reader *in;
    csvio_writer *out;
    screen *scr;
    column_choice col;
    size_t width;            /* fields in the header (or first row) */
    char tmp_path[PATH_MAX];
    int tmp_fd;
    batch_stats st;
    csvio_row *sample[COLUMN_SAMPLE_ROWS];
    size_t nsample;
    csvio_row *chunk[NET_CHUNK];      /* rows waiting for the network (dns/smtp) */
    verify_item *items;
    size_t nchunk;
} clean_run_state;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const char *detail, int code)
{
    fprintf(stderr, "mailvet clean: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return code;
}

/* Refuse to overwrite INPUT with OUTPUT (same name or same file). */
static int check_paths(const cli_opts *o)
{
    const char *in = o->args[0], *out = o->output;
    if (strcmp(out, "-") == 0)
        return fail("OUTPUT must be a file path, not -", NULL, EXIT_USAGE);
    struct stat si, so;
    if (strcmp(in, "-") != 0) {
        if (stat(in, &si) != 0)
            return fail(in, strerror(errno), EXIT_USAGE);
        if (S_ISDIR(si.st_mode))
            return fail(in, "is a directory", EXIT_USAGE);
        if (strcmp(in, out) == 0 ||
            (stat(out, &so) == 0 && so.st_dev == si.st_dev && so.st_ino == si.st_ino))
            return fail("OUTPUT is the same file as INPUT; choose another -o", NULL, EXIT_USAGE);
    }
    return 0;
}

/* Create OUTPUT's temporary sibling, mode 0600. */
static int open_tmp(clean_run_state *c)
{
    int n = snprintf(c->tmp_path, sizeof c->tmp_path, "%s.tmp-XXXXXX", c->o->output);
    if (n < 0 || (size_t)n >= sizeof c->tmp_path)
        return fail("OUTPUT path too long", NULL, EXIT_USAGE);
    c->tmp_fd = mkstemp(c->tmp_path);
    if (c->tmp_fd < 0) {
        c->tmp_path[0] = '\0';
        return fail("cannot create the output file", strerror(errno), EXIT_RUNTIME);
    }
    fchmod(c->tmp_fd, 0600);
    c->out = csvio_writer_new(c->tmp_fd);
    return c->out ? 0 : fail("out of memory", NULL, EXIT_RUNTIME);
}

static int read_sample(clean_run_state *c)
{
    csvio_row row;
    int rc = 0;
    while (c->nsample < COLUMN_SAMPLE_ROWS && (rc = csvio_next(c->in, &row)) == 1) {
        if (!(c->sample[c->nsample] = csvio_row_dup(&row)))
            return fail("out of memory", NULL, EXIT_RUNTIME);
        c->nsample++;
    }
    if (interrupted)
        return fail("interrupted; OUTPUT not written (rerun to start again)", NULL, EXIT_INTERRUPTED);
    if (c->nsample < COLUMN_SAMPLE_ROWS && rc < 0)
        return fail(c->o->args[0], csvio_error(c->in), EXIT_USAGE);
    if (c->nsample == 0)
        return fail(c->o->args[0], "the file is empty (no header, no rows)", EXIT_USAGE);
    return 0;
}

static void write_header(clean_run_state *c)
{
    const csvio_row *h = c->sample[0];
    for (size_t i = 0; i < h->n; i++)
        csvio_put(c->out, h->f[i].p, h->f[i].len);
    for (int i = 0; i < RESULT_NCOLUMNS; i++)
        csvio_put_str(c->out, result_column_names[i]);
    csvio_end_row(c->out);
}

/* Write ROW with its verdict R and count it. */
static void write_row(clean_run_state *c, const csvio_row *row, const result *r, bool has_cell)
{
    c->st.no_email_cell += !has_cell;
    c->st.long_rows += row->n > c->width;
    for (size_t i = 0; i < row->n; i++)
        csvio_put(c->out, row->f[i].p, row->f[i].len);
    for (size_t i = row->n; i < c->width; i++)
        csvio_put(c->out, "", 0);           /* pad short rows so columns line up */
    char buf[ADDR_BUF];
    for (int i = 0; i < RESULT_NCOLUMNS; i++)
        csvio_put(c->out, buf, result_column(r, i, buf, sizeof buf));
    csvio_end_row(c->out);
    stats_add(&c->st, r);
}

static const csvio_field *email_cell(const clean_run_state *c, const csvio_row *row)
{
    return c->col.index < row->n ? &row->f[c->col.index] : NULL;
}

/* --level syntax: every row is decided on the spot. */
static void process_row(clean_run_state *c, const csvio_row *row)
{
    result r;
    addr a;
    const csvio_field *cell = email_cell(c, row);
    screen_address(c->scr, cell ? cell->p : "", cell ? cell->len : 0, true, &r, &a);
    write_row(c, row, &r, cell != NULL);
}

/* --level dns|smtp (interim engine): rows are verified in chunks of
 * NET_CHUNK, each chunk to the end before the next, in input order. The
 * batch engine of issue 5 replaces this with a streaming scheduler. */
static int flush_chunk(clean_run_state *c)
{
    size_t n = c->nchunk;
    for (size_t i = 0; i < n; i++) {
        const csvio_field *cell = email_cell(c, c->chunk[i]);
        verify_item *it = &c->items[i];
        it->needs_network = screen_address(c->scr, cell ? cell->p : "", cell ? cell->len : 0,
                                           false, &it->r, &it->a);
    }
    int rc = verify_run(c->items, n, c->o, NULL, &interrupted);
    for (size_t i = 0; i < n && rc == 0; i++)
        write_row(c, c->chunk[i], &c->items[i].r, email_cell(c, c->chunk[i]) != NULL);
    for (size_t i = 0; i < n; i++)
        free(c->chunk[i]);
    c->nchunk = 0;
    if (rc == 0 && c->o->progress != PROGRESS_NEVER)
        fprintf(stderr, "mailvet: %llu rows done\n", (unsigned long long)c->st.rows);
    return rc;
}

static int add_to_chunk(clean_run_state *c, const csvio_row *row)
{
    if (!(c->chunk[c->nchunk] = csvio_row_dup(row)))
        return fail("out of memory", NULL, EXIT_RUNTIME);
    return ++c->nchunk == NET_CHUNK ? flush_chunk(c) : 0;
}

static int take_row(clean_run_state *c, const csvio_row *row)
{
    if (c->o->level == LEVEL_SYNTAX) {
        process_row(c, row);
        return 0;
    }
    return add_to_chunk(c, row);
}

static int stream_rows(clean_run_state *c)
{
    int rc = 0;
    for (size_t i = c->col.has_header ? 1 : 0; i < c->nsample && rc == 0; i++)
        rc = take_row(c, c->sample[i]);
    csvio_row row;
    int got = 0;
    while (rc == 0 && !interrupted && (got = csvio_next(c->in, &row)) == 1)
        rc = take_row(c, &row);
    if (rc == 0 && !interrupted && got == 0 && c->nchunk)
        rc = flush_chunk(c);
    if (interrupted || rc == EXIT_INTERRUPTED)
        return fail("interrupted; OUTPUT not written (rerun to start again)", NULL, EXIT_INTERRUPTED);
    if (rc)
        return rc;
    if (got < 0)
        return fail(c->o->args[0], csvio_error(c->in), EXIT_USAGE);
    return 0;
}

/* Flush, sync and rename the temporary file into place. */
static int finish_output(clean_run_state *c)
{
    int err = csvio_flush(c->out);
    if (err == 0 && fsync(c->tmp_fd) != 0)
        err = -errno;
    if (close(c->tmp_fd) != 0 && err == 0)
        err = -errno;
    c->tmp_fd = -1;
    if (err == 0 && rename(c->tmp_path, c->o->output) != 0)
        err = -errno;
    if (err)
        return fail("cannot write OUTPUT", strerror(-err), EXIT_RUNTIME);
    c->tmp_path[0] = '\0';
    return 0;
}

static void cleanup(clean_run_state *c)
{
    if (c->tmp_fd >= 0)
        close(c->tmp_fd);
    if (c->tmp_path[0])
        unlink(c->tmp_path);
    for (size_t i = 0; i < c->nsample; i++)
        free(c->sample[i]);
    for (size_t i = 0; i < c->nchunk; i++)
        free(c->chunk[i]);
    free(c->items);
    csvio_writer_free(c->out);
    csvio_close(c->in);
    screen_free(c->scr);
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int run(clean_run_state *c, const lists *l)
{
    char err[512];
    addr_opts ao;
    addr_opts_default(&ao);
    int rc = 0;
    if ((rc = check_paths(c->o)))
        return rc;
    if (!(c->in = csvio_open(c->o->args[0], err, sizeof err)))
        return fail(err, NULL, EXIT_USAGE);
    csvio_set_cancel(c->in, &interrupted);
    if (!(c->scr = screen_new(l, &ao)))
        return fail("out of memory", NULL, EXIT_RUNTIME);
    if (c->o->level != LEVEL_SYNTAX && !(c->items = calloc(NET_CHUNK, sizeof *c->items)))
        return fail("out of memory", NULL, EXIT_RUNTIME);
    if ((rc = read_sample(c)))
        return rc;
    if (column_detect((const csvio_row *const *)c->sample, c->nsample, c->o->column,
                      &c->col, err, sizeof err) != 0)
        return fail(c->o->args[0], err, EXIT_USAGE);
    c->width = c->sample[0]->n;
    if ((rc = open_tmp(c)))
        return rc;
    if (csvio_had_bom(c->in))
        csvio_put_raw(c->out, "\xEF\xBB\xBF", 3);
    if (c->col.has_header)
        write_header(c);
    if (c->col.has_header && c->nsample == 1)
        fprintf(stderr, "mailvet clean: warning: %s has a header but no rows\n", c->o->args[0]);
    if ((rc = stream_rows(c)))
        return rc;
    return finish_output(c);
}

int clean_run(const cli_opts *o, const lists *l)
{
    clean_run_state *c = calloc(1, sizeof *c);
    if (!c)
        return fail("out of memory", NULL, EXIT_RUNTIME);
    c->o = o;
    c->tmp_fd = -1;
    install_signals();
    double t0 = now();
    int rc = run(c, l);
    c->st.elapsed = now() - t0;
    c->st.bytes = c->in ? csvio_bytes_read(c->in) : 0;
    if (rc == 0)
        report_summary_text(stdout, &c->st);
    cleanup(c);
    free(c);
    return rc;
}
