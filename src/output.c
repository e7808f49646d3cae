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
#include "verdict.h"

/* One file being written: OUTPUT itself or one --split file. */
typedef struct sink {
    csvio_writer *csv;
    int fd;
    char tmp[PATH_MAX];         /* "" once renamed, or when writing to stdout */
    char path[PATH_MAX];
} sink;

struct output {
    sink main;
    sink split[VERDICT_STATUS__COUNT];
    bool splitting;
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

/* PATH's directory must exist for its temporary file: say which when not. */
static int check_dir_of(const char *path, const char *what, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    if (slash[1] == '\0') {
        snprintf(err, errlen, "%s %s is a directory; give a file name (e.g. %sclean.csv)", what,
                 path, path);
        return -1;
    }
    char dir[PATH_MAX];
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir) {
        snprintf(err, errlen, "%s %s: path too long", what, path);
        return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat st;
    bool exists = stat(dir, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return 0;
    snprintf(err, errlen, "cannot create %s %s: %s %s", what, path, dir,
             exists ? "is not a directory" : "does not exist");
    return -1;
}

int output_check_target(const char *path, const char *what, char *err, size_t errlen)
{
    struct stat st;
    if (strcmp(path, "-") == 0)
        return 0;
    if (check_dir_of(path, what, err, errlen) != 0)
        return -1;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
        return 0;
    const char *kind = S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISDIR(st.st_mode) ? "a directory" : S_ISSOCK(st.st_mode) ? "a socket"
                       : "a device";
    if (S_ISDIR(st.st_mode))
        snprintf(err, errlen, "%s %s is a directory; give a file name (e.g. %s/clean.csv)", what,
                 path, path);
    else
        snprintf(err, errlen, "%s %s is %s; mailvet writes a new file and renames it into place, "
                 "which would replace the %s itself: give the path of a regular file", what, path,
                 kind, S_ISLNK(st.st_mode) ? "link" : "special file");
    return -1;
}

/* PATH "-": standard output, written in place (no temporary file). */
static int sink_open(sink *k, const char *path, char delim)
{
    k->fd = -1;
    if ((size_t)snprintf(k->path, sizeof k->path, "%s", path) >= sizeof k->path)
        return -ENAMETOOLONG;
    if (strcmp(path, "-") == 0)
        k->fd = 1;
    else if ((k->fd = output_temp(path, "tmp", k->tmp, sizeof k->tmp)) < 0)
        return k->fd;
    return (k->csv = csvio_writer_new(k->fd, delim)) ? 0 : -ENOMEM;
}

static int sink_finish(sink *k)
{
    int err = csvio_flush(k->csv);
    if (!k->tmp[0])
        return err;                      /* standard output: nothing to rename */
    if (err == 0 && fsync(k->fd) != 0)
        err = -errno;
    if (close(k->fd) != 0 && err == 0)
        err = -errno;
    k->fd = -1;
    if (err == 0 && rename(k->tmp, k->path) != 0)
        err = -errno;
    if (err == 0)
        k->tmp[0] = '\0';
    return err;
}

static void sink_free(sink *k)
{
    if (k->fd > 1)
        close(k->fd);
    if (k->tmp[0])
        unlink(k->tmp);
    csvio_writer_free(k->csv);
}

/* DIR (made 0700 when missing) and its files, one per status. */
static int open_split(output *w, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--split %s: cannot create the directory: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "--split %s: not a directory", dir);
        return -1;
    }
    w->splitting = true;
    for (int s = 0; s < VERDICT_STATUS__COUNT; s++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s.csv", dir, verdict_status_name(s)) >= sizeof path) {
            snprintf(err, errlen, "--split %s: path too long", dir);
            return -1;
        }
        if (output_check_target(path, "--split file", err, errlen) != 0)
            return -1;
        int e = sink_open(&w->split[s], path, w->shape.delim);
        if (e) {
            snprintf(err, errlen, "--split: cannot create %s: %s", path, strerror(-e));
            return -1;
        }
    }
    return 0;
}

