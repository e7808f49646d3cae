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

static void row_cells(const char *input, const result *r, char *flags, size_t flen,
                      char *risk, size_t rlen, const char *cells[6])
{
    flags_text(r, flags, flen);
    snprintf(risk, rlen, "%d", r->risk);
    cells[0] = input;
    cells[1] = verdict_status_name(verdict_status_of(r->reason));
    cells[2] = verdict_reason_name(r->reason);
    cells[3] = risk;
    cells[4] = flags;
    cells[5] = r->did_you_mean;
}

static void print_table(char **inputs, const result *rs, int n)
{
    static const char *const head[6] = {"ADDRESS", "STATUS", "REASON", "RISK", "FLAGS", "DID YOU MEAN"};
    int w[6];
    for (int c = 0; c < 6; c++)
        w[c] = text_width(head[c]);
    char flags[64], risk[8];
    const char *cells[6];
    for (int i = 0; i < n; i++) {
        row_cells(inputs[i], &rs[i], flags, sizeof flags, risk, sizeof risk, cells);
        for (int c = 0; c < 6; c++)
            if (text_width(cells[c]) > w[c])
                w[c] = text_width(cells[c]);
    }
    print_line(head, w, 6);
    for (int i = 0; i < n; i++) {
        row_cells(inputs[i], &rs[i], flags, sizeof flags, risk, sizeof risk, cells);
        print_line(cells, w, 6);
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

int check_run(const cli_opts *o, const lists *l)
{
    if (o->level != LEVEL_SYNTAX) {
        fprintf(stderr, "mailvet check: --level %s is not available in this version yet; "
                "use --level syntax\n", o->level == LEVEL_DNS ? "dns" : "smtp");
        return EXIT_USAGE;
    }
    addr_opts ao;
    addr_opts_default(&ao);
    screen *s = screen_new(l, &ao);
    result *rs = calloc((size_t)o->nargs, sizeof *rs);
    if (!s || !rs) {
        fprintf(stderr, "mailvet check: out of memory\n");
        screen_free(s);
        free(rs);
        return EXIT_RUNTIME;
    }
    addr a;
    for (int i = 0; i < o->nargs; i++)
        screen_address(s, o->args[i], strlen(o->args[i]), true, &rs[i], &a);
    if (o->json)
        for (int i = 0; i < o->nargs; i++)
            print_json(o->args[i], &rs[i]);
    else
        print_table(o->args, rs, o->nargs);
    fflush(stdout);
    screen_free(s);
    free(rs);
    return EXIT_DONE;
}
