/* check.c — `mailvet check`: verdicts for addresses given as arguments,
 * as an aligned table or as JSON lines (SPEC "Commands"). The addresses go
 * through the same engine as `clean`'s, on a loop of this thread, with no
 * state file; --verbose prints the engine's session transcripts. With
 * --cache an address the verdict cache answers is not probed (mailvet_route
 * "cache"), and the others' final verdicts are stored in it. */
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uniwidth.h>

#include <uv.h>

#include "cache.h"
#include "dedup.h"
#include "engine_uv.h"
#include "json.h"
#include "report.h"
#include "result.h"
#include "screen.h"

#define WATCH_MS 20              /* how often the loop looks whether it is done */

static int text_width(const char *s)
{
    int w = u8_strwidth((const uint8_t *)s, "UTF-8");
    return w < 0 ? (int)strlen(s) : w;
}

/* Print CELLS[0..N) padded to WIDTHS, without trailing blanks. */
static void print_line(const char *const *cells, const int *widths, int n)
{
    int last = n - 1;
    while (last > 0 && cells[last][0] == '\0')
        last--;
    for (int c = 0; c <= last; c++) {
        fputs(cells[c], stdout);
        for (int w = text_width(cells[c]); c < last && w < widths[c] + 2; w++)
            fputc(' ', stdout);
    }
    fputc('\n', stdout);
}

static void flags_text(const result *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", r->role ? "role " : "", r->free ? "free " : "",
             r->disposable ? "disposable " : "",
             r->accept_all == TRI_TRUE ? "accept_all " : "", r->duplicate ? "duplicate " : "");
    size_t n = strlen(buf);
    if (n)
        buf[n - 1] = '\0';
}

#define NCOLS 7

static void row_cells(const char *input, const result *r, char *flags, size_t flen,
                      char *risk, size_t rlen, char *reply, size_t plen, const char *cells[NCOLS])
{
    flags_text(r, flags, flen);
    snprintf(risk, rlen, "%d", r->risk);
    if (r->smtp_code)
        snprintf(reply, plen, "%d %s %.60s", r->smtp_code, r->smtp_enhanced, r->smtp_text);
    else
        reply[0] = '\0';
    cells[0] = input;
    cells[1] = verdict_status_name(verdict_status_of(r->reason));
    cells[2] = verdict_reason_name(r->reason);
    cells[3] = risk;
    cells[4] = flags;
    cells[5] = r->did_you_mean;
    cells[6] = reply;
}

