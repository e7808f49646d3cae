/* clean.c — `mailvet clean`: verdict columns for every row of INPUT,
 * written to OUTPUT in input order through a temporary file renamed at the
 * end (mode 0600).
 *
 * Two paths:
 *   --level syntax   one streaming pass, INPUT → OUTPUT (a million rows a
 *                    second: no state file, a rerun is as cheap as a resume).
 *   --level dns|smtp INPUT's rows are counted by domain first (group.h);
 *                    then the feeder (this thread) streams INPUT, skips rows
 *                    the state file says are finished, screens the rest and
 *                    hands those that need the network to the batch (its own
 *                    thread), a domain's rows together; verdicts go to the
 *                    state file. When every row is finished, OUTPUT is
 *                    written by the output pass (output.c): INPUT streamed
 *                    again beside the results in row order. Rerunning after
 *                    an interruption resumes from the state file.
 * Standard input is copied to a temporary file first (the later passes
 * read it again); that disables resume.
 *
 * With --cache FILE the feeder looks each row up in the verdict cache
 * (cache.h) before it would hand it to the batch: a fresh answer is the
 * row's result at once (written to the state like any, so a resume keeps
 * it); otherwise the domain's cached accept-all answer goes to the engine
 * with it. The batch stores the run's final verdicts in the cache.
 *
 * With --shard K/N the feeder keeps only the rows whose domain falls in
 * shard K, and OUTPUT holds those rows; `mailvet merge` (merge.c) later
 * writes the whole list through clean_merge_output(), the same output pass
 * fed from every shard's state.
 *
 * Owns the run: readers, writers, the screen, the state handle, the
 * temporary files and the counters.
 */
#include "clean.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cache.h"
#include "column.h"
#include "csvio.h"
#include "dedup.h"
#include "group.h"
#include "output.h"
#include "report.h"
#include "sanity.h"
#include "screen.h"
#include "shard.h"
#include "state.h"
#include "stats.h"

#define WINDOW 100000                 /* rows admitted to the network, unfinished */
#define PROGRESS_EVERY 1024           /* rows between progress updates from the feeder */
#define SAMPLE_ROWS (SANITY_ROWS + 1)   /* read ahead: the column, the header, the sanity stop */
#define SAMPLE_BYTES (16u << 20)        /* ... but no more bytes than this in all */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Rows waiting for a retry in an earlier run: re-screened by the feeder
 * like any row, then sent with their due time and retry count. */
typedef struct retry_mark {
    uint64_t row;
    double due;
    int temps, attempts;
} retry_mark;

typedef struct retry_load {
    retry_mark *m;
    size_t n, cap, next;      /* state_each_retry gives them in row order */
} retry_load;

typedef struct clean_ctx {
    const cli_opts *o;
    const lists *l;
    const char *in_path;      /* INPUT, or the copy of standard input */
    char spool[PATH_MAX];     /* that copy, deleted at the end */
    char state_path[PATH_MAX];
    bool state_is_temp;
    csvio_reader *in;
    output *out;              /* OUTPUT of the --level syntax pass */
    screen *scr;
    column_choice col;
    size_t width;             /* fields in the header (or first row) */
    bool bom;
    char delim;               /* INPUT's delimiter, as found on the first open */
    batch_stats st;
    csvio_row *sample[SAMPLE_ROWS];
    size_t nsample;
    uint64_t sample_bytes;    /* the sample's field bytes: a row's size, for estimates */
    state *db;
    state_identity input_id;  /* INPUT as the run found it (size, mtime, head hash) */
    bool resumed;
    double elapsed_before;    /* run time of earlier, interrupted runs */
    uint64_t retries_before;  /* retries used by earlier runs */
    uint64_t catchall_seed;   /* the engine's, kept for a resume */
    /* while feeding the batch */
    batch *b;
    state_writer *w;
    uint8_t *skip;            /* rows finished or waiting in the retry table */
    uint64_t nskip;
    retry_load *retries;      /* rows an earlier run left waiting */
    dedup *idx;               /* mailboxes seen so far → their first row */
    group *grp;               /* a domain's rows handed to the batch together */
    cache *cache;             /* --cache: the feeder's look-ups, or NULL */
    cache_run crun;           /* how this run uses it */
    cache_writer *cw;         /* the batch's verdicts go there */
    /* the results the output pass writes beside INPUT's rows */
    output_result_fn next;
    void *next_ud;
    report_job *report;       /* the summary, loaded while OUTPUT is written */
} clean_ctx;

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

static int interrupted_exit(const clean_ctx *c)
{
    if (c->o->level == LEVEL_SYNTAX || c->state_is_temp)
        return fail("interrupted; OUTPUT not written (rerun to start again)", NULL, EXIT_INTERRUPTED);
    fprintf(stderr, "mailvet clean: interrupted; progress is saved in %s — rerun the same "
            "command to resume\n", c->state_path);
    return EXIT_INTERRUPTED;
}

/* ---- paths and files ---- */

