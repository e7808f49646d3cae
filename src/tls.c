/* tls.c — a TLS client session over two memory BIOs (OpenSSL 3.0), with no
 * knowledge of sockets or of the event loop: conn.c feeds it ciphertext from
 * libuv reads and sends what tls_drain() yields.
 *
 * Ownership: tls_new() returns a session owned by the caller (tls_free()).
 * The one SSL_CTX is process-wide, created once (pthread_once, so any network
 * thread may be first) and never freed: valgrind reports it as "still
 * reachable", which is intended.
 *
 * Policy (opportunistic STARTTLS, RFC 7435, as MTAs do it):
 *  - no certificate verification: an unauthenticated channel still beats
 *    plaintext, and refusing a self-signed MX would cost a verdict;
 *  - TLS 1.0 up to 1.3 are accepted. OpenSSL 3.0 only allows TLS 1.0/1.1 at
 *    security level 0, so the level is 0. The session carries nothing but
 *    envelope addresses, and the alternative to a weak handshake is a failed
 *    check (tls_error) or plaintext, both worse. Modern servers still
 *    negotiate TLS 1.3 / 1.2 with strong ciphers: the level only widens what
 *    the client accepts, it does not change what it prefers;
 *  - SNI is the MX host name (some hosts pick their certificate or even
 *    their policy by it);
 *  - renegotiation is refused (nothing an SMTP probe needs, a known DoS);
 *  - sessions are resumed: each one the server hands out is kept under the
 *    MX host name (tls_cache.c) and offered on the next connection there.
 */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "tls_cache.h"

struct tls {
    SSL *ssl;                 /* owns rbio and wbio (SSL_set_bio) */
    BIO *rbio;                /* ciphertext in: tls_feed writes here */
    BIO *wbio;                /* ciphertext out: tls_drain reads here */
    char name[256];           /* the server's name: the session cache's key */
    char err[160];            /* last error, for transcripts */
};

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static SSL_CTX *shared_ctx;

/* OpenSSL hands over each session the server issues (a TLS 1.3 ticket comes
 * after the handshake, with the first reply read); 1 = the reference is kept. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    const tls *t = SSL_get_app_data(ssl);
    if (!t || !t->name[0])
        return 0;
    tls_cache_put(t->name, sess);
    return 1;
}

static void ctx_init(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return;
    /* Explicit versions override whatever /etc/ssl/openssl.cnf set. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, 0);
    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1) {
        SSL_CTX_free(ctx);
        return;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    /* Our own bounded cache (tls_cache.c), not OpenSSL's, which would grow
     * with every host. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    shared_ctx = ctx;
}

/* Records "WHAT: <openssl reason>" and empties this thread's error queue. */
static void set_err(tls *t, const char *what)
{
    unsigned long e = ERR_get_error();
    if (e) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(t->err, sizeof t->err, "%s: %s", what, buf);
    } else {
        str_copy(t->err, sizeof t->err, what);
    }
    ERR_clear_error();
}

tls *tls_new(const char *server_name)
{
    pthread_once(&ctx_once, ctx_init);
    if (!shared_ctx)
        return NULL;
    tls *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ssl = SSL_new(shared_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return NULL;
    }
    /* An empty memory BIO means "retry later", never EOF. */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    SSL_set_app_data(t->ssl, t);
    if (server_name && strlen(server_name) < sizeof t->name)
        str_copy(t->name, sizeof t->name, server_name);
    SSL_SESSION *resume = tls_cache_take(t->name);
    if (resume) {
        SSL_set_session(t->ssl, resume);   /* takes its own reference */
        SSL_SESSION_free(resume);
    }
    /* SNI must be a DNS name: skip empty names and IP literals. */
    if (server_name && *server_name && !strchr(server_name, ':') &&
        strspn(server_name, "0123456789.") != strlen(server_name))
        SSL_set_tlsext_host_name(t->ssl, server_name);
    ERR_clear_error();
    return t;
}

void tls_free(tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);             /* frees both BIOs */
    free(t);
}

int tls_feed(tls *t, const char *data, size_t len)
{
    while (len > 0) {
        int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
        int n = BIO_write(t->rbio, data, chunk);
        if (n <= 0) {
            set_err(t, "tls feed");
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Maps an SSL_* result: 0 = wait for more input/output, -1 = fatal. */
static int want_or_fail(tls *t, int ret, const char *what)
{
    int e = SSL_get_error(t->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return 0;
    }
    set_err(t, what);
    return -1;
}

int tls_handshake(tls *t)
{
    if (SSL_is_init_finished(t->ssl))
        return 1;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1)
        return 1;
    return want_or_fail(t, r, "tls handshake");
}

ssize_t tls_read(tls *t, char *buf, size_t len)
{
    if (len == 0)
        return 0;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_read_ex(t->ssl, buf, len, &n);
    if (r == 1)
        return (ssize_t)n;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN) {
        /* close_notify: no more plaintext; the TCP EOF that follows is
         * what conn.c reports. */
        snprintf(t->err, sizeof t->err, "tls: peer sent close_notify");
        ERR_clear_error();
        return 0;
    }
    return want_or_fail(t, r, "tls read");
}

bool tls_resumed(const tls *t)
{
    return SSL_session_reused(t->ssl) == 1;
}

bool tls_has_more(const tls *t)
{
    return SSL_has_pending(t->ssl) || BIO_ctrl_pending(t->rbio) > 0;
}

int tls_write(tls *t, const char *data, size_t len)
{
    if (!SSL_is_init_finished(t->ssl)) {
        snprintf(t->err, sizeof t->err, "tls write: handshake not finished");
        return -1;
    }
    ERR_clear_error();
    while (len > 0) {
        size_t n = 0;
        /* Memory BIOs take everything: a short write is an error. */
        if (SSL_write_ex(t->ssl, data, len, &n) != 1) {
            set_err(t, "tls write");
            return -1;
        }
        data += n;
        len -= n;
    }
    return 0;
}

int tls_close(tls *t)
{
    if (!SSL_is_init_finished(t->ssl))
        return -1;
    ERR_clear_error();
    int r = SSL_shutdown(t->ssl);    /* 0: sent, the peer's not awaited */
    ERR_clear_error();
    return r >= 0 ? 0 : -1;
}

size_t tls_drain(tls *t, char *buf, size_t len)
{
    if (len == 0 || BIO_ctrl_pending(t->wbio) == 0)
        return 0;
    int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
    int n = BIO_read(t->wbio, buf, chunk);
    return n > 0 ? (size_t)n : 0;
}

const char *tls_error(const tls *t)
{
    return t->err[0] ? t->err : "no error";
}
