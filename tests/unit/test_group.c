/* test_group.c — a domain's rows handed on together: the keys, the
 * counting pass and the feed (which rows wait, what releases them, in
 * what order, which are their domain's last), the bound on waiting rows, the end of input, and a batch
 * that stops in the middle of a group (ASan: nothing leaks). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"

/* The batch as EMIT sees it: the rows handed on, in order. */
typedef struct sink {
    uint64_t *rows;
    bool *last;                       /* each one's engine_item.last_row */
    size_t n, cap;
    size_t stop_after;                /* say stop at this emit (0: never) */
} sink;

static bool emit(void *ud, engine_item *it)
{
    sink *s = ud;
    if (s->stop_after && s->n + 1 == s->stop_after) {
        engine_item_free(it);         /* batch_add frees what it refuses */
        return false;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->rows = realloc(s->rows, s->cap * sizeof *s->rows);
        s->last = realloc(s->last, s->cap * sizeof *s->last);
        assert_non_null(s->rows);
        assert_non_null(s->last);
    }
    s->last[s->n] = it->last_row;
    s->rows[s->n++] = it->row;
    engine_item_free(it);
    return true;
}

static void sink_free(sink *s)
{
    free(s->rows);
    free(s->last);
}

static engine_item *item(uint64_t row, const char *email)
{
    const char *at = strrchr(email, '@');
    engine_item *it = engine_item_new(row, email, email, at ? at + 1 : "", "", false, false, false);
    assert_non_null(it);
    return it;
}

static uint64_t key(const group *g, const char *cell)
{
    return group_key(g, cell, strlen(cell));
}

/* The rows of a small list, counted and sealed: CELLS[i] is row i. */
static group *counted(const char *const *cells, size_t n, size_t rows_max)
{
    group *g = group_new(rows_max);
    assert_non_null(g);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(group_count(g, key(g, cells[i])), 0);
    assert_int_equal(group_seal(g), 0);
    return g;
}

static void feed(group *g, const char *const *cells, size_t n, const bool *probed, sink *s)
{
    for (size_t i = 0; i < n; i++)
        assert_true(group_row(g, key(g, cells[i]), probed && !probed[i] ? NULL : item(i, cells[i]),
                              emit, s));
}

static void test_keys(void **state)
{
    (void)state;
    group *g = group_new(50);
    assert_non_null(g);
    uint64_t k = key(g, "ann@example.com");
    assert_int_not_equal(k, 0);
    assert_int_equal(key(g, "bob@EXAMPLE.Com"), k);            /* ASCII case */
    assert_int_equal(key(g, " \"Ann\" <ann@example.com> "), k);   /* a display form */
    assert_int_equal(key(g, "a@b@example.com"), k);            /* the last '@' */
    assert_int_not_equal(key(g, "ann@example.org"), k);
    assert_int_not_equal(key(g, "ann@sub.example.com"), k);
    assert_int_equal(key(g, "no-at-sign"), 0);
    assert_int_equal(key(g, "ann@"), 0);
    assert_int_equal(key(g, "ann@ >"), 0);
    assert_int_equal(group_key(g, "", 0), 0);
    /* not plain: keyed by the screened domain instead, which the plain
     * text's key equals */
    assert_int_equal(key(g, "ann@example.com."), 0);
    assert_int_equal(key(g, "ann@b\xc3\xbc" "cher.de"), 0);
    assert_int_equal(key(g, "ann@xn--bcher-kva.de"), 0);
    assert_int_equal(key(g, "ann@mail.XN--bcher-kva.de"), 0);
    assert_int_equal(key(g, "ann@[192.0.2.1]"), 0);
    assert_int_equal(key(g, "ann@example.com (Ann)"), 0);
    assert_int_not_equal(key(g, "ann@axn--b.de"), 0);           /* "xn--" inside a label */
    assert_int_equal(group_domain_key(g, "example.com"), k);
    assert_int_equal(group_domain_key(g, ""), 0);
    group *h = group_new(50);                                  /* seeded per run */
    assert_int_not_equal(key(h, "ann@example.com"), k);
    group_free(h);
    group_free(g);
}

