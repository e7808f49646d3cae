/* csvio.c — streaming CSV reading (libcsv) and writing.
 *
 * Reading runs on its own thread: blocks of the file are pushed through
 * csv_parse(), whose callbacks copy each field into a batch (an arena of
 * field bytes, a field table and a list of finished rows). After each block
 * the finished rows are handed to the consumer and the row still being parsed
 * moves to a fresh batch. Three batches circulate (one being filled, one
 * ready, one being read), so memory is bounded by a few blocks plus the
 * largest row, never by the file, and parsing overlaps the caller's work.
 *
 * libcsv buffers a field until it ends; its allocator is wrapped so a field
 * can never grow past CSVIO_ROW_MAX, which bounds memory on hostile input.
 *
 * The dialect is settled in csvio_open(), before the thread starts: the
 * first SNIFF_BYTES of the file are read there (however the bytes arrive,
 * so a pipe and a file give the same answer), sniff.c says what they are,
 * a refused file fails the open, and the thread begins by parsing that
 * sample (decoded, without its BOM and its sep= line). UTF-16 is decoded to
 * UTF-8 block by block (utf16.c) before csv_parse; UTF-8 goes straight in.
 */
#include "csvio.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "str.h"
#include "utf16.h"

#define READ_BLOCK (256u << 10)
#define WRITE_BLOCK (1u << 20)
#define NBATCHES 3
#define WAIT_SLICE_MS 100     /* how often a blocked wait looks at cancel/stop */

typedef struct span {
    size_t off, len;
} span;

typedef struct rowdesc {
    size_t first, n;   /* fields [first, first+n) of the field table */
    uint64_t recno;
} rowdesc;

typedef struct batch {
    char *data;
    size_t data_len, data_cap;
    span *fields;
    size_t nfields, fields_cap;
    rowdesc *rows;
    size_t nrows, rows_cap;
} batch;

struct csvio_reader {
    int fd;
    bool own_fd;
    batch batches[NBATCHES];
    /* parser thread only */
    struct csv_parser parser;
    bool perr;
    bool eof_seen;             /* the sample read in csvio_open met the end */
    const char *first;         /* the sample's text, parsed first */
    size_t first_len;
    utf16_dec dec;             /* UTF-16 input only: */
    char *u8;                  /* a block decoded to UTF-8 */
    size_t u8_cap;
    uint64_t recno;
    char *block;
    batch *build;
    size_t cur_first;          /* first field of the row being parsed */
    char perrmsg[256];
    /* shared, under mu */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *ready;              /* finished rows waiting for the consumer */
    batch *spare[NBATCHES];    /* batches free for the parser */
    int nspare;
    bool done, failed, stop;
    uint64_t bytes;
    char err[256];
    /* consumer only */
    batch *cur;
    size_t next_row;
    csvio_field *out;          /* pointers handed out for the current row */
    size_t out_cap;
    volatile sig_atomic_t *cancel;
    /* settled by csvio_open, read-only after */
    csvio_dialect dialect;
    bool utf16;
};

/* libcsv's allocator: refuse to let one field outgrow the row limit. */
static void *bounded_realloc(void *p, size_t n)
{
    return n > CSVIO_ROW_MAX + 1 ? NULL : realloc(p, n);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static void parse_fail(csvio_reader *r, const char *msg)
{
    if (!r->perr)
        str_copy(r->perrmsg, sizeof r->perrmsg, msg);
    r->perr = true;
}

static void on_field(void *s, size_t len, void *ud)
{
    csvio_reader *r = ud;
    batch *b = r->build;
    if (r->perr)
        return;
    size_t row_start = b->nfields > r->cur_first ? b->fields[r->cur_first].off : b->data_len;
    if (b->data_len - row_start + len > CSVIO_ROW_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "record %llu is larger than %u MiB",
                 (unsigned long long)r->recno + 1, CSVIO_ROW_MAX >> 20);
        parse_fail(r, msg);
        return;
    }
    if (!grow((void **)&b->data, &b->data_cap, b->data_len + len + 1, 1) ||
        !grow((void **)&b->fields, &b->fields_cap, b->nfields + 1, sizeof(span))) {
        parse_fail(r, "out of memory");
        return;
    }
    if (len)
        memcpy(b->data + b->data_len, s, len);
    b->data[b->data_len + len] = '\0';
    b->fields[b->nfields++] = (span){b->data_len, len};
    b->data_len += len + 1;
}

