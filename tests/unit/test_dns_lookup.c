/* test_dns_lookup.c — dns_lookup's PTR and TXT parsers on hand-built DNS
 * answers, hostile ones included: records and strings beyond the caps, any
 * byte in a TXT string, PTR names that are no host names, truncated packets,
 * a compression loop. (The lookups themselves run against dnsmasq in
 * tests/net/dns.sh.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dns_lookup.h"

enum { T_PTR = 12, T_TXT = 16 };

typedef struct pkt {
    unsigned char b[16384];
    size_t n;
    size_t ancount_at;
} pkt;

static void put8(pkt *p, unsigned v)
{
    assert_true(p->n < sizeof p->b);
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

/* Header and question for QNAME/QTYPE; answers follow with add_rr. */
static void begin(pkt *p, const char *qname, unsigned qtype)
{
    memset(p, 0, sizeof *p);
    put16(p, 0x1234);
    put16(p, 0x8180);       /* response, RD, RA, NOERROR */
    put16(p, 1);
    p->ancount_at = p->n;
    put16(p, 0);
    put16(p, 0);
    put16(p, 0);
    put_name(p, qname);
    put16(p, qtype);
    put16(p, 1);
}

/* An answer named by a pointer to the question; RDATA of LEN bytes. */
static void add_rr(pkt *p, unsigned type, const unsigned char *rdata, size_t len)
{
    put16(p, 0xc00c);
    put16(p, type);
    put16(p, 1);
    put16(p, 0);
    put16(p, 300);
    put16(p, (unsigned)len);
    for (size_t i = 0; i < len; i++)
        put8(p, rdata[i]);
    unsigned an = (unsigned)(p->b[p->ancount_at] << 8 | p->b[p->ancount_at + 1]) + 1;
    p->b[p->ancount_at] = (unsigned char)(an >> 8);
    p->b[p->ancount_at + 1] = (unsigned char)(an & 0xff);
}

/* A TXT record of NSTR character-strings, each LEN bytes of FILL. */
static void add_txt(pkt *p, size_t nstr, size_t len, int fill)
{
    unsigned char rd[4096];
    size_t o = 0;
    for (size_t i = 0; i < nstr; i++) {
        rd[o++] = (unsigned char)len;
        memset(rd + o, fill, len);
        o += len;
    }
    add_rr(p, T_TXT, rd, o);
}

static void add_txt_str(pkt *p, const char *s1, const char *s2)
{
    unsigned char rd[600];
    size_t o = 0;
    for (const char *s = s1; s; s = s == s1 ? s2 : NULL) {
        rd[o++] = (unsigned char)strlen(s);
        memcpy(rd + o, s, strlen(s));
        o += strlen(s);
    }
    add_rr(p, T_TXT, rd, o);
}

static void add_ptr(pkt *p, const char *name)
{
    pkt tmp;
    memset(&tmp, 0, sizeof tmp);
    put_name(&tmp, name);
    add_rr(p, T_PTR, tmp.b, tmp.n);
}

static struct sockaddr_storage v4(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr), 1);
    return ss;
}

static dns_txts txts;       /* large: kept off the stack */
static dns_names names;
static pkt P;

/* ---- TXT ----------------------------------------------------------------------- */

static void test_txt_join(void **state)
{
    (void)state;
    begin(&P, "example.com", T_TXT);
    add_txt_str(&P, "v=spf1 ip4:192.0.2.1", " -all");
    add_txt_str(&P, "other", NULL);
    assert_int_equal(dns_lookup_parse_txt(P.b, (int)P.n, &txts), DNS_LOOKUP_OK);
    assert_int_equal(txts.n, 2);
    assert_false(txts.cut);
    assert_string_equal(txts.txt[0].text, "v=spf1 ip4:192.0.2.1 -all");
    assert_int_equal(txts.txt[0].len, 25);
    assert_string_equal(txts.txt[1].text, "other");
}

static void test_txt_long_cut(void **state)
{
    (void)state;
    begin(&P, "example.com", T_TXT);
    add_txt(&P, 8, 255, 'x');                  /* 2,040 bytes in one record */
    assert_int_equal(dns_lookup_parse_txt(P.b, (int)P.n, &txts), DNS_LOOKUP_OK);
    assert_int_equal(txts.n, 1);
    assert_int_equal(txts.txt[0].len, DNS_LOOKUP_TXT_MAX);
    assert_true(txts.txt[0].cut);
    assert_int_equal(txts.txt[0].text[DNS_LOOKUP_TXT_MAX], '\0');
    assert_int_equal(txts.txt[0].text[DNS_LOOKUP_TXT_MAX - 1], 'x');
}

static void test_txt_many_cut(void **state)
{
    (void)state;
    begin(&P, "example.com", T_TXT);
    for (int i = 0; i < 40; i++)
        add_txt(&P, 1, 3, 'a' + i % 26);
    assert_int_equal(dns_lookup_parse_txt(P.b, (int)P.n, &txts), DNS_LOOKUP_OK);
    assert_int_equal(txts.n, DNS_LOOKUP_TXTS);
    assert_true(txts.cut);
    assert_string_equal(txts.txt[15].text, "ppp");
}

