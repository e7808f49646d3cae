/* test_addr.c — focused cases for addr_parse(): every error, the
 * normalisations, and the length limits at their boundaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"

static addr_opts defaults(void)
{
    addr_opts o;
    addr_opts_default(&o);
    return o;
}

static addr_err parse_with(const char *s, const addr_opts *o, addr *a)
{
    return addr_parse(s, strlen(s), o, a);
}

static addr_err parse(const char *s, addr *a)
{
    addr_opts o = defaults();
    return parse_with(s, &o, a);
}

#define ERR(s, e)                                                                                                     \
    do {                                                                                                              \
        addr a_;                                                                                                      \
        addr_err got_ = parse(s, &a_);                                                                                \
        if (got_ != (e))                                                                                              \
            fail_msg("%s: got %s, want %s", s, addr_strerror(got_), addr_strerror(e));                                \
    } while (0)

/* S parses with defaults into EMAIL and ASCII_DOMAIN. */
static void ok(const char *s, const char *email, const char *ascii_domain)
{
    addr a;
    addr_err e = parse(s, &a);
    if (e != ADDR_OK)
        fail_msg("%s: %s", s, addr_strerror(e));
    assert_string_equal(a.email, email);
    assert_string_equal(a.ascii_domain, ascii_domain);
}

static void test_defaults(void **st)
{
    (void)st;
    addr_opts o = defaults();
    assert_true(o.allow_smtputf8 && o.allow_display_name);
    assert_false(o.allow_quoted_local || o.allow_domain_literal || o.allow_empty_local);
    assert_false(o.allow_special_use || o.lax_local_length);
}

