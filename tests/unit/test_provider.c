/* test_provider.c — MX names grouped by operator through the Public Suffix
 * List: the fleets the README names, multi-label suffixes, and the names
 * that have no registrable domain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "provider.h"

static void expect(const char *mx, const char *want)
{
    char out[PROVIDER_MAX];
    assert_string_equal(provider_name(mx, out, sizeof out), want);
}

static void test_fleets(void **state)
{
    (void)state;
    expect("contoso-com.mail.protection.outlook.com", "outlook.com");
    expect("fabrikam-com01b.mail.protection.outlook.com", "outlook.com");
    expect("aspmx.l.google.com", "google.com");
    expect("ALT1.ASPMX.L.Google.com.", "google.com");     /* case and the root dot */
    expect("aspmx2.googlemail.com", "googlemail.com");     /* the list's word, not ours */
    expect("mx0a-00123401.pphosted.com", "pphosted.com");
    expect("eu-smtp-inbound-1.mimecast.com", "mimecast.com");
}

static void test_suffixes(void **state)
{
    (void)state;
    expect("mx.example.co.uk", "example.co.uk");           /* two-label public suffix */
    expect("mx1.example.github.io", "example.github.io");  /* a private-section suffix */
    expect("mx.pf-boxes.com", "pf-boxes.com");
    expect("mx.sim.test", "sim.test");                     /* unlisted TLD: the * rule */
    expect("localhost", "localhost");                      /* none: the name itself */
    expect("co.uk", "co.uk");
    char small[8];
    assert_string_equal(provider_name("mx.example.com", small, sizeof small), "mx.exam");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleets),
        cmocka_unit_test(test_suffixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
