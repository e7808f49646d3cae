/* test_sniff.c — file kinds, byte order marks, the sep= line and the
 * delimiter choice (src/sniff.c), on byte strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sniff.h"

static sniff_format kind(const char *p, size_t n, sniff_encoding *enc, size_t *bom)
{
    return sniff_kind((const unsigned char *)p, n, enc, bom);
}

#define KIND(lit, e, b) kind(lit, sizeof lit - 1, e, b)

static void test_kinds(void **state)
{
    (void)state;
    sniff_encoding e;
    size_t b;
    assert_int_equal(KIND("PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", &e, &b), SNIFF_XLSX);
    assert_int_equal(KIND("PK\x03\x04\x14\x00xl/workbook.xml", &e, &b), SNIFF_XLSX);
    assert_int_equal(KIND("PK\x03\x04\x14\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
                          &e, &b), SNIFF_ODS);
    assert_int_equal(KIND("PK\x03\x04\x14\x00list.csv", &e, &b), SNIFF_ZIP);
    assert_int_equal(KIND("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0", &e, &b), SNIFF_XLS);
    assert_int_equal(KIND("%PDF-1.4\n%\xE2\xE3", &e, &b), SNIFF_PDF);
    assert_int_equal(KIND("\x1F\x8B\x08\0", &e, &b), SNIFF_GZIP);
    assert_int_equal(KIND("SQLite format 3\0\x10\0", &e, &b), SNIFF_SQLITE);
    assert_int_equal(KIND("\x7F" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", &e, &b), SNIFF_BINARY);
    assert_int_equal(KIND("\x89PNG\r\n\x1A\n\0\0\0\rIHDR\0\0\0\x10", &e, &b), SNIFF_BINARY);
    /* text, even with a stray control byte in plenty of text */
    char text[2000];
    memset(text, 'a', sizeof text);
    text[100] = '\x01';
    text[900] = '\0';
    assert_int_equal(kind(text, sizeof text, &e, &b), SNIFF_TEXT);
    assert_int_equal(e, SNIFF_UTF8);
    assert_int_equal(KIND("", &e, &b), SNIFF_TEXT);
    assert_int_equal(KIND("email\n\xE9t\xE9@x.fr\n", &e, &b), SNIFF_TEXT);   /* Latin-1 passes */
    for (int f = SNIFF_XLSX; f <= SNIFF_BINARY; f++)
        assert_non_null(sniff_message((sniff_format)f));
    assert_null(sniff_message(SNIFF_TEXT));
    assert_non_null(strstr(sniff_message(SNIFF_XLSX), "an XLSX workbook: save it as CSV UTF-8"));
}

static void test_boms(void **state)
{
    (void)state;
    sniff_encoding e;
    size_t b;
    assert_int_equal(KIND("\xEF\xBB\xBF" "email\n", &e, &b), SNIFF_TEXT);
    assert_int_equal(e, SNIFF_UTF8_BOM);
    assert_int_equal(b, 3);
    assert_int_equal(KIND("\xFF\xFE" "e\0m\0", &e, &b), SNIFF_TEXT);
    assert_int_equal(e, SNIFF_UTF16LE);
    assert_int_equal(b, 2);
    assert_int_equal(KIND("\xFE\xFF\0e\0m", &e, &b), SNIFF_TEXT);
    assert_int_equal(e, SNIFF_UTF16BE);
    assert_int_equal(KIND("\xFF\xFE\0\0e\0\0\0", &e, &b), SNIFF_UTF32);
    assert_int_equal(KIND("\0\0\xFE\xFF\0\0\0e", &e, &b), SNIFF_UTF32);
    /* UTF-16 without a BOM, either byte order */
    assert_int_equal(KIND("e\0m\0a\0i\0l\0\r\0\n\0", &e, &b), SNIFF_UTF16_NO_BOM);
    assert_int_equal(KIND("\0e\0m\0a\0i\0l\0\n", &e, &b), SNIFF_UTF16_NO_BOM);
    assert_string_equal(sniff_encoding_name(SNIFF_UTF16LE), "UTF-16LE");
}

