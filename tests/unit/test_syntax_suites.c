/* test_syntax_suites.c — run addr_parse() over two third-party conformance
 * suites (tests/data/, see tests/data/SOURCES.md) and hold the result
 * to a recorded list of known, explained disagreements.
 *
 * python-email-validator: must agree on >= 99% of rows, and the set of
 * disagreeing rows must equal python_known[] exactly, so it cannot drift.
 * rust email_address: run with mailvet's defaults; no threshold, but the
 * disagreements must equal rust_known[].
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define LINE_MAX_LEN 8192
#define FIELDS_MAX 12

typedef struct known {
    const char *address; /* decoded address */
    const char *options; /* the row's options column (python), NULL: any */
    const char *why;
} known;

/* Rows where mailvet deliberately differs from python-email-validator. */
static const known python_known[] = {
    {"my.s\xcc\xa3\xcc\x87.address@1111111111222222222233333333334444444444555555555."
     "6666666666777777777788888888889999999999000000000.1111111111222222222233333333334444444444555555555."
     "6666666666777777777788888888889999999999000000000.1111111111222222222233333333334444.info",
     "(defaults)",
     "the s + two combining marks are 256 octets as given but 254 after NFC; mailvet measures the "
     "NFC address it outputs and probes, python measures the input too"},
    {NULL, NULL, NULL},
};

/* Rows where mailvet's defaults differ from the rust crate's expectation. */
static const known rust_known[] = {
    {"admin@mailserver1", "(default Options)",
     "single-label domains cannot be MX-routed on the Internet: mailvet requires a dot"},
    {"\" \"@example.org", "(default Options)",
     "quoted local parts are refused by default"},
    {"\"john..doe\"@example.org", "(default Options)",
     "quoted local parts are refused by default"},
    {"jsmith@[192.168.2.1]", "(default Options)",
     "domain literals are refused by default (no MX routing)"},
    {"jsmith@[IPv6:2001:db8::1]", "(default Options)",
     "domain literals are refused by default (no MX routing)"},
    {"\"Abc@def\"@example.com", "(default Options)",
     "quoted local parts are refused by default"},
    {"\"Joe.\\\\Blow\"@example.com", "(default Options)",
     "quoted local parts are refused by default"},
    {"email@[127.0.0.256]", "Options { allow_domain_literal: true}",
     "literals refused by default; also 256 is not an IPv4 octet"},
    {"email@[2001:db8::12345]", "Options { allow_domain_literal: true}",
     "literals refused by default; also 12345 is not an IPv6 group"},
    {"email@[2001:db8:0:0:0:0:1]", "Options { allow_domain_literal: true}",
     "literals refused by default; also seven groups and no :: is not IPv6"},
    {"email@[::ffff:127.0.0.256]", "Options { allow_domain_literal: true}",
     "literals refused by default; also 256 is not an IPv4 octet"},
    {"email@[2001:dg8::1]", "Options { allow_domain_literal: true}",
     "literals refused by default; also 'g' is not hex"},
    {"email@[2001:dG8:0:0:0:0:0:1]", "Options { allow_domain_literal: true}",
     "literals refused by default; also 'G' is not hex"},
    {"email@[::fTzF:127.0.0.1]", "Options { allow_domain_literal: true}",
     "literals refused by default; also 'T', 'z' are not hex"},
    {"foo@a.b.c.d.e.f.g.h.i", "Options::default().with_minimum_sub_domains(10)",
     "mailvet has no minimum-subdomain option"},
    {"<simon@example.com>", "(default Options)",
     "mailvet strips bare angle brackets, common in exported lists"},
    {"<simon@example.com>", "Options::default().without_display_text()",
     "mailvet's defaults allow display names and brackets"},
    {"Simons Email <simon@example.com>", "Options::default().without_display_text()",
     "mailvet's defaults allow display names"},
    {"simon@localhost", "Options::default()",
     "single-label (and special-use) domain"},
    {"simon@localhost", "Options::default().with_no_minimum_sub_domains()",
     "single-label (and special-use) domain"},
    {NULL, NULL, NULL},
};

/* ---- TSV reading ------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode the \xNN escapes of SOURCES.md in place; any other backslash is
 * literal. Returns the decoded length (may contain NUL bytes). */