static void test_every_error(void **st)
{
    (void)st;
    ERR("", ADDR_ERR_EMPTY);
    ERR(" \t\xc2\xa0 ", ADDR_ERR_EMPTY);
    ERR("mailto:", ADDR_ERR_EMPTY);
    ERR("john.example.com", ADDR_ERR_NO_AT);
    ERR("hello\xef\xbc\xa0world.com", ADDR_ERR_NO_AT); /* fullwidth at-sign */
    ERR("@example.com", ADDR_ERR_LOCAL_EMPTY);
    ERR("a b@example.com", ADDR_ERR_LOCAL_CHARS);
    ERR("a,b@example.com", ADDR_ERR_LOCAL_CHARS);
    ERR("a\"b@example.com", ADDR_ERR_LOCAL_CHARS);
    ERR("A@b@c.com", ADDR_ERR_LOCAL_CHARS);
    ERR(".a@example.com", ADDR_ERR_LOCAL_DOTS);
    ERR("a.@example.com", ADDR_ERR_LOCAL_DOTS);
    ERR("a..b@example.com", ADDR_ERR_LOCAL_DOTS);
    ERR("\"a b\"@example.com", ADDR_ERR_QUOTED_LOCAL);
    ERR("a@", ADDR_ERR_DOMAIN_EMPTY);
    ERR("a@x_y.com", ADDR_ERR_DOMAIN_CHARS);
    ERR("a@x!.com", ADDR_ERR_DOMAIN_CHARS);
    ERR("a@.example.com", ADDR_ERR_DOMAIN_DOTS);
    ERR("a@example..com", ADDR_ERR_DOMAIN_DOTS);
    ERR("a@example.com.", ADDR_ERR_DOMAIN_DOTS);
    ERR("a@example\xef\xbc\x8e\xef\xbc\x8e" "com", ADDR_ERR_DOMAIN_DOTS); /* fullwidth dots map to dots */
    ERR("a@-example.com", ADDR_ERR_DOMAIN_HYPHEN);
    ERR("a@example-.com", ADDR_ERR_DOMAIN_HYPHEN);
    ERR("a@ab--c.com", ADDR_ERR_DOMAIN_HYPHEN);
    ERR("a@localhost", ADDR_ERR_DOMAIN_NO_DOT);
    ERR("a@example.123", ADDR_ERR_DOMAIN_TLD);
    ERR("a@example.tld-2", ADDR_ERR_DOMAIN_TLD);
    ERR("a@xn--0.com", ADDR_ERR_DOMAIN_IDNA);
    ERR("a@\xe2\x92\x88x.com", ADDR_ERR_DOMAIN_IDNA); /* U+2488 would expand to "1." */
    ERR("a@[192.0.2.1]", ADDR_ERR_DOMAIN_LITERAL);
    ERR("a@example.arpa", ADDR_ERR_SPECIAL_USE);
    ERR("a@x.invalid", ADDR_ERR_SPECIAL_USE);
    ERR("a@printer.local", ADDR_ERR_SPECIAL_USE);
    ERR("a@my.localhost", ADDR_ERR_SPECIAL_USE);
    ERR("a@xyz.onion", ADDR_ERR_SPECIAL_USE);
    ERR("a@mycompany.test", ADDR_ERR_SPECIAL_USE);
    ERR("<a@example.com", ADDR_ERR_DISPLAY_NAME);
    ERR("<a@example.com> x", ADDR_ERR_DISPLAY_NAME);
    ERR("Jane \"x\" <a@example.com>", ADDR_ERR_DISPLAY_NAME);
    ERR("a@example.com>", ADDR_ERR_DISPLAY_NAME);
    ERR("a\xe2\x80\x8b@example.com", ADDR_ERR_UNSAFE);     /* zero-width space */
    ERR("\xe2\x80\xae" "a@example.com", ADDR_ERR_UNSAFE);  /* RIGHT-TO-LEFT OVERRIDE */
    ERR("a\xe2\x80\xa8@example.com", ADDR_ERR_UNSAFE);     /* LINE SEPARATOR */
    ERR("a\xee\x80\x80@example.com", ADDR_ERR_UNSAFE);     /* private use */
    ERR("a\xef\xb7\xaf@example.com", ADDR_ERR_UNSAFE);     /* noncharacter U+FDEF */
    ERR("\xcc\x80" "a@example.com", ADDR_ERR_UNSAFE);      /* combining mark first */
    ERR("a@\xcc\x80" "example.com", ADDR_ERR_UNSAFE);
    ERR("a\xc2\x9c@example.com", ADDR_ERR_UNSAFE);         /* C1 control */
    ERR("\xed\xa0\x80@example.com", ADDR_ERR_UNSAFE);      /* surrogate */
    ERR("a\nb@example.com", ADDR_ERR_UNSAFE);
    ERR("ab@example.com\n", ADDR_ERR_UNSAFE);              /* LF is not trimmed */
    ERR("a@exa\x01mple.com", ADDR_ERR_UNSAFE);
    ERR("a\xff@example.com", ADDR_ERR_UTF8);
    ERR("a\xc3@example.com", ADDR_ERR_UTF8);
    addr a;
    addr_opts o = defaults();
    o.allow_smtputf8 = false;
    assert_int_equal(parse_with("j\xc3\xb6rg@example.com", &o, &a), ADDR_ERR_SMTPUTF8);
    assert_int_equal(parse_with("jorg@b\xc3\xbc" "cher.de", &o, &a), ADDR_OK); /* IDN domain is fine */
    o = defaults();
    o.allow_display_name = false;
    assert_int_equal(parse_with("Jane <a@example.com>", &o, &a), ADDR_ERR_DISPLAY_NAME);
    assert_int_equal(parse_with("<a@example.com>", &o, &a), ADDR_ERR_DISPLAY_NAME);
    o = defaults();
    o.allow_domain_literal = true;
    assert_int_equal(parse_with("a@[192.0.2.999]", &o, &a), ADDR_ERR_DOMAIN_LITERAL);
    assert_int_equal(parse_with("a@[IPv6:::G]", &o, &a), ADDR_ERR_DOMAIN_LITERAL);
    assert_int_equal(parse_with("a@[tag:text]", &o, &a), ADDR_ERR_DOMAIN_LITERAL);
    assert_int_equal(parse_with("a@[192.0.2.1", &o, &a), ADDR_ERR_DOMAIN_LITERAL);
    for (int e = 0; e < ADDR_ERR__COUNT; e++)
        assert_true(strlen(addr_strerror((addr_err)e)) > 0);
}

