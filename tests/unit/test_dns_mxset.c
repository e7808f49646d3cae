/* test_dns_mxset.c — shared MX sets (src/dns_mxset.c): the same hosts give
 * one set whatever their order, each domain gets its own order back byte
 * for byte, any difference in content gives another set, a set outlives
 * every reference but the last, and domains cached beside it (dns_cache)
 * that go stale or are evicted drop only their own reference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "dns_mxset.h"
#include "str.h"

static dns_ip ip_of(const char *text)
{
    dns_ip ip = {.fam = 4};
    if (inet_pton(AF_INET, text, ip.a) != 1) {
        ip.fam = 6;
        assert_int_equal(inet_pton(AF_INET6, text, ip.a), 1);
    }
    return ip;
}

/* A host list as dns.c builds it: names, preferences, addresses. */
typedef struct list {
    size_t n;
    dns_mxin in[DNS_MAX_MX];
    char host[DNS_MAX_MX][DNS_NAME_MAX + 1];
    dns_ip ip[DNS_MAX_MX][DNS_MAX_ADDRS];
} list;

/* Add HOST at PREF with ADDRS ("1.2.3.4 2001:db8::1", space-separated). */
static void add(list *l, int pref, const char *host, const char *addrs)
{
    size_t i = l->n++, k = 0;
    char buf[256], *save = NULL;
    str_copy(l->host[i], sizeof l->host[i], host);
    str_copy(buf, sizeof buf, addrs);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        l->ip[i][k++] = ip_of(t);
    l->in[i] = (dns_mxin){.host = l->host[i], .pref = pref, .n = k, .ip = l->ip[i]};
}

/* IN's pointers into L itself (again, after L was copied). */
static dns_mxin *relink(list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        l->in[i].host = l->host[i];
        l->in[i].ip = l->ip[i];
    }
    return l->in;
}

static dns_mxset *intern(dns_mxsets *t, list *l, size_t n, dns_mxorder *order)
{
    return dns_mxset_intern(t, relink(l), n, order);
}

/* What dns.c's callers saw before sets: every host copied in list order. */
static void reference_fill(const list *l, dns_result *res)
{
    memset(res, 0, sizeof *res);
    res->nmx = l->n;
    for (size_t i = 0; i < l->n; i++) {
        dns_mx *m = &res->mx[i];
        str_copy(m->host, sizeof m->host, l->host[i]);
        m->pref = l->in[i].pref;
        m->naddrs = l->in[i].n;
        for (size_t k = 0; k < l->in[i].n; k++)
            dns_ip_to_sa(&l->ip[i][k], &m->addrs[k]);
    }
}

static dns_result got, want;    /* large: kept off the stack */

/* S filled with ORDER equals L, byte for byte. */
static void assert_fills(const dns_mxset *s, dns_mxorder order, const list *l)
{
    memset(&got, 0, sizeof got);
    dns_mxset_fill(s, order, &got);
    reference_fill(l, &want);
    assert_int_equal(got.nmx, l->n);
    assert_memory_equal(&got, &want, sizeof got);
}

static list fleet(void)
{
    list l = {0};
    add(&l, 10, "mx1.fleet.net", "192.0.2.1");
    add(&l, 10, "mx2.fleet.net", "192.0.2.2 2001:db8::2");
    add(&l, 20, "mx3.fleet.net", "192.0.2.3");
    return l;
}

static void test_same_content_shares(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    list a = fleet(), b = fleet();
    dns_mxorder oa, ob;
    dns_mxset *sa = intern(&t, &a, a.n, &oa);
    dns_mxset *sb = intern(&t, &b, b.n, &ob);
    assert_ptr_equal(sa, sb);
    assert_int_equal(dns_mxset_refs(sa), 2);
    assert_int_equal(dns_mxsets_count(&t), 1);
    assert_int_equal(oa, ob);
    assert_fills(sa, oa, &a);
    dns_mxset_release(&t, sa);
    dns_mxset_release(&t, sb);
    assert_int_equal(dns_mxsets_count(&t), 0);
    dns_mxsets_free(&t);
}

/* Equal preferences in another answer order (a rotating server): one set,
 * and each domain still sees its own order. */
