/* column.c — email-column and header detection.
 *
 * Auto mode: a header cell named like an address column wins (email,
 * E-mail, Email Address, …: compared case-insensitively with spaces, dashes
 * and underscores removed). Otherwise the first column in which most sampled
 * values look like addresses is chosen, and the first row is a header when
 * its cell in that column does not look like one.
 */
#include "column.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const header_names[] = {
    "email", "emailaddress", "emailaddr", "mail", "mailaddress", "emails",
    "emailid", "useremail", "contactemail", "primaryemail", "workemail",
    "courriel", "correo", "correoelectronico", "epost",
};

/* Lower-case ASCII alphanumerics of P, at most OUTLEN-1 of them. */
static void squash(const char *p, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)p[i];
        if (isalnum(c))
            out[o++] = (char)tolower(c);
    }
    out[o] = '\0';
}

static bool is_email_header(const char *p, size_t len)
{
    if (len > 64)
        return false;
    char s[65];
    squash(p, len, s, sizeof s);
    for (size_t i = 0; i < sizeof header_names / sizeof *header_names; i++)
        if (strcmp(s, header_names[i]) == 0)
            return true;
    return false;
}

bool column_looks_like_email(const char *p, size_t len)
{
    while (len && isspace((unsigned char)*p))
        p++, len--;
    while (len && isspace((unsigned char)p[len - 1]))
        len--;
    if (len < 3 || len > 320)
        return false;
    const char *at = memrchr(p, '@', len);
    if (!at || at == p || at == p + len - 1)
        return false;
    const char *dot = memchr(at, '.', (size_t)(p + len - at));
    return dot && dot < p + len - 1;
}

static const csvio_field *cell(const csvio_row *r, size_t i)
{
    return i < r->n ? &r->f[i] : NULL;
}

static bool cell_is_email(const csvio_row *r, size_t i)
{
    const csvio_field *f = cell(r, i);
    return f && column_looks_like_email(f->p, f->len);
}

static int by_name(const csvio_row *head, const char *spec, column_choice *out,
                   char *err, size_t errlen)
{
    size_t n = strlen(spec);
    for (size_t i = 0; i < head->n; i++) {
        const csvio_field *f = &head->f[i];
        if (f->len == n && strncasecmp(f->p, spec, n) == 0) {
            *out = (column_choice){i, true};
            return 0;
        }
    }
    size_t o = (size_t)snprintf(err, errlen, "--column %s: no column of that name; the header "
                                "has", spec);
    for (size_t i = 0; i < head->n && o < errlen; i++) {
        int w = snprintf(err + o, errlen - o, "%s \"%.40s\"", i ? "," : "", head->f[i].p);
        if (w < 0 || o + (size_t)w + 8 >= errlen) {
            snprintf(err + o, errlen - o, ", …");
            break;
        }
        o += (size_t)w;
    }
    if (o < errlen)
        snprintf(err + o, errlen - o, " (or give its number, --column N)");
    return -1;
}

static int by_number(const csvio_row *const *rows, size_t nrows, unsigned long n,
                     column_choice *out, char *err, size_t errlen)
{
    size_t widest = 0;
    for (size_t i = 0; i < nrows; i++)
        if (rows[i]->n > widest)
            widest = rows[i]->n;
    if (n == 0 || n > widest) {
        snprintf(err, errlen, "--column %lu: the file has %zu column%s", n, widest,
                 widest == 1 ? " (is its delimiter right? see --delimiter)" : "s");
        return -1;
    }
    out->index = n - 1;
    out->has_header = !cell_is_email(rows[0], out->index) &&
                      nrows > 1 && cell_is_email(rows[1], out->index);
    return 0;
}

/* The first column where at least half of the non-first sampled rows (or
 * the only row) hold address-like values. */
static bool by_content(const csvio_row *const *rows, size_t nrows, size_t *col)
{
    size_t widest = 0;
    for (size_t i = 0; i < nrows; i++)
        if (rows[i]->n > widest)
            widest = rows[i]->n;
    size_t from = nrows > 1 ? 1 : 0;
    for (size_t c = 0; c < widest; c++) {
        size_t hits = 0;
        for (size_t i = from; i < nrows; i++)
            hits += cell_is_email(rows[i], c);
        if (hits > 0 && hits * 2 >= nrows - from) {
            *col = c;
            return true;
        }
    }
    return false;
}

int column_detect(const csvio_row *const *rows, size_t nrows, const char *spec,
                  column_choice *out, char *err, size_t errlen)
{
    if (nrows == 0) {
        snprintf(err, errlen, "the input has no rows");
        return -1;
    }
    if (spec) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(spec, &end, 10);
        if (*spec && *end == '\0' && errno == 0)
            return by_number(rows, nrows, n, out, err, errlen);
        return by_name(rows[0], spec, out, err, errlen);
    }
    for (size_t i = 0; i < rows[0]->n; i++) {
        if (is_email_header(rows[0]->f[i].p, rows[0]->f[i].len)) {
            *out = (column_choice){i, true};
            return 0;
        }
    }
    size_t col;
    if (!by_content(rows, nrows, &col)) {
        snprintf(err, errlen, "no email column found (no header named like \"email\" and no "
                 "column of address-like values); name it with --column NAME or --column N");
        return -1;
    }
    const csvio_field *f = cell(rows[0], col);
    *out = (column_choice){col, !(f && memchr(f->p, '@', f->len))};
    return 0;
}
