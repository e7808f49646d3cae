/* result.c — the mailvet_* output columns of one result, and the one
 * rendering of mailvet_checked_at (result_format_time, gmtime_r: UTC,
 * thread-safe, no locale). */
#include "result.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const result_column_names[RESULT_NCOLUMNS] = {
    "mailvet_email", "mailvet_status", "mailvet_reason", "mailvet_risk",
    "mailvet_did_you_mean", "mailvet_role", "mailvet_free", "mailvet_disposable",
    "mailvet_accept_all", "mailvet_mx", "mailvet_smtp_code",
    "mailvet_smtp_enhanced", "mailvet_smtp_text", "mailvet_attempts", "mailvet_duplicate",
    "mailvet_mx_ip", "mailvet_checked_at", "mailvet_route",
};

const result_kind result_column_kinds[RESULT_NCOLUMNS] = {
    RESULT_TEXT, RESULT_TEXT, RESULT_TEXT, RESULT_INT, RESULT_TEXT, RESULT_BOOL,
    RESULT_BOOL, RESULT_BOOL, RESULT_BOOL, RESULT_TEXT, RESULT_INT, RESULT_TEXT,
    RESULT_TEXT, RESULT_INT, RESULT_BOOL, RESULT_TEXT, RESULT_TEXT, RESULT_TEXT,
};

void result_init(result *r)
{
    r->email[0] = '\0';
    r->reason = REASON_UNVERIFIED;
    r->risk = 0;
    r->did_you_mean[0] = '\0';
    r->role = r->free = r->disposable = false;
    r->accept_all = TRI_UNSET;
    r->mx[0] = '\0';
    r->smtp_code = 0;
    r->smtp_enhanced[0] = '\0';
    r->smtp_text[0] = '\0';
    r->attempts = 0;
    r->duplicate = false;
    r->mx_ip[0] = '\0';
    r->checked_at = 0;
    r->route[0] = '\0';
}

static size_t put_str(char *buf, size_t buflen, const char *s)
{
    size_t n = strlen(s);
    if (n >= buflen)
        n = buflen - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return n;
}

/* Decimal V (no printf: this runs 3 times a row). BUFLEN >= 12. */
static size_t put_int(char *buf, size_t buflen, int v)
{
    char tmp[12];
    size_t n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < sizeof tmp);
    size_t o = 0;
    if (v < 0 && o + 1 < buflen)
        buf[o++] = '-';
    while (n && o + 1 < buflen)
        buf[o++] = tmp[--n];
    buf[o] = '\0';
    return o;
}

size_t result_format_time(int64_t t, char *buf, size_t buflen)
{
    if (buflen)
        buf[0] = '\0';
    time_t tt = (time_t)t;
    struct tm tm;
    if (t == 0 || buflen < 21 || (int64_t)tt != t || !gmtime_r(&tt, &tm) ||
        tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return 0;                                        /* unset, or no four-digit year */
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 20;
}

static const char *bool_name(bool b)
{
    return b ? "true" : "false";
}

size_t result_column(const result *r, int i, char *buf, size_t buflen)
{
    switch (i) {
    case 0: return put_str(buf, buflen, r->email);
    case 1: return put_str(buf, buflen, verdict_status_name(verdict_status_of(r->reason)));
    case 2: return put_str(buf, buflen, verdict_reason_name(r->reason));
    case 3: return put_int(buf, buflen, r->risk);
    case 4: return put_str(buf, buflen, r->did_you_mean);
    case 5: return put_str(buf, buflen, bool_name(r->role));
    case 6: return put_str(buf, buflen, bool_name(r->free));
    case 7: return put_str(buf, buflen, bool_name(r->disposable));
    case 8: return put_str(buf, buflen, r->accept_all == TRI_UNSET ? "" : bool_name(r->accept_all));
    case 9: return put_str(buf, buflen, r->mx);
    case 10: return r->smtp_code ? put_int(buf, buflen, r->smtp_code) : put_str(buf, buflen, "");
    case 11: return put_str(buf, buflen, r->smtp_enhanced);
    case 12: return put_str(buf, buflen, r->smtp_text);
    case 13: return put_int(buf, buflen, r->attempts);
    case 14: return put_str(buf, buflen, bool_name(r->duplicate));
    case 15: return put_str(buf, buflen, r->mx_ip);
    case 16: return result_format_time(r->checked_at, buf, buflen);
    case 17: return put_str(buf, buflen, r->route);
    default: return put_str(buf, buflen, "");
    }
}
