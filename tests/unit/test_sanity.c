/* test_sanity.c — the stop before a run on a misread list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sanity.h"

#define MAXROWS 40

typedef struct table {
    char cells[MAXROWS][3][64];
    csvio_field f[MAXROWS][3];
    csvio_row row[MAXROWS];
    const csvio_row *rows[MAXROWS];
    size_t n;
} table;

static void add(table *t, const char *a, const char *b, const char *c)
{
    const char *v[3] = {a, b, c};
    size_t k = 0;
    for (; k < 3 && v[k]; k++) {
        snprintf(t->cells[t->n][k], 64, "%s", v[k]);
        t->f[t->n][k] = (csvio_field){t->cells[t->n][k], strlen(t->cells[t->n][k])};
    }
    t->row[t->n] = (csvio_row){t->f[t->n], k, t->n + 1};
    t->rows[t->n] = &t->row[t->n];
    t->n++;
}

static bool has_at(void *ud, const char *p, size_t len)
{
    (void)ud;
    return memchr(p, '@', len) != NULL && memchr(p, ';', len) == NULL;
}

static bool judge(table *t, size_t col, bool header, char *msg)
{
    return sanity_check(t->rows, t->n, (column_choice){col, header}, ',', has_at, NULL, msg, 512);
}

static void test_good_list_runs(void **state)
{
    (void)state;
    static table t;
    char msg[512] = "";
    t.n = 0;
    add(&t, "name", "email", "co");
    for (int i = 0; i < 30; i++)
        add(&t, "bob", i < 3 ? "nonsense" : "bob@example.com", "acme");
    assert_false(judge(&t, 1, true, msg));       /* 10% invalid: a real list's typos */
}

static void test_wrong_delimiter(void **state)
{
    (void)state;
    static table t;
    char msg[512] = "";
    t.n = 0;
    add(&t, "name;email;co", NULL, NULL);
    for (int i = 0; i < 30; i++)
        add(&t, "bob;bob@example.com;acme", NULL, NULL);
    assert_true(judge(&t, 0, true, msg));
    assert_non_null(strstr(msg, "30 of the first 30 values in column 1"));
    assert_non_null(strstr(msg, "try --delimiter ';'"));
    assert_non_null(strstr(msg, "1 \"name;email;co\""));
    assert_non_null(strstr(msg, "--force"));
}

static void test_wrong_column(void **state)
{
    (void)state;
    static table t;
    char msg[512] = "";
    t.n = 0;
    add(&t, "name", "email", "co");
    for (int i = 0; i < 30; i++)
        add(&t, "bob", "bob@example.com", "acme");
    assert_true(judge(&t, 2, true, msg));
    assert_non_null(strstr(msg, "try --column 2"));
    assert_non_null(strstr(msg, "header: 1 \"name\", 2 \"email\", 3 \"co\""));
}

static void test_empty_cells_are_not_values(void **state)
{
    (void)state;
    static table t;
    char msg[512] = "";
    t.n = 0;
    add(&t, "name", "email", "co");
    for (int i = 0; i < 30; i++)
        add(&t, "bob", i % 3 ? "" : "bob@example.com", "acme");
    assert_false(judge(&t, 1, true, msg));
}

static void test_few_rows_prove_nothing(void **state)
{
    (void)state;
    static table t;
    char msg[512] = "";
    t.n = 0;
    add(&t, "email", NULL, NULL);
    for (int i = 0; i < SANITY_MIN_ROWS - 1; i++)
        add(&t, "typo.example.com", NULL, NULL);
    assert_false(judge(&t, 0, true, msg));
    add(&t, "typo.example.com", NULL, NULL);
    assert_true(judge(&t, 0, true, msg));
    assert_non_null(strstr(msg, "no column holds addresses"));
}

static void test_short_rows_count_invalid(void **state)
{
    (void)state;
    static table t;
    char msg[512] = "";
    t.n = 0;
    add(&t, "a", "email", NULL);
    for (int i = 0; i < 20; i++)
        add(&t, "x", NULL, NULL);          /* no cell at all in column 2 */
    assert_true(judge(&t, 1, true, msg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_list_runs),
        cmocka_unit_test(test_wrong_delimiter),
        cmocka_unit_test(test_wrong_column),
        cmocka_unit_test(test_empty_cells_are_not_values),
        cmocka_unit_test(test_few_rows_prove_nothing),
        cmocka_unit_test(test_short_rows_count_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