static void test_normalise(void **st)
{
    (void)st;
    ok("john.smith@example.com", "john.smith@example.com", "example.com");
    ok("  John.Smith@EXAMPLE.COM\t", "John.Smith@example.com", "example.com"); /* local case kept */
    ok("\xc2\xa0\xe3\x80\x80" "a@example.com\xe2\x80\x83", "a@example.com", "example.com"); /* Unicode spaces */
    ok("mailto:a@example.com", "a@example.com", "example.com");
    ok("MAILTO:a@example.com", "a@example.com", "example.com");
    ok("Jane Doe <jane@example.com>", "jane@example.com", "example.com");
    ok("\"Doe, Jane\" <jane@example.com>", "jane@example.com", "example.com");
    ok("<jane@example.com>", "jane@example.com", "example.com");
    ok("<mailto:jane@example.com>", "jane@example.com", "example.com");
    ok("!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com", "example.com");
    /* IDN: U-labels in, both forms out; A-labels in, U-label out */
    ok("jeff@\xe8\x87\xba\xe7\xb6\xb2\xe4\xb8\xad\xe5\xbf\x83.tw", "jeff@\xe8\x87\xba\xe7\xb6\xb2\xe4\xb8\xad\xe5\xbf\x83.tw",
       "xn--fiqq24b10vi0d.tw");
    ok("a@B\xc3\x9c" "CHER.de", "a@b\xc3\xbc" "cher.de", "xn--bcher-kva.de");
    ok("a@XN--BCHER-KVA.DE", "a@b\xc3\xbc" "cher.de", "xn--bcher-kva.de");
    ok("a@b\xc3\xbc" "cher\xe3\x80\x82" "de", "a@b\xc3\xbc" "cher.de", "xn--bcher-kva.de"); /* ideographic stop */
    /* NFC: s + dot below + dot above becomes U+1E69 */
    addr a;
    assert_int_equal(parse("s\xcc\xa3\xcc\x87@example.com", &a), ADDR_OK);
    assert_string_equal(a.local, "\xe1\xb9\xa9");
    assert_true(a.smtputf8);
    assert_int_equal(parse("plain@example.com", &a), ADDR_OK);
    assert_false(a.smtputf8);
    assert_string_equal(a.local, "plain");
    assert_string_equal(a.domain, "example.com");
    /* fullwidth at-sign inside an international local part is a character */
    assert_int_equal(parse("\xef\xbc\xa0@example.com", &a), ADDR_OK);
    /* found by fuzzing: KELVIN SIGN folds to ASCII "K" under NFC, so no SMTPUTF8 */
    assert_int_equal(parse("\xe2\x84\xaa@example.com", &a), ADDR_OK);
    assert_string_equal(a.local, "K");
    assert_false(a.smtputf8);
    /* found by fuzzing: an A-label whose U-label IDNA2008 disallows (U+24AE) */
    assert_int_equal(parse("a@xn--wth.com", &a), ADDR_ERR_DOMAIN_IDNA);
    assert_int_equal(parse("a@b\xc3\xbc" "cher.xn--wth.com", &a), ADDR_ERR_DOMAIN_IDNA); /* beside a U-label */
    assert_int_equal(parse("a@b\xc3\xbc" "cher.xn--bcher-kva.de", &a), ADDR_OK);
}

static void test_options(void **st)
{
    (void)st;
    addr a;
    addr_opts o = defaults();
    o.allow_quoted_local = true;
    assert_int_equal(parse_with("\"de-quoted.ok\"@example.com", &o, &a), ADDR_OK);
    assert_string_equal(a.local, "de-quoted.ok");
    assert_int_equal(parse_with("\"a \\\"b\\\\ c\"@example.com", &o, &a), ADDR_OK);
    assert_string_equal(a.local, "\"a \\\"b\\\\ c\"");
    assert_int_equal(parse_with("\"quoted.with.at@\"@example.com", &o, &a), ADDR_OK);
    assert_int_equal(parse_with("\"\"@example.com", &o, &a), ADDR_ERR_LOCAL_EMPTY);
    o.allow_empty_local = true;
    assert_int_equal(parse_with("\"\"@example.com", &o, &a), ADDR_OK);
    assert_int_equal(parse_with("@example.com", &o, &a), ADDR_OK);

    o = defaults();
    o.allow_domain_literal = true;
    assert_int_equal(parse_with("me@[127.0.0.1]", &o, &a), ADDR_OK);
    assert_string_equal(a.email, "me@[127.0.0.1]");
    assert_int_equal(parse_with("me@[IPv6:0000:0000:0000:0000:0000:0000:0000:0001]", &o, &a), ADDR_OK);
    assert_string_equal(a.ascii_domain, "[IPv6:::1]");

    o = defaults();
    o.allow_special_use = true;
    assert_int_equal(parse_with("a@test", &o, &a), ADDR_OK);
    assert_int_equal(parse_with("a@mycompany.test", &o, &a), ADDR_OK);
    assert_int_equal(parse_with("a@localhost", &o, &a), ADDR_ERR_DOMAIN_NO_DOT);
}

