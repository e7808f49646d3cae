/* report.c — the batch report's model and the `mailvet report` command
 * (SPEC.md "Report"; the contract is include/report.h, the model
 * include/report_int.h).
 *
 * Owns the report struct's life (report_new, report_free), its filling from
 * a finished run's counters, the figures every rendering derives from it
 * (rates, expected bounce rates, the words for reasons and host problems),
 * and the command: pick a renderer, load the state file (report_load.c),
 * write to stdout or to a temporary file renamed into place; and the
 * report job, which loads a finishing run's report in a thread of its own.
 */
#include "report_int.h"
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* the model                                                           */

report *report_new(void)
{
    report *r = calloc(1, sizeof *r);
    if (r) {
        r->retries_used = -1;
        r->elapsed = -1;
        r->cache_age_median = r->cache_age_oldest = -1;
    }
    return r;
}

void report_free(report *r)
{
    free(r);
}

/* A report of the run that just ended, from its counters: no per-domain
 * or per-host data, risks estimated from each reason's base risk. */
void report_from_stats(report *r, const batch_stats *st)
{
    static const verdict_flags none = {0};
    r->finished = true;
    r->done = r->rows_total = st->rows;
    r->total_known = true;
    for (int i = 0; i < REASON__COUNT; i++) {
        uint64_t n = st->by_reason[i];
        verdict_status s = verdict_status_of((verdict_reason)i);
        double risk = (double)n * verdict_risk((verdict_reason)i, &none);
        r->by_reason[i] = n;
        r->by_status[s] += n;
        r->risk_sum += risk;
        if (s == VERDICT_DELIVERABLE)
            r->risk_sum_deliverable += risk;
    }
    r->role = st->role;
    r->free = st->free;
    r->disposable = st->disposable;
    r->typos = st->suggestions;
    r->duplicates = st->duplicates;
    r->elapsed = st->elapsed;
    r->no_email_cell = st->no_email_cell;
    r->long_rows = st->long_rows;
}

/* ------------------------------------------------------------------ */
/* derived figures, shared by the renderers                            */

double report_pct(uint64_t n, uint64_t of)
{
    return of ? 100.0 * (double)n / (double)of : 0.0;
}

/* "1,234,567" */
const char *report_num(char buf[32], uint64_t n)
{
    char raw[24];
    int len = snprintf(raw, sizeof raw, "%" PRIu64, n), o = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

const char *report_duration(char buf[48], double s)
{
    if (s < 0)
        snprintf(buf, 48, "n/a");
    else if (s < 60)
        snprintf(buf, 48, "%.2f s", s);
    else if (s < 3600)
        snprintf(buf, 48, "%d min %d s", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, 48, "%d h %d min", (int)(s / 3600), ((int)s % 3600) / 60);
    return buf;
}

double report_rate(const report *r)
{
    return r->elapsed > 0 ? (double)r->done / r->elapsed : 0.0;
}

const char *report_rate_text(char buf[48], const report *r)
{
    double v = report_rate(r);
    if (r->elapsed <= 0)
        snprintf(buf, 48, "n/a");
    else
        snprintf(buf, 48, v >= 100 ? "%.0f rows/s" : "%.1f rows/s", v);
    return buf;
}

const char *report_date_text(char buf[40], int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, 40, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, 40, "n/a");
    return buf;
}

const char *report_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Expected bounce rates. Mailing every row bounces at least the
 * undeliverable rows; the expectation is the mean of mailvet_risk over all
 * rows (undeliverable = 100, risky and unknown rows their estimated risk).
 * Mailing only deliverable rows is estimated by their mean risk: accepted
 * mailboxes still bounce now and then (role/free flags raise it). */
double report_bounce_min(const report *r)
{
    return report_pct(r->by_status[VERDICT_UNDELIVERABLE], r->done);
}

double report_bounce_all(const report *r)
{
    return r->done ? r->risk_sum / (double)r->done : 0.0;
}

/* Rows checked without SMTP (--level syntax or dns: reason unverified)
 * have no measured risk, so the expectation over every row is unknown. */
bool report_bounce_measured(const report *r)
{
    return r->by_reason[REASON_UNVERIFIED] == 0;
}

double report_bounce_deliverable(const report *r)
{
    uint64_t n = r->by_status[VERDICT_DELIVERABLE];
    return n ? r->risk_sum_deliverable / (double)n : 0.0;
}

const char *const report_reason_help[REASON__COUNT] = {
    [REASON_ACCEPTED] = "mailbox confirmed",
    [REASON_INVALID_SYNTAX] = "not a valid address",
    [REASON_INVALID_DOMAIN] = "domain does not exist",
    [REASON_NO_MAIL_SERVER] = "domain has no mail server",
    [REASON_NULL_MX] = "domain accepts no mail",
    [REASON_UNROUTABLE_MX] = "mail server not routable",
    [REASON_MAILBOX_NOT_FOUND] = "mailbox does not exist",
    [REASON_MAILBOX_DISABLED] = "account disabled",
    [REASON_REJECTED] = "refused by the server",
    [REASON_ACCEPT_ALL] = "server accepts any address",
    [REASON_MAILBOX_FULL] = "mailbox over quota",
    [REASON_DISPOSABLE] = "throwaway address",
    [REASON_GREYLISTED] = "still greylisted after retries",
    [REASON_TEMPORARY_FAILURE] = "temporary error after retries",
    [REASON_BLOCKED] = "server refused the verifier",
    [REASON_TIMEOUT] = "server too slow to answer",
    [REASON_NO_CONNECT] = "server unreachable",
    [REASON_TLS_ERROR] = "STARTTLS failed",
    [REASON_PROTOCOL_ERROR] = "server broke the protocol",
    [REASON_DNS_ERROR] = "DNS lookup failed",
    [REASON_UNVERIFIED] = "not checked over SMTP",
};

