/* test_str.c — str_copy and str_copy_utf8: NULL, exact fit, cuts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "str.h"

static void test_copy(void **state)
{
    (void)state;
    char b[4];
    assert_string_equal(str_copy(b, sizeof b, NULL), "");
    assert_string_equal(str_copy(b, sizeof b, "abc"), "abc");
    assert_string_equal(str_copy(b, sizeof b, "abcdef"), "abc");
    assert_string_equal(str_copy(b, 1, "abc"), "");
}

static void test_copy_utf8(void **state)
{
    (void)state;
    char b[4];
    assert_string_equal(str_copy_utf8(b, sizeof b, NULL), "");
    assert_string_equal(str_copy_utf8(b, sizeof b, "abc"), "abc");
    /* "a" + "é" (2 bytes) + "b": the cut at 3 bytes keeps the whole é */
    assert_string_equal(str_copy_utf8(b, sizeof b, "a\xc3\xa9" "b"), "a\xc3\xa9");
    /* "ab" + "é": a cut at 3 bytes would split it, so it goes */
    assert_string_equal(str_copy_utf8(b, sizeof b, "ab\xc3\xa9"), "ab");
    /* the byte-wise copy does split it */
    assert_int_equal(strlen(str_copy(b, sizeof b, "ab\xc3\xa9")), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_copy_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
