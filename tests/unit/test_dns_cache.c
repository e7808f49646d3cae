/* test_dns_cache.c — the resolver's cache (src/dns.c over dns_cache.c and
 * dns_mxset.c) against a scripted c-ares: the test defines ares_query()
 * and ares_cancel() itself (the executable's definitions win over
 * libcares' at link time, as in tests/fuzz/fuzz_dns.c) and answers every
 * question from a small world, one loop turn later, with real DNS messages
 * that c-ares' own parsers read.
 *
 * The world: a provider fleet (mx1, mx2.fleet.test) behind any domain
 * *.test, which c.test lists in the other order; own.test on its own host.
 * Checked: fleet domains share one MX set and get byte-identical answers
 * (each in its own answer order), a cached answer is the first one byte
 * for byte and asks nothing, and evicting one fleet domain (DNS_CACHE_MAX
 * others after it) neither frees nor changes the set the others use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ares.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dns.h"
#include "dns_cache.h"

enum { T_A = 1, T_MX = 15, T_AAAA = 28 };

/* ---- the fake c-ares ---------------------------------------------------- */

typedef struct question {
    char name[DNS_NAME_MAX + 1];
    int type;
    ares_callback cb;
    void *arg;
} question;

#define QMAX 4096
static question Q[QMAX];
static size_t qhead, qtail;     /* FIFO: Q[qhead..qtail) */
static uint64_t nasked;

void ares_query(ares_channel channel, const char *name, int dnsclass, int type,
                ares_callback callback, void *arg)
{
    (void)channel;
    assert_int_equal(dnsclass, 1);
    assert_true(qtail < QMAX);
    question *q = &Q[qtail++];
    snprintf(q->name, sizeof q->name, "%s", name);
    q->type = type;
    q->cb = callback;
    q->arg = arg;
    nasked++;
}

void ares_cancel(ares_channel channel)
{
    (void)channel;
    while (qhead < qtail) {
        question q = Q[qhead++];
        q.cb(q.arg, ARES_ECANCELLED, 0, NULL, 0);
    }
    qhead = qtail = 0;
}

/* ---- DNS messages --------------------------------------------------------- */

typedef struct pkt {
    unsigned char b[1024];
    int n;
} pkt;

static void put8(pkt *p, unsigned v)
{
    assert_true(p->n < (int)sizeof p->b);
    p->b[p->n++] = (unsigned char)v;
}

static void put16(pkt *p, unsigned v)
{
    put8(p, v >> 8);
    put8(p, v & 0xff);
}

static void put_name(pkt *p, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        put8(p, (unsigned)len);
        for (size_t i = 0; i < len; i++)
            put8(p, (unsigned char)name[i]);
        name += len + (dot ? 1 : 0);
    }
    put8(p, 0);
}

static void begin(pkt *p, const char *qname, int qtype, unsigned ancount)
{
    p->n = 0;
    put16(p, 0x1234);
    put16(p, 0x8180);
    put16(p, 1);
    put16(p, ancount);
    put16(p, 0);
    put16(p, 0);
    put_name(p, qname);
    put16(p, (unsigned)qtype);
    put16(p, 1);
}

/* An answer to the question (name by pointer), TYPE, RDATA follows. */
static int rr_begin(pkt *p, int type)
{
    put16(p, 0xc00c);
    put16(p, (unsigned)type);
    put16(p, 1);
    put16(p, 0);
    put16(p, 300);
    put16(p, 0);                /* RDLENGTH, patched by rr_end */
    return p->n;
}

static void rr_end(pkt *p, int at)
{
    unsigned len = (unsigned)(p->n - at);
    p->b[at - 2] = (unsigned char)(len >> 8);
    p->b[at - 1] = (unsigned char)(len & 0xff);
}

static void add_mx(pkt *p, unsigned pref, const char *host)
{
    int at = rr_begin(p, T_MX);
    put16(p, pref);
    put_name(p, host);
    rr_end(p, at);
}

static void add_addr(pkt *p, int type, const char *text)
{
    unsigned char a[16];
    assert_int_equal(inet_pton(type == T_A ? AF_INET : AF_INET6, text, a), 1);
    int at = rr_begin(p, type);
    for (int i = 0; i < (type == T_A ? 4 : 16); i++)
        put8(p, a[i]);
    rr_end(p, at);
}

/* ---- the world ------------------------------------------------------------ */

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

/* Q's answer into P; its c-ares status. */
static int world(const question *q, pkt *p)
{
    const char *n = q->name;
    if (q->type == T_MX && !strcmp(n, "own.test")) {
        begin(p, n, q->type, 1);
        add_mx(p, 10, "mx.own.test");
        return ARES_SUCCESS;
    }
    if (q->type == T_MX && ends_with(n, ".test") && !ends_with(n, "fleet.test")) {
        bool rotated = !strcmp(n, "c.test");
        begin(p, n, q->type, 2);
        add_mx(p, 10, rotated ? "mx2.fleet.test" : "mx1.fleet.test");
        add_mx(p, 10, rotated ? "mx1.fleet.test" : "mx2.fleet.test");
        return ARES_SUCCESS;
    }
    const char *a = NULL, *aaaa = NULL;
    if (!strcmp(n, "mx1.fleet.test"))
        a = "192.0.2.1";
    else if (!strcmp(n, "mx2.fleet.test"))
        a = "192.0.2.2", aaaa = "2001:db8::2";
    else if (!strcmp(n, "mx.own.test"))
        a = "198.51.100.7";
    const char *text = q->type == T_A ? a : q->type == T_AAAA ? aaaa : NULL;
    begin(p, n, q->type, text ? 1 : 0);
    if (!text)
        return ARES_ENODATA;
    add_addr(p, q->type, text);
    return ARES_SUCCESS;
}

