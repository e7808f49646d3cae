/* report_html.c — the report as one self-contained HTML page with inline
 * CSS and SVG charts, no external assets (report_write_html). Every string
 * from the state file is HTML-escaped, in text and attribute values alike. */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cache_policy.h"
#include "str.h"

static const char *const status_color[NSTATUS] = {"#1f9d55", "#d64545", "#e09b00", "#8a94a6"};
static const char *const status_label[NSTATUS] = {"Deliverable", "Undeliverable", "Risky",
                                                  "Unknown"};

/* Escape for HTML text and attribute values. */
static void h(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if ((unsigned char)*s < 0x20 || *s == 0x7f)
                fputc(' ', out);
            else
                fputc(*s, out);
        }
    }
}

/* A long name in a chart label: cut at MAX bytes (on a UTF-8 boundary). */
static void h_short(FILE *out, const char *s, size_t max)
{
    char buf[REPORT_NAME_MAX];
    if (strlen(s) <= max) {
        h(out, s);
        return;
    }
    str_copy_utf8(buf, max + 1 < sizeof buf ? max + 1 : sizeof buf, s);
    h(out, buf);
    fputs("…", out);
}

static const char html_css[] =
    ":root{--ink:#1d2433;--muted:#5b6577;--line:#e3e7ee;--bg:#f4f6fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'Helvetica Neue',Arial,'Noto Sans','Liberation Sans',sans-serif}"
    "main{max-width:1100px;margin:0 auto;padding:28px 24px 40px}"
    "header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;"
    "flex-wrap:wrap;margin-bottom:18px}"
    ".eyebrow{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);"
    "font-weight:600}"
    "h1{font-size:26px;margin:2px 0 4px;word-break:break-all}"
    "h2{font-size:17px;margin:0 0 4px}"
    ".sub,.note{color:var(--muted);font-size:13px}"
    ".note{margin:0 0 12px}"
    ".banner{background:#fff6e0;border:1px solid #f0cf7a;color:#6b4d00;border-radius:10px;"
    "padding:10px 14px;margin-bottom:16px;font-weight:600}"
    ".kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-bottom:16px}"
    ".kpi,.card{background:#fff;border:1px solid var(--line);border-radius:12px;"
    "box-shadow:0 1px 2px rgba(16,24,40,.05)}"
    ".kpi{padding:14px 16px}"
    ".kpi b{display:block;font-size:28px;line-height:1.2;font-variant-numeric:tabular-nums}"
    ".kpi span{color:var(--muted);font-size:13px}"
    ".kpi.good b{color:#1f7a45}.kpi.bad b{color:#b83232}"
    ".card{padding:18px 20px;margin-bottom:16px;break-inside:avoid}"
    ".row{display:grid;grid-template-columns:280px 1fr;gap:24px;align-items:center}"
    ".two{display:grid;grid-template-columns:1fr 1fr;gap:16px}"
    "table{width:100%;border-collapse:collapse;font-size:14px;font-variant-numeric:tabular-nums}"
    "th{text-align:left;color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;"
    "letter-spacing:.04em;border-bottom:1px solid var(--line);padding:6px 8px}"
    "td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}"
    "tr:last-child td{border-bottom:0}"
    "td.n,th.n{text-align:right;white-space:nowrap}.nw{white-space:nowrap}"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:8px;"
    "vertical-align:-1px}"
    ".reply{font:12.5px/1.45 ui-monospace,'SFMono-Regular',Menlo,Consolas,'DejaVu Sans Mono',"
    "monospace;background:#f6f7f9;border:1px solid var(--line);border-radius:6px;padding:6px 8px;"
    "word-break:break-word;margin-top:4px}"
    ".tag{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;"
    "letter-spacing:.05em;border-radius:999px;padding:1px 8px;background:#fde8e8;color:#9b2c2c}"
    ".tag.timeout{background:#eef0f4;color:#4a5568}"
    ".fix{font-size:13.5px}"
    "svg{display:block;max-width:100%;height:auto}"
    "svg text{font-family:inherit}"
    "footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}"
    "@media (max-width:760px){.kpis{grid-template-columns:1fr 1fr}.row,.two{grid-template-columns:1fr}}"
    "@media print{@page{margin:14mm}body{background:#fff;font-size:12px}"
    "main{max-width:none;padding:0}.kpi,.card{box-shadow:none;border-color:#bbb}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "h2{break-after:avoid}tr{break-inside:avoid}}";

