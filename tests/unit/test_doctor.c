/* test_doctor.c — the pure parts of `mailvet doctor`: host-name and SPF
 * recognition, DNS name comparison, reverse names, making network text
 * printable, this host's address list, and every check's verdict and advice
 * (doctor_judge_*) from hand-made lookup results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "dns.h"
#include "dns_lookup.h"
#include "doctor_judge.h"
#include "doctor_self.h"

/* ---- helpers --------------------------------------------------------------- */

static struct sockaddr_storage ip(const char *text)
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
    return ss;
}

static dns_addrs addrs_of(const char *a, const char *b)
{
    dns_addrs r;
    memset(&r, 0, sizeof r);
    r.status = a ? DNS_LOOKUP_OK : DNS_LOOKUP_NXDOMAIN;
    if (a)
        r.addr[r.n++] = ip(a);
    if (b)
        r.addr[r.n++] = ip(b);
    return r;
}

static doctor_self self_of(doctor_self_kind kind, const char *a)
{
    doctor_self s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    if (a)
        s.addr[s.n++] = ip(a);
    return s;
}

static dns_txts txts_of(const char *const *recs, size_t n)
{
    dns_txts t;
    memset(&t, 0, sizeof t);
    t.status = n ? DNS_LOOKUP_OK : DNS_LOOKUP_NODATA;
    for (size_t i = 0; i < n; i++) {
        t.txt[i].len = strlen(recs[i]);
        memcpy(t.txt[i].text, recs[i], t.txt[i].len + 1);
    }
    t.n = n;
    return t;
}

#define assert_contains(hay, needle)                                                    \
    do {                                                                                \
        if (!strstr((hay), (needle)))                                                   \
            fail_msg("'%s' does not contain '%s'", (hay), (needle));                    \
    } while (0)

/* ---- names, SPF, text -------------------------------------------------------- */

static void test_fqdn(void **state)
{
    (void)state;
    assert_true(doctor_judge_fqdn("mail.example.com"));
    assert_true(doctor_judge_fqdn("Mail.Example.COM."));
    assert_true(doctor_judge_fqdn("a-b.c1.io"));
    assert_true(doctor_judge_fqdn("123.example.net"));
    assert_false(doctor_judge_fqdn("vm"));
    assert_false(doctor_judge_fqdn(""));
    assert_false(doctor_judge_fqdn(NULL));
    assert_false(doctor_judge_fqdn("."));
    assert_false(doctor_judge_fqdn("localhost"));
    assert_false(doctor_judge_fqdn("localhost.localdomain"));
    assert_false(doctor_judge_fqdn("box.local"));
    assert_false(doctor_judge_fqdn("192.0.2.1"));
    assert_false(doctor_judge_fqdn("-bad.example.com"));
    assert_false(doctor_judge_fqdn("bad-.example.com"));
    assert_false(doctor_judge_fqdn("a..example.com"));
    assert_false(doctor_judge_fqdn("under_score.example.com"));
    assert_false(doctor_judge_fqdn("sp ace.example.com"));
    char longlabel[80];
    memset(longlabel, 'a', 64);
    memcpy(longlabel + 64, ".com", 5);
    assert_false(doctor_judge_fqdn(longlabel));     /* 64-byte label */
    longlabel[63] = '.';
    memcpy(longlabel + 64, "com", 4);
    assert_true(doctor_judge_fqdn(longlabel + 1));  /* 62-byte label */
}

static void test_is_spf(void **state)
{
    (void)state;
    assert_true(doctor_judge_is_spf("v=spf1 -all", 11));
    assert_true(doctor_judge_is_spf("v=spf1", 6));
    assert_true(doctor_judge_is_spf("V=SPF1 a mx -all", 16));
    assert_false(doctor_judge_is_spf("v=spf10 -all", 12));
    assert_false(doctor_judge_is_spf("v=spf1-all", 10));
    assert_false(doctor_judge_is_spf(" v=spf1 -all", 12));
    assert_false(doctor_judge_is_spf("v=spf", 5));
    assert_false(doctor_judge_is_spf("spf2.0/pra", 10));
    assert_false(doctor_judge_is_spf("v=spf1 -all", 5));  /* LEN counts, not the NUL */
}

