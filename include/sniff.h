/* sniff.h — what the first bytes of an INPUT file are: a workbook or other
 * binary file (refused, with what to do), or text in which encoding, with
 * an Excel "sep=C" first line or not, and which field delimiter.
 *
 * Pure: functions over a sample (the caller's bytes, only read), no I/O,
 * no allocation. csvio.c reads the sample and acts on the answers.
 */
#ifndef MAILVET_SNIFF_H
#define MAILVET_SNIFF_H

#include <stdbool.h>
#include <stddef.h>

#define SNIFF_BYTES (64u << 10)   /* the sample: the file's first bytes */
#define SNIFF_ROWS 50             /* records sniff_delimiter() compares */

typedef enum sniff_format {
    SNIFF_TEXT,                   /* readable: see the encoding */
    SNIFF_XLSX,
    SNIFF_ODS,
    SNIFF_ZIP,
    SNIFF_XLS,
    SNIFF_PDF,
    SNIFF_GZIP,
    SNIFF_SQLITE,
    SNIFF_UTF32,
    SNIFF_UTF16_NO_BOM,
    SNIFF_BINARY,
} sniff_format;

typedef enum sniff_encoding {
    SNIFF_UTF8,                   /* or anything ASCII-compatible: passed through */
    SNIFF_UTF8_BOM,
    SNIFF_UTF16LE,                /* with a BOM */
    SNIFF_UTF16BE,
} sniff_encoding;

/* What the N bytes at P (the start of a file) are. For SNIFF_TEXT, *ENC
 * and *BOM_LEN (bytes of byte order mark to skip) say how to read it. */
sniff_format sniff_kind(const unsigned char *p, size_t n, sniff_encoding *enc, size_t *bom_len);

/* For the user: what a refused file is and what to do ("an XLSX workbook:
 * save it as CSV UTF-8 (…) and run again"); NULL for SNIFF_TEXT. Static. */
const char *sniff_message(sniff_format f);

/* "UTF-8", "UTF-8 with BOM", "UTF-16LE", "UTF-16BE". Static. */
const char *sniff_encoding_name(sniff_encoding e);

/* Delimiter D as messages write it: "tab", or the character quoted ("';'"),
 * in BUF; the returned string is BUF or a constant. */
const char *sniff_delimiter_name(char d, char buf[4]);

/* An Excel first line "sep=C" at the start of the UTF-8 text P[0..N)
 * (optionally quoted, C repeated allowed: "sep=;;;"), ended by CR, LF, CRLF
 * or the end of the input (EOF: P is the whole file). Returns its length
 * with the line end, C into *DELIM; 0 when there is none. C is a tab or
 * ASCII punctuation other than '"'. */
size_t sniff_sep_line(const char *p, size_t n, bool eof, char *delim);

/* The field delimiter of the UTF-8 text P[0..N) (BOM and sep= line already
 * skipped), among , ; tab |: the one whose field count is the same on the
 * most of the first SNIFF_ROWS records (quoted fields, quoted line breaks
 * included, are skipped the way libcsv reads them), with at least two
 * fields; then the one with more fields; then in that order, comma first.
 * EOF: P is the whole file (its last record is complete). *FOUND is false
 * (and ',' returned) when no candidate gives two fields or more on 90% of
 * the records: a one-column file. */
char sniff_delimiter(const char *p, size_t n, bool eof, bool *found);

#endif
