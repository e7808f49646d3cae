/* result.c — the mailvet_* output columns of one result, and the one
 * rendering of mailvet_checked_at (result_format_time). */
#include "result.h"

#include <string.h>

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

/* N as WIDTH digits with leading zeros at P. */
static void put_digits(char *p, int width, int64_t n)
{
    while (width-- > 0) {
        p[width] = (char)('0' + n % 10);
        n /= 10;
    }
}

/* The proleptic Gregorian date of day DAYS after 1970-01-01 (negative
 * before). Counted in 400-year eras starting on March 1st, so the leap day
 * is the last of a year and each era is alike (146,097 days). */
static void civil_date(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;                           /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                      /* day of the era, 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;   /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  /* from March 1st, 0..365 */
    int64_t mp = (5 * doy + 2) / 153;                    /* 0 = March … 11 = February */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

size_t result_format_time(int64_t t, char *buf, size_t buflen)
{
    if (buflen)
        buf[0] = '\0';
    if (t == 0 || buflen < 21)
        return 0;
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {                                      /* floor, before 1970 */
        secs += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    civil_date(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return 0;                                        /* no four-digit year */
    memcpy(buf, "0000-00-00T00:00:00Z", 21);
    put_digits(buf, 4, y);
    put_digits(buf + 5, 2, m);
    put_digits(buf + 8, 2, d);
    put_digits(buf + 11, 2, secs / 3600);
    put_digits(buf + 14, 2, secs / 60 % 60);
    put_digits(buf + 17, 2, secs % 60);
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