static void test_name_equal(void **state)
{
    (void)state;
    assert_true(dns_name_equal("mail.example.com", "MAIL.Example.com."));
    assert_true(dns_name_equal("mail.example.com.", "mail.example.com"));
    assert_true(dns_name_equal("a.", "a."));
    assert_false(dns_name_equal("mail.example.com", "mail.example.co"));
    assert_false(dns_name_equal("mail.example.com", "mail.example.com.."));
    assert_false(dns_name_equal("\xc3\x89.example", "\xc3\xa9.example"));  /* ASCII case only */
}

static void test_clean(void **state)
{
    (void)state;
    char buf[16];
    doctor_judge_clean(buf, sizeof buf, "ok text", 7);
    assert_string_equal(buf, "ok text");
    doctor_judge_clean(buf, sizeof buf, "a\x1b[31mb\r\n\0z", 11);
    assert_string_equal(buf, "a?[31mb???z");
    doctor_judge_clean(buf, sizeof buf, "0123456789abcdefghij", 20);
    assert_string_equal(buf, "0123456789ab...");
    assert_int_equal(strlen(buf), sizeof buf - 1);
    doctor_judge_clean(buf, sizeof buf, "\xff\xfe", 2);
    assert_string_equal(buf, "??");
}

static void test_reverse_name(void **state)
{
    (void)state;
    char out[80];
    struct sockaddr_storage a = ip("192.0.2.10");
    assert_true(dns_lookup_reverse_name((struct sockaddr *)&a, out, sizeof out));
    assert_string_equal(out, "10.2.0.192.in-addr.arpa");
    a = ip("2001:db8::567:89ab");
    assert_true(dns_lookup_reverse_name((struct sockaddr *)&a, out, sizeof out));
    assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    assert_false(dns_lookup_reverse_name((struct sockaddr *)&a, out, 20));
    struct sockaddr_storage u;
    memset(&u, 0, sizeof u);
    u.ss_family = AF_UNIX;
    assert_false(dns_lookup_reverse_name((struct sockaddr *)&u, out, sizeof out));
}

/* ---- this host's addresses ---------------------------------------------------- */

static void test_self_add(void **state)
{
    (void)state;
    doctor_self s;
    memset(&s, 0, sizeof s);
    struct sockaddr_storage pub = ip("8.8.8.8"), priv = ip("10.1.2.3"), lo = ip("127.0.0.1"),
                            ll = ip("fe80::1"), pub6 = ip("2001:4860::1");
    ((struct sockaddr_in *)&pub)->sin_port = htons(25);     /* ports do not matter */
    doctor_self_add(&s, (struct sockaddr *)&pub, false);
    doctor_self_add(&s, (struct sockaddr *)&pub, false);   /* no duplicates */
    doctor_self_add(&s, (struct sockaddr *)&priv, false);
    doctor_self_add(&s, (struct sockaddr *)&lo, false);
    doctor_self_add(&s, (struct sockaddr *)&ll, false);    /* never kept */
    doctor_self_add(&s, (struct sockaddr *)&pub6, false);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.nhidden, 2);
    struct sockaddr_storage pub0 = ip("8.8.8.8");
    assert_true(doctor_self_has(&s, &pub0));
    assert_true(doctor_self_has(&s, &pub6));
    assert_false(doctor_self_has(&s, &priv));
    assert_int_equal(((struct sockaddr_in *)&s.addr[0])->sin_port, 0);

    memset(&s, 0, sizeof s);                                /* --allow-private-mx */
    doctor_self_add(&s, (struct sockaddr *)&priv, true);
    doctor_self_add(&s, (struct sockaddr *)&lo, true);
    doctor_self_add(&s, (struct sockaddr *)&ll, true);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.nhidden, 0);

    memset(&s, 0, sizeof s);                                /* bounded */
    for (int i = 0; i < 40; i++) {
        char t[32];
        snprintf(t, sizeof t, "8.8.%d.%d", i, i);
        struct sockaddr_storage x = ip(t);
        doctor_self_add(&s, (struct sockaddr *)&x, false);
        snprintf(t, sizeof t, "10.0.%d.1", i);
        x = ip(t);
        doctor_self_add(&s, (struct sockaddr *)&x, false);
    }
    assert_int_equal(s.n, DOCTOR_SELF_MAX);
    assert_int_equal(s.nhidden, 40);
}