static void test_sep_line(void **state)
{
    (void)state;
    char d = 0;
    assert_int_equal(sniff_sep_line("sep=;\r\na;b\r\n", 12, false, &d), 7);
    assert_int_equal(d, ';');
    assert_int_equal(sniff_sep_line("SEP=|\na|b", 9, false, &d), 6);
    assert_int_equal(d, '|');
    assert_int_equal(sniff_sep_line("sep=\t\n", 6, false, &d), 6);
    assert_int_equal(d, '\t');
    assert_int_equal(sniff_sep_line("\"sep=,\"\nx", 9, false, &d), 8);
    assert_int_equal(sniff_sep_line("sep=;;;\nx", 9, false, &d), 8);    /* re-saved padding */
    assert_int_equal(sniff_sep_line("sep=;", 5, true, &d), 5);           /* the whole file */
    assert_int_equal(sniff_sep_line("sep=;", 5, false, &d), 0);          /* might go on */
    d = 0;
    assert_int_equal(sniff_sep_line("sep=x\na", 7, false, &d), 0);
    assert_int_equal(sniff_sep_line("sep=;a\nb", 8, false, &d), 0);
    assert_int_equal(sniff_sep_line("sep=\"\n", 6, false, &d), 0);
    assert_int_equal(sniff_sep_line("email\nsep=;\n", 12, false, &d), 0);
    assert_int_equal(d, 0);
}

static char delim(const char *s, bool eof, bool *found)
{
    return sniff_delimiter(s, strlen(s), eof, found);
}

static void test_delimiter(void **state)
{
    (void)state;
    bool f;
    assert_int_equal(delim("name,email\nbob,b@x.com\nann,a@x.com\n", true, &f), ',');
    assert_true(f);
    assert_int_equal(delim("name;email\n\"Smith, John\";j@x.com\nAnn, B;a@x.com\n", true, &f), ';');
    assert_int_equal(delim("name\temail\tcity\nbob\tb@x.com\tParis, TX\nann\ta@x.com\tRome\n",
                           true, &f), '\t');
    assert_int_equal(delim("id|email\n1|a@x.com\n2|b@x.com\n", true, &f), '|');
    /* quoted delimiters and a quoted line break count for nothing */
    assert_int_equal(delim("email,note\na@x.com,\"x;y;z\nmore;;\"\nb@x.com,\"p;q\"\n", true, &f), ',');
    assert_int_equal(delim("email;note\na@x.com;\"1,2,3\n4,5\"\nb@x.com;\"6,7\"\n", true, &f), ';');
    /* one column: comma, not found */
    assert_int_equal(delim("email\na@x.com\nb@x.com\n", true, &f), ',');
    assert_false(f);
    assert_int_equal(delim("", true, &f), ',');
    assert_false(f);
    /* a tie (both give 2 fields on every row): comma wins */
    assert_int_equal(delim("a;b,c\nd;e,f\n", true, &f), ',');
    assert_true(f);
    /* a tie on consistency: more fields wins */
    assert_int_equal(delim("Smith, J;Acme;j@x.com\nDoe, A;Bcme;a@x.com\n", true, &f), ';');
    /* ragged rows: still the delimiter that gives two fields or more */
    assert_int_equal(delim("a;b;c\nd;e\nf;g;h;i\nj;k\n", true, &f), ';');
    assert_true(f);
    /* an unfinished last record (the sample's end, not the file's) is left out */
    assert_int_equal(delim("a;b\nc;d\ne,f,g,h,i", false, &f), ';');
}

static void test_delimiter_sample_bound(void **state)
{
    (void)state;
    /* only the first SNIFF_ROWS records are read: later ones do not count */
    char buf[4096] = "";
    for (int i = 0; i < SNIFF_ROWS; i++)
        strcat(buf, "a;b\n");
    for (int i = 0; i < 20; i++)
        strcat(buf, "a,b,c,d\n");
    bool f;
    assert_int_equal(delim(buf, true, &f), ';');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_boms),
        cmocka_unit_test(test_sep_line),
        cmocka_unit_test(test_delimiter),
        cmocka_unit_test(test_delimiter_sample_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