static void on_row(int c, void *ud)
{
    (void)c;
    csvio_reader *r = ud;
    batch *b = r->build;
    if (r->perr)
        return;
    if (!grow((void **)&b->rows, &b->rows_cap, b->nrows + 1, sizeof(rowdesc))) {
        parse_fail(r, "out of memory");
        return;
    }
    r->recno++;
    b->rows[b->nrows++] = (rowdesc){r->cur_first, b->nfields - r->cur_first, r->recno};
    r->cur_first = b->nfields;
}

/* Copy the row being parsed from FROM into the empty batch TO. */
static bool move_partial_row(csvio_reader *r, batch *from, batch *to)
{
    to->data_len = to->nfields = to->nrows = 0;
    size_t nkeep = from->nfields - r->cur_first;
    size_t base = nkeep ? from->fields[r->cur_first].off : from->data_len;
    size_t bytes = from->data_len - base;
    if (!grow((void **)&to->data, &to->data_cap, bytes + 1, 1) ||
        !grow((void **)&to->fields, &to->fields_cap, nkeep + 1, sizeof(span)))
        return false;
    memcpy(to->data, from->data + base, bytes);
    for (size_t i = 0; i < nkeep; i++) {
        to->fields[i] = from->fields[r->cur_first + i];
        to->fields[i].off -= base;
    }
    to->data_len = bytes;
    to->nfields = nkeep;
    from->nfields = r->cur_first;
    r->cur_first = 0;
    return true;
}

/* Relative deadline for pthread_cond_timedwait. */
static struct timespec deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

/* Hand the finished rows of the build batch to the consumer and continue in
 * a spare one. Returns false when the reader is being closed. */
static bool publish(csvio_reader *r)
{
    pthread_mutex_lock(&r->mu);
    while ((r->ready || r->nspare == 0) && !r->stop)
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->stop) {
        pthread_mutex_unlock(&r->mu);
        return false;
    }
    batch *next = r->spare[--r->nspare];
    pthread_mutex_unlock(&r->mu);
    if (!move_partial_row(r, r->build, next))
        parse_fail(r, "out of memory");
    pthread_mutex_lock(&r->mu);
    r->ready = r->build;
    r->build = next;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return true;
}

/* Wait until FD is readable or the reader is closed (stdin may idle). */
static bool wait_readable(csvio_reader *r)
{
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return false;
        if (poll(&p, 1, WAIT_SLICE_MS) != 0)
            return true;
    }
}

/* Text (UTF-8) through libcsv. */
static void parse_text(csvio_reader *r, const char *p, size_t len)
{
    if (len == 0 || r->perr || csv_parse(&r->parser, p, len, on_field, on_row, r) == len ||
        r->perr)
        return;
    char msg[160];
    int e = csv_error(&r->parser);
    if (e == CSV_ENOMEM)
        snprintf(msg, sizeof msg, "record %llu has a field larger than %u MiB",
                 (unsigned long long)r->recno + 1, CSVIO_ROW_MAX >> 20);
    else
        snprintf(msg, sizeof msg, "record %llu: %s", (unsigned long long)r->recno + 1,
                 csv_strerror(e));
    parse_fail(r, msg);
}

/* N bytes of the file, as they are read, after the sample. */
static void parse_raw(csvio_reader *r, const char *p, size_t n)
{
    if (!r->utf16) {
        parse_text(r, p, n);
        return;
    }
    size_t k = utf16_decode(&r->dec, (const uint8_t *)p, n, r->u8, r->u8_cap);
    if (k == SIZE_MAX)
        parse_fail(r, "internal error: UTF-16 buffer too small");
    else
        parse_text(r, r->u8, k);
}

/* The end of the file: what the decoder holds, and libcsv's last record. */
static void finish_input(csvio_reader *r)
{
    if (r->utf16) {
        size_t k = utf16_finish(&r->dec, r->u8, r->u8_cap, NULL);
        parse_text(r, r->u8, k == SIZE_MAX ? 0 : k);
    }
    if (!r->perr)
        csv_fini(&r->parser, on_field, on_row, r);
}

#define READ_STOPPED (-2)

/* One block into r->block: bytes read, 0 at EOF, -1 on error (errno), or
 * READ_STOPPED on close. */