static void test_self_find_routes(void **state)
{
    (void)state;
    egress_list l;
    char err[256];
    doctor_self s;
    assert_int_equal(egress_parse(NULL, "192.0.2.7,10.0.0.1", &l, err, sizeof err), 0);
    doctor_self_find(&s, &l, true);
    assert_int_equal(s.kind, SELF_BIND);
    assert_int_equal(s.n, 2);
    doctor_self_find(&s, &l, false);        /* both non-public: hidden */
    assert_int_equal(s.kind, SELF_HIDDEN);
    assert_int_equal(s.nhidden, 2);
    egress_list_free(&l);
    assert_int_equal(egress_parse("socks5://127.0.0.1:1080", NULL, &l, err, sizeof err), 0);
    doctor_self_find(&s, &l, true);
    assert_int_equal(s.kind, SELF_PROXY);
    assert_int_equal(s.n, 0);
    egress_list_free(&l);
}

/* ---- helo ---------------------------------------------------------------------- */

static void test_helo(void **state)
{
    (void)state;
    doctor_line l;
    doctor_self me = self_of(SELF_IFACES, "198.51.100.5");
    dns_addrs a = addrs_of("198.51.100.5", "2001:db8::5");
    doctor_judge_helo(&l, "mail.example.com", &a, &me);
    assert_int_equal(l.level, DOCTOR_OK);
    assert_string_equal(l.check, "helo");
    assert_string_equal(l.found, "mail.example.com resolves to 198.51.100.5, 2001:db8::5 (this host)");
    assert_string_equal(l.fix, "");

    a = addrs_of("203.0.113.9", NULL);
    doctor_judge_helo(&l, "mail.example.com", &a, &me);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "resolves to 203.0.113.9, not to this host (198.51.100.5)");
    assert_contains(l.fix, "at 198.51.100.5");

    a = addrs_of(NULL, NULL);
    doctor_judge_helo(&l, "mail.example.com", &a, &me);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "has no A or AAAA record (NXDOMAIN)");
    assert_contains(l.fix, "mail.example.com -> 198.51.100.5");
    a.status = DNS_LOOKUP_NODATA;
    doctor_judge_helo(&l, "mail.example.com", &a, &me);
    assert_contains(l.found, "(no address)");

    a.status = DNS_LOOKUP_ERROR;
    snprintf(a.detail, sizeof a.detail, "timeout for A mail.example.com");
    doctor_judge_helo(&l, "mail.example.com", &a, &me);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.found, "could not resolve mail.example.com: timeout");

    a = addrs_of("198.51.100.5", NULL);
    doctor_judge_helo(&l, "myhost", &a, &me);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "'myhost' is not a fully qualified domain name");

    doctor_self nat = self_of(SELF_HIDDEN, NULL);
    nat.hidden[0] = ip("192.168.1.20");
    nat.nhidden = 1;
    doctor_judge_helo(&l, "mail.example.com", &a, &nat);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.found, "only private addresses (192.168.1.20)");
    assert_contains(l.fix, "check by hand that 198.51.100.5 is the address");

    doctor_self proxy = self_of(SELF_PROXY, NULL);
    doctor_judge_helo(&l, "mail.example.com", &a, &proxy);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.found, "through the proxy");
    assert_contains(l.fix, "the proxy's exit address");
}

/* ---- ptr ------------------------------------------------------------------------ */

static doctor_ptr ptr_of(const char *addr, bool named, const char *name, const char *fwd)
{
    doctor_ptr p;
    memset(&p, 0, sizeof p);
    p.addr = ip(addr);
    p.named_by_helo = named;
    p.ptr.status = name ? DNS_LOOKUP_OK : DNS_LOOKUP_NXDOMAIN;
    if (name)
        snprintf(p.ptr.name[p.ptr.n++], sizeof p.ptr.name[0], "%s", name);
    if (fwd) {
        p.fwd_asked = true;
        p.fwd = addrs_of(fwd, NULL);
    }
    return p;
}