/* a.com's three rows go together when its last is read, in row order; a
 * domain of one row, and one without a domain, go at once. */
static void test_rows_wait_for_their_last(void **state)
{
    (void)state;
    const char *cells[] = {"x@a.com", "y@b.com", "nobody", "z@A.com", "w@c.com", "v@a.com"};
    size_t n = sizeof cells / sizeof *cells;
    group *g = counted(cells, n, 50);
    sink s = {0};
    for (size_t i = 0; i < n; i++) {
        assert_true(group_row(g, key(g, cells[i]), item(i, cells[i]), emit, &s));
        if (i == 3)
            assert_int_equal(group_waiting(g), 2);             /* rows 0 and 3 */
    }
    uint64_t want[] = {1, 2, 4, 0, 3, 5};
    assert_int_equal(s.n, n);
    assert_memory_equal(s.rows, want, sizeof want);
    bool last[] = {true, false, true, true, true, true};   /* "nobody" has no domain to speak of */
    assert_memory_equal(s.last, last, sizeof last);
    assert_int_equal(group_waiting(g), 0);
    assert_true(group_flush(g, emit, &s));
    assert_int_equal(s.n, n);
    assert_int_equal(group_overflows(g), 0);
    sink_free(&s);
    group_free(g);
}

/* A row that needs no probe (a duplicate, a cached answer, another
 * shard's) still counts: a.com's last row is a duplicate, and its first
 * goes on when that is read, not at the end. */
static void test_unprobed_rows_count(void **state)
{
    (void)state;
    const char *cells[] = {"x@a.com", "y@b.com", "y@b.com", "x@a.com", "z@c.com"};
    bool probed[] = {true, true, false, false, true};
    size_t n = sizeof cells / sizeof *cells;
    group *g = counted(cells, n, 50);
    sink s = {0};
    feed(g, cells, n, probed, &s);
    uint64_t want[] = {1, 0, 4};
    assert_int_equal(s.n, 3);
    assert_memory_equal(s.rows, want, sizeof want);
    assert_int_equal(group_waiting(g), 0);
    sink_free(&s);
    group_free(g);
}

/* A domain of more rows than ROWS_MAX does not wait (the engine gathers
 * those); one of exactly ROWS_MAX does. */
static void test_large_domains_do_not_wait(void **state)
{
    (void)state;
    const char *cells[] = {"1@big.com", "1@mid.com", "2@big.com", "2@mid.com", "3@big.com",
                           "3@mid.com", "4@big.com"};
    size_t n = sizeof cells / sizeof *cells;
    group *g = counted(cells, n, 3);
    sink s = {0};
    feed(g, cells, n, NULL, &s);
    uint64_t want[] = {0, 2, 4, 1, 3, 5, 6};
    assert_int_equal(s.n, n);
    assert_memory_equal(s.rows, want, sizeof want);
    bool last[] = {false, false, false, true, true, true, true};   /* big.com's 4th is its last */
    assert_memory_equal(s.last, last, sizeof last);
    sink_free(&s);
    group_free(g);
}

/* Rows whose last row never comes (a file changed between the passes)
 * go on at the end, oldest group first. */
static void test_flush_oldest_first(void **state)
{
    (void)state;
    const char *counted_cells[] = {"1@a.com", "1@b.com", "1@c.com", "2@a.com", "2@b.com",
                                   "2@c.com"};
    group *g = counted(counted_cells, 6, 50);
    const char *cells[] = {"1@b.com", "1@a.com", "1@c.com", "1@new.com"};
    sink s = {0};
    feed(g, cells, 4, NULL, &s);
    assert_int_equal(s.n, 1);                      /* new.com was not counted: at once */
    assert_int_equal(group_waiting(g), 3);
    assert_true(group_flush(g, emit, &s));
    uint64_t want[] = {3, 0, 1, 2};
    assert_int_equal(s.n, 4);
    assert_memory_equal(s.rows, want, sizeof want);
    bool last[] = {true, true, true, true};        /* INPUT is over */
    assert_memory_equal(s.last, last, sizeof last);
    assert_int_equal(group_waiting(g), 0);
    sink_free(&s);
    group_free(g);
}