static ssize_t read_block(csvio_reader *r)
{
    for (;;) {
        if (!wait_readable(r))
            return READ_STOPPED;
        ssize_t n = read(r->fd, r->block, READ_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* The parser thread: the sample first, then read, parse, publish, until
 * EOF, error or close. */
static void *reader_thread(void *arg)
{
    csvio_reader *r = arg;
    parse_text(r, r->first, r->first_len);
    bool eof = false;
    for (;;) {
        if (r->build->nrows && !publish(r))
            return NULL;
        if (eof || r->perr)
            break;
        ssize_t n = r->eof_seen ? 0 : read_block(r);
        if (n == READ_STOPPED)
            return NULL;
        if (n < 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "read error: %s", strerror(errno));
            parse_fail(r, msg);
        } else if (n == 0) {
            eof = true;
            finish_input(r);
        } else {
            pthread_mutex_lock(&r->mu);
            r->bytes += (uint64_t)n;
            pthread_mutex_unlock(&r->mu);
            parse_raw(r, r->block, (size_t)n);
        }
    }
    pthread_mutex_lock(&r->mu);
    r->done = true;
    r->failed = r->perr;
    memcpy(r->err, r->perrmsg, sizeof r->err);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* The sample: up to SNIFF_BYTES into r->block, however many reads it
 * takes (a pipe gives a few bytes at a time). Bytes read, or -1 with a
 * message; *CANCEL set stops the wait. */
static ssize_t read_sample(csvio_reader *r, char *err, size_t errlen)
{
    size_t got = 0;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    while (got < SNIFF_BYTES) {
        if (r->cancel && *r->cancel) {
            snprintf(err, errlen, "interrupted");
            return -1;
        }
        int ready = poll(&p, 1, WAIT_SLICE_MS);
        if (ready == 0 || (ready < 0 && errno == EINTR))
            continue;
        ssize_t n = read(r->fd, r->block + got, SNIFF_BYTES - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "read error: %s", strerror(errno));
            return -1;
        }
        if (n == 0) {
            r->eof_seen = true;
            break;
        }
        got += (size_t)n;
    }
    r->bytes = got;
    return (ssize_t)got;
}

/* UTF-16: the sample decoded into r->u8 (and its end, at EOF). */
static bool decode_sample(csvio_reader *r, size_t from, size_t got, char *err, size_t errlen)
{
    r->utf16 = true;
    r->u8_cap = UTF16_OUT_MAX(READ_BLOCK) + UTF16_FINISH_MAX;
    if (!(r->u8 = malloc(r->u8_cap))) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    utf16_init(&r->dec, r->dialect.encoding == SNIFF_UTF16BE);
    size_t k = utf16_decode(&r->dec, (const uint8_t *)r->block + from, got - from, r->u8,
                            r->u8_cap - UTF16_FINISH_MAX);
    if (r->eof_seen)
        k += utf16_finish(&r->dec, r->u8 + k, UTF16_FINISH_MAX, NULL);
    r->first = r->u8;
    r->first_len = k;
    sniff_encoding enc;
    size_t bom;
    if (sniff_kind((const unsigned char *)r->u8, k, &enc, &bom) != SNIFF_TEXT) {
        snprintf(err, errlen, "%s", sniff_message(SNIFF_BINARY));
        return false;
    }
    return true;
}

/* Read and judge the sample: what the file is, its encoding, its sep=
 * line, its delimiter (OPTS's when given). False with a message. */
static bool sniff_input(csvio_reader *r, const csvio_dialect_opts *opts, char *err, size_t errlen)
{
    ssize_t got = read_sample(r, err, errlen);
    if (got < 0)
        return false;
    csvio_dialect *d = &r->dialect;
    size_t bom;
    sniff_format f = sniff_kind((const unsigned char *)r->block, (size_t)got, &d->encoding, &bom);
    if (f != SNIFF_TEXT) {
        snprintf(err, errlen, "%s", sniff_message(f));
        return false;
    }
    d->had_bom = bom > 0;
    if (d->encoding == SNIFF_UTF16LE || d->encoding == SNIFF_UTF16BE) {
        if (!decode_sample(r, bom, (size_t)got, err, errlen))
            return false;
    } else {
        r->first = r->block + bom;
        r->first_len = (size_t)got - bom;
    }
    char sep = 0;
    size_t skip = sniff_sep_line(r->first, r->first_len, r->eof_seen, &sep);
    d->sep_line = skip > 0;
    r->first += skip;
    r->first_len -= skip;
    bool found = false;
    if (opts && opts->delimiter) {
        d->delimiter = opts->delimiter;
        d->source = CSVIO_DELIM_GIVEN;
    } else if (sep) {
        d->delimiter = sep;
        d->source = CSVIO_DELIM_SEP_LINE;
    } else {
        d->delimiter = sniff_delimiter(r->first, r->first_len, r->eof_seen, &found);
        d->source = found ? CSVIO_DELIM_DETECTED : CSVIO_DELIM_DEFAULT;
    }
    return true;
}

static void reader_free(csvio_reader *r)
{
    if (r->own_fd)
        close(r->fd);
    csv_free(&r->parser);
    free(r->block);
    free(r->u8);
    free(r);
}

csvio_reader *csvio_open(const char *path, const csvio_dialect_opts *opts, char *err,
                         size_t errlen)
{
    csvio_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->block = malloc(READ_BLOCK))) {
        snprintf(err, errlen, "out of memory");
        free(r);
        return NULL;
    }
    r->cancel = opts ? opts->cancel : NULL;
    r->fd = 0;
    if (strcmp(path, "-") != 0) {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            snprintf(err, errlen, "cannot open: %s", strerror(errno));
            free(r->block);
            free(r);
            return NULL;
        }
        r->own_fd = true;
    }
    csv_init(&r->parser, 0);   /* relaxed: stray quotes are kept as data */
    csv_set_realloc_func(&r->parser, bounded_realloc);
    csv_set_blk_size(&r->parser, 64u << 10);   /* fewer reallocs on big fields */
    if (!sniff_input(r, opts, err, errlen)) {
        reader_free(r);
        return NULL;
    }
    csv_set_delim(&r->parser, (unsigned char)r->dialect.delimiter);
    r->build = &r->batches[0];
    for (int i = 1; i < NBATCHES; i++)
        r->spare[r->nspare++] = &r->batches[i];
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, reader_thread, r) != 0) {
        snprintf(err, errlen, "cannot start the reader thread");
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        reader_free(r);
        return NULL;
    }
    return r;
}