/* Refuse, before any work: OUTPUT over INPUT, OUTPUT in a missing
 * directory, OUTPUT that is a link, FIFO or device (the rename would
 * replace it), and standard output where OUTPUT comes from the state. */
static int check_paths(const cli_opts *o)
{
    const char *in = o->args[0], *out = o->output;
    char err[PATH_MAX + 256];
    if (strcmp(out, "-") == 0 && o->level != LEVEL_SYNTAX)
        return fail("-o - (standard output) works at --level syntax only: at dns and smtp OUTPUT "
                    "is written from the state file when every row is done; give a file name",
                    NULL, EXIT_USAGE);
    if (output_check_target(out, "OUTPUT", err, sizeof err) != 0)
        return fail(err, NULL, EXIT_USAGE);
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

/* Standard input is read twice (rows, then OUTPUT): keep a private copy. */
static int spool_stdin(clean_ctx *c)
{
    int fd = output_temp(c->o->output, "stdin", c->spool, sizeof c->spool);
    if (fd < 0)
        return fail("cannot create a temporary file for standard input", strerror(-fd), EXIT_RUNTIME);
    char buf[1 << 16];
    ssize_t n;
    while (!interrupted && (n = read(0, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || write(fd, buf, (size_t)n) != n) {
            close(fd);
            return fail("cannot copy standard input", strerror(errno), EXIT_RUNTIME);
        }
    }
    close(fd);
    if (interrupted)
        return interrupted_exit(c);
    c->in_path = c->spool;
    return 0;
}

/* ---- reading ---- */

static const char *input_name(const clean_ctx *c)
{
    return strcmp(c->o->args[0], "-") == 0 ? "standard input" : c->o->args[0];
}

/* --delimiter wins over the file's sep= line and over detection. */
static int open_input(clean_ctx *c)
{
    char err[512];
    csvio_dialect_opts d = {c->o->delimiter, &interrupted};
    if (!(c->in = csvio_open(c->in_path, &d, err, sizeof err)))
        return interrupted ? interrupted_exit(c) : fail(input_name(c), err, EXIT_USAGE);
    return 0;
}

/* One line on stderr: what INPUT was found to be. */
static void announce(const clean_ctx *c)
{
    const csvio_dialect *d = csvio_get_dialect(c->in);
    char dn[4], how[64] = "";
    const char *name = sniff_delimiter_name(d->delimiter, dn);
    if (d->source == CSVIO_DELIM_SEP_LINE)
        snprintf(how, sizeof how, " (from sep=%s)",
                 d->delimiter == '\t' ? "<tab>" : (char[2]){d->delimiter, '\0'});
    else if (d->source == CSVIO_DELIM_GIVEN)
        snprintf(how, sizeof how, " (--delimiter%s)", d->sep_line ? "; sep= line skipped" : "");
    else if (d->source == CSVIO_DELIM_DEFAULT)
        snprintf(how, sizeof how, " (one column)");
    bool u16 = d->encoding == SNIFF_UTF16LE || d->encoding == SNIFF_UTF16BE;
    fprintf(stderr, "mailvet clean: %s: %s%s, delimiter %s%s, %s, email column ", input_name(c),
            sniff_encoding_name(d->encoding), u16 ? " (decoded; OUTPUT is UTF-8)" : "", name, how,
            c->col.has_header ? "header row" : "no header row");
    const csvio_row *h = c->sample[0];
    if (c->col.has_header && c->col.index < h->n)
        fprintf(stderr, "\"%.*s\" (column %zu)\n", (int)(h->f[c->col.index].len > 60 ? 60
                : h->f[c->col.index].len), h->f[c->col.index].p, c->col.index + 1);
    else
        fprintf(stderr, "%zu\n", c->col.index + 1);
}

static int read_sample(clean_ctx *c)
{
    csvio_row row;
    int rc = 0;
    size_t bytes = 0;
    while (c->nsample < SAMPLE_ROWS && bytes < SAMPLE_BYTES &&
           (rc = csvio_next(c->in, &row)) == 1) {
        if (!(c->sample[c->nsample] = csvio_row_dup(&row)))
            return fail("out of memory", NULL, EXIT_RUNTIME);
        for (size_t i = 0; i < row.n; i++)
            bytes += row.f[i].len + 1;
        c->nsample++;
    }
    c->sample_bytes = bytes;
    if (interrupted)
        return interrupted_exit(c);
    if (rc < 0)
        return fail(c->o->args[0], csvio_error(c->in), EXIT_USAGE);
    if (c->nsample == 0)
        return fail(c->o->args[0], "the file is empty (no header, no rows)", EXIT_USAGE);
    return 0;
}

/* Read ahead, find the email column and the header. */
static int detect(clean_ctx *c)
{
    char err[512];
    int rc = read_sample(c);
    if (rc)
        return rc;
    if (column_detect((const csvio_row *const *)c->sample, c->nsample, c->o->column,
                      &c->col, err, sizeof err) != 0)
        return fail(c->o->args[0], err, EXIT_USAGE);
    c->width = c->sample[0]->n;
    c->bom = csvio_get_dialect(c->in)->had_bom;   /* OUTPUT is UTF-8: its BOM for any */
    c->delim = csvio_get_dialect(c->in)->delimiter;
    announce(c);
    if (c->col.has_header && c->nsample == 1)
        fprintf(stderr, "mailvet clean: warning: %s has a header but no rows\n", c->o->args[0]);
    return 0;
}

static bool valid_address(void *ud, const char *p, size_t len)
{
    result r;
    addr a;
    screen_address(ud, p, len, true, &r, &a);
    return r.reason != REASON_INVALID_SYNTAX;
}

/* Stop before any probe when the email column is nearly all invalid: the
 * file was misread (SPEC --force). */
static int sanity(clean_ctx *c)
{
    char msg[1024];
    if (c->o->force ||
        !sanity_check((const csvio_row *const *)c->sample, c->nsample, c->col,
                      c->delim ? c->delim : ',', valid_address, c->scr, msg, sizeof msg))
        return 0;
    return fail(c->o->args[0], msg, EXIT_USAGE);
}

static const csvio_field *email_cell(const clean_ctx *c, const csvio_row *row)
{
    return c->col.index < row->n ? &row->f[c->col.index] : NULL;
}

/* Every data row once, in order: the read-ahead sample first, then the
 * rest of the file. FN returns non-zero to stop. */
static int each_row(clean_ctx *c, int (*fn)(clean_ctx *c, const csvio_row *row, uint64_t i))
{
    uint64_t i = 0;
    int rc = 0;
    for (size_t k = c->col.has_header ? 1 : 0; k < c->nsample && rc == 0 && !interrupted; k++)
        rc = fn(c, c->sample[k], i++);
    csvio_row row;
    int got = 0;
    while (rc == 0 && !interrupted && (got = csvio_next(c->in, &row)) == 1)
        rc = fn(c, &row, i++);
    if (interrupted || rc == EXIT_INTERRUPTED)
        return interrupted_exit(c);
    if (rc)
        return rc;
    return got < 0 ? fail(c->o->args[0], csvio_error(c->in), EXIT_USAGE) : 0;
}

/* ---- --level syntax: one pass ---- */

/* Is the valid address A (row I) a mailbox an earlier row had? *FIRST:
 * that row. Every row with a valid address goes through here in row order,
 * finished ones too, so a resumed run rebuilds the same index. */
static bool duplicate_of(clean_ctx *c, const result *r, const addr *a, uint64_t i,
                         uint64_t *first)
{
    char key[DEDUP_KEY_MAX];
    size_t n = r->email[0] ? dedup_key(a, key, sizeof key) : 0;
    return n && dedup_seen(c->idx, key, n, i, first);
}

static int syntax_row(clean_ctx *c, const csvio_row *row, uint64_t i)
{
    result r;
    addr a;
    uint64_t first;
    const csvio_field *cell = email_cell(c, row);
    screen_address(c->scr, cell ? cell->p : "", cell ? cell->len : 0, true, &r, &a);
    r.duplicate = duplicate_of(c, &r, &a, i, &first);   /* same verdict: it is the address's */
    output_row(c->out, row, &r);
    return 0;
}

/* About how many rows INPUT holds, from its size and the sample's rows
 * (high for UTF-16 and quoted files: an index sized on it is only roomier). */
static uint64_t rows_expected(const clean_ctx *c)
{
    struct stat st;
    if (!c->nsample || !c->sample_bytes || stat(c->in_path, &st) != 0 || st.st_size <= 0)
        return 0;
    return (uint64_t)st.st_size / (c->sample_bytes / c->nsample + 1);
}

static int run_syntax(clean_ctx *c)
{
    int rc;
    if ((rc = open_input(c)) || (rc = detect(c)) || (rc = sanity(c)))
        return rc;
    if (!(c->idx = dedup_new(rows_expected(c))))
        return fail("out of memory", NULL, EXIT_RUNTIME);
    output_shape shape = {c->width, c->col.index, &c->st, c->delim, .keep = c->o->keep,
                          .split_dir = c->o->split_dir};
    char err[PATH_MAX + 256];
    if (!(c->out = output_open(c->o->output, &shape, err, sizeof err)))
        return fail(err, NULL, EXIT_RUNTIME);
    output_header(c->out, c->col.has_header ? c->sample[0] : NULL, c->bom);
    if ((rc = each_row(c, syntax_row)))
        return rc;
    if (output_finish(c->out, err, sizeof err) != 0)
        return fail(err, NULL, EXIT_RUNTIME);
    return 0;
}

/* ---- --level dns|smtp: state, feeder, batch ---- */

/* The options that change verdicts, in a fixed form (resume refuses others). */
static void options_text(const cli_opts *o, char *buf, size_t len)
{
    static const char *const levels[] = {"syntax", "dns", "smtp"};
    static const char *const tls[] = {"auto", "never", "require"};
    char retry[128] = "";
    for (int i = 0; i < o->nretries; i++)
        snprintf(retry + strlen(retry), sizeof retry - strlen(retry), "%s%d", i ? "," : "",
                 o->retry_delays[i]);
    snprintf(buf, len, "level=%s;dns=%s;port=%d;helo=%s;from=%s;starttls=%s;column=%s;"
             "private_mx=%d;retry=%s", levels[o->level], o->dns ? o->dns : "system",
             o->smtp_port, o->helo ? o->helo : "default", o->from ? o->from : "default",
             tls[o->starttls], o->column ? o->column : "auto", o->allow_private_mx, retry);
    if (o->delimiter)                     /* by name: ';' ends an option here */
        snprintf(buf + strlen(buf), len - strlen(buf), ";delimiter=%s",
                 o->delimiter == ',' ? "comma" : o->delimiter == ';' ? "semicolon"
                 : o->delimiter == '\t' ? "tab" : "pipe");
    if (o->shard_n)
        snprintf(buf + strlen(buf), len - strlen(buf), ";shard=%d/%d", o->shard_k, o->shard_n);
}

static int open_state(clean_ctx *c)
{
    char err[512], opts[1024];
    state_identity id;
    if (state_identify(c->in_path, &id, err, sizeof err) != 0)
        return fail(c->o->args[0], err, EXIT_USAGE);
    c->input_id = id;
    options_text(c->o, opts, sizeof opts);
    id.options = opts;
    if (c->state_is_temp) {
        int fd = output_temp(c->o->output, "state", c->state_path, sizeof c->state_path);
        if (fd < 0)
            return fail("cannot create a temporary state file", strerror(-fd), EXIT_RUNTIME);
        close(fd);
    } else if ((size_t)snprintf(c->state_path, sizeof c->state_path, "%s",
                                c->o->state ? c->o->state : "") >= sizeof c->state_path ||
               (!c->o->state && (size_t)snprintf(c->state_path, sizeof c->state_path, "%s.state",
                                                 c->o->output) >= sizeof c->state_path)) {
        return fail("state path too long", NULL, EXIT_USAGE);
    }
    if (!c->state_is_temp &&
        output_check_target(c->state_path, "the state file", err, sizeof err) != 0)
        return fail(err, NULL, EXIT_USAGE);
    int rc = state_open(c->state_path, &id, c->o->restart || c->state_is_temp, &c->db, err,
                        sizeof err);
    if (rc < 0)
        return fail(err, NULL, EXIT_USAGE);
    c->resumed = rc == 1;
    return 0;
}

static void meta_set_u64(state *db, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    state_meta_set(db, key, buf);
}

static uint64_t meta_get_u64(state *db, const char *key)
{
    char buf[32];
    return state_meta_get(db, key, buf, sizeof buf) ? strtoull(buf, NULL, 10) : 0;
}

static void save_run_meta(clean_ctx *c)
{
    state *db = c->db;
    char buf[64];
    if (!c->resumed)
        meta_set_u64(db, "started_at", (uint64_t)time(NULL));
    state_meta_set(db, "input_path", c->o->args[0]);
    state_meta_set(db, "output_path", c->o->output);
    state_meta_set(db, "level", c->o->level == LEVEL_DNS ? "dns" : "smtp");
    if (c->o->shard_n) {
        snprintf(buf, sizeof buf, "%d/%d", c->o->shard_k, c->o->shard_n);
        state_meta_set(db, "shard", buf);
    }
    meta_set_u64(db, "email_column", c->col.index);
    meta_set_u64(db, "has_header", c->col.has_header);
    meta_set_u64(db, "width", c->width);
    meta_set_u64(db, "bom", c->bom);
    state_meta_set(db, "delimiter", (char[2]){c->delim, '\0'});
    state_meta_set(db, "encoding", sniff_encoding_name(csvio_get_dialect(c->in)->encoding));
    if (state_meta_get(db, "elapsed_s", buf, sizeof buf))
        c->elapsed_before = strtod(buf, NULL);
    c->retries_before = meta_get_u64(db, "retries_used");
    /* The catch-all probes keep their addresses across a resume. */
    if (!(c->catchall_seed = meta_get_u64(db, "catchall_seed"))) {
        while (!c->catchall_seed && getrandom(&c->catchall_seed, sizeof c->catchall_seed, 0) !=
                                        (ssize_t)sizeof c->catchall_seed)
            ;
        meta_set_u64(db, "catchall_seed", c->catchall_seed);
    }
}

/* Is the file at A the file at B (by name, or by inode when both exist)? */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b)
        return false;
    return strcmp(a, b) == 0 ||
           (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* --cache: refused before the state file is made (a wrong path costs
 * nothing), and never a file the run writes by renaming over it. */
static int open_cache(clean_ctx *c)
{
    char err[PATH_MAX + 512];
    const cli_opts *o = c->o;
    if (!o->cache)
        return 0;
    const char *clash = same_file(o->cache, o->args[0]) ? "INPUT"
                        : same_file(o->cache, o->output) ? "OUTPUT"
                        : same_file(o->cache, o->report_html) ? "the --report file"
                        : same_file(o->cache, o->state) ? "the state file" : NULL;
    if (clash) {
        snprintf(err, sizeof err, "--cache %s is %s; give the cache a file of its own", o->cache,
                 clash);
        return fail(err, NULL, EXIT_USAGE);
    }
    if (cache_open(o->cache, CACHE_OPEN_CREATE | CACHE_OPEN_WRITE, &c->cache, err,
                   sizeof err) != 0)
        return fail(err, NULL, EXIT_USAGE);
    return 0;
}

/* The batch's token in the cache, kept in the state: a resumed run
 * reuses nothing its earlier runs wrote, as an uninterrupted one would not. */
static void cache_token(clean_ctx *c)
{
    if (!c->cache)
        return;
    uint64_t token = meta_get_u64(c->db, "cache_batch");
    while (!token)
        if (getrandom(&token, sizeof token, 0) != (ssize_t)sizeof token)
            token = 0;
    meta_set_u64(c->db, "cache_batch", token);
    c->crun = (cache_run){.max_age = c->o->max_age, .smtp = c->o->level == LEVEL_SMTP,
                          .allow_private_mx = c->o->allow_private_mx, .batch = (int64_t)token};
}

static bool skipped(const clean_ctx *c, uint64_t row)
{
    return row < c->nskip && (c->skip[row >> 3] >> (row & 7)) & 1;
}

/* Screen ROW's email cell into R and A; true when it needs the network. */
static bool screen_row(clean_ctx *c, const csvio_row *row, result *r, addr *a)
{
    const csvio_field *cell = email_cell(c, row);
    return screen_address(c->scr, cell ? cell->p : "", cell ? cell->len : 0, false, r, a);
}

/* --shard K/N: a row whose domain falls in another shard is another
 * machine's (rows without a valid address go by the domain ""). */
static bool other_shard(const clean_ctx *c, const result *r, const addr *a)
{
    return c->o->shard_n &&
           shard_of(r->email[0] ? a->ascii_domain : "", c->o->shard_n) != c->o->shard_k;
}

/* Row I's retry from an earlier run, if it left it waiting. */
static const retry_mark *waiting_retry(clean_ctx *c, uint64_t i)
{
    retry_load *rl = c->retries;
    while (rl && rl->next < rl->n && rl->m[rl->next].row < i)
        rl->next++;
    return rl && rl->next < rl->n && rl->m[rl->next].row == i ? &rl->m[rl->next++] : NULL;
}

/* Row I screened into R and A, and its item for the engine, or NULL when
 * it needs no probe (decided here, or earlier, or another shard's); *RC
 * non-zero when the run must stop. */
static engine_item *row_item(clean_ctx *c, const csvio_row *row, uint64_t i, result *r,
                             addr *a, int *rc)
{
    bool done = skipped(c, i);
    uint64_t first;
    bool net = screen_row(c, row, r, a);
    if (other_shard(c, r, a))
        return NULL;
    if (duplicate_of(c, r, a, i, &first)) {   /* never probed: takes FIRST's verdict */
        if (!done)
            state_put_dup(c->w, i, first, a->ascii_domain, r);
        batch_count(c->b, NULL);                /* read and done, finished or not */
        return NULL;
    }
    if (done)
        return NULL;              /* read and done already: batch_seed counted it */
    if (!net) {
        state_put_result(c->w, i, r->email[0] ? a->ascii_domain : "", r);   /* no network needed */
        batch_count(c->b, r);
        return NULL;
    }
    const retry_mark *m = waiting_retry(c, i);
    result_tri learn = TRI_UNSET;
    /* a row waiting for a retry was looked up before its first probe */
    if (!m && cache_lookup(c->cache, &c->crun, r, a, (int64_t)time(NULL), &learn)) {
        state_put_result(c->w, i, a->ascii_domain, r);
        batch_count(c->b, r);
        return NULL;
    }
    if (learn != TRI_UNSET)
        batch_learn(c->b, a->ascii_domain, learn);
    engine_item *it = engine_item_screened(i, r, a);
    if (!it) {
        *rc = fail("out of memory", NULL, EXIT_RUNTIME);
        return NULL;
    }
    if (m) {                      /* keeps its due time */
        it->due_unix = m->due;
        it->temps = m->temps;
        it->attempts = m->attempts;
    }
    return it;
}

static bool emit_item(void *ud, engine_item *it)
{
    return batch_add(((clean_ctx *)ud)->b, it);
}

/* The batch stopped (batch_add said false): it said why. */
static int batch_stopped(void)
{
    return interrupted ? EXIT_INTERRUPTED : EXIT_RUNTIME;
}

/* ROW's key in group.h, the same in both passes: its cell's plain
 * domain, else its screened one (R and A: screened here when NULL). */
static uint64_t row_key(clean_ctx *c, const csvio_row *row, const result *r, const addr *a)
{
    const csvio_field *cell = email_cell(c, row);
    uint64_t key = cell ? group_key(c->grp, cell->p, cell->len) : 0;
    if (key || !cell)
        return key;
    result sr;
    addr sa;
    if (!r) {
        screen_row(c, row, &sr, &sa);
        r = &sr;
        a = &sa;
    }
    return r->email[0] ? group_domain_key(c->grp, a->ascii_domain) : 0;
}

/* Every row goes through the grouping (group.h), probed or not: its
 * domain's count must come down to 0. */
static int feed_row(clean_ctx *c, const csvio_row *row, uint64_t i)
{
    if ((i & (PROGRESS_EVERY - 1)) == 0)
        batch_set_bytes(c->b, csvio_bytes_read(c->in), 0);
    int rc = 0;
    result r;
    addr a;
    engine_item *it = row_item(c, row, i, &r, &a, &rc);
    if (rc)
        return rc;
    return group_row(c->grp, row_key(c, row, &r, &a), it, emit_item, c) ? 0 : batch_stopped();
}

/* The counting pass of group.h: INPUT read once more, from the top, with
 * the dialect the feeder's reader settled (the same rows in the same
 * order); *ROWS its data rows, the progress's total. Out of memory there
 * only means no grouping. */
static int count_groups(clean_ctx *c, uint64_t *rows)
{
    char err[512];
    csvio_dialect_opts d = {c->o->delimiter, &interrupted};
    if (!(c->grp = group_new((size_t)c->o->rcpt_per_session)))
        return fail("out of memory", NULL, EXIT_RUNTIME);
    csvio_reader *r = csvio_open(c->in_path, &d, err, sizeof err);
    if (!r)
        return interrupted ? interrupted_exit(c) : fail(input_name(c), err, EXIT_USAGE);
    csvio_row row;
    int got;
    for (bool header = c->col.has_header; (got = csvio_next(r, &row)) == 1; header = false) {
        if (header)
            continue;
        (*rows)++;
        group_count(c->grp, row_key(c, &row, NULL, NULL));   /* -1: no grouping */
    }
    int rc = 0;
    if (interrupted)
        rc = interrupted_exit(c);
    else if (got < 0)
        rc = fail(c->o->args[0], csvio_error(r), EXIT_USAGE);
    csvio_close(r);
    if (rc == 0)
        group_seal(c->grp);
    return rc;
}

static int take_retry(void *ud, const state_retry *r)
{
    retry_load *rl = ud;
    if (rl->n == rl->cap) {
        size_t cap = rl->cap ? rl->cap * 2 : 64;
        retry_mark *a = realloc(rl->m, cap * sizeof *a);
        if (!a)
            return -1;
        rl->m = a;
        rl->cap = cap;
    }
    rl->m[rl->n++] = (retry_mark){r->row, r->due, r->attempts, r->last.attempts};
    return 0;
}

typedef struct known_load {
    batch_domain *d;
    size_t n, cap;
} known_load;

static int take_domain(void *ud, const char *domain, result_tri accept_all, const char *mx)
{
    (void)mx;
    known_load *k = ud;
    if (k->n == k->cap && !(k->d = realloc(k->d, (k->cap = k->cap ? k->cap * 2 : 256) * sizeof *k->d)))
        return -1;
    if (!(k->d[k->n].name = strdup(domain)))
        return -1;
    k->d[k->n++].accept_all = accept_all;
    return 0;
}

/* What an earlier run left: finished rows (skipped by the feeder), rows
 * waiting for a retry, and domain knowledge. */
static int load_resume(clean_ctx *c, retry_load *rl, known_load *kl)
{
    if (state_finished_rows(c->db, &c->skip, &c->nskip) != 0 ||
        state_each_retry(c->db, take_retry, rl) != 0 ||
        state_each_domain(c->db, take_domain, kl) != 0)
        return fail("cannot read the state file", c->state_path, EXIT_RUNTIME);
    c->retries = rl;
    return 0;
}

static void free_resume(clean_ctx *c, retry_load *rl, known_load *kl)
{
    for (size_t i = 0; i < kl->n; i++)
        free(kl->d[i].name);
    free(kl->d);
    free(rl->m);
    free(c->skip);
    c->skip = NULL;
    c->nskip = 0;
    c->retries = NULL;
}

/* The rows earlier runs finished, by status: the progress counts them as
 * done from its first line (read before the writer starts). */
static uint64_t finished_by_status(clean_ctx *c, uint64_t by_status[4])
{
    uint64_t n = 0, row;
    result r;
    state_cursor *cur = c->nskip ? state_results(c->db) : NULL;
    while (cur && state_cursor_next(cur, &row, &r) == 1) {
        if (r.duplicate)
            continue;             /* the feeder counts duplicates, finished or not */
        by_status[verdict_status_of(r.reason)]++;
        n++;
    }
    state_cursor_free(cur);
    return n;
}

/* Feed every unfinished row to the batch; returns its exit code. */
static int run_batch(clean_ctx *c, retry_load *rl, known_load *kl)
{
    char err[512];
    struct stat st;
    uint64_t by_status[4] = {0}, finished = finished_by_status(c, by_status);
    uint64_t rows = 0;
    int rc = count_groups(c, &rows);
    if (rc)
        return rc;
    meta_set_u64(c->db, "run_started_at", (uint64_t)time(NULL));   /* `report` on a running batch */
    if (!(c->w = state_writer_start(c->db, err, sizeof err)))
        return fail("cannot write the state file", err, EXIT_RUNTIME);
    if (c->cache && !(c->cw = cache_writer_start(c->cache, &c->crun, err, sizeof err))) {
        state_writer_stop(c->w, NULL, 0);
        return fail("cannot write the verdict cache", err, EXIT_RUNTIME);
    }
    c->b = batch_start(c->o, c->w, c->cw, WINDOW, kl->d, kl->n, c->catchall_seed, &interrupted,
                       err, sizeof err);
    if (!c->b) {
        cache_writer_stop(c->cw);
        c->cw = NULL;
        state_writer_stop(c->w, err, sizeof err);
        return fail(err, NULL, EXIT_USAGE);
    }
    if (stat(c->in_path, &st) == 0)
        batch_set_bytes(c->b, 0, (uint64_t)st.st_size);
    batch_seed(c->b, finished, by_status);
    if (!c->o->shard_n)
        batch_set_rows_total(c->b, rows);     /* --shard: other shards' rows are no run's here */
    (void)rl;
    rc = each_row(c, feed_row);
    if (rc == 0 && !group_flush(c->grp, emit_item, c))
        rc = batch_stopped();
    cache_end_reads(c->cache);        /* no look-up while the batch finishes */
    uint64_t retries = 0;
    int brc = batch_finish(c->b, &retries);
    c->b = NULL;
    cache_writer_stop(c->cw);         /* a failure there was said; the run's results stand */
    c->cw = NULL;
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)(c->retries_before + retries));
    state_put_meta(c->w, "retries_used", buf);
    int wrc = state_writer_stop(c->w, err, sizeof err);
    c->w = NULL;
    if (wrc != 0)
        return fail("cannot write the state file", err, EXIT_RUNTIME);
    if (rc == EXIT_INTERRUPTED || brc == EXIT_INTERRUPTED)
        return rc == EXIT_INTERRUPTED ? rc : interrupted_exit(c);
    return rc ? rc : brc;
}

