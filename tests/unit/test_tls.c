/* test_tls.c — the tls.c client over memory BIOs, paired in-process with an
 * OpenSSL server SSL object (self-signed EC certificate made here): the
 * handshake, SNI, plaintext both ways, old protocol versions, failures, and
 * session resumption through tls_cache.c. Every test starts with an empty
 * cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"
#include "tls_cache.h"
#include "htab.h"

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

/* One connection to NAME on CTX: handshake, a reply each way (the client
 * reads the server's tickets with the reply). Returns whether the client
 * resumed, after checking the server agrees. */
static bool connect_once(SSL_CTX *ctx, const char *name)
{
    SSL *s = server_new(ctx);
    tls *t = tls_new(name);
    assert_non_null(t);
    assert_int_equal(pump_handshake(t, s, 4096), 1);
    bool resumed = tls_resumed(t);
    assert_int_equal(resumed, SSL_session_reused(s) == 1);
    exchange(t, s);
    assert_int_equal(tls_close(t), 0);
    client_to_server(t, s);
    char buf[16];
    size_t n;
    assert_int_equal(SSL_read_ex(s, buf, sizeof buf, &n), 0);
    assert_int_equal(SSL_get_error(s, 0), SSL_ERROR_ZERO_RETURN);   /* close_notify came */
    tls_free(t);
    SSL_free(s);
    return resumed;
}

/* TLS 1.3: the second connection to a host resumes with a ticket the first
 * one got; a ticket is offered once, each connection brings two more, and
 * another host name is not offered them. */
static void test_resume_tls13(void **state)
{
    (void)state;
    SSL_CTX *ctx = server_ctx(TLS1_VERSION, 0);
    assert_non_null(ctx);
    assert_false(connect_once(ctx, "mx.test"));
    assert_int_equal(tls_cache_count(), 2);    /* OpenSSL's two tickets */
    assert_false(connect_once(ctx, "mx.other"));
    assert_int_equal(tls_cache_count(), 4);
    assert_true(connect_once(ctx, "mx.test"));
    assert_true(connect_once(ctx, "mx.test"));
    assert_int_equal(tls_cache_count(), 4);

    /* three started together: two tickets, so the third is a full handshake */
    tls *t[3];
    SSL *s[3];
    for (int i = 0; i < 3; i++) {
        t[i] = tls_new("mx.test");
        s[i] = server_new(ctx);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(pump_handshake(t[i], s[i], 4096), 1);
    assert_true(tls_resumed(t[0]));
    assert_true(tls_resumed(t[1]));
    assert_false(tls_resumed(t[2]));
    for (int i = 0; i < 3; i++) {
        tls_free(t[i]);
        SSL_free(s[i]);
    }
    SSL_CTX_free(ctx);
}

/* TLS 1.2: one session serves every later connection. */
static void test_resume_tls12(void **state)
{
    (void)state;
    SSL_CTX *ctx = server_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
    assert_non_null(ctx);
    assert_false(connect_once(ctx, "mx.test"));
    assert_true(connect_once(ctx, "mx.test"));
    assert_true(connect_once(ctx, "mx.test"));
    SSL_CTX_free(ctx);
}

/* A server that no longer knows the ticket (a new key): a full handshake,
 * not a failure. */
static void test_resume_refused(void **state)
{
    (void)state;
    SSL_CTX *one = server_ctx(TLS1_VERSION, 0), *two = server_ctx(TLS1_VERSION, 0);
    assert_non_null(one);
    assert_non_null(two);
    assert_false(connect_once(one, "mx.test"));
    assert_false(connect_once(two, "mx.test"));
    assert_true(connect_once(two, "mx.test"));
    SSL_CTX_free(one);
    SSL_CTX_free(two);
}

/* A resumable session of VERSION with a one-byte ID and a cipher (a
 * session OpenSSL cannot encode is not kept). */
static SSL_SESSION *session(int version, unsigned char id)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    assert_non_null(ssl);
    SSL_SESSION *s = SSL_SESSION_new();
    assert_non_null(s);
    assert_int_equal(SSL_SESSION_set_protocol_version(s, version), 1);
    assert_int_equal(SSL_SESSION_set1_id(s, &id, 1), 1);
    assert_int_equal(SSL_SESSION_set_cipher(s, sk_SSL_CIPHER_value(SSL_get_ciphers(ssl), 0)), 1);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return s;
}

/* The table itself: one slot a hash, the newest session wins it, names
 * compared in full, names too long and sessions that cannot resume not kept. */
