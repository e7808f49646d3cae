/* test_utf16.c — the UTF-16 decoder (src/utf16.c): both byte orders,
 * pairs and units split across blocks, unpaired surrogates and an odd
 * final byte (U+FFFD), the output bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "utf16.h"

/* Decode IN in blocks of STEP bytes, then finish, into OUT. */
static size_t decode(bool be, const char *in, size_t n, size_t step, char *out, bool *odd)
{
    utf16_dec d;
    utf16_init(&d, be);
    size_t o = 0;
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        size_t w = utf16_decode(&d, (const uint8_t *)in + i, k, out + o, UTF16_OUT_MAX(k));
        assert_true(w != SIZE_MAX && w <= UTF16_OUT_MAX(k));
        o += w;
    }
    o += utf16_finish(&d, out + o, UTF16_FINISH_MAX, odd);
    out[o] = '\0';
    return o;
}

/* "aé€😀" in UTF-16LE and BE */
static const char le[] = "a\0\xE9\0\xAC\x20\x3D\xD8\x00\xDE";
static const char be[] = "\0a\0\xE9\x20\xAC\xD8\x3D\xDE\x00";
static const char want[] = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";

static void test_both_orders_every_split(void **state)
{
    (void)state;
    char out[64];
    bool odd;
    for (size_t step = 1; step <= sizeof le - 1; step++) {
        assert_int_equal(decode(false, le, sizeof le - 1, step, out, &odd), sizeof want - 1);
        assert_string_equal(out, want);
        assert_false(odd);
        assert_int_equal(decode(true, be, sizeof be - 1, step, out, &odd), sizeof want - 1);
        assert_string_equal(out, want);
    }
}

static void test_unpaired_surrogates(void **state)
{
    (void)state;
    char out[64];
    bool odd;
    /* a high surrogate then 'x'; a low one alone; a high one at the end */
    static const char in[] = "\x3D\xD8x\0\x00\xDEy\0\x3D\xD8";
    for (size_t step = 1; step <= 3; step++) {
        decode(false, in, sizeof in - 1, step, out, &odd);
        assert_string_equal(out, "\xEF\xBF\xBDx\xEF\xBF\xBDy\xEF\xBF\xBD");
    }
}

static void test_odd_final_byte(void **state)
{
    (void)state;
    char out[64];
    bool odd;
    decode(false, "a\0b", 3, 2, out, &odd);
    assert_true(odd);
    assert_string_equal(out, "a\xEF\xBF\xBD");
}

static void test_output_bound(void **state)
{
    (void)state;
    utf16_dec d;
    utf16_init(&d, false);
    char out[8];
    assert_int_equal(utf16_decode(&d, (const uint8_t *)"\xAC\x20\xAC\x20", 4, out, 8), SIZE_MAX);
    assert_int_equal(utf16_finish(&d, out, 5, NULL), SIZE_MAX);
    /* worst case: a pending high surrogate, then units of three bytes each */
    char big[UTF16_OUT_MAX(5)];
    assert_int_equal(utf16_decode(&d, (const uint8_t *)"\x3D", 1, big, sizeof big), 0);
    assert_int_equal(utf16_decode(&d, (const uint8_t *)"\xD8\xAC\x20\xAC\x20\xAC", 5, big,
                                  sizeof big), 9);   /* U+FFFD, two €, one byte kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_orders_every_split),
        cmocka_unit_test(test_unpaired_surrogates),
        cmocka_unit_test(test_odd_final_byte),
        cmocka_unit_test(test_output_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