static void html_head(const report *r, FILE *out)
{
    const char *name = r->input_path[0] ? report_base_name(r->input_path) : report_base_name(r->state_path);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<meta name=\"generator\" content=\"mailvet " MAILVET_VERSION "\">"
          "<title>mailvet report \xE2\x80\x94 ", out);
    h(out, name);
    fprintf(out, "</title>\n<style>%s</style></head>\n<body><main>\n", html_css);
}

static void html_header(const report *r, FILE *out)
{
    char b1[40], b2[48], b3[48], b4[32];
    const char *name = r->input_path[0] ? report_base_name(r->input_path) : report_base_name(r->state_path);
    fputs("<header><div><div class=\"eyebrow\">Email list report</div><h1>", out);
    h(out, name);
    fputs("</h1><div class=\"sub\">", out);
    if (r->input_path[0] && strcmp(name, r->input_path) != 0) {
        h(out, r->input_path);
        fputs(" &middot; ", out);
    }
    fprintf(out, "%s rows &middot; checked at level ", report_num(b4, r->done));
    h(out, r->level[0] ? r->level : "?");
    fputs("</div></div>", out);
    fprintf(out, "<div class=\"sub\" style=\"text-align:right\">%s %s<br>"
            "elapsed %s &middot; %s</div></header>\n",
            r->finished ? "Finished" : "Last update",
            report_date_text(b1, r->finished ? r->finished_at : r->updated_at),
            report_duration(b2, r->elapsed), report_rate_text(b3, r));
    if (r->finished)
        return;
    fputs("<div class=\"banner\" id=\"unfinished\">Unfinished batch: ", out);
    if (r->total_known)
        fprintf(out, "%s of %s rows done (%.1f%%).", report_num(b4, r->done),
                report_num((char[32]){0}, r->rows_total), report_pct(r->done, r->rows_total));
    else
        fprintf(out, "%s rows done so far (total not known yet).", report_num(b4, r->done));
    if (r->retry_waiting)
        fprintf(out, " %s rows are waiting for a retry.", report_num(b4, r->retry_waiting));
    fputs(" Figures cover the finished rows only.</div>\n", out);
}

static void html_kpis(const report *r, FILE *out)
{
    char b[32];
    uint64_t d = r->by_status[VERDICT_DELIVERABLE];
    fprintf(out, "<section class=\"kpis\"><div class=\"kpi\"><span>Rows checked</span>"
            "<b id=\"rows\">%s</b><span>%s</span></div>", report_num(b, r->done),
            r->finished ? "whole list" : "so far");
    fprintf(out, "<div class=\"kpi good\"><span>Deliverable</span><b id=\"deliverable\">%.1f%%"
            "</b><span>%s addresses safe to mail</span></div>", report_pct(d, r->done), report_num(b, d));
    if (report_bounce_measured(r))
        fprintf(out, "<div class=\"kpi bad\"><span>Bounce rate: all rows</span>"
                "<b id=\"bounce-all\">%.1f%%</b><span>at least %.1f%% certain</span></div>",
                report_bounce_all(r), report_bounce_min(r));
    else
        fprintf(out, "<div class=\"kpi bad\"><span>Bounce rate: all rows</span>"
                "<b id=\"bounce-all\">not measured</b><span>no SMTP check; at least %.1f%% "
                "certain</span></div>", report_bounce_min(r));
    if (d)
        fprintf(out, "<div class=\"kpi good\"><span>Bounce rate: deliverable only"
                "</span><b id=\"bounce-deliverable\">%.1f%%</b><span>estimated</span></div>",
                report_bounce_deliverable(r));
    else
        fputs("<div class=\"kpi\"><span>Bounce rate: deliverable only</span>"
              "<b id=\"bounce-deliverable\">n/a</b><span>no deliverable rows</span></div>", out);
    fputs("</section>\n", out);
}

