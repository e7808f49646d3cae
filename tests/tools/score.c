/* score.c — compare mailvet's OUTPUT with a world's ground truth.
 *
 *   score OUTPUT.csv TRUTH.csv [--quiet]
 *
 * TRUTH.csv is mailsim's `email,status,reason,determinable,behaviour`.
 * Rows are matched by the input's email cell (the first column named
 * "email", else column 1). Prints the accuracy over determinable rows and
 * each difference; exits 1 when any determinable row differs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvio.h"

typedef struct truth_row {
    char *email, *status, *reason;
    int determinable;
    int seen;
} truth_row;

static truth_row *rows;
static size_t nrows, caprows;

static int cmp_email(const void *a, const void *b)
{
    return strcmp(((const truth_row *)a)->email, ((const truth_row *)b)->email);
}

static int col_of(const csvio_row *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->f[i].p, name) == 0)
            return (int)i;
    return -1;
}

static int load_truth(const char *path)
{
    char err[256];
    csvio_reader *r = csvio_open(path, NULL, err, sizeof err);
    if (!r) {
        fprintf(stderr, "score: %s: %s\n", path, err);
        return -1;
    }
    csvio_row row;
    int e = -1, s = -1, re = -1, d = -1;
    for (int first = 1; csvio_next(r, &row) == 1; first = 0) {
        if (first) {
            e = col_of(&row, "email"), s = col_of(&row, "status");
            re = col_of(&row, "reason"), d = col_of(&row, "determinable");
            continue;
        }
        if (e < 0 || s < 0 || re < 0 || row.n <= (size_t)re)
            continue;
        if (nrows == caprows && !(rows = realloc(rows, (caprows = caprows ? caprows * 2 : 1024) * sizeof *rows)))
            return -1;
        rows[nrows++] = (truth_row){strdup(row.f[e].p), strdup(row.f[s].p), strdup(row.f[re].p),
                                    d < 0 || (size_t)d >= row.n || strcmp(row.f[d].p, "yes") == 0, 0};
    }
    csvio_close(r);
    qsort(rows, nrows, sizeof *rows, cmp_email);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: score OUTPUT.csv TRUTH.csv [--quiet]\n");
        return 2;
    }
    int quiet = argc > 3 && strcmp(argv[3], "--quiet") == 0;
    if (load_truth(argv[2]) != 0)
        return 2;
    char err[256];
    csvio_reader *r = csvio_open(argv[1], NULL, err, sizeof err);
    if (!r) {
        fprintf(stderr, "score: %s: %s\n", argv[1], err);
        return 2;
    }
    csvio_row row;
    int e = 0, s = -1, re = -1;
    unsigned long ok = 0, bad = 0, skipped = 0, unknown = 0;
    for (int first = 1; csvio_next(r, &row) == 1; first = 0) {
        if (first) {
            e = col_of(&row, "email") >= 0 ? col_of(&row, "email") : 0;
            s = col_of(&row, "mailvet_status"), re = col_of(&row, "mailvet_reason");
            if (s < 0 || re < 0) {
                fprintf(stderr, "score: %s has no mailvet_status/mailvet_reason columns\n", argv[1]);
                return 2;
            }
            continue;
        }
        if ((size_t)re >= row.n || (size_t)e >= row.n)
            continue;
        truth_row key = {.email = (char *)row.f[e].p};
        truth_row *t = bsearch(&key, rows, nrows, sizeof *rows, cmp_email);
        if (!t) {
            unknown++;
            continue;
        }
        t->seen = 1;
        if (!t->determinable) {
            skipped++;
            continue;
        }
        if (strcmp(t->status, row.f[s].p) == 0 && strcmp(t->reason, row.f[re].p) == 0) {
            ok++;
        } else {
            bad++;
            if (!quiet || bad <= 20)
                printf("  differs: %s truth %s/%s, mailvet %s/%s\n", t->email, t->status,
                       t->reason, row.f[s].p, row.f[re].p);
        }
    }
    csvio_close(r);
    printf("accuracy: %lu/%lu determinable rows (%.2f%%), %lu not determinable, %lu without truth\n",
           ok, ok + bad, ok + bad ? 100.0 * (double)ok / (double)(ok + bad) : 100.0, skipped, unknown);
    for (size_t i = 0; i < nrows; i++)
        free(rows[i].email), free(rows[i].status), free(rows[i].reason);
    free(rows);
    return bad ? 1 : 0;
}