/* A row the results skip: another shard's, or a missing result. */
static bool skipped_is_other_shard(void *ud, const csvio_row *row)
{
    clean_ctx *c = ud;
    result sr;
    addr a;
    screen_row(c, row, &sr, &a);
    return other_shard(c, &sr, &a);
}

/* OUTPUT from INPUT streamed again beside c->next's results. */
static int write_output(clean_ctx *c)
{
    csvio_close(c->in);                   /* the pass reads INPUT itself */
    c->in = NULL;
    output_pass p = {
        .prog = "mailvet clean", .input = c->in_path, .input_name = c->o->args[0],
        .output = c->o->output, .source = c->state_path,
        .col = c->col, .width = c->width, .bom = c->bom, .delim = c->delim,
        .keep = c->o->keep, .split_dir = c->o->split_dir,
        .next = c->next, .next_ud = c->next_ud,
        .other_shard = skipped_is_other_shard, .shard_ud = c, .sharded = c->o->shard_n != 0,
        .st = &c->st, .cancel = &interrupted,
    };
    int rc = output_pass_run(&p);
    return rc == EXIT_INTERRUPTED ? interrupted_exit(c) : rc;
}

static int cursor_next(void *ud, uint64_t *row, result *r)
{
    return state_cursor_next(ud, row, r);
}