static void test_ptr_targets(void **state)
{
    (void)state;
    struct sockaddr_storage out[4];
    bool named[4];
    doctor_self me = self_of(SELF_IFACES, "198.51.100.5");
    me.addr[me.n++] = ip("198.51.100.6");
    dns_addrs a = addrs_of("203.0.113.1", "198.51.100.6");
    assert_int_equal(doctor_judge_ptr_targets(&a, &me, out, named, 4), 1);
    struct sockaddr_storage want = ip("198.51.100.6");
    assert_true(dns_addr_equal(&out[0], &want));
    assert_true(named[0]);

    a = addrs_of("203.0.113.1", NULL);      /* names none of ours: our own */
    assert_int_equal(doctor_judge_ptr_targets(&a, &me, out, named, 4), 2);
    assert_false(named[0]);
    assert_int_equal(doctor_judge_ptr_targets(&a, &me, out, named, 1), 1);

    doctor_self nat = self_of(SELF_HIDDEN, NULL);
    assert_int_equal(doctor_judge_ptr_targets(&a, &nat, out, named, 4), 1);
    want = ip("203.0.113.1");
    assert_true(dns_addr_equal(&out[0], &want));
    assert_true(named[0]);
    a = addrs_of(NULL, NULL);
    assert_int_equal(doctor_judge_ptr_targets(&a, &nat, out, named, 4), 0);
}

static void test_ptr(void **state)
{
    (void)state;
    doctor_line l;
    doctor_self me = self_of(SELF_IFACES, "198.51.100.5");
    doctor_ptr p[2];

    p[0] = ptr_of("198.51.100.5", true, "Mail.Example.com.", NULL);
    doctor_judge_ptr(&l, "mail.example.com", p, 1, &me);
    assert_int_equal(l.level, DOCTOR_OK);
    assert_string_equal(l.found, "198.51.100.5 -> mail.example.com -> 198.51.100.5 (forward-confirmed)");

    p[0] = ptr_of("198.51.100.5", true, NULL, NULL);
    doctor_judge_ptr(&l, "mail.example.com", p, 1, &me);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "198.51.100.5 has no PTR record");
    assert_contains(l.fix, "set its PTR to mail.example.com");

    p[0] = ptr_of("198.51.100.5", true, "host-5.isp.example", "198.51.100.5");
    doctor_judge_ptr(&l, "mail.example.com", p, 1, &me);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.fix, "use --helo host-5.isp.example");

    p[0] = ptr_of("198.51.100.5", true, "host-5.isp.example", "203.0.113.1");
    doctor_judge_ptr(&l, "mail.example.com", p, 1, &me);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "which does not resolve back to 198.51.100.5");

    p[0] = ptr_of("198.51.100.5", false, "mail.example.com", NULL);
    doctor_judge_ptr(&l, "mail.example.com", p, 1, &me);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "but mail.example.com does not resolve to 198.51.100.5");

    p[0] = ptr_of("198.51.100.5", true, "mail.example.com", NULL);   /* the worst is told */
    p[1] = ptr_of("2001:db8::5", true, NULL, NULL);
    doctor_judge_ptr(&l, "mail.example.com", p, 2, &me);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "2001:db8::5 has no PTR record");
    assert_contains(l.found, "(1 of 2 addresses fine)");

    p[0] = ptr_of("198.51.100.5", false, NULL, NULL);   /* our own: the best is told */
    p[1] = ptr_of("198.51.100.6", false, "host-6.isp.example", "198.51.100.6");
    doctor_judge_ptr(&l, "vm", p, 2, &me);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.fix, "use --helo host-6.isp.example, or set the PTR of 198.51.100.6 to this host's name");
    assert_contains(l.found, "the HELO name does not resolve to this host");

    p[0].ptr.status = DNS_LOOKUP_ERROR;
    snprintf(p[0].ptr.detail, sizeof p[0].ptr.detail, "SERVFAIL for PTR x");
    p[0].named_by_helo = true;
    doctor_judge_ptr(&l, "mail.example.com", p, 1, &me);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.found, "could not look up the PTR of 198.51.100.5: SERVFAIL");

    doctor_self nat = self_of(SELF_HIDDEN, NULL);
    doctor_judge_ptr(&l, "mail.example.com", p, 0, &nat);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.found, "nothing to look up");
}

/* ---- from-mx and spf ---------------------------------------------------------------- */

