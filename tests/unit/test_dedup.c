/* test_dedup.c — mailbox keys (case, spacing, gmail rules, IDN, Unicode
 * case folding) and the index of keys (first row kept, growth, the memory
 * bound per distinct address, measured over a million keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "dedup.h"

/* The key of the raw cell S, as clean makes it: parse, then key. */
static const char *key_of(const char *s, char *buf, size_t len)
{
    addr_opts o;
    addr_opts_default(&o);
    addr a;
    assert_int_equal(addr_parse(s, strlen(s), &o, &a), ADDR_OK);
    size_t n = dedup_key(&a, buf, len);
    assert_true(n > 0);
    assert_int_equal(strlen(buf), n);
    return buf;
}

static void expect_key(const char *in, const char *want)
{
    char buf[DEDUP_KEY_MAX];
    const char *got = key_of(in, buf, sizeof buf);
    if (strcmp(got, want) != 0)
        fail_msg("%s: key %s, want %s", in, got, want);
}

static void test_key_case_and_spaces(void **st)
{
    (void)st;
    expect_key("alice@example.com", "alice@example.com");
    expect_key("Alice@Example.COM", "alice@example.com");
    expect_key("  ALICE@EXAMPLE.COM \t", "alice@example.com");
    expect_key("mailto:Alice@example.com", "alice@example.com");
    expect_key("Alice Smith <ALICE@example.com>", "alice@example.com");
}

static void test_key_gmail(void **st)
{
    (void)st;
    expect_key("John.Doe@gmail.com", "johndoe@gmail.com");
    expect_key("j.o.h.n.d.o.e+News@GMAIL.com", "johndoe@gmail.com");
    expect_key("johndoe+a+b@gmail.com", "johndoe@gmail.com");
    expect_key("John.Doe@googlemail.com", "johndoe@gmail.com");
    expect_key("johndoe+x@GoogleMail.com", "johndoe@gmail.com");
    /* other domains: dots and +tags may be other mailboxes */
    expect_key("John.Doe+News@example.com", "john.doe+news@example.com");
    expect_key("john.doe@gmail.co.uk", "john.doe@gmail.co.uk");
    expect_key("john.doe@mail.gmail.com", "john.doe@mail.gmail.com");
    /* a mark left after a removed dot composes with the letter before it */
    expect_key("STRASSE.\xCC\x81+x@gmail.com", "strass\xC3\xA9@gmail.com");
    expect_key("strass\xC3\xA9@gmail.com", "strass\xC3\xA9@gmail.com");
}

static void test_key_idn(void **st)
{
    (void)st;
    expect_key("user@Bücher.de", "user@xn--bcher-kva.de");
    expect_key("user@BÜCHER.de", "user@xn--bcher-kva.de");
    expect_key("USER@xn--bcher-kva.de", "user@xn--bcher-kva.de");
}

static void test_key_unicode_local(void **st)
{
    (void)st;
    expect_key("ÄRGER@example.com", "ärger@example.com");
    expect_key("A\xCC\x88rger@example.com", "ärger@example.com");   /* decomposed: NFC first */
    expect_key("Straße@example.de", "strasse@example.de");        /* full folding: ß = ss */
    expect_key("STRASSE@example.de", "strasse@example.de");
    expect_key("ΣΊΣΥΦΟΣ@example.gr", "σίσυφοσ@example.gr");
}

static void test_key_bounded(void **st)
{
    (void)st;
    addr_opts o;
    addr_opts_default(&o);
    addr a;
    const char *s = "Straße@example.de";
    assert_int_equal(addr_parse(s, strlen(s), &o, &a), ADDR_OK);
    char small[12];
    assert_int_equal(dedup_key(&a, small, sizeof small), 0);   /* does not fit: no key */
    char exact[19];                                              /* strasse@example.de + NUL */
    assert_int_equal(dedup_key(&a, exact, sizeof exact), 18);
    assert_int_equal(dedup_key(&a, exact, 18), 0);
    assert_int_equal(dedup_key(NULL, exact, sizeof exact), 0);
}