static void test_order_is_the_domains(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    list a = fleet(), b = {0};
    add(&b, 10, "mx2.fleet.net", "192.0.2.2 2001:db8::2");
    add(&b, 10, "mx1.fleet.net", "192.0.2.1");
    add(&b, 20, "mx3.fleet.net", "192.0.2.3");
    dns_mxorder oa, ob;
    dns_mxset *sa = intern(&t, &a, a.n, &oa);
    dns_mxset *sb = intern(&t, &b, b.n, &ob);
    assert_ptr_equal(sa, sb);
    assert_int_not_equal(oa, ob);
    assert_fills(sa, oa, &a);
    assert_fills(sb, ob, &b);
    dns_mxset_release(&t, sa);
    dns_mxset_release(&t, sb);
    dns_mxsets_free(&t);
}

/* Any difference — a preference, a name, an address, one address more,
 * the family — is another set. */
static void test_difference_is_another_set(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    list base = fleet(), v[5];
    for (int i = 0; i < 5; i++)
        v[i] = fleet();
    v[0].in[2].pref = 30;
    str_copy(v[1].host[0], sizeof v[1].host[0], "mx1.fleet.org");
    v[2].ip[0][0].a[3] = 9;
    v[3].ip[2][1] = ip_of("192.0.2.4");
    v[3].in[2].n = 2;
    v[4].ip[0][0] = ip_of("::ffff:192.0.2.1");
    dns_mxorder o;
    dns_mxset *s = intern(&t, &base, base.n, &o), *sv[5];
    for (int i = 0; i < 5; i++) {
        dns_mxorder ov;
        sv[i] = intern(&t, &v[i], v[i].n, &ov);
        assert_ptr_not_equal(sv[i], s);
        for (int k = 0; k < i; k++)
            assert_ptr_not_equal(sv[i], sv[k]);
        assert_fills(sv[i], ov, &v[i]);
    }
    assert_int_equal(dns_mxsets_count(&t), 6);
    /* A list that is a prefix of another is not the other. */
    dns_mxorder o2;
    dns_mxset *s2 = intern(&t, &base, 2, &o2);
    assert_ptr_not_equal(s2, s);
    dns_mxset_release(&t, s2);
    for (int i = 0; i < 5; i++)
        dns_mxset_release(&t, sv[i]);
    dns_mxset_release(&t, s);
    assert_int_equal(dns_mxsets_count(&t), 0);
    dns_mxsets_free(&t);
}

/* The biggest answer: DNS_MAX_MX hosts of DNS_MAX_ADDRS addresses, IPv4
 * and IPv6, names of 253 bytes, in an order the sort must undo. */
static void test_largest_round_trip(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    list l = {0};
    for (int i = 0; i < DNS_MAX_MX; i++) {
        char host[DNS_NAME_MAX + 1], addrs[200];
        memset(host, 'a' + (DNS_MAX_MX - i), 253);
        host[253] = '\0';
        snprintf(addrs, sizeof addrs, "198.51.100.%d 198.51.100.%d 2001:db8::%x 2001:db8::%x",
                 i, i + 100, i, i + 100);
        add(&l, 65535 - i / 2, host, addrs);
    }
    dns_mxorder o;
    dns_mxset *s = intern(&t, &l, l.n, &o);
    assert_fills(s, o, &l);
    dns_mxset_release(&t, s);
    dns_mxsets_free(&t);
}

/* Stored exactly: a header and, per host, 3 bytes, 5 per IPv4 address,
 * 17 per IPv6 address and the name with its NUL. */
static void test_exact_size(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    list one = {0}, two = {0};
    add(&one, 10, "mx.example.com", "192.0.2.1");
    add(&two, 10, "mx.example.com", "192.0.2.1 2001:db8::1");
    dns_mxorder o;
    dns_mxset *s1 = intern(&t, &one, 1, &o);
    dns_mxset *s2 = intern(&t, &two, 1, &o);
    assert_int_equal(dns_mxset_size(s2) - dns_mxset_size(s1), 17);
    assert_true(dns_mxset_size(s1) <= 24 + 3 + 5 + 15);
    dns_mxset_release(&t, s1);
    dns_mxset_release(&t, s2);
    dns_mxsets_free(&t);
}

