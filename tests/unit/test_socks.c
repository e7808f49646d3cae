/* test_socks.c — SOCKS5 client messages: the requests byte for byte, the
 * replies whole, dripped, followed by stream bytes, refused with every code,
 * and hostile (wrong versions, address types, random bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <uv.h>

#include "socks.h"

#define BYTES(...) ((const unsigned char[]){__VA_ARGS__}), sizeof((const unsigned char[]){__VA_ARGS__})

/* ---- requests ---- */

static void test_greeting(void **state)
{
    (void)state;
    unsigned char b[SOCKS_GREETING_MAX];
    assert_int_equal(socks_greeting(b, false), 3);
    assert_memory_equal(b, "\x05\x01\x00", 3);
    assert_int_equal(socks_greeting(b, true), 4);
    assert_memory_equal(b, "\x05\x02\x00\x02", 4);
}

static void test_login_request(void **state)
{
    (void)state;
    unsigned char b[SOCKS_LOGIN_MAX];
    assert_int_equal(socks_login(b, "alice", "s3cret"), 1 + 1 + 5 + 1 + 6);
    assert_memory_equal(b, "\x01\x05" "alice" "\x06" "s3cret", 14);

    char big[257];
    memset(big, 'u', 255);
    big[255] = '\0';
    assert_int_equal(socks_login(b, big, big), SOCKS_LOGIN_MAX);   /* the largest fits */
    assert_int_equal(b[1], 255);
    assert_int_equal(b[257], 255);
    big[255] = 'u';
    big[256] = '\0';
    assert_int_equal(socks_login(b, big, "p"), 0);                 /* 256 bytes: refused */
    assert_int_equal(socks_login(b, "u", big), 0);
    assert_int_equal(socks_login(b, "", "p"), 0);
    assert_int_equal(socks_login(b, "u", ""), 0);
}

static void test_connect_request(void **state)
{
    (void)state;
    unsigned char b[SOCKS_CONNECT_MAX];
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(25)};
    inet_pton(AF_INET, "127.1.0.3", &v4.sin_addr);
    assert_int_equal(socks_connect(b, (struct sockaddr *)&v4), 10);
    assert_memory_equal(b, "\x05\x01\x00\x01\x7f\x01\x00\x03\x00\x19", 10);

    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(2525)};
    inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
    assert_int_equal(socks_connect(b, (struct sockaddr *)&v6), 22);
    assert_memory_equal(b, "\x05\x01\x00\x04\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x09\xdd", 22);

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_int_equal(socks_connect(b, (struct sockaddr *)&un), 0);   /* names never go out */
}

/* ---- method reply ---- */

static int method(socks_reader *r, bool login, const unsigned char *p, size_t n, size_t *used, int *m)
{
    return socks_read_method(r, login, p, n, used, m);
}

static void test_method_reply(void **state)
{
    (void)state;
    socks_reader r;
    socks_reader_init(&r);
    size_t used = 99;
    int m = -1;
    assert_int_equal(method(&r, false, BYTES(0x05, 0x00), &used, &m), 0);
    assert_int_equal(used, 2);
    assert_int_equal(m, SOCKS_METHOD_NONE);

    assert_int_equal(method(&r, true, BYTES(0x05, 0x02, 0x01, 0x00), &used, &m), 0);
    assert_int_equal(used, 2);                     /* the login status is not ours */
    assert_int_equal(m, SOCKS_METHOD_LOGIN);

    /* split in two reads */
    assert_int_equal(method(&r, true, BYTES(0x05), &used, &m), SOCKS_MORE);
    assert_int_equal(used, 1);
    assert_int_equal(method(&r, true, BYTES(0x00), &used, &m), 0);
    assert_int_equal(m, SOCKS_METHOD_NONE);
    assert_int_equal(method(&r, true, (const unsigned char *)"", 0, &used, &m), SOCKS_MORE);
    assert_int_equal(used, 0);
    socks_reader_init(&r);
}