void csvio_set_cancel(csvio_reader *r, volatile sig_atomic_t *flag)
{
    r->cancel = flag;
}

/* Give the exhausted batch back and take the next ready one. Returns 1 with
 * r->cur set, 0 at the end, -1 on error or cancel. */
static int next_batch(csvio_reader *r)
{
    pthread_mutex_lock(&r->mu);
    if (r->cur) {
        r->spare[r->nspare++] = r->cur;
        r->cur = NULL;
        pthread_cond_broadcast(&r->cv);
    }
    while (!r->ready && !r->done && !(r->cancel && *r->cancel)) {
        struct timespec ts = deadline_in(WAIT_SLICE_MS);
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    int rc;
    if (r->ready) {
        r->cur = r->ready;
        r->ready = NULL;
        r->next_row = 0;
        pthread_cond_broadcast(&r->cv);
        rc = 1;
    } else if (!r->done) {
        snprintf(r->err, sizeof r->err, "interrupted");
        rc = -1;
    } else {
        rc = r->failed ? -1 : 0;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int csvio_next(csvio_reader *r, csvio_row *row)
{
    while (!r->cur || r->next_row >= r->cur->nrows) {
        int rc = next_batch(r);
        if (rc <= 0)
            return rc;
    }
    const batch *b = r->cur;
    const rowdesc *d = &b->rows[r->next_row++];
    if (!grow((void **)&r->out, &r->out_cap, d->n + 1, sizeof(csvio_field))) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < d->n; i++) {
        const span *s = &b->fields[d->first + i];
        r->out[i] = (csvio_field){b->data + s->off, s->len};
    }
    *row = (csvio_row){r->out, d->n, d->recno};
    return 1;
}

const char *csvio_error(const csvio_reader *r)
{
    return r->err;
}

bool csvio_had_bom(csvio_reader *r)
{
    return r->dialect.had_bom;
}

const csvio_dialect *csvio_get_dialect(const csvio_reader *r)
{
    return &r->dialect;
}

uint64_t csvio_bytes_read(csvio_reader *r)
{
    pthread_mutex_lock(&r->mu);
    uint64_t n = r->bytes;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void csvio_close(csvio_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    for (int i = 0; i < NBATCHES; i++) {
        free(r->batches[i].data);
        free(r->batches[i].fields);
        free(r->batches[i].rows);
    }
    free(r->out);
    reader_free(r);
}

csvio_row *csvio_row_dup(const csvio_row *row)
{
    size_t bytes = 0;
    for (size_t i = 0; i < row->n; i++)
        bytes += row->f[i].len + 1;
    csvio_row *c = malloc(sizeof *c + row->n * sizeof(csvio_field) + bytes);
    if (!c)
        return NULL;
    csvio_field *f = (csvio_field *)(c + 1);
    char *p = (char *)(f + row->n);
    for (size_t i = 0; i < row->n; i++) {
        memcpy(p, row->f[i].p, row->f[i].len);
        p[row->f[i].len] = '\0';
        f[i] = (csvio_field){p, row->f[i].len};
        p += row->f[i].len + 1;
    }
    *c = (csvio_row){f, row->n, row->recno};
    return c;
}

/* ---- writer ----
 *
 * Rows are formatted into one buffer while a background thread write()s the
 * other: the kernel's copy into the page cache is a large share of a
 * syntax-level run, and this moves it to the second core.
 */

typedef struct wbuf {
    char *p;
    size_t len;
} wbuf;

struct csvio_writer {
    int fd;
    int error;              /* first write error, as a positive errno */
    bool row_started;
    char delim;
    bool quote[256];        /* bytes that force a field to be quoted */
    wbuf bufs[2];
    wbuf *cur;              /* being filled by the caller */
    /* hand-over to the I/O thread */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wbuf *pending;          /* full buffer waiting to be written, or NULL */
    bool stop;
};

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *writer_thread(void *arg)
{
    csvio_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending)
            break;
        wbuf *b = w->pending;
        pthread_mutex_unlock(&w->mu);
        int e = w->error ? 0 : write_all(w->fd, b->p, b->len);
        pthread_mutex_lock(&w->mu);
        if (e && !w->error)
            w->error = e;
        b->len = 0;
        w->pending = NULL;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

csvio_writer *csvio_writer_new(int fd, char delim)
{
    csvio_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fd = fd;
    w->delim = delim ? delim : ',';
    w->quote[(unsigned char)w->delim] = w->quote['"'] = w->quote['\n'] = w->quote['\r'] = true;
    w->bufs[0].p = malloc(WRITE_BLOCK);
    w->bufs[1].p = malloc(WRITE_BLOCK);
    w->cur = &w->bufs[0];
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (!w->bufs[0].p || !w->bufs[1].p ||
        pthread_create(&w->thread, NULL, writer_thread, w) != 0) {
        free(w->bufs[0].p);
        free(w->bufs[1].p);
        free(w);
        return NULL;
    }
    return w;
}

/* Hand the current buffer to the I/O thread and continue in the other. */
static void writer_swap(csvio_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->pending)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->cur->len) {
        w->pending = w->cur;
        w->cur = w->cur == &w->bufs[0] ? &w->bufs[1] : &w->bufs[0];
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

void csvio_put_raw(csvio_writer *w, const char *p, size_t len)
{
    while (len) {
        if (w->cur->len == WRITE_BLOCK)
            writer_swap(w);
        size_t room = WRITE_BLOCK - w->cur->len;
        size_t n = len < room ? len : room;
        memcpy(w->cur->p + w->cur->len, p, n);
        w->cur->len += n;
        p += n;
        len -= n;
    }
}

static bool needs_quotes(const csvio_writer *w, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (w->quote[(unsigned char)p[i]])
            return true;
    return false;
}

static void put_quoted(csvio_writer *w, const char *p, size_t len)
{
    csvio_put_raw(w, "\"", 1);
    const char *q;
    while ((q = memchr(p, '"', len)) != NULL) {
        csvio_put_raw(w, p, (size_t)(q - p) + 1);
        csvio_put_raw(w, "\"", 1);          /* double the quote */
        len -= (size_t)(q - p) + 1;
        p = q + 1;
    }
    csvio_put_raw(w, p, len);
    csvio_put_raw(w, "\"", 1);
}

void csvio_put(csvio_writer *w, const char *p, size_t len)
{
    wbuf *b = w->cur;
    if (b->len + len + 1 <= WRITE_BLOCK && !needs_quotes(w, p, len)) {
        /* the common case, inline: room in the buffer, nothing to quote */
        char *o = b->p + b->len;
        if (w->row_started)
            *o++ = w->delim;
        memcpy(o, p, len);
        b->len = (size_t)(o + len - b->p);
        w->row_started = true;
        return;
    }
    if (w->row_started)
        csvio_put_raw(w, &w->delim, 1);
    w->row_started = true;
    if (needs_quotes(w, p, len))
        put_quoted(w, p, len);
    else
        csvio_put_raw(w, p, len);
}

void csvio_put_str(csvio_writer *w, const char *s)
{
    csvio_put(w, s, strlen(s));
}

void csvio_end_row(csvio_writer *w)
{
    csvio_put_raw(w, "\n", 1);
    w->row_started = false;
}

int csvio_flush(csvio_writer *w)
{
    writer_swap(w);
    pthread_mutex_lock(&w->mu);
    while (w->pending)
        pthread_cond_wait(&w->cv, &w->mu);
    int e = w->error;
    pthread_mutex_unlock(&w->mu);
    return e ? -e : 0;
}

void csvio_writer_free(csvio_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->bufs[0].p);
    free(w->bufs[1].p);
    free(w);
}
