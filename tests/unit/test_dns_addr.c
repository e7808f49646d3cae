/* test_dns_addr.c — dns_addr_is_public(): every non-public range named in
 * include/dns.h, its v4-mapped / v4-compatible / NAT64 / 6to4 forms, and
 * public examples on both sides of each boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dns.h"

/* TEXT parsed as IPv4 or IPv6 into a sockaddr, then classified. */
static bool is_public(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
        s6->sin6_family = AF_INET6;
    }
    return dns_addr_is_public((const struct sockaddr *)&ss);
}

static void check_all(const char *const *list, size_t n, bool want)
{
    for (size_t i = 0; i < n; i++) {
        if (is_public(list[i]) != want)
            fail_msg("%s: expected %s", list[i], want ? "public" : "not public");
    }
}

#define CHECK(list, want) check_all(list, sizeof list / sizeof list[0], want)

static void test_v4_private(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "0.0.0.0", "0.255.255.255",                 /* 0/8 */
        "10.0.0.1", "10.255.255.255",               /* 10/8 */
        "127.0.0.1", "127.255.255.254",             /* loopback */
        "100.64.0.1", "100.127.255.255",            /* CGNAT 100.64/10 */
        "169.254.0.1", "169.254.255.255",           /* link-local */
        "172.16.0.1", "172.31.255.255",             /* 172.16/12 */
        "192.0.0.1", "192.0.0.255",                 /* 192.0.0/24 */
        "192.0.2.1", "198.51.100.7", "203.0.113.9", /* documentation */
        "192.168.0.1", "192.168.255.255",           /* 192.168/16 */
        "198.18.0.1", "198.19.255.255",             /* benchmarking 198.18/15 */
        "224.0.0.1", "239.255.255.255",             /* multicast */
        "240.0.0.1", "254.1.2.3",                   /* reserved 240/4 */
        "255.255.255.255",                          /* broadcast */
    };
    CHECK(bad, false);
}

static void test_v4_public(void **state)
{
    (void)state;
    static const char *const good[] = {
        "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255",
        "100.128.0.0", "126.255.255.255", "128.0.0.1", "169.253.255.255",
        "172.15.255.255", "172.32.0.0", "192.0.1.1", "192.0.3.1", "192.167.255.255",
        "192.169.0.0", "198.17.255.255", "198.20.0.0", "198.51.99.1", "203.0.112.1",
        "223.255.255.255",
    };
    CHECK(good, true);
}

static void test_v6_private(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "::", "::1",                                 /* unspecified, loopback */
        "fc00::1", "fd12:3456::1",                   /* ULA fc00::/7 */
        "fe80::1", "febf::1",                        /* link-local fe80::/10 */
        "ff02::1", "ff0e::101",                      /* multicast */
        "2001:db8::1", "2001:db8:ffff::1",           /* documentation */
        "fec0::1",                                   /* old site-local */
        "100::1",                                    /* discard-only 100::/64 */
        "64:ff9b:1::1",                              /* local-use NAT64 */
        "2001:2::1",                                 /* benchmarking */
    };
    CHECK(bad, false);
}

static void test_v6_embedded_v4(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:192.168.1.1",   /* v4-mapped */
        "::ffff:172.16.0.1", "::ffff:169.254.1.1", "::ffff:100.64.0.1",
        "::ffff:0.0.0.0", "::ffff:224.0.0.1", "::ffff:255.255.255.255",
        "::127.0.0.1", "::10.0.0.1", "::192.168.0.1",                  /* v4-compatible */
        "64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::192.0.2.1", /* NAT64 */
        "2002:0a00:0001::1", "2002:7f00:0001::1",                      /* 6to4 */
    };
    static const char *const good[] = {
        "::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::8.8.8.8", "2002:0808:0808::1",
    };
    CHECK(bad, false);
    CHECK(good, true);
}

static void test_v6_public(void **state)
{
    (void)state;
    static const char *const good[] = {
        "2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:80b::200e",
        "2001:db7:ffff::1", "2001:db9::1", "3fff:ffff::1",
    };
    CHECK(good, true);
}

static void test_other_families(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    assert_false(dns_addr_is_public((const struct sockaddr *)&ss));
    assert_false(dns_addr_is_public(NULL));
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(dns_status_name(DNS_OK), "ok");
    assert_string_equal(dns_status_name(DNS_NXDOMAIN), "nxdomain");
    assert_string_equal(dns_status_name(DNS_NO_MAIL_SERVER), "no_mail_server");
    assert_string_equal(dns_status_name(DNS_NULL_MX), "null_mx");
    assert_string_equal(dns_status_name(DNS_UNROUTABLE), "unroutable");
    assert_string_equal(dns_status_name(DNS_ERROR), "dns_error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_private),
        cmocka_unit_test(test_v4_public),
        cmocka_unit_test(test_v6_private),
        cmocka_unit_test(test_v6_embedded_v4),
        cmocka_unit_test(test_v6_public),
        cmocka_unit_test(test_other_families),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