output *output_open(const char *path, const output_shape *shape, char *err, size_t errlen)
{
    output *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->shape = *shape;
    w->main.fd = -1;
    for (int s = 0; s < VERDICT_STATUS__COUNT; s++)
        w->split[s].fd = -1;
    int e = sink_open(&w->main, path, shape->delim);
    if (e) {
        snprintf(err, errlen, "cannot create OUTPUT %s: %s", path, strerror(-e));
        output_free(w);
        return NULL;
    }
    if (shape->split_dir && open_split(w, shape->split_dir, err, errlen) != 0) {
        output_free(w);
        return NULL;
    }
    return w;
}

static void header_into(csvio_writer *csv, const csvio_row *header, bool bom)
{
    if (bom)
        csvio_put_raw(csv, "\xEF\xBB\xBF", 3);
    if (!header)
        return;
    for (size_t i = 0; i < header->n; i++)
        csvio_put(csv, header->f[i].p, header->f[i].len);
    for (int i = 0; i < RESULT_NCOLUMNS; i++)
        csvio_put_str(csv, result_column_names[i]);
    csvio_end_row(csv);
}

void output_header(output *w, const csvio_row *header, bool bom)
{
    header_into(w->main.csv, header, bom);
    for (int s = 0; w->splitting && s < VERDICT_STATUS__COUNT; s++)
        header_into(w->split[s].csv, header, bom);
}

static void row_into(csvio_writer *csv, const output_shape *sh, const csvio_row *row,
                     const result *r)
{
    for (size_t i = 0; i < row->n; i++)
        csvio_put(csv, row->f[i].p, row->f[i].len);
    for (size_t i = row->n; i < sh->width; i++)
        csvio_put(csv, "", 0);           /* pad short rows so columns line up */
    char buf[ADDR_BUF];
    for (int i = 0; i < RESULT_NCOLUMNS; i++)
        csvio_put(csv, buf, result_column(r, i, buf, sizeof buf));
    csvio_end_row(csv);
}

/* Every row is counted; --keep decides which reach OUTPUT, --split where
 * else each goes. */
void output_row(output *w, const csvio_row *row, const result *r)
{
    batch_stats *st = w->shape.st;
    verdict_status s = verdict_status_of(r->reason);
    st->no_email_cell += w->shape.email_index >= row->n;
    st->long_rows += row->n > w->shape.width;
    if (!w->shape.keep || (w->shape.keep >> s & 1))
        row_into(w->main.csv, &w->shape, row, r);
    if (w->splitting)
        row_into(w->split[s].csv, &w->shape, row, r);
    stats_add(st, r);
}

int output_finish(output *w, char *err, size_t errlen)
{
    for (int s = 0; w->splitting && s < VERDICT_STATUS__COUNT; s++) {
        int e = sink_finish(&w->split[s]);
        if (e) {
            snprintf(err, errlen, "cannot write %s: %s", w->split[s].path, strerror(-e));
            return -1;
        }
    }
    int e = sink_finish(&w->main);
    if (e) {
        snprintf(err, errlen, "cannot write OUTPUT %s: %s", w->main.path, strerror(-e));
        return -1;
    }
    return 0;
}

void output_free(output *w)
{
    if (!w)
        return;
    sink_free(&w->main);
    for (int s = 0; s < VERDICT_STATUS__COUNT; s++)
        sink_free(&w->split[s]);
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
    char err[PATH_MAX + 256];
    csvio_dialect_opts dopts = {p->delim, p->cancel};
    csvio_reader *in = csvio_open(p->input, &dopts, err, sizeof err);
    if (!in)
        return fail(p, p->input_name, err, EXIT_USAGE);
    output_shape shape = {p->width, p->col.index, p->st, p->delim, p->keep, p->split_dir};
    pass s = {.p = p, .w = output_open(p->output, &shape, err, sizeof err)};
    int rc;
    if (!s.w)
        rc = fail(p, err, NULL, EXIT_RUNTIME);
    else if ((rc = pass_rows(&s, in)) == 0 && output_finish(s.w, err, sizeof err) != 0)
        rc = fail(p, err, NULL, EXIT_RUNTIME);
    output_free(s.w);
    csvio_close(in);
    return rc;
}
