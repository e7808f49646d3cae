/* merge.c — `mailvet merge OUTPUT.csv STATE…`: the whole list's OUTPUT, in
 * input order, from the state files of the N runs of `clean --shard K/N`.
 *
 * Checks first that the states are one complete set: each made with
 * --shard, all with the same N and the same verdict-changing options, each
 * K exactly once, each finished, all from the same INPUT (size and the
 * SHA-256 of its head), and that INPUT here is that file. Then the shards'
 * result cursors are merged by row number and handed to the output pass
 * (output.c) through clean_merge_output, which reads INPUT's header and
 * column as clean does, so the file is byte for byte what one run writes.
 *
 * Owns the opened states and their cursors.
 */
#include "merge.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "lists.h"
#include "shard.h"
#include "state.h"

#define META_MAX 4096

typedef struct shard_state {
    const char *path;
    state *db;
    state_cursor *cur;
    int k, n;
    char options[META_MAX];          /* without ";shard=K/N" */
    char input[PATH_MAX], size[32], sha[80];
    double elapsed;                  /* the shard's run time (elapsed_s) */
    bool have;                       /* head holds the cursor's next result */
    uint64_t row;
    result r;
} shard_state;

typedef struct merge_ctx {
    shard_state *s;
    size_t n;
    char column[256];
} merge_ctx;

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "mailvet merge: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return EXIT_USAGE;
}

static bool meta(shard_state *s, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    return state_meta_get(s->db, key, buf, len);
}

/* Open one state and read what must agree across shards. */
static int load(shard_state *s)
{
    char err[512], buf[64];
    if (state_open(s->path, NULL, false, &s->db, err, sizeof err) < 0)
        return fail(err, NULL);
    if (!meta(s, "shard", buf, sizeof buf) || !shard_parse(buf, &s->k, &s->n))
        return fail(s->path, "not made with --shard K/N (merge joins the states of sharded runs)");
    if (!meta(s, "finished_at", buf, sizeof buf) || !buf[0]) {
        char msg[160];
        snprintf(msg, sizeof msg, "shard %d/%d is unfinished; rerun its clean command first",
                 s->k, s->n);
        return fail(s->path, msg);
    }
    meta(s, "options", s->options, sizeof s->options);
    char *tag = strstr(s->options, ";shard=");
    if (tag)
        *tag = '\0';
    meta(s, "input_path", s->input, sizeof s->input);
    meta(s, "input_size", s->size, sizeof s->size);
    meta(s, "input_head_sha256", s->sha, sizeof s->sha);
    if (meta(s, "elapsed_s", buf, sizeof buf))
        s->elapsed = strtod(buf, NULL);
    return 0;
}

/* Every shard once, same N, same options, same INPUT. */
static int check_set(merge_ctx *m)
{
    shard_state *a = &m->s[0];
    char msg[512];
    if ((size_t)a->n != m->n) {
        snprintf(msg, sizeof msg, "the shards are %d in all but %zu state file%s given; give "
                 "every shard's state", a->n, m->n, m->n == 1 ? " was" : "s were");
        return fail(msg, NULL);
    }
    for (size_t i = 0; i < m->n; i++) {
        shard_state *b = &m->s[i];
        if (b->n != a->n)
            return fail(b->path, "made with another shard count than the first state");
        if (strcmp(b->options, a->options) != 0)
            return fail(b->path, "made with other options than the first state (compare "
                        "`sqlite3 STATE \"select value from meta where key='options'\"`)");
        if (strcmp(b->size, a->size) != 0 || strcmp(b->sha, a->sha) != 0)
            return fail(b->path, "made from another INPUT than the first state");
        for (size_t j = 0; j < i; j++)
            if (m->s[j].k == b->k) {
                snprintf(msg, sizeof msg, "%s and %s are both shard %d/%d", m->s[j].path,
                         b->path, b->k, b->n);
                return fail(msg, NULL);
            }
    }
    return 0;
}

