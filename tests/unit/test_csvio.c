/* test_csvio.c — the streaming reader and the writer, on temporary files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvio.h"

static char path[64];

static csvio_reader *open_bytes(const char *bytes, size_t len)
{
    strcpy(path, "/tmp/mailvet-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    char err[256];
    csvio_reader *r = csvio_open(path, NULL, err, sizeof err);
    assert_non_null(r);
    unlink(path);
    return r;
}

static void expect_row(csvio_reader *r, size_t n, const char *const *cells)
{
    csvio_row row;
    assert_int_equal(csvio_next(r, &row), 1);
    assert_int_equal(row.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(row.f[i].len, strlen(cells[i]));
        assert_memory_equal(row.f[i].p, cells[i], row.f[i].len);
    }
}

static void test_line_endings_and_bom(void **state)
{
    (void)state;
    static const char in[] = "\xEF\xBB\xBF" "a,b\r\n1,2\r3,4\n5,6";
    csvio_reader *r = open_bytes(in, sizeof in - 1);
    expect_row(r, 2, (const char *[]){"a", "b"});
    expect_row(r, 2, (const char *[]){"1", "2"});
    expect_row(r, 2, (const char *[]){"3", "4"});
    expect_row(r, 2, (const char *[]){"5", "6"});     /* no final newline */
    csvio_row row;
    assert_int_equal(csvio_next(r, &row), 0);
    assert_true(csvio_had_bom(r));
    assert_int_equal(csvio_bytes_read(r), sizeof in - 1);
    csvio_close(r);
}

static void test_quotes_and_ragged(void **state)
{
    (void)state;
    static const char in[] = "\"a,1\",\"say \"\"hi\"\"\",\"two\nlines\"\nx\n\ny,z,w,v\n";
    csvio_reader *r = open_bytes(in, sizeof in - 1);
    expect_row(r, 3, (const char *[]){"a,1", "say \"hi\"", "two\nlines"});
    expect_row(r, 1, (const char *[]){"x"});
    expect_row(r, 4, (const char *[]){"y", "z", "w", "v"});   /* blank line skipped */
    csvio_close(r);
}

static void test_many_rows_across_blocks(void **state)
{
    (void)state;
    size_t n = 200000;
    char *buf = malloc(n * 16);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(buf + len, "r%zu,%zu\n", i, i * 7);
    csvio_reader *r = open_bytes(buf, len);
    csvio_row row;
    char want[32];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(csvio_next(r, &row), 1);
        sprintf(want, "r%zu", i);
        assert_string_equal(row.f[0].p, want);
        assert_int_equal(row.recno, i + 1);
    }
    assert_int_equal(csvio_next(r, &row), 0);
    csvio_close(r);
    free(buf);
}

static void test_row_dup(void **state)
{
    (void)state;
    static const char in[] = "a,\"b\nc\",\nnext\n";
    csvio_reader *r = open_bytes(in, sizeof in - 1);
    csvio_row row;
    assert_int_equal(csvio_next(r, &row), 1);
    csvio_row *copy = csvio_row_dup(&row);
    assert_int_equal(csvio_next(r, &row), 1);
    assert_int_equal(copy->n, 3);
    assert_string_equal(copy->f[1].p, "b\nc");
    assert_int_equal(copy->f[2].len, 0);
    free(copy);
    csvio_close(r);
}

