/* check.c — `mailvet check`: verdicts for addresses given as arguments,
 * as an aligned table or as JSON lines (SPEC "Commands"). The addresses go
 * through the same engine as `clean`'s, on a loop of this thread, with no
 * state file; --verbose prints the engine's session transcripts. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uniwidth.h>

#include <uv.h>

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
    snprintf(buf, len, "%s%s%s%s", r->role ? "role " : "", r->free ? "free " : "",
             r->disposable ? "disposable " : "",
             r->accept_all == TRI_TRUE ? "accept_all " : "");
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
    FILE *trace;
    uv_timer_t watch;
    bool failed, closing;
    uint64_t hosts_tried, hosts_unreachable;   /* port 25, at the end */
} check_run_ctx;

static void on_done(void *ud, const engine_item *it, const result *r)
{
    check_run_ctx *c = ud;
    c->rs[it->row] = *r;
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

/* Verdicts for the addresses that NEED the network, into RS. */
static int verify(const cli_opts *o, const bool *need, const addr *as, result *rs)
{
    check_run_ctx c = {.rs = rs, .trace = o->verbose ? stderr : NULL};
    char err[256];
    if (uv_loop_init(&c.loop) != 0) {
        fprintf(stderr, "mailvet check: cannot start the event loop\n");
        return EXIT_RUNTIME;
    }
    engine_events ev = {.done = on_done, .fatal = on_fatal, .trace = c.trace ? on_trace : NULL,
                        .unreachable = on_unreachable};
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
            engine_item *it = engine_item_screened((uint64_t)i, &rs[i], &as[i]);
            if (!it) {
                fprintf(stderr, "mailvet check: out of memory\n");
                exit(EXIT_RUNTIME);
            }
            engine_add(c.eng, it);
        }
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

/* Screen every address, then verify the ones that need the network. */
static int verify_all(const cli_opts *o, const lists *l, result *rs)
{
    addr_opts ao;
    addr_opts_default(&ao);
    screen *s = screen_new(l, &ao);
    bool *need = calloc((size_t)o->nargs, sizeof *need);
    addr *as = calloc((size_t)o->nargs, sizeof *as);
    if (!s || !need || !as) {
        fprintf(stderr, "mailvet check: out of memory\n");
        screen_free(s);
        free(need);
        free(as);
        return EXIT_RUNTIME;
    }
    bool syntax_only = o->level == LEVEL_SYNTAX, any = false;
    for (int i = 0; i < o->nargs; i++) {
        need[i] = screen_address(s, o->args[i], strlen(o->args[i]), syntax_only, &rs[i], &as[i]) &&
                  !syntax_only;
        any |= need[i];
    }
    int rc = any ? verify(o, need, as, rs) : 0;
    screen_free(s);
    free(need);
    free(as);
    return rc;
}

int check_run(const cli_opts *o, const lists *l)
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
