/* report_json.c — the report as one JSON object (report_write_json).
 * Every string goes through json_put_string (escaped, invalid UTF-8
 * repaired), so the output is always valid JSON. */
#include "report_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"

static void js(FILE *out, const char *s)
{
    json_put_string(out, s, strlen(s));
}

static void js_key(FILE *out, const char *key)
{
    js(out, key);
    fputc(':', out);
}

static void js_date(FILE *out, const char *key, int64_t t)
{
    char buf[40];
    struct tm tm;
    time_t tt = (time_t)t;
    fputc(',', out);
    js_key(out, key);
    if (t > 0 && gmtime_r(&tt, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        js(out, buf);
    else
        fputs("null", out);
}

static void json_mix(FILE *out, const uint64_t *by_status)
{
    for (int s = 0; s < NSTATUS; s++) {
        fputc(',', out);
        js_key(out, verdict_status_name((verdict_status)s));
        fprintf(out, "%" PRIu64, by_status[s]);
    }
}

static void json_head(const report *r, FILE *out)
{
    fputc('{', out);
    js_key(out, "state");
    js(out, r->state_path);
    fputc(',', out);
    js_key(out, "input");
    js(out, r->input_path);
    fputc(',', out);
    js_key(out, "level");
    js(out, r->level);
    fprintf(out, ",\"finished\":%s,\"rows_total\":", r->finished ? "true" : "false");
    if (r->total_known)
        fprintf(out, "%" PRIu64, r->rows_total);
    else
        fputs("null", out);
    fprintf(out, ",\"rows_done\":%" PRIu64 ",\"rows_waiting_retry\":%" PRIu64 ",\"running\":%s",
            r->done, r->retry_waiting, r->running ? "true" : "false");
    js_date(out, "started_at", r->started_at);
    js_date(out, "updated_at", r->updated_at);
    js_date(out, "finished_at", r->finished_at);
    if (r->elapsed >= 0)
        fprintf(out, ",\"elapsed_s\":%.3f,\"rows_per_s\":%.3f", r->elapsed, report_rate(r));
    else
        fputs(",\"elapsed_s\":null,\"rows_per_s\":null", out);
    if (r->retries_used >= 0)
        fprintf(out, ",\"retries_used\":%" PRId64, r->retries_used);
    else
        fputs(",\"retries_used\":null", out);
}

static void json_counts(const report *r, FILE *out)
{
    fputs(",\"by_status\":{", out);
    for (int s = 0; s < NSTATUS; s++)
        fprintf(out, "%s\"%s\":%" PRIu64, s ? "," : "", verdict_status_name((verdict_status)s),
                r->by_status[s]);
    fputs("},\"by_reason\":{", out);
    for (int i = 0; i < REASON__COUNT; i++)
        fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", verdict_reason_name((verdict_reason)i),
                r->by_reason[i]);
    fprintf(out, "},\"flags\":{\"role\":%" PRIu64 ",\"free\":%" PRIu64 ",\"disposable\":%"
            PRIu64 ",\"did_you_mean\":%" PRIu64 "}", r->role, r->free, r->disposable, r->typos);
    fprintf(out, ",\"duplicates\":%" PRIu64, r->duplicates);
    fprintf(out, ",\"cache\":{\"rows\":%" PRIu64, r->cache_rows);
    if (r->cache_rows)
        fprintf(out, ",\"age_median_s\":%" PRId64 ",\"age_oldest_s\":%" PRId64 "}",
                r->cache_age_median, r->cache_age_oldest);
    else
        fputs(",\"age_median_s\":null,\"age_oldest_s\":null}", out);
    fprintf(out, ",\"bounce\":{\"all_rows_min_pct\":%.2f,\"all_rows_expected_pct\":",
            report_bounce_min(r));
    if (report_bounce_measured(r))        /* null: rows checked without SMTP */
        fprintf(out, "%.2f", report_bounce_all(r));
    else
        fputs("null", out);
    fprintf(out, ",\"deliverable_rows\":%" PRIu64 ",\"deliverable_only_expected_pct\":",
            r->by_status[VERDICT_DELIVERABLE]);
    if (r->by_status[VERDICT_DELIVERABLE])
        fprintf(out, "%.2f", report_bounce_deliverable(r));
    else
        fputs("null", out);
    fputs(",\"method\":\"mean mailvet_risk of the rows mailed; undeliverable rows count 100\"}",
          out);
}

/* Sessions per operator, and what hosts taught the engine. */
static void json_providers(const report *r, FILE *out)
{
    fprintf(out, ",\"providers_total\":%" PRIu64 ",\"providers\":[", r->providers_total);
    for (size_t i = 0; i < r->nproviders; i++) {
        const report_provider *p = &r->providers[i];
        fputs(i ? ",{" : "{", out);
        js_key(out, "name");
        js(out, p->name);
        fprintf(out, ",\"hosts\":%" PRIu64 ",\"sessions\":%" PRIu64 ",\"connections\":%"
                PRIu64 ",\"blocks\":%" PRIu64 "}", p->hosts, p->sessions, p->connects, p->blocks);
    }
    fprintf(out, "],\"rcpt_caps_learned\":%" PRIu64 ",\"tls_fallbacks\":%" PRIu64
            ",\"learned\":[", r->rcpt_caps_learned, r->tls_fallbacks);
    for (size_t i = 0; i < r->nlearned; i++) {
        const report_learned *x = &r->learned[i];
        fputs(i ? ",{" : "{", out);
        js_key(out, "host");
        js(out, x->host);
        fprintf(out, ",\"rcpt_cap\":%" PRId64 ",\"cleartext\":%s}", x->rcpt_cap,
                x->cleartext ? "true" : "false");
    }
    fputs("]", out);
}

static void json_lists(const report *r, FILE *out)
{
    fputs(",\"top_domains\":[", out);
    for (size_t i = 0; i < r->ntop; i++) {
        fputs(i ? ",{" : "{", out);
        js_key(out, "domain");
        js(out, r->top[i].name);
        fprintf(out, ",\"rows\":%" PRIu64, r->top[i].rows);
        json_mix(out, r->top[i].by_status);
        fputc('}', out);
    }
    fprintf(out, "],\"accept_all_domains_total\":%" PRIu64 ",\"accept_all_domains\":[",
            r->accept_all_total);
    for (size_t i = 0; i < r->naccept_all; i++) {
        fputs(i ? ",{" : "{", out);
        js_key(out, "domain");
        js(out, r->accept_all[i].name);
        fprintf(out, ",\"rows\":%" PRIu64 "}", r->accept_all[i].rows);
    }
    fprintf(out, "],\"hosts_tried\":%" PRIu64 ",\"hosts_unreachable\":%" PRIu64
            ",\"mostly_unreachable\":%s", r->hosts_tried, r->hosts_unreachable,
            report_unreachable_many(r->hosts_tried, r->hosts_unreachable) ? "true" : "false");
    fprintf(out, ",\"problem_hosts_total\":%" PRIu64 ",\"problem_hosts\":[", r->hosts_total);
    for (size_t i = 0; i < r->nhosts; i++) {
        const report_host *h = &r->hosts[i];
        fputs(i ? ",{" : "{", out);
        js_key(out, "host");
        js(out, h->host);
        fputc(',', out);
        js_key(out, "ip");
        js(out, h->ip);
        fprintf(out, ",\"sessions\":%" PRId64 ",\"blocks\":%" PRId64 ",\"timeouts\":%" PRId64
                ",\"rows_unknown\":%" PRIu64 ",\"last_code\":%" PRId64 ",", h->sessions,
                h->blocks, h->timeouts, h->rows_unknown, h->last_code);
        js_key(out, "last_enhanced");
        js(out, h->last_enhanced);
        fputc(',', out);
        js_key(out, "last_text");
        js(out, h->last_text);
        fprintf(out, ",\"problem\":\"%s\",", report_problem_names[h->problem]);
        js_key(out, "hint");
        js(out, report_problem_hints[h->problem]);
        fputc('}', out);
    }
    fputs("]", out);
    json_providers(r, out);
}

int report_write_json(const report *r, FILE *out)
{
    json_head(r, out);
    json_counts(r, out);
    json_lists(r, out);
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}