static void test_cache_slots(void **state)
{
    (void)state;
    /* TLS 1.3: newest first, each once, the oldest dropped past the depth */
    SSL_SESSION *s13[3];
    for (int i = 0; i < 3; i++) {
        s13[i] = session(TLS1_3_VERSION, (unsigned char)(10 + i));
        SSL_SESSION_up_ref(s13[i]);            /* ours, to compare pointers */
        tls_cache_put("a.test", s13[i]);
    }
    assert_int_equal(tls_cache_count(), TLS_CACHE_DEPTH);
    SSL_SESSION *got = tls_cache_take("a.test");
    assert_ptr_equal(got, s13[2]);
    SSL_SESSION_free(got);
    got = tls_cache_take("a.test");
    assert_ptr_equal(got, s13[1]);
    SSL_SESSION_free(got);
    assert_null(tls_cache_take("a.test"));
    assert_int_equal(tls_cache_count(), 0);
    for (int i = 0; i < 3; i++)
        SSL_SESSION_free(s13[i]);

    /* two names on one slot: the second replaces the first */
    char other[32];
    for (int i = 0;; i++) {
        snprintf(other, sizeof other, "h%d.test", i);
        if (htab_hash_str(other) % TLS_CACHE_SLOTS == htab_hash_str("a.test") % TLS_CACHE_SLOTS &&
            strcmp(other, "a.test") != 0)
            break;
    }
    tls_cache_put("a.test", session(TLS1_2_VERSION, 2));
    SSL_SESSION *s12 = session(TLS1_2_VERSION, 3);
    tls_cache_put(other, s12);
    assert_int_equal(tls_cache_count(), 1);
    assert_null(tls_cache_take("a.test"));
    got = tls_cache_take(other);
    assert_ptr_equal(got, s12);              /* TLS 1.2: handed out and kept */
    SSL_SESSION_free(got);
    got = tls_cache_take(other);
    assert_ptr_equal(got, s12);
    SSL_SESSION_free(got);

    /* a session OpenSSL has marked not to be resumed (its connection
     * failed) is dropped, and the one before it handed out */
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL_SESSION *older = session(TLS1_3_VERSION, 20), *failed = session(TLS1_3_VERSION, 21);
    SSL_SESSION_up_ref(older);
    tls_cache_put("c.test", older);
    tls_cache_put("c.test", failed);
    SSL_CTX_remove_session(ctx, failed);       /* what SSL_free does to a failed one */
    assert_false(SSL_SESSION_is_resumable(failed));
    got = tls_cache_take("c.test");
    assert_ptr_equal(got, older);
    SSL_SESSION_free(got);
    SSL_SESSION_free(older);
    assert_null(tls_cache_take("c.test"));
    SSL_CTX_free(ctx);

    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    tls_cache_put(longname, session(TLS1_3_VERSION, 4));
    tls_cache_put("b.test", SSL_SESSION_new());   /* no id, no ticket */
    SSL_SESSION *big = session(TLS1_3_VERSION, 6);   /* a server's huge chain, as it were */
    static char blob[TLS_CACHE_SESSION_MAX];
    assert_int_equal(SSL_SESSION_set1_ticket_appdata(big, blob, sizeof blob), 1);
    assert_true(i2d_SSL_SESSION(big, NULL) > TLS_CACHE_SESSION_MAX);
    tls_cache_put("big.test", big);
    assert_null(tls_cache_take("big.test"));
    tls_cache_put("", session(TLS1_3_VERSION, 5));
    assert_int_equal(tls_cache_count(), 1);
    assert_null(tls_cache_take(longname));
    assert_null(tls_cache_take("b.test"));
    tls_cache_clear();
    assert_int_equal(tls_cache_count(), 0);
}

static int fresh_cache(void **state)
{
    (void)state;
    tls_cache_clear();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_handshake_tls13, fresh_cache),
        cmocka_unit_test_setup(test_handshake_tls12, fresh_cache),
        cmocka_unit_test_setup(test_handshake_tls10_legacy, fresh_cache),
        cmocka_unit_test_setup(test_handshake_byte_at_a_time, fresh_cache),
        cmocka_unit_test_setup(test_garbage_fails, fresh_cache),
        cmocka_unit_test_setup(test_garbage_after_handshake, fresh_cache),
        cmocka_unit_test_setup(test_write_before_handshake, fresh_cache),
        cmocka_unit_test_setup(test_no_sni_for_ip_literal, fresh_cache),
        cmocka_unit_test_setup(test_close_notify, fresh_cache),
        cmocka_unit_test_setup(test_resume_tls13, fresh_cache),
        cmocka_unit_test_setup(test_resume_tls12, fresh_cache),
        cmocka_unit_test_setup(test_resume_refused, fresh_cache),
        cmocka_unit_test_setup(test_cache_slots, fresh_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