static void test_from_mx(void **state)
{
    (void)state;
    doctor_line l;
    dns_result r;
    memset(&r, 0, sizeof r);
    r.status = DNS_OK;
    r.nmx = 2;
    snprintf(r.mx[0].host, sizeof r.mx[0].host, "mx1.example.com");
    r.mx[0].pref = 5;
    doctor_judge_from_mx(&l, "example.com", &r);
    assert_int_equal(l.level, DOCTOR_OK);
    assert_string_equal(l.found, "example.com has MX mx1.example.com (preference 5) and more");
    r.implicit_mx = true;
    doctor_judge_from_mx(&l, "example.com", &r);
    assert_contains(l.found, "implicit MX");

    static const dns_status warn[] = {DNS_NXDOMAIN, DNS_NO_MAIL_SERVER, DNS_NULL_MX,
                                      DNS_UNROUTABLE, DNS_ERROR};
    for (size_t i = 0; i < sizeof warn / sizeof *warn; i++) {
        memset(&r, 0, sizeof r);
        r.status = warn[i];
        doctor_judge_from_mx(&l, "example.com", &r);
        assert_int_equal(l.level, DOCTOR_WARN);
        assert_string_not_equal(l.fix, "");
    }
    r.status = DNS_NULL_MX;
    doctor_judge_from_mx(&l, "example.com", &r);
    assert_contains(l.found, "null MX");
}

static void test_spf(void **state)
{
    (void)state;
    doctor_line l;
    static const char *const one[] = {"google-site-verification=x", "v=spf1 mx -all"};
    dns_txts t = txts_of(one, 2);
    doctor_judge_spf(&l, "example.com", &t, "mail.example.com");
    assert_int_equal(l.level, DOCTOR_OK);
    assert_string_equal(l.found, "example.com has SPF \"v=spf1 mx -all\"");

    static const char *const two[] = {"v=spf1 -all", "v=spf1 a -all"};
    t = txts_of(two, 2);
    doctor_judge_spf(&l, "example.com", &t, "mail.example.com");
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.found, "has 2 SPF records");

    static const char *const none[] = {"v=spf10", "hello"};
    t = txts_of(none, 2);
    doctor_judge_spf(&l, "example.com", &t, "mail.example.com");
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.fix, "\"v=spf1 a:mail.example.com -all\" at example.com");
    t = txts_of(NULL, 0);
    doctor_judge_spf(&l, "example.com", &t, "mail.example.com");
    assert_int_equal(l.level, DOCTOR_WARN);
    t.status = DNS_LOOKUP_ERROR;
    doctor_judge_spf(&l, "example.com", &t, "mail.example.com");
    assert_contains(l.found, "could not look up");

    static const char *const hostile[] = {"v=spf1 \x1b[2Jinclude:evil -all"};
    t = txts_of(hostile, 1);
    doctor_judge_spf(&l, "example.com", &t, "mail.example.com");
    assert_int_equal(l.level, DOCTOR_OK);
    assert_contains(l.found, "v=spf1 ?[2Jinclude:evil -all");
}

/* ---- port 25 ---------------------------------------------------------------------------- */

static dns_result mx_ok;
static struct sockaddr_storage mx_addr;

static doctor_port25 port25_of(const doctor_smtp_result *res)
{
    memset(&mx_ok, 0, sizeof mx_ok);
    mx_ok.status = DNS_OK;
    mx_ok.nmx = 1;
    mx_addr = ip("192.0.2.25");
    ((struct sockaddr_in *)&mx_addr)->sin_port = htons(25);
    return (doctor_port25){
        .target = "gmail.com", .mx = &mx_ok, .host = "mx.example.net", .addr = &mx_addr,
        .tries = 1, .res = res, .helo = "mail.example.com",
        .connect_timeout = 10, .command_timeout = 30,
    };
}

