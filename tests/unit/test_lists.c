/* test_lists.c — lists_load() on data/ and every lookup: roles, free,
 * disposable, popular, did-you-mean, plus mailcheck's own spec cases
 * (tests/data/typos-mailcheck.tsv). Runs with cwd = repo root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lists.h"

static lists *L;

static int setup(void **st)
{
    (void)st;
    char err[256] = "";
    L = lists_load("data", err, sizeof err);
    if (L == NULL)
        fprintf(stderr, "lists_load: %s\n", err);
    return L == NULL;
}

static int teardown(void **st)
{
    (void)st;
    lists_free(L);
    return 0;
}

static void test_load_error(void **st)
{
    (void)st;
    char err[256] = "";
    assert_null(lists_load("/nonexistent-dir", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent-dir/"));
}

static void test_roles(void **st)
{
    (void)st;
    assert_true(lists_is_role(L, "info"));
    assert_true(lists_is_role(L, "INFO"));
    assert_true(lists_is_role(L, "Sales+newsletter"));
    assert_true(lists_is_role(L, "postmaster"));
    assert_false(lists_is_role(L, "john.smith"));
    assert_false(lists_is_role(L, "info.smith"));
    assert_false(lists_is_role(L, ""));
    assert_false(lists_is_role(L, "+info"));
}

static void test_free_and_disposable(void **st)
{
    (void)st;
    assert_true(lists_is_free(L, "gmail.com"));
    assert_true(lists_is_free(L, "yahoo.co.uk"));
    assert_true(lists_is_free(L, "gmx.de"));
    assert_false(lists_is_free(L, "example.com"));
    assert_false(lists_is_disposable(L, "gmail.com"));
    /* free.txt lists mailinator.com; it is disposable, not free */
    assert_true(lists_is_disposable(L, "mailinator.com"));
    assert_false(lists_is_free(L, "mailinator.com"));
    assert_true(lists_is_disposable(L, "guerrillamail.com"));
    assert_false(lists_is_free(L, "guerrillamail.com"));
    /* any subdomain of a listed domain */
    assert_true(lists_is_disposable(L, "x.y.mailinator.com"));
    /* a wildcard-only entry (not in disposable.txt) and its subdomain */
    assert_true(lists_is_disposable(L, "student.cad.edu.gr"));
    assert_false(lists_is_disposable(L, "edu.gr"));
    assert_false(lists_is_disposable(L, "mailinator-is-not-a-suffix.example"));
    assert_false(lists_is_disposable(L, "com"));
    assert_false(lists_is_disposable(L, ""));
    assert_true(lists_is_popular(L, "gmail.com"));
    assert_true(lists_is_popular(L, "hotmail.com")); /* from typos.tsv targets */
    assert_false(lists_is_popular(L, "example.com"));
}

static void dym(const char *d, const char *want)
{
    char out[256];
    size_t n = lists_did_you_mean(L, d, out, sizeof out);
    if (want == NULL) {
        if (n != 0)
            fail_msg("%s: unexpected suggestion %s", d, out);
        return;
    }
    if (n == 0)
        fail_msg("%s: no suggestion, want %s", d, want);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_did_you_mean(void **st)
{
    (void)st;
    dym("gmial.com", "gmail.com");
    dym("gmail.con", "gmail.com");
    dym("hotmial.com", "hotmail.com");
    dym("yaho.com", "yahoo.com");
    dym("gamil.com", "gmail.com");
    dym("outlok.com", "outlook.com");
    dym("iclod.com", "icloud.com");
    dym("gmail.co", "gmail.com");
    dym("gmaiil.com", "gmail.com");      /* distance 1, not in the table */
    dym("hotmaiil.com", "hotmail.com");
    dym("comcast.nte", "comcast.net");
    dym("hotmial.de", "hotmail.de");     /* second-level step */
    dym("acme-widgets.cmo", "acme-widgets.com"); /* TLD step */
    dym("gmail.com", NULL);
    dym("hotmail.com", NULL);
    dym("yahoo.co", NULL);               /* a real free domain */
    dym("gmx.fr", NULL);
    dym("acme-industries-international.com", NULL);
    dym("hey.co", NULL);                 /* short names: no guessing */
    dym("hex.com", NULL);
    dym("acme.co", NULL);                /* .co is a real TLD */
    dym("", NULL);
    dym("nodot", NULL);
    char small[4];
    assert_int_equal(lists_did_you_mean(L, "gmial.com", small, sizeof small), 0);
}

/* mailcheck spec rows where mailvet answers differently, and why. */
static const struct {
    const char *input, *why;
} mailcheck_known[] = {
    {"test@emaildomain.co", "emaildomain.com is only in the spec's own domain list; .co is a real TLD"},
    {"test@mail.randomsmallcompany.cmo",
     "mailcheck only fixes the TLD of two-label domains; mailvet fixes .cmo on any domain"},
};

static bool mailcheck_listed(const char *in)
{
    for (size_t i = 0; i < sizeof mailcheck_known / sizeof mailcheck_known[0]; i++)
        if (strcmp(in, mailcheck_known[i].input) == 0)
            return true;
    return false;
}

/* The suggest/run rows (an email in, a domain out). findClosestDomain rows
 * test mailcheck's internals on hand-made lists and do not apply. */
static void test_mailcheck_spec(void **st)
{
    (void)st;
    FILE *fp = fopen("tests/data/typos-mailcheck.tsv", "r");
    assert_non_null(fp);
    char line[512];
    int rows = 0, agree = 0, def_rows = 0, def_agree = 0, listed = 0;
    assert_non_null(fgets(line, sizeof line, fp));
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = '\0';
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4; k++) {
            char *t = strchr(f[k - 1], '\t');
            assert_non_null(t);
            *t = '\0';
            f[k] = t + 1;
        }
        if (strcmp(f[2], "findClosestDomain") == 0)
            continue;
        char dom[256] = "", out[256] = "";
        const char *at = strrchr(f[0], '@');
        for (size_t i = 0; at && at[1 + i] && i + 1 < sizeof dom; i++)
            dom[i] = (char)(at[1 + i] >= 'A' && at[1 + i] <= 'Z' ? at[1 + i] + 32 : at[1 + i]);
        lists_did_you_mean(L, dom, out, sizeof out);
        bool same = strcmp(out, f[1]) == 0;
        bool def = strcmp(f[3], "default") == 0;
        rows++, def_rows += def;
        agree += same, def_agree += def && same;
        if (!same) {
            printf("  mailcheck differs: %s want '%s' got '%s'%s\n", f[0], f[1], out,
                   mailcheck_listed(f[0]) ? " (listed)" : " (UNLISTED)");
            assert_true(mailcheck_listed(f[0]));
            listed++;
        }
    }
    fclose(fp);
    printf("mailcheck agreement: lists=default %d/%d, all suggest/run rows %d/%d\n", def_agree, def_rows, agree,
           rows);
    assert_int_equal(def_rows, 2);
    assert_int_equal(def_agree, def_rows);
    assert_int_equal(rows, 22);
    assert_int_equal(listed, (int)(sizeof mailcheck_known / sizeof mailcheck_known[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_error),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_free_and_disposable),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_mailcheck_spec),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