/* The status donut: one stroked circle per status, labelled in place with
 * its percentage so the chart reads printed in black and white too. */
static void svg_donut(const report *r, FILE *out)
{
    const double cx = 120, cy = 120, rad = 86, w = 40, circ = 2 * M_PI * rad;
    char b[32];
    fprintf(out, "<svg viewBox=\"0 0 240 240\" width=\"240\" height=\"240\" role=\"img\" "
            "aria-label=\"Rows by status\"><circle cx=\"%g\" cy=\"%g\" r=\"%g\" fill=\"none\" "
            "stroke=\"#eef0f4\" stroke-width=\"%g\"/>", cx, cy, rad, w);
    double start = 0;
    for (int s = 0; s < NSTATUS && r->done; s++) {
        double len = circ * (double)r->by_status[s] / (double)r->done;
        if (len <= 0)
            continue;
        fprintf(out, "<circle cx=\"%g\" cy=\"%g\" r=\"%g\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"%g\" stroke-dasharray=\"%.3f %.3f\" stroke-dashoffset=\"%.3f\" "
                "transform=\"rotate(-90 %g %g)\"><title>%s</title></circle>", cx, cy, rad,
                status_color[s], w, len, circ - len, -start, cx, cy, status_label[s]);
        start += len;
    }
    start = 0;
    for (int s = 0; s < NSTATUS && r->done; s++) {
        double share = (double)r->by_status[s] / (double)r->done;
        double mid = 2 * M_PI * (start + share / 2) - M_PI / 2;
        start += share;
        if (share < 0.045)      /* too thin to hold a label; the legend has it */
            continue;
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" dominant-baseline="
                "\"central\" font-size=\"13\" font-weight=\"700\" fill=\"#fff\" stroke=\"#0006\" "
                "stroke-width=\"0.6\" paint-order=\"stroke\">%.0f%%</text>",
                cx + rad * cos(mid), cy + rad * sin(mid), 100 * share);
    }
    fprintf(out, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\" font-size=\"26\" "
            "font-weight=\"700\" fill=\"#1d2433\">%s</text><text x=\"%g\" y=\"%g\" "
            "text-anchor=\"middle\" font-size=\"12\" fill=\"#5b6577\">rows</text></svg>",
            cx, cy + 4, report_num(b, r->done), cx, cy + 22);
}

static void html_status(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Verdicts</h2><p class=\"note\">Every row gets one of four "
          "statuses. Mail the deliverable ones; drop the undeliverable ones.</p><div class=\"row\">",
          out);
    svg_donut(r, out);
    fputs("<table id=\"status\"><tr><th>Status</th><th class=\"n\">Rows</th><th class=\"n\">Share"
          "</th><th>What it means</th></tr>", out);
    static const char *const meaning[NSTATUS] = {
        "the mailbox accepted the address: safe to mail",
        "certain to bounce: remove from the list",
        "may bounce: catch-all domains, full mailboxes, throwaway addresses",
        "no firm answer: servers refused, timed out or failed",
    };
    for (int s = 0; s < NSTATUS; s++)
        fprintf(out, "<tr><td class=\"nw\"><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
                "<td class=\"n\">%s</td><td class=\"n\">%.1f%%</td><td class=\"sub\">%s</td></tr>",
                status_color[s], status_label[s], report_num(b, r->by_status[s]),
                report_pct(r->by_status[s], r->done), meaning[s]);
    fputs("</table></div></section>\n", out);
}

/* Two bars: the bounce rate of mailing everything vs only deliverable
 * rows, against the 2% that mailbox providers and ESPs treat as a warning. */
