/* fuzz_sniff.c — libFuzzer target for the input sniffer (src/sniff.c).
 *
 * Input: one flags byte (bit 0: the sample is the whole file), then the
 * sample. Owns nothing between runs. Properties: the kind has a message
 * exactly when it is no text, and a BOM length of 0, 2 or 3 that fits the
 * sample; a sep= line is no longer than the sample, ends in a line end (or
 * the sample's end when it is the whole file) and names an allowed byte;
 * the delimiter is one of , ; tab | (comma when none is found); every
 * answer is the same when asked twice, and sniffing a prefix never reads
 * past it (ASan sees the exact-size copies).
 */
#include "fuzz.h"

#include <stdbool.h>

#include "sniff.h"

static void check_kind(const uint8_t *p, size_t n)
{
    sniff_encoding e, e2;
    size_t bom, bom2;
    sniff_format f = sniff_kind(p, n, &e, &bom);
    FUZZ_CHECK(sniff_kind(p, n, &e2, &bom2) == f && e2 == e && bom2 == bom);
    FUZZ_CHECK((sniff_message(f) == NULL) == (f == SNIFF_TEXT));
    FUZZ_CHECK(bom <= n && (bom == 0 || bom == 2 || bom == 3));
    FUZZ_CHECK((bom == 3) == (e == SNIFF_UTF8_BOM));
    FUZZ_CHECK(f != SNIFF_TEXT || bom != 2 || e == SNIFF_UTF16LE || e == SNIFF_UTF16BE);
    FUZZ_CHECK(sniff_encoding_name(e) != NULL);
}

static void check_text(const char *p, size_t n, bool eof)
{
    char d = 0, d2 = 0;
    size_t sep = sniff_sep_line(p, n, eof, &d);
    FUZZ_CHECK(sniff_sep_line(p, n, eof, &d2) == sep && d2 == d);
    FUZZ_CHECK(sep <= n);
    if (sep) {
        FUZZ_CHECK(sep >= 5 && d != '"' && d != '\r' && d != '\n' && d != '\0');
        FUZZ_CHECK(p[sep - 1] == '\n' || p[sep - 1] == '\r' || (eof && sep == n));
    }
    bool found, found2;
    char c = sniff_delimiter(p + sep, n - sep, eof, &found);
    FUZZ_CHECK(sniff_delimiter(p + sep, n - sep, eof, &found2) == c && found2 == found);
    FUZZ_CHECK(c == ',' || c == ';' || c == '\t' || c == '|');
    FUZZ_CHECK(found || c == ',');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool eof = data[0] & 1;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (n > SNIFF_BYTES)
        n = SNIFF_BYTES;
    check_kind(p, n);
    /* the same on an exact-size copy of a prefix: no read past its end */
    size_t cut = n / 2;
    char *q = malloc(cut ? cut : 1);
    FUZZ_CHECK(q != NULL);
    memcpy(q, p, cut);
    check_kind((const uint8_t *)q, cut);
    check_text(q, cut, eof);
    free(q);
    check_text((const char *)p, n, eof);
    return 0;
}
