/* test_flagset.c — the one-bit name set: put, take, overwrite, and the
 * deletion that shifts entries back, against a plain array as the model
 * over many random operations (a hole left wrongly loses a name). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "flagset.h"

static void test_basic(void **state)
{
    (void)state;
    flagset f;
    flagset_init(&f);
    bool bit = false;
    assert_false(flagset_take(&f, "a.example", &bit));
    flagset_put(&f, "a.example", true);
    flagset_put(&f, "b.example", false);
    flagset_put(&f, "a.example", false);                 /* overwritten, not added */
    assert_int_equal(flagset_count(&f), 2);
    assert_true(flagset_get(&f, "b.example", &bit));
    assert_false(bit);
    assert_false(flagset_get(&f, "c.example", &bit));
    assert_int_equal(flagset_count(&f), 2);              /* get leaves it there */
    assert_true(flagset_take(&f, "a.example", &bit));
    assert_false(bit);
    assert_false(flagset_take(&f, "a.example", &bit));   /* taken out */
    assert_true(flagset_take(&f, "b.example", &bit));
    assert_false(bit);
    assert_int_equal(flagset_count(&f), 0);
    flagset_free(&f);
}

/* Random puts and takes over 20,000 names in a table that grows and wraps;
 * the model is an array of states (absent, false, true). */
static void test_against_model(void **state)
{
    (void)state;
    enum { N = 20000 };
    static signed char model[N];        /* -1 absent, 0, 1 */
    for (int i = 0; i < N; i++)
        model[i] = -1;
    flagset f;
    flagset_init(&f);
    srand(7);
    char name[32];
    size_t count = 0;
    for (int step = 0; step < 400000; step++) {
        int k = rand() % N;
        snprintf(name, sizeof name, "d%d.example", k);
        if (rand() % 3) {
            bool b = rand() % 2;
            count += model[k] < 0;
            model[k] = b;
            flagset_put(&f, name, b);
        } else {
            bool bit = false, got = flagset_take(&f, name, &bit);
            if (got != (model[k] >= 0))
                fail_msg("step %d: take %s gave %d, model %d", step, name, got, model[k]);
            if (got) {
                assert_int_equal(bit, model[k]);
                count--;
            }
            model[k] = -1;
        }
        assert_int_equal(flagset_count(&f), count);
    }
    for (int k = 0; k < N; k++) {       /* every name still there is found */
        snprintf(name, sizeof name, "d%d.example", k);
        bool bit = false;
        assert_int_equal(flagset_take(&f, name, &bit), model[k] >= 0);
    }
    assert_int_equal(flagset_count(&f), 0);
    flagset_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
