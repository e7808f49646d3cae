/* sniff.c — what INPUT is, from its first bytes (include/sniff.h).
 *
 * Pure functions over a sample the caller owns. Binary formats are known
 * by their magic numbers; other binary files by NUL and control bytes that
 * no text file has (a UTF-16 file without a byte order mark shows a NUL
 * in every other byte, and is told apart). The delimiter is chosen the way
 * a person would: split the first records by each candidate, quote-aware,
 * and keep the one that gives the same number of fields, two or more, on
 * (nearly) every record.
 */
#include "sniff.h"

#include <string.h>
#include <strings.h>

static bool starts(const unsigned char *p, size_t n, const char *magic, size_t len)
{
    return n >= len && memcmp(p, magic, len) == 0;
}

static bool holds(const unsigned char *p, size_t n, const char *s)
{
    return memmem(p, n, s, strlen(s)) != NULL;
}

/* A ZIP archive: an Office Open XML workbook, an OpenDocument spreadsheet
 * or something else, by the member names in its first bytes. */
static sniff_format zip_kind(const unsigned char *p, size_t n)
{
    if (holds(p, n, "mimetypeapplication/vnd.oasis.opendocument.spreadsheet"))
        return SNIFF_ODS;
    if (holds(p, n, "xl/") || holds(p, n, "[Content_Types].xml"))
        return SNIFF_XLSX;
    return SNIFF_ZIP;
}