static void test_txt_any_byte(void **state)
{
    (void)state;
    static const unsigned char rd[] = {6, 'v', 0, 0x1b, '\n', 0xff, '"'};
    begin(&P, "example.com", T_TXT);
    add_rr(&P, T_TXT, rd, sizeof rd);
    assert_int_equal(dns_lookup_parse_txt(P.b, (int)P.n, &txts), DNS_LOOKUP_OK);
    assert_int_equal(txts.txt[0].len, 6);
    assert_memory_equal(txts.txt[0].text, rd + 1, 6);
    assert_int_equal(txts.txt[0].text[6], '\0');
}

static void test_txt_malformed(void **state)
{
    (void)state;
    static const unsigned char over[] = {200, 'a', 'b'};   /* string longer than its RR */
    begin(&P, "example.com", T_TXT);
    add_rr(&P, T_TXT, over, sizeof over);
    assert_int_equal(dns_lookup_parse_txt(P.b, (int)P.n, &txts), DNS_LOOKUP_ERROR);

    begin(&P, "example.com", T_TXT);                        /* packet cut short */
    add_txt_str(&P, "v=spf1 -all", NULL);
    assert_int_equal(dns_lookup_parse_txt(P.b, (int)P.n - 4, &txts), DNS_LOOKUP_ERROR);
    assert_int_equal(dns_lookup_parse_txt(P.b, 5, &txts), DNS_LOOKUP_ERROR);

    begin(&P, "example.com", T_TXT);                        /* no answer: NODATA */
    assert_int_equal(dns_lookup_parse_txt(P.b, (int)P.n, &txts), DNS_LOOKUP_NODATA);
    assert_int_equal(txts.n, 0);
}

/* ---- PTR -------------------------------------------------------------------------- */

static void test_ptr_names(void **state)
{
    (void)state;
    struct sockaddr_storage a = v4("192.0.2.10");
    begin(&P, "10.2.0.192.in-addr.arpa", T_PTR);
    add_ptr(&P, "mail.example.com");
    add_ptr(&P, "Other.Example.NET");
    assert_int_equal(dns_lookup_parse_ptr(P.b, (int)P.n, (struct sockaddr *)&a, &names),
                     DNS_LOOKUP_OK);
    assert_int_equal(names.n, 2);
    assert_false(names.cut);
    bool mail = false, other = false;
    for (size_t i = 0; i < names.n; i++) {
        mail |= !strcmp(names.name[i], "mail.example.com");
        other |= !strcmp(names.name[i], "Other.Example.NET");
    }
    assert_true(mail && other);
}

static void test_ptr_many_cut(void **state)
{
    (void)state;
    struct sockaddr_storage a = v4("192.0.2.10");
    begin(&P, "10.2.0.192.in-addr.arpa", T_PTR);
    for (int i = 0; i < 30; i++) {
        char n[32];
        snprintf(n, sizeof n, "h%d.example.com", i);
        add_ptr(&P, n);
    }
    assert_int_equal(dns_lookup_parse_ptr(P.b, (int)P.n, (struct sockaddr *)&a, &names),
                     DNS_LOOKUP_OK);
    assert_int_equal(names.n, DNS_LOOKUP_NAMES);
    assert_true(names.cut);
}

static void test_ptr_hostile(void **state)
{
    (void)state;
    struct sockaddr_storage a = v4("192.0.2.10");
    begin(&P, "10.2.0.192.in-addr.arpa", T_PTR);           /* not host names */
    add_ptr(&P, "evil\x1b[2J.example.com");
    add_ptr(&P, "sp ace.example.com");
    dns_lookup_status st = dns_lookup_parse_ptr(P.b, (int)P.n, (struct sockaddr *)&a, &names);
    assert_int_not_equal(st, DNS_LOOKUP_OK);               /* c-ares or we refuse them */
    assert_int_equal(names.n, 0);

    begin(&P, "10.2.0.192.in-addr.arpa", T_PTR);           /* one good among them */
    add_ptr(&P, "sp ace.example.com");
    add_ptr(&P, "good.example.com");
    st = dns_lookup_parse_ptr(P.b, (int)P.n, (struct sockaddr *)&a, &names);
    for (size_t i = 0; i < names.n; i++)
        assert_string_equal(names.name[i], "good.example.com");

    begin(&P, "10.2.0.192.in-addr.arpa", T_PTR);           /* compression loop */
    size_t at = P.n + 12;                                  /* where the RDATA starts */
    unsigned char loop[2] = {(unsigned char)(0xc0 | (at >> 8)), (unsigned char)(at & 0xff)};
    add_rr(&P, T_PTR, loop, sizeof loop);
    assert_int_equal(dns_lookup_parse_ptr(P.b, (int)P.n, (struct sockaddr *)&a, &names),
                     DNS_LOOKUP_ERROR);

    begin(&P, "10.2.0.192.in-addr.arpa", T_PTR);
    add_ptr(&P, "mail.example.com");
    assert_int_equal(dns_lookup_parse_ptr(P.b, (int)P.n - 3, (struct sockaddr *)&a, &names),
                     DNS_LOOKUP_ERROR);
    struct sockaddr_storage u;
    memset(&u, 0, sizeof u);
    u.ss_family = AF_UNIX;
    assert_int_equal(dns_lookup_parse_ptr(P.b, (int)P.n, (struct sockaddr *)&u, &names),
                     DNS_LOOKUP_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txt_join),      cmocka_unit_test(test_txt_long_cut),
        cmocka_unit_test(test_txt_many_cut),  cmocka_unit_test(test_txt_any_byte),
        cmocka_unit_test(test_txt_malformed), cmocka_unit_test(test_ptr_names),
        cmocka_unit_test(test_ptr_many_cut),  cmocka_unit_test(test_ptr_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
