/* test_dns_cname.c — CNAME loops in raw answers: loops and over-long
 * chains are found, ordinary chains and damaged messages are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dns_cname.h"

typedef struct msg {
    unsigned char b[4096];
    int n;
} msg;

static void put16(msg *m, unsigned v)
{
    m->b[m->n++] = (unsigned char)(v >> 8);
    m->b[m->n++] = (unsigned char)v;
}

static void put_name(msg *m, const char *name)
{
    while (*name) {
        size_t len = strcspn(name, ".");
        m->b[m->n++] = (unsigned char)len;
        memcpy(m->b + m->n, name, len);
        m->n += (int)len;
        name += len + (name[len] == '.');
    }
    m->b[m->n++] = 0;
}

/* A response to "QNAME MX" whose answer holds the CNAMEs PAIRS[2i] → PAIRS[2i+1]. */
static void build(msg *m, const char *qname, const char *const *pairs, int npairs)
{
    m->n = 0;
    put16(m, 0x1234);
    put16(m, 0x8180);
    put16(m, 1);
    put16(m, (unsigned)npairs);
    put16(m, 0);
    put16(m, 0);
    put_name(m, qname);
    put16(m, 15);
    put16(m, 1);
    for (int i = 0; i < npairs; i++) {
        put_name(m, pairs[2 * i]);
        put16(m, 5);
        put16(m, 1);
        put16(m, 0);
        put16(m, 300);
        int at = m->n;
        put16(m, 0);
        put_name(m, pairs[2 * i + 1]);
        unsigned rdlen = (unsigned)(m->n - at - 2);
        m->b[at] = (unsigned char)(rdlen >> 8);
        m->b[at + 1] = (unsigned char)rdlen;
    }
}

static void test_loops(void **state)
{
    (void)state;
    msg m;
    const char *ab[] = {"a.test", "b.test", "b.test", "a.test"};
    build(&m, "a.test", ab, 2);
    assert_true(dns_cname_loops(m.b, m.n, "a.test"));
    assert_true(dns_cname_loops(m.b, m.n, "A.TEST"));        /* names are case-blind */
    const char *self[] = {"self.test", "self.test"};
    build(&m, "self.test", self, 1);
    assert_true(dns_cname_loops(m.b, m.n, "self.test"));
}

static void test_chains(void **state)
{
    (void)state;
    msg m;
    const char *plain[] = {"www.test", "host.test"};
    build(&m, "www.test", plain, 1);
    assert_false(dns_cname_loops(m.b, m.n, "www.test"));
    assert_false(dns_cname_loops(m.b, m.n, "other.test"));  /* not about this name */
    char names[10][32];
    const char *pairs[20];
    for (int i = 0; i < 10; i++)
        snprintf(names[i], sizeof names[i], "n%d.test", i);
    for (int i = 0; i < 9; i++) {
        pairs[2 * i] = names[i];
        pairs[2 * i + 1] = names[i + 1];
    }
    build(&m, "n0.test", pairs, DNS_CNAME_CHAIN_MAX);          /* 8 links: allowed */
    assert_false(dns_cname_loops(m.b, m.n, "n0.test"));
    build(&m, "n0.test", pairs, DNS_CNAME_CHAIN_MAX + 1);      /* 9: too long */
    assert_true(dns_cname_loops(m.b, m.n, "n0.test"));
}

static void test_damage(void **state)
{
    (void)state;
    msg m;
    const char *ab[] = {"a.test", "b.test", "b.test", "a.test"};
    build(&m, "a.test", ab, 2);
    assert_false(dns_cname_loops(NULL, 0, "a.test"));
    assert_false(dns_cname_loops(m.b, 11, "a.test"));
    for (int cut = 12; cut < m.n; cut++)              /* every truncation: no crash */
        (void)dns_cname_loops(m.b, cut, "a.test");
    m.b[7] = 200;                                     /* more answers than present */
    assert_true(dns_cname_loops(m.b, m.n, "a.test"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