static size_t tsv_decode(char *s)
{
    size_t r = 0, w = 0, n = strlen(s);
    while (r < n) {
        if (s[r] == '\\' && r + 3 < n && s[r + 1] == 'x' &&
            hexval((unsigned char)s[r + 2]) >= 0 && hexval((unsigned char)s[r + 3]) >= 0) {
            s[w++] = (char)(hexval((unsigned char)s[r + 2]) * 16 + hexval((unsigned char)s[r + 3]));
            r += 4;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

static void check_hex(const char *p, size_t n, const char *hex)
{
    static const char digits[] = "0123456789ABCDEF";
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        assert_int_equal(hex[2 * i], digits[c >> 4]);
        assert_int_equal(hex[2 * i + 1], digits[c & 15]);
    }
}

/* Split LINE on tabs into F (at most FIELDS_MAX); returns the count. */
static int tsv_split(char *line, char **f)
{
    int k = 0;
    line[strcspn(line, "\n")] = '\0';
    f[k++] = line;
    for (char *p = line; *p && k < FIELDS_MAX; p++)
        if (*p == '\t') {
            *p = '\0';
            f[k++] = p + 1;
        }
    return k;
}

/* ---- comparison -------------------------------------------------------- */

typedef struct tally {
    int rows, agree;
    int known_hit;
    const known *table;
    size_t table_n;
    bool *seen;
} tally;

static const known *find_known(const tally *t, const char *a, size_t an, const char *opts)
{
    for (size_t i = 0; i < t->table_n; i++) {
        const known *k = &t->table[i];
        if (k->address && strlen(k->address) == an && memcmp(k->address, a, an) == 0 &&
            (k->options == NULL || strcmp(k->options, opts) == 0))
            return k;
    }
    return NULL;
}

static void record(tally *t, const char *a, size_t an, const char *opts, bool want, addr_err got)
{
    t->rows++;
    bool ok = (got == ADDR_OK) == want;
    const known *k = find_known(t, a, an, opts);
    if (ok) {
        t->agree++;
        if (k != NULL)
            fail_msg("row listed as a disagreement now agrees: %.*s [%s]", (int)an, a, opts);
        return;
    }
    if (k == NULL) {
        printf("  UNLISTED disagreement: {\"%.*s\", \"%s\", \"expected %s, got %s\"}\n", (int)an, a, opts,
               want ? "valid" : "invalid", addr_strerror(got));
        t->known_hit = -1000000; /* forces the count check to fail */
        return;
    }
    t->seen[k - t->table] = true;
    t->known_hit++;
    printf("  differs (listed): %.*s [%s] — %s\n", (int)an, a, opts, k->why);
}

static size_t table_len(const known *k)
{
    size_t n = 0;
    while (k[n].address)
        n++;
    return n;
}

/* ---- python-email-validator ------------------------------------------- */

static void py_opts(const char *s, bool smtputf8, addr_opts *o)
{
    *o = (addr_opts){.allow_smtputf8 = smtputf8, .lax_local_length = strstr(s, "strict=True") == NULL};
    o->allow_quoted_local = strstr(s, "allow_quoted_local=True") != NULL;
    o->allow_domain_literal = strstr(s, "allow_domain_literal=True") != NULL;
    o->allow_display_name = strstr(s, "allow_display_name=True") != NULL;
    o->allow_empty_local = strstr(s, "allow_empty_local=True") != NULL;
    o->allow_special_use = strstr(s, "test_environment=True") != NULL;
    if (strstr(s, "allow_smtputf8=False"))
        o->allow_smtputf8 = false;
}

static void test_python_suite(void **state)
{
    (void)state;
    FILE *fp = fopen("tests/data/python-email-validator.tsv", "r");
    assert_non_null(fp);
    static char line[LINE_MAX_LEN];
    char *f[FIELDS_MAX];
    bool seen[sizeof python_known / sizeof python_known[0]] = {0};
    tally t = {.table = python_known, .table_n = table_len(python_known), .seen = seen};
    int rows = 0;
    assert_non_null(fgets(line, sizeof line, fp)); /* header */
    while (fgets(line, sizeof line, fp)) {
        assert_int_equal(tsv_split(line, f), 9);
        size_t an = tsv_decode(f[0]);
        check_hex(f[0], an, f[8]);
        bool want = strcmp(f[1], "valid") == 0;
        rows++;
        /* "(allow_smtputf8 False and True)": the expectation holds for both. */
        bool both = strstr(f[5], "allow_smtputf8 False and True") != NULL;
        addr_opts o;
        addr a;
        py_opts(f[5], true, &o);
        addr_err e = addr_parse(f[0], an, &o, &a);
        if (both && e == ADDR_OK) {
            py_opts(f[5], false, &o);
            e = addr_parse(f[0], an, &o, &a);
        }
        record(&t, f[0], an, f[5], want, e);
    }
    fclose(fp);
    assert_int_equal(rows, 182);
    printf("python-email-validator agreement: %d/%d (%.2f%%)\n", t.agree, t.rows, 100.0 * t.agree / t.rows);
    assert_true(t.agree * 100 >= t.rows * 99);
    assert_int_equal(t.known_hit, (int)t.table_n);
    for (size_t i = 0; i < t.table_n; i++)
        assert_true(seen[i]);
}

/* ---- rust email_address ----------------------------------------------- */

static void test_rust_suite(void **state)
{
    (void)state;
    FILE *fp = fopen("tests/data/rust-email_address.tsv", "r");
    assert_non_null(fp);
    static char line[LINE_MAX_LEN];
    char *f[FIELDS_MAX];
    bool seen[sizeof rust_known / sizeof rust_known[0]] = {0};
    tally t = {.table = rust_known, .table_n = table_len(rust_known), .seen = seen};
    addr_opts o;
    addr_opts_default(&o);
    assert_non_null(fgets(line, sizeof line, fp));
    while (fgets(line, sizeof line, fp)) {
        assert_int_equal(tsv_split(line, f), 10);
        size_t an = tsv_decode(f[0]);
        check_hex(f[0], an, f[9]);
        addr a;
        record(&t, f[0], an, f[5], strcmp(f[1], "valid") == 0, addr_parse(f[0], an, &o, &a));
    }
    fclose(fp);
    assert_int_equal(t.rows, 70);
    printf("rust email_address agreement (mailvet defaults): %d/%d (%.2f%%)\n", t.agree, t.rows,
           100.0 * t.agree / t.rows);
    assert_int_equal(t.known_hit, (int)t.table_n);
    for (size_t i = 0; i < t.table_n; i++)
        assert_true(seen[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_suite),
        cmocka_unit_test(test_rust_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
