/* output.c — writing OUTPUT in input order through a temporary file
 * (include/output.h). Owns the temporary file and its writer; the rows,
 * results and counters belong to the callers.
 *
 * The pass pairs rows with results by position: results come in row order,
 * one is looked ahead, and a row with no result is either another shard's
 * (left out) or an error. Results left over after the last row mean INPUT
 * is not the file the results were made from.
 */
#include "output.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"

struct output {
    csvio_writer *csv;
    int fd;
    char tmp[PATH_MAX];         /* "" once renamed */
    const char *path;
    output_shape shape;
};

int output_temp(const char *output, const char *tag, char *path, size_t len)
{
    int n = snprintf(path, len, "%s.%s-XXXXXX", output, tag);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    int fd = mkstemp(path);
    if (fd < 0) {
        path[0] = '\0';
        return -errno;
    }
    fchmod(fd, 0600);
    return fd;
}

output *output_open(const char *path, const output_shape *shape, int *err)
{
    output *w = calloc(1, sizeof *w);
    if (!w) {
        *err = 0;
        return NULL;
    }
    w->path = path;
    w->shape = *shape;
    w->fd = output_temp(path, "tmp", w->tmp, sizeof w->tmp);
    if (w->fd < 0) {
        *err = w->fd;
        free(w);
        return NULL;
    }
    if (!(w->csv = csvio_writer_new(w->fd, shape->delim))) {
        *err = 0;
        output_free(w);
        return NULL;
    }
    return w;
}

void output_header(output *w, const csvio_row *header, bool bom)
{
    if (bom)
        csvio_put_raw(w->csv, "\xEF\xBB\xBF", 3);
    if (!header)
        return;
    for (size_t i = 0; i < header->n; i++)
        csvio_put(w->csv, header->f[i].p, header->f[i].len);
    for (int i = 0; i < RESULT_NCOLUMNS; i++)
        csvio_put_str(w->csv, result_column_names[i]);
    csvio_end_row(w->csv);
}

void output_row(output *w, const csvio_row *row, const result *r)
{
    batch_stats *st = w->shape.st;
    st->no_email_cell += w->shape.email_index >= row->n;
    st->long_rows += row->n > w->shape.width;
    for (size_t i = 0; i < row->n; i++)
        csvio_put(w->csv, row->f[i].p, row->f[i].len);
    for (size_t i = row->n; i < w->shape.width; i++)
        csvio_put(w->csv, "", 0);           /* pad short rows so columns line up */
    char buf[ADDR_BUF];
    for (int i = 0; i < RESULT_NCOLUMNS; i++)
        csvio_put(w->csv, buf, result_column(r, i, buf, sizeof buf));
    csvio_end_row(w->csv);
    stats_add(st, r);
}

int output_finish(output *w)
{
    int err = csvio_flush(w->csv);
    if (err == 0 && fsync(w->fd) != 0)
        err = -errno;
    if (close(w->fd) != 0 && err == 0)
        err = -errno;
    w->fd = -1;
    if (err == 0 && rename(w->tmp, w->path) != 0)
        err = -errno;
    if (err == 0)
        w->tmp[0] = '\0';
    return err;
}

void output_free(output *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp[0])
        unlink(w->tmp);
    csvio_writer_free(w->csv);
    free(w);
}

/* ---- the pass ---- */

typedef struct pass {
    const output_pass *p;
    output *w;
    bool have_peek;
    uint64_t peek_row;
    result peek;
} pass;

static int fail(const output_pass *p, const char *what, const char *detail, int code)
{
    fprintf(stderr, "%s: %s%s%s\n", p->prog, what, detail ? ": " : "", detail ? detail : "");
    return code;
}

/* The result for row I, if the source has one (it gives rows in order). */
static int result_for(pass *s, uint64_t i, result **r)
{
    if (!s->have_peek) {
        int got = s->p->next(s->p->next_ud, &s->peek_row, &s->peek);
        if (got < 0)
            return -1;
        s->have_peek = got == 1;
    }
    *r = s->have_peek && s->peek_row == i ? &s->peek : NULL;
    return 0;
}

static int pass_row(pass *s, const csvio_row *row, uint64_t i)
{
    const output_pass *p = s->p;
    result *r;
    if (result_for(s, i, &r) != 0)
        return fail(p, p->source, "cannot read the results", EXIT_RUNTIME);
    if (!r) {
        if (p->other_shard && p->other_shard(p->shard_ud, row))
            return 0;                        /* another shard's row */
        char msg[160];
        snprintf(msg, sizeof msg, "no result for row %llu%s", (unsigned long long)i + 1,
                 p->sharded ? "" : "; rerun with --restart");
        return fail(p, p->source, msg, EXIT_RUNTIME);
    }
    output_row(s->w, row, r);
    s->have_peek = false;
    return 0;
}

/* Every data row of IN once, in order, beside its result. */
static int pass_rows(pass *s, csvio_reader *in)
{
    const output_pass *p = s->p;
    csvio_row row;
    uint64_t i = 0, seen = 0;
    int rc = 0, got;
    if (p->col.has_header) {
        if ((got = csvio_next(in, &row)) == 1) {
            output_header(s->w, &row, p->bom);
            seen++;
        }
    } else {
        output_header(s->w, NULL, p->bom);
        got = 1;
    }
    while (got == 1 && rc == 0 && !*p->cancel && (got = csvio_next(in, &row)) == 1) {
        seen++;
        rc = pass_row(s, &row, i++);
    }
    if (*p->cancel || rc == EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED;
    if (rc)
        return rc;
    if (got < 0)
        return fail(p, p->input_name, csvio_error(in), EXIT_USAGE);
    if (seen == 0)
        return fail(p, p->input_name, "the file is empty (no header, no rows)", EXIT_USAGE);
    result *extra;
    if (result_for(s, UINT64_MAX, &extra) == 0 && s->have_peek)
        return fail(p, p->source, "has results for rows past the end of INPUT (INPUT "
                    "changed?); OUTPUT not written", EXIT_RUNTIME);
    return 0;
}

int output_pass_run(const output_pass *p)
{
    char err[512];
    csvio_dialect_opts dopts = {p->delim, p->cancel};
    csvio_reader *in = csvio_open(p->input, &dopts, err, sizeof err);
    if (!in)
        return fail(p, p->input_name, err, EXIT_USAGE);
    output_shape shape = {p->width, p->col.index, p->st, p->delim};
    int e;
    pass s = {.p = p, .w = output_open(p->output, &shape, &e)};
    int rc;
    if (!s.w)
        rc = e ? fail(p, "cannot create the output file", strerror(-e), EXIT_RUNTIME)
               : fail(p, "out of memory", NULL, EXIT_RUNTIME);
    else if ((rc = pass_rows(&s, in)) == 0 && (e = output_finish(s.w)) != 0)
        rc = fail(p, "cannot write OUTPUT", strerror(-e), EXIT_RUNTIME);
    output_free(s.w);
    csvio_close(in);
    return rc;
}