static void html_bounce(const report *r, FILE *out)
{
    double minimum = report_bounce_min(r), del = report_bounce_deliverable(r);
    double all = report_bounce_measured(r) ? report_bounce_all(r) : minimum;   /* no guess */
    double scale = all > 7 ? all * 1.6 : 11.0;    /* percent at the right edge: room for labels */
    const double x0 = 210, wmax = 560;
    fputs("<section class=\"card\"><h2>Expected bounce rate</h2><p class=\"note\">Estimated as "
          "the average bounce risk (mailvet_risk) of the rows you mail: undeliverable rows count "
          "100%, risky and unknown rows their estimated risk, so they add uncertainty. Keep "
          "campaigns under about 2%.</p>", out);
    fprintf(out, "<svg viewBox=\"0 0 860 118\" role=\"img\" aria-label=\"Expected bounce rate\">");
    struct { const char *label; double v, floor; const char *color; } bars[2] = {
        {"Mail every row", all, minimum, "#d64545"},
        {"Mail deliverable only", del, 0, "#1f9d55"},
    };
    for (int i = 0; i < 2; i++) {
        double y = 14 + i * 46, wv = wmax * bars[i].v / scale, wf = wmax * bars[i].floor / scale;
        bool na = i == 1 && !r->by_status[VERDICT_DELIVERABLE];
        fprintf(out, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\" font-size=\"14\" "
                "font-weight=\"600\" fill=\"#1d2433\">%s</text>", x0 - 12, y + 19, bars[i].label);
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"28\" rx=\"5\" fill=\"#eef0f4\"/>",
                x0, y, wmax);
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"28\" rx=\"5\" fill=\"%s\" "
                "fill-opacity=\"0.45\"/>", x0, y, wv, bars[i].color);
        if (wf > 0)
            fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"28\" rx=\"5\" "
                    "fill=\"%s\"/>", x0, y, wf, bars[i].color);
        if (na) {
            fprintf(out, "<text x=\"%g\" y=\"%g\" font-size=\"14\" fill=\"#5b6577\">n/a "
                    "(no deliverable rows)</text>", x0 + 10, y + 19);
            continue;
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%g\" font-size=\"15\" font-weight=\"700\" "
                "fill=\"#1d2433\">%.1f%%<tspan font-size=\"12\" font-weight=\"400\" "
                "fill=\"#5b6577\">", x0 + wv + 8, y + 19, bars[i].v);
        if (i == 0)
            fprintf(out, " &#160;at least %.1f%% certain", minimum);
        else
            fprintf(out, " &#160;%s rows", report_num((char[32]){0}, r->by_status[VERDICT_DELIVERABLE]));
        fputs("</tspan></text>", out);
    }
    double x2 = x0 + wmax * 2.0 / scale;
    fprintf(out, "<line x1=\"%.1f\" y1=\"6\" x2=\"%.1f\" y2=\"104\" stroke=\"#1d2433\" "
            "stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"114\" "
            "font-size=\"11\" fill=\"#5b6577\" text-anchor=\"middle\">2%%</text></svg></section>\n",
            x2, x2, x2);
}

