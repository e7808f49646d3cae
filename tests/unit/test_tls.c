/* test_tls.c — the tls.c client over memory BIOs, paired in-process with an
 * OpenSSL server SSL object (self-signed EC certificate made here): the
 * handshake, SNI, plaintext both ways, old protocol versions, and failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

/* A server context with a fresh self-signed certificate; NULL on failure. */
static SSL_CTX *server_ctx(int min_version, int max_version)
{
    SSL_CTX *ctx = NULL;
    X509 *x = X509_new();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!x || !key)
        goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mx.test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, key, EVP_sha256()))
        goto out;
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        goto out;
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx, min_version);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

static SSL *server_new(SSL_CTX *ctx)
{
    SSL *s = SSL_new(ctx);
    assert_non_null(s);
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
    assert_non_null(r);
    assert_non_null(w);
    BIO_set_mem_eof_return(r, -1);
    BIO_set_mem_eof_return(w, -1);
    SSL_set_bio(s, r, w);
    SSL_set_accept_state(s);
    return s;
}

/* Moves client ciphertext to the server; returns bytes moved. */
static size_t client_to_server(tls *t, SSL *s)
{
    char buf[4096];
    size_t n, total = 0;
    while ((n = tls_drain(t, buf, sizeof buf)) > 0) {
        assert_int_equal(BIO_write(SSL_get_rbio(s), buf, (int)n), (int)n);
        total += n;
    }
    return total;
}

/* Moves server ciphertext to the client, CHUNK bytes per tls_feed. */
static size_t server_to_client(SSL *s, tls *t, size_t chunk)
{
    char buf[4096];
    size_t total = 0;
    int n;
    while ((n = BIO_read(SSL_get_wbio(s), buf, (int)(chunk < sizeof buf ? chunk : sizeof buf))) > 0) {
        assert_int_equal(tls_feed(t, buf, (size_t)n), 0);
        total += (size_t)n;
    }
    return total;
}

/* Runs both sides until the client and the server are done; CHUNK bounds
 * each tls_feed (1 = byte at a time). Returns the client's last result. */
static int pump_handshake(tls *t, SSL *s, size_t chunk)
{
    int rc = 0;
    for (int round = 0; round < 10000; round++) {
        if (chunk == 1) {
            /* feed one byte, then let the client react */
            char b;
            if (BIO_read(SSL_get_wbio(s), &b, 1) == 1)
                assert_int_equal(tls_feed(t, &b, 1), 0);
        } else {
            server_to_client(s, t, chunk);
        }
        rc = tls_handshake(t);
        if (rc < 0)
            return rc;
        client_to_server(t, s);
        int sr = SSL_do_handshake(s);
        if (sr != 1) {
            int e = SSL_get_error(s, sr);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                return -2;
        }
        if (rc == 1 && sr == 1 && BIO_ctrl_pending(SSL_get_wbio(s)) == 0)
            return 1;
    }
    return rc;
}