/* ---- driving the resolver ------------------------------------------------- */

static uv_loop_t loop;
static dns_resolver *res;
static int calls;

typedef struct answer {
    int calls;
    dns_result r;
} answer;

static void on_result(void *ud, const dns_result *r)
{
    answer *a = ud;
    a->calls++;
    a->r = *r;                  /* R is only valid during the call */
    calls++;
}

/* Answer every question (and those they lead to) and run the loop until
 * WANT callbacks have run. */
static void drive(int want)
{
    for (int guard = 0; guard < 1000000; guard++) {
        while (qhead < qtail) {
            question q = Q[qhead++];
            pkt p;
            int st = world(&q, &p);
            q.cb(q.arg, st, 0, p.b, p.n);
        }
        qhead = qtail = 0;
        uv_run(&loop, UV_RUN_NOWAIT);
        if (calls >= want && qhead == qtail)
            return;
    }
    fail_msg("the resolver never answered");
}

static answer *resolve(const char *domain)
{
    answer *a = calloc(1, sizeof *a);
    assert_non_null(a);
    int want = calls + 1;
    dns_resolve_mail(res, domain, on_result, a);
    drive(want);
    assert_int_equal(a->calls, 1);
    return a;
}

static dns_stats stats(void)
{
    dns_stats st;
    dns_get_stats(res, &st);
    return st;
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    dns_opts o = {.servers = "127.0.0.1:5353", .allow_private = true, .tries = 1};
    assert_int_equal(uv_loop_init(&loop), 0);
    res = dns_new(&loop, &o, err, sizeof err);
    assert_non_null(res);
    calls = 0;
    nasked = 0;
    return 0;
}

static void on_closed(void *ud)
{
    *(bool *)ud = true;
}

static int teardown(void **state)
{
    (void)state;
    bool closed = false;
    dns_close(res, on_closed, &closed);
    for (int i = 0; i < 1000 && !closed; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_true(closed);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static void assert_fleet(const dns_result *r, const char *first, const char *second)
{
    assert_int_equal(r->status, DNS_OK);
    assert_int_equal(r->nmx, 2);
    assert_string_equal(r->mx[0].host, first);
    assert_string_equal(r->mx[1].host, second);
    const dns_mx *m2 = !strcmp(first, "mx2.fleet.test") ? &r->mx[0] : &r->mx[1];
    assert_int_equal(m2->naddrs, 2);
    assert_int_equal(m2->addrs[0].ss_family, AF_INET);
    assert_int_equal(m2->addrs[1].ss_family, AF_INET6);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_fleet_shares_one_set(void **state)
{
    (void)state;
    answer *a = resolve("a.test"), *b = resolve("b.test"), *c = resolve("c.test");
    assert_fleet(&a->r, "mx1.fleet.test", "mx2.fleet.test");
    assert_memory_equal(&a->r, &b->r, sizeof a->r);
    assert_fleet(&c->r, "mx2.fleet.test", "mx1.fleet.test");   /* its own order */
    assert_memory_equal(&c->r.mx[0], &a->r.mx[1], sizeof c->r.mx[0]);
    assert_memory_equal(&c->r.mx[1], &a->r.mx[0], sizeof c->r.mx[1]);
    dns_stats st = stats();
    assert_int_equal(st.domains, 3);
    assert_int_equal(st.hosts, 2);
    assert_int_equal(st.mxsets, 1);
    answer *own = resolve("own.test");
    assert_int_equal(own->r.nmx, 1);
    assert_string_equal(own->r.mx[0].host, "mx.own.test");
    assert_int_equal(stats().mxsets, 2);
    free(a), free(b), free(c), free(own);
}

static void test_cached_answer_identical(void **state)
{
    (void)state;
    answer *first = resolve("a.test");
    uint64_t asked = nasked;
    answer *again = resolve("A.Test.");
    assert_int_equal(nasked, asked);            /* from the cache */
    assert_memory_equal(&first->r, &again->r, sizeof first->r);
    free(first), free(again);
}

/* first.test is the oldest of DNS_CACHE_MAX + 1 fleet domains and goes;
 * the set stays for the rest, and asking for first.test again asks DNS
 * again and gets the same answer. */
static void test_eviction_keeps_shared_set(void **state)
{
    (void)state;
    answer *first = resolve("first.test"), *keep = resolve("keep.test");
    answer scratch;
    char name[32];
    int base = calls, n = DNS_CACHE_MAX - 2;    /* fills the cache */
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "d%d.test", i);
        dns_resolve_mail(res, name, on_result, &scratch);
        if (i % 200 == 199 || i == n - 1)
            drive(base + i + 1);
    }
    assert_int_equal(calls, base + n);
    dns_stats st = stats();
    assert_int_equal(st.domains, DNS_CACHE_MAX);
    assert_int_equal(st.mxsets, 1);
    answer *late = resolve("late.test");        /* evicts first.test */
    assert_int_equal(stats().domains, DNS_CACHE_MAX);
    assert_memory_equal(&late->r, &keep->r, sizeof late->r);
    uint64_t asked = nasked;
    answer *kept = resolve("keep.test");        /* still cached */
    assert_int_equal(nasked, asked);
    assert_memory_equal(&kept->r, &keep->r, sizeof kept->r);
    answer *back = resolve("first.test");       /* evicted: asked again */
    assert_int_equal(nasked, asked + 1);
    assert_memory_equal(&back->r, &first->r, sizeof back->r);
    assert_int_equal(stats().mxsets, 1);
    free(first), free(keep), free(late), free(kept), free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fleet_shares_one_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_answer_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eviction_keeps_shared_set, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