static void test_index_first_row(void **st)
{
    (void)st;
    dedup *d = dedup_new(0);
    assert_non_null(d);
    uint64_t first = 99;
    assert_false(dedup_seen(d, "a@x.com", 7, 5, &first));
    assert_false(dedup_seen(d, "b@x.com", 7, 6, &first));
    assert_true(dedup_seen(d, "a@x.com", 7, 9, &first));
    assert_int_equal(first, 5);
    assert_true(dedup_seen(d, "a@x.com", 7, 12, &first));
    assert_int_equal(first, 5);
    assert_true(dedup_seen(d, "b@x.com", 7, 13, &first));
    assert_int_equal(first, 6);
    assert_false(dedup_seen(d, "c@x.com", 7, 0, &first));       /* row 0 is a row */
    assert_true(dedup_seen(d, "c@x.com", 7, 1, &first));
    assert_int_equal(first, 0);
    assert_false(dedup_seen(d, "a@x.co", 6, 14, &first));       /* a prefix is another key */
    assert_int_equal(dedup_count(d), 4);
    /* rows beyond the 40-bit field are not recorded */
    assert_false(dedup_seen(d, "big@x.com", 9, DEDUP_ROW_MAX + 1, &first));
    assert_false(dedup_seen(d, "big@x.com", 9, 20, &first));
    assert_true(dedup_seen(d, "big@x.com", 9, 21, &first));
    assert_int_equal(first, 20);
    assert_false(dedup_seen(d, "max@x.com", 9, DEDUP_ROW_MAX, &first));
    assert_true(dedup_seen(d, "max@x.com", 9, 22, &first));
    assert_int_equal(first, DEDUP_ROW_MAX);
    dedup_free(d);
}

/* An index sized for the rows expected does not double while they come,
 * and the size asked for is bounded. */
static void test_index_expect(void **st)
{
    (void)st;
    dedup *d = dedup_new(100000);
    assert_non_null(d);
    size_t bytes = dedup_bytes(d);
    assert_int_equal(bytes, (size_t)(1u << 18) * DEDUP_SLOT_BYTES);   /* 3/4 of 2^17 < 100k */
    char k[64];
    uint64_t first;
    for (uint64_t i = 0; i < 100000; i++) {
        int n = snprintf(k, sizeof k, "u%llu@x.example", (unsigned long long)i);
        assert_false(dedup_seen(d, k, (size_t)n, i, &first));
    }
    assert_int_equal(dedup_bytes(d), bytes);
    assert_true(dedup_seen(d, "u7@x.example", 12, 100001, &first));
    assert_int_equal(first, 7);
    dedup_free(d);
    assert_non_null(d = dedup_new(UINT64_MAX));
    assert_int_equal(dedup_bytes(d), (size_t)(DEDUP_EXPECT_MAX * 2) * DEDUP_SLOT_BYTES);
    dedup_free(d);
}

#define NKEYS 1000000

/* A million distinct addresses, then each again: every one found with its
 * first row, none before; the table within 43 bytes per address. */
static void test_index_million(void **st)
{
    (void)st;
    dedup *d = dedup_new(0);
    assert_non_null(d);
    char k[64];
    uint64_t first;
    size_t grew = 0, last = dedup_bytes(d);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < NKEYS; i++) {
        int n = snprintf(k, sizeof k, "user%llu@domain%llu.example", (unsigned long long)i,
                         (unsigned long long)(i % 997));
        if (dedup_seen(d, k, (size_t)n, i, &first))
            fail_msg("key %s reported seen (first %llu)", k, (unsigned long long)first);
        if (dedup_bytes(d) != last) {
            grew++;
            last = dedup_bytes(d);
        }
        /* the bound holds at every moment, not only at the end */
        assert_true(dedup_bytes(d) <= 43 * (dedup_count(d) > 1024 ? dedup_count(d) : 1024) + 16384);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(dedup_count(d), NKEYS);
    assert_true(grew >= 10);
    for (uint64_t i = 0; i < NKEYS; i++) {
        int n = snprintf(k, sizeof k, "user%llu@domain%llu.example", (unsigned long long)i,
                         (unsigned long long)(i % 997));
        assert_true(dedup_seen(d, k, (size_t)n, NKEYS + i, &first));
        assert_int_equal(first, i);
    }
    assert_int_equal(dedup_count(d), NKEYS);
    double bytes = (double)dedup_bytes(d);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("dedup: %d distinct addresses: table %.1f MiB, %.1f bytes per address; "
           "%.0f ns per new key\n", NKEYS, bytes / (1 << 20), bytes / NKEYS, secs * 1e9 / NKEYS);
    assert_true(bytes / NKEYS <= 43.0);
    assert_true(bytes <= 32.0 * (1 << 20));
    dedup_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_case_and_spaces),
        cmocka_unit_test(test_key_gmail),
        cmocka_unit_test(test_key_idn),
        cmocka_unit_test(test_key_unicode_local),
        cmocka_unit_test(test_key_bounded),
        cmocka_unit_test(test_index_first_row),
        cmocka_unit_test(test_index_million),
        cmocka_unit_test(test_index_expect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