static sniff_format magic_kind(const unsigned char *p, size_t n)
{
    if (starts(p, n, "PK\x03\x04", 4) || starts(p, n, "PK\x05\x06", 4))
        return zip_kind(p, n);
    if (starts(p, n, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
        return SNIFF_XLS;
    if (starts(p, n, "%PDF-", 5))
        return SNIFF_PDF;
    if (starts(p, n, "\x1F\x8B", 2))
        return SNIFF_GZIP;
    if (starts(p, n, "SQLite format 3", 16))   /* with its NUL */
        return SNIFF_SQLITE;
    return SNIFF_TEXT;
}

/* Control bytes that text files do not hold (tab, line ends, form feed,
 * vertical tab and DOS's end-of-file mark 0x1A are text). */
static bool is_control(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' &&
            c != 0x1A) || c == 0x7F;
}

/* NUL in every other byte: UTF-16 without a BOM; NULs or control bytes
 * beyond a few in a hundred: binary. */
static sniff_format content_kind(const unsigned char *p, size_t n)
{
    size_t nul[2] = {0, 0}, ctl = 0;
    for (size_t i = 0; i < n; i++) {
        nul[i & 1] += p[i] == 0;
        ctl += p[i] != 0 && is_control(p[i]);
    }
    size_t pairs = n / 2;
    for (int k = 0; k < 2 && pairs >= 2; k++)
        if (nul[k] * 10 >= pairs * 4 && nul[!k] * 20 < pairs)
            return SNIFF_UTF16_NO_BOM;
    size_t nuls = nul[0] + nul[1];
    if ((nuls && nuls * 100 >= n) || (ctl && ctl * 20 >= n))
        return SNIFF_BINARY;
    return SNIFF_TEXT;
}

sniff_format sniff_kind(const unsigned char *p, size_t n, sniff_encoding *enc, size_t *bom_len)
{
    *enc = SNIFF_UTF8;
    *bom_len = 0;
    if (starts(p, n, "\xEF\xBB\xBF", 3)) {
        *enc = SNIFF_UTF8_BOM;
        *bom_len = 3;
    } else if (starts(p, n, "\xFF\xFE\x00\x00", 4) || starts(p, n, "\x00\x00\xFE\xFF", 4)) {
        return SNIFF_UTF32;
    } else if (starts(p, n, "\xFF\xFE", 2) || starts(p, n, "\xFE\xFF", 2)) {
        *enc = p[0] == 0xFF ? SNIFF_UTF16LE : SNIFF_UTF16BE;
        *bom_len = 2;
        return SNIFF_TEXT;     /* its NULs are its encoding's */
    }
    sniff_format f = magic_kind(p, n);
    return f != SNIFF_TEXT ? f : content_kind(p + *bom_len, n - *bom_len);
}

const char *sniff_message(sniff_format f)
{
    switch (f) {
    case SNIFF_TEXT:
        return NULL;
    case SNIFF_XLSX:
        return "an XLSX workbook: save it as CSV UTF-8 (File > Save As > CSV UTF-8) and run again";
    case SNIFF_ODS:
        return "an OpenDocument spreadsheet (.ods): save it as CSV (File > Save As > Text CSV, "
               "character set UTF-8) and run again";
    case SNIFF_ZIP:
        return "a ZIP archive: extract the CSV file from it (unzip) and run again on that file";
    case SNIFF_XLS:
        return "an XLS workbook (Excel 97-2003): save it as CSV UTF-8 (File > Save As > CSV "
               "UTF-8) and run again";
    case SNIFF_PDF:
        return "a PDF document, not a CSV file: export the list as CSV from where it came from";
    case SNIFF_GZIP:
        return "gzip-compressed: run gunzip first, then run again on the .csv file";
    case SNIFF_SQLITE:
        return "an SQLite database (a mailvet state file?), not a CSV file: give the list as CSV";
    case SNIFF_UTF32:
        return "UTF-32 text, which mailvet does not read: save it as CSV UTF-8 and run again";
    case SNIFF_UTF16_NO_BOM:
        return "UTF-16 text without a byte order mark: save it as CSV UTF-8 (File > Save As > "
               "CSV UTF-8) and run again";
    case SNIFF_BINARY:
        break;
    }
    return "a binary file, not CSV text (NUL or control bytes in its first 64 KiB): give the "
           "list as CSV UTF-8";
}

const char *sniff_encoding_name(sniff_encoding e)
{
    static const char *const names[] = {"UTF-8", "UTF-8 with BOM", "UTF-16LE", "UTF-16BE"};
    return names[e];
}

const char *sniff_delimiter_name(char d, char buf[4])
{
    if (d == '\t')
        return "tab";
    buf[0] = '\'';
    buf[1] = d;
    buf[2] = '\'';
    buf[3] = '\0';
    return buf;
}

/* ---- sep= ---- */

static bool sep_char_ok(unsigned char c)
{
    return c == '\t' || (c > 0x20 && c < 0x7F && c != '"' &&
                         !(c >= '0' && c <= '9') && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
}

/* Length of a line end at P[I..N) (0: none); at the end of the sample, a
 * line end only if the sample is the whole file. */
static size_t line_end(const char *p, size_t n, size_t i, bool eof, bool *ok)
{
    *ok = true;
    if (i == n) {
        *ok = eof;
        return 0;
    }
    if (p[i] == '\n')
        return 1;
    if (p[i] == '\r')
        return i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
    *ok = false;
    return 0;
}

size_t sniff_sep_line(const char *p, size_t n, bool eof, char *delim)
{
    size_t i = n > 0 && p[0] == '"' ? 1 : 0;
    bool quoted = i == 1;
    if (n < i + 5 || strncasecmp(p + i, "sep=", 4) != 0 || !sep_char_ok((unsigned char)p[i + 4]))
        return 0;
    char c = p[i + 4];
    for (i += 5; i < n && p[i] == c; i++)
        ;
    if (quoted) {
        if (i == n || p[i] != '"')
            return 0;
        i++;
    }
    bool ok;
    size_t end = line_end(p, n, i, eof, &ok);
    if (!ok)
        return 0;
    *delim = c;
    return i + end;
}

/* ---- the delimiter ---- */

/* Field counts of the first SNIFF_ROWS non-blank records when D splits
 * fields. A quote opens a quoted field only at a field's start (after
 * spaces, which libcsv skips there); inside, "" is a quote and line breaks
 * are data. */
static size_t field_counts(const char *p, size_t n, bool eof, char d, size_t *counts)
{
    size_t rows = 0, fields = 1;
    bool start = true, quoted = false, any = false;
    for (size_t i = 0; i < n && rows < SNIFF_ROWS; i++) {
        char c = p[i];
        if (quoted) {
            if (c == '"' && i + 1 < n && p[i + 1] == '"')
                i++;
            else if (c == '"')
                quoted = false;
        } else if (c == d) {
            fields++;
            start = any = true;
        } else if (c == '\r' || c == '\n') {
            if (any)
                counts[rows++] = fields;
            fields = 1;
            start = true;
            any = false;
        } else if (start && c == '"') {
            quoted = any = true;
            start = false;
        } else if (!(start && (c == ' ' || c == '\t'))) {
            start = false;
            any = true;
        }
    }
    if (eof && any && rows < SNIFF_ROWS)
        counts[rows++] = fields;          /* the last record, with no line end */
    return rows;
}

typedef struct judged {
    char d;
    size_t rows;       /* records sampled */
    size_t k;          /* the most frequent field count (the larger on a tie) */
    size_t same;       /* records with k fields */
    size_t multi;      /* records with two fields or more */
} judged;

static judged judge(char d, const size_t *counts, size_t rows)
{
    judged j = {.d = d, .rows = rows};
    for (size_t a = 0; a < rows; a++) {
        size_t same = 0;
        for (size_t b = 0; b < rows; b++)
            same += counts[b] == counts[a];
        if (same > j.same || (same == j.same && counts[a] > j.k)) {
            j.same = same;
            j.k = counts[a];
        }
        j.multi += counts[a] >= 2;
    }
    return j;
}

/* X/XR compared with Y/YR: > 0 when the first fraction is larger. */
static int ratio_cmp(size_t x, size_t xr, size_t y, size_t yr)
{
    unsigned long long l = (unsigned long long)x * yr, r = (unsigned long long)y * xr;
    return l > r ? 1 : l < r ? -1 : 0;
}

static bool nine_tenths(size_t part, size_t whole)
{
    return whole > 0 && part * 10 >= whole * 9;
}

/* A consistent field count on 90% of the records beats all; failing that
 * (a ragged file), two fields or more on 90% of them. */
static bool better(const judged *a, const judged *b, bool consistent)
{
    int c = consistent ? ratio_cmp(a->same, a->rows, b->same, b->rows)
                       : ratio_cmp(a->multi, a->rows, b->multi, b->rows);
    return c > 0 || (c == 0 && a->k > b->k);
}

char sniff_delimiter(const char *p, size_t n, bool eof, bool *found)
{
    static const char cands[] = {',', ';', '\t', '|'};
    judged j[sizeof cands];
    size_t counts[SNIFF_ROWS];
    for (size_t i = 0; i < sizeof cands; i++)
        j[i] = judge(cands[i], counts, field_counts(p, n, eof, cands[i], counts));
    for (int pass = 0; pass < 2; pass++) {
        const judged *best = NULL;
        for (size_t i = 0; i < sizeof cands; i++) {
            bool ok = pass == 0 ? j[i].k >= 2 && nine_tenths(j[i].same, j[i].rows)
                                : nine_tenths(j[i].multi, j[i].rows);
            if (ok && (!best || better(&j[i], best, pass == 0)))
                best = &j[i];
        }
        if (best) {
            *found = true;
            return best->d;
        }
    }
    *found = false;
    return ',';
}