static void test_method_refusals(void **state)
{
    (void)state;
    socks_reader r;
    socks_reader_init(&r);
    size_t used;
    int m;
    assert_int_equal(method(&r, false, BYTES(0x05, 0xff), &used, &m), SOCKS_EROUTE);
    assert_non_null(strstr(r.why, "no acceptable authentication method"));
    assert_int_equal(method(&r, true, BYTES(0x05, 0xff), &used, &m), SOCKS_EROUTE);
    assert_string_equal(r.why, "no acceptable authentication method");
    /* login chosen although we have no credentials; GSSAPI */
    assert_int_equal(method(&r, false, BYTES(0x05, 0x02), &used, &m), SOCKS_EROUTE);
    assert_non_null(strstr(r.why, "0x02"));
    assert_int_equal(method(&r, true, BYTES(0x05, 0x01), &used, &m), SOCKS_EROUTE);
    /* SOCKS4 and HTTP proxies */
    assert_int_equal(method(&r, false, BYTES(0x00, 0x5a), &used, &m), SOCKS_EROUTE);
    assert_string_equal(r.why, "not a SOCKS5 proxy (reply version 0x00)");
    assert_int_equal(method(&r, false, (const unsigned char *)"HTTP/1.1 400", 12, &used, &m),
                     SOCKS_EROUTE);
    assert_int_equal(used, 2);
    assert_string_equal(r.why, "not a SOCKS5 proxy (reply version 0x48)");
    /* the reader is ready for the next reply after an error */
    assert_int_equal(method(&r, false, BYTES(0x05, 0x00), &used, &m), 0);
}

/* ---- login reply ---- */

static void test_login_reply(void **state)
{
    (void)state;
    socks_reader r;
    socks_reader_init(&r);
    size_t used;
    assert_int_equal(socks_read_login(&r, BYTES(0x01, 0x00, 0x05), &used), 0);
    assert_int_equal(used, 2);
    assert_int_equal(socks_read_login(&r, BYTES(0x05, 0x00), &used), 0);   /* tolerated */
    assert_int_equal(socks_read_login(&r, BYTES(0x01), &used), SOCKS_MORE);
    assert_int_equal(socks_read_login(&r, BYTES(0x01), &used), SOCKS_EROUTE);
    assert_string_equal(r.why, "authentication rejected");
    assert_int_equal(socks_read_login(&r, BYTES(0x01, 0xff), &used), SOCKS_EROUTE);
    assert_string_equal(r.why, "authentication rejected");
    assert_int_equal(socks_read_login(&r, BYTES(0x04, 0x00), &used), SOCKS_EROUTE);
    assert_non_null(strstr(r.why, "0x04"));
}

/* ---- CONNECT reply ---- */

static void test_connect_ipv4_then_banner(void **state)
{
    (void)state;
    socks_reader r;
    socks_reader_init(&r);
    static const char in[] = "\x05\x00\x00\x01\x7f\x00\x00\x05\xc3\x50" "220 mx ESMTP\r\n";
    size_t used = 0;
    assert_int_equal(socks_read_connect(&r, in, sizeof in - 1, &used), 0);
    assert_int_equal(used, 10);                    /* the banner belongs to SMTP */
    assert_memory_equal(in + used, "220 ", 4);
}

static void test_connect_ipv6(void **state)
{
    (void)state;
    socks_reader r;
    socks_reader_init(&r);
    unsigned char in[22 + 3] = {0x05, 0x00, 0x00, 0x04};
    memcpy(in + 22, "220", 3);
    size_t used;
    assert_int_equal(socks_read_connect(&r, in, sizeof in, &used), 0);
    assert_int_equal(used, 22);
}

static void test_connect_name_dripped(void **state)
{
    (void)state;
    socks_reader r;
    socks_reader_init(&r);
    static const char in[] = "\x05\x00\x00\x03\x0bproxy.local\x04\x38" "2";
    size_t total = 4 + 1 + 11 + 2, used;
    for (size_t i = 0; i + 1 < total; i++) {
        assert_int_equal(socks_read_connect(&r, in + i, 1, &used), SOCKS_MORE);
        assert_int_equal(used, 1);
    }
    assert_int_equal(socks_read_connect(&r, in + total - 1, 2, &used), 0);
    assert_int_equal(used, 1);
    /* a longest name: 255 bytes, then the port */
    unsigned char big[4 + 1 + 255 + 2 + 1] = {0x05, 0x00, 0x00, 0x03, 0xff};
    assert_int_equal(socks_read_connect(&r, big, sizeof big, &used), 0);
    assert_int_equal(used, sizeof big - 1);
    /* an empty name is odd but well-formed */
    assert_int_equal(socks_read_connect(&r, BYTES(0x05, 0x00, 0x00, 0x03, 0x00, 0x00, 0x19), &used), 0);
    assert_int_equal(used, 7);
}