static void test_port25(void **state)
{
    (void)state;
    doctor_line l;
    doctor_smtp_result r;
    memset(&r, 0, sizeof r);
    r.stage = DSMTP_DONE;
    r.banner_s = 0.25;
    r.ehlo_code = 250;
    snprintf(r.banner, sizeof r.banner, "220 mx.example.net ESMTP");
    doctor_port25 p = port25_of(&r);
    doctor_judge_port25(&l, &p);
    assert_int_equal(l.level, DOCTOR_OK);
    assert_string_equal(l.found, "mx.example.net [192.0.2.25]:25 answered in 0.250 s: "
                                 "\"220 mx.example.net ESMTP\"; EHLO mail.example.com: 250");

    r.stage = DSMTP_CONNECT;
    r.err = UV_ETIMEDOUT;
    doctor_judge_port25(&l, &p);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "no answer from mx.example.net [192.0.2.25]:25 within 10 s (tried 1 address)");
    assert_contains(l.fix, "port 25 blocked? cloud providers block outbound port 25");
    assert_contains(l.fix, "--proxy socks5://");
    r.err = UV_ECONNREFUSED;
    doctor_judge_port25(&l, &p);
    assert_contains(l.found, "refused");

    egress proxy;
    memset(&proxy, 0, sizeof proxy);
    proxy.kind = EGRESS_SOCKS5;
    snprintf(proxy.label, sizeof proxy.label, "socks5://bob@192.0.2.80:1080");
    p.route = &proxy;
    r.err = CONN_EEGRESS;
    snprintf(r.egress, sizeof r.egress, "proxy 192.0.2.80:1080: authentication rejected");
    doctor_judge_port25(&l, &p);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_string_equal(l.found, "via socks5://bob@192.0.2.80:1080: the route failed: "
                                 "proxy 192.0.2.80:1080: authentication rejected");
    assert_contains(l.fix, "--proxy host, port, user and password");
    r.err = UV_ETIMEDOUT;
    doctor_judge_port25(&l, &p);
    assert_contains(l.fix, "many proxies block it");
    r.err = UV_ENOTSUP;
    doctor_judge_port25(&l, &p);
    assert_contains(l.found, "cannot connect through --proxy routes yet");
    p.route = NULL;

    r.stage = DSMTP_BANNER;
    r.err = 0;
    snprintf(r.banner, sizeof r.banner, "554 5.7.1 blocked using zen.spamhaus.org\x07");
    doctor_judge_port25(&l, &p);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "refused this host: \"554 5.7.1 blocked using zen.spamhaus.org?\"");
    assert_contains(l.fix, "blocklist");
    r.err = UV_ETIMEDOUT;
    doctor_judge_port25(&l, &p);
    assert_contains(l.found, "but no banner within 30 s");
    r.err = UV_EPROTO;
    doctor_judge_port25(&l, &p);
    assert_contains(l.found, "not SMTP");
    r.err = UV_EOF;
    doctor_judge_port25(&l, &p);
    assert_contains(l.found, "closed the connection before the banner");

    r.stage = DSMTP_EHLO;
    r.err = 0;
    r.ehlo_code = 550;
    snprintf(r.banner, sizeof r.banner, "220 ok");
    snprintf(r.ehlo, sizeof r.ehlo, "550 5.7.1 Helo command rejected");
    doctor_judge_port25(&l, &p);
    assert_int_equal(l.level, DOCTOR_WARN);
    assert_contains(l.found, "but EHLO mail.example.com got \"550 5.7.1 Helo command rejected\"");

    dns_result nx;
    memset(&nx, 0, sizeof nx);
    nx.status = DNS_NXDOMAIN;
    snprintf(nx.detail, sizeof nx.detail, "NXDOMAIN gmail.com");
    p.mx = &nx;
    p.res = NULL;
    doctor_judge_port25(&l, &p);
    assert_int_equal(l.level, DOCTOR_FAIL);
    assert_contains(l.found, "cannot find --target gmail.com's mail server: nxdomain");
    nx.status = DNS_ERROR;
    doctor_judge_port25(&l, &p);
    assert_contains(l.fix, "DNS resolver");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fqdn),          cmocka_unit_test(test_is_spf),
        cmocka_unit_test(test_name_equal),    cmocka_unit_test(test_clean),
        cmocka_unit_test(test_reverse_name),  cmocka_unit_test(test_self_add),
        cmocka_unit_test(test_self_find_routes), cmocka_unit_test(test_helo),
        cmocka_unit_test(test_ptr_targets),   cmocka_unit_test(test_ptr),
        cmocka_unit_test(test_from_mx),       cmocka_unit_test(test_spf),
        cmocka_unit_test(test_port25),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
