/* test_str.c — str_copy, str_copy_utf8 and str_copy_lower: NULL, exact fit, cuts. */
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

static void test_copy_lower(void **state)
{
    (void)state;
    char b[8];
    assert_string_equal(str_copy_lower(b, sizeof b, NULL), "");
    assert_string_equal(str_copy_lower(b, sizeof b, "MX.Az@["), "mx.az@[");
    assert_string_equal(str_copy_lower(b, sizeof b, "\xc3\x89T\xc3\xa9"), "\xc3\x89t\xc3\xa9");  /* only ASCII */
    assert_string_equal(str_copy_lower(b, 4, "ABCDEF"), "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_copy_utf8),
        cmocka_unit_test(test_copy_lower),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