static void print_table(char **inputs, const result *rs, int n)
{
    static const char *const head[NCOLS] = {"ADDRESS", "STATUS", "REASON", "RISK", "FLAGS",
                                            "DID YOU MEAN", "SMTP REPLY"};
    int w[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        w[c] = text_width(head[c]);
    char flags[64], risk[8], reply[128];
    const char *cells[NCOLS];
    for (int i = 0; i < n; i++) {
        row_cells(inputs[i], &rs[i], flags, sizeof flags, risk, sizeof risk, reply, sizeof reply, cells);
        for (int c = 0; c < NCOLS; c++)
            if (text_width(cells[c]) > w[c])
                w[c] = text_width(cells[c]);
    }
    bool any_reply = false;
    for (int i = 0; i < n; i++)
        any_reply |= rs[i].smtp_code != 0;
    int ncols = any_reply ? NCOLS : NCOLS - 1;
    print_line(head, w, ncols);
    for (int i = 0; i < n; i++) {
        row_cells(inputs[i], &rs[i], flags, sizeof flags, risk, sizeof risk, reply, sizeof reply, cells);
        print_line(cells, w, ncols);
    }
}

static void print_json(const char *input, const result *r)
{
    char buf[ADDR_BUF];
    fputs("{\"input\":", stdout);
    json_put_string(stdout, input, strlen(input));
    for (int c = 0; c < RESULT_NCOLUMNS; c++) {
        const char *name = result_column_names[c] + strlen("mailvet_");
        size_t len = result_column(r, c, buf, sizeof buf);
        printf(",\"%s\":", name);
        bool bare = result_column_kinds[c] != RESULT_TEXT;
        if (bare && len == 0)
            fputs("null", stdout);
        else if (bare)
            fputs(buf, stdout);
        else
            json_put_string(stdout, buf, len);
    }
    fputs("}\n", stdout);
}

/* ---- the engine, on a loop of our own ---- */

typedef struct check_run_ctx {
    uv_loop_t loop;
    engine_uv *eu;
    engine *eng;
    result *rs;                  /* rs[row]: the verdicts */
    cache_writer *cw;            /* --cache: where they are stored, or NULL */
    FILE *trace;
    uv_timer_t watch;
    bool failed, closing;
    uint64_t hosts_tried, hosts_unreachable;   /* port 25, at the end */
} check_run_ctx;

static void on_done(void *ud, const engine_item *it, const result *r)
{
    check_run_ctx *c = ud;
    c->rs[it->row] = *r;
    cache_put_verdict(c->cw, it->domain, r);
}

static void on_domain(void *ud, const char *domain, result_tri accept_all, const char *mx)
{
    check_run_ctx *c = ud;
    (void)mx;
    cache_put_accept_all(c->cw, domain, accept_all);
}

static void on_fatal(void *ud, const char *why)
{
    check_run_ctx *c = ud;
    if (c->failed)
        return;
    fprintf(stderr, "mailvet: %s; stopped without a verdict for the addresses not yet checked\n",
            why);
    c->failed = true;
    engine_cancel(c->eng);
}

static void on_unreachable(void *ud, uint64_t hosts)
{
    (void)ud;
    engine_uv_warn_unreachable(hosts, "");
}

static void on_trace(void *ud, const char *mx, char dir, const char *line, size_t len)
{
    check_run_ctx *c = ud;
    fprintf(c->trace, "[%s] %c: %.*s\n", mx, dir, (int)len, line);
}

/* Every verdict is in, or the run failed and no session is left: close
 * everything so the loop ends. */
static void on_watch(uv_timer_t *t)
{
    check_run_ctx *c = t->data;
    engine_stats st;
    engine_get_stats(c->eng, &st);
    if (c->closing || (!engine_idle(c->eng) && !c->failed) || st.sessions_active)
        return;
    c->closing = true;
    c->hosts_tried = st.hosts_tried;
    c->hosts_unreachable = st.hosts_unreachable;
    uv_close((uv_handle_t *)&c->watch, NULL);
    engine_uv_close(c->eu);
}

/* What the verdict cache gives verify(): the writer, and for each address
 * its domain's accept-all answer for the engine. */
typedef struct check_cache {
    cache_writer *cw;
    const result_tri *learn;     /* NULL: none */
} check_cache;

/* Verdicts for the addresses that NEED the network, into RS. */
static int verify(const cli_opts *o, const bool *need, const addr *as, result *rs,
                  const check_cache *cc)
{
    check_run_ctx c = {.rs = rs, .cw = cc->cw, .trace = o->verbose ? stderr : NULL};
    char err[256];
    if (uv_loop_init(&c.loop) != 0) {
        fprintf(stderr, "mailvet check: cannot start the event loop\n");
        return EXIT_RUNTIME;
    }
    engine_events ev = {.done = on_done, .domain = c.cw ? on_domain : NULL, .fatal = on_fatal,
                        .trace = c.trace ? on_trace : NULL, .unreachable = on_unreachable};
    if (!(c.eu = engine_uv_new(&c.loop, o, 0, &ev, &c, err, sizeof err))) {
        fprintf(stderr, "mailvet: %s\n", err);
        uv_run(&c.loop, UV_RUN_DEFAULT);
        uv_loop_close(&c.loop);
        return EXIT_USAGE;
    }
    c.eng = engine_uv_engine(c.eu);
    uv_timer_init(&c.loop, &c.watch);
    c.watch.data = &c;
    uv_timer_start(&c.watch, on_watch, 0, WATCH_MS);
    for (int i = 0; i < o->nargs; i++)
        if (need[i]) {
            if (cc->learn && cc->learn[i] != TRI_UNSET)
                engine_learn_domain(c.eng, as[i].ascii_domain, cc->learn[i]);
            engine_item *it = engine_item_screened((uint64_t)i, &rs[i], &as[i]);
            if (!it) {
                fprintf(stderr, "mailvet check: out of memory\n");
                exit(EXIT_RUNTIME);
            }
            engine_add(c.eng, it);
        }
    engine_input_done(c.eng);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    uv_loop_close(&c.loop);
    if (c.failed)
        return EXIT_RUNTIME;
    if (!report_unreachable_many(c.hosts_tried, c.hosts_unreachable))
        return 0;
    fprintf(stderr, "mailvet: %llu of the %llu mail servers tried were unreachable: these verdicts "
            "are unreliable (exit code 3); run `mailvet doctor`\n",
            (unsigned long long)c.hosts_unreachable, (unsigned long long)c.hosts_tried);
    return EXIT_UNREACHABLE;
}

/* DUP[i] = the first argument of the same mailbox as argument i, or -1;
 * false when out of memory. */
static bool find_duplicates(int n, const result *rs, const addr *as, int *dup)
{
    dedup *d = dedup_new(0);
    char key[DEDUP_KEY_MAX];
    for (int i = 0; d && i < n; i++) {
        uint64_t first;
        size_t len = rs[i].email[0] ? dedup_key(&as[i], key, sizeof key) : 0;
        dup[i] = len && dedup_seen(d, key, len, (uint64_t)i, &first) ? (int)first : -1;
    }
    bool ok = d != NULL;
    dedup_free(d);
    return ok;
}

/* R, a later argument of FIRST's mailbox, takes FIRST's verdict; its own
 * address fields stay. */
static void take_verdict(result *r, const result *first)
{
    result own = *r;
    *r = *first;
    memcpy(r->email, own.email, sizeof r->email);
    memcpy(r->did_you_mean, own.did_you_mean, sizeof r->did_you_mean);
    r->attempts = 0;             /* never asked */
    r->duplicate = true;
}

/* --cache: look up every address that NEEDs the network; one the cache
 * answers needs it no more. LEARN gets the accept-all answers for the
 * engine. 0, or an exit code (a refused cache file). */
static int cache_answers(const cli_opts *o, bool *need, const addr *as, result *rs,
                         result_tri *learn, check_cache *cc, cache **out)
{
    char err[1024];
    cache *ch = NULL;
    if (cache_open(o->cache, CACHE_OPEN_CREATE | CACHE_OPEN_WRITE, &ch, err, sizeof err) != 0) {
        fprintf(stderr, "mailvet check: %s\n", err);
        return EXIT_USAGE;
    }
    *out = ch;
    uint64_t token = 0;
    while (!token)
        if (getrandom(&token, sizeof token, 0) != (ssize_t)sizeof token)
            token = 0;
    cache_run run = {.max_age = o->max_age, .smtp = o->level == LEVEL_SMTP,
                     .allow_private_mx = o->allow_private_mx, .batch = (int64_t)token};
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < o->nargs; i++) {
        learn[i] = TRI_UNSET;
        if (!need[i])
            continue;
        if (cache_lookup(ch, &run, &rs[i], &as[i], now, &learn[i]))
            need[i] = false;
    }
    cache_end_reads(ch);
    cc->learn = learn;
    if (!(cc->cw = cache_writer_start(ch, &run, err, sizeof err))) {
        fprintf(stderr, "mailvet check: cannot write the verdict cache: %s\n", err);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Screen every address, then verify the ones that need the network, each
 * mailbox once (and none the verdict cache answers). */
static int verify_all(const cli_opts *o, const lists *l, result *rs)
{
    addr_opts ao;
    addr_opts_default(&ao);
    screen *s = screen_new(l, &ao);
    bool *need = calloc((size_t)o->nargs, sizeof *need);
    addr *as = calloc((size_t)o->nargs, sizeof *as);
    int *dup = calloc((size_t)o->nargs, sizeof *dup);
    result_tri *learn = calloc((size_t)o->nargs, sizeof *learn);
    if (!s || !need || !as || !dup || !learn) {
        fprintf(stderr, "mailvet check: out of memory\n");
        screen_free(s);
        free(need);
        free(as);
        free(dup);
        free(learn);
        return EXIT_RUNTIME;
    }
    bool syntax_only = o->level == LEVEL_SYNTAX, any = false;
    for (int i = 0; i < o->nargs; i++)
        need[i] = screen_address(s, o->args[i], strlen(o->args[i]), syntax_only, &rs[i], &as[i]) &&
                  !syntax_only;
    int rc = 0;
    if (!find_duplicates(o->nargs, rs, as, dup)) {
        fprintf(stderr, "mailvet check: out of memory\n");
        rc = EXIT_RUNTIME;
    }
    for (int i = 0; i < o->nargs; i++)
        need[i] = need[i] && dup[i] < 0;     /* one probe per mailbox */
    check_cache cc = {0};
    cache *ch = NULL;
    if (rc == 0 && o->cache)
        rc = cache_answers(o, need, as, rs, learn, &cc, &ch);
    for (int i = 0; i < o->nargs; i++)
        any |= need[i];
    if (rc == 0 && any)
        rc = verify(o, need, as, rs, &cc);
    for (int i = 0; rc == 0 && i < o->nargs; i++)
        if (dup[i] >= 0)
            take_verdict(&rs[i], &rs[dup[i]]);
    cache_writer_stop(cc.cw);
    cache_close(ch);
    screen_free(s);
    free(need);
    free(as);
    free(dup);
    free(learn);
    return rc;
}

/* ---- `check -`: addresses from standard input ---- */

#define STDIN_LINE_MAX 1024           /* an address is at most 320 bytes, plus spaces */
#define STDIN_MAX 100000              /* more is a list: mailvet clean streams it */

typedef struct arglist {
    char **v;
    int n, cap;
} arglist;

static bool arg_push(arglist *a, char *s)
{
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return false;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    return true;
}

/* One address a line, surrounding spaces and blank lines skipped. */
static int read_stdin(arglist *a)
{
    char line[STDIN_LINE_MAX + 2];
    unsigned long no = 0;
    while (fgets(line, sizeof line, stdin)) {
        no++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            fprintf(stderr, "mailvet check: standard input, line %lu: longer than %d bytes "
                    "(one address a line)\n", no, STDIN_LINE_MAX);
            return EXIT_USAGE;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        while (n && strchr(" \t\r\n", line[n - 1]))
            line[--n] = '\0';
        if (!*p)
            continue;
        if (a->n >= STDIN_MAX) {
            fprintf(stderr, "mailvet check: standard input: more than %d addresses; use "
                    "mailvet clean for a list\n", STDIN_MAX);
            return EXIT_USAGE;
        }
        char *copy = strdup(p);
        if (!copy || !arg_push(a, copy)) {
            free(copy);
            fprintf(stderr, "mailvet check: out of memory\n");
            return EXIT_RUNTIME;
        }
    }
    if (ferror(stdin)) {
        fprintf(stderr, "mailvet check: standard input: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* O's arguments with each "-" replaced by the lines of standard input. */
static int expand_args(const cli_opts *o, arglist *a)
{
    int rc = 0;
    bool read = false;                    /* a second "-" finds stdin at its end */
    for (int i = 0; rc == 0 && i < o->nargs; i++) {
        if (strcmp(o->args[i], "-") != 0) {
            if (!arg_push(a, o->args[i])) {
                fprintf(stderr, "mailvet check: out of memory\n");
                rc = EXIT_RUNTIME;
            }
        } else if (!read) {
            read = true;
            rc = read_stdin(a);
        }
    }
    return rc;
}

static void free_args(arglist *a, const cli_opts *o)
{
    for (int i = 0; i < a->n; i++) {
        bool from_argv = false;
        for (int k = 0; k < o->nargs && !from_argv; k++)
            from_argv = a->v[i] == o->args[k];
        if (!from_argv)
            free(a->v[i]);
    }
    free(a->v);
}

static int check_args(const cli_opts *o, const lists *l);

int check_run(const cli_opts *o, const lists *l)
{
    bool has_stdin = false;
    for (int i = 0; i < o->nargs; i++)
        has_stdin |= strcmp(o->args[i], "-") == 0;
    if (!has_stdin)
        return check_args(o, l);
    arglist a = {0};
    int rc = expand_args(o, &a);
    if (rc == 0 && a.n == 0) {
        fprintf(stderr, "mailvet check: standard input held no address\n");
        rc = EXIT_USAGE;
    }
    if (rc == 0) {
        cli_opts copy = *o;
        copy.args = a.v;
        copy.nargs = a.n;
        rc = check_args(&copy, l);
    }
    free_args(&a, o);
    return rc;
}

static int check_args(const cli_opts *o, const lists *l)
{
    result *rs = calloc((size_t)o->nargs, sizeof *rs);
    if (!rs) {
        fprintf(stderr, "mailvet check: out of memory\n");
        return EXIT_RUNTIME;
    }
    int rc = verify_all(o, l, rs);
    bool verdicts = rc == 0 || rc == EXIT_UNREACHABLE;   /* made, if unreliable */
    if (verdicts && o->json)
        for (int i = 0; i < o->nargs; i++)
            print_json(o->args[i], &rs[i]);
    else if (verdicts)
        print_table(o->args, rs, o->nargs);
    fflush(stdout);
    free(rs);
    return rc;
}
