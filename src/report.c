/* report.c — summary of a batch: rows by status and by reason, expected
 * bounce rate, flags, rate. */
#include "report.h"

static double pct(uint64_t n, uint64_t of)
{
    return of ? 100.0 * (double)n / (double)of : 0.0;
}

static void by_status(FILE *out, const batch_stats *st)
{
    uint64_t n[VERDICT_STATUS__COUNT] = {0};
    for (int r = 0; r < REASON__COUNT; r++)
        n[verdict_status_of((verdict_reason)r)] += st->by_reason[r];
    fprintf(out, "By status:\n");
    for (int s = 0; s < VERDICT_STATUS__COUNT; s++)
        fprintf(out, "  %-15s %10llu  %5.1f%%\n", verdict_status_name((verdict_status)s),
                (unsigned long long)n[s], pct(n[s], st->rows));
}

static void by_reason(FILE *out, const batch_stats *st)
{
    fprintf(out, "By reason:\n");
    for (int r = 0; r < REASON__COUNT; r++) {
        if (!st->by_reason[r])
            continue;
        fprintf(out, "  %-15s %-18s %10llu  %5.1f%%\n",
                verdict_status_name(verdict_status_of((verdict_reason)r)),
                verdict_reason_name((verdict_reason)r),
                (unsigned long long)st->by_reason[r], pct(st->by_reason[r], st->rows));
    }
}

/* Sending to every row bounces at least the undeliverable ones; sending
 * only to deliverable rows bounces (almost) none of them. */
static void bounce(FILE *out, const batch_stats *st)
{
    uint64_t undeliverable = 0, deliverable = 0;
    for (int r = 0; r < REASON__COUNT; r++) {
        verdict_status s = verdict_status_of((verdict_reason)r);
        undeliverable += s == VERDICT_UNDELIVERABLE ? st->by_reason[r] : 0;
        deliverable += s == VERDICT_DELIVERABLE ? st->by_reason[r] : 0;
    }
    fprintf(out, "Expected bounces: at least %.1f%% if every row is mailed; "
            "%s if only deliverable rows are mailed (%llu rows).\n",
            pct(undeliverable, st->rows), deliverable ? "under 1%" : "n/a",
            (unsigned long long)deliverable);
}

void report_summary_text(FILE *out, const batch_stats *st)
{
    fprintf(out, "mailvet: %llu rows checked in %.2f s (%.0f rows/s)\n",
            (unsigned long long)st->rows, st->elapsed,
            st->elapsed > 0 ? (double)st->rows / st->elapsed : 0.0);
    by_status(out, st);
    by_reason(out, st);
    bounce(out, st);
    fprintf(out, "Flags: %llu role, %llu free provider, %llu disposable, %llu likely typos\n",
            (unsigned long long)st->role, (unsigned long long)st->free,
            (unsigned long long)st->disposable, (unsigned long long)st->suggestions);
    if (st->no_email_cell)
        fprintf(out, "Rows without an email cell (too few fields): %llu (marked invalid_syntax)\n",
                (unsigned long long)st->no_email_cell);
    if (st->long_rows)
        fprintf(out, "Rows with more fields than the header: %llu (verdict columns follow their last field)\n",
                (unsigned long long)st->long_rows);
}