/* A string of N copies of C. */
static char *rep(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* A domain of exactly N octets: 63-octet labels, then the rest, ".com". */
static char *domain_of(char *buf, size_t n)
{
    size_t k = 0, body = n - 4;
    while (k < body) {
        size_t lab = body - k > 64 ? 63 : body - k - 1;
        if (k > 0)
            buf[k++] = '.', lab--;
        memset(buf + k, 'a', lab);
        k += lab;
        if (body - k == 1) /* avoid a 1-octet remainder: lengthen this label */
            buf[k++] = 'b';
    }
    memcpy(buf + k, ".com", 5);
    assert_int_equal(strlen(buf), n);
    return buf;
}

static void test_lengths(void **st)
{
    (void)st;
    char l[400], d[400], s[900];
    addr a;
    addr_opts lax = defaults();
    lax.lax_local_length = true;

    snprintf(s, sizeof s, "%s@example.com", rep(l, 'a', 64));
    assert_int_equal(parse(s, &a), ADDR_OK);
    snprintf(s, sizeof s, "%s@example.com", rep(l, 'a', 65));
    assert_int_equal(parse(s, &a), ADDR_ERR_LOCAL_TOO_LONG);
    assert_int_equal(parse_with(s, &lax, &a), ADDR_OK);
    /* 32 two-octet letters: 64 octets; 33: 65 */
    strcpy(l, "");
    for (int i = 0; i < 32; i++)
        strcat(l, "\xc3\xa9");
    snprintf(s, sizeof s, "%s@example.com", l);
    assert_int_equal(parse(s, &a), ADDR_OK);
    snprintf(s, sizeof s, "%s\xc3\xa9@example.com", l);
    assert_int_equal(parse(s, &a), ADDR_ERR_LOCAL_TOO_LONG);

    snprintf(s, sizeof s, "a@%s.com", rep(l, 'b', 63));
    assert_int_equal(parse(s, &a), ADDR_OK);
    snprintf(s, sizeof s, "a@%s.com", rep(l, 'b', 64));
    assert_int_equal(parse(s, &a), ADDR_ERR_LABEL_TOO_LONG);

    /* 253 octets is the domain limit; with "a@" in front the address is
     * then 255 octets, so 253 fails on the total and 254 on the domain. */
    snprintf(s, sizeof s, "a@%s", domain_of(d, 253));
    assert_int_equal(parse(s, &a), ADDR_ERR_TOO_LONG);
    snprintf(s, sizeof s, "a@%s", domain_of(d, 254));
    assert_int_equal(parse(s, &a), ADDR_ERR_DOMAIN_TOO_LONG);

    /* total: 64 + 1 + 189 = 254 passes, 64 + 1 + 190 = 255 fails */
    snprintf(s, sizeof s, "%s@%s", rep(l, 'a', 64), domain_of(d, 189));
    assert_int_equal(parse(s, &a), ADDR_OK);
    assert_int_equal(strlen(a.email), 254);
    snprintf(s, sizeof s, "%s@%s", rep(l, 'a', 64), domain_of(d, 190));
    assert_int_equal(parse(s, &a), ADDR_ERR_TOO_LONG);
    /* the total counts the A-label form: "ü." is 3 octets, "xn--tda." 8 */
    snprintf(s, sizeof s, "%s@\xc3\xbc.%s", rep(l, 'a', 64), domain_of(d, 186));
    assert_int_equal(strlen(s), 254);
    assert_int_equal(parse(s, &a), ADDR_ERR_TOO_LONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),  cmocka_unit_test(test_every_error), cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_options),   cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