static void test_connect_reply_codes(void **state)
{
    (void)state;
    static const struct { unsigned char rep; int want; } cases[] = {
        {1, SOCKS_EROUTE}, {2, SOCKS_EROUTE}, {3, UV_ENETUNREACH}, {4, UV_EHOSTUNREACH},
        {5, UV_ECONNREFUSED}, {6, UV_ETIMEDOUT}, {7, SOCKS_EROUTE}, {8, UV_EAFNOSUPPORT},
        {9, SOCKS_EROUTE}, {0xff, SOCKS_EROUTE},
    };
    socks_reader r;
    socks_reader_init(&r);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char in[10] = {0x05, cases[i].rep, 0x00, 0x01};
        size_t used;
        assert_int_equal(socks_read_connect(&r, in, sizeof in, &used), cases[i].want);
        assert_int_equal(used, 2);                /* known as soon as REP arrives */
        assert_true(r.why[0] != '\0');
    }
    /* the failure does not wait for the rest of the reply */
    size_t used;
    assert_int_equal(socks_read_connect(&r, BYTES(0x05), &used), SOCKS_MORE);
    assert_int_equal(socks_read_connect(&r, BYTES(0x04), &used), UV_EHOSTUNREACH);
    assert_string_equal(r.why, "host unreachable (reply 4)");
    assert_int_equal(socks_read_connect(&r, BYTES(0x05, 0x09), &used), SOCKS_EROUTE);
    assert_string_equal(r.why, "unknown reply code 0x09");
}

static void test_connect_hostile(void **state)
{
    (void)state;
    socks_reader r;
    socks_reader_init(&r);
    size_t used;
    assert_int_equal(socks_read_connect(&r, "HTTP/1.0 200 OK\r\n", 17, &used), SOCKS_EROUTE);
    assert_int_equal(used, 1);
    assert_int_equal(socks_read_connect(&r, BYTES(0x05, 0x00, 0x00, 0x02, 1, 2, 3), &used), SOCKS_EROUTE);
    assert_int_equal(used, 4);
    assert_string_equal(r.why, "bad address type 0x02 in the reply");
    /* after errors, a good reply still parses */
    assert_int_equal(socks_read_connect(&r, BYTES(0x05, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0, 25), &used), 0);
}

/* Random bytes in random pieces: never more taken than given, and every
 * reply ends (complete or failed) within the longest possible length. */
static void test_random_bytes(void **state)
{
    (void)state;
    srand(7);
    unsigned char buf[600];
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (unsigned char)(rand() % 4 == 0 ? rand() % 9 : rand());
        buf[0] = 5;                               /* get past the version byte often */
        socks_reader r;
        socks_reader_init(&r);
        size_t off = 0;
        int rc = SOCKS_MORE;
        while (rc == SOCKS_MORE && off < sizeof buf) {
            size_t piece = 1 + (size_t)rand() % 7, used = 999;
            if (piece > sizeof buf - off)
                piece = sizeof buf - off;
            int which = round % 3, m;
            if (which == 0)
                rc = socks_read_connect(&r, buf + off, piece, &used);
            else if (which == 1)
                rc = socks_read_method(&r, round & 4, buf + off, piece, &used, &m);
            else
                rc = socks_read_login(&r, buf + off, piece, &used);
            assert_true(used <= piece);
            if (rc == SOCKS_MORE)
                assert_int_equal(used, piece);
            off += used;
        }
        assert_true(rc != SOCKS_MORE);
        assert_true(off <= 4 + 1 + 255 + 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_login_request),
        cmocka_unit_test(test_connect_request),
        cmocka_unit_test(test_method_reply),
        cmocka_unit_test(test_method_refusals),
        cmocka_unit_test(test_login_reply),
        cmocka_unit_test(test_connect_ipv4_then_banner),
        cmocka_unit_test(test_connect_ipv6),
        cmocka_unit_test(test_connect_name_dripped),
        cmocka_unit_test(test_connect_reply_codes),
        cmocka_unit_test(test_connect_hostile),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