const char *const report_problem_names[] = {
    [PROBLEM_BLOCKLIST] = "blocklist",
    [PROBLEM_RDNS] = "rdns",
    [PROBLEM_TIMEOUT] = "timeout",
    [PROBLEM_POLICY] = "policy",
    [PROBLEM_UNREACHABLE] = "unreachable",
};

const char *const report_problem_hints[] = {
    [PROBLEM_BLOCKLIST] = "Your sending IP is on a blocklist: look it up at check.spamhaus.org "
                          "(and any list the reply names), fix the cause and request delisting, "
                          "or verify from another IP.",
    [PROBLEM_RDNS] = "The host wants reverse DNS: set a PTR record for your IP that matches "
                     "--helo (and resolves back to the IP), then rerun.",
    [PROBLEM_TIMEOUT] = "The host delays unknown senders (tarpit): raise --command-timeout or "
                        "verify from an IP with a sending reputation.",
    [PROBLEM_POLICY] = "The host refuses the verifier by policy: verify from an IP with a sending "
                       "reputation, a PTR record and a matching --helo; until then treat its rows "
                       "as unknown.",
    [PROBLEM_UNREACHABLE] = "The host never accepted a connection (refused or timed out): if most "
                            "hosts do, outbound port 25 is blocked here — run `mailvet doctor`, "
                            "or verify through --proxy/--bind from a host that can reach port 25.",
};

bool report_unreachable_many(uint64_t tried, uint64_t unreachable)
{
    return tried >= REPORT_UNREACHABLE_MIN_HOSTS &&
           unreachable * 100 >= tried * REPORT_UNREACHABLE_PCT;
}

bool report_state_unreachable(const char *state_path)
{
    uint64_t tried, unreachable;
    return report_load_reach(state_path, &tried, &unreachable) == 0 &&
           report_unreachable_many(tried, unreachable);
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

typedef int (*report_writer)(const report *, FILE *);

static report_writer writer_for(const char *format)
{
    if (!format || strcmp(format, "text") == 0)
        return report_write_text;
    if (strcmp(format, "json") == 0)
        return report_write_json;
    if (strcmp(format, "html") == 0)
        return report_write_html;
    return NULL;
}

/* Write to a temporary file beside OUTPUT, then rename it into place, so
 * a failed write never leaves a half report behind. */
static int write_file(const report *r, report_writer w, const char *output)
{
    char tmp[PATH_MAX], err[PATH_MAX + 256];
    if (output_check_target(output, "the report file", err, sizeof err) != 0) {
        fprintf(stderr, "mailvet report: %s\n", err);   /* a rename would replace it */
        return 2;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", output) >= (int)sizeof tmp) {
        fprintf(stderr, "mailvet report: %s: path too long\n", output);
        return 1;
    }
    int fd = mkstemp(tmp);       /* mode 0600: reports name personal data */
    if (fd < 0) {
        fprintf(stderr, "mailvet report: %s: %s\n", output, strerror(errno));
        return 1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        fprintf(stderr, "mailvet report: %s: %s\n", output, strerror(errno));
        return 1;
    }
    int rc = w(r, f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -1;
    int saved = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, output) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc) {
        unlink(tmp);
        fprintf(stderr, "mailvet report: cannot write %s: %s\n", output,
                saved ? strerror(saved) : "write error");
        return 1;
    }
    return 0;
}

/* R by W to OUTPUT (NULL or "-": stdout). 0, or 1 after saying why. */
static int render(const report *r, report_writer w, const char *output)
{
    if (output && strcmp(output, "-") != 0)
        return write_file(r, w, output);
    if (w(r, stdout) || fflush(stdout) != 0) {
        fprintf(stderr, "mailvet report: cannot write to standard output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int report_run(const char *state_path, const char *format, const char *output)
{
    report_writer w = writer_for(format);
    if (!w) {
        fprintf(stderr, "mailvet report: unknown --format '%s' (text, json or html)\n", format);
        return 2;
    }
    char err[PATH_MAX + 256] = "";
    report *r = report_load(state_path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "mailvet report: %s\n", err);
        return 2;
    }
    int rc = render(r, w, output);
    report_free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the report job                                                      */

struct report_job {
    pthread_t thread;
    bool threaded;              /* false: loaded in report_job_start */
    report *r;                  /* NULL: err says why */
    char err[PATH_MAX + 256];
    char path[];
};

static void job_load(report_job *j)
{
    j->r = report_load(j->path, j->err, sizeof j->err);
    if (j->r)
        j->r->running = false;  /* the lock is the finishing run's own */
}

static void *job_main(void *arg)
{
    job_load(arg);
    return NULL;
}

report_job *report_job_start(const char *state_path)
{
    size_t n = strlen(state_path) + 1;
    report_job *j = calloc(1, sizeof *j + n);
    if (!j)
        return NULL;
    memcpy(j->path, state_path, n);
    j->threaded = pthread_create(&j->thread, NULL, job_main, j) == 0;
    if (!j->threaded)
        job_load(j);
    return j;
}

static void job_join(report_job *j)
{
    if (j->threaded)
        pthread_join(j->thread, NULL);
    j->threaded = false;
}

int report_job_finish(report_job *j, const char *html_output)
{
    job_join(j);
    if (!j->r) {
        fprintf(stderr, "mailvet report: %s\n", j->err);
        return 2;
    }
    int rc = render(j->r, report_write_text, NULL);
    if (rc == 0 && html_output)
        rc = render(j->r, report_write_html, html_output);
    return rc;
}

void report_job_free(report_job *j)
{
    if (!j)
        return;
    job_join(j);
    report_free(j->r);
    free(j);
}