/* At most GROUP_HOLD_MAX rows wait: one more sends on the group that has
 * waited longest, all of it. */
static void test_bound(void **state)
{
    (void)state;
    enum { DOMAINS = GROUP_HOLD_MAX / 2 + 2 };
    group *g = group_new(50);
    assert_non_null(g);
    char cell[64];
    for (int d = 0; d < DOMAINS; d++)
        for (int r = 0; r < 3; r++) {
            snprintf(cell, sizeof cell, "%d@d%d.example", r, d);
            assert_int_equal(group_count(g, key(g, cell)), 0);
        }
    assert_int_equal(group_seal(g), 0);
    sink s = {0};
    uint64_t row = 0;
    for (int r = 0; r < 2; r++)          /* two rows of every domain: all wait, but the bound */
        for (int d = 0; d < DOMAINS; d++) {
            snprintf(cell, sizeof cell, "%d@d%d.example", r, d);
            assert_true(group_row(g, key(g, cell), item(row++, cell), emit, &s));
            assert_true(group_waiting(g) <= GROUP_HOLD_MAX);
        }
    /* 2 * DOMAINS = GROUP_HOLD_MAX + 4 rows: two overflows, d0's group
     * (rows 0 and DOMAINS) and then d1's (1 and DOMAINS + 1) */
    assert_int_equal(group_overflows(g), 2);
    assert_int_equal(s.n, 4);
    uint64_t want[] = {0, DOMAINS, 1, DOMAINS + 1};
    assert_memory_equal(s.rows, want, sizeof want);
    for (size_t k = 0; k < 4; k++)
        assert_false(s.last[k]);                   /* sent early: their third rows are to come */
    snprintf(cell, sizeof cell, "2@d0.example");     /* d0 started over: goes at once */
    assert_true(group_row(g, key(g, cell), item(row++, cell), emit, &s));
    assert_int_equal(s.n, 5);
    assert_true(s.last[4]);
    snprintf(cell, sizeof cell, "2@d2.example");     /* d2's last row: its three go */
    assert_true(group_row(g, key(g, cell), item(row++, cell), emit, &s));
    assert_int_equal(s.n, 8);
    assert_int_equal(s.rows[5], 2);
    assert_int_equal(s.rows[7], row - 1);
    assert_int_equal(group_waiting(g), GROUP_HOLD_MAX - 2);
    sink_free(&s);
    group_free(g);                    /* frees the rows still waiting */
}

/* The batch stops while a group is handed on: false, and the group's
 * other rows are freed (ASan), never handed on later. */
static void test_stop_inside_a_group(void **state)
{
    (void)state;
    const char *cells[] = {"1@a.com", "2@a.com", "3@a.com", "1@b.com", "2@b.com"};
    size_t n = sizeof cells / sizeof *cells;
    group *g = counted(cells, n, 50);
    sink s = {.stop_after = 2};
    for (size_t i = 0; i < 2; i++)
        assert_true(group_row(g, key(g, cells[i]), item(i, cells[i]), emit, &s));
    assert_false(group_row(g, key(g, cells[2]), item(2, cells[2]), emit, &s));
    assert_int_equal(s.n, 1);
    assert_int_equal(group_waiting(g), 0);
    assert_true(group_row(g, key(g, cells[3]), item(3, cells[3]), emit, &s));
    group_free(g);                    /* b.com's row still waits: freed here */
    sink_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_rows_wait_for_their_last),
        cmocka_unit_test(test_unprobed_rows_count),
        cmocka_unit_test(test_large_domains_do_not_wait),
        cmocka_unit_test(test_flush_oldest_first),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_stop_inside_a_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
