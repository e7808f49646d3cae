/* test_egress.c — --proxy and --bind into the route pool: schemes, the
 * credentials (%-decoding, limits, never in the label), IPv6 literals,
 * lists, and every malformed entry refused with a message. Only IP
 * literals: a host name would ask the system resolver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "egress.h"

static char err[512];

static int parse(const char *proxies, const char *binds, egress_list *l)
{
    err[0] = '\0';
    return egress_parse(proxies, binds, l, err, sizeof err);
}

static void assert_v4(const egress *e, const char *ip, int port)
{
    const struct sockaddr_in *a = (const struct sockaddr_in *)&e->addr;
    char buf[INET_ADDRSTRLEN];
    assert_int_equal(a->sin_family, AF_INET);
    assert_string_equal(inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf), ip);
    assert_int_equal(ntohs(a->sin_port), port);
}

/* PROXIES is refused with a message containing WANT; the list is empty. */
static void assert_refused(const char *proxies, const char *binds, const char *want)
{
    egress_list l = {(egress *)1, 9};
    assert_int_equal(parse(proxies, binds, &l), -1);
    if (!strstr(err, want))
        fail_msg("'%s': message '%s' lacks '%s'", proxies ? proxies : binds, err, want);
    assert_null(l.e);
    assert_int_equal(l.n, 0);
}

static void test_direct_by_default(void **state)
{
    (void)state;
    egress_list l;
    assert_int_equal(parse(NULL, NULL, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].kind, EGRESS_DIRECT);
    assert_string_equal(l.e[0].label, "direct");
    egress_list_free(&l);
    assert_null(l.e);
    egress_list_free(&l);                 /* twice is harmless */
}

static void test_proxy_plain(void **state)
{
    (void)state;
    egress_list l;
    assert_int_equal(parse("socks5://127.0.0.1:1080", NULL, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].kind, EGRESS_SOCKS5);
    assert_v4(&l.e[0], "127.0.0.1", 1080);
    assert_string_equal(l.e[0].user, "");
    assert_string_equal(l.e[0].pass, "");
    assert_string_equal(l.e[0].label, "socks5://127.0.0.1:1080");
    egress_list_free(&l);
    assert_int_equal(parse("SOCKS5://10.1.2.3:65535", NULL, &l), 0);   /* schemes ignore case */
    assert_v4(&l.e[0], "10.1.2.3", 65535);
    egress_list_free(&l);
}