/* INPUT here must be the file the shards read. */
static int check_input(const merge_ctx *m, const char *input)
{
    state_identity id;
    char err[512], size[32];
    if (state_identify(input, &id, err, sizeof err) != 0)
        return fail(err, NULL);
    snprintf(size, sizeof size, "%llu", (unsigned long long)id.input_size);
    if (strcmp(size, m->s[0].size) != 0 || strcmp(id.head_sha256, m->s[0].sha) != 0)
        return fail(input, "not the INPUT the shards cleaned (size or content differs); "
                    "give the right file with --input");
    return 0;
}

/* The shards' --column, from their options text ("…;column=NAME;…"). */
static const char *column_option(merge_ctx *m)
{
    const char *p = strstr(m->s[0].options, ";column=");
    if (!p)
        return NULL;
    p += strlen(";column=");
    size_t n = strcspn(p, ";");
    snprintf(m->column, sizeof m->column, "%.*s", (int)n, p);
    return strcmp(m->column, "auto") == 0 ? NULL : m->column;
}

/* The shards' --delimiter, from their options text ("…;delimiter=NAME"):
 * without it, INPUT is sniffed again, as each shard did. */
static char delimiter_option(const merge_ctx *m)
{
    static const char *const names[] = {"comma", "semicolon", "tab", "pipe"};
    static const char chars[] = {',', ';', '\t', '|'};
    const char *p = strstr(m->s[0].options, ";delimiter=");
    if (!p)
        return 0;
    p += strlen(";delimiter=");
    for (size_t i = 0; i < sizeof chars; i++)
        if (strncmp(p, names[i], strlen(names[i])) == 0)
            return chars[i];
    return 0;
}

/* The next result in row order across the shards' cursors. */
static int merged_next(void *ud, uint64_t *row, result *r)
{
    merge_ctx *m = ud;
    shard_state *best = NULL;
    for (size_t i = 0; i < m->n; i++) {
        shard_state *s = &m->s[i];
        if (!s->have) {
            int got = state_cursor_next(s->cur, &s->row, &s->r);
            if (got < 0)
                return -1;
            s->have = got == 1;
        }
        if (s->have && (!best || s->row < best->row))
            best = s;
    }
    if (!best)
        return 0;
    *row = best->row;
    *r = best->r;
    best->have = false;
    return 1;
}

static int open_all(merge_ctx *m, const cli_opts *o)
{
    for (size_t i = 0; i < m->n; i++) {
        m->s[i].path = o->args[1 + i];
        int rc = load(&m->s[i]);
        if (rc)
            return rc;
    }
    int rc = check_set(m);
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        if (!(m->s[i].cur = state_results(m->s[i].db)))
            rc = fail(m->s[i].path, "cannot read its results");
    return rc;
}

static int write_merged(merge_ctx *m, const cli_opts *o, const lists *l)
{
    const char *input = o->input ? o->input : m->s[0].input;
    int rc = check_input(m, input);
    if (rc)
        return rc;
    cli_opts mo = *o;
    char *args[1] = {(char *)input};
    mo.args = args;
    mo.nargs = 1;
    mo.output = o->args[0];
    mo.column = column_option(m);
    mo.delimiter = delimiter_option(m);
    mo.shard_k = mo.shard_n = 0;          /* every row must have its result */
    double elapsed = 0;                   /* machine time over every shard */
    for (size_t i = 0; i < m->n; i++)
        elapsed += m->s[i].elapsed;
    return clean_merge_output(&mo, l, "the shards' states", elapsed, merged_next, m);
}

int merge_run(const cli_opts *o, const lists *l)
{
    merge_ctx m = {.n = (size_t)o->nargs - 1};
    if (!(m.s = calloc(m.n, sizeof *m.s)))
        return fail("out of memory", NULL);
    int rc = open_all(&m, o);
    if (rc == 0)
        rc = write_merged(&m, o, l);
    if (rc == 0)
        fprintf(stderr, "mailvet merge: %s written from %zu shards\n", o->args[0], m.n);
    for (size_t i = 0; i < m.n; i++) {
        state_cursor_free(m.s[i].cur);
        state_close(m.s[i].db);
    }
    free(m.s);
    return rc;
}
