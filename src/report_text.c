/* report_text.c — the report as terminal text (report_write_text), and
 * `clean`'s end-of-run summary from the run's counters. Strings from the
 * state file are written with control characters replaced, so a hostile
 * address cannot send escape sequences to the terminal. */
#include "report_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cache_policy.h"

/* DB strings on a terminal: no control characters (escape sequences). */
static void txt_put(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* Port 25 looks blocked: say it before any figure is believed. */
static void text_unreachable(const report *r, FILE *out)
{
    if (!report_unreachable_many(r->hosts_tried, r->hosts_unreachable))
        return;
    fprintf(out, "Warning: %" PRIu64 " of the %" PRIu64 " mail servers tried (%.0f%%) never "
            "accepted a connection: outbound port 25 is probably blocked here, and the verdicts "
            "are unreliable (exit code 3). Run `mailvet doctor`; verify through --proxy/--bind "
            "from a host that can reach port 25.\n", r->hosts_unreachable, r->hosts_tried,
            report_pct(r->hosts_unreachable, r->hosts_tried));
}

static void text_header(const report *r, FILE *out)
{
    char b1[48], b2[48];
    if (r->running)
        fprintf(out, "mailvet: running for %s: %" PRIu64 " rows checked so far (%s)\n",
                report_duration(b1, r->elapsed), r->done, report_rate_text(b2, r));
    else
        fprintf(out, "mailvet: %" PRIu64 " rows checked in %s (%s)\n", r->done,
                report_duration(b1, r->elapsed), report_rate_text(b2, r));
    if (r->from_state) {
        fputs("Input: ", out);
        txt_put(out, r->input_path[0] ? r->input_path : "(unknown)");
        fputs("  (level ", out);
        txt_put(out, r->level[0] ? r->level : "?");
        fputs(", state ", out);
        txt_put(out, r->state_path);
        fputs(")\n", out);
    }
    if (!r->finished && r->total_known)
        fprintf(out, "Unfinished: %" PRIu64 " of %" PRIu64 " rows done (%.1f%%); figures cover "
                "finished rows only.\n", r->done, r->rows_total, report_pct(r->done, r->rows_total));
    else if (!r->finished)
        fprintf(out, "Unfinished: %" PRIu64 " rows done so far (total not known yet); figures "
                "cover finished rows only.\n", r->done);
    if (!r->finished && r->retry_waiting)
        fprintf(out, "  %" PRIu64 " rows are waiting for a retry.\n", r->retry_waiting);
    text_unreachable(r, out);
}

static void text_counts(const report *r, FILE *out)
{
    fprintf(out, "By status:\n");
    for (int s = 0; s < NSTATUS; s++)
        fprintf(out, "  %-15s %10" PRIu64 "  %5.1f%%\n", verdict_status_name((verdict_status)s),
                r->by_status[s], report_pct(r->by_status[s], r->done));
    fprintf(out, "By reason:\n");
    for (int i = 0; i < REASON__COUNT; i++) {
        if (!r->by_reason[i])
            continue;
        fprintf(out, "  %-15s %-18s %10" PRIu64 "  %5.1f%%\n",
                verdict_status_name(verdict_status_of((verdict_reason)i)),
                verdict_reason_name((verdict_reason)i), r->by_reason[i],
                report_pct(r->by_reason[i], r->done));
    }
}

static void text_bounce(const report *r, FILE *out)
{
    uint64_t d = r->by_status[VERDICT_DELIVERABLE];
    uint64_t unverified = r->by_reason[REASON_UNVERIFIED];
    fprintf(out, "Expected bounce rate:\n");
    if (!report_bounce_measured(r))        /* --level syntax or dns: no server was asked, no figure to give */
        fprintf(out, "  mail every row         not measured: %" PRIu64 " rows were not checked "
                "by SMTP (--level syntax or dns); at least %.1f%%: the undeliverable rows\n",
                unverified, report_bounce_min(r));
    else
        fprintf(out, "  mail every row         about %.1f%% (at least %.1f%%: the undeliverable "
                "rows; risky and unknown rows add uncertainty)\n", report_bounce_all(r),
                report_bounce_min(r));
    if (d)
        fprintf(out, "  mail deliverable only  about %.1f%% (%" PRIu64 " rows; their average "
                "bounce risk)\n", report_bounce_deliverable(r), d);
    else
        fprintf(out, "  mail deliverable only  n/a (no deliverable rows)\n");
}

static void text_domains(const report *r, FILE *out)
{
    if (!r->ntop)
        return;
    fprintf(out, "Top domains:\n  %-32s %8s %12s %14s %8s %8s\n", "domain", "rows",
            "deliverable", "undeliverable", "risky", "unknown");
    for (size_t i = 0; i < r->ntop; i++) {
        const report_domain *d = &r->top[i];
        fputs("  ", out);
        txt_put(out, d->name);
        int pad = 32 - (int)strlen(d->name);
        fprintf(out, "%*s %8" PRIu64 " %12" PRIu64 " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
                pad > 0 ? pad : 0, "", d->rows, d->by_status[0], d->by_status[1],
                d->by_status[2], d->by_status[3]);
    }
}

static void text_accept_all(const report *r, FILE *out)
{
    if (!r->from_state)
        return;
    fprintf(out, "Accept-all domains: %" PRIu64 "%s", r->accept_all_total,
            r->accept_all_total ? " (" : "\n");
    for (size_t i = 0; i < r->naccept_all; i++) {
        fputs(i ? ", " : "", out);
        txt_put(out, r->accept_all[i].name);
        fprintf(out, " %" PRIu64, r->accept_all[i].rows);
    }
    if (r->accept_all_total)
        fprintf(out, "%s rows)\n", r->accept_all_total > r->naccept_all ? ", …" : "");
}

static void text_hosts(const report *r, FILE *out)
{
    if (!r->from_state)
        return;
    if (!r->hosts_total) {
        fprintf(out, "Hosts that blocked or timed out the verifier: none\n");
        return;
    }
    fprintf(out, "Hosts that blocked or timed out the verifier: %" PRIu64 "\n", r->hosts_total);
    size_t shown = r->nhosts < TEXT_MAX_HOSTS ? r->nhosts : TEXT_MAX_HOSTS;
    for (size_t i = 0; i < shown; i++) {
        const report_host *h = &r->hosts[i];
        fputs("  ", out);
        txt_put(out, h->host);
        fputs(" [", out);
        txt_put(out, h->ip);
        fprintf(out, "]: %" PRId64 " sessions, blocked %" PRId64 ", timed out %" PRId64 "%s; %"
                PRIu64 " rows left unknown\n", h->sessions, h->blocks, h->timeouts,
                h->connects == 0 ? ", never connected" : "", h->rows_unknown);
        if (h->last_code || h->last_text[0]) {
            fprintf(out, "    reply: %" PRId64 " ", h->last_code);
            txt_put(out, h->last_enhanced);
            fputs(h->last_enhanced[0] ? " " : "", out);
            txt_put(out, h->last_text);
            fputc('\n', out);
        }
        fprintf(out, "    fix:   %s\n", report_problem_hints[h->problem]);
    }
    if (r->hosts_total > shown)
        fprintf(out, "  … and %" PRIu64 " more (all of them: mailvet report --format html or json)\n",
                r->hosts_total - shown);
}

static void text_providers(const report *r, FILE *out)
{
    if (!r->nproviders)
        return;
    fprintf(out, "Providers of several MX hosts (--per-provider; busiest of %" PRIu64 "):\n",
            r->providers_total);
    for (size_t i = 0; i < r->nproviders; i++) {
        const report_provider *p = &r->providers[i];
        fputs("  ", out);
        txt_put(out, p->name);
        fprintf(out, "  %" PRIu64 " host%s  %" PRIu64 " sessions  %" PRIu64 " connections  %"
                PRIu64 " blocks\n", p->hosts, p->hosts == 1 ? "" : "s", p->sessions, p->connects,
                p->blocks);
    }
}

/* What hosts taught the engine: a smaller session, cleartext. */
static void text_learned(const report *r, FILE *out)
{
    if (!r->nlearned)
        return;
    fprintf(out, "Learned from hosts: %" PRIu64 " recipients-per-session caps, %" PRIu64
            " STARTTLS failures asked again in cleartext\n", r->rcpt_caps_learned,
            r->tls_fallbacks);
    for (size_t i = 0; i < r->nlearned; i++) {
        const report_learned *x = &r->learned[i];
        fputs("  ", out);
        txt_put(out, x->host);
        if (x->rcpt_cap)
            fprintf(out, ": %" PRId64 " recipients per session", x->rcpt_cap);
        if (x->cleartext)
            fprintf(out, "%s STARTTLS failed, asked in cleartext", x->rcpt_cap ? ";" : ":");
        fputc('\n', out);
    }
}

static void text_run(const report *r, FILE *out)
{
    fprintf(out, "Duplicates: %" PRIu64 " rows (same mailbox as an earlier row; not probed "
            "again)\n", r->duplicates);
    if (r->cache_rows) {
        char a[32], b[32];
        fprintf(out, "From the verdict cache: %" PRIu64 " rows (not probed again; their answers "
                "were %s old at the median, %s at the oldest, when the batch started)\n",
                r->cache_rows, cache_age_text(r->cache_age_median, a),
                cache_age_text(r->cache_age_oldest, b));
    }
    fprintf(out, "Flags: %" PRIu64 " role, %" PRIu64 " free provider, %" PRIu64 " disposable, %"
            PRIu64 " likely typos\n", r->role, r->free, r->disposable, r->typos);
    if (r->retries_used >= 0)
        fprintf(out, "Retries used: %" PRId64 "\n", r->retries_used);
    if (r->from_state) {
        char b1[40], b2[40];
        fprintf(out, "Started %s, %s %s\n", report_date_text(b1, r->started_at),
                r->finished ? "finished" : "last update",
                report_date_text(b2, r->finished ? r->finished_at : r->updated_at));
    }
}

int report_write_text(const report *r, FILE *out)
{
    text_header(r, out);
    text_counts(r, out);
    text_bounce(r, out);
    text_domains(r, out);
    text_accept_all(r, out);
    text_hosts(r, out);
    text_providers(r, out);
    text_learned(r, out);
    text_run(r, out);
    return ferror(out) ? -1 : 0;
}

void report_summary_text(FILE *out, const batch_stats *st)
{
    report *r = report_new();
    if (!r) {
        fprintf(out, "mailvet: %" PRIu64 " rows checked (out of memory for the summary)\n",
                st->rows);
        return;
    }
    report_from_stats(r, st);
    report_write_text(r, out);
    if (r->no_email_cell)
        fprintf(out, "Rows without an email cell (too few fields): %" PRIu64
                " (marked invalid_syntax)\n", r->no_email_cell);
    if (r->long_rows)
        fprintf(out, "Rows with more fields than the header: %" PRIu64
                " (verdict columns follow their last field)\n", r->long_rows);
    report_free(r);
}