/* Horizontal bars, one per reason present, coloured by its status. */
static void html_reasons(const report *r, FILE *out)
{
    int order[REASON__COUNT], n = 0;
    for (int i = 0; i < REASON__COUNT; i++)
        if (r->by_reason[i])
            order[n++] = i;
    for (int i = 1; i < n; i++)          /* insertion sort: by rows, descending */
        for (int j = i; j > 0 && r->by_reason[order[j]] > r->by_reason[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    uint64_t max = n ? r->by_reason[order[0]] : 1;
    const double x0 = 250, wmax = 470, rowh = 34;
    char b[32];
    fputs("<section class=\"card\"><h2>Reasons</h2><p class=\"note\">Why each row got its status "
          "(the mailvet_reason column).</p>", out);
    fprintf(out, "<svg id=\"reasons\" viewBox=\"0 0 860 %g\" role=\"img\" aria-label=\"Rows by "
            "reason\">", n * rowh + 4);
    for (int k = 0; k < n; k++) {
        int i = order[k];
        double y = k * rowh + 4, w = wmax * (double)r->by_reason[i] / (double)max;
        verdict_status s = verdict_status_of((verdict_reason)i);
        fprintf(out, "<text x=\"0\" y=\"%g\" font-size=\"13.5\" font-weight=\"600\" "
                "fill=\"#1d2433\">%s</text><text x=\"0\" y=\"%g\" font-size=\"11\" "
                "fill=\"#5b6577\">%s &middot; %s</text>", y + 12, verdict_reason_name(i), y + 26,
                verdict_status_name(s), report_reason_help[i]);
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"20\" rx=\"4\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%g\" font-size=\"13\" fill=\"#1d2433\">"
                "<tspan font-weight=\"700\">%s</tspan> &#160;%.1f%%</text>",
                x0, y + 4, w < 2 ? 2 : w, status_color[s], x0 + (w < 2 ? 2 : w) + 8, y + 19,
                report_num(b, r->by_reason[i]), report_pct(r->by_reason[i], r->done));
    }
    fputs("</svg></section>\n", out);
}

static void svg_legend(FILE *out, double y)
{
    double x = 250;
    for (int s = 0; s < NSTATUS; s++) {
        fprintf(out, "<rect x=\"%g\" y=\"%g\" width=\"12\" height=\"12\" rx=\"3\" fill=\"%s\"/>"
                "<text x=\"%g\" y=\"%g\" font-size=\"12.5\" fill=\"#1d2433\">%s</text>",
                x, y, status_color[s], x + 17, y + 10.5, status_label[s]);
        x += 40 + 8.2 * (double)strlen(status_label[s]);
    }
}

/* Stacked bars for the top domains, scaled to the biggest one. */
static void html_domains(const report *r, FILE *out)
{
    if (!r->ntop)
        return;
    const double x0 = 250, wmax = 470, rowh = 32;
    char b[32];
    fputs("<section class=\"card\"><h2>Top domains</h2><p class=\"note\">The domains with the "
          "most rows and how their addresses fared.</p>", out);
    fprintf(out, "<svg id=\"domains\" viewBox=\"0 0 860 %g\" role=\"img\" aria-label=\"Top "
            "domains by status\">", r->ntop * rowh + 34);
    svg_legend(out, 2);
    for (size_t i = 0; i < r->ntop; i++) {
        const report_domain *d = &r->top[i];
        double y = 30 + i * rowh, x = x0;
        fputs("<text x=\"0\" y=\"", out);
        fprintf(out, "%g\" font-size=\"13.5\" fill=\"#1d2433\">", y + 16);
        h_short(out, d->name, 32);
        fputs("</text>", out);
        for (int s = 0; s < NSTATUS; s++) {
            double w = wmax * (double)d->by_status[s] / (double)r->top[0].rows;
            if (w <= 0)
                continue;
            fprintf(out, "<rect x=\"%.1f\" y=\"%g\" width=\"%.1f\" height=\"22\" fill=\"%s\">"
                    "<title>%s: %" PRIu64 "</title></rect>", x, y, w, status_color[s],
                    status_label[s], d->by_status[s]);
            if (w >= 26)
                fprintf(out, "<text x=\"%.1f\" y=\"%g\" font-size=\"11.5\" font-weight=\"700\" "
                        "fill=\"#fff\" text-anchor=\"middle\">%" PRIu64 "</text>", x + w / 2,
                        y + 15, d->by_status[s]);
            x += w;
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%g\" font-size=\"13\" font-weight=\"700\" "
                "fill=\"#1d2433\">%s</text>", x + 8, y + 16, report_num(b, d->rows));
    }
    fputs("</svg></section>\n", out);
}

static void html_accept_all(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Accept-all domains</h2><p class=\"note\">These servers "
          "accept any address, even made-up ones, so a mailbox cannot be confirmed. Their rows "
          "are risky: send to them carefully, or only to recently engaged contacts.</p>", out);
    if (!r->accept_all_total) {
        fputs("<p class=\"sub\">None found.</p></section>\n", out);
        return;
    }
    fputs("<table id=\"accept-all\"><tr><th>Domain</th><th class=\"n\">Rows</th></tr>", out);
    for (size_t i = 0; i < r->naccept_all; i++) {
        fputs("<tr><td>", out);
        h(out, r->accept_all[i].name);
        fprintf(out, "</td><td class=\"n\">%s</td></tr>", report_num(b, r->accept_all[i].rows));
    }
    if (r->accept_all_total > r->naccept_all)
        fprintf(out, "<tr><td class=\"sub\" colspan=\"2\">and %s more</td></tr>",
                report_num(b, r->accept_all_total - r->naccept_all));
    fputs("</table></section>\n", out);
}

