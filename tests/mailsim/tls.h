/* tls.h — STARTTLS support for mailsim: one server SSL_CTX with a
 * self-signed certificate made in-process at start (no openssl CLI). */
#ifndef MAILSIM_TLS_H
#define MAILSIM_TLS_H

#include <openssl/ssl.h>

/* Builds the context (EC P-256 key, self-signed for CN=mailsim). Returns
 * NULL on failure. The caller owns it (SSL_CTX_free). */
SSL_CTX *tls_server_ctx(void);

/* A new server-side SSL on memory BIOs: feed received ciphertext with
 * BIO_write(SSL_get_rbio(s)), drain what to send from SSL_get_wbio(s). */
SSL *tls_new(SSL_CTX *ctx);

#endif