/* INPUT must still be the file the rows were read from: OUTPUT pairs
 * its rows with the results by position. */
static int check_input_unchanged(clean_ctx *c)
{
    state_identity now;
    char err[512];
    if (state_identify(c->in_path, &now, err, sizeof err) != 0)
        return fail(c->o->args[0], err, EXIT_RUNTIME);
    if (now.input_size == c->input_id.input_size && now.input_mtime == c->input_id.input_mtime &&
        strcmp(now.head_sha256, c->input_id.head_sha256) == 0)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "INPUT changed while mailvet was running (size %llu → %llu); "
             "OUTPUT not written — the results are kept: put the original file back and rerun",
             (unsigned long long)c->input_id.input_size, (unsigned long long)now.input_size);
    return fail(c->o->args[0], msg, EXIT_RUNTIME);
}

static int write_output_from_state(clean_ctx *c)
{
    int rc = check_input_unchanged(c);
    if (rc)
        return rc;
    state_cursor *cur = state_results(c->db);
    if (!cur)
        return fail("cannot read the state file", c->state_path, EXIT_RUNTIME);
    c->next = cursor_next;
    c->next_ud = cur;
    rc = write_output(c);
    state_cursor_free(cur);
    return rc;
}

static int run_network(clean_ctx *c)
{
    int rc;
    if (strcmp(c->o->args[0], "-") == 0) {
        c->state_is_temp = true;                 /* resume needs a named INPUT */
        if ((rc = spool_stdin(c)))
            return rc;
    }
    if ((rc = open_input(c)) || (rc = detect(c)) || (rc = sanity(c)) || (rc = open_cache(c)) ||
        (rc = open_state(c)))
        return rc;
    save_run_meta(c);
    cache_token(c);
    if (c->resumed)
        fprintf(stderr, "mailvet clean: resuming from %s (%llu rows already done)\n",
                c->state_path, (unsigned long long)state_count_results(c->db));
    retry_load rl = {0};
    known_load kl = {0};
    if (!(c->idx = dedup_new(rows_expected(c))))
        return fail("out of memory", NULL, EXIT_RUNTIME);
    double t0 = now();
    if ((rc = load_resume(c, &rl, &kl)) == 0)
        rc = run_batch(c, &rl, &kl);
    free_resume(c, &rl, &kl);
    char buf[64];
    snprintf(buf, sizeof buf, "%.3f", c->elapsed_before + now() - t0);
    state_meta_set(c->db, "elapsed_s", buf);
    if (rc)
        return rc;
    char err[512];
    if (state_materialise_dups(c->db, err, sizeof err) < 0)   /* duplicates take their verdicts */
        return fail("cannot write the state file", err, EXIT_RUNTIME);
    meta_set_u64(c->db, "rows_total", state_count_results(c->db));
    meta_set_u64(c->db, "finished_at", (uint64_t)time(NULL));
    /* The results are final: the report reads them on a core of its own
     * while the output pass streams them (world-1: the time after the last
     * session 0.53-0.60 s -> 0.37-0.45). */
    c->report = report_job_start(c->state_path);
    return write_output_from_state(c);
}

