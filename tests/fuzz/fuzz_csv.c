/* fuzz_csv.c — libFuzzer target for the streaming CSV reader (src/csvio.c).
 *
 * Input: one byte that picks the read size, then the CSV bytes. Each run
 * parses the bytes twice: from a memfd (one read() returns everything) and
 * from a pipe that a writer thread fills in chunks of the picked size,
 * waiting until the reader has taken each chunk, so every read() returns
 * exactly one chunk and rows, quoted fields and the BOM straddle block
 * boundaries. Owns the pipe, the memfd and the writer thread of one run.
 * Properties: both reads give the same rows and the same dialect (parsing
 * and sniffing must not depend on how the bytes arrive); a refused input is
 * refused both ways with sniff.c's message for its kind, and only when
 * sniff_kind() says it is no text; record numbers count 1, 2, 3…; fields are
 * NUL-terminated and together no longer than the input (decoded UTF-16: at
 * most 3 bytes per code unit); no error on input this small;
 * csvio_bytes_read() and csvio_had_bom() tell the truth; csvio_row_dup()
 * copies exactly.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>

#include "csvio.h"

#define MAX_CHUNKS 16       /* bounds the hand-offs (and so the time) per run */

typedef struct vec {
    uint8_t *p;
    size_t n, cap;
} vec;

static void vec_put(vec *v, const void *p, size_t n)
{
    if (v->n + n > v->cap) {
        size_t c = v->cap ? v->cap : 256;
        while (c < v->n + n)
            c *= 2;
        uint8_t *q = realloc(v->p, c);
        FUZZ_CHECK(q != NULL);
        v->p = q;
        v->cap = c;
    }
    memcpy(v->p + v->n, p, n);
    v->n += n;
}

/* Read every row of PATH into OUT (the dialect, field counts, lengths and
 * bytes), and check the per-row properties on the way. */
static void read_all(const char *path, const uint8_t *in, size_t n, vec *out)
{
    char err[256];
    sniff_encoding enc;
    size_t bom;
    sniff_format kind = sniff_kind(in, n < SNIFF_BYTES ? n : SNIFF_BYTES, &enc, &bom);
    csvio_reader *r = csvio_open(path, NULL, err, sizeof err);
    if (!r) {
        /* refused: a kind sniff_kind() names, or binary after decoding */
        FUZZ_CHECK(kind != SNIFF_TEXT ? strcmp(err, sniff_message(kind)) == 0
                   : (enc == SNIFF_UTF16LE || enc == SNIFF_UTF16BE) &&
                     strcmp(err, sniff_message(SNIFF_BINARY)) == 0);
        vec_put(out, err, strlen(err));
        int fd = open(path, O_RDONLY);      /* drain it: the feeder waits for that */
        char buf[4096];
        while (fd >= 0 && read(fd, buf, sizeof buf) > 0)
            ;
        if (fd >= 0)
            close(fd);
        return;
    }
    FUZZ_CHECK(kind == SNIFF_TEXT);
    const csvio_dialect *d = csvio_get_dialect(r);
    FUZZ_CHECK(d->encoding == enc && d->had_bom == (bom > 0));
    vec_put(out, d, sizeof *d);
    size_t limit = enc == SNIFF_UTF16LE || enc == SNIFF_UTF16BE ? 3 * (n / 2) + 6 : n;
    csvio_row row;
    uint64_t want = 1;
    size_t total = 0;
    int rc;
    while ((rc = csvio_next(r, &row)) == 1) {
        FUZZ_CHECK(row.recno == want++);
        FUZZ_CHECK(row.n >= 1);
        vec_put(out, &row.n, sizeof row.n);
        for (size_t i = 0; i < row.n; i++) {
            FUZZ_CHECK(row.f[i].p != NULL && row.f[i].p[row.f[i].len] == '\0');
            total += row.f[i].len;
            vec_put(out, &row.f[i].len, sizeof row.f[i].len);
            vec_put(out, row.f[i].p, row.f[i].len);
        }
        FUZZ_CHECK(total <= limit);
        csvio_row *c = csvio_row_dup(&row);
        FUZZ_CHECK(c != NULL && c->n == row.n && c->recno == row.recno);
        for (size_t i = 0; i < row.n; i++)
            FUZZ_CHECK(c->f[i].len == row.f[i].len && c->f[i].p[c->f[i].len] == '\0' &&
                       memcmp(c->f[i].p, row.f[i].p, row.f[i].len) == 0);
        free(c);
    }
    if (rc != 0)
        fprintf(stderr, "fuzz: csvio_next: %s\n", csvio_error(r));
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(csvio_bytes_read(r) == n);
    FUZZ_CHECK(csvio_had_bom(r) == (bom > 0));
    csvio_close(r);
}

typedef struct feeder {
    int fd;
    const uint8_t *p;
    size_t n, chunk, first;     /* FIRST: size of the first chunk */
} feeder;

/* Write one chunk, wait until the reader has drained the pipe, repeat;
 * then close, which is the reader's end of file. */
static void *feed(void *arg)
{
    feeder *f = arg;
    size_t off = 0;
    while (off < f->n) {
        size_t want = off == 0 ? f->first : f->chunk;
        size_t k = f->n - off < want ? f->n - off : want;
        while (k > 0) {
            ssize_t w = write(f->fd, f->p + off, k);
            if (w < 0 && errno == EINTR)
                continue;
            FUZZ_CHECK(w > 0);
            off += (size_t)w;
            k -= (size_t)w;
        }
        for (;;) {
            int avail = 0;
            FUZZ_CHECK(ioctl(f->fd, FIONREAD, &avail) == 0);
            if (avail == 0)
                break;
            sched_yield();
        }
    }
    close(f->fd);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    char path[64];

    vec whole = {0}, chunked = {0};
    int mfd = fuzz_memfd(in, n, path, sizeof path);
    FUZZ_CHECK(mfd >= 0);
    read_all(path, in, n, &whole);
    close(mfd);

    int pfd[2];
    FUZZ_CHECK(pipe(pfd) == 0);
    feeder f = {.fd = pfd[1], .p = in, .n = n, .chunk = data[0] ? data[0] : 1};
    if (f.chunk < (n + MAX_CHUNKS - 1) / MAX_CHUNKS)
        f.chunk = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
    f.first = f.chunk;
    /* corpus/csv/bug-bom-split-read: a BOM split over short reads; csvio_open
     * now reads the whole sample before it looks. */
    pthread_t t;
    FUZZ_CHECK(pthread_create(&t, NULL, feed, &f) == 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", pfd[0]);
    read_all(path, in, n, &chunked);
    pthread_join(t, NULL);
    close(pfd[0]);

    FUZZ_CHECK(whole.n == chunked.n && (whole.n == 0 || memcmp(whole.p, chunked.p, whole.n) == 0));
    free(whole.p);
    free(chunked.p);
    return 0;
}
