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
    csvio_reader *r = csvio_open(path, err, sizeof err);
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
    assert_null(csvio_open("/nonexistent/x.csv", err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

static void test_writer_quoting(void **state)
{
    (void)state;
    char p[] = "/tmp/mailvet-w-XXXXXX";
    int fd = mkstemp(p);
    csvio_writer *w = csvio_writer_new(fd);
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

static void test_writer_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    csvio_writer *w = csvio_writer_new(fileno(f));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