static void test_proxy_credentials(void **state)
{
    (void)state;
    egress_list l;
    assert_int_equal(parse("socks5://alice:s3cret@127.0.0.1:1080", NULL, &l), 0);
    assert_string_equal(l.e[0].user, "alice");
    assert_string_equal(l.e[0].pass, "s3cret");
    assert_string_equal(l.e[0].label, "socks5://alice@127.0.0.1:1080");
    assert_null(strstr(l.e[0].label, "s3cret"));
    egress_list_free(&l);
    /* %-encoded ':', '@', ',' and a raw '@' in the password (the last '@' ends it) */
    assert_int_equal(parse("socks5://al%40ce%3a:p%3Aw%2C%25@10.0.0.1:1,socks5://bob:p@ss@10.0.0.2:2",
                           NULL, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.e[0].user, "al@ce:");
    assert_string_equal(l.e[0].pass, "p:w,%");
    assert_string_equal(l.e[1].user, "bob");
    assert_string_equal(l.e[1].pass, "p@ss");
    assert_null(strstr(l.e[1].label, "ss"));
    egress_list_free(&l);
}

static void test_credential_limits(void **state)
{
    (void)state;
    char spec[1200], cred[300];
    egress_list l;
    memset(cred, 'u', 255);
    cred[255] = '\0';
    snprintf(spec, sizeof spec, "socks5://%s:%s@127.0.0.1:1", cred, cred);
    assert_int_equal(parse(spec, NULL, &l), 0);           /* 255 bytes each: the most */
    assert_int_equal(strlen(l.e[0].user), 255);
    assert_int_equal(strlen(l.e[0].pass), 255);
    assert_true(strlen(l.e[0].label) < sizeof l.e[0].label);
    egress_list_free(&l);
    strcpy(cred + 255, "u");
    snprintf(spec, sizeof spec, "socks5://%s:p@127.0.0.1:1", cred);
    assert_refused(spec, NULL, "1-255 bytes");
    snprintf(spec, sizeof spec, "socks5://u:%s@127.0.0.1:1", cred);
    assert_refused(spec, NULL, "1-255 bytes");
    assert_refused("socks5://:pw@127.0.0.1:1", NULL, "USER:PASS");
    assert_refused("socks5://alice:@127.0.0.1:1", NULL, "USER:PASS");
    assert_refused("socks5://alice@127.0.0.1:1", NULL, "USER:PASS");
    assert_refused("socks5://a%4:p@127.0.0.1:1", NULL, "USER:PASS");      /* cut %XX */
    assert_refused("socks5://a%zz:p@127.0.0.1:1", NULL, "USER:PASS");
    assert_refused("socks5://a%00b:p@127.0.0.1:1", NULL, "USER:PASS");    /* NUL */
}

static void test_proxy_ipv6(void **state)
{
    (void)state;
    egress_list l;
    assert_int_equal(parse("socks5://u:p@[::1]:1080", NULL, &l), 0);
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&l.e[0].addr;
    assert_int_equal(a->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a->sin6_port), 1080);
    assert_true(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
    assert_string_equal(l.e[0].label, "socks5://u@[::1]:1080");
    egress_list_free(&l);
    assert_refused("socks5://[::1]1080", NULL, "bad IPv6 address in '[::1]1080'");
    assert_refused("socks5://[::1:1080", NULL, "bad IPv6 address");
}

static void test_proxy_malformed(void **state)
{
    (void)state;
    assert_refused("http://127.0.0.1:3128", NULL, "socks5://");
    assert_refused("socks4://127.0.0.1:1080", NULL, "only SOCKS5");
    assert_refused("", NULL, "socks5://");
    assert_refused("socks5://127.0.0.1", NULL, "port missing in '127.0.0.1'");
    assert_refused("socks5://127.0.0.1:0", NULL, "'127.0.0.1:0' needs HOST:PORT");
    assert_refused("socks5://127.0.0.1:65536", NULL, "port 1-65535");
    assert_refused("socks5://127.0.0.1:10x", NULL, "port 1-65535");
    assert_refused("socks5://127.0.0.1:", NULL, "port 1-65535");
    assert_refused("socks5://:1080", NULL, "needs HOST:PORT");
    assert_refused("socks5://127.0.0.1:1,", NULL, "socks5://");           /* an empty last entry */
    assert_refused("socks5://127.0.0.1:1,,socks5://127.0.0.1:2", NULL, "socks5://");
    char big[1100];
    memset(big, 'h', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "socks5://", 9);
    assert_refused(big, NULL, "too long");
}

static void test_lists_and_blanks(void **state)
{
    (void)state;
    egress_list l;
    assert_int_equal(parse("socks5://127.0.0.1:1, socks5://127.0.0.2:2 ,\tsocks5://127.0.0.3:3",
                           NULL, &l), 0);
    assert_int_equal(l.n, 3);
    assert_v4(&l.e[0], "127.0.0.1", 1);
    assert_v4(&l.e[1], "127.0.0.2", 2);
    assert_v4(&l.e[2], "127.0.0.3", 3);
    egress_list_free(&l);

    char spec[EGRESS_MAX * 24 + 32];
    size_t n = 0;
    for (int i = 0; i < EGRESS_MAX; i++)
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%s127.0.%d.%d", i ? "," : "", i / 250, i % 250 + 1);
    assert_int_equal(parse(NULL, spec, &l), 0);                /* the most routes */
    assert_int_equal(l.n, EGRESS_MAX);
    egress_list_free(&l);
    snprintf(spec + n, sizeof spec - n, ",127.9.9.9");
    assert_refused(NULL, spec, "more than 256");
}

static void test_bind(void **state)
{
    (void)state;
    egress_list l;
    assert_int_equal(parse(NULL, "127.0.0.2,::1", &l), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.e[0].kind, EGRESS_BIND);
    assert_v4(&l.e[0], "127.0.0.2", 0);                        /* port 0: any */
    assert_string_equal(l.e[0].label, "127.0.0.2");
    assert_int_equal(l.e[1].kind, EGRESS_BIND);
    assert_int_equal(l.e[1].addr.ss_family, AF_INET6);
    assert_string_equal(l.e[1].label, "::1");
    egress_list_free(&l);
    assert_refused(NULL, "127.0.0.300", "'127.0.0.300' is not an IP address");
    assert_refused(NULL, "127.0.0.2:25", "not an IP address");
    assert_refused(NULL, "mx.example.com", "not an IP address");
    assert_refused(NULL, "", "not an IP address");
    assert_refused(NULL, "127.0.0.2,", "not an IP address");
}

static void test_not_both(void **state)
{
    (void)state;
    assert_refused("socks5://127.0.0.1:1080", "127.0.0.2", "not both");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_by_default),
        cmocka_unit_test(test_proxy_plain),
        cmocka_unit_test(test_proxy_credentials),
        cmocka_unit_test(test_credential_limits),
        cmocka_unit_test(test_proxy_ipv6),
        cmocka_unit_test(test_proxy_malformed),
        cmocka_unit_test(test_lists_and_blanks),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_not_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