/* A set still referenced when the table goes is freed with it. */
static void test_free_with_references(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    list l = fleet();
    dns_mxorder o;
    intern(&t, &l, l.n, &o);
    intern(&t, &l, 1, &o);
    dns_mxsets_free(&t);        /* ASan: no leak */
}

/* ---- sets under the cache's lifetimes ---------------------------------- */

typedef struct toy {            /* a cached domain as dns.c keeps one */
    dns_node node;
    dns_mxset *mx;
    dns_mxorder order;
    char name[32];
} toy;

static int freed;

static void toy_free(void *ud, dns_node *n)
{
    toy *d = (toy *)n;
    if (d->mx)
        dns_mxset_release(ud, d->mx);
    free(d);
    freed++;
}

static toy *toy_add(dns_cache *c, dns_mxsets *t, const char *name, list *l, uint64_t now)
{
    toy *d = calloc(1, sizeof *d);
    assert_non_null(d);
    str_copy(d->name, sizeof d->name, name);
    if (l)
        d->mx = intern(t, l, l->n, &d->order);
    dns_cache_add(c, &d->node, d->name);
    dns_cache_done(c, &d->node, now);
    return d;
}

/* Two domains of one fleet, one dropped for staleness: the other's set
 * (the same object) stays whole. */
static void test_stale_drop_keeps_other(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    dns_cache c;
    dns_cache_init(&c, toy_free, &t);
    freed = 0;
    list l = fleet();
    toy *a = toy_add(&c, &t, "a.example", &l, 1000);
    toy *b = toy_add(&c, &t, "b.example", &l, 5000);
    assert_ptr_equal(a->mx, b->mx);
    assert_int_equal(dns_mxset_refs(b->mx), 2);
    assert_false(dns_cache_stale(&c, &a->node, 1000 + DNS_ERROR_TTL_MS - 1));
    assert_true(dns_cache_stale(&c, &a->node, 1000 + DNS_ERROR_TTL_MS));
    assert_int_equal(freed, 1);
    assert_ptr_equal(dns_cache_find(&c, "b.example"), &b->node);
    assert_int_equal(dns_mxset_refs(b->mx), 1);
    assert_fills(b->mx, b->order, &l);
    dns_cache_free(&c);
    assert_int_equal(dns_mxsets_count(&t), 0);
    dns_mxsets_free(&t);
}

/* The cache at DNS_CACHE_MAX evicts its oldest entry, a fleet domain: the
 * set lives on for the fleet's other domains and goes with the last. */
static void test_eviction_keeps_other(void **state)
{
    (void)state;
    dns_mxsets t;
    dns_mxsets_init(&t);
    dns_cache c;
    dns_cache_init(&c, toy_free, &t);
    freed = 0;
    list l = fleet();
    toy_add(&c, &t, "first.example", &l, 0);
    char name[32];
    for (int i = 1; i < DNS_CACHE_MAX; i++) {   /* no set: only count */
        snprintf(name, sizeof name, "d%d.example", i);
        toy_add(&c, &t, name, NULL, (uint64_t)i);
    }
    toy *last = toy_add(&c, &t, "last.example", &l, DNS_CACHE_MAX);
    assert_int_equal(freed, 1);
    assert_null(dns_cache_find(&c, "first.example"));
    assert_int_equal(dns_mxset_refs(last->mx), 1);
    assert_fills(last->mx, last->order, &l);
    assert_int_equal(dns_mxsets_count(&t), 1);
    dns_cache_free(&c);
    assert_int_equal(dns_mxsets_count(&t), 0);
    dns_mxsets_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_content_shares),
        cmocka_unit_test(test_order_is_the_domains),
        cmocka_unit_test(test_difference_is_another_set),
        cmocka_unit_test(test_largest_round_trip),
        cmocka_unit_test(test_exact_size),
        cmocka_unit_test(test_free_with_references),
        cmocka_unit_test(test_stale_drop_keeps_other),
        cmocka_unit_test(test_eviction_keeps_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