static void test_open_missing(void **state)
{
    (void)state;
    char err[256];
    assert_null(csvio_open("/nonexistent/x.csv", NULL, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

static void test_writer_quoting(void **state)
{
    (void)state;
    char p[] = "/tmp/mailvet-w-XXXXXX";
    int fd = mkstemp(p);
    csvio_writer *w = csvio_writer_new(fd, 0);
    csvio_put_str(w, "plain");
    csvio_put_str(w, "a,b");
    csvio_put_str(w, "say \"hi\"");
    csvio_put(w, "", 0);
    csvio_put_str(w, "line\nbreak");
    csvio_end_row(w);
    csvio_put_str(w, "second");
    csvio_end_row(w);
    assert_int_equal(csvio_flush(w), 0);
    csvio_writer_free(w);
    close(fd);
    char got[128] = {0};
    FILE *f = fopen(p, "r");
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    unlink(p);
    static const char want[] = "plain,\"a,b\",\"say \"\"hi\"\"\",,\"line\nbreak\"\nsecond\n";
    assert_int_equal(n, sizeof want - 1);
    assert_string_equal(got, want);
}

static void expect_end(csvio_reader *r)
{
    csvio_row row;
    assert_int_equal(csvio_next(r, &row), 0);
    csvio_close(r);
}

static void test_semicolon_sep_line(void **state)
{
    (void)state;
    static const char in[] = "\xEF\xBB\xBFsep=;\r\nName;E-mail\r\n\"Smith, J\";j@x.com\r\n";
    csvio_reader *r = open_bytes(in, sizeof in - 1);
    const csvio_dialect *d = csvio_get_dialect(r);
    assert_int_equal(d->delimiter, ';');
    assert_int_equal(d->source, CSVIO_DELIM_SEP_LINE);
    assert_true(d->sep_line && d->had_bom);
    assert_int_equal(d->encoding, SNIFF_UTF8_BOM);
    csvio_row row;
    assert_int_equal(csvio_next(r, &row), 1);
    assert_int_equal(row.recno, 1);               /* the sep= line is no record */
    assert_int_equal(row.n, 2);
    assert_string_equal(row.f[1].p, "E-mail");
    expect_row(r, 2, (const char *[]){"Smith, J", "j@x.com"});
    expect_end(r);
}

static void test_semicolon_detected(void **state)
{
    (void)state;
    static const char in[] = "a;b;c\n\"x;y\";2,5;z\n1;2;3\n";
    csvio_reader *r = open_bytes(in, sizeof in - 1);
    assert_int_equal(csvio_get_dialect(r)->delimiter, ';');
    assert_int_equal(csvio_get_dialect(r)->source, CSVIO_DELIM_DETECTED);
    expect_row(r, 3, (const char *[]){"a", "b", "c"});
    expect_row(r, 3, (const char *[]){"x;y", "2,5", "z"});
    expect_row(r, 3, (const char *[]){"1", "2", "3"});
    expect_end(r);
}

static void test_tab_and_pipe(void **state)
{
    (void)state;
    static const char tsv[] = "name\temail\n\tb@x.com\nc d\te@x.com\n";
    csvio_reader *r = open_bytes(tsv, sizeof tsv - 1);
    assert_int_equal(csvio_get_dialect(r)->delimiter, '\t');
    expect_row(r, 2, (const char *[]){"name", "email"});
    expect_row(r, 2, (const char *[]){"", "b@x.com"});   /* an empty first field stays */
    expect_row(r, 2, (const char *[]){"c d", "e@x.com"});
    expect_end(r);
    static const char psv[] = "id|email|note\n1|a@x.com|x, y\n2|b@x.com|\n";
    r = open_bytes(psv, sizeof psv - 1);
    assert_int_equal(csvio_get_dialect(r)->delimiter, '|');
    expect_row(r, 3, (const char *[]){"id", "email", "note"});
    expect_row(r, 3, (const char *[]){"1", "a@x.com", "x, y"});
    expect_row(r, 3, (const char *[]){"2", "b@x.com", ""});
    expect_end(r);
}

static csvio_reader *open_with(const char *bytes, size_t len, char delim)
{
    strcpy(path, "/tmp/mailvet-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    char err[256];
    csvio_dialect_opts o = {delim, NULL};
    csvio_reader *r = csvio_open(path, &o, err, sizeof err);
    assert_non_null(r);
    unlink(path);
    return r;
}

static void test_delimiter_option_wins(void **state)
{
    (void)state;
    static const char in[] = "sep=;\na;b,c\n";
    csvio_reader *r = open_with(in, sizeof in - 1, ',');
    assert_int_equal(csvio_get_dialect(r)->delimiter, ',');
    assert_int_equal(csvio_get_dialect(r)->source, CSVIO_DELIM_GIVEN);
    assert_true(csvio_get_dialect(r)->sep_line);   /* still skipped */
    expect_row(r, 2, (const char *[]){"a;b", "c"});
    expect_end(r);
}

/* UTF-16LE "Unicode Text" as Excel writes it, bigger than one read block,
 * with a character outside the BMP (a surrogate pair) in every row. */
static void test_utf16le_bom(void **state)
{
    (void)state;
    size_t rows = 30000, len = 0;
    char *u8 = malloc(rows * 40 + 64);
    len += (size_t)sprintf(u8, "name\temail\r\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)sprintf(u8 + len, "Jos\xC3\xA9 \xF0\x9F\x98\x80%zu\tu%zu@x.com\r\n", i, i);
    uint8_t *u16 = malloc(len * 2 + 2);
    size_t n = 0;
    u16[n++] = 0xFF, u16[n++] = 0xFE;
    for (size_t i = 0; i < len;) {           /* tiny UTF-8 → UTF-16LE for the test */
        unsigned char c = (unsigned char)u8[i];
        uint32_t cp;
        if (c < 0x80) cp = c, i += 1;
        else if (c < 0xE0) cp = (uint32_t)(c & 0x1F) << 6 | (u8[i + 1] & 0x3F), i += 2;
        else cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(u8[i + 1] & 0x3F) << 12 |
                  (uint32_t)(u8[i + 2] & 0x3F) << 6 | (u8[i + 3] & 0x3F), i += 4;
        if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
            u16[n++] = hi & 0xFF, u16[n++] = (uint8_t)(hi >> 8);
            u16[n++] = lo & 0xFF, u16[n++] = (uint8_t)(lo >> 8);
        } else {
            u16[n++] = cp & 0xFF, u16[n++] = (uint8_t)(cp >> 8);
        }
    }
    csvio_reader *r = open_bytes((const char *)u16, n);
    const csvio_dialect *d = csvio_get_dialect(r);
    assert_int_equal(d->encoding, SNIFF_UTF16LE);
    assert_int_equal(d->delimiter, '\t');
    assert_true(d->had_bom);
    expect_row(r, 2, (const char *[]){"name", "email"});
    char a[64], b[64];
    for (size_t i = 0; i < rows; i++) {
        sprintf(a, "Jos\xC3\xA9 \xF0\x9F\x98\x80%zu", i);
        sprintf(b, "u%zu@x.com", i);
        expect_row(r, 2, (const char *[]){a, b});
    }
    expect_end(r);
    free(u8);
    free(u16);
}

static void test_refused_kinds(void **state)
{
    (void)state;
#define CASE(lit, says) {lit, sizeof lit - 1, says}
    static const struct { const char *bytes; size_t len; const char *says; } cases[] = {
        CASE("PK\x03\x04\x14\x00[Content_Types].xml", "XLSX workbook"),
        CASE("PK\x03\x04\x14\x00" "data.csv", "ZIP archive"),
        CASE("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00", "XLS workbook"),
        CASE("%PDF-1.7\n", "PDF"),
        CASE("\x1F\x8B\x08\x00\x00", "gunzip"),
        CASE("e\0m\0a\0i\0l\0\n\0", "UTF-16 text without a byte order mark"),
        CASE("\xFF\xFE\0\0e\0\0\0", "UTF-32"),
    };
#undef CASE
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        strcpy(path, "/tmp/mailvet-test-XXXXXX");
        int fd = mkstemp(path);
        assert_int_equal(write(fd, cases[i].bytes, cases[i].len), (ssize_t)cases[i].len);
        close(fd);
        char err[256];
        assert_null(csvio_open(path, NULL, err, sizeof err));
        unlink(path);
        assert_non_null(strstr(err, cases[i].says));
    }
}

static void test_writer_semicolon(void **state)
{
    (void)state;
    char p[] = "/tmp/mailvet-w-XXXXXX";
    int fd = mkstemp(p);
    csvio_writer *w = csvio_writer_new(fd, ';');
    csvio_put_str(w, "Smith, John");
    csvio_put_str(w, "a;b");
    csvio_put_str(w, "x");
    csvio_end_row(w);
    assert_int_equal(csvio_flush(w), 0);
    csvio_writer_free(w);
    close(fd);
    char got[64] = {0};
    FILE *f = fopen(p, "r");
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    unlink(p);
    assert_int_equal(n, strlen("Smith, John;\"a;b\";x\n"));
    assert_string_equal(got, "Smith, John;\"a;b\";x\n");   /* the comma needs no quotes */
}

static void test_writer_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    csvio_writer *w = csvio_writer_new(fileno(f), 0);
    csvio_put_str(w, "x");
    csvio_end_row(w);
    assert_true(csvio_flush(w) < 0);
    csvio_writer_free(w);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_endings_and_bom),
        cmocka_unit_test(test_quotes_and_ragged),
        cmocka_unit_test(test_many_rows_across_blocks),
        cmocka_unit_test(test_row_dup),
        cmocka_unit_test(test_open_missing),
        cmocka_unit_test(test_writer_quoting),
        cmocka_unit_test(test_writer_error),
        cmocka_unit_test(test_semicolon_sep_line),
        cmocka_unit_test(test_semicolon_detected),
        cmocka_unit_test(test_tab_and_pipe),
        cmocka_unit_test(test_delimiter_option_wins),
        cmocka_unit_test(test_utf16le_bom),
        cmocka_unit_test(test_refused_kinds),
        cmocka_unit_test(test_writer_semicolon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