/* Sends TEXT from the server and reads it at the client, and the reverse. */
static void exchange(tls *t, SSL *s)
{
    const char *down = "250-mx.test\r\n250 STARTTLS\r\n";
    const char *up = "EHLO client.test\r\n";
    char buf[256];
    size_t n = 0;

    assert_int_equal(SSL_write_ex(s, down, strlen(down), &n), 1);
    server_to_client(s, t, 4096);
    size_t got = 0;
    ssize_t r;
    while ((r = tls_read(t, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    assert_true(r >= 0);
    buf[got] = 0;
    assert_string_equal(buf, down);
    client_to_server(t, s);       /* anything tls_read produced (tickets acks) */

    assert_int_equal(tls_write(t, up, strlen(up)), 0);
    client_to_server(t, s);
    n = 0;
    assert_int_equal(SSL_read_ex(s, buf, sizeof buf - 1, &n), 1);
    buf[n] = 0;
    assert_string_equal(buf, up);
}

static void run_pair(int min_version, int max_version, size_t chunk, int expect_version)
{
    SSL_CTX *ctx = server_ctx(min_version, max_version);
    assert_non_null(ctx);
    SSL *s = server_new(ctx);
    tls *t = tls_new("mx.test");
    assert_non_null(t);

    assert_int_equal(tls_handshake(t), 0);   /* ClientHello queued, needs the server */
    assert_int_equal(pump_handshake(t, s, chunk), 1);
    assert_int_equal(tls_handshake(t), 1);
    assert_int_equal(SSL_version(s), expect_version);
    const char *sni = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    assert_non_null(sni);
    assert_string_equal(sni, "mx.test");
    exchange(t, s);
    exchange(t, s);

    tls_free(t);
    SSL_free(s);
    SSL_CTX_free(ctx);
}

static void test_handshake_tls13(void **state)
{
    (void)state;
    run_pair(TLS1_VERSION, 0, 4096, TLS1_3_VERSION);
}

static void test_handshake_tls12(void **state)
{
    (void)state;
    run_pair(TLS1_2_VERSION, TLS1_2_VERSION, 4096, TLS1_2_VERSION);
}

/* A legacy MX that speaks only TLS 1.0: accepted (documented policy). */
static void test_handshake_tls10_legacy(void **state)
{
    (void)state;
    run_pair(TLS1_VERSION, TLS1_VERSION, 4096, TLS1_VERSION);
}

/* Ciphertext arriving one byte per read still completes. */
static void test_handshake_byte_at_a_time(void **state)
{
    (void)state;
    run_pair(TLS1_VERSION, 0, 1, TLS1_3_VERSION);
}

static void test_garbage_fails(void **state)
{
    (void)state;
    tls *t = tls_new("mx.test");
    assert_non_null(t);
    assert_string_equal(tls_error(t), "no error");
    assert_int_equal(tls_handshake(t), 0);
    char hello[4096];
    assert_true(tls_drain(t, hello, sizeof hello) > 0);   /* the ClientHello */
    const char *junk = "500 5.5.1 what is this?\r\n";
    assert_int_equal(tls_feed(t, junk, strlen(junk)), 0);
    assert_int_equal(tls_handshake(t), -1);
    assert_true(strlen(tls_error(t)) > 0);
    assert_string_not_equal(tls_error(t), "no error");
    assert_non_null(strstr(tls_error(t), "handshake"));
    /* stays failed */
    assert_int_equal(tls_handshake(t), -1);
    tls_free(t);
}

/* Garbage after a completed handshake: tls_read fails fatally. */
static void test_garbage_after_handshake(void **state)
{
    (void)state;
    SSL_CTX *ctx = server_ctx(TLS1_VERSION, 0);
    assert_non_null(ctx);
    SSL *s = server_new(ctx);
    tls *t = tls_new("mx.test");
    assert_non_null(t);
    assert_int_equal(pump_handshake(t, s, 4096), 1);
    const char *junk = "250 OK but not encrypted\r\n";
    assert_int_equal(tls_feed(t, junk, strlen(junk)), 0);
    char buf[64];
    assert_int_equal(tls_read(t, buf, sizeof buf), -1);
    assert_non_null(strstr(tls_error(t), "tls read"));
    tls_free(t);
    SSL_free(s);
    SSL_CTX_free(ctx);
}

static void test_write_before_handshake(void **state)
{
    (void)state;
    tls *t = tls_new("mx.test");
    assert_non_null(t);
    assert_int_equal(tls_write(t, "QUIT\r\n", 6), -1);
    char buf[16];
    assert_int_equal(tls_read(t, buf, sizeof buf), 0);    /* nothing yet, not fatal */
    tls_free(t);
}

/* An IP literal or an empty name is not sent as SNI (RFC 6066 §3). */
static void test_no_sni_for_ip_literal(void **state)
{
    (void)state;
    SSL_CTX *ctx = server_ctx(TLS1_VERSION, 0);
    assert_non_null(ctx);
    const char *names[] = {"192.0.2.1", "", NULL};
    for (size_t i = 0; i < 3; i++) {
        SSL *s = server_new(ctx);
        tls *t = tls_new(names[i]);
        assert_non_null(t);
        assert_int_equal(pump_handshake(t, s, 4096), 1);
        assert_null(SSL_get_servername(s, TLSEXT_NAMETYPE_host_name));
        tls_free(t);
        SSL_free(s);
    }
    SSL_CTX_free(ctx);
}

/* The server's close_notify ends plaintext without being fatal. */
static void test_close_notify(void **state)
{
    (void)state;
    SSL_CTX *ctx = server_ctx(TLS1_VERSION, 0);
    assert_non_null(ctx);
    SSL *s = server_new(ctx);
    tls *t = tls_new("mx.test");
    assert_non_null(t);
    assert_int_equal(pump_handshake(t, s, 4096), 1);
    SSL_shutdown(s);
    server_to_client(s, t, 4096);
    char buf[64];
    assert_int_equal(tls_read(t, buf, sizeof buf), 0);
    assert_non_null(strstr(tls_error(t), "close_notify"));
    tls_free(t);
    SSL_free(s);
    SSL_CTX_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_tls13),
        cmocka_unit_test(test_handshake_tls12),
        cmocka_unit_test(test_handshake_tls10_legacy),
        cmocka_unit_test(test_handshake_byte_at_a_time),
        cmocka_unit_test(test_garbage_fails),
        cmocka_unit_test(test_garbage_after_handshake),
        cmocka_unit_test(test_write_before_handshake),
        cmocka_unit_test(test_no_sni_for_ip_literal),
        cmocka_unit_test(test_close_notify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