/* ---- the command ---- */

/* The text summary on stdout; the HTML report too with --report. The state
 * file's report covers every run of the batch, resumed ones included. */
static int summarize(clean_ctx *c)
{
    if (c->o->level == LEVEL_SYNTAX || !c->db) {
        /* --report is refused there (cli.c); OUTPUT may be stdout */
        report_summary_text(strcmp(c->o->output, "-") == 0 ? stderr : stdout, &c->st);
        return 0;
    }
    if (!c->report && !(c->report = report_job_start(c->state_path)))
        return fail("out of memory", NULL, EXIT_RUNTIME);
    int rc = report_job_finish(c->report, c->o->report_html);
    state_close(c->db);
    c->db = NULL;
    if (c->st.no_email_cell)
        printf("Rows without an email cell (too few fields): %llu (marked invalid_syntax)\n",
               (unsigned long long)c->st.no_email_cell);
    if (c->st.long_rows)
        printf("Rows with more fields than the header: %llu (verdict columns follow their last field)\n",
               (unsigned long long)c->st.long_rows);
    if (rc == 0 && report_state_unreachable(c->state_path))
        rc = EXIT_UNREACHABLE;        /* the summary said why */
    return rc;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void cleanup(clean_ctx *c)
{
    report_job_free(c->report);       /* before a temporary state goes */
    if (c->spool[0])
        unlink(c->spool);
    for (size_t i = 0; i < c->nsample; i++)
        free(c->sample[i]);
    output_free(c->out);
    dedup_free(c->idx);
    group_free(c->grp);
    csvio_close(c->in);
    screen_free(c->scr);
    cache_close(c->cache);
    if (c->db)
        state_close(c->db);
    if (c->state_is_temp && c->state_path[0]) {
        char p[PATH_MAX + 8];
        unlink(c->state_path);
        snprintf(p, sizeof p, "%s-wal", c->state_path);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", c->state_path);
        unlink(p);
    }
}

/* A run's context, or NULL (out of memory: said so). */
static clean_ctx *ctx_new(const cli_opts *o, const lists *l)
{
    clean_ctx *c = calloc(1, sizeof *c);
    addr_opts ao;
    addr_opts_default(&ao);
    if (!c || !(c->scr = screen_new(l, &ao))) {
        free(c);
        fail("out of memory", NULL, EXIT_RUNTIME);
        return NULL;
    }
    c->o = o;
    c->l = l;
    c->in_path = o->args[0];
    install_signals();
    return c;
}

static void ctx_free(clean_ctx *c)
{
    cleanup(c);
    free(c);
}

int clean_merge_output(const cli_opts *o, const lists *l, const char *state_label,
                       double elapsed, output_result_fn next, void *ud)
{
    clean_ctx *c = ctx_new(o, l);
    if (!c)
        return EXIT_RUNTIME;
    snprintf(c->state_path, sizeof c->state_path, "%s", state_label);
    c->next = next;
    c->next_ud = ud;
    int rc = check_paths(o);
    if (rc == 0)
        rc = open_input(c);
    if (rc == 0)
        rc = detect(c);
    if (rc == 0)
        rc = write_output(c);
    c->st.elapsed = elapsed;
    if (rc == 0)
        report_summary_text(stdout, &c->st);
    ctx_free(c);
    return rc;
}

int clean_run(const cli_opts *o, const lists *l)
{
    clean_ctx *c = ctx_new(o, l);
    if (!c)
        return EXIT_RUNTIME;
    double t0 = now();
    int rc = check_paths(o);
    if (rc == 0)
        rc = o->level == LEVEL_SYNTAX ? run_syntax(c) : run_network(c);
    c->st.elapsed = c->elapsed_before + now() - t0;
    if (rc == 0)
        rc = summarize(c);
    ctx_free(c);
    return rc;
}
