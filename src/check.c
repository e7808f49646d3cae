/* check.c — `mailvet check`: verdicts for addresses given as arguments,
 * as an aligned table or as JSON lines (SPEC "Commands"). */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uniwidth.h>

#include "json.h"
#include "result.h"
#include "screen.h"
#include "verify.h"

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

/* Screen every address, then verify the ones that need the network. */
static int verify_all(const cli_opts *o, const lists *l, result *rs)
{
    addr_opts ao;
    addr_opts_default(&ao);
    screen *s = screen_new(l, &ao);
    verify_item *items = calloc((size_t)o->nargs, sizeof *items);
    if (!s || !items) {
        fprintf(stderr, "mailvet check: out of memory\n");
        screen_free(s);
        free(items);
        return EXIT_RUNTIME;
    }
    bool syntax_only = o->level == LEVEL_SYNTAX;
    for (int i = 0; i < o->nargs; i++)
        items[i].needs_network = screen_address(s, o->args[i], strlen(o->args[i]), syntax_only,
                                                &items[i].r, &items[i].a) && !syntax_only;
    int rc = syntax_only ? 0 : verify_run(items, (size_t)o->nargs, o, o->verbose ? stderr : NULL, NULL);
    for (int i = 0; i < o->nargs; i++)
        rs[i] = items[i].r;
    screen_free(s);
    free(items);
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
    if (rc == 0 && o->json)
        for (int i = 0; i < o->nargs; i++)
            print_json(o->args[i], &rs[i]);
    else if (rc == 0)
        print_table(o->args, rs, o->nargs);
    fflush(stdout);
    free(rs);
    return rc;
}
