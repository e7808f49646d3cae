/* test_column.c — email-column and header detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "column.h"

/* Build rows from string tables: each row is up to 4 cells, NULL-ended. */
typedef struct fake {
    csvio_field f[4];
    csvio_row row;
} fake;

static void make(fake *k, const char *const *cells)
{
    size_t n = 0;
    for (; n < 4 && cells[n]; n++)
        k->f[n] = (csvio_field){cells[n], strlen(cells[n])};
    k->row = (csvio_row){k->f, n, 0};
}

static int detect(const char *const cells[][4], size_t nrows, const char *spec,
                  column_choice *out, char *err)
{
    fake k[8];
    const csvio_row *rows[8];
    for (size_t i = 0; i < nrows; i++) {
        make(&k[i], cells[i]);
        rows[i] = &k[i].row;
    }
    return column_detect(rows, nrows, spec, out, err, 256);
}

static void test_header_names(void **state)
{
    (void)state;
    static const char *const names[] = {"email", "E-Mail", "Email Address", "EMAIL_ADDRESS", " e mail "};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *const rows[][4] = {{"name", names[i], NULL}, {"x", "not-an-address", NULL}};
        column_choice c;
        char err[256];
        assert_int_equal(detect(rows, 2, NULL, &c, err), 0);
        assert_int_equal(c.index, 1);
        assert_true(c.has_header);
    }
}

static void test_by_content(void **state)
{
    (void)state;
    const char *const rows[][4] = {
        {"id", "contact", "city", NULL},
        {"1", "a@example.com", "Oslo", NULL},
        {"2", "b@example.org", "Rome", NULL},
        {"3", "", "Paris", NULL},
    };
    column_choice c;
    char err[256];
    assert_int_equal(detect(rows, 4, NULL, &c, err), 0);
    assert_int_equal(c.index, 1);
    assert_true(c.has_header);
}

static void test_headerless(void **state)
{
    (void)state;
    const char *const rows[][4] = {{"Ann", "ann@example.com", NULL}, {"Bob", "bob@example.com", NULL}};
    column_choice c;
    char err[256];
    assert_int_equal(detect(rows, 2, NULL, &c, err), 0);
    assert_int_equal(c.index, 1);
    assert_false(c.has_header);
}

static void test_explicit(void **state)
{
    (void)state;
    const char *const rows[][4] = {{"work", "home", NULL}, {"w@example.com", "h@example.com", NULL}};
    column_choice c;
    char err[256];
    assert_int_equal(detect(rows, 2, "HOME", &c, err), 0);
    assert_int_equal(c.index, 1);
    assert_true(c.has_header);
    assert_int_equal(detect(rows, 2, "1", &c, err), 0);
    assert_int_equal(c.index, 0);
    assert_true(c.has_header);
    assert_int_equal(detect(rows, 2, "3", &c, err), -1);
    assert_non_null(strstr(err, "2 columns"));
    assert_int_equal(detect(rows, 2, "office", &c, err), -1);
    assert_non_null(strstr(err, "no column of that name"));
}

static void test_no_column(void **state)
{
    (void)state;
    const char *const rows[][4] = {{"name", "phone", NULL}, {"ann", "123", NULL}};
    column_choice c;
    char err[256];
    assert_int_equal(detect(rows, 2, NULL, &c, err), -1);
    assert_non_null(strstr(err, "--column"));
    assert_int_equal(detect(rows, 0, NULL, &c, err), -1);
}

static void test_looks_like_email(void **state)
{
    (void)state;
    assert_true(column_looks_like_email("a@b.co", 6));
    assert_true(column_looks_like_email(" Jane <j@x.org> ", 16));
    assert_false(column_looks_like_email("a@b", 3));
    assert_false(column_looks_like_email("@b.com", 6));
    assert_false(column_looks_like_email("a@b.", 4));
    assert_false(column_looks_like_email("email", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_by_content),
        cmocka_unit_test(test_headerless),
        cmocka_unit_test(test_explicit),
        cmocka_unit_test(test_no_column),
        cmocka_unit_test(test_looks_like_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