static void html_flags(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Flags and run</h2><p class=\"note\">Flags raise the bounce "
          "risk but do not change the status.</p><table id=\"flags\">", out);
    fprintf(out, "<tr><td>Role addresses (info@, sales@, …)</td><td class=\"n\">%s</td></tr>",
            report_num(b, r->role));
    fprintf(out, "<tr><td>Free providers</td><td class=\"n\">%s</td></tr>", report_num(b, r->free));
    fprintf(out, "<tr><td>Disposable domains</td><td class=\"n\">%s</td></tr>",
            report_num(b, r->disposable));
    fprintf(out, "<tr><td>Likely typos (did you mean…)</td><td class=\"n\">%s</td></tr>",
            report_num(b, r->typos));
    fprintf(out, "<tr><td>Duplicates (same mailbox as an earlier row; not probed again)</td>"
            "<td class=\"n\" id=\"duplicates\">%s</td></tr>", report_num(b, r->duplicates));
    if (r->cache_rows) {
        char a1[32], a2[32];
        fprintf(out, "<tr><td>From the verdict cache (not probed again)</td>"
                "<td class=\"n\" id=\"cache_rows\">%s</td></tr>", report_num(b, r->cache_rows));
        fprintf(out, "<tr><td>Age of the cached answers when the batch started (median / "
                "oldest)</td><td class=\"n\" id=\"cache_age\">%s / %s</td></tr>",
                cache_age_text(r->cache_age_median, a1), cache_age_text(r->cache_age_oldest, a2));
    }
    if (r->retries_used >= 0)
        fprintf(out, "<tr><td>Retries used (greylisting, 4xx)</td>"
                "<td class=\"n\" id=\"retries\">%s</td></tr>", report_num(b, (uint64_t)r->retries_used));
    char d1[40], d2[48], d3[48];
    fprintf(out, "<tr><td>Started</td><td class=\"n\">%s</td></tr>",
            report_date_text(d1, r->started_at));
    fprintf(out, "<tr><td>Elapsed</td><td class=\"n\" id=\"elapsed\">%s</td></tr><tr><td>Rate"
            "</td><td class=\"n\" id=\"rate\">%s</td></tr>", report_duration(d2, r->elapsed),
            report_rate_text(d3, r));
    fputs("</table></section>\n", out);
}

static void html_host(const report_host *h_, FILE *out)
{
    char b[32];
    fputs("<tr><td><b>", out);
    h(out, h_->host);
    fputs("</b><br><span class=\"sub\">", out);
    h(out, h_->ip);
    fprintf(out, "</span></td><td><span class=\"tag%s\">%s</span><br><span class=\"sub\">",
            h_->problem == PROBLEM_TIMEOUT ? " timeout" : "",
            h_->problem == PROBLEM_BLOCKLIST ? "blocklisted"
            : h_->problem == PROBLEM_RDNS ? "needs rDNS"
            : h_->problem == PROBLEM_TIMEOUT ? "timed out"
            : h_->problem == PROBLEM_UNREACHABLE ? "never connected" : "refused");
    if (h_->blocks)
        fprintf(out, "%" PRId64 " blocked ", h_->blocks);
    if (h_->timeouts)
        fprintf(out, "%" PRId64 " timed out ", h_->timeouts);
    fprintf(out, "of %" PRId64 " sessions</span></td><td class=\"n\">%s</td><td>",
            h_->sessions, report_num(b, h_->rows_unknown));
    if (h_->last_code || h_->last_text[0]) {
        fputs("<div class=\"reply\">", out);
        if (h_->last_code)
            fprintf(out, "%" PRId64 " ", h_->last_code);
        h(out, h_->last_enhanced);
        fputs(h_->last_enhanced[0] ? " " : "", out);
        h(out, h_->last_text);
        fputs("</div>", out);
    } else {
        fputs("<span class=\"sub\">no reply before the timeout</span>", out);
    }
    fprintf(out, "<div class=\"fix\"><b>What to do:</b> %s</div></td></tr>",
            report_problem_hints[h_->problem]);
}

