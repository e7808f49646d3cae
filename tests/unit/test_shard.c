/* test_shard.c — --shard K/N: parsing, and a split that is stable, covers
 * every shard and keeps a domain in one shard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "shard.h"

static void test_parse(void **state)
{
    (void)state;
    int k = 0, n = 0;
    assert_true(shard_parse("1/1", &k, &n));
    assert_true(k == 1 && n == 1);
    assert_true(shard_parse("3/8", &k, &n));
    assert_true(k == 3 && n == 8);
    const char *bad[] = {"", "0/3", "4/3", "1/0", "1/", "/3", "a/b", "1/3x", " 1/3", "1/-3",
                         "1/100001", "99999999999999999999/3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(shard_parse(bad[i], &k, &n));
}

static void test_split(void **state)
{
    (void)state;
    /* Fixed forever: a changed hash would move domains of half-done lists. */
    assert_int_equal(shard_of("", 3), (int)(1469598103934665603ULL % 3) + 1);
    assert_int_equal(shard_of("example.com", 1), 1);
    int seen[8] = {0};
    char d[32];
    for (int i = 0; i < 4000; i++) {
        snprintf(d, sizeof d, "domain%d.test", i);
        int s = shard_of(d, 8);
        assert_true(s >= 1 && s <= 8);
        assert_int_equal(shard_of(d, 8), s);
        seen[s - 1]++;
    }
    for (int s = 0; s < 8; s++)              /* roughly even: 500 each */
        assert_true(seen[s] > 400 && seen[s] < 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
