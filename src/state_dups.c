/* state_dups.c — duplicates made whole (state_materialise_dups).
 *
 * While a batch runs, a later row of a mailbox already seen is only a line
 * in dups (its row, the mailbox's first row, its own address fields): its
 * verdict is not known until the first row's is. Once every row is
 * finished, each duplicate becomes a results row: its own email, domain
 * and suggestion, the first row's verdict, flags and evidence (mx_ip,
 * checked_at, route: the answer it takes is the first row's), attempts 0
 * (it was never asked), duplicate = 1. Idempotent: a rerun after a crash
 * here writes the same rows again. Runs with the writer stopped.
 */
#include "state_int.h"

static const char materialise_sql[] =
    "INSERT OR REPLACE INTO results(row, email, domain, status, reason, risk, did_you_mean,"
    " role, free, disposable, accept_all, mx, smtp_code, smtp_enhanced, smtp_text, attempts,"
    " duplicate, mx_ip, checked_at, route)"
    " SELECT d.row, coalesce(d.email, r.email), coalesce(d.domain, r.domain), r.status, r.reason,"
    " r.risk, coalesce(d.did_you_mean, r.did_you_mean), r.role, r.free, r.disposable,"
    " r.accept_all, r.mx, r.smtp_code, r.smtp_enhanced, r.smtp_text, 0, 1, r.mx_ip,"
    " r.checked_at, r.route"
    " FROM dups d JOIN results r ON r.row = d.first AND coalesce(r.duplicate, 0) = 0";

int64_t state_materialise_dups(state *s, char *err, size_t errlen)
{
    if (!s || s->writer) {
        state_seterr(err, errlen, "state busy: the writer is running");
        return -1;
    }
    int64_t n = -1;
    if (state_exec(s->db, "BEGIN") == SQLITE_OK && state_exec(s->db, materialise_sql) == SQLITE_OK)
        n = sqlite3_changes64(s->db);
    if (n >= 0 && state_exec(s->db, "COMMIT") == SQLITE_OK)
        return n;
    state_seterr(err, errlen, "%s: cannot record the duplicates: %s", s->path,
                 sqlite3_errmsg(s->db));
    if (!sqlite3_get_autocommit(s->db))
        state_exec(s->db, "ROLLBACK");
    return -1;
}