static void html_hosts(const report *r, FILE *out)
{
    char b[32];
    fputs("<section class=\"card\"><h2>Servers that blocked or timed out the verifier</h2>"
          "<p class=\"note\">These refused the checking server itself, not the mailbox, so their "
          "rows stay unknown. The fix is on your side: your IP, its reverse DNS, or patience.</p>",
          out);
    if (!r->hosts_total) {
        fputs("<p class=\"sub\">None: no server blocked or timed out the verifier.</p>"
              "</section>\n", out);
        return;
    }
    fputs("<table id=\"hosts\"><tr><th style=\"width:25%\">Mail server</th><th style=\"width:15%\">"
          "Problem</th><th class=\"n\" style=\"width:8%\">Rows</th><th>Last reply and what to "
          "do</th></tr>", out);
    for (size_t i = 0; i < r->nhosts; i++)
        html_host(&r->hosts[i], out);
    if (r->hosts_total > r->nhosts)
        fprintf(out, "<tr><td class=\"sub\" colspan=\"4\">and %s more (see --format json)</td>"
                "</tr>", report_num(b, r->hosts_total - r->nhosts));
    fputs("</table></section>\n", out);
}

/* Sessions per operator and what hosts taught the engine (shown when any). */
static void html_providers(const report *r, FILE *out)
{
    char b1[32], b2[32], b3[32], b4[32];
    if (!r->nproviders && !r->nlearned)
        return;
    fputs("<section class=\"card\"><h2>Mail providers</h2><p class=\"note\">Operators of "
          "several MX hosts (the registrable domain of their names); --per-provider caps the "
          "connections to each at once.</p>", out);
    if (r->nproviders)
        fputs("<table id=\"providers\"><tr><th>Provider</th><th class=\"n\">Hosts</th>"
              "<th class=\"n\">Sessions</th><th class=\"n\">Connections</th>"
              "<th class=\"n\">Blocks</th></tr>", out);
    for (size_t i = 0; i < r->nproviders; i++) {
        const report_provider *p = &r->providers[i];
        fputs("<tr><td>", out);
        h(out, p->name);
        fprintf(out, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s"
                "</td><td class=\"n\">%s</td></tr>", report_num(b1, p->hosts),
                report_num(b2, p->sessions), report_num(b3, p->connects),
                report_num(b4, p->blocks));
    }
    if (r->nproviders)
        fputs("</table>", out);
    if (r->nlearned) {
        fprintf(out, "<p class=\"note\">Learned from hosts: %s recipients-per-session caps, %s "
                "STARTTLS failures asked again in cleartext.</p><ul id=\"learned\">",
                report_num(b1, r->rcpt_caps_learned), report_num(b2, r->tls_fallbacks));
        for (size_t i = 0; i < r->nlearned; i++) {
            fputs("<li>", out);
            h(out, r->learned[i].host);
            if (r->learned[i].rcpt_cap)
                fprintf(out, ": %" PRId64 " recipients per session", r->learned[i].rcpt_cap);
            if (r->learned[i].cleartext)
                fputs(": STARTTLS failed, asked in cleartext", out);
            fputs("</li>", out);
        }
        fputs("</ul>", out);
    }
    fputs("</section>\n", out);
}

int report_write_html(const report *r, FILE *out)
{
    html_head(r, out);
    html_header(r, out);
    html_kpis(r, out);
    html_status(r, out);
    html_bounce(r, out);
    html_reasons(r, out);
    html_domains(r, out);
    html_hosts(r, out);
    html_providers(r, out);
    fputs("<div class=\"two\">", out);
    html_accept_all(r, out);
    html_flags(r, out);
    fputs("</div>\n<footer>mailvet " MAILVET_VERSION " &middot; state file ", out);
    h(out, report_base_name(r->state_path));
    fputs("</footer>\n</main></body></html>\n", out);
    return ferror(out) ? -1 : 0;
}
